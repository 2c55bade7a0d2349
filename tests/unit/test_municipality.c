/* Unit tests for lib/municipality.c: check digit, code validation, table loading. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "municipality.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_main.h"
#include "fixture.h"

#ifndef JPKI_TEST_DATADIR
#error "JPKI_TEST_DATADIR must point at the source tree's data/"
#endif

#define SHIPPED JPKI_TEST_DATADIR "/municipalities.tsv"

static void test_check_digit_known(void)
{
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12100"), 2);	/* 千葉市 */
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12202"), 5);	/* 銚子市 */
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12463"), 0);	/* 鋸南町 */
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("99999"), 7);
}

static void test_check_digit_edges(void)
{
	/* sum mod 11 == 0: 11 - 0 = 11, last digit 1 (東金市 122131; all zeros). */
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12213"), 1);
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("00000"), 1);
	/* sum mod 11 == 1: 11 - 1 = 10, last digit 0 (館山市 122050). */
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12205"), 0);
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12219"), 0);
	/* sum mod 11 == 10: 11 - 10 = 1 (船橋市 122041). */
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12204"), 1);
	/* not five digits */
	CU_ASSERT_EQUAL(jpki_municipality_check_digit(NULL), -1);
	CU_ASSERT_EQUAL(jpki_municipality_check_digit(""), -1);
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("1210"), -1);
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("121002"), -1);
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("12a00"), -1);
	CU_ASSERT_EQUAL(jpki_municipality_check_digit("1210 "), -1);
}

static void test_code_valid(void)
{
	CU_ASSERT_TRUE(jpki_municipality_code_valid("121002"));
	CU_ASSERT_TRUE(jpki_municipality_code_valid("122131"));
	CU_ASSERT_TRUE(jpki_municipality_code_valid("122050"));
	CU_ASSERT_TRUE(jpki_municipality_code_valid("000001"));
	/* wrong check digit */
	CU_ASSERT_FALSE(jpki_municipality_code_valid("121003"));
	CU_ASSERT_FALSE(jpki_municipality_code_valid("122130"));
	CU_ASSERT_FALSE(jpki_municipality_code_valid("122051"));
	/* length */
	CU_ASSERT_FALSE(jpki_municipality_code_valid(NULL));
	CU_ASSERT_FALSE(jpki_municipality_code_valid(""));
	CU_ASSERT_FALSE(jpki_municipality_code_valid("12100"));
	CU_ASSERT_FALSE(jpki_municipality_code_valid("1210020"));
	/* non-digits */
	CU_ASSERT_FALSE(jpki_municipality_code_valid("12100a"));
	CU_ASSERT_FALSE(jpki_municipality_code_valid("a21002"));
	CU_ASSERT_FALSE(jpki_municipality_code_valid("12 002"));
	CU_ASSERT_FALSE(jpki_municipality_code_valid("-21002"));
}

static void test_load_shipped(void)
{
	jpki_municipalities m = { NULL, 0 };
	jpki_err err = { "" };
	const jpki_municipality *c;

	CU_ASSERT_EQUAL_FATAL(jpki_municipalities_load(SHIPPED, &m, &err), 0);
	CU_ASSERT_EQUAL(m.n, 54);
	for (size_t i = 0; i < m.n; i++) {
		CU_ASSERT_TRUE(jpki_municipality_code_valid(m.items[i].code));
		CU_ASSERT_PTR_EQUAL(jpki_municipalities_find(&m, m.items[i].code), &m.items[i]);
		CU_ASSERT_TRUE(m.items[i].name[0] != '\0' && m.items[i].romaji[0] != '\0');
	}
	c = jpki_municipalities_find(&m, "121002");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->name, "千葉市");
	CU_ASSERT_STRING_EQUAL(c->romaji, "Chiba-shi");
	c = jpki_municipalities_find(&m, "124630");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->name, "鋸南町");
	CU_ASSERT_PTR_NULL(jpki_municipalities_find(&m, "131016"));	/* Tokyo, not ours */
	CU_ASSERT_PTR_NULL(jpki_municipalities_find(&m, "12100"));
	CU_ASSERT_PTR_NULL(jpki_municipalities_find(&m, NULL));
	jpki_municipalities_free(&m);
	CU_ASSERT_PTR_NULL(m.items);
	CU_ASSERT_EQUAL(m.n, 0);
	jpki_municipalities_free(&m);	/* twice is harmless */
}

static void test_default_path(void)
{
	const char *p;

	CU_ASSERT_EQUAL_FATAL(setenv("JPKI_MUNICIPALITIES", "/x/y.tsv", 1), 0);
	CU_ASSERT_STRING_EQUAL(jpki_municipalities_default_path(), "/x/y.tsv");
	CU_ASSERT_EQUAL_FATAL(unsetenv("JPKI_MUNICIPALITIES"), 0);
	p = jpki_municipalities_default_path();
	CU_ASSERT_STRING_EQUAL(p, JPKI_DATADIR "/municipalities.tsv");
}

/* Loads content and returns the load result; err gets the message. */
static int load_text(const char *content, jpki_municipalities *m, jpki_err *err)
{
	char *path = fx_write_temp(content);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	rc = jpki_municipalities_load(path, m, err);
	unlink(path);
	free(path);
	return rc;
}

/* A bad table is refused, leaves nothing behind, and the message holds both needles. */
static void expect_refused(const char *content, const char *needle1, const char *needle2)
{
	jpki_municipalities m = { (jpki_municipality *)1, 99 };
	jpki_err err = { "" };

	CU_ASSERT_EQUAL(load_text(content, &m, &err), -1);
	CU_ASSERT_PTR_NULL(m.items);
	CU_ASSERT_EQUAL(m.n, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, needle1));
	if (needle2 != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(err.text, needle2));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "(rule: "));
}

#define HDR "# comment\n\n"

static void test_load_bad_check_digit(void)
{
	expect_refused(HDR "121002\t千葉市\tChiba-shi\n122026\t銚子市\tChoshi-shi\n",
		       ":4: ", "check digit");
}

static void test_load_duplicate(void)
{
	expect_refused(HDR "121002\t千葉市\tChiba-shi\n122025\t銚子市\tChoshi-shi\n"
		       "# again\n121002\t千葉市\tChiba-shi\n",
		       ":6: ", "duplicate code 121002");
}

static void test_load_missing_column(void)
{
	expect_refused(HDR "121002\t千葉市\n", ":3: ", "three");
	expect_refused("121002\t千葉市\tChiba-shi\t余分\n", ":1: ", "three");
	expect_refused("121002\t\tChiba-shi\n", ":1: ", "three");
	expect_refused("121002 千葉市 Chiba-shi\n", ":1: ", "three");
}

static void test_load_bad_code(void)
{
	expect_refused(HDR "12100\t千葉市\tChiba-shi\n", ":3: ", "six digits");
	expect_refused("1210020\t千葉市\tChiba-shi\n", ":1: ", "six digits");
	expect_refused("12100x\t千葉市\tChiba-shi\n", ":1: ", "six digits");
}

static void test_load_bad_text(void)
{
	expect_refused("121002\t\xe5\x8d\tChiba-shi\n", ":1: ", "UTF-8");	/* truncated */
	expect_refused("121002\t\xc0\xae\tChiba-shi\n", ":1: ", "UTF-8");	/* overlong */
	expect_refused("121002\t千葉市\tChiba\x01shi\n", ":1: ", "UTF-8");
}

static void test_load_empty_and_missing(void)
{
	jpki_municipalities m = { NULL, 0 };
	jpki_err err = { "" };

	expect_refused("# nothing here\n", "no municipalities", NULL);
	CU_ASSERT_EQUAL(jpki_municipalities_load("/nonexistent/municipalities.tsv", &m, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "/nonexistent/municipalities.tsv"));
	CU_ASSERT_EQUAL(jpki_municipalities_load(SHIPPED, &m, NULL), 0);	/* NULL err allowed */
	jpki_municipalities_free(&m);
}

static void test_load_crlf_and_no_final_newline(void)
{
	jpki_municipalities m = { NULL, 0 };
	jpki_err err = { "" };

	CU_ASSERT_EQUAL_FATAL(load_text("# c\r\n121002\t千葉市\tChiba-shi\r\n"
					"122025\t銚子市\tChoshi-shi", &m, &err), 0);
	CU_ASSERT_EQUAL(m.n, 2);
	CU_ASSERT_STRING_EQUAL(m.items[0].romaji, "Chiba-shi");
	CU_ASSERT_STRING_EQUAL(m.items[1].romaji, "Choshi-shi");
	jpki_municipalities_free(&m);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return jpki_cunit_run();
	s = CU_add_suite("municipality", NULL, NULL);
	if (s == NULL ||
	    !CU_add_test(s, "check digit of known codes", test_check_digit_known) ||
	    !CU_add_test(s, "check digit edge cases", test_check_digit_edges) ||
	    !CU_add_test(s, "code validation", test_code_valid) ||
	    !CU_add_test(s, "load shipped table", test_load_shipped) ||
	    !CU_add_test(s, "default path", test_default_path) ||
	    !CU_add_test(s, "refuse bad check digit", test_load_bad_check_digit) ||
	    !CU_add_test(s, "refuse duplicate", test_load_duplicate) ||
	    !CU_add_test(s, "refuse missing column", test_load_missing_column) ||
	    !CU_add_test(s, "refuse bad code", test_load_bad_code) ||
	    !CU_add_test(s, "refuse bad text", test_load_bad_text) ||
	    !CU_add_test(s, "refuse empty or missing table", test_load_empty_and_missing) ||
	    !CU_add_test(s, "CRLF and no final newline", test_load_crlf_and_no_final_newline)) {
		/* A test that cannot be registered must not pass silently. */
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
	}
	return jpki_cunit_run();
}
