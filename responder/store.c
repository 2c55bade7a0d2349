/* File format (DIR/repository.state, replaced atomically): text lines
 *   jpki-ocspd-state 3
 *   confirmed SECONDS            when slapd last confirmed the verifiers below (model.h); 0: never
 *   ca UUID                      then "cacert UUID B64" lines
 *   partition UUID B64(DN)       then "crl UUID B64" lines: the CRLs the snapshot accepted
 *                                (kept in place of refused ones included), not the refused ones
 *   mark B64(NDN) KEYID NUMBER THISUPDATE SHA256   the snapshot's marks (crl_mark), also of
 *                                partitions and keys that have no CRL now: hex, hex, seconds, hex
 *   verifier UUID B64(DN) STATUS START END METHODS   then "vhash UUID HEX" and "vcert UUID B64"
 *   end
 * START/END are seconds since 1970 (or - when unreadable); METHODS the jpki_method bits.
 * Version 1 (before the marks) is still read: its CRLs enter the model as before, and set
 * marks only when the first build accepts them, as any accepted CRL does; the loader, which
 * checks nothing, makes no mark of them. Versions 1 and 2 (before "confirmed") count as
 * confirmed when they were written (the file's modification time): the responder wrote a
 * copy when a change came from slapd, so it was following slapd then; not the time of the
 * load, which would let a restart make an old registry new again. */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

static int put_b64(FILE *fp, const unsigned char *data, size_t len)
{
	size_t chunk = 3 * 4096, i;
	unsigned char out[4 * 4096 + 1];
	int n;

	for (i = 0; i < len; i += chunk) {
		n = EVP_EncodeBlock(out, data + i, (int)(len - i < chunk ? len - i : chunk));
		if (fwrite(out, 1, (size_t)n, fp) != (size_t)n)
			return -1;
	}
	return 0;
}

static int line(FILE *fp, const char *tag, const char *uuid, const unsigned char *der, size_t len)
{
	return fprintf(fp, "%s %s ", tag, uuid) < 0 || put_b64(fp, der, len) < 0 || fputc('\n', fp) == EOF ? -1 : 0;
}

static int put_hex(FILE *fp, const unsigned char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (fprintf(fp, "%02x", data[i]) < 0)
			return -1;
	return 0;
}

static int put_mark(FILE *fp, const crl_mark *mk)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(mk->number, NULL);
	char *number = bn != NULL ? BN_bn2hex(bn) : NULL;
	int rc = -1;

	if (number != NULL && fputs("mark ", fp) != EOF &&
	    put_b64(fp, (const unsigned char *)mk->dn, strlen(mk->dn)) == 0 && fputc(' ', fp) != EOF &&
	    put_hex(fp, mk->key_id, sizeof(mk->key_id)) == 0 &&
	    fprintf(fp, " %s %lld ", number, (long long)mk->this_update) > 0 &&
	    put_hex(fp, mk->sha256, sizeof(mk->sha256)) == 0 && fputc('\n', fp) != EOF)
		rc = 0;
	OPENSSL_free(number);
	BN_free(bn);
	return rc;
}

/* The directory's entry for the renamed file on disk too: else a crash may bring the
 * previous copy back. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int store_save(const char *dir, const model *m, const snapshot *s, char *err, size_t errlen)
{
	char path[4096], tmp[4096];
	size_t i, j, k;
	FILE *fp;
	int fd, bad = 0, e = 0;

	for (i = 0; i < m->nparts && s->nparts == m->nparts; i++)
		if (strcmp(s->part_dns[i], m->parts[i].dn) != 0)
			break;
	if (s->nparts != m->nparts || i < m->nparts) {
		snprintf(err, errlen, "%s: the snapshot was not built from the model; state copy not written", dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/repository.state", dir);
	snprintf(tmp, sizeof(tmp), "%s/.repository.state.XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: cannot write the state copy: %s", dir, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -1;
	}
	/* every write's result counted: a copy cut short must not replace the previous one */
	bad |= fprintf(fp, "jpki-ocspd-state 3\nconfirmed %lld\n", (long long)m->registry_confirmed) < 0;
	if (m->ca_uuid != NULL) {
		bad |= fprintf(fp, "ca %s\n", m->ca_uuid) < 0;
		for (i = 0; i < m->ncacerts; i++)
			bad |= line(fp, "cacert", m->ca_uuid, m->cacerts[i].der, m->cacerts[i].len) < 0;
	}
	for (i = 0; i < m->nparts; i++) {
		bad |= line(fp, "partition", m->parts[i].uuid, (const unsigned char *)m->parts[i].dn,
			       strlen(m->parts[i].dn)) < 0;
		for (k = 0; k < s->nkeys; k++) {
			const crl_source *src = &s->keys[k].sources[i];

			for (j = 0; j < src->nders; j++)
				bad |= line(fp, "crl", m->parts[i].uuid, src->ders[j]->der, src->ders[j]->len) < 0;
		}
	}
	for (i = 0; i < s->nmarks; i++)
		bad |= put_mark(fp, &s->marks[i]) < 0;
	for (i = 0; i < m->nverifiers; i++) {
		const model_verifier *v = &m->verifiers[i];

		bad |= fprintf(fp, "verifier %s ", v->uuid) < 0 ||
		       put_b64(fp, (const unsigned char *)v->dn, strlen(v->dn)) < 0 ||
		       fprintf(fp, " %d %lld %lld %u\n", (int)v->state.status,
			       v->state.has_period ? (long long)v->state.start : -1LL,
			       v->state.has_period ? (long long)v->state.end : -1LL, v->state.methods) < 0;
		for (j = 0; j < v->ncerts; j++)
			bad |= fprintf(fp, "vhash %s ", v->uuid) < 0 || put_hex(fp, v->cert_sha256[j], 32) < 0 ||
			       fputc('\n', fp) == EOF;
		for (j = 0; j < v->ncertders; j++)
			bad |= line(fp, "vcert", v->uuid, v->certs[j].der, v->certs[j].len) < 0;
	}
	bad |= fprintf(fp, "end\n") < 0;
	if (bad || fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) != 0)
		e = errno != 0 ? errno : EIO;
	if (fclose(fp) != 0 && e == 0)
		e = errno != 0 ? errno : EIO;
	if (e != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write the state copy: %s", path, strerror(e != 0 ? e : errno));
		unlink(tmp);
		return -1;
	}
	if (sync_dir(dir) != 0) {
		snprintf(err, errlen, "%s: written, but its directory not synced: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static unsigned char *get_b64(const char *text, size_t *len)
{
	size_t n = strlen(text), pad = 0;
	unsigned char *out;
	int got;

	if (n % 4 != 0)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	if (n >= 1 && text[n - 1] == '=')
		pad++;
	if (n >= 2 && text[n - 2] == '=')
		pad++;
	*len = (size_t)got - pad;
	out[*len] = '\0';
	return out;
}

static int push_der(model_crl **arr, size_t *n, const char *b64)
{
	model_crl *g = realloc(*arr, (*n + 1) * sizeof(*g));
	size_t len;

	if (g == NULL)
		return -1;
	*arr = g;
	if ((g[*n].der = get_b64(b64, &len)) == NULL)
		return -1;
	g[*n].len = len;
	g[*n].ref = NULL;
	(*n)++;
	return 0;
}

/* Exactly 2 * len hex digits into out. */
static int get_hex(const char *text, unsigned char *out, size_t len)
{
	size_t i;

	if (strlen(text) != 2 * len || strspn(text, "0123456789abcdefABCDEF") != 2 * len)
		return -1;
	for (i = 0; i < len; i++)
		sscanf(text + 2 * i, "%2hhx", &out[i]);
	return 0;
}

/* "mark B64(NDN) KEYID NUMBER THISUPDATE SHA256", split at b64 (the NDN) and rest. */
static int get_mark(model *m, const char *b64, char *rest)
{
	char *id = strtok(rest, " "), *number = strtok(NULL, " "), *tu = strtok(NULL, " "),
	     *sha = strtok(NULL, " "), *end = NULL;
	crl_mark mk = { 0 }, *grown;
	BIGNUM *bn = NULL;
	size_t len;

	if (sha == NULL || get_hex(id, mk.key_id, sizeof(mk.key_id)) < 0 ||
	    get_hex(sha, mk.sha256, sizeof(mk.sha256)) < 0 || BN_hex2bn(&bn, number) != (int)strlen(number))
		goto fail;
	mk.this_update = (time_t)strtoll(tu, &end, 10);
	mk.number = BN_to_ASN1_INTEGER(bn, NULL);
	mk.dn = (char *)get_b64(b64, &len);
	if (*end != '\0' || mk.number == NULL || mk.dn == NULL ||
	    (grown = realloc(m->marks, (m->nmarks + 1) * sizeof(*grown))) == NULL)
		goto fail;
	m->marks = grown;
	m->marks[m->nmarks++] = mk;
	BN_free(bn);
	return 0;
fail:
	BN_free(bn);
	ASN1_INTEGER_free(mk.number);
	free(mk.dn);
	return -1;
}

static model_partition *find_part(model *m, const char *uuid)
{
	size_t i;

	for (i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].uuid, uuid) == 0)
			return &m->parts[i];
	return NULL;
}

static model_verifier *find_verifier(model *m, const char *uuid)
{
	size_t i;

	for (i = 0; i < m->nverifiers; i++)
		if (strcmp(m->verifiers[i].uuid, uuid) == 0)
			return &m->verifiers[i];
	return NULL;
}

static int parse_line(model *m, char *l)
{
	char *tag = strtok(l, " "), *uuid = strtok(NULL, " "), *rest = strtok(NULL, "");
	model_partition *p;
	model_verifier *v, nv;
	size_t len;

	if (tag == NULL || uuid == NULL)
		return -1;
	if (strcmp(tag, "ca") == 0)
		return model_set_ca(m, uuid, NULL, 0);
	if (rest == NULL)
		return -1;
	if (strcmp(tag, "cacert") == 0)
		return push_der(&m->cacerts, &m->ncacerts, rest);
	if (strcmp(tag, "partition") == 0) {
		char *dn = (char *)get_b64(rest, &len);
		int rc = dn != NULL ? model_set_partition(m, uuid, dn, NULL, 0) : -1;

		free(dn);
		return rc;
	}
	if (strcmp(tag, "crl") == 0)
		return (p = find_part(m, uuid)) != NULL ? push_der(&p->crls, &p->ncrls, rest) : -1;
	if (strcmp(tag, "mark") == 0)
		return get_mark(m, uuid, rest);
	if (strcmp(tag, "verifier") == 0) {
		char *b64 = strtok(rest, " "), *st = strtok(NULL, " "), *a = strtok(NULL, " "),
		     *b = strtok(NULL, " "), *meth = strtok(NULL, " ");
		int rc;

		if (b64 == NULL || meth == NULL)
			return -1;
		memset(&nv, 0, sizeof(nv));
		nv.uuid = uuid;
		nv.dn = (char *)get_b64(b64, &len);
		nv.state.status = (jpki_verifier_status)atoi(st);
		nv.state.start = (time_t)atoll(a);
		nv.state.end = (time_t)atoll(b);
		nv.state.has_period = atoll(a) >= 0 && atoll(b) >= 0;
		nv.state.methods = (unsigned)atoi(meth);
		rc = nv.dn != NULL ? model_set_verifier(m, &nv) : -1;
		free(nv.dn);
		return rc;
	}
	if (strcmp(tag, "vhash") == 0 && (v = find_verifier(m, uuid)) != NULL && strlen(rest) == 64) {
		unsigned char (*g)[32] = realloc(v->cert_sha256, (v->ncerts + 1) * 32);

		if (g == NULL)
			return -1;
		v->cert_sha256 = g;
		return get_hex(rest, g[v->ncerts++], 32);
	}
	if (strcmp(tag, "vcert") == 0 && (v = find_verifier(m, uuid)) != NULL)
		return push_der(&v->certs, &v->ncertders, rest);
	return -1;
}

/* "confirmed SECONDS": a time_t, 0 or after 1970. */
static int get_confirmed(const char *text, time_t *out)
{
	char *end;
	long long v;

	if (text == NULL || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || (long long)(time_t)v != v)
		return -1;
	*out = (time_t)v;
	return 0;
}

int store_load(const char *dir, model *m, char *err, size_t errlen)
{
	char path[4096], *l = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int ended = 0, version = 0;
	struct stat st;
	ssize_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/repository.state", dir);
	fp = fopen(path, "r");
	if (fp == NULL)
		return errno == ENOENT ? 1 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	while ((n = getline(&l, &cap, fp)) > 0) {
		lineno++;
		if (l[n - 1] == '\n')
			l[n - 1] = '\0';
		if (lineno == 1) {
			/* 1: without marks, 2: without confirmed (see the top of this file) */
			if (strncmp(l, "jpki-ocspd-state ", 17) != 0 || l[17] < '1' || l[17] > '3' || l[18] != '\0')
				break;
			version = l[17] - '0';
			if (version < 3 && fstat(fileno(fp), &st) == 0)
				m->registry_confirmed = st.st_mtime;
			continue;
		}
		if (version == 3 && lineno == 2) {
			/* the second line, always */
			if (strncmp(l, "confirmed ", 10) != 0 || get_confirmed(l + 10, &m->registry_confirmed) < 0)
				break;
			continue;
		}
		if (strcmp(l, "end") == 0) {
			ended = 1;
			break;
		}
		if (parse_line(m, l) < 0)
			break;
	}
	free(l);
	fclose(fp);
	if (!ended) {
		snprintf(err, errlen, "%s: damaged at line %u; not used", path, lineno);
		model_free(m);
		return -1;
	}
	return 0;
}
