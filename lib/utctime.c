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
