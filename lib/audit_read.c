/* Reading and verifying the audit trail: see audit_read.h for the rules, audit.h for the
 * format. JSON is parsed by jansson, hashes and signatures by OpenSSL. */
#include "audit_read.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "audit.h"
#include "digest.h"
#include "utctime.h"
#include "utf8.h"

static const char zeros[JPKI_AUDIT_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* --- files ------------------------------------------------------------------------------ */

static bool date_shape(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	return true;
}

int jpki_audit_file_name_parse(const char *base, char *component, size_t component_len,
	char date[11])
{
	static const char ext[] = ".jsonl";
	size_t len = strlen(base), clen;

	/* <component>-YYYY-MM-DD.jsonl, component non-empty */
	if (len < 1 + 1 + 10 + sizeof(ext) - 1 || strcmp(base + len - (sizeof(ext) - 1), ext) != 0)
		return -1;
	clen = len - (sizeof(ext) - 1) - 10 - 1;
	if (base[clen] != '-' || !date_shape(base + clen + 1) || clen >= component_len || base[0] == '.')
		return -1;
	memcpy(component, base, clen);
	component[clen] = '\0';
	memcpy(date, base + clen + 1, 10);
	date[10] = '\0';
	return 0;
}

static int files_push(jpki_audit_files *f, const char *path, const char *component,
	const char *date, jpki_err *err)
{
	jpki_audit_file *grown = realloc(f->v, (f->n + 1) * sizeof(*f->v));

	if (grown == NULL)
		return jpki_errf(err, "out of memory");
	f->v = grown;
	memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
	if ((f->v[f->n].path = strdup(path)) == NULL)
		return jpki_errf(err, "out of memory");
	snprintf(f->v[f->n].component, sizeof(f->v[f->n].component), "%s", component);
	snprintf(f->v[f->n].date, sizeof(f->v[f->n].date), "%s", date);
	f->n++;
	return 0;
}

int jpki_audit_files_add(jpki_audit_files *f, const char *path, jpki_err *err)
{
	const char *base = strrchr(path, '/');
	char component[JPKI_AUDIT_COMPONENT_MAX], date[11];

	base = base != NULL ? base + 1 : path;
	if (jpki_audit_file_name_parse(base, component, sizeof(component), date) < 0)
		component[0] = date[0] = '\0';
	return files_push(f, path, component, date, err);
}

/* Named files first, by component then date; unnamed ones after, in their given order. */
static int file_cmp(const void *pa, const void *pb)
{
	const jpki_audit_file *a = pa, *b = pb;
	int c;

	if ((a->date[0] == '\0') != (b->date[0] == '\0'))
		return a->date[0] == '\0' ? 1 : -1;
	if (a->date[0] == '\0')
		return a < b ? -1 : a > b;
	if ((c = strcmp(a->component, b->component)) != 0)
		return c;
	if ((c = strcmp(a->date, b->date)) != 0)
		return c;
	return strcmp(a->path, b->path);
}

void jpki_audit_files_sort(jpki_audit_files *f)
{
	/* qsort is not stable: unnamed files compare by address, which is their given order. */
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), file_cmp);
}

int jpki_audit_files_list(const char *dir, const char *component, jpki_audit_files *out,
	jpki_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char c[JPKI_AUDIT_COMPONENT_MAX], date[11], path[4096];

	memset(out, 0, sizeof(*out));
	if (d == NULL)
		return jpki_errf(err, "audit directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (jpki_audit_file_name_parse(de->d_name, c, sizeof(c), date) < 0)
			continue;
		if (component != NULL && strcmp(component, c) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    files_push(out, path, c, date, err) < 0) {
			closedir(d);
			jpki_audit_files_free(out);
			return jpki_errf(err, "audit directory %s: path too long or out of memory", dir);
		}
	}
	closedir(d);
	jpki_audit_files_sort(out);
	return 0;
}

void jpki_audit_files_free(jpki_audit_files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* A component name as the writer accepts it: letters, digits, - and _. */
static bool component_shape(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= JPKI_AUDIT_COMPONENT_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static int mark_cmp(const void *pa, const void *pb)
{
	return strcmp(((const jpki_audit_mark *)pa)->component, ((const jpki_audit_mark *)pb)->component);
}

int jpki_audit_marks_list(const char *dir, jpki_audit_mark **out, size_t *n, jpki_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	jpki_audit_mark *v = NULL, *grown;
	const char *name;
	size_t len, clen, i, count = 0;
	bool lock;

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return jpki_errf(err, "audit directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		name = de->d_name;
		len = strlen(name);
		/* ".<component>.lock" or "<component>.anchor" (not the anchor's temporary files) */
		if (len > 6 && name[0] == '.' && strcmp(name + len - 5, ".lock") == 0) {
			lock = true;
			name++;
			clen = len - 6;
		} else if (len > 7 && name[0] != '.' && strcmp(name + len - 7, ".anchor") == 0) {
			lock = false;
			clen = len - 7;
		} else {
			continue;
		}
		if (!component_shape(name, clen))
			continue;
		for (i = 0; i < count; i++)
			if (strncmp(v[i].component, name, clen) == 0 && v[i].component[clen] == '\0')
				break;
		if (i == count) {
			if ((grown = realloc(v, (count + 1) * sizeof(*v))) == NULL) {
				closedir(d);
				free(v);
				return jpki_errf(err, "audit directory %s: out of memory", dir);
			}
			v = grown;
			memset(&v[count], 0, sizeof(v[count]));
			memcpy(v[count].component, name, clen);
			count++;
		}
		if (lock)
			v[i].lock = true;
		else
			v[i].anchor = true;
	}
	closedir(d);
	if (count > 1)
		qsort(v, count, sizeof(*v), mark_cmp);
	*out = v;
	*n = count;
	return 0;
}

/* --- records ---------------------------------------------------------------------------- */

int jpki_audit_time_parse(const char *text, time_t *t, long *usec)
{
	const char *frac;
	time_t s;

	if (strlen(text) != JPKI_UTC_ISO_LEN + 7)
		return -1;
	frac = text + JPKI_UTC_ISO_LEN - 1;	/* ".ddddddZ" in place of the "Z" */
	if (frac[0] != '.' || strspn(frac + 1, "0123456789") != 6 || frac[7] != 'Z' ||
	    jpki_utc_iso_head(text, &s) < 0)
		return -1;
	*t = s;
	*usec = strtol(frac + 1, NULL, 10);
	return 0;
}

static bool hex64(const char *s)
{
	size_t i;

	for (i = 0; i < JPKI_AUDIT_HEX_LEN; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return s[JPKI_AUDIT_HEX_LEN] == '\0';
}

void jpki_audit_entry_clear(jpki_audit_entry *e)
{
	json_decref(e->json);
	free(e->text);
	memset(e, 0, sizeof(*e));
	e->seq = -1;
}

typedef enum { K_INT, K_STR, K_STR_OR_NULL, K_OBJ } key_type;

static const struct {
	const char *name;
	key_type type;
} keys[] = {
	{ "v", K_INT }, { "seq", K_INT }, { "time", K_STR }, { "component", K_STR },
	{ "event", K_STR }, { "result", K_STR }, { "identity", K_STR }, { "auth", K_STR },
	{ "client", K_STR }, { "method", K_STR_OR_NULL }, { "conn", K_INT }, { "op", K_INT },
	{ "details", K_OBJ }, { "prev", K_STR },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int entry_fail(jpki_audit_entry *e, jpki_err *err, const char *fmt, const char *arg)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, arg);
	jpki_audit_entry_clear(e);
	return jpki_errf(err, "rule format: %s", why);
}

int jpki_audit_entry_parse(const char *text, size_t len, jpki_audit_entry *e, jpki_err *err)
{
	json_error_t jerr;
	void *it;
	size_t i;
	json_t *v;

	jpki_audit_entry_clear(e);
	if (memchr(text, '\0', len) != NULL)
		return entry_fail(e, err, "%sa NUL byte in the line", "");
	e->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (e->json == NULL) {
		jpki_audit_entry_clear(e);
		return jpki_errf(err, "rule format: not JSON: %s (column %d)", jerr.text, jerr.column);
	}
	if (!json_is_object(e->json))
		return entry_fail(e, err, "%snot a JSON object", "");
	/* The keys of audit.h, all of them, in their order, nothing else. */
	for (i = 0, it = json_object_iter(e->json); i < NKEYS; i++, it = json_object_iter_next(e->json, it)) {
		if (it == NULL)
			return entry_fail(e, err, "key \"%s\" missing", keys[i].name);
		if (strcmp(json_object_iter_key(it), keys[i].name) != 0)
			return entry_fail(e, err, "key \"%s\" missing or out of order", keys[i].name);
		v = json_object_iter_value(it);
		if ((keys[i].type == K_INT && !json_is_integer(v)) ||
		    (keys[i].type == K_STR && !json_is_string(v)) ||
		    (keys[i].type == K_STR_OR_NULL && !json_is_string(v) && !json_is_null(v)) ||
		    (keys[i].type == K_OBJ && !json_is_object(v)))
			return entry_fail(e, err, "\"%s\" has the wrong type", keys[i].name);
	}
	if (it != NULL)
		return entry_fail(e, err, "unexpected key \"%s\"", json_object_iter_key(it));
	if (json_integer_value(json_object_get(e->json, "v")) != JPKI_AUDIT_VERSION)
		return entry_fail(e, err, "%sformat version \"v\" is not 1", "");
	e->seq = json_integer_value(json_object_get(e->json, "seq"));
	e->time = json_string_value(json_object_get(e->json, "time"));
	e->component = json_string_value(json_object_get(e->json, "component"));
	e->event = json_string_value(json_object_get(e->json, "event"));
	e->result = json_string_value(json_object_get(e->json, "result"));
	e->identity = json_string_value(json_object_get(e->json, "identity"));
	e->auth = json_string_value(json_object_get(e->json, "auth"));
	e->client = json_string_value(json_object_get(e->json, "client"));
	e->method = json_string_value(json_object_get(e->json, "method"));
	e->conn = json_integer_value(json_object_get(e->json, "conn"));
	e->op = json_integer_value(json_object_get(e->json, "op"));
	e->details = json_object_get(e->json, "details");
	e->prev = json_string_value(json_object_get(e->json, "prev"));
	if (e->seq < 1) {
		e->seq = -1;
		return entry_fail(e, err, "%s\"seq\" is not a positive number", "");
	}
	if (jpki_audit_time_parse(e->time, &e->t, &e->usec) < 0)
		return entry_fail(e, err, "\"time\" '%s' is not YYYY-MM-DDTHH:MM:SS.uuuuuuZ", e->time);
	if (e->component[0] == '\0' || e->event[0] == '\0' || e->result[0] == '\0')
		return entry_fail(e, err, "%sempty component, event or result", "");
	if (!hex64(e->prev))
		return entry_fail(e, err, "%s\"prev\" is not 64 lowercase hex digits", "");
	if ((e->text = malloc(len + 1)) == NULL)
		return entry_fail(e, err, "%sout of memory", "");
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->len = len;
	jpki_sha256_hex(text, len, e->hash);
	return 0;
}

/* --- reader ----------------------------------------------------------------------------- */

struct jpki_audit_reader {
	const jpki_audit_file *files;
	size_t n, idx;
	FILE *fp;
	unsigned long line;
	char *buf;
	size_t cap;
};

int jpki_audit_reader_open(const jpki_audit_file *files, size_t n, jpki_audit_reader **out,
	jpki_err *err)
{
	jpki_audit_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return jpki_errf(err, "out of memory");
	r->files = files;
	r->n = n;
	*out = r;
	return 0;
}

/* A best guess at the seq of a line that is not a record, for the report; -1: none. */
static long long seq_guess(const char *line)
{
	const char *s = strstr(line, "\"seq\":");
	long long seq = s != NULL ? strtoll(s + 6, NULL, 10) : -1;

	return seq > 0 ? seq : -1;
}

int jpki_audit_reader_next(jpki_audit_reader *r, jpki_audit_entry *e, jpki_err *err)
{
	ssize_t got;
	int rc;

	jpki_audit_entry_clear(e);
	for (;;) {
		if (r->fp == NULL) {
			if (r->idx == r->n)
				return 0;
			r->line = 0;
			r->fp = fopen(r->files[r->idx].path, "r");
			if (r->fp == NULL) {
				e->path = r->files[r->idx].path;
				e->file = r->idx++;
				return jpki_errf(err, "rule format: cannot open: %s", strerror(errno));
			}
		}
		e->path = r->files[r->idx].path;
		e->file = r->idx;
		got = getline(&r->buf, &r->cap, r->fp);
		if (got < 0) {
			rc = ferror(r->fp) ? -1 : 0;
			fclose(r->fp);
			r->fp = NULL;
			r->idx++;
			if (rc < 0) {
				e->line = r->line + 1;
				return jpki_errf(err, "rule format: read error");
			}
			continue;
		}
		e->line = ++r->line;
		if (r->buf[got - 1] != '\n') {
			/* The last line of the file, cut short. */
			e->seq = seq_guess(r->buf);
			return jpki_errf(err, "rule truncated: the file ends inside this record (%zd bytes, "
				"no newline)", got);
		}
		rc = jpki_audit_entry_parse(r->buf, (size_t)got - 1, e, err);
		e->path = r->files[r->idx].path;
		e->file = r->idx;
		e->line = r->line;
		if (rc < 0) {
			e->seq = seq_guess(r->buf);
			return -1;
		}
		return 1;
	}
}

void jpki_audit_reader_close(jpki_audit_reader *r)
{
	if (r == NULL)
		return;
	if (r->fp != NULL)
		fclose(r->fp);
	free(r->buf);
	free(r);
}

/* --- anchor ----------------------------------------------------------------------------- */

static int anchor_path(const char *dir, const char *component, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s.anchor", dir, component);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int jpki_audit_anchor_read(const char *dir, const char *component, jpki_audit_anchor *a,
	jpki_err *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *j, *seq, *hash, *through;

	memset(a, 0, sizeof(*a));
	if (anchor_path(dir, component, path, sizeof(path)) < 0)
		return jpki_errf(err, "%s: path too long", dir);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return jpki_errf(err, "%s: rule anchor: not JSON: %s", path, jerr.text);
	seq = json_object_get(j, "seq");
	hash = json_object_get(j, "hash");
	through = json_object_get(j, "pruned_through");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1 || !json_is_string(hash) ||
	    !hex64(json_string_value(hash)) || !json_is_string(through) ||
	    strlen(json_string_value(through)) != 10 || !date_shape(json_string_value(through))) {
		json_decref(j);
		return jpki_errf(err, "%s: rule anchor: needs \"seq\" (a number), \"hash\" (64 hex) and "
			"\"pruned_through\" (YYYY-MM-DD)", path);
	}
	a->seq = json_integer_value(seq);
	snprintf(a->hash, sizeof(a->hash), "%s", json_string_value(hash));
	snprintf(a->pruned_through, sizeof(a->pruned_through), "%s", json_string_value(through));
	json_decref(j);
	return 1;
}

int jpki_audit_anchor_write(const char *dir, const char *component, const jpki_audit_anchor *a,
	jpki_err *err)
{
	char path[4096], tmp[4200];
	json_t *j;
	char *text;
	size_t len;
	int fd, dfd, ok;

	if (anchor_path(dir, component, path, sizeof(path)) < 0)
		return jpki_errf(err, "%s: path too long", dir);
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	j = json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)a->seq, "hash", a->hash,
		"pruned_through", a->pruned_through);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return jpki_errf(err, "%s: out of memory", path);
	len = strlen(text);
	text[len++] = '\n';	/* json_dumps leaves room: the NUL becomes the newline */
	fd = mkstemp(tmp);
	if (fd < 0) {
		free(text);
		return jpki_errf(err, "%s: cannot create: %s", tmp, strerror(errno));
	}
	ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, 0640) == 0 && fsync(fd) == 0;
	free(text);
	if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
		jpki_errf(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || fsync(dfd) != 0) {
		jpki_errf(err, "%s: fsync: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

/* --- checkpoints ------------------------------------------------------------------------ */

EVP_PKEY *jpki_audit_checkpoint_key_load(const char *cert_pem, jpki_err *err)
{
	FILE *fp = fopen(cert_pem, "r");
	X509 *x;
	EVP_PKEY *k;

	if (fp == NULL) {
		jpki_errf(err, "checkpoint certificate %s: %s", cert_pem, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL) {
		jpki_errf_ssl(err, "checkpoint certificate %s: not a PEM certificate", cert_pem);
		return NULL;
	}
	k = X509_get_pubkey(x);
	X509_free(x);
	if (k == NULL)
		jpki_errf_ssl(err, "checkpoint certificate %s: no public key", cert_pem);
	return k;
}

int jpki_audit_checkpoint_message(const char *head, long long seq, const char *day, const char *after,
	char *out, size_t outlen)
{
	int n = day == NULL ? snprintf(out, outlen, "%s%lld", head, seq) :
		after == NULL ? snprintf(out, outlen, "%s%lld day-start %s", head, seq, day) :
				snprintf(out, outlen, "%s%lld day-start %s after %s", head, seq, day, after);

	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* 0 verified; -1 with why. */
static int checkpoint_signature_check(EVP_PKEY *key, const char *head, long long seq,
	const char *day, const char *after, const char *b64, char *why, size_t whylen)
{
	char msg[JPKI_AUDIT_CHECKPOINT_MSG_MAX];
	unsigned char *sig;
	size_t b64len = strlen(b64);
	int len, tail = 0, rc = -1, mlen;
	EVP_ENCODE_CTX *dctx;
	EVP_MD_CTX *md;

	mlen = jpki_audit_checkpoint_message(head, seq, day, after, msg, sizeof(msg));
	sig = malloc(b64len + 4);
	dctx = EVP_ENCODE_CTX_new();
	if (mlen < 0 || sig == NULL || dctx == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	EVP_DecodeInit(dctx);
	if (b64len == 0 || EVP_DecodeUpdate(dctx, sig, &len, (const unsigned char *)b64, (int)b64len) < 0 ||
	    EVP_DecodeFinal(dctx, sig + len, &tail) < 0) {
		snprintf(why, whylen, "the signature is not base64");
		goto out;
	}
	len += tail;
	md = EVP_MD_CTX_new();
	if (md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, (size_t)len, (const unsigned char *)msg, (size_t)mlen) == 1)
		rc = 0;
	else
		snprintf(why, whylen, "the signature does not verify with the checkpoint certificate's key");
	EVP_MD_CTX_free(md);
	ERR_clear_error();
out:
	EVP_ENCODE_CTX_free(dctx);
	free(sig);
	return rc;
}

/* --- verify ----------------------------------------------------------------------------- */

/* One record read ahead: status as jpki_audit_reader_next returns it. */
typedef struct slot {
	int status;
	jpki_audit_entry e;
	jpki_err err;
} slot;

/* What is kept of the last accepted record (and where the first one was). */
typedef struct last_rec {
	bool have;
	long long seq;
	char hash[JPKI_AUDIT_HEX_LEN + 1];
	const char *path;
	unsigned long line;
	time_t t;
	long usec;
	const char *first_path;
	unsigned long first_line;
	bool *seen;		/* one per o->expect */
} last_rec;

static int fail(jpki_audit_verify_result *res, jpki_err *err, const char *path, unsigned long line,
	long long seq, const char *rule, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int fail(jpki_audit_verify_result *res, jpki_err *err, const char *path, unsigned long line,
	long long seq, const char *rule, const char *fmt, ...)
{
	va_list ap;

	snprintf(res->bad_path, sizeof(res->bad_path), "%s", path != NULL ? path : "?");
	res->bad_line = line;
	res->bad_seq = seq;
	snprintf(res->rule, sizeof(res->rule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
	if (seq > 0)
		return jpki_errf(err, "%s:%lu (seq %lld): rule %s: %s", res->bad_path, line, seq, rule, res->why);
	return jpki_errf(err, "%s:%lu: rule %s: %s", res->bad_path, line, rule, res->why);
}

/* Whether text is a day of the calendar, "YYYY-MM-DD", before day (the same form). */
static bool day_before(const char *text, const char *day)
{
	char iso[JPKI_UTC_ISO_LEN + 1];
	time_t t;

	if (strlen(text) != JPKI_UTC_DAY_LEN)
		return false;
	snprintf(iso, sizeof(iso), "%sT00:00:00Z", text);
	return jpki_utc_iso_head(iso, &t) == 0 && strcmp(text, day) < 0;
}

/* A day-start checkpoint's "after", the day of the record before it; NULL when it has none. */
static const char *checkpoint_after(const jpki_audit_entry *e)
{
	return json_string_value(json_object_get(e->details, "after"));
}

/* A checkpoint's own fields: head equal to its prev, seq the one before it, a signature; a
 * day-start checkpoint's day that of its own time, and its after (when there is one) a day
 * before it. 1 verified, 0 consistent but not checked (no key), -1 with why. */
static int checkpoint_check(const jpki_audit_entry *e, EVP_PKEY *key, char *why, size_t whylen)
{
	json_t *head = json_object_get(e->details, "head"), *seq = json_object_get(e->details, "seq"),
	       *sig = json_object_get(e->details, "signature"), *day = json_object_get(e->details, "day"),
	       *after = json_object_get(e->details, "after");
	char date[JPKI_UTC_DAY_LEN + 1];

	/* The writer's fixed fields: nothing of a checkpoint may be changed unnoticed. */
	if (strcmp(e->result, "ok") != 0 || e->identity[0] != '\0' || strcmp(e->auth, "none") != 0 ||
	    e->client[0] != '\0' || e->method != NULL || e->conn != -1 || e->op != -1) {
		snprintf(why, whylen, "a checkpoint has result \"ok\", no identity, auth \"none\", no "
			"client or method, conn and op -1");
		return -1;
	}
	if (!json_is_string(head) || !json_is_integer(seq) || !json_is_string(sig) ||
	    (day != NULL && !json_is_string(day)) || (after != NULL && (day == NULL || !json_is_string(after))) ||
	    json_object_size(e->details) != 3u + (day != NULL) + (after != NULL)) {
		snprintf(why, whylen, "details need \"head\", \"seq\", \"signature\" and, starting a "
			"day, \"day\" and (when known) \"after\", nothing else");
		return -1;
	}
	jpki_utc_day(e->t, date);
	if (day != NULL && strcmp(json_string_value(day), date) != 0) {
		snprintf(why, whylen, "day %s is not the date of the checkpoint's own time (%s)",
			json_string_value(day), date);
		return -1;
	}
	if (after != NULL && !day_before(json_string_value(after), date)) {
		snprintf(why, whylen, "after %s is not a day (YYYY-MM-DD) before the checkpoint's own (%s)",
			json_string_value(after), date);
		return -1;
	}
	if (strcmp(json_string_value(head), e->prev) != 0) {
		snprintf(why, whylen, "head is not the hash of the record before the checkpoint");
		return -1;
	}
	if (json_integer_value(seq) != e->seq - 1) {
		snprintf(why, whylen, "seq %lld is not that of the record before the checkpoint (%lld)",
			(long long)json_integer_value(seq), e->seq - 1);
		return -1;
	}
	if (key == NULL)
		return 0;
	if (checkpoint_signature_check(key, json_string_value(head), json_integer_value(seq),
		    day != NULL ? date : NULL, checkpoint_after(e), json_string_value(sig), why, whylen) < 0)
		return -1;
	return 1;
}

/* The record after the anchor confirms it: a checkpoint whose signed head and seq are the
 * anchor's (its prev and seq - 1, which the caller matched to the anchor), signed when there
 * is a key. 0, or -1 with why.
 *
 * Why a signature and not the anchor file itself: the anchor is a plain file anyone who can
 * delete records can write. The writer starts every day file with a checkpoint when it has a
 * key, and prune removes whole day files, so after a prune the first record left is such a
 * checkpoint, and only that one signs "day-start" with its day; deleting a prefix of the
 * chain then shows, even one that ends just before another checkpoint.
 * Files written without a key, or by a writer that did not start day files with a
 * checkpoint, still verify with the key from seq 1 (no anchor to confirm) and, past an
 * anchor, without it; an anchor over them cannot be confirmed, so with the key they are
 * verified together with the archived files they follow, by name. */
static int anchor_confirm(const jpki_audit_entry *e, EVP_PKEY *key, char *why, size_t whylen)
{
	if (strcmp(e->event, "checkpoint") != 0 || json_object_get(e->details, "day") == NULL) {
		snprintf(why, whylen, "the first record after it is not the checkpoint that starts a day "
			"file, signing its seq and hash (records deleted and the anchor written to match%s; "
			"or files written without day-start checkpoints: verify them with the archived "
			"files, by name)", strcmp(e->event, "checkpoint") == 0 ? ", up to a checkpoint "
			"within a day" : "");
		return -1;
	}
	if (checkpoint_check(e, key, why, whylen) < 0)
		return -1;
	if (checkpoint_after(e) == NULL) {
		snprintf(why, whylen, "the checkpoint after it does not sign the day of the anchor's record: the "
			"writer resumed from the anchor alone, the files after it having been removed (a prune "
			"always keeps the newest file)");
		return -1;
	}
	return 0;
}

static void slot_fill(jpki_audit_reader *r, slot *s)
{
	s->status = jpki_audit_reader_next(r, &s->e, &s->err);
}

static bool time_before(time_t t1, long u1, time_t t2, long u2)
{
	return t1 < t2 || (t1 == t2 && u1 < u2);
}

/* Checks cur against the chain so far; 0 accepted, -1 failed (res, err set). nxt is the
 * record after cur, looked at only to tell which of two unlinked records was altered. */
static int verify_one(const jpki_audit_file *files, size_t n_files, const jpki_audit_verify_opts *o,
	last_rec *last, slot *cur, const slot *nxt, jpki_audit_verify_result *res, jpki_err *err)
{
	const jpki_audit_entry *e = &cur->e;
	const jpki_audit_file *f = &files[e->file];
	const jpki_audit_anchor *an = o->anchor;
	char why[400], date[11];
	bool cur_intact;
	size_t i;
	int ck;

	if (cur->status < 0 && o->live && nxt->status == 0 && e->file + 1 == n_files &&
	    strncmp(cur->err.text, "rule truncated", 14) == 0) {
		res->tail_incomplete = true;
		return 0;
	}
	if (cur->status < 0)
		return fail(res, err, e->path, e->line, e->seq,
			strncmp(cur->err.text, "rule truncated", 14) == 0 ? "truncated" : "format", "%s",
			strchr(cur->err.text, ':') != NULL ? strchr(cur->err.text, ':') + 2 : cur->err.text);
	if (res->component[0] == '\0')
		snprintf(res->component, sizeof(res->component), "%s", e->component);
	else if (strcmp(res->component, e->component) != 0)
		return fail(res, err, e->path, e->line, e->seq, "component",
			"a record of component '%s' in the chain of '%s'", e->component, res->component);
	if (f->component[0] != '\0' && strcmp(f->component, e->component) != 0)
		return fail(res, err, e->path, e->line, e->seq, "component",
			"a record of component '%s' in a file of '%s'", e->component, f->component);

	/* Where the chain starts. */
	if (!last->have) {
		if (o->partial) {
			/* taken as given */
		} else if (an != NULL && e->seq == an->seq + 1) {
			if (strcmp(e->prev, an->hash) != 0)
				return fail(res, err, e->path, e->line, e->seq, "anchor",
					"prev does not match the anchor's hash of seq %lld (pruned through %s)",
					an->seq, an->pruned_through);
			if ((o->checkpoint_key != NULL || o->anchor_checkpoint) &&
			    anchor_confirm(e, o->checkpoint_key, why, sizeof(why)) < 0)
				return fail(res, err, e->path, e->line, e->seq, "anchor",
					"the anchor (seq %lld, pruned through %s) is not confirmed: %s", an->seq,
					an->pruned_through, why);
			res->anchor_confirmed = o->checkpoint_key != NULL;
			/* The anchor's record was in a file of that day, pruned with it: an older
			 * pruned_through would hide a prune of recent days from --retention. */
			if (strcmp(e->event, "checkpoint") == 0 && checkpoint_after(e) != NULL &&
			    strcmp(checkpoint_after(e), an->pruned_through) > 0)
				return fail(res, err, e->path, e->line, e->seq, "anchor",
					"the anchor says the files through %s were pruned, but the checkpoint after "
					"it signs that its record (seq %lld) is of %s", an->pruned_through, an->seq,
					checkpoint_after(e));
		} else if (an != NULL && e->seq > an->seq + 1) {
			return fail(res, err, e->path, e->line, e->seq, "seq",
				"the chain starts at seq %lld but the anchor ends at seq %lld: records %lld..%lld "
				"are missing", e->seq, an->seq, an->seq + 1, e->seq - 1);
		} else if (e->seq != 1) {
			return fail(res, err, e->path, e->line, e->seq, "anchor",
				"the chain starts at seq %lld, not 1, and %s: the records before it are missing",
				e->seq, an != NULL ? "the anchor ends later" : "there is no anchor");
		} else if (strcmp(e->prev, zeros) != 0) {
			return fail(res, err, e->path, e->line, e->seq, "chain",
				"the first record's prev is not 64 zeros");
		}
	} else {
		if (e->seq == last->seq + 2)
			return fail(res, err, e->path, e->line, e->seq, "seq",
				"seq jumps from %lld to %lld: record %lld is missing here (deleted or moved)",
				last->seq, e->seq, last->seq + 1);
		if (e->seq > last->seq + 2)
			return fail(res, err, e->path, e->line, e->seq, "seq",
				"seq jumps from %lld to %lld: records %lld..%lld are missing here (deleted or moved)",
				last->seq, e->seq, last->seq + 1, e->seq - 1);
		if (e->seq <= last->seq)
			return fail(res, err, e->path, e->line, e->seq, "seq",
				"seq %lld comes after seq %lld: records reordered or repeated", e->seq, last->seq);
		if (strcmp(e->prev, last->hash) != 0) {
			/* Either the record before was altered (this one still links to the next, or is a
			 * checkpoint agreeing with itself), or this one was. */
			cur_intact = (nxt->status == 1 && nxt->e.seq == e->seq + 1 &&
				      strcmp(nxt->e.prev, e->hash) == 0) ||
				     (strcmp(e->event, "checkpoint") == 0 &&
				      checkpoint_check(e, o->checkpoint_key, why, sizeof(why)) >= 0);
			if (cur_intact)
				return fail(res, err, last->path, last->line, last->seq, "chain",
					"this record was altered: its hash no longer matches the prev of the next "
					"record (seq %lld at %s:%lu)", e->seq, e->path, e->line);
			return fail(res, err, e->path, e->line, e->seq, "chain",
				"prev does not match the hash of the record before it (seq %lld at %s:%lu): "
				"this record was altered%s", last->seq, last->path, last->line,
				nxt->status == 1 ? "" : " (or the one before: nothing follows to tell)");
		}
		if (time_before(e->t, e->usec, last->t, last->usec))
			return fail(res, err, e->path, e->line, e->seq, "time",
				"time %s is before the previous record's", e->time);
	}
	if (f->date[0] != '\0') {
		jpki_utc_day(e->t, date);
		if (strcmp(date, f->date) != 0)
			return fail(res, err, e->path, e->line, e->seq, "time",
				"a record of %s in the file of %s", date, f->date);
	}
	if (an != NULL && e->seq == an->seq && strcmp(e->hash, an->hash) != 0)
		return fail(res, err, e->path, e->line, e->seq, "anchor",
			"the anchor names seq %lld with another hash", an->seq);
	if (strcmp(e->event, "checkpoint") == 0) {
		res->checkpoints++;
		ck = checkpoint_check(e, o->checkpoint_key, why, sizeof(why));
		if (ck < 0)
			return fail(res, err, e->path, e->line, e->seq, "checkpoint", "%s", why);
		if (last->have && checkpoint_after(e) != NULL) {
			jpki_utc_day(last->t, date);
			if (strcmp(checkpoint_after(e), date) != 0)
				return fail(res, err, e->path, e->line, e->seq, "checkpoint",
					"after %s is not the day of the record before it (%s)", checkpoint_after(e),
					date);
		}
		if (ck == 1) {
			res->checkpoints_verified++;
			res->uncovered = 0;
		} else {
			res->uncovered++;
		}
	} else {
		res->uncovered++;
	}
	for (i = 0; i < o->n_expect; i++) {
		if (o->expect[i].seq != e->seq)
			continue;
		if (strcmp(o->expect[i].hash, e->hash) != 0)
			return fail(res, err, e->path, e->line, e->seq, "expect",
				"its hash is %s, not %s as noted earlier: the chain was rewritten up to here",
				e->hash, o->expect[i].hash);
		last->seen[i] = true;
	}

	if (!last->have) {
		last->first_path = e->path;
		last->first_line = e->line;
	}
	last->have = true;
	last->seq = e->seq;
	memcpy(last->hash, e->hash, sizeof(last->hash));
	last->path = e->path;
	last->line = e->line;
	last->t = e->t;
	last->usec = e->usec;
	if (res->first_seq < 0)
		res->first_seq = e->seq;
	res->last_seq = e->seq;
	memcpy(res->last_hash, e->hash, sizeof(res->last_hash));
	res->records++;
	if (o->file_ends != NULL) {
		o->file_ends[e->file].seq = e->seq;
		memcpy(o->file_ends[e->file].hash, e->hash, sizeof(o->file_ends[e->file].hash));
	}
	if (o->each != NULL)
		o->each(o->each_arg, e);
	return 0;
}

/* After the last record: what the whole chain must show. 0, or -1 (res, err set). */
static int verify_end(const jpki_audit_file *files, size_t n, const jpki_audit_verify_opts *o,
	const last_rec *last, jpki_audit_verify_result *res, jpki_err *err)
{
	const jpki_audit_anchor *an = o->partial ? NULL : o->anchor;
	const char *first = n > 0 ? files[0].path : NULL;
	const jpki_audit_expect *x;
	size_t i;

	/* Emptied files are not an empty log: an anchor promises records after it, and a sealed
	 * log ends with a signed checkpoint. */
	if (!last->have && an != NULL)
		return fail(res, err, first, 1, -1, "anchor",
			"no record follows the anchor (seq %lld, pruned through %s): the chain after it is "
			"missing (%zu file%s, none with a record)", an->seq, an->pruned_through, n,
			n == 1 ? "" : "s");
	if (!last->have && o->sealed)
		return fail(res, err, first, 1, -1, "checkpoint",
			"no record: a sealed log ends with a signed checkpoint (%zu file%s, none with a "
			"record: its records removed)", n, n == 1 ? "" : "s");
	for (i = 0; i < o->n_expect; i++) {
		x = &o->expect[i];
		if (last->seen[i])
			continue;
		if (an != NULL && x->seq == an->seq) {
			if (strcmp(x->hash, an->hash) == 0)
				continue;	/* pruned since: the anchor names it, verified above */
			return fail(res, err, first, 1, -1, "expect",
				"the anchor names seq %lld with hash %s, not %s as noted earlier", an->seq,
				an->hash, x->hash);
		}
		if (!last->have)
			return fail(res, err, first, 1, -1, "expect",
				"no record, but seq %lld (hash %.16s…) was noted earlier: the records were removed",
				x->seq, x->hash);
		if (x->seq > last->seq)
			return fail(res, err, last->path, last->line, last->seq, "expect",
				"the chain ends at seq %lld, before seq %lld (hash %.16s…) noted earlier: records "
				"after seq %lld were removed (the trail cut back)", last->seq, x->seq, x->hash,
				last->seq);
		return fail(res, err, last->first_path, last->first_line, res->first_seq, "expect",
			"seq %lld (hash %.16s…) noted earlier is before the chain's first record: pruned "
			"since (verify it with the archived files) or noted of another chain", x->seq, x->hash);
	}
	if (o->sealed && last->have && (o->checkpoint_key == NULL || res->uncovered > 0))
		return fail(res, err, last->path, last->line, last->seq, "checkpoint",
			"the log does not end with a signed checkpoint: %llu record%s after the last one "
			"(records after it deleted, or the log still open)", res->uncovered,
			res->uncovered == 1 ? "" : "s");
	return 0;
}

int jpki_audit_verify(const jpki_audit_file *files, size_t n, const jpki_audit_verify_opts *o,
	jpki_audit_verify_result *res, jpki_err *err)
{
	jpki_audit_reader *r = NULL;
	slot s[2], *cur = &s[0], *nxt = &s[1], *tmp;
	last_rec last;
	size_t i;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&last, 0, sizeof(last));
	memset(s, 0, sizeof(s));
	res->first_seq = res->last_seq = res->bad_seq = -1;
	if (o->file_ends != NULL)
		for (i = 0; i < n; i++)
			o->file_ends[i].seq = -1;
	/* prune names the last file it removed: one of that date or earlier cannot remain. */
	if (!o->partial && o->anchor != NULL && n > 0 && files[0].date[0] != '\0' &&
	    strcmp(files[0].date, o->anchor->pruned_through) <= 0)
		return fail(res, err, files[0].path, 1, -1, "anchor",
			"the anchor (seq %lld) says the files through %s were pruned, but this file of %s "
			"remains: the anchor does not belong to this chain", o->anchor->seq,
			o->anchor->pruned_through, files[0].date);
	if ((last.seen = calloc(o->n_expect + 1, sizeof(*last.seen))) == NULL)
		return jpki_errf(err, "out of memory");
	if (jpki_audit_reader_open(files, n, &r, err) < 0) {
		free(last.seen);
		return -1;
	}
	slot_fill(r, cur);
	if (cur->status != 0)
		slot_fill(r, nxt);
	while (cur->status != 0) {
		if (verify_one(files, n, o, &last, cur, nxt, res, err) < 0) {
			rc = -1;
			break;
		}
		tmp = cur;
		cur = nxt;
		nxt = tmp;
		if (cur->status != 0)
			slot_fill(r, nxt);
		else
			jpki_audit_entry_clear(&nxt->e);
	}
	if (rc == 0)
		rc = verify_end(files, n, o, &last, res, err);
	free(last.seen);
	jpki_audit_entry_clear(&s[0].e);
	jpki_audit_entry_clear(&s[1].e);
	jpki_audit_reader_close(r);
	return rc;
}

/* --- filter and report ------------------------------------------------------------------ */

char *jpki_audit_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	char *out, *o;
	size_t n;

	/* At most 4 bytes out per byte in: "\x1b" for 1, "\u0085" for the 2 of U+0085. */
	if ((out = malloc(strlen((const char *)p) * 4 + 1)) == NULL)
		return NULL;
	for (o = out; *p != '\0'; p += n) {
		n = jpki_utf8_len(p);
		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			n = 1;
			o += sprintf(o, "\\x%02x", *p);
		} else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			o += sprintf(o, "\\u%04x", p[1]);
		} else {
			memcpy(o, p, n);
			o += n;
		}
	}
	*o = '\0';
	return out;
}

/* malloc'd; the DN as given when libldap cannot parse it. */
static char *dn_normalize(const char *dn)
{
	char *out = NULL, *copy;

	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    out == NULL)
		return strdup(dn);
	copy = strdup(out);
	ldap_memfree(out);
	return copy;
}

int jpki_audit_filter_prepare(jpki_audit_filter *f, jpki_err *err)
{
	if (f->identity != NULL && (f->identity_norm = dn_normalize(f->identity)) == NULL)
		return jpki_errf(err, "out of memory");
	return 0;
}

bool jpki_audit_filter_match(const jpki_audit_filter *f, const jpki_audit_entry *e)
{
	char *norm;
	bool same;

	if (f->has_from && e->t < f->from)
		return false;
	if (f->has_to && e->t >= f->to)
		return false;
	if (f->method != NULL && (e->method == NULL || strcmp(f->method, e->method) != 0))
		return false;
	if (f->event != NULL && strcmp(f->event, e->event) != 0)
		return false;
	if (f->component != NULL && strcmp(f->component, e->component) != 0)
		return false;
	if (f->identity_norm != NULL) {
		if (strcasecmp(f->identity, e->identity) == 0)
			return true;
		norm = dn_normalize(e->identity);
		same = norm != NULL && strcasecmp(norm, f->identity_norm) == 0;
		free(norm);
		return same;
	}
	return true;
}

void jpki_audit_filter_free(jpki_audit_filter *f)
{
	free(f->identity_norm);
	f->identity_norm = NULL;
}

bool jpki_audit_provision_items(const jpki_audit_entry *e, const char **method,
	unsigned long long *items)
{
	json_t *list;

	if (strcmp(e->result, "ok") != 0)
		return false;
	if (strcmp(e->event, "crl-read") == 0) {
		*method = "ldap";
		list = json_object_get(e->details, "entries");
	} else if (strcmp(e->event, "ocsp-request") == 0) {
		*method = "ocsp";
		list = json_object_get(e->details, "certids");
	} else {
		return false;
	}
	*items = json_is_array(list) ? json_array_size(list) : 0;
	return true;
}
