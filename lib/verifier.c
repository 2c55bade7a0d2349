#include "verifier.h"

#include <ctype.h>
#include <lber.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "utctime.h"

static const char *const status_names[] = {
	[JPKI_VERIFIER_UNKNOWN] = "unknown",
	[JPKI_VERIFIER_ACTIVE] = "active",
	[JPKI_VERIFIER_SUSPENDED] = "suspended",
	[JPKI_VERIFIER_TERMINATED] = "terminated",
};

const char *jpki_verifier_status_name(jpki_verifier_status s)
{
	return (s >= JPKI_VERIFIER_UNKNOWN && s <= JPKI_VERIFIER_TERMINATED) ? status_names[s] : "unknown";
}

static bool word_is(const char *text, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(text, word, len) == 0;
}

jpki_verifier_status jpki_verifier_status_parse(const char *text, size_t len)
{
	int s;

	for (s = JPKI_VERIFIER_ACTIVE; s <= JPKI_VERIFIER_TERMINATED; s++)
		if (word_is(text, len, status_names[s]))
			return (jpki_verifier_status)s;
	return JPKI_VERIFIER_UNKNOWN;
}

unsigned jpki_method_parse(const char *text, size_t len)
{
	if (word_is(text, len, "ldap"))
		return JPKI_METHOD_LDAP;
	if (word_is(text, len, "ocsp"))
		return JPKI_METHOD_OCSP;
	return 0;
}

/* A value quoted in an error, as the two arguments of "%.*s": at most 40 bytes of it. */
#define QUOTED(text, len) (int)((len) > 40 ? 40 : (len)), ((len) > 0 ? (text) : "")

int jpki_generalized_time_parse(const char *text, size_t len, time_t *out, jpki_err *err)
{
	int v[6], widths[6] = { 4, 2, 2, 2, 2, 2 }, i, j;
	size_t pos = 0;
	time_t t;

	for (i = 0; i < 6; i++) {
		v[i] = 0;
		for (j = 0; j < widths[i]; j++, pos++) {
			if (pos >= len || !isdigit((unsigned char)text[pos]))
				goto shape;
			v[i] = v[i] * 10 + (text[pos] - '0');
		}
	}
	if (pos < len && (text[pos] == '.' || text[pos] == ','))
		for (pos++; pos < len && isdigit((unsigned char)text[pos]); pos++)
			;
	if (pos + 1 != len || text[pos] != 'Z')
		goto shape;
	if (v[1] < 1 || v[1] > 12)
		return jpki_errf(err, "'%.*s': month %02d does not exist", QUOTED(text, len), v[1]);
	if (v[3] > 23 || v[4] > 59 || v[5] > 60)
		return jpki_errf(err, "'%.*s': %02d:%02d:%02d is not a time of day", QUOTED(text, len),
			v[3], v[4], v[5]);
	/* Month and time of day are in range by now: only the day can be missing. A leap second
	 * :60 counts as the next minute's first. */
	if (jpki_utc_from_fields(v[0], v[1], v[2], v[3], v[4], v[5] == 60 ? 59 : v[5], &t) < 0)
		return jpki_errf(err, "'%.*s': %04d-%02d has no day %02d", QUOTED(text, len), v[0],
			v[1], v[2]);
	*out = v[5] == 60 ? t + 1 : t;
	return 0;
shape:
	return jpki_errf(err, "'%.*s' is not a GeneralizedTime YYYYMMDDHHMMSS[.fff]Z",
		QUOTED(text, len));
}

static int time_value(const char *attr, const struct berval *v, time_t *out, jpki_err *err)
{
	jpki_err why = { "" };

	if (v == NULL)
		return jpki_errf(err, "no %s", attr);
	if (jpki_generalized_time_parse(v->bv_val, v->bv_len, out, &why) < 0)
		return jpki_errf(err, "%s %s", attr, why.text);
	return 0;
}

/* Keeps the first problem found. */
static void note(jpki_err *first, const jpki_err *why)
{
	if (first->text[0] == '\0')
		*first = *why;
}

int jpki_verifier_state_from_values(jpki_verifier_state *s, const struct berval *status,
	const struct berval *start, const struct berval *end, struct berval *const *methods,
	jpki_err *err)
{
	jpki_err first = { "" }, why;
	bool has_start, has_end;
	unsigned m;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (status == NULL) {
		jpki_errf(&why, "no jpkiVerifierStatus");
		note(&first, &why);
	} else if ((s->status = jpki_verifier_status_parse(status->bv_val, status->bv_len)) ==
		   JPKI_VERIFIER_UNKNOWN) {
		jpki_errf(&why, "jpkiVerifierStatus '%.*s' is none of active, suspended, terminated",
			QUOTED(status->bv_val, status->bv_len));
		note(&first, &why);
	}
	/* CPS access rule: the period counts only when both of its ends are readable. */
	if (!(has_start = time_value("jpkiAgreementStart", start, &s->start, &why) == 0))
		note(&first, &why);
	if (!(has_end = time_value("jpkiAgreementEnd", end, &s->end, &why) == 0))
		note(&first, &why);
	s->has_period = has_start && has_end;
	for (i = 0; methods != NULL && methods[i] != NULL; i++) {
		m = jpki_method_parse(methods[i]->bv_val, methods[i]->bv_len);
		if (m == 0) {
			jpki_errf(&why, "jpkiAllowedMethod '%.*s' is neither ldap nor ocsp",
				QUOTED(methods[i]->bv_val, methods[i]->bv_len));
			note(&first, &why);
		}
		s->methods |= m;
	}
	if (first.text[0] == '\0')
		return 0;
	if (err != NULL)
		*err = first;
	return -1;
}

static void say(char *why, size_t len, const char *fmt, const char *arg)
{
	if (why != NULL && len > 0)
		snprintf(why, len, fmt, arg);
}

bool jpki_verifier_allows(const jpki_verifier_state *s, jpki_method m, time_t now, char *why,
	size_t whylen)
{
	char when[JPKI_UTC_ISO_LEN + 1];

	if (s->status != JPKI_VERIFIER_ACTIVE) {
		say(why, whylen, "verifier is %s", jpki_verifier_status_name(s->status));
		return false;
	}
	if (!s->has_period) {
		say(why, whylen, "%s", "verifier has no readable agreement period");
		return false;
	}
	if (now < s->start || now > s->end) {
		jpki_utc_iso(now < s->start ? s->start : s->end, when);
		say(why, whylen, now < s->start ? "agreement starts %s" : "agreement ended %s", when);
		return false;
	}
	if (!(s->methods & (unsigned)m)) {
		say(why, whylen, "verifier is not allowed the %s method", m == JPKI_METHOD_LDAP ? "ldap" : "ocsp");
		return false;
	}
	return true;
}
