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
#include "utctime.h"

/* One responder certificate. RFC 6960 4.2.2.2: a delegated responder speaks only for the CA
 * key that issued its certificate, the one its authorityKeyIdentifier names. */
typedef struct responder_cert {
	X509 *cert;
	const ASN1_OCTET_STRING *aki;	/* its keyIdentifier (owned by cert) */
	time_t not_before, not_after;
	/* Its signature with that CA key: 1 verified, -1 refused (never used), 0 the key was
	 * not known yet (checked before the first answer for it). */
	int issuer_ok;
	char name[160];			/* "certificate N (serial …)", for the log */
} responder_cert;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;	/* configuration */
static responder_cert *certs;
static size_t ncerts;
static EVP_PKEY *cert_pub;	/* the public key all of them hold: the key must be this one */
static char *key_uri, *pin_file, *cert_file;
static time_t no_cert_logged;	/* the last "no responder certificate", logged once a minute */

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
/* The token refused the PIN: not tried again until a reload brings another configuration. */
static atomic_bool pin_refused;
static atomic_uint backoff;
static _Thread_local int my_slot = -1;

/* Caller holds `keys` for writing. */
static void close_slots(void)
{
	int i;

	for (i = 0; i < atomic_load(&nslots); i++) {
		jpki_p11key_close(slots[i]);
		slots[i] = NULL;
	}
}

static void close_all(void)
{
	pthread_rwlock_wrlock(&keys);
	close_slots();
	pthread_rwlock_unlock(&keys);
}

/* The next wait before the token is tried again: 1, 2, 4 … 30 s. */
static unsigned back_off(void)
{
	unsigned b = atomic_load(&backoff);

	b = b ? (b < 30 ? b * 2 : 30) : 1;
	atomic_store(&backoff, b);
	atomic_store(&retry_at, time(NULL) + b);
	return b;
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
		char serial[41] = "?";
		ASN1_INTEGER *sn = X509_get_serialNumber(x);

		g = realloc(list, (*n + 1) * sizeof(*g));
		if (g == NULL) {
			X509_free(x);
			certs_free(list, *n);
			BIO_free(b);
			snprintf(err, errlen, "responder-cert %s: out of memory", path);
			return -1;
		}
		list = g;
		memset(&list[*n], 0, sizeof(list[*n]));
		list[*n].cert = x;
		if (sn != NULL && sn->length > 0)	/* a serial longer than 20 octets: its first 20 */
			jpki_hex(sn->data, sn->length > 20 ? 20 : (size_t)sn->length, serial);
		snprintf(list[*n].name, sizeof(list[*n].name), "certificate %zu (serial %s)", *n + 1, serial);
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

static int asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	return jpki_utc_from_fields(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, out);
}

/* What a certificate alone must be: a delegated responder's (RFC 6960 4.2.2.2), current,
 * naming the CA key it answers for. */
static int check_cert(responder_cert *rc, const char *path, time_t now, char *err, size_t errlen)
{
	X509 *x = rc->cert;
	char when[JPKI_UTC_ISO_LEN + 1];

	if (X509_check_purpose(x, -1, 0) != 1) {
		snprintf(err, errlen, "rule responder-cert: %s, %s: its extensions cannot be decoded", path, rc->name);
		return -1;
	}
	if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(x) & XKU_OCSP_SIGN)) {
		snprintf(err, errlen, "rule responder-cert EKU (RFC 6960 4.2.2.2): %s, %s: no extendedKeyUsage "
			"id-kp-OCSPSigning", path, rc->name);
		return -1;
	}
	if (asn1_time(X509_get0_notBefore(x), &rc->not_before) < 0 ||
	    asn1_time(X509_get0_notAfter(x), &rc->not_after) < 0) {
		snprintf(err, errlen, "rule responder-cert validity: %s, %s: unreadable validity", path, rc->name);
		return -1;
	}
	if (now >= rc->not_after) {
		jpki_utc_iso(rc->not_after, when);
		snprintf(err, errlen, "rule responder-cert validity: %s, %s: expired at %s", path, rc->name, when);
		return -1;
	}
	if (now < rc->not_before) {	/* a renewal installed ahead: used from its notBefore on */
		jpki_utc_iso(rc->not_before, when);
		ocspd_log(OCSPD_LOG_INFO, "%s, %s: not valid before %s; used from then on", path, rc->name, when);
	}
	rc->aki = X509_get0_authority_key_id(x);
	if (rc->aki == NULL || rc->aki->length <= 0) {
		snprintf(err, errlen, "rule responder-cert issuer: %s, %s: no authorityKeyIdentifier keyIdentifier, "
			"so no CA key it answers for", path, rc->name);
		return -1;
	}
	return 0;
}

/* aki names the CA key with this id (SHA-1 of its subjectPublicKey, RFC 5280 4.2.1.2 (1):
 * how jpki_ca_key ids are made) or whose certificate ca carries it as subjectKeyIdentifier. */
static bool aki_names(const ASN1_OCTET_STRING *aki, const unsigned char id[SHA_DIGEST_LENGTH], X509 *ca)
{
	const ASN1_OCTET_STRING *ski = ca != NULL ? X509_get0_subject_key_id(ca) : NULL;

	if (aki->length == SHA_DIGEST_LENGTH && memcmp(aki->data, id, SHA_DIGEST_LENGTH) == 0)
		return true;
	return ski != NULL && ASN1_OCTET_STRING_cmp(aki, ski) == 0;
}

/* Issued by the CA key it names, when that key is among cas (the anchors, the generations
 * the repository brought so far); else left to the first answer for that key. */
static int check_issuer(responder_cert *rc, const char *path, STACK_OF(X509) *cas, char *err, size_t errlen)
{
	unsigned char id[SHA_DIGEST_LENGTH];
	char idhex[2 * SHA_DIGEST_LENGTH + 1];
	int i;

	for (i = 0; cas != NULL && i < sk_X509_num(cas); i++) {
		X509 *ca = sk_X509_value(cas, i);

		if (!X509_pubkey_digest(ca, EVP_sha1(), id, NULL) || !aki_names(rc->aki, id, ca))
			continue;
		if (X509_verify(rc->cert, X509_get0_pubkey(ca)) == 1) {
			rc->issuer_ok = 1;
			return 0;
		}
		ERR_clear_error();
		jpki_hex(id, sizeof(id), idhex);
		snprintf(err, errlen, "rule responder-cert issuer (RFC 6960 4.2.2.2): %s, %s: its signature does "
			"not verify with CA key %s, which its authorityKeyIdentifier names", path, rc->name, idhex);
		return -1;
	}
	return 0;
}

int signer_configure(const ocspd_config *c, STACK_OF(X509) *cas, bool key_required, char *err, size_t errlen)
{
	responder_cert *list, *old_certs;
	EVP_PKEY *pub, *old_pub;
	char *uri, *pin, *file, *old_uri, *old_pin, *old_file;
	jpki_p11key *k = NULL;
	jpki_err e;
	time_t now = time(NULL);
	size_t n, i, old_n;
	int rc;

	if (c->key_uri == NULL || c->responder_cert == NULL) {
		snprintf(err, errlen, "key-uri and responder-cert are required");
		return -1;
	}
	if (load_certs(c->responder_cert, &list, &n, err, errlen) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (check_cert(&list[i], c->responder_cert, now, err, errlen) < 0 ||
		    check_issuer(&list[i], c->responder_cert, cas, err, errlen) < 0)
			goto fail;
	/* The keys are closed first so that the check loads the module afresh: one still
	 * loaded lists the tokens as they were (a token added since would not be found). The
	 * signing threads reopen theirs when they next sign. */
	close_all();
	if ((rc = jpki_p11key_open(c->key_uri, c->pin_file, &k, &e)) < 0) {
		/* A token that is away may come back; one that refused the PIN would only count
		 * each retry toward its lockout. */
		if (key_required || rc == JPKI_P11KEY_PIN_REFUSED) {
			snprintf(err, errlen, "key-uri: the responder key cannot be opened: %s%s", e.text,
				rc == JPKI_P11KEY_PIN_REFUSED ? " (not retried: every try counts toward the "
				"token's PIN lockout)" : "");
			goto fail;
		}
		ocspd_log(OCSPD_LOG_WARNING, "responder key unavailable at start (%s); serving, answering tryLater "
			"until it opens; responder-cert is checked against it then", e.text);
	}
	/* One key-uri, one key: every certificate must hold it (the token's, once it opens). */
	pub = k != NULL ? jpki_p11key_pubkey(k) : X509_get0_pubkey(list[0].cert);
	for (i = 0; i < n; i++) {
		if (pub != NULL && EVP_PKEY_eq(X509_get0_pubkey(list[i].cert), pub) == 1)
			continue;
		snprintf(err, errlen, "rule responder-cert key: %s, %s does not hold the public key of %s",
			c->responder_cert, list[i].name, k != NULL ? "the responder key (key-uri)" : "certificate 1");
		jpki_p11key_close(k);
		ERR_clear_error();
		goto fail;
	}
	pub = X509_get_pubkey(list[0].cert);	/* a plain copy, kept: the key the token must give */
	jpki_p11key_close(k);
	uri = strdup(c->key_uri);
	pin = c->pin_file != NULL ? strdup(c->pin_file) : NULL;
	file = strdup(c->responder_cert);
	if (pub == NULL || uri == NULL || (c->pin_file != NULL && pin == NULL) || file == NULL) {
		EVP_PKEY_free(pub);
		free(uri);
		free(pin);
		free(file);
		snprintf(err, errlen, "responder-cert %s: out of memory", c->responder_cert);
		goto fail;
	}
	/* Swapped with every key closed: no thread signs with a key of one configuration and a
	 * certificate of the next. */
	pthread_rwlock_wrlock(&keys);
	close_slots();
	pthread_mutex_lock(&lock);
	old_certs = certs, old_n = ncerts, old_pub = cert_pub;
	old_uri = key_uri, old_pin = pin_file, old_file = cert_file;
	certs = list, ncerts = n, cert_pub = pub;
	key_uri = uri, pin_file = pin, cert_file = file;
	no_cert_logged = 0;
	pthread_mutex_unlock(&lock);
	atomic_store(&retry_at, 0);
	atomic_store(&backoff, 0);
	atomic_store(&pin_refused, false);
	pthread_rwlock_unlock(&keys);
	certs_free(old_certs, old_n);
	EVP_PKEY_free(old_pub);
	free(old_uri);
	free(old_pin);
	free(old_file);
	return 0;
fail:
	certs_free(list, n);
	return -1;
}

/* This thread's key (called with `keys` held for reading), opened when missing and due, and
 * only if it is the key of responder-cert. */
static jpki_p11key *thread_key(void)
{
	jpki_err err;
	char *uri, *pin;
	EVP_PKEY *want;
	int rc;

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
	if (time(NULL) < atomic_load(&retry_at) || atomic_load(&pin_refused))
		return NULL;
	pthread_mutex_lock(&lock);
	uri = key_uri != NULL ? strdup(key_uri) : NULL;
	pin = pin_file != NULL ? strdup(pin_file) : NULL;
	want = cert_pub;
	if (want != NULL)
		EVP_PKEY_up_ref(want);
	pthread_mutex_unlock(&lock);
	if (uri == NULL || want == NULL) {
		/* not configured, or out of memory: nothing to open */
	} else if ((rc = jpki_p11key_open(uri, pin, &slots[my_slot], &err)) < 0) {
		slots[my_slot] = NULL;
		if (rc == JPKI_P11KEY_PIN_REFUSED && !atomic_exchange(&pin_refused, true))
			ocspd_log(OCSPD_LOG_ERR, "responder key unavailable (%s); answering tryLater, not tried "
				"again until SIGHUP: every try counts toward the token's PIN lockout", err.text);
		else if (rc != JPKI_P11KEY_PIN_REFUSED)
			ocspd_log(OCSPD_LOG_ERR, "responder key unavailable (%s); answering tryLater, retry in %u s",
				err.text, back_off());
	} else if (EVP_PKEY_eq(jpki_p11key_pubkey(slots[my_slot]), want) != 1) {
		/* A start with the token away checked the certificates against nothing; a token
		 * put back with another key must not sign under them. */
		jpki_p11key_close(slots[my_slot]);
		slots[my_slot] = NULL;
		ERR_clear_error();
		ocspd_log(OCSPD_LOG_ERR, "rule responder-cert key: the responder key (key-uri) is not the key of "
			"responder-cert; answering tryLater, retry in %u s", back_off());
	}
	EVP_PKEY_free(want);
	free(uri);
	free(pin);
	return slots[my_slot];
}

/* The certificate to sign with for `issuer` (caller holds `lock`): current, issued by that
 * key (its signature checked the first time), else NULL. For issuer NULL (no CertID of a
 * served key) any current one not refused. */
static X509 *cert_for(const jpki_ca_key *issuer, time_t now)
{
	char idhex[2 * SHA_DIGEST_LENGTH + 1];
	size_t i;

	for (i = 0; i < ncerts; i++) {
		responder_cert *rc = &certs[i];

		if (now < rc->not_before || now >= rc->not_after || rc->issuer_ok < 0)
			continue;
		if (issuer == NULL)
			return rc->cert;
		if (!aki_names(rc->aki, issuer->id, issuer->cert))
			continue;
		if (rc->issuer_ok == 0) {
			rc->issuer_ok = X509_verify(rc->cert, issuer->pub) == 1 ? 1 : -1;
			ERR_clear_error();
			if (rc->issuer_ok < 0) {
				jpki_hex(issuer->id, sizeof(issuer->id), idhex);
				ocspd_log(OCSPD_LOG_ERR, "rule responder-cert issuer (RFC 6960 4.2.2.2): %s, %s: "
					"its signature does not verify with CA key %s, which its "
					"authorityKeyIdentifier names; never used", cert_file, rc->name, idhex);
				continue;
			}
		}
		return rc->cert;
	}
	return NULL;
}

/* After a failure: every key closed (the module unloads), reopening after back-off. */
static void token_failed(const char *why)
{
	ocspd_log(OCSPD_LOG_ERR, "signing failed (%s); closing the token, retry in %u s", why, back_off());
	close_all();
}

int signer_sign(OCSP_BASICRESP *bs, const jpki_ca_key *issuer)
{
	jpki_p11key *k;
	X509 *cert = NULL;
	time_t now = time(NULL);
	char idhex[2 * SHA_DIGEST_LENGTH + 1];
	bool log_no_cert = false;
	unsigned long e;
	int ok;

	pthread_rwlock_rdlock(&keys);
	k = thread_key();
	if (k == NULL) {
		pthread_rwlock_unlock(&keys);
		return SIGNER_NO_KEY;
	}
	pthread_mutex_lock(&lock);
	cert = cert_for(issuer, now);
	if (cert != NULL)
		X509_up_ref(cert);
	else if (now - no_cert_logged >= 60) {
		no_cert_logged = now;
		log_no_cert = true;
	}
	pthread_mutex_unlock(&lock);
	if (cert == NULL) {
		pthread_rwlock_unlock(&keys);
		if (log_no_cert) {
			if (issuer != NULL)
				jpki_hex(issuer->id, sizeof(issuer->id), idhex);
			ocspd_log(OCSPD_LOG_ERR, "rule responder-cert: no current responder certificate issued by "
				"CA key %s (RFC 6960 4.2.2.2); answering tryLater", issuer != NULL ? idhex : "(any)");
		}
		return SIGNER_NO_CERT;
	}
	/* ResponderID by key hash; the responder certificate goes in the response. */
	ok = OCSP_basic_sign(bs, cert, jpki_p11key_pkey(k), jpki_sha256(), NULL, OCSP_RESPID_KEY);
	X509_free(cert);
	pthread_rwlock_unlock(&keys);
	if (ok) {
		atomic_store(&backoff, 0);
		return 0;
	}
	e = ERR_peek_last_error();
	token_failed(e ? ERR_reason_error_string(e) : "unknown");
	ERR_clear_error();
	return SIGNER_NO_KEY;
}

void signer_shutdown(void)
{
	close_all();
	pthread_mutex_lock(&lock);
	certs_free(certs, ncerts);
	certs = NULL;
	ncerts = 0;
	EVP_PKEY_free(cert_pub);
	cert_pub = NULL;
	free(key_uri);
	free(pin_file);
	free(cert_file);
	key_uri = pin_file = cert_file = NULL;
	pthread_mutex_unlock(&lock);
}
