/* jpkirepo: the JPKI repository overlay. Private declarations shared by its files; the
 * module is linked with -fvisibility=hidden and exports init_module alone, because Debian's
 * slapd loads modules with RTLD_GLOBAL. */
#ifndef JPKIREPO_H
#define JPKIREPO_H

#include "portable.h"
#include "slap.h"
#include "slap-config.h"

#include <openssl/x509.h>

#include "crl_check.h"
#include "trust.h"

/* Every OID of the module's cn=config schema hangs under this arc (a 2.25 UUID arc, as the
 * jpki schema; see schema/jpki.schema). */
#define JPKIREPO_CFG_AT "2.25.268946904057716495129798817608121486957.3.1"
#define JPKIREPO_CFG_OC "2.25.268946904057716495129798817608121486957.3.2"

typedef struct jpkirepo_meta_cache jpkirepo_meta_cache;
typedef struct jpkirepo_registry jpkirepo_registry;
typedef struct jpkirepo_registry_schema jpkirepo_registry_schema;
typedef struct jpki_audit jpki_audit;

typedef struct jpkirepo_info {
	struct berval ca_dn, ca_ndn;		/* the CA entry: cACertificate, ARL */
	BerVarray anchor_files;			/* as configured, for cn=config */
	STACK_OF(X509) *anchors;		/* read at configuration time */
	BerVarray publishers, npublishers;	/* identities allowed to write */
	BerVarray readers, nreaders;		/* services that read user CRLs */
	struct berval verifier_base, verifier_nbase;	/* the verifier registry */
	jpkirepo_registry *registry;
	jpkirepo_registry_schema *registry_schema;	/* NULL without jpki.schema: no registry to keep */
	jpki_crl_policy policy;

	/* Anchors plus the generations the stored cACertificate values link in; rebuilt from
	 * the CA entry whenever stale. */
	ldap_pvt_thread_rdwr_t trust_lock;
	ldap_pvt_thread_mutex_t write_lock;	/* held from a write's check until its answer */
	ldap_pvt_thread_mutex_t registry_lock;	/* the same for writes to the verifier registry */
	jpki_trust *trust;
	int trust_stale;

	jpkirepo_meta_cache *cache;

	AttributeDescription *ad_crl, *ad_arl, *ad_cacert, *ad_delta;

	/* The audit trail (lib/audit): opened at db_open when jpkirepo-audit-dir is set. */
	char *audit_dir;
	int audit_policy;		/* jpki_audit_policy */
	char *audit_ckpt_key, *audit_ckpt_cert, *audit_ckpt_pin;	/* optional signed checkpoints */
	jpki_audit *audit;
	int opened;			/* db_open done: the trail's settings are in force */
	slap_overinst *on;
} jpkirepo_info;

/* jpkirepo_config.c */
int jpkirepo_config_register(BackendInfo *bi);
void jpkirepo_config_free(jpkirepo_info *ji);

/* jpkirepo_write.c */
int jpkirepo_op_add(Operation *op, SlapReply *rs);
int jpkirepo_op_modify(Operation *op, SlapReply *rs);
int jpkirepo_op_delete(Operation *op, SlapReply *rs);
int jpkirepo_op_modrdn(Operation *op, SlapReply *rs);

/* jpkirepo_acl.c */
int jpkirepo_acl_register(void);

/* jpkirepo_read.c */
int jpkirepo_is_publisher(const jpkirepo_info *ji, Operation *op);
int jpkirepo_crl_readable(Operation *op, slap_overinst *on);
int jpkirepo_is_crl_ad(const jpkirepo_info *ji, AttributeDescription *ad);
/* For a modify, delete or rename by anyone but the rootdn and the publishers: the assertion
 * control's items on certificateRevocationList made those of an attribute nobody holds. */
void jpkirepo_hide_write_assertion(Operation *op, slap_overinst *on);
/* Takes certificateRevocationList (every subtype) out of the entry a search is sending. */
void jpkirepo_strip_crl(Operation *op, SlapReply *rs, slap_overinst *on);
int jpkirepo_op_search(Operation *op, SlapReply *rs);
int jpkirepo_op_compare(Operation *op, SlapReply *rs);

/* jpkirepo_registry.c */
jpkirepo_registry *jpkirepo_registry_new(void);
void jpkirepo_registry_free(jpkirepo_registry *r);
void jpkirepo_registry_changed(jpkirepo_registry *r);
int jpkirepo_registry_allows(Operation *op, slap_overinst *on, jpkirepo_registry *r,
	struct berval *ndn, char *why, size_t whylen);

/* jpkirepo_search.c: an attribute-less search of the backend below the overlays, as the
 * database's rootdn, without the operation's controls, referral objects as entries; each
 * entry goes to cb (whose response returning LDAP_SIZELIMIT_EXCEEDED ends the search). The
 * search's result; LDAP_UNWILLING_TO_PERFORM when the database has no rootdn. */
int jpkirepo_root_search(Operation *op, slap_overinst *on, struct berval *dn, struct berval *ndn, int scope,
	const char *filter, slap_callback *cb);

/* jpkirepo_hold.c: a callback put first on the operation (in its memory context), and taken
 * off and freed by its cleanup at the end (with its private data when free_priv). */
slap_callback *jpkirepo_callback_push(Operation *op, slap_response *response, slap_response *cleanup,
	void *priv);
void jpkirepo_callback_pop(Operation *op, int free_priv);
/* lock (taken by the caller before its check) is released once the backend has answered the
 * operation; answered(rs, arg), if given, runs first with the result. */
typedef void jpkirepo_answered(Operation *op, SlapReply *rs, void *arg);
void jpkirepo_hold_until_answered(Operation *op, ldap_pvt_thread_mutex_t *lock,
	jpkirepo_answered *answered, void *arg);

/* jpkirepo_registry_rules.c: the schema the rules read, found once (NULL when absent); is ndn
 * under the verifier base (NULL: no), or the base or above it; checks: 0 when the write may
 * go on, -1 when it was refused (answered). */
jpkirepo_registry_schema *jpkirepo_registry_schema_find(void);
int jpkirepo_in_registry(const jpkirepo_info *ji, const struct berval *ndn);
int jpkirepo_registry_base_or_above(const jpkirepo_info *ji, const struct berval *ndn);
int jpkirepo_registry_check_add(Operation *op, SlapReply *rs, slap_overinst *on);
int jpkirepo_registry_check_modify(Operation *op, SlapReply *rs, slap_overinst *on);
int jpkirepo_registry_check_modrdn(Operation *op, SlapReply *rs, slap_overinst *on);

/* jpkirepo_audit.c */
int jpkirepo_audit(Operation *op, jpkirepo_info *ji, const char *event, const char *result,
	const char *details, char *why, size_t whylen);
/* How an operation tests certificateRevocationList besides asking for its values. */
#define JPKIREPO_TESTS_FILTER 1		/* a search's filter names it */
#define JPKIREPO_TESTS_ASSERTION 2	/* the assertion control's filter (RFC 4528) names it */
#define JPKIREPO_TESTS_COMPARE 4	/* a compare's assertion is on it */
/* For an identity that may read user CRLs: a search's entries that leave with CRL values or
 * (attrsonly) the attribute's name, or (tests) hold a CRL, are recorded before they leave,
 * and a search that tests the CRL and sends none of them before its result; a compare's
 * answer before it is sent. */
void jpkirepo_audit_watch_reads(Operation *op, jpkirepo_info *ji, int tests);
void jpkirepo_audit_watch_compare(Operation *op, jpkirepo_info *ji, int tests);
void jpkirepo_audit_write_details(Operation *op, const char *decision, char *out, size_t len);

/* jpkirepo_trust.c */
jpki_trust *jpkirepo_trust_acquire(Operation *op, slap_overinst *on);
void jpkirepo_trust_release(jpkirepo_info *ji);
void jpkirepo_trust_mark_stale(jpkirepo_info *ji);

/* jpkirepo_cache.c: meta of stored CRLs by SHA-256 of their DER, so that a write does not
 * parse the CRL it replaces (a 100,000-entry CRL costs ~85 ms to parse). */
jpkirepo_meta_cache *jpkirepo_cache_new(void);
void jpkirepo_cache_free(jpkirepo_meta_cache *c);
int jpkirepo_cache_get(jpkirepo_meta_cache *c, const struct berval *der, const jpki_trust *t,
	jpki_crl_meta *out);
void jpkirepo_cache_put(jpkirepo_meta_cache *c, const struct berval *der, const jpki_crl_meta *m);

#endif
