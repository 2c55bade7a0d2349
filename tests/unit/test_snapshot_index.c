/* Unit tests for the registry's indexes in a snapshot (responder/snapshot_registry.c) and
 * for finding a signed request's signer through them (responder/access.c,
 * responder/request_der.c). */
#include "access.h"

#include <CUnit/CUnit.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "fixture.h"
#include "request_der.h"

#define NOBODY "rule verifier-access (CPS 4-4-4-3): the signer is no registered verifier's"
#define MANY 2000

static int age_logs;	/* lines logged for rule registry-max-age */

/* access.c and the snapshot code log through the daemon's logger: only the lines of rule
 * registry-max-age are counted. */
void ocspd_log(int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level == OCSPD_LOG_WARNING && strstr(line, "rule registry-max-age: ") != NULL)
		age_logs++;
}

static EVP_PKEY *key_a, *key_b, *key_c;	/* P-256: quick to sign with */
static X509_NAME *name_r, *name_nobody;

static int init_suite(void)
{
	key_a = EVP_EC_gen("P-256");
	key_b = EVP_EC_gen("P-256");
	key_c = EVP_EC_gen("P-256");
	name_r = fx_name("C", "JP", "O", "Renewing Verifier", "CN", "ocsp client", NULL);
	name_nobody = fx_name("C", "JP", "O", "Nobody", "CN", "ocsp client", NULL);
	return key_a != NULL && key_b != NULL && key_c != NULL && name_r != NULL && name_nobody != NULL ? 0 : -1;
}

static int clean_suite(void)
{
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_c);
	X509_NAME_free(name_r);
	X509_NAME_free(name_nobody);
	fx_cleanup();
	return 0;
}

static jpki_verifier_state active(void)
{
	return (jpki_verifier_state){ .status = JPKI_VERIFIER_ACTIVE, .start = FX_NOW - 86400,
		.end = FX_NOW + 86400, .has_period = true, .methods = JPKI_METHOD_OCSP };
}

static void sha256_of(X509 *x, unsigned char out[32])
{
	unsigned int len = 32;

	CU_ASSERT_FATAL(X509_digest(x, EVP_sha256(), out, &len) == 1 && len == 32);
}

/* Appends a verifier holding these certificates (their hashes as jpkiCertificateSHA256). */
static void add_verifier(model *m, const char *dn, jpki_verifier_state st, X509 *const *certs, size_t n)
{
	model_verifier *grown = realloc(m->verifiers, (m->nverifiers + 1) * sizeof(*grown)), *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
	m->verifiers = grown;
	v = &m->verifiers[m->nverifiers++];
	memset(v, 0, sizeof(*v));
	v->uuid = strdup(dn);
	v->dn = strdup(dn);
	v->state = st;
	v->cert_sha256 = malloc((n + 1) * 32);
	v->certs = calloc(n + 1, sizeof(*v->certs));
	CU_ASSERT_FATAL(v->uuid != NULL && v->dn != NULL && v->cert_sha256 != NULL && v->certs != NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(certs[i], &der);

		CU_ASSERT_FATAL(len > 0);
		v->certs[i].der = malloc((size_t)len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v->certs[i].der);
		memcpy(v->certs[i].der, der, (size_t)len);
		v->certs[i].len = (size_t)len;
		OPENSSL_free(der);
		sha256_of(certs[i], v->cert_sha256[i]);
	}
	v->ncerts = v->ncertders = n;
}

static snapshot *build(model *m)
{
	STACK_OF(X509) *anchors = sk_X509_new_null();
	jpki_crl_policy pol;
	snapshot *s;

	jpki_crl_policy_default(&pol);
	s = snapshot_build(m, anchors, &pol, 1, FX_NOW);
	sk_X509_free(anchors);
	model_free(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* A request for one certificate of the fixture's CA, signed with cert (its subject is the
 * requestorName) and key, and parsed back as the daemon parses what it receives. */
static OCSP_REQUEST *signed_by(X509 *cert, EVP_PKEY *key)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new(), *back = NULL;
	X509 *leaf = fx_cert(fx_other_name(), fx_key(FX_OTHER), fx_ca_name(), fx_key(FX_GEN1), 0, 77);
	OCSP_CERTID *id = leaf != NULL ? OCSP_cert_to_id(NULL, leaf, fx_ca_cert(FX_GEN1)) : NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	CU_ASSERT_FATAL(req != NULL && id != NULL && OCSP_request_add0_id(req, id) != NULL);
	if (cert != NULL)
		CU_ASSERT_FATAL(OCSP_request_sign(req, cert, key, EVP_sha256(), NULL, OCSP_NOCERTS) == 1);
	len = i2d_OCSP_REQUEST(req, &der);
	CU_ASSERT_FATAL(len > 0);
	p = der;
	back = d2i_OCSP_REQUEST(NULL, &p, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	X509_free(leaf);
	return back;
}

/* The requestorName ocsp_request_view_of() finds in der: 1 and the Name, or 0. */
static int name_of(const unsigned char *der, size_t len, const unsigned char **name, size_t *n)
{
	ocsp_request_view v;

	if (ocsp_request_view_of(der, len, &v) != 1 || v.name == NULL)
		return 0;
	*name = v.name;
	*n = v.name_len;
	return 1;
}

/* access_check as the daemon calls it under configuration c, from client, on the view of
 * the request's encoding, the registry confirmed by slapd at confirmed, at now. */
static access_result check_as(OCSP_REQUEST *req, const ocspd_client *client, const ocspd_config *c,
	const snapshot *s, time_t confirmed, time_t now, ocspd_answer_info *info)
{
	unsigned char *der = NULL;
	ocsp_request_view v;
	int len = i2d_OCSP_REQUEST(req, &der);
	access_result r;

	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_EQUAL_FATAL(ocsp_request_view_of(der, (size_t)len, &v), 1);
	memset(info, 0, sizeof(*info));
	r = access_check(&v, client, s, c, confirmed, now, info);
	OPENSSL_free(der);
	/* every failed candidate's error is cleared */
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	return r;
}

/* With no network allowed, signatures required and no registry-max-age. */
static access_result check(OCSP_REQUEST *req, const unsigned char *client_sha256, const snapshot *s,
	ocspd_answer_info *info)
{
	ocspd_config c = { .require_signature = true };
	ocspd_client client = { .cert_sha256 = client_sha256 };

	return check_as(req, &client, &c, s, 0, FX_NOW, info);
}

static void check_signed(X509 *cert, EVP_PKEY *key, const snapshot *s, access_result want,
	const char *verifier, const char *why)
{
	OCSP_REQUEST *req = signed_by(cert, key);
	ocspd_answer_info info;

	CU_ASSERT_EQUAL(check(req, NULL, s, &info), want);
	CU_ASSERT_STRING_EQUAL(info.auth, "signature");
	CU_ASSERT_STRING_EQUAL(info.verifier, verifier);
	CU_ASSERT_STRING_EQUAL(info.why, why);
	OCSP_REQUEST_free(req);
}

static X509 *many_cert(EVP_PKEY *key, size_t i)
{
	char cn[32];
	X509_NAME *n;
	X509 *x;

	snprintf(cn, sizeof(cn), "relying party %04zu", i);
	n = fx_name("C", "JP", "O", "Relying Parties", "CN", cn, NULL);
	x = fx_cert(n, key, n, key, 0, (long)i + 1);
	X509_NAME_free(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	return x;
}

/* 2000 verifiers of one certificate each (one key: the subject tells them apart), every one
 * found by its hash and its subject, and by a request it signed. */
static void test_many(void)
{
	X509 **certs = calloc(MANY, sizeof(*certs));
	model m = { 0 };
	snapshot *s;
	unsigned char h[32];
	char dn[64];
	size_t i, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(certs);
	for (i = 0; i < MANY; i++) {
		certs[i] = many_cert(key_a, i);
		snprintf(dn, sizeof(dn), "cn=rp%04zu,ou=Verifiers,o=JPKI,c=JP", i);
		add_verifier(&m, dn, active(), &certs[i], 1);
	}
	s = build(&m);
	CU_ASSERT_EQUAL_FATAL(s->nverifiers, MANY);
	CU_ASSERT_EQUAL(s->nby_hash, MANY);
	CU_ASSERT_EQUAL(s->nby_subject, MANY);
	for (i = 0; i < MANY; i++) {
		const signer_cand *c;

		sha256_of(certs[i], h);
		CU_ASSERT_PTR_EQUAL(snapshot_verifier_by_cert(s, h), &s->verifiers[i]);
		c = snapshot_signers_by_subject(s, X509_get_subject_name(certs[i]), &n);
		CU_ASSERT_EQUAL(n, 1);
		CU_ASSERT_TRUE(c != NULL && c->verifier == &s->verifiers[i] && X509_cmp(c->cert, certs[i]) == 0);
	}
	memset(h, 0, sizeof(h));
	CU_ASSERT_PTR_NULL(snapshot_verifier_by_cert(s, h));
	CU_ASSERT_PTR_NULL(snapshot_signers_by_subject(s, name_nobody, &n));
	CU_ASSERT_EQUAL(n, 0);

	/* first, middle, last; a client certificate; a registered name with another key */
	for (i = 0; i < MANY; i += MANY / 2 - 1)
		check_signed(certs[i], key_a, s, ACCESS_OK, s->verifiers[i].dn, "");
	{
		ocspd_answer_info info;
		OCSP_REQUEST *req = signed_by(NULL, NULL);
		X509 *other = many_cert(key_b, 7);

		sha256_of(certs[MANY - 1], h);
		CU_ASSERT_EQUAL(check(req, h, s, &info), ACCESS_OK);
		CU_ASSERT_STRING_EQUAL(info.auth, "client-certificate");
		CU_ASSERT_STRING_EQUAL(info.verifier, s->verifiers[MANY - 1].dn);
		sha256_of(other, h);
		CU_ASSERT_EQUAL(check(req, h, s, &info), ACCESS_UNAUTHORIZED);
		CU_ASSERT_STRING_EQUAL(info.why,
			"rule verifier-access (CPS 4-4-4-3): the client certificate is no registered verifier's");
		check_signed(other, key_b, s, ACCESS_UNAUTHORIZED, "", NOBODY);
		X509_free(other);
		OCSP_REQUEST_free(req);
	}
	for (i = 0; i < MANY; i++)
		X509_free(certs[i]);
	free(certs);
	snapshot_unref(s);
}

/* A renewal kept the subject: two certificates, and a request signed with the second. */
static void test_renewal(void)
{
	X509 *certs[2] = { fx_cert(name_r, key_a, name_r, key_a, 0, 1), fx_cert(name_r, key_b, name_r, key_b, 0, 2) };
	X509 *rogue = fx_cert(name_r, key_c, name_r, key_c, 0, 3);
	X509 *filler[3] = { many_cert(key_c, 1), many_cert(key_c, 2), many_cert(key_c, 3) };
	const char *dn = "cn=renewing,ou=Verifiers,o=JPKI,c=JP";
	const signer_cand *c;
	model m = { 0 };
	snapshot *s;
	size_t n;

	CU_ASSERT_FATAL(certs[0] != NULL && certs[1] != NULL && rogue != NULL);
	add_verifier(&m, "cn=rp1,ou=Verifiers,o=JPKI,c=JP", active(), &filler[0], 1);
	add_verifier(&m, dn, active(), certs, 2);
	add_verifier(&m, "cn=rp2,ou=Verifiers,o=JPKI,c=JP", active(), &filler[1], 2);
	s = build(&m);
	c = snapshot_signers_by_subject(s, name_r, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	/* in the registry's order */
	CU_ASSERT_EQUAL(X509_cmp(c[0].cert, certs[0]), 0);
	CU_ASSERT_EQUAL(X509_cmp(c[1].cert, certs[1]), 0);
	CU_ASSERT_TRUE(c[0].verifier == &s->verifiers[1] && c[1].verifier == &s->verifiers[1]);

	check_signed(certs[1], key_b, s, ACCESS_OK, dn, "");
	check_signed(certs[0], key_a, s, ACCESS_OK, dn, "");
	/* the name is registered, the key is not */
	check_signed(rogue, key_c, s, ACCESS_UNAUTHORIZED, "", NOBODY);
	snapshot_unref(s);
	X509_free(certs[0]);
	X509_free(certs[1]);
	X509_free(rogue);
	for (n = 0; n < 3; n++)
		X509_free(filler[n]);
}

/* Odd data the overlay refuses now: two verifiers share a subject, and a certificate. */
static void test_shared(void)
{
	X509 *first = fx_cert(name_r, key_a, name_r, key_a, 0, 1);
	X509 *second = fx_cert(name_r, key_b, name_r, key_b, 0, 2);
	jpki_verifier_state suspended = active();
	model m = { 0 };
	snapshot *s;
	unsigned char h[32];
	size_t n;

	CU_ASSERT_FATAL(first != NULL && second != NULL);
	suspended.status = JPKI_VERIFIER_SUSPENDED;
	add_verifier(&m, "cn=first,o=JPKI,c=JP", suspended, &first, 1);
	add_verifier(&m, "cn=second,o=JPKI,c=JP", active(), &second, 1);
	add_verifier(&m, "cn=third,o=JPKI,c=JP", active(), &first, 1);
	s = build(&m);
	CU_ASSERT_PTR_NOT_NULL(snapshot_signers_by_subject(s, name_r, &n));
	CU_ASSERT_EQUAL(n, 3);
	/* each candidate with that subject is tried, in registry order */
	check_signed(second, key_b, s, ACCESS_OK, "cn=second,o=JPKI,c=JP", "");
	check_signed(first, key_a, s, ACCESS_UNAUTHORIZED, "cn=first,o=JPKI,c=JP",
		"rule verifier-access (CPS 4-4-4-3): verifier is suspended");
	/* a hash two verifiers list is the first's, as with the scan */
	CU_ASSERT_EQUAL(s->nby_hash, 2);
	sha256_of(first, h);
	CU_ASSERT_PTR_EQUAL(snapshot_verifier_by_cert(s, h), &s->verifiers[0]);
	sha256_of(second, h);
	CU_ASSERT_PTR_EQUAL(snapshot_verifier_by_cert(s, h), &s->verifiers[1]);
	snapshot_unref(s);
	X509_free(first);
	X509_free(second);
}

/* An empty registry; a requestorName nobody has, signed with a registered key. */
static void test_unknown_name(void)
{
	X509 *cert = fx_cert(name_r, key_a, name_r, key_a, 0, 1);
	X509 *nobody = fx_cert(name_nobody, key_a, name_nobody, key_a, 0, 2);
	model m = { 0 };
	snapshot *s = build(&m);
	size_t n = 99;

	CU_ASSERT_FATAL(cert != NULL && nobody != NULL);
	CU_ASSERT_PTR_NULL(snapshot_signers_by_subject(s, name_r, &n));
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(snapshot_verifier_by_cert(s, (unsigned char[32]){ 0 }));
	check_signed(cert, key_a, s, ACCESS_UNAUTHORIZED, "", NOBODY);
	snapshot_unref(s);
	add_verifier(&m, "cn=r,o=JPKI,c=JP", active(), &cert, 1);
	s = build(&m);
	check_signed(nobody, key_a, s, ACCESS_UNAUTHORIZED, "", NOBODY);
	check_signed(cert, key_a, s, ACCESS_OK, "cn=r,o=JPKI,c=JP", "");
	snapshot_unref(s);
	X509_free(cert);
	X509_free(nobody);
}

/* A small DER writer: minimal lengths. */
typedef struct blob {
	unsigned char b[4096];
	size_t n;
} blob;

static void put(blob *d, const void *p, size_t n)
{
	CU_ASSERT_FATAL(d->n + n <= sizeof(d->b));
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void put_tlv(blob *d, unsigned char tag, const void *p, size_t n)
{
	unsigned char h[4] = { tag };
	size_t hl = 2;

	CU_ASSERT_FATAL(n < 0x10000);
	if (n < 0x80) {
		h[1] = (unsigned char)n;
	} else if (n < 0x100) {
		h[1] = 0x81, h[2] = (unsigned char)n, hl = 3;
	} else {
		h[1] = 0x82, h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n, hl = 4;
	}
	put(d, h, hl);
	put(d, p, n);
}

/* The tbsRequest element of an unsigned request's DER: its contents at *body. */
static void tbs_of(const unsigned char *der, size_t len, const unsigned char **body, size_t *n)
{
	const unsigned char *p = der;
	long l;
	int tag, cls;

	CU_ASSERT_FATAL(ASN1_get_object(&p, &l, &tag, &cls, (long)len) == V_ASN1_CONSTRUCTED);
	CU_ASSERT_FATAL(ASN1_get_object(&p, &l, &tag, &cls, (long)(der + len - p)) == V_ASN1_CONSTRUCTED &&
		tag == V_ASN1_SEQUENCE && p + l == der + len);
	*body = p;
	*n = (size_t)l;
}

/* SEQUENCE { tbsRequest SEQUENCE { prefix, the unsigned request's tbsRequest contents },
 * [0] Signature (over that tbsRequest, with key) if key }: a request OCSP_request_sign()
 * cannot make. */
static void assemble(blob *out, const void *prefix, size_t prefix_n, EVP_PKEY *key)
{
	OCSP_REQUEST *plain = signed_by(NULL, NULL);
	unsigned char *der = NULL, *alg_der = NULL, sig[128];
	const unsigned char *body;
	size_t n, siglen = sizeof(sig) - 1;
	int len = i2d_OCSP_REQUEST(plain, &der);
	blob tbs_body = { .n = 0 }, tbs = { .n = 0 }, sigseq = { .n = 0 }, all = { .n = 0 }, bits = { .n = 0 };

	CU_ASSERT_FATAL(len > 0);
	tbs_of(der, (size_t)len, &body, &n);
	put(&tbs_body, prefix, prefix_n);
	put(&tbs_body, body, n);
	put_tlv(&tbs, 0x30, tbs_body.b, tbs_body.n);
	put(&all, tbs.b, tbs.n);
	if (key != NULL) {
		X509_ALGOR *alg = X509_ALGOR_new();
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		blob sigbody = { .n = 0 }, exp = { .n = 0 };
		int alglen;

		CU_ASSERT_FATAL(alg != NULL && ctx != NULL &&
			X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL) &&
			EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
			EVP_DigestSign(ctx, sig + 1, &siglen, tbs.b, tbs.n) == 1);
		sig[0] = 0;	/* no unused bits */
		alglen = i2d_X509_ALGOR(alg, &alg_der);
		CU_ASSERT_FATAL(alglen > 0);
		put(&sigbody, alg_der, (size_t)alglen);
		put_tlv(&bits, 0x03, sig, siglen + 1);
		put(&sigbody, bits.b, bits.n);
		put_tlv(&sigseq, 0x30, sigbody.b, sigbody.n);
		put_tlv(&exp, 0xa0, sigseq.b, sigseq.n);
		put(&all, exp.b, exp.n);
		X509_ALGOR_free(alg);
		EVP_MD_CTX_free(ctx);
		OPENSSL_free(alg_der);
		/* the signature is good: only the name is missing */
		ctx = EVP_MD_CTX_new();
		CU_ASSERT_FATAL(ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
			EVP_DigestVerify(ctx, sig + 1, siglen, tbs.b, tbs.n) == 1);
		EVP_MD_CTX_free(ctx);
	}
	out->n = 0;
	put_tlv(out, 0x30, all.b, all.n);
	OPENSSL_free(der);
	OCSP_REQUEST_free(plain);
}

static int requestor(const blob *d, const unsigned char **name, size_t *n)
{
	return name_of(d->b, d->n, name, n);
}

/* The requestorName encoded otherwise than the certificate's subject (other letter case):
 * not the same bytes, but the same name as OpenSSL compares names, so the signer is found. */
static void test_name_other_encoding(void)
{
	X509 *cert = fx_cert(name_r, key_a, name_r, key_a, 0, 1);
	X509_NAME *upper = fx_name("C", "JP", "O", "RENEWING VERIFIER", "CN", "OCSP Client", NULL);
	unsigned char *nder = NULL;
	const unsigned char *subj_der, *p, *name = NULL;
	size_t subj_len, n = 0;
	int nlen = i2d_X509_NAME(upper, &nder);
	blob inner = { .n = 0 }, gn = { .n = 0 }, d;
	model m = { 0 };
	snapshot *s;
	OCSP_REQUEST *req;
	ocspd_answer_info info;

	CU_ASSERT_FATAL(cert != NULL && nlen > 0 &&
		X509_NAME_get0_der(X509_get_subject_name(cert), &subj_der, &subj_len) == 1);
	CU_ASSERT_TRUE((size_t)nlen != subj_len || memcmp(nder, subj_der, subj_len) != 0);
	CU_ASSERT_EQUAL(X509_NAME_cmp(upper, name_r), 0);
	add_verifier(&m, "cn=r,o=JPKI,c=JP", active(), &cert, 1);
	s = build(&m);
	CU_ASSERT_PTR_NULL(snapshot_signers_by_subject_der(s, nder, (size_t)nlen, &n));
	/* requestorName [1] EXPLICIT GeneralName directoryName [4] EXPLICIT Name */
	put_tlv(&inner, 0xa4, nder, (size_t)nlen);
	put_tlv(&gn, 0xa1, inner.b, inner.n);
	assemble(&d, gn.b, gn.n, key_a);
	CU_ASSERT_EQUAL_FATAL(requestor(&d, &name, &n), 1);
	p = d.b;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)d.n);
	CU_ASSERT_FATAL(req != NULL && p == d.b + d.n);
	CU_ASSERT_EQUAL(check(req, NULL, s, &info), ACCESS_OK);
	CU_ASSERT_STRING_EQUAL(info.verifier, "cn=r,o=JPKI,c=JP");
	OCSP_REQUEST_free(req);
	snapshot_unref(s);
	OPENSSL_free(nder);
	X509_NAME_free(upper);
	X509_free(cert);
}

/* Signed well, by a registered verifier's key, but without a requestorName. */
static void test_no_requestor_name(void)
{
	X509 *cert = fx_cert(name_r, key_a, name_r, key_a, 0, 1);
	model m = { 0 };
	snapshot *s;
	blob d;
	const unsigned char *p, *name = NULL;
	size_t n = 0;
	OCSP_REQUEST *req;
	ocspd_answer_info info;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	add_verifier(&m, "cn=r,o=JPKI,c=JP", active(), &cert, 1);
	s = build(&m);
	assemble(&d, "", 0, key_a);
	CU_ASSERT_EQUAL(requestor(&d, &name, &n), 0);
	CU_ASSERT_TRUE(name == NULL && n == 0);
	p = d.b;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)d.n);
	CU_ASSERT_FATAL(req != NULL && p == d.b + d.n);
	CU_ASSERT_TRUE(OCSP_request_is_signed(req));
	CU_ASSERT_EQUAL(check(req, NULL, s, &info), ACCESS_UNAUTHORIZED);
	CU_ASSERT_STRING_EQUAL(info.auth, "signature");
	CU_ASSERT_STRING_EQUAL(info.verifier, "");
	CU_ASSERT_STRING_EQUAL(info.why, NOBODY);
	/* the same key with the name: the registry knows it */
	check_signed(cert, key_a, s, ACCESS_OK, "cn=r,o=JPKI,c=JP", "");
	OCSP_REQUEST_free(req);
	snapshot_unref(s);
	X509_free(cert);
}

/* The view's requestorName, on the forms of a requestorName. */
static void test_requestor_name_der(void)
{
	static const unsigned char uri[] = { 0xa1, 0x0a, 0x86, 0x08, 'h', 't', 't', 'p', ':', '/', '/', 'x' };
	static const unsigned char version[] = { 0xa0, 0x03, 0x02, 0x01, 0x00 };
	X509 *cert = fx_cert(name_r, key_a, name_r, key_a, 0, 1);
	OCSP_REQUEST *req = signed_by(cert, key_a);
	unsigned char *der = NULL, *want = NULL;
	int len = i2d_OCSP_REQUEST(req, &der), wantlen = i2d_X509_NAME(name_r, &want);
	const unsigned char *name = NULL;
	size_t n = 0, cut, ones = 0;
	blob d, prefix = { .n = 0 }, dirname = { .n = 0 }, inner = { .n = 0 };

	CU_ASSERT_FATAL(len > 0 && wantlen > 0);
	/* as OCSP_request_sign() writes it: the signer's subject, byte for byte */
	CU_ASSERT_EQUAL_FATAL(name_of(der, (size_t)len, &name, &n), 1);
	CU_ASSERT_TRUE(n == (size_t)wantlen && memcmp(name, want, n) == 0);
	CU_ASSERT_TRUE(name > der && name + n < der + len);
	/* every truncation: never found, never read past the end (ASan) */
	for (cut = 0; cut < (size_t)len; cut++) {
		unsigned char *p = malloc(cut + 1);

		memcpy(p, der, cut);
		ones += name_of(p, cut, &name, &n) == 1;
		free(p);
	}
	CU_ASSERT_EQUAL(ones, 0);
	/* after a version */
	put_tlv(&dirname, 0xa4, want, (size_t)wantlen);
	put(&prefix, version, sizeof(version));
	put_tlv(&prefix, 0xa1, dirname.b, dirname.n);
	assemble(&d, prefix.b, prefix.n, NULL);
	name = NULL;
	CU_ASSERT_EQUAL(requestor(&d, &name, &n), 1);
	CU_ASSERT_TRUE(name != NULL && n == (size_t)wantlen && memcmp(name, want, n) == 0);
	/* a URI, an empty [1], a Name and a NULL in [4], no name at all (unsigned) */
	assemble(&d, uri, sizeof(uri), NULL);
	CU_ASSERT_EQUAL(requestor(&d, &name, &n), 0);
	assemble(&d, "\xa1\x00", 2, NULL);
	CU_ASSERT_EQUAL(requestor(&d, &name, &n), 0);
	put(&inner, want, (size_t)wantlen);
	put(&inner, "\x05\x00", 2);
	prefix.n = dirname.n = 0;
	put_tlv(&dirname, 0xa4, inner.b, inner.n);
	put_tlv(&prefix, 0xa1, dirname.b, dirname.n);
	assemble(&d, prefix.b, prefix.n, NULL);
	CU_ASSERT_EQUAL(requestor(&d, &name, &n), 0);
	assemble(&d, "", 0, NULL);
	CU_ASSERT_EQUAL(requestor(&d, &name, &n), 0);
	/* OpenSSL's error queue is left as it was */
	ERR_raise(ERR_LIB_USER, 42);
	CU_ASSERT_EQUAL(name_of(der, 3, &name, &n), 0);
	CU_ASSERT_EQUAL(ERR_GET_REASON(ERR_get_error()), 42);
	CU_ASSERT_EQUAL(ERR_get_error(), 0);
	OPENSSL_free(der);
	OPENSSL_free(want);
	OCSP_REQUEST_free(req);
	X509_free(cert);
}

/* registry-max-age: a request the registry must judge (signed, or a client certificate)
 * while its last confirmation is older than that gets ACCESS_TRY_LATER, named and logged
 * once a minute at most; one from an allowed network, or unsigned, does not need it. */
static void test_registry_age(void)
{
	X509 *cert = fx_cert(name_r, key_a, name_r, key_a, 0, 1), *other = fx_cert(name_nobody, key_b, name_nobody,
		key_b, 0, 2);
	const char *dn = "cn=registered,ou=Verifiers,o=JPKI,c=JP";
	ocspd_network net = { .family = AF_INET, .addr = { 127, 0, 0, 2 }, .prefix = 32 };
	ocspd_config c = { .require_signature = true, .registry_max_age = 3600, .allow = &net, .nallow = 1 };
	struct sockaddr_in from = { .sin_family = AF_INET }, allowed = { .sin_family = AF_INET };
	ocspd_client signer = { .addr = (struct sockaddr *)&from }, holder = signer;
	ocspd_client near = { .addr = (struct sockaddr *)&allowed };
	ocspd_answer_info info;
	OCSP_REQUEST *req, *plain, *stranger;
	unsigned char h[32];
	model m = { 0 };
	snapshot *s;

	CU_ASSERT_FATAL(cert != NULL && other != NULL);
	from.sin_addr.s_addr = htonl(0x7f000001);	/* 127.0.0.1 */
	allowed.sin_addr.s_addr = htonl(0x7f000002);
	add_verifier(&m, dn, active(), &cert, 1);
	s = build(&m);
	req = signed_by(cert, key_a);
	plain = signed_by(NULL, NULL);
	stranger = signed_by(other, key_b);
	sha256_of(cert, h);
	holder.cert_sha256 = h;

	/* confirmed 3600 s ago: answered; 3601 s: tryLater, signed or by certificate */
	age_logs = 0;
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, FX_NOW - 3600, FX_NOW, &info), ACCESS_OK);
	CU_ASSERT_STRING_EQUAL(info.verifier, dn);
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, FX_NOW - 3601, FX_NOW, &info), ACCESS_TRY_LATER);
	CU_ASSERT_STRING_EQUAL(info.auth, "signature");
	CU_ASSERT_STRING_EQUAL(info.verifier, "");
	CU_ASSERT_STRING_EQUAL(info.why, "rule registry-max-age: the verifier registry was last confirmed by the "
		"repository at 2025-12-31T22:59:59Z, more than 3600 s ago; who may ask cannot be told now");
	CU_ASSERT_EQUAL(check_as(plain, &holder, &c, s, FX_NOW - 3600, FX_NOW, &info), ACCESS_OK);
	CU_ASSERT_EQUAL(check_as(plain, &holder, &c, s, FX_NOW - 3601, FX_NOW, &info), ACCESS_TRY_LATER);
	CU_ASSERT_STRING_EQUAL(info.auth, "client-certificate");
	/* nobody registered by a registry that old cannot be told either; never confirmed */
	CU_ASSERT_EQUAL(check_as(stranger, &signer, &c, s, FX_NOW - 3601, FX_NOW, &info), ACCESS_TRY_LATER);
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, 0, FX_NOW, &info), ACCESS_TRY_LATER);
	CU_ASSERT_STRING_EQUAL(info.why, "rule registry-max-age: the verifier registry was never confirmed by the "
		"repository; who may ask cannot be told now");
	/* logged once in the minute, then again a minute on */
	CU_ASSERT_EQUAL(age_logs, 1);
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, 0, FX_NOW + 59, &info), ACCESS_TRY_LATER);
	CU_ASSERT_EQUAL(age_logs, 1);
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, 0, FX_NOW + 60, &info), ACCESS_TRY_LATER);
	CU_ASSERT_EQUAL(age_logs, 2);

	/* a confirmation in the future (a state copy written with the clock ahead) counts up to
	 * 300 s ahead, as clocks differ; beyond, it is no confirmation, named and logged */
	age_logs = 0;
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, FX_NOW + 500, FX_NOW + 200, &info), ACCESS_OK);
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, FX_NOW + 501, FX_NOW + 200, &info), ACCESS_TRY_LATER);
	CU_ASSERT_STRING_EQUAL(info.verifier, "");
	CU_ASSERT_STRING_EQUAL(info.why, "rule registry-max-age: the verifier registry was last confirmed by the "
		"repository at 2026-01-01T00:08:21Z, more than 300 s from now in the future (a clock set wrong); who may "
		"ask cannot be told now");
	CU_ASSERT_EQUAL(check_as(plain, &holder, &c, s, FX_NOW + 86400, FX_NOW + 200, &info), ACCESS_TRY_LATER);
	CU_ASSERT_EQUAL(age_logs, 1);
	/* the clock caught up with it: a confirmation again */
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, FX_NOW + 501, FX_NOW + 201, &info), ACCESS_OK);

	/* not needed: from the allowed network (signed or not), unsigned (sigRequired) */
	CU_ASSERT_EQUAL(check_as(req, &near, &c, s, 0, FX_NOW, &info), ACCESS_OK);
	CU_ASSERT_STRING_EQUAL(info.auth, "network");
	CU_ASSERT_EQUAL(check_as(plain, &near, &c, s, 0, FX_NOW, &info), ACCESS_OK);
	CU_ASSERT_EQUAL(check_as(plain, &signer, &c, s, 0, FX_NOW, &info), ACCESS_SIG_REQUIRED);
	/* registry-max-age 0: no limit */
	c.registry_max_age = 0;
	CU_ASSERT_EQUAL(check_as(req, &signer, &c, s, 0, FX_NOW, &info), ACCESS_OK);
	CU_ASSERT_EQUAL(check_as(plain, &holder, &c, s, 0, FX_NOW, &info), ACCESS_OK);

	OCSP_REQUEST_free(req);
	OCSP_REQUEST_free(plain);
	OCSP_REQUEST_free(stranger);
	snapshot_unref(s);
	X509_free(cert);
	X509_free(other);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("snapshot_index", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "2000 verifiers, by hash, by subject, by signature", test_many) ||
	    !CU_add_test(s, "a renewal: two certificates of one subject", test_renewal) ||
	    !CU_add_test(s, "a subject and a certificate two verifiers share", test_shared) ||
	    !CU_add_test(s, "a requestorName nobody has", test_unknown_name) ||
	    !CU_add_test(s, "a signed request without a requestorName", test_no_requestor_name) ||
	    !CU_add_test(s, "a requestorName encoded otherwise than the subject", test_name_other_encoding) ||
	    !CU_add_test(s, "the requestorName in the DER", test_requestor_name_der) ||
	    !CU_add_test(s, "registry-max-age: an old registry judges nobody", test_registry_age)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
