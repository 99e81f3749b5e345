/* SPDX-License-Identifier: Apache-2.0 */
/* h1up_test.c: the native HTTP/1.1 upstream client against a scripted server thread: keep-alive, closes, 1xx, HEAD, head limits. */
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
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <ev.h>

#include "proxy/proxy.h"
#include "proxy/upstream.h"

/* --- a server that answers each request with the next scripted reply ------ */

#define MAX_STEPS 8

struct step {
	const char *reply; /* bytes written after the request head */
	size_t len;        /* 0: strlen(reply) */
	int close_after;   /* close the connection after writing */
};

struct srv {
	int fd;
	uint16_t port;
	pthread_t thread;
	struct step steps[MAX_STEPS];
	size_t nsteps;
	_Atomic size_t next;    /* the next step */
	_Atomic int accepts;
	_Atomic int requests;   /* request heads read */
	_Atomic int stop;
};

/* Reads one request head (requests here have no body); -1 at EOF. */
static int read_head(int c)
{
	char buf[8192];
	size_t n = 0;
	while (n < sizeof(buf)) {
		ssize_t r = read(c, buf + n, 1);
		if (r <= 0)
			return -1;
		n++;
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			return 0;
	}
	return -1;
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
		while (read_head(c) == 0) {
			s->requests++;
			size_t i = s->next++;
			if (i >= s->nsteps)
				break;
			const struct step *st = &s->steps[i];
			size_t len = st->len ? st->len : strlen(st->reply);
			if (write(c, st->reply, len) != (ssize_t)len || st->close_after)
				break;
		}
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s)
{
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
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
		/* the thread has left */
	}
	close(c);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* --- the client -------------------------------------------------------------- */

struct run {
	int done, heads, status;
	enum px_up_error err;
	char body[256];
	size_t body_len;
	char x[64];
};

static void on_head(void *arg, int status, const struct px_up_header *h, size_t n)
{
	struct run *r = arg;
	r->heads++;
	r->status = status;
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, "X-A") == 0)
			snprintf(r->x, sizeof(r->x), "%s", h[i].value);
}

static int on_body(void *arg, const unsigned char *d, size_t n)
{
	struct run *r = arg;
	size_t k = n < sizeof(r->body) - 1 - r->body_len ? n : sizeof(r->body) - 1 - r->body_len;
	memcpy(r->body + r->body_len, d, k);
	r->body_len += k;
	r->body[r->body_len] = '\0';
	return 0;
}

static void on_done(void *arg, enum px_up_error err, const char *detail)
{
	(void)detail;
	struct run *r = arg;
	r->done++;
	r->err = err;
}

static const struct px_upstream_handler handler = {on_head, on_body, NULL, on_done};

struct fixture {
	struct srv srv;
	struct ev_loop *loop;
	struct px_curl *curl;
	char url[128];
	struct sockaddr_in addr;
	char *replies[4]; /* freed after the server thread has ended */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->loop = ev_loop_new(EVFLAG_AUTO);
	unsetenv("AWSGATE_UPSTREAM");
	f->curl = px_curl_new(f->loop, NULL, NULL, 0);
	assert_non_null(f->curl);
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	px_curl_del(f->curl);
	srv_stop(&f->srv);
	for (size_t i = 0; i < sizeof(f->replies) / sizeof(f->replies[0]); i++)
		free(f->replies[i]);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

static void script(struct fixture *f, const struct step *steps, size_t n)
{
	memcpy(f->srv.steps, steps, n * sizeof(*steps));
	f->srv.nsteps = n;
	srv_start(&f->srv);
	snprintf(f->url, sizeof(f->url), "http://bucket.s3.us-east-1.amazonaws.com:%u/k", (unsigned)f->srv.port);
}

static void spin(struct ev_loop *loop, const int *flag, double seconds)
{
	double end = ev_time() + seconds;
	while ((flag == NULL || !*flag) && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

static void get(struct fixture *f, struct run *r, const char *method)
{
	memset(r, 0, sizeof(*r));
	struct px_upstream_request req = {.method = method, .url = f->url, .addr = (const struct sockaddr *)&f->addr,
	                                  .first_byte_timeout_ms = 5000, .idle_timeout_ms = 5000};
	struct px_upstream *up;
	assert_int_equal(px_upstream_start(f->curl, &req, &handler, r, &up), 0);
	spin(f->loop, &r->done, 10);
	assert_int_equal(r->done, 1);
}

#define OK5 "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1 \r\n\r\nhello"

static void test_keepalive(void **state)
{
	struct fixture *f = *state;
	struct step s[] = {{OK5, 0, 0}, {OK5, 0, 0}, {OK5, 0, 0}};
	script(f, s, 3);
	for (int i = 0; i < 3; i++) {
		struct run r;
		get(f, &r, "GET");
		assert_int_equal(r.err, PX_UP_OK);
		assert_string_equal(r.body, "hello");
		assert_string_equal(r.x, "1"); /* trailing space trimmed */
	}
	assert_int_equal(f->srv.accepts, 1);
	assert_int_equal(f->srv.requests, 3);
}

static void test_idle_closed_by_server(void **state)
{
	struct fixture *f = *state;
	/* The server answers with keep-alive, then closes: the next request
	 * must go on a new connection, once. */
	struct step s[] = {{OK5, 0, 1}, {OK5, 0, 1}, {OK5, 0, 0}};
	script(f, s, 3);
	struct run r;
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	spin(f->loop, NULL, 0.2); /* the loop sees the idle connection's EOF */
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	usleep(200000); /* the FIN arrives, but the loop does not run: the check before reuse sees it */
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	assert_string_equal(r.body, "hello");
	assert_int_equal(f->srv.accepts, 3);
	assert_int_equal(f->srv.requests, 3); /* no request sent twice */
}

static void test_retry_once(void **state)
{
	struct fixture *f = *state;
	/* The pooled connection reads the next GET and closes without a
	 * byte: that GET (no body) is sent once more on a new connection
	 * (docs/UPSTREAM.md); when that one dies too, it fails. */
	struct step s[] = {{OK5, 0, 0}, {"", 0, 1}, {OK5, 0, 0}, {"", 0, 1}, {"", 0, 1}};
	script(f, s, 5);
	struct run r;
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	assert_string_equal(r.body, "hello");
	assert_int_equal(f->srv.accepts, 2);
	assert_int_equal(f->srv.requests, 3);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_RESET);
	assert_int_equal(f->srv.accepts, 3);
	assert_int_equal(f->srv.requests, 5); /* once on the pooled, once on a new one: no more */
}

static void test_connection_close_and_http10(void **state)
{
	struct fixture *f = *state;
	struct step s[] = {
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 0, 0},
		{"HTTP/1.0 200 OK\r\n\r\nuntil close", 0, 1},
		{OK5, 0, 0},
	};
	script(f, s, 3);
	struct run r;
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	assert_string_equal(r.body, "until close");
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	assert_int_equal(f->srv.accepts, 3); /* neither connection was kept */
}

static void test_1xx_head_204(void **state)
{
	struct fixture *f = *state;
	struct step s[] = {
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: no\r\n\r\n" OK5, 0, 0},
		{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-A: head\r\n\r\n", 0, 0},
		{"HTTP/1.1 204 No Content\r\n\r\n", 0, 0},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\nX-T: 1\r\n\r\n", 0, 0},
	};
	script(f, s, 4);
	struct run r;
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	assert_int_equal(r.heads, 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.x, "1");
	get(f, &r, "HEAD");
	assert_int_equal(r.err, PX_UP_OK);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(r.x, "head");
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	assert_int_equal(r.status, 204);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	assert_string_equal(r.body, "hello");
	assert_int_equal(f->srv.accepts, 1); /* all on one connection */
}

static char *fields(size_t n, size_t value_len)
{
	size_t cap = 64 + n * (value_len + 16);
	char *p = malloc(cap);
	size_t len = (size_t)snprintf(p, cap, "HTTP/1.1 200 OK\r\n");
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(p + len, cap - len, "X-%zu: ", i);
		memset(p + len, 'v', value_len);
		len += value_len;
		len += (size_t)snprintf(p + len, cap - len, "\r\n");
	}
	snprintf(p + len, cap - len, "Content-Length: 0\r\n\r\n");
	return p;
}

static void test_head_limits(void **state)
{
	struct fixture *f = *state;
	/* 99 fields + Content-Length: 100, the limit; then 101; then one
	 * value of 16 KiB. */
	/* The server thread may still be writing a refused reply when the
	 * client has given up on it: the fixture frees them after the join. */
	char *at = f->replies[0] = fields(PX_UP_MAX_HEADERS - 1, 8);
	char *over = f->replies[1] = fields(PX_UP_MAX_HEADERS, 8);
	char *big = f->replies[2] = fields(1, PX_UP_MAX_HEADER_BYTES);
	struct step s[] = {{at, 0, 0}, {over, 0, 1}, {big, 0, 1}};
	script(f, s, 3);
	struct run r;
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_OK);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_PROTOCOL);
	assert_int_equal(r.heads, 0);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_PROTOCOL);
	assert_int_equal(r.heads, 0);
}

static void test_bad_answers(void **state)
{
	struct fixture *f = *state;
	struct step s[] = {
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 0, 1},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n", 0, 1},
		{"NOT HTTP\r\n\r\n", 0, 1},
	};
	script(f, s, 3);
	struct run r;
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_RESET);
	assert_int_equal(r.heads, 1);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_PROTOCOL);
	get(f, &r, "GET");
	assert_int_equal(r.err, PX_UP_PROTOCOL);
	assert_int_equal(f->srv.requests, 3);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_closed_by_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_close_and_http10, setup, teardown),
		cmocka_unit_test_setup_teardown(test_1xx_head_204, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_answers, setup, teardown),
	};
	int rv = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rv;
}
