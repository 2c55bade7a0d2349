/* One OCSP request in, one OCSP response out (RFC 6960, RFC 5019 profile, RFC 8954 nonces).
 * good / revoked / unknown come from the snapshot; "good" only while every partition CRL of
 * the issuer key is current, and anything stale or missing gives tryLater, never good. */
#include "ocspd.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "cache.h"
#include "signer.h"
#include "state.h"

#define NONCE_MIN 1
#define NONCE_MAX 32	/* RFC 8954 */

static int status_only(int status, unsigned char **resp, size_t *resplen, ocspd_answer_info *info)
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

/* The request, parsed whole: one DER OCSPRequest and nothing after it. */
static OCSP_REQUEST *parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;

	if (len == 0)
		return NULL;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	if (req != NULL && p != der + len) {
		OCSP_REQUEST_free(req);
		req = NULL;
	}
	ERR_clear_error();
	return req;
}

/* -1: a nonce of a length RFC 8954 does not allow; 0: none; 1: one to echo. */
static int nonce_state(OCSP_REQUEST *req)
{
	int idx = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
	ASN1_OCTET_STRING *outer, *inner;
	const unsigned char *p;
	int len;

	if (idx < 0)
		return 0;
	outer = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, idx));
	p = outer->data;
	inner = d2i_ASN1_OCTET_STRING(NULL, &p, outer->length);
	/* Some clients send the nonce bytes without the inner OCTET STRING. */
	len = (inner != NULL && p == outer->data + outer->length) ? inner->length : outer->length;
	ASN1_OCTET_STRING_free(inner);
	ERR_clear_error();
	return (len < NONCE_MIN || len > NONCE_MAX) ? -1 : 1;
}

static ASN1_GENERALIZEDTIME *gt(time_t t)
{
	return ASN1_GENERALIZEDTIME_set(NULL, t);
}

/* Adds every CertID's status; -1 when one needs data that is stale or missing (tryLater). */
/* {"serial":"HEX","status":"…"} appended to the audit details list. */
static void note_certid(char *list, size_t len, const ASN1_INTEGER *serial, const char *status)
{
	BIGNUM *bn = serial != NULL ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	size_t used = strlen(list);

	snprintf(list + used, len - used, "%s{\"serial\":\"%s\",\"status\":\"%s\"}", used ? "," : "",
		hex != NULL ? hex : "", status);
	OPENSSL_free(hex);
	BN_free(bn);
}

static int add_statuses(OCSP_BASICRESP *bs, OCSP_REQUEST *req, const snapshot *s, time_t now,
	ocspd_answer_info *info, const jpki_ca_key **signer_issuer, char *certids, size_t clen)
{
	int i, n = OCSP_request_onereq_count(req), rc = 0;

	info->this_update = 0;
	info->next_update = 0;
	for (i = 0; i < n && rc == 0; i++) {
		OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		const served_key *k = snapshot_find_issuer(s, id);
		ASN1_INTEGER *serial = NULL;
		ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL, *rt = NULL;
		time_t t_this, t_next;
		const revoked *r;

		if (k == NULL) {
			/* An issuer this responder does not serve. */
			OCSP_id_get0_info(NULL, NULL, NULL, &serial, id);
			note_certid(certids, clen, serial, "unknown");
			tu = gt(now);
			rc = OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_UNKNOWN, 0, NULL, tu, NULL) ? 0 : -2;
			ASN1_TIME_free(tu);
			continue;
		}
		if (*signer_issuer == NULL)
			*signer_issuer = k->key;
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
		note_certid(certids, clen, serial, r != NULL ? "revoked" : "good");
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
		if (info->this_update == 0 || t_this < info->this_update)
			info->this_update = t_this;
		if (info->next_update == 0 || t_next < info->next_update)
			info->next_update = t_next;
	}
	if (info->next_update == 0)
		info->next_update = now + 60;	/* only unknowns: a short life */
	if (info->this_update == 0)
		info->this_update = now;
	return rc;
}

static void make_etag(const unsigned char *der, size_t len, char *etag, size_t elen)
{
	unsigned char md[32];
	int i;

	EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL);
	etag[0] = '"';
	for (i = 0; i < 16 && (size_t)(2 * i + 3) < elen; i++)
		snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
	strncat(etag, "\"", elen - strlen(etag) - 1);
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

/* The request's record, on disk before its answer leaves (CPS 4-11-2). -1: it could not be
 * written and the policy is fail-closed. */
static int record(const ocspd_client *client, const ocspd_answer_info *info, bool nonce,
	const char *certids)
{
	int policy;
	struct jpki_audit *a = ocspd_audit(&policy);
	jpki_audit_record r = { 0 };
	char details[8192];
	jpki_err err;

	if (a == NULL)
		return 0;
	snprintf(details, sizeof(details), "{\"certids\":[%s],\"cache\":\"%s\",\"nonce\":%s}", certids,
		info->cache_hit ? "hit" : "fresh", nonce ? "true" : "false");
	r.event = "ocsp-request";
	r.result = status_name(info->response_status);
	r.identity = info->verifier;
	r.auth = info->auth != NULL ? info->auth : "none";
	r.client = client->addr_text;
	r.method = "ocsp";
	r.conn = -1;
	r.op = -1;
	r.details = details;
	if (jpki_audit_append(a, &r, &err) == 0)
		return 0;
	ocspd_log(OCSPD_LOG_ERR, "audit record not written: %s%s", err.text,
		policy == JPKI_AUDIT_FAIL_OPEN ? " (fail-open: answered anyway)" : "; answering internalError");
	return policy == JPKI_AUDIT_FAIL_OPEN ? 0 : -1;
}

static int answer(const unsigned char *der, size_t len, const ocspd_client *client,
	unsigned char **resp, size_t *resplen, ocspd_answer_info *info, char *certids, size_t clen,
	bool *nonce_out);

int ocspd_answer(const unsigned char *der, size_t len, const ocspd_client *client,
	unsigned char **resp, size_t *resplen, ocspd_answer_info *info)
{
	char certids[6144] = "";
	bool nonce = false;
	int rc = answer(der, len, client, resp, resplen, info, certids, sizeof(certids), &nonce);

	if (record(client, info, nonce, certids) < 0) {
		OPENSSL_free(*resp);
		*resp = NULL;
		return status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, resp, resplen, info);
	}
	return rc;
}

static int answer(const unsigned char *der, size_t len, const ocspd_client *client,
	unsigned char **resp, size_t *resplen, ocspd_answer_info *info, char *certids, size_t clen,
	bool *nonce_out)
{
	const ocspd_config *c = ocspd_current_config();
	OCSP_REQUEST *req = parse(der, len);
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *r = NULL;
	snapshot *s = NULL;
	const jpki_ca_key *issuer = NULL;
	unsigned char key[32];
	time_t now = time(NULL);
	int nonce, n, rc = -1, out, keyed = 0;

	memset(info, 0, sizeof(*info));
	*resp = NULL;
	if (req == NULL || (n = OCSP_request_onereq_count(req)) <= 0 || (unsigned)n > c->max_certids ||
	    (nonce = nonce_state(req)) < 0) {
		OCSP_REQUEST_free(req);
		return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, resp, resplen, info);
	}
	*nonce_out = nonce == 1;
	s = state_acquire();
	if (s == NULL) {
		rc = status_only(OCSP_RESPONSE_STATUS_TRYLATER, resp, resplen, info);
		goto out;
	}
	switch (access_check(req, client, s, c, now, info)) {
	case ACCESS_SIG_REQUIRED:
		rc = status_only(OCSP_RESPONSE_STATUS_SIGREQUIRED, resp, resplen, info);
		goto out;
	case ACCESS_UNAUTHORIZED:
		rc = status_only(OCSP_RESPONSE_STATUS_UNAUTHORIZED, resp, resplen, info);
		goto out;
	case ACCESS_OK:
		break;
	}
	info->cacheable = nonce == 0;
	keyed = info->cacheable && cache_key(req, key) == 0;
	if (keyed && cache_get(key, s->generation, now, c->cache_max_age, resp, resplen, info, certids, clen)) {
		info->cache_hit = true;
		info->response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
		rc = 0;
		goto out;
	}
	bs = OCSP_BASICRESP_new();
	if (bs == NULL || (out = add_statuses(bs, req, s, now, info, &issuer, certids, clen)) == -2) {
		rc = status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, resp, resplen, info);
		goto out;
	}
	if (out == -1 || (nonce == 1 && !OCSP_copy_nonce(bs, req)) || signer_sign(bs, issuer) < 0) {
		rc = status_only(OCSP_RESPONSE_STATUS_TRYLATER, resp, resplen, info);
		goto out;
	}
	r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	n = r != NULL ? i2d_OCSP_RESPONSE(r, resp) : -1;
	if (n <= 0) {
		rc = status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, resp, resplen, info);
		goto out;
	}
	*resplen = (size_t)n;
	info->response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
	info->produced_at = now;
	make_etag(*resp, *resplen, info->etag, sizeof(info->etag));
	if (keyed)
		cache_put(key, s->generation, now, *resp, *resplen, info, certids);
	rc = 0;
out:
	ERR_clear_error();
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(req);
	snapshot_unref(s);
	return rc;
}
