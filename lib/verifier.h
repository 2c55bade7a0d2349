/* Who may use the user CRLs and OCSP: registered verifiers — 署名検証者 and 団体署名検証者 —
 * that are active, inside their agreement period and granted the method (CPS 2-6-3, 2-8-3,
 * 4-4-4-3, 4-4-4-5). The one place this rule lives: the overlay (ldap) and the responder
 * (ocsp) both ask jpki_verifier_allows(). */
#ifndef JPKI_VERIFIER_H
#define JPKI_VERIFIER_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

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

jpki_verifier_status jpki_verifier_status_parse(const char *text, size_t len);
const char *jpki_verifier_status_name(jpki_verifier_status s);
/* "ldap" / "ocsp" (any case) → bit; 0 otherwise. */
unsigned jpki_method_parse(const char *text, size_t len);
/* LDAP GeneralizedTime as slapd normalises it, "YYYYMMDDHHMMSS[.fff]Z"; fractions dropped. */
int jpki_generalized_time_parse(const char *text, size_t len, time_t *out);

#endif
