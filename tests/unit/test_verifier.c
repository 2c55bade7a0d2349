/* Unit tests for lib/verifier.c: a verifier's state from its registry values (status,
 * agreement period, methods), the access rule on it, and the strict GeneralizedTime parser. */
#define _POSIX_C_SOURCE 200809L
#include "verifier.h"

#include <CUnit/CUnit.h>
#include <lber.h>
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"

#define START "20260401000000Z"
#define START_T ((time_t)1775001600)	/* 2026-04-01T00:00:00Z */
#define END "20270331235959Z"
#define END_T ((time_t)1806537599)	/* 2027-03-31T23:59:59Z */
#define INSIDE (START_T + 86400)

static struct berval bv(const char *s)
{
	struct berval v = { strlen(s), (char *)s };

	return v;
}

/* Builds the state from text values; NULL for an absent attribute, methods NULL-terminated. */
static int build(jpki_verifier_state *s, const char *status, const char *start, const char *end,
	const char *const *methods, jpki_err *err)
{
	struct berval st = { 0 }, a = { 0 }, b = { 0 }, mv[8], *mp[9];
	size_t i;

	if (status != NULL)
		st = bv(status);
	if (start != NULL)
		a = bv(start);
	if (end != NULL)
		b = bv(end);
	for (i = 0; methods != NULL && methods[i] != NULL && i < 8; i++) {
		mv[i] = bv(methods[i]);
		mp[i] = &mv[i];
	}
	mp[i] = NULL;
	strcpy(err->text, "");
	return jpki_verifier_state_from_values(s, status ? &st : NULL, start ? &a : NULL,
		end ? &b : NULL, methods ? mp : NULL, err);
}

static const char *const both[] = { "ldap", "ocsp", NULL };

static void test_state_active(void)
{
	jpki_verifier_state s;
	jpki_err err;
	char why[160];

	memset(&s, 0xa5, sizeof(s));	/* everything must be set, not left over */
	CU_ASSERT_EQUAL(build(&s, "active", START, END, both, &err), 0);
	CU_ASSERT_STRING_EQUAL(err.text, "");
	CU_ASSERT_EQUAL(s.status, JPKI_VERIFIER_ACTIVE);
	CU_ASSERT_TRUE(s.has_period);
	CU_ASSERT_EQUAL(s.start, START_T);
	CU_ASSERT_EQUAL(s.end, END_T);
	CU_ASSERT_EQUAL(s.methods, (unsigned)(JPKI_METHOD_LDAP | JPKI_METHOD_OCSP));
	CU_ASSERT_TRUE(jpki_verifier_allows(&s, JPKI_METHOD_LDAP, INSIDE, why, sizeof(why)));
	CU_ASSERT_TRUE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, INSIDE, why, sizeof(why)));
	/* the period's last second is inside, the next one is not */
	CU_ASSERT_TRUE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, END_T, why, sizeof(why)));
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, END_T + 1, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "agreement ended 2027-03-31T23:59:59Z");
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, START_T - 1, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "agreement starts 2026-04-01T00:00:00Z");

	/* status and methods in any case, a fraction of a second dropped */
	CU_ASSERT_EQUAL(build(&s, "Active", "20260401000000.5Z", END, (const char *const[]){ "OCSP", NULL },
		&err), 0);
	CU_ASSERT_EQUAL(s.status, JPKI_VERIFIER_ACTIVE);
	CU_ASSERT_EQUAL(s.start, START_T);
	CU_ASSERT_EQUAL(s.methods, (unsigned)JPKI_METHOD_OCSP);
}

static void test_state_suspended_terminated(void)
{
	jpki_verifier_state s;
	jpki_err err;
	char why[160];

	CU_ASSERT_EQUAL(build(&s, "suspended", START, END, both, &err), 0);
	CU_ASSERT_EQUAL(s.status, JPKI_VERIFIER_SUSPENDED);
	CU_ASSERT_TRUE(s.has_period);
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_LDAP, INSIDE, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "verifier is suspended");

	CU_ASSERT_EQUAL(build(&s, "terminated", START, END, both, &err), 0);
	CU_ASSERT_EQUAL(s.status, JPKI_VERIFIER_TERMINATED);
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, INSIDE, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "verifier is terminated");

	/* unknown or absent status: refused, and said why */
	CU_ASSERT_EQUAL(build(&s, "paused", START, END, both, &err), -1);
	CU_ASSERT_EQUAL(s.status, JPKI_VERIFIER_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(err.text,
		"jpkiVerifierStatus 'paused' is none of active, suspended, terminated");
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, INSIDE, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "verifier is unknown");
	CU_ASSERT_EQUAL(build(&s, NULL, START, END, both, &err), -1);
	CU_ASSERT_EQUAL(s.status, JPKI_VERIFIER_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(err.text, "no jpkiVerifierStatus");
}

static void test_state_no_period(void)
{
	jpki_verifier_state s;
	jpki_err err;
	char why[160];

	CU_ASSERT_EQUAL(build(&s, "active", NULL, END, both, &err), -1);
	CU_ASSERT_FALSE(s.has_period);
	CU_ASSERT_STRING_EQUAL(err.text, "no jpkiAgreementStart");
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_LDAP, INSIDE, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "verifier has no readable agreement period");

	CU_ASSERT_EQUAL(build(&s, "active", START, NULL, both, &err), -1);
	CU_ASSERT_FALSE(s.has_period);
	CU_ASSERT_STRING_EQUAL(err.text, "no jpkiAgreementEnd");

	/* an end the calendar does not have is no end: not March 3 */
	CU_ASSERT_EQUAL(build(&s, "active", START, "20270231235959Z", both, &err), -1);
	CU_ASSERT_FALSE(s.has_period);
	CU_ASSERT_STRING_EQUAL(err.text, "jpkiAgreementEnd '20270231235959Z': 2027-02 has no day 31");
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, INSIDE, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "verifier has no readable agreement period");

	CU_ASSERT_EQUAL(build(&s, "active", "2026-04-01", END, both, &err), -1);
	CU_ASSERT_FALSE(s.has_period);
	CU_ASSERT_STRING_EQUAL(err.text,
		"jpkiAgreementStart '2026-04-01' is not a GeneralizedTime YYYYMMDDHHMMSS[.fff]Z");

	/* the first problem is the one reported */
	CU_ASSERT_EQUAL(build(&s, "paused", "x", NULL, both, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.text,
		"jpkiVerifierStatus 'paused' is none of active, suspended, terminated");
}

static void test_state_methods(void)
{
	jpki_verifier_state s;
	jpki_err err;
	char why[160];

	CU_ASSERT_EQUAL(build(&s, "active", START, END, (const char *const[]){ "ldap", NULL }, &err), 0);
	CU_ASSERT_EQUAL(s.methods, (unsigned)JPKI_METHOD_LDAP);
	CU_ASSERT_TRUE(jpki_verifier_allows(&s, JPKI_METHOD_LDAP, INSIDE, why, sizeof(why)));
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, INSIDE, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "verifier is not allowed the ocsp method");

	/* no methods: nothing granted, the rest still read */
	CU_ASSERT_EQUAL(build(&s, "active", START, END, NULL, &err), 0);
	CU_ASSERT_EQUAL(s.methods, 0u);
	CU_ASSERT_TRUE(s.has_period);
	CU_ASSERT_FALSE(jpki_verifier_allows(&s, JPKI_METHOD_LDAP, INSIDE, why, sizeof(why)));

	/* an unknown method grants nothing and is reported; the known one still counts */
	CU_ASSERT_EQUAL(build(&s, "active", START, END, (const char *const[]){ "http", "ocsp", NULL },
		&err), -1);
	CU_ASSERT_EQUAL(s.methods, (unsigned)JPKI_METHOD_OCSP);
	CU_ASSERT_STRING_EQUAL(err.text, "jpkiAllowedMethod 'http' is neither ldap nor ocsp");
	CU_ASSERT_TRUE(jpki_verifier_allows(&s, JPKI_METHOD_OCSP, INSIDE, why, sizeof(why)));

	/* a NULL err is allowed */
	CU_ASSERT_EQUAL(jpki_verifier_state_from_values(&s, NULL, NULL, NULL, NULL, NULL), -1);
	CU_ASSERT_EQUAL(s.status, JPKI_VERIFIER_UNKNOWN);
	CU_ASSERT_FALSE(s.has_period);
}

/* Refused, *out untouched, and the message is exactly want. */
static void refused(const char *text, const char *want)
{
	jpki_err err = { "" };
	time_t t = 42;

	CU_ASSERT_EQUAL(jpki_generalized_time_parse(text, strlen(text), &t, &err), -1);
	CU_ASSERT_EQUAL(t, 42);
	CU_ASSERT_STRING_EQUAL(err.text, want);
}

static void accepted(const char *text, time_t want)
{
	jpki_err err = { "" };
	time_t t = 42;

	CU_ASSERT_EQUAL(jpki_generalized_time_parse(text, strlen(text), &t, &err), 0);
	CU_ASSERT_EQUAL(t, want);
	CU_ASSERT_STRING_EQUAL(err.text, "");
}

static void test_time_impossible(void)
{
	refused("20260231000000Z", "'20260231000000Z': 2026-02 has no day 31");
	refused("20261301000000Z", "'20261301000000Z': month 13 does not exist");
	refused("20260229000000Z", "'20260229000000Z': 2026-02 has no day 29");
	refused("20260431000000Z", "'20260431000000Z': 2026-04 has no day 31");
	refused("20260400000000Z", "'20260400000000Z': 2026-04 has no day 00");
	refused("20260001000000Z", "'20260001000000Z': month 00 does not exist");
	refused("20260401240000Z", "'20260401240000Z': 24:00:00 is not a time of day");
	refused("20260401006000Z", "'20260401006000Z': 00:60:00 is not a time of day");
}

static void test_time_valid(void)
{
	accepted("20260228235959Z", 1772323199);
	accepted("20240229000000Z", 1709164800);	/* leap year */
	accepted("20260228235959.999Z", 1772323199);
	accepted(START, START_T);
	accepted(END, END_T);
	/* a leap second counts as the next minute's first, across a year's end too */
	accepted("20260401000060Z", START_T + 60);
	accepted("20261231235960Z", 1798761600);	/* 2027-01-01T00:00:00Z */
}

static void test_time_malformed(void)
{
	refused("2026022823595Z", "'2026022823595Z' is not a GeneralizedTime YYYYMMDDHHMMSS[.fff]Z");
	refused("20260228235959", "'20260228235959' is not a GeneralizedTime YYYYMMDDHHMMSS[.fff]Z");
	refused("20260228235959+0900",
		"'20260228235959+0900' is not a GeneralizedTime YYYYMMDDHHMMSS[.fff]Z");
	refused("2026 228235959Z", "'2026 228235959Z' is not a GeneralizedTime YYYYMMDDHHMMSS[.fff]Z");
	refused("", "'' is not a GeneralizedTime YYYYMMDDHHMMSS[.fff]Z");
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("verifier", NULL, NULL);
	if (s == NULL ||
	    !CU_add_test(s, "state: active with period, both methods", test_state_active) ||
	    !CU_add_test(s, "state: suspended, terminated, unknown", test_state_suspended_terminated) ||
	    !CU_add_test(s, "state: no readable period", test_state_no_period) ||
	    !CU_add_test(s, "state: methods", test_state_methods) ||
	    !CU_add_test(s, "time: impossible dates refused", test_time_impossible) ||
	    !CU_add_test(s, "time: valid dates", test_time_valid) ||
	    !CU_add_test(s, "time: malformed", test_time_malformed)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
