/* SPDX-License-Identifier: Apache-2.0 */
/* stream.c: the protocol-neutral request (struct px_stream), its arena and its response API. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "server.h"

struct px_arena_block {
	struct px_arena_block *next;
	size_t size, used;
	max_align_t data[];
};

void *px_arena_alloc(struct px_arena *a, size_t n)
{
	struct px_arena_block *b = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);

	if (need < n)
		return NULL;
	if (b == NULL || b->size - b->used < need) {
		size_t size = need > PX_ARENA_CHUNK / 2 ? need : PX_ARENA_CHUNK;
		if (a->used + size > PX_ARENA_MAX)
			return NULL;
		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		a->used += size;
		/* A large block goes behind the head, so that the head's free
		 * space stays in use for the small allocations that follow. */
		if (a->head != NULL && need > PX_ARENA_CHUNK / 2) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	b->used += need;
	return (char *)b->data + b->used - need;
}

char *px_arena_strndup(struct px_arena *a, const char *s, size_t n)
{
	char *p = n + 1 > n ? px_arena_alloc(a, n + 1) : NULL;

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

void px_arena_free(struct px_arena *a)
{
	struct px_arena_block *b = a->head, *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used = 0;
}

void px_subject_unref(struct px_subject *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	rbac_subject_del(s->s);
	free(s);
}

struct px_stream *px_stream_new(struct px_conn *c, const struct px_codec_ops *ops, int32_t id)
{
	struct px_stream *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->conn = c;
	st->ops = ops;
	st->id = id;
	st->content_length = -1;
	/* Streams end before their connection. Borrowing its generation
	 * spares each request a lock and a reference count that every worker
	 * shares (the cache lines bounced between CPUs with two workers). */
	if (c->gen != NULL && c->gen->id == __atomic_load_n(&px_srv->gen_id, __ATOMIC_ACQUIRE)) {
		st->gen = c->gen;
	} else {
		st->gen = px_server_gen();
		st->gen_owned = 1;
	}
	st->route = PX_ROUTE_PROTOCOL;
	px_metrics_stream(c->state == PX_CONN_H2);
	return st;
}

void px_stream_del(struct px_stream *st)
{
	if (st == NULL)
		return;
	if (st->h != NULL && st->h->on_close != NULL)
		st->h->on_close(st);
	px_subject_unref(st->subject);
	px_web_ident_unref(st->web_ident);
	if (st->gen_owned)
		px_gen_unref(st->gen);
	px_arena_free(&st->arena);
	free(st->out);
	free(st);
}

int px_stream_add_header(struct px_stream *st, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct px_header *h;
	char *lname;

	if (st->nhdrs == st->cap_hdrs) {
		size_t cap = st->cap_hdrs ? st->cap_hdrs * 2 : 16;
		struct px_header *v = px_arena_alloc(&st->arena, cap * sizeof(*v));
		if (v == NULL)
			return PX_ERR_NOMEM;
		if (st->nhdrs)
			memcpy(v, st->hdrs, st->nhdrs * sizeof(*v));
		st->hdrs = v;
		st->cap_hdrs = cap;
	}
	h = &st->hdrs[st->nhdrs];
	lname = px_arena_strndup(&st->arena, name, nlen);
	h->value = px_arena_strndup(&st->arena, value, vlen);
	if (lname == NULL || h->value == NULL)
		return PX_ERR_NOMEM;
	for (size_t i = 0; i < nlen; i++)
		if (lname[i] >= 'A' && lname[i] <= 'Z')
			lname[i] = (char)(lname[i] + 32);
	h->name = lname;
	h->name_len = nlen;
	h->value_len = vlen;
	st->nhdrs++;
	return 0;
}

const struct px_header *px_stream_header(const struct px_stream *st, const char *name)
{
	size_t len = strlen(name);

	/* Lengths first: most names differ in length (a strcmp() per header
	 * was half a thousand instructions per request). */
	for (size_t i = 0; i < st->nhdrs; i++)
		if (st->hdrs[i].name_len == len && memcmp(st->hdrs[i].name, name, len) == 0)
			return &st->hdrs[i];
	return NULL;
}

void px_stream_body_in(struct px_stream *st, const unsigned char *data, size_t len)
{
	if (st->h != NULL && st->h->on_body != NULL)
		st->h->on_body(st, data, len);
	else
		st->ops->consume(st, len); /* nobody wants it: discard, and keep the window open */
}

void px_stream_body_end(struct px_stream *st)
{
	st->body_done = 1;
	if (st->h != NULL && st->h->on_body_end != NULL)
		st->h->on_body_end(st);
}

int px_stream_respond(struct px_stream *st, int status, const struct px_header *hdrs, size_t n,
		      int64_t content_length)
{
	if (st->closed)
		return PX_ERR_CLOSED;
	if (st->resp_started || status < 200 || status > 999)
		return PX_ERR_STATE;
	st->status = status;
	st->resp_started = 1;
	px_metrics_request(st->route, status);
	return st->ops->respond(st, hdrs, n, content_length);
}

int px_stream_write(struct px_stream *st, const void *data, size_t len)
{
	int rv;

	if (st->closed)
		return PX_ERR_CLOSED;
	if (!st->resp_started || st->resp_done)
		return PX_ERR_STATE;
	if (len == 0 || st->head)
		return 0;
	rv = st->ops->write(st, data, len);
	if (rv == 0 && st->ops->pending(st) >= PX_WBUF_HIGH) {
		st->writable_wanted = 1;
		return PX_ERR_AGAIN;
	}
	return rv;
}

int px_stream_end(struct px_stream *st)
{
	if (st->closed)
		return PX_ERR_CLOSED;
	if (!st->resp_started || st->resp_done)
		return PX_ERR_STATE;
	st->resp_done = 1;
	return st->ops->end(st);
}

void px_stream_consume(struct px_stream *st, size_t n)
{
	if (!st->closed)
		st->ops->consume(st, n);
}

void px_stream_abort(struct px_stream *st)
{
	if (st->closed || !st->resp_started || st->resp_done)
		return;
	st->resp_done = 1;
	st->ops->abort(st);
}

int px_stream_continue(struct px_stream *st)
{
	if (st->closed)
		return PX_ERR_CLOSED;
	if (!st->expect_continue || st->resp_started)
		return 0;
	st->expect_continue = 0;
	return st->ops->send_continue(st);
}

int px_stream_reply(struct px_stream *st, int status, const char *ctype, const char *body, size_t len,
		    const struct px_header *extra, size_t nextra)
{
	struct px_header h[8];
	size_t n = 0;
	int rv;

	if (ctype != NULL)
		h[n++] = (struct px_header){"content-type", ctype, 12, strlen(ctype)};
	h[n++] = (struct px_header){"cache-control", "no-store", 13, 8};
	for (size_t i = 0; i < nextra && n < sizeof(h) / sizeof(h[0]); i++)
		h[n++] = extra[i];
	rv = px_stream_respond(st, status, h, n, (int64_t)len);
	if (rv == 0 && len > 0) {
		rv = px_stream_write(st, body, len);
		if (rv == PX_ERR_AGAIN)
			rv = 0;
	}
	if (rv == 0)
		rv = px_stream_end(st);
	return rv;
}

int px_stream_error(struct px_stream *st, int status, const char *reason, const char *msg)
{
	json_t *o = json_pack("{s:s,s:s}", "error", reason, "message", msg);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct px_header h[2];
	size_t nh = 0;
	int rv;

	json_decref(o);
	if (text == NULL)
		return PX_ERR_NOMEM;
	h[nh++] = (struct px_header){"x-awsgate-error", reason, 15, strlen(reason)};
	if (status == 405)
		h[nh++] = (struct px_header){"allow", "GET, HEAD", 5, 9};
	rv = px_stream_reply(st, status, "application/json", text, strlen(text), h, nh);
	free(text);
	return rv;
}
