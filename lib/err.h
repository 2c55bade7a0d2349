/* Error text for callers: every function that can fail fills a caller-owned buffer. */
#ifndef JPKI_ERR_H
#define JPKI_ERR_H
#include <stddef.h>

typedef struct jpki_err {
	char text[512];
} jpki_err;

/* printf-style; a NULL err is ignored. Always returns -1 so callers can `return jpki_errf(...)`. */
int jpki_errf(jpki_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends OpenSSL's queued error, if any, then clears the queue. */
int jpki_errf_ssl(jpki_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
