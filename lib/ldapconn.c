#include "ldapconn.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "secret.h"

int jpki_ldap_connect(const jpki_ldap_opts *o, LDAP **out, jpki_err *err)
{
	LDAP *ld = NULL;
	int version = LDAP_VERSION3, rc;
	struct timeval tv = { o->timeout > 0 ? o->timeout : 30, 0 };
	char password[512] = "";
	struct berval cred;

	*out = NULL;
	rc = ldap_initialize(&ld, o->uri);
	if (rc != LDAP_SUCCESS)
		return jpki_errf(err, "%s: %s", o->uri, ldap_err2string(rc));
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (o->tls_ca_file != NULL) {
		int zero = 0;

		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, o->tls_ca_file);
		ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	}
	if (o->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		jpki_errf(err, "%s: StartTLS: %s", o->uri, ldap_err2string(rc));
		goto fail;
	}
	if (o->bind_dn != NULL) {
		if (o->password_file == NULL) {
			jpki_errf(err, "a password file is needed to bind as %s", o->bind_dn);
			goto fail;
		}
		if (jpki_secret_read("password file", o->password_file, password, sizeof(password),
			err) < 0)
			goto fail;
	}
	cred.bv_val = password;
	cred.bv_len = strlen(password);
	rc = ldap_sasl_bind_s(ld, o->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	memset(password, 0, sizeof(password));
	if (rc != LDAP_SUCCESS) {
		jpki_errf(err, "%s: bind as %s: %s", o->uri, o->bind_dn ? o->bind_dn : "anonymous",
			ldap_err2string(rc));
		goto fail;
	}
	*out = ld;
	return 0;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return -1;
}
