#include "utctime.h"

#include <ctype.h>
#include <string.h>

int jpki_utc_from_fields(int year, int month, int day, int hour, int min, int sec, time_t *out)
{
	struct tm want = { 0 }, back;
	time_t t;

	/* Bounds first: the struct tm fields below cannot overflow, and only the length of the
	 * month is left to the round trip. */
	if (year < 0 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31 ||
	    hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59)
		return -1;
	want.tm_year = year - 1900;
	want.tm_mon = month - 1;
	want.tm_mday = day;
	want.tm_hour = hour;
	want.tm_min = min;
	want.tm_sec = sec;
	back = want;
	t = timegm(&back);
	/* timegm makes February 30 March 2 (and -1 of a time_t overflow); reading the result
	 * back shows both. Comparing, not testing for -1, keeps 1969-12-31T23:59:59. */
	if (gmtime_r(&t, &back) == NULL || back.tm_year != want.tm_year ||
	    back.tm_mon != want.tm_mon || back.tm_mday != want.tm_mday ||
	    back.tm_hour != want.tm_hour || back.tm_min != want.tm_min || back.tm_sec != want.tm_sec)
		return -1;
	*out = t;
	return 0;
}

/* The two digits at p. */
static int two(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

int jpki_utc_iso_head(const char *text, time_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	/* Stops at the terminating NUL of a shorter text. */
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)text[i]) : text[i] != shape[i])
			return -1;
	return jpki_utc_from_fields(two(text) * 100 + two(text + 2), two(text + 5), two(text + 8),
		two(text + 11), two(text + 14), two(text + 17), out);
}

/* v as width decimal digits at p. */
static void digits(char *p, int v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void jpki_utc_iso(time_t t, char out[JPKI_UTC_ISO_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		memcpy(out, "XXXX-XX-XXTXX:XX:XXZ", JPKI_UTC_ISO_LEN + 1);
		return;
	}
	/* Not strftime: its %Y has fewer than 4 digits before the year 1000. */
	memcpy(out, "0000-00-00T00:00:00Z", JPKI_UTC_ISO_LEN + 1);
	digits(out, tm.tm_year + 1900, 4);
	digits(out + 5, tm.tm_mon + 1, 2);
	digits(out + 8, tm.tm_mday, 2);
	digits(out + 11, tm.tm_hour, 2);
	digits(out + 14, tm.tm_min, 2);
	digits(out + 17, tm.tm_sec, 2);
}

void jpki_utc_day(time_t t, char out[JPKI_UTC_DAY_LEN + 1])
{
	char iso[JPKI_UTC_ISO_LEN + 1];

	jpki_utc_iso(t, iso);
	memcpy(out, iso, JPKI_UTC_DAY_LEN);
	out[JPKI_UTC_DAY_LEN] = '\0';
}

static const char day_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const long_day_names[7] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
	"Friday", "Saturday" };
static const char month_names[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
	"Oct", "Nov", "Dec" };

void jpki_http_date(time_t t, char out[JPKI_HTTP_DATE_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		memcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", JPKI_HTTP_DATE_LEN + 1);
		return;
	}
	memcpy(out, "Www, 00 Mmm 0000 00:00:00 GMT", JPKI_HTTP_DATE_LEN + 1);
	memcpy(out, day_names[tm.tm_wday % 7], 3);
	digits(out + 5, tm.tm_mday, 2);
	memcpy(out + 8, month_names[tm.tm_mon % 12], 3);
	digits(out + 12, tm.tm_year + 1900, 4);
	digits(out + 17, tm.tm_hour, 2);
	digits(out + 20, tm.tm_min, 2);
	digits(out + 23, tm.tm_sec, 2);
}

/* The n digits at p as a number; -1 unless all n are digits (stops at a NUL). */
static int number(const char *p, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	return v;
}

/* The index of the 3-letter name at p among names, or -1. */
static int name_at(const char *p, const char (*names)[4], int n)
{
	for (int i = 0; i < n; i++)
		if (strncmp(p, names[i], 3) == 0)
			return i;
	return -1;
}

/* "HH:MM:SS" at p. */
static int clock_at(const char *p, int *h, int *m, int *s)
{
	if (p[2] != ':' || p[5] != ':')
		return -1;
	*h = number(p, 2);
	*m = number(p + 3, 2);
	*s = number(p + 6, 2);
	return *h < 0 || *m < 0 || *s < 0 ? -1 : 0;
}

int jpki_http_date_parse(const char *text, time_t now, time_t *out)
{
	size_t len = strlen(text), l = 0;
	int year, month, day, h, m, s, i;
	struct tm tm;
	time_t t;

	for (i = 0; i < 7; i++)
		if (strncmp(text, long_day_names[i], strlen(long_day_names[i])) == 0)
			l = strlen(long_day_names[i]);
	if (len == JPKI_HTTP_DATE_LEN) {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (name_at(text, day_names, 7) < 0 || memcmp(text + 3, ", ", 2) != 0 || text[7] != ' ' ||
		    text[11] != ' ' || text[16] != ' ' || strcmp(text + 25, " GMT") != 0 ||
		    clock_at(text + 17, &h, &m, &s) < 0)
			return -1;
		day = number(text + 5, 2);
		month = name_at(text + 8, month_names, 12) + 1;
		year = number(text + 12, 4);
	} else if (l > 0 && len == l + 24) {
		/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
		text += l;
		if (memcmp(text, ", ", 2) != 0 || text[4] != '-' || text[8] != '-' || text[11] != ' ' ||
		    strcmp(text + 20, " GMT") != 0 || clock_at(text + 12, &h, &m, &s) < 0 ||
		    (year = number(text + 9, 2)) < 0 || gmtime_r(&now, &tm) == NULL)
			return -1;
		day = number(text + 2, 2);
		month = name_at(text + 5, month_names, 12) + 1;
		/* RFC 9110 5.6.7: a year more than 50 years ahead is the last past one of those digits */
		year += tm.tm_year + 1900 - (tm.tm_year + 1900) % 100;
		if (year > tm.tm_year + 1900 + 50)
			year -= 100;
	} else if (len == 24) {
		/* asctime-date: "Sun Nov  6 08:49:37 1994", the day two digits or a blank and one */
		if (name_at(text, day_names, 7) < 0 || text[3] != ' ' || text[7] != ' ' || text[10] != ' ' ||
		    text[19] != ' ' || clock_at(text + 11, &h, &m, &s) < 0)
			return -1;
		month = name_at(text + 4, month_names, 12) + 1;
		day = text[8] == ' ' ? number(text + 9, 1) : number(text + 8, 2);
		year = number(text + 20, 4);
	} else
		return -1;
	/* a field that was no number or name is -1 or 0 here, which the calendar refuses */
	if (jpki_utc_from_fields(year, month, day, h, m, s == 60 ? 59 : s, &t) < 0)
		return -1;
	*out = s == 60 ? t + 1 : t;
	return 0;
}
