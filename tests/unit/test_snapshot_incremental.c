/* Unit tests for the incremental snapshot build (responder/snapshot.c snapshot_build_from):
 * what it takes over from the previous snapshot must give what a full build of the same
 * model with the same history gives (snapshot_build_full: every CRL checked again, against
 * what prev accepted), entry for entry, time for time, record for record and message for
 * message; and what changed, only that, is checked again. A build without history
 * (snapshot_build) is no reference once a CRL has been refused: it judges each CRL alone, as
 * at a first start, and would take a rollback.
 * Also: a CRL refused against what the previous snapshot accepted of its key (rules (e), (f),
 * or any other rule) leaves that one in use until its nextUpdate; a removed one does not. */
#include "model.h"

#include <CUnit/CUnit.h>
#include <ctype.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "fixture.h"

/* What the builds log: kept, so that the two ways can be compared. */
static char logbuf[1 << 16];
static size_t loglen;

void ocspd_log(int level, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)level;
	if (loglen >= sizeof(logbuf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		loglen += (size_t)n < sizeof(logbuf) - loglen - 1 ? (size_t)n : sizeof(logbuf) - loglen - 1;
	logbuf[loglen++] = '\n';
	logbuf[loglen] = '\0';
}

static STACK_OF(X509) *anchors;
static char where[64];	/* of a random sequence: said with a difference */
static unsigned char *link_der;	/* NewWithOld: brings the gen2 key in */
static size_t link_len;
static long crl_number = 100;

static int init_suite(void)
{
	X509 *link = fx_link(FX_GEN2, FX_GEN1);
	int n;

	anchors = sk_X509_new_null();
	if (link == NULL || anchors == NULL || fx_ca_cert(FX_GEN1) == NULL || fx_ca_cert(FX_GEN2) == NULL ||
	    !sk_X509_push(anchors, fx_ca_cert(FX_GEN1)))
		return -1;
	n = i2d_X509(link, &link_der);
	X509_free(link);
	if (n <= 0)
		return -1;
	link_len = (size_t)n;
	return 0;
}

static int clean_suite(void)
{
	sk_X509_free(anchors);	/* the fixture owns the certificate */
	OPENSSL_free(link_der);
	fx_cleanup();
	return 0;
}

static unsigned rnd(unsigned *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* Serial number idx of a small pool, 1 to 30 hex digits: partitions drawing from the pool
 * share some serials, which the index keeps in a fixed order too. */
static void pool_serial(unsigned idx, char *hex)
{
	unsigned s = idx * 2654435761u + 1, len = 1 + idx % 30, i;

	for (i = 0; i < len; i++) {
		s = s * 1103515245u + 12345u;
		hex[i] = "0123456789ABCDEF"[(s >> 16) % 16];
	}
	if (hex[0] == '0')
		hex[0] = '1';
	hex[len] = '\0';
}

/* A value as the sync thread reads it: a malloc'd copy. */
static void copy_value(model_crl *out, const unsigned char *der, size_t len)
{
	out->der = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out->der);
	memcpy(out->der, der, len);
	out->len = len;
	out->ref = NULL;
}

/* Partition mp's CRLs again, but for number drop (none: SIZE_MAX), with a slot to spare. */
static model_crl *copy_crls(const model_partition *mp, size_t drop, size_t *n)
{
	model_crl *c = calloc(mp->ncrls + 1, sizeof(*c));
	size_t j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (j = *n = 0; j < mp->ncrls; j++)
		if (j != drop)
			copy_value(&c[(*n)++], mp->crls[j].der, mp->crls[j].len);
	return c;
}

/* A CRL for the partition dn naming ca_cert's CA and key, signed by key (ca_cert's own for a
 * good one), numbered number, with n revocations from the pool. */
static void issue(model_crl *out, X509 *ca_cert, EVP_PKEY *key, const char *dn, time_t tu, time_t nu, size_t n,
	unsigned *seed, long number)
{
	jpki_revocation *revs = calloc(n + 1, sizeof(*revs));
	unsigned char *der;
	size_t len, i;
	char hex[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(revs);
	for (i = 0; i < n; i++) {
		pool_serial(rnd(seed) % 400, hex);
		fx_rev(&revs[i], hex, FX_NOW - 86400 - (time_t)(rnd(seed) % 86400), 1 + (int)(rnd(seed) % 5), NULL);
	}
	CU_ASSERT_FATAL(fx_crl_issue_partition(ca_cert, key, dn, tu, nu, number, revs, n, &der, &len) == 0);
	copy_value(out, der, len);
	OPENSSL_free(der);
	fx_revs_free(revs, n);
	free(revs);
}

/* The same, good, of the key of slot, numbered after every CRL made before. */
static void make_crl(model_crl *out, int slot, const char *dn, time_t tu, time_t nu, size_t n, unsigned *seed)
{
	issue(out, fx_ca_cert(slot), fx_key(slot), dn, tu, nu, n, seed, crl_number++);
}

static void set_ca(model *m, int with_gen2)
{
	model_crl *c = calloc(1, sizeof(*c));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	if (with_gen2)
		copy_value(c, link_der, link_len);
	CU_ASSERT_EQUAL_FATAL(model_set_ca(m, "ca", c, with_gen2 ? 1 : 0), 0);
}

static void part_dn(char *dn, size_t len, unsigned i)
{
	snprintf(dn, len, "CN=12%04u,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP", i);
}

/* Partition i: a CRL of gen1 with n entries (and one of gen2 when gen2). */
static void set_part(model *m, unsigned i, size_t n, int gen2, time_t tu, unsigned *seed)
{
	model_crl *c = calloc(2, sizeof(*c));
	char dn[96], uuid[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	part_dn(dn, sizeof(dn), i);
	snprintf(uuid, sizeof(uuid), "p%u", i);
	make_crl(&c[0], FX_GEN1, dn, tu, tu + 72 * FX_HOUR, n, seed);
	if (gen2)
		make_crl(&c[1], FX_GEN2, dn, tu, tu + 72 * FX_HOUR, n / 2, seed);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(m, uuid, dn, c, gen2 ? 2 : 1), 0);
}

static size_t model_crls(const model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nparts; i++)
		n += m->parts[i].ncrls;
	return n;
}

/* Field by field what answers are made of; the first difference on stderr. */
static int same(const snapshot *a, const snapshot *b)
{
	size_t i, p, c;

#define DIFF(cond, ...)                                  \
	do {                                             \
		if (cond) {                              \
			fprintf(stderr, "\n  %s ", where); \
			fprintf(stderr, __VA_ARGS__);    \
			fputs(" differ\n", stderr);      \
			return 0;                        \
		}                                        \
	} while (0)
	DIFF(a->nkeys != b->nkeys, "%zu/%zu keys", a->nkeys, b->nkeys);
	DIFF(a->nparts != b->nparts, "%zu/%zu partitions", a->nparts, b->nparts);
	for (p = 0; p < a->nparts; p++)
		DIFF(strcmp(a->part_dns[p], b->part_dns[p]) != 0, "partition %zu", p);
	for (i = 0; i < a->nkeys; i++) {
		const served_key *x = &a->keys[i], *y = &b->keys[i];

		DIFF(memcmp(x->key->id, y->key->id, sizeof(x->key->id)) != 0, "key %zu", i);
		DIFF(memcmp(x->sha1_name, y->sha1_name, 20) != 0 || memcmp(x->sha256_key, y->sha256_key, 32) != 0,
			"key %zu hashes", i);
		DIFF(x->nentries != y->nentries, "key %zu: %zu/%zu entries", i, x->nentries, y->nentries);
		for (c = 0; c < x->nentries; c++)
			DIFF(memcmp(&x->entries[c], &y->entries[c], sizeof(revoked)) != 0,
				"key %zu entry %zu (partition %u/%u)", i, c, x->entries[c].partition,
				y->entries[c].partition);
		DIFF(x->nparts != y->nparts, "key %zu nparts", i);
		for (p = 0; p < x->nparts; p++)
			DIFF(x->parts[p].this_update != y->parts[p].this_update ||
				     x->parts[p].next_update != y->parts[p].next_update,
				"key %zu partition %zu times", i, p);
		DIFF(x->all_current_at_build != y->all_current_at_build || x->oldest_this != y->oldest_this ||
			     x->earliest_next != y->earliest_next,
			"key %zu summary", i);
		/* what the next build compares with, keeps and the state copy holds */
		for (p = 0; p < x->nparts; p++) {
			const crl_source *u = &x->sources[p], *v = &y->sources[p];

			DIFF(u->state != v->state || u->kept != v->kept || u->nders != v->nders,
				"key %zu partition %zu record", i, p);
			if (u->state == CRL_SOURCE_NONE)
				continue;
			DIFF(ASN1_INTEGER_cmp(u->number, v->number) != 0 || u->this_update != v->this_update ||
				     u->next_update != v->next_update || memcmp(u->sha256, v->sha256, 32) != 0,
				"key %zu partition %zu recorded CRL", i, p);
			for (c = 0; c < u->nders; c++)
				DIFF(memcmp(u->ders[c]->sha256, v->ders[c]->sha256, 32) != 0,
					"key %zu partition %zu recorded DER %zu", i, p, c);
		}
	}
	/* what the next build compares with whatever the model then holds */
	DIFF(a->nmarks != b->nmarks, "%zu/%zu marks", a->nmarks, b->nmarks);
	for (i = 0; i < a->nmarks; i++) {
		const crl_mark *x = &a->marks[i], *y = &b->marks[i];

		DIFF(strcmp(x->dn, y->dn) != 0 || memcmp(x->key_id, y->key_id, sizeof(x->key_id)) != 0 ||
			     ASN1_INTEGER_cmp(x->number, y->number) != 0 || x->this_update != y->this_update ||
			     memcmp(x->sha256, y->sha256, 32) != 0,
			"mark %zu", i);
	}
	DIFF(a->nverifiers != b->nverifiers || a->nby_hash != b->nby_hash || a->nby_subject != b->nby_subject,
		"registry sizes");
	for (i = 0; i < a->nverifiers; i++) {
		const registered *x = &a->verifiers[i], *y = &b->verifiers[i];

		DIFF(strcmp(x->dn, y->dn) != 0 || x->state.status != y->state.status || x->ncerts != y->ncerts ||
			     memcmp(x->cert_sha256, y->cert_sha256, x->ncerts * 32) != 0 ||
			     sk_X509_num(x->certs) != sk_X509_num(y->certs),
			"verifier %zu", i);
		for (c = 0; c < (size_t)sk_X509_num(x->certs); c++)
			DIFF(X509_cmp(sk_X509_value(x->certs, (int)c), sk_X509_value(y->certs, (int)c)) != 0,
				"verifier %zu certificate %zu", i, c);
	}
	for (i = 0; i < a->nby_subject; i++)
		DIFF(a->by_subject[i].at != b->by_subject[i].at, "by_subject %zu", i);
#undef DIFF
	return 1;
}

/* Every entry is in order and found. */
static int sorted_and_found(const snapshot *s)
{
	size_t i, e;

	for (i = 0; i < s->nkeys; i++) {
		const served_key *k = &s->keys[i];

		for (e = 0; e < k->nentries; e++) {
			const revoked *r = &k->entries[e];
			ASN1_INTEGER *serial = ASN1_INTEGER_new();
			const revoked *hit;

			if (e > 0 && (k->entries[e - 1].len > r->len ||
					     (k->entries[e - 1].len == r->len &&
						     memcmp(k->entries[e - 1].serial, r->serial, r->len) > 0)))
				return 0;
			if (serial == NULL || !ASN1_STRING_set(serial, r->serial, r->len))
				return 0;
			hit = served_key_lookup(k, serial);
			ASN1_INTEGER_free(serial);
			if (hit == NULL || hit->len != r->len || memcmp(hit->serial, r->serial, r->len) != 0)
				return 0;
		}
	}
	return 1;
}

/* One build each way at now, with prev as history: the same snapshot and the same messages.
 * Returns the incremental one (the next prev); *full_checks: what the full build checked. */
static snapshot *both(const snapshot *prev, const model *m, const jpki_crl_policy *pol, time_t now,
	size_t *full_checks)
{
	static char inc_log[sizeof(logbuf)];
	snapshot *inc, *full;

	loglen = 0;
	logbuf[0] = '\0';
	inc = snapshot_build_from(prev, m, anchors, pol, 2, now);
	memcpy(inc_log, logbuf, loglen + 1);
	loglen = 0;
	logbuf[0] = '\0';
	full = snapshot_build_full(prev, m, anchors, pol, 2, now);
	CU_ASSERT_FATAL(inc != NULL && full != NULL);
	CU_ASSERT_TRUE_FATAL(same(inc, full));
	CU_ASSERT_STRING_EQUAL(inc_log, logbuf);
	CU_ASSERT_TRUE(sorted_and_found(inc));
	/* every CRL of the model decided once, and each of prev's looked at again */
	CU_ASSERT_EQUAL(inc->crls_kept, full->crls_kept);
	CU_ASSERT_EQUAL(inc->crls_checked + inc->crls_reused + inc->crls_refused_again, model_crls(m) + inc->crls_kept);
	CU_ASSERT_EQUAL(full->crls_checked, model_crls(m) + full->crls_kept);
	CU_ASSERT_EQUAL(full->crls_reused + full->crls_refused_again, 0);
	if (full_checks != NULL)
		*full_checks = full->crls_checked;
	snapshot_unref(full);
	return inc;
}

static void next(snapshot **prev, snapshot *s)
{
	snapshot_unref(*prev);
	*prev = s;
}

/* Five partitions of gen1; one replaced: that one checked, four taken over. */
static void test_unchanged_not_checked(void)
{
	model m = { 0 };
	jpki_crl_policy pol;
	snapshot *s, *prev;
	unsigned seed = 7, i;

	jpki_crl_policy_default(&pol);
	set_ca(&m, 0);
	for (i = 0; i < 5; i++)
		set_part(&m, i, 40, 0, FX_NOW - FX_HOUR, &seed);
	prev = both(NULL, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(prev->crls_checked, 5);
	CU_ASSERT_EQUAL(prev->keys[0].nentries, 200);

	set_part(&m, 2, 30, 0, FX_NOW - 60, &seed);
	s = both(prev, &m, &pol, FX_NOW + 60, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	CU_ASSERT_EQUAL(s->crls_reused, 4);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 190);
	CU_ASSERT_EQUAL(s->keys[0].parts[2].this_update, FX_NOW - 60);
	next(&prev, s);

	/* nothing changed: nothing checked */
	s = both(prev, &m, &pol, FX_NOW + 120, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 0);
	CU_ASSERT_EQUAL(s->crls_reused, 5);
	next(&prev, s);

	/* a partition added and one removed (the last moves into its place: renumbered) */
	set_part(&m, 9, 10, 0, FX_NOW - FX_HOUR, &seed);
	model_remove(&m, "p1");
	s = both(prev, &m, &pol, FX_NOW + 180, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	CU_ASSERT_EQUAL(s->crls_reused, 4);
	CU_ASSERT_STRING_EQUAL(s->part_dns[1], m.parts[1].dn);
	/* p1 had CRLs of key 0 (its mark says so) and is gone: its revocations are in no CRL
	 * left, so the key is not current (tryLater, never good) */
	CU_ASSERT_FALSE(s->keys[0].all_current_at_build);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "is not in the repository: that key's certificates are answered tryLater"));
	next(&prev, s);
	snapshot_unref(prev);
	model_free(&m);
}

/* A changed policy or trust: everything checked again, and what the new rules refuse gone. */
static void test_rules_changed(void)
{
	model m = { 0 };
	jpki_crl_policy pol, shorter;
	snapshot *s, *prev;
	unsigned seed = 11, i;
	size_t full;

	jpki_crl_policy_default(&pol);
	set_ca(&m, 1);
	for (i = 0; i < 4; i++)
		set_part(&m, i, 20, 1, FX_NOW - FX_HOUR, &seed);
	prev = both(NULL, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(prev->nkeys, 2);
	CU_ASSERT_TRUE(prev->keys[0].nentries > 0 && prev->keys[1].nentries > 0);

	/* 72-hour CRLs under a 48-hour maximum: refused, though unchanged */
	shorter = pol;
	shorter.max_validity = 48 * FX_HOUR;
	s = both(prev, &m, &shorter, FX_NOW, &full);
	CU_ASSERT_EQUAL(s->crls_checked, full);
	CU_ASSERT_EQUAL(s->crls_reused, 0);
	CU_ASSERT_EQUAL(s->keys[0].nentries + s->keys[1].nentries, 0);
	CU_ASSERT_FALSE(s->keys[0].all_current_at_build);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (g) validity"));
	next(&prev, s);
	/* and back: checked again, all of them */
	s = both(prev, &m, &pol, FX_NOW, &full);
	CU_ASSERT_EQUAL(s->crls_checked, 8);
	CU_ASSERT_TRUE(s->keys[0].nentries > 0);
	next(&prev, s);
	/* the size cap alone */
	shorter = pol;
	shorter.max_size = pol.max_size - 1;
	s = both(prev, &m, &shorter, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 8);
	next(&prev, s);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	next(&prev, s);

	/* the gen2 key leaves the trust: its CRLs refused (signature), gen1's checked again */
	set_ca(&m, 0);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->nkeys, 1);
	CU_ASSERT_EQUAL(s->crls_checked, 8);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (b) signature"));
	next(&prev, s);
	/* and comes back */
	set_ca(&m, 1);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->nkeys, 2);
	CU_ASSERT_EQUAL(s->crls_checked, 8);
	CU_ASSERT_TRUE(s->keys[1].nentries > 0);
	next(&prev, s);
	/* other anchors, as many keys: the gen2 certificate alone, against gen1 alone */
	set_ca(&m, 0);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	next(&prev, s);
	{
		STACK_OF(X509) *gen1 = anchors;
		snapshot *full_s;

		anchors = sk_X509_new_null();
		CU_ASSERT_FATAL(anchors != NULL && sk_X509_push(anchors, fx_ca_cert(FX_GEN2)));
		s = snapshot_build_from(prev, &m, anchors, &pol, 3, FX_NOW);
		full_s = snapshot_build_full(prev, &m, anchors, &pol, 3, FX_NOW);	/* prev's marks too */
		CU_ASSERT_FATAL(s != NULL && full_s != NULL);
		CU_ASSERT_EQUAL(s->nkeys, 1);
		CU_ASSERT_EQUAL(s->crls_checked, 8);
		CU_ASSERT_EQUAL(s->crls_reused, 0);
		CU_ASSERT_TRUE(s->keys[0].nentries > 0);	/* gen2's */
		CU_ASSERT_TRUE(same(s, full_s));
		snapshot_unref(full_s);
		next(&prev, s);
		sk_X509_free(anchors);
		anchors = gen1;
	}
	snapshot_unref(prev);
	model_free(&m);
}

/* gen1's key alone; partition 0 with n entries; dn: partition 1's. */
static void start(model *m, jpki_crl_policy *pol, size_t n, unsigned *seed, char dn[96])
{
	jpki_crl_policy_default(pol);
	set_ca(m, 0);
	set_part(m, 0, n, 0, FX_NOW - FX_HOUR, seed);
	part_dn(dn, 96, 1);
}

/* A CRL taken over that has expired since, or whose thisUpdate the clock has gone back
 * behind: refused as a check would refuse it, without checking it. */
static void test_lapsed(void)
{
	model m = { 0 };
	jpki_crl_policy pol;
	snapshot *s, *prev;
	unsigned seed = 13;
	model_crl *c = calloc(1, sizeof(*c));
	char dn[96];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	start(&m, &pol, 20, &seed, dn);
	/* valid for two hours more */
	make_crl(c, FX_GEN1, dn, FX_NOW - 70 * FX_HOUR, FX_NOW + 2 * FX_HOUR, 15, &seed);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(&m, "p1", dn, c, 1), 0);
	prev = both(NULL, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(prev->keys[0].nentries, 35);
	CU_ASSERT_TRUE(served_key_current(&prev->keys[0], FX_NOW));

	/* three hours later, another partition's CRL changes */
	set_part(&m, 0, 25, 0, FX_NOW + 2 * FX_HOUR, &seed);
	s = both(prev, &m, &pol, FX_NOW + 3 * FX_HOUR, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	CU_ASSERT_EQUAL(s->crls_reused, 1);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 25);
	CU_ASSERT_EQUAL(s->keys[0].parts[1].next_update, 0);
	CU_ASSERT_FALSE(s->keys[0].all_current_at_build);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "CRL 1 of CN=120001,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP "
					      "not used: rule (g) validity: the CRL expired at "));
	next(&prev, s);
	/* still expired: still not checked */
	s = both(prev, &m, &pol, FX_NOW + 4 * FX_HOUR, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 0);
	next(&prev, s);
	/* the clock goes back: current again, checked, its entries back */
	s = both(prev, &m, &pol, FX_NOW + 2 * FX_HOUR - 100, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 40);
	next(&prev, s);
	/* further back: partition 0's thisUpdate is now in the future (rule f), not checked */
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 0);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 15);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (f) this-update"));
	next(&prev, s);
	snapshot_unref(prev);
	model_free(&m);
}

/* What is not taken over: two CRLs of one key in a partition (their entries cannot be told
 * apart), a CRL appended without its hash (as the saved copy's are) until it is hashed. */
static void test_not_taken_over(void)
{
	model m = { 0 };
	jpki_crl_policy pol;
	snapshot *s, *prev;
	unsigned seed = 17;
	model_crl *c = calloc(2, sizeof(*c)), *grown;
	char dn[96];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	start(&m, &pol, 10, &seed, dn);
	make_crl(&c[0], FX_GEN1, dn, FX_NOW - FX_HOUR, FX_NOW + 70 * FX_HOUR, 10, &seed);
	make_crl(&c[1], FX_GEN1, dn, FX_NOW - 2 * FX_HOUR, FX_NOW + 69 * FX_HOUR, 10, &seed);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(&m, "p1", dn, c, 2), 0);
	prev = both(NULL, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(prev->keys[0].nentries, 30);
	CU_ASSERT_EQUAL(prev->keys[0].sources[1].state, CRL_SOURCE_MIXED);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 2);
	CU_ASSERT_EQUAL(s->crls_reused, 1);
	next(&prev, s);

	/* appended behind the model's back */
	grown = realloc(m.parts[0].crls, 2 * sizeof(*grown));
	CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
	m.parts[0].crls = grown;
	part_dn(dn, sizeof(dn), 0);
	make_crl(&grown[1], FX_GEN2, dn, FX_NOW - FX_HOUR, FX_NOW + 70 * FX_HOUR, 5, &seed);
	m.parts[0].ncrls = 2;
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 3);
	CU_ASSERT_EQUAL(s->crls_refused_again, 0);
	next(&prev, s);
	/* the appended one is refused (no gen2 key): refused again unchecked, hashed or not */
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 2);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	next(&prev, s);
	model_hash_crls(&m);
	CU_ASSERT_EQUAL(m.parts[0].nhashed, 2);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 2);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	next(&prev, s);
	/* with the gen2 key trusted the rules changed: nothing refused before is refused unchecked,
	 * and the gen2 CRL is used */
	set_ca(&m, 1);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_refused_again, 0);
	CU_ASSERT_EQUAL(s->keys[1].nentries, 5);
	next(&prev, s);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 2);	/* p1's two */
	CU_ASSERT_EQUAL(s->crls_reused, 2);
	CU_ASSERT_EQUAL(s->keys[1].nentries, 5);
	next(&prev, s);
	snapshot_unref(prev);
	model_free(&m);
}

/* Verifier certificates still in the registry are shared with the previous snapshot. */
static void test_registry_shared(void)
{
	model m = { 0 };
	jpki_crl_policy pol;
	snapshot *s, *prev;
	X509 *certs[3];
	unsigned char *der;
	unsigned i;

	jpki_crl_policy_default(&pol);
	for (i = 0; i < 3; i++) {
		char cn[16], dn[64];
		X509_NAME *n;
		model_verifier v = { 0 };
		int len;

		snprintf(cn, sizeof(cn), "rp%u", i);
		n = fx_name("C", "JP", "O", "Relying Parties", "CN", cn, NULL);
		certs[i] = fx_cert(n, fx_key(FX_OTHER), n, fx_key(FX_OTHER), 0, i + 1);
		X509_NAME_free(n);
		CU_ASSERT_PTR_NOT_NULL_FATAL(certs[i]);
		snprintf(dn, sizeof(dn), "cn=%s,ou=Verifiers,o=JPKI,c=JP", cn);
		v.uuid = dn;
		v.dn = dn;
		v.state.status = JPKI_VERIFIER_ACTIVE;
		v.certs = calloc(1, sizeof(*v.certs));
		CU_ASSERT_PTR_NOT_NULL_FATAL(v.certs);
		der = NULL;
		len = i2d_X509(certs[i], &der);
		CU_ASSERT_FATAL(len > 0);
		copy_value(&v.certs[0], der, (size_t)len);
		v.ncertders = 1;
		OPENSSL_free(der);
		CU_ASSERT_EQUAL_FATAL(model_set_verifier(&m, &v), 0);
	}
	prev = both(NULL, &m, &pol, FX_NOW, NULL);
	/* rp1 gets rp2's certificate: rp0's and rp2's are shared, none decoded again */
	{
		model_verifier v = { 0 };

		v.uuid = m.verifiers[1].uuid;
		v.dn = "cn=rp1,ou=Verifiers,o=JPKI,c=JP";
		v.state.status = JPKI_VERIFIER_SUSPENDED;
		v.certs = calloc(1, sizeof(*v.certs));
		CU_ASSERT_PTR_NOT_NULL_FATAL(v.certs);
		copy_value(&v.certs[0], m.verifiers[2].certs[0].der, m.verifiers[2].certs[0].len);
		v.ncertders = 1;
		CU_ASSERT_EQUAL_FATAL(model_set_verifier(&m, &v), 0);
	}
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_PTR_EQUAL(sk_X509_value(s->verifiers[0].certs, 0), sk_X509_value(prev->verifiers[0].certs, 0));
	CU_ASSERT_PTR_EQUAL(sk_X509_value(s->verifiers[1].certs, 0), sk_X509_value(prev->verifiers[2].certs, 0));
	CU_ASSERT_PTR_EQUAL(sk_X509_value(s->verifiers[2].certs, 0), sk_X509_value(prev->verifiers[2].certs, 0));
	CU_ASSERT_EQUAL(s->verifiers[1].state.status, JPKI_VERIFIER_SUSPENDED);
	/* prev goes: s's certificates stay */
	snapshot_unref(prev);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(s->verifiers[0].certs, 0), certs[0]), 0);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(s->verifiers[1].certs, 0), certs[2]), 0);
	snapshot_unref(s);
	for (i = 0; i < 3; i++)
		X509_free(certs[i]);
	model_free(&m);
}

/* The model's CRLs s refused: checked, or refused again as prev refused them; never taken
 * over. (A kept source holds only prev's CRLs; every other accepted CRL is the model's.) */
static size_t refused_in(const snapshot *s, const model *m)
{
	size_t k, p, used = 0;

	for (k = 0; k < s->nkeys; k++)
		for (p = 0; p < s->keys[k].nparts; p++)
			used += s->keys[k].sources[p].kept ? 0 : s->keys[k].sources[p].nders;
	return model_crls(m) - used;
}

/* Random sequences of changes, the clock moving (now and then back), both keys, rollbacks and
 * bad signatures among them: after each, the incremental build equals the full one. */
static void run_sequence(unsigned seed, int steps)
{
	model m = { 0 };
	jpki_crl_policy pol;
	snapshot *prev = NULL, *s;
	time_t now = FX_NOW;
	unsigned next_part = 0, i;
	size_t reused = 0, checked = 0, full_checked = 0, full, kept = 0, refused = 0, again = 0;
	unsigned seed0 = seed;
	int step;

	jpki_crl_policy_default(&pol);
	set_ca(&m, 1);
	for (i = 0; i < 6; i++, next_part++)
		set_part(&m, next_part, 5 + rnd(&seed) % 30, (int)(rnd(&seed) % 2), now - FX_HOUR, &seed);
	for (step = 0; step < steps; step++) {
		unsigned op = rnd(&seed) % 10;
		size_t p = m.nparts > 0 ? rnd(&seed) % m.nparts : 0;
		time_t tu = now - (time_t)(rnd(&seed) % (2 * FX_HOUR));

		if (rnd(&seed) % 9 == 0)
			tu = now + 2 * FX_HOUR;	/* from the future: refused until it is not */
		switch (op) {
		case 0:
		case 1:		/* one CRL of a partition replaced: the others kept as they are */
		case 8:		/* … by a rollback: a lower cRLNumber */
		case 9: {	/* … by one whose signature is not its key's */
			model_partition *mp = m.nparts > 0 ? &m.parts[p] : NULL;
			model_crl *c;
			size_t n, j;
			int slot;

			if (mp == NULL)
				break;
			c = copy_crls(mp, SIZE_MAX, &n);
			n += n == 0;	/* the spare slot */
			j = rnd(&seed) % n;
			slot = j == 0 ? FX_GEN1 : FX_GEN2;
			free(c[j].der);
			issue(&c[j], fx_ca_cert(slot), fx_key(op == 9 ? FX_ROGUE : slot), mp->dn, tu, tu + 72 * FX_HOUR,
				rnd(&seed) % 40, &seed, op == 8 ? 1 + (long)(rnd(&seed) % 50) : crl_number++);
			CU_ASSERT_EQUAL_FATAL(model_set_partition(&m, mp->uuid, mp->dn, c, n), 0);
			break;
		}
		case 2:		/* a partition added, with one or both keys */
			set_part(&m, next_part++, rnd(&seed) % 30, (int)(rnd(&seed) % 2), tu, &seed);
			break;
		case 3:		/* a partition removed */
			if (m.nparts > 0)
				model_remove(&m, m.parts[p].uuid);
			break;
		case 4:		/* a CRL removed */
			if (m.nparts > 0 && m.parts[p].ncrls > 0) {
				model_partition *mp = &m.parts[p];
				size_t k;
				model_crl *c = copy_crls(mp, rnd(&seed) % mp->ncrls, &k);

				CU_ASSERT_EQUAL_FATAL(model_set_partition(&m, mp->uuid, mp->dn, c, k), 0);
			}
			break;
		case 5:		/* the partition renamed: its CRLs no longer name it */
			if (m.nparts > 0) {
				char dn[96];
				model_partition *mp = &m.parts[p];
				size_t k;
				model_crl *c = copy_crls(mp, SIZE_MAX, &k);

				part_dn(dn, sizeof(dn), next_part++);
				CU_ASSERT_EQUAL_FATAL(model_set_partition(&m, mp->uuid, dn, c, k), 0);
			}
			break;
		case 6:		/* time passes, a day or so: CRLs expire */
			now += (time_t)(rnd(&seed) % (30 * FX_HOUR));
			break;
		default:	/* the clock steps back a little */
			now -= (time_t)(rnd(&seed) % (3 * FX_HOUR));
			break;
		}
		now += 60;
		snprintf(where, sizeof(where), "seed %u step %d op %u:", seed0, step, op);
		s = both(prev, &m, &pol, now, &full);
		checked += s->crls_checked;
		again += s->crls_refused_again;
		reused += s->crls_reused;
		kept += s->crls_kept;
		refused += refused_in(s, &m);
		full_checked += full;
		next(&prev, s);
	}
	/* of the CRLs used, most were taken over, not checked again; of the refused ones, some were
	 * refused again unchecked (those refused by a time rule are checked again: the clock
	 * moves); refused ones had some kept */
	CU_ASSERT_TRUE_FATAL(checked + again >= refused);
	CU_ASSERT_TRUE(reused > checked + again - refused);
	CU_ASSERT_TRUE(checked + again - refused < full_checked / 2);
	CU_ASSERT_TRUE(again > 0);
	CU_ASSERT_TRUE(kept > 0);
	printf(" [seed %u: %zu CRLs checked, %zu refused again unchecked (%zu refused in all), %zu taken over "
	       "(%zu kept for refused ones); full builds checked %zu] ",
		seed0, checked, again, refused, reused, kept, full_checked);
	where[0] = '\0';
	snapshot_unref(prev);
	model_free(&m);
}

static void test_random_sequences(void)
{
	static const unsigned seeds[] = { 1, 39, 42, 2026, 31337 };

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		run_sequence(seeds[i], 60);
}

/* One serial in several partitions, reordered by renumbering: in the full build's order. */
static void test_shared_serials(void)
{
	model m = { 0 };
	jpki_crl_policy pol;
	snapshot *s, *prev;
	unsigned i, seed;

	jpki_crl_policy_default(&pol);
	set_ca(&m, 0);
	for (i = 0; i < 6; i++) {
		seed = 99;	/* the same serials in every partition */
		set_part(&m, i, 30, 0, FX_NOW - FX_HOUR, &seed);
	}
	prev = both(NULL, &m, &pol, FX_NOW, NULL);
	model_remove(&m, "p0");	/* p5 becomes 0: after every other partition's entries before */
	model_remove(&m, "p2");	/* p4 becomes 2 */
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 0);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 120);
	next(&prev, s);
	seed = 99;
	set_part(&m, 7, 30, 0, FX_NOW - FX_HOUR, &seed);
	s = both(prev, &m, &pol, FX_NOW, NULL);
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	next(&prev, s);
	snapshot_unref(prev);
	model_free(&m);
}

/* Key k of a and b serve the same: entries, times, summary. */
static int same_key(const snapshot *a, const snapshot *b, size_t k)
{
	const served_key *x = &a->keys[k], *y = &b->keys[k];

	return x->nentries == y->nentries && x->nparts == y->nparts &&
	       (x->nentries == 0 || memcmp(x->entries, y->entries, x->nentries * sizeof(*x->entries)) == 0) &&
	       memcmp(x->parts, y->parts, x->nparts * sizeof(*x->parts)) == 0 &&
	       x->all_current_at_build == y->all_current_at_build && x->oldest_this == y->oldest_this &&
	       x->earliest_next == y->earliest_next;
}

static long recorded_number(const crl_source *src)
{
	return src->number != NULL ? ASN1_INTEGER_get(src->number) : -1;
}

/* Partition uuid/dn now holds this one CRL. */
static void put1(model *m, const char *uuid, const char *dn, X509 *ca_cert, EVP_PKEY *key, time_t tu, time_t nu,
	size_t n, unsigned seed, long number)
{
	model_crl *c = calloc(1, sizeof(*c));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	issue(c, ca_cert, key, dn, tu, nu, n, &seed, number);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(m, uuid, dn, c, 1), 0);
}

/* Builds one after another over partition p0 (dn): s the last one, prev the one before it (s's
 * history). Every CRL put() in p0 draws its serials from seed, so that one with fewer entries
 * lacks the last revocations of one with more. */
typedef struct history {
	model m;
	jpki_crl_policy pol;
	char dn[96];
	unsigned seed;
	snapshot *prev, *s;
} history;

static void history_start(history *h, int with_gen2, unsigned seed)
{
	memset(h, 0, sizeof(*h));
	jpki_crl_policy_default(&h->pol);
	set_ca(&h->m, with_gen2);
	part_dn(h->dn, sizeof(h->dn), 0);
	h->seed = seed;
}

/* p0 now holds this one CRL of gen1. */
static void put(history *h, time_t tu, time_t nu, size_t n, long number)
{
	put1(&h->m, "p0", h->dn, fx_ca_cert(FX_GEN1), fx_key(FX_GEN1), tu, nu, n, h->seed, number);
}

/* Both builds at now, the last one as history; returns the incremental one (the new s). */
static snapshot *build(history *h, time_t now)
{
	if (h->s != NULL)
		next(&h->prev, h->s);
	h->s = both(h->prev, &h->m, &h->pol, now, NULL);
	return h->s;
}

/* The next build has no history, as at a start. */
static void forget(history *h)
{
	snapshot_unref(h->prev);
	snapshot_unref(h->s);
	h->prev = h->s = NULL;
}

static void history_end(history *h)
{
	forget(h);
	model_free(&h->m);
}

/* A rollback (lower cRLNumber; then a higher one with an older thisUpdate), each without the
 * last revocation: refused against what prev accepted, that one still used, and a later good
 * CRL taken. */
static void test_rollback_refused(void)
{
	history h;
	snapshot *s, *alone;
	unsigned seed = 23;

	history_start(&h, 0, 5);
	put(&h, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, 100);
	set_part(&h.m, 1, 10, 0, FX_NOW - FX_HOUR, &seed);
	s = build(&h, FX_NOW);
	CU_ASSERT_EQUAL(recorded_number(&s->keys[0].sources[0]), 100);

	/* cRLNumber 99, later thisUpdate: rule (e) */
	put(&h, FX_NOW - 60, FX_NOW + 71 * FX_HOUR, 19, 99);
	s = build(&h, FX_NOW + 60);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0));
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept);
	CU_ASSERT_EQUAL(recorded_number(&s->keys[0].sources[0]), 100);
	CU_ASSERT_EQUAL(s->crls_checked, 1);	/* the new one; the kept one and p1 taken over */
	CU_ASSERT_EQUAL(s->crls_kept, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "CRL 1 of CN=120000,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP "
					      "not used: rule (e) crl-number: cRLNumber 99 is not greater than the "
					      "stored 100"));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "; the previous cRLNumber 100 of CA key "));
	/* judged alone (a first start), it would be used: one revocation fewer */
	alone = snapshot_build(&h.m, anchors, &h.pol, 3, FX_NOW + 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alone);
	CU_ASSERT_EQUAL(alone->keys[0].nentries + 1, h.prev->keys[0].nentries);
	snapshot_unref(alone);

	/* cRLNumber 101, thisUpdate before the kept one's: rule (f), against the kept one */
	put(&h, FX_NOW - 2 * FX_HOUR, FX_NOW + 70 * FX_HOUR, 19, 101);
	s = build(&h, FX_NOW + 120);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0));
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "not used: rule (f) this-update: thisUpdate "));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "; the previous cRLNumber 100 of CA key "));
	/* nothing changes: refused again unchecked (older than the mark does not depend on the
	 * clock; a CRL from the future is taken without its entries, never refused), logged again */
	s = build(&h, FX_NOW + 180);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0));
	CU_ASSERT_EQUAL(s->crls_checked, 0);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (f) this-update"));

	/* a newer one: taken, without the revocation */
	put(&h, FX_NOW, FX_NOW + 72 * FX_HOUR, 19, 102);
	s = build(&h, FX_NOW + 240);
	CU_ASSERT_EQUAL(s->keys[0].nentries + 1, h.prev->keys[0].nentries);
	CU_ASSERT_FALSE(s->keys[0].sources[0].kept);
	CU_ASSERT_EQUAL(recorded_number(&s->keys[0].sources[0]), 102);
	CU_ASSERT_EQUAL(s->crls_kept, 0);
	CU_ASSERT_PTR_NULL(strstr(logbuf, "not used"));
	history_end(&h);
}

/* The mark of key k (the tests below have one partition DN), or -1. */
static long mark_number(const snapshot *s, size_t k)
{
	size_t i;

	for (i = 0; i < s->nmarks; i++)
		if (memcmp(s->marks[i].key_id, s->keys[k].key->id, sizeof(s->marks[i].key_id)) == 0)
			return ASN1_INTEGER_get(s->marks[i].number);
	return -1;
}

/* p0 as a first build accepted it (cRLNumber 300, 20 revocations), then a rollback (299,
 * without the last one) refused by the next and 300 kept. */
static void accepted_then_rollback(history *h)
{
	snapshot *s;

	history_start(h, 0, 5);
	put(h, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, 300);
	s = build(h, FX_NOW);
	CU_ASSERT_EQUAL(mark_number(s, 0), 300);
	put(h, FX_NOW - 60, FX_NOW + 71 * FX_HOUR, 19, 299);
	s = build(h, FX_NOW + 60);
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 20);
}

/* A CRL dated in the future (a CA clock set wrong): not used, and it sets no mark, so the
 * next CRL, dated right with a lower number than it, is taken. */
static void test_future_sets_no_mark(void)
{
	history h;
	snapshot *s;

	history_start(&h, 0, 5);
	put(&h, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, 100);
	s = build(&h, FX_NOW);
	CU_ASSERT_EQUAL(mark_number(s, 0), 100);
	put(&h, FX_NOW + 48 * FX_HOUR, FX_NOW + 72 * FX_HOUR, 20, 500);
	s = build(&h, FX_NOW + 60);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 0);	/* not current: tryLater, as before */
	CU_ASSERT_EQUAL(mark_number(s, 0), 100);
	put(&h, FX_NOW + 120, FX_NOW + 72 * FX_HOUR, 19, 101);
	s = build(&h, FX_NOW + 180);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 19);
	CU_ASSERT_EQUAL(mark_number(s, 0), 101);
	CU_ASSERT_PTR_NULL(strstr(logbuf, "not used"));
	history_end(&h);
}

/* A refusal is taken from the previous snapshot only while the partition's marks are those it
 * was checked against (rule (e) names the stored number) and for a while: a rollback refused by
 * (e) while the kept CRL, dated in the future, sets no mark; that one becomes current and
 * raises the mark: the rollback is checked again and refused naming the new mark, then refused
 * unchecked; after REFUSAL_RECHECK (600 s) it is checked again. */
static void test_refusal_taken_while_marks_same(void)
{
	history h;
	snapshot *s;

	history_start(&h, 0, 5);
	put(&h, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, 100);
	s = build(&h, FX_NOW);
	CU_ASSERT_EQUAL(mark_number(s, 0), 100);
	put(&h, FX_NOW + 2 * FX_HOUR, FX_NOW + 74 * FX_HOUR, 20, 500);
	s = build(&h, FX_NOW + 60);
	CU_ASSERT_EQUAL(mark_number(s, 0), 100);
	put(&h, FX_NOW, FX_NOW + 72 * FX_HOUR, 19, 99);
	s = build(&h, FX_NOW + 120);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "cRLNumber 99 is not greater than the stored 100"));
	s = build(&h, FX_NOW + 180);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "cRLNumber 99 is not greater than the stored 100"));
	/* the kept one becomes current: the mark rises to 500 */
	s = build(&h, FX_NOW + 2 * FX_HOUR + 60);
	CU_ASSERT_EQUAL(mark_number(s, 0), 500);
	s = build(&h, FX_NOW + 2 * FX_HOUR + 120);
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	CU_ASSERT_EQUAL(s->crls_refused_again, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "cRLNumber 99 is not greater than the stored 500"));
	s = build(&h, FX_NOW + 2 * FX_HOUR + 180);
	CU_ASSERT_EQUAL(s->crls_checked, 0);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "cRLNumber 99 is not greater than the stored 500"));
	/* the refusal taken over and over is checked again once it is 600 s old */
	s = build(&h, FX_NOW + 2 * FX_HOUR + 700);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	s = build(&h, FX_NOW + 2 * FX_HOUR + 720);
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	CU_ASSERT_EQUAL(s->crls_refused_again, 0);
	s = build(&h, FX_NOW + 2 * FX_HOUR + 780);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	history_end(&h);
}

/* The reviewer's sequence: a rollback refused, the CRL value removed for one build, the
 * rollback written again: refused against the mark; a newer CRL is then taken. */
static void test_removed_then_rollback(void)
{
	history h;
	snapshot *s;

	accepted_then_rollback(&h);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(&h.m, "p0", h.dn, NULL, 0), 0);
	s = build(&h, FX_NOW + 120);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_EQUAL(mark_number(s, 0), 300);

	put(&h, FX_NOW - 60, FX_NOW + 71 * FX_HOUR, 19, 299);
	s = build(&h, FX_NOW + 180);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 0);
	CU_ASSERT_FALSE(s->keys[0].all_current_at_build);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (e) crl-number: cRLNumber 299 is not greater than the stored 300"));
	/* nothing changes: refused again without being checked, and logged again alike */
	s = build(&h, FX_NOW + 200);
	CU_ASSERT_EQUAL(s->crls_checked, 0);
	CU_ASSERT_EQUAL(s->crls_refused_again, 1);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "CRL 1 of CN=120000,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP "
					      "not used: rule (e) crl-number: cRLNumber 299 is not greater than the stored 300"));
	/* a higher number with an older thisUpdate than the mark's: rule (f) */
	put(&h, FX_NOW - 2 * FX_HOUR, FX_NOW + 70 * FX_HOUR, 19, 301);
	s = build(&h, FX_NOW + 240);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (f) this-update"));

	/* a newer one: taken, and raises the mark */
	put(&h, FX_NOW, FX_NOW + 72 * FX_HOUR, 19, 302);
	s = build(&h, FX_NOW + 300);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_INDEXED);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 19);
	CU_ASSERT_TRUE(s->keys[0].all_current_at_build);
	CU_ASSERT_EQUAL(mark_number(s, 0), 302);
	CU_ASSERT_PTR_NULL(strstr(logbuf, "not used"));
	history_end(&h);
}

/* The partition entry deleted for one build and added again (under another entryUUID, its DN
 * spelt in lower case): the rollback is still refused against the mark of its DN. */
static void test_deleted_partition_then_rollback(void)
{
	history h;
	snapshot *s;
	char lower[96];
	model_crl *c = calloc(1, sizeof(*c));
	unsigned seed;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	accepted_then_rollback(&h);
	model_remove(&h.m, "p0");
	s = build(&h, FX_NOW + 120);
	CU_ASSERT_EQUAL(s->nparts, 0);
	CU_ASSERT_EQUAL(s->nmarks, 1);

	for (i = 0; h.dn[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)h.dn[i]);
	lower[i] = '\0';
	seed = h.seed;	/* the rollback again */
	issue(c, fx_ca_cert(FX_GEN1), fx_key(FX_GEN1), h.dn, FX_NOW - 60, FX_NOW + 71 * FX_HOUR, 19, &seed, 299);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(&h.m, "p0-again", lower, c, 1), 0);
	s = build(&h, FX_NOW + 180);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "cRLNumber 299 is not greater than the stored 300"));

	put1(&h.m, "p0-again", h.dn, fx_ca_cert(FX_GEN1), fx_key(FX_GEN1), FX_NOW, FX_NOW + 72 * FX_HOUR, 19, h.seed,
		301);
	s = build(&h, FX_NOW + 240);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 19);
	CU_ASSERT_EQUAL(mark_number(s, 0), 301);
	CU_ASSERT_EQUAL(s->nmarks, 1);	/* one DN, however spelt */
	history_end(&h);
}

/* Partition 0 with a gen1 and a gen2 CRL, as a first build accepted them. */
static void two_keys(history *h)
{
	model_crl *c = calloc(2, sizeof(*c));
	unsigned seed = 29;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	history_start(h, 1, seed);
	issue(&c[0], fx_ca_cert(FX_GEN1), fx_key(FX_GEN1), h->dn, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, &seed,
		200);
	issue(&c[1], fx_ca_cert(FX_GEN2), fx_key(FX_GEN2), h->dn, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 10, &seed,
		200);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(&h->m, "p0", h->dn, c, 2), 0);
	build(h, FX_NOW);
}

/* Partition 0 holds a copy of good, and bad. */
static void with_bad(model *m, const char *dn, const model_crl *good, const model_crl *bad)
{
	model_crl *c = calloc(2, sizeof(*c));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	copy_value(&c[0], good->der, good->len);
	copy_value(&c[1], bad->der, bad->len);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(m, "p0", dn, c, 2), 0);
}

/* A CRL refused by its signature: the one it claims to replace is kept (the key it names in
 * its authorityKeyIdentifier; every key left without a CRL when it names none trusted, as does
 * a value that is no CRL at all). */
static void test_bad_signature_kept(void)
{
	history h;
	snapshot *s;
	unsigned seed = 31;
	model_crl bad;
	X509_NAME *other = NULL;
	X509 *other_ca;
	static const unsigned char junk[] = "not a CRL";

	two_keys(&h);
	/* naming gen1's key, signed by another: rule (b); gen1's kept, gen2's as it was */
	issue(&bad, fx_ca_cert(FX_GEN1), fx_key(FX_ROGUE), h.dn, FX_NOW, FX_NOW + 72 * FX_HOUR, 0, &seed, 201);
	with_bad(&h.m, h.dn, &h.m.parts[0].crls[1], &bad);
	free(bad.der);
	s = build(&h, FX_NOW + 60);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0) && same_key(s, h.prev, 1));
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept);
	CU_ASSERT_FALSE(s->keys[1].sources[0].kept);
	CU_ASSERT_TRUE(s->keys[0].all_current_at_build);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "CRL 2 of CN=120000,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP "
					      "not used: rule (b) signature"));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "; the previous cRLNumber 200 of CA key "));

	/* gen2's replaced by another CA's CRL: it names no trusted key, so gen2's is kept */
	other = fx_name("C", "JP", "O", "JPKI", "OU", "Bridge CA", NULL);
	other_ca = fx_cert(other, fx_key(FX_OTHER), other, fx_key(FX_OTHER), 1, 7);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other_ca);
	issue(&bad, other_ca, fx_key(FX_OTHER), h.dn, FX_NOW, FX_NOW + 72 * FX_HOUR, 0, &seed, 202);
	{
		/* gen1's back as s accepted (kept) it: the model holds the bad one */
		const crl_der *g1 = s->keys[0].sources[0].ders[0];
		model_crl good = { g1->der, g1->len, NULL };

		with_bad(&h.m, h.dn, &good, &bad);
	}
	free(bad.der);
	s = build(&h, FX_NOW + 120);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0) && same_key(s, h.prev, 1));
	CU_ASSERT_FALSE(s->keys[0].sources[0].kept);	/* its own CRL is back */
	CU_ASSERT_TRUE(s->keys[1].sources[0].kept);

	/* a value that is no CRL, alone: both kept */
	{
		model_crl *c = calloc(1, sizeof(*c));

		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		copy_value(c, junk, sizeof(junk));
		CU_ASSERT_EQUAL_FATAL(model_set_partition(&h.m, "p0", h.dn, c, 1), 0);
	}
	s = build(&h, FX_NOW + 180);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0) && same_key(s, h.prev, 1));
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept && s->keys[1].sources[0].kept);
	CU_ASSERT_EQUAL(s->crls_kept, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (a) format"));
	X509_free(other_ca);
	X509_NAME_free(other);
	history_end(&h);
}

/* A key's CRL removed from the partition, nothing refused: not kept (the overlay lets the
 * publisher remove it). Nor are a removed partition's. */
static void test_removed_not_kept(void)
{
	history h;
	snapshot *s;
	model_crl *c = calloc(1, sizeof(*c));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	two_keys(&h);
	copy_value(c, h.m.parts[0].crls[0].der, h.m.parts[0].crls[0].len);
	CU_ASSERT_EQUAL_FATAL(model_set_partition(&h.m, "p0", h.dn, c, 1), 0);
	s = build(&h, FX_NOW + 60);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0));
	CU_ASSERT_EQUAL(s->keys[1].nentries, 0);
	CU_ASSERT_EQUAL(s->keys[1].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_FALSE(s->keys[1].all_current_at_build);
	CU_ASSERT_EQUAL(s->crls_kept, 0);
	CU_ASSERT_PTR_NULL(strstr(logbuf, "not used"));
	/* and does not come back when a later CRL of the other key is refused */
	put(&h, FX_NOW, FX_NOW + 72 * FX_HOUR, 0, 150);
	s = build(&h, FX_NOW + 120);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0) && same_key(s, h.prev, 1));
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept);
	CU_ASSERT_EQUAL(s->keys[1].sources[0].state, CRL_SOURCE_NONE);
	model_remove(&h.m, "p0");
	s = build(&h, FX_NOW + 180);
	CU_ASSERT_EQUAL(s->nparts, 0);
	CU_ASSERT_EQUAL(s->keys[0].nentries + s->keys[1].nentries, 0);
	history_end(&h);
}

/* The kept CRL is bound by its own nextUpdate: past it, no entries and not current (tryLater),
 * yet still what a new CRL is compared with; a good one then takes its place. */
static void test_kept_lapses(void)
{
	history h;
	snapshot *s;
	const crl_source *src;

	history_start(&h, 0, 3);
	put(&h, FX_NOW - 70 * FX_HOUR, FX_NOW + 2 * FX_HOUR, 20, 300);
	build(&h, FX_NOW);
	put(&h, FX_NOW, FX_NOW + 72 * FX_HOUR, 0, 299);
	s = build(&h, FX_NOW + FX_HOUR);
	CU_ASSERT_TRUE(same_key(s, h.prev, 0));
	CU_ASSERT_TRUE(served_key_current(&s->keys[0], FX_NOW + FX_HOUR));
	CU_ASSERT_FALSE(served_key_current(&s->keys[0], FX_NOW + 2 * FX_HOUR));

	/* past its nextUpdate, the rollback still there */
	s = build(&h, FX_NOW + 3 * FX_HOUR);
	src = &s->keys[0].sources[0];
	CU_ASSERT_EQUAL(s->keys[0].nentries, 0);
	CU_ASSERT_EQUAL(s->keys[0].parts[0].next_update, 0);
	CU_ASSERT_FALSE(s->keys[0].all_current_at_build);
	CU_ASSERT_TRUE(src->kept);
	CU_ASSERT_EQUAL(src->state, CRL_SOURCE_LAPSED);
	CU_ASSERT_EQUAL(recorded_number(src), 300);
	/* the rollback checked again (its refusal is two hours old), refused; the kept one decided
	 * from its times */
	CU_ASSERT_EQUAL(s->crls_checked, 1);
	CU_ASSERT_EQUAL(s->crls_refused_again, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "the previous CRL of CN=120000,OU=CRL Distribution Points,OU=Chiba-ken,"
					      "O=JPKI,C=JP not used: rule (g) validity: the CRL expired at "));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (e) crl-number"));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, ", not current)"));
	/* another rollback, valid: still refused against the lapsed one */
	put(&h, FX_NOW + 2 * FX_HOUR, FX_NOW + 74 * FX_HOUR, 0, 298);
	s = build(&h, FX_NOW + 4 * FX_HOUR);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 0);
	CU_ASSERT_FALSE(s->keys[0].all_current_at_build);
	CU_ASSERT_EQUAL(recorded_number(&s->keys[0].sources[0]), 300);
	/* a good one */
	put(&h, FX_NOW + 4 * FX_HOUR, FX_NOW + 76 * FX_HOUR, 5, 301);
	s = build(&h, FX_NOW + 5 * FX_HOUR);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 5);
	CU_ASSERT_TRUE(s->keys[0].all_current_at_build);
	CU_ASSERT_FALSE(s->keys[0].sources[0].kept);
	history_end(&h);
}

/* A CRL that passes every rule but the time ones is accepted without its entries: a newer one
 * already past its nextUpdate replaces the previous (tryLater: its revocations may be new), and
 * is what a later one is compared with, also in a build without history (a start from the state
 * copy, whose CRL may have expired since it was saved). */
static void test_lapsed_replaces(void)
{
	history h;
	snapshot *s;

	history_start(&h, 0, 3);
	put(&h, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, 400);
	build(&h, FX_NOW);
	/* newer, valid an hour, two hours ago */
	put(&h, FX_NOW - 30 * 60, FX_NOW + 30 * 60, 21, 401);
	s = build(&h, FX_NOW + 2 * FX_HOUR);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 0);
	CU_ASSERT_FALSE(s->keys[0].all_current_at_build);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_LAPSED);
	CU_ASSERT_FALSE(s->keys[0].sources[0].kept);
	CU_ASSERT_EQUAL(recorded_number(&s->keys[0].sources[0]), 401);
	CU_ASSERT_EQUAL(s->crls_kept, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (g) validity: the CRL expired at "));

	/* a start with no history, the only CRL expired: still the one compared with */
	forget(&h);
	s = build(&h, FX_NOW + 2 * FX_HOUR);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_LAPSED);
	put(&h, FX_NOW + FX_HOUR, FX_NOW + 73 * FX_HOUR, 10, 400);
	s = build(&h, FX_NOW + 2 * FX_HOUR);
	CU_ASSERT_EQUAL(s->keys[0].nentries, 0);
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "rule (e) crl-number: cRLNumber 400 is not greater than the stored 401"));
	history_end(&h);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("snapshot_incremental", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "unchanged CRLs are not checked again", test_unchanged_not_checked) ||
	    !CU_add_test(s, "another policy or trust: everything checked again", test_rules_changed) ||
	    !CU_add_test(s, "a CRL taken over that has lapsed since", test_lapsed) ||
	    !CU_add_test(s, "two CRLs of one key, a CRL without its hash", test_not_taken_over) ||
	    !CU_add_test(s, "verifier certificates shared", test_registry_shared) ||
	    !CU_add_test(s, "one serial in several partitions, renumbered", test_shared_serials) ||
	    !CU_add_test(s, "a rollback refused, the previous CRL kept", test_rollback_refused) ||
	    !CU_add_test(s, "a bad signature: the previous CRL kept", test_bad_signature_kept) ||
	    !CU_add_test(s, "a removed CRL is not kept", test_removed_not_kept) ||
	    !CU_add_test(s, "a kept CRL lapses at its nextUpdate", test_kept_lapses) ||
	    !CU_add_test(s, "a newer CRL past its nextUpdate replaces the previous", test_lapsed_replaces) ||
	    !CU_add_test(s, "the CRL removed for a build: a rollback still refused", test_removed_then_rollback) ||
	    !CU_add_test(s, "a CRL dated in the future sets no mark", test_future_sets_no_mark) ||
	    !CU_add_test(s, "a refusal is taken over while the marks are the same, for 600 s",
		    test_refusal_taken_while_marks_same) ||
	    !CU_add_test(s, "the partition deleted and added again: a rollback still refused",
		    test_deleted_partition_then_rollback) ||
	    !CU_add_test(s, "random changes: incremental equals full", test_random_sequences)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
