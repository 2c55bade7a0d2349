/* Unit tests for lib/audit.c and lib/audit_read.c: records and their chain, resume, daily
 * rotation with an injected clock, a clock stepped back, group commit from 8 threads, records
 * submitted without waiting (completions, failures), a torn
 * last line (and a whole record missing only its newline, put back), a write that fails
 * (RLIMIT_FSIZE) leaving the chain as it was on disk, the component lock, what verify names
 * for an edited, deleted or reordered record, emptied files, the anchor's date and its
 * confirming checkpoint, records noted earlier (--expect), the components that left a mark,
 * and the escaping of what show and report print. */
#include "audit.h"
#include "audit_read.h"

#include <CUnit/CUnit.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_main.h"
#include "digest.h"
#include "ledger.h"

#define DN "uid=sig,ou=Verifiers,ou=Chiba-ken,o=JPKI,c=JP"

static time_t clock_now;
static long clock_step;

static time_t test_clock(void)
{
	time_t t = clock_now;

	clock_now += clock_step;
	return t;
}

static void set_clock(const char *utc, long step)
{
	CU_ASSERT_FATAL(jpki_parse_utc(utc, &clock_now) == 0);
	clock_step = step;
	jpki_audit_set_clock(test_clock);
}

static char *new_dir(void)
{
	char *d = strdup("/tmp/jpki-audit-unit-XXXXXX");

	CU_ASSERT_FATAL(d != NULL && mkdtemp(d) != NULL);
	return d;
}

static void rm_dir(char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	CU_ASSERT(system(cmd) == 0);
	free(d);
}

static jpki_audit *open_log(const char *dir, const char *component)
{
	jpki_audit_opts o = { .dir = dir, .component = component };
	jpki_audit *a = NULL;
	jpki_err err = { "" };

	if (jpki_audit_open(&o, &a, &err) < 0)
		fprintf(stderr, "open: %s\n", err.text);
	CU_ASSERT_FATAL(a != NULL);
	return a;
}

static int append(jpki_audit *a, const char *event, const char *details)
{
	jpki_audit_record r = { .event = event, .result = "ok", .identity = DN, .auth = "simple",
		.client = "192.0.2.1:40000", .method = "ldap", .conn = 7, .op = 2, .details = details };
	jpki_err err = { "" };

	return jpki_audit_append(a, &r, &err);
}

/* n records of event, in a trail of component opened and closed for them. */
static void write_records(const char *dir, const char *component, const char *event, int n)
{
	jpki_audit *a = open_log(dir, component);
	int i;

	for (i = 0; i < n; i++)
		CU_ASSERT(append(a, event, NULL) == 0);
	jpki_audit_close(a);
}

/* The lines of a file (without newlines); NULL-terminated, caller frees. */
static char **lines_of(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "r");
	char **v = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t got;

	*n = 0;
	if (fp == NULL)
		return NULL;
	while ((got = getline(&line, &cap, fp)) > 0) {
		v = realloc(v, (*n + 2) * sizeof(*v));
		if (line[got - 1] == '\n')
			line[got - 1] = '\0';
		v[(*n)++] = strdup(line);
		v[*n] = NULL;
	}
	free(line);
	fclose(fp);
	return v;
}

static void lines_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char *file_of(const char *dir, const char *component, const char *day)
{
	char *p;

	CU_ASSERT_FATAL(asprintf(&p, "%s/%s-%s.jsonl", dir, component, day) > 0);
	return p;
}

/* Verifies a component's chain in dir; returns the rc, fills res. */
static int verify_dir(const char *dir, const char *component, jpki_audit_verify_result *res,
	jpki_err *err)
{
	jpki_audit_files f;
	jpki_audit_verify_opts o = { 0 };
	int rc;

	CU_ASSERT_FATAL(jpki_audit_files_list(dir, component, &f, err) == 0);
	rc = jpki_audit_verify(f.v, f.n, &o, res, err);
	jpki_audit_files_free(&f);
	return rc;
}

static void test_record_format(void)
{
	char *dir = new_dir(), *path, **l, hash[JPKI_AUDIT_HEX_LEN + 1];
	jpki_audit *a;
	jpki_audit_entry e = { 0 };
	jpki_err err = { "" };
	size_t n;

	set_clock("2026-11-26T07:44:14Z", 1);
	a = open_log(dir, "slapd");
	CU_ASSERT(append(a, "crl-read", "{\"entries\":[\"cn=121002,ou=CRL Distribution Points\"]}") == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	path = file_of(dir, "slapd", "2026-11-26");
	l = lines_of(path, &n);
	CU_ASSERT_FATAL(n == 2);
	CU_ASSERT_STRING_EQUAL(l[0], "{\"v\":1,\"seq\":1,\"time\":\"2026-11-26T07:44:14.000000Z\","
		"\"component\":\"slapd\",\"event\":\"crl-read\",\"result\":\"ok\",\"identity\":\"" DN "\","
		"\"auth\":\"simple\",\"client\":\"192.0.2.1:40000\",\"method\":\"ldap\",\"conn\":7,\"op\":2,"
		"\"details\":{\"entries\":[\"cn=121002,ou=CRL Distribution Points\"]},"
		"\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}");
	jpki_sha256_hex(l[0], strlen(l[0]), hash);
	CU_ASSERT(strstr(l[1], "\"details\":{}") != NULL);
	CU_ASSERT(strstr(l[1], hash) != NULL);
	CU_ASSERT(jpki_audit_entry_parse(l[1], strlen(l[1]), &e, &err) == 0);
	CU_ASSERT(e.seq == 2);
	CU_ASSERT_STRING_EQUAL(e.prev, hash);
	CU_ASSERT(e.t == clock_now - 1);
	jpki_audit_entry_clear(&e);
	lines_free(l, n);
	free(path);
	rm_dir(dir);
}

static void test_resume(void)
{
	char *dir = new_dir(), *path, **l, hash[JPKI_AUDIT_HEX_LEN + 1];
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	size_t n;

	set_clock("2026-05-01T10:00:00Z", 1);
	write_records(dir, "ocspd", "ocsp-request", 3);
	a = open_log(dir, "ocspd");
	CU_ASSERT(append(a, "ocsp-request", NULL) == 0);
	jpki_audit_close(a);
	path = file_of(dir, "ocspd", "2026-05-01");
	l = lines_of(path, &n);
	CU_ASSERT_FATAL(n == 4);
	jpki_sha256_hex(l[2], strlen(l[2]), hash);
	CU_ASSERT(strstr(l[3], "\"seq\":4,") != NULL);
	CU_ASSERT(strstr(l[3], hash) != NULL);
	CU_ASSERT(verify_dir(dir, "ocspd", &res, &err) == 0);
	CU_ASSERT(res.records == 4 && res.last_seq == 4);
	lines_free(l, n);
	free(path);
	rm_dir(dir);
}

static void test_rotation(void)
{
	char *dir = new_dir(), *p1, *p2, **l1, **l2, hash[JPKI_AUDIT_HEX_LEN + 1];
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	size_t n1, n2;

	set_clock("2026-03-31T23:59:58Z", 1);
	write_records(dir, "slapd", "crl-read", 5);
	p1 = file_of(dir, "slapd", "2026-03-31");
	p2 = file_of(dir, "slapd", "2026-04-01");
	l1 = lines_of(p1, &n1);
	l2 = lines_of(p2, &n2);
	CU_ASSERT_FATAL(n1 == 2 && n2 == 3);
	jpki_sha256_hex(l1[1], strlen(l1[1]), hash);
	CU_ASSERT(strstr(l2[0], "\"seq\":3,\"time\":\"2026-04-01T00:00:00.000000Z\"") != NULL);
	CU_ASSERT(strstr(l2[0], hash) != NULL);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 5);
	/* Resuming continues in the newest file. */
	a = open_log(dir, "slapd");
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	lines_free(l2, n2);
	l2 = lines_of(p2, &n2);
	CU_ASSERT(n2 == 4 && strstr(l2[3], "\"seq\":6,") != NULL);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	/* A missing middle file is a seq gap at the next file's first line. */
	set_clock("2026-04-02T00:00:00Z", 1);
	a = open_log(dir, "slapd");
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	CU_ASSERT(unlink(p2) == 0);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "seq");
	CU_ASSERT(res.bad_line == 1 && res.bad_seq == 7);
	CU_ASSERT(strstr(res.bad_path, "slapd-2026-04-02.jsonl") != NULL);
	lines_free(l1, n1);
	lines_free(l2, n2);
	free(p1);
	free(p2);
	rm_dir(dir);
}

static void test_clock_backwards(void)
{
	char *dir = new_dir(), *path, **l;
	jpki_audit *a;
	size_t n;

	set_clock("2026-06-01T12:00:00Z", -100);
	a = open_log(dir, "slapd");
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	path = file_of(dir, "slapd", "2026-06-01");
	l = lines_of(path, &n);
	CU_ASSERT_FATAL(n == 2);
	CU_ASSERT(strstr(l[1], "\"time\":\"2026-06-01T12:00:00.000000Z\"") != NULL);
	lines_free(l, n);
	free(path);
	rm_dir(dir);
}

typedef struct worker {
	jpki_audit *a;
	int n, failed;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	char details[64];
	int i;

	for (i = 0; i < w->n; i++) {
		snprintf(details, sizeof(details), "{\"certids\":[{\"serial\":\"%X\",\"status\":\"good\"}]}", i);
		if (append(w->a, "ocsp-request", details) < 0)
			w->failed++;
	}
	return NULL;
}

static void test_concurrent(void)
{
	char *dir = new_dir();
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	pthread_t th[8];
	worker w[8];
	int i;

	jpki_audit_set_clock(NULL);
	a = open_log(dir, "ocspd");
	for (i = 0; i < 8; i++) {
		w[i].a = a;
		w[i].n = 500;
		w[i].failed = 0;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, work, &w[i]) == 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT(w[i].failed == 0);
	}
	jpki_audit_close(a);
	if (verify_dir(dir, "ocspd", &res, &err) < 0)
		fprintf(stderr, "verify: %s\n", err.text);
	CU_ASSERT(res.records == 4000);
	CU_ASSERT(res.first_seq == 1 && res.last_seq == 4000);
	rm_dir(dir);
}

/* details of n - 1 bytes: {"pad":"xxx…"} */
static void big_details(char *big, size_t n)
{
	snprintf(big, n, "{\"pad\":\"");
	memset(big + 8, 'x', n - 8);
	snprintf(big + n - 3, 3, "\"}");
}

/* Files may not grow past `bytes` (EFBIG, SIGXFSZ ignored) until *old is set back. */
static void limit_file_size(struct rlimit *old, rlim_t bytes)
{
	struct rlimit lim;

	CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, old) == 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = *old;
	lim.rlim_cur = bytes;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);
}

/* Strings are escaped as JSON (quotes, backslashes, control characters), UTF-8 kept, bytes
 * that are not UTF-8 written as \xNN text; details spanning lines become one line. */
static void test_escaping(void)
{
	char *dir = new_dir(), *path, **l;
	jpki_audit *a;
	jpki_audit_entry e = { 0 };
	jpki_err err = { "" };
	jpki_audit_record r = { .event = "crl-read", .result = "refused: rule (e) \"x\"",
		.identity = "cn=\xe5\x8d\x83\xe8\x91\x89,o=a\\b", .auth = "simple",
		.client = "tab\there\x01\xff", .method = "ldap", .conn = 1, .op = 2,
		.details = "{\n  \"entries\": [\"a\"]\n}" };
	size_t n;

	set_clock("2026-11-26T07:44:14Z", 1);
	a = open_log(dir, "slapd");
	CU_ASSERT(jpki_audit_append(a, &r, &err) == 0);
	jpki_audit_close(a);
	path = file_of(dir, "slapd", "2026-11-26");
	l = lines_of(path, &n);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT(strstr(l[0], "\"result\":\"refused: rule (e) \\\"x\\\"\"") != NULL);
	CU_ASSERT(strstr(l[0], "\"client\":\"tab\\there\\u0001\\\\xff\"") != NULL);
	CU_ASSERT(strstr(l[0], "\"details\":{\"entries\":[\"a\"]}") != NULL);
	CU_ASSERT_FATAL(jpki_audit_entry_parse(l[0], strlen(l[0]), &e, &err) == 0);
	CU_ASSERT_STRING_EQUAL(e.identity, "cn=\xe5\x8d\x83\xe8\x91\x89,o=a\\b");
	CU_ASSERT_STRING_EQUAL(e.result, "refused: rule (e) \"x\"");
	CU_ASSERT_STRING_EQUAL(e.client, "tab\there\x01\\xff");
	jpki_audit_entry_clear(&e);
	lines_free(l, n);
	free(path);
	rm_dir(dir);
}

/* Completions of submitted records, counted under a lock; durable ones must arrive in
 * seq order of their batches, every one exactly once. */
typedef struct completions {
	pthread_mutex_t mu;
	pthread_cond_t all;
	int expected, ok, failed;
	char why[256];
} completions;

static void completed(void *arg, int rc, const char *why)
{
	completions *c = arg;

	pthread_mutex_lock(&c->mu);
	if (rc == 0)
		c->ok++;
	else {
		c->failed++;
		snprintf(c->why, sizeof(c->why), "%s", why != NULL ? why : "(no reason)");
	}
	if (c->ok + c->failed == c->expected)
		pthread_cond_signal(&c->all);
	pthread_mutex_unlock(&c->mu);
}

static void wait_all(completions *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->ok + c->failed < c->expected)
		pthread_cond_wait(&c->all, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

static int submit(jpki_audit *a, completions *c, const char *details)
{
	jpki_audit_record r = { .event = "ocsp-request", .result = "ok", .identity = DN,
		.auth = "signature", .client = "192.0.2.1:40000", .method = "ocsp", .conn = -1, .op = -1,
		.details = details };
	jpki_err err = { "" };

	return jpki_audit_submit(a, &r, completed, c, &err);
}

/* Submitted records (a server that holds the answer, not a thread) complete once each, after
 * they are on disk, interleaved with blocking appends, in one chain. */
static void test_submit(void)
{
	char *dir = new_dir();
	completions c = { .mu = PTHREAD_MUTEX_INITIALIZER, .all = PTHREAD_COND_INITIALIZER, .expected = 3000 };
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	int i;

	jpki_audit_set_clock(NULL);
	a = open_log(dir, "ocspd");
	for (i = 0; i < 3000; i++) {
		CU_ASSERT(submit(a, &c, NULL) == 0);
		if (i % 500 == 0)
			CU_ASSERT(append(a, "ocsp-request", NULL) == 0);
	}
	wait_all(&c);
	CU_ASSERT(c.ok == 3000 && c.failed == 0);
	/* A malformed record is refused at once; its completion never comes. */
	CU_ASSERT(submit(a, &c, "[not an object]") < 0);
	jpki_audit_close(a);
	CU_ASSERT(c.ok == 3000 && c.failed == 0);
	if (verify_dir(dir, "ocspd", &res, &err) < 0)
		fprintf(stderr, "verify: %s\n", err.text);
	CU_ASSERT(res.records == 3006 && res.last_seq == 3006);
	rm_dir(dir);
}

static unsigned expect_some(void *arg)
{
	(void)arg;
	return 5;
}

/* With a group wait, a batch smaller than the group is still written (after the wait), and
 * close does not wait out a window in progress. */
static void test_group_wait(void)
{
	char *dir = new_dir();
	completions c = { .mu = PTHREAD_MUTEX_INITIALIZER, .all = PTHREAD_COND_INITIALIZER, .expected = 3 };
	jpki_audit_opts o = { .dir = dir, .component = "ocspd", .group_wait_us = 20000, .expect = expect_some };
	jpki_audit *a = NULL;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	int i;

	jpki_audit_set_clock(NULL);
	CU_ASSERT_FATAL(jpki_audit_open(&o, &a, &err) == 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT(submit(a, &c, NULL) == 0);
	wait_all(&c);
	CU_ASSERT(c.ok == 3);
	CU_ASSERT(append(a, "ocsp-request", NULL) == 0);
	c.expected = 3 + JPKI_AUDIT_GROUP_RECORDS;
	for (i = 0; i < JPKI_AUDIT_GROUP_RECORDS; i++)
		CU_ASSERT(submit(a, &c, NULL) == 0);
	wait_all(&c);
	CU_ASSERT(c.ok == 3 + JPKI_AUDIT_GROUP_RECORDS);
	CU_ASSERT(submit(a, &c, NULL) == 0);	/* still waiting for company when close comes */
	jpki_audit_close(a);
	CU_ASSERT(c.ok == 4 + JPKI_AUDIT_GROUP_RECORDS);
	CU_ASSERT(verify_dir(dir, "ocspd", &res, &err) == 0);
	CU_ASSERT(res.records == 5 + JPKI_AUDIT_GROUP_RECORDS);
	rm_dir(dir);
}

static atomic_uint in_flight;

static unsigned expect_in_flight(void *arg)
{
	(void)arg;
	return atomic_load(&in_flight);
}

/* Like wait_all, giving up after seconds: false when the completions did not all come. */
static bool wait_all_for(completions *c, int seconds)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&c->mu);
	while (c->ok + c->failed < c->expected)
		if (pthread_cond_timedwait(&c->all, &c->mu, &until) != 0)
			break;
	done = c->ok + c->failed == c->expected;
	pthread_mutex_unlock(&c->mu);
	return done;
}

/* The group wait ends as soon as nothing more is expected: the last answer in flight does
 * not sit out the window (60 s here; the completions must come long before). */
static void test_group_wait_ends(void)
{
	char *dir = new_dir();
	completions c = { .mu = PTHREAD_MUTEX_INITIALIZER, .all = PTHREAD_COND_INITIALIZER, .expected = 1 };
	jpki_audit_opts o = { .dir = dir, .component = "ocspd", .group_wait_us = 60000000,
		.expect = expect_in_flight };
	jpki_audit *a = NULL;
	jpki_err err = { "" };

	jpki_audit_set_clock(NULL);
	CU_ASSERT_FATAL(jpki_audit_open(&o, &a, &err) == 0);
	/* Nothing else expected: the lone record is not held. */
	atomic_store(&in_flight, 0);
	CU_ASSERT(submit(a, &c, NULL) == 0);
	CU_ASSERT(wait_all_for(&c, 10));
	/* Two in flight: the first record waits for the second, which then ends the wait. */
	atomic_store(&in_flight, 1);
	c.expected = 3;
	CU_ASSERT(submit(a, &c, NULL) == 0);
	usleep(50000);	/* let the writer start its wait */
	atomic_store(&in_flight, 0);
	CU_ASSERT(submit(a, &c, NULL) == 0);
	CU_ASSERT(wait_all_for(&c, 10));
	CU_ASSERT(c.ok == 3);
	jpki_audit_close(a);
	rm_dir(dir);
}

/* A record that cannot be written completes with the reason; what is on disk still verifies. */
static void test_submit_failure(void)
{
	char *dir = new_dir(), big[2048];
	completions c = { .mu = PTHREAD_MUTEX_INITIALIZER, .all = PTHREAD_COND_INITIALIZER, .expected = 6 };
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	struct rlimit old;
	int i;

	jpki_audit_set_clock(NULL);
	big_details(big, sizeof(big));
	a = open_log(dir, "ocspd");
	limit_file_size(&old, 8192);
	for (i = 0; i < 6; i++)
		CU_ASSERT(submit(a, &c, big) == 0);
	wait_all(&c);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CU_ASSERT(c.failed > 0 && c.ok + c.failed == 6);
	CU_ASSERT(strstr(c.why, "write") != NULL);
	jpki_audit_close(a);
	CU_ASSERT(verify_dir(dir, "ocspd", &res, &err) == 0);
	CU_ASSERT(res.records == (unsigned long long)c.ok);
	rm_dir(dir);
}

static char logged[1024];

static void capture(void *arg, const char *message)
{
	(void)arg;
	snprintf(logged, sizeof(logged), "%s", message);
}

/* A clock far behind the trail's last record (one that was set ahead and then put right)
 * is said in the log: every record meanwhile keeps the last, future time. */
static void test_clock_behind_noticed(void)
{
	char *dir = new_dir();
	jpki_audit_opts o = { .dir = dir, .component = "slapd", .log = capture };
	jpki_audit *a = NULL;
	jpki_err err = { "" };

	logged[0] = '\0';
	set_clock("2036-01-01T00:00:00Z", 0);
	CU_ASSERT_FATAL(jpki_audit_open(&o, &a, &err) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT_PTR_NULL(strstr(logged, "behind"));
	set_clock("2026-11-26T00:00:00Z", 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "the clock is 287107200 s behind the trail's last record"));
	jpki_audit_close(a);
	rm_dir(dir);
}

static void test_torn_line(void)
{
	static const char torn[] = "{\"v\":1,\"seq\":4,\"time\":\"2026-07";
	char *dir = new_dir(), *path, **l, hash[JPKI_AUDIT_HEX_LEN + 1];
	jpki_audit_opts o = { .component = "slapd", .log = capture };
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	FILE *fp;
	size_t n;
	struct stat st;

	set_clock("2026-07-07T07:07:07Z", 1);
	a = open_log(dir, "slapd");
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	path = file_of(dir, "slapd", "2026-07-07");
	CU_ASSERT_FATAL((fp = fopen(path, "a")) != NULL);
	fputs(torn, fp);
	fclose(fp);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "truncated");
	CU_ASSERT(res.bad_line == 4);
	CU_ASSERT(stat(path, &st) == 0);

	o.dir = dir;
	logged[0] = '\0';
	CU_ASSERT_FATAL(jpki_audit_open(&o, &a, &err) == 0);
	CU_ASSERT(strstr(logged, "torn last line") != NULL);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	l = lines_of(path, &n);
	CU_ASSERT_FATAL(n == 5);
	jpki_sha256_hex(l[2], strlen(l[2]), hash);
	/* The recovery record links to the last complete record and says what was cut. */
	CU_ASSERT(strstr(l[3], "\"seq\":4,") != NULL);
	CU_ASSERT(strstr(l[3], "\"event\":\"audit-recovery\"") != NULL);
	CU_ASSERT(strstr(l[3], hash) != NULL);
	snprintf(hash, sizeof(hash), "\"bytes\":%zu,", sizeof(torn) - 1);
	CU_ASSERT(strstr(l[3], hash) != NULL);
	CU_ASSERT(strstr(l[4], "\"seq\":5,") != NULL);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 5);
	lines_free(l, n);
	free(path);
	rm_dir(dir);
}

static void test_write_failure(void)
{
	char *dir = new_dir(), *path, **l, big[2048];
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	jpki_audit_record r = { .event = "crl-read", .result = "ok", .identity = DN, .auth = "simple",
		.client = "", .method = "ldap", .conn = 1, .op = 1 };
	struct rlimit old;
	int i, ok = 0, failed = 0;
	size_t n;

	set_clock("2026-08-08T08:08:08Z", 1);
	big_details(big, sizeof(big));
	a = open_log(dir, "slapd");
	/* The file may not grow past 8 KiB: the 4th or 5th record fails with EFBIG. */
	limit_file_size(&old, 8192);
	r.details = big;
	for (i = 0; i < 6; i++) {
		if (jpki_audit_append(a, &r, &err) == 0)
			ok++;
		else
			failed++;
	}
	CU_ASSERT(ok == 3);
	CU_ASSERT(failed == 3);
	CU_ASSERT(strstr(err.text, "audit record not written") != NULL);
	CU_ASSERT(strstr(err.text, "write") != NULL);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &old) == 0);
	/* What is on disk verifies; the next record links to the last durable one. */
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 3);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 4 && res.last_seq == 4);
	path = file_of(dir, "slapd", "2026-08-08");
	l = lines_of(path, &n);
	CU_ASSERT(n == 4);
	lines_free(l, n);
	free(path);
	rm_dir(dir);
}

static void test_refusals(void)
{
	char *dir = new_dir();
	jpki_audit *a, *b = NULL;
	jpki_audit_opts o = { .dir = dir, .component = "slapd" };
	jpki_audit_record r = { .event = "crl-read", .result = "ok", .details = "[1,2]" };
	jpki_audit_verify_result res;
	jpki_err err = { "" };

	jpki_audit_set_clock(NULL);
	a = open_log(dir, "slapd");
	CU_ASSERT(jpki_audit_append(a, &r, &err) < 0);
	CU_ASSERT(strstr(err.text, "not a JSON object") != NULL);
	/* Details an encoder made are taken as given, but never something that is no object. */
	r.details_made = true;
	CU_ASSERT(jpki_audit_append(a, &r, &err) < 0);
	CU_ASSERT(strstr(err.text, "not a JSON object") != NULL);
	r.details_made = false;
	r.details = NULL;
	r.result = NULL;
	CU_ASSERT(jpki_audit_append(a, &r, &err) < 0);
	/* One writer per component. */
	CU_ASSERT(jpki_audit_open(&o, &b, &err) < 0);
	CU_ASSERT(strstr(err.text, "another process") != NULL);
	o.component = "../x";
	CU_ASSERT(jpki_audit_open(&o, &b, &err) < 0);
	o.component = "slapd";
	o.dir = "/nonexistent/audit";
	CU_ASSERT(jpki_audit_open(&o, &b, &err) < 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 1 && res.first_seq == 1);
	rm_dir(dir);
}

/* Rewrites line `which` (1-based) of path with `text`, or drops it when text is NULL, or
 * swaps it with the next when text is "SWAP". */
static void rewrite(const char *path, size_t which, const char *text)
{
	size_t n, i;
	char **l = lines_of(path, &n), *tmp;
	FILE *fp = fopen(path, "w");

	if (text != NULL && strcmp(text, "SWAP") == 0) {
		tmp = l[which - 1];
		l[which - 1] = l[which];
		l[which] = tmp;
	}
	for (i = 0; i < n; i++) {
		if (i + 1 == which && text == NULL)
			continue;
		fprintf(fp, "%s\n", i + 1 == which && text != NULL && strcmp(text, "SWAP") != 0 ? text : l[i]);
	}
	fclose(fp);
	lines_free(l, n);
}

static void restore(const char *path, char **l, size_t n)
{
	FILE *fp = fopen(path, "w");
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(fp, "%s\n", l[i]);
	fclose(fp);
}

static void test_verify_names_the_record(void)
{
	char *dir = new_dir(), *path, **l, *edited, *at;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	size_t n;

	set_clock("2026-09-09T09:09:09Z", 1);
	write_records(dir, "slapd", "crl-read", 6);
	path = file_of(dir, "slapd", "2026-09-09");
	l = lines_of(path, &n);
	CU_ASSERT_FATAL(n == 6);
	/* edited content of record 3: named at line 3, rule chain */
	edited = strdup(l[2]);
	at = strstr(edited, "\"result\":\"ok\"");
	CU_ASSERT_FATAL(at != NULL);
	memcpy(at, "\"result\":\"OK\"", 13);
	rewrite(path, 3, edited);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) < 0);
	CU_ASSERT(res.bad_line == 3 && res.bad_seq == 3);
	CU_ASSERT_STRING_EQUAL(res.rule, "chain");
	rewrite(path, 3, l[2]);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	/* deleted record 4: a seq gap where it was */
	rewrite(path, 4, NULL);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) < 0);
	CU_ASSERT(res.bad_line == 4 && res.bad_seq == 5);
	CU_ASSERT_STRING_EQUAL(res.rule, "seq");
	CU_ASSERT(strstr(err.text, "record 4 is missing") != NULL);
	restore(path, l, n);
	/* records 2 and 3 swapped: named at line 2, where seq 3 came too early */
	rewrite(path, 2, "SWAP");
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) < 0);
	CU_ASSERT(res.bad_line == 2 && res.bad_seq == 3);
	CU_ASSERT_STRING_EQUAL(res.rule, "seq");
	restore(path, l, n);
	/* prev of record 5 edited: named at line 5 */
	free(edited);
	edited = strdup(l[4]);
	at = strstr(edited, "\"prev\":\"");
	at[8] = at[8] == 'a' ? 'b' : 'a';
	rewrite(path, 5, edited);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) < 0);
	CU_ASSERT(res.bad_line == 5 && res.bad_seq == 5);
	CU_ASSERT_STRING_EQUAL(res.rule, "chain");
	restore(path, l, n);
	/* record 2 cut short (its newline kept): named at line 2 */
	free(edited);
	edited = strndup(l[1], 40);
	rewrite(path, 2, edited);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) < 0);
	CU_ASSERT(res.bad_line == 2);
	CU_ASSERT_STRING_EQUAL(res.rule, "format");
	restore(path, l, n);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	lines_free(l, n);
	free(edited);
	free(path);
	rm_dir(dir);
}

/* Like verify_dir, with options. */
static int verify_with(const char *dir, const char *component, const jpki_audit_verify_opts *o,
	jpki_audit_verify_result *res, jpki_err *err)
{
	jpki_audit_files f;
	int rc;

	CU_ASSERT_FATAL(jpki_audit_files_list(dir, component, &f, err) == 0);
	rc = jpki_audit_verify(f.v, f.n, o, res, err);
	jpki_audit_files_free(&f);
	return rc;
}

static void truncate_to(const char *path, off_t size)
{
	CU_ASSERT_FATAL(truncate(path, size) == 0);
}

static off_t size_of(const char *path)
{
	struct stat st;

	CU_ASSERT_FATAL(stat(path, &st) == 0);
	return st.st_size;
}

/* Emptied files are not an empty log: with --sealed or after an anchor they fail. */
static void test_empty_chain(void)
{
	char *dir = new_dir(), *path;
	jpki_audit *a;
	jpki_audit_anchor an = { .seq = 5, .pruned_through = "2026-01-01" };
	jpki_audit_verify_opts o = { 0 };
	jpki_audit_verify_result res;
	jpki_err err = { "" };

	set_clock("2026-02-02T02:02:02Z", 1);
	a = open_log(dir, "slapd");
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	path = file_of(dir, "slapd", "2026-02-02");
	truncate_to(path, 0);
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) == 0);
	CU_ASSERT(res.records == 0);
	o.sealed = true;
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "checkpoint");
	CU_ASSERT(strstr(err.text, "slapd-2026-02-02.jsonl:1: rule checkpoint: no record") != NULL);
	o.sealed = false;
	memset(an.hash, 'a', JPKI_AUDIT_HEX_LEN);
	o.anchor = &an;
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "anchor");
	CU_ASSERT(strstr(err.text, "no record follows the anchor (seq 5") != NULL);
	free(path);
	rm_dir(dir);
}

/* The anchor: it cannot claim a file that remains as pruned; with anchor_checkpoint (always
 * with a key) the first record after it must be a checkpoint of its seq and hash. */
static void test_anchor_rules(void)
{
	char *dir = new_dir(), *p1, *p2, **l, details[256];
	jpki_audit *a;
	jpki_audit_anchor an = { .seq = 2, .pruned_through = "2026-04-01" };
	jpki_audit_verify_opts o = { .anchor = &an };
	jpki_audit_verify_result res;
	jpki_audit_record ck = { .event = "checkpoint", .result = "ok", .identity = "", .auth = "none",
		.client = "", .method = NULL, .conn = -1, .op = -1, .details = details };
	jpki_err err = { "" };
	size_t n;

	set_clock("2026-04-01T23:59:58Z", 1);
	write_records(dir, "slapd", "crl-read", 3);
	p1 = file_of(dir, "slapd", "2026-04-01");
	p2 = file_of(dir, "slapd", "2026-04-02");
	l = lines_of(p1, &n);
	CU_ASSERT_FATAL(n == 2);
	jpki_sha256_hex(l[1], strlen(l[1]), an.hash);
	lines_free(l, n);
	CU_ASSERT(unlink(p1) == 0);
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) == 0);
	CU_ASSERT(res.first_seq == 3);
	/* pruned through the date of a file that remains, or later: not this chain's anchor */
	snprintf(an.pruned_through, sizeof(an.pruned_through), "2026-04-02");
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "anchor");
	CU_ASSERT(res.bad_line == 1 && strstr(res.bad_path, "slapd-2026-04-02.jsonl") != NULL);
	CU_ASSERT(strstr(err.text, "says the files through 2026-04-02 were pruned") != NULL);
	snprintf(an.pruned_through, sizeof(an.pruned_through), "2099-12-31");
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "anchor");
	snprintf(an.pruned_through, sizeof(an.pruned_through), "2026-03-15");
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) == 0);
	/* not confirmed: the first record after it is no checkpoint */
	o.anchor_checkpoint = true;
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "anchor");
	CU_ASSERT(res.bad_line == 1 && res.bad_seq == 3);
	CU_ASSERT(strstr(err.text, "is not confirmed: the first record after it is not the checkpoint "
		"that starts a day file") != NULL);
	/* a slice takes its first record as given */
	o.partial = true;
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) == 0);
	o.partial = false;
	/* a day file that starts with a day-start checkpoint of the anchor's seq and hash, and
	 * of the day of its record, confirms it (its signature is checked only with a key; none
	 * here). Not: a checkpoint of the same seq and hash that is not a day-start one (as
	 * written within a day, up to which records could be cut), one whose day is not its own
	 * date, one without the day of the anchor's record (a writer resumed from the anchor
	 * alone: the files after it removed), one whose record is of a day after pruned_through
	 * (an anchor dated back past --retention). */
	l = lines_of(p2, &n);
	CU_ASSERT_FATAL(n == 1);
	static const struct { const char *day, *after, *pruned, *why; } cases[] = {
		{ NULL, NULL, "2026-04-01", "is not the checkpoint that starts a day file, signing its seq and "
			"hash (records deleted and the anchor written to match, up to a checkpoint within a day" },
		{ "2026-04-03", "2026-04-01", "2026-04-01", "day 2026-04-03 is not the date of the checkpoint's "
			"own time (2026-04-02)" },
		{ "2026-04-02", NULL, "2026-04-01", "the checkpoint after it does not sign the day of the "
			"anchor's record: the writer resumed from the anchor alone" },
		{ "2026-04-02", "2026-04-01", "2026-03-15", "the anchor says the files through 2026-03-15 were "
			"pruned, but the checkpoint after it signs that its record (seq 2) is of 2026-04-01" },
		{ "2026-04-02", "2026-04-01", "2026-04-01", NULL },
	};
	for (size_t d = 0; d < sizeof(cases) / sizeof(cases[0]); d++) {
		unlink(p2);
		set_clock("2026-04-02T00:00:00Z", 0);
		snprintf(an.pruned_through, sizeof(an.pruned_through), "%s", cases[d].pruned);
		CU_ASSERT_FATAL(jpki_audit_anchor_write(dir, "slapd", &an, &err) == 0);
		a = open_log(dir, "slapd");
		snprintf(details, sizeof(details), "{\"head\":\"%s\",\"seq\":2%s%s%s%s%s%s,\"signature\":\"AAAA\"}",
			an.hash, cases[d].day ? ",\"day\":\"" : "", cases[d].day ? cases[d].day : "",
			cases[d].day ? "\"" : "", cases[d].after ? ",\"after\":\"" : "",
			cases[d].after ? cases[d].after : "", cases[d].after ? "\"" : "");
		CU_ASSERT(jpki_audit_append(a, &ck, &err) == 0);	/* resumes from the anchor: seq 3 */
		CU_ASSERT(append(a, "crl-read", NULL) == 0);
		jpki_audit_close(a);
		if (cases[d].why != NULL) {
			CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
			CU_ASSERT_STRING_EQUAL(res.rule, "anchor");
			CU_ASSERT(strstr(err.text, cases[d].why) != NULL);
		}
	}
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) == 0);
	CU_ASSERT(res.records == 2 && res.first_seq == 3 && !res.anchor_confirmed);
	/* ... and one of another seq or hash does not */
	an.seq = 1;
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "seq");
	an.seq = 2;
	an.hash[0] = an.hash[0] == 'a' ? 'b' : 'a';
	CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "anchor");
	lines_free(l, n);
	free(p1);
	free(p2);
	rm_dir(dir);
}

/* A day-start checkpoint's "after" is the day of the record before it, a day of the calendar
 * before its own (it is what binds an anchor's pruned_through from below). */
static void test_checkpoint_after(void)
{
	static const struct { const char *after; const char *why; } cases[] = {
		{ "2026-04-01", NULL },
		{ "2026-03-31", "after 2026-03-31 is not the day of the record before it (2026-04-01)" },
		{ "2026-04-02", "after 2026-04-02 is not a day (YYYY-MM-DD) before the checkpoint's own" },
		{ "2026-02-30", "after 2026-02-30 is not a day (YYYY-MM-DD) before the checkpoint's own" },
		{ "2026-4-1", "after 2026-4-1 is not a day (YYYY-MM-DD) before the checkpoint's own" },
	};
	jpki_audit_verify_opts o = { 0 };
	jpki_audit_verify_result res;
	char details[256], head[JPKI_AUDIT_HEX_LEN + 1], *p1, **l;
	jpki_audit_record ck = { .event = "checkpoint", .result = "ok", .identity = "", .auth = "none",
		.client = "", .method = NULL, .conn = -1, .op = -1, .details = details };
	jpki_err err = { "" };
	jpki_audit *a;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = new_dir();

		set_clock("2026-04-01T23:59:59Z", 0);
		write_records(dir, "slapd", "crl-read", 1);
		p1 = file_of(dir, "slapd", "2026-04-01");
		l = lines_of(p1, &n);
		CU_ASSERT_FATAL(n == 1);
		jpki_sha256_hex(l[0], strlen(l[0]), head);
		lines_free(l, n);
		free(p1);
		set_clock("2026-04-02T00:00:00Z", 0);
		a = open_log(dir, "slapd");
		snprintf(details, sizeof(details), "{\"head\":\"%s\",\"seq\":1,\"day\":\"2026-04-02\","
			"\"after\":\"%s\",\"signature\":\"AAAA\"}", head, cases[i].after);
		CU_ASSERT(jpki_audit_append(a, &ck, &err) == 0);
		CU_ASSERT(append(a, "crl-read", NULL) == 0);
		jpki_audit_close(a);
		if (cases[i].why == NULL) {
			CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) == 0);
		} else {
			CU_ASSERT(verify_with(dir, "slapd", &o, &res, &err) < 0);
			CU_ASSERT_STRING_EQUAL(res.rule, "checkpoint");
			CU_ASSERT(res.bad_seq == 2);
			CU_ASSERT(strstr(err.text, cases[i].why) != NULL);
		}
		rm_dir(dir);
	}
}

/* A record noted earlier: found with its hash, or the chain was rewritten or cut back. */
static void test_expect(void)
{
	char *dir = new_dir(), *path, **l;
	jpki_audit_expect x[2];
	jpki_audit_verify_opts o = { .expect = x, .n_expect = 1 };
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	off_t full;
	size_t n;

	set_clock("2026-05-05T05:05:05Z", 1);
	write_records(dir, "ocspd", "ocsp-request", 5);
	path = file_of(dir, "ocspd", "2026-05-05");
	l = lines_of(path, &n);
	CU_ASSERT_FATAL(n == 5);
	x[0].seq = 3;
	jpki_sha256_hex(l[2], strlen(l[2]), x[0].hash);
	x[1].seq = 5;
	jpki_sha256_hex(l[4], strlen(l[4]), x[1].hash);
	o.n_expect = 2;
	CU_ASSERT(verify_with(dir, "ocspd", &o, &res, &err) == 0);
	/* another hash at that seq */
	x[0].hash[10] = x[0].hash[10] == '0' ? '1' : '0';
	CU_ASSERT(verify_with(dir, "ocspd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "expect");
	CU_ASSERT(res.bad_line == 3 && res.bad_seq == 3);
	jpki_sha256_hex(l[2], strlen(l[2]), x[0].hash);
	/* cut back to seq 3: seq 5 noted earlier is gone */
	full = size_of(path);
	truncate_to(path, (off_t)(strlen(l[0]) + strlen(l[1]) + strlen(l[2]) + 3));
	CU_ASSERT(verify_dir(dir, "ocspd", &res, &err) == 0);
	CU_ASSERT(verify_with(dir, "ocspd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "expect");
	CU_ASSERT(res.bad_line == 3);
	CU_ASSERT(strstr(err.text, "the chain ends at seq 3, before seq 5") != NULL);
	restore(path, l, n);
	CU_ASSERT(size_of(path) == full);
	/* before the chain's start (a slice from seq 2) */
	x[0].seq = 1;
	jpki_sha256_hex(l[0], strlen(l[0]), x[0].hash);
	o.n_expect = 1;
	rewrite(path, 1, NULL);
	o.partial = true;
	CU_ASSERT(verify_with(dir, "ocspd", &o, &res, &err) < 0);
	CU_ASSERT_STRING_EQUAL(res.rule, "expect");
	CU_ASSERT(strstr(err.text, "before the chain's first record") != NULL);
	lines_free(l, n);
	free(path);
	rm_dir(dir);
}

/* A crash may leave a whole record without its newline: it is put back, not cut. A torn
 * line that is not the next record of the chain is still cut, and said so. */
static void test_torn_whole_record(void)
{
	char *dir = new_dir(), *p2, **l;
	jpki_audit_opts o = { .component = "slapd", .log = capture };
	jpki_audit *a;
	jpki_audit_verify_result res;
	jpki_err err = { "" };
	FILE *fp;
	size_t n;

	o.dir = dir;
	set_clock("2026-10-10T23:59:58Z", 1);
	a = open_log(dir, "slapd");
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	p2 = file_of(dir, "slapd", "2026-10-11");
	/* the first line of a day file: it links to the previous file's last record */
	truncate_to(p2, size_of(p2) - 1);
	logged[0] = '\0';
	CU_ASSERT_FATAL(jpki_audit_open(&o, &a, &err) == 0);
	CU_ASSERT(strstr(logged, "restored the newline of the last record") != NULL);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	l = lines_of(p2, &n);
	CU_ASSERT(n == 2 && strstr(l[0], "\"seq\":3,") != NULL && strstr(l[1], "\"seq\":4,") != NULL);
	CU_ASSERT(strstr(l[1], "audit-recovery") == NULL);
	lines_free(l, n);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 4);
	/* a line after another in the same file */
	truncate_to(p2, size_of(p2) - 1);
	CU_ASSERT_FATAL(jpki_audit_open(&o, &a, &err) == 0);
	CU_ASSERT(append(a, "crl-read", NULL) == 0);
	jpki_audit_close(a);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 5);
	/* a whole record that does not link (seq 3 again): cut, with a recovery record */
	l = lines_of(p2, &n);
	CU_ASSERT_FATAL((fp = fopen(p2, "a")) != NULL);
	fputs(l[0], fp);
	fclose(fp);
	logged[0] = '\0';
	CU_ASSERT_FATAL(jpki_audit_open(&o, &a, &err) == 0);
	CU_ASSERT(strstr(logged, "cut a torn last line") != NULL);
	jpki_audit_close(a);
	lines_free(l, n);
	l = lines_of(p2, &n);
	CU_ASSERT(n == 4 && strstr(l[3], "\"event\":\"audit-recovery\"") != NULL);
	CU_ASSERT(verify_dir(dir, "slapd", &res, &err) == 0);
	CU_ASSERT(res.records == 6);
	lines_free(l, n);
	free(p2);
	rm_dir(dir);
}

/* The components that left an anchor or a writer's lock, whatever their files. */
static void test_marks(void)
{
	static const char *names[] = { ".slapd.lock", "slapd.anchor", "ocspd.anchor", "ocspd.anchor.Xy12ab",
		"bad name.anchor", ".lock", "other.txt" };
	char *dir = new_dir(), *p;
	jpki_audit_mark *m;
	jpki_err err = { "" };
	size_t n, i;
	FILE *fp;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CU_ASSERT_FATAL(asprintf(&p, "%s/%s", dir, names[i]) > 0);
		CU_ASSERT_FATAL((fp = fopen(p, "w")) != NULL);
		fclose(fp);
		free(p);
	}
	CU_ASSERT_FATAL(jpki_audit_marks_list(dir, &m, &n, &err) == 0);
	CU_ASSERT_FATAL(n == 2);
	CU_ASSERT_STRING_EQUAL(m[0].component, "ocspd");
	CU_ASSERT(m[0].anchor && !m[0].lock);
	CU_ASSERT_STRING_EQUAL(m[1].component, "slapd");
	CU_ASSERT(m[1].anchor && m[1].lock);
	free(m);
	CU_ASSERT(jpki_audit_marks_list("/nonexistent/audit", &m, &n, &err) < 0);
	rm_dir(dir);
}

/* What show and report print: controls escaped, the rest as given. */
static void test_printable(void)
{
	char *p = jpki_audit_printable("uid=a\nb\x1b[2J\t\x7f\xc2\x9b\xc2\xa0\xe5\x8d\x83\xff\\x");

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_STRING_EQUAL(p, "uid=a\\x0ab\\x1b[2J\\x09\\x7f\\u009b\xc2\xa0\xe5\x8d\x83\\xff\\x");
	free(p);
	p = jpki_audit_printable("");
	CU_ASSERT(p != NULL && p[0] == '\0');
	free(p);
}

static void test_parse(void)
{
	jpki_audit_entry e = { 0 };
	jpki_err err = { "" };
	time_t t;
	long usec;
	const char *swapped = "{\"seq\":1,\"v\":1}";

	CU_ASSERT(jpki_audit_entry_parse(swapped, strlen(swapped), &e, &err) < 0);
	CU_ASSERT(strstr(err.text, "rule format") != NULL);
	CU_ASSERT(jpki_audit_entry_parse("{", 1, &e, &err) < 0);
	CU_ASSERT(strstr(err.text, "not JSON") != NULL);
	CU_ASSERT(jpki_audit_time_parse("2026-02-28T23:59:59.999999Z", &t, &usec) == 0 && usec == 999999);
	CU_ASSERT(jpki_audit_time_parse("2026-02-30T00:00:00.000000Z", &t, &usec) < 0);
	CU_ASSERT(jpki_audit_time_parse("2026-02-28T23:59:59Z", &t, &usec) < 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("audit", NULL, NULL);
	if (s == NULL ||
	    !CU_add_test(s, "record format and chain", test_record_format) ||
	    !CU_add_test(s, "JSON escaping of strings and details", test_escaping) ||
	    !CU_add_test(s, "resume after close", test_resume) ||
	    !CU_add_test(s, "rotation across a day boundary", test_rotation) ||
	    !CU_add_test(s, "a clock stepped back", test_clock_backwards) ||
	    !CU_add_test(s, "a clock far behind the trail is said in the log", test_clock_behind_noticed) ||
	    !CU_add_test(s, "8 threads: seq and chain intact", test_concurrent) ||
	    !CU_add_test(s, "submitted records complete once, on disk", test_submit) ||
	    !CU_add_test(s, "a submitted record that cannot be written", test_submit_failure) ||
	    !CU_add_test(s, "group wait: small batches still written, close not held", test_group_wait) ||
	    !CU_add_test(s, "group wait: ends when nothing more is expected", test_group_wait_ends) ||
	    !CU_add_test(s, "a torn last line is recovered", test_torn_line) ||
	    !CU_add_test(s, "a failed write leaves the chain as on disk", test_write_failure) ||
	    !CU_add_test(s, "refusals: details, result, lock, component, directory", test_refusals) ||
	    !CU_add_test(s, "verify names the edited or deleted record", test_verify_names_the_record) ||
	    !CU_add_test(s, "parsing lines and times", test_parse) ||
	    !CU_add_test(s, "emptied files fail when sealed or after an anchor", test_empty_chain) ||
	    !CU_add_test(s, "the anchor: its date, its confirming checkpoint", test_anchor_rules) ||
	    !CU_add_test(s, "a day-start checkpoint's after: the day of the record before", test_checkpoint_after) ||
	    !CU_add_test(s, "a record noted earlier: found, rewritten, cut back", test_expect) ||
	    !CU_add_test(s, "a whole record without its newline is put back", test_torn_whole_record) ||
	    !CU_add_test(s, "components with an anchor or a lock", test_marks) ||
	    !CU_add_test(s, "controls escaped for show and report", test_printable)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
