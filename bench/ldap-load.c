/* ldap-load: a closed-loop LDAP read load. THREADS connections, each bound as BINDDN, each
 * running base searches for ATTR over the entries listed in DNFILE (round robin from a
 * per-thread offset) for SECONDS; prints searches per second, values and bytes received, and
 * the p50/p99 latency. Fails if any search fails or returns no value of ATTR, so a load that
 * reads nothing cannot pass for a fast one.
 *
 *   ldap-load URI BINDDN PASSWORD-FILE DNFILE ATTR THREADS SECONDS
 */
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"

typedef struct worker {
	pthread_t tid;
	int index;
	long searches, values, failures;
	unsigned long long bytes;
	latencies lat;
} worker;

static const char *uri, *binddn, *attr;
static char password[256];
static char **dns;
static int ndns, seconds;

static void *run(void *arg)
{
	worker *w = arg;
	LDAP *ld;
	struct berval cred = { strlen(password), password }, **vals;
	char *attrs[] = { (char *)attr, NULL };
	LDAPMessage *res, *e;
	int version = LDAP_VERSION3, i = w->index, k;
	double end, t0, t1;

	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS)
		return NULL;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	if (ldap_sasl_bind_s(ld, binddn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) != LDAP_SUCCESS) {
		w->failures++;
		return NULL;
	}
	end = bench_now() + seconds;
	while ((t0 = bench_now()) < end) {
		if (ldap_search_ext_s(ld, dns[i++ % ndns], LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
			    NULL, NULL, 0, &res) != LDAP_SUCCESS) {
			w->failures++;
			ldap_msgfree(res);
			continue;
		}
		t1 = bench_now();
		for (e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
			vals = ldap_get_values_len(ld, e, attr);
			if (vals == NULL)
				w->failures++;
			for (k = 0; vals != NULL && vals[k] != NULL; k++, w->values++)
				w->bytes += vals[k]->bv_len;
			ldap_value_free_len(vals);
		}
		ldap_msgfree(res);
		w->searches++;
		latencies_add(&w->lat, t1 - t0);
	}
	ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	worker *ws;
	FILE *fp;
	char line[1024];
	int threads, i;
	long searches = 0, values = 0, failures = 0;
	unsigned long long bytes = 0;
	latencies all = { 0 };
	double p50, p99;

	if (argc != 8) {
		fprintf(stderr, "usage: ldap-load URI BINDDN PASSWORD-FILE DNFILE ATTR THREADS SECONDS\n");
		return 2;
	}
	uri = argv[1];
	binddn = argv[2];
	attr = argv[5];
	threads = atoi(argv[6]);
	seconds = atoi(argv[7]);
	if ((fp = fopen(argv[3], "r")) == NULL || fgets(password, sizeof(password), fp) == NULL)
		return 2;
	fclose(fp);
	password[strcspn(password, "\r\n")] = '\0';
	if ((fp = fopen(argv[4], "r")) == NULL)
		return 2;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		dns = realloc(dns, (size_t)(ndns + 1) * sizeof(*dns));
		dns[ndns++] = strdup(line);
	}
	fclose(fp);
	if (ndns == 0 || threads <= 0 || seconds <= 0)
		return 2;
	ws = calloc((size_t)threads, sizeof(*ws));
	for (i = 0; i < threads; i++) {
		ws[i].index = i * (ndns / threads + 1);
		pthread_create(&ws[i].tid, NULL, run, &ws[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(ws[i].tid, NULL);
		searches += ws[i].searches;
		values += ws[i].values;
		failures += ws[i].failures;
		bytes += ws[i].bytes;
		latencies_merge(&all, &ws[i].lat);
	}
	latencies_percentiles(&all, &p50, &p99);
	printf("searches_per_s=%.1f values=%ld bytes=%llu failures=%ld p50_ms=%.3f p99_ms=%.3f\n",
		(double)searches / seconds, values, bytes, failures, p50, p99);
	return failures == 0 && values > 0 ? 0 : 1;
}
