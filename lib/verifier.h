/* Who may use the user CRLs and OCSP: registered verifiers — 署名検証者 and 団体署名検証者 —
 * that are active, inside their agreement period and granted the method (CPS 2-6-3, 2-8-3,
 * 4-4-4-3, 4-4-4-5). The one place this rule lives: the overlay (ldap) and the responder
 * (ocsp) both ask jpki_verifier_allows(). */
#ifndef JPKI_VERIFIER_H
#define JPKI_VERIFIER_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "err.h"

struct berval;

typedef enum jpki_method {
	JPKI_METHOD_LDAP = 1 << 0,
	JPKI_METHOD_OCSP = 1 << 1,
} jpki_method;

typedef enum jpki_verifier_status {
	JPKI_VERIFIER_UNKNOWN = 0,
	JPKI_VERIFIER_ACTIVE,
	JPKI_VERIFIER_SUSPENDED,
	JPKI_VERIFIER_TERMINATED,
} jpki_verifier_status;

typedef struct jpki_verifier_state {
	jpki_verifier_status status;
	time_t start;		/* first second of the agreement (inclusive) */
	time_t end;		/* last second of the agreement (inclusive, as X.509 notAfter) */
	bool has_period;	/* both start and end were readable */
	unsigned methods;	/* jpki_method bits */
} jpki_verifier_state;

/* true when allowed; otherwise false with the reason in why ("suspended", "agreement
 * ended 2026-03-31T23:59:59Z", "not allowed the ocsp method"…). */
bool jpki_verifier_allows(const jpki_verifier_state *s, jpki_method m, time_t now, char *why,
	size_t whylen);

/* The state of one registry entry from its values (jpkiVerifierStatus, jpkiAgreementStart,
 * jpkiAgreementEnd, jpkiAllowedMethod); NULL for an absent attribute, methods a
 * NULL-terminated array (as ldap_get_values_len gives) or NULL. s is always set in full and
 * fails closed: an absent or unknown status is JPKI_VERIFIER_UNKNOWN, has_period is true only
 * when start and end are both present and both valid GeneralizedTimes, a method that is
 * neither ldap nor ocsp grants nothing. Returns 0 when every value was there and understood;
 * otherwise -1 with the first problem in err ("jpkiAgreementEnd '20260231000000Z': 2026-02
 * has no day 31") — s is then still the state to decide on. */
int jpki_verifier_state_from_values(jpki_verifier_state *s, const struct berval *status,
	const struct berval *start, const struct berval *end, struct berval *const *methods,
	jpki_err *err);

jpki_verifier_status jpki_verifier_status_parse(const char *text, size_t len);
const char *jpki_verifier_status_name(jpki_verifier_status s);
/* "ldap" / "ocsp" (any case) → bit; 0 otherwise. */
unsigned jpki_method_parse(const char *text, size_t len);
/* LDAP GeneralizedTime as slapd normalises it, "YYYYMMDDHHMMSS[.fff]Z"; fractions dropped.
 * A date the calendar does not have (20260231…, month 13) is refused, not normalised.
 * 0, or -1 with err naming what is wrong. */
int jpki_generalized_time_parse(const char *text, size_t len, time_t *out, jpki_err *err);

#endif
