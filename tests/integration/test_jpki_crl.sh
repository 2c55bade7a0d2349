#!/usr/bin/env bash
# jpki crl issue as an operator runs it: the CRL profile as openssl reads it, an empty CRL
# for a municipality without revocations, and every kind of bad ledger line refused with its
# line number while nothing is written.
set -u
. "$(dirname "$0")/../lib/assert.sh"
. "$JPKI_SRCDIR/scripts/lib/repo.sh"
. "$JPKI_SRCDIR/tests/lib/pki.sh"

PKI=$(test_pki) || { t_fail "test PKI"; t_done; exit 1; }
export SOFTHSM2_CONF=$PKI/softhsm2.conf
T=$(t_tmpdir)
JPKI=$JPKI_BUILDDIR/tools/jpki
KEY=$(cat "$PKI/ca/gen1.key.uri")
issue() { "$JPKI" crl issue --ca-cert "$PKI/ca/gen1.pem" --ca-key "$KEY" "$@"; }

mkdir -p "$T/ok"
tu=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t_ok "issue from the generation 1 ledgers" issue --ledger "$PKI/ledger/gen1.csv" \
	--ca-ledger "$PKI/ledger/arl-gen1.csv" --this-update "$tu" --crl-number 42 --out "$T/ok"
t_eq "54 partition CRLs and the ARL" 55 "$(ls "$T/ok"/*.crl | wc -l)"
# Validity beyond the repository's default (72 h, CPS 4-4-9): issued, with one warning that
# names the rule a repository would refuse it by.
mkdir -p "$T/long"
out=$(issue --ledger "$PKI/ledger/gen1.csv" --validity 96h --out "$T/long" 2>&1)
t_eq "a 96 h CRL is issued" 54 "$(ls "$T/long"/*.crl 2>/dev/null | wc -l)"
t_match "with a warning naming rule (g) and the setting" 	"warning: a repository with the default policy will refuse .*rule \(g\) validity: nextUpdate - thisUpdate is 345600 s; the maximum is 259200 s.*jpkirepo-max-validity" "$out"
t_eq "once, not per partition" 1 "$(grep -c warning <<<"$out")"
t_eq "no warning within the default" "" "$(issue --ledger "$PKI/ledger/gen1.csv" --out "$T/long" 2>&1 | grep warning)"
first=$(sed -n 2p "$PKI/ledger/gen1.csv")
code=${first##*,}
serial=${first%%,*}
text=$(openssl crl -inform DER -in "$T/ok/$code.crl" -noout -text)
t_match "version 2" "Version 2" "$text"
t_match "cRLNumber" "CRL Number: *[[:space:]]+42" "$text"
t_match "thisUpdate as given" "Last Update: $(date -u -d "$tu" '+%b %e %H:%M:%S %Y') GMT" "$text"
t_match "nextUpdate 72 h later" "Next Update: $(date -u -d "$tu +72 hours" '+%b %e %H:%M:%S %Y') GMT" "$text"
t_match "critical issuingDistributionPoint" "Issuing Distribution Point: critical" "$text"
t_match "naming the partition" "DirName:C = JP, O = JPKI, OU = Chiba-ken, OU = CRL Distribution Points, CN = $code" "$text"
t_match "onlyContainsUserCerts" "Only User Certificates" "$text"
t_match "authorityKeyIdentifier" "Authority Key Identifier" "$text"
t_match "the ledger's revocation with its reason" "Serial Number: $serial.*Key Compromise" "$(tr '\n' ' ' <<<"$text")"
# 千葉県 長生郡 一宮町 (124214) has no revocation in the test ledgers.
t_match "an empty CRL where nobody is revoked" "No Revoked Certificates" \
	"$(openssl crl -inform DER -in "$T/ok/124214.crl" -noout -text)"
arl=$(openssl crl -inform DER -in "$T/ok/arl.crl" -noout -text)
t_match "the ARL says onlyContainsCACerts" "Only CA Certificates" "$arl"
t_match "the ARL names the CA entry" "DirName:C = JP, O = JPKI, OU = Chiba-ken[[:space:]]" "$arl"
t_match "openssl verifies it with generation 1" "verify OK" \
	"$(openssl crl -inform DER -in "$T/ok/$code.crl" -noout -CAfile "$PKI/ca/gen1.pem" 2>&1)"

# Bad ledgers: each refused with its line, and the output directory stays as it was.
mkdir -p "$T/bad"
cp "$T/ok/121002.crl" "$T/bad/121002.crl"
before=$(ls -l --time-style=+%s.%N "$T/bad" | sha256sum)
bad() {
	local name=$1 line=$2 want=$3 out
	printf 'serial,revocation_time,reason,municipality\n10,2026-01-01T00:00:00Z,1,121002\n%s\n' "$line" > "$T/ledger.csv"
	out=$(issue --ledger "$T/ledger.csv" --this-update 2026-06-01T00:00:00Z --out "$T/bad" 2>&1)
	t_match "$name: refused naming line 3" "line 3: .*$want.*nothing was written" "$(tr '\n' ' ' <<<"$out")"
}
bad "reason 6 (certificateHold)" "11,2026-01-01T00:00:00Z,6,121002" "reason '6' is not allowed"
bad "reason 0" "11,2026-01-01T00:00:00Z,0,121002" "reason '0' is not allowed"
bad "unknown municipality" "11,2026-01-01T00:00:00Z,1,131016" "not one this CA serves"
bad "bad check digit" "11,2026-01-01T00:00:00Z,1,121003" "check digit"
bad "impossible date" "11,2026-02-30T00:00:00Z,1,121002" "not a date"
bad "revocation after thisUpdate" "11,2026-07-01T00:00:00Z,1,121002" "after the CRL's thisUpdate"
bad "duplicate serial" "10,2026-01-02T00:00:00Z,4,121002" "duplicate serial \(also on line 2\)"
bad "missing field" "11,2026-01-01T00:00:00Z,1" "expected 4 fields"
t_eq "nothing was written by any refused run" "$before" "$(ls -l --time-style=+%s.%N "$T/bad" | sha256sum)"

out=$(issue --ledger "$PKI/ledger/gen1.csv" --ca-key "$(cat "$PKI/ca/gen2.key.uri")" --out "$T/bad" 2>&1)
t_match "a key that does not belong to the certificate is refused" "does not belong to" "$out"
# --ledger is required: without it every partition CRL would be empty under a fresh
# cRLNumber, and a repository would accept them.
mkdir -p "$T/usage"
cp "$T/ok/121002.crl" "$T/usage/121002.crl"
ubefore=$(ls -l --time-style=+%s.%N "$T/usage" | sha256sum)
# usage NAME TEXT ARGS…: issue ARGS refused with usage (2), the message holding TEXT.
usage() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(issue "$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" = 2 ] && [[ $out == *"$want"* ]]; then
		t_pass "$name"
	else
		t_fail "$name" "exit $rc, wanted 2 and '$want'"
		_t_show "$out"
	fi
}
usage "no --ledger: refused, naming the rule" \
	"--ledger is required: CRLs issued without the user ledger would drop every revocation" --out "$T/usage"
usage "--ledger twice: refused (the first would be dropped)" "--ledger given twice" \
	--ledger "$PKI/ledger/gen1.csv" --ledger "$PKI/ledger/gen2.csv" --out "$T/usage"
usage "--ca-ledger twice: refused" "--ca-ledger given twice" --ledger "$PKI/ledger/gen1.csv" \
	--ca-ledger "$PKI/ledger/arl-gen1.csv" --ca-ledger "$PKI/ledger/arl-gen1.csv" --out "$T/usage"
usage "a missing --out is named" "--out is required" --ledger "$PKI/ledger/gen1.csv"
usage "an extra operand is named" "unexpected argument 'extra'" --ledger "$PKI/ledger/gen1.csv" \
	--out "$T/usage" extra
# Numbers: the whole text, digits only, in range; never 0 for "", never capped.
for n in "" " 5" "+5" "-1" "5 " "0x10" "1e3" "730750818665451459101842416358141509827966271488" \
	"99999999999999999999999999999999999999999999999999999999999"; do
	usage "--crl-number '$n' is refused" "--crl-number '$n' is not a decimal number from 0 to 2^159-1 (a cRLNumber is at most 20 octets" \
		--ledger "$PKI/ledger/gen1.csv" --crl-number "$n" --out "$T/usage"
done
for v in "" "0" "0h" "-1h" "+72h" " 72h" "72 h" "72hh" "1e3" "9223372036854775808" "9223372036854775807d" \
	"106751991167301d"; do
	usage "--validity '$v' is refused" "--validity '$v' is not a duration" \
		--ledger "$PKI/ledger/gen1.csv" --validity "$v" --out "$T/usage"
done
usage "a --validity past the year 9999 is refused" "nextUpdate would be after 9999-12-31T23:59:59Z" \
	--ledger "$PKI/ledger/gen1.csv" --validity 9223372036854775807 --out "$T/usage"
usage "a --this-update before 1970 needs --crl-number" "before 1970 needs --crl-number" \
	--ledger "$PKI/ledger/gen1.csv" --this-update 1969-12-31T23:59:59Z --out "$T/usage"
t_eq "nothing was written by any refused command line" "$ubefore" "$(ls -l --time-style=+%s.%N "$T/usage" | sha256sum)"
# A CA without revocations gives a ledger of only its header line.
printf 'serial,revocation_time,reason,municipality\n' > "$T/header-only.csv"
mkdir -p "$T/none"
t_ok "a header-only ledger issues" issue --ledger "$T/header-only.csv" --out "$T/none"
t_eq "54 CRLs, each empty" 54 "$(for f in "$T/none"/*.crl; do openssl crl -inform DER -in "$f" -noout -text; done |
	grep -c "No Revoked Certificates")"
# The largest cRLNumber RFC 5280 allows (2^159-1), and one beyond 64 bits, kept exactly.
mkdir -p "$T/big"
t_ok "cRLNumber 2^159-1 is issued" issue --ledger "$T/header-only.csv" --out "$T/big" \
	--crl-number 730750818665451459101842416358141509827966271487
t_match "as 0x7FFF…FF (20 octets)" "CRL Number: *[[:space:]]+0x7F{39}[[:space:]]" \
	"$(openssl crl -inform DER -in "$T/big/121002.crl" -noout -text)"
t_ok "cRLNumber 10^20-1 (beyond 64 bits) is issued" issue --ledger "$T/header-only.csv" --out "$T/big" \
	--crl-number 99999999999999999999
t_match "not capped" "CRL Number: *[[:space:]]+(99999999999999999999|0x56BC75E2D630FFFFF)[[:space:]]" \
	"$(openssl crl -inform DER -in "$T/big/121002.crl" -noout -text)"

# Publishing needs a server and files: each missing one is named, with usage 2, before any
# connection. An empty variable sets no default.
pub() { local out rc; out=$(env -u JPKI_PUBLISHER_DN -u JPKI_PUBLISHER_PASSWORD_FILE "$@" 2>&1) && rc=0 || rc=$?; printf '%s\nrc=%s' "$out" "$rc"; }
t_match "crl publish without a server names it" "^jpki crl publish: no LDAP server \(--uri or \\\$JPKI_LDAP_URI\).*rc=2$" \
	"$(pub env -u JPKI_LDAP_URI "$JPKI" crl publish "$T/ok")"
t_match "an empty JPKI_LDAP_URI is no server" "^jpki crl publish: no LDAP server .*rc=2$" \
	"$(pub env JPKI_LDAP_URI= "$JPKI" crl publish "$T/ok")"
t_match "crl publish without a file names it" "^jpki crl publish: no CRL file or directory given.*rc=2$" \
	"$(pub "$JPKI" crl publish -H ldap://127.0.0.1:1)"
t_match "ca publish without a server names it" "^jpki ca publish: no LDAP server \(--uri or .*rc=2$" \
	"$(pub env -u JPKI_LDAP_URI "$JPKI" ca publish --cert "$PKI/ca/gen1.pem")"
t_match "ca publish without --cert names it" "^jpki ca publish: --cert is required.*rc=2$" \
	"$(pub "$JPKI" ca publish -H ldap://127.0.0.1:1)"
t_match "ca publish with an extra operand names it" "^jpki ca publish: unexpected argument 'x'.*rc=2$" \
	"$(pub "$JPKI" ca publish -H ldap://127.0.0.1:1 --cert "$PKI/ca/gen1.pem" x)"
for c in "crl publish" "ca publish"; do
	# shellcheck disable=SC2086
	h=$("$JPKI" $c --help)
	t_match "$c --help names the publisher's bind defaults" 'bind defaults: \$JPKI_PUBLISHER_DN and \$JPKI_PUBLISHER_PASSWORD_FILE' "$h"
	t_match "$c --help: -y is a file holding the password on one line" \
		"-y, --password-file F +a file holding the password on one line" "$h"
done

# The command line itself: a group's help lists its commands; a missing or unknown command is
# named, with usage 2.
out=$("$JPKI" crl --help); rc=$?
t_eq "jpki crl --help succeeds" 0 "$rc"
t_match "and lists crl issue and crl publish, nothing else" "^usage.*jpki crl +issue.*jpki crl +publish[^|]*$" "$(tr '\n' '|' <<<"$out" | sed 's/|$//')"
t_not "not the other groups" grep -q "jpki verifier" <<<"$out"
out=$("$JPKI" crl frob 2>&1); rc=$?
t_eq "an unknown crl command: usage (2)" 2 "$rc"
t_match "named" "^jpki crl: no command 'frob'" "$out"
out=$("$JPKI" ca 2>&1); rc=$?
t_match "a group without its command says so" "^jpki ca: a command is needed" "$out"
t_eq "usage (2)" 2 "$rc"
out=$("$JPKI" frob 2>&1); rc=$?
t_match "an unknown group is named, with every command" "^jpki: no command 'frob'.*jpki report" "$(tr '\n' ' ' <<<"$out")"
t_eq "usage (2)" 2 "$rc"
# The command list's columns line up on screen: "…" is one column, three bytes.
t_eq "jpki --help: every summary starts in the same column" 1 \
	"$("$JPKI" --help | grep '^  jpki ' | while IFS= read -r l; do
		w=$(printf '%s' "$l" | sed -E 's/^(  jpki [^ ]+ +[^ ]+ +).*/\1/' | LC_ALL=C.UTF-8 wc -m); echo "$w"; done | sort -u | wc -l)"
t_done
