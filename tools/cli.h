/* What every jpki subcommand shares: reading inputs, writing outputs atomically, the LDAP
 * connection options. */
#ifndef JPKI_CLI_H
#define JPKI_CLI_H
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "err.h"
#include "ldapconn.h"

/* Exit codes: 0 done, 1 refused or failed, 2 usage. */
#define EXIT_REFUSED 1
#define EXIT_USAGE 2

typedef int (*jpki_cmd_fn)(int argc, char **argv);

int cmd_crl_issue(int argc, char **argv);
int cmd_crl_publish(int argc, char **argv);
int cmd_ca_publish(int argc, char **argv);
int cmd_verifier(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_report_provision(int argc, char **argv);

/* Whole file into a malloc'd buffer. */
int cli_read_file(const char *path, unsigned char **data, size_t *len, jpki_err *err);
/* Writes dir/name through a temporary file and rename, so a reader never sees half a file. */
int cli_write_atomic(const char *dir, const char *name, const unsigned char *data, size_t len,
	jpki_err *err);
/* A duration: plain seconds or with a unit suffix s, m, h, d ("72h"); digits only, 1 or more,
 * at most LONG_MAX seconds. */
int cli_parse_duration(const char *text, long *out);
/* A whole decimal number from min to max: digits only, the whole text, no sign or blank. */
int cli_parse_number(const char *text, unsigned long long min, unsigned long long max,
	unsigned long long *out);

/* A JPKI_* variable, NULL when unset or empty: an empty one sets no default. Here, not in
 * cli.c, so that every call names its variable (tests/integration/test_man_jpki.sh). */
static inline const char *cli_getenv(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* LDAP options every networked subcommand takes; defaults come from the environment
 * (JPKI_LDAP_URI, JPKI_TLS_CA) so that `. demo/instance.env` is enough. */
#define CLI_LDAP_LONGOPTS \
	{ "uri", required_argument, NULL, 'H' }, \
	{ "bind-dn", required_argument, NULL, 'D' }, \
	{ "password-file", required_argument, NULL, 'y' }, \
	{ "starttls", no_argument, NULL, 'Z' }, \
	{ "tls-ca", required_argument, NULL, 'C' }
#define CLI_LDAP_SHORTOPTS "H:D:y:ZC:"
#define CLI_LDAP_USAGE \
	"  -H, --uri URI            LDAP server (default $JPKI_LDAP_URI)\n" \
	"  -D, --bind-dn DN         identity to bind as\n" \
	"  -y, --password-file F    a file holding the password on one line\n" \
	"  -Z, --starttls           use StartTLS\n" \
	"  -C, --tls-ca FILE        CA certificates that verify the server (default $JPKI_TLS_CA)\n"

void cli_ldap_defaults(jpki_ldap_opts *o);
/* 1 when opt was one of the LDAP options (and is now stored), 0 otherwise. */
int cli_ldap_option(jpki_ldap_opts *o, int opt, const char *arg);
/* After the options: the bind identity of the subcommand's variables where -D was not given.
 * The password file default goes with the DN default only: another DN's password is never
 * sent for it. */
void cli_ldap_bind_defaults(jpki_ldap_opts *o, const char *dn, const char *password_file);
/* 0 when there is a server to connect to; else names what is missing (-1). */
int cli_ldap_check(const jpki_ldap_opts *o, const char *cmd);

#endif
