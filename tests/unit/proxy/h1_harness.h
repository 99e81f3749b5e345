/* SPDX-License-Identifier: Apache-2.0 */
/* h1_harness.h: drives the HTTP/1.1 codec without TLS or sockets (a fake connection), for the unit test and the fuzz target. */
#ifndef AWSGATE_TESTS_H1_HARNESS_H
#define AWSGATE_TESTS_H1_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "proxy/server.h"

/* Small limits, so that tests and the fuzzer reach them. */
static const char harness_config[] =
	"{\"listen\": [\"127.0.0.1:1\"], \"tls\": {\"cert_file\": \"c\", \"key_file\": \"k\"},"
	" \"limits\": {\"max_header_bytes\": \"1KiB\", \"max_headers\": 8, \"max_request_line\": 256}}";

static struct px_server harness_srv;
static struct px_gen harness_gen;
static struct px_worker *harness_w;

static void harness_noop_diag(void *arg, const struct rbac_diag *d)
{
	(void)arg;
	(void)d;
}

static void harness_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

/* Returns 0, or -1 when the fake generation cannot be made. */
static int harness_init(void)
{
	struct px_diags d;

	if (px_srv != NULL)
		return 0;
	px_log_level_cur = -1; /* quiet */
	px_diags_init(&d, "harness.json");
	if (px_config_load("harness.json", harness_config, sizeof(harness_config) - 1, 0, &harness_gen.cfg, &d) != 0)
		return -1;
	px_diags_free(&d);
	harness_gen.pol = rbac_policy_new();
	if (harness_gen.pol == NULL || rbac_policy_freeze(harness_gen.pol, harness_noop_diag, NULL) != 0)
		return -1;
	harness_gen.refs = 1; /* the harness's: never freed */
	harness_srv.gen = &harness_gen;
	harness_srv.ready = 1;
	pthread_mutex_init(&harness_srv.lock, NULL);
	/* The web UI's table, so that its pages are reached too (small bounds). */
	if (px_web_table_new(16, 16, &harness_srv.web) != 0)
		return -1;
	px_srv = &harness_srv;
	harness_w = calloc(1, sizeof(*harness_w));
	if (harness_w == NULL)
		return -1;
	harness_w->loop = ev_loop_new(EVFLAG_AUTO);
	harness_w->listening = true;
	return harness_w->loop ? 0 : -1;
}

static struct px_conn *harness_conn(void)
{
	struct px_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->w = harness_w;
	c->gen = px_gen_ref(&harness_gen);
	c->state = PX_CONN_H1;
	c->in_cb = 1; /* no px_conn_kick(): the harness drives */
	ev_init(&c->timer, harness_timer_cb);
	if (px_h1_new(c) != 0) {
		px_gen_unref(c->gen);
		free(c);
		return NULL;
	}
	return c;
}

static void harness_conn_del(struct px_conn *c)
{
	px_h1_del(c);
	ev_timer_stop(harness_w->loop, &c->timer);
	px_gen_unref(c->gen);
	free(c->wbuf);
	free(c);
}

/* Feeds |len| bytes in pieces of |step| as the connection would: what the
 * codec leaves is offered again after px_h1_after(). Returns the bytes
 * taken; the responses are in c->wbuf[0..c->wlen). */
static size_t harness_feed(struct px_conn *c, const unsigned char *p, size_t len, size_t step)
{
	size_t off = 0;

	if (step == 0)
		step = len ? len : 1;
	while (off < len && !c->dead && !c->closing) {
		size_t n = len - off < step ? len - off : step;
		ssize_t used = px_h1_feed(c, p + off, n);
		if (used < 0) {
			c->dead = 1;
			break;
		}
		off += (size_t)used;
		if (px_h1_after(c) == 0 && (size_t)used == 0)
			break; /* paused with nothing finished: a handler would answer later */
	}
	(void)px_h1_after(c);
	return off;
}

/* How many responses with |status| the output holds. */
__attribute__((unused)) static int harness_count(const struct px_conn *c, int status)
{
	char want[32];
	int n = 0;
	size_t wl;

	snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
	wl = strlen(want);
	for (size_t i = 0; i + wl <= c->wlen; i++)
		if (memcmp(c->wbuf + i, want, wl) == 0 && (i == 0 || c->wbuf[i - 1] == '\n' || c->wbuf[i - 1] == '}' ||
							   c->wbuf[i - 1] == 'k'))
			n++;
	return n;
}

#endif
