#include "acceptor.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ocspd.h"

#define BACKLOG 1024

struct acceptor {
	int fd;
	struct MHD_Daemon *d;
	pthread_t thread;
};

static void *accept_loop(void *arg)
{
	acceptor *a = arg;
	struct sockaddr_storage ss;
	const struct timespec pause = { 0, 10 * 1000 * 1000 };
	bool told = false;

	for (;;) {
		socklen_t len = sizeof(ss);
		int s = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (s >= 0) {
			/* Refused (limits, memory): libmicrohttpd has closed it and logged why. */
			(void)MHD_add_connection(a->d, s, (struct sockaddr *)&ss, len);
			told = false;
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Out of descriptors: connections wait in the backlog until some close. */
			if (!told)
				ocspd_log(OCSPD_LOG_WARNING, "http: accept: %s; retrying", strerror(errno));
			told = true;
			nanosleep(&pause, NULL);
			continue;
		}
		break;	/* EINVAL: acceptor_stop shut the socket down */
	}
	return NULL;
}

acceptor *acceptor_start(const struct sockaddr *sa, socklen_t salen, struct MHD_Daemon *d, char *err,
	size_t errlen)
{
	acceptor *a = calloc(1, sizeof(*a));
	int on = 1;

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->d = d;
	a->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a->fd < 0 || setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (sa->sa_family == AF_INET6 && setsockopt(a->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
	    bind(a->fd, sa, salen) != 0 || listen(a->fd, BACKLOG) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&a->thread, NULL, accept_loop, a) != 0) {
		snprintf(err, errlen, "cannot start the accepting thread");
		goto fail;
	}
	return a;
fail:
	if (a->fd >= 0)
		close(a->fd);
	free(a);
	return NULL;
}

void acceptor_stop(acceptor *a)
{
	if (a == NULL)
		return;
	shutdown(a->fd, SHUT_RDWR);	/* accept() returns EINVAL from now on */
	pthread_join(a->thread, NULL);
	close(a->fd);
	free(a);
}
