# SPDX-License-Identifier: Apache-2.0
# tests/bench/local.mk: the SigV4 signing benchmark (issue 3), built and run only by `make bench`.
EXTRA_PROGRAMS += tests/bench/sigv4_bench
tests_bench_sigv4_bench_SOURCES = tests/bench/sigv4_bench.c
tests_bench_sigv4_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_sigv4_bench_LDADD = sigv4/libsigv4.a $(OPENSSL_LIBS)
dist_noinst_SCRIPTS += tests/bench/run.sh
CLEANFILES += tests/bench/sigv4_bench$(EXEEXT)

# RBAC decisions on issue 4's policy (100 roles x 50 patterns), with one
# SigV4 signature timed in the same run for scale.
EXTRA_PROGRAMS += tests/bench/rbac_bench
tests_bench_rbac_bench_SOURCES = tests/bench/rbac_bench.c
tests_bench_rbac_bench_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(PCRE2_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_rbac_bench_LDADD = $(RBAC_LIBS) sigv4/libsigv4.a $(OPENSSL_LIBS)
CLEANFILES += tests/bench/rbac_bench$(EXEEXT)

# A benchmark, never a timed test: make check neither builds nor runs it.
bench: tests/bench/sigv4_bench$(EXEEXT) tests/bench/rbac_bench$(EXEEXT)
	$(SHELL) $(srcdir)/tests/bench/run.sh tests/bench/sigv4_bench$(EXEEXT)
	@echo
	@echo "== RBAC decisions (tests/bench/rbac_bench)"
	tests/bench/rbac_bench$(EXEEXT)
bench-rbac: tests/bench/rbac_bench$(EXEEXT)
	tests/bench/rbac_bench$(EXEEXT)
.PHONY: bench bench-rbac
