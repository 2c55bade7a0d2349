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
REPO_SERVICES=${REPO_SERVICES:-publisher replicator responder operator}
# The municipality table, from the source tree when jpki is not installed.
export JPKI_MUNICIPALITIES=${JPKI_MUNICIPALITIES:-$JPKI_SRCDIR/data/municipalities.tsv}

_repo_jpki() { "$JPKI_BUILDDIR/tools/jpki" "$@"; }

# The overlay's directives for a PKI made by scripts/lib/testpki.sh.
repo_overlay_conf() {
	local pki=${1:?usage: repo_overlay_conf PKI_DIR}
	cat <<EOF
jpkirepo-ca-dn "$REPO_CA_DN"
jpkirepo-trust-anchor $pki/ca/gen1.pem
jpkirepo-publisher "$REPO_PUBLISHER_DN"
${REPO_OVERLAY_EXTRA:-}
EOF
}

# Passwords are for binding only; the publisher and the operator may write (what each may
# write is the overlay's decision); everyone else reads.
repo_acl() {
	cat <<EOF
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact="$REPO_PUBLISHER_DN" write
	by dn.exact="$REPO_OPERATOR_DN" write
	by * read
EOF
}

repo_init() {
	local dir=${1:?usage: repo_init DIR PKI_DIR} pki=${2:?usage: repo_init DIR PKI_DIR} svc pw
	INSTANCE_OVERLAY_CONF=${INSTANCE_OVERLAY_CONF:-$(repo_overlay_conf "$pki")} \
		INSTANCE_ACL=${INSTANCE_ACL:-$(repo_acl)} instance_init "$dir" || return 1
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

# ldap* client bound as a service identity of the repository.
repo_ldap_as() {
	local dir=$1 svc=$2 tool=$3
	shift 3
	eval "$(instance_env "$dir")"
	"$tool" -x -H "$INSTANCE_URI" -D "cn=$svc,$REPO_SERVICES_DN" -y "$dir/secrets/$svc.pw" "$@"
}

repo_publish_ca() {
	local dir=${1:?} pki=${2:?}
	eval "$(instance_env "$dir")"
	_repo_jpki ca publish -H "$INSTANCE_URI" -D "$REPO_PUBLISHER_DN" -y "$dir/secrets/publisher.pw" \
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
	eval "$(instance_env "$dir")"
	_repo_jpki crl publish -H "$INSTANCE_URI" -D "cn=$svc,$REPO_SERVICES_DN" -y "$dir/secrets/$svc.pw" "$@"
}
