/* The overlay's own searches of its database: the registry's uniqueness (registry-unique), the
 * entries a rename would move (entry-kept). Asked of the backend itself, below the overlays
 * (through them a search would be a read, answered and recorded as one), as the database's
 * rootdn (ACLs that hide a value from the writer must not hide it here), with none of the
 * operation's controls (assertion, noop, permissive…), referral objects as entries. */
#include "jpkirepo.h"

int jpkirepo_root_search(Operation *op, slap_overinst *on, struct berval *dn, struct berval *ndn, int scope,
	const char *filter, slap_callback *cb)
{
	BackendInfo *bi = on->on_info->oi_orig;
	BackendDB db = *op->o_bd;
	Operation nop = *op;
	SlapReply nrs = { REP_RESULT };

	if (BER_BVISEMPTY(&op->o_bd->be_rootndn))
		return LDAP_UNWILLING_TO_PERFORM;
	db.bd_info = bi;
	nop.o_bd = &db;
	nop.o_tag = LDAP_REQ_SEARCH;
	nop.o_callback = cb;
	nop.o_ctrls = NULL;
	memset(nop.o_ctrlflag, 0, sizeof(nop.o_ctrlflag));
	nop.o_managedsait = SLAP_CONTROL_CRITICAL;
	nop.o_req_dn = *dn;
	nop.o_req_ndn = *ndn;
	nop.ors_scope = scope;
	nop.ors_deref = LDAP_DEREF_NEVER;
	nop.ors_limit = NULL;
	nop.ors_slimit = SLAP_NO_LIMIT;
	nop.ors_tlimit = SLAP_NO_LIMIT;
	nop.ors_attrs = slap_anlist_no_attrs;
	nop.ors_attrsonly = 1;
	ber_str2bv(filter, 0, 0, &nop.ors_filterstr);
	nop.ors_filter = str2filter_x(&nop, filter);
	nop.o_dn = op->o_bd->be_rootdn;
	nop.o_ndn = op->o_bd->be_rootndn;
	if (nop.ors_filter == NULL)
		return LDAP_FILTER_ERROR;
	bi->bi_op_search(&nop, &nrs);
	filter_free_x(&nop, nop.ors_filter, 1);
	return nrs.sr_err;
}
