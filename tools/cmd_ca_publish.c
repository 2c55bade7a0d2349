/* jpki ca publish: the CA entry's certificates (CPS 2-6-1, 4-13): every generation's
 * self-signed certificate and link certificates in cACertificate;binary, and the
 * cross-certificate pairs with the bridge CA in crossCertificatePair;binary. Each attribute
 * given is replaced as a whole, in one modify, so that a new generation and the link that
 * vouches for it arrive together. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dn.h"

typedef struct bvlist {
	struct berval **v;
	size_t n;
} bvlist;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki ca publish [LDAP options] [--ca-dn DN] --cert PEM... [--cross-pair DER...]\n"
		"Replaces the CA entry's cACertificate;binary with every certificate in the --cert\n"
		"files (self-signed and link certificates of every live generation) and, if given,\n"
		"crossCertificatePair;binary with the --cross-pair files.\n"
		"  --cert PEM               CA certificates, PEM (repeatable; required)\n"
		"  --cross-pair DER         a cross-certificate pair, DER (repeatable)\n"
		"  --ca-dn DN               the CA entry (default \"%s\")\n" CLI_LDAP_USAGE
		"  (bind defaults: $JPKI_PUBLISHER_DN and $JPKI_PUBLISHER_PASSWORD_FILE)\n",
		JPKI_DEFAULT_CA_DN);
}

static int push(bvlist *l, unsigned char *der, size_t len)
{
	struct berval **grown = realloc(l->v, (l->n + 2) * sizeof(*grown));
	struct berval *bv = malloc(sizeof(*bv));

	if (grown == NULL || bv == NULL) {
		free(bv);
		return -1;
	}
	l->v = grown;
	bv->bv_val = (char *)der;
	bv->bv_len = len;
	l->v[l->n++] = bv;
	l->v[l->n] = NULL;
	return 0;
}

static int add_certs(bvlist *l, const char *path, jpki_err *err)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *c;
	int found = 0;

	if (b == NULL)
		return jpki_errf_ssl(err, "%s: cannot open", path);
	while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		unsigned char *der = NULL;
		int len = i2d_X509(c, &der);

		X509_free(c);
		if (len <= 0 || push(l, der, (size_t)len) < 0) {
			BIO_free(b);
			return jpki_errf(err, "%s: cannot encode a certificate", path);
		}
		found++;
	}
	ERR_clear_error();
	BIO_free(b);
	return found ? 0 : jpki_errf(err, "%s: no PEM certificate in it", path);
}

static int add_pair(bvlist *l, const char *path, jpki_err *err)
{
	unsigned char *der;
	size_t len;

	if (cli_read_file(path, &der, &len, err) < 0)
		return -1;
	return push(l, der, len) < 0 ? jpki_errf(err, "out of memory") : 0;
}

static void bvlist_free(bvlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i]->bv_val);
		free(l->v[i]);
	}
	free(l->v);
}

int cmd_ca_publish(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LDAP_LONGOPTS,
		{ "ca-dn", required_argument, NULL, 'd' },
		{ "cert", required_argument, NULL, 'c' },
		{ "cross-pair", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	jpki_ldap_opts lo;
	const char *ca_dn = JPKI_DEFAULT_CA_DN;
	bvlist certs = { 0 }, pairs = { 0 };
	LDAPMod mcert = { LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, "cACertificate;binary", { NULL } };
	LDAPMod mpair = { LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, "crossCertificatePair;binary", { NULL } };
	LDAPMod *mods[3] = { NULL };
	LDAP *ld = NULL;
	char *diag = NULL;
	jpki_err err;
	int opt, rc = EXIT_REFUSED, lrc;

	cli_ldap_defaults(&lo);
	while ((opt = getopt_long(argc, argv, CLI_LDAP_SHORTOPTS "h", longopts, NULL)) != -1) {
		if (cli_ldap_option(&lo, opt, optarg))
			continue;
		switch (opt) {
		case 'd': ca_dn = optarg; break;
		case 'c':
			if (add_certs(&certs, optarg, &err) < 0)
				goto fail;
			break;
		case 'x':
			if (add_pair(&pairs, optarg, &err) < 0)
				goto fail;
			break;
		default:
			usage(opt == 'h' ? stdout : stderr);
			rc = opt == 'h' ? 0 : EXIT_USAGE;
			goto out;
		}
	}
	cli_ldap_bind_defaults(&lo, cli_getenv("JPKI_PUBLISHER_DN"), cli_getenv("JPKI_PUBLISHER_PASSWORD_FILE"));
	rc = EXIT_USAGE;
	if (optind != argc) {
		fprintf(stderr, "jpki ca publish: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (certs.n == 0) {
		fprintf(stderr, "jpki ca publish: --cert is required: the CA certificates to write\n");
		goto out;
	}
	if (cli_ldap_check(&lo, "jpki ca publish") < 0)
		goto out;
	rc = EXIT_REFUSED;
	mcert.mod_bvalues = certs.v;
	mods[0] = &mcert;
	if (pairs.n > 0) {
		mpair.mod_bvalues = pairs.v;
		mods[1] = &mpair;
	}
	if (jpki_ldap_connect(&lo, &ld, &err) < 0)
		goto fail;
	lrc = ldap_modify_ext_s(ld, ca_dn, mods, NULL, NULL);
	if (lrc != LDAP_SUCCESS) {
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		printf("refused  %s: %s: %s\n", ca_dn, ldap_err2string(lrc), diag && *diag ? diag : "(no diagnostic)");
		ldap_memfree(diag);
		goto out;
	}
	printf("accepted %s (%zu CA certificates, %zu cross-certificate pairs)\n", ca_dn, certs.n, pairs.n);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "jpki ca publish: %s\n", err.text);
out:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	bvlist_free(&certs);
	bvlist_free(&pairs);
	return rc;
}
