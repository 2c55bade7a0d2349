/* The verifier registry as the overlay sees it: for a bound identity, whether it is a
 * registered verifier allowed the ldap method now (lib/verifier.h decides). Answers are
 * cached by DN; any write under the verifier base clears the cache, so that a suspension or
 * a new end date applies to the next operation, on connections already bound too. */
#include "jpkirepo.h"

#include "verifier.h"

typedef struct cached {
	struct berval ndn;
	int is_verifier;
	jpki_verifier_state state;
} cached;

struct jpkirepo_registry {
	ldap_pvt_thread_mutex_t lock;
	Avlnode *tree;
	unsigned long generation;
	AttributeDescription *ad_status, *ad_start, *ad_end, *ad_method;
	ObjectClass *oc_verifier;
};

static int cached_cmp(const void *a, const void *b)
{
	return ber_bvcmp(&((const cached *)a)->ndn, &((const cached *)b)->ndn);
}

static void cached_free(void *p)
{
	cached *c = p;

	ch_free(c->ndn.bv_val);
	ch_free(c);
}

jpkirepo_registry *jpkirepo_registry_new(void)
{
	jpkirepo_registry *r = ch_calloc(1, sizeof(*r));
	const char *text;

	ldap_pvt_thread_mutex_init(&r->lock);
	/* Missing schema leaves these NULL: nobody is then a verifier (fail closed). */
	slap_str2ad("jpkiVerifierStatus", &r->ad_status, &text);
	slap_str2ad("jpkiAgreementStart", &r->ad_start, &text);
	slap_str2ad("jpkiAgreementEnd", &r->ad_end, &text);
	slap_str2ad("jpkiAllowedMethod", &r->ad_method, &text);
	r->oc_verifier = oc_find("jpkiVerifier");
	return r;
}

void jpkirepo_registry_free(jpkirepo_registry *r)
{
	if (r == NULL)
		return;
	ldap_avl_free(r->tree, cached_free);
	ldap_pvt_thread_mutex_destroy(&r->lock);
	ch_free(r);
}

void jpkirepo_registry_changed(jpkirepo_registry *r)
{
	ldap_pvt_thread_mutex_lock(&r->lock);
	ldap_avl_free(r->tree, cached_free);
	r->tree = NULL;
	r->generation++;
	ldap_pvt_thread_mutex_unlock(&r->lock);
}

static const struct berval *first_val(Entry *e, AttributeDescription *ad)
{
	Attribute *a = ad != NULL ? attr_find(e->e_attrs, ad) : NULL;

	return (a != NULL && a->a_numvals > 0) ? &a->a_nvals[0] : NULL;
}

/* Reads the verifier entry ndn (internally: the identity may not read its own entry).
 * Returns whether the answer may be kept: the entry was read, or does not exist; a backend
 * that failed otherwise (busy, an error) answers "not a verifier" this once only. */
static int read_entry(Operation *op, slap_overinst *on, jpkirepo_registry *r, cached *c)
{
	Entry *e = NULL;
	Attribute *a;
	struct berval **methods;
	jpki_err err;
	unsigned i;
	int rc;

	if (r->oc_verifier == NULL || r->ad_status == NULL)
		return 1;
	rc = overlay_entry_get_ov(op, &c->ndn, NULL, NULL, 0, &e, on);
	if (rc != LDAP_SUCCESS || e == NULL)
		return rc == LDAP_NO_SUCH_OBJECT;
	if (is_entry_objectclass(e, r->oc_verifier, 0)) {
		c->is_verifier = 1;
		a = r->ad_method != NULL ? attr_find(e->e_attrs, r->ad_method) : NULL;
		methods = ch_calloc((a != NULL ? a->a_numvals : 0) + 1, sizeof(*methods));
		for (i = 0; a != NULL && i < a->a_numvals; i++)
			methods[i] = &a->a_nvals[i];
		if (jpki_verifier_state_from_values(&c->state, first_val(e, r->ad_status),
			    first_val(e, r->ad_start), first_val(e, r->ad_end), methods, &err) < 0)
			Debug(LDAP_DEBUG_ANY, "jpkirepo: verifier %s: %s\n", c->ndn.bv_val, err.text);
		ch_free(methods);
	}
	overlay_entry_release_ov(op, e, 0, on);
	return 1;
}

int jpkirepo_registry_allows(Operation *op, slap_overinst *on, jpkirepo_registry *r,
	struct berval *ndn, char *why, size_t whylen)
{
	cached key, *c, *fresh;
	jpki_verifier_state state;
	unsigned long gen;
	int is_verifier, keep;

	key.ndn = *ndn;
	ldap_pvt_thread_mutex_lock(&r->lock);
	c = ldap_avl_find(r->tree, &key, cached_cmp);
	if (c != NULL) {
		is_verifier = c->is_verifier;
		state = c->state;
	}
	gen = r->generation;
	ldap_pvt_thread_mutex_unlock(&r->lock);

	if (c == NULL) {
		fresh = ch_calloc(1, sizeof(*fresh));
		ber_dupbv(&fresh->ndn, ndn);
		keep = read_entry(op, on, r, fresh);
		is_verifier = fresh->is_verifier;
		state = fresh->state;
		ldap_pvt_thread_mutex_lock(&r->lock);
		/* A write to the registry while we read makes what we read stale: do not keep it. */
		if (!keep || gen != r->generation ||
		    ldap_avl_insert(&r->tree, fresh, cached_cmp, ldap_avl_dup_error) != 0)
			cached_free(fresh);
		ldap_pvt_thread_mutex_unlock(&r->lock);
	}
	if (!is_verifier) {
		if (why != NULL)
			snprintf(why, whylen, "not a registered verifier");
		return 0;
	}
	/* The period is checked now, against the time of this operation. */
	return jpki_verifier_allows(&state, JPKI_METHOD_LDAP, slap_get_time(), why, whylen);
}
