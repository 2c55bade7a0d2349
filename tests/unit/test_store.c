/* Unit tests for the responder's state copy (responder/store.c) with the snapshot it is
 * written from: it holds the CRLs the snapshot accepted, a kept one in place of the refused
 * one, so that a restart without slapd answers from the last good data and, slapd back, a bad
 * CRL still there is refused against the copy (rules (e), (f)); and when slapd last confirmed
 * its verifier registry (registry-max-age), an older copy's counting from when it was written. */
#include "model.h"
#include "store.h"

#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cunit_main.h"
#include "fixture.h"

static char said[1024];	/* the last message logged */

void ocspd_log(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(said, sizeof(said), fmt, ap);
	va_end(ap);
}

static STACK_OF(X509) *anchors;
static char dir[64];
static jpki_crl_policy pol;

static int init_suite(void)
{
	jpki_crl_policy_default(&pol);
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	anchors = sk_X509_new_null();
	return mkdtemp(dir) != NULL && anchors != NULL && fx_ca_cert(FX_GEN1) != NULL &&
			       sk_X509_push(anchors, fx_ca_cert(FX_GEN1)) ?
		       0 :
		       -1;
}

static int clean_suite(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/repository.state", dir);
	unlink(path);
	rmdir(dir);
	sk_X509_free(anchors);	/* the fixture owns the certificate */
	fx_cleanup();
	return 0;
}

/* A gen1 CRL of partition FX_PART_DN: entries 1..n, as the sync thread reads it (malloc'd). */
static model_crl *crl(long number, time_t tu, time_t nu, size_t n, EVP_PKEY *signer)
{
	jpki_revocation revs[32];
	model_crl *c = calloc(1, sizeof(*c));
	unsigned char *der;
	size_t len, i;
	char hex[8];

	CU_ASSERT_FATAL(c != NULL && n <= 32);
	for (i = 0; i < n; i++) {
		snprintf(hex, sizeof(hex), "%zX", 0x100 + i);
		fx_rev(&revs[i], hex, FX_NOW - 86400, 1, NULL);
	}
	CU_ASSERT_FATAL(fx_crl_issue_partition(fx_ca_cert(FX_GEN1), signer, FX_PART_DN, tu, nu, number, revs, n, &der,
					      &len) == 0);
	c->der = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->der);
	memcpy(c->der, der, len);
	c->len = len;
	OPENSSL_free(der);
	fx_revs_free(revs, n);
	return c;
}

static void set(model *m, const char *uuid, const char *dn, model_crl *c)
{
	CU_ASSERT_EQUAL_FATAL(model_set_partition(m, uuid, dn, c, c != NULL), 0);
}

static int same_entries(const served_key *a, const served_key *b)
{
	return a->nentries == b->nentries &&
	       (a->nentries == 0 || memcmp(a->entries, b->entries, a->nentries * sizeof(*a->entries)) == 0) &&
	       a->earliest_next == b->earliest_next && a->all_current_at_build == b->all_current_at_build;
}

static void save(const model *m, const snapshot *s)
{
	char err[512];

	CU_ASSERT_EQUAL_FATAL(store_save(dir, m, s, err, sizeof(err)), 0);
}

/* The copy, loaded and hashed as sync.c does. */
static void load(model *m)
{
	char err[512];

	memset(m, 0, sizeof(*m));
	CU_ASSERT_EQUAL_FATAL(store_load(dir, m, err, sizeof(err)), 0);
	model_hash_crls(m);
}

static model_partition *part(model *m, const char *uuid)
{
	for (size_t i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].uuid, uuid) == 0)
			return &m->parts[i];
	CU_FAIL_FATAL("partition not in the copy");
	return NULL;
}

/* A rollback refused and the good CRL kept: the copy holds the good one; restarted from it,
 * the responder answers from it and refuses the rollback slapd still has. */
static void test_copy_holds_the_kept(void)
{
	model m = { 0 }, back;
	snapshot *good, *s, *restored, *again;
	model_crl *rollback = crl(499, FX_NOW - 60, FX_NOW + 71 * FX_HOUR, 19, fx_key(FX_GEN1));
	model_crl *copy = calloc(1, sizeof(*copy));
	unsigned char *rb_der = malloc(rollback->len);
	size_t rb_len = rollback->len;
	const crl_der *kept;

	CU_ASSERT_FATAL(copy != NULL && rb_der != NULL);
	memcpy(rb_der, rollback->der, rb_len);
	CU_ASSERT_EQUAL_FATAL(model_set_ca(&m, "ca", NULL, 0), 0);
	set(&m, "p0", FX_PART_DN, crl(500, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, fx_key(FX_GEN1)));
	/* a partition whose only CRL was never accepted: saved without it */
	set(&m, "p1", FX_PART_DN2, crl(7, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 1, fx_key(FX_ROGUE)));
	good = snapshot_build(&m, anchors, &pol, 1, FX_NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);

	set(&m, "p0", FX_PART_DN, rollback);
	s = snapshot_build_from(good, &m, anchors, &pol, 2, FX_NOW + 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(s->keys[0].sources[0].kept);
	CU_ASSERT_TRUE(same_entries(&s->keys[0], &good->keys[0]));
	save(&m, s);

	/* the copy: the good CRL, not the refused one; the partitions and the CA entry as they were */
	load(&back);
	kept = s->keys[0].sources[0].ders[0];
	CU_ASSERT_STRING_EQUAL(back.ca_uuid, "ca");
	CU_ASSERT_EQUAL(back.nparts, 2);
	CU_ASSERT_STRING_EQUAL(part(&back, "p0")->dn, FX_PART_DN);
	CU_ASSERT_EQUAL_FATAL(part(&back, "p0")->ncrls, 1);
	CU_ASSERT_TRUE(part(&back, "p0")->crls[0].len == kept->len &&
		       memcmp(part(&back, "p0")->crls[0].der, kept->der, kept->len) == 0);
	CU_ASSERT_EQUAL(part(&back, "p1")->ncrls, 0);

	/* restarted without slapd: the last good data */
	restored = snapshot_build(&back, anchors, &pol, 3, FX_NOW + 120);
	CU_ASSERT_PTR_NOT_NULL_FATAL(restored);
	CU_ASSERT_TRUE(same_entries(&restored->keys[0], &good->keys[0]));

	/* slapd back, the rollback still there: refused against the copy, the good one kept */
	copy->der = rb_der;
	copy->len = rb_len;
	set(&back, "p0", FX_PART_DN, copy);
	again = snapshot_build_from(restored, &back, anchors, &pol, 4, FX_NOW + 180);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	CU_ASSERT_TRUE(same_entries(&again->keys[0], &good->keys[0]));
	CU_ASSERT_TRUE(again->keys[0].sources[0].kept);
	CU_ASSERT_PTR_NOT_NULL(strstr(said, "rule (e) crl-number: cRLNumber 499 is not greater than the stored 500"));
	CU_ASSERT_PTR_NOT_NULL(strstr(said, "the previous cRLNumber 500 of CA key "));

	snapshot_unref(again);
	snapshot_unref(restored);
	snapshot_unref(s);
	snapshot_unref(good);
	model_free(&back);
	model_free(&m);
}

/* The copy's CRL has expired by the restart: still what slapd's rollback is compared with. */
static void test_expired_copy_still_compared(void)
{
	model m = { 0 }, back;
	snapshot *s, *restored, *again;

	CU_ASSERT_EQUAL_FATAL(model_set_ca(&m, "ca", NULL, 0), 0);
	set(&m, "p0", FX_PART_DN, crl(600, FX_NOW - 70 * FX_HOUR, FX_NOW + 2 * FX_HOUR, 5, fx_key(FX_GEN1)));
	s = snapshot_build(&m, anchors, &pol, 1, FX_NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	save(&m, s);
	load(&back);
	restored = snapshot_build(&back, anchors, &pol, 2, FX_NOW + 3 * FX_HOUR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(restored);
	CU_ASSERT_EQUAL(restored->keys[0].sources[0].state, CRL_SOURCE_LAPSED);
	CU_ASSERT_FALSE(restored->keys[0].all_current_at_build);
	set(&back, "p0", FX_PART_DN, crl(599, FX_NOW + 2 * FX_HOUR, FX_NOW + 74 * FX_HOUR, 0, fx_key(FX_GEN1)));
	again = snapshot_build_from(restored, &back, anchors, &pol, 3, FX_NOW + 3 * FX_HOUR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	CU_ASSERT_FALSE(again->keys[0].all_current_at_build);	/* tryLater, not "good" */
	CU_ASSERT_TRUE(again->keys[0].sources[0].kept);
	snapshot_unref(again);
	snapshot_unref(restored);
	snapshot_unref(s);
	model_free(&back);
	model_free(&m);
}

/* s's only mark: of gen1 for FX_PART_DN. */
static const crl_mark *only_mark(const snapshot *s)
{
	CU_ASSERT_EQUAL_FATAL(s->nmarks, 1);
	CU_ASSERT_TRUE(memcmp(s->marks[0].key_id, s->keys[0].key->id, sizeof(s->marks[0].key_id)) == 0);
	return &s->marks[0];
}

/* The marks are in the copy, also of a partition whose CRL is gone, and come back as they
 * were; restarted from the copy, the rollback slapd then has is refused against them, though
 * no CRL of the partition is left to compare it with. */
static void test_marks_survive_restart(void)
{
	model m = { 0 }, back;
	snapshot *good, *s, *restored, *again;
	const crl_mark *mk;
	char first[64] = "", path[128];
	FILE *fp;

	CU_ASSERT_EQUAL_FATAL(model_set_ca(&m, "ca", NULL, 0), 0);
	set(&m, "p0", FX_PART_DN, crl(800, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 20, fx_key(FX_GEN1)));
	good = snapshot_build(&m, anchors, &pol, 1, FX_NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	set(&m, "p0", FX_PART_DN, NULL);	/* the CRL value removed around the overlay */
	s = snapshot_build_from(good, &m, anchors, &pol, 2, FX_NOW + 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->keys[0].sources[0].state, CRL_SOURCE_NONE);
	save(&m, s);
	snprintf(path, sizeof(path), "%s/repository.state", dir);
	fp = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	CU_ASSERT_PTR_NOT_NULL(fgets(first, sizeof(first), fp));
	fclose(fp);
	CU_ASSERT_STRING_EQUAL(first, "jpki-ocspd-state 3\n");

	load(&back);
	CU_ASSERT_EQUAL(part(&back, "p0")->ncrls, 0);
	CU_ASSERT_EQUAL_FATAL(back.nmarks, 1);
	mk = only_mark(good);
	CU_ASSERT_STRING_EQUAL(back.marks[0].dn, mk->dn);
	CU_ASSERT_STRING_EQUAL(back.marks[0].dn, part(&back, "p0")->ndn);
	CU_ASSERT_TRUE(memcmp(back.marks[0].key_id, mk->key_id, sizeof(mk->key_id)) == 0);
	CU_ASSERT_EQUAL(ASN1_INTEGER_cmp(back.marks[0].number, mk->number), 0);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(back.marks[0].number), 800);
	CU_ASSERT_EQUAL(back.marks[0].this_update, FX_NOW - FX_HOUR);
	CU_ASSERT_TRUE(memcmp(back.marks[0].sha256, mk->sha256, sizeof(mk->sha256)) == 0);

	/* restarted without slapd (no history but the copy's), then slapd has the rollback */
	restored = snapshot_build_from(NULL, &back, anchors, &pol, 3, FX_NOW + 120);
	CU_ASSERT_PTR_NOT_NULL_FATAL(restored);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(only_mark(restored)->number), 800);
	set(&back, "p0", FX_PART_DN, crl(799, FX_NOW - 60, FX_NOW + 71 * FX_HOUR, 19, fx_key(FX_GEN1)));
	again = snapshot_build_from(restored, &back, anchors, &pol, 4, FX_NOW + 180);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	CU_ASSERT_EQUAL(again->keys[0].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_EQUAL(again->keys[0].nentries, 0);
	CU_ASSERT_FALSE(again->keys[0].all_current_at_build);	/* tryLater, not "good" */
	CU_ASSERT_PTR_NOT_NULL(strstr(said, "rule (e) crl-number: cRLNumber 799 is not greater than the stored 800"));
	/* the CRL that set the mark, come back, is not its own successor */
	{
		const crl_der *d = good->keys[0].sources[0].ders[0];
		model_crl *c = calloc(1, sizeof(*c));

		CU_ASSERT_FATAL(c != NULL && (c->der = malloc(d->len)) != NULL);
		memcpy(c->der, d->der, d->len);
		c->len = d->len;
		set(&back, "p0", FX_PART_DN, c);
	}
	snapshot_unref(restored);
	restored = snapshot_build_from(again, &back, anchors, &pol, 5, FX_NOW + 240);
	CU_ASSERT_PTR_NOT_NULL_FATAL(restored);
	CU_ASSERT_TRUE(same_entries(&restored->keys[0], &good->keys[0]));

	snapshot_unref(restored);
	snapshot_unref(again);
	snapshot_unref(s);
	snapshot_unref(good);
	model_free(&back);
	model_free(&m);
}

/* The copy's path, and its modification time set to t. */
static const char *copy_path(void)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/repository.state", dir);
	return path;
}

static void set_mtime(time_t t)
{
	struct timeval tv[2] = { { .tv_sec = t }, { .tv_sec = t } };

	CU_ASSERT_EQUAL_FATAL(utimes(copy_path(), tv), 0);
}

/* A version-1 copy (before the marks) is read as before; its CRL sets the mark once the
 * first build accepts it, and a rollback is refused against it from then on. */
static void test_version1_copy(void)
{
	model back;
	model_crl *c = crl(900, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 3, fx_key(FX_GEN1));
	snapshot *restored, *again;
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/repository.state", dir);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fprintf(fp, "jpki-ocspd-state 1\nca ca\npartition p0 ");
	{
		/* what version 1 wrote: base64 of the DN and of the DER */
		unsigned char b64[8192];
		int n = EVP_EncodeBlock(b64, (const unsigned char *)FX_PART_DN, (int)strlen(FX_PART_DN));

		fwrite(b64, 1, (size_t)n, fp);
		fprintf(fp, "\ncrl p0 ");
		CU_ASSERT_FATAL(c->len * 4 / 3 + 4 < sizeof(b64));
		n = EVP_EncodeBlock(b64, c->der, (int)c->len);
		fwrite(b64, 1, (size_t)n, fp);
	}
	fprintf(fp, "\nend\n");
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
	set_mtime(FX_NOW - 5000);

	load(&back);
	CU_ASSERT_EQUAL(back.registry_confirmed, FX_NOW - 5000);	/* when it was written */
	CU_ASSERT_EQUAL(back.nmarks, 0);
	CU_ASSERT_EQUAL_FATAL(part(&back, "p0")->ncrls, 1);
	restored = snapshot_build_from(NULL, &back, anchors, &pol, 1, FX_NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(restored);
	CU_ASSERT_EQUAL(restored->keys[0].nentries, 3);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(only_mark(restored)->number), 900);
	set(&back, "p0", FX_PART_DN, NULL);
	again = snapshot_build_from(restored, &back, anchors, &pol, 2, FX_NOW + 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	snapshot_unref(restored);
	set(&back, "p0", FX_PART_DN, crl(899, FX_NOW - 60, FX_NOW + 71 * FX_HOUR, 2, fx_key(FX_GEN1)));
	restored = snapshot_build_from(again, &back, anchors, &pol, 3, FX_NOW + 120);
	CU_ASSERT_PTR_NOT_NULL_FATAL(restored);
	CU_ASSERT_EQUAL(restored->keys[0].sources[0].state, CRL_SOURCE_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(said, "cRLNumber 899 is not greater than the stored 900"));
	snapshot_unref(restored);
	snapshot_unref(again);
	model_crls_free(c, 1);
	model_free(&back);
}

/* The copy as text, its header and "confirmed" line replaced by head (NULL: as written). */
static void rewrite_head(const char *head)
{
	char *text = NULL, *rest;
	size_t cap = 0;
	FILE *fp = fopen(copy_path(), "r");
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	n = getdelim(&text, &cap, '\0', fp);
	fclose(fp);
	CU_ASSERT_FATAL(n > 0 && strncmp(text, "jpki-ocspd-state 3\nconfirmed ", 29) == 0);
	rest = strchr(strchr(text, '\n') + 1, '\n') + 1;
	fp = fopen(copy_path(), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(head, fp);
	fputs(rest, fp);
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
	free(text);
}

/* When slapd last confirmed the registry: written, read back, 0 (never) too; a version-2 or
 * -1 copy, which does not say, counts from when it was written (its modification time), not
 * from the load; a version-3 copy without a readable "confirmed" second line is damaged. */
static void test_registry_confirmed(void)
{
	static const char *const bad[] = { "jpki-ocspd-state 3\n", "jpki-ocspd-state 3\nconfirmed \n",
		"jpki-ocspd-state 3\nconfirmed -5\n", "jpki-ocspd-state 3\nconfirmed 12x\n",
		"jpki-ocspd-state 3\nconfirmed 99999999999999999999\n", "jpki-ocspd-state 4\nconfirmed 1\n",
		"jpki-ocspd-state 3\nca ca\nconfirmed 1\n" };
	model m = { 0 }, back;
	snapshot *s;
	char err[512];

	CU_ASSERT_EQUAL_FATAL(model_set_ca(&m, "ca", NULL, 0), 0);
	set(&m, "p0", FX_PART_DN, crl(1000, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 2, fx_key(FX_GEN1)));
	s = snapshot_build(&m, anchors, &pol, 1, FX_NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);

	m.registry_confirmed = FX_NOW - 42;
	save(&m, s);
	set_mtime(FX_NOW - 7);	/* not what is read */
	load(&back);
	CU_ASSERT_EQUAL(back.registry_confirmed, FX_NOW - 42);
	CU_ASSERT_EQUAL(part(&back, "p0")->ncrls, 1);
	model_free(&back);
	m.registry_confirmed = 0;
	save(&m, s);
	load(&back);
	CU_ASSERT_EQUAL(back.registry_confirmed, 0);
	model_free(&back);

	/* version 2: confirmed when written */
	m.registry_confirmed = FX_NOW - 42;
	save(&m, s);
	rewrite_head("jpki-ocspd-state 2\n");
	set_mtime(FX_NOW - 1000);
	load(&back);
	CU_ASSERT_EQUAL(back.registry_confirmed, FX_NOW - 1000);
	CU_ASSERT_EQUAL(part(&back, "p0")->ncrls, 1);
	model_free(&back);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		save(&m, s);
		rewrite_head(bad[i]);
		memset(&back, 0, sizeof(back));
		CU_ASSERT_EQUAL(store_load(dir, &back, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "damaged at line"));
	}
	/* none at all: no copy yet */
	unlink(copy_path());
	memset(&back, 0, sizeof(back));
	CU_ASSERT_EQUAL(store_load(dir, &back, err, sizeof(err)), 1);
	snapshot_unref(s);
	model_free(&m);
}

/* A snapshot of another model is not written as this one's copy. */
static void test_other_snapshot_refused(void)
{
	model m = { 0 }, other = { 0 };
	snapshot *s;
	char err[512] = "";

	set(&m, "p0", FX_PART_DN, crl(700, FX_NOW - FX_HOUR, FX_NOW + 71 * FX_HOUR, 1, fx_key(FX_GEN1)));
	set(&other, "p0", FX_PART_DN2, NULL);
	s = snapshot_build(&other, anchors, &pol, 1, FX_NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(store_save(dir, &m, s, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not built from the model"));
	snapshot_unref(s);
	model_free(&other);
	model_free(&m);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("store", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "the copy holds the kept CRL, not the refused one", test_copy_holds_the_kept) ||
	    !CU_add_test(s, "an expired copy is still compared with", test_expired_copy_still_compared) ||
	    !CU_add_test(s, "a snapshot of another model is not saved", test_other_snapshot_refused) ||
	    !CU_add_test(s, "the marks survive a restart, the CRL removed", test_marks_survive_restart) ||
	    !CU_add_test(s, "a version-1 copy is read; its CRL sets the mark", test_version1_copy) ||
	    !CU_add_test(s, "the registry's confirmation, also of older copies", test_registry_confirmed)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
