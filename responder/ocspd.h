/* jpki-ocspd: the OCSP responder of the JPKI repository (CPS 4-4-4-1 to 4-4-4-3).
 * Shared declarations between its parts: configuration (config.c), HTTP (http.c), the
 * answer (answer.c), signing (signer.c), access (access.c), the response cache (cache.c),
 * the repository snapshot (snapshot.c) kept current by LDAP sync (sync.c) and on disk
 * (store.c). */
#ifndef OCSPD_H
#define OCSPD_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "crl_check.h"

/* ---- configuration (config.c) ---- */

typedef struct ocspd_network {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
} ocspd_network;

typedef struct ocspd_config {
	/* HTTP */
	char *listen;			/* address, default 127.0.0.1 */
	unsigned port;			/* default 8080 */
	unsigned https_port;		/* 0: no HTTPS listener */
	char *https_cert, *https_key;	/* server certificate and key (files) */
	char *https_client_ca;		/* CA file that verifies client certificates */
	unsigned threads;		/* MHD thread pool, default 4 */
	unsigned max_connections;	/* default 1024 */
	unsigned max_per_ip;		/* default 64 */
	unsigned timeout;		/* seconds a connection may idle, default 10 */
	size_t max_request;		/* bytes, default 65536 */
	char *path;			/* URL prefix, default "/" */
	/* repository */
	char *ldap_uri, *bind_dn, *password_file, *ldap_tls_ca;
	char *ca_dn;			/* the CA entry; the sync base */
	char *verifier_base;
	unsigned sync_heartbeat;	/* seconds between liveness checks of the sync connection, default 30 */
	long registry_max_age;		/* seconds the registry may go unconfirmed by slapd; 0: no limit */
	char **anchors;			/* trust anchor PEM files */
	size_t nanchors;
	char *state_dir;		/* the last good copy */
	jpki_crl_policy policy;		/* the repository's rules for CRLs */
	/* signing */
	char *key_uri, *pin_file, *responder_cert;
	/* answers */
	unsigned max_certids;		/* default 16; above: malformedRequest */
	long cache_max_age;		/* seconds a cached answer may be served, default 300 */
	/* access (CPS 4-4-4-3) */
	bool require_signature;		/* default true */
	ocspd_network *allow;		/* networks allowed without authentication */
	size_t nallow;
	/* the audit trail (CPS 4-11-2) */
	char *audit_dir;		/* NULL: no records */
	char *audit_policy;		/* "fail-closed" (default) or "fail-open" */
	unsigned audit_group_wait_ms;	/* a batch of few records waits this long for more */
	char *audit_checkpoint_key;	/* PKCS#11 URI: signed checkpoints (optional) */
	char *audit_checkpoint_cert, *audit_checkpoint_pin;
	/* operations */
	char *pid_file;
	char *config_file;		/* where this came from, for SIGHUP */
	int log_level;
} ocspd_config;

void ocspd_config_defaults(ocspd_config *c);
/* Reads "name = value" lines; unknown names and bad values are errors naming the line. */
int ocspd_config_load(ocspd_config *c, const char *path, char *err, size_t errlen);
/* Command-line options override the file; see jpki-ocspd(8). */
int ocspd_config_args(ocspd_config *c, int argc, char **argv, char *err, size_t errlen);
/* registry-max-age beside the sync-heartbeat that confirms the registry: 0, or more than twice
 * the heartbeat and 10 s. */
bool ocspd_registry_max_age_fits(long registry_max_age, unsigned sync_heartbeat);
void ocspd_config_free(ocspd_config *c);
/* The effective settings, as --check prints them. */
void ocspd_config_print(const ocspd_config *c, FILE *out);
bool ocspd_network_contains(const ocspd_network *n, const struct sockaddr *sa);

/* ---- the answer (answer.c) ---- */

typedef struct ocspd_client {
	const struct sockaddr *addr;		/* the peer */
	const unsigned char *cert_sha256;	/* HTTPS client certificate's SHA-256, or NULL */
	char addr_text[64];
} ocspd_client;

typedef struct ocspd_answer_info {
	bool cacheable;		/* no nonce: HTTP caching headers apply */
	bool cache_hit;
	/* last_modified: the newest thisUpdate among the SingleResponses; next_update: the
	 * earliest nextUpdate, when the first of them goes stale. The OCSP thisUpdate of each
	 * SingleResponse is its own. */
	time_t last_modified, next_update, produced_at;
	/* One CertID of an issuer served: the answer carries Last-Modified (RFC 5019 6.2, its
	 * thisUpdate). Not with several: a partition's newer CRL may still be older than another
	 * CertID's thisUpdate, and a shared cache would answer If-Modified-Since from the header;
	 * nor for an issuer answered unknown (dated now: a CA served later brings older CRLs). */
	bool one_certid;
	char etag[80];		/* quoted, for ETag / If-None-Match */
	int response_status;	/* OCSP responseStatus sent */
	char verifier[256];	/* who asked (DN), or "" */
	const char *auth;	/* "signature", "client-certificate", "network", "none" */
	char why[240];		/* the rule behind an answer other than successful, for the record */
} ocspd_answer_info;

/* The answer to one request: resp (OPENSSL_malloc'd; the callee takes it) is a DER
 * OCSPResponse, or NULL when not even an error response could be encoded; info is valid
 * during the call only. */
typedef void ocspd_answer_done(void *arg, unsigned char *resp, size_t resplen, const ocspd_answer_info *info);

/* Answers one DER OCSPRequest: malformedRequest, tryLater, sigRequired, unauthorized or a
 * signed successful response, through done, exactly once, after the request's audit record
 * is on disk (CPS 4-11-2): before this returns (a cached answer, no audit trail) or later
 * from a signing thread or the audit writer. done must not block. req and client are only
 * read before this returns. */
void ocspd_answer_start(const unsigned char *req, size_t len, const ocspd_client *client,
	ocspd_answer_done *done, void *arg);

/* ---- the audit trail (daemon.c opens it; answer.c records every request) ---- */
struct jpki_audit;
struct jpki_audit *ocspd_audit(int *policy);

/* ---- lifecycle (main.c calls these) ---- */

int ocspd_start(const ocspd_config *c, char *err, size_t errlen);	/* snapshot, sync, signer */
void ocspd_stop(void);
int ocspd_reload(const ocspd_config *c, char *err, size_t errlen);	/* SIGHUP: key and settings */
const ocspd_config *ocspd_current_config(void);

void ocspd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define OCSPD_LOG_ERR 3
#define OCSPD_LOG_WARNING 4
#define OCSPD_LOG_INFO 6
#define OCSPD_LOG_DEBUG 7

#endif
