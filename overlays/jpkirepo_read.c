/* Who reads user CRLs (CPS 2-6-3, 2-8-3, 4-4-4-5). certificateRevocationList is readable by
 * the rootdn, the publisher, the configured readers (replication, responder, operator) and
 * registered verifiers allowed the ldap method now; for everyone else it does not exist:
 *  - slapd's ACL engine denies every access to it (jpkirepo_acl.c: search results,
 *    attribute lists, attrsonly, any path that sends an entry, persistent searches);
 *  - filters (the search's and the assertion control's) and compare assertions naming it
 *    are turned into the same assertion on deltaRevocationList, which has the same syntax
 *    and which no entry holds (the overlay refuses it on write), so the answer is exactly
 *    that of an attribute nobody holds — a NOT around it included. */
#include "jpkirepo.h"

static int in_list(BerVarray list, struct berval *ndn)
{
	unsigned i;

	for (i = 0; list != NULL && !BER_BVISNULL(&list[i]); i++)
		if (dn_match(ndn, &list[i]))
			return 1;
	return 0;
}

/* The one place the overlay asks whether an identity is a configured publisher. */
int jpkirepo_is_publisher(const jpkirepo_info *ji, Operation *op)
{
	return in_list(ji->npublishers, &op->o_ndn);
}

int jpkirepo_crl_readable(Operation *op, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (be_isroot(op) || jpkirepo_is_publisher(ji, op) || in_list(ji->nreaders, &op->o_ndn))
		return 1;
	if (BER_BVISEMPTY(&op->o_ndn) || BER_BVISEMPTY(&ji->verifier_nbase) ||
	    !dnIsSuffix(&op->o_ndn, &ji->verifier_nbase))
		return 0;
	return jpkirepo_registry_allows(op, on, ji->registry, &op->o_ndn, NULL, 0);
}

int jpkirepo_is_crl_ad(const jpkirepo_info *ji, AttributeDescription *ad)
{
	return ad != NULL && is_ad_subtype(ad, ji->ad_crl);
}

/* deltaRevocationList with the same options (";binary"…) as the CRL description. */
static AttributeDescription *hidden_ad(jpkirepo_info *ji, AttributeDescription *ad)
{
	AttributeDescription *out = NULL;
	const char *opts = strchr(ad->ad_cname.bv_val, ';'), *text;
	char name[256];
	struct berval bv;

	if (opts == NULL)
		return ji->ad_delta;
	bv.bv_len = snprintf(name, sizeof(name), "deltaRevocationList%s", opts);
	bv.bv_val = name;
	if (bv.bv_len >= sizeof(name) || slap_bv2ad(&bv, &out, &text) != LDAP_SUCCESS)
		return ji->ad_delta;
	return out;
}

static void hide_in_filter(jpkirepo_info *ji, Filter *f)
{
	for (; f != NULL; f = f->f_next) {
		switch (f->f_choice & SLAPD_FILTER_MASK) {
		case LDAP_FILTER_AND:
		case LDAP_FILTER_OR:
			hide_in_filter(ji, f->f_list);
			break;
		case LDAP_FILTER_NOT:
			hide_in_filter(ji, f->f_not);
			break;
		case LDAP_FILTER_EQUALITY:
		case LDAP_FILTER_GE:
		case LDAP_FILTER_LE:
		case LDAP_FILTER_APPROX:
			if (jpkirepo_is_crl_ad(ji, f->f_ava->aa_desc))
				f->f_ava->aa_desc = hidden_ad(ji, f->f_ava->aa_desc);
			break;
		case LDAP_FILTER_SUBSTRINGS:
			if (jpkirepo_is_crl_ad(ji, f->f_sub_desc))
				f->f_sub_desc = hidden_ad(ji, f->f_sub_desc);
			break;
		case LDAP_FILTER_PRESENT:
			if (jpkirepo_is_crl_ad(ji, f->f_desc))
				f->f_desc = hidden_ad(ji, f->f_desc);
			break;
		case LDAP_FILTER_EXT:
			if (jpkirepo_is_crl_ad(ji, f->f_mra->ma_desc))
				f->f_mra->ma_desc = hidden_ad(ji, f->f_mra->ma_desc);
			break;
		default:
			break;
		}
	}
}

int jpkirepo_op_search(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;

	(void)rs;
	if (!jpkirepo_crl_readable(op, on)) {
		hide_in_filter(ji, op->ors_filter);
		if (get_assert(op))	/* o_assertion is only set when the control was sent */
			hide_in_filter(ji, op->o_assertion);
	} else {
		jpkirepo_audit_watch_reads(op, ji);	/* every CRL that leaves is recorded first */
	}
	return SLAP_CB_CONTINUE;
}

int jpkirepo_op_compare(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;

	(void)rs;
	if (get_assert(op) || jpkirepo_is_crl_ad(ji, op->orc_ava->aa_desc)) {
		if (!jpkirepo_crl_readable(op, on)) {
			if (get_assert(op))
				hide_in_filter(ji, op->o_assertion);
			if (jpkirepo_is_crl_ad(ji, op->orc_ava->aa_desc))
				op->orc_ava->aa_desc = hidden_ad(ji, op->orc_ava->aa_desc);
		}
	}
	return SLAP_CB_CONTINUE;
}
