/* jpki report provision: the provision status of CPS 4-5 — per recipient (the verifier's
 * identity) and method, the number of items provided in a month — from the audit trail.
 * What counts as an item is jpki_audit_provision_items() (lib/audit_read.c): each
 * partition entry a successful crl-read names (sent with its CRL or, attrsonly, its name,
 * selected by a search testing the CRL, or compared: ldap), each CertID a successful
 * ocsp-request answered (ocsp). The records are counted as the month's files are verified
 * to link into a chain, and printed escaped. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit_read.h"
#include "cli.h"

#define METHODS 2
static const char *const method_names[METHODS] = { "ldap", "ocsp" };

typedef struct row {
	char *recipient;
	int method;
	unsigned long long requests, items;
} row;

typedef struct tally {
	row *rows;
	size_t n, cap;
	size_t last;				/* a cache: consecutive records are often the same row */
	unsigned long long daily[31][METHODS];	/* items per day of the month */
	unsigned long long total_requests[METHODS], total_items[METHODS];
} tally;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki report provision --month YYYY-MM [--dir DIR] [--csv] [--svg FILE]\n"
		"Per recipient and method, the requests answered and the items provided in that month\n"
		"(UTC): ldap items are the CRL partition entries a verifier read, ocsp items the\n"
		"CertIDs answered. Only records with result \"ok\" count.\n"
		"  --dir DIR    the audit trail (default $JPKI_AUDIT_DIR)\n"
		"  --csv        CSV (month,recipient,method,requests,items) instead of the table\n"
		"  --svg FILE   also a chart of the items per day and method\n"
		"Each component's files of the month must link into a chain (as jpki audit verify\n"
		"--partial checks a slice) or there is no report; run jpki audit verify for the whole\n"
		"trail (its start, anchor and checkpoints).\n");
}

static int tally_add(tally *t, const char *recipient, int method, unsigned long long items, int day)
{
	size_t i;

	if (t->last < t->n && t->rows[t->last].method == method && strcasecmp(t->rows[t->last].recipient, recipient) == 0) {
		i = t->last;
	} else {
		for (i = 0; i < t->n; i++)
			if (t->rows[i].method == method && strcasecmp(t->rows[i].recipient, recipient) == 0)
				break;
		if (i == t->n) {
			if (t->n == t->cap) {
				row *grown = realloc(t->rows, (t->cap = t->cap ? t->cap * 2 : 16) * sizeof(*grown));

				if (grown == NULL)
					return -1;
				t->rows = grown;
			}
			if ((t->rows[i].recipient = strdup(recipient)) == NULL)
				return -1;
			t->rows[i].method = method;
			t->rows[i].requests = t->rows[i].items = 0;
			t->n++;
		}
		t->last = i;
	}
	t->rows[i].requests++;
	t->rows[i].items += items;
	t->daily[day - 1][method] += items;
	t->total_requests[method]++;
	t->total_items[method] += items;
	return 0;
}

static int row_cmp(const void *pa, const void *pb)
{
	const row *a = pa, *b = pb;
	int c = strcasecmp(a->recipient, b->recipient);	/* DNs here compare without case */

	return c != 0 ? c : a->method - b->method;
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* The recipients as printed: escaped (jpki_audit_printable), for the table and the CSV alike,
 * since a newline or an escape sequence in an identity would forge a row. NULL: out of
 * memory. */
static char **printable_recipients(const tally *t)
{
	char **v = calloc(t->n + 1, sizeof(*v));
	size_t i;

	for (i = 0; v != NULL && i < t->n; i++) {
		if ((v[i] = jpki_audit_printable(t->rows[i].recipient)) == NULL) {
			while (i-- > 0)
				free(v[i]);
			free(v);
			v = NULL;
		}
	}
	return v;
}

static void free_recipients(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static int print_table(const tally *t, const char *month, const char *dir)
{
	char **names = printable_recipients(t);
	size_t i;
	int w = (int)strlen("RECIPIENT"), m;

	if (names == NULL)
		return -1;
	for (i = 0; i < t->n; i++)
		if ((int)strlen(names[i]) > w)
			w = (int)strlen(names[i]);
	if (w < (int)strlen("(anonymous)"))
		w = (int)strlen("(anonymous)");
	printf("Provision status for %s (UTC), from the audit trail in %s\n\n", month, dir);
	printf("%-*s  %-6s  %10s  %10s\n", w, "RECIPIENT", "METHOD", "REQUESTS", "ITEMS");
	for (i = 0; i < t->n; i++)
		printf("%-*s  %-6s  %10llu  %10llu\n", w, names[i][0] ? names[i] : "(anonymous)",
			method_names[t->rows[i].method], t->rows[i].requests, t->rows[i].items);
	free_recipients(names, t->n);
	for (m = 0; m < METHODS; m++)
		printf("%-*s  %-6s  %10llu  %10llu\n", w, "total", method_names[m], t->total_requests[m],
			t->total_items[m]);
	return 0;
}

static int print_csv(const tally *t, const char *month)
{
	char **names = printable_recipients(t);
	size_t i;

	if (names == NULL)
		return -1;
	printf("month,recipient,method,requests,items\n");
	for (i = 0; i < t->n; i++) {
		printf("%s,", month);
		csv_field(stdout, names[i]);
		printf(",%s,%llu,%llu\n", method_names[t->rows[i].method], t->rows[i].requests,
			t->rows[i].items);
	}
	free_recipients(names, t->n);
	return 0;
}

/* A grouped bar chart: days along x, one bar per method. Plain SVG 1.1 text. */
static int write_svg(const tally *t, const char *month, int days, const char *path, jpki_err *err)
{
	static const char *const colours[METHODS] = { "#1f77b4", "#ff7f0e" };
	const int W = 960, H = 420, left = 70, right = 20, top = 50, bottom = 60;
	const double plot_w = W - left - right, plot_h = H - top - bottom;
	unsigned long long max = 0, step, mag, top_value;
	double slot, bar, x, h;
	FILE *out;
	int d, m, k;

	for (d = 0; d < days; d++)
		for (m = 0; m < METHODS; m++)
			if (t->daily[d][m] > max)
				max = t->daily[d][m];
	/* a round scale: 1, 2 or 5 × 10^n per gridline, five gridlines */
	for (mag = step = 1; step * 5 < max;) {
		if (step == mag)
			step = 2 * mag;
		else if (step == 2 * mag)
			step = 5 * mag;
		else
			step = mag *= 10;
	}
	top_value = step * 5;
	if ((out = fopen(path, "w")) == NULL)
		return jpki_errf(err, "%s: cannot create", path);
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<title>Items provided per day, %s (UTC)</title>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"%d\" y=\"28\" font-size=\"16\">Items provided per day and method, %s (UTC)</text>\n",
		W, H, W, H, month, left, month);
	for (k = 0; k <= 5; k++) {
		double y = top + plot_h - plot_h * k / 5;

		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%llu</text>\n",
			left, y, W - right, y, left - 6, y + 4, step * (unsigned long long)k);
	}
	slot = plot_w / days;
	bar = slot * 0.8 / METHODS;
	for (d = 0; d < days; d++) {
		for (m = 0; m < METHODS; m++) {
			h = top_value ? plot_h * (double)t->daily[d][m] / (double)top_value : 0;
			x = left + slot * d + slot * 0.1 + bar * m;
			fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
				"<title>%s-%02d %s: %llu</title></rect>\n", x, top + plot_h - h, bar, h,
				colours[m], month, d + 1, method_names[m], t->daily[d][m]);
		}
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n",
			left + slot * d + slot / 2, H - bottom + 16, d + 1);
	}
	fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\"/>\n"
		"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">day of month</text>\n",
		left, top + plot_h, W - right, top + plot_h, left + plot_w / 2, H - bottom + 36);
	for (m = 0; m < METHODS; m++)
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"%d\">%s (%llu items)</text>\n", W - right - 280 + m * 140, 18,
			colours[m], W - right - 262 + m * 140, 29, method_names[m], t->total_items[m]);
	fprintf(out, "</svg>\n");
	if (fclose(out) != 0)
		return jpki_errf(err, "%s: write error", path);
	return 0;
}

/* Exactly YYYY-MM: sscanf would take "2026- 1" and "+026-01". */
static int parse_month(const char *text, int *year, int *mon)
{
	int i;

	if (strlen(text) != 7 || text[4] != '-')
		return -1;
	for (i = 0; i < 7; i++)
		if (i != 4 && (text[i] < '0' || text[i] > '9'))
			return -1;
	*year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
	*mon = (text[5] - '0') * 10 + (text[6] - '0');
	return *year >= 1970 && *mon >= 1 && *mon <= 12 ? 0 : -1;
}

static int days_in(int year, int mon)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : days[mon - 1];
}

/* Prints s to stderr escaped (jpki_audit_printable): a failure may quote a record. */
static void print_safe(const char *s)
{
	char *p = jpki_audit_printable(s);

	fputs(p != NULL ? p : "(out of memory)", stderr);
	free(p);
}

/* The records of the month, as verify accepts them. */
typedef struct counting {
	tally *t;
	const char *month;
	const jpki_audit_file *files;	/* those being verified: e->file indexes them */
	bool failed;			/* out of memory: no report */
} counting;

static void count_record(void *arg, const jpki_audit_entry *e)
{
	counting *c = arg;
	const char *method;
	unsigned long long items;

	/* Only a record of the component its file is named for (verify refuses others too). */
	if (c->failed || e->component == NULL || strcmp(e->component, c->files[e->file].component) != 0 ||
	    strncmp(e->time, c->month, 7) != 0 || !jpki_audit_provision_items(e, &method, &items))
		return;
	if (tally_add(c->t, e->identity, strcmp(method, "ldap") == 0 ? 0 : 1, items, atoi(e->time + 8)) < 0)
		c->failed = true;
}

/* f is the newest file of its component in all (the one a writer may be appending to). */
static bool newest_of(const jpki_audit_files *all, const jpki_audit_file *f)
{
	size_t i;

	for (i = 0; i < all->n; i++)
		if (strcmp(all->v[i].component, f->component) == 0 && strcmp(all->v[i].date, f->date) > 0)
			return false;
	return true;
}

int cmd_report_provision(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "month", required_argument, NULL, 'm' }, { "dir", required_argument, NULL, 'd' },
		{ "csv", no_argument, NULL, 'c' }, { "svg", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *dir = cli_getenv("JPKI_AUDIT_DIR"), *month = NULL, *svg = NULL;
	bool csv = false;
	jpki_audit_files all = { 0 }, files = { 0 };
	tally t = { 0 };
	counting cnt = { .t = &t };
	jpki_audit_verify_opts o = { .partial = true, .each = count_record, .each_arg = &cnt };
	jpki_audit_verify_result res;
	int opt, year = 0, mon = 0, status = 0;
	size_t i, start, end;
	jpki_err err;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm': month = optarg; break;
		case 'd': dir = optarg; break;
		case 'c': csv = true; break;
		case 's': svg = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (month == NULL) {
		fprintf(stderr, "jpki report provision: --month YYYY-MM is required\n");
		return EXIT_USAGE;
	}
	if (parse_month(month, &year, &mon) < 0) {
		fprintf(stderr, "jpki report provision: --month '%s' is not YYYY-MM: four digits, '-', two digits, "
			"month 01 to 12, year 1970 or later\n", month);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "jpki report provision: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (dir == NULL) {
		fprintf(stderr, "jpki report provision: no directory (--dir or $JPKI_AUDIT_DIR)\n");
		return EXIT_USAGE;
	}
	cnt.month = month;
	if (jpki_audit_files_list(dir, NULL, &all, &err) < 0) {
		fprintf(stderr, "jpki report provision: %s\n", err.text);
		return EXIT_REFUSED;
	}
	/* Every component's files of that month (a file holds one UTC day). A file left out
	 * would make the counts silently short: then there is no report. */
	for (i = 0; i < all.n && status == 0; i++) {
		if (strncmp(all.v[i].date, month, 7) == 0 && jpki_audit_files_add(&files, all.v[i].path, &err) < 0) {
			fprintf(stderr, "jpki report provision: %s: %s; no report\n", all.v[i].path, err.text);
			status = EXIT_REFUSED;
		}
	}
	jpki_audit_files_sort(&files);
	/* Each component's files of the month must link into a chain (a slice: its first record
	 * taken as given, as verify --partial); the records are counted as they are verified, in
	 * one pass, so that nothing is counted that was not checked. The month's last file may be
	 * being written when it is the component's newest. */
	for (start = 0; status == 0 && start < files.n; start = end) {
		for (end = start + 1; end < files.n && strcmp(files.v[end].component, files.v[start].component) == 0;
		     end++)
			;
		o.live = newest_of(&all, &files.v[end - 1]);
		cnt.files = &files.v[start];
		if (jpki_audit_verify(&files.v[start], end - start, &o, &res, &err) < 0) {
			fprintf(stderr, "jpki report provision: refused: ");
			print_safe(err.text);
			fprintf(stderr, " (run jpki audit verify); no report\n");
			status = EXIT_REFUSED;
		} else if (cnt.failed) {
			fprintf(stderr, "jpki report provision: out of memory; no report\n");
			status = EXIT_REFUSED;
		}
	}
	if (status == 0) {
		qsort(t.rows, t.n, sizeof(*t.rows), row_cmp);
		if ((csv ? print_csv(&t, month) : print_table(&t, month, dir)) < 0) {
			fprintf(stderr, "jpki report provision: out of memory; no report\n");
			status = EXIT_REFUSED;
		} else if (svg != NULL && write_svg(&t, month, days_in(year, mon), svg, &err) < 0) {
			fprintf(stderr, "jpki report provision: %s\n", err.text);
			status = EXIT_REFUSED;
		}
	}
	for (i = 0; i < t.n; i++)
		free(t.rows[i].recipient);
	free(t.rows);
	jpki_audit_files_free(&files);
	jpki_audit_files_free(&all);
	return status;
}
