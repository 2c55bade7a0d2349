/* What the benchmark programs share: a monotonic clock, and latencies collected per thread
 * and summed up as p50/p99. */
#ifndef BENCH_LATENCY_H
#define BENCH_LATENCY_H
#include <stddef.h>

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/* One thread's latencies, in seconds. Zero-initialised is empty. */
typedef struct latencies {
	double *v;
	size_t n, cap;
} latencies;

/* -1 when out of memory (the sample is dropped). */
int latencies_add(latencies *l, double seconds);
/* Moves what `from` holds (one thread's) into `into`; -1 when out of memory. */
int latencies_merge(latencies *into, latencies *from);
/* p50 and p99 in milliseconds (0 when there are none); sorts l. */
void latencies_percentiles(latencies *l, double *p50_ms, double *p99_ms);
void latencies_free(latencies *l);

#endif
