/* SPDX-License-Identifier: Apache-2.0 */
/* curl.c: one libcurl multi handle per libev loop, driven by the loop, shared by federation's transport and px_upstream.
 *
 * As in curl's evhiperfifo example, CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION map libcurl's sockets and timeout to ev_io and
 * ev_timer watchers, so no call ever blocks the loop. Finished transfers
 * are handed to their owner's done callback through struct px_curl_xfer,
 * which lets two kinds of transfers (buffered federation calls, streamed
 * upstream requests) share the connection pool of one multi handle. */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_int.h"

/* The connection pool of one loop (docs/UPSTREAM.md). */
#define PX_CURL_MAX_CONNECTS 512 /* connections libcurl keeps for reuse per loop (CURLMOPT_MAXCONNECTS) */

/* A socket curl asked us to watch. */
struct px_sock {
	ev_io w;
	struct px_curl *c;
	curl_socket_t fd;
};

void px_curl_check_done(struct px_curl *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct px_curl_xfer *x = NULL;
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		/* |m| is invalid once the handle leaves the multi handle. */
		curl_multi_remove_handle(c->multi, e);
		x->done(x, rc);
	}
}

static void px_curl_action(struct px_curl *c, curl_socket_t fd, int action)
{
	int running;
	c->in_curl++;
	curl_multi_socket_action(c->multi, fd, action, &running);
	c->in_curl--;
	px_curl_check_done(c);
}

static void sock_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct px_sock *s = (struct px_sock *)w;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	px_curl_action(s->c, s->fd, action); /* s may be freed inside */
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	(void)easy;
	struct px_curl *c = userp;
	struct px_sock *s = sockp;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(c->loop, &s->w);
			free(s);
		}
		curl_multi_assign(c->multi, fd, NULL);
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1; /* curl fails the transfer */
		s->c = c;
		s->fd = fd;
		curl_multi_assign(c->multi, fd, s);
	} else {
		ev_io_stop(c->loop, &s->w);
	}
	int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	ev_io_init(&s->w, sock_cb, fd, events);
	ev_io_start(c->loop, &s->w);
	return 0;
}

static void curl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_curl *c = PX_CONTAINER_OF(w, struct px_curl, timer);
	px_curl_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static int curl_timerfn(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct px_curl *c = userp;
	ev_timer_stop(c->loop, &c->timer);
	if (timeout_ms >= 0) {
		/* 0 means "now": let the loop run it, never from inside curl. */
		ev_timer_set(&c->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(c->loop, &c->timer);
	}
	return 0;
}

void px_curl_easy_defaults(struct px_curl *c, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
}

struct curl_slist *px_curl_connect_to(const struct px_curl *c, const char *url)
{
	if (c->nconnect == 0)
		return NULL;
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	struct curl_slist *list = NULL;
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	for (size_t i = 0; i < c->nconnect; i++) {
		if (fnmatch(c->connect_host[i], host, 0) != 0)
			continue;
		char entry[600];
		int n = snprintf(entry, sizeof(entry), "%s:%s:%s", host, port, c->connect_addr[i]);
		if (n > 0 && (size_t)n < sizeof(entry))
			list = curl_slist_append(NULL, entry);
		break;
	}
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return list;
}

int px_curl_add(struct px_curl *c, CURL *e, struct px_curl_xfer *x)
{
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	return curl_multi_add_handle(c->multi, e) == CURLM_OK ? 0 : PX_ERR_NOMEM;
}

void px_curl_remove(struct px_curl *c, CURL *e)
{
	curl_multi_remove_handle(c->multi, e);
}

CURLcode px_curl_pause(struct px_curl *c, CURL *e, int bitmask)
{
	c->in_curl++;
	CURLcode rc = curl_easy_pause(e, bitmask);
	c->in_curl--;
	return rc;
}

struct px_curl *px_curl_new(struct ev_loop *loop, const char *ca_file, const struct px_connect_to *ct, size_t nct)
{
	struct px_curl *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->loop = loop;
	const char *impl = getenv("AWSGATE_UPSTREAM");
	c->h1_off = impl != NULL && strcmp(impl, "curl") == 0;
	ev_timer_init(&c->timer, curl_timer_cb, 0., 0.);
	if (ca_file != NULL && (c->ca_file = strdup(ca_file)) == NULL)
		goto fail;
	if (nct > 0) {
		c->connect_host = calloc(nct, sizeof(char *));
		c->connect_addr = calloc(nct, sizeof(char *));
		if (c->connect_host == NULL || c->connect_addr == NULL)
			goto fail;
		for (size_t i = 0; i < nct; i++) {
			char addr[300];
			int ipv6 = strchr(ct[i].address.host, ':') != NULL;
			int n = snprintf(addr, sizeof(addr), ipv6 ? "[%s]:%u" : "%s:%u", ct[i].address.host,
			                 (unsigned)ct[i].address.port);
			if (n < 0 || (size_t)n >= sizeof(addr))
				goto fail;
			c->connect_host[i] = strdup(ct[i].host);
			c->connect_addr[i] = strdup(addr);
			c->nconnect = i + 1;
			if (c->connect_host[i] == NULL || c->connect_addr[i] == NULL)
				goto fail;
		}
	}
	c->multi = curl_multi_init();
	if (c->multi == NULL)
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timerfn);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)PX_CURL_MAX_CONNECTS);
	/* HTTP/2 streams of one host share a connection (libcurl's default,
	 * said here because docs/UPSTREAM.md relies on it). */
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	return c;
fail:
	px_curl_del(c);
	return NULL;
}

CURL *px_curl_easy_get(struct px_curl *c)
{
	return c->npool > 0 ? c->pool[--c->npool] : curl_easy_init();
}

void px_curl_easy_put(struct px_curl *c, CURL *e)
{
	if (e == NULL)
		return;
	if (c->npool == PX_CURL_EASY_POOL) {
		curl_easy_cleanup(e);
		return;
	}
	/* Options point into the transfer being freed (headers, callbacks'
	 * data): they go now. */
	curl_easy_reset(e);
	c->pool[c->npool++] = e;
}

void px_curl_del(struct px_curl *c)
{
	if (c == NULL)
		return;
	if (c->h1_del != NULL)
		c->h1_del(c->h1);
	while (c->npool > 0)
		curl_easy_cleanup(c->pool[--c->npool]);
	if (c->multi != NULL) {
		ev_timer_stop(c->loop, &c->timer);
		curl_multi_cleanup(c->multi);
	}
	for (size_t i = 0; i < c->nconnect; i++) {
		free(c->connect_host[i]);
		free(c->connect_addr[i]);
	}
	free(c->connect_host);
	free(c->connect_addr);
	free(c->ca_file);
	free(c);
}
