#!/usr/bin/env bash
# Benchmark: publishing one large partition CRL with `jpki crl publish`, through the jpkirepo
# overlay, against the baseline of the same slapd storing the same bytes without the overlay.
# Both instances run side by side; runs alternate between them so that both see the same
# machine. Prints medians and the ratio; asserts nothing about time.
#
#   bench/crl_publish.sh [ENTRIES…]     (default: 1000 100000 1000000)
#   BENCH_REPS=5                        publications per size and instance (1M: at most 3)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export JPKI_SRCDIR=$SRC JPKI_BUILDDIR=${JPKI_BUILDDIR:-$SRC/build}
. "$SRC/scripts/lib/instance.sh"
. "$SRC/scripts/lib/repo.sh"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000 1000000)
reps=${BENCH_REPS:-5}
JPKI=$JPKI_BUILDDIR/tools/jpki
PKI=$JPKI_BUILDDIR/test-pki
[ -f "$PKI/.complete" ] || "$SRC/scripts/lib/testpki.sh" "$PKI" "$JPKI_BUILDDIR" >&2
export SOFTHSM2_CONF=$PKI/softhsm2.conf
W=$(mktemp -d "${TMPDIR:-/tmp}/jpki-bench.XXXXXX")
trap 'instance_stop "$W/overlay" >/dev/null 2>&1; instance_stop "$W/baseline" >/dev/null 2>&1; rm -rf "$W"' EXIT

# 1M entries are ~37 MB: slapd's incoming limit and the overlay's cap must allow it.
export INSTANCE_MAX_INCOMING=$((128 << 20)) INSTANCE_LOGLEVEL=none REPO_AUDIT=0
REPO_OVERLAY_EXTRA="jpkirepo-max-size $((128 << 20))" repo_init "$W/overlay" "$PKI" >/dev/null
INSTANCE_OVERLAY=0 repo_init "$W/baseline" "$PKI" >/dev/null

now() { echo "${EPOCHREALTIME/./}"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
publish_us() {
	local dir=$1 file=$2 t0 t1 uri
	uri=$(repo_uri "$dir")
	t0=$(now)
	"$JPKI" crl publish -H "$uri" -D "$REPO_PUBLISHER_DN" -y "$dir/secrets/publisher.pw" "$file" >"$W/out" ||
		{ cat "$W/out" >&2; return 1; }
	t1=$(now)
	echo $((t1 - t0))
}

printf '%-9s %10s %12s %12s %7s %12s\n' entries "DER bytes" "overlay s" "baseline s" ratio "openssl s"
for n in "${sizes[@]}"; do
	r=$reps
	[ "$n" -lt 1000000 ] || [ "$r" -le 3 ] || r=3
	awk -v n="$n" 'BEGIN { print "serial,revocation_time,reason,municipality";
		for (i = 1; i <= n; i++) printf "%X,2026-01-01T00:00:00Z,%d,121002\n", 1048576 + i, 1 + i % 5 }' > "$W/ledger.csv"
	: > "$W/ov"; : > "$W/base"; : > "$W/ssl"
	for k in $(seq 1 "$r"); do
		out=$W/crl-$n-$k
		mkdir -p "$out"
		"$JPKI" crl issue --ca-cert "$PKI/ca/gen1.pem" --ca-key "$(cat "$PKI/ca/gen1.key.uri")" \
			--ledger "$W/ledger.csv" --crl-number $((n * 10 + k)) --out "$out" >/dev/null
		f=$out/121002.crl
		publish_us "$W/overlay" "$f" >> "$W/ov"
		publish_us "$W/baseline" "$f" >> "$W/base"
		# Reference: one OpenSSL parse and signature check of the same file, in its own process.
		t0=$(now); openssl crl -inform DER -in "$f" -noout -CAfile "$PKI/ca/gen1.pem" 2>/dev/null; t1=$(now)
		echo $((t1 - t0)) >> "$W/ssl"
		bytes=$(stat -c %s "$f")
		rm -rf "$out"
	done
	ov=$(median < "$W/ov"); base=$(median < "$W/base"); ssl=$(median < "$W/ssl")
	awk -v n="$n" -v b="$bytes" -v o="$ov" -v s="$base" -v x="$ssl" \
		'BEGIN { printf "%-9s %10s %12.3f %12.3f %7.2f %12.3f\n", n, b, o / 1e6, s / 1e6, o / s, x / 1e6 }'
done
echo "ratio = overlay / baseline (median of each, $reps runs; 1M: at most 3). Targets (issue 2): 100k < 0.5 s and ratio <= 2."
