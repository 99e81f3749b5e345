/* SPDX-License-Identifier: Apache-2.0 */
/* upstream_test.c: px_upstream against a scripted HTTP/1.1 server thread on loopback: backpressure, pauses, timeouts, cancel, reuse. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <ev.h>

#include "proxy/proxy.h"
#include "proxy/upstream.h"

/* --- a scripted server: one connection at a time, keep-alive ------------- */

enum srv_mode {
	SRV_OK,      /* answer resp_len bytes (chunked when resp_chunked) */
	SRV_SILENT,  /* read the request, never answer */
	SRV_STALL,   /* head and half the body, then nothing */
	SRV_RESET,   /* read the request, close with RST */
	SRV_CLOSE,   /* read the request, close */
};

struct srv {
	int fd;
	uint16_t port;
	pthread_t thread;
	_Atomic int mode;
	size_t resp_len;
	int resp_chunked;
	int slow_read_us;     /* sleep between reads of the request body */
	_Atomic int stop;
	_Atomic int wake; /* ends a silent or stalled answer without stopping the server; it clears it */
	_Atomic int accepts;
	_Atomic int heads;              /* request heads read, all connections */
	_Atomic int stalled;            /* SRV_STALL: the half is written, nothing more comes */
	size_t gate_after;              /* > 0: after this many body bytes, wait for |gate| */
	_Atomic int gate;
	_Atomic uint64_t body_received; /* request body bytes read, all requests */
	_Atomic uint64_t resp_sent;     /* response body bytes written, all requests */
	uint64_t body_sum;              /* of the last request's body bytes */
	uint64_t body_len;
	int chunked_in;                 /* the last request came chunked */
	char head[8192];                /* the last request's head */
};

/* Unsigned sum of b[i] * (i % 7 + 1) over the body, position-sensitive. */
static uint64_t mix(uint64_t sum, uint64_t pos, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum += (uint64_t)b[i] * ((pos + i) % 7 + 1);
	return sum;
}

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i % 251);
}

/* Reads exactly |n| bytes through |buf|/|have| state; returns 0 or -1. */
struct rd {
	int c;
	char buf[16384];
	size_t off, len;
};

static int rd_fill(struct rd *r)
{
	if (r->off < r->len)
		return 0;
	ssize_t n = read(r->c, r->buf, sizeof(r->buf));
	if (n <= 0)
		return -1;
	r->off = 0;
	r->len = (size_t)n;
	return 0;
}

static int rd_line(struct rd *r, char *line, size_t max)
{
	size_t n = 0;
	for (;;) {
		if (rd_fill(r) != 0)
			return -1;
		char ch = r->buf[r->off++];
		if (n + 1 < max)
			line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return (int)n;
}

static int rd_body(struct srv *s, struct rd *r, uint64_t n)
{
	while (n > 0) {
		if (rd_fill(r) != 0)
			return -1;
		size_t take = r->len - r->off;
		if (take > n)
			take = (size_t)n;
		s->body_sum = mix(s->body_sum, s->body_len, (unsigned char *)r->buf + r->off, take);
		s->body_len += take;
		s->body_received += take;
		r->off += take;
		n -= take;
		if (s->slow_read_us > 0)
			usleep((useconds_t)s->slow_read_us);
	}
	return 0;
}

static int write_all(struct srv *s, int c, const void *p, size_t n)
{
	const char *q = p;
	while (n > 0) {
		ssize_t w = write(c, q, n);
		if (w <= 0)
			return -1;
		q += w;
		n -= (size_t)w;
		(void)s;
	}
	return 0;
}

static void wait_stop(struct srv *s)
{
	while (!s->stop && !s->wake)
		usleep(10000);
	/* Cleared here, not by the test after a guessed delay: a loaded
	 * machine may not run this thread for longer than any guess, and a
	 * wake taken back unseen left it waiting for good. */
	s->wake = 0;
}

/* One request; returns -1 when the connection is to be closed. */
static int srv_request(struct srv *s, struct rd *r)
{
	char line[8192];
	size_t hl = 0;
	uint64_t clen = 0;
	int chunked = 0;
	char head[sizeof(s->head)];
	head[0] = '\0';
	for (;;) {
		int n = rd_line(r, line, sizeof(line));
		if (n < 0)
			return -1;
		if (hl + (size_t)n < sizeof(head)) {
			memcpy(head + hl, line, (size_t)n + 1);
			hl += (size_t)n;
		}
		if (strcmp(line, "\r\n") == 0) {
			memcpy(s->head, head, hl + 1);
			s->heads++;
			break;
		}
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtoull(line + 15, NULL, 10);
		if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strcasestr(line, "chunked") != NULL)
			chunked = 1;
	}
	s->body_sum = 0;
	s->body_len = 0;
	s->chunked_in = chunked;
	if (chunked) {
		for (;;) {
			if (rd_line(r, line, sizeof(line)) < 0)
				return -1;
			uint64_t n = strtoull(line, NULL, 16);
			if (n == 0) {
				if (rd_line(r, line, sizeof(line)) < 0) /* the empty trailer line */
					return -1;
				break;
			}
			if (rd_body(s, r, n) != 0 || rd_line(r, line, sizeof(line)) < 0)
				return -1;
		}
	} else if (rd_body(s, r, clen) != 0) {
		return -1;
	}
	int mode = s->mode;
	if (mode == SRV_SILENT) {
		wait_stop(s);
		return -1;
	}
	if (mode == SRV_CLOSE)
		return -1;
	if (mode == SRV_RESET) {
		struct linger lg = {1, 0};
		setsockopt(r->c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		return -1;
	}
	char rh[512];
	int n = s->resp_chunked
	                ? snprintf(rh, sizeof(rh),
	                           "HTTP/1.1 200 OK\r\nX-Got: %llu\r\nX-Sum: %llu\r\nTransfer-Encoding: chunked\r\n\r\n",
	                           (unsigned long long)s->body_len, (unsigned long long)s->body_sum)
	                : snprintf(rh, sizeof(rh),
	                           "HTTP/1.1 200 OK\r\nX-Got: %llu\r\nX-Sum: %llu\r\nContent-Length: %zu\r\n\r\n",
	                           (unsigned long long)s->body_len, (unsigned long long)s->body_sum, s->resp_len);
	if (write_all(s, r->c, rh, (size_t)n) != 0)
		return -1;
	unsigned char blk[8192];
	size_t sent = 0;
	while (sent < s->resp_len) {
		if (mode == SRV_STALL && sent >= s->resp_len / 2) {
			s->stalled = 1;
			wait_stop(s);
			return -1;
		}
		while (s->gate_after > 0 && sent >= s->gate_after && !s->gate && !s->stop)
			usleep(1000);
		size_t k = s->resp_len - sent < sizeof(blk) ? s->resp_len - sent : sizeof(blk);
		for (size_t i = 0; i < k; i++)
			blk[i] = pattern(sent + i);
		if (s->resp_chunked) {
			char cl[32];
			int m = snprintf(cl, sizeof(cl), "%zx\r\n", k);
			if (write_all(s, r->c, cl, (size_t)m) != 0)
				return -1;
		}
		if (write_all(s, r->c, blk, k) != 0 || (s->resp_chunked && write_all(s, r->c, "\r\n", 2) != 0))
			return -1;
		sent += k;
		s->resp_sent += k;
	}
	if (s->resp_chunked && write_all(s, r->c, "0\r\n\r\n", 5) != 0)
		return -1;
	return 0;
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0 || s->stop) {
			if (c >= 0)
				close(c);
			break;
		}
		s->accepts++;
		/* Small kernel buffers so that backpressure shows quickly. */
		int small = 16384;
		setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
		struct rd *r = calloc(1, sizeof(*r));
		r->c = c;
		while (!s->stop && srv_request(s, r) == 0) {
		}
		free(r);
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	/* The small receive buffer is set before listen() too, so that the
	 * connection's window is sized for it from the handshake: shrunk only
	 * after accept(), Linux can be left advertising a zero window for good
	 * (free space below the 64 KiB loopback segments it has seen), which
	 * stalled uploads here now and then. */
	int small = 16384;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	s->stop = 1;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0) {
		/* the thread has already left */
	}
	close(c);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* --- the client side ------------------------------------------------------- */

enum cancel_at { CANCEL_NEVER, CANCEL_IN_HEAD, CANCEL_IN_BODY, CANCEL_IN_WRITABLE };

struct run {
	struct ev_loop *loop;
	struct px_upstream *up;
	int done;
	enum px_up_error err;
	char detail[256];
	int status;
	char x_got[32], x_sum[32];
	int heads, after_cancel;
	uint64_t received;
	uint64_t recv_sum;
	int bad_pattern;
	/* body pushing */
	uint64_t to_send, pushed;
	uint64_t push_sum;
	int agains, partials, writables;
	uint64_t max_in_flight; /* pushed - what the server has read, seen at each push */
	struct srv *srv;
	/* response pausing */
	int pause_every;          /* answer AGAIN to every piece, resume from a timer */
	double pause_for;
	int paused, delivered_while_paused;
	uint64_t max_unread;      /* server sent - we received, seen while paused */
	ev_timer resume;
	int max_pauses, pauses;   /* 0: no limit */
	/* A loaded machine, made on purpose: at the first pause, a timer that
	 * fires after |block_at| seconds holds the loop's thread for
	 * |block_for|, so the loop wakes late with every timer due in that
	 * window expired at once. */
	double block_at, block_for;
	ev_timer block;
	enum cancel_at cancel_at;
	int cancelled;
};

static void push(struct run *r);

static void on_head(void *arg, int status, const struct px_up_header *h, size_t n)
{
	struct run *r = arg;
	if (r->cancelled)
		r->after_cancel++;
	r->heads++;
	r->status = status;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, "X-Got") == 0)
			snprintf(r->x_got, sizeof(r->x_got), "%s", h[i].value);
		if (strcasecmp(h[i].name, "X-Sum") == 0)
			snprintf(r->x_sum, sizeof(r->x_sum), "%s", h[i].value);
	}
	if (r->cancel_at == CANCEL_IN_HEAD) {
		r->cancelled = 1;
		px_upstream_cancel(r->up);
	}
}

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct run *r = (struct run *)(void *)((char *)w - offsetof(struct run, resume));
	uint64_t unread = r->srv->resp_sent - r->received;
	if (unread > r->max_unread)
		r->max_unread = unread;
	r->paused = 0;
	px_upstream_resume(r->up);
}

static void block_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct run *r = w->data;
	r->srv->gate = 1; /* the rest of the answer is sent while the loop is held */
	usleep((useconds_t)(r->block_for * 1e6));
}

static void block_start(struct run *r)
{
	ev_timer_init(&r->block, block_cb, r->block_at, 0.);
	r->block.data = r;
	ev_timer_start(r->loop, &r->block);
}

static int on_body(void *arg, const unsigned char *d, size_t n)
{
	struct run *r = arg;
	if (r->cancelled)
		r->after_cancel++;
	if (r->paused)
		r->delivered_while_paused++;
	for (size_t i = 0; i < n; i++)
		if (d[i] != pattern(r->received + i))
			r->bad_pattern++;
	r->received += n;
	if (r->cancel_at == CANCEL_IN_BODY && r->received > 100000) {
		r->cancelled = 1;
		px_upstream_cancel(r->up);
		return 0;
	}
	if (r->pause_every > 0 && (r->max_pauses == 0 || r->pauses < r->max_pauses) &&
	    r->received / (uint64_t)r->pause_every != (r->received - n) / (uint64_t)r->pause_every) {
		r->paused = 1;
		ev_timer_init(&r->resume, resume_cb, r->pause_for, 0.);
		ev_timer_start(r->loop, &r->resume);
		if (r->block_for > 0. && r->pauses == 0)
			block_start(r);
		r->pauses++;
		return PX_ERR_AGAIN;
	}
	return 0;
}

static void on_writable(void *arg)
{
	struct run *r = arg;
	if (r->cancelled)
		r->after_cancel++;
	r->writables++;
	if (r->cancel_at == CANCEL_IN_WRITABLE) {
		r->cancelled = 1;
		px_upstream_cancel(r->up);
		return;
	}
	push(r);
}

static void on_done(void *arg, enum px_up_error err, const char *detail)
{
	struct run *r = arg;
	if (r->cancelled)
		r->after_cancel++;
	r->done++;
	r->err = err;
	if (detail != NULL)
		snprintf(r->detail, sizeof(r->detail), "%s", detail);
	r->up = NULL;
}

static const struct px_upstream_handler handler = {on_head, on_body, on_writable, on_done};

/* Pushes the body until the buffer is full, then ends it. */
static void push(struct run *r)
{
	static unsigned char blk[50000];
	while (r->pushed < r->to_send) {
		size_t k = r->to_send - r->pushed < sizeof(blk) ? (size_t)(r->to_send - r->pushed) : sizeof(blk);
		for (size_t i = 0; i < k; i++)
			blk[i] = (unsigned char)((r->pushed + i) * 13 % 256);
		int n = px_upstream_write(r->up, blk, k);
		if (n == PX_ERR_AGAIN) {
			r->agains++;
			return;
		}
		assert_true(n > 0);
		r->push_sum = mix(r->push_sum, r->pushed, blk, (size_t)n);
		r->pushed += (uint64_t)n;
		uint64_t inflight = r->pushed - r->srv->body_received;
		if (inflight > r->max_in_flight)
			r->max_in_flight = inflight;
		if ((size_t)n < k) {
			r->partials++;
			return; /* on_writable follows */
		}
	}
	assert_int_equal(px_upstream_end(r->up), 0);
}

static void run_until(struct ev_loop *loop, const int *flag, double seconds)
{
	double end = ev_time() + seconds;
	while (!*flag && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

struct fixture {
	struct srv srv;
	struct ev_loop *loop;
	struct px_curl *curl;
	char url[256];
	struct sockaddr_in addr;
};

/* Each case runs twice: with the native HTTP/1.1 client (proxy/h1up.c)
 * that pinned requests use, and with libcurl (AWSGATE_UPSTREAM=curl). */
/* Runs the loop until the server thread has read |n| request heads. */
static void srv_wait_heads(struct fixture *f, int n)
{
	double end = ev_time() + 30;
	while (f->srv.heads < n && ev_time() < end) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	assert_true(f->srv.heads >= n);
}

/* Runs the loop until the server thread has taken a wake (it clears the
 * flag as it leaves its wait). */
static void srv_wait_woken(struct fixture *f)
{
	double end = ev_time() + 30;
	while (f->srv.wake && ev_time() < end) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	assert_int_equal(f->srv.wake, 0);
}

static int setup_with(void **state, int native)
{
	struct fixture *f = calloc(1, sizeof(*f));
	srv_start(&f->srv);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	if (native)
		unsetenv("AWSGATE_UPSTREAM");
	else
		setenv("AWSGATE_UPSTREAM", "curl", 1);
	f->curl = px_curl_new(f->loop, NULL, NULL, 0);
	unsetenv("AWSGATE_UPSTREAM");
	assert_non_null(f->curl);
	/* An AWS name that cannot resolve here: only the pinned address works. */
	snprintf(f->url, sizeof(f->url), "http://bucket.s3.us-east-1.amazonaws.com:%u/a/../key%%20x?x-id=1",
	         (unsigned)f->srv.port);
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 1);
}

static int setup_curl(void **state)
{
	return setup_with(state, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	px_curl_del(f->curl); /* closes the pooled connections the server thread reads */
	srv_stop(&f->srv);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

static void start(struct fixture *f, struct run *r, const char *method, enum px_up_body body, uint64_t len)
{
	r->loop = f->loop;
	r->srv = &f->srv;
	struct px_up_header h[] = {{"X-Amz-Date", "20260101T000000Z"}, {"Content-Length", "999"}, {"X-Empty", ""}};
	struct px_upstream_request req = {.method = method, .url = f->url, .headers = h, .nheaders = 3,
	                                  .addr = (const struct sockaddr *)&f->addr, .body = body, .body_length = len,
	                                  /* Generous: these tests are about data, and a busy
	                                   * machine can stall a thread for seconds. */
	                                  .first_byte_timeout_ms = 30000, .idle_timeout_ms = 30000};
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, r, &r->up), 0);
	assert_int_equal(r->done, 0); /* never from inside start */
}

static void test_get_pinned_and_reused(void **state)
{
	struct fixture *f = *state;
	f->srv.resp_len = 100000;
	for (int i = 0; i < 3; i++) {
		struct run r = {0};
		start(f, &r, "GET", PX_UP_BODY_NONE, 0);
		run_until(f->loop, &r.done, 10);
		assert_int_equal(r.done, 1);
		assert_int_equal(r.err, PX_UP_OK);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.received, 100000);
		assert_int_equal(r.bad_pattern, 0);
	}
	/* Three requests, one connection (the multi handle's pool). */
	assert_int_equal(f->srv.accepts, 1);
	/* The path as signed, the AWS name as Host, nothing libcurl adds unasked. */
	assert_non_null(strstr(f->srv.head, "GET /a/../key%20x?x-id=1 HTTP/1.1\r\n"));
	assert_non_null(strcasestr(f->srv.head, "\r\nHost: bucket.s3.us-east-1.amazonaws.com:"));
	assert_non_null(strstr(f->srv.head, "\r\nX-Amz-Date: 20260101T000000Z\r\n"));
	assert_non_null(strstr(f->srv.head, "\r\nX-Empty:"));
	assert_null(strcasestr(f->srv.head, "\r\nAccept:"));
	assert_null(strcasestr(f->srv.head, "\r\nExpect:"));
	assert_null(strcasestr(f->srv.head, "\r\nContent-Length:"));
	assert_null(strcasestr(f->srv.head, "\r\nUser-Agent:"));
}

static void test_upload_backpressure(void **state)
{
	struct fixture *f = *state;
	f->srv.slow_read_us = 200; /* ~16 KiB reads: ~80 MB/s at most, slower than memcpy */
	struct run r = {0};
	r.to_send = 16u << 20;
	start(f, &r, "PUT", PX_UP_BODY_LENGTH, r.to_send);
	push(&r);
	run_until(f->loop, &r.done, 60);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, PX_UP_OK);
	assert_true(r.agains + r.partials > 0);
	assert_true(r.writables > 0);
	char want[32];
	snprintf(want, sizeof(want), "%llu", (unsigned long long)r.to_send);
	assert_string_equal(r.x_got, want);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)r.push_sum);
	assert_string_equal(r.x_sum, want);
	/* Bounded: our ring, libcurl's upload buffer, and the kernel's socket
	 * buffers (loopback send buffers grow to 4 MiB), never the body. */
	print_message("# upload: in flight at most %llu bytes, %d AGAIN\n", (unsigned long long)r.max_in_flight,
	              r.agains);
	assert_true(r.max_in_flight <= (6u << 20));
	assert_non_null(strstr(f->srv.head, "PUT /a/../key%20x?x-id=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(f->srv.head, "\r\nContent-Length: 16777216\r\n"));
}

static void test_upload_chunked(void **state)
{
	struct fixture *f = *state;
	struct run r = {0};
	r.to_send = 300000;
	start(f, &r, "POST", PX_UP_BODY_CHUNKED, 0);
	push(&r);
	run_until(f->loop, &r.done, 20);
	assert_int_equal(r.err, PX_UP_OK);
	assert_int_equal(f->srv.chunked_in, 1);
	assert_string_equal(r.x_got, "300000");
	char want[32];
	snprintf(want, sizeof(want), "%llu", (unsigned long long)r.push_sum);
	assert_string_equal(r.x_sum, want);
	assert_non_null(strstr(f->srv.head, "POST /a/../key%20x?x-id=1 HTTP/1.1\r\n"));
}

static void test_write_limits(void **state)
{
	struct fixture *f = *state;
	struct run r = {0};
	start(f, &r, "PUT", PX_UP_BODY_LENGTH, 10);
	assert_int_equal(px_upstream_write(r.up, "0123456789x", 11), PX_ERR_INVALID); /* over body_length */
	assert_int_equal(px_upstream_write(r.up, "01234", 5), 5);
	assert_int_equal(px_upstream_end(r.up), PX_ERR_INVALID); /* short */
	assert_int_equal(px_upstream_write(r.up, "56789", 5), 5);
	assert_int_equal(px_upstream_end(r.up), 0);
	assert_int_equal(px_upstream_end(r.up), PX_ERR_STATE);
	assert_int_equal(px_upstream_write(r.up, "x", 1), PX_ERR_STATE);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.err, PX_UP_OK);
	assert_string_equal(r.x_got, "10");

	struct run g = {0};
	start(f, &g, "GET", PX_UP_BODY_NONE, 0);
	assert_int_equal(px_upstream_write(g.up, "x", 1), PX_ERR_STATE);
	assert_int_equal(px_upstream_end(g.up), PX_ERR_STATE);
	px_upstream_cancel(g.up);

	/* Header injection and bad addresses are refused. */
	struct px_up_header bad[] = {{"X-A", "v\r\nX-Injected: 1"}};
	struct px_upstream_request req = {.method = "GET", .url = f->url, .headers = bad, .nheaders = 1};
	struct px_upstream *up = NULL;
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &g, &up), PX_ERR_INVALID);
	struct px_up_header lf[] = {{"X-A", "v\nX-Injected: 1"}}, cr[] = {{"X-A\r", "v"}};
	req.addr = (const struct sockaddr *)&f->addr; /* pinned: the native client's own check too */
	req.http = PX_UP_HTTP1;
	req.headers = lf; /* a bare LF, a bare CR: each alone is refused too */
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &g, &up), PX_ERR_INVALID);
	req.headers = cr;
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &g, &up), PX_ERR_INVALID);
	assert_null(up);
	struct sockaddr sa = {.sa_family = AF_UNIX};
	req.nheaders = 0;
	req.addr = &sa;
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &g, &up), PX_ERR_INVALID);
	assert_null(up);
}

static void test_download_paused(void **state)
{
	struct fixture *f = *state;
	f->srv.resp_len = 48u << 20;
	f->srv.resp_chunked = 1;
	struct run r = {0};
	r.pause_every = 8u << 20; /* stop after every 8 MiB for 0.3 s */
	r.pause_for = 0.3;
	start(f, &r, "GET", PX_UP_BODY_NONE, 0);
	run_until(f->loop, &r.done, 60);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, PX_UP_OK);
	assert_int_equal(r.received, 48u << 20);
	assert_int_equal(r.bad_pattern, 0);
	assert_int_equal(r.delivered_while_paused, 0);
	print_message("# download: at most %llu bytes sent but unread while paused\n",
	              (unsigned long long)r.max_unread);
	assert_true(r.max_unread <= (8u << 20)); /* the socket buffers, never the 40 MiB left */
}

static void test_paused_longer_than_idle(void **state)
{
	struct fixture *f = *state;
	f->srv.resp_len = 1u << 20;
	struct run r = {0};
	/* Paused twice for three times the idle timeout; the timeout is long
	 * enough that a busy machine delaying the server thread is not idle. */
	r.pause_every = 400000;
	r.pause_for = 4.5;
	r.loop = f->loop;
	r.srv = &f->srv;
	struct px_upstream_request req = {.method = "GET", .url = f->url, .addr = (const struct sockaddr *)&f->addr,
	                                  .idle_timeout_ms = 1500};
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &r, &r.up), 0);
	run_until(f->loop, &r.done, 60);
	/* A slow reader is not an idle upstream. */
	assert_int_equal(r.err, PX_UP_OK);
	assert_int_equal(r.received, 1u << 20);
}

/* The loop wakes late (a loaded machine) with the resume of a paused
 * response and the idle timer due in the same round: the resume runs
 * first (its deadline is earlier), libcurl reads only from the next round,
 * and the idle timer must not count the pause, which the client took, as
 * upstream silence. Deterministic: the loop is held past both deadlines. */
static void test_resume_with_idle_due(void **state)
{
	struct fixture *f = *state;
	f->srv.resp_len = 200000;
	/* One 8 KiB piece, then nothing until the loop is held: libcurl holds
	 * no second piece that the unpause would hand over at once. */
	f->srv.gate_after = 8192;
	struct run r = {0};
	r.pause_every = 1; /* at the first piece, once */
	r.max_pauses = 1;
	r.pause_for = 0.2;
	r.block_at = 0.1; /* from 0.1 s to 0.6 s: the resume (0.2 s) and the idle timer (0.4 s) both due */
	r.block_for = 0.5;
	r.loop = f->loop;
	r.srv = &f->srv;
	struct px_upstream_request req = {.method = "GET", .url = f->url, .addr = (const struct sockaddr *)&f->addr,
	                                  .first_byte_timeout_ms = 30000, .idle_timeout_ms = 400};
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &r, &r.up), 0);
	run_until(f->loop, &r.done, 30);
	assert_int_equal(r.pauses, 1);
	assert_string_equal(px_up_error_name(r.err), "ok");
	assert_int_equal(r.received, 200000);
	assert_int_equal(r.bad_pattern, 0);
}

static void push_rest_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	push(w->data);
}

/* The same on the sending side: the request body stops for want of bytes
 * (the client is slow), the loop wakes late with the caller's next bytes
 * and the idle timer due in one round; the caller's wait is not the
 * upstream's silence. */
static void test_write_with_idle_due(void **state)
{
	struct fixture *f = *state;
	struct run r = {0};
	r.loop = f->loop;
	r.srv = &f->srv;
	struct px_upstream_request req = {.method = "PUT", .url = f->url, .addr = (const struct sockaddr *)&f->addr,
	                                  .body = PX_UP_BODY_LENGTH, .body_length = 2000,
	                                  .first_byte_timeout_ms = 30000, .idle_timeout_ms = 400};
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &r, &r.up), 0);
	unsigned char half[1000]; /* the first half now, as push() makes it */
	for (size_t i = 0; i < sizeof(half); i++)
		half[i] = (unsigned char)(i * 13 % 256);
	assert_int_equal(px_upstream_write(r.up, half, sizeof(half)), (int)sizeof(half));
	r.push_sum = mix(0, 0, half, sizeof(half));
	r.pushed = sizeof(half);
	/* Sent and read: the upstream has asked for more than there is. */
	double end = ev_time() + 30;
	while (f->srv.body_received < 1000 && r.done == 0 && ev_time() < end) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	assert_int_equal(f->srv.body_received, 1000);
	assert_int_equal(r.done, 0);
	r.to_send = 2000; /* the rest at 0.2 s, the loop held from 0.1 s to 0.6 s */
	ev_timer rest;
	ev_timer_init(&rest, push_rest_cb, 0.2, 0.);
	rest.data = &r;
	ev_timer_start(f->loop, &rest);
	r.block_for = 0.5;
	r.block_at = 0.1;
	block_start(&r);
	run_until(f->loop, &r.done, 30);
	ev_timer_stop(f->loop, &rest);
	assert_string_equal(px_up_error_name(r.err), "ok");
	assert_string_equal(r.x_got, "2000");
	char want[32];
	snprintf(want, sizeof(want), "%llu", (unsigned long long)r.push_sum);
	assert_string_equal(r.x_sum, want);
}

static void test_first_byte_timeout(void **state)
{
	struct fixture *f = *state;
	f->srv.mode = SRV_SILENT;
	struct run r = {0};
	r.loop = f->loop;
	r.srv = &f->srv;
	r.to_send = 200000;
	struct px_upstream_request req = {.method = "PUT", .url = f->url, .addr = (const struct sockaddr *)&f->addr,
	                                  .body = PX_UP_BODY_LENGTH, .body_length = 200000,
	                                  .first_byte_timeout_ms = 400, .idle_timeout_ms = 10000};
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &r, &r.up), 0);
	push(&r);
	double t0 = ev_time();
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.err, PX_UP_TIMEOUT_FIRST_BYTE);
	assert_int_equal(px_up_error_status(r.err), 504);
	assert_true(ev_time() - t0 < 5);
	assert_int_equal(r.heads, 0);

	/* An empty announced body: the request is sent with its head (the
	 * server, still silent, leaves it in the kernel's queue). */
	struct run e = {0};
	req.method = "POST";
	req.body_length = 0;
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &e, &e.up), 0);
	assert_int_equal(px_upstream_end(e.up), 0);
	run_until(f->loop, &e.done, 10);
	assert_int_equal(e.err, PX_UP_TIMEOUT_FIRST_BYTE); /* not the 10 s idle: nothing was left to send */
}

/* Resumes |r| once it is paused and the server has stalled (polled from
 * the loop). */
static void resume_when_stalled_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct run *r = w->data;
	if (!r->paused || !r->srv->stalled) /* the server may stall before the pause */
		return;
	ev_timer_stop(loop, w);
	ev_timer_stop(loop, &r->resume);
	r->paused = 0;
	px_upstream_resume(r->up);
}

static void test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	f->srv.mode = SRV_STALL;
	f->srv.resp_len = 40000;
	struct run r = {0};
	r.loop = f->loop;
	r.srv = &f->srv;
	/* Held at the first piece until the server has written its half (an
	 * event, polled): the half then waits in the socket buffers, so the
	 * only silence the idle timer can see is the stall, however late the
	 * server thread runs on a loaded machine. */
	r.pause_every = 1;
	r.max_pauses = 1;
	r.pause_for = 100; /* the poll below resumes it */
	ev_timer poll;
	ev_timer_init(&poll, resume_when_stalled_cb, 0.005, 0.005);
	poll.data = &r;
	ev_timer_start(f->loop, &poll);
	struct px_upstream_request req = {.method = "GET", .url = f->url, .addr = (const struct sockaddr *)&f->addr,
	                                  .first_byte_timeout_ms = 10000, .idle_timeout_ms = 400};
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &r, &r.up), 0);
	run_until(f->loop, &r.done, 10);
	ev_timer_stop(f->loop, &poll);
	ev_timer_stop(f->loop, &r.resume);
	assert_int_equal(f->srv.stalled, 1);
	assert_int_equal(r.pauses, 1);
	assert_int_equal(r.err, PX_UP_TIMEOUT_IDLE);
	assert_string_equal(px_up_error_name(r.err), "timeout-idle");
	assert_int_equal(r.heads, 1);
	assert_true(r.received >= 20000 && r.received < 40000);
}

static void test_refused_reset_closed(void **state)
{
	struct fixture *f = *state;
	/* A port nobody listens on. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	close(s);
	struct run r = {0};
	struct px_upstream_request req = {.method = "GET", .url = f->url, .addr = (const struct sockaddr *)&a};
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, &r, &r.up), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.err, PX_UP_CONNECT_REFUSED);
	assert_string_equal(px_up_error_name(r.err), "connect-refused");
	assert_int_equal(px_up_error_status(r.err), 502);

	/* Without a pinned address the AWS name would be resolved: there is
	 * no DNS here, which is the point of pinning. */
	struct run d = {0};
	struct px_upstream_request dreq = {.method = "GET", .url = "http://does-not-exist.invalid/"};
	assert_int_equal(px_upstream_start(f->curl, &dreq, &handler, &d, &d.up), 0);
	run_until(f->loop, &d.done, 30);
	assert_int_equal(d.err, PX_UP_DNS);

	enum srv_mode modes[] = {SRV_RESET, SRV_CLOSE};
	for (size_t i = 0; i < 2; i++) {
		f->srv.mode = (int)modes[i];
		struct run x = {0};
		start(f, &x, "GET", PX_UP_BODY_NONE, 0);
		run_until(f->loop, &x.done, 10);
		assert_int_equal(x.done, 1);
		assert_int_equal(x.err, PX_UP_RESET);
		assert_int_equal(x.heads, 0);
	}
}

static void test_no_retry_of_streamed_body(void **state)
{
	struct fixture *f = *state;
	f->srv.resp_len = 10;
	struct run a = {0};
	start(f, &a, "GET", PX_UP_BODY_NONE, 0);
	run_until(f->loop, &a.done, 10);
	assert_int_equal(a.err, PX_UP_OK);
	/* The pooled connection now dies after reading the next request: a
	 * PUT whose body went out must fail, not be sent again. */
	f->srv.mode = SRV_CLOSE;
	struct run r = {0};
	r.to_send = 100000;
	start(f, &r, "PUT", PX_UP_BODY_LENGTH, r.to_send);
	push(&r);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.err, PX_UP_RESET);
	assert_int_equal(f->srv.body_received, 100000); /* once, not twice */
}

static void cancel_soon_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct run *r = w->data;
	r->cancelled = 1;
	px_upstream_cancel(r->up);
}

static void test_cancel_everywhere(void **state)
{
	struct fixture *f = *state;
	f->srv.resp_len = 1u << 20;
	/* Right after start, before any connection. */
	struct run r0 = {0};
	start(f, &r0, "GET", PX_UP_BODY_NONE, 0);
	px_upstream_cancel(r0.up);
	/* Inside on_head, inside on_body, inside on_writable. */
	enum cancel_at at[] = {CANCEL_IN_HEAD, CANCEL_IN_BODY};
	for (size_t i = 0; i < 2; i++) {
		struct run r = {0};
		r.cancel_at = at[i];
		start(f, &r, "GET", PX_UP_BODY_NONE, 0);
		run_until(f->loop, &r.cancelled, 10);
		assert_int_equal(r.cancelled, 1);
		int never = 0;
		run_until(f->loop, &never, 0.3);
		assert_int_equal(r.after_cancel, 0);
		assert_int_equal(r.done, 0);
	}
	f->srv.slow_read_us = 1000;
	struct run w = {0};
	w.cancel_at = CANCEL_IN_WRITABLE;
	w.to_send = 4u << 20;
	start(f, &w, "PUT", PX_UP_BODY_LENGTH, w.to_send);
	push(&w);
	run_until(f->loop, &w.cancelled, 20);
	assert_int_equal(w.cancelled, 1);
	f->srv.slow_read_us = 0;
	/* While waiting for the first byte, and while paused, from the loop. */
	f->srv.mode = SRV_SILENT;
	struct run s = {0};
	int heads = f->srv.heads;
	start(f, &s, "GET", PX_UP_BODY_NONE, 0);
	/* Cancelled once the server holds the request (an event, not a
	 * guessed delay): the server is then surely in its silent wait. */
	srv_wait_heads(f, heads + 1);
	ev_timer t;
	ev_timer_init(&t, cancel_soon_cb, 0.05, 0.);
	t.data = &s;
	ev_timer_start(f->loop, &t);
	run_until(f->loop, &s.cancelled, 10);
	assert_int_equal(s.cancelled, 1);
	/* Wakes the silent server, which goes on accepting (the native
	 * client's connection of r0, made at start, may be in its backlog:
	 * stop would end the thread there), and waits until it has left
	 * the wait before the mode changes. */
	f->srv.wake = 1;
	srv_wait_woken(f);
	f->srv.mode = SRV_OK;
	int never = 0;
	struct run p = {0};
	p.pause_every = 100000;
	p.pause_for = 100; /* never resumed */
	start(f, &p, "GET", PX_UP_BODY_NONE, 0);
	run_until(f->loop, &p.paused, 10);
	assert_int_equal(p.paused, 1);
	ev_timer_stop(f->loop, &p.resume);
	p.cancelled = 1;
	px_upstream_cancel(p.up);
	run_until(f->loop, &never, 0.3);
	int all_quiet = r0.after_cancel + r0.done + w.after_cancel + s.after_cancel + p.after_cancel;
	assert_int_equal(all_quiet, 0);
	/* And the core still works. */
	struct run ok = {0};
	start(f, &ok, "GET", PX_UP_BODY_NONE, 0);
	run_until(f->loop, &ok.done, 10);
	assert_int_equal(ok.err, PX_UP_OK);
	assert_int_equal(ok.received, 1u << 20);
}

static void test_error_names(void **state)
{
	(void)state;
	for (int e = 0; e < PX_UP_ERROR_COUNT; e++)
		assert_non_null(px_up_error_name((enum px_up_error)e));
	assert_string_equal(px_up_error_name(PX_UP_TIMEOUT_FIRST_BYTE), "timeout-first-byte");
	assert_string_equal(px_up_error_name(PX_UP_TLS_VERIFY), "tls-verify");
	assert_int_equal(px_up_error_status(PX_UP_TIMEOUT_CONNECT), 504);
	assert_int_equal(px_up_error_status(PX_UP_TLS_VERIFY), 502);
	assert_int_equal(px_up_error_status(PX_UP_OK), 0);
}

int main(void)
{
	/* The scripted server thread writes to sockets the client under test
	 * may already have closed: that must be EPIPE, not the end of the
	 * test program (awsgated ignores SIGPIPE the same way). */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_pinned_and_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_chunked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_paused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paused_longer_than_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_with_idle_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_with_idle_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_byte_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_reset_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_retry_of_streamed_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_pinned_and_reused, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_upload_backpressure, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_upload_chunked, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_write_limits, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_download_paused, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_paused_longer_than_idle, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_resume_with_idle_due, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_write_with_idle_due, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_first_byte_timeout, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_refused_reset_closed, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_no_retry_of_streamed_body, setup_curl, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_everywhere, setup_curl, teardown),
		cmocka_unit_test(test_error_names),
	};
	if (getenv("UPSTREAM_TEST_FILTER") != NULL) /* a debugging aid: one case by name */
		cmocka_set_test_filter(getenv("UPSTREAM_TEST_FILTER"));
	int rv = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rv;
}
