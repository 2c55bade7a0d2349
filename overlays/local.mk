# jpkirepo.la: the slapd overlay module, built against the configured Debian source of the
# installed slapd (--with-openldap-src). Only init_module is exported.
ldapmodule_LTLIBRARIES = overlays/jpkirepo.la
overlays_jpkirepo_la_SOURCES = \
	overlays/jpkirepo.c overlays/jpkirepo.h \
	overlays/jpkirepo_config.c \
	overlays/jpkirepo_trust.c \
	overlays/jpkirepo_cache.c \
	overlays/jpkirepo_write.c \
	overlays/jpkirepo_read.c \
	overlays/jpkirepo_acl.c \
	overlays/jpkirepo_registry.c \
	overlays/jpkirepo_registry_rules.c \
	overlays/jpkirepo_hold.c \
	overlays/jpkirepo_search.c \
	overlays/jpkirepo_audit.c
overlays_jpkirepo_la_CPPFLAGS = -I$(OPENLDAP_SRC)/include -I$(OPENLDAP_SRC)/servers/slapd $(AM_CPPFLAGS)
overlays_jpkirepo_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
overlays_jpkirepo_la_LDFLAGS = -module -avoid-version -shared -export-symbols-regex '^init_module$$'
overlays_jpkirepo_la_LIBADD = lib/libjpki.la $(OPENSSL_LIBS) $(JANSSON_LIBS)
# slapo-jpkirepo(5): the overlay's directives and cn=config attributes, as OpenLDAP documents
# its own overlays.
dist_man5_MANS = overlays/slapo-jpkirepo.5
