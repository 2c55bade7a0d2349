/* Follows the repository with LDAP content synchronisation (RFC 4533, refreshAndPersist,
 * libldap's ldap_sync API; syncprov on the slapd side): the CA entry's certificates, every
 * partition's CRLs and the verifier registry. After the refresh and after every change the
 * snapshot is rebuilt (each CRL checked with the repository's own rules), published and
 * written to disk. A lost connection is retried with back-off; until then the responder
 * keeps answering from what it has.
 *
 * A connection can also die without a word (slapd hung, a middlebox dropping the traffic):
 * between changes the sync thread asks slapd "who am I" every sync-heartbeat seconds on the
 * same connection, and a watchdog shuts the connection's socket down when nothing has come
 * from slapd for a while (a refresh that stalls, a heartbeat that hangs), so that the thread,
 * blocked in libldap, returns and reconnects. sync_stop does the same, so a stop never waits
 * for a repository that does not answer.
 *
 * The registry is confirmed (registry-max-age) whenever slapd is heard from while the refresh
 * is done and the persist phase runs: a change, or the heartbeat answered; but only while the
 * snapshot in force holds all slapd sent (one that could not be built leaves the last one in
 * force, and the model dirty, until a build succeeds). Answers that need the registry see
 * that time (state.c); the state copy keeps it for a restart without slapd, rewritten for it
 * when it lags by a quarter of registry-max-age (an hour at most) and when the connection
 * ends. */
#include "sync.h"

#include <ldap.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ldapconn.h"
#include "model.h"
#include "ocspd.h"
#include "state.h"
#include "store.h"
#include "utctime.h"
#include "verifier.h"

static const ocspd_config *cfg;
static STACK_OF(X509) *anchors;
static model repo;		/* the sync thread's own */
static pthread_t thread;
static atomic_bool stopping;
static atomic_bool running;
static int dirty;		/* the model changed since the last snapshot */
static int refreshing;		/* inside the refresh phase: publish at its end */
static char *ca_ndn;
static char *verifier_nbase;	/* registry entries count only below it (verifier-base) */
/* The sync connection's liveness (the watchdog thread reads these). */
static pthread_t watchdog;
static atomic_int conn_fd = -1;	/* its socket; -1 between connections */
static _Atomic time_t heard;	/* when slapd last sent something on it */

static char *normalize(const char *dn)
{
	char *out = NULL;

	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	return out;
}

/* ndn is base or below it; both normalised. */
static bool below(const char *ndn, const char *base)
{
	size_t n = strlen(ndn), b = strlen(base);

	if (n == b)
		return strcasecmp(ndn, base) == 0;
	return n > b && ndn[n - b - 1] == ',' && strcasecmp(ndn + n - b, base) == 0;
}

static void uuid_text(const struct berval *u, char *out)
{
	static const char hex[] = "0123456789abcdef";
	ber_len_t i;

	for (i = 0; i < u->bv_len && i < 16; i++) {
		out[2 * i] = hex[(unsigned char)u->bv_val[i] >> 4];
		out[2 * i + 1] = hex[(unsigned char)u->bv_val[i] & 15];
	}
	out[2 * i] = '\0';
}

static model_crl *values(LDAP *ld, LDAPMessage *e, const char *attr, size_t *n)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	model_crl *out;
	size_t i, count = v != NULL ? (size_t)ldap_count_values_len(v) : 0;

	*n = 0;
	out = calloc(count + 1, sizeof(*out));
	for (i = 0; out != NULL && i < count; i++) {
		out[*n].der = malloc(v[i]->bv_len + 1);
		if (out[*n].der == NULL)
			break;
		memcpy(out[*n].der, v[i]->bv_val, v[i]->bv_len);
		out[*n].len = v[i]->bv_len;
		(*n)++;
	}
	ldap_value_free_len(v);
	return out;
}

static int has_class(LDAP *ld, LDAPMessage *e, const char *oc)
{
	struct berval **v = ldap_get_values_len(ld, e, "objectClass");
	int i, found = 0;

	for (i = 0; v != NULL && v[i] != NULL && !found; i++)
		found = v[i]->bv_len == strlen(oc) && strncasecmp(v[i]->bv_val, oc, v[i]->bv_len) == 0;
	ldap_value_free_len(v);
	return found;
}

static const struct berval *first(LDAP *ld, LDAPMessage *e, const char *attr, struct berval ***keep)
{
	*keep = ldap_get_values_len(ld, e, attr);
	return *keep != NULL && (*keep)[0] != NULL ? (*keep)[0] : NULL;
}

static void read_verifier(LDAP *ld, LDAPMessage *e, model_verifier *v)
{
	struct berval **k1, **k2, **k3, **hs, **ms;
	const struct berval *st = first(ld, e, "jpkiVerifierStatus", &k1);
	const struct berval *a = first(ld, e, "jpkiAgreementStart", &k2);
	const struct berval *b = first(ld, e, "jpkiAgreementEnd", &k3);
	jpki_err err;
	int i, j;

	ms = ldap_get_values_len(ld, e, "jpkiAllowedMethod");
	if (jpki_verifier_state_from_values(&v->state, st, a, b, ms, &err) < 0)
		ocspd_log(OCSPD_LOG_WARNING, "verifier %s: %s", v->dn, err.text);
	hs = ldap_get_values_len(ld, e, "jpkiCertificateSHA256");
	v->cert_sha256 = calloc((size_t)ldap_count_values_len(hs) + 1, 32);
	for (i = 0; hs != NULL && hs[i] != NULL && v->cert_sha256 != NULL; i++) {
		if (hs[i]->bv_len != 64)
			continue;
		for (j = 0; j < 32; j++) {
			char two[3] = { hs[i]->bv_val[2 * j], hs[i]->bv_val[2 * j + 1], 0 };

			v->cert_sha256[v->ncerts][j] = (unsigned char)strtoul(two, NULL, 16);
		}
		v->ncerts++;
	}
	v->certs = values(ld, e, "userCertificate;binary", &v->ncertders);
	ldap_value_free_len(k1);
	ldap_value_free_len(k2);
	ldap_value_free_len(k3);
	ldap_value_free_len(hs);
	ldap_value_free_len(ms);
}

static void heard_now(void)
{
	atomic_store(&heard, time(NULL));
}

/* Silent longer than this (a heartbeat is due every sync-heartbeat seconds and answered at
 * once, an entry of a refresh comes every few milliseconds): the connection is cut. */
static time_t silence_limit(void)
{
	return 2 * (time_t)cfg->sync_heartbeat + 10;
}

static void *watch(void *arg)
{
	int fd;

	(void)arg;
	while (!atomic_load(&stopping)) {
		sleep(1);
		fd = atomic_load(&conn_fd);
		if (fd >= 0 && time(NULL) - atomic_load(&heard) > silence_limit() &&
		    atomic_compare_exchange_strong(&conn_fd, &fd, -1)) {
			ocspd_log(OCSPD_LOG_WARNING, "repository silent for more than %lld s (slapd hung, or the "
				"network); dropping the connection", (long long)silence_limit());
			shutdown(fd, SHUT_RDWR);
		}
	}
	return NULL;
}

/* Between changes: one request on the sync connection, answered or failed within the
 * connection's timeout (LDAP_OPT_TIMEOUT). */
static int heartbeat(LDAP *ld)
{
	struct berval *authzid = NULL;
	int rc;

	if (time(NULL) - atomic_load(&heard) < (time_t)cfg->sync_heartbeat)
		return LDAP_SUCCESS;
	rc = ldap_whoami_s(ld, &authzid, NULL, NULL);
	ber_bvfree(authzid);
	if (rc == LDAP_SUCCESS)
		heard_now();
	return rc;
}

static int on_entry(ldap_sync_t *ls, LDAPMessage *msg, struct berval *uuid, ldap_sync_refresh_t phase)
{
	LDAP *ld = ls->ls_ld;
	char id[33], *dn, *ndn;
	size_t n;

	heard_now();
	if (uuid == NULL)
		return LDAP_SUCCESS;
	uuid_text(uuid, id);
	switch (phase) {
	case LDAP_SYNC_CAPI_PRESENT:
		model_mark_seen(&repo, id);
		return LDAP_SUCCESS;
	case LDAP_SYNC_CAPI_DELETE:
		model_remove(&repo, id);
		dirty = 1;
		return LDAP_SUCCESS;
	case LDAP_SYNC_CAPI_ADD:
	case LDAP_SYNC_CAPI_MODIFY:
		break;
	default:
		return LDAP_SUCCESS;
	}
	dn = ldap_get_dn(ld, msg);
	if (dn == NULL)
		return LDAP_SUCCESS;
	ndn = normalize(dn);
	if (ndn != NULL && ca_ndn != NULL && strcasecmp(ndn, ca_ndn) == 0) {
		model_crl *c = values(ld, msg, "cACertificate;binary", &n);

		model_set_ca(&repo, id, c, n);
	} else if (has_class(ld, msg, "cRLDistributionPoint")) {
		model_crl *c = values(ld, msg, "certificateRevocationList;binary", &n);

		model_set_partition(&repo, id, dn, c, n);
	} else if (has_class(ld, msg, "jpkiVerifier") && ndn != NULL && below(ndn, verifier_nbase)) {
		model_verifier v;

		memset(&v, 0, sizeof(v));
		v.uuid = id;
		v.dn = dn;
		read_verifier(ld, msg, &v);
		model_set_verifier(&repo, &v);
	} else {
		model_remove(&repo, id);	/* no longer one of ours */
	}
	dirty = 1;
	ldap_memfree(ndn);
	ldap_memfree(dn);
	return LDAP_SUCCESS;
}

static int on_intermediate(ldap_sync_t *ls, LDAPMessage *msg, BerVarray uuids, ldap_sync_refresh_t phase)
{
	char id[33];
	int i;

	heard_now();
	(void)ls;
	(void)msg;
	for (i = 0; uuids != NULL && uuids[i].bv_val != NULL; i++) {
		uuid_text(&uuids[i], id);
		if (phase == LDAP_SYNC_CAPI_DELETES_IDSET)
			model_remove(&repo, id);
		else if (phase == LDAP_SYNC_CAPI_PRESENTS_IDSET)
			model_mark_seen(&repo, id);
	}
	if (phase == LDAP_SYNC_CAPI_DONE) {
		/* The refresh is complete: what it did not name is gone. */
		model_sweep(&repo);
		refreshing = 0;
		dirty = 1;
	}
	return LDAP_SUCCESS;
}

static int on_result(ldap_sync_t *ls, LDAPMessage *msg, int refresh_deletes)
{
	heard_now();
	(void)ls;
	(void)msg;
	(void)refresh_deletes;
	return LDAP_SUCCESS;
}

/* A new snapshot from the model, published, and saved unless it came from the copy. What the
 * current one checked and indexed is taken over where unchanged: one partition's new CRL
 * costs that CRL, not all of them. The copy holds what the snapshot accepted, not what it
 * refused, and its marks: a refused CRL is answered around (snapshot.h), and a rollback
 * refused against the marks, also after a restart (the copy's marks are the model's). */
/* The state copy is rewritten whole (with every CRL), so a burst of changes — a publication
 * of 54 partitions arrives as 54 modifies — writes it once it is over, or every SAVE_EVERY
 * seconds while it lasts, not once per change; answers use each snapshot at once. */
#define SAVE_EVERY 5
static int unsaved;		/* the published snapshot is not in the state copy yet */
static time_t saved_at;
static time_t saved_confirmed;	/* the registry's confirmation the state copy holds */

static void save(void)
{
	char err[512];
	snapshot *s = state_acquire();

	if (s != NULL && cfg->state_dir != NULL && store_save(cfg->state_dir, &repo, s, err, sizeof(err)) < 0)
		ocspd_log(OCSPD_LOG_ERR, "%s", err);
	snapshot_unref(s);
	unsaved = 0;
	saved_at = time(NULL);
	saved_confirmed = repo.registry_confirmed;
}

/* How far the state copy's confirmation may lag behind the registry's before the copy is
 * rewritten for it alone: a quarter of registry-max-age, an hour at most (also without a
 * limit, for a restart with one). */
static time_t confirm_lag(void)
{
	long quarter = cfg->registry_max_age / 4 + 1;

	return cfg->registry_max_age > 0 && quarter < 3600 ? quarter : 3600;
}

/* In the persist phase, the refresh done, the model published (not dirty): slapd, last heard
 * then, confirms the registry as the snapshot in force holds it. */
static void confirm(void)
{
	repo.registry_confirmed = atomic_load(&heard);
	state_registry_confirmed_at(repo.registry_confirmed);
	if (cfg->state_dir != NULL && repo.registry_confirmed - saved_confirmed >= confirm_lag())
		unsaved = 1;
}

static void publish(int to_disk)
{
	snapshot *prev = state_acquire();
	snapshot *s = snapshot_build_from(prev, &repo, anchors, &cfg->policy, state_next_generation(), time(NULL));

	snapshot_unref(prev);

	if (s == NULL) {
		ocspd_log(OCSPD_LOG_ERR, "cannot build a snapshot (out of memory); keeping the previous one");
		return;
	}
	ocspd_log(OCSPD_LOG_DEBUG, "snapshot %lu: %zu CRL(s) checked, %zu taken over unchanged, %zu kept"
		" for refused ones, %zu refused again unchecked", s->generation, s->crls_checked, s->crls_reused,
		s->crls_kept, s->crls_refused_again);
	state_publish(snapshot_ref(s));
	dirty = 0;
	unsaved |= to_disk;
	snapshot_unref(s);
}

static void *run(void *arg)
{
	static char *attrs[] = { "objectClass", "cACertificate;binary", "certificateRevocationList;binary",
		"jpkiVerifierStatus", "jpkiAgreementStart", "jpkiAgreementEnd", "jpkiAllowedMethod",
		"jpkiCertificateSHA256", "userCertificate;binary", NULL };
	jpki_ldap_opts lo = { cfg->ldap_uri, cfg->bind_dn, cfg->password_file, cfg->ldap_tls_ca, 0, 10 };
	unsigned backoff = 1;
	jpki_err err;

	(void)arg;
	while (!atomic_load(&stopping)) {
		ldap_sync_t *ls;
		LDAP *ld;
		int rc, fd;

		if (jpki_ldap_connect(&lo, &ld, &err) < 0) {
			ocspd_log(OCSPD_LOG_WARNING, "repository unreachable (%s); retrying in %u s", err.text, backoff);
			for (unsigned i = 0; i < backoff * 10 && !atomic_load(&stopping); i++)
				usleep(100000);
			backoff = backoff < 30 ? backoff * 2 : 30;
			continue;
		}
		if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) == LDAP_OPT_SUCCESS) {
			heard_now();
			atomic_store(&conn_fd, fd);
		}
		ls = ldap_sync_initialize(NULL);
		ls->ls_base = cfg->ca_dn;
		ls->ls_scope = LDAP_SCOPE_SUBTREE;
		ls->ls_filter = "(|(objectClass=pkiCA)(objectClass=cRLDistributionPoint)(objectClass=jpkiVerifier))";
		ls->ls_attrs = attrs;
		ls->ls_timeout = 1;
		ls->ls_search_entry = on_entry;
		ls->ls_intermediate = on_intermediate;
		ls->ls_search_result = on_result;
		ls->ls_ld = ld;
		model_mark_all(&repo);
		refreshing = 1;
		rc = ldap_sync_init(ls, LDAP_SYNC_REFRESH_AND_PERSIST);
		if (rc == LDAP_SUCCESS) {
			ocspd_log(OCSPD_LOG_INFO, "following %s on %s", cfg->ca_dn, cfg->ldap_uri);
			backoff = 1;
		}
		while (rc == LDAP_SUCCESS && !atomic_load(&stopping)) {
			bool changed = false;

			rc = ldap_sync_poll(ls);
			if (dirty && !refreshing) {
				publish(1);
				changed = true;
			}
			/* not while a snapshot could not be built: the one in force is older than
			 * what slapd sent, and slapd has not confirmed that one. Also when the poll
			 * ends the connection: what slapd sent before is in the snapshot, and a
			 * refresh completed just before a stop confirms the copy saved next. */
			if (!refreshing && !dirty)
				confirm();
			if (unsaved && (!changed || time(NULL) - saved_at >= SAVE_EVERY))
				save();
			if (rc == LDAP_SUCCESS)
				rc = heartbeat(ld);
		}
		/* the copy as the connection ends: a restart without slapd starts from its last
		 * confirmation (a refresh cut short changed neither the snapshot nor it) */
		if (unsaved || (!refreshing && repo.registry_confirmed != saved_confirmed))
			save();
		atomic_store(&conn_fd, -1);	/* the watchdog lets go before the socket closes */
		if (atomic_load(&stopping))
			;
		else if (rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_TIMELIMIT_EXCEEDED ||
			 rc == LDAP_ADMINLIMIT_EXCEEDED || rc == LDAP_INSUFFICIENT_ACCESS || rc == LDAP_NO_SUCH_OBJECT)
			ocspd_log(OCSPD_LOG_ERR, "repository refused the synchronisation (%s): a limit or an ACL of "
				"slapd for %s, or ca-dn, must change (see jpki-ocspd(8)); answering from the last copy",
				ldap_err2string(rc), cfg->bind_dn);
		else
			ocspd_log(OCSPD_LOG_WARNING, "repository connection lost (%s); answering from the last copy",
				ldap_err2string(rc));
		ls->ls_base = NULL;	/* ours, not the API's to free */
		ls->ls_filter = NULL;
		ls->ls_attrs = NULL;
		ldap_sync_destroy(ls, 1);	/* also unbinds ld */
		for (unsigned i = 0; i < backoff * 10 && !atomic_load(&stopping); i++)
			usleep(100000);
		backoff = backoff < 30 ? backoff * 2 : 30;
	}
	return NULL;
}

/* The copy was written under the configuration of its day: a verifier outside today's
 * verifier-base registers nobody, as the sync thread would have it (on_entry). */
static void forget_outside_base(model *m)
{
	size_t i = m->nverifiers;
	char *ndn;

	while (i-- > 0) {
		ndn = normalize(m->verifiers[i].dn);
		if (ndn == NULL || !below(ndn, verifier_nbase)) {
			ocspd_log(OCSPD_LOG_INFO, "the state copy's verifier %s is outside verifier-base: not used",
				m->verifiers[i].dn);
			model_remove(m, m->verifiers[i].uuid);
		}
		ldap_memfree(ndn);
	}
}

int sync_start(const ocspd_config *c, STACK_OF(X509) *trust_anchors, char *err, size_t errlen)
{
	int rc;

	cfg = c;
	anchors = trust_anchors;
	ca_ndn = normalize(c->ca_dn);
	if (ca_ndn == NULL) {
		snprintf(err, errlen, "ca-dn \"%s\" is not a DN", c->ca_dn);
		return -1;
	}
	verifier_nbase = normalize(c->verifier_base != NULL ? c->verifier_base : c->ca_dn);
	if (verifier_nbase == NULL) {
		snprintf(err, errlen, "verifier-base \"%s\" is not a DN", c->verifier_base);
		return -1;
	}
	/* The last good copy first: answers start before slapd is reachable. */
	if (c->state_dir != NULL) {
		rc = store_load(c->state_dir, &repo, err, errlen);
		model_hash_crls(&repo);	/* the copy's CRLs enter the model without their hashes */
		forget_outside_base(&repo);
		if (rc < 0)
			ocspd_log(OCSPD_LOG_ERR, "%s", err);
		else if (rc == 0) {
			char at[JPKI_UTC_ISO_LEN + 1];

			publish(0);
			saved_confirmed = repo.registry_confirmed;
			state_registry_confirmed_at(repo.registry_confirmed);
			jpki_utc_iso(repo.registry_confirmed, at);
			ocspd_log(OCSPD_LOG_INFO, "answering from the copy in %s until the repository answers (its verifier "
				"registry last confirmed %s)", c->state_dir, repo.registry_confirmed != 0 ? at : "never");
		}
	}
	atomic_store(&stopping, false);
	if (pthread_create(&thread, NULL, run, NULL) != 0) {
		snprintf(err, errlen, "cannot start the sync thread");
		return -1;
	}
	if (pthread_create(&watchdog, NULL, watch, NULL) != 0) {
		atomic_store(&stopping, true);
		pthread_join(thread, NULL);
		snprintf(err, errlen, "cannot start the sync watchdog");
		return -1;
	}
	atomic_store(&running, true);
	return 0;
}

void sync_stop(void)
{
	int fd;

	if (!atomic_load(&running))
		return;
	atomic_store(&stopping, true);
	/* A thread blocked in libldap on a repository that does not answer returns at once. */
	fd = atomic_exchange(&conn_fd, -1);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	pthread_join(thread, NULL);
	pthread_join(watchdog, NULL);
	atomic_store(&running, false);
	model_free(&repo);
	ldap_memfree(ca_ndn);
	ldap_memfree(verifier_nbase);
	ca_ndn = verifier_nbase = NULL;
}
