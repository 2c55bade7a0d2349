/* p11-sign: the raw RSA signing rate of a key held in a PKCS#11 token, through the same path
 * the responder signs with (lib/p11key: libp11, OpenSSL 3 EVP_DigestSign, SHA-256).
 * THREADS threads, each with its own key handle (its own PKCS#11 session, as each responder
 * worker has), sign a 320-byte message (about a tbsResponseData) for SECONDS. Prints the
 * signatures per second and the p50/p99 time of one signature. The first signature of every
 * thread is verified with the key's public half; a run that signs nothing, or whose signature
 * does not verify, fails.
 *
 *   p11-sign KEY-URI THREADS SECONDS
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11key.h"

#define MAX_THREADS 256
#define MESSAGE_LEN 320

typedef struct worker {
	pthread_t tid;
	jpki_p11key *key;
	long signs, failures;
	int verified;		/* 1 ok, -1 failed, 0 not tried */
	double *lat;
	size_t nlat, caplat;
} worker;

static unsigned char message[MESSAGE_LEN];
static int seconds;
static pthread_barrier_t start;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sign_once(EVP_PKEY *pkey, unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_DigestSign(ctx, sig, siglen, message, sizeof(message)) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

static int verify_once(EVP_PKEY *pub, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, message, sizeof(message)) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

static void *run(void *arg)
{
	worker *w = arg;
	EVP_PKEY *pkey = jpki_p11key_pkey(w->key);
	unsigned char sig[1024];
	size_t siglen;
	double end, t0, t1;

	pthread_barrier_wait(&start);
	end = now() + seconds;
	while ((t0 = now()) < end) {
		siglen = sizeof(sig);
		if (!sign_once(pkey, sig, &siglen)) {
			w->failures++;
			ERR_clear_error();
			if (w->failures > 100)
				break;
			continue;
		}
		t1 = now();
		if (w->verified == 0) {
			EVP_PKEY *pub = jpki_p11key_pubkey(w->key);

			w->verified = pub != NULL && verify_once(pub, sig, siglen) ? 1 : -1;
		}
		w->signs++;
		if (w->nlat == w->caplat) {
			double *grown;

			w->caplat = w->caplat ? w->caplat * 2 : 4096;
			grown = realloc(w->lat, w->caplat * sizeof(*grown));
			if (grown == NULL)
				break;
			w->lat = grown;
		}
		w->lat[w->nlat++] = t1 - t0;
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	worker *ws;
	jpki_err err;
	int threads, i, bad = 0;
	long signs = 0, failures = 0;
	double *all, t0, elapsed;
	size_t nall = 0, j;

	if (argc != 4) {
		fprintf(stderr, "usage: p11-sign KEY-URI THREADS SECONDS\n");
		return 2;
	}
	threads = atoi(argv[2]);
	seconds = atoi(argv[3]);
	if (threads <= 0 || threads > MAX_THREADS || seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "p11-sign: THREADS 1-%d, SECONDS 1-3600\n", MAX_THREADS);
		return 2;
	}
	for (i = 0; i < MESSAGE_LEN; i++)
		message[i] = (unsigned char)(i * 7 + 3);
	ws = calloc((size_t)threads, sizeof(*ws));
	if (ws == NULL)
		return 1;
	/* One handle per thread, opened one after the other (SoftHSM's file store is read at
	 * each login). */
	for (i = 0; i < threads; i++) {
		if (jpki_p11key_open(argv[1], NULL, &ws[i].key, &err) < 0) {
			fprintf(stderr, "p11-sign: %s\n", err.text);
			return 1;
		}
	}
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	for (i = 0; i < threads; i++)
		pthread_create(&ws[i].tid, NULL, run, &ws[i]);
	pthread_barrier_wait(&start);
	t0 = now();
	for (i = 0; i < threads; i++) {
		pthread_join(ws[i].tid, NULL);
		signs += ws[i].signs;
		failures += ws[i].failures;
		nall += ws[i].nlat;
		if (ws[i].verified != 1)
			bad++;
	}
	elapsed = now() - t0;
	all = malloc((nall + 1) * sizeof(*all));
	if (all == NULL)
		return 1;
	for (i = 0, j = 0; i < threads; i++) {
		memcpy(all + j, ws[i].lat, ws[i].nlat * sizeof(*all));
		j += ws[i].nlat;
		free(ws[i].lat);
		jpki_p11key_close(ws[i].key);
	}
	qsort(all, nall, sizeof(*all), cmp);
	printf("signs_per_s=%.1f signs=%ld threads=%d failures=%ld unverified_threads=%d p50_ms=%.3f p99_ms=%.3f\n",
		(double)signs / (elapsed > seconds ? elapsed : seconds), signs, threads, failures, bad,
		nall ? all[nall / 2] * 1e3 : 0.0, nall ? all[nall * 99 / 100] * 1e3 : 0.0);
	free(all);
	free(ws);
	return failures == 0 && bad == 0 && signs > 0 ? 0 : 1;
}
