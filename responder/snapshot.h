/* What the responder answers from: an immutable snapshot of the repository (the trusted CA
 * keys, every partition's CRLs, the verifier registry), built from the model the sync thread
 * keeps, swapped in whole so that readers never block and never see half an update.
 * snapshot.c: its life, the build's order, the served keys' lookups; snapshot_crls.c: the
 * CRLs it answers from and their index; snapshot_registry.c: the verifier registry and its
 * indexes; model.c: the model's functions (model.h), model_free among them. */
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

/* One CRL's DER, shared by the model that received it and the snapshots that accepted it: a
 * snapshot keeps answering from (and the state copy is written from) the CRL it accepted after
 * the model has moved on to one it refuses. The count is atomic: snapshots are released by
 * any thread. */
typedef struct crl_der {
	atomic_int refs;
	unsigned char *der;	/* malloc'd; freed with the last reference */
	size_t len;
	unsigned char sha256[32];
} crl_der;

/* Takes der (malloc'd) over and hashes it; NULL (der untouched) on failure. (snapshot_crls.c) */
crl_der *crl_der_new(unsigned char *der, size_t len);
crl_der *crl_der_ref(crl_der *d);
void crl_der_unref(crl_der *d);

/* What one key's entries came from in one partition: what the next build compares a new CRL
 * of that key and partition with (rules (e) and (f), as the overlay compares with the stored
 * one), still answers from when the new one is refused, and may take over without checking
 * it again (snapshot_build_from). */
typedef enum crl_source_state {
	CRL_SOURCE_NONE,	/* no CRL of this key accepted */
	CRL_SOURCE_INDEXED,	/* one CRL, whose entries are the key's with this partition */
	CRL_SOURCE_LAPSED,	/* one that passes every rule but the time ones: no entries */
	CRL_SOURCE_MIXED,	/* several: checked again next time */
} crl_source_state;

typedef struct crl_source {
	unsigned char sha256[32];	/* of its DER (MIXED: of the one with the greatest number) */
	time_t this_update, next_update;	/* its times; MIXED: the latest thisUpdate */
	crl_source_state state;
	bool kept;			/* the previous snapshot's, in place of a refused CRL */
	ASN1_INTEGER *number;		/* its cRLNumber; MIXED: the greatest */
	crl_der **ders;			/* the accepted DER(s): what the state copy holds */
	size_t nders;
} crl_source;

/* The high-water mark of one CA key's CRLs for one partition DN: the greatest cRLNumber and
 * the latest thisUpdate any snapshot accepted there. Rules (e) and (f) compare a new CRL with
 * it, not with what the previous snapshot holds now: a rollback stays refused after a build in
 * which the partition had no CRL of that key, or no entry at all. Carried from snapshot to
 * snapshot whatever the model holds, and kept in the state copy. */
typedef struct crl_mark {
	char *dn;		/* the partition's, normalised (model_partition.ndn) */
	unsigned char key_id[SHA_DIGEST_LENGTH];
	ASN1_INTEGER *number;
	time_t this_update;
	unsigned char sha256[32];	/* of the CRL with that number: not its own successor */
} crl_mark;

/* A CRL a build refused, for the next build to refuse again unchecked while nothing its check
 * depended on has changed: the rules (CA keys, policy), the partition's marks (rule (e) names
 * the stored number), the clock only a little (a refusal by a time rule at that moment is never
 * remembered, and a refusal is checked again now and then: one caused by a failed allocation
 * does not last). */
typedef struct crl_refusal {
	size_t part;			/* in the snapshot's partition numbering */
	unsigned char sha256[32];
	long key;			/* the key it was meant for; -1: none the snapshot trusts */
	jpki_verdict v;
	unsigned char marks[32];	/* a digest of the partition's marks it was checked against */
	time_t checked_at;
} crl_refusal;

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
	size_t crls_checked, crls_reused;	/* by this build: CRLs checked; CRLs decided from prev */
	size_t crls_kept;		/* of those, prev's looked at again in place of a refused one */
	size_t crls_refused_again;	/* refused as prev refused them, unchecked */
	crl_refusal *refusals;		/* this build's, for the next one */
	size_t nrefusals;
	crl_mark *marks;		/* sorted by (dn, key_id): prev's, the model's, raised by this build */
	size_t nmarks;
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
	crl_der *ref;	/* a hashed partition CRL's shared DER (der is ref->der); else NULL */
} model_crl;

typedef struct model_partition {
	char *uuid, *dn;
	char *ndn;	/* dn normalised (case-folded): what its marks are kept under */
	model_crl *crls;
	size_t ncrls;
	/* crls[0..nhashed) are shared and hashed (ref). model_set_partition, which replaces a
	 * partition's CRLs (the sync thread, on an entry added or modified), hashes them at once;
	 * store_load appends the state copy's to crls unhashed, and sync_start then hashes them
	 * (model_hash_crls). A CRL beyond nhashed (its hashing failed) is checked at every build,
	 * never taken over from the previous snapshot, and copied by a snapshot that accepts it. */
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
	crl_mark *marks;	/* the state copy's (store_load): history a restart starts with */
	size_t nmarks;
	/* When slapd last confirmed the verifiers as they are here (the sync thread in the persist
	 * phase, heard from), or the state copy's time of it; 0: never. */
	time_t registry_confirmed;
	int ca_seen;
} model;

/* Building a snapshot: the configured anchors (as jpki_trust_read_anchors read them) extended
 * by the model's CA certificates that chain to them; every partition CRL checked with the
 * repository's rules (lib/crl_check; an invalid one is left out and logged, never trusted);
 * the index of each key's revoked serials. A CRL that passes every rule but the time ones
 * (expired, or from the future) is accepted without its entries (LAPSED): answers for its
 * key wait for a current one (tryLater).
 *
 * A build has a history: the marks (crl_mark) of prev and of the model (the state copy's),
 * and prev's CRLs (prev may be NULL). A new CRL of a partition is compared (rules (e), (f))
 * with the mark of its key for the partition's DN, unless it is a CRL prev accepted there or
 * the one that set the mark; and when a key is left without an accepted
 * CRL there because one was refused (by any rule; a CRL naming no trusted key counts for every
 * key), prev's CRL of that key is used again, as checked then: its entries and times, lapsing at
 * its nextUpdate. A key whose CRL was removed, nothing refused, is not kept. prev is only read.
 *
 * snapshot_build: no prev, every CRL judged against the model's marks alone, as at a start
 * (the daemon's first build, snapshot_build_from with no prev: from the state copy, which
 * holds only accepted CRLs and the marks, or from slapd). */
snapshot *snapshot_build(const model *m, STACK_OF(X509) *anchors, const jpki_crl_policy *pol,
	unsigned long generation, time_t now);
/* With prev as history (may be NULL), every CRL checked again: the reference the incremental
 * build must equal. */
snapshot *snapshot_build_full(const snapshot *prev, const model *m, STACK_OF(X509) *anchors,
	const jpki_crl_policy *pol, unsigned long generation, time_t now);
/* The same result, taking over from prev what has not changed: when prev was built with the
 * same CA keys and name and the same policy, a CRL it accepted alone for its key in a
 * partition of the same DN (same SHA-256; of the model's, a hashed one: model_partition.nhashed)
 * is not checked again, only its times against now, and its entries are copied from prev's
 * index. What the sync thread builds with (sync.c publish). */
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

/* In snapshot_crls.c. */
void crl_marks_free(crl_mark *marks, size_t n);

/* In model.c, declared with the model's types (some callers include only this header). */
void model_crls_free(model_crl *c, size_t n);
void model_free(model *m);

#endif
