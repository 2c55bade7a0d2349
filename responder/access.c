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

/* The request's signer among the registry's certificates. OCSP_request_verify() with one
 * candidate at a time matches the requestorName (a directoryName) with the candidate's
 * subject and checks the signature with its key; no chain: the registry, not a CA, says who
 * may ask. A candidate with another subject fails before any signature work. */
static access_result signed_request(OCSP_REQUEST *req, const snapshot *s, time_t now,
	ocspd_answer_info *info)
{
	STACK_OF(X509) *one = sk_X509_new_null();
	size_t i;
	int j;

	info->auth = "signature";
	for (i = 0; one != NULL && i < s->nverifiers; i++) {
		for (j = 0; j < sk_X509_num(s->verifiers[i].certs); j++) {
			X509 *cand = sk_X509_value(s->verifiers[i].certs, j);
			int ok;

			sk_X509_zero(one);
			sk_X509_push(one, cand);
			ok = OCSP_request_verify(req, one, NULL, OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN) == 1;
			ERR_clear_error();
			if (ok) {
				sk_X509_free(one);
				return allowed(&s->verifiers[i], now, info, "signature");
			}
		}
	}
	sk_X509_free(one);
	ocspd_log(OCSPD_LOG_INFO, "refused a signed request: its signer is no registered verifier");
	return allowed(NULL, now, info, "signature");
}

access_result access_check(OCSP_REQUEST *req, const ocspd_client *client, const snapshot *s,
	const ocspd_config *c, time_t now, ocspd_answer_info *info)
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
		return signed_request(req, s, now, info);
	info->auth = "none";
	return c->require_signature ? ACCESS_SIG_REQUIRED : ACCESS_OK;
}
