/* ocsp-load: a closed-loop HTTP/1.1 load of OCSP requests. CONNECTIONS keep-alive connections
 * (spread over THREADS epoll loops, default 1) each POST one request body after another for
 * SECONDS. The bodies are the files of REQDIR (DER OCSP requests), taken round robin through
 * one counter shared by all connections, so no body is sent twice before every body was sent
 * once: the report says how many were sent more than once ("repeated").
 *
 * Responses are read by their Content-Length (or to the end of the connection when there is
 * none); a server that closes after each response (HTTP/1.0, "Connection: close") is reconnected,
 * the connect counted in the request's latency. A request whose keep-alive connection was
 * closed before any byte of the answer is sent again once on a new connection ("retries").
 *
 * Every answer is checked cheaply: HTTP 200, and the DER OCSPResponse's outer length, its
 * responseStatus (successful) and the presence of responseBytes. The first answer of every
 * client connection and every 1000th answer are also decoded by OpenSSL: a basic response with at
 * least one SingleResponse and none "unknown". Any other answer fails the run (exit 1), so a
 * server that answers errors fast cannot pass for a fast one.
 *
 *   ocsp-load http://127.0.0.1:PORT/PATH REQDIR CONNECTIONS SECONDS [THREADS]
 *
 * Prints one line: requests_per_s, requests, failures by kind, p50/p99 latency in ms.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ocsp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "latency.h"

#define MAX_CONNECTIONS 4096
#define MAX_THREADS 64
#define MAX_BODY (1 << 20)
#define MAX_BODIES 2000000
#define MAX_RESPONSE (4 << 20)
#define FULL_CHECK_EVERY 1000
#define STALL_SECONDS 10.0

typedef struct body {
	unsigned char *data;
	size_t len;
	char *head;		/* the request line and headers */
	size_t headlen;
} body;

enum { C_CLOSED, C_CONNECTING, C_SENDING, C_READING };

typedef struct conn {
	int fd, state;
	uint32_t events;	/* registered with epoll */
	const body *b;
	size_t sent;
	unsigned char *in;
	size_t inlen, incap;
	size_t head_end;	/* 0 until the response header is complete */
	long content_length;	/* -1: until the connection ends */
	int status;
	bool keepalive, reused, retried, full_check, ever_connected;
	double t0, last_progress;
} conn;

typedef struct worker {
	pthread_t tid;
	conn *conns;
	int nconns, ep;
	long done, non200, bad_ocsp, unknown, io_errors, retries, connects, full_checks;
	long ocsp_status[8];
	unsigned long long bytes;
	latencies lat;
	bool fatal;
} worker;

static body *bodies;
static size_t nbodies;
static atomic_ullong next_body;
static atomic_long full_counter;
static struct sockaddr_in server;
static double end_at;
static int seconds;
static pthread_barrier_t start;

/* ---- request bodies ---- */

static int regular(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int load_bodies(const char *dir, const char *host, const char *path)
{
	struct dirent **list;
	int n = scandir(dir, &list, regular, alphasort), i;

	if (n < 0) {
		perror(dir);
		return -1;
	}
	if (n == 0 || n > MAX_BODIES) {
		fprintf(stderr, "ocsp-load: %s: %d files (1-%d needed)\n", dir, n, MAX_BODIES);
		return -1;
	}
	bodies = calloc((size_t)n, sizeof(*bodies));
	if (bodies == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		char file[4096], head[512];
		struct stat st;
		FILE *fp;
		body *b = &bodies[nbodies];
		int hl;

		snprintf(file, sizeof(file), "%s/%s", dir, list[i]->d_name);
		free(list[i]);
		if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (st.st_size <= 0 || st.st_size > MAX_BODY || (fp = fopen(file, "rb")) == NULL) {
			fprintf(stderr, "ocsp-load: %s: empty, too big or unreadable\n", file);
			return -1;
		}
		b->len = (size_t)st.st_size;
		b->data = malloc(b->len);
		if (b->data == NULL || fread(b->data, 1, b->len, fp) != b->len) {
			fclose(fp);
			return -1;
		}
		fclose(fp);
		hl = snprintf(head, sizeof(head),
			"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/ocsp-request\r\n"
			"Content-Length: %zu\r\n\r\n", path, host, b->len);
		b->head = strdup(head);
		b->headlen = (size_t)hl;
		if (b->head == NULL)
			return -1;
		nbodies++;
	}
	free(list);
	return nbodies > 0 ? 0 : -1;
}

/* ---- the answer ---- */

/* The DER OCSPResponse: SEQUENCE { ENUMERATED responseStatus, [0] responseBytes OPTIONAL },
 * its length covering the body exactly. Returns the responseStatus, or -1 when the bytes are
 * no such thing; *has_bytes tells whether responseBytes follow. */
static int response_status(const unsigned char *p, size_t n, bool *has_bytes)
{
	size_t i, len = 0;
	int k;

	*has_bytes = false;
	if (n < 5 || p[0] != 0x30)
		return -1;
	if (p[1] < 0x80) {
		len = p[1];
		i = 2;
	} else {
		k = p[1] & 0x7f;
		if (k < 1 || k > 4 || n < (size_t)(2 + k))
			return -1;
		for (i = 2; i < (size_t)(2 + k); i++)
			len = len << 8 | p[i];
	}
	if (i + len != n || n < i + 3 || p[i] != 0x0a || p[i + 1] != 0x01)
		return -1;
	*has_bytes = n > i + 3 && p[i + 3] == 0xa0;
	return p[i + 2];
}

/* OpenSSL's reading of the whole answer: successful, basic, every status good or revoked. */
static bool full_check(const unsigned char *der, size_t n)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)n);
	OCSP_BASICRESP *bs = NULL;
	bool ok = false;
	int i, count;

	if (r == NULL || p != der + n || OCSP_response_status(r) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(r)) == NULL || (count = OCSP_resp_count(bs)) <= 0)
		goto out;
	ok = true;
	for (i = 0; i < count; i++)
		if (OCSP_single_get0_status(OCSP_resp_get0(bs, i), NULL, NULL, NULL, NULL) == V_OCSP_CERTSTATUS_UNKNOWN)
			ok = false;
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	return ok;
}

/* ---- connections ---- */

static void set_events(worker *w, conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->events == ev)
		return;
	if (epoll_ctl(w->ep, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &e) < 0)
		w->fatal = true;
	c->events = ev;
}

static void conn_close(conn *c, bool reset)
{
	if (c->fd >= 0) {
		if (reset) {
			/* No TIME_WAIT on our side for connections the server would close anyway. */
			struct linger l = { 1, 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd);	/* also leaves the epoll set */
	}
	c->fd = -1;
	c->events = 0;
	c->state = C_CLOSED;
	c->reused = false;
}

static void record(worker *w, double latency)
{
	if (latencies_add(&w->lat, latency) < 0)
		w->fatal = true;
}

static void try_send(worker *w, conn *c);

/* The next request on c: a new body unless the last one is being retried. */
static void start_request(worker *w, conn *c, bool retry)
{
	double t = bench_now();

	if (!retry) {
		c->b = &bodies[atomic_fetch_add(&next_body, 1) % nbodies];
		c->retried = false;
		c->t0 = t;
	}
	c->sent = 0;
	c->inlen = 0;
	c->head_end = 0;
	c->content_length = -1;
	c->last_progress = t;
	if (c->fd < 0) {
		int one = 1;

		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			w->fatal = true;
			return;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		w->connects++;
		/* The first answer of each of the CONNECTIONS clients is decoded in full (not every
		 * reconnect: a server that closes after each answer would cost this client more). */
		c->full_check = !c->ever_connected;
		c->ever_connected = true;
		if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) < 0 && errno != EINPROGRESS) {
			w->io_errors++;
			conn_close(c, true);
			return;
		}
		c->state = C_CONNECTING;
		set_events(w, c, EPOLLOUT);
		return;
	}
	c->state = C_SENDING;
	try_send(w, c);
}

static void try_send(worker *w, conn *c)
{
	while (c->sent < c->b->headlen + c->b->len) {
		struct iovec iov[2];
		int n = 0;
		ssize_t k;

		if (c->sent < c->b->headlen) {
			iov[n].iov_base = c->b->head + c->sent;
			iov[n++].iov_len = c->b->headlen - c->sent;
			iov[n].iov_base = c->b->data;
			iov[n++].iov_len = c->b->len;
		} else {
			iov[n].iov_base = c->b->data + (c->sent - c->b->headlen);
			iov[n++].iov_len = c->b->len - (c->sent - c->b->headlen);
		}
		k = writev(c->fd, iov, n);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_events(w, c, EPOLLOUT);
			return;
		}
		if (k < 0) {
			/* A keep-alive connection the server closed meanwhile: once more on a new one. */
			bool again = c->reused && !c->retried;

			conn_close(c, true);
			if (again) {
				w->retries++;
				c->retried = true;
				start_request(w, c, true);
			} else {
				w->io_errors++;
			}
			return;
		}
		c->sent += (size_t)k;
	}
	c->state = C_READING;
	set_events(w, c, EPOLLIN);
}

/* Parses the response header once it is complete; -1 on a malformed or unsupported one. */
static int parse_head(conn *c)
{
	unsigned char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	char *line, *next, *stop;

	if (end == NULL)
		return c->inlen > 65536 ? -1 : 0;
	c->head_end = (size_t)(end - c->in) + 4;
	*end = '\0';
	if (c->inlen < 12 || memcmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	c->keepalive = c->in[7] == '1';
	c->status = atoi((char *)c->in + 9);
	for (line = strstr((char *)c->in, "\r\n"); line != NULL; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			c->content_length = strtol(line + 15, &stop, 10);
			if (c->content_length < 0 || c->content_length > MAX_RESPONSE)
				return -1;
		} else if (strncasecmp(line, "Connection:", 11) == 0) {
			if (strcasestr(line + 11, "close") != NULL)
				c->keepalive = false;
			else if (strcasestr(line + 11, "keep-alive") != NULL)
				c->keepalive = true;
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
			return -1;	/* no OCSP server here sends chunked answers */
		}
		if (next != NULL)
			*next = '\r';
	}
	*end = '\r';
	if (c->content_length < 0)
		c->keepalive = false;
	return 1;
}

/* The answer is complete: check it, count it, go on. */
static void finish(worker *w, conn *c)
{
	const unsigned char *b = c->in + c->head_end;
	size_t n = c->inlen - c->head_end;
	double t = bench_now();
	bool has_bytes;
	int st;

	if (t < end_at) {
		w->done++;
		w->bytes += n;
		record(w, t - c->t0);
		if (c->status != 200) {
			w->non200++;
		} else if ((st = response_status(b, n, &has_bytes)) < 0) {
			w->bad_ocsp++;
		} else {
			w->ocsp_status[st & 7]++;
			if (st != 0 || !has_bytes) {
				w->bad_ocsp++;
			} else if (c->full_check || atomic_fetch_add(&full_counter, 1) % FULL_CHECK_EVERY == 0) {
				w->full_checks++;
				if (!full_check(b, n))
					w->unknown++;
			}
		}
	}
	c->full_check = false;
	if (c->keepalive) {
		c->reused = true;
		start_request(w, c, false);
	} else {
		conn_close(c, true);
		start_request(w, c, false);
	}
}

static void on_readable(worker *w, conn *c)
{
	for (;;) {
		ssize_t k;

		if (c->incap - c->inlen < 16384) {
			size_t cap = c->incap ? c->incap * 2 : 32768;
			unsigned char *grown;

			if (cap > MAX_RESPONSE + 65536) {
				w->bad_ocsp++;
				conn_close(c, true);
				start_request(w, c, false);
				return;
			}
			grown = realloc(c->in, cap);
			if (grown == NULL) {
				w->fatal = true;
				return;
			}
			c->in = grown;
			c->incap = cap;
		}
		k = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0) {
			if (k == 0 && c->head_end > 0 && c->content_length < 0) {
				c->keepalive = false;
				finish(w, c);	/* the end of the connection ends the body */
				return;
			}
			bool again = c->inlen == 0 && c->reused && !c->retried;

			conn_close(c, true);
			if (again) {
				w->retries++;
				c->retried = true;
				start_request(w, c, true);
			} else {
				w->io_errors++;
				start_request(w, c, false);
			}
			return;
		}
		c->inlen += (size_t)k;
		c->last_progress = bench_now();
		if (c->head_end == 0) {
			int r = parse_head(c);

			if (r < 0) {
				w->bad_ocsp++;
				conn_close(c, true);
				start_request(w, c, false);
				return;
			}
			if (r == 0)
				continue;
		}
		if (c->content_length >= 0 && c->inlen >= c->head_end + (size_t)c->content_length) {
			if (c->inlen > c->head_end + (size_t)c->content_length) {
				/* Bytes after the answer we did not ask for. */
				w->bad_ocsp++;
				conn_close(c, true);
				start_request(w, c, false);
				return;
			}
			finish(w, c);
			return;
		}
	}
}

static void on_event(worker *w, conn *c, uint32_t ev)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			w->io_errors++;
			conn_close(c, true);
			start_request(w, c, false);
			return;
		}
		c->state = C_SENDING;
		try_send(w, c);
		return;
	}
	if (c->state == C_SENDING && (ev & EPOLLOUT)) {
		try_send(w, c);
		return;
	}
	if (c->state == C_READING && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(w, c);
}

static void *run(void *arg)
{
	worker *w = arg;
	struct epoll_event evs[256];
	double t;
	int i, n;

	pthread_barrier_wait(&start);
	for (i = 0; i < w->nconns && !w->fatal; i++)
		start_request(w, &w->conns[i], false);
	/* Bounded: ends at end_at whatever the server does. */
	while (!w->fatal && (t = bench_now()) < end_at) {
		n = epoll_wait(w->ep, evs, 256, 50);
		for (i = 0; i < n; i++)
			on_event(w, evs[i].data.ptr, evs[i].events);
		/* Connections that failed to reconnect, and stalled ones, start again. */
		for (i = 0; i < w->nconns; i++) {
			conn *c = &w->conns[i];

			if (c->fd < 0) {
				start_request(w, c, false);
			} else if (t - c->last_progress > STALL_SECONDS) {
				w->io_errors++;
				conn_close(c, true);
				start_request(w, c, false);
			}
		}
		if (w->io_errors > 1000)
			w->fatal = true;	/* the server is not there */
	}
	for (i = 0; i < w->nconns; i++) {
		conn_close(&w->conns[i], true);
		free(w->conns[i].in);
	}
	return NULL;
}

static int parse_url(const char *url, char *host, size_t hostlen, unsigned *port, const char **path)
{
	const char *p, *colon;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	colon = strchr(p, ':');
	if (colon == NULL || (size_t)(colon - p) >= hostlen)
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	*port = (unsigned)strtoul(colon + 1, NULL, 10);
	*path = strchr(colon, '/');
	if (*path == NULL)
		*path = "/";
	return *port > 0 && *port < 65536 ? 0 : -1;
}

int main(int argc, char **argv)
{
	worker *ws;
	char host[64], hostport[80];
	const char *path;
	unsigned port;
	int conns, threads = 1, i, j;
	long done = 0, non200 = 0, bad = 0, unknown = 0, io = 0, retries = 0, connects = 0, fulls = 0;
	long status[8] = { 0 };
	unsigned long long bytes = 0, sent;
	bool fatal = false;
	latencies all = { 0 };
	double t0, elapsed, p50, p99;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: ocsp-load http://127.0.0.1:PORT/PATH REQDIR CONNECTIONS SECONDS [THREADS]\n");
		return 2;
	}
	conns = atoi(argv[3]);
	seconds = atoi(argv[4]);
	if (argc == 6)
		threads = atoi(argv[5]);
	if (parse_url(argv[1], host, sizeof(host), &port, &path) < 0 || conns <= 0 || conns > MAX_CONNECTIONS ||
	    seconds <= 0 || seconds > 3600 || threads <= 0 || threads > MAX_THREADS) {
		fprintf(stderr, "ocsp-load: bad arguments (CONNECTIONS 1-%d, SECONDS 1-3600, THREADS 1-%d)\n",
			MAX_CONNECTIONS, MAX_THREADS);
		return 2;
	}
	if (threads > conns)
		threads = conns;
	memset(&server, 0, sizeof(server));
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &server.sin_addr) != 1) {
		fprintf(stderr, "ocsp-load: %s: an IPv4 address is needed\n", host);
		return 2;
	}
	snprintf(hostport, sizeof(hostport), "%s:%u", host, port);
	if (load_bodies(argv[2], hostport, path) < 0)
		return 2;
	ws = calloc((size_t)threads, sizeof(*ws));
	if (ws == NULL)
		return 1;
	for (i = 0; i < threads; i++) {
		ws[i].nconns = conns / threads + (i < conns % threads);
		ws[i].conns = calloc((size_t)ws[i].nconns, sizeof(conn));
		ws[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (ws[i].conns == NULL || ws[i].ep < 0)
			return 1;
		for (j = 0; j < ws[i].nconns; j++)
			ws[i].conns[j].fd = -1;
	}
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	t0 = bench_now();
	end_at = t0 + seconds;
	for (i = 0; i < threads; i++)
		pthread_create(&ws[i].tid, NULL, run, &ws[i]);
	pthread_barrier_wait(&start);
	for (i = 0; i < threads; i++) {
		pthread_join(ws[i].tid, NULL);
		done += ws[i].done;
		non200 += ws[i].non200;
		bad += ws[i].bad_ocsp;
		unknown += ws[i].unknown;
		io += ws[i].io_errors;
		retries += ws[i].retries;
		connects += ws[i].connects;
		fulls += ws[i].full_checks;
		bytes += ws[i].bytes;
		if (latencies_merge(&all, &ws[i].lat) < 0)
			return 1;
		fatal = fatal || ws[i].fatal;
		for (j = 0; j < 8; j++)
			status[j] += ws[i].ocsp_status[j];
		close(ws[i].ep);
	}
	elapsed = bench_now() - t0;
	latencies_percentiles(&all, &p50, &p99);
	sent = atomic_load(&next_body);
	printf("requests_per_s=%.1f requests=%ld seconds=%.2f connections=%d non200=%ld bad_ocsp=%ld unknown=%ld "
		"io_errors=%ld retries=%ld connects=%ld full_checks=%ld bodies=%zu repeated=%llu "
		"resp_bytes=%.0f p50_ms=%.3f p99_ms=%.3f status=%ld/%ld/%ld/%ld/%ld/%ld/%ld\n",
		(double)done / seconds, done, elapsed, conns, non200, bad, unknown, io, retries, connects, fulls,
		nbodies, sent > nbodies ? sent - nbodies : 0ULL, done ? (double)bytes / (double)done : 0.0,
		p50, p99, status[0], status[1], status[2], status[3], status[4], status[5], status[6]);
	latencies_free(&all);
	if (fatal)
		fprintf(stderr, "ocsp-load: stopped early (the server is unreachable or out of memory)\n");
	return !fatal && done > 0 && non200 == 0 && bad == 0 && unknown == 0 && io <= done / 1000 ? 0 : 1;
}
