/* Unit tests for responder/request_der.c: dropping the certs of a signed OCSPRequest. */
#include "request_der.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "fixture.h"

static X509_NAME *signer_name;
static X509 *signer_cert;	/* self-signed, key FX_OTHER */
static X509 *rogue_cert;	/* the same subject, key FX_ROGUE */
static STACK_OF(X509) *signer_only, *rogue_only;

static int init_suite(void)
{
	signer_name = fx_name("C", "JP", "O", "Example Verifier", "CN", "ocsp client", NULL);
	signer_cert = fx_cert(signer_name, fx_key(FX_OTHER), signer_name, fx_key(FX_OTHER), 0, 7);
	rogue_cert = fx_cert(signer_name, fx_key(FX_ROGUE), signer_name, fx_key(FX_ROGUE), 0, 8);
	signer_only = sk_X509_new_null();
	rogue_only = sk_X509_new_null();
	if (signer_cert == NULL || rogue_cert == NULL || signer_only == NULL || rogue_only == NULL ||
	    !sk_X509_push(signer_only, signer_cert) || !sk_X509_push(rogue_only, rogue_cert))
		return -1;
	return 0;
}

static int clean_suite(void)
{
	sk_X509_free(signer_only);
	sk_X509_free(rogue_only);
	X509_free(signer_cert);
	X509_free(rogue_cert);
	X509_NAME_free(signer_name);
	fx_cleanup();
	return 0;
}

/* Exact-size heap copies, so that a read or write one byte too far shows under ASan or
 * valgrind. */
typedef struct buf {
	unsigned char *p;
	size_t n;
} buf;

static buf copy(const void *p, size_t n)
{
	buf b = { malloc(n > 0 ? n : 1), n };

	if (b.p != NULL && n > 0)
		memcpy(b.p, p, n);
	return b;
}

static buf der_of(OCSP_REQUEST *req)
{
	unsigned char *der = NULL;
	int len = i2d_OCSP_REQUEST(req, &der);
	buf b = { NULL, 0 };

	if (len > 0)
		b = copy(der, (size_t)len);
	OPENSSL_free(der);
	return b;
}

/* The n bytes at p0 as one whole OCSPRequest, or NULL. */
static OCSP_REQUEST *parse(const unsigned char *p0, size_t n)
{
	const unsigned char *p = p0;
	OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)n);

	if (req != NULL && p != p0 + n) {
		OCSP_REQUEST_free(req);
		req = NULL;
	}
	ERR_clear_error();
	return req;
}

/* ocsp_request_drop_certs into an out buffer of exactly in.n bytes. */
static int drop(buf in, buf *out)
{
	int rc;

	out->p = malloc(in.n > 0 ? in.n : 1);
	out->n = 0;
	rc = ocsp_request_drop_certs(in.p, in.n, out->p, &out->n);
	if (rc != 1) {
		free(out->p);
		out->p = NULL;
	}
	return rc;
}

static int same(buf a, buf b)
{
	return a.p != NULL && b.p != NULL && a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* An unsigned request for n certificates of the fixture's CA, with a nonce or not. */
static OCSP_REQUEST *unsigned_request(int n, int nonce)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	X509 *ca = fx_ca_cert(FX_GEN1);

	for (int i = 0; req != NULL && i < n; i++) {
		X509 *leaf = fx_cert(fx_other_name(), fx_key(FX_OTHER), fx_ca_name(), fx_key(FX_GEN1), 0,
			1000 + i);
		OCSP_CERTID *id = leaf != NULL ? OCSP_cert_to_id(NULL, leaf, ca) : NULL;

		X509_free(leaf);
		if (id == NULL || OCSP_request_add0_id(req, id) == NULL) {
			OCSP_CERTID_free(id);
			OCSP_REQUEST_free(req);
			return NULL;
		}
	}
	if (req != NULL && nonce && !OCSP_request_add1_nonce(req, NULL, 16)) {
		OCSP_REQUEST_free(req);
		return NULL;
	}
	return req;
}

static OCSP_REQUEST *dup_request(OCSP_REQUEST *req)
{
	buf b = der_of(req);
	OCSP_REQUEST *d = b.p != NULL ? parse(b.p, b.n) : NULL;

	free(b.p);
	return d;
}

/* One signed request, DER with the signer's certificates (and extra) and without them. RSA
 * PKCS#1 v1.5 is deterministic: both copies carry the same signature bytes. */
static int signed_pair(int ncertids, STACK_OF(X509) *extra, buf *with, buf *without)
{
	OCSP_REQUEST *base = unsigned_request(ncertids, 1);
	OCSP_REQUEST *a = base != NULL ? dup_request(base) : NULL, *b = base != NULL ? dup_request(base) : NULL;
	int ok = a != NULL && b != NULL &&
		OCSP_request_sign(a, signer_cert, fx_key(FX_OTHER), EVP_sha256(), extra, 0) &&
		OCSP_request_sign(b, signer_cert, fx_key(FX_OTHER), EVP_sha256(), NULL, OCSP_NOCERTS);

	if (ok) {
		*with = der_of(a);
		*without = der_of(b);
		ok = with->p != NULL && without->p != NULL;
	}
	OCSP_REQUEST_free(base);
	OCSP_REQUEST_free(a);
	OCSP_REQUEST_free(b);
	return ok;
}

/* A hand-written TLV header reader for the test's own checks, independent of OpenSSL's:
 * definite lengths of up to 4 bytes. */
static int tlv(const unsigned char *p, size_t avail, size_t *hdr, size_t *body)
{
	size_t h = 2, n;

	if (avail < 2 || p[1] == 0x80 || p[1] > 0x84)
		return 0;
	n = p[1];
	if (p[1] & 0x80) {
		h += p[1] & 0x7f;
		if (avail < h)
			return 0;
		n = 0;
		for (size_t i = 2; i < h; i++)
			n = n << 8 | p[i];
	}
	if (n > avail - h)
		return 0;
	*hdr = h;
	*body = n;
	return 1;
}

/* A signed request cut in its three parts: the tbsRequest element, the Signature's
 * algorithm and BIT STRING elements, and the certs element ([0] and all). */
typedef struct parts {
	buf tbs, sigbody, certs;
} parts;

static int split(buf in, parts *s)
{
	const unsigned char *p = in.p, *end = in.p + in.n, *sig;
	size_t h, n;

	if (!tlv(p, (size_t)(end - p), &h, &n) || p[0] != 0x30 || h + n != in.n)
		return 0;
	p += h;
	if (!tlv(p, (size_t)(end - p), &h, &n) || p[0] != 0x30)
		return 0;
	s->tbs = (buf){ (unsigned char *)p, h + n };
	p += h + n;
	if (!tlv(p, (size_t)(end - p), &h, &n) || p[0] != 0xa0 || p + h + n != end)
		return 0;
	p += h;
	if (!tlv(p, (size_t)(end - p), &h, &n) || p[0] != 0x30 || p + h + n != end)
		return 0;
	sig = p += h;
	if (!tlv(p, (size_t)(end - p), &h, &n) || p[0] != 0x30)
		return 0;
	p += h + n;
	if (!tlv(p, (size_t)(end - p), &h, &n) || p[0] != 0x03)
		return 0;
	p += h + n;
	s->sigbody = (buf){ (unsigned char *)sig, (size_t)(p - sig) };
	s->certs = (buf){ (unsigned char *)p, (size_t)(end - p) };
	return s->certs.n > 0 && p[0] == 0xa0;
}

/* A DER writer for hand-made variants, with the length forms under test. */
typedef struct blob {
	unsigned char b[16384];
	size_t n;
} blob;

/* LONG4, LONG9Z: the right length in 4 or 9 bytes (leading zeros); LONG9: 9 bytes, more than
 * 64 bits; HUGE4: 0xffffffff; PLUS1: one more than there is. */
enum form { MINIMAL, LONG4, LONG9Z, INDEFINITE, PLUS1, LONG9, HUGE4 };

static void add(blob *d, const void *p, size_t n)
{
	CU_ASSERT_FATAL(d->n + n <= sizeof(d->b));
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void add_byte(blob *d, unsigned char c)
{
	add(d, &c, 1);
}

/* Appends tag, a length in the given form and the contents s. */
static void add_tlv(blob *d, unsigned char tag, const void *s, size_t n, enum form f)
{
	size_t declared = f == PLUS1 ? n + 1 : n;
	int bytes = f == LONG4 || f == HUGE4 ? 4 : f == LONG9 || f == LONG9Z ? 9 : declared < 0x80 ? 0 :
		declared < 0x100 ? 1 : declared < 0x10000 ? 2 : 3;

	add_byte(d, tag);
	if (f == INDEFINITE) {
		add_byte(d, 0x80);
		add(d, s, n);
		add(d, "\0\0", 2);
		return;
	}
	if (bytes == 0)
		add_byte(d, (unsigned char)declared);
	else
		add_byte(d, (unsigned char)(0x80 | bytes));
	for (int i = bytes - 1; i >= 0; i--)
		add_byte(d, f == HUGE4 ? 0xff : f == LONG9 && i == 8 ? 0x01 : i >= (int)sizeof(size_t) ? 0 :
			(unsigned char)(declared >> (8 * i)));
	add(d, s, n);
}

/* SEQUENCE { tbs, [exp_tag] { SEQUENCE { sigbody, extra } } } with these length forms. */
static void request(blob *d, const parts *s, const void *extra, size_t extra_n, unsigned char exp_tag,
	enum form f_req, enum form f_exp, enum form f_sig)
{
	blob sig = { .n = 0 }, sigel = { .n = 0 }, exp = { .n = 0 }, req = { .n = 0 };

	add(&sig, s->sigbody.p, s->sigbody.n);
	add(&sig, extra, extra_n);
	add_tlv(&sigel, 0x30, sig.b, sig.n, f_sig);
	add_tlv(&exp, exp_tag, sigel.b, sigel.n, f_exp);
	add(&req, s->tbs.p, s->tbs.n);
	add(&req, exp.b, exp.n);
	d->n = 0;
	add_tlv(d, 0x30, req.b, req.n, f_req);
}

/* ocsp_request_drop_certs on a blob; when it returns 1, *match tells whether the output is
 * want. */
static int drop_blob(const blob *d, buf want, int *match)
{
	buf in = copy(d->b, d->n), out;
	int rc = drop(in, &out);

	*match = rc == 1 && same(out, want);
	free(in.p);
	free(out.p);
	return rc;
}

static void check_dropped(buf with, buf without)
{
	buf out = { NULL, 0 };
	OCSP_REQUEST *in_req, *out_req;
	int i, j;

	CU_ASSERT_TRUE_FATAL(with.n > without.n);
	CU_ASSERT_EQUAL_FATAL(drop(with, &out), 1);
	/* the request signed without certificates, byte for byte */
	CU_ASSERT_EQUAL(out.n, without.n);
	CU_ASSERT_TRUE(same(out, without));
	out_req = parse(out.p, out.n);
	in_req = parse(with.p, with.n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out_req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in_req);
	/* the signature still verifies with the registry's certificate, not with another key */
	CU_ASSERT_EQUAL(OCSP_request_verify(out_req, signer_only, NULL,
		OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN), 1);
	CU_ASSERT_EQUAL(OCSP_request_verify(out_req, rogue_only, NULL,
		OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN), 0);
	/* the signer is found among the request's own certificates before, not after */
	CU_ASSERT_EQUAL(OCSP_request_verify(in_req, NULL, NULL, OCSP_NOVERIFY), 1);
	CU_ASSERT_EQUAL(OCSP_request_verify(out_req, NULL, NULL, OCSP_NOVERIFY), 0);
	/* the same questions and nonce */
	CU_ASSERT_EQUAL(OCSP_request_onereq_count(out_req), OCSP_request_onereq_count(in_req));
	i = OCSP_REQUEST_get_ext_by_NID(in_req, NID_id_pkix_OCSP_Nonce, -1);
	j = OCSP_REQUEST_get_ext_by_NID(out_req, NID_id_pkix_OCSP_Nonce, -1);
	CU_ASSERT_TRUE_FATAL(i >= 0 && j >= 0);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(in_req, i)),
		X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(out_req, j))), 0);
	ERR_clear_error();
	OCSP_REQUEST_free(in_req);
	OCSP_REQUEST_free(out_req);
	free(out.p);
}

static void test_signer_cert(void)
{
	buf with = { NULL, 0 }, without = { NULL, 0 };

	CU_ASSERT_TRUE_FATAL(signed_pair(2, NULL, &with, &without));
	check_dropped(with, without);
	free(with.p);
	free(without.p);
}

static void test_several_certs(void)
{
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509 *link = fx_link(FX_GEN2, FX_GEN1);
	buf with = { NULL, 0 }, without = { NULL, 0 };
	parts s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(link);
	CU_ASSERT_TRUE_FATAL(extra != NULL && sk_X509_push(extra, fx_ca_cert(FX_GEN1)) &&
		sk_X509_push(extra, fx_ca_cert(FX_GEN2)) && sk_X509_push(extra, link));
	CU_ASSERT_TRUE_FATAL(signed_pair(3, extra, &with, &without));
	check_dropped(with, without);
	/* Lengths keep their 2-byte form here, so the result is shorter by the certs element. */
	CU_ASSERT_TRUE_FATAL(split(with, &s));
	CU_ASSERT_TRUE(s.certs.n > 4 * 700);
	CU_ASSERT_EQUAL(with.n - without.n, s.certs.n);
	sk_X509_free(extra);
	X509_free(link);
	free(with.p);
	free(without.p);
}

/* A small ECDSA request whose headers shrink from 2-byte to 1-byte lengths. The certificate
 * is added after signing (OCSP_request_add1_cert), so both forms carry one signature. */
static void test_headers_shrink(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = key != NULL ? fx_cert(signer_name, key, signer_name, key, 0, 9) : NULL;
	OCSP_REQUEST *req = unsigned_request(1, 0);
	STACK_OF(X509) *one = sk_X509_new_null();
	buf with = { NULL, 0 }, without = { NULL, 0 }, out = { NULL, 0 };
	OCSP_REQUEST *out_req;

	CU_ASSERT_TRUE_FATAL(cert != NULL && req != NULL && one != NULL && sk_X509_push(one, cert));
	CU_ASSERT_TRUE_FATAL(OCSP_request_sign(req, cert, key, EVP_sha256(), NULL, OCSP_NOCERTS));
	without = der_of(req);
	CU_ASSERT_TRUE_FATAL(OCSP_request_add1_cert(req, cert));
	with = der_of(req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(without.p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(with.p);
	CU_ASSERT_TRUE_FATAL(with.n >= 256 && without.n < 256);
	CU_ASSERT_EQUAL(with.p[1], 0x82);
	CU_ASSERT_EQUAL(without.p[1], 0x81);

	CU_ASSERT_EQUAL_FATAL(drop(with, &out), 1);
	CU_ASSERT_TRUE(same(out, without));
	out_req = parse(out.p, out.n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out_req);
	CU_ASSERT_EQUAL(OCSP_request_verify(out_req, one, NULL, OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN), 1);
	ERR_clear_error();
	OCSP_REQUEST_free(out_req);
	OCSP_REQUEST_free(req);
	sk_X509_free(one);
	X509_free(cert);
	EVP_PKEY_free(key);
	free(with.p);
	free(without.p);
	free(out.p);
}

/* 0, and neither out nor *outlen written. */
static void check_nothing(buf in)
{
	unsigned char *out = malloc(in.n);
	size_t outlen = 12345;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	memset(out, 0xa5, in.n);
	CU_ASSERT_EQUAL(ocsp_request_drop_certs(in.p, in.n, out, &outlen), 0);
	CU_ASSERT_EQUAL(outlen, 12345);
	for (i = 0; i < in.n && out[i] == 0xa5; i++)
		;
	CU_ASSERT_EQUAL(i, in.n);
	free(out);
}

static void test_nothing_to_drop(void)
{
	OCSP_REQUEST *req = unsigned_request(2, 1);
	buf unsigned_der, with = { NULL, 0 }, without = { NULL, 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	unsigned_der = der_of(req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unsigned_der.p);
	check_nothing(unsigned_der);
	CU_ASSERT_TRUE_FATAL(signed_pair(1, NULL, &with, &without));
	check_nothing(without);
	CU_ASSERT_EQUAL(ocsp_request_drop_certs(NULL, 0, with.p, &with.n), 0);
	CU_ASSERT_EQUAL(ocsp_request_drop_certs(with.p, 0, with.p, &with.n), 0);
	OCSP_REQUEST_free(req);
	free(unsigned_der.p);
	free(with.p);
	free(without.p);
}

/* Every prefix of a signed request: the outer length claims more than there is. */
static void test_truncations(void)
{
	buf with = { NULL, 0 }, without = { NULL, 0 }, out;
	size_t n, ones = 0;

	CU_ASSERT_TRUE_FATAL(signed_pair(2, NULL, &with, &without));
	for (n = 0; n <= with.n; n++) {
		buf cut = copy(with.p, n);

		CU_ASSERT_PTR_NOT_NULL_FATAL(cut.p);
		if (drop(cut, &out) == 1) {
			ones++;
			CU_ASSERT_TRUE(same(out, without));
		}
		free(out.p);
		free(cut.p);
	}
	CU_ASSERT_EQUAL(ones, 1);	/* the whole request only */
	free(with.p);
	free(without.p);
}

static uint32_t rng = 0x2545f491;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Random changes of 1 to 3 bytes (fixed seed), half of them within 12 bytes of where the
 * request, the tbsRequest, the [0] and Signature headers, the algorithm and the certs begin.
 * When 1 is returned: a result shorter than the input; a request d2i accepts stays
 * acceptable without its certs; changes inside the certs element only give the certless
 * request exactly. */
static void test_byte_flips(void)
{
	buf with = { NULL, 0 }, without = { NULL, 0 }, out;
	size_t certs_at, anchors[5];
	unsigned ones = 0, zeros = 0, inside_ones = 0, bad = 0;
	parts s;

	CU_ASSERT_TRUE_FATAL(signed_pair(1, NULL, &with, &without));
	CU_ASSERT_TRUE_FATAL(split(with, &s));
	certs_at = (size_t)(s.certs.p - with.p);
	anchors[0] = 0;
	anchors[1] = (size_t)(s.tbs.p - with.p);
	anchors[2] = anchors[1] + s.tbs.n;
	anchors[3] = (size_t)(s.sigbody.p - with.p);
	anchors[4] = certs_at;
	for (int round = 0; round < 4000; round++) {
		buf in = copy(with.p, with.n);
		int flips = 1 + (int)(next() % 3), inside = 1;
		OCSP_REQUEST *in_req, *out_req;

		for (int i = 0; i < flips; i++) {
			size_t at = next() % in.n, near = anchors[next() % 5] + next() % 12;

			if (next() % 2)
				at = near % in.n;

			in.p[at] ^= (unsigned char)(1 + next() % 255);
			inside = inside && at >= certs_at;
		}
		if (drop(in, &out) == 1) {
			ones++;
			if (out.n >= in.n)
				bad++;
			in_req = parse(in.p, in.n);
			out_req = parse(out.p, out.n);
			if (in_req != NULL && out_req == NULL)
				bad++;
			if (inside) {
				inside_ones++;
				if (!same(out, without))
					bad++;
			}
			OCSP_REQUEST_free(in_req);
			OCSP_REQUEST_free(out_req);
		} else {
			zeros++;
		}
		free(out.p);
		free(in.p);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* both paths were taken, many times */
	CU_ASSERT_TRUE(ones > 500 && zeros > 500 && inside_ones > 500);
	free(with.p);
	free(without.p);
}

/* Lengths and structures made by hand. */
static void test_malformed(void)
{
	static const unsigned char integer_certs[] = { 0xa0, 0x03, 0x02, 0x01, 0x00 };
	static const unsigned char empty_certs[] = { 0xa0, 0x02, 0x30, 0x00 };
	static const unsigned char null_after[] = { 0x05, 0x00 };
	buf with = { NULL, 0 }, without = { NULL, 0 };
	blob d, certs_var;
	parts s;
	int match;
	size_t certs_hdr, certs_body, seq_hdr, seq_body;

	CU_ASSERT_TRUE_FATAL(signed_pair(1, NULL, &with, &without));
	CU_ASSERT_TRUE_FATAL(split(with, &s));
	/* the writer, checked against OpenSSL's encodings */
	request(&d, &s, s.certs.p, s.certs.n, 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_TRUE_FATAL(d.n == with.n && memcmp(d.b, with.p, with.n) == 0);
	request(&d, &s, "", 0, 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_TRUE_FATAL(d.n == without.n && memcmp(d.b, without.p, without.n) == 0);

	/* Non-minimal lengths are read, as d2i reads them; the result has minimal ones. */
	for (enum form f = LONG4; f <= LONG9Z; f++) {
		OCSP_REQUEST *req;

		request(&d, &s, s.certs.p, s.certs.n, 0xa0, f, f, f);
		req = parse(d.b, d.n);
		CU_ASSERT_PTR_NOT_NULL(req);
		OCSP_REQUEST_free(req);
		CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 1);
		CU_ASSERT_TRUE(match);
	}
	/* an empty SEQUENCE OF is dropped too */
	request(&d, &s, empty_certs, sizeof(empty_certs), 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 1);
	CU_ASSERT_TRUE(match);

	/* indefinite lengths, a length past its parent, 9 length bytes, a 4 GB length */
	for (enum form f = INDEFINITE; f <= HUGE4; f++) {
		request(&d, &s, s.certs.p, s.certs.n, 0xa0, f, MINIMAL, MINIMAL);
		CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
		request(&d, &s, s.certs.p, s.certs.n, 0xa0, MINIMAL, f, MINIMAL);
		CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
		request(&d, &s, s.certs.p, s.certs.n, 0xa0, MINIMAL, MINIMAL, f);
		CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	}
	/* optionalSignature as [1] */
	request(&d, &s, s.certs.p, s.certs.n, 0xa1, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	/* certs as [1], as an INTEGER, followed by another element */
	certs_var.n = 0;
	add(&certs_var, s.certs.p, s.certs.n);
	certs_var.b[0] = 0xa1;
	request(&d, &s, certs_var.b, certs_var.n, 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	request(&d, &s, integer_certs, sizeof(integer_certs), 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	certs_var.n = 0;
	add(&certs_var, s.certs.p, s.certs.n);
	add(&certs_var, null_after, sizeof(null_after));
	request(&d, &s, certs_var.b, certs_var.n, 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	/* a SEQUENCE OF whose element is not a SEQUENCE: [0] { SEQUENCE { cert, INTEGER } } */
	CU_ASSERT_TRUE_FATAL(tlv(s.certs.p, s.certs.n, &certs_hdr, &certs_body));
	CU_ASSERT_TRUE_FATAL(tlv(s.certs.p + certs_hdr, certs_body, &seq_hdr, &seq_body));
	{
		blob seq = { .n = 0 };

		add(&seq, s.certs.p + certs_hdr + seq_hdr, seq_body);
		add(&seq, "\x02\x01\x00", 3);
		certs_var.n = 0;
		{
			blob inner = { .n = 0 };

			add_tlv(&inner, 0x30, seq.b, seq.n, MINIMAL);
			add_tlv(&certs_var, 0xa0, inner.b, inner.n, MINIMAL);
		}
	}
	request(&d, &s, certs_var.b, certs_var.n, 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	/* a constructed BIT STRING (BER, not DER); the certs as APPLICATION 0 */
	{
		parts t = s;
		buf body = copy(s.sigbody.p, s.sigbody.n);
		size_t h, n;

		CU_ASSERT_TRUE_FATAL(tlv(body.p, body.n, &h, &n));
		CU_ASSERT_EQUAL_FATAL(body.p[h + n], 0x03);
		body.p[h + n] = 0x23;
		t.sigbody = body;
		request(&d, &t, s.certs.p, s.certs.n, 0xa0, MINIMAL, MINIMAL, MINIMAL);
		CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
		free(body.p);
	}
	certs_var.n = 0;
	add(&certs_var, s.certs.p, s.certs.n);
	certs_var.b[0] = 0x60;
	request(&d, &s, certs_var.b, certs_var.n, 0xa0, MINIMAL, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	/* a tbsRequest that is not a SEQUENCE */
	{
		parts t = s;
		buf tbs = copy(s.tbs.p, s.tbs.n);

		tbs.p[0] = 0x31;
		t.tbs = tbs;
		request(&d, &t, s.certs.p, s.certs.n, 0xa0, MINIMAL, MINIMAL, MINIMAL);
		CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
		free(tbs.p);
	}

	/* bytes after the request: a zero, an empty SEQUENCE (which would pass for one more
	 * certificate if the walk looked past the request's end) */
	d.n = 0;
	add(&d, with.p, with.n);
	add_byte(&d, 0x00);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	d.n = with.n;
	add(&d, "\x30\x00", 2);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	/* OpenSSL's error queue is left as it was, though its header reader complained */
	ERR_clear_error();
	ERR_raise(ERR_LIB_USER, 42);
	request(&d, &s, s.certs.p, s.certs.n, 0xa0, HUGE4, MINIMAL, MINIMAL);
	CU_ASSERT_EQUAL(drop_blob(&d, without, &match), 0);
	CU_ASSERT_EQUAL(ERR_GET_REASON(ERR_get_error()), 42);
	CU_ASSERT_EQUAL(ERR_get_error(), 0);
	/* a length above INT_MAX / 2 is refused before anything is read */
	CU_ASSERT_EQUAL(ocsp_request_drop_certs(with.p, (size_t)INT_MAX + 1, with.p, &with.n), 0);

	free(with.p);
	free(without.p);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("request_der", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "signed with the signer's certificate", test_signer_cert) ||
	    !CU_add_test(s, "signed with several certificates", test_several_certs) ||
	    !CU_add_test(s, "headers shrink to 1-byte lengths", test_headers_shrink) ||
	    !CU_add_test(s, "unsigned and certless requests", test_nothing_to_drop) ||
	    !CU_add_test(s, "every truncation", test_truncations) ||
	    !CU_add_test(s, "random byte changes", test_byte_flips) ||
	    !CU_add_test(s, "hand-made lengths and structures", test_malformed)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
