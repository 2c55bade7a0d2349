#!/usr/bin/env bash
# Obtain and configure the Debian source of the *installed* slapd, so that the overlay is
# compiled against exactly the struct layouts of the slapd that will load it.
#
#   scripts/lib/openldap-src.sh DESTDIR
#
# Prints the configured source directory on stdout. The apt source list used for the
# deb-src entry is derived from the machine's own /etc/apt/sources.list.d/ (deb822 files and
# one-line lists alike) and /etc/apt/sources.list, and kept in private files with private
# lists and caches: the system's apt state is not touched.
set -euo pipefail

dest=${1:?usage: openldap-src.sh DESTDIR}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

version=$(dpkg-query -W -f='${Version}' slapd 2>/dev/null) ||
	{ echo "openldap-src: slapd is not installed" >&2; exit 1; }
srcdir="$dest/openldap-${version#*:}"; srcdir=${srcdir%-*}
stamp="$dest/.configured-$version"

if [ -f "$stamp" ] && [ -f "$srcdir/include/ldap_config.h" ]; then
	echo "$srcdir"
	exit 0
fi

apt_dir="$dest/apt"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache"
: > "$apt_dir/sources.list"
rm -f "$apt_dir/sources.list.d/"*

# deb822 sources: the same stanzas with Types: deb-src.
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	# field names are case-insensitive (deb822)
	awk 'tolower($0) ~ /^types:/ { print "Types: deb-src"; next } { print }' "$f" \
		> "$apt_dir/sources.list.d/$(basename "$f")"
done
# One-line sources: every "deb" line again as "deb-src" (but a CD, which has no sources).
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	sed -n -e '/^[[:space:]]*deb[[:space:]].*cdrom:/d' \
		-e 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >> "$apt_dir/sources.list"
done

apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list"
	-o "Dir::Etc::sourceparts=$apt_dir/sources.list.d"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o "APT::Get::List-Cleanup=0")

echo "openldap-src: fetching the source of slapd $version" >&2
apt-get "${apt_opts[@]}" -qq update >&2
rm -rf "$srcdir"
(cd "$dest" && apt-get "${apt_opts[@]}" -qq source "openldap=$version" >&2)
[ -d "$srcdir" ] || { echo "openldap-src: $srcdir not unpacked" >&2; exit 1; }

# Configure with Debian's own options: GnuTLS, SLAPI, dynacl… change struct layouts.
echo "openldap-src: configuring with debian/configure.options" >&2
# The file is shell words (one is quoted); the paths are what dh_auto_configure adds.
eval "opts=($(grep -v '^[[:space:]]*#' "$srcdir/debian/configure.options"))"
(cd "$srcdir" && ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--libdir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)" "${opts[@]}" \
	>"$dest/configure.log" 2>&1) ||
	{ echo "openldap-src: configure failed, see $dest/configure.log" >&2; exit 1; }
make -C "$srcdir/include" ldap_config.h >/dev/null
touch "$stamp"
echo "$srcdir"
