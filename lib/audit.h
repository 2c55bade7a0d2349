/* The audit trail (CPS 4-11-2, 4-11-4, 4-11-5): every validity check by either method, every
 * publication attempt and every registry change, written before the answer it describes is
 * sent, in append-only files chained by SHA-256.
 *
 * Format: JSON Lines, UTF-8, one record per line ending in "\n", keys always in this order:
 *
 *   {"v":1,"seq":N,"time":"2026-11-26T07:44:14.123456Z","component":"slapd",
 *    "event":"crl-read","result":"ok","identity":"uid=…","auth":"simple",
 *    "client":"192.0.2.7:50312","method":"ldap","conn":12,"op":3,
 *    "details":{…},"prev":"<64 hex>"}
 *
 *   v          format version, 1
 *   seq        1 for the first record of a component, then +1 per record, never reused
 *   time       UTC with microseconds; never goes backwards within a chain (a clock stepped
 *              back repeats the last time written)
 *   component  "slapd" or "ocspd"; each component has its own chain and files
 *   event      "crl-read" "crl-publish" "registry-change" "ocsp-request", and the records
 *              the library writes itself: "checkpoint", "audit-recovery"
 *   result     "ok", or what refused or failed the operation ("refused: rule (e) …")
 *   identity   bound DN or verifier DN; "" for anonymous
 *   auth       "simple" "sasl-external" "sasl" (another SASL mechanism) "signature"
 *              "client-certificate" "network" "none"
 *   client     "IP:port" or ""
 *   method     "ldap" "ocsp" or null
 *   conn, op   LDAP connection and operation numbers, -1 when not applicable
 *   details    an object with the event's fields ({} when none), e.g.
 *              {"entries":["cn=121002,…"]}  {"certids":[{"serial":"…","status":"good"}],"cache":"hit"}
 *              A crl-read through a compare, or a search whose filter or assertion tests the
 *              CRL, also names the operation and what it answered, e.g.
 *              {"entries":["cn=121002,…"],"operation":"compare","answer":"compareTrue"}
 *              The provision report (CPS 4-5) counts the items of records with result "ok":
 *              the length of "entries" of a crl-read, of "certids" of an ocsp-request.
 *   prev       lowercase hex SHA-256 of the previous record's line (without its "\n");
 *              64 zeros for seq 1
 *
 * Files: DIR/<component>-YYYY-MM-DD.jsonl by the UTC date of the record's time. A new day
 * starts a new file and the chain continues: its first record's prev is the hash of the
 * previous day's last record and seq goes on. The directory must exist; one process at a
 * time writes a component (DIR/.<component>.lock, flock).
 *
 * Resume: open continues from the newest file's last complete line. A torn last line (a
 * crash in the middle of a write) is truncated away, and an "audit-recovery" record saying
 * so ({"file":"…","offset":N,"bytes":N,"sha256":"<hex of the cut bytes>"}) is the first record
 * written after it. A torn line that is a whole record of the chain, missing only its
 * newline (it parses, it is the component's, in its day's file, its seq the next and its
 * prev the hash of the record before), is given its newline back instead: nothing is lost.
 *
 * Checkpoints (when checkpoint_key_uri is set): after every checkpoint_every records, at
 * close, and first in every day file but the chain's first (before the day's first record,
 * at its time), a record with event "checkpoint", result "ok", method null, conn/op -1 and
 *   details {"head":"<prev of this record>","seq":<seq of that record>,"signature":"<b64>"}
 * where the signature is RSA PKCS#1 v1.5 with SHA-256 by the PKCS#11 key over the ASCII
 * bytes of head immediately followed by the decimal seq (e.g. "ab12…ef" "41"). The checkpoint
 * that starts a day file has also "day":"YYYY-MM-DD" (the date of its own time, after "seq")
 * and "after":"YYYY-MM-DD" (the date of the record before it; left out when the writer
 * resumed from an anchor alone, which then does not confirm that anchor), and signs head, seq, " day-start ", the day, " after " and
 * that date ("ab12…ef" "41" " day-start 2026-11-26 after 2026-11-25"): no checkpoint written
 * within a day can pass for it, and an anchor cannot say its record was pruned earlier than
 * it was (verify: after is at most the anchor's pruned_through).
 *
 * Retention: DIR/<component>.anchor, {"seq":N,"hash":"<64 hex>","pruned_through":"YYYY-MM-DD"},
 * names the last record of the pruned files, so that a chain may start at seq N+1 with
 * prev = hash. Written by `jpki audit prune`; read by audit_read.h and by open when the
 * directory holds no file of the component. The anchor itself is not signed: prune removes
 * whole day files, so with checkpoints the first record left is the day file's day-start
 * checkpoint, whose signature covers the anchor's seq and hash; verify with a key requires
 * it (a checkpoint from within a day does not do: cutting records up to one would otherwise
 * pass for a prune). */
#ifndef JPKI_AUDIT_H
#define JPKI_AUDIT_H
#include <stdbool.h>
#include <time.h>
#include "err.h"

#define JPKI_AUDIT_VERSION 1
#define JPKI_AUDIT_DEFAULT_CHECKPOINT_EVERY 1000
#define JPKI_AUDIT_GROUP_RECORDS 8

typedef struct jpki_audit jpki_audit;

typedef enum {
	JPKI_AUDIT_FAIL_CLOSED = 0,	/* the operation is refused when its record cannot be written */
	JPKI_AUDIT_FAIL_OPEN		/* the operation goes on; the failure is logged */
} jpki_audit_policy;

typedef struct jpki_audit_opts {
	const char *dir;		/* directory of the files (must exist) */
	const char *component;		/* "slapd" or "ocspd": file prefix; each component has its own chain */
	jpki_audit_policy policy;	/* what callers do when append fails (the library only reports) */
	const char *checkpoint_key_uri;	/* optional RFC 7512 URI: signed checkpoints; NULL: none */
	const char *checkpoint_pin_file;
	const char *checkpoint_cert;	/* PEM of the checkpoint key's certificate (for verify; when
					 * given at open, the key must match it) */
	unsigned checkpoint_every;	/* records between checkpoints (0: default 1000) */
	/* Group commit: while the caller expects more records soon (expect() > 0, e.g. answers
	 * being signed), a batch of fewer than JPKI_AUDIT_GROUP_RECORDS records waits up to
	 * group_wait_us after its first record for them to share its fdatasync. Spends latency
	 * to save the sync's CPU when records come slowly; nobody waits for records that are not
	 * coming. 0 or no expect: never waits. expect is called by the writer, under its lock. */
	unsigned group_wait_us;
	unsigned (*expect)(void *arg);
	void *expect_arg;
	/* Optional: notices the library has for the operator (a torn line recovered, a
	 * checkpoint that could not be signed). NULL: written to stderr. */
	void (*log)(void *arg, const char *message);
	void *log_arg;
} jpki_audit_opts;

typedef struct jpki_audit_record {
	const char *event;	/* "crl-read" | "crl-publish" | "registry-change" | "ocsp-request" */
	const char *result;	/* "ok", or what refused/failed it, e.g. "refused: rule (e) crl-number: …" */
	const char *identity;	/* bound DN, verifier DN, or "" (NULL) for anonymous */
	const char *auth;	/* one of the "auth" words above */
	const char *client;	/* "IP:port" or "" (NULL) */
	const char *method;	/* "ldap" | "ocsp" | NULL */
	long long conn, op;	/* -1 when not applicable */
	const char *details;	/* a JSON object as text with event fields, or NULL ({}) */
	bool details_made;	/* details come from a JSON encoder (json_dumps, or code that can
				 * write nothing but one object): written as given, not parsed again */
} jpki_audit_record;

/* Takes the component's lock, resumes the chain (truncating a torn last line), opens the
 * checkpoint key, starts the writer thread. -1 with err when any of that fails. */
int jpki_audit_open(const jpki_audit_opts *o, jpki_audit **out, jpki_err *err);
/* Returns only when the record is on disk (write + fdatasync); concurrent callers share one
 * fdatasync (group commit by a writer thread; each caller waits on a semaphore of its own,
 * posted when the batch holding its record is written). -1 with err when it could not be written (disk full,
 * permissions) or the record is malformed (no event/result, details not a JSON object):
 * the caller applies opts.policy. A failed record leaves the chain as it was: the next
 * record written links to the last one on disk. Thread-safe. */
int jpki_audit_append(jpki_audit *a, const jpki_audit_record *r, jpki_err *err);
/* The completion of a submitted record, called once from the writer thread: rc 0 when the
 * record is on disk, -1 with why when it could not be written (the caller applies the
 * policy). It must not block: the next batch waits for it. */
typedef void jpki_audit_done(void *arg, int rc, const char *why);
/* Like append, without waiting: 0 when the record is queued (done will be called), -1 with
 * err when it is not (malformed, closing, out of memory; done is never called). For servers
 * that hold the answer, not a thread, until its record is on disk, so that one fdatasync
 * carries the records of every request in flight. Thread-safe. */
int jpki_audit_submit(jpki_audit *a, const jpki_audit_record *r, jpki_audit_done *done, void *arg,
	jpki_err *err);
/* "fail-closed" or "fail-open" (any case); NULL is the default, fail-closed. -1 for anything
 * else. */
int jpki_audit_policy_parse(const char *text, jpki_audit_policy *out);
/* The policy given at open (for callers that keep only the handle). */
jpki_audit_policy jpki_audit_policy_of(const jpki_audit *a);
/* Writes the closing checkpoint (when configured), waits for every record, stops the
 * writer, releases the lock. No append may be running or start. NULL is ignored. */
void jpki_audit_close(jpki_audit *a);

/* Tests only: the clock records are stamped with (whole seconds, microseconds 0); NULL
 * restores the real clock. Process-wide; set it before appending. */
void jpki_audit_set_clock(time_t (*clock)(void));

#endif
