# shellcheck shell=bash
# Assertions for the bash integration tests. Source it first:
#
#   . "$JPKI_SRCDIR/tests/lib/assert.sh"      (also sources scripts/lib/instance.sh)
#   t_ok    NAME CMD…             CMD succeeds
#   t_not   NAME CMD…             CMD fails
#   t_eq    NAME EXPECTED ACTUAL
#   t_match NAME REGEX TEXT       bash =~ (extended regex)
#   t_pass NAME / t_fail NAME [WHY] / t_skip NAME [WHY] (skips are not counted)
#   dir=$(t_tmpdir)               removed at exit unless JPKI_KEEP_TMP=1
#   t_cleanup_add 'CMD'           run at exit, before instances are stopped
#   t_done                        prints "N passed, N failed"; non-zero status if any failed
#
# At exit (normal, error or signal) every slapd started with instance_start in this shell,
# and every instance living under a t_tmpdir, is stopped. End a test with: t_done; exit $?
# (or just make t_done the last command).

: "${JPKI_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${JPKI_BUILDDIR:=$JPKI_SRCDIR/build}"
export JPKI_SRCDIR JPKI_BUILDDIR
declare -F instance_stop >/dev/null || . "$JPKI_SRCDIR/scripts/lib/instance.sh"

T_PASSED=0
T_FAILED=0
T_CLEANUPS=()
# One root for every t_tmpdir of this test, so that t_tmpdir works from $( ) too.
T_TMPROOT=$(mktemp -d "${TMPDIR:-/tmp}/jpki-test.XXXXXX")

t_pass() {
	T_PASSED=$((T_PASSED + 1))
	echo "PASS: $1"
}

t_fail() {
	T_FAILED=$((T_FAILED + 1))
	echo "FAIL: $1${2:+ — $2}"
}

t_skip() {
	echo "SKIP: $1${2:+ — $2}"
}

# Indented tail of a command's output, for failure messages.
_t_show() {
	[ -n "$1" ] || return 0
	printf '%s\n' "$1" | tail -n "${T_SHOW_LINES:-20}" | sed 's/^/    | /'
}

t_ok() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" = 0 ]; then
		t_pass "$name"
	else
		t_fail "$name" "exit $rc: $*"
		_t_show "$out"
	fi
}

t_not() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" != 0 ]; then
		t_pass "$name"
	else
		t_fail "$name" "succeeded, should have failed: $*"
		_t_show "$out"
	fi
}

t_eq() {
	if [ "$2" == "$3" ]; then
		t_pass "$1"
	else
		t_fail "$1" "expected '$2', got '$3'"
	fi
}

t_match() {
	if [[ $3 =~ $2 ]]; then
		t_pass "$1"
	else
		t_fail "$1" "no match for /$2/ in:"
		_t_show "$3"
	fi
}

t_done() {
	echo "$T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" = 0 ]
}

t_tmpdir() {
	mktemp -d "$T_TMPROOT/d.XXXXXX"
}

t_cleanup_add() {
	T_CLEANUPS+=("$1")
}

_t_cleanup() {
	local rc=$? i d pidfile
	trap - EXIT INT TERM HUP
	for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUPS[i]}" || true
	done
	for d in "${JPKI_INSTANCES_STARTED[@]}"; do
		instance_stop "$d" || true
	done
	while IFS= read -r pidfile; do
		instance_stop "$(dirname "$(dirname "$pidfile")")" || true
	done < <(find "$T_TMPROOT" -path '*/run/slapd.pid' 2>/dev/null)
	if [ "${JPKI_KEEP_TMP:-0}" = 1 ]; then
		echo "kept temporary files in $T_TMPROOT" >&2
	else
		rm -rf "$T_TMPROOT"
	fi
	exit "$rc"
}
trap _t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
