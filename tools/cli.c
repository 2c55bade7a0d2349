#include "cli.h"

#include <errno.h>
#include <fcntl.h>
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

int cli_parse_duration(const char *text, long *out)
{
	char *end;
	long n = strtol(text, &end, 10), unit = 1;

	if (end == text || n <= 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0)
		unit = 60;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "d") == 0)
		unit = 86400;
	else
		return -1;
	*out = n * unit;
	return 0;
}

void cli_ldap_defaults(jpki_ldap_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->uri = getenv("JPKI_LDAP_URI");
	o->tls_ca_file = getenv("JPKI_TLS_CA");
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
