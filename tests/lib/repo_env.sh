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

# spare_partition DIR: adds, as the rootdn, a partition entry that holds no CRL (cn=999990, not
# a municipality) and prints its DN: something the overlay lets anyone allowed delete.
spare_partition() {
	local dn="cn=999990,ou=CRL Distribution Points,$REPO_CA_DN"
	instance_ldap "$1" ldapadd >/dev/null 2>&1 <<EOF || return 1
dn: $dn
objectClass: cRLDistributionPoint
objectClass: jpkiCRLPartition
cn: 999990
jpkiMunicipalityCode: 999990
jpkiMunicipalityName: 試験
EOF
	echo "$dn"
}
