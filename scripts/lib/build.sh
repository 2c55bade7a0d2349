#!/usr/bin/env bash
# Build everything out of tree, check programs included (not run).
#
#   scripts/lib/build.sh [BUILD_DIR]     default: $JPKI_BUILDDIR, else <repo>/build
#
# Steps: Debian packages (deps.sh), the configured slapd source (openldap-src.sh, into
# <repo>/.deps), autoreconf when the generated files are missing or older than their
# sources, configure when BUILD_DIR has none for the same options, make, make check TESTS=.
# JPKI_CONFIGURE_ARGS adds configure options; JPKI_MAKE_JOBS sets -j (2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${JPKI_BUILDDIR:-$root/build}}
jobs=${JPKI_MAKE_JOBS:-2}
log() { echo "build: $*" >&2; }

"$root/scripts/lib/deps.sh"

ossrc=$("$root/scripts/lib/openldap-src.sh" "$root/.deps")

if [ -f "$root/config.status" ]; then
	log "$root was configured in place; out-of-tree builds need it clean: run 'make distclean' there"
	exit 1
fi

# autoreconf when configure or Makefile.in is missing or configure.ac is newer; later edits
# of Makefile.am or a local.mk are picked up by the generated Makefile's own rules.
need_autoreconf=
if [ ! -x "$root/configure" ] || [ ! -f "$root/Makefile.in" ] ||
	[ "$root/configure.ac" -nt "$root/configure" ]; then
	need_autoreconf=1
fi
if [ -n "$need_autoreconf" ]; then
	log "autoreconf -fi"
	(cd "$root" && autoreconf -fi >&2)
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
# shellcheck disable=SC2206
args=(--with-openldap-src="$ossrc" ${JPKI_CONFIGURE_ARGS:-})
stamp="$build/.jpki-configure-args"
if [ -f "$build/config.status" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${args[*]}" ]; then
	: # configured with these options; make reruns config.status itself when configure changed
else
	log "configure ${args[*]}"
	rm -f "$stamp"
	(cd "$build" && "$root/configure" "${args[@]}" >"$build/configure.out" 2>&1) || {
		tail -n 30 "$build/configure.out" >&2
		log "configure failed, see $build/configure.out"
		exit 1
	}
	printf '%s' "${args[*]}" > "$stamp"
fi

make -C "$build" -j"$jobs" --no-print-directory
make -C "$build" -j"$jobs" --no-print-directory check TESTS=
