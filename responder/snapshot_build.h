/* The parts of a snapshot's build, for responder/snapshot*.c only (everything else uses
 * snapshot.h): snapshot.c runs a build (the trust, then the CRLs, then the registry) with the
 * parts the other two files give it here, and the helpers they share. */
#ifndef OCSPD_SNAPSHOT_BUILD_H
#define OCSPD_SNAPSHOT_BUILD_H
#include <stdbool.h>
#include <time.h>

#include "snapshot.h"

/* snapshot_crls.c. s's served keys, one per key of s->trust, with the CRLs they answer from
 * and their index of revoked serials: every partition CRL of m checked against what prev
 * accepted (prev may be NULL), or, with reuse, taken over from prev when unchanged. */
int snapshot_crls_build(snapshot *s, const model *m, const jpki_crl_policy *pol, time_t now, const snapshot *prev,
	bool reuse);
/* The order of revoked entries by serial alone, (len, serial): what served_key_lookup
 * searches, and the index's first key. */
int snapshot_cmp_serial(const void *a, const void *b);

/* snapshot.c. The hashes of k's CA name and key a CertID is matched with
 * (snapshot_find_issuer), made once, as the key enters the snapshot. */
void snapshot_hash_issuer(served_key *k);

/* snapshot_registry.c. s's copy of m's verifiers (prev's decoded certificates shared where
 * the DER is the same; prev may be NULL), then its indexes by certificate hash and by
 * subject. */
int snapshot_registry_copy(snapshot *s, const model *m, const snapshot *prev);
int snapshot_registry_index(snapshot *s);

#endif
