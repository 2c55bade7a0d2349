/* jpki audit verify | show | prune: the audit trail (CPS 4-11-2, 4-11-4, 4-11-5) as the
 * internal auditor and the operator use it. The rules (what a good chain is, what an anchor
 * says) live in lib/audit_read.c; this file reads options and prints. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_read.h"
#include "cli.h"
#include "ledger.h"
#include "utctime.h"
#include "verifier.h"

#define DEFAULT_PRUNE_DAYS 365

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki audit verify [--dir DIR] [--component C]… [--cert PEM] [--sealed|--live] [--partial]\n"
		"                         [--expect [C:]SEQ:HASH]… [--retention DAYS] [FILE…]\n"
		"       jpki audit show [--dir DIR] [--verifier DN] [--from TIME] [--to TIME]\n"
		"                       [--method ldap|ocsp] [--event E] [--component C] [--json]\n"
		"       jpki audit prune [--dir DIR] [--older-than DAYS] [--archive DIR] [--component C] [--cert PEM]\n"
		"\n"
		"verify   checks each component's chain (hash links, seq, time, files, anchor, checkpoint\n"
		"         signatures) and names the first bad record: FILE:LINE (seq N) and the rule; prints\n"
		"         each chain's head (SEQ:HASH of its last record). FILEs instead of --dir: those\n"
		"         files, one chain per component. A component with an anchor or a writer's lock in\n"
		"         DIR but no files fails.\n"
		"         --component  only these components (repeatable), each of which must have a chain:\n"
		"                      name every component expected (slapd, ocspd)\n"
		"         --cert       the checkpoint key's certificate (default $JPKI_AUDIT_CHECKPOINT_CERT);\n"
		"                      without it checkpoints are checked against the chain, not signatures;\n"
		"                      with it an anchor must be followed by a checkpoint signing it\n"
		"         --sealed     the log is closed: it must end with a signed checkpoint (needs --cert)\n"
		"         --partial    the files are a slice of a chain: its first record is taken as given\n"
		"         --live       the newest file is being written: an incomplete last line is not an error\n"
		"         --expect     a head noted earlier, off the host: the chain must hold record SEQ with\n"
		"                      HASH, so it was not cut back before it (repeatable; C: the component,\n"
		"                      needed when more than one chain is verified)\n"
		"         --retention  the trail keeps DAYS days (CPS 4-11-4: 365): an anchor saying that\n"
		"                      files of the last DAYS days were pruned fails (rule retention)\n"
		"show     prints the records that match every filter given, oldest first, as a table\n"
		"         (--json: the records as stored). TIME is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC);\n"
		"         --from includes it, --to excludes it (a bare --to date includes that day);\n"
		"         --method in any case.\n"
		"prune    removes whole day files older than DAYS (default %d; a whole number, 1 or more,\n"
		"         not reaching before 1970) — into --archive DIR when given, else deleted — and\n"
		"         writes DIR/<component>.anchor so that what remains verifies. Refused when the\n"
		"         chain does not verify or what would remain would not (in a trail with\n"
		"         checkpoints its first record must be a checkpoint of the new anchor, as the\n"
		"         writer starts each day file); the newest file of a component is never pruned.\n"
		"         --cert       as for verify (default $JPKI_AUDIT_CHECKPOINT_CERT): checkpoint\n"
		"                      signatures are verified too\n"
		"--dir defaults to $JPKI_AUDIT_DIR. Exit: 0 done, 1 a chain does not verify or a\n"
		"step failed, 2 usage.\n", DEFAULT_PRUNE_DAYS);
}

static const char *default_dir(void)
{
	return cli_getenv("JPKI_AUDIT_DIR");
}

/* A number of days counted back from now to a UTC day of a file's name: 1 or more, and not
 * reaching before 1970-01-01. 0, or -1 said on stderr. */
static int parse_days(const char *cmd, const char *opt, const char *text, time_t now, long *days)
{
	unsigned long long n;

	if (cli_parse_number(text, 1, (unsigned long long)(now / 86400), &n) < 0) {
		fprintf(stderr, "jpki audit %s: %s '%s' is not a whole number of days from 1 to %lld "
			"(the day it names cannot be before 1970-01-01)\n", cmd, opt, text,
			(long long)(now / 86400));
		return -1;
	}
	*days = (long)n;
	return 0;
}

/* --- verify ----------------------------------------------------------------------------- */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

#define V_PARTIAL 1u
#define V_LIVE 2u
#define V_SEALED 4u
#define V_ANCHOR_CHECKPOINT 8u	/* see jpki_audit_verify_opts.anchor_checkpoint */

/* Prints s escaped for the terminal (jpki_audit_printable): file names and the texts of
 * failures may carry what a record holds. */
static void print_safe(FILE *to, const char *s)
{
	char *p = jpki_audit_printable(s);

	fputs(p != NULL ? p : "(out of memory)", to);
	free(p);
}

/* How one chain is verified. */
typedef struct chain_check {
	EVP_PKEY *key;
	unsigned flags;				/* V_* */
	const jpki_audit_anchor *anchor;	/* instead of the directory's */
	jpki_audit_file_end *ends;		/* optional, one per file */
	const jpki_audit_expect *expect;
	size_t n_expect;
	const char *kept_from;			/* --retention: no file of this day or later pruned */
	long kept_days;
	bool quiet;				/* no OK line (a failure is always printed) */
} chain_check;

/* Verifies files[0..n) as one chain, with the anchor of its directory; prints one line.
 * res: optional, the outcome. 0 verified. */
static int verify_chain(const jpki_audit_file *files, size_t n, const chain_check *c,
	jpki_audit_verify_result *res_out)
{
	jpki_audit_verify_opts o = { .checkpoint_key = c->key, .partial = c->flags & V_PARTIAL,
		.live = c->flags & V_LIVE, .sealed = c->flags & V_SEALED,
		.anchor_checkpoint = c->flags & V_ANCHOR_CHECKPOINT, .file_ends = c->ends,
		.expect = c->expect, .n_expect = c->n_expect };
	jpki_audit_verify_result res_local, *res = res_out != NULL ? res_out : &res_local;
	jpki_audit_anchor an;
	char *name = jpki_audit_printable(files[0].component[0] ? files[0].component : "(files)");
	char *dir = dir_of(files[0].path);
	jpki_err err;
	int rc = -1;

	if (name == NULL || dir == NULL) {
		printf("audit: out of memory\n");
		goto out;
	}
	if (c->anchor != NULL) {
		o.anchor = c->anchor;
	} else if (files[0].component[0] != '\0') {
		rc = jpki_audit_anchor_read(dir, files[0].component, &an, &err);
		if (rc < 0) {
			printf("%s: FAILED: ", name);
			print_safe(stdout, err.text);
			putchar('\n');
			goto out;
		}
		if (rc == 1)
			o.anchor = &an;
	}
	rc = -1;
	if (jpki_audit_verify(files, n, &o, res, &err) < 0) {
		printf("%s: FAILED at ", name);
		print_safe(stdout, err.text);
		putchar('\n');
		goto out;
	}
	/* A prune inside the retention period: the chain verifies from its anchor, but records
	 * the CPS keeps are gone (or an anchor was written to pass off a cut as a prune). */
	if (c->kept_from != NULL && o.anchor != NULL && strcmp(o.anchor->pruned_through, c->kept_from) >= 0) {
		printf("%s: FAILED: rule retention: the anchor (seq %lld) says the files through %s were "
			"pruned, but the trail keeps %ld days: nothing from %s on may be gone\n", name,
			o.anchor->seq, o.anchor->pruned_through, c->kept_days, c->kept_from);
		goto out;
	}
	rc = 0;
	if (c->quiet)
		goto out;
	if (res->records == 0) {
		printf("%s: OK: no records in %zu file%s\n", name, n, n == 1 ? "" : "s");
		goto out;
	}
	printf("%s: OK: %llu records, seq %lld..%lld, %zu file%s", name, res->records, res->first_seq,
		res->last_seq, n, n == 1 ? "" : "s");
	if (o.anchor != NULL)
		printf(", from the anchor (seq %lld, pruned through %s%s)", o.anchor->seq,
			o.anchor->pruned_through, res->anchor_confirmed ? ", confirmed by a signed checkpoint" :
			c->key != NULL ? "" : ", not confirmed: no --cert");
	printf("; %llu checkpoint%s", res->checkpoints, res->checkpoints == 1 ? "" : "s");
	if (c->key != NULL)
		printf(", %llu signature%s verified, %llu record%s after the last signed checkpoint",
			res->checkpoints_verified, res->checkpoints_verified == 1 ? "" : "s", res->uncovered,
			res->uncovered == 1 ? "" : "s");
	else if (res->checkpoints > 0)
		printf(" (signatures not checked: no --cert)");
	if (c->n_expect > 0)
		printf("; %zu noted record%s found", c->n_expect, c->n_expect == 1 ? "" : "s");
	if (res->tail_incomplete)
		printf("; the last line is still being written");
	/* seq:hash of the last record, as --expect takes it (with the component) */
	printf("; head %lld:%s\n", res->last_seq, res->last_hash);
out:
	free(name);
	free(dir);
	return rc;
}

static EVP_PKEY *load_key(const char *cert)
{
	EVP_PKEY *k;
	jpki_err err;

	if (cert == NULL)
		return NULL;
	if ((k = jpki_audit_checkpoint_key_load(cert, &err)) == NULL)
		fprintf(stderr, "jpki audit: %s\n", err.text);
	return k;
}

/* --expect [COMPONENT:]SEQ:HASH */
typedef struct expect_arg {
	char component[JPKI_AUDIT_COMPONENT_MAX];	/* "" when not named */
	jpki_audit_expect x;
} expect_arg;

static int parse_expect(const char *text, expect_arg *out)
{
	const char *hash = strrchr(text, ':'), *seq;
	char num[24];
	unsigned long long n;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (hash == NULL || strlen(hash + 1) != JPKI_AUDIT_HEX_LEN)
		return -1;
	for (seq = hash; seq > text && seq[-1] != ':'; seq--)
		;
	if (seq > text) {
		if (seq - 1 == text || (size_t)(seq - 1 - text) >= sizeof(out->component) ||
		    memchr(text, ':', (size_t)(seq - 1 - text)) != NULL)
			return -1;
		memcpy(out->component, text, (size_t)(seq - 1 - text));
	}
	if (hash == seq || (size_t)(hash - seq) >= sizeof(num))
		return -1;
	memcpy(num, seq, (size_t)(hash - seq));
	num[hash - seq] = '\0';
	if (cli_parse_number(num, 1, (unsigned long long)LLONG_MAX, &n) < 0)
		return -1;
	out->x.seq = (long long)n;
	for (i = 0; i < JPKI_AUDIT_HEX_LEN; i++) {
		char h = hash[1 + i];

		if (h >= 'A' && h <= 'F')
			h = (char)(h - 'A' + 'a');
		if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f')))
			return -1;
		out->x.hash[i] = h;
	}
	return 0;
}

/* A component the auditor expects a chain of, and why. */
typedef struct wanted {
	char name[JPKI_AUDIT_COMPONENT_MAX];
	char why[128];
} wanted;

static int want(wanted **v, size_t *n, const char *name, const char *why)
{
	wanted *grown;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0)
			return 0;
	if ((grown = realloc(*v, (*n + 1) * sizeof(**v))) == NULL)
		return -1;
	*v = grown;
	snprintf(grown[*n].name, sizeof(grown[*n].name), "%s", name);
	snprintf(grown[*n].why, sizeof(grown[*n].why), "%s", why != NULL ? why : "");
	(*n)++;
	return 0;
}

static int wanted_cmp(const void *a, const void *b)
{
	return strcmp(((const wanted *)a)->name, ((const wanted *)b)->name);
}

static int audit_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "component", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' }, { "partial", no_argument, NULL, 'p' },
		{ "live", no_argument, NULL, 'l' }, { "sealed", no_argument, NULL, 's' },
		{ "expect", required_argument, NULL, 'x' }, { "retention", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *dir = default_dir(), *cert = cli_getenv("JPKI_AUDIT_CHECKPOINT_CERT");
	char kept_from[JPKI_UTC_DAY_LEN + 1];
	time_t now = time(NULL);
	unsigned flags = 0;
	jpki_audit_files files = { 0 };
	jpki_audit_mark *marks = NULL;
	size_t nmarks = 0, nwanted = 0, nexp = 0, nx, i, j, start, end;
	wanted *wants = NULL;
	expect_arg *exps = NULL, *grown;
	jpki_audit_expect *xs = NULL;
	chain_check c = { 0 };
	EVP_PKEY *key = NULL;
	bool named = false, unnamed;
	char why[128];
	jpki_err err;
	int opt, rc = EXIT_REFUSED, failed = 0;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'c':
			/* repeatable: each component named must have a chain */
			if (optarg[0] == '\0' || strlen(optarg) >= JPKI_AUDIT_COMPONENT_MAX) {
				fprintf(stderr, "jpki audit verify: --component needs a name of fewer than %d "
					"characters\n", JPKI_AUDIT_COMPONENT_MAX);
				rc = EXIT_USAGE;
				goto done;
			}
			if (want(&wants, &nwanted, optarg, "it was named (--component)") < 0)
				goto oom;
			named = true;
			break;
		case 'C': cert = optarg; break;
		case 'p': flags |= V_PARTIAL; break;
		case 'l': flags |= V_LIVE; break;
		case 's': flags |= V_SEALED; break;
		case 'x':
			if ((grown = realloc(exps, (nexp + 1) * sizeof(*exps))) == NULL)
				goto oom;
			exps = grown;
			if (parse_expect(optarg, &exps[nexp]) < 0) {
				fprintf(stderr, "jpki audit verify: --expect '");
				print_safe(stderr, optarg);
				fprintf(stderr, "' is not [COMPONENT:]SEQ:HASH (SEQ from 1, HASH 64 hex digits, "
					"as verify prints the head)\n");
				rc = EXIT_USAGE;
				goto done;
			}
			nexp++;
			break;
		case 'r':
			if (parse_days("verify", "--retention", optarg, now, &c.kept_days) < 0) {
				rc = EXIT_USAGE;
				goto done;
			}
			jpki_utc_day(now - (time_t)c.kept_days * 86400, kept_from);
			c.kept_from = kept_from;
			break;
		case 'h': usage(stdout); rc = 0; goto done;
		default: usage(stderr); rc = EXIT_USAGE; goto done;
		}
	}
	if ((flags & V_SEALED) && (cert == NULL || cert[0] == '\0')) {
		fprintf(stderr, "jpki audit verify: --sealed needs the checkpoint certificate (--cert)\n");
		rc = EXIT_USAGE;
		goto done;
	}
	if ((flags & V_SEALED) && (flags & V_LIVE)) {
		/* a log still being written is not closed: the two contradict each other */
		fprintf(stderr, "jpki audit verify: --sealed and --live exclude each other: a sealed log "
			"is closed, a live one is being written\n");
		rc = EXIT_USAGE;
		goto done;
	}
	if (optind >= argc && dir == NULL) {
		fprintf(stderr, "jpki audit verify: no directory (--dir or $JPKI_AUDIT_DIR) and no files\n");
		rc = EXIT_USAGE;
		goto done;
	}
	if (cert != NULL && cert[0] != '\0' && (key = load_key(cert)) == NULL)
		goto done;
	if (optind < argc) {
		for (i = (size_t)optind; i < (size_t)argc; i++) {
			if (jpki_audit_files_add(&files, argv[i], &err) < 0) {
				fprintf(stderr, "jpki audit verify: %s\n", err.text);
				goto done;
			}
		}
		jpki_audit_files_sort(&files);
	} else if (jpki_audit_files_list(dir, NULL, &files, &err) < 0 ||
		   jpki_audit_marks_list(dir, &marks, &nmarks, &err) < 0) {
		fprintf(stderr, "jpki audit verify: %s\n", err.text);
		goto done;
	}
	/* The chains expected: those named; else every component with files, an anchor or a
	 * writer's lock (a component whose files are all gone has not "nothing to verify"). */
	for (i = 0; i < nexp; i++)
		if (exps[i].component[0] != '\0' &&
		    want(&wants, &nwanted, exps[i].component, "a record of it was noted (--expect)") < 0)
			goto oom;
	for (i = 0; !named && i < files.n; i++)
		if (files.v[i].component[0] != '\0' && want(&wants, &nwanted, files.v[i].component, NULL) < 0)
			goto oom;
	for (i = 0; !named && i < nmarks; i++) {
		if (marks[i].anchor)
			snprintf(why, sizeof(why), "its anchor %s.anchor is there", marks[i].component);
		else
			snprintf(why, sizeof(why), "its writer's lock .%s.lock is there: a writer ran here",
				marks[i].component);
		if (want(&wants, &nwanted, marks[i].component, why) < 0)
			goto oom;
	}
	if (nwanted > 1)
		qsort(wants, nwanted, sizeof(*wants), wanted_cmp);
	unnamed = files.n > 0 && files.v[files.n - 1].component[0] == '\0';
	if (nwanted == 0 && !unnamed) {
		fprintf(stderr, "jpki audit verify: no audit files%s%s\n", optind < argc ? "" : " in ",
			optind < argc ? "" : dir);
		goto done;
	}
	for (i = 0; i < nexp; i++) {
		if (exps[i].component[0] == '\0' && nwanted + unnamed != 1) {
			fprintf(stderr, "jpki audit verify: --expect %lld:%.16s…: %zu chains are verified; "
				"say whose (COMPONENT:SEQ:HASH)\n", exps[i].x.seq, exps[i].x.hash,
				nwanted + unnamed);
			rc = EXIT_USAGE;
			goto done;
		}
	}
	if ((xs = calloc(nexp + 1, sizeof(*xs))) == NULL)
		goto oom;
	c.key = key;
	c.flags = flags;
	for (i = 0; i <= nwanted; i++) {
		const char *name = i < nwanted ? wants[i].name : "";

		if (i == nwanted && !unnamed)
			break;
		for (start = 0; start < files.n && strcmp(files.v[start].component, name) != 0; start++)
			;
		for (end = start; end < files.n && strcmp(files.v[end].component, name) == 0; end++)
			;
		for (j = nx = 0; j < nexp; j++)
			if (exps[j].component[0] == '\0' || strcmp(exps[j].component, name) == 0)
				xs[nx++] = exps[j].x;
		c.expect = xs;
		c.n_expect = nx;
		if (start < files.n) {
			failed |= verify_chain(&files.v[start], end - start, &c, NULL) < 0;
			continue;
		}
		print_safe(stdout, name);
		printf(": FAILED: no chain: no file ");
		print_safe(stdout, name);
		printf("-YYYY-MM-DD.jsonl %s%s, but %s\n", optind < argc ? "among the files given" : "in ",
			optind < argc ? "" : dir, wants[i].why);
		failed = 1;
	}
	rc = failed ? EXIT_REFUSED : 0;
	goto done;
oom:
	fprintf(stderr, "jpki audit verify: out of memory\n");
	rc = EXIT_REFUSED;
done:
	jpki_audit_files_free(&files);
	free(marks);
	free(wants);
	free(exps);
	free(xs);
	EVP_PKEY_free(key);
	return rc;
}

/* --- show ------------------------------------------------------------------------------- */

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ; a bare date as --to means the end of that day. */
static int parse_when(const char *text, bool end_of_day, time_t *out)
{
	char full[32];

	if (strlen(text) == 10 && snprintf(full, sizeof(full), "%sT00:00:00Z", text) > 0 &&
	    jpki_parse_utc(full, out) == 0) {
		if (end_of_day)
			*out += 86400;
		return 0;
	}
	return jpki_parse_utc(text, out);
}

/* One component's matching records, read in step with the others. */
typedef struct stream {
	jpki_audit_files files;
	jpki_audit_reader *r;
	jpki_audit_entry e;
	bool have;
} stream;

/* The next matching record of s; bad lines are reported and skipped. */
static void stream_next(stream *s, const jpki_audit_filter *f, int *bad)
{
	jpki_err err;
	int rc;

	s->have = false;
	while ((rc = jpki_audit_reader_next(s->r, &s->e, &err)) != 0) {
		if (rc < 0) {
			fprintf(stderr, "jpki audit show: ");
			print_safe(stderr, s->e.path);
			fprintf(stderr, ":%lu: skipped: ", s->e.line);
			print_safe(stderr, err.text);
			fprintf(stderr, " (run jpki audit verify)\n");
			*bad = 1;
			continue;
		}
		if (jpki_audit_filter_match(f, &s->e)) {
			s->have = true;
			return;
		}
	}
}

/* A short text for the details of the usual events. */
static void details_summary(const jpki_audit_entry *e, char *out, size_t len)
{
	static const char *const read_keys[] = { "operation", "answer", "entry", "base", "scope", "values" };
	json_t *list = json_object_get(e->details, "entries"), *v;
	size_t i, used = 0;
	char *text;

	out[0] = '\0';
	if (json_is_array(list)) {
		used += (size_t)snprintf(out + used, len - used, "entries:");
		json_array_foreach(list, i, v) {
			const char *dn = json_string_value(v);
			const char *eq = dn != NULL ? strchr(dn, '=') : NULL;
			const char *comma = eq != NULL ? strchr(eq, ',') : NULL;

			if (used < len && eq != NULL)
				used += (size_t)snprintf(out + used, len - used, " %.*s",
					(int)(comma != NULL ? comma - eq - 1 : (long)strlen(eq + 1)), eq + 1);
		}
		/* A read through a compare, a search's filter or attrsonly says so, and what it
		 * answered. */
		for (i = 0; i < sizeof(read_keys) / sizeof(*read_keys); i++) {
			v = json_object_get(e->details, read_keys[i]);
			if (used < len && (json_is_string(v) || json_is_boolean(v)))
				used += (size_t)snprintf(out + used, len - used, " %s=%s", read_keys[i],
					json_is_string(v) ? json_string_value(v) : json_is_true(v) ? "yes" : "no");
		}
	} else if (json_is_array(list = json_object_get(e->details, "certids"))) {
		used += (size_t)snprintf(out + used, len - used, "certids:");
		json_array_foreach(list, i, v) {
			if (used < len)
				used += (size_t)snprintf(out + used, len - used, " %s=%s",
					json_string_value(json_object_get(v, "serial")) ?: "?",
					json_string_value(json_object_get(v, "status")) ?: "?");
		}
		if (used < len && json_is_string(json_object_get(e->details, "cache")))
			used += (size_t)snprintf(out + used, len - used, " cache=%s",
				json_string_value(json_object_get(e->details, "cache")));
	} else if (json_object_size(e->details) > 0 && (text = json_dumps(e->details, JSON_COMPACT)) != NULL) {
		used += (size_t)snprintf(out, len, "%s", text);
		free(text);
	}
	if (e->conn >= 0 && used < len)
		snprintf(out + used, len - used, "%sconn=%lld op=%lld", used ? " " : "", e->conn, e->op);
}

#define SHOW_COLS 9
#define SHOW_WINDOW 1000

typedef struct table {
	char *rows[SHOW_WINDOW][SHOW_COLS];
	size_t n;
	int width[SHOW_COLS];
	bool widths_fixed;
} table;

static void table_flush(table *t)
{
	static const char *head[SHOW_COLS] = { "TIME", "COMPONENT", "SEQ", "EVENT", "METHOD", "RESULT",
		"IDENTITY", "CLIENT", "DETAILS" };
	size_t r, c;
	int w;

	if (!t->widths_fixed) {
		for (c = 0; c < SHOW_COLS; c++) {
			t->width[c] = (int)strlen(head[c]);
			for (r = 0; r < t->n; r++)
				if ((w = (int)strlen(t->rows[r][c])) > t->width[c])
					t->width[c] = w;
		}
		for (c = 0; c + 1 < SHOW_COLS; c++)
			printf("%-*s  ", t->width[c], head[c]);
		printf("%s\n", head[SHOW_COLS - 1]);
		t->widths_fixed = true;
	}
	for (r = 0; r < t->n; r++) {
		for (c = 0; c < SHOW_COLS; c++) {
			if (c == 2)
				printf("%*s  ", t->width[c], t->rows[r][c]);
			else if (c + 1 < SHOW_COLS)
				printf("%-*s  ", t->width[c], t->rows[r][c]);
			else
				printf("%s\n", t->rows[r][c]);
			free(t->rows[r][c]);
		}
	}
	t->n = 0;
}

static void table_add(table *t, const jpki_audit_entry *e)
{
	char when[32], seq[24], details[1024];

	snprintf(when, sizeof(when), "%.10s %.8s", e->time, e->time + 11);
	snprintf(seq, sizeof(seq), "%lld", e->seq);
	details_summary(e, details, sizeof(details));
	/* Escaped: a newline or an escape sequence in a field would forge a row. */
	t->rows[t->n][0] = jpki_audit_printable(when);
	t->rows[t->n][1] = jpki_audit_printable(e->component);
	t->rows[t->n][2] = jpki_audit_printable(seq);
	t->rows[t->n][3] = jpki_audit_printable(e->event);
	t->rows[t->n][4] = jpki_audit_printable(e->method != NULL ? e->method : "-");
	t->rows[t->n][5] = jpki_audit_printable(e->result);
	t->rows[t->n][6] = jpki_audit_printable(e->identity[0] ? e->identity : "(anonymous)");
	t->rows[t->n][7] = jpki_audit_printable(e->client[0] ? e->client : "-");
	t->rows[t->n][8] = jpki_audit_printable(details);
	if (++t->n == SHOW_WINDOW)
		table_flush(t);
}

static int audit_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "verifier", required_argument, NULL, 'v' },
		{ "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 't' },
		{ "method", required_argument, NULL, 'm' }, { "event", required_argument, NULL, 'e' },
		{ "component", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *dir = default_dir();
	jpki_audit_filter f = { 0 };
	jpki_audit_files all = { 0 };
	stream *s = NULL;
	size_t ns = 0, i, best;
	table *t = NULL;
	bool json = false;
	char from_day[JPKI_UTC_DAY_LEN + 1] = "", to_day[JPKI_UTC_DAY_LEN + 1] = "";
	jpki_err err;
	int opt, bad = 0;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'v': f.identity = optarg; break;
		case 'f':
		case 't':
			if (parse_when(optarg, opt == 't', opt == 'f' ? &f.from : &f.to) < 0) {
				fprintf(stderr, "jpki audit show: --%s '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n",
					opt == 'f' ? "from" : "to", optarg);
				return EXIT_USAGE;
			}
			*(opt == 'f' ? &f.has_from : &f.has_to) = true;
			break;
		case 'm':
			/* Any case, as verifier --method; records hold it in lower case. */
			switch (jpki_method_parse(optarg, strlen(optarg))) {
			case JPKI_METHOD_LDAP: f.method = "ldap"; break;
			case JPKI_METHOD_OCSP: f.method = "ocsp"; break;
			default:
				fprintf(stderr, "jpki audit show: --method '%s' is ldap or ocsp\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'e': f.event = optarg; break;
		case 'c': f.component = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jpki audit show: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (dir == NULL) {
		fprintf(stderr, "jpki audit show: no directory (--dir or $JPKI_AUDIT_DIR)\n");
		return EXIT_USAGE;
	}
	if (jpki_audit_filter_prepare(&f, &err) < 0 || jpki_audit_files_list(dir, f.component, &all, &err) < 0) {
		fprintf(stderr, "jpki audit show: %s\n", err.text);
		jpki_audit_filter_free(&f);
		return EXIT_REFUSED;
	}
	/* Files wholly outside the time range are not read (a file holds one UTC day). */
	if (f.has_from)
		jpki_utc_day(f.from, from_day);
	if (f.has_to)
		jpki_utc_day(f.to - 1, to_day);
	s = calloc(all.n + 1, sizeof(*s));
	for (i = 0; s != NULL && i < all.n; i++) {
		if (i == 0 || strcmp(all.v[i].component, all.v[i - 1].component) != 0)
			ns++;	/* each component is a stream of its own */
		if ((f.has_from && strcmp(all.v[i].date, from_day) < 0) ||
		    (f.has_to && strcmp(all.v[i].date, to_day) > 0))
			continue;
		if (jpki_audit_files_add(&s[ns - 1].files, all.v[i].path, &err) < 0) {
			fprintf(stderr, "jpki audit show: %s\n", err.text);
			bad = 1;
			break;
		}
	}
	if (!json && (t = calloc(1, sizeof(*t))) == NULL)
		ns = 0;
	for (i = 0; i < ns; i++) {
		if (jpki_audit_reader_open(s[i].files.v, s[i].files.n, &s[i].r, &err) < 0) {
			fprintf(stderr, "jpki audit show: %s\n", err.text);
			bad = 1;
			continue;
		}
		stream_next(&s[i], &f, &bad);
	}
	/* Oldest first across components: each chain's times never go backwards. */
	for (;;) {
		best = ns;
		for (i = 0; i < ns; i++)
			if (s[i].have && (best == ns || s[i].e.t < s[best].e.t ||
					  (s[i].e.t == s[best].e.t && s[i].e.usec < s[best].e.usec)))
				best = i;
		if (best == ns)
			break;
		if (json)
			printf("%s\n", s[best].e.text);
		else
			table_add(t, &s[best].e);
		stream_next(&s[best], &f, &bad);
	}
	if (t != NULL && (t->n > 0 || !t->widths_fixed))
		table_flush(t);
	for (i = 0; i < ns; i++) {
		jpki_audit_entry_clear(&s[i].e);
		jpki_audit_reader_close(s[i].r);
		jpki_audit_files_free(&s[i].files);
	}
	free(s);
	free(t);
	jpki_audit_files_free(&all);
	jpki_audit_filter_free(&f);
	return bad ? EXIT_REFUSED : 0;
}

/* --- prune ------------------------------------------------------------------------------ */

/* Moves path into dir (rename, else copy + fsync + unlink across filesystems). */
static int move_into(const char *path, const char *dir, jpki_err *err)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char to[4096];
	unsigned char *data;
	size_t len;

	if (snprintf(to, sizeof(to), "%s/%s", dir, base) >= (int)sizeof(to))
		return jpki_errf(err, "%s/%s: path too long", dir, base);
	if (access(to, F_OK) == 0)
		return jpki_errf(err, "%s already exists; not overwritten", to);
	if (rename(path, to) == 0)
		return 0;
	if (errno != EXDEV)
		return jpki_errf(err, "cannot move %s to %s: %s", path, dir, strerror(errno));
	if (cli_read_file(path, &data, &len, err) < 0)
		return -1;
	if (cli_write_atomic(dir, base, data, len, err) < 0) {
		free(data);
		return -1;
	}
	free(data);
	if (unlink(path) != 0)
		return jpki_errf(err, "%s: copied to %s but not removed: %s", path, dir, strerror(errno));
	return 0;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int prune_component(const char *dir, const jpki_audit_file *files, size_t n,
	const char *cutoff, long days, const char *archive, EVP_PKEY *key)
{
	const char *comp = files[0].component;
	jpki_audit_file_end *ends = calloc(n, sizeof(*ends));
	jpki_audit_anchor old, next, archived;
	jpki_audit_verify_result whole;
	chain_check c = { .key = key, .flags = V_LIVE, .quiet = true };
	bool has_old, has_next;
	size_t k, i, j;
	jpki_err err;
	int rc;

	for (k = 0; k + 1 < n && strcmp(files[k].date, cutoff) < 0; k++)
		;
	if (k == 0) {
		printf("%s: nothing older than %ld days (before %s)\n", comp, days, cutoff);
		free(ends);
		return 0;
	}
	if ((rc = jpki_audit_anchor_read(dir, comp, &old, &err)) < 0) {
		printf("%s: refused: %s; nothing pruned\n", comp, err.text);
		free(ends);
		return -1;
	}
	has_old = rc == 1;
	/* The whole chain first: evidence that does not verify is not thrown away. */
	c.anchor = has_old ? &old : NULL;
	c.ends = ends;
	if (ends == NULL || verify_chain(files, n, &c, &whole) < 0) {
		printf("%s: refused: the chain does not verify; nothing pruned\n", comp);
		free(ends);
		return -1;
	}
	/* The new anchor: the last record of the pruned files. */
	for (j = k; j > 0 && ends[j - 1].seq < 0; j--)
		;
	has_next = j > 0 || has_old;
	if (j > 0) {
		next.seq = ends[j - 1].seq;
		memcpy(next.hash, ends[j - 1].hash, sizeof(next.hash));
	} else if (has_old) {
		next = old;
	}
	snprintf(next.pruned_through, sizeof(next.pruned_through), "%s", files[k - 1].date);
	/* What would remain must verify from it; in a trail with checkpoints, with the key too
	 * (given or not here): the first record left must be a checkpoint of the new anchor. */
	c.anchor = has_next ? &next : NULL;
	c.ends = NULL;
	if (key != NULL || whole.checkpoints > 0)
		c.flags |= V_ANCHOR_CHECKPOINT;
	if (verify_chain(files + k, n - k, &c, NULL) < 0) {
		printf("%s: refused: what would remain does not verify from the new anchor; nothing pruned\n",
			comp);
		free(ends);
		return -1;
	}
	if (archive != NULL) {
		if (mkdir(archive, 0750) != 0 && errno != EEXIST) {
			printf("%s: refused: archive %s: %s; nothing pruned\n", comp, archive, strerror(errno));
			free(ends);
			return -1;
		}
		/* The archive's files start after the old anchor: a copy of it goes with them,
		 * unless the archive already starts earlier. */
		rc = has_old ? jpki_audit_anchor_read(archive, comp, &archived, &err) : 1;
		if (rc == 0)
			rc = jpki_audit_anchor_write(archive, comp, &old, &err);
		if (rc < 0) {
			printf("%s: refused: archive %s: %s; nothing pruned\n", comp, archive, err.text);
			free(ends);
			return -1;
		}
	}
	/* Anchor first: a crash before the files are gone leaves a chain that still verifies. */
	if (has_next && jpki_audit_anchor_write(dir, comp, &next, &err) < 0) {
		printf("%s: refused: %s; nothing pruned\n", comp, err.text);
		free(ends);
		return -1;
	}
	for (i = 0; i < k; i++) {
		if (archive != NULL ? move_into(files[i].path, archive, &err) < 0 :
				      (unlink(files[i].path) != 0 &&
				       jpki_errf(&err, "cannot delete %s: %s", files[i].path, strerror(errno)) < 0)) {
			printf("%s: FAILED after %zu of %zu files: %s\n", comp, i, k, err.text);
			free(ends);
			return -1;
		}
	}
	fsync_dir(dir);
	if (archive != NULL)
		fsync_dir(archive);
	printf("%s: pruned %zu file%s (%s .. %s) %s%s; anchor seq %lld; %zu file%s remain and verify\n",
		comp, k, k == 1 ? "" : "s", files[0].date, files[k - 1].date,
		archive != NULL ? "into " : "deleted", archive != NULL ? archive : "",
		has_next ? next.seq : 0LL, n - k, n - k == 1 ? "" : "s");
	free(ends);
	return 0;
}

static int audit_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "older-than", required_argument, NULL, 'o' },
		{ "archive", required_argument, NULL, 'a' }, { "component", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = default_dir(), *archive = NULL, *component = NULL,
		   *cert = cli_getenv("JPKI_AUDIT_CHECKPOINT_CERT");
	long days = DEFAULT_PRUNE_DAYS;
	time_t now = time(NULL);
	jpki_audit_files files = { 0 };
	EVP_PKEY *key = NULL;
	char cutoff[JPKI_UTC_DAY_LEN + 1];
	size_t i, start;
	jpki_err err;
	int opt, failed = 0;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'o':
			if (parse_days("prune", "--older-than", optarg, now, &days) < 0)
				return EXIT_USAGE;
			break;
		case 'a': archive = optarg; break;
		case 'c': component = optarg; break;
		case 'C': cert = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jpki audit prune: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (dir == NULL) {
		fprintf(stderr, "jpki audit prune: no directory (--dir or $JPKI_AUDIT_DIR)\n");
		return EXIT_USAGE;
	}
	if (cert != NULL && cert[0] != '\0' && (key = load_key(cert)) == NULL)
		return EXIT_REFUSED;
	if (jpki_audit_files_list(dir, component, &files, &err) < 0) {
		fprintf(stderr, "jpki audit prune: %s\n", err.text);
		EVP_PKEY_free(key);
		return EXIT_REFUSED;
	}
	jpki_utc_day(now - (time_t)days * 86400, cutoff);
	for (start = 0, i = 1; i <= files.n; i++) {
		if (i < files.n && strcmp(files.v[i].component, files.v[start].component) == 0)
			continue;
		failed |= prune_component(dir, &files.v[start], i - start, cutoff, days, archive, key) < 0;
		start = i;
	}
	if (files.n == 0)
		printf("no audit files in %s\n", dir);
	jpki_audit_files_free(&files);
	EVP_PKEY_free(key);
	return failed ? EXIT_REFUSED : 0;
}

int cmd_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_verify(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return audit_show(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "prune") == 0)
		return audit_prune(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "jpki audit: no subcommand '%s'\n", argv[1]);
	else
		fprintf(stderr, "jpki audit: a subcommand is needed\n");
	usage(stderr);
	return EXIT_USAGE;
}
