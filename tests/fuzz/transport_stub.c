/* SPDX-License-Identifier: Apache-2.0 */
/* transport_stub.c: link-only stand-ins for transport.c in fuzz_h1, whose harness has no workers, no AWS and no identity. */
#include <string.h>

#include "federation/federation.h"
#include "proxy/proxy.h"

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
