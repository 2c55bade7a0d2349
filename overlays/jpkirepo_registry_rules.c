/* A write to the verifier registry passes the rules of lib/registry_check before the backend
 * sees it, whoever makes it (`jpki verifier` or a plain ldapmodify): the entry as the write
 * would leave it is made from the stored entry and the modifications by slapd's own mods.c,
 * and no other entry under the registry base may hold one of its certificates or subjects —
 * the responder and the TLS mapping find a verifier by them. Replication is not checked: the
 * provider did. */
#include "jpkirepo.h"

#include "registry_check.h"

enum { A_STATUS, A_START, A_END, A_METHOD, A_CERT, A_SHA256, A_SUBJECT, A_COUNT };

static const char *const attr_names[A_COUNT] = {
	"jpkiVerifierStatus", "jpkiAgreementStart", "jpkiAgreementEnd", "jpkiAllowedMethod",
	"userCertificate", "jpkiCertificateSHA256", "jpkiCertificateSubject",
};

typedef struct schema {
	AttributeDescription *ad[A_COUNT];
	ObjectClass *oc;
} schema;

/* -1 without the jpki schema: then there is no registry to keep. */
static int schema_find(schema *s)
{
	const char *text;
	int i;

	for (i = 0; i < A_COUNT; i++) {
		s->ad[i] = NULL;
		if (slap_str2ad(attr_names[i], &s->ad[i], &text) != LDAP_SUCCESS)
			return -1;
	}
	s->oc = oc_find("jpkiVerifier");
	return s->oc != NULL ? 0 : -1;
}

/* The values of ad and of its subtypes (userCertificate;binary) as one array. */
static jpki_values values_of(Operation *op, Entry *e, AttributeDescription *ad)
{
	jpki_values out = { NULL, 0 };
	struct berval *v = NULL;
	Attribute *a;

	for (a = e->e_attrs; a != NULL; a = a->a_next) {
		if (a->a_numvals == 0 || !is_ad_subtype(a->a_desc, ad))
			continue;
		v = op->o_tmprealloc(v, (out.n + a->a_numvals) * sizeof(*v), op->o_tmpmemctx);
		memcpy(v + out.n, a->a_vals, a->a_numvals * sizeof(*v));
		out.n += a->a_numvals;
	}
	out.v = v;
	return out;
}

static void entry_values(Operation *op, const schema *s, Entry *e, jpki_registry_entry *r)
{
	jpki_values *slot[A_COUNT] = { &r->status, &r->start, &r->end, &r->methods, &r->certs,
		&r->sha256, &r->subjects };
	int i;

	for (i = 0; i < A_COUNT; i++)
		*slot[i] = values_of(op, e, s->ad[i]);
}

static void entry_values_free(Operation *op, jpki_registry_entry *r)
{
	const jpki_values *slot[A_COUNT] = { &r->status, &r->start, &r->end, &r->methods, &r->certs,
		&r->sha256, &r->subjects };
	int i;

	for (i = 0; i < A_COUNT; i++)
		op->o_tmpfree((void *)slot[i]->v, op->o_tmpmemctx);
}

typedef struct owner {
	struct berval *self;	/* the entry written: holding its own values is no conflict */
	char dn[512];
} owner;

static int owner_found(Operation *op, SlapReply *rs)
{
	owner *o = op->o_callback->sc_private;

	if (rs->sr_type == REP_SEARCH && o->dn[0] == '\0' && !dn_match(&rs->sr_entry->e_nname, o->self))
		snprintf(o->dn, sizeof(o->dn), "%s", rs->sr_entry->e_name.bv_val);
	return 0;
}

/* Appends "(attr=value)" with the value escaped for a filter. */
static void filter_add(Operation *op, struct berval *f, const char *attr, const struct berval *value)
{
	struct berval in = *value, esc;
	size_t len;

	if (ldap_bv2escaped_filter_value_x(&in, &esc, 0, op->o_tmpmemctx) != 0)
		return;
	len = f->bv_len + strlen(attr) + esc.bv_len + 4;
	f->bv_val = op->o_tmprealloc(f->bv_val, len, op->o_tmpmemctx);
	f->bv_len += snprintf(f->bv_val + f->bv_len, len - f->bv_len, "(%s=%s)", attr, esc.bv_val);
	op->o_tmpfree(esc.bv_val, op->o_tmpmemctx);
}

/* Searches the registry, as the database's rootdn (or the writer when it has none), for
 * another entry with one of r's certificate hashes or subjects. */
static int check_unique(Operation *op, slap_overinst *on, jpkirepo_info *ji,
	const jpki_registry_entry *r, struct berval *self, jpki_verdict *v)
{
	Operation nop = *op;
	SlapReply nrs = { REP_RESULT };
	owner o = { self, "" };
	slap_callback cb = { .sc_response = owner_found, .sc_private = &o };
	struct berval f = BER_BVNULL;
	size_t i;

	if (r->sha256.n + r->subjects.n == 0)
		return 0;
	f.bv_val = op->o_tmpalloc(4, op->o_tmpmemctx);
	f.bv_len = snprintf(f.bv_val, 4, "(|");
	for (i = 0; i < r->sha256.n; i++)
		filter_add(op, &f, "jpkiCertificateSHA256", &r->sha256.v[i]);
	for (i = 0; i < r->subjects.n; i++)
		filter_add(op, &f, "jpkiCertificateSubject", &r->subjects.v[i]);
	f.bv_val = op->o_tmprealloc(f.bv_val, f.bv_len + 2, op->o_tmpmemctx);
	f.bv_val[f.bv_len++] = ')';
	f.bv_val[f.bv_len] = '\0';

	nop.o_tag = LDAP_REQ_SEARCH;
	nop.o_callback = &cb;
	nop.o_req_dn = ji->verifier_base;
	nop.o_req_ndn = ji->verifier_nbase;
	nop.ors_scope = LDAP_SCOPE_SUBTREE;
	nop.ors_deref = LDAP_DEREF_NEVER;
	nop.ors_limit = NULL;
	nop.ors_slimit = SLAP_NO_LIMIT;
	nop.ors_tlimit = SLAP_NO_LIMIT;
	nop.ors_attrs = slap_anlist_no_attrs;
	nop.ors_attrsonly = 1;
	nop.ors_filterstr = f;
	nop.ors_filter = str2filter_x(&nop, f.bv_val);
	if (!BER_BVISEMPTY(&op->o_bd->be_rootndn)) {
		nop.o_dn = op->o_bd->be_rootdn;
		nop.o_ndn = op->o_bd->be_rootndn;
	}
	nop.o_bd = on->on_info->oi_origdb;
	if (nop.ors_filter == NULL) {
		op->o_tmpfree(f.bv_val, op->o_tmpmemctx);
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_UNIQUE, "the registry cannot be searched");
	}
	nop.o_bd->be_search(&nop, &nrs);
	filter_free_x(&nop, nop.ors_filter, 1);
	op->o_tmpfree(f.bv_val, op->o_tmpmemctx);
	if (nrs.sr_err != LDAP_SUCCESS && nrs.sr_err != LDAP_NO_SUCH_OBJECT)
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_UNIQUE, "the registry cannot be searched: %s",
			ldap_err2string(nrs.sr_err));
	if (o.dn[0] != '\0')
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_UNIQUE,
			"a certificate or subject of this entry is already registered to %s: one "
			"certificate maps to one verifier", o.dn);
	return 0;
}

/* before: as stored (NULL for an entry new to the registry); after: as the write leaves it. */
static int check_entry(Operation *op, SlapReply *rs, slap_overinst *on, const schema *s,
	Entry *before, Entry *after, struct berval *self)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	jpki_registry_entry b, a;
	jpki_verdict v;
	int rc = 0;

	if (!is_entry_objectclass(after, s->oc, 0))
		return 0;
	if (before != NULL && !is_entry_objectclass(before, s->oc, 0))
		before = NULL;
	memset(&b, 0, sizeof(b));
	if (before != NULL)
		entry_values(op, s, before, &b);
	entry_values(op, s, after, &a);
	if (jpki_registry_check(before != NULL ? &b : NULL, &a, &v) < 0 ||
	    check_unique(op, on, ji, &a, self, &v) < 0) {
		Debug(LDAP_DEBUG_STATS, "jpkirepo: conn=%lu op=%lu refused registry write to \"%s\" by \"%s\": %s\n",
			op->o_connid, op->o_opid, op->o_req_dn.bv_val, op->o_dn.bv_val, v.text);
		send_ldap_error(op, rs, LDAP_CONSTRAINT_VIOLATION, v.text);
		rc = -1;
	}
	entry_values_free(op, &b);
	entry_values_free(op, &a);
	return rc;
}

static int in_registry(const jpkirepo_info *ji, struct berval *ndn)
{
	return !BER_BVISEMPTY(&ji->verifier_nbase) && dnIsSuffix(ndn, &ji->verifier_nbase);
}

static int touches_registry(const schema *s, Modifications *mods)
{
	int i;

	for (; mods != NULL; mods = mods->sml_next) {
		if (mods->sml_desc == slap_schema.si_ad_objectClass)
			return 1;
		for (i = 0; i < A_COUNT; i++)
			if (is_ad_subtype(mods->sml_desc, s->ad[i]))
				return 1;
	}
	return 0;
}

/* The stored entry with the modifications applied as the backend will apply them; NULL when
 * they do not apply (the backend then refuses the operation itself). */
static Entry *modified(Entry *stored, Modifications *mods)
{
	Entry *e = entry_dup(stored);
	const char *text;
	char buf[SLAP_TEXT_BUFLEN];
	int rc = LDAP_SUCCESS;

	for (; mods != NULL && rc == LDAP_SUCCESS; mods = mods->sml_next) {
		Modification *m = &mods->sml_mod;

		switch (m->sm_op) {
		case LDAP_MOD_ADD:
		case SLAP_MOD_SOFTADD:
		case SLAP_MOD_ADD_IF_NOT_PRESENT:
			rc = modify_add_values(e, m, m->sm_op != LDAP_MOD_ADD, &text, buf, sizeof(buf));
			break;
		case LDAP_MOD_DELETE:
		case SLAP_MOD_SOFTDEL:
			rc = modify_delete_values(e, m, m->sm_op == SLAP_MOD_SOFTDEL, &text, buf, sizeof(buf));
			break;
		case LDAP_MOD_REPLACE:
			rc = modify_replace_values(e, m, 0, &text, buf, sizeof(buf));
			break;
		case LDAP_MOD_INCREMENT:
			rc = modify_increment_values(e, m, 0, &text, buf, sizeof(buf));
			break;
		default:
			rc = LDAP_OTHER;
		}
	}
	if (rc != LDAP_SUCCESS) {
		entry_free(e);
		return NULL;
	}
	return e;
}

int jpkirepo_registry_check_add(Operation *op, SlapReply *rs, slap_overinst *on)
{
	schema s;

	if (be_shadow_update(op) || !in_registry(on->on_bi.bi_private, &op->o_req_ndn) ||
	    schema_find(&s) < 0)
		return 0;
	return check_entry(op, rs, on, &s, NULL, op->ora_e, &op->o_req_ndn);
}

int jpkirepo_registry_check_modify(Operation *op, SlapReply *rs, slap_overinst *on)
{
	Entry *stored = NULL, *after;
	schema s;
	int rc = 0;

	if (be_shadow_update(op) || !in_registry(on->on_bi.bi_private, &op->o_req_ndn) ||
	    schema_find(&s) < 0 || !touches_registry(&s, op->orm_modlist))
		return 0;
	if (overlay_entry_get_ov(op, &op->o_req_ndn, NULL, NULL, 0, &stored, on) != LDAP_SUCCESS ||
	    stored == NULL)
		return 0;	/* the backend answers noSuchObject */
	if ((after = modified(stored, op->orm_modlist)) != NULL) {
		rc = check_entry(op, rs, on, &s, stored, after, &op->o_req_ndn);
		entry_free(after);
	}
	overlay_entry_release_ov(op, stored, 0, on);
	return rc;
}

/* An entry moved into the registry from elsewhere is checked as if it were added. */
int jpkirepo_registry_check_modrdn(Operation *op, SlapReply *rs, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	Entry *stored = NULL;
	schema s;
	int rc = 0;

	if (be_shadow_update(op) || op->orr_nnewSup == NULL || !in_registry(ji, op->orr_nnewSup) ||
	    in_registry(ji, &op->o_req_ndn) || schema_find(&s) < 0)
		return 0;
	if (overlay_entry_get_ov(op, &op->o_req_ndn, NULL, NULL, 0, &stored, on) != LDAP_SUCCESS ||
	    stored == NULL)
		return 0;
	rc = check_entry(op, rs, on, &s, NULL, stored, &op->o_req_ndn);
	overlay_entry_release_ov(op, stored, 0, on);
	return rc;
}
