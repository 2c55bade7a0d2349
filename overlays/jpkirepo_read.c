/* Who reads user CRLs (CPS 2-6-3, 2-8-3, 4-4-4-5). certificateRevocationList is readable by
 * the rootdn, the publisher, the configured readers (replication, responder, operator) and
 * registered verifiers allowed the ldap method now; for everyone else it does not exist.
 * The overlay enforces this on the operations themselves, whatever the database's ACLs say
 * (an ACL can be removed or reordered at run time under cn=config):
 *  - entries of a search lose the attribute before they leave (values, attrsonly names);
 *  - filters (the search's and the assertion control's) and compare assertions naming it
 *    (or testing it by a matching rule alone: rule_without_crl)
 *    are turned into the same assertion on deltaRevocationList, which has the same syntax
 *    and which no entry holds (the overlay refuses it on write), so the answer is exactly
 *    that of an attribute nobody holds — a NOT around it included; for those who may read
 *    it, the same filters and compares are reads, recorded (jpkirepo_audit.c) like values;
 *  - the assertion control of a modify, delete or rename is turned the same way for
 *    everyone: the backend tests it before the write's ACLs, where its answer would be an
 *    unrecorded read;
 *  - a persistent search (RFC 4533 refreshAndPersist) is for the rootdn, the publisher and
 *    the readers only: syncprov sends its changes outside the search operation, where
 *    neither of the above nor the audit trail's record of the read can act.
 * The dynamic ACL "jpkiverifier" (jpkirepo_acl.c) gives slapd's ACL engine the same
 * decision, for the paths the overlay does not see (pre/post-read controls of writes). */
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

/* The repository's own services: they read every CRL, persistent searches included. */
static int is_service(Operation *op, const jpkirepo_info *ji)
{
	return be_isroot(op) || jpkirepo_is_publisher(ji, op) || in_list(ji->nreaders, &op->o_ndn);
}

int jpkirepo_crl_readable(Operation *op, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (is_service(op, ji))
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

/* An extensible match with a rule and no attribute type is tested by slapd on every attribute
 * of the entry the rule is usable with (filterentry.c test_mra_filter, mr_usable_with_at):
 * certificateListExactMatch, say, on certificateRevocationList. */
static int rule_tests_crl(const jpkirepo_info *ji, const MatchingRuleAssertion *mra)
{
	return mra->ma_desc == NULL && mra->ma_rule != NULL && mr_usable_with_at(mra->ma_rule, ji->ad_crl->ad_type);
}

/* Such an item made the one an entry without a CRL answers: one item for each other attribute
 * type the rule is usable with (with the value slapd would assert on it, and dnattrs), ORed,
 * so that the ARL still matches as it would; none is FALSE, as the rule-only item on an entry
 * holding none of them. Giving the item deltaRevocationList instead would drop the ARL. */
static void rule_without_crl(Operation *op, jpkirepo_info *ji, Filter *f)
{
	MatchingRuleAssertion *mra = f->f_mra, *m;
	AttributeType *at;
	AttributeDescription *ad;
	Filter *list = NULL, **tail = &list, *g;
	struct berval value;
	const char *text;

#ifdef LDAP_COMP_MATCH	/* not in Debian's slapd: a component filter is not copied, but hidden */
	if (mra->ma_cf != NULL) {
		mra->ma_desc = ji->ad_delta;
		return;
	}
#endif
	for (at_start(&at); at != NULL; at_next(&at)) {
		ad = NULL;
		if (!mr_usable_with_at(mra->ma_rule, at) || is_at_subtype(at, ji->ad_crl->ad_type) ||
		    slap_bv2ad(&at->sat_cname, &ad, &text) != LDAP_SUCCESS ||
		    asserted_value_validate_normalize(ad, mra->ma_rule, SLAP_MR_EXT | SLAP_MR_VALUE_OF_ASSERTION_SYNTAX,
			    &mra->ma_value, &value, &text, op->o_tmpmemctx) != LDAP_SUCCESS)
			continue;
		m = op->o_tmpcalloc(1, sizeof(*m), op->o_tmpmemctx);
		m->ma_rule = mra->ma_rule;
		m->ma_rule_text = mra->ma_rule->smr_bvoid;
		m->ma_desc = ad;
		m->ma_value = value;
		m->ma_dnattrs = mra->ma_dnattrs;
		g = op->o_tmpcalloc(1, sizeof(*g), op->o_tmpmemctx);
		g->f_choice = LDAP_FILTER_EXT;
		g->f_mra = m;
		*tail = g;
		tail = &g->f_next;
	}
	mra_free(op, mra, 1);
	f->f_choice = LDAP_FILTER_OR | (f->f_choice & ~SLAPD_FILTER_MASK);
	f->f_list = list;
}

/* The filter items on certificateRevocationList (any subtype) in f, those by rule alone that
 * it is tested with included: how many there are and, when hide, each turned into the same
 * item on deltaRevocationList (a rule-only one, into those on the other types). The one walk
 * that knows which filter choices carry an attribute description. */
static int crl_in_filter(Operation *op, jpkirepo_info *ji, Filter *f, int hide)
{
	AttributeDescription **ad;
	int n = 0;

	for (; f != NULL; f = f->f_next) {
		switch (f->f_choice & SLAPD_FILTER_MASK) {
		case LDAP_FILTER_AND:
		case LDAP_FILTER_OR:
			n += crl_in_filter(op, ji, f->f_list, hide);
			continue;
		case LDAP_FILTER_NOT:
			n += crl_in_filter(op, ji, f->f_not, hide);
			continue;
		case LDAP_FILTER_EQUALITY:
		case LDAP_FILTER_GE:
		case LDAP_FILTER_LE:
		case LDAP_FILTER_APPROX:
			ad = &f->f_ava->aa_desc;
			break;
		case LDAP_FILTER_SUBSTRINGS:
			ad = &f->f_sub_desc;
			break;
		case LDAP_FILTER_PRESENT:
			ad = &f->f_desc;
			break;
		case LDAP_FILTER_EXT:
			if (rule_tests_crl(ji, f->f_mra)) {
				n++;
				if (hide)
					rule_without_crl(op, ji, f);
				continue;
			}
			ad = &f->f_mra->ma_desc;
			break;
		default:
			continue;
		}
		if (jpkirepo_is_crl_ad(ji, *ad)) {
			n++;
			if (hide)
				*ad = hidden_ad(ji, *ad);
		}
	}
	return n;
}

/* How the operation's answer depends on certificateRevocationList other than through values
 * it sends (JPKIREPO_TESTS_*): each is a validity check even when no value leaves. */
static int crl_tests(jpkirepo_info *ji, Operation *op)
{
	int tests = 0;

	if (op->o_tag == LDAP_REQ_SEARCH && crl_in_filter(op, ji, op->ors_filter, 0) > 0)
		tests |= JPKIREPO_TESTS_FILTER;
	if (get_assert(op) && crl_in_filter(op, ji, op->o_assertion, 0) > 0)	/* only set when sent */
		tests |= JPKIREPO_TESTS_ASSERTION;
	if (op->o_tag == LDAP_REQ_COMPARE && jpkirepo_is_crl_ad(ji, op->orc_ava->aa_desc))
		tests |= JPKIREPO_TESTS_COMPARE;
	return tests;
}

/* A write's assertion control (RFC 4528) is tested by the backend before the write's ACLs
 * (back-mdb's modify, delete and modrdn): whether it fails tells whether the entry holds a
 * CRL, and no read is recorded for it. For everyone, the rootdn and the publishers too (whose
 * reads are recorded as anyone's, and whose tools assert nothing), its CRL items are turned
 * into the same items on deltaRevocationList, as for who may not read them: the answer is
 * that of an attribute nobody holds. An add's assertion is tested on the entry it brings,
 * which tells nothing. */
void jpkirepo_hide_write_assertion(Operation *op, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (get_assert(op) && !be_shadow_update(op))
		crl_in_filter(op, ji, op->o_assertion, 1);
}

void jpkirepo_strip_crl(Operation *op, SlapReply *rs, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	Attribute **a, *gone;

	rs_entry2modifiable(op, rs, on);
	for (a = &rs->sr_entry->e_attrs; *a != NULL;) {
		if (is_ad_subtype((*a)->a_desc, ji->ad_crl)) {
			gone = *a;
			*a = gone->a_next;
			gone->a_next = NULL;
			attr_free(gone);
		} else {
			a = &(*a)->a_next;
		}
	}
}

static int strip_response(Operation *op, SlapReply *rs)
{
	slap_overinst *on = op->o_callback->sc_private;
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (rs->sr_type == REP_SEARCH && rs->sr_entry != NULL && attrs_find(rs->sr_entry->e_attrs, ji->ad_crl) != NULL)
		jpkirepo_strip_crl(op, rs, on);
	return SLAP_CB_CONTINUE;
}

static int strip_cleanup(Operation *op, SlapReply *rs)
{
	if (rs->sr_type == REP_RESULT)
		jpkirepo_callback_pop(op, 0);	/* its private data is the overlay's */
	return SLAP_CB_CONTINUE;
}

/* RFC 4533 refreshAndPersist. syncprov, which parses the control, keeps the mode in the data
 * bits of the control's flag. */
static int persistent(Operation *op)
{
	return (op->o_sync >> SLAP_CONTROL_SHIFT & LDAP_SYNC_REFRESH_AND_PERSIST) == LDAP_SYNC_REFRESH_AND_PERSIST;
}

int jpkirepo_op_search(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;
	jpki_verdict v;

	if (persistent(op) && !is_service(op, ji)) {
		jpki_verdict_refuse(&v, JPKI_RULE_NO_PERSIST, "a persistent search (RFC 4533 refreshAndPersist) "
			"is for the repository's services (jpkirepo-reader): its changes would leave unchecked "
			"and unrecorded; search again (refreshOnly) instead");
		send_ldap_error(op, rs, LDAP_UNWILLING_TO_PERFORM, v.text);
		return rs->sr_err;
	}
	if (!jpkirepo_crl_readable(op, on)) {
		crl_in_filter(op, ji, op->ors_filter, 1);
		if (get_assert(op))	/* o_assertion is only set when the control was sent */
			crl_in_filter(op, ji, op->o_assertion, 1);
		jpkirepo_callback_push(op, strip_response, strip_cleanup, on);
	} else if (!be_shadow_update(op)) {	/* syncrepl's own searches send nothing out */
		/* every CRL that leaves, and every entry a filter on it selects, is recorded first */
		jpkirepo_audit_watch_reads(op, ji, crl_tests(ji, op));
	}
	return SLAP_CB_CONTINUE;
}

int jpkirepo_op_compare(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;
	int tests = crl_tests(ji, op);

	(void)rs;
	if (tests == 0)
		return SLAP_CB_CONTINUE;
	if (!jpkirepo_crl_readable(op, on)) {
		if (tests & JPKIREPO_TESTS_ASSERTION)
			crl_in_filter(op, ji, op->o_assertion, 1);
		if (tests & JPKIREPO_TESTS_COMPARE)
			op->orc_ava->aa_desc = hidden_ad(ji, op->orc_ava->aa_desc);
	} else if (!be_shadow_update(op)) {
		/* its answer tells about the stored CRL: recorded before it is sent */
		jpkirepo_audit_watch_compare(op, ji, tests);
	}
	return SLAP_CB_CONTINUE;
}
