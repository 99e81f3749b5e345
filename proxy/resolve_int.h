/* SPDX-License-Identifier: Apache-2.0 */
/* resolve_int.h: the resolver's test hooks, not for the gate's own code. */
#ifndef AWSGATE_PROXY_RESOLVE_INT_H
#define AWSGATE_PROXY_RESOLVE_INT_H

struct px_resolver;

/* With |hold| non-zero the threads take no new job from the queue until it
 * is called again with 0: lets a test start several queries of one name
 * before any lookup runs, to see them share one getaddrinfo call. */
void px_resolver_hold(struct px_resolver *r, int hold);

#endif
