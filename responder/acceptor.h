/* One thread accepts the connections of a listener and hands each to libmicrohttpd's worker
 * pool (MHD_add_connection): the pool places a connection by its descriptor, so a burst of
 * connections is shared out among the workers instead of landing on whichever worker woke
 * first, as it does when every worker polls the listening socket itself. The daemon's own
 * limits (connections in all, per client address) still apply. */
#ifndef OCSPD_ACCEPTOR_H
#define OCSPD_ACCEPTOR_H
#include <stddef.h>
#include <sys/socket.h>

struct MHD_Daemon;
typedef struct acceptor acceptor;

/* Binds and listens on sa, then accepts for d (started with MHD_USE_NO_LISTEN_SOCKET). NULL
 * with err (naming errno's reason) when the address cannot be bound. */
acceptor *acceptor_start(const struct sockaddr *sa, socklen_t salen, struct MHD_Daemon *d, char *err,
	size_t errlen);
/* Stops accepting (the listening socket is closed); connections already handed on stay. */
void acceptor_stop(acceptor *a);

#endif
