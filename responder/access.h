/* Who may ask (CPS 4-4-4-3): registered verifiers that are active, inside their agreement
 * period and allowed the ocsp method — shown by the request's signature, or by the HTTPS
 * client certificate — and clients in the configured networks. The registry says who is
 * registered only as long as slapd confirmed it recently enough (registry-max-age). */
#ifndef OCSPD_ACCESS_H
#define OCSPD_ACCESS_H
#include "ocspd.h"
#include "request_der.h"
#include "snapshot.h"

typedef enum access_result {
	ACCESS_OK,
	ACCESS_SIG_REQUIRED,	/* unsigned where a signature is required */
	ACCESS_UNAUTHORIZED,	/* signed or certified by no allowed verifier */
	ACCESS_FAILED,		/* the check could not be made (out of memory): answer internalError */
	ACCESS_TRY_LATER,	/* the registry is needed and older than registry-max-age: tryLater */
} access_result;

/* v: the request as ocsp_request_view_of() found it. A signature is checked over the
 * tbsRequest's bytes as received, with the certificates the registry holds for the
 * requestorName, never those the request carries. registry_confirmed: when slapd last
 * confirmed s's registry (state_registry_confirmed; 0: never). A request the registry must
 * judge (a client certificate, or signed, not from an allowed network) gets
 * ACCESS_TRY_LATER while that is more than c->registry_max_age seconds before now, or more
 * than 300 s after it (unless registry_max_age is 0): a verifier suspended since would still
 * be answered. */
access_result access_check(const ocsp_request_view *v, const ocspd_client *client, const snapshot *s,
	const ocspd_config *c, time_t registry_confirmed, time_t now, ocspd_answer_info *info);

#endif
