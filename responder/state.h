/* The snapshot in force: readers take a reference without waiting for writers; and when
 * its verifier registry was last confirmed with the repository (registry-max-age). */
#ifndef OCSPD_STATE_H
#define OCSPD_STATE_H
#include "snapshot.h"

snapshot *state_acquire(void);		/* a reference to the current snapshot, or NULL */
void state_publish(snapshot *s);	/* takes s; the previous one goes when its readers do */
unsigned long state_next_generation(void);
/* When the sync thread last had the registry confirmed by slapd (sync.c), or took the time
 * from the state copy; 0: never. */
void state_registry_confirmed_at(time_t t);
time_t state_registry_confirmed(void);

#endif
