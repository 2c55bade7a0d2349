/* index-bench: the responder's index of revoked serials, built by its own code
 * (responder/snapshot*.c: snapshot_build() checks every partition CRL with the repository's
 * rules from lib/ and indexes the entries), timed and weighed, against OpenSSL alone parsing
 * and verifying the same CRLs (d2i_X509_CRL + X509_CRL_verify) in the same run.
 *
 *   index-bench ANCHOR-PEM ROUNDS PARTITION-DN CRL-FILE [PARTITION-DN CRL-FILE]...
 *               [--replace PARTITION-DN CRL-FILE]
 *
 * Each round runs the baseline, then snapshot_build() on a model holding the given partitions
 * (their CRL DER already in memory, as the sync thread holds it). Prints the median times and,
 * for the index: sizeof(revoked), the heap it keeps per serial (malloc's in-use bytes while the
 * snapshot lives, less before; the entry array's growth slack included) and the resident
 * memory it keeps per serial (/proc/self/statm after malloc_trim, less before), and the
 * heap the parsed X509_CRL takes per entry for comparison. Fails when the index does not hold
 * every entry of the CRLs or a serial of the CRL is not found in it.
 *
 * With --replace, then, each round: a snapshot of the model, the partition's CRL replaced by
 * CRL-FILE (as the sync thread does on a change), and the next snapshot built both ways:
 * snapshot_build_from() taking over from the previous one, and snapshot_build() checking
 * everything; the medians, the heap the incremental snapshot keeps per serial, and a failure
 * when the two differ in any entry or time. Then the same with the largest CRL moved under a
 * DN it does not name, so that every snapshot refuses it (refused_case).
 */
#include <malloc.h>
#include <stdarg.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "latency.h"
#include "model.h"
#include "ocspd.h"
#include "snapshot.h"

#define MAX_ROUNDS 20

/* The snapshot code logs through the daemon's logger; here, to stderr. */
void ocspd_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > OCSPD_LOG_WARNING)
		return;
	va_start(ap, fmt);
	fputs("index-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static size_t rss_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (fp != NULL) {
		if (fscanf(fp, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(fp);
	}
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n)) == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	} else {
		*len = (size_t)n;
	}
	if (fp != NULL)
		fclose(fp);
	return buf;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

/* A copy of the DER as a model's one-CRL array. */
static model_crl *crl_copy(const unsigned char *der, size_t len)
{
	model_crl *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->der = malloc(len)) == NULL) {
		free(c);
		return NULL;
	}
	memcpy(c->der, der, len);
	c->len = len;
	return c;
}

/* The two snapshots serve the same: entry for entry, time for time. */
static int same_index(const snapshot *a, const snapshot *b)
{
	size_t k;

	if (a->nkeys != b->nkeys)
		return 0;
	for (k = 0; k < a->nkeys; k++) {
		const served_key *x = &a->keys[k], *y = &b->keys[k];

		if (x->nentries != y->nentries || x->nparts != y->nparts ||
		    (x->nentries > 0 && memcmp(x->entries, y->entries, x->nentries * sizeof(*x->entries)) != 0) ||
		    (x->nparts > 0 && memcmp(x->parts, y->parts, x->nparts * sizeof(*x->parts)) != 0) ||
		    x->all_current_at_build != y->all_current_at_build || x->oldest_this != y->oldest_this ||
		    x->earliest_next != y->earliest_next)
			return 0;
	}
	return 1;
}

/* The --replace case: one small partition's new CRL, built incrementally and in full. */
static int replace_case(model *m, STACK_OF(X509) *anchors, const jpki_crl_policy *pol, int rounds, const char *dn,
	const char *file)
{
	double inc_t[MAX_ROUNDS], full_t[MAX_ROUNDS], hash_t[MAX_ROUNDS];
	size_t newlen = 0, oldlen, nindexed = 0, checked = 0, reused = 0, k;
	long heap = 0;
	unsigned char *newder = read_file(file, &newlen), *oldder;
	model_partition *mp = NULL;
	model_crl *c;
	char *uuid;
	int r, p, differ = 0;

	for (p = 0; p < (int)m->nparts && mp == NULL; p++)
		if (strcmp(m->parts[p].dn, dn) == 0 && m->parts[p].ncrls == 1)
			mp = &m->parts[p];
	if (newder == NULL || mp == NULL) {
		fprintf(stderr, "index-bench: --replace: %s unreadable or %s not a partition with one CRL\n", file, dn);
		return 1;
	}
	oldlen = mp->crls[0].len;
	oldder = malloc(oldlen);
	uuid = strdup(mp->uuid);
	if (oldder == NULL || uuid == NULL)
		return 1;
	memcpy(oldder, mp->crls[0].der, oldlen);
	for (r = 0; r < rounds; r++) {
		snapshot *prev, *inc, *full;
		size_t h0, h1;
		double t0;

		if ((c = crl_copy(oldder, oldlen)) == NULL || model_set_partition(m, uuid, dn, c, 1) < 0)
			return 1;
		malloc_trim(0);
		h0 = heap_in_use();
		prev = snapshot_build(m, anchors, pol, 1, time(NULL));
		if ((c = crl_copy(newder, newlen)) == NULL || prev == NULL)
			return 1;
		/* the change as the sync thread applies it: the new CRL hashed as it enters */
		t0 = bench_now();
		if (model_set_partition(m, uuid, dn, c, 1) < 0)
			return 1;
		hash_t[r] = bench_now() - t0;
		t0 = bench_now();
		inc = snapshot_build_from(prev, m, anchors, pol, 2, time(NULL));
		inc_t[r] = bench_now() - t0;
		if (inc == NULL)
			return 1;
		snapshot_unref(prev);
		malloc_trim(0);
		/* what the incremental snapshot keeps, the model's own change (the DER) left out */
		h1 = heap_in_use();
		heap = (long)h1 - (long)h0 - ((long)newlen - (long)oldlen);
		t0 = bench_now();
		full = snapshot_build(m, anchors, pol, 2, time(NULL));
		full_t[r] = bench_now() - t0;
		if (full == NULL)
			return 1;
		differ += !same_index(inc, full);
		checked = inc->crls_checked;
		reused = inc->crls_reused;
		for (k = nindexed = 0; k < inc->nkeys; k++)
			nindexed += inc->keys[k].nentries;
		snapshot_unref(inc);
		snapshot_unref(full);
	}
	printf("replace: partitions=%zu dn=%s new_crl_bytes=%zu indexed=%zu checked=%zu taken_over=%zu differ=%d\n",
		m->nparts, dn, newlen, nindexed, checked, reused, differ);
	printf("replace: hash_new_crl_s=%.6f incremental_build_s=%.3f full_build_s=%.3f speedup=%.1f "
	       "incremental_index_heap_per_serial=%.1f\n",
		median(hash_t, rounds), median(inc_t, rounds), median(full_t, rounds),
		median(full_t, rounds) / median(inc_t, rounds), nindexed ? (double)heap / (double)nindexed : 0.0);
	/* the partition as it was, for refused_case */
	differ += (c = crl_copy(oldder, oldlen)) == NULL || model_set_partition(m, uuid, dn, c, 1) < 0;
	free(newder);
	free(oldder);
	free(uuid);
	return differ == 0 ? 0 : 1;
}

/* After --replace: the largest CRL moved under a DN it does not name (rule (d) refuses it, as
 * the responder refuses a CRL written around the overlay), then the same small partition's CRL
 * replaced again: the next snapshot built incrementally (the refusal taken from the previous
 * snapshot, unchecked) and in full (the large CRL checked and refused again). */
static int refused_case(model *m, STACK_OF(X509) *anchors, const jpki_crl_policy *pol, int rounds,
	const char *dn, const char *file)
{
	static const char misplaced[] = "cn=199999,ou=CRL Distribution Points,ou=Chiba-ken,o=JPKI,c=JP";
	double inc_t[MAX_ROUNDS], full_t[MAX_ROUNDS];
	size_t len[2] = { 0, 0 }, again = 0, checked = 0, p, big = 0, small = SIZE_MAX;
	unsigned char *der[2] = { NULL, read_file(file, &len[1]) };
	char *uuid;
	model_crl *c;
	int r, differ = 0;

	for (p = 0; p < m->nparts; p++) {
		if (m->parts[p].ncrls == 1 && m->parts[p].crls[0].len > m->parts[big].crls[0].len)
			big = p;
		if (strcmp(m->parts[p].dn, dn) == 0 && m->parts[p].ncrls == 1)
			small = p;
	}
	if (der[1] == NULL || small == SIZE_MAX || small == big ||
	    (c = crl_copy(m->parts[big].crls[0].der, m->parts[big].crls[0].len)) == NULL ||
	    model_set_partition(m, m->parts[big].uuid, misplaced, c, 1) < 0 ||
	    (uuid = strdup(m->parts[small].uuid)) == NULL || (der[0] = malloc(m->parts[small].crls[0].len)) == NULL)
		return 1;
	len[0] = m->parts[small].crls[0].len;
	memcpy(der[0], m->parts[small].crls[0].der, len[0]);
	for (r = 0; r < rounds; r++) {
		snapshot *prev, *inc, *full;
		double t0;

		/* the small partition's CRL replaced by the newer one, as in replace_case */
		if ((c = crl_copy(der[0], len[0])) == NULL || model_set_partition(m, uuid, dn, c, 1) < 0 ||
		    (prev = snapshot_build(m, anchors, pol, 1, time(NULL))) == NULL ||
		    (c = crl_copy(der[1], len[1])) == NULL || model_set_partition(m, uuid, dn, c, 1) < 0)
			return 1;
		t0 = bench_now();
		inc = snapshot_build_from(prev, m, anchors, pol, 2, time(NULL));
		inc_t[r] = bench_now() - t0;
		t0 = bench_now();
		full = snapshot_build(m, anchors, pol, 2, time(NULL));
		full_t[r] = bench_now() - t0;
		if (inc == NULL || full == NULL)
			return 1;
		differ += !same_index(inc, full);
		again = inc->crls_refused_again;
		checked = inc->crls_checked;
		snapshot_unref(prev);
		snapshot_unref(inc);
		snapshot_unref(full);
	}
	printf("refused: misplaced_crl_bytes=%zu checked=%zu refused_again=%zu differ=%d\n",
		m->parts[big].crls[0].len, checked, again, differ);
	printf("refused: incremental_build_s=%.4f full_build_s=%.3f speedup=%.0f\n", median(inc_t, rounds),
		median(full_t, rounds), median(full_t, rounds) / median(inc_t, rounds));
	free(der[0]);
	free(der[1]);
	free(uuid);
	return differ == 0 && again == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
	model m;
	STACK_OF(X509) *anchors = sk_X509_new_null();
	X509 *anchor = NULL;
	EVP_PKEY *anchor_key;
	jpki_crl_policy pol;
	FILE *fp;
	int rounds, r, p, nparts;
	size_t total_entries = 0, nindexed = 0, k, missing = 0, idx_heap = 0, crl_heap = 0, der_bytes = 0;
	long idx_rss = 0;
	double base_t[MAX_ROUNDS], build_t[MAX_ROUNDS], parse_t[MAX_ROUNDS];
	char uuid[32];
	const char *replace_dn = NULL, *replace_file = NULL;
	double t0, hash_s = 0;

	if (argc >= 8 && strcmp(argv[argc - 3], "--replace") == 0) {
		replace_dn = argv[argc - 2];
		replace_file = argv[argc - 1];
		argc -= 3;
	}
	if (argc < 5 || (argc - 3) % 2 != 0) {
		fprintf(stderr, "usage: index-bench ANCHOR-PEM ROUNDS PARTITION-DN CRL-FILE [PARTITION-DN CRL-FILE]...\n"
				"                   [--replace PARTITION-DN CRL-FILE]\n");
		return 2;
	}
	rounds = atoi(argv[2]);
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "index-bench: ROUNDS 1-%d\n", MAX_ROUNDS);
		return 2;
	}
	if ((fp = fopen(argv[1], "r")) == NULL || (anchor = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL ||
	    anchors == NULL || !sk_X509_push(anchors, anchor)) {
		fprintf(stderr, "index-bench: %s: no PEM certificate\n", argv[1]);
		return 1;
	}
	fclose(fp);
	anchor_key = X509_get0_pubkey(anchor);
	jpki_crl_policy_default(&pol);
	pol.max_size = (size_t)1 << 30;	/* the size cap is a deployment choice; not measured here */
	memset(&m, 0, sizeof(m));
	nparts = (argc - 3) / 2;
	for (p = 0; p < nparts; p++) {
		model_crl *c = calloc(1, sizeof(*c));

		if (c == NULL || (c->der = read_file(argv[4 + 2 * p], &c->len)) == NULL) {
			fprintf(stderr, "index-bench: %s: unreadable\n", argv[4 + 2 * p]);
			return 1;
		}
		der_bytes += c->len;
		snprintf(uuid, sizeof(uuid), "partition-%d", p);
		t0 = bench_now();
		if (model_set_partition(&m, uuid, argv[3 + 2 * p], c, 1) < 0)
			return 1;
		hash_s += bench_now() - t0;	/* the SHA-256 the model keeps, made as a CRL enters */
	}
	printf("model: partitions=%d der_bytes=%zu entry_hash_s=%.3f\n", nparts, der_bytes, hash_s);

	for (r = 0; r < rounds; r++) {
		double t0, t1;
		size_t h0, h1, rss0, rss1, entries = 0;
		snapshot *s;

		/* Baseline: OpenSSL parses and verifies each CRL, nothing else. */
		h0 = heap_in_use();
		t0 = bench_now();
		{
			X509_CRL **crls = calloc((size_t)nparts, sizeof(*crls));
			double tp;

			if (crls == NULL)
				return 1;
			for (p = 0; p < nparts; p++) {
				const unsigned char *d = m.parts[p].crls[0].der;

				crls[p] = d2i_X509_CRL(NULL, &d, (long)m.parts[p].crls[0].len);
				if (crls[p] == NULL) {
					fprintf(stderr, "index-bench: CRL %d does not parse\n", p);
					return 1;
				}
			}
			tp = bench_now();
			for (p = 0; p < nparts; p++) {
				STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crls[p]);

				if (X509_CRL_verify(crls[p], anchor_key) != 1) {
					fprintf(stderr, "index-bench: CRL %d does not verify with %s\n", p, argv[1]);
					return 1;
				}
				entries += revs != NULL ? (size_t)sk_X509_REVOKED_num(revs) : 0;
			}
			t1 = bench_now();
			h1 = heap_in_use();
			parse_t[r] = tp - t0;
			base_t[r] = t1 - t0;
			crl_heap = h1 - h0;
			for (p = 0; p < nparts; p++)
				X509_CRL_free(crls[p]);
			free(crls);
		}
		total_entries = entries;
		malloc_trim(0);

		/* The responder's index. */
		rss0 = rss_bytes();
		h0 = heap_in_use();
		t0 = bench_now();
		s = snapshot_build(&m, anchors, &pol, (unsigned long)r + 1, time(NULL));
		t1 = bench_now();
		if (s == NULL) {
			fprintf(stderr, "index-bench: snapshot_build failed\n");
			return 1;
		}
		malloc_trim(0);
		h1 = heap_in_use();
		rss1 = rss_bytes();
		build_t[r] = t1 - t0;
		idx_heap = h1 - h0;
		idx_rss = (long)rss1 - (long)rss0;
		nindexed = 0;
		for (k = 0; k < s->nkeys; k++)
			nindexed += s->keys[k].nentries;
		/* Every serial of the CRLs is in the index (last round only: it takes a parse). */
		if (r == rounds - 1) {
			for (p = 0; p < nparts; p++) {
				const unsigned char *d = m.parts[p].crls[0].der;
				X509_CRL *crl = d2i_X509_CRL(NULL, &d, (long)m.parts[p].crls[0].len);
				STACK_OF(X509_REVOKED) *revs = crl != NULL ? X509_CRL_get_REVOKED(crl) : NULL;
				int i, n = revs != NULL ? sk_X509_REVOKED_num(revs) : 0;

				for (i = 0; i < n; i++) {
					const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revs, i));
					const revoked *hit = NULL;

					for (k = 0; k < s->nkeys && hit == NULL; k++)
						hit = served_key_lookup(&s->keys[k], serial);
					if (hit == NULL)
						missing++;
				}
				X509_CRL_free(crl);
			}
		}
		snapshot_unref(s);
		malloc_trim(0);
	}
	printf("partitions=%d entries=%zu indexed=%zu missing=%zu der_bytes=%zu rounds=%d\n", nparts, total_entries,
		nindexed, missing, der_bytes, rounds);
	printf("openssl_parse_s=%.3f openssl_parse_verify_s=%.3f snapshot_build_s=%.3f ratio=%.2f\n",
		median(parse_t, rounds), median(base_t, rounds), median(build_t, rounds),
		median(build_t, rounds) / median(base_t, rounds));
	printf("sizeof_revoked=%zu index_heap_per_serial=%.1f index_rss_per_serial=%.1f openssl_crl_heap_per_entry=%.1f\n",
		sizeof(revoked), nindexed ? (double)idx_heap / (double)nindexed : 0.0,
		nindexed ? (double)idx_rss / (double)nindexed : 0.0,
		total_entries ? (double)crl_heap / (double)total_entries : 0.0);
	if (nindexed != total_entries || missing != 0 || total_entries == 0)
		return 1;
	if (replace_dn != NULL && (replace_case(&m, anchors, &pol, rounds, replace_dn, replace_file) != 0 ||
				   refused_case(&m, anchors, &pol, rounds, replace_dn, replace_file) != 0))
		return 1;
	model_free(&m);
	sk_X509_pop_free(anchors, X509_free);
	return 0;
}
