/* A secret kept alone in a file (an LDAP password, a token PIN): read the one strict way. */
#ifndef JPKI_SECRET_H
#define JPKI_SECRET_H
#include <stddef.h>
#include "err.h"

/* The whole file, less one trailing "\n", "\r\n" or "\r", into buf as a string. Refused:
 * a file that cannot be opened or read, an empty secret, a NUL byte or a line break in it,
 * a secret longer than size - 1 bytes. Each message starts "<label> <path>: " and names the
 * rule, e.g. "PIN file /etc/pin: longer than 256 bytes". On error buf holds no part of the
 * file. 0 or -1. */
int jpki_secret_read(const char *label, const char *path, char *buf, size_t size, jpki_err *err);

#endif
