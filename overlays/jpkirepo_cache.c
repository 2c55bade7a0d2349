/* Meta (signing key, cRLNumber, thisUpdate) of stored CRLs, found by the SHA-256 of their
 * DER. A miss parses the CRL once; entries are replaced round-robin. */
#include "jpkirepo.h"

#include <openssl/evp.h>

#include "digest.h"

#define CACHE_SLOTS 256

typedef struct slot {
	unsigned char digest[32];
	int used;
	jpki_crl_meta meta;
} slot;

struct jpkirepo_meta_cache {
	ldap_pvt_thread_mutex_t lock;
	slot slots[CACHE_SLOTS];
	unsigned next;
};

jpkirepo_meta_cache *jpkirepo_cache_new(void)
{
	jpkirepo_meta_cache *c = ch_calloc(1, sizeof(*c));

	ldap_pvt_thread_mutex_init(&c->lock);
	return c;
}

void jpkirepo_cache_free(jpkirepo_meta_cache *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		jpki_crl_meta_clear(&c->slots[i].meta);
	ldap_pvt_thread_mutex_destroy(&c->lock);
	ch_free(c);
}

static int meta_copy(jpki_crl_meta *dst, const jpki_crl_meta *src)
{
	*dst = *src;
	dst->number = ASN1_INTEGER_dup(src->number);
	return dst->number != NULL ? 0 : -1;
}

static void digest(const struct berval *der, unsigned char out[32])
{
	EVP_Digest(der->bv_val, der->bv_len, out, NULL, jpki_sha256(), NULL);
}

static slot *lookup(jpkirepo_meta_cache *c, const unsigned char d[32])
{
	unsigned i;

	for (i = 0; i < CACHE_SLOTS; i++)
		if (c->slots[i].used && memcmp(c->slots[i].digest, d, 32) == 0)
			return &c->slots[i];
	return NULL;
}

static void store(jpkirepo_meta_cache *c, const unsigned char d[32], const jpki_crl_meta *m)
{
	slot *s;

	ldap_pvt_thread_mutex_lock(&c->lock);
	if (lookup(c, d) == NULL) {
		s = &c->slots[c->next++ % CACHE_SLOTS];
		jpki_crl_meta_clear(&s->meta);
		s->used = (meta_copy(&s->meta, m) == 0);
		memcpy(s->digest, d, 32);
	}
	ldap_pvt_thread_mutex_unlock(&c->lock);
}

int jpkirepo_cache_get(jpkirepo_meta_cache *c, const struct berval *der, const jpki_trust *t,
	jpki_crl_meta *out)
{
	unsigned char d[32];
	slot *s;
	int rc = -1;

	digest(der, d);
	ldap_pvt_thread_mutex_lock(&c->lock);
	s = lookup(c, d);
	if (s != NULL)
		rc = meta_copy(out, &s->meta);
	ldap_pvt_thread_mutex_unlock(&c->lock);
	if (s != NULL)
		return rc;
	if (jpki_crl_meta_from_der((const unsigned char *)der->bv_val, der->bv_len, t, out) < 0)
		return -1;
	store(c, d, out);
	return 0;
}

void jpkirepo_cache_put(jpkirepo_meta_cache *c, const struct berval *der, const jpki_crl_meta *m)
{
	unsigned char d[32];

	digest(der, d);
	store(c, d, m);
}
