#!/usr/bin/env bash
# Benchmark of jpki-ocspd (issue 4, item 9), every baseline measured in the same run:
#
#  1. fresh-signed answers (every request with its own nonce, so every answer is signed in the
#     token; unsigned requests from an allowed network, as in item 2) against bench/p11-sign,
#     the raw RSA-2048 signing rate of the same SoftHSM key through PKCS#11 with as many
#     threads as the responder has signing threads (target >= 0.90); reported besides: the
#     same with every request signed by the signature verifier (its signature checked too);
#  2. cached answers to unsigned requests without a nonce, from an allowed network
#     (--allow-network 127.0.0.0/8), against `openssl ocsp -index` answering the same requests
#     (target >= 20);
#  3. cached answers to signed requests without a nonce, every request distinct (RSASSA-PSS
#     signatures: a random salt each, the same CertIDs), so that every request's signature is
#     verified and no verification can be reused, against `openssl ocsp -index` (target >= 10);
#  4. each of the three against nginx serving a static file of the answer's size (the
#     ceiling of this client on this machine), when nginx is installed;
#  5. p50/p99 latency of every run, at CONCURRENCY clients (default 64);
#  6. the index: bench/index-bench times the responder's snapshot_build() on a 1,000,000-entry
#     partition CRL against OpenSSL parsing and verifying it (target <= 2 s), and weighs the
#     index per revoked serial (target <= 64 bytes); then the next snapshot after another
#     partition's CRL changed, incremental against full, also with the large CRL refused.
#
#   bench/ocsp.sh [CONCURRENCY] [SECONDS]         (default 64 5)
#   BENCH_THREADS=N      responder worker and signing threads, p11-sign threads (default: nproc);
#                        the baselines keep their best setting: openssl ocsp as one process
#                        and with -multi one per core (the faster is the baseline), nginx
#                        one worker per core
#   BENCH_TARGETS=N      certificates the cached sets ask about (default 300)
#   BENCH_INDEX_ENTRIES=N  entries of the index CRL (default 1000000); 0 skips item 6
#   BENCH_CLIENT_THREADS=N  epoll loops of bench/ocsp-load (default 1)
#   BENCH_ROUNDS=N       rounds of every measurement; medians are reported (default 3)
#   BENCH_WITHOUT_AUDIT=0  skip the second pass of the responder without its audit trail
#   BENCH_NONCE_REQUESTS, BENCH_SIGNED_REQUESTS  sizes of the distinct request sets
#                        (default 8000 and 45000 per second of run)
#
# Everything listens on 127.0.0.1 only. `openssl ocsp` cannot be told an address (it binds
# the wildcard), so it runs in a network namespace of its own (unshare -n) whose only
# interface is the loopback, together with the load that measures it. Every server started
# here is stopped by its pid (traps); every wait is bounded. Asserts nothing about time: it
# prints figures and ratios, and fails only when something answers wrongly.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export JPKI_SRCDIR=$SRC JPKI_BUILDDIR=${JPKI_BUILDDIR:-$SRC/build}
B=$JPKI_BUILDDIR/bench
LOAD=$B/ocsp-load

# ---- openssl ocsp -index, inside its own network namespace (re-entered below) ----------------
# ocsp.sh --openssl-netns W PORT MULTI CONC SECONDS CLIENT-THREADS SET…: starts the responder
# (MULTI processes; 0 for one), measures each request set, stops it.
if [ "${1:-}" = --openssl-netns ]; then
	W=$2 port=$3 multi=$4 conc=$5 seconds=$6 client_threads=$7
	shift 7
	ip link set lo up
	opts=()
	[ "$multi" -gt 0 ] && opts=(-multi "$multi")
	# -ignore_err: one malformed request (as a connection cut at the end of a run) must not
	# end it. With -multi the parent makes a process group of its own and its children: stopped
	# through that group; one process alone, by its pid.
	openssl ocsp -index "$W/openssl/index.txt" -port "$port" -rsigner "$W/openssl/rsigner.pem" \
		-rkey "$W/openssl/rsigner.key" -CA "$W/openssl/ca.pem" -ndays 1 -ignore_err "${opts[@]}" \
		</dev/null >"$W/openssl/log-$multi" 2>&1 &
	pid=$!
	stop_openssl() {
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	}
	trap stop_openssl EXIT
	# Ready when it listens. No probe connection: one that closes without a request hangs
	# OpenSSL 3.0's single-process responder.
	listening=
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hltn "sport = :$port")" ] && { listening=yes; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$listening" ] || { echo "openssl ocsp did not listen; see $W/openssl/log-$multi" >&2; exit 1; }
	for set in "$@"; do
		# A short warm-up (children forked, pages touched), then the measurement.
		"$LOAD" "http://127.0.0.1:$port/" "$W/req/$set" "$conc" 1 "$client_threads" >/dev/null || true
		printf '%s ' "$set"
		"$LOAD" "http://127.0.0.1:$port/" "$W/req/$set" "$conc" "$seconds" "$client_threads"
	done
	exit 0
fi

. "$SRC/scripts/lib/instance.sh"
. "$SRC/scripts/lib/repo.sh"

conc=${1:-64} seconds=${2:-5}
cores=$(nproc)
threads=${BENCH_THREADS:-$cores}
ntargets=${BENCH_TARGETS:-300}
index_entries=${BENCH_INDEX_ENTRIES:-1000000}
client_threads=${BENCH_CLIENT_THREADS:-1}
rounds=${BENCH_ROUNDS:-3}
without_audit=${BENCH_WITHOUT_AUDIT:-1}
case "$conc$seconds$threads$ntargets$index_entries$client_threads$rounds$without_audit" in
*[!0-9]*) echo "usage: bench/ocsp.sh [CONCURRENCY] [SECONDS] (numbers)" >&2; exit 2 ;;
esac
for p in ocsp-load ocsp-reqgen p11-sign index-bench; do
	[ -x "$B/$p" ] || { echo "bench/$p not built (make -C $JPKI_BUILDDIR)" >&2; exit 2; }
done
[ -x "$JPKI_BUILDDIR/responder/jpki-ocspd" ] || { echo "jpki-ocspd not built" >&2; exit 2; }
if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
	echo "unshare and ip (util-linux, iproute2) are needed to keep openssl ocsp on the loopback" >&2
	exit 2
fi

PKI=$JPKI_BUILDDIR/test-pki
[ -f "$PKI/.complete" ] || "$SRC/scripts/lib/testpki.sh" "$PKI" "$JPKI_BUILDDIR" >&2
export SOFTHSM2_CONF=$PKI/softhsm2.conf INSTANCE_LOGLEVEL=none
W=$(mktemp -d "${TMPDIR:-/tmp}/jpki-bench.XXXXXX")
NGINX_PID=
stop_nginx() {	# SIGTERM: the master stops its workers; else its workers and it, by pid
	local kids
	[ -n "$NGINX_PID" ] || return 0
	kill -TERM "$NGINX_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$NGINX_PID" 2>/dev/null; then
		kids=$(pgrep -P "$NGINX_PID" || true)
		# shellcheck disable=SC2086
		kill -KILL $kids "$NGINX_PID" 2>/dev/null || true
	fi
	wait "$NGINX_PID" 2>/dev/null || true
	NGINX_PID=
}
cleanup() {
	stop_nginx
	repo_ocspd_stop "$W/repo" >/dev/null 2>&1 || true
	instance_stop "$W/repo" >/dev/null 2>&1 || true
	[ -n "${BENCH_KEEP:-}" ] && { echo "kept $W" >&2; return; }
	rm -rf "$W"
}
trap cleanup EXIT
log() { echo "ocsp.sh: $*" >&2; }
field() { sed -n "s/.*[ ^]$1=\\([^ ]*\\).*/\\1/p" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# ---- the repository and the responder's data ----------------------------------------------------
log "repository (slapd, CRLs of both generations, verifiers)"
repo_init "$W/repo" "$PKI" >/dev/null
repo_publish_ca "$W/repo" "$PKI" >/dev/null
repo_issue "$W/repo" "$PKI" gen1 "$W/crl/g1" >/dev/null
repo_issue "$W/repo" "$PKI" gen2 "$W/crl/g2" >/dev/null
repo_publish "$W/repo" publisher "$W/crl/g1" "$W/crl/g2" >/dev/null
repo_add_verifiers "$W/repo" "$PKI"

# ---- what is asked ----------------------------------------------------------------------------
# The test PKI's user certificates of both generations (good and revoked), then random 64-bit
# serials (good: not in any CRL) to make up ntargets, alternating issuer generations.
mkdir -p "$W/req" "$W/openssl"
awk -F, -v pki="$PKI" 'NR > 1 { print pki "/ca/" $2 ".pem", $3 }' "$PKI/users/index.csv" > "$W/targets"
have=$(wc -l < "$W/targets")
if [ "$ntargets" -gt "$have" ]; then
	extra=$((ntargets - have))
	head -c $((extra * 8)) /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w16 |
		awk -v pki="$PKI" '{ printf "%s/ca/gen%d.pem %X%s\n", pki, NR % 2 + 1,
			index("0123456789abcdef", substr($0, 1, 1)) % 7 + 1, toupper(substr($0, 2)) }' >> "$W/targets"
fi
sort -u -k2,2 "$W/targets" | head -n "$ntargets" > "$W/targets.u" && mv "$W/targets.u" "$W/targets"
ntargets=$(wc -l < "$W/targets")

# The same statuses for `openssl ocsp -index`: every asked serial in index.txt, revoked ones
# with the ledger's time and reason; both CA generations in -CA; a responder key of its own
# (the responder's key never leaves the token).
cat "$PKI"/ledger/gen1.csv "$PKI"/ledger/gen2.csv | awk -F, '
	BEGIN { split("keyCompromise CACompromise affiliationChanged superseded cessationOfOperation", rn, " ") }
	FNR == NR { if ($1 != "serial") { t = $2; gsub(/[-:TZ]/, "", t); rev[toupper($1)] = substr(t, 3) "Z," rn[$3] }; next }
	{ split($0, f, " "); u = toupper(f[2]); s = u; if (length(s) % 2) s = "0" s
	  if (u in rev) printf "R\t351231235959Z\t%s\t%s\tunknown\t/CN=%s\n", rev[u], s, s
	  else printf "V\t351231235959Z\t\t%s\tunknown\t/CN=%s\n", s, s }' - "$W/targets" > "$W/openssl/index.txt"
revoked_targets=$(grep -c '^R' "$W/openssl/index.txt" || true)
cat "$PKI/ca/gen1.pem" "$PKI/ca/gen2.pem" > "$W/openssl/ca.pem"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/openssl/rsigner.key" -out "$W/openssl/rsigner.pem" \
	-subj "/CN=openssl ocsp -index baseline responder" -days 2 -addext extendedKeyUsage=OCSPSigning 2>/dev/null

V=$PKI/verifiers
nnonce=${BENCH_NONCE_REQUESTS:-$((8000 * seconds))}
npss=${BENCH_SIGNED_REQUESTS:-$((45000 * seconds))}
log "requests: $ntargets targets ($revoked_targets revoked); $nnonce with nonces, $npss signed without, $ntargets unsigned"
gen() {
	local set=$1
	shift
	mkdir -p "$W/req/$set"
	"$B/ocsp-reqgen" "$1" "$W/targets" "$W/req/$set" "${@:2}" >"$W/req/$set.gen" ||
		{ cat "$W/req/$set.gen" >&2; log "ocsp-reqgen $set failed"; exit 1; }
}
gen plain plain "$ntargets"
gen fresh plain-nonce "$nnonce"
gen nonce nonce "$nnonce" "$V/signature.pem" "$V/signature.key" "$cores"
gen signed pss "$npss" "$V/signature.pem" "$V/signature.key" "$cores"
gen signed-warm pss "$ntargets" "$V/signature.pem" "$V/signature.key" "$cores"
gen fresh-warm nonce 4000 "$V/signature.pem" "$V/signature.key" "$cores"
gen fresh-plain-warm plain-nonce 4000
gen sample-nonce nonce 1 "$V/signature.pem" "$V/signature.key"
gen sample-signed pss 1 "$V/signature.pem" "$V/signature.key"
# The generator's unsigned request is the one `openssl ocsp -no_nonce -reqout` writes.
read -r iss ser < "$W/targets"
openssl ocsp -issuer "$iss" -serial "0x$ser" -no_nonce -reqout "$W/req/openssl-made.der" >/dev/null 2>&1
cmp -s "$W/req/openssl-made.der" "$W/req/plain/0000000.der" ||
	{ log "ocsp-reqgen's request differs from openssl ocsp -reqout's"; exit 1; }

# ---- runs -------------------------------------------------------------------------------------
# Each round measures everything once, servers started afresh (a new load also means new
# connections, which the responder's worker threads share out anew); the summary takes the
# run with the median rate of each kind.
mkdir -p "$W/runs" "$W/www"
show() {	# show LABEL LINE
	printf '  %-40s %9s/s  p50 %7s ms  p99 %7s ms  (%s requests, %s bodies, %s repeated, %s B answers)\n' "$1" \
		"$(field requests_per_s <<<" $2")" "$(field p50_ms <<<" $2")" "$(field p99_ms <<<" $2")" \
		"$(field requests <<<" $2")" "$(field bodies <<<" $2")" "$(field repeated <<<" $2")" \
		"$(field resp_bytes <<<" $2")" >&2
}
# With the audit trail on, the run's records tell how many answers were signed afresh
# ("cache":"fresh") rather than taken from the responder's cache.
AUDITED=0
audit_lines() { cat "$W"/repo/audit/ocspd-*.jsonl 2>/dev/null | wc -l; }
run() {		# run NAME URL SET [SECONDS]: one measured load, kept in runs/NAME
	local name=$1 url=$2 set=$3 s=${4:-$seconds} out n0=0
	[ "$AUDITED" = 1 ] && n0=$(audit_lines)
	if ! out=$("$LOAD" "$url" "$W/req/$set" "$conc" "$s" "$client_threads"); then
		log "$name: the load failed: $out"
		exit 1
	fi
	if [ "$AUDITED" = 1 ]; then
		out="$out audited=$(($(audit_lines) - n0)) cache_fresh=$(cat "$W"/repo/audit/ocspd-*.jsonl |
			tail -n +$((n0 + 1)) | grep -c '"cache":"fresh"' || true)"
	fi
	echo "$out" >> "$W/runs/$name"
	show "$name (round $r)" "$out"
}
warm() {	# warm URL SET: one second of load, not kept (sessions opened, cache filled)
	"$LOAD" "$1" "$W/req/$2" "$conc" 1 "$client_threads" >/dev/null || { log "warm-up with $2 failed"; exit 1; }
}
sample() {	# sample URL SET OUT: one answer, for nginx's static file
	curl -sf -o "$3" -H 'Content-Type: application/ocsp-request' --data-binary @"$(find "$W/req/$2" -type f | sort | head -1)" "$1"
	[ "$(openssl ocsp -respin "$3" -resp_text -noverify 2>/dev/null | grep -c 'Response Status: successful')" = 1 ] ||
		{ log "sample answer for $2 is not successful"; exit 1; }
}
NGINX=$(command -v nginx || true)
start_nginx() {
	local port=$1
	mkdir -p "$W/nginx/logs"
	# nginx's workers run as nobody: they may pass through $W (not list it) and read www/.
	chmod 711 "$W"
	chmod 755 "$W/www"
	chmod 644 "$W/www"/*.der
	cat > "$W/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $cores;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	keepalive_requests 100000000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$port;
		root $W/www;
		default_type application/ocsp-response;
		# A POST to a static file is 405 in nginx: serve the file all the same.
		location / { error_page 405 =200 \$uri; }
	}
}
EOF
	"$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/logs/error.log" </dev/null >/dev/null 2>&1 &
	NGINX_PID=$!
	jpki_wait_port 127.0.0.1 "$port" 5 "$NGINX_PID" && return 0
	log "nginx did not start; see $W/nginx/logs/error.log"
	exit 1
}

[ -n "$NGINX" ] || echo "nginx not installed: ceiling skipped" >&2
KEY_URI=$(cat "$PKI/ocsp/key.uri")
for r in $(seq 1 "$rounds"); do
	log "round $r of $rounds"
	out=$("$B/p11-sign" "$KEY_URI" "$threads" "$seconds") || { log "p11-sign failed: $out"; exit 1; }
	echo "$out" >> "$W/runs/p11"
	printf '  %-40s %9s/s  p50 %7s ms  p99 %7s ms\n' "p11-sign, $threads threads (round $r)" \
		"$(field signs_per_s <<<" $out")" "$(field p50_ms <<<" $out")" "$(field p99_ms <<<" $out")" >&2

	# The responder as deployed, with its audit trail (a record of every check on disk before
	# the answer leaves, CPS 4-11-2), then without one, to show what the trail costs.
	for audit in 1 $([ "$without_audit" = 1 ] && echo 0); do
		sfx=$([ "$audit" = 0 ] && echo -noaudit || true)
		AUDITED=$audit
		# The default: signed requests required.
		REPO_AUDIT=$audit repo_ocspd_start "$W/repo" "$PKI" --threads "$threads" --max-per-ip 0 --log-level warning
		URL=$(repo_ocspd_url "$W/repo")
		if [ "$r$audit" = 11 ]; then
			sample "$URL" sample-nonce "$W/www/fresh.der"
			sample "$URL" sample-signed "$W/www/signed.der"
		fi
		# Every worker thread opens its token session at its first signature: warmed up
		# first, as p11-sign opens its handles before it counts.
		warm "$URL" fresh-warm
		run "freshsig$sfx" "$URL" nonce
		warm "$URL" signed-warm
		run "signed$sfx" "$URL" signed
		repo_ocspd_stop "$W/repo"

		# Unsigned requests from an allowed network.
		REPO_AUDIT=$audit repo_ocspd_start "$W/repo" "$PKI" --threads "$threads" --max-per-ip 0 \
			--log-level warning --allow-network 127.0.0.0/8
		[ "$r$audit" = 11 ] && sample "$URL" plain "$W/www/plain.der"
		warm "$URL" fresh-plain-warm
		run "fresh$sfx" "$URL" fresh
		warm "$URL" plain
		run "plain$sfx" "$URL" plain
		repo_ocspd_stop "$W/repo"
	done
	AUDITED=0

	# openssl ocsp -index, as one process and as one per core (-multi), same requests.
	for m in 0 "$cores"; do
		[ "$m" = 1 ] && continue	# one core: -multi 1 is the one process again
		port=$(jpki_free_port)
		out=$(unshare -n "$0" --openssl-netns "$W" "$port" "$m" "$conc" "$seconds" "$client_threads" plain signed) ||
			{ log "openssl ocsp -index measurement failed: $out"; exit 1; }
		while read -r set rest; do
			echo "$rest" >> "$W/runs/openssl$m-$set"
			show "openssl ocsp $([ "$m" = 0 ] && echo "one process" || echo "-multi $m") $set (round $r)" "$rest"
		done <<<"$out"
	done

	if [ -n "$NGINX" ]; then
		port=$(jpki_free_port)
		start_nginx "$port"
		for kind in fresh plain signed; do
			run "nginx-$kind" "http://127.0.0.1:$port/$kind.der" "$set"
		done
		stop_nginx
	fi
done

# ---- the index ----------------------------------------------------------------------------------
INDEX=
if [ "$index_entries" -gt 0 ]; then
	log "index: a $index_entries-entry partition CRL (gen1, 121002)"
	# Distinct pseudo-random 60-bit serials; reasons 1-5 in turn.
	awk -v n="$index_entries" 'BEGIN { print "serial,revocation_time,reason,municipality";
		for (i = 1; i <= n; i++) printf "%07X%08X,2026-01-01T00:00:00Z,%d,121002\n",
			16777216 + (i * 2654435761) % 251658240, i, 1 + i % 5 }' > "$W/big-ledger.csv"
	mkdir -p "$W/big"
	"$JPKI_BUILDDIR/tools/jpki" crl issue --ca-cert "$PKI/ca/gen1.pem" --ca-key "$(cat "$PKI/ca/gen1.key.uri")" \
		--ledger "$W/big-ledger.csv" --out "$W/big" >/dev/null
	INDEX=$("$B/index-bench" "$PKI/ca/gen1.pem" 3 \
		"cn=121002,ou=CRL Distribution Points,$REPO_CA_DN" "$W/big/121002.crl") || { log "index-bench failed"; exit 1; }
	sed 's/^/  /' <<<"$INDEX" >&2
	# A change elsewhere: all 54 partitions (121002 the big one), then another partition's
	# CRL replaced by a newer one, the next snapshot built incrementally and in full.
	log "index: the 54 partitions, then cn=122025's CRL replaced"
	mkdir -p "$W/next"
	"$JPKI_BUILDDIR/tools/jpki" crl issue --ca-cert "$PKI/ca/gen1.pem" --ca-key "$(cat "$PKI/ca/gen1.key.uri")" \
		--ledger "$PKI/ledger/gen1.csv" --crl-number "$(($(date +%s) + 1))" --out "$W/next" >/dev/null
	parts=()
	for f in "$W"/big/[0-9]*.crl; do
		parts+=("cn=$(basename "$f" .crl),ou=CRL Distribution Points,$REPO_CA_DN" "$f")
	done
	REPLACE=$("$B/index-bench" "$PKI/ca/gen1.pem" 3 "${parts[@]}" \
		--replace "cn=122025,ou=CRL Distribution Points,$REPO_CA_DN" "$W/next/122025.crl") ||
		{ log "index-bench --replace failed"; exit 1; }
	sed 's/^/  /' <<<"$REPLACE" >&2
fi

# ---- summary --------------------------------------------------------------------------------------
med() {		# med NAME [FIELD]: of the runs of NAME, the one with the median FIELD
	[ -s "$W/runs/$1" ] || return 0
	awk -v f="${2:-requests_per_s}" '{ for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) v = substr($i, length(f) + 2)
		print v "\t" $0 }' "$W/runs/$1" | sort -n | awk -F'\t' '{ l[NR] = $2 } END { print l[int((NR + 1) / 2)] }'
}
spread() {	# spread NAME [FIELD]: lowest–highest over the rounds
	[ -s "$W/runs/$1" ] || return 0
	awk -v f="${2:-requests_per_s}" '{ for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) v = substr($i, length(f) + 2) + 0
		if (NR == 1 || v < lo) lo = v; if (NR == 1 || v > hi) hi = v } END { printf "%.0f–%.0f", lo, hi }' "$W/runs/$1"
}
rate() { field "${2:-requests_per_s}" <<<" $(med "$1" "${2:-}")"; }
lat() { local l; l=" $(med "$1" "${2:-}")"; echo "$(field p50_ms <<<"$l") / $(field p99_ms <<<"$l")"; }
# openssl's better figure of the two ways it was run is the baseline.
best_openssl() {	# best_openssl SET: "NAME" of the faster median
	local a b
	a=$(rate "openssl0-$1"); b=$(rate "openssl$cores-$1")
	awk -v a="${a:-0}" -v b="${b:-0}" -v m="openssl$cores-$1" -v o="openssl0-$1" 'BEGIN { print (b > a) ? m : o }'
}
label() { case "$1" in openssl0-*) echo "openssl ocsp -index, one process" ;; *) echo "openssl ocsp -index -multi $cores" ;; esac; }
bp=$(best_openssl plain) bs=$(best_openssl signed)

echo
echo "## jpki-ocspd: $cores cores, $threads responder threads, $conc connections, ${seconds} s per run, median of $rounds rounds"
echo
echo "| item | jpki-ocspd /s (rounds) | p50 / p99 ms | baseline | baseline /s (rounds) | baseline p50 / p99 ms | ratio | target | nginx /s | share of nginx |"
echo "|---|---:|---:|---|---:|---:|---:|---|---:|---:|"
row() {		# row LABEL RUN BASE-LABEL BASE-RUN BASE-FIELD TARGET
	local r b n met
	r=$(rate "$2"); b=$(rate "$4" "$5"); k=${2%-noaudit}; n=$(rate "nginx-${k%sig}")
	met=$(awk -v a="$r" -v b="${b:-0}" -v t="$6" 'BEGIN { print (b > 0 && a / b >= t) ? "met" : "NOT met" }')
	met="≥ $6: $met"; [ -n "${7:-}" ] && met=$7
	echo "| $1 | $r ($(spread "$2")) | $(lat "$2") | $3 | $b ($(spread "$4" "$5")) | $(lat "$4" "$5") |" \
		"$(ratio "$r" "$b") | $met | ${n:-–} | $([ -n "$n" ] && ratio "$r" "$n" || echo –) |"
}
rows() {	# rows SUFFIX
	row "fresh-signed (nonce, unsigned request, allowed network)" "fresh$1" "p11-sign, $threads threads" p11 signs_per_s 0.90
	row "fresh-signed (nonce, signed request)" "freshsig$1" "p11-sign, $threads threads" p11 signs_per_s 0.90 "(besides)"
	row "cached, unsigned, allowed network" "plain$1" "$(label "$bp")" "$bp" requests_per_s 20
	row "cached, signed, every request distinct" "signed$1" "$(label "$bs")" "$bs" requests_per_s 10
}
rows ""
if [ "$without_audit" = 1 ]; then
	echo
	echo "Without the audit trail (no --audit-dir; not a deployable configuration, CPS 4-11-2):"
	echo
	echo "| item | jpki-ocspd /s (rounds) | p50 / p99 ms | baseline | baseline /s (rounds) | baseline p50 / p99 ms | ratio | target | nginx /s | share of nginx |"
	echo "|---|---:|---:|---|---:|---:|---:|---|---:|---:|"
	rows -noaudit
fi
echo
echo "openssl ocsp -index: unsigned $(rate openssl0-plain)/s as one process, $(rate "openssl$cores-plain")/s with -multi $cores;" \
	"signed $(rate openssl0-signed)/s and $(rate "openssl$cores-signed")/s (p50/p99 $(lat openssl0-plain), $(lat "openssl$cores-plain")," \
	"$(lat openssl0-signed), $(lat "openssl$cores-signed") ms). Answers: $(wc -c < "$W/www/fresh.der") B fresh," \
	"$(wc -c < "$W/www/plain.der") B unsigned, $(wc -c < "$W/www/signed.der") B signed."
for k in plain signed; do
	m=" $(med "$k")"
	awk -v k="$k" -v a="$(field audited <<<"$m")" -v f="$(field cache_fresh <<<"$m")" 'BEGIN { if (a > 0)
		printf "Cached %s run (median): %d of %d answers signed afresh (%.1f%%: cache misses; the audit records say).\n", k, f, a, 100 * f / a }'
done
# Distinct means distinct: say so when a set was too small for the rate it met.
grep -qsv ' repeated=0 ' "$W"/runs/signed* &&
	echo "WARNING: signed requests were sent more than once in a run; raise BENCH_SIGNED_REQUESTS"
grep -qsv ' repeated=0 ' "$W"/runs/fresh* &&
	echo "WARNING: nonce requests were sent more than once in a run; raise BENCH_NONCE_REQUESTS"
[ -n "$NGINX" ] || echo "nginx not installed: ceiling skipped"
if [ -n "$INDEX" ]; then
	ix=" $(tr '\n' ' ' <<<"$INDEX")"
	echo
	echo "| index | entries | snapshot_build s | OpenSSL parse+verify s | ratio | bytes/serial: sizeof / heap / RSS | OpenSSL's parsed CRL, heap/entry |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	echo "| 1 partition CRL, $(field der_bytes <<<"$ix") B DER | $(field indexed <<<"$ix") | $(field snapshot_build_s <<<"$ix") |" \
		"$(field openssl_parse_verify_s <<<"$ix") | $(field ratio <<<"$ix") | $(field sizeof_revoked <<<"$ix") /" \
		"$(field index_heap_per_serial <<<"$ix") / $(field index_rss_per_serial <<<"$ix") | $(field openssl_crl_heap_per_entry <<<"$ix") |"
	awk -v t="$(field snapshot_build_s <<<"$ix")" -v b="$(field index_heap_per_serial <<<"$ix")" \
		'BEGIN { printf "\ntargets: checked and indexed in <= 2 s: %s (%.3f s); <= 64 bytes per serial: %s (%.1f)\n",
			t <= 2 ? "met" : "NOT met", t, b <= 64 ? "met" : "NOT met", b }'
	rx=" $(grep '^replace:' <<<"$REPLACE" | tr '\n' ' ')"
	echo "another partition's CRL replaced (54 partitions): next snapshot $(field incremental_build_s <<<"$rx") s" \
		"($(field checked <<<"$rx") checked, $(field taken_over <<<"$rx") taken over) against" \
		"$(field full_build_s <<<"$rx") s checking everything; differences: $(field differ <<<"$rx")"
	fx=" $(grep '^refused:' <<<"$REPLACE" | tr '\n' ' ')"
	echo "the same with the large CRL under a DN it does not name (refused by rule (d)): next snapshot" \
		"$(field incremental_build_s <<<"$fx") s ($(field refused_again <<<"$fx") refused again unchecked) against" \
		"$(field full_build_s <<<"$fx") s checking everything; differences: $(field differ <<<"$fx")"
fi
