# shellcheck shell=bash
# The test PKI, made once per build tree and shared by the tests that only read it.
test_pki() {
	local dir="$JPKI_BUILDDIR/test-pki"
	if [ ! -f "$dir/.complete" ]; then
		"$JPKI_SRCDIR/scripts/lib/testpki.sh" "$dir" "$JPKI_BUILDDIR" >&2 || return 1
	fi
	echo "$dir"
}
