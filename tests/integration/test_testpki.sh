#!/usr/bin/env bash
# The test PKI is what the CPS describes: key sizes, lifetimes, policies, extended key usages,
# the partition as CRL distribution point, link certificates both ways, the cross pair; and
# no CA, responder or user private key exists outside the token.
set -u
. "$(dirname "$0")/../lib/assert.sh"
. "$JPKI_SRCDIR/tests/lib/pki.sh"

PKI=$(test_pki) || { t_fail "test PKI"; t_done; exit 1; }
x() { openssl x509 -in "$1" -noout -text; }

ca=$(x "$PKI/ca/gen1.pem")
t_match "CA: RSA-2048" "Public-Key: \(2048 bit\)" "$ca"
t_match "CA: basicConstraints CA:TRUE, critical" "Basic Constraints: critical[[:space:]]+CA:TRUE" "$ca"
t_match "CA: the governor's title in the name" "千葉県知事|\\\\E5\\\\8D\\\\83" "$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -subject -nameopt utf8)"
t_eq "CA: generations share one name" "$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -subject)" \
	"$(openssl x509 -in "$PKI/ca/gen2.pem" -noout -subject)"
days=$(( ($(date -d "$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -enddate | cut -d= -f2)" +%s) - \
	$(date -d "$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -startdate | cut -d= -f2)" +%s)) / 86400 ))
t_eq "CA: self-signed certificate valid 10 years" 3650 "$days"

t_ok "link NewWithOld verifies under generation 1" openssl verify -partial_chain -CAfile "$PKI/ca/gen1.pem" "$PKI/ca/link-new-with-old.pem"
t_ok "link OldWithNew verifies under generation 2" openssl verify -partial_chain -CAfile "$PKI/ca/gen2.pem" "$PKI/ca/link-old-with-new.pem"
t_eq "NewWithOld carries generation 2's key" "$(openssl x509 -in "$PKI/ca/gen2.pem" -noout -pubkey)" \
	"$(openssl x509 -in "$PKI/ca/link-new-with-old.pem" -noout -pubkey)"
t_ok "cross certificate to the CA verifies under the bridge" openssl verify -partial_chain -CAfile "$PKI/bridge/bridge.pem" "$PKI/bridge/cross-to-ca-gen1.pem"
t_match "cross pair is a SEQUENCE of [0] and [1]" "cont \[ 0 \].*cont \[ 1 \]" \
	"$(openssl asn1parse -inform DER -in "$PKI/bridge/crosspair-gen1.der" -i | tr '\n' ' ')"

oc=$(x "$PKI/ocsp/responder.pem")
t_match "responder: id-kp-OCSPSigning" "OCSP Signing" "$oc"
t_match "responder: id-pkix-ocsp-nocheck" "OCSP No Check" "$oc"
t_match "responder: test policy .0.300" "Policy: 1.2.392.200149.8.5.1.0.300" "$oc"
t_ok "responder: issued by generation 2" openssl verify -CAfile "$PKI/ca/gen2.pem" "$PKI/ocsp/responder.pem"

u=$(ls "$PKI"/users/good/gen1-*.pem | head -1)
ut=$(x "$u")
code=$(basename "$u" | cut -d- -f2)
t_match "user: RSA-1024" "Public-Key: \(1024 bit\)" "$ut"
t_match "user: test policy .0.10" "Policy: 1.2.392.200149.8.5.1.0.10" "$ut"
t_match "user: CRL DP is the partition's directoryName" "DirName:C = JP, O = JPKI, OU = Chiba-ken, OU = CRL Distribution Points, CN = $code" "$ut"
t_match "user: the four basic items in subjectAltName" "othername: 1.2.392.200149.8.5.5.1.*1.2.392.200149.8.5.5.4.*1.2.392.200149.8.5.5.3.*1.2.392.200149.8.5.5.5" "$(tr '\n' ' ' <<<"$ut")"
days=$(( ($(date -d "$(openssl x509 -in "$u" -noout -enddate | cut -d= -f2)" +%s) - \
	$(date -d "$(openssl x509 -in "$u" -noout -startdate | cut -d= -f2)" +%s)) / 86400 ))
t_eq "user: 3 years" 1095 "$days"
for g in 1 2; do
	t_ok "generation $g users verify" openssl verify -CAfile "$PKI/ca/gen$g.pem" "$PKI"/users/good/gen$g-*.pem
done
for r in keyCompromise cACompromise affiliationChanged superseded cessationOfOperation; do
	t_eq "revoked/$r holds one user of each generation" 2 "$(ls "$PKI/users/revoked/$r" | wc -l)"
done
t_eq "each generation's ledger lists its five revocations" "5 5" \
	"$(( $(wc -l < "$PKI/ledger/gen1.csv") - 1 )) $(( $(wc -l < "$PKI/ledger/gen2.csv") - 1 ))"
t_match "verifier certificate: clientAuth" "TLS Web Client Authentication" "$(x "$PKI/verifiers/signature.pem")"

keyfiles=$(find "$PKI" -name '*.key' | grep -v -e '/verifiers/' -e '/tls/server.key' || true)
t_eq "no CA, bridge, responder or user key file outside the token" "" "$keyfiles"
t_match "CA key in the token, not extractable" "never extractable" \
	"$(SOFTHSM2_CONF=$PKI/softhsm2.conf pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label jpki-test --login --pin "$(cat "$PKI/pin")" -O --type privkey --label ca-gen1 2>/dev/null)"
t_done
