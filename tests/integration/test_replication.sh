#!/usr/bin/env bash
# The jpkirepo overlay under LDAP content synchronisation (RFC 4533), with real slapds. The
# README: "Configure overlay jpkirepo after overlay syncprov. On a syncrepl consumer the
# overlay lets replicated writes through unchecked: they were checked on the provider."
#
#  1. provider -> consumer (refreshAndPersist, the consumer bound as the replicator, a
#     jpkirepo-reader): CA certificates, cross pairs, ARLs and the 54 partitions' CRLs
#     published on the provider arrive on the consumer byte-identical, although the consumer's
#     own overlay is configured with a size cap that every one of them exceeds (so it would
#     refuse them if it checked them), and its log shows no refusal; a verifier registered on
#     the provider reads user CRLs on the consumer, anonymous and a suspended verifier do not,
#     and a suspension (and resumption) made on the provider applies on the consumer; a newer
#     CRL replaces the old one there.
#  2. two providers (serverID 1 and 2, each syncprov + syncrepl to the other, multiprovider
#     on), each trusting generation 1 only: B checks a generation 1 CRL (its trust set is
#     built); a generation 2 CRL is refused by B with rule (b); the generation 2 CA certificate
#     and its links, published on A, replicate to B, after which the generation 2 CRL is
#     accepted by B (its trust set saw the replicated cACertificate) and replicates to A; a
#     CRL with an older cRLNumber is refused by B naming rule (e); withdrawing generation 2 on
#     A makes B refuse a new generation 2 CRL again.
#  3. rule entry-kept across replication: the provider refuses, even to its rootdn, to delete a
#     partition entry holding a CRL, and both servers keep it — while the delete of an entry
#     without CRL does replicate (so a delete that got through would have been seen).
#
# Every wait is a poll bounded by REPL_WAIT seconds.
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
CDP="ou=CRL Distribution Points,$REPO_CA_DN"
P1="cn=121002,$CDP"
CRL='certificateRevocationList;binary'
ARL='authorityRevocationList;binary'
CACERT='cACertificate;binary'
XPAIR='crossCertificatePair;binary'
REPL_WAIT=${REPL_WAIT:-10}
# No instance_env in this shell: its INSTANCE_PORT would be taken by the next instance_init.

# --- helpers ----------------------------------------------------------------------------------
# poll CMD…: run CMD until it succeeds, REPL_WAIT seconds at most.
poll() {
	local deadline=$(( ${EPOCHREALTIME/./} + REPL_WAIT * 1000000 ))
	until "$@" >/dev/null 2>&1; do
		(( ${EPOCHREALTIME/./} < deadline )) || return 1
		sleep 0.1
	done
}
# stored SERVER DN ATTR: a digest of the values of ATTR (one SHA-256 a value, sorted), read as
# the rootdn; "none" when there is no value (or no entry).
stored() {
	local dir=$1 dn=$2 attr=$3 d
	d=$(mktemp -d "$T/get.XXXXXX")
	instance_ldap "$dir" ldapsearch -LLL -t -T "$d" -b "$dn" -s base "$attr" >/dev/null 2>&1
	if compgen -G "$d/ldapsearch-*" >/dev/null; then
		sha256sum "$d"/ldapsearch-* | cut -d' ' -f1 | sort | sha256sum | cut -d' ' -f1
	else
		echo none
	fi
	rm -rf "$d"
}
# files FILE…: the same digest for these files' bytes.
files() {
	local f
	for f in "$@"; do sha256sum < "$f" | cut -d' ' -f1; done | sort | sha256sum | cut -d' ' -f1
}
holds() { [ "$(stored "$1" "$2" "$3")" = "$4" ]; }         # SERVER DN ATTR DIGEST
exists() { instance_ldap "$1" ldapsearch -LLL -b "$2" -s base 1.1 >/dev/null 2>&1; }
gone() { ! exists "$@" && instance_ldap "$1" ldapsearch -LLL -b "$REPO_CA_DN" -s base 1.1 >/dev/null 2>&1; }
# dump SERVER: every value of the four PKI attributes under the CA entry, "dn | value", sorted.
dump() {
	instance_ldap "$1" ldapsearch -LLL -o ldif-wrap=no -b "$REPO_CA_DN" -s sub '(objectClass=*)' \
		"$CRL" "$ARL" "$CACERT" "$XPAIR" 2>/dev/null |
		awk '/^dn: /{dn=$0; next} NF{print dn " | " $0}' | sort
}
same_dump() { [ "$(dump "$1")" = "$(dump "$2")" ] && [ -n "$(dump "$1")" ]; }
entries() { instance_ldap "$1" ldapsearch -LLL -b "$REPO_SUFFIX" -s sub '(objectClass=*)' 1.1 2>/dev/null | grep -c '^dn:'; }
same_entries() { [ "$(entries "$1")" = "$(entries "$2")" ]; }
# crl_count SERVER WHO: how many user CRL values WHO reads in P1 (WHO: anon or a demo verifier).
crl_count() {
	local uri
	uri=$(repo_uri "$1")
	if [ "$2" = anon ]; then
		ldapsearch -x -LLL -o ldif-wrap=no -H "$uri" -b "$P1" -s base "$CRL"
	else
		ldapsearch -x -LLL -o ldif-wrap=no -H "$uri" -D "uid=$2,$REPO_VERIFIER_BASE" \
			-y "$SECRETS/verifier-$2.pw" -b "$P1" -s base "$CRL"
	fi 2>/dev/null | grep -c '^certificateRevocationList'
}
reads() { [ "$(crl_count "$1" "$2")" = "$3" ]; }           # SERVER WHO N
# syncrepl_conf RID PROVIDER-URI: the consumer side, bound as the replicator.
syncrepl_conf() {
	printf 'syncrepl rid=%s provider=%s bindmethod=simple binddn="%s" credentials=%s searchbase="%s" type=refreshAndPersist retry="1 +" timeout=5 network-timeout=5\n' \
		"$1" "$2" "$REPO_REPLICATOR_DN" "$(cat "$REPL_PW")" "$REPO_SUFFIX"
}
# refusals SERVER: what its log says about refused replicated or checked writes.
refusals() { grep -E 'syncrepl_entry: .* failed|jpkirepo: .*refused write' "$1/run/slapd.log" || true; }
# second_server DIR PORT [GLOBAL] [EXTRA]: a server with the repository's overlay (generation 1
# anchor), ACLs and TLS, its DIT left empty for replication to fill; overlay directives in
# $SECOND_OVERLAY_EXTRA.
second_server() {
	local dir=$1 port=$2 global=${3:-} extra=${4:-}
	mkdir -p "$dir/audit" && chmod 700 "$dir/audit"
	INSTANCE_PORT=$port \
		INSTANCE_OVERLAY_CONF=$(REPO_AUDIT_DIR=$dir/audit REPO_OVERLAY_EXTRA=${SECOND_OVERLAY_EXTRA:-} repo_overlay_conf "$PKI") \
		INSTANCE_ACL=$(repo_acl) \
		INSTANCE_GLOBAL_CONF="$(repo_tls_conf "$PKI")"$'\n'"$global" \
		INSTANCE_EXTRA_CONF=$extra instance_init "$dir" && instance_start "$dir"
}
fatal() { t_fail "$1"; t_done; exit 1; }

# The publications: both generations' CRLs and ARLs (cRLNumber 100), the CA certificates
# (DER) and the cross pairs, as files to compare the replicated bytes with.
repo_issue - "$PKI" gen1 "$T/g1" --crl-number 100 >/dev/null || fatal "generation 1 CRLs issued"
repo_issue - "$PKI" gen2 "$T/g2" --crl-number 100 >/dev/null || fatal "generation 2 CRLs issued"
mkdir -p "$T/der"
for c in gen1 gen2 link-new-with-old link-old-with-new; do
	openssl x509 -in "$PKI/ca/$c.pem" -outform DER -out "$T/der/$c.der"
done
WANT_CA=$(files "$T"/der/*.der)
WANT_CA1=$(files "$T/der/gen1.der")
WANT_XPAIR=$(files "$PKI/bridge/crosspair-gen1.der" "$PKI/bridge/crosspair-gen2.der")
WANT_ARL=$(files "$T/g1/arl.crl" "$T/g2/arl.crl")
WANT_P1=$(files "$T/g1/121002.crl" "$T/g2/121002.crl")
WANT_P1_G1=$(files "$T/g1/121002.crl")
CAP=100
smallest=$(stat -c %s "$T"/g1/*.crl "$T"/g2/*.crl | sort -n | head -1)

# === 1. provider -> consumer ===================================================================
P=$T/provider
C=$T/consumer
repo_init "$P" "$PKI" || fatal "provider starts"
SECRETS=$P/secrets
REPL_PW=$SECRETS/replicator.pw
t_ok "verifiers registered on the provider" repo_add_verifiers "$P" "$PKI"
t_ok "every CRL is larger than the consumer's own cap ($CAP bytes): its overlay would refuse them" \
	test "$smallest" -gt "$CAP"
SECOND_OVERLAY_EXTRA="jpkirepo-max-size $CAP" second_server "$C" "$(jpki_free_port)" "" \
	"$(syncrepl_conf 001 "$(repo_uri "$P")")" || fatal "consumer starts"
t_eq "the consumer runs the jpkirepo overlay" 1 "$(. "$C/conf/instance.env" && echo "$INSTANCE_HAS_OVERLAY")"
t_ok "the consumer's refresh copies the provider's DIT and registry" poll same_entries "$P" "$C"

# Published on the provider after the consumer's refresh: they come in the persist phase.
t_ok "CA certificates and cross pairs accepted on the provider" repo_publish_ca "$P" "$PKI"
out=$(repo_publish "$P" publisher "$T/g1" "$T/g2" 2>&1)
t_match "55 CRLs and ARLs accepted on the provider" "55 entries accepted, 0 refused" "$out"
t_ok "the CA certificates arrive on the consumer byte-identical" poll holds "$C" "$REPO_CA_DN" "$CACERT" "$WANT_CA"
t_ok "the cross-certificate pairs arrive byte-identical" poll holds "$C" "$REPO_CA_DN" "$XPAIR" "$WANT_XPAIR"
t_ok "both ARLs arrive byte-identical" poll holds "$C" "$REPO_CA_DN" "$ARL" "$WANT_ARL"
t_ok "both generations' CRLs of $P1 arrive byte-identical" poll holds "$C" "$P1" "$CRL" "$WANT_P1"
t_ok "every CRL, ARL and CA certificate of the provider is on the consumer, byte for byte" \
	poll same_dump "$P" "$C"
t_eq "the consumer holds 108 partition CRLs (54 partitions x 2 generations)" 108 \
	"$(dump "$C" | grep -c ' | certificateRevocationList;binary:: ')"
t_eq "the consumer's log shows no refused replicated write" "" "$(refusals "$C")"

# Readers on the consumer: the registry replicated from the provider decides.
t_ok "a verifier registered on the provider reads both user CRLs on the consumer" poll reads "$C" signature 2
t_eq "anonymous reads no user CRL on the consumer" 0 "$(crl_count "$C" anon)"
t_eq "a suspended verifier reads no user CRL on the consumer" 0 "$(crl_count "$C" suspended)"
out=$(ldapsearch -x -LLL -o ldif-wrap=no -H "$(repo_uri "$C")" -b "$CDP" -s one '(objectClass=*)' "$CRL" 2>&1)
t_not "anonymous gets no user CRL from a subtree search on the consumer" grep -q '^certificateRevocationList' <<<"$out"
t_ok "a suspension made on the provider" repo_jpki_operator "$P" suspend signature
t_ok "… applies on the consumer" poll reads "$C" signature 0
t_ok "a resumption made on the provider" repo_jpki_operator "$P" resume signature
t_ok "… applies on the consumer" poll reads "$C" signature 2
# The consumer's trail holds what its clients did, not replication: the provider recorded
# the writes, and syncrepl's own searches send nothing out.
t_eq "the consumer records no replicated registry change" "" \
	"$(cat "$C"/audit/slapd-*.jsonl | grep '"event":"registry-change"')"
t_eq "nor syncrepl's own searches (no client) as CRL reads" "" \
	"$(cat "$C"/audit/slapd-*.jsonl | grep '"event":"crl-read"' | grep '"client":""')"
t_ok "the verifier's reads on the consumer are recorded there" \
	grep -q '"event":"crl-read".*"identity":"uid=signature,' <(cat "$C"/audit/slapd-*.jsonl)

# === 3. (single provider) rule entry-kept: the provider keeps the entry, so does the consumer ====
# Control: an entry without CRL is deleted on the provider, and the delete replicates.
SPARE=$(spare_partition "$P")
t_ok "control: an entry without CRL added on the provider reaches the consumer" poll exists "$C" "$SPARE"
t_ok "control: the provider deletes it" instance_ldap "$P" ldapdelete "$SPARE"
t_ok "control: the delete replicates: the consumer no longer holds it" poll gone "$C" "$SPARE"
out=$(instance_ldap "$P" ldapdelete "$P1" 2>&1)
t_match "the provider refuses its rootdn the delete of a partition holding a CRL, naming the rule" \
	"rule entry-kept: .*not deleted" "$out"
t_eq "the provider still holds the entry and its CRLs" "$WANT_P1" "$(stored "$P" "$P1" "$CRL")"

# A newer generation 1 CRL, published after the refused delete: once it is on the consumer,
# the consumer has seen everything the provider did before it.
repo_issue - "$PKI" gen1 "$T/g1next" --crl-number 101 >/dev/null
WANT_P1_NEXT=$(files "$T/g1next/121002.crl" "$T/g2/121002.crl")
out=$(repo_publish "$P" publisher "$T/g1next/121002.crl" "$T/g2/121002.crl" 2>&1)
t_match "a newer generation 1 CRL is accepted on the provider" "1 entry accepted" "$out"
t_ok "the newer CRL replaces the old one on the consumer (byte-identical)" \
	poll holds "$C" "$P1" "$CRL" "$WANT_P1_NEXT"
t_ok "the consumer still holds $P1 after the provider refused its delete" exists "$C" "$P1"
t_ok "the verifier reads the new CRL on the consumer" reads "$C" signature 2
t_eq "the consumer's log still shows no refused replicated write" "" "$(refusals "$C")"

# === 2. two providers ==========================================================================
A=$T/a
B=$T/b
{ jpki_free_port > "$T/a.port" && jpki_free_port > "$T/b.port"; } || fatal "free ports"
APORT=$(cat "$T/a.port")
BPORT=$(cat "$T/b.port")
# Both replicate as the replicator, whose password is set on A and replicates to B: choose it
# first (repo_init keeps an existing secret and then sets no password: set it here).
mkdir -p "$A/secrets" && chmod 700 "$A/secrets"
(umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$A/secrets/replicator.pw")
SECRETS=$A/secrets
REPL_PW=$SECRETS/replicator.pw
INSTANCE_PORT=$APORT INSTANCE_GLOBAL_CONF="$(repo_tls_conf "$PKI")"$'\n'"serverID 1" \
	INSTANCE_EXTRA_CONF="$(syncrepl_conf 002 "ldap://127.0.0.1:$BPORT")"$'\n'"multiprovider on" \
	repo_init "$A" "$PKI" || fatal "provider A starts"
instance_ldap "$A" ldappasswd -T "$REPL_PW" "$REPO_REPLICATOR_DN" || fatal "replicator password on A"
mkdir -p "$B/secrets" && chmod 700 "$B/secrets" && cp -p "$A"/secrets/*.pw "$B/secrets/"
second_server "$B" "$BPORT" "serverID 2" \
	"$(syncrepl_conf 001 "ldap://127.0.0.1:$APORT")"$'\n'"multiprovider on" || fatal "provider B starts"
t_ok "B's refresh copies A's DIT" poll same_entries "$A" "$B"
t_ok "A keeps its DIT (B started empty)" exists "$A" "$P1"

# Generation 1 is the published CA; B checks a generation 1 CRL, building its trust set.
t_ok "generation 1's CA certificate published on A" "$JPKI_BUILDDIR/tools/jpki" ca publish -H "$(repo_uri "$A")" \
	-D "$REPO_PUBLISHER_DN" -y "$SECRETS/publisher.pw" --ca-dn "$REPO_CA_DN" --cert "$PKI/ca/gen1.pem"
t_ok "… replicates to B" poll holds "$B" "$REPO_CA_DN" "$CACERT" "$WANT_CA1"
out=$(repo_publish "$B" publisher "$T/g1/121002.crl" 2>&1)
t_match "B accepts a generation 1 CRL published on it" "1 entry accepted" "$out"
t_ok "… which replicates to A" poll holds "$A" "$P1" "$CRL" "$WANT_P1_G1"
# The variation that shows the next check can fail: generation 2 before its CA certificate.
out=$(repo_publish "$B" publisher "$T/g1/121002.crl" "$T/g2/121002.crl" 2>&1)
t_match "before generation 2's CA certificate reached it, B refuses a generation 2 CRL: rule (b)" \
	"rule \(b\) signature" "$out"
t_eq "… and keeps the generation 1 CRL alone" "$WANT_P1_G1" "$(stored "$B" "$P1" "$CRL")"

t_ok "generation 2's CA certificate and links published on A" repo_publish_ca "$A" "$PKI"
t_ok "… replicate to B" poll holds "$B" "$REPO_CA_DN" "$CACERT" "$WANT_CA"
out=$(repo_publish "$B" publisher "$T/g1/121002.crl" "$T/g2/121002.crl" 2>&1)
t_match "B now accepts the generation 2 CRL: its trust set took the replicated CA certificate" \
	"1 entry accepted" "$out"
t_eq "B holds both generations' CRLs, byte-identical" "$WANT_P1" "$(stored "$B" "$P1" "$CRL")"
t_ok "… and they replicate to A" poll holds "$A" "$P1" "$CRL" "$WANT_P1"

repo_issue - "$PKI" gen1 "$T/g1old" --crl-number 99 >/dev/null
out=$(repo_publish "$B" publisher "$T/g1old/121002.crl" "$T/g2/121002.crl" 2>&1)
t_match "B refuses an older cRLNumber, naming rule (e)" \
	"rule \(e\) crl-number: cRLNumber 99 is not greater than the stored 100" "$out"
t_eq "… and B's CRLs stay byte-identical" "$WANT_P1" "$(stored "$B" "$P1" "$CRL")"

# Generation 2 withdrawn on A: B's trust set must lose it too.
repo_issue - "$PKI" gen2 "$T/g2next" --crl-number 101 >/dev/null
t_ok "generation 1 alone republished on A (generation 2 withdrawn)" "$JPKI_BUILDDIR/tools/jpki" ca publish \
	-H "$(repo_uri "$A")" -D "$REPO_PUBLISHER_DN" -y "$SECRETS/publisher.pw" --ca-dn "$REPO_CA_DN" --cert "$PKI/ca/gen1.pem"
t_ok "… replicates to B" poll holds "$B" "$REPO_CA_DN" "$CACERT" "$WANT_CA1"
out=$(repo_publish "$B" publisher "$T/g1/121002.crl" "$T/g2next/121002.crl" 2>&1)
t_match "B then refuses a new generation 2 CRL: rule (b)" "rule \(b\) signature" "$out"

# Rule entry-kept between two providers: B's rootdn cannot delete it, A keeps it.
out=$(instance_ldap "$B" ldapdelete "$P1" 2>&1)
t_match "provider B refuses its rootdn the delete of a partition holding a CRL: rule entry-kept" \
	"rule entry-kept: .*not deleted" "$out"
t_eq "B still holds it with its CRLs" "$WANT_P1" "$(stored "$B" "$P1" "$CRL")"
t_eq "A still holds it with its CRLs" "$WANT_P1" "$(stored "$A" "$P1" "$CRL")"
t_eq "no replicated write was refused on A or B" "" "$(refusals "$A" | grep syncrepl_entry; refusals "$B" | grep syncrepl_entry)"

for d in "$C" "$B" "$A" "$P"; do instance_stop "$d"; done
t_done
