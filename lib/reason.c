#include "reason.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
	[1] = "keyCompromise",
	[2] = "cACompromise",
	[3] = "affiliationChanged",
	[4] = "superseded",
	[5] = "cessationOfOperation",
};

bool jpki_reason_allowed(int code)
{
	return code >= 1 && code <= 5;
}

const char *jpki_reason_name(int code)
{
	return jpki_reason_allowed(code) ? names[code] : NULL;
}

int jpki_reason_parse(const char *text)
{
	char *end;
	long n;
	int i;

	if (text == NULL || *text == '\0')
		return -1;
	if (isdigit((unsigned char)text[0])) {
		n = strtol(text, &end, 10);
		return (*end == '\0' && n >= 1 && n <= 5) ? (int)n : -1;
	}
	for (i = 1; i <= 5; i++)
		if (strcmp(text, names[i]) == 0)
			return i;
	return -1;
}
