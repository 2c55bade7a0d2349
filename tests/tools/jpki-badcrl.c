/* jpki-badcrl: makes CRLs that `jpki crl issue` refuses to make (reasons outside the CPS,
 * revocations without a ledger check), signed by a key in the token, so that the tests can
 * show the repository refusing them.
 *
 *   jpki-badcrl --ca-cert PEM --ca-key URI --dp DN [--arl] [--number N]
 *               [--this-update T] [--validity SECONDS] [--entry SERIAL:REASON]... --out FILE
 */
#include <getopt.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crl_issue.h"
#include "ledger.h"
#include "p11key.h"

static int die(const char *what)
{
	fprintf(stderr, "jpki-badcrl: %s\n", what);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca-cert", required_argument, NULL, 'c' }, { "ca-key", required_argument, NULL, 'k' },
		{ "dp", required_argument, NULL, 'd' }, { "arl", no_argument, NULL, 'a' },
		{ "number", required_argument, NULL, 'n' }, { "this-update", required_argument, NULL, 't' },
		{ "validity", required_argument, NULL, 'v' }, { "entry", required_argument, NULL, 'e' },
		{ "out", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 }
	};
	const char *cert_path = NULL, *key_uri = NULL, *out = NULL;
	jpki_crl_params p = { 0 };
	jpki_revocation revs[64];
	size_t n = 0;
	long long number = 1;
	long validity = 3600;
	jpki_p11key *key;
	jpki_err err;
	unsigned char *der;
	size_t len;
	FILE *fp;
	BIO *b;
	int opt;

	p.this_update = time(NULL);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': cert_path = optarg; break;
		case 'k': key_uri = optarg; break;
		case 'd': p.dp_dn = optarg; break;
		case 'a': p.kind = JPKI_CRL_ARL; break;
		case 'n': number = atoll(optarg); break;
		case 't':
			if (jpki_parse_utc(optarg, &p.this_update) < 0)
				return die("bad --this-update");
			break;
		case 'v': validity = atol(optarg); break;
		case 'e': {
			char *colon = strchr(optarg, ':');
			BIGNUM *bn = NULL;

			if (n == 64 || colon == NULL)
				return die("--entry SERIAL:REASON");
			*colon = '\0';
			if (!BN_hex2bn(&bn, optarg))
				return die("bad serial");
			revs[n] = (jpki_revocation){ BN_to_ASN1_INTEGER(bn, NULL), p.this_update - 60,
				atoi(colon + 1), "", 0 };
			BN_free(bn);
			n++;
			break;
		}
		case 'o': out = optarg; break;
		default: return die("unknown option");
		}
	}
	if (cert_path == NULL || key_uri == NULL || p.dp_dn == NULL || out == NULL)
		return die("--ca-cert, --ca-key, --dp and --out are required");
	b = BIO_new_file(cert_path, "r");
	p.ca_cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (p.ca_cert == NULL)
		return die("cannot read --ca-cert");
	if (jpki_p11key_open(key_uri, NULL, &key, &err) < 0)
		return die(err.text);
	p.ca_key = jpki_p11key_pkey(key);
	p.next_update = p.this_update + validity;
	p.number = ASN1_INTEGER_new();
	ASN1_INTEGER_set_int64((ASN1_INTEGER *)p.number, number);
	if (jpki_crl_build(&p, revs, n, NULL, NULL, &der, &len, &err) < 0)
		return die(err.text);
	fp = fopen(out, "wb");
	if (fp == NULL || fwrite(der, 1, len, fp) != len || fclose(fp) != 0)
		return die("cannot write --out");
	return 0;
}
