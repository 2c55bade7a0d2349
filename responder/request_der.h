/* What the responder reads from an OCSPRequest's DER itself, by its TLV headers only: a
 * signed request without the certificates its signer attached (OpenSSL 3 decodes every
 * certificate, and its public key, in d2i_OCSP_REQUEST, and the responder never uses them:
 * it verifies with the registry's certificates), and a view of the request's parts (the
 * requestorName, which OpenSSL 3.0 has no getter for; the signed bytes as received). */
#ifndef OCSPD_REQUEST_DER_H
#define OCSPD_REQUEST_DER_H
#include <stddef.h>

/* 1: der is one OCSPRequest filling all len bytes whose Signature carries certs; out (at
 * least len bytes, not overlapping der) holds the same request without the certs field,
 * *outlen its length (< len). tbsRequest, signatureAlgorithm and signature are copied byte
 * for byte, so the signature still verifies; the three enclosing headers are re-encoded.
 * 0: nothing to drop (unsigned, no certs) or not the expected structure (indefinite length,
 * a length past the end, bytes after the request, ...): parse der as it is. out and *outlen
 * are then untouched. Never reads outside der; leaves OpenSSL's error queue as it was. */
int ocsp_request_drop_certs(const unsigned char *der, size_t len, unsigned char *out, size_t *outlen);

/* What the responder reads of a request without decoding it: who asks, whether a cached
 * answer serves it, the nonce. d2i_OCSP_REQUEST runs only when an answer must be made. */
typedef struct ocsp_request_view {
	const unsigned char *tbs;	/* tbsRequest, header and all: what a signature covers */
	size_t tbs_len;
	const unsigned char *name;	/* the requestorName's directoryName, its Name element; or NULL */
	size_t name_len;
	size_t ncertids;
	unsigned char certids_sha256[32];	/* over the CertIDs' encodings in order: the cache key */
	const unsigned char *nonce;	/* the nonce extension's extnValue contents, or NULL */
	size_t nonce_len;
	const unsigned char *sig_alg;	/* signatureAlgorithm element, or NULL: unsigned */
	size_t sig_alg_len;
	const unsigned char *sig;	/* signature BIT STRING element */
	size_t sig_len;
	char refused[128];	/* with -1: the rule the request breaks; else "" */
} ocsp_request_view;

/* 1: der is one OCSPRequest filling all len bytes, every element of RFC 6960's structure
 * with its tag where it belongs and a definite length; v points into der. 0: not (v zeroed).
 * -1: such a request, but one the responder cannot answer as it stands, a malformedRequest
 * (v zeroed but for refused, which names the rule): a version other than v1 (RFC 6960
 * 4.1.1), a critical extension it does not act on (RFC 6960 4.4: never ignored), or one
 * extension type twice in one Extensions (RFC 5280 4.2, which RFC 6960 imports). It acts
 * on the nonce and acceptableResponses in requestExtensions (it always answers
 * id-pkix-ocsp-basic, which every client accepts, 4.4.3), on nothing in
 * singleRequestExtensions. Where OpenSSL decodes such a request, it finds the same.
 * The signature's algorithm and value, and a requestorName other than a directoryName, are
 * decoded by OpenSSL here. Not judged here: what is inside a CertID's fields (a cached
 * answer is found by the CertIDs' very bytes, which an earlier request had decoded), the
 * attribute values of the requestorName's Name (the caller's: the bytes of a registered
 * certificate's subject, or decoded) and the certificates (never used). Never reads outside
 * der; leaves OpenSSL's error queue as it was. */
int ocsp_request_view_of(const unsigned char *der, size_t len, ocsp_request_view *v);

#endif
