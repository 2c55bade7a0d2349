/* Unit tests for lib/dn.c: LDAP DN strings and X.509 names. */
#include "dn.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "fixture.h"

static int clean_suite(void)
{
	fx_cleanup();
	return 0;
}

/* Entry i of name has this type and this UTF-8 value. */
static int entry_is(const X509_NAME *name, int i, int nid, const char *value)
{
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
	const ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int len, ok;

	if (e == NULL || OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != nid)
		return 0;
	s = X509_NAME_ENTRY_get_data(e);
	len = ASN1_STRING_to_UTF8(&utf8, s);
	ok = len >= 0 && (size_t)len == strlen(value) && memcmp(utf8, value, (size_t)len) == 0;
	OPENSSL_free(utf8);
	return ok;
}

static void test_order(void)
{
	jpki_err err = { "" };
	X509_NAME *n = jpki_dn_to_x509_name("CN=121002,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP",
		&err);
	X509_NAME *expect = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", "OU", "CRL Distribution Points",
		"CN", "121002", NULL);
	X509_NAME *reversed = fx_name("CN", "121002", "OU", "CRL Distribution Points", "OU", "Chiba-ken",
		"O", "JPKI", "C", "JP", NULL);
	char *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(n), 5);
	/* X.509 starts at the root */
	CU_ASSERT_TRUE(entry_is(n, 0, NID_countryName, "JP"));
	CU_ASSERT_TRUE(entry_is(n, 1, NID_organizationName, "JPKI"));
	CU_ASSERT_TRUE(entry_is(n, 2, NID_organizationalUnitName, "Chiba-ken"));
	CU_ASSERT_TRUE(entry_is(n, 3, NID_organizationalUnitName, "CRL Distribution Points"));
	CU_ASSERT_TRUE(entry_is(n, 4, NID_commonName, "121002"));
	CU_ASSERT_EQUAL(X509_NAME_cmp(n, expect), 0);
	CU_ASSERT_NOT_EQUAL(X509_NAME_cmp(n, reversed), 0);
	/* and back: leaf first */
	s = jpki_x509_name_to_dn(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "CN=121002,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP");
	free(s);
	s = jpki_x509_name_to_dn(fx_ca_name());
	CU_ASSERT_STRING_EQUAL(s, "OU=Chiba-ken,O=JPKI,C=JP");
	free(s);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(FX_PART_DN, expect), 1);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(FX_PART_DN, reversed), 0);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(FX_PART_DN2, expect), 0);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(FX_CA_ENTRY_DN, expect), 0);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(FX_CA_ENTRY_DN, fx_ca_name()), 1);
	X509_NAME_free(n);
	X509_NAME_free(expect);
	X509_NAME_free(reversed);
}

static void test_attribute_type_forms(void)
{
	X509_NAME *expect = fx_name("C", "JP", "O", "JPKI", "CN", "x", NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
	/* dotted OIDs and OpenSSL's long names */
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name("2.5.4.3=x,2.5.4.10=JPKI,2.5.4.6=JP", expect), 1);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name("commonName=x,organizationName=JPKI,countryName=JP",
		expect), 1);
	X509_NAME_free(expect);
}

/* LDAP attribute types are case-insensitive (RFC 4512 2.5): slapd's DNs, the default partition
 * base and the CPS all write them in lower case. */
static void test_lower_case_types(void)
{
	jpki_err err = { "" };
	X509_NAME *expect = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", "OU", "CRL Distribution Points",
		"CN", "121002", NULL);
	X509_NAME *n = jpki_dn_to_x509_name("cn=121002,ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP",
		&err);

	if (n == NULL)
		fprintf(stderr, "\n  refused: %s\n", err.text);
	CU_ASSERT_PTR_NOT_NULL(n);
	if (n != NULL)
		CU_ASSERT_EQUAL(X509_NAME_cmp(n, expect), 0);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name("Cn=121002,oU=CRL Distribution Points,Ou=Chiba-ken,o=JPKI,c=JP",
		expect), 1);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(
		"COMMONNAME=121002,ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP", expect), 1);
	X509_NAME_free(n);
	X509_NAME_free(expect);
}

static void test_case_insensitive(void)
{
	X509_NAME *expect = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", "OU", "CRL Distribution Points",
		"CN", "121002", NULL);

	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(
		"CN=121002,OU=crl distribution points,OU=CHIBA-KEN,O=jpki,C=jp", expect), 1);
	/* spaces after separators and runs of spaces inside values */
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(
		"CN=121002, OU=CRL  Distribution   Points, OU=Chiba-ken, O=JPKI, C=JP", expect), 1);
	/* but not other letters */
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(
		"CN=121002,OU=CRL Distribution Point,OU=Chiba-ken,O=JPKI,C=JP", expect), 0);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(
		"CN=121002,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP,DC=extra", expect), 0);
	X509_NAME_free(expect);
}

static void test_escapes(void)
{
	jpki_err err = { "" };
	X509_NAME *n = jpki_dn_to_x509_name("CN=Doe\\, John,O=JPKI,C=JP", &err), *back;
	X509_NAME *expect = fx_name("C", "JP", "O", "JPKI", "CN", "Doe, John", NULL);
	X509_NAME *hex;
	char *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(n), 3);
	CU_ASSERT_TRUE(entry_is(n, 2, NID_commonName, "Doe, John"));
	CU_ASSERT_EQUAL(X509_NAME_cmp(n, expect), 0);
	s = jpki_x509_name_to_dn(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "CN=Doe\\, John,O=JPKI,C=JP");
	back = jpki_dn_to_x509_name(s, &err);
	CU_ASSERT_PTR_NOT_NULL(back);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(s, n), 1);
	free(s);
	X509_NAME_free(back);
	X509_NAME_free(n);
	X509_NAME_free(expect);
	/* the other specials, and a quoted value (RFC 4514 2.4) */
	n = jpki_dn_to_x509_name("CN=a\\+b\\=c\\;d\\\"e\\\\f\\<g\\>,O=JPKI,C=JP", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(n), 3);
	CU_ASSERT_TRUE(entry_is(n, 2, NID_commonName, "a+b=c;d\"e\\f<g>"));
	s = jpki_x509_name_to_dn(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(s, n), 1);
	free(s);
	X509_NAME_free(n);
	/* hex pairs: 千 as \E5\8D\83 */
	hex = jpki_dn_to_x509_name("CN=\\E5\\8D\\83,C=JP", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
	CU_ASSERT_TRUE(entry_is(hex, 1, NID_commonName, "千"));
	X509_NAME_free(hex);
}

static void test_multi_valued(void)
{
	jpki_err err = { "" };
	X509_NAME *n = jpki_dn_to_x509_name("CN=a+SN=b,O=JPKI,C=JP", &err);
	X509_NAME *single = fx_name("C", "JP", "O", "JPKI", "CN", "a", "SN", "b", NULL);
	char *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL_FATAL(X509_NAME_entry_count(n), 4);
	CU_ASSERT_TRUE(entry_is(n, 0, NID_countryName, "JP"));
	CU_ASSERT_TRUE(entry_is(n, 1, NID_organizationName, "JPKI"));
	CU_ASSERT_TRUE(entry_is(n, 2, NID_commonName, "a"));
	CU_ASSERT_TRUE(entry_is(n, 3, NID_surname, "b"));
	/* cn and sn share one RDN; C and O have one each */
	CU_ASSERT_EQUAL(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)),
		X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 3)));
	CU_ASSERT_NOT_EQUAL(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)),
		X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)));
	CU_ASSERT_NOT_EQUAL(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)),
		X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)));
	/* two single-valued RDNs are another name */
	CU_ASSERT_NOT_EQUAL(X509_NAME_cmp(n, single), 0);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name("CN=a,SN=b,O=JPKI,C=JP", n), 0);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name("CN=a+SN=b,O=JPKI,C=JP", n), 1);
	s = jpki_x509_name_to_dn(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL(strchr(s, '+'));
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(s, n), 1);
	free(s);
	X509_NAME_free(n);
	X509_NAME_free(single);
	/* multi-valued RDN as the first (root) one, then a single-valued leaf */
	n = jpki_dn_to_x509_name("CN=x,O=JPKI+C=JP", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(n), 3);
	CU_ASSERT_EQUAL(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)),
		X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)));
	CU_ASSERT_NOT_EQUAL(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)),
		X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)));
	X509_NAME_free(n);
}

static void test_utf8(void)
{
	jpki_err err = { "" };
	X509_NAME *n = jpki_dn_to_x509_name("CN=千葉市,OU=千葉県,O=JPKI,C=JP", &err);
	X509_NAME *expect = fx_name("C", "JP", "O", "JPKI", "OU", "千葉県", "CN", "千葉市", NULL);
	const ASN1_STRING *v;
	char *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_TRUE(entry_is(n, 3, NID_commonName, "千葉市"));
	v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 3));
	CU_ASSERT_EQUAL(ASN1_STRING_type(v), V_ASN1_UTF8STRING);
	CU_ASSERT_EQUAL(ASN1_STRING_length(v), 9);
	CU_ASSERT_EQUAL(X509_NAME_cmp(n, expect), 0);
	s = jpki_x509_name_to_dn(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "CN=千葉市,OU=千葉県,O=JPKI,C=JP");	/* not escaped */
	free(s);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name("CN=千葉市,OU=千葉県,O=JPKI,C=JP", expect), 1);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name("CN=銚子市,OU=千葉県,O=JPKI,C=JP", expect), 0);
	X509_NAME_free(n);
	X509_NAME_free(expect);
}

static void test_invalid(void)
{
	static const char *const bad[] = {
		"not a dn", "CN", "=x", "CN=a,,O=b", "CN=a\\", "CN=a,O", "CN=a+", "bogusType=x,C=JP",
		"CN=\\zz,C=JP",
	};
	X509_NAME *any = fx_name("C", "JP", NULL);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jpki_err err = { "" };
		X509_NAME *n = jpki_dn_to_x509_name(bad[i], &err);

		if (n != NULL)
			fprintf(stderr, "\n  accepted '%s'\n", bad[i]);
		CU_ASSERT_PTR_NULL(n);
		CU_ASSERT_NOT_EQUAL(err.text[0], '\0');
		X509_NAME_free(n);
		CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(bad[i], any), -1);
	}
	{
		jpki_err err = { "" };

		CU_ASSERT_PTR_NULL(jpki_dn_to_x509_name("bogusType=x,C=JP", &err));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "bogusType"));
		/* a BER value (#hex) is not taken */
		CU_ASSERT_PTR_NULL(jpki_dn_to_x509_name("CN=#0c03616263,C=JP", &err));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "BER"));
		/* NULL err is allowed */
		CU_ASSERT_PTR_NULL(jpki_dn_to_x509_name("not a dn", NULL));
	}
	X509_NAME_free(any);
}

static void test_partition_dn(void)
{
	char buf[128];
	const char *want = "cn=121002,ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP";

	CU_ASSERT_STRING_EQUAL(JPKI_DEFAULT_PARTITION_BASE, "ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP");
	CU_ASSERT_EQUAL(jpki_partition_dn(JPKI_DEFAULT_PARTITION_BASE, "121002", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, want);
	/* exactly fits, one short */
	CU_ASSERT_EQUAL(jpki_partition_dn(JPKI_DEFAULT_PARTITION_BASE, "121002", buf, strlen(want) + 1), 0);
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT_EQUAL(jpki_partition_dn(JPKI_DEFAULT_PARTITION_BASE, "121002", buf, strlen(want)), -1);
	CU_ASSERT_EQUAL(jpki_partition_dn("OU=x", "122025", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "cn=122025,OU=x");
}

/* The default partition DN must name the entry the CRL's IDP names. */
static void test_default_partition_base(void)
{
	char buf[128];
	X509_NAME *expect = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", "OU", "CRL Distribution Points",
		"CN", "121002", NULL);
	jpki_err err = { "" };
	X509_NAME *n;

	CU_ASSERT_EQUAL_FATAL(jpki_partition_dn(JPKI_DEFAULT_PARTITION_BASE, "121002", buf, sizeof(buf)), 0);
	n = jpki_dn_to_x509_name(buf, &err);
	if (n == NULL)
		fprintf(stderr, "\n  refused: %s\n", err.text);
	CU_ASSERT_PTR_NOT_NULL(n);
	CU_ASSERT_EQUAL(jpki_dn_equals_x509_name(buf, expect), 1);
	X509_NAME_free(n);
	X509_NAME_free(expect);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("dn", NULL, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "LDAP leaf-first vs X.509 root-first", test_order) ||
	    !CU_add_test(s, "OID and long-name attribute types", test_attribute_type_forms) ||
	    !CU_add_test(s, "lower-case attribute types", test_lower_case_types) ||
	    !CU_add_test(s, "case-insensitive values", test_case_insensitive) ||
	    !CU_add_test(s, "escaped characters", test_escapes) ||
	    !CU_add_test(s, "multi-valued RDN", test_multi_valued) ||
	    !CU_add_test(s, "UTF-8", test_utf8) ||
	    !CU_add_test(s, "invalid DN strings", test_invalid) ||
	    !CU_add_test(s, "partition DN", test_partition_dn) ||
	    !CU_add_test(s, "default partition base", test_default_partition_base)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
