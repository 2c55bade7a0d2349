/* jpki crl publish: each CRL/ARL file goes to the entry its issuingDistributionPoint names,
 * as one replace of that entry's certificateRevocationList;binary (or
 * authorityRevocationList;binary) with every CRL given for it (one per CA key generation).
 * The repository's overlay decides; its answer is reported per entry. */
#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "crl_check.h"
#include "dn.h"

typedef struct crl_file {
	const char *path;
	struct berval der;
	X509_NAME *name;	/* the entry, from the IDP (jpki_crl_idp_name) */
	char *dn;		/* the same, as an LDAP DN */
	int arl;
	int entries;
	int done;
} crl_file;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki crl publish [LDAP options] FILE|DIR...\n"
		"Writes each CRL (DER or PEM; a DIR means its *.crl files) into the entry its\n"
		"issuingDistributionPoint names, replacing what is there with all the files given\n"
		"for that entry. Reports accepted or the repository's refusal per entry; exits 1 if\n"
		"any entry was refused.\n" CLI_LDAP_USAGE
		"  (bind defaults: $JPKI_PUBLISHER_DN and $JPKI_PUBLISHER_PASSWORD_FILE)\n");
}

static int load_crl(const char *path, crl_file *f, jpki_err *err)
{
	unsigned char *data;
	size_t len;
	const unsigned char *p;
	X509_CRL *crl = NULL;
	ISSUING_DIST_POINT *idp = NULL;
	jpki_err why;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	f->path = path;
	if (cli_read_file(path, &data, &len, err) < 0)
		return -1;
	if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
		BIO *b = BIO_new_mem_buf(data, (int)len);

		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
		free(data);
		data = NULL;
		if (crl != NULL) {
			int n = i2d_X509_CRL(crl, &data);

			len = n > 0 ? (size_t)n : 0;
		}
	} else {
		p = data;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
	}
	if (crl == NULL) {
		jpki_errf_ssl(err, "%s: not a CRL", path);
		goto out;
	}
	f->name = jpki_crl_idp_name(crl, &why);
	if (f->name == NULL) {
		jpki_errf(err, "%s: %s: which entry is it for?", path, why.text);
		goto out;
	}
	f->dn = jpki_x509_name_to_dn(f->name);
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL, NULL);
	if (f->dn == NULL || idp == NULL) {
		jpki_errf_ssl(err, "%s: cannot read the issuingDistributionPoint", path);
		goto out;
	}
	f->arl = idp->onlyCA != 0;
	f->entries = X509_CRL_get_REVOKED(crl) != NULL ? sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) : 0;
	f->der.bv_val = (char *)data;
	f->der.bv_len = len;
	data = NULL;
	rc = 0;
out:
	if (rc < 0) {
		X509_NAME_free(f->name);
		free(f->dn);
		f->name = NULL;
		f->dn = NULL;
	}
	ISSUING_DIST_POINT_free(idp);
	X509_CRL_free(crl);
	OPENSSL_free(data);
	return rc;
}

static int add_path(const char *path, crl_file **files, size_t *n, jpki_err *err);

static int add_dir(const char *dir, crl_file **files, size_t *n, jpki_err *err)
{
	struct dirent **names;
	int count = scandir(dir, &names, NULL, alphasort), i, rc = 0;
	char path[4096];

	if (count < 0)
		return jpki_errf(err, "%s: cannot read the directory", dir);
	for (i = 0; i < count; i++) {
		size_t l = strlen(names[i]->d_name);

		if (rc == 0 && names[i]->d_name[0] != '.' && l > 4 &&
		    strcmp(names[i]->d_name + l - 4, ".crl") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			rc = add_path(strdup(path), files, n, err);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int add_path(const char *path, crl_file **files, size_t *n, jpki_err *err)
{
	struct stat st;
	crl_file *grown;

	if (stat(path, &st) < 0)
		return jpki_errf(err, "%s: no such file or directory", path);
	if (S_ISDIR(st.st_mode))
		return add_dir(path, files, n, err);
	grown = realloc(*files, (*n + 1) * sizeof(**files));
	if (grown == NULL)
		return jpki_errf(err, "out of memory");
	*files = grown;
	if (load_crl(path, &grown[*n], err) < 0)
		return -1;
	(*n)++;
	return 0;
}

/* One modify for every file naming the same entry and attribute as files[first]. */
static int publish_entry(LDAP *ld, crl_file *files, size_t n, size_t first)
{
	struct berval **vals = calloc(n + 1, sizeof(*vals));
	const char *attr = files[first].arl ? "authorityRevocationList;binary" :
					      "certificateRevocationList;binary";
	LDAPMod mod = { LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, (char *)attr, { NULL } };
	LDAPMod *mods[2] = { &mod, NULL };
	char *diag = NULL;
	size_t i, k = 0;
	long revoked = 0;
	int rc;

	for (i = first; i < n; i++) {
		if (!files[i].done && files[i].arl == files[first].arl &&
		    X509_NAME_cmp(files[i].name, files[first].name) == 0) {
			vals[k++] = &files[i].der;
			revoked += files[i].entries;
			files[i].done = 1;
		}
	}
	mod.mod_bvalues = vals;
	rc = ldap_modify_ext_s(ld, files[first].dn, mods, NULL, NULL);
	if (rc == LDAP_SUCCESS) {
		printf("accepted %s (%s: %zu CRL%s, %ld revoked certificates)\n", files[first].dn, attr, k,
			k == 1 ? "" : "s", revoked);
	} else {
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		printf("refused  %s (%s): %s: %s\n", files[first].dn, files[first].path, ldap_err2string(rc),
			diag != NULL && *diag ? diag : "(no diagnostic)");
		ldap_memfree(diag);
	}
	free(vals);
	return rc == LDAP_SUCCESS ? 0 : -1;
}

int cmd_crl_publish(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LDAP_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	jpki_ldap_opts lo;
	crl_file *files = NULL;
	size_t n = 0, i, refused = 0, entries = 0;
	LDAP *ld = NULL;
	jpki_err err;
	int opt, rc = EXIT_REFUSED;

	cli_ldap_defaults(&lo);
	while ((opt = getopt_long(argc, argv, CLI_LDAP_SHORTOPTS "h", longopts, NULL)) != -1) {
		if (cli_ldap_option(&lo, opt, optarg))
			continue;
		usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? 0 : EXIT_USAGE;
	}
	cli_ldap_bind_defaults(&lo, cli_getenv("JPKI_PUBLISHER_DN"), cli_getenv("JPKI_PUBLISHER_PASSWORD_FILE"));
	if (optind == argc) {
		fprintf(stderr, "jpki crl publish: no CRL file or directory given\n");
		return EXIT_USAGE;
	}
	if (cli_ldap_check(&lo, "jpki crl publish") < 0)
		return EXIT_USAGE;
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (add_path(argv[i], &files, &n, &err) < 0)
			goto fail;
	if (n == 0) {
		jpki_errf(&err, "no CRL files given");
		goto fail;
	}
	if (jpki_ldap_connect(&lo, &ld, &err) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (files[i].done)
			continue;
		entries++;
		if (publish_entry(ld, files, n, i) < 0)
			refused++;
	}
	printf("%zu entr%s accepted, %zu refused\n", entries - refused, entries - refused == 1 ? "y" : "ies",
		refused);
	rc = refused ? EXIT_REFUSED : 0;
	goto out;
fail:
	fprintf(stderr, "jpki crl publish: %s\n", err.text);
out:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	for (i = 0; i < n; i++) {
		OPENSSL_free(files[i].der.bv_val);
		X509_NAME_free(files[i].name);
		free(files[i].dn);
	}
	free(files);
	return rc;
}
