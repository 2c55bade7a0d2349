#include "registry_check.h"

#include <lber.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "digest.h"
#include "dn.h"
#include "verifier.h"

#define QUOTED(bv) (int)((bv)->bv_len > 80 ? 80 : (bv)->bv_len), (bv)->bv_val

static const struct berval *first(const jpki_values *vs)
{
	return vs->n > 0 ? &vs->v[0] : NULL;
}

static int state_of(const jpki_registry_entry *e, jpki_verifier_state *s, jpki_err *err)
{
	const struct berval **methods = calloc(e->methods.n + 1, sizeof(*methods));
	size_t i;
	int rc;

	if (methods == NULL)
		return jpki_errf(err, "out of memory");
	for (i = 0; i < e->methods.n; i++)
		methods[i] = &e->methods.v[i];
	rc = jpki_verifier_state_from_values(s, first(&e->status), first(&e->start), first(&e->end),
		(struct berval *const *)methods, err);
	free(methods);
	return rc;
}

int jpki_registry_check_period(time_t start, time_t end, const char *start_text,
	const char *end_text, jpki_verdict *v)
{
	if (end > start)
		return 0;
	return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_VALUES, "jpkiAgreementEnd '%s' is not after "
		"jpkiAgreementStart '%s': the agreement period is reversed or empty", end_text, start_text);
}

int jpki_registry_check_status(jpki_verifier_status was, jpki_verifier_status now, jpki_verdict *v)
{
	if (was != JPKI_VERIFIER_TERMINATED || now == JPKI_VERIFIER_TERMINATED)
		return 0;
	return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_TERMINATED, "the verifier is terminated and "
		"jpkiVerifierStatus would be '%s': a terminated agreement is not reopened (register the "
		"verifier anew)", jpki_verifier_status_name(now));
}

static int check_values(const jpki_registry_entry *e, jpki_verifier_state *s, jpki_verdict *v)
{
	jpki_err err;
	char start[96], end[96];

	if (state_of(e, s, &err) < 0)
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_VALUES, "%s", err.text);
	snprintf(start, sizeof(start), "%.*s", QUOTED(first(&e->start)));
	snprintf(end, sizeof(end), "%.*s", QUOTED(first(&e->end)));
	if (jpki_registry_check_period(s->start, s->end, start, end, v) < 0)
		return -1;
	if (s->methods == 0)
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_VALUES,
			"no jpkiAllowedMethod: a verifier is granted ldap, ocsp or both");
	return 0;
}

static bool hex_equal(const struct berval *value, const char hex[JPKI_SHA256_HEX_LEN + 1])
{
	return value->bv_len == 64 && strncasecmp(value->bv_val, hex, 64) == 0;
}

static bool subject_equal(const struct berval *value, const X509 *cert)
{
	char dn[1024];

	if (value->bv_len >= sizeof(dn))
		return false;
	snprintf(dn, sizeof(dn), "%.*s", (int)value->bv_len, value->bv_val);
	return jpki_dn_equals_x509_name(dn, X509_get_subject_name(cert)) == 1;
}

/* Whether value, a hash (hashes) or a subject, describes the certificate. */
static bool describes(bool hashes, const struct berval *value, const X509 *cert,
	const char hex[JPKI_SHA256_HEX_LEN + 1])
{
	return hashes ? hex_equal(value, hex) : subject_equal(value, cert);
}

/* Whether one of vs describes certificate i. */
static bool described(const jpki_values *vs, bool hashes, X509 **certs, char (*hex)[JPKI_SHA256_HEX_LEN + 1], size_t i)
{
	for (size_t j = 0; j < vs->n; j++)
		if (describes(hashes, &vs->v[j], certs[i], hex[i]))
			return true;
	return false;
}

/* Each value of vs describes one of the n certificates. */
static int all_describe(const jpki_values *vs, bool hashes, X509 **certs, char (*hex)[JPKI_SHA256_HEX_LEN + 1],
	size_t n, jpki_verdict *v)
{
	size_t i, j;
	bool found;

	for (i = 0; i < vs->n; i++) {
		for (j = 0, found = false; j < n && !found; j++)
			found = describes(hashes, &vs->v[i], certs[j], hex[j]);
		if (!found)
			return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_CERTIFICATE,
				"%s '%.*s' is the %s of none of the entry's userCertificate values",
				hashes ? "jpkiCertificateSHA256" : "jpkiCertificateSubject", QUOTED(&vs->v[i]),
				hashes ? "SHA-256" : "subject");
	}
	return 0;
}

/* Every certificate is described by a hash and a subject value, and every such value
 * describes one of the certificates. */
static int check_certificates(const jpki_registry_entry *e, X509 **certs, char (*hex)[JPKI_SHA256_HEX_LEN + 1],
	jpki_verdict *v)
{
	const jpki_values *cv = &e->certs;
	size_t i;
	bool hashed;
	char *subject;

	for (i = 0; i < cv->n; i++) {
		const unsigned char *p = (const unsigned char *)cv->v[i].bv_val;

		certs[i] = d2i_X509(NULL, &p, (long)cv->v[i].bv_len);
		if (certs[i] == NULL || p != (const unsigned char *)cv->v[i].bv_val + cv->v[i].bv_len)
			return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_CERTIFICATE,
				"userCertificate value %zu is not one DER X.509 certificate", i + 1);
		jpki_sha256_hex((const unsigned char *)cv->v[i].bv_val, cv->v[i].bv_len, hex[i]);
	}
	if (all_describe(&e->sha256, true, certs, hex, cv->n, v) < 0 ||
	    all_describe(&e->subjects, false, certs, hex, cv->n, v) < 0)
		return -1;
	for (i = 0; i < cv->n; i++) {
		hashed = described(&e->sha256, true, certs, hex, i);
		if (hashed && described(&e->subjects, false, certs, hex, i))
			continue;
		subject = jpki_x509_name_to_dn(X509_get_subject_name(certs[i]));
		jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_CERTIFICATE,
			"userCertificate value %zu (subject %s) has no %s value: the responder and the TLS "
			"mapping find a verifier by it", i + 1, subject != NULL ? subject : "?",
			hashed ? "jpkiCertificateSubject" : "jpkiCertificateSHA256");
		free(subject);
		return -1;
	}
	return 0;
}

int jpki_registry_check(const jpki_registry_entry *before, const jpki_registry_entry *after,
	jpki_verdict *v)
{
	const struct berval *was = before != NULL ? first(&before->status) : NULL;
	jpki_verifier_state now;
	X509 **certs;
	char (*hex)[JPKI_SHA256_HEX_LEN + 1];
	size_t i;
	int rc;

	if (check_values(after, &now, v) < 0)
		return -1;
	/* the stored status alone: an unreadable one is UNKNOWN, never TERMINATED */
	if (was != NULL && jpki_registry_check_status(jpki_verifier_status_parse(was->bv_val, was->bv_len), now.status,
		    v) < 0)
		return -1;
	certs = calloc(after->certs.n + 1, sizeof(*certs));
	hex = calloc(after->certs.n + 1, sizeof(*hex));
	rc = certs != NULL && hex != NULL ? check_certificates(after, certs, hex, v) :
		jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_CERTIFICATE, "out of memory");
	for (i = 0; certs != NULL && i < after->certs.n; i++)
		X509_free(certs[i]);
	free(certs);
	free(hex);
	return rc;
}
