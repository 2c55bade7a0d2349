/* File format (DIR/repository.state, replaced atomically): text lines
 *   jpki-ocspd-state 1
 *   ca UUID                      then "cacert UUID B64" lines
 *   partition UUID B64(DN)       then "crl UUID B64" lines: the CRLs the snapshot accepted
 *                                (kept in place of refused ones included), not the refused ones
 *   verifier UUID B64(DN) STATUS START END METHODS   then "vhash UUID HEX" and "vcert UUID B64"
 *   end
 * START/END are seconds since 1970 (or - when unreadable); METHODS the jpki_method bits. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void line(FILE *fp, const char *tag, const char *uuid, const unsigned char *der, size_t len)
{
	fprintf(fp, "%s %s ", tag, uuid);
	put_b64(fp, der, len);
	fputc('\n', fp);
}

int store_save(const char *dir, const model *m, const snapshot *s, char *err, size_t errlen)
{
	char path[4096], tmp[4096];
	size_t i, j, k;
	FILE *fp;
	int fd;

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
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(fp, "jpki-ocspd-state 1\n");
	if (m->ca_uuid != NULL) {
		fprintf(fp, "ca %s\n", m->ca_uuid);
		for (i = 0; i < m->ncacerts; i++)
			line(fp, "cacert", m->ca_uuid, m->cacerts[i].der, m->cacerts[i].len);
	}
	for (i = 0; i < m->nparts; i++) {
		line(fp, "partition", m->parts[i].uuid, (const unsigned char *)m->parts[i].dn, strlen(m->parts[i].dn));
		for (k = 0; k < s->nkeys; k++) {
			const crl_source *src = &s->keys[k].sources[i];

			for (j = 0; j < src->nders; j++)
				line(fp, "crl", m->parts[i].uuid, src->ders[j]->der, src->ders[j]->len);
		}
	}
	for (i = 0; i < m->nverifiers; i++) {
		const model_verifier *v = &m->verifiers[i];

		fprintf(fp, "verifier %s ", v->uuid);
		put_b64(fp, (const unsigned char *)v->dn, strlen(v->dn));
		fprintf(fp, " %d %lld %lld %u\n", (int)v->state.status,
			v->state.has_period ? (long long)v->state.start : -1LL,
			v->state.has_period ? (long long)v->state.end : -1LL, v->state.methods);
		for (j = 0; j < v->ncerts; j++) {
			fprintf(fp, "vhash %s ", v->uuid);
			for (k = 0; k < 32; k++)
				fprintf(fp, "%02x", v->cert_sha256[j][k]);
			fputc('\n', fp);
		}
		for (j = 0; j < v->ncertders; j++)
			line(fp, "vcert", v->uuid, v->certs[j].der, v->certs[j].len);
	}
	fprintf(fp, "end\n");
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write the state copy: %s", path, strerror(errno));
		unlink(tmp);
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
		size_t k;

		if (g == NULL)
			return -1;
		v->cert_sha256 = g;
		for (k = 0; k < 32; k++)
			sscanf(rest + 2 * k, "%2hhx", &g[v->ncerts][k]);
		v->ncerts++;
		return 0;
	}
	if (strcmp(tag, "vcert") == 0 && (v = find_verifier(m, uuid)) != NULL)
		return push_der(&v->certs, &v->ncertders, rest);
	return -1;
}

int store_load(const char *dir, model *m, char *err, size_t errlen)
{
	char path[4096], *l = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int ended = 0;
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
			if (strcmp(l, "jpki-ocspd-state 1") != 0)
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
