# shellcheck shell=bash
# What every test of a running repository starts with: the assertions, the repository and
# PKI helpers, the shared test PKI and its token, a temporary directory T and DIR=$T/slapd
# for the instance.
. "$(dirname "${BASH_SOURCE[0]}")/assert.sh"
. "$JPKI_SRCDIR/scripts/lib/repo.sh"
. "$JPKI_SRCDIR/tests/lib/pki.sh"

PKI=$(test_pki) || { t_fail "test PKI"; t_done; exit 1; }
export SOFTHSM2_CONF=$PKI/softhsm2.conf
T=$(t_tmpdir)
DIR=$T/slapd
