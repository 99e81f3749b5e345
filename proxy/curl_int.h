/* SPDX-License-Identifier: Apache-2.0 */
/* curl_int.h: the per-loop libcurl core shared by federation's transport and the upstream client (proxy-private). */
#ifndef AWSGATE_PROXY_CURL_INT_H
#define AWSGATE_PROXY_CURL_INT_H

#include <stdbool.h>

#include <curl/curl.h>
#include <ev.h>

#include "proxy.h"

/*
 * One transfer of the core: CURLOPT_PRIVATE of every easy handle added with
 * px_curl_add() points to one. When the transfer ends, the core removes the
 * handle from the multi handle and then calls |done| (outside any libcurl
 * call), which may free the transfer and start or cancel others.
 */
struct px_curl_xfer;
typedef void px_curl_done_fn(struct px_curl_xfer *x, CURLcode rc);
struct px_curl_xfer {
	px_curl_done_fn *done;
};

#define PX_CURL_EASY_POOL 32 /* finished easy handles kept for reuse per core */

struct px_curl {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;    /* CURLMOPT_TIMERFUNCTION's */
	unsigned in_curl;  /* > 0 while a libcurl call of ours runs: callbacks must not re-enter */
	char *ca_file;     /* NULL: the system store */
	char **connect_host; /* aws.connect_to: host patterns, and ... */
	char **connect_addr; /* ... "host:port" destinations, as CURLOPT_CONNECT_TO wants them */
	size_t nconnect;
	/* Easy handles of finished transfers, reset: a new transfer takes one
	 * instead of allocating one (and its buffers) again. */
	CURL *pool[PX_CURL_EASY_POOL];
	size_t npool;
	/* The native HTTP/1.1 client's pool of connections (proxy/h1up.c),
	 * made at its first request; freed through |h1_del| so that programs
	 * without that client do not link it. */
	void *h1;
	void (*h1_del)(void *h1);
	/* AWSGATE_UPSTREAM=curl in the environment when the core was made:
	 * every request goes through libcurl (tests compare the two). */
	bool h1_off;
};

/* An easy handle in its default state: from the pool, else new. NULL when
 * out of memory. */
CURL *px_curl_easy_get(struct px_curl *c);

/* Gives back |e| (taken out of the multi handle already): reset and kept,
 * or cleaned up when the pool is full. NULL is fine. */
void px_curl_easy_put(struct px_curl *c, CURL *e);

/* Sets what every transfer of the core has: no signals, TLS verified
 * against the core's CA file, http and https only, no redirects. */
void px_curl_easy_defaults(struct px_curl *c, CURL *e);

/* The aws.connect_to entry for the host of |url|, as a CURLOPT_CONNECT_TO
 * list ("host:port:addr:aport"), or NULL (no entry, or out of memory). */
struct curl_slist *px_curl_connect_to(const struct px_curl *c, const char *url);

/* Adds |e| to the multi handle with |x| as its CURLOPT_PRIVATE.
 * Returns 0 or PX_ERR_NOMEM. */
int px_curl_add(struct px_curl *c, CURL *e, struct px_curl_xfer *x);

/* Takes |e| out of the multi handle (its transfer is abandoned). Not from
 * inside a libcurl callback: check c->in_curl. */
void px_curl_remove(struct px_curl *c, CURL *e);

/* curl_easy_pause() with the core marked busy: a callback that libcurl
 * runs from inside it (buffered data delivered on unpause) sees in_curl. */
CURLcode px_curl_pause(struct px_curl *c, CURL *e, int bitmask);

/* Hands finished transfers to their done callbacks. */
void px_curl_check_done(struct px_curl *c);

#endif
