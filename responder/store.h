/* The last good copy of the repository on local disk, so that the responder starts and
 * answers while slapd is unreachable. Answers from it are still bound by each CRL's
 * nextUpdate: a stale copy gives tryLater, never "good"; and its verifier registry by
 * registry-max-age from when slapd last confirmed it. */
#ifndef OCSPD_STORE_H
#define OCSPD_STORE_H
#include <stddef.h>
#include "snapshot.h"

/* The model's entries, with the CRLs s (built from m) accepted and s's marks: a restart
 * without slapd answers from the last good data, and compares what slapd then has with the
 * marks (rules e, f); and m->registry_confirmed. A failed write leaves the previous copy in
 * place. */
int store_save(const char *dir, const model *m, const snapshot *s, char *err, size_t errlen);
/* 0 when loaded (the marks into m->marks, the registry's confirmation into
 * m->registry_confirmed: an older copy's is when it was written), 1 when there is no copy
 * yet, -1 on a damaged copy (nothing loaded). */
int store_load(const char *dir, model *m, char *err, size_t errlen);

#endif
