#!/usr/bin/env bash
# Makes the whole test PKI of the Chiba prefectural CA in PKI_DIR:
#
#   scripts/lib/testpki.sh PKI_DIR BUILD_DIR
#
# Every CA, bridge, responder and user key pair is generated ON a private SoftHSMv2 token
# (pkcs11-tool --keypairgen) and used through its PKCS#11 URI by BUILD_DIR's
# tests/pki/jpki-testpki; none of those keys ever exists in a file. Only verifiers' keys and
# slapd's TLS server key are files (verifiers hold their own keys; openssl ocsp -signkey and
# GnuTLS need files).
#
# Idempotent: does nothing when PKI_DIR/.complete exists; an unfinished PKI_DIR is wiped
# (only the names below) and made again. Environment: JPKI_PKCS11_MODULE (default SoftHSMv2),
# TESTPKI_OCSP_URL (authorityInfoAccess of user certificates; none when unset).
#
# Layout (other scripts depend on these names):
#   softhsm2.conf tokens/ pin env.sh     SOFTHSM2_CONF, token store, user PIN (0600)
#   ca/gen1.pem ca/gen2.pem ca/all.pem   self-signed, subject $CA_DN; all = gen1 + gen2
#   ca/gen{1,2}.key.uri                  PKCS#11 URIs (pin-source=PKI_DIR/pin)
#   ca/link-new-with-old.pem ca/link-old-with-new.pem
#   bridge/bridge.pem bridge/key.uri     個人認証BCA (test stand-in)
#   bridge/cross-to-ca-gen{1,2}.pem      issued by the bridge to the CA
#   bridge/cross-from-ca-gen{1,2}.pem    issued by the CA to the bridge
#   bridge/crosspair-gen{1,2}.der        CertificatePair {forward = to CA, reverse = from CA}
#   bridge/superseded/cross-from-ca-gen1-old.pem   revoked (superseded) in ledger/arl-gen1.csv
#   ocsp/responder.pem ocsp/key.uri      responder certificate issued by gen2
#   ocsp/responder-gen1.pem              same key, issued by gen1 (for gen1 certificates)
#   users/good/genN-CODE-NNNN.pem  users/revoked/REASON/genN-CODE-NNNN.pem
#   users/index.csv                      file,generation,serial,municipality,status,reason,revocation_time
#   ledger/gen{1,2}.csv ledger/arl-gen{1,2}.csv    revocation ledgers (CRL issuer input)
#   verifiers/ca.pem verifiers/ca.key.uri          verifier test CA (key in the token)
#   verifiers/{signature,group,suspended,expired,unregistered}.{pem,key}
#   tls/ca.pem tls/ca.key.uri tls/server.pem tls/server.key
set -euo pipefail

usage() { echo "usage: testpki.sh PKI_DIR BUILD_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
mkdir -p "$1"
pki=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tool="$build/tests/pki/jpki-testpki"
module=${JPKI_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
municipalities="$srcdir/data/municipalities.tsv"

CA_DN='cn=千葉県知事,ou=Chiba-ken,o=JPKI,c=JP'
BRIDGE_DN='cn=個人認証BCA,ou=Bridge CA,o=JPKI,c=JP'
OCSP_DN='cn=Chiba-ken OCSP Responder,ou=Chiba-ken,o=JPKI,c=JP'
VERIFIER_CA_DN='cn=JPKI Test Verifier CA,o=JPKI Test,c=JP'
TLS_CA_DN='cn=JPKI Test TLS CA,o=JPKI Test,c=JP'
REASONS=(keyCompromise cACompromise affiliationChanged superseded cessationOfOperation)
VERIFIERS=(signature group suspended expired unregistered)
PIN=$(printf '%s' "$pki" | cksum | cut -d' ' -f1)	# test PIN, kept in PKI_DIR/pin
SO_PIN="so-$PIN"

die() { echo "testpki: $*" >&2; exit 1; }

[ -f "$pki/.complete" ] && exit 0
# Two callers making the same PKI_DIR at once: the second waits, then finds it complete.
exec 9>"$pki/.lock"
flock 9 || die "cannot lock $pki/.lock"
[ -f "$pki/.complete" ] && exit 0
[ -x "$tool" ] || die "$tool not built (make tests/pki/jpki-testpki in $build)"
[ -r "$module" ] || die "PKCS#11 module $module not readable"
[ -r "$municipalities" ] || die "$municipalities not readable"
for t in softhsm2-util pkcs11-tool openssl; do
	command -v "$t" >/dev/null || die "$t not installed"
done

start_s=$(date +%s.%N)
now=$(date -u +%s)
DAY=86400

# --- helpers ------------------------------------------------------------------------------

# X.509 time (YYYYMMDDHHMMSSZ) and ledger time (ISO 8601) of now + $1 seconds.
xtime() { date -u -d "@$((now + $1))" +%Y%m%d%H%M%SZ; }
ltime() { date -u -d "@$((now + $1))" +%Y-%m-%dT%H:%M:%SZ; }

# Percent-encodes a path for a URI query value (RFC 3986 unreserved and '/' kept).
uri_escape() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~/-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

init_token() {
	softhsm2-util --init-token --free --label "$1" --pin "$PIN" --so-pin "$SO_PIN" \
		>/dev/null || die "softhsm2-util: cannot initialise token $1"
}

# keygen TOKEN ID LABEL BITS: a key pair made inside the token.
keygen() {
	pkcs11-tool --module "$module" --token-label "$1" --login --pin "$PIN" \
		--keypairgen --key-type "rsa:$4" --id "$2" --label "$3" >/dev/null 2>&1 ||
		die "pkcs11-tool: key generation $3 (RSA-$4) on token $1 failed"
}

# key_uri TOKEN ID LABEL: the key's RFC 7512 URI (ID in hex, each byte %-encoded), PIN from
# PKI_DIR/pin.
key_uri() {
	printf 'pkcs11:token=%s;id=%s;object=%s;type=private?module-path=%s&pin-source=%s' \
		"$1" "$(printf '%s' "$2" | sed 's/../%&/g')" "$3" "$(uri_escape "$module")" \
		"$(uri_escape "$pki/pin")"
}

# new_serial ISSUER: a random positive 64-bit serial (uppercase hex, no leading zero),
# unique among what ISSUER has issued (the CA's two generations share one name, one list).
new_serial() {
	local list="$pki/serials/$1" s
	while :; do
		s=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
		s="$(( 16#${s:0:1} % 7 + 1 ))${s:1}"
		grep -qx "$s" "$list" 2>/dev/null || break
	done
	echo "$s" >> "$list"
	echo "$s"
}

# cert ARGS...: jpki-testpki cert, failing loudly.
cert() {
	"$tool" cert "$@" || die "jpki-testpki cert $* failed"
}

# File keys (verifiers, TLS server): mode 0600.
file_key() {
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$1" 2>/dev/null) || die "openssl genpkey $1 failed"
	chmod 600 "$1"
	openssl pkey -in "$1" -pubout -out "$1.pub" 2>/dev/null || die "openssl pkey $1 failed"
}

# --- fresh start --------------------------------------------------------------------------

rm -rf "$pki/tokens" "$pki/ca" "$pki/bridge" "$pki/ocsp" "$pki/users" "$pki/ledger" \
	"$pki/verifiers" "$pki/tls" "$pki/serials" "$pki/softhsm2.conf" "$pki/pin" \
	"$pki/env.sh"
mkdir -p "$pki/tokens" "$pki/ca" "$pki/bridge/superseded" "$pki/ocsp" "$pki/users/good" \
	"$pki/ledger" "$pki/verifiers" "$pki/tls" "$pki/serials"
for r in "${REASONS[@]}"; do mkdir -p "$pki/users/revoked/$r"; done
chmod 700 "$pki/tokens"

cat > "$pki/softhsm2.conf" <<EOF
directories.tokendir = $pki/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
(umask 077 && printf '%s\n' "$PIN" > "$pki/pin")
chmod 600 "$pki/pin"
export SOFTHSM2_CONF="$pki/softhsm2.conf"
cat > "$pki/env.sh" <<EOF
# Source this to use the test PKI's tokens: . $pki/env.sh
export SOFTHSM2_CONF='$pki/softhsm2.conf'
EOF

# --- tokens and keys (all generated inside SoftHSM) ---------------------------------------

# The CA's HSM holds both generations; responder, bridge, the two test CAs and the users'
# keys (stand-ins for their cards) each get a token of their own.
for t in chiba-ca chiba-ocsp bridge-ca verifier-ca tls-ca users-gen1 users-gen2; do
	init_token "$t"
done
keygen chiba-ca 01 gen1 2048
keygen chiba-ca 02 gen2 2048
keygen chiba-ocsp 01 responder 2048
keygen bridge-ca 01 bridge 2048
keygen verifier-ca 01 verifier-ca 2048
keygen tls-ca 01 tls-ca 2048

GEN1_KEY=$(key_uri chiba-ca 01 gen1)
GEN2_KEY=$(key_uri chiba-ca 02 gen2)
OCSP_KEY=$(key_uri chiba-ocsp 01 responder)
BRIDGE_KEY=$(key_uri bridge-ca 01 bridge)
VCA_KEY=$(key_uri verifier-ca 01 verifier-ca)
TLSCA_KEY=$(key_uri tls-ca 01 tls-ca)
echo "$GEN1_KEY" > "$pki/ca/gen1.key.uri"
echo "$GEN2_KEY" > "$pki/ca/gen2.key.uri"
echo "$OCSP_KEY" > "$pki/ocsp/key.uri"
echo "$BRIDGE_KEY" > "$pki/bridge/key.uri"
echo "$VCA_KEY" > "$pki/verifiers/ca.key.uri"
echo "$TLSCA_KEY" > "$pki/tls/ca.key.uri"

# --- the CA: two generations and their link certificates (CPS 4-13, 7-1-3, 7-1-4) ---------

gen1_nb=$(xtime $((-1461 * DAY)))		# about 4 years ago
gen1_na=$(xtime $(((-1461 + 3650) * DAY)))	# self-signed: 10 years
gen2_nb=$(xtime $((-30 * DAY)))			# the key update, 30 days ago
ca() {
	cert --profile ca --issuer-key "$1" --subject "$CA_DN" --serial "$(new_serial chiba)" \
		--not-before "$2" --days 3650 --out "$3"
}
ca "$GEN1_KEY" "$gen1_nb" "$pki/ca/gen1.pem"
ca "$GEN2_KEY" "$gen2_nb" "$pki/ca/gen2.pem"
cat "$pki/ca/gen1.pem" "$pki/ca/gen2.pem" > "$pki/ca/all.pem"
# NewWithOld: new key signed by the old, from the new key's generation; OldWithNew: old key
# signed by the new, from the old key's generation; both end with the old self-signed cert.
cert --profile link --issuer-key "$GEN1_KEY" --issuer-cert "$pki/ca/gen1.pem" \
	--subject-key "$GEN2_KEY" --subject "$CA_DN" --serial "$(new_serial chiba)" \
	--not-before "$gen2_nb" --not-after "$gen1_na" --out "$pki/ca/link-new-with-old.pem"
cert --profile link --issuer-key "$GEN2_KEY" --issuer-cert "$pki/ca/gen2.pem" \
	--subject-key "$GEN1_KEY" --subject "$CA_DN" --serial "$(new_serial chiba)" \
	--not-before "$gen1_nb" --not-after "$gen1_na" --out "$pki/ca/link-old-with-new.pem"

# --- bridge CA and cross-certificates (CPS 7-1-2: 5 years) --------------------------------

cert --profile ca --issuer-key "$BRIDGE_KEY" --subject "$BRIDGE_DN" \
	--serial "$(new_serial bridge)" --not-before "$(xtime $((-1826 * DAY)))" --days 3650 \
	--out "$pki/bridge/bridge.pem"
# cross GEN NOT_BEFORE
cross() {
	local key_var=GEN${1}_KEY
	cert --profile cross --issuer-key "$BRIDGE_KEY" --issuer-cert "$pki/bridge/bridge.pem" \
		--subject-key "${!key_var}" --subject "$CA_DN" --serial "$(new_serial bridge)" \
		--not-before "$2" --out "$pki/bridge/cross-to-ca-gen$1.pem"
	cert --profile cross --issuer-key "${!key_var}" --issuer-cert "$pki/ca/gen$1.pem" \
		--subject-key "$BRIDGE_KEY" --subject "$BRIDGE_DN" --serial "$(new_serial chiba)" \
		--not-before "$2" --out "$pki/bridge/cross-from-ca-gen$1.pem"
	"$tool" crosspair --forward "$pki/bridge/cross-to-ca-gen$1.pem" \
		--reverse "$pki/bridge/cross-from-ca-gen$1.pem" \
		--out "$pki/bridge/crosspair-gen$1.der" || die "jpki-testpki crosspair gen$1 failed"
}
# gen1's first cross-certificate to the bridge, superseded two years ago by the current one.
old_serial=$(new_serial chiba)
cert --profile cross --issuer-key "$GEN1_KEY" --issuer-cert "$pki/ca/gen1.pem" \
	--subject-key "$BRIDGE_KEY" --subject "$BRIDGE_DN" --serial "$old_serial" \
	--not-before "$(xtime $((-1460 * DAY)))" \
	--out "$pki/bridge/superseded/cross-from-ca-gen1-old.pem"
cross 1 "$(xtime $((-730 * DAY)))"
cross 2 "$gen2_nb"

# --- OCSP responder (1 year) --------------------------------------------------------------

cert --profile ocsp --issuer-key "$GEN2_KEY" --issuer-cert "$pki/ca/gen2.pem" \
	--subject-key "$OCSP_KEY" --subject "$OCSP_DN" --serial "$(new_serial chiba)" \
	--not-before "$(xtime $((-1 * DAY)))" --out "$pki/ocsp/responder.pem"
cert --profile ocsp --issuer-key "$GEN1_KEY" --issuer-cert "$pki/ca/gen1.pem" \
	--subject-key "$OCSP_KEY" --subject "$OCSP_DN" --serial "$(new_serial chiba)" \
	--not-before "$(xtime $((-1 * DAY)))" --out "$pki/ocsp/responder-gen1.pem"

# --- users --------------------------------------------------------------------------------

# Twelve municipalities spread over the table, 千葉市 (121002) first.
mapfile -t muni < <(awk -F'\t' '!/^#/ && NF >= 3 { print $1 "\t" $2 }' "$municipalities" |
	awk 'NR % 4 == 1' | head -n 12)
[ "${#muni[@]}" -eq 12 ] || die "$municipalities: fewer than 45 municipalities"
[ "${muni[0]%%$'\t'*}" = 121002 ] || die "$municipalities: 121002 is not the first code"

ledger_header='serial,revocation_time,reason,municipality'
for g in 1 2; do
	echo "$ledger_header" > "$pki/ledger/gen$g.csv"
	echo "$ledger_header" > "$pki/ledger/arl-gen$g.csv"
done
echo 'file,generation,serial,municipality,status,reason,revocation_time' > "$pki/users/index.csv"
echo "$old_serial,$(ltime $((-730 * DAY + 3600))),4," >> "$pki/ledger/arl-gen1.csv"

# The users' planned certificates, one line each: generation, code, kanji name, reason
# (0 = good, else 1-5 as in the ledger).
plan="$pki/users/.plan"
: > "$plan"
for g in 1 2; do
	for m in "${muni[@]}"; do
		printf '%s\t%s\t0\n%s\t%s\t0\n' "$g" "$m" "$g" "$m" >> "$plan"
	done
	# Two revoked users per reason and generation, spread over the municipalities.
	for r in 1 2 3 4 5; do
		for k in 0 1; do
			printf '%s\t%s\t%s\n' "$g" "${muni[$(( (r * 2 + k + g * 5) % 12 ))]}" "$r" >> "$plan"
		done
	done
done

# Names, key IDs and serials of the users, in plan order.
declare -A seq=()
jobs_file="$pki/users/.jobs"
: > "$jobs_file"
n=0
while IFS=$'\t' read -r g code kanji reason; do
	key="$g-$code"
	seq[$key]=$(( ${seq[$key]:-0} + 1 ))
	n=$((n + 1))
	base=$(printf 'gen%s-%s-%04d' "$g" "$code" "${seq[$key]}")
	id=$(printf '%04X' "$n")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$g" "$code" "$kanji" "$reason" "$base" "$id" \
		"$(new_serial chiba)" >> "$jobs_file"
done < "$plan"

# SoftHSMv2's file store is not safe for concurrent processes (a login rewrites token.object,
# and a process starting meanwhile does not see that token), so every token access below is
# sequential; only openssl's file keys are made in parallel.
for v in "${VERIFIERS[@]}"; do file_key "$pki/verifiers/$v.key" & done
file_key "$pki/tls/server.key" &
while IFS=$'\t' read -r g _ _ _ base id _; do
	keygen "users-gen$g" "$id" "$base" 1024
done < "$jobs_file"
wait_all() {
	local pid rc=0
	for pid in $(jobs -p); do wait "$pid" || rc=1; done
	return $rc
}
wait_all || die "key generation failed"

# issue_user GEN CODE KANJI REASON BASE ID SERIAL: one user certificate.
issue_user() {
	local g=$1 code=$2 kanji=$3 reason=$4 base=$5 id=$6 serial=$7 dir nb gender
	local issuer_key=GEN${g}_KEY
	if [ "$reason" = 0 ]; then
		dir="$pki/users/good"
	else
		dir="$pki/users/revoked/${REASONS[$((reason - 1))]}"
	fi
	# gen1 users were issued about 400 days ago, gen2 users 10 days ago (3-year certs).
	if [ "$g" = 1 ]; then nb=$(xtime $(( -400 * DAY + 16#$id * 60 ))); else
		nb=$(xtime $(( -10 * DAY + 16#$id * 60 ))); fi
	if (( 16#$id % 2 )); then gender=男; else gender=女; fi
	cert --profile user --issuer-key "${!issuer_key}" \
		--issuer-cert "$pki/ca/gen$g.pem" \
		--subject-key "$(key_uri "users-gen$g" "$id" "$base")" \
		--subject "cn=$base,ou=Chiba-ken,o=JPKI,c=JP" --serial "$serial" \
		--not-before "$nb" --municipality "$code" \
		--crl-uri "ldap:///cn=$code,ou=CRL%20Distribution%20Points,ou=Chiba-ken,o=JPKI,c=JP?certificateRevocationList;binary" \
		${TESTPKI_OCSP_URL:+--ocsp-url "$TESTPKI_OCSP_URL"} \
		--name "試験 太郎$((16#$id))" --birth-date "$(( 19500101 + (16#$id % 50) * 10000 ))" \
		--gender "$gender" --address "千葉県${kanji}試験町$((16#$id))番地" \
		--out "$dir/$base.pem"
}

while IFS=$'\t' read -r g code kanji reason base id serial; do
	issue_user "$g" "$code" "$kanji" "$reason" "$base" "$id" "$serial"
done < "$jobs_file"

# Ledgers and index, in a fixed order: revocation times in the past, after issuance.
declare -A rcount=()
while IFS=$'\t' read -r g code _ reason base id serial; do
	if [ "$reason" = 0 ]; then
		echo "users/good/$base.pem,gen$g,$serial,$code,good,," >> "$pki/users/index.csv"
		continue
	fi
	rcount[$g]=$(( ${rcount[$g]:-0} + 1 ))
	if [ "$g" = 1 ]; then t=$(( -200 * DAY + ${rcount[$g]} * 3600 )); else
		t=$(( -5 * DAY + ${rcount[$g]} * 3600 )); fi
	rname=${REASONS[$((reason - 1))]}
	echo "$serial,$(ltime "$t"),$reason,$code" >> "$pki/ledger/gen$g.csv"
	echo "users/revoked/$rname/$base.pem,gen$g,$serial,$code,revoked,$rname,$(ltime "$t")" \
		>> "$pki/users/index.csv"
done < "$jobs_file"
rm -f "$plan" "$jobs_file"

# --- verifiers and TLS --------------------------------------------------------------------

cert --profile ca --issuer-key "$VCA_KEY" --subject "$VERIFIER_CA_DN" \
	--serial "$(new_serial verifier-ca)" --not-before "$(xtime $((-365 * DAY)))" \
	--out "$pki/verifiers/ca.pem"
cert --profile ca --issuer-key "$TLSCA_KEY" --subject "$TLS_CA_DN" \
	--serial "$(new_serial tls-ca)" --not-before "$(xtime $((-365 * DAY)))" \
	--out "$pki/tls/ca.pem"
for v in "${VERIFIERS[@]}"; do
	cert --profile verifier --issuer-key "$VCA_KEY" --issuer-cert "$pki/verifiers/ca.pem" \
		--subject-pubkey "$pki/verifiers/$v.key.pub" \
		--subject "cn=$v verifier,o=Verifier $v,c=JP" \
		--serial "$(new_serial verifier-ca)" --not-before "$(xtime $((-30 * DAY)))" \
		--out "$pki/verifiers/$v.pem"
done
cert --profile tls-server --issuer-key "$TLSCA_KEY" --issuer-cert "$pki/tls/ca.pem" \
	--subject-pubkey "$pki/tls/server.key.pub" --subject "cn=localhost,o=JPKI Test,c=JP" \
	--serial "$(new_serial tls-ca)" --not-before "$(xtime $((-1 * DAY)))" \
	--out "$pki/tls/server.pem"
rm -f "$pki"/verifiers/*.key.pub "$pki/tls/server.key.pub"

# --- checks -------------------------------------------------------------------------------

verify() {	# verify CAFILE FILE...: every file must verify (purpose any)
	local ca=$1 out
	shift
	out=$(openssl verify -CAfile "$ca" "$@" 2>&1) || die "openssl verify: $out"
}
shopt -s nullglob
for g in 1 2; do
	verify "$pki/ca/gen$g.pem" "$pki"/users/good/gen$g-*.pem "$pki"/users/revoked/*/gen$g-*.pem
done
verify "$pki/ca/gen2.pem" "$pki/ocsp/responder.pem"
verify "$pki/ca/gen1.pem" "$pki/ocsp/responder-gen1.pem"
verify "$pki/ca/gen1.pem" -partial_chain "$pki/ca/link-new-with-old.pem"
verify "$pki/ca/gen2.pem" -partial_chain "$pki/ca/link-old-with-new.pem"
verify "$pki/bridge/bridge.pem" -partial_chain "$pki/bridge/cross-to-ca-gen1.pem" \
	"$pki/bridge/cross-to-ca-gen2.pem"
verify "$pki/verifiers/ca.pem" "$pki"/verifiers/{signature,group,suspended,expired,unregistered}.pem
verify "$pki/tls/ca.pem" "$pki/tls/server.pem"
[ -z "$(find "$pki" -name '*.key' ! -path "$pki/verifiers/*" ! -path "$pki/tls/server.key")" ] ||
	die "a private key file exists outside verifiers/ and tls/server.key"

touch "$pki/.complete"
end_s=$(date +%s.%N)
printf 'testpki: %s ready in %.1f s (%d user certificates)\n' "$pki" \
	"$(awk -v a="$start_s" -v b="$end_s" 'BEGIN { print b - a }')" "$n" >&2
