/* ocsp-reqgen: sets of DER OCSP requests for bench/ocsp-load, one file each, made with
 * OpenSSL's OCSP API the way `openssl ocsp -reqout` makes them (CertID with SHA-1, a 16-byte
 * nonce, the request signed with SHA-256 and the signer's certificate included), only
 * thousands of times faster than one `openssl` process per request.
 *
 *   ocsp-reqgen plain TARGETS OUTDIR COUNT
 *   ocsp-reqgen plain-nonce TARGETS OUTDIR COUNT
 *   ocsp-reqgen nonce TARGETS OUTDIR COUNT SIGNER-CERT SIGNER-KEY [THREADS]
 *   ocsp-reqgen pss   TARGETS OUTDIR COUNT SIGNER-CERT SIGNER-KEY [THREADS]
 *
 * TARGETS has one "ISSUER-PEM SERIAL-HEX" a line; request i asks about target i mod the
 * number of targets, one CertID each.
 *   plain  unsigned, no nonce (what `openssl ocsp -no_nonce -reqout` writes)
 *   plain-nonce  unsigned, a fresh nonce (what `openssl ocsp -reqout` writes): every request
 *          distinct, every answer signed afresh
 *   nonce  a fresh nonce, signed (RSA PKCS#1 v1.5): every request distinct
 *   pss    no nonce, signed with RSASSA-PSS (a random salt per signature): requests about the
 *          same certificate have the same CertIDs, hence the same cached answer, but every
 *          request's signature differs, so no verification result can be reused for another.
 *          The tbsRequest is the one OpenSSL encodes; only the signature step is done here,
 *          through ASN1_item_sign_ctx(), since OCSP_request_sign() takes no padding option.
 * Every signed request is checked with OCSP_request_verify() against the signer's certificate,
 * and nonce and pss sets are checked to hold no two equal requests; any failure: exit 1.
 */
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNT 2000000
#define MAX_TARGETS 100000
#define MAX_THREADS 64

/* The OCSPRequest of RFC 6960 4.1.1 with its parts as public types, so that the signature
 * can be made with an EVP_MD_CTX of our choosing. Encodes exactly as OCSP_REQUEST does. */
typedef struct req_signature {
	X509_ALGOR *algorithm;
	ASN1_BIT_STRING *signature;
	STACK_OF(X509) *certs;
} REQ_SIGNATURE;

ASN1_SEQUENCE(REQ_SIGNATURE) = {
	ASN1_SIMPLE(REQ_SIGNATURE, algorithm, X509_ALGOR),
	ASN1_SIMPLE(REQ_SIGNATURE, signature, ASN1_BIT_STRING),
	ASN1_EXP_SEQUENCE_OF_OPT(REQ_SIGNATURE, certs, X509, 0)
} static_ASN1_SEQUENCE_END(REQ_SIGNATURE)

typedef struct signed_request {
	OCSP_REQINFO *tbs;
	REQ_SIGNATURE *sig;
} SIGNED_REQUEST;

ASN1_SEQUENCE(SIGNED_REQUEST) = {
	ASN1_SIMPLE(SIGNED_REQUEST, tbs, OCSP_REQINFO),
	ASN1_EXP_OPT(SIGNED_REQUEST, sig, REQ_SIGNATURE, 0)
} static_ASN1_SEQUENCE_END(SIGNED_REQUEST)

typedef struct target {
	X509 *issuer;
	ASN1_INTEGER *serial;
} target;

enum mode { PLAIN, PLAIN_NONCE, NONCE, PSS };

static enum mode mode;
static target *targets;
static size_t ntargets, count;
static const char *outdir;
static X509 *signer;
static EVP_PKEY *signkey;
static unsigned char (*digests)[32];
static int nthreads = 1;

typedef struct job {
	pthread_t tid;
	int index;
	bool failed;
	unsigned long long bytes;
} job;

/* RSASSA-PSS over the tbsRequest of req (which has its requestorName set and no signature). */
static unsigned char *sign_pss(OCSP_REQUEST *req, int *outlen)
{
	unsigned char *der = NULL, *out = NULL;
	const unsigned char *p;
	int len = i2d_OCSP_REQUEST(req, &der);
	SIGNED_REQUEST *sr = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	X509 *copy = NULL;

	*outlen = -1;
	p = der;
	if (len <= 0 || ctx == NULL ||
	    (sr = (SIGNED_REQUEST *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(SIGNED_REQUEST))) == NULL ||
	    (sr->sig = (REQ_SIGNATURE *)ASN1_item_new(ASN1_ITEM_rptr(REQ_SIGNATURE))) == NULL ||
	    EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, signkey) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	    ASN1_item_sign_ctx(ASN1_ITEM_rptr(OCSP_REQINFO), sr->sig->algorithm, NULL, sr->sig->signature,
		    sr->tbs, ctx) <= 0 ||
	    (sr->sig->certs = sk_X509_new_null()) == NULL || (copy = X509_dup(signer)) == NULL ||
	    !sk_X509_push(sr->sig->certs, copy)) {
		X509_free(copy);
		goto out;
	}
	*outlen = ASN1_item_i2d((ASN1_VALUE *)sr, &out, ASN1_ITEM_rptr(SIGNED_REQUEST));
out:
	ASN1_item_free((ASN1_VALUE *)sr, ASN1_ITEM_rptr(SIGNED_REQUEST));
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return *outlen > 0 ? out : NULL;
}

/* The request about target i, DER-encoded (OPENSSL_free), its length in *len. */
static unsigned char *make(size_t i, int *len)
{
	const target *t = &targets[i % ntargets];
	OCSP_REQUEST *req = OCSP_REQUEST_new(), *back = NULL;
	OCSP_CERTID *id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(t->issuer),
		X509_get0_pubkey_bitstr(t->issuer), t->serial);
	unsigned char *der = NULL;
	const unsigned char *p;
	STACK_OF(X509) *one = NULL;

	*len = -1;
	if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
		OCSP_CERTID_free(id);
		goto out;
	}
	switch (mode) {
	case PLAIN:
		*len = i2d_OCSP_REQUEST(req, &der);
		break;
	case PLAIN_NONCE:
		if (!OCSP_request_add1_nonce(req, NULL, -1))
			goto out;
		*len = i2d_OCSP_REQUEST(req, &der);
		break;
	case NONCE:
		if (!OCSP_request_add1_nonce(req, NULL, -1) || !OCSP_request_sign(req, signer, signkey, NULL, NULL, 0))
			goto out;
		*len = i2d_OCSP_REQUEST(req, &der);
		break;
	case PSS:
		if (!OCSP_request_set1_name(req, X509_get_subject_name(signer)))
			goto out;
		der = sign_pss(req, len);
		break;
	}
	if (der == NULL || *len <= 0 || mode == PLAIN || mode == PLAIN_NONCE)
		goto out;
	/* What the responder will do with it: find the signer by name, check the signature. */
	p = der;
	back = d2i_OCSP_REQUEST(NULL, &p, *len);
	one = sk_X509_new_null();
	if (back == NULL || p != der + *len || one == NULL || !sk_X509_push(one, signer) ||
	    OCSP_request_verify(back, one, NULL, OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN) != 1) {
		OPENSSL_free(der);
		der = NULL;
		*len = -1;
	}
out:
	sk_X509_free(one);
	OCSP_REQUEST_free(back);
	OCSP_REQUEST_free(req);
	return der;
}

static void *run(void *arg)
{
	job *j = arg;
	size_t i;

	for (i = (size_t)j->index; i < count && !j->failed; i += (size_t)nthreads) {
		char path[4096];
		int len;
		unsigned char *der = make(i, &len);
		FILE *fp;

		if (der == NULL) {
			j->failed = true;
			break;
		}
		EVP_Digest(der, (size_t)len, digests[i], NULL, EVP_sha256(), NULL);
		snprintf(path, sizeof(path), "%s/%07zu.der", outdir, i);
		if ((fp = fopen(path, "wb")) == NULL || fwrite(der, 1, (size_t)len, fp) != (size_t)len) {
			j->failed = true;
			if (fp != NULL)
				fclose(fp);
		} else if (fclose(fp) != 0) {
			j->failed = true;
		}
		j->bytes += (unsigned long long)len;
		OPENSSL_free(der);
	}
	return NULL;
}

static int load_targets(const char *file)
{
	FILE *fp = fopen(file, "r");
	char line[4096], path[4000], hex[128], last[4000] = "";
	X509 *issuer = NULL;

	if (fp == NULL) {
		perror(file);
		return -1;
	}
	targets = calloc(MAX_TARGETS, sizeof(*targets));
	while (targets != NULL && fgets(line, sizeof(line), fp) != NULL && ntargets < MAX_TARGETS) {
		BIGNUM *bn = NULL;

		if (sscanf(line, "%3999s %127s", path, hex) != 2)
			continue;
		if (strcmp(path, last) != 0) {
			FILE *pf = fopen(path, "r");

			issuer = pf != NULL ? PEM_read_X509(pf, NULL, NULL, NULL) : NULL;
			if (pf != NULL)
				fclose(pf);
			if (issuer == NULL) {
				fprintf(stderr, "ocsp-reqgen: %s: no PEM certificate\n", path);
				fclose(fp);
				return -1;
			}
			snprintf(last, sizeof(last), "%s", path);
		} else {
			X509_up_ref(issuer);
		}
		targets[ntargets].issuer = issuer;
		if (!BN_hex2bn(&bn, hex) || (targets[ntargets].serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
			fprintf(stderr, "ocsp-reqgen: %s: bad serial\n", hex);
			BN_free(bn);
			fclose(fp);
			return -1;
		}
		BN_free(bn);
		ntargets++;
	}
	fclose(fp);
	return ntargets > 0 ? 0 : -1;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int main(int argc, char **argv)
{
	job *jobs;
	size_t i, dups = 0;
	unsigned long long bytes = 0;
	bool failed = false;
	int t;

	mode = strcmp(argv[1], "plain") == 0 ? PLAIN : strcmp(argv[1], "plain-nonce") == 0 ? PLAIN_NONCE :
		strcmp(argv[1], "nonce") == 0 ? NONCE : strcmp(argv[1], "pss") == 0 ? PSS : -1;
	if (argc < 5 || ((mode == NONCE || mode == PSS) && argc < 7) || argc > 8) {
		fprintf(stderr, "usage: ocsp-reqgen plain|plain-nonce|nonce|pss TARGETS OUTDIR COUNT "
			"[SIGNER-CERT SIGNER-KEY [THREADS]]\n");
		return 2;
	}
	outdir = argv[3];
	count = strtoul(argv[4], NULL, 10);
	if (argc == 8)
		nthreads = atoi(argv[7]);
	if ((int)mode < 0 || count == 0 || count > MAX_COUNT || nthreads <= 0 || nthreads > MAX_THREADS) {
		fprintf(stderr, "ocsp-reqgen: bad mode, COUNT (1-%d) or THREADS (1-%d)\n", MAX_COUNT, MAX_THREADS);
		return 2;
	}
	if (load_targets(argv[2]) < 0)
		return 1;
	if (mode == NONCE || mode == PSS) {
		FILE *cf = fopen(argv[5], "r"), *kf = fopen(argv[6], "r");

		signer = cf != NULL ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
		signkey = kf != NULL ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
		if (cf != NULL)
			fclose(cf);
		if (kf != NULL)
			fclose(kf);
		if (signer == NULL || signkey == NULL || !X509_check_private_key(signer, signkey)) {
			fprintf(stderr, "ocsp-reqgen: %s / %s: no matching certificate and key\n", argv[5], argv[6]);
			return 1;
		}
	}
	digests = calloc(count, sizeof(*digests));
	jobs = calloc((size_t)nthreads, sizeof(*jobs));
	if (digests == NULL || jobs == NULL)
		return 1;
	for (t = 0; t < nthreads; t++) {
		jobs[t].index = t;
		pthread_create(&jobs[t].tid, NULL, run, &jobs[t]);
	}
	for (t = 0; t < nthreads; t++) {
		pthread_join(jobs[t].tid, NULL);
		failed = failed || jobs[t].failed;
		bytes += jobs[t].bytes;
	}
	if (failed) {
		ERR_print_errors_fp(stderr);
		fprintf(stderr, "ocsp-reqgen: a request could not be made, verified or written\n");
		return 1;
	}
	qsort(digests, count, sizeof(*digests), cmp32);
	for (i = 1; i < count; i++)
		if (memcmp(digests[i - 1], digests[i], 32) == 0)
			dups++;
	printf("mode=%s requests=%zu targets=%zu identical=%zu avg_bytes=%.0f\n", argv[1], count, ntargets, dups,
		(double)bytes / (double)count);
	/* Plain requests about the same target are the same bytes by nature. */
	return mode != PLAIN && dups > 0 ? 1 : 0;
}
