#!/usr/bin/env bash
# Run every test program and sum their results.
#
#   tests/run-all.sh [SUBSTRING…]     only the tests whose name contains one of them
#
# Unit tests: the executables $JPKI_BUILDDIR/tests/unit/test_*. Integration tests:
# tests/integration/test_*.sh. Each runs from $JPKI_BUILDDIR with JPKI_SRCDIR and
# JPKI_BUILDDIR exported, under a timeout (JPKI_TEST_TIMEOUT, 600 s), its output echoed and
# kept in $JPKI_BUILDDIR/test-logs/<name>.log. A program's result is its last line
# "N passed, N failed"; one that prints none, or exits non-zero without a failure counted,
# counts as 1 failed. The last line printed is the total, "N passed, N failed"; the exit
# status is non-zero if anything failed.
set -uo pipefail

JPKI_SRCDIR=${JPKI_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
JPKI_BUILDDIR=${JPKI_BUILDDIR:-$JPKI_SRCDIR/build}
JPKI_SRCDIR=$(cd "$JPKI_SRCDIR" && pwd)
mkdir -p "$JPKI_BUILDDIR" && JPKI_BUILDDIR=$(cd "$JPKI_BUILDDIR" && pwd)
export JPKI_SRCDIR JPKI_BUILDDIR
timeout_s=${JPKI_TEST_TIMEOUT:-600}
logdir=$JPKI_BUILDDIR/test-logs
mkdir -p "$logdir"

tests=()   # "name<TAB>path"
for f in "$JPKI_BUILDDIR"/tests/unit/test_*; do
	base=${f##*/}
	[ -f "$f" ] && [ -x "$f" ] && [[ $base != *.* ]] || continue
	tests+=("$base"$'\t'"$f")
done
for f in "$JPKI_SRCDIR"/tests/integration/test_*.sh; do
	[ -f "$f" ] || continue
	tests+=("${f##*/}"$'\t'"$f")
done
if [ $# -gt 0 ]; then
	selected=()
	for t in "${tests[@]}"; do
		for pat in "$@"; do
			[[ ${t%%$'\t'*} == *"$pat"* ]] && { selected+=("$t"); break; }
		done
	done
	tests=("${selected[@]}")
fi

total_pass=0
total_fail=0
rows=()
[ -d "$JPKI_BUILDDIR/tests/unit" ] || echo "run-all: no $JPKI_BUILDDIR/tests/unit: no unit tests built"
if [ ${#tests[@]} -eq 0 ]; then
	echo "run-all: no test found"
	total_fail=1
	rows+=("(none)"$'\t'0$'\t'1$'\t'"no test found"$'\t'0)
fi

for t in "${tests[@]}"; do
	name=${t%%$'\t'*}
	path=${t#*$'\t'}
	log=$logdir/$name.log
	echo "==== $name"
	start=${EPOCHREALTIME/./}
	: > "$log"
	if [[ $path == *.sh ]]; then cmd=(bash "$path"); else cmd=("$path"); fi
	# The log file is written by the test alone; tail echoes it until the test ends, so a
	# process the test leaves behind cannot hold our output open.
	(cd "$JPKI_BUILDDIR" && exec timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null >"$log" 2>&1) &
	pid=$!
	tail -n +1 -s 0.1 --pid="$pid" -f "$log" 2>/dev/null &
	tailpid=$!
	wait "$pid"
	rc=$?
	wait "$tailpid" 2>/dev/null
	secs=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
	secs=$(printf '%d.%03d' $((secs / 1000)) $((secs % 1000)))

	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	note=ok
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }; f=${f%% failed}
	else
		p=0 f=0
		note="no result line"
	fi
	if [ "$rc" = 124 ]; then
		note="timeout after ${timeout_s}s"
	elif [ "$rc" -gt 128 ]; then
		note="killed by signal $((rc - 128))"
	elif [ "$rc" != 0 ]; then
		if [ -n "$line" ]; then note="exit $rc"; else note="exit $rc, no result line"; fi
	fi
	[ "$note" = ok ] || [ "$f" != 0 ] || f=1
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	rows+=("$name"$'\t'"$p"$'\t'"$f"$'\t'"$note"$'\t'"$secs")
done

echo
echo "==== summary (logs in $logdir)"
printf '%-40s %7s %7s %9s  %s\n' test pass fail seconds status
for r in "${rows[@]}"; do
	IFS=$'\t' read -r name p f note secs <<<"$r"
	printf '%-40s %7s %7s %9s  %s\n' "$name" "$p" "$f" "$secs" "$note"
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
