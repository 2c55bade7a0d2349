/* Unit tests for responder/request_der.c: dropping the certs of a signed OCSPRequest, and the
 * view of a request read without decoding it. */
#include "request_der.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/rsa.h>
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
 * 64 bits; HUGE4: 0xffffffff; PLUS1: one more than there is; MINUS1: one less (put_tlv only). */
enum form { MINIMAL, LONG4, LONG9Z, INDEFINITE, PLUS1, LONG9, HUGE4, MINUS1 };

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

/*
 * ocsp_request_view_of: the view of a request read without decoding it. The responder
 * decides access and cache hits from it and decodes with d2i_OCSP_REQUEST only on a miss,
 * so on every request OpenSSL takes as DER the view must agree with OpenSSL.
 */

static const ocsp_request_view zero_view;

static int view_is_zero(const ocsp_request_view *v)
{
	return memcmp(v, &zero_view, sizeof(*v)) == 0;
}

/* A view of -1: zeroed but for the rule it names. */
static int view_is_refused(const ocsp_request_view *v)
{
	ocsp_request_view z = *v;

	if (v->refused[0] == '\0' || memchr(v->refused, '\0', sizeof(v->refused)) == NULL)
		return 0;
	memset(z.refused, 0, sizeof(z.refused));
	return view_is_zero(&z);
}

/* What the view refuses with -1, found from OpenSSL's decoding of a request instead: a
 * version other than v1 (as OCSP_REQUEST_print shows it: "(0x0)" for v1, given or not), a
 * critical requestExtension other than the nonce and acceptableResponses, any critical
 * singleRequestExtension, an extension type twice in the requestExtensions or in one
 * Request's singleRequestExtensions. */
static int rfc_refuses(OCSP_REQUEST *req)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *text = NULL, *at;
	long n = 0;
	int refuses = 0;

	if (b != NULL && OCSP_REQUEST_print(b, req, 0) >= 0)
		n = BIO_get_mem_data(b, &text);
	if (n <= 0 || text == NULL || (at = memchr(text, '(', (size_t)n)) == NULL || n - (at - text) < 5) {
		BIO_free(b);
		return -1;	/* cannot tell */
	}
	refuses = memcmp(at, "(0x0)", 5) != 0;
	BIO_free(b);
	for (int i = 0; i < OCSP_REQUEST_get_ext_count(req); i++) {
		X509_EXTENSION *ex = OCSP_REQUEST_get_ext(req, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ex));

		if (X509_EXTENSION_get_critical(ex) && nid != NID_id_pkix_OCSP_Nonce &&
		    nid != NID_id_pkix_OCSP_acceptableResponses)
			refuses = 1;
	}
	/* the same type again after an extension (RFC 5280 4.2), by OpenSSL's OBJ_cmp */
	for (int i = 0; i < OCSP_REQUEST_get_ext_count(req); i++)
		if (OCSP_REQUEST_get_ext_by_OBJ(req, X509_EXTENSION_get_object(OCSP_REQUEST_get_ext(req, i)), i) >= 0)
			refuses = 1;
	for (int i = 0; i < OCSP_request_onereq_count(req); i++) {
		OCSP_ONEREQ *one = OCSP_request_onereq_get0(req, i);

		for (int j = 0; j < OCSP_ONEREQ_get_ext_count(one); j++) {
			X509_EXTENSION *ex = OCSP_ONEREQ_get_ext(one, j);

			if (X509_EXTENSION_get_critical(ex) || OCSP_ONEREQ_get_ext_by_OBJ(one,
				    X509_EXTENSION_get_object(ex), j) >= 0)
				refuses = 1;
		}
	}
	ERR_clear_error();
	return refuses;
}

/* ocsp_request_view_of on in, with v filled with junk first so a field left unset shows. */
static int view(buf in, ocsp_request_view *v)
{
	memset(v, 0xa5, sizeof(*v));
	return ocsp_request_view_of(in.p, in.n, v);
}

/* [p, p + n) lies within [lo, lo + avail); NULL only with n == 0. */
static int within(const unsigned char *p, size_t n, const unsigned char *lo, size_t avail)
{
	uintptr_t a = (uintptr_t)p, l = (uintptr_t)lo;

	if (p == NULL)
		return n == 0;
	return a >= l && a - l <= avail && n <= avail - (a - l);
}

/* Every part of an accepted view inside in, where it belongs: the tbsRequest right after the
 * request's header, the name and the nonce inside it, the signature's two elements after it,
 * one after the other. */
static int view_inside(const ocsp_request_view *v, buf in)
{
	const unsigned char *after;
	size_t h, n, rest;

	if (v->tbs == NULL || v->tbs == in.p || !within(v->tbs, v->tbs_len, in.p, in.n) || v->tbs_len < 2)
		return 0;
	if (tlv(in.p, in.n, &h, &n) && v->tbs != in.p + h)
		return 0;
	if (tlv(v->tbs, v->tbs_len, &h, &n) && h + n != v->tbs_len)
		return 0;
	if (!within(v->name, v->name_len, v->tbs, v->tbs_len) || !within(v->nonce, v->nonce_len, v->tbs, v->tbs_len))
		return 0;
	if ((v->name == NULL) != (v->name_len == 0))
		return 0;
	after = v->tbs + v->tbs_len;
	rest = in.n - (size_t)(after - in.p);
	if (v->sig_alg == NULL)
		return v->sig == NULL && v->sig_alg_len == 0 && v->sig_len == 0 && rest == 0;
	return v->sig_alg_len >= 2 && v->sig_len >= 2 && v->sig == v->sig_alg + v->sig_alg_len &&
		within(v->sig_alg, v->sig_alg_len, after, rest) && within(v->sig, v->sig_len, after, rest) &&
		v->sig_alg[0] == 0x30 && v->sig[0] == 0x03;
}

/* SHA-256 over OpenSSL's encodings of the request's CertIDs, in order. */
static int certids_hash(OCSP_REQUEST *req, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL);

	for (int i = 0; ok && i < OCSP_request_onereq_count(req); i++) {
		unsigned char *der = NULL;
		int len = i2d_OCSP_CERTID(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)), &der);

		ok = len > 0 && EVP_DigestUpdate(md, der, (size_t)len);
		OPENSSL_free(der);
	}
	ok = ok && EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	return ok;
}

/* The view's nonce is OpenSSL's first nonce extension's value (with bytes: byte for byte), or
 * both are absent. */
static int nonce_agrees(const ocsp_request_view *v, OCSP_REQUEST *req, int bytes)
{
	int i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
	const ASN1_OCTET_STRING *d;

	if (i < 0)
		return v->nonce == NULL && v->nonce_len == 0;
	d = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, i));
	if (v->nonce == NULL || d == NULL)
		return 0;
	return !bytes || (v->nonce_len == (size_t)ASN1_STRING_length(d) &&
		(v->nonce_len == 0 || memcmp(v->nonce, ASN1_STRING_get0_data(d), v->nonce_len) == 0));
}

/* The view's signature checked as responder/access.c checks it: the algorithm and the BIT
 * STRING decoded from their elements, the signed bytes an ANY holding the tbsRequest element
 * as received. With flip >= 0, one byte of a copy of those bytes is changed first. */
static int view_verifies(const ocsp_request_view *v, EVP_PKEY *key, long flip)
{
	const unsigned char *p = v->sig_alg;
	X509_ALGOR *alg = p != NULL ? d2i_X509_ALGOR(NULL, &p, (long)v->sig_alg_len) : NULL;
	int whole = alg != NULL && p == v->sig_alg + v->sig_alg_len, rc = 0;
	ASN1_BIT_STRING *sig = NULL;
	buf tbs = copy(v->tbs, v->tbs_len);
	ASN1_STRING str;
	ASN1_TYPE any;

	p = v->sig;
	if (whole && p != NULL)
		sig = d2i_ASN1_BIT_STRING(NULL, &p, (long)v->sig_len);
	if (sig != NULL && p == v->sig + v->sig_len && tbs.p != NULL && tbs.n > 0) {
		if (flip >= 0)
			tbs.p[(size_t)flip % tbs.n] ^= 0x01;
		memset(&str, 0, sizeof(str));
		str.type = V_ASN1_SEQUENCE;
		str.data = tbs.p;
		str.length = (int)tbs.n;
		any.type = V_ASN1_SEQUENCE;
		any.value.sequence = &str;
		rc = ASN1_item_verify(ASN1_ITEM_rptr(ASN1_ANY), alg, sig, &any, key) == 1;
	}
	ERR_clear_error();
	X509_ALGOR_free(alg);
	ASN1_BIT_STRING_free(sig);
	free(tbs.p);
	return rc;
}

/* Writers like add() and add_tlv(), for the view's tests, which write many thousands of
 * elements: they count no assertion; a blob too small stops the binary. */
static void put(blob *d, const void *p, size_t n)
{
	if (n > sizeof(d->b) - d->n) {
		fprintf(stderr, "test_request_der: blob overflow\n");
		abort();
	}
	if (n > 0)
		memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void put_byte(blob *d, unsigned char c)
{
	put(d, &c, 1);
}

/* tag, a length in the form (MINIMAL, LONG4, LONG9Z, INDEFINITE, PLUS1, MINUS1), the contents */
static void put_tlv(blob *d, unsigned char tag, const void *s, size_t n, enum form f)
{
	size_t declared = f == PLUS1 ? n + 1 : f == MINUS1 && n > 0 ? n - 1 : n;
	int bytes = f == LONG4 ? 4 : f == LONG9Z ? 9 : declared < 0x80 ? 0 : declared < 0x100 ? 1 :
		declared < 0x10000 ? 2 : 3;

	put_byte(d, tag);
	if (f == INDEFINITE) {
		put_byte(d, 0x80);
		put(d, s, n);
		put(d, "\0\0", 2);
		return;
	}
	if (bytes == 0)
		put_byte(d, (unsigned char)declared);
	else
		put_byte(d, (unsigned char)(0x80 | bytes));
	for (int i = bytes - 1; i >= 0; i--)
		put_byte(d, i >= (int)sizeof(size_t) ? 0 : (unsigned char)(declared >> (8 * i)));
	put(d, s, n);
}

/* The view of an OpenSSL-made request, checked against OpenSSL's decoding of it. name: the
 * directoryName it was given (NULL: no requestorName); key: the signer's (NULL: unsigned). */
static void check_view(buf der, const X509_NAME *name, EVP_PKEY *key)
{
	OCSP_REQUEST *req = parse(der.p, der.n);
	ocsp_request_view v;
	unsigned char want[32], *nder = NULL;
	int nlen;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_EQUAL_FATAL(view(der, &v), 1);
	CU_ASSERT_TRUE(view_inside(&v, der));
	CU_ASSERT_EQUAL(v.ncertids, (size_t)OCSP_request_onereq_count(req));
	CU_ASSERT_TRUE_FATAL(certids_hash(req, want));
	CU_ASSERT_EQUAL(memcmp(v.certids_sha256, want, sizeof(want)), 0);
	CU_ASSERT_TRUE(nonce_agrees(&v, req, 1));
	if (name == NULL) {
		CU_ASSERT_PTR_NULL(v.name);
		CU_ASSERT_EQUAL(v.name_len, 0);
	} else {
		nlen = i2d_X509_NAME(name, &nder);
		CU_ASSERT_TRUE_FATAL(nlen > 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v.name);
		CU_ASSERT_EQUAL(v.name_len, (size_t)nlen);
		CU_ASSERT_TRUE(v.name_len == (size_t)nlen && memcmp(v.name, nder, v.name_len) == 0);
		OPENSSL_free(nder);
	}
	CU_ASSERT_EQUAL(v.sig_alg != NULL, OCSP_request_is_signed(req) != 0);
	if (key != NULL) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(v.sig_alg);
		CU_ASSERT_TRUE(view_verifies(&v, key, -1));
		/* a changed signed byte anywhere: the header, the middle, the end */
		CU_ASSERT_FALSE(view_verifies(&v, key, 0));
		CU_ASSERT_FALSE(view_verifies(&v, key, 1));
		CU_ASSERT_FALSE(view_verifies(&v, key, (long)v.tbs_len / 2));
		CU_ASSERT_FALSE(view_verifies(&v, key, (long)v.tbs_len - 1));
		CU_ASSERT_FALSE(view_verifies(&v, fx_key(FX_ROGUE), -1));
	} else if (!OCSP_request_is_signed(req)) {
		CU_ASSERT_PTR_NULL(v.sig_alg);
		CU_ASSERT_PTR_NULL(v.sig);
		CU_ASSERT_EQUAL(v.sig_alg_len + v.sig_len, 0);
	}
	ERR_clear_error();
	OCSP_REQUEST_free(req);
}

/* A CertID for this serial (hex, may be negative) of the fixture's CA, under md. */
static OCSP_CERTID *certid_for(const EVP_MD *md, const char *serial_hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = BN_hex2bn(&bn, serial_hex) > 0 ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	X509 *ca = fx_ca_cert(FX_GEN1);
	OCSP_CERTID *id = sn != NULL && ca != NULL ?
		OCSP_cert_id_new(md, fx_ca_name(), X509_get0_pubkey_bitstr(ca), sn) : NULL;

	BN_free(bn);
	ASN1_INTEGER_free(sn);
	return id;
}

static X509_EXTENSION *ext_of(int nid, int crit, const void *val, int n)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ex = os != NULL && ASN1_OCTET_STRING_set(os, val, n) ?
		X509_EXTENSION_create_by_NID(NULL, nid, crit, os) : NULL;

	ASN1_OCTET_STRING_free(os);
	return ex;
}

/* acceptableResponses { id-pkix-ocsp-basic } */
static const unsigned char acceptable_basic[] = { 0x30, 0x0b, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05,
	0x05, 0x07, 0x30, 0x01, 0x01 };

/* What an OpenSSL-made request holds. */
typedef struct rq_spec {
	int nids;		/* CertIDs: SHA-1, SHA-256, ... alternately; the first from a certificate */
	int single;		/* the first Request gets singleRequestExtensions: a CrlID, then a nonce */
	int other;		/* a critical acceptableResponses before the nonce */
	int nonce;		/* nonce length (OCSP_request_add1_nonce); 0: none */
	const unsigned char *nonce_val;	/* its value, or NULL: random */
	int ignored;		/* after the nonce, an extension it ignores: 1.2.3.4, not critical */
	const X509_NAME *name;	/* OCSP_request_set1_name */
} rq_spec;

static OCSP_REQUEST *make_request(const rq_spec *s)
{
	static const char *serials[] = { "1000", "00ff", "-1234", "0123456789abcdef0123456789abcdef01234567",
		"7f", "80", "1" };
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	X509_EXTENSION *ex;
	int ok = req != NULL;

	for (int i = 0; ok && i < s->nids; i++) {
		OCSP_CERTID *id = NULL;
		OCSP_ONEREQ *one;

		if (i == 0) {
			X509 *leaf = fx_cert(fx_other_name(), fx_key(FX_OTHER), fx_ca_name(), fx_key(FX_GEN1), 0, 4242);

			id = leaf != NULL ? OCSP_cert_to_id(NULL, leaf, fx_ca_cert(FX_GEN1)) : NULL;
			X509_free(leaf);
		} else {
			char hex[64];

			snprintf(hex, sizeof(hex), "%s%02x", serials[i % 7], i);
			id = certid_for(i % 2 ? EVP_sha256() : EVP_sha1(), hex);
		}
		one = id != NULL ? OCSP_request_add0_id(req, id) : NULL;
		if (one == NULL) {
			OCSP_CERTID_free(id);
			ok = 0;
		} else if (i == 0 && s->single) {
			long crlnum = 77;
			char when[] = "20260101000000Z";
			ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

			ex = OCSP_crlID_new("http://crl.example.jp/x.crl", &crlnum, when);
			ok = ex != NULL && OCSP_ONEREQ_add_ext(one, ex, -1) && os != NULL &&
				ASN1_OCTET_STRING_set(os, (const unsigned char *)"single", 6) &&
				OCSP_ONEREQ_add1_ext_i2d(one, NID_id_pkix_OCSP_Nonce, os, 0, 0) == 1;
			X509_EXTENSION_free(ex);
			ASN1_OCTET_STRING_free(os);
		}
	}
	if (ok && s->other) {
		ex = ext_of(NID_id_pkix_OCSP_acceptableResponses, 1, acceptable_basic, sizeof(acceptable_basic));
		ok = ex != NULL && OCSP_REQUEST_add_ext(req, ex, -1);
		X509_EXTENSION_free(ex);
	}
	if (ok && s->nonce > 0)
		ok = OCSP_request_add1_nonce(req, (unsigned char *)s->nonce_val, s->nonce);
	if (ok && s->ignored) {
		ASN1_OBJECT *obj = OBJ_txt2obj("1.2.3.4", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

		ex = obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x04\x04zzzz", 6) ?
			X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os) : NULL;
		ok = ex != NULL && OCSP_REQUEST_add_ext(req, ex, -1);
		X509_EXTENSION_free(ex);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	if (ok && s->name != NULL)
		ok = OCSP_request_set1_name(req, (X509_NAME *)s->name);
	if (!ok) {
		ERR_print_errors_fp(stderr);
		OCSP_REQUEST_free(req);
		return NULL;
	}
	return req;
}

static buf made_der(const rq_spec *s)
{
	OCSP_REQUEST *req = make_request(s);
	buf b = { NULL, 0 };

	if (req != NULL)
		b = der_of(req);
	OCSP_REQUEST_free(req);
	return b;
}

/* Signed by signer_cert with OCSP_request_sign (RSA PKCS#1 v1.5). */
static buf made_signed(const rq_spec *s, STACK_OF(X509) *extra, unsigned long flags)
{
	OCSP_REQUEST *req = make_request(s);
	buf b = { NULL, 0 };

	if (req != NULL && OCSP_request_sign(req, signer_cert, fx_key(FX_OTHER), EVP_sha256(), extra, flags))
		b = der_of(req);
	OCSP_REQUEST_free(req);
	return b;
}

/* OpenSSL verifies the request's signature with cert's key. */
static int openssl_verifies(buf der, X509 *cert)
{
	OCSP_REQUEST *req = parse(der.p, der.n);
	STACK_OF(X509) *one = sk_X509_new_null();
	int rc = req != NULL && one != NULL && sk_X509_push(one, cert) &&
		OCSP_request_verify(req, one, NULL, OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN) == 1;

	ERR_clear_error();
	sk_X509_free(one);
	OCSP_REQUEST_free(req);
	return rc;
}

/* A request signed with RSA-PSS (SHA-256, salt 32), which OCSP_request_sign cannot make: the
 * tbsRequest of the request s describes (with signer_name as requestorName), signed with
 * ASN1_item_sign_ctx, assembled by hand. */
static buf made_pss(const rq_spec *s)
{
	rq_spec named = *s;
	buf unsig, out = { NULL, 0 };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_BIT_STRING *sig = ASN1_BIT_STRING_new();
	ASN1_STRING str;
	ASN1_TYPE any;
	unsigned char *a = NULL, *b = NULL;
	int alen, blen;
	size_t h, n;
	blob *sigbody = calloc(1, sizeof(blob)), *sigel = calloc(1, sizeof(blob)), *req = calloc(1, sizeof(blob)),
		*all = calloc(1, sizeof(blob));

	named.name = signer_name;
	unsig = made_der(&named);
	if (unsig.p == NULL || md == NULL || alg == NULL || sig == NULL || sigbody == NULL || sigel == NULL ||
	    req == NULL || all == NULL || !tlv(unsig.p, unsig.n, &h, &n))
		goto done;
	memset(&str, 0, sizeof(str));
	str.type = V_ASN1_SEQUENCE;
	str.data = unsig.p + h;
	str.length = (int)n;
	any.type = V_ASN1_SEQUENCE;
	any.value.sequence = &str;
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, fx_key(FX_OTHER)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0 ||
	    ASN1_item_sign_ctx(ASN1_ITEM_rptr(ASN1_ANY), alg, NULL, sig, &any, md) <= 0)
		goto done;
	alen = i2d_X509_ALGOR(alg, &a);
	blen = i2d_ASN1_BIT_STRING(sig, &b);
	if (alen <= 0 || blen <= 0)
		goto done;
	put(sigbody, a, (size_t)alen);
	put(sigbody, b, (size_t)blen);
	put_tlv(sigel, 0x30, sigbody->b, sigbody->n, MINIMAL);
	put(req, unsig.p + h, n);
	put_tlv(req, 0xa0, sigel->b, sigel->n, MINIMAL);
	put_tlv(all, 0x30, req->b, req->n, MINIMAL);
	out = copy(all->b, all->n);
done:
	ERR_print_errors_fp(stderr);
	OPENSSL_free(a);
	OPENSSL_free(b);
	free(unsig.p);
	free(sigbody);
	free(sigel);
	free(req);
	free(all);
	X509_ALGOR_free(alg);
	ASN1_BIT_STRING_free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

/* Unsigned requests of every shape OpenSSL's API makes. */
static void test_view_unsigned(void)
{
	X509_NAME *jp = fx_name("C", "JP", "O", "\xe5\x9c\xb0\xe6\x96\xb9\xe5\x85\xac\xe5\x85\xb1\xe5\x9b\xa3\xe4\xbd\x93"
		"\xe6\x83\x85\xe5\xa0\xb1\xe3\x82\xb7\xe3\x82\xb9\xe3\x83\x86\xe3\x83\xa0\xe6\xa9\x9f\xe6\xa7\x8b",
		"OU", "a rather long organizational unit name, so that", "OU", "the Name needs a long-form length",
		"CN", "\xe6\xa4\x9c\xe8\xa8\xbc\xe8\x80\x85", NULL);
	const rq_spec specs[] = {
		{ .nids = 1 },
		{ .nids = 3, .nonce = 16 },
		{ .nids = 2, .name = signer_name },
		{ .nids = 2, .name = jp, .nonce = 32 },
		{ .nids = 2, .single = 1 },	/* a nonce in singleRequestExtensions only: no nonce */
		{ .nids = 3, .single = 1, .other = 1, .nonce = 20, .ignored = 1, .name = signer_name },
		{ .nids = 1, .other = 1 },	/* requestExtensions without a nonce */
		{ .nids = 60, .nonce = 16 },	/* a requestList of 3-byte length */
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(jp);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		buf der = made_der(&specs[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(der.p);
		check_view(der, specs[i].name, NULL);
		free(der.p);
	}
	/* the single request's nonce is not the request's: none above, the first one here */
	{
		buf der = made_der(&specs[4]);
		ocsp_request_view v;

		CU_ASSERT_EQUAL(view(der, &v), 1);
		CU_ASSERT_PTR_NULL(v.nonce);
		free(der.p);
		der = made_der(&specs[5]);
		CU_ASSERT_EQUAL(view(der, &v), 1);
		CU_ASSERT_TRUE(v.nonce != NULL && v.nonce_len == 22 && v.nonce[0] == 0x04 && v.nonce[1] == 20);
		free(der.p);
	}
	X509_NAME_free(jp);
}

/* Nonces of every length class, random and given. */
static void test_view_nonces(void)
{
	static const int lens[] = { 1, 2, 16, 32, 125, 126, 127, 128, 129, 200, 253, 254, 255, 256, 1000, 4000 };
	unsigned char val[4000];

	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (unsigned char)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int given = 0; given < 2; given++) {
			rq_spec s = { .nids = 1, .nonce = lens[i], .nonce_val = given ? val : NULL };
			buf der = made_der(&s);
			ocsp_request_view v;
			size_t hdr = lens[i] < 0x80 ? 2 : lens[i] < 0x100 ? 3 : 4;

			CU_ASSERT_PTR_NOT_NULL_FATAL(der.p);
			check_view(der, NULL, NULL);
			CU_ASSERT_EQUAL_FATAL(view(der, &v), 1);
			/* the extnValue's contents: the inner OCTET STRING, header and all */
			CU_ASSERT_EQUAL(v.nonce_len, (size_t)lens[i] + hdr);
			if (given && v.nonce_len == (size_t)lens[i] + hdr)
				CU_ASSERT_EQUAL(memcmp(v.nonce + hdr, val, (size_t)lens[i]), 0);
			free(der.p);
		}
	}
}

/* Signed requests: with and without certificates, RSA PKCS#1 v1.5, ECDSA and RSA-PSS. The
 * signature verifies over the view's tbs with the signer's key only. */
static void test_view_signed(void)
{
	const rq_spec rich = { .nids = 3, .single = 1, .other = 1, .nonce = 16, .ignored = 1 };
	const rq_spec plain = { .nids = 1, .nonce = 16 };
	const rq_spec renamed = { .nids = 2, .name = fx_ca_name() };	/* the signer's replaces it */
	STACK_OF(X509) *extra = sk_X509_new_null();
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	X509 *ec_cert = ec != NULL ? fx_cert(signer_name, ec, signer_name, ec, 0, 11) : NULL;
	buf der;

	CU_ASSERT_TRUE_FATAL(extra != NULL && sk_X509_push(extra, fx_ca_cert(FX_GEN1)) &&
		sk_X509_push(extra, fx_ca_cert(FX_GEN2)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec_cert);
	for (int i = 0; i < 3; i++) {
		const rq_spec *s = i == 0 ? &rich : i == 1 ? &plain : &renamed;

		der = made_signed(s, NULL, 0);
		CU_ASSERT_TRUE_FATAL(der.p != NULL && openssl_verifies(der, signer_cert));
		check_view(der, signer_name, fx_key(FX_OTHER));
		free(der.p);
		der = made_signed(s, NULL, OCSP_NOCERTS);
		CU_ASSERT_TRUE_FATAL(der.p != NULL && openssl_verifies(der, signer_cert));
		check_view(der, signer_name, fx_key(FX_OTHER));
		free(der.p);
		der = made_signed(s, extra, 0);
		CU_ASSERT_TRUE_FATAL(der.p != NULL && openssl_verifies(der, signer_cert));
		check_view(der, signer_name, fx_key(FX_OTHER));
		free(der.p);
	}
	/* ECDSA */
	{
		OCSP_REQUEST *req = make_request(&rich);

		CU_ASSERT_TRUE_FATAL(req != NULL && OCSP_request_sign(req, ec_cert, ec, EVP_sha384(), NULL, 0));
		der = der_of(req);
		CU_ASSERT_TRUE_FATAL(der.p != NULL && openssl_verifies(der, ec_cert));
		check_view(der, signer_name, ec);
		free(der.p);
		OCSP_REQUEST_free(req);
	}
	/* RSA-PSS: the algorithm has parameters */
	der = made_pss(&rich);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der.p);
	CU_ASSERT_TRUE(openssl_verifies(der, signer_cert));
	check_view(der, signer_name, fx_key(FX_OTHER));
	{
		ocsp_request_view v;

		CU_ASSERT_EQUAL(view(der, &v), 1);
		CU_ASSERT_TRUE(v.sig_alg_len > 15 && v.sig_alg[12] == 0x0a);	/* id-RSASSA-PSS */
	}
	free(der.p);
	ERR_clear_error();
	sk_X509_free(extra);
	X509_free(ec_cert);
	EVP_PKEY_free(ec);
}

/* The cache key: the same CertIDs give the same key whatever else the request holds; other
 * CertIDs, or the same in another order, another. */
static void test_view_cache_key(void)
{
	const rq_spec a = { .nids = 3 }, b = { .nids = 3, .nonce = 16, .other = 1, .single = 1 };
	const rq_spec c = { .nids = 2 }, d = { .nids = 4 };
	buf da = made_der(&a), db = made_signed(&b, NULL, 0), dc = made_der(&c), dd = made_der(&d), de;
	ocsp_request_view va, vb, vc, vd, ve;
	OCSP_REQUEST *swapped = OCSP_REQUEST_new();

	CU_ASSERT_TRUE_FATAL(da.p != NULL && db.p != NULL && dc.p != NULL && dd.p != NULL && swapped != NULL);
	CU_ASSERT_TRUE_FATAL(view(da, &va) && view(db, &vb) && view(dc, &vc) && view(dd, &vd));
	CU_ASSERT_EQUAL(va.ncertids, 3);
	CU_ASSERT_EQUAL(memcmp(va.certids_sha256, vb.certids_sha256, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(va.certids_sha256, vc.certids_sha256, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(va.certids_sha256, vd.certids_sha256, 32), 0);
	/* the last two CertIDs swapped */
	{
		OCSP_REQUEST *orig = make_request(&a);

		CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
		for (int i = 0; i < 3; i++) {
			int from = i == 0 ? 0 : 3 - i;
			OCSP_CERTID *id = OCSP_CERTID_dup(OCSP_onereq_get0_id(OCSP_request_onereq_get0(orig, from)));

			CU_ASSERT_TRUE_FATAL(id != NULL && OCSP_request_add0_id(swapped, id) != NULL);
		}
		OCSP_REQUEST_free(orig);
	}
	de = der_of(swapped);
	CU_ASSERT_TRUE_FATAL(de.p != NULL && view(de, &ve));
	CU_ASSERT_EQUAL(ve.ncertids, 3);
	CU_ASSERT_NOT_EQUAL(memcmp(va.certids_sha256, ve.certids_sha256, 32), 0);
	check_view(de, NULL, NULL);
	OCSP_REQUEST_free(swapped);
	free(da.p);
	free(db.p);
	free(dc.p);
	free(dd.p);
	free(de.p);
}

/* Every prefix of several requests, each in a heap block of exactly its size: 0 and v zeroed;
 * the whole: 1. */
static void test_view_truncations(void)
{
	const rq_spec rich = { .nids = 3, .single = 1, .other = 1, .nonce = 16, .ignored = 1, .name = signer_name };
	buf bases[4];
	unsigned bad = 0, cuts = 0;

	bases[0] = made_der(&rich);
	bases[1] = made_signed(&rich, NULL, 0);
	bases[2] = made_signed(&rich, NULL, OCSP_NOCERTS);
	bases[3] = made_pss(&rich);
	for (int k = 0; k < 4; k++) {
		ocsp_request_view v;

		CU_ASSERT_PTR_NOT_NULL_FATAL(bases[k].p);
		for (size_t n = 0; n < bases[k].n; n++) {
			buf cut = copy(bases[k].p, n);

			CU_ASSERT_PTR_NOT_NULL_FATAL(cut.p);
			if (view(cut, &v) != 0 || !view_is_zero(&v))
				bad++;
			cuts++;
			free(cut.p);
		}
		CU_ASSERT_EQUAL(view(bases[k], &v), 1);
		free(bases[k].p);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(cuts > 3000);
	{
		ocsp_request_view v;

		memset(&v, 0xa5, sizeof(v));
		CU_ASSERT_EQUAL(ocsp_request_view_of(NULL, 0, &v), 0);
		CU_ASSERT_TRUE(view_is_zero(&v));
		memset(&v, 0xa5, sizeof(v));
		CU_ASSERT_EQUAL(ocsp_request_view_of(NULL, 10, &v), 0);
		CU_ASSERT_TRUE(view_is_zero(&v));
	}
}

/*
 * A walk over the elements the view reads, by the same contexts as RFC 6960's structure:
 * each element is re-encoded, one of them (the target) with its length in another form.
 * Elements inside what the view leaves to OpenSSL (a Name, an AlgorithmIdentifier, a CertID's
 * fields, an extension's value, a certificate) are copied as they are.
 */
enum ctx { C_OPAQUE, C_TOP, C_REQ, C_TBS, C_VERSION, C_REQUESTOR, C_DIRNAME, C_LIST, C_ONE, C_CERTID,
	C_EXPLICIT_EXTS, C_EXTS, C_EXT, C_OPTSIG, C_SIG, C_CERTS, C_CERTLIST };

static enum ctx inner(enum ctx parent, unsigned char tag)
{
	switch (parent) {
	case C_TOP:
		return tag == 0x30 ? C_REQ : C_OPAQUE;
	case C_REQ:
		return tag == 0x30 ? C_TBS : tag == 0xa0 ? C_OPTSIG : C_OPAQUE;
	case C_TBS:
		return tag == 0xa0 ? C_VERSION : tag == 0xa1 ? C_REQUESTOR : tag == 0x30 ? C_LIST :
			tag == 0xa2 ? C_EXPLICIT_EXTS : C_OPAQUE;
	case C_REQUESTOR:
		return tag == 0xa4 ? C_DIRNAME : C_OPAQUE;
	case C_LIST:
		return tag == 0x30 ? C_ONE : C_OPAQUE;
	case C_ONE:
		return tag == 0x30 ? C_CERTID : tag == 0xa0 ? C_EXPLICIT_EXTS : C_OPAQUE;
	case C_EXPLICIT_EXTS:
		return tag == 0x30 ? C_EXTS : C_OPAQUE;
	case C_EXTS:
		return tag == 0x30 ? C_EXT : C_OPAQUE;
	case C_OPTSIG:
		return tag == 0x30 ? C_SIG : C_OPAQUE;
	case C_SIG:
		return tag == 0xa0 ? C_CERTS : C_OPAQUE;
	case C_CERTS:
		return tag == 0x30 ? C_CERTLIST : C_OPAQUE;
	default:
		return C_OPAQUE;
	}
}

typedef struct walk {
	long seen;		/* elements walked so far */
	long target;		/* the one re-encoded in form; -1: none */
	enum form form;
	int in_certid;		/* the target is a CertID or one of its fields */
	int in_tbs;		/* the target is the tbsRequest or inside it */
	int is_name;		/* the target is the requestorName's Name */
	size_t target_len;	/* the length of its contents */
	const unsigned char *base;
	size_t offs[256];	/* where each walked element begins */
} walk;

static int reenc(blob *d, const unsigned char *p, size_t n, enum ctx ctx, int in_tbs, walk *w)
{
	const unsigned char *end = p + n;

	while (p < end) {
		size_t h, len;
		long me = w->seen++;
		enum ctx c;
		enum form f = me == w->target ? w->form : MINIMAL;
		int tbs_here = in_tbs || (ctx == C_REQ && p[0] == 0x30);

		if (!tlv(p, (size_t)(end - p), &h, &len) || (p[0] & 0x1f) == 0x1f)
			return 0;
		if ((size_t)me < sizeof(w->offs) / sizeof(w->offs[0]))
			w->offs[me] = (size_t)(p - w->base);
		if (me == w->target) {
			w->in_certid = ctx == C_CERTID || (ctx == C_ONE && p[0] == 0x30);
			w->in_tbs = tbs_here;
			w->is_name = ctx == C_DIRNAME;
			w->target_len = len;
		}
		c = inner(ctx, p[0]);
		if (c != C_OPAQUE && (p[0] & 0x20)) {
			blob *sub = calloc(1, sizeof(*sub));
			int ok = sub != NULL && reenc(sub, p + h, len, c, tbs_here, w);

			if (ok)
				put_tlv(d, p[0], sub->b, sub->n, f);
			free(sub);
			if (!ok)
				return 0;
		} else {
			put_tlv(d, p[0], p + h, len, f);
		}
		p += h + len;
	}
	return 1;
}

/* in re-encoded with element target's length in form f; *w tells what it was. */
static buf mutate(buf in, long target, enum form f, walk *w)
{
	blob *d = calloc(1, sizeof(*d));
	buf out = { NULL, 0 };

	memset(w, 0, sizeof(*w));
	w->target = target;
	w->form = f;
	w->base = in.p;
	if (d != NULL && reenc(d, in.p, in.n, C_TOP, 0, w))
		out = copy(d->b, d->n);
	free(d);
	return out;
}

/* in with a version [0] { INTEGER 0 } first in its tbsRequest (the signature no longer
 * matches). */
static buf with_version(buf in)
{
	blob *tbs = calloc(1, sizeof(blob)), *req = calloc(1, sizeof(blob)), *all = calloc(1, sizeof(blob));
	buf out = { NULL, 0 };
	size_t h, n, th, tn;

	if (tbs != NULL && req != NULL && all != NULL && tlv(in.p, in.n, &h, &n) &&
	    tlv(in.p + h, n, &th, &tn)) {
		put(tbs, "\xa0\x03\x02\x01\x00", 5);
		put(tbs, in.p + h + th, tn);
		put_tlv(req, 0x30, tbs->b, tbs->n, MINIMAL);
		put(req, in.p + h + th + tn, n - th - tn);
		put_tlv(all, 0x30, req->b, req->n, MINIMAL);
		out = copy(all->b, all->n);
	}
	free(tbs);
	free(req);
	free(all);
	return out;
}

/* Every element the view reads, in turn, with an indefinite length, a length one past or one
 * short of what it holds, and a non-minimal length (4 and 9 bytes, as BER allows and d2i
 * reads). */
static void test_view_lengths_everywhere(void)
{
	const rq_spec rich = { .nids = 3, .single = 1, .other = 1, .nonce = 16, .ignored = 1 };
	buf signed_der = made_signed(&rich, NULL, 0), bases[2];
	unsigned indef_bad = 0, plus1_bad = 0, minus1_bad = 0, long_bad = 0, tried = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(signed_der.p);
	bases[0] = with_version(signed_der);
	bases[1] = made_pss(&rich);
	free(signed_der.p);
	for (int k = 0; k < 2; k++) {
		buf base = bases[k], same_der;
		OCSP_REQUEST *breq;
		ocsp_request_view bv;
		walk w;
		long count;

		CU_ASSERT_PTR_NOT_NULL_FATAL(base.p);
		breq = parse(base.p, base.n);
		CU_ASSERT_PTR_NOT_NULL_FATAL(breq);
		CU_ASSERT_EQUAL_FATAL(view(base, &bv), 1);
		check_view(base, signer_name, k == 1 ? fx_key(FX_OTHER) : NULL);
		/* the walker reproduces DER as it is */
		same_der = mutate(base, -1, MINIMAL, &w);
		CU_ASSERT_TRUE_FATAL(same(same_der, base));
		free(same_der.p);
		count = w.seen;
		CU_ASSERT_TRUE(count > 40);	/* version, name, 3 requests, extensions, signature, certs */
		for (long t = 0; t < count; t++) {
			for (enum form f = LONG4; f <= MINUS1; f++) {
				buf m;
				OCSP_REQUEST *req;
				ocsp_request_view v;
				int rc;

				if (f == LONG9 || f == HUGE4)
					continue;
				m = mutate(base, t, f, &w);
				CU_ASSERT_PTR_NOT_NULL_FATAL(m.p);
				if (f == MINUS1 && w.target_len == 0) {
					free(m.p);
					continue;
				}
				rc = view(m, &v);
				req = parse(m.p, m.n);
				tried++;
				if (f == INDEFINITE || f == PLUS1 || f == MINUS1) {
					if (rc != 0 || !view_is_zero(&v)) {
						fprintf(stderr, "\nbase %d element %ld at %zu, form %d: view accepts\n", k, t,
							w.offs[t], (int)f);
						if (f == INDEFINITE)
							indef_bad++;
						else if (f == PLUS1)
							plus1_bad++;
						else
							minus1_bad++;
					}
				} else if (rc != 1 || req == NULL || !view_inside(&v, m) ||
					   v.ncertids != (size_t)OCSP_request_onereq_count(req) || !nonce_agrees(&v, req, 1) ||
					   (memcmp(v.certids_sha256, bv.certids_sha256, 32) == 0) == w.in_certid ||
					   (v.name_len == bv.name_len) == w.is_name || v.nonce_len != bv.nonce_len ||
					   (v.sig_alg != NULL && !w.in_tbs && k == 1 && !view_verifies(&v, fx_key(FX_OTHER), -1))) {
					fprintf(stderr, "\nbase %d element %ld at %zu, form %d: rc %d, d2i %s\n", k, t,
						w.offs[t], (int)f, rc, req != NULL ? "accepts" : "refuses");
					long_bad++;
				}
				OCSP_REQUEST_free(req);
				free(m.p);
			}
		}
		OCSP_REQUEST_free(breq);
		free(base.p);
	}
	CU_ASSERT_EQUAL(indef_bad, 0);
	CU_ASSERT_EQUAL(plus1_bad, 0);
	CU_ASSERT_EQUAL(minus1_bad, 0);
	CU_ASSERT_EQUAL(long_bad, 0);
	CU_ASSERT_TRUE(tried > 300);
	ERR_clear_error();
}

/* Random changes of 1 to 3 bytes (fixed seed), half of them within 4 bytes of where an element
 * the view reads begins. Whenever OpenSSL takes the result as DER (d2i accepts it and i2d
 * gives back the very bytes), the view accepts and agrees, or refuses by rule (-1) exactly
 * where OpenSSL's decoding shows a version other than v1 or a critical extension the
 * responder does not act on (where d2i accepts a request the view refuses by rule, it finds
 * the same). Whenever the view accepts, all it points to lies inside the input, and where
 * d2i accepts too they count the same CertIDs and see a nonce alike. One exception: OpenSSL
 * keeps a Name's bytes as received, so a change inside the requestorName's Name comes back
 * from i2d whatever it made of it (a primitive SET, say, which no encoding allows): there the
 * view may be the stricter. */
static void test_view_byte_flips(void)
{
	const rq_spec rich = { .nids = 3, .single = 1, .other = 1, .nonce = 16, .ignored = 1 };
	const rq_spec small = { .nids = 1, .nonce = 8, .name = signer_name };
	buf bases[3];
	unsigned accepted = 0, der_ok = 0, bad = 0, lenient = 0, name_stricter = 0, by_rule = 0;
	uint32_t saved = rng;

	rng = 0x9e3779b9;
	bases[0] = made_signed(&rich, NULL, 0);
	bases[1] = made_der(&small);
	{
		buf s = made_signed(&small, NULL, OCSP_NOCERTS);

		bases[2] = with_version(s);	/* OpenSSL keeps and re-encodes a version */
		free(s.p);
	}
	for (int k = 0; k < 3; k++) {
		walk w;
		buf m;
		long nanchors;

		CU_ASSERT_PTR_NOT_NULL_FATAL(bases[k].p);
		m = mutate(bases[k], -1, MINIMAL, &w);
		CU_ASSERT_TRUE_FATAL(same(m, bases[k]));
		free(m.p);
		nanchors = w.seen < 256 ? w.seen : 256;
		ocsp_request_view bv;
		size_t name_at = 0, name_end = 0;

		CU_ASSERT_EQUAL_FATAL(view(bases[k], &bv), 1);
		if (bv.name != NULL) {
			name_at = (size_t)(bv.name - bases[k].p);
			name_end = name_at + bv.name_len;
		}
		for (int round = 0; round < 2500; round++) {
			buf in = copy(bases[k].p, bases[k].n);
			int flips = 1 + (int)(next() % 3);
			bool in_name = true;	/* every change inside the requestorName's Name */
			OCSP_REQUEST *req;
			ocsp_request_view v;
			unsigned char *re = NULL, want[32];
			int rc, relen, is_der, rule;

			for (int i = 0; i < flips; i++) {
				size_t at = next() % in.n;

				if (next() % 2)
					at = (w.offs[next() % (uint32_t)nanchors] + next() % 4) % in.n;
				in.p[at] ^= (unsigned char)(1 + next() % 255);
				in_name = in_name && at >= name_at && at < name_end;
			}
			rc = view(in, &v);
			req = parse(in.p, in.n);
			relen = req != NULL ? i2d_OCSP_REQUEST(req, &re) : 0;
			is_der = relen > 0 && (size_t)relen == in.n && memcmp(re, in.p, in.n) == 0;
			rule = req != NULL ? rfc_refuses(req) : 0;
			if (rc == -1) {
				/* by rule, as OpenSSL's decoding shows where it decodes (the view does not
				 * judge the certificates, say) */
				by_rule++;
				if (!view_is_refused(&v) || (req != NULL && rule != 1))
					bad++;
			} else if (rc == 1) {
				accepted++;
				if (!view_inside(&v, in))
					bad++;
				if (req != NULL && (v.ncertids != (size_t)OCSP_request_onereq_count(req) ||
						    !nonce_agrees(&v, req, 0) || rule != 0))
					bad++;
				if (req == NULL)
					lenient++;
			} else if (!view_is_zero(&v)) {
				bad++;
			}
			if (is_der && rc == 0 && in_name) {
				name_stricter++;
			} else if (is_der && rule != 0) {
				if (rc != -1)
					bad++;
			} else if (is_der) {
				der_ok++;
				if (rc != 1 || !certids_hash(req, want) || memcmp(v.certids_sha256, want, 32) != 0 ||
				    !nonce_agrees(&v, req, 1) || (v.sig_alg != NULL) != (OCSP_request_is_signed(req) != 0)) {
					bad++;
					fprintf(stderr, "\nDER the view %s:", rc == 1 ? "disagrees with" : "refuses");
					for (size_t i = 0; i < in.n; i++)
						fprintf(stderr, "%02x", in.p[i]);
					fprintf(stderr, "\n");
				}
			}
			ERR_clear_error();
			OPENSSL_free(re);
			OCSP_REQUEST_free(req);
			free(in.p);
		}
		free(bases[k].p);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* all paths taken, many times */
	CU_ASSERT_TRUE(der_ok > 1000);
	CU_ASSERT_TRUE(accepted > der_ok);
	CU_ASSERT_TRUE(accepted < 7500 - 1000);
	(void)lenient;
	CU_ASSERT_TRUE(name_stricter < 100);
	/* changes to the version and to the critical extensions' OIDs */
	CU_ASSERT_TRUE(by_rule > 20);
	rng = saved;
}

/*
 * Hand-made requests, in hex with lengths computed: "30{ 02 01 05 }" is a SEQUENCE holding
 * an INTEGER; bytes outside braces are copied as they are (so a wrong length is written as
 * one).
 */
static const char *hx_in(blob *d, const char *s)
{
	for (;;) {
		unsigned v;

		while (*s == ' ')
			s++;
		if (*s == '\0' || *s == '}')
			return s;
		if (sscanf(s, "%2x", &v) != 1)
			CU_FAIL_FATAL("not hex");
		s += 2;
		if (*s == '{') {
			blob *sub = calloc(1, sizeof(*sub));

			if (sub == NULL)
				CU_FAIL_FATAL("out of memory");
			s = hx_in(sub, s + 1);
			if (*s != '}')
				CU_FAIL_FATAL("no closing brace");
			s++;
			put_tlv(d, (unsigned char)v, sub->b, sub->n, MINIMAL);
			free(sub);
		} else {
			put_byte(d, (unsigned char)v);
		}
	}
}

/* The bytes s describes, in a heap block of exactly their size. */
static buf hx(const char *s)
{
	blob *d = calloc(1, sizeof(*d));
	buf out;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FATAL(*hx_in(d, s) == '\0');
	out = copy(d->b, d->n);
	free(d);
	return out;
}

/* OCSPRequest { TBSRequest { pre, requestList { reqs }, post }, after } */
static buf hand(const char *pre, const char *reqs, const char *post, const char *after)
{
	static char s[8192];

	CU_ASSERT_FATAL((size_t)snprintf(s, sizeof(s), "30{ 30{ %s 30{ %s } %s } %s }", pre, reqs, post, after) <
		sizeof(s));
	return hx(s);
}

#define CERTID "30{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 04{ 01 02 03 04 } 04{ 05 06 07 08 } 02{ 01 } }"
#define ONE "30{ " CERTID " }"
#define NONCE_OID "06{ 2b 06 01 05 05 07 30 01 02 }"
#define NONCE_EXT "30{ " NONCE_OID " 04{ 04{ 01 02 03 04 } } }"
#define NAME "30{ 31{ 30{ 06{ 55 04 06 } 13{ 4a 50 } } } }"
#define URI "86{ 68 74 74 70 3a 2f 2f 76 2e 65 78 61 6d 70 6c 65 2e 6a 70 2f }"
#define ALG "30{ 06{ 2a 03 04 } 05 00 }"
#define SIG(more) "a0{ 30{ " ALG " 03{ 00 aa } " more " } }"

/* The view of a hand-made request. Accepted: all it points to lies inside, and where OpenSSL
 * decodes the request too, it counts the same CertIDs and sees the same nonce, and finds
 * nothing RFC 6960 refuses. Refused by rule (-1): where OpenSSL decodes it, it finds that
 * too; v is zeroed but for the rule. Refused: v is zeroed. With openssl >= 0, d2i's verdict
 * must be that. */
static int hand_view(buf in, ocsp_request_view *v, int openssl)
{
	int rc = view(in, v);
	OCSP_REQUEST *req = parse(in.p, in.n);

	if (rc == 1) {
		CU_ASSERT_TRUE(view_inside(v, in));
		if (req != NULL) {
			CU_ASSERT_EQUAL(v->ncertids, (size_t)OCSP_request_onereq_count(req));
			CU_ASSERT_TRUE(nonce_agrees(v, req, 1));
			CU_ASSERT_EQUAL(rfc_refuses(req), 0);
		}
	} else if (rc == -1) {
		CU_ASSERT_TRUE(view_is_refused(v));
		if (req != NULL)
			CU_ASSERT_EQUAL(rfc_refuses(req), 1);
	} else {
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_TRUE(view_is_zero(v));
	}
	if (openssl >= 0)
		CU_ASSERT_EQUAL(req != NULL, openssl);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return rc;
}

/* The view's verdict on a hand-made request whose fields are these. */
static int hand_rc(const char *pre, const char *reqs, const char *post, const char *after)
{
	buf in = hand(pre, reqs, post, after);
	ocsp_request_view v;
	int rc = hand_view(in, &v, -1);

	free(in.p);
	return rc;
}

static int raw_rc(const char *s)
{
	buf in = hx(s);
	ocsp_request_view v;
	int rc = hand_view(in, &v, -1);

	free(in.p);
	return rc;
}

static void test_view_hand_made(void)
{
	static const unsigned char empty_sha256[32] = { 0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a,
		0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95,
		0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 };
	unsigned char want[32];
	ocsp_request_view v;
	buf in, certid = hx(CERTID);

	/* the notation, and the plain request as OpenSSL reads it */
	CU_ASSERT_EQUAL_FATAL(certid.n, 28);
	in = hand("", ONE, "", "");
	CU_ASSERT_EQUAL_FATAL(in.n, 36);
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_EQUAL(v.ncertids, 1);
	CU_ASSERT_PTR_EQUAL(v.tbs, in.p + 2);
	CU_ASSERT_EQUAL(v.tbs_len, in.n - 2);
	CU_ASSERT_TRUE(v.name == NULL && v.nonce == NULL && v.sig_alg == NULL && v.sig == NULL);
	CU_ASSERT_TRUE_FATAL(EVP_Digest(certid.p, certid.n, want, NULL, EVP_sha256(), NULL));
	CU_ASSERT_EQUAL(memcmp(v.certids_sha256, want, 32), 0);
	free(in.p);
	free(certid.p);
	/* an empty requestList: read (the responder refuses it itself), as OpenSSL reads it */
	in = hand("", "", "", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_EQUAL(v.ncertids, 0);
	CU_ASSERT_EQUAL(memcmp(v.certids_sha256, empty_sha256, 32), 0);
	free(in.p);

	/* version: v1; not an INTEGER, empty, two of them, constructed, IMPLICIT, twice */
	CU_ASSERT_EQUAL(hand_rc("a0{ 02{ 00 } }", ONE, "", ""), 1);
	CU_ASSERT_EQUAL(hand_rc("a0{ 04{ 00 } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a0{ 0a{ 00 } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a0{ 05 00 }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a0{ }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a0{ 02{ } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a0{ 02{ 00 } 02{ 00 } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a0{ 22{ 02{ 00 } } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("80{ 00 }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a0{ 02{ 00 } } a0{ 02{ 00 } }", ONE, "", ""), 0);
	/* fields out of order, twice, unknown, or missing */
	CU_ASSERT_EQUAL(hand_rc("a1{ " URI " } a0{ 02{ 00 } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ " URI " } a1{ " URI " }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a3{ 05 00 }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ " NONCE_EXT " } } 30{ }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ " NONCE_EXT " } } a2{ 30{ " NONCE_EXT " } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a3{ 30{ " NONCE_EXT " } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "05 00", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "30{ " ONE " }", ""), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ a0{ 02{ 00 } } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ }"), 0);
	CU_ASSERT_EQUAL(raw_rc("31{ 30{ 30{ " ONE " } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 31{ 30{ " ONE " } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 31{ " ONE " } } }"), 0);

	/* requestorName: a URI (no name); a directoryName (its Name); an empty [1]; an empty
	 * [4]; [4] holding a Name and a NULL; a Name and then a NULL; a SET for a Name */
	in = hand("a1{ " URI " }", ONE, "", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_PTR_NULL(v.name);
	CU_ASSERT_EQUAL(v.name_len, 0);
	free(in.p);
	in = hand("a1{ a4{ " NAME " } }", ONE, "", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_TRUE(v.name == in.p + 8 && v.name_len == 15 && v.name[0] == 0x30);
	free(in.p);
	CU_ASSERT_EQUAL(hand_rc("a1{ }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a4{ } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a4{ " NAME " 05 00 } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a4{ " NAME " } 05 00 }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a4 0e " NAME " }", ONE, "", ""), 0);	/* [4] one short of its Name */
	CU_ASSERT_EQUAL(hand_rc("a1{ a4 00 " NAME " }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a0 80 }", ONE, "", ""), 0);	/* indefinite, nothing in it */
	CU_ASSERT_EQUAL(hand_rc("a1{ a4 80 }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a0 80 00 00 }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a4{ 31{ 31{ 30{ 06{ 55 04 06 } 13{ 4a 50 } } } } } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ a4{ 05 00 } }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ " URI " 05 00 }", ONE, "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("a1{ " URI " " URI " }", ONE, "", ""), 0);

	/* a Request: a CertID with a field too many or too few, an empty serial, a hash that is
	 * a constructed string or not a string, a CertID that is not a SEQUENCE, something after
	 * its extensions, its extensions as [1], empty, or twice */
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 04{ 01 } 04{ 05 } 02{ 01 } 05 00 } }",
		"", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 04{ 01 } 04{ 05 } } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 04{ 01 } 04{ 05 } 02{ } } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 04{ 01 } 04{ 05 } 05 00 } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 24{ 04{ 01 } } 04{ 05 } 02{ 01 } } }",
		"", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 02{ 01 } 04{ 05 } 02{ 01 } } }",
		"", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 06{ 2b 0e 03 02 1a } 04{ 01 } 04{ 05 } 02{ 01 } } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 30{ 04{ 01 } 30{ 06{ 2b 0e 03 02 1a } } 04{ 05 } 02{ 01 } } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ 31{ 30{ 06{ 2b 0e 03 02 1a } 05 00 } 04{ 01 } 04{ 05 } 02{ 01 } } }",
		"", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE " 05 00", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE " 31{ " CERTID " }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " 05 00 }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " " CERTID " }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " a0{ 30{ " NONCE_EXT " } } }", "", ""), 1);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " a0{ 30{ " NONCE_EXT " } } 05 00 }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " a0{ 30{ " NONCE_EXT " } } a0{ 30{ " NONCE_EXT " } } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " a1{ 30{ " NONCE_EXT " } } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " a0{ 30{ } } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " a0{ } }", "", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", "30{ " CERTID " a0{ 30{ 30{ 02{ 01 } 04{ } } } } }", "", ""), 0);

	/* requestExtensions: empty (SIZE (1..MAX); OpenSSL reads, and re-encodes, an empty one:
	 * the view is stricter on purpose), a SET, not only Extensions, two SEQUENCEs in the [2] */
	in = hand("", ONE, "a2{ 30{ } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 0);
	free(in.p);
	in = hand("", "30{ " CERTID " a0{ 30{ } } }", "", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 0);
	free(in.p);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 31{ " NONCE_EXT " } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ " NONCE_EXT " 05 00 } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ " NONCE_EXT " } 05 00 }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ " NONCE_EXT " } 30{ " NONCE_EXT " } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 31{ " NONCE_OID " 04{ 00 } } } }", ""), 0);
	/* an Extension: critical TRUE, and FALSE spelt out (BER); critical not a BOOLEAN, or
	 * empty, or after the value; no extnValue; a value that is not an OCTET STRING, or a
	 * constructed one; a field after it; an empty extnID; no extnID */
	in = hand("", ONE, "a2{ 30{ 30{ " NONCE_OID " 01{ ff } 04{ aa bb } } } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_TRUE(v.nonce != NULL && v.nonce_len == 2 && v.nonce[0] == 0xaa && v.nonce[1] == 0xbb);
	free(in.p);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 01{ 00 } 04{ aa bb } } } }", ""), 1);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 02{ ff } 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 0a{ ff } 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 05 00 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 81{ ff } 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 01{ } 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 04{ aa bb } 01{ ff } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 01{ ff } 01{ ff } 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 01{ ff } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 02{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 24{ 04{ aa bb } } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 04{ aa bb } 05 00 } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ " NONCE_OID " 04{ aa bb } 04{ cc } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ 06{ } 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ 26{ 2b 06 01 05 05 07 30 01 02 } 04{ aa bb } } } }", ""), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "a2{ 30{ 30{ } } }", ""), 0);
	/* nonces: a bare (unwrapped) value, as it is; a wrapped one, header and all (two are
	 * refused: test_view_rfc_refusals); an empty one; OIDs one arc longer or shorter are
	 * other extensions; a nonce after another extension */
	in = hand("", ONE, "a2{ 30{ 30{ " NONCE_OID " 04{ de ad be ef } } } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_TRUE(v.nonce != NULL && v.nonce_len == 4 && memcmp(v.nonce, "\xde\xad\xbe\xef", 4) == 0);
	free(in.p);
	in = hand("", ONE, "a2{ 30{ " NONCE_EXT " } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_TRUE(v.nonce != NULL && v.nonce_len == 6 && memcmp(v.nonce, "\x04\x04\x01\x02\x03\x04", 6) == 0);
	free(in.p);
	in = hand("", ONE, "a2{ 30{ 30{ " NONCE_OID " 04{ } } } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_TRUE(v.nonce != NULL && v.nonce_len == 0 && v.nonce == in.p + in.n);
	free(in.p);
	in = hand("", ONE, "a2{ 30{ 30{ 06{ 2b 06 01 05 05 07 30 01 02 01 } 04{ aa bb } } } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_PTR_NULL(v.nonce);
	free(in.p);
	in = hand("", ONE, "a2{ 30{ 30{ 06{ 2b 06 01 05 05 07 30 01 } 04{ aa bb } } } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_PTR_NULL(v.nonce);
	free(in.p);
	in = hand("", ONE, "a2{ 30{ 30{ 06{ 2b 06 01 05 05 07 30 01 04 } 04{ aa bb } } 30{ " NONCE_OID " 04{ cc } } } }",
		"");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_TRUE(v.nonce != NULL && v.nonce_len == 1 && v.nonce[0] == 0xcc);
	free(in.p);
	/* a nonce in singleRequestExtensions only is not the request's */
	in = hand("", "30{ " CERTID " a0{ 30{ " NONCE_EXT " } } }", "", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_PTR_NULL(v.nonce);
	free(in.p);

	/* optionalSignature: the least one; certs empty, or holding any SEQUENCE; as [1]; no
	 * BIT STRING; a constructed BIT STRING; an algorithm that is not a SEQUENCE; a field
	 * after the BIT STRING or the certs; certs holding what is not a SEQUENCE, or as [1];
	 * an empty Signature or [0] */
	in = hand("", ONE, "", SIG(""));
	CU_ASSERT_EQUAL(hand_view(in, &v, 1), 1);
	CU_ASSERT_TRUE(v.sig_alg == v.tbs + v.tbs_len + 4 && v.sig_alg_len == 9 && v.sig == v.sig_alg + 9 &&
		v.sig_len == 4 && v.sig + 4 == in.p + in.n);
	free(in.p);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ 30{ } }")), 1);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ 30{ 30{ 05 00 } } }")), 1);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a1{ 30{ " ALG " 03{ 00 aa } } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30{ " ALG " } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30{ " ALG " 23{ 03{ 00 aa } } } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30{ " ALG " 04{ 00 aa } } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30{ 06{ 2a 03 04 } 03{ 00 aa } } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30{ 03{ 00 aa } " ALG " } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("05 00")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ 30{ } } 05 00")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ 30{ } } a0{ 30{ } }")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ 30{ 05 00 } }")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ 31{ } }")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ 30{ } 30{ } }")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a0{ }")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("a1{ 30{ } }")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30{ } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("") " " SIG("")), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", SIG("") " 05 00"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "05 00"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30{ " ALG " 03{ 00 aa } } 05 00 }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0 0e 30{ " ALG " 03{ 00 aa } }"), 0);	/* [0] one short */
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0 0f 30{ " ALG " 03{ 00 aa } }"), 1);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0 00 30{ " ALG " 03{ 00 aa } }"), 0);
	CU_ASSERT_EQUAL(hand_rc("", ONE, "", "a0{ 30 0c " ALG " 03{ 00 aa } }"), 0);	/* Signature one short */

	/* indefinite lengths: the request, the tbsRequest, the requestList, a Request, a CertID,
	 * the [2] and its Extensions, an Extension, the [0] and the Signature */
	CU_ASSERT_EQUAL(raw_rc("30 80 30{ 30{ " ONE " } } 00 00"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30 80 30{ " ONE " } 00 00 }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30 80 " ONE " 00 00 } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ 30 80 " CERTID " 00 00 } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ 30{ 30 80 30{ 06{ 2b 0e 03 02 1a } 05 00 } 04{ 01 } 04{ 05 } 02{ 01 }"
		" 00 00 } } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ " ONE " } a2 80 30{ " NONCE_EXT " } 00 00 } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ " ONE " } a2{ 30 80 " NONCE_EXT " 00 00 } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ " ONE " } a2{ 30{ 30 80 " NONCE_OID " 04{ 00 } 00 00 } } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ " ONE " } } a0 80 30{ " ALG " 03{ 00 aa } } 00 00 }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ " ONE " } } a0{ 30 80 " ALG " 03{ 00 aa } 00 00 } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ 30{ " ONE " } } a0{ 30{ " ALG " 03{ 00 aa } a0 80 30{ } 00 00 } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ a1 80 a4{ " NAME " } 00 00 30{ " ONE " } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ a1{ a4 80 " NAME " 00 00 } 30{ " ONE " } } }"), 0);
	CU_ASSERT_EQUAL(raw_rc("30{ 30{ a0 80 02{ 00 } 00 00 30{ " ONE " } } }"), 0);

	/* something other than a request; bytes after it; a request in a larger buffer */
	in = hand("", ONE, "", "");
	{
		blob *d = calloc(1, sizeof(blob));

		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		for (int i = 0; i < 4; i++) {
			buf u;

			d->n = 0;
			put(d, in.p, in.n);
			if (i == 0)
				put_byte(d, 0x00);
			else if (i == 1)
				put(d, "\x30\x00", 2);
			else if (i == 2)
				put(d, in.p, in.n);	/* two requests */
			else
				put(d, "\x00\x00", 2);	/* an end-of-contents after a definite length */
			u = copy(d->b, d->n);
			CU_ASSERT_EQUAL(hand_view(u, &v, 0), 0);
			free(u.p);
		}
		d->n = 0;
		put(d, in.p, in.n);
		put(d, "\x30\x00", 2);
		CU_ASSERT_EQUAL(ocsp_request_view_of(d->b, in.n, &v), 1);
		CU_ASSERT_TRUE(view_inside(&v, (buf){ d->b, in.n }));
		free(d);
	}
	free(in.p);
	CU_ASSERT_EQUAL(raw_rc("02{ 01 }"), 0);
	CU_ASSERT_EQUAL(raw_rc("00"), 0);
	CU_ASSERT_EQUAL(raw_rc("30 00"), 0);
}

/* Where the view reads a field's tag or length itself, it refuses what d2i_OCSP_REQUEST
 * refuses: a requestorName that is no GeneralName (a NULL, a bare Name without its [4], a [9],
 * a primitive [4]) and a critical BOOLEAN of two bytes. Otherwise a cached answer goes to a
 * request OpenSSL calls malformed. */
static void test_view_refuses_like_openssl(void)
{
	static const char *const names[] = { "a1{ 05 00 }", "a1{ " NAME " }", "a1{ 89{ 00 } }", "a1{ 84{ 00 } }" };
	ocsp_request_view v;
	buf in;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		in = hand(names[i], ONE, "", "");
		CU_ASSERT_EQUAL(hand_view(in, &v, 0), 0);
		free(in.p);
	}
	in = hand("", ONE, "a2{ 30{ 30{ " NONCE_OID " 01{ ff ff } 04{ aa } } } }", "");
	CU_ASSERT_EQUAL(hand_view(in, &v, 0), 0);
	free(in.p);
}

/* -1 and the rule, by a hand-made request's fields. */
static int refused_by(const char *pre, const char *reqs, const char *post, const char *after, const char *rule)
{
	buf in = hand(pre, reqs, post, after);
	ocsp_request_view v;
	int rc = hand_view(in, &v, -1);

	if (rc == -1 && rule != NULL && strcmp(v.refused, rule) != 0) {
		fprintf(stderr, "\nrefused: '%s', expected '%s'\n", v.refused, rule);
		rc = -2;
	}
	free(in.p);
	return rc;
}

#define UNKNOWN_OID "06{ 2a 03 04 }"	/* 1.2.3.4 */
#define ACCEPTABLE_OID "06{ 2b 06 01 05 05 07 30 01 04 }"
#define ACCEPTABLE_BASIC "04{ 30{ 06{ 2b 06 01 05 05 07 30 01 01 } } }"
#define CRIT "01{ ff }"
#define NOT_CRIT "30{ " UNKNOWN_OID " 04{ 00 } }"
#define RULE_VERSION "RFC 6960 4.1.1: the request's version is not v1"
#define RULE_EXT(oid, where) "RFC 6960 4.4: critical extension " oid " in " where \
	", which the responder does not act on"

/* A version other than v1, a critical extension the responder does not act on (RFC 6960
 * 4.4: never ignored): -1, v zeroed but for the rule, whatever cache key or signer the
 * request has; where OpenSSL decodes the request, it finds the same. The nonce and
 * acceptableResponses in requestExtensions are acted on, critical or not; nothing in
 * singleRequestExtensions is. */
static void test_view_rfc_refusals(void)
{
	/* version: v1 left out or spelt out; v2, 256, -1, v1 and a structural fault after */
	CU_ASSERT_EQUAL(refused_by("", ONE, "", "", NULL), 1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 00 } }", ONE, "", "", NULL), 1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 01 } }", ONE, "", "", RULE_VERSION), -1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 01 00 } }", ONE, "", "", RULE_VERSION), -1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ ff } }", ONE, "", "", RULE_VERSION), -1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 01 } } a1{ " URI " }", ONE, "", SIG(""), RULE_VERSION), -1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 01 } }", ONE, "05 00", "", NULL), 0);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 01 } }", ONE, "", SIG("05 00"), NULL), 0);

	/* requestExtensions: unknown and critical (TRUE as DER and as BER writes it), also
	 * after a nonce and with a version fault first; not critical, or FALSE spelt out */
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " UNKNOWN_OID " " CRIT " 04{ 00 } } } }", "",
		RULE_EXT("1.2.3.4", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " UNKNOWN_OID " 01{ 01 } 04{ 00 } } } }", "",
		RULE_EXT("1.2.3.4", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " UNKNOWN_OID " 01{ 80 } 04{ 00 } } } }", "", NULL), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " NONCE_EXT " 30{ " UNKNOWN_OID " " CRIT " 04{ } } } }", "",
		RULE_EXT("1.2.3.4", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 02 } }", ONE, "a2{ 30{ 30{ " UNKNOWN_OID " " CRIT " 04{ 00 } } } }", "",
		RULE_VERSION), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " NONCE_EXT " " "30{ " UNKNOWN_OID " 04{ 00 } } } }", "", NULL), 1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " UNKNOWN_OID " 01{ 00 } 04{ 00 } } } }", "", NULL), 1);
	/* the two it acts on, critical; OIDs one arc from the nonce's; 2.999; an arc past 64 bits */
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " NONCE_OID " " CRIT " 04{ 04{ 01 02 03 04 } } } } }", "",
		NULL), 1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " ACCEPTABLE_OID " " CRIT " " ACCEPTABLE_BASIC " } } }", "",
		NULL), 1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ 06{ 2b 06 01 05 05 07 30 01 02 01 } " CRIT " 04{ 00 } } } }",
		"", RULE_EXT("1.3.6.1.5.5.7.48.1.2.1", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ 06{ 2b 06 01 05 05 07 30 01 } " CRIT " 04{ 00 } } } }",
		"", RULE_EXT("1.3.6.1.5.5.7.48.1", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ 06{ 88 37 } " CRIT " 04{ 00 } } } }", "",
		RULE_EXT("2.999", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ 06{ 2a 03 82 80 80 80 80 80 80 80 80 00 05 } " CRIT
		" 04{ 00 } } } }", "", RULE_EXT("1.2.3.?.5", "requestExtensions")), -1);

	/* singleRequestExtensions: any critical one, the nonce's and acceptableResponses' too,
	 * in the first or a later Request; not critical: answered */
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ 30{ " UNKNOWN_OID " " CRIT " 04{ 00 } } } } }", "", "",
		RULE_EXT("1.2.3.4", "singleRequestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ 30{ " NONCE_OID " " CRIT " 04{ 00 } } } } }", "", "",
		RULE_EXT("1.3.6.1.5.5.7.48.1.2", "singleRequestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ 30{ " ACCEPTABLE_OID " " CRIT " " ACCEPTABLE_BASIC
		" } } } }", "", "", RULE_EXT("1.3.6.1.5.5.7.48.1.4", "singleRequestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE " " ONE " 30{ " CERTID " a0{ 30{ 30{ " UNKNOWN_OID " " CRIT " 04{ } } } } }",
		"", "", RULE_EXT("1.2.3.4", "singleRequestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ 30{ " NONCE_OID " 04{ 00 } } " NOT_CRIT " } } }", "", "",
		NULL), 1);
	/* the structure first: a fault anywhere after gives 0 */
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ 30{ " UNKNOWN_OID " " CRIT " 04{ 00 } } } } } 05 00",
		"", "", NULL), 0);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " UNKNOWN_OID " " CRIT " 04{ 00 } } } }", SIG("05 00"), NULL), 0);

	/* made by OpenSSL's API: unsigned, signed with and without certificates; the same
	 * extension not critical is answered */
	for (int crit = 0; crit < 2; crit++) {
		for (int single = 0; single < 2; single++) {
			ASN1_OBJECT *obj = OBJ_txt2obj("1.2.3.4", 1);
			ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
			X509_EXTENSION *ex = obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, (const unsigned char *)"x", 1) ?
				X509_EXTENSION_create_by_OBJ(NULL, obj, crit, os) : NULL;
			const rq_spec spec = { .nids = 2, .nonce = 16 };

			for (int how = 0; how < 3; how++) {
				OCSP_REQUEST *req = make_request(&spec);
				ocsp_request_view v;
				buf der;

				CU_ASSERT_TRUE_FATAL(req != NULL && ex != NULL);
				CU_ASSERT_TRUE_FATAL(single ? OCSP_ONEREQ_add_ext(OCSP_request_onereq_get0(req, 1), ex, -1) :
					OCSP_REQUEST_add_ext(req, ex, -1));
				CU_ASSERT_TRUE_FATAL(how == 0 || OCSP_request_sign(req, signer_cert, fx_key(FX_OTHER), EVP_sha256(),
					NULL, how == 1 ? OCSP_NOCERTS : 0));
				der = der_of(req);
				CU_ASSERT_PTR_NOT_NULL_FATAL(der.p);
				if (crit) {
					CU_ASSERT_EQUAL(hand_view(der, &v, 1), -1);
					CU_ASSERT_STRING_EQUAL(v.refused, single ? RULE_EXT("1.2.3.4", "singleRequestExtensions") :
						RULE_EXT("1.2.3.4", "requestExtensions"));
				} else {
					check_view(der, how == 0 ? NULL : signer_name, how == 0 ? NULL : fx_key(FX_OTHER));
				}
				free(der.p);
				OCSP_REQUEST_free(req);
			}
			X509_EXTENSION_free(ex);
			ASN1_OCTET_STRING_free(os);
			ASN1_OBJECT_free(obj);
		}
	}
	/* the rich requests of the other tests (a critical acceptableResponses, a nonce, an
	 * extension not critical after it): answered */
	{
		const rq_spec rich = { .nids = 3, .single = 1, .other = 1, .nonce = 16, .ignored = 1 };
		buf der = made_signed(&rich, NULL, 0);
		ocsp_request_view v;

		CU_ASSERT_EQUAL(hand_view(der, &v, 1), 1);
		free(der.p);
	}
	ERR_clear_error();
}

#define RULE_TWICE(oid, where) "RFC 5280 4.2: extension " oid " more than once in " where
#define NONCE_TEXT "1.3.6.1.5.5.7.48.1.2"
#define UNKNOWN_EXT "30{ " UNKNOWN_OID " 04{ 00 } }"

/* The requestExtensions and each Request's singleRequestExtensions hold an extension type
 * once (RFC 5280 4.2, which RFC 6960 imports): twice, critical or not, the nonce too, is -1
 * naming the rule, the type and where, and OpenSSL finds it in its decoding too (hand_view).
 * The same type in two different Extensions, and OIDs that share arcs, are answered. */
static void test_view_duplicates(void)
{
	static char exts[8192];
	size_t at;

	/* requestExtensions: two nonces (other values, the same value), not together; two of
	 * acceptableResponses; two of an unknown type (not critical, FALSE spelt out) */
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " NONCE_EXT " 30{ " NONCE_OID " 04{ 04{ de ad } } } } }", "",
		RULE_TWICE(NONCE_TEXT, "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " NONCE_EXT " " NONCE_EXT " } }", SIG(""),
		RULE_TWICE(NONCE_TEXT, "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " NONCE_EXT " " UNKNOWN_EXT " 30{ " NONCE_OID " " CRIT
		" 04{ 04{ 01 } } } } }", "", RULE_TWICE(NONCE_TEXT, "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ 30{ " ACCEPTABLE_OID " " ACCEPTABLE_BASIC " } 30{ "
		ACCEPTABLE_OID " " CRIT " " ACCEPTABLE_BASIC " } } }", "",
		RULE_TWICE("1.3.6.1.5.5.7.48.1.4", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " UNKNOWN_EXT " " NONCE_EXT " 30{ " UNKNOWN_OID
		" 01{ 00 } 04{ 01 } } } }", "", RULE_TWICE("1.2.3.4", "requestExtensions")), -1);
	/* a critical one it does not act on is named first, the version before either */
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " UNKNOWN_EXT " 30{ " UNKNOWN_OID " " CRIT " 04{ 00 } } } }", "",
		RULE_EXT("1.2.3.4", "requestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("a0{ 02{ 01 } }", ONE, "a2{ 30{ " NONCE_EXT " " NONCE_EXT " } }", "",
		RULE_VERSION), -1);
	/* singleRequestExtensions: in the first or a later Request */
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ " UNKNOWN_EXT " " UNKNOWN_EXT " } } }", "", "",
		RULE_TWICE("1.2.3.4", "singleRequestExtensions")), -1);
	CU_ASSERT_EQUAL(refused_by("", ONE " 30{ " CERTID " a0{ 30{ " NONCE_EXT " " UNKNOWN_EXT " " NONCE_EXT
		" } } }", "", "", RULE_TWICE(NONCE_TEXT, "singleRequestExtensions")), -1);
	/* once per Extensions: the nonce in requestExtensions and in a Request's, the same type in
	 * two Requests; OIDs one arc longer, or differing in the last arc */
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ " NONCE_EXT " } } }", "a2{ 30{ " NONCE_EXT " } }", "",
		NULL), 1);
	CU_ASSERT_EQUAL(refused_by("", "30{ " CERTID " a0{ 30{ " UNKNOWN_EXT " } } } 30{ " CERTID " a0{ 30{ "
		UNKNOWN_EXT " } } }", "", "", NULL), 1);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " UNKNOWN_EXT " 30{ 06{ 2a 03 04 05 } 04{ 00 } } 30{ 06{ 2a 03 05 }"
		" 04{ 00 } } 30{ 06{ 2a 03 } 04{ 00 } } } }", "", NULL), 1);
	/* the structure first: a fault after gives 0 */
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " NONCE_EXT " " NONCE_EXT " } }", SIG("05 00"), NULL), 0);
	CU_ASSERT_EQUAL(refused_by("", ONE, "a2{ 30{ " NONCE_EXT " " NONCE_EXT " 05 00 } }", "", NULL), 0);

	/* many: 1.2.3.1 to 1.2.3.100, then each of them again (a single one, first or last, or
	 * in the middle) */
	at = 0;
	for (int i = 1; i <= 100; i++)
		at += (size_t)snprintf(exts + at, sizeof(exts) - at, "30{ 06{ 2a 03 %02x } 04{ } } ", i);
	{
		char post[sizeof(exts) + 64], rule[128];
		static const int again[] = { 1, 50, 100 };

		snprintf(post, sizeof(post), "a2{ 30{ %s } }", exts);
		CU_ASSERT_EQUAL(refused_by("", ONE, post, "", NULL), 1);
		for (size_t k = 0; k < sizeof(again) / sizeof(again[0]); k++) {
			snprintf(post, sizeof(post), "a2{ 30{ %s30{ 06{ 2a 03 %02x } 04{ 01 } } } }", exts, again[k]);
			snprintf(rule, sizeof(rule), RULE_TWICE("1.2.3.%d", "requestExtensions"), again[k]);
			CU_ASSERT_EQUAL(refused_by("", ONE, post, "", rule), -1);
			snprintf(post, sizeof(post), "a2{ 30{ 30{ 06{ 2a 03 %02x } 04{ 01 } } %s} }", again[k], exts);
			CU_ASSERT_EQUAL(refused_by("", ONE, post, "", rule), -1);
		}
	}

	/* made by OpenSSL's API: two nonces, in requestExtensions or in a Request's; unsigned,
	 * signed with and without certificates */
	for (int single = 0; single < 2; single++) {
		for (int how = 0; how < 3; how++) {
			const rq_spec spec = { .nids = 2, .nonce = 16 };
			OCSP_REQUEST *req = make_request(&spec);
			OCSP_ONEREQ *one = req != NULL ? OCSP_request_onereq_get0(req, 1) : NULL;
			ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
			ocsp_request_view v;
			buf der;

			CU_ASSERT_PTR_NOT_NULL_FATAL(one);
			/* OCSP_request_add1_nonce replaces a nonce: appended by hand */
			CU_ASSERT_TRUE_FATAL(os != NULL && ASN1_OCTET_STRING_set(os, (const unsigned char *)"abcdefgh", 8));
			CU_ASSERT_TRUE_FATAL(single ?
				OCSP_ONEREQ_add1_ext_i2d(one, NID_id_pkix_OCSP_Nonce, os, 0, X509V3_ADD_APPEND) == 1 &&
				OCSP_ONEREQ_add1_ext_i2d(one, NID_id_pkix_OCSP_Nonce, os, 0, X509V3_ADD_APPEND) == 1 :
				OCSP_REQUEST_add1_ext_i2d(req, NID_id_pkix_OCSP_Nonce, os, 0, X509V3_ADD_APPEND) == 1);
			CU_ASSERT_TRUE_FATAL(how == 0 || OCSP_request_sign(req, signer_cert, fx_key(FX_OTHER), EVP_sha256(),
				NULL, how == 1 ? OCSP_NOCERTS : 0));
			der = der_of(req);
			CU_ASSERT_PTR_NOT_NULL_FATAL(der.p);
			CU_ASSERT_EQUAL(hand_view(der, &v, 1), -1);
			CU_ASSERT_STRING_EQUAL(v.refused, single ? RULE_TWICE(NONCE_TEXT, "singleRequestExtensions") :
				RULE_TWICE(NONCE_TEXT, "requestExtensions"));
			free(der.p);
			ASN1_OCTET_STRING_free(os);
			OCSP_REQUEST_free(req);
		}
	}
	ERR_clear_error();
}

/* OpenSSL's error queue as it was, after the view's header reads failed or not. */
static void test_view_error_queue(void)
{
	const rq_spec rich = { .nids = 2, .nonce = 16 };
	buf good = made_signed(&rich, NULL, 0), bad[4];
	ocsp_request_view v;
	unsigned long e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(good.p);
	bad[0] = copy(good.p, good.n - 1);					/* too long */
	bad[1] = copy(good.p, good.n);
	bad[1].p[1] = 0x80;							/* indefinite */
	bad[2] = copy(good.p, good.n);
	bad[2].p[1] = 0x84;							/* 4 GB */
	bad[3] = hand("", ONE, "a2{ 30{ 30{ " NONCE_OID " 02{ ff } 04{ aa } } } }", "");	/* structure */
	ERR_clear_error();
	for (int i = 0; i < 5; i++) {
		buf in = i < 4 ? bad[i] : good;

		CU_ASSERT_PTR_NOT_NULL_FATAL(in.p);
		ERR_raise(ERR_LIB_USER, 42);
		CU_ASSERT_EQUAL(view(in, &v), i < 4 ? 0 : 1);
		e = ERR_get_error();
		CU_ASSERT_EQUAL(ERR_GET_LIB(e), ERR_LIB_USER);
		CU_ASSERT_EQUAL(ERR_GET_REASON(e), 42);
		CU_ASSERT_EQUAL(ERR_get_error(), 0);
		/* and nothing added to an empty queue */
		CU_ASSERT_EQUAL(view(in, &v), i < 4 ? 0 : 1);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		if (i < 4)
			free(in.p);
	}
	free(good.p);
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
	    !CU_add_test(s, "hand-made lengths and structures", test_malformed) ||
	    !CU_add_test(s, "view: unsigned requests agree with OpenSSL", test_view_unsigned) ||
	    !CU_add_test(s, "view: nonces of every length", test_view_nonces) ||
	    !CU_add_test(s, "view: signed requests verify over tbs", test_view_signed) ||
	    !CU_add_test(s, "view: the CertIDs' cache key", test_view_cache_key) ||
	    !CU_add_test(s, "view: every truncation", test_view_truncations) ||
	    !CU_add_test(s, "view: every length, indefinite, past, long", test_view_lengths_everywhere) ||
	    !CU_add_test(s, "view: random byte changes", test_view_byte_flips) ||
	    !CU_add_test(s, "view: hand-made structures", test_view_hand_made) ||
	    !CU_add_test(s, "view: refuses what OpenSSL refuses", test_view_refuses_like_openssl) ||
	    !CU_add_test(s, "view: refuses by RFC 6960 what it cannot answer", test_view_rfc_refusals) ||
	    !CU_add_test(s, "view: one extension type twice (RFC 5280 4.2)", test_view_duplicates) ||
	    !CU_add_test(s, "view: OpenSSL's error queue", test_view_error_queue)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
