/* The signing threads: fresh OCSP answers are signed here, not in the HTTP workers, so that
 * every signing thread takes the next answer to sign whichever worker's connection asked for
 * it (libmicrohttpd keeps a connection on the worker that accepted it), and a worker never
 * waits on the token while its other connections have cached answers to send. Each signing
 * thread holds its own PKCS#11 session (signer.c keeps one key per thread). */
#ifndef OCSPD_SIGNPOOL_H
#define OCSPD_SIGNPOOL_H
#include <stddef.h>

typedef void signpool_job(void *arg);

/* Starts `threads` signing threads. -1 with err when none could be started. */
int signpool_start(unsigned threads, char *err, size_t errlen);
/* Runs job(arg) on a signing thread, in the order submitted; before the pool is started or
 * after it stopped, on the caller's thread. */
void signpool_submit(signpool_job *job, void *arg);
/* Jobs queued or being signed: answers whose audit records will come soon. */
unsigned signpool_backlog(void);
/* Called by a job once its signature is made, before it hands over its audit record, so
 * that the audit writer does not wait for a record that has already come (its group wait
 * lasts while signpool_backlog() is not 0). Once per job; nothing outside a signing thread. */
void signpool_signed(void);
/* Runs the jobs still queued, then joins the threads. */
void signpool_stop(void);

#endif
