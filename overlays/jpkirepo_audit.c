/* The audit trail of the repository (CPS 4-11-2): every read of a user CRL, every
 * publication attempt and every change to the verifier registry, recorded through lib/audit
 * (hash-chained, on disk before the answer it describes). A read is an entry a search sends
 * with CRL values or (attrsonly) the attribute's name, an entry holding a CRL that a
 * search's filter on the attribute selected, such a search that selected none, and a
 * compare on the attribute. When a record cannot be written and the policy is fail-closed
 * (the default), the read is refused: the CRL values or name are not sent (nor an entry a
 * filter on them selected) and the search or compare ends with unwillingToPerform naming
 * the reason. */
#include "jpkirepo.h"

#include <jansson.h>

#include "audit.h"

/* Who and from where, as the record wants them. */
static void origin(Operation *op, jpki_audit_record *r, char *client, size_t clen)
{
	const char *peer = op->o_conn != NULL ? op->o_conn->c_peer_name.bv_val : NULL;

	/* slapd names peers "IP=127.0.0.1:4711". */
	if (peer != NULL && strncmp(peer, "IP=", 3) == 0)
		peer += 3;
	snprintf(client, clen, "%s", peer != NULL ? peer : "");
	r->identity = op->o_ndn.bv_val != NULL ? op->o_ndn.bv_val : "";
	if (BER_BVISEMPTY(&op->o_ndn))
		r->auth = "none";
	else if (op->o_conn != NULL && !BER_BVISEMPTY(&op->o_conn->c_authmech))
		r->auth = strcasecmp(op->o_conn->c_authmech.bv_val, "EXTERNAL") == 0 ? "sasl-external" : "sasl";
	else
		r->auth = "simple";
	r->client = client;
	r->conn = op->o_connid;
	r->op = op->o_opid;
}

/* An object's text for the record's details, built by jansson (it does the escaping);
 * NULL when out of memory. Free with free(). */
static char *details_text(json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(obj);
	return text;
}

int jpkirepo_audit(Operation *op, jpkirepo_info *ji, const char *event, const char *result,
	const char *details, char *why, size_t whylen)
{
	jpki_audit_record r = { 0 };
	char client[128];
	jpki_err err;

	if (ji->audit == NULL)
		return 0;
	r.event = event;
	r.result = result;
	r.method = strcmp(event, "crl-read") == 0 ? "ldap" : NULL;
	r.details = details;
	r.details_made = true;	/* every details text here comes from json_dumps or a fixed form */
	origin(op, &r, client, sizeof(client));
	if (jpki_audit_append(ji->audit, &r, &err) == 0)
		return 0;
	Debug(LDAP_DEBUG_ANY, "jpkirepo: conn=%lu op=%lu audit record not written: %s\n", op->o_connid,
		op->o_opid, err.text);
	snprintf(why, whylen, "jpkirepo: rule audit fail-closed (CPS 4-11-2): the audit record could not be "
		"written (%.160s)", err.text);
	return ji->audit_policy == JPKI_AUDIT_FAIL_OPEN ? 0 : -1;
}

/* --- reads ---------------------------------------------------------------------------------- */

typedef struct read_watch {
	jpkirepo_info *ji;
	int tests;		/* JPKIREPO_TESTS_*: the answer depends on the CRL */
	int op_compare;		/* a compare, not a search */
	int recorded;		/* a record of the operation's reads is on disk */
	int failed;
	char why[300];
} read_watch;

/* The refusal's text outlives the callback (freed at cleanup): slapd logs it after. */
static __thread char refused[sizeof(((read_watch *)0)->why)];

/* An answer that its record could not be written for: unwillingToPerform, with the reason. */
static void refuse_answer(SlapReply *rs, const read_watch *w)
{
	memcpy(refused, w->why, sizeof(refused));
	rs->sr_err = LDAP_UNWILLING_TO_PERFORM;
	rs->sr_text = refused;
}

/* Whether the result answers the question the operation asked: the verifier learnt
 * something about the CRL (an assertion on it that fails is an answer too). */
static int answered(const SlapReply *rs, const read_watch *w)
{
	if (rs->sr_err == LDAP_ASSERTION_FAILED)
		return (w->tests & JPKIREPO_TESTS_ASSERTION) != 0;
	if (w->op_compare)
		return rs->sr_err == LDAP_COMPARE_TRUE || rs->sr_err == LDAP_COMPARE_FALSE;
	return rs->sr_err == LDAP_SUCCESS;
}

static const char *answer_name(int rc)
{
	return rc == LDAP_COMPARE_TRUE ? "compareTrue" : rc == LDAP_COMPARE_FALSE ? "compareFalse" :
	       rc == LDAP_ASSERTION_FAILED ? "assertionFailed" : "";
}

/* "ok", or the operation's error as the other records name one. */
static void result_text(const SlapReply *rs, int ok, char *out, size_t len)
{
	if (ok)
		snprintf(out, len, "ok");
	else
		snprintf(out, len, "error: %s%s%s", ldap_err2string(rs->sr_err), rs->sr_text != NULL ? ": " : "",
			rs->sr_text != NULL ? rs->sr_text : "");
}

/* Whether the entry leaves with the CRL attribute: slapd sends an attribute when all user
 * attributes are asked for ("*", none named) or the list names it (its type, a supertype, or
 * an object class "@oc" that allows it) — send_search_entry's own test; with its values, or
 * under attrsonly its name alone, which says just as well that the entry holds a CRL. */
static int crl_sent(SlapReply *rs, jpkirepo_info *ji)
{
	Attribute *a;

	for (a = attrs_find(rs->sr_entry->e_attrs, ji->ad_crl); a != NULL; a = attrs_find(a->a_next, ji->ad_crl))
		if (rs->sr_attrs == NULL || SLAP_USERATTRS(rs->sr_attr_flags) || ad_inlist(a->a_desc, rs->sr_attrs))
			return 1;
	return 0;
}

static const char *scope_name(int scope)
{
	switch (scope) {
	case LDAP_SCOPE_BASE: return "base";
	case LDAP_SCOPE_ONELEVEL: return "one";
	case LDAP_SCOPE_SUBTREE: return "sub";
	case LDAP_SCOPE_SUBORDINATE: return "children";
	default: return "";
	}
}

/* A search's record: the entry read (dn; NULL: none, the search's own record at its end).
 * A search that tests the CRL, or whose entry left with the CRL's name alone (attrsonly),
 * also names itself, its base and scope, and whether the entry's values left (or, at its
 * end, an assertion on the CRL that failed). */
static char *search_details(Operation *op, const read_watch *w, const char *dn, int values,
	const SlapReply *rs)
{
	const char *base = op->o_req_dn.bv_val != NULL ? op->o_req_dn.bv_val : "";
	const char *scope = scope_name(op->ors_scope);

	if (w->tests == 0 && values)
		return details_text(json_pack("{s:[s]}", "entries", dn));
	if (dn != NULL)
		return details_text(json_pack("{s:[s], s:s, s:s, s:s, s:b}", "entries", dn, "operation", "search",
			"base", base, "scope", scope, "values", values));
	if (rs->sr_err == LDAP_ASSERTION_FAILED)
		return details_text(json_pack("{s:[], s:s, s:s, s:s, s:s}", "entries", "operation", "search",
			"base", base, "scope", scope, "answer", answer_name(rs->sr_err)));
	return details_text(json_pack("{s:[], s:s, s:s, s:s}", "entries", "operation", "search", "base", base,
		"scope", scope));
}

static int read_response(Operation *op, SlapReply *rs)
{
	read_watch *w = op->o_callback->sc_private;
	jpkirepo_info *ji = w->ji;
	char *details, result[480];
	int sent, rc;

	if (rs->sr_type == REP_SEARCH && rs->sr_entry != NULL) {
		sent = crl_sent(rs, ji);
		/* An entry that a filter on the CRL selected tells about the CRL it holds. */
		if (!sent && !(w->tests != 0 && attrs_find(rs->sr_entry->e_attrs, ji->ad_crl) != NULL))
			return SLAP_CB_CONTINUE;
		if (!w->failed) {
			details = search_details(op, w, rs->sr_entry->e_name.bv_val, sent && !op->ors_attrsonly, rs);
			rc = jpkirepo_audit(op, ji, "crl-read", "ok", details, w->why, sizeof(w->why));
			free(details);
			if (rc == 0) {
				w->recorded = 1;
				return SLAP_CB_CONTINUE;
			}
			w->failed = 1;
		}
		/* Unrecorded, no CRL value (nor its name) leaves; nor, when a filter on the CRL
		 * selected it, the entry: send_search_entry sends nothing when a callback answers. */
		if (w->tests != 0)
			return LDAP_SUCCESS;
		jpkirepo_strip_crl(op, rs, ji->on);
	} else if (rs->sr_type == REP_RESULT) {
		/* A search that tests the CRL and sent no entry holding one still told the verifier
		 * something (that no partition there holds a CRL, or not the one tested): its own
		 * record. */
		if (w->tests != 0 && !w->recorded && !w->failed) {
			result_text(rs, answered(rs, w), result, sizeof(result));
			details = search_details(op, w, NULL, 0, rs);
			if (jpkirepo_audit(op, ji, "crl-read", result, details, w->why, sizeof(w->why)) < 0)
				w->failed = 1;
			free(details);
		}
		if (w->failed)
			refuse_answer(rs, w);
	}
	return SLAP_CB_CONTINUE;
}

/* A compare on the CRL, or under an assertion that tests it: recorded before its answer is
 * sent. compareTrue, compareFalse (and assertionFailed for such an assertion) told about the
 * partition's CRL: "ok", with the answer; anything else is recorded as the error it is. */
static int compare_response(Operation *op, SlapReply *rs)
{
	read_watch *w = op->o_callback->sc_private;
	const char *dn = op->o_req_dn.bv_val != NULL ? op->o_req_dn.bv_val : "";
	char *details, result[480];
	int ok;

	if (rs->sr_type != REP_RESULT)
		return SLAP_CB_CONTINUE;
	ok = answered(rs, w);
	result_text(rs, ok, result, sizeof(result));
	if (ok)
		details = details_text(json_pack("{s:[s], s:s, s:s}", "entries", dn, "operation", "compare",
			"answer", answer_name(rs->sr_err)));
	else
		details = details_text(json_pack("{s:[], s:s, s:s}", "entries", "operation", "compare", "entry", dn));
	if (jpkirepo_audit(op, w->ji, "crl-read", result, details, w->why, sizeof(w->why)) < 0)
		refuse_answer(rs, w);	/* the answer does not leave unrecorded */
	free(details);
	return SLAP_CB_CONTINUE;
}

static int read_cleanup(Operation *op, SlapReply *rs)
{
	if (rs->sr_type == REP_RESULT)
		jpkirepo_callback_pop(op, 1);
	return SLAP_CB_CONTINUE;
}

/* The callback that records the reads of one operation, pushed for a caller that may read. */
static void watch(Operation *op, jpkirepo_info *ji, int tests, int op_compare)
{
	read_watch *w;

	if (ji->audit == NULL)
		return;
	w = op->o_tmpcalloc(1, sizeof(*w), op->o_tmpmemctx);
	w->ji = ji;
	w->tests = tests;
	w->op_compare = op_compare;
	jpkirepo_callback_push(op, op_compare ? compare_response : read_response, read_cleanup, w);
}

/* Called for searches by identities that may read CRLs. */
void jpkirepo_audit_watch_reads(Operation *op, jpkirepo_info *ji, int tests)
{
	watch(op, ji, tests, 0);
}

/* Called for compares on the CRL by identities that may read it. */
void jpkirepo_audit_watch_compare(Operation *op, jpkirepo_info *ji, int tests)
{
	watch(op, ji, tests, 1);
}

/* --- writes ---------------------------------------------------------------------------------- */

/* details for a write: the entry, the operation and (for CRLs) what the overlay decided. */
void jpkirepo_audit_write_details(Operation *op, const char *decision, char *out, size_t len)
{
	char *text;
	const char *kind = op->o_tag == LDAP_REQ_ADD ? "add" : op->o_tag == LDAP_REQ_DELETE ? "delete" :
			   op->o_tag == LDAP_REQ_MODRDN ? "modrdn" : "modify";

	text = details_text(json_pack("{s:s, s:s, s:s}", "entry",
		op->o_req_dn.bv_val != NULL ? op->o_req_dn.bv_val : "", "operation", kind,
		"decision", decision != NULL ? decision : ""));
	/* Never a cut-off object: one that does not fit says so, keeping the operation. */
	if (text != NULL && strlen(text) < len)
		snprintf(out, len, "%s", text);
	else
		snprintf(out, len, "{\"operation\":\"%s\",\"truncated\":true}", kind);
	free(text);
}
