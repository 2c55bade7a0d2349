#!/usr/bin/env bash
# scripts/lib/testpki.sh PKI_DIR BUILD_DIR
#
# Makes the test PKI of the Chiba prefectural CA in PKI_DIR, every CA, bridge, responder and
# user key generated ON a private SoftHSMv2 token (pkcs11-tool --keypairgen): the keys never
# exist outside it. Only the verifiers' keys and slapd's TLS key are files: verifiers hold
# their own keys (openssl ocsp -signkey needs a file), and slapd reads a file.
# Idempotent: a PKI_DIR with .complete is left as it is.
#
# Layout (the demo, the tests and the benchmarks depend on these names):
#   softhsm2.conf tokens/ pin                  the token (PIN file mode 600)
#   ca/gen1.pem ca/gen2.pem                    self-signed CA, generations 1 and 2 (same name)
#   ca/gen1.key.uri ca/gen2.key.uri            PKCS#11 URIs of their keys
#   ca/link-new-with-old.pem ca/link-old-with-new.pem   link certificates (CPS 4-13)
#   ca/all.pem                                 gen1 + gen2
#   bridge/bridge.pem bridge/key.uri           the bridge CA (個人認証BCA)
#   bridge/cross-to-ca-gen{1,2}.pem            issued by the bridge to the CA
#   bridge/cross-from-ca-gen{1,2}.pem          issued by the CA to the bridge
#   bridge/crosspair-gen{1,2}.der              CertificatePair (forward, reverse)
#   ocsp/responder.pem ocsp/key.uri            OCSP responder (gen2, 1 year)
#   users/good/genN-CODE-NNNN.pem              user certificates of both generations
#   users/revoked/<reason>/genN-CODE-NNNN.pem  reason: keyCompromise cACompromise
#                                              affiliationChanged superseded cessationOfOperation
#   ledger/gen{1,2}.csv ledger/arl-gen{1,2}.csv  revocation ledgers for jpki crl issue
#   verifiers/ca.pem, verifiers/<name>.pem + .key   name: signature group suspended expired unregistered
#   tls/ca.pem tls/server.pem tls/server.key   slapd's TLS server certificate
set -euo pipefail

PKI=${1:?usage: testpki.sh PKI_DIR BUILD_DIR}
BUILD=${2:?usage: testpki.sh PKI_DIR BUILD_DIR}
[ -f "$PKI/.complete" ] && exit 0
MODULE=${JPKI_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
TESTPKI=$BUILD/tests/pki/jpki-testpki
[ -x "$TESTPKI" ] || { echo "testpki: $TESTPKI is not built" >&2; exit 1; }

rm -rf "$PKI"
mkdir -p "$PKI"/{tokens,ca,bridge,ocsp,users/good,ledger,verifiers,tls}
PKI=$(cd "$PKI" && pwd)
for r in keyCompromise cACompromise affiliationChanged superseded cessationOfOperation; do
	mkdir -p "$PKI/users/revoked/$r"
done
export SOFTHSM2_CONF=$PKI/softhsm2.conf
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$PKI" > "$SOFTHSM2_CONF"
(umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$PKI/pin")
PIN=$(cat "$PKI/pin")
TOKEN=jpki-test
softhsm2-util --init-token --free --label "$TOKEN" --pin "$PIN" --so-pin "$PIN$PIN" >/dev/null

CA_DN="CN=Chiba-ken Governor (千葉県知事),OU=Chiba-ken,O=JPKI,C=JP"
BRIDGE_DN="CN=JPKI Bridge CA (個人認証BCA),O=JPKI,C=JP"
CDP_BASE="ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP"
# Serials: a random prefix per PKI and a counter kept in a file (callers run in subshells).
SERIAL_PREFIX=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
echo 0 > "$PKI/.serial"
next_serial() {
	local n
	n=$(( $(cat "$PKI/.serial") + 1 ))
	echo "$n" > "$PKI/.serial"
	printf '%s%04X' "$SERIAL_PREFIX" "$n"
}
utc() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# keygen LABEL BITS: a key pair generated on the token; prints its PKCS#11 URI.
keygen() {
	local label=$1 bits=$2 id
	# The id comes from the label: this runs in $( ), so a counter would not survive.
	id=$(printf '%s' "$label" | sha1sum | cut -c1-16)
	pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin "$PIN" --keypairgen \
		--key-type "rsa:$bits" --id "$id" --label "$label" >/dev/null 2>&1 ||
		{ echo "testpki: key generation for $label failed" >&2; return 1; }
	echo "pkcs11:token=$TOKEN;object=$label;type=private?module-path=$MODULE&pin-source=$PKI/pin"
}
cert() { "$TESTPKI" cert "$@"; }

# --- the prefectural CA: two generations and their link certificates -------------------
G1=$(keygen ca-gen1 2048); echo "$G1" > "$PKI/ca/gen1.key.uri"
G2=$(keygen ca-gen2 2048); echo "$G2" > "$PKI/ca/gen2.key.uri"
cert --profile ca --issuer-key "$G1" --subject-key "$G1" --subject "$CA_DN" --serial "$(next_serial)" \
	--days 3650 --not-before "$(utc '-4 years')" --out "$PKI/ca/gen1.pem"
cert --profile ca --issuer-key "$G2" --subject-key "$G2" --subject "$CA_DN" --serial "$(next_serial)" \
	--days 3650 --not-before "$(utc '-30 days')" --out "$PKI/ca/gen2.pem"
cert --profile link --issuer-key "$G1" --issuer-cert "$PKI/ca/gen1.pem" --subject-key "$G2" \
	--subject "$CA_DN" --serial "$(next_serial)" --days 1800 --not-before "$(utc '-30 days')" \
	--out "$PKI/ca/link-new-with-old.pem"
cert --profile link --issuer-key "$G2" --issuer-cert "$PKI/ca/gen2.pem" --subject-key "$G1" \
	--subject "$CA_DN" --serial "$(next_serial)" --days 1800 --not-before "$(utc '-30 days')" \
	--out "$PKI/ca/link-old-with-new.pem"
cat "$PKI/ca/gen1.pem" "$PKI/ca/gen2.pem" > "$PKI/ca/all.pem"

# --- the bridge CA and the cross-certificate pairs (one per generation) ---------------------
B=$(keygen bridge 2048); echo "$B" > "$PKI/bridge/key.uri"
cert --profile ca --issuer-key "$B" --subject-key "$B" --subject "$BRIDGE_DN" --serial "$(next_serial)" \
	--days 3650 --not-before "$(utc '-4 years')" --out "$PKI/bridge/bridge.pem"
for g in 1 2; do
	gk=$G1; [ $g = 2 ] && gk=$G2
	cert --profile cross --issuer-key "$B" --issuer-cert "$PKI/bridge/bridge.pem" --subject-key "$gk" \
		--subject "$CA_DN" --serial "$(next_serial)" --days 1825 --not-before "$(utc '-30 days')" \
		--out "$PKI/bridge/cross-to-ca-gen$g.pem"
	cert --profile cross --issuer-key "$gk" --issuer-cert "$PKI/ca/gen$g.pem" --subject-key "$B" \
		--subject "$BRIDGE_DN" --serial "$(next_serial)" --days 1825 --not-before "$(utc '-30 days')" \
		--out "$PKI/bridge/cross-from-ca-gen$g.pem"
	"$TESTPKI" crosspair --forward "$PKI/bridge/cross-to-ca-gen$g.pem" \
		--reverse "$PKI/bridge/cross-from-ca-gen$g.pem" --out "$PKI/bridge/crosspair-gen$g.der"
done
# An earlier cross certificate of generation 1, superseded: the ARL's sample revocation.
old_cross=$(next_serial)
cert --profile cross --issuer-key "$G1" --issuer-cert "$PKI/ca/gen1.pem" --subject-key "$B" \
	--subject "$BRIDGE_DN" --serial "$old_cross" --days 1825 --not-before "$(utc '-3 years')" \
	--out "$PKI/bridge/cross-from-ca-gen1-superseded.pem"
header="serial,revocation_time,reason,municipality"
printf '%s\n%s,%s,4,\n' "$header" "$old_cross" "$(utc '-30 days')" > "$PKI/ledger/arl-gen1.csv"
printf '%s\n' "$header" > "$PKI/ledger/arl-gen2.csv"

# --- the OCSP responder ---------------------------------------------------------------------
R=$(keygen ocsp-responder 2048); echo "$R" > "$PKI/ocsp/key.uri"
cert --profile ocsp --issuer-key "$G2" --issuer-cert "$PKI/ca/gen2.pem" --subject-key "$R" \
	--subject "CN=Chiba-ken OCSP Responder,OU=Chiba-ken,O=JPKI,C=JP" --serial "$(next_serial)" \
	--days 365 --out "$PKI/ocsp/responder.pem"

# --- users of both generations across a dozen municipalities --------------------------------
codes=(121002 122025 122033 122041 122076 122114 122122 122173 122190 122203 122211 124630)
reasons=(keyCompromise cACompromise affiliationChanged superseded cessationOfOperation)
printf '%s\n' "$header" > "$PKI/ledger/gen1.csv"
printf '%s\n' "$header" > "$PKI/ledger/gen2.csv"
user() { # user GEN CODE N DIR: prints the serial
	local g=$1 code=$2 n=$3 dir=$4 gk=$G1 nb k s
	[ "$g" = 2 ] && gk=$G2
	nb=$(utc '-200 days'); [ "$g" = 2 ] && nb=$(utc '-20 days')
	k=$(keygen "user-gen$g-$code-$n" 1024)
	s=$(next_serial)
	cert --profile user --issuer-key "$gk" --issuer-cert "$PKI/ca/gen$g.pem" --subject-key "$k" \
		--subject "CN=JPKI User $code-$n,L=$code,L=Chiba-ken,C=JP" --serial "$s" --days 1095 \
		--not-before "$nb" --crl-dp "cn=$code,$CDP_BASE" --out "$dir/gen$g-$code-$(printf '%04d' "$n").pem"
	echo "$s"
}
for g in 1 2; do
	n=0
	for code in "${codes[@]}"; do
		n=$((n + 1))
		user "$g" "$code" "$n" "$PKI/users/good" >/dev/null
	done
	for i in 0 1 2 3 4; do
		n=$((n + 1))
		code=${codes[$(( (i * 2 + g) % ${#codes[@]} ))]}
		s=$(user "$g" "$code" "$n" "$PKI/users/revoked/${reasons[$i]}")
		printf '%s,%s,%d,%s\n' "$s" "$(utc "-$((i + 1)) days")" $((i + 1)) "$code" >> "$PKI/ledger/gen$g.csv"
	done
done

# --- verifiers (their keys are theirs: files) and slapd's TLS certificate ------------------------
V=$(keygen verifier-ca 2048)
cert --profile ca --issuer-key "$V" --subject-key "$V" --subject "CN=Verifier Test CA,O=JPKI Test,C=JP" \
	--serial "$(next_serial)" --days 3650 --out "$PKI/verifiers/ca.pem"
for name in signature group suspended expired unregistered; do
	(umask 077; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/verifiers/$name.key" 2>/dev/null)
	openssl pkey -in "$PKI/verifiers/$name.key" -pubout -out "$PKI/verifiers/$name.pub"
	cert --profile verifier --issuer-key "$V" --issuer-cert "$PKI/verifiers/ca.pem" \
		--subject-pubkey "$PKI/verifiers/$name.pub" --subject "CN=$name verifier,O=Verifier $name,C=JP" \
		--serial "$(next_serial)" --days 730 --out "$PKI/verifiers/$name.pem"
done
T=$(keygen tls-ca 2048)
cert --profile ca --issuer-key "$T" --subject-key "$T" --subject "CN=Repository TLS Test CA,O=JPKI Test,C=JP" \
	--serial "$(next_serial)" --days 3650 --out "$PKI/tls/ca.pem"
(umask 077; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/tls/server.key" 2>/dev/null)
openssl pkey -in "$PKI/tls/server.key" -pubout -out "$PKI/tls/server.pub"
cert --profile tls-server --issuer-key "$T" --issuer-cert "$PKI/tls/ca.pem" --subject-pubkey "$PKI/tls/server.pub" \
	--subject "CN=localhost,O=JPKI Test,C=JP" --dns localhost --ip 127.0.0.1 --serial "$(next_serial)" \
	--days 730 --out "$PKI/tls/server.pem"

# --- every user certificate verifies against its generation --------------------------------------
for g in 1 2; do
	openssl verify -CAfile "$PKI/ca/gen$g.pem" "$PKI"/users/good/gen$g-*.pem "$PKI"/users/revoked/*/gen$g-*.pem >/dev/null ||
		{ echo "testpki: generation $g user certificates do not verify" >&2; exit 1; }
done
touch "$PKI/.complete"
echo "testpki: made the test PKI in $PKI"
