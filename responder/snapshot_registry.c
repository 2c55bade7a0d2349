/* The verifier registry in a snapshot: the model's verifiers copied (a certificate the
 * previous snapshot decoded is shared, not decoded again: decoding is most of a registry's
 * build), and the two indexes a request's verifier is found by, with their lookups: by
 * jpkiCertificateSHA256 (the HTTPS client certificate) and by subject (a signed request's
 * requestorName). Apart from the CRLs: it depends on neither the trust nor the CRL rules, only
 * on the model's registry entries and the previous snapshot's certificates. */
#include "snapshot_build.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

/* A decoded certificate by the SHA-256 of its DER. */
typedef struct cert_ref {
	unsigned char sha256[32];
	X509 *cert;
} cert_ref;

static int cmp_cert_ref(const void *a, const void *b)
{
	return memcmp(((const cert_ref *)a)->sha256, ((const cert_ref *)b)->sha256, 32);
}

/* prev's certificates, sorted by hash: one the registry still holds is shared, not decoded
 * again (decoding is most of a registry's build). */
static cert_ref *prev_certs(const snapshot *prev, size_t *n)
{
	cert_ref *refs;
	size_t i, c, total = 0;

	*n = 0;
	for (i = 0; prev != NULL && i < prev->nverifiers; i++)
		total += (size_t)sk_X509_num(prev->verifiers[i].certs);
	if (total == 0 || (refs = malloc(total * sizeof(*refs))) == NULL)
		return NULL;
	for (i = 0; i < prev->nverifiers; i++) {
		for (c = 0; c < (size_t)sk_X509_num(prev->verifiers[i].certs); c++, (*n)++) {
			memcpy(refs[*n].sha256, prev->verifiers[i].der_sha256[c], 32);
			refs[*n].cert = sk_X509_value(prev->verifiers[i].certs, (int)c);
		}
	}
	qsort(refs, *n, sizeof(*refs), cmp_cert_ref);
	return refs;
}

int snapshot_registry_copy(snapshot *s, const model *m, const snapshot *prev)
{
	size_t i, nrefs;
	cert_ref *refs = prev_certs(prev, &nrefs);
	int rc = -1;

	s->verifiers = calloc(m->nverifiers + 1, sizeof(*s->verifiers));
	if (s->verifiers == NULL)
		goto out;
	for (i = 0; i < m->nverifiers; i++) {
		registered *r = &s->verifiers[s->nverifiers++];	/* counted first: freed if half made */
		const model_verifier *mv = &m->verifiers[i];

		r->dn = strdup(mv->dn);
		r->state = mv->state;
		r->ncerts = mv->ncerts;
		r->cert_sha256 = malloc((r->ncerts + 1) * 32);
		r->der_sha256 = malloc((mv->ncertders + 1) * 32);
		r->certs = sk_X509_new_null();
		if (r->dn == NULL || r->cert_sha256 == NULL || r->der_sha256 == NULL || r->certs == NULL)
			goto out;
		if (r->ncerts > 0)
			memcpy(r->cert_sha256, mv->cert_sha256, r->ncerts * 32);
		for (size_t c = 0; c < mv->ncertders; c++) {
			const unsigned char *p = mv->certs[c].der;
			cert_ref key, *hit;
			X509 *x;

			if (!EVP_Digest(p, mv->certs[c].len, key.sha256, NULL, jpki_sha256(), NULL))
				goto out;
			hit = nrefs > 0 ? bsearch(&key, refs, nrefs, sizeof(*refs), cmp_cert_ref) : NULL;
			if (hit != NULL && X509_up_ref(hit->cert))
				x = hit->cert;
			else
				x = d2i_X509(NULL, &p, (long)mv->certs[c].len);
			if (x == NULL)
				continue;
			if (!sk_X509_push(r->certs, x)) {
				X509_free(x);
				continue;
			}
			memcpy(r->der_sha256[sk_X509_num(r->certs) - 1], key.sha256, 32);
		}
	}
	rc = 0;
out:
	free(refs);
	return rc;
}

static int cmp_hash(const void *a, const void *b)
{
	const cert_hash *x = a, *y = b;
	int c = memcmp(x->sha256, y->sha256, sizeof(x->sha256));

	if (c != 0)
		return c;
	return x->verifier < y->verifier ? -1 : x->verifier > y->verifier;
}

static int cmp_subject(const void *a, const void *b)
{
	const signer_cand *x = a, *y = b;
	int c = X509_NAME_cmp(x->subject, y->subject);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

static int cmp_der(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int cmp_subject_der(const void *a, const void *b)
{
	const signer_cand *x = a, *y = b;
	int c = cmp_der(x->der, x->derlen, y->der, y->derlen);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* The registry's two indexes, made once per snapshot: each request then costs a binary
 * search, not a scan of every verifier. */
int snapshot_registry_index(snapshot *s)
{
	size_t i, n, c, at = 0, nhash = 0, ncert = 0;

	for (i = 0; i < s->nverifiers; i++) {
		nhash += s->verifiers[i].ncerts;
		ncert += (size_t)sk_X509_num(s->verifiers[i].certs);
	}
	s->by_hash = calloc(nhash + 1, sizeof(*s->by_hash));
	s->by_subject = calloc(ncert + 1, sizeof(*s->by_subject));
	s->by_subject_der = calloc(ncert + 1, sizeof(*s->by_subject_der));
	if (s->by_hash == NULL || s->by_subject == NULL || s->by_subject_der == NULL)
		return -1;
	for (i = 0; i < s->nverifiers; i++) {
		const registered *r = &s->verifiers[i];

		for (c = 0; c < r->ncerts; c++) {
			memcpy(s->by_hash[s->nby_hash].sha256, r->cert_sha256[c], 32);
			s->by_hash[s->nby_hash++].verifier = r;
		}
		for (c = 0; c < (size_t)sk_X509_num(r->certs); c++) {
			signer_cand *e = &s->by_subject[s->nby_subject++];

			e->cert = sk_X509_value(r->certs, (int)c);
			e->subject = X509_get_subject_name(e->cert);
			if (!X509_NAME_get0_der(e->subject, &e->der, &e->derlen))
				return -1;
			e->verifier = r;
			e->at = at++;
		}
	}
	/* A hash two verifiers list (the overlay refuses it; old data may have it) is the first's,
	 * as when the verifiers were scanned in order. */
	qsort(s->by_hash, s->nby_hash, sizeof(*s->by_hash), cmp_hash);
	for (i = n = 0; i < s->nby_hash; i++)
		if (n == 0 || memcmp(s->by_hash[n - 1].sha256, s->by_hash[i].sha256, 32) != 0)
			s->by_hash[n++] = s->by_hash[i];
	s->nby_hash = n;
	qsort(s->by_subject, s->nby_subject, sizeof(*s->by_subject), cmp_subject);
	memcpy(s->by_subject_der, s->by_subject, s->nby_subject * sizeof(*s->by_subject));
	qsort(s->by_subject_der, s->nby_subject, sizeof(*s->by_subject_der), cmp_subject_der);
	return 0;
}

static int cmp_hash_key(const void *key, const void *e)
{
	return memcmp(key, ((const cert_hash *)e)->sha256, 32);
}

const registered *snapshot_verifier_by_cert(const snapshot *s, const unsigned char sha256[32])
{
	const cert_hash *e = bsearch(sha256, s->by_hash, s->nby_hash, sizeof(*s->by_hash), cmp_hash_key);

	return e != NULL ? e->verifier : NULL;
}

/* A subject's encoding as a bsearch key. */
typedef struct der_key {
	const unsigned char *der;
	size_t len;
} der_key;

static int cmp_subject_der_key(const void *key, const void *e)
{
	const der_key *k = key;
	const signer_cand *c = e;

	return cmp_der(k->der, k->len, c->der, c->derlen);
}

const signer_cand *snapshot_signers_by_subject_der(const snapshot *s, const unsigned char *der,
	size_t len, size_t *n)
{
	der_key key = { der, len };
	const signer_cand *e = bsearch(&key, s->by_subject_der, s->nby_subject,
		sizeof(*s->by_subject_der), cmp_subject_der_key);
	const signer_cand *first = e, *end = s->by_subject_der + s->nby_subject;

	*n = 0;
	if (e == NULL)
		return NULL;
	while (first > s->by_subject_der && cmp_subject_der_key(&key, &first[-1]) == 0)
		first--;
	while (e < end && cmp_subject_der_key(&key, e) == 0)
		e++;
	*n = (size_t)(e - first);
	return first;
}

static int cmp_subject_key(const void *key, const void *e)
{
	return X509_NAME_cmp(key, ((const signer_cand *)e)->subject);
}

const signer_cand *snapshot_signers_by_subject(const snapshot *s, const X509_NAME *name, size_t *n)
{
	const signer_cand *e = bsearch(name, s->by_subject, s->nby_subject, sizeof(*s->by_subject),
		cmp_subject_key);
	const signer_cand *first = e, *end = s->by_subject + s->nby_subject;

	*n = 0;
	if (e == NULL)
		return NULL;
	/* bsearch finds any of the equal ones: widen to all of them */
	while (first > s->by_subject && X509_NAME_cmp(name, first[-1].subject) == 0)
		first--;
	while (e < end && X509_NAME_cmp(name, e->subject) == 0)
		e++;
	*n = (size_t)(e - first);
	return first;
}
