/* Every add or modify that writes a CRL, an ARL or a CA certificate passes here before the
 * backend sees it. The value set the operation would leave is computed from the stored entry
 * and the modifications; each value not already stored must pass the rules of lib/crl_check
 * (or, for cACertificate, chain to a trust anchor). A refusal leaves the entry untouched. */
#include "jpkirepo.h"

typedef enum kind { KIND_CRL, KIND_ARL, KIND_CACERT, KIND_COUNT } kind;

typedef struct valset {
	struct berval *v;
	unsigned n;
} valset;

static AttributeDescription *kind_ad(const jpkirepo_info *ji, kind k)
{
	switch (k) {
	case KIND_CRL: return ji->ad_crl;
	case KIND_ARL: return ji->ad_arl;
	default: return ji->ad_cacert;
	}
}

static int valset_has(const valset *s, const struct berval *v)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (ber_bvcmp(&s->v[i], v) == 0)
			return 1;
	return 0;
}

static void valset_add(Operation *op, valset *s, const struct berval *v)
{
	if (valset_has(s, v))
		return;
	s->v = op->o_tmprealloc(s->v, (s->n + 1) * sizeof(*s->v), op->o_tmpmemctx);
	s->v[s->n++] = *v;
}

static void valset_remove(valset *s, const struct berval *v)
{
	unsigned i;

	for (i = 0; i < s->n; i++) {
		if (ber_bvcmp(&s->v[i], v) == 0) {
			s->v[i] = s->v[--s->n];
			return;
		}
	}
}

static void valset_from_attrs(Operation *op, valset *s, Attribute *attrs, AttributeDescription *ad)
{
	Attribute *a;
	unsigned i;

	for (a = attrs_find(attrs, ad); a != NULL; a = attrs_find(a->a_next, ad))
		for (i = 0; i < a->a_numvals; i++)
			valset_add(op, s, &a->a_vals[i]);
}

/* Applies the modifications of one kind to the stored set, as the backend will. */
static int apply_mods(Operation *op, Modifications *mods, AttributeDescription *ad, valset *s,
	jpki_verdict *v)
{
	Modifications *ml;
	unsigned i;

	for (ml = mods; ml != NULL; ml = ml->sml_next) {
		if (!is_ad_subtype(ml->sml_desc, ad))
			continue;
		switch (ml->sml_op) {
		case LDAP_MOD_ADD:
		case SLAP_MOD_SOFTADD:
		case SLAP_MOD_ADD_IF_NOT_PRESENT:
			for (i = 0; ml->sml_values && !BER_BVISNULL(&ml->sml_values[i]); i++)
				valset_add(op, s, &ml->sml_values[i]);
			break;
		case LDAP_MOD_DELETE:
		case SLAP_MOD_SOFTDEL:
			if (ml->sml_values == NULL)
				s->n = 0;
			for (i = 0; ml->sml_values && !BER_BVISNULL(&ml->sml_values[i]); i++)
				valset_remove(s, &ml->sml_values[i]);
			break;
		case LDAP_MOD_REPLACE:
			s->n = 0;
			for (i = 0; ml->sml_values && !BER_BVISNULL(&ml->sml_values[i]); i++)
				valset_add(op, s, &ml->sml_values[i]);
			break;
		default:
			return jpki_verdict_refuse(v, JPKI_RULE_FORMAT,
				"this modification type is not defined for the attribute");
		}
	}
	return 0;
}

/* The decimal cRLNumber of a checked CRL, appended to a list for the audit record. */
static void note_number(const jpki_crl_meta *m, char *numbers, size_t len)
{
	char *dec = jpki_integer_dec(m->number);
	size_t used = strlen(numbers);

	if (dec != NULL)
		snprintf(numbers + used, len - used, "%s%s", used ? " " : "", dec);
	OPENSSL_free(dec);
}

/* Checks the CRLs/ARLs of the result set that are not stored yet, then the set as a whole. */
static int check_crls(Operation *op, jpkirepo_info *ji, const jpki_trust *t, const char *entry_dn,
	kind k, const valset *stored, const valset *result, jpki_verdict *v, char *numbers, size_t nlen)
{
	jpki_crl_meta *metas = NULL;
	unsigned nstored = 0, i, nmeta;
	int rc = -1;
	time_t now = slap_get_time();

	metas = op->o_tmpcalloc(stored->n + result->n + 1, sizeof(*metas), op->o_tmpmemctx);
	/* What each stored CRL is compared with; an unreadable stored value compares with none. */
	for (i = 0; i < stored->n; i++)
		if (jpkirepo_cache_get(ji->cache, &stored->v[i], t, &metas[nstored]) == 0)
			nstored++;
	nmeta = nstored;
	for (i = 0; i < result->n; i++) {
		if (valset_has(stored, &result->v[i])) {
			if (jpkirepo_cache_get(ji->cache, &result->v[i], t, &metas[nmeta]) == 0)
				nmeta++;
			continue;
		}
		if (jpki_crl_check((const unsigned char *)result->v[i].bv_val, result->v[i].bv_len,
			    entry_dn, k == KIND_ARL ? JPKI_CRL_ARL : JPKI_CRL_PARTITION, t, metas, nstored,
			    now, &ji->policy, &metas[nmeta], NULL, v) < 0)
			goto out;
		jpkirepo_cache_put(ji->cache, &result->v[i], &metas[nmeta]);
		note_number(&metas[nmeta], numbers, nlen);
		nmeta++;
	}
	/* metas[nstored..nmeta): the CRLs the entry would hold. */
	if (jpki_check_one_per_key(metas + nstored, nmeta - nstored, v) < 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < nmeta; i++)
		jpki_crl_meta_clear(&metas[i]);
	op->o_tmpfree(metas, op->o_tmpmemctx);
	return rc;
}

static int check_cacerts(jpkirepo_info *ji, const valset *result, jpki_verdict *v)
{
	jpki_err err;
	jpki_trust *t = jpki_trust_from_anchors(ji->anchors, &err);
	const unsigned char **ders;
	size_t *lens;
	unsigned i;
	int rc;

	if (t == NULL)
		return jpki_verdict_refuse(v, JPKI_RULE_CA_CERT, "%s", err.text);
	ders = ch_calloc(result->n + 1, sizeof(*ders));
	lens = ch_calloc(result->n + 1, sizeof(*lens));
	for (i = 0; i < result->n; i++) {
		ders[i] = (const unsigned char *)result->v[i].bv_val;
		lens[i] = result->v[i].bv_len;
	}
	rc = jpki_trust_extend_der(t, ders, lens, result->n, &err);
	if (rc < 0)
		jpki_verdict_refuse(v, JPKI_RULE_CA_CERT, "%s", err.text);
	ch_free(ders);
	ch_free(lens);
	jpki_trust_free(t);
	return rc;
}

/* A publication attempt refused, recorded with the rule (CPS 4-11-2) before the refusal is
 * sent; an accepted one is recorded by check_write. */
static void record_refusal(Operation *op, jpkirepo_info *ji, const char *event, const jpki_verdict *v)
{
	char decision[512], details[1400], why[300];

	snprintf(decision, sizeof(decision), "refused: %s", v->text);
	jpkirepo_audit_write_details(op, decision, details, sizeof(details));
	jpkirepo_audit(op, ji, event, decision, details, why, sizeof(why));
}

/* A publication the rules accepted (and that is recorded so) but that the backend then did
 * not store — an assertion control that fails, a full database — gets a record of that. */
static void publish_answered(Operation *op, SlapReply *rs, void *arg)
{
	char result[480], details[1400], why[300];

	if (rs->sr_err == LDAP_SUCCESS)
		return;
	snprintf(result, sizeof(result), "error: %s%s%s", ldap_err2string(rs->sr_err),
		rs->sr_text != NULL ? ": " : "", rs->sr_text != NULL ? rs->sr_text : "");
	jpkirepo_audit_write_details(op, "not stored", details, sizeof(details));
	jpkirepo_audit(op, arg, "crl-publish", result, details, why, sizeof(why));
}

/* A stored cACertificate change makes the trust set stale. */
static void cacert_answered(Operation *op, SlapReply *rs, void *arg)
{
	publish_answered(op, rs, arg);
	if (rs->sr_err == LDAP_SUCCESS)
		jpkirepo_trust_mark_stale(arg);
}

/* The same for a replicated change, which the provider recorded. */
static void replicated_cacert_answered(Operation *op, SlapReply *rs, void *arg)
{
	(void)op;
	if (rs->sr_err == LDAP_SUCCESS)
		jpkirepo_trust_mark_stale(arg);
}

/* A refusal is written to the client after the lock is gone: a client slow to read its
 * answer must not hold up every other write. */
static void unlock_before_answer(jpkirepo_info *ji, int *holding)
{
	if (*holding)
		ldap_pvt_thread_mutex_unlock(&ji->write_lock);
	*holding = 0;
}

/* stored: the entry's attributes now (NULL for an add); mods: NULL for an add, whose new
 * attributes are in `added`. */
static int check_write(Operation *op, SlapReply *rs, Attribute *stored_attrs,
	Modifications *mods, Attribute *added, int *holding)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;
	valset stored[KIND_COUNT] = { { 0 } }, result[KIND_COUNT] = { { 0 } };
	int changed[KIND_COUNT] = { 0 }, any = 0, rc = SLAP_CB_CONTINUE;
	jpki_verdict v = { JPKI_RULE_NONE, "" };
	char numbers[256] = "", decision[512], details[1400], awhy[300];
	const jpki_trust *t;
	unsigned i;
	kind k;

	for (k = 0; k < KIND_COUNT; k++) {
		AttributeDescription *ad = kind_ad(ji, k);

		valset_from_attrs(op, &stored[k], stored_attrs, ad);
		if (mods != NULL) {
			for (Modifications *ml = mods; ml != NULL; ml = ml->sml_next)
				changed[k] |= is_ad_subtype(ml->sml_desc, ad);
			for (i = 0; i < stored[k].n; i++)
				valset_add(op, &result[k], &stored[k].v[i]);
			if (changed[k] && apply_mods(op, mods, ad, &result[k], &v) < 0) {
				record_refusal(op, ji, "crl-publish", &v);
				unlock_before_answer(ji, holding);
				send_ldap_error(op, rs, LDAP_CONSTRAINT_VIOLATION, v.text);
				rc = rs->sr_err;
				goto out;
			}
		} else {
			valset_from_attrs(op, &result[k], added, ad);
			changed[k] = result[k].n > 0;
		}
		any |= changed[k];
	}
	if (!any)
		goto out;
	if (be_shadow_update(op)) {
		/* Replication applies what the provider checked; a new CA certificate still makes
		 * this server's trust set stale, as a local write would. */
		if (changed[KIND_CACERT]) {
			jpkirepo_hold_until_answered(op, &ji->write_lock, replicated_cacert_answered, ji);
			*holding = 0;
		}
		goto out;
	}
	if (!jpkirepo_is_publisher(ji, op)) {
		jpki_verdict_refuse(&v, JPKI_RULE_WRITER, "only the configured publisher may write %s",
			changed[KIND_CRL] ? "certificateRevocationList" :
			changed[KIND_ARL] ? "authorityRevocationList" : "cACertificate");
		record_refusal(op, ji, "crl-publish", &v);
		unlock_before_answer(ji, holding);
		send_ldap_error(op, rs, LDAP_INSUFFICIENT_ACCESS, v.text);
		rc = rs->sr_err;
		goto out;
	}
	/* The CA entry holds the CA's certificates and its ARL: the trust and the responder
	 * read them there, and nowhere else. */
	if ((changed[KIND_ARL] || changed[KIND_CACERT]) && !BER_BVISEMPTY(&ji->ca_ndn) &&
	    !dn_match(&op->o_req_ndn, &ji->ca_ndn)) {
		jpki_verdict_refuse(&v, changed[KIND_ARL] ? JPKI_RULE_PARTITION : JPKI_RULE_CA_CERT,
			"%s belongs in the CA entry %s, not in %s", changed[KIND_ARL] ? "the ARL" : "cACertificate",
			ji->ca_dn.bv_val, op->o_req_dn.bv_val);
		goto refused;
	}
	if (changed[KIND_CACERT] && check_cacerts(ji, &result[KIND_CACERT], &v) < 0)
		goto refused;
	if (changed[KIND_CRL] || changed[KIND_ARL]) {
		t = jpkirepo_trust_acquire(op, on);
		if (t == NULL) {
			jpki_verdict_refuse(&v, JPKI_RULE_SIGNATURE, "no trusted CA key is configured");
			goto refused;
		}
		for (k = KIND_CRL; k <= KIND_ARL; k++) {
			if (changed[k] && check_crls(op, ji, t, op->o_req_dn.bv_val, k, &stored[k],
					      &result[k], &v, numbers, sizeof(numbers)) < 0) {
				jpkirepo_trust_release(ji);
				goto refused;
			}
		}
		jpkirepo_trust_release(ji);
	}
	/* Passed: recorded before it is stored (fail-closed: no record, no publication). */
	snprintf(decision, sizeof(decision), "accepted%s%s", numbers[0] ? ": cRLNumber " : "", numbers);
	jpkirepo_audit_write_details(op, decision, details, sizeof(details));
	if (jpkirepo_audit(op, ji, "crl-publish", "ok", details, awhy, sizeof(awhy)) < 0) {
		unlock_before_answer(ji, holding);
		send_ldap_error(op, rs, LDAP_UNWILLING_TO_PERFORM, awhy);
		rc = rs->sr_err;
		goto out;
	}
	/* Checks and store under one lock, so that two publishers cannot both pass rule (e)
	 * against the same stored CRL: released when the backend has answered. */
	jpkirepo_hold_until_answered(op, &ji->write_lock, changed[KIND_CACERT] ? cacert_answered : publish_answered, ji);
	*holding = 0;
	goto out;
refused:
	Debug(LDAP_DEBUG_STATS, "jpkirepo: conn=%lu op=%lu refused write to \"%s\" by \"%s\": %s\n",
		op->o_connid, op->o_opid, op->o_req_dn.bv_val, op->o_dn.bv_val, v.text);
	record_refusal(op, ji, "crl-publish", &v);
	unlock_before_answer(ji, holding);
	send_ldap_error(op, rs, LDAP_CONSTRAINT_VIOLATION, v.text);
	rc = rs->sr_err;
out:
	for (k = 0; k < KIND_COUNT; k++) {
		op->o_tmpfree(stored[k].v, op->o_tmpmemctx);
		op->o_tmpfree(result[k].v, op->o_tmpmemctx);
	}
	return rc;
}

/* --- the verifier registry: a write under its base is seen by the next access decision --- */

static int registry_written(Operation *op, SlapReply *rs)
{
	jpkirepo_info *ji = op->o_callback->sc_private;
	char details[1400], result[480], why[300];

	if (rs->sr_type != REP_RESULT)
		return SLAP_CB_CONTINUE;
	if (rs->sr_err == LDAP_SUCCESS)
		jpkirepo_registry_changed(ji->registry);
	if (be_shadow_update(op))
		return SLAP_CB_CONTINUE;	/* replicated: the provider recorded it */
	/* The outcome; the request itself was recorded before it ran. */
	if (rs->sr_err == LDAP_SUCCESS)
		snprintf(result, sizeof(result), "ok");
	else	/* with the rule that refused it, when it was ours */
		snprintf(result, sizeof(result), "error: %s%s%s", ldap_err2string(rs->sr_err),
			rs->sr_text != NULL ? ": " : "", rs->sr_text != NULL ? rs->sr_text : "");
	jpkirepo_audit_write_details(op, "done", details, sizeof(details));
	jpkirepo_audit(op, ji, "registry-change", result, details, why, sizeof(why));
	return SLAP_CB_CONTINUE;
}

static int registry_done(Operation *op, SlapReply *rs)
{
	if (rs->sr_type == REP_RESULT)
		jpkirepo_callback_pop(op, 0);	/* its private data is the overlay's */
	return SLAP_CB_CONTINUE;
}

/* -1 (and the operation refused) when its audit record cannot be written. */
static int watch_registry(Operation *op, SlapReply *rs, jpkirepo_info *ji, struct berval *ndn2)
{
	char details[1400], why[300];

	if (!jpkirepo_in_registry(ji, &op->o_req_ndn) && !jpkirepo_in_registry(ji, ndn2))
		return 0;
	jpkirepo_audit_write_details(op, "requested", details, sizeof(details));
	if (!be_shadow_update(op) &&
	    jpkirepo_audit(op, ji, "registry-change", "requested", details, why, sizeof(why)) < 0) {
		send_ldap_error(op, rs, LDAP_UNWILLING_TO_PERFORM, why);
		return -1;
	}
	jpkirepo_callback_push(op, registry_written, registry_done, ji);
	return 0;
}

/* The repository keeps complete CRLs only; deltaRevocationList stays empty everywhere, which
 * is what lets the read side answer for a hidden CRL as for this attribute. */
static int refuse_delta(Operation *op, SlapReply *rs, jpkirepo_info *ji, Modifications *mods,
	Attribute *attrs)
{
	jpki_verdict v;
	int found = 0;

	for (; mods != NULL && !found; mods = mods->sml_next)
		found = is_ad_subtype(mods->sml_desc, ji->ad_delta);
	found = found || attrs_find(attrs, ji->ad_delta) != NULL;
	if (!found || be_shadow_update(op))
		return 0;
	jpki_verdict_refuse(&v, JPKI_RULE_COMPLETE_ONLY,
		"the repository keeps complete CRLs only; deltaRevocationList is not used");
	record_refusal(op, ji, "crl-publish", &v);
	send_ldap_error(op, rs, LDAP_CONSTRAINT_VIOLATION, v.text);
	return -1;
}

/* Is ad one of what check_write guards (CRLs, the ARL, CA certificates)? */
static int guarded(const jpkirepo_info *ji, AttributeDescription *ad)
{
	return is_ad_subtype(ad, ji->ad_crl) || is_ad_subtype(ad, ji->ad_arl) || is_ad_subtype(ad, ji->ad_cacert);
}

static int ours_in_attrs(const jpkirepo_info *ji, Attribute *a)
{
	for (; a != NULL; a = a->a_next)
		if (guarded(ji, a->a_desc))
			return 1;
	return 0;
}

static int ours_in_mods(const jpkirepo_info *ji, Modifications *ml)
{
	for (; ml != NULL; ml = ml->sml_next)
		if (guarded(ji, ml->sml_desc))
			return 1;
	return 0;
}

/* An LDAP transaction (RFC 5805) applies its operations inside the backend's write
 * transaction: a check there that waits for the overlay's lock waits on a write that holds
 * the lock and waits for the backend — every write would hang. What the overlay checks under
 * its lock is therefore not written in a transaction. */
static int refuse_txn(Operation *op, SlapReply *rs, jpkirepo_info *ji, const char *event)
{
	jpki_verdict v;

	if (event == NULL || !op->o_txnSpec || be_shadow_update(op))
		return 0;
	jpki_verdict_refuse(&v, JPKI_RULE_NO_TRANSACTION, "CRLs, CA certificates and the verifier registry are "
		"not written in an LDAP transaction (RFC 5805): each write is checked and stored under the "
		"overlay's lock");
	record_refusal(op, ji, event, &v);
	send_ldap_error(op, rs, LDAP_UNWILLING_TO_PERFORM, v.text);
	return -1;
}

/* The first entry found ends the search: one is enough. */
static int found_one(Operation *op, SlapReply *rs)
{
	if (rs->sr_type != REP_SEARCH)
		return 0;
	*(int *)op->o_callback->sc_private = 1;
	return LDAP_SIZELIMIT_EXCEEDED;
}

/* Whether an entry under e (a rename moves them all) holds a CRL, the ARL or CA certificates
 * (jpkirepo_root_search: no read is recorded for it); in doubt (no rootdn, a failed search),
 * yes. */
static int below_holds(Operation *op, slap_overinst *on, Entry *e)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	BackendInfo *bi = on->on_info->oi_orig;
	int subs = LDAP_COMPARE_TRUE, found = 0, rc;
	slap_callback cb = { .sc_response = found_one, .sc_private = &found };
	char f[256];

	if (bi->bi_has_subordinates != NULL && bi->bi_has_subordinates(op, e, &subs) == LDAP_SUCCESS &&
	    subs != LDAP_COMPARE_TRUE)
		return 0;
	snprintf(f, sizeof(f), "(|(%s=*)(%s=*)(%s=*))", ji->ad_crl->ad_cname.bv_val, ji->ad_arl->ad_cname.bv_val,
		ji->ad_cacert->ad_cname.bv_val);
	rc = jpkirepo_root_search(op, on, &op->o_req_dn, &op->o_req_ndn, LDAP_SCOPE_SUBORDINATE, f, &cb);
	return found || (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT);
}

/* The backend's answer to the No-Op run of a delete or rename that would take a CRL, the ARL
 * or CA certificates away: "would have done it" becomes rule entry-kept; any other answer
 * (its ACLs, the assertion, the new DN…) goes out as the backend gave it. */
static int kept_answered(Operation *op, SlapReply *rs)
{
	static __thread char text[600];	/* slapd logs sr_text after the callbacks' cleanup */
	slap_overinst *on = op->o_callback->sc_private;
	jpki_verdict v;

	if (rs->sr_type != REP_RESULT || rs->sr_err != LDAP_X_NO_OPERATION)
		return SLAP_CB_CONTINUE;
	jpki_verdict_refuse(&v, JPKI_RULE_ENTRY_KEPT, "%s %s CRL, the ARL or CA certificates: it is %s "
		"(a CRL names its entry, and verifiers would lose its revocations); publish a new CRL instead",
		op->o_req_dn.bv_val, op->o_tag == LDAP_REQ_DELETE ? "holds a" : "holds, or has entries under it that hold, a",
		op->o_tag == LDAP_REQ_DELETE ? "not deleted" : "not renamed");
	record_refusal(op, on->on_bi.bi_private, "crl-publish", &v);
	snprintf(text, sizeof(text), "%s", v.text);
	rs->sr_err = LDAP_UNWILLING_TO_PERFORM;
	rs->sr_text = text;
	return SLAP_CB_CONTINUE;
}

static int kept_done(Operation *op, SlapReply *rs)
{
	if (rs->sr_type == REP_RESULT)
		jpkirepo_callback_pop(op, 0);
	return SLAP_CB_CONTINUE;
}

/* A CRL names its entry (rule (d)) and the responder answers "good" only while every
 * partition has its CRL: an entry holding a CRL, the ARL or CA certificates is therefore
 * neither deleted (its revocations would vanish) nor renamed, nor an entry above such ones
 * (a rename moves its subtree), by anyone, the rootdn included. The operation still goes to
 * the backend, as a No-Op (back-mdb runs every check and aborts its transaction): a caller it
 * refuses gets its own answer, the same as for an entry without them, and learns nothing;
 * one it would let through is told rule entry-kept (kept_answered). In an LDAP transaction
 * (RFC 5805), where back-mdb does not honour the No-Op, nothing at, under or above the CA
 * entry is deleted or renamed (by position: the answer tells nobody what an entry holds).
 * An entry that cannot be read counts as one that holds them. An entry that holds nothing is deleted or renamed under the lock a CRL
 * is published under, so that a first CRL written meanwhile does not go with it. Replication
 * applies what the provider allowed. */
static int refuse_entry_gone(Operation *op, SlapReply *rs, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	jpki_verdict v;
	Entry *e = NULL;
	int holds, lock, rc;

	if (be_shadow_update(op))
		return 0;
	if (op->o_txnSpec) {
		/* By position, not by what the entry holds: the answer tells nobody that. */
		if (!BER_BVISEMPTY(&ji->ca_ndn) && !dnIsSuffix(&op->o_req_ndn, &ji->ca_ndn) &&
		    !dnIsSuffix(&ji->ca_ndn, &op->o_req_ndn))
			return 0;
		jpki_verdict_refuse(&v, JPKI_RULE_NO_TRANSACTION, "%s: the CA entry, the entries under it and "
			"those above it are not %s in an LDAP transaction (RFC 5805): whether they may go is "
			"decided outside one", op->o_req_dn.bv_val, op->o_tag == LDAP_REQ_DELETE ? "deleted" : "renamed");
		record_refusal(op, ji, "crl-publish", &v);
		send_ldap_error(op, rs, LDAP_UNWILLING_TO_PERFORM, v.text);
		return -1;
	}
	/* Not for the registry and above it, nor a rename into it: its checks take the registry's
	 * lock first, and a write that touches both takes the two in that order (no CRL is
	 * published there). */
	lock = !jpkirepo_in_registry(ji, &op->o_req_ndn) && !jpkirepo_registry_base_or_above(ji, &op->o_req_ndn) &&
	       !(op->o_tag == LDAP_REQ_MODRDN && op->orr_nnewSup != NULL &&
		 (jpkirepo_in_registry(ji, op->orr_nnewSup) || jpkirepo_registry_base_or_above(ji, op->orr_nnewSup)));
	if (lock)
		ldap_pvt_thread_mutex_lock(&ji->write_lock);
	rc = overlay_entry_get_ov(op, &op->o_req_ndn, NULL, NULL, 0, &e, on);
	if (rc == LDAP_SUCCESS && e != NULL) {
		holds = ours_in_attrs(ji, e->e_attrs);
		if (!holds && op->o_tag == LDAP_REQ_MODRDN) {
			/* the subtree, searched without the lock: publishing does not wait for it */
			if (lock)
				ldap_pvt_thread_mutex_unlock(&ji->write_lock);
			holds = below_holds(op, on, e);
			if (lock)
				ldap_pvt_thread_mutex_lock(&ji->write_lock);
		}
		overlay_entry_release_ov(op, e, 0, on);
	} else {
		/* No such entry: the backend says so, under the lock (an add with a first CRL
		 * does not slip in before it). It could not be read: as if it held one. */
		holds = rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT;
	}
	if (!holds && lock) {
		jpkirepo_hold_until_answered(op, &ji->write_lock, NULL, NULL);
		return 0;
	}
	if (lock)
		ldap_pvt_thread_mutex_unlock(&ji->write_lock);
	if (!holds)
		return 0;
	jpkirepo_callback_push(op, kept_answered, kept_done, on);
	if (op->o_noop == SLAP_CONTROL_NONE)
		op->o_noop = SLAP_CONTROL_NONCRITICAL;
	return 0;
}

/* What an add or modify is, for the record of its refusal in a transaction; NULL: neither. */
static const char *txn_event(jpkirepo_info *ji, Operation *op, int ours)
{
	return ours ? "crl-publish" : jpkirepo_in_registry(ji, &op->o_req_ndn) ? "registry-change" : NULL;
}

int jpkirepo_op_delete(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;

	jpkirepo_hide_write_assertion(op, on);
	if (refuse_entry_gone(op, rs, on) < 0 || watch_registry(op, rs, on->on_bi.bi_private, NULL) < 0)
		return rs->sr_err;
	return SLAP_CB_CONTINUE;
}

int jpkirepo_op_modrdn(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;

	jpkirepo_hide_write_assertion(op, on);
	/* Moving an entry in or out of the registry changes who is a verifier. */
	if (refuse_entry_gone(op, rs, on) < 0 ||
	    refuse_txn(op, rs, ji, jpkirepo_in_registry(ji, &op->o_req_ndn) || jpkirepo_in_registry(ji, op->orr_nnewSup) ||
		    jpkirepo_registry_base_or_above(ji, &op->o_req_ndn) ? "registry-change" : NULL) < 0 ||
	    watch_registry(op, rs, ji, op->orr_nnewSup) < 0 ||
	    jpkirepo_registry_check_modrdn(op, rs, on) < 0)
		return rs->sr_err;
	return SLAP_CB_CONTINUE;
}

int jpkirepo_op_add(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;
	int rc, holding = 1, ours = ours_in_attrs(ji, op->ora_e->e_attrs);

	if (refuse_delta(op, rs, ji, NULL, op->ora_e->e_attrs) < 0 ||
	    refuse_txn(op, rs, ji, txn_event(ji, op, ours)) < 0 ||
	    watch_registry(op, rs, ji, NULL) < 0 || jpkirepo_registry_check_add(op, rs, on) < 0)
		return rs->sr_err;
	if (!ours)
		return SLAP_CB_CONTINUE;
	ldap_pvt_thread_mutex_lock(&ji->write_lock);
	rc = check_write(op, rs, NULL, NULL, op->ora_e->e_attrs, &holding);
	if (holding)
		ldap_pvt_thread_mutex_unlock(&ji->write_lock);
	return rc;
}

int jpkirepo_op_modify(Operation *op, SlapReply *rs)
{
	slap_overinst *on = (slap_overinst *)op->o_bd->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;
	Entry *e = NULL;
	int rc, holding = 1, ours = ours_in_mods(ji, op->orm_modlist);

	jpkirepo_hide_write_assertion(op, on);
	if (refuse_delta(op, rs, ji, op->orm_modlist, NULL) < 0 ||
	    refuse_txn(op, rs, ji, txn_event(ji, op, ours)) < 0 ||
	    watch_registry(op, rs, ji, NULL) < 0 || jpkirepo_registry_check_modify(op, rs, on) < 0)
		return rs->sr_err;
	if (!ours)
		return SLAP_CB_CONTINUE;
	ldap_pvt_thread_mutex_lock(&ji->write_lock);
	if (overlay_entry_get_ov(op, &op->o_req_ndn, NULL, NULL, 0, &e, on) != LDAP_SUCCESS || e == NULL) {
		ldap_pvt_thread_mutex_unlock(&ji->write_lock);
		return SLAP_CB_CONTINUE;	/* the backend answers noSuchObject */
	}
	rc = check_write(op, rs, e->e_attrs, op->orm_modlist, NULL, &holding);
	overlay_entry_release_ov(op, e, 0, on);
	if (holding)
		ldap_pvt_thread_mutex_unlock(&ji->write_lock);
	return rc;
}
