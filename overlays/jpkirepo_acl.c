/* The dynamic ACL "jpkiverifier": the overlay's decision on certificateRevocationList as a
 * "by" clause of slapd's ACL engine, so that the paths the overlay's own operation handlers
 * do not see (pre/post-read controls of writes) ask it too:
 *     access to attrs=certificateRevocationList by dynacl/jpkiverifier write by * none
 * It grants write to the publisher, read to whoever jpkirepo_crl_readable() allows, and
 * nothing to anyone else. The configuration names it where the operator puts it: the
 * overlay adds no ACL of its own, which cn=config would not list (its olcAccess indexes
 * would then point one rule off). */
#include "jpkirepo.h"

#define DYNACL_NAME "jpkiverifier"

/* The jpkirepo instance on the database this operation is in. During the backend's own
 * processing o_bd->bd_info is the backend's; bd_self is the configured database. */
static slap_overinst *instance_of(Operation *op)
{
	BackendDB *be = op->o_bd != NULL ? op->o_bd->bd_self : NULL;
	slap_overinfo *oi;
	slap_overinst *on;

	if (be == NULL || !overlay_is_over(be))
		return NULL;
	oi = be->bd_info->bi_private;
	for (on = oi->oi_list; on != NULL; on = on->on_next)
		if (strcmp(on->on_bi.bi_type, "jpkirepo") == 0)
			return on;
	return NULL;
}

/* What the operation's identity may do with certificateRevocationList. */
static slap_mask_t crl_level(Operation *op, slap_overinst *on)
{
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (jpkirepo_is_publisher(ji, op))
		return ACL_LVL_WRITE;
	return jpkirepo_crl_readable(op, on) ? ACL_LVL_READ : ACL_LVL_NONE;
}

static int dynacl_mask(void *priv, Operation *op, Entry *e, AttributeDescription *desc,
	struct berval *val, int nmatch, regmatch_t *matches, slap_access_t *grant, slap_access_t *deny)
{
	slap_overinst *on = instance_of(op);
	slap_mask_t level = on != NULL && on->on_bi.bi_private != NULL ? crl_level(op, on) : ACL_LVL_NONE;

	(void)priv;
	(void)e;
	(void)desc;
	(void)val;
	(void)nmatch;
	(void)matches;
	ACL_INVALIDATE(*grant);
	ACL_INVALIDATE(*deny);
	if (level != ACL_LVL_NONE)	/* nothing granted where the overlay is not */
		*grant = level;
	return 0;
}

static int dynacl_parse(const char *fname, int lineno, const char *opts, slap_style_t sty,
	const char *right, void **privp)
{
	(void)opts;
	(void)sty;
	*privp = NULL;
	if (right != NULL && *right != '\0') {
		Debug(LDAP_DEBUG_ANY, "%s: line %d: dynacl/" DYNACL_NAME " takes no pattern\n", fname, lineno);
		return -1;
	}
	return 0;
}

/* The "by" clause as slapd prints it (cn=config, -d acl). */
static int dynacl_unparse(void *priv, struct berval *bv)
{
	(void)priv;
	ber_str2bv(" dynacl/" DYNACL_NAME, 0, 1, bv);
	return 0;
}

static slap_dynacl_t jpkiverifier_dynacl = {
	.da_name = DYNACL_NAME,
	.da_parse = dynacl_parse,
	.da_unparse = dynacl_unparse,
	.da_mask = dynacl_mask,
};

int jpkirepo_acl_register(void)
{
	return slap_dynacl_register(&jpkiverifier_dynacl);
}
