/* jpki crl issue: one CRL per municipality partition (区分CRL, CPS 4-4-4-4) and the ARL,
 * signed with the CA key in the HSM. Every ledger line is checked before anything is signed
 * or written; every CRL is checked against the repository's own rules before it is written. */
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "crl_check.h"
#include "crl_issue.h"
#include "dn.h"
#include "ledger.h"
#include "municipality.h"
#include "p11key.h"
#include "trust.h"
#include "utctime.h"

/* RFC 5280 5.2.3: a cRLNumber is at most 20 octets, so at most 2^159 - 1. */
#define CRL_NUMBER_MAX_BITS (8 * 20 - 1)
/* The last second a CRL time can carry: GeneralizedTime has four year digits. */
#define LAST_TIME ((time_t)253402300799)	/* 9999-12-31T23:59:59Z */

typedef struct issue_opts {
	const char *ledger, *ca_ledger, *ca_cert, *ca_key, *pin_file, *out_dir;
	const char *partition_base, *ca_dn, *municipalities;
	time_t this_update;
	long validity;
	ASN1_INTEGER *number;	/* NULL until given or defaulted */
} issue_opts;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki crl issue --ca-cert PEM --ca-key PKCS11-URI --ledger CSV --out DIR\n"
		"                      [--ca-ledger CSV] [options]\n"
		"Signs one CRL per municipality partition (DIR/<code>.crl, DER) and, with --ca-ledger,\n"
		"the ARL (DIR/arl.crl). A municipality without revocations gets an empty CRL.\n"
		"  --ledger CSV            user revocations: serial,revocation_time,reason,municipality;\n"
		"                          required (no revocations: a file of only that header line)\n"
		"  --ca-ledger CSV         CA-certificate revocations (municipality empty) for the ARL\n"
		"  --ca-cert PEM           the self-signed certificate of the signing CA generation\n"
		"  --ca-key URI            the CA private key, RFC 7512 PKCS#11 URI\n"
		"  --pin-file FILE         token PIN (else the URI's pin-source or pin-value)\n"
		"  --this-update TIME      YYYY-MM-DDTHH:MM:SSZ (default: now)\n"
		"  --validity DURATION     nextUpdate - thisUpdate (default 72h, CPS 4-4-9)\n"
		"  --crl-number N          cRLNumber, decimal, 0 to 2^159-1 (default: thisUpdate in\n"
		"                          seconds since 1970)\n"
		"  --partition-base DN     parent of the partitions (default \"%s\")\n"
		"  --ca-dn DN              the CA entry that holds the ARL (default \"%s\")\n"
		"  --municipalities TSV    the municipality table (default %s)\n",
		JPKI_DEFAULT_PARTITION_BASE, JPKI_DEFAULT_CA_DN, jpki_municipalities_default_path());
}

/* Decimal digits only, up to 20 octets: beyond that is refused, never capped. */
static ASN1_INTEGER *parse_number(const char *text)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *n = NULL;
	size_t len = strlen(text);

	/* 2^159 has 48 digits; leading zeros aside, a longer text is out of range anyway. */
	if (len == 0 || strspn(text, "0123456789") != len || len > 1024)
		return NULL;
	if (BN_dec2bn(&bn, text) == (int)len && BN_num_bits(bn) <= CRL_NUMBER_MAX_BITS)
		n = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return n;
}

/* A second ledger would silently replace the first, and its revocations would be dropped. */
static int once(const char *opt, const char **slot, const char *arg)
{
	if (*slot != NULL) {
		fprintf(stderr, "jpki crl issue: %s given twice: one ledger per CA key, in one file\n", opt);
		return -1;
	}
	*slot = arg;
	return 0;
}

static int parse_args(int argc, char **argv, issue_opts *o)
{
	static const struct option longopts[] = {
		{ "ledger", required_argument, NULL, 'l' },
		{ "ca-ledger", required_argument, NULL, 'a' },
		{ "ca-cert", required_argument, NULL, 'c' },
		{ "ca-key", required_argument, NULL, 'k' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "this-update", required_argument, NULL, 't' },
		{ "validity", required_argument, NULL, 'v' },
		{ "crl-number", required_argument, NULL, 'n' },
		{ "partition-base", required_argument, NULL, 'b' },
		{ "ca-dn", required_argument, NULL, 'd' },
		{ "municipalities", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	o->this_update = time(NULL);
	o->validity = JPKI_DEFAULT_MAX_VALIDITY;
	o->partition_base = JPKI_DEFAULT_PARTITION_BASE;
	o->ca_dn = JPKI_DEFAULT_CA_DN;
	o->municipalities = jpki_municipalities_default_path();
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (once("--ledger", &o->ledger, optarg) < 0)
				return -1;
			break;
		case 'a':
			if (once("--ca-ledger", &o->ca_ledger, optarg) < 0)
				return -1;
			break;
		case 'c': o->ca_cert = optarg; break;
		case 'k': o->ca_key = optarg; break;
		case 'p': o->pin_file = optarg; break;
		case 'o': o->out_dir = optarg; break;
		case 'b': o->partition_base = optarg; break;
		case 'd': o->ca_dn = optarg; break;
		case 'm': o->municipalities = optarg; break;
		case 't':
			if (jpki_parse_utc(optarg, &o->this_update) < 0) {
				fprintf(stderr, "jpki crl issue: --this-update '%s' is not YYYY-MM-DDTHH:MM:SSZ\n", optarg);
				return -1;
			}
			break;
		case 'v':
			if (cli_parse_duration(optarg, &o->validity) < 0) {
				fprintf(stderr, "jpki crl issue: --validity '%s' is not a duration: digits and the unit s, m, "
					"h, d or none (72h, 3d, 259200), from 1 s to %ld s\n", optarg, LONG_MAX);
				return -1;
			}
			break;
		case 'n':
			ASN1_INTEGER_free(o->number);
			if ((o->number = parse_number(optarg)) == NULL) {
				fprintf(stderr, "jpki crl issue: --crl-number '%s' is not a decimal number from 0 to 2^159-1 "
					"(a cRLNumber is at most 20 octets, RFC 5280 5.2.3)\n", optarg);
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "jpki crl issue: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->ca_cert == NULL || o->ca_key == NULL || o->out_dir == NULL) {
		fprintf(stderr, "jpki crl issue: %s is required\n", o->ca_cert == NULL ? "--ca-cert" :
			o->ca_key == NULL ? "--ca-key" : "--out");
		return -1;
	}
	if (o->ledger == NULL) {
		fprintf(stderr, "jpki crl issue: --ledger is required: CRLs issued without the user ledger "
			"would drop every revocation (a CA without revocations gives a ledger of only the "
			"header line serial,revocation_time,reason,municipality)\n");
		return -1;
	}
	if (o->this_update > LAST_TIME || o->validity > LAST_TIME - o->this_update) {
		fprintf(stderr, "jpki crl issue: --validity: nextUpdate would be after 9999-12-31T23:59:59Z, "
			"the last time a CRL can carry\n");
		return -1;
	}
	if (o->number == NULL) {
		/* The default counts seconds since 1970; before it there is no such number. */
		if (o->this_update < 0) {
			fprintf(stderr, "jpki crl issue: --this-update before 1970 needs --crl-number\n");
			return -1;
		}
		if ((o->number = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set_int64(o->number, o->this_update)) {
			fprintf(stderr, "jpki crl issue: out of memory\n");
			return -1;
		}
	}
	return 0;
}

static X509 *read_cert(const char *path, jpki_err *err)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *c = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (c == NULL)
		jpki_errf_ssl(err, "%s: not a PEM certificate", path);
	return c;
}

static int same_municipality(const jpki_revocation *r, const void *code)
{
	return strcmp(r->municipality, code) == 0;
}

/* Builds, self-checks and keeps one CRL in memory; nothing is written until all are built. */
typedef struct built {
	char name[16];
	unsigned char *der;
	size_t len;
} built;

/* A warning, once per rule, that a repository with the default policy refuses the CRL. */
static void warn_beyond(bool beyond, const jpki_verdict *v, const char *dn, const char *setting, unsigned *warned)
{
	if (!beyond || (*warned & (1u << v->rule)))
		return;
	fprintf(stderr, "jpki crl issue: warning: a repository with the default policy will refuse the CRL "
		"for %s (%s) unless its %s allows it\n", dn, v->text, setting);
	*warned |= 1u << v->rule;
}

static int build_one(const jpki_crl_params *p, const jpki_trust *t, const jpki_ledger *l,
	const char *code, built *out, unsigned *warned, jpki_err *err)
{
	jpki_crl_policy pol;
	jpki_verdict v;

	if (jpki_crl_build(p, l->items, l->n, code != NULL ? same_municipality : NULL, code,
		    &out->der, &out->len, err) < 0)
		return -1;
	/* The repository's rules. Its validity and size limits are settings (jpkirepo-max-validity,
	 * jpkirepo-max-size): beyond their defaults the CRL is still issued, with a warning once
	 * for each of the two, and checked against every other rule. */
	jpki_crl_policy_default(&pol);
	pol.max_validity = LONG_MAX;
	pol.max_size = SIZE_MAX;
	if (jpki_crl_check(out->der, out->len, p->dp_dn, p->kind, t, NULL, 0, p->this_update, &pol, NULL, NULL,
		    &v) < 0)
		return jpki_errf(err, "the CRL for %s fails the repository's %s", p->dp_dn, v.text);
	jpki_crl_policy_default(&pol);
	warn_beyond(jpki_check_size(out->len, &pol, &v) < 0, &v, p->dp_dn, "jpkirepo-max-size", warned);
	warn_beyond(jpki_check_validity_at(p->this_update, p->next_update, p->this_update, &pol, &v) < 0, &v,
		p->dp_dn, "jpkirepo-max-validity", warned);
	return 0;
}

int cmd_crl_issue(int argc, char **argv)
{
	issue_opts o;
	jpki_municipalities muni = { 0 };
	jpki_ledger users = { 0 }, cas = { 0 };
	jpki_p11key *key = NULL;
	jpki_trust *trust = NULL;
	X509 *ca = NULL;
	char *number = NULL;
	built *crls = NULL;
	size_t ncrl = 0, i, revoked = 0;
	char dn[512], tu[32], nu[32];
	jpki_crl_params p;
	jpki_err err;
	int rc = EXIT_REFUSED;
	unsigned warned = 0;	/* a bit per rule warned of */

	if (parse_args(argc, argv, &o) < 0) {
		ASN1_INTEGER_free(o.number);
		return EXIT_USAGE;
	}
	if (jpki_municipalities_load(o.municipalities, &muni, &err) < 0 ||
	    jpki_ledger_load(o.ledger, JPKI_LEDGER_USERS, &muni, o.this_update, &users, &err) < 0 ||
	    (o.ca_ledger != NULL && jpki_ledger_load(o.ca_ledger, JPKI_LEDGER_CA, NULL, o.this_update, &cas, &err) < 0))
		goto fail;
	if ((ca = read_cert(o.ca_cert, &err)) == NULL || (trust = jpki_trust_new()) == NULL ||
	    jpki_trust_add_anchor(trust, ca, &err) < 0)
		goto fail;
	if (jpki_p11key_open(o.ca_key, o.pin_file, &key, &err) < 0)
		goto fail;
	if (X509_check_private_key(ca, jpki_p11key_pkey(key)) != 1) {
		jpki_errf_ssl(&err, "the key %s does not belong to %s", o.ca_key, o.ca_cert);
		goto fail;
	}
	number = jpki_integer_dec(o.number);
	crls = calloc(muni.n + 1, sizeof(*crls));
	if (number == NULL || crls == NULL) {
		jpki_errf(&err, "out of memory");
		goto fail;
	}
	p = (jpki_crl_params){ ca, jpki_p11key_pkey(key), dn, JPKI_CRL_PARTITION, o.this_update,
		o.this_update + o.validity, o.number };
	for (i = 0; i < muni.n; i++, ncrl++) {
		if (jpki_partition_dn(o.partition_base, muni.items[i].code, dn, sizeof(dn)) < 0) {
			jpki_errf(&err, "partition DN too long");
			goto fail;
		}
		snprintf(crls[ncrl].name, sizeof(crls[ncrl].name), "%s.crl", muni.items[i].code);
		if (build_one(&p, trust, &users, muni.items[i].code, &crls[ncrl], &warned, &err) < 0)
			goto fail;
	}
	if (o.ca_ledger != NULL) {
		snprintf(dn, sizeof(dn), "%s", o.ca_dn);
		p.kind = JPKI_CRL_ARL;
		snprintf(crls[ncrl].name, sizeof(crls[ncrl].name), "arl.crl");
		if (build_one(&p, trust, &cas, NULL, &crls[ncrl], &warned, &err) < 0)
			goto fail;
		ncrl++;
	}
	for (i = 0; i < ncrl; i++) {
		if (cli_write_atomic(o.out_dir, crls[i].name, crls[i].der, crls[i].len, &err) < 0) {
			fprintf(stderr, "jpki crl issue: %s\n%zu of %zu files were written\n", err.text, i, ncrl);
			goto out;
		}
	}
	revoked = users.n;
	jpki_utc_iso(p.this_update, tu);
	jpki_utc_iso(p.next_update, nu);
	printf("wrote %zu partition CRLs (%zu revocations)%s to %s: cRLNumber %s, thisUpdate %s, nextUpdate %s\n",
		muni.n, revoked, o.ca_ledger ? " and the ARL" : "", o.out_dir, number, tu, nu);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "jpki crl issue: %s\nnothing was written\n", err.text);
out:
	for (i = 0; crls != NULL && i <= muni.n; i++)
		OPENSSL_free(crls[i].der);
	free(crls);
	OPENSSL_free(number);
	ASN1_INTEGER_free(o.number);
	jpki_p11key_close(key);
	jpki_trust_free(trust);
	X509_free(ca);
	jpki_ledger_free(&users);
	jpki_ledger_free(&cas);
	jpki_municipalities_free(&muni);
	return rc;
}
