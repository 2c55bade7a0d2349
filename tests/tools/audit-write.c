/* audit-write: appends records to an audit trail through lib/audit.c, for the tests.
 *
 *   audit-write --dir DIR [--component slapd] [--count N] [--event crl-read|ocsp-request|
 *               crl-publish|registry-change] [--identity DN] [--result TEXT] [--items K]
 *               [--start YYYY-MM-DDTHH:MM:SSZ [--step SECONDS]] [--threads T]
 *               [--key-uri URI [--pin-file F] [--cert PEM] [--every N]]
 *
 * crl-read records carry K partition entries (method ldap), ocsp-request records K CertIDs
 * (method ocsp). --start stamps the records with an injected clock that advances --step
 * seconds (default 1) per record. Prints "wrote N"; exit 1 (with "append failed after N
 * records: …") as soon as an append fails. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ledger.h"

static time_t clock_start;
static long clock_step = 1;
static long clock_calls;
static pthread_mutex_t clock_mu = PTHREAD_MUTEX_INITIALIZER;

static time_t fake_clock(void)
{
	time_t t;

	pthread_mutex_lock(&clock_mu);
	t = clock_start + clock_calls++ * clock_step;
	pthread_mutex_unlock(&clock_mu);
	return t;
}

typedef struct job {
	jpki_audit *a;
	const char *event, *identity, *result;
	long items, count;
	long written;
	jpki_err err;
	int failed;
} job;

static const char *partitions[] = { "121002", "122025", "122033", "122041", "122050" };

static char *details_of(const job *j, long n)
{
	size_t cap = 256 + (size_t)j->items * 96;
	char *d = malloc(cap);
	size_t len = 0;
	long i;

	if (d == NULL)
		return NULL;
	if (strcmp(j->event, "crl-read") == 0) {
		len += (size_t)snprintf(d + len, cap - len, "{\"entries\":[");
		for (i = 0; i < j->items; i++)
			len += (size_t)snprintf(d + len, cap - len, "%s\"cn=%s,ou=CRL Distribution Points,"
				"ou=Chiba-ken,o=JPKI,c=JP\"", i ? "," : "", partitions[i % 5]);
		snprintf(d + len, cap - len, "],\"scope\":\"base\"}");
	} else if (strcmp(j->event, "ocsp-request") == 0) {
		len += (size_t)snprintf(d + len, cap - len, "{\"certids\":[");
		for (i = 0; i < j->items; i++)
			len += (size_t)snprintf(d + len, cap - len, "%s{\"serial\":\"%lX\",\"status\":\"%s\"}",
				i ? "," : "", 0x1000 + n * 16 + i, i % 3 == 2 ? "revoked" : "good");
		snprintf(d + len, cap - len, "],\"cache\":\"%s\"}", n % 2 ? "hit" : "signed");
	} else if (strcmp(j->event, "crl-publish") == 0) {
		snprintf(d, cap, "{\"entry\":\"cn=121002,ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,"
			"c=JP\",\"crl_number\":%ld}", n + 1);
	} else {
		snprintf(d, cap, "{\"entry\":\"uid=v%ld,ou=Verifiers,ou=Chiba-ken,o=JPKI,c=JP\","
			"\"change\":\"modify\"}", n);
	}
	return d;
}

static void *run(void *arg)
{
	job *j = arg;
	jpki_audit_record r = { 0 };
	char client[32], *details;
	long n;
	int ldap = strcmp(j->event, "crl-read") == 0 || strcmp(j->event, "crl-publish") == 0 ||
		   strcmp(j->event, "registry-change") == 0;

	for (n = 0; n < j->count; n++) {
		details = details_of(j, n);
		snprintf(client, sizeof(client), "192.0.2.%ld:%ld", 1 + n % 200, 40000 + n % 20000);
		r.event = j->event;
		r.result = j->result;
		r.identity = j->identity;
		r.auth = ldap ? "simple" : "client-certificate";
		r.client = client;
		r.method = strcmp(j->event, "crl-read") == 0 ? "ldap" :
			   strcmp(j->event, "ocsp-request") == 0 ? "ocsp" : NULL;
		r.conn = ldap ? 1000 + n : -1;
		r.op = ldap ? 1 : -1;
		r.details = details;
		if (jpki_audit_append(j->a, &r, &j->err) < 0) {
			free(details);
			j->failed = 1;
			return NULL;
		}
		free(details);
		j->written++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "component", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' }, { "event", required_argument, NULL, 'e' },
		{ "identity", required_argument, NULL, 'i' }, { "result", required_argument, NULL, 'r' },
		{ "items", required_argument, NULL, 'k' }, { "start", required_argument, NULL, 's' },
		{ "step", required_argument, NULL, 'S' }, { "threads", required_argument, NULL, 't' },
		{ "key-uri", required_argument, NULL, 'K' }, { "pin-file", required_argument, NULL, 'P' },
		{ "cert", required_argument, NULL, 'C' }, { "every", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 }
	};
	jpki_audit_opts o = { .component = "slapd" };
	job j = { .event = "crl-read", .identity = "", .result = "ok", .items = 1, .count = 1 };
	job *jobs;
	pthread_t *th;
	jpki_audit *a;
	jpki_err err;
	long threads = 1, i, total = 0;
	int opt, failed = 0;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': o.dir = optarg; break;
		case 'c': o.component = optarg; break;
		case 'n': j.count = atol(optarg); break;
		case 'e': j.event = optarg; break;
		case 'i': j.identity = optarg; break;
		case 'r': j.result = optarg; break;
		case 'k': j.items = atol(optarg); break;
		case 's':
			if (jpki_parse_utc(optarg, &clock_start) < 0) {
				fprintf(stderr, "audit-write: --start %s is not YYYY-MM-DDTHH:MM:SSZ\n", optarg);
				return 2;
			}
			jpki_audit_set_clock(fake_clock);
			break;
		case 'S': clock_step = atol(optarg); break;
		case 't': threads = atol(optarg); break;
		case 'K': o.checkpoint_key_uri = optarg; break;
		case 'P': o.checkpoint_pin_file = optarg; break;
		case 'C': o.checkpoint_cert = optarg; break;
		case 'E': o.checkpoint_every = (unsigned)atol(optarg); break;
		default: return 2;
		}
	}
	if (o.dir == NULL || threads < 1) {
		fprintf(stderr, "audit-write: --dir is required\n");
		return 2;
	}
	if (jpki_audit_open(&o, &a, &err) < 0) {
		fprintf(stderr, "audit-write: %s\n", err.text);
		return 1;
	}
	jobs = calloc((size_t)threads, sizeof(*jobs));
	th = calloc((size_t)threads, sizeof(*th));
	for (i = 0; i < threads; i++) {
		jobs[i] = j;
		jobs[i].a = a;
		jobs[i].count = j.count / threads + (i < j.count % threads);
		pthread_create(&th[i], NULL, run, &jobs[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += jobs[i].written;
		if (jobs[i].failed && !failed) {
			failed = 1;
			err = jobs[i].err;
		}
	}
	jpki_audit_close(a);
	free(jobs);
	free(th);
	if (failed) {
		fprintf(stderr, "append failed after %ld records: %s\n", total, err.text);
		printf("wrote %ld\n", total);
		return 1;
	}
	printf("wrote %ld\n", total);
	return 0;
}
