/* The responder's lifecycle apart from HTTP: trust anchors, signer and its threads, audit
 * trail, sync thread; reload. */
#include "ocspd.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "audit.h"
#include "cache.h"
#include "signer.h"
#include "signpool.h"
#include "state.h"
#include "sync.h"

/* The configuration answers follow: main keeps every configuration it loaded until exit,
 * so a reload publishes the new one whole and a worker never sees half of each. */
static _Atomic(const ocspd_config *) current;
static const ocspd_config *started;	/* the sync thread's, until a restart */
static STACK_OF(X509) *anchors;
static jpki_audit *audit;

struct jpki_audit *ocspd_audit(int *policy)
{
	*policy = audit != NULL ? (int)jpki_audit_policy_of(audit) : (int)JPKI_AUDIT_FAIL_CLOSED;
	return audit;
}

const ocspd_config *ocspd_current_config(void)
{
	return atomic_load(&current);
}

static STACK_OF(X509) *read_anchors(const ocspd_config *c, char *err, size_t errlen)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	jpki_err e;
	size_t i;

	for (i = 0; out != NULL && i < c->nanchors; i++) {
		if (jpki_trust_read_anchors(c->anchors[i], out, &e) < 0) {
			snprintf(err, errlen, "trust-anchor: %s", e.text);
			sk_X509_pop_free(out, X509_free);
			return NULL;
		}
	}
	if (out != NULL && sk_X509_num(out) == 0) {
		snprintf(err, errlen, "no trust-anchor configured: the responder would trust no CA key");
		sk_X509_free(out);
		return NULL;
	}
	return out;
}

/* Answers being signed are records on their way: a small batch waits for them. */
static unsigned signing_backlog(void *arg)
{
	(void)arg;
	return signpool_backlog();
}

static void audit_notice(void *arg, const char *message)
{
	(void)arg;
	ocspd_log(OCSPD_LOG_WARNING, "audit: %s", message);
}

/* The CA certificates known now, that the responder certificates' signatures are checked
 * with: the anchors and the generations the snapshot in force serves (a key the repository
 * brings later is checked before its first answer: signer.c). */
static STACK_OF(X509) *known_cas(void)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	snapshot *s = state_acquire();
	size_t i;
	int j;

	for (j = 0; out != NULL && anchors != NULL && j < sk_X509_num(anchors); j++)
		if (X509_add_cert(out, sk_X509_value(anchors, j), X509_ADD_FLAG_UP_REF) != 1)
			break;
	for (i = 0; out != NULL && s != NULL && i < s->nkeys; i++)
		if (s->keys[i].key->cert != NULL &&
		    X509_add_cert(out, s->keys[i].key->cert, X509_ADD_FLAG_UP_REF) != 1)
			break;
	snapshot_unref(s);
	return out;
}

int ocspd_start(const ocspd_config *c, char *err, size_t errlen)
{
	jpki_audit_policy policy;
	STACK_OF(X509) *cas;
	int rc;

	atomic_store(&current, c);
	started = c;
	if (c->ldap_uri == NULL || c->ca_dn == NULL) {
		snprintf(err, errlen, "ldap-uri and ca-dn are required");
		return -1;
	}
	if ((anchors = read_anchors(c, err, errlen)) == NULL)
		return -1;
	if (jpki_audit_policy_parse(c->audit_policy, &policy) < 0) {
		snprintf(err, errlen, "audit-policy '%s': fail-closed or fail-open", c->audit_policy);
		return -1;
	}
	/* The last good copy first (sync_start loads it): the generations it knows are checked
	 * against the responder certificates now rather than at their first answer. Nothing
	 * is answered before http_start. */
	if (sync_start(c, anchors, err, errlen) < 0)
		return -1;
	cas = known_cas();
	rc = signer_configure(c, cas, false, err, errlen);
	sk_X509_pop_free(cas, X509_free);
	if (rc < 0) {
		sync_stop();
		return -1;
	}
	if (c->audit_dir != NULL) {
		jpki_audit_opts ao = { .dir = c->audit_dir, .component = "ocspd", .policy = policy,
			.checkpoint_every = 1000, .checkpoint_key_uri = c->audit_checkpoint_key,
			.checkpoint_cert = c->audit_checkpoint_cert, .checkpoint_pin_file = c->audit_checkpoint_pin,
			.group_wait_us = c->audit_group_wait_ms * 1000, .expect = signing_backlog,
			.log = audit_notice };
		jpki_err e;

		if (jpki_audit_open(&ao, &audit, &e) < 0) {
			snprintf(err, errlen, "audit-dir %s: %s", c->audit_dir, e.text);
			sync_stop();
			return -1;
		}
	}
	if (signpool_start(c->threads, err, errlen) < 0) {
		sync_stop();
		return -1;
	}
	return 0;
}

int ocspd_reload(const ocspd_config *c, char *err, size_t errlen)
{
	STACK_OF(X509) *cas;
	int rc;

	/* Key, certificates and answer settings change; the repository settings (where to sync
	 * from, the anchors) need a restart: the sync thread keeps the configuration it began with.
	 * The new key must open and match the new certificates, else nothing changes. The new
	 * registry-max-age applies to answers at once, so it must fit the sync-heartbeat that
	 * confirms the registry now, the start's (the file's own pair was checked as it was read). */
	if (!ocspd_registry_max_age_fits(c->registry_max_age, started->sync_heartbeat)) {
		snprintf(err, errlen, "registry-max-age %ld must be 0 or more than twice sync-heartbeat and 10 s: the "
			"sync-heartbeat in force is %u (a new one, %u here, applies at the next start)",
			c->registry_max_age, started->sync_heartbeat, c->sync_heartbeat);
		return -1;
	}
	cas = known_cas();
	rc = signer_configure(c, cas, true, err, errlen);
	sk_X509_pop_free(cas, X509_free);
	if (rc < 0)
		return -1;
	atomic_store(&current, c);
	cache_clear();
	return 0;
}

void ocspd_stop(void)
{
	sync_stop();
	signpool_stop();	/* its last answers are recorded before the trail closes */
	if (audit != NULL) {
		jpki_audit_close(audit);
		audit = NULL;
	}
	signer_shutdown();
	state_publish(NULL);
	cache_clear();
	sk_X509_pop_free(anchors, X509_free);
	anchors = NULL;
}
