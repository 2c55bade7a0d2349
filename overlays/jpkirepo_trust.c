/* The CA keys the overlay trusts: the configured anchors plus every generation that the CA
 * entry's stored cACertificate values link to them. Rebuilt from the entry after a successful
 * write of cACertificate, so that a restart and a replica see the same keys. */
#include "jpkirepo.h"

jpki_trust *jpkirepo_trust_anchors_only(jpkirepo_info *ji, jpki_err *err)
{
	jpki_trust *t = jpki_trust_new();
	int i;

	if (t == NULL) {
		jpki_errf(err, "out of memory");
		return NULL;
	}
	for (i = 0; i < sk_X509_num(ji->anchors); i++) {
		if (jpki_trust_add_anchor(t, sk_X509_value(ji->anchors, i), err) < 0) {
			jpki_trust_free(t);
			return NULL;
		}
	}
	return t;
}

/* Anchors extended by the CA entry's cACertificate values, as far as they verify. */
static jpki_trust *rebuild(Operation *op, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	jpki_trust *t = jpkirepo_trust_anchors_only(ji, NULL);
	Entry *e = NULL;
	Attribute *a;
	jpki_err err;
	unsigned i;

	if (t == NULL || BER_BVISEMPTY(&ji->ca_ndn))
		return t;
	if (overlay_entry_get_ov(op, &ji->ca_ndn, NULL, ji->ad_cacert, 0, &e, on) != LDAP_SUCCESS ||
	    e == NULL)
		return t;
	for (a = attrs_find(e->e_attrs, ji->ad_cacert); a != NULL;
	     a = attrs_find(a->a_next, ji->ad_cacert)) {
		for (i = 0; i < a->a_numvals; i++) {
			const unsigned char *der = (const unsigned char *)a->a_vals[i].bv_val;
			size_t len = a->a_vals[i].bv_len;

			/* One at a time: a stored value that does not verify only loses itself. */
			if (jpki_trust_extend_der(t, &der, &len, 1, &err) < 0)
				Debug(LDAP_DEBUG_ANY, "jpkirepo: stored cACertificate value %u of %s ignored: %s\n",
					i + 1, ji->ca_dn.bv_val, err.text);
		}
	}
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
