/* SPDX-License-Identifier: Apache-2.0 */
/* transport_stub.c: link-only stand-ins for transport.c, curl.c, resolve.c and api.c in fuzz_h1, whose harness has no workers, no AWS and no identity. */
#include <string.h>

#include "federation/federation.h"
#include "proxy/proxy.h"
#include "proxy/resolve.h"
#include "proxy/server.h"
#include "proxy/upstream.h"

/* The codec fuzzer reaches the gate's POST routes only without a client
 * certificate (401 before any credentials), and never starts workers, so
 * nothing here is called; transport.c itself is tested by
 * tests/unit/proxy/transport_test.c and the integration tests. */
struct px_transport *px_transport_new(struct ev_loop *loop, const char *ca_file, const struct px_connect_to *ct,
                                      size_t nct)
{
	(void)loop;
	(void)ca_file;
	(void)ct;
	(void)nct;
	return NULL;
}

void px_transport_del(struct px_transport *t)
{
	(void)t;
}

struct fed_transport *px_transport_fed(struct px_transport *t)
{
	(void)t;
	return NULL;
}

void px_env_init(struct fed_env *env)
{
	memset(env, 0, sizeof(*env));
}

/* The server's per-worker libcurl core and resolver, made only when
 * workers start (never in the harness). */
struct px_curl *px_curl_new(struct ev_loop *loop, const char *ca_file, const struct px_connect_to *ct, size_t nct)
{
	(void)loop;
	(void)ca_file;
	(void)ct;
	(void)nct;
	return NULL;
}

void px_curl_del(struct px_curl *c)
{
	(void)c;
}

struct px_transport *px_transport_new_on(struct px_curl *curl)
{
	(void)curl;
	return NULL;
}

int px_resolver_new(unsigned nthreads, double ttl_s, double neg_ttl_s, size_t max_entries, const char *hosts_file,
                    char *errbuf, size_t errsize, struct px_resolver **out)
{
	(void)nthreads;
	(void)ttl_s;
	(void)neg_ttl_s;
	(void)max_entries;
	(void)hosts_file;
	(void)errbuf;
	(void)errsize;
	*out = NULL;
	return PX_ERR_NOMEM;
}

void px_resolver_del(struct px_resolver *r)
{
	(void)r;
}

int px_resolve_loop_new(struct px_resolver *r, struct ev_loop *loop, struct px_resolve_loop **out)
{
	(void)r;
	(void)loop;
	*out = NULL;
	return PX_ERR_NOMEM;
}

void px_resolve_loop_del(struct px_resolve_loop *rl)
{
	(void)rl;
}

void px_resolver_stats(struct px_resolver *r, uint64_t *hits, uint64_t *lookups, uint64_t *failures)
{
	(void)r;
	*hits = *lookups = *failures = 0;
}

const char *px_up_error_name(enum px_up_error e)
{
	(void)e;
	return "ok";
}

/* The codec fuzzer has no identity, so an API request (X-Forwarded-Host)
 * would be refused at its first stage: it is refused here the same way,
 * without the pipeline (tested by gate-api.test and its unit tests). */
void px_api_dispatch(struct px_stream *st)
{
	st->route = PX_ROUTE_API;
	px_stream_error(st, 403, "certificate-required", "this route needs a client certificate");
}
