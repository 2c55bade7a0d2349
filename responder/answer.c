/* One OCSP request in, one OCSP response out (RFC 6960, RFC 5019 profile, RFC 8954 nonces).
 * good / revoked / unknown come from the snapshot; "good" only while every partition CRL of
 * the issuer key is current, and anything stale or missing gives tryLater, never good. */
#include "ocspd.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "cache.h"
#include "digest.h"
#include "request_der.h"
#include "signer.h"
#include "signpool.h"
#include "state.h"

#define NONCE_MIN 1
#define NONCE_MAX 32	/* RFC 8954 */

/* An answer without response bytes (info->why already names its rule). */
static int status_bytes(int status, unsigned char **resp, size_t *resplen, ocspd_answer_info *info)
{
	OCSP_RESPONSE *r = OCSP_response_create(status, NULL);
	int len = r != NULL ? i2d_OCSP_RESPONSE(r, resp) : -1;

	OCSP_RESPONSE_free(r);
	info->response_status = status;
	info->cacheable = false;
	if (len <= 0)
		return -1;
	*resplen = (size_t)len;
	return 0;
}

/* The same, with the rule that gave it, for the audit record. */
__attribute__((format(printf, 5, 6)))
static int status_only(int status, unsigned char **resp, size_t *resplen, ocspd_answer_info *info,
	const char *why, ...)
{
	va_list ap;

	va_start(ap, why);
	vsnprintf(info->why, sizeof(info->why), why, ap);
	va_end(ap);
	return status_bytes(status, resp, resplen, info);
}

/* The request decoded, once an answer must be made: one DER OCSPRequest and nothing after it.
 * The certificates a signed request carries are dropped unread: the registry's, never the
 * request's, are used, and decoding them was most of the cost of parsing. */
static OCSP_REQUEST *decode(const unsigned char *der, size_t len)
{
	unsigned char local[4096], *heap = NULL, *out = local;
	const unsigned char *p;
	size_t outlen;
	OCSP_REQUEST *req;

	if (len > sizeof(local))
		out = heap = malloc(len);
	if (out != NULL && ocsp_request_drop_certs(der, len, out, &outlen) == 1) {
		der = out;
		len = outlen;
	}
	p = der;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	if (req != NULL && p != der + len) {
		OCSP_REQUEST_free(req);
		req = NULL;
	}
	ERR_clear_error();
	free(heap);
	return req;
}

/* The requestorName's Name as OpenSSL takes it (the view checks its structure, not its
 * values): the very bytes of a registered certificate's subject, decoded with it, or decoded
 * now. */
static bool requestor_name_ok(const ocsp_request_view *v, const snapshot *s)
{
	const unsigned char *p = v->name;
	X509_NAME *name;
	size_t n;
	bool ok;

	if (v->name == NULL || snapshot_signers_by_subject_der(s, v->name, v->name_len, &n) != NULL)
		return true;
	name = d2i_X509_NAME(NULL, &p, (long)v->name_len);
	ok = name != NULL && p == v->name + v->name_len;
	X509_NAME_free(name);
	ERR_clear_error();
	return ok;
}

/* -1: a nonce of a length RFC 8954 does not allow; 0: none; 1: one to echo. */
static int nonce_state(const ocsp_request_view *v)
{
	const unsigned char *p = v->nonce;
	long len = (long)v->nonce_len, inner;
	int tag, xclass;

	if (v->nonce == NULL)
		return 0;
	/* An OCTET STRING filling extnValue; some clients send the bare nonce bytes instead. */
	if (len > 0 && ASN1_get_object(&p, &inner, &tag, &xclass, len) == 0 && tag == V_ASN1_OCTET_STRING &&
	    xclass == V_ASN1_UNIVERSAL && p + inner == v->nonce + v->nonce_len)
		len = inner;
	ERR_clear_error();
	return (len < NONCE_MIN || len > NONCE_MAX) ? -1 : 1;
}

static ASN1_GENERALIZEDTIME *gt(time_t t)
{
	return ASN1_GENERALIZEDTIME_set(NULL, t);
}

/* The audit details of the CertIDs answered, {"serial":"HEX","status":"…"} each, comma
 * separated: hex digits and fixed words only, so always valid JSON. */
typedef struct certid_list {
	char *text;
	size_t len, cap;
	bool failed;	/* out of memory: the record cannot be written */
} certid_list;

static void note_certid(certid_list *l, const ASN1_INTEGER *serial, const char *status)
{
	BIGNUM *bn = serial != NULL ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	size_t need = (hex != NULL ? strlen(hex) : 0) + strlen(status) + 32;
	int n;

	if (l->len + need > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		char *grown;

		while (cap < l->len + need)
			cap *= 2;
		if ((grown = realloc(l->text, cap)) == NULL)
			l->failed = true;
		else {
			l->text = grown;
			l->cap = cap;
		}
	}
	if (!l->failed) {
		n = snprintf(l->text + l->len, l->cap - l->len, "%s{\"serial\":\"%s\",\"status\":\"%s\"}",
			l->len ? "," : "", hex != NULL ? hex : "", status);
		l->len += (size_t)n;
	}
	OPENSSL_free(hex);
	BN_free(bn);
}

/* The one CA key a response speaks for. RFC 6960 4.2.2.2: a delegated responder is
 * authorised only by the CA key that issued its certificate, and a response has one
 * signature; so CertIDs of two CA keys this responder serves cannot be answered in one
 * response that a client verifies for all of them. Such a request gets malformedRequest,
 * which tells the client that this request cannot be answered as asked and to ask for each
 * key's certificates apart. Not a response signed for one key (it would not verify for the
 * other's certificates, as if forged), nor leaving CertIDs out (4.2.2.3 wants a
 * SingleResponse for each), nor unauthorized (2.3), which a registered verifier reads as its
 * access refused. CertIDs of issuers it does not serve go with any key: they are answered
 * unknown, which needs no authority. -1 when two served keys are named (*key and *other set);
 * else 0 with *key the served key, or NULL when none is. */
static int response_key(OCSP_REQUEST *req, const snapshot *s, const served_key **key, const served_key **other)
{
	int i, n = OCSP_request_onereq_count(req);

	*key = *other = NULL;
	for (i = 0; i < n; i++) {
		const served_key *k = snapshot_find_issuer(s, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)));

		if (k == NULL || k == *key)
			continue;
		if (*key != NULL) {
			*other = k;
			return -1;
		}
		*key = k;
	}
	return 0;
}

/* Adds every CertID's status; -1 when one needs data that is stale or missing (tryLater). */
static int add_statuses(OCSP_BASICRESP *bs, OCSP_REQUEST *req, const snapshot *s, time_t now,
	ocspd_answer_info *info, certid_list *certids)
{
	int i, n = OCSP_request_onereq_count(req), rc = 0;

	info->last_modified = 0;
	info->next_update = 0;
	info->one_certid = n == 1;
	for (i = 0; i < n && rc == 0; i++) {
		OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		const served_key *k = snapshot_find_issuer(s, id);
		ASN1_INTEGER *serial = NULL;
		ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL, *rt = NULL;
		time_t t_this, t_next;
		const revoked *r;

		if (k == NULL) {
			/* An issuer this responder does not serve: dated now, no Last-Modified (a CA
			 * served later brings older CRLs, so no date tells the change). */
			info->one_certid = false;
			OCSP_id_get0_info(NULL, NULL, NULL, &serial, id);
			note_certid(certids, serial, "unknown");
			tu = gt(now);
			rc = OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_UNKNOWN, 0, NULL, tu, NULL) ? 0 : -2;
			ASN1_TIME_free(tu);
			continue;
		}
		OCSP_id_get0_info(NULL, NULL, NULL, &serial, id);
		r = served_key_lookup(k, serial);
		if (r != NULL) {
			const partition_times *pt = &k->parts[r->partition];

			if (pt->next_update <= now) {
				rc = -1;
				break;
			}
			t_this = pt->this_update;
			t_next = pt->next_update;
		} else {
			if (!served_key_current(k, now)) {
				rc = -1;
				break;
			}
			t_this = k->oldest_this;
			t_next = k->earliest_next;
		}
		note_certid(certids, serial, r != NULL ? "revoked" : "good");
		tu = gt(t_this);
		nu = gt(t_next);
		if (r != NULL)
			rt = gt((time_t)r->revoked_at);
		if (!OCSP_basic_add1_status(bs, id, r != NULL ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
			    r != NULL ? r->reason : 0, rt, tu, nu))
			rc = -2;
		ASN1_TIME_free(tu);
		ASN1_TIME_free(nu);
		ASN1_TIME_free(rt);
		if (t_this > info->last_modified)
			info->last_modified = t_this;
		if (info->next_update == 0 || t_next < info->next_update)
			info->next_update = t_next;
	}
	if (info->next_update == 0)
		info->next_update = now + 60;	/* only unknowns: a short life */
	if (info->last_modified == 0)
		info->last_modified = now;
	return rc;
}

static void make_etag(const unsigned char *der, size_t len, char *etag, size_t elen)
{
	unsigned char md[32];
	char h[33];

	EVP_Digest(der, len, md, NULL, jpki_sha256(), NULL);
	jpki_hex(md, 16, h);	/* half the digest names the bytes well enough */
	snprintf(etag, elen, "\"%s\"", h);
}

static const char *status_name(int st)
{
	switch (st) {
	case OCSP_RESPONSE_STATUS_SUCCESSFUL: return "ok";
	case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST: return "malformedRequest";
	case OCSP_RESPONSE_STATUS_INTERNALERROR: return "internalError";
	case OCSP_RESPONSE_STATUS_TRYLATER: return "tryLater";
	case OCSP_RESPONSE_STATUS_SIGREQUIRED: return "sigRequired";
	case OCSP_RESPONSE_STATUS_UNAUTHORIZED: return "unauthorized";
	default: return "?";
	}
}

/* One request on its way: what the answer is made of until it is signed and recorded. */
typedef struct job {
	ocspd_answer_done *done;
	void *done_arg;
	unsigned char *resp;
	size_t resplen;
	ocspd_answer_info info;
	bool nonce;
	char client[64];
	/* a fresh answer waiting for its signature */
	OCSP_BASICRESP *bs;
	snapshot *s;		/* holds issuer */
	const jpki_ca_key *issuer;
	unsigned char key[32];
	bool keyed;
	time_t now;
	certid_list ids;	/* audit details of the CertIDs answered */
} job;

static void deliver(job *j)
{
	j->done(j->done_arg, j->resp, j->resplen, &j->info);
	free(j->ids.text);
	free(j);
}

/* The record could not be written: fail-closed answers internalError instead (CPS 4-11-2:
 * every check is recorded), fail-open answers anyway. */
static void unrecorded(job *j, const char *why, int policy)
{
	ocspd_log(OCSPD_LOG_ERR, "audit record not written: %s%s", why,
		policy == JPKI_AUDIT_FAIL_OPEN ? " (fail-open: answered anyway)" : "; answering internalError");
	if (policy == JPKI_AUDIT_FAIL_OPEN)
		return;
	OPENSSL_free(j->resp);
	j->resp = NULL;
	j->resplen = 0;
	if (status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, &j->resp, &j->resplen, &j->info,
		    "rule audit fail-closed (CPS 4-11-2): the record could not be written: %.150s", why) < 0) {
		OPENSSL_free(j->resp);
		j->resp = NULL;
	}
}

/* The audit writer's word on the record: on disk, or not. */
static void recorded(void *arg, int rc, const char *why)
{
	job *j = arg;
	int policy;

	if (rc < 0) {
		ocspd_audit(&policy);
		unrecorded(j, why != NULL ? why : "unknown", policy);
	}
	deliver(j);
}

/* The request's record, then the answer: the answer leaves only once the record is on disk
 * (the audit writer calls back), so that no request in flight holds a thread meanwhile. */
static void finish(job *j)
{
	int policy;
	struct jpki_audit *a = ocspd_audit(&policy);
	jpki_audit_record r = { 0 };
	char local[1024], *details = local, result[320];
	size_t need = j->ids.len + 64;
	jpki_err err;

	if (a == NULL) {
		deliver(j);
		return;
	}
	if (j->ids.failed || (need > sizeof(local) && (details = malloc(need)) == NULL)) {
		unrecorded(j, "out of memory for its details", policy);
		deliver(j);
		return;
	}
	snprintf(details, need, "{\"certids\":[%s],\"cache\":\"%s\",\"nonce\":%s}",
		j->ids.text != NULL ? j->ids.text : "", j->info.cache_hit ? "hit" : "fresh", j->nonce ? "true" : "false");
	r.event = "ocsp-request";
	if (j->info.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL && j->info.why[0] != '\0') {
		snprintf(result, sizeof(result), "%s: %s", status_name(j->info.response_status), j->info.why);
		r.result = result;
	} else
		r.result = status_name(j->info.response_status);
	r.identity = j->info.verifier;
	r.auth = j->info.auth != NULL ? j->info.auth : "none";
	r.client = j->client;
	r.method = "ocsp";
	r.conn = -1;
	r.op = -1;
	r.details = details;
	r.details_made = true;	/* hex digits and fixed words: nothing to check */
	if (jpki_audit_submit(a, &r, recorded, j, &err) == 0) {
		if (details != local)
			free(details);
		return;
	}
	if (details != local)
		free(details);
	unrecorded(j, err.text, policy);
	deliver(j);
}

/* On a signing thread: the signature, the encoding, the cache. */
static void sign(void *arg)
{
	job *j = arg;
	OCSP_RESPONSE *r = NULL;
	int n, rc;

	rc = signer_sign(j->bs, j->issuer);
	if (rc == SIGNER_NO_CERT) {
		status_only(OCSP_RESPONSE_STATUS_TRYLATER, &j->resp, &j->resplen, &j->info,
			"rule responder-cert (RFC 6960 4.2.2.2): no current responder certificate issued by this "
			"answer's CA key");
		goto out;
	}
	if (rc < 0) {
		status_only(OCSP_RESPONSE_STATUS_TRYLATER, &j->resp, &j->resplen, &j->info,
			"the responder key could not sign (token unavailable)");
		goto out;
	}
	r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, j->bs);
	n = r != NULL ? i2d_OCSP_RESPONSE(r, &j->resp) : -1;
	if (n <= 0) {
		status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, &j->resp, &j->resplen, &j->info,
			"the signed response could not be encoded");
		goto out;
	}
	j->resplen = (size_t)n;
	j->info.response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
	j->info.produced_at = j->now;
	if (j->info.cacheable)	/* an ETag only for what HTTP caches may keep */
		make_etag(j->resp, j->resplen, j->info.etag, sizeof(j->info.etag));
	if (j->keyed)
		cache_put(j->key, j->s->generation, j->now, j->resp, j->resplen, &j->info, j->ids.text);
out:
	ERR_clear_error();
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(j->bs);
	j->bs = NULL;
	snapshot_unref(j->s);
	j->s = NULL;
	signpool_signed();
	finish(j);
}

static void prepare(job *j, const unsigned char *der, size_t len, const ocspd_client *client);

void ocspd_answer_start(const unsigned char *der, size_t len, const ocspd_client *client,
	ocspd_answer_done *done, void *arg)
{
	job *j = malloc(sizeof(*j));

	if (j == NULL) {
		ocspd_answer_info info = { 0 };

		done(arg, NULL, 0, &info);	/* no memory even to record: the HTTP layer says 500 */
		return;
	}
	memset(j, 0, sizeof(*j));
	j->done = done;
	j->done_arg = arg;
	snprintf(j->client, sizeof(j->client), "%s", client->addr_text);
	prepare(j, der, len, client);
	if (j->bs != NULL)
		signpool_submit(sign, j);
	else
		finish(j);
}

/* Everything up to the signature: the answer itself when it is an error or cached; else
 * j->bs holds the statuses to sign. Who asks and whether a cached answer serves are decided
 * from the request's view; it is decoded only for an answer to be made. */
static void prepare(job *j, const unsigned char *der, size_t len, const ocspd_client *client)
{
	const ocspd_config *c = ocspd_current_config();
	ocsp_request_view v;
	OCSP_REQUEST *req = NULL;
	ocspd_answer_info *info = &j->info;
	OCSP_BASICRESP *bs = NULL;
	snapshot *s = NULL;
	const jpki_ca_key *issuer = NULL;
	const served_key *served, *other;
	time_t now = time(NULL);
	int nonce = 0, out;

	if (ocsp_request_view_of(der, len, &v) != 1 || v.ncertids == 0 || v.ncertids > c->max_certids ||
	    (nonce = nonce_state(&v)) < 0) {
		status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, &j->resp, &j->resplen, info, "%s",
			v.refused[0] != '\0' ? v.refused :
			v.tbs == NULL ? "RFC 6960 4.1.1: not one DER OCSPRequest and nothing after it" :
			v.ncertids == 0 ? "RFC 6960 4.1.1: no CertID" :
			v.ncertids > c->max_certids ? "max-certids: more CertIDs than the responder answers at once" :
			"RFC 8954: a nonce of 1 to 32 octets");
		return;
	}
	j->nonce = nonce == 1;
	s = state_acquire();
	if (s == NULL) {
		status_only(OCSP_RESPONSE_STATUS_TRYLATER, &j->resp, &j->resplen, info,
			"no repository data loaded yet: never good without it");
		goto out;
	}
	if (!requestor_name_ok(&v, s)) {
		status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, &j->resp, &j->resplen, info,
			"RFC 6960 4.1.1: not one DER OCSPRequest and nothing after it");
		goto out;
	}
	switch (access_check(&v, client, s, c, state_registry_confirmed(), now, info)) {
	case ACCESS_SIG_REQUIRED:
		status_only(OCSP_RESPONSE_STATUS_SIGREQUIRED, &j->resp, &j->resplen, info,
			"rule verifier-access (CPS 4-4-4-3): a signed request or a client certificate is required");
		goto out;
	case ACCESS_UNAUTHORIZED:
		status_bytes(OCSP_RESPONSE_STATUS_UNAUTHORIZED, &j->resp, &j->resplen, info);	/* why: access_check's */
		goto out;
	case ACCESS_FAILED:
		status_bytes(OCSP_RESPONSE_STATUS_INTERNALERROR, &j->resp, &j->resplen, info);
		goto out;
	case ACCESS_TRY_LATER:
		status_bytes(OCSP_RESPONSE_STATUS_TRYLATER, &j->resp, &j->resplen, info);	/* why: access_check's */
		goto out;
	case ACCESS_OK:
		break;
	}
	/* The cache is keyed by the CertIDs' bytes: an entry was made from a request whose
	 * CertIDs, the same bytes, were decoded and answered. */
	info->cacheable = nonce == 0;
	j->keyed = info->cacheable;
	memcpy(j->key, v.certids_sha256, sizeof(j->key));
	if (j->keyed && cache_get(j->key, s->generation, now, c->cache_max_age, &j->resp, &j->resplen, info,
			&j->ids.text)) {
		j->ids.len = j->ids.cap = j->ids.text != NULL ? strlen(j->ids.text) : 0;
		info->cache_hit = true;
		info->response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
		goto out;
	}
	req = decode(der, len);
	if (req == NULL || OCSP_request_onereq_count(req) != (int)v.ncertids) {
		status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, &j->resp, &j->resplen, info,
			"RFC 6960 4.1.1: not one DER OCSPRequest and nothing after it");
		goto out;
	}
	if (response_key(req, s, &served, &other) < 0) {
		char a[2 * SHA_DIGEST_LENGTH + 1], b[2 * SHA_DIGEST_LENGTH + 1];

		jpki_hex(served->key->id, sizeof(served->key->id), a);
		jpki_hex(other->key->id, sizeof(other->key->id), b);
		ocspd_log(OCSPD_LOG_INFO, "refused a request from %s: rule one-ca-key (RFC 6960 4.2.2.2): its "
			"CertIDs name CA keys %s and %s, and a responder certificate speaks for one: malformedRequest",
			j->client, a, b);
		status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, &j->resp, &j->resplen, info,
			"rule one-ca-key (RFC 6960 4.2.2.2): CertIDs of CA keys %.16s and %.16s in one request; "
			"no one response verifies for both: ask for each key's apart", a, b);
		goto out;
	}
	issuer = served != NULL ? served->key : NULL;
	bs = OCSP_BASICRESP_new();
	if (bs == NULL ||
	    (out = add_statuses(bs, req, s, now, info, &j->ids)) == -2) {
		status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, &j->resp, &j->resplen, info,
			"the statuses could not be encoded");
		goto out;
	}
	if (out == -1) {
		status_only(OCSP_RESPONSE_STATUS_TRYLATER, &j->resp, &j->resplen, info,
			"rule current-crl: a partition CRL needed for this answer is past its nextUpdate");
		goto out;
	}
	if (nonce == 1 && !OCSP_copy_nonce(bs, req)) {
		status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, &j->resp, &j->resplen, info,
			"the nonce could not be copied");
		goto out;
	}
	/* To the signing threads, with the snapshot that owns issuer. */
	j->bs = bs;
	j->issuer = issuer;
	j->s = s;
	j->now = now;
	bs = NULL;
	s = NULL;
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(req);
	snapshot_unref(s);
}
