/* ldap-hold: one LDAP connection, bound once, kept open while the test changes things around
 * it. Each line on standard input runs one base search of BASE for ATTR and prints
 * "values=N" (N values of ATTR returned) or "error=CODE"; end of input unbinds.
 *
 *   ldap-hold URI BINDDN PASSWORD-FILE BASE ATTR
 */
#include <ldap.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	LDAP *ld;
	LDAPMessage *res, *e;
	struct berval cred, **vals;
	char pw[256], line[64], *attrs[2];
	int version = LDAP_VERSION3, rc, n;
	FILE *fp;

	if (argc != 6) {
		fprintf(stderr, "usage: ldap-hold URI BINDDN PASSWORD-FILE BASE ATTR\n");
		return 2;
	}
	fp = fopen(argv[3], "r");
	if (fp == NULL || fgets(pw, sizeof(pw), fp) == NULL)
		return 2;
	fclose(fp);
	pw[strcspn(pw, "\r\n")] = '\0';
	if (ldap_initialize(&ld, argv[1]) != LDAP_SUCCESS)
		return 2;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	rc = ldap_sasl_bind_s(ld, argv[2], LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	printf("bind=%d\n", rc);
	fflush(stdout);
	attrs[0] = argv[5];
	attrs[1] = NULL;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		rc = ldap_search_ext_s(ld, argv[4], LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
			NULL, 0, &res);
		if (rc != LDAP_SUCCESS) {
			printf("error=%d\n", rc);
		} else {
			n = 0;
			for (e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
				vals = ldap_get_values_len(ld, e, argv[5]);
				n += vals != NULL ? ldap_count_values_len(vals) : 0;
				ldap_value_free_len(vals);
			}
			printf("values=%d\n", n);
		}
		ldap_msgfree(res);
		fflush(stdout);
	}
	ldap_unbind_ext_s(ld, NULL, NULL);
	return 0;
}
