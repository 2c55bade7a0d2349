# Benchmark load generators.
noinst_PROGRAMS += bench/ldap-load
bench_ldap_load_SOURCES = bench/ldap-load.c
bench_ldap_load_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS) -pthread
bench_ldap_load_LDADD = $(LDAP_LIBS) -lpthread
