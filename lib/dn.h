/* LDAP DNs (RFC 4514 strings) and X.509 names: the partition rule compares an entry's DN
 * with the DN a CRL names in its issuingDistributionPoint. */
#ifndef JPKI_DN_H
#define JPKI_DN_H
#include <openssl/x509.h>
#include "err.h"

/* The repository's DIT as shipped (ldif/): the CA entry and what hangs under it. */
#define JPKI_DEFAULT_CA_DN "ou=Chiba-ken,o=JPKI,c=JP"
#define JPKI_DEFAULT_PARTITION_BASE "ou=CRL Distribution Points," JPKI_DEFAULT_CA_DN
#define JPKI_DEFAULT_VERIFIER_BASE "ou=Verifiers," JPKI_DEFAULT_CA_DN
#define JPKI_DEFAULT_SERVICES_DN "ou=Services," JPKI_DEFAULT_CA_DN

/* Parses an LDAP DN with libldap and builds the X509_NAME with the same RDNs (root first). */
X509_NAME *jpki_dn_to_x509_name(const char *ldap_dn, jpki_err *err);
/* 1 when both name the same entry under OpenSSL's canonical comparison, 0 when not, -1 when
 * ldap_dn does not parse. */
int jpki_dn_equals_x509_name(const char *ldap_dn, const X509_NAME *name);
/* RFC 4514 string of an X509_NAME (malloc'd, UTF-8). */
char *jpki_x509_name_to_dn(const X509_NAME *name);
/* "cn=<code>,<base>" into out; -1 when it does not fit. */
int jpki_partition_dn(const char *base, const char *code, char *out, size_t outlen);

#endif
