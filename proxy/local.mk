# SPDX-License-Identifier: Apache-2.0
# proxy/local.mk: libproxy.a (everything of the programs but main()), the programs, and llhttp.
noinst_LIBRARIES += proxy/libproxy.a
proxy_libproxy_a_SOURCES = \
	proxy/proxy.h \
	proxy/config.c \
	proxy/ctl_aws.c \
	proxy/ctl_ca.c \
	proxy/ctl_config.c \
	proxy/ctl_rbac.c \
	proxy/ctl_sigv4.c \
	proxy/diag.c \
	proxy/duration.c \
	proxy/file.c \
	proxy/resources.c \
	proxy/timearg.c \
	proxy/curl.c \
	proxy/curl_int.h \
	proxy/transport.c \
	proxy/upstream.c \
	proxy/upstream.h \
	proxy/h1up.c \
	proxy/h1up.h \
	proxy/list.h \
	proxy/server.h \
	proxy/api.c \
	proxy/conn.c \
	proxy/front.c \
	proxy/gateapi.c \
	proxy/gen.c \
	proxy/presign.c \
	proxy/h1.c \
	proxy/h2.c \
	proxy/log.c \
	proxy/metrics.c \
	proxy/routes.c \
	proxy/server.c \
	proxy/web.c \
	proxy/web.h \
	proxy/webassets.c \
	proxy/webassets.h \
	proxy/webform.c \
	proxy/websess.c \
	proxy/stream.c
proxy_libproxy_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(PCRE2_CFLAGS) $(OPENSSL_CFLAGS) $(LIBCURL_CFLAGS) \
	$(LIBEV_CFLAGS) $(LIBNGHTTP2_CFLAGS) $(LLHTTP_CFLAGS)

bin_PROGRAMS += awsgatectl
awsgatectl_SOURCES = proxy/ctl_main.c
awsgatectl_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(LIBEV_LIBS) -lpthread

bin_PROGRAMS += awsgated
awsgated_SOURCES = proxy/gated_main.c
awsgated_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(LIBEV_CFLAGS)
# The server's libraries: libev, nghttp2, llhttp (bundled or pkg-config), pthreads.
PROXY_SERVER_LIBS = $(LLHTTP_LIBADD) $(LIBNGHTTP2_LIBS) $(LIBEV_LIBS) -lpthread
awsgated_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(PROXY_SERVER_LIBS) $(OPENSSL_LIBS)

# llhttp: from pkg-config, or compiled here from Debian's node-llhttp
# sources, as generated code, without our warnings. Nothing is copied into
# the source tree.
if BUNDLED_LLHTTP
LLHTTP_LIBADD = proxy/libllhttp.a
noinst_LIBRARIES += proxy/libllhttp.a
nodist_proxy_libllhttp_a_SOURCES = proxy/llhttp/api.c proxy/llhttp/http.c proxy/llhttp/llhttp.c
proxy_libllhttp_a_CFLAGS = $(LLHTTP_CFLAGS) -w
proxy/llhttp/%.c: $(LLHTTP_SRCDIR)/%.c
	$(AM_V_GEN)$(MKDIR_P) proxy/llhttp && cp $< $@
CLEANFILES += $(nodist_proxy_libllhttp_a_SOURCES)
else
LLHTTP_LIBADD = $(LLHTTP_LIBS)
endif

# The pipeline's socket-free stages (proxy/pipeline.h, docs/PIPELINE.md).
proxy_libproxy_a_SOURCES += \
	proxy/pipeline.h \
	proxy/partition.c \
	proxy/reason.c \
	proxy/target.c \
	proxy/awserror.c \
	proxy/resign.c \
	proxy/userstsr.c \
	proxy/s3action.c \
	proxy/rechunk.c

# The resolver: getaddrinfo on helper threads, a process-wide cache, the
# hosts file (docs/UPSTREAM.md, "Name resolution").
proxy_libproxy_a_SOURCES += \
	proxy/resolve.h \
	proxy/resolve_int.h \
	proxy/resolve.c \
	proxy/hostsfile.c

# awsgate, the user's CLI (proxy/cli.h, docs/CLI.md "awsgate").
proxy_libproxy_a_SOURCES += \
	proxy/cli.h \
	proxy/cli_aws.c \
	proxy/cli_cmds.c \
	proxy/cli_gate.c \
	proxy/cli_profile.c \
	proxy/cli_session.c
bin_PROGRAMS += awsgate
awsgate_SOURCES = proxy/cli_main.c
awsgate_CFLAGS = $(AM_CFLAGS) $(LIBCURL_CFLAGS)
# The local proxy (proxy/lproxy.c) runs on libev with llhttp and nghttp2.
awsgate_LDADD = proxy/libproxy.a $(RBAC_LIBS) $(FEDERATION_LIBS) $(LIBCURL_LIBS) $(PROXY_SERVER_LIBS) $(OPENSSL_LIBS)

# The user's local proxy (docs/LPROXY.md): CONNECT, the local CA, the SigV4
# check with the throw-away keys, tunnels; proxy/gatec.c carries requests
# to the gate.
proxy_libproxy_a_SOURCES += \
	proxy/lproxy.h \
	proxy/lproxy_int.h \
	proxy/lproxy.c \
	proxy/lproxy_ca.c \
	proxy/lproxy_target.c

# The local proxy's HTTP/2 mTLS client of the gate (docs/LPROXY.md, "The
# gate connection").
proxy_libproxy_a_SOURCES += \
	proxy/gatec.h \
	proxy/gatec.c
