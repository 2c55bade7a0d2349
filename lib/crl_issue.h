/* Building and signing partition CRLs and the ARL in the profile the repository accepts:
 * v2, authorityKeyIdentifier, cRLNumber, a critical issuingDistributionPoint naming the
 * partition (onlyContainsUserCerts) or the CA entry (onlyContainsCACerts), reasonCode on
 * every entry. */
#ifndef JPKI_CRL_ISSUE_H
#define JPKI_CRL_ISSUE_H
#include <openssl/x509.h>
#include "crl_check.h"
#include "err.h"
#include "ledger.h"

typedef struct jpki_crl_params {
	X509 *ca_cert;		/* issuer name and key identifier */
	EVP_PKEY *ca_key;	/* signs; may live in a PKCS#11 token */
	const char *dp_dn;	/* the entry the CRL is published to */
	jpki_crl_kind kind;
	time_t this_update;
	time_t next_update;
	const ASN1_INTEGER *number;
} jpki_crl_params;

/* The CRL over revs[i] for which select(revs[i], ctx) is true (all when select is NULL),
 * as given: the ledger has checked reasons and dates (tests build bad CRLs through here),
 * DER-encoded into *der (OPENSSL_free). */
int jpki_crl_build(const jpki_crl_params *p, const jpki_revocation *revs, size_t n,
	int (*select)(const jpki_revocation *r, const void *ctx), const void *ctx,
	unsigned char **der, size_t *len, jpki_err *err);

#endif
