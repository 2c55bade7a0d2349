# tests: unit tests (CUnit, one binary per lib module) and integration scripts.
# Every test prints one "N passed, N failed" line and exits non-zero on failure.
check_PROGRAMS += tests/unit/test_municipality
tests_unit_test_municipality_SOURCES = tests/unit/test_municipality.c tests/unit/fixture.c \
	tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_municipality_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(OPENSSL_CFLAGS) \
	-DJPKI_TEST_DATADIR='"$(abs_top_srcdir)/data"'
tests_unit_test_municipality_LDADD = lib/libjpki.la $(CUNIT_LIBS) $(OPENSSL_LIBS)

# Shared fixture (in-memory RSA CA, certificates, CRLs) linked into the tests below.
JPKI_UNIT_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(OPENSSL_CFLAGS) \
	-DJPKI_TEST_DATADIR='"$(abs_top_srcdir)/data"'
JPKI_UNIT_LDADD = lib/libjpki.la $(CUNIT_LIBS) $(OPENSSL_LIBS) $(LDAP_LIBS)

check_PROGRAMS += tests/unit/test_crl_check
tests_unit_test_crl_check_SOURCES = tests/unit/test_crl_check.c tests/unit/fixture.c \
	tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_crl_check_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_crl_check_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_trust
tests_unit_test_trust_SOURCES = tests/unit/test_trust.c tests/unit/fixture.c \
	tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_trust_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_trust_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_ledger
tests_unit_test_ledger_SOURCES = tests/unit/test_ledger.c tests/unit/fixture.c \
	tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_ledger_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_ledger_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_dn
tests_unit_test_dn_SOURCES = tests/unit/test_dn.c tests/unit/fixture.c \
	tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_dn_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_dn_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_crl_issue
tests_unit_test_crl_issue_SOURCES = tests/unit/test_crl_issue.c tests/unit/fixture.c \
	tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_crl_issue_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_crl_issue_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_audit
tests_unit_test_audit_SOURCES = tests/unit/test_audit.c tests/unit/cunit_main.h
tests_unit_test_audit_CFLAGS = $(JPKI_UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_audit_LDADD = $(JPKI_UNIT_LDADD) $(JANSSON_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_request_der
tests_unit_test_request_der_SOURCES = tests/unit/test_request_der.c responder/request_der.c \
	responder/request_der.h tests/unit/fixture.c tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_request_der_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/responder
tests_unit_test_request_der_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_request_der_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_snapshot_index
tests_unit_test_snapshot_index_SOURCES = tests/unit/test_snapshot_index.c responder/access.c \
	responder/access.h $(ocspd_snapshot_sources) responder/request_der.c \
	responder/request_der.h responder/config.c tests/unit/fixture.c tests/unit/fixture.h \
	tests/unit/cunit_main.h
tests_unit_test_snapshot_index_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/responder
tests_unit_test_snapshot_index_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_snapshot_index_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_snapshot_incremental
tests_unit_test_snapshot_incremental_SOURCES = tests/unit/test_snapshot_incremental.c \
	$(ocspd_snapshot_sources) \
	tests/unit/fixture.c tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_snapshot_incremental_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/responder
tests_unit_test_snapshot_incremental_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_snapshot_incremental_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c responder/store.c responder/store.h \
	$(ocspd_snapshot_sources) \
	tests/unit/fixture.c tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_store_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/responder
tests_unit_test_store_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_store_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_verifier
tests_unit_test_verifier_SOURCES = tests/unit/test_verifier.c tests/unit/cunit_main.h
tests_unit_test_verifier_CFLAGS = $(JPKI_UNIT_CFLAGS) $(LDAP_CFLAGS)
tests_unit_test_verifier_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_utctime
tests_unit_test_utctime_SOURCES = tests/unit/test_utctime.c tests/unit/cunit_main.h
tests_unit_test_utctime_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_utctime_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_secret
tests_unit_test_secret_SOURCES = tests/unit/test_secret.c tests/unit/cunit_main.h
tests_unit_test_secret_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_secret_LDADD = $(JPKI_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_registry_check
tests_unit_test_registry_check_SOURCES = tests/unit/test_registry_check.c tests/unit/fixture.c \
	tests/unit/fixture.h tests/unit/cunit_main.h
tests_unit_test_registry_check_CFLAGS = $(JPKI_UNIT_CFLAGS)
tests_unit_test_registry_check_LDADD = $(JPKI_UNIT_LDADD)
