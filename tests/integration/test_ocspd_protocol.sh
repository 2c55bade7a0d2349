#!/usr/bin/env bash
# jpki-ocspd, the protocol details test_ocspd.sh leaves out:
#  - nonces (RFC 8954): 1 and 32 octets echoed byte for byte; 0 and 33 octets (also a bare,
#    unwrapped 33-octet value) malformedRequest, and recorded with the rule;
#  - CertID hash algorithms: SHA-1, SHA-256, SHA-384 and SHA-512 answered with the right status
#    for both key generations; a CertID whose issuerNameHash matches and issuerKeyHash does not
#    (and the reverse, and hashes of the wrong length) is unknown, for every digest code path;
#  - signed requests carrying extra certificates (-sign_other, also beyond 4 KB) still answered
#    and authorized; an unregistered or suspended signer carrying a registered verifier's
#    certificate refused unauthorized;
#  - audit-group-wait end to end: --check, a responder started with the largest value (1000 ms)
#    from its configuration file answers and records every request (each CertID once, chain
#    verified), cached answers are not held; bad values refuse the start (exit 2) or the
#    SIGHUP reload, naming the setting; a reload's registry-max-age is checked against the
#    sync-heartbeat in force (the start's), not the file's new one;
#  - the responder's own CRL checks: CRLs the overlay refuses (rules (b), (e), (f), (g), (h)),
#    written through a slapd on the same database without the overlay, are refused by the
#    responder with the rule logged, never answered from, and the last good data keeps being
#    answered, also from the state copy after a restart;
#  - a cached answer never goes to a request whose requestorName or signature OpenSSL cannot
#    decode;
#  - what cannot be answered as it stands (RFC 6960 4.1.1, 4.4): a version other than v1, a
#    critical extension the responder does not act on (in requestExtensions or
#    singleRequestExtensions) are malformedRequest, never the cached answer; a critical nonce
#    or acceptableResponses, and unknown extensions that are not critical, are answered;
#    an extension type twice in one Extensions (RFC 5280 4.2: two nonces, two
#    acceptableResponses, an unknown one twice in singleRequestExtensions) is malformedRequest,
#    never the cached answer, recorded with the rule; once in each of the two is answered;
#  - signatures weaker than SHA-256 (sha1WithRSA, md5WithRSA, RSA-PSS with SHA-1) from a
#    registered verifier are unauthorized, recorded and logged with the rule; SHA-256 (PKCS#1
#    and PSS) answered; from an allowed network the signature is not what lets a request in;
#  - HTTP: HEAD answered as GET without a body; a 304 with the 200's Content-Length and no
#    body, the connection going on; If-Modified-Since not used (the ETag is); Cache-Control private for answers to a signed request or
#    a client certificate, public for an allowed network's; Last-Modified the thisUpdate; a
#    POST without a Content-Type answered, another type 415;
#  - two CertIDs in one answer: no Last-Modified, Expires the earliest nextUpdate; one
#    CertID's partition republished revoking it: If-None-Match the first answer's ETag gets
#    the new answer (200), for the two CertIDs and for that one alone.
# Requests with crafted DER (nonces, CertIDs, extensions, versions) are built with openssl
# asn1parse -genconf and signed by a registered verifier with openssl ocsp -reqin; requests
# signed with other algorithms have their tbsRequest signed by openssl dgst and are sent with
# openssl ocsp -reqin; HTTP details are checked with curl and by hand on /dev/tcp.
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
V=$PKI/verifiers
JPKI=$JPKI_BUILDDIR/tools/jpki
OCSPD=$JPKI_BUILDDIR/responder/jpki-ocspd
BADCRL=$JPKI_BUILDDIR/tests/tools/jpki-badcrl
A=$DIR/audit
P1="cn=121002,ou=CRL Distribution Points,$REPO_CA_DN"

# Explicit cRLNumbers, so that a rollback below is one by the overlay's rule (e).
repo_init "$DIR" "$PKI" || { t_fail "repository starts"; t_done; exit 1; }
repo_publish_ca "$DIR" "$PKI" >/dev/null
repo_issue "$DIR" "$PKI" gen1 "$T/g1" --crl-number 100 >/dev/null
repo_issue "$DIR" "$PKI" gen2 "$T/g2" --crl-number 100 >/dev/null
repo_publish "$DIR" publisher "$T/g1" "$T/g2" >/dev/null
repo_add_verifiers "$DIR" "$PKI" || t_fail "verifiers registered"
t_cleanup_add "repo_ocspd_stop '$DIR'"
t_ok "jpki-ocspd starts and follows the repository" repo_ocspd_start "$DIR" "$PKI"
URL=$(repo_ocspd_url "$DIR")

# Partition 121002 holds, per generation, good and revoked certificates.
good1=$PKI/users/good/gen1-121002-0001.pem
rev1=$PKI/users/revoked/affiliationChanged/gen1-121002-0003.pem
good2=$PKI/users/good/gen2-121002-0001.pem
rev2=$PKI/users/revoked/keyCompromise/gen2-121002-0003.pem
for f in "$good1" "$rev1" "$good2" "$rev2"; do
	[ -f "$f" ] || { t_fail "test PKI has $f"; t_done; exit 1; }
done
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# ask WHO openssl-ocsp-args…: WHO is a verifier name (signs the request) or "-" (unsigned).
# The answer is printed with -resp_text.
ask() {
	local who=$1
	shift
	if [ "$who" = - ]; then
		openssl ocsp -url "$URL" -resp_text "$@" 2>&1
	else
		openssl ocsp -url "$URL" -resp_text -signer "$V/$who.pem" -signkey "$V/$who.key" "$@" 2>&1
	fi
}
# verdict: openssl ocsp -resp_text output on stdin → the responseStatus when not successful
# (malformedRequest, tryLater, unauthorized…), else each Cert Status in order, a revocation
# reason after a slash ("good revoked/keyCompromise"). Empty when there is no answer at all.
verdict() {
	awk '
		/Responder Error: / { e = $3
			if (e == "malformedrequest") e = "malformedRequest"; else if (e == "internalerror") e = "internalError"
			else if (e == "trylater") e = "tryLater"; else if (e == "sigrequired") e = "sigRequired"
			print e; done = 1; exit }
		/^ *Cert Status: / { out = out (out == "" ? "" : " ") $3 }
		/^ *Revocation Reason: / { out = out "/" $3 }
		END { if (!done) print out }'
}
# status WHO ISSUER-GEN CERT: the verdict on one certificate.
status() { ask "$1" -issuer "$PKI/ca/$2.pem" -cert "$3" -noverify | verdict; }
last_ocspd() { "$JPKI" audit show --dir "$A" --component ocspd --json | tail -1; }

# --- crafted requests ------------------------------------------------------------------------------
# certid_hashes ALG ISSUER: "NAMEHASH KEYHASH" (hex) of that issuer with that digest, as
# openssl computes them for a CertID.
certid_hashes() {
	openssl ocsp "-$1" -issuer "$2" -serial 0x1 -no_nonce -reqout "$T/h.der" >/dev/null 2>&1
	openssl asn1parse -inform DER -in "$T/h.der" | sed -n 's/.*OCTET STRING *\[HEX DUMP\]://p' | tr '\n' ' '
}
# mkreq OUT ALG NAMEHASH KEYHASH SERIAL [NONCE-EXTNVALUE-HEX]: an unsigned OCSPRequest with one
# CertID and, when given, a nonce extension whose extnValue holds exactly those bytes
# ("EMPTY" for none at all).
mkreq() {
	local out=$1 alg=$2 nh=$3 kh=$4 serial=$5 nonce=${6-}
	{
		printf 'asn1=SEQUENCE:req\n[req]\ntbs=SEQUENCE:tbs\n[tbs]\nlist=SEQUENCE:list\n'
		[ -z "$nonce" ] || printf 'exts=EXPLICIT:2,SEQUENCE:exts\n'
		printf '[list]\none=SEQUENCE:one\n[one]\ncertid=SEQUENCE:certid\n'
		printf '[certid]\nalg=SEQUENCE:alg\nnh=FORMAT:HEX,OCTETSTRING:%s\nkh=FORMAT:HEX,OCTETSTRING:%s\nserial=INTEGER:0x%s\n' \
			"$nh" "$kh" "$serial"
		printf '[alg]\noid=OID:%s\nnull=NULL\n' "$alg"
		printf '[exts]\nnonce=SEQUENCE:nonce\n[nonce]\noid=OID:1.3.6.1.5.5.7.48.1.2\n'
		if [ "$nonce" = EMPTY ]; then
			printf 'val=OCTETSTRING:\n'
		else
			printf 'val=FORMAT:HEX,OCTETSTRING:%s\n' "$nonce"
		fi
	} > "$out.cnf"
	openssl asn1parse -genconf "$out.cnf" -out "$out" -noout >/dev/null 2>&1
}
# crafted WHO REQ [openssl-ocsp-args…]: REQ signed by verifier WHO (no nonce added), sent.
crafted() {
	local who=$1 req=$2
	shift 2
	openssl ocsp -reqin "$req" -no_nonce -signer "$V/$who.pem" -signkey "$V/$who.key" -url "$URL" \
		-resp_text "$@" 2>&1
}
hexbytes() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F; }
# The inner OCTET STRING of a nonce of N octets (N < 128), as hex.
wrapped() { printf '04%02X%s' "$1" "$2"; }
# The nonce extension's value in an answer, as hex.
answer_nonce() { awk '/OCSP Nonce:/ { getline; gsub(/[ \t]/, ""); print; exit }'; }

# --- 1. nonces (RFC 8954) ------------------------------------------------------------------------
read -r NH1 KH1 <<<"$(certid_hashes sha1 "$PKI/ca/gen1.pem")"
S_GOOD1=$(serial_of "$good1")
for n in 1 32; do
	nonce=$(wrapped "$n" "$(hexbytes "$n")")
	mkreq "$T/n$n.der" sha1 "$NH1" "$KH1" "$S_GOOD1" "$nonce"
	out=$(crafted signature "$T/n$n.der" -CAfile "$PKI/ca/gen1.pem")
	t_eq "a nonce of $n octet(s): answered good" good "$(verdict <<<"$out")"
	t_eq "a nonce of $n octet(s): echoed byte for byte" "$nonce" "$(answer_nonce <<<"$out")"
	t_not "a nonce of $n octet(s): openssl finds no nonce error" grep -qiE "nonce verify error|no nonce" <<<"$out"
done
for n in 0 33; do
	mkreq "$T/n$n.der" sha1 "$NH1" "$KH1" "$S_GOOD1" "$(wrapped "$n" "$(hexbytes "$n")")"
	t_eq "a nonce of $n octets: malformedRequest" malformedRequest "$(crafted signature "$T/n$n.der" | verdict)"
done
t_match "its audit record names RFC 8954" \
	'"result":"malformedRequest: RFC 8954: a nonce of 1 to 32 octets"' "$(last_ocspd)"
# Bytes that do not parse as an OCTET STRING are taken as a bare nonce: the same bounds hold.
mkreq "$T/bare33.der" sha1 "$NH1" "$KH1" "$S_GOOD1" "$(printf 'AA%.0s' $(seq 1 33))"
t_eq "a bare (unwrapped) nonce of 33 octets: malformedRequest" malformedRequest \
	"$(crafted signature "$T/bare33.der" | verdict)"
mkreq "$T/bare32.der" sha1 "$NH1" "$KH1" "$S_GOOD1" "$(printf 'AA%.0s' $(seq 1 32))"
t_eq "a bare (unwrapped) nonce of 32 octets: answered good" good "$(crafted signature "$T/bare32.der" | verdict)"
mkreq "$T/nonone.der" sha1 "$NH1" "$KH1" "$S_GOOD1" EMPTY
t_eq "a nonce extension with an empty value: malformedRequest" malformedRequest \
	"$(crafted signature "$T/nonone.der" | verdict)"
t_match "after the malformed nonces the daemon still answers" "^good$" "$(status signature gen1 "$good1")"

# --- 2. CertID hash algorithms -------------------------------------------------------------------
for alg in sha1 sha256 sha384 sha512; do
	out=$(ask signature "-$alg" -issuer "$PKI/ca/gen1.pem" -cert "$good1" -cert "$rev1" -CAfile "$PKI/ca/gen1.pem")
	t_eq "$alg CertIDs, generation 1: good and revoked (affiliationChanged), response verified" \
		"verified good revoked/affiliationChanged" \
		"$(grep -q 'Response verify OK' <<<"$out" && echo verified) $(verdict <<<"$out")"
	t_match "$alg CertIDs: openssl matches each answer to its CertID (same algorithm)" \
		"$good1: good.*$rev1: revoked" "$(tr '\n' ' ' <<<"$out")"
	out=$(ask signature "-$alg" -issuer "$PKI/ca/gen2.pem" -cert "$good2" -cert "$rev2" -CAfile "$PKI/ca/gen2.pem")
	t_eq "$alg CertIDs, generation 2: good and revoked (keyCompromise), response verified" \
		"verified good revoked/keyCompromise" \
		"$(grep -q 'Response verify OK' <<<"$out" && echo verified) $(verdict <<<"$out")"
done
t_eq "SHA-1 and SHA-512 CertIDs in one request: both answered" "good revoked/affiliationChanged" \
	"$(ask signature -sha1 -issuer "$PKI/ca/gen1.pem" -cert "$good1" -sha512 -cert "$rev1" -noverify | verdict)"

# One byte changed in one hash. Both generations share the subject name, so the other hash
# is changed rather than taken from the other generation (which would be served).
flip() { local h=$1; printf '%s%s' "${h%??}" "$([ "${h: -2}" = 00 ] && echo 01 || echo 00)"; }
S_REV1=$(serial_of "$rev1")
for alg in sha1 sha256 sha384; do	# the precomputed SHA-1 and SHA-256 hashes, and one computed per request
	read -r nh kh <<<"$(certid_hashes "$alg" "$PKI/ca/gen1.pem")"
	mkreq "$T/c-ok.der" "$alg" "$nh" "$kh" "$S_REV1"
	t_eq "crafted $alg CertID with both hashes right (control): revoked" revoked \
		"$(crafted signature "$T/c-ok.der" -noverify | verdict | cut -d/ -f1)"
	mkreq "$T/c-key.der" "$alg" "$nh" "$(flip "$kh")" "$S_REV1"
	t_eq "crafted $alg CertID, issuerNameHash right, issuerKeyHash wrong: unknown" unknown \
		"$(crafted signature "$T/c-key.der" -noverify | verdict)"
	mkreq "$T/c-name.der" "$alg" "$(flip "$nh")" "$kh" "$S_REV1"
	t_eq "crafted $alg CertID, issuerKeyHash right, issuerNameHash wrong: unknown" unknown \
		"$(crafted signature "$T/c-name.der" -noverify | verdict)"
done
# SHA-1 hash values labelled SHA-256: right bytes, wrong length for the algorithm.
mkreq "$T/c-len.der" sha256 "$NH1" "$KH1" "$S_REV1"
t_eq "SHA-1 hashes in a CertID that says SHA-256: unknown" unknown "$(crafted signature "$T/c-len.der" -noverify | verdict)"

# --- 3. signed requests with extra certificates --------------------------------------------------
cat "$V/ca.pem" "$V/group.pem" "$V/unregistered.pem" "$V/suspended.pem" "$V/expired.pem" "$PKI/tls/ca.pem" \
	> "$T/others.pem"
out=$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -sign_other "$V/ca.pem" -CAfile "$PKI/ca/gen1.pem")
t_eq "signed with one extra certificate (the verifiers' CA): answered good, verified" "verified good" \
	"$(grep -q 'Response verify OK' <<<"$out" && echo verified) $(verdict <<<"$out")"
t_match "…recorded as the signature verifier's, authenticated by its signature" \
	'"result":"ok","identity":"uid=signature,ou=Verifiers,ou=Chiba-ken,o=JPKI,c=JP","auth":"signature"' "$(last_ocspd)"
out=$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -cert "$rev1" -sign_other "$T/others.pem" \
	-reqout "$T/big.der" -CAfile "$PKI/ca/gen1.pem")
t_ok "the request with six extra certificates is larger than 4 KB" test "$(stat -c %s "$T/big.der")" -gt 4096
t_eq "signed with six extra certificates (unregistered ones among them): answered, verified" \
	"verified good revoked/affiliationChanged" "$(grep -q 'Response verify OK' <<<"$out" && echo verified) $(verdict <<<"$out")"
t_match "…recorded as the signature verifier's" '"result":"ok","identity":"uid=signature,' "$(last_ocspd)"
t_eq "signed by the group verifier carrying the signature verifier's certificate: good" good \
	"$(ask group -issuer "$PKI/ca/gen1.pem" -cert "$good1" -sign_other "$V/signature.pem" -noverify | verdict)"
t_match "…recorded as the group verifier's, not the carried certificate's" '"result":"ok","identity":"uid=group,' "$(last_ocspd)"
t_eq "unregistered signer carrying a registered verifier's certificate: unauthorized" unauthorized \
	"$(ask unregistered -issuer "$PKI/ca/gen1.pem" -cert "$good1" -sign_other "$V/signature.pem" | verdict)"
t_match "…recorded with the rule, for no verifier" \
	'"result":"unauthorized: rule verifier-access \(CPS 4-4-4-3\): the signer is no registered verifier.s","identity":""' \
	"$(last_ocspd)"
cat "$V/signature.pem" "$V/group.pem" > "$T/registered.pem"
t_eq "unregistered signer carrying two registered verifiers' certificates: unauthorized" unauthorized \
	"$(ask unregistered -issuer "$PKI/ca/gen1.pem" -cert "$good1" -sign_other "$T/registered.pem" | verdict)"
t_eq "suspended verifier carrying an active verifier's certificate: unauthorized" unauthorized \
	"$(ask suspended -issuer "$PKI/ca/gen1.pem" -cert "$good1" -sign_other "$V/signature.pem" | verdict)"
t_match "…recorded as the suspended verifier, refused" \
	'"result":"unauthorized: rule verifier-access \(CPS 4-4-4-3\): verifier is suspended","identity":"uid=suspended,' \
	"$(last_ocspd)"

# --- 4. audit-group-wait --------------------------------------------------------------------------
CONF=$T/ocspd.conf
printf 'audit-group-wait = 1000\nsync-heartbeat = 300\n' > "$CONF"
t_eq "--check shows audit-group-wait from the file" "audit-group-wait = 1000" \
	"$("$OCSPD" --check -c "$CONF" 2>&1 | grep '^audit-group-wait')"
t_eq "--check: the command line wins over the file" "audit-group-wait = 0" \
	"$("$OCSPD" --check -c "$CONF" --audit-group-wait 0 2>&1 | grep '^audit-group-wait')"
repo_ocspd_stop "$DIR"
t_ok "a responder with audit-group-wait 1000 (the largest) and sync-heartbeat 300 in its file starts" repo_ocspd_start "$DIR" "$PKI" --config "$CONF"
gw_pid=$(cat "$DIR/ocspd/pid")
records() { cat "$A"/ocspd-*.jsonl 2>/dev/null | grep -c '"event":"ocsp-request"'; }
before=$(records)
mkdir -p "$T/gw"
gw_ask() { # NN: a fresh request (nonce) for serial 0x7A00NN, its output in $T/gw/NN
	ask signature -issuer "$PKI/ca/gen1.pem" -serial "0x7A00$1" -noverify > "$T/gw/$1"
}
for i in 11 12 13 14; do gw_ask "$i"; done
pids=()
for i in $(seq 21 32); do gw_ask "$i" & pids+=($!); done
wait "${pids[@]}"
answered=0
for f in "$T"/gw/*; do [ "$(verdict < "$f")" = good ] && answered=$((answered + 1)); done
t_eq "16 requests (4 one by one, 12 at once): 16 answered good" 16 "$answered"
t_eq "16 records more in the trail" 16 "$(( $(records) - before ))"
shown=$("$JPKI" audit show --dir "$A" --component ocspd --json)
missing=""
for i in 11 12 13 14 $(seq 21 32); do
	n=$(grep -c "\"certids\":\[{\"serial\":\"7A00$i\",\"status\":\"good\"}\],\"cache\":\"fresh\",\"nonce\":true" <<<"$shown")
	[ "$n" = 1 ] || missing+=" 7A00$i($n)"
done
t_eq "each request has exactly one record, its CertID answered good" "" "$missing"
t_match "the trail's chain verifies while the responder writes it" "ocspd: OK" \
	"$("$JPKI" audit verify --dir "$A" --component ocspd --live 2>&1)"
# Cached answers (no nonce, nothing being signed) are not held for the group wait.
ask signature -issuer "$PKI/ca/gen1.pem" -serial 0x7A0990 -no_nonce -noverify >/dev/null
slow=""
for i in 1 2 3 4 5; do
	s=${EPOCHREALTIME/./}
	v=$(ask signature -issuer "$PKI/ca/gen1.pem" -serial 0x7A0990 -no_nonce -noverify | verdict)
	ms=$(( (${EPOCHREALTIME/./} - s) / 1000 ))
	[ "$v" = good ] && [ "$ms" -lt 800 ] || slow+=" $v/${ms}ms"
done
t_eq "five cached answers, each good within 800 ms (not held 1000 ms)" "" "$slow"
t_match "…recorded as cache hits" '"cache":"hit"' "$(last_ocspd)"
# SIGHUP: a bad value is refused with its name, a good one is reported as needing a restart.
hup() { # LINE…: written as the file, SIGHUP, wait (5 s at most) for the reload's outcome
	local n
	n=$(grep -cE "reloaded$|reload refused" "$DIR/ocspd/log")
	printf '%s\n' "$@" > "$CONF"
	kill -HUP "$gw_pid"
	for _ in $(seq 1 50); do
		[ "$(grep -cE "reloaded$|reload refused" "$DIR/ocspd/log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
hup "audit-group-wait = 1001"
t_match "SIGHUP with audit-group-wait 1001: reload refused, naming the setting and the range" \
	"reload refused: $CONF:1: audit-group-wait: '1001' is out of range \(0-1000\)" "$(tail -3 "$DIR/ocspd/log")"
t_eq "…the same process still answers" "good" "$(status signature gen1 "$good1")"
hup "audit-group-wait = 500"
t_match "SIGHUP with audit-group-wait 500: reloaded, with a warning that it applies at the next start" \
	"reload: audit-\* settings differ from those in force since the start; they apply at the next start" "$(tail -3 "$DIR/ocspd/log")"
# registry-max-age applies at once, sync-heartbeat at the next start (the sync thread keeps
# its own): a new registry-max-age must fit the heartbeat in force, 300 s from the start,
# whatever the file says now. Its max-certids 1 shows whether the file was taken.
two_certids() { ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -cert "$rev1" -noverify | verdict; }
hup "sync-heartbeat = 30" "registry-max-age = 120" "max-certids = 1"
t_match "SIGHUP with sync-heartbeat 30 and registry-max-age 120 (a fit pair) while 300 is in force: reload refused, naming both" \
	"reload refused: registry-max-age 120 must be 0 or more than twice sync-heartbeat and 10 s: the sync-heartbeat in force is 300 \(a new one, 30 here, applies at the next start\); the running configuration stays" \
	"$(tail -3 "$DIR/ocspd/log")"
t_eq "…the running configuration stays: max-certids 16, two CertIDs answered" "good revoked/affiliationChanged" \
	"$(two_certids)"
hup "sync-heartbeat = 30" "registry-max-age = 611" "max-certids = 1"
t_match "SIGHUP with registry-max-age 611 (more than twice 300 and 10 s): reloaded" "info: reloaded$" \
	"$(tail -1 "$DIR/ocspd/log")"
t_eq "…and taken: max-certids 1, two CertIDs malformedRequest" malformedRequest "$(two_certids)"
t_match "…with a warning that the repository settings (sync-heartbeat 30, 300 in force) apply at the next start" \
	"reload: repository settings \\(ldap-uri, .*sync-heartbeat.*\\) differ from those in force since the start; they apply at the next start" \
	"$(tail -4 "$DIR/ocspd/log")"
hup "sync-heartbeat = 300" "registry-max-age = 611" "max-certids = 2"
t_not "a reload whose repository settings are those in force says nothing of them" grep -q "repository settings" \
	<<<"$(tail -3 "$DIR/ocspd/log")"
t_eq "…the same process serves throughout" "$gw_pid" "$(cat "$DIR/ocspd/pid")"
repo_ocspd_stop "$DIR"
t_match "the stopped responder's trail verifies" "ocspd: OK" \
	"$("$JPKI" audit verify --dir "$A" --component ocspd 2>&1)"

# A value out of range or not a number: the responder does not start (exit 2, nothing listens).
refuse() { # EXPECTED-REGEX NAME jpki-ocspd-options…
	local re=$1 name=$2 port rc out
	shift 2
	port=$(jpki_free_port)
	rm -rf "$T/refused"
	mkdir -p "$T/refused"
	out=$(SOFTHSM2_CONF="$PKI/softhsm2.conf" timeout 20 "$OCSPD" --foreground --listen 127.0.0.1 --port "$port" \
		--ldap-uri "$(repo_uri "$DIR")" --bind-dn "$REPO_RESPONDER_DN" --password-file "$DIR/secrets/responder.pw" \
		--ca-dn "$REPO_CA_DN" --verifier-base "$REPO_VERIFIER_BASE" --trust-anchor "$PKI/ca/gen1.pem" \
		--state-dir "$T/refused" --key-uri "$(cat "$PKI/ocsp/key.uri")" --responder-cert "$PKI/ocsp/responder.pem" \
		--audit-dir "$A" --pid-file "$T/refused/pid" "$@" 2>&1 </dev/null) && rc=0 || rc=$?
	t_eq "$name: exit status 2, no pid file, nothing listening" "2 no no" \
		"$rc $([ -e "$T/refused/pid" ] && echo yes || echo no) $( (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && echo yes || echo no)"
	t_match "$name: the message names the setting" "$re" "$out"
}
refuse "option --audit-group-wait: '1001' is out of range \(0-1000\)" "--audit-group-wait 1001" --audit-group-wait 1001
refuse "option --audit-group-wait: '-1' is not a number" "--audit-group-wait -1" --audit-group-wait=-1
refuse "option --audit-group-wait: '5ms' is not a number" "--audit-group-wait 5ms (no unit suffix)" --audit-group-wait 5ms
refuse "option --audit-group-wait: '99999999999999999999' is out of range" "--audit-group-wait 99999999999999999999" \
	--audit-group-wait 99999999999999999999
echo "audit-group-wait = 4294967297" > "$T/bad.conf"
refuse "$T/bad.conf:1: audit-group-wait: '4294967297' is out of range \(0-1000\)" \
	"audit-group-wait = 4294967297 in the file" --config "$T/bad.conf"
echo "audit-group-wait = two" > "$T/bad.conf"
refuse "$T/bad.conf:1: audit-group-wait: 'two' is not a number" "audit-group-wait = two in the file" --config "$T/bad.conf"
# (logging at debug level: section 5 reads the snapshot's counts)
t_ok "the responder starts again with the default" repo_ocspd_start "$DIR" "$PKI" --log-level debug

# --- 5. the responder's own CRL checks -------------------------------------------------------------
KEY1=$(cat "$PKI/ca/gen1.key.uri")
S_REV1_LEDGER=$(grep -ci "^$S_REV1," "$PKI/ledger/gen1.csv")
t_eq "the generation 1 ledger holds the revocation of rev1" 1 "$S_REV1_LEDGER"
grep -vi "^$S_REV1," "$PKI/ledger/gen1.csv" > "$T/ledger-without.csv"
issue1() { # OUT jpki-crl-issue-options…: generation 1 partition CRLs
	local out=$1
	shift
	mkdir -p "$out"
	"$JPKI" crl issue --ca-cert "$PKI/ca/gen1.pem" --ca-key "$KEY1" --out "$out" "$@" >/dev/null
}
hour_ago() { date -u -d "-$1 hour" +%Y-%m-%dT%H:%M:%SZ; }
# CRLs the overlay refuses, each one that would change an answer if it were used.
issue1 "$T/rollback" --ledger "$T/ledger-without.csv" --crl-number 99 --this-update "$(hour_ago 1)"
issue1 "$T/older" --ledger "$T/ledger-without.csv" --crl-number 1000 --this-update "$(hour_ago 2)"
"$BADCRL" --ca-cert "$PKI/ca/gen1.pem" --ca-key "$KEY1" --dp "$P1" --number 500 --validity 345600 --out "$T/long.crl"
"$BADCRL" --ca-cert "$PKI/bridge/bridge.pem" --ca-key "$(cat "$PKI/bridge/key.uri")" --dp "$P1" --number 501 \
	--out "$T/bridge.crl"
"$BADCRL" --ca-cert "$PKI/ca/gen1.pem" --ca-key "$KEY1" --dp "$P1" --number 502 --entry "$S_GOOD1:6" --out "$T/hold.crl"
# Good CRLs to restore between the cases, newer each time.
for i in 1 2 3 4; do issue1 "$T/restore$i" --ledger "$PKI/ledger/gen1.csv" --crl-number $((100 + i)); done
cases=(rollback older long bridge hold)
declare -A crl=([rollback]=$T/rollback/121002.crl [older]=$T/older/121002.crl [long]=$T/long.crl
	[bridge]=$T/bridge.crl [hold]=$T/hold.crl)
declare -A rule=([rollback]="(e) crl-number" [older]="(f) this-update" [long]="(g) validity" [bridge]="(b) signature"
	[hold]="(h) reasons")
declare -A what=([rollback]="an older CRL (cRLNumber 99 < 100) without rev1's revocation"
	[older]="a CRL with thisUpdate older than the stored one, without rev1's revocation"
	[long]="a CRL valid 96 h, without any revocation" [bridge]="a CRL signed by the bridge CA, without any revocation"
	[hold]="a CRL putting good1 on certificateHold")
ldif() { # FILE: the partition's CRLs replaced by FILE (generation 1) and the stored generation 2 CRL
	printf 'dn: %s\nchangetype: modify\nreplace: certificateRevocationList;binary\n' "$P1"
	printf 'certificateRevocationList;binary:< file://%s\n' "$1" "$T/g2/121002.crl"
}
for c in "${cases[@]}"; do
	t_match "the overlay refuses $c: ${what[$c]}, rule ${rule[$c]}" "rule ${rule[$c]//[()]/.}" \
		"$(ldif "${crl[$c]}" | repo_ldap_as "$DIR" publisher ldapmodify 2>&1)"
done
t_eq "before: good1 good, rev1 revoked, good2 good" "good revoked/affiliationChanged good" \
	"$(status signature gen1 "$good1") $(status signature gen1 "$rev1") $(status signature gen2 "$good2")"

# The same database served by a slapd without the overlay: the rootdn's writes reach it unchecked.
follows=$(grep -c "info: following " "$DIR/ocspd/log")
instance_stop "$DIR"
INSTANCE_OVERLAY=0 INSTANCE_ACL="$(repo_acl)" INSTANCE_GLOBAL_CONF="$(repo_tls_conf "$PKI")" \
	INSTANCE_URLS="ldaps://127.0.0.1:$(cat "$DIR/conf/ldaps_port")/" instance_init "$DIR"
t_ok "slapd restarts on the same database without the overlay" instance_start "$DIR"
t_eq "…its configuration has no jpkirepo overlay" 0 "$(eval "$(instance_env "$DIR")"; echo "$INSTANCE_HAS_OVERLAY")"
for _ in $(seq 1 200); do [ "$(grep -c "info: following " "$DIR/ocspd/log")" -gt "$follows" ] && break; sleep 0.1; done
t_ok "the responder follows the restarted slapd within 20 s" test "$(grep -c "info: following " "$DIR/ocspd/log")" -gt "$follows"
# put FILE: written as the rootdn; returns once the responder has taken it (its state copy
# rewritten, or a refusal logged and half a second passed); fails after 10 s of neither.
put() {
	local refused logged="" i
	refused=$(grep -c " not used: " "$DIR/ocspd/log")
	touch "$T/mark"
	sleep 0.01
	ldif "$1" | instance_ldap "$DIR" ldapmodify >/dev/null || return 1
	for i in $(seq 1 100); do
		[ "$DIR/ocspd/state/repository.state" -nt "$T/mark" ] && return 0
		if [ -z "$logged" ] && [ "$(grep -c " not used: " "$DIR/ocspd/log")" -gt "$refused" ]; then
			logged=$i
		fi
		[ -n "$logged" ] && [ $((i - logged)) -ge 5 ] && return 0
		sleep 0.1
	done
	return 1	# neither taken nor refused in 10 s
}
restore=0
for c in "${cases[@]}"; do
	logn=$(wc -l < "$DIR/ocspd/log")
	t_ok "$c: written behind the overlay's back" put "${crl[$c]}"
	g1=$(status signature gen1 "$good1")
	r1=$(status signature gen1 "$rev1")
	if [ "$c" = hold ]; then
		t_match "$c: never answered from it: good1 good or tryLater, never revoked" "^(good|tryLater)$" "$g1"
		t_eq "$c: the entry's generation 2 CRL is still used: good2 good" good "$(status signature gen2 "$good2")"
	else
		t_match "$c: never answered from it: rev1 revoked or tryLater, never good" "^(revoked/affiliationChanged|tryLater)$" "$r1"
	fi
	t_match "$c: the responder logs the rule it refused it by" \
		"CRL [0-9]+ of $P1 not used: rule ${rule[$c]//[()]/.}" "$(tail -n +"$((logn + 1))" "$DIR/ocspd/log")"
	t_eq "$c: the last good data is still answered: good1 good, rev1 revoked" "good revoked/affiliationChanged" "$g1 $r1"
	[ "$c" = hold ] && break
	restore=$((restore + 1))
	put "$T/restore$restore/121002.crl"
	t_eq "$c: a newer good CRL after it is answered: good1 good, rev1 revoked" "good revoked/affiliationChanged" \
		"$(status signature gen1 "$good1") $(status signature gen1 "$rev1")"
	# From that CRL, not from the one kept before it: the answer's thisUpdate is the new CRL's.
	want=$(date -u -d "$(openssl crl -inform DER -in "$T/restore$restore/121002.crl" -noout -lastupdate | cut -d= -f2)" +%s)
	got=$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$rev1" -noverify | sed -n 's/^ *This Update: //p' | head -1)
	t_eq "$c: the answer's thisUpdate is the newer CRL's" "$want" "$(date -u -d "$got" +%s 2>/dev/null)"
done
# Another partition's CRL changes while the refused one stays: the next snapshot refuses it
# again unchecked (the same rules, the same marks, a recent check) and logs it as before.
P2="cn=122025,ou=CRL Distribution Points,$REPO_CA_DN"
logn=$(wc -l < "$DIR/ocspd/log")
printf 'dn: %s\nchangetype: modify\nreplace: certificateRevocationList;binary\n' "$P2" > "$T/p2.ldif"
printf 'certificateRevocationList;binary:< file://%s\n' "$T/restore4/122025.crl" "$T/g2/122025.crl" >> "$T/p2.ldif"
t_ok "another partition's newer CRL is written" instance_ldap "$DIR" ldapmodify -f "$T/p2.ldif"
for _ in $(seq 1 100); do
	tail -n +"$((logn + 1))" "$DIR/ocspd/log" | grep -q "refused again unchecked" && break
	sleep 0.1
done
after=$(tail -n +"$((logn + 1))" "$DIR/ocspd/log")
t_match "the next snapshot refuses the held CRL again without checking it" \
	"snapshot [0-9]+: 1 CRL\(s\) checked, [0-9]+ taken over unchanged, [0-9]+ kept for refused ones, 1 refused again unchecked" "$after"
t_match "…and logs the refusal as before" "CRL 1 of $P1 not used: rule .h. reasons" "$after"
t_eq "…and still answers from the last good data: good1 good, rev1 revoked" "good revoked/affiliationChanged" \
	"$(status signature gen1 "$good1") $(status signature gen1 "$rev1")"

# The state copy is the last good data too: without slapd, a restarted responder answers from it.
repo_ocspd_stop "$DIR"
instance_stop "$DIR"
from_copy() { REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI"; }
t_ok "restarted without slapd, answering from its state copy" from_copy
t_eq "from the state copy: good1 good, rev1 revoked (the refused CRL was not kept as good data)" \
	"good revoked/affiliationChanged" "$(status signature gen1 "$good1") $(status signature gen1 "$rev1")"
repo_ocspd_stop "$DIR"

# --- a cached answer never goes to a request OpenSSL cannot decode -------------------------------
# A cached answer is found by the CertIDs' bytes, without decoding the request; what is around
# them is still judged as d2i_OCSP_REQUEST judges it. With the loopback network allowed (no
# signature checked), good1's CertID is asked plainly (answered, then cached), then inside
# requests whose requestorName or signature OpenSSL cannot decode: malformedRequest, never the
# cached answer. A well-formed requestorName naming nobody registered is answered.
# oddreq OUT TBS-FIELD [SIG [CN-VALUE]]: good1's CertID (SHA-1), with TBS-FIELD (a genconf
# line, or "") before the requestList; SIG "badalg" adds a signature whose
# AlgorithmIdentifier holds a NULL and no OID; the Name a TBS-FIELD may use is CN=CN-VALUE.
oddreq() {
	local out=$1 field=$2 sig=${3:-} cn=${4:-UTF8:nobody}
	{
		printf 'asn1=SEQUENCE:req\n[req]\ntbs=SEQUENCE:tbs\n'
		[ "$sig" = badalg ] && printf 'sig=EXPLICIT:0,SEQUENCE:sig\n'
		printf '[tbs]\n%s\nlist=SEQUENCE:list\n[list]\none=SEQUENCE:one\n[one]\ncertid=SEQUENCE:certid\n' "$field"
		printf '[certid]\nalg=SEQUENCE:alg\nnh=FORMAT:HEX,OCTETSTRING:%s\nkh=FORMAT:HEX,OCTETSTRING:%s\n' "$NH1" "$KH1"
		printf 'serial=INTEGER:0x%s\n[alg]\noid=OID:sha1\nnull=NULL\n' "$S_GOOD1"
		printf '[sig]\nalg=SEQUENCE:badalg\nval=FORMAT:HEX,BITSTRING:AA\n[badalg]\nn=NULL\n'
		printf '[dn]\nrdn=SET:rdn\n[rdn]\natv=SEQUENCE:atv\n[atv]\noid=OID:commonName\nval=%s\n' "$cn"
	} > "$out.cnf"
	openssl asn1parse -genconf "$out.cnf" -out "$out" -noout >/dev/null 2>&1
}
# post REQ: sent as it is; the verdict on its answer.
post() {
	curl -s --max-time 10 -H 'Content-Type: application/ocsp-request' --data-binary @"$1" -o "$1.resp" "$URL"
	openssl ocsp -respin "$1.resp" -resp_text -noverify 2>&1 | verdict
}
allowing() { REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI" --allow-network 127.0.0.0/8; }
t_ok "restarted from its state copy, allowing the loopback network" allowing
oddreq "$T/odd-plain.der" ""
t_eq "good1 asked plainly: good" good "$(post "$T/odd-plain.der")"
t_eq "asked again: good" good "$(post "$T/odd-plain.der")"
t_match "…from the cache" '"cache":"hit"' "$(last_ocspd)"
oddreq "$T/odd-name.der" "name=EXPLICIT:1,EXPLICIT:4,SEQUENCE:dn"
t_eq "with a requestorName naming nobody registered: good" good "$(post "$T/odd-name.der")"
oddreq "$T/odd-null-cn.der" "name=EXPLICIT:1,EXPLICIT:4,SEQUENCE:dn" "" NULL
t_eq "with a requestorName whose CN is a NULL: malformedRequest, not the cached answer" \
	malformedRequest "$(post "$T/odd-null-cn.der")"
oddreq "$T/odd-rid.der" "name=EXPLICIT:1,IMPLICIT:8,OCTETSTRING:"
t_eq "with a requestorName that is an empty registeredID: malformedRequest" malformedRequest \
	"$(post "$T/odd-rid.der")"
oddreq "$T/odd-alg.der" "" badalg
t_eq "with a signature whose algorithm has no OID: malformedRequest" malformedRequest "$(post "$T/odd-alg.der")"
t_eq "the CertID asked plainly once more: good" good "$(post "$T/odd-plain.der")"
repo_ocspd_stop "$DIR"

# --- 6. what the responder cannot answer as it stands (RFC 6960 4.1.1, 4.4) ----------------------
# From its state copy, signatures required. extreq OUT VERSION WHERE CRITICAL OID [VALUE-HEX]:
# good1's CertID (SHA-1), the version given ("" for none), and an extension OID (critical
# when CRITICAL is 1) in the requestExtensions (WHERE req) or the Request's
# singleRequestExtensions (single), or none (WHERE -); its value a NULL unless given.
extreq() {
	local out=$1 version=$2 where=$3 crit=$4 oid=$5 value=${6:-0500}
	{
		printf 'asn1=SEQUENCE:req\n[req]\ntbs=SEQUENCE:tbs\n[tbs]\n'
		[ -z "$version" ] || printf 'version=EXPLICIT:0,INTEGER:%s\n' "$version"
		printf 'list=SEQUENCE:list\n'
		[ "$where" = req ] && printf 'exts=EXPLICIT:2,SEQUENCE:exts\n'
		printf '[list]\none=SEQUENCE:one\n[one]\ncertid=SEQUENCE:certid\n'
		[ "$where" = single ] && printf 'exts=EXPLICIT:0,SEQUENCE:exts\n'
		printf '[certid]\nalg=SEQUENCE:alg\nnh=FORMAT:HEX,OCTETSTRING:%s\nkh=FORMAT:HEX,OCTETSTRING:%s\n' "$NH1" "$KH1"
		printf 'serial=INTEGER:0x%s\n[alg]\noid=OID:sha1\nnull=NULL\n' "$S_GOOD1"
		printf '[exts]\next=SEQUENCE:ext\n[ext]\noid=OID:%s\n' "$oid"
		[ "$crit" = 1 ] && printf 'crit=BOOLEAN:TRUE\n'
		printf 'val=FORMAT:HEX,OCTETSTRING:%s\n' "$value"
	} > "$out.cnf"
	openssl asn1parse -genconf "$out.cnf" -out "$out" -noout >/dev/null 2>&1
}
t_ok "restarted from its state copy, signatures required" from_copy
NONCE_OID=1.3.6.1.5.5.7.48.1.2
ACCEPTABLE_OID=1.3.6.1.5.5.7.48.1.4
ACCEPT_BASIC=300B06092B0601050507300101	# SEQUENCE { id-pkix-ocsp-basic }
extreq "$T/x-plain.der" "" - 0 1.2.3.4
t_eq "good1 asked, signed, without a nonce: good" good "$(crafted signature "$T/x-plain.der" -noverify | verdict)"
t_eq "asked again: good" good "$(crafted signature "$T/x-plain.der" -noverify | verdict)"
t_match "…from the cache" '"cache":"hit"' "$(last_ocspd)"
extreq "$T/x-crit.der" "" req 1 1.2.3.4
t_eq "a critical unknown extension (1.2.3.4) in requestExtensions: malformedRequest, not the cached answer" \
	malformedRequest "$(crafted signature "$T/x-crit.der" -noverify | verdict)"
t_match "…recorded as malformedRequest, naming RFC 6960 4.4 and the extension" '"result":"malformedRequest: RFC 6960 4.4: critical extension 1.2.3.4 in requestExtensions' "$(last_ocspd)"
extreq "$T/x-single.der" "" single 1 1.2.3.4
t_eq "a critical unknown extension in singleRequestExtensions: malformedRequest" malformedRequest \
	"$(crafted signature "$T/x-single.der" -noverify | verdict)"
extreq "$T/x-single-nonce.der" "" single 1 "$NONCE_OID" "$(wrapped 8 "$(hexbytes 8)")"
t_eq "a critical nonce in singleRequestExtensions (only requestExtensions' is answered): malformedRequest" \
	malformedRequest "$(crafted signature "$T/x-single-nonce.der" -noverify | verdict)"
extreq "$T/x-noncrit.der" "" req 0 1.2.3.4
t_eq "the same extension not critical: good" good "$(crafted signature "$T/x-noncrit.der" -noverify | verdict)"
extreq "$T/x-single-noncrit.der" "" single 0 1.2.3.4
t_eq "…and not critical in singleRequestExtensions: good" good \
	"$(crafted signature "$T/x-single-noncrit.der" -noverify | verdict)"
nonce=$(wrapped 16 "$(hexbytes 16)")
extreq "$T/x-nonce.der" "" req 1 "$NONCE_OID" "$nonce"
out=$(crafted signature "$T/x-nonce.der" -noverify)
t_eq "a critical nonce in requestExtensions (understood): good, the nonce echoed" "good $nonce" \
	"$(verdict <<<"$out") $(answer_nonce <<<"$out")"
extreq "$T/x-accept.der" "" req 1 "$ACCEPTABLE_OID" "$ACCEPT_BASIC"
t_eq "a critical acceptableResponses naming id-pkix-ocsp-basic (understood): good" good \
	"$(crafted signature "$T/x-accept.der" -noverify | verdict)"
# dupreq OUT WHERE OID [VALUE-HEX [VALUE2-HEX]]: good1's CertID (SHA-1) with the extension
# OID (not critical) twice, the first time with VALUE, the second with VALUE2, in the
# requestExtensions (WHERE req) or the Request's singleRequestExtensions (single); or once in
# each (WHERE both). Values a NULL unless given.
dupreq() {
	local out=$1 where=$2 oid=$3 value=${4:-0500} value2=${5:-${4:-0500}}
	{
		printf 'asn1=SEQUENCE:req
[req]
tbs=SEQUENCE:tbs
[tbs]
list=SEQUENCE:list
'
		case $where in
		req) printf 'exts=EXPLICIT:2,SEQUENCE:two
' ;;
		both) printf 'exts=EXPLICIT:2,SEQUENCE:first
' ;;
		esac
		printf '[list]
one=SEQUENCE:one
[one]
certid=SEQUENCE:certid
'
		case $where in
		single) printf 'exts=EXPLICIT:0,SEQUENCE:two
' ;;
		both) printf 'exts=EXPLICIT:0,SEQUENCE:second
' ;;
		esac
		printf '[certid]
alg=SEQUENCE:alg
nh=FORMAT:HEX,OCTETSTRING:%s
kh=FORMAT:HEX,OCTETSTRING:%s
' "$NH1" "$KH1"
		printf 'serial=INTEGER:0x%s
[alg]
oid=OID:sha1
null=NULL
' "$S_GOOD1"
		printf '[two]
e1=SEQUENCE:ext1
e2=SEQUENCE:ext2
[first]
e1=SEQUENCE:ext1
[second]
e2=SEQUENCE:ext2
'
		printf '[ext1]
oid=OID:%s
val=FORMAT:HEX,OCTETSTRING:%s
' "$oid" "$value"
		printf '[ext2]
oid=OID:%s
val=FORMAT:HEX,OCTETSTRING:%s
' "$oid" "$value2"
	} > "$out.cnf"
	openssl asn1parse -genconf "$out.cnf" -out "$out" -noout >/dev/null 2>&1
}
dupreq "$T/x-two-nonces.der" req "$NONCE_OID" "$(wrapped 16 "$(hexbytes 16)")" "$(wrapped 16 "$(hexbytes 16)")"
t_eq "openssl reads the request with two nonces as two extensions" 2 \
	"$(openssl ocsp -reqin "$T/x-two-nonces.der" -req_text 2>&1 | grep -c 'OCSP Nonce:')"
t_eq "two nonces in requestExtensions (RFC 5280 4.2): malformedRequest" malformedRequest \
	"$(crafted signature "$T/x-two-nonces.der" -noverify | verdict)"
t_match "…recorded as malformedRequest, naming RFC 5280 4.2 and the nonce" \
	'"result":"malformedRequest: RFC 5280 4.2: extension 1.3.6.1.5.5.7.48.1.2 more than once in requestExtensions"' \
	"$(last_ocspd)"
dupreq "$T/x-two-accept.der" req "$ACCEPTABLE_OID" "$ACCEPT_BASIC"
t_eq "two acceptableResponses, no nonce: malformedRequest, not the cached answer" malformedRequest \
	"$(crafted signature "$T/x-two-accept.der" -noverify | verdict)"
dupreq "$T/x-two-single.der" single 1.2.3.4
t_eq "an unknown extension twice in singleRequestExtensions: malformedRequest, not the cached answer" \
	malformedRequest "$(crafted signature "$T/x-two-single.der" -noverify | verdict)"
t_match "…recorded naming RFC 5280 4.2 and singleRequestExtensions" \
	'"result":"malformedRequest: RFC 5280 4.2: extension 1.2.3.4 more than once in singleRequestExtensions"' \
	"$(last_ocspd)"
dupreq "$T/x-each.der" both 1.2.3.4
t_eq "the same extension once in requestExtensions and once in singleRequestExtensions: good" good \
	"$(crafted signature "$T/x-each.der" -noverify | verdict)"
extreq "$T/x-v2.der" 1 - 0 1.2.3.4
t_eq "version 2 (INTEGER 1): malformedRequest" malformedRequest "$(crafted signature "$T/x-v2.der" -noverify | verdict)"
extreq "$T/x-v1.der" 0 - 0 1.2.3.4
t_eq "version v1 spelt out (INTEGER 0): good" good "$(crafted signature "$T/x-v1.der" -noverify | verdict)"
t_match "the daemon still answers" "^good$" "$(status signature gen1 "$good1")"

# --- 7. the signature's algorithm: SHA-256 or stronger ---------------------------------------------
# resign OUT SIG-ALG-HEX openssl-dgst-options…: $T/sa.der (signed by the signature verifier,
# no certificates) with its tbsRequest signed anew by the same key with those options,
# under that AlgorithmIdentifier (hex, whole). DER written by hand: tlv TAG HEX.
tlv() {
	local n=$(( ${#2} / 2 ))
	if [ "$n" -lt 128 ]; then printf '%s%02X%s' "$1" "$n" "$2"
	elif [ "$n" -lt 256 ]; then printf '%s81%02X%s' "$1" "$n" "$2"
	else printf '%s82%04X%s' "$1" "$n" "$2"; fi
}
hexof() { od -An -tx1 -v "$1" | tr -d ' \n' | tr a-f A-F; }
unhex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" > "$2"; }
openssl ocsp -issuer "$PKI/ca/gen1.pem" -cert "$good1" -no_nonce -no_certs -signer "$V/signature.pem" \
	-signkey "$V/signature.key" -reqout "$T/sa.der" >/dev/null 2>&1
read -r tbs_off tbs_hl tbs_l <<<"$(openssl asn1parse -inform DER -in "$T/sa.der" |
	sed -n '2s/^ *\([0-9]*\):d=1 *hl=\([0-9]*\) *l= *\([0-9]*\) cons: SEQUENCE.*/\1 \2 \3/p')"
tail -c +$((tbs_off + 1)) "$T/sa.der" | head -c $((tbs_hl + tbs_l)) > "$T/sa.tbs"
resign() {
	local out=$1 alg=$2
	shift 2
	openssl dgst "$@" -sign "$V/signature.key" -out "$out.sig" "$T/sa.tbs" || return 1
	unhex "$(tlv 30 "$(hexof "$T/sa.tbs")$(tlv A0 "$(tlv 30 "$alg$(tlv 03 "00$(hexof "$out.sig")")")")")" "$out"
}
RSA_OID=2A864886F70D0101	# pkcs-1, its arcs below
SHA256_ALG=$(tlv 30 "$(tlv 06 608648016503040201)0500")
PSS_SHA256=$(tlv 30 "$(tlv A0 "$SHA256_ALG")$(tlv A1 "$(tlv 30 "$(tlv 06 "${RSA_OID}08")$SHA256_ALG")")$(tlv A2 020120)")
sigalg() { case $1 in
	pss) tlv 30 "$(tlv 06 "${RSA_OID}0A")$2" ;;
	*) tlv 30 "$(tlv 06 "$RSA_OID$1")0500" ;;
esac; }
t_ok "the request re-signed with sha256WithRSAEncryption as openssl signs it (control): the same bytes" \
	cmp -s <(resign "$T/s256.der" "$(sigalg 0B)" -sha256 && cat "$T/s256.der") "$T/sa.der"
resign "$T/pss256.der" "$(sigalg pss "$PSS_SHA256")" -sha256 -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256
t_eq "RSA-PSS with SHA-256 (control): good" good \
	"$(openssl ocsp -reqin "$T/pss256.der" -no_nonce -url "$URL" -resp_text -noverify 2>&1 | verdict)"
t_eq "good1 asked with the SHA-256 request, without a nonce: good (and cached)" good \
	"$(openssl ocsp -reqin "$T/sa.der" -no_nonce -url "$URL" -resp_text -noverify 2>&1 | verdict)"
openssl x509 -in "$V/signature.pem" -pubkey -noout > "$T/signature.pub"
# RSA-PSS with its parameters left out (an empty SEQUENCE): SHA-1, MGF1 with SHA-1, salt 20.
for c in "s1 sha1WithRSAEncryption SHA1 05 -sha1" "md5 md5WithRSAEncryption MD5 04 -md5" \
	"pss1 rsassaPss SHA1 pss -sha1 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20"; do
	read -r f name md alg opts <<<"$c"
	# shellcheck disable=SC2086
	resign "$T/$f.der" "$(if [ "$alg" = pss ]; then sigalg pss 3000; else sigalg "$alg"; fi)" $opts
	# shellcheck disable=SC2086
	t_ok "the $name signature verifies over the tbsRequest with the verifier's key" \
		openssl dgst $opts -verify "$T/signature.pub" -signature "$T/$f.der.sig" "$T/sa.tbs"
	t_match "…and openssl reads the request, signed with $name" "Signature Algorithm: $name" \
		"$(openssl ocsp -reqin "$T/$f.der" -req_text 2>&1)"
	t_eq "signed with $name by a registered verifier: unauthorized, not the cached answer" unauthorized \
		"$(openssl ocsp -reqin "$T/$f.der" -no_nonce -url "$URL" -resp_text -noverify 2>&1 | verdict)"
	t_match "…recorded with the rule and the algorithm, for no verifier" \
		"\"result\":\"unauthorized: rule signature-algorithm: the request is signed with $name \\(digest $md\\); a signature needs SHA-256 or stronger\",\"identity\":\"\",\"auth\":\"signature\"" \
		"$(last_ocspd)"
done
t_match "…and logged with the rule" "refused a signed request: rule signature-algorithm: the request is signed with rsassaPss" \
	"$(tail -3 "$DIR/ocspd/log")"

# --- 8. HTTP: HEAD, 304, who a cache may serve, Last-Modified, Content-Type ----------------------
HP=$(jpki_free_port)
with_https() {
	REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI" --https-port "$HP" --https-cert "$PKI/tls/server.pem" \
		--https-key "$PKI/tls/server.key" --https-client-ca "$V/ca.pem"
}
t_ok "restarted from its state copy with an HTTPS listener" with_https
PORT=$(cat "$DIR/ocspd/port")
urlenc() { base64 -w0 < "$1" | sed -e 's|+|%2B|g' -e 's|/|%2F|g' -e 's|=|%3D|g'; }
hdr() { sed -n "s/^$1: *//Ip" "$2" | tr -d '\r' | head -1; }
epoch() { date -u -d "$1" +%s 2>/dev/null; }
# raw FILE METHOD PATH [HEADER…]: requests on one connection, as sent (the last one closes it);
# a request is METHOD PATH [HEADER…] and a "--" before the next. Everything answered into FILE.
raw() {
	local out=$1 first=1
	shift
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	{
		while [ $# -gt 0 ]; do
			[ "$first" = 1 ] || printf '\r\n'
			first=0
			printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n' "$1" "$2"
			shift 2
			while [ $# -gt 0 ] && [ "$1" != -- ]; do printf '%s\r\n' "$1"; shift; done
			[ $# -gt 0 ] && shift || printf 'Connection: close\r\n'
		done
		printf '\r\n'
	} >&3
	timeout 5 cat <&3 > "$out"
	exec 3<&-
}
# The bytes after the first response's headers in a raw answer.
after_headers() { echo $(( $(stat -c %s "$1") - $(sed -n "1,/^"$'\r'"\$/p" "$1" | wc -c) )); }

SA=$(urlenc "$T/sa.der")	# signed by the signature verifier (SHA-256), no nonce
code=$(curl -s -o "$T/g.der" -D "$T/g.h" -w '%{http_code}' "$URL$SA")
t_eq "GET of a signed request: 200, good" "200 good" "$code $(openssl ocsp -respin "$T/g.der" -resp_text -noverify 2>&1 | verdict)"
t_match "…Cache-Control private: the answer is that verifier's, no shared cache hands it on" \
	'^max-age=[0-9]+, private, no-transform, must-revalidate$' "$(hdr Cache-Control "$T/g.h")"
this=$(openssl ocsp -respin "$T/g.der" -resp_text -noverify | sed -n 's/^ *This Update: //p' | head -1)
produced=$(openssl ocsp -respin "$T/g.der" -resp_text -noverify | sed -n 's/^ *Produced At: //p' | head -1)
t_ok "…(its thisUpdate, the CRL's, is older than its producedAt)" test "$(epoch "$this")" -lt "$(epoch "$produced")"
t_eq "…Last-Modified is the answer's thisUpdate (RFC 5019 6.2)" "$(epoch "$this")" "$(epoch "$(hdr Last-Modified "$T/g.h")")"
t_ok "…not after Date" test "$(epoch "$(hdr Last-Modified "$T/g.h")")" -le "$(epoch "$(hdr Date "$T/g.h")")"
etag=$(hdr ETag "$T/g.h")
glen=$(stat -c %s "$T/g.der")

# HEAD: the GET's headers, no body (RFC 9110 9.3.2).
t_eq "HEAD of the same request: 200, nothing downloaded" "200 0" \
	"$(curl -s --head -o /dev/null -D "$T/h.h" -w '%{http_code} %{size_download}' "$URL$SA")"
t_eq "…Content-Type, Content-Length, ETag and Cache-Control as the GET's" \
	"application/ocsp-response $glen $etag $(hdr Cache-Control "$T/g.h")" \
	"$(hdr Content-Type "$T/h.h") $(hdr Content-Length "$T/h.h") $(hdr ETag "$T/h.h") $(hdr Cache-Control "$T/h.h")"
raw "$T/head.raw" HEAD "/$SA"
t_eq "…no body on the wire" "HTTP/1.1 200 OK 0" "$(head -1 "$T/head.raw" | tr -d '\r') $(after_headers "$T/head.raw")"
t_match "…recorded like a GET" '"result":"ok","identity":"uid=signature,' "$(last_ocspd)"

# 304: no Content-Length but the 200's (RFC 9110 8.6), no body; the connection goes on.
raw "$T/304.raw" GET "/$SA" "If-None-Match: $etag"
t_eq "If-None-Match with the ETag: 304, Content-Length the 200's, no body" "HTTP/1.1 304 Not Modified $glen 0" \
	"$(head -1 "$T/304.raw" | tr -d '\r') $(hdr Content-Length "$T/304.raw") $(after_headers "$T/304.raw")"
t_eq "…with the 200's ETag, Cache-Control and Last-Modified, no Content-Type" \
	"$etag|$(hdr Cache-Control "$T/g.h")|$(hdr Last-Modified "$T/g.h")|" \
	"$(hdr ETag "$T/304.raw")|$(hdr Cache-Control "$T/304.raw")|$(hdr Last-Modified "$T/304.raw")|$(hdr Content-Type "$T/304.raw")"
t_eq "HEAD with the ETag: 304 too" "304" "$(curl -s --head -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL$SA")"
# If-Modified-Since is not used: a date cannot tell every change (another partition's newer
# CRL changes a "good" answer's nextUpdate and leaves its thisUpdate), the ETag can.
lm=$(hdr Last-Modified "$T/g.h")
lm_s=$(epoch "$lm")
httpdate() { LC_ALL=C date -u -d "@$1" "${2:-+%a, %d %b %Y %H:%M:%S GMT}"; }
http_code() { curl -s -o "$T/c.der" -D "$T/c.h" -w '%{http_code}' "$@"; }
t_eq "…(Last-Modified is an IMF-fixdate)" "$lm" "$(httpdate "$lm_s")"
t_eq "If-Modified-Since equal to Last-Modified: not used, 200 with the answer" "200 good" \
	"$(http_code -H "If-Modified-Since: $lm" "$URL$SA") $(openssl ocsp -respin "$T/c.der" -resp_text -noverify 2>&1 | verdict)"
t_eq "If-None-Match the ETag beside it: 304" 304 \
	"$(http_code -H "If-None-Match: $etag" -H "If-Modified-Since: $(httpdate $((lm_s - 1)))" "$URL$SA")"
raw "$T/two.raw" GET "/$SA" "If-None-Match: $etag" -- GET "/$SA"
t_eq "a 304 and a GET on one connection: 304, then 200 with the whole answer after it" "304 200 $glen" \
	"$(grep -a '^HTTP/1.1 ' "$T/two.raw" | awk '{ printf "%s ", $2 }')$(tail -c "$glen" "$T/two.raw" | cmp -s - "$T/g.der" && echo "$glen")"

# HTTPS with a registered client certificate: private too.
openssl ocsp -issuer "$PKI/ca/gen1.pem" -cert "$good1" -no_nonce -reqout "$T/unsigned.der" >/dev/null 2>&1
US=$(urlenc "$T/unsigned.der")
code=$(curl -s --cacert "$PKI/tls/ca.pem" --cert "$V/signature.pem" --key "$V/signature.key" -o "$T/tls.der" \
	-D "$T/tls.h" -w '%{http_code}' "https://127.0.0.1:$HP/$US")
t_eq "HTTPS GET with a registered client certificate: 200, good" "200 good" \
	"$code $(openssl ocsp -respin "$T/tls.der" -resp_text -noverify 2>&1 | verdict)"
t_match "…Cache-Control private" '^max-age=[0-9]+, private, no-transform, must-revalidate$' "$(hdr Cache-Control "$T/tls.h")"
t_eq "the unsigned request by plain HTTP: sigRequired, not to be stored" "sigRequired no-store" \
	"$(curl -s -o "$T/u.der" -D "$T/u.h" "$URL$US"; openssl ocsp -respin "$T/u.der" -resp_text -noverify 2>&1 | verdict) $(hdr Cache-Control "$T/u.h")"

# POST: application/ocsp-request, or no Content-Type at all; another type 415.
out=$(curl -s -v -o "$T/p.der" -w 'HTTP %{http_code}' -H 'Content-Type:' --data-binary @"$T/sa.der" "$URL" 2>&1)
t_not "curl sends the POST without a Content-Type" grep -qi '^> Content-Type' <<<"$out"
t_eq "POST without a Content-Type: 200, good" "200 good" \
	"$(sed -n 's/^HTTP \([0-9]*\)$/\1/p' <<<"$out") $(openssl ocsp -respin "$T/p.der" -resp_text -noverify 2>&1 | verdict)"
t_eq "POST of another body without a Content-Type: malformedRequest" malformedRequest \
	"$(printf 'a=b' | curl -s -H 'Content-Type:' --data-binary @- -o "$T/p2.der" "$URL";
	   openssl ocsp -respin "$T/p2.der" -resp_text -noverify 2>&1 | verdict)"
for ct in "text/plain" "application/ocsp-response" ""; do
	h="Content-Type: $ct"
	[ -n "$ct" ] || h="Content-Type;"	# curl's way to send it empty
	code=$(curl -s -o "$T/ct.txt" -w '%{http_code}' -H "$h" --data-binary @"$T/sa.der" "$URL")
	t_eq "POST with Content-Type '$ct': 415 naming RFC 6960 A.1" \
		"415 RFC 6960 A.1: Content-Type must be application/ocsp-request (not ${ct:-empty})" "$code $(cat "$T/ct.txt")"
done
t_eq "openssl ocsp POSTs as before: good" good \
	"$(openssl ocsp -reqin "$T/sa.der" -no_nonce -url "$URL" -resp_text -noverify 2>&1 | verdict)"
t_eq "other methods: 405, Allow: GET, HEAD, POST" "405 GET, HEAD, POST" \
	"$(curl -s -o /dev/null -D "$T/put.h" -w '%{http_code}' -X PUT --data x "$URL") $(hdr Allow "$T/put.h")"

# From an allowed network, unauthenticated: public; the signature is not what lets it in.
t_ok "restarted allowing the loopback network" allowing
code=$(curl -s -o "$T/n.der" -D "$T/n.h" -w '%{http_code}' "$URL$US")
t_eq "the unsigned GET from the allowed network: 200, good" "200 good" \
	"$code $(openssl ocsp -respin "$T/n.der" -resp_text -noverify 2>&1 | verdict)"
t_match "…Cache-Control public (RFC 5019 6.2)" '^max-age=[0-9]+, public, no-transform, must-revalidate$' \
	"$(hdr Cache-Control "$T/n.h")"
t_eq "the SHA-1 signed request from the allowed network: good (access by network)" good \
	"$(openssl ocsp -reqin "$T/s1.der" -no_nonce -url "$URL" -resp_text -noverify 2>&1 | verdict)"
t_eq "a critical unknown extension from the allowed network: malformedRequest all the same" malformedRequest \
	"$(post "$T/x-crit.der")"
repo_ocspd_stop "$DIR"

# --- 9. Last-Modified and Expires of an answer with two CertIDs ------------------------------------
# good2 (partition 121002) and serial 7B0001 (122050), both good: each thisUpdate is the key's
# oldest CRL's. Partition 122050 republished revoking 7B0001 changes the answer while good2's
# thisUpdate stays that oldest one: no date tells that change, so an answer with several
# CertIDs has no Last-Modified (a shared cache would answer If-Modified-Since from it), and a
# cache revalidating by ETag gets the new answer. Expires is the earliest nextUpdate.
# Generation 2, whose CRLs section 5 left alone.
P3="cn=122050,ou=CRL Distribution Points,$REPO_CA_DN"
t_ok "slapd (without the overlay, as section 5 left it) starts again" instance_start "$DIR"
t_ok "the responder starts and follows it" repo_ocspd_start "$DIR" "$PKI"
PORT=$(cat "$DIR/ocspd/port")
openssl ocsp -issuer "$PKI/ca/gen2.pem" -cert "$good2" -serial 0x7B0001 -no_nonce -signer "$V/signature.pem" \
	-signkey "$V/signature.key" -reqout "$T/ab.der" >/dev/null 2>&1
AB=$(urlenc "$T/ab.der")
openssl ocsp -issuer "$PKI/ca/gen2.pem" -serial 0x7B0001 -no_nonce -signer "$V/signature.pem" \
	-signkey "$V/signature.key" -reqout "$T/b.der" >/dev/null 2>&1
B=$(urlenc "$T/b.der")
# times FILE: "THISUPDATES|NEXTUPDATES" of an answer, each epoch, in the CertIDs' order.
times() {
	local text
	text=$(openssl ocsp -respin "$1" -resp_text -noverify 2>/dev/null)
	printf '%s|%s' "$(sed -n 's/^ *This Update: //p' <<<"$text" | while read -r d; do epoch "$d"; done | xargs)" \
		"$(sed -n 's/^ *Next Update: //p' <<<"$text" | while read -r d; do epoch "$d"; done | xargs)"
}
code=$(curl -s -o "$T/ab1.der" -D "$T/ab1.h" -w '%{http_code}' "$URL$AB")
t_eq "GET of good2 and serial 7B0001: 200, good good" "200 good good" \
	"$code $(openssl ocsp -respin "$T/ab1.der" -resp_text -noverify 2>&1 | verdict)"
t_eq "…no Last-Modified (a shared cache would answer If-Modified-Since from it)" "" "$(hdr Last-Modified "$T/ab1.h")"
etag_ab=$(hdr ETag "$T/ab1.h")
read -r tu1 _ <<<"$(times "$T/ab1.der" | cut -d'|' -f1)"
t_eq "…If-None-Match its ETag: 304" 304 "$(http_code -H "If-None-Match: $etag_ab" "$URL$AB")"
code=$(curl -s -o "$T/b1.der" -D "$T/b1.h" -w '%{http_code}' "$URL$B")
t_eq "GET of serial 7B0001 alone: 200, good" "200 good" "$code $(openssl ocsp -respin "$T/b1.der" -resp_text -noverify 2>&1 | verdict)"
etag_b=$(hdr ETag "$T/b1.h")
t_eq "…Last-Modified its thisUpdate (RFC 5019 6.2)" "$(times "$T/b1.der" | cut -d'|' -f1)" "$(epoch "$(hdr Last-Modified "$T/b1.h")")"
{ cat "$PKI/ledger/gen2.csv"; echo "7B0001,$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ),1,122050"; } > "$T/ledger-b.csv"
mkdir -p "$T/g2b"
"$JPKI" crl issue --ca-cert "$PKI/ca/gen2.pem" --ca-key "$(cat "$PKI/ca/gen2.key.uri")" --ledger "$T/ledger-b.csv" \
	--crl-number 200 --out "$T/g2b" >/dev/null
printf 'dn: %s\nchangetype: modify\nreplace: certificateRevocationList;binary\n' "$P3" > "$T/p3.ldif"
printf 'certificateRevocationList;binary:< file://%s\n' "$T/g1/122050.crl" "$T/g2b/122050.crl" >> "$T/p3.ldif"
t_ok "partition 122050 republished, revoking 7B0001" instance_ldap "$DIR" ldapmodify -f "$T/p3.ldif"
b_revoked() { [ "$(ask signature -issuer "$PKI/ca/gen2.pem" -serial 0x7B0001 -noverify | verdict)" = revoked/keyCompromise ]; }
for _ in $(seq 1 100); do b_revoked && break; sleep 0.1; done
t_ok "…the responder answers 7B0001 revoked within 10 s" b_revoked
t_eq "If-None-Match the first answer's ETag: 200 with the new answer, 7B0001 revoked" \
	"200 good revoked/keyCompromise" \
	"$(http_code -H "If-None-Match: $etag_ab" "$URL$AB") $(openssl ocsp -respin "$T/c.der" -resp_text -noverify 2>&1 | verdict)"
read -r tu_a tu_b <<<"$(times "$T/c.der" | cut -d'|' -f1)"
read -r nu_a nu_b <<<"$(times "$T/c.der" | cut -d'|' -f2)"
t_ok "…(good2's thisUpdate is still the first answer's, 7B0001's the new CRL's, later)" \
	test "$tu_a" = "$tu1" -a "$tu_b" -gt "$tu_a"
t_eq "…no Last-Modified" "" "$(hdr Last-Modified "$T/c.h")"
t_ok "…(good2's nextUpdate, the key's earliest, is before 7B0001's)" test "$nu_a" -lt "$nu_b"
t_eq "…Expires the earliest nextUpdate (good2's)" "$nu_a" "$(epoch "$(hdr Expires "$T/c.h")")"
t_eq "7B0001 alone, If-None-Match its first ETag: 200 with the new answer, revoked" \
	"200 revoked/keyCompromise" \
	"$(http_code -H "If-None-Match: $etag_b" "$URL$B") $(openssl ocsp -respin "$T/c.der" -resp_text -noverify 2>&1 | verdict)"
repo_ocspd_stop "$DIR"

t_done
