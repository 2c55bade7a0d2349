#include "request_der.h"

#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <string.h>

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
 *                             requestorName [1] EXPLICIT GeneralName OPTIONAL, ... }
 *   GeneralName ::= CHOICE { ..., directoryName [4] Name, ... }	-- EXPLICIT: Name is a CHOICE
 */
int ocsp_request_requestor_name(const unsigned char *der, size_t len, const unsigned char **name,
	size_t *namelen)
{
	const unsigned char *p = der, *end = der + len, *q, *at;
	long n;
	int ok = 0;

	if (der == NULL || len == 0 || len > INT_MAX / 2)
		return 0;
	ERR_set_mark();
	if (!last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE) ||
	    !header(&p, end, V_ASN1_UNIVERSAL, 1, V_ASN1_SEQUENCE, &n))
		goto done;
	end = p + n;	/* the tbsRequest's end */
	q = p;
	if (header(&q, end, V_ASN1_CONTEXT_SPECIFIC, 1, 0, &n))
		p = q + n;	/* a version */
	/* [1] holds one GeneralName, [4] one Name: each fills its parent */
	if (!header(&p, end, V_ASN1_CONTEXT_SPECIFIC, 1, 1, &n))
		goto done;
	end = p + n;
	if (!last(&p, end, V_ASN1_CONTEXT_SPECIFIC, 4))
		goto done;
	at = p;
	if (!last(&p, end, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE))
		goto done;
	*name = at;
	*namelen = (size_t)(end - at);
	ok = 1;
done:
	ERR_pop_to_mark();
	return ok;
}
