/* What the responder answers from: an immutable snapshot of the repository (the trusted CA
 * keys, every partition's CRLs, the verifier registry), built from the model the sync thread
 * keeps, swapped in whole so that readers never block and never see half an update. */
#ifndef OCSPD_SNAPSHOT_H
#define OCSPD_SNAPSHOT_H
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "crl_check.h"
#include "trust.h"
#include "verifier.h"

/* One revoked serial: 32 bytes (the index budget is 64). */
typedef struct revoked {
	int64_t revoked_at;
	uint8_t len;
	uint8_t reason;
	uint16_t partition;	/* index into the key's partition times */
	uint8_t serial[20];	/* big-endian magnitude, as in the DER INTEGER */
} revoked;

typedef struct partition_times {
	time_t this_update, next_update;
} partition_times;

/* Which CRL of one partition a key's entries came from: what the next build may take over
 * without checking that CRL again (snapshot_build_from). */
typedef enum crl_source_state {
	CRL_SOURCE_NONE,	/* no CRL of this key */
	CRL_SOURCE_INDEXED,	/* one CRL, whose entries are the key's with this partition */
	CRL_SOURCE_LAPSED,	/* one CRL that passed every rule but the time ones: no entries */
	CRL_SOURCE_MIXED,	/* several, or one of unknown hash: checked again next time */
} crl_source_state;

typedef struct crl_source {
	unsigned char sha256[32];	/* of its DER */
	time_t this_update, next_update;
	crl_source_state state;
} crl_source;

/* One CA key generation the responder serves. */
typedef struct served_key {
	const jpki_ca_key *key;		/* owned by the snapshot's trust */
	revoked *entries;		/* sorted by (len, serial), then partition, time, reason */
	size_t nentries;
	partition_times *parts;		/* one per partition entry; 0/0 when it has no CRL of this key */
	crl_source *sources;		/* one per partition entry */
	size_t nparts;
	bool all_current_at_build;	/* every partition had a CRL of this key */
	time_t oldest_this, earliest_next;	/* over the partitions: behind a "good" */
	unsigned char sha1_name[20], sha1_key[20], sha256_name[32], sha256_key[32];
} served_key;

typedef struct registered {
	char *dn;
	jpki_verifier_state state;
	unsigned char (*cert_sha256)[32];
	size_t ncerts;
	STACK_OF(X509) *certs;	/* to find a signed request's signer by requestorName */
	unsigned char (*der_sha256)[32];	/* of each of certs' DER: the next build reuses them */
} registered;

/* A jpkiCertificateSHA256 value and its verifier: the HTTPS client certificate's index. */
typedef struct cert_hash {
	unsigned char sha256[32];
	const registered *verifier;
} cert_hash;

/* One registry certificate: the signed requests' index, by subject. */
typedef struct signer_cand {
	const X509_NAME *subject;	/* the certificate's */
	const unsigned char *der;	/* its encoding (cached in the certificate) */
	size_t derlen;
	X509 *cert;			/* owned by the verifier's certs */
	const registered *verifier;
	size_t at;			/* registry order: the tie-break */
} signer_cand;

typedef struct snapshot {
	atomic_int refs;
	unsigned long generation;	/* changes whenever the data changes: cache key */
	jpki_trust *trust;
	served_key *keys;
	size_t nkeys;
	registered *verifiers;
	size_t nverifiers;
	char **part_dns;		/* the partition DNs in this snapshot's numbering */
	size_t nparts;
	jpki_crl_policy policy;		/* the CRLs were checked with */
	size_t crls_checked, crls_reused;	/* by this build: jpki_crl_check calls; CRLs decided from prev */
	cert_hash *by_hash;		/* sorted by hash; one entry a hash, the first verifier's */
	size_t nby_hash;
	signer_cand *by_subject;	/* sorted by subject (X509_NAME_cmp), then registry order */
	signer_cand *by_subject_der;	/* the same, sorted by the subject's encoding */
	size_t nby_subject;
	time_t built_at;
} snapshot;

/* The CRL data of one partition entry, and the registry entries, as the model holds them. */
typedef struct model_crl {
	unsigned char *der;
	size_t len;
} model_crl;

typedef struct model_partition {
	char *uuid, *dn;
	model_crl *crls;
	size_t ncrls;
	/* SHA-256 of crls[0..nhashed)'s DER, made as they enter (model.c, which alone replaces
	 * crls); a CRL beyond nhashed is never taken over from the previous snapshot. */
	unsigned char (*crl_sha256)[32];
	size_t nhashed;
	int seen;	/* during a full refresh */
} model_partition;

typedef struct model_verifier {
	char *uuid, *dn;
	jpki_verifier_state state;
	unsigned char (*cert_sha256)[32];	/* jpkiCertificateSHA256 */
	size_t ncerts;
	model_crl *certs;			/* userCertificate;binary */
	size_t ncertders;
	int seen;
} model_verifier;

typedef struct model {
	char *ca_uuid;
	model_crl *cacerts;	/* the CA entry's cACertificate values */
	size_t ncacerts;
	model_partition *parts;
	size_t nparts;
	model_verifier *verifiers;
	size_t nverifiers;
	int ca_seen;
} model;

/* Builds a snapshot: anchors from anchor_files extended by the model's CA certificates; every
 * partition CRL checked with the repository's rules (lib/crl_check; an invalid one is left
 * out and logged, never trusted); the index of each key's revoked serials. */
snapshot *snapshot_build(const model *m, STACK_OF(X509) *anchors, const jpki_crl_policy *pol,
	unsigned long generation, time_t now);
/* The same, taking over from prev (may be NULL) what has not changed: when prev was built
 * with the same CA keys and policy, a CRL it indexed for a partition of the same DN (same
 * SHA-256) is not checked again, only its times against now, and its entries are copied
 * from prev's index. The result equals snapshot_build()'s. prev is only read. */
snapshot *snapshot_build_from(const snapshot *prev, const model *m, STACK_OF(X509) *anchors,
	const jpki_crl_policy *pol, unsigned long generation, time_t now);
snapshot *snapshot_ref(snapshot *s);
void snapshot_unref(snapshot *s);

/* The served key whose name and key hashes match the CertID, or NULL (unknown issuer). */
const served_key *snapshot_find_issuer(const snapshot *s, OCSP_CERTID *id);
/* The entry for the serial, or NULL. */
const revoked *served_key_lookup(const served_key *k, const ASN1_INTEGER *serial);
/* Every partition has a CRL of this key that is current at now. */
bool served_key_current(const served_key *k, time_t now);
/* The registered verifier holding a certificate with this SHA-256 (the first in registry
 * order, should two list it), or NULL. */
const registered *snapshot_verifier_by_cert(const snapshot *s, const unsigned char sha256[32]);
/* The registry's certificates whose subject is name, equal as OpenSSL matches a
 * requestorName with a subject (X509_NAME_cmp), in registry order: *n of them from the one
 * returned, or NULL and *n 0. */
const signer_cand *snapshot_signers_by_subject(const snapshot *s, const X509_NAME *name, size_t *n);
/* The same for the certificates whose subject is encoded exactly as der (the usual case: a
 * client copies its certificate's subject into the requestorName), without decoding it. */
const signer_cand *snapshot_signers_by_subject_der(const snapshot *s, const unsigned char *der,
	size_t len, size_t *n);

void model_free(model *m);

#endif
