# jpki: the operator's command.
bin_PROGRAMS += tools/jpki
tools_jpki_SOURCES = \
	tools/jpki.c tools/cli.c tools/cli.h \
	tools/cmd_crl_issue.c \
	tools/cmd_crl_publish.c \
	tools/cmd_ca_publish.c \
	tools/cmd_verifier.c
tools_jpki_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(LDAP_CFLAGS)
tools_jpki_LDADD = lib/libjpki.la $(OPENSSL_LIBS) $(LDAP_LIBS)
tools_jpki_SOURCES += tools/cmd_audit.c tools/cmd_report.c
tools_jpki_CFLAGS += $(JANSSON_CFLAGS)
tools_jpki_LDADD += $(JANSSON_LIBS)
# jpki(1): the command's reference.
dist_man1_MANS = tools/jpki.1
