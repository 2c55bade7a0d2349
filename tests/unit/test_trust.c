/* Unit tests for lib/trust.c: anchors, generations brought in by link certificates
 * (CPS 4-13 NewWithOld / OldWithNew), and finding the key that signed a CRL. */
#define _POSIX_C_SOURCE 200809L
#include "trust.h"

#include <CUnit/CUnit.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_main.h"
#include "fixture.h"

static int init_suite(void)
{
	for (int i = 0; i < FX_NKEYS; i++)
		if (fx_key(i) == NULL || fx_ca_cert(i) == NULL)
			return -1;
	return 0;
}

static int clean_suite(void)
{
	fx_cleanup();
	return 0;
}

static STACK_OF(X509) *set_of(X509 *a, X509 *b, X509 *c)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	X509 *in[3] = { a, b, c };

	for (int i = 0; s != NULL && i < 3; i++)
		if (in[i] != NULL)
			sk_X509_push(s, in[i]);
	return s;
}

static int has_key(const jpki_trust *t, int slot)
{
	unsigned char id[20];

	fx_key_id(fx_key(slot), id);
	return jpki_trust_find_id(t, id, sizeof(id)) != NULL;
}

/* ---- anchors ---- */

static void test_anchor_ok(void)
{
	jpki_trust *t = jpki_trust_new();
	jpki_err err = { "" };
	const jpki_ca_key *k;
	unsigned char id[20];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 0);
	CU_ASSERT_PTR_NULL(jpki_trust_ca_name(t));
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, fx_ca_cert(FX_GEN1), &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	k = jpki_trust_key(t, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_TRUE(k->anchor);
	fx_key_id(fx_key(FX_GEN1), id);
	CU_ASSERT_EQUAL(memcmp(k->id, id, 20), 0);
	CU_ASSERT_PTR_EQUAL(jpki_trust_find_id(t, id, 20), k);
	CU_ASSERT_PTR_NULL(jpki_trust_find_id(t, id, 19));
	CU_ASSERT_PTR_NULL(jpki_trust_key(t, 1));
	CU_ASSERT_EQUAL(X509_NAME_cmp(jpki_trust_ca_name(t), fx_ca_name()), 0);
	/* the same anchor twice adds nothing */
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, fx_ca_cert(FX_GEN1), &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	/* a second generation's self-signed certificate may be an anchor too */
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, fx_ca_cert(FX_GEN2), &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	jpki_trust_free(t);
	jpki_trust_free(NULL);
}

static void test_anchor_not_ca(void)
{
	jpki_trust *t = jpki_trust_new();
	jpki_err err = { "" };
	X509 *ee = fx_cert(fx_ca_name(), fx_key(FX_OTHER), fx_ca_name(), fx_key(FX_OTHER), 0, 300);

	CU_ASSERT_FATAL(t != NULL && ee != NULL);
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, ee, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "not a CA"));
	CU_ASSERT_EQUAL(jpki_trust_count(t), 0);
	CU_ASSERT_PTR_NULL(jpki_trust_ca_name(t));
	X509_free(ee);
	jpki_trust_free(t);
}

static void test_anchor_not_self_signed(void)
{
	jpki_trust *t = jpki_trust_new();
	jpki_err err = { "" };
	/* the link certificate: CA name as subject and issuer, but signed by the old key */
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1);
	/* issued by another CA */
	X509 *sub = fx_cert(fx_ca_name(), fx_key(FX_OTHER), fx_other_name(), fx_key(FX_ROGUE), 1, 301);

	CU_ASSERT_FATAL(t != NULL && nwo != NULL && sub != NULL);
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, nwo, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "not self-signed"));
	err.text[0] = '\0';
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, sub, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "not self-signed"));
	CU_ASSERT_EQUAL(jpki_trust_count(t), 0);
	CU_ASSERT_PTR_NULL(jpki_trust_ca_name(t));
	X509_free(nwo);
	X509_free(sub);
	jpki_trust_free(t);
}

/* The configured anchors as one set: both generations, or nothing when one is refused. */
static void test_from_anchors(void)
{
	STACK_OF(X509) *st = sk_X509_new_null();
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1);
	jpki_trust *t;
	jpki_err err = { "" };

	CU_ASSERT_FATAL(st != NULL && nwo != NULL);
	sk_X509_push(st, fx_ca_cert(FX_GEN1));
	sk_X509_push(st, fx_ca_cert(FX_GEN2));
	t = jpki_trust_from_anchors(st, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	jpki_trust_free(t);
	sk_X509_push(st, nwo);
	CU_ASSERT_PTR_NULL(jpki_trust_from_anchors(st, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "not self-signed"));
	sk_X509_free(st);
	X509_free(nwo);
}

static void test_anchor_two_names(void)
{
	jpki_trust *t = jpki_trust_new();
	jpki_err err = { "" };
	X509 *bridge = fx_cert(fx_other_name(), fx_key(FX_OTHER), fx_other_name(), fx_key(FX_OTHER), 1, 302);

	CU_ASSERT_FATAL(t != NULL && bridge != NULL);
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, fx_ca_cert(FX_GEN1), &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_add_anchor(t, bridge, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "different CAs"));
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	CU_ASSERT_EQUAL(X509_NAME_cmp(jpki_trust_ca_name(t), fx_ca_name()), 0);
	X509_free(bridge);
	jpki_trust_free(t);
}

static char *pem_file(X509 *a, X509 *b)
{
	BIO *m = BIO_new(BIO_s_mem());
	char *data, *text = NULL, *path = NULL;
	long len;

	if (m == NULL || !PEM_write_bio_X509(m, a) || (b != NULL && !PEM_write_bio_X509(m, b)))
		goto out;
	len = BIO_get_mem_data(m, &data);
	text = malloc((size_t)len + 1);
	if (text == NULL)
		goto out;
	memcpy(text, data, (size_t)len);
	text[len] = '\0';
	path = fx_write_temp(text);
out:
	free(text);
	BIO_free(m);
	return path;
}

/* Files read one after another keep what passed; a file naming another CA adds nothing. */
static void test_read_anchors(void)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	jpki_err err = { "" };
	X509 *bridge = fx_cert(fx_other_name(), fx_key(FX_OTHER), fx_other_name(), fx_key(FX_OTHER), 1, 304);
	char *gen1 = pem_file(fx_ca_cert(FX_GEN1), NULL);
	char *gen2 = pem_file(fx_ca_cert(FX_GEN2), NULL);
	char *other = pem_file(bridge, NULL);

	CU_ASSERT_FATAL(out != NULL && gen1 != NULL && gen2 != NULL && other != NULL);
	CU_ASSERT_EQUAL(jpki_trust_read_anchors(gen1, out, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_read_anchors(gen2, out, &err), 0);
	CU_ASSERT_EQUAL(sk_X509_num(out), 2);
	CU_ASSERT_EQUAL(jpki_trust_read_anchors(other, out, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "different CAs"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, other));
	CU_ASSERT_EQUAL(sk_X509_num(out), 2);
	unlink(gen1);
	unlink(gen2);
	unlink(other);
	free(gen1);
	free(gen2);
	free(other);
	X509_free(bridge);
	sk_X509_pop_free(out, X509_free);
}

static void test_anchor_file(void)
{
	jpki_trust *t = jpki_trust_new();
	jpki_err err = { "" };
	X509 *bridge = fx_cert(fx_other_name(), fx_key(FX_OTHER), fx_other_name(), fx_key(FX_OTHER), 1, 303);
	char *good = pem_file(fx_ca_cert(FX_GEN1), fx_ca_cert(FX_GEN2));
	char *mixed = pem_file(fx_ca_cert(FX_GEN1), bridge);
	char *empty = fx_write_temp("no certificates here\n");

	CU_ASSERT_FATAL(t != NULL && good != NULL && mixed != NULL && empty != NULL);
	CU_ASSERT_EQUAL(jpki_trust_add_anchor_file(t, good, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	jpki_trust_free(t);
	t = jpki_trust_new();
	CU_ASSERT_EQUAL(jpki_trust_add_anchor_file(t, mixed, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, mixed));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "different CAs"));
	CU_ASSERT_EQUAL(jpki_trust_add_anchor_file(t, empty, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "no PEM certificate"));
	CU_ASSERT_EQUAL(jpki_trust_add_anchor_file(t, "/nonexistent/anchor.pem", &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "/nonexistent/anchor.pem"));
	unlink(good);
	unlink(mixed);
	unlink(empty);
	free(good);
	free(mixed);
	free(empty);
	X509_free(bridge);
	jpki_trust_free(t);
}

/* ---- extend ---- */

static void test_extend_new_with_old(void)
{
	jpki_trust *t = fx_trust();
	jpki_err err = { "" };
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1);
	STACK_OF(X509) *s;
	const jpki_ca_key *k;

	CU_ASSERT_FATAL(t != NULL && nwo != NULL);
	/* the link certificate first, then gen2's self-signed one: both in one set */
	s = set_of(nwo, fx_ca_cert(FX_GEN2), NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	CU_ASSERT_TRUE(has_key(t, FX_GEN1));
	CU_ASSERT_TRUE(has_key(t, FX_GEN2));
	k = jpki_trust_key(t, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FALSE(k->anchor);
	CU_ASSERT_TRUE(jpki_trust_key(t, 0)->anchor);
	sk_X509_free(s);
	jpki_trust_free(t);

	/* the other order: the self-signed one is only signed once the link brings gen2 in */
	t = fx_trust();
	s = set_of(fx_ca_cert(FX_GEN2), nwo, NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	CU_ASSERT_TRUE(has_key(t, FX_GEN2));
	sk_X509_free(s);
	/* extending again with the same set changes nothing */
	s = set_of(fx_ca_cert(FX_GEN1), nwo, fx_ca_cert(FX_GEN2));
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	sk_X509_free(s);
	jpki_trust_free(t);
	X509_free(nwo);
}

static void test_extend_self_signed_alone(void)
{
	jpki_trust *t = fx_trust();
	jpki_err err = { "" };
	STACK_OF(X509) *s = set_of(fx_ca_cert(FX_GEN2), NULL, NULL);

	CU_ASSERT_FATAL(t != NULL && s != NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "certificate 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "not signed by a trusted"));
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	CU_ASSERT_FALSE(has_key(t, FX_GEN2));
	sk_X509_free(s);
	jpki_trust_free(t);
}

static void test_extend_old_with_new(void)
{
	jpki_trust *t = fx_trust();
	jpki_err err = { "" };
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1), *own = fx_link(FX_GEN1, FX_GEN2);
	STACK_OF(X509) *s;

	CU_ASSERT_FATAL(t != NULL && nwo != NULL && own != NULL);
	/* OldWithNew comes first: it is signed by gen2, which only NewWithOld brings in */
	s = set_of(own, nwo, fx_ca_cert(FX_GEN2));
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	sk_X509_free(s);
	jpki_trust_free(t);
	/* OldWithNew alone: gen2 is not trusted, so it is not signed by a trusted key */
	t = fx_trust();
	s = set_of(own, NULL, NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "certificate 1"));
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	sk_X509_free(s);
	jpki_trust_free(t);
	X509_free(nwo);
	X509_free(own);
}

static void test_extend_cross_cert(void)
{
	jpki_trust *t = fx_trust();
	jpki_err err = { "" };
	/* the CA certifies the bridge CA: signed by us, for another name */
	X509 *cross = fx_cert(fx_other_name(), fx_key(FX_OTHER), fx_ca_name(), fx_key(FX_GEN1), 1, 400);
	/* and the bridge certifies us: not signed by a key we trust */
	X509 *back = fx_cert(fx_ca_name(), fx_key(FX_GEN1), fx_other_name(), fx_key(FX_OTHER), 1, 401);
	/* an end-entity certificate with our name, signed by us: signed, but no CA key */
	X509 *ee = fx_cert(fx_ca_name(), fx_key(FX_ROGUE), fx_ca_name(), fx_key(FX_GEN1), 0, 402);
	STACK_OF(X509) *s;

	CU_ASSERT_FATAL(t != NULL && cross != NULL && back != NULL && ee != NULL);
	s = set_of(cross, ee, NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	CU_ASSERT_FALSE(has_key(t, FX_OTHER));
	CU_ASSERT_FALSE(has_key(t, FX_ROGUE));
	sk_X509_free(s);
	s = set_of(cross, back, NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "certificate 2"));
	sk_X509_free(s);
	X509_free(cross);
	X509_free(back);
	X509_free(ee);
	jpki_trust_free(t);
}

static void test_extend_refused_unchanged(void)
{
	jpki_trust *t = fx_trust();
	jpki_err err = { "" };
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1);
	X509 *stray = fx_cert(fx_ca_name(), fx_key(FX_OTHER), fx_ca_name(), fx_key(FX_ROGUE), 1, 500);
	STACK_OF(X509) *s;
	const jpki_ca_key *before;
	unsigned char id[20];

	CU_ASSERT_FATAL(t != NULL && nwo != NULL && stray != NULL);
	before = jpki_trust_key(t, 0);
	memcpy(id, before->id, 20);
	/* NewWithOld would bring gen2 in, but the stray certificate spoils the whole set */
	s = set_of(nwo, fx_ca_cert(FX_GEN2), stray);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "certificate 3"));
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	CU_ASSERT_FALSE(has_key(t, FX_GEN2));
	CU_ASSERT_EQUAL(memcmp(jpki_trust_key(t, 0)->id, id, 20), 0);
	CU_ASSERT_EQUAL(X509_NAME_cmp(jpki_trust_ca_name(t), fx_ca_name()), 0);
	sk_X509_free(s);
	/* and it still works afterwards */
	s = set_of(nwo, NULL, NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	sk_X509_free(s);
	X509_free(nwo);
	X509_free(stray);
	jpki_trust_free(t);
}

static void test_extend_no_anchor(void)
{
	jpki_trust *t = jpki_trust_new();
	jpki_err err = { "" };
	STACK_OF(X509) *s = set_of(fx_ca_cert(FX_GEN1), NULL, NULL);

	CU_ASSERT_FATAL(t != NULL && s != NULL);
	CU_ASSERT_EQUAL(jpki_trust_extend(t, s, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "no trust anchor"));
	CU_ASSERT_EQUAL(jpki_trust_count(t), 0);
	sk_X509_free(s);
	jpki_trust_free(t);
}

static void test_extend_der(void)
{
	jpki_trust *t = fx_trust();
	jpki_err err = { "" };
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1);
	unsigned char *d[2] = { NULL, NULL }, *bad;
	const unsigned char *cd[2];
	size_t l[2];
	int n0, n1;

	CU_ASSERT_FATAL(t != NULL && nwo != NULL);
	n0 = i2d_X509(nwo, &d[0]);
	n1 = i2d_X509(fx_ca_cert(FX_GEN2), &d[1]);
	CU_ASSERT_FATAL(n0 > 0 && n1 > 0);
	l[0] = (size_t)n0;
	l[1] = (size_t)n1;
	cd[0] = d[0];
	cd[1] = d[1];
	/* a value with a trailing byte is refused, naming it */
	bad = malloc(l[1] + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	memcpy(bad, d[1], l[1]);
	bad[l[1]] = 0;
	{
		const unsigned char *bd[2] = { d[0], bad };
		size_t bl[2] = { l[0], l[1] + 1 };

		CU_ASSERT_EQUAL(jpki_trust_extend_der(t, bd, bl, 2, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "value 2"));
		CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	}
	CU_ASSERT_EQUAL(jpki_trust_extend_der(t, cd, l, 2, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 2);
	CU_ASSERT_EQUAL(jpki_trust_extend_der(t, cd, l, 0, &err), 0);
	free(bad);
	OPENSSL_free(d[0]);
	OPENSSL_free(d[1]);
	X509_free(nwo);
	jpki_trust_free(t);
}

static void test_dup(void)
{
	jpki_trust *t = fx_trust(), *d;
	jpki_err err = { "" };
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1);
	STACK_OF(X509) *s = set_of(nwo, NULL, NULL);

	CU_ASSERT_FATAL(t != NULL && nwo != NULL && s != NULL);
	d = jpki_trust_dup(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(jpki_trust_extend(d, s, &err), 0);
	CU_ASSERT_EQUAL(jpki_trust_count(d), 2);
	CU_ASSERT_EQUAL(jpki_trust_count(t), 1);
	CU_ASSERT_EQUAL(X509_NAME_cmp(jpki_trust_ca_name(d), fx_ca_name()), 0);
	sk_X509_free(s);
	X509_free(nwo);
	jpki_trust_free(d);
	jpki_trust_free(t);
}

/* ---- crl_signer ---- */

static X509_CRL *crl_by(X509 *ca_cert, int slot, int drop_aki)
{
	fx_crl_spec s;
	unsigned char *der;
	size_t len;
	X509_CRL *crl;

	fx_crl_spec_default(&s);
	s.ca_cert = ca_cert;
	s.key = fx_key(slot);
	if (fx_crl_issue(&s, &der, &len) < 0)
		return NULL;
	crl = fx_crl_parse(der, len);
	OPENSSL_free(der);
	if (crl == NULL || !drop_aki)
		return crl;
	fx_crl_drop_ext(crl, NID_authority_key_identifier);
	if (fx_crl_finish(crl, fx_key(slot), &der, &len) < 0)
		return NULL;
	crl = fx_crl_parse(der, len);
	OPENSSL_free(der);
	return crl;
}

static void expect_signer(const jpki_trust *t, X509_CRL *crl, int slot)
{
	const jpki_ca_key *k;
	unsigned char id[20];

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	k = jpki_trust_crl_signer(t, crl);
	if (slot < 0) {
		CU_ASSERT_PTR_NULL(k);
	} else {
		CU_ASSERT_PTR_NOT_NULL(k);
		fx_key_id(fx_key(slot), id);
		if (k != NULL)
			CU_ASSERT_EQUAL(memcmp(k->id, id, 20), 0);
	}
	X509_CRL_free(crl);
}

static void test_crl_signer(void)
{
	jpki_trust *t = fx_trust();
	jpki_err err = { "" };
	X509 *nwo = fx_link(FX_GEN2, FX_GEN1);
	STACK_OF(X509) *s = set_of(nwo, NULL, NULL);

	CU_ASSERT_FATAL(t != NULL && nwo != NULL && s != NULL);
	CU_ASSERT_EQUAL_FATAL(jpki_trust_extend(t, s, &err), 0);
	/* with AKI */
	expect_signer(t, crl_by(fx_ca_cert(FX_GEN1), FX_GEN1, 0), FX_GEN1);
	expect_signer(t, crl_by(fx_ca_cert(FX_GEN2), FX_GEN2, 0), FX_GEN2);
	/* without AKI */
	expect_signer(t, crl_by(fx_ca_cert(FX_GEN1), FX_GEN1, 1), FX_GEN1);
	expect_signer(t, crl_by(fx_ca_cert(FX_GEN2), FX_GEN2, 1), FX_GEN2);
	/* an AKI naming gen1 on a CRL gen2 signed: the signature decides */
	expect_signer(t, crl_by(fx_ca_cert(FX_GEN1), FX_GEN2, 0), FX_GEN2);
	/* an AKI naming gen1 on a CRL nobody trusted signed */
	expect_signer(t, crl_by(fx_ca_cert(FX_GEN1), FX_ROGUE, 0), -1);
	expect_signer(t, crl_by(fx_ca_cert(FX_ROGUE), FX_ROGUE, 1), -1);
	sk_X509_free(s);
	X509_free(nwo);
	jpki_trust_free(t);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("trust", init_suite, clean_suite);
	if (s == NULL ||
	    !CU_add_test(s, "anchor accepted", test_anchor_ok) ||
	    !CU_add_test(s, "anchor: non-CA refused", test_anchor_not_ca) ||
	    !CU_add_test(s, "anchor: not self-signed refused", test_anchor_not_self_signed) ||
	    !CU_add_test(s, "anchor: two CA names refused", test_anchor_two_names) ||
	    !CU_add_test(s, "anchors as one set", test_from_anchors) ||
	    !CU_add_test(s, "anchor file", test_anchor_file) ||
	    !CU_add_test(s, "read anchors across files", test_read_anchors) ||
	    !CU_add_test(s, "extend: NewWithOld brings gen2 in", test_extend_new_with_old) ||
	    !CU_add_test(s, "extend: gen2 self-signed alone refused", test_extend_self_signed_alone) ||
	    !CU_add_test(s, "extend: OldWithNew alongside", test_extend_old_with_new) ||
	    !CU_add_test(s, "extend: cross cert brings no key", test_extend_cross_cert) ||
	    !CU_add_test(s, "extend: refused leaves trust unchanged", test_extend_refused_unchanged) ||
	    !CU_add_test(s, "extend: no anchor", test_extend_no_anchor) ||
	    !CU_add_test(s, "extend_der", test_extend_der) ||
	    !CU_add_test(s, "dup is independent", test_dup) ||
	    !CU_add_test(s, "crl_signer picks the generation", test_crl_signer)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
