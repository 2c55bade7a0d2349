/* The audit trail of the repository (CPS 4-11-2): every read of a user CRL, every
 * publication attempt and every change to the verifier registry, recorded through lib/audit
 * (hash-chained, on disk before the answer it describes). When a record cannot be written
 * and the policy is fail-closed (the default), the read is refused: the CRL values are not
 * sent and the search ends with unwillingToPerform naming the reason. */
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
	int failed;
	char why[300];
} read_watch;

/* Whether the entry leaves with CRL values: slapd sends an attribute when all user attributes
 * are asked for ("*", none named) or the list names it (its type, a supertype, or an object
 * class "@oc" that allows it), and not attrsonly — send_search_entry's own test. */
static int crl_values_sent(Operation *op, SlapReply *rs, jpkirepo_info *ji)
{
	Attribute *a;

	if (op->ors_attrsonly)
		return 0;
	for (a = attrs_find(rs->sr_entry->e_attrs, ji->ad_crl); a != NULL; a = attrs_find(a->a_next, ji->ad_crl))
		if (rs->sr_attrs == NULL || SLAP_USERATTRS(rs->sr_attr_flags) || ad_inlist(a->a_desc, rs->sr_attrs))
			return 1;
	return 0;
}

static int read_response(Operation *op, SlapReply *rs)
{
	/* The refusal's text outlives the callback (freed at cleanup): slapd logs it after. */
	static __thread char refused[sizeof(((read_watch *)0)->why)];
	read_watch *w = op->o_callback->sc_private;
	jpkirepo_info *ji = w->ji;
	char *details;
	int rc;

	if (rs->sr_type == REP_SEARCH && rs->sr_entry != NULL && crl_values_sent(op, rs, ji)) {
		if (w->failed) {
			jpkirepo_strip_crl(op, rs, ji->on);
			return SLAP_CB_CONTINUE;
		}
		details = details_text(json_pack("{s:[s]}", "entries", rs->sr_entry->e_name.bv_val));
		rc = jpkirepo_audit(op, ji, "crl-read", "ok", details, w->why, sizeof(w->why));
		free(details);
		if (rc < 0) {
			w->failed = 1;
			jpkirepo_strip_crl(op, rs, ji->on);
		}
	} else if (rs->sr_type == REP_RESULT && w->failed) {
		memcpy(refused, w->why, sizeof(refused));
		rs->sr_err = LDAP_UNWILLING_TO_PERFORM;
		rs->sr_text = refused;
	}
	return SLAP_CB_CONTINUE;
}

static int read_cleanup(Operation *op, SlapReply *rs)
{
	if (rs->sr_type == REP_RESULT)
		jpkirepo_callback_pop(op, 1);
	return SLAP_CB_CONTINUE;
}

/* Called for searches by identities that may read CRLs. */
void jpkirepo_audit_watch_reads(Operation *op, jpkirepo_info *ji)
{
	read_watch *w;

	if (ji->audit == NULL || op->ors_attrsonly)
		return;
	w = op->o_tmpcalloc(1, sizeof(*w), op->o_tmpmemctx);
	w->ji = ji;
	jpkirepo_callback_push(op, read_response, read_cleanup, w);
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
