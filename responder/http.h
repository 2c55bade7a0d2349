/* jpki-ocspd HTTP/1.1 front end on libmicrohttpd: RFC 6960 Appendix A (GET, HEAD and POST)
 * with the RFC 5019 caching headers, an optional HTTPS listener that requires a client
 * certificate. */
#ifndef OCSPD_HTTP_H
#define OCSPD_HTTP_H
#include <stddef.h>

#include "ocspd.h"

/* Opens the listeners (c->listen:c->port and, if c->https_port, the HTTPS one) with the
 * worker thread pool. -1 with err filled when a listener cannot be opened. */
int http_start(const ocspd_config *c, char *err, size_t errlen);
/* SIGHUP: the settings that apply without reopening the listeners (cache-max-age,
 * max-request). The others (listen, ports, certificates, threads, limits, timeout, path)
 * take effect at the next start. */
void http_reload(const ocspd_config *c);
/* Stops accepting, lets the requests in flight finish (bounded by the connection timeout),
 * then closes every connection. Safe to call twice. -1 when answers are still being signed
 * or recorded after a further wait: the workers are left running, and nothing they use (the
 * audit trail, the signer) may be torn down; the process should just exit. */
int http_stop(void);

#endif
