/* Unit tests for lib/registry_check.c: the rules a verifier registry entry passes before the
 * overlay stores it (values, terminated, certificate attributes), each alone. */
#include "registry_check.h"

#include <CUnit/CUnit.h>
#include <lber.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
#include "digest.h"
#include "dn.h"
#include "fixture.h"

static struct berval bv(const char *s)
{
	struct berval v = { strlen(s), (char *)s };

	return v;
}

/* One entry's values as text, kept in static storage per test. */
typedef struct entry {
	struct berval status, start, end, methods[4], certs[3], sha256[3], subjects[3];
	jpki_registry_entry e;
} entry;

static void entry_init(entry *t, const char *status, const char *start, const char *end,
	const char *methods)
{
	char *m, *save = NULL;
	static char mbuf[64];
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	if (status != NULL) {
		t->status = bv(status);
		t->e.status = (jpki_values){ &t->status, 1 };
	}
	t->start = bv(start);
	t->end = bv(end);
	t->e.start = (jpki_values){ &t->start, 1 };
	t->e.end = (jpki_values){ &t->end, 1 };
	snprintf(mbuf, sizeof(mbuf), "%s", methods);
	for (m = strtok_r(mbuf, ",", &save); m != NULL && n < 4; m = strtok_r(NULL, ",", &save))
		t->methods[n++] = bv(m);
	t->e.methods = (jpki_values){ t->methods, n };
}

static unsigned char *cert_der[3];
static int cert_len[3];
static char cert_hex[3][65];
static char *cert_subject[3];

/* Adds certificate i with (with_hash) its SHA-256 and (with_subject) its subject. */
static void entry_cert(entry *t, int i, int with_hash, int with_subject)
{
	t->certs[t->e.certs.n] = (struct berval){ (ber_len_t)cert_len[i], (char *)cert_der[i] };
	t->e.certs = (jpki_values){ t->certs, t->e.certs.n + 1 };
	if (with_hash) {
		t->sha256[t->e.sha256.n] = bv(cert_hex[i]);
		t->e.sha256 = (jpki_values){ t->sha256, t->e.sha256.n + 1 };
	}
	if (with_subject) {
		t->subjects[t->e.subjects.n] = bv(cert_subject[i]);
		t->e.subjects = (jpki_values){ t->subjects, t->e.subjects.n + 1 };
	}
}

static int setup(void)
{
	const char *cns[3] = { "verifier one", "verifier two", "verifier three" };
	int i;

	for (i = 0; i < 3; i++) {
		X509_NAME *n = fx_name("C", "JP", "O", "Verifiers", "CN", cns[i], NULL);
		X509 *c = fx_cert(n, fx_key(FX_OTHER), fx_ca_name(), fx_key(FX_GEN1), 0, 100 + i);

		cert_der[i] = NULL;
		cert_len[i] = i2d_X509(c, &cert_der[i]);
		jpki_sha256_hex(cert_der[i], (size_t)cert_len[i], cert_hex[i]);
		cert_subject[i] = jpki_x509_name_to_dn(X509_get_subject_name(c));
		X509_free(c);
		X509_NAME_free(n);
		if (cert_len[i] <= 0 || cert_subject[i] == NULL)
			return -1;
	}
	return 0;
}

static int teardown(void)
{
	for (int i = 0; i < 3; i++) {
		OPENSSL_free(cert_der[i]);
		free(cert_subject[i]);
	}
	fx_cleanup();
	return 0;
}

#define OK(before, after) CU_ASSERT_EQUAL(jpki_registry_check(before, after, &v), 0)
#define REFUSED(before, after, r, want) do { \
		CU_ASSERT_EQUAL(jpki_registry_check(before, after, &v), -1); \
		CU_ASSERT_EQUAL(v.rule, r); \
		if (strstr(v.text, want) == NULL) \
			fprintf(stderr, "\n  got: %s\n  want: …%s…\n", v.text, want); \
		CU_ASSERT_PTR_NOT_NULL(strstr(v.text, want)); \
	} while (0)

static void test_values(void)
{
	entry t;
	jpki_verdict v;

	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ldap,ocsp");
	OK(NULL, &t.e);
	entry_init(&t, "active", "20270331235959Z", "20260401000000Z", "ldap");
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_VALUES,
		"rule registry-values: jpkiAgreementEnd '20260401000000Z' is not after jpkiAgreementStart '20270331235959Z'");
	entry_init(&t, "active", "20260401000000Z", "20260401000000Z", "ldap");
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_VALUES, "reversed or empty");
	entry_init(&t, "active", "20260401000000Z", "20260401000001Z", "ldap");
	OK(NULL, &t.e);
	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "");
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_VALUES, "no jpkiAllowedMethod");
	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ldap,ftp");
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_VALUES, "jpkiAllowedMethod 'ftp' is neither ldap nor ocsp");
	entry_init(&t, "paused", "20260401000000Z", "20270331235959Z", "ldap");
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_VALUES, "jpkiVerifierStatus 'paused'");
	entry_init(&t, NULL, "20260401000000Z", "20270331235959Z", "ldap");
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_VALUES, "no jpkiVerifierStatus");
	entry_init(&t, "active", "20260401000000Z", "20270230000000Z", "ldap");
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_VALUES, "2027-02 has no day 30");
}

static void test_terminated(void)
{
	const char *to[] = { "active", "suspended", "terminated" };
	entry before, after;
	jpki_verdict v;
	int i;

	for (i = 0; i < 3; i++) {
		entry_init(&before, "terminated", "20260401000000Z", "20270331235959Z", "ldap");
		entry_init(&after, to[i], "20260401000000Z", "20270331235959Z", "ldap");
		if (i < 2)
			REFUSED(&before.e, &after.e, JPKI_RULE_REGISTRY_TERMINATED, "is not reopened");
		else
			OK(&before.e, &after.e);
	}
	/* The other way round is the normal life of an agreement. */
	for (i = 0; i < 3; i++) {
		entry_init(&before, "suspended", "20260401000000Z", "20270331235959Z", "ldap");
		entry_init(&after, to[i], "20260401000000Z", "20270331235959Z", "ldap");
		OK(&before.e, &after.e);
	}
}

static void test_certificates(void)
{
	entry t;
	jpki_verdict v;
	static char upper[65];
	static unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
	entry_cert(&t, 0, 1, 1);
	entry_cert(&t, 1, 1, 1);
	OK(NULL, &t.e);

	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
	entry_cert(&t, 0, 0, 1);
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_CERTIFICATE,
		"userCertificate value 1 (subject CN=verifier one,O=Verifiers,C=JP) has no jpkiCertificateSHA256 value");

	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
	entry_cert(&t, 0, 1, 0);
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_CERTIFICATE, "has no jpkiCertificateSubject value");

	/* A hash or subject of a certificate the entry does not hold. */
	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
	entry_cert(&t, 0, 1, 1);
	t.sha256[1] = bv(cert_hex[2]);
	t.e.sha256.n = 2;
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_CERTIFICATE, "is the SHA-256 of none of the entry's");
	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
	entry_cert(&t, 0, 1, 1);
	t.subjects[1] = bv(cert_subject[2]);
	t.e.subjects.n = 2;
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_CERTIFICATE,
		"jpkiCertificateSubject 'CN=verifier three,O=Verifiers,C=JP' is the subject of none");

	/* The hash in upper case and the subject with other spacing and case are the same. */
	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
	entry_cert(&t, 0, 0, 0);
	for (int i = 0; i < 64; i++)
		upper[i] = (char)(cert_hex[0][i] >= 'a' ? cert_hex[0][i] - 32 : cert_hex[0][i]);
	t.sha256[0] = bv(upper);
	t.subjects[0] = bv("cn=Verifier One, o=verifiers, c=jp");
	t.e.sha256.n = t.e.subjects.n = 1;
	t.e.sha256.v = t.sha256;
	t.e.subjects.v = t.subjects;
	OK(NULL, &t.e);

	entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
	t.certs[0] = (struct berval){ sizeof(junk), (char *)junk };
	t.e.certs = (jpki_values){ t.certs, 1 };
	REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_CERTIFICATE, "userCertificate value 1 is not one DER X.509 certificate");

	/* Trailing bytes after a certificate. */
	{
		static unsigned char longer[4096];

		memcpy(longer, cert_der[0], (size_t)cert_len[0]);
		longer[cert_len[0]] = 0;
		entry_init(&t, "active", "20260401000000Z", "20270331235959Z", "ocsp");
		entry_cert(&t, 0, 1, 1);
		t.certs[0].bv_val = (char *)longer;
		t.certs[0].bv_len = (ber_len_t)cert_len[0] + 1;
		REFUSED(NULL, &t.e, JPKI_RULE_REGISTRY_CERTIFICATE, "is not one DER X.509 certificate");
	}
}

/* The two rules jpki verifier applies alone before it writes. */
static void test_alone(void)
{
	jpki_verdict v;

	CU_ASSERT_EQUAL(jpki_registry_check_period(100, 101, "a", "b", &v), 0);
	CU_ASSERT_EQUAL(jpki_registry_check_period(100, 100, "a", "b", &v), -1);
	CU_ASSERT_EQUAL(v.rule, JPKI_RULE_REGISTRY_VALUES);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "jpkiAgreementEnd 'b' is not after jpkiAgreementStart 'a'"));
	CU_ASSERT_EQUAL(jpki_registry_check_status(JPKI_VERIFIER_TERMINATED, JPKI_VERIFIER_ACTIVE, &v), -1);
	CU_ASSERT_EQUAL(v.rule, JPKI_RULE_REGISTRY_TERMINATED);
	CU_ASSERT_EQUAL(jpki_registry_check_status(JPKI_VERIFIER_TERMINATED, JPKI_VERIFIER_SUSPENDED, &v), -1);
	CU_ASSERT_EQUAL(jpki_registry_check_status(JPKI_VERIFIER_TERMINATED, JPKI_VERIFIER_TERMINATED, &v), 0);
	CU_ASSERT_EQUAL(jpki_registry_check_status(JPKI_VERIFIER_SUSPENDED, JPKI_VERIFIER_ACTIVE, &v), 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("registry_check", setup, teardown);
	if (s == NULL ||
	    !CU_add_test(s, "registry-values", test_values) ||
	    !CU_add_test(s, "registry-terminated", test_terminated) ||
	    !CU_add_test(s, "registry-certificate", test_certificates) ||
	    !CU_add_test(s, "period and status alone", test_alone)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
