/* Who may ask (CPS 4-4-4-3): registered verifiers that are active, inside their agreement
 * period and allowed the ocsp method — shown by the request's signature, or by the HTTPS
 * client certificate — and clients in the configured networks. */
#ifndef OCSPD_ACCESS_H
#define OCSPD_ACCESS_H
#include <openssl/ocsp.h>
#include "ocspd.h"
#include "snapshot.h"

typedef enum access_result {
	ACCESS_OK,
	ACCESS_SIG_REQUIRED,	/* unsigned where a signature is required */
	ACCESS_UNAUTHORIZED,	/* signed or certified by no allowed verifier */
} access_result;

/* requestor: the encoding of the request's requestorName (a directoryName's Name), or NULL
 * (ocsp_request_requestor_name() finds it in the request's DER). */
access_result access_check(OCSP_REQUEST *req, const unsigned char *requestor, size_t requestor_len,
	const ocspd_client *client, const snapshot *s, const ocspd_config *c, time_t now,
	ocspd_answer_info *info);

#endif
