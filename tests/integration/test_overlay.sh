#!/usr/bin/env bash
# The jpkirepo overlay in Debian's slapd: a valid publication lands and verifies with
# openssl; each rule (a)-(i), a wrong writer and an untrusted CA certificate are refused
# with a diagnostic naming the rule, and the stored CRL stays byte-identical; a restart
# keeps everything and the rules still hold against what is stored.
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
JPKI=$JPKI_BUILDDIR/tools/jpki
BADCRL=$JPKI_BUILDDIR/tests/tools/jpki-badcrl
TESTPKI=$JPKI_BUILDDIR/tests/pki/jpki-testpki
P1="cn=121002,ou=CRL Distribution Points,$REPO_CA_DN"
P2="cn=122025,ou=CRL Distribution Points,$REPO_CA_DN"
GEN1_KEY=$(cat "$PKI/ca/gen1.key.uri")
GEN2_KEY=$(cat "$PKI/ca/gen2.key.uri")

# A small cap so that rule (i) can be shown with a CRL of a few thousand entries. The
# operator may also delete and rename the partition entries and delete (=z, not add) their
# parent's children (rule entry-kept, at the end).
ACL_DELETERS=$(cat <<EOF
access to dn.onelevel="ou=CRL Distribution Points,$REPO_CA_DN" attrs=entry
	by dn.exact="$REPO_OPERATOR_DN" write
	by * break
access to dn.base="ou=CRL Distribution Points,$REPO_CA_DN" attrs=children
	by dn.exact="$REPO_OPERATOR_DN" =z
	by * break
EOF
)
INSTANCE_ACL="$ACL_DELETERS"$'\n'"$(repo_acl)" REPO_OVERLAY_EXTRA="jpkirepo-max-size 200000" repo_init "$DIR" "$PKI" ||
	{ t_fail "repository starts"; t_done; exit 1; }
eval "$(instance_env "$DIR")"

# The stored CRL values of an entry, as raw bytes (ldapsearch -t writes one file a value).
stored() {
	local dn=$1 attr=${2:-certificateRevocationList;binary} d
	d=$(mktemp -d "$T/get.XXXXXX")
	instance_ldap "$DIR" ldapsearch -LLL -t -T "$d" -b "$dn" -s base "$attr" >/dev/null 2>&1
	# One digest per value, sorted: ldapsearch names its files at random.
	sha256sum "$d"/ldapsearch-* 2>/dev/null | cut -d' ' -f1 | sort | sha256sum | cut -d' ' -f1
}
# ldapmodify as IDENTITY replacing ATTR of DN with FILE's bytes; prints the diagnostic.
put() {
	local svc=$1 dn=$2 attr=$3 file=$4
	printf 'dn: %s\nchangetype: modify\nreplace: %s\n%s:< file://%s\n' "$dn" "$attr" "$attr" "$file" |
		repo_ldap_as "$DIR" "$svc" ldapmodify 2>&1
}
# refused NAME EXPECTED-REGEX DN FILE [IDENTITY]: refused with that text, stored bytes unchanged.
refused() {
	local name=$1 re=$2 dn=$3 file=$4 svc=${5:-publisher} before after out
	before=$(stored "$dn")
	out=$(put "$svc" "$dn" "certificateRevocationList;binary" "$file")
	t_match "$name: refused with its rule" "$re" "$out"
	after=$(stored "$dn")
	t_eq "$name: stored CRL byte-identical" "$before" "$after"
}

t_ok "CA certificates of both generations and the cross pairs are accepted" repo_publish_ca "$DIR" "$PKI"

# --- a valid publication lands ------------------------------------------------------------
t_ok "generation 1 CRLs and ARL are issued" repo_issue "$DIR" "$PKI" gen1 "$T/g1" --crl-number 100
t_ok "generation 2 CRLs and ARL are issued" repo_issue "$DIR" "$PKI" gen2 "$T/g2" --crl-number 100
out=$(repo_publish "$DIR" publisher "$T/g1" "$T/g2")
t_match "all 55 entries accepted" "55 entries accepted, 0 refused" "$out"

d=$(mktemp -d "$T/v.XXXXXX")
instance_ldap "$DIR" ldapsearch -LLL -t -T "$d" -b "$P1" -s base "certificateRevocationList;binary" >/dev/null
t_eq "partition holds one CRL per generation" 2 "$(ls "$d"/ldapsearch-* | wc -l)"
ok=0
for f in "$d"/ldapsearch-*; do
	# Both generations have one name, and openssl picks an issuer by name: try each.
	for g in gen1 gen2; do
		openssl crl -inform DER -in "$f" -noout -CAfile "$PKI/ca/$g.pem" 2>&1 | grep -q "verify OK" &&
			{ ok=$((ok + 1)); break; }
	done
	cmp -s "$f" "$T/g1/121002.crl" || cmp -s "$f" "$T/g2/121002.crl" || ok=-99
done
t_eq "openssl crl -verify accepts both CRLs read back, byte-identical to the files" 2 "$ok"
instance_ldap "$DIR" ldapsearch -LLL -t -T "$d" -b "$REPO_CA_DN" -s base "authorityRevocationList;binary" >/dev/null
t_ok "the ARL is stored in the CA entry" test -n "$(stored "$REPO_CA_DN" "authorityRevocationList;binary")"

# --- each rule refused, nothing lost -------------------------------------------------------
head -c 3000 /dev/urandom > "$T/garbage"
# slapd's own syntax check (certificateList) may refuse bytes before the overlay sees them.
refused "(a) not a CRL" "rule \(a\) format|invalid per syntax" "$P1" "$T/garbage"
cat "$T/g1/121002.crl" "$T/g1/121002.crl" > "$T/two"
refused "(a) two CRLs in one value" "rule \(a\) format" "$P1" "$T/two"

SOFTHSM2_CONF=$PKI/softhsm2.conf $BADCRL --ca-cert "$PKI/bridge/bridge.pem" --ca-key "$(cat "$PKI/bridge/key.uri")" \
	--dp "$P1" --number 1000 --out "$T/bridge.crl"
refused "(b) signed by the bridge CA" "rule \(b\) signature" "$P1" "$T/bridge.crl"

"$TESTPKI" cert --profile ca --issuer-key "$GEN1_KEY" --subject-key "$GEN1_KEY" \
	--subject "OU=Someone Else,O=JPKI,C=JP" --serial 7E57 --days 30 --out "$T/othername.pem" >/dev/null 2>&1
$BADCRL --ca-cert "$T/othername.pem" --ca-key "$GEN1_KEY" --dp "$P1" --number 1000 --out "$T/othername.crl"
refused "(c) trusted key, another issuer name" "rule \(c\) issuer" "$P1" "$T/othername.crl"

refused "(d) another partition's CRL" "rule \(d\) partition" "$P2" "$T/g1/121002.crl"
refused "(d) a partition CRL written to the CA entry" "rule \(d\) partition" "$REPO_CA_DN" "$T/g1/121002.crl"
$BADCRL --ca-cert "$PKI/ca/gen1.pem" --ca-key "$GEN1_KEY" --dp "$P1" --arl --number 1000 --out "$T/onlyca.crl"
refused "(d) partition CRL saying onlyContainsCACerts" "rule \(d\) partition" "$P1" "$T/onlyca.crl"

# Both stored CRLs of the partition go back in the replace; only the gen1 one is older.
repo_issue "$DIR" "$PKI" gen1 "$T/old" --crl-number 99 >/dev/null
out=$(repo_publish "$DIR" publisher "$T/old/121002.crl" "$T/g2/121002.crl")
t_match "(e) lower cRLNumber refused" "rule \(e\) crl-number: cRLNumber 99 is not greater than the stored 100" "$out"
# A minute later, so that it is not byte-identical to the stored one (which is no write at all).
repo_issue "$DIR" "$PKI" gen1 "$T/same" --crl-number 100 --this-update "$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
out=$(repo_publish "$DIR" publisher "$T/same/121002.crl" "$T/g2/121002.crl")
t_match "(e) equal cRLNumber refused" "rule \(e\) crl-number" "$out"
out=$(repo_publish "$DIR" publisher "$T/g1/121002.crl" "$T/g2/121002.crl")
t_match "republishing the stored CRLs is accepted (idempotent)" "1 entry accepted" "$out"

future=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
repo_issue "$DIR" "$PKI" gen1 "$T/future" --crl-number 200 --this-update "$future" >/dev/null
refused "(f) thisUpdate in the future" "rule \(f\) this-update: thisUpdate .* in the future" "$P1" "$T/future/121002.crl"
past=$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)
repo_issue "$DIR" "$PKI" gen1 "$T/past" --crl-number 201 --this-update "$past" >/dev/null
out=$(repo_publish "$DIR" publisher "$T/past/121002.crl" "$T/g2/121002.crl")
t_match "(f) thisUpdate older than the stored one" "rule \(f\) this-update: thisUpdate .* is older" "$out"

repo_issue "$DIR" "$PKI" gen1 "$T/long" --crl-number 202 --validity 96h >/dev/null
refused "(g) validity longer than 72 h" "rule \(g\) validity: nextUpdate - thisUpdate is 345600 s; the maximum is 259200 s" \
	"$P1" "$T/long/121002.crl"
$BADCRL --ca-cert "$PKI/ca/gen1.pem" --ca-key "$GEN1_KEY" --dp "$P1" --number 203 \
	--this-update "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)" --validity 3600 --out "$T/expired.crl"
refused "(g) already expired" "rule \(g\) validity: the CRL expired" "$P1" "$T/expired.crl"

$BADCRL --ca-cert "$PKI/ca/gen1.pem" --ca-key "$GEN1_KEY" --dp "$P1" --number 204 \
	--entry 10:1 --entry 11:6 --out "$T/hold.crl"
refused "(h) certificateHold" "rule \(h\) reasons: entry 2 \(serial 17\) has reason 6" "$P1" "$T/hold.crl"
$BADCRL --ca-cert "$PKI/ca/gen1.pem" --ca-key "$GEN1_KEY" --dp "$P1" --number 205 \
	--entry 10:8 --out "$T/remove.crl"
refused "(h) removeFromCRL" "rule \(h\) reasons" "$P1" "$T/remove.crl"
# Serials the CA cannot have issued (RFC 5280 4.1.2.2): negative, longer than 20 octets.
$BADCRL --ca-cert "$PKI/ca/gen1.pem" --ca-key "$GEN1_KEY" --dp "$P1" --number 206 \
	--entry 10:1 --entry -77:1 --out "$T/negative.crl"
refused "(a) a negative serial" "rule \(a\) format: entry 2: serial number negative" "$P1" "$T/negative.crl"
$BADCRL --ca-cert "$PKI/ca/gen1.pem" --ca-key "$GEN1_KEY" --dp "$P1" --number 207 \
	--entry 01ABABABABABABABABABABABABABABABABABABABAB:1 --out "$T/long-serial.crl"
refused "(a) a 21-octet serial" "rule \(a\) format: entry 1: serial number too long" "$P1" "$T/long-serial.crl"

# A ledger of 6,000 revocations makes a CRL above the 200,000-byte cap of this instance.
{
	echo "serial,revocation_time,reason,municipality"
	for i in $(seq 1 6000); do printf '%X,2026-01-01T00:00:00Z,1,121002\n' $((0x100000 + i)); done
} > "$T/big.csv"
mkdir -p "$T/big"
SOFTHSM2_CONF=$PKI/softhsm2.conf "$JPKI" crl issue --ca-cert "$PKI/ca/gen1.pem" --ca-key "$GEN1_KEY" \
	--ledger "$T/big.csv" --crl-number 206 --out "$T/big" >/dev/null
refused "(i) over the size cap" "rule \(i\) size: CRL is [0-9]+ bytes; the configured cap is 200000" "$P1" "$T/big/121002.crl"

repo_issue "$DIR" "$PKI" gen1 "$T/next" --crl-number 300 >/dev/null
refused "a CRL written by the operator" "Insufficient access.*rule writer: only the configured publisher" \
	"$P1" "$T/next/121002.crl" operator
out=$(printf 'dn: %s\nchangetype: modify\nreplace: certificateRevocationList;binary\ncertificateRevocationList;binary:< file://%s\n' \
	"$P1" "$T/next/121002.crl" | ldapmodify -x -H "$INSTANCE_URI" 2>&1)
t_match "an anonymous write is refused" "Insufficient access|Strong.*required|Inappropriate" "$out"
before=$(stored "$P1")
out=$(printf 'dn: %s\nchangetype: modify\nreplace: certificateRevocationList;binary\ncertificateRevocationList;binary:< file://%s\n' \
	"$P1" "$T/next/121002.crl" | repo_ldap_as "$DIR" publisher ldapmodify -E txn=commit 2>&1)
# ldapmodify prints the transaction's end, not the refused operation's text.
t_match "a valid CRL written in an LDAP transaction is refused" "unwilling to perform" "$(tr 'A-Z' 'a-z' <<<"$out")"
t_eq "a CRL refused in a transaction: stored CRL byte-identical" "$before" "$(stored "$P1")"

# The CA entry cannot be given a key that no trusted key vouches for.
openssl x509 -in "$PKI/bridge/bridge.pem" -outform DER -out "$T/bridge.der"
before=$(stored "$REPO_CA_DN" "cACertificate;binary")
out=$(put publisher "$REPO_CA_DN" "cACertificate;binary" "$T/bridge.der")
t_match "cACertificate not signed by a trusted key is refused" "rule ca-certificate: certificate 1 .* is not signed by a trusted CA key" "$out"
openssl x509 -in "$PKI/ca/gen2.pem" -outform DER -out "$T/gen2.der"
out=$(put publisher "$REPO_CA_DN" "cACertificate;binary" "$T/gen2.der")
t_match "generation 2 without its link certificate is refused" "rule ca-certificate" "$out"
t_eq "cACertificate unchanged after refusals" "$before" "$(stored "$REPO_CA_DN" "cACertificate;binary")"

# --- a newer CRL is accepted, and a restart keeps everything ---------------------------------
out=$(repo_publish "$DIR" publisher "$T/next/121002.crl" "$T/g2/121002.crl")
t_match "a newer generation 1 CRL beside the stored generation 2 one is accepted" "1 entry accepted" "$out"
before_p1=$(stored "$P1")
before_ca=$(stored "$REPO_CA_DN" "cACertificate;binary")
instance_stop "$DIR"
t_ok "slapd restarts" instance_start "$DIR"
t_eq "partition CRLs survive the restart" "$before_p1" "$(stored "$P1")"
t_eq "CA certificates survive the restart" "$before_ca" "$(stored "$REPO_CA_DN" "cACertificate;binary")"
out=$(repo_publish "$DIR" publisher "$T/g1/121002.crl" "$T/g2/121002.crl")
t_match "after the restart, rule (e) still compares with the stored CRL" "rule \(e\) crl-number: cRLNumber 100 is not greater than the stored 300" "$out"
repo_issue "$DIR" "$PKI" gen2 "$T/g2next" --crl-number 301 >/dev/null
out=$(repo_publish "$DIR" publisher "$T/next/121002.crl" "$T/g2next/121002.crl")
t_match "after the restart, generation 2 (trusted through the stored link) is still accepted" "1 entry accepted" "$out"

# An entry holding a CRL or CA certificates is neither deleted nor renamed, not even by the
# rootdn: its CRL names it (rule (d)), and its revocations would vanish.
before=$(stored "$P1")
out=$(instance_ldap "$DIR" ldapdelete "$P1" 2>&1)
t_match "deleting a partition entry holding a CRL is refused, naming the rule" "rule entry-kept: .*not deleted" "$out"
t_eq "the entry and its CRL stay" "$before" "$(stored "$P1")"
out=$(instance_ldap "$DIR" ldapmodrdn -r "$P1" "cn=999999" 2>&1)
t_match "renaming it is refused" "rule entry-kept: .*not renamed" "$out"
# A rename moves the entries under the one renamed: not above a partition holding a CRL. The
# search for them is the overlay's own, below it: no read of a CRL is recorded for it.
reads() { cat "$DIR"/audit/slapd-*.jsonl | grep -c '"event":"crl-read"'; }
reads_before=$(reads)
out=$(instance_ldap "$DIR" ldapmodrdn -r "ou=CRL Distribution Points,$REPO_CA_DN" "ou=X" 2>&1)
reads_after=$(reads)
t_match "renaming the partitions' parent is refused" \
	"rule entry-kept: ou=CRL Distribution Points,.* holds, or has entries under it that hold, a CRL.*not renamed" "$out"
t_eq "the CRL is still under its own name" "$before" "$(stored "$P1")"
t_eq "... and the search of its subtree is recorded as no read" "$reads_before" "$reads_after"
spare=$(spare_partition "$DIR")
# The backend decides, as a No-Op, whether it would have deleted (renamed) such an entry:
# whoever it refuses gets its answer, the same for a partition with a CRL as without, and
# learns nothing; only one it would let through is told rule entry-kept. Bound identities
# only: to anonymous, slapd's frontend answers before the overlay sees the request. The
# replicator and the responder only read. The operator may delete the partitions, but not
# add to their parent (a rename in place needs that), nor write their cn (a rename given
# the parent as newSuperior needs that, after the parent's delete right, which it has).
renames=(rename rename-s)
for who in replicator responder operator; do
	bind=(-x -D "cn=$who,$REPO_SERVICES_DN" -y "$DIR/secrets/$who.pw")
	ops=(delete "${renames[@]}")
	[ "$who" = operator ] && ops=("${renames[@]}")
	for op in "${ops[@]}"; do
		answer() {
			case $op in
			delete) ldapdelete "${bind[@]}" -H "$(repo_uri "$DIR")" "$1" ;;
			rename) ldapmodrdn "${bind[@]}" -H "$(repo_uri "$DIR")" -r "$1" "cn=999998" ;;
			rename-s) ldapmodrdn "${bind[@]}" -H "$(repo_uri "$DIR")" -r -s "ou=CRL Distribution Points,$REPO_CA_DN" "$1" "cn=999998" ;;
			esac 2>&1
		}
		with=$(answer "$P1")
		t_match "$who: $op of a partition holding a CRL: the backend's refusal, not rule entry-kept" \
			"Insufficient access \\(50\\)" "$with"
		t_eq "$who: ... the same answer as for a partition without one" "$(answer "$spare")" "$with"
	done
done
t_match "the operator, whom the ACLs let delete a partition, is told rule entry-kept" \
	"rule entry-kept: .*not deleted" "$(repo_ldap_as "$DIR" operator ldapdelete "$P1" 2>&1)"
t_eq "the CRL is still there" "$before" "$(stored "$P1")"
out=$(instance_ldap "$DIR" ldapmodrdn "$REPO_CA_DN" "ou=Chiba" 2>&1)
t_match "renaming the CA entry is refused (the registry under it, first)" "rule (registry-values|entry-kept)" "$out"
t_eq "the CA entry is still there, its CA certificates with it" "$before_ca" "$(stored "$REPO_CA_DN" "cACertificate;binary")"
# In an LDAP transaction back-mdb does not honour the No-Op: nothing under the CA entry is
# deleted there, whether it holds a CRL or not (ldapmodify prints the transaction's end).
for dn in "$P1" "$spare"; do
	out=$(printf 'dn: %s\nchangetype: delete\n' "$dn" | instance_ldap "$DIR" ldapmodify -E txn=commit 2>&1)
	t_match "a delete in an LDAP transaction under the CA entry is refused (${dn%%,*})" "unwilling to perform" \
		"$(tr 'A-Z' 'a-z' <<<"$out")"
	t_match "... recorded with rule no-transaction" \
		"\"result\":\"refused: rule no-transaction: ${dn}: the CA entry, the entries under it and those above it are not deleted" \
		"$(grep '"event":"crl-publish"' "$DIR"/audit/slapd-*.jsonl | tail -1)"
done
t_eq "... the partition and its CRL stay" "$before" "$(stored "$P1")"
other="ou=Other,$REPO_SUFFIX"
printf 'dn: %s\nobjectClass: organizationalUnit\nou: Other\n' "$other" | instance_ldap "$DIR" ldapadd >/dev/null 2>&1
out=$(printf 'dn: %s\nchangetype: delete\n' "$other" | instance_ldap "$DIR" ldapmodify -E txn=commit 2>&1)
t_not "a delete in a transaction beside the CA entry is carried out" instance_ldap "$DIR" ldapsearch -LLL -b "$other" -s base dn
t_ok "an entry without a CRL is still deleted" instance_ldap "$DIR" ldapdelete "$spare"

# Rule entry-kept relies on back-mdb's No-Op: on another backend (back-ldif here, the same
# configuration otherwise) the overlay does not open.
mkdir -p "$T/ldif"
sed -e 's/^database mdb$/database ldif/' -e '/^maxsize /d' -e '/^index /d' -e "s|^directory .*|directory $T/ldif|" \
	-e '/^overlay syncprov/d' -e '/^syncprov-/d' "$DIR/conf/slapd.conf" > "$T/ldif.conf"
out=$(slaptest -f "$T/ldif.conf" 2>&1) && rc=0 || rc=$?
t_match "the overlay on a back-ldif database does not open, naming why" \
	"jpkirepo: the database must be back-mdb \\(this one is ldif\\).* rc=1" "$(tr '\n' ' ' <<<"$out") rc=$rc"

t_done
