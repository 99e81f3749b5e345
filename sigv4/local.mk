# SPDX-License-Identifier: Apache-2.0
# sigv4/local.mk: libsigv4.a, SigV4 signing (OpenSSL only).
noinst_LIBRARIES += sigv4/libsigv4.a
sigv4_libsigv4_a_SOURCES = \
	sigv4/sigv4.h \
	sigv4/sv4_int.h \
	sigv4/buf.c \
	sigv4/canon.c \
	sigv4/chunked.c \
	sigv4/reqfile.c \
	sigv4/sha256.c \
	sigv4/sign.c \
	sigv4/time.c \
	sigv4/verify.c
sigv4_libsigv4_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)

# The same sources instrumented for libFuzzer, linked only into the fuzz
# targets: code built with -fsanitize=fuzzer-no-link needs libFuzzer's
# runtime at link time, which only -fsanitize=fuzzer programs have.
if ENABLE_FUZZING
noinst_LIBRARIES += sigv4/libsigv4_fuzz.a
sigv4_libsigv4_fuzz_a_SOURCES = $(sigv4_libsigv4_a_SOURCES)
sigv4_libsigv4_fuzz_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(FUZZ_CFLAGS)
endif
