#!/usr/bin/env bash
# slapo-jpkirepo(5) against the overlay it documents:
#  - groff formats the page without a warning;
#  - every slapd.conf directive and cn=config name of overlays/jpkirepo_config.c, and every
#    rule name a refusal can carry (lib/crl_check.c's labels, the overlay's own), appears in
#    the page, and every directive and olcJpkiRepo* name the page mentions exists there;
#  - the page's slapd.conf example (between its example-begin and example-end marks), with
#    paths moved to a temporary directory and the test PKI, passes slapd -T test -u with the
#    module loaded, and slapd serves it (the trust anchor, the audit trail and its checkpoint
#    key in the test PKI's token);
#  - the page's cn=config LDIF (between ldif-begin and ldif-end) is what slapd makes of that
#    example when it converts it to slapd.d.
set -u
. "$(dirname "$0")/../lib/assert.sh"
. "$JPKI_SRCDIR/tests/lib/pki.sh"

PAGE=$JPKI_SRCDIR/overlays/slapo-jpkirepo.5
CONFIG_C=$JPKI_SRCDIR/overlays/jpkirepo_config.c
SO=$JPKI_BUILDDIR/overlays/.libs/jpkirepo.so
SLAPD=${JPKI_SLAPD:-/usr/sbin/slapd}
T=$(t_tmpdir)

# "missing: a b c" for the words of $1 (one a line) not among those of $2, else nothing.
missing() {
	local out
	out=$(comm -23 <(printf '%s\n' "$1" | sed '/^$/d' | sort -u) <(printf '%s\n' "$2" | sed '/^$/d' | sort -u))
	[ -z "$out" ] || echo "missing:" $out
}
# t_none NAME TEXT: passes when TEXT is empty, else fails showing it.
t_none() {
	if [ -z "$2" ]; then
		t_pass "$1"
	else
		t_fail "$1" "$2"
	fi
}

# --- the page formats cleanly ----------------------------------------------------------------
if ! command -v groff >/dev/null; then
	t_fail "groff is installed"
	t_done
	exit 1
fi
warnings=$({ groff -man -ww -z "$PAGE"; groff -k -man -ww -z -Tutf8 "$PAGE"; } 2>&1)
t_none "groff -man -ww prints no warning (ps and utf8 devices)" "$warnings"

# The page as read, one paragraph a line (no hyphenation, no wrapping), without overstrikes.
text=$(groff -man -Tascii -P-cbou -rLL=5000n -rHY=0 "$PAGE" 2>/dev/null)

# --- every directive and cn=config name of the source is documented, and only those -----------
src_directives=$(grep -oE '"jpkirepo-[a-z0-9-]+"' "$CONFIG_C" | tr -d '"' | sort -u)
src_names=$(grep -oE "NAME 'olcJpkiRepo[A-Za-z0-9]+'" "$CONFIG_C" | sed -E "s/NAME '(.*)'/\1/" | sort -u)
page_directives=$(grep -oE 'jpkirepo-[a-z0-9]+(-[a-z0-9]+)*' <<<"$text" | sort -u)
page_names=$(grep -oE 'olcJpkiRepo[A-Za-z0-9]+' <<<"$text" | sort -u)
# The extraction must see every ConfigTable entry: each has a cn=config attribute, whose
# definition starts with JPKIREPO_CFG_AT (a name written another way would escape the grep).
entries=$(grep -c 'JPKIREPO_CFG_AT "\.[0-9]* NAME' "$CONFIG_C")
t_eq "a directive name is found for each of the $entries cn=config attributes" "$entries" \
	"$(grep -c . <<<"$src_directives")"
t_none "every directive of jpkirepo_config.c is in the page" "$(missing "$src_directives" "$page_directives")"
t_none "every olcJpkiRepo* attribute and object class of jpkirepo_config.c is in the page" \
	"$(missing "$src_names" "$page_names")"
t_none "every jpkirepo-* directive the page names exists in jpkirepo_config.c" \
	"$(missing "$page_directives" "$src_directives")"
t_none "every olcJpkiRepo* name the page uses exists in jpkirepo_config.c" \
	"$(missing "$page_names" "$src_names")"

# --- every rule a refusal can name is documented ----------------------------------------------
# lib/crl_check.c labels each jpki_rule ("[JPKI_RULE_NUMBER] = \"(e) crl-number\""); refusals
# in lib/ and the overlay name a rule by its enum value; the overlay writes one rule itself.
labels=$(sed -n '/labels\[\] = {/,/^};/p' "$JPKI_SRCDIR/lib/crl_check.c" |
	grep -oE '\[JPKI_RULE_[A-Z_]+\] = "[^"]*"' | grep -v '^\[JPKI_RULE_NONE\]')
used=$(grep -ohE 'JPKI_RULE_[A-Z_]+' "$JPKI_SRCDIR/lib/crl_check.c" "$JPKI_SRCDIR/lib/registry_check.c" \
	"$JPKI_SRCDIR"/overlays/*.c | grep -vx JPKI_RULE_NONE | sort -u)
unlabelled=$(missing "$used" "$(sed -E 's/^\[([A-Z_]+)\].*/\1/' <<<"$labels")")
t_none "every rule used in a refusal has a label in lib/crl_check.c" "$unlabelled"
enum=$(sed -n '/^typedef enum jpki_rule {/,/^} jpki_rule;/p' "$JPKI_SRCDIR/lib/crl_check.h" |
	grep -oE '^[[:space:]]*JPKI_RULE_[A-Z_]+' | sed 's/^[[:space:]]*//' | grep -vx JPKI_RULE_NONE | sort -u)
t_none "every jpki_rule of lib/crl_check.h has a label" \
	"$(missing "$enum" "$(sed -E 's/^\[([A-Z_]+)\].*/\1/' <<<"$labels")")$([ -n "$enum" ] || echo 'no enum found')"
rules=$(sed -E 's/^[^"]*"(.*)"$/\1/' <<<"$labels")
rules+=$'\n'$(grep -ohE '"[^"]*\brule [a-z][a-z -]*[a-z]' "$JPKI_SRCDIR"/overlays/*.c | sed -E 's/.*\brule //')
absent=""
while IFS= read -r r; do
	# As a name of its own: "(e) crl-number" is not found in "(e) crl-numbers".
	re=$(sed 's/[][\.*^$()+?{}|/]/\\&/g' <<<"$r")
	[ -n "$r" ] && ! grep -qE -- "(^|[^[:alnum:]-])$re(\$|[^[:alnum:]-])" <<<"$text" && absent+=" '$r'"
done <<<"$rules"
t_none "every rule name a refusal can carry is in the page" "${absent:+missing:$absent}"

# --- the slapd.conf example is accepted by slapd, with the module ------------------------------
# The text between two marks in the page source, as the reader sees it (groff escapes undone).
between() {
	sed -n "/^\.\\\\\" $1-begin\$/,/^\.\\\\\" $1-end\$/p" "$PAGE" | sed -e '/^\./d' \
		-e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g'
}
PKI=$(test_pki) || { t_fail "test PKI"; t_done; exit 1; }
export SOFTHSM2_CONF=$PKI/softhsm2.conf
mkdir -p "$T/db" "$T/audit"
chmod 700 "$T/audit"
# The responder's key and certificate stand in for the checkpoint key; the PIN comes from the
# pin file directive, not from the URI.
KEY_URI=$(sed -E 's/[?&]pin-source=[^&]*//' "$PKI/ocsp/key.uri")
ANCHOR=$PKI/ca/gen1.pem CKPT_CERT=$PKI/ocsp/responder.pem PIN=$PKI/pin
# Paths and the key go by directive (or attribute), whatever the page puts there.
relocate() {
	awk -v schema="$JPKI_SRCDIR/schema/jpki.schema" -v so="$SO" -v db="$T/db" -v anchor="$ANCHOR" \
		-v audit="$T/audit" -v key="$KEY_URI" -v cert="$CKPT_CERT" -v pin="$PIN" '
		$1 == "include" && $2 ~ /\/jpki\.schema$/ { print "include " schema; next }
		$1 == "moduleload" && $2 ~ /(^|\/)jpkirepo\.so$/ { print "moduleload " so; next }
		$1 == "directory" { print "directory " db; next }
		$1 == "jpkirepo-trust-anchor" || $1 == "olcJpkiRepoTrustAnchor:" { print $1 " " anchor; next }
		$1 == "jpkirepo-audit-dir" || $1 == "olcJpkiRepoAuditDir:" { print $1 " " audit; next }
		$1 == "jpkirepo-audit-checkpoint-key" || $1 == "olcJpkiRepoAuditCheckpointKey:" { print $1 " " key; next }
		$1 == "jpkirepo-audit-checkpoint-cert" || $1 == "olcJpkiRepoAuditCheckpointCert:" { print $1 " " cert; next }
		$1 == "jpkirepo-audit-checkpoint-pin-file" || $1 == "olcJpkiRepoAuditCheckpointPinFile:" { print $1 " " pin; next }
		{ print }'
}
between example | relocate > "$T/slapd.conf"
if [ -f "$SO" ]; then
	# An empty configuration passes slapd -T test too: the example must load the module and
	# configure the overlay.
	out=$("$SLAPD" -T test -f "$T/slapd.conf" -u 2>&1) && rc=0 || rc=$?
	t_eq "slapd -T test -f <example> -u accepts the example, module loaded, overlay configured" \
		"0 succeeded 1 1" "$rc $(grep -o 'succeeded' <<<"$out" | head -1) $(grep -cxF "moduleload $SO" \
		"$T/slapd.conf") $(grep -cx 'overlay jpkirepo' "$T/slapd.conf")"
	[ "$rc" = 0 ] || _t_show "$out"
	# slapd itself serving the example: it creates and opens the database, and the overlay
	# checks its trust anchors, opens the audit trail (its lock file) and the checkpoint key in
	# the test PKI's token. slapd's tools (-T) open neither trail nor key.
	port=$(jpki_free_port)
	"$SLAPD" -f "$T/slapd.conf" -h "ldap://127.0.0.1:$port/" -d 0 </dev/null >/dev/null 2>"$T/slapd.log" &
	pid=$!
	# Killed at exit only while it is still ours (pid cleared once it has been reaped).
	t_cleanup_add '[ -z "$pid" ] || kill "$pid" 2>/dev/null'
	served=no
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		if ldapsearch -x -LLL -o nettimeout=2 -H "ldap://127.0.0.1:$port" -b '' -s base 1.1 >/dev/null 2>&1; then
			served=yes
			break
		fi
		sleep 0.1
	done
	[ -e "$T/audit/.slapd.lock" ] && served+=" locked"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=""
	t_eq "slapd serves the example (database, trust anchors, audit trail, checkpoint key)" "yes locked" "$served"
	[ "$served" = "yes locked" ] || _t_show "$(cat "$T/slapd.log")"
else
	t_fail "the module is built" "no $SO"
fi

# --- the cn=config LDIF is what slapd makes of the example ------------------------------------
# slapd writes slapd.d when it starts the config database: not with -u (and back-mdb then opens
# the database slapd created above).
mkdir -p "$T/slapd.d"
out=$("$SLAPD" -T test -f "$T/slapd.conf" -F "$T/slapd.d" 2>&1) || _t_show "$out"
ovl=$(grep -rl '^objectClass: olcJpkiRepoConfig$' "$T/slapd.d" 2>/dev/null | head -1)
made=""
if [ -n "$ovl" ]; then
	# DN from the path under slapd.d; LDIF lines unfolded; the overlay's own attributes.
	rel=${ovl#"$T/slapd.d/"}
	rel=${rel%.ldif}
	dn=$(tr '/' '\n' <<<"$rel" | tac | paste -sd, -)
	made=$({ echo "dn: $dn"; awk '/^ / { line = line substr($0, 2); next } { if (NR > 1) print line; line = $0 } END { print line }' "$ovl" |
		grep -E '^(objectClass|olcOverlay|olcJpkiRepo[A-Za-z]*):'; } | sort)
fi
page_ldif=$(between ldif | relocate | sed '/^$/d' | sort)
if [ -n "$made" ] && [ "$made" = "$page_ldif" ]; then
	t_pass "the page's cn=config LDIF is slapd's conversion of its slapd.conf example"
else
	t_fail "the page's cn=config LDIF is slapd's conversion of its slapd.conf example" \
		"diff (< slapd, > page):"
	_t_show "$(diff <(printf '%s\n' "$made") <(printf '%s\n' "$page_ldif"))"
fi

t_done
