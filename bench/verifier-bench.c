/* verifier-bench: finding the registered verifier behind a request (CPS 4-4-4-3) with the
 * responder's own code (responder/access.c, snapshot*.c, request_der.c: the snapshot's
 * indexes), against the scan of every verifier it replaced, kept here only as the baseline.
 *
 *   verifier-bench [ROUNDS]
 *
 * For 1, 100 and 2000 registered verifiers of one RSA-2048 certificate each (distinct
 * subjects; one key for all, since only the candidates with the requestorName's subject get
 * signature work either way), the median over ROUNDS rounds (default 7) of the time per
 * request, in microseconds:
 *   signed/last   signed by the last verifier registered: the scan's longest success
 *   signed/none   signed by a certificate nobody registered: no candidate succeeds
 *   client/last   the HTTPS client certificate's SHA-256, the last verifier's
 *   client/none   a SHA-256 nobody registered
 * and the time of one OCSP_request_verify() with the right certificate alone (the signature
 * work both ways must do) and of snapshot_build() with its indexes. Fails when the two ways
 * disagree.
 */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "latency.h"
#include "request_der.h"
#include "snapshot.h"

#define MAX_ROUNDS 50
#define FLAGS (OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHAIN)

void ocspd_log(int level, const char *fmt, ...)
{
	(void)level, (void)fmt;	/* the refusals each request logs: not timed */
}

static EVP_PKEY *subject_key, *issuer_key;
static time_t now;

/* A certificate for "CN=<cn>, O=Relying Parties, C=JP", self-issued; issuer_key (P-256)
 * signs it, quickly. */
static X509 *make_cert(const char *cn, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (x == NULL || n == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Relying Parties", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    !X509_set_pubkey(x, subject_key) || X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(n);
	return x;
}

/* A snapshot of n active verifiers allowed ocsp, "relying party 0" to n-1, built by the
 * daemon's snapshot_build(); *last gets the last one's certificate. */
static snapshot *registry(size_t n, X509 **last, double *build_s)
{
	model m = { 0 };
	STACK_OF(X509) *anchors = sk_X509_new_null();
	jpki_crl_policy pol;
	snapshot *s = NULL;
	double t0;
	char cn[40];

	m.verifiers = calloc(n, sizeof(*m.verifiers));
	if (m.verifiers == NULL || anchors == NULL)
		goto out;
	for (m.nverifiers = 0; m.nverifiers < n; m.nverifiers++) {
		model_verifier *v = &m.verifiers[m.nverifiers];
		unsigned char *der = NULL;
		unsigned int hl = 32;
		X509 *x;
		int len;

		snprintf(cn, sizeof(cn), "relying party %zu", m.nverifiers);
		x = make_cert(cn, (long)m.nverifiers + 1);
		v->uuid = strdup(cn);
		v->dn = strdup(cn);
		v->state = (jpki_verifier_state){ .status = JPKI_VERIFIER_ACTIVE, .start = now - 86400,
			.end = now + 86400, .has_period = true, .methods = JPKI_METHOD_OCSP };
		v->cert_sha256 = malloc(32);
		v->certs = calloc(1, sizeof(*v->certs));
		if (x != NULL && v->certs != NULL && (len = i2d_X509(x, &der)) > 0 &&
		    (v->certs[0].der = malloc((size_t)len)) != NULL) {
			memcpy(v->certs[0].der, der, (size_t)len);
			v->certs[0].len = (size_t)len;
			v->ncertders = 1;
		}
		OPENSSL_free(der);
		X509_free(*last);
		*last = x;
		if (x == NULL || v->uuid == NULL || v->dn == NULL || v->cert_sha256 == NULL || v->ncertders != 1 ||
		    !X509_digest(x, EVP_sha256(), v->cert_sha256[0], &hl)) {
			m.nverifiers++;	/* for model_free() */
			goto out;
		}
		v->ncerts = 1;
	}
	jpki_crl_policy_default(&pol);
	t0 = bench_now();
	s = snapshot_build(&m, anchors, &pol, 1, now);
	*build_s = bench_now() - t0;
out:
	sk_X509_free(anchors);
	model_free(&m);
	return s;
}

/* A request for one serial, signed with cert and the subject key, without certificates (as
 * the daemon parses it: it drops them), decoded from its DER. */
static OCSP_REQUEST *signed_request(X509 *cert)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new(), *back = NULL;
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, cert);
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	if (req != NULL && id != NULL && OCSP_request_add0_id(req, id) != NULL) {
		id = NULL;
		if (OCSP_request_sign(req, cert, subject_key, EVP_sha256(), NULL, OCSP_NOCERTS) &&
		    (len = i2d_OCSP_REQUEST(req, &der)) > 0) {
			p = der;
			back = d2i_OCSP_REQUEST(NULL, &p, len);
		}
	}
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
	return back;
}

/* ---- before: the scans the indexes replaced ---- */

static const registered *scan_signer(OCSP_REQUEST *req, const snapshot *s)
{
	STACK_OF(X509) *one = sk_X509_new_null();
	const registered *found = NULL;
	size_t i;
	int j;

	for (i = 0; one != NULL && found == NULL && i < s->nverifiers; i++) {
		for (j = 0; found == NULL && j < sk_X509_num(s->verifiers[i].certs); j++) {
			sk_X509_zero(one);
			sk_X509_push(one, sk_X509_value(s->verifiers[i].certs, j));
			if (OCSP_request_verify(req, one, NULL, FLAGS) == 1)
				found = &s->verifiers[i];
			ERR_clear_error();
		}
	}
	sk_X509_free(one);
	return found;
}

static const registered *scan_cert(const snapshot *s, const unsigned char sha256[32])
{
	for (size_t i = 0; i < s->nverifiers; i++)
		for (size_t j = 0; j < s->verifiers[i].ncerts; j++)
			if (memcmp(s->verifiers[i].cert_sha256[j], sha256, 32) == 0)
				return &s->verifiers[i];
	return NULL;
}

/* The old access_check's answer for a signed request or a client certificate. */
static access_result before(OCSP_REQUEST *req, const unsigned char *sha256, const snapshot *s)
{
	const registered *r = sha256 != NULL ? scan_cert(s, sha256) : scan_signer(req, s);
	char why[160];

	return r != NULL && jpki_verifier_allows(&r->state, JPKI_METHOD_OCSP, now, why, sizeof(why)) ?
		ACCESS_OK : ACCESS_UNAUTHORIZED;
}

static access_result after(OCSP_REQUEST *req, const unsigned char *sha256, const snapshot *s)
{
	static const ocspd_config c = { .require_signature = true };
	/* The daemon views the DER it received (answer.c prepare()); here each request is
	 * encoded and viewed once, outside the timed calls. */
	static OCSP_REQUEST *viewed;
	static unsigned char *der;
	static ocsp_request_view v;
	ocspd_client client = { .cert_sha256 = sha256 };
	ocspd_answer_info info;
	int len;

	if (req != viewed) {
		OPENSSL_free(der);
		der = NULL;
		len = i2d_OCSP_REQUEST(req, &der);
		if (len <= 0 || ocsp_request_view_of(der, (size_t)len, &v) != 1)
			return ACCESS_FAILED;
		viewed = req;
	}
	memset(&info, 0, sizeof(info));
	return access_check(&v, &client, s, &c, 0, now, &info);
}

static int rounds = 7;

/* Median seconds per call of way(req, sha256, s) over the rounds; each round runs for about
 * 50 ms. *got: what it answered. */
static double timed(access_result (*way)(OCSP_REQUEST *, const unsigned char *, const snapshot *),
	OCSP_REQUEST *req, const unsigned char *sha256, const snapshot *s, access_result *got)
{
	latencies l = { 0 };
	double t0 = bench_now(), one, p50, p99;
	long batch, k;

	*got = way(req, sha256, s);
	one = bench_now() - t0;
	batch = one > 0.05 ? 1 : (long)(0.05 / (one > 1e-7 ? one : 1e-7));
	for (int r = 0; r < rounds; r++) {
		t0 = bench_now();
		for (k = 0; k < batch; k++)
			way(req, sha256, s);
		latencies_add(&l, (bench_now() - t0) / (double)batch);
	}
	latencies_percentiles(&l, &p50, &p99);
	latencies_free(&l);
	return p50 / 1000.0;
}

static access_result verify_only(OCSP_REQUEST *req, const unsigned char *sha256, const snapshot *s)
{
	STACK_OF(X509) *one = sk_X509_new_null();
	int ok;

	(void)sha256;
	sk_X509_push(one, sk_X509_value(s->verifiers[s->nverifiers - 1].certs, 0));
	ok = OCSP_request_verify(req, one, NULL, FLAGS) == 1;
	ERR_clear_error();
	sk_X509_free(one);
	return ok ? ACCESS_OK : ACCESS_UNAUTHORIZED;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 100, 2000 };
	X509 *nobody;
	OCSP_REQUEST *stranger;
	unsigned char none[32] = { 0 };
	int failed = 0;

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: verifier-bench [ROUNDS 1-%d]\n", MAX_ROUNDS);
		return 2;
	}
	now = time(NULL);
	subject_key = EVP_RSA_gen(2048);
	issuer_key = EVP_EC_gen("P-256");
	nobody = subject_key != NULL && issuer_key != NULL ? make_cert("nobody", 1) : NULL;
	stranger = nobody != NULL ? signed_request(nobody) : NULL;
	if (stranger == NULL) {
		fprintf(stderr, "verifier-bench: no keys, certificate or request\n");
		return 1;
	}
	printf("%-9s %-12s %12s %12s %9s\n", "verifiers", "request", "before us", "after us", "speed-up");
	for (size_t z = 0; z < sizeof(sizes) / sizeof(*sizes); z++) {
		X509 *last = NULL;
		double build_s = 0;
		snapshot *s = registry(sizes[z], &last, &build_s);
		OCSP_REQUEST *req = s != NULL ? signed_request(last) : NULL;
		unsigned char h[32];
		unsigned int hl = 32;
		struct {
			const char *name;
			OCSP_REQUEST *req;
			const unsigned char *sha256;
			access_result want;
		} cases[] = {
			{ "signed/last", req, NULL, ACCESS_OK },
			{ "signed/none", stranger, NULL, ACCESS_UNAUTHORIZED },
			{ "client/last", req, h, ACCESS_OK },
			{ "client/none", req, none, ACCESS_UNAUTHORIZED },
		};
		access_result a, b;
		double ta, tb;

		if (req == NULL || !X509_digest(last, EVP_sha256(), h, &hl)) {
			fprintf(stderr, "verifier-bench: no registry of %zu\n", sizes[z]);
			return 1;
		}
		for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
			tb = timed(before, cases[c].req, cases[c].sha256, s, &b);
			ta = timed(after, cases[c].req, cases[c].sha256, s, &a);
			printf("%-9zu %-12s %12.2f %12.2f %8.1fx\n", sizes[z], cases[c].name, tb * 1e6, ta * 1e6, tb / ta);
			if (a != cases[c].want || b != cases[c].want) {
				fprintf(stderr, "verifier-bench: %s with %zu: before %d, after %d, want %d\n",
					cases[c].name, sizes[z], b, a, cases[c].want);
				failed = 1;
			}
		}
		printf("%-9zu %-12s %12.2f us (the signature alone); snapshot_build %.1f ms\n", sizes[z],
			"verify-one", timed(verify_only, req, NULL, s, &a) * 1e6, build_s * 1e3);
		OCSP_REQUEST_free(req);
		X509_free(last);
		snapshot_unref(s);
	}
	OCSP_REQUEST_free(stranger);
	X509_free(nobody);
	EVP_PKEY_free(subject_key);
	EVP_PKEY_free(issuer_key);
	return failed;
}
