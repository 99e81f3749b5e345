/* SPDX-License-Identifier: Apache-2.0 */
/* h1up.c: the pipeline's native HTTP/1.1 client to AWS: pinned address, a keep-alive pool per loop, OpenSSL and llhttp on the loop.
 *
 * libcurl spent about a third of the gate's instructions per request on
 * work this case does not need (docs/BENCH-API.md): the address is pinned,
 * the protocol is HTTP/1.1, the head is already built. This client writes
 * the head into one buffer, parses the answer with llhttp, and keeps idle
 * connections per host, port and pinned address. Connections own their
 * buffers, so a request on a pooled connection allocates one object.
 *
 * Callbacks of the caller run only from the loop (io, timers, the zero
 * "kick" timer), never from a px_upstream_* call. Errors found inside an API
 * call are recorded and reported from the kick. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <llhttp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "h1up.h"
#include "list.h"

#define H1_RBUF 16384     /* bytes read from the socket at a time, per connection */
#define H1_OBUF 65536     /* bytes staged for the socket, per connection (a full ring: see docs) */
#define H1_HEAD_INLINE 4096 /* a request head up to this size lives in the request */
#define H1_MAX_HOST 255

#define H1_SLOTS 64 /* the pool's hash table of keys (a power of two) */

struct h1_key {
	uint32_t hash;              /* key_hash(): compared first */
	uint16_t port;              /* of the connection (the pinned one) */
	bool tls;
	socklen_t alen;
	size_t hlen;
	struct sockaddr_storage addr;
	char host[H1_MAX_HOST + 1]; /* lower case, IPv6 without brackets */
};

/* The idle connections of one key, most recently used first: a lookup is
 * a hash and one or two compares rather than a compare per idle
 * connection (a scan of the benchmark's ~100 was ~5,000 instructions a
 * request). Made with its first idle connection, freed with its last. */
struct h1_bucket {
	struct h1_bucket *hnext; /* the table slot's chain */
	struct px_list conns;    /* h1_conn.bykey, most recently used first */
	struct h1_key key;
};

struct h1_sess {
	struct h1_key key;
	SSL_SESSION *s;
	uint64_t used;
};

struct px_h1up_pool {
	struct ev_loop *loop;
	const char *ca_file; /* the core's; NULL: the system store */
	SSL_CTX *ctx;        /* made at the first https request */
	struct px_list idle; /* h1_conn.all: all keys, most recently used first */
	size_t nkeys;
	size_t max_idle, max_per_key; /* PX_H1UP_MAX_IDLE*; the unit test lowers them */
	struct h1_bucket *slots[H1_SLOTS];
	uint64_t tick;
	unsigned char *spare_ring; /* one body ring kept for the next request */
	struct h1_sess sess[PX_H1UP_MAX_SESSIONS];
};

struct h1_conn {
	struct px_link all;       /* on the pool's idle list, while idle */
	struct px_link bykey;     /* on its key's idle list, while idle */
	struct h1_bucket *bucket; /* its key's, while idle */
	struct px_h1up_pool *pool;
	struct px_h1up *req; /* NULL while idle */
	struct h1_key key;
	int fd;
	SSL *ssl;
	ev_io io;
	ev_timer idle_timer;
	int events;     /* what io watches */
	bool connected; /* TCP (and TLS) established */
	bool reused;    /* it served a request before this one */
	bool want_write; /* the socket (or TLS) said "not now" to a write */
	double idle_since; /* loop time it went into the pool */
	size_t roff, rlen;
	size_t ooff, olen;
	unsigned char rbuf[H1_RBUF];
	unsigned char obuf[H1_OBUF + 32]; /* + a chunk's framing */
};

enum h1_phase { PH_CONNECT, PH_SEND, PH_WAIT, PH_RECV };

struct px_h1up {
	unsigned char tag; /* PX_H1UP_TAG: first (upstream.c dispatches on it) */
	struct px_h1up_pool *pool;
	struct h1_conn *conn;
	const struct px_upstream_handler *h;
	void *arg;
	struct h1_key key;
	enum px_up_body body;
	uint64_t body_length;
	uint64_t written;  /* body bytes the caller pushed */
	uint64_t consumed; /* body bytes staged for the socket */
	unsigned char *ring; /* PX_UP_BODY_BUF bytes; NULL without a body */
	size_t ring_off, ring_len;
	char *head; /* head_inline or malloc'd */
	size_t head_len, head_off;
	ev_timer timer;
	ev_timer kick;
	enum h1_phase phase;
	double connect_s, first_byte, idle, last;
	enum px_up_error fail; /* recorded; the kick reports it */
	bool head_req;
	bool ended;
	bool body_staged; /* the whole body (and its last chunk) is in obuf or sent */
	bool recv_hold;
	bool writable_wanted;
	bool cancelled;
	bool in_cb;   /* a caller's callback is running from inside the parser */
	bool in_done;
	bool got_byte; /* a response byte arrived */
	bool head_done;
	bool complete; /* the final response ended */
	bool retried;
	bool val_started;
	bool refeed; /* the parser paused inside: it may have more to say with no new byte */
	bool head_held; /* px_h1up_start() kept the head back for the body; the kick is armed for it */
	size_t nhdrs, hbuf_len, name_off, val_off;
	llhttp_t parser;
	char detail[192];
	struct px_up_header hdrs[PX_UP_MAX_HEADERS];
	char hbuf[PX_UP_MAX_HEADER_BYTES];
	char head_inline[H1_HEAD_INLINE];
};

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void req_kick_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void req_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static int req_connect(struct px_h1up *up);

/* --- the pool ------------------------------------------------------------- */

/* FNV-1a over what key_eq() compares, once per request. */
static void key_hash(struct h1_key *k)
{
	uint32_t h = 2166136261u;
	const unsigned char *b = (const unsigned char *)k->host;
	for (size_t i = 0; i < k->hlen; i++)
		h = (h ^ b[i]) * 16777619u;
	b = (const unsigned char *)&k->addr;
	for (size_t i = 0; i < k->alen; i++)
		h = (h ^ b[i]) * 16777619u;
	h = (h ^ k->port) * 16777619u;
	k->hash = (h ^ (k->tls ? 1u : 0u)) * 16777619u;
}

static bool key_eq(const struct h1_key *a, const struct h1_key *b)
{
	return a->hash == b->hash && a->port == b->port && a->tls == b->tls && a->alen == b->alen &&
	       a->hlen == b->hlen && memcmp(a->host, b->host, a->hlen) == 0 && memcmp(&a->addr, &b->addr, a->alen) == 0;
}

static struct h1_bucket **pool_slot(struct px_h1up_pool *p, const struct h1_key *k)
{
	return &p->slots[k->hash & (H1_SLOTS - 1)];
}

static struct h1_bucket *pool_bucket(struct px_h1up_pool *p, const struct h1_key *k)
{
	for (struct h1_bucket *b = *pool_slot(p, k); b != NULL; b = b->hnext)
		if (key_eq(&b->key, k))
			return b;
	return NULL;
}

static void conn_close(struct h1_conn *cn)
{
	struct px_h1up_pool *p = cn->pool;
	ev_io_stop(p->loop, &cn->io);
	ev_timer_stop(p->loop, &cn->idle_timer);
	if (cn->ssl != NULL) {
		SSL_free(cn->ssl);
		ERR_clear_error();
	}
	if (cn->fd >= 0)
		close(cn->fd);
	free(cn);
}

static void pool_unlink(struct h1_conn *cn)
{
	struct px_h1up_pool *p = cn->pool;
	struct h1_bucket *b = cn->bucket;
	px_list_unlink(&p->idle, &cn->all);
	px_list_unlink(&b->conns, &cn->bykey);
	cn->bucket = NULL;
	if (b->conns.n == 0) {
		struct h1_bucket **at = pool_slot(p, &b->key);
		while (*at != b)
			at = &(*at)->hnext;
		*at = b->hnext;
		free(b);
		p->nkeys--;
	}
	ev_timer_stop(p->loop, &cn->idle_timer);
}

/* Whether an idle connection with bytes to read is still usable: over TLS
 * they may be a record that is not data (a TLS 1.3 session ticket sent
 * late), which OpenSSL takes by itself. */
static bool conn_still_quiet(struct h1_conn *cn)
{
	if (cn->ssl == NULL)
		return false;
	unsigned char b;
	int r = SSL_read(cn->ssl, &b, 1);
	if (r <= 0 && SSL_get_error(cn->ssl, r) == SSL_ERROR_WANT_READ)
		return true;
	ERR_clear_error();
	return false;
}

static void conn_idle_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	/* An idle connection has nothing to say: data or EOF mean it is
	 * closing (or broken), so it goes now rather than fail a request. */
	struct h1_conn *cn = PX_CONTAINER_OF(w, struct h1_conn, io);
	if (conn_still_quiet(cn))
		return;
	pool_unlink(cn);
	conn_close(cn);
}

static void conn_idle_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct h1_conn *cn = PX_CONTAINER_OF(w, struct h1_conn, idle_timer);
	pool_unlink(cn);
	conn_close(cn);
}

/* Keeps |cn| for the next request of its key, or closes it when over the
 * pool's bounds (the least recently used of its key, or of all, goes). */
static void pool_put(struct h1_conn *cn)
{
	struct px_h1up_pool *p = cn->pool;
	struct h1_bucket *b = pool_bucket(p, &cn->key);
	struct h1_conn *evict = NULL;
	if (b != NULL && b->conns.n >= p->max_per_key)
		evict = PX_CONTAINER_OF(b->conns.last, struct h1_conn, bykey);
	else if (p->idle.n >= p->max_idle)
		evict = PX_CONTAINER_OF(p->idle.last, struct h1_conn, all);
	if (evict != NULL) {
		pool_unlink(evict);
		conn_close(evict);
		b = pool_bucket(p, &cn->key); /* it may have been the key's last */
	}
	if (b == NULL) {
		b = malloc(sizeof(*b));
		if (b == NULL) {
			/* Not kept: the next request opens a connection. */
			conn_close(cn);
			return;
		}
		b->key = cn->key;
		b->conns = (struct px_list){NULL, NULL, 0};
		struct h1_bucket **at = pool_slot(p, &cn->key);
		b->hnext = *at;
		*at = b;
		p->nkeys++;
	}
	cn->bucket = b;
	px_list_push(&b->conns, &cn->bykey);
	cn->req = NULL;
	cn->reused = true;
	cn->roff = cn->rlen = 0;
	cn->ooff = cn->olen = 0;
	cn->want_write = false;
	px_list_push(&p->idle, &cn->all);
	/* ev_io_modify(), not ev_io_set(), here and below: the fd stays the
	 * same, and ev_io_set() makes libev re-add it to epoll (an
	 * epoll_ctl() that fails with EEXIST) on every request. */
	ev_io_stop(p->loop, &cn->io);
	ev_set_cb(&cn->io, conn_idle_io_cb);
	ev_io_modify(&cn->io, EV_READ);
	cn->events = EV_READ;
	ev_io_start(p->loop, &cn->io);
	cn->idle_since = ev_now(p->loop);
	ev_timer_set(&cn->idle_timer, PX_H1UP_IDLE_SECONDS, 0.);
	ev_timer_start(p->loop, &cn->idle_timer);
}

/* An idle connection of |k| that is still quiet, or NULL. */
static struct h1_conn *pool_take(struct px_h1up_pool *p, const struct h1_key *k)
{
	struct h1_bucket *b = pool_bucket(p, k);
	while (b != NULL) {
		struct h1_conn *i = PX_CONTAINER_OF(b->conns.first, struct h1_conn, bykey);
		bool was_last = b->conns.n == 1; /* then pool_unlink() frees |b| */
		pool_unlink(i);
		/* The liveness check: a closing peer may not have been seen by
		 * the loop yet. A connection back in the pool for less than
		 * PX_H1UP_FRESH_SECONDS was seen quiet by the loop moments
		 * ago; servers close idle connections after seconds, not
		 * milliseconds (and a bodiless request that meets a close is
		 * retried once), so the syscall is spared on a busy
		 * connection. */
		if (ev_now(p->loop) - i->idle_since < PX_H1UP_FRESH_SECONDS)
			return i;
		unsigned char c;
		ssize_t n = recv(i->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if ((n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) || (n > 0 && conn_still_quiet(i)))
			return i;
		conn_close(i);
		if (was_last)
			break;
	}
	return NULL;
}

static int new_session_cb(SSL *ssl, SSL_SESSION *s)
{
	struct h1_conn *cn = SSL_get_app_data(ssl);
	if (cn == NULL)
		return 0;
	struct px_h1up_pool *p = cn->pool;
	struct h1_sess *slot = NULL, *oldest = &p->sess[0];
	for (size_t i = 0; i < PX_H1UP_MAX_SESSIONS; i++) {
		struct h1_sess *e = &p->sess[i];
		if (e->s != NULL && key_eq(&e->key, &cn->key)) {
			slot = e;
			break;
		}
		if (e->used < oldest->used)
			oldest = e;
	}
	if (slot == NULL)
		slot = oldest;
	if (slot->s != NULL)
		SSL_SESSION_free(slot->s);
	slot->key = cn->key;
	slot->s = s;
	slot->used = ++p->tick;
	return 1; /* we keep the reference */
}

static SSL_SESSION *pool_session(struct px_h1up_pool *p, const struct h1_key *k)
{
	for (size_t i = 0; i < PX_H1UP_MAX_SESSIONS; i++) {
		struct h1_sess *e = &p->sess[i];
		if (e->s != NULL && key_eq(&e->key, k)) {
			e->used = ++p->tick;
			return e->s;
		}
	}
	return NULL;
}

/* The TLS context: the trust libcurl's transfers have (aws.ca_file, else
 * the system store), TLS 1.2 at least, ALPN http/1.1, client sessions kept
 * by us per key. */
static int pool_ctx(struct px_h1up_pool *p, char *detail, size_t dlen)
{
	if (p->ctx != NULL)
		return 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (p->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, p->ca_file, NULL) != 1
	                       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(detail, dlen, "cannot load the trusted CAs (%s)", p->ca_file != NULL ? p->ca_file : "system store");
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return PX_ERR_INVALID;
	}
	static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
	if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0)
		goto fail;
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A read-until-close body over TLS ends at EOF as over TCP (AWS
	 * answers with a length or chunks). */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	p->ctx = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	snprintf(detail, dlen, "out of memory making the TLS context");
	return PX_ERR_NOMEM;
}

static void pool_del(void *arg)
{
	struct px_h1up_pool *p = arg;
	if (p == NULL)
		return;
	while (p->idle.first != NULL) {
		struct h1_conn *cn = PX_CONTAINER_OF(p->idle.first, struct h1_conn, all);
		pool_unlink(cn);
		conn_close(cn);
	}
	for (size_t i = 0; i < PX_H1UP_MAX_SESSIONS; i++)
		if (p->sess[i].s != NULL)
			SSL_SESSION_free(p->sess[i].s);
	SSL_CTX_free(p->ctx);
	free(p->spare_ring);
	free(p);
}

static struct px_h1up_pool *pool_of(struct px_curl *c)
{
	if (c->h1 != NULL)
		return c->h1;
	struct px_h1up_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->loop = c->loop;
	p->ca_file = c->ca_file;
	p->max_idle = PX_H1UP_MAX_IDLE;
	p->max_per_key = PX_H1UP_MAX_IDLE_PER_KEY;
	c->h1 = p;
	c->h1_del = pool_del;
	return p;
}

int px_h1up_pool_limits(struct px_curl *c, size_t max_idle, size_t max_per_key)
{
	struct px_h1up_pool *p = pool_of(c);
	if (p == NULL)
		return PX_ERR_NOMEM;
	if (max_idle == 0 || max_per_key == 0 || max_idle > PX_H1UP_MAX_IDLE || max_per_key > PX_H1UP_MAX_IDLE_PER_KEY)
		return PX_ERR_INVALID;
	p->max_idle = max_idle;
	p->max_per_key = max_per_key;
	return 0;
}

void px_h1up_pool_count(struct px_curl *c, size_t *idle, size_t *keys)
{
	const struct px_h1up_pool *p = c->h1;
	*idle = p != NULL ? p->idle.n : 0;
	*keys = p != NULL ? p->nkeys : 0;
}

/* --- the request's life ---------------------------------------------------------- */

static void req_kick(struct px_h1up *up)
{
	if (!ev_is_active(&up->kick)) {
		ev_timer_set(&up->kick, 0., 0.);
		ev_timer_start(up->pool->loop, &up->kick);
	}
}

/* Whether px_h1up_start() keeps the head back for the body: a body of a
 * known length that fits the ring, which callers with the body at hand
 * (a buffered, re-signed payload) write right after the start. */
static bool req_holds_head(const struct px_h1up *up)
{
	return up->body == PX_UP_BODY_LENGTH && up->body_length > 0 && up->body_length <= PX_UP_BODY_BUF;
}

static void req_set_phase(struct px_h1up *up, enum h1_phase ph)
{
	struct ev_loop *loop = up->pool->loop;
	up->phase = ph;
	up->last = ev_now(loop);
	ev_timer_stop(loop, &up->timer);
	ev_timer_set(&up->timer, ph == PH_CONNECT ? up->connect_s : ph == PH_WAIT ? up->first_byte : up->idle, 0.);
	ev_timer_start(loop, &up->timer);
}

static void req_free(struct px_h1up *up)
{
	struct px_h1up_pool *p = up->pool;
	ev_timer_stop(p->loop, &up->timer);
	ev_timer_stop(p->loop, &up->kick);
	if (up->conn != NULL)
		conn_close(up->conn);
	if (up->head != up->head_inline)
		free(up->head);
	if (up->ring != NULL) {
		if (p->spare_ring == NULL)
			p->spare_ring = up->ring;
		else
			free(up->ring);
	}
	free(up);
}

/* Whether the connection can carry another request after this answer. */
static bool req_conn_reusable(const struct px_h1up *up)
{
	const struct h1_conn *cn = up->conn;
	return cn != NULL && up->complete && up->body_staged && cn->ooff == cn->olen && cn->roff == cn->rlen &&
	       llhttp_should_keep_alive(&up->parser) && !(up->parser.http_major == 1 && up->parser.http_minor == 0) &&
	       (cn->ssl == NULL || !SSL_has_pending(cn->ssl));
}

/* Tells the caller and frees |up|: the last act of whoever calls it. */
static void req_finish(struct px_h1up *up, enum px_up_error err, const char *detail)
{
	if (err == PX_UP_OK && req_conn_reusable(up)) {
		pool_put(up->conn);
		up->conn = NULL;
	}
	if (!up->cancelled && up->h->on_done != NULL) {
		up->in_done = true;
		up->h->on_done(up->arg, err, err == PX_UP_OK ? NULL : detail);
	}
	req_free(up);
}

/* Records why |up| fails and stops its I/O; the kick reports it. A reused
 * connection that died before any answer, for a request without a body,
 * is replaced once instead (docs/UPSTREAM.md, "No silent retries"). */
static void req_error(struct px_h1up *up, enum px_up_error err, const char *detail)
{
	bool bodiless = up->body == PX_UP_BODY_NONE || (up->body == PX_UP_BODY_LENGTH && up->body_length == 0);
	if (err == PX_UP_RESET && up->conn != NULL && up->conn->reused && !up->got_byte && bodiless && !up->retried &&
	    up->fail == PX_UP_OK) {
		up->retried = true;
		conn_close(up->conn);
		up->conn = NULL;
		up->head_off = 0;
		up->body_staged = false;
		if (req_connect(up) == 0)
			return;
	}
	if (up->fail == PX_UP_OK) {
		up->fail = err;
		snprintf(up->detail, sizeof(up->detail), "%s", detail);
	}
	if (up->conn != NULL)
		ev_io_stop(up->pool->loop, &up->conn->io);
	ev_timer_stop(up->pool->loop, &up->timer);
	req_kick(up);
}

static void req_errno(struct px_h1up *up, enum px_up_error err, const char *what, int e)
{
	char d[160];
	snprintf(d, sizeof(d), "%s: %s", what, strerror(e));
	req_error(up, err, d);
}

/* --- the response parser ------------------------------------------------------- */

static struct px_h1up *P(llhttp_t *p)
{
	return p->data;
}

/* Forwarding a head with fields left out would change the answer. */
static int hb_fail(struct px_h1up *up)
{
	up->fail = PX_UP_PROTOCOL;
	snprintf(up->detail, sizeof(up->detail), "the upstream's response head is over %u fields or %u bytes",
	         PX_UP_MAX_HEADERS, PX_UP_MAX_HEADER_BYTES);
	return -1;
}

static int hb_append(struct px_h1up *up, const char *at, size_t len)
{
	if (len + 1 > sizeof(up->hbuf) - up->hbuf_len)
		return hb_fail(up);
	memcpy(up->hbuf + up->hbuf_len, at, len);
	up->hbuf_len += len;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct px_h1up *up = P(p);
	up->nhdrs = 0;
	up->hbuf_len = 0;
	up->name_off = 0;
	up->val_started = false;
	return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct px_h1up *up = P(p);
	if (up->head_done)
		return 0; /* trailers: not reported */
	if (up->nhdrs == PX_UP_MAX_HEADERS)
		return hb_fail(up);
	return hb_append(up, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
	struct px_h1up *up = P(p);
	if (up->head_done)
		return 0;
	if (hb_append(up, "", 1) != 0)
		return -1;
	up->val_started = false;
	up->val_off = up->hbuf_len;
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct px_h1up *up = P(p);
	if (up->head_done)
		return 0;
	up->val_started = true;
	return hb_append(up, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
	struct px_h1up *up = P(p);
	if (up->head_done)
		return 0;
	/* llhttp drops leading OWS; the trailing OWS goes here. */
	while (up->hbuf_len > up->val_off && (up->hbuf[up->hbuf_len - 1] == ' ' || up->hbuf[up->hbuf_len - 1] == '\t'))
		up->hbuf_len--;
	if (hb_append(up, "", 1) != 0)
		return -1;
	up->hdrs[up->nhdrs].name = up->hbuf + up->name_off;
	up->hdrs[up->nhdrs].value = up->hbuf + up->val_off;
	up->nhdrs++;
	up->name_off = up->hbuf_len;
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct px_h1up *up = P(p);
	int status = p->status_code;
	if (status < 200) {
		if (status == 101) {
			up->fail = PX_UP_PROTOCOL;
			snprintf(up->detail, sizeof(up->detail), "the upstream switched protocols (101)");
			return -1;
		}
		return 0; /* a 1xx: no body, the real head follows */
	}
	up->head_done = true;
	if (up->phase != PH_RECV && up->conn != NULL)
		req_set_phase(up, PH_RECV);
	if (up->h->on_head != NULL) {
		up->in_cb = true;
		up->h->on_head(up->arg, status, up->hdrs, up->nhdrs);
		up->in_cb = false;
		if (up->cancelled)
			return -1;
	}
	return up->head_req ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct px_h1up *up = P(p);
	int rv = 0;
	if (up->h->on_body != NULL) {
		up->in_cb = true;
		rv = up->h->on_body(up->arg, (const unsigned char *)at, len);
		up->in_cb = false;
	}
	if (up->cancelled)
		return -1;
	if (rv == PX_ERR_AGAIN) {
		up->recv_hold = true;
		return HPE_PAUSED;
	}
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct px_h1up *up = P(p);
	if (!up->head_done)
		return 0; /* the end of a 1xx */
	up->complete = true;
	return HPE_PAUSED;
}

static const llhttp_settings_t h1up_settings = {
	.on_message_begin = on_message_begin,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

enum feed_result {
	FEED_MORE,     /* all bytes taken: read more */
	FEED_PAUSED,   /* the caller paused: *used taken */
	FEED_COMPLETE, /* the final response ended: *used taken */
	FEED_FAIL,     /* up->fail says why */
	FEED_CANCELLED,
};

/* Gives |len| bytes to the parser. */
static enum feed_result req_feed(struct px_h1up *up, const unsigned char *data, size_t len, size_t *used)
{
	enum llhttp_errno e = llhttp_execute(&up->parser, (const char *)data, len);
	if (up->cancelled)
		return FEED_CANCELLED;
	if (e == HPE_OK) {
		*used = len;
		return FEED_MORE;
	}
	if (e == HPE_PAUSED) {
		*used = (size_t)((const unsigned char *)llhttp_get_error_pos(&up->parser) - data);
		llhttp_resume(&up->parser);
		if (up->complete)
			return FEED_COMPLETE;
		up->refeed = true;
		return FEED_PAUSED;
	}
	if (up->fail == PX_UP_OK) {
		up->fail = PX_UP_PROTOCOL;
		snprintf(up->detail, sizeof(up->detail), "the upstream's answer is not HTTP/1.1: %s",
		         llhttp_errno_name(e));
	}
	return FEED_FAIL;
}

/* The connection ended: a read-until-close body is complete, anything
 * else is cut short. */
static enum feed_result req_feed_eof(struct px_h1up *up)
{
	if (up->head_done && llhttp_message_needs_eof(&up->parser)) {
		enum llhttp_errno e = llhttp_finish(&up->parser);
		if (up->cancelled)
			return FEED_CANCELLED;
		if ((e == HPE_OK || e == HPE_PAUSED) && up->complete)
			return FEED_COMPLETE;
	}
	if (up->fail == PX_UP_OK) {
		up->fail = PX_UP_RESET;
		snprintf(up->detail, sizeof(up->detail), "%s",
		         up->got_byte ? "the upstream closed the connection before the answer was complete"
		                      : "the upstream closed the connection without answering");
	}
	return FEED_FAIL;
}

/* --- socket I/O ---------------------------------------------------------------- */

enum io_result { IO_OK, IO_AGAIN, IO_EOF, IO_ERR };

static enum io_result conn_recv(struct h1_conn *cn, size_t *n)
{
	if (cn->ssl != NULL) {
		int r = SSL_read(cn->ssl, cn->rbuf, (int)sizeof(cn->rbuf));
		if (r > 0) {
			*n = (size_t)r;
			return IO_OK;
		}
		switch (SSL_get_error(cn->ssl, r)) {
		case SSL_ERROR_WANT_READ: return IO_AGAIN;
		case SSL_ERROR_WANT_WRITE: cn->want_write = true; return IO_AGAIN;
		case SSL_ERROR_ZERO_RETURN: return IO_EOF;
		default: ERR_clear_error(); return IO_ERR;
		}
	}
	ssize_t r = recv(cn->fd, cn->rbuf, sizeof(cn->rbuf), 0);
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	if (r == 0)
		return IO_EOF;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? IO_AGAIN : IO_ERR;
}

static enum io_result conn_send(struct h1_conn *cn, const unsigned char *p, size_t len, size_t *n)
{
	if (cn->ssl != NULL) {
		int w = SSL_write(cn->ssl, p, len > (size_t)INT32_MAX ? INT32_MAX : (int)len);
		if (w > 0) {
			*n = (size_t)w;
			return IO_OK;
		}
		switch (SSL_get_error(cn->ssl, w)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE: return IO_AGAIN;
		default: ERR_clear_error(); return IO_ERR;
		}
	}
	ssize_t w = send(cn->fd, p, len, MSG_NOSIGNAL);
	if (w >= 0) {
		*n = (size_t)w;
		return IO_OK;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? IO_AGAIN : IO_ERR;
}

/* Watches what the request needs now: reading unless paused, writing
 * while staged bytes wait for room. */
static void conn_watch(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	int ev = (up->recv_hold ? 0 : EV_READ) | (cn->want_write ? EV_WRITE : 0);
	if (ev == cn->events && (ev == 0 || ev_is_active(&cn->io)))
		return;
	ev_io_stop(up->pool->loop, &cn->io);
	cn->events = ev;
	if (ev != 0) {
		ev_io_modify(&cn->io, ev);
		ev_io_start(up->pool->loop, &cn->io);
	}
}

static size_t put_hex(unsigned char *dst, size_t v)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char tmp[16];
	size_t n = 0;
	do {
		tmp[n++] = (unsigned char)digits[v & 15];
		v >>= 4;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/* Moves head and body bytes into the empty obuf, framing chunks. */
static void req_stage(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	size_t room = H1_OBUF, len = 0;
	unsigned char *o = cn->obuf;
	if (up->head_off < up->head_len) {
		size_t k = up->head_len - up->head_off < room ? up->head_len - up->head_off : room;
		memcpy(o, up->head + up->head_off, k);
		up->head_off += k;
		len = k;
		room -= k;
		if (up->head_off < up->head_len)
			goto out;
	}
	if (up->body_staged)
		goto out;
	if (up->body == PX_UP_BODY_NONE) {
		up->body_staged = true;
		goto out;
	}
	while (up->ring_len > 0 && room > 32) {
		size_t run = PX_UP_BODY_BUF - up->ring_off;
		if (run > up->ring_len)
			run = up->ring_len;
		size_t frame = up->body == PX_UP_BODY_CHUNKED ? 32 : 0;
		if (run > room - frame)
			run = room - frame;
		if (up->body == PX_UP_BODY_CHUNKED) {
			len += put_hex(o + len, run);
			o[len++] = '\r';
			o[len++] = '\n';
		}
		memcpy(o + len, up->ring + up->ring_off, run);
		len += run;
		if (up->body == PX_UP_BODY_CHUNKED) {
			o[len++] = '\r';
			o[len++] = '\n';
		}
		room = H1_OBUF > len ? H1_OBUF - len : 0;
		up->ring_off = (up->ring_off + run) % PX_UP_BODY_BUF;
		up->ring_len -= run;
		up->consumed += run;
		if (up->writable_wanted)
			req_kick(up);
	}
	if (up->ring_len == 0)
		up->ring_off = 0;
	if (up->body == PX_UP_BODY_LENGTH && up->consumed == up->body_length) {
		up->body_staged = true;
	} else if (up->body == PX_UP_BODY_CHUNKED && up->ended && up->ring_len == 0 && room >= 5) {
		memcpy(o + len, "0\r\n\r\n", 5);
		len += 5;
		up->body_staged = true;
	}
out:
	cn->ooff = 0;
	cn->olen = len;
}

/* Sends what can be sent now. Returns 0, or -1 after req_error(). */
static int req_send(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	for (;;) {
		if (cn->ooff == cn->olen) {
			req_stage(up);
			if (cn->olen == 0)
				break;
		}
		size_t n = 0;
		enum io_result r = conn_send(cn, cn->obuf + cn->ooff, cn->olen - cn->ooff, &n);
		if (r == IO_AGAIN) {
			cn->want_write = true;
			return 0;
		}
		if (r != IO_OK) {
			req_errno(up, PX_UP_RESET, "sending to the upstream", errno);
			return -1;
		}
		cn->ooff += n;
		up->last = ev_now(up->pool->loop);
	}
	cn->want_write = false;
	if (up->body_staged && !up->head_done && up->phase == PH_SEND)
		req_set_phase(up, PH_WAIT);
	return 0;
}

/* Reads and parses until the socket is empty, the caller pauses or the
 * answer ends; the last act of its caller (it may finish |up|). */
static void req_recv(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	/* The last read was short with nothing left inside TLS: the socket is
	 * most likely empty, and the (level-triggered) watcher says if not;
	 * asking again would cost a read(2) that meets EAGAIN. */
	bool drained = false;
	for (;;) {
		if (up->recv_hold)
			break;
		if (cn->roff == cn->rlen && up->refeed) {
			/* A pause at the last body byte: the end of the message
			 * is told by the parser's next run, with no new byte
			 * (none may ever come on a kept-alive connection). */
			up->refeed = false;
			size_t used = 0;
			enum feed_result f = req_feed(up, cn->rbuf + cn->roff, 0, &used);
			if (f == FEED_MORE || f == FEED_PAUSED)
				continue;
			if (f == FEED_COMPLETE)
				req_finish(up, PX_UP_OK, NULL);
			else if (f == FEED_CANCELLED)
				req_free(up);
			else
				req_finish(up, up->fail, up->detail);
			return;
		}
		if (cn->roff == cn->rlen) {
			if (drained)
				break;
			size_t n = 0;
			enum io_result r = conn_recv(cn, &n);
			if (r == IO_AGAIN)
				break;
			drained = r == IO_OK && n < sizeof(cn->rbuf) && (cn->ssl == NULL || !SSL_has_pending(cn->ssl));
			enum feed_result f;
			if (r == IO_OK) {
				if (!up->got_byte) {
					up->got_byte = true;
					if (up->phase != PH_RECV)
						req_set_phase(up, PH_RECV);
				}
				up->last = ev_now(up->pool->loop);
				cn->roff = 0;
				cn->rlen = n;
				continue;
			}
			if (r == IO_ERR && !up->got_byte) {
				req_errno(up, PX_UP_RESET, "reading from the upstream", errno);
				return;
			}
			f = req_feed_eof(up);
			if (f == FEED_COMPLETE) {
				req_finish(up, PX_UP_OK, NULL);
			} else if (f == FEED_CANCELLED) {
				req_free(up);
			} else if (up->fail == PX_UP_RESET && !up->got_byte) {
				up->fail = PX_UP_OK;
				req_error(up, PX_UP_RESET, up->detail);
			} else {
				req_finish(up, up->fail, up->detail);
			}
			return;
		}
		size_t used = 0;
		enum feed_result f = req_feed(up, cn->rbuf + cn->roff, cn->rlen - cn->roff, &used);
		cn->roff += used;
		switch (f) {
		case FEED_MORE: cn->roff = cn->rlen; continue;
		case FEED_PAUSED: continue;
		case FEED_COMPLETE: req_finish(up, PX_UP_OK, NULL); return;
		case FEED_CANCELLED: req_free(up); return;
		case FEED_FAIL: req_finish(up, up->fail, up->detail); return;
		}
	}
	conn_watch(up);
}

/* --- connecting ----------------------------------------------------------------- */

static int req_tls_start(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	char d[160];
	int rv = pool_ctx(up->pool, d, sizeof(d));
	if (rv != 0) {
		req_error(up, rv == PX_ERR_NOMEM ? PX_UP_NOMEM : PX_UP_TLS_VERIFY, d);
		return -1;
	}
	cn->ssl = SSL_new(up->pool->ctx);
	if (cn->ssl == NULL || SSL_set_fd(cn->ssl, cn->fd) != 1) {
		ERR_clear_error();
		req_error(up, PX_UP_NOMEM, "out of memory starting TLS");
		return -1;
	}
	SSL_set_app_data(cn->ssl, cn);
	/* One read(2) per burst rather than two per record; what OpenSSL
	 * holds is seen by SSL_has_pending() (req_conn_reusable()). */
	SSL_set_read_ahead(cn->ssl, 1);
	unsigned char tmp[sizeof(struct in6_addr)];
	bool literal = inet_pton(AF_INET, up->key.host, tmp) == 1 || inet_pton(AF_INET6, up->key.host, tmp) == 1;
	if (literal) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(cn->ssl), up->key.host);
	} else {
		SSL_set_tlsext_host_name(cn->ssl, up->key.host);
		SSL_set1_host(cn->ssl, up->key.host);
	}
	SSL_SESSION *s = pool_session(up->pool, &up->key);
	if (s != NULL)
		SSL_set_session(cn->ssl, s);
	SSL_set_connect_state(cn->ssl);
	return 0;
}

/* Moves the handshake on. Returns 1 when done, 0 to wait, -1 after
 * req_error(). */
static int req_handshake(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	int r = SSL_do_handshake(cn->ssl);
	if (r == 1)
		return 1;
	int e = SSL_get_error(cn->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		cn->want_write = e == SSL_ERROR_WANT_WRITE;
		int ev = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		ev_io_stop(up->pool->loop, &cn->io);
		ev_io_modify(&cn->io, ev);
		cn->events = ev;
		ev_io_start(up->pool->loop, &cn->io);
		return 0;
	}
	char d[192];
	long vr = SSL_get_verify_result(cn->ssl);
	if (vr != X509_V_OK) {
		snprintf(d, sizeof(d), "the upstream's certificate is not trusted: %s", X509_verify_cert_error_string(vr));
		ERR_clear_error();
		req_error(up, PX_UP_TLS_VERIFY, d);
		return -1;
	}
	unsigned long le = ERR_peek_last_error();
	char es[120] = "the connection closed";
	if (le != 0)
		ERR_error_string_n(le, es, sizeof(es));
	ERR_clear_error();
	snprintf(d, sizeof(d), "TLS handshake with the upstream failed: %s", es);
	req_error(up, PX_UP_TLS, d);
	return -1;
}

/* The connection is ready: send. */
static void req_ready(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	cn->connected = true;
	ev_io_stop(up->pool->loop, &cn->io);
	cn->events = 0;
	req_set_phase(up, PH_SEND);
	if (req_send(up) != 0)
		return;
	conn_watch(up);
}

/* Opens a new connection to the pinned address. Returns 0, or -1 after
 * req_error(). */
static int req_connect(struct px_h1up *up)
{
	struct h1_conn *cn = malloc(sizeof(*cn));
	if (cn == NULL) {
		req_error(up, PX_UP_NOMEM, "out of memory connecting");
		return -1;
	}
	memset(cn, 0, offsetof(struct h1_conn, rbuf));
	cn->pool = up->pool;
	cn->req = up;
	cn->key = up->key;
	cn->fd = -1;
	ev_init(&cn->io, conn_io_cb);
	ev_timer_init(&cn->idle_timer, conn_idle_timer_cb, 0., 0.);
	up->conn = cn;
	up->got_byte = false;
	llhttp_init(&up->parser, HTTP_RESPONSE, &h1up_settings);
	up->parser.data = up;
	req_set_phase(up, PH_CONNECT);
	cn->fd = socket(up->key.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cn->fd < 0) {
		req_errno(up, errno == ENOMEM || errno == ENOBUFS ? PX_UP_NOMEM : PX_UP_CONNECT, "socket", errno);
		return -1;
	}
	int one = 1;
	setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(cn->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (connect(cn->fd, (const struct sockaddr *)&up->key.addr, up->key.alen) != 0 && errno != EINPROGRESS) {
		req_errno(up, errno == ECONNREFUSED ? PX_UP_CONNECT_REFUSED : PX_UP_CONNECT, "connecting to the upstream",
		          errno);
		return -1;
	}
	ev_io_set(&cn->io, cn->fd, EV_WRITE);
	cn->events = EV_WRITE;
	ev_io_start(up->pool->loop, &cn->io);
	return 0;
}

/* The socket of a connection being made is writable: TCP is up (or not),
 * then TLS. */
static void req_connecting(struct px_h1up *up)
{
	struct h1_conn *cn = up->conn;
	if (cn->ssl == NULL) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
			err = errno;
		if (err == EINPROGRESS)
			return;
		if (err != 0) {
			req_errno(up, err == ECONNREFUSED ? PX_UP_CONNECT_REFUSED : PX_UP_CONNECT,
			          "connecting to the upstream", err);
			return;
		}
		if (!up->key.tls) {
			req_ready(up);
			return;
		}
		if (req_tls_start(up) != 0)
			return;
	}
	if (req_handshake(up) == 1)
		req_ready(up);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct h1_conn *cn = PX_CONTAINER_OF(w, struct h1_conn, io);
	struct px_h1up *up = cn->req;
	if (!cn->connected) {
		req_connecting(up);
		return;
	}
	if ((revents & EV_WRITE) || cn->want_write) {
		cn->want_write = false;
		if (req_send(up) != 0)
			return;
	}
	req_recv(up); /* last act */
}

static void req_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_h1up *up = PX_CONTAINER_OF(w, struct px_h1up, kick);
	if (up->cancelled) {
		req_free(up);
		return;
	}
	if (up->fail != PX_UP_OK) {
		req_finish(up, up->fail, up->detail);
		return;
	}
	struct h1_conn *cn = up->conn;
	if (up->writable_wanted && up->ring_len < PX_UP_BODY_BUF) {
		up->writable_wanted = false;
		if (up->h->on_writable != NULL) {
			/* Not the last act: it may cancel, and then the parser
			 * must not run; in_cb defers the free to here. */
			up->in_cb = true;
			up->h->on_writable(up->arg);
			up->in_cb = false;
			if (up->cancelled) {
				req_free(up);
				return;
			}
			if (up->fail != PX_UP_OK) {
				req_finish(up, up->fail, up->detail);
				return;
			}
		}
	}
	up->head_held = false;
	if (cn != NULL && cn->connected && up->head_off < up->head_len && !cn->want_write && cn->ooff == cn->olen) {
		/* The head px_h1up_start() held for a body that did not come. */
		if (req_send(up) != 0)
			return;
		conn_watch(up);
	}
	if (cn != NULL && cn->connected && !up->recv_hold)
		req_recv(up); /* last act: bytes kept while paused */
}

static void req_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct px_h1up *up = PX_CONTAINER_OF(w, struct px_h1up, timer);
	if (up->phase == PH_CONNECT) {
		req_finish(up, PX_UP_TIMEOUT_CONNECT, "no connection to the upstream within timeouts.upstream_connect");
		return;
	}
	if (up->phase == PH_WAIT) {
		req_finish(up, PX_UP_TIMEOUT_FIRST_BYTE, "no answer from the upstream within timeouts.upstream_first_byte");
		return;
	}
	double now = ev_now(loop);
	/* A client slow to send or to read is not the upstream's silence. */
	if (up->recv_hold || (up->phase == PH_SEND && up->ring_len == 0 && !up->conn->want_write))
		up->last = now;
	double left = up->last + up->idle - now;
	if (left > 0.) {
		ev_timer_set(&up->timer, left, 0.);
		ev_timer_start(loop, &up->timer);
		return;
	}
	req_finish(up, PX_UP_TIMEOUT_IDLE, "no bytes to or from the upstream within timeouts.upstream_idle");
}

/* --- the request head ------------------------------------------------------------ */

/* Splits "http[s]://host[:port]/path?query" into |k| (host, port, tls)
 * and the request target. */
static int url_parse(const char *url, struct h1_key *k, const char **target, const char **authority,
                     size_t *alen)
{
	const char *p;
	if (strncasecmp(url, "https://", 8) == 0) {
		k->tls = true;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		k->tls = false;
		p = url + 7;
	} else {
		return PX_ERR_INVALID;
	}
	size_t an = strcspn(p, "/?#");
	const char *end = p + an;
	if (an == 0 || memchr(p, '@', an) != NULL)
		return PX_ERR_INVALID;
	const char *h = p, *he;
	const char *port = NULL;
	if (*p == '[') {
		he = memchr(p, ']', an);
		if (he == NULL)
			return PX_ERR_INVALID;
		h = p + 1;
		if (he + 1 < end) {
			if (he[1] != ':')
				return PX_ERR_INVALID;
			port = he + 2;
		}
	} else {
		he = memchr(p, ':', an);
		if (he != NULL)
			port = he + 1;
		else
			he = end;
	}
	size_t hl = (size_t)(he - h);
	if (hl == 0 || hl > H1_MAX_HOST)
		return PX_ERR_INVALID;
	for (size_t i = 0; i < hl; i++) {
		char c = h[i];
		if ((unsigned char)c <= ' ' || c == 0x7f)
			return PX_ERR_INVALID;
		k->host[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	k->host[hl] = '\0';
	k->hlen = hl;
	unsigned v = k->tls ? 443 : 80;
	if (port != NULL && port < end) {
		v = 0;
		for (const char *q = port; q < end; q++) {
			if (*q < '0' || *q > '9' || v > 6553)
				return PX_ERR_INVALID;
			v = v * 10 + (unsigned)(*q - '0');
		}
		if (v == 0 || v > 65535)
			return PX_ERR_INVALID;
		/* Host leaves out a default port, as libcurl does. */
		if (v == (k->tls ? 443u : 80u))
			an = (size_t)(port - 1 - p);
	}
	k->port = (uint16_t)v;
	*target = end;
	*authority = p;
	*alen = an;
	return 0;
}

/* Makes room for |n| more bytes after |len| in the head. */
static int head_room(struct px_h1up *up, size_t len, size_t n)
{
	if (n > PX_H1UP_MAX_HEAD - len)
		return PX_ERR_INVALID;
	if (len + n > H1_HEAD_INLINE && up->head == up->head_inline) {
		/* Rare: signed heads are a few KiB. Room for the rest at once. */
		char *big = malloc(PX_H1UP_MAX_HEAD);
		if (big == NULL)
			return PX_ERR_NOMEM;
		memcpy(big, up->head, len);
		up->head = big;
	}
	return 0;
}

static int head_put(struct px_h1up *up, size_t *len, const char *s, size_t n)
{
	int rv = head_room(up, *len, n);
	if (rv != 0)
		return rv;
	memcpy(up->head + *len, s, n);
	*len += n;
	return 0;
}

/* "name: value\r\n" (a bare "name:" for an empty value) with one bound
 * check: four head_put() calls per field were ~1,500 instructions a
 * request. */
static int head_field(struct px_h1up *up, size_t *len, const char *name, size_t nl, const char *value, size_t vl)
{
	int rv = head_room(up, *len, nl + vl + 4);
	if (rv != 0)
		return rv;
	char *o = up->head + *len;
	memcpy(o, name, nl);
	o += nl;
	*o++ = ':';
	if (vl > 0) {
		*o++ = ' ';
		memcpy(o, value, vl);
		o += vl;
	}
	*o++ = '\r';
	*o++ = '\n';
	*len = (size_t)(o - up->head);
	return 0;
}

static bool field_ok(const char *s, size_t n)
{
	/* memchr() scans a vector at a time: a loop over the bytes was about
	 * 4,500 instructions of a request's 1.5 KiB of headers. */
	return memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL;
}

static bool name_is(const char *name, size_t nl, const char *lit, size_t ll)
{
	return nl == ll && strncasecmp(name, lit, ll) == 0;
}

static int req_build_head(struct px_h1up *up, const struct px_upstream_request *req, const char *target,
                          const char *authority, size_t alen)
{
	size_t len = 0;
	int rv;
	size_t ml = strlen(req->method);
	if (!field_ok(req->method, ml) || strpbrk(req->method, " \t") != NULL)
		return PX_ERR_INVALID;
	size_t tl = strcspn(target, "#");
	if (!field_ok(target, tl) || memchr(target, ' ', tl) != NULL)
		return PX_ERR_INVALID;
	if ((rv = head_put(up, &len, req->method, ml)) != 0 || (rv = head_put(up, &len, " ", 1)) != 0)
		return rv;
	if (tl == 0 || target[0] == '?')
		if ((rv = head_put(up, &len, "/", 1)) != 0)
			return rv;
	if ((rv = head_put(up, &len, target, tl)) != 0 || (rv = head_put(up, &len, " HTTP/1.1\r\n", 11)) != 0)
		return rv;
	bool have_host = false;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct px_up_header *hd = &req->headers[i];
		if (hd->name == NULL || hd->value == NULL)
			return PX_ERR_INVALID;
		size_t nl = strlen(hd->name), vl = strlen(hd->value);
		if (nl == 0 || !field_ok(hd->name, nl) || !field_ok(hd->value, vl) || memchr(hd->name, ':', nl) != NULL ||
		    nl + 2 + vl >= PX_UP_MAX_REQUEST_HEADER + 1)
			return PX_ERR_INVALID;
		if (name_is(hd->name, nl, "content-length", 14) || name_is(hd->name, nl, "transfer-encoding", 17) ||
		    name_is(hd->name, nl, "expect", 6))
			continue;
		if (name_is(hd->name, nl, "host", 4))
			have_host = true;
		if ((rv = head_field(up, &len, hd->name, nl, hd->value, vl)) != 0)
			return rv;
	}
	if (!have_host && (rv = head_field(up, &len, "Host", 4, authority, alen)) != 0)
		return rv;
	if (req->body == PX_UP_BODY_LENGTH) {
		/* px_dec(): snprintf() was a tenth of building the head. */
		char digits[PX_DEC_MAX];
		size_t n = px_dec(digits, req->body_length);
		if ((rv = head_field(up, &len, "Content-Length", 14, digits, n)) != 0)
			return rv;
	} else if (req->body == PX_UP_BODY_CHUNKED) {
		if ((rv = head_put(up, &len, "Transfer-Encoding: chunked\r\n", 28)) != 0)
			return rv;
	}
	if ((rv = head_put(up, &len, "\r\n", 2)) != 0)
		return rv;
	up->head_len = len;
	return 0;
}

/* --- the API ----------------------------------------------------------------------- */

int px_h1up_start(struct px_curl *c, const struct px_upstream_request *req, const struct px_upstream_handler *h,
                  void *arg, struct px_h1up **out)
{
	if (req->method == NULL || req->url == NULL || req->method[0] == '\0' || h == NULL || req->addr == NULL)
		return PX_ERR_INVALID;
	if (req->addr->sa_family != AF_INET && req->addr->sa_family != AF_INET6)
		return PX_ERR_INVALID;
	struct px_h1up_pool *p = pool_of(c);
	if (p == NULL)
		return PX_ERR_NOMEM;
	struct px_h1up *up = malloc(sizeof(*up));
	if (up == NULL)
		return PX_ERR_NOMEM;
	memset(up, 0, offsetof(struct px_h1up, hdrs));
	up->tag = PX_H1UP_TAG;
	up->pool = p;
	up->h = h;
	up->arg = arg;
	up->head = up->head_inline;
	up->body = req->body;
	up->body_length = req->body_length;
	up->head_req = strcmp(req->method, "HEAD") == 0;
	up->connect_s = (double)(req->connect_timeout_ms ? req->connect_timeout_ms : 10000) / 1000.0;
	up->first_byte = (double)(req->first_byte_timeout_ms ? req->first_byte_timeout_ms : 60000) / 1000.0;
	up->idle = (double)(req->idle_timeout_ms ? req->idle_timeout_ms : 300000) / 1000.0;
	ev_timer_init(&up->timer, req_timer_cb, 0., 0.);
	ev_timer_init(&up->kick, req_kick_cb, 0., 0.);
	const char *target, *authority;
	size_t alen;
	int rv = url_parse(req->url, &up->key, &target, &authority, &alen);
	if (rv != 0)
		goto fail;
	if (req->addr->sa_family == AF_INET) {
		struct sockaddr_in a;
		memcpy(&a, req->addr, sizeof(a));
		if (a.sin_port == 0)
			a.sin_port = htons(up->key.port);
		up->key.port = ntohs(a.sin_port);
		memcpy(&up->key.addr, &a, sizeof(a));
		up->key.alen = sizeof(a);
	} else {
		struct sockaddr_in6 a;
		memcpy(&a, req->addr, sizeof(a));
		if (a.sin6_port == 0)
			a.sin6_port = htons(up->key.port);
		up->key.port = ntohs(a.sin6_port);
		memcpy(&up->key.addr, &a, sizeof(a));
		up->key.alen = sizeof(a);
	}
	key_hash(&up->key);
	if ((rv = req_build_head(up, req, target, authority, alen)) != 0)
		goto fail;
	if (req->body != PX_UP_BODY_NONE) {
		up->ring = p->spare_ring != NULL ? p->spare_ring : malloc(PX_UP_BODY_BUF);
		p->spare_ring = NULL;
		if (up->ring == NULL) {
			rv = PX_ERR_NOMEM;
			goto fail;
		}
	}
	struct h1_conn *cn = pool_take(p, &up->key);
	if (cn != NULL) {
		cn->req = up;
		ev_set_cb(&cn->io, conn_io_cb);
		ev_io_stop(p->loop, &cn->io);
		cn->events = 0;
		up->conn = cn;
		llhttp_init(&up->parser, HTTP_RESPONSE, &h1up_settings);
		up->parser.data = up;
		req_set_phase(up, PH_SEND);
		if (req_holds_head(up)) {
			up->head_held = true;
			/* The body follows at once (px_h1up_write() sends the
			 * head with it: one TLS record, one write(2), one
			 * wake-up of the upstream); the kick sends the head
			 * alone if it does not. */
			req_kick(up);
		} else if (req_send(up) == 0) {
			/* Writing now costs no callback: errors are
			 * recorded and reported from the loop. */
			conn_watch(up);
		}
	} else {
		req_connect(up); /* errors go through the kick */
	}
	*out = up;
	return 0;
fail:
	req_free(up);
	return rv;
}

int px_h1up_write(struct px_h1up *up, const void *data, size_t len)
{
	if (up->body == PX_UP_BODY_NONE || up->ended || up->cancelled)
		return PX_ERR_STATE;
	if (up->body == PX_UP_BODY_LENGTH && len > up->body_length - up->written)
		return PX_ERR_INVALID;
	if (len == 0)
		return 0;
	size_t room = PX_UP_BODY_BUF - up->ring_len;
	if (room == 0) {
		up->writable_wanted = true;
		return PX_ERR_AGAIN;
	}
	size_t take = len < room ? len : room;
	px_up_ring_put(up->ring, up->ring_off, &up->ring_len, data, take);
	up->written += take;
	if (take < len)
		up->writable_wanted = true;
	if (up->head_held) {
		/* The head goes with this body now: the kick armed for it
		 * alone would only cost the loop a round. */
		up->head_held = false;
		if (!up->writable_wanted && up->fail == PX_UP_OK)
			ev_timer_stop(up->pool->loop, &up->kick);
	}
	struct h1_conn *cn = up->conn;
	if (cn != NULL && cn->connected && up->fail == PX_UP_OK && !cn->want_write && cn->ooff == cn->olen &&
	    req_send(up) == 0)
		conn_watch(up);
	return (int)take;
}

int px_h1up_end(struct px_h1up *up)
{
	if (up->body == PX_UP_BODY_NONE || up->ended || up->cancelled)
		return PX_ERR_STATE;
	if (up->body == PX_UP_BODY_LENGTH && up->written != up->body_length)
		return PX_ERR_INVALID;
	up->ended = true;
	struct h1_conn *cn = up->conn;
	if (cn != NULL && cn->connected && up->fail == PX_UP_OK && !cn->want_write && cn->ooff == cn->olen &&
	    req_send(up) == 0)
		conn_watch(up);
	return 0;
}

void px_h1up_resume(struct px_h1up *up)
{
	if (up->cancelled || !up->recv_hold)
		return;
	up->recv_hold = false;
	/* The pause was the client's time: the idle clock starts again now
	 * (an idle timer due at the same moment must not count the pause). */
	up->last = ev_now(up->pool->loop);
	req_kick(up); /* the bytes kept go to on_body from the loop */
}

void px_h1up_cancel(struct px_h1up *up)
{
	if (up == NULL || up->cancelled || up->in_done)
		return;
	up->cancelled = true;
	if (up->in_cb) {
		/* Inside our parser: it stops, and the code that called the
		 * callback frees the request. */
		ev_timer_stop(up->pool->loop, &up->timer);
		return;
	}
	req_free(up);
}

/* --- the fuzz target's entry --------------------------------------------------- */

static void pt_head(void *arg, int status, const struct px_up_header *hdrs, size_t n)
{
	size_t *sum = arg;
	*sum += (size_t)status;
	for (size_t i = 0; i < n; i++)
		*sum += strlen(hdrs[i].name) + strlen(hdrs[i].value);
}

static int pt_body(void *arg, const unsigned char *data, size_t len)
{
	size_t *sum = arg;
	*sum += len;
	if (len > 0) /* the bytes must be readable: ASan checks */
		*sum += data[0] + data[len - 1];
	return (len & 1) ? PX_ERR_AGAIN : 0; /* pause now and then, as a slow client */
}

static const struct px_upstream_handler pt_handler = {pt_head, pt_body, NULL, NULL};

enum px_up_error px_h1up_parse_test(const unsigned char *data, size_t len, int head, size_t piece)
{
	struct px_h1up *up = malloc(sizeof(*up));
	if (up == NULL)
		return PX_UP_NOMEM;
	size_t sum = 0;
	memset(up, 0, offsetof(struct px_h1up, hdrs));
	up->h = &pt_handler;
	up->arg = &sum;
	up->head_req = head != 0;
	llhttp_init(&up->parser, HTTP_RESPONSE, &h1up_settings);
	up->parser.data = up;
	enum px_up_error err = PX_UP_RESET;
	size_t off = 0;
	if (piece == 0)
		piece = 1;
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece, used = 0;
		enum feed_result f = req_feed(up, data + off, n, &used);
		if (f == FEED_MORE) {
			off += n;
			continue;
		}
		off += used;
		up->recv_hold = false;
		if (f == FEED_PAUSED) {
			/* As req_recv(): the parser's next run, even with no byte. */
			up->refeed = false;
			f = req_feed(up, data + off, 0, &used);
			if (f == FEED_MORE || f == FEED_PAUSED)
				continue;
		}
		err = f == FEED_COMPLETE ? PX_UP_OK : up->fail;
		goto out;
	}
	err = req_feed_eof(up) == FEED_COMPLETE ? PX_UP_OK : up->fail;
out:
	free(up);
	return err;
}
