#include "trust.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

struct jpki_trust {
	jpki_ca_key *keys;
	size_t n;
	X509_NAME *ca_name;
};

jpki_trust *jpki_trust_new(void)
{
	return calloc(1, sizeof(jpki_trust));
}

static void key_clear(jpki_ca_key *k)
{
	EVP_PKEY_free(k->pub);
	X509_free(k->cert);
}

void jpki_trust_free(jpki_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		key_clear(&t->keys[i]);
	free(t->keys);
	X509_NAME_free(t->ca_name);
	free(t);
}

static int push_key(jpki_trust *t, X509 *cert, int anchor, jpki_err *err)
{
	jpki_ca_key *keys = realloc(t->keys, (t->n + 1) * sizeof(*keys));
	jpki_ca_key *k;
	unsigned int len = 0;

	if (keys == NULL)
		return jpki_errf(err, "out of memory");
	t->keys = keys;
	k = &keys[t->n];
	memset(k, 0, sizeof(*k));
	k->pub = X509_get_pubkey(cert);
	if (k->pub == NULL || !X509_pubkey_digest(cert, EVP_sha1(), k->id, &len))
		return jpki_errf_ssl(err, "CA certificate has no usable public key");
	X509_up_ref(cert);
	k->cert = cert;
	k->anchor = anchor;
	t->n++;
	return 0;
}

jpki_trust *jpki_trust_dup(const jpki_trust *t)
{
	jpki_trust *d = jpki_trust_new();
	size_t i;

	if (d == NULL)
		return NULL;
	for (i = 0; i < t->n; i++) {
		if (push_key(d, t->keys[i].cert, t->keys[i].anchor, NULL) < 0) {
			jpki_trust_free(d);
			return NULL;
		}
	}
	if (t->ca_name != NULL && (d->ca_name = X509_NAME_dup(t->ca_name)) == NULL) {
		jpki_trust_free(d);
		return NULL;
	}
	return d;
}

const jpki_ca_key *jpki_trust_find_id(const jpki_trust *t, const unsigned char *id, size_t len)
{
	size_t i;

	if (len != SHA_DIGEST_LENGTH)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (memcmp(t->keys[i].id, id, len) == 0)
			return &t->keys[i];
	return NULL;
}

static const jpki_ca_key *find_cert_key(const jpki_trust *t, X509 *cert)
{
	unsigned char id[SHA_DIGEST_LENGTH];
	unsigned int len = 0;

	if (!X509_pubkey_digest(cert, EVP_sha1(), id, &len))
		return NULL;
	return jpki_trust_find_id(t, id, len);
}

static int is_ca_cert(X509 *cert)
{
	return X509_check_ca(cert) >= 1;
}

int jpki_trust_add_anchor(jpki_trust *t, X509 *cert, jpki_err *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);

	if (!is_ca_cert(cert))
		return jpki_errf(err, "trust anchor is not a CA certificate (basicConstraints CA:TRUE)");
	if (X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) != 0 ||
	    pub == NULL || X509_verify(cert, pub) != 1)
		return jpki_errf_ssl(err, "trust anchor is not self-signed");
	if (t->ca_name != NULL && X509_NAME_cmp(t->ca_name, X509_get_subject_name(cert)) != 0)
		return jpki_errf(err, "trust anchors name different CAs; one repository serves one CA");
	if (t->ca_name == NULL && (t->ca_name = X509_NAME_dup(X509_get_subject_name(cert))) == NULL)
		return jpki_errf(err, "out of memory");
	if (find_cert_key(t, cert) != NULL)
		return 0;
	return push_key(t, cert, 1, err);
}

int jpki_trust_read_anchors(const char *path, STACK_OF(X509) *out, jpki_err *err)
{
	jpki_trust *probe = jpki_trust_new();
	STACK_OF(X509) *found = sk_X509_new_null();
	BIO *b = BIO_new_file(path, "r");
	X509 *cert;
	int i, rc = -1;

	if (probe == NULL || found == NULL) {
		jpki_errf(err, "out of memory");
		goto out;
	}
	if (b == NULL) {
		jpki_errf_ssl(err, "cannot read trust anchor file %s", path);
		goto out;
	}
	while ((cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(found, cert);
	ERR_clear_error();
	if (sk_X509_num(found) == 0) {
		jpki_errf(err, "%s holds no PEM certificate", path);
		goto out;
	}
	/* Checked together with the anchors already read: one repository, one CA name. */
	for (i = 0; i < sk_X509_num(out); i++)
		if (jpki_trust_add_anchor(probe, sk_X509_value(out, i), NULL) < 0)
			goto out;
	for (i = 0; i < sk_X509_num(found); i++) {
		if (jpki_trust_add_anchor(probe, sk_X509_value(found, i), err) < 0) {
			if (err != NULL) {
				char why[sizeof(err->text)];

				memcpy(why, err->text, sizeof(why));
				jpki_errf(err, "%s: %.400s", path, why);
			}
			goto out;
		}
	}
	while (sk_X509_num(found) > 0)
		sk_X509_push(out, sk_X509_shift(found));
	rc = 0;
out:
	BIO_free(b);
	sk_X509_pop_free(found, X509_free);
	jpki_trust_free(probe);
	return rc;
}

int jpki_trust_add_anchor_file(jpki_trust *t, const char *path, jpki_err *err)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	int i, rc = certs != NULL ? jpki_trust_read_anchors(path, certs, err) : jpki_errf(err, "out of memory");

	for (i = 0; rc == 0 && i < sk_X509_num(certs); i++)
		rc = jpki_trust_add_anchor(t, sk_X509_value(certs, i), err);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* The trusted key that signed cert, or NULL. */
static const jpki_ca_key *cert_signer(const jpki_trust *t, X509 *cert)
{
	size_t i;

	if (X509_NAME_cmp(X509_get_issuer_name(cert), t->ca_name) != 0)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (X509_verify(cert, t->keys[i].pub) == 1)
			return &t->keys[i];
	ERR_clear_error();
	return NULL;
}

int jpki_trust_extend(jpki_trust *t, STACK_OF(X509) *certs, jpki_err *err)
{
	jpki_trust *w;
	int n = sk_X509_num(certs), i, grew;
	char *signed_ok;
	char subject[256];

	if (t->ca_name == NULL)
		return jpki_errf(err, "no trust anchor configured");
	w = jpki_trust_dup(t);
	signed_ok = calloc((size_t)n + 1, 1);
	if (w == NULL || signed_ok == NULL) {
		jpki_trust_free(w);
		free(signed_ok);
		return jpki_errf(err, "out of memory");
	}
	/* Fixpoint: a link certificate may be needed before the self-signed one of its key. */
	do {
		grew = 0;
		for (i = 0; i < n; i++) {
			X509 *c = sk_X509_value(certs, i);

			if (signed_ok[i] || cert_signer(w, c) == NULL)
				continue;
			signed_ok[i] = 1;
			if (is_ca_cert(c) && X509_NAME_cmp(X509_get_subject_name(c), w->ca_name) == 0 &&
			    find_cert_key(w, c) == NULL) {
				if (push_key(w, c, 0, err) < 0)
					goto fail;
				grew = 1;
			}
		}
	} while (grew);
	for (i = 0; i < n; i++) {
		if (!signed_ok[i]) {
			X509_NAME_oneline(X509_get_subject_name(sk_X509_value(certs, i)), subject,
				sizeof(subject));
			jpki_errf(err, "certificate %d (%s) is not signed by a trusted CA key", i + 1, subject);
			goto fail;
		}
	}
	/* Adopt w's keys. */
	{
		jpki_trust tmp = *t;

		*t = *w;
		*w = tmp;
	}
	jpki_trust_free(w);
	free(signed_ok);
	return 0;
fail:
	jpki_trust_free(w);
	free(signed_ok);
	return -1;
}

int jpki_trust_extend_der(jpki_trust *t, const unsigned char *const *ders, const size_t *lens,
	size_t n, jpki_err *err)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	size_t i;
	int rc = -1;

	if (certs == NULL)
		return jpki_errf(err, "out of memory");
	for (i = 0; i < n; i++) {
		const unsigned char *p = ders[i];
		X509 *c = d2i_X509(NULL, &p, (long)lens[i]);

		if (c == NULL || p != ders[i] + lens[i]) {
			X509_free(c);
			jpki_errf_ssl(err, "value %zu is not one DER certificate", i + 1);
			goto out;
		}
		if (!sk_X509_push(certs, c)) {
			X509_free(c);
			jpki_errf(err, "out of memory");
			goto out;
		}
	}
	rc = jpki_trust_extend(t, certs, err);
out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

jpki_trust *jpki_trust_from_anchors(STACK_OF(X509) *anchors, jpki_err *err)
{
	jpki_trust *t = jpki_trust_new();
	int i;

	if (t == NULL) {
		jpki_errf(err, "out of memory");
		return NULL;
	}
	for (i = 0; i < sk_X509_num(anchors); i++) {
		if (jpki_trust_add_anchor(t, sk_X509_value(anchors, i), err) < 0) {
			jpki_trust_free(t);
			return NULL;
		}
	}
	return t;
}

size_t jpki_trust_extend_stored(jpki_trust *t, const unsigned char *const *ders, const size_t *lens,
	size_t n)
{
	char *in;
	size_t i, before, left = 0;

	if (n == 0 || jpki_trust_extend_der(t, ders, lens, n, NULL) == 0)
		return 0;
	in = calloc(n, 1);
	if (in == NULL)
		return n;
	do {
		before = jpki_trust_count(t);
		for (i = 0; i < n; i++)
			if (!in[i] && jpki_trust_extend_der(t, &ders[i], &lens[i], 1, NULL) == 0)
				in[i] = 1;
	} while (jpki_trust_count(t) > before);
	for (i = 0; i < n; i++)
		left += !in[i];
	free(in);
	return left;
}

size_t jpki_trust_count(const jpki_trust *t)
{
	return t->n;
}

const jpki_ca_key *jpki_trust_key(const jpki_trust *t, size_t i)
{
	return i < t->n ? &t->keys[i] : NULL;
}

const X509_NAME *jpki_trust_ca_name(const jpki_trust *t)
{
	return t->ca_name;
}

const jpki_ca_key *jpki_trust_crl_signer(const jpki_trust *t, X509_CRL *crl)
{
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	const jpki_ca_key *hint = NULL;
	size_t i;

	if (akid != NULL && akid->keyid != NULL)
		hint = jpki_trust_find_id(t, akid->keyid->data, (size_t)akid->keyid->length);
	AUTHORITY_KEYID_free(akid);
	/* The AKI is only a hint: the signature decides. */
	if (hint != NULL && X509_CRL_verify(crl, hint->pub) == 1)
		return hint;
	for (i = 0; i < t->n; i++)
		if (&t->keys[i] != hint && X509_CRL_verify(crl, t->keys[i].pub) == 1)
			return &t->keys[i];
	ERR_clear_error();
	return NULL;
}
