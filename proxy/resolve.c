/* TEMPORARY STUB (not committed): blocking */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "resolve.h"
struct px_resolver { int x; };
struct px_resolve_loop { int x; };
int px_resolver_new(unsigned a, double b, double c, size_t d, const char *e, char *f, size_t g, struct px_resolver **out)
{ (void)a;(void)b;(void)c;(void)d;(void)e;(void)f;(void)g; *out = calloc(1, sizeof(**out)); return 0; }
void px_resolver_del(struct px_resolver *r) { free(r); }
int px_resolve_loop_new(struct px_resolver *r, struct ev_loop *loop, struct px_resolve_loop **out)
{ (void)r; (void)loop; *out = calloc(1, sizeof(**out)); return 0; }
void px_resolve_loop_del(struct px_resolve_loop *rl) { free(rl); }
int px_resolve_start(struct px_resolve_loop *rl, const char *host, struct px_resolve_answer *now,
                     px_resolve_fn *fn, void *arg, struct px_resolve_query **q)
{
	struct addrinfo hints, *res, *ai;
	int rv;
	(void)rl; (void)fn; (void)arg; (void)q;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	memset(now, 0, sizeof(*now));
	rv = getaddrinfo(host, NULL, &hints, &res);
	if (rv != 0) { now->err = PX_ERR_RESOLVE; snprintf(now->detail, sizeof(now->detail), "%s", gai_strerror(rv)); return 0; }
	for (ai = res; ai && now->n < PX_RESOLVE_MAX_ADDRS; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) memcpy(&now->addrs[now->n++], ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}
void px_resolve_cancel(struct px_resolve_query *q) { (void)q; }
