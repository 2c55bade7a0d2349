/* The municipalities whose CRL partitions (区分CRL) the CA publishes (CPS 4-4-4-4). */
#ifndef JPKI_MUNICIPALITY_H
#define JPKI_MUNICIPALITY_H
#include <stdbool.h>
#include <stddef.h>
#include "err.h"

typedef struct jpki_municipality {
	char code[7];	/* 5 digits + check digit, NUL-terminated */
	char *name;	/* kanji, UTF-8 */
	char *romaji;	/* romanised */
} jpki_municipality;

typedef struct jpki_municipalities {
	jpki_municipality *items;
	size_t n;
} jpki_municipalities;

/* Check digit of a 5-digit local government code: the last digit of
 * 11 - (d1*6 + d2*5 + d3*4 + d4*3 + d5*2) mod 11. Returns 0..9, or -1 if not 5 digits. */
int jpki_municipality_check_digit(const char *five_digits);
/* True for exactly six digits whose last is the check digit of the first five. */
bool jpki_municipality_code_valid(const char *code);
/* Reads the TSV (code, name, romanised name; '#' comments). Refuses bad or duplicate codes,
 * naming the line. */
int jpki_municipalities_load(const char *path, jpki_municipalities *out, jpki_err *err);
const jpki_municipality *jpki_municipalities_find(const jpki_municipalities *m, const char *code);
void jpki_municipalities_free(jpki_municipalities *m);
/* The shipped table: $JPKI_MUNICIPALITIES if set, else JPKI_DATADIR/municipalities.tsv. */
const char *jpki_municipalities_default_path(void);

#endif
