# SPDX-License-Identifier: Apache-2.0
# tests/local.mk: unit tests (cmocka, TAP), integration tests, fuzz corpus replay.

TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
SIGV4_TEST_LDADD = sigv4/libsigv4.a $(CMOCKA_LIBS) $(OPENSSL_LIBS)
RBAC_TEST_LDADD = $(RBAC_LIBS) $(CMOCKA_LIBS)
PROXY_TEST_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(SIGV4_TEST_LDADD)
# Federation's tests run against the fake env and transport (fake.h).
FED_TEST_SOURCES = tests/unit/federation/fake.c tests/unit/federation/fake.h
FED_TEST_LDADD = $(FEDERATION_LIBS) $(CMOCKA_LIBS) -lpthread

# Unit tests: one per source file, named after it.
UNIT_TESTS = \
	tests/unit/sigv4/canon.utest \
	tests/unit/sigv4/chunked.utest \
	tests/unit/sigv4/verify.utest \
	tests/unit/sigv4/sign.utest \
	tests/unit/sigv4/sha256.utest \
	tests/unit/sigv4/reqfile.utest \
	tests/unit/sigv4/time.utest \
	tests/unit/sigv4/suite.utest \
	tests/unit/sigv4/vectors.utest \
	tests/unit/rbac/jsonpos.utest \
	tests/unit/rbac/decide.utest \
	tests/unit/rbac/resource.utest \
	tests/unit/rbac/pattern.utest \
	tests/unit/rbac/template.utest \
	tests/unit/proxy/config.utest \
	tests/unit/proxy/duration.utest \
	tests/unit/proxy/timearg.utest \
	tests/unit/proxy/jw.utest \
	tests/unit/proxy/metrics.utest \
	tests/unit/proxy/transport.utest \
	tests/unit/proxy/upstream.utest \
	tests/unit/proxy/h1up.utest \
	tests/unit/rbac/cert.utest \
	tests/unit/federation/fake.utest \
	tests/unit/federation/partition.utest \
	tests/unit/federation/xml.utest \
	tests/unit/federation/sts.utest \
	tests/unit/federation/session.utest \
	tests/unit/federation/signin.utest \
	tests/unit/federation/policy.utest \
	tests/unit/proxy/h1.utest \
	tests/unit/proxy/cli_profile.utest \
	tests/unit/proxy/cli_aws.utest \
	tests/unit/proxy/lproxy.utest \
	tests/unit/proxy/cli_session.utest
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_sigv4_canon_utest_SOURCES = tests/unit/sigv4/canon_test.c
tests_unit_sigv4_canon_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_canon_utest_LDADD = $(SIGV4_TEST_LDADD)

tests_unit_sigv4_chunked_utest_SOURCES = tests/unit/sigv4/chunked_test.c
tests_unit_sigv4_chunked_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_chunked_utest_LDADD = $(SIGV4_TEST_LDADD)

tests_unit_sigv4_verify_utest_SOURCES = tests/unit/sigv4/verify_test.c
tests_unit_sigv4_verify_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_verify_utest_LDADD = $(SIGV4_TEST_LDADD)

tests_unit_sigv4_sign_utest_SOURCES = tests/unit/sigv4/sign_test.c
tests_unit_sigv4_sign_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_sign_utest_LDADD = $(SIGV4_TEST_LDADD)

tests_unit_sigv4_sha256_utest_SOURCES = tests/unit/sigv4/sha256_test.c
tests_unit_sigv4_sha256_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_sha256_utest_LDADD = $(SIGV4_TEST_LDADD)

tests_unit_sigv4_reqfile_utest_SOURCES = tests/unit/sigv4/reqfile_test.c
tests_unit_sigv4_reqfile_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_reqfile_utest_LDADD = $(SIGV4_TEST_LDADD)

tests_unit_sigv4_time_utest_SOURCES = tests/unit/sigv4/time_test.c
tests_unit_sigv4_time_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_time_utest_LDADD = $(SIGV4_TEST_LDADD)

# The official AWS suites (when present) and our own botocore-made vectors.
tests_unit_sigv4_suite_utest_SOURCES = tests/unit/sigv4/suite_test.c
tests_unit_sigv4_suite_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_sigv4_suite_utest_LDADD = $(SIGV4_TEST_LDADD) $(JANSSON_LIBS)

tests_unit_sigv4_vectors_utest_SOURCES = tests/unit/sigv4/suite_test.c
tests_unit_sigv4_vectors_utest_CFLAGS = $(TEST_CFLAGS) -DOWN_VECTORS
tests_unit_sigv4_vectors_utest_LDADD = $(SIGV4_TEST_LDADD) $(JANSSON_LIBS)

tests_unit_rbac_jsonpos_utest_SOURCES = tests/unit/rbac/jsonpos_test.c
tests_unit_rbac_jsonpos_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_rbac_jsonpos_utest_LDADD = $(RBAC_TEST_LDADD)

# The decision table (tests/data/rbac/decisions/) and the resource loader's
# errors, warnings and a real Teleport export (tests/data/rbac/).
tests_unit_rbac_decide_utest_SOURCES = tests/unit/rbac/decide_test.c
tests_unit_rbac_decide_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_rbac_decide_utest_LDADD = $(RBAC_TEST_LDADD)

tests_unit_rbac_resource_utest_SOURCES = tests/unit/rbac/resource_test.c
tests_unit_rbac_resource_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_rbac_resource_utest_LDADD = $(RBAC_TEST_LDADD)

tests_unit_rbac_pattern_utest_SOURCES = tests/unit/rbac/pattern_test.c
tests_unit_rbac_pattern_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_rbac_pattern_utest_LDADD = $(RBAC_TEST_LDADD)

tests_unit_rbac_template_utest_SOURCES = tests/unit/rbac/template_test.c
tests_unit_rbac_template_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_rbac_template_utest_LDADD = $(RBAC_TEST_LDADD)

tests_unit_proxy_config_utest_SOURCES = tests/unit/proxy/config_test.c
tests_unit_proxy_config_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_config_utest_LDADD = $(PROXY_TEST_LDADD) $(JANSSON_LIBS)

# awsgate's pieces (proxy/cli.h).
tests_unit_proxy_cli_profile_utest_SOURCES = tests/unit/proxy/cli_profile_test.c
tests_unit_proxy_cli_profile_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_cli_profile_utest_LDADD = $(PROXY_TEST_LDADD) $(LIBCURL_LIBS) $(JANSSON_LIBS)
tests_unit_proxy_cli_aws_utest_SOURCES = tests/unit/proxy/cli_aws_test.c
tests_unit_proxy_cli_aws_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_cli_aws_utest_LDADD = $(PROXY_TEST_LDADD) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(JANSSON_LIBS)
tests_unit_proxy_cli_session_utest_SOURCES = tests/unit/proxy/cli_session_test.c
tests_unit_proxy_cli_session_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_cli_session_utest_LDADD = $(PROXY_TEST_LDADD) $(LIBCURL_LIBS) $(JANSSON_LIBS)

tests_unit_proxy_lproxy_utest_SOURCES = tests/unit/proxy/lproxy_test.c
tests_unit_proxy_lproxy_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_lproxy_utest_LDADD = $(PROXY_TEST_LDADD) $(FEDERATION_LIBS)

UNIT_TESTS += tests/unit/proxy/websess.utest tests/unit/proxy/webform.utest
tests_unit_proxy_websess_utest_SOURCES = tests/unit/proxy/websess_test.c
tests_unit_proxy_websess_utest_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_proxy_websess_utest_LDADD = $(PROXY_TEST_LDADD) -lpthread
tests_unit_proxy_webform_utest_SOURCES = tests/unit/proxy/webform_test.c
tests_unit_proxy_webform_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_webform_utest_LDADD = $(PROXY_TEST_LDADD)

tests_unit_proxy_duration_utest_SOURCES = tests/unit/proxy/duration_test.c
tests_unit_proxy_duration_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_duration_utest_LDADD = $(PROXY_TEST_LDADD)

# The audit's JSON writer, read back with jansson.
tests_unit_proxy_metrics_utest_SOURCES = tests/unit/proxy/metrics_test.c
tests_unit_proxy_metrics_utest_CFLAGS = $(TEST_CFLAGS) $(LIBEV_CFLAGS)
tests_unit_proxy_metrics_utest_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(PROXY_SERVER_TEST_LIBS) $(CMOCKA_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread
tests_unit_proxy_jw_utest_SOURCES = tests/unit/proxy/jw_test.c
tests_unit_proxy_jw_utest_CFLAGS = $(TEST_CFLAGS) $(LIBEV_CFLAGS)
tests_unit_proxy_jw_utest_LDADD = $(PROXY_TEST_LDADD) $(JANSSON_LIBS) -lpthread
tests_unit_proxy_timearg_utest_SOURCES = tests/unit/proxy/timearg_test.c
tests_unit_proxy_timearg_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_timearg_utest_LDADD = $(PROXY_TEST_LDADD)

tests_unit_proxy_transport_utest_SOURCES = tests/unit/proxy/transport_test.c
tests_unit_proxy_transport_utest_CFLAGS = $(TEST_CFLAGS) $(LIBCURL_CFLAGS) $(LIBEV_CFLAGS)
tests_unit_proxy_transport_utest_LDADD = $(PROXY_TEST_LDADD) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(LIBEV_LIBS) -lpthread

# The HTTP/1.1 scanners and codec, through a fake connection (h1_harness.h).
PROXY_SERVER_TEST_LIBS = $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(LLHTTP_LIBADD) $(LIBNGHTTP2_LIBS) $(LIBEV_LIBS) -lpthread
tests_unit_proxy_h1_utest_SOURCES = tests/unit/proxy/h1_test.c tests/unit/proxy/h1_harness.h
tests_unit_proxy_h1_utest_CFLAGS = $(TEST_CFLAGS) $(LIBEV_CFLAGS) -D_GNU_SOURCE
tests_unit_proxy_h1_utest_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(PROXY_SERVER_TEST_LIBS) $(CMOCKA_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS)

tests_unit_proxy_upstream_utest_SOURCES = tests/unit/proxy/upstream_test.c
tests_unit_proxy_upstream_utest_CFLAGS = $(TEST_CFLAGS) $(LIBCURL_CFLAGS) $(LIBEV_CFLAGS) -pthread
tests_unit_proxy_upstream_utest_LDADD = $(PROXY_TEST_LDADD) $(LIBCURL_LIBS) $(LLHTTP_LIBADD) $(OPENSSL_LIBS) $(LIBEV_LIBS) -lpthread

tests_unit_proxy_h1up_utest_SOURCES = tests/unit/proxy/h1up_test.c
tests_unit_proxy_h1up_utest_CFLAGS = $(TEST_CFLAGS) $(LIBCURL_CFLAGS) $(LIBEV_CFLAGS) -pthread
tests_unit_proxy_h1up_utest_LDADD = $(PROXY_TEST_LDADD) $(LIBCURL_LIBS) $(LLHTTP_LIBADD) $(OPENSSL_LIBS) $(LIBEV_LIBS) -lpthread

tests_unit_rbac_cert_utest_SOURCES = tests/unit/rbac/cert_test.c
tests_unit_rbac_cert_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_rbac_cert_utest_LDADD = $(RBAC_TEST_LDADD)

tests_unit_federation_fake_utest_SOURCES = tests/unit/federation/fake_test.c $(FED_TEST_SOURCES)
tests_unit_federation_fake_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_fake_utest_LDADD = $(FED_TEST_LDADD)

# The base credential chain and the credential cache: the INI and credential
# JSON parsers, the sources, single flight and the cache.
FED_CREDS_TESTS = \
	tests/unit/federation/ini.utest \
	tests/unit/federation/credjson.utest \
	tests/unit/federation/base.utest \
	tests/unit/federation/cache.utest \
	tests/unit/federation/cache_threads.utest
check_PROGRAMS += $(FED_CREDS_TESTS)
TESTS += $(FED_CREDS_TESTS)

tests_unit_federation_ini_utest_SOURCES = tests/unit/federation/ini_test.c
tests_unit_federation_ini_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_ini_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_credjson_utest_SOURCES = tests/unit/federation/credjson_test.c
tests_unit_federation_credjson_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_credjson_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_base_utest_SOURCES = tests/unit/federation/base_test.c $(FED_TEST_SOURCES)
tests_unit_federation_base_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_base_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_cache_utest_SOURCES = tests/unit/federation/cache_test.c $(FED_TEST_SOURCES)
tests_unit_federation_cache_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_cache_utest_LDADD = $(FED_TEST_LDADD)

# Real threads on one cache (run it under ASan too; see docs/CREDENTIALS.md).
tests_unit_federation_cache_threads_utest_SOURCES = tests/unit/federation/cache_threads_test.c
tests_unit_federation_cache_threads_utest_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_federation_cache_threads_utest_LDADD = $(FED_TEST_LDADD)

# Host classification is checked against botocore's own hostnames
# (tests/data/federation/endpoints.txt, made by generate_endpoints.py).
tests_unit_federation_partition_utest_SOURCES = tests/unit/federation/partition_test.c
tests_unit_federation_partition_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_partition_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_xml_utest_SOURCES = tests/unit/federation/xml_test.c
tests_unit_federation_xml_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_xml_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_sts_utest_SOURCES = tests/unit/federation/sts_test.c $(FED_TEST_SOURCES)
tests_unit_federation_sts_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_sts_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_session_utest_SOURCES = tests/unit/federation/session_test.c
tests_unit_federation_session_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_session_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_signin_utest_SOURCES = tests/unit/federation/signin_test.c $(FED_TEST_SOURCES)
tests_unit_federation_signin_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_signin_utest_LDADD = $(FED_TEST_LDADD)

tests_unit_federation_policy_utest_SOURCES = tests/unit/federation/policy_test.c
tests_unit_federation_policy_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_federation_policy_utest_LDADD = $(FED_TEST_LDADD)

# Integration tests: the real program, and botocore as the oracle.
# A program the integration tests drive: the credential cache across threads.
check_PROGRAMS += tests/integration/cache_threads
tests_integration_cache_threads_SOURCES = tests/integration/cache_threads.c
tests_integration_cache_threads_CFLAGS = $(AM_CFLAGS) $(LIBCURL_CFLAGS) $(LIBEV_CFLAGS)
tests_integration_cache_threads_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(LIBEV_LIBS) -lpthread

# A program the integration tests drive: px_upstream streaming any size.
# The local proxy's driver (docs/LPROXY.md).
check_PROGRAMS += tests/integration/lproxy_run
tests_integration_lproxy_run_SOURCES = tests/integration/lproxy_run.c
tests_integration_lproxy_run_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS) $(OPENSSL_CFLAGS)
tests_integration_lproxy_run_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(PROXY_SERVER_TEST_LIBS) $(OPENSSL_LIBS)

check_PROGRAMS += tests/integration/upstream_driver
tests_integration_upstream_driver_SOURCES = tests/integration/upstream_driver.c
tests_integration_upstream_driver_CFLAGS = $(AM_CFLAGS) $(LIBCURL_CFLAGS) $(LIBEV_CFLAGS) $(OPENSSL_CFLAGS)
tests_integration_upstream_driver_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(LLHTTP_LIBADD) $(OPENSSL_LIBS) $(LIBEV_LIBS) -lpthread

# A program the integration tests drive: px_gatec, the local proxy's client
# of the gate (gatec.test).
check_PROGRAMS += tests/integration/gatec_driver
tests_integration_gatec_driver_SOURCES = tests/integration/gatec_driver.c
tests_integration_gatec_driver_CFLAGS = $(AM_CFLAGS) $(LIBEV_CFLAGS) $(OPENSSL_CFLAGS) $(LIBNGHTTP2_CFLAGS)
tests_integration_gatec_driver_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(LLHTTP_LIBADD) \
	$(LIBNGHTTP2_LIBS) $(LIBEV_LIBS) $(OPENSSL_LIBS) -lpthread

TESTS += \
	tests/integration/config.test \
	tests/integration/sigv4-cli.test \
	tests/integration/sigv4-botocore.test \
	tests/integration/sigv4-verify.test \
	tests/integration/sigv4-chunked.test \
	tests/integration/rbac-cli.test \
	tests/integration/ca.test \
	tests/integration/fakeaws.test \
	tests/integration/aws-federation.test \
	tests/integration/cache-threads.test \
	tests/integration/server-basic.test \
	tests/integration/server-h2.test \
	tests/integration/server-tls.test \
	tests/integration/server-h1.test \
	tests/integration/server-h2-abuse.test \
	tests/integration/server-process.test \
	tests/integration/upstream.test \
	tests/integration/gate-endpoints.test \
	tests/integration/gate-api.test \
	tests/integration/cli.test \
	tests/integration/cli-aws.test \
	tests/integration/web-ui.test
dist_noinst_SCRIPTS += \
	tests/integration/cache-threads.test \
	tests/integration/upstream.test \
	tests/integration/aws-federation.test \
	tests/integration/server-basic.test \
	tests/integration/server-h2.test \
	tests/integration/config.test \
	tests/integration/rbac-cli.test \
	tests/integration/sigv4-cli.test \
	tests/integration/sigv4-botocore.test \
	tests/integration/sigv4_botocore.py \
	tests/integration/sigv4-verify.test \
	tests/integration/sigv4_verify.py \
	tests/integration/sigv4-chunked.test \
	tests/integration/sigv4_chunked.py \
	tests/integration/ca.test \
	tests/integration/fakeaws.test \
	tests/integration/fakeaws_test.py \
	tests/integration/server-tls.test \
	tests/integration/server_tls.py \
	tests/integration/server-h1.test \
	tests/integration/server_h1.py \
	tests/integration/server-h2-abuse.test \
	tests/integration/server_h2.py \
	tests/integration/server-process.test \
	tests/integration/server_process.py \
	tests/integration/gate-endpoints.test \
	tests/integration/gate_endpoints.py \
	tests/integration/gate_fixture.py \
	tests/integration/gate-api.test \
	tests/integration/gate_api.py \
	tests/integration/cli.test \
	tests/integration/cli_awsgate.py \
	tests/integration/cli-aws.test \
	tests/integration/cli_aws_e2e.py \
	tests/integration/web-ui.test \
	tests/integration/web_ui.py \
	tests/data/sigv4/generate.py \
	tests/data/federation/generate_endpoints.py \
	tests/data/federation/sts/botocore_sign.py \
	tests/data/federation/generate_xml_cases.py
# The fake AWS the integration tests start (Python; tests/fakeaws/README.md).
EXTRA_DIST += tests/data tests/fuzz/corpus tests/fakeaws

# Fuzz targets: built for libFuzzer with --enable-fuzzing; always built with
# a small replay main() so that make check runs every corpus file.
FUZZ_TARGETS = reqfile sign verify dechunk identity_ext config resources template xml sts host
FUZZ_REPLAY = tests/fuzz/reqfile_replay tests/fuzz/sign_replay tests/fuzz/verify_replay \
	tests/fuzz/dechunk_replay tests/fuzz/identity_ext_replay tests/fuzz/config_replay \
	tests/fuzz/resources_replay tests/fuzz/template_replay tests/fuzz/xml_replay \
	tests/fuzz/sts_replay tests/fuzz/host_replay
FUZZ_TARGETS += ini credjson
FUZZ_REPLAY += tests/fuzz/ini_replay tests/fuzz/credjson_replay
FUZZ_TARGETS += h1
FUZZ_REPLAY += tests/fuzz/h1_replay
FUZZ_TARGETS += presign
FUZZ_REPLAY += tests/fuzz/presign_replay
tests_fuzz_presign_replay_SOURCES = tests/fuzz/fuzz_presign.c tests/fuzz/harness.h tests/fuzz/replay_main.c \
	proxy/presign.c proxy/presign.h proxy/partition.c
tests_fuzz_presign_replay_LDADD = $(FEDERATION_LIBS)
check_PROGRAMS += $(FUZZ_REPLAY)
TESTS += tests/fuzz/replay.test
dist_noinst_SCRIPTS += tests/fuzz/replay.test

tests_fuzz_reqfile_replay_SOURCES = tests/fuzz/fuzz_reqfile.c tests/fuzz/replay_main.c
tests_fuzz_reqfile_replay_LDADD = sigv4/libsigv4.a $(OPENSSL_LIBS)
tests_fuzz_sign_replay_SOURCES = tests/fuzz/fuzz_sign.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_sign_replay_LDADD = sigv4/libsigv4.a $(OPENSSL_LIBS)
tests_fuzz_verify_replay_SOURCES = tests/fuzz/fuzz_verify.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_verify_replay_LDADD = sigv4/libsigv4.a $(OPENSSL_LIBS)
tests_fuzz_dechunk_replay_SOURCES = tests/fuzz/fuzz_dechunk.c tests/fuzz/replay_main.c
tests_fuzz_dechunk_replay_LDADD = sigv4/libsigv4.a $(OPENSSL_LIBS)
tests_fuzz_identity_ext_replay_SOURCES = tests/fuzz/fuzz_identity_ext.c tests/fuzz/replay_main.c
tests_fuzz_identity_ext_replay_LDADD = $(RBAC_LIBS)
tests_fuzz_config_replay_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_config_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_config_replay_LDADD = proxy/libproxy.a $(RBAC_LIBS)
tests_fuzz_resources_replay_SOURCES = tests/fuzz/fuzz_resources.c tests/fuzz/replay_main.c
tests_fuzz_resources_replay_LDADD = $(RBAC_LIBS)
tests_fuzz_template_replay_SOURCES = tests/fuzz/fuzz_template.c tests/fuzz/replay_main.c
tests_fuzz_template_replay_LDADD = $(RBAC_LIBS)
tests_fuzz_ini_replay_SOURCES = tests/fuzz/fuzz_ini.c tests/fuzz/replay_main.c
tests_fuzz_ini_replay_LDADD = $(FEDERATION_LIBS)
tests_fuzz_credjson_replay_SOURCES = tests/fuzz/fuzz_credjson.c tests/fuzz/replay_main.c
tests_fuzz_credjson_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_credjson_replay_LDADD = $(FEDERATION_LIBS)

tests_fuzz_xml_replay_SOURCES = tests/fuzz/fuzz_xml.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_xml_replay_LDADD = $(FEDERATION_LIBS)
tests_fuzz_sts_replay_SOURCES = tests/fuzz/fuzz_sts.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_sts_replay_LDADD = $(FEDERATION_LIBS)
tests_fuzz_host_replay_SOURCES = tests/fuzz/fuzz_host.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_host_replay_LDADD = $(FEDERATION_LIBS)

tests_fuzz_h1_replay_SOURCES = tests/fuzz/fuzz_h1.c tests/unit/proxy/h1_harness.h tests/fuzz/replay_main.c
tests_fuzz_h1_replay_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(LIBEV_CFLAGS) -D_GNU_SOURCE
tests_fuzz_h1_replay_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(PROXY_SERVER_TEST_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_h1
# The codec and what it calls, compiled into the target with FUZZ_CFLAGS.
tests_fuzz_fuzz_h1_SOURCES = tests/fuzz/fuzz_h1.c tests/unit/proxy/h1_harness.h proxy/h1.c proxy/stream.c \
	proxy/routes.c proxy/conn.c proxy/server.c proxy/gen.c proxy/log.c proxy/metrics.c proxy/config.c \
	proxy/diag.c proxy/duration.c proxy/resources.c proxy/file.c proxy/h2.c \
	proxy/front.c proxy/gateapi.c proxy/presign.c proxy/partition.c tests/fuzz/transport_stub.c \
	proxy/web.c proxy/webassets.c proxy/webform.c proxy/websess.c
tests_fuzz_fuzz_h1_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(LIBEV_CFLAGS) $(LLHTTP_CFLAGS) $(LIBCURL_CFLAGS) \
	$(LIBNGHTTP2_CFLAGS) $(FUZZ_CFLAGS) -D_GNU_SOURCE
tests_fuzz_fuzz_h1_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_h1_LDADD = rbac/librbac_fuzz.a $(PROXY_SERVER_TEST_LIBS) $(JANSSON_LIBS) $(PCRE2_LIBS) $(OPENSSL_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_reqfile tests/fuzz/fuzz_sign tests/fuzz/fuzz_verify tests/fuzz/fuzz_dechunk \
	tests/fuzz/fuzz_identity_ext tests/fuzz/fuzz_config tests/fuzz/fuzz_resources tests/fuzz/fuzz_template \
	tests/fuzz/fuzz_xml tests/fuzz/fuzz_sts tests/fuzz/fuzz_host
tests_fuzz_fuzz_reqfile_SOURCES = tests/fuzz/fuzz_reqfile.c
tests_fuzz_fuzz_reqfile_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_reqfile_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_reqfile_LDADD = sigv4/libsigv4_fuzz.a $(OPENSSL_LIBS)
tests_fuzz_fuzz_sign_SOURCES = tests/fuzz/fuzz_sign.c tests/fuzz/harness.h
tests_fuzz_fuzz_sign_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sign_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sign_LDADD = sigv4/libsigv4_fuzz.a $(OPENSSL_LIBS)
tests_fuzz_fuzz_verify_SOURCES = tests/fuzz/fuzz_verify.c tests/fuzz/harness.h
tests_fuzz_fuzz_verify_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_verify_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_verify_LDADD = sigv4/libsigv4_fuzz.a $(OPENSSL_LIBS)
tests_fuzz_fuzz_dechunk_SOURCES = tests/fuzz/fuzz_dechunk.c
tests_fuzz_fuzz_dechunk_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_dechunk_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dechunk_LDADD = sigv4/libsigv4_fuzz.a $(OPENSSL_LIBS)
tests_fuzz_fuzz_identity_ext_SOURCES = tests/fuzz/fuzz_identity_ext.c
tests_fuzz_fuzz_identity_ext_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_identity_ext_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_identity_ext_LDADD = rbac/librbac_fuzz.a $(JANSSON_LIBS) $(PCRE2_LIBS) $(OPENSSL_LIBS)
# The daemon file's parser is compiled into its target with FUZZ_CFLAGS
# (libproxy.a as a whole would pull in the commands and OpenSSL's CA code).
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/harness.h proxy/config.c proxy/diag.c \
	proxy/duration.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = rbac/librbac_fuzz.a $(JANSSON_LIBS) $(PCRE2_LIBS) $(OPENSSL_LIBS)
tests_fuzz_fuzz_resources_SOURCES = tests/fuzz/fuzz_resources.c
tests_fuzz_fuzz_resources_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_resources_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_resources_LDADD = rbac/librbac_fuzz.a $(JANSSON_LIBS) $(PCRE2_LIBS) $(OPENSSL_LIBS)
tests_fuzz_fuzz_template_SOURCES = tests/fuzz/fuzz_template.c
tests_fuzz_fuzz_template_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_template_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_template_LDADD = rbac/librbac_fuzz.a $(JANSSON_LIBS) $(PCRE2_LIBS) $(OPENSSL_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_ini tests/fuzz/fuzz_credjson
tests_fuzz_fuzz_ini_SOURCES = tests/fuzz/fuzz_ini.c
tests_fuzz_fuzz_ini_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_ini_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_ini_LDADD = federation/libfederation_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread
tests_fuzz_fuzz_credjson_SOURCES = tests/fuzz/fuzz_credjson.c
tests_fuzz_fuzz_credjson_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_credjson_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_credjson_LDADD = federation/libfederation_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread
fuzz-targets: tests/fuzz/fuzz_ini tests/fuzz/fuzz_credjson

tests_fuzz_fuzz_xml_SOURCES = tests/fuzz/fuzz_xml.c tests/fuzz/harness.h
tests_fuzz_fuzz_xml_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_xml_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_xml_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
tests_fuzz_fuzz_sts_SOURCES = tests/fuzz/fuzz_sts.c tests/fuzz/harness.h
tests_fuzz_fuzz_sts_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sts_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sts_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
tests_fuzz_fuzz_host_SOURCES = tests/fuzz/fuzz_host.c tests/fuzz/harness.h
tests_fuzz_fuzz_host_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_host_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_host_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_presign
tests_fuzz_fuzz_presign_SOURCES = tests/fuzz/fuzz_presign.c tests/fuzz/harness.h proxy/presign.c proxy/presign.h \
	proxy/partition.c
tests_fuzz_fuzz_presign_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_presign_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_presign_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
fuzz-targets: tests/fuzz/fuzz_reqfile tests/fuzz/fuzz_sign tests/fuzz/fuzz_verify tests/fuzz/fuzz_dechunk \
	tests/fuzz/fuzz_identity_ext tests/fuzz/fuzz_config tests/fuzz/fuzz_resources tests/fuzz/fuzz_template \
	tests/fuzz/fuzz_xml tests/fuzz/fuzz_sts tests/fuzz/fuzz_host tests/fuzz/fuzz_h1 tests/fuzz/fuzz_presign
else
fuzz-targets:
	@echo "fuzz targets need: CC=clang ./configure --enable-fuzzing" >&2; exit 1
endif
print-fuzz-targets:
	@echo $(FUZZ_TARGETS)
.PHONY: fuzz-targets print-fuzz-targets

# Benchmarks (tests/bench/local.mk) are run by hand with make bench, never in make check.

# The pipeline's socket-free stages (proxy/pipeline.h).
PIPELINE_TEST_LDADD = proxy/libproxy.a $(FEDERATION_LIBS) $(CMOCKA_LIBS)
PIPELINE_TESTS = tests/unit/proxy/target.utest
check_PROGRAMS += $(PIPELINE_TESTS)
TESTS += $(PIPELINE_TESTS)
tests_unit_proxy_target_utest_SOURCES = tests/unit/proxy/target_test.c
tests_unit_proxy_target_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_target_utest_LDADD = $(PIPELINE_TEST_LDADD)

# Fuzz targets of the pipeline: the X-Forwarded-Host parser and decision.
FUZZ_TARGETS += xfh
check_PROGRAMS += tests/fuzz/xfh_replay
tests_fuzz_xfh_replay_SOURCES = tests/fuzz/fuzz_xfh.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_xfh_replay_LDADD = proxy/libproxy.a $(FEDERATION_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_xfh
tests_fuzz_fuzz_xfh_SOURCES = tests/fuzz/fuzz_xfh.c tests/fuzz/harness.h proxy/reason.c proxy/target.c \
	proxy/partition.c
tests_fuzz_fuzz_xfh_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_xfh_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_xfh_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS) \
	-lpthread
fuzz-targets: tests/fuzz/fuzz_xfh
endif

# Fuzz target: the audit's JSON writer, read back by jansson.
FUZZ_TARGETS += jw
check_PROGRAMS += tests/fuzz/jw_replay
tests_fuzz_jw_replay_SOURCES = tests/fuzz/fuzz_jw.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_jw_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(LIBEV_CFLAGS)
tests_fuzz_jw_replay_LDADD = $(PROXY_TEST_LDADD) $(JANSSON_LIBS) -lpthread
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_jw
tests_fuzz_fuzz_jw_SOURCES = tests/fuzz/fuzz_jw.c tests/fuzz/harness.h proxy/log.c
tests_fuzz_fuzz_jw_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(LIBEV_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_jw_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_jw_LDADD = rbac/librbac_fuzz.a $(JANSSON_LIBS) $(PCRE2_LIBS) $(OPENSSL_LIBS) -lpthread
fuzz-targets: tests/fuzz/fuzz_jw
endif

# Gate errors in the services' protocols, read back by botocore's parsers.
PIPELINE_TESTS += tests/unit/proxy/awserror.utest
tests_unit_proxy_awserror_utest_SOURCES = tests/unit/proxy/awserror_test.c
tests_unit_proxy_awserror_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_awserror_utest_LDADD = $(PIPELINE_TEST_LDADD)
check_PROGRAMS += tests/integration/awserror_render
tests_integration_awserror_render_SOURCES = tests/integration/awserror_render.c
tests_integration_awserror_render_LDADD = proxy/libproxy.a $(FEDERATION_LIBS)
TESTS += tests/integration/awserror-botocore.test
dist_noinst_SCRIPTS += tests/integration/awserror-botocore.test tests/integration/awserror_botocore.py

# The audit's S3 operation names: botocore makes a request for each operation.
check_PROGRAMS += tests/integration/s3action_run
tests_integration_s3action_run_SOURCES = tests/integration/s3action_run.c
tests_integration_s3action_run_LDADD = proxy/libproxy.a
TESTS += tests/integration/s3action-botocore.test
dist_noinst_SCRIPTS += tests/integration/s3action-botocore.test tests/integration/s3action_botocore.py

# Re-signing: botocore makes the users' requests and verifies the gate's signatures.
check_PROGRAMS += tests/integration/resign_run
tests_integration_resign_run_SOURCES = tests/integration/resign_run.c
tests_integration_resign_run_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(FEDERATION_LIBS)
TESTS += tests/integration/resign-botocore.test
dist_noinst_SCRIPTS += tests/integration/resign-botocore.test tests/integration/resign_botocore.py
PIPELINE_TESTS += tests/unit/proxy/resign.utest
tests_unit_proxy_resign_utest_SOURCES = tests/unit/proxy/resign_test.c
tests_unit_proxy_resign_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_resign_utest_LDADD = $(PIPELINE_TEST_LDADD)

# Fuzz target: the scope parser and the re-signer.
FUZZ_TARGETS += resign
check_PROGRAMS += tests/fuzz/resign_replay
tests_fuzz_resign_replay_SOURCES = tests/fuzz/fuzz_resign.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_resign_replay_LDADD = proxy/libproxy.a $(FEDERATION_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_resign
tests_fuzz_fuzz_resign_SOURCES = tests/fuzz/fuzz_resign.c tests/fuzz/harness.h proxy/reason.c proxy/target.c \
	proxy/resign.c proxy/partition.c proxy/s3action.c
tests_fuzz_fuzz_resign_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_resign_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_resign_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) \
	$(OPENSSL_LIBS) -lpthread
fuzz-targets: tests/fuzz/fuzz_resign
endif
PIPELINE_TESTS += tests/unit/proxy/userstsr.utest
tests_unit_proxy_userstsr_utest_SOURCES = tests/unit/proxy/userstsr_test.c
tests_unit_proxy_userstsr_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_userstsr_utest_LDADD = $(PIPELINE_TEST_LDADD)

# Fuzz target: the AssumeRole form rewriter and the action extractor.
FUZZ_TARGETS += stsform
check_PROGRAMS += tests/fuzz/stsform_replay
tests_fuzz_stsform_replay_SOURCES = tests/fuzz/fuzz_stsform.c tests/fuzz/harness.h tests/fuzz/replay_main.c
tests_fuzz_stsform_replay_LDADD = proxy/libproxy.a $(FEDERATION_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_stsform
tests_fuzz_fuzz_stsform_SOURCES = tests/fuzz/fuzz_stsform.c tests/fuzz/harness.h proxy/reason.c proxy/userstsr.c
tests_fuzz_fuzz_stsform_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_stsform_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_stsform_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) \
	$(OPENSSL_LIBS) -lpthread
fuzz-targets: tests/fuzz/fuzz_stsform
endif
PIPELINE_TESTS += tests/unit/proxy/rechunk.utest
tests_unit_proxy_rechunk_utest_SOURCES = tests/unit/proxy/rechunk_test.c
tests_unit_proxy_rechunk_utest_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_rechunk_utest_LDADD = $(PIPELINE_TEST_LDADD)

# The resolver on real loops and threads, offline (docs/UPSTREAM.md, "Name resolution").
UNIT_TESTS += tests/unit/proxy/resolve.utest
tests_unit_proxy_resolve_utest_SOURCES = tests/unit/proxy/resolve_test.c
tests_unit_proxy_resolve_utest_CFLAGS = $(TEST_CFLAGS) $(LIBEV_CFLAGS) -pthread
tests_unit_proxy_resolve_utest_LDADD = $(PROXY_TEST_LDADD) $(LIBEV_LIBS) -lpthread

# Fuzz target: the resolver's hosts(5) parser (proxy/hostsfile.c needs only libc).
FUZZ_TARGETS += hostsfile
check_PROGRAMS += tests/fuzz/hostsfile_replay
tests_fuzz_hostsfile_replay_SOURCES = tests/fuzz/fuzz_hostsfile.c tests/fuzz/harness.h tests/fuzz/replay_main.c \
	proxy/hostsfile.c proxy/resolve.h
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_hostsfile
tests_fuzz_fuzz_hostsfile_SOURCES = tests/fuzz/fuzz_hostsfile.c tests/fuzz/harness.h proxy/hostsfile.c proxy/resolve.h
tests_fuzz_fuzz_hostsfile_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_hostsfile_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz-targets: tests/fuzz/fuzz_hostsfile
endif

# Fuzz target: the local proxy's CONNECT target parser, routing and NO_PROXY.
FUZZ_TARGETS += connect
check_PROGRAMS += tests/fuzz/connect_replay
tests_fuzz_connect_replay_SOURCES = tests/fuzz/fuzz_connect.c tests/fuzz/harness.h tests/fuzz/replay_main.c \
	proxy/lproxy_target.c proxy/lproxy_int.h
tests_fuzz_connect_replay_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_fuzz_connect_replay_LDADD = $(FEDERATION_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_connect
tests_fuzz_fuzz_connect_SOURCES = tests/fuzz/fuzz_connect.c tests/fuzz/harness.h proxy/lproxy_target.c proxy/lproxy_int.h
tests_fuzz_fuzz_connect_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_connect_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_connect_LDADD = federation/libfederation_fuzz.a sigv4/libsigv4_fuzz.a $(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread
fuzz-targets: tests/fuzz/fuzz_connect
endif

# 1 GiB each way through awsgated's API pipeline, HTTP/1.1 and HTTP/2, with
# slow readers at both ends and RSS bounded (GATE_LARGE_BYTES for local runs).
TESTS += tests/integration/gate-api-large.test
dist_noinst_SCRIPTS += tests/integration/gate-api-large.test tests/integration/gate_api_large.py

# Fuzz target: awsgate's profile.json reader (proxy/cli_profile.c; the
# writer's round trip is checked too).
FUZZ_TARGETS += profile
check_PROGRAMS += tests/fuzz/profile_replay
tests_fuzz_profile_replay_SOURCES = tests/fuzz/fuzz_profile.c tests/fuzz/harness.h tests/fuzz/replay_main.c \
	proxy/cli_profile.c proxy/file.c proxy/cli.h
tests_fuzz_profile_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
tests_fuzz_profile_replay_LDADD = $(JANSSON_LIBS) $(OPENSSL_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_profile
tests_fuzz_fuzz_profile_SOURCES = tests/fuzz/fuzz_profile.c tests/fuzz/harness.h proxy/cli_profile.c proxy/file.c \
	proxy/cli.h
tests_fuzz_fuzz_profile_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_profile_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_profile_LDADD = $(JANSSON_LIBS) $(OPENSSL_LIBS)
fuzz-targets: tests/fuzz/fuzz_profile
endif

# The local proxy end to end: the AWS CLI v2 and boto3 through lproxy_run,
# awsgated and the fake AWS; 200 MiB each way (LPROXY_BIG_BYTES for local
# runs); tunnels and refusals (docs/LPROXY.md).
TESTS += tests/integration/lproxy.test
dist_noinst_SCRIPTS += tests/integration/lproxy.test tests/integration/lproxy_e2e.py

# px_gatec against awsgated and independent servers (docs/LPROXY.md, "The
# gate connection"): 256 MiB each way, 100-continue, GOAWAY, certificates.
TESTS += tests/integration/gatec.test
dist_noinst_SCRIPTS += tests/integration/gatec.test tests/integration/gatec_test.py

# px_gatec without a gate: arguments, body states, the local certificate
# check, connect errors, cancel and del (docs/LPROXY.md).
UNIT_TESTS += tests/unit/proxy/gatec.utest
tests_unit_proxy_gatec_utest_SOURCES = tests/unit/proxy/gatec_test.c
tests_unit_proxy_gatec_utest_CFLAGS = $(TEST_CFLAGS) $(LIBEV_CFLAGS) $(LIBNGHTTP2_CFLAGS)
tests_unit_proxy_gatec_utest_LDADD = $(PROXY_TEST_LDADD) $(LIBCURL_LIBS) $(LIBNGHTTP2_LIBS) $(LIBEV_LIBS) \
	$(OPENSSL_LIBS) -lpthread

# The local proxy with a slow DNS for the gate's name (lproxy-slowdns.test):
# an LD_PRELOAD getaddrinfo() that sleeps for *.slow.test and fails for
# *.nxdomain.test, built for `make check`.
check_DATA = tests/integration/slowdns_shim.so
CLEANFILES += tests/integration/slowdns_shim.so
EXTRA_DIST += tests/integration/slowdns_shim.c
tests/integration/slowdns_shim.so: $(srcdir)/tests/integration/slowdns_shim.c
	@$(MKDIR_P) tests/integration
	$(AM_V_CC)$(CC) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) -shared -fPIC \
		-o $@ $(srcdir)/tests/integration/slowdns_shim.c $(LDFLAGS) -ldl
TESTS += tests/integration/lproxy-slowdns.test
dist_noinst_SCRIPTS += tests/integration/lproxy-slowdns.test tests/integration/lproxy_slowdns.py

# px_gatec's kept requests (PX_GATEC_SPARE) against libnghttp2's server side
# in memory: reuse after an answer, a reset and an error, larger blocks and
# bodies than were kept, the bound (it compiles proxy/gatec.c in).
UNIT_TESTS += tests/unit/proxy/gatec_reuse.utest
tests_unit_proxy_gatec_reuse_utest_SOURCES = tests/unit/proxy/gatec_reuse_test.c
tests_unit_proxy_gatec_reuse_utest_CFLAGS = $(TEST_CFLAGS) $(LIBEV_CFLAGS) $(LIBNGHTTP2_CFLAGS)
tests_unit_proxy_gatec_reuse_utest_LDADD = $(PROXY_TEST_LDADD) $(LIBCURL_LIBS) $(LIBNGHTTP2_LIBS) $(LIBEV_LIBS) \
	$(OPENSSL_LIBS) -lpthread

# Fuzz target: px_gatec's HTTP/2 side (it compiles proxy/gatec.c in, with a
# connection without a socket; the resolver it links is never started).
FUZZ_TARGETS += gatec
GATEC_FUZZ_CFLAGS = $(LIBEV_CFLAGS) $(LIBNGHTTP2_CFLAGS) $(OPENSSL_CFLAGS)
GATEC_FUZZ_LIBS = $(LIBNGHTTP2_LIBS) $(LIBEV_LIBS) $(OPENSSL_LIBS) -lpthread
GATEC_FUZZ_RESOLVER = proxy/resolve.c proxy/hostsfile.c proxy/file.c
check_PROGRAMS += tests/fuzz/gatec_replay
tests_fuzz_gatec_replay_SOURCES = tests/fuzz/fuzz_gatec.c tests/fuzz/harness.h tests/fuzz/replay_main.c \
	$(GATEC_FUZZ_RESOLVER)
tests_fuzz_gatec_replay_CFLAGS = $(AM_CFLAGS) $(GATEC_FUZZ_CFLAGS)
tests_fuzz_gatec_replay_LDADD = $(GATEC_FUZZ_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_gatec
tests_fuzz_fuzz_gatec_SOURCES = tests/fuzz/fuzz_gatec.c tests/fuzz/harness.h $(GATEC_FUZZ_RESOLVER)
tests_fuzz_fuzz_gatec_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(GATEC_FUZZ_CFLAGS)
tests_fuzz_fuzz_gatec_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_gatec_LDADD = $(GATEC_FUZZ_LIBS)
fuzz-targets: tests/fuzz/fuzz_gatec
endif

# Fuzz target: the web UI's parsers (proxy/webform.c needs only libc).
FUZZ_TARGETS += webform
check_PROGRAMS += tests/fuzz/webform_replay
tests_fuzz_webform_replay_SOURCES = tests/fuzz/fuzz_webform.c tests/fuzz/harness.h tests/fuzz/replay_main.c \
	proxy/webform.c proxy/web.h
tests_fuzz_webform_replay_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_fuzz_webform_replay_LDADD = $(OPENSSL_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_webform
tests_fuzz_fuzz_webform_SOURCES = tests/fuzz/fuzz_webform.c tests/fuzz/harness.h proxy/webform.c proxy/web.h
tests_fuzz_fuzz_webform_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(FUZZ_CFLAGS)
tests_fuzz_fuzz_webform_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_webform_LDADD = $(OPENSSL_LIBS)
fuzz-targets: tests/fuzz/fuzz_webform
endif

# Fuzz target: the native upstream client's response side (proxy/h1up.c:
# llhttp, OpenSSL and libev are linked, no socket is opened).
FUZZ_TARGETS += h1up
check_PROGRAMS += tests/fuzz/h1up_replay
tests_fuzz_h1up_replay_SOURCES = tests/fuzz/fuzz_h1up.c tests/fuzz/harness.h tests/fuzz/replay_main.c \
	proxy/h1up.c proxy/h1up.h
tests_fuzz_h1up_replay_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(LIBEV_CFLAGS) $(LLHTTP_CFLAGS) $(LIBCURL_CFLAGS)
tests_fuzz_h1up_replay_LDADD = $(LLHTTP_LIBADD) $(OPENSSL_LIBS) $(LIBEV_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_h1up
tests_fuzz_fuzz_h1up_SOURCES = tests/fuzz/fuzz_h1up.c tests/fuzz/harness.h proxy/h1up.c proxy/h1up.h
tests_fuzz_fuzz_h1up_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(OPENSSL_CFLAGS) $(LIBEV_CFLAGS) $(LLHTTP_CFLAGS) $(LIBCURL_CFLAGS)
tests_fuzz_fuzz_h1up_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_h1up_LDADD = $(LLHTTP_LIBADD) $(OPENSSL_LIBS) $(LIBEV_LIBS)
fuzz-targets: tests/fuzz/fuzz_h1up
endif
