/* The repository as the sync thread has seen it, keyed by entryUUID: the CA entry's
 * certificates, each partition's CRLs, each verifier. Only the sync thread touches it;
 * snapshots are built from it. */
#ifndef OCSPD_MODEL_H
#define OCSPD_MODEL_H
#include "snapshot.h"

/* Takes ownership of the CRL/certificate arrays (the DER of each, malloc'd; a partition's
 * CRLs are then shared with the snapshots that accept them, model_crl.ref). */
int model_set_ca(model *m, const char *uuid, model_crl *certs, size_t n);
int model_set_partition(model *m, const char *uuid, const char *dn, model_crl *crls, size_t n);
int model_set_verifier(model *m, const model_verifier *v);	/* copies v's strings, takes arrays */
void model_remove(model *m, const char *uuid);
/* Hashes the CRLs that were appended to a partition's crls directly (store_load does). */
void model_hash_crls(model *m);

/* A full refresh: everything is marked unseen; entries set or named present are seen;
 * model_sweep() removes what was not. */
void model_mark_all(model *m);
void model_mark_seen(model *m, const char *uuid);
void model_sweep(model *m);

#endif
