#include "signer.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11key.h"

typedef struct responder_cert {
	X509 *cert;
	unsigned char issuer_id[SHA_DIGEST_LENGTH];	/* from its authorityKeyIdentifier */
	int has_issuer_id;
} responder_cert;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;	/* configuration and key opening */
static responder_cert *certs;
static size_t ncerts;
static char *key_uri, *pin_file;
static unsigned long generation;

/* Each thread's own key: its own PKCS#11 session. */
static _Thread_local struct {
	jpki_p11key *key;
	unsigned long generation;
	time_t retry_at;
	unsigned backoff;
} mine;

static void certs_free(responder_cert *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		X509_free(c[i].cert);
	free(c);
}

static int load_certs(const char *path, responder_cert **out, size_t *n, char *err, size_t errlen)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x;
	responder_cert *list = NULL, *g;

	*n = 0;
	if (b == NULL) {
		snprintf(err, errlen, "responder-cert %s: cannot open", path);
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		AUTHORITY_KEYID *aki = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);

		g = realloc(list, (*n + 1) * sizeof(*g));
		if (g == NULL) {
			X509_free(x);
			AUTHORITY_KEYID_free(aki);
			break;
		}
		list = g;
		memset(&list[*n], 0, sizeof(list[*n]));
		list[*n].cert = x;
		if (aki != NULL && aki->keyid != NULL && aki->keyid->length == SHA_DIGEST_LENGTH) {
			memcpy(list[*n].issuer_id, aki->keyid->data, SHA_DIGEST_LENGTH);
			list[*n].has_issuer_id = 1;
		}
		AUTHORITY_KEYID_free(aki);
		(*n)++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (*n == 0) {
		snprintf(err, errlen, "responder-cert %s holds no PEM certificate", path);
		free(list);
		return -1;
	}
	*out = list;
	return 0;
}

int signer_configure(const ocspd_config *c, char *err, size_t errlen)
{
	responder_cert *list;
	size_t n;

	if (c->key_uri == NULL || c->responder_cert == NULL) {
		snprintf(err, errlen, "key-uri and responder-cert are required");
		return -1;
	}
	if (load_certs(c->responder_cert, &list, &n, err, errlen) < 0)
		return -1;
	pthread_mutex_lock(&lock);
	certs_free(certs, ncerts);
	certs = list;
	ncerts = n;
	free(key_uri);
	free(pin_file);
	key_uri = strdup(c->key_uri);
	pin_file = c->pin_file != NULL ? strdup(c->pin_file) : NULL;
	generation++;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* This thread's key, opened (or reopened after a reload or a failure) when due. */
static jpki_p11key *thread_key(void)
{
	jpki_err err;
	time_t now = time(NULL);

	if (mine.key != NULL && mine.generation == generation)
		return mine.key;
	if (mine.key != NULL) {
		jpki_p11key_close(mine.key);
		mine.key = NULL;
	}
	if (now < mine.retry_at)
		return NULL;
	pthread_mutex_lock(&lock);
	if (jpki_p11key_open(key_uri, pin_file, &mine.key, &err) < 0) {
		mine.key = NULL;
		mine.backoff = mine.backoff ? (mine.backoff < 30 ? mine.backoff * 2 : 30) : 1;
		mine.retry_at = now + mine.backoff;
		pthread_mutex_unlock(&lock);
		ocspd_log(OCSPD_LOG_ERR, "responder key unavailable (%s); answering tryLater, retry in %u s",
			err.text, mine.backoff);
		return NULL;
	}
	mine.generation = generation;
	mine.backoff = 0;
	pthread_mutex_unlock(&lock);
	return mine.key;
}

static X509 *cert_for(const jpki_ca_key *issuer)
{
	size_t i;

	for (i = 0; issuer != NULL && i < ncerts; i++)
		if (certs[i].has_issuer_id && memcmp(certs[i].issuer_id, issuer->id, SHA_DIGEST_LENGTH) == 0)
			return certs[i].cert;
	return ncerts > 0 ? certs[0].cert : NULL;
}

int signer_sign(OCSP_BASICRESP *bs, const jpki_ca_key *issuer)
{
	jpki_p11key *k = thread_key();
	X509 *cert;
	int ok;

	if (k == NULL)
		return -1;
	pthread_mutex_lock(&lock);
	cert = cert_for(issuer);
	if (cert != NULL)
		X509_up_ref(cert);
	pthread_mutex_unlock(&lock);
	if (cert == NULL)
		return -1;
	/* ResponderID by key hash; the responder certificate goes in the response. */
	ok = OCSP_basic_sign(bs, cert, jpki_p11key_pkey(k), EVP_sha256(), NULL, OCSP_RESPID_KEY);
	X509_free(cert);
	if (!ok) {
		unsigned long e = ERR_peek_last_error();

		ocspd_log(OCSPD_LOG_ERR, "signing failed (%s); reopening the token",
			e ? ERR_reason_error_string(e) : "unknown");
		ERR_clear_error();
		jpki_p11key_close(mine.key);
		mine.key = NULL;
		mine.backoff = mine.backoff ? (mine.backoff < 30 ? mine.backoff * 2 : 30) : 1;
		mine.retry_at = time(NULL) + mine.backoff;
		/* Every thread drops its key too: the module is shared, and only when no key holds
		 * it is it unloaded, so that the next open sees the token as it is now. */
		pthread_mutex_lock(&lock);
		generation++;
		pthread_mutex_unlock(&lock);
		return -1;
	}
	return 0;
}

void signer_shutdown(void)
{
	if (mine.key != NULL) {
		jpki_p11key_close(mine.key);
		mine.key = NULL;
	}
	pthread_mutex_lock(&lock);
	certs_free(certs, ncerts);
	certs = NULL;
	ncerts = 0;
	pthread_mutex_unlock(&lock);
}
