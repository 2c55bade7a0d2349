/* The model's functions (model.h; its types are with the snapshot's, snapshot.h): the sync
 * thread's entries set, replaced, removed and swept; a partition's CRLs shared and hashed as
 * they enter; everything freed. */
#include "model.h"

#include <ctype.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "dn.h"

void model_crls_free(model_crl *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i].ref != NULL)
			crl_der_unref(c[i].ref);
		else
			free(c[i].der);
	}
	free(c);
}

void model_free(model *m)
{
	size_t i;

	model_crls_free(m->cacerts, m->ncacerts);
	for (i = 0; i < m->nparts; i++) {
		free(m->parts[i].uuid);
		free(m->parts[i].dn);
		free(m->parts[i].ndn);
		model_crls_free(m->parts[i].crls, m->parts[i].ncrls);
	}
	crl_marks_free(m->marks, m->nmarks);
	for (i = 0; i < m->nverifiers; i++) {
		free(m->verifiers[i].uuid);
		free(m->verifiers[i].dn);
		free(m->verifiers[i].cert_sha256);
		model_crls_free(m->verifiers[i].certs, m->verifiers[i].ncertders);
	}
	free(m->parts);
	free(m->verifiers);
	free(m->ca_uuid);
	memset(m, 0, sizeof(*m));
}

int model_set_ca(model *m, const char *uuid, model_crl *certs, size_t n)
{
	char *u = strdup(uuid);

	if (u == NULL) {
		model_crls_free(certs, n);
		return -1;
	}
	free(m->ca_uuid);
	model_crls_free(m->cacerts, m->ncacerts);
	m->ca_uuid = u;
	m->cacerts = certs;
	m->ncacerts = n;
	m->ca_seen = 1;
	return 0;
}

/* crls[nhashed..ncrls) shared and hashed: done once, so that a build tells an unchanged CRL
 * without checking it again, and a snapshot keeps the DER it accepted without a copy. Left
 * short on failure: those CRLs are then always checked. */
static void hash_crls(model_partition *p)
{
	for (; p->nhashed < p->ncrls; p->nhashed++) {
		model_crl *c = &p->crls[p->nhashed];

		if ((c->ref = crl_der_new(c->der, c->len)) == NULL)
			break;
	}
}

void model_hash_crls(model *m)
{
	size_t i;

	for (i = 0; i < m->nparts; i++)
		hash_crls(&m->parts[i]);
}

/* dn as rule (d) reads it (parsed into an X.509 name and printed again), case-folded: one
 * partition's marks whatever spelling of its DN the repository sends. Unparsable: case-folded
 * as it is. */
static char *normal_dn(const char *dn)
{
	X509_NAME *name = jpki_dn_to_x509_name(dn, NULL);
	char *out = name != NULL ? jpki_x509_name_to_dn(name) : NULL, *c;

	X509_NAME_free(name);
	ERR_clear_error();
	if (out == NULL)
		out = strdup(dn);
	for (c = out; c != NULL && *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return out;
}

int model_set_partition(model *m, const char *uuid, const char *dn, model_crl *crls, size_t n)
{
	size_t i;
	model_partition *p = NULL, *grown;
	char *d = strdup(dn), *nd = normal_dn(dn);	/* first: dn may be the partition's own */

	for (i = 0; i < n; i++)
		crls[i].ref = NULL;	/* plain DER until shared */
	for (i = 0; i < m->nparts && p == NULL; i++)
		if (strcmp(m->parts[i].uuid, uuid) == 0)
			p = &m->parts[i];
	if (p == NULL) {
		grown = realloc(m->parts, (m->nparts + 1) * sizeof(*grown));
		if (grown == NULL) {
			model_crls_free(crls, n);
			free(d);
			free(nd);
			return -1;
		}
		m->parts = grown;
		p = &m->parts[m->nparts++];
		memset(p, 0, sizeof(*p));
		p->uuid = strdup(uuid);
	} else {
		model_crls_free(p->crls, p->ncrls);
		free(p->dn);
		free(p->ndn);
	}
	p->dn = d;
	p->ndn = nd;
	p->crls = crls;
	p->ncrls = n;
	p->nhashed = 0;
	hash_crls(p);
	p->seen = 1;
	return p->uuid != NULL && p->dn != NULL && p->ndn != NULL ? 0 : -1;
}

static void verifier_clear(model_verifier *v)
{
	free(v->dn);
	free(v->cert_sha256);
	model_crls_free(v->certs, v->ncertders);
}

int model_set_verifier(model *m, const model_verifier *v)
{
	size_t i;
	model_verifier *t = NULL, *grown;

	for (i = 0; i < m->nverifiers && t == NULL; i++)
		if (strcmp(m->verifiers[i].uuid, v->uuid) == 0)
			t = &m->verifiers[i];
	if (t == NULL) {
		grown = realloc(m->verifiers, (m->nverifiers + 1) * sizeof(*grown));
		if (grown == NULL)
			return -1;
		m->verifiers = grown;
		t = &m->verifiers[m->nverifiers++];
		memset(t, 0, sizeof(*t));
		t->uuid = strdup(v->uuid);
	} else {
		verifier_clear(t);
	}
	t->dn = strdup(v->dn);
	t->state = v->state;
	t->cert_sha256 = v->cert_sha256;
	t->ncerts = v->ncerts;
	t->certs = v->certs;
	t->ncertders = v->ncertders;
	t->seen = 1;
	return t->uuid != NULL && t->dn != NULL ? 0 : -1;
}

static void remove_partition(model *m, size_t i)
{
	free(m->parts[i].uuid);
	free(m->parts[i].dn);
	free(m->parts[i].ndn);
	model_crls_free(m->parts[i].crls, m->parts[i].ncrls);
	m->parts[i] = m->parts[--m->nparts];
}

static void remove_verifier(model *m, size_t i)
{
	free(m->verifiers[i].uuid);
	verifier_clear(&m->verifiers[i]);
	m->verifiers[i] = m->verifiers[--m->nverifiers];
}

void model_remove(model *m, const char *uuid)
{
	size_t i;

	if (m->ca_uuid != NULL && strcmp(m->ca_uuid, uuid) == 0) {
		free(m->ca_uuid);
		m->ca_uuid = NULL;
		model_crls_free(m->cacerts, m->ncacerts);
		m->cacerts = NULL;
		m->ncacerts = 0;
		return;
	}
	for (i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].uuid, uuid) == 0)
			return remove_partition(m, i);
	for (i = 0; i < m->nverifiers; i++)
		if (strcmp(m->verifiers[i].uuid, uuid) == 0)
			return remove_verifier(m, i);
}

void model_mark_all(model *m)
{
	size_t i;

	m->ca_seen = 0;
	for (i = 0; i < m->nparts; i++)
		m->parts[i].seen = 0;
	for (i = 0; i < m->nverifiers; i++)
		m->verifiers[i].seen = 0;
}

void model_mark_seen(model *m, const char *uuid)
{
	size_t i;

	if (m->ca_uuid != NULL && strcmp(m->ca_uuid, uuid) == 0)
		m->ca_seen = 1;
	for (i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].uuid, uuid) == 0)
			m->parts[i].seen = 1;
	for (i = 0; i < m->nverifiers; i++)
		if (strcmp(m->verifiers[i].uuid, uuid) == 0)
			m->verifiers[i].seen = 1;
}

void model_sweep(model *m)
{
	size_t i;

	if (!m->ca_seen && m->ca_uuid != NULL)
		model_remove(m, m->ca_uuid);
	for (i = m->nparts; i-- > 0;)
		if (!m->parts[i].seen)
			remove_partition(m, i);
	for (i = m->nverifiers; i-- > 0;)
		if (!m->verifiers[i].seen)
			remove_verifier(m, i);
}
