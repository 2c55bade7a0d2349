#!/usr/bin/env bash
# The audit trail as the servers write it (CPS 4-11-2, 4-11-5, 4-5):
#  - the provision report's counts equal the reads and OCSP requests this test performed,
#    per verifier and method;
#  - a verifier's compare and search whose answer tests the CRL (a filter, an extensible
#    match by rule alone, an assertion control), and an attrsonly search that names the
#    attribute, are recorded (identity, partition, answer) and counted; anonymous and
#    refused ones are not recorded;
#  - publications (accepted and refused, with the rule) and registry changes are recorded;
#  - kill -9 of slapd and of the responder under load loses no record of an answer a client
#    received, and the chain still verifies after the restart;
#  - a full disk applies the policy: fail-closed refuses (no CRL value leaves, nor a compare's
#    answer, an entry a filter on the CRL selected, or the attribute's name under attrsonly;
#    OCSP answers internalError), fail-open answers.
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
A=$DIR/audit
V=$PKI/verifiers
JPKI=$JPKI_BUILDDIR/tools/jpki
CDP="ou=CRL Distribution Points,$REPO_CA_DN"

repo_init "$DIR" "$PKI" || { t_fail "repository starts"; t_done; exit 1; }
repo_publish_ca "$DIR" "$PKI" >/dev/null
repo_issue "$DIR" "$PKI" gen1 "$T/g1" --crl-number 10 >/dev/null
repo_issue "$DIR" "$PKI" gen2 "$T/g2" --crl-number 10 >/dev/null
repo_publish "$DIR" publisher "$T/g1" "$T/g2" >/dev/null
repo_add_verifiers "$DIR" "$PKI" >/dev/null
t_cleanup_add "repo_ocspd_stop '$DIR'"
repo_ocspd_start "$DIR" "$PKI" || t_fail "responder starts"
URL=$(repo_ocspd_url "$DIR")
URI=$(repo_uri "$DIR")
S=$DIR/secrets
VB=$REPO_VERIFIER_BASE
codes=($(awk -F'\t' '!/^#/ { print $1 }' "$JPKI_SRCDIR/data/municipalities.tsv"))

read_as() { # NAME CODE…: one search per partition; prints the CRL values received
	local who=$1 c n=0
	shift
	for c in "$@"; do
		n=$((n + $(ldapsearch -x -H "$URI" -D "uid=$who,$VB" -y "$S/verifier-$who.pw" -LLL \
			-b "cn=$c,$CDP" -s base 'certificateRevocationList;binary' 2>/dev/null | grep -c '^certificateRevocationList')))
	done
	echo "$n"
}
ocsp_as() { # NAME CERT…: one request with these CertIDs (generation 1 and 2 mixed is not allowed: one issuer)
	local who=$1
	shift
	local args=() f
	for f in "$@"; do args+=(-cert "$f"); done
	openssl ocsp -url "$URL" -issuer "$PKI/ca/gen1.pem" "${args[@]}" -signer "$V/$who.pem" -signkey "$V/$who.key" 2>&1 |
		grep -cE ': (good|revoked)$'
}

# --- the report counts what was done -------------------------------------------------------------
sig_reads=$(read_as signature "${codes[@]:0:7}")
grp_reads=$(read_as group "${codes[@]:10:3}")
t_eq "the signature verifier received 14 CRLs (7 partitions x 2 generations)" 14 "$sig_reads"
g1=($(ls "$PKI"/users/good/gen1-* | head -5))
sig_ocsp=$(( $(ocsp_as signature "${g1[@]:0:3}") + $(ocsp_as signature "${g1[3]}") ))
grp_ocsp=$(( $(ocsp_as group "${g1[@]:0:2}") + $(ocsp_as group "${g1[@]:2:3}") + $(ocsp_as group "${g1[4]}") ))
t_eq "OCSP answers received: 4 for signature, 6 for group" "4 6" "$sig_ocsp $grp_ocsp"
month=$(date -u +%Y-%m)
csv=$("$JPKI" report provision --month "$month" --dir "$A" --csv)
# requests,items of one verifier and method; the recipient is a quoted DN, any case.
row() { grep -i "^$month,\"uid=$1,ou=verifiers,ou=chiba-ken,o=jpki,c=jp\",$2," <<<"$csv" | awk -F, '{ print $(NF-1) "," $NF }'; }
t_eq "report: signature verifier, ldap: 7 requests, 7 partition entries" "7,7" "$(row signature ldap)"
t_eq "report: group verifier, ldap: 3 requests, 3 entries" "3,3" "$(row group ldap)"
t_eq "report: signature verifier, ocsp: 2 requests, 4 CertIDs" "2,4" "$(row signature ocsp)"
t_eq "report: group verifier, ocsp: 3 requests, 6 CertIDs" "3,6" "$(row group ocsp)"
# Refused OCSP requests are recorded with the rule and the reason that refused them.
last_ocspd() { "$JPKI" audit show --dir "$A" --component ocspd --json | tail -1; }
ocsp_as suspended "${g1[0]}" >/dev/null
t_match "a suspended verifier's refused request: its record names the rule and the reason" \
	'"result":"unauthorized: rule verifier-access \(CPS 4-4-4-3\): verifier is suspended"' "$(last_ocspd)"
openssl ocsp -url "$URL" -issuer "$PKI/ca/gen1.pem" -cert "${g1[0]}" >/dev/null 2>&1
t_match "an unsigned request's record names the rule" \
	'"result":"sigRequired: rule verifier-access \(CPS 4-4-4-3\): a signed request or a client certificate is required"' \
	"$(last_ocspd)"

# --- publications and registry changes are recorded ------------------------------------------------
repo_issue "$DIR" "$PKI" gen1 "$T/old" --crl-number 9 >/dev/null
repo_publish "$DIR" publisher "$T/old/${codes[0]}.crl" "$T/g2/${codes[0]}.crl" >/dev/null
# Registry-change records naming the group verifier, before and after its suspension: the overlay
# writes two per change (the request, then its result), so the suspension adds exactly two.
group_changes() { "$JPKI" audit show --dir "$A" --event registry-change --json | grep -i '"entry":"uid=group,'; }
gc_before=$(group_changes | wc -l)
repo_jpki_operator "$DIR" suspend group >/dev/null
gc_after=$(group_changes | wc -l)
shown=$("$JPKI" audit show --dir "$A" --event crl-publish --json)
t_match "a refused publication is recorded with its rule" "refused: rule \(e\) crl-number" "$shown"
t_match "an accepted publication is recorded with its cRLNumber" "accepted: cRLNumber 10" "$shown"
t_eq "the suspension is recorded as a registry change: two new records naming uid=group" \
	"$((gc_before + 2))" "$gc_after"
new=$(group_changes | tail -n +"$((gc_before + 1))")
t_match "the first is the operator's modify, requested" \
	'"result":"requested","identity":"cn=operator,[^"]*".*"operation":"modify","decision":"requested"' "$(sed -n 1p <<<"$new")"
t_match "the second is its result: ok" \
	'"result":"ok","identity":"cn=operator,[^"]*".*"operation":"modify","decision":"done"' "$(sed -n 2p <<<"$new")"
repo_jpki_operator "$DIR" resume group >/dev/null
t_ok "both components' chains verify while they run" "$JPKI" audit verify --dir "$A" --live

# Refusals by the rules checked before the CRL rules are recorded too; and a publication the
# rules accepted (recorded "ok") that the backend then did not store gets a record saying so.
last_publish() { "$JPKI" audit show --dir "$A" --event crl-publish --json | tail -1; }
P0="cn=${codes[0]},$CDP"
pub_mod() { ldapmodify -x -H "$URI" -D "$REPO_PUBLISHER_DN" -y "$S/publisher.pw" "$@" 2>&1; }
openssl x509 -in "$PKI/ca/gen1.pem" -outform DER -out "$T/gen1.der"
out=$(printf 'dn: %s\nchangetype: modify\nadd: cACertificate;binary\ncACertificate;binary:< file://%s\n' \
	"$P0" "$T/gen1.der" | pub_mod)
t_match "cACertificate outside the CA entry is refused" "rule ca-certificate: cACertificate belongs in the CA entry" "$out"
t_match "…and recorded with its rule" '"result":"refused: rule ca-certificate: cACertificate belongs in the CA entry' \
	"$(last_publish)"
out=$(printf 'dn: %s\nchangetype: modify\nadd: deltaRevocationList;binary\ndeltaRevocationList;binary:< file://%s\n' \
	"$P0" "$T/g1/${codes[0]}.crl" | pub_mod)
t_match "a delta CRL is refused" "rule complete-crl-only" "$out"
t_match "…and recorded" '"result":"refused: rule complete-crl-only' "$(last_publish)"
out=$(instance_ldap "$DIR" ldapdelete "$P0" 2>&1)
t_match "deleting a partition entry is refused" "rule entry-kept" "$out"
t_match "…and recorded, with the rootdn as identity" '"result":"refused: rule entry-kept.*"identity":"cn=admin' "$(last_publish)"
repo_issue "$DIR" "$PKI" gen1 "$T/g1b" --crl-number 11 >/dev/null
out=$(printf 'dn: %s\nchangetype: modify\nreplace: certificateRevocationList;binary\ncertificateRevocationList;binary:< file://%s\ncertificateRevocationList;binary:< file://%s\n' \
	"$P0" "$T/g1b/${codes[0]}.crl" "$T/g2/${codes[0]}.crl" | pub_mod -e '!assert=(cn=no-such-partition)')
t_match "a valid newer CRL under an assertion that fails is not stored" "Assertion Failed" "$out"
t_match "…its record says the backend did not store it" '"result":"error: Assertion Failed.*"decision":"not stored"' \
	"$(last_publish)"
t_match "…after the rules' ok" '"result":"ok".*accepted: cRLNumber 11' \
	"$("$JPKI" audit show --dir "$A" --event crl-publish --json | tail -2 | head -1)"

# A CRL asked for by object class ("@cRLDistributionPoint") leaves like one asked for by
# name, and is recorded like it; a persistent search, whose changes syncprov would send
# outside the operation (unrecorded), is refused to a verifier.
crl_reads() { cat "$A"/slapd-*.jsonl | grep -c '"event":"crl-read"'; }
before=$(crl_reads)
out=$(ldapsearch -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" -LLL \
	-b "cn=${codes[0]},$CDP" -s base '@cRLDistributionPoint' 2>&1)
t_ok "a verifier reads a CRL by object class" grep -q '^certificateRevocationList' <<<"$out"
t_eq "and the read is recorded" "$((before + 1))" "$(crl_reads)"
out=$(timeout 10 ldapsearch -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" -LLL \
	-E '!sync=rp' -b "cn=${codes[0]},$CDP" -s base 'certificateRevocationList;binary' 2>&1)
t_match "a verifier's persistent search is refused, naming the rule" "Server is unwilling to perform \(53\).*rule no-persist" \
	"$(tr '\n' ' ' <<<"$out")"
t_not "and sends no CRL" grep -q '^certificateRevocationList' <<<"$out"

# --- a compare, and a search whose filter alone tests the CRL, are reads (validity checks) --------
# A registered verifier learns about a partition's CRL without receiving a value from a filter
# on the attribute, or from an assertion control (RFC 4528) on a compare or a search. core.schema
# gives certificateRevocationList no matching rule, so what such a test tells today is whether
# the partition holds a CRL (presence); each answer is recorded before it is sent, named, and
# counted by the report. What anonymous or a refused verifier tries is answered as for an
# attribute nobody holds, and not recorded (as their searches are not).
last_slapd() { "$JPKI" audit show --dir "$A" --component slapd --json | tail -1; }
slapd_records() { cat "$A"/slapd-*.jsonl | wc -l; }
sig() { local cmd=$1; shift; "$cmd" -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" "$@" 2>&1; }
stored=$(sig ldapsearch -LLL -o ldif-wrap=no -b "$P0" -s base 'certificateRevocationList;binary' |
	sed -n 's/^certificateRevocationList;binary:: //p' | head -1)
other=$(base64 -w0 < "$T/g1/${codes[1]}.crl")	# another partition's CRL: not P0's
who='"identity":"uid=signature,ou=verifiers,ou=chiba-ken,o=jpki,c=jp","auth":"simple","client":"127\.0\.0\.1:[0-9]+","method":"ldap","conn":[0-9]+,"op":[0-9]+'
ldap_row() {
	"$JPKI" report provision --month "$month" --dir "$A" --csv |
		grep -i "^$month,\"uid=signature,ou=verifiers,ou=chiba-ken,o=jpki,c=jp\",ldap," | awk -F, '{ print $(NF-1) " " $NF }'
}
read -r req0 items0 <<<"$(ldap_row)"

a=$(sig ldapcompare "$P0" "certificateRevocationList;binary::$stored"; echo "rc=$?")
b=$(sig ldapcompare "$P0" "certificateRevocationList;binary::$other"; echo "rc=$?")
t_match "a compare on the attribute itself is inappropriateMatching (no EQUALITY in core.schema)" \
	"Inappropriate matching.*rc=18" "$(tr '\n' ' ' <<<"$a")"
t_eq "…the same for the stored CRL and another: it tells nothing" "$a" "$b"
out=$(sig ldapcompare -e 'assert=(certificateRevocationList=*)' "$P0" "cn:${codes[0]}"; echo "rc=$?")
t_match "a verifier's compare under an assertion that the partition holds a CRL: compareTrue" \
	"TRUE.*rc=6" "$(tr '\n' ' ' <<<"$out")"
t_match "…recorded before the answer: the verifier, its connection, the partition, the answer" \
	"\"event\":\"crl-read\",\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\"$P0\"\\],\"operation\":\"compare\",\"answer\":\"compareTrue\"\\}" \
	"$(last_slapd)"
t_match "jpki audit show names the compare and its answer" \
	"crl-read +ldap +ok +uid=signature,ou=verifiers,.*entries: ${codes[0]} operation=compare answer=compareTrue conn=" \
	"$("$JPKI" audit show --dir "$A" --component slapd | tail -1)"
out=$(sig ldapcompare -e 'assert=(!(certificateRevocationList;binary=*))' "$P0" "cn:${codes[0]}"; echo "rc=$?")
t_match "under an assertion that it holds none: assertionFailed" "Assertion Failed.*rc=122" "$(tr '\n' ' ' <<<"$out")"
t_match "…which is the answer, recorded as such" \
	"\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\"$P0\"\\],\"operation\":\"compare\",\"answer\":\"assertionFailed\"\\}" \
	"$(last_slapd)"
out=$(sig ldapcompare -e 'assert=(certificateRevocationList=*)' "cn=999999,$CDP" cn:999999; echo "rc=$?")
t_match "the same compare on a partition that does not exist: noSuchObject" "No such object.*rc=32" "$(tr '\n' ' ' <<<"$out")"
t_match "…recorded as that error, no partition compared" \
	"\"result\":\"error: No such object\",$who,\"details\":\\{\"entries\":\\[\\],\"operation\":\"compare\",\"entry\":\"cn=999999,$CDP\"\\}" \
	"$(last_slapd)"
n=$(slapd_records)
out=$(sig ldapcompare "$P0" "cn:${codes[0]}"; echo "rc=$?")
t_match "a compare that does not touch the CRL: compareTrue" "TRUE.*rc=6" "$(tr '\n' ' ' <<<"$out")"
t_eq "…is no read: not recorded" "$n" "$(slapd_records)"

out=$(sig ldapsearch -LLL -b "$P0" -s base '(certificateRevocationList=*)' 1.1)
t_eq "a search whose filter tests the CRL, asking for no attribute, selects the partition" "dn: $P0" "$out"
t_match "…recorded: the partition selected, the search, no value sent" \
	"\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\"$P0\"\\],\"operation\":\"search\",\"base\":\"$P0\",\"scope\":\"base\",\"values\":false\\}" \
	"$(last_slapd)"
out=$(sig ldapsearch -LLL -b "$P0" -s base '(!(certificateRevocationList;binary=*))' 1.1)
t_eq "its negation selects nothing" "" "$out"
t_match "…and is recorded all the same: the search, no entry" \
	"\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\\],\"operation\":\"search\",\"base\":\"$P0\",\"scope\":\"base\"\\}" \
	"$(last_slapd)"
out=$(sig ldapsearch -LLL -b "$CDP" -s one "(&(cn=${codes[0]})(certificateRevocationList=*))" dn)
t_eq "a filter testing the CRL, one level, asking for dn" "dn: $P0" "$out"
t_match "…recorded" "\"entries\":\\[\"$P0\"\\],\"operation\":\"search\",\"base\":\"$CDP\",\"scope\":\"one\",\"values\":false" \
	"$(last_slapd)"
n=$(slapd_records)
out=$(sig ldapsearch -LLL -b "$P0" -s base '(certificateRevocationList=*)' 'certificateRevocationList;binary')
t_eq "filter and values together: one record for the entry, not two" "$((n + 1))" "$(slapd_records)"
t_match "…saying the values left" "\"entries\":\\[\"$P0\"\\],\"operation\":\"search\",.*\"values\":true" "$(last_slapd)"
out=$(sig ldapsearch -LLL -e 'assert=(!(certificateRevocationList=*))' -b "$P0" -s base '(objectClass=*)' 1.1)
t_match "a search under an assertion on the CRL that fails: assertionFailed" "Assertion Failed" "$out"
t_match "…recorded with that answer" \
	"\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\\],\"operation\":\"search\",\"base\":\"$P0\",\"scope\":\"base\",\"answer\":\"assertionFailed\"\\}" \
	"$(last_slapd)"
# attrsonly: the attribute's name alone says the partition holds a CRL.
n=$(slapd_records)
out=$(sig ldapsearch -LLL -A -b "$P0" -s base 'certificateRevocationList;binary')
t_eq "an attrsonly search names the CRL attribute of a partition holding one" \
	"dn: $P0"$'\n'"certificateRevocationList;binary:" "$out"
t_eq "…recorded, one record" "$((n + 1))" "$(slapd_records)"
t_match "…naming the partition, the search and no value sent" \
	"\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\"$P0\"\\],\"operation\":\"search\",\"base\":\"$P0\",\"scope\":\"base\",\"values\":false\\}" \
	"$(last_slapd)"
t_match "jpki audit show says values=no" \
	"crl-read +ldap +ok +uid=signature,ou=verifiers,.*entries: ${codes[0]} operation=search base=.* scope=base values=no" \
	"$("$JPKI" audit show --dir "$A" --component slapd | tail -1)"
# An extensible match with a rule and no attribute type tests every attribute of the entry
# the rule is usable with: certificateListExactMatch is usable with certificateRevocationList.
# (This slapd normalises a stored CRL's issuer with its UTF-8 hex-escaped, an assertion's as
# UTF-8, so the rule selects nothing here, not even P0 with its own CRL's issuer and
# thisUpdate; the search is a test of the CRL all the same.)
crl=$T/g1/${codes[0]}.crl
issuer=$(openssl crl -inform DER -in "$crl" -noout -issuer -nameopt RFC2253,-esc_msb | sed 's/^issuer=//')
updated=$(date -u -d "$(openssl crl -inform DER -in "$crl" -noout -lastupdate | sed 's/^lastUpdate=//')" +%Y%m%d%H%M%SZ)
clm="(:certificateListExactMatch:={ issuer rdnSequence:\"$issuer\", thisUpdate \"$updated\" })"
n=$(slapd_records)
out=$(sig ldapsearch -LLL -b "$P0" -s base "$clm" 1.1)
t_eq "a search by rule alone (certificateListExactMatch) selects nothing" "" "$out"
t_eq "…and is recorded" "$((n + 1))" "$(slapd_records)"
t_match "…as a search that tested the CRL" \
	"\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\\],\"operation\":\"search\",\"base\":\"$P0\",\"scope\":\"base\"\\}" \
	"$(last_slapd)"
out=$(sig ldapsearch -LLL -b "$P0" -s base "(!$clm)" 1.1)
t_eq "its negation selects the partition" "dn: $P0" "$out"
t_eq "…recorded" "$((n + 2))" "$(slapd_records)"
t_match "…with the partition, no value sent" \
	"\"result\":\"ok\",$who,\"details\":\\{\"entries\":\\[\"$P0\"\\],\"operation\":\"search\",\"base\":\"$P0\",\"scope\":\"base\",\"values\":false\\}" \
	"$(last_slapd)"

n=$(slapd_records)
for id in anon suspended; do
	creds=()
	[ "$id" = suspended ] && creds=(-D "uid=suspended,$VB" -y "$S/verifier-suspended.pw")
	a=$(ldapcompare -x -H "$URI" "${creds[@]}" -e 'assert=(certificateRevocationList=*)' "$P0" "cn:${codes[0]}" 2>&1; echo "rc=$?")
	b=$(ldapcompare -x -H "$URI" "${creds[@]}" -e 'assert=(deltaRevocationList=*)' "$P0" "cn:${codes[0]}" 2>&1; echo "rc=$?")
	t_eq "$id's compare under an assertion on the CRL answers as for an attribute nobody holds" "$b" "$a"
	t_eq "$id's search testing the CRL selects nothing" "" \
		"$(ldapsearch -x -H "$URI" "${creds[@]}" -LLL -b "$P0" -s base '(certificateRevocationList=*)' 1.1 2>&1)"
	t_eq "$id's search by certificateListExactMatch alone: what the rule on an attribute nobody holds gives" \
		"$(ldapsearch -x -H "$URI" "${creds[@]}" -LLL -b "$P0" -s base "(!${clm/(:/(deltaRevocationList:})" 1.1 2>&1)" \
		"$(ldapsearch -x -H "$URI" "${creds[@]}" -LLL -b "$P0" -s base "(!$clm)" 1.1 2>&1)"
done
t_eq "what anonymous and a suspended verifier tried is not recorded (as their searches are not)" "$n" "$(slapd_records)"
read -r req1 items1 <<<"$(ldap_row)"
# ok records: 2 compares (each its partition), 8 searches (the entry; none; the entry; the entry
# with its values; none; the entry named under attrsonly; none; the entry); the noSuchObject
# compare is recorded but provided nothing.
t_eq "the report counts them: 10 more requests, 7 more partition entries" "$((req0 + 10)) $((items0 + 7))" "$req1 $items1"

# --- kill -9 under load: every answer a client received has its record ---------------------------------
load_ldap() { # counts, in $T/ldap.got, every CRL value received
	local c
	: > "$T/ldap.got"
	for c in $(seq 1 400); do
		ldapsearch -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" -LLL \
			-b "cn=${codes[$((c % 54))]},$CDP" -s base 'certificateRevocationList;binary' 2>/dev/null |
			grep -q '^certificateRevocationList' && echo "cn=${codes[$((c % 54))]}" >> "$T/ldap.got"
	done
}
before=$(cat "$A"/slapd-*.jsonl | grep -c '"event":"crl-read"')
load_ldap &
lp=$!
while [ "$(wc -l 2>/dev/null < "$T/ldap.got" || echo 0)" -lt 20 ] && kill -0 "$lp" 2>/dev/null; do sleep 0.01; done
kill -9 "$(instance_pid "$DIR")"
wait "$lp" 2>/dev/null
got=$(wc -l < "$T/ldap.got")
recorded=$(( $(cat "$A"/slapd-*.jsonl | grep -c '"event":"crl-read"') - before ))
t_ok "slapd killed under load after $got reads: $recorded records, none missing" test "$recorded" -ge "$got"
instance_start "$DIR" >/dev/null
t_ok "slapd restarts on the same trail" ldapsearch -x -H "$URI" -b "" -s base

load_ocsp() {
	local i
	: > "$T/ocsp.got"
	for i in $(seq 1 300); do
		openssl ocsp -url "$URL" -issuer "$PKI/ca/gen1.pem" -cert "${g1[$((i % 5))]}" \
			-signer "$V/signature.pem" -signkey "$V/signature.key" 2>/dev/null | grep -q ': good' && echo ok >> "$T/ocsp.got"
	done
}
before=$(cat "$A"/ocspd-*.jsonl | grep -c '"result":"ok"')
load_ocsp &
lp=$!
while [ "$(wc -l 2>/dev/null < "$T/ocsp.got" || echo 0)" -lt 20 ] && kill -0 "$lp" 2>/dev/null; do sleep 0.01; done
kill -9 "$(cat "$DIR/ocspd/pid")"
wait "$lp" 2>/dev/null
got=$(wc -l < "$T/ocsp.got")
recorded=$(( $(cat "$A"/ocspd-*.jsonl | grep -c '"result":"ok"') - before ))
t_ok "responder killed under load after $got answers: $recorded records, none missing" test "$recorded" -ge "$got"
rm -f "$DIR/ocspd/pid"
repo_ocspd_start "$DIR" "$PKI" --max-certids 400 || t_fail "responder restarts"
ocsp_as signature "${g1[0]}" >/dev/null
t_ok "after both kills the chains still verify" "$JPKI" audit verify --dir "$A" --live

# --- a request with hundreds of CertIDs is recorded whole --------------------------------------------
serials=()
for i in $(seq 1 300); do serials+=(-serial "0x7$(printf '%015X' "$i")"); done
t_eq "300 CertIDs in one request: 300 answered" 300 "$(openssl ocsp -url "$URL" -issuer "$PKI/ca/gen1.pem" \
	"${serials[@]}" -signer "$V/signature.pem" -signkey "$V/signature.key" 2>&1 | grep -cE ': good$')"
t_eq "its record lists the 300 CertIDs" 300 \
	"$("$JPKI" audit show --dir "$A" --component ocspd --json | tail -1 | grep -o '"serial"' | wc -l)"
t_match "its record names the client by address and port, as slapd's do" '"client":"127\.0\.0\.1:[0-9]+"' \
	"$("$JPKI" audit show --dir "$A" --component ocspd --json | tail -1)"

# --- signed checkpoints: a responder given a checkpoint key seals its trail when it stops ----------
repo_ocspd_stop "$DIR"
repo_ocspd_start "$DIR" "$PKI" --audit-checkpoint-key "$(cat "$PKI/ocsp/key.uri")" \
	--audit-checkpoint-cert "$PKI/ocsp/responder.pem" || t_fail "responder with a checkpoint key starts"
ocsp_as signature "${g1[1]}" >/dev/null
repo_ocspd_stop "$DIR"
t_match "the stopped responder's trail ends with a signed checkpoint" '"event":"checkpoint"' "$(tail -1 "$(ls "$A"/ocspd-*.jsonl | tail -1)")"
t_ok "jpki audit verify --sealed checks the checkpoint's signature" \
	"$JPKI" audit verify --dir "$A" --component ocspd --sealed --cert "$PKI/ocsp/responder.pem"
repo_ocspd_start "$DIR" "$PKI" || t_fail "responder restarts"

# --- a full disk ------------------------------------------------------------------------------------
full=$T/full
mkdir -p "$full"
if mount -t tmpfs -o size=256k tmpfs "$full" 2>/dev/null; then
	t_cleanup_add "umount -l '$full' 2>/dev/null"
	repo_ocspd_stop "$DIR"
	instance_stop "$DIR"
	# Same repository, its records now on the small filesystem, which is then filled.
	sed -i "s|^jpkirepo-audit-dir .*|jpkirepo-audit-dir $full|" "$DIR/conf/slapd.conf"
	instance_start "$DIR" >/dev/null
	REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI" --audit-dir "$full" >/dev/null
	for _ in $(seq 1 50); do ocsp_as signature "${g1[0]}" | grep -q 1 && break; done
	# Filled to the last byte: a record is a few hundred bytes.
	dd if=/dev/zero of="$full/filler" bs=4k 2>/dev/null
	dd if=/dev/zero of="$full/filler2" bs=1 2>/dev/null
	# An append that stays inside the file's last page needs no new block, so keep asking
	# until the trail is full: every answer that left must have its record, and the first
	# refusal must name the audit trail and carry no CRL.
	served=0 refused="" leaked=0
	for i in $(seq 1 60); do
		out=$(ldapsearch -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" -LLL \
			-b "cn=${codes[$((i % 54))]},$CDP" -s base 'certificateRevocationList;binary' 2>&1)
		if grep -q "unwilling to perform" <<<"$out"; then
			refused=$out
			grep -q '^certificateRevocationList' <<<"$out" && leaked=1
			break
		fi
		grep -q '^certificateRevocationList' <<<"$out" && served=$((served + 1))
	done
	t_ok "disk full, fail-closed: a read is refused" test -n "$refused"
	t_match "disk full, fail-closed: the refusal names the rule" \
		"rule audit fail-closed \(CPS 4-11-2\): the audit record could not be written" "$(tr '\n' ' ' <<<"$refused")"
	t_eq "disk full, fail-closed: the refused read carries no CRL value" 0 "$leaked"
	t_eq "disk full: every read that was served has its record ($served)" "$served" \
		"$(grep -c '"identity":"uid=signature,ou=verifiers' "$full"/slapd-*.jsonl)"
	out=$(ldapcompare -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" \
		-e 'assert=(certificateRevocationList=*)' "$P0" "cn:${codes[0]}" 2>&1; echo "rc=$?")
	t_match "disk full, fail-closed: a compare is refused, naming the rule" \
		"Server is unwilling to perform \(53\).*rule audit fail-closed \(CPS 4-11-2\).*rc=53" "$(tr '\n' ' ' <<<"$out")"
	t_not "…and its answer is not sent" grep -q TRUE <<<"$out"
	out=$(ldapsearch -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" -LLL -b "$P0" -s base \
		'(certificateRevocationList=*)' 1.1 2>&1)
	t_match "disk full, fail-closed: a search testing the CRL is refused, naming the rule" \
		"Server is unwilling to perform \(53\).*rule audit fail-closed" "$(tr '\n' ' ' <<<"$out")"
	t_not "…and the entry its filter selected is not sent" grep -q '^dn:' <<<"$out"
	out=$(ldapsearch -x -H "$URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" -LLL -A -b "$P0" -s base \
		'certificateRevocationList;binary' 2>&1)
	t_match "disk full, fail-closed: an attrsonly search naming the CRL is refused, naming the rule" \
		"Server is unwilling to perform \(53\).*rule audit fail-closed" "$(tr '\n' ' ' <<<"$out")"
	t_not "…and the attribute's name is not sent" grep -q '^certificateRevocationList' <<<"$out"
	status=""
	for i in $(seq 1 60); do
		status=$(openssl ocsp -url "$URL" -issuer "$PKI/ca/gen1.pem" -cert "${g1[$((i % 5))]}" -no_nonce \
			-signer "$V/signature.pem" -signkey "$V/signature.key" 2>&1 | grep -oE 'internalerror \(2\)|: good' | head -1)
		[ "$status" = ": good" ] || break
	done
	t_eq "disk full, fail-closed: OCSP answers internalError" "internalerror (2)" "$status"
	repo_ocspd_stop "$DIR"
	REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI" --audit-dir "$full" --audit-policy fail-open >/dev/null 2>&1 ||
		REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI" --audit-dir "$full" --audit-policy fail-open
	t_match "disk full, fail-open: OCSP answers" ": good" \
		"$(openssl ocsp -url "$URL" -issuer "$PKI/ca/gen1.pem" -cert "${g1[0]}" -signer "$V/signature.pem" -signkey "$V/signature.key" 2>&1)"
	rm -f "$full/filler" "$full/filler2"
	t_match "space again: reads are recorded and answered" "^2$" "$(read_as signature "${codes[0]}")"
	repo_ocspd_stop "$DIR"
	instance_stop "$DIR"
	umount "$full" 2>/dev/null || umount -l "$full"
else
	t_skip "full disk" "mounting a tmpfs is not permitted here"
fi

t_done
