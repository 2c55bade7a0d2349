#include "err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jpki_errf(jpki_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -1;
}

int jpki_errf_ssl(jpki_err *err, const char *fmt, ...)
{
	va_list ap;
	unsigned long e = ERR_peek_last_error();
	size_t used;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
		used = strlen(err->text);
		if (e != 0 && used + 3 < sizeof(err->text)) {
			snprintf(err->text + used, sizeof(err->text) - used, ": ");
			ERR_error_string_n(e, err->text + used + 2, sizeof(err->text) - used - 2);
		}
	}
	ERR_clear_error();
	return -1;
}
