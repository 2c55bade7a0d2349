/* Shared fixtures for the unit tests: in-memory RSA CA keys (generated once per binary),
 * self-signed and link certificates built with the X509 API, and CRLs built with
 * jpki_crl_build() or re-signed after a deliberate change. */
#ifndef JPKI_TEST_FIXTURE_H
#define JPKI_TEST_FIXTURE_H
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <time.h>

#include "crl_issue.h"
#include "ledger.h"
#include "trust.h"

/* The tests' "now": 2026-01-01T00:00:00Z. */
#define FX_NOW ((time_t)1767225600)
#define FX_HOUR 3600L

/* Entry DNs with upper-case attribute types. */
#define FX_PART_DN "CN=121002,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP"
#define FX_PART_DN2 "CN=122025,OU=CRL Distribution Points,OU=Chiba-ken,O=JPKI,C=JP"
#define FX_CA_ENTRY_DN "OU=Chiba-ken,O=JPKI,C=JP"

/* Key slots: each is an RSA-2048 key made on first use and kept until fx_cleanup(). */
enum { FX_GEN1, FX_GEN2, FX_ROGUE, FX_OTHER, FX_NKEYS };

EVP_PKEY *fx_key(int slot);
/* SHA-1 of the subjectPublicKey BIT STRING contents, computed here independently of lib/. */
void fx_key_id(EVP_PKEY *key, unsigned char out[20]);

/* X509_NAME from (type, value) pairs, root first, ended by NULL. Caller frees. */
X509_NAME *fx_name(const char *type, ...);
/* C=JP, O=JPKI, OU=Chiba-ken (owned by the fixture). */
const X509_NAME *fx_ca_name(void);
/* Another CA's name: C=JP, O=JPKI, OU=Bridge CA (owned by the fixture). */
const X509_NAME *fx_other_name(void);

/* v3 certificate with SKI (SHA-1 of the key) and AKI (SHA-1 of the issuer key);
 * ca != 0: critical basicConstraints CA:TRUE and keyCertSign|cRLSign, else CA:FALSE.
 * Caller frees. */
X509 *fx_cert(const X509_NAME *subject, EVP_PKEY *subject_key, const X509_NAME *issuer,
	EVP_PKEY *issuer_key, int ca, long serial);
/* The CA's self-signed certificate for key slot (cached; owned by the fixture). */
X509 *fx_ca_cert(int slot);
/* Link certificate for the CA name: subject key new_slot, signed by old_slot.
 * NewWithOld = fx_link(FX_GEN2, FX_GEN1), OldWithNew = fx_link(FX_GEN1, FX_GEN2). Caller frees. */
X509 *fx_link(int new_slot, int old_slot);
/* A trust set with the gen1 anchor. Caller frees. */
jpki_trust *fx_trust(void);

/* One revocation; the serial is parsed from hex. Free with fx_revs_free(). */
void fx_rev(jpki_revocation *r, const char *hex, time_t at, int reason, const char *muni);
void fx_revs_free(jpki_revocation *r, size_t n);

typedef struct fx_crl_spec {
	X509 *ca_cert;		/* issuer name and AKI */
	EVP_PKEY *key;		/* signer */
	const char *dp_dn;
	jpki_crl_kind kind;
	time_t this_update;
	time_t next_update;
	long number;
	const jpki_revocation *revs;
	size_t n;
	int (*select)(const jpki_revocation *r, const void *ctx);
	const void *ctx;
} fx_crl_spec;

/* gen1 cert and key, FX_PART_DN, partition, thisUpdate now-1h, nextUpdate +72h, number 10. */
void fx_crl_spec_default(fx_crl_spec *s);
/* jpki_crl_build() over the spec; 0 or -1 (message on stderr). der: OPENSSL_free. */
int fx_crl_issue(const fx_crl_spec *s, unsigned char **der, size_t *len);
/* fx_crl_issue() of a partition CRL (no select) from its issuer certificate, signer, DN, times,
 * cRLNumber and revocations: for tests that make many, each different. */
int fx_crl_issue_partition(X509 *ca_cert, EVP_PKEY *key, const char *dp_dn, time_t this_update,
	time_t next_update, long number, const jpki_revocation *revs, size_t n, unsigned char **der,
	size_t *len);
X509_CRL *fx_crl_parse(const unsigned char *der, size_t len);
/* Signs crl with key (unless key is NULL), encodes it into *der (OPENSSL_free), frees crl. */
int fx_crl_finish(X509_CRL *crl, EVP_PKEY *key, unsigned char **der, size_t *len);
/* A new CRL with src's issuer, thisUpdate and entries; nextUpdate and extensions only when
 * asked; the given version (X509_CRL_VERSION_1 or _2). Unsigned. */
X509_CRL *fx_crl_copy(X509_CRL *src, int with_next_update, int with_extensions, long version);
/* Removes every CRL extension with this NID; returns how many. */
int fx_crl_drop_ext(X509_CRL *crl, int nid);

/* Writes text to a fresh temp file; caller unlinks and frees. NULL on failure. */
char *fx_write_temp(const char *text);

void fx_cleanup(void);

#endif
