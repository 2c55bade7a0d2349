# libjpki: the rules shared by the overlay, the responder and the jpki command.
noinst_LTLIBRARIES += lib/libjpki.la
lib_libjpki_la_SOURCES = \
	lib/err.c lib/err.h \
	lib/digest.c lib/digest.h \
	lib/utf8.c lib/utf8.h \
	lib/municipality.c lib/municipality.h \
	lib/p11key.c lib/p11key.h \
	lib/crl_check.c lib/crl_check.h \
	lib/dn.c lib/dn.h \
	lib/reason.c lib/reason.h \
	lib/trust.c lib/trust.h \
	lib/ledger.c lib/ledger.h \
	lib/crl_issue.c lib/crl_issue.h \
	lib/ldapconn.c lib/ldapconn.h \
	lib/verifier.c lib/verifier.h \
	lib/utctime.c lib/utctime.h \
	lib/secret.c lib/secret.h \
	lib/registry_check.c lib/registry_check.h
lib_libjpki_la_SOURCES += \
	lib/audit.c lib/audit.h \
	lib/audit_read.c lib/audit_read.h
lib_libjpki_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(OPENSSL_CFLAGS) $(LIBP11_CFLAGS) $(P11KIT_CFLAGS) $(LDAP_CFLAGS) $(JANSSON_CFLAGS)
lib_libjpki_la_LIBADD = $(OPENSSL_LIBS) $(LIBP11_LIBS) $(P11KIT_LIBS) $(LDAP_LIBS) $(JANSSON_LIBS)
