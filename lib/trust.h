/* The CA keys a repository trusts: configured anchors (self-signed certificates of one CA)
 * plus later generations that a link certificate signed by an already trusted key brings in
 * (CPS 4-13: NewWithOld / OldWithNew at each key update). */
#ifndef JPKI_TRUST_H
#define JPKI_TRUST_H
#include <openssl/sha.h>
#include <openssl/x509.h>
#include "err.h"

typedef struct jpki_ca_key {
	EVP_PKEY *pub;
	X509 *cert;			/* the certificate that brought the key in */
	unsigned char id[SHA_DIGEST_LENGTH];	/* SHA-1 of subjectPublicKey (RFC 5280 4.2.1.2 (1)) */
	int anchor;
} jpki_ca_key;

typedef struct jpki_trust jpki_trust;

jpki_trust *jpki_trust_new(void);
jpki_trust *jpki_trust_dup(const jpki_trust *t);
void jpki_trust_free(jpki_trust *t);
/* Every certificate in the PEM file must be a self-signed CA certificate of the same name. */
int jpki_trust_add_anchor_file(jpki_trust *t, const char *path, jpki_err *err);
/* The same check, keeping the certificates: appended to out (whose certificates they must
 * agree with) only when all of them pass. What the overlay and the responder configure. */
int jpki_trust_read_anchors(const char *path, STACK_OF(X509) *out, jpki_err *err);
int jpki_trust_add_anchor(jpki_trust *t, X509 *cert, jpki_err *err);
/* A new set of the configured anchors (as jpki_trust_read_anchors read them); NULL with err
 * when one is refused or memory runs out. */
jpki_trust *jpki_trust_from_anchors(STACK_OF(X509) *anchors, jpki_err *err);
/* Every certificate must be signed by a trusted key, counting keys that the others in the
 * set bring in (a link certificate signed by a trusted key, for the CA's own name, trusts its
 * subject key). On refusal names the first certificate no trusted key signs; t is unchanged. */
int jpki_trust_extend(jpki_trust *t, STACK_OF(X509) *certs, jpki_err *err);
/* Same, for DER values as stored in cACertificate;binary. */
int jpki_trust_extend_der(jpki_trust *t, const unsigned char *const *ders, const size_t *lens,
	size_t n, jpki_err *err);

/* Stored values as they are: all at once when they verify together, else each one that
 * verifies, repeated until nothing more is added (so their order does not matter and a bad
 * value loses only itself). Returns how many values were left out. */
size_t jpki_trust_extend_stored(jpki_trust *t, const unsigned char *const *ders, const size_t *lens,
	size_t n);

size_t jpki_trust_count(const jpki_trust *t);
const jpki_ca_key *jpki_trust_key(const jpki_trust *t, size_t i);
const X509_NAME *jpki_trust_ca_name(const jpki_trust *t);
const jpki_ca_key *jpki_trust_find_id(const jpki_trust *t, const unsigned char *id, size_t len);
/* The trusted key whose signature on the CRL verifies (tried first by the CRL's
 * authorityKeyIdentifier), or NULL. */
const jpki_ca_key *jpki_trust_crl_signer(const jpki_trust *t, X509_CRL *crl);

#endif
