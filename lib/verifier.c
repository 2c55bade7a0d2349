#include "verifier.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

int jpki_generalized_time_parse(const char *text, size_t len, time_t *out)
{
	struct tm tm = { 0 };
	int v[6], widths[6] = { 4, 2, 2, 2, 2, 2 }, i, j;
	size_t pos = 0;

	for (i = 0; i < 6; i++) {
		v[i] = 0;
		for (j = 0; j < widths[i]; j++, pos++) {
			if (pos >= len || !isdigit((unsigned char)text[pos]))
				return -1;
			v[i] = v[i] * 10 + (text[pos] - '0');
		}
	}
	if (pos < len && (text[pos] == '.' || text[pos] == ','))
		for (pos++; pos < len && isdigit((unsigned char)text[pos]); pos++)
			;
	if (pos + 1 != len || text[pos] != 'Z')
		return -1;
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*out = timegm(&tm);
	return 0;
}

static void say(char *why, size_t len, const char *fmt, const char *arg)
{
	if (why != NULL && len > 0)
		snprintf(why, len, fmt, arg);
}

bool jpki_verifier_allows(const jpki_verifier_state *s, jpki_method m, time_t now, char *why,
	size_t whylen)
{
	char when[32];
	struct tm tm;

	if (s->status != JPKI_VERIFIER_ACTIVE) {
		say(why, whylen, "verifier is %s", jpki_verifier_status_name(s->status));
		return false;
	}
	if (!s->has_period) {
		say(why, whylen, "%s", "verifier has no readable agreement period");
		return false;
	}
	if (now < s->start || now > s->end) {
		gmtime_r(now < s->start ? &s->start : &s->end, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		say(why, whylen, now < s->start ? "agreement starts %s" : "agreement ended %s", when);
		return false;
	}
	if (!(s->methods & (unsigned)m)) {
		say(why, whylen, "verifier is not allowed the %s method", m == JPKI_METHOD_LDAP ? "ldap" : "ocsp");
		return false;
	}
	return true;
}
