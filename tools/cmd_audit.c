/* jpki audit verify | show | prune: the audit trail (CPS 4-11-2, 4-11-4, 4-11-5) as the
 * internal auditor and the operator use it. The rules (what a good chain is, what an anchor
 * says) live in lib/audit_read.c; this file reads options and prints. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_read.h"
#include "cli.h"
#include "ledger.h"
#include "verifier.h"

#define DEFAULT_PRUNE_DAYS 365

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki audit verify [--dir DIR] [--component C] [--cert PEM] [--sealed] [--partial] [--live]\n"
		"                         [FILE…]\n"
		"       jpki audit show [--dir DIR] [--verifier DN] [--from TIME] [--to TIME]\n"
		"                       [--method ldap|ocsp] [--event E] [--component C] [--json]\n"
		"       jpki audit prune [--dir DIR] [--older-than DAYS] [--archive DIR] [--component C] [--cert PEM]\n"
		"\n"
		"verify   checks each component's chain (hash links, seq, time, files, anchor, checkpoint\n"
		"         signatures) and names the first bad record: FILE:LINE (seq N) and the rule.\n"
		"         FILEs instead of --dir: those files, one chain per component.\n"
		"         --cert       the checkpoint key's certificate (default $JPKI_AUDIT_CHECKPOINT_CERT);\n"
		"                      without it checkpoints are checked against the chain, not signatures\n"
		"         --sealed     the log is closed: it must end with a signed checkpoint (needs --cert)\n"
		"         --partial    the files are a slice of a chain: its first record is taken as given\n"
		"         --live       the newest file is being written: an incomplete last line is not an error\n"
		"show     prints the records that match every filter given, oldest first, as a table\n"
		"         (--json: the records as stored). TIME is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC);\n"
		"         --from includes it, --to excludes it (a bare --to date includes that day);\n"
		"         --method in any case.\n"
		"prune    removes whole day files older than DAYS (default %d; a whole number, 1 or more,\n"
		"         not reaching before 1970) — into --archive DIR when given, else deleted — and\n"
		"         writes DIR/<component>.anchor so that what remains verifies. Refused when the\n"
		"         chain does not verify; the newest file of a component is never pruned.\n"
		"         --cert       as for verify (default $JPKI_AUDIT_CHECKPOINT_CERT): checkpoint\n"
		"                      signatures are verified too\n"
		"--dir defaults to $JPKI_AUDIT_DIR. Exit: 0 done, 1 a chain does not verify or a\n"
		"step failed, 2 usage.\n", DEFAULT_PRUNE_DAYS);
}

static const char *default_dir(void)
{
	return cli_getenv("JPKI_AUDIT_DIR");
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

/* Verifies files[0..n) as one chain, with the anchor of its directory; prints one line.
 * ends: optional, one per file. flags: see jpki_audit_verify_opts. 0 verified. */
static int verify_chain(const jpki_audit_file *files, size_t n, EVP_PKEY *key, unsigned flags,
	const jpki_audit_anchor *anchor_override, jpki_audit_file_end *ends, bool quiet)
{
	jpki_audit_verify_opts o = { .checkpoint_key = key, .partial = flags & V_PARTIAL,
		.live = flags & V_LIVE, .sealed = flags & V_SEALED, .file_ends = ends };
	jpki_audit_verify_result res;
	jpki_audit_anchor an;
	const char *name = files[0].component[0] ? files[0].component : "(files)";
	char *dir = dir_of(files[0].path);
	jpki_err err;
	int rc;

	if (anchor_override != NULL) {
		o.anchor = anchor_override;
	} else if (files[0].component[0] != '\0') {
		rc = jpki_audit_anchor_read(dir, files[0].component, &an, &err);
		if (rc < 0) {
			printf("%s: FAILED: %s\n", name, err.text);
			free(dir);
			return -1;
		}
		if (rc == 1)
			o.anchor = &an;
	}
	free(dir);
	if (jpki_audit_verify(files, n, &o, &res, &err) < 0) {
		printf("%s: FAILED at %s\n", name, err.text);
		return -1;
	}
	if (quiet)
		return 0;
	if (res.records == 0) {
		printf("%s: OK: no records in %zu file%s\n", name, n, n == 1 ? "" : "s");
		return 0;
	}
	printf("%s: OK: %llu records, seq %lld..%lld, %zu file%s%s; %llu checkpoint%s", name,
		res.records, res.first_seq, res.last_seq, n, n == 1 ? "" : "s",
		o.anchor != NULL ? ", from the anchor" : "", res.checkpoints, res.checkpoints == 1 ? "" : "s");
	if (key != NULL)
		printf(", %llu signature%s verified, %llu record%s after the last signed checkpoint",
			res.checkpoints_verified, res.checkpoints_verified == 1 ? "" : "s", res.uncovered,
			res.uncovered == 1 ? "" : "s");
	else if (res.checkpoints > 0)
		printf(" (signatures not checked: no --cert)");
	if (res.tail_incomplete)
		printf("; the last line is still being written");
	printf("; head %s\n", res.last_hash);
	return 0;
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

static int audit_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "component", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' }, { "partial", no_argument, NULL, 'p' },
		{ "live", no_argument, NULL, 'l' }, { "sealed", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = default_dir(), *component = NULL, *cert = cli_getenv("JPKI_AUDIT_CHECKPOINT_CERT");
	unsigned flags = 0;
	jpki_audit_files files = { 0 };
	EVP_PKEY *key = NULL;
	jpki_err err;
	size_t i, start;
	int opt, failed = 0;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'c': component = optarg; break;
		case 'C': cert = optarg; break;
		case 'p': flags |= V_PARTIAL; break;
		case 'l': flags |= V_LIVE; break;
		case 's': flags |= V_SEALED; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if ((flags & V_SEALED) && (cert == NULL || cert[0] == '\0')) {
		fprintf(stderr, "jpki audit verify: --sealed needs the checkpoint certificate (--cert)\n");
		return EXIT_USAGE;
	}
	if (cert != NULL && cert[0] != '\0' && (key = load_key(cert)) == NULL)
		return EXIT_REFUSED;
	if (optind < argc) {
		for (i = (size_t)optind; i < (size_t)argc; i++) {
			if (jpki_audit_files_add(&files, argv[i], &err) < 0) {
				fprintf(stderr, "jpki audit verify: %s\n", err.text);
				EVP_PKEY_free(key);
				return EXIT_REFUSED;
			}
		}
		jpki_audit_files_sort(&files);
	} else {
		if (dir == NULL) {
			fprintf(stderr, "jpki audit verify: no directory (--dir or $JPKI_AUDIT_DIR) and no files\n");
			EVP_PKEY_free(key);
			return EXIT_USAGE;
		}
		if (jpki_audit_files_list(dir, component, &files, &err) < 0) {
			fprintf(stderr, "jpki audit verify: %s\n", err.text);
			EVP_PKEY_free(key);
			return EXIT_REFUSED;
		}
	}
	if (files.n == 0) {
		fprintf(stderr, "jpki audit verify: no audit files%s%s%s%s\n", component ? " of " : "",
			component ? component : "", optind < argc ? "" : " in ", optind < argc ? "" : dir);
		EVP_PKEY_free(key);
		return EXIT_REFUSED;
	}
	/* One chain per component: runs of files with the same component in the sorted list. */
	for (start = 0, i = 1; i <= files.n; i++) {
		if (i < files.n && strcmp(files.v[i].component, files.v[start].component) == 0)
			continue;
		if (component == NULL || files.v[start].component[0] == '\0' ||
		    strcmp(component, files.v[start].component) == 0)
			failed |= verify_chain(&files.v[start], i - start, key, flags, NULL, NULL, false) < 0;
		start = i;
	}
	jpki_audit_files_free(&files);
	EVP_PKEY_free(key);
	return failed ? EXIT_REFUSED : 0;
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

static void day_of(time_t t, char out[11])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
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
			fprintf(stderr, "jpki audit show: %s:%lu: skipped: %s (run jpki audit verify)\n",
				s->e.path, s->e.line, err.text);
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
	t->rows[t->n][0] = strdup(when);
	t->rows[t->n][1] = strdup(e->component);
	t->rows[t->n][2] = strdup(seq);
	t->rows[t->n][3] = strdup(e->event);
	t->rows[t->n][4] = strdup(e->method != NULL ? e->method : "-");
	t->rows[t->n][5] = strdup(e->result);
	t->rows[t->n][6] = strdup(e->identity[0] ? e->identity : "(anonymous)");
	t->rows[t->n][7] = strdup(e->client[0] ? e->client : "-");
	t->rows[t->n][8] = strdup(details);
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
	char from_day[11] = "", to_day[11] = "";
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
		day_of(f.from, from_day);
	if (f.has_to)
		day_of(f.to - 1, to_day);
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
	if (ends == NULL || verify_chain(files, n, key, V_LIVE, has_old ? &old : NULL, ends, true) < 0) {
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
	/* What would remain must verify from it. */
	if (verify_chain(files + k, n - k, key, V_LIVE, has_next ? &next : NULL, NULL, true) < 0) {
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
	unsigned long long n;
	jpki_audit_files files = { 0 };
	EVP_PKEY *key = NULL;
	char cutoff[11];
	size_t i, start;
	jpki_err err;
	int opt, failed = 0;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'o':
			/* The cutoff is a UTC day of a file's name: not before 1970-01-01. */
			if (cli_parse_number(optarg, 1, (unsigned long long)(now / 86400), &n) < 0) {
				fprintf(stderr, "jpki audit prune: --older-than '%s' is not a whole number of days from "
					"1 to %lld (the cutoff cannot be before 1970-01-01)\n", optarg,
					(long long)(now / 86400));
				return EXIT_USAGE;
			}
			days = (long)n;
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
	day_of(now - (time_t)days * 86400, cutoff);
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
