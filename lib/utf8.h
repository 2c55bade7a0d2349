/* UTF-8 as RFC 3629 defines it. */
#ifndef JPKI_UTF8_H
#define JPKI_UTF8_H
#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at p (1 to 4), 0 when there is none: an
 * overlong form, a surrogate, a code point above U+10FFFF or a cut sequence. p is
 * NUL-terminated (a NUL ends any sequence). */
size_t jpki_utf8_len(const unsigned char *p);

#endif
