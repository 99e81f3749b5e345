# SPDX-License-Identifier: Apache-2.0
# rbac/local.mk: librbac.a, identities, resources, templates and decisions (jansson, PCRE2, OpenSSL).
noinst_LIBRARIES += rbac/librbac.a
rbac_librbac_a_SOURCES = \
	rbac/rbac.h \
	rbac/rbac_int.h \
	rbac/duration.c \
	rbac/error.c \
	rbac/explain.c \
	rbac/identity.c \
	rbac/jsonpos.c \
	rbac/pattern.c \
	rbac/resource.c \
	rbac/subject.c \
	rbac/template.c
rbac_librbac_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(PCRE2_CFLAGS) $(OPENSSL_CFLAGS)
RBAC_LIBS = rbac/librbac.a $(JANSSON_LIBS) $(PCRE2_LIBS) $(OPENSSL_LIBS)

# The same sources instrumented for libFuzzer (see sigv4/local.mk).
if ENABLE_FUZZING
noinst_LIBRARIES += rbac/librbac_fuzz.a
rbac_librbac_fuzz_a_SOURCES = $(rbac_librbac_a_SOURCES)
rbac_librbac_fuzz_a_CFLAGS = $(rbac_librbac_a_CFLAGS) $(FUZZ_CFLAGS)
endif
