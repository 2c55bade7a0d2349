#!/usr/bin/env bash
# Install, as root on Debian 12, every Debian package the project needs that is missing,
# then make sure Debian's own slapd service is stopped and disabled: the project only runs
# private slapd instances (scripts/lib/instance.sh).
#
#   scripts/lib/deps.sh            JPKI_EXTRA_DEBS="pkg …" adds packages to the list
#
# apt-get update runs only when something is missing. Quiet when nothing is to be done.
set -euo pipefail

pkgs=(
	# build
	build-essential autoconf automake libtool pkg-config dpkg-dev
	# libraries we compile against
	libssl-dev libp11-dev libp11-kit-dev libldap-dev libmicrohttpd-dev libcunit1-dev libjansson-dev
	# the OpenLDAP source configure (scripts/lib/openldap-src.sh): Debian's options need these
	libgnutls28-dev libsasl2-dev libltdl-dev libwrap0-dev unixodbc-dev libperl-dev libargon2-dev
	# run time and tests (curl: the responder's HTTP checks; libxml2-utils: xmllint, the
	# provision chart's SVG checked)
	slapd ldap-utils softhsm2 opensc openssl gnutls-bin libfaketime xxd python3 curl libxml2-utils
	# the man pages' check (tests/integration/test_man_*.sh)
	groff-base
	# bench/ocsp.sh: ip and ss (iproute2) for its network namespace and free ports; nginx,
	# its ceiling, is optional and not installed
	iproute2
)
# shellcheck disable=SC2206
pkgs+=(${JPKI_EXTRA_DEBS:-})

log() { echo "deps: $*" >&2; }

# Packages of the list not installed.
missing_pkgs() {
	declare -A ok=()
	local name status
	while read -r name status; do
		[ "$status" = installed ] && ok[$name]=1
	done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
	local p
	for p in "${pkgs[@]}"; do
		[ -n "${ok[$p]:-}" ] || echo "$p"
	done
}

mapfile -t missing < <(missing_pkgs)

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		log "missing packages (run this script as root to install them): ${missing[*]}"
		exit 1
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Keep maintainer scripts from starting services (slapd above all) during the install.
	created_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# temporary, scripts/lib/deps.sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		created_policy=1
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get -qq update >&2
	apt-get -y -qq --no-install-recommends install "${missing[@]}" >&2
	if [ -n "$created_policy" ]; then
		rm -f /usr/sbin/policy-rc.d
		trap - EXIT
	fi
	mapfile -t still < <(missing_pkgs)
	if [ ${#still[@]} -gt 0 ]; then
		log "still missing after apt-get install: ${still[*]}"
		exit 1
	fi
fi

# Debian's slapd service: never running, never started at boot. Idempotent.
disable_system_slapd() {
	[ "$(id -u)" = 0 ] || return 0
	[ -x /etc/init.d/slapd ] || return 0
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now slapd.service >/dev/null 2>&1 || true
	fi
	if command -v update-rc.d >/dev/null 2>&1 &&
		compgen -G '/etc/rc[2-5].d/S*slapd' >/dev/null; then
		update-rc.d slapd disable >/dev/null 2>&1 || log "update-rc.d slapd disable failed"
	fi

	# Still running? Its pid file is Debian's default one (SLAPD_PIDFILE unset).
	local pidfile=/run/slapd/slapd.pid pid i
	[ -s "$pidfile" ] || return 0
	read -r pid < "$pidfile" || return 0
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slapd ] || return 0
	log "stopping the system slapd (pid $pid)"
	if command -v service >/dev/null 2>&1; then
		service slapd stop >/dev/null 2>&1 || true
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}
disable_system_slapd
