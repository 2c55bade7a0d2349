/* Unit tests for lib/ledger.c and lib/reason.c: revocation ledgers, strict UTC dates,
 * revocation reasons (CPS 4-4-4-2: 1-5 only). */
#define _POSIX_C_SOURCE 200809L
#include "ledger.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_main.h"
#include "fixture.h"
#include "reason.h"

#ifndef JPKI_TEST_DATADIR
#error "JPKI_TEST_DATADIR must point at the source tree's data/"
#endif

#define SHIPPED JPKI_TEST_DATADIR "/municipalities.tsv"
#define HEADER "serial,revocation_time,reason,municipality\n"
#define T0 "2025-12-01T10:00:00Z"

static jpki_municipalities munis;

static int init_suite(void)
{
	jpki_err err = { "" };

	if (jpki_municipalities_load(SHIPPED, &munis, &err) < 0) {
		fprintf(stderr, "%s\n", err.text);
		return -1;
	}
	return 0;
}

static int clean_suite(void)
{
	jpki_municipalities_free(&munis);
	fx_cleanup();
	return 0;
}

static int load(const char *text, jpki_ledger_kind kind, time_t not_after, jpki_ledger *l,
	jpki_err *err)
{
	char *path = fx_write_temp(text);
	int rc;

	if (path == NULL) {
		strcpy(err->text, "cannot write temp file");
		return -2;
	}
	rc = jpki_ledger_load(path, kind, &munis, not_after, l, err);
	unlink(path);
	free(path);
	return rc;
}

/* Refused, nothing left behind, and the message holds "line N:" and the needle. */
static void refused_at(int srcline, const char *text, jpki_ledger_kind kind, unsigned lineno,
	const char *needle)
{
	jpki_ledger l = { (jpki_revocation *)1, 99 };
	jpki_err err = { "" };
	char where[32];
	int rc = load(text, kind, FX_NOW, &l, &err), ok;

	snprintf(where, sizeof(where), "line %u:", lineno);
	ok = rc == -1 && l.items == NULL && l.n == 0 && strstr(err.text, where) != NULL &&
	     (needle == NULL || strstr(err.text, needle) != NULL);
	if (!ok)
		fprintf(stderr, "\n  line %d: expected refusal at %s %s, got rc %d: %s\n", srcline, where,
			needle ? needle : "", rc, err.text);
	CU_assertImplementation(ok, (unsigned)srcline, "refused at the expected line", __FILE__, "", CU_FALSE);
	if (rc == 0)
		jpki_ledger_free(&l);
}
#define REFUSED(text, kind, lineno, needle) refused_at(__LINE__, text, kind, lineno, needle)

static long serial_of(const jpki_revocation *r)
{
	return ASN1_INTEGER_get(r->serial);
}

/* ---- valid ledgers ---- */

static void test_valid(void)
{
	const char *text =
		HEADER
		"# revocations of December\n"
		"\n"
		"1A2B," T0 ",keyCompromise,121002\n"	/* line 4 */
		"0a,2025-12-02T00:00:00Z,1,122025\n"	/* line 5 */
		"   \n"
		"# another comment\n"
		"FF,2025-12-31T23:59:59Z,cessationOfOperation,121002\r\n"	/* line 8 */
		"3,2026-01-01T00:00:00Z,superseded,124630\n"	/* line 9: exactly not_after */
		"7fffffff,2025-06-01T00:00:00Z,affiliationChanged,122025\n"	/* line 10 */
		"100,2025-06-01T00:00:00Z,cACompromise,122025";	/* line 11, no final newline */
	jpki_ledger l;
	jpki_err err = { "" };

	CU_ASSERT_EQUAL_FATAL(load(text, JPKI_LEDGER_USERS, FX_NOW, &l, &err), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 6);
	/* sorted by serial */
	CU_ASSERT_EQUAL(serial_of(&l.items[0]), 3);
	CU_ASSERT_EQUAL(serial_of(&l.items[1]), 10);
	CU_ASSERT_EQUAL(serial_of(&l.items[2]), 255);
	CU_ASSERT_EQUAL(serial_of(&l.items[3]), 256);
	CU_ASSERT_EQUAL(serial_of(&l.items[4]), 0x1A2B);
	CU_ASSERT_EQUAL(serial_of(&l.items[5]), 0x7fffffffL);
	for (size_t i = 1; i < l.n; i++)
		CU_ASSERT(ASN1_INTEGER_cmp(l.items[i - 1].serial, l.items[i].serial) < 0);
	CU_ASSERT_EQUAL(l.items[0].line, 9);
	CU_ASSERT_EQUAL(l.items[0].reason, 4);
	CU_ASSERT_STRING_EQUAL(l.items[0].municipality, "124630");
	CU_ASSERT_EQUAL(l.items[0].revoked_at, FX_NOW);
	CU_ASSERT_EQUAL(l.items[1].line, 5);
	CU_ASSERT_EQUAL(l.items[1].reason, 1);
	CU_ASSERT_STRING_EQUAL(l.items[1].municipality, "122025");
	CU_ASSERT_EQUAL(l.items[2].line, 8);
	CU_ASSERT_EQUAL(l.items[2].reason, 5);
	CU_ASSERT_EQUAL(l.items[2].revoked_at, FX_NOW - 1);
	CU_ASSERT_EQUAL(l.items[3].reason, 2);
	CU_ASSERT_EQUAL(l.items[3].line, 11);
	CU_ASSERT_EQUAL(l.items[4].line, 4);
	CU_ASSERT_EQUAL(l.items[4].reason, 1);
	CU_ASSERT_EQUAL(l.items[4].revoked_at, (time_t)1764583200);	/* 2025-12-01T10:00:00Z */
	CU_ASSERT_STRING_EQUAL(l.items[4].municipality, "121002");
	CU_ASSERT_EQUAL(l.items[5].reason, 3);
	jpki_ledger_free(&l);
	CU_ASSERT_PTR_NULL(l.items);
	CU_ASSERT_EQUAL(l.n, 0);
	jpki_ledger_free(&l);
}

static void test_valid_empty(void)
{
	jpki_ledger l;
	jpki_err err = { "" };

	CU_ASSERT_EQUAL(load("", JPKI_LEDGER_USERS, FX_NOW, &l, &err), 0);
	CU_ASSERT_EQUAL(l.n, 0);
	jpki_ledger_free(&l);
	CU_ASSERT_EQUAL(load(HEADER "# nothing revoked yet\n", JPKI_LEDGER_USERS, FX_NOW, &l, &err), 0);
	CU_ASSERT_EQUAL(l.n, 0);
	jpki_ledger_free(&l);
}

static void test_missing_file(void)
{
	jpki_ledger l;
	jpki_err err = { "" };

	CU_ASSERT_EQUAL(jpki_ledger_load("/nonexistent/ledger.csv", JPKI_LEDGER_USERS, &munis, FX_NOW, &l,
		&err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "/nonexistent/ledger.csv"));
	CU_ASSERT_PTR_NULL(l.items);
}

/* ---- refusals ---- */

static void test_refused_reason(void)
{
	REFUSED(HEADER "1," T0 ",1,121002\n2," T0 ",0,121002\n", JPKI_LEDGER_USERS, 3, "reason '0'");
	REFUSED(HEADER "2," T0 ",6,121002\n", JPKI_LEDGER_USERS, 2, "reason '6'");
	REFUSED("2," T0 ",7,121002\n", JPKI_LEDGER_USERS, 1, "reason '7'");
	REFUSED("2," T0 ",8,121002\n", JPKI_LEDGER_USERS, 1, "reason '8'");
	REFUSED("# c\n2," T0 ",hold,121002\n", JPKI_LEDGER_USERS, 2, "reason 'hold'");
	REFUSED("2," T0 ",certificateHold,121002\n", JPKI_LEDGER_USERS, 1, "certificateHold");
	REFUSED("2," T0 ",,121002\n", JPKI_LEDGER_USERS, 1, "reason");
}

static void test_refused_municipality(void)
{
	/* Tokyo's Chiyoda-ku: a valid code, but not one of ours */
	CU_ASSERT_TRUE(jpki_municipality_code_valid("131016"));
	REFUSED(HEADER "1," T0 ",1,121002\n2," T0 ",1,131016\n", JPKI_LEDGER_USERS, 3, "131016");
	/* bad check digit */
	REFUSED("1," T0 ",1,121003\n", JPKI_LEDGER_USERS, 1, "check digit");
	REFUSED("1," T0 ",1,12100\n", JPKI_LEDGER_USERS, 1, "check digit");
	/* missing in a user ledger */
	REFUSED("1," T0 ",1,\n", JPKI_LEDGER_USERS, 1, NULL);
}

static void test_refused_dates(void)
{
	REFUSED("1,2026-01-01 00:00:00,1,121002\n", JPKI_LEDGER_USERS, 1, "revocation_time");
	REFUSED("1,2025-12-01T00:00:00,1,121002\n", JPKI_LEDGER_USERS, 1, "revocation_time");
	REFUSED("1,2025-12-01,1,121002\n", JPKI_LEDGER_USERS, 1, "revocation_time");
	REFUSED("1,,1,121002\n", JPKI_LEDGER_USERS, 1, "revocation_time");
	/* later than the CRL's thisUpdate */
	REFUSED("1,2026-01-01T00:00:01Z,1,121002\n", JPKI_LEDGER_USERS, 1, "after");
}

static void test_refused_impossible_date(void)
{
	jpki_ledger l = { NULL, 0 };
	jpki_err err = { "" };
	int rc;

	/* not_after a year on, so that only the date itself can be the reason */
	rc = load("1,2025-12-30T00:00:00Z,1,121002\n2,2026-02-30T00:00:00Z,1,121002\n", JPKI_LEDGER_USERS,
		FX_NOW + 365 * 24 * FX_HOUR, &l, &err);
	if (rc != -1)
		fprintf(stderr, "\n  2026-02-30 accepted as %ld\n", rc == 0 && l.n == 2 ? (long)l.items[1].revoked_at : -1L);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "line 2: revocation_time '2026-02-30T00:00:00Z' is not a date"));
	if (rc == 0)
		jpki_ledger_free(&l);
	REFUSED("1,2025-04-31T00:00:00Z,1,121002\n", JPKI_LEDGER_USERS, 1, "is not a date");
}

static void test_refused_duplicate(void)
{
	jpki_ledger l = { NULL, 0 };
	jpki_err err = { "" };

	REFUSED(HEADER "0A," T0 ",1,121002\nB," T0 ",1,121002\na," T0 ",4,122025\n", JPKI_LEDGER_USERS, 4,
		"also on line 2");
	/* the earlier line is never the one reported */
	CU_ASSERT_EQUAL(load("5," T0 ",1,121002\n5," T0 ",1,121002\n", JPKI_LEDGER_USERS, FX_NOW, &l, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "line 2: duplicate"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "line 1"));
}

static void test_refused_fields(void)
{
	REFUSED("1," T0 ",1\n", JPKI_LEDGER_USERS, 1, "4 fields");
	REFUSED(HEADER "1," T0 ",1,121002,extra\n", JPKI_LEDGER_USERS, 2, "4 fields");
	REFUSED("1;" T0 ";1;121002\n", JPKI_LEDGER_USERS, 1, "4 fields");
	/* the header is a header only on line 1 */
	REFUSED("1," T0 ",1,121002\n" HEADER, JPKI_LEDGER_USERS, 2, "serial");
}

static void test_refused_serial(void)
{
	jpki_ledger l;
	jpki_err err = { "" };

	REFUSED("XYZ," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1, "serial 'XYZ'");
	REFUSED("0x1A," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1, "serial");
	REFUSED("-1A," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1, "serial");
	REFUSED("0," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1, "serial '0'");
	REFUSED("0000," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1, "serial");
	REFUSED("," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1, "serial");
	/* 21 octets */
	REFUSED("1234567890123456789012345678901234567890AB," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1,
		"20 octets");
	REFUSED("123456789012345678901234567890123456789012," T0 ",1,121002\n", JPKI_LEDGER_USERS, 1,
		"serial");
	/* 20 octets is the most */
	CU_ASSERT_EQUAL(load("1234567890123456789012345678901234567890," T0 ",1,121002\n", JPKI_LEDGER_USERS,
		FX_NOW, &l, &err), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	jpki_ledger_free(&l);
}

static void test_ca_ledger(void)
{
	jpki_ledger l;
	jpki_err err = { "" };

	REFUSED(HEADER "1," T0 ",cACompromise,\n2," T0 ",1,121002\n", JPKI_LEDGER_CA, 3, "municipality");
	CU_ASSERT_EQUAL(load(HEADER "1," T0 ",cACompromise,\n2," T0 ",superseded,\n", JPKI_LEDGER_CA,
		FX_NOW, &l, &err), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_EQUAL(l.items[0].reason, 2);
	CU_ASSERT_STRING_EQUAL(l.items[0].municipality, "");
	CU_ASSERT_EQUAL(l.items[1].reason, 4);
	jpki_ledger_free(&l);
	/* the CA ledger still has four fields */
	REFUSED("1," T0 ",cACompromise\n", JPKI_LEDGER_CA, 1, "4 fields");
	REFUSED("1," T0 ",6,\n", JPKI_LEDGER_CA, 1, "reason");
}

/* ---- jpki_parse_utc ---- */

static void test_parse_utc_valid(void)
{
	time_t t = 0;

	CU_ASSERT_EQUAL(jpki_parse_utc("2026-01-01T00:00:00Z", &t), 0);
	CU_ASSERT_EQUAL(t, FX_NOW);
	CU_ASSERT_EQUAL(jpki_parse_utc("1970-01-01T00:00:00Z", &t), 0);
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_EQUAL(jpki_parse_utc("2024-02-29T00:00:00Z", &t), 0);	/* leap year */
	CU_ASSERT_EQUAL(t, (time_t)1709164800);
	CU_ASSERT_EQUAL(jpki_parse_utc("2025-12-31T23:59:59Z", &t), 0);
	CU_ASSERT_EQUAL(t, FX_NOW - 1);
	CU_ASSERT_EQUAL(jpki_parse_utc("2000-02-29T12:00:00Z", &t), 0);
	CU_ASSERT_EQUAL(t, (time_t)951825600);
}

static void test_parse_utc_malformed(void)
{
	static const char *const bad[] = {
		"", "2026-01-01", "2026-01-01 00:00:00", "2026-01-01T00:00:00", "2026-01-01T00:00:00z",
		"2026-01-01t00:00:00Z", "2026-01-01T00:00:00Z ", "2026-01-01T00:00:00+00:00",
		"2026/01/01T00:00:00Z", "26-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
		"2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z",
		"2026-01-01T00:60:00Z", "20260101T000000Z",
	};
	time_t t = 12345;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = jpki_parse_utc(bad[i], &t);

		if (rc != -1)
			fprintf(stderr, "\n  accepted '%s'\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -1);
	}
	CU_ASSERT_EQUAL(t, 12345);
}

static void test_parse_utc_impossible(void)
{
	static const char *const bad[] = {
		"2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "1900-02-29T00:00:00Z",
		"2026-01-01T23:59:60Z",
	};
	time_t t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = jpki_parse_utc(bad[i], &t);

		if (rc != -1)
			fprintf(stderr, "\n  accepted '%s'\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -1);
	}
}

static void test_parse_utc_padding(void)
{
	static const char *const bad[] = {
		"2026-01-01T 1:00:00Z", "2026- 1-01T00:00:00Z", "2026-01- 1T00:00:00Z", "2026-01-01T00: 0:00Z",
	};
	time_t t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = jpki_parse_utc(bad[i], &t);

		if (rc != -1)
			fprintf(stderr, "\n  accepted '%s'\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -1);
	}
}

/* ---- reasons ---- */

static void test_reason_names(void)
{
	static const char *const names[] = { NULL, "keyCompromise", "cACompromise", "affiliationChanged",
		"superseded", "cessationOfOperation" };

	for (int i = 1; i <= 5; i++) {
		char num[4];

		CU_ASSERT_TRUE(jpki_reason_allowed(i));
		CU_ASSERT_STRING_EQUAL(jpki_reason_name(i), names[i]);
		CU_ASSERT_EQUAL(jpki_reason_parse(names[i]), i);
		snprintf(num, sizeof(num), "%d", i);
		CU_ASSERT_EQUAL(jpki_reason_parse(num), i);
	}
	for (int i = -1; i <= 11; i++)
		if (i < 1 || i > 5) {
			CU_ASSERT_FALSE(jpki_reason_allowed(i));
			CU_ASSERT_PTR_NULL(jpki_reason_name(i));
		}
}

static void test_reason_refused(void)
{
	static const char *const bad[] = {
		"0", "6", "7", "8", "9", "10", "-1", "", "hold", "certificateHold", "removeFromCRL",
		"unspecified", "privilegeWithdrawn", "aACompromise", "KeyCompromise", "keycompromise",
		"keyCompromise ", "1x", "1.0",
	};

	CU_ASSERT_EQUAL(jpki_reason_parse(NULL), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = jpki_reason_parse(bad[i]);

		if (rc != -1)
			fprintf(stderr, "\n  accepted '%s' as %d\n", bad[i], rc);
		CU_ASSERT_EQUAL(rc, -1);
	}
}

static void test_reason_out_of_range(void)
{
	/* 2^32 + 1 and 2^32 + 4 must not wrap round to 1 and 4 */
	CU_ASSERT_EQUAL(jpki_reason_parse("4294967297"), -1);
	CU_ASSERT_EQUAL(jpki_reason_parse("4294967300"), -1);
	CU_ASSERT_EQUAL(jpki_reason_parse("99999999999999999999"), -1);
}

static void test_reason_whitespace(void)
{
	CU_ASSERT_EQUAL(jpki_reason_parse(" 1"), -1);
	CU_ASSERT_EQUAL(jpki_reason_parse("\t4"), -1);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("ledger", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "valid ledger, sorted", test_valid) ||
	    !CU_add_test(s, "empty ledger", test_valid_empty) ||
	    !CU_add_test(s, "missing file", test_missing_file) ||
	    !CU_add_test(s, "refused: reason", test_refused_reason) ||
	    !CU_add_test(s, "refused: municipality", test_refused_municipality) ||
	    !CU_add_test(s, "refused: date format, after not_after", test_refused_dates) ||
	    !CU_add_test(s, "refused: 2026-02-30, 2025-04-31", test_refused_impossible_date) ||
	    !CU_add_test(s, "refused: duplicate serial", test_refused_duplicate) ||
	    !CU_add_test(s, "refused: 3 or 5 fields", test_refused_fields) ||
	    !CU_add_test(s, "refused: serial", test_refused_serial) ||
	    !CU_add_test(s, "CA ledger", test_ca_ledger) ||
	    !CU_add_test(s, "parse_utc valid", test_parse_utc_valid) ||
	    !CU_add_test(s, "parse_utc malformed", test_parse_utc_malformed) ||
	    !CU_add_test(s, "parse_utc impossible dates", test_parse_utc_impossible) ||
	    !CU_add_test(s, "parse_utc blank-padded fields", test_parse_utc_padding) ||
	    !CU_add_test(s, "reason names and numbers", test_reason_names) ||
	    !CU_add_test(s, "reason refused", test_reason_refused) ||
	    !CU_add_test(s, "reason number beyond int", test_reason_out_of_range) ||
	    !CU_add_test(s, "reason with leading blanks", test_reason_whitespace)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
