# shellcheck shell=bash
# A JPKI repository on a private slapd instance: the steps the demo, the tests and the
# benchmarks share. Source scripts/lib/instance.sh first.
#
#   repo_init DIR PKI_DIR        instance with the jpkirepo overlay trusting PKI_DIR's
#                                generation 1, the DIT loaded, service passwords set
#   repo_publish_ca DIR PKI_DIR  CA certificates (both generations, links) and cross pairs
#   repo_issue DIR PKI_DIR GEN OUT [jpki crl issue options…]
#                                partition CRLs and ARL of generation GEN into OUT
#   repo_publish DIR IDENTITY FILE|DIR…   jpki crl publish as IDENTITY (publisher, operator…)
#
# Variables: REPO_CA_DN, REPO_SERVICES (defaults below); DIR/secrets/<service>.pw holds each
# service identity's password (mode 600).

REPO_SUFFIX=${REPO_SUFFIX:-o=JPKI,c=JP}
REPO_CA_DN=${REPO_CA_DN:-ou=Chiba-ken,$REPO_SUFFIX}
REPO_SERVICES_DN=${REPO_SERVICES_DN:-ou=Services,$REPO_CA_DN}
REPO_PUBLISHER_DN=${REPO_PUBLISHER_DN:-cn=publisher,$REPO_SERVICES_DN}
REPO_OPERATOR_DN=${REPO_OPERATOR_DN:-cn=operator,$REPO_SERVICES_DN}
REPO_REPLICATOR_DN=${REPO_REPLICATOR_DN:-cn=replicator,$REPO_SERVICES_DN}
REPO_RESPONDER_DN=${REPO_RESPONDER_DN:-cn=responder,$REPO_SERVICES_DN}
REPO_VERIFIER_BASE=${REPO_VERIFIER_BASE:-ou=Verifiers,$REPO_CA_DN}
REPO_SERVICES=${REPO_SERVICES:-publisher replicator responder operator}
# The municipality table, from the source tree when jpki is not installed.
export JPKI_MUNICIPALITIES=${JPKI_MUNICIPALITIES:-$JPKI_SRCDIR/data/municipalities.tsv}

_repo_jpki() { "$JPKI_BUILDDIR/tools/jpki" "$@"; }
# The instance's URI, read in a subshell: instance_env's variables must not leak into the
# caller, where the next instance_init would take INSTANCE_PORT for its own.
repo_uri() { (eval "$(instance_env "${1:?}")" && echo "$INSTANCE_URI"); }

# The overlay's directives for a PKI made by scripts/lib/testpki.sh.
repo_overlay_conf() {
	local pki=${1:?usage: repo_overlay_conf PKI_DIR}
	cat <<EOF
jpkirepo-ca-dn "$REPO_CA_DN"
jpkirepo-trust-anchor $pki/ca/gen1.pem
jpkirepo-publisher "$REPO_PUBLISHER_DN"
jpkirepo-verifier-base "$REPO_VERIFIER_BASE"
jpkirepo-reader "$REPO_REPLICATOR_DN"
jpkirepo-reader "$REPO_RESPONDER_DN"
jpkirepo-reader "$REPO_OPERATOR_DN"
${REPO_AUDIT_DIR:+jpkirepo-audit-dir $REPO_AUDIT_DIR}
${REPO_OVERLAY_EXTRA:-}
EOF
}

# TLS for StartTLS and ldaps, client certificates requested and verified against the
# verifiers' CA, and a client certificate's subject mapped (SASL EXTERNAL) to the one
# registered verifier that holds it; jpki verifier add keeps subjects unique.
repo_tls_conf() {
	local pki=${1:?usage: repo_tls_conf PKI_DIR}
	cat <<EOF
TLSCACertificateFile $pki/verifiers/ca.pem
TLSCertificateFile $pki/tls/server.pem
TLSCertificateKeyFile $pki/tls/server.key
TLSVerifyClient try
authz-regexp "^(.+)\$" "ldap:///$REPO_VERIFIER_BASE??one?(&(objectClass=jpkiVerifier)(jpkiCertificateSubject=\$1))"
EOF
}

# Who writes what (CPS 2-6-3): the publisher the CA entry's certificates and revocation
# lists and the partitions' CRLs, the operator the verifier registry; verifiers and everyone
# else write nothing. Reads of user CRLs are the overlay's decision (its dynacl comes first).
# "auth" on the registry lets slapd's SASL EXTERNAL mapping search it, disclosing nothing.
repo_acl() {
	# The overlay's decision on user CRLs, first; slapd without the module (INSTANCE_OVERLAY=0)
	# knows no dynacl/jpkiverifier.
	[ "${INSTANCE_OVERLAY:-1}" = 0 ] || cat <<EOF
access to attrs=certificateRevocationList
	by dynacl/jpkiverifier write
	by * none
EOF
	cat <<EOF
access to attrs=userPassword
	by dn.exact="$REPO_OPERATOR_DN" =w
	by dn.exact="$REPO_REPLICATOR_DN" read
	by anonymous auth
	by * none
access to dn.subtree="$REPO_VERIFIER_BASE"
	by dn.exact="$REPO_OPERATOR_DN" write
	by dn.exact="$REPO_REPLICATOR_DN" read
	by dn.exact="$REPO_RESPONDER_DN" read
	by self read
	by * auth
access to dn.subtree="$REPO_SERVICES_DN"
	by dn.exact="$REPO_REPLICATOR_DN" read
	by self read
	by * none
access to dn.base="$REPO_CA_DN" attrs=cACertificate,crossCertificatePair,authorityRevocationList,certificateRevocationList
	by dn.exact="$REPO_PUBLISHER_DN" write
	by * read
access to dn.subtree="ou=CRL Distribution Points,$REPO_CA_DN" attrs=certificateRevocationList
	by dn.exact="$REPO_PUBLISHER_DN" write
	by * read
access to *
	by * read
EOF
}

# The repository's services read whole subtrees: the responder's refresh returns every
# partition, certificate and verifier, the replicator's everything, the operator's `jpki
# verifier list` the whole registry — more than slapd's default sizelimit (500 entries) once
# the registry grows.
repo_limits() {
	cat <<EOF
limits dn.exact="$REPO_RESPONDER_DN" size=unlimited time=unlimited
limits dn.exact="$REPO_REPLICATOR_DN" size=unlimited time=unlimited
limits dn.exact="$REPO_OPERATOR_DN" size=unlimited time=unlimited
EOF
}

repo_init() {
	local dir=${1:?usage: repo_init DIR PKI_DIR} pki=${2:?usage: repo_init DIR PKI_DIR} svc pw ldaps
	mkdir -p "$dir/conf"
	# The ldaps port is chosen once and kept, like the plain one.
	[ -s "$dir/conf/ldaps_port" ] || jpki_free_port > "$dir/conf/ldaps_port"
	ldaps=$(cat "$dir/conf/ldaps_port")
	# The audit trail of both components (CPS 4-11-2), in DIR/audit unless REPO_AUDIT=0.
	local REPO_AUDIT_DIR=""
	if [ "${REPO_AUDIT:-1}" != 0 ]; then
		REPO_AUDIT_DIR=$dir/audit
		mkdir -p "$REPO_AUDIT_DIR"
		chmod 700 "$REPO_AUDIT_DIR"
	fi
	local before
	before=$({ cat "$dir/conf/slapd.conf" 2>/dev/null || true; } | sha256sum)
	INSTANCE_OVERLAY_CONF=${INSTANCE_OVERLAY_CONF:-$(repo_overlay_conf "$pki")} \
		INSTANCE_ACL=${INSTANCE_ACL:-$(repo_acl)} \
		INSTANCE_GLOBAL_CONF=${INSTANCE_GLOBAL_CONF:-$(repo_tls_conf "$pki")} \
		INSTANCE_EXTRA_CONF="$(repo_limits)${INSTANCE_EXTRA_CONF:+$'\n'$INSTANCE_EXTRA_CONF}" \
		INSTANCE_URLS=${INSTANCE_URLS:-ldaps://127.0.0.1:$ldaps/} instance_init "$dir" || return 1
	# A running slapd whose configuration changed is restarted to take it.
	if [ "$before" != "$(sha256sum < "$dir/conf/slapd.conf")" ] && instance_pid "$dir" >/dev/null 2>&1; then
		instance_stop "$dir" || return 1
	fi
	instance_start "$dir" || return 1
	if ! instance_ldap "$dir" ldapsearch -LLL -s base -b "$REPO_CA_DN" dn >/dev/null 2>&1; then
		instance_ldif_load "$dir" "$JPKI_SRCDIR/ldif/chiba.ldif" >/dev/null || return 1
	fi
	mkdir -p "$dir/secrets"
	chmod 700 "$dir/secrets"
	for svc in $REPO_SERVICES; do
		[ -s "$dir/secrets/$svc.pw" ] && continue
		pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
		(umask 077; printf '%s' "$pw" > "$dir/secrets/$svc.pw")  # no newline: -y and -T take the whole file
		instance_ldap "$dir" ldappasswd -T "$dir/secrets/$svc.pw" "cn=$svc,$REPO_SERVICES_DN" || return 1
	done
}

repo_ldaps_uri() { echo "ldaps://127.0.0.1:$(cat "${1:?}/conf/ldaps_port")"; }

# The demo's verifiers (CPS 2-6-3): active 署名検証者 and 団体署名検証者, one suspended, one
# whose agreement has ended. Each gets DIR/secrets/verifier-<name>.pw. Idempotent.
repo_add_verifiers() {
	local dir=${1:?} pki=${2:?} name type start end
	for name in signature group suspended expired; do
		type=signature-verifier; [ "$name" = group ] && type=group-signature-verifier
		start=$(date -u -d '-30 days' +%Y-%m-%dT%H:%M:%SZ); end=$(date -u -d '+365 days' +%Y-%m-%dT%H:%M:%SZ)
		if [ "$name" = expired ]; then
			start=$(date -u -d '-2 years' +%Y-%m-%dT%H:%M:%SZ); end=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
		fi
		if [ ! -s "$dir/secrets/verifier-$name.pw" ]; then
			(umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' | tr -d '\n' > "$dir/secrets/verifier-$name.pw")
		fi
		repo_jpki_operator "$dir" show "$name" >/dev/null 2>&1 && continue
		repo_jpki_operator "$dir" add --id "$name" --type "$type" --org "Verifier $name (demo)" \
			--mail "$name@verifier.example" --start "$start" --end "$end" --method ldap,ocsp \
			--cert "$pki/verifiers/$name.pem" --verifier-password-file "$dir/secrets/verifier-$name.pw" >/dev/null || return 1
		[ "$name" = suspended ] && { repo_jpki_operator "$dir" suspend suspended >/dev/null || return 1; }
	done
	return 0
}

# jpki verifier … as the operator.
repo_jpki_operator() {
	local dir=$1
	shift
	JPKI_VERIFIER_BASE=$REPO_VERIFIER_BASE _repo_jpki verifier "$1" -H "$(repo_uri "$dir")" \
		-D "$REPO_OPERATOR_DN" -y "$dir/secrets/operator.pw" "${@:2}"
}

# ldap* client bound as a service identity of the repository.
repo_ldap_as() {
	local dir=$1 svc=$2 tool=$3
	shift 3
	"$tool" -x -H "$(repo_uri "$dir")" -D "cn=$svc,$REPO_SERVICES_DN" -y "$dir/secrets/$svc.pw" "$@"
}

repo_publish_ca() {
	local dir=${1:?} pki=${2:?}
	_repo_jpki ca publish -H "$(repo_uri "$dir")" -D "$REPO_PUBLISHER_DN" -y "$dir/secrets/publisher.pw" \
		--ca-dn "$REPO_CA_DN" \
		--cert "$pki/ca/gen1.pem" --cert "$pki/ca/gen2.pem" \
		--cert "$pki/ca/link-new-with-old.pem" --cert "$pki/ca/link-old-with-new.pem" \
		--cross-pair "$pki/bridge/crosspair-gen1.der" --cross-pair "$pki/bridge/crosspair-gen2.der"
}

repo_issue() {
	local dir=${1:?} pki=${2:?} gen=${3:?} out=${4:?}
	shift 4
	mkdir -p "$out"
	SOFTHSM2_CONF="$pki/softhsm2.conf" _repo_jpki crl issue --ca-cert "$pki/ca/$gen.pem" --ca-key "$(cat "$pki/ca/$gen.key.uri")" \
		--ledger "$pki/ledger/$gen.csv" --ca-ledger "$pki/ledger/arl-$gen.csv" \
		--ca-dn "$REPO_CA_DN" --out "$out" "$@"
}

repo_publish() {
	local dir=${1:?} svc=${2:?}
	shift 2
	_repo_jpki crl publish -H "$(repo_uri "$dir")" -D "cn=$svc,$REPO_SERVICES_DN" -y "$dir/secrets/$svc.pw" "$@"
}

# --- the OCSP responder beside the repository -------------------------------------------------
#   repo_ocspd_start DIR PKI_DIR [jpki-ocspd options…]   on a free 127.0.0.1 port, pid in DIR/ocspd/pid
#   repo_ocspd_stop DIR
#   repo_ocspd_url DIR
# The responder certificates of both generations go in one bundle: each answer carries the
# one its issuer generation vouches for.
repo_ocspd_start() {
	local dir=${1:?} pki=${2:?} od port pid
	shift 2
	od=$dir/ocspd
	mkdir -p "$od/state"
	[ -s "$od/port" ] || jpki_free_port > "$od/port"
	port=$(cat "$od/port")
	repo_ocspd_stop "$dir"
	cat "$pki/ocsp/responder.pem" "$pki/ocsp/responder-gen1.pem" > "$od/responder-certs.pem"
	# Ready (below) once the state copy is newer than this mark, made before the start so
	# that a responder quicker than this shell is not missed.
	touch "$od/started"
	sleep 0.01
	# The preload reaches jpki-ocspd only, not setsid or env (see jpki_faketime_cleanup).
	setsid env SOFTHSM2_CONF="$pki/softhsm2.conf" ${OCSPD_PRELOAD:+LD_PRELOAD="$OCSPD_PRELOAD"} \
		"$JPKI_BUILDDIR/responder/jpki-ocspd" --foreground --listen 127.0.0.1 --port "$port" \
		--ldap-uri "$(repo_uri "$dir")" --bind-dn "$REPO_RESPONDER_DN" --password-file "$dir/secrets/responder.pw" \
		--ca-dn "$REPO_CA_DN" --verifier-base "$REPO_VERIFIER_BASE" --trust-anchor "$pki/ca/gen1.pem" \
		--state-dir "$od/state" --key-uri "$(cat "$pki/ocsp/key.uri")" \
		--responder-cert "$od/responder-certs.pem" --pid-file "$od/pid" \
		$([ -d "$dir/audit" ] && [ "${REPO_AUDIT:-1}" != 0 ] && printf -- '--audit-dir %s' "$dir/audit") "$@" \
		</dev/null >/dev/null 2>>"$od/log" &
	pid=$!
	echo "$pid" > "$od/pid"
	# Ready when it listens and has published a snapshot from the repository (the state
	# copy is rewritten then); with REPO_OCSPD_NO_WAIT_SYNC, listening is enough.
	local deadline=$(( ${EPOCHREALTIME//[!0-9]/} + 10000000 )) rc
	jpki_wait_port 127.0.0.1 "$port" 10 "$pid"
	rc=$?
	while [ "$rc" = 0 ] && [ -z "${REPO_OCSPD_NO_WAIT_SYNC:-}" ] &&
	      ! [ "$od/state/repository.state" -nt "$od/started" ]; do
		kill -0 "$pid" 2>/dev/null || { rc=2; break; }
		(( ${EPOCHREALTIME//[!0-9]/} < deadline )) || { rc=1; break; }
		sleep 0.05
	done
	case $rc in
	0) return 0 ;;
	2) echo "repo: jpki-ocspd exited at start; see $od/log" >&2; tail -5 "$od/log" >&2 ;;
	*) echo "repo: jpki-ocspd was not ready within 10 s; see $od/log" >&2 ;;
	esac
	return 1
}

repo_ocspd_stop() {
	local dir=${1:?} pid i faked=0
	[ -s "$dir/ocspd/pid" ] || return 0
	pid=$(cat "$dir/ocspd/pid")
	jpki_faketime_preloaded "$pid" && faked=1
	if kill -TERM "$pid" 2>/dev/null; then
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/ocspd/pid"
	if [ "$faked" = 1 ]; then
		for _ in $(seq 1 40); do   # after a SIGKILL, until it is gone
			jpki_faketime_cleanup "$pid" && break
			sleep 0.05
		done
	fi
	return 0
}

repo_ocspd_url() { echo "http://127.0.0.1:$(cat "${1:?}/ocspd/port")/"; }
