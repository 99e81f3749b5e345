/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy_gatec_stub.c: a stand-in for proxy/gatec.c until that branch is merged: every request fails with "connect" from the loop. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "proxy/gatec.h"

struct px_gatec {
	struct ev_loop *loop;
};

struct px_gatec_request {
	ev_timer t;
	const struct px_gatec_handler *h;
	void *arg;
};

int px_gatec_new(struct ev_loop *loop, const struct px_gatec_config *cfg, struct px_gatec **out, char *err,
                 size_t errlen)
{
	struct px_gatec *gc = calloc(1, sizeof(*gc));
	(void)cfg;
	(void)err;
	(void)errlen;
	if (gc == NULL)
		return PX_ERR_INVALID;
	gc->loop = loop;
	*out = gc;
	return 0;
}

void px_gatec_del(struct px_gatec *gc)
{
	free(gc);
}

static struct ev_loop *stub_loop;

static void fail_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct px_gatec_request *rq = (struct px_gatec_request *)w;
	(void)loop;
	(void)revents;
	rq->h->on_done(rq->arg, PX_UP_CONNECT, "no gate client in this build (stub)");
	free(rq);
}

int px_gatec_request_start(struct px_gatec *gc, const char *method, const char *path, const struct px_up_header *hdrs,
                           size_t nhdrs, enum px_up_body body, uint64_t body_length, const struct px_gatec_handler *h,
                           void *arg, struct px_gatec_request **out)
{
	struct px_gatec_request *rq = calloc(1, sizeof(*rq));
	(void)method;
	(void)path;
	(void)hdrs;
	(void)nhdrs;
	(void)body;
	(void)body_length;
	if (rq == NULL)
		return PX_ERR_INVALID;
	rq->h = h;
	rq->arg = arg;
	stub_loop = gc->loop;
	ev_timer_init(&rq->t, fail_cb, 0., 0.);
	ev_timer_start(gc->loop, &rq->t);
	*out = rq;
	return 0;
}

int px_gatec_request_write(struct px_gatec_request *rq, const void *data, size_t len)
{
	(void)rq;
	(void)data;
	return (int)len;
}

int px_gatec_request_end(struct px_gatec_request *rq)
{
	(void)rq;
	return 0;
}

void px_gatec_request_resume(struct px_gatec_request *rq)
{
	(void)rq;
}

void px_gatec_request_cancel(struct px_gatec_request *rq)
{
	if (rq == NULL)
		return;
	ev_timer_stop(stub_loop, &rq->t);
	free(rq);
}

const char *px_gatec_gate_version(const struct px_gatec *gc)
{
	(void)gc;
	return NULL;
}
