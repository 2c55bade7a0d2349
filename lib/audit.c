/* The audit trail writer: chained JSON Lines records, group commit, daily rotation, resume
 * after a crash, signed checkpoints. The format is described in audit.h.
 *
 * Callers format their record outside the lock; under the lock they get the next seq, the
 * time and the previous hash, and add the line to the pending batch. One writer thread takes
 * the whole pending batch, writes it with one write() per day file and one fdatasync(), and
 * tells the callers whose records are now on disk (after letting go of the lock). A batch
 * that cannot be written is cut off the file again (ftruncate) and every record after the
 * last durable one is reported failed, so the chain in memory never runs ahead of the chain
 * on disk. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit_read.h"
#include "digest.h"
#include "p11key.h"
#include "utctime.h"
#include "utf8.h"

static time_t (*test_clock)(void);

void jpki_audit_set_clock(time_t (*clock)(void))
{
	test_clock = clock;
}

/* Where the chain stands after some record. */
typedef struct chain_state {
	long long seq;				/* 0 before the first record */
	char hash[JPKI_AUDIT_HEX_LEN + 1];
	unsigned since_checkpoint;
	time_t t;
	long usec;
} chain_state;

/* A caller waiting for its record: a thread blocked in append on a semaphore of its own
 * (posted by the writer after it let go of mu, so that a batch wakes only its own callers
 * and they do not queue for the lock), or a completion to call (submit). */
typedef struct waiter {
	long long seq;
	int rc;
	jpki_err *err;
	sem_t *posted;			/* append */
	jpki_audit_done *cb;		/* submit: called by the writer, outside mu; then freed */
	void *cb_arg;
	struct waiter *next;
} waiter;

/* The lines of one day inside a batch, and the chain after its last line. */
typedef struct segment {
	char day[11];
	size_t end;		/* offset in the batch buffer */
	chain_state after;
} segment;

typedef struct batch {
	char *buf;
	size_t len, cap;
	size_t nrecords;
	segment *segs;
	size_t nsegs, segcap;
	waiter *waiters;
} batch;

struct jpki_audit {
	char *dir, *component;
	jpki_audit_policy policy;
	unsigned every;
	unsigned group_wait_us;
	unsigned (*expect)(void *arg);
	void *expect_arg;
	jpki_p11key *key;
	bool checkpoint_failing;	/* a notice was given; retried with each record */
	bool write_failing;		/* a notice was given; until a batch is written again */
	time_t clock_noticed;		/* when "the clock is behind" was last said */
	void (*log)(void *arg, const char *message);
	void *log_arg;
	int lock_fd;

	pthread_mutex_t mu;
	pthread_cond_t work;
	pthread_t thread;
	bool thread_started, stopping;
	chain_state head;	/* after the last record given a seq */
	time_t second;		/* the second second_text shows */
	char second_text[24];	/* "YYYY-MM-DD\0THH:MM:SS" */
	chain_state durable;	/* after the last record on disk */
	batch batches[2];
	batch *pending;

	/* The writer thread's (and open's and close's, when it is not running). */
	int fd;
	char fd_day[11];
	off_t fd_size;		/* what is durable in fd */
	bool fd_dirty;		/* a failed write may have left bytes after fd_size */
	bool pending_recovery;	/* open cut a torn line: the first record says so */
	char recovery[512];	/* its details */
};

/* --- small helpers ---------------------------------------------------------------------- */

static void notice(jpki_audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void notice(jpki_audit *a, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->log != NULL)
		a->log(a->log_arg, msg);
	else
		fprintf(stderr, "jpki audit (%s): %s\n", a->component, msg);
}

static int file_path(const jpki_audit *a, const char *day, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s-%s.jsonl", a->dir, a->component, day);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static void now(jpki_audit *a, time_t *t, long *usec)
{
	struct timespec ts;

	if (test_clock != NULL) {
		*t = test_clock();
		*usec = 0;
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		*t = ts.tv_sec;
		*usec = ts.tv_nsec / 1000;
	}
	/* Never backwards within a chain: a clock stepped back repeats the last time. Said in
	 * the log (once a minute) when it is more than a moment behind: a clock that was set
	 * ahead has left that future time on every record since, until real time catches up. */
	if (*t < a->head.t || (*t == a->head.t && *usec < a->head.usec)) {
		if (a->head.t - *t > 2 && *t - a->clock_noticed >= 60) {
			a->clock_noticed = *t;
			notice(a, "the clock is %lld s behind the trail's last record: records keep that time "
				"until it catches up", (long long)(a->head.t - *t));
		}
		*t = a->head.t;
		*usec = a->head.usec;
	}
}

/* The record's text, grown as it is written; `failed` once memory ran out. */
typedef struct text {
	char *p;
	size_t len, cap;
	bool failed;
} text;

static void put(text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 512;
		char *grown;

		while (cap < t->len + n + 1)
			cap *= 2;
		if ((grown = realloc(t->p, cap)) == NULL) {
			t->failed = true;
			return;
		}
		t->p = grown;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void puts_(text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* A JSON string (RFC 8259 escapes) for text that should be UTF-8; a byte that is not part
 * of a well-formed sequence becomes the text \xNN, so that nothing is lost or invalid. */
static void put_string(text *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	char esc[8];
	size_t n;

	put(t, "\"", 1);
	while (*p != '\0') {
		const unsigned char *run = p;

		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		put(t, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		switch (*p) {
		case '"': puts_(t, "\\\""); break;
		case '\\': puts_(t, "\\\\"); break;
		case '\b': puts_(t, "\\b"); break;
		case '\f': puts_(t, "\\f"); break;
		case '\n': puts_(t, "\\n"); break;
		case '\r': puts_(t, "\\r"); break;
		case '\t': puts_(t, "\\t"); break;
		default:
			if (*p < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04X", *p);
				puts_(t, esc);
			} else if ((n = jpki_utf8_len(p)) > 0) {
				put(t, (const char *)p, n);
				p += n - 1;
			} else {
				snprintf(esc, sizeof(esc), "\\\\x%02x", *p);
				puts_(t, esc);
			}
		}
		p++;
	}
	put(t, "\"", 1);
}

/* The details as they go into the record: one JSON object (checked by jansson unless an
 * encoder made it), kept as the caller wrote it unless it spans lines (a record is one line),
 * then re-encoded compactly. */
static void put_details(text *t, const char *details, bool made, jpki_err *err)
{
	json_error_t jerr;
	json_t *o;
	char *compact;

	if (details == NULL) {
		puts_(t, "{}");
		return;
	}
	if (made && details[0] == '{' && strpbrk(details, "\r\n") == NULL) {
		puts_(t, details);
		return;
	}
	o = json_loads(details, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		jpki_errf(err, "audit record refused: details are not a JSON object%s%s", o == NULL ? ": " : "",
			o == NULL ? jerr.text : "");
		t->failed = true;
		return;
	}
	if (strpbrk(details, "\r\n") == NULL) {
		puts_(t, details);
	} else if ((compact = json_dumps(o, JSON_COMPACT)) != NULL) {
		puts_(t, compact);
		free(compact);
	} else
		t->failed = true;
	json_decref(o);
}

/* The record without v, seq, time and prev: "{"component":…,"details":{…}}", malloc'd. */
static char *record_middle(const jpki_audit *a, const jpki_audit_record *r, jpki_err *err)
{
	text t = { 0 };
	char num[64];

	err->text[0] = '\0';
	if (r->event == NULL || r->event[0] == '\0' || r->result == NULL || r->result[0] == '\0') {
		jpki_errf(err, "audit record refused: it needs an event and a result");
		return NULL;
	}
	puts_(&t, "{\"component\":");
	put_string(&t, a->component);
	puts_(&t, ",\"event\":");
	put_string(&t, r->event);
	puts_(&t, ",\"result\":");
	put_string(&t, r->result);
	puts_(&t, ",\"identity\":");
	put_string(&t, r->identity);
	puts_(&t, ",\"auth\":");
	put_string(&t, r->auth != NULL ? r->auth : "none");
	puts_(&t, ",\"client\":");
	put_string(&t, r->client);
	puts_(&t, ",\"method\":");
	if (r->method != NULL)
		put_string(&t, r->method);
	else
		puts_(&t, "null");
	snprintf(num, sizeof(num), ",\"conn\":%lld,\"op\":%lld,\"details\":", r->conn, r->op);
	puts_(&t, num);
	put_details(&t, r->details, r->details_made, err);
	puts_(&t, "}");
	if (t.failed) {
		free(t.p);
		if (err->text[0] == '\0')
			jpki_errf(err, "audit record: out of memory");
		return NULL;
	}
	return t.p;
}

/* --- the pending batch (under mu) ------------------------------------------------------- */

static int batch_reserve(batch *b, size_t more)
{
	char *grown;
	size_t cap;

	if (b->len + more <= b->cap)
		return 0;
	for (cap = b->cap ? b->cap : 65536; cap < b->len + more; cap *= 2)
		;
	if ((grown = realloc(b->buf, cap)) == NULL)
		return -1;
	b->buf = grown;
	b->cap = cap;
	return 0;
}

/* Gives middle the next seq, the time t.usec (from now(), not before the head's) and prev;
 * adds the line to the pending batch. */
static int enqueue_at(jpki_audit *a, const char *middle, time_t t, long usec, long long *seq,
	jpki_err *err)
{
	batch *b = a->pending;
	size_t mlen = strlen(middle), start = b->len, len;
	chain_state next = a->head;
	char *day = a->second_text;
	segment *seg;
	int n;

	next.t = t;
	next.usec = usec;
	next.seq = a->head.seq + 1;
	if (next.t != a->second || day[0] == '\0') {
		struct tm tm;

		/* Once a second: "YYYY-MM-DD" (the file's day), then "THH:MM:SS". */
		gmtime_r(&next.t, &tm);
		strftime(a->second_text, 11, "%Y-%m-%d", &tm);
		strftime(a->second_text + 11, sizeof(a->second_text) - 11, "T%H:%M:%S", &tm);
		a->second = next.t;
	}
	if (batch_reserve(b, mlen + 256) < 0)
		return jpki_errf(err, "audit record: out of memory");
	/* {"v":1,"seq":N,"time":"…", + middle without its braces + ,"prev":"…"} */
	n = snprintf(b->buf + start, b->cap - start, "{\"v\":%d,\"seq\":%lld,\"time\":\"%s%s.%06ldZ\",",
		JPKI_AUDIT_VERSION, next.seq, day, day + 11, next.usec);
	len = (size_t)n;
	memcpy(b->buf + start + len, middle + 1, mlen - 2);
	len += mlen - 2;
	memcpy(b->buf + start + len, ",\"prev\":\"", 9);
	memcpy(b->buf + start + len + 9, a->head.hash, JPKI_AUDIT_HEX_LEN);
	memcpy(b->buf + start + len + 9 + JPKI_AUDIT_HEX_LEN, "\"}", 2);
	len += 9 + JPKI_AUDIT_HEX_LEN + 2;
	jpki_sha256_hex(b->buf + start, len, next.hash);
	b->buf[start + len] = '\n';
	b->len = start + len + 1;
	b->nrecords++;
	next.since_checkpoint = a->head.since_checkpoint + 1;

	if (b->nsegs == 0 || strcmp(b->segs[b->nsegs - 1].day, day) != 0) {
		if (b->nsegs == b->segcap) {
			segment *grown = realloc(b->segs, (b->segcap + 4) * sizeof(*grown));

			if (grown == NULL) {
				b->len = start;
				return jpki_errf(err, "audit record: out of memory");
			}
			b->segs = grown;
			b->segcap += 4;
		}
		memcpy(b->segs[b->nsegs].day, day, sizeof(b->segs[0].day));
		b->nsegs++;
	}
	seg = &b->segs[b->nsegs - 1];
	seg->end = b->len;
	seg->after = next;
	a->head = next;
	*seq = next.seq;
	return 0;
}

/* Whether a record at t starts a day file that is not the chain's first. */
static bool starts_day(const jpki_audit *a, time_t t)
{
	return a->head.seq > 0 && t / 86400 != a->head.t / 86400;
}

/* A checkpoint's outcome (rc of enqueue_checkpoint*): a failure is noticed once, with what
 * happens meanwhile, until one is signed again. */
static void checkpoint_noted(jpki_audit *a, int rc, const jpki_err *e, long long seq, const char *meanwhile)
{
	if (rc < 0) {
		if (!a->checkpoint_failing)
			notice(a, "%s; %s", e->text, meanwhile);
		a->checkpoint_failing = true;
		return;
	}
	if (a->checkpoint_failing)
		notice(a, "checkpoint signed again at seq %lld", seq);
	a->checkpoint_failing = false;
}

/* A checkpoint record over the head, at t.usec; under mu. The first record of a day file but
 * the chain's first is a day-start checkpoint, whichever path writes it: it signs its day and,
 * when the writer knows it, the day of the record before it (the last one of the files a
 * prune would remove up to here). */
static int enqueue_checkpoint_at(jpki_audit *a, time_t t, long usec, long long *seq, jpki_err *err)
{
	char msg[JPKI_AUDIT_CHECKPOINT_MSG_MAX], details[2048], day[JPKI_UTC_DAY_LEN + 1] = "",
		after[JPKI_UTC_DAY_LEN + 1] = "", day_field[48] = "", *middle;
	unsigned char sig[1024], b64[1400];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md;
	int mlen, ok;
	jpki_audit_record r = { .event = "checkpoint", .result = "ok", .identity = "", .auth = "none",
		.client = "", .method = NULL, .conn = -1, .op = -1, .details = details };

	if (starts_day(a, t)) {
		jpki_utc_day(t, day);
		if (a->head.t > 0)	/* 0: resumed from an anchor alone */
			jpki_utc_day(a->head.t, after);
		snprintf(day_field, sizeof(day_field), ",\"day\":\"%s\"%s%s%s", day, after[0] ? ",\"after\":\"" : "",
			after, after[0] ? "\"" : "");
	}
	mlen = jpki_audit_checkpoint_message(a->head.hash, a->head.seq, day[0] != '\0' ? day : NULL,
		after[0] != '\0' ? after : NULL, msg, sizeof(msg));
	md = EVP_MD_CTX_new();
	ok = mlen > 0 && md != NULL &&
	     EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, jpki_p11key_pkey(a->key)) == 1 &&
	     EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)msg, (size_t)mlen) == 1 &&
	     siglen <= sizeof(sig) &&
	     EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg, (size_t)mlen) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return jpki_errf_ssl(err, "audit checkpoint: signing with the checkpoint key failed");
	EVP_EncodeBlock(b64, sig, (int)siglen);
	snprintf(details, sizeof(details), "{\"head\":\"%s\",\"seq\":%lld%s,\"signature\":\"%s\"}",
		a->head.hash, a->head.seq, day_field, (char *)b64);
	if ((middle = record_middle(a, &r, err)) == NULL)
		return -1;
	ok = enqueue_at(a, middle, t, usec, seq, err);
	free(middle);
	if (ok == 0)
		a->head.since_checkpoint = a->pending->segs[a->pending->nsegs - 1].after.since_checkpoint = 0;
	return ok;
}

static int enqueue_checkpoint(jpki_audit *a, long long *seq, jpki_err *err)
{
	time_t t;
	long usec;

	now(a, &t, &usec);
	return enqueue_checkpoint_at(a, t, usec, seq, err);
}

/* A record of the caller's (or the writer's own recovery record); under mu. With a key, a
 * record that starts a new day file is preceded by a checkpoint over the previous day's last
 * record (or the anchor): prune removes whole day files, so the first record left after a
 * prune is a signed checkpoint of the anchor's seq and hash, which verify then requires (see
 * lib/audit_read.c, anchor_confirm). The first record of a chain has nothing to sign. A
 * signing failure is noticed, not fatal: the day file then starts with the record. */
static int enqueue_record(jpki_audit *a, const char *middle, long long *seq, jpki_err *err)
{
	time_t t;
	long usec;
	long long ck = 0;
	jpki_err e;

	now(a, &t, &usec);
	if (a->key != NULL && starts_day(a, t))
		checkpoint_noted(a, enqueue_checkpoint_at(a, t, usec, &ck, &e), &e, ck,
			"a day file starts without its checkpoint (retrying with each record)");
	return enqueue_at(a, middle, t, usec, seq, err);
}

/* After a record: a checkpoint when one is due. A signing failure is noticed, not fatal:
 * the record stands, and the checkpoint is tried again with the next one. */
static void checkpoint_if_due(jpki_audit *a)
{
	jpki_err e;
	long long seq = 0;

	if (a->key == NULL || a->head.since_checkpoint < a->every)
		return;
	checkpoint_noted(a, enqueue_checkpoint(a, &seq, &e), &e, seq, "retrying with each record");
}

/* Hands w to the pending batch and tells the writer; under mu. */
static void add_waiter(jpki_audit *a, waiter *w)
{
	w->next = a->pending->waiters;
	a->pending->waiters = w;
	pthread_cond_signal(&a->work);
}

/* Called under mu, which it releases: waits until the writer has dealt with w. */
static int wait_for(jpki_audit *a, waiter *w, jpki_err *err)
{
	sem_t posted;

	sem_init(&posted, 0, 0);
	w->err = err;
	w->posted = &posted;
	add_waiter(a, w);
	pthread_mutex_unlock(&a->mu);
	while (sem_wait(&posted) != 0)
		;	/* EINTR */
	sem_destroy(&posted);
	return w->rc;
}

/* --- the writer thread ------------------------------------------------------------------ */

static int open_day(jpki_audit *a, const char *day, jpki_err *err)
{
	char path[4096];
	struct stat st;
	int fd;

	if (file_path(a, day, path, sizeof(path)) < 0)
		return jpki_errf(err, "audit file in %s: path too long", a->dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return jpki_errf(err, "audit file %s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || fsync_dir(a->dir) < 0) {
		jpki_errf(err, "audit file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	memcpy(a->fd_day, day, sizeof(a->fd_day));
	a->fd_size = st.st_size;
	a->fd_dirty = false;
	return 0;
}

/* Cuts what a failed write may have left; the next write retries when this fails too. */
static void cut_back(jpki_audit *a)
{
	a->fd_dirty = ftruncate(a->fd, a->fd_size) != 0 || fdatasync(a->fd) != 0;
}

/* Writes the segments of b in order; returns how many are durable (all: b->nsegs). */
static size_t write_batch(jpki_audit *a, const batch *b, jpki_err *err)
{
	char path[4096];
	size_t i, start = 0, off;
	ssize_t w;

	for (i = 0; i < b->nsegs; start = b->segs[i].end, i++) {
		if ((a->fd < 0 || strcmp(a->fd_day, b->segs[i].day) != 0) && open_day(a, b->segs[i].day, err) < 0)
			return i;
		file_path(a, a->fd_day, path, sizeof(path));
		if (a->fd_dirty) {
			cut_back(a);
			if (a->fd_dirty) {
				jpki_errf(err, "audit file %s: cannot remove a failed write: %s", path, strerror(errno));
				return i;
			}
		}
		for (off = start; off < b->segs[i].end; off += (size_t)w) {
			w = write(a->fd, b->buf + off, b->segs[i].end - off);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				jpki_errf(err, "audit file %s: write: %s", path, w < 0 ? strerror(errno) : "nothing written");
				cut_back(a);
				return i;
			}
		}
		if (fdatasync(a->fd) != 0) {
			jpki_errf(err, "audit file %s: fdatasync: %s", path, strerror(errno));
			cut_back(a);
			return i;
		}
		a->fd_size += (off_t)(b->segs[i].end - start);
	}
	return b->nsegs;
}

/* Under mu: the waiters of b's records, with their outcome, go to *calls, to be told once mu
 * is released (by the writer's loop). */
static void batch_finish(batch *b, long long durable_seq, waiter **calls)
{
	waiter *w, *next;

	for (w = b->waiters; w != NULL; w = next) {
		next = w->next;
		w->rc = w->seq <= durable_seq ? 0 : -1;
		w->next = *calls;
		*calls = w;
	}
	b->waiters = NULL;
	b->len = 0;
	b->nrecords = 0;
	b->nsegs = 0;
}

/* Under mu: a small batch waits a while for the records its caller expects (opts). */
static void group_wait(jpki_audit *a)
{
	struct timespec until;

	if (a->group_wait_us == 0 || a->expect == NULL || a->stopping ||
	    a->pending->nrecords >= JPKI_AUDIT_GROUP_RECORDS || a->expect(a->expect_arg) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)(a->group_wait_us % 1000000) * 1000;
	until.tv_sec += a->group_wait_us / 1000000 + until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	/* Until the batch is big enough or nothing more is expected: a record that came need
	 * not wait for others that will not. */
	while (a->pending->nrecords < JPKI_AUDIT_GROUP_RECORDS && !a->stopping &&
	       a->expect(a->expect_arg) > 0)
		if (pthread_cond_timedwait(&a->work, &a->mu, &until) != 0)
			break;
}

static void *writer(void *arg)
{
	jpki_audit *a = arg;
	batch *b;
	jpki_err werr;
	size_t ok;
	waiter *calls, *w;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->pending->nsegs == 0 && a->pending->waiters == NULL && !a->stopping)
			pthread_cond_wait(&a->work, &a->mu);
		if (a->pending->nsegs == 0 && a->pending->waiters == NULL)
			break;
		group_wait(a);
		b = a->pending;
		a->pending = b == &a->batches[0] ? &a->batches[1] : &a->batches[0];
		pthread_mutex_unlock(&a->mu);

		werr.text[0] = '\0';
		calls = NULL;
		ok = write_batch(a, b, &werr);

		pthread_mutex_lock(&a->mu);
		if (ok > 0)
			a->durable = b->segs[ok - 1].after;
		if (ok < b->nsegs) {
			/* Everything after the durable record is lost, including what was queued
			 * meanwhile: it links to the lost records. */
			if (!a->write_failing)
				notice(a, "%s; records after seq %lld not written (noticed once until "
					"writing works again)", werr.text, a->durable.seq);
			a->write_failing = true;
			a->head = a->durable;
			batch_finish(a->pending, a->durable.seq, &calls);
		} else if (a->write_failing) {
			notice(a, "records are written again (seq %lld on disk)", a->durable.seq);
			a->write_failing = false;
		}
		batch_finish(b, a->durable.seq, &calls);
		if (calls == NULL)
			continue;
		pthread_mutex_unlock(&a->mu);
		while ((w = calls) != NULL) {
			calls = w->next;
			if (w->cb != NULL) {
				w->cb(w->cb_arg, w->rc, w->rc == 0 ? NULL : werr.text);
				free(w);
				continue;
			}
			if (w->rc < 0)
				jpki_errf(w->err, "audit record not written: %s", werr.text);
			sem_post(w->posted);	/* w is the waiter's from here on */
		}
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* --- append, open, close ---------------------------------------------------------------- */

int jpki_audit_append(jpki_audit *a, const jpki_audit_record *r, jpki_err *err)
{
	char *middle = record_middle(a, r, err);
	waiter w = { 0 };
	int rc;

	if (middle == NULL)
		return -1;
	pthread_mutex_lock(&a->mu);
	if (a->stopping) {
		rc = jpki_errf(err, "audit record not written: the audit log is closing");
	} else if ((rc = enqueue_record(a, middle, &w.seq, err)) == 0) {
		checkpoint_if_due(a);
		free(middle);
		return wait_for(a, &w, err);	/* releases mu */
	}
	pthread_mutex_unlock(&a->mu);
	free(middle);
	return rc;
}

int jpki_audit_submit(jpki_audit *a, const jpki_audit_record *r, jpki_audit_done *done, void *arg,
	jpki_err *err)
{
	char *middle = record_middle(a, r, err);
	waiter *w = calloc(1, sizeof(*w));
	int rc;

	if (middle == NULL || w == NULL) {
		free(middle);
		free(w);
		return middle == NULL ? -1 : jpki_errf(err, "audit record: out of memory");
	}
	w->cb = done;
	w->cb_arg = arg;
	pthread_mutex_lock(&a->mu);
	if (a->stopping) {
		rc = jpki_errf(err, "audit record not written: the audit log is closing");
	} else if ((rc = enqueue_record(a, middle, &w->seq, err)) == 0) {
		checkpoint_if_due(a);
		add_waiter(a, w);
		w = NULL;
	}
	pthread_mutex_unlock(&a->mu);
	free(middle);
	free(w);
	return rc;
}

int jpki_audit_policy_parse(const char *text, jpki_audit_policy *out)
{
	if (text == NULL || strcasecmp(text, "fail-closed") == 0)
		*out = JPKI_AUDIT_FAIL_CLOSED;
	else if (strcasecmp(text, "fail-open") == 0)
		*out = JPKI_AUDIT_FAIL_OPEN;
	else
		return -1;
	return 0;
}

jpki_audit_policy jpki_audit_policy_of(const jpki_audit *a)
{
	return a->policy;
}

/* Offset of the last '\n' before `before`, -1 when there is none. */
static off_t prev_newline(int fd, off_t before)
{
	char buf[65536];
	off_t pos = before;
	size_t chunk;
	ssize_t got;

	while (pos > 0) {
		chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		pos -= (off_t)chunk;
		got = pread(fd, buf, chunk, pos);
		if (got != (ssize_t)chunk)
			return -2;
		while (got-- > 0)
			if (buf[got] == '\n')
				return pos + got;
	}
	return -1;
}

/* The line [start, end) of fd, malloc'd and NUL-terminated: start is just after the newline
 * before end, 0 when there is none. NULL when it cannot be read. */
static char *line_before(int fd, off_t end, off_t *start, size_t *len)
{
	off_t nl = prev_newline(fd, end);
	char *line;

	if (nl < -1)
		return NULL;
	*start = nl + 1;
	*len = (size_t)(end - *start);
	if ((line = malloc(*len + 1)) == NULL)
		return NULL;
	if (pread(fd, line, *len, *start) != (ssize_t)*len) {
		free(line);
		return NULL;
	}
	line[*len] = '\0';
	return line;
}

/* Where the chain stood before files[idx]: the last record of the newest older file with
 * one, else the anchor, else the start (seq 0, 64 zeros). 0, or -1 when that cannot be told
 * (an older file unreadable or itself ending in a torn line). */
static int chain_before(jpki_audit *a, const jpki_audit_files *files, size_t idx, chain_state *out)
{
	jpki_audit_entry e = { 0 };
	jpki_audit_anchor an;
	struct stat st;
	jpki_err why;
	off_t start;
	size_t len;
	char last, *line;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	memset(out->hash, '0', JPKI_AUDIT_HEX_LEN);
	while (idx-- > 0) {
		if ((fd = open(files->v[idx].path, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
		if (fstat(fd, &st) < 0 || (st.st_size > 0 && (pread(fd, &last, 1, st.st_size - 1) != 1 ||
							      last != '\n'))) {
			close(fd);
			return -1;
		}
		if (st.st_size == 0) {
			close(fd);
			continue;
		}
		line = line_before(fd, st.st_size - 1, &start, &len);
		close(fd);
		rc = line != NULL ? jpki_audit_entry_parse(line, len, &e, &why) : -1;
		free(line);
		if (rc < 0)
			return -1;
		out->seq = e.seq;
		memcpy(out->hash, e.hash, sizeof(out->hash));
		out->t = e.t;
		out->usec = e.usec;
		jpki_audit_entry_clear(&e);
		return 0;
	}
	rc = jpki_audit_anchor_read(a->dir, a->component, &an, &why);
	if (rc == 1) {
		out->seq = an.seq;
		memcpy(out->hash, an.hash, sizeof(out->hash));
	}
	return rc < 0 ? -1 : 0;
}

/* A torn last line that is a whole record of this chain, missing only its newline: it
 * parses, it is this component's, it is in its day's file, and it links to the record
 * before it (its prev that record's hash, its seq the next, its time not earlier). A crash
 * after the write but before the newline reached the disk leaves one; it is put back, not
 * thrown away. */
static bool torn_is_whole(jpki_audit *a, const jpki_audit_files *files, size_t idx, int fd,
	off_t start, const char *torn, size_t len)
{
	jpki_audit_entry e = { 0 }, p = { 0 };
	chain_state before;
	off_t pstart;
	size_t plen;
	char *pline, day[11];
	jpki_err why;
	bool whole = false;

	if (jpki_audit_entry_parse(torn, len, &e, &why) < 0)
		return false;
	if (start > 0) {
		/* the line before it, in this file */
		pline = line_before(fd, start - 1, &pstart, &plen);
		if (pline == NULL || jpki_audit_entry_parse(pline, plen, &p, &why) < 0) {
			free(pline);
			goto out;
		}
		free(pline);
		before.seq = p.seq;
		memcpy(before.hash, p.hash, sizeof(before.hash));
		before.t = p.t;
		before.usec = p.usec;
	} else if (chain_before(a, files, idx, &before) < 0) {
		goto out;
	}
	jpki_utc_day(e.t, day);
	whole = strcmp(e.component, a->component) == 0 && strcmp(day, files->v[idx].date) == 0 &&
		e.seq == before.seq + 1 && strcmp(e.prev, before.hash) == 0 &&
		(e.t > before.t || (e.t == before.t && e.usec >= before.usec));
out:
	jpki_audit_entry_clear(&e);
	jpki_audit_entry_clear(&p);
	return whole;
}

/* The last complete line of files[idx] into e (1), or none (0). A torn tail is made whole
 * again when it is a whole record without its newline (torn_is_whole), else cut away. */
static int resume_file(jpki_audit *a, const jpki_audit_files *files, size_t idx, jpki_audit_entry *e,
	jpki_err *err)
{
	const char *path = files->v[idx].path;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	off_t end, start;
	char last, *line = NULL, torn_hash[JPKI_AUDIT_HEX_LEN + 1];
	size_t len;
	jpki_err why;
	int rc = -1;

	if (fd < 0)
		return jpki_errf(err, "audit file %s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		jpki_errf(err, "audit file %s: %s", path, strerror(errno));
		goto out;
	}
	end = st.st_size;
	if (end > 0 && pread(fd, &last, 1, end - 1) != 1) {
		jpki_errf(err, "audit file %s: read: %s", path, strerror(errno));
		goto out;
	}
	if (end > 0 && last != '\n') {
		/* A torn line: a crash in the middle of a write. */
		if ((line = line_before(fd, end, &start, &len)) == NULL) {
			jpki_errf(err, "audit file %s: cannot read its last line", path);
			goto out;
		}
		jpki_sha256_hex(line, len, torn_hash);
		if (torn_is_whole(a, files, idx, fd, start, line, len)) {
			if (pwrite(fd, "\n", 1, end) != 1 || fsync(fd) != 0) {
				jpki_errf(err, "audit file %s: cannot restore the newline of its last record: %s",
					path, strerror(errno));
				goto out;
			}
			notice(a, "%s: restored the newline of the last record (%lld bytes at offset %lld, "
				"sha256 %s), whole but for it after a crash", path, (long long)len,
				(long long)start, torn_hash);
			end++;
		} else {
			/* Not a record of this chain: cut it, and say so in the chain. */
			if (ftruncate(fd, start) != 0 || fsync(fd) != 0) {
				jpki_errf(err, "audit file %s: cannot cut the torn last line: %s", path,
					strerror(errno));
				goto out;
			}
			notice(a, "%s: cut a torn last line (%lld bytes at offset %lld, sha256 %s), left by a crash",
				path, (long long)len, (long long)start, torn_hash);
			a->pending_recovery = true;
			snprintf(a->recovery, sizeof(a->recovery),
				"{\"file\":\"%s\",\"offset\":%lld,\"bytes\":%lld,\"sha256\":\"%s\"}",
				strrchr(path, '/') + 1, (long long)start, (long long)len, torn_hash);
			end = start;
		}
		free(line);
		line = NULL;
	}
	if (end == 0) {
		rc = 0;
		goto out;
	}
	if ((line = line_before(fd, end - 1, &start, &len)) == NULL) {
		jpki_errf(err, "audit file %s: cannot read its last line", path);
		goto out;
	}
	if (jpki_audit_entry_parse(line, len, e, &why) < 0) {
		jpki_errf(err, "audit file %s: cannot resume: its last line is not a record (%s); "
			"run jpki audit verify", path, why.text);
		goto out;
	}
	rc = 1;
out:
	free(line);
	close(fd);
	return rc;
}

/* Where the chain stands: the newest file's last record, else the anchor, else nothing. */
static int resume(jpki_audit *a, jpki_err *err)
{
	jpki_audit_files files;
	jpki_audit_entry e = { 0 };
	jpki_audit_anchor an;
	size_t i;
	int rc = 0;

	memset(&a->head, 0, sizeof(a->head));
	memset(a->head.hash, '0', JPKI_AUDIT_HEX_LEN);
	if (jpki_audit_files_list(a->dir, a->component, &files, err) < 0)
		return -1;
	for (i = files.n; i-- > 0 && rc == 0;)
		rc = resume_file(a, &files, i, &e, err);
	if (rc == 1 && strcmp(e.component, a->component) != 0)
		rc = jpki_errf(err, "audit file %s: cannot resume: its last record is of component '%s'",
			files.v[i + 1].path, e.component);
	if (rc == 1) {
		a->head.seq = e.seq;
		memcpy(a->head.hash, e.hash, sizeof(a->head.hash));
		a->head.t = e.t;
		a->head.usec = e.usec;
		rc = 0;
	} else if (rc == 0) {
		rc = jpki_audit_anchor_read(a->dir, a->component, &an, err);
		if (rc == 1) {
			/* Not what a prune leaves (it keeps the newest file): the day of the anchor's
			 * record is unknown, and the next day-start checkpoint cannot sign it. */
			notice(a, "no day file left, resuming from %s.anchor alone (seq %lld, pruned through %s): "
				"the files after it were removed; verify --cert will not confirm the anchor",
				a->component, an.seq, an.pruned_through);
			a->head.seq = an.seq;
			memcpy(a->head.hash, an.hash, sizeof(a->head.hash));
			rc = 0;
		}
	}
	jpki_audit_entry_clear(&e);
	jpki_audit_files_free(&files);
	a->durable = a->head;
	return rc;
}

static int lock_component(jpki_audit *a, jpki_err *err)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/.%s.lock", a->dir, a->component) >= (int)sizeof(path))
		return jpki_errf(err, "audit directory %s: path too long", a->dir);
	a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (a->lock_fd < 0)
		return jpki_errf(err, "audit lock %s: %s", path, strerror(errno));
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return jpki_errf(err, "audit lock %s: %s", path, errno == EWOULDBLOCK ?
			"another process is writing this component's records" : strerror(errno));
	return 0;
}

static int open_checkpoint_key(jpki_audit *a, const jpki_audit_opts *o, jpki_err *err)
{
	EVP_PKEY *cert_key;
	int same;

	if (o->checkpoint_key_uri == NULL)
		return 0;
	if (jpki_p11key_open(o->checkpoint_key_uri, o->checkpoint_pin_file, &a->key, err) < 0)
		return -1;
	if (o->checkpoint_cert == NULL)
		return 0;
	if ((cert_key = jpki_audit_checkpoint_key_load(o->checkpoint_cert, err)) == NULL)
		return -1;
	same = jpki_p11key_pubkey(a->key) != NULL && EVP_PKEY_eq(cert_key, jpki_p11key_pubkey(a->key)) == 1;
	EVP_PKEY_free(cert_key);
	if (!same)
		return jpki_errf(err, "audit checkpoint key %s does not match the certificate %s",
			o->checkpoint_key_uri, o->checkpoint_cert);
	return 0;
}

int jpki_audit_open(const jpki_audit_opts *o, jpki_audit **out, jpki_err *err)
{
	jpki_audit *a;
	struct stat st;
	pthread_condattr_t ca;
	waiter w = { 0 };
	jpki_audit_record rec = { .event = "audit-recovery", .result = "ok", .identity = "",
		.auth = "none", .client = "", .method = NULL, .conn = -1, .op = -1 };
	char *middle;
	int rc;

	*out = NULL;
	if (o->dir == NULL || o->component == NULL || o->component[0] == '\0' ||
	    strspn(o->component, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		    strlen(o->component) || strlen(o->component) >= JPKI_AUDIT_COMPONENT_MAX)
		return jpki_errf(err, "audit: a directory and a component name of letters, digits, - "
			"and _ are needed");
	if (stat(o->dir, &st) != 0)
		return jpki_errf(err, "audit directory %s: %s", o->dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return jpki_errf(err, "audit directory %s: not a directory", o->dir);
	/* jansson seeds its hash function on first use; seeded here, before the callers'
	 * threads run, rather than racing in them (a no-op once seeded). */
	json_object_seed(0);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return jpki_errf(err, "audit: out of memory");
	a->fd = a->lock_fd = -1;
	a->policy = o->policy;
	a->every = o->checkpoint_every ? o->checkpoint_every : JPKI_AUDIT_DEFAULT_CHECKPOINT_EVERY;
	a->group_wait_us = o->group_wait_us;
	a->expect = o->expect;
	a->expect_arg = o->expect_arg;
	a->log = o->log;
	a->log_arg = o->log_arg;
	a->pending = &a->batches[0];
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->work, &ca);
	pthread_condattr_destroy(&ca);
	if ((a->dir = strdup(o->dir)) == NULL || (a->component = strdup(o->component)) == NULL) {
		jpki_audit_close(a);
		return jpki_errf(err, "audit: out of memory");
	}
	if (lock_component(a, err) < 0 || resume(a, err) < 0 || open_checkpoint_key(a, o, err) < 0) {
		jpki_audit_close(a);
		return -1;
	}
	if (pthread_create(&a->thread, NULL, writer, a) != 0) {
		jpki_audit_close(a);
		return jpki_errf(err, "audit: cannot start the writer thread");
	}
	a->thread_started = true;
	if (a->pending_recovery) {
		rec.details = a->recovery;
		if ((middle = record_middle(a, &rec, err)) == NULL) {
			jpki_audit_close(a);
			return -1;
		}
		pthread_mutex_lock(&a->mu);
		rc = enqueue_record(a, middle, &w.seq, err);
		if (rc == 0)
			rc = wait_for(a, &w, err);	/* releases mu */
		else
			pthread_mutex_unlock(&a->mu);
		free(middle);
		if (rc < 0) {
			jpki_audit_close(a);
			return -1;
		}
	}
	*out = a;
	return 0;
}

void jpki_audit_close(jpki_audit *a)
{
	waiter w = { 0 };
	jpki_err e;
	int i;

	if (a == NULL)
		return;
	if (a->thread_started) {
		pthread_mutex_lock(&a->mu);
		if (a->key != NULL && a->head.since_checkpoint > 0) {
			if (enqueue_checkpoint(a, &w.seq, &e) < 0)
				notice(a, "closing checkpoint: %s", e.text);
			else {
				if (wait_for(a, &w, &e) < 0)	/* releases mu */
					notice(a, "closing checkpoint: %s", e.text);
				pthread_mutex_lock(&a->mu);
			}
		}
		a->stopping = true;
		pthread_cond_signal(&a->work);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	if (a->fd >= 0)
		close(a->fd);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	jpki_p11key_close(a->key);
	for (i = 0; i < 2; i++) {
		free(a->batches[i].buf);
		free(a->batches[i].segs);
	}
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->work);
	free(a->dir);
	free(a->component);
	free(a);
}
