/* Unit tests for lib/p11key.c against a real SoftHSMv2 token made in a private directory:
 * opening keys by RFC 7512 URI (id, label, serial, pin-source, pin-value, module-path),
 * signing through the token and verifying with the public key, and the error texts for a
 * wrong PIN, a missing token, key, module or PIN file, and malformed URIs. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv */
#include "p11key.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cunit_main.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN "jpki-unit"
#define PIN "4321"
#define SO_PIN "87654321"

static char dir[64];		/* the test's SoftHSM home */
static char pin_path[128];	/* PIN with a trailing newline */
static char serial[40];		/* the token's serial number, read back through the API */

/* Runs argv quietly; 0 on exit status 0. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	int status, fd;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int keygen(const char *id, const char *label)
{
	char *argv[] = { "pkcs11-tool", "--module", MODULE, "--token-label", TOKEN,
		"--login", "--pin", PIN, "--keypairgen", "--key-type", "rsa:2048",
		"--id", (char *)id, "--label", (char *)label, NULL };

	return run(argv);
}

static int suite_init(void)
{
	char conf[128], tokens[128], text[256];
	char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", TOKEN,
		"--pin", PIN, "--so-pin", SO_PIN, NULL };

	snprintf(dir, sizeof(dir), "/tmp/jpki-p11key-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(pin_path, sizeof(pin_path), "%s/pin", dir);
	snprintf(text, sizeof(text), "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", tokens);
	if (mkdir(tokens, 0700) != 0 || write_file(conf, text) != 0 ||
	    write_file(pin_path, PIN "\n") != 0)
		return -1;
	setenv("SOFTHSM2_CONF", conf, 1);
	unsetenv("JPKI_PKCS11_MODULE");
	if (run(init) != 0) {
		fprintf(stderr, "softhsm2-util --init-token failed\n");
		return -1;
	}
	/* Two keys, so that a URI naming neither is ambiguous. */
	if (keygen("01", "k1") != 0 || keygen("02", "k2") != 0) {
		fprintf(stderr, "pkcs11-tool --keypairgen failed\n");
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	char *argv[] = { "rm", "-rf", dir, NULL };

	return dir[0] != '\0' ? run(argv) : 0;
}

/* Signs with the token's key, verifies with the public key. */
static void check_signs(jpki_p11key *k)
{
	static const unsigned char msg[] = "千葉県 CRL 121002";
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(jpki_p11key_pubkey(k)), 2048);
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    jpki_p11key_pkey(k)), 1);
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_reset(md);
	CU_ASSERT_EQUAL(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    jpki_p11key_pubkey(k)), 1);
	CU_ASSERT_EQUAL(EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)), 1);
	/* A changed message must not verify. */
	EVP_MD_CTX_reset(md);
	CU_ASSERT_EQUAL(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    jpki_p11key_pubkey(k)), 1);
	CU_ASSERT_NOT_EQUAL(EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg) - 2), 1);
	EVP_MD_CTX_free(md);
}

static void open_ok(const char *uri, const char *pin_file)
{
	jpki_p11key *k = NULL;
	jpki_err err = { "" };

	if (jpki_p11key_open(uri, pin_file, &k, &err) != 0)
		fprintf(stderr, "\n  %s: %s\n", uri, err.text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	check_signs(k);
	jpki_p11key_close(k);
}

/* Expects failure rc with `want` in the message. */
static void open_fails_rc(const char *uri, const char *pin_file, int rc, const char *want)
{
	jpki_p11key *k = NULL;
	jpki_err err = { "" };

	CU_ASSERT_EQUAL(jpki_p11key_open(uri, pin_file, &k, &err), rc);
	CU_ASSERT_PTR_NULL(k);
	if (strstr(err.text, want) == NULL)
		fprintf(stderr, "\n  %s: expected \"%s\" in \"%s\"\n", uri, want, err.text);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, want));
	jpki_p11key_close(k);
}

static void open_fails(const char *uri, const char *pin_file, const char *want)
{
	open_fails_rc(uri, pin_file, -1, want);
}

static void test_by_id(void)
{
	open_ok("pkcs11:token=" TOKEN ";id=%01;type=private", pin_path);
}

static void test_by_label_pin_value(void)
{
	open_ok("pkcs11:token=" TOKEN ";object=k2?pin-value=" PIN, NULL);
}

static void test_pin_source_and_module_path(void)
{
	char uri[512];

	snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=k1;id=%%01"
	    "?module-path=" MODULE "&pin-source=file:%s", pin_path);
	open_ok(uri, NULL);
	snprintf(uri, sizeof(uri), "pkcs11:object=k1?pin-source=%s", pin_path);
	open_ok(uri, NULL);
}

static void test_by_serial(void)
{
	char uri[256];
	char *argv[] = { "sh", "-c", NULL, NULL };
	char cmd[512], out[128];
	FILE *f;

	/* The serial SoftHSM assigned, as pkcs11-tool reports it. */
	snprintf(out, sizeof(out), "%s/serial", dir);
	snprintf(cmd, sizeof(cmd), "pkcs11-tool --module " MODULE " -L | "
	    "sed -n 's/^ *serial num *: *//p' | head -n1 > %s", out);
	argv[2] = cmd;
	CU_ASSERT_EQUAL_FATAL(run(argv), 0);
	f = fopen(out, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(serial, sizeof(serial), f));
	fclose(f);
	serial[strcspn(serial, "\n")] = '\0';
	CU_ASSERT_FATAL(serial[0] != '\0');
	snprintf(uri, sizeof(uri), "pkcs11:serial=%s;id=%%02", serial);
	open_ok(uri, pin_path);
	snprintf(uri, sizeof(uri), "pkcs11:serial=0000000000000000;id=%%02");
	open_fails(uri, pin_path, "no initialised token matches");
}

static void test_two_keys_at_once(void)
{
	jpki_p11key *a = NULL, *b = NULL;
	jpki_err err = { "" };

	CU_ASSERT_EQUAL_FATAL(jpki_p11key_open("pkcs11:token=" TOKEN ";id=%01", pin_path, &a,
	    &err), 0);
	CU_ASSERT_EQUAL_FATAL(jpki_p11key_open("pkcs11:token=" TOKEN ";id=%02", pin_path, &b,
	    &err), 0);
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(jpki_p11key_pubkey(a), jpki_p11key_pubkey(b)), 1);
	check_signs(a);
	jpki_p11key_close(a);
	/* b still works after a's close: the module stays loaded. */
	check_signs(b);
	jpki_p11key_close(b);
}

static void test_wrong_pin(void)
{
	char path[128];

	/* the token said no to the PIN: told apart, so that no one retries it into a lockout */
	open_fails_rc("pkcs11:token=" TOKEN ";id=%01?pin-value=0000", NULL, JPKI_P11KEY_PIN_REFUSED, "wrong PIN");
	snprintf(path, sizeof(path), "%s/bad-pin", dir);
	CU_ASSERT_EQUAL_FATAL(write_file(path, "99999\n"), 0);
	open_fails_rc("pkcs11:token=" TOKEN ";id=%01", path, JPKI_P11KEY_PIN_REFUSED, "login to token \"" TOKEN "\" failed");
}

static void test_no_pin(void)
{
	char path[128];

	open_fails("pkcs11:token=" TOKEN ";id=%01", NULL, "requires a PIN");
	snprintf(path, sizeof(path), "%s/no-such-pin", dir);
	open_fails("pkcs11:token=" TOKEN ";id=%01", path, "No such file");
}

static void test_missing_token(void)
{
	open_fails("pkcs11:token=no-such-token;id=%01", pin_path,
	    "no initialised token matches token label=no-such-token");
}

static void test_missing_key(void)
{
	open_fails("pkcs11:token=" TOKEN ";id=%99", pin_path, "no private key with id=99");
	open_fails("pkcs11:token=" TOKEN ";object=nope", pin_path, "no private key with object=nope");
	/* Both given: both must match the same key. */
	open_fails("pkcs11:token=" TOKEN ";id=%01;object=k2", pin_path, "no private key with");
}

static void test_ambiguous_key(void)
{
	open_fails("pkcs11:token=" TOKEN, pin_path, "2 private keys match the URI");
}

static void test_malformed_uri(void)
{
	open_fails("file:///etc/passwd", pin_path, "malformed");
	open_fails("pkcs11:token=" TOKEN ";id=%zz", pin_path, "malformed");
	open_fails("", pin_path, "empty");
	open_fails("pkcs11:token=" TOKEN ";id=%01;type=cert", pin_path, "other than \"private\"");
	open_fails("pkcs11:token=" TOKEN ";id=%01;frobnicate=1", pin_path,
	    "does not understand");
}

/* A PIN in the URI never reaches an error message. */
static void test_pin_not_echoed(void)
{
	jpki_p11key *k = NULL;
	jpki_err err = { "" };

	CU_ASSERT_EQUAL(jpki_p11key_open("pkcs11:token=" TOKEN ";id=%zz?pin-value=" PIN
	    "&module-path=" MODULE, NULL, &k, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "malformed"));
	CU_ASSERT_PTR_NULL(strstr(err.text, PIN));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "module-path=" MODULE));
}

static void test_missing_module(void)
{
	open_fails("pkcs11:token=" TOKEN ";id=%01?module-path=/nonexistent/p11.so", pin_path,
	    "PKCS#11 module /nonexistent/p11.so: No such file");
	setenv("JPKI_PKCS11_MODULE", "/nonexistent/env.so", 1);
	open_fails("pkcs11:token=" TOKEN ";id=%01", pin_path, "/nonexistent/env.so");
	unsetenv("JPKI_PKCS11_MODULE");
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("p11key", suite_init, suite_clean);
	if (s == NULL ||
	    CU_add_test(s, "open by id, sign, verify", test_by_id) == NULL ||
	    CU_add_test(s, "open by label with pin-value", test_by_label_pin_value) == NULL ||
	    CU_add_test(s, "pin-source and module-path", test_pin_source_and_module_path) == NULL ||
	    CU_add_test(s, "open by token serial", test_by_serial) == NULL ||
	    CU_add_test(s, "two keys of one token at once", test_two_keys_at_once) == NULL ||
	    CU_add_test(s, "wrong PIN", test_wrong_pin) == NULL ||
	    CU_add_test(s, "no PIN", test_no_pin) == NULL ||
	    CU_add_test(s, "missing token", test_missing_token) == NULL ||
	    CU_add_test(s, "missing key", test_missing_key) == NULL ||
	    CU_add_test(s, "ambiguous key", test_ambiguous_key) == NULL ||
	    CU_add_test(s, "malformed URI", test_malformed_uri) == NULL ||
	    CU_add_test(s, "PIN not echoed", test_pin_not_echoed) == NULL ||
	    CU_add_test(s, "missing module", test_missing_module) == NULL)
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	return jpki_cunit_run();
}
