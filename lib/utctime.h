/* UTC times as the calendar has them: the one check that a date and time exist, the one
 * text form "YYYY-MM-DDTHH:MM:SSZ" used in messages, logs and ledgers, and the HTTP-dates of
 * the responder's headers. */
#ifndef JPKI_UTCTIME_H
#define JPKI_UTCTIME_H
#include <time.h>

#define JPKI_UTC_ISO_LEN 20	/* strlen("YYYY-MM-DDTHH:MM:SSZ") */

/* The time_t of a UTC date and time; -1 (and *out untouched) if the calendar does not have
 * it: month 0 or 13, February 30, February 29 of a common year, hour 24, minute or second 60,
 * a year outside 0000-9999, or a time time_t cannot hold. A leap second :60 is refused here
 * (time_t has none); a caller that takes one passes :59 and adds 1 second. */
int jpki_utc_from_fields(int year, int month, int day, int hour, int min, int sec, time_t *out);

/* "YYYY-MM-DDTHH:MM:SS" at the start of text, digits exactly where shown (no blanks, no
 * signs), and a time the calendar has; what follows is the caller's to check. 0, or -1 with
 * *out untouched. */
int jpki_utc_iso_head(const char *text, time_t *out);

/* t as "YYYY-MM-DDTHH:MM:SSZ". A t outside years 0000-9999 gives "XXXX-XX-XXTXX:XX:XXZ",
 * the same length, so the text is never cut or left unset. */
void jpki_utc_iso(time_t t, char out[JPKI_UTC_ISO_LEN + 1]);

#define JPKI_UTC_DAY_LEN 10	/* strlen("YYYY-MM-DD") */

/* t's UTC date, "YYYY-MM-DD" (the day of an audit file's name); "XXXX-XX-XX" outside years
 * 0000-9999, as jpki_utc_iso. */
void jpki_utc_day(time_t t, char out[JPKI_UTC_DAY_LEN + 1]);

/* HTTP-dates (RFC 9110 5.6.7): the one form the responder writes. */
#define JPKI_HTTP_DATE_LEN 29	/* strlen("Sun, 06 Nov 1994 08:49:37 GMT") */

/* t as an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". A t outside years 0000-9999 gives
 * "Thu, 01 Jan 1970 00:00:00 GMT": a header never carries a text of another shape. */
void jpki_http_date(time_t t, char out[JPKI_HTTP_DATE_LEN + 1]);

#endif
