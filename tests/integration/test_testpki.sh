#!/usr/bin/env bash
# The test PKI (scripts/lib/testpki.sh) made from scratch in a temporary directory is what the
# CPS describes: key sizes, lifetimes, policies, extended key usages, the partition as CRL
# distribution point, link certificates both ways, the cross pairs, the revocation ledgers;
# and no CA, bridge, responder or user private key exists outside the token.
# Environment: JPKI_SRCDIR (source tree), JPKI_BUILDDIR (build with tests/pki/jpki-testpki).
set -u
. "$(dirname "$0")/../lib/assert.sh"

TESTPKI=$JPKI_BUILDDIR/tests/pki/jpki-testpki
MODULE=${JPKI_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
T=$(t_tmpdir)
PKI=$T/pki

# --- making it, once and idempotently -----------------------------------------------------

if ! out=$("$JPKI_SRCDIR/scripts/lib/testpki.sh" "$PKI" "$JPKI_BUILDDIR" 2>&1); then
	t_fail "testpki.sh makes the PKI" "$out"
	t_done
	exit 1
fi
t_pass "testpki.sh makes the PKI"
echo "    ${out##*$'\n'}"
t_ok "PKI_DIR/.complete written" test -f "$PKI/.complete"
before=$(find "$PKI" -type f ! -path "$PKI/tokens/*" -exec sha1sum {} + | sort)
t_ok "a second run succeeds" "$JPKI_SRCDIR/scripts/lib/testpki.sh" "$PKI" "$JPKI_BUILDDIR"
t_eq "a second run changes nothing" "$before" \
	"$(find "$PKI" -type f ! -path "$PKI/tokens/*" -exec sha1sum {} + | sort)"

export SOFTHSM2_CONF=$PKI/softhsm2.conf

# --- helpers ------------------------------------------------------------------------------

x() { openssl x509 -in "$1" -noout -text -nameopt utf8; }
days() {
	echo $(( ($(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s) - \
		$(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)) / 86400 ))
}
age_days() {
	echo $(( ($(date +%s) - \
		$(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)) / 86400 ))
}
pub() { openssl x509 -in "$1" -noout -pubkey; }
subj() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
iss() { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//'; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
ski() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' '; }
aki() { openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | sed -n 2p | tr -d ' ' |
	sed 's/^keyid://'; }
bits() { x "$1" | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p'; }

# --- layout -------------------------------------------------------------------------------

missing=
for f in softhsm2.conf pin ca/gen1.pem ca/gen2.pem ca/gen1.key.uri ca/gen2.key.uri \
	ca/link-new-with-old.pem ca/link-old-with-new.pem ca/all.pem bridge/bridge.pem \
	bridge/key.uri bridge/cross-to-ca-gen1.pem bridge/cross-to-ca-gen2.pem \
	bridge/cross-from-ca-gen1.pem bridge/cross-from-ca-gen2.pem bridge/crosspair-gen1.der \
	bridge/crosspair-gen2.der ocsp/responder.pem ocsp/key.uri ledger/gen1.csv ledger/gen2.csv \
	ledger/arl-gen1.csv ledger/arl-gen2.csv verifiers/ca.pem tls/ca.pem tls/server.pem \
	tls/server.key verifiers/{signature,group,suspended,expired,unregistered}.{pem,key}; do
	[ -s "$PKI/$f" ] || missing+=" $f"
done
t_eq "every file of the layout is there" "" "$missing"
t_eq "PIN file mode 600" 600 "$(stat -c %a "$PKI/pin")"
t_eq "ca/all.pem is gen1 then gen2" "$(cat "$PKI/ca/gen1.pem" "$PKI/ca/gen2.pem")" "$(cat "$PKI/ca/all.pem")"

# --- the CA: two generations --------------------------------------------------------------

for g in 1 2; do
	c=$PKI/ca/gen$g.pem
	ct=$(x "$c")
	t_eq "gen$g: RSA-2048" 2048 "$(bits "$c")"
	t_match "gen$g: basicConstraints critical CA:TRUE" "Basic Constraints: critical[[:space:]]+CA:TRUE" "$ct"
	t_match "gen$g: keyUsage critical keyCertSign, cRLSign" "Key Usage: critical[[:space:]]+Certificate Sign, CRL Sign" "$ct"
	t_eq "gen$g: self-signed, valid 10 years" 3650 "$(days "$c")"
	t_eq "gen$g: AKI is its own SKI" "$(ski "$c")" "$(aki "$c")"
	t_ok "gen$g: verifies as a self-signed root" openssl verify -CAfile "$c" "$c"
	t_match "gen$g: sha256WithRSAEncryption" "Signature Algorithm: sha256WithRSAEncryption" "$ct"
done
t_match "CA name carries the governor's title" "千葉県知事" "$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -subject -nameopt utf8)"
t_eq "the generations share one name" "$(subj "$PKI/ca/gen1.pem")" "$(subj "$PKI/ca/gen2.pem")"
t_not "the generations have different keys" test "$(pub "$PKI/ca/gen1.pem")" = "$(pub "$PKI/ca/gen2.pem")"
a1=$(age_days "$PKI/ca/gen1.pem"); a2=$(age_days "$PKI/ca/gen2.pem")
t_ok "gen1 began about 4 years ago ($a1 days)" test "$a1" -ge 1400 -a "$a1" -le 1500
t_ok "gen2 began about 30 days ago ($a2 days)" test "$a2" -ge 25 -a "$a2" -le 35

# --- link certificates (CPS 4-13, 7-1-4) --------------------------------------------------

nwo=$PKI/ca/link-new-with-old.pem
own=$PKI/ca/link-old-with-new.pem
t_ok "NewWithOld verifies under gen1" openssl verify -partial_chain -CAfile "$PKI/ca/gen1.pem" "$nwo"
t_not "NewWithOld does not verify under gen2" openssl verify -partial_chain -CAfile "$PKI/ca/gen2.pem" "$nwo"
t_ok "OldWithNew verifies under gen2" openssl verify -partial_chain -CAfile "$PKI/ca/gen2.pem" "$own"
t_not "OldWithNew does not verify under gen1" openssl verify -partial_chain -CAfile "$PKI/ca/gen1.pem" "$own"
t_eq "NewWithOld carries gen2's key" "$(pub "$PKI/ca/gen2.pem")" "$(pub "$nwo")"
t_eq "OldWithNew carries gen1's key" "$(pub "$PKI/ca/gen1.pem")" "$(pub "$own")"
for l in "$nwo" "$own"; do
	n=$(basename "$l" .pem)
	t_eq "$n: subject and issuer are the CA's name" "$(subj "$PKI/ca/gen1.pem") $(subj "$PKI/ca/gen1.pem")" \
		"$(subj "$l") $(iss "$l")"
	t_match "$n: CA:TRUE" "Basic Constraints: critical[[:space:]]+CA:TRUE" "$(x "$l")"
	t_eq "$n: ends with gen1's self-signed certificate" \
		"$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -enddate)" "$(openssl x509 -in "$l" -noout -enddate)"
done
t_eq "NewWithOld: SKI of gen2, AKI of gen1" "$(ski "$PKI/ca/gen2.pem") $(ski "$PKI/ca/gen1.pem")" "$(ski "$nwo") $(aki "$nwo")"
t_eq "OldWithNew: SKI of gen1, AKI of gen2" "$(ski "$PKI/ca/gen1.pem") $(ski "$PKI/ca/gen2.pem")" "$(ski "$own") $(aki "$own")"
t_eq "NewWithOld starts with gen2" "$(openssl x509 -in "$PKI/ca/gen2.pem" -noout -startdate)" "$(openssl x509 -in "$nwo" -noout -startdate)"
t_eq "OldWithNew starts with gen1" "$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -startdate)" "$(openssl x509 -in "$own" -noout -startdate)"

# --- bridge and cross-certificates --------------------------------------------------------

t_match "bridge is 個人認証BCA" "個人認証BCA" "$(openssl x509 -in "$PKI/bridge/bridge.pem" -noout -subject -nameopt utf8)"
for g in 1 2; do
	to=$PKI/bridge/cross-to-ca-gen$g.pem
	from=$PKI/bridge/cross-from-ca-gen$g.pem
	t_ok "cross-to-ca-gen$g verifies under the bridge" openssl verify -partial_chain -CAfile "$PKI/bridge/bridge.pem" "$to"
	t_ok "cross-from-ca-gen$g verifies under gen$g" openssl verify -partial_chain -CAfile "$PKI/ca/gen$g.pem" "$from"
	t_eq "cross-to-ca-gen$g carries gen$g's key" "$(pub "$PKI/ca/gen$g.pem")" "$(pub "$to")"
	t_eq "cross-from-ca-gen$g carries the bridge's key" "$(pub "$PKI/bridge/bridge.pem")" "$(pub "$from")"
	t_eq "cross certificates gen$g: 5 years" "1825 1825" "$(days "$to") $(days "$from")"
	t_match "cross-to-ca-gen$g: CA:TRUE" "Basic Constraints: critical[[:space:]]+CA:TRUE" "$(x "$to")"
	pair=$PKI/bridge/crosspair-gen$g.der
	parsed=$(openssl asn1parse -inform DER -in "$pair" -i 2>&1)
	t_match "crosspair-gen$g parses: SEQUENCE { [0] cert, [1] cert }" \
		"^ *0:d=0 .*SEQUENCE.*d=1 .*cont \[ 0 \].*d=2 .*SEQUENCE.*d=1 .*cont \[ 1 \].*d=2 .*SEQUENCE" \
		"$(tr '\n' ' ' <<<"$parsed")"
	# The contents of [0] and [1] are the forward (to the CA) and reverse (from it) certificates.
	# (offsets of the certificates: the lines after the two tags)
	off0=$(awk -F: '/d=1 .*cont \[ 0 \]/ { getline; print $1 + 0 }' <<<"$parsed")
	off1=$(awk -F: '/d=1 .*cont \[ 1 \]/ { getline; print $1 + 0 }' <<<"$parsed")
	openssl asn1parse -inform DER -in "$pair" -strparse "$off0" -noout -out "$T/fwd$g.der" 2>/dev/null
	openssl asn1parse -inform DER -in "$pair" -strparse "$off1" -noout -out "$T/rev$g.der" 2>/dev/null
	t_eq "crosspair-gen$g: forward is cross-to-ca-gen$g" \
		"$(openssl x509 -in "$to" -outform DER | sha1sum)" "$(sha1sum < "$T/fwd$g.der")"
	t_eq "crosspair-gen$g: reverse is cross-from-ca-gen$g" \
		"$(openssl x509 -in "$from" -outform DER | sha1sum)" "$(sha1sum < "$T/rev$g.der")"
done

# --- OCSP responder -----------------------------------------------------------------------

oc=$PKI/ocsp/responder.pem
ot=$(x "$oc")
t_match "responder: id-kp-OCSPSigning" "Extended Key Usage:[[:space:]]+OCSP Signing" "$ot"
t_match "responder: id-pkix-ocsp-nocheck" "OCSP No Check" "$ot"
t_match "responder: test policy .0.300" "Policy: 1.2.392.200149.8.5.1.0.300" "$ot"
t_match "responder: keyUsage digitalSignature" "Key Usage: critical[[:space:]]+Digital Signature" "$ot"
t_eq "responder: RSA-2048, 1 year" "2048 365" "$(bits "$oc") $(days "$oc")"
t_ok "responder: issued by gen2" openssl verify -CAfile "$PKI/ca/gen2.pem" "$oc"

# --- users --------------------------------------------------------------------------------

shopt -s nullglob
users=("$PKI"/users/good/*.pem "$PKI"/users/revoked/*/*.pem)
bad_bits='' bad_policy='' bad_ku='' bad_dp='' bad_san='' bad_days='' bad_name='' codes=''
for u in "${users[@]}"; do
	b=$(basename "$u" .pem)
	code=$(cut -d- -f2 <<<"$b")
	codes+="$code"$'\n'
	ut=$(x "$u")
	[ "$(bits "$u")" = 1024 ] || bad_bits+=" $b"
	[[ $ut =~ Policy:\ 1\.2\.392\.200149\.8\.5\.1\.0\.10($|[[:space:]]) ]] || bad_policy+=" $b"
	[[ $ut =~ Key\ Usage:\ critical[[:space:]]+Digital\ Signature,\ Non\ Repudiation ]] || bad_ku+=" $b"
	[[ $ut =~ DirName:C\ =\ JP,\ O\ =\ JPKI,\ OU\ =\ Chiba-ken,\ OU\ =\ CRL\ Distribution\ Points,\ CN\ =\ $code($|[[:space:]]) ]] || bad_dp+=" $b"
	[[ $(tr '\n' ' ' <<<"$ut") =~ othername:\ 1\.2\.392\.200149\.8\.5\.5\.1::[^,]+,.*1\.2\.392\.200149\.8\.5\.5\.3::[0-9]{8},.*1\.2\.392\.200149\.8\.5\.5\.4::[^,]+,.*1\.2\.392\.200149\.8\.5\.5\.5::. ]] || bad_san+=" $b"
	[ "$(days "$u")" = 1095 ] || bad_days+=" $b"
	[[ $b =~ ^gen[12]-[0-9]{6}-[0-9]{4}$ ]] || bad_name+=" $b"
done
t_ok "68 user certificates or more (${#users[@]})" test "${#users[@]}" -ge 68
t_eq "users: file names genN-CODE-NNNN" "" "$bad_name"
t_eq "users: RSA-1024 (CPS 6-1-1-2)" "" "$bad_bits"
t_eq "users: test policy 1.2.392.200149.8.5.1.0.10" "" "$bad_policy"
t_eq "users: keyUsage critical digitalSignature, nonRepudiation" "" "$bad_ku"
t_eq "users: CRL DP is their municipality's partition (directoryName)" "" "$bad_dp"
t_eq "users: name, birth date, gender, address in subjectAltName" "" "$bad_san"
t_eq "users: valid 3 years" "" "$bad_days"
t_match "users: CRL DP also names an ldap URI" "URI:ldap:///cn=[0-9]{6},ou=CRL%20Distribution%20Points" "$(x "${users[0]}")"
ncodes=$(sort -u <<<"$codes" | grep -c .)
t_ok "users spread over 12 municipalities or more ($ncodes)" test "$ncodes" -ge 12
t_ok "users of 121002 (千葉市)" grep -qx 121002 <<<"$codes"
bad_code=
for c in $(sort -u <<<"$codes"); do
	grep -q "^$c"$'\t' "$JPKI_SRCDIR/data/municipalities.tsv" || bad_code+=" $c"
done
t_eq "users' codes come from data/municipalities.tsv" "" "$bad_code"
for g in 1 2; do
	t_ok "gen$g users verify under gen$g" openssl verify -CAfile "$PKI/ca/gen$g.pem" \
		"$PKI"/users/good/gen$g-*.pem "$PKI"/users/revoked/*/gen$g-*.pem
	t_not "gen$g users do not verify under the other generation" openssl verify \
		-CAfile "$PKI/ca/gen$((3 - g)).pem" "$PKI"/users/good/gen$g-*.pem
	for r in keyCompromise cACompromise affiliationChanged superseded cessationOfOperation; do
		n=$(find "$PKI/users/revoked/$r" -name "gen$g-*.pem" | wc -l)
		t_ok "revoked/$r: gen$g users ($n)" test "$n" -ge 1
	done
done

# --- ledgers ------------------------------------------------------------------------------

header='serial,revocation_time,reason,municipality'
for l in gen1 gen2 arl-gen1 arl-gen2; do
	t_eq "ledger/$l.csv header" "$header" "$(head -1 "$PKI/ledger/$l.csv")"
done
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
bad_ledger='' bad_format=''
declare -A reason_no=([keyCompromise]=1 [cACompromise]=2 [affiliationChanged]=3 [superseded]=4 [cessationOfOperation]=5)
for u in "$PKI"/users/revoked/*/*.pem; do
	b=$(basename "$u" .pem)
	g=${b%%-*}
	r=$(basename "$(dirname "$u")")
	code=$(cut -d- -f2 <<<"$b")
	s=$(serial "$u")
	grep -q "^$s,[^,]*,${reason_no[$r]},$code\$" "$PKI/ledger/$g.csv" || bad_ledger+=" $b"
done
t_eq "every revoked user is in its generation's ledger with reason and municipality" "" "$bad_ledger"
for g in gen1 gen2; do
	while IFS=, read -r s t r c; do
		[[ $s =~ ^[0-9A-F]+$ && $t =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ &&
			$r =~ ^[1-5]$ && $c =~ ^[0-9]{6}$ && $t < $now ]] || bad_format+=" $g:$s"
		ls "$PKI"/users/revoked/*/"$g-$c"-*.pem >/dev/null 2>&1 || bad_format+=" $g:$s(no file)"
	done < <(tail -n +2 "$PKI/ledger/$g.csv")
	t_eq "ledger/$g.csv: one line per revoked user" \
		"$(ls "$PKI"/users/revoked/*/"$g"-*.pem | wc -l)" "$(( $(wc -l < "$PKI/ledger/$g.csv") - 1 ))"
done
t_eq "ledger lines: uppercase hex serial, past UTC time, reason 1-5, 6-digit code" "" "$bad_format"
old=$PKI/bridge/superseded/cross-from-ca-gen1-old.pem
t_ok "the superseded cross certificate verifies under gen1" openssl verify -partial_chain -CAfile "$PKI/ca/gen1.pem" "$old"
t_ok "ledger/arl-gen1.csv revokes it: superseded, no municipality" \
	grep -Eqx "$(serial "$old"),[0-9T:Z-]+,4," "$PKI/ledger/arl-gen1.csv"

# Serials are unique among everything each CA name issued (both generations share one).
chiba_serials=$(for f in "$PKI"/ca/*.pem "$PKI"/bridge/cross-from-ca-gen*.pem "$old" \
	"$PKI"/ocsp/*.pem "${users[@]}"; do
	[ "$f" = "$PKI/ca/all.pem" ] || serial "$f"; done | sort)
t_eq "serials unique across the CA's certificates" "" "$(uniq -d <<<"$chiba_serials")"
t_eq "no serial repeated in or across the ledgers" "" \
	"$(tail -q -n +2 "$PKI"/ledger/*.csv | cut -d, -f1 | sort | uniq -d)"

# --- verifiers and TLS --------------------------------------------------------------------

for v in signature group suspended expired unregistered; do
	c=$PKI/verifiers/$v.pem
	vt=$(x "$c")
	t_match "verifier $v: clientAuth" "Extended Key Usage:[[:space:]]+TLS Web Client Authentication" "$vt"
	t_match "verifier $v: digitalSignature" "Key Usage: critical[[:space:]]+Digital Signature" "$vt"
	t_eq "verifier $v: RSA-2048" 2048 "$(bits "$c")"
	t_ok "verifier $v: issued by the verifier test CA" openssl verify -CAfile "$PKI/verifiers/ca.pem" "$c"
	t_eq "verifier $v: key file mode 600, matching" "600 $(pub "$c")" \
		"$(stat -c %a "$PKI/verifiers/$v.key") $(openssl pkey -in "$PKI/verifiers/$v.key" -pubout)"
done
st=$(x "$PKI/tls/server.pem")
t_match "TLS server: serverAuth" "Extended Key Usage:[[:space:]]+TLS Web Server Authentication" "$st"
t_match "TLS server: DNS:localhost, IP:127.0.0.1" "DNS:localhost, IP Address:127.0.0.1" "$st"
t_ok "TLS server: issued by the TLS test CA" openssl verify -CAfile "$PKI/tls/ca.pem" -purpose sslserver "$PKI/tls/server.pem"
t_eq "TLS server: key file mode 600, matching" "600 $(pub "$PKI/tls/server.pem")" \
	"$(stat -c %a "$PKI/tls/server.key") $(openssl pkey -in "$PKI/tls/server.key" -pubout)"

# --- keys stay in the token ---------------------------------------------------------------

keyfiles=$(grep -rlE --exclude-dir=tokens -e '-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----' "$PKI" |
	grep -v -e "^$PKI/verifiers/[a-z]*\.key\$" -e "^$PKI/tls/server.key\$" || true)
t_eq "no private key file besides the verifiers' and the TLS server's" "" "$keyfiles"
t_eq "no other *.key files" "" "$(find "$PKI" -name '*.key' ! -path "$PKI/verifiers/*" ! -path "$PKI/tls/server.key")"
# Each key URI opens through lib/p11key and is the key of its certificate.
probe() {	# probe URI CERT
	rm -f "$T/probe.pem"
	"$TESTPKI" cert --profile ca --issuer-key "$1" --subject "cn=probe,o=JPKI Test,c=JP" \
		--serial 1 --days 1 --out "$T/probe.pem" >/dev/null 2>&1 &&
		[ "$(pub "$T/probe.pem")" = "$(pub "$2")" ]
}
for pair in ca/gen1.key.uri:ca/gen1.pem ca/gen2.key.uri:ca/gen2.pem bridge/key.uri:bridge/bridge.pem \
	ocsp/key.uri:ocsp/responder.pem verifiers/ca.key.uri:verifiers/ca.pem tls/ca.key.uri:tls/ca.pem; do
	t_ok "${pair%%:*} names the key of ${pair#*:}" probe "$(cat "$PKI/${pair%%:*}")" "$PKI/${pair#*:}"
done
t_match "key URIs read the PIN from PKI_DIR/pin" "pin-source=$PKI/pin" "$(cat "$PKI/ca/gen1.key.uri")"
objs=$(pkcs11-tool --module "$MODULE" --token-label chiba-ca --login --pin "$(cat "$PKI/pin")" \
	-O --type privkey 2>/dev/null)
t_match "CA keys: sensitive, never extractable, generated in the token" \
	"label:[[:space:]]+gen1.*sensitive.*never extractable, local.*label:[[:space:]]+gen2.*never extractable, local|label:[[:space:]]+gen2.*never extractable, local.*label:[[:space:]]+gen1.*never extractable, local" \
	"$(tr '\n' ' ' <<<"$objs")"
nuser=$(for g in 1 2; do pkcs11-tool --module "$MODULE" --token-label "users-gen$g" --login \
	--pin "$(cat "$PKI/pin")" -O --type privkey 2>/dev/null; done | grep -c 'never extractable, local')
t_eq "user keys: one per user certificate, made in the token" "${#users[@]}" "$nuser"
t_done
