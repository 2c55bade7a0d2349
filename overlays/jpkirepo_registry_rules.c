/* A write to the verifier registry passes the rules of lib/registry_check before the backend
 * sees it, whoever makes it (`jpki verifier` or a plain ldapmodify): the entry as the write
 * would leave it is made from the stored entry and the modifications by slapd's own mods.c,
 * as back-mdb applies them (permissive modify included), and no other entry under the
 * registry base may hold one of its certificates or subjects — the responder and the TLS
 * mapping find a verifier by them. A rename or a move into the registry is checked like a
 * modify or an add. Check and write happen under one lock. Replication is not checked: the
 * provider did. */
#include "jpkirepo.h"

#include "registry_check.h"

enum { A_STATUS, A_START, A_END, A_METHOD, A_CERT, A_SHA256, A_SUBJECT, A_COUNT };

static const char *const attr_names[A_COUNT] = {
	"jpkiVerifierStatus", "jpkiAgreementStart", "jpkiAgreementEnd", "jpkiAllowedMethod",
	"userCertificate", "jpkiCertificateSHA256", "jpkiCertificateSubject",
};

typedef struct jpkirepo_registry_schema {
	AttributeDescription *ad[A_COUNT];
	ObjectClass *oc;
} schema;

/* What a check refuses with: sent once the registry lock is released, so that a client that
 * does not read its answer cannot hold the lock. */
typedef struct refusal {
	int rc;
	char text[480];
} refusal;

static int refusal_set(refusal *rf, int rc, const char *text)
{
	rf->rc = rc;
	snprintf(rf->text, sizeof(rf->text), "%s", text);
	return -1;
}

jpkirepo_registry_schema *jpkirepo_registry_schema_find(void)
{
	schema *s = ch_calloc(1, sizeof(*s));
	const char *text;
	int i;

	for (i = 0; i < A_COUNT; i++)
		if (slap_str2ad(attr_names[i], &s->ad[i], &text) != LDAP_SUCCESS)
			break;
	s->oc = oc_find("jpkiVerifier");
	if (i == A_COUNT && s->oc != NULL)
		return s;
	ch_free(s);
	return NULL;
}

int jpkirepo_in_registry(const jpkirepo_info *ji, const struct berval *ndn)
{
	return ndn != NULL && !BER_BVISEMPTY(&ji->verifier_nbase) && dnIsSuffix(ndn, &ji->verifier_nbase);
}

int jpkirepo_registry_base_or_above(const jpkirepo_info *ji, const struct berval *ndn)
{
	return !BER_BVISEMPTY(&ji->verifier_nbase) && dnIsSuffix(&ji->verifier_nbase, ndn);
}

/* A description the registry does not use: a tagged or derived one (jpkiVerifierStatus;
 * lang-ja), which the overlay's and the responder's readers, asking for the exact name, would
 * never see. userCertificate;binary is the certificate's own. */
static int odd_description(const schema *s, int i, AttributeDescription *d)
{
	if (d == s->ad[i] || !is_ad_subtype(d, s->ad[i]))
		return 0;
	return !(i == A_CERT && d->ad_type == s->ad[i]->ad_type && BER_BVISEMPTY(&d->ad_tags));
}

/* The values of ad (for certificates, with ;binary) as one array. */
static jpki_values values_of(Operation *op, const schema *s, Entry *e, int i)
{
	jpki_values out = { NULL, 0 };
	struct berval *v = NULL;
	Attribute *a;

	for (a = e->e_attrs; a != NULL; a = a->a_next) {
		if (a->a_numvals == 0 || !is_ad_subtype(a->a_desc, s->ad[i]) || odd_description(s, i, a->a_desc))
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
		*slot[i] = values_of(op, s, e, i);
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

/* Searches the registry (as the database's rootdn, jpkirepo_root_search) for another entry
 * with one of r's certificate hashes or subjects. */
static int check_unique(Operation *op, slap_overinst *on, jpkirepo_info *ji,
	const jpki_registry_entry *r, struct berval *self, jpki_verdict *v)
{
	owner o = { self, "" };
	slap_callback cb = { .sc_response = owner_found, .sc_private = &o };
	struct berval f = BER_BVNULL;
	size_t i;
	int rc;

	if (r->sha256.n + r->subjects.n == 0)
		return 0;
	/* Not as the writer: ACLs that hide a value from it would hide a conflict too. */
	if (BER_BVISEMPTY(&op->o_bd->be_rootndn))
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_UNIQUE, "the registry cannot be searched: "
			"the database has no rootdn to search it as");
	f.bv_val = op->o_tmpalloc(4, op->o_tmpmemctx);
	f.bv_len = snprintf(f.bv_val, 4, "(|");
	for (i = 0; i < r->sha256.n; i++)
		filter_add(op, &f, "jpkiCertificateSHA256", &r->sha256.v[i]);
	for (i = 0; i < r->subjects.n; i++)
		filter_add(op, &f, "jpkiCertificateSubject", &r->subjects.v[i]);
	f.bv_val = op->o_tmprealloc(f.bv_val, f.bv_len + 2, op->o_tmpmemctx);
	f.bv_val[f.bv_len++] = ')';
	f.bv_val[f.bv_len] = '\0';

	rc = jpkirepo_root_search(op, on, &ji->verifier_base, &ji->verifier_nbase, LDAP_SCOPE_SUBTREE, f.bv_val, &cb);
	op->o_tmpfree(f.bv_val, op->o_tmpmemctx);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_UNIQUE, "the registry cannot be searched: %s",
			ldap_err2string(rc));
	if (o.dn[0] != '\0')
		return jpki_verdict_refuse(v, JPKI_RULE_REGISTRY_UNIQUE,
			"a certificate or subject of this entry is already registered to %s: one "
			"certificate maps to one verifier", o.dn);
	return 0;
}

/* The first attribute of e with a description the registry does not use, or NULL. */
static AttributeDescription *odd_attribute(const schema *s, Entry *e)
{
	Attribute *a;
	int i;

	for (a = e->e_attrs; a != NULL; a = a->a_next)
		for (i = 0; i < A_COUNT; i++)
			if (odd_description(s, i, a->a_desc))
				return a->a_desc;
	return NULL;
}

/* stored: the entry as it is (NULL for one new to the registry); after: as the write leaves
 * it. An entry does not become or stop being a verifier in place (objectClass changed, with
 * the Relax control if need be): that would start its agreement afresh, or end it unrecorded. */
static int check_entry(Operation *op, slap_overinst *on, const schema *s, Entry *stored,
	Entry *after, struct berval *self, refusal *rf)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	int was = stored != NULL && is_entry_objectclass(stored, s->oc, 0);
	int is = is_entry_objectclass(after, s->oc, 0);
	Entry *before = was ? stored : NULL;
	jpki_registry_entry b, a;
	AttributeDescription *odd;
	jpki_verdict v;
	int rc = 0;

	memset(&b, 0, sizeof(b));
	memset(&a, 0, sizeof(a));
	if (stored != NULL && was != is) {
		jpki_verdict_refuse(&v, JPKI_RULE_REGISTRY_VALUES, "an entry does not %s a jpkiVerifier in "
			"place: %s the verifier's entry instead", was ? "stop being" : "become",
			was ? "delete" : "add");
		goto refused;
	}
	if (!is)
		return 0;
	if ((odd = odd_attribute(s, after)) != NULL) {
		jpki_verdict_refuse(&v, JPKI_RULE_REGISTRY_VALUES, "%s: the registry's attributes take no "
			"options (the verifier's access is read from %s alone)", odd->ad_cname.bv_val,
			odd->ad_type->sat_cname.bv_val);
		goto refused;
	}
	if (before != NULL)
		entry_values(op, s, before, &b);
	entry_values(op, s, after, &a);
	if (jpki_registry_check(before != NULL ? &b : NULL, &a, &v) < 0 ||
	    check_unique(op, on, ji, &a, self, &v) < 0) {
refused:
		Debug(LDAP_DEBUG_STATS, "jpkirepo: conn=%lu op=%lu refused registry write to \"%s\" by \"%s\": %s\n",
			op->o_connid, op->o_opid, op->o_req_dn.bv_val, op->o_dn.bv_val, v.text);
		rc = refusal_set(rf, LDAP_CONSTRAINT_VIOLATION, v.text);
	}
	entry_values_free(op, &b);
	entry_values_free(op, &a);
	return rc;
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

/* The stored entry with the modifications applied as back-mdb applies them (its
 * mdb_modify_internal: permissive modify, soft add and delete, add-if-not-present); NULL with
 * the result code and text the backend would answer when they do not apply. */
static Entry *modified(Operation *op, Entry *stored, Modifications *mods, int *rc, const char **text,
	char *buf, size_t len)
{
	Entry *e = entry_dup(stored);
	int permissive = get_permissiveModify(op);

	*rc = LDAP_SUCCESS;
	for (; mods != NULL && *rc == LDAP_SUCCESS; mods = mods->sml_next) {
		Modification m = mods->sml_mod;	/* a copy: sm_op is changed below */

		switch (m.sm_op) {
		case LDAP_MOD_ADD:
			*rc = modify_add_values(e, &m, permissive, text, buf, len);
			break;
		case SLAP_MOD_SOFTADD:
			m.sm_op = LDAP_MOD_ADD;
			*rc = modify_add_values(e, &m, permissive, text, buf, len);
			if (*rc == LDAP_TYPE_OR_VALUE_EXISTS)
				*rc = LDAP_SUCCESS;
			break;
		case SLAP_MOD_ADD_IF_NOT_PRESENT:
			if (attr_find(e->e_attrs, m.sm_desc) != NULL)
				break;
			m.sm_op = LDAP_MOD_ADD;
			*rc = modify_add_values(e, &m, permissive, text, buf, len);
			break;
		case LDAP_MOD_DELETE:
			*rc = modify_delete_values(e, &m, permissive, text, buf, len);
			break;
		case SLAP_MOD_SOFTDEL:
			m.sm_op = LDAP_MOD_DELETE;
			*rc = modify_delete_values(e, &m, permissive, text, buf, len);
			if (*rc == LDAP_NO_SUCH_ATTRIBUTE)
				*rc = LDAP_SUCCESS;
			break;
		case LDAP_MOD_REPLACE:
			*rc = modify_replace_values(e, &m, permissive, text, buf, len);
			break;
		case LDAP_MOD_INCREMENT:
			*rc = modify_increment_values(e, &m, permissive, text, buf, len);
			break;
		default:
			*rc = LDAP_PROTOCOL_ERROR;
			*text = "unknown modify type";
		}
	}
	if (*rc != LDAP_SUCCESS) {
		entry_free(e);
		return NULL;
	}
	return e;
}

/* --- check and write under one lock ------------------------------------------------------ */

/* The entry the write changes, read once for the access check and the rules: 1 found, 0
 * absent (the backend answers), -1 refused. */
static int stored_entry(Operation *op, slap_overinst *on, Entry **e, refusal *rf)
{
	int rc = overlay_entry_get_ov(op, &op->o_req_ndn, NULL, NULL, 0, e, on);
	jpki_verdict v;

	if (rc == LDAP_SUCCESS && *e != NULL)
		return 1;
	*e = NULL;
	if (rc == LDAP_NO_SUCH_OBJECT)
		return 0;
	jpki_verdict_refuse(&v, JPKI_RULE_REGISTRY_VALUES, "the stored entry cannot be read to check the write");
	return refusal_set(rf, LDAP_OTHER, v.text);
}

/* Would the backend let this identity make the write at all? The checks below read the
 * registry as the rootdn and name what they find: an identity without the right to write
 * learns nothing from them (the backend refuses it). stored: NULL for an add, or an entry
 * not found (the backend answers for it). */
static int may_write(Operation *op, Entry *stored)
{
	if (op->o_tag == LDAP_REQ_ADD)
		return access_allowed(op, op->ora_e, slap_schema.si_ad_entry, NULL, ACL_WADD, NULL);
	if (stored == NULL)
		return 1;
	return op->o_tag == LDAP_REQ_MODIFY ? acl_check_modlist(op, stored, op->orm_modlist) :
		access_allowed(op, stored, slap_schema.si_ad_entry, NULL, ACL_WDEL, NULL);
}

typedef int registry_check(Operation *op, slap_overinst *on, const schema *s, Entry *stored, refusal *rf);

/* Runs check under the registry lock, on the stored entry read once; the lock stays held
 * until the backend answers when it passes, and is released before a refusal is sent. */
static int locked(Operation *op, SlapReply *rs, slap_overinst *on, registry_check *check)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	refusal rf = { LDAP_SUCCESS, "" };
	Entry *stored = NULL;
	int rc = 0;

	if (be_shadow_update(op) || ji->registry_schema == NULL)
		return 0;
	ldap_pvt_thread_mutex_lock(&ji->registry_lock);
	if (op->o_tag != LDAP_REQ_ADD && stored_entry(op, on, &stored, &rf) < 0)
		rc = -1;
	else if (!may_write(op, stored))
		rc = 1;	/* the backend refuses it */
	else if (stored != NULL || op->o_tag == LDAP_REQ_ADD)
		rc = check(op, on, ji->registry_schema, stored, &rf);
	if (stored != NULL)
		overlay_entry_release_ov(op, stored, 0, on);
	if (rc != 0) {
		ldap_pvt_thread_mutex_unlock(&ji->registry_lock);
		if (rc < 0)
			send_ldap_error(op, rs, rf.rc, rf.text);
		return rc < 0 ? -1 : 0;
	}
	/* Two writes must not both pass registry-unique (one certificate added to two entries)
	 * or registry-terminated (a terminate and a resume) against the same stored state. */
	jpkirepo_hold_until_answered(op, &ji->registry_lock, NULL, NULL);
	return 0;
}

static int check_add(Operation *op, slap_overinst *on, const schema *s, Entry *stored, refusal *rf)
{
	(void)stored;
	return check_entry(op, on, s, NULL, op->ora_e, &op->o_req_ndn, rf);
}

static int check_modify(Operation *op, slap_overinst *on, const schema *s, Entry *stored, refusal *rf)
{
	const char *text = NULL;
	char buf[SLAP_TEXT_BUFLEN];
	Entry *after = modified(op, stored, op->orm_modlist, &rf->rc, &text, buf, sizeof(buf));
	int rc;

	if (after == NULL)	/* refused as the backend would refuse it, not let through */
		return refusal_set(rf, rf->rc, text != NULL ? text : ldap_err2string(rf->rc));
	rc = check_entry(op, on, s, stored, after, &op->o_req_ndn, rf);
	entry_free(after);
	return rc;
}

/* A rename changes values (the new RDN's are added, the old one's may go): the entry as it
 * would be is checked, as a modify within the registry and as an add when it moves in. An
 * entry with entries under it does not move in: they would enter unchecked. */
static int check_modrdn(Operation *op, slap_overinst *on, const schema *s, Entry *stored, refusal *rf)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	int inside = jpkirepo_in_registry(ji, &op->o_req_ndn), subs = LDAP_COMPARE_FALSE, rc;
	BackendInfo *bi = on->on_info->oi_orig;
	const char *text = NULL;
	char buf[SLAP_TEXT_BUFLEN];
	jpki_verdict v;
	Entry *after;

	if (!inside && bi->bi_has_subordinates != NULL &&
	    (bi->bi_has_subordinates(op, stored, &subs) != LDAP_SUCCESS || subs == LDAP_COMPARE_TRUE)) {
		jpki_verdict_refuse(&v, JPKI_RULE_REGISTRY_VALUES, "%s has entries under it: they would "
			"enter the registry unchecked; move them one by one", op->o_req_dn.bv_val);
		return refusal_set(rf, LDAP_CONSTRAINT_VIOLATION, v.text);
	}
	if ((after = modified(op, stored, op->orr_modlist, &rf->rc, &text, buf, sizeof(buf))) == NULL)
		return refusal_set(rf, rf->rc, text != NULL ? text : ldap_err2string(rf->rc));
	rc = check_entry(op, on, s, inside ? stored : NULL, after, &op->o_req_ndn, rf);
	entry_free(after);
	return rc;
}

int jpkirepo_registry_check_add(Operation *op, SlapReply *rs, slap_overinst *on)
{
	if (!jpkirepo_in_registry(on->on_bi.bi_private, &op->o_req_ndn))
		return 0;
	return locked(op, rs, on, check_add);
}

int jpkirepo_registry_check_modify(Operation *op, SlapReply *rs, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (!jpkirepo_in_registry(ji, &op->o_req_ndn) || ji->registry_schema == NULL ||
	    !touches_registry(ji->registry_schema, op->orm_modlist))
		return 0;
	return locked(op, rs, on, check_modify);
}

int jpkirepo_registry_check_modrdn(Operation *op, SlapReply *rs, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;
	struct berval parent;
	jpki_verdict v;

	if (BER_BVISEMPTY(&ji->verifier_nbase) || be_shadow_update(op))
		return 0;
	/* The base or an entry above it renamed: the whole registry would move unchecked (and
	 * back again, its entries changed meanwhile under another name). */
	if (jpkirepo_registry_base_or_above(ji, &op->o_req_ndn)) {
		jpki_verdict_refuse(&v, JPKI_RULE_REGISTRY_VALUES, "%s is the registry's base or above it: "
			"not renamed (jpkirepo-verifier-base names it)", op->o_req_dn.bv_val);
		send_ldap_error(op, rs, LDAP_CONSTRAINT_VIOLATION, v.text);
		return -1;
	}
	if (op->orr_nnewSup != NULL)
		parent = *op->orr_nnewSup;
	else
		dnParent(&op->o_req_ndn, &parent);
	if (!jpkirepo_in_registry(ji, &parent))
		return 0;	/* out of the registry: as a delete */
	return locked(op, rs, on, check_modrdn);
}
