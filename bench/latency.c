#include "latency.h"

#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int latencies_add(latencies *l, double seconds)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		double *grown = realloc(l->v, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n++] = seconds;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int latencies_merge(latencies *into, latencies *from)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < from->n && rc == 0; i++)
		rc = latencies_add(into, from->v[i]);
	latencies_free(from);
	return rc;
}

void latencies_percentiles(latencies *l, double *p50_ms, double *p99_ms)
{
	*p50_ms = *p99_ms = 0;
	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp);
	*p50_ms = l->v[l->n / 2] * 1e3;
	*p99_ms = l->v[l->n * 99 / 100] * 1e3;
}

void latencies_free(latencies *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
