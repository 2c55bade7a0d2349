#!/usr/bin/env bash
# The verifier registry's rules, enforced by the overlay whoever writes (CPS 2-6-3, 4-4-4-3):
# plain ldapadd/ldapmodify/ldapmodrdn as the operator, so that nothing depends on the jpki
# command's own checks. Each refusal names its rule, leaves the entry as it was, and its
# registry-change audit record says which rule refused it.
#  - registry-values: status, agreement period (end after start), methods;
#  - registry-terminated: a terminated agreement is not reopened;
#  - registry-certificate: jpkiCertificateSHA256 and jpkiCertificateSubject describe exactly
#    the entry's certificates;
#  - registry-unique: one certificate, one subject, one verifier (add, modify, and an entry
#    moved into the registry);
#  - no way around them: permissive modify, a rename that adds an RDN value, a tagged
#    attribute (jpkiVerifierStatus;lang-ja), a moved subtree, the registry's base renamed,
#    an objectClass swap (with the Relax control), an LDAP transaction; the write's own
#    controls (an assertion) do not leak into the overlay's search, and an identity that may
#    not write learns nothing from the checks (the backend refuses it first).
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
VB=$REPO_VERIFIER_BASE
JPKI=$JPKI_BUILDDIR/tools/jpki

repo_init "$DIR" "$PKI" || { t_fail "repository starts"; t_done; exit 1; }
eval "$(instance_env "$DIR")"
t_ok "the demo verifiers are registered through jpki verifier" repo_add_verifiers "$DIR" "$PKI"

as_operator() { repo_ldap_as "$DIR" operator "$@"; }
# cert_attrs NAME: the certificate attributes jpki verifier writes for the test PKI's NAME.pem.
cert_attrs() {
	local pem=$PKI/verifiers/$1.pem
	printf 'userCertificate;binary:: %s\n' "$(openssl x509 -in "$pem" -outform DER | base64 -w0)"
	printf 'jpkiCertificateSHA256: %s\n' "$(openssl x509 -in "$pem" -outform DER | sha256sum | cut -c1-64)"
	printf 'jpkiCertificateSubject: %s\n' "$(openssl x509 -in "$pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
}
# entry ID STATUS START END METHOD… : a jpkiVerifier entry's LDIF (certificate lines on stdin).
entry() {
	local id=$1 status=$2 start=$3 end=$4 m
	shift 4
	printf 'dn: uid=%s,%s\nobjectClass: jpkiVerifier\nuid: %s\njpkiVerifierType: signature-verifier\n' "$id" "$VB" "$id"
	printf 'jpkiVerifierStatus: %s\njpkiAgreementStart: %s\njpkiAgreementEnd: %s\n' "$status" "$start" "$end"
	for m in "$@"; do printf 'jpkiAllowedMethod: %s\n' "$m"; done
	cat
}
add() { as_operator ldapadd 2>&1; }
modify() { as_operator ldapmodify 2>&1; }
status_of() { instance_ldap "$DIR" ldapsearch -LLL -b "uid=$1,$VB" -s base jpkiVerifierStatus | sed -n 's/^jpkiVerifierStatus: //p'; }
exists() { instance_ldap "$DIR" ldapsearch -LLL -b "uid=$1,$VB" -s base dn >/dev/null 2>&1; }
last_change() { "$JPKI" audit show --dir "$DIR/audit" --event registry-change --json | grep "uid=$1," | tail -1; }

# --- registry-values -------------------------------------------------------------------------
out=$(entry good1 active 20250101000000Z 20990101000000Z ldap ocsp </dev/null | add)
t_match "a well-formed entry without certificates is added" "adding new entry" "$out"
out=$(entry rev active 20990101000000Z 20250101000000Z ldap </dev/null | add)
t_match "an agreement ending before it starts is refused: registry-values" \
	"Constraint violation.*rule registry-values: jpkiAgreementEnd '20250101000000Z' is not after" "$out"
t_not "and not stored" exists rev
out=$(entry same active 20250101000000Z 20250101000000Z ldap </dev/null | add)
t_match "an empty agreement period is refused" "rule registry-values: .*reversed or empty" "$out"
out=$(entry ftp active 20250101000000Z 20990101000000Z ldap ftp </dev/null | add)
t_match "a method other than ldap and ocsp is refused" "rule registry-values: jpkiAllowedMethod 'ftp' is neither ldap nor ocsp" "$out"
out=$(entry paused paused 20250101000000Z 20990101000000Z ldap </dev/null | add)
t_match "an unknown status is refused" "rule registry-values: jpkiVerifierStatus 'paused' is none of" "$out"
out=$(entry feb active 20250101000000Z 20260230000000Z ldap </dev/null | add)
t_match "a date the calendar lacks is refused (by slapd's own syntax check, before the rules)" "Invalid syntax" "$out"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\ndelete: jpkiAllowedMethod\njpkiAllowedMethod: ldap\njpkiAllowedMethod: ocsp\n-\nadd: jpkiAllowedMethod\njpkiAllowedMethod: smtp\n' "$VB" | modify)
t_match "a modify leaving only a bad method is refused" "rule registry-values: jpkiAllowedMethod 'smtp'" "$out"
t_eq "and the entry keeps both methods" 2 "$(instance_ldap "$DIR" ldapsearch -LLL -b "uid=good1,$VB" -s base jpkiAllowedMethod | grep -c '^jpkiAllowedMethod')"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\nreplace: jpkiAgreementEnd\njpkiAgreementEnd: 20240101000000Z\n' "$VB" | modify)
t_match "a modify moving the end before the start is refused" "rule registry-values: jpkiAgreementEnd '20240101000000Z' is not after" "$out"
t_match "the refused write's audit record names the rule" '"result":"error: Constraint violation: rule registry-values' "$(last_change good1)"

# --- registry-terminated -------------------------------------------------------------------------
set_status() { printf 'dn: uid=%s,%s\nchangetype: modify\nreplace: jpkiVerifierStatus\njpkiVerifierStatus: %s\n' "$1" "$VB" "$2" | modify; }
t_match "active -> suspended" "modifying entry" "$(set_status good1 suspended)"
t_match "suspended -> active" "modifying entry" "$(set_status good1 active)"
t_match "active -> terminated" "modifying entry" "$(set_status good1 terminated)"
t_match "terminated -> active is refused: registry-terminated" "rule registry-terminated: .*is not reopened" "$(set_status good1 active)"
t_match "terminated -> suspended is refused" "rule registry-terminated" "$(set_status good1 suspended)"
t_eq "the entry stays terminated" terminated "$(status_of good1)"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\nreplace: mail\nmail: after@verifier.example\n' "$VB" | modify)
t_match "a terminated entry's other attributes may still change" "modifying entry" "$out"
t_match "jpki verifier refuses too" "is terminated" "$(repo_jpki_operator "$DIR" resume good1 2>&1)"

# --- registry-certificate ----------------------------------------------------------------------
out=$(cert_attrs unregistered | grep -v SHA256 | entry nohash active 20250101000000Z 20990101000000Z ocsp | add)
t_match "a certificate without its SHA-256 value is refused: registry-certificate" \
	"rule registry-certificate: userCertificate value 1 \\(subject .*\\) has no jpkiCertificateSHA256 value" "$out"
out=$(cert_attrs unregistered | grep -v Subject | entry nosubj active 20250101000000Z 20990101000000Z ocsp | add)
t_match "a certificate without its subject value is refused" "has no jpkiCertificateSubject value" "$out"
out=$( { cert_attrs unregistered | grep -v SHA256; cert_attrs signature | grep SHA256; } |
	entry wronghash active 20250101000000Z 20990101000000Z ocsp | add)
t_match "another certificate's hash is refused" "rule registry-certificate: jpkiCertificateSHA256 '[0-9a-f]{64}' is the SHA-256 of none" "$out"
out=$(printf 'jpkiCertificateSHA256: %s\n' "$(head -c 32 /dev/urandom | xxd -p -c 64)" |
	entry hashonly active 20250101000000Z 20990101000000Z ocsp | add)
t_match "a hash without any certificate is refused" "is the SHA-256 of none" "$out"
out=$(printf 'userCertificate;binary:: %s\n' "$(head -c 300 /dev/urandom | base64 -w0)" |
	entry junk active 20250101000000Z 20990101000000Z ocsp | add)
t_match "a userCertificate that is no certificate is refused" "rule registry-certificate: userCertificate value 1 is not one DER X.509 certificate|Invalid syntax" "$out"
out=$(cert_attrs unregistered | sed 's/^jpkiCertificateSHA256: \(.*\)/jpkiCertificateSHA256: \U\1/' |
	entry upper active 20250101000000Z 20990101000000Z ocsp | add)
t_match "the hash in upper case is the same hash" "adding new entry" "$out"
out=$(printf 'dn: uid=upper,%s\nchangetype: modify\nreplace: userCertificate;binary\nuserCertificate;binary:: %s\n' "$VB" \
	"$(openssl x509 -in "$PKI/verifiers/expired.pem" -outform DER | base64 -w0)" | modify)
t_match "replacing the certificate but not its hash and subject is refused" "rule registry-certificate" "$out"
t_eq "and the stored certificate is unchanged" "$(openssl x509 -in "$PKI/verifiers/unregistered.pem" -outform DER | base64 -w0)" \
	"$(instance_ldap "$DIR" ldapsearch -LLL -o ldif-wrap=no -b "uid=upper,$VB" -s base 'userCertificate;binary' | sed -n 's/^userCertificate;binary:: //p')"

# --- registry-unique -------------------------------------------------------------------------------
out=$(cert_attrs signature | entry dup active 20250101000000Z 20990101000000Z ocsp | add)
t_match "the signature verifier's certificate for another verifier is refused: registry-unique" \
	"rule registry-unique: a certificate or subject of this entry is already registered to uid=signature,$VB" "$out"
t_not "and not stored" exists dup
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\nadd: userCertificate;binary\nuserCertificate;binary:: %s\n-\nadd: jpkiCertificateSHA256\n%s\n-\nadd: jpkiCertificateSubject\n%s\n' \
	"$VB" "$(openssl x509 -in "$PKI/verifiers/group.pem" -outform DER | base64 -w0)" \
	"$(cert_attrs group | grep '^jpkiCertificateSHA256' | cut -d' ' -f2- | sed 's/^/jpkiCertificateSHA256: /')" \
	"$(cert_attrs group | grep '^jpkiCertificateSubject')" | modify)
t_match "adding another verifier's certificate by modify is refused" "rule registry-unique: .*uid=group,$VB" "$out"
out=$(printf 'dn: uid=upper,%s\nchangetype: modify\nreplace: mail\nmail: x@verifier.example\n' "$VB" | modify)
t_match "an entry holding its own certificate may be modified" "modifying entry" "$out"
# An entry made outside the registry (not checked there) and moved in.
printf 'dn: ou=Staging,%s\nobjectClass: organizationalUnit\nou: Staging\n' "$REPO_CA_DN" | instance_ldap "$DIR" ldapadd >/dev/null
cert_attrs group | entry staged active 20250101000000Z 20990101000000Z ocsp | sed "1s/,$VB/,ou=Staging,$REPO_CA_DN/" |
	instance_ldap "$DIR" ldapadd >/dev/null 2>&1
out=$(instance_ldap "$DIR" ldapmodrdn -s "$VB" "uid=staged,ou=Staging,$REPO_CA_DN" uid=staged 2>&1)
t_match "an entry moved into the registry with a registered certificate is refused" "rule registry-unique: .*uid=group,$VB" "$out"
out=$(repo_jpki_operator "$DIR" add --id again --type signature-verifier --org Again --start 2025-01-01T00:00:00Z \
	--end 2099-01-01T00:00:00Z --method ocsp --cert "$PKI/verifiers/group.pem" 2>&1)
t_match "jpki verifier add is refused with the rule" "rule registry-unique: .*uid=group,$VB" "$out"
t_not "…and nothing is written" instance_ldap "$DIR" ldapsearch -LLL -b "uid=again,$VB" -s base dn

# --- no way around the rules ------------------------------------------------------------------------
PERMISSIVE=1.2.840.113556.1.4.1413
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\nadd: mail\nmail: after@verifier.example\n-\nreplace: jpkiVerifierStatus\njpkiVerifierStatus: active\n' "$VB" |
	as_operator ldapmodify -e "$PERMISSIVE" 2>&1)
t_match "permissive modify (a value added twice) does not reopen a terminated verifier" "rule registry-terminated" "$out"
t_eq "it stays terminated" terminated "$(status_of good1)"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\ndelete: description\n-\nreplace: jpkiVerifierStatus\njpkiVerifierStatus: active\n' "$VB" |
	as_operator ldapmodify -e "$PERMISSIVE" 2>&1)
t_match "nor with a value deleted that is not there" "rule registry-terminated" "$out"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\ndelete: description\n-\nreplace: jpkiVerifierStatus\njpkiVerifierStatus: active\n' "$VB" | modify)
t_match "a modify that cannot apply gets the backend's own answer" "No such attribute" "$out"
t_eq "still terminated" terminated "$(status_of good1)"
sig_hash=$(cert_attrs signature | sed -n 's/^jpkiCertificateSHA256: //p')
out=$(as_operator ldapmodrdn "uid=suspended,$VB" "jpkiCertificateSHA256=$sig_hash" 2>&1)
t_match "a rename that adds another verifier's certificate hash is refused" "rule registry-(certificate|unique)" "$out"
t_ok "the entry keeps its name" exists suspended
out=$(as_operator ldapmodrdn "uid=suspended,$VB" "jpkiAllowedMethod=ftp" 2>&1)
t_match "a rename that adds a method 'ftp' is refused" "rule registry-values: jpkiAllowedMethod 'ftp'" "$out"
out=$(as_operator ldapmodrdn "uid=upper,$VB" "uid=upper2" 2>&1)
t_eq "a plain rename within the registry passes" "" "$out"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\nadd: jpkiVerifierStatus;lang-ja\njpkiVerifierStatus;lang-ja: terminated\n-\nreplace: jpkiVerifierStatus\njpkiVerifierStatus: active\n' "$VB" | modify)
t_match "a tagged jpkiVerifierStatus;lang-ja is refused" "rule registry-values: jpkiVerifierStatus;lang-ja: the registry's attributes take no options" "$out"
out=$(printf 'dn: uid=upper2,%s\nchangetype: modify\nadd: jpkiAgreementEnd;lang-ja\njpkiAgreementEnd;lang-ja: 20000101000000Z\n' "$VB" | modify)
t_match "so is jpkiAgreementEnd;lang-ja" "rule registry-values: jpkiAgreementEnd;lang-ja" "$out"
# A subtree moved in: its entries would enter unchecked.
printf 'dn: ou=Batch,%s\nobjectClass: organizationalUnit\nou: Batch\n\n' "$REPO_CA_DN" > "$T/batch.ldif"
entry batched active 20990101000000Z 20250101000000Z ftp </dev/null | sed "1s/,$VB/,ou=Batch,$REPO_CA_DN/" >> "$T/batch.ldif"
instance_ldap "$DIR" ldapadd -f "$T/batch.ldif" >/dev/null 2>&1
out=$(instance_ldap "$DIR" ldapmodrdn -s "$VB" "ou=Batch,$REPO_CA_DN" ou=Batch 2>&1)
t_match "a subtree is not moved into the registry" "rule registry-values: .*has entries under it" "$out"
printf 'dn: uid=upper2,%s\nchangetype: modify\nreplace: jpkiAllowedMethod\njpkiAllowedMethod: ocsp\njpkiAllowedMethod: ldap\n' "$VB" > "$T/assert.ldif"
t_ok "a write with an assertion control is checked, not failed by it" \
	as_operator ldapmodify -e 'assert=(uid=upper2)' -f "$T/assert.ldif"

out=$(instance_ldap "$DIR" ldapmodrdn "$VB" ou=VerifiersX 2>&1)
t_match "the registry's base is not renamed (its entries would move unchecked)" \
	"rule registry-values: .*is the registry's base or above it: not renamed" "$out"
out=$(instance_ldap "$DIR" ldapmodrdn "$REPO_CA_DN" ou=Elsewhere 2>&1)
t_match "nor an entry above it" "is the registry's base or above it" "$out"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\nreplace: objectClass\nobjectClass: account\nobjectClass: extensibleObject\n' "$VB" |
	as_operator ldapmodify -e relax 2>&1)
t_match "a terminated verifier does not stop being one in place (Relax control)" \
	"rule registry-values: an entry does not stop being a jpkiVerifier in place" "$out"
out=$(printf 'dn: uid=good1,%s\nchangetype: modify\nreplace: jpkiAllowedMethod\njpkiAllowedMethod: ocsp\n' "$VB" |
	as_operator ldapmodify -E txn=commit 2>&1)
t_match "a registry write in an LDAP transaction is refused (it would deadlock under the lock)" \
	"unwilling to perform" "$(tr 'A-Z' 'a-z' <<<"$out")"
# The signature verifier may write nothing: adding the group verifier's certificate to its own
# entry is refused by the backend, before any check could say who holds it.
out=$(printf 'dn: uid=signature,%s\nchangetype: modify\nadd: userCertificate;binary\nuserCertificate;binary:: %s\n-\nadd: jpkiCertificateSHA256\n%s\n-\nadd: jpkiCertificateSubject\n%s\n' \
	"$VB" "$(openssl x509 -in "$PKI/verifiers/group.pem" -outform DER | base64 -w0)" \
	"$(cert_attrs group | grep '^jpkiCertificateSHA256')" "$(cert_attrs group | grep '^jpkiCertificateSubject')" |
	ldapmodify -x -H "$INSTANCE_URI" -D "uid=signature,$VB" -y "$DIR/secrets/verifier-signature.pw" 2>&1)
t_match "an identity that may not write gets insufficient access" "Insufficient access" "$out"
t_not "and learns nothing of who holds a certificate" grep -q "uid=group" <<<"$out"

# --- the registry still works -------------------------------------------------------------------------
t_eq "the signature verifier still reads" 1 "$(ldapsearch -x -H "$INSTANCE_URI" -D "uid=signature,$VB" -y "$DIR/secrets/verifier-signature.pw" \
	-LLL -b "cn=121002,ou=CRL Distribution Points,$REPO_CA_DN" -s base dn 2>/dev/null | grep -c '^dn:')"
t_ok "the audit trail verifies" "$JPKI" audit verify --dir "$DIR/audit"

instance_stop "$DIR" >/dev/null
t_done
