/* What the responder reads from an OCSPRequest's DER itself, by its TLV headers only: a
 * signed request without the certificates its signer attached (OpenSSL 3 decodes every
 * certificate, and its public key, in d2i_OCSP_REQUEST, and the responder never uses them:
 * it verifies with the registry's certificates, OCSP_NOINTERN), and the requestorName,
 * which OpenSSL 3.0 has no getter for. */
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

/* 1: der is one OCSPRequest filling all len bytes whose tbsRequest has a requestorName
 * (RFC 6960: [1] EXPLICIT GeneralName) that is a directoryName ([4] EXPLICIT Name); *name
 * points at that Name's SEQUENCE element inside der, *namelen is its length, header and all.
 * 0: none (absent, another form of GeneralName) or not the expected structure; *name and
 * *namelen untouched. Never reads outside der; leaves OpenSSL's error queue as it was. */
int ocsp_request_requestor_name(const unsigned char *der, size_t len, const unsigned char **name,
	size_t *namelen);

#endif
