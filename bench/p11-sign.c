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

#include "latency.h"
#include "p11key.h"

#define MAX_THREADS 256
#define MESSAGE_LEN 320

typedef struct worker {
	pthread_t tid;
	jpki_p11key *key;
	long signs, failures;
	int verified;		/* 1 ok, -1 failed, 0 not tried */
	latencies lat;
} worker;

static unsigned char message[MESSAGE_LEN];
static int seconds;
static pthread_barrier_t start;

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
	end = bench_now() + seconds;
	while ((t0 = bench_now()) < end) {
		siglen = sizeof(sig);
		if (!sign_once(pkey, sig, &siglen)) {
			w->failures++;
			ERR_clear_error();
			if (w->failures > 100)
				break;
			continue;
		}
		t1 = bench_now();
		if (w->verified == 0) {
			EVP_PKEY *pub = jpki_p11key_pubkey(w->key);

			w->verified = pub != NULL && verify_once(pub, sig, siglen) ? 1 : -1;
		}
		w->signs++;
		if (latencies_add(&w->lat, t1 - t0) < 0)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	worker *ws;
	jpki_err err;
	int threads, i, bad = 0;
	long signs = 0, failures = 0;
	latencies all = { 0 };
	double t0, elapsed, p50, p99;

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
	t0 = bench_now();
	for (i = 0; i < threads; i++) {
		pthread_join(ws[i].tid, NULL);
		signs += ws[i].signs;
		failures += ws[i].failures;
		latencies_merge(&all, &ws[i].lat);
		if (ws[i].verified != 1)
			bad++;
	}
	elapsed = bench_now() - t0;
	for (i = 0; i < threads; i++)
		jpki_p11key_close(ws[i].key);
	latencies_percentiles(&all, &p50, &p99);
	printf("signs_per_s=%.1f signs=%ld threads=%d failures=%ld unverified_threads=%d p50_ms=%.3f p99_ms=%.3f\n",
		(double)signs / (elapsed > seconds ? elapsed : seconds), signs, threads, failures, bad, p50, p99);
	latencies_free(&all);
	free(ws);
	return failures == 0 && bad == 0 && signs > 0 ? 0 : 1;
}
