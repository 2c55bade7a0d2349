#!/usr/bin/env bash
# jpki-ocspd against the real slapd, SoftHSMv2 and two independent clients (openssl ocsp and
# GnuTLS's ocsptool): statuses of both generations, every reason, unknown issuers, several
# CertIDs (both CA keys in one request refused, an unserved issuer beside a served one signed
# for the served one), GET and POST, nonces, who may ask, a CRL published through LDAP seen
# within 1 s, slapd stopped (answers from the disk copy until nextUpdate, then tryLater), a
# partition past nextUpdate, malformed bodies that leave the daemon serving, and the responder
# key and certificates checked at start and at SIGHUP (a bad one refuses the start, or the
# reload while the running key goes on; a token away at start does not stop it), and
# registry-max-age (slapd stopped: signed requests and client certificates answered until the
# registry's last confirmation is that old, then tryLater, an allowed network's still
# answered; the same from the state copy; slapd back, all answered again).
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
FAKE=$(jpki_faketime_lib libfaketimeMT.so.1)
V=$PKI/verifiers

repo_init "$DIR" "$PKI" || { t_fail "repository starts"; t_done; exit 1; }
repo_publish_ca "$DIR" "$PKI" >/dev/null
repo_issue "$DIR" "$PKI" gen1 "$T/g1" >/dev/null
repo_issue "$DIR" "$PKI" gen2 "$T/g2" >/dev/null
repo_publish "$DIR" publisher "$T/g1" "$T/g2" >/dev/null
repo_add_verifiers "$DIR" "$PKI" || t_fail "verifiers registered"
t_cleanup_add "repo_ocspd_stop '$DIR'"
t_ok "jpki-ocspd starts and follows the repository" repo_ocspd_start "$DIR" "$PKI"
URL=$(repo_ocspd_url "$DIR")

# ask [WHO] openssl-ocsp-args…: WHO is a verifier name (signs the request) or "-" (unsigned).
ask() {
	local who=$1
	shift
	if [ "$who" = - ]; then
		openssl ocsp -url "$URL" "$@" 2>&1
	else
		openssl ocsp -url "$URL" -signer "$V/$who.pem" -signkey "$V/$who.key" "$@" 2>&1
	fi
}
user() { ls "$PKI"/users/"$1"/gen"$2"-* | head -1; }
# within SECONDS CMD…: CMD succeeds within that many seconds (tried every 0.1 s); prints yes or no.
within() {
	local end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 ))
	shift
	while :; do
		"$@" && { echo yes; return 0; }
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || { echo no; return 1; }
		sleep 0.1
	done
}
good1=$(user good 1) good2=$(user good 2)

out=$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -CAfile "$PKI/ca/gen1.pem")
t_match "generation 1 good, response verified with generation 1" "Response verify OK.*: good" "$(tr '\n' ' ' <<<"$out")"
t_not "the nonce is echoed (openssl warns when it is not)" grep -qi "nonce" <<<"$out"
out=$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")
t_match "generation 2 good, response verified with generation 2" "Response verify OK.*: good" "$(tr '\n' ' ' <<<"$out")"
for r in keyCompromise cACompromise affiliationChanged superseded cessationOfOperation; do
	for g in 1 2; do
		out=$(ask group -issuer "$PKI/ca/gen$g.pem" -cert "$(user "revoked/$r" "$g")" -CAfile "$PKI/ca/gen$g.pem")
		t_match "generation $g revoked: $r" "revoked.*Reason: $r" "$(tr '\n' ' ' <<<"$out")"
	done
done
out=$(ask signature -issuer "$PKI/bridge/bridge.pem" -serial 0x1234 -VAfile "$PKI/ocsp/responder.pem")
t_match "an issuer it does not serve: unknown" "0x1234: unknown" "$out"
out=$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -cert "$(user revoked/superseded 1)" \
	-cert "$(ls "$PKI"/users/good/gen1-* | sed -n 2p)" -CAfile "$PKI/ca/gen1.pem")
t_eq "three CertIDs in one request: three answers" 3 "$(grep -cE ': (good|revoked)$' <<<"$out")"
# CertIDs of both CA keys in one request: a response has one signature and a responder
# certificate speaks only for the CA key that issued it (RFC 6960 4.2.2.2), so no single
# response verifies for both: malformedRequest, in either order, logged with the rule.
logn=$(wc -l < "$DIR/ocspd/log")
t_match "CertIDs of generations 1 and 2 in one request: malformedRequest" "malformedrequest \(1\)" \
	"$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/all.pem")"
t_match "CertIDs of generations 2 and 1, no nonce: malformedRequest" "malformedrequest \(1\)" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -issuer "$PKI/ca/gen1.pem" -cert "$good1" -no_nonce)"
t_eq "both refusals are logged naming the rule" 2 \
	"$(tail -n +"$((logn + 1))" "$DIR/ocspd/log" | grep -c "rule one-ca-key (RFC 6960 4.2.2.2)")"
out=$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -sha256 -cert "$(ls "$PKI"/users/good/gen1-* | sed -n 2p)" \
	-CAfile "$PKI/ca/gen1.pem")
t_match "one CA key through two digests (SHA-1, SHA-256) is one key: answered and verified" \
	"Response verify OK.*: good.*: good" "$(tr '\n' ' ' <<<"$out")"
# With an issuer it does not serve, a request stays answerable: unknown for that one, and the
# served certificate's status signed with the responder certificate its own generation issued,
# wherever it comes in the request. OpenSSL verifies a response whose CertIDs name different
# issuers only through a CA explicitly trusted for OCSP signing (else "root ca not trusted",
# whoever signs), and then still checks the chain from the responder certificate to that CA:
# given the other generation so, the same response fails.
for g in 1 2; do
	openssl x509 -in "$PKI/ca/gen$g.pem" -addtrust OCSPSigning -out "$T/gen$g-ocsp-trusted.pem"
done
for g in 1 2; do
	o=$((3 - g))
	out=$(ask signature -issuer "$PKI/bridge/bridge.pem" -serial 0x1234 -issuer "$PKI/ca/gen$g.pem" -cert "$(user good "$g")" \
		-CAfile "$T/gen$g-ocsp-trusted.pem" -respout "$T/mixed$g.der")
	t_match "an unserved issuer, then generation $g: verified with generation $g, unknown and good" \
		"Response verify OK.*0x1234: unknown.*: good" "$(tr '\n' ' ' <<<"$out")"
	t_match "…signed with generation $g's responder certificate: generation $o's does not verify it" "Response Verify Failure" \
		"$(openssl ocsp -respin "$T/mixed$g.der" -CAfile "$T/gen$o-ocsp-trusted.pem" 2>&1)"
	out=$(ask signature -issuer "$PKI/ca/gen$g.pem" -cert "$(user good "$g")" -issuer "$PKI/bridge/bridge.pem" -serial 0x1234 \
		-CAfile "$T/gen$g-ocsp-trusted.pem")
	t_match "generation $g, then an unserved issuer: verified with generation $g, good and unknown" \
		"Response verify OK.*: good.*0x1234: unknown" "$(tr '\n' ' ' <<<"$out")"
done
out=$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -no_nonce -CAfile "$PKI/ca/gen1.pem")
t_match "a request without a nonce is answered" ": good" "$out"

# Who may ask (CPS 4-4-4-3).
t_match "unsigned request: sigRequired" "sigrequired \(5\)" "$(ask - -issuer "$PKI/ca/gen1.pem" -cert "$good1")"
t_match "suspended verifier: unauthorized" "unauthorized \(6\)" "$(ask suspended -issuer "$PKI/ca/gen1.pem" -cert "$good1")"
t_match "expired verifier: unauthorized" "unauthorized \(6\)" "$(ask expired -issuer "$PKI/ca/gen1.pem" -cert "$good1")"
t_match "unregistered signer: unauthorized" "unauthorized \(6\)" "$(ask unregistered -issuer "$PKI/ca/gen1.pem" -cert "$good1")"
# The registry is followed while the responder runs: a verifier suspended now is refused by this
# same process (no restart), and answered again once resumed.
ocspd_pid=$(cat "$DIR/ocspd/pid")
group_says() { ask group -issuer "$PKI/ca/gen1.pem" -cert "$good1" -CAfile "$PKI/ca/gen1.pem" | grep -qE "$1"; }
t_ok "the group verifier is answered before its suspension" group_says "Response verify OK"
t_cleanup_add "repo_jpki_operator '$DIR' resume group >/dev/null 2>&1"
# An active jpkiVerifier entry outside verifier-base (written by the rootdn, which the overlay
# lets through; right under the CA entry, where the responder reads) registers nobody. The suspension below comes after it in the sync stream, so
# once the suspension is seen, so has this entry been.
(eval "$(instance_env "$DIR")"
 "$JPKI_BUILDDIR/tools/jpki" verifier add --base "$REPO_CA_DN" --id elsewhere --type signature-verifier \
	--org Elsewhere --start 2020-01-01T00:00:00Z --end 2099-12-31T23:59:59Z --method ocsp \
	--cert "$V/unregistered.pem" -H "$INSTANCE_URI" -D "$INSTANCE_ROOTDN" -y "$INSTANCE_ROOTPW_FILE") >/dev/null
t_ok "a verifier entry is written outside verifier-base, readable by the responder" repo_ldap_as "$DIR" responder ldapsearch -LLL \
	-b "uid=elsewhere,$REPO_CA_DN" -s base dn
t_ok "the group verifier is suspended while the responder runs" repo_jpki_operator "$DIR" suspend group
t_eq "a verifier suspended while the responder runs is refused within 10 s: unauthorized" yes \
	"$(within 10 group_says "unauthorized \(6\)")"
t_match "its certificate's signer, registered only outside verifier-base: unauthorized" "unauthorized \(6\)" \
	"$(ask unregistered -issuer "$PKI/ca/gen1.pem" -cert "$good1")"
t_ok "the group verifier is resumed" repo_jpki_operator "$DIR" resume group
t_eq "once resumed it is answered again within 10 s" yes "$(within 10 group_says ": good")"
t_eq "all by the same responder process, never restarted" "$ocspd_pid" "$(cat "$DIR/ocspd/pid")"
t_ok "that process is still running" kill -0 "$ocspd_pid"

# GET (RFC 6960 Appendix A) and POST of the same request.
openssl ocsp -issuer "$PKI/ca/gen1.pem" -cert "$good1" -no_nonce -signer "$V/signature.pem" \
	-signkey "$V/signature.key" -reqout "$T/req.der" >/dev/null 2>&1
b64=$(base64 -w0 < "$T/req.der")
enc=$(printf '%s' "$b64" | sed -e 's|%|%25|g' -e 's|+|%2B|g' -e 's|/|%2F|g' -e 's|=|%3D|g')
code=$(curl -s -o "$T/get.der" -D "$T/get.h" -w '%{http_code}' "$URL$enc")
t_eq "GET with the URL-encoded request: 200" 200 "$code"
t_match "GET answer is application/ocsp-response" "[Cc]ontent-[Tt]ype: application/ocsp-response" "$(cat "$T/get.h")"
t_match "GET answer: good" ": good|Cert Status: good" "$(openssl ocsp -respin "$T/get.der" -resp_text -noverify 2>&1 | tr '\n' ' ')"
# (private: the request is signed, so the answer is that verifier's; test_ocspd_protocol.sh
# covers the scope.)
for h in "Cache-Control: max-age=[0-9]+, private, no-transform, must-revalidate" "ETag: \"" "Last-Modified: " "Expires: "; do
	t_ok "GET answer carries the RFC 5019 header ${h%%:*}" grep -qiE "^$h" "$T/get.h"
done
etag=$(sed -n 's/^[Ee][Tt]ag: *//p' "$T/get.h" | tr -d '\r')
t_eq "If-None-Match with the ETag: 304" 304 "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL$enc")"
t_eq "GET with the raw base64 (slashes and pluses unencoded): 200" 200 \
	"$(curl -s -o "$T/raw.der" -w '%{http_code}' --path-as-is "$URL$b64")"
t_eq "POST: 200" 200 "$(curl -s -o "$T/post.der" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
	--data-binary @"$T/req.der" "$URL")"
t_match "POST answer: good" "Cert Status: good" "$(openssl ocsp -respin "$T/post.der" -resp_text -noverify 2>&1)"

# Malformed bodies: an OCSP error or an HTTP error, and the daemon keeps serving.
post_status() {
	curl -s -o "$T/m.der" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary @"$1" "$URL"
}
: > "$T/empty"
head -c 40 "$T/req.der" > "$T/truncated"
{ printf '\x31'; tail -c +2 "$T/req.der"; } > "$T/wrongtag"
{ cat "$T/req.der"; printf 'garbage'; } > "$T/trailing"
for m in empty truncated wrongtag trailing; do
	code=$(post_status "$T/$m")
	if [ "$code" = 200 ]; then
		t_match "malformed body ($m): malformedRequest" "malformedrequest \(1\)" "$(openssl ocsp -respin "$T/m.der" -resp_text -noverify 2>&1)"
	else
		t_match "malformed body ($m): an HTTP error" "^4[0-9][0-9]$" "$code"
	fi
done
head -c $((10 << 20)) /dev/zero > "$T/big"
t_match "10 MB body: an HTTP error" "^4[0-9][0-9]$|^000$" "$(post_status "$T/big")"
t_eq "other methods: 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "$URL")"
t_match "the daemon still answers after all that" ": good" \
	"$(ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -CAfile "$PKI/ca/gen1.pem")"

# A CRL published through LDAP is answered within 1 s.
serial=$(openssl x509 -in "$good1" -noout -serial | cut -d= -f2)
code=$(basename "$good1" | cut -d- -f2)
{ cat "$PKI/ledger/gen1.csv"; echo "$serial,$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ),1,$code"; } > "$T/ledger.csv"
mkdir -p "$T/g1b"
"$JPKI_BUILDDIR/tools/jpki" crl issue --ca-cert "$PKI/ca/gen1.pem" --ca-key "$(cat "$PKI/ca/gen1.key.uri")" \
	--ledger "$T/ledger.csv" --out "$T/g1b" >/dev/null
repo_publish "$DIR" publisher "$T/g1b/$code.crl" "$T/g2/$code.crl" >/dev/null
start=${EPOCHREALTIME/./}
seen=""
while [ $(( ${EPOCHREALTIME/./} - start )) -lt 1000000 ]; do
	if ask signature -issuer "$PKI/ca/gen1.pem" -cert "$good1" -no_nonce | grep -q ": revoked"; then
		seen=yes
		break
	fi
done
t_eq "a revocation published through LDAP is answered within 1 s" yes "$seen"

# slapd stopped: the last copy answers (also after a responder restart) until nextUpdate.
instance_stop "$DIR"
t_match "slapd stopped: the responder still answers" ": good" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")"
repo_ocspd_stop "$DIR"
REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI"
t_match "restarted without slapd: answers from the disk copy" ": good" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")"
repo_ocspd_stop "$DIR"
# The copy's verifiers count under today's configuration: outside verifier-base, nobody.
REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI" --verifier-base "$REPO_SERVICES_DN"
t_match "restarted without slapd, verifier-base elsewhere: the copy's verifiers are not used" "unauthorized \(6\)" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")"
repo_ocspd_stop "$DIR"
# The responders on a faked clock keep no audit trail: their records would be stamped days
# ahead, and the trail's times never go back, so every later record would carry that time too.
REPO_AUDIT=0 OCSPD_PRELOAD=$FAKE FAKETIME="+4d" REPO_OCSPD_NO_WAIT_SYNC=1 repo_ocspd_start "$DIR" "$PKI"
t_match "past nextUpdate with no repository: tryLater, never good" "trylater \(3\)" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2")"
repo_ocspd_stop "$DIR"
instance_start "$DIR" >/dev/null

# slapd hung (SIGSTOP) while the responder follows it: nothing tells a silent TCP connection
# from an idle one but a request; the responder's heartbeat finds it, drops the connection,
# and follows slapd again once it answers. A stop does not wait for a hung repository.
mark=$(cat "$DIR/ocspd/log" 2>/dev/null | wc -l)
t_ok "a responder with a 2 s sync heartbeat starts" repo_ocspd_start "$DIR" "$PKI" --sync-heartbeat 2
spid=$(instance_pid "$DIR")
# "following" logged after line $1 of the log
follows_since() { tail -n +"$(($1 + 1))" "$DIR/ocspd/log" | grep -q "info: following "; }
t_eq "…and follows the repository within 10 s" yes "$(within 10 follows_since "$mark")"
mark=$(wc -l < "$DIR/ocspd/log")
kill -STOP "$spid"
lost_since() { tail -n +"$(($1 + 1))" "$DIR/ocspd/log" | grep -qE "repository (connection lost|silent)"; }
t_eq "slapd hung: the responder drops the silent connection within 20 s" yes "$(within 20 lost_since "$mark")"
t_match "…and still answers from what it has" ": good" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")"
kill -CONT "$spid"
t_eq "slapd answering again: followed again within 30 s" yes "$(within 30 follows_since "$mark")"
repo_jpki_operator "$DIR" suspend group >/dev/null
t_eq "…and a change after it is seen: a suspension refused within 10 s" yes "$(within 10 group_says "unauthorized \(6\)")"
repo_jpki_operator "$DIR" resume group >/dev/null
kill -STOP "$spid"
sleep 1
start=${EPOCHREALTIME/./}
repo_ocspd_stop "$DIR"
stopped_in=$(( (${EPOCHREALTIME/./} - start) / 1000000 ))
kill -CONT "$spid"
t_ok "a stop while slapd hangs takes at most 15 s (took $stopped_in s)" test "$stopped_in" -le 15

# registry-max-age: with slapd unreachable, the registry is answered from as slapd last
# confirmed it for registry-max-age (600 s here) at most; then a signed request or a client
# certificate gets tryLater (logged once a minute), a client of an allowed network (127.0.0.2)
# is answered, and once slapd is followed again everything is. A responder started from its
# state copy meanwhile keeps the copy's confirmation. The responder's clock is libfaketime's,
# read from a file the test moves ahead (FAKETIME_NO_CACHE: at every call); no audit trail
# (see above).
OCSPD=$JPKI_BUILDDIR/responder/jpki-ocspd
: > "$T/age.conf"
setting() { "$OCSPD" --check -c "$T/age.conf" "$@" 2>&1 | grep '^registry-max-age'; }
t_eq "--check: registry-max-age is 86400 (24 h) by default" "registry-max-age = 86400" "$(setting)"
echo "registry-max-age = 1h" > "$T/age.conf"
t_eq "--check: from the file, as a duration" "registry-max-age = 3600" "$(setting)"
t_eq "--check: the command line wins, 0 (no limit) allowed" "registry-max-age = 0" "$(setting --registry-max-age 0)"
out=$("$OCSPD" --check -c "$T/age.conf" --registry-max-age 70 2>&1)
t_eq "--check: 70 s beside sync-heartbeat 30 refused (exit 2), naming both" \
	"2 jpki-ocspd: registry-max-age 70 must be 0 or more than twice sync-heartbeat (30) and 10 s" "$? $out"
t_eq "…71 s accepted" "registry-max-age = 71" "$(setting --registry-max-age 71)"
t_eq "…15 s beside sync-heartbeat 2 accepted" "registry-max-age = 15" "$(setting --registry-max-age 15 --sync-heartbeat 2)"
CLOCK=$T/clock
AP=$(jpki_free_port)
echo "+0" > "$CLOCK"
aged() {
	REPO_AUDIT=0 OCSPD_PRELOAD=$FAKE FAKETIME_TIMESTAMP_FILE=$CLOCK FAKETIME_NO_CACHE=1 repo_ocspd_start "$DIR" "$PKI" \
		--sync-heartbeat 2 --registry-max-age 600 --allow-network 127.0.0.2/32 --https-port "$AP" \
		--https-cert "$PKI/tls/server.pem" --https-key "$PKI/tls/server.key" --https-client-ca "$V/ca.pem"
}
openssl ocsp -issuer "$PKI/ca/gen2.pem" -cert "$good2" -no_nonce -reqout "$T/aged.der" >/dev/null 2>&1
# the three ways in, each as one word: the verdict on good2, or "error"
verdict_text() { grep -oE 'Cert Status: good|trylater|unauthorized|sigrequired' | sed 's/Cert Status: //' | head -1 | grep . ||
	echo error; }
verdict_of() { openssl ocsp -respin "$1" -resp_text -noverify 2>&1 | verdict_text; }
by_signature() { ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -resp_text -noverify | verdict_text; }
by_certificate() {
	curl -s -o "$T/aged.tls" --cacert "$PKI/tls/ca.pem" --cert "$V/signature.pem" --key "$V/signature.key" \
		-H 'Content-Type: application/ocsp-request' --data-binary @"$T/aged.der" "https://127.0.0.1:$AP/"
	verdict_of "$T/aged.tls"
}
by_network() {
	curl -s -o "$T/aged.net" --interface 127.0.0.2 -H 'Content-Type: application/ocsp-request' \
		--data-binary @"$T/aged.der" "$URL"
	verdict_of "$T/aged.net"
}
all_three() { echo "$(by_signature) $(by_certificate) $(by_network)"; }
age_logged() { tail -n +"$(($1 + 1))" "$DIR/ocspd/log" | grep -c "rule registry-max-age: the verifier registry was last confirmed"; }
mark=$(wc -l < "$DIR/ocspd/log")
t_ok "a responder with registry-max-age 600 and sync-heartbeat 2 starts on a clock read from a file" aged
t_eq "…following slapd: signed, client certificate, allowed network all good" "good good good" "$(all_three)"
instance_stop "$DIR"
t_eq "slapd stopped: the responder notices within 20 s" yes "$(within 20 lost_since "$mark")"
echo "+300" > "$CLOCK"
t_eq "300 s later (the registry confirmed less than 600 s ago): all good" "good good good" "$(all_three)"
mark=$(wc -l < "$DIR/ocspd/log")
echo "+700" > "$CLOCK"
t_eq "700 s later: signed and client certificate tryLater, the allowed network good" \
	"trylater trylater good" "$(all_three)"
t_eq "…an unsigned request still sigRequired (no registry needed to say so)" sigrequired \
	"$(ask - -issuer "$PKI/ca/gen2.pem" -cert "$good2" -resp_text -noverify | verdict_text)"
t_eq "…logged once for the four refusals, with the rule" 1 "$(age_logged "$mark")"
echo "+760" > "$CLOCK"
by_signature >/dev/null
t_eq "…and once more a minute later" 2 "$(age_logged "$mark")"
t_match "…saying when it was last confirmed and what answers wait" \
	"registry-max-age: the verifier registry was last confirmed by the repository at [0-9T:-]+Z, more than 600 s ago; .*signed requests and client certificates are answered tryLater" \
	"$(tail -n +"$((mark + 1))" "$DIR/ocspd/log" | grep 'rule registry-max-age' | tail -1)"
# Restarted from the state copy, slapd still down: the copy's confirmation, not the restart's.
echo "+300" > "$CLOCK"
aged_from_copy() { REPO_OCSPD_NO_WAIT_SYNC=1 aged; }
t_ok "restarted from the state copy, slapd still down" aged_from_copy
t_match "…saying when the copy's registry was last confirmed" \
	"answering from the copy in .* \(its verifier registry last confirmed [0-9T:-]+Z\)" "$(grep 'answering from the copy' "$DIR/ocspd/log" | tail -1)"
t_eq "…300 s after that confirmation: all good" "good good good" "$(all_three)"
echo "+700" > "$CLOCK"
t_eq "…700 s after it: signed and client certificate tryLater, the allowed network good" \
	"trylater trylater good" "$(all_three)"
mark=$(wc -l < "$DIR/ocspd/log")
instance_start "$DIR" >/dev/null
t_eq "slapd back: followed again within 30 s" yes "$(within 30 follows_since "$mark")"
t_eq "…and the registry confirmed again: all good" "good good good" \
	"$(within 10 eval '[ "$(all_three)" = "good good good" ]' >/dev/null; all_three)"
repo_ocspd_stop "$DIR"

# One partition past its nextUpdate: good needs every partition current, so tryLater; a
# revocation in a current partition is still answered.
expiring=$(ls "$PKI"/users/good/gen2-* | sed -n 3p)
ecode=$(basename "$expiring" | cut -d- -f2)
mkdir -p "$T/short"
"$JPKI_BUILDDIR/tools/jpki" crl issue --ca-cert "$PKI/ca/gen2.pem" --ca-key "$(cat "$PKI/ca/gen2.key.uri")" \
	--ledger "$PKI/ledger/gen2.csv" --validity 1h --out "$T/short" >/dev/null
repo_publish "$DIR" publisher "$T/g1b/$ecode.crl" "$T/short/$ecode.crl" >/dev/null
REPO_AUDIT=0 OCSPD_PRELOAD=$FAKE FAKETIME="+2h" repo_ocspd_start "$DIR" "$PKI"
t_match "one partition past nextUpdate: good becomes tryLater" "trylater \(3\)" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2")"
rev=$(ls "$PKI"/users/revoked/*/gen2-* | while read -r f; do c=$(basename "$f" | cut -d- -f2); [ "$c" != "$ecode" ] && echo "$f" && break; done)
t_match "a revocation in a current partition is still answered" ": revoked" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$rev" -CAfile "$PKI/ca/gen2.pem")"
repo_ocspd_stop "$DIR"

# GnuTLS's ocsptool, against a responder that allows the loopback network without signatures.
repo_ocspd_start "$DIR" "$PKI" --allow-network 127.0.0.0/8
out=$(ocsptool --ask="$URL" --load-cert="$good2" --load-issuer="$PKI/ca/gen2.pem" --load-signer="$PKI/ocsp/responder.pem" 2>&1)
t_match "ocsptool: good, signature verified" "Certificate Status: good.*Verifying OCSP Response: Success" "$(tr '\n' ' ' <<<"$out")"
out=$(ocsptool --ask="$URL" --load-cert="$(user revoked/keyCompromise 1)" --load-issuer="$PKI/ca/gen1.pem" \
	--load-signer="$PKI/ocsp/responder-gen1.pem" 2>&1)
t_match "ocsptool: revoked, signature verified" "Certificate Status: revoked.*Verifying OCSP Response: Success" "$(tr '\n' ' ' <<<"$out")"
t_match "openssl: an unsigned request from an allowed network is answered" ": good" \
	"$(ask - -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")"

repo_ocspd_stop "$DIR"

# The HTTPS listener: a registered client certificate stands for a signature.
# Its max-certids comes from a configuration file, which SIGHUP reads again (below).
HP=$(jpki_free_port)
CONF=$T/ocspd.conf
echo "max-certids = 16" > "$CONF"
repo_ocspd_start "$DIR" "$PKI" --config "$CONF" --https-port "$HP" --https-cert "$PKI/tls/server.pem" \
	--https-key "$PKI/tls/server.key" --https-client-ca "$V/ca.pem"
openssl ocsp -issuer "$PKI/ca/gen2.pem" -cert "$good2" -no_nonce -reqout "$T/unsigned.der" >/dev/null 2>&1
https() { # VERIFIER|-: POST the unsigned request over HTTPS with that client certificate
	local c=()
	[ "$1" = - ] || c=(--cert "$V/$1.pem" --key "$V/$1.key")
	curl -s -o "$T/h.der" -w '%{http_code}' --cacert "$PKI/tls/ca.pem" "${c[@]}" \
		-H 'Content-Type: application/ocsp-request' --data-binary @"$T/unsigned.der" "https://127.0.0.1:$HP/"
}
t_eq "HTTPS with a registered client certificate: 200" 200 "$(https signature)"
t_match "HTTPS with a registered client certificate: good without a signature" "Cert Status: good" \
	"$(openssl ocsp -respin "$T/h.der" -resp_text -noverify 2>&1)"
https suspended >/dev/null
t_match "HTTPS with a suspended verifier's certificate: unauthorized" "unauthorized \(6\)" \
	"$(openssl ocsp -respin "$T/h.der" -resp_text -noverify 2>&1)"
https unregistered >/dev/null
t_match "HTTPS with an unregistered certificate: unauthorized" "unauthorized \(6\)" \
	"$(openssl ocsp -respin "$T/h.der" -resp_text -noverify 2>&1)"
t_eq "HTTPS without a client certificate: 403" 403 "$(https -)"
t_match "plain HTTP unsigned on the same daemon: sigRequired" "sigrequired \(5\)" \
	"$(ask - -issuer "$PKI/ca/gen2.pem" -cert "$good2")"

# The token made unavailable: tryLater, then recovery once it is back. The token's directory
# goes outside the token directory (SoftHSM finds a token in any directory below it).
tok=$(dirname "$(grep -l chiba-ocsp "$PKI"/tokens/*/token.object | head -1)")
away=$PKI/ocsp-token.away
t_cleanup_add "[ -d '$away' ] && mv '$away' '$tok'"
mv "$tok" "$away"
logn=$(wc -l < "$DIR/ocspd/log")
# A worker whose session was opened before may go on signing with the key SoftHSM still
# holds in memory until its first failure; then every key is closed, and reopening fails
# while the token is gone. Asked for 2 s, longer than the 1 s back-off, so that a reopen is
# tried and refused: every answer is good or tryLater — never a crash, never another status.
# One word per request, "other" for any answer (or none) but those two, so that nothing escapes.
end=$(( ${EPOCHREALTIME/./} + 2000000 ))
seen=$(while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do s=$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" |
	grep -oE ': good$|trylater \(3\)|Error querying' | head -1); echo "${s:-other}"; done | sort | uniq -c)
t_match "token unavailable: tryLater is answered" "trylater" "$seen"
t_not "token unavailable: only good or tryLater, the daemon never fails ($(echo $seen))" \
	grep -qvE "^ *[0-9]+ (: good|trylater \(3\))$" <<<"$seen"
t_match "token unavailable: reopening the key is refused and logged, with the back-off" \
	"responder key unavailable .*answering tryLater, retry in [0-9]+ s" "$(tail -n +"$((logn + 1))" "$DIR/ocspd/log")"
mv "$away" "$tok"
start=${EPOCHREALTIME/./}
back=""
while [ $(( ${EPOCHREALTIME/./} - start )) -lt 10000000 ]; do
	ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" | grep -q ': good' && { back=yes; break; }
done
t_eq "token back: the responder recovers by itself" yes "$back"

# SIGHUP reloads key and settings; the daemon keeps serving. It takes effect: max-certids lowered
# to 1 in the configuration file makes a request with two CertIDs malformedRequest, and raised
# again answers both. The log says "reloaded" each time, never "reload refused".
ocspd_pid=$(cat "$DIR/ocspd/pid")
rev2=$(user revoked/keyCompromise 2)
two() { ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -cert "$rev2" -CAfile "$PKI/ca/gen2.pem"; }
reloads() { grep -c "jpki-ocspd info: reloaded$" "$DIR/ocspd/log"; }
hup() { # MAX-CERTIDS: write it in the file, send SIGHUP, wait (5 s at most) for the reload to be logged
	local n
	n=$(reloads)
	echo "max-certids = $1" > "$CONF"
	kill -HUP "$ocspd_pid"
	within 5 eval '[ "$(reloads)" -gt "$n" ] || grep -q "reload refused" "$DIR/ocspd/log"' >/dev/null
}
t_eq "before SIGHUP: two CertIDs, two answers" 2 "$(two | grep -cE ': (good|revoked)$')"
hup 1
t_ok "SIGHUP was logged as a reload" grep -q "jpki-ocspd info: reloaded$" "$DIR/ocspd/log"
t_match "after SIGHUP with max-certids 1: two CertIDs are malformedRequest" "malformedrequest \(1\)" "$(two)"
t_match "after SIGHUP the daemon still answers" ": good" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")"
hup 16
t_eq "after SIGHUP with max-certids 16 again: two CertIDs, two answers" 2 "$(two | grep -cE ': (good|revoked)$')"
t_eq "both SIGHUPs were logged as reloads" 2 "$(reloads)"
t_not "no reload was refused" grep -q "reload refused" "$DIR/ocspd/log"
t_eq "the same process serves after both SIGHUPs" "$ocspd_pid" "$(cat "$DIR/ocspd/pid")"
# The port is this responder's alone (no SO_REUSEPORT): a second responder is refused with the
# reason, and the first keeps serving. Another on ::1 answers over IPv6.
second() { # second LISTEN PORT [OPTION…]: a responder like the first, its own state and pid file
	# (run in a subshell: it execs the responder)
	mkdir -p "$T/second"
	SOFTHSM2_CONF="$PKI/softhsm2.conf" exec timeout 20 "$JPKI_BUILDDIR/responder/jpki-ocspd" --foreground \
		--listen "$1" --port "$2" --ldap-uri "$(repo_uri "$DIR")" --bind-dn "$REPO_RESPONDER_DN" \
		--password-file "$DIR/secrets/responder.pw" --ca-dn "$REPO_CA_DN" --verifier-base "$REPO_VERIFIER_BASE" \
		--trust-anchor "$PKI/ca/gen1.pem" --state-dir "$T/second" --key-uri "$(cat "$PKI/ocsp/key.uri")" \
		--responder-cert "$DIR/ocspd/responder-certs.pem" --pid-file "$T/second/pid" "${@:3}"
}
taken=$( (second 127.0.0.1 "$(cat "$DIR/ocspd/port")") 2>&1)
t_match "a second responder on the same port is refused, saying why" \
	"cannot listen on 127.0.0.1 port [0-9]+: Address already in use" "$taken"
t_match "the first still answers" ": good" "$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2")"
p6=$(jpki_free_port)
(second ::1 "$p6") >/dev/null 2>&1 &
spid=$!
jpki_wait_port ::1 "$p6" 5 "$spid"
t_match "a responder listening on ::1 answers over IPv6" ": good" \
	"$(for _ in $(seq 1 50); do out=$(openssl ocsp -url "http://[::1]:$p6/" -signer "$V/signature.pem" \
		-signkey "$V/signature.key" -issuer "$PKI/ca/gen2.pem" -cert "$good2" 2>&1);
		grep -q ': good' <<<"$out" && { echo "$out"; break; }; sleep 0.1; done)"
kill -TERM "$(cat "$T/second/pid")" 2>/dev/null
wait "$spid" || true	# ended by the signal

# Connections handed on by the accepting thread still count against max-per-ip.
pl=$(jpki_free_port)
(second 127.0.0.1 "$pl" --max-per-ip 2) >/dev/null 2>&1 &
spid=$!
jpki_wait_port 127.0.0.1 "$pl" 5 "$spid"
sleep 0.2	# the probe connection above is closed and forgotten
exec 7<>"/dev/tcp/127.0.0.1/$pl" 8<>"/dev/tcp/127.0.0.1/$pl" 9<>"/dev/tcp/127.0.0.1/$pl"
trap '' PIPE	# the refused connection may be closed before the request is written to it
# Keep-alive: the two answered connections stay open, so the third is refused however the
# accepting thread and the workers are scheduled.
for fd in 7 8 9; do printf 'GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n' >&$fd 2>/dev/null; done
trap - PIPE
got=$(for fd in 7 8 9; do timeout 5 head -c 12 <&$fd 2>/dev/null | tr -d '\r\n'; echo; done)
exec 7>&- 8>&- 9>&-
t_eq "max-per-ip 2: two connections answered, the third closed unanswered" \
	"$(printf 'HTTP/1.1 200\nHTTP/1.1 200\n')" "$got"
kill -TERM "$(cat "$T/second/pid")" 2>/dev/null
wait "$spid" || true	# ended by the signal

# SIGTERM with answers in flight: 16 clients send signed requests with nonces for 2 s, SIGTERM
# comes while they do. The daemon exits cleanly, and every answer a client received is whole:
# good/revoked with the nonce echoed and the signature verified, or tryLater, or 503 for a
# request begun on an open connection after the wait for those in flight. A client may get no
# answer at all (refused, or the connection closed before any byte); never a partial one.
pid=$(cat "$DIR/ocspd/pid")
logn=$(wc -l < "$DIR/ocspd/log")
mkdir -p "$T/term"
term_client() { # N: requests one after another for 2 s; each in $T/term/N.I.{req,resp,out}
	local n=$1 i=0 end=$(( ${EPOCHREALTIME/./} + 2000000 )) f
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		i=$((i + 1))
		f=$T/term/$n.$i
		openssl ocsp -issuer "$PKI/ca/gen2.pem" -cert "$good2" -cert "$rev2" -signer "$V/signature.pem" \
			-signkey "$V/signature.key" -reqout "$f.req" >/dev/null 2>&1 || { echo "reqout failed" > "$f.out"; continue; }
		curl -s --max-time 20 -o "$f.resp" -w '%{http_code} %{size_download}' -H 'Content-Type: application/ocsp-request' \
			--data-binary @"$f.req" "$URL" > "$f.out"
		echo " $?" >> "$f.out"
	done
}
cpids=()
for n in $(seq 1 16); do term_client "$n" & cpids+=($!); done
sleep 0.7
kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
t_not "SIGTERM stops the daemon" kill -0 "$pid"
wait "$pid" 2>/dev/null
t_eq "under load, SIGTERM ends the daemon with status 0" 0 "$?"
wait "${cpids[@]}"
stoplog=$(tail -n +"$((logn + 1))" "$DIR/ocspd/log")
t_match "under load, the stop is logged: requests in flight finished, then stopped" \
	"stopping after the requests in flight.*jpki-ocspd info: stopped" "$(tr '\n' ' ' <<<"$stoplog")"
t_not "under load, no abort, panic or fatal error in the log" grep -qiE "abort|panic|fatal" <<<"$stoplog"
answered=0 unanswered=0 bad=""
for o in "$T"/term/*.out; do
	f=${o%.out}
	read -r code size rc < "$o"
	if [ "$code" = 000 ] && [ "$size" = 0 ] && [[ $rc =~ ^(7|52|56)$ ]]; then
		unanswered=$((unanswered + 1))	# refused, or closed before the answer began
		continue
	fi
	if [ "$code" = 503 ] && [ "$rc" = 0 ] && [ "$(cat "$f.resp")" = "the responder is stopping" ]; then
		answered=$((answered + 1))	# a request begun on an open connection once no answer may start
		continue
	fi
	if [ "$code" = 200 ] && [ "$rc" = 0 ]; then
		# The answer on standard output, the verification (signature, nonce) on standard error.
		v=$(openssl ocsp -reqin "$f.req" -respin "$f.resp" -CAfile "$PKI/ca/gen2.pem" -resp_text 2>"$f.err")
		st=$(grep -oE 'Cert Status: [a-z]+' <<<"$v" | sort | tr '\n' ' ')
		if [ "$(grep -c "Responder Error: trylater (3)" <<<"$v")" = 1 ] && [ -z "$st" ] ||
			{ [ "$st" = "Cert Status: good Cert Status: revoked " ] && [ "$(cat "$f.err")" = "Response verify OK" ]; }; then
			answered=$((answered + 1))
			continue
		fi
	fi
	bad+=" ${f##*/}($(cat "$o"))"
done
t_ok "under load, answers were received before the stop ($answered answered, $unanswered not)" test "$answered" -ge 16
t_eq "under load, every answer received is whole: good/revoked verified with its nonce, tryLater, or 503 stopping" "" "$bad"

# The responder key and certificates (rule responder-cert), checked at start and at SIGHUP, on
# a responder whose key settings all come from its configuration file, which SIGHUP reads
# again. Certificates that fail one check each, for the responder's own public key unless said:
# issued by generation 1 for another key; without id-kp-OCSPSigning; expired; naming
# generation 1's key in its authorityKeyIdentifier but signed by another key.
KT=$T/keyed
mkdir -p "$KT/state"
KCONF=$KT/ocspd.conf
kport=$(jpki_free_port)
key_uri=$(cat "$PKI/ocsp/key.uri")
absent_uri=${key_uri/token=chiba-ocsp;/token=no-such-token;}
OCSP_DN='cn=Chiba-ken OCSP Responder,ou=Chiba-ken,o=JPKI,c=JP'
cat "$PKI/ocsp/responder.pem" "$PKI/ocsp/responder-gen1.pem" > "$KT/good.pem"
openssl x509 -in "$PKI/ocsp/responder.pem" -noout -pubkey > "$KT/responder.pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KT/other.key" 2>/dev/null
openssl pkey -in "$KT/other.key" -pubout -out "$KT/other.pub"
issue1() { # PROFILE PUBKEY SERIAL OUT [OPTION…]: a certificate issued by generation 1
	"$JPKI_BUILDDIR/tests/pki/jpki-testpki" cert --profile "$1" --issuer-key "$(cat "$PKI/ca/gen1.key.uri")" \
		--issuer-cert "$PKI/ca/gen1.pem" --subject-pubkey "$2" --subject "$OCSP_DN" --serial "$3" --out "$4" "${@:5}"
}
now=$(date -u +%s)
t_ok "a responder certificate for another key" issue1 ocsp "$KT/other.pub" 7E5701 "$KT/wrongkey.pem"
cat "$KT/good.pem" "$KT/wrongkey.pem" > "$KT/good-wrongkey.pem"
t_ok "a certificate without id-kp-OCSPSigning" issue1 tls-server "$KT/responder.pub" 7E5702 "$KT/noeku.pem"
t_ok "an expired responder certificate" issue1 ocsp "$KT/responder.pub" 7E5703 "$KT/expired.pem" \
	--not-before "$(date -u -d "@$((now - 10 * 86400))" +%Y%m%d%H%M%SZ)" --not-after "$(date -u -d "@$((now - 86400))" +%Y%m%d%H%M%SZ)"
ski=$(openssl x509 -in "$PKI/ca/gen1.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
printf 'extendedKeyUsage = OCSPSigning\nauthorityKeyIdentifier = keyid:always\n' > "$KT/ext.cnf"
t_ok "a responder certificate that names generation 1's key but is signed by another" bash -c '
	openssl req -x509 -new -key "$1/other.key" -subj "/CN=forger" -addext "subjectKeyIdentifier=$2" -days 30 \
		-out "$1/forger.pem" 2>/dev/null &&
	openssl x509 -new -subj "/CN=forged responder" -force_pubkey "$1/responder.pub" -CA "$1/forger.pem" \
		-CAkey "$1/other.key" -extfile "$1/ext.cnf" -days 30 -out "$1/forged.pem" 2>/dev/null' - "$KT" "$ski"
kconf() { # KEY-URI RESPONDER-CERT [LINE…]: the configuration file
	printf 'key-uri = "%s"\nresponder-cert = %s\n' "$1" "$2" > "$KCONF"
	[ $# -le 2 ] || printf '%s\n' "${@:3}" >> "$KCONF"
}
keyed() { # [OPTION…]: the responder in the foreground (run in a subshell: it execs), log on stderr;
	# under timeout when KTIMEOUT is set
	SOFTHSM2_CONF="$PKI/softhsm2.conf" exec ${KTIMEOUT:+timeout "$KTIMEOUT"} "$JPKI_BUILDDIR/responder/jpki-ocspd" --foreground \
		--config "$KCONF" --listen 127.0.0.1 --port "$kport" --ldap-uri "$(repo_uri "$DIR")" \
		--bind-dn "$REPO_RESPONDER_DN" --password-file "$DIR/secrets/responder.pw" --ca-dn "$REPO_CA_DN" \
		--verifier-base "$REPO_VERIFIER_BASE" --trust-anchor "$PKI/ca/gen1.pem" --state-dir "$KT/state" \
		--pid-file "$KT/pid" "$@"
}
kask() { # GEN [OPTION…]: a good certificate of generation GEN (the first of gen1 is revoked by
	# now), asked of that responder and verified
	openssl ocsp -url "http://127.0.0.1:$kport/" -signer "$V/signature.pem" -signkey "$V/signature.key" \
		-issuer "$PKI/ca/gen$1.pem" -cert "$(ls "$PKI"/users/good/gen"$1"-* | sed -n 2p)" -CAfile "$PKI/ca/gen$1.pem" \
		"${@:2}" 2>&1 | tr '\n' ' '
}

# A start with a certificate that fails a check exits 1, naming the check, before it listens.
start_refused() { # NAME CERT REGEX
	local out rc
	kconf "$key_uri" "$2"
	out=$( (KTIMEOUT=30 keyed) 2>&1) && rc=0 || rc=$?
	t_eq "start with $1: exit 1" 1 "$rc"
	t_match "start with $1: the error names the check" "cannot start: $3" "$out"
}
start_refused "a responder certificate for another key" "$KT/wrongkey.pem" \
	"rule responder-cert key: $KT/wrongkey.pem, certificate 1 \(serial 7e5701\) does not hold the public key of the responder key \(key-uri\)"
start_refused "that certificate after the good ones" "$KT/good-wrongkey.pem" \
	"rule responder-cert key: .*certificate 3 \(serial 7e5701\) does not hold the public key of the responder key"
start_refused "a certificate without id-kp-OCSPSigning" "$KT/noeku.pem" "rule responder-cert EKU .*no extendedKeyUsage id-kp-OCSPSigning"
start_refused "an expired responder certificate" "$KT/expired.pem" "rule responder-cert validity: .*expired at "
start_refused "a responder certificate its CA key did not sign" "$KT/forged.pem" \
	"rule responder-cert issuer \(RFC 6960 4.2.2.2\): .*its signature does not verify with CA key [0-9a-f]{40}"
# A PIN the token refuses is a configuration error, not a token away: retried, each try would
# count toward the token's lockout.
printf '0000\n' > "$KT/wrong.pin"
kconf "$key_uri" "$KT/good.pem" "pin-file = $KT/wrong.pin"
out=$( (KTIMEOUT=30 keyed) 2>&1) && rc=0 || rc=$?
t_eq "start with a PIN the token refuses: exit 1" 1 "$rc"
t_match "…naming why, and that it is not retried" \
	"cannot start: key-uri: the responder key cannot be opened: .*login to token .* failed.*not retried: every try counts toward the token's PIN lockout" "$out"
t_not "no refused start left a process listening" bash -c "exec 3<>/dev/tcp/127.0.0.1/$kport" 2>/dev/null

# A start with the token away still serves, answering tryLater until the key opens.
kconf "$absent_uri" "$KT/good.pem"
(keyed) 2> "$KT/log" &
kpid=$!
t_cleanup_add "kill -TERM $kpid 2>/dev/null"
jpki_wait_port 127.0.0.1 "$kport" 10 "$kpid"
t_eq "with the token away, the start still has the repository's data within 10 s" yes \
	"$(within 10 test -s "$KT/state/repository.state")"
t_match "with the token away at start: it serves, answering tryLater" "trylater \(3\)" "$(kask 2)"
t_match "…and logged why" "responder key unavailable at start \(PKCS#11: no initialised token matches token label=no-such-token" \
	"$(cat "$KT/log")"
kreloads() { grep -cE "info: reloaded$|reload refused" "$KT/log"; }
klast() { grep -E "info: reloaded$|reload refused" "$KT/log" | tail -1; }
khup() { # KEY-URI RESPONDER-CERT [LINE…]: write the file, send SIGHUP, wait (5 s at most) until it is done
	local n
	n=$(kreloads)
	kconf "$@"
	kill -HUP "$kpid"
	within 5 eval '[ "$(kreloads)" -gt "$n" ]' >/dev/null
}
khup "$key_uri" "$KT/good.pem"
t_match "SIGHUP once the token's key is named: reloaded" "info: reloaded$" "$(klast)"
t_match "…then generation 2 is good, verified" "Response verify OK.*: good" "$(kask 2)"
t_match "…and generation 1 is good, verified" "Response verify OK.*: good" "$(kask 1)"

# A reload that cannot open its key, or whose certificates fail a check, changes nothing: the
# running key and certificates go on signing answers that verify, and the rest of that
# configuration (max-certids 1 here) is not applied either.
khup "$absent_uri" "$KT/good.pem" "max-certids = 1"
t_match "SIGHUP to a token that does not exist: refused, naming why" \
	"reload refused: key-uri: the responder key cannot be opened: PKCS#11: no initialised token matches token label=no-such-token.*the running configuration stays" \
	"$(klast)"
t_match "…the old key still answers, verified" "Response verify OK.*: good" "$(kask 2)"
t_match "…for both generations" "Response verify OK.*: good" "$(kask 1)"
t_eq "…and the rest of that configuration is not applied (max-certids 1: two CertIDs answered)" 2 \
	"$(kask 2 -cert "$(ls "$PKI"/users/good/gen2-* | sed -n 4p)" | grep -oE ': good' | wc -l)"
khup "$key_uri" "$KT/wrongkey.pem"
t_match "SIGHUP with a responder certificate for another key: refused, naming why" \
	"reload refused: rule responder-cert key: .*certificate 1 \(serial 7e5701\) does not hold the public key of the responder key" \
	"$(klast)"
t_match "…the old certificates still sign, verified with generation 1" "Response verify OK.*: good" "$(kask 1)"
t_match "…and with generation 2" "Response verify OK.*: good" "$(kask 2)"
for bad in noeku expired forged; do
	khup "$key_uri" "$KT/$bad.pem"
	t_match "SIGHUP with the $bad certificate: refused" "reload refused: rule responder-cert (EKU|validity|issuer)" "$(klast)"
done
t_match "after every refused SIGHUP the old key and certificates still answer, verified" "Response verify OK.*: good" "$(kask 1)"
# Without a responder certificate from generation 2's key, its certificates get tryLater
# (logged), not a response signed under generation 1's certificate that would not verify.
khup "$key_uri" "$PKI/ocsp/responder-gen1.pem"
t_match "SIGHUP with generation 1's responder certificate only: reloaded" "info: reloaded$" "$(klast)"
t_match "…generation 1 is still good, verified" "Response verify OK.*: good" "$(kask 1)"
t_match "…generation 2: tryLater" "trylater \(3\)" "$(kask 2)"
t_match "…logged naming the rule" "rule responder-cert: no current responder certificate issued by CA key [0-9a-f]{40}" \
	"$(cat "$KT/log")"
khup "$key_uri" "$KT/good.pem"
t_match "a good configuration is then reloaded" "info: reloaded$" "$(klast)"
t_eq "…by the same process, never restarted" "$kpid" "$(cat "$KT/pid" 2>/dev/null)"
kill -TERM "$kpid"
wait "$kpid"
t_eq "that responder stops with status 0" 0 "$?"

# A start with the token away is not checked against the key: once the token is back, a key
# that is not the certificates' is not used (tryLater, logged), never signs under them.
mv "$tok" "$away"
kconf "$key_uri" "$KT/wrongkey.pem"
(keyed) 2> "$KT/log" &
kpid=$!
t_cleanup_add "kill -TERM $kpid 2>/dev/null"
jpki_wait_port 127.0.0.1 "$kport" 10 "$kpid"
t_match "token away, a certificate of another key: it starts, answering tryLater" "trylater \(3\)" "$(kask 1)"
mv "$away" "$tok"
kkey_refused() { # asks (a signing thread opens the key only to sign), then looks at the log
	kask 1 >/dev/null
	grep -q "rule responder-cert key: the responder key (key-uri) is not the key of responder-cert" "$KT/log"
}
t_eq "token back with a key that is not the certificate's: refused and logged within 5 s" yes "$(within 5 kkey_refused)"
seen=$(for _ in 1 2 3 4 5; do kask 1 | grep -oE 'Response verify OK|trylater \(3\)|: good' | head -1; done | sort -u)
t_eq "…and it never signs with it: tryLater" "trylater (3)" "$seen"
kill -TERM "$kpid"
wait "$kpid"
t_eq "that responder stops with status 0" 0 "$?"

# A registry beyond slapd's default sizelimit (500 entries): the responder's refresh still
# completes (the repository gives its services no size limit: repo_limits), and so does the
# operator's `jpki verifier list`.
for i in $(seq 1 520); do
	printf 'dn: uid=bulk%d,%s\nobjectClass: jpkiVerifier\nuid: bulk%d\njpkiVerifierType: signature-verifier\n' \
		"$i" "$REPO_VERIFIER_BASE" "$i"
	printf 'jpkiVerifierStatus: active\njpkiAgreementStart: 20260101000000Z\njpkiAgreementEnd: 20301231235959Z\n'
	printf 'jpkiAllowedMethod: ocsp\n\n'
done > "$T/bulk.ldif"
t_ok "520 more verifiers registered" instance_ldap "$DIR" ldapadd -f "$T/bulk.ldif"
mark=$(wc -l < "$DIR/ocspd/log")
t_ok "the responder starts again" repo_ocspd_start "$DIR" "$PKI"
t_eq "…and follows the whole registry within 10 s" yes "$(within 10 follows_since "$mark")"
t_not "…no size limit hit" grep -q "Size limit" <(tail -n +"$((mark + 1))" "$DIR/ocspd/log")
t_match "a verifier registered still gets answers" ": (good|revoked)" \
	"$(ask signature -issuer "$PKI/ca/gen2.pem" -cert "$good2" -CAfile "$PKI/ca/gen2.pem")"
t_eq "jpki verifier list shows them all" yes \
	"$([ "$(repo_jpki_operator "$DIR" list | grep -c bulk)" -eq 520 ] && echo yes || echo no)"

t_done
