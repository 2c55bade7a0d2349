/* The municipality table: one CRL partition (区分CRL) per entry (CPS 4-4-4-4). */
#define _POSIX_C_SOURCE 200809L /* getline, strdup */
#include "municipality.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef JPKI_DATADIR
#error "JPKI_DATADIR must be defined at compile time (see Makefile.am)"
#endif

/* Weights of JIS X 0401's check digit over the five code digits. */
static const int weights[5] = { 6, 5, 4, 3, 2 };

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int check_digit_n(const char *d)
{
	int sum = 0;

	for (int i = 0; i < 5; i++) {
		if (!is_digit(d[i]))
			return -1;
		sum += (d[i] - '0') * weights[i];
	}
	/* "last digit of": remainder 0 gives 11 -> 1, remainder 1 gives 10 -> 0. */
	return (11 - sum % 11) % 10;
}

int jpki_municipality_check_digit(const char *five_digits)
{
	if (five_digits == NULL || strlen(five_digits) != 5)
		return -1;
	return check_digit_n(five_digits);
}

bool jpki_municipality_code_valid(const char *code)
{
	int cd;

	if (code == NULL || strlen(code) != 6 || !is_digit(code[5]))
		return false;
	cd = check_digit_n(code);
	return cd >= 0 && cd == code[5] - '0';
}

/* Names go into LDIF and LDAP as directoryString: refuse anything that is not UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included) or holds control bytes. */
static bool text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		uint32_t cp;
		int more;

		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			more = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			more = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			more = 3;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

const jpki_municipality *jpki_municipalities_find(const jpki_municipalities *m, const char *code)
{
	if (m == NULL || code == NULL)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->items[i].code, code) == 0)
			return &m->items[i];
	return NULL;
}

void jpki_municipalities_free(jpki_municipalities *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].name);
		free(m->items[i].romaji);
	}
	free(m->items);
	m->items = NULL;
	m->n = 0;
}

/* Splits one data line into exactly three non-empty tab-separated fields. */
static int split3(char *line, char *f[3])
{
	char *p = line;

	for (int i = 0; i < 3; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (i < 2) {
			if (p == NULL)
				return -1;
			*p++ = '\0';
		} else if (p != NULL) {
			return -1;
		}
	}
	return (*f[0] && *f[1] && *f[2]) ? 0 : -1;
}

static int parse_line(const char *path, size_t lineno, char *line, jpki_municipalities *t,
		      size_t *cap, jpki_err *err)
{
	char *f[3];
	jpki_municipality *it;
	int cd;

	if (split3(line, f) != 0)
		return jpki_errf(err, "%s:%zu: expected three non-empty tab-separated columns "
				 "(code, name, romanised name) (rule: municipality table format)",
				 path, lineno);
	if (strlen(f[0]) != 6 || strspn(f[0], "0123456789") != 6)
		return jpki_errf(err, "%s:%zu: code \"%.16s\" is not six digits "
				 "(rule: local government code, JIS X 0401)", path, lineno, f[0]);
	cd = check_digit_n(f[0]);
	if (cd != f[0][5] - '0')
		return jpki_errf(err, "%s:%zu: code %s has check digit %c, expected %d "
				 "(rule: JIS X 0401 check digit)", path, lineno, f[0], f[0][5], cd);
	if (jpki_municipalities_find(t, f[0]) != NULL)
		return jpki_errf(err, "%s:%zu: duplicate code %s "
				 "(rule: one CRL partition per municipality, CPS 4-4-4-4)",
				 path, lineno, f[0]);
	if (!text_ok(f[1]) || !text_ok(f[2]))
		return jpki_errf(err, "%s:%zu: code %s: name is not valid UTF-8 text "
				 "(rule: municipality table format)", path, lineno, f[0]);

	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		jpki_municipality *n = realloc(t->items, ncap * sizeof(*n));

		if (n == NULL)
			return jpki_errf(err, "%s:%zu: out of memory", path, lineno);
		t->items = n;
		*cap = ncap;
	}
	it = &t->items[t->n];
	memcpy(it->code, f[0], 7);
	it->name = strdup(f[1]);
	it->romaji = strdup(f[2]);
	if (it->name == NULL || it->romaji == NULL) {
		free(it->name);
		free(it->romaji);
		return jpki_errf(err, "%s:%zu: out of memory", path, lineno);
	}
	t->n++;
	return 0;
}

int jpki_municipalities_load(const char *path, jpki_municipalities *out, jpki_err *err)
{
	jpki_municipalities t = { NULL, 0 };
	size_t cap = 0, lineno = 0, linecap = 0;
	char *line = NULL;
	ssize_t len;
	FILE *fp;
	int rc = 0;

	if (out == NULL || path == NULL)
		return jpki_errf(err, "municipality table: no path or output given");
	out->items = NULL;
	out->n = 0;
	fp = fopen(path, "r");
	if (fp == NULL)
		return jpki_errf(err, "%s: cannot open: %s", path, strerror(errno));

	errno = 0;
	while ((len = getline(&line, &linecap, fp)) >= 0) {
		lineno++;
		if ((size_t)len != strlen(line)) {
			rc = jpki_errf(err, "%s:%zu: NUL byte in line "
				       "(rule: municipality table format)", path, lineno);
			break;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		rc = parse_line(path, lineno, line, &t, &cap, err);
		if (rc != 0)
			break;
	}
	if (rc == 0 && ferror(fp))
		rc = jpki_errf(err, "%s: read error: %s", path, strerror(errno));
	free(line);
	fclose(fp);
	/* An empty table would publish no partitions at all: fail closed. */
	if (rc == 0 && t.n == 0)
		rc = jpki_errf(err, "%s: no municipalities listed "
			       "(rule: one CRL partition per municipality, CPS 4-4-4-4)", path);
	if (rc != 0) {
		jpki_municipalities_free(&t);
		return -1;
	}
	*out = t;
	return 0;
}

const char *jpki_municipalities_default_path(void)
{
	const char *env = getenv("JPKI_MUNICIPALITIES");

	if (env != NULL && *env != '\0')
		return env;
	return JPKI_DATADIR "/municipalities.tsv";
}
