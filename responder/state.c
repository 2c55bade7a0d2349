#include "state.h"

#include <pthread.h>
#include <stdatomic.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static snapshot *current;
static unsigned long generation;
static _Atomic time_t registry_confirmed;

snapshot *state_acquire(void)
{
	snapshot *s;

	/* The lock only covers taking the reference: a few instructions. */
	pthread_mutex_lock(&lock);
	s = snapshot_ref(current);
	pthread_mutex_unlock(&lock);
	return s;
}

void state_publish(snapshot *s)
{
	snapshot *old;

	pthread_mutex_lock(&lock);
	old = current;
	current = s;
	pthread_mutex_unlock(&lock);
	snapshot_unref(old);
}

unsigned long state_next_generation(void)
{
	unsigned long g;

	pthread_mutex_lock(&lock);
	g = ++generation;
	pthread_mutex_unlock(&lock);
	return g;
}

void state_registry_confirmed_at(time_t t)
{
	atomic_store(&registry_confirmed, t);
}

time_t state_registry_confirmed(void)
{
	return atomic_load(&registry_confirmed);
}
