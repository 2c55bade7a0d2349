/* Private keys held in a PKCS#11 token, named by an RFC 7512 URI, used through libp11. */
#ifndef JPKI_P11KEY_H
#define JPKI_P11KEY_H
#include <openssl/evp.h>
#include "err.h"

typedef struct jpki_p11key jpki_p11key;

/* Loads the module (the URI's module-path, else $JPKI_PKCS11_MODULE, else SoftHSMv2's),
 * finds the token (token=, serial=, manufacturer=, model=), logs in with the PIN
 * (pin_file if non-NULL, else the URI's pin-source= file, else its pin-value=) and finds the
 * private key (id= and/or object=; type=private implied). The key never leaves the token. */
int jpki_p11key_open(const char *uri, const char *pin_file, jpki_p11key **out, jpki_err *err);
/* jpki_p11key_open's result when the token refused the PIN (0 opened, -1 any other failure):
 * every try with the same PIN counts toward the token's lockout, so whoever retries a failed
 * open must not retry this one until the PIN is changed. */
#define JPKI_P11KEY_PIN_REFUSED (-2)
/* The private key as an EVP_PKEY for OpenSSL 3 signing calls; owned by k. */
EVP_PKEY *jpki_p11key_pkey(jpki_p11key *k);
/* The matching public key (modulus and exponent of the private key object, else a
 * certificate stored with it on the token; libp11 0.4.12 leaks on PKCS11_get_public_key);
 * owned by k. */
EVP_PKEY *jpki_p11key_pubkey(jpki_p11key *k);
void jpki_p11key_close(jpki_p11key *k);

#endif
