/* The snapshot in force: readers take a reference without waiting for writers. */
#ifndef OCSPD_STATE_H
#define OCSPD_STATE_H
#include "snapshot.h"

snapshot *state_acquire(void);		/* a reference to the current snapshot, or NULL */
void state_publish(snapshot *s);	/* takes s; the previous one goes when its readers do */
unsigned long state_next_generation(void);

#endif
