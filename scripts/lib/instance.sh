# shellcheck shell=bash
# Private slapd instances for the demo, the tests and the benchmarks.
#
#   . scripts/lib/instance.sh
#   INSTANCE_OVERLAY=0 instance_init "$dir"     # writes $dir/conf/slapd.conf, runs slaptest
#   instance_start "$dir"                       # pid in $dir/run/slapd.pid, log in $dir/run/slapd.log
#   eval "$(instance_env "$dir")"               # INSTANCE_URI, INSTANCE_ROOTDN, INSTANCE_ROOTPW, …
#   instance_ldif_load "$dir" entries.ldif
#   instance_ldap "$dir" ldapsearch -b o=JPKI,c=JP   # any ldap* client, bound as the rootdn
#   instance_stop "$dir"
#
# Variables read by instance_init (defaults in brackets):
#   JPKI_SRCDIR            [the checkout holding this file]
#   JPKI_BUILDDIR          [$JPKI_SRCDIR/build]
#   INSTANCE_PORT          [the recorded one on re-init, else a free port]  127.0.0.1 only
#   INSTANCE_SUFFIX        [o=JPKI,c=JP]
#   INSTANCE_ROOTDN        [cn=admin,$INSTANCE_SUFFIX]
#   INSTANCE_ROOTPW        [random; kept in DIR/conf/rootpw, only its hash in slapd.conf]
#   INSTANCE_OVERLAY       [1]   0: no jpkirepo overlay (the benchmarks' baseline)
#   INSTANCE_OVERLAY_CONF  []    directive lines inserted right after "overlay jpkirepo"
#   INSTANCE_ACL           [access to * by * read]   the mdb database's ACLs (one block)
#   INSTANCE_EXTRA_CONF    []    text appended to the mdb database section
#   INSTANCE_GLOBAL_CONF   []    text for the global section (TLS settings for ldaps, …)
#   INSTANCE_MAX_INCOMING  [67108864]  sockbuf_max_incoming_auth, so that large CRLs fit
#   INSTANCE_LOGLEVEL      [stats]     "none" for quiet runs (benchmarks)
#   INSTANCE_URLS          []    more listener URLs (e.g. ldaps://127.0.0.1:PORT/)
# Read by instance_start:
#   INSTANCE_URLS          overrides the value recorded by instance_init when set
#   INSTANCE_PRELOAD       LD_PRELOAD for slapd only (e.g. libfaketime); FAKETIME is passed along
#                          (instance_stop removes what libfaketime left in /dev/shm)
#   INSTANCE_START_TIMEOUT [10] seconds;  INSTANCE_STOP_TIMEOUT [10] seconds
#
# instance_start records DIR in JPKI_INSTANCES_STARTED; tests/lib/assert.sh stops those at exit.

: "${JPKI_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${JPKI_BUILDDIR:=$JPKI_SRCDIR/build}"
JPKI_SLAPD=${JPKI_SLAPD:-/usr/sbin/slapd}
JPKI_SLAPTEST=${JPKI_SLAPTEST:-/usr/sbin/slaptest}
declare -ga JPKI_INSTANCES_STARTED=("${JPKI_INSTANCES_STARTED[@]}")
declare -ga JPKI_PORTS_GIVEN=("${JPKI_PORTS_GIVEN[@]}")

_inst_log() { echo "instance: $*" >&2; }

# A free TCP port on 127.0.0.1, chosen at random below the ephemeral range (so that no
# outgoing connection takes it later) and checked by binding it.
jpki_free_port() {
	local lo py port given
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 12000 ] || lo=32768
	py=/usr/bin/python3; [ -x "$py" ] || py=python3
	for _ in $(seq 1 200); do
		port=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		for given in "${JPKI_PORTS_GIVEN[@]}"; do
			[ "$given" = "$port" ] && continue 2
		done
		if "$py" - "$port" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.close()
EOF
		then
			JPKI_PORTS_GIVEN+=("$port")
			echo "$port"
			return 0
		fi
	done
	_inst_log "no free port found"
	return 1
}

# Wait until HOST:PORT accepts a TCP connection, at most SECONDS [10, whole seconds]; with
# PID, give up as soon as that process has ended. HOST: an IPv4 or IPv6 address (::1 or
# [::1]) or a name. Returns 0 once a connection was made (and closed again), 1 on timeout,
# 2 when PID ended first. Meant for local listeners, where a refused connection fails at
# once; one attempt on an unreachable remote host may outlast the bound.
jpki_wait_port() {
	local usage="usage: jpki_wait_port HOST PORT [SECONDS [PID]]"
	local host=${1:?$usage} port=${2:?$usage} secs=${3:-10} pid=${4:-} deadline
	[[ $port =~ ^[0-9]+$ && $secs =~ ^[0-9]+$ ]] || { _inst_log "$usage"; return 1; }
	host=${host#[}
	host=${host%]}
	deadline=$(( ${EPOCHREALTIME//[!0-9]/} + secs * 1000000 ))
	while :; do
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || return 2
		(( ${EPOCHREALTIME//[!0-9]/} < deadline )) || return 1
		sleep 0.05
	done
}

# libfaketime 0.9.10, preloaded, gives each process /dev/shm/faketime_shm_PID and
# /dev/shm/sem.faketime_sem_PID (and FAKETIME_SHARED naming them), and removes them only
# when the process image that made them exits normally. They stay behind when that image
# execs another (a preloaded wrapper such as "env LD_PRELOAD=… setsid slapd" makes them and
# hands them to the server, which never removes what it did not make), and when the process
# is killed by a signal. Hence: LD_PRELOAD is given to the server's own exec only, and a
# stop helper removes the objects of a preloaded pid once it has ended.

# The path of libfaketime's library (NAME: libfaketime.so.1 or libfaketimeMT.so.1, the
# multi-threaded one) for this machine's architecture; empty when libfaketime is missing.
jpki_faketime_lib() {
	ls /usr/lib/*/faketime/"${1:?usage: jpki_faketime_lib NAME}" 2>/dev/null | head -n 1
}

# Does PID run with libfaketime preloaded? Ask before stopping it.
jpki_faketime_preloaded() {
	tr '\0' '\n' < "/proc/${1:?usage: jpki_faketime_preloaded PID}/environ" 2>/dev/null |
		grep -q '^LD_PRELOAD=.*libfaketime'
}

# The libfaketime objects of each PID that exist, one path a line.
jpki_faketime_objects() {
	local pid f
	for pid in "$@"; do
		for f in "/dev/shm/faketime_shm_$pid" "/dev/shm/sem.faketime_sem_$pid"; do
			[ ! -e "$f" ] || echo "$f"
		done
	done
}

# Remove the libfaketime objects of PID, which has ended (refused while it still runs).
jpki_faketime_cleanup() {
	local pid=${1:?usage: jpki_faketime_cleanup PID}
	! kill -0 "$pid" 2>/dev/null || return 1
	rm -f "/dev/shm/faketime_shm_$pid" "/dev/shm/sem.faketime_sem_$pid"
}

# The recorded settings of an instance: DIR/conf/instance.env (shell assignments).
_inst_load() {
	local dir=$1
	if [ ! -f "$dir/conf/instance.env" ]; then
		_inst_log "$dir is not an instance (no conf/instance.env): run instance_init first"
		return 1
	fi
	# shellcheck disable=SC1091
	. "$dir/conf/instance.env"
}

instance_init() {
	local dir=${1:?usage: instance_init DIR}
	mkdir -p "$dir"/{db,run,conf} || return 1
	dir=$(cd "$dir" && pwd)

	local port=${INSTANCE_PORT:-}
	if [ -z "$port" ] && [ -f "$dir/conf/instance.env" ]; then   # re-init: keep the port
		port=$(. "$dir/conf/instance.env" && echo "$INSTANCE_PORT")
	fi
	[ -n "$port" ] || port=$(jpki_free_port) || return 1
	local suffix=${INSTANCE_SUFFIX:-o=JPKI,c=JP}
	local rootdn=${INSTANCE_ROOTDN:-cn=admin,$suffix}
	local overlay=${INSTANCE_OVERLAY:-1}
	local loglevel=${INSTANCE_LOGLEVEL:-stats}
	local maxin=${INSTANCE_MAX_INCOMING:-67108864}
	local acl=${INSTANCE_ACL-access to * by * read}
	local rootpw=${INSTANCE_ROOTPW:-}
	if [ -z "$rootpw" ] && [ -s "$dir/conf/rootpw" ]; then
		rootpw=$(cat "$dir/conf/rootpw")
	fi
	[ -n "$rootpw" ] || rootpw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
	local hash old=""
	[ -s "$dir/conf/rootpw" ] && old=$(cat "$dir/conf/rootpw")
	(umask 077 && printf '%s' "$rootpw" > "$dir/conf/rootpw") || return 1
	# The same password keeps the same (salted) hash, so a re-init writes the same config.
	if [ "$old" = "$rootpw" ] && [ -s "$dir/conf/rootpw.hash" ]; then
		hash=$(cat "$dir/conf/rootpw.hash")
	else
		hash=$(/usr/sbin/slappasswd -s "$rootpw") || { _inst_log "slappasswd failed"; return 1; }
		(umask 077 && printf '%s' "$hash" > "$dir/conf/rootpw.hash") || return 1
	fi

	local schema includes="" s
	for s in core cosine inetorgperson; do
		includes+="include /etc/ldap/schema/$s.schema"$'\n'
	done
	schema=$JPKI_SRCDIR/schema/jpki.schema
	# The registry's certificate attributes: the overlay's uniqueness search and the SASL
	# EXTERNAL mapping look them up by equality.
	local indexes="index objectClass eq"
	if [ -f "$schema" ]; then
		includes+="include $schema"$'\n'
		indexes+=$'\n'"index jpkiCertificateSHA256,jpkiCertificateSubject eq"
	else
		_inst_log "warning: $schema missing, not included"
	fi

	local modules="moduleload back_mdb"$'\n'"moduleload syncprov"$'\n'
	local ovl_section=""
	if [ "$overlay" = 1 ]; then
		local so=$JPKI_BUILDDIR/overlays/.libs/jpkirepo.so
		if [ -f "$so" ]; then
			modules+="moduleload $so"$'\n'
			ovl_section="overlay jpkirepo"$'\n'"${INSTANCE_OVERLAY_CONF:-}"$'\n'
		else
			_inst_log "warning: $so missing, instance runs WITHOUT the jpkirepo overlay"
		fi
	fi

	cat > "$dir/conf/slapd.conf" <<EOF
# Private slapd instance, written by scripts/lib/instance.sh: do not edit, re-run instance_init.
$includes
pidfile $dir/run/slapd.pid
argsfile $dir/run/slapd.args
loglevel $loglevel
sockbuf_max_incoming_auth $maxin
# ---- INSTANCE_GLOBAL_CONF ----
${INSTANCE_GLOBAL_CONF:-}

modulepath /usr/lib/ldap
$modules
database monitor
access to * by dn.exact="$rootdn" read by * none

database mdb
maxsize 4294967296
suffix "$suffix"
rootdn "$rootdn"
rootpw $hash
directory $dir/db
$indexes

# ---- ACL block (INSTANCE_ACL) ----
$acl
# ---- end of ACL block ----

# The overlay configured last runs first: jpkirepo checks writes before syncprov sees them.
overlay syncprov
syncprov-checkpoint 100 10
$ovl_section
# ---- INSTANCE_EXTRA_CONF ----
${INSTANCE_EXTRA_CONF:-}
EOF

	{
		printf 'INSTANCE_DIR=%q\n' "$dir"
		printf 'INSTANCE_PORT=%q\n' "$port"
		printf 'INSTANCE_URI=%q\n' "ldap://127.0.0.1:$port"
		printf 'INSTANCE_URLS_INIT=%q\n' "${INSTANCE_URLS:-}"
		printf 'INSTANCE_SUFFIX=%q\n' "$suffix"
		printf 'INSTANCE_ROOTDN=%q\n' "$rootdn"
		printf 'INSTANCE_ROOTPW_FILE=%q\n' "$dir/conf/rootpw"
		printf 'INSTANCE_LOGLEVEL_INIT=%q\n' "$loglevel"
		printf 'INSTANCE_HAS_OVERLAY=%q\n' "$([ -n "$ovl_section" ] && echo 1 || echo 0)"
	} > "$dir/conf/instance.env"

	local out
	if ! out=$("$JPKI_SLAPTEST" -f "$dir/conf/slapd.conf" -u 2>&1); then
		_inst_log "slaptest rejected $dir/conf/slapd.conf:"
		printf '%s\n' "$out" | grep -v '^[0-9a-f]\{8\}\.[0-9a-f]\{8\} 0x[0-9a-f]* \(@(#)\|	\)' >&2
		return 1
	fi
	return 0
}

# Is the slapd of DIR running? Prints its pid.
instance_pid() {
	local dir=${1:?usage: instance_pid DIR} pid
	[ -s "$dir/run/slapd.pid" ] || return 1
	read -r pid < "$dir/run/slapd.pid" || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	# A reused pid is not ours.
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slapd ] || return 1
	echo "$pid"
}

_inst_answers() {
	ldapsearch -x -LLL -o nettimeout=2 -H "$1" -b '' -s base '(objectClass=*)' 1.1 \
		>/dev/null 2>&1
}

instance_start() {
	local dir=${1:?usage: instance_start DIR}
	dir=$(cd "$dir" 2>/dev/null && pwd) || { _inst_log "no directory $1"; return 1; }
	local INSTANCE_DIR INSTANCE_PORT INSTANCE_URI INSTANCE_URLS_INIT INSTANCE_SUFFIX \
		INSTANCE_ROOTDN INSTANCE_ROOTPW_FILE INSTANCE_LOGLEVEL_INIT INSTANCE_HAS_OVERLAY
	_inst_load "$dir" || return 1
	if instance_pid "$dir" >/dev/null; then
		_inst_log "$dir already running"
		return 0
	fi
	rm -f "$dir/run/slapd.pid"

	local urls="ldap://127.0.0.1:$INSTANCE_PORT/ ${INSTANCE_URLS-$INSTANCE_URLS_INIT}"
	# slapd 2.5 sends its loglevel messages to syslog only, and its "logfile" misses some
	# (a failed bind): run it in the foreground with the log level as debug level (-d), its
	# stderr appended to DIR/run/slapd.log, detached from our terminal and our stdio.
	local dflags=() w
	for w in $INSTANCE_LOGLEVEL_INIT; do
		[ "$w" = none ] && w=0
		dflags+=(-d "$w")
	done
	[ ${#dflags[@]} -gt 0 ] || dflags=(-d 0)
	local envs=()
	if [ -n "${INSTANCE_PRELOAD:-}" ]; then
		envs+=("LD_PRELOAD=$INSTANCE_PRELOAD")
		[ -z "${FAKETIME+x}" ] || envs+=("FAKETIME=$FAKETIME")
	fi
	local startmark
	startmark=$({ wc -l < "$dir/run/slapd.log"; } 2>/dev/null || echo 0)
	# setsid and env run without the preload: slapd is the first image it enters (see
	# jpki_faketime_cleanup).
	setsid env "${envs[@]}" "$JPKI_SLAPD" -f "$dir/conf/slapd.conf" -h "$urls" "${dflags[@]}" \
		</dev/null >/dev/null 2>>"$dir/run/slapd.log" &
	local bgpid=$!

	local timeout=${INSTANCE_START_TIMEOUT:-10} why
	why="did not answer on $INSTANCE_URI within ${timeout}s"
	local deadline=$(( ${EPOCHREALTIME/./} + timeout * 1000000 ))
	while (( ${EPOCHREALTIME/./} < deadline )); do
		if ! kill -0 "$bgpid" 2>/dev/null; then
			wait "$bgpid" 2>/dev/null
			why="exited at start (status $?)"
			break
		fi
		if [ -s "$dir/run/slapd.pid" ] && _inst_answers "$INSTANCE_URI"; then
			JPKI_INSTANCES_STARTED+=("$dir")
			return 0
		fi
		sleep 0.05
	done
	_inst_log "slapd of $dir $why; its log ends with:"
	tail -n +"$((startmark + 1))" "$dir/run/slapd.log" 2>/dev/null | tail -n 30 | sed '$a\' >&2
	kill -KILL "$bgpid" 2>/dev/null
	wait "$bgpid" 2>/dev/null
	return 1
}

instance_stop() {
	local dir=${1:?usage: instance_stop DIR} pid i faked=0
	pid=$(instance_pid "$dir") || { rm -f "$dir/run/slapd.pid"; return 0; }
	jpki_faketime_preloaded "$pid" && faked=1
	kill -TERM "$pid" 2>/dev/null
	local timeout=${INSTANCE_STOP_TIMEOUT:-10}
	local deadline=$(( ${EPOCHREALTIME/./} + timeout * 1000000 ))
	while (( ${EPOCHREALTIME/./} < deadline )); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		_inst_log "slapd $pid of $dir did not stop within ${timeout}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		for ((i = 0; i < 40; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
	fi
	rm -f "$dir/run/slapd.pid"
	wait "$pid" 2>/dev/null   # reap it when it is our child
	kill -0 "$pid" 2>/dev/null && return 1
	[ "$faked" = 0 ] || jpki_faketime_cleanup "$pid"
	return 0
}

# Shell assignments for callers: eval "$(instance_env DIR)".
instance_env() {
	local dir=${1:?usage: instance_env DIR}
	local INSTANCE_DIR INSTANCE_PORT INSTANCE_URI INSTANCE_URLS_INIT INSTANCE_SUFFIX \
		INSTANCE_ROOTDN INSTANCE_ROOTPW_FILE INSTANCE_LOGLEVEL_INIT INSTANCE_HAS_OVERLAY
	_inst_load "$dir" || return 1
	printf 'INSTANCE_DIR=%q\n' "$INSTANCE_DIR"
	printf 'INSTANCE_PORT=%q\n' "$INSTANCE_PORT"
	printf 'INSTANCE_URI=%q\n' "$INSTANCE_URI"
	printf 'INSTANCE_SUFFIX=%q\n' "$INSTANCE_SUFFIX"
	printf 'INSTANCE_ROOTDN=%q\n' "$INSTANCE_ROOTDN"
	printf 'INSTANCE_ROOTPW=%q\n' "$(cat "$INSTANCE_ROOTPW_FILE")"
	printf 'INSTANCE_ROOTPW_FILE=%q\n' "$INSTANCE_ROOTPW_FILE"
	printf 'INSTANCE_HAS_OVERLAY=%q\n' "$INSTANCE_HAS_OVERLAY"
}

# Run an ldap* client (ldapsearch, ldapmodify, …) against DIR, bound as the rootdn.
instance_ldap() {
	local dir=${1:?usage: instance_ldap DIR CLIENT [ARGS…]} tool=${2:?usage: instance_ldap DIR CLIENT [ARGS…]}
	shift 2
	local INSTANCE_DIR INSTANCE_PORT INSTANCE_URI INSTANCE_URLS_INIT INSTANCE_SUFFIX \
		INSTANCE_ROOTDN INSTANCE_ROOTPW_FILE INSTANCE_LOGLEVEL_INIT INSTANCE_HAS_OVERLAY
	_inst_load "$dir" || return 1
	"$tool" -x -H "$INSTANCE_URI" -D "$INSTANCE_ROOTDN" -y "$INSTANCE_ROOTPW_FILE" "$@"
}

instance_ldif_load() {
	local dir=${1:?usage: instance_ldif_load DIR FILE} file=${2:?usage: instance_ldif_load DIR FILE}
	[ -r "$file" ] || { _inst_log "cannot read $file"; return 1; }
	instance_ldap "$dir" ldapadd -f "$file" >/dev/null
}
