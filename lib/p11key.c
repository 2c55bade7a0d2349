/* Private keys in a PKCS#11 token: RFC 7512 URI (parsed by p11-kit) -> libp11 -> EVP_PKEY.
 *
 * A process may hold several keys from the same module (the test PKI signs a certificate
 * for a key that lives on the same token as the issuer's). C_Finalize is global to a
 * module, so one loaded module is shared by every open key that names it and unloaded with
 * the last of them. */
#define _POSIX_C_SOURCE 200809L
#include "p11key.h"

#include <errno.h>
#include <stdbool.h>
#include <libp11.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "secret.h"

#define DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define MODULE_ENV "JPKI_PKCS11_MODULE"
#define PIN_MAX 256

/* One loaded PKCS#11 module, shared by the keys opened through it. */
struct p11_module {
	char *path;
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	unsigned int refs;
	struct p11_module *next;
};

struct jpki_p11key {
	struct p11_module *mod;
	EVP_PKEY *priv;
	EVP_PKEY *pub;
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;

/* --- modules ------------------------------------------------------------------------- */

static void module_unload(struct p11_module *m)
{
	if (m->slots != NULL)
		PKCS11_release_all_slots(m->ctx, m->slots, m->nslots);
	if (m->ctx != NULL) {
		PKCS11_CTX_unload(m->ctx);
		PKCS11_CTX_free(m->ctx);
	}
	free(m->path);
	free(m);
}

/* Caller holds modules_lock. */
static struct p11_module *module_acquire(const char *path, jpki_err *err)
{
	struct p11_module *m;

	for (m = modules; m != NULL; m = m->next) {
		if (strcmp(m->path, path) == 0) {
			m->refs++;
			return m;
		}
	}
	if (access(path, R_OK) != 0) {
		jpki_errf(err, "PKCS#11 module %s: %s", path, strerror(errno));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		jpki_errf(err, "PKCS#11 module %s: out of memory", path);
		return NULL;
	}
	m->ctx = PKCS11_CTX_new();
	if (m->ctx == NULL) {
		module_unload(m);
		jpki_errf_ssl(err, "PKCS#11 module %s: cannot create a libp11 context", path);
		return NULL;
	}
	if (PKCS11_CTX_load(m->ctx, path) != 0) {
		PKCS11_CTX_free(m->ctx);
		m->ctx = NULL;
		module_unload(m);
		jpki_errf_ssl(err, "PKCS#11 module %s: loading or C_Initialize failed", path);
		return NULL;
	}
	if (PKCS11_enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0) {
		m->slots = NULL;
		module_unload(m);
		jpki_errf_ssl(err, "PKCS#11 module %s: cannot list its slots", path);
		return NULL;
	}
	m->refs = 1;
	m->next = modules;
	modules = m;
	return m;
}

static void module_release(struct p11_module *m)
{
	struct p11_module **pp;

	pthread_mutex_lock(&modules_lock);
	if (--m->refs == 0) {
		for (pp = &modules; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		}
		module_unload(m);
	}
	pthread_mutex_unlock(&modules_lock);
}

static const char *module_path(P11KitUri *uri)
{
	const char *p = p11_kit_uri_get_module_path(uri);

	if (p != NULL && *p != '\0')
		return p;
	p = getenv(MODULE_ENV);
	if (p != NULL && *p != '\0')
		return p;
	return DEFAULT_MODULE;
}

/* --- URI ----------------------------------------------------------------------------- */

/* The URI for error messages, with any pin-value= replaced. */
static void redact(const char *text, char *out, size_t n)
{
	const char *pv = strstr(text, "pin-value=");
	size_t keep;

	if (pv == NULL) {
		snprintf(out, n, "%s", text);
		return;
	}
	keep = (size_t)(pv - text) + strlen("pin-value=");
	snprintf(out, n, "%.*s(hidden)%s", (int)keep, text, pv + strcspn(pv, "&"));
}

static int uri_parse(const char *text, P11KitUri **out, jpki_err *err)
{
	P11KitUri *uri;
	CK_ATTRIBUTE *cls;
	CK_INFO *mi;
	char shown[256];
	int rc;

	if (text == NULL || *text == '\0')
		return jpki_errf(err, "PKCS#11 URI: empty");
	uri = p11_kit_uri_new();
	if (uri == NULL)
		return jpki_errf(err, "PKCS#11 URI: out of memory");
	rc = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri);
	if (rc != P11_KIT_URI_OK) {
		p11_kit_uri_free(uri);
		redact(text, shown, sizeof(shown));
		return jpki_errf(err, "PKCS#11 URI \"%s\" is malformed: %s (RFC 7512)", shown,
		    p11_kit_uri_message(rc));
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		p11_kit_uri_free(uri);
		redact(text, shown, sizeof(shown));
		return jpki_errf(err, "PKCS#11 URI \"%s\" has attributes this program does not "
		    "understand; refusing to ignore them", shown);
	}
	mi = p11_kit_uri_get_module_info(uri);
	if (mi->libraryVersion.major != (CK_BYTE)-1 || mi->libraryVersion.minor != (CK_BYTE)-1) {
		p11_kit_uri_free(uri);
		redact(text, shown, sizeof(shown));
		return jpki_errf(err, "PKCS#11 URI \"%s\": library-version cannot be checked "
		    "through libp11; remove it", shown);
	}
	cls = p11_kit_uri_get_attribute(uri, CKA_CLASS);
	if (cls != NULL && (cls->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
	    *(CK_OBJECT_CLASS *)cls->pValue != CKO_PRIVATE_KEY)) {
		p11_kit_uri_free(uri);
		redact(text, shown, sizeof(shown));
		return jpki_errf(err, "PKCS#11 URI \"%s\" names an object of type other than "
		    "\"private\"; a signing key is needed", shown);
	}
	*out = uri;
	return 0;
}

/* Copies a NUL-terminated string into a blank-padded PKCS#11 text field. */
static void pad_field(unsigned char *dst, size_t n, const char *src)
{
	size_t len = src != NULL ? strlen(src) : 0;

	memset(dst, ' ', n);
	memcpy(dst, src != NULL ? src : "", len < n ? len : n);
}

static bool module_matches(P11KitUri *uri, const struct p11_module *m)
{
	CK_INFO info;

	memset(&info, 0, sizeof(info));
	pad_field(info.manufacturerID, sizeof(info.manufacturerID), m->ctx->manufacturer);
	pad_field(info.libraryDescription, sizeof(info.libraryDescription),
	    m->ctx->description);
	/* Not checked: uri_parse refuses library-version. */
	info.libraryVersion = p11_kit_uri_get_module_info(uri)->libraryVersion;
	return p11_kit_uri_match_module_info(uri, &info) == 1;
}

static bool slot_matches(P11KitUri *uri, PKCS11_SLOT *slot)
{
	CK_SLOT_INFO info;
	CK_SLOT_ID want = p11_kit_uri_get_slot_id(uri);

	if (want != (CK_SLOT_ID)-1 && PKCS11_get_slotid_from_slot(slot) != want)
		return false;
	memset(&info, 0, sizeof(info));
	pad_field(info.slotDescription, sizeof(info.slotDescription), slot->description);
	pad_field(info.manufacturerID, sizeof(info.manufacturerID), slot->manufacturer);
	return p11_kit_uri_match_slot_info(uri, &info) == 1;
}

static bool token_matches(P11KitUri *uri, const PKCS11_TOKEN *tok)
{
	CK_TOKEN_INFO info;

	memset(&info, 0, sizeof(info));
	pad_field(info.label, sizeof(info.label), tok->label);
	pad_field(info.manufacturerID, sizeof(info.manufacturerID), tok->manufacturer);
	pad_field(info.model, sizeof(info.model), tok->model);
	pad_field(info.serialNumber, sizeof(info.serialNumber), tok->serialnr);
	return p11_kit_uri_match_token_info(uri, &info) == 1;
}

/* A short description of what the URI asks for, for error messages. */
static void describe_token(P11KitUri *uri, char *buf, size_t n)
{
	CK_TOKEN_INFO *t = p11_kit_uri_get_token_info(uri);
	int label_len = (int)sizeof(t->label), serial_len = (int)sizeof(t->serialNumber);

	/* p11-kit leaves attributes the URI does not give zero-filled. */
	while (label_len > 0 && (t->label[label_len - 1] == ' ' || t->label[label_len - 1] == 0))
		label_len--;
	while (serial_len > 0 && (t->serialNumber[serial_len - 1] == ' ' ||
	    t->serialNumber[serial_len - 1] == 0))
		serial_len--;
	if (label_len == 0 && serial_len == 0)
		snprintf(buf, n, "any token");
	else
		snprintf(buf, n, "token%s%.*s%s%.*s", label_len ? " label=" : "",
		    label_len, (const char *)t->label, serial_len ? " serial=" : "",
		    serial_len, (const char *)t->serialNumber);
}

static PKCS11_SLOT *find_slot(P11KitUri *uri, struct p11_module *m, jpki_err *err)
{
	PKCS11_SLOT *found = NULL;
	unsigned int i, nfound = 0;
	char want[128];

	if (module_matches(uri, m)) {
		for (i = 0; i < m->nslots; i++) {
			PKCS11_SLOT *s = &m->slots[i];

			if (s->token == NULL || !s->token->initialized)
				continue;
			if (!slot_matches(uri, s) || !token_matches(uri, s->token))
				continue;
			if (found == NULL)
				found = s;
			nfound++;
		}
	}
	describe_token(uri, want, sizeof(want));
	if (nfound == 0) {
		jpki_errf(err, "PKCS#11: no initialised token matches %s in module %s "
		    "(%u slots; check the URI and, for SoftHSMv2, SOFTHSM2_CONF)",
		    want, m->path, m->nslots);
		return NULL;
	}
	if (nfound > 1) {
		jpki_errf(err, "PKCS#11: %u tokens match %s in module %s; name one with "
		    "token= or serial=", nfound, want, m->path);
		return NULL;
	}
	return found;
}

/* --- PIN ----------------------------------------------------------------------------- */

/* Fills pin; returns 1 if a PIN was found, 0 if none was given, -1 on error. */
static int get_pin(P11KitUri *uri, const char *pin_file, char *pin, size_t n, jpki_err *err)
{
	const char *src = pin_file != NULL ? pin_file : p11_kit_uri_get_pin_source(uri);
	const char *val;

	if (src != NULL && *src != '\0') {
		if (strncmp(src, "file:", 5) == 0)
			src += 5;
		return jpki_secret_read("PIN file", src, pin, n, err) == 0 ? 1 : -1;
	}
	val = p11_kit_uri_get_pin_value(uri);
	if (val == NULL || *val == '\0')
		return 0;
	if (strlen(val) >= n)
		return jpki_errf(err, "PKCS#11 URI: pin-value longer than %zu bytes", n - 1);
	strcpy(pin, val);
	return 1;
}

static int login(PKCS11_SLOT *slot, P11KitUri *uri, const char *pin_file, jpki_err *err)
{
	char pin[PIN_MAX + 1];
	int have, logged_in = 0, rc;

	if (PKCS11_is_logged_in(slot, 0, &logged_in) == 0 && logged_in)
		return 0;	/* an earlier key of this process logged in to this token */
	have = get_pin(uri, pin_file, pin, sizeof(pin), err);
	if (have < 0)
		return -1;
	if (have == 0) {
		if (slot->token->loginRequired)
			return jpki_errf(err, "PKCS#11 token \"%s\" requires a PIN: give a PIN "
			    "file or pin-source=/pin-value= in the URI", slot->token->label);
		return 0;
	}
	rc = PKCS11_login(slot, 0, pin);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rc != 0) {
		jpki_errf_ssl(err, "PKCS#11 login to token \"%s\" failed (wrong PIN, "
		    "or PIN locked)", slot->token->label);
		return JPKI_P11KEY_PIN_REFUSED;
	}
	return 0;
}

/* --- keys ---------------------------------------------------------------------------- */

static bool key_matches(const PKCS11_KEY *k, const CK_ATTRIBUTE *id, const CK_ATTRIBUTE *label)
{
	if (id != NULL && (k->id_len != id->ulValueLen ||
	    (id->ulValueLen > 0 && memcmp(k->id, id->pValue, id->ulValueLen) != 0)))
		return false;
	if (label != NULL && (k->label == NULL || strlen(k->label) != label->ulValueLen ||
	    memcmp(k->label, label->pValue, label->ulValueLen) != 0))
		return false;
	return true;
}

static void describe_key(const CK_ATTRIBUTE *id, const CK_ATTRIBUTE *label, char *buf, size_t n)
{
	size_t used = 0, i;

	buf[0] = '\0';
	if (id != NULL) {
		used += (size_t)snprintf(buf, n, "id=");
		for (i = 0; i < id->ulValueLen && used + 3 < n; i++)
			used += (size_t)snprintf(buf + used, n - used, "%02x",
			    ((const unsigned char *)id->pValue)[i]);
	}
	if (label != NULL && used < n)
		snprintf(buf + used, n - used, "%sobject=%.*s", id != NULL ? " " : "",
		    (int)label->ulValueLen, (const char *)label->pValue);
	if (id == NULL && label == NULL)
		snprintf(buf, n, "no id= or object= given");
}

static PKCS11_KEY *find_private_key(PKCS11_SLOT *slot, P11KitUri *uri, jpki_err *err)
{
	CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(uri, CKA_ID);
	CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
	PKCS11_KEY *keys = NULL, *found = NULL;
	unsigned int nkeys = 0, i, nfound = 0;
	char want[160];

	describe_key(id, label, want, sizeof(want));
	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
		jpki_errf_ssl(err, "PKCS#11 token \"%s\": cannot list private keys",
		    slot->token->label);
		return NULL;
	}
	for (i = 0; i < nkeys; i++) {
		if (!key_matches(&keys[i], id, label))
			continue;
		if (found == NULL)
			found = &keys[i];
		nfound++;
	}
	if (nfound == 0) {
		jpki_errf(err, "PKCS#11 token \"%s\": no private key with %s (%u private keys "
		    "on the token)", slot->token->label, want, nkeys);
		return NULL;
	}
	if (nfound > 1) {
		jpki_errf(err, "PKCS#11 token \"%s\": %u private keys match the URI (%s); "
		    "name one with id= or object=", slot->token->label, nfound, want);
		return NULL;
	}
	return found;
}

/* A software copy of a public key, independent of the token and of libp11. */
static EVP_PKEY *plain_public_copy(EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *copy = NULL;
	int len = i2d_PUBKEY(pk, &der);

	if (len > 0) {
		p = der;
		copy = d2i_PUBKEY(NULL, &p, len);
	}
	OPENSSL_free(der);
	return copy;
}

/* The public half, as a plain OpenSSL key so that verifying with it never goes through the
 * token: the modulus and exponent the token holds on the private key object (libp11 reads
 * CKA_MODULUS and CKA_PUBLIC_EXPONENT into the EVP_PKEY), else the certificate stored
 * with the key, which must then match.
 * (PKCS11_get_public_key is avoided: in libp11 0.4.12 every EVP_PKEY it makes leaks its
 * object and with it a reference to the slot, so the slot and the cached PIN are never
 * freed.) */
static EVP_PKEY *find_public_key(PKCS11_SLOT *slot, PKCS11_KEY *priv, EVP_PKEY *privpk,
    jpki_err *err)
{
	PKCS11_CERT *cert;
	EVP_PKEY *pub;
	const char *label = priv->label != NULL ? priv->label : "";

	pub = plain_public_copy(privpk);
	if (pub == NULL && (cert = PKCS11_find_certificate(priv)) != NULL && cert->x509 != NULL)
		pub = X509_get_pubkey(cert->x509);
	if (pub == NULL) {
		jpki_errf_ssl(err, "PKCS#11 token \"%s\": private key \"%s\" has no readable "
		    "public components and no certificate with the same ID",
		    slot->token->label, label);
		return NULL;
	}
	if (EVP_PKEY_eq(pub, privpk) != 1) {
		EVP_PKEY_free(pub);
		jpki_errf_ssl(err, "PKCS#11 token \"%s\": the certificate stored with private "
		    "key \"%s\" does not match it", slot->token->label, label);
		return NULL;
	}
	ERR_clear_error();
	return pub;
}

/* --- API ----------------------------------------------------------------------------- */

int jpki_p11key_open(const char *uri_text, const char *pin_file, jpki_p11key **out,
    jpki_err *err)
{
	P11KitUri *uri = NULL;
	jpki_p11key *k;
	PKCS11_SLOT *slot;
	PKCS11_KEY *key;
	int rc = -1;

	*out = NULL;
	if (uri_parse(uri_text, &uri, err) != 0)
		return -1;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		p11_kit_uri_free(uri);
		return jpki_errf(err, "PKCS#11: out of memory");
	}
	pthread_mutex_lock(&modules_lock);
	k->mod = module_acquire(module_path(uri), err);
	if (k->mod == NULL)
		goto out;
	if ((slot = find_slot(uri, k->mod, err)) == NULL)
		goto out;
	if (PKCS11_open_session(slot, 0) != 0) {
		jpki_errf_ssl(err, "PKCS#11 token \"%s\": cannot open a session",
		    slot->token->label);
		goto out;
	}
	if ((rc = login(slot, uri, pin_file, err)) != 0)
		goto out;
	rc = -1;
	if ((key = find_private_key(slot, uri, err)) == NULL)
		goto out;
	k->priv = PKCS11_get_private_key(key);
	if (k->priv == NULL) {
		jpki_errf_ssl(err, "PKCS#11 token \"%s\": cannot use private key \"%s\" "
		    "(unsupported key type?)", slot->token->label,
		    key->label != NULL ? key->label : "");
		goto out;
	}
	if ((k->pub = find_public_key(slot, key, k->priv, err)) == NULL)
		goto out;
	rc = 0;
out:
	pthread_mutex_unlock(&modules_lock);
	p11_kit_uri_free(uri);
	if (rc != 0) {
		jpki_p11key_close(k);
		return rc == JPKI_P11KEY_PIN_REFUSED ? rc : -1;
	}
	*out = k;
	return 0;
}

EVP_PKEY *jpki_p11key_pkey(jpki_p11key *k)
{
	return k->priv;
}

EVP_PKEY *jpki_p11key_pubkey(jpki_p11key *k)
{
	return k->pub;
}

void jpki_p11key_close(jpki_p11key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pub);
	EVP_PKEY_free(k->priv);
	if (k->mod != NULL)
		module_release(k->mod);
	free(k);
}
