/* The snapshot's life and its build's order, and what an answer looks up in it (snapshot.h):
 * reference counting (the last thread to drop a snapshot frees it); a build: the trust (the
 * configured anchors, extended by the model's CA certificates), then the CRLs each key
 * answers from (snapshot_crls.c), then the verifier registry (snapshot_registry.c); the
 * lookups of an answer in the served keys (a CertID's issuer, a serial, whether a key is
 * current). The CRL and registry parts live apart, each with its own rules and history: this
 * file is where what a build does, and in which order, reads in one place. */
#include "snapshot_build.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "ocspd.h"

static void source_clear(crl_source *src)
{
	size_t i;

	for (i = 0; i < src->nders; i++)
		crl_der_unref(src->ders[i]);
	free(src->ders);
	ASN1_INTEGER_free(src->number);
}

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
		for (size_t p = 0; s->keys[i].sources != NULL && p < s->keys[i].nparts; p++)
			source_clear(&s->keys[i].sources[p]);
		free(s->keys[i].sources);
	}
	for (i = 0; s->part_dns != NULL && i < s->nparts; i++)
		free(s->part_dns[i]);
	for (i = 0; i < s->nverifiers; i++) {
		free(s->verifiers[i].dn);
		free(s->verifiers[i].cert_sha256);
		free(s->verifiers[i].der_sha256);
		sk_X509_pop_free(s->verifiers[i].certs, X509_free);
	}
	crl_marks_free(s->marks, s->nmarks);
	free(s->refusals);
	free(s->part_dns);
	free(s->keys);
	free(s->verifiers);
	free(s->by_hash);
	free(s->by_subject);
	free(s->by_subject_der);
	jpki_trust_free(s->trust);
	free(s);
}

static int build_trust(snapshot *s, const model *m, STACK_OF(X509) *anchors)
{
	const unsigned char **ders;
	size_t *lens, i, left;

	s->trust = jpki_trust_from_anchors(anchors, NULL);
	if (s->trust == NULL)
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

static snapshot *build(const snapshot *prev, bool reuse, const model *m, STACK_OF(X509) *anchors,
	const jpki_crl_policy *pol, unsigned long generation, time_t now)
{
	snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->generation = generation;
	s->built_at = now;
	if (build_trust(s, m, anchors) < 0 || snapshot_crls_build(s, m, pol, now, prev, reuse) < 0 ||
	    snapshot_registry_copy(s, m, reuse ? prev : NULL) < 0 || snapshot_registry_index(s) < 0) {
		snapshot_unref(s);
		return NULL;
	}
	return s;
}

snapshot *snapshot_build_from(const snapshot *prev, const model *m, STACK_OF(X509) *anchors,
	const jpki_crl_policy *pol, unsigned long generation, time_t now)
{
	return build(prev, true, m, anchors, pol, generation, now);
}

snapshot *snapshot_build_full(const snapshot *prev, const model *m, STACK_OF(X509) *anchors,
	const jpki_crl_policy *pol, unsigned long generation, time_t now)
{
	return build(prev, false, m, anchors, pol, generation, now);
}

snapshot *snapshot_build(const model *m, STACK_OF(X509) *anchors, const jpki_crl_policy *pol,
	unsigned long generation, time_t now)
{
	return build(NULL, false, m, anchors, pol, generation, now);
}

/* Here, with the lookup they serve; snapshot_crls_build makes the served keys. */
void snapshot_hash_issuer(served_key *k)
{
	unsigned char *name = NULL;
	int nlen = i2d_X509_NAME(X509_get_subject_name(k->key->cert), &name);
	const ASN1_BIT_STRING *pub = X509_get0_pubkey_bitstr(k->key->cert);

	EVP_Digest(name, (size_t)nlen, k->sha1_name, NULL, EVP_sha1(), NULL);
	EVP_Digest(name, (size_t)nlen, k->sha256_name, NULL, jpki_sha256(), NULL);
	EVP_Digest(pub->data, (size_t)pub->length, k->sha1_key, NULL, EVP_sha1(), NULL);
	EVP_Digest(pub->data, (size_t)pub->length, k->sha256_key, NULL, jpki_sha256(), NULL);
	OPENSSL_free(name);
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
	return k->nentries > 0 ? bsearch(&key, k->entries, k->nentries, sizeof(*k->entries), snapshot_cmp_serial) : NULL;
}

bool served_key_current(const served_key *k, time_t now)
{
	return k->all_current_at_build && k->earliest_next > now;
}
