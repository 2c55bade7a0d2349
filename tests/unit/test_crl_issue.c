/* Unit tests for lib/crl_issue.c: the profile jpki_crl_build() produces, read back with
 * OpenSSL, and that it passes jpki_crl_check(). */
#include "crl_issue.h"

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "dn.h"
#include "fixture.h"

static jpki_trust *trust;

static int init_suite(void)
{
	trust = fx_trust();
	return trust != NULL ? 0 : -1;
}

static int clean_suite(void)
{
	jpki_trust_free(trust);
	fx_cleanup();
	return 0;
}

/* Unsorted revocations over two municipalities. */
#define NREVS 5
static void make_revs(jpki_revocation *r)
{
	fx_rev(&r[0], "30", FX_NOW - 10 * FX_HOUR, 1, "121002");
	fx_rev(&r[1], "05", FX_NOW - 20 * FX_HOUR, 4, "122025");
	fx_rev(&r[2], "1A2B", FX_NOW - 30 * FX_HOUR, 5, "121002");
	fx_rev(&r[3], "0100", FX_NOW - 40 * FX_HOUR, 3, "121002");
	fx_rev(&r[4], "7F", FX_NOW - 50 * FX_HOUR, 2, "122025");
	for (int i = 0; i < NREVS; i++)
		r[i].line = (unsigned)i + 1;
}

static X509_CRL *build(const fx_crl_spec *s)
{
	unsigned char *der;
	size_t len;
	X509_CRL *crl = NULL;

	if (fx_crl_issue(s, &der, &len) == 0)
		crl = fx_crl_parse(der, len);
	OPENSSL_free(der);
	return crl;
}

static void test_header(void)
{
	fx_crl_spec s;
	X509_CRL *crl;
	time_t t;

	fx_crl_spec_default(&s);
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	CU_ASSERT_EQUAL(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	CU_ASSERT_EQUAL(X509_NAME_cmp(X509_CRL_get_issuer(crl), fx_ca_name()), 0);
	CU_ASSERT_EQUAL(jpki_asn1_time_to_time(X509_CRL_get0_lastUpdate(crl), &t), 0);
	CU_ASSERT_EQUAL(t, s.this_update);
	CU_ASSERT_EQUAL(jpki_asn1_time_to_time(X509_CRL_get0_nextUpdate(crl), &t), 0);
	CU_ASSERT_EQUAL(t, s.next_update);
	CU_ASSERT_EQUAL(X509_CRL_verify(crl, fx_key(FX_GEN1)), 1);
	CU_ASSERT_EQUAL(X509_CRL_get_signature_nid(crl), NID_sha256WithRSAEncryption);
	X509_CRL_free(crl);
}

static void test_aki(void)
{
	fx_crl_spec s;
	X509_CRL *crl;
	AUTHORITY_KEYID *aki;
	unsigned char id[20];
	int crit = -1;

	fx_crl_spec_default(&s);
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(aki);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(aki->keyid);
	fx_key_id(fx_key(FX_GEN1), id);
	CU_ASSERT_EQUAL(ASN1_STRING_length(aki->keyid), 20);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(aki->keyid), id, 20), 0);
	AUTHORITY_KEYID_free(aki);
	X509_CRL_free(crl);
	/* the gen2 certificate gives gen2's key identifier */
	s.ca_cert = fx_ca_cert(FX_GEN2);
	s.key = fx_key(FX_GEN2);
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	CU_ASSERT_FATAL(aki != NULL && aki->keyid != NULL);
	fx_key_id(fx_key(FX_GEN2), id);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(aki->keyid), id, 20), 0);
	AUTHORITY_KEYID_free(aki);
	X509_CRL_free(crl);
}

static void test_number(void)
{
	fx_crl_spec s;
	X509_CRL *crl;
	ASN1_INTEGER *n, *big = NULL;
	BIGNUM *bn = NULL;
	jpki_crl_params p;
	jpki_err err = { "" };
	unsigned char *der;
	size_t len;
	int crit = -1;

	fx_crl_spec_default(&s);
	s.number = 1234567;
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	n = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(n), 1234567);
	ASN1_INTEGER_free(n);
	X509_CRL_free(crl);
	/* a 20-octet number */
	CU_ASSERT_FATAL(BN_hex2bn(&bn, "7FEEDDCCBBAA99887766554433221100FFEEDDCC") > 0);
	big = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(&p, 0, sizeof(p));
	p.ca_cert = fx_ca_cert(FX_GEN1);
	p.ca_key = fx_key(FX_GEN1);
	p.dp_dn = FX_PART_DN;
	p.kind = JPKI_CRL_PARTITION;
	p.this_update = s.this_update;
	p.next_update = s.next_update;
	p.number = big;
	CU_ASSERT_EQUAL_FATAL(jpki_crl_build(&p, NULL, 0, NULL, NULL, &der, &len, &err), 0);
	crl = fx_crl_parse(der, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL(n);
	CU_ASSERT_EQUAL(ASN1_INTEGER_cmp(n, big), 0);
	ASN1_INTEGER_free(n);
	ASN1_INTEGER_free(big);
	X509_CRL_free(crl);
	OPENSSL_free(der);
}

/* The IDP: critical, one directoryName equal to want, the given only* flags, nothing else. */
static void check_idp(X509_CRL *crl, const X509_NAME *want, int onlyuser, int onlyca)
{
	int crit = -1;
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	GENERAL_NAME *gn;

	CU_ASSERT_PTR_NOT_NULL_FATAL(idp);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_FATAL(idp->distpoint != NULL && idp->distpoint->type == 0);
	CU_ASSERT_EQUAL_FATAL(sk_GENERAL_NAME_num(idp->distpoint->name.fullname), 1);
	gn = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, 0);
	CU_ASSERT_EQUAL_FATAL(gn->type, GEN_DIRNAME);
	CU_ASSERT_EQUAL(X509_NAME_cmp(gn->d.directoryName, want), 0);
	CU_ASSERT_EQUAL(idp->onlyuser != 0, onlyuser);
	CU_ASSERT_EQUAL(idp->onlyCA != 0, onlyca);
	CU_ASSERT_EQUAL(idp->onlyattr, 0);
	CU_ASSERT_EQUAL(idp->indirectCRL, 0);
	CU_ASSERT_PTR_NULL(idp->onlysomereasons);
	ISSUING_DIST_POINT_free(idp);
}

static void test_idp(void)
{
	fx_crl_spec s;
	X509_CRL *crl;
	X509_NAME *part = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", "OU", "CRL Distribution Points",
		"CN", "121002", NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(part);
	fx_crl_spec_default(&s);
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	check_idp(crl, part, 1, 0);
	X509_CRL_free(crl);
	s.dp_dn = FX_CA_ENTRY_DN;
	s.kind = JPKI_CRL_ARL;
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	check_idp(crl, fx_ca_name(), 0, 1);
	X509_CRL_free(crl);
	X509_NAME_free(part);
}

static void test_only_known_extensions(void)
{
	fx_crl_spec s;
	X509_CRL *crl;
	int nids[3] = { 0, 0, 0 };

	fx_crl_spec_default(&s);
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	CU_ASSERT_EQUAL_FATAL(X509_CRL_get_ext_count(crl), 3);
	for (int i = 0; i < 3; i++)
		nids[i] = OBJ_obj2nid(X509_EXTENSION_get_object(X509_CRL_get_ext(crl, i)));
	for (int want = 0; want < 3; want++) {
		int nid = want == 0 ? NID_authority_key_identifier
			: want == 1 ? NID_crl_number : NID_issuing_distribution_point;

		CU_ASSERT(nids[0] == nid || nids[1] == nid || nids[2] == nid);
	}
	X509_CRL_free(crl);
}

static void test_entries(void)
{
	jpki_revocation revs[NREVS];
	fx_crl_spec s;
	X509_CRL *crl;
	STACK_OF(X509_REVOKED) *rk;
	static const long want_serial[NREVS] = { 0x05, 0x30, 0x7F, 0x100, 0x1A2B };
	static const int want_reason[NREVS] = { 4, 1, 2, 3, 5 };
	static const long want_hours[NREVS] = { 20, 10, 50, 40, 30 };

	make_revs(revs);
	fx_crl_spec_default(&s);
	s.revs = revs;
	s.n = NREVS;
	crl = build(&s);
	fx_revs_free(revs, NREVS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	rk = X509_CRL_get_REVOKED(crl);
	CU_ASSERT_EQUAL_FATAL(sk_X509_REVOKED_num(rk), NREVS);
	for (int i = 0; i < NREVS; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rk, i);
		int crit = -1;
		ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		time_t t = 0;

		CU_ASSERT_EQUAL(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(r)), want_serial[i]);
		CU_ASSERT_PTR_NOT_NULL(e);
		CU_ASSERT_EQUAL(crit, 0);
		if (e != NULL)
			CU_ASSERT_EQUAL(ASN1_ENUMERATED_get(e), want_reason[i]);
		ASN1_ENUMERATED_free(e);
		CU_ASSERT_EQUAL(X509_REVOKED_get_ext_count(r), 1);
		CU_ASSERT_EQUAL(jpki_asn1_time_to_time(X509_REVOKED_get0_revocationDate(r), &t), 0);
		CU_ASSERT_EQUAL(t, FX_NOW - want_hours[i] * FX_HOUR);
	}
	X509_CRL_free(crl);
}

static int select_muni(const jpki_revocation *r, const void *ctx)
{
	return strcmp(r->municipality, (const char *)ctx) == 0;
}

static void test_select(void)
{
	jpki_revocation revs[NREVS];
	fx_crl_spec s;
	X509_CRL *crl;
	STACK_OF(X509_REVOKED) *rk;

	make_revs(revs);
	fx_crl_spec_default(&s);
	s.revs = revs;
	s.n = NREVS;
	s.select = select_muni;
	s.ctx = "121002";
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	rk = X509_CRL_get_REVOKED(crl);
	CU_ASSERT_EQUAL_FATAL(sk_X509_REVOKED_num(rk), 3);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rk, 0))), 0x30);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rk, 1))), 0x100);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rk, 2))), 0x1A2B);
	X509_CRL_free(crl);
	s.dp_dn = FX_PART_DN2;
	s.ctx = "122025";
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	CU_ASSERT_EQUAL(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	X509_CRL_free(crl);
	/* a municipality with no revocations: an empty CRL */
	s.ctx = "124630";
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	CU_ASSERT_PTR_NULL(X509_CRL_get_REVOKED(crl));
	X509_CRL_free(crl);
	fx_revs_free(revs, NREVS);
}

static void test_empty(void)
{
	fx_crl_spec s;
	X509_CRL *crl;

	fx_crl_spec_default(&s);
	crl = build(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	/* absent, not an empty SEQUENCE (RFC 5280 5.1.2.6) */
	CU_ASSERT_PTR_NULL(X509_CRL_get_REVOKED(crl));
	X509_CRL_free(crl);
}

static void check_passes(const fx_crl_spec *s, const char *entry, jpki_crl_kind kind)
{
	unsigned char *der;
	size_t len;
	jpki_crl_policy pol;
	jpki_crl_meta out;
	jpki_verdict v = { JPKI_RULE_NONE, "" };
	int rc;

	jpki_crl_policy_default(&pol);
	CU_ASSERT_EQUAL_FATAL(fx_crl_issue(s, &der, &len), 0);
	rc = jpki_crl_check(der, len, entry, kind, trust, NULL, 0, FX_NOW, &pol, &out, NULL, &v);
	if (rc != 0)
		fprintf(stderr, "\n  refused: %s\n", v.text);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		CU_ASSERT_EQUAL(ASN1_INTEGER_get(out.number), s->number);
		jpki_crl_meta_clear(&out);
	}
	OPENSSL_free(der);
}

static void test_passes_check(void)
{
	jpki_revocation revs[NREVS];
	fx_crl_spec s;

	make_revs(revs);
	fx_crl_spec_default(&s);
	check_passes(&s, FX_PART_DN, JPKI_CRL_PARTITION);
	s.revs = revs;
	s.n = NREVS;
	s.select = select_muni;
	s.ctx = "121002";
	check_passes(&s, FX_PART_DN, JPKI_CRL_PARTITION);
	s.select = NULL;
	s.dp_dn = FX_CA_ENTRY_DN;
	s.kind = JPKI_CRL_ARL;
	check_passes(&s, FX_CA_ENTRY_DN, JPKI_CRL_ARL);
	fx_revs_free(revs, NREVS);
}

/* What `jpki crl issue` does for the default DIT: the partition DN from jpki_partition_dn(). */
static void test_default_partition(void)
{
	char dn[128];
	fx_crl_spec s;

	CU_ASSERT_EQUAL_FATAL(jpki_partition_dn(JPKI_DEFAULT_PARTITION_BASE, "121002", dn, sizeof(dn)), 0);
	fx_crl_spec_default(&s);
	s.dp_dn = dn;
	check_passes(&s, dn, JPKI_CRL_PARTITION);
}

static void test_bad_dp(void)
{
	jpki_crl_params p;
	ASN1_INTEGER *n = ASN1_INTEGER_new();
	jpki_err err = { "" };
	unsigned char *der = (unsigned char *)1;
	size_t len = 0;

	CU_ASSERT_FATAL(n != NULL && ASN1_INTEGER_set(n, 1));
	memset(&p, 0, sizeof(p));
	p.ca_cert = fx_ca_cert(FX_GEN1);
	p.ca_key = fx_key(FX_GEN1);
	p.dp_dn = "this is not a DN";
	p.kind = JPKI_CRL_PARTITION;
	p.this_update = FX_NOW;
	p.next_update = FX_NOW + FX_HOUR;
	p.number = n;
	CU_ASSERT_EQUAL(jpki_crl_build(&p, NULL, 0, NULL, NULL, &der, &len, &err), -1);
	CU_ASSERT_PTR_NULL(der);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "this is not a DN"));
	ASN1_INTEGER_free(n);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("crl_issue", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "v2, issuer, times, signature", test_header) ||
	    !CU_add_test(s, "AKI keyid = SHA-1 of the CA key", test_aki) ||
	    !CU_add_test(s, "cRLNumber", test_number) ||
	    !CU_add_test(s, "critical IDP, partition and ARL", test_idp) ||
	    !CU_add_test(s, "only the profile's extensions", test_only_known_extensions) ||
	    !CU_add_test(s, "entries sorted with reasonCode", test_entries) ||
	    !CU_add_test(s, "select by municipality", test_select) ||
	    !CU_add_test(s, "empty CRL has no revokedCertificates", test_empty) ||
	    !CU_add_test(s, "output passes jpki_crl_check", test_passes_check) ||
	    !CU_add_test(s, "default partition DN", test_default_partition) ||
	    !CU_add_test(s, "invalid distribution point DN", test_bad_dp)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
