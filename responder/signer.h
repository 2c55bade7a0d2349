/* Signing responses with the responder key held in the HSM (PKCS#11 URI through libp11).
 * Each signing thread opens its own key (its own PKCS#11 session); a failing token gives
 * tryLater and is retried with back-off, never a crash or a hang. */
#ifndef OCSPD_SIGNER_H
#define OCSPD_SIGNER_H
#include <stdbool.h>
#include <openssl/ocsp.h>
#include "ocspd.h"
#include "trust.h"

/* Reads the responder certificate(s) (a PEM bundle: one per CA key generation it answers
 * for) and checks them (rule responder-cert): id-kp-OCSPSigning, within validity, an
 * authorityKeyIdentifier naming its CA key, a signature that verifies with that key when it
 * is one of ca_certs (else before its first use), and the public key of key-uri, which is
 * opened once for that. A key that cannot be opened refuses when key_required (a reload);
 * else (a start, the token perhaps away for now) it is logged, answers are tryLater until a
 * signing thread opens it, and the certificates are checked against it then. -1 with err
 * naming the check: the running configuration and keys stay as they were. */
int signer_configure(const ocspd_config *c, STACK_OF(X509) *ca_certs, bool key_required,
	char *err, size_t errlen);

#define SIGNER_NO_KEY (-1)	/* the token could not sign now */
#define SIGNER_NO_CERT (-2)	/* no current, checked responder certificate from that CA key */
/* Signs with the responder certificate issued by the CA key `issuer` (any, when NULL: every
 * CertID is of an issuer not served). 0, or SIGNER_NO_KEY / SIGNER_NO_CERT: answer tryLater. */
int signer_sign(OCSP_BASICRESP *bs, const jpki_ca_key *issuer);
void signer_shutdown(void);

#endif
