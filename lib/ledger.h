/* Revocation ledgers: what `jpki crl issue` turns into CRLs. One ledger per CA key.
 *
 * Format: UTF-8 text, one revocation a line, fields separated by commas (no quoting:
 * no field can hold a comma). Blank lines and lines starting with '#' are ignored; a first
 * line "serial,revocation_time,reason,municipality" is a header.
 *   serial           certificate serial number in hex (at most 20 octets), e.g. 1A2B3C
 *   revocation_time  UTC, YYYY-MM-DDTHH:MM:SSZ, not after the CRL's thisUpdate
 *   reason           1-5 or its RFC 5280 name (keyCompromise, cACompromise,
 *                    affiliationChanged, superseded, cessationOfOperation); CPS 4-4-4-2
 *   municipality     6-digit code of the user's municipality (user ledger); empty in the
 *                    CA ledger, whose revocations go into the ARL
 * Refused, with the line number, before anything is written: a reason outside 1-5, an
 * unknown municipality, a bad date, a duplicate serial, a malformed line. */
#ifndef JPKI_LEDGER_H
#define JPKI_LEDGER_H
#include <openssl/asn1.h>
#include <stddef.h>
#include <time.h>
#include "err.h"
#include "municipality.h"

typedef enum jpki_ledger_kind {
	JPKI_LEDGER_USERS,	/* user certificates: municipality required */
	JPKI_LEDGER_CA,		/* CA certificates (ARL): municipality empty */
} jpki_ledger_kind;

typedef struct jpki_revocation {
	ASN1_INTEGER *serial;
	time_t revoked_at;
	int reason;
	char municipality[7];
	unsigned line;
} jpki_revocation;

typedef struct jpki_ledger {
	jpki_revocation *items;
	size_t n;
} jpki_ledger;

/* not_after: revocations later than this are refused (the CRL's thisUpdate). */
int jpki_ledger_load(const char *path, jpki_ledger_kind kind, const jpki_municipalities *m,
	time_t not_after, jpki_ledger *out, jpki_err *err);
void jpki_ledger_free(jpki_ledger *l);
/* Strict "YYYY-MM-DDTHH:MM:SSZ"; -1 for anything else, including impossible dates. */
int jpki_parse_utc(const char *text, time_t *out);

#endif
