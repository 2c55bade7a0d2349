/* Shared fixtures for the unit tests; see fixture.h. */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include "fixture.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static EVP_PKEY *keys[FX_NKEYS];
static X509 *ca_certs[FX_NKEYS];
static X509_NAME *ca_name, *other_name;

EVP_PKEY *fx_key(int slot)
{
	EVP_PKEY_CTX *ctx;

	if (slot < 0 || slot >= FX_NKEYS)
		return NULL;
	if (keys[slot] != NULL)
		return keys[slot];
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) <= 0 ||
	    EVP_PKEY_keygen(ctx, &keys[slot]) <= 0) {
		ERR_print_errors_fp(stderr);
		keys[slot] = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return keys[slot];
}

void fx_key_id(EVP_PKEY *key, unsigned char out[20])
{
	X509_PUBKEY *xp = NULL;
	const unsigned char *bits = NULL;
	int len = 0;

	memset(out, 0, 20);
	if (X509_PUBKEY_set(&xp, key) && X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xp))
		SHA1(bits, (size_t)len, out);
	X509_PUBKEY_free(xp);
}

static X509_NAME *name_v(const char *type, va_list ap)
{
	X509_NAME *n = X509_NAME_new();

	while (n != NULL && type != NULL) {
		const char *value = va_arg(ap, const char *);

		if (!X509_NAME_add_entry_by_txt(n, type, MBSTRING_UTF8, (const unsigned char *)value,
			-1, -1, 0)) {
			X509_NAME_free(n);
			return NULL;
		}
		type = va_arg(ap, const char *);
	}
	return n;
}

X509_NAME *fx_name(const char *type, ...)
{
	va_list ap;
	X509_NAME *n;

	va_start(ap, type);
	n = name_v(type, ap);
	va_end(ap);
	return n;
}

const X509_NAME *fx_ca_name(void)
{
	if (ca_name == NULL)
		ca_name = fx_name("C", "JP", "O", "JPKI", "OU", "Chiba-ken", NULL);
	return ca_name;
}

const X509_NAME *fx_other_name(void)
{
	if (other_name == NULL)
		other_name = fx_name("C", "JP", "O", "JPKI", "OU", "Bridge CA", NULL);
	return other_name;
}

static int add_key_ids(X509 *x, EVP_PKEY *subject_key, EVP_PKEY *issuer_key)
{
	unsigned char id[20];
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	int ok = 0;

	if (ski == NULL || aki == NULL)
		goto out;
	fx_key_id(subject_key, id);
	if (!ASN1_OCTET_STRING_set(ski, id, 20) ||
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) != 1)
		goto out;
	fx_key_id(issuer_key, id);
	if ((aki->keyid = ASN1_OCTET_STRING_new()) == NULL || !ASN1_OCTET_STRING_set(aki->keyid, id, 20) ||
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, X509V3_ADD_DEFAULT) != 1)
		goto out;
	ok = 1;
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	return ok;
}

static int add_ca_exts(X509 *x, int ca)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int ok = 0;

	if (bc == NULL || ku == NULL)
		goto out;
	bc->ca = ca ? 0xff : 0;
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) != 1)
		goto out;
	if (ca) {
		if (!ASN1_BIT_STRING_set_bit(ku, 5, 1) || !ASN1_BIT_STRING_set_bit(ku, 6, 1))
			goto out;	/* keyCertSign, cRLSign */
	} else if (!ASN1_BIT_STRING_set_bit(ku, 0, 1)) {
		goto out;	/* digitalSignature */
	}
	if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) != 1)
		goto out;
	ok = 1;
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	return ok;
}

X509 *fx_cert(const X509_NAME *subject, EVP_PKEY *subject_key, const X509_NAME *issuer,
	EVP_PKEY *issuer_key, int ca, long serial)
{
	X509 *x = X509_new();

	if (x == NULL || subject == NULL || issuer == NULL || subject_key == NULL || issuer_key == NULL)
		goto fail;
	if (!X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, issuer) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), -365, 0, &(time_t){ FX_NOW }) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0, &(time_t){ FX_NOW }) == NULL ||
	    !X509_set_pubkey(x, subject_key) || !add_ca_exts(x, ca) ||
	    !add_key_ids(x, subject_key, issuer_key) || X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	ERR_print_errors_fp(stderr);
	X509_free(x);
	return NULL;
}

X509 *fx_ca_cert(int slot)
{
	if (slot < 0 || slot >= FX_NKEYS)
		return NULL;
	if (ca_certs[slot] == NULL)
		ca_certs[slot] = fx_cert(fx_ca_name(), fx_key(slot), fx_ca_name(), fx_key(slot), 1,
			100 + slot);
	return ca_certs[slot];
}

X509 *fx_link(int new_slot, int old_slot)
{
	return fx_cert(fx_ca_name(), fx_key(new_slot), fx_ca_name(), fx_key(old_slot), 1,
		200 + 10 * new_slot + old_slot);
}

jpki_trust *fx_trust(void)
{
	jpki_trust *t = jpki_trust_new();
	jpki_err err = { "" };

	if (t == NULL || fx_ca_cert(FX_GEN1) == NULL ||
	    jpki_trust_add_anchor(t, fx_ca_cert(FX_GEN1), &err) < 0) {
		fprintf(stderr, "fx_trust: %s\n", err.text);
		jpki_trust_free(t);
		return NULL;
	}
	return t;
}

void fx_rev(jpki_revocation *r, const char *hex, time_t at, int reason, const char *muni)
{
	BIGNUM *bn = NULL;

	memset(r, 0, sizeof(*r));
	if (BN_hex2bn(&bn, hex))
		r->serial = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	r->revoked_at = at;
	r->reason = reason;
	if (muni != NULL)
		snprintf(r->municipality, sizeof(r->municipality), "%s", muni);
}

void fx_revs_free(jpki_revocation *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ASN1_INTEGER_free(r[i].serial);
		r[i].serial = NULL;
	}
}

void fx_crl_spec_default(fx_crl_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->ca_cert = fx_ca_cert(FX_GEN1);
	s->key = fx_key(FX_GEN1);
	s->dp_dn = FX_PART_DN;
	s->kind = JPKI_CRL_PARTITION;
	s->this_update = FX_NOW - FX_HOUR;
	s->next_update = FX_NOW - FX_HOUR + 72 * FX_HOUR;
	s->number = 10;
}

int fx_crl_issue(const fx_crl_spec *s, unsigned char **der, size_t *len)
{
	ASN1_INTEGER *number = ASN1_INTEGER_new();
	jpki_crl_params p;
	jpki_err err = { "" };
	int rc = -1;

	*der = NULL;
	*len = 0;
	if (number == NULL || !ASN1_INTEGER_set(number, s->number))
		goto out;
	p.ca_cert = s->ca_cert;
	p.ca_key = s->key;
	p.dp_dn = s->dp_dn;
	p.kind = s->kind;
	p.this_update = s->this_update;
	p.next_update = s->next_update;
	p.number = number;
	rc = jpki_crl_build(&p, s->revs, s->n, s->select, s->ctx, der, len, &err);
	if (rc < 0)
		fprintf(stderr, "fx_crl_issue: %s\n", err.text);
out:
	ASN1_INTEGER_free(number);
	return rc;
}

int fx_crl_issue_partition(X509 *ca_cert, EVP_PKEY *key, const char *dp_dn, time_t this_update,
	time_t next_update, long number, const jpki_revocation *revs, size_t n, unsigned char **der,
	size_t *len)
{
	const fx_crl_spec s = { .ca_cert = ca_cert, .key = key, .dp_dn = dp_dn, .kind = JPKI_CRL_PARTITION,
		.this_update = this_update, .next_update = next_update, .number = number, .revs = revs, .n = n };

	return fx_crl_issue(&s, der, len);
}

X509_CRL *fx_crl_parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;

	return d2i_X509_CRL(NULL, &p, (long)len);
}

int fx_crl_finish(X509_CRL *crl, EVP_PKEY *key, unsigned char **der, size_t *len)
{
	int n;

	*der = NULL;
	*len = 0;
	if (crl == NULL)
		return -1;
	if (key != NULL && X509_CRL_sign(crl, key, EVP_sha256()) <= 0) {
		ERR_print_errors_fp(stderr);
		X509_CRL_free(crl);
		return -1;
	}
	n = i2d_X509_CRL(crl, der);
	X509_CRL_free(crl);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

X509_CRL *fx_crl_copy(X509_CRL *src, int with_next_update, int with_extensions, long version)
{
	X509_CRL *dst = X509_CRL_new();
	const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(src);
	STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(src);
	int i;

	if (dst == NULL || !X509_CRL_set_version(dst, version) ||
	    !X509_CRL_set_issuer_name(dst, X509_CRL_get_issuer(src)) ||
	    !X509_CRL_set1_lastUpdate(dst, X509_CRL_get0_lastUpdate(src)))
		goto fail;
	if (with_next_update && !X509_CRL_set1_nextUpdate(dst, X509_CRL_get0_nextUpdate(src)))
		goto fail;
	for (i = 0; with_extensions && i < sk_X509_EXTENSION_num(exts); i++)
		if (!X509_CRL_add_ext(dst, sk_X509_EXTENSION_value(exts, i), -1))
			goto fail;
	for (i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
		X509_REVOKED *r = X509_REVOKED_dup(sk_X509_REVOKED_value(revoked, i));

		if (r == NULL || !X509_CRL_add0_revoked(dst, r)) {
			X509_REVOKED_free(r);
			goto fail;
		}
	}
	return dst;
fail:
	X509_CRL_free(dst);
	return NULL;
}

int fx_crl_drop_ext(X509_CRL *crl, int nid)
{
	int i, n = 0;

	while ((i = X509_CRL_get_ext_by_NID(crl, nid, -1)) >= 0) {
		X509_EXTENSION_free(X509_CRL_delete_ext(crl, i));
		n++;
	}
	return n;
}

char *fx_write_temp(const char *text)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(text);
	char *path;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	path = malloc(strlen(dir) + 32);
	if (path == NULL)
		return NULL;
	sprintf(path, "%s/jpki_fixture.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

void fx_cleanup(void)
{
	for (int i = 0; i < FX_NKEYS; i++) {
		X509_free(ca_certs[i]);
		ca_certs[i] = NULL;
		EVP_PKEY_free(keys[i]);
		keys[i] = NULL;
	}
	X509_NAME_free(ca_name);
	X509_NAME_free(other_name);
	ca_name = other_name = NULL;
}
