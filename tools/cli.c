#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_read_file(const char *path, unsigned char **data, size_t *len, jpki_err *err)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (fp == NULL)
		return jpki_errf(err, "%s: cannot open: %s", path, strerror(errno));
	do {
		if (n == cap) {
			unsigned char *grown = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (grown == NULL) {
				free(buf);
				fclose(fp);
				return jpki_errf(err, "%s: out of memory", path);
			}
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
	} while (got > 0);
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		return jpki_errf(err, "%s: read error", path);
	}
	fclose(fp);
	*data = buf;
	*len = n;
	return 0;
}

int cli_write_atomic(const char *dir, const char *name, const unsigned char *data, size_t len,
	jpki_err *err)
{
	char path[4096], tmp[4096];
	int fd;
	size_t off = 0;
	ssize_t w;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= (int)sizeof(tmp))
		return jpki_errf(err, "%s/%s: path too long", dir, name);
	fd = mkstemp(tmp);
	if (fd < 0)
		return jpki_errf(err, "%s: cannot create: %s", tmp, strerror(errno));
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0) {
			jpki_errf(err, "%s: write: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		jpki_errf(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cli_parse_number(const char *text, unsigned long long min, unsigned long long max,
	unsigned long long *out)
{
	unsigned long long n = 0;
	const char *p;

	/* Not strtoull: it takes blanks, a sign and "" and caps an overflow. */
	if (*text == '\0')
		return -1;
	for (p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

int cli_parse_duration(const char *text, long *out)
{
	static const struct { const char *suffix; long unit; } units[] = {
		{ "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }
	};
	char digits[32];
	size_t len = strspn(text, "0123456789"), i;
	unsigned long long n;

	if (len == 0 || len >= sizeof(digits))
		return -1;
	memcpy(digits, text, len);
	digits[len] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(text + len, units[i].suffix) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]) ||
	    cli_parse_number(digits, 1, (unsigned long long)(LONG_MAX / units[i].unit), &n) < 0)
		return -1;
	*out = (long)n * units[i].unit;
	return 0;
}

void cli_ldap_defaults(jpki_ldap_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->uri = cli_getenv("JPKI_LDAP_URI");
	o->tls_ca_file = cli_getenv("JPKI_TLS_CA");
}

int cli_ldap_option(jpki_ldap_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'H': o->uri = arg; return 1;
	case 'D': o->bind_dn = arg; return 1;
	case 'y': o->password_file = arg; return 1;
	case 'Z': o->starttls = 1; return 1;
	case 'C': o->tls_ca_file = arg; return 1;
	default: return 0;
	}
}

void cli_ldap_bind_defaults(jpki_ldap_opts *o, const char *dn, const char *password_file)
{
	if (o->bind_dn != NULL)
		return;
	o->bind_dn = dn;
	if (o->password_file == NULL)
		o->password_file = password_file;
}

int cli_ldap_check(const jpki_ldap_opts *o, const char *cmd)
{
	if (o->uri != NULL && o->uri[0] != '\0')
		return 0;
	fprintf(stderr, "%s: no LDAP server (--uri or $JPKI_LDAP_URI)\n", cmd);
	return -1;
}
