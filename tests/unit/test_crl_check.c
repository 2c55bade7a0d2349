/* Unit tests for lib/crl_check.c: each rule (a)-(i) alone, passing and failing, then
 * jpki_crl_check() end to end and jpki_crl_meta_from_der(). */
#include "crl_check.h"

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "fixture.h"

static jpki_trust *trust;	/* gen1 anchor */
static jpki_trust *trust12;	/* gen1 anchor + gen2 by NewWithOld */
static jpki_crl_policy pol;

/* The verdict prefixes, spelt out here rather than taken from jpki_rule_label(). */
static const char *prefix_of(jpki_rule r)
{
	switch (r) {
	case JPKI_RULE_FORMAT: return "rule (a) format: ";
	case JPKI_RULE_SIGNATURE: return "rule (b) signature: ";
	case JPKI_RULE_ISSUER: return "rule (c) issuer: ";
	case JPKI_RULE_PARTITION: return "rule (d) partition: ";
	case JPKI_RULE_NUMBER: return "rule (e) crl-number: ";
	case JPKI_RULE_THIS_UPDATE: return "rule (f) this-update: ";
	case JPKI_RULE_VALIDITY: return "rule (g) validity: ";
	case JPKI_RULE_REASONS: return "rule (h) reasons: ";
	case JPKI_RULE_SIZE: return "rule (i) size: ";
	case JPKI_RULE_WRITER: return "rule writer: ";
	case JPKI_RULE_COMPLETE_ONLY: return "rule complete-crl-only: ";
	default: return "?";
	}
}

/* rc/verdict as expected: rule NONE means passed. needle, if any, must be in the text. */
static void expect_at(int line, int rc, const jpki_verdict *v, jpki_rule rule, const char *needle)
{
	const char *pre = prefix_of(rule);
	int ok;

	if (rule == JPKI_RULE_NONE) {
		ok = rc == 0;
		if (!ok)
			fprintf(stderr, "\n  line %d: expected pass, got: %s\n", line, v->text);
		CU_assertImplementation(ok, (unsigned)line, "rule passes", __FILE__, "", CU_FALSE);
		return;
	}
	ok = rc == -1 && v->rule == rule && strncmp(v->text, pre, strlen(pre)) == 0 &&
	     (needle == NULL || strstr(v->text, needle) != NULL);
	if (!ok)
		fprintf(stderr, "\n  line %d: expected %s…%s, got rc %d rule %d: %s\n", line, pre,
			needle ? needle : "", rc, (int)v->rule, v->text);
	CU_assertImplementation(ok, (unsigned)line, "refused by the expected rule", __FILE__, "", CU_FALSE);
}
#define EXPECT(rc, v, rule, needle) expect_at(__LINE__, (rc), (v), (rule), (needle))

static void verdict_reset(jpki_verdict *v)
{
	v->rule = JPKI_RULE_NONE;
	strcpy(v->text, "untouched");
}

static X509_CRL *crl_of(const fx_crl_spec *s)
{
	unsigned char *der;
	size_t len;
	X509_CRL *crl = NULL;

	if (fx_crl_issue(s, &der, &len) == 0)
		crl = fx_crl_parse(der, len);
	OPENSSL_free(der);
	return crl;
}

static X509_CRL *crl_default(void)
{
	fx_crl_spec s;

	fx_crl_spec_default(&s);
	return crl_of(&s);
}

/* Signs the changed CRL with key slot and parses the result again (frees crl). */
static X509_CRL *resign(X509_CRL *crl, int slot)
{
	unsigned char *der;
	size_t len;
	X509_CRL *out = NULL;

	if (fx_crl_finish(crl, fx_key(slot), &der, &len) == 0)
		out = fx_crl_parse(der, len);
	OPENSSL_free(der);
	return out;
}

static X509_CRL *crl_times(time_t tu, time_t nu)
{
	fx_crl_spec s;

	fx_crl_spec_default(&s);
	s.this_update = tu;
	s.next_update = nu;
	return crl_of(&s);
}

static int init_suite(void)
{
	X509 *nwo;
	STACK_OF(X509) *set;
	int rc;

	jpki_crl_policy_default(&pol);
	trust = fx_trust();
	trust12 = fx_trust();
	nwo = fx_link(FX_GEN2, FX_GEN1);
	set = sk_X509_new_null();
	if (trust == NULL || trust12 == NULL || nwo == NULL || set == NULL || !sk_X509_push(set, nwo))
		return -1;
	rc = jpki_trust_extend(trust12, set, NULL);
	sk_X509_pop_free(set, X509_free);
	return rc == 0 && jpki_trust_count(trust12) == 2 && fx_key(FX_ROGUE) != NULL ? 0 : -1;
}

static int clean_suite(void)
{
	jpki_trust_free(trust);
	jpki_trust_free(trust12);
	fx_cleanup();
	return 0;
}

/* ---- basics ---- */

static void test_labels_and_policy(void)
{
	CU_ASSERT_STRING_EQUAL(jpki_rule_label(JPKI_RULE_FORMAT), "(a) format");
	CU_ASSERT_STRING_EQUAL(jpki_rule_label(JPKI_RULE_NUMBER), "(e) crl-number");
	CU_ASSERT_STRING_EQUAL(jpki_rule_label(JPKI_RULE_SIZE), "(i) size");
	CU_ASSERT_STRING_EQUAL(jpki_rule_label((jpki_rule)99), "(unknown)");
	CU_ASSERT_EQUAL(pol.clock_skew, 300);
	CU_ASSERT_EQUAL(pol.max_validity, 72L * 3600);
	CU_ASSERT_EQUAL(pol.max_size, (size_t)64 << 20);
}

/* The exported setter: rule, prefix and text; truncation; NULL verdict. */
static void test_verdict_refuse(void)
{
	char longer[600];
	jpki_verdict v;

	CU_ASSERT_STRING_EQUAL(jpki_rule_label(JPKI_RULE_COMPLETE_ONLY), "complete-crl-only");
	CU_ASSERT_STRING_EQUAL(jpki_rule_label(JPKI_RULE_CA_CERT), "ca-certificate");
	verdict_reset(&v);
	EXPECT(jpki_verdict_refuse(&v, JPKI_RULE_WRITER, "only %s may write", "the publisher"), &v,
		JPKI_RULE_WRITER, NULL);
	CU_ASSERT_STRING_EQUAL(v.text, "rule writer: only the publisher may write");
	verdict_reset(&v);
	EXPECT(jpki_verdict_refuse(&v, JPKI_RULE_COMPLETE_ONLY, "deltaRevocationList is not used"), &v,
		JPKI_RULE_COMPLETE_ONLY, NULL);
	CU_ASSERT_STRING_EQUAL(v.text, "rule complete-crl-only: deltaRevocationList is not used");
	/* longer than the verdict: cut, still terminated, still naming the rule */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	verdict_reset(&v);
	EXPECT(jpki_verdict_refuse(&v, JPKI_RULE_NUMBER, "%s", longer), &v, JPKI_RULE_NUMBER, "xxx");
	CU_ASSERT_EQUAL(strlen(v.text), sizeof(v.text) - 1);
	CU_ASSERT_EQUAL(jpki_verdict_refuse(NULL, JPKI_RULE_NUMBER, "ignored"), -1);
}

static void test_asn1_time(void)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, FX_NOW);
	ASN1_TIME *g = ASN1_TIME_new();
	time_t out = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(jpki_asn1_time_to_time(t, &out), 0);
	CU_ASSERT_EQUAL(out, FX_NOW);
	CU_ASSERT_FATAL(g != NULL && ASN1_GENERALIZEDTIME_set_string(g, "20600101000000Z"));
	CU_ASSERT_EQUAL(jpki_asn1_time_to_time(g, &out), 0);
	CU_ASSERT_EQUAL(out, (time_t)2840140800);
	CU_ASSERT_EQUAL(jpki_asn1_time_to_time(NULL, &out), -1);
	ASN1_TIME_free(t);
	ASN1_TIME_free(g);
}

/* ---- (a) format ---- */

static void test_format_pass(void)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	X509_CRL *crl = (X509_CRL *)1;
	jpki_verdict v;

	fx_crl_spec_default(&s);
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	verdict_reset(&v);
	EXPECT(jpki_check_format(der, len, &crl, &v), &v, JPKI_RULE_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL(crl);
	X509_CRL_free(crl);
	OPENSSL_free(der);
}

static void test_format_garbage(void)
{
	static const unsigned char junk[] = "this is not a CRL at all";
	static const unsigned char seq[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	X509_CRL *crl = (X509_CRL *)1;
	jpki_verdict v;

	verdict_reset(&v);
	EXPECT(jpki_check_format(junk, sizeof(junk) - 1, &crl, &v), &v, JPKI_RULE_FORMAT, "not a DER");
	CU_ASSERT_PTR_NULL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_format(seq, sizeof(seq), &crl, &v), &v, JPKI_RULE_FORMAT, NULL);
	verdict_reset(&v);
	EXPECT(jpki_check_format(junk, 0, &crl, &v), &v, JPKI_RULE_FORMAT, NULL);
	CU_ASSERT_PTR_NULL(crl);
}

static void test_format_trailing(void)
{
	fx_crl_spec s;
	unsigned char *der, *longer;
	size_t len;
	X509_CRL *crl = (X509_CRL *)1;
	jpki_verdict v;

	fx_crl_spec_default(&s);
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	longer = malloc(2 * len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
	memcpy(longer, der, len);
	longer[len] = 0x00;
	verdict_reset(&v);
	EXPECT(jpki_check_format(longer, len + 1, &crl, &v), &v, JPKI_RULE_FORMAT, "1 bytes follow");
	CU_ASSERT_PTR_NULL(crl);
	/* two CRLs in one value */
	memcpy(longer + len, der, len);
	verdict_reset(&v);
	EXPECT(jpki_check_format(longer, 2 * len, &crl, &v), &v, JPKI_RULE_FORMAT, "follow");
	/* and one byte short */
	verdict_reset(&v);
	EXPECT(jpki_check_format(der, len - 1, &crl, &v), &v, JPKI_RULE_FORMAT, NULL);
	free(longer);
	OPENSSL_free(der);
}

static void check_format_of(X509_CRL *crl, jpki_rule rule, const char *needle)
{
	unsigned char *der;
	size_t len;
	X509_CRL *out = NULL;
	jpki_verdict v;

	CU_ASSERT_EQUAL_FATAL(fx_crl_finish(crl, fx_key(FX_GEN1), &der, &len), 0);
	verdict_reset(&v);
	EXPECT(jpki_check_format(der, len, &out, &v), &v, rule, needle);
	X509_CRL_free(out);
	OPENSSL_free(der);
}

static void test_format_v1(void)
{
	X509_CRL *src = crl_default();

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	check_format_of(fx_crl_copy(src, 1, 0, X509_CRL_VERSION_1), JPKI_RULE_FORMAT, "version 2");
	/* the same copy as v2 with the extensions is fine */
	check_format_of(fx_crl_copy(src, 1, 1, X509_CRL_VERSION_2), JPKI_RULE_NONE, NULL);
	X509_CRL_free(src);
}

static void test_format_delta(void)
{
	X509_CRL *crl = crl_default();
	ASN1_INTEGER *base = ASN1_INTEGER_new();

	CU_ASSERT_FATAL(crl != NULL && base != NULL && ASN1_INTEGER_set(base, 9));
	CU_ASSERT_EQUAL_FATAL(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, base, 1, X509V3_ADD_DEFAULT), 1);
	ASN1_INTEGER_free(base);
	check_format_of(crl, JPKI_RULE_FORMAT, "delta");
}

static X509_EXTENSION *private_ext(int critical)
{
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.99999.7", 1);
	ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;

	if (obj != NULL && data != NULL && ASN1_OCTET_STRING_set(data, (const unsigned char *)"\x05\x00", 2))
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, data);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(data);
	return ext;
}

static void test_format_unknown_critical(void)
{
	X509_CRL *crl = crl_default();
	X509_EXTENSION *ext = private_ext(1);

	CU_ASSERT_FATAL(crl != NULL && ext != NULL && X509_CRL_add_ext(crl, ext, -1));
	X509_EXTENSION_free(ext);
	check_format_of(crl, JPKI_RULE_FORMAT, "1.3.6.1.4.1.99999.7");
	/* not critical: ignored */
	crl = crl_default();
	ext = private_ext(0);
	CU_ASSERT_FATAL(crl != NULL && ext != NULL && X509_CRL_add_ext(crl, ext, -1));
	X509_EXTENSION_free(ext);
	check_format_of(crl, JPKI_RULE_NONE, NULL);
}

/* RFC 5280 5.3: a CRL with a critical entry extension the application cannot process MUST NOT
 * be used. */
static X509_CRL *crl_reasons(const int *reasons, size_t n);

static void test_format_unknown_critical_entry_ext(void)
{
	static const int one[] = { 1 };
	X509_CRL *crl = crl_reasons(one, 1);
	X509_EXTENSION *ext = private_ext(1);
	X509_REVOKED *r;

	CU_ASSERT_FATAL(crl != NULL && ext != NULL);
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0);
	CU_ASSERT_FATAL(r != NULL && X509_REVOKED_add_ext(r, ext, -1));
	X509_EXTENSION_free(ext);
	check_format_of(crl, JPKI_RULE_FORMAT, "1.3.6.1.4.1.99999.7");
}

static void test_format_noncritical_entry_ext(void)
{
	static const int one[] = { 1 };
	X509_CRL *crl = crl_reasons(one, 1);
	ASN1_GENERALIZEDTIME *when = ASN1_GENERALIZEDTIME_set(NULL, FX_NOW - 30 * FX_HOUR);
	X509_REVOKED *r;

	CU_ASSERT_FATAL(crl != NULL && when != NULL);
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0);
	CU_ASSERT_FATAL(r != NULL && X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, when, 0, 0) == 1);
	ASN1_GENERALIZEDTIME_free(when);
	check_format_of(crl, JPKI_RULE_NONE, NULL);
}

/* RFC 5280 4.1.2.2: an entry's serial is a positive integer of at most 20 octets. */
static void check_serial(const char *hex, int negative, jpki_rule rule, const char *needle)
{
	static const int one[] = { 1 };
	X509_CRL *crl = crl_reasons(one, 1);
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial;
	X509_REVOKED *r;

	CU_ASSERT_FATAL(crl != NULL && BN_hex2bn(&bn, hex) > 0);
	BN_set_negative(bn, negative);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0);
	CU_ASSERT_FATAL(serial != NULL && r != NULL && X509_REVOKED_set_serialNumber(r, serial));
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	check_format_of(crl, rule, needle);
}

static void test_format_entry_serial(void)
{
	check_serial("77", 1, JPKI_RULE_FORMAT, "entry 1: serial number negative");
	check_serial("0", 0, JPKI_RULE_FORMAT, "entry 1: serial number zero");
	/* 21 octets */
	check_serial("01ABABABABABABABABABABABABABABABABABABABAB", 0, JPKI_RULE_FORMAT, "too long");
	/* 20 octets, and the smallest positive: fine */
	check_serial("7FABABABABABABABABABABABABABABABABABABAB", 0, JPKI_RULE_NONE, NULL);
	check_serial("1", 0, JPKI_RULE_NONE, NULL);
}

/* ---- (b) signature ---- */

static void test_signature_pass(void)
{
	X509_CRL *crl = crl_default();
	const jpki_ca_key *key = NULL;
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_signature(crl, trust, &key, &v), &v, JPKI_RULE_NONE, NULL);
	CU_ASSERT_PTR_EQUAL(key, jpki_trust_key(trust, 0));
	X509_CRL_free(crl);
}

static void test_signature_untrusted(void)
{
	fx_crl_spec s;
	X509_CRL *crl;
	const jpki_ca_key *key = (const jpki_ca_key *)1;
	jpki_verdict v;

	fx_crl_spec_default(&s);
	s.key = fx_key(FX_ROGUE);	/* claims gen1 (AKI, issuer) but signed by another key */
	crl = crl_of(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_signature(crl, trust, &key, &v), &v, JPKI_RULE_SIGNATURE, "1 trusted");
	CU_ASSERT_PTR_NULL(key);
	X509_CRL_free(crl);
}

static void test_signature_tampered(void)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	X509_CRL *crl = NULL;
	const jpki_ca_key *key;
	jpki_verdict v;

	fx_crl_spec_default(&s);
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	der[len - 5] ^= 0x01;	/* inside the signature value */
	verdict_reset(&v);
	EXPECT(jpki_check_format(der, len, &crl, &v), &v, JPKI_RULE_NONE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_signature(crl, trust, &key, &v), &v, JPKI_RULE_SIGNATURE, NULL);
	X509_CRL_free(crl);
	OPENSSL_free(der);
}

/* ---- (c) issuer ---- */

static void test_issuer(void)
{
	fx_crl_spec s;
	X509 *other = fx_cert(fx_other_name(), fx_key(FX_GEN1), fx_other_name(), fx_key(FX_GEN1), 1, 900);
	X509_CRL *crl;
	const jpki_ca_key *key = NULL;
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	crl = crl_default();
	verdict_reset(&v);
	EXPECT(jpki_check_issuer(crl, trust, &v), &v, JPKI_RULE_NONE, NULL);
	X509_CRL_free(crl);

	fx_crl_spec_default(&s);
	s.ca_cert = other;	/* same trusted key, another issuer name */
	crl = crl_of(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_signature(crl, trust, &key, &v), &v, JPKI_RULE_NONE, NULL);
	verdict_reset(&v);
	EXPECT(jpki_check_issuer(crl, trust, &v), &v, JPKI_RULE_ISSUER, "Bridge CA");
	X509_CRL_free(crl);
	X509_free(other);
}

/* ---- (d) partition ---- */

static void check_partition_of(X509_CRL *crl, const char *entry, jpki_crl_kind kind, jpki_rule rule,
	const char *needle)
{
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_partition(crl, entry, kind, &v), &v, rule, needle);
	X509_CRL_free(crl);
}

static X509_CRL *crl_at(const char *dp, jpki_crl_kind kind)
{
	fx_crl_spec s;

	fx_crl_spec_default(&s);
	s.dp_dn = dp;
	s.kind = kind;
	return crl_of(&s);
}

static void test_partition_pass(void)
{
	check_partition_of(crl_default(), FX_PART_DN, JPKI_CRL_PARTITION, JPKI_RULE_NONE, NULL);
	check_partition_of(crl_at(FX_CA_ENTRY_DN, JPKI_CRL_ARL), FX_CA_ENTRY_DN, JPKI_CRL_ARL,
		JPKI_RULE_NONE, NULL);
}

static void test_partition_missing(void)
{
	X509_CRL *crl = crl_default();

	CU_ASSERT_FATAL(crl != NULL && fx_crl_drop_ext(crl, NID_issuing_distribution_point) == 1);
	check_partition_of(resign(crl, FX_GEN1), FX_PART_DN, JPKI_CRL_PARTITION, JPKI_RULE_PARTITION,
		"no issuingDistributionPoint");
}

static void test_partition_not_critical(void)
{
	X509_CRL *crl = crl_default();
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	i = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, i)), 1);
	X509_EXTENSION_set_critical(X509_CRL_get_ext(crl, i), 0);
	check_partition_of(resign(crl, FX_GEN1), FX_PART_DN, JPKI_CRL_PARTITION, JPKI_RULE_PARTITION,
		"not critical");
}

static void test_partition_other_dn(void)
{
	check_partition_of(crl_at(FX_PART_DN2, JPKI_CRL_PARTITION), FX_PART_DN, JPKI_CRL_PARTITION,
		JPKI_RULE_PARTITION, "122025");
	/* the CA entry is not a partition either */
	check_partition_of(crl_default(), FX_CA_ENTRY_DN, JPKI_CRL_PARTITION, JPKI_RULE_PARTITION, NULL);
	/* an entry DN that does not parse never matches */
	check_partition_of(crl_default(), "not a DN", JPKI_CRL_PARTITION, JPKI_RULE_PARTITION, NULL);
}

/* Case and spacing in the values, upper-case attribute types. */
static void test_partition_case_values(void)
{
	check_partition_of(crl_default(),
		"CN=121002, OU=crl  distribution POINTS, OU=CHIBA-KEN,O=jpki,C=jp",
		JPKI_CRL_PARTITION, JPKI_RULE_NONE, NULL);
}

/* The entry DN as slapd hands it over, with lower-case attribute types. */
static void test_partition_case_types(void)
{
	check_partition_of(crl_default(),
		"CN=121002, OU=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP",
		JPKI_CRL_PARTITION, JPKI_RULE_NONE, NULL);
	check_partition_of(crl_default(),
		"cn=121002,ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP",
		JPKI_CRL_PARTITION, JPKI_RULE_NONE, NULL);
}

static void test_partition_only_ca_in_partition(void)
{
	check_partition_of(crl_at(FX_PART_DN, JPKI_CRL_ARL), FX_PART_DN, JPKI_CRL_PARTITION,
		JPKI_RULE_PARTITION, "onlyContainsUserCerts");
}

static void test_partition_arl_without_only_ca(void)
{
	check_partition_of(crl_at(FX_CA_ENTRY_DN, JPKI_CRL_PARTITION), FX_CA_ENTRY_DN, JPKI_CRL_ARL,
		JPKI_RULE_PARTITION, "onlyContainsCACerts");
}

/* Replaces the IDP with one holding the given general names (onlyContainsUserCerts). */
static X509_CRL *crl_with_idp_names(GENERAL_NAME *a, GENERAL_NAME *b)
{
	X509_CRL *crl = crl_default();
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	int ok;

	if (crl == NULL || idp == NULL || (idp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (idp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL) {
		ISSUING_DIST_POINT_free(idp);
		X509_CRL_free(crl);
		GENERAL_NAME_free(a);
		GENERAL_NAME_free(b);
		return NULL;
	}
	idp->distpoint->type = 0;
	sk_GENERAL_NAME_push(idp->distpoint->name.fullname, a);
	if (b != NULL)
		sk_GENERAL_NAME_push(idp->distpoint->name.fullname, b);
	idp->onlyuser = 0xff;
	ok = X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, X509V3_ADD_REPLACE) == 1;
	ISSUING_DIST_POINT_free(idp);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return resign(crl, FX_GEN1);
}

static GENERAL_NAME *dirname(const char *cn)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *n = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", "OU", "CRL Distribution Points",
		"CN", cn, NULL);

	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, n);
	return gn;
}

static GENERAL_NAME *uri(const char *text)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, text, -1);
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

static void test_partition_two_dirnames(void)
{
	/* sanity: the hand-built IDP with one directoryName passes */
	check_partition_of(crl_with_idp_names(dirname("121002"), NULL), FX_PART_DN, JPKI_CRL_PARTITION,
		JPKI_RULE_NONE, NULL);
	check_partition_of(crl_with_idp_names(dirname("121002"), dirname("122025")), FX_PART_DN,
		JPKI_CRL_PARTITION, JPKI_RULE_PARTITION, "2 directory names");
	check_partition_of(crl_with_idp_names(dirname("121002"), dirname("121002")), FX_PART_DN,
		JPKI_CRL_PARTITION, JPKI_RULE_PARTITION, "2 directory names");
	/* a URI only: no directory name */
	check_partition_of(crl_with_idp_names(uri("ldap:///cn=121002"), NULL), FX_PART_DN,
		JPKI_CRL_PARTITION, JPKI_RULE_PARTITION, "0 directory names");
	/* a URI beside the directory name is fine */
	check_partition_of(crl_with_idp_names(dirname("121002"), uri("ldap:///cn=121002")), FX_PART_DN,
		JPKI_CRL_PARTITION, JPKI_RULE_NONE, NULL);
}

/* ---- the IDP reader used by `jpki crl publish` ---- */

/* jpki_crl_idp_name(crl) is the name of CN=cn under the fixture's partitions (cn NULL: the
 * reader must refuse, its error containing needle). Frees crl. */
static void check_idp_name_of(X509_CRL *crl, const char *cn, const char *needle)
{
	X509_NAME *got, *want = NULL;
	jpki_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	strcpy(err.text, "untouched");
	got = jpki_crl_idp_name(crl, &err);
	if (cn == NULL) {
		CU_ASSERT_PTR_NULL(got);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.text, needle));
		if (strstr(err.text, needle) == NULL)
			fprintf(stderr, "\n  expected \"%s\" in: %s\n", needle, err.text);
	} else {
		want = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", "OU", "CRL Distribution Points",
			"CN", cn, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(want);
		CU_ASSERT_PTR_NOT_NULL(got);
		CU_ASSERT(got != NULL && X509_NAME_cmp(got, want) == 0);
	}
	X509_NAME_free(got);
	X509_NAME_free(want);
	X509_CRL_free(crl);
}

static void test_idp_name(void)
{
	X509_CRL *crl;
	ISSUING_DIST_POINT *idp;
	int ok;

	check_idp_name_of(crl_default(), "121002", NULL);
	check_idp_name_of(crl_with_idp_names(dirname("122025"), NULL), "122025", NULL);
	/* a URI beside the one directory name does not count */
	check_idp_name_of(crl_with_idp_names(uri("ldap:///cn=121002"), dirname("121002")), "121002", NULL);
	/* exactly one directoryName: not the first of two, not none */
	check_idp_name_of(crl_with_idp_names(dirname("121002"), dirname("122025")), NULL,
		"2 directory names; exactly one");
	check_idp_name_of(crl_with_idp_names(dirname("121002"), dirname("121002")), NULL,
		"2 directory names; exactly one");
	check_idp_name_of(crl_with_idp_names(uri("ldap:///cn=121002"), NULL), NULL, "0 directory names");
	/* no IDP at all */
	crl = crl_default();
	CU_ASSERT_FATAL(crl != NULL && fx_crl_drop_ext(crl, NID_issuing_distribution_point) == 1);
	check_idp_name_of(resign(crl, FX_GEN1), NULL, "no issuingDistributionPoint");
	/* an IDP without a distributionPoint */
	crl = crl_default();
	idp = ISSUING_DIST_POINT_new();
	CU_ASSERT_FATAL(crl != NULL && idp != NULL);
	idp->onlyuser = 0xff;
	ok = X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, X509V3_ADD_REPLACE) == 1;
	ISSUING_DIST_POINT_free(idp);
	CU_ASSERT_FATAL(ok);
	check_idp_name_of(resign(crl, FX_GEN1), NULL, "0 directory names");
}

/* ---- (e) cRLNumber ---- */

static void meta_set(jpki_crl_meta *m, int slot, long number, time_t tu)
{
	memset(m, 0, sizeof(*m));
	fx_key_id(fx_key(slot), m->key_id);
	m->number = ASN1_INTEGER_new();
	ASN1_INTEGER_set(m->number, number);
	m->this_update = tu;
	m->next_update = tu + 72 * FX_HOUR;
}

static void test_number_missing(void)
{
	X509_CRL *crl = crl_default();
	jpki_verdict v;

	CU_ASSERT_FATAL(crl != NULL && fx_crl_drop_ext(crl, NID_crl_number) == 1);
	crl = resign(crl, FX_GEN1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_number(crl, NULL, &v), &v, JPKI_RULE_NUMBER, "no cRLNumber");
	X509_CRL_free(crl);
}

static void test_number_compare(void)
{
	X509_CRL *crl = crl_default();	/* number 10 */
	jpki_crl_meta m;
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_number(crl, NULL, &v), &v, JPKI_RULE_NONE, NULL);	/* first CRL */
	meta_set(&m, FX_GEN1, 11, FX_NOW - 2 * FX_HOUR);
	verdict_reset(&v);
	EXPECT(jpki_check_number(crl, &m, &v), &v, JPKI_RULE_NUMBER, "10 is not greater than the stored 11");
	jpki_crl_meta_clear(&m);
	meta_set(&m, FX_GEN1, 10, FX_NOW - 2 * FX_HOUR);
	verdict_reset(&v);
	EXPECT(jpki_check_number(crl, &m, &v), &v, JPKI_RULE_NUMBER, "stored 10");
	jpki_crl_meta_clear(&m);
	meta_set(&m, FX_GEN1, 9, FX_NOW - 2 * FX_HOUR);
	verdict_reset(&v);
	EXPECT(jpki_check_number(crl, &m, &v), &v, JPKI_RULE_NONE, NULL);
	jpki_crl_meta_clear(&m);
	CU_ASSERT_PTR_NULL(m.number);
	X509_CRL_free(crl);
}

static void test_number_big(void)
{
	/* 20-octet cRLNumbers compare as integers, not as longs */
	X509_CRL *crl = crl_default();	/* number 10 */
	jpki_crl_meta m;
	BIGNUM *bn = NULL;
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	meta_set(&m, FX_GEN1, 1, FX_NOW);
	CU_ASSERT_FATAL(BN_hex2bn(&bn, "0100000000000000000000000000000000000000") > 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(BN_to_ASN1_INTEGER(bn, m.number));
	BN_free(bn);
	verdict_reset(&v);
	EXPECT(jpki_check_number(crl, &m, &v), &v, JPKI_RULE_NUMBER, NULL);
	jpki_crl_meta_clear(&m);
	X509_CRL_free(crl);
}

static void test_number_other_key(void)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	jpki_crl_meta stored[2], out;
	jpki_verdict v;

	fx_crl_spec_default(&s);	/* gen1, number 10 */
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	/* the stored CRL of the gen2 key has a higher number and a later thisUpdate */
	meta_set(&stored[0], FX_GEN2, 100, FX_NOW);
	verdict_reset(&v);
	EXPECT(jpki_crl_check(der, len, FX_PART_DN, JPKI_CRL_PARTITION, trust12, stored, 1, FX_NOW, &pol,
		&out, NULL, &v), &v, JPKI_RULE_NONE, NULL);
	jpki_crl_meta_clear(&out);
	/* with gen1's own stored meta beside it, gen1's is the one compared */
	meta_set(&stored[1], FX_GEN1, 10, FX_NOW - 2 * FX_HOUR);
	verdict_reset(&v);
	EXPECT(jpki_crl_check(der, len, FX_PART_DN, JPKI_CRL_PARTITION, trust12, stored, 2, FX_NOW, &pol,
		NULL, NULL, &v), &v, JPKI_RULE_NUMBER, NULL);
	jpki_crl_meta_clear(&stored[0]);
	jpki_crl_meta_clear(&stored[1]);
	OPENSSL_free(der);
}

/* Rule (e) across the set an entry would hold: one CRL per CA key. */
static void test_one_per_key(void)
{
	jpki_crl_meta m[3];
	unsigned char id1[20];
	char hex1[41];
	jpki_verdict v;
	int i;

	meta_set(&m[0], FX_GEN1, 10, FX_NOW - FX_HOUR);
	meta_set(&m[1], FX_GEN2, 3, FX_NOW - FX_HOUR);
	meta_set(&m[2], FX_GEN1, 11, FX_NOW);
	fx_key_id(fx_key(FX_GEN1), id1);
	for (i = 0; i < 20; i++)
		sprintf(hex1 + 2 * i, "%02X", id1[i]);
	/* none, one, and one per generation pass */
	verdict_reset(&v);
	EXPECT(jpki_check_one_per_key(m, 0, &v), &v, JPKI_RULE_NONE, NULL);
	EXPECT(jpki_check_one_per_key(m, 1, &v), &v, JPKI_RULE_NONE, NULL);
	EXPECT(jpki_check_one_per_key(m, 2, &v), &v, JPKI_RULE_NONE, NULL);
	EXPECT(jpki_check_one_per_key(m + 1, 2, &v), &v, JPKI_RULE_NONE, NULL);
	CU_ASSERT_STRING_EQUAL(v.text, "untouched");
	/* two of gen1 for the one partition, whatever lies between them */
	verdict_reset(&v);
	EXPECT(jpki_check_one_per_key(m, 3, &v), &v, JPKI_RULE_NUMBER, "two CRLs signed by one CA key");
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, hex1));
	/* the same key twice next to each other */
	jpki_crl_meta_clear(&m[1]);
	meta_set(&m[1], FX_GEN1, 12, FX_NOW);
	verdict_reset(&v);
	EXPECT(jpki_check_one_per_key(m, 2, &v), &v, JPKI_RULE_NUMBER, "replace the old one");
	for (i = 0; i < 3; i++)
		jpki_crl_meta_clear(&m[i]);
}

/* ---- (f) thisUpdate ---- */

static void test_this_update_future(void)
{
	X509_CRL *crl;
	jpki_verdict v;

	crl = crl_times(FX_NOW + 301, FX_NOW + 301 + 72 * FX_HOUR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_this_update(crl, NULL, FX_NOW, &pol, &v), &v, JPKI_RULE_THIS_UPDATE, "future");
	X509_CRL_free(crl);
	crl = crl_times(FX_NOW + 300, FX_NOW + 300 + 72 * FX_HOUR);	/* exactly the skew */
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_this_update(crl, NULL, FX_NOW, &pol, &v), &v, JPKI_RULE_NONE, NULL);
	X509_CRL_free(crl);
	crl = crl_times(FX_NOW + 10, FX_NOW + 10 + 72 * FX_HOUR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_this_update(crl, NULL, FX_NOW, &pol, &v), &v, JPKI_RULE_NONE, NULL);
	X509_CRL_free(crl);
}

static void test_this_update_stored(void)
{
	X509_CRL *crl = crl_default();	/* thisUpdate now-1h */
	jpki_crl_meta m;
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	meta_set(&m, FX_GEN1, 9, FX_NOW - FX_HOUR + 1);
	verdict_reset(&v);
	EXPECT(jpki_check_this_update(crl, &m, FX_NOW, &pol, &v), &v, JPKI_RULE_THIS_UPDATE, "older");
	m.this_update = FX_NOW - FX_HOUR;
	verdict_reset(&v);
	EXPECT(jpki_check_this_update(crl, &m, FX_NOW, &pol, &v), &v, JPKI_RULE_NONE, NULL);
	m.this_update = FX_NOW - 25 * FX_HOUR;
	verdict_reset(&v);
	EXPECT(jpki_check_this_update(crl, &m, FX_NOW, &pol, &v), &v, JPKI_RULE_NONE, NULL);
	jpki_crl_meta_clear(&m);
	X509_CRL_free(crl);
}

static void test_this_update_equal_whole(void)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	jpki_crl_meta m;
	jpki_verdict v;

	fx_crl_spec_default(&s);	/* number 10, thisUpdate now-1h */
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	meta_set(&m, FX_GEN1, 9, s.this_update);
	verdict_reset(&v);
	EXPECT(jpki_crl_check(der, len, FX_PART_DN, JPKI_CRL_PARTITION, trust, &m, 1, FX_NOW, &pol, NULL,
		NULL, &v), &v, JPKI_RULE_NONE, NULL);
	jpki_crl_meta_clear(&m);
	OPENSSL_free(der);
}

/* ---- (g) validity ---- */

static void check_validity_times(time_t tu, time_t nu, jpki_rule rule, const char *needle)
{
	X509_CRL *crl = crl_times(tu, nu);
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_validity(crl, FX_NOW, &pol, &v), &v, rule, needle);
	X509_CRL_free(crl);
}

static void test_validity_no_next_update(void)
{
	X509_CRL *src = crl_default(), *crl;
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	crl = resign(fx_crl_copy(src, 0, 1, X509_CRL_VERSION_2), FX_GEN1);
	X509_CRL_free(src);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	CU_ASSERT_PTR_NULL(X509_CRL_get0_nextUpdate(crl));
	verdict_reset(&v);
	EXPECT(jpki_check_validity(crl, FX_NOW, &pol, &v), &v, JPKI_RULE_VALIDITY, "no nextUpdate");
	X509_CRL_free(crl);
}

static void test_validity_order(void)
{
	check_validity_times(FX_NOW - FX_HOUR, FX_NOW - FX_HOUR, JPKI_RULE_VALIDITY, "not after");
	check_validity_times(FX_NOW - FX_HOUR, FX_NOW - 2 * FX_HOUR, JPKI_RULE_VALIDITY, "not after");
}

static void test_validity_too_long(void)
{
	check_validity_times(FX_NOW - FX_HOUR, FX_NOW - FX_HOUR + 72 * FX_HOUR + 1, JPKI_RULE_VALIDITY,
		"maximum");
	check_validity_times(FX_NOW - FX_HOUR, FX_NOW - FX_HOUR + 72 * FX_HOUR, JPKI_RULE_NONE, NULL);
	check_validity_times(FX_NOW - FX_HOUR, FX_NOW + 24 * FX_HOUR, JPKI_RULE_NONE, NULL);
}

static void test_validity_expired(void)
{
	check_validity_times(FX_NOW - 72 * FX_HOUR, FX_NOW, JPKI_RULE_VALIDITY, "expired");
	check_validity_times(FX_NOW - 48 * FX_HOUR, FX_NOW - 1, JPKI_RULE_VALIDITY, "expired");
	check_validity_times(FX_NOW - 72 * FX_HOUR + 1, FX_NOW + 1, JPKI_RULE_NONE, NULL);
}

/* ---- (h) reasons ---- */

static X509_CRL *crl_reasons(const int *reasons, size_t n)
{
	jpki_revocation revs[8];
	char hex[8];
	fx_crl_spec s;
	X509_CRL *crl;

	for (size_t i = 0; i < n && i < 8; i++) {
		snprintf(hex, sizeof(hex), "%zX", 0x1000 + i);
		fx_rev(&revs[i], hex, FX_NOW - 5 * FX_HOUR, reasons[i], "121002");
	}
	fx_crl_spec_default(&s);
	s.revs = revs;
	s.n = n;
	crl = crl_of(&s);
	fx_revs_free(revs, n);
	return crl;
}

static void check_reasons_of(X509_CRL *crl, jpki_rule rule, const char *needle)
{
	jpki_verdict v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	verdict_reset(&v);
	EXPECT(jpki_check_reasons(crl, &v), &v, rule, needle);
	X509_CRL_free(crl);
}

static void test_reasons_refused(void)
{
	static const int hold[] = { 6 }, remove[] = { 8 }, unspecified[] = { 0 }, unused[] = { 7 },
		aa[] = { 10 }, late[] = { 1, 4, 6 };

	check_reasons_of(crl_reasons(hold, 1), JPKI_RULE_REASONS, "reason 6");
	check_reasons_of(crl_reasons(remove, 1), JPKI_RULE_REASONS, "reason 8");
	check_reasons_of(crl_reasons(unspecified, 1), JPKI_RULE_REASONS, "reason 0");
	check_reasons_of(crl_reasons(unused, 1), JPKI_RULE_REASONS, "reason 7");
	check_reasons_of(crl_reasons(aa, 1), JPKI_RULE_REASONS, "reason 10");
	check_reasons_of(crl_reasons(late, 3), JPKI_RULE_REASONS, "entry 3");
}

static void test_reasons_missing(void)
{
	static const int one[] = { 1 };
	X509_CRL *crl = crl_reasons(one, 1);
	X509_REVOKED *r;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0);
	i = X509_REVOKED_get_ext_by_NID(r, NID_crl_reason, -1);
	CU_ASSERT_FATAL(i >= 0);
	X509_EXTENSION_free(X509_REVOKED_delete_ext(r, i));
	check_reasons_of(resign(crl, FX_GEN1), JPKI_RULE_REASONS, "no reasonCode");
}

static void test_reasons_allowed(void)
{
	static const int all[] = { 1, 2, 3, 4, 5 };

	check_reasons_of(crl_reasons(all, 5), JPKI_RULE_NONE, NULL);
	check_reasons_of(crl_default(), JPKI_RULE_NONE, NULL);	/* no entries */
}

/* ---- (i) size ---- */

static void test_size(void)
{
	jpki_crl_policy p = pol;
	jpki_verdict v;

	p.max_size = 100;
	verdict_reset(&v);
	EXPECT(jpki_check_size(101, &p, &v), &v, JPKI_RULE_SIZE, "101 bytes");
	verdict_reset(&v);
	EXPECT(jpki_check_size(100, &p, &v), &v, JPKI_RULE_NONE, NULL);
	verdict_reset(&v);
	EXPECT(jpki_check_size((size_t)64 << 20, &pol, &v), &v, JPKI_RULE_NONE, NULL);
	verdict_reset(&v);
	EXPECT(jpki_check_size(((size_t)64 << 20) + 1, &pol, &v), &v, JPKI_RULE_SIZE, NULL);
}

/* ---- jpki_crl_check ---- */

static int whole(const fx_crl_spec *s, const char *entry, jpki_crl_kind kind, const jpki_crl_meta *st,
	size_t nst, const jpki_crl_policy *p, jpki_verdict *v)
{
	unsigned char *der;
	size_t len;
	int rc;

	verdict_reset(v);
	if (fx_crl_issue(s, &der, &len) < 0) {
		strcpy(v->text, "fixture could not issue");
		return -2;
	}
	rc = jpki_crl_check(der, len, entry, kind, trust, st, nst, FX_NOW, p, NULL, NULL, v);
	OPENSSL_free(der);
	return rc;
}

static void test_whole_pass(void)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	jpki_crl_meta out;
	X509_CRL *crl = NULL;
	unsigned char id[20];
	jpki_verdict v;

	fx_crl_spec_default(&s);
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	verdict_reset(&v);
	EXPECT(jpki_crl_check(der, len, FX_PART_DN, JPKI_CRL_PARTITION, trust, NULL, 0, FX_NOW, &pol, &out,
		&crl, &v), &v, JPKI_RULE_NONE, NULL);
	CU_ASSERT_EQUAL(v.rule, JPKI_RULE_NONE);
	CU_ASSERT_STRING_EQUAL(v.text, "");
	CU_ASSERT_PTR_NOT_NULL(crl);
	fx_key_id(fx_key(FX_GEN1), id);
	CU_ASSERT_EQUAL(memcmp(out.key_id, id, 20), 0);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(out.number), 10);
	CU_ASSERT_EQUAL(out.this_update, s.this_update);
	CU_ASSERT_EQUAL(out.next_update, s.next_update);
	jpki_crl_meta_clear(&out);
	X509_CRL_free(crl);
	/* also without out and crl_out */
	verdict_reset(&v);
	EXPECT(jpki_crl_check(der, len, FX_PART_DN, JPKI_CRL_PARTITION, trust, NULL, 0, FX_NOW, &pol, NULL,
		NULL, &v), &v, JPKI_RULE_NONE, NULL);
	OPENSSL_free(der);
}

static void test_whole_gen2(void)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	jpki_crl_meta out;
	unsigned char id[20];
	jpki_verdict v;

	fx_crl_spec_default(&s);
	s.ca_cert = fx_ca_cert(FX_GEN2);
	s.key = fx_key(FX_GEN2);
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	verdict_reset(&v);
	EXPECT(jpki_crl_check(der, len, FX_PART_DN, JPKI_CRL_PARTITION, trust, NULL, 0, FX_NOW, &pol, NULL,
		NULL, &v), &v, JPKI_RULE_SIGNATURE, NULL);
	verdict_reset(&v);
	EXPECT(jpki_crl_check(der, len, FX_PART_DN, JPKI_CRL_PARTITION, trust12, NULL, 0, FX_NOW, &pol, &out,
		NULL, &v), &v, JPKI_RULE_NONE, NULL);
	fx_key_id(fx_key(FX_GEN2), id);
	CU_ASSERT_EQUAL(memcmp(out.key_id, id, 20), 0);
	jpki_crl_meta_clear(&out);
	OPENSSL_free(der);
}

static void test_whole_order(void)
{
	jpki_revocation rev;
	fx_crl_spec s;
	jpki_crl_policy p = pol;
	jpki_crl_meta m;
	X509 *other = fx_cert(fx_other_name(), fx_key(FX_GEN1), fx_other_name(), fx_key(FX_GEN1), 1, 901);
	X509 *rogue = fx_cert(fx_other_name(), fx_key(FX_ROGUE), fx_other_name(), fx_key(FX_ROGUE), 1, 902);
	static const unsigned char junk[] = "garbage, and too much of it";
	jpki_verdict v;

	CU_ASSERT_FATAL(other != NULL && rogue != NULL);
	/* (i) before (a) */
	p.max_size = 4;
	verdict_reset(&v);
	EXPECT(jpki_crl_check(junk, sizeof(junk) - 1, FX_PART_DN, JPKI_CRL_PARTITION, trust, NULL, 0, FX_NOW,
		&p, NULL, NULL, &v), &v, JPKI_RULE_SIZE, NULL);
	verdict_reset(&v);
	EXPECT(jpki_crl_check(junk, sizeof(junk) - 1, FX_PART_DN, JPKI_CRL_PARTITION, trust, NULL, 0, FX_NOW,
		&pol, NULL, NULL, &v), &v, JPKI_RULE_FORMAT, NULL);
	/* (b) before (c) and (d): untrusted key, another issuer, another partition */
	fx_crl_spec_default(&s);
	s.ca_cert = rogue;
	s.key = fx_key(FX_ROGUE);
	s.dp_dn = FX_PART_DN2;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, NULL, 0, &pol, &v), &v, JPKI_RULE_SIGNATURE, NULL);
	/* (c) before (d) */
	fx_crl_spec_default(&s);
	s.ca_cert = other;
	s.dp_dn = FX_PART_DN2;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, NULL, 0, &pol, &v), &v, JPKI_RULE_ISSUER, NULL);
	/* (d) before (h) */
	fx_rev(&rev, "1A2B", FX_NOW - 5 * FX_HOUR, 6, "121002");
	fx_crl_spec_default(&s);
	s.dp_dn = FX_PART_DN2;
	s.revs = &rev;
	s.n = 1;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, NULL, 0, &pol, &v), &v, JPKI_RULE_PARTITION, NULL);
	/* (h) before (g) */
	s.dp_dn = FX_PART_DN;
	s.next_update = s.this_update + 100 * FX_HOUR;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, NULL, 0, &pol, &v), &v, JPKI_RULE_REASONS, NULL);
	fx_revs_free(&rev, 1);
	/* (g) before (e): too long and number not greater */
	meta_set(&m, FX_GEN1, 10, FX_NOW - 2 * FX_HOUR);
	s.revs = NULL;
	s.n = 0;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, &m, 1, &pol, &v), &v, JPKI_RULE_VALIDITY, NULL);
	/* (e) before (f): number not greater and thisUpdate older */
	fx_crl_spec_default(&s);
	m.this_update = FX_NOW;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, &m, 1, &pol, &v), &v, JPKI_RULE_NUMBER, NULL);
	/* (f) last */
	s.number = 11;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, &m, 1, &pol, &v), &v, JPKI_RULE_THIS_UPDATE, NULL);
	/* and all good */
	m.this_update = FX_NOW - 2 * FX_HOUR;
	EXPECT(whole(&s, FX_PART_DN, JPKI_CRL_PARTITION, &m, 1, &pol, &v), &v, JPKI_RULE_NONE, NULL);
	/* the ARL */
	s.dp_dn = FX_CA_ENTRY_DN;
	s.kind = JPKI_CRL_ARL;
	EXPECT(whole(&s, FX_CA_ENTRY_DN, JPKI_CRL_ARL, NULL, 0, &pol, &v), &v, JPKI_RULE_NONE, NULL);
	EXPECT(whole(&s, FX_CA_ENTRY_DN, JPKI_CRL_PARTITION, NULL, 0, &pol, &v), &v, JPKI_RULE_PARTITION,
		NULL);
	jpki_crl_meta_clear(&m);
	X509_free(other);
	X509_free(rogue);
}

/* ---- jpki_crl_meta_from_der ---- */

static void test_meta_from_der(void)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	jpki_crl_meta m;
	unsigned char id1[20], id2[20];
	X509_CRL *crl;
	X509 *rogue = fx_cert(fx_ca_name(), fx_key(FX_ROGUE), fx_ca_name(), fx_key(FX_ROGUE), 1, 903);
	static const unsigned char junk[] = { 0x30, 0x00 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(rogue);
	fx_key_id(fx_key(FX_GEN1), id1);
	fx_key_id(fx_key(FX_GEN2), id2);
	fx_crl_spec_default(&s);
	s.number = 42;
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	CU_ASSERT_EQUAL(jpki_crl_meta_from_der(der, len, trust, &m), 0);
	CU_ASSERT_EQUAL(memcmp(m.key_id, id1, 20), 0);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(m.number), 42);
	CU_ASSERT_EQUAL(m.this_update, s.this_update);
	CU_ASSERT_EQUAL(m.next_update, s.next_update);
	jpki_crl_meta_clear(&m);
	OPENSSL_free(der);

	/* without AKI: found by signature, gen2 */
	s.ca_cert = fx_ca_cert(FX_GEN2);
	s.key = fx_key(FX_GEN2);
	crl = crl_of(&s);
	CU_ASSERT_FATAL(crl != NULL && fx_crl_drop_ext(crl, NID_authority_key_identifier) == 1);
	CU_ASSERT_EQUAL_FATAL(fx_crl_finish(crl, fx_key(FX_GEN2), &der, &len), 0);
	CU_ASSERT_EQUAL(jpki_crl_meta_from_der(der, len, trust12, &m), 0);
	CU_ASSERT_EQUAL(memcmp(m.key_id, id2, 20), 0);
	jpki_crl_meta_clear(&m);
	CU_ASSERT_EQUAL(jpki_crl_meta_from_der(der, len, trust, &m), -1);	/* gen2 not trusted */
	OPENSSL_free(der);

	/* signed by a key nobody trusts */
	s.ca_cert = rogue;
	s.key = fx_key(FX_ROGUE);
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(&s, &der, &len), 0);
	CU_ASSERT_EQUAL(jpki_crl_meta_from_der(der, len, trust12, &m), -1);
	OPENSSL_free(der);

	/* not a CRL */
	CU_ASSERT_EQUAL(jpki_crl_meta_from_der(junk, sizeof(junk), trust, &m), -1);
	X509_free(rogue);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("crl_check", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "labels and default policy", test_labels_and_policy) ||
	    !CU_add_test(s, "verdict setter", test_verdict_refuse) ||
	    !CU_add_test(s, "ASN1_TIME to time_t", test_asn1_time) ||
	    !CU_add_test(s, "(a) valid CRL passes", test_format_pass) ||
	    !CU_add_test(s, "(a) garbage", test_format_garbage) ||
	    !CU_add_test(s, "(a) trailing bytes", test_format_trailing) ||
	    !CU_add_test(s, "(a) v1 CRL", test_format_v1) ||
	    !CU_add_test(s, "(a) delta CRL", test_format_delta) ||
	    !CU_add_test(s, "(a) unknown critical extension", test_format_unknown_critical) ||
	    !CU_add_test(s, "(a) unknown critical entry extension", test_format_unknown_critical_entry_ext) ||
	    !CU_add_test(s, "(a) entry serial numbers", test_format_entry_serial) ||
	    !CU_add_test(s, "(a) non-critical entry extension", test_format_noncritical_entry_ext) ||
	    !CU_add_test(s, "(b) trusted key passes", test_signature_pass) ||
	    !CU_add_test(s, "(b) untrusted key", test_signature_untrusted) ||
	    !CU_add_test(s, "(b) tampered signature", test_signature_tampered) ||
	    !CU_add_test(s, "(c) issuer", test_issuer) ||
	    !CU_add_test(s, "(d) partition and ARL pass", test_partition_pass) ||
	    !CU_add_test(s, "(d) IDP missing", test_partition_missing) ||
	    !CU_add_test(s, "(d) IDP not critical", test_partition_not_critical) ||
	    !CU_add_test(s, "(d) IDP names another DN", test_partition_other_dn) ||
	    !CU_add_test(s, "(d) case and spacing in values", test_partition_case_values) ||
	    !CU_add_test(s, "(d) lower-case attribute types", test_partition_case_types) ||
	    !CU_add_test(s, "(d) partition CRL with onlyContainsCACerts", test_partition_only_ca_in_partition) ||
	    !CU_add_test(s, "(d) ARL without onlyContainsCACerts", test_partition_arl_without_only_ca) ||
	    !CU_add_test(s, "(d) two directoryNames", test_partition_two_dirnames) ||
	    !CU_add_test(s, "IDP reader: exactly one directoryName", test_idp_name) ||
	    !CU_add_test(s, "(e) cRLNumber missing", test_number_missing) ||
	    !CU_add_test(s, "(e) lower, equal, greater", test_number_compare) ||
	    !CU_add_test(s, "(e) 20-octet stored number", test_number_big) ||
	    !CU_add_test(s, "(e) stored meta of another key", test_number_other_key) ||
	    !CU_add_test(s, "(e) one CRL per CA key in an entry", test_one_per_key) ||
	    !CU_add_test(s, "(f) future beyond/within skew", test_this_update_future) ||
	    !CU_add_test(s, "(f) older than stored", test_this_update_stored) ||
	    !CU_add_test(s, "(f) equal thisUpdate, greater number", test_this_update_equal_whole) ||
	    !CU_add_test(s, "(g) no nextUpdate", test_validity_no_next_update) ||
	    !CU_add_test(s, "(g) nextUpdate <= thisUpdate", test_validity_order) ||
	    !CU_add_test(s, "(g) longer than max", test_validity_too_long) ||
	    !CU_add_test(s, "(g) expired", test_validity_expired) ||
	    !CU_add_test(s, "(h) reasons 0, 6, 7, 8, 10 refused", test_reasons_refused) ||
	    !CU_add_test(s, "(h) no reasonCode refused", test_reasons_missing) ||
	    !CU_add_test(s, "(h) reasons 1-5 accepted", test_reasons_allowed) ||
	    !CU_add_test(s, "(i) size cap", test_size) ||
	    !CU_add_test(s, "crl_check passes and fills meta", test_whole_pass) ||
	    !CU_add_test(s, "crl_check with a gen2 CRL", test_whole_gen2) ||
	    !CU_add_test(s, "crl_check rule order", test_whole_order) ||
	    !CU_add_test(s, "crl_meta_from_der", test_meta_from_der)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
