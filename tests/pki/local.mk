# tests/pki: the test PKI (jpki-testpki issues certificates with keys held in SoftHSMv2)
# and the unit test of lib/p11key.c that runs against a private SoftHSMv2 token.
EXTRA_DIST += scripts/lib/testpki.sh tests/integration/test_testpki.sh

noinst_PROGRAMS += tests/pki/jpki-testpki
tests_pki_jpki_testpki_SOURCES = tests/pki/jpki-testpki.c
tests_pki_jpki_testpki_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_pki_jpki_testpki_LDADD = lib/libjpki.la $(OPENSSL_LIBS)

check_PROGRAMS += tests/unit/test_p11key
tests_unit_test_p11key_SOURCES = tests/unit/test_p11key.c tests/unit/cunit_main.h
tests_unit_test_p11key_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(OPENSSL_CFLAGS)
tests_unit_test_p11key_LDADD = lib/libjpki.la $(CUNIT_LIBS) $(OPENSSL_LIBS)
