/* slapd.conf directives and their cn=config attributes (olcJpkiRepo*). */
#include "jpkirepo.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "audit.h"

enum {
	CFG_CA_DN = 1,
	CFG_ANCHOR,
	CFG_PUBLISHER,
	CFG_SKEW,
	CFG_MAX_VALIDITY,
	CFG_MAX_SIZE,
	CFG_VERIFIER_BASE,
	CFG_READER,
	CFG_AUDIT_DIR,
	CFG_AUDIT_POLICY,
	CFG_CKPT_KEY,
	CFG_CKPT_CERT,
	CFG_CKPT_PIN,
};

static ConfigDriver jpkirepo_cf;

static ConfigTable jpkirepo_cfg[] = {
	{ .name = "jpkirepo-ca-dn", "dn", 2, 2, 0, ARG_DN | ARG_QUOTE | ARG_MAGIC | CFG_CA_DN, jpkirepo_cf,
	  "( " JPKIREPO_CFG_AT ".1 NAME 'olcJpkiRepoCaDN' "
	  "DESC 'The CA entry: holds cACertificate and the ARL' "
	  "EQUALITY distinguishedNameMatch SYNTAX OMsDN SINGLE-VALUE )" },
	{ .name = "jpkirepo-trust-anchor", "file", 2, 2, 0, ARG_MAGIC | CFG_ANCHOR, jpkirepo_cf,
	  "( " JPKIREPO_CFG_AT ".2 NAME 'olcJpkiRepoTrustAnchor' "
	  "DESC 'PEM file of self-signed CA certificates whose keys sign CRLs' "
	  "EQUALITY caseExactMatch SYNTAX OMsDirectoryString )" },
	{ .name = "jpkirepo-publisher", "dn", 2, 2, 0, ARG_DN | ARG_QUOTE | ARG_MAGIC | CFG_PUBLISHER, jpkirepo_cf,
	  "( " JPKIREPO_CFG_AT ".3 NAME 'olcJpkiRepoPublisher' "
	  "DESC 'Identity allowed to write CRLs, ARLs and CA certificates' "
	  "EQUALITY distinguishedNameMatch SYNTAX OMsDN )" },
	{ .name = "jpkirepo-clock-skew", "seconds", 2, 2, 0, ARG_LONG | ARG_MAGIC | CFG_SKEW, jpkirepo_cf,
	  "( " JPKIREPO_CFG_AT ".4 NAME 'olcJpkiRepoClockSkew' "
	  "DESC 'Seconds a thisUpdate may lie in the future' "
	  "EQUALITY integerMatch SYNTAX OMsInteger SINGLE-VALUE )" },
	{ .name = "jpkirepo-max-validity", "seconds", 2, 2, 0, ARG_LONG | ARG_MAGIC | CFG_MAX_VALIDITY, jpkirepo_cf,
	  "( " JPKIREPO_CFG_AT ".5 NAME 'olcJpkiRepoMaxValidity' "
	  "DESC 'Longest nextUpdate - thisUpdate accepted, in seconds' "
	  "EQUALITY integerMatch SYNTAX OMsInteger SINGLE-VALUE )" },
	{ .name = "jpkirepo-max-size", "bytes", 2, 2, 0, ARG_LONG | ARG_MAGIC | CFG_MAX_SIZE, jpkirepo_cf,
	  "( " JPKIREPO_CFG_AT ".6 NAME 'olcJpkiRepoMaxSize' "
	  "DESC 'Largest CRL accepted, in bytes of DER' "
	  "EQUALITY integerMatch SYNTAX OMsInteger SINGLE-VALUE )" },
	{ .name = "jpkirepo-verifier-base", .what = "dn", .min_args = 2, .max_args = 2, .length = 0,
	  .arg_type = ARG_DN | ARG_QUOTE | ARG_MAGIC | CFG_VERIFIER_BASE, .arg_item = jpkirepo_cf,
	  .attribute = "( " JPKIREPO_CFG_AT ".7 NAME 'olcJpkiRepoVerifierBase' "
	  "DESC 'The verifier registry: entries below it that are active verifiers read user CRLs' "
	  "EQUALITY distinguishedNameMatch SYNTAX OMsDN SINGLE-VALUE )" },
	{ .name = "jpkirepo-reader", .what = "dn", .min_args = 2, .max_args = 2, .length = 0,
	  .arg_type = ARG_DN | ARG_QUOTE | ARG_MAGIC | CFG_READER, .arg_item = jpkirepo_cf,
	  .attribute = "( " JPKIREPO_CFG_AT ".8 NAME 'olcJpkiRepoReader' "
	  "DESC 'Service identity that reads user CRLs (replication, responder, operator)' "
	  "EQUALITY distinguishedNameMatch SYNTAX OMsDN )" },
	{ .name = "jpkirepo-audit-dir", .what = "directory", .min_args = 2, .max_args = 2, .length = 0,
	  .arg_type = ARG_MAGIC | CFG_AUDIT_DIR, .arg_item = jpkirepo_cf,
	  .attribute = "( " JPKIREPO_CFG_AT ".9 NAME 'olcJpkiRepoAuditDir' "
	  "DESC 'Directory of the hash-chained audit trail (reads, publications, registry changes)' "
	  "EQUALITY caseExactMatch SYNTAX OMsDirectoryString SINGLE-VALUE )" },
	{ .name = "jpkirepo-audit-policy", .what = "fail-closed|fail-open", .min_args = 2, .max_args = 2,
	  .length = 0, .arg_type = ARG_MAGIC | CFG_AUDIT_POLICY, .arg_item = jpkirepo_cf,
	  .attribute = "( " JPKIREPO_CFG_AT ".10 NAME 'olcJpkiRepoAuditPolicy' "
	  "DESC 'When a record cannot be written: fail-closed refuses the operation (default)' "
	  "EQUALITY caseIgnoreMatch SYNTAX OMsDirectoryString SINGLE-VALUE )" },
	/* Signed checkpoints of the audit trail (optional). */
	{ .name = "jpkirepo-audit-checkpoint-key", .what = "pkcs11-uri", .min_args = 2, .max_args = 2,
	  .arg_type = ARG_MAGIC | CFG_CKPT_KEY, .arg_item = jpkirepo_cf,
	  .attribute = "( " JPKIREPO_CFG_AT ".11 NAME 'olcJpkiRepoAuditCheckpointKey' "
	  "DESC 'PKCS#11 URI of the key that signs audit checkpoints' "
	  "EQUALITY caseExactMatch SYNTAX OMsDirectoryString SINGLE-VALUE )" },
	{ .name = "jpkirepo-audit-checkpoint-cert", .what = "file", .min_args = 2, .max_args = 2,
	  .arg_type = ARG_MAGIC | CFG_CKPT_CERT, .arg_item = jpkirepo_cf,
	  .attribute = "( " JPKIREPO_CFG_AT ".12 NAME 'olcJpkiRepoAuditCheckpointCert' "
	  "DESC 'PEM certificate of the audit checkpoint key' "
	  "EQUALITY caseExactMatch SYNTAX OMsDirectoryString SINGLE-VALUE )" },
	{ .name = "jpkirepo-audit-checkpoint-pin-file", .what = "file", .min_args = 2, .max_args = 2,
	  .arg_type = ARG_MAGIC | CFG_CKPT_PIN, .arg_item = jpkirepo_cf,
	  .attribute = "( " JPKIREPO_CFG_AT ".13 NAME 'olcJpkiRepoAuditCheckpointPinFile' "
	  "DESC 'File holding the PIN of the audit checkpoint key' "
	  "EQUALITY caseExactMatch SYNTAX OMsDirectoryString SINGLE-VALUE )" },
	{ .name = NULL, .arg_type = ARG_IGNORED }
};

static ConfigOCs jpkirepo_ocs[] = {
	{ .co_def = "( " JPKIREPO_CFG_OC ".1 NAME 'olcJpkiRepoConfig' "
	  "DESC 'JPKI repository overlay configuration' "
	  "SUP olcOverlayConfig "
	  "MAY ( olcJpkiRepoCaDN $ olcJpkiRepoTrustAnchor $ olcJpkiRepoPublisher $ "
	  "olcJpkiRepoClockSkew $ olcJpkiRepoMaxValidity $ olcJpkiRepoMaxSize $ "
	  "olcJpkiRepoVerifierBase $ olcJpkiRepoReader $ olcJpkiRepoAuditDir $ olcJpkiRepoAuditPolicy $ "
	  "olcJpkiRepoAuditCheckpointKey $ olcJpkiRepoAuditCheckpointCert $ olcJpkiRepoAuditCheckpointPinFile ) )",
	  .co_type = Cft_Overlay, .co_table = jpkirepo_cfg },
	{ .co_def = NULL }
};

/* The anchors are always the union of the configured files' certificates. */
static int anchors_reload(jpkirepo_info *ji, char *msg, size_t msglen)
{
	STACK_OF(X509) *all = sk_X509_new_null();
	jpki_err err;
	unsigned i;

	for (i = 0; ji->anchor_files != NULL && !BER_BVISNULL(&ji->anchor_files[i]); i++) {
		if (all == NULL || jpki_trust_read_anchors(ji->anchor_files[i].bv_val, all, &err) < 0) {
			snprintf(msg, msglen, "%.200s", all == NULL ? "out of memory" : err.text);
			sk_X509_pop_free(all, X509_free);
			return -1;
		}
	}
	sk_X509_pop_free(ji->anchors, X509_free);
	ji->anchors = all;
	jpkirepo_trust_mark_stale(ji);
	return 0;
}

/* A single DN setting (the CA entry, the verifier base) and a DN list (publishers,
 * readers): each kept as given and normalised. */
typedef struct dn_one {
	struct berval *dn, *ndn;
} dn_one;

typedef struct dn_list {
	BerVarray *dns, *ndns;
} dn_list;

static int one_of(ConfigArgs *c, jpkirepo_info *ji, dn_one *one, dn_list *list)
{
	switch (c->type) {
	case CFG_CA_DN: *one = (dn_one){ &ji->ca_dn, &ji->ca_ndn }; return 1;
	case CFG_VERIFIER_BASE: *one = (dn_one){ &ji->verifier_base, &ji->verifier_nbase }; return 1;
	case CFG_PUBLISHER: *list = (dn_list){ &ji->publishers, &ji->npublishers }; return 2;
	case CFG_READER: *list = (dn_list){ &ji->readers, &ji->nreaders }; return 2;
	default: return 0;
	}
}

static void dn_one_clear(dn_one *o)
{
	ch_free(o->dn->bv_val);
	ch_free(o->ndn->bv_val);
	BER_BVZERO(o->dn);
	BER_BVZERO(o->ndn);
}

static void dn_list_delete(dn_list *l, int valx)
{
	int i = valx;

	if (valx < 0) {
		ber_bvarray_free(*l->dns);
		ber_bvarray_free(*l->ndns);
		*l->dns = *l->ndns = NULL;
		return;
	}
	ch_free((*l->dns)[i].bv_val);
	ch_free((*l->ndns)[i].bv_val);
	for (; !BER_BVISNULL(&(*l->dns)[i]); i++) {
		(*l->dns)[i] = (*l->dns)[i + 1];
		(*l->ndns)[i] = (*l->ndns)[i + 1];
	}
}

/* Where the audit trail is written and how it is signed: read when the database opens.
 * NULL for another directive. */
static char **trail_setting(ConfigArgs *c, jpkirepo_info *ji)
{
	switch (c->type) {
	case CFG_AUDIT_DIR: return &ji->audit_dir;
	case CFG_CKPT_KEY: return &ji->audit_ckpt_key;
	case CFG_CKPT_CERT: return &ji->audit_ckpt_cert;
	case CFG_CKPT_PIN: return &ji->audit_ckpt_pin;
	default: return NULL;
	}
}

static void trail_set(char **setting, const char *value)
{
	ch_free(*setting);
	*setting = value != NULL ? ch_strdup(value) : NULL;
}

static int emit(ConfigArgs *c, jpkirepo_info *ji)
{
	dn_one one;
	dn_list list;
	char **trail;

	switch (one_of(c, ji, &one, &list)) {
	case 1:
		if (!BER_BVISEMPTY(one.dn)) {
			value_add_one(&c->rvalue_vals, one.dn);
			value_add_one(&c->rvalue_nvals, one.ndn);
		}
		return 0;
	case 2:
		if (*list.dns != NULL) {
			ber_bvarray_dup_x(&c->rvalue_vals, *list.dns, NULL);
			ber_bvarray_dup_x(&c->rvalue_nvals, *list.ndns, NULL);
		}
		return 0;
	}
	if ((trail = trail_setting(c, ji)) != NULL) {
		if (*trail != NULL) {
			struct berval bv;

			ber_str2bv(*trail, 0, 0, &bv);
			value_add_one(&c->rvalue_vals, &bv);
		}
		return 0;
	}
	switch (c->type) {
	case CFG_ANCHOR:
		if (ji->anchor_files != NULL)
			ber_bvarray_dup_x(&c->rvalue_vals, ji->anchor_files, NULL);
		return 0;
	case CFG_AUDIT_POLICY: {
		struct berval bv;

		ber_str2bv(ji->audit_policy ? "fail-open" : "fail-closed", 0, 0, &bv);
		value_add_one(&c->rvalue_vals, &bv);
		return 0;
	}
	/* ARG_LONG: slapd formats value_long itself. */
	case CFG_SKEW: c->value_long = ji->policy.clock_skew; break;
	case CFG_MAX_VALIDITY: c->value_long = ji->policy.max_validity; break;
	default: c->value_long = (long)ji->policy.max_size; break;
	}
	return 0;
}

static int delete(ConfigArgs *c, jpkirepo_info *ji)
{
	jpki_crl_policy def;
	dn_one one;
	dn_list list;

	jpki_crl_policy_default(&def);
	switch (one_of(c, ji, &one, &list)) {
	case 1:
		dn_one_clear(&one);
		jpkirepo_registry_changed(ji->registry);
		break;
	case 2:
		dn_list_delete(&list, c->valx);
		break;
	}
	if (trail_setting(c, ji) != NULL) {
		trail_set(trail_setting(c, ji), NULL);
		return 0;
	}
	switch (c->type) {
	case CFG_ANCHOR:
		if (c->valx < 0) {
			ber_bvarray_free(ji->anchor_files);
			ji->anchor_files = NULL;
		} else {
			int i = c->valx;

			ch_free(ji->anchor_files[i].bv_val);
			for (; !BER_BVISNULL(&ji->anchor_files[i]); i++)
				ji->anchor_files[i] = ji->anchor_files[i + 1];
		}
		return anchors_reload(ji, c->cr_msg, sizeof(c->cr_msg)) < 0 ? ARG_BAD_CONF : 0;
	case CFG_AUDIT_POLICY: ji->audit_policy = 0; break;
	case CFG_SKEW: ji->policy.clock_skew = def.clock_skew; break;
	case CFG_MAX_VALIDITY: ji->policy.max_validity = def.max_validity; break;
	case CFG_MAX_SIZE: ji->policy.max_size = def.max_size; break;
	}
	jpkirepo_trust_mark_stale(ji);
	return 0;
}

static int add(ConfigArgs *c, jpkirepo_info *ji)
{
	struct berval bv;
	dn_one one;
	dn_list list;
	jpki_audit_policy policy;

	switch (one_of(c, ji, &one, &list)) {
	case 1:
		dn_one_clear(&one);
		*one.dn = c->value_dn;
		*one.ndn = c->value_ndn;
		/* The CA entry feeds the trust, the verifier base the registry cache. */
		jpkirepo_registry_changed(ji->registry);
		jpkirepo_trust_mark_stale(ji);
		return 0;
	case 2:
		ber_bvarray_add(list.dns, &c->value_dn);
		ber_bvarray_add(list.ndns, &c->value_ndn);
		return 0;
	}
	if (trail_setting(c, ji) != NULL) {
		trail_set(trail_setting(c, ji), c->argv[1]);
		return 0;
	}
	switch (c->type) {
	case CFG_AUDIT_POLICY:
		if (jpki_audit_policy_parse(c->argv[1], &policy) < 0) {
			snprintf(c->cr_msg, sizeof(c->cr_msg), "%s: fail-closed or fail-open", c->argv[0]);
			Debug(LDAP_DEBUG_ANY, "%s: %s\n", c->log, c->cr_msg);
			return ARG_BAD_CONF;
		}
		ji->audit_policy = (int)policy;
		return 0;
	case CFG_ANCHOR:
		ber_str2bv(c->argv[1], 0, 1, &bv);
		ber_bvarray_add(&ji->anchor_files, &bv);
		if (anchors_reload(ji, c->cr_msg, sizeof(c->cr_msg)) < 0) {
			int last;

			for (last = 0; !BER_BVISNULL(&ji->anchor_files[last + 1]); last++)
				;
			ch_free(ji->anchor_files[last].bv_val);
			BER_BVZERO(&ji->anchor_files[last]);
			Debug(LDAP_DEBUG_ANY, "%s: %s: %s\n", c->log, c->argv[1], c->cr_msg);
			return ARG_BAD_CONF;
		}
		break;
	default:
		if (c->value_long < 0 || (c->type == CFG_MAX_VALIDITY && c->value_long == 0) ||
		    (c->type == CFG_MAX_SIZE && c->value_long == 0)) {
			snprintf(c->cr_msg, sizeof(c->cr_msg), "%s must be a positive number", c->argv[0]);
			Debug(LDAP_DEBUG_ANY, "%s: %s\n", c->log, c->cr_msg);
			return ARG_BAD_CONF;
		}
		if (c->type == CFG_SKEW)
			ji->policy.clock_skew = c->value_long;
		else if (c->type == CFG_MAX_VALIDITY)
			ji->policy.max_validity = c->value_long;
		else
			ji->policy.max_size = (size_t)c->value_long;
		break;
	}
	jpkirepo_trust_mark_stale(ji);
	return 0;
}

static int jpkirepo_cf(ConfigArgs *c)
{
	slap_overinst *on = (slap_overinst *)c->bi;
	jpkirepo_info *ji = on->on_bi.bi_private;

	if (c->op == SLAP_CONFIG_EMIT)
		return emit(c, ji);
	/* The trail is opened with the database; a change at run time (cn=config) would show in
	 * the configuration and not be in force. */
	if (ji->opened && trail_setting(c, ji) != NULL) {
		snprintf(c->cr_msg, sizeof(c->cr_msg), "%s is read when the database opens: change it in the "
			"configuration and restart slapd", c->argv[0]);
		Debug(LDAP_DEBUG_ANY, "%s: %s\n", c->log, c->cr_msg);
		return ARG_BAD_CONF;
	}
	if (c->op == LDAP_MOD_DELETE)
		return delete(c, ji);
	return add(c, ji);
}

int jpkirepo_config_register(BackendInfo *bi)
{
	bi->bi_cf_ocs = jpkirepo_ocs;
	return config_register_schema(jpkirepo_cfg, jpkirepo_ocs);
}

void jpkirepo_config_free(jpkirepo_info *ji)
{
	ch_free(ji->ca_dn.bv_val);
	ch_free(ji->ca_ndn.bv_val);
	ber_bvarray_free(ji->anchor_files);
	ber_bvarray_free(ji->publishers);
	ber_bvarray_free(ji->npublishers);
	ber_bvarray_free(ji->readers);
	ber_bvarray_free(ji->nreaders);
	ch_free(ji->verifier_base.bv_val);
	ch_free(ji->audit_dir);
	ch_free(ji->audit_ckpt_key);
	ch_free(ji->audit_ckpt_cert);
	ch_free(ji->audit_ckpt_pin);
	ch_free(ji->verifier_nbase.bv_val);
	sk_X509_pop_free(ji->anchors, X509_free);
}
