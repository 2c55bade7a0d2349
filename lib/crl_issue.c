#include "crl_issue.h"

#include <openssl/x509v3.h>
#include <string.h>

#include "dn.h"

static int add_idp(X509_CRL *crl, const char *dp_dn, jpki_crl_kind kind, jpki_err *err)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *name = jpki_dn_to_x509_name(dp_dn, err);
	int rc = -1;

	if (idp == NULL || gn == NULL || name == NULL)
		goto out;
	idp->distpoint = DIST_POINT_NAME_new();
	if (idp->distpoint == NULL || (idp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL)
		goto out;
	idp->distpoint->type = 0;
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, name);
	name = NULL;
	if (!sk_GENERAL_NAME_push(idp->distpoint->name.fullname, gn))
		goto out;
	gn = NULL;
	if (kind == JPKI_CRL_ARL)
		idp->onlyCA = 0xff;
	else
		idp->onlyuser = 0xff;
	if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	if (rc < 0 && name != NULL)
		jpki_errf_ssl(err, "cannot build issuingDistributionPoint for %s", dp_dn);
	X509_NAME_free(name);
	GENERAL_NAME_free(gn);
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

static int add_aki(X509_CRL *crl, X509 *ca_cert, jpki_err *err)
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	unsigned char id[SHA_DIGEST_LENGTH];
	unsigned int len = 0;
	int rc = -1;

	/* The same key identifier the repository's trust set computes (SHA-1 of the key). */
	if (akid != NULL && X509_pubkey_digest(ca_cert, EVP_sha1(), id, &len) &&
	    (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(akid->keyid, id, (int)len) &&
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
	else
		jpki_errf_ssl(err, "cannot build authorityKeyIdentifier");
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int add_entry(X509_CRL *crl, const jpki_revocation *r, jpki_err *err)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_TIME *when = ASN1_TIME_set(NULL, r->revoked_at);
	ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
	int rc = -1;

	if (rev != NULL && when != NULL && reason != NULL &&
	    X509_REVOKED_set_serialNumber(rev, r->serial) &&
	    X509_REVOKED_set_revocationDate(rev, when) &&
	    ASN1_ENUMERATED_set(reason, r->reason) &&
	    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, X509V3_ADD_DEFAULT) == 1 &&
	    X509_CRL_add0_revoked(crl, rev)) {
		rev = NULL;
		rc = 0;
	} else {
		jpki_errf_ssl(err, "cannot add the revocation from ledger line %u", r->line);
	}
	X509_REVOKED_free(rev);
	ASN1_TIME_free(when);
	ASN1_ENUMERATED_free(reason);
	return rc;
}

static int set_times(X509_CRL *crl, time_t this_update, time_t next_update, jpki_err *err)
{
	ASN1_TIME *tu = ASN1_TIME_set(NULL, this_update), *nu = ASN1_TIME_set(NULL, next_update);
	int ok = tu != NULL && nu != NULL && X509_CRL_set1_lastUpdate(crl, tu) &&
		 X509_CRL_set1_nextUpdate(crl, nu);

	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	return ok ? 0 : jpki_errf_ssl(err, "cannot set thisUpdate/nextUpdate");
}

int jpki_crl_build(const jpki_crl_params *p, const jpki_revocation *revs, size_t n,
	int (*select)(const jpki_revocation *r, const void *ctx), const void *ctx,
	unsigned char **der, size_t *len, jpki_err *err)
{
	X509_CRL *crl = X509_CRL_new();
	size_t i;
	int dlen, rc = -1;

	*der = NULL;
	if (crl == NULL)
		return jpki_errf(err, "out of memory");
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->ca_cert))) {
		jpki_errf_ssl(err, "cannot set version or issuer");
		goto out;
	}
	if (set_times(crl, p->this_update, p->next_update, err) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((select == NULL || select(&revs[i], ctx)) && add_entry(crl, &revs[i], err) < 0)
			goto out;
	if (add_aki(crl, p->ca_cert, err) < 0)
		goto out;
	if (X509_CRL_add1_ext_i2d(crl, NID_crl_number, (void *)p->number, 0, X509V3_ADD_DEFAULT) != 1) {
		jpki_errf_ssl(err, "cannot add cRLNumber");
		goto out;
	}
	if (add_idp(crl, p->dp_dn, p->kind, err) < 0)
		goto out;
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, p->ca_key, EVP_sha256()) <= 0) {
		jpki_errf_ssl(err, "signing the CRL for %s failed", p->dp_dn);
		goto out;
	}
	dlen = i2d_X509_CRL(crl, der);
	if (dlen <= 0) {
		jpki_errf_ssl(err, "cannot encode the CRL");
		goto out;
	}
	*len = (size_t)dlen;
	rc = 0;
out:
	X509_CRL_free(crl);
	return rc;
}
