/* SPDX-License-Identifier: Apache-2.0 */
/* h2.c: the HTTP/2 codec over nghttp2 (mem_recv/mem_send), manual flow control and the flood defences. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/mman.h>

#include <nghttp2/nghttp2.h>

#include "config.h"
#include "server.h"

struct px_h2 {
	nghttp2_session *sess;
	struct px_stream *streams; /* open ones, singly linked */
	size_t nstreams;
	double rst_start, ctl_start, idle_start;
	uint32_t rst_n, ctl_n, cont_n, idle_n;
	int goaway, calm, idle_armed;
};

static const struct px_codec_ops h2_ops;

/* nghttp2_nv wants non-const pointers to what it only reads (and copies). */
static uint8_t *u8(const char *s)
{
	return (uint8_t *)(uintptr_t)s;
}

static struct px_conn *C(void *ud)
{
	return ud;
}

static void unlink_stream(struct px_h2 *h, struct px_stream *st)
{
	for (struct px_stream **pp = &h->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			h->nstreams--;
			return;
		}
}

/*
 * nghttp2's allocator. A session allocates a 16 KiB frame buffer when it
 * is made and keeps it for its life; an idle connection writes only its
 * first bytes. Blocks of PX_H2_MMAP_MIN bytes or more are mapped on their
 * own, so the pages nghttp2 never writes are never resident: an idle
 * HTTP/2 connection costs about 12 KiB less (docs/SERVER.md, "Measured").
 */
#define PX_H2_MMAP_MIN 8192

struct h2_block {
	size_t size;   /* bytes after the header */
	size_t mapped; /* 1: mmap(), 0: malloc() */
};

static void *h2_alloc(size_t n, int zero)
{
	struct h2_block *b;
	size_t total = n + sizeof(*b);

	if (total < n)
		return NULL;
	if (n >= PX_H2_MMAP_MIN) {
		void *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		b = p; /* zero-filled already */
		b->mapped = 1;
	} else {
		b = zero ? calloc(1, total) : malloc(total);
		if (b == NULL)
			return NULL;
		b->mapped = 0;
	}
	b->size = n;
	return b + 1;
}

static void h2_mem_free(void *ptr, void *ud)
{
	struct h2_block *b;

	(void)ud;
	if (ptr == NULL)
		return;
	b = (struct h2_block *)ptr - 1;
	if (b->mapped)
		munmap(b, b->size + sizeof(*b));
	else
		free(b);
}

static void *h2_mem_malloc(size_t n, void *ud)
{
	(void)ud;
	return h2_alloc(n, 0);
}

static void *h2_mem_calloc(size_t nmemb, size_t size, void *ud)
{
	(void)ud;
	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	return h2_alloc(nmemb * size, 1);
}

static void *h2_mem_realloc(void *ptr, size_t n, void *ud)
{
	struct h2_block *old;
	void *p;

	if (ptr == NULL)
		return h2_alloc(n, 0);
	old = (struct h2_block *)ptr - 1;
	p = h2_alloc(n, 0);
	if (p == NULL)
		return NULL;
	memcpy(p, ptr, old->size < n ? old->size : n);
	h2_mem_free(ptr, ud);
	return p;
}

static nghttp2_mem h2_mem = {
	.malloc = h2_mem_malloc,
	.free = h2_mem_free,
	.calloc = h2_mem_calloc,
	.realloc = h2_mem_realloc,
};

/* Ends the connection with GOAWAY ENHANCE_YOUR_CALM (a flood). */
static void calm(struct px_conn *c, enum px_h2_calm why, const char *what)
{
	struct px_h2 *h = c->h2;

	if (h->calm)
		return;
	h->calm = 1;
	px_metrics_h2_calm(why);
	PX_CLOG(c, PX_LOG_NOTICE, "h2: %s: GOAWAY ENHANCE_YOUR_CALM", what);
	nghttp2_session_terminate_session(h->sess, NGHTTP2_ENHANCE_YOUR_CALM);
}

/* Counts one event in a window of |window| seconds; returns 1 past |burst|. */
static int rate_over(struct px_conn *c, double *start, uint32_t *n, uint32_t burst, double window)
{
	double now = ev_now(c->w->loop);

	if (now - *start > window) {
		*start = now;
		*n = 0;
	}
	return ++*n > burst;
}

static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *ud)
{
	struct px_conn *c = C(ud);
	struct px_h2 *h = c->h2;

	(void)s;
	switch (hd->type) {
	case NGHTTP2_HEADERS:
		h->cont_n = 0;
		break;
	case NGHTTP2_CONTINUATION:
		if (++h->cont_n > PX_H2_MAX_CONTINUATIONS)
			calm(c, PX_H2_CALM_CONTINUATION, "CONTINUATION flood");
		break;
	case NGHTTP2_SETTINGS:
	case NGHTTP2_PING:
		if (!(hd->flags & NGHTTP2_FLAG_ACK) &&
		    rate_over(c, &h->ctl_start, &h->ctl_n, PX_H2_CTRL_BURST, PX_H2_CTRL_WINDOW))
			calm(c, PX_H2_CALM_CONTROL_FLOOD, "SETTINGS/PING flood");
		break;
	case NGHTTP2_DATA:
	case NGHTTP2_PRIORITY:
		/* Frames that carry no work (an empty DATA frame without
		 * END_STREAM, PRIORITY, which the gate ignores) cost a parse
		 * each: a client sending thousands of them is attacking. */
		if ((hd->type == NGHTTP2_PRIORITY || (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM))) &&
		    rate_over(c, &h->idle_start, &h->idle_n, PX_H2_IDLE_BURST, PX_H2_IDLE_WINDOW))
			calm(c, PX_H2_CALM_EMPTY_FRAMES, "empty DATA/PRIORITY flood");
		break;
	default:
		break;
	}
	return 0;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct px_conn *c = C(ud);
	struct px_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = px_stream_new(c, &h2_ops, f->hd.stream_id);
	if (st == NULL)
		return NGHTTP2_ERR_CALLBACK_FAILURE; /* out of memory ends this connection */
	st->next = c->h2->streams;
	c->h2->streams = st;
	c->h2->nstreams++;
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct px_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	const struct px_config *cfg = C(ud)->gen->cfg;
	const char **slot = NULL;

	(void)flags;
	if (st == NULL || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	/* Past the limits the rest is counted, not kept: the stream gets 431. */
	st->hdr_bytes += nlen + vlen + 32;
	if (st->too_large || st->hdr_bytes > cfg->limits.h2_max_header_list_size ||
	    st->nhdrs >= cfg->limits.max_headers) {
		st->too_large = 1;
		return 0;
	}
	if (nlen > 0 && name[0] == ':') {
		if (nlen == 7 && memcmp(name, ":method", 7) == 0)
			slot = &st->method;
		else if (nlen == 5 && memcmp(name, ":path", 5) == 0)
			slot = &st->path;
		else if (nlen == 10 && memcmp(name, ":authority", 10) == 0)
			slot = &st->authority;
		else if (nlen == 7 && memcmp(name, ":scheme", 7) == 0)
			slot = &st->scheme;
		if (slot == NULL)
			return 0; /* nghttp2 has refused the others already */
		*slot = px_arena_strndup(&st->arena, (const char *)value, vlen);
		if (slot == &st->path)
			st->path_len = vlen;
		return *slot ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (px_stream_add_header(st, (const char *)name, nlen, (const char *)value, vlen) != 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static void h2_dispatch(struct px_conn *c, struct px_stream *st, int end_stream)
{
	const struct px_header *x;

	st->has_body = !end_stream;
	st->body_done = end_stream ? 1 : 0;
	if (st->too_large) {
		px_stream_error(st, 431, "header-too-large",
				"the header list is larger than limits.h2_max_header_list_size or has more than limits.max_headers fields");
		return;
	}
	if (st->authority == NULL && (x = px_stream_header(st, "host")) != NULL)
		st->authority = x->value;
	st->head = st->method != NULL && strcmp(st->method, "HEAD") == 0;
	if ((x = px_stream_header(st, "content-length")) != NULL) {
		int64_t n = 0;
		for (size_t i = 0; i < x->value_len && n < INT64_MAX / 10 - 10; i++)
			n = n * 10 + (x->value[i] - '0'); /* nghttp2 checked it is digits */
		st->content_length = n;
	}
	if ((x = px_stream_header(st, "expect")) != NULL && x->value_len == 12 &&
	    strncasecmp(x->value, "100-continue", 12) == 0 && st->has_body)
		st->expect_continue = 1;
	/* The path without its query: a presigned URL's signature is in it. */
	PX_SLOG(st, PX_LOG_DEBUG, "%s %.*s", st->method ? st->method : "-",
		st->path ? (int)strcspn(st->path, "?") : 1, st->path ? st->path : "-");
	(void)c;
	px_route_dispatch(st);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct px_conn *c = C(ud);
	struct px_h2 *h = c->h2;
	struct px_stream *st;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
		if (st == NULL)
			break;
		if (f->headers.cat == NGHTTP2_HCAT_REQUEST)
			h2_dispatch(c, st, (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
		else if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !st->body_done)
			px_stream_body_end(st); /* trailers */
		break;
	case NGHTTP2_DATA:
		/* Padding is flow-controlled but never reaches the handler. */
		if (f->data.padlen > 0)
			nghttp2_session_consume(s, f->hd.stream_id, f->data.padlen);
		st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
		if (st != NULL && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !st->body_done)
			px_stream_body_end(st);
		break;
	case NGHTTP2_RST_STREAM:
		if (rate_over(c, &h->rst_start, &h->rst_n, PX_H2_RST_BURST, PX_H2_RST_WINDOW))
			calm(c, PX_H2_CALM_RAPID_RESET, "rapid reset");
		break;
	default:
		break;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct px_stream *st = nghttp2_session_get_stream_user_data(s, sid);

	(void)flags;
	(void)ud;
	if (st == NULL || st->closed)
		nghttp2_session_consume(s, sid, len);
	else
		px_stream_body_in(st, data, len);
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t err, void *ud)
{
	struct px_conn *c = C(ud);
	struct px_stream *st = nghttp2_session_get_stream_user_data(s, sid);

	if (st == NULL)
		return 0;
	if (err != NGHTTP2_NO_ERROR)
		PX_SLOG(st, PX_LOG_DEBUG, "reset: %s", nghttp2_http2_strerror(err));
	nghttp2_session_set_stream_user_data(s, sid, NULL);
	unlink_stream(c->h2, st);
	st->closed = 1;
	px_stream_del(st);
	return 0;
}

int px_h2_new(struct px_conn *c)
{
	const struct px_config *cfg = c->gen->cfg;
	struct px_h2 *h = calloc(1, sizeof(*h));
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[4];
	uint32_t win = cfg->limits.h2_initial_window_size > INT32_MAX ? INT32_MAX
								      : (uint32_t)cfg->limits.h2_initial_window_size;
	int rv = -1;

	if (h == NULL)
		return -1;
	c->h2 = h;
	if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		goto out;
	nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	/* The window reopens as the handler takes the body (backpressure). */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_send_header_block_length(opt, 65536);
#ifdef HAVE_NGHTTP2_OPTION_SET_MAX_OUTBOUND_ACK
	nghttp2_option_set_max_outbound_ack(opt, PX_H2_MAX_OUTBOUND_ACK);
#endif
#ifdef HAVE_NGHTTP2_OPTION_SET_MAX_SETTINGS
	nghttp2_option_set_max_settings(opt, PX_H2_MAX_SETTINGS);
#endif
#ifdef HAVE_NGHTTP2_OPTION_SET_STREAM_RESET_RATE_LIMIT
	/* nghttp2's own bound is looser than ours: ours (counted, with a
	 * metric) trips first; this one is the backstop. */
	nghttp2_option_set_stream_reset_rate_limit(opt, 2 * PX_H2_RST_BURST, PX_H2_RST_BURST);
#endif
#ifdef HAVE_NGHTTP2_OPTION_SET_MAX_CONTINUATIONS
	nghttp2_option_set_max_continuations(opt, PX_H2_MAX_CONTINUATIONS + 1);
#endif
	if (nghttp2_session_server_new3(&h->sess, cb, c, opt, &h2_mem) != 0)
		goto out;
	iv[0] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->limits.h2_max_concurrent_streams};
	iv[1] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, win};
	iv[2] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
					 (uint32_t)cfg->limits.h2_max_header_list_size};
	iv[3] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_ENABLE_PUSH, 0};
	if (nghttp2_submit_settings(h->sess, NGHTTP2_FLAG_NONE, iv, 4) != 0)
		goto out;
	if (nghttp2_session_set_local_window_size(h->sess, NGHTTP2_FLAG_NONE, 0, (int32_t)win) != 0)
		goto out;
	rv = 0;
out:
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	return rv;
}

void px_h2_del(struct px_conn *c)
{
	struct px_h2 *h = c->h2;
	struct px_stream *st, *next;

	for (st = h->streams; st != NULL; st = next) {
		next = st->next;
		st->closed = 1;
		px_stream_del(st);
	}
	nghttp2_session_del(h->sess);
	free(h);
	c->h2 = NULL;
}

ssize_t px_h2_feed(struct px_conn *c, const unsigned char *p, size_t len)
{
	ssize_t n;

	if (c->h2->calm)
		return (ssize_t)len; /* GOAWAY is queued: nothing more is read */
	/* Output piling up (a client that does not read): stop reading. */
	if (c->wlen - c->woff >= PX_WBUF_HIGH)
		return 0;
	n = nghttp2_session_mem_recv(c->h2->sess, p, len);
	if (c->h2->calm)
		return (ssize_t)len;
	if (n < 0) {
		/* Say why before closing: GOAWAY with the error, then the
		 * connection ends once it is flushed (px_h2_done()). */
		if (n == NGHTTP2_ERR_FLOODED) {
			calm(c, PX_H2_CALM_CONTROL_FLOOD, "nghttp2: flooded with frames to acknowledge");
		} else {
			PX_CLOG(c, PX_LOG_INFO, "h2: %s", nghttp2_strerror((int)n));
			c->h2->calm = 1;
			nghttp2_session_terminate_session(c->h2->sess, NGHTTP2_PROTOCOL_ERROR);
		}
		return (ssize_t)len;
	}
	return n;
}

int px_h2_produce(struct px_conn *c)
{
	struct px_h2 *h = c->h2;

	while (c->wlen - c->woff < PX_WBUF_HIGH) {
		const uint8_t *d;
		ssize_t n = nghttp2_session_mem_send(h->sess, &d);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (px_conn_out(c, d, (size_t)n) != 0)
			return -1;
	}
	for (struct px_stream *st = h->streams; st != NULL; st = st->next)
		if (st->writable_wanted && st->out_len - st->out_off < PX_WBUF_HIGH / 2) {
			st->writable_wanted = 0;
			if (st->h != NULL && st->h->on_writable != NULL)
				st->h->on_writable(st);
		}
	if (h->nstreams == 0 && !h->idle_armed) {
		px_conn_timer(c, c->gen->cfg->timeouts.idle);
		h->idle_armed = 1;
	} else if (h->nstreams > 0 && h->idle_armed) {
		px_conn_timer(c, 0);
		h->idle_armed = 0;
	}
	return 0;
}

bool px_h2_wants_write(const struct px_conn *c)
{
	return nghttp2_session_want_write(c->h2->sess) != 0;
}

void px_h2_shutdown(struct px_conn *c)
{
	struct px_h2 *h = c->h2;

	if (h->goaway)
		return;
	h->goaway = 1;
	nghttp2_submit_goaway(h->sess, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->sess),
			      NGHTTP2_NO_ERROR, NULL, 0);
}

bool px_h2_done(const struct px_conn *c)
{
	const struct px_h2 *h = c->h2;

	if (!nghttp2_session_want_read(h->sess) && !nghttp2_session_want_write(h->sess))
		return true;
	return h->goaway && h->nstreams == 0 && !nghttp2_session_want_write(h->sess);
}

bool px_h2_idle(const struct px_conn *c)
{
	return c->h2->nstreams == 0;
}

/* --- the stream's ops ------------------------------------------------------ */

static ssize_t data_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct px_stream *st = src->ptr;
	size_t n = st->out_len - st->out_off;

	(void)s;
	(void)sid;
	(void)ud;
	if (n > length)
		n = length;
	if (n > 0) /* |out| is NULL before the first write */
		memcpy(buf, st->out + st->out_off, n);
	st->out_off += n;
	if (st->out_off == st->out_len)
		st->out_off = st->out_len = 0;
	if (st->out_len == 0 && st->resp_done)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	else if (n == 0)
		return NGHTTP2_ERR_DEFERRED; /* the handler will write more: px_stream_write() resumes */
	return (ssize_t)n;
}

static int h2_respond(struct px_stream *st, const struct px_header *hdrs, size_t n, int64_t content_length)
{
	struct px_conn *c = st->conn;
	nghttp2_nv *nv;
	char status[PX_DEC_MAX], clen[PX_DEC_MAX];
	size_t k = 0;
	nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read};
	int no_body = st->head || content_length == 0 || st->status == 204 || st->status == 304;

	nv = px_arena_alloc(&st->arena, (n + 3) * sizeof(*nv));
	if (nv == NULL)
		return PX_ERR_NOMEM;
	nv[k++] = (nghttp2_nv){u8(":status"), u8(status), 7, px_dec(status, (uint64_t)st->status),
			       NGHTTP2_NV_FLAG_NONE};
	for (size_t i = 0; i < n; i++)
		nv[k++] = (nghttp2_nv){u8(hdrs[i].name), u8(hdrs[i].value),
				       hdrs[i].name_len, hdrs[i].value_len, NGHTTP2_NV_FLAG_NONE};
	nv[k++] = (nghttp2_nv){u8("x-awsgate-version"), u8(PACKAGE_VERSION), 17,
			       sizeof(PACKAGE_VERSION) - 1, NGHTTP2_NV_FLAG_NONE};
	if (content_length >= 0) {
		nv[k++] = (nghttp2_nv){u8("content-length"), u8(clen), 14, px_dec(clen, (uint64_t)content_length),
				       NGHTTP2_NV_FLAG_NONE};
	}
	/* nghttp2 copies the header values. */
	if (nghttp2_submit_response(c->h2->sess, st->id, nv, k, no_body ? NULL : &prd) != 0)
		return PX_ERR_CLOSED;
	px_conn_kick(c);
	return 0;
}

static int h2_write(struct px_stream *st, const unsigned char *data, size_t len)
{
	if (st->out_len + len > st->out_cap) {
		size_t cap = st->out_cap ? st->out_cap : 4096;
		unsigned char *p;
		if (st->out_off > 0) {
			memmove(st->out, st->out + st->out_off, st->out_len - st->out_off);
			st->out_len -= st->out_off;
			st->out_off = 0;
		}
		while (cap < st->out_len + len)
			cap *= 2;
		if (cap > PX_STREAM_OUT_MAX)
			return PX_ERR_NOMEM;
		if (cap > st->out_cap) {
			p = realloc(st->out, cap);
			if (p == NULL)
				return PX_ERR_NOMEM;
			st->out = p;
			st->out_cap = cap;
		}
	}
	memcpy(st->out + st->out_len, data, len);
	st->out_len += len;
	nghttp2_session_resume_data(st->conn->h2->sess, st->id);
	px_conn_kick(st->conn);
	return 0;
}

static int h2_end(struct px_stream *st)
{
	nghttp2_session_resume_data(st->conn->h2->sess, st->id);
	px_conn_kick(st->conn);
	return 0;
}

static void h2_abort(struct px_stream *st)
{
	nghttp2_submit_rst_stream(st->conn->h2->sess, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
	px_conn_kick(st->conn);
}

static void h2_consume(struct px_stream *st, size_t n)
{
	nghttp2_session_consume(st->conn->h2->sess, st->id, n);
	px_conn_kick(st->conn);
}

static int h2_send_continue(struct px_stream *st)
{
	nghttp2_nv nv = {u8(":status"), u8("100"), 7, 3, NGHTTP2_NV_FLAG_NONE};

	if (nghttp2_submit_headers(st->conn->h2->sess, NGHTTP2_FLAG_NONE, st->id, NULL, &nv, 1, NULL) < 0)
		return PX_ERR_CLOSED;
	px_conn_kick(st->conn);
	return 0;
}

static size_t h2_pending(const struct px_stream *st)
{
	return st->out_len - st->out_off;
}

static const struct px_codec_ops h2_ops = {
	.respond = h2_respond,
	.write = h2_write,
	.end = h2_end,
	.consume = h2_consume,
	.abort = h2_abort,
	.send_continue = h2_send_continue,
	.pending = h2_pending,
};
