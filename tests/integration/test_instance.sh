#!/usr/bin/env bash
# Self-test of scripts/lib/instance.sh: a private slapd without the overlay, started,
# loaded, restarted, monitored and stopped.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh"

dir=$(t_tmpdir)/slapd
t_ok "instance_init (no overlay)" env INSTANCE_OVERLAY=0 bash -c \
	'. "$JPKI_SRCDIR/scripts/lib/instance.sh" && instance_init "$1"' _ "$dir"
t_not "slapd.conf has no jpkirepo" grep -Eq '^(overlay|moduleload).*jpkirepo' "$dir/conf/slapd.conf"
t_ok "slapd.conf has syncprov" grep -q '^overlay syncprov' "$dir/conf/slapd.conf"

instance_start "$dir"
t_eq "instance_start" 0 $?
eval "$(instance_env "$dir")"
t_match "URI on 127.0.0.1" '^ldap://127\.0\.0\.1:[0-9]+$' "$INSTANCE_URI"
t_eq "rootdn" "cn=admin,o=JPKI,c=JP" "$INSTANCE_ROOTDN"
t_not "rootpw in clear not in slapd.conf" grep -qF "$INSTANCE_ROOTPW" "$dir/conf/slapd.conf"
pid=$(instance_pid "$dir")
t_match "pid file" '^[0-9]+$' "$pid"

ldif=$(t_tmpdir)/base.ldif
cat > "$ldif" <<'EOF'
dn: o=JPKI,c=JP
objectClass: organization
o: JPKI
description: instance self-test
EOF
t_ok "instance_ldif_load" instance_ldif_load "$dir" "$ldif"
out=$(ldapsearch -x -LLL -H "$INSTANCE_URI" -b "o=JPKI,c=JP" -s base description 2>&1)
t_match "entry readable anonymously" '^dn: o=JPKI,c=JP' "$out"
t_match "entry content" 'description: instance self-test' "$out"
t_not "wrong password refused" ldapsearch -x -H "$INSTANCE_URI" -D "$INSTANCE_ROOTDN" -w wrong \
	-b "o=JPKI,c=JP" -s base

t_ok "instance_stop" instance_stop "$dir"
t_not "slapd gone after stop" kill -0 "$pid"
t_not "port closed after stop" ldapsearch -x -o nettimeout=2 -H "$INSTANCE_URI" -b '' -s base
t_ok "instance_stop when stopped" instance_stop "$dir"

instance_start "$dir"
t_eq "restart" 0 $?
out=$(ldapsearch -x -LLL -H "$INSTANCE_URI" -b "o=JPKI,c=JP" -s base description 2>&1)
t_match "entry persisted across restart" 'description: instance self-test' "$out"

out=$(instance_ldap "$dir" ldapsearch -LLL -b cn=Monitor -s base '(objectClass=*)' cn 2>&1)
t_match "cn=Monitor answers the rootdn" '^dn: cn=Monitor' "$out"
out=$(ldapsearch -x -LLL -H "$INSTANCE_URI" -b cn=Monitor -s base cn 2>&1)
t_not "cn=Monitor hidden from anonymous" grep -q '^dn: cn=Monitor' <<<"$out"
t_ok "log written" grep -q 'SRCH base="o=JPKI,c=JP"' "$dir/run/slapd.log"

pid=$(instance_pid "$dir")
instance_stop "$dir"
t_eq "stopped" 0 $?
t_not "pid $pid gone" kill -0 "$pid"
t_not "pid file removed" test -e "$dir/run/slapd.pid"

# A second instance on a port already taken fails within the bounded wait.
INSTANCE_OVERLAY=0 instance_init "$dir.2" >/dev/null 2>&1
instance_start "$dir"
INSTANCE_OVERLAY=0 INSTANCE_PORT=$INSTANCE_PORT instance_init "$dir.3" >/dev/null 2>&1
t_not "start fails on a taken port" env INSTANCE_START_TIMEOUT=3 bash -c \
	'. "$JPKI_SRCDIR/scripts/lib/instance.sh" && instance_start "$1"' _ "$dir.3"
instance_stop "$dir"

# The overlay-less instance and the time shift that tests use through INSTANCE_PRELOAD.
faketime_so=$(jpki_faketime_lib libfaketime.so.1)
if [ -n "$faketime_so" ]; then
	INSTANCE_PRELOAD=$faketime_so FAKETIME="@2031-02-03 04:05:06" instance_start "$dir.2"
	t_eq "start under libfaketime" 0 $?
	out=$(instance_ldap "$dir.2" ldapsearch -LLL -b "cn=Current,cn=Time,cn=Monitor" -s base \
		monitorTimestamp 2>&1)
	t_match "slapd sees the faked time" 'monitorTimestamp: 20310203' "$out"
	pid=$(instance_pid "$dir.2")
	t_ok "faked instance stops" instance_stop "$dir.2"
	t_eq "libfaketime's /dev/shm objects gone with it" "" "$(jpki_faketime_objects "$pid")"
	# One that ignores SIGTERM (stopped) is killed, and its objects are removed all the same.
	INSTANCE_PRELOAD=$faketime_so FAKETIME="@2031-02-03 04:05:06" instance_start "$dir.2"
	pid=$(instance_pid "$dir.2")
	t_match "libfaketime's /dev/shm objects while it runs" "faketime_shm_$pid" "$(jpki_faketime_objects "$pid")"
	kill -STOP "$pid"
	INSTANCE_STOP_TIMEOUT=1 t_ok "stopped faked instance is killed" instance_stop "$dir.2"
	t_eq "libfaketime's /dev/shm objects removed after SIGKILL" "" "$(jpki_faketime_objects "$pid")"
else
	t_skip "libfaketime" "not installed"
fi

# assert.sh's exit trap stops an instance a test leaves running.
pid=$(bash -c '. "$JPKI_SRCDIR/tests/lib/assert.sh"
	INSTANCE_OVERLAY=0 instance_init "$1" >/dev/null 2>&1 && instance_start "$1" && instance_pid "$1"
	exit 3' _ "$dir.4")
t_match "sub-test started an instance" '^[0-9]+$' "$pid"
t_not "exit trap stopped it" kill -0 "${pid:-0}"

t_done
