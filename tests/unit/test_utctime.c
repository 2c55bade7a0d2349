/* Unit tests for lib/utctime.c: which dates and times the calendar has (leap years, month
 * lengths, field bounds, the leap second), the "YYYY-MM-DDTHH:MM:SS" reader, and the
 * "YYYY-MM-DDTHH:MM:SSZ" text read back to the same second; the HTTP-date writer and reader
 * (RFC 9110 5.6.7: IMF-fixdate, rfc850-date, asctime-date), the same way. */
#include "utctime.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"

/* Refused, and *out untouched. */
static void no_such(int y, int mo, int d, int h, int mi, int s)
{
	time_t t = 42;
	int rc = jpki_utc_from_fields(y, mo, d, h, mi, s, &t);

	if (rc != -1)
		fprintf(stderr, "\n  accepted %04d-%02d-%02dT%02d:%02d:%02d\n", y, mo, d, h, mi, s);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(t, 42);
}

static void exists(int y, int mo, int d, int h, int mi, int s, time_t want)
{
	time_t t = 42;

	CU_ASSERT_EQUAL(jpki_utc_from_fields(y, mo, d, h, mi, s, &t), 0);
	CU_ASSERT_EQUAL(t, want);
}

static void test_leap_years(void)
{
	exists(2024, 2, 29, 0, 0, 0, 1709164800);	/* divisible by 4 */
	exists(2000, 2, 29, 12, 0, 0, 951825600);	/* by 400 */
	no_such(2026, 2, 29, 0, 0, 0);
	no_such(1900, 2, 29, 0, 0, 0);			/* by 100, not 400 */
	no_such(2100, 2, 29, 0, 0, 0);
	no_such(2024, 2, 30, 0, 0, 0);			/* not even in a leap year */
	no_such(2026, 2, 30, 0, 0, 0);
	exists(2026, 2, 28, 23, 59, 59, 1772323199);
	exists(2026, 3, 1, 0, 0, 0, 1772323200);	/* the next second */
}

static void test_month_lengths(void)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	time_t t;
	int m;

	for (m = 1; m <= 12; m++) {
		CU_ASSERT_EQUAL(jpki_utc_from_fields(2026, m, days[m - 1], 0, 0, 0, &t), 0);
		no_such(2026, m, days[m - 1] + 1, 0, 0, 0);
		no_such(2026, m, 0, 0, 0, 0);
	}
	no_such(2026, 0, 1, 0, 0, 0);
	no_such(2026, 13, 1, 0, 0, 0);
	no_such(2026, -1, 1, 0, 0, 0);
	no_such(2026, 1, 32, 0, 0, 0);
}

static void test_time_of_day(void)
{
	exists(1970, 1, 1, 0, 0, 0, 0);
	exists(1969, 12, 31, 23, 59, 59, -1);	/* timegm's -1 is a real second here */
	exists(2026, 4, 1, 23, 59, 59, 1775087999);
	no_such(2026, 4, 1, 24, 0, 0);
	no_such(2026, 4, 1, 0, 60, 0);
	no_such(2026, 4, 1, 23, 59, 60);		/* a leap second is the caller's to map */
	no_such(2026, 4, 1, -1, 0, 0);
	no_such(2026, 4, 1, 0, -1, 0);
	no_such(2026, 4, 1, 0, 0, -1);
	no_such(-1, 1, 1, 0, 0, 0);
	no_such(10000, 1, 1, 0, 0, 0);
}

static void head(const char *text, int want_rc, time_t want)
{
	time_t t = 42;
	int rc = jpki_utc_iso_head(text, &t);

	if (rc != want_rc)
		fprintf(stderr, "\n  '%s': %d\n", text, rc);
	CU_ASSERT_EQUAL(rc, want_rc);
	CU_ASSERT_EQUAL(t, want_rc == 0 ? want : 42);
}

static void test_iso_head(void)
{
	head("2026-04-01T00:00:00", 0, 1775001600);
	head("2026-04-01T00:00:00Z", 0, 1775001600);	/* what follows is not looked at */
	head("2026-04-01T00:00:00.123456Z", 0, 1775001600);
	head("2024-02-29T00:00:00Z", 0, 1709164800);
	head("2026-02-29T00:00:00Z", -1, 0);
	head("2026-02-30T00:00:00Z", -1, 0);
	head("2026-13-01T00:00:00Z", -1, 0);
	head("2026-00-01T00:00:00Z", -1, 0);
	head("2026-04-01T24:00:00Z", -1, 0);
	head("2026-04-01T00:60:00Z", -1, 0);
	head("2026-04-01T23:59:60Z", -1, 0);
	head("2026-04-01T00:00:0", -1, 0);		/* short: stops at the NUL */
	head("", -1, 0);
	head("2026-04-01 00:00:00", -1, 0);
	head("2026-04- 1T00:00:00", -1, 0);
	head("+026-04-01T00:00:00", -1, 0);
	head("20260401T000000Z", -1, 0);
}

static void iso_is(time_t t, const char *want)
{
	char buf[JPKI_UTC_ISO_LEN + 1];

	memset(buf, '#', sizeof(buf));
	jpki_utc_iso(t, buf);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_iso_format(void)
{
	iso_is(0, "1970-01-01T00:00:00Z");
	iso_is(1709164800, "2024-02-29T00:00:00Z");
	iso_is(1806537599, "2027-03-31T23:59:59Z");
	iso_is(-1, "1969-12-31T23:59:59Z");
	iso_is(-62135596800, "0001-01-01T00:00:00Z");	/* four digits before the year 1000 */
	iso_is(253402300799, "9999-12-31T23:59:59Z");
	iso_is(253402300800, "XXXX-XX-XXTXX:XX:XXZ");	/* 10000: the same length, never cut */
}

static void day_is(time_t t, const char *want)
{
	char buf[JPKI_UTC_DAY_LEN + 1];

	memset(buf, '#', sizeof(buf));
	jpki_utc_day(t, buf);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

/* The day of an audit file's name: the date part of the same text. */
static void test_day_format(void)
{
	day_is(0, "1970-01-01");
	day_is(1806537599, "2027-03-31");
	day_is(1806537600, "2027-04-01");
	day_is(-1, "1969-12-31");
	day_is(-62135596800, "0001-01-01");
	day_is(253402300800, "XXXX-XX-XX");
}

/* t formatted and read back: the same second, in a text of the full length. */
static int round_trips(time_t t)
{
	char buf[JPKI_UTC_ISO_LEN + 1];
	time_t back = 42;

	jpki_utc_iso(t, buf);
	if (strlen(buf) == JPKI_UTC_ISO_LEN && buf[JPKI_UTC_ISO_LEN - 1] == 'Z' &&
	    jpki_utc_iso_head(buf, &back) == 0 && back == t)
		return 1;
	fprintf(stderr, "\n  %lld -> %s -> %lld\n", (long long)t, buf, (long long)back);
	return 0;
}

static void test_round_trip(void)
{
	static const time_t at[] = {
		0, -1, 951782400, 951868799, 1709164800, 1709251199, 1772323199, 1772323200,
		1798761599, 1798761600, 4107542400, -62135596800, 253402300799,
	};
	size_t i;
	long k;

	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		CU_ASSERT_TRUE(round_trips(at[i]));
	/* the last second of every hour of 2024 (a leap year), the first of each in early 2100
	 * (not one); stops at the first failure */
	for (k = 0; k < 366 * 24; k++)
		if (!round_trips(1704067200 + k * 3600 + 3599)) {
			CU_FAIL("2024 round trip");
			break;
		}
	for (k = 0; k < 90 * 24; k++)
		if (!round_trips(4102444800 + k * 3600)) {
			CU_FAIL("2100 round trip");
			break;
		}
}

static void http_is(time_t t, const char *want)
{
	char buf[JPKI_HTTP_DATE_LEN + 1];

	memset(buf, '#', sizeof(buf));
	jpki_http_date(t, buf);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_http_format(void)
{
	http_is(0, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_is(784111777, "Sun, 06 Nov 1994 08:49:37 GMT");	/* RFC 9110's example */
	http_is(1709164800, "Thu, 29 Feb 2024 00:00:00 GMT");
	http_is(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
	http_is(-62135596800, "Mon, 01 Jan 0001 00:00:00 GMT");
	http_is(253402300799, "Fri, 31 Dec 9999 23:59:59 GMT");
	http_is(253402300800, "Thu, 01 Jan 1970 00:00:00 GMT");	/* 10000: never another shape */
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("utctime", NULL, NULL);
	if (s == NULL ||
	    !CU_add_test(s, "fields: February 29 and 30", test_leap_years) ||
	    !CU_add_test(s, "fields: month lengths, month 0 and 13", test_month_lengths) ||
	    !CU_add_test(s, "fields: time of day, year range", test_time_of_day) ||
	    !CU_add_test(s, "iso head: shape and calendar", test_iso_head) ||
	    !CU_add_test(s, "iso: format", test_iso_format) ||
	    !CU_add_test(s, "the day of a time", test_day_format) ||
	    !CU_add_test(s, "iso: round trip", test_round_trip) ||
	    !CU_add_test(s, "http: IMF-fixdate written", test_http_format)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
