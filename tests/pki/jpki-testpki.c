/* jpki-testpki: issues the certificates of the test PKI with keys held in a PKCS#11 token.
 *
 *   jpki-testpki cert --profile P --issuer-key URI [--issuer-cert PEM]     (ca: self-signed)
 *                     [--subject-key URI | --subject-pubkey PEM] --subject DN --serial HEX
 *                     [--days N | --not-after TIME] [--not-before TIME] [--pin-file F]
 *                     [profile options] --out PEM
 *   jpki-testpki crosspair [--forward PEM] [--reverse PEM] --out DER
 *
 * DNs are RFC 4514 strings, leaf first ("cn=千葉県知事,ou=Chiba-ken,o=JPKI,c=JP"), UTF-8.
 * TIME is YYYYMMDDHHMMSSZ. Every certificate is X.509 v3, sha256WithRSAEncryption, and is
 * verified with the issuer's public key before it is written. Test use only: the profiles
 * follow the CPS (keys, lifetimes, policy OIDs) but are not the official JPKI profiles. */
#define _DEFAULT_SOURCE /* timegm */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dn.h"
#include "err.h"
#include "municipality.h"
#include "p11key.h"

/* Policy OIDs of the CPS (1-2), test arc. */
#define OID_POLICY_USER_TEST "1.2.392.200149.8.5.1.0.10"
#define OID_POLICY_OCSP_TEST "1.2.392.200149.8.5.1.0.300"

/* The user's basic items in subjectAltName (CPS 3-1-2), as otherName UTF8String values.
 * TEST ASSIGNMENTS ONLY, not the official JPKI profile:
 *   1.2.392.200149.8.5.5.1  name (氏名)
 *   1.2.392.200149.8.5.5.2  registered alias (通称) of a foreign resident, optional
 *   1.2.392.200149.8.5.5.3  date of birth, YYYYMMDD
 *   1.2.392.200149.8.5.5.4  gender (性別)
 *   1.2.392.200149.8.5.5.5  address (住所) */
#define OID_ITEM_NAME "1.2.392.200149.8.5.5.1"
#define OID_ITEM_ALIAS "1.2.392.200149.8.5.5.2"
#define OID_ITEM_BIRTH "1.2.392.200149.8.5.5.3"
#define OID_ITEM_GENDER "1.2.392.200149.8.5.5.4"
#define OID_ITEM_ADDRESS "1.2.392.200149.8.5.5.5"

#define MAX_SAN 8

/* --- profiles ------------------------------------------------------------------------ */

enum profile_kind { P_CA, P_LINK, P_CROSS, P_OCSP, P_USER, P_VERIFIER, P_TLS_SERVER };

struct profile {
	const char *name;
	enum profile_kind kind;
	int key_bits;		/* required RSA size of the subject key */
	long days;		/* default lifetime */
	bool ca;		/* basicConstraints CA:TRUE, keyCertSign + cRLSign */
	int key_usage;		/* KU_* bits for end entities */
	int eku_nid;		/* NID_undef for none */
	const char *policy;	/* certificatePolicies OID or NULL */
};

static const struct profile profiles[] = {
	/* CPS 6-1-1-2, 6-3: CA RSA-2048, self-signed 10 y, cross 5 y, responder 1 y,
	 * user RSA-1024 3 y. Link certificates end with the old self-signed certificate
	 * (7-1-4): give --not-after. */
	{ "ca", P_CA, 2048, 3650, true, 0, NID_undef, NULL },
	{ "link", P_LINK, 2048, 3650, true, 0, NID_undef, NULL },
	{ "cross", P_CROSS, 2048, 1825, true, 0, NID_undef, NULL },
	{ "ocsp", P_OCSP, 2048, 365, false, KU_DIGITAL_SIGNATURE, NID_OCSP_sign,
	  OID_POLICY_OCSP_TEST },
	{ "user", P_USER, 1024, 1095, false, KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
	  NID_undef, OID_POLICY_USER_TEST },
	{ "verifier", P_VERIFIER, 2048, 365, false, KU_DIGITAL_SIGNATURE, NID_client_auth,
	  NULL },
	{ "tls-server", P_TLS_SERVER, 2048, 365, false,
	  KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, NID_server_auth, NULL },
};

static const struct profile *profile_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

/* --- options ------------------------------------------------------------------------- */

struct cert_opts {
	const struct profile *profile;
	const char *issuer_key, *issuer_cert, *subject_key, *subject_pubkey, *subject;
	const char *serial, *not_before, *not_after, *out, *pin_file;
	long days;		/* 0: profile default */
	/* user */
	const char *municipality, *partition_base, *crl_uri, *ocsp_url;
	const char *name, *alias, *birth_date, *gender, *address;
	/* tls-server */
	const char *dns[MAX_SAN], *ip[MAX_SAN];
	int ndns, nip;
};

/* What signing needs, loaded from the options. */
struct issue {
	jpki_p11key *issuer_key, *subject_key;
	EVP_PKEY *signer;		/* issuer private key (in the token) */
	EVP_PKEY *issuer_pub;
	X509 *issuer_cert;		/* NULL for self-signed */
	EVP_PKEY *subject_pub;
	X509_NAME *subject;
	X509 *cert;
};

static void usage(FILE *f)
{
	fputs("usage:\n"
	    "  jpki-testpki cert --profile ca|link|cross|ocsp|user|verifier|tls-server\n"
	    "      --issuer-key PKCS11-URI [--issuer-cert PEM] [--pin-file FILE]\n"
	    "      [--subject-key PKCS11-URI | --subject-pubkey PEM] --subject RFC4514-DN\n"
	    "      --serial HEX [--not-before YYYYMMDDHHMMSSZ]\n"
	    "      [--days N | --not-after YYYYMMDDHHMMSSZ] --out PEM\n"
	    "    user:       --municipality CODE [--partition-base DN] [--crl-uri LDAP-URI]\n"
	    "                [--ocsp-url URL] --name S [--alias S] --birth-date YYYYMMDD\n"
	    "                --gender S --address S\n"
	    "    tls-server: [--dns NAME]... [--ip ADDR]...  (default localhost, 127.0.0.1)\n"
	    "  jpki-testpki crosspair [--forward PEM] [--reverse PEM] --out DER\n"
	    "    forward = issued to this CA, reverse = issued by this CA (RFC 4523)\n", f);
}

enum {
	O_PROFILE = 256, O_ISSUER_KEY, O_ISSUER_CERT, O_SUBJECT_KEY, O_SUBJECT_PUBKEY,
	O_SUBJECT, O_SERIAL, O_DAYS, O_NOT_BEFORE, O_NOT_AFTER, O_OUT, O_PIN_FILE,
	O_MUNICIPALITY, O_PARTITION_BASE, O_CRL_URI, O_OCSP_URL, O_NAME, O_ALIAS,
	O_BIRTH_DATE, O_GENDER, O_ADDRESS, O_DNS, O_IP, O_FORWARD, O_REVERSE, O_HELP
};

static const struct option cert_longopts[] = {
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "issuer-key", required_argument, NULL, O_ISSUER_KEY },
	{ "issuer-cert", required_argument, NULL, O_ISSUER_CERT },
	{ "subject-key", required_argument, NULL, O_SUBJECT_KEY },
	{ "subject-pubkey", required_argument, NULL, O_SUBJECT_PUBKEY },
	{ "subject", required_argument, NULL, O_SUBJECT },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "days", required_argument, NULL, O_DAYS },
	{ "not-before", required_argument, NULL, O_NOT_BEFORE },
	{ "not-after", required_argument, NULL, O_NOT_AFTER },
	{ "out", required_argument, NULL, O_OUT },
	{ "pin-file", required_argument, NULL, O_PIN_FILE },
	{ "municipality", required_argument, NULL, O_MUNICIPALITY },
	{ "partition-base", required_argument, NULL, O_PARTITION_BASE },
	{ "crl-uri", required_argument, NULL, O_CRL_URI },
	{ "ocsp-url", required_argument, NULL, O_OCSP_URL },
	{ "name", required_argument, NULL, O_NAME },
	{ "alias", required_argument, NULL, O_ALIAS },
	{ "birth-date", required_argument, NULL, O_BIRTH_DATE },
	{ "gender", required_argument, NULL, O_GENDER },
	{ "address", required_argument, NULL, O_ADDRESS },
	{ "dns", required_argument, NULL, O_DNS },
	{ "ip", required_argument, NULL, O_IP },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static int parse_days(const char *s, long *out, jpki_err *err)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > 36500)
		return jpki_errf(err, "--days %s: not a number of days between 1 and 36500", s);
	*out = v;
	return 0;
}

static int add_san_value(const char **list, int *n, const char *v, const char *opt,
    jpki_err *err)
{
	if (*n >= MAX_SAN)
		return jpki_errf(err, "%s: at most %d values", opt, MAX_SAN);
	list[(*n)++] = v;
	return 0;
}

static int cert_opts_parse(int argc, char **argv, struct cert_opts *o, jpki_err *err)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->partition_base = JPKI_DEFAULT_PARTITION_BASE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", cert_longopts, NULL)) != -1) {
		switch (c) {
		case O_PROFILE:
			o->profile = profile_find(optarg);
			if (o->profile == NULL)
				return jpki_errf(err, "--profile %s: unknown profile", optarg);
			break;
		case O_ISSUER_KEY: o->issuer_key = optarg; break;
		case O_ISSUER_CERT: o->issuer_cert = optarg; break;
		case O_SUBJECT_KEY: o->subject_key = optarg; break;
		case O_SUBJECT_PUBKEY: o->subject_pubkey = optarg; break;
		case O_SUBJECT: o->subject = optarg; break;
		case O_SERIAL: o->serial = optarg; break;
		case O_DAYS:
			if (parse_days(optarg, &o->days, err) != 0)
				return -1;
			break;
		case O_NOT_BEFORE: o->not_before = optarg; break;
		case O_NOT_AFTER: o->not_after = optarg; break;
		case O_OUT: o->out = optarg; break;
		case O_PIN_FILE: o->pin_file = optarg; break;
		case O_MUNICIPALITY: o->municipality = optarg; break;
		case O_PARTITION_BASE: o->partition_base = optarg; break;
		case O_CRL_URI: o->crl_uri = optarg; break;
		case O_OCSP_URL: o->ocsp_url = optarg; break;
		case O_NAME: o->name = optarg; break;
		case O_ALIAS: o->alias = optarg; break;
		case O_BIRTH_DATE: o->birth_date = optarg; break;
		case O_GENDER: o->gender = optarg; break;
		case O_ADDRESS: o->address = optarg; break;
		case O_DNS:
			if (add_san_value(o->dns, &o->ndns, optarg, "--dns", err) != 0)
				return -1;
			break;
		case O_IP:
			if (add_san_value(o->ip, &o->nip, optarg, "--ip", err) != 0)
				return -1;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			return jpki_errf(err, "unknown option, or one missing its value: %s "
			    "(see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return jpki_errf(err, "unexpected argument \"%s\"", argv[optind]);
	return 0;
}

/* Which options each profile needs or refuses. */
static int cert_opts_check(const struct cert_opts *o, jpki_err *err)
{
	bool self_signed, user, tls;

	if (o->profile == NULL)
		return jpki_errf(err, "--profile is required");
	self_signed = o->profile->kind == P_CA;
	user = o->profile->kind == P_USER;
	tls = o->profile->kind == P_TLS_SERVER;
	if (o->issuer_key == NULL || o->subject == NULL || o->serial == NULL || o->out == NULL)
		return jpki_errf(err, "--issuer-key, --subject, --serial and --out are required");
	if (o->days != 0 && o->not_after != NULL)
		return jpki_errf(err, "give --days or --not-after, not both");
	if (self_signed && (o->issuer_cert || o->subject_pubkey))
		return jpki_errf(err, "profile ca is self-signed: the subject key is the issuer "
		    "key; --issuer-cert and --subject-pubkey do not apply");
	if (!self_signed && o->issuer_cert == NULL)
		return jpki_errf(err, "profile %s needs --issuer-cert (the issuer's name and key "
		    "identifier come from it)", o->profile->name);
	if (!self_signed && (o->subject_key == NULL) == (o->subject_pubkey == NULL))
		return jpki_errf(err, "profile %s needs exactly one of --subject-key and "
		    "--subject-pubkey", o->profile->name);
	if (user && (o->municipality == NULL || o->name == NULL || o->birth_date == NULL ||
	    o->gender == NULL || o->address == NULL))
		return jpki_errf(err, "profile user needs --municipality and the four basic "
		    "items --name, --birth-date, --gender, --address (CPS 3-1-2)");
	if (!user && (o->municipality || o->crl_uri || o->ocsp_url || o->name || o->alias ||
	    o->birth_date || o->gender || o->address))
		return jpki_errf(err, "--municipality, --crl-uri, --ocsp-url and the basic items "
		    "apply to profile user only");
	if (user && (strlen(o->birth_date) != 8 ||
	    strspn(o->birth_date, "0123456789") != 8))
		return jpki_errf(err, "--birth-date %s: not YYYYMMDD", o->birth_date);
	if (user && !jpki_municipality_code_valid(o->municipality))
		return jpki_errf(err, "--municipality %s: not a 6-digit local government code "
		    "with a valid check digit", o->municipality);
	if (!tls && (o->ndns > 0 || o->nip > 0))
		return jpki_errf(err, "--dns and --ip apply to profile tls-server only");
	return 0;
}

/* --- loading keys, certificates, names ----------------------------------------------- */

static X509 *read_cert(const char *path, jpki_err *err)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL) {
		jpki_errf(err, "certificate %s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		jpki_errf_ssl(err, "certificate %s: not a PEM certificate", path);
	return x;
}

static EVP_PKEY *read_pubkey(const char *path, jpki_err *err)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL) {
		jpki_errf(err, "public key %s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		jpki_errf_ssl(err, "public key %s: not a PEM public key (SubjectPublicKeyInfo)",
		    path);
	return k;
}

static int check_rsa_bits(EVP_PKEY *k, int bits, const char *what, const char *profile,
    jpki_err *err)
{
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)
		return jpki_errf(err, "%s: not an RSA key (profile %s)", what, profile);
	if (bits != 0 && EVP_PKEY_get_bits(k) != bits)
		return jpki_errf(err, "%s: RSA-%d, profile %s requires RSA-%d (CPS 6-1-1-2)",
		    what, EVP_PKEY_get_bits(k), profile, bits);
	return 0;
}

static int load_issuer(const struct cert_opts *o, struct issue *is, jpki_err *err)
{
	if (jpki_p11key_open(o->issuer_key, o->pin_file, &is->issuer_key, err) != 0)
		return -1;
	is->signer = jpki_p11key_pkey(is->issuer_key);
	is->issuer_pub = jpki_p11key_pubkey(is->issuer_key);
	if (check_rsa_bits(is->issuer_pub, 0, "issuer key", o->profile->name, err) != 0)
		return -1;
	if (o->issuer_cert == NULL)
		return 0;
	if ((is->issuer_cert = read_cert(o->issuer_cert, err)) == NULL)
		return -1;
	if (EVP_PKEY_eq(X509_get0_pubkey(is->issuer_cert), is->issuer_pub) != 1)
		return jpki_errf(err, "--issuer-key is not the key of --issuer-cert %s",
		    o->issuer_cert);
	if (X509_check_ca(is->issuer_cert) == 0)
		return jpki_errf(err, "--issuer-cert %s is not a CA certificate", o->issuer_cert);
	return 0;
}

static int load_subject(const struct cert_opts *o, struct issue *is, jpki_err *err)
{
	if (o->profile->kind == P_CA && o->subject_key == NULL) {
		is->subject_pub = is->issuer_pub;
		if (EVP_PKEY_up_ref(is->subject_pub) != 1)
			return jpki_errf(err, "out of memory");
	} else if (o->subject_key != NULL) {
		if (jpki_p11key_open(o->subject_key, o->pin_file, &is->subject_key, err) != 0)
			return -1;
		is->subject_pub = jpki_p11key_pubkey(is->subject_key);
		if (EVP_PKEY_up_ref(is->subject_pub) != 1)
			return jpki_errf(err, "out of memory");
	} else if ((is->subject_pub = read_pubkey(o->subject_pubkey, err)) == NULL) {
		return -1;
	}
	if (o->profile->kind == P_CA && EVP_PKEY_eq(is->subject_pub, is->issuer_pub) != 1)
		return jpki_errf(err, "profile ca is self-signed: --subject-key must be the "
		    "issuer key (or be left out)");
	if (check_rsa_bits(is->subject_pub, o->profile->key_bits, "subject key",
	    o->profile->name, err) != 0)
		return -1;
	is->subject = jpki_dn_to_x509_name(o->subject, err);
	if (is->subject == NULL)
		return jpki_errf(err, "--subject \"%s\": not an RFC 4514 DN (leaf first, e.g. "
		    "cn=Name,o=JPKI,c=JP)%s", o->subject,
		    o->subject[0] == '/' ? "; the /C=JP/... form is not accepted" : "");
	if (X509_NAME_entry_count(is->subject) == 0)
		return jpki_errf(err, "--subject: empty DN");
	return 0;
}

/* Link certificates stay within one CA name; cross certificates join two names. */
static int check_names(const struct cert_opts *o, const struct issue *is, jpki_err *err)
{
	const X509_NAME *issuer;
	bool same;

	if (is->issuer_cert == NULL)
		return 0;
	issuer = X509_get_subject_name(is->issuer_cert);
	same = X509_NAME_cmp(issuer, is->subject) == 0;
	if (o->profile->kind == P_LINK) {
		if (!same)
			return jpki_errf(err, "link certificate: --subject must be the issuer's "
			    "own name (two key generations of one CA, CPS 4-13)");
		if (EVP_PKEY_eq(is->subject_pub, is->issuer_pub) == 1)
			return jpki_errf(err, "link certificate: subject and issuer key are the "
			    "same; a link joins two different key generations");
	} else if (same) {
		return jpki_errf(err, "profile %s: --subject equals the issuer's name; only "
		    "ca and link certificates name their own CA", o->profile->name);
	}
	return 0;
}

/* --- validity and serial ------------------------------------------------------------- */

static ASN1_TIME *parse_time(const char *s, const char *opt, jpki_err *err)
{
	ASN1_TIME *t = ASN1_TIME_new();

	if (t == NULL) {
		jpki_errf(err, "out of memory");
		return NULL;
	}
	if (strlen(s) != 15 || s[14] != 'Z' || ASN1_TIME_set_string_X509(t, s) != 1) {
		ASN1_TIME_free(t);
		jpki_errf_ssl(err, "%s %s: not a time YYYYMMDDHHMMSSZ", opt, s);
		return NULL;
	}
	return t;
}

static int set_validity(X509 *x, const struct cert_opts *o, jpki_err *err)
{
	ASN1_TIME *nb = NULL, *na = NULL;
	struct tm tm;
	time_t start;
	long days = o->days != 0 ? o->days : o->profile->days;
	int rc = -1;

	if (o->not_before != NULL) {
		if ((nb = parse_time(o->not_before, "--not-before", err)) == NULL)
			return -1;
		if (ASN1_TIME_to_tm(nb, &tm) != 1) {
			jpki_errf_ssl(err, "--not-before %s: cannot convert", o->not_before);
			goto out;
		}
		start = timegm(&tm);
		ASN1_TIME_free(nb);
		nb = NULL;
	} else {
		start = time(NULL);
	}
	/* Re-made from time_t so both bounds use UTCTime up to 2049 (RFC 5280 4.1.2.5). */
	nb = ASN1_TIME_adj(NULL, start, 0, 0);
	if (o->not_after != NULL)
		na = parse_time(o->not_after, "--not-after", err);
	else
		na = ASN1_TIME_adj(NULL, start, (int)days, 0);
	if (nb == NULL || na == NULL) {
		if (na == NULL && o->not_after == NULL)
			jpki_errf_ssl(err, "cannot compute the validity period");
		goto out;
	}
	if (ASN1_TIME_compare(nb, na) >= 0) {
		jpki_errf(err, "validity: notAfter is not after notBefore");
		goto out;
	}
	if (X509_set1_notBefore(x, nb) != 1 || X509_set1_notAfter(x, na) != 1) {
		jpki_errf_ssl(err, "cannot set the validity period");
		goto out;
	}
	rc = 0;
out:
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	return rc;
}

static int set_serial(X509 *x, const char *hex, jpki_err *err)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int n = BN_hex2bn(&bn, hex), rc = -1;

	if (n <= 0 || (size_t)n != strlen(hex)) {
		jpki_errf(err, "--serial %s: not a hexadecimal number", hex);
		goto out;
	}
	if (BN_is_zero(bn) || BN_is_negative(bn) || BN_num_bytes(bn) > 20) {
		jpki_errf(err, "--serial %s: must be positive and at most 20 octets "
		    "(RFC 5280 4.1.2.2)", hex);
		goto out;
	}
	if ((ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || X509_set_serialNumber(x, ai) != 1) {
		jpki_errf_ssl(err, "cannot set the serial number");
		goto out;
	}
	rc = 0;
out:
	BN_free(bn);
	ASN1_INTEGER_free(ai);
	return rc;
}

/* --- extensions ---------------------------------------------------------------------- */

static int add_ext(X509 *x, int nid, void *value, int critical, jpki_err *err)
{
	if (X509_add1_ext_i2d(x, nid, value, critical, X509V3_ADD_DEFAULT) != 1)
		return jpki_errf_ssl(err, "cannot add extension %s", OBJ_nid2sn(nid));
	return 0;
}

/* RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING. */
static ASN1_OCTET_STRING *key_id(EVP_PKEY *pub, jpki_err *err)
{
	X509_PUBKEY *xpk = NULL;
	const unsigned char *bits;
	unsigned char md[SHA_DIGEST_LENGTH];
	unsigned int mdlen;
	int len;
	ASN1_OCTET_STRING *id = NULL;

	if (X509_PUBKEY_set(&xpk, pub) != 1 ||
	    X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) != 1 ||
	    EVP_Digest(bits, (size_t)len, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    (id = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(id, md, (int)mdlen) != 1) {
		ASN1_OCTET_STRING_free(id);
		id = NULL;
		jpki_errf_ssl(err, "cannot compute a key identifier");
	}
	X509_PUBKEY_free(xpk);
	return id;
}

static int ext_key_ids(X509 *x, const struct issue *is, jpki_err *err)
{
	ASN1_OCTET_STRING *ski = key_id(is->subject_pub, err), *ikid = NULL;
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	const ASN1_OCTET_STRING *cert_ski;
	int rc = -1;

	if (ski == NULL || aki == NULL)
		goto out;
	/* The issuer's own SKI when its certificate has one, so that chains match. */
	cert_ski = is->issuer_cert != NULL ? X509_get0_subject_key_id(is->issuer_cert) : NULL;
	ikid = cert_ski != NULL ? ASN1_OCTET_STRING_dup(cert_ski) : key_id(is->issuer_pub, err);
	if (ikid == NULL)
		goto out;
	aki->keyid = ikid;
	if (add_ext(x, NID_subject_key_identifier, ski, 0, err) == 0 &&
	    add_ext(x, NID_authority_key_identifier, aki, 0, err) == 0)
		rc = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	return rc;
}

static int ext_basic_constraints(X509 *x, bool ca, jpki_err *err)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int rc;

	if (bc == NULL)
		return jpki_errf(err, "out of memory");
	bc->ca = ca ? 0xff : 0;
	rc = add_ext(x, NID_basic_constraints, bc, 1, err);
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int ext_key_usage(X509 *x, int ku, jpki_err *err)
{
	static const struct { int ku, bit; } bits[] = {
		{ KU_DIGITAL_SIGNATURE, 0 }, { KU_NON_REPUDIATION, 1 },
		{ KU_KEY_ENCIPHERMENT, 2 }, { KU_KEY_CERT_SIGN, 5 }, { KU_CRL_SIGN, 6 },
	};
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	size_t i;
	int rc = -1;

	if (bs == NULL)
		return jpki_errf(err, "out of memory");
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((ku & bits[i].ku) && ASN1_BIT_STRING_set_bit(bs, bits[i].bit, 1) != 1)
			goto out;
	rc = add_ext(x, NID_key_usage, bs, 1, err);
out:
	if (rc != 0 && err != NULL && err->text[0] == '\0')
		jpki_errf(err, "cannot build keyUsage");
	ASN1_BIT_STRING_free(bs);
	return rc;
}

static int ext_eku(X509 *x, int nid, jpki_err *err)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	int rc = -1;

	if (eku == NULL || sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(nid)) <= 0)
		jpki_errf(err, "out of memory");
	else
		rc = add_ext(x, NID_ext_key_usage, eku, 0, err);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

static int ext_policy(X509 *x, const char *oid, jpki_err *err)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	int rc = -1;

	if (cp == NULL || pi == NULL) {
		jpki_errf(err, "out of memory");
		goto out;
	}
	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = OBJ_txt2obj(oid, 1);
	if (pi->policyid == NULL) {
		jpki_errf_ssl(err, "policy OID %s", oid);
		goto out;
	}
	if (sk_POLICYINFO_push(cp, pi) <= 0) {
		jpki_errf(err, "out of memory");
		goto out;
	}
	pi = NULL;
	rc = add_ext(x, NID_certificate_policies, cp, 0, err);
out:
	POLICYINFO_free(pi);
	sk_POLICYINFO_pop_free(cp, POLICYINFO_free);
	return rc;
}

/* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): value NULL. */
static int ext_ocsp_nocheck(X509 *x, jpki_err *err)
{
	ASN1_NULL *null = ASN1_NULL_new();
	int rc;

	if (null == NULL)
		return jpki_errf(err, "out of memory");
	rc = add_ext(x, NID_id_pkix_OCSP_noCheck, null, 0, err);
	ASN1_NULL_free(null);
	return rc;
}

static GENERAL_NAME *uri_name(const char *uri, jpki_err *err)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (gn == NULL || s == NULL || ASN1_STRING_set(s, uri, -1) != 1) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		jpki_errf(err, "out of memory");
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

/* The municipality's partition entry (directoryName, the same DN the CRL's
 * issuingDistributionPoint names, lib/dn.h), optionally an ldap URI too. */
static int ext_crl_dp(X509 *x, const struct cert_opts *o, jpki_err *err)
{
	char dn[512];
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	DIST_POINT_NAME *dpn = DIST_POINT_NAME_new();
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *xn = NULL;
	int rc = -1;

	if (dps == NULL || dp == NULL || dpn == NULL || names == NULL || gn == NULL) {
		jpki_errf(err, "out of memory");
		goto out;
	}
	if (jpki_partition_dn(o->partition_base, o->municipality, dn, sizeof(dn)) != 0) {
		jpki_errf(err, "partition DN for %s: too long", o->municipality);
		goto out;
	}
	if ((xn = jpki_dn_to_x509_name(dn, err)) == NULL)
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, xn);
	xn = NULL;
	if (sk_GENERAL_NAME_push(names, gn) <= 0)
		goto oom;
	gn = NULL;
	if (o->crl_uri != NULL) {
		if ((gn = uri_name(o->crl_uri, err)) == NULL)
			goto out;
		if (sk_GENERAL_NAME_push(names, gn) <= 0)
			goto oom;
		gn = NULL;
	}
	dpn->type = 0;	/* fullName */
	dpn->name.fullname = names;
	names = NULL;
	dp->distpoint = dpn;
	dpn = NULL;
	if (sk_DIST_POINT_push(dps, dp) <= 0)
		goto oom;
	dp = NULL;
	rc = add_ext(x, NID_crl_distribution_points, dps, 0, err);
	goto out;
oom:
	jpki_errf(err, "out of memory");
out:
	X509_NAME_free(xn);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	DIST_POINT_NAME_free(dpn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return rc;
}

static int ext_aia_ocsp(X509 *x, const char *url, jpki_err *err)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	int rc = -1;

	if (aia == NULL || ad == NULL) {
		jpki_errf(err, "out of memory");
		goto out;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_OCSP);
	GENERAL_NAME_free(ad->location);
	if ((ad->location = uri_name(url, err)) == NULL)
		goto out;
	if (sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
		jpki_errf(err, "out of memory");
		goto out;
	}
	ad = NULL;
	rc = add_ext(x, NID_info_access, aia, 0, err);
out:
	ACCESS_DESCRIPTION_free(ad);
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	return rc;
}

/* otherName { oid, [0] UTF8String value } appended to names. */
static int push_item(GENERAL_NAMES *names, const char *oid, const char *value, jpki_err *err)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_TYPE *val = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();

	if (gn == NULL || obj == NULL || val == NULL || s == NULL ||
	    ASN1_STRING_set(s, value, -1) != 1)
		goto fail;
	ASN1_TYPE_set(val, V_ASN1_UTF8STRING, s);
	s = NULL;
	if (GENERAL_NAME_set0_othername(gn, obj, val) != 1)
		goto fail;
	obj = NULL;
	val = NULL;
	if (sk_GENERAL_NAME_push(names, gn) <= 0)
		goto fail;
	return 0;
fail:
	GENERAL_NAME_free(gn);
	ASN1_OBJECT_free(obj);
	ASN1_TYPE_free(val);
	ASN1_UTF8STRING_free(s);
	return jpki_errf_ssl(err, "cannot build subjectAltName item %s", oid);
}

static int ext_user_san(X509 *x, const struct cert_opts *o, jpki_err *err)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	int rc = -1;

	if (names == NULL)
		return jpki_errf(err, "out of memory");
	if (push_item(names, OID_ITEM_NAME, o->name, err) != 0 ||
	    (o->alias != NULL && push_item(names, OID_ITEM_ALIAS, o->alias, err) != 0) ||
	    push_item(names, OID_ITEM_BIRTH, o->birth_date, err) != 0 ||
	    push_item(names, OID_ITEM_GENDER, o->gender, err) != 0 ||
	    push_item(names, OID_ITEM_ADDRESS, o->address, err) != 0)
		goto out;
	rc = add_ext(x, NID_subject_alt_name, names, 0, err);
out:
	GENERAL_NAMES_free(names);
	return rc;
}

static int ext_tls_san(X509 *x, const struct cert_opts *o, jpki_err *err)
{
	static const char *const default_dns[] = { "localhost" };
	static const char *const default_ip[] = { "127.0.0.1" };
	const char *const *dns = o->ndns > 0 ? o->dns : default_dns;
	const char *const *ip = o->nip > 0 ? o->ip : default_ip;
	int ndns = o->ndns > 0 ? o->ndns : 1, nip = o->nip > 0 ? o->nip : 1, i, rc = -1;
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn;
	ASN1_IA5STRING *s;
	ASN1_OCTET_STRING *addr;

	if (names == NULL)
		return jpki_errf(err, "out of memory");
	for (i = 0; i < ndns; i++) {
		gn = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		if (gn == NULL || s == NULL || ASN1_STRING_set(s, dns[i], -1) != 1) {
			GENERAL_NAME_free(gn);
			ASN1_IA5STRING_free(s);
			jpki_errf(err, "out of memory");
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, s);
		if (sk_GENERAL_NAME_push(names, gn) <= 0) {
			GENERAL_NAME_free(gn);
			jpki_errf(err, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < nip; i++) {
		if ((addr = a2i_IPADDRESS(ip[i])) == NULL) {
			jpki_errf(err, "--ip %s: not an IPv4 or IPv6 address", ip[i]);
			goto out;
		}
		if ((gn = GENERAL_NAME_new()) == NULL) {
			ASN1_OCTET_STRING_free(addr);
			jpki_errf(err, "out of memory");
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_IPADD, addr);
		if (sk_GENERAL_NAME_push(names, gn) <= 0) {
			GENERAL_NAME_free(gn);
			jpki_errf(err, "out of memory");
			goto out;
		}
	}
	rc = add_ext(x, NID_subject_alt_name, names, 0, err);
out:
	GENERAL_NAMES_free(names);
	return rc;
}

static int add_profile_extensions(X509 *x, const struct cert_opts *o, const struct issue *is,
    jpki_err *err)
{
	const struct profile *p = o->profile;

	if (p->ca) {
		if (ext_basic_constraints(x, true, err) != 0 ||
		    ext_key_usage(x, KU_KEY_CERT_SIGN | KU_CRL_SIGN, err) != 0)
			return -1;
	} else if (ext_key_usage(x, p->key_usage, err) != 0) {
		return -1;
	}
	if (ext_key_ids(x, is, err) != 0)
		return -1;
	if (p->eku_nid != NID_undef && ext_eku(x, p->eku_nid, err) != 0)
		return -1;
	if (p->policy != NULL && ext_policy(x, p->policy, err) != 0)
		return -1;
	switch (p->kind) {
	case P_OCSP:
		return ext_ocsp_nocheck(x, err);
	case P_USER:
		if (ext_crl_dp(x, o, err) != 0 || ext_user_san(x, o, err) != 0)
			return -1;
		return o->ocsp_url != NULL ? ext_aia_ocsp(x, o->ocsp_url, err) : 0;
	case P_TLS_SERVER:
		return ext_tls_san(x, o, err);
	default:
		return 0;
	}
}

/* --- issuing ------------------------------------------------------------------------- */

static int build_cert(const struct cert_opts *o, struct issue *is, jpki_err *err)
{
	const X509_NAME *issuer_name = is->issuer_cert != NULL ?
	    X509_get_subject_name(is->issuer_cert) : is->subject;

	is->cert = X509_new();
	if (is->cert == NULL)
		return jpki_errf(err, "out of memory");
	if (X509_set_version(is->cert, X509_VERSION_3) != 1 ||
	    X509_set_subject_name(is->cert, is->subject) != 1 ||
	    X509_set_issuer_name(is->cert, issuer_name) != 1 ||
	    X509_set_pubkey(is->cert, is->subject_pub) != 1)
		return jpki_errf_ssl(err, "cannot fill the certificate");
	if (set_serial(is->cert, o->serial, err) != 0 || set_validity(is->cert, o, err) != 0)
		return -1;
	return add_profile_extensions(is->cert, o, is, err);
}

/* Signs in the token, then checks the signature with the issuer's public key. */
static int sign_cert(struct issue *is, jpki_err *err)
{
	if (X509_sign(is->cert, is->signer, EVP_sha256()) <= 0)
		return jpki_errf_ssl(err, "signing with the issuer key failed");
	if (X509_verify(is->cert, is->issuer_pub) != 1)
		return jpki_errf_ssl(err, "the new certificate does not verify with the issuer's "
		    "public key");
	return 0;
}

static int write_pem(const char *path, X509 *x, jpki_err *err)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return jpki_errf(err, "%s: %s", path, strerror(errno));
	if (PEM_write_X509(f, x) != 1) {
		fclose(f);
		remove(path);
		return jpki_errf_ssl(err, "%s: cannot write the certificate", path);
	}
	if (fclose(f) != 0) {
		remove(path);
		return jpki_errf(err, "%s: %s", path, strerror(errno));
	}
	return 0;
}

static void issue_free(struct issue *is)
{
	X509_free(is->cert);
	X509_NAME_free(is->subject);
	EVP_PKEY_free(is->subject_pub);
	X509_free(is->issuer_cert);
	jpki_p11key_close(is->subject_key);
	jpki_p11key_close(is->issuer_key);
}

static int cmd_cert(int argc, char **argv, jpki_err *err)
{
	struct cert_opts o;
	struct issue is;
	int rc = -1;

	memset(&is, 0, sizeof(is));
	if (cert_opts_parse(argc, argv, &o, err) != 0 || cert_opts_check(&o, err) != 0)
		return -1;
	if (load_issuer(&o, &is, err) == 0 && load_subject(&o, &is, err) == 0 &&
	    check_names(&o, &is, err) == 0 && build_cert(&o, &is, err) == 0 &&
	    sign_cert(&is, err) == 0 && write_pem(o.out, is.cert, err) == 0)
		rc = 0;
	issue_free(&is);
	return rc;
}

/* --- cross-certificate pair ---------------------------------------------------------- */

/* X.509 / RFC 4523 CertificatePair ::= SEQUENCE {
 *     forward [0] Certificate OPTIONAL,   -- issued to this CA
 *     reverse [1] Certificate OPTIONAL }  -- issued by this CA
 * (explicit tags: the module uses EXPLICIT TAGS) */
typedef struct {
	X509 *forward;
	X509 *reverse;
} CERT_PAIR;

ASN1_SEQUENCE(CERT_PAIR) = {
	ASN1_EXP_OPT(CERT_PAIR, forward, X509, 0),
	ASN1_EXP_OPT(CERT_PAIR, reverse, X509, 1),
} static_ASN1_SEQUENCE_END(CERT_PAIR)

static const struct option pair_longopts[] = {
	{ "forward", required_argument, NULL, O_FORWARD },
	{ "reverse", required_argument, NULL, O_REVERSE },
	{ "out", required_argument, NULL, O_OUT },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static int write_der(const char *path, const unsigned char *der, int len, jpki_err *err)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return jpki_errf(err, "%s: %s", path, strerror(errno));
	if (fwrite(der, 1, (size_t)len, f) != (size_t)len || fclose(f) != 0) {
		if (f != NULL)
			fclose(f);
		remove(path);
		return jpki_errf(err, "%s: write failed", path);
	}
	return 0;
}

static int cmd_crosspair(int argc, char **argv, jpki_err *err)
{
	const char *fwd = NULL, *rev = NULL, *out = NULL;
	CERT_PAIR pair = { NULL, NULL };
	unsigned char *der = NULL;
	int c, len, rc = -1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", pair_longopts, NULL)) != -1) {
		switch (c) {
		case O_FORWARD: fwd = optarg; break;
		case O_REVERSE: rev = optarg; break;
		case O_OUT: out = optarg; break;
		case O_HELP: usage(stdout); exit(0);
		default:
			return jpki_errf(err, "unknown option, or one missing its value: %s "
			    "(see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return jpki_errf(err, "unexpected argument \"%s\"", argv[optind]);
	if (out == NULL || (fwd == NULL && rev == NULL))
		return jpki_errf(err, "crosspair needs --out and at least one of --forward, "
		    "--reverse");
	if ((fwd != NULL && (pair.forward = read_cert(fwd, err)) == NULL) ||
	    (rev != NULL && (pair.reverse = read_cert(rev, err)) == NULL))
		goto out;
	/* The two halves join the same two CAs in opposite directions. */
	if (pair.forward != NULL && pair.reverse != NULL &&
	    (X509_NAME_cmp(X509_get_subject_name(pair.forward),
	        X509_get_issuer_name(pair.reverse)) != 0 ||
	     X509_NAME_cmp(X509_get_issuer_name(pair.forward),
	        X509_get_subject_name(pair.reverse)) != 0)) {
		jpki_errf(err, "crosspair: forward's subject must be reverse's issuer and the "
		    "other way round (both halves join the same two CAs)");
		goto out;
	}
	len = ASN1_item_i2d((ASN1_VALUE *)&pair, &der, ASN1_ITEM_rptr(CERT_PAIR));
	if (len <= 0) {
		jpki_errf_ssl(err, "cannot encode the certificate pair");
		goto out;
	}
	rc = write_der(out, der, len, err);
out:
	OPENSSL_free(der);
	X509_free(pair.forward);
	X509_free(pair.reverse);
	return rc;
}

/* --- main ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	jpki_err err = { "" };
	int rc;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "cert") == 0) {
		rc = cmd_cert(argc - 1, argv + 1, &err);
	} else if (strcmp(argv[1], "crosspair") == 0) {
		rc = cmd_crosspair(argc - 1, argv + 1, &err);
	} else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	} else {
		fprintf(stderr, "jpki-testpki: unknown command \"%s\"\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (rc != 0) {
		fprintf(stderr, "jpki-testpki %s: %s\n", argv[1], err.text);
		return 1;
	}
	return 0;
}
