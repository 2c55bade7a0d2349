#!/usr/bin/env bash
# The man pages against the programs they document, so that neither can drift from the other:
# jpki(1) and jpki-ocspd(8) format without a warning; every subcommand `jpki --help` names has
# its SYNOPSIS line and its COMMANDS subsection; every option a subcommand's --help prints is
# documented (those of its own usage line in its own subsection), and every option the page
# names is one a subcommand lists or the command accepts; every JPKI_* variable the code
# reads (getenv in tools/ and lib/) or a --help names is in ENVIRONMENT, and nothing else is;
# the EXIT STATUS values are cli.h's; the EXAMPLES run real subcommands with real options;
# every option and setting `jpki-ocspd --help` prints is in jpki-ocspd(8).
#
# JPKI_MAN_JPKI and JPKI_MAN_OCSPD name other pages to check (default: tools/jpki.1 and the
# built responder/jpki-ocspd.8), e.g. a copy broken on purpose to see a check fail.
set -u
. "$(dirname "$0")/../lib/assert.sh"

JPKI=$JPKI_BUILDDIR/tools/jpki
OCSPD=$JPKI_BUILDDIR/responder/jpki-ocspd
PAGE=${JPKI_MAN_JPKI:-$JPKI_SRCDIR/tools/jpki.1}
OPAGE=${JPKI_MAN_OCSPD:-$JPKI_BUILDDIR/responder/jpki-ocspd.8}

for f in "$JPKI" "$OCSPD"; do
	[ -x "$f" ] || { t_fail "built: $f"; t_done; exit 1; }
done
for f in "$PAGE" "$OPAGE"; do
	[ -f "$f" ] || { t_fail "page: $f"; t_done; exit 1; }
done
command -v groff >/dev/null || { t_fail "groff" "not installed (scripts/lib/deps.sh: groff-base)"; t_done; exit 1; }

# --- helpers ---------------------------------------------------------------------------------

# The page's source as text: comments dropped, font changes and \& gone, \- as -, \(dq as ".
norm() {
	sed -e '/^\.\\"/d' -e 's/\\-/-/g' -e 's/\\f\[[^]]*\]//g' -e 's/\\f([A-Za-z][A-Za-z]//g' \
		-e 's/\\f[A-Za-z1-4]//g' -e 's/\\&//g' -e 's/\\%//g' -e 's/\\(dq/"/g' -e 's/\\e/\\/g' "$1"
}
# Section NAME (.SH NAME up to the next .SH) of normalised text on stdin.
section() {
	awk -v want="$1" '/^\.SH /{ t = $0; sub(/^\.SH +/, "", t); gsub(/"/, "", t); ins = (t == want); next } ins'
}
# Subsection of section COMMANDS whose .SS title, split at ", ", has the part WANT.
subsection() {
	awk -v want="$1" '
		/^\.SH /{ ins = 0; next }
		/^\.SS /{ t = $0; sub(/^\.SS +/, "", t); gsub(/"/, "", t); n = split(t, p, /, */)
			ins = 0; for (i = 1; i <= n; i++) if (p[i] == want) ins = 1; next }
		ins'
}
long_opts() { grep -oE -- '--[a-z][a-z0-9]*(-[a-z0-9]+)*' | sort -u; }
short_opts() { grep -oE -- '(^|[][[:space:](|,])-[A-Za-z]([][[:space:]|,;.)]|$)' | grep -oE -- '-[A-Za-z]' | sort -u; }
# Words of list A (one a line) missing from list B.
missing() { comm -23 <(printf '%s\n' "$1" | sed '/^$/d' | sort -u) <(printf '%s\n' "$2" | sed '/^$/d' | sort -u) | tr '\n' ' '; }
# t_empty NAME TEXT WHY: passes when TEXT is empty, else fails naming it.
t_empty() {
	if [ -z "$(tr -d ' \n' <<<"$2")" ]; then t_pass "$1"; else t_fail "$1" "$3: $2"; fi
}
# The usage forms of `jpki G V` in a --help text: the lines "usage: jpki G V…" or
# "       jpki G V1|V2…" naming V, with their continuation lines (indented, starting with [ or --).
usage_forms() {
	awk -v g="$1" -v v="$2" '
		/^(usage: +| +)jpki [a-z]+ [a-z|]+/ {
			s = $0; sub(/^(usage: +| +)jpki /, "", s); split(s, w, " ")
			n = split(w[2], verbs, "|"); form = 0
			if (w[1] == g) for (i = 1; i <= n; i++) if (verbs[i] == v) form = 1
			if (form) print; next
		}
		form && /^ +(\[|--)/ { print; next }
		{ form = 0 }'
}
# How many usage forms a --help text has.
nforms() { grep -cE '^(usage: +| +)jpki [a-z]+ [a-z|]+' <<<"$1"; }

# --- the pages format cleanly (as man(1) formats them: preconv, UTF-8) ------------------------

for p in "$PAGE" "$OPAGE"; do
	out=$(groff -k -man -Tutf8 -ww -z "$p" 2>&1); rc=$?
	if [ "$rc" = 0 ] && [ -z "$out" ]; then
		t_pass "groff -k -man -Tutf8 -ww: no warning for ${p##*/}"
	else
		t_fail "groff -k -man -Tutf8 -ww: no warning for ${p##*/}" "exit $rc"
		_t_show "$out"
	fi
done

N=$(norm "$PAGE")
t_eq "jpki.1: the header" '.TH JPKI 1 "2026" "jpki-repository" "User Commands"' "$(grep -m1 '^\.TH' "$PAGE")"
t_eq "jpki.1: the sections, in order" \
	"NAME SYNOPSIS DESCRIPTION COMMANDS ENVIRONMENT FILES EXIT STATUS EXAMPLES SEE ALSO" \
	"$(grep '^\.SH' <<<"$N" | sed 's/^\.SH *//; s/"//g' | tr '\n' ' ' | sed 's/ $//')"
seealso=$(section "SEE ALSO" <<<"$N")
for ref in "jpki-ocspd (8)" "slapo-jpkirepo (5)" "slapd.conf (5)" "ldapmodify (1)" "openssl-ocsp (1)"; do
	grep -qF ".BR $ref" <<<"$seealso" || miss_ref+="$ref "
done
t_empty "jpki.1: SEE ALSO names jpki-ocspd(8), slapo-jpkirepo(5), slapd.conf(5), ldapmodify(1), openssl-ocsp(1)" \
	"${miss_ref:-}" "missing"

SYN=$(section SYNOPSIS <<<"$N")
COMMANDS=$(section COMMANDS <<<"$N")
LDAPSUB=$(subsection "LDAP options" <<<"$N")
PAGE_LONG=$(long_opts <<<"$N")
PAGE_SHORT=$(short_opts <<<"$N")

# --- every subcommand --------------------------------------------------------------------------

TOP=$("$JPKI" --help 2>&1); rc=$?
t_eq "jpki --help: exit 0" 0 "$rc"
# "  jpki crl      issue     …" and, for a group taking its verb, "  jpki verifier …  add | suspend | … text".
SUBS=$(awk '$1 == "jpki" && NF >= 3 {
		if ($3 != "…") { print $2 " " $3; next }
		print $2 " " $4
		for (i = 5; i < NF; i++) if ($i == "|") print $2 " " $(i + 1)
	}' <<<"$TOP")
t_match "jpki --help names the subcommands" "crl issue" "$SUBS"

HELP_LONG=$(long_opts <<<"$TOP")
HELP_SHORT=$(short_opts <<<"$TOP")
HELP_ENV=$(grep -oE 'JPKI_[A-Z0-9_]+' <<<"$TOP")
declare -A HELP_OF
while read -r g v; do
	[ -n "$g" ] || continue
	name="jpki $g $v"
	h=$("$JPKI" "$g" "$v" --help 2>&1); rc=$?
	if [ "$rc" = 0 ] && [[ $h == *"jpki $g"* ]] && grep -qw -- "$v" <<<"$h"; then
		t_pass "$name --help: exit 0, names it"
	else
		t_fail "$name --help: exit 0, names it" "exit $rc"
		_t_show "$h"
	fi
	HELP_OF[$g $v]=$h
	opts=$(long_opts <<<"$h")
	HELP_LONG+=$'\n'$opts
	HELP_SHORT+=$'\n'$(short_opts <<<"$h")
	HELP_ENV+=$'\n'$(grep -oE 'JPKI_[A-Z0-9_]+' <<<"$h")

	t_eq "$name: a SYNOPSIS line" 1 "$(grep -cE "^\.B jpki $g $v\$" <<<"$SYN")"
	sub=$(subsection "$g $v" <<<"$N")
	if [ -n "$sub" ]; then t_pass "$name: a subsection in COMMANDS"; else t_fail "$name: a subsection in COMMANDS"; fi
	t_empty "$name: every option its --help prints is in COMMANDS" \
		"$(missing "$opts" "$(long_opts <<<"$COMMANDS")")" "missing"
	# Its own options: those of its usage line in its subsection; for a help of this
	# subcommand alone, every option it prints (the LDAP options may be in their own).
	if [ "$(nforms "$h")" = 1 ]; then
		own=$opts scope="$sub"$'\n'"$LDAPSUB" what="every option its --help prints"
	else
		own=$(usage_forms "$g" "$v" <<<"$h" | long_opts) scope=$sub what="the options of its usage line"
	fi
	t_empty "$name: $what in its subsection" "$(missing "$own" "$(long_opts <<<"$scope")")" "missing"
done <<<"$SUBS"

# SYNOPSIS names no subcommand that does not exist.
t_empty "jpki.1: every SYNOPSIS form is a subcommand of jpki --help" \
	"$(missing "$(sed -n 's/^\.B jpki \([a-z]\+ [a-z]\+\)$/\1/p' <<<"$SYN")" "$SUBS")" "not a subcommand"

# The options of the whole page: each one a subcommand lists, or one the command accepts.
unknown=
for o in $(missing "$PAGE_LONG" "$HELP_LONG"); do
	"$JPKI" "$o" >/dev/null 2>&1 || unknown+="$o "
done
t_empty "jpki.1: every --option it names is listed by a --help or accepted" "$unknown" "neither"
t_empty "jpki.1: every short option a --help prints is in it" "$(missing "$HELP_SHORT" "$PAGE_SHORT")" "missing"
unknown=
for o in $(missing "$PAGE_SHORT" "$HELP_SHORT"); do
	"$JPKI" "$o" >/dev/null 2>&1 || unknown+="$o "
done
t_empty "jpki.1: every short option it names is listed by a --help or accepted" "$unknown" "neither"

# --- environment ---------------------------------------------------------------------------------

# getenv("JPKI_…") in tools/ and lib/, or getenv(NAME) with #define NAME "JPKI_…" in that file.
code_env=
unresolved=
for f in "$JPKI_SRCDIR"/tools/*.c "$JPKI_SRCDIR"/lib/*.c; do
	while read -r arg; do
		case $arg in
		\"*) code_env+=$'\n'${arg//\"/} ;;
		*)
			def=$(sed -n "s/^#define $arg \"\([^\"]*\)\".*/\1/p" "$f")
			if [ -n "$def" ]; then code_env+=$'\n'$def; else unresolved+="${f##*/}:$arg "; fi ;;
		esac
	done < <(grep -oE 'getenv\([^)]*\)' "$f" | sed 's/^getenv(//; s/)$//')
done
code_env=$(grep -E '^JPKI_' <<<"$code_env" | sort -u)
t_empty "every getenv in tools/ and lib/ names its variable" "$unresolved" "cannot tell"
t_match "the code reads JPKI_* variables (getenv found)" "JPKI_LDAP_URI" "$code_env"
ENVSEC=$(section ENVIRONMENT <<<"$N")
env_items=$(awk '/^\.TP/{ tp = 1; next } tp && /^\.B +JPKI_/ { print $2 } { tp = 0 }' <<<"$ENVSEC" | sort -u)
t_empty "ENVIRONMENT: every JPKI_* variable the code reads" "$(missing "$code_env" "$env_items")" "missing"
t_empty "ENVIRONMENT: every \$JPKI_* variable a --help names" \
	"$(missing "$(sort -u <<<"$HELP_ENV")" "$env_items")" "missing"
t_empty "ENVIRONMENT: no variable the code does not read" "$(missing "$env_items" "$code_env")" "not read"

# --- exit status and examples ----------------------------------------------------------------------

codes="0"$'\n'$(sed -n 's/^#define EXIT_[A-Z]* \([0-9]\+\).*/\1/p' "$JPKI_SRCDIR/tools/cli.h")
t_eq "EXIT STATUS: the values of tools/cli.h and 0" "$(sort -un <<<"$codes" | tr '\n' ' ')" \
	"$(awk '/^\.TP/{ tp = 1; next } tp && /^\.B +[0-9]+$/ { print $2 } { tp = 0 }' \
		<<<"$(section "EXIT STATUS" <<<"$N")" | sort -un | tr '\n' ' ')"

# Each example command line (continuations joined) runs a subcommand with options it lists.
bad=
nex=0
while read -r g v rest; do
	nex=$((nex + 1))
	if [ -z "${HELP_OF[$g $v]+x}" ]; then
		bad+="'jpki $g $v' "
		continue
	fi
	for o in $(missing "$(long_opts <<<"$rest")" "$(long_opts <<<"${HELP_OF[$g $v]}")") \
		$(missing "$(short_opts <<<"$rest")" "$(short_opts <<<"${HELP_OF[$g $v]}")"); do
		bad+="jpki $g $v $o "
	done
done < <(section EXAMPLES <<<"$N" | sed -n '/^\.nf/,/^\.fi/p' | sed -e :a -e '/\\$/N; s/\\\n */ /; ta' |
	sed -n 's/^jpki \([a-z]\+ [a-z]\+.*\)/\1/p')
t_empty "EXAMPLES: $nex jpki command lines, each a subcommand with options it lists" "$bad" "not so"
if [ "$nex" -gt 0 ]; then t_pass "EXAMPLES: there are some"; else t_fail "EXAMPLES: there are some"; fi

# --- jpki-ocspd(8) against jpki-ocspd --help --------------------------------------------------------

OH=$("$OCSPD" --help 2>&1); rc=$?
t_eq "jpki-ocspd --help: exit 0" 0 "$rc"
ON=$(norm "$OPAGE")
t_empty "jpki-ocspd.8: every long option jpki-ocspd --help prints" \
	"$(missing "$(long_opts <<<"$OH")" "$(long_opts <<<"$ON")")" "missing"
t_empty "jpki-ocspd.8: every short option jpki-ocspd --help prints" \
	"$(missing "$(short_opts <<<"$OH")" "$(short_opts <<<"$ON")")" "missing"
# The settings, each also an option --NAME: the list after "the file:" up to its full stop.
settings=$(tr '\n' ' ' <<<"$OH" | sed -n 's/.*the file: \([a-z0-9 -]*\)\..*/\1/p' | tr ' ' '\n' | sed '/^$/d' | sort -u)
t_match "jpki-ocspd --help lists the settings" "key-uri" "$settings"
page_settings=$(section CONFIGURATION <<<"$ON" |
	awk '/^\.(TP|TQ)/{ tp = 1; next } tp && /^\.BI? +[a-z]/ { print $2 } { tp = 0 }' | sort -u)
t_empty "jpki-ocspd.8: every setting jpki-ocspd --help lists, under CONFIGURATION" \
	"$(missing "$settings" "$page_settings")" "missing"
t_empty "jpki-ocspd.8: every setting under CONFIGURATION is one jpki-ocspd --help lists" \
	"$(missing "$page_settings" "$settings")" "not listed"

t_done
