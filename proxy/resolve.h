/* TEMPORARY STUB (not committed) */
#ifndef AWSGATE_PROXY_RESOLVE_H
#define AWSGATE_PROXY_RESOLVE_H
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include "proxy.h"
#define PX_RESOLVE_MAX_ADDRS 16
#define PX_RESOLVE_PENDING 1
#define PX_ERR_RESOLVE -470
struct ev_loop;
struct px_resolver;
struct px_resolve_loop;
struct px_resolve_query;
struct px_resolve_answer {
	int err;
	char detail[128];
	struct sockaddr_storage addrs[PX_RESOLVE_MAX_ADDRS];
	size_t n;
};
int px_resolver_new(unsigned nthreads, double ttl_s, double neg_ttl_s, size_t max_entries,
                    const char *hosts_file, char *errbuf, size_t errsize, struct px_resolver **out);
void px_resolver_del(struct px_resolver *r);
int px_resolve_loop_new(struct px_resolver *r, struct ev_loop *loop, struct px_resolve_loop **out);
void px_resolve_loop_del(struct px_resolve_loop *rl);
typedef void px_resolve_fn(void *arg, const struct px_resolve_answer *a);
int px_resolve_start(struct px_resolve_loop *rl, const char *host, struct px_resolve_answer *now,
                     px_resolve_fn *fn, void *arg, struct px_resolve_query **q);
void px_resolve_cancel(struct px_resolve_query *q);
#endif
