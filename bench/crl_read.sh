#!/usr/bin/env bash
# Benchmark: user-CRL retrieval by a registered verifier through the jpkirepo overlay (the
# verifier registry decides on every search), against the same slapd with the overlay absent
# and an equivalent static ACL naming the verifier. Same DIT, CRLs, concurrency and client
# (bench/ldap-load, one bound connection per thread); runs alternate between the two.
#
#   bench/crl_read.sh [THREADS] [SECONDS] [ROUNDS]     (default 8 5 3)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export JPKI_SRCDIR=$SRC JPKI_BUILDDIR=${JPKI_BUILDDIR:-$SRC/build}
. "$SRC/scripts/lib/instance.sh"
. "$SRC/scripts/lib/repo.sh"

threads=${1:-8} seconds=${2:-5} rounds=${3:-3}
LOAD=$JPKI_BUILDDIR/bench/ldap-load
PKI=$JPKI_BUILDDIR/test-pki
[ -f "$PKI/.complete" ] || "$SRC/scripts/lib/testpki.sh" "$PKI" "$JPKI_BUILDDIR" >&2
export SOFTHSM2_CONF=$PKI/softhsm2.conf INSTANCE_LOGLEVEL=none
# Issue 2/3 comparisons leave the audit trail out (bench/audit.sh measures its cost).
export REPO_AUDIT=0
W=$(mktemp -d "${TMPDIR:-/tmp}/jpki-bench.XXXXXX")
# The servers are always stopped (by pid); BENCH_KEEP keeps only the files.
cleanup() {
	instance_stop "$W/overlay" >/dev/null 2>&1
	instance_stop "$W/static" >/dev/null 2>&1
	if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

VERIFIER="uid=signature,$REPO_VERIFIER_BASE"
# The static equivalent of the overlay's decision for this run: the verifier and the
# services read user CRLs, the publisher writes them, nobody else sees them.
static_acl() {
	cat <<EOF
access to attrs=certificateRevocationList
	by dn.exact="$REPO_PUBLISHER_DN" write
	by dn.exact="$VERIFIER" read
	by dn.exact="$REPO_REPLICATOR_DN" read
	by dn.exact="$REPO_RESPONDER_DN" read
	by dn.exact="$REPO_OPERATOR_DN" read
	by * none
$(repo_acl)
EOF
}

setup() {
	local dir=$1 out
	repo_publish_ca "$dir" "$PKI" >/dev/null
	out=$W/crl-$(basename "$dir")
	repo_issue "$dir" "$PKI" gen1 "$out/g1" >/dev/null
	repo_issue "$dir" "$PKI" gen2 "$out/g2" >/dev/null
	repo_publish "$dir" publisher "$out/g1" "$out/g2" >/dev/null
	repo_add_verifiers "$dir" "$PKI"
}
repo_init "$W/overlay" "$PKI" >/dev/null
setup "$W/overlay"
INSTANCE_OVERLAY=0 INSTANCE_ACL=$(static_acl) repo_init "$W/static" "$PKI" >/dev/null
setup "$W/static"
awk -F'\t' -v ca="$REPO_CA_DN" '!/^#/ { print "cn=" $1 ",ou=CRL Distribution Points," ca }' \
	"$SRC/data/municipalities.tsv" > "$W/dns"

run() {
	local dir=$1
	"$LOAD" "$(repo_uri "$dir")" "$VERIFIER" "$dir/secrets/verifier-signature.pw" "$W/dns" \
		"certificateRevocationList;binary" "$threads" "$seconds"
}
field() { sed -n "s/.*$1=\\([0-9.]*\\).*/\\1/p"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: > "$W/ov"; : > "$W/st"
echo "round  overlay searches/s (p50/p99 ms)   static ACL searches/s (p50/p99 ms)"
for r in $(seq 1 "$rounds"); do
	o=$(run "$W/overlay"); s=$(run "$W/static")
	echo "$o" | field searches_per_s >> "$W/ov"
	echo "$s" | field searches_per_s >> "$W/st"
	printf '%5d  %10s (%s/%s)   %10s (%s/%s)\n' "$r" \
		"$(echo "$o" | field searches_per_s)" "$(echo "$o" | field p50_ms)" "$(echo "$o" | field p99_ms)" \
		"$(echo "$s" | field searches_per_s)" "$(echo "$s" | field p50_ms)" "$(echo "$s" | field p99_ms)"
done
ov=$(median < "$W/ov"); st=$(median < "$W/st")
awk -v o="$ov" -v s="$st" -v t="$threads" 'BEGIN { printf "median: overlay %.1f/s, static ACL %.1f/s, ratio %.3f at %d connections (target >= 0.95)\n", o, s, o / s, t }'
