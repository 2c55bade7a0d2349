#!/usr/bin/env bash
# scripts/demo as README.md promises it, in a directory of its own: it starts, writes
# instance.env, and a client with nothing but that file does what the demo says —
#  - a registered verifier reads a partition's user CRLs (both generations), over ldap and
#    over ldaps with its client certificate; anonymous and the suspended verifier do not;
#  - anyone reads the CA certificates and the ARL;
#  - OCSP signed by the verifier: revoked with its reason, good, the answer verified with
#    JPKI_RESPONDER_CERT; unsigned: sigRequired;
#  - the audit trail in JPKI_AUDIT_DIR has the reads and verifies;
#  - running it again is safe; scripts/demo stop stops both servers, by pid.
set -u
. "$(dirname "$0")/../lib/assert.sh"
T=$(t_tmpdir)
D=$T/demo
DEMO=$JPKI_SRCDIR/scripts/demo
t_cleanup_add "'$DEMO' stop --dir '$D' >/dev/null 2>&1"

out=$("$DEMO" --dir "$D" 2>&1)
t_eq "scripts/demo --dir succeeds" 0 $?
t_match "it says how to stop it" "Stop: scripts/demo stop --dir $D" "$out"
t_ok "instance.env is written" test -s "$D/instance.env"
# shellcheck disable=SC1091
. "$D/instance.env"
P1="cn=121002,$JPKI_PARTITION_BASE"

crls() { ldapsearch -LLL -o ldif-wrap=no -b "$P1" -s base "$@" 'certificateRevocationList;binary' 2>&1 |
	grep -c '^certificateRevocationList;binary::'; }
t_eq "the verifier reads both generations' CRLs" 2 "$(crls -x -H "$JPKI_LDAP_URI" -D "$JPKI_VERIFIER_DN" -y "$JPKI_VERIFIER_PASSWORD_FILE")"
t_eq "the group verifier too" 2 "$(crls -x -H "$JPKI_LDAP_URI" -D "$JPKI_GROUP_VERIFIER_DN" -y "$JPKI_GROUP_VERIFIER_PASSWORD_FILE")"
t_eq "anonymous does not" 0 "$(crls -x -H "$JPKI_LDAP_URI")"
t_eq "the suspended verifier does not" 0 "$(crls -x -H "$JPKI_LDAP_URI" -D "$JPKI_SUSPENDED_VERIFIER_DN" -y "$JPKI_SUSPENDED_VERIFIER_PASSWORD_FILE")"
t_eq "over ldaps with the verifier's client certificate (SASL EXTERNAL)" 2 \
	"$(LDAPTLS_CACERT="$JPKI_TLS_CA" LDAPTLS_CERT="$JPKI_VERIFIER_CERT" LDAPTLS_KEY="$JPKI_VERIFIER_KEY" crls -Y EXTERNAL -H "$JPKI_LDAPS_URI")"
t_eq "anyone reads the CA certificates and the ARL" 2 "$(ldapsearch -x -LLL -o ldif-wrap=no -H "$JPKI_LDAP_URI" -b "$JPKI_CA_DN" -s base \
	'cACertificate;binary' 'authorityRevocationList;binary' | grep -c -e '^cACertificate;binary::' -e '^authorityRevocationList;binary::' | awk '{ print ($1 >= 2) ? 2 : $1 }')"

revoked=$(ls "$JPKI_PKI_DIR"/users/revoked/keyCompromise/gen1-* | head -1)
good=$(ls "$JPKI_PKI_DIR"/users/good/gen1-* | head -1)
ocsp() { openssl ocsp -url "$JPKI_OCSP_URL" -issuer "$JPKI_PKI_DIR/ca/gen1.pem" -CAfile "$JPKI_CA_CERTS" \
	-VAfile "$JPKI_RESPONDER_CERT" "$@" 2>&1; }
out=$(ocsp -cert "$revoked" -signer "$JPKI_VERIFIER_CERT" -signkey "$JPKI_VERIFIER_KEY")
t_match "OCSP signed by the verifier: revoked, keyCompromise" "Response verify OK.*: revoked.*Reason: keyCompromise" "$(tr '\n' ' ' <<<"$out")"
out=$(ocsp -cert "$good" -signer "$JPKI_GROUP_VERIFIER_CERT" -signkey "$JPKI_GROUP_VERIFIER_KEY")
t_match "OCSP signed by the group verifier: good" "Response verify OK.*: good" "$(tr '\n' ' ' <<<"$out")"
t_match "an unsigned request: sigRequired" "sigrequired" "$(ocsp -cert "$good" | tr 'A-Z' 'a-z')"

JPKI=$JPKI_BUILDDIR/tools/jpki
# identities as slapd normalises them (lower case)
t_match "the audit trail holds the verifier's reads, over both ways in" \
	"\"identity\":\"${JPKI_VERIFIER_DN,,}\",\"auth\":\"simple\".*\"identity\":\"${JPKI_VERIFIER_DN,,}\",\"auth\":\"sasl-external\"" \
	"$("$JPKI" audit show --dir "$JPKI_AUDIT_DIR" --event crl-read --json 2>&1 | tr '\n' ' ')"
t_ok "and verifies" "$JPKI" audit verify --dir "$JPKI_AUDIT_DIR" --live

pids=$(cat "$D/slapd/run/slapd.pid" "$D/slapd/ocspd/pid" 2>/dev/null | tr '\n' ' ')
t_ok "running it again is safe" "$DEMO" --dir "$D"
t_eq "the verifier still reads" 2 "$(crls -x -H "$JPKI_LDAP_URI" -D "$JPKI_VERIFIER_DN" -y "$JPKI_VERIFIER_PASSWORD_FILE")"
pids="$pids $(cat "$D/slapd/run/slapd.pid" "$D/slapd/ocspd/pid" 2>/dev/null | tr '\n' ' ')"
t_ok "scripts/demo stop" "$DEMO" stop --dir "$D"
alive=0
for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
t_eq "no server of the demo is left running" 0 "$alive"
t_not "status says it is not running" "$DEMO" status --dir "$D"
t_done
