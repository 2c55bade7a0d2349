#include "signer.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11key.h"
#include "digest.h"

typedef struct responder_cert {
	X509 *cert;
	unsigned char issuer_id[SHA_DIGEST_LENGTH];	/* from its authorityKeyIdentifier */
	int has_issuer_id;
} responder_cert;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;	/* configuration */
static responder_cert *certs;
static size_t ncerts;
static char *key_uri, *pin_file;

/* Each signing thread (signpool.h) signs with its own key (its own PKCS#11 session), kept
 * in a slot so that a failure or a reload can close them all at once: the PKCS#11 module is
 * shared and only unloaded when no key holds it, and only a fresh load sees the token as it
 * is now. Signing holds `keys` for reading; closing them all holds it for writing. */
/* Signing threads, and workers that sign when the queue cannot take a job. */
#define MAX_SLOTS (2 * 1024 + 8)
static pthread_rwlock_t keys = PTHREAD_RWLOCK_INITIALIZER;
static jpki_p11key *slots[MAX_SLOTS];
static atomic_int nslots;
static _Atomic time_t retry_at;
static atomic_uint backoff;
static _Thread_local int my_slot = -1;

static void close_all(void)
{
	int i;

	pthread_rwlock_wrlock(&keys);
	for (i = 0; i < atomic_load(&nslots); i++) {
		jpki_p11key_close(slots[i]);
		slots[i] = NULL;
	}
	pthread_rwlock_unlock(&keys);
}

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
	pthread_mutex_unlock(&lock);
	/* A reload reopens the key everywhere; so does a failure, with back-off. */
	close_all();
	atomic_store(&retry_at, 0);
	atomic_store(&backoff, 0);
	return 0;
}

/* This thread's key (called with `keys` held for reading), opened when missing and due. */
static jpki_p11key *thread_key(void)
{
	jpki_err err;
	char *uri, *pin;

	if (my_slot < 0) {
		my_slot = atomic_fetch_add(&nslots, 1);
		if (my_slot >= MAX_SLOTS) {
			ocspd_log(OCSPD_LOG_ERR, "more than %d signing threads", MAX_SLOTS);
			atomic_fetch_sub(&nslots, 1);
			my_slot = -1;
			return NULL;
		}
	}
	if (slots[my_slot] != NULL)
		return slots[my_slot];
	if (time(NULL) < atomic_load(&retry_at))
		return NULL;
	pthread_mutex_lock(&lock);
	uri = strdup(key_uri);
	pin = pin_file != NULL ? strdup(pin_file) : NULL;
	pthread_mutex_unlock(&lock);
	if (jpki_p11key_open(uri, pin, &slots[my_slot], &err) < 0) {
		unsigned b = atomic_load(&backoff);

		slots[my_slot] = NULL;
		b = b ? (b < 30 ? b * 2 : 30) : 1;
		atomic_store(&backoff, b);
		atomic_store(&retry_at, time(NULL) + b);
		ocspd_log(OCSPD_LOG_ERR, "responder key unavailable (%s); answering tryLater, retry in %u s",
			err.text, b);
	}
	free(uri);
	free(pin);
	return slots[my_slot];
}

static X509 *cert_for(const jpki_ca_key *issuer)
{
	size_t i;

	for (i = 0; issuer != NULL && i < ncerts; i++)
		if (certs[i].has_issuer_id && memcmp(certs[i].issuer_id, issuer->id, SHA_DIGEST_LENGTH) == 0)
			return certs[i].cert;
	return ncerts > 0 ? certs[0].cert : NULL;
}

/* After a failure: every key closed (the module unloads), reopening after back-off. */
static void token_failed(const char *why)
{
	unsigned b = atomic_load(&backoff);

	b = b ? (b < 30 ? b * 2 : 30) : 1;
	atomic_store(&backoff, b);
	atomic_store(&retry_at, time(NULL) + b);
	ocspd_log(OCSPD_LOG_ERR, "signing failed (%s); closing the token, retry in %u s", why, b);
	close_all();
}

int signer_sign(OCSP_BASICRESP *bs, const jpki_ca_key *issuer)
{
	jpki_p11key *k;
	X509 *cert;
	int ok = 0, opened;

	pthread_rwlock_rdlock(&keys);
	k = thread_key();
	opened = k != NULL;
	if (k != NULL) {
		pthread_mutex_lock(&lock);
		cert = cert_for(issuer);
		if (cert != NULL)
			X509_up_ref(cert);
		pthread_mutex_unlock(&lock);
		/* ResponderID by key hash; the responder certificate goes in the response. */
		ok = cert != NULL && OCSP_basic_sign(bs, cert, jpki_p11key_pkey(k), jpki_sha256(), NULL,
			OCSP_RESPID_KEY);
		X509_free(cert);
	}
	pthread_rwlock_unlock(&keys);
	if (ok) {
		atomic_store(&backoff, 0);
		return 0;
	}
	if (opened) {
		unsigned long e = ERR_peek_last_error();

		token_failed(e ? ERR_reason_error_string(e) : "unknown");
	}
	ERR_clear_error();
	return -1;
}

void signer_shutdown(void)
{
	close_all();
	pthread_mutex_lock(&lock);
	certs_free(certs, ncerts);
	certs = NULL;
	ncerts = 0;
	pthread_mutex_unlock(&lock);
}
