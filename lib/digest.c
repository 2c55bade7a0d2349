#include "digest.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>

static EVP_MD *fetched;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
	fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *jpki_sha256(void)
{
	pthread_once(&once, fetch);
	return fetched != NULL ? fetched : EVP_sha256();
}

void jpki_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void jpki_sha256_hex(const void *data, size_t len, char out[JPKI_SHA256_HEX_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (EVP_Digest(data, len, md, NULL, jpki_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	jpki_hex(md, sizeof(md), out);
}
