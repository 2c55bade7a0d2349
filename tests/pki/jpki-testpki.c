/* jpki-testpki: issues the certificates of the test PKI, signing with a key held in a
 * PKCS#11 token (lib/p11key). Not an operator tool: the demo and the tests call it from
 * scripts/lib/testpki.sh.
 *
 *   jpki-testpki cert --profile PROFILE --issuer-key URI [--issuer-cert PEM]
 *                     (--subject-key URI | --subject-pubkey PEM) --subject DN --serial HEX
 *                     --days N [--not-before YYYY-MM-DDTHH:MM:SSZ] [profile options] --out PEM
 *   jpki-testpki crosspair [--forward PEM] [--reverse PEM] --out DER
 *
 * Profiles: ca (self-signed CA), link (NewWithOld/OldWithNew), cross (to or from the bridge
 * CA), ocsp (responder: id-kp-OCSPSigning, ocsp-nocheck, policy .0.300), user (policy .0.10,
 * CRL distribution point = the partition's directoryName, the four basic items in
 * subjectAltName), verifier (clientAuth), tls-server. DNs are LDAP strings ("CN=x,O=JPKI,C=JP"). */
#include <getopt.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dn.h"
#include "ledger.h"
#include "p11key.h"

#define POLICY_USER_TEST "1.2.392.200149.8.5.1.0.10"
#define POLICY_OCSP_TEST "1.2.392.200149.8.5.1.0.300"
/* Test values: the four basic items (基本4情報) as otherName UTF8Strings under this arc. */
#define BASIC_ITEM_ARC "1.2.392.200149.8.5.5."

typedef struct opts {
	const char *profile, *issuer_key, *issuer_cert, *subject_key, *subject_pubkey, *subject;
	const char *serial, *out, *not_before, *crl_dp, *crl_uri, *ocsp_url;
	const char *name, *birth, *gender, *address, *dns, *ip;
	long days;
} opts;

static int fail(const char *what)
{
	fprintf(stderr, "jpki-testpki: %s\n", what);
	ERR_print_errors_fp(stderr);
	return 1;
}

static X509 *read_cert(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

static EVP_PKEY *read_pubkey(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* An extension from OpenSSL's configuration syntax, with issuer/subject context. */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int add_policy(X509 *cert, const char *oid)
{
	CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	int ok;

	if (pols == NULL || pi == NULL || (pi->policyid = OBJ_txt2obj(oid, 1)) == NULL)
		return 0;
	sk_POLICYINFO_push(pols, pi);
	ok = X509_add1_ext_i2d(cert, NID_certificate_policies, pols, 0, X509V3_ADD_DEFAULT);
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	return ok;
}

static int add_other_name(GENERAL_NAMES *names, const char *oid_suffix, const char *value)
{
	char oid[64];
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *v = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
	ASN1_OBJECT *obj;

	snprintf(oid, sizeof(oid), "%s%s", BASIC_ITEM_ARC, oid_suffix);
	obj = OBJ_txt2obj(oid, 1);
	if (gn == NULL || v == NULL || s == NULL || obj == NULL || !ASN1_STRING_set(s, value, -1))
		return 0;
	ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
	if (!GENERAL_NAME_set0_othername(gn, obj, v))
		return 0;
	return sk_GENERAL_NAME_push(names, gn) > 0;
}

static int add_user_exts(X509 *cert, X509 *issuer, const opts *o)
{
	GENERAL_NAMES *san = GENERAL_NAMES_new();
	CRL_DIST_POINTS *cdps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *dpname;
	char aia[256];
	jpki_err err;

	if (o->crl_dp == NULL || (dpname = jpki_dn_to_x509_name(o->crl_dp, &err)) == NULL)
		return 0;
	dp->distpoint = DIST_POINT_NAME_new();
	dp->distpoint->type = 0;
	dp->distpoint->name.fullname = GENERAL_NAMES_new();
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dpname);
	sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn);
	if (o->crl_uri != NULL) {
		GENERAL_NAME *uri = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		ASN1_STRING_set(s, o->crl_uri, -1);
		GENERAL_NAME_set0_value(uri, GEN_URI, s);
		sk_GENERAL_NAME_push(dp->distpoint->name.fullname, uri);
	}
	sk_DIST_POINT_push(cdps, dp);
	if (!X509_add1_ext_i2d(cert, NID_crl_distribution_points, cdps, 0, X509V3_ADD_DEFAULT))
		return 0;
	sk_DIST_POINT_pop_free(cdps, DIST_POINT_free);
	if (!add_other_name(san, "1", o->name ? o->name : "公的 太郎") ||
	    !add_other_name(san, "4", o->birth ? o->birth : "19700101") ||
	    !add_other_name(san, "3", o->gender ? o->gender : "1") ||
	    !add_other_name(san, "5", o->address ? o->address : "千葉県千葉市中央区市場町1-1") ||
	    !X509_add1_ext_i2d(cert, NID_subject_alt_name, san, 0, X509V3_ADD_DEFAULT))
		return 0;
	GENERAL_NAMES_free(san);
	if (o->ocsp_url != NULL) {
		snprintf(aia, sizeof(aia), "OCSP;URI:%s", o->ocsp_url);
		if (!add_ext(cert, issuer, NID_info_access, aia))
			return 0;
	}
	return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
	       add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation") &&
	       add_policy(cert, POLICY_USER_TEST);
}

static int add_profile_exts(X509 *cert, X509 *issuer, const opts *o)
{
	const char *p = o->profile;
	char san[256];

	if (!add_ext(cert, issuer, NID_subject_key_identifier, "hash") ||
	    !add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always"))
		return 0;
	if (strcmp(p, "ca") == 0 || strcmp(p, "link") == 0 || strcmp(p, "cross") == 0)
		return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
		       add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (strcmp(p, "ocsp") == 0)
		return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
		       add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature") &&
		       add_ext(cert, issuer, NID_ext_key_usage, "OCSPSigning") &&
		       add_ext(cert, issuer, NID_id_pkix_OCSP_noCheck, "ignored") &&
		       add_policy(cert, POLICY_OCSP_TEST);
	if (strcmp(p, "user") == 0)
		return add_user_exts(cert, issuer, o);
	if (strcmp(p, "verifier") == 0)
		return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
		       add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
		       add_ext(cert, issuer, NID_ext_key_usage, "clientAuth");
	if (strcmp(p, "tls-server") == 0) {
		snprintf(san, sizeof(san), "DNS:%s,IP:%s", o->dns ? o->dns : "localhost", o->ip ? o->ip : "127.0.0.1");
		return add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
		       add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
		       add_ext(cert, issuer, NID_ext_key_usage, "serverAuth") &&
		       add_ext(cert, issuer, NID_subject_alt_name, san);
	}
	fprintf(stderr, "jpki-testpki: unknown profile '%s'\n", p);
	return 0;
}

static int set_validity(X509 *cert, const opts *o)
{
	time_t nb = time(NULL) - 300;

	if (o->not_before != NULL && jpki_parse_utc(o->not_before, &nb) < 0)
		return 0;
	return ASN1_TIME_set(X509_getm_notBefore(cert), nb) != NULL &&
	       ASN1_TIME_set(X509_getm_notAfter(cert), nb + o->days * 86400L) != NULL;
}

static int cmd_cert(const opts *o)
{
	jpki_p11key *ikey = NULL, *skey = NULL;
	EVP_PKEY *subject_pub = NULL;
	X509 *cert = X509_new(), *issuer = NULL;
	X509_NAME *subject;
	BIGNUM *bn = NULL;
	jpki_err err;
	FILE *fp;
	int rc = 1;

	if (o->profile == NULL || o->issuer_key == NULL || o->subject == NULL || o->serial == NULL ||
	    o->out == NULL || o->days <= 0 || (o->subject_key == NULL) == (o->subject_pubkey == NULL))
		return fail("cert needs --profile --issuer-key --subject --serial --days --out and one of --subject-key/--subject-pubkey");
	if (jpki_p11key_open(o->issuer_key, NULL, &ikey, &err) < 0)
		return fail(err.text);
	if (o->subject_key != NULL) {
		if (strcmp(o->subject_key, o->issuer_key) == 0)
			subject_pub = jpki_p11key_pubkey(ikey);
		else if (jpki_p11key_open(o->subject_key, NULL, &skey, &err) == 0)
			subject_pub = jpki_p11key_pubkey(skey);
		else
			return fail(err.text);
	} else {
		subject_pub = read_pubkey(o->subject_pubkey);
	}
	if (subject_pub == NULL)
		return fail("no subject public key");
	if (o->issuer_cert != NULL && (issuer = read_cert(o->issuer_cert)) == NULL)
		return fail("cannot read --issuer-cert");
	if ((subject = jpki_dn_to_x509_name(o->subject, &err)) == NULL)
		return fail(err.text);
	if (!BN_hex2bn(&bn, o->serial))
		return fail("bad --serial");
	if (!X509_set_version(cert, X509_VERSION_3) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) ||
	    !X509_set_subject_name(cert, subject) ||
	    !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : subject) ||
	    !X509_set_pubkey(cert, subject_pub) || !set_validity(cert, o))
		return fail("cannot fill the certificate");
	if (!add_profile_exts(cert, issuer, o))
		return fail("cannot add the profile's extensions");
	if (X509_sign(cert, jpki_p11key_pkey(ikey), EVP_sha256()) <= 0)
		return fail("signing failed");
	fp = fopen(o->out, "w");
	if (fp != NULL && PEM_write_X509(fp, cert) && fclose(fp) == 0)
		rc = 0;
	else
		fail("cannot write --out");
	if (o->subject_pubkey != NULL)
		EVP_PKEY_free(subject_pub);
	BN_free(bn);
	X509_NAME_free(subject);
	X509_free(issuer);
	X509_free(cert);
	jpki_p11key_close(skey);
	jpki_p11key_close(ikey);
	return rc;
}

/* X.509 CertificatePair ::= SEQUENCE { forward [0] Certificate OPTIONAL,
 *                                      reverse [1] Certificate OPTIONAL } */
typedef struct cert_pair {
	X509 *forward;
	X509 *reverse;
} CERT_PAIR;

ASN1_SEQUENCE(CERT_PAIR) = {
	ASN1_EXP_OPT(CERT_PAIR, forward, X509, 0),
	ASN1_EXP_OPT(CERT_PAIR, reverse, X509, 1),
} ASN1_SEQUENCE_END(CERT_PAIR)
IMPLEMENT_ASN1_FUNCTIONS(CERT_PAIR)

static int cmd_crosspair(const char *fwd, const char *rev, const char *out)
{
	CERT_PAIR *pair = CERT_PAIR_new();
	unsigned char *der = NULL;
	int len;
	FILE *fp;

	if (out == NULL || (fwd == NULL && rev == NULL))
		return fail("crosspair needs --out and --forward and/or --reverse");
	if ((fwd && (pair->forward = read_cert(fwd)) == NULL) || (rev && (pair->reverse = read_cert(rev)) == NULL))
		return fail("cannot read a certificate of the pair");
	len = i2d_CERT_PAIR(pair, &der);
	fp = fopen(out, "wb");
	if (len <= 0 || fp == NULL || fwrite(der, 1, (size_t)len, fp) != (size_t)len || fclose(fp) != 0)
		return fail("cannot write the pair");
	OPENSSL_free(der);
	CERT_PAIR_free(pair);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' }, { "issuer-key", required_argument, NULL, 'k' },
		{ "issuer-cert", required_argument, NULL, 'i' }, { "subject-key", required_argument, NULL, 'K' },
		{ "subject-pubkey", required_argument, NULL, 'P' }, { "subject", required_argument, NULL, 's' },
		{ "serial", required_argument, NULL, 'n' }, { "days", required_argument, NULL, 'd' },
		{ "not-before", required_argument, NULL, 'b' }, { "out", required_argument, NULL, 'o' },
		{ "crl-dp", required_argument, NULL, 'c' }, { "crl-uri", required_argument, NULL, 'u' },
		{ "ocsp-url", required_argument, NULL, 'O' }, { "name", required_argument, NULL, 'N' },
		{ "birth", required_argument, NULL, 'B' }, { "gender", required_argument, NULL, 'G' },
		{ "address", required_argument, NULL, 'A' }, { "dns", required_argument, NULL, 'D' },
		{ "ip", required_argument, NULL, 'I' }, { "forward", required_argument, NULL, 'f' },
		{ "reverse", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 }
	};
	opts o = { 0 };
	const char *fwd = NULL, *rev = NULL;
	int opt;

	if (argc < 2)
		return fail("usage: jpki-testpki cert|crosspair [options] (see the source's header)");
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': o.profile = optarg; break;
		case 'k': o.issuer_key = optarg; break;
		case 'i': o.issuer_cert = optarg; break;
		case 'K': o.subject_key = optarg; break;
		case 'P': o.subject_pubkey = optarg; break;
		case 's': o.subject = optarg; break;
		case 'n': o.serial = optarg; break;
		case 'd': o.days = atol(optarg); break;
		case 'b': o.not_before = optarg; break;
		case 'o': o.out = optarg; break;
		case 'c': o.crl_dp = optarg; break;
		case 'u': o.crl_uri = optarg; break;
		case 'O': o.ocsp_url = optarg; break;
		case 'N': o.name = optarg; break;
		case 'B': o.birth = optarg; break;
		case 'G': o.gender = optarg; break;
		case 'A': o.address = optarg; break;
		case 'D': o.dns = optarg; break;
		case 'I': o.ip = optarg; break;
		case 'f': fwd = optarg; break;
		case 'r': rev = optarg; break;
		default: return fail("unknown option");
		}
	}
	if (strcmp(argv[1], "cert") == 0)
		return cmd_cert(&o);
	if (strcmp(argv[1], "crosspair") == 0)
		return cmd_crosspair(fwd, rev, o.out);
	return fail("unknown command (cert, crosspair)");
}
