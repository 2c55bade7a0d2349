#include "crl_check.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dn.h"
#include "reason.h"
#include "utctime.h"

static const char *const labels[] = {
	[JPKI_RULE_NONE] = "(none)",
	[JPKI_RULE_FORMAT] = "(a) format",
	[JPKI_RULE_SIGNATURE] = "(b) signature",
	[JPKI_RULE_ISSUER] = "(c) issuer",
	[JPKI_RULE_PARTITION] = "(d) partition",
	[JPKI_RULE_NUMBER] = "(e) crl-number",
	[JPKI_RULE_THIS_UPDATE] = "(f) this-update",
	[JPKI_RULE_VALIDITY] = "(g) validity",
	[JPKI_RULE_REASONS] = "(h) reasons",
	[JPKI_RULE_SIZE] = "(i) size",
	[JPKI_RULE_WRITER] = "writer",
	[JPKI_RULE_CA_CERT] = "ca-certificate",
	[JPKI_RULE_COMPLETE_ONLY] = "complete-crl-only",
	[JPKI_RULE_NO_TRANSACTION] = "no-transaction",
	[JPKI_RULE_NO_PERSIST] = "no-persist",
	[JPKI_RULE_ENTRY_KEPT] = "entry-kept",
	[JPKI_RULE_REGISTRY_VALUES] = "registry-values",
	[JPKI_RULE_REGISTRY_TERMINATED] = "registry-terminated",
	[JPKI_RULE_REGISTRY_CERTIFICATE] = "registry-certificate",
	[JPKI_RULE_REGISTRY_UNIQUE] = "registry-unique",
};

const char *jpki_rule_label(jpki_rule r)
{
	return ((unsigned)r < sizeof(labels) / sizeof(labels[0]) && labels[r] != NULL) ? labels[r] :
											  "(unknown)";
}

void jpki_crl_policy_default(jpki_crl_policy *p)
{
	p->clock_skew = JPKI_DEFAULT_CLOCK_SKEW;
	p->max_validity = JPKI_DEFAULT_MAX_VALIDITY;
	p->max_size = JPKI_DEFAULT_MAX_SIZE;
}

/* Fails to build when a field is added and not compared below. */
_Static_assert(sizeof(jpki_crl_policy) == 2 * sizeof(long) + sizeof(size_t),
	"jpki_crl_policy_equal compares every field of jpki_crl_policy");

bool jpki_crl_policy_equal(const jpki_crl_policy *a, const jpki_crl_policy *b)
{
	return a->clock_skew == b->clock_skew && a->max_validity == b->max_validity &&
	       a->max_size == b->max_size;
}

int jpki_verdict_refuse(jpki_verdict *v, jpki_rule rule, const char *fmt, ...)
{
	va_list ap;
	int n;

	ERR_clear_error();
	if (v == NULL)
		return -1;
	v->rule = rule;
	n = snprintf(v->text, sizeof(v->text), "rule %s: ", jpki_rule_label(rule));
	if (n < 0 || (size_t)n >= sizeof(v->text))
		return -1;
	va_start(ap, fmt);
	vsnprintf(v->text + n, sizeof(v->text) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

int jpki_asn1_time_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

int jpki_check_size(size_t len, const jpki_crl_policy *p, jpki_verdict *v)
{
	if (len > p->max_size)
		return jpki_verdict_refuse(v, JPKI_RULE_SIZE, "CRL is %zu bytes; the configured cap is %zu", len,
			p->max_size);
	return 0;
}

/* Extensions this profile knows; any other critical extension makes the CRL unusable. */
static int known_crl_extension(int nid)
{
	return nid == NID_issuing_distribution_point || nid == NID_crl_number ||
	       nid == NID_authority_key_identifier;
}

int jpki_check_format(const unsigned char *der, size_t len, X509_CRL **out, jpki_verdict *v)
{
	const unsigned char *p = der;
	X509_CRL *crl;
	const STACK_OF(X509_EXTENSION) *exts;
	STACK_OF(X509_REVOKED) *revoked;
	int i;

	*out = NULL;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl == NULL)
		return jpki_verdict_refuse(v, JPKI_RULE_FORMAT, "value is not a DER X.509 CRL");
	if (p != der + len) {
		X509_CRL_free(crl);
		return jpki_verdict_refuse(v, JPKI_RULE_FORMAT, "%zu bytes follow the CRL; one CRL per value",
			(size_t)(der + len - p));
	}
	if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2) {
		X509_CRL_free(crl);
		return jpki_verdict_refuse(v, JPKI_RULE_FORMAT, "CRL is not version 2");
	}
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		X509_CRL_free(crl);
		return jpki_verdict_refuse(v, JPKI_RULE_FORMAT, "a delta CRL is not a complete CRL");
	}
	exts = X509_CRL_get0_extensions(crl);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

		if (X509_EXTENSION_get_critical(ext) && !known_crl_extension(nid)) {
			char oid[80];

			OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
			X509_CRL_free(crl);
			return jpki_verdict_refuse(v, JPKI_RULE_FORMAT, "unknown critical extension %s", oid);
		}
	}
	revoked = X509_CRL_get_REVOKED(crl);
	for (i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
		const STACK_OF(X509_EXTENSION) *rexts =
			X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revoked, i));
		const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
		int j;

		/* RFC 5280 4.1.2.2: a serial is positive, at most 20 octets. One the CA cannot
		 * have issued has no place in its CRL, and an index of serials that dropped its
		 * sign or its length would answer "good" for it. */
		const char *odd = (serial->type & V_ASN1_NEG) ? "negative" :
				  serial->length <= 0 || (serial->length == 1 && serial->data[0] == 0) ? "zero" :
				  serial->length > 20 ? "too long" : NULL;
		if (odd != NULL) {
			X509_CRL_free(crl);
			return jpki_verdict_refuse(v, JPKI_RULE_FORMAT, "entry %d: serial number %s, not a positive "
				"integer of at most 20 octets (RFC 5280 4.1.2.2)", i + 1, odd);
		}
		/* RFC 5280 5.3: an unknown critical entry extension makes the whole CRL unusable. */

		for (j = 0; j < sk_X509_EXTENSION_num(rexts); j++) {
			X509_EXTENSION *ext = sk_X509_EXTENSION_value(rexts, j);
			int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

			if (X509_EXTENSION_get_critical(ext) && nid != NID_crl_reason &&
			    nid != NID_invalidity_date) {
				char oid[80];

				OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
				X509_CRL_free(crl);
				return jpki_verdict_refuse(v, JPKI_RULE_FORMAT,
					"entry %d has an unknown critical extension %s", i + 1, oid);
			}
		}
	}
	*out = crl;
	return 0;
}

int jpki_check_signature(X509_CRL *crl, const jpki_trust *t, const jpki_ca_key **key, jpki_verdict *v)
{
	*key = jpki_trust_crl_signer(t, crl);
	if (*key == NULL)
		return jpki_verdict_refuse(v, JPKI_RULE_SIGNATURE,
			"the signature does not verify with any trusted CA key (%zu trusted)",
			jpki_trust_count(t));
	return 0;
}

int jpki_check_issuer(X509_CRL *crl, const jpki_trust *t, jpki_verdict *v)
{
	char got[256];

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), jpki_trust_ca_name(t)) != 0) {
		X509_NAME_oneline(X509_CRL_get_issuer(crl), got, sizeof(got));
		return jpki_verdict_refuse(v, JPKI_RULE_ISSUER, "issuer %s is not this repository's CA", got);
	}
	return 0;
}

/* The directoryName the distribution point's fullName holds, if it holds exactly one; else
 * NULL. count: how many it holds. The one place the "exactly one" rule is written. */
static const X509_NAME *idp_directory_name(const ISSUING_DIST_POINT *idp, int *count)
{
	const X509_NAME *found = NULL;
	int i;

	*count = 0;
	if (idp->distpoint == NULL || idp->distpoint->type != 0)
		return NULL;
	for (i = 0; i < sk_GENERAL_NAME_num(idp->distpoint->name.fullname); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, i);

		if (gn->type == GEN_DIRNAME) {
			found = gn->d.directoryName;
			(*count)++;
		}
	}
	return *count == 1 ? found : NULL;
}

X509_NAME *jpki_crl_idp_name(X509_CRL *crl, jpki_err *err)
{
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL, NULL);
	const X509_NAME *dp;
	X509_NAME *out = NULL;
	int count;

	if (idp == NULL) {
		ERR_clear_error();
		jpki_errf(err, "no issuingDistributionPoint extension");
		return NULL;
	}
	dp = idp_directory_name(idp, &count);
	if (dp == NULL)
		jpki_errf(err, "issuingDistributionPoint names %d directory names; exactly one is required",
			count);
	else if ((out = X509_NAME_dup(dp)) == NULL)
		jpki_errf_ssl(err, "out of memory");
	ISSUING_DIST_POINT_free(idp);
	return out;
}

int jpki_check_partition(X509_CRL *crl, const char *entry_dn, jpki_crl_kind kind, jpki_verdict *v)
{
	int crit = 0, count, eq, rc = -1;
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	const X509_NAME *dp;
	char *named;

	if (idp == NULL)
		return jpki_verdict_refuse(v, JPKI_RULE_PARTITION, "no issuingDistributionPoint extension");
	if (!crit) {
		jpki_verdict_refuse(v, JPKI_RULE_PARTITION, "issuingDistributionPoint is not critical");
		goto out;
	}
	dp = idp_directory_name(idp, &count);
	if (dp == NULL) {
		jpki_verdict_refuse(v, JPKI_RULE_PARTITION,
			"issuingDistributionPoint names %d directory names; exactly one is required", count);
		goto out;
	}
	eq = jpki_dn_equals_x509_name(entry_dn, dp);
	if (eq != 1) {
		named = jpki_x509_name_to_dn(dp);
		jpki_verdict_refuse(v, JPKI_RULE_PARTITION,
			"issuingDistributionPoint names %s, not this entry %s", named != NULL ? named : "?",
			entry_dn);
		free(named);
		goto out;
	}
	if (idp->onlysomereasons != NULL || idp->indirectCRL || idp->onlyattr) {
		jpki_verdict_refuse(v, JPKI_RULE_PARTITION,
			"onlySomeReasons, indirectCRL and onlyContainsAttributeCerts are not allowed");
		goto out;
	}
	if (kind == JPKI_CRL_PARTITION && (!idp->onlyuser || idp->onlyCA)) {
		jpki_verdict_refuse(v, JPKI_RULE_PARTITION, "a partition CRL must say onlyContainsUserCerts");
		goto out;
	}
	if (kind == JPKI_CRL_ARL && (!idp->onlyCA || idp->onlyuser)) {
		jpki_verdict_refuse(v, JPKI_RULE_PARTITION, "an ARL must say onlyContainsCACerts");
		goto out;
	}
	rc = 0;
out:
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

char *jpki_integer_dec(const ASN1_INTEGER *n)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(n, NULL);
	char *s = bn != NULL ? BN_bn2dec(bn) : NULL;

	BN_free(bn);
	return s;
}

int jpki_check_number(X509_CRL *crl, const jpki_crl_meta *stored, jpki_verdict *v)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	char *a, *b;
	int rc = 0;

	if (n == NULL)
		return jpki_verdict_refuse(v, JPKI_RULE_NUMBER, "no cRLNumber extension");
	if (stored != NULL && stored->number != NULL && ASN1_INTEGER_cmp(n, stored->number) <= 0) {
		a = jpki_integer_dec(n);
		b = jpki_integer_dec(stored->number);
		rc = jpki_verdict_refuse(v, JPKI_RULE_NUMBER,
			"cRLNumber %s is not greater than the stored %s for this partition and CA key",
			a ? a : "?", b ? b : "?");
		OPENSSL_free(a);
		OPENSSL_free(b);
	}
	ASN1_INTEGER_free(n);
	return rc;
}

int jpki_check_this_update_at(time_t tu, const jpki_crl_meta *stored, time_t now, const jpki_crl_policy *p,
	jpki_verdict *v)
{
	char a[32], b[32];

	if (tu > now + p->clock_skew) {
		jpki_utc_iso(tu, a);
		return jpki_verdict_refuse(v, JPKI_RULE_THIS_UPDATE,
			"thisUpdate %s is %ld s in the future (allowed skew %ld s)", a, (long)(tu - now),
			p->clock_skew);
	}
	if (stored != NULL && tu < stored->this_update) {
		jpki_utc_iso(tu, a);
		jpki_utc_iso(stored->this_update, b);
		return jpki_verdict_refuse(v, JPKI_RULE_THIS_UPDATE,
			"thisUpdate %s is older than the stored CRL's %s", a, b);
	}
	return 0;
}

int jpki_check_this_update(X509_CRL *crl, const jpki_crl_meta *stored, time_t now,
	const jpki_crl_policy *p, jpki_verdict *v)
{
	time_t tu;

	if (jpki_asn1_time_to_time(X509_CRL_get0_lastUpdate(crl), &tu) < 0)
		return jpki_verdict_refuse(v, JPKI_RULE_THIS_UPDATE, "thisUpdate cannot be read");
	return jpki_check_this_update_at(tu, stored, now, p, v);
}

int jpki_check_validity_at(time_t tu, time_t nu, time_t now, const jpki_crl_policy *p, jpki_verdict *v)
{
	char a[32];

	if (nu <= tu)
		return jpki_verdict_refuse(v, JPKI_RULE_VALIDITY, "nextUpdate is not after thisUpdate");
	if (nu - tu > p->max_validity)
		return jpki_verdict_refuse(v, JPKI_RULE_VALIDITY,
			"nextUpdate - thisUpdate is %ld s; the maximum is %ld s", (long)(nu - tu),
			p->max_validity);
	if (nu <= now) {
		jpki_utc_iso(nu, a);
		return jpki_verdict_refuse(v, JPKI_RULE_VALIDITY, "the CRL expired at %s", a);
	}
	return 0;
}

int jpki_check_validity(X509_CRL *crl, time_t now, const jpki_crl_policy *p, jpki_verdict *v)
{
	time_t tu, nu;

	if (X509_CRL_get0_nextUpdate(crl) == NULL)
		return jpki_verdict_refuse(v, JPKI_RULE_VALIDITY, "no nextUpdate");
	if (jpki_asn1_time_to_time(X509_CRL_get0_lastUpdate(crl), &tu) < 0 ||
	    jpki_asn1_time_to_time(X509_CRL_get0_nextUpdate(crl), &nu) < 0)
		return jpki_verdict_refuse(v, JPKI_RULE_VALIDITY, "thisUpdate or nextUpdate cannot be read");
	return jpki_check_validity_at(tu, nu, now, p, v);
}

int jpki_check_reasons(X509_CRL *crl, jpki_verdict *v)
{
	STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
	int i, n = sk_X509_REVOKED_num(revoked);

	for (i = 0; i < n; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(revoked, i);
		int crit = 0;
		ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		long code = e != NULL ? ASN1_ENUMERATED_get(e) : -1;
		char *serial;

		ASN1_ENUMERATED_free(e);
		if (jpki_reason_allowed((int)code))
			continue;
		serial = jpki_integer_dec(X509_REVOKED_get0_serialNumber(r));
		if (code < 0)
			jpki_verdict_refuse(v, JPKI_RULE_REASONS,
				"entry %d (serial %s) has no reasonCode; the CPS allows 1-5", i + 1,
				serial ? serial : "?");
		else
			jpki_verdict_refuse(v, JPKI_RULE_REASONS,
				"entry %d (serial %s) has reason %ld; the CPS allows 1-5 only (no suspension)",
				i + 1, serial ? serial : "?", code);
		OPENSSL_free(serial);
		return -1;
	}
	return 0;
}

int jpki_check_one_per_key(const jpki_crl_meta *metas, size_t n, jpki_verdict *v)
{
	static const char hex[] = "0123456789ABCDEF";
	char id[2 * SHA_DIGEST_LENGTH + 1];
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (memcmp(metas[i].key_id, metas[j].key_id, sizeof(metas[i].key_id)) != 0)
				continue;
			for (k = 0; k < SHA_DIGEST_LENGTH; k++) {
				id[2 * k] = hex[metas[i].key_id[k] >> 4];
				id[2 * k + 1] = hex[metas[i].key_id[k] & 0x0f];
			}
			id[2 * SHA_DIGEST_LENGTH] = '\0';
			return jpki_verdict_refuse(v, JPKI_RULE_NUMBER,
				"the entry would hold two CRLs signed by one CA key (keyIdentifier %s); "
				"replace the old one", id);
		}
	}
	return 0;
}

static const jpki_crl_meta *stored_for_key(const jpki_crl_meta *stored, size_t n,
	const jpki_ca_key *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(stored[i].key_id, key->id, sizeof(key->id)) == 0)
			return &stored[i];
	return NULL;
}

static int meta_fill(X509_CRL *crl, const jpki_ca_key *key, jpki_crl_meta *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->key_id, key->id, sizeof(out->key_id));
	out->number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (out->number == NULL ||
	    jpki_asn1_time_to_time(X509_CRL_get0_lastUpdate(crl), &out->this_update) < 0 ||
	    jpki_asn1_time_to_time(X509_CRL_get0_nextUpdate(crl), &out->next_update) < 0) {
		jpki_crl_meta_clear(out);
		return -1;
	}
	return 0;
}

int jpki_crl_check(const unsigned char *der, size_t len, const char *entry_dn, jpki_crl_kind kind,
	const jpki_trust *t, const jpki_crl_meta *stored, size_t nstored, time_t now,
	const jpki_crl_policy *p, jpki_crl_meta *out, X509_CRL **crl_out, jpki_verdict *v)
{
	X509_CRL *crl = NULL;
	const jpki_ca_key *key = NULL;
	const jpki_crl_meta *prev;

	if (jpki_check_size(len, p, v) < 0 || jpki_check_format(der, len, &crl, v) < 0)
		return -1;
	if (jpki_check_signature(crl, t, &key, v) < 0 || jpki_check_issuer(crl, t, v) < 0 ||
	    jpki_check_partition(crl, entry_dn, kind, v) < 0 || jpki_check_reasons(crl, v) < 0 ||
	    jpki_check_validity(crl, now, p, v) < 0)
		goto fail;
	prev = stored_for_key(stored, nstored, key);
	if (jpki_check_number(crl, prev, v) < 0 || jpki_check_this_update(crl, prev, now, p, v) < 0)
		goto fail;
	if (out != NULL && meta_fill(crl, key, out) < 0) {
		jpki_verdict_refuse(v, JPKI_RULE_FORMAT, "out of memory");
		goto fail;
	}
	if (crl_out != NULL)
		*crl_out = crl;
	else
		X509_CRL_free(crl);
	v->rule = JPKI_RULE_NONE;
	v->text[0] = '\0';
	return 0;
fail:
	X509_CRL_free(crl);
	return -1;
}

int jpki_crl_meta_from_crl(X509_CRL *crl, const jpki_trust *t, jpki_crl_meta *out)
{
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	const jpki_ca_key *key = NULL;

	if (akid != NULL && akid->keyid != NULL)
		key = jpki_trust_find_id(t, akid->keyid->data, (size_t)akid->keyid->length);
	AUTHORITY_KEYID_free(akid);
	if (key == NULL)
		key = jpki_trust_crl_signer(t, crl);
	ERR_clear_error();
	if (key == NULL)
		return -1;
	return meta_fill(crl, key, out);
}

int jpki_crl_meta_from_der(const unsigned char *der, size_t len, const jpki_trust *t,
	jpki_crl_meta *out)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	int rc;

	if (crl == NULL) {
		ERR_clear_error();
		return -1;
	}
	rc = jpki_crl_meta_from_crl(crl, t, out);
	X509_CRL_free(crl);
	return rc;
}

void jpki_crl_meta_clear(jpki_crl_meta *m)
{
	ASN1_INTEGER_free(m->number);
	m->number = NULL;
}
