/* Reading user CRLs goes through slapd's own ACL engine, so that every path that discloses
 * an attribute (search results, attrsonly, filters, compare, persistent searches, paged
 * results…) asks the same question. The module registers the dynamic ACL "jpkiverifier":
 * it grants write to the publisher and read to whoever jpkirepo_crl_readable() allows, and
 * nothing to anyone else. At db_open the overlay puts
 *     access to attrs=certificateRevocationList by dynacl/jpkiverifier write by * none
 * at the head of its database's ACLs, unless the configuration names the dynacl already. */
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

static int dynacl_mask(void *priv, Operation *op, Entry *e, AttributeDescription *desc,
	struct berval *val, int nmatch, regmatch_t *matches, slap_access_t *grant, slap_access_t *deny)
{
	slap_overinst *on = instance_of(op);
	jpkirepo_info *ji;

	(void)priv;
	(void)e;
	(void)desc;
	(void)val;
	(void)nmatch;
	(void)matches;
	ACL_INVALIDATE(*grant);
	ACL_INVALIDATE(*deny);
	if (on == NULL)
		return 0;	/* no overlay here: nothing granted */
	ji = on->on_bi.bi_private;
	if (jpkirepo_is_publisher(ji, op))
		*grant = ACL_LVL_WRITE;
	else if (jpkirepo_crl_readable(op, on))
		*grant = ACL_LVL_READ;
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

static int names_dynacl(AccessControl *acl)
{
	Access *b;
	slap_dynacl_t *da;

	for (; acl != NULL; acl = acl->acl_next)
		for (b = acl->acl_access; b != NULL; b = b->a_next)
			for (da = b->a_dynacl; da != NULL; da = da->da_next)
				if (strcasecmp(da->da_name, DYNACL_NAME) == 0)
					return 1;
	return 0;
}

int jpkirepo_acl_install(BackendDB *be)
{
	static const char *const words[] = { "access", "to", "attrs=certificateRevocationList", "by",
		"dynacl/" DYNACL_NAME, "write", "by", "*", "none" };
	char *argv[sizeof(words) / sizeof(words[0]) + 1];
	int i, n = (int)(sizeof(words) / sizeof(words[0])), rc;

	if (names_dynacl(be->be_acl))
		return 0;
	Debug(LDAP_DEBUG_CONFIG, "jpkirepo: adding \"access to attrs=certificateRevocationList "
		"by dynacl/" DYNACL_NAME " write by * none\" before the database's ACLs\n");
	/* parse_acl() cuts its arguments in place: give it copies. */
	for (i = 0; i < n; i++)
		argv[i] = ch_strdup(words[i]);
	argv[n] = NULL;
	rc = parse_acl(be, "jpkirepo", 0, n, argv, 0);
	for (i = 0; i < n; i++)
		ch_free(argv[i]);
	return rc;
}
