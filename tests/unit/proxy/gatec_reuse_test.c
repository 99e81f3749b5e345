/* SPDX-License-Identifier: Apache-2.0 */
/* gatec_reuse_test.c: px_gatec's kept requests (gc->spare) against an nghttp2 server session in memory: reuse after an answer, an error and a reset, and blocks and bodies larger than what was kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The client's static functions and struct layouts are what is under
 * test: compiled in here, with a connection that has no socket. */
#include "proxy/gatec.c"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_FIELDS 64

/* What the server (libnghttp2's server side, not our code) received on
 * the last stream, and how it answers. */
enum answer { A_OK, A_RESET, A_TOO_MANY_HEADERS };

struct srv {
	nghttp2_session *s;
	enum answer answer;
	char names[MAX_FIELDS][64];
	char *values[MAX_FIELDS];
	uint8_t flags[MAX_FIELDS];
	size_t nf;
	uint64_t body, sum; /* bytes of the request body and a position-weighted sum of them */
	int32_t sid;
};

static struct srv srv;

/* What the client's caller saw. */
struct seen {
	int heads, done, err, status;
	uint64_t body;
	char via[64];
};

static struct ev_loop *loop;
static struct px_gatec *gc;
static struct gc_conn *conn;

static int s_on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	(void)s;
	(void)ud;
	for (size_t i = 0; i < srv.nf; i++)
		free(srv.values[i]);
	srv.nf = 0;
	srv.body = srv.sum = 0;
	srv.sid = f->hd.stream_id;
	return 0;
}

static int s_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
		       const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	(void)s;
	(void)f;
	(void)ud;
	assert_true(srv.nf < MAX_FIELDS && namelen < sizeof(srv.names[0]));
	memcpy(srv.names[srv.nf], name, namelen);
	srv.names[srv.nf][namelen] = '\0';
	srv.values[srv.nf] = strndup((const char *)value, valuelen);
	srv.flags[srv.nf] = flags;
	srv.nf++;
	return 0;
}

static int s_on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	(void)s;
	(void)flags;
	(void)sid;
	(void)ud;
	for (size_t i = 0; i < len; i++)
		srv.sum += (srv.body + i + 1) * data[i];
	srv.body += len;
	return 0;
}

static int s_on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	static uint8_t k_status[] = ":status", v_200[] = "200", k_via[] = "x-via", v_via[] = "the-server";
	nghttp2_nv ok[] = {
		{k_status, v_200, 7, 3, 0},
		{k_via, v_via, 5, 10, 0},
	};
	static nghttp2_nv many[PX_UP_MAX_HEADERS + 2];

	(void)ud;
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	switch (srv.answer) {
	case A_OK:
		assert_int_equal(nghttp2_submit_response(s, f->hd.stream_id, ok, LEN(ok), NULL), 0);
		break;
	case A_RESET:
		assert_int_equal(nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR), 0);
		break;
	case A_TOO_MANY_HEADERS:
		many[0] = ok[0];
		for (size_t i = 1; i < LEN(many); i++)
			many[i] = ok[1];
		assert_int_equal(nghttp2_submit_response(s, f->hd.stream_id, many, LEN(many), NULL), 0);
		break;
	}
	return 0;
}

/* Moves frames both ways until neither side has any, then lets the
 * client's kick run (its own flush is off: |in_recv| stays set, so what it
 * sends is taken here). */
static void pump(void)
{
	for (int round = 0; round < 200; round++) {
		const uint8_t *p;
		ssize_t n;
		int moved = 0;

		while ((n = nghttp2_session_mem_send(conn->sess, &p)) > 0) {
			assert_int_equal(nghttp2_session_mem_recv(srv.s, p, (size_t)n), n);
			moved = 1;
		}
		assert_true(n == 0);
		while ((n = nghttp2_session_mem_send(srv.s, &p)) > 0) {
			assert_int_equal(nghttp2_session_mem_recv(conn->sess, p, (size_t)n), n);
			moved = 1;
		}
		assert_true(n == 0);
		ev_run(loop, EVRUN_NOWAIT);
		if (!moved && !ev_is_pending(&gc->kick) && !ev_is_active(&gc->kick) &&
		    !nghttp2_session_want_write(conn->sess) && !nghttp2_session_want_write(srv.s))
			return;
	}
	fail_msg("the exchange did not settle");
}

static void c_head(void *arg, int status, const struct px_up_header *h, size_t n)
{
	struct seen *s = arg;

	s->heads++;
	s->status = status;
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, "x-via") == 0)
			snprintf(s->via, sizeof(s->via), "%s", h[i].value);
}

static int c_body(void *arg, const unsigned char *d, size_t n)
{
	(void)d;
	((struct seen *)arg)->body += n;
	return 0;
}

static void c_writable(void *arg)
{
	(void)arg;
}

static void c_done(void *arg, int err, const char *detail)
{
	struct seen *s = arg;

	(void)detail;
	s->done++;
	s->err = err;
}

static const struct px_gatec_handler handler = {NULL, c_head, c_body, c_writable, c_done};

static int setup(void **state)
{
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};

	(void)state;
	loop = ev_loop_new(0);
	gc = calloc(1, sizeof(*gc));
	conn = calloc(1, sizeof(*conn));
	if (loop == NULL || gc == NULL || conn == NULL)
		return -1;
	gc->loop = loop;
	gc->gate = strdup("gate.example:443");
	gc->host = strdup("gate.example");
	gc->port_num = 443;
	gc->cert_file = strdup("/nonexistent/c.crt");
	gc->key_file = strdup("/nonexistent/c.key");
	gc->connect_to = 10;
	gc->first_byte_to = 60;
	gc->idle_to = 300;
	gc->backoff = PX_GATEC_BACKOFF_MIN;
	gc->next_connect = 1e18; /* never a real connection */
	ev_timer_init(&gc->kick, gc_kick_cb, 0., 0.);
	gc->kick.data = gc;
	ev_timer_init(&gc->retry, gc_retry_cb, 0., 0.);
	gc->retry.data = gc;
	conn->gc = gc;
	conn->fd = -1;
	ev_io_init(&conn->io, conn_io_cb, 0, EV_READ);
	conn->io.data = conn;
	ev_timer_init(&conn->ctimer, conn_ctimer_cb, 10., 0.);
	conn->ctimer.data = conn;
	conn->state = GC_H2;
	conn->in_recv = 1;
	if (session_make(conn) != 0)
		return -1;
	conn->ready = 1;
	gc->conn = conn;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return -1;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, s_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, s_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, s_on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, s_on_frame_recv);
	if (nghttp2_session_server_new(&srv.s, cb, NULL) != 0)
		return -1;
	nghttp2_session_callbacks_del(cb);
	if (nghttp2_submit_settings(srv.s, NGHTTP2_FLAG_NONE, iv, LEN(iv)) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	conn->in_recv = 0;
	px_gatec_del(gc);
	nghttp2_session_del(srv.s);
	for (size_t i = 0; i < srv.nf; i++)
		free(srv.values[i]);
	ev_loop_destroy(loop);
	return 0;
}

static const char *srv_field(const char *name, uint8_t *flags)
{
	for (size_t i = 0; i < srv.nf; i++)
		if (strcmp(srv.names[i], name) == 0) {
			if (flags != NULL)
				*flags = srv.flags[i];
			return srv.values[i];
		}
	return NULL;
}

/* One request through the server; |len| body bytes of a known pattern.
 * Returns the request object (valid until the next one: it may be kept). */
static struct px_gatec_request *exchange(enum answer a, const struct px_up_header *h, size_t nh, uint64_t len,
					 struct seen *s)
{
	static unsigned char buf[70000];
	struct px_gatec_request *rq;
	uint64_t off = 0;
	uint64_t want_sum = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	srv.answer = a;
	memset(s, 0, sizeof(*s));
	assert_int_equal(px_gatec_request_start(gc, "POST", "/reuse?x=1", h, nh,
						len ? PX_UP_BODY_LENGTH : PX_UP_BODY_NONE, len, &handler, s, &rq),
			 0);
	/* The body in pieces, each as much as the client takes: its ring is
	 * PX_GATEC_BODY_BUF bytes, so a larger body needs the exchange to
	 * drain it in between. */
	while (off < len) {
		size_t piece = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
		int n = px_gatec_request_write(rq, buf, piece);

		if (n == PX_ERR_AGAIN) {
			pump();
			continue;
		}
		assert_true(n > 0);
		for (int i = 0; i < n; i++)
			want_sum += (off + (uint64_t)i + 1) * buf[i];
		off += (uint64_t)n;
		pump();
	}
	if (len)
		assert_int_equal(px_gatec_request_end(rq), 0);
	pump();
	assert_int_equal(s->done, 1);
	if (a == A_OK) {
		assert_int_equal(srv.body, len);
		assert_true(srv.sum == want_sum);
	}
	return rq;
}

static void test_reuse_after_answer(void **state)
{
	static const struct px_up_header h1[] = {
		{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sts/aws4_request"},
		{"X-Amz-Date", "20260101T000000Z"},
		{"User-Agent", "test/1"},
		{"Host", "sts.amazonaws.com"},
	};
	static const struct px_up_header h2[] = {{"X-Other", "second"}};
	struct seen s1, s2;
	struct px_gatec_request *r1, *r2;
	unsigned char *wbuf;
	char *hmem;
	uint8_t fl = 0;

	(void)state;
	r1 = exchange(A_OK, h1, LEN(h1), 43, &s1);
	assert_int_equal(s1.err, PX_UP_OK);
	assert_int_equal(s1.status, 200);
	assert_string_equal(s1.via, "the-server");
	assert_int_equal(s1.body, 0);
	/* What the server decoded: names lower-cased, Host dropped, the
	 * per-request values never indexed, the others indexed. */
	assert_string_equal(srv_field("x-amz-date", &fl), "20260101T000000Z");
	assert_true(fl & NGHTTP2_NV_FLAG_NO_INDEX);
	assert_non_null(srv_field("authorization", &fl));
	assert_true(fl & NGHTTP2_NV_FLAG_NO_INDEX);
	assert_string_equal(srv_field("content-length", &fl), "43");
	assert_true(fl & NGHTTP2_NV_FLAG_NO_INDEX);
	assert_string_equal(srv_field("user-agent", &fl), "test/1");
	assert_false(fl & NGHTTP2_NV_FLAG_NO_INDEX);
	assert_null(srv_field("host", NULL));
	assert_string_equal(srv_field(":path", NULL), "/reuse?x=1");
	/* Kept, with its buffers. */
	assert_int_equal(gc->nspare, 1);
	assert_ptr_equal(gc->spare, r1);
	wbuf = r1->wbuf;
	hmem = r1->hmem;
	assert_non_null(wbuf);
	assert_non_null(hmem);

	r2 = exchange(A_OK, h2, LEN(h2), 0, &s2);
	assert_ptr_equal(r2, r1); /* the same object ... */
	assert_ptr_equal(r2->wbuf, wbuf); /* ... and buffers */
	assert_ptr_equal(r2->hmem, hmem);
	assert_int_equal(s2.err, PX_UP_OK);
	assert_string_equal(s2.via, "the-server");
	/* Nothing of the first request leaks into the second. */
	assert_null(srv_field("x-amz-date", NULL));
	assert_null(srv_field("content-length", NULL));
	assert_string_equal(srv_field("x-other", NULL), "second");
	assert_int_equal(srv.body, 0);
	assert_int_equal(gc->nspare, 1);
}

static void test_reuse_after_reset_and_error(void **state)
{
	static const struct px_up_header h[] = {{"X-A", "1"}};
	struct seen s;
	struct px_gatec_request *r;

	(void)state;
	r = exchange(A_RESET, h, LEN(h), 10, &s);
	assert_int_equal(s.err, PX_UP_RESET);
	assert_int_equal(s.heads, 0);
	assert_int_equal(gc->nspare, 1);
	assert_ptr_equal(gc->spare, r);

	/* Over PX_UP_MAX_HEADERS: the head is refused ... */
	exchange(A_TOO_MANY_HEADERS, h, LEN(h), 0, &s);
	assert_int_equal(s.err, PX_UP_PROTOCOL);
	assert_int_equal(s.heads, 0);
	assert_int_equal(gc->nspare, 1);

	/* ... and the object that counted them serves a whole answer next. */
	exchange(A_OK, h, LEN(h), 5, &s);
	assert_int_equal(s.err, PX_UP_OK);
	assert_int_equal(s.heads, 1);
	assert_int_equal(s.status, 200);
	assert_string_equal(s.via, "the-server");
}

static void test_reuse_larger_than_kept(void **state)
{
	static char big[PX_GATEC_NVA_MIN * 3];
	struct px_up_header h[] = {{"X-Big", big}, {"X-Amz-Date", "20260101T000000Z"}};
	struct seen s;
	struct px_gatec_request *r;
	size_t cap;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	r = exchange(A_OK, h + 1, 1, 0, &s);
	cap = r->nva_cap;
	assert_int_equal(cap, PX_GATEC_NVA_MIN);
	/* A header block over what was kept: made larger, sent whole. */
	r = exchange(A_OK, h, LEN(h), 0, &s);
	assert_int_equal(s.err, PX_UP_OK);
	assert_true(r->nva_cap > cap);
	assert_int_equal(strlen(srv_field("x-big", NULL)), sizeof(big) - 1);
	assert_string_equal(srv_field("x-amz-date", NULL), "20260101T000000Z");
	/* A body of several rings through the kept ring, bytes checked in
	 * order by the server's weighted sum. */
	exchange(A_OK, h + 1, 1, 3 * PX_GATEC_BODY_BUF + 12345, &s);
	assert_int_equal(s.err, PX_UP_OK);
	/* And a small one after it. */
	exchange(A_OK, h + 1, 1, 7, &s);
	assert_int_equal(s.err, PX_UP_OK);
	assert_true(gc->nspare >= 1 && gc->nspare <= PX_GATEC_SPARE);
}

/* Many at once: no more than PX_GATEC_SPARE are kept when they end. */
static void test_spare_bound(void **state)
{
	static const struct px_up_header h[] = {{"X-A", "1"}};
	struct seen s[PX_GATEC_SPARE + 3];
	struct px_gatec_request *rq[PX_GATEC_SPARE + 3];

	(void)state;
	srv.answer = A_OK;
	for (size_t i = 0; i < LEN(rq); i++) {
		memset(&s[i], 0, sizeof(s[i]));
		assert_int_equal(px_gatec_request_start(gc, "GET", "/", h, LEN(h), PX_UP_BODY_NONE, 0, &handler, &s[i],
							&rq[i]),
				 0);
		if (i > 0)
			assert_ptr_not_equal(rq[i], rq[i - 1]);
	}
	pump();
	for (size_t i = 0; i < LEN(rq); i++) {
		assert_int_equal(s[i].done, 1);
		assert_int_equal(s[i].err, PX_UP_OK);
	}
	assert_int_equal(gc->nspare, PX_GATEC_SPARE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_after_answer),
		cmocka_unit_test(test_reuse_after_reset_and_error),
		cmocka_unit_test(test_reuse_larger_than_kept),
		cmocka_unit_test(test_spare_bound),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
