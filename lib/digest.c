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

void jpki_sha256_hex(const void *data, size_t len, char out[JPKI_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	if (EVP_Digest(data, len, md, NULL, jpki_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[JPKI_SHA256_HEX_LEN] = '\0';
}
