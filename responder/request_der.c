#include "request_der.h"

#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

/*
 * RFC 6960:
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   Signature ::= SEQUENCE { signatureAlgorithm AlgorithmIdentifier, signature BIT STRING,
 *                            certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 * Only the TLV headers are read, by OpenSSL's ASN1_get_object(); the contents of tbsRequest,
 * signatureAlgorithm and signature are left to d2i_OCSP_REQUEST on the result.
 */

/* Reads the header at *p: the element must have this class, form and tag, a definite length
 * and fit before end. *p moves to its contents, *len is their length. */
static int header(const unsigned char **p, const unsigned char *end, int xclass, int constructed,
	int tag, long *len)
{
	int t, c, r;

	if (*p >= end)
		return 0;
	/* 0x80: bad header or contents past omax; 0x01: indefinite length */
	r = ASN1_get_object(p, len, &t, &c, (long)(end - *p));
	return r == (constructed ? V_ASN1_CONSTRUCTED : 0) && c == xclass && t == tag;
}

/* Steps over one whole element. */
static int skip(const unsigned char **p, const unsigned char *end, int constructed, int tag)
{
	long len;

	if (!header(p, end, V_ASN1_UNIVERSAL, constructed, tag, &len))
		return 0;
	*p += len;
	return 1;
}

/* A header whose element runs exactly to end: the last field of its parent. */
static int last(const unsigned char **p, const unsigned char *end, int xclass, int tag)
{
	long len;

	return header(p, end, xclass, 1, tag, &len) && len == end - *p;
}

int ocsp_request_drop_certs(const unsigned char *der, size_t len, unsigned char *out, size_t *outlen)
{
	const unsigned char *p = der, *end = der + len, *tbs, *sig;
	unsigned char *q = out;
	int tbslen, siglen, sigsize, expsize, reqsize, ok = 0;

	/* No request is that large; below it, every size and sum stays within int, the length
	 * type of ASN1_put_object(). */
	if (der == NULL || len == 0 || len > INT_MAX / 2)
		return 0;
	ERR_set_mark();
	/* The request fills the input: bytes after it stay in der for the caller's "nothing
	 * after the request" check to refuse. Each element read with last() is the final field
	 * of its parent, so each ends at end too. */
	if (!last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE))
		goto done;
	tbs = p;
	if (!skip(&p, end, 1, V_ASN1_SEQUENCE))
		goto done;
	tbslen = (int)(p - tbs);
	if (p == end)
		goto done;	/* unsigned */
	if (!last(&p, end, V_ASN1_CONTEXT_SPECIFIC, 0) || !last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE))
		goto done;
	sig = p;
	if (!skip(&p, end, 1, V_ASN1_SEQUENCE) || !skip(&p, end, 0, V_ASN1_BIT_STRING))
		goto done;
	siglen = (int)(p - sig);
	if (p == end)
		goto done;	/* signed without certs */
	/* certs: dropped unread, but only if it is a SEQUENCE OF SEQUENCEs; anything else stays
	 * for d2i to refuse. What is inside each certificate is not checked. */
	if (!last(&p, end, V_ASN1_CONTEXT_SPECIFIC, 0) || !last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE))
		goto done;
	while (p < end)
		if (!skip(&p, end, 1, V_ASN1_SEQUENCE))
			goto done;

	sigsize = ASN1_object_size(1, siglen, V_ASN1_SEQUENCE);
	expsize = ASN1_object_size(1, sigsize, 0);
	reqsize = ASN1_object_size(1, tbslen + expsize, V_ASN1_SEQUENCE);
	/* Shorter contents never need longer headers, so this holds; out has only len bytes. */
	if (sigsize < 0 || expsize < 0 || reqsize < 0 || (size_t)reqsize >= len)
		goto done;
	ASN1_put_object(&q, 1, tbslen + expsize, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(q, tbs, (size_t)tbslen);
	q += tbslen;
	ASN1_put_object(&q, 1, sigsize, 0, V_ASN1_CONTEXT_SPECIFIC);
	ASN1_put_object(&q, 1, siglen, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(q, sig, (size_t)siglen);
	q += siglen;
	*outlen = (size_t)(q - out);
	ok = 1;
done:
	ERR_pop_to_mark();
	return ok;
}

/*
 *   TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 *                             requestorName [1] EXPLICIT GeneralName OPTIONAL,
 *                             requestList SEQUENCE OF Request,
 *                             requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                         issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 *   Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 *   Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
 *                            extnValue OCTET STRING }
 *   GeneralName ::= CHOICE { ..., directoryName [4] Name, ... }	-- EXPLICIT: Name is a CHOICE
 */

/* id-pkix-ocsp-nonce, 1.3.6.1.5.5.7.48.1.2, and id-pkix-ocsp-response (acceptableResponses),
 * 1.3.6.1.5.5.7.48.1.4: the OBJECT IDENTIFIERs' contents */
static const unsigned char nonce_oid[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02 };
static const unsigned char acceptable_oid[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x04 };

static int oid_is(const unsigned char *c, long len, const unsigned char *oid, size_t n)
{
	return len == (long)n && memcmp(c, oid, n) == 0;
}

/* Steps over one element of any tag, definite length. */
static int any(const unsigned char **p, const unsigned char *end)
{
	long len;
	int t, c;

	if (*p >= end || (ASN1_get_object(p, &len, &t, &c, (long)(end - *p)) & 0x81) != 0)
		return 0;
	*p += len;
	return 1;
}

/* A primitive universal element of this tag with at least min content bytes; *p past it. */
static int primitive(const unsigned char **p, const unsigned char *end, int tag, long min,
	const unsigned char **content, long *len)
{
	if (!header(p, end, V_ASN1_UNIVERSAL, 0, tag, len) || *len < min)
		return 0;
	if (content != NULL)
		*content = *p;
	*p += *len;
	return 1;
}

/* An OBJECT IDENTIFIER's contents as OpenSSL decodes them: no subidentifier padded with a
 * leading 0x80, the last one ended. */
static int oid_ok(const unsigned char *c, long len)
{
	long i;

	if (len < 1 || (c[len - 1] & 0x80) != 0)
		return 0;
	for (i = 0; i < len; i++)
		if (c[i] == 0x80 && (i == 0 || (c[i - 1] & 0x80) == 0))
			return 0;
	return 1;
}

/* An INTEGER's contents as OpenSSL decodes them: not empty, no needless leading octet. */
static int integer_ok(const unsigned char *c, long len)
{
	long i;
	int rest = 0;

	if (len < 1)
		return 0;
	if (len == 1)
		return 1;
	if (c[0] == 0x00)
		return (c[1] & 0x80) != 0;
	if (c[0] == 0xff) {
		for (i = 1; i < len; i++)
			rest |= c[i];
		return rest == 0 || (c[1] & 0x80) == 0;	/* 0xff 0x00…: the least of its length */
	}
	return 1;
}

/* A Name (SEQUENCE OF SET OF AttributeTypeAndValue) filling [p, end), each attribute an
 * OBJECT IDENTIFIER and one value. */
static int name_ok(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *set, *atv, *oid;
	long n, oidlen;

	if (!last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE))
		return 0;
	while (p < end) {
		if (!header(&p, end, V_ASN1_UNIVERSAL, 1, V_ASN1_SET, &n) || n == 0)
			return 0;
		for (set = p + n; p < set; p = atv) {
			if (!header(&p, set, V_ASN1_UNIVERSAL, 1, V_ASN1_SEQUENCE, &n))
				return 0;
			atv = p + n;
			if (!primitive(&p, atv, V_ASN1_OBJECT, 1, &oid, &oidlen) || !oid_ok(oid, oidlen) ||
			    !any(&p, atv) || p != atv)
				return 0;
		}
	}
	return 1;
}

/* An OBJECT IDENTIFIER's contents (oid_ok) in dotted form, for a refusal's text; arcs past
 * 64 bits are shown as "?". */
static void oid_text(const unsigned char *c, long len, char *buf, size_t n)
{
	unsigned long long arc = 0;
	size_t at = 0;
	int big = 0, first = 1;
	long i;

	buf[0] = '\0';
	for (i = 0; i < len && at < n; i++) {
		big = big || arc > (ULLONG_MAX >> 7);
		arc = arc << 7 | (c[i] & 0x7f);
		if (c[i] & 0x80)
			continue;
		if (big)
			at += (size_t)snprintf(buf + at, n - at, "%s?", first ? "" : ".");
		else if (first)
			at += (size_t)snprintf(buf + at, n - at, "%llu.%llu", arc < 80 ? arc / 40 : 2,
				arc < 80 ? arc % 40 : arc - 80);
		else
			at += (size_t)snprintf(buf + at, n - at, ".%llu", arc);
		arc = 0;
		big = first = 0;
	}
}

/* The rule the request breaks, noted unless one already is (the first found is named). */
__attribute__((format(printf, 2, 3)))
static void refuse(ocsp_request_view *v, const char *fmt, ...)
{
	va_list ap;

	if (v->refused[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(v->refused, sizeof(v->refused), fmt, ap);
	va_end(ap);
}

/* An extension's OBJECT IDENTIFIER contents (oid_ok: one encoding per OID, so equal OIDs
 * are equal bytes), for the duplicate check. */
typedef struct oid_ref {
	const unsigned char *c;
	long len;
} oid_ref;

static int oid_ref_cmp(const void *a, const void *b)
{
	const oid_ref *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->c, y->c, (size_t)x->len);
}

/* One extension type twice among these n OIDs (sorted in place): the first such, or NULL.
 * Sorted, not compared pairwise: a request of max-request bytes may hold thousands. */
static const oid_ref *duplicate(oid_ref *ids, size_t n)
{
	size_t i;

	if (n > 2)
		qsort(ids, n, sizeof(*ids), oid_ref_cmp);
	for (i = 1; i < n; i++)
		if (oid_ref_cmp(&ids[i - 1], &ids[i]) == 0)
			return &ids[i];
	return NULL;
}

/* Extensions filling [p, end): requestExtensions (v->nonce: the nonce's extnValue) or, with
 * !top, a Request's singleRequestExtensions. The first critical one the responder does not
 * act on, or else an extension type found twice (RFC 5280 4.2, which RFC 6960 imports for
 * Extensions: "MUST NOT include more than one instance of a particular extension"; two
 * nonces would leave it to chance which one a client sees echoed), is noted in v->refused:
 * the request is refused only once it is read whole. */
static int extensions(const unsigned char *p, const unsigned char *end, ocsp_request_view *v, int top)
{
	const unsigned char *oid, *value, *e, *crit;
	const oid_ref *dup;
	oid_ref local[16], *ids = local, *grown;
	size_t nids = 0, cap = sizeof(local) / sizeof(local[0]);
	long n, oidlen, vlen;
	char dotted[64];
	int ok = 0;

	if (!last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE) || p == end)
		return 0;
	while (p < end) {
		if (!header(&p, end, V_ASN1_UNIVERSAL, 1, V_ASN1_SEQUENCE, &n))
			goto out;
		e = p + n;
		crit = NULL;
		if (!primitive(&p, e, V_ASN1_OBJECT, 1, &oid, &oidlen) || !oid_ok(oid, oidlen))
			goto out;
		if (p < e && *p == V_ASN1_BOOLEAN && (!primitive(&p, e, V_ASN1_BOOLEAN, 1, &crit, &n) || n != 1))
			goto out;
		if (!primitive(&p, e, V_ASN1_OCTET_STRING, 0, &value, &vlen) || p != e)
			goto out;
		if (nids == cap) {
			grown = realloc(ids == local ? NULL : ids, 2 * cap * sizeof(*ids));
			if (grown == NULL)
				goto out;
			if (ids == local)
				memcpy(grown, local, sizeof(local));
			ids = grown;
			cap *= 2;
		}
		ids[nids].c = oid;
		ids[nids++].len = oidlen;
		if (top && v->nonce == NULL && oid_is(oid, oidlen, nonce_oid, sizeof(nonce_oid))) {
			v->nonce = value;
			v->nonce_len = (size_t)vlen;
		}
		/* TRUE is any octet but 0 to OpenSSL (BER), as FALSE spelt out is 0 */
		if (crit != NULL && *crit != 0 && v->refused[0] == '\0' &&
		    !(top && (oid_is(oid, oidlen, nonce_oid, sizeof(nonce_oid)) ||
			      oid_is(oid, oidlen, acceptable_oid, sizeof(acceptable_oid))))) {
			oid_text(oid, oidlen, dotted, sizeof(dotted));
			refuse(v, "RFC 6960 4.4: critical extension %s in %s, which the responder does not act on",
				dotted, top ? "requestExtensions" : "singleRequestExtensions");
		}
	}
	if (v->refused[0] == '\0' && (dup = duplicate(ids, nids)) != NULL) {
		oid_text(dup->c, dup->len, dotted, sizeof(dotted));
		refuse(v, "RFC 5280 4.2: extension %s more than once in %s", dotted,
			top ? "requestExtensions" : "singleRequestExtensions");
	}
	ok = 1;
out:
	if (ids != local)
		free(ids);
	return ok;
}

/* One Request; its CertID's encoding goes into md. */
static int request(const unsigned char **p, const unsigned char *end, ocsp_request_view *v, EVP_MD_CTX *md)
{
	const unsigned char *e, *id, *f;
	long n;

	if (!header(p, end, V_ASN1_UNIVERSAL, 1, V_ASN1_SEQUENCE, &n))
		return 0;
	e = *p + n;
	id = *p;
	if (!header(p, e, V_ASN1_UNIVERSAL, 1, V_ASN1_SEQUENCE, &n))
		return 0;
	f = *p + n;
	if (!skip(p, f, 1, V_ASN1_SEQUENCE) || !skip(p, f, 0, V_ASN1_OCTET_STRING) ||
	    !skip(p, f, 0, V_ASN1_OCTET_STRING) || !primitive(p, f, V_ASN1_INTEGER, 1, NULL, &n) || *p != f ||
	    !EVP_DigestUpdate(md, id, (size_t)(f - id)))
		return 0;
	if (*p < e && (!last(p, e, V_ASN1_CONTEXT_SPECIFIC, 0) || !extensions(*p, e, v, 0)))
		return 0;
	*p = e;
	return 1;
}

/* OpenSSL takes [p, end) whole as a GeneralName: the forms the responder does not use are
 * judged as d2i_OCSP_REQUEST would judge them. */
static int general_name_decodes(const unsigned char *p, const unsigned char *end)
{
	GENERAL_NAME *g = d2i_GENERAL_NAME(NULL, &p, (long)(end - p));
	int ok = g != NULL && p == end;

	GENERAL_NAME_free(g);
	return ok;
}

/* The requestorName: one GeneralName filling [p, end); a directoryName is noted (its Name's
 * structure checked here, its values by the caller: ocsp_request_view_of's comment).
 * GeneralName's alternatives are [0] to [8], constructed where they are SEQUENCEs
 * (otherName, x400Address, ediPartyName) or the directoryName's explicit Name. */
static int requestor(const unsigned char *p, const unsigned char *end, ocsp_request_view *v)
{
	const unsigned char *q = p;
	long n;
	int tag, xclass, r;

	if (p >= end)
		return 0;
	r = ASN1_get_object(&q, &n, &tag, &xclass, (long)(end - p));
	if ((r & 0x81) != 0 || xclass != V_ASN1_CONTEXT_SPECIFIC || tag > 8 || q + n != end ||
	    (r == V_ASN1_CONSTRUCTED) != (tag == 0 || tag == 3 || tag == 4 || tag == 5))
		return 0;
	if (tag != 4)
		return general_name_decodes(p, end);
	if (!name_ok(q, end))
		return 0;
	v->name = q;
	v->name_len = (size_t)(end - q);
	return 1;
}

static int tbs_request(const unsigned char **p, const unsigned char *end, ocsp_request_view *v, EVP_MD_CTX *md)
{
	const unsigned char *q, *e, *list, *c;
	long n;

	v->tbs = *p;
	if (!header(p, end, V_ASN1_UNIVERSAL, 1, V_ASN1_SEQUENCE, &n))
		return 0;
	end = *p + n;
	v->tbs_len = (size_t)(end - v->tbs);
	q = *p;
	if (header(&q, end, V_ASN1_CONTEXT_SPECIFIC, 1, 0, &n)) {
		e = q + n;	/* a version: one INTEGER */
		if (!primitive(&q, e, V_ASN1_INTEGER, 1, &c, &n) || !integer_ok(c, n) || q != e)
			return 0;
		/* v1 spelt out (BER: DER leaves a DEFAULT out) is v1 still */
		if (n != 1 || c[0] != 0)
			snprintf(v->refused, sizeof(v->refused), "RFC 6960 4.1.1: the request's version is not v1");
		*p = e;
	}
	q = *p;
	if (header(&q, end, V_ASN1_CONTEXT_SPECIFIC, 1, 1, &n)) {
		if (!requestor(q, q + n, v))
			return 0;
		*p = q + n;
	}
	if (!header(p, end, V_ASN1_UNIVERSAL, 1, V_ASN1_SEQUENCE, &n))
		return 0;
	for (list = *p + n; *p < list; v->ncertids++)
		if (!request(p, list, v, md))
			return 0;
	if (*p < end && (!last(p, end, V_ASN1_CONTEXT_SPECIFIC, 2) || !extensions(*p, end, v, 1)))
		return 0;
	*p = end;
	return 1;
}

/* OpenSSL takes the signatureAlgorithm and the signature whole, as d2i_OCSP_REQUEST would:
 * a request whose signature it cannot decode never reaches a cached answer, whoever asks. */
static int signature_decodes(const ocsp_request_view *v)
{
	const unsigned char *p = v->sig_alg;
	X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, (long)v->sig_alg_len);
	ASN1_BIT_STRING *sig = NULL;
	int ok = alg != NULL && p == v->sig_alg + v->sig_alg_len;

	p = v->sig;
	if (ok)
		sig = d2i_ASN1_BIT_STRING(NULL, &p, (long)v->sig_len);
	ok = ok && sig != NULL && p == v->sig + v->sig_len;
	X509_ALGOR_free(alg);
	ASN1_BIT_STRING_free(sig);
	return ok;
}

/* optionalSignature's contents: the Signature filling [p, end). */
static int signature(const unsigned char *p, const unsigned char *end, ocsp_request_view *v)
{
	if (!last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE))
		return 0;
	v->sig_alg = p;
	if (!skip(&p, end, 1, V_ASN1_SEQUENCE))
		return 0;
	v->sig_alg_len = (size_t)(p - v->sig_alg);
	v->sig = p;
	if (!skip(&p, end, 0, V_ASN1_BIT_STRING))
		return 0;
	v->sig_len = (size_t)(p - v->sig);
	if (!signature_decodes(v))
		return 0;
	if (p == end)
		return 1;
	if (!last(&p, end, V_ASN1_CONTEXT_SPECIFIC, 0) || !last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE))
		return 0;
	while (p < end)
		if (!skip(&p, end, 1, V_ASN1_SEQUENCE))
			return 0;
	return 1;
}

int ocsp_request_view_of(const unsigned char *der, size_t len, ocsp_request_view *v)
{
	const unsigned char *p = der, *end = der + len;
	EVP_MD_CTX *md = NULL;
	char why[sizeof(v->refused)];
	int ok = 0;

	memset(v, 0, sizeof(*v));
	if (der == NULL || len == 0 || len > INT_MAX / 2)
		return 0;
	ERR_set_mark();
	md = EVP_MD_CTX_new();
	if (md == NULL || !EVP_DigestInit_ex(md, jpki_sha256(), NULL) ||
	    !last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE) || !tbs_request(&p, end, v, md))
		goto done;
	if (p < end && (!last(&p, end, V_ASN1_CONTEXT_SPECIFIC, 0) || !signature(p, end, v)))
		goto done;
	ok = EVP_DigestFinal_ex(md, v->certids_sha256, NULL);
	if (ok && v->refused[0] != '\0') {
		/* read whole first: a refusal by rule only for a request that is one */
		memcpy(why, v->refused, sizeof(why));
		memset(v, 0, sizeof(*v));
		memcpy(v->refused, why, sizeof(why));
		ok = -1;
	}
done:
	EVP_MD_CTX_free(md);
	if (!ok)
		memset(v, 0, sizeof(*v));
	ERR_pop_to_mark();
	return ok;
}
