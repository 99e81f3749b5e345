/* SPDX-License-Identifier: Apache-2.0 */
/* h1up.h: the native HTTP/1.1 upstream client behind px_upstream for pinned HTTP/1.1 requests (proxy-private). */
#ifndef AWSGATE_PROXY_H1UP_H
#define AWSGATE_PROXY_H1UP_H

#include <string.h>

#include "curl_int.h"
#include "upstream.h"

/*
 * px_upstream_start() hands a request here when it has a pinned address and
 * asks for HTTP/1.1 (the AWS pipeline's case), unless the core was made with
 * AWSGATE_UPSTREAM=curl in the environment. The functions below have
 * exactly the contract of their px_upstream_* namesakes (proxy/upstream.h);
 * docs/UPSTREAM.md describes the pool, its limits and the retry rule.
 *
 * A request of this client starts with the byte PX_H1UP_TAG (the first
 * member of its struct), which upstream.c reads to dispatch; libcurl's
 * requests start with 0.
 */
#define PX_H1UP_TAG 0x48

/* Limits of the per-loop pool (docs/UPSTREAM.md). */
#define PX_H1UP_MAX_IDLE 256          /* idle keep-alive connections per loop, all keys (80 KiB each) */
#define PX_H1UP_MAX_IDLE_PER_KEY 256 /* idle connections per host, port and pinned address */
#define PX_H1UP_IDLE_SECONDS 20.0   /* an idle connection is closed after this (S3 drops them after ~20 s) */
#define PX_H1UP_MAX_SESSIONS 64     /* TLS sessions kept for resumption, one per key */
#define PX_H1UP_MAX_HEAD 131072     /* bytes of a request head (request line and header lines) */
#define PX_H1UP_FRESH_SECONDS 1.0   /* an idle connection younger than this is reused without a liveness check */

struct px_h1up;

int px_h1up_start(struct px_curl *c, const struct px_upstream_request *req, const struct px_upstream_handler *h,
                  void *arg, struct px_h1up **out);
int px_h1up_write(struct px_h1up *up, const void *data, size_t len);
int px_h1up_end(struct px_h1up *up);
void px_h1up_resume(struct px_h1up *up);
void px_h1up_cancel(struct px_h1up *up);

/* For the fuzz target: feeds |len| bytes of a response to a fresh parser
 * with a recording handler (HEAD when |head|); returns the px_up_error the
 * bytes would end the request with (PX_UP_OK for a complete answer), as if
 * the connection closed after them. */
enum px_up_error px_h1up_parse_test(const unsigned char *data, size_t len, int head, size_t piece);

/* For the unit test: lowers the limits of |c|'s pool (at most the
 * defaults above, at least 1), and reads how many connections are idle in
 * it and of how many keys. */
int px_h1up_pool_limits(struct px_curl *c, size_t max_idle, size_t max_per_key);
void px_h1up_pool_count(struct px_curl *c, size_t *idle, size_t *keys);

/* Appends |n| bytes of |src| to the ring of PX_UP_BODY_BUF bytes that
 * holds |*len| bytes from |off|; the caller made sure they fit. Shared by
 * both upstream clients' write(). */
static inline void px_up_ring_put(unsigned char *ring, size_t off, size_t *len, const unsigned char *src, size_t n)
{
	size_t done = 0;
	while (done < n) {
		size_t at = (off + *len) % PX_UP_BODY_BUF;
		size_t run = PX_UP_BODY_BUF - at;
		if (run > n - done)
			run = n - done;
		memcpy(ring + at, src + done, run);
		*len += run;
		done += run;
	}
}

#endif
