# jpki-ocspd: the OCSP responder (RFC 6960 / RFC 5019) for registered verifiers.
# The snapshot it answers from (its life and build, the CRLs it answers from, the verifier
# registry) and the model it is built from: every program that compiles them in (the daemon,
# bench/index-bench, bench/verifier-bench, tests/unit/test_snapshot_*, test_store) lists these.
ocspd_snapshot_sources = responder/snapshot.c responder/snapshot.h responder/snapshot_build.h \
	responder/snapshot_crls.c responder/snapshot_registry.c responder/model.c responder/model.h

sbin_PROGRAMS += responder/jpki-ocspd
responder_jpki_ocspd_SOURCES = \
	responder/ocspd.h \
	responder/main.c \
	responder/config.c \
	responder/http.c responder/http.h \
	responder/acceptor.c responder/acceptor.h \
	responder/daemon.c \
	responder/answer.c \
	responder/request_der.c responder/request_der.h \
	responder/access.c responder/access.h \
	responder/cache.c responder/cache.h \
	responder/signer.c responder/signer.h \
	responder/signpool.c responder/signpool.h \
	$(ocspd_snapshot_sources) \
	responder/state.c responder/state.h \
	responder/store.c responder/store.h \
	responder/sync.c responder/sync.h
responder_jpki_ocspd_CPPFLAGS = $(AM_CPPFLAGS) \
	-DOCSPD_SYSCONFDIR='"$(sysconfdir)"' -DOCSPD_LOCALSTATEDIR='"$(localstatedir)"'
responder_jpki_ocspd_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(LDAP_CFLAGS) $(MHD_CFLAGS) $(LIBP11_CFLAGS) $(JANSSON_CFLAGS) -pthread
responder_jpki_ocspd_LDADD = lib/libjpki.la $(MHD_LIBS) $(OPENSSL_LIBS) $(LDAP_LIBS) $(LIBP11_LIBS) $(JANSSON_LIBS) -lgnutls -lpthread

# The man page, the systemd unit and the example configuration name the installation's
# directories: made from their .in files at build time.
ocspd_edit = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g'
ocspd_generated = responder/jpki-ocspd.8 responder/jpki-ocspd.service responder/jpki-ocspd.conf.example
EXTRA_DIST += responder/jpki-ocspd.8.in responder/jpki-ocspd.service.in responder/jpki-ocspd.conf.example.in
CLEANFILES = $(ocspd_generated)

$(ocspd_generated): Makefile
	$(AM_V_GEN)$(MKDIR_P) responder && \
	$(ocspd_edit) $(srcdir)/$@.in > $@.tmp && mv $@.tmp $@
responder/jpki-ocspd.8: $(srcdir)/responder/jpki-ocspd.8.in
responder/jpki-ocspd.service: $(srcdir)/responder/jpki-ocspd.service.in
responder/jpki-ocspd.conf.example: $(srcdir)/responder/jpki-ocspd.conf.example.in

man8_MANS = responder/jpki-ocspd.8
# systemd also reads units from /usr/local/lib/systemd/system; a package installs them under /usr.
systemdsystemunitdir = $(prefix)/lib/systemd/system
systemdsystemunit_DATA = responder/jpki-ocspd.service
ocspdconfdir = $(sysconfdir)/jpki-ocspd
ocspdconf_DATA = responder/jpki-ocspd.conf.example
