/* SHA-256 for hot paths: OpenSSL 3 looks an algorithm up (under its provider locks) on every
 * implicit use such as EVP_sha256() passed to EVP_Digest; this one is fetched once. */
#ifndef JPKI_DIGEST_H
#define JPKI_DIGEST_H
#include <openssl/evp.h>
#include <stddef.h>

/* Never NULL: EVP_sha256() itself if the explicit fetch failed. */
const EVP_MD *jpki_sha256(void);

/* p[0..n) in lowercase hex into out, which holds 2n + 1 bytes; NUL-terminated. */
void jpki_hex(const unsigned char *p, size_t n, char *out);

#define JPKI_SHA256_HEX_LEN 64
/* SHA-256 of data in lowercase hex, NUL-terminated (all zeros if the digest failed). */
void jpki_sha256_hex(const void *data, size_t len, char out[JPKI_SHA256_HEX_LEN + 1]);

#endif
