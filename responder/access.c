#include "access.h"

#include <openssl/err.h>
#include <string.h>

#include "verifier.h"

#define RULE "rule verifier-access (CPS 4-4-4-3): "

static access_result allowed(const registered *r, time_t now, ocspd_answer_info *info, const char *how)
{
	char why[160];

	info->auth = how;
	if (r == NULL) {
		snprintf(info->why, sizeof(info->why), RULE "the %s is no registered verifier's",
			strcmp(how, "signature") == 0 ? "signer" : "client certificate");
		return ACCESS_UNAUTHORIZED;
	}
	snprintf(info->verifier, sizeof(info->verifier), "%s", r->dn);
	if (!jpki_verifier_allows(&r->state, JPKI_METHOD_OCSP, now, why, sizeof(why))) {
		snprintf(info->why, sizeof(info->why), RULE "%s", why);
		ocspd_log(OCSPD_LOG_INFO, "refused %s: %s", r->dn, why);
		return ACCESS_UNAUTHORIZED;
	}
	return ACCESS_OK;
}

/* The verifier whose certificate among the n candidates signed req, or NULL. Candidates
 * whose subject is encoded as skip were tried already. OCSP_request_verify() with one
 * certificate checks the signature with its key; no chain: the registry, not a CA, says
 * who may ask. */
static const registered *signer_among(OCSP_REQUEST *req, const signer_cand *cand, size_t n,
	const unsigned char *skip, size_t skiplen)
{
	STACK_OF(X509) *one = sk_X509_new_null();
	const registered *found = NULL;
	size_t i;

	for (i = 0; one != NULL && found == NULL && i < n; i++) {
		if (skip != NULL && cand[i].derlen == skiplen && memcmp(cand[i].der, skip, skiplen) == 0)
			continue;
		sk_X509_zero(one);
		sk_X509_push(one, cand[i].cert);
		if (OCSP_request_verify(req, one, NULL, OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN) == 1)
			found = cand[i].verifier;
		ERR_clear_error();
	}
	sk_X509_free(one);
	return found;
}

/* The request's signer among the registry's certificates with the requestorName's subject
 * (usually one; more when a renewal kept the subject): first those whose subject has the
 * name's very encoding, as a client that copies its certificate's subject sends it; then
 * those equal to it as OpenSSL compares names. */
static access_result signed_request(OCSP_REQUEST *req, const unsigned char *name_der,
	size_t name_len, const snapshot *s, time_t now, ocspd_answer_info *info)
{
	const registered *r = NULL;
	const signer_cand *cand;
	const unsigned char *p = name_der;
	X509_NAME *name;
	size_t n;

	info->auth = "signature";
	if (name_der != NULL) {
		cand = snapshot_signers_by_subject_der(s, name_der, name_len, &n);
		r = signer_among(req, cand, n, NULL, 0);
		if (r == NULL && (name = d2i_X509_NAME(NULL, &p, (long)name_len)) != NULL) {
			cand = snapshot_signers_by_subject(s, name, &n);
			r = signer_among(req, cand, n, name_der, name_len);
			X509_NAME_free(name);
		}
		ERR_clear_error();
	}
	if (r == NULL)
		ocspd_log(OCSPD_LOG_INFO, "refused a signed request: its signer is no registered verifier");
	return allowed(r, now, info, "signature");
}

access_result access_check(OCSP_REQUEST *req, const unsigned char *requestor, size_t requestor_len,
	const ocspd_client *client, const snapshot *s, const ocspd_config *c, time_t now,
	ocspd_answer_info *info)
{
	size_t i;

	for (i = 0; i < c->nallow; i++) {
		if (ocspd_network_contains(&c->allow[i], client->addr)) {
			info->auth = "network";
			return ACCESS_OK;
		}
	}
	if (client->cert_sha256 != NULL)
		return allowed(snapshot_verifier_by_cert(s, client->cert_sha256), now, info, "client-certificate");
	if (OCSP_request_is_signed(req))
		return signed_request(req, requestor, requestor_len, s, now, info);
	info->auth = "none";
	return c->require_signature ? ACCESS_SIG_REQUIRED : ACCESS_OK;
}
