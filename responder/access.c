#include "access.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "utctime.h"
#include "verifier.h"

#define RULE "rule verifier-access (CPS 4-4-4-3): "
#define RULE_ALG "rule signature-algorithm: "
#define RULE_AGE "rule registry-max-age: "
#define AGE_LOG_EVERY 60	/* s: the registry's age is logged at most this often */
#define AGE_AHEAD 300		/* s: a confirmation later than now by more is none (a clock was wrong) */

static _Atomic time_t age_logged;	/* when the registry's age was last logged */

/* The registry, last confirmed by slapd at confirmed, is too old to say who may ask: the
 * answer waits (tryLater, RFC 6960 2.3) until the sync thread follows slapd again, as an
 * answer waits for a current CRL. A confirmation more than AGE_AHEAD in the future (a state
 * copy written while the clock was ahead, or altered) confirms nothing: counted from it, the
 * registry would be trusted for as long again as it lies ahead. Logged once a minute at most. */
static bool registry_too_old(const ocspd_config *c, time_t confirmed, time_t now, ocspd_answer_info *info)
{
	char at[JPKI_UTC_ISO_LEN + 1];
	time_t logged;
	bool ahead = confirmed != 0 && confirmed - now > AGE_AHEAD;

	if (c->registry_max_age <= 0 || (confirmed != 0 && !ahead && now - confirmed <= c->registry_max_age))
		return false;
	jpki_utc_iso(confirmed, at);
	if (ahead)
		snprintf(info->why, sizeof(info->why), RULE_AGE "the verifier registry was last confirmed by the "
			"repository at %s, more than %d s from now in the future (a clock set wrong); who may ask "
			"cannot be told now", at, AGE_AHEAD);
	else if (confirmed != 0)
		snprintf(info->why, sizeof(info->why), RULE_AGE "the verifier registry was last confirmed by the "
			"repository at %s, more than %ld s ago; who may ask cannot be told now", at, c->registry_max_age);
	else
		snprintf(info->why, sizeof(info->why), RULE_AGE "the verifier registry was never confirmed by the "
			"repository; who may ask cannot be told now");
	logged = atomic_load(&age_logged);
	if (now - logged >= AGE_LOG_EVERY && atomic_compare_exchange_strong(&age_logged, &logged, now))
		ocspd_log(OCSPD_LOG_WARNING, "%s; signed requests and client certificates are answered "
			"tryLater until the repository is followed again (logged once a minute)", info->why);
	return true;
}

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

/* The signature as received: the algorithm and value decoded once, the signed bytes those of
 * the tbsRequest element itself (an ANY holding a SEQUENCE encodes as its bytes). */
typedef struct signed_bytes {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *sig;
	ASN1_STRING tbs;
	ASN1_TYPE any;
} signed_bytes;

static int signed_bytes_of(const ocsp_request_view *v, signed_bytes *sb)
{
	const unsigned char *p = v->sig_alg;

	memset(sb, 0, sizeof(*sb));
	sb->alg = d2i_X509_ALGOR(NULL, &p, (long)v->sig_alg_len);
	if (sb->alg == NULL || p != v->sig_alg + v->sig_alg_len)
		return -1;
	p = v->sig;
	sb->sig = d2i_ASN1_BIT_STRING(NULL, &p, (long)v->sig_len);
	if (sb->sig == NULL || p != v->sig + v->sig_len)
		return -1;
	sb->tbs.type = V_ASN1_SEQUENCE;
	sb->tbs.data = (unsigned char *)v->tbs;	/* read only: nothing frees or writes it */
	sb->tbs.length = (int)v->tbs_len;
	sb->any.type = V_ASN1_SEQUENCE;
	sb->any.value.sequence = &sb->tbs;
	return 0;
}

static void signed_bytes_free(signed_bytes *sb)
{
	X509_ALGOR_free(sb->alg);
	ASN1_BIT_STRING_free(sb->sig);
}

static _Thread_local unsigned char pss_last[96];	/* the last RSA-PSS parameters seen, DER */
static _Thread_local int pss_last_len = -1, pss_last_md;

/* Digests at least as strong as SHA-256. */
static bool digest_strong(int md)
{
	switch (md) {
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
	case NID_sha512_256:
	case NID_sha3_256:
	case NID_sha3_384:
	case NID_sha3_512:
		return true;
	default:
		return false;
	}
}

/* Whether the request's signature algorithm may show who asks: its digest SHA-256 or
 * stronger (RSA-PSS: the hash in its parameters, SHA-1 when they leave it out, RFC 4055), or
 * Ed25519/Ed448, which name none. An allow-list: an algorithm not known here is refused too.
 * MD5 and SHA-1 signatures can be forged by chosen-prefix collisions, so such a signature
 * proves no one; the request is then refused as one by nobody registered, unauthorized
 * (RFC 6960 2.3), before any key is tried: it is signed (sigRequired would tell the client to
 * sign) and well-formed (malformedRequest would blame its syntax). why names the algorithm. */
static bool algorithm_ok(const X509_ALGOR *alg, char *why, size_t whylen)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	RSA_PSS_PARAMS *pss;
	int ptype, sig, md = NID_undef, pkey = NID_undef;
	char name[80];

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	sig = OBJ_obj2nid(obj);
	if (sig != NID_undef && OBJ_find_sigid_algs(sig, &md, &pkey) && sig == NID_rsassaPss) {
		const ASN1_STRING *der = ptype == V_ASN1_SEQUENCE ? pval : NULL;

		/* A client signs every request with the same parameters: their digest is
		 * remembered per thread, by their bytes, rather than decoded each time. */
		if (der != NULL && der->length == pss_last_len && der->length <= (int)sizeof(pss_last) &&
		    memcmp(der->data, pss_last, (size_t)der->length) == 0) {
			md = pss_last_md;
		} else {
			pss = der != NULL ? ASN1_item_unpack(der, ASN1_ITEM_rptr(RSA_PSS_PARAMS)) : NULL;
			md = pss == NULL ? NID_undef : pss->hashAlgorithm == NULL ? NID_sha1 :
				OBJ_obj2nid(pss->hashAlgorithm->algorithm);
			RSA_PSS_PARAMS_free(pss);
			ERR_clear_error();
			if (der != NULL && der->length <= (int)sizeof(pss_last)) {
				memcpy(pss_last, der->data, (size_t)der->length);
				pss_last_len = der->length;
				pss_last_md = md;
			}
		}
	}
	if (digest_strong(md) || (md == NID_undef && (pkey == NID_ED25519 || pkey == NID_ED448)))
		return true;
	if (OBJ_obj2txt(name, sizeof(name), obj, 0) <= 0)
		snprintf(name, sizeof(name), "?");
	snprintf(why, whylen, RULE_ALG "the request is signed with %s (digest %s); a signature needs SHA-256 "
		"or stronger", name, md != NID_undef ? OBJ_nid2sn(md) : "unknown");
	return false;
}

/* The verifier whose certificate among the n candidates signed sb, or NULL. Candidates whose
 * subject is encoded as skip were tried already. Only the signature is checked, with each
 * certificate's key; no chain: the registry, not a CA, says who may ask. */
static const registered *signer_among(const signed_bytes *sb, const signer_cand *cand, size_t n,
	const unsigned char *skip, size_t skiplen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (skip != NULL && cand[i].derlen == skiplen && memcmp(cand[i].der, skip, skiplen) == 0)
			continue;
		if (ASN1_item_verify(ASN1_ITEM_rptr(ASN1_ANY), sb->alg, sb->sig, (void *)&sb->any,
			    X509_get0_pubkey(cand[i].cert)) == 1)
			return cand[i].verifier;
		ERR_clear_error();
	}
	return NULL;
}

/* The request's signer among the registry's certificates with the requestorName's subject
 * (usually one; more when a renewal kept the subject): first those whose subject has the
 * name's very encoding, as a client that copies its certificate's subject sends it; then
 * those equal to it as OpenSSL compares names. */
static access_result signed_request(const ocsp_request_view *v, const snapshot *s, time_t now,
	ocspd_answer_info *info)
{
	const registered *r = NULL;
	const signer_cand *cand;
	const unsigned char *p = v->name;
	signed_bytes sb;
	X509_NAME *name;
	size_t n;

	info->auth = "signature";
	if (signed_bytes_of(v, &sb) < 0) {	/* the view decoded them once: out of memory */
		signed_bytes_free(&sb);
		ERR_clear_error();
		snprintf(info->why, sizeof(info->why), "the request's signature could not be decoded (out of memory)");
		return ACCESS_FAILED;
	}
	if (!algorithm_ok(sb.alg, info->why, sizeof(info->why))) {
		signed_bytes_free(&sb);
		ocspd_log(OCSPD_LOG_INFO, "refused a signed request: %s", info->why);
		return ACCESS_UNAUTHORIZED;
	}
	if (v->name != NULL) {
		cand = snapshot_signers_by_subject_der(s, v->name, v->name_len, &n);
		r = signer_among(&sb, cand, n, NULL, 0);
		if (r == NULL && (name = d2i_X509_NAME(NULL, &p, (long)v->name_len)) != NULL) {
			cand = snapshot_signers_by_subject(s, name, &n);
			r = signer_among(&sb, cand, n, v->name, v->name_len);
			X509_NAME_free(name);
		}
		ERR_clear_error();
	}
	signed_bytes_free(&sb);
	if (r == NULL)
		ocspd_log(OCSPD_LOG_INFO, "refused a signed request: its signer is no registered verifier");
	return allowed(r, now, info, "signature");
}

access_result access_check(const ocsp_request_view *v, const ocspd_client *client, const snapshot *s,
	const ocspd_config *c, time_t registry_confirmed, time_t now, ocspd_answer_info *info)
{
	size_t i;

	for (i = 0; i < c->nallow; i++) {
		if (ocspd_network_contains(&c->allow[i], client->addr)) {
			info->auth = "network";
			return ACCESS_OK;
		}
	}
	if (client->cert_sha256 != NULL) {
		info->auth = "client-certificate";
		if (registry_too_old(c, registry_confirmed, now, info))
			return ACCESS_TRY_LATER;
		return allowed(snapshot_verifier_by_cert(s, client->cert_sha256), now, info, "client-certificate");
	}
	if (v->sig_alg != NULL) {
		info->auth = "signature";
		if (registry_too_old(c, registry_confirmed, now, info))
			return ACCESS_TRY_LATER;
		return signed_request(v, s, now, info);
	}
	info->auth = "none";
	return c->require_signature ? ACCESS_SIG_REQUIRED : ACCESS_OK;
}
