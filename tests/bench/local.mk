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

# awsgated beside nghttpx (issue 6): h2load over mutual TLS, with an
# LD_PRELOAD shim that gives h2load its client certificate, and a trivial
# HTTP/1.1 backend behind nghttpx. docs/BENCH-SERVER.md.
EXTRA_PROGRAMS += tests/bench/json_backend
tests_bench_json_backend_SOURCES = tests/bench/json_backend.c
CLEANFILES += tests/bench/json_backend$(EXEEXT) tests/bench/clientcert_shim.so
EXTRA_DIST += tests/bench/clientcert_shim.c
dist_noinst_SCRIPTS += tests/bench/server.sh tests/bench/server_bench.py
tests/bench/clientcert_shim.so: $(srcdir)/tests/bench/clientcert_shim.c
	@$(MKDIR_P) tests/bench
	$(AM_V_CC)$(CC) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) $(OPENSSL_CFLAGS) -shared -fPIC \
		-o $@ $(srcdir)/tests/bench/clientcert_shim.c $(LDFLAGS) $(OPENSSL_LIBS) -ldl
bench-server: $(bin_PROGRAMS) tests/bench/clientcert_shim.so tests/bench/json_backend$(EXEEXT)
	abs_top_builddir='$(abs_top_builddir)' $(SHELL) $(srcdir)/tests/bench/server.sh \
		'$(abs_builddir)/tests/bench/clientcert_shim.so' '$(abs_builddir)/tests/bench/json_backend$(EXEEXT)'
.PHONY: bench-server

# awsgated re-signing AWS API requests (issue 7) beside nghttpx passing the
# same requests on unsigned, to one TLS upstream (nghttpx + json_backend).
# docs/BENCH-API.md.
dist_noinst_SCRIPTS += tests/bench/api_bench.sh tests/bench/api_bench.py
bench-api: $(bin_PROGRAMS) tests/bench/clientcert_shim.so tests/bench/json_backend$(EXEEXT)
	abs_top_builddir='$(abs_top_builddir)' $(SHELL) $(srcdir)/tests/bench/api_bench.sh \
		'$(abs_builddir)/tests/bench/clientcert_shim.so' '$(abs_builddir)/tests/bench/json_backend$(EXEEXT)'
.PHONY: bench-api

# The user's side (issue 8): boto3 through `awsgate proxy aws` beside the
# same calls made directly to the fake AWS, and `awsgate aws` beside the AWS
# CLI alone. docs/BENCH-CLI.md.
dist_noinst_SCRIPTS += tests/bench/cli_bench.py tests/bench/hop_trace.py
bench-cli: $(bin_PROGRAMS)
	abs_top_builddir='$(abs_top_builddir)' /usr/bin/python3 $(srcdir)/tests/bench/cli_bench.py
.PHONY: bench-cli
