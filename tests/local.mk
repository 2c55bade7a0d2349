# tests: unit tests (CUnit, one binary per lib module) and integration scripts.
# Every test prints one "N passed, N failed" line and exits non-zero on failure.
EXTRA_DIST += tests/unit/cunit_main.h tests/integration/test_dit.sh

check_PROGRAMS += tests/unit/test_municipality
tests_unit_test_municipality_SOURCES = tests/unit/test_municipality.c tests/unit/cunit_main.h
tests_unit_test_municipality_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(OPENSSL_CFLAGS) \
	-DJPKI_TEST_DATADIR='"$(abs_top_srcdir)/data"'
tests_unit_test_municipality_LDADD = lib/libjpki.la $(CUNIT_LIBS)
