/* jpki verifier add | suspend | resume | terminate | list | show: the registry of verifiers
 * (署名検証者, 団体署名検証者) that may read user CRLs and ask OCSP (CPS 2-6-3, 2-8-3).
 * Runs as the operator identity; every entry is uid=<id>,<base>. */
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "digest.h"
#include "dn.h"
#include "ledger.h"
#include "registry_check.h"
#include "secret.h"
#include "verifier.h"

#define MAX_CERTS 8

typedef struct vopts {
	jpki_ldap_opts ldap;
	const char *base, *id, *type, *org, *mail, *phone, *password_file;
	const char *certs[MAX_CERTS];
	int ncerts;
	unsigned methods;
	time_t start, end;
	int has_start, has_end;
	const char *add_only;	/* the first option given that only add takes */
} vopts;

typedef struct cert_info {
	struct berval der;
	char *subject;
	char sha256[JPKI_SHA256_HEX_LEN + 1];
} cert_info;

static const char *const verbs[] = { "add", "suspend", "resume", "terminate", "list", "show" };

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki verifier add --id ID --type signature-verifier|group-signature-verifier\n"
		"                         --org NAME --start TIME --end TIME --method ldap|ocsp[,…]\n"
		"                         [--cert PEM]… [--mail ADDR] [--phone TEL] [--verifier-password-file F]\n"
		"       jpki verifier suspend|resume|terminate ID\n"
		"       jpki verifier list\n"
		"       jpki verifier show ID\n"
		"Times are UTC, YYYY-MM-DDTHH:MM:SSZ; the agreement includes both ends.\n"
		"Options of add only (refused with the other subcommands):\n"
		"  --id ID                  the verifier's uid and jpkiVerifierId, without DN special characters\n"
		"  --type TYPE              signature-verifier (署名検証者) or group-signature-verifier (団体署名検証者)\n"
		"  --org NAME               the organisation (o)\n"
		"  --start TIME             the first second of the agreement (jpkiAgreementStart)\n"
		"  --end TIME               the last second of the agreement, after --start (jpkiAgreementEnd)\n"
		"  --method M[,M]           ldap, ocsp or ldap,ocsp, any case (jpkiAllowedMethod)\n"
		"  --cert PEM               a certificate of the verifier (OCSP signing, TLS); up to %d\n"
		"  --mail ADDR              a mail address (mail)\n"
		"  --phone TEL              a telephone number (telephoneNumber)\n"
		"  --verifier-password-file F\n"
		"                           a file holding the verifier's LDAP password on one line\n"
		"Options of every subcommand:\n"
		"  --base DN                the registry (default $JPKI_VERIFIER_BASE, else \"%s\")\n"
		CLI_LDAP_USAGE
		"  (bind defaults: $JPKI_OPERATOR_DN and $JPKI_OPERATOR_PASSWORD_FILE)\n",
		MAX_CERTS, JPKI_DEFAULT_VERIFIER_BASE);
}

static int parse_methods(const char *text, unsigned *out)
{
	char *copy = strdup(text), *save = NULL, *w;
	unsigned m;

	*out = 0;
	if (copy == NULL)
		return -1;
	for (w = strtok_r(copy, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		m = jpki_method_parse(w, strlen(w));
		if (m == 0) {
			free(copy);
			return -1;
		}
		*out |= m;
	}
	free(copy);
	return *out ? 0 : -1;
}

static int parse_args(const char *verb, int argc, char **argv, vopts *o)
{
	static const struct option longopts[] = {
		CLI_LDAP_LONGOPTS,
		{ "base", required_argument, NULL, 'b' }, { "id", required_argument, NULL, 'i' },
		{ "type", required_argument, NULL, 't' }, { "org", required_argument, NULL, 'o' },
		{ "mail", required_argument, NULL, 'm' }, { "phone", required_argument, NULL, 'p' },
		{ "start", required_argument, NULL, 's' }, { "end", required_argument, NULL, 'e' },
		{ "method", required_argument, NULL, 'M' }, { "cert", required_argument, NULL, 'c' },
		{ "verifier-password-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int opt, index = 0;

	memset(o, 0, sizeof(*o));
	cli_ldap_defaults(&o->ldap);
	o->base = cli_getenv("JPKI_VERIFIER_BASE") ? cli_getenv("JPKI_VERIFIER_BASE") : JPKI_DEFAULT_VERIFIER_BASE;
	while ((opt = getopt_long(argc, argv, CLI_LDAP_SHORTOPTS "h", longopts, &index)) != -1) {
		if (cli_ldap_option(&o->ldap, opt, optarg))
			continue;
		/* Every long option but --base and --help is add's; named, not silently ignored,
		 * when another subcommand is given it. */
		if (opt != 'b' && opt != 'h' && opt != '?' && o->add_only == NULL)
			o->add_only = longopts[index].name;
		switch (opt) {
		case 'b': o->base = optarg; break;
		case 'i': o->id = optarg; break;
		case 't': o->type = optarg; break;
		case 'o': o->org = optarg; break;
		case 'm': o->mail = optarg; break;
		case 'p': o->phone = optarg; break;
		case 'P': o->password_file = optarg; break;
		case 's':
		case 'e':
			if (jpki_parse_utc(optarg, opt == 's' ? &o->start : &o->end) < 0) {
				fprintf(stderr, "jpki verifier: --%s '%s' is not YYYY-MM-DDTHH:MM:SSZ\n",
					opt == 's' ? "start" : "end", optarg);
				return -1;
			}
			*(opt == 's' ? &o->has_start : &o->has_end) = 1;
			break;
		case 'M':
			if (parse_methods(optarg, &o->methods) < 0) {
				fprintf(stderr, "jpki verifier: --method '%s': each method is ldap or ocsp\n", optarg);
				return -1;
			}
			break;
		case 'c':
			if (o->ncerts == MAX_CERTS) {
				fprintf(stderr, "jpki verifier: at most %d certificates\n", MAX_CERTS);
				return -1;
			}
			o->certs[o->ncerts++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (strcmp(verb, "add") != 0 && o->add_only != NULL) {
		fprintf(stderr, "jpki verifier %s: --%s is an option of verifier add only\n", verb, o->add_only);
		return -1;
	}
	cli_ldap_bind_defaults(&o->ldap, cli_getenv("JPKI_OPERATOR_DN"), cli_getenv("JPKI_OPERATOR_PASSWORD_FILE"));
	return 0;
}

static int entry_dn(const vopts *o, const char *id, char *out, size_t len)
{
	int n;

	/* Ids are plain: a DN special character would let an id name another entry. */
	if (strpbrk(id, ",+\"\\<>;=#*()") != NULL || *id == ' ' || *id == '\0')
		return -1;
	n = snprintf(out, len, "uid=%s,%s", id, o->base);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static void gentime(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y%m%d%H%M%SZ", &tm);
}

static int load_cert(const char *path, cert_info *ci, jpki_err *err)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len;

	BIO_free(b);
	if (x == NULL)
		return jpki_errf_ssl(err, "%s: not a PEM certificate", path);
	len = i2d_X509(x, &der);
	ci->subject = jpki_x509_name_to_dn(X509_get_subject_name(x));
	X509_free(x);
	if (len <= 0 || ci->subject == NULL)
		return jpki_errf(err, "%s: cannot encode", path);
	ci->der.bv_val = (char *)der;
	ci->der.bv_len = (ber_len_t)len;
	jpki_sha256_hex(der, (size_t)len, ci->sha256);
	return 0;
}

static const char *type_valid(const char *t)
{
	if (t != NULL && (strcmp(t, "signature-verifier") == 0 || strcmp(t, "group-signature-verifier") == 0))
		return t;
	return NULL;
}

/* LDAPMod helpers: string values and binary values. */
typedef struct modset {
	LDAPMod mods[16];
	LDAPMod *ptrs[17];
	char *strs[16][MAX_CERTS + 4];
	struct berval *bins[MAX_CERTS + 1];
	int n;
} modset;

static void mod_str(modset *m, const char *attr, const char *const *vals, int nvals)
{
	int i;

	for (i = 0; i < nvals; i++)
		m->strs[m->n][i] = (char *)vals[i];
	m->strs[m->n][nvals] = NULL;
	m->mods[m->n] = (LDAPMod){ LDAP_MOD_ADD, (char *)attr, { m->strs[m->n] } };
	m->ptrs[m->n] = &m->mods[m->n];
	m->n++;
	m->ptrs[m->n] = NULL;
}

static void mod_one(modset *m, const char *attr, const char *val)
{
	if (val != NULL)
		mod_str(m, attr, &val, 1);
}

static int report(LDAP *ld, int rc, const char *what)
{
	char *diag = NULL;

	if (rc == LDAP_SUCCESS)
		return 0;
	ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	fprintf(stderr, "jpki verifier: %s: %s%s%s\n", what, ldap_err2string(rc),
		diag && *diag ? ": " : "", diag && *diag ? diag : "");
	ldap_memfree(diag);
	return -1;
}

/* What add needs, checked before any connection: a usage error names what is wrong. */
static int check_add(const vopts *o, char *dn, size_t len)
{
	char start[32], end[32];
	jpki_verdict v;

	if (o->id == NULL || o->type == NULL || o->org == NULL) {
		fprintf(stderr, "jpki verifier add: --id, --type and --org are required (missing: %s)\n",
			o->id == NULL ? "--id" : o->type == NULL ? "--type" : "--org");
		return -1;
	}
	if (type_valid(o->type) == NULL) {
		fprintf(stderr, "jpki verifier add: --type '%s': signature-verifier or group-signature-verifier\n",
			o->type);
		return -1;
	}
	if (!o->has_start || !o->has_end) {
		fprintf(stderr, "jpki verifier add: the agreement period needs --start and --end\n");
		return -1;
	}
	gentime(o->start, start, sizeof(start));
	gentime(o->end, end, sizeof(end));
	if (jpki_registry_check_period(o->start, o->end, start, end, &v) < 0) {
		fprintf(stderr, "jpki verifier add: %s\n", v.text);
		return -1;
	}
	if (o->methods == 0) {
		fprintf(stderr, "jpki verifier add: --method is required: ldap, ocsp or ldap,ocsp\n");
		return -1;
	}
	if (entry_dn(o, o->id, dn, len) < 0) {
		fprintf(stderr, "jpki verifier add: id '%s' must be plain text without DN special characters\n", o->id);
		return -1;
	}
	return 0;
}

static int cmd_add(LDAP *ld, vopts *o, char *dn)
{
	cert_info certs[MAX_CERTS] = { { { 0, NULL }, NULL, "" } };
	const char *subjects[MAX_CERTS], *hashes[MAX_CERTS], *methods[2];
	char start[32], end[32];
	modset m = { .n = 0 };
	const char *ocs[] = { "top", "jpkiVerifier" };
	jpki_err err;
	int i, nm = 0, rc = -1;

	gentime(o->start, start, sizeof(start));
	gentime(o->end, end, sizeof(end));
	for (i = 0; i < o->ncerts; i++) {
		if (load_cert(o->certs[i], &certs[i], &err) < 0) {
			fprintf(stderr, "jpki verifier add: %s\n", err.text);
			goto out;
		}
		/* one certificate, one verifier: the repository's rule registry-unique answers */
		subjects[i] = certs[i].subject;
		hashes[i] = certs[i].sha256;
		m.bins[i] = &certs[i].der;
	}
	if (o->methods & JPKI_METHOD_LDAP)
		methods[nm++] = "ldap";
	if (o->methods & JPKI_METHOD_OCSP)
		methods[nm++] = "ocsp";
	mod_str(&m, "objectClass", ocs, 2);
	mod_one(&m, "uid", o->id);
	mod_one(&m, "jpkiVerifierId", o->id);
	mod_one(&m, "jpkiVerifierType", o->type);
	mod_one(&m, "jpkiVerifierStatus", "active");
	mod_one(&m, "jpkiAgreementStart", start);
	mod_one(&m, "jpkiAgreementEnd", end);
	mod_str(&m, "jpkiAllowedMethod", methods, nm);
	mod_one(&m, "o", o->org);
	mod_one(&m, "mail", o->mail);
	mod_one(&m, "telephoneNumber", o->phone);
	if (o->ncerts > 0) {
		mod_str(&m, "jpkiCertificateSubject", subjects, o->ncerts);
		mod_str(&m, "jpkiCertificateSHA256", hashes, o->ncerts);
		m.bins[o->ncerts] = NULL;
		m.mods[m.n] = (LDAPMod){ LDAP_MOD_ADD | LDAP_MOD_BVALUES, "userCertificate;binary", { NULL } };
		m.mods[m.n].mod_bvalues = m.bins;
		m.ptrs[m.n] = &m.mods[m.n];
		m.n++;
		m.ptrs[m.n] = NULL;
	}
	rc = ldap_add_ext_s(ld, dn, m.ptrs, NULL, NULL);
	if (rc == LDAP_ALREADY_EXISTS) {
		fprintf(stderr, "jpki verifier add: verifier '%s' is already registered\n", o->id);
		rc = -1;
		goto out;
	}
	if (report(ld, rc, dn) < 0) {
		rc = -1;
		goto out;
	}
	if (o->password_file != NULL) {
		char pw[512];
		struct berval user = { strlen(dn), dn }, newpw, generated = { 0, NULL };

		if (jpki_secret_read("password file", o->password_file, pw, sizeof(pw), &err) < 0) {
			fprintf(stderr, "jpki verifier add: %s (the entry was added without a password)\n", err.text);
			rc = -1;
			goto out;
		}
		newpw.bv_val = pw;
		newpw.bv_len = strlen(pw);
		/* The password modify operation: the server stores only its hash. */
		rc = ldap_passwd_s(ld, &user, NULL, &newpw, &generated, NULL, NULL);
		memset(pw, 0, sizeof(pw));
		ber_memfree(generated.bv_val);
		if (report(ld, rc, "setting the password") < 0) {
			rc = -1;
			goto out;
		}
	}
	printf("added %s (%s, %s to %s)\n", dn, o->type, start, end);
	rc = 0;
out:
	for (i = 0; i < o->ncerts; i++) {
		OPENSSL_free(certs[i].der.bv_val);
		free(certs[i].subject);
	}
	return rc;
}

/* The entry of ID, or NULL with a clear message. */
static LDAPMessage *find(LDAP *ld, const vopts *o, const char *id, char *dn, size_t len, LDAPMessage **res)
{
	LDAPMessage *e = NULL;
	int rc;

	if (entry_dn(o, id, dn, len) < 0) {
		fprintf(stderr, "jpki verifier: no verifier '%s'\n", id);
		return NULL;
	}
	rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=jpkiVerifier)", NULL, 0, NULL, NULL,
		NULL, 0, res);
	if (rc == LDAP_NO_SUCH_OBJECT || (rc == LDAP_SUCCESS && (e = ldap_first_entry(ld, *res)) == NULL)) {
		fprintf(stderr, "jpki verifier: no verifier '%s' in %s\n", id, o->base);
		return NULL;
	}
	if (report(ld, rc, dn) < 0)
		return NULL;
	return e;
}

static char *first(LDAP *ld, LDAPMessage *e, const char *attr, char *buf, size_t len)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);

	snprintf(buf, len, "%.*s", v ? (int)v[0]->bv_len : 1, v ? v[0]->bv_val : "-");
	ldap_value_free_len(v);
	return buf;
}

static const struct berval *first_of(struct berval **v)
{
	return v != NULL && v[0] != NULL ? v[0] : NULL;
}

/* The listing shows the access decision; what made the state unreadable is not printed. */
static void state_of(LDAP *ld, LDAPMessage *e, jpki_verifier_state *s)
{
	struct berval **st = ldap_get_values_len(ld, e, "jpkiVerifierStatus");
	struct berval **a = ldap_get_values_len(ld, e, "jpkiAgreementStart");
	struct berval **b = ldap_get_values_len(ld, e, "jpkiAgreementEnd");
	struct berval **m = ldap_get_values_len(ld, e, "jpkiAllowedMethod");

	jpki_verifier_state_from_values(s, first_of(st), first_of(a), first_of(b), m, NULL);
	ldap_value_free_len(st);
	ldap_value_free_len(a);
	ldap_value_free_len(b);
	ldap_value_free_len(m);
}

static int cmd_status(LDAP *ld, vopts *o, const char *verb, const char *id)
{
	static const char *const target[] = { "suspend", "suspended", "resume", "active", "terminate", "terminated" };
	const char *to = NULL;
	char dn[1024], now[64];
	char *vals[2] = { NULL, NULL };
	LDAPMod mod = { LDAP_MOD_REPLACE, "jpkiVerifierStatus", { vals } }, *mods[2] = { &mod, NULL };
	LDAPMessage *res = NULL, *e;
	jpki_verdict v;
	int i, rc = -1;

	for (i = 0; i < 6; i += 2)
		if (strcmp(verb, target[i]) == 0)
			to = target[i + 1];
	if ((e = find(ld, o, id, dn, sizeof(dn), &res)) == NULL)
		goto out;
	first(ld, e, "jpkiVerifierStatus", now, sizeof(now));
	if (jpki_registry_check_status(jpki_verifier_status_parse(now, strlen(now)),
		    jpki_verifier_status_parse(to, strlen(to)), &v) < 0) {
		fprintf(stderr, "jpki verifier %s: '%s': %s\n", verb, id, v.text);
		goto out;
	}
	if (strcasecmp(now, to) == 0) {
		printf("%s is already %s\n", id, to);
		rc = 0;
		goto out;
	}
	vals[0] = (char *)to;
	if (report(ld, ldap_modify_ext_s(ld, dn, mods, NULL, NULL), dn) < 0)
		goto out;
	printf("%s: %s -> %s\n", id, now, to);
	rc = 0;
out:
	ldap_msgfree(res);
	return rc;
}

static void print_access(LDAP *ld, LDAPMessage *e, char *out, size_t len)
{
	jpki_verifier_state s;
	char why[160];
	time_t now = time(NULL);
	int l, c;

	state_of(ld, e, &s);
	l = jpki_verifier_allows(&s, JPKI_METHOD_LDAP, now, why, sizeof(why));
	c = jpki_verifier_allows(&s, JPKI_METHOD_OCSP, now, NULL, 0);

	snprintf(out, len, "ldap %s, ocsp %s%s%s", l ? "yes" : "no", c ? "yes" : "no",
		(!l && !c) ? " — " : "", (!l && !c) ? why : "");
}

static int cmd_list(LDAP *ld, vopts *o)
{
	LDAPMessage *res = NULL, *e;
	char id[128], type[64], status[32], st[32], en[32], org[128], access[256];
	int rc = ldap_search_ext_s(ld, o->base, LDAP_SCOPE_ONELEVEL, "(objectClass=jpkiVerifier)", NULL, 0,
		NULL, NULL, NULL, 0, &res);

	if (report(ld, rc, o->base) < 0) {
		ldap_msgfree(res);
		return -1;
	}
	printf("%-16s %-25s %-10s %-16s %-16s %-24s %s\n", "id", "type", "status", "start", "end", "org", "access now");
	for (e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
		print_access(ld, e, access, sizeof(access));
		printf("%-16s %-25s %-10s %-16s %-16s %-24s %s\n", first(ld, e, "uid", id, sizeof(id)),
			first(ld, e, "jpkiVerifierType", type, sizeof(type)),
			first(ld, e, "jpkiVerifierStatus", status, sizeof(status)),
			first(ld, e, "jpkiAgreementStart", st, sizeof(st)),
			first(ld, e, "jpkiAgreementEnd", en, sizeof(en)),
			first(ld, e, "o", org, sizeof(org)), access);
	}
	ldap_msgfree(res);
	return 0;
}

static int cmd_show(LDAP *ld, vopts *o, const char *id)
{
	static const char *const attrs[] = { "uid", "jpkiVerifierType", "jpkiVerifierStatus",
		"jpkiAgreementStart", "jpkiAgreementEnd", "jpkiAllowedMethod", "o", "mail",
		"telephoneNumber", "jpkiCertificateSubject", "jpkiCertificateSHA256", NULL };
	LDAPMessage *res = NULL, *e;
	struct berval **v;
	char dn[1024], access[256];
	int i, j, rc = -1;

	if ((e = find(ld, o, id, dn, sizeof(dn), &res)) != NULL) {
		printf("dn: %s\n", dn);
		for (i = 0; attrs[i] != NULL; i++) {
			v = ldap_get_values_len(ld, e, attrs[i]);
			for (j = 0; v != NULL && v[j] != NULL; j++)
				printf("%s: %.*s\n", attrs[i], (int)v[j]->bv_len, v[j]->bv_val);
			ldap_value_free_len(v);
		}
		print_access(ld, e, access, sizeof(access));
		printf("access now: %s\n", access);
		rc = 0;
	}
	ldap_msgfree(res);
	return rc;
}

int cmd_verifier(int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : NULL;
	vopts o;
	LDAP *ld = NULL;
	jpki_err err;
	char dn[1024];
	size_t i;
	int rc, operands;

	if (verb == NULL || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		if (verb == NULL)
			fprintf(stderr, "jpki verifier: a subcommand is needed\n");
		usage(verb ? stdout : stderr);
		return verb ? 0 : EXIT_USAGE;
	}
	/* Everything that makes a usage error is found before any connection. */
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]) && strcmp(verb, verbs[i]) != 0; i++)
		;
	if (i == sizeof(verbs) / sizeof(verbs[0])) {
		fprintf(stderr, "jpki verifier: no subcommand '%s'\n", verb);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (parse_args(verb, argc - 1, argv + 1, &o) < 0)
		return EXIT_USAGE;
	operands = argc - 1 - optind;
	if (strcmp(verb, "add") == 0 || strcmp(verb, "list") == 0) {
		if (operands > 0) {
			fprintf(stderr, "jpki verifier %s: unexpected argument '%s'\n", verb, argv[optind + 1]);
			return EXIT_USAGE;
		}
	} else if (operands != 1) {
		fprintf(stderr, "jpki verifier %s: give one verifier id%s%s%s\n", verb,
			operands > 1 ? " (unexpected argument '" : "", operands > 1 ? argv[optind + 2] : "",
			operands > 1 ? "')" : "");
		return EXIT_USAGE;
	}
	if (strcmp(verb, "add") == 0 && check_add(&o, dn, sizeof(dn)) < 0)
		return EXIT_USAGE;
	if (cli_ldap_check(&o.ldap, "jpki verifier") < 0)
		return EXIT_USAGE;
	if (jpki_ldap_connect(&o.ldap, &ld, &err) < 0) {
		fprintf(stderr, "jpki verifier: %s\n", err.text);
		return EXIT_REFUSED;
	}
	if (strcmp(verb, "add") == 0)
		rc = cmd_add(ld, &o, dn);
	else if (strcmp(verb, "list") == 0)
		rc = cmd_list(ld, &o);
	else if (strcmp(verb, "show") == 0)
		rc = cmd_show(ld, &o, argv[optind + 1]);
	else
		rc = cmd_status(ld, &o, verb, argv[optind + 1]);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc < 0 ? EXIT_REFUSED : 0;
}
