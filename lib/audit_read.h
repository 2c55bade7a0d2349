/* Reading the audit trail that lib/audit.c writes (the format is described in audit.h):
 * listing a directory's files, parsing records, verifying a chain (hash links, seq, time,
 * files, anchor, checkpoint signatures) and naming the first bad record, the retention
 * anchor, filtering for `jpki audit show` and what a record provides for `jpki report`.
 *
 * Each verification failure names its rule:
 *   format      the line is not a record (bad JSON, a key missing, out of order or mistyped)
 *   truncated   the file ends in the middle of a record
 *   seq         a seq gap (records deleted) or a seq out of order (records reordered)
 *   chain       prev does not match the hash of the record before (a record edited)
 *   time        time goes backwards, or a record sits in another day's file
 *   component   a record of another component in this chain
 *   anchor      the chain does not start at seq 1 or where the anchor says; the anchor claims
 *               a file that remains as pruned; no record follows it; or (with a key) the
 *               first record after it is not a checkpoint signing the anchor's seq and hash
 *   checkpoint  a checkpoint that does not match the chain or whose signature fails; a
 *               sealed chain that does not end with a signed checkpoint (or has no record)
 *   expect      a record noted earlier (seq and hash, kept off the host) is not in the
 *               chain as noted: the trail was cut back or rewritten */
#ifndef JPKI_AUDIT_READ_H
#define JPKI_AUDIT_READ_H
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "err.h"

#define JPKI_AUDIT_HEX_LEN 64
#define JPKI_AUDIT_COMPONENT_MAX 64

/* One file of the trail: DIR/<component>-YYYY-MM-DD.jsonl. */
typedef struct jpki_audit_file {
	char *path;
	char component[JPKI_AUDIT_COMPONENT_MAX];	/* from the name; "" when it has no such name */
	char date[11];					/* YYYY-MM-DD from the name; "" likewise */
} jpki_audit_file;

typedef struct jpki_audit_files {
	jpki_audit_file *v;
	size_t n;
} jpki_audit_files;

/* The component's files in dir (every component's when component is NULL), sorted by
 * component, then date. A missing directory is an error; no file is not. */
int jpki_audit_files_list(const char *dir, const char *component, jpki_audit_files *out,
	jpki_err *err);
/* Adds one named file (for `jpki audit verify FILES…`). */
int jpki_audit_files_add(jpki_audit_files *f, const char *path, jpki_err *err);
/* Sorts by component, then date; files without the name pattern keep their order, last. */
void jpki_audit_files_sort(jpki_audit_files *f);
void jpki_audit_files_free(jpki_audit_files *f);
/* "slapd-2026-11-26.jsonl" → "slapd", "2026-11-26"; -1 when base is not such a name. */
int jpki_audit_file_name_parse(const char *base, char *component, size_t component_len,
	char date[11]);

/* One parsed record. Strings point into json (or text) and live until the entry is cleared. */
typedef struct jpki_audit_entry {
	const char *path;	/* the file (borrowed from the reader's files) */
	size_t file;		/* its index in the files given to the reader */
	unsigned long line;	/* 1-based line number in that file */
	char *text;		/* the line without its "\n" */
	size_t len;
	json_t *json;
	long long seq;
	const char *time;	/* as written */
	time_t t;		/* time, whole seconds */
	long usec;
	const char *component, *event, *result, *identity, *auth, *client;
	const char *method;	/* NULL for null */
	long long conn, op;
	json_t *details;	/* always an object */
	const char *prev;
	char hash[JPKI_AUDIT_HEX_LEN + 1];	/* SHA-256 of text */
} jpki_audit_entry;

/* Parses one line (without its newline): JSON, the keys of audit.h in their order, with
 * their types. e keeps a copy of the line. 0, or -1 with why in err (e is cleared). */
int jpki_audit_entry_parse(const char *text, size_t len, jpki_audit_entry *e, jpki_err *err);
void jpki_audit_entry_clear(jpki_audit_entry *e);
/* "2026-11-26T07:44:14.123456Z" → seconds and microseconds; -1 for anything else. */
int jpki_audit_time_parse(const char *text, time_t *t, long *usec);

/* Reads the records of files in order. */
typedef struct jpki_audit_reader jpki_audit_reader;
int jpki_audit_reader_open(const jpki_audit_file *files, size_t n, jpki_audit_reader **out,
	jpki_err *err);
/* 1: a record in e; 0: no more; -1: the next line is not a record or a file cannot be read:
 * e->path and e->line name it, err says why ("rule format: …", "rule truncated: …"); the
 * reader moves past it. e is cleared first in every case. */
int jpki_audit_reader_next(jpki_audit_reader *r, jpki_audit_entry *e, jpki_err *err);
void jpki_audit_reader_close(jpki_audit_reader *r);

/* Retention anchor DIR/<component>.anchor. */
typedef struct jpki_audit_anchor {
	long long seq;				/* the last pruned record */
	char hash[JPKI_AUDIT_HEX_LEN + 1];	/* its hash */
	char pruned_through[11];		/* date of the last pruned file */
} jpki_audit_anchor;

/* 1 read, 0 there is none, -1 unreadable or malformed (err). */
int jpki_audit_anchor_read(const char *dir, const char *component, jpki_audit_anchor *a,
	jpki_err *err);
/* Atomically (temporary file, fsync, rename, fsync of the directory). */
int jpki_audit_anchor_write(const char *dir, const char *component, const jpki_audit_anchor *a,
	jpki_err *err);

/* The public key of a checkpoint certificate (PEM); caller frees. NULL with err. */
EVP_PKEY *jpki_audit_checkpoint_key_load(const char *cert_pem, jpki_err *err);
/* The bytes a checkpoint signs: head followed by the decimal seq; for the checkpoint that
 * starts a day file (day "YYYY-MM-DD", else NULL), then " day-start " and the day, so that no
 * other checkpoint can stand in for it, and " after " and the day of the record before it
 * when known (after, else NULL) (audit.h). */
#define JPKI_AUDIT_CHECKPOINT_MSG_MAX 160
int jpki_audit_checkpoint_message(const char *head, long long seq, const char *day, const char *after,
	char *out, size_t outlen);

/* Components that left a mark in dir without regard to their files: a retention anchor
 * (<component>.anchor) or a writer's lock (.<component>.lock). Such a component must have a
 * chain: its files all removed is not "nothing to verify". Sorted by name. */
typedef struct jpki_audit_mark {
	char component[JPKI_AUDIT_COMPONENT_MAX];
	bool anchor, lock;
} jpki_audit_mark;

int jpki_audit_marks_list(const char *dir, jpki_audit_mark **out, size_t *n, jpki_err *err);

/* A record noted earlier, away from the host (e.g. the head verify printed yesterday): the
 * chain must hold seq with this hash, so that it cannot have been cut back before it. */
typedef struct jpki_audit_expect {
	long long seq;
	char hash[JPKI_AUDIT_HEX_LEN + 1];
} jpki_audit_expect;

/* Text for a terminal or a table: C0 controls and DEL as \xHH, C1 controls (U+0080..U+009F)
 * as \u00HH, bytes that are not UTF-8 as \xHH; everything else as given. malloc'd (NULL:
 * out of memory). Records are shown through it, never raw: a newline or an escape sequence in
 * an identity would forge a line or repaint the screen. */
char *jpki_audit_printable(const char *s);

/* The last record of each file, filled by verify when asked for (seq -1: none). */
typedef struct jpki_audit_file_end {
	long long seq;
	char hash[JPKI_AUDIT_HEX_LEN + 1];
} jpki_audit_file_end;

typedef struct jpki_audit_verify_opts {
	EVP_PKEY *checkpoint_key;		/* verifies checkpoint signatures; NULL: not checked */
	const jpki_audit_anchor *anchor;	/* where a chain not starting at seq 1 must start */
	bool partial;				/* the files are a slice: the first record is taken as given */
	bool live;				/* the last file is being written: an incomplete last line
						 * there ends the chain instead of failing it */
	bool sealed;				/* the log is closed: it must end with a checkpoint
						 * whose signature verifies (needs checkpoint_key); a
						 * chain without records fails */
	bool anchor_checkpoint;			/* the first record after the anchor must be a
						 * checkpoint of the anchor's seq and hash even without
						 * checkpoint_key (prune: so that it will verify with one);
						 * with checkpoint_key it must be, signed, always */
	const jpki_audit_expect *expect;	/* records the chain must hold (n_expect) */
	size_t n_expect;
	jpki_audit_file_end *file_ends;		/* optional, one per file */
	/* Optional: called with each record once it is accepted (before the next is read), so
	 * that a reader counts only records that verify, in one pass. */
	void (*each)(void *arg, const jpki_audit_entry *e);
	void *each_arg;
} jpki_audit_verify_opts;

typedef struct jpki_audit_verify_result {
	unsigned long long records;
	long long first_seq, last_seq;		/* -1 when there was no record */
	char last_hash[JPKI_AUDIT_HEX_LEN + 1];
	char component[JPKI_AUDIT_COMPONENT_MAX];
	unsigned long long checkpoints;		/* checkpoint records seen */
	unsigned long long checkpoints_verified;	/* ... whose signature verified */
	unsigned long long uncovered;		/* records after the last verified checkpoint */
	bool tail_incomplete;			/* live: the last line was still being written */
	bool anchor_confirmed;			/* a signed checkpoint after the anchor signs it */
	/* On failure, the first bad record: */
	char bad_path[1024];
	unsigned long bad_line;
	long long bad_seq;			/* -1 when the line has no readable seq */
	char rule[16];
	char why[512];
} jpki_audit_verify_result;

/* Verifies one component's chain over files (in order). 0 when it verifies; -1 when it does
 * not, with res->bad_* naming the first bad record and err "PATH:LINE (seq N): rule R: why". */
int jpki_audit_verify(const jpki_audit_file *files, size_t n, const jpki_audit_verify_opts *o,
	jpki_audit_verify_result *res, jpki_err *err);

/* Filter for `jpki audit show`; NULL / false fields match everything. */
typedef struct jpki_audit_filter {
	const char *identity;	/* a DN: equal after normalisation, case-insensitive */
	bool has_from, has_to;
	time_t from, to;	/* from <= time < to */
	const char *method, *event, *component;
	char *identity_norm;	/* set by jpki_audit_filter_prepare */
} jpki_audit_filter;

int jpki_audit_filter_prepare(jpki_audit_filter *f, jpki_err *err);
bool jpki_audit_filter_match(const jpki_audit_filter *f, const jpki_audit_entry *e);
void jpki_audit_filter_free(jpki_audit_filter *f);

/* What a record provides for the provision report (CPS 4-5): a crl-read with result "ok"
 * provides its details.entries (partition entries read: sent with their CRL values or,
 * attrsonly, the attribute's name, selected by a filter testing the CRL, or compared) over
 * ldap; an ocsp-request with result "ok" provides its details.certids (CertIDs answered)
 * over ocsp. true with the method and the number of items; false for any other record. */
bool jpki_audit_provision_items(const jpki_audit_entry *e, const char **method,
	unsigned long long *items);

#endif
