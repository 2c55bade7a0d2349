/* Unit tests for lib/secret.c: a secret alone in a file, with its line end trimmed; the
 * length limit to the byte; and the refusals (empty, NUL byte, second line, too long, a
 * missing or unreadable file), each naming the label, the file and the rule. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "secret.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_main.h"

#define SIZE 9		/* the buffer the tests read into: secrets of up to 8 bytes */

static char dir[64];
static char path[128];

static int setup(void)
{
	snprintf(dir, sizeof(dir), "%s/jpki-secret-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void)
{
	unlink(path);
	return rmdir(dir);
}

/* The file holds exactly the len bytes of data. */
static void put(const char *data, size_t len)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/secret", dir);
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
}

/* Read as want (NULL: refused with the message "<label> <path>: <rule>"). */
static void reads(const char *data, size_t len, const char *want, const char *rule)
{
	char buf[SIZE], msg[256];
	jpki_err err = { "" };
	int rc;

	put(data, len);
	memset(buf, '#', sizeof(buf));
	rc = jpki_secret_read("test file", path, buf, sizeof(buf), &err);
	if (want != NULL) {
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(err.text, "");
		CU_ASSERT_STRING_EQUAL(buf, want);
		return;
	}
	snprintf(msg, sizeof(msg), "test file %s: %s", path, rule);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_STRING_EQUAL(err.text, msg);
	CU_ASSERT_EQUAL(buf[0], '\0');		/* nothing of the file is left in buf */
	CU_ASSERT_PTR_NULL(memchr(buf, 'a', sizeof(buf)));
}

#define DATA(s) s, sizeof(s) - 1

static void test_line_ends(void)
{
	reads(DATA("abc"), "abc", NULL);
	reads(DATA("abc\n"), "abc", NULL);
	reads(DATA("abc\r\n"), "abc", NULL);
	reads(DATA("abc\r"), "abc", NULL);
	reads(DATA(" a b\t"), " a b\t", NULL);	/* blanks are part of a secret */
	reads(DATA("abc\n\n"), NULL, "more than one line");
	reads(DATA("abc\ndef\n"), NULL, "more than one line");
	reads(DATA("abc\rdef"), NULL, "more than one line");
	reads(DATA("abc\n\r\n"), NULL, "more than one line");
}

static void test_empty_and_nul(void)
{
	reads(DATA(""), NULL, "empty");
	reads(DATA("\n"), NULL, "empty");
	reads(DATA("\r\n"), NULL, "empty");
	reads(DATA("ab\0cd\n"), NULL, "contains a NUL byte");
	reads(DATA("\0"), NULL, "contains a NUL byte");
	reads(DATA("abcd\0"), NULL, "contains a NUL byte");
}

/* SIZE - 1 bytes fit, with or without a line end; one more does not. */
static void test_length_boundary(void)
{
	reads(DATA("aaaaaaaa"), "aaaaaaaa", NULL);
	reads(DATA("aaaaaaaa\n"), "aaaaaaaa", NULL);
	reads(DATA("aaaaaaaa\r\n"), "aaaaaaaa", NULL);
	reads(DATA("aaaaaaaaa"), NULL, "longer than 8 bytes");
	reads(DATA("aaaaaaaaa\n"), NULL, "longer than 8 bytes");
	reads(DATA("aaaaaaaaa\r\n"), NULL, "longer than 8 bytes");
	reads(DATA("aaaaaaaa\n\n"), NULL, "longer than 8 bytes");
	reads(DATA("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
		NULL, "longer than 8 bytes");
}

static void test_unreadable(void)
{
	char buf[SIZE] = "kept", missing[160], want[256];
	jpki_err err = { "" };

	snprintf(missing, sizeof(missing), "%s/no-such-file", dir);
	snprintf(want, sizeof(want), "PIN file %s: No such file or directory", missing);
	CU_ASSERT_EQUAL(jpki_secret_read("PIN file", missing, buf, sizeof(buf), &err), -1);
	CU_ASSERT_STRING_EQUAL(err.text, want);
	CU_ASSERT_EQUAL(buf[0], '\0');

	/* a directory opens but cannot be read */
	snprintf(want, sizeof(want), "password file %s: read failed: Is a directory", dir);
	CU_ASSERT_EQUAL(jpki_secret_read("password file", dir, buf, sizeof(buf), &err), -1);
	CU_ASSERT_STRING_EQUAL(err.text, want);

	/* a NULL err is allowed */
	CU_ASSERT_EQUAL(jpki_secret_read("PIN file", missing, buf, sizeof(buf), NULL), -1);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("secret", setup, teardown);
	if (s == NULL ||
	    !CU_add_test(s, "line ends trimmed, one line only", test_line_ends) ||
	    !CU_add_test(s, "empty, NUL byte", test_empty_and_nul) ||
	    !CU_add_test(s, "length limit to the byte", test_length_boundary) ||
	    !CU_add_test(s, "missing file, directory", test_unreadable)) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
