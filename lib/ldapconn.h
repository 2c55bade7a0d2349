/* Connecting and binding to the repository, the same way for the jpki command and the
 * responder: simple bind with a password read from a file (never from the command line),
 * optional StartTLS. */
#ifndef JPKI_LDAPCONN_H
#define JPKI_LDAPCONN_H
#include <ldap.h>
#include "err.h"

typedef struct jpki_ldap_opts {
	const char *uri;
	const char *bind_dn;		/* NULL: anonymous */
	const char *password_file;	/* the password alone, read by jpki_secret_read */
	const char *tls_ca_file;	/* verifies the server certificate */
	int starttls;
	int timeout;			/* seconds for connect and each operation; 0: 30 */
} jpki_ldap_opts;

int jpki_ldap_connect(const jpki_ldap_opts *o, LDAP **out, jpki_err *err);

#endif
