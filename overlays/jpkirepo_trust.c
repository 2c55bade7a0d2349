/* The CA keys the overlay trusts: the configured anchors plus every generation that the CA
 * entry's stored cACertificate values link to them. Rebuilt from the entry after a successful
 * write of cACertificate, so that a restart and a replica see the same keys. */
#include "jpkirepo.h"

/* Anchors extended by the CA entry's cACertificate values, as far as they verify
 * (jpki_trust_extend_stored: order does not matter, a bad value loses only itself). */
static jpki_trust *rebuild(Operation *op, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	jpki_trust *t = jpki_trust_from_anchors(ji->anchors, NULL);
	Entry *e = NULL;
	Attribute *a;
	const unsigned char **ders = NULL;
	size_t *lens = NULL, n = 0, i, left;

	if (t == NULL || BER_BVISEMPTY(&ji->ca_ndn))
		return t;
	/* No attribute argument: the stored description is cACertificate;binary, and the
	 * backend matches that argument exactly. */
	if (overlay_entry_get_ov(op, &ji->ca_ndn, NULL, NULL, 0, &e, on) != LDAP_SUCCESS || e == NULL)
		return t;
	for (a = attrs_find(e->e_attrs, ji->ad_cacert); a != NULL; a = attrs_find(a->a_next, ji->ad_cacert)) {
		ders = ch_realloc(ders, (n + a->a_numvals) * sizeof(*ders));
		lens = ch_realloc(lens, (n + a->a_numvals) * sizeof(*lens));
		for (i = 0; i < a->a_numvals; i++, n++) {
			ders[n] = (const unsigned char *)a->a_vals[i].bv_val;
			lens[n] = a->a_vals[i].bv_len;
		}
	}
	left = jpki_trust_extend_stored(t, ders, lens, n);
	if (left > 0)
		Debug(LDAP_DEBUG_ANY, "jpkirepo: %zu cACertificate value(s) of %s do not chain to a trust anchor; ignored\n",
			left, ji->ca_dn.bv_val);
	ch_free(ders);
	ch_free(lens);
	overlay_entry_release_ov(op, e, 0, on);
	return t;
}

jpki_trust *jpkirepo_trust_acquire(Operation *op, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	jpki_trust *fresh;

	ldap_pvt_thread_rdwr_rlock(&ji->trust_lock);
	if (!ji->trust_stale && ji->trust != NULL)
		return ji->trust;
	ldap_pvt_thread_rdwr_runlock(&ji->trust_lock);

	fresh = rebuild(op, on);
	ldap_pvt_thread_rdwr_wlock(&ji->trust_lock);
	if (fresh != NULL) {
		jpki_trust_free(ji->trust);
		ji->trust = fresh;
		ji->trust_stale = 0;
	}
	ldap_pvt_thread_rdwr_wunlock(&ji->trust_lock);

	ldap_pvt_thread_rdwr_rlock(&ji->trust_lock);
	if (ji->trust == NULL) {
		ldap_pvt_thread_rdwr_runlock(&ji->trust_lock);
		return NULL;
	}
	return ji->trust;
}

void jpkirepo_trust_release(jpkirepo_info *ji)
{
	ldap_pvt_thread_rdwr_runlock(&ji->trust_lock);
}

void jpkirepo_trust_mark_stale(jpkirepo_info *ji)
{
	ldap_pvt_thread_rdwr_wlock(&ji->trust_lock);
	ji->trust_stale = 1;
	ldap_pvt_thread_rdwr_wunlock(&ji->trust_lock);
}
