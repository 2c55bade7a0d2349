# Test-only tools.
noinst_PROGRAMS += tests/tools/jpki-badcrl
tests_tools_jpki_badcrl_SOURCES = tests/tools/jpki-badcrl.c
tests_tools_jpki_badcrl_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_tools_jpki_badcrl_LDADD = lib/libjpki.la $(OPENSSL_LIBS)

noinst_PROGRAMS += tests/tools/ldap-hold
tests_tools_ldap_hold_SOURCES = tests/tools/ldap-hold.c
tests_tools_ldap_hold_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS)
tests_tools_ldap_hold_LDADD = $(LDAP_LIBS)

noinst_PROGRAMS += tests/tools/audit-write
tests_tools_audit_write_SOURCES = tests/tools/audit-write.c
tests_tools_audit_write_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
tests_tools_audit_write_LDADD = lib/libjpki.la $(OPENSSL_LIBS) $(LDAP_LIBS) $(JANSSON_LIBS) -lpthread
