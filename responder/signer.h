/* Signing responses with the responder key held in the HSM (PKCS#11 URI through libp11).
 * Each signing thread opens its own key (its own PKCS#11 session); a failing token gives
 * tryLater and is retried with back-off, never a crash or a hang. */
#ifndef OCSPD_SIGNER_H
#define OCSPD_SIGNER_H
#include <openssl/ocsp.h>
#include "ocspd.h"
#include "trust.h"

/* Reads the responder certificate(s) (a PEM bundle: one per CA generation it answers for)
 * and the key settings; a reload makes every thread reopen its key. */
int signer_configure(const ocspd_config *c, char *err, size_t errlen);
/* Signs with the responder certificate issued by `issuer` (else the first). 0, or -1:
 * the token could not sign now (answer tryLater). */
int signer_sign(OCSP_BASICRESP *bs, const jpki_ca_key *issuer);
void signer_shutdown(void);

#endif
