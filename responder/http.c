/* jpki-ocspd HTTP front end: libmicrohttpd does HTTP, OpenSSL decodes base64, GnuTLS (inside
 * libmicrohttpd) verifies HTTPS client certificates. This file only routes a request to
 * ocspd_answer() and the answer back with the RFC 5019 headers; every refusal says which
 * rule it applied. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "acceptor.h"
#include "digest.h"
#include "http.h"
#include "ocspd.h"
#include "utctime.h"

#define CT_REQUEST "application/ocsp-request"
#define CT_RESPONSE "application/ocsp-response"
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define PEM_MAX ((long)1 << 20)
#define STOP_ANSWER_WAIT 30	/* s: answers in the signing threads or the audit writer at stop */
#define DISCARD_MAX(max) ((max) < ((size_t)1 << 18) ? ((size_t)1 << 20) : (max) * 4)

typedef struct http_state {
	struct MHD_Daemon *plain, *tls;
	acceptor *plain_acc, *tls_acc;
	char *path;			/* the configured path without trailing '/'; "" for "/" */
	size_t pathlen;
	char *tls_cert, *tls_key, *tls_trust;	/* PEM, kept while the HTTPS daemon runs */
	size_t tls_key_len;
	unsigned timeout;
	_Atomic size_t max_request;
	_Atomic long cache_max_age;
	atomic_bool starting, stopping;
	atomic_bool closing;		/* stopping, past the wait for requests: no answer may start */
	char start_error[512];		/* libmicrohttpd's last word while starting */
	pthread_mutex_t lock;		/* guards inflight, and the waits in http_stop */
	pthread_cond_t idle;
	unsigned inflight;
	atomic_uint answering;		/* answers started and not yet back (their connection suspended) */
} http_state;

static http_state H = { .lock = PTHREAD_MUTEX_INITIALIZER };
static int tag_plain, tag_tls;	/* the access handler's cls tells the listeners apart */

/* Per HTTPS connection: the client certificate, verified once. */
typedef struct tls_peer {
	int state;			/* 0 not yet checked, 1 verified, -1 refused */
	unsigned char sha256[32];
	char why[160];
} tls_peer;

/* Where a request's answer stands. While it is signed and recorded the connection is
 * suspended, and the worker serves its other connections. */
enum { IDLE, ANSWERING, SUSPENDED, ANSWERED };

/* Per request. */
typedef struct request {
	unsigned char *body;
	size_t len, cap;
	bool too_big;
	size_t dropped;		/* bytes of a too big chunked body read and dropped */
	bool tls;
	tls_peer peer;		/* the verified client certificate, on HTTPS */
	/* the answer */
	struct MHD_Connection *conn;
	bool get;
	atomic_int phase;
	unsigned char *resp;	/* OPENSSL_free */
	size_t resplen;
	ocspd_answer_info info;
} request;

/* ---- responses ---- */

/* The peer as text: "IP" for the log, or "IP:port" ("[IP]:port" for IPv6) as the audit trail
 * writes a client (lib/audit.h); "?" when unknown. */
static void client_text(struct MHD_Connection *conn, bool with_port, char *buf, size_t len,
	const struct sockaddr **sa_out)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	char ip[INET6_ADDRSTRLEN];

	snprintf(buf, len, "?");
	if (sa != NULL && sa->sa_family == AF_INET && inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip)) != NULL) {
		if (with_port)
			snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(in4->sin_port));
		else
			snprintf(buf, len, "%s", ip);
	} else if (sa != NULL && sa->sa_family == AF_INET6 &&
		   inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)) != NULL) {
		if (with_port)
			snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
		else
			snprintf(buf, len, "%s", ip);
	}
	if (sa_out != NULL)
		*sa_out = sa;
}

static bool add_header(struct MHD_Response *r, const char *name, const char *value)
{
	return MHD_add_response_header(r, name, value) == MHD_YES;
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *r, bool close)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	/* Before the body was read, or while stopping, the connection cannot be reused. */
	if ((close || atomic_load(&H.stopping)) && !add_header(r, MHD_HTTP_HEADER_CONNECTION, "close")) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* An HTTP refusal: the status, and a one-line text naming the rule. */
__attribute__((format(printf, 5, 6)))
static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, bool close, const char *allow,
	const char *fmt, ...)
{
	char text[512], addr[INET6_ADDRSTRLEN];
	struct MHD_Response *r;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(text) - 2)
		n = (int)sizeof(text) - 2;
	client_text(conn, false, addr, sizeof(addr), NULL);
	ocspd_log(OCSPD_LOG_INFO, "http: %s: %u %s", addr, status, text);
	text[n++] = '\n';
	text[n] = '\0';
	r = MHD_create_response_from_buffer((size_t)n, text, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (!add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8") ||
		(allow != NULL && !add_header(r, MHD_HTTP_HEADER_ALLOW, allow))) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	return queue(conn, status, r, close);
}

/* If-None-Match (RFC 9110 13.1.2): "*" or a list of entity tags, compared weakly. */
static bool etag_matches(const char *header, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = header;

	if (header == NULL || elen == 0)
		return false;
	while (*p != '\0') {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		start = p;
		if (*p == '"') {
			end = strchr(p + 1, '"');
			end = end != NULL ? end + 1 : p + strlen(p);
		} else
			end = p + strcspn(p, ", \t");
		if ((size_t)(end - start) == elen && memcmp(start, etag, elen) == 0)
			return true;
		p = end;
	}
	return false;
}

static void free_openssl(void *p)
{
	OPENSSL_free(p);
}

/* Who a shared cache may hand an answer to (RFC 9111 5.2.2.6, 5.2.2.9): anyone ("public")
 * only when the responder itself answered without knowing who asks, a client of an
 * allow-network or anyone while require-signature is no; an answer to a verifier shown by
 * its signature or its client certificate is that verifier's ("private"), and so is one
 * whose authentication is not known here. */
static const char *cache_scope(const ocspd_answer_info *info)
{
	if (info->auth != NULL && (strcmp(info->auth, "network") == 0 || strcmp(info->auth, "none") == 0))
		return "public";
	return "private";
}

/* Last-Modified (RFC 5019 6.2): the answer's thisUpdate, for an answer about one CertID of
 * an issuer served (ocspd_answer_info.one_certid); other answers carry none, since a shared
 * cache would answer If-Modified-Since from it. Never after Date (RFC 9110 8.8.2.1), which a
 * CRL's thisUpdate within the clock skew could be. */
static time_t last_modified(const ocspd_answer_info *info, time_t now)
{
	return info->last_modified < now ? info->last_modified : now;
}

/* RFC 5019 6.2 headers of a cacheable answer to a GET (or HEAD). */
static bool cache_headers(struct MHD_Response *r, const ocspd_answer_info *info, time_t now)
{
	char buf[128];
	long max_age = atomic_load(&H.cache_max_age), left = (long)(info->next_update - now);

	if (left < max_age)
		max_age = left;
	if (max_age < 0)
		max_age = 0;
	snprintf(buf, sizeof(buf), "max-age=%ld, %s, no-transform, must-revalidate", max_age, cache_scope(info));
	if (!add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, buf))
		return false;
	if (info->one_certid) {
		jpki_http_date(last_modified(info, now), buf);
		if (!add_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, buf))
			return false;
	}
	jpki_http_date(info->next_update, buf);
	if (!add_header(r, MHD_HTTP_HEADER_EXPIRES, buf))
		return false;
	return info->etag[0] == '\0' || add_header(r, MHD_HTTP_HEADER_ETAG, info->etag);
}

/* The client holds this answer already (a 304; the caller asks only for a cacheable answer
 * to a GET or HEAD): If-None-Match names its ETag, which is exact. If-Modified-Since is not
 * used: no date tells every change (another partition's newer CRL changes a "good" answer's
 * nextUpdate and leaves its thisUpdate), and a 304 would keep a client on a stale answer. */
static bool not_modified(struct MHD_Connection *conn, const ocspd_answer_info *info)
{
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);

	return inm != NULL && etag_matches(inm, info->etag);
}

/* Hands the OCSP answer (always a 200, whatever its responseStatus) to libmicrohttpd, which
 * frees it; or a 304 when the client already holds this answer (not_modified). libmicrohttpd writes the
 * Content-Length of every response from its size and sends no body with a 304 or to a HEAD:
 * a 304 made of the answer itself says the 200's length, as RFC 9110 8.6 allows (an empty
 * one would say 0, which it forbids). */
static enum MHD_Result send_answer(struct MHD_Connection *conn, bool get, unsigned char *der, size_t len,
	const ocspd_answer_info *info)
{
	struct MHD_Response *r;
	time_t now = time(NULL);
	bool cacheable = get && info->cacheable;
	bool unchanged = cacheable && not_modified(conn, info);

	r = MHD_create_response_from_buffer_with_free_callback(len, der, free_openssl);
	if (r == NULL) {
		OPENSSL_free(der);
		return MHD_NO;
	}
	if (unchanged) {
		/* RFC 9110 15.4.5: the 200's Cache-Control, Expires and ETag, no Content-Type */
		if (!cache_headers(r, info, now)) {
			MHD_destroy_response(r);
			return MHD_NO;
		}
		return queue(conn, MHD_HTTP_NOT_MODIFIED, r, false);
	}
	if (!add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_RESPONSE) ||
		(cacheable && !cache_headers(r, info, now)) ||
		(get && !cacheable && !add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store"))) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	return queue(conn, MHD_HTTP_OK, r, false);
}

/* ---- HTTPS client certificates ---- */

static void tls_verify(struct MHD_Connection *conn, tls_peer *p)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s = ci != NULL ? (gnutls_session_t)ci->tls_session : NULL;
	gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT };
	const gnutls_datum_t *chain;
	unsigned n = 0, status = 0;
	int rc;

	p->state = -1;
	if (s == NULL) {
		snprintf(p->why, sizeof(p->why), "no TLS session");
		return;
	}
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
		(chain = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0) {
		snprintf(p->why, sizeof(p->why), "no client certificate");
		return;
	}
	rc = gnutls_certificate_verify_peers(s, &purpose, 1, &status);
	if (rc < 0) {
		snprintf(p->why, sizeof(p->why), "client certificate not verified: %s", gnutls_strerror(rc));
		return;
	}
	if (status != 0) {
		gnutls_datum_t out = { NULL, 0 };

		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(p->why, sizeof(p->why), "client certificate not verified: %s", (char *)out.data);
			gnutls_free(out.data);
		} else
			snprintf(p->why, sizeof(p->why), "client certificate not verified (status 0x%x)", status);
		return;
	}
	if (EVP_Digest(chain[0].data, chain[0].size, p->sha256, NULL, jpki_sha256(), NULL) != 1) {
		snprintf(p->why, sizeof(p->why), "cannot hash the client certificate");
		return;
	}
	p->state = 1;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
	enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = calloc(1, sizeof(tls_peer));
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
	}
}

/* The verified client certificate of this HTTPS connection, or NULL with why filled. */
static const unsigned char *tls_client(struct MHD_Connection *conn, tls_peer *scratch, const char **why)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	tls_peer *p = ci != NULL && ci->socket_context != NULL ? ci->socket_context : scratch;

	if (p->state == 0)
		tls_verify(conn, p);
	if (p->state != 1) {
		*why = p->why;
		return NULL;
	}
	if (p != scratch) {
		memcpy(scratch->sha256, p->sha256, sizeof(p->sha256));
		scratch->state = 1;
	}
	return scratch->sha256;
}

/* ---- requests ---- */

/* GET {path}/{base64 of the DER request} (RFC 6960 A.1). libmicrohttpd has already undone the
 * %-escapes of the path. What real clients send besides: the '+' of base64 taken for an
 * encoded blank on the way (back to '+'), and no padding. */
static int decode_get(const char *b64, unsigned char **der, size_t *len)
{
	size_t n = strlen(b64), padded = (n + 3) / 4 * 4;
	unsigned char *in, *out;
	EVP_ENCODE_CTX *ctx;
	int o1 = 0, o2 = 0, rc = -1;

	if (n == 0 || n % 4 == 1 || n > (size_t)1 << 26)
		return -1;
	in = malloc(padded + 1);
	out = malloc(padded / 4 * 3 + 3);
	ctx = EVP_ENCODE_CTX_new();
	if (in == NULL || out == NULL || ctx == NULL)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (b64[i] == '\t' || b64[i] == '\r' || b64[i] == '\n')
			goto done;	/* EVP_DecodeUpdate would skip them; no client sends them */
		in[i] = b64[i] == ' ' ? '+' : (unsigned char)b64[i];
	}
	for (size_t i = n; i < padded; i++)
		in[i] = '=';
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &o1, in, (int)padded) < 0 || EVP_DecodeFinal(ctx, out + o1, &o2) < 0 ||
		o1 + o2 <= 0)
		goto done;
	*der = out;
	*len = (size_t)(o1 + o2);
	out = NULL;
	rc = 0;
done:
	EVP_ENCODE_CTX_free(ctx);
	free(in);
	free(out);
	return rc;
}

static void answering_done(void)
{
	/* The lock only for http_stop, which waits for the last one. */
	if (atomic_fetch_sub(&H.answering, 1) == 1 && atomic_load(&H.stopping)) {
		pthread_mutex_lock(&H.lock);
		pthread_cond_broadcast(&H.idle);
		pthread_mutex_unlock(&H.lock);
	}
}

/* From ocspd_answer_start: on this worker before it returns, or on a signing thread or the
 * audit writer, which then resumes the suspended connection. */
static void on_answered(void *arg, unsigned char *resp, size_t resplen, const ocspd_answer_info *info)
{
	request *r = arg;

	r->resp = resp;
	r->resplen = resplen;
	r->info = *info;
	if (atomic_exchange(&r->phase, ANSWERED) == SUSPENDED) {
		MHD_resume_connection(r->conn);
		answering_done();
	}
}

static enum MHD_Result send_result(struct MHD_Connection *conn, request *r)
{
	unsigned char *resp = r->resp;

	r->resp = NULL;
	atomic_store(&r->phase, IDLE);
	if (resp == NULL)
		return refuse(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, false, NULL, "no OCSP response could be encoded");
	return send_answer(conn, r->get, resp, r->resplen, &r->info);
}

/* Starts the answer; sends it now when it is ready at once, else suspends the connection
 * until on_answered resumes it (libmicrohttpd then calls on_request again). */
static enum MHD_Result answer(struct MHD_Connection *conn, request *r, bool get,
	const unsigned char *req, size_t len)
{
	ocspd_client client;
	int phase = ANSWERING;

	memset(&client, 0, sizeof(client));
	client_text(conn, true, client.addr_text, sizeof(client.addr_text), &client.addr);
	client.cert_sha256 = r->tls && r->peer.state == 1 ? r->peer.sha256 : NULL;
	if (req == NULL)
		req = (const unsigned char *)"";	/* an empty body: still a request to answer */
	r->conn = conn;
	r->get = get;
	atomic_store(&r->phase, ANSWERING);
	atomic_fetch_add(&H.answering, 1);
	if (atomic_load(&H.closing)) {
		/* http_stop has seen the last answer back or will see this one: either way no
		 * connection is suspended when the daemons stop (libmicrohttpd aborts then). */
		answering_done();
		return refuse(conn, MHD_HTTP_SERVICE_UNAVAILABLE, true, NULL, "the responder is stopping");
	}
	ocspd_answer_start(req, len, &client, on_answered, r);
	if (atomic_load(&r->phase) == ANSWERED) {
		answering_done();
		return send_result(conn, r);
	}
	MHD_suspend_connection(conn);
	if (!atomic_compare_exchange_strong(&r->phase, &phase, SUSPENDED)) {
		/* Answered between the two looks: nobody else will resume it. */
		MHD_resume_connection(conn);
		answering_done();
	}
	return MHD_YES;
}

/* The rest of a GET path after the configured path and its '/', or NULL when the path is not
 * ours. Extra slashes before the request (a base URL ending in '/' plus the client's own '/')
 * are dropped; base64 of a DER SEQUENCE starts with 'M', never with '/'. */
static const char *get_rest(const char *url)
{
	while (url[0] == '/' && url[1] == '/')
		url++;	/* "//path/...": a client that puts its own '/' before the URL's path */
	if (strncmp(url, H.path, H.pathlen) != 0 || (url[H.pathlen] != '/' && url[H.pathlen] != '\0'))
		return NULL;
	url += H.pathlen;
	while (*url == '/')
		url++;
	return url;
}

/* POST goes to the configured path itself; doubled leading and trailing slashes do not matter. */
static bool post_path(const char *url)
{
	size_t n;

	while (url[0] == '/' && url[1] == '/')
		url++;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	return n == H.pathlen && strncmp(url, H.path, n) == 0;
}

/* application/ocsp-request (RFC 6960 A.1), with parameters or not; or none at all: RFC 9110
 * 8.3 lets the recipient examine the content then, a body that is no DER OCSPRequest is
 * malformedRequest all the same, and GET takes requests with no media type anyway. A type
 * that is named, empty or another, is refused (415). */
static bool content_type_ok(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return true;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strlen(CT_REQUEST);
	if (strncasecmp(ct, CT_REQUEST, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static const char *shown_path(void)
{
	return H.pathlen == 0 ? "/" : H.path;
}

static enum MHD_Result on_get(struct MHD_Connection *conn, request *r, const char *url)
{
	const char *rest = get_rest(url);
	size_t max = atomic_load(&H.max_request);
	unsigned char *der = NULL;
	size_t len = 0;
	enum MHD_Result ret;

	if (rest == NULL)
		return refuse(conn, MHD_HTTP_NOT_FOUND, false, NULL, "path: the OCSP service is at %s", shown_path());
	if (*rest == '\0')
		return refuse(conn, MHD_HTTP_BAD_REQUEST, false, NULL,
			"RFC 6960 A.1: GET %s/{base64 of the DER OCSPRequest}", H.path);
	if (strlen(rest) > max / 3 * 4 + 4)
		return refuse(conn, MHD_HTTP_URI_TOO_LONG, false, NULL,
			"max-request: the request in the URL is over %zu bytes", max);
	if (decode_get(rest, &der, &len) < 0)
		return refuse(conn, MHD_HTTP_BAD_REQUEST, false, NULL,
			"RFC 6960 A.1: the GET path is not the base64 of a request");
	ret = answer(conn, r, true, der, len);
	free(der);
	return ret;
}

/* The first call of a POST: everything that can be refused before the body is read. */
static enum MHD_Result post_headers(struct MHD_Connection *conn, const char *url)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t max = atomic_load(&H.max_request);

	if (!post_path(url))
		return refuse(conn, MHD_HTTP_NOT_FOUND, true, NULL, "path: the OCSP service is at %s", shown_path());
	if (!content_type_ok(ct))
		return refuse(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, true, NULL,
			"RFC 6960 A.1: Content-Type must be " CT_REQUEST " (not %s)", *ct != '\0' ? ct : "empty");
	if (cl != NULL) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno == ERANGE || (end != cl && n > max))
			return refuse(conn, MHD_HTTP_CONTENT_TOO_LARGE, true, NULL,
				"max-request: the body is over %zu bytes", max);
	}
	return MHD_YES;
}

/* HTTPS: a verified client certificate, or 403 naming why. */
static enum MHD_Result refuse_tls(struct MHD_Connection *conn, const char *why, bool close)
{
	return refuse(conn, MHD_HTTP_FORBIDDEN, close, NULL,
		"https-client-ca: HTTPS needs a verified client certificate (%s)", why);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	request *r = *req_cls;
	/* HEAD is GET without the body (RFC 9110 9.3.2), which libmicrohttpd leaves out */
	bool tls = cls == &tag_tls, get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	const char *why = NULL;

	(void)version;
	if (r != NULL && atomic_load(&r->phase) == ANSWERED)
		return send_result(conn, r);	/* resumed: the answer is ready */
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*req_cls = r;
		r->tls = tls;
		pthread_mutex_lock(&H.lock);
		H.inflight++;
		pthread_mutex_unlock(&H.lock);
		if (get)
			return MHD_YES;	/* answered once the request is complete: the connection stays open */
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return refuse(conn, MHD_HTTP_METHOD_NOT_ALLOWED, true, "GET, HEAD, POST",
				"RFC 6960 A.1: method %s not allowed (GET, HEAD or POST)", method);
		/* A POST is refused, if it is, before its body is read. */
		if (tls && tls_client(conn, &r->peer, &why) == NULL)
			return refuse_tls(conn, why, true);
		return post_headers(conn, url);
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size, max = atomic_load(&H.max_request);

		*upload_data_size = 0;
		if (get)
			return MHD_YES;	/* a body sent with a GET means nothing */
		if (r->too_big || r->len > max || n > max - r->len) {
			/* A body without Content-Length (chunked) grows past the limit. libmicrohttpd
			 * cannot answer before the body ends: drop it, never store it, answer 413 at
			 * its end; a body still going after DISCARD_MAX closes the connection. */
			if (!r->too_big) {
				r->too_big = true;
				r->dropped = r->len;
				free(r->body);
				r->body = NULL;
				r->len = r->cap = 0;
			}
			r->dropped += n;
			if (r->dropped > DISCARD_MAX(max)) {
				char addr[INET6_ADDRSTRLEN];

				client_text(conn, false, addr, sizeof(addr), NULL);
				ocspd_log(OCSPD_LOG_INFO, "http: %s: max-request: a chunked body over %zu bytes; "
					"connection closed", addr, max);
				return MHD_NO;
			}
			return MHD_YES;
		}
		if (r->len + n > r->cap) {
			size_t cap = r->cap ? r->cap : 4096;
			unsigned char *b;

			while (cap < r->len + n)
				cap *= 2;
			if (cap > max)
				cap = max;
			if ((b = realloc(r->body, cap)) == NULL)
				return MHD_NO;
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		return MHD_YES;
	}
	if (get) {
		if (tls && tls_client(conn, &r->peer, &why) == NULL)
			return refuse_tls(conn, why, false);
		return on_get(conn, r, url);
	}
	if (r->too_big)
		return refuse(conn, MHD_HTTP_CONTENT_TOO_LARGE, true, NULL, "max-request: the body is over %zu bytes",
			atomic_load(&H.max_request));
	return answer(conn, r, false, r->body, r->len);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
	enum MHD_RequestTerminationCode toe)
{
	request *r = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r == NULL)
		return;
	OPENSSL_free(r->resp);
	free(r->body);
	free(r);
	*req_cls = NULL;
	pthread_mutex_lock(&H.lock);
	if (H.inflight > 0 && --H.inflight == 0)
		pthread_cond_broadcast(&H.idle);
	pthread_mutex_unlock(&H.lock);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (atomic_load(&H.starting)) {
		snprintf(H.start_error, sizeof(H.start_error), "%s", buf);
		ocspd_log(OCSPD_LOG_ERR, "http: %s", buf);
	} else
		ocspd_log(OCSPD_LOG_DEBUG, "http: %s", buf);
}

/* ---- start and stop ---- */

static int read_pem(const char *path, const char *what, char **out, size_t *outlen, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > PEM_MAX || fseek(f, 0, SEEK_SET) != 0 ||
		(buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s %s: cannot read it (at most %ld bytes)", what, path, PEM_MAX);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (outlen != NULL)
		*outlen = (size_t)n;
	return 0;
}

static void free_tls_files(void)
{
	if (H.tls_key != NULL)
		OPENSSL_cleanse(H.tls_key, H.tls_key_len);
	free(H.tls_key);
	free(H.tls_cert);
	free(H.tls_trust);
	H.tls_key = H.tls_cert = H.tls_trust = NULL;
}

static int bind_address(const char *listen, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

/* A daemon for one listener: the worker pool, fed by its acceptor (acceptor.h). */
static struct MHD_Daemon *start_daemon(const ocspd_config *c, unsigned port, bool tls, acceptor **acc,
	char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;
	char why[sizeof(H.start_error)];
	/* What only the HTTPS listener has. */
	struct MHD_OptionItem tls_options[] = {
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, NULL },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, H.tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, H.tls_key },
		{ MHD_OPTION_HTTPS_MEM_TRUST, 0, H.tls_trust },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES },
		{ MHD_OPTION_END, 0, NULL },
	}, no_options[] = { { MHD_OPTION_END, 0, NULL } };

	if (bind_address(c->listen, port, &ss) < 0) {
		snprintf(err, errlen, "listen: '%s' is not an IPv4 or IPv6 address", c->listen);
		return NULL;
	}
	d = MHD_start_daemon(flags | (tls ? MHD_USE_TLS : 0), 0, NULL, NULL, on_request, tls ? &tag_tls : &tag_plain,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->max_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_ARRAY, tls ? tls_options : no_options,
		MHD_OPTION_END);
	snprintf(why, sizeof(why), "%s", H.start_error[0] != '\0' ? H.start_error : "libmicrohttpd refused");
	if (d != NULL &&
	    (*acc = acceptor_start((struct sockaddr *)&ss, ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in), d, why, sizeof(why))) == NULL) {
		MHD_stop_daemon(d);
		d = NULL;
	}
	if (d == NULL)
		snprintf(err, errlen, "cannot listen on %s%s%s port %u%s: %s",
			ss.ss_family == AF_INET6 ? "[" : "", c->listen, ss.ss_family == AF_INET6 ? "]" : "", port,
			tls ? " (HTTPS)" : "", why);
	return d;
}

int http_start(const ocspd_config *c, char *err, size_t errlen)
{
	size_t n = strlen(c->path);

	if (H.plain != NULL || H.tls != NULL) {
		snprintf(err, errlen, "the HTTP listeners are already running");
		return -1;
	}
	while (n > 0 && c->path[n - 1] == '/')
		n--;
	if ((H.path = strndup(c->path, n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	H.pathlen = n;
	H.timeout = c->timeout;
	H.inflight = 0;
	atomic_store(&H.answering, 0);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&H.idle, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&H.max_request, c->max_request);
	atomic_store(&H.cache_max_age, c->cache_max_age);
	atomic_store(&H.stopping, false);
	atomic_store(&H.closing, false);
	H.start_error[0] = '\0';
	atomic_store(&H.starting, true);
	if (c->https_port != 0 &&
		(read_pem(c->https_cert, "https-cert", &H.tls_cert, NULL, err, errlen) < 0 ||
			read_pem(c->https_key, "https-key", &H.tls_key, &H.tls_key_len, err, errlen) < 0 ||
			read_pem(c->https_client_ca, "https-client-ca", &H.tls_trust, NULL, err, errlen) < 0))
		goto fail;
	if ((H.plain = start_daemon(c, c->port, false, &H.plain_acc, err, errlen)) == NULL)
		goto fail;
	if (c->https_port != 0 && (H.tls = start_daemon(c, c->https_port, true, &H.tls_acc, err, errlen)) == NULL)
		goto fail;
	atomic_store(&H.starting, false);
	ocspd_log(OCSPD_LOG_INFO, "http: listening on %s port %u%s, path %s, %u threads", c->listen, c->port,
		H.tls != NULL ? " and HTTPS" : "", shown_path(), c->threads);
	return 0;
fail:
	atomic_store(&H.starting, false);
	acceptor_stop(H.plain_acc);
	H.plain_acc = NULL;
	if (H.plain != NULL)
		MHD_stop_daemon(H.plain);
	H.plain = NULL;
	free_tls_files();
	free(H.path);
	H.path = NULL;
	pthread_cond_destroy(&H.idle);
	return -1;
}

void http_reload(const ocspd_config *c)
{
	atomic_store(&H.max_request, c->max_request);
	atomic_store(&H.cache_max_age, c->cache_max_age);
}

int http_stop(void)
{
	struct timespec until;
	unsigned left, answering;

	if (H.plain == NULL && H.tls == NULL)
		return 0;
	atomic_store(&H.stopping, true);
	acceptor_stop(H.plain_acc);
	acceptor_stop(H.tls_acc);
	H.plain_acc = H.tls_acc = NULL;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += H.timeout > 0 ? H.timeout : 1;
	pthread_mutex_lock(&H.lock);
	while (H.inflight > 0)
		if (pthread_cond_timedwait(&H.idle, &H.lock, &until) == ETIMEDOUT)
			break;
	left = H.inflight;
	/* A suspended connection must be resumed before its daemon stops (libmicrohttpd aborts
	 * otherwise); every answer comes back, signed, refused or unrecorded. A request still
	 * open could start a new answer after the count reached zero: from here none starts. */
	atomic_store(&H.closing, true);
	until.tv_sec += STOP_ANSWER_WAIT;
	while (atomic_load(&H.answering) > 0)
		if (pthread_cond_timedwait(&H.idle, &H.lock, &until) == ETIMEDOUT)
			break;
	answering = atomic_load(&H.answering);
	pthread_mutex_unlock(&H.lock);
	if (left > 0)
		ocspd_log(OCSPD_LOG_WARNING, "http: stopping with %u requests unfinished after %u s", left, H.timeout);
	if (answering > 0) {
		/* Stopping the daemons now would abort the process: leave them to the exit. */
		ocspd_log(OCSPD_LOG_ERR, "http: %u answers still being signed or recorded after %u s more; "
			"not waiting for them", answering, STOP_ANSWER_WAIT);
		return -1;
	}
	if (H.tls != NULL)
		MHD_stop_daemon(H.tls);
	if (H.plain != NULL)
		MHD_stop_daemon(H.plain);
	H.plain = H.tls = NULL;
	free_tls_files();
	free(H.path);
	H.path = NULL;
	pthread_cond_destroy(&H.idle);
	return 0;
}
