# Benchmark load generators.
noinst_PROGRAMS += bench/ldap-load
bench_ldap_load_SOURCES = bench/ldap-load.c bench/latency.c bench/latency.h
bench_ldap_load_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS) -pthread
bench_ldap_load_LDADD = $(LDAP_LIBS) -lpthread

# OCSP responder benchmark (issue 4): bench/ocsp.sh drives these.
noinst_PROGRAMS += bench/ocsp-load bench/ocsp-reqgen bench/p11-sign bench/index-bench
bench_ocsp_load_SOURCES = bench/ocsp-load.c bench/latency.c bench/latency.h
bench_ocsp_load_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) -pthread
bench_ocsp_load_LDADD = $(OPENSSL_LIBS) -lpthread
bench_ocsp_reqgen_SOURCES = bench/ocsp-reqgen.c
bench_ocsp_reqgen_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) -pthread
bench_ocsp_reqgen_LDADD = $(OPENSSL_LIBS) -lpthread
bench_p11_sign_SOURCES = bench/p11-sign.c bench/latency.c bench/latency.h
bench_p11_sign_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(LIBP11_CFLAGS) -pthread
bench_p11_sign_LDADD = lib/libjpki.la $(OPENSSL_LIBS) $(LIBP11_LIBS) -lpthread
# The responder's own snapshot and model code, compiled in: the index measured is the daemon's.
bench_index_bench_SOURCES = bench/index-bench.c bench/latency.c bench/latency.h $(ocspd_snapshot_sources)
bench_index_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/responder
bench_index_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) -pthread
bench_index_bench_LDADD = lib/libjpki.la $(OPENSSL_LIBS) -lpthread
# Finding a request's verifier: the snapshot's indexes against the scans they replaced.
noinst_PROGRAMS += bench/verifier-bench
bench_verifier_bench_SOURCES = bench/verifier-bench.c bench/latency.c bench/latency.h \
	responder/access.c $(ocspd_snapshot_sources) responder/request_der.c responder/config.c
bench_verifier_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/responder
bench_verifier_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
bench_verifier_bench_LDADD = lib/libjpki.la $(OPENSSL_LIBS) $(LDAP_LIBS)
