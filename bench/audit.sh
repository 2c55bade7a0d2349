#!/usr/bin/env bash
# Benchmark (issue 5): what recording costs. The same repository twice — one with the audit
# trail (every CRL read and every OCSP request on disk, fdatasync'd, before its answer), one
# without — under the same loads, alternating:
#   - LDAP: registered-verifier CRL reads (bench/ldap-load), target: at most 10% slower;
#   - OCSP: cached answers to unsigned requests from an allowed network (bench/ocsp-load),
#     target: at most 10% slower.
#
#   bench/audit.sh [SECONDS] [ROUNDS]      (default 5 3)
#   BENCH_LDAP_CONNECTIONS=N  concurrent LDAP readers (default 64)
#   BENCH_SLAPD_THREADS=N     slapd's `threads`, in both repositories (default 64): a reader
#                             waiting for its record holds a slapd thread, so readers share
#                             one fdatasync only as far as there are threads for them
#   BENCH_OCSP_CONNECTIONS=N  concurrent OCSP clients (default 64)
#   BENCH_OCSPD_THREADS=N     responder worker threads (default 4)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export JPKI_SRCDIR=$SRC JPKI_BUILDDIR=${JPKI_BUILDDIR:-$SRC/build}
. "$SRC/scripts/lib/instance.sh"
. "$SRC/scripts/lib/repo.sh"

seconds=${1:-5} rounds=${2:-3}
ldap_conns=${BENCH_LDAP_CONNECTIONS:-64} slapd_threads=${BENCH_SLAPD_THREADS:-64}
ocsp_conns=${BENCH_OCSP_CONNECTIONS:-64}
B=$JPKI_BUILDDIR/bench
PKI=$JPKI_BUILDDIR/test-pki
[ -f "$PKI/.complete" ] || "$SRC/scripts/lib/testpki.sh" "$PKI" "$JPKI_BUILDDIR" >&2
export SOFTHSM2_CONF=$PKI/softhsm2.conf INSTANCE_LOGLEVEL=none
W=$(mktemp -d "${TMPDIR:-/tmp}/jpki-bench.XXXXXX")
cleanup() {
	for d in with without; do
		REPO_AUDIT=0 repo_ocspd_stop "$W/$d" >/dev/null 2>&1 || true
		instance_stop "$W/$d" >/dev/null 2>&1 || true
	done
	rm -rf "$W"
}
trap cleanup EXIT

setup() { # DIR: repository, CRLs of both generations, verifiers, responder allowing loopback
	local dir=$1
	INSTANCE_GLOBAL_CONF="$(repo_tls_conf "$PKI")
threads $slapd_threads" repo_init "$dir" "$PKI" >/dev/null
	repo_publish_ca "$dir" "$PKI" >/dev/null
	repo_issue "$dir" "$PKI" gen1 "$dir.crl/g1" >/dev/null
	repo_issue "$dir" "$PKI" gen2 "$dir.crl/g2" >/dev/null
	repo_publish "$dir" publisher "$dir.crl/g1" "$dir.crl/g2" >/dev/null
	repo_add_verifiers "$dir" "$PKI"
	repo_ocspd_start "$dir" "$PKI" --allow-network 127.0.0.0/8 --cache-max-age 3600 --threads "${BENCH_OCSPD_THREADS:-4}" >/dev/null
}
REPO_AUDIT=1 setup "$W/with"
REPO_AUDIT=0 setup "$W/without"

awk -F'\t' -v ca="$REPO_CA_DN" '!/^#/ { print "cn=" $1 ",ou=CRL Distribution Points," ca }' \
	"$SRC/data/municipalities.tsv" > "$W/dns"
for f in "$PKI"/users/good/gen1-*.pem; do
	echo "$PKI/ca/gen1.pem $(openssl x509 -in "$f" -noout -serial | cut -d= -f2)"
done > "$W/targets"
mkdir -p "$W/req"
"$B/ocsp-reqgen" plain "$W/targets" "$W/req" 512 >/dev/null

field() { sed -n "s/.*$1=\\([0-9.]*\\).*/\\1/p"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ldap_run() {
	"$B/ldap-load" "$(repo_uri "$1")" "uid=signature,$REPO_VERIFIER_BASE" "$1/secrets/verifier-signature.pw" \
		"$W/dns" "certificateRevocationList;binary" "$ldap_conns" "$seconds" | field searches_per_s
}
ocsp_run() {
	"$B/ocsp-load" "$(repo_ocspd_url "$1")" "$W/req" "$ocsp_conns" "$seconds" | field requests_per_s
}
# Warm the responders' caches.
ocsp_run "$W/with" >/dev/null; ocsp_run "$W/without" >/dev/null

: > "$W/lw"; : > "$W/lo"; : > "$W/ow"; : > "$W/oo"
echo "LDAP: $ldap_conns readers, slapd threads $slapd_threads; OCSP: $ocsp_conns clients, responder threads ${BENCH_OCSPD_THREADS:-4}"
echo "round  LDAP reads/s with  without   OCSP cached/s with  without"
for r in $(seq 1 "$rounds"); do
	lw=$(ldap_run "$W/with"); lo=$(ldap_run "$W/without")
	ow=$(ocsp_run "$W/with"); oo=$(ocsp_run "$W/without")
	echo "$lw" >> "$W/lw"; echo "$lo" >> "$W/lo"; echo "$ow" >> "$W/ow"; echo "$oo" >> "$W/oo"
	printf '%5d  %16s %8s   %17s %8s\n' "$r" "$lw" "$lo" "$ow" "$oo"
done
records=$(cat "$W/with/audit"/*.jsonl | wc -l)
"$JPKI_BUILDDIR/tools/jpki" audit verify --dir "$W/with/audit" --live >/dev/null &&
	verified="the trail ($records records) verifies" || verified="THE TRAIL DOES NOT VERIFY"
awk -v lw="$(median < "$W/lw")" -v lo="$(median < "$W/lo")" -v ow="$(median < "$W/ow")" -v oo="$(median < "$W/oo")" \
	'BEGIN { printf "median: LDAP %.1f/s with the trail, %.1f/s without: %.3f; OCSP cached %.1f/s with, %.1f/s without: %.3f (targets >= 0.90)\n", lw, lo, lw / lo, ow, oo, ow / oo }'
echo "$verified"
