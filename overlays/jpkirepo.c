/* jpkirepo: an overlay that lets into the repository only CRLs, ARLs and CA certificates that
 * the CA really issued for the place they are written to (CPS 2-6-1, 4-4-4-4, 4-4-9), and
 * lets only registered verifiers read user CRLs (CPS 2-6-3, 4-4-4-5). */
#include "jpkirepo.h"

#include "audit.h"

static slap_overinst jpkirepo;

static int jpkirepo_db_init(BackendDB *be, ConfigReply *cr)
{
	slap_overinst *on = (slap_overinst *)be->bd_info;
	jpkirepo_info *ji = ch_calloc(1, sizeof(*ji));
	const char *text;

	(void)cr;
	jpki_crl_policy_default(&ji->policy);
	ji->anchors = sk_X509_new_null();
	ji->trust_stale = 1;
	ji->cache = jpkirepo_cache_new();
	ji->registry = jpkirepo_registry_new();
	ji->registry_schema = jpkirepo_registry_schema_find();
	ldap_pvt_thread_rdwr_init(&ji->trust_lock);
	ldap_pvt_thread_mutex_init(&ji->write_lock);
	ldap_pvt_thread_mutex_init(&ji->registry_lock);
	if (slap_str2ad("certificateRevocationList", &ji->ad_crl, &text) != LDAP_SUCCESS ||
	    slap_str2ad("authorityRevocationList", &ji->ad_arl, &text) != LDAP_SUCCESS ||
	    slap_str2ad("cACertificate", &ji->ad_cacert, &text) != LDAP_SUCCESS ||
	    slap_str2ad("deltaRevocationList", &ji->ad_delta, &text) != LDAP_SUCCESS) {
		Debug(LDAP_DEBUG_ANY, "jpkirepo: schema lacks the RFC 4523 attributes: %s\n", text);
		return 1;
	}
	ji->on = on;
	on->on_bi.bi_private = ji;
	return 0;
}

/* The audit library's notices (a torn line cut at start, a write failing) into slapd's log. */
static void audit_notice(void *arg, const char *message)
{
	(void)arg;
	Debug(LDAP_DEBUG_ANY, "jpkirepo: audit: %s\n", message);
}

static int jpkirepo_db_open(BackendDB *be, ConfigReply *cr)
{
	slap_overinst *on = (slap_overinst *)be->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (sk_X509_num(ji->anchors) == 0) {
		snprintf(cr->msg, sizeof(cr->msg), "jpkirepo: no jpkirepo-trust-anchor configured");
		Debug(LDAP_DEBUG_ANY, "%s\n", cr->msg);
		return 1;
	}
	/* Rule entry-kept asks the backend for a No-Op run of a delete or rename (write.c):
	 * back-mdb honours it; another backend might carry the operation out. */
	if (strcmp(on->on_info->oi_orig->bi_type, "mdb") != 0) {
		snprintf(cr->msg, sizeof(cr->msg), "jpkirepo: the database must be back-mdb (this one is %s): "
			"the overlay keeps entries holding CRLs through its No-Op", on->on_info->oi_orig->bi_type);
		Debug(LDAP_DEBUG_ANY, "%s\n", cr->msg);
		return 1;
	}
	/* slapcat, slapindex…: no operation is answered, and the running slapd may hold the
	 * trail; a tool must not write into it. */
	if (slapMode & SLAP_TOOL_MODE)
		return 0;
	if (ji->publishers == NULL)
		Debug(LDAP_DEBUG_ANY, "jpkirepo: no jpkirepo-publisher configured: every CRL write will be refused\n");
	if (ji->audit_dir != NULL && ji->audit == NULL) {
		jpki_audit_opts ao = { .dir = ji->audit_dir, .component = "slapd",
			.policy = (jpki_audit_policy)ji->audit_policy, .checkpoint_every = 1000,
			.checkpoint_key_uri = ji->audit_ckpt_key, .checkpoint_cert = ji->audit_ckpt_cert,
			.checkpoint_pin_file = ji->audit_ckpt_pin, .log = audit_notice };
		jpki_err err;

		if (jpki_audit_open(&ao, &ji->audit, &err) < 0) {
			snprintf(cr->msg, sizeof(cr->msg), "jpkirepo: audit trail in %.60s: %.150s", ji->audit_dir, err.text);
			Debug(LDAP_DEBUG_ANY, "%s\n", cr->msg);
			return 1;
		}
	}
	ji->opened = 1;
	return 0;
}

static int jpkirepo_db_close(BackendDB *be, ConfigReply *cr)
{
	slap_overinst *on = (slap_overinst *)be->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;

	(void)cr;
	if (ji != NULL)
		ji->opened = 0;
	if (ji != NULL && ji->audit != NULL) {
		jpki_audit_close(ji->audit);
		ji->audit = NULL;
	}
	return 0;
}

static int jpkirepo_db_destroy(BackendDB *be, ConfigReply *cr)
{
	slap_overinst *on = (slap_overinst *)be->bd_info;
	jpkirepo_info *ji = on->on_bi.bi_private;

	(void)cr;
	if (ji == NULL)
		return 0;
	jpkirepo_config_free(ji);
	jpki_trust_free(ji->trust);
	jpkirepo_cache_free(ji->cache);
	jpkirepo_registry_free(ji->registry);
	ch_free(ji->registry_schema);
	ldap_pvt_thread_rdwr_destroy(&ji->trust_lock);
	ldap_pvt_thread_mutex_destroy(&ji->write_lock);
	ldap_pvt_thread_mutex_destroy(&ji->registry_lock);
	ch_free(ji);
	on->on_bi.bi_private = NULL;
	return 0;
}

static int jpkirepo_initialize(void)
{
	int rc;

	jpkirepo.on_bi.bi_type = "jpkirepo";
	jpkirepo.on_bi.bi_flags = SLAPO_BFLAG_SINGLE;
	jpkirepo.on_bi.bi_db_init = jpkirepo_db_init;
	jpkirepo.on_bi.bi_db_open = jpkirepo_db_open;
	jpkirepo.on_bi.bi_db_close = jpkirepo_db_close;
	jpkirepo.on_bi.bi_db_destroy = jpkirepo_db_destroy;
	jpkirepo.on_bi.bi_op_add = jpkirepo_op_add;
	jpkirepo.on_bi.bi_op_modify = jpkirepo_op_modify;
	jpkirepo.on_bi.bi_op_delete = jpkirepo_op_delete;
	jpkirepo.on_bi.bi_op_modrdn = jpkirepo_op_modrdn;
	jpkirepo.on_bi.bi_op_search = jpkirepo_op_search;
	jpkirepo.on_bi.bi_op_compare = jpkirepo_op_compare;
	rc = jpkirepo_config_register(&jpkirepo.on_bi);
	if (rc == 0)
		rc = jpkirepo_acl_register();
	if (rc != 0)
		return rc;
	return overlay_register(&jpkirepo);
}

__attribute__((visibility("default"))) int init_module(int argc, char *argv[]);

int init_module(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	return jpkirepo_initialize();
}
