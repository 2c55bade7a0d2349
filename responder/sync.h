/* The sync thread (sync.c). */
#ifndef OCSPD_SYNC_H
#define OCSPD_SYNC_H
#include <openssl/x509.h>
#include "ocspd.h"

int sync_start(const ocspd_config *c, STACK_OF(X509) *anchors, char *err, size_t errlen);
void sync_stop(void);

#endif
