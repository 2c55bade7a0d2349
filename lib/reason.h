/* Revocation reasons the CPS allows (4-4-4-2, 4-4-5): no suspension, so never
 * certificateHold(6) or removeFromCRL(8). */
#ifndef JPKI_REASON_H
#define JPKI_REASON_H
#include <stdbool.h>

bool jpki_reason_allowed(int code);
/* RFC 5280 name ("keyCompromise"…) or NULL for codes the CPS does not use. */
const char *jpki_reason_name(int code);
/* Number 1–5 or the RFC 5280 name; -1 otherwise. */
int jpki_reason_parse(const char *text);

#endif
