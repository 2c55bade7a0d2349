#include "dn.h"

#include <ldap.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* LDAP attribute types are case-insensitive; OpenSSL's names are not ("CN", "commonName").
 * An exact match first, then every known short and long name without regard to case. */
static ASN1_OBJECT *type_to_obj(const char *type)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(type, 0);
	int nid, last;

	ERR_clear_error();
	if (obj != NULL)
		return obj;
	last = OBJ_new_nid(0);
	for (nid = 1; nid < last; nid++) {
		const char *sn = OBJ_nid2sn(nid), *ln = OBJ_nid2ln(nid);

		if ((sn != NULL && strcasecmp(sn, type) == 0) || (ln != NULL && strcasecmp(ln, type) == 0))
			return OBJ_nid2obj(nid);
	}
	ERR_clear_error();
	return NULL;
}

/* One AVA of an LDAP RDN into the name; set > 0 joins the previous entry's RDN. */
static int add_ava(X509_NAME *name, const LDAPAVA *ava, int set, jpki_err *err)
{
	char type[128];
	int type_is_oid;
	ASN1_OBJECT *obj;
	int ok;

	if (ava->la_attr.bv_len >= sizeof(type))
		return jpki_errf(err, "DN attribute type too long");
	memcpy(type, ava->la_attr.bv_val, ava->la_attr.bv_len);
	type[ava->la_attr.bv_len] = '\0';
	type_is_oid = (type[0] >= '0' && type[0] <= '9');
	obj = type_is_oid ? OBJ_txt2obj(type, 1) : type_to_obj(type);
	if (obj == NULL)
		return jpki_errf(err, "DN attribute type '%s' is unknown", type);
	if (ava->la_flags & LDAP_AVA_BINARY) {
		ASN1_OBJECT_free(obj);
		return jpki_errf(err, "DN attribute '%s' has a BER value; only strings are supported", type);
	}
	ok = X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8,
		(const unsigned char *)ava->la_value.bv_val, (int)ava->la_value.bv_len, -1, set);
	ASN1_OBJECT_free(obj);
	if (!ok)
		return jpki_errf_ssl(err, "DN attribute '%s' value rejected", type);
	return 0;
}

X509_NAME *jpki_dn_to_x509_name(const char *ldap_dn, jpki_err *err)
{
	LDAPDN dn = NULL;
	X509_NAME *name;
	int nrdn, i, j;

	if (ldap_str2dn(ldap_dn, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
		jpki_errf(err, "'%s' is not a valid LDAP DN", ldap_dn);
		return NULL;
	}
	name = X509_NAME_new();
	if (name == NULL) {
		ldap_dnfree(dn);
		jpki_errf(err, "out of memory");
		return NULL;
	}
	for (nrdn = 0; dn != NULL && dn[nrdn] != NULL; nrdn++)
		;
	/* LDAP strings put the leaf first; an X.509 name starts at the root. */
	for (i = nrdn - 1; i >= 0; i--) {
		for (j = 0; dn[i][j] != NULL; j++) {
			if (add_ava(name, dn[i][j], j == 0 ? 0 : -1, err) < 0) {
				X509_NAME_free(name);
				ldap_dnfree(dn);
				return NULL;
			}
		}
	}
	ldap_dnfree(dn);
	return name;
}

int jpki_dn_equals_x509_name(const char *ldap_dn, const X509_NAME *name)
{
	X509_NAME *mine = jpki_dn_to_x509_name(ldap_dn, NULL);
	int eq;

	if (mine == NULL)
		return -1;
	eq = (X509_NAME_cmp(mine, name) == 0);
	X509_NAME_free(mine);
	return eq;
}

char *jpki_x509_name_to_dn(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL, *data;
	long len;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(b, &data);
		out = malloc((size_t)len + 1);
		if (out != NULL) {
			memcpy(out, data, (size_t)len);
			out[len] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

int jpki_partition_dn(const char *base, const char *code, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "cn=%s,%s", code, base);

	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
