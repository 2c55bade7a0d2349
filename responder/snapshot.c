#include "snapshot.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "ocspd.h"

snapshot *snapshot_ref(snapshot *s)
{
	if (s != NULL)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void snapshot_unref(snapshot *s)
{
	size_t i;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (i = 0; i < s->nkeys; i++) {
		free(s->keys[i].entries);
		free(s->keys[i].parts);
	}
	for (i = 0; i < s->nverifiers; i++) {
		free(s->verifiers[i].dn);
		free(s->verifiers[i].cert_sha256);
		sk_X509_pop_free(s->verifiers[i].certs, X509_free);
	}
	free(s->keys);
	free(s->verifiers);
	free(s->by_hash);
	free(s->by_subject);
	free(s->by_subject_der);
	jpki_trust_free(s->trust);
	free(s);
}

static void issuer_hashes(served_key *k)
{
	unsigned char *name = NULL;
	int nlen = i2d_X509_NAME(X509_get_subject_name(k->key->cert), &name);
	const ASN1_BIT_STRING *pub = X509_get0_pubkey_bitstr(k->key->cert);

	EVP_Digest(name, (size_t)nlen, k->sha1_name, NULL, EVP_sha1(), NULL);
	EVP_Digest(name, (size_t)nlen, k->sha256_name, NULL, EVP_sha256(), NULL);
	EVP_Digest(pub->data, (size_t)pub->length, k->sha1_key, NULL, EVP_sha1(), NULL);
	EVP_Digest(pub->data, (size_t)pub->length, k->sha256_key, NULL, EVP_sha256(), NULL);
	OPENSSL_free(name);
}

static int cmp_revoked(const void *a, const void *b)
{
	const revoked *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->serial, y->serial, x->len);
}

/* Appends the CRL's entries to k (partition index p). */
static int index_crl(served_key *k, size_t *cap, X509_CRL *crl, uint16_t p)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	int i, n = revs != NULL ? sk_X509_REVOKED_num(revs) : 0;

	for (i = 0; i < n; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
		const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(r);
		ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		revoked *e;
		time_t when = 0;

		if (serial->length <= 0 || serial->length > 20) {
			ASN1_ENUMERATED_free(reason);
			continue;	/* rule (a) keeps these out; be safe anyway */
		}
		if (k->nentries == *cap) {
			revoked *grown;

			*cap = *cap ? *cap * 2 : 1024;
			grown = realloc(k->entries, *cap * sizeof(*grown));
			if (grown == NULL) {
				ASN1_ENUMERATED_free(reason);
				return -1;
			}
			k->entries = grown;
		}
		e = &k->entries[k->nentries++];
		memset(e, 0, sizeof(*e));
		jpki_asn1_time_to_time(X509_REVOKED_get0_revocationDate(r), &when);
		e->revoked_at = when;
		e->len = (uint8_t)serial->length;
		memcpy(e->serial, serial->data, (size_t)serial->length);
		e->reason = (uint8_t)(reason != NULL ? ASN1_ENUMERATED_get(reason) : 0);
		e->partition = p;
		ASN1_ENUMERATED_free(reason);
	}
	return 0;
}

static int build_trust(snapshot *s, const model *m, STACK_OF(X509) *anchors)
{
	const unsigned char **ders;
	size_t *lens, i, left;

	s->trust = jpki_trust_new();
	if (s->trust == NULL)
		return -1;
	for (i = 0; i < (size_t)sk_X509_num(anchors); i++)
		if (jpki_trust_add_anchor(s->trust, sk_X509_value(anchors, (int)i), NULL) < 0)
			return -1;
	ders = calloc(m->ncacerts + 1, sizeof(*ders));
	lens = calloc(m->ncacerts + 1, sizeof(*lens));
	if (ders == NULL || lens == NULL) {
		free(ders);
		free(lens);
		return -1;
	}
	for (i = 0; i < m->ncacerts; i++) {
		ders[i] = m->cacerts[i].der;
		lens[i] = m->cacerts[i].len;
	}
	left = jpki_trust_extend_stored(s->trust, ders, lens, m->ncacerts);
	if (left > 0)
		ocspd_log(OCSPD_LOG_WARNING, "%zu cACertificate value(s) do not chain to a trust anchor; ignored", left);
	free(ders);
	free(lens);
	return 0;
}

/* Every partition CRL, checked with the repository's rules, into its key's index. */
static int build_keys(snapshot *s, const model *m, const jpki_crl_policy *pol, time_t now)
{
	size_t i, p, c, *caps;
	jpki_verdict v;

	s->nkeys = jpki_trust_count(s->trust);
	s->keys = calloc(s->nkeys + 1, sizeof(*s->keys));
	caps = calloc(s->nkeys + 1, sizeof(*caps));
	if (s->keys == NULL || caps == NULL) {
		free(caps);
		return -1;
	}
	for (i = 0; i < s->nkeys; i++) {
		s->keys[i].key = jpki_trust_key(s->trust, i);
		s->keys[i].nparts = m->nparts;
		s->keys[i].parts = calloc(m->nparts + 1, sizeof(partition_times));
		if (s->keys[i].parts == NULL)
			goto fail;
		issuer_hashes(&s->keys[i]);
	}
	for (p = 0; p < m->nparts; p++) {
		for (c = 0; c < m->parts[p].ncrls; c++) {
			jpki_crl_meta meta;
			X509_CRL *crl = NULL;
			const model_crl *mc = &m->parts[p].crls[c];

			if (jpki_crl_check(mc->der, mc->len, m->parts[p].dn, JPKI_CRL_PARTITION, s->trust, NULL, 0,
				    now, pol, &meta, &crl, &v) < 0) {
				ocspd_log(OCSPD_LOG_WARNING, "CRL %zu of %s not used: %s", c + 1, m->parts[p].dn, v.text);
				continue;
			}
			for (i = 0; i < s->nkeys; i++) {
				if (memcmp(s->keys[i].key->id, meta.key_id, sizeof(meta.key_id)) != 0)
					continue;
				s->keys[i].parts[p].this_update = meta.this_update;
				s->keys[i].parts[p].next_update = meta.next_update;
				if (index_crl(&s->keys[i], &caps[i], crl, (uint16_t)p) < 0) {
					X509_CRL_free(crl);
					jpki_crl_meta_clear(&meta);
					goto fail;
				}
			}
			X509_CRL_free(crl);
			jpki_crl_meta_clear(&meta);
		}
	}
	for (i = 0; i < s->nkeys; i++) {
		served_key *k = &s->keys[i];

		qsort(k->entries, k->nentries, sizeof(*k->entries), cmp_revoked);
		k->all_current_at_build = m->nparts > 0;
		for (p = 0; p < k->nparts; p++) {
			if (k->parts[p].next_update == 0) {
				k->all_current_at_build = false;
				continue;
			}
			if (k->oldest_this == 0 || k->parts[p].this_update < k->oldest_this)
				k->oldest_this = k->parts[p].this_update;
			if (k->earliest_next == 0 || k->parts[p].next_update < k->earliest_next)
				k->earliest_next = k->parts[p].next_update;
		}
	}
	free(caps);
	return 0;
fail:
	free(caps);
	return -1;
}

static int copy_registry(snapshot *s, const model *m)
{
	size_t i;

	s->verifiers = calloc(m->nverifiers + 1, sizeof(*s->verifiers));
	if (s->verifiers == NULL)
		return -1;
	for (i = 0; i < m->nverifiers; i++, s->nverifiers++) {
		registered *r = &s->verifiers[i];

		r->dn = strdup(m->verifiers[i].dn);
		r->state = m->verifiers[i].state;
		r->ncerts = m->verifiers[i].ncerts;
		r->cert_sha256 = malloc((r->ncerts + 1) * 32);
		if (r->dn == NULL || r->cert_sha256 == NULL)
			return -1;
		memcpy(r->cert_sha256, m->verifiers[i].cert_sha256, r->ncerts * 32);
		r->certs = sk_X509_new_null();
		if (r->certs == NULL)
			return -1;
		for (size_t c = 0; c < m->verifiers[i].ncertders; c++) {
			const unsigned char *p = m->verifiers[i].certs[c].der;
			X509 *x = d2i_X509(NULL, &p, (long)m->verifiers[i].certs[c].len);

			if (x != NULL && !sk_X509_push(r->certs, x))
				X509_free(x);
		}
	}
	return 0;
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
static int index_registry(snapshot *s)
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

snapshot *snapshot_build(const model *m, STACK_OF(X509) *anchors, const jpki_crl_policy *pol,
	unsigned long generation, time_t now)
{
	snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->generation = generation;
	s->built_at = now;
	if (build_trust(s, m, anchors) < 0 || build_keys(s, m, pol, now) < 0 || copy_registry(s, m) < 0 ||
	    index_registry(s) < 0) {
		snapshot_unref(s);
		return NULL;
	}
	return s;
}

const served_key *snapshot_find_issuer(const snapshot *s, OCSP_CERTID *id)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *md_obj = NULL;
	const EVP_MD *md;
	unsigned char nh[EVP_MAX_MD_SIZE], kh[EVP_MAX_MD_SIZE];
	unsigned int nlen = 0, klen = 0;
	size_t i;

	if (!OCSP_id_get0_info(&name_hash, &md_obj, &key_hash, NULL, id) ||
	    (md = EVP_get_digestbyobj(md_obj)) == NULL)
		return NULL;
	for (i = 0; i < s->nkeys; i++) {
		const served_key *k = &s->keys[i];
		const unsigned char *n = NULL, *kk = NULL;

		if (EVP_MD_type(md) == NID_sha1) {
			n = k->sha1_name, kk = k->sha1_key, nlen = klen = 20;
		} else if (EVP_MD_type(md) == NID_sha256) {
			n = k->sha256_name, kk = k->sha256_key, nlen = klen = 32;
		} else {
			/* Any other digest OpenSSL has: computed for this request. */
			const ASN1_BIT_STRING *pub = X509_get0_pubkey_bitstr(k->key->cert);

			if (!X509_NAME_digest(X509_get_subject_name(k->key->cert), md, nh, &nlen) ||
			    !EVP_Digest(pub->data, (size_t)pub->length, kh, &klen, md, NULL))
				continue;
			n = nh, kk = kh;
		}
		if ((unsigned)name_hash->length == nlen && memcmp(name_hash->data, n, nlen) == 0 &&
		    (unsigned)key_hash->length == klen && memcmp(key_hash->data, kk, klen) == 0)
			return k;
	}
	return NULL;
}

const revoked *served_key_lookup(const served_key *k, const ASN1_INTEGER *serial)
{
	revoked key;

	if (serial->length <= 0 || serial->length > 20 || (serial->type & V_ASN1_NEG))
		return NULL;
	memset(&key, 0, sizeof(key));
	key.len = (uint8_t)serial->length;
	memcpy(key.serial, serial->data, (size_t)serial->length);
	return bsearch(&key, k->entries, k->nentries, sizeof(*k->entries), cmp_revoked);
}

bool served_key_current(const served_key *k, time_t now)
{
	return k->all_current_at_build && k->earliest_next > now;
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

static void model_crls_free(model_crl *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].der);
	free(c);
}

void model_free(model *m)
{
	size_t i;

	model_crls_free(m->cacerts, m->ncacerts);
	for (i = 0; i < m->nparts; i++) {
		free(m->parts[i].uuid);
		free(m->parts[i].dn);
		model_crls_free(m->parts[i].crls, m->parts[i].ncrls);
	}
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
