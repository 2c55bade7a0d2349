/* Answers to requests without a nonce, kept per list of CertIDs until a newer snapshot
 * (a newer CRL) arrives or cache-max-age passes (RFC 5019: such answers may be reused). */
#ifndef OCSPD_CACHE_H
#define OCSPD_CACHE_H
#include <stddef.h>
#include <time.h>
#include "ocspd.h"

/* key: SHA-256 over a request's CertIDs' encodings, in order (ocsp_request_view's).
 * A copy of the cached answer (OPENSSL_free) when fresh for this generation.
 * certids: the audit details of the CertIDs answered, kept with the answer; a copy (free)
 * or NULL comes back with it. */
int cache_get(const unsigned char key[32], unsigned long generation, time_t now, long max_age,
	unsigned char **der, size_t *len, ocspd_answer_info *info, char **certids);
void cache_put(const unsigned char key[32], unsigned long generation, time_t now,
	const unsigned char *der, size_t len, const ocspd_answer_info *info, const char *certids);
void cache_clear(void);

#endif
