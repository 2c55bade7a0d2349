/* A FIFO of jobs under one mutex, and the threads that take them. */
#include "signpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct job {
	signpool_job *fn;
	void *arg;
	struct job *next;
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static job *head, *tail;
static pthread_t *threads;
static unsigned nthreads;
static bool running, stopping;
static atomic_uint backlog;
/* The job this signing thread runs is still counted in backlog. */
static _Thread_local bool counted;

static void *signing_thread(void *arg)
{
	job *j;

	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (head == NULL && !stopping)
			pthread_cond_wait(&work, &mu);
		if (head == NULL)
			break;
		j = head;
		if ((head = j->next) == NULL)
			tail = NULL;
		pthread_mutex_unlock(&mu);
		counted = true;
		j->fn(j->arg);
		signpool_signed();
		free(j);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int signpool_start(unsigned n, char *err, size_t errlen)
{
	unsigned i;

	if (n == 0)
		n = 1;
	if ((threads = calloc(n, sizeof(*threads))) == NULL) {
		snprintf(err, errlen, "signing threads: out of memory");
		return -1;
	}
	stopping = false;
	for (i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, signing_thread, NULL) != 0)
			break;
	nthreads = i;
	if (i == 0) {
		free(threads);
		threads = NULL;
		snprintf(err, errlen, "signing threads: none could be started");
		return -1;
	}
	pthread_mutex_lock(&mu);
	running = true;
	pthread_mutex_unlock(&mu);
	return 0;
}

void signpool_submit(signpool_job *fn, void *arg)
{
	job *j = malloc(sizeof(*j));

	pthread_mutex_lock(&mu);
	if (!running || stopping || j == NULL) {
		pthread_mutex_unlock(&mu);
		free(j);
		fn(arg);	/* no pool (or no memory for the queue): sign here */
		return;
	}
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	atomic_fetch_add(&backlog, 1);
	if (tail != NULL)
		tail->next = j;
	else
		head = j;
	tail = j;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&mu);
}

void signpool_signed(void)
{
	if (counted) {
		counted = false;
		atomic_fetch_sub(&backlog, 1);
	}
}

unsigned signpool_backlog(void)
{
	return atomic_load(&backlog);
}

void signpool_stop(void)
{
	unsigned i;

	pthread_mutex_lock(&mu);
	if (!running) {
		pthread_mutex_unlock(&mu);
		return;
	}
	stopping = true;
	pthread_cond_broadcast(&work);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_lock(&mu);
	running = false;
	pthread_mutex_unlock(&mu);
	free(threads);
	threads = NULL;
	nthreads = 0;
}
