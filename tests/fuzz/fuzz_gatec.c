/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_gatec.c: libFuzzer target for px_gatec's HTTP/2 side: any bytes as the gate's, against four requests that pause, resume, cancel and send bodies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_gatec"
#include "tests/fuzz/harness.h"

/* The client's static functions are what is under test: compiled in here,
 * with a connection that has no socket (its output is discarded). */
#include "proxy/gatec.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Invariants: each request gets at most one on_head and exactly one on_done
 * unless it was cancelled; nothing after on_done or a cancel; a paused
 * stream gets no on_body until resumed; no request body byte is taken past
 * its content-length. ASan and UBSan see the rest.
 */

#define NREQ 4
#define PIECE 700

struct fz {
	struct px_gatec_request *rq;
	int id, heads, done, cancelled, paused, ended;
	uint64_t body, pushed, total;
};

static struct fz reqs[NREQ];
static unsigned char zeros[PX_GATEC_BODY_BUF];

static void check_live(struct fz *f, const char *what)
{
	if (f->done || f->cancelled)
		violated(what);
}

static void push(struct fz *f)
{
	while (!f->done && !f->cancelled && f->pushed < f->total) {
		uint64_t left = f->total - f->pushed;
		int n = px_gatec_request_write(f->rq, zeros, left < sizeof(zeros) ? (size_t)left : sizeof(zeros));
		if (n == PX_ERR_AGAIN)
			return;
		if (n <= 0)
			violated("a write within content-length refused");
		f->pushed += (uint64_t)n;
	}
	if (!f->done && !f->cancelled && !f->ended && f->pushed == f->total) {
		if (px_gatec_request_end(f->rq) != 0)
			violated("end after the whole body refused");
		f->ended = 1;
	}
}

static void on_continue(void *arg)
{
	check_live(arg, "on_continue after the end");
}

static void on_head(void *arg, int status, const struct px_up_header *h, size_t n)
{
	struct fz *f = arg;

	check_live(f, "on_head after the end");
	if (++f->heads > 1)
		violated("two heads");
	if (status < 200 || n > PX_UP_MAX_HEADERS)
		violated("a head with a 1xx status or too many fields");
	for (size_t i = 0; i < n; i++)
		if (h[i].name == NULL || h[i].value == NULL)
			violated("a NULL header");
	if (f->id == 3 && status == 204) {
		f->cancelled = 1;
		px_gatec_request_cancel(f->rq);
	}
}

static int on_body(void *arg, const unsigned char *d, size_t len)
{
	struct fz *f = arg;

	check_live(f, "on_body after the end");
	if (f->paused)
		violated("on_body while paused");
	if (f->heads != 1)
		violated("a body before the head");
	(void)d;
	f->body += len;
	if (f->id == 0 && f->body > 5000) {
		f->cancelled = 1;
		px_gatec_request_cancel(f->rq);
		return 0;
	}
	if (len % 3 == 0) {
		f->paused = 1;
		return PX_ERR_AGAIN;
	}
	return 0;
}

static void on_writable(void *arg)
{
	check_live(arg, "on_writable after the end");
	push(arg);
}

static void on_done(void *arg, int err, const char *detail)
{
	struct fz *f = arg;

	check_live(f, "a second on_done, or one after a cancel");
	if (err != 0 && detail == NULL)
		violated("an error without a detail");
	f->done = 1;
}

static const struct px_gatec_handler handler = {on_continue, on_head, on_body, on_writable, on_done};

static void resume_all(void)
{
	for (size_t i = 0; i < NREQ; i++)
		if (reqs[i].paused && !reqs[i].done && !reqs[i].cancelled) {
			reqs[i].paused = 0;
			px_gatec_request_resume(reqs[i].rq);
		}
}

static void spin(struct ev_loop *loop)
{
	for (int i = 0; i < 4; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_loop *loop;
	static SSL_CTX *ctx;
	static const struct px_up_header expect[] = {{"Expect", "100-continue"}, {"X-Amz-Date", "20260101T000000Z"}};
	struct px_gatec *gc;
	struct gc_conn *c;

	if (loop == NULL && (loop = ev_loop_new(0)) == NULL)
		return 0;
	if (ctx == NULL && (ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 0;
	gc = calloc(1, sizeof(*gc));
	c = calloc(1, sizeof(*c));
	if (gc == NULL || c == NULL)
		abort();
	gc->loop = loop;
	gc->gate = strdup("gate.example:443");
	gc->host = strdup("gate.example");
	gc->port_num = 443;
	gc->cert_file = strdup("/nonexistent/fuzz.crt");
	gc->key_file = strdup("/nonexistent/fuzz.key");
	SSL_CTX_up_ref(ctx);
	gc->ctx = ctx;
	gc->connect_to = 10;
	gc->first_byte_to = 60;
	gc->idle_to = 300;
	gc->backoff = PX_GATEC_BACKOFF_MIN;
	gc->next_connect = 1e18; /* never a real connection */
	ev_timer_init(&gc->kick, gc_kick_cb, 0., 0.);
	gc->kick.data = gc;
	ev_timer_init(&gc->retry, gc_retry_cb, 0., 0.);
	gc->retry.data = gc;
	c->gc = gc;
	c->fd = -1;
	ev_io_init(&c->io, conn_io_cb, 0, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->ctimer, conn_ctimer_cb, 10., 0.);
	c->ctimer.data = c;
	c->state = GC_H2;
	if (session_make(c) != 0)
		abort();
	c->ready = 1;
	gc->conn = c;

	memset(reqs, 0, sizeof(reqs));
	for (int i = 0; i < NREQ; i++) {
		static const char *const methods[NREQ] = {"GET", "PUT", "POST", "GET"};
		static const enum px_up_body bodies[NREQ] = {PX_UP_BODY_NONE, PX_UP_BODY_LENGTH, PX_UP_BODY_CHUNKED,
							     PX_UP_BODY_NONE};
		reqs[i].id = i;
		reqs[i].total = i == 1 ? 200000 : i == 2 ? 3000 : 0;
		if (px_gatec_request_start(gc, methods[i], "/fuzz?x=1", expect, i == 1 ? 2 : 1, bodies[i], reqs[i].total,
					   &handler, &reqs[i], &reqs[i].rq) != 0)
			violated("a valid request refused");
		if (bodies[i] != PX_UP_BODY_NONE)
			push(&reqs[i]);
	}
	gc_start_queued(gc); /* streams 1, 3, 5, 7 */
	conn_flush(c);

	for (size_t off = 0; off < size && gc->conn == c && !c->dead;) {
		size_t n = size - off < PIECE ? size - off : PIECE;
		ssize_t k;

		c->in_recv = 1;
		k = nghttp2_session_mem_recv(c->sess, data + off, n);
		c->in_recv = 0;
		if (k < 0)
			conn_fail(c, PX_UP_PROTOCOL, "HTTP/2 from the gate: %s", nghttp2_strerror((int)k));
		off += n;
		spin(loop);
		if (off % (3 * PIECE) == 0)
			resume_all();
		if (gc->conn == c)
			conn_flush(c);
	}
	resume_all();
	spin(loop);
	px_gatec_del(gc);
	for (size_t i = 0; i < NREQ; i++)
		if (!reqs[i].done && !reqs[i].cancelled)
			violated("a request without on_done");
	return 0;
}
