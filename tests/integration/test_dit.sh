#!/usr/bin/env bash
# Integration test of the schema and the initial DIT:
#  (a) ldif/chiba.ldif agrees with data/municipalities.tsv (codes, names, check digits, DNs);
#  (b) scripts/gen-ldif reproduces ldif/chiba.ldif exactly;
#  (c) Debian's slapd tools load schema/jpki.schema + the LDIF (slapd.conf form) and
#      schema/jpki.ldif + the LDIF (cn=config form), and the schema refuses bad entries.
# No running server: slaptest/slapadd/slapcat on throwaway configs under a temp dir.
# Prints PASS:/FAIL: per check and a final "N passed, N failed" (tests/lib/assert.sh);
# exits 1 on any failure.
set -u
export LC_ALL=C
PATH="$PATH:/usr/sbin:/usr/bin"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh"

SRC=$JPKI_SRCDIR
TSV=$SRC/data/municipalities.tsv
LDIF=$SRC/ldif/chiba.ldif
SCHEMA=$SRC/schema/jpki.schema
SCHEMA_LDIF=$SRC/schema/jpki.ldif
SUFFIX="o=JPKI,c=JP"
CA="ou=Chiba-ken,$SUFFIX"
CDP="ou=CRL Distribution Points,$CA"

T=$(t_tmpdir) || { t_fail "mktemp"; t_done; exit 1; }

for f in "$TSV" "$LDIF" "$SCHEMA" "$SCHEMA_LDIF" "$SRC/scripts/gen-ldif"; do
	[ -r "$f" ] || { t_fail "input present: ${f#"$SRC"/}"; t_done; exit 1; }
done

# Check digit, computed here on its own: last digit of 11 - (6,5,4,3,2-weighted sum) mod 11.
check_digit() {
	local c=$1 sum=0 i w=(6 5 4 3 2)
	for i in 0 1 2 3 4; do sum=$((sum + ${c:i:1} * w[i])); done
	echo $(((11 - sum % 11) % 10))
}
code_valid() {
	[[ $1 =~ ^[0-9]{6}$ ]] && [ "$(check_digit "${1:0:5}")" = "${1:5:1}" ]
}

# LDIF -> "dn<TAB>attribute<TAB>value" lines: comments dropped, folded lines joined,
# base64 values decoded.
ldif_flat() {
	awk '/^#/ { next }
	     /^ / { buf = buf substr($0, 2); next }
	     { if (started) print buf; buf = $0; started = 1 }
	     END { if (started) print buf }' "$1" |
	while IFS= read -r line; do
		[ -z "$line" ] && { dn=; continue; }
		name=${line%%:*}
		rest=${line#*:}
		if [ "${rest:0:1}" = ":" ]; then
			val=$(printf '%s' "${rest:1}" | tr -d ' ' | base64 -d) || val="<bad base64>"
		else
			val=${rest# }
		fi
		name=${name,,}
		[ "$name" = version ] && continue
		[ "$name" = dn ] && { dn=$val; continue; }
		printf '%s\t%s\t%s\n' "$dn" "$name" "$val"
	done
}

# ---------------------------------------------------------------- (a) LDIF vs table
ldif_flat "$LDIF" >"$T/flat"
grep -v '^#' "$TSV" | grep -v '^$' >"$T/rows"

n_rows=$(wc -l <"$T/rows")
t_eq "table lists 54 municipalities" 54 "$n_rows"

bad=
while IFS=$'\t' read -r code name romaji extra; do
	{ [ -n "$name" ] && [ -n "$romaji" ] && [ -z "${extra:-}" ] && code_valid "$code"; } || bad="$bad $code"
done <"$T/rows"
t_eq "every table code has a valid check digit" "" "$bad"

cut -f1 "$T/flat" | sort -u >"$T/dns"
grep -E "^cn=[^,]*,$CDP\$" "$T/dns" >"$T/part_dns"
n_part=$(wc -l <"$T/part_dns")
t_eq "LDIF has exactly 54 partition entries" 54 "$n_part"

# One attribute value of one entry (all values, one per line).
val() { awk -F'\t' -v dn="$1" -v a="${2,,}" '$1 == dn && $2 == a { print $3 }' "$T/flat"; }

bad=
while IFS=$'\t' read -r code name romaji _; do
	dn="cn=$code,$CDP"
	oc=$(val "$dn" objectclass | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' ')
	if [ "$oc" != "crldistributionpoint jpkicrlpartition " ] ||
		[ "$(val "$dn" cn)" != "$code" ] ||
		[ "$(val "$dn" jpkiMunicipalityCode)" != "$code" ] ||
		[ "$(val "$dn" jpkiMunicipalityName)" != "$name" ] ||
		[ "$(val "$dn" jpkiMunicipalityNameRomaji)" != "$romaji" ]; then
		bad="$bad $code"
	fi
done <"$T/rows"
t_eq "each partition's classes, cn, code, kanji and romaji match the table" "" "$bad"

bad=
while read -r dn; do
	code=${dn#cn=}
	code=${code%%,*}
	{ code_valid "$code" && grep -q "^$code	" "$T/rows"; } || bad="$bad $code"
done <"$T/part_dns"
t_eq "every partition in the LDIF is a listed, valid code" "" "$bad"

bad=
for dn in "$SUFFIX" "$CA" "$CDP" "ou=Verifiers,$CA" "ou=Services,$CA" \
	"cn=publisher,ou=Services,$CA" "cn=replicator,ou=Services,$CA" \
	"cn=responder,ou=Services,$CA" "cn=operator,ou=Services,$CA"; do
	grep -qxF "$dn" "$T/dns" || bad="$bad [$dn]"
done
n_dns=$(wc -l <"$T/dns")
[ "$n_dns" -eq 63 ] || bad="$bad (entries: $n_dns)"
t_eq "fixed DIT entries present, 63 entries in all" "" "$bad"

oc=$(val "$CA" objectclass | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' ')
t_eq "CA entry is organizationalUnit + pkiCA" "organizationalunit pkica " "$oc"

if grep -v '^#' "$LDIF" | grep -q '[^ -~]'; then
	t_fail "LDIF values outside printable ASCII are base64 (::)"
else
	t_pass "LDIF values outside printable ASCII are base64 (::)"
fi
if grep -qiE '^(userPassword|cACertificate|certificateRevocationList|authorityRevocationList)[;:]' "$LDIF"; then
	t_fail "LDIF holds no passwords, certificates or CRLs"
else
	t_pass "LDIF holds no passwords, certificates or CRLs"
fi

# ---------------------------------------------------------------- schema forms agree
# Each definition on one line, keywords mapped to their cn=config names, spaces collapsed.
schema_defs() {
	awk '/^#/ { next }
	     /^[ \t]/ { buf = buf " " $0; next }
	     { if (buf != "") print buf; buf = $0 }
	     END { if (buf != "") print buf }' "$SCHEMA" |
		sed -E 's/^objectIdentifier[ \t]+/olcObjectIdentifier: /I;
			s/^attributetypes?[ \t]+/olcAttributeTypes: /I;
			s/^objectclass(es)?[ \t]+/olcObjectClasses: /I' |
		tr -s ' \t' '  ' | sed 's/ *$//'
}
ldif_defs() {
	ldif_flat "$SCHEMA_LDIF" | awk -F'\t' '$2 ~ /^olc(objectidentifier|attributetypes|objectclasses)$/' |
		awk -F'\t' '{ n = "olcObjectClasses" }
			     $2 == "olcobjectidentifier" { n = "olcObjectIdentifier" }
			     $2 == "olcattributetypes" { n = "olcAttributeTypes" }
			     { print n ": " $3 }' |
		tr -s ' \t' '  ' | sed 's/ *$//'
}
schema_defs >"$T/defs.schema"
ldif_defs >"$T/defs.ldif"
if [ -s "$T/defs.schema" ] && diff -u "$T/defs.schema" "$T/defs.ldif" >"$T/defs.diff"; then
	t_pass "schema/jpki.schema and schema/jpki.ldif define the same"
else
	t_fail "schema/jpki.schema and schema/jpki.ldif define the same" "$(head -20 "$T/defs.diff")"
fi
# All OIDs hang off the single JPKIRoot macro; the only numeric OID is the macro's.
n_macro=$(grep -c '^olcObjectIdentifier: JPKIRoot 2\.25\.[0-9]*$' "$T/defs.schema")
n_defs=$(grep -c '^olc\(AttributeTypes\|ObjectClasses\): ( ' "$T/defs.schema")
n_rooted=$(grep -c '^olc\(AttributeTypes\|ObjectClasses\): ( JPKIRoot:[12]\.[0-9]* NAME ' "$T/defs.schema")
n_oid=$(grep -c '^olcObjectIdentifier' "$T/defs.schema")
if [ "$n_macro:$n_oid" = 1:1 ] && [ "$n_defs" -gt 0 ] && [ "$n_defs" -eq "$n_rooted" ]; then
	t_pass "every OID under the one JPKIRoot 2.25 macro"
else
	t_fail "every OID under the one JPKIRoot 2.25 macro" "macro=$n_macro/$n_oid defs=$n_defs rooted=$n_rooted"
fi

# ---------------------------------------------------------------- (b) regenerate
if "$SRC/scripts/gen-ldif" "$TSV" >"$T/regen.ldif" 2>"$T/regen.err" &&
	diff -u "$LDIF" "$T/regen.ldif" >"$T/regen.diff"; then
	t_pass "scripts/gen-ldif reproduces ldif/chiba.ldif"
else
	t_fail "scripts/gen-ldif reproduces ldif/chiba.ldif" "$(cat "$T/regen.err"; head -20 "$T/regen.diff" 2>/dev/null)"
fi

# ---------------------------------------------------------------- (c) slapd tools
if ! command -v slapadd >/dev/null || ! command -v slaptest >/dev/null; then
	t_fail "slapd tools installed (slapadd, slaptest)"
	t_done
	exit $?
fi

# slapd.conf form
mkdir -p "$T/db"
cat >"$T/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $SCHEMA
pidfile $T/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "$SUFFIX"
directory $T/db
maxsize 104857600
CONF
if slaptest -f "$T/slapd.conf" -u >"$T/slaptest.log" 2>&1; then
	t_pass "slaptest accepts schema/jpki.schema (slapd.conf)"
else
	t_fail "slaptest accepts schema/jpki.schema (slapd.conf)" "$(cat "$T/slaptest.log")"
fi
if slapadd -f "$T/slapd.conf" -l "$LDIF" >"$T/slapadd.log" 2>&1; then
	t_pass "slapadd loads ldif/chiba.ldif (slapd.conf)"
else
	t_fail "slapadd loads ldif/chiba.ldif (slapd.conf)" "$(cat "$T/slapadd.log")"
fi
n=$(slapcat -f "$T/slapd.conf" 2>/dev/null | grep -c '^dn:')
t_eq "slapcat returns the 63 entries" 63 "$n"
n=$(slapcat -f "$T/slapd.conf" -a '(jpkiMunicipalityCode=121002)' 2>/dev/null | grep -c '^dn: cn=121002,')
t_eq "jpkiMunicipalityCode equality match finds 121002" 1 "$n"

# The schema must refuse what the overlay and tools count on it refusing.
VER="ou=Verifiers,$CA"
verifier() { # $1: uid, then extra attribute lines; $2: lines to drop (regex)
	printf '%s\n' "dn: uid=$1,$VER" "objectClass: jpkiVerifier" "uid: $1" \
		"jpkiVerifierId: SV-$1" "jpkiVerifierType: signature-verifier" \
		"jpkiVerifierStatus: active" "jpkiAgreementStart: 20140401000000Z" \
		"jpkiAgreementEnd: 20150331235959Z" "jpkiAllowedMethod: ldap" \
		"jpkiAllowedMethod: ocsp" "o: Example Bank" "mail: pki@example.jp" \
		"telephoneNumber: +81 43 000 0000" \
		"jpkiCertificateSubject: cn=$1,o=Example Bank,c=JP" \
		"jpkiCertificateSHA256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" |
		grep -vE "${2:-^\$}"
}
refused() { # $1: check name, $2: regex the refusal must match; LDIF in $T/neg.ldif
	if slapadd -f "$T/slapd.conf" -l "$T/neg.ldif" >"$T/neg.log" 2>&1; then
		t_fail "schema refuses: $1" "slapadd accepted it"
	elif ! grep -qiE "$2" "$T/neg.log"; then
		t_fail "schema refuses: $1" "refused for another reason: $(cat "$T/neg.log")"
	else
		t_pass "schema refuses: $1"
	fi
}
# slapadd normalises values but does not run syntax validators (a non-numeric
# jpkiMunicipalityCode passes it; LDAP add refuses it), so only normaliser-, schema- and
# single-value refusals are checked here.
verifier v1 '^jpkiAgreementEnd:' >"$T/neg.ldif"
refused "verifier without jpkiAgreementEnd" "requires attribute 'jpkiAgreementEnd'"
verifier v2 '^jpkiAllowedMethod:' >"$T/neg.ldif"
refused "verifier without jpkiAllowedMethod" "requires attribute 'jpkiAllowedMethod'"
{ verifier v3; echo "jpkiVerifierStatus: suspended"; } >"$T/neg.ldif"
refused "two jpkiVerifierStatus values" "jpkiVerifierStatus. cannot have multiple values"
verifier v4 | sed 's/^jpkiAgreementStart: .*/jpkiAgreementStart: 2014-04-01/' >"$T/neg.ldif"
refused "jpkiAgreementStart not GeneralizedTime" "jpkiAgreementStart"
verifier v5 | sed 's/^jpkiCertificateSubject: .*/jpkiCertificateSubject: not a DN/' >"$T/neg.ldif"
refused "jpkiCertificateSubject not a DN" "jpkiCertificateSubject"
printf '%s\n' "dn: cn=999998,$CDP" "objectClass: cRLDistributionPoint" \
	"objectClass: jpkiCRLPartition" "cn: 999998" >"$T/neg.ldif"
refused "partition without jpkiMunicipalityCode" "requires attribute 'jpkiMunicipalityCode'"
printf '%s\n' "dn: cn=121002x,$CDP" "objectClass: cRLDistributionPoint" \
	"objectClass: jpkiCRLPartition" "cn: 121002x" "jpkiMunicipalityCode: 121002" \
	"jpkiMunicipalityCode: 122025" >"$T/neg.ldif"
refused "two jpkiMunicipalityCode values" "jpkiMunicipalityCode. cannot have multiple values"
printf '%s\n' "dn: cn=nopw,ou=Services,$CA" "objectClass: applicationProcess" \
	"cn: nopw" "userPassword: secret" >"$T/neg.ldif"
refused "userPassword on a service without jpkiService" "userPassword.*not allowed"

{ verifier sv0001; echo; printf '%s\n' "dn: cn=test-service,ou=Services,$CA" \
	"objectClass: applicationProcess" "objectClass: jpkiService" "cn: test-service" \
	"userPassword: {SSHA}placeholderplaceholderplaceholder"; } >"$T/pos.ldif"
if slapadd -f "$T/slapd.conf" -l "$T/pos.ldif" >"$T/pos.log" 2>&1; then
	t_pass "schema accepts a full verifier and a service with a password"
else
	t_fail "schema accepts a full verifier and a service with a password" "$(cat "$T/pos.log")"
fi
n=$(slapcat -f "$T/slapd.conf" -a '(&(jpkiAgreementEnd<=20200101000000Z)(jpkiAllowedMethod=OCSP))' 2>/dev/null |
	grep -c '^dn: uid=sv0001,')
t_eq "agreement ordering and method matching work" 1 "$n"

# cn=config form
mkdir -p "$T/cfg" "$T/db2"
{
	printf '%s\n' "dn: cn=config" "objectClass: olcGlobal" "cn: config" \
		"olcPidFile: $T/slapd2.pid" "" \
		"dn: cn=module{0},cn=config" "objectClass: olcModuleList" "cn: module{0}" \
		"olcModulePath: /usr/lib/ldap" "olcModuleLoad: back_mdb" "" \
		"dn: cn=schema,cn=config" "objectClass: olcSchemaConfig" "cn: schema" ""
	for s in core cosine inetorgperson; do cat "/etc/ldap/schema/$s.ldif"; echo; done
	cat "$SCHEMA_LDIF"
	printf '%s\n' "" "dn: olcDatabase={1}mdb,cn=config" "objectClass: olcDatabaseConfig" \
		"objectClass: olcMdbConfig" "olcDatabase: {1}mdb" "olcSuffix: $SUFFIX" \
		"olcDbDirectory: $T/db2" "olcDbMaxSize: 104857600"
} >"$T/config.ldif"
if slapadd -n0 -F "$T/cfg" -l "$T/config.ldif" >"$T/cfg.log" 2>&1 &&
	slaptest -F "$T/cfg" -u >>"$T/cfg.log" 2>&1; then
	t_pass "slapadd -n0 / slaptest -F accept schema/jpki.ldif (cn=config)"
else
	t_fail "slapadd -n0 / slaptest -F accept schema/jpki.ldif (cn=config)" "$(cat "$T/cfg.log")"
fi
if slapadd -F "$T/cfg" -b "$SUFFIX" -l "$LDIF" >"$T/slapadd2.log" 2>&1; then
	t_pass "slapadd loads ldif/chiba.ldif (cn=config)"
else
	t_fail "slapadd loads ldif/chiba.ldif (cn=config)" "$(cat "$T/slapadd2.log")"
fi
n=$(slapcat -F "$T/cfg" -b "$SUFFIX" -a '(jpkiMunicipalityNameRomaji=chiba-shi)' 2>/dev/null | grep -c '^dn: cn=121002,')
t_eq "cn=config database finds Chiba-shi" 1 "$n"

t_done
