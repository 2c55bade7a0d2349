/* The rules a verifier registry entry (objectClass jpkiVerifier) must pass before the
 * repository stores it. Who may read user CRLs and ask OCSP is decided from these entries
 * (CPS 2-6-3, 4-4-4-3), so the overlay refuses, whoever writes, an entry the decision could
 * not be read from, one that reopens an ended agreement, and one whose certificate
 * attributes do not describe its certificates. That no certificate or subject belongs to two
 * verifiers needs the rest of the registry: the overlay searches it and refuses with
 * JPKI_RULE_REGISTRY_UNIQUE. */
#ifndef JPKI_REGISTRY_CHECK_H
#define JPKI_REGISTRY_CHECK_H
#include <stddef.h>

#include "crl_check.h"
#include "verifier.h"

struct berval;

/* The values of one attribute: n of them at v (slapd's a_vals and a_numvals). */
typedef struct jpki_values {
	const struct berval *v;
	size_t n;
} jpki_values;

typedef struct jpki_registry_entry {
	jpki_values status;	/* jpkiVerifierStatus */
	jpki_values start;	/* jpkiAgreementStart */
	jpki_values end;	/* jpkiAgreementEnd */
	jpki_values methods;	/* jpkiAllowedMethod */
	jpki_values certs;	/* userCertificate, DER */
	jpki_values sha256;	/* jpkiCertificateSHA256, hex */
	jpki_values subjects;	/* jpkiCertificateSubject, RFC 4514 */
} jpki_registry_entry;

/* after: the entry as the write would leave it; before: as stored, NULL for a new one.
 * 0 when it may be stored; otherwise -1 with v naming the rule and the value:
 *   registry-values       status, agreement start and end readable, the end after the start,
 *                         at least one method and each ldap or ocsp;
 *   registry-terminated   a terminated agreement is not made active or suspended again;
 *   registry-certificate  each userCertificate is one DER certificate, and
 *                         jpkiCertificateSHA256 and jpkiCertificateSubject hold exactly the
 *                         SHA-256 (hex, any case) and the subjects of those certificates —
 *                         the responder and the TLS mapping find a verifier by them. */
int jpki_registry_check(const jpki_registry_entry *before, const jpki_registry_entry *after,
	jpki_verdict *v);

/* The two rules jpki verifier also applies before it writes, each alone (the overlay's
 * jpki_registry_check applies them with the others):
 * registry-values, the agreement period: end after start (the texts name them); */
int jpki_registry_check_period(time_t start, time_t end, const char *start_text,
	const char *end_text, jpki_verdict *v);
/* registry-terminated: a terminated agreement does not become active or suspended again. */
int jpki_registry_check_status(jpki_verifier_status was, jpki_verifier_status now, jpki_verdict *v);

#endif
