/* The rules a CRL or ARL must pass before the repository stores it (issue: repository core,
 * items (a)–(i)). Each rule is a function of its own so that it can be tested alone; the
 * overlay, the responder and `jpki crl issue` all call jpki_crl_check(). */
#ifndef JPKI_CRL_CHECK_H
#define JPKI_CRL_CHECK_H
#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>
#include "err.h"
#include "trust.h"

typedef enum jpki_rule {
	JPKI_RULE_NONE = 0,
	JPKI_RULE_FORMAT,	/* (a) one DER X.509 v2 CRL */
	JPKI_RULE_SIGNATURE,	/* (b) signed by a trusted CA key */
	JPKI_RULE_ISSUER,	/* (c) names that CA as issuer */
	JPKI_RULE_PARTITION,	/* (d) issuingDistributionPoint = this entry */
	JPKI_RULE_NUMBER,	/* (e) cRLNumber greater than the stored one */
	JPKI_RULE_THIS_UPDATE,	/* (f) thisUpdate not in the future, not older than stored */
	JPKI_RULE_VALIDITY,	/* (g) nextUpdate - thisUpdate within the maximum */
	JPKI_RULE_REASONS,	/* (h) reasons 1–5 only */
	JPKI_RULE_SIZE,		/* (i) size cap */
	JPKI_RULE_WRITER,	/* only the publisher writes CRLs and CA certificates */
	JPKI_RULE_CA_CERT,	/* cACertificate values must chain to a trust anchor */
	JPKI_RULE_COMPLETE_ONLY,	/* complete CRLs only: deltaRevocationList is never written */
	JPKI_RULE_NO_TRANSACTION,	/* checked writes are not made inside an LDAP transaction */
	JPKI_RULE_NO_PERSIST,	/* CRLs reach only the readers by a persistent search */
	JPKI_RULE_ENTRY_KEPT,	/* an entry holding a CRL or the ARL is not deleted or renamed */
	/* The verifier registry (lib/registry_check.h). */
	JPKI_RULE_REGISTRY_VALUES,	/* status, agreement period and methods readable */
	JPKI_RULE_REGISTRY_TERMINATED,	/* a terminated agreement is not reopened */
	JPKI_RULE_REGISTRY_CERTIFICATE,	/* hashes and subjects are those of the certificates */
	JPKI_RULE_REGISTRY_UNIQUE,	/* one certificate, one subject: one verifier */
} jpki_rule;

typedef struct jpki_verdict {
	jpki_rule rule;
	char text[384];		/* "rule (e) crl-number: …" */
} jpki_verdict;

typedef enum jpki_crl_kind {
	JPKI_CRL_PARTITION,	/* certificateRevocationList of a municipality partition */
	JPKI_CRL_ARL,		/* authorityRevocationList of the CA entry */
} jpki_crl_kind;

/* A field added here is compared in jpki_crl_policy_equal() too (crl_check.c asserts the size). */
typedef struct jpki_crl_policy {
	long clock_skew;	/* seconds thisUpdate may lie in the future */
	long max_validity;	/* seconds between thisUpdate and nextUpdate */
	size_t max_size;	/* bytes of DER */
} jpki_crl_policy;

/* Every field equal: a CRL passes the rules under a as it does under b (the responder takes a
 * CRL checked under one over only when the policy has not changed). */
bool jpki_crl_policy_equal(const jpki_crl_policy *a, const jpki_crl_policy *b);

#define JPKI_DEFAULT_CLOCK_SKEW 300L
#define JPKI_DEFAULT_MAX_VALIDITY (72L * 3600L)	/* CPS 4-4-9: each CRL valid 72 h */
#define JPKI_DEFAULT_MAX_SIZE ((size_t)64 << 20)

/* What a later CRL of the same partition and key is compared with. */
typedef struct jpki_crl_meta {
	unsigned char key_id[SHA_DIGEST_LENGTH];
	ASN1_INTEGER *number;
	time_t this_update;
	time_t next_update;
} jpki_crl_meta;

void jpki_crl_policy_default(jpki_crl_policy *p);
const char *jpki_rule_label(jpki_rule r);	/* "(e) crl-number" */

/* Fills v with rule and "rule <label>: <fmt…>" (truncated to fit). The one way a verdict is
 * written, here and in callers that refuse on their own (the overlay's writer rule). Clears
 * OpenSSL's error queue. Always returns -1. A NULL v is ignored. */
int jpki_verdict_refuse(jpki_verdict *v, jpki_rule rule, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Each rule alone. They return 0 when the CRL passes, -1 with v filled when it does not. */
int jpki_check_size(size_t len, const jpki_crl_policy *p, jpki_verdict *v);
int jpki_check_format(const unsigned char *der, size_t len, X509_CRL **out, jpki_verdict *v);
int jpki_check_signature(X509_CRL *crl, const jpki_trust *t, const jpki_ca_key **key, jpki_verdict *v);
int jpki_check_issuer(X509_CRL *crl, const jpki_trust *t, jpki_verdict *v);
int jpki_check_partition(X509_CRL *crl, const char *entry_dn, jpki_crl_kind kind, jpki_verdict *v);
int jpki_check_number(X509_CRL *crl, const jpki_crl_meta *stored, jpki_verdict *v);
/* An INTEGER (a cRLNumber, a serial) in decimal, as the rules name it (OPENSSL_free), or NULL. */
char *jpki_integer_dec(const ASN1_INTEGER *n);
int jpki_check_this_update(X509_CRL *crl, const jpki_crl_meta *stored, time_t now,
	const jpki_crl_policy *p, jpki_verdict *v);
int jpki_check_validity(X509_CRL *crl, time_t now, const jpki_crl_policy *p, jpki_verdict *v);
/* (f) and (g) on times already read: what the two above apply once they have the CRL's. */
int jpki_check_this_update_at(time_t tu, const jpki_crl_meta *stored, time_t now, const jpki_crl_policy *p,
	jpki_verdict *v);
int jpki_check_validity_at(time_t tu, time_t nu, time_t now, const jpki_crl_policy *p, jpki_verdict *v);
int jpki_check_reasons(X509_CRL *crl, jpki_verdict *v);
/* Rule (e), across the CRLs one entry would hold: at most one per CA key, or "the stored
 * CRL" a later one is compared with would be ambiguous. metas: the set the write would leave. */
int jpki_check_one_per_key(const jpki_crl_meta *metas, size_t n, jpki_verdict *v);

/* The entry a CRL is for: the one directoryName in the fullName of its
 * issuingDistributionPoint, read as rule (d) reads it. NULL with err filled when there is no
 * IDP, no fullName, or not exactly one directoryName. Caller frees with X509_NAME_free. */
X509_NAME *jpki_crl_idp_name(X509_CRL *crl, jpki_err *err);

/* All rules in order: (i) (a) (b) (c) (d) (h) (g) (e) (f). stored is the meta of the CRL
 * now in the entry for each CA key (any order; the one with the signer's key is used). On
 * success fills out (caller frees with jpki_crl_meta_clear) and, if crl_out is non-NULL,
 * hands over the parsed CRL. */
int jpki_crl_check(const unsigned char *der, size_t len, const char *entry_dn, jpki_crl_kind kind,
	const jpki_trust *t, const jpki_crl_meta *stored, size_t nstored, time_t now,
	const jpki_crl_policy *p, jpki_crl_meta *out, X509_CRL **crl_out, jpki_verdict *v);

/* Meta of a CRL already stored (it passed the checks when written: the signer is found by
 * its authorityKeyIdentifier, else by signature). -1 when it cannot be read. */
int jpki_crl_meta_from_crl(X509_CRL *crl, const jpki_trust *t, jpki_crl_meta *out);
int jpki_crl_meta_from_der(const unsigned char *der, size_t len, const jpki_trust *t,
	jpki_crl_meta *out);
void jpki_crl_meta_clear(jpki_crl_meta *m);
/* ASN1_TIME to time_t (UTC); -1 on failure. */
int jpki_asn1_time_to_time(const ASN1_TIME *t, time_t *out);

#endif
