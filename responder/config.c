/* jpki-ocspd configuration: defaults, the "name = value" file and the matching command-line
 * options. One table names every setting once; the file, getopt_long and --check all use it. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dn.h"
#include "ocspd.h"

#ifndef OCSPD_LOCALSTATEDIR
#define OCSPD_LOCALSTATEDIR "/var"
#endif

enum type { T_STR, T_FILE, T_LISTEN, T_PATH, T_UNSIGNED, T_SIZE, T_LONG, T_BOOL, T_ANCHOR, T_NETWORK, T_LOGLEVEL };
enum unit { U_NONE, U_BYTES, U_SECONDS };

typedef struct setting {
	const char *name;
	enum type type;
	enum unit unit;
	size_t off;
	unsigned long long min, max;
} setting;

#define F(field) offsetof(ocspd_config, field)
static const setting settings[] = {
	{ "listen", T_LISTEN, U_NONE, F(listen), 0, 0 },
	{ "port", T_UNSIGNED, U_NONE, F(port), 1, 65535 },
	{ "https-port", T_UNSIGNED, U_NONE, F(https_port), 0, 65535 },
	{ "https-cert", T_FILE, U_NONE, F(https_cert), 0, 0 },
	{ "https-key", T_FILE, U_NONE, F(https_key), 0, 0 },
	{ "https-client-ca", T_FILE, U_NONE, F(https_client_ca), 0, 0 },
	{ "threads", T_UNSIGNED, U_NONE, F(threads), 1, 1024 },
	{ "max-connections", T_UNSIGNED, U_NONE, F(max_connections), 1, 1000000 },
	{ "max-per-ip", T_UNSIGNED, U_NONE, F(max_per_ip), 0, 1000000 },
	{ "timeout", T_UNSIGNED, U_SECONDS, F(timeout), 1, 3600 },
	{ "max-request", T_SIZE, U_BYTES, F(max_request), 64, (size_t)16 << 20 },
	{ "path", T_PATH, U_NONE, F(path), 0, 0 },
	{ "ldap-uri", T_STR, U_NONE, F(ldap_uri), 0, 0 },
	{ "bind-dn", T_STR, U_NONE, F(bind_dn), 0, 0 },
	{ "password-file", T_FILE, U_NONE, F(password_file), 0, 0 },
	{ "ldap-tls-ca", T_FILE, U_NONE, F(ldap_tls_ca), 0, 0 },
	{ "ca-dn", T_STR, U_NONE, F(ca_dn), 0, 0 },
	{ "verifier-base", T_STR, U_NONE, F(verifier_base), 0, 0 },
	{ "sync-heartbeat", T_UNSIGNED, U_SECONDS, F(sync_heartbeat), 1, 3600 },
	{ "registry-max-age", T_LONG, U_SECONDS, F(registry_max_age), 0, 366L * 86400 },
	{ "trust-anchor", T_ANCHOR, U_NONE, 0, 0, 0 },
	{ "state-dir", T_FILE, U_NONE, F(state_dir), 0, 0 },
	{ "key-uri", T_STR, U_NONE, F(key_uri), 0, 0 },
	{ "pin-file", T_FILE, U_NONE, F(pin_file), 0, 0 },
	{ "responder-cert", T_FILE, U_NONE, F(responder_cert), 0, 0 },
	{ "max-certids", T_UNSIGNED, U_NONE, F(max_certids), 1, 10000 },
	{ "cache-max-age", T_LONG, U_SECONDS, F(cache_max_age), 0, 31L * 86400 },
	{ "require-signature", T_BOOL, U_NONE, F(require_signature), 0, 0 },
	{ "allow-network", T_NETWORK, U_NONE, 0, 0, 0 },
	{ "clock-skew", T_LONG, U_SECONDS, F(policy.clock_skew), 0, 86400 },
	{ "max-crl-validity", T_LONG, U_SECONDS, F(policy.max_validity), 1, 366L * 86400 },
	{ "max-crl-size", T_SIZE, U_BYTES, F(policy.max_size), 1024, (size_t)1 << 31 },
	{ "audit-dir", T_FILE, U_NONE, F(audit_dir), 0, 0 },
	{ "audit-policy", T_STR, U_NONE, F(audit_policy), 0, 0 },
	{ "audit-group-wait", T_UNSIGNED, U_NONE, F(audit_group_wait_ms), 0, 1000 },
	{ "audit-checkpoint-key", T_STR, U_NONE, F(audit_checkpoint_key), 0, 0 },
	{ "audit-checkpoint-cert", T_FILE, U_NONE, F(audit_checkpoint_cert), 0, 0 },
	{ "audit-checkpoint-pin-file", T_FILE, U_NONE, F(audit_checkpoint_pin), 0, 0 },
	{ "pid-file", T_FILE, U_NONE, F(pid_file), 0, 0 },
	{ "log-level", T_LOGLEVEL, U_NONE, F(log_level), 0, 0 },
};
#undef F
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* getopt_long values of the options that are not settings. */
enum { OPT_VERSION = 1000, OPT_CHECK, OPT_SETTING = 2000 };

static const struct {
	const char *name;
	int level;
} levels[] = {
	{ "err", OCSPD_LOG_ERR }, { "error", OCSPD_LOG_ERR }, { "warning", OCSPD_LOG_WARNING },
	{ "info", OCSPD_LOG_INFO }, { "debug", OCSPD_LOG_DEBUG },
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL) {
		fprintf(stderr, "jpki-ocspd: out of memory\n");
		abort();
	}
	return d;
}

void ocspd_config_defaults(ocspd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = xstrdup("127.0.0.1");
	c->port = 8080;
	c->threads = 4;
	c->max_connections = 1024;
	c->max_per_ip = 64;
	c->timeout = 10;
	c->max_request = 65536;
	c->path = xstrdup("/");
	c->ldap_uri = xstrdup("ldapi:///");
	c->bind_dn = xstrdup("cn=responder," JPKI_DEFAULT_SERVICES_DN);
	c->ca_dn = xstrdup(JPKI_DEFAULT_CA_DN);
	c->verifier_base = xstrdup(JPKI_DEFAULT_VERIFIER_BASE);
	c->sync_heartbeat = 30;
	c->registry_max_age = 86400;	/* the CRLs' own rhythm: a new one every 24 h (CPS 4-4-9) */
	c->state_dir = xstrdup(OCSPD_LOCALSTATEDIR "/lib/jpki-ocspd");
	jpki_crl_policy_default(&c->policy);
	c->max_certids = 16;
	c->cache_max_age = 300;
	c->audit_group_wait_ms = 2;
	c->require_signature = true;
	c->log_level = OCSPD_LOG_INFO;
}

static void free_anchors(ocspd_config *c)
{
	for (size_t i = 0; i < c->nanchors; i++)
		free(c->anchors[i]);
	free(c->anchors);
	c->anchors = NULL;
	c->nanchors = 0;
}

void ocspd_config_free(ocspd_config *c)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting *s = &settings[i];

		if (s->type == T_STR || s->type == T_FILE || s->type == T_LISTEN || s->type == T_PATH)
			free(*(char **)((char *)c + s->off));
	}
	free_anchors(c);
	free(c->allow);
	free(c->config_file);
	memset(c, 0, sizeof(*c));
}

/* ---- values ---- */

static int parse_number(const char *v, const setting *s, unsigned long long *out, char *why, size_t whylen)
{
	unsigned long long n, mult = 1;
	char *end;
	const char *units = s->unit == U_BYTES ? " (suffix k, M or G allowed)"
		: s->unit == U_SECONDS ? " (seconds; suffix s, m, h or d allowed)" : "";

	if (!isdigit((unsigned char)v[0])) {
		snprintf(why, whylen, "'%s' is not a number%s", v, units);
		return -1;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == ERANGE) {
		snprintf(why, whylen, "'%s' is out of range (%llu-%llu)", v, s->min, s->max);
		return -1;
	}
	if (*end != '\0') {
		char u = end[1] == '\0' ? end[0] : '\0';

		if (s->unit == U_BYTES && (u == 'k' || u == 'K'))
			mult = 1024;
		else if (s->unit == U_BYTES && u == 'M')
			mult = 1024 * 1024;
		else if (s->unit == U_BYTES && u == 'G')
			mult = 1024 * 1024 * 1024;
		else if (s->unit == U_SECONDS && u == 's')
			mult = 1;
		else if (s->unit == U_SECONDS && u == 'm')
			mult = 60;
		else if (s->unit == U_SECONDS && u == 'h')
			mult = 3600;
		else if (s->unit == U_SECONDS && u == 'd')
			mult = 86400;
		else {
			snprintf(why, whylen, "'%s' is not a number%s", v, units);
			return -1;
		}
	}
	if (n > ULLONG_MAX / mult || n * mult < s->min || n * mult > s->max) {
		snprintf(why, whylen, "'%s' is out of range (%llu-%llu)", v, s->min, s->max);
		return -1;
	}
	*out = n * mult;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* An IPv4 or IPv6 literal, IPv6 optionally in brackets; stored without them. */
static int parse_listen(const char *v, char **out)
{
	unsigned char buf[16];
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '[' && v[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, v + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, buf) != 1)
			return -1;
		*out = xstrdup(tmp);
		return 0;
	}
	if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
		return -1;
	*out = xstrdup(v);
	return 0;
}

/* "a.b.c.d[/n]" or "x:y::z[/n]"; without a prefix, the single host. */
static int parse_network(const char *v, ocspd_network *net, char *why, size_t whylen)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	unsigned bits;

	memset(net, 0, sizeof(*net));
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, net->addr) == 1) {
		net->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, addr, net->addr) == 1) {
		net->family = AF_INET6;
		bits = 128;
	} else
		goto bad;
	net->prefix = bits;
	if (slash != NULL) {
		char *end;
		unsigned long p;

		if (!isdigit((unsigned char)slash[1]))
			goto bad;
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || p > bits)
			goto bad;
		net->prefix = (unsigned)p;
	}
	for (unsigned i = net->prefix; i < bits; i++)
		if (net->addr[i / 8] & (0x80u >> (i % 8))) {
			snprintf(why, whylen, "'%s' has address bits set beyond the prefix /%u", v, net->prefix);
			return -1;
		}
	return 0;
bad:
	snprintf(why, whylen, "'%s' is not an IPv4 or IPv6 network (address/prefix)", v);
	return -1;
}

bool ocspd_network_contains(const ocspd_network *n, const struct sockaddr *sa)
{
	const unsigned char *a;
	int family;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		/* An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a = a6->s6_addr + 12;
		} else {
			family = AF_INET6;
			a = a6->s6_addr;
		}
	} else
		return false;
	if (family != n->family)
		return false;
	unsigned full = n->prefix / 8, rest = n->prefix % 8;
	if (memcmp(a, n->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xFFu << (8 - rest));
	return (a[full] & mask) == (n->addr[full] & mask);
}

/* A file name made absolute against the directory the process started in (remembered at the
 * first call): the daemon works from "/", and SIGHUP reads the same names again. */
static char *absolute(const char *v)
{
	static char *start_dir;
	char *out;

	if (v[0] == '/')
		return xstrdup(v);
	if (start_dir == NULL && (start_dir = getcwd(NULL, 0)) == NULL)
		start_dir = xstrdup("/");
	if (asprintf(&out, "%s/%s", strcmp(start_dir, "/") == 0 ? "" : start_dir, v) < 0) {
		fprintf(stderr, "jpki-ocspd: out of memory\n");
		abort();
	}
	return out;
}

static int add_anchor(ocspd_config *c, const char *v)
{
	char **a = realloc(c->anchors, (c->nanchors + 1) * sizeof(*a));

	if (a == NULL)
		return -1;
	c->anchors = a;
	a[c->nanchors++] = absolute(v);
	return 0;
}

static int add_network(ocspd_config *c, const ocspd_network *n)
{
	ocspd_network *a = realloc(c->allow, (c->nallow + 1) * sizeof(*a));

	if (a == NULL)
		return -1;
	c->allow = a;
	a[c->nallow++] = *n;
	return 0;
}

/* Sets one setting from its text. first: the first time a repeatable setting appears in this
 * source (file or command line), which replaces what an earlier source gave. */
static int set_value(ocspd_config *c, const setting *s, const char *v, bool first, char *why, size_t whylen)
{
	void *field = (char *)c + s->off;
	unsigned long long n;

	switch (s->type) {
	case T_STR:
		free(*(char **)field);
		*(char **)field = v[0] == '\0' ? NULL : xstrdup(v);
		return 0;
	case T_FILE:
		free(*(char **)field);
		*(char **)field = v[0] == '\0' ? NULL : absolute(v);
		return 0;
	case T_LISTEN: {
		char *addr;

		if (parse_listen(v, &addr) < 0) {
			snprintf(why, whylen, "'%s' is not an IPv4 or IPv6 address", v);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = addr;
		return 0;
	}
	case T_PATH:
		if (v[0] != '/' || strpbrk(v, "?#% \t") != NULL) {
			snprintf(why, whylen, "'%s' is not a URL path (it starts with '/', without '?', '#', '%%' or blanks)", v);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case T_UNSIGNED:
		if (parse_number(v, s, &n, why, whylen) < 0)
			return -1;
		*(unsigned *)field = (unsigned)n;
		return 0;
	case T_SIZE:
		if (parse_number(v, s, &n, why, whylen) < 0)
			return -1;
		*(size_t *)field = (size_t)n;
		return 0;
	case T_LONG:
		if (parse_number(v, s, &n, why, whylen) < 0)
			return -1;
		*(long *)field = (long)n;
		return 0;
	case T_BOOL:
		if (parse_bool(v, (bool *)field) < 0) {
			snprintf(why, whylen, "'%s' is not yes or no", v);
			return -1;
		}
		return 0;
	case T_LOGLEVEL:
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (strcasecmp(v, levels[i].name) == 0) {
				*(int *)field = levels[i].level;
				return 0;
			}
		snprintf(why, whylen, "'%s' is not one of err, warning, info, debug", v);
		return -1;
	case T_ANCHOR:
		if (v[0] == '\0') {
			snprintf(why, whylen, "an empty file name");
			return -1;
		}
		if (first)
			free_anchors(c);
		if (add_anchor(c, v) < 0) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		return 0;
	case T_NETWORK: {
		ocspd_network net;

		if (parse_network(v, &net, why, whylen) < 0)
			return -1;
		if (first) {
			free(c->allow);
			c->allow = NULL;
			c->nallow = 0;
		}
		if (add_network(c, &net) < 0) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		return 0;
	}
	}
	return -1;
}

static const setting *find_setting(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static bool repeatable(const setting *s)
{
	return s->type == T_ANCHOR || s->type == T_NETWORK;
}

/* ---- the file ---- */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int ocspd_config_load(ocspd_config *c, const char *path, char *err, size_t errlen)
{
	unsigned lines_seen[NSETTINGS] = { 0 };
	char *line = NULL, why[512];
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *name, *value, *eq;
		const setting *s;

		lineno++;
		name = trim(line);
		if (name[0] == '\0' || name[0] == '#')
			continue;
		eq = strchr(name, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'name = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		name = trim(name);
		value = trim(eq + 1);
		size_t vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		s = find_setting(name);
		if (s == NULL) {
			snprintf(err, errlen, "%s:%u: unknown setting '%s'", path, lineno, name);
			rc = -1;
			break;
		}
		size_t idx = (size_t)(s - settings);
		if (!repeatable(s) && lines_seen[idx] != 0) {
			snprintf(err, errlen, "%s:%u: %s is already set on line %u", path, lineno, name,
				lines_seen[idx]);
			rc = -1;
			break;
		}
		if (set_value(c, s, value, lines_seen[idx] == 0, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, name, why);
			rc = -1;
			break;
		}
		lines_seen[idx] = lineno;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	if (rc == 0) {
		free(c->config_file);
		c->config_file = absolute(path);
	}
	return rc;
}

/* ---- the command line ---- */

static const char *arg_name(const char *arg)
{
	return arg != NULL ? arg : "(none)";
}

int ocspd_config_args(ocspd_config *c, int argc, char **argv, char *err, size_t errlen)
{
	struct option opts[NSETTINGS + 6];
	bool seen[NSETTINGS] = { false };
	char why[512];
	size_t i;
	int ch, idx;

	for (i = 0; i < NSETTINGS; i++)
		opts[i] = (struct option){ settings[i].name, required_argument, NULL, OPT_SETTING + (int)i };
	opts[i++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[i++] = (struct option){ "foreground", no_argument, NULL, 'f' };
	opts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[i++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	opts[i++] = (struct option){ "check", no_argument, NULL, OPT_CHECK };
	opts[i] = (struct option){ NULL, 0, NULL, 0 };

	optind = 0;	/* glibc: start afresh (SIGHUP parses the same argv again) */
	opterr = 0;
	for (;;) {
		const char *opt;

		idx = -1;
		if ((ch = getopt_long(argc, argv, "+:c:fh", opts, &idx)) == -1)
			break;
		/* The option's own word: before its value when the value was a separate word. */
		opt = optarg != NULL && optind >= 2 && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
		if (idx >= 0 && opt != NULL && strncmp(opt, "--", 2) == 0) {
			size_t n = strlen(opts[idx].name);

			/* No abbreviations: main reads -c, -f and --check before this, by whole names. */
			if (strncmp(opt + 2, opts[idx].name, n) != 0 || (opt[2 + n] != '\0' && opt[2 + n] != '=')) {
				snprintf(err, errlen, "option %.*s: write the whole name --%s", (int)strcspn(opt, "="), opt,
					opts[idx].name);
				return -1;
			}
		}

		switch (ch) {
		case 'c':
			/* Read by main before anything else; only recorded here. */
			free(c->config_file);
			c->config_file = absolute(optarg);
			break;
		case 'f':
		case 'h':
		case OPT_VERSION:
		case OPT_CHECK:
			break;	/* main's */
		case ':':
			snprintf(err, errlen, "option %s needs a value", arg_name(opt));
			return -1;
		case '?':
			if (optopt != 0)
				snprintf(err, errlen, "unknown option -%c", optopt);
			else
				snprintf(err, errlen, "unknown option %s", arg_name(opt));
			return -1;
		default: {
			size_t k = (size_t)(ch - OPT_SETTING);

			if (ch < OPT_SETTING || k >= NSETTINGS) {
				snprintf(err, errlen, "unknown option %s", arg_name(opt));
				return -1;
			}
			if (set_value(c, &settings[k], optarg, !seen[k], why, sizeof(why)) < 0) {
				snprintf(err, errlen, "option --%s: %s", settings[k].name, why);
				return -1;
			}
			seen[k] = true;
		}
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (settings are given as --name value)", argv[optind]);
		return -1;
	}
	/* What only makes sense together; checked once every source has been read. */
	if (!ocspd_registry_max_age_fits(c->registry_max_age, c->sync_heartbeat)) {
		snprintf(err, errlen, "registry-max-age %ld must be 0 or more than twice sync-heartbeat (%u) and 10 s",
			c->registry_max_age, c->sync_heartbeat);
		return -1;
	}
	if (c->https_port != 0) {
		if (c->https_cert == NULL || c->https_key == NULL || c->https_client_ca == NULL) {
			snprintf(err, errlen, "https-port %u needs https-cert, https-key and https-client-ca", c->https_port);
			return -1;
		}
		if (c->https_port == c->port) {
			snprintf(err, errlen, "https-port and port are both %u", c->port);
			return -1;
		}
	}
	return 0;
}

/* A healthy connection confirms the registry every sync-heartbeat seconds, and a silent one is
 * dropped after twice that and 10 s: below, answers would come and go. */
bool ocspd_registry_max_age_fits(long registry_max_age, unsigned sync_heartbeat)
{
	return registry_max_age == 0 || registry_max_age > 2 * (long)sync_heartbeat + 10;
}

/* ---- --check ---- */

void ocspd_config_print(const ocspd_config *c, FILE *out)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting *s = &settings[i];
		const void *field = (const char *)c + s->off;
		char addr[INET6_ADDRSTRLEN];

		switch (s->type) {
		case T_STR:
		case T_FILE:
		case T_LISTEN:
		case T_PATH:
			if (*(char *const *)field != NULL)
				fprintf(out, "%s = %s\n", s->name, *(char *const *)field);
			else
				fprintf(out, "# %s (not set)\n", s->name);
			break;
		case T_UNSIGNED:
			fprintf(out, "%s = %u\n", s->name, *(const unsigned *)field);
			break;
		case T_SIZE:
			fprintf(out, "%s = %zu\n", s->name, *(const size_t *)field);
			break;
		case T_LONG:
			fprintf(out, "%s = %ld\n", s->name, *(const long *)field);
			break;
		case T_BOOL:
			fprintf(out, "%s = %s\n", s->name, *(const bool *)field ? "yes" : "no");
			break;
		case T_LOGLEVEL: {
			const char *name = "info";

			for (size_t k = 0; k < sizeof(levels) / sizeof(levels[0]); k++)
				if (levels[k].level == *(const int *)field && strcmp(levels[k].name, "error") != 0)
					name = levels[k].name;
			fprintf(out, "%s = %s\n", s->name, name);
			break;
		}
		case T_ANCHOR:
			if (c->nanchors == 0)
				fprintf(out, "# %s (none)\n", s->name);
			for (size_t k = 0; k < c->nanchors; k++)
				fprintf(out, "%s = %s\n", s->name, c->anchors[k]);
			break;
		case T_NETWORK:
			if (c->nallow == 0)
				fprintf(out, "# %s (none)\n", s->name);
			for (size_t k = 0; k < c->nallow; k++) {
				inet_ntop(c->allow[k].family, c->allow[k].addr, addr, sizeof(addr));
				fprintf(out, "%s = %s/%u\n", s->name, addr, c->allow[k].prefix);
			}
			break;
		}
	}
}
