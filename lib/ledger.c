#include "ledger.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "utctime.h"

#define MAX_SERIAL_OCTETS 20	/* RFC 5280 4.1.2.2 */

int jpki_parse_utc(const char *text, time_t *out)
{
	if (strlen(text) != JPKI_UTC_ISO_LEN || text[JPKI_UTC_ISO_LEN - 1] != 'Z')
		return -1;
	return jpki_utc_iso_head(text, out);
}

static ASN1_INTEGER *parse_serial(const char *hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;
	size_t i, n = strlen(hex);

	if (n == 0 || n > 2 * MAX_SERIAL_OCTETS)
		return NULL;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)hex[i]))
			return NULL;
	/* At most 159 bits: the DER content (with its sign octet) fits 20 octets. */
	if (!BN_hex2bn(&bn, hex) || BN_is_zero(bn) || BN_num_bits(bn) > 8 * MAX_SERIAL_OCTETS - 1) {
		BN_free(bn);
		return NULL;
	}
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/* Splits a line in place into exactly `want` comma-separated fields. */
static int split(char *line, char **fields, int want)
{
	int n = 0;
	char *p = line;

	for (;;) {
		if (n == want)
			return -1;
		fields[n++] = p;
		p = strchr(p, ',');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n == want ? 0 : -1;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int cmp_serial(const void *a, const void *b)
{
	const jpki_revocation *x = a, *y = b;

	return ASN1_INTEGER_cmp(x->serial, y->serial);
}

static int parse_line(char *line, unsigned lineno, jpki_ledger_kind kind,
	const jpki_municipalities *m, time_t not_after, jpki_revocation *r, jpki_err *err)
{
	char *f[4];

	memset(r, 0, sizeof(*r));
	r->line = lineno;
	if (split(line, f, 4) < 0)
		return jpki_errf(err, "line %u: expected 4 fields (serial,revocation_time,reason,municipality)",
			lineno);
	r->serial = parse_serial(f[0]);
	if (r->serial == NULL)
		return jpki_errf(err, "line %u: serial '%s' is not a positive hex number of at most %d octets",
			lineno, f[0], MAX_SERIAL_OCTETS);
	if (jpki_parse_utc(f[1], &r->revoked_at) < 0)
		return jpki_errf(err, "line %u: revocation_time '%s' is not a date YYYY-MM-DDTHH:MM:SSZ",
			lineno, f[1]);
	if (r->revoked_at > not_after)
		return jpki_errf(err, "line %u: revocation_time %s is after the CRL's thisUpdate", lineno, f[1]);
	r->reason = jpki_reason_parse(f[2]);
	if (r->reason < 0)
		return jpki_errf(err, "line %u: reason '%s' is not allowed; the CPS (4-4-4-2) allows 1-5 "
			"(keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation)",
			lineno, f[2]);
	if (kind == JPKI_LEDGER_CA) {
		if (f[3][0] != '\0')
			return jpki_errf(err, "line %u: a CA ledger (ARL) line has no municipality", lineno);
		return 0;
	}
	if (!jpki_municipality_code_valid(f[3]))
		return jpki_errf(err, "line %u: municipality '%s' is not a 6-digit code with a valid check digit",
			lineno, f[3]);
	if (m != NULL && jpki_municipalities_find(m, f[3]) == NULL)
		return jpki_errf(err, "line %u: municipality %s is not one this CA serves", lineno, f[3]);
	memcpy(r->municipality, f[3], 7);
	return 0;
}

int jpki_ledger_load(const char *path, jpki_ledger_kind kind, const jpki_municipalities *m,
	time_t not_after, jpki_ledger *out, jpki_err *err)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0, i;
	unsigned lineno = 0;
	jpki_revocation r;

	out->items = NULL;
	out->n = 0;
	if (fp == NULL)
		return jpki_errf(err, "%s: cannot open: %m", path);
	while (getline(&line, &cap, fp) >= 0) {
		lineno++;
		chomp(line);
		if (line[0] == '\0' || line[0] == '#' ||
		    (lineno == 1 && strcmp(line, "serial,revocation_time,reason,municipality") == 0))
			continue;
		if (parse_line(line, lineno, kind, m, not_after, &r, err) < 0) {
			ASN1_INTEGER_free(r.serial);
			goto fail;
		}
		if (out->n == alloc) {
			jpki_revocation *grown;

			alloc = alloc ? alloc * 2 : 64;
			grown = realloc(out->items, alloc * sizeof(*grown));
			if (grown == NULL) {
				ASN1_INTEGER_free(r.serial);
				jpki_errf(err, "out of memory");
				goto fail;
			}
			out->items = grown;
		}
		out->items[out->n++] = r;
	}
	if (ferror(fp)) {
		jpki_errf(err, "%s: read error", path);
		goto fail;
	}
	/* Sorted by serial: duplicates become neighbours, and the CRL wants that order anyway. */
	if (out->n > 1)
		qsort(out->items, out->n, sizeof(*out->items), cmp_serial);
	for (i = 1; i < out->n; i++) {
		if (ASN1_INTEGER_cmp(out->items[i - 1].serial, out->items[i].serial) == 0) {
			unsigned a = out->items[i - 1].line, b = out->items[i].line;

			jpki_errf(err, "line %u: duplicate serial (also on line %u)", a > b ? a : b, a > b ? b : a);
			goto fail;
		}
	}
	free(line);
	fclose(fp);
	return 0;
fail:
	if (err != NULL) {
		char why[sizeof(err->text)];

		memcpy(why, err->text, sizeof(why));
		jpki_errf(err, "%s: %.400s", path, why);
	}
	free(line);
	fclose(fp);
	jpki_ledger_free(out);
	return -1;
}

void jpki_ledger_free(jpki_ledger *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		ASN1_INTEGER_free(l->items[i].serial);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
