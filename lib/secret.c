#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Up to len bytes of fd; a short count only at end of file. */
static ssize_t read_all(int fd, char *p, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int jpki_secret_read(const char *label, const char *path, char *buf, size_t size, jpki_err *err)
{
	/* Room for the longest secret, its "\r\n", and one byte more to see a longer file. */
	size_t room = size + 2, len;
	ssize_t got;
	char *tmp;
	int fd, e, rc;

	if (size > 0)
		buf[0] = '\0';
	/* open/read, not stdio: no FILE buffer is left holding the secret after fclose. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jpki_errf(err, "%s %s: %s", label, path, strerror(errno));
	tmp = OPENSSL_malloc(room);
	if (tmp == NULL) {
		close(fd);
		return jpki_errf(err, "%s %s: out of memory", label, path);
	}
	got = read_all(fd, tmp, room);
	e = errno;
	close(fd);
	if (got < 0) {
		OPENSSL_clear_free(tmp, room);
		return jpki_errf(err, "%s %s: read failed: %s", label, path, strerror(e));
	}
	len = (size_t)got;
	if (len > 0 && tmp[len - 1] == '\n')
		len--;
	if (len > 0 && tmp[len - 1] == '\r')
		len--;
	if (len >= size)
		rc = jpki_errf(err, "%s %s: longer than %zu bytes", label, path, size - 1);
	else if (len == 0)
		rc = jpki_errf(err, "%s %s: empty", label, path);
	else if (memchr(tmp, '\0', len) != NULL)
		rc = jpki_errf(err, "%s %s: contains a NUL byte", label, path);
	else if (memchr(tmp, '\n', len) != NULL || memchr(tmp, '\r', len) != NULL)
		rc = jpki_errf(err, "%s %s: more than one line", label, path);
	else {
		memcpy(buf, tmp, len);
		buf[len] = '\0';
		rc = 0;
	}
	OPENSSL_clear_free(tmp, room);
	return rc;
}
