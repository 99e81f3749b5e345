# SPDX-License-Identifier: Apache-2.0
# federation/local.mk: libfederation.a, AWS credentials, STS, the credential cache, console sign-in and the partition table.
noinst_LIBRARIES += federation/libfederation.a
federation_libfederation_a_SOURCES = \
	federation/federation.h \
	federation/federation_int.h \
	federation/base.c \
	federation/cache.c \
	federation/creds.c \
	federation/credjson.c \
	federation/creds_int.h \
	federation/error.c \
	federation/flight.c \
	federation/ini.c \
	federation/partition.c \
	federation/policy.c \
	federation/session.c \
	federation/signin.c \
	federation/sts.c \
	federation/sts_int.h \
	federation/util.c \
	federation/xml.c
federation_libfederation_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
FEDERATION_LIBS = federation/libfederation.a sigv4/libsigv4.a $(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread

# The same sources instrumented for libFuzzer (see sigv4/local.mk).
if ENABLE_FUZZING
noinst_LIBRARIES += federation/libfederation_fuzz.a
federation_libfederation_fuzz_a_SOURCES = $(federation_libfederation_a_SOURCES)
federation_libfederation_fuzz_a_CFLAGS = $(federation_libfederation_a_CFLAGS) $(FUZZ_CFLAGS)
endif
