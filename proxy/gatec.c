/* SPDX-License-Identifier: Apache-2.0 */
/* gatec.c: the local proxy's HTTP/2 client of the gate: one mTLS connection, many streams, bounded both ways. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gatec.h"
#include "resolve.h"

/*
 * Flow control (docs/LPROXY.md, "The gate connection"). Every stream may
 * have PX_GATEC_STREAM_WINDOW bytes in flight from the gate; they are
 * acknowledged (nghttp2_session_consume) only once the caller took them,
 * so a paused stream holds at most that much here. The connection window
 * is larger so that a few paused streams do not stop the others.
 */
#define PX_GATEC_STREAM_WINDOW (256 * 1024)
#define PX_GATEC_CONN_WINDOW (16 * 1024 * 1024)
#define PX_GATEC_READ_BUF 16384         /* TLS bytes read per SSL_read */
#define PX_GATEC_READ_AHEAD 65536       /* OpenSSL's read buffer: TLS bytes taken from the socket per read() */
#define PX_GATEC_WRITE_BUF 16384        /* frames gathered for one SSL_write: one TLS record, one write() */
#define PX_GATEC_KICK_ROUNDS 64         /* kicks run back to back before the loop is let to poll */
#define PX_GATEC_MAX_RETRIES 3          /* new connections tried for a request the gate refused */
#define PX_GATEC_BACKOFF_MIN 0.1        /* seconds before reconnecting after a failed connection */
#define PX_GATEC_BACKOFF_MAX 5.0
#define PX_GATEC_MAX_REQUEST_BYTES 65536 /* method, path and header bytes of one request */
#define PX_GATEC_VERSION_MAX 64         /* bytes of x-awsgate-version kept */
#define PX_GATEC_DETAIL 320
#define PX_GATEC_SPARE 4                /* finished requests kept, with their buffers, for the next ones */
#define PX_GATEC_NVA_MIN 4096           /* bytes of a request's header block made at least (grown for more) */

#define CERT_ADVICE "log in again (awsgate login)"

/* A list of requests: the queue, a connection's streams, the finished
 * streams still delivering what they kept. */
struct rq_list {
	struct px_gatec_request *head, *tail;
	size_t n;
};

struct px_gatec_request {
	struct px_gatec *gc;
	struct gc_conn *conn; /* while submitted on it, or draining what it sent */
	struct px_gatec_request *prev, *next; /* in |list| */
	struct rq_list *list;                 /* NULL, gc->queue, gc->draining or conn->streams */
	struct px_gatec_request *zombie_next; /* also the link of gc->spare */
	const struct px_gatec_handler *h;
	void *arg;
	int32_t sid;
	int retries;

	size_t nnv;

	enum px_up_body body;
	uint64_t body_length, written, sent;
	size_t whead, wlen;

	int status;
	size_t nh, hbytes;
	int hdr_over;

	unsigned char *rbuf; /* body bytes that came while paused, at most the stream window */
	size_t rhead, rlen;

	ev_timer timer;
	double last; /* the stream's last activity (ev_now) */

	unsigned ended : 1, sent_all : 1, head : 1, remote_ended : 1, paused : 1, want_writable : 1,
		notify_writable : 1, want_drain : 1, cancelled : 1, done : 1, live : 1, zombie : 1;

	/* Kept when the request is reused (gc->spare): a new request clears
	 * the fields above only, and finds these buffers already made. */
	nghttp2_nv *nva; /* with their bytes, one block of |nva_cap| bytes, kept for a retry */
	size_t nva_cap;
	unsigned char *wbuf; /* ring of PX_GATEC_BODY_BUF bytes, made at the first write */
	char *hmem; /* PX_UP_MAX_HEADER_BYTES + NULs, made for the first head */
	struct px_up_header hdrs[PX_UP_MAX_HEADERS]; /* |nh| valid */
};

enum gc_state { GC_DNS, GC_TCP, GC_TLS, GC_H2 };

struct gc_conn {
	struct px_gatec *gc;
	int fd;
	enum gc_state state;
	ev_io io;
	ev_timer ctimer; /* connect timeout: the lookup, TCP and TLS */
	struct px_resolve_query *dns; /* the gate's name being looked up (GC_DNS) */
	struct px_resolve_answer ans; /* its addresses, the gate's port set in each */
	size_t cur;                   /* the one being connected to */
	SSL *ssl;
	nghttp2_session *sess;
	struct rq_list streams; /* submitted and open */
	const uint8_t *pend; /* mem_send's bytes not yet copied to |wbuf| */
	size_t pend_len;
	/* Frames gathered so that a loop round's HEADERS, DATA and
	 * WINDOW_UPDATEs leave in one TLS record and one write(). */
	unsigned char wbuf[PX_GATEC_WRITE_BUF];
	size_t woff, wlen;
	int want_write;
	int events; /* of |io| */
	int ready;    /* the gate's SETTINGS came */
	int goaway;   /* received */
	int32_t goaway_last;
	int retired;  /* takes no new stream (GOAWAY, or it went quiet): closed once its streams end */
	struct gc_conn *next_retired;
	int dead;
	int in_recv;
	int err;
	char detail[PX_GATEC_DETAIL];
	double last_read;
};

struct px_gatec {
	struct ev_loop *loop;
	char *gate, *host;
	int host_is_ip;
	char *cert_file, *key_file, *ca_file;
	struct stat cert_st, key_st;
	SSL_CTX *ctx;
	uint16_t port_num;
	struct px_resolve_loop *rl; /* the caller's, or |own_rl| */
	struct px_resolver *own_res; /* made when the caller gave no resolver and the gate is a name */
	struct px_resolve_loop *own_rl;
	double connect_to, first_byte_to, idle_to;
	struct gc_conn *conn;    /* the one new streams go to */
	struct gc_conn *retired; /* older ones finishing their streams */
	struct rq_list queue;    /* waiting for a connection or a stream slot */
	struct rq_list draining; /* closed streams still delivering kept bytes */
	struct px_gatec_request *zombies;
	struct px_gatec_request *spare; /* finished, cleared at reuse; at most PX_GATEC_SPARE */
	size_t nspare;
	ev_timer kick; /* fed (run right after the current callback), or started at 0 s outside the loop */
	unsigned kick_iter, kick_runs;
	ev_timer retry;
	double backoff, next_connect;
	int cert_refused;
	int closing;
	char cert_detail[PX_GATEC_DETAIL];
	char version[PX_GATEC_VERSION_MAX];
	int have_version;
};

/*
 * Asks for gc_kick_cb(), which does the client's deferred work: start queued
 * requests, run events, write what nghttp2 has to send. Inside the loop it is
 * fed as an event, so it runs as soon as the current callback returns, in
 * the same loop round: no extra poll with a zero timeout, and what that
 * callback queued (a request's HEADERS and its body) leaves together. A
 * zero timer serves outside the loop, and after PX_GATEC_KICK_ROUNDS kicks in
 * one round (so that a kick that keeps asking for another cannot keep the
 * loop from polling).
 */
static void gc_kick(struct px_gatec *gc)
{
	if (ev_is_pending(&gc->kick))
		return;
	if (ev_depth(gc->loop) > 0 && (gc->kick_iter != ev_iteration(gc->loop) || gc->kick_runs < PX_GATEC_KICK_ROUNDS)) {
		ev_feed_event(gc->loop, &gc->kick, EV_TIMER);
		return;
	}
	if (!ev_is_active(&gc->kick)) {
		ev_timer_set(&gc->kick, 0., 0.);
		ev_timer_start(gc->loop, &gc->kick);
	}
}

/* --- the client certificate ---------------------------------------------- */

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void ssl_errstr(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char es[200];

	if (e != 0)
		ERR_error_string_n(e, es, sizeof(es));
	else
		snprintf(es, sizeof(es), "unknown error");
	snprintf(buf, len, "%s: %s", what, es);
	ERR_clear_error();
}

/* Makes the TLS context from the files: the certificate and key must
 * match, the CA must load. */
static int ctx_load(struct px_gatec *gc, char *err, size_t errlen)
{
	static const unsigned char alpn[] = {2, 'h', '2'};
	SSL_CTX *ctx;
	struct stat cs, ks;
	char what[300];

	if (stat(gc->cert_file, &cs) != 0 || stat(gc->key_file, &ks) != 0) {
		snprintf(err, errlen, "%s or %s: %s: " CERT_ADVICE, gc->cert_file, gc->key_file, strerror(errno));
		return PX_ERR_INVALID;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		ssl_errstr(err, errlen, "SSL_CTX_new");
		return PX_ERR_INVALID;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One read() takes what the gate sent, several records at once; the
	 * buffers are kept (one connection): no malloc per request. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, PX_GATEC_READ_AHEAD);
	if (SSL_CTX_use_certificate_chain_file(ctx, gc->cert_file) != 1) {
		snprintf(what, sizeof(what), "client certificate %s", gc->cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, gc->key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(err, errlen, "the key %s does not match the certificate %s: " CERT_ADVICE,
				 gc->key_file, gc->cert_file);
			SSL_CTX_free(ctx);
			return PX_ERR_INVALID;
		}
		snprintf(what, sizeof(what), "client key %s", gc->key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "%s does not match %s", gc->key_file, gc->cert_file);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, gc->ca_file, NULL) != 1) {
		snprintf(what, sizeof(what), "the gate's CA %s", gc->ca_file);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0) {
		snprintf(what, sizeof(what), "ALPN");
		goto fail;
	}
	SSL_CTX_free(gc->ctx);
	gc->ctx = ctx;
	gc->cert_st = cs;
	gc->key_st = ks;
	return 0;
fail:
	ssl_errstr(err, errlen, what);
	SSL_CTX_free(ctx);
	return PX_ERR_INVALID;
}

/*
 * Before each connection: reloads the certificate if `awsgate login`
 * replaced it, and refuses one that has expired (the gate would only
 * answer with an alert). Returns 0, or PX_GATEC_CERT with |detail|.
 */
static int cert_check(struct px_gatec *gc, char *detail, size_t len)
{
	struct stat cs, ks;
	X509 *x;

	if (stat(gc->cert_file, &cs) == 0 && stat(gc->key_file, &ks) == 0 &&
	    (!same_file(&cs, &gc->cert_st) || !same_file(&ks, &gc->key_st))) {
		if (ctx_load(gc, detail, len) != 0)
			return PX_GATEC_CERT; /* what is wrong with the files, and the advice */
		gc->cert_refused = 0; /* a new certificate: the gate may take it */
	}
	if (gc->cert_refused) {
		snprintf(detail, len, "%s", gc->cert_detail);
		return PX_GATEC_CERT;
	}
	x = SSL_CTX_get0_certificate(gc->ctx);
	if (x != NULL && X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		char when[64] = "?";
		BIO *b = BIO_new(BIO_s_mem());
		if (b != NULL) {
			if (ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1) {
				int n = BIO_read(b, when, (int)sizeof(when) - 1);
				when[n > 0 ? n : 0] = '\0';
			}
			BIO_free(b);
		}
		snprintf(detail, len, "your certificate %s expired on %s: " CERT_ADVICE, gc->cert_file, when);
		return PX_GATEC_CERT;
	}
	return 0;
}

/* --- requests: lists and ends -------------------------------------------- */

static void rq_unlink(struct px_gatec_request *rq)
{
	struct rq_list *l = rq->list;

	if (l == NULL)
		return;
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		l->head = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	else
		l->tail = rq->prev;
	l->n--;
	rq->prev = rq->next = NULL;
	rq->list = NULL;
}

static void rq_link(struct px_gatec_request *rq, struct rq_list *l, int front)
{
	rq->list = l;
	if (front) {
		rq->prev = NULL;
		rq->next = l->head;
		if (l->head)
			l->head->prev = rq;
		else
			l->tail = rq;
		l->head = rq;
	} else {
		rq->next = NULL;
		rq->prev = l->tail;
		if (l->tail)
			l->tail->next = rq;
		else
			l->head = rq;
		l->tail = rq;
	}
	l->n++;
}

/*
 * Ends |rq|'s life: kept on gc->spare for the next request (its header
 * block, body ring and head buffer stay made, so a request costs no
 * malloc and touches the same memory as the one before), or freed when
 * enough are kept or the client is closing. The paused-stream buffer
 * (256 KiB) is never kept.
 */
static void rq_destroy(struct px_gatec_request *rq)
{
	free(rq->rbuf);
	free(rq->nva);
	free(rq->wbuf);
	free(rq->hmem);
	free(rq);
}

static void rq_free(struct px_gatec_request *rq)
{
	struct px_gatec *gc = rq->gc;

	free(rq->rbuf); /* never kept */
	rq->rbuf = NULL;
	if (gc != NULL && !gc->closing && gc->nspare < PX_GATEC_SPARE) {
		rq->zombie_next = gc->spare;
		gc->spare = rq;
		gc->nspare++;
		return;
	}
	rq_destroy(rq);
}

/* A request with room for |nvbytes| of header block: a spare one with its
 * per-request fields cleared, or a new one. NULL when out of memory. */
static struct px_gatec_request *rq_alloc(struct px_gatec *gc, size_t nvbytes)
{
	struct px_gatec_request *rq = gc->spare;

	if (rq != NULL) {
		gc->spare = rq->zombie_next;
		gc->nspare--;
		memset(rq, 0, offsetof(struct px_gatec_request, nva));
	} else if ((rq = calloc(1, sizeof(*rq))) == NULL) {
		return NULL;
	}
	rq->gc = gc;
	if (rq->nva_cap < nvbytes) {
		size_t cap = nvbytes < PX_GATEC_NVA_MIN ? PX_GATEC_NVA_MIN : nvbytes;
		nghttp2_nv *nva = malloc(cap);

		if (nva == NULL) {
			rq_free(rq);
			return NULL;
		}
		free(rq->nva);
		rq->nva = nva;
		rq->nva_cap = cap;
	}
	return rq;
}

/* The caller is done with |rq| (on_done called, or cancelled): it is freed
 * from the loop once nghttp2 no longer knows it. */
static void rq_release(struct px_gatec_request *rq)
{
	ev_timer_stop(rq->gc->loop, &rq->timer);
	if (rq->rlen > 0 && rq->conn != NULL && rq->conn->sess != NULL && !rq->conn->dead) {
		/* Kept bytes nobody will take: give their room back to the
		 * connection's window, or it shrinks with every such cancel. */
		nghttp2_session_consume(rq->conn->sess, rq->sid, rq->rlen);
		rq->rlen = 0;
		gc_kick(rq->gc);
	}
	if (!rq->live && !rq->zombie) {
		rq_unlink(rq);
		rq->conn = NULL;
		rq->zombie = 1;
		rq->zombie_next = rq->gc->zombies;
		rq->gc->zombies = rq;
		gc_kick(rq->gc);
	}
}

/* Ends |rq| for its caller with |err| (0: the whole answer came). */
static void rq_finish(struct px_gatec_request *rq, int err, const char *detail)
{
	if (rq->done || rq->cancelled)
		return;
	rq->done = 1;
	if (rq->live && rq->conn != NULL && (!rq->sent_all || !rq->remote_ended)) {
		/* The gate may still send or wait for body bytes: stop it. */
		nghttp2_submit_rst_stream(rq->conn->sess, NGHTTP2_FLAG_NONE, rq->sid, NGHTTP2_CANCEL);
		gc_kick(rq->gc);
	}
	rq_release(rq);
	rq->h->on_done(rq->arg, err, err == 0 ? NULL : detail);
}

static void rq_touch(struct px_gatec_request *rq)
{
	rq->last = ev_now(rq->gc->loop);
}

/* Delivers what the paused stream kept, then the end. From the loop. */
static void rq_drain(struct px_gatec_request *rq)
{
	struct gc_conn *c = rq->conn;

	while (rq->rlen > 0 && !rq->paused && !rq->done && !rq->cancelled) {
		size_t n = rq->rlen;
		int rv;

		if (rq->rhead + n > PX_GATEC_STREAM_WINDOW)
			n = PX_GATEC_STREAM_WINDOW - rq->rhead;
		rq->rhead = (rq->rhead + n) % PX_GATEC_STREAM_WINDOW;
		rq->rlen -= n;
		if (c != NULL && c->sess != NULL && !c->dead) {
			nghttp2_session_consume(c->sess, rq->sid, n);
			gc_kick(rq->gc);
		}
		rv = rq->h->on_body(rq->arg, rq->rbuf + (rq->rhead + PX_GATEC_STREAM_WINDOW - n) % PX_GATEC_STREAM_WINDOW,
				    n);
		if (rv == PX_ERR_AGAIN)
			rq->paused = 1;
		rq_touch(rq);
	}
	if (rq->rlen == 0 && rq->remote_ended && !rq->paused)
		rq_finish(rq, PX_UP_OK, NULL);
}

/* --- the connection ------------------------------------------------------- */

static void conn_fail(struct gc_conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void conn_fail(struct gc_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (c->dead)
		return;
	c->dead = 1;
	c->err = err;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	ev_io_stop(c->gc->loop, &c->io);
	ev_timer_stop(c->gc->loop, &c->ctimer);
	px_resolve_cancel(c->dns); /* no answer for a dead connection */
	c->dns = NULL;
	gc_kick(c->gc);
}

static void conn_set_events(struct gc_conn *c, int events)
{
	if (c->dead || c->fd < 0)
		return;
	if (ev_is_active(&c->io) && c->events == events)
		return;
	c->events = events;
	ev_io_stop(c->gc->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->gc->loop, &c->io);
}

/* Classifies a failed SSL call: the gate's alerts about our certificate
 * are PX_GATEC_CERT, a gate we do not trust PX_UP_TLS_VERIFY. */
static void conn_ssl_fail(struct gc_conn *c, int ret, const char *what)
{
	int se = SSL_get_error(c->ssl, ret);
	unsigned long e = ERR_peek_last_error();
	char es[200];

	if (se == SSL_ERROR_ZERO_RETURN || (se == SSL_ERROR_SYSCALL && e == 0)) {
		int en = errno;
		ERR_clear_error();
		if (se == SSL_ERROR_SYSCALL && ret < 0 && en != 0)
			conn_fail(c, PX_UP_RESET, "%s: %s", what, strerror(en));
		else
			conn_fail(c, PX_UP_RESET, "%s: the gate closed the connection", what);
		return;
	}
	es[0] = '\0';
	if (e != 0)
		ERR_error_string_n(e, es, sizeof(es));
	ERR_clear_error();
	if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
		switch (ERR_GET_REASON(e)) {
		case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
		case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
		case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
		case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
		case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
			conn_fail(c, PX_GATEC_CERT, "the gate refused your certificate (%s): " CERT_ADVICE,
				  ERR_reason_error_string(e) ? ERR_reason_error_string(e) : es);
			return;
		case SSL_R_CERTIFICATE_VERIFY_FAILED: {
			long vr = SSL_get_verify_result(c->ssl);
			conn_fail(c, PX_UP_TLS_VERIFY, "the gate %s is not trusted: %s (CA file %s)", c->gc->gate,
				  X509_verify_cert_error_string(vr), c->gc->ca_file);
			return;
		}
		default:
			break;
		}
	}
	conn_fail(c, c->state == GC_H2 ? PX_UP_RESET : PX_UP_TLS, "%s: %s", what, es[0] ? es : "TLS error");
}

/*
 * Before an SSL call whose failure SSL_get_error() will classify: that
 * needs an empty error queue. Every failure path clears what it left, so
 * the queue is nearly always empty already; peeking costs a fraction of
 * ERR_clear_error(), which walks all of the queue's slots, and this runs
 * for every read and write.
 */
static void err_queue_empty(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

/* Writes what nghttp2 has to send until the socket is full. */
static void conn_flush(struct gc_conn *c)
{
	if (c->dead || c->state != GC_H2 || c->in_recv)
		return;
	c->want_write = 0;
	for (;;) {
		int n;

		if (c->woff > 0) {
			/* What SSL_write has not taken moves to the front
			 * (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: same bytes, new
			 * place), making room behind it. */
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
		}
		while (c->wlen < sizeof(c->wbuf)) {
			size_t k;

			if (c->pend_len == 0) {
				ssize_t m = nghttp2_session_mem_send(c->sess, &c->pend);
				if (m < 0) {
					conn_fail(c, PX_UP_PROTOCOL, "HTTP/2: %s", nghttp2_strerror((int)m));
					return;
				}
				if (m == 0)
					break;
				c->pend_len = (size_t)m;
			}
			k = c->pend_len < sizeof(c->wbuf) - c->wlen ? c->pend_len : sizeof(c->wbuf) - c->wlen;
			memcpy(c->wbuf + c->wlen, c->pend, k);
			c->wlen += k;
			c->pend += k;
			c->pend_len -= k;
		}
		if (c->wlen == 0)
			break;
		if (c->ssl == NULL) {
			c->wlen = 0; /* a connection without a socket (tests/fuzz/fuzz_gatec.c) */
			continue;
		}
		err_queue_empty();
		n = SSL_write(c->ssl, c->wbuf, (int)c->wlen);
		if (n > 0) {
			c->woff = (size_t)n;
			continue;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_WRITE:
		case SSL_ERROR_WANT_READ:
			c->want_write = 1;
			goto out;
		default:
			conn_ssl_fail(c, n, "writing to the gate");
			return;
		}
	}
out:
	if (!c->want_write && !nghttp2_session_want_read(c->sess) && !nghttp2_session_want_write(c->sess)) {
		conn_fail(c, PX_UP_RESET, "the gate closed the connection (GOAWAY)");
		return;
	}
	conn_set_events(c, EV_READ | (c->want_write ? EV_WRITE : 0));
}

static struct px_gatec_request *stream_rq(nghttp2_session *s, int32_t sid)
{
	return nghttp2_session_get_stream_user_data(s, sid);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct px_gatec_request *rq = stream_rq(s, f->hd.stream_id);

	(void)ud;
	if (rq == NULL || rq->head)
		return 0; /* trailers: not reported */
	rq->nh = rq->hbytes = 0;
	rq->status = 0;
	rq->hdr_over = 0;
	if (rq->hmem == NULL && (rq->hmem = malloc(PX_UP_MAX_HEADER_BYTES + 2 * PX_UP_MAX_HEADERS)) == NULL)
		rq->hdr_over = PX_UP_NOMEM;
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct px_gatec_request *rq = stream_rq(s, f->hd.stream_id);
	struct px_gatec *gc = ((struct gc_conn *)ud)->gc;

	(void)flags;
	if (rq == NULL || rq->head || rq->hdr_over || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	rq_touch(rq);
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		int st = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			st = st * 10 + (value[i] - '0');
		rq->status = st;
		return 0;
	}
	if (name[0] == ':')
		return 0;
	if (rq->nh == PX_UP_MAX_HEADERS || namelen + valuelen > PX_UP_MAX_HEADER_BYTES - rq->hbytes) {
		rq->hdr_over = PX_UP_PROTOCOL;
		return 0;
	}
	{
		char *p = rq->hmem + rq->hbytes + 2 * rq->nh;
		memcpy(p, name, namelen);
		p[namelen] = '\0';
		memcpy(p + namelen + 1, value, valuelen);
		p[namelen + 1 + valuelen] = '\0';
		rq->hdrs[rq->nh].name = p;
		rq->hdrs[rq->nh].value = p + namelen + 1;
		rq->nh++;
		rq->hbytes += namelen + valuelen;
	}
	if (namelen == 17 && memcmp(name, "x-awsgate-version", 17) == 0 && rq->status >= 200) {
		size_t n = valuelen < sizeof(gc->version) - 1 ? valuelen : sizeof(gc->version) - 1;
		memcpy(gc->version, value, n);
		gc->version[n] = '\0';
		gc->have_version = 1;
	}
	return 0;
}

/* A complete header block: a 1xx, the head, or trailers. */
static void rq_headers_done(struct px_gatec_request *rq)
{
	if (rq->head)
		return;
	if (rq->hdr_over) {
		rq_finish(rq, rq->hdr_over,
			  rq->hdr_over == PX_UP_NOMEM ? "out of memory"
						      : "the gate's response headers are over the limits "
							"(PX_UP_MAX_HEADERS, PX_UP_MAX_HEADER_BYTES)");
		return;
	}
	if (rq->status < 100 || rq->status > 599) {
		/* nghttp2 checks three digits only: "000" passes it. */
		rq_finish(rq, PX_UP_PROTOCOL, "the gate sent an invalid :status");
		return;
	}
	if (rq->status < 200) {
		if (rq->status == 100 && rq->h->on_continue != NULL)
			rq->h->on_continue(rq->arg);
		return;
	}
	rq->head = 1;
	rq->h->on_head(rq->arg, rq->status, rq->hdrs, rq->nh);
	if (!rq->done && !rq->cancelled)
		rq->nh = 0; /* |hmem| stays for the request that reuses this one */
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct gc_conn *c = ud;
	struct px_gatec_request *rq;

	switch (f->hd.type) {
	case NGHTTP2_SETTINGS:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK) && !c->ready) {
			c->ready = 1;
			c->gc->backoff = PX_GATEC_BACKOFF_MIN;
			ev_timer_stop(c->gc->loop, &c->ctimer);
			gc_kick(c->gc); /* start the queued requests */
		} else {
			gc_kick(c->gc); /* MAX_CONCURRENT_STREAMS may have grown */
		}
		return 0;
	case NGHTTP2_GOAWAY:
		c->goaway = 1;
		c->goaway_last = f->goaway.last_stream_id;
		gc_kick(c->gc); /* queued requests go to a new connection */
		return 0;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		break;
	default:
		return 0;
	}
	rq = stream_rq(s, f->hd.stream_id);
	if (rq == NULL || rq->done || rq->cancelled)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS)
		rq_headers_done(rq);
	if (rq->done || rq->cancelled)
		return 0;
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		if (!rq->head) {
			rq_finish(rq, PX_UP_PROTOCOL, "the gate ended the stream without a response");
			return 0;
		}
		rq->remote_ended = 1;
		if (rq->rlen == 0 && !rq->paused)
			rq_finish(rq, PX_UP_OK, NULL);
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct px_gatec_request *rq = stream_rq(s, sid);
	struct px_gatec *gc = ((struct gc_conn *)ud)->gc;

	(void)flags;
	if (rq == NULL || rq->done || rq->cancelled) {
		nghttp2_session_consume(s, sid, len); /* nobody wants them: keep the connection's window open */
		return 0;
	}
	rq_touch(rq);
	if (rq->paused || rq->rlen > 0) {
		/* The gate may send up to the window we gave it: keep that. */
		if (rq->rbuf == NULL && (rq->rbuf = malloc(PX_GATEC_STREAM_WINDOW)) == NULL) {
			rq_finish(rq, PX_UP_NOMEM, "out of memory");
			nghttp2_session_consume(s, sid, len);
			return 0;
		}
		if (len > PX_GATEC_STREAM_WINDOW - rq->rlen) {
			rq_finish(rq, PX_UP_PROTOCOL, "the gate sent more than the stream window");
			nghttp2_session_consume(s, sid, len);
			return 0;
		}
		for (size_t off = 0; off < len;) {
			size_t tail = (rq->rhead + rq->rlen) % PX_GATEC_STREAM_WINDOW;
			size_t n = PX_GATEC_STREAM_WINDOW - tail;
			if (n > len - off)
				n = len - off;
			memcpy(rq->rbuf + tail, data + off, n);
			rq->rlen += n;
			off += n;
		}
		return 0;
	}
	nghttp2_session_consume(s, sid, len);
	gc_kick(gc);
	if (rq->h->on_body(rq->arg, data, len) == PX_ERR_AGAIN)
		rq->paused = 1;
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
	struct px_gatec_request *rq = stream_rq(s, sid);
	struct px_gatec *gc = ((struct gc_conn *)ud)->gc;
	char d[160];

	if (rq == NULL)
		return 0;
	rq->live = 0;
	if (rq->done || rq->cancelled) {
		rq_release(rq);
		return 0;
	}
	if (rq->remote_ended) {
		/* The rest is delivered from rq->rbuf, then the end; the
		 * stream no longer counts against the gate's limit. */
		rq_unlink(rq);
		rq_link(rq, &gc->draining, 0);
		return 0;
	}
	if (code == NGHTTP2_REFUSED_STREAM && rq->sent == 0 && !rq->head) {
		/* Never processed (refused, or above a GOAWAY's last stream):
		 * try again on a connection. */
		ev_timer_stop(gc->loop, &rq->timer);
		rq_unlink(rq);
		rq->conn = NULL;
		if (++rq->retries > PX_GATEC_MAX_RETRIES) {
			snprintf(d, sizeof(d), "the gate refused the request %d times", rq->retries);
			rq_finish(rq, PX_UP_RESET, d);
			return 0;
		}
		rq->sid = 0;
		rq->status = 0;
		rq->nh = rq->hbytes = 0;
		rq_link(rq, &gc->queue, 1);
		gc_kick(gc);
		return 0;
	}
	snprintf(d, sizeof(d), "the gate reset the stream (%s)", nghttp2_http2_strerror(code));
	rq_finish(rq, PX_UP_RESET, d);
	return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct px_gatec_request *rq = src->ptr;
	size_t n = 0;

	(void)s;
	(void)sid;
	(void)ud;
	if (rq->done || rq->cancelled)
		return NGHTTP2_ERR_DEFERRED; /* a RST_STREAM is on its way */
	while (n < len && rq->wlen > 0) {
		size_t k = PX_GATEC_BODY_BUF - rq->whead;
		if (k > rq->wlen)
			k = rq->wlen;
		if (k > len - n)
			k = len - n;
		memcpy(buf + n, rq->wbuf + rq->whead, k);
		rq->whead = (rq->whead + k) % PX_GATEC_BODY_BUF;
		rq->wlen -= k;
		n += k;
	}
	rq->sent += n;
	if (n > 0) {
		rq_touch(rq);
		if (rq->want_writable) {
			rq->want_writable = 0;
			rq->notify_writable = 1;
			gc_kick(rq->gc);
		}
	}
	if (rq->wlen == 0 && rq->ended) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		rq->sent_all = 1;
		rq_touch(rq);
		return (ssize_t)n;
	}
	if (n == 0)
		return NGHTTP2_ERR_DEFERRED;
	return (ssize_t)n;
}

static int session_make(struct gc_conn *c)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, PX_GATEC_STREAM_WINDOW},
		{NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 2 * PX_UP_MAX_HEADER_BYTES},
	};
	int rv;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return -1;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		return -1;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	rv = nghttp2_session_client_new2(&c->sess, cb, c, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rv != 0)
		return -1;
	if (nghttp2_submit_settings(c->sess, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
	    nghttp2_session_set_local_window_size(c->sess, NGHTTP2_FLAG_NONE, 0, PX_GATEC_CONN_WINDOW) != 0)
		return -1;
	return 0;
}

static void conn_handshake(struct gc_conn *c)
{
	const unsigned char *proto = NULL;
	unsigned plen = 0;
	int rv;

	ERR_clear_error();
	rv = SSL_do_handshake(c->ssl);
	if (rv != 1) {
		switch (SSL_get_error(c->ssl, rv)) {
		case SSL_ERROR_WANT_READ:
			conn_set_events(c, EV_READ);
			return;
		case SSL_ERROR_WANT_WRITE:
			conn_set_events(c, EV_WRITE);
			return;
		default:
			conn_ssl_fail(c, rv, "TLS handshake with the gate");
			return;
		}
	}
	SSL_get0_alpn_selected(c->ssl, &proto, &plen);
	if (plen != 2 || memcmp(proto, "h2", 2) != 0) {
		conn_fail(c, PX_UP_PROTOCOL,
			  "the gate %s did not negotiate HTTP/2 (ALPN h2%s%.*s): is it an awsgated gate, and not "
			  "behind a proxy that speaks only HTTP/1.1?",
			  c->gc->gate, plen ? "; it chose " : "; it chose none", (int)plen, plen ? (const char *)proto : "");
		return;
	}
	if (session_make(c) != 0) {
		conn_fail(c, PX_UP_NOMEM, "out of memory (HTTP/2 session)");
		return;
	}
	c->state = GC_H2;
	c->last_read = ev_now(c->gc->loop);
	conn_flush(c);
}

static void conn_tls_start(struct gc_conn *c)
{
	struct px_gatec *gc = c->gc;
	X509_VERIFY_PARAM *vp;

	c->ssl = SSL_new(gc->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		conn_fail(c, PX_UP_NOMEM, "out of memory (TLS)");
		return;
	}
	vp = SSL_get0_param(c->ssl);
	if (gc->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, gc->host) != 1
			   : (X509_VERIFY_PARAM_set1_host(vp, gc->host, 0) != 1 ||
			      SSL_set_tlsext_host_name(c->ssl, gc->host) != 1)) {
		conn_fail(c, PX_UP_TLS, "cannot check the gate's name %s", gc->host);
		return;
	}
	SSL_set_connect_state(c->ssl);
	c->state = GC_TLS;
	conn_handshake(c);
}

/* Connects to the address c->cur, or (|first| 0) to the next one after a
 * failure. */
static void conn_tcp_next(struct gc_conn *c, int first)
{
	if (!first)
		c->cur++;
	for (; c->cur < c->ans.n; c->cur++) {
		const struct sockaddr_storage *ss = &c->ans.addrs[c->cur];
		socklen_t sl = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		int one = 1;

		if (c->fd >= 0)
			close(c->fd);
		c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			continue;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c->fd, (const struct sockaddr *)ss, sl) == 0 || errno == EINPROGRESS) {
			c->state = GC_TCP;
			conn_set_events(c, EV_WRITE);
			return;
		}
	}
	conn_fail(c, errno == ECONNREFUSED ? PX_UP_CONNECT_REFUSED : PX_UP_CONNECT, "connecting to the gate %s: %s",
		  c->gc->gate, strerror(errno));
}

static void conn_read(struct gc_conn *c)
{
	unsigned char buf[PX_GATEC_READ_BUF];

	if (c->ssl == NULL)
		return; /* a connection without a socket (tests/fuzz/fuzz_gatec.c) */

	for (;;) {
		int n;
		ssize_t k;

		err_queue_empty();
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0) {
			int se = SSL_get_error(c->ssl, n);
			if (se == SSL_ERROR_WANT_READ)
				break;
			if (se == SSL_ERROR_WANT_WRITE) {
				c->want_write = 1;
				break;
			}
			conn_ssl_fail(c, n, "reading from the gate");
			return;
		}
		c->last_read = ev_now(c->gc->loop);
		c->in_recv = 1;
		k = nghttp2_session_mem_recv(c->sess, buf, (size_t)n);
		c->in_recv = 0;
		if (k < 0) {
			conn_fail(c, PX_UP_PROTOCOL, "HTTP/2 from the gate: %s", nghttp2_strerror((int)k));
			return;
		}
		if (c->dead)
			return;
		/* Nothing buffered in OpenSSL: the socket is read again when the
		 * loop says it is readable, not now to hear EAGAIN. */
		if (!SSL_has_pending(c->ssl))
			break;
	}
	conn_flush(c);
}

static void conn_io(struct gc_conn *c, int revents)
{
	switch (c->state) {
	case GC_DNS:
		return; /* no socket yet */
	case GC_TCP: {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr != 0) {
			errno = soerr;
			if (c->cur + 1 < c->ans.n) {
				conn_tcp_next(c, 0);
				return;
			}
			conn_fail(c, soerr == ECONNREFUSED ? PX_UP_CONNECT_REFUSED : PX_UP_CONNECT,
				  "connecting to the gate %s: %s", c->gc->gate, strerror(soerr));
			return;
		}
		conn_tls_start(c);
		return;
	}
	case GC_TLS:
		conn_handshake(c);
		return;
	case GC_H2:
		if (revents & EV_READ)
			conn_read(c);
		else
			conn_flush(c);
		return;
	}
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	conn_io(w->data, revents);
}

static void conn_ctimer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gc_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == GC_DNS) {
		/* The lookup is cancelled by conn_fail(); the resolver's thread
		 * finishes it and caches the answer for the next connection. */
		conn_fail(c, PX_UP_TIMEOUT_CONNECT,
			  "the gate's name %s did not resolve within %.0f ms: the DNS lookup timed out (check your "
			  "network, VPN or DNS resolver)",
			  c->gc->host, c->gc->connect_to * 1000);
		return;
	}
	conn_fail(c, PX_UP_TIMEOUT_CONNECT, "no connection to the gate %s within %.0f ms", c->gc->gate,
		  c->gc->connect_to * 1000);
}

static void conn_free(struct gc_conn *c)
{
	struct ev_loop *loop = c->gc->loop;

	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->ctimer);
	if (c->sess != NULL)
		nghttp2_session_del(c->sess);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	px_resolve_cancel(c->dns);
	free(c);
}

/* The gate's addresses are known (or not): connects to the first. */
static void conn_resolved(struct gc_conn *c)
{
	struct px_gatec *gc = c->gc;

	if (c->ans.err != 0) {
		conn_fail(c, PX_UP_DNS, "the gate's name %s: %s", gc->host, c->ans.detail);
		return;
	}
	if (c->ans.n == 0) {
		conn_fail(c, PX_UP_DNS, "the gate's name %s: no IPv4 or IPv6 address", gc->host);
		return;
	}
	for (size_t i = 0; i < c->ans.n; i++)
		(void)px_sockaddr_set_port(&c->ans.addrs[i], gc->port_num);
	c->cur = 0;
	conn_tcp_next(c, 1);
}

static void conn_resolved_cb(void *arg, const struct px_resolve_answer *a)
{
	struct gc_conn *c = arg;

	c->dns = NULL; /* freed by the resolver after this returns */
	memcpy(&c->ans, a, sizeof(c->ans));
	conn_resolved(c);
}

/*
 * Starts a connection; failures come back through conn_fail() and the kick.
 * The name is looked up on the resolver's threads, never on the loop (a
 * slow DNS would freeze every tunnel and request of the local proxy); the
 * connect timer runs from here, so it covers the lookup too.
 */
static void conn_start(struct px_gatec *gc)
{
	struct gc_conn *c = calloc(1, sizeof(*c));
	int rv;

	if (c == NULL)
		return; /* the queued requests wait for the next kick */
	c->gc = gc;
	c->fd = -1;
	c->state = GC_DNS;
	ev_io_init(&c->io, conn_io_cb, -1, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->ctimer, conn_ctimer_cb, gc->connect_to, 0.);
	c->ctimer.data = c;
	gc->conn = c;
	ev_timer_start(gc->loop, &c->ctimer);

	if (gc->rl == NULL) {
		/* A literal (parse_gate() checked it): no resolver was made. */
		(void)px_resolve_literal(gc->host, &c->ans);
		conn_resolved(c);
		return;
	}
	rv = px_resolve_start(gc->rl, gc->host, &c->ans, conn_resolved_cb, c, &c->dns);
	if (rv == PX_RESOLVE_PENDING)
		return;
	if (rv != 0) {
		c->dns = NULL;
		conn_fail(c, rv == PX_ERR_NOMEM ? PX_UP_NOMEM : PX_UP_DNS, "the gate's name %s: %s", gc->host,
			  rv == PX_ERR_NOMEM ? "out of memory" : "not a name that can be looked up");
		return;
	}
	conn_resolved(c);
}

/* --- the loop's work ------------------------------------------------------ */

static void rq_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct px_gatec_request *rq = w->data;
	struct px_gatec *gc = rq->gc;
	double now = ev_now(loop), limit;
	int err;
	char d[120];

	(void)revents;
	if (rq->paused) {
		/* The caller is not reading: not the gate's fault. */
		rq->last = now;
		w->repeat = gc->idle_to;
		ev_timer_again(loop, w);
		return;
	}
	if (!rq->head && rq->sent_all) {
		limit = gc->first_byte_to;
		err = PX_UP_TIMEOUT_FIRST_BYTE;
	} else {
		limit = gc->idle_to;
		err = PX_UP_TIMEOUT_IDLE;
	}
	if (now - rq->last < limit) {
		w->repeat = rq->last + limit - now;
		ev_timer_again(loop, w);
		return;
	}
	if (rq->conn != NULL && rq->list == &rq->conn->streams && now - rq->conn->last_read >= limit) {
		/* Nothing at all from the gate for as long: the connection may
		 * be dead. It takes no new stream; its others keep their own
		 * timers. */
		rq->conn->retired = 1;
		gc_kick(gc);
	}
	snprintf(d, sizeof(d),
		 err == PX_UP_TIMEOUT_FIRST_BYTE ? "no answer from the gate within %.0f ms"
						 : "no bytes to or from the gate for %.0f ms",
		 limit * 1000);
	rq_finish(rq, err, d);
}

/* Ends the requests of the dead connection: retried when the gate never
 * saw them, else failed. */
static void conn_teardown(struct px_gatec *gc, struct gc_conn *c)
{
	struct px_gatec_request *rq;
	int err = c->err;
	int current = c == gc->conn;

	if (current) {
		gc->conn = NULL;
	} else {
		for (struct gc_conn **pp = &gc->retired; *pp; pp = &(*pp)->next_retired)
			if (*pp == c) {
				*pp = c->next_retired;
				break;
			}
	}
	if (err == PX_GATEC_CERT) {
		gc->cert_refused = 1;
		snprintf(gc->cert_detail, sizeof(gc->cert_detail), "%s", c->detail);
	}
	if (!c->ready) {
		gc->next_connect = ev_now(gc->loop) + gc->backoff;
		gc->backoff = gc->backoff * 2 > PX_GATEC_BACKOFF_MAX ? PX_GATEC_BACKOFF_MAX : gc->backoff * 2;
	} else if (current && !c->goaway) {
		gc->next_connect = ev_now(gc->loop) + gc->backoff;
	}
	for (rq = gc->draining.head; rq != NULL; rq = rq->next)
		if (rq->conn == c)
			rq->conn = NULL;
	while ((rq = c->streams.head) != NULL) {
		rq_unlink(rq);
		rq->conn = NULL;
		rq->live = 0;
		ev_timer_stop(gc->loop, &rq->timer);
		if (rq->done || rq->cancelled) {
			rq_release(rq);
			continue;
		}
		if (rq->remote_ended && err != PX_GATEC_CERT) {
			rq_link(rq, &gc->draining, 0); /* the whole answer came: deliver what was kept */
			continue;
		}
		if (err != PX_GATEC_CERT && c->goaway && rq->sid > c->goaway_last && rq->sent == 0 && !rq->head &&
		    rq->retries < PX_GATEC_MAX_RETRIES) {
			rq->retries++;
			rq->sid = 0;
			rq_link(rq, &gc->queue, 0);
			continue;
		}
		rq_finish(rq,
			  err == PX_GATEC_CERT || err == PX_UP_TIMEOUT_FIRST_BYTE || err == PX_UP_TIMEOUT_IDLE ? err
													  : PX_UP_RESET,
			  c->detail);
	}
	/* Requests waiting for this connection fail with its error: a gate
	 * that is down is reported, not waited for. */
	if ((current && !c->ready) || err == PX_GATEC_CERT) {
		while ((rq = gc->queue.head) != NULL) {
			rq_unlink(rq);
			rq_finish(rq, err, c->detail);
		}
	}
	conn_free(c);
}

static int rq_submit(struct gc_conn *c, struct px_gatec_request *rq)
{
	struct px_gatec *gc = c->gc;
	nghttp2_data_provider prd;
	int32_t sid;

	prd.source.ptr = rq;
	prd.read_callback = body_read;
	sid = nghttp2_submit_request(c->sess, NULL, rq->nva, rq->nnv, rq->body == PX_UP_BODY_NONE ? NULL : &prd, rq);
	if (sid < 0)
		return -1;
	rq->sid = sid;
	rq->live = 1;
	rq->sent_all = rq->body == PX_UP_BODY_NONE;
	rq->conn = c;
	rq_link(rq, &c->streams, 0);
	rq_touch(rq);
	rq->timer.repeat = gc->first_byte_to < gc->idle_to ? gc->first_byte_to : gc->idle_to;
	ev_timer_again(gc->loop, &rq->timer);
	return 0;
}

static void gc_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	gc_kick(w->data);
}

static void gc_start_queued(struct px_gatec *gc)
{
	struct gc_conn *c = gc->conn;
	struct px_gatec_request *rq;
	char detail[PX_GATEC_DETAIL];

	if (gc->queue.head == NULL)
		return;
	if (c == NULL) {
		double now = ev_now(gc->loop);
		int rv = cert_check(gc, detail, sizeof(detail));

		if (rv != 0) {
			while ((rq = gc->queue.head) != NULL) {
				rq_unlink(rq);
				rq_finish(rq, rv, detail);
			}
			return;
		}
		if (now < gc->next_connect) {
			if (!ev_is_active(&gc->retry)) {
				ev_timer_set(&gc->retry, gc->next_connect - now, 0.);
				ev_timer_start(gc->loop, &gc->retry);
			}
			return;
		}
		conn_start(gc);
		return;
	}
	if (!c->ready || c->dead || c->goaway)
		return;
	while ((rq = gc->queue.head) != NULL &&
	       c->streams.n < nghttp2_session_get_remote_settings(c->sess, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)) {
		rq_unlink(rq);
		if (rq_submit(c, rq) != 0)
			rq_finish(rq, PX_UP_INTERNAL, "nghttp2_submit_request failed");
	}
}

/* Runs the requests' pending events; restarts after each callback, which
 * may have changed the list. */
static void gc_run_events(struct rq_list *l)
{
	struct px_gatec_request *rq;

again:
	for (rq = l->head; rq != NULL; rq = rq->next) {
		if (rq->done || rq->cancelled)
			continue;
		if (rq->notify_writable) {
			rq->notify_writable = 0;
			rq->h->on_writable(rq->arg);
			goto again;
		}
		if (rq->want_drain) {
			rq->want_drain = 0;
			rq_drain(rq);
			goto again;
		}
	}
}

/* A retired connection with no stream left is closed (GOAWAY); a dead
 * one is torn down. */
static void conn_tend(struct px_gatec *gc, struct gc_conn *c)
{
	if (!c->dead && c->retired && c->streams.n == 0) {
		nghttp2_session_terminate_session(c->sess, NGHTTP2_NO_ERROR);
		conn_flush(c);
		if (!c->dead)
			conn_fail(c, PX_UP_RESET, "closed after its last stream");
	}
	if (c->dead)
		conn_teardown(gc, c);
}

static void gc_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct px_gatec *gc = w->data;
	struct px_gatec_request *rq;
	struct gc_conn *c, *next;

	(void)revents;
	ev_timer_stop(loop, &gc->kick);
	if (gc->kick_iter != ev_iteration(loop)) {
		gc->kick_iter = ev_iteration(loop);
		gc->kick_runs = 0;
	}
	gc->kick_runs++;
	if ((c = gc->conn) != NULL && !c->dead && c->state == GC_H2 && gc->queue.head != NULL &&
	    ev_is_pending(&c->io)) {
		/* The loop saw the connection readable in this round and its
		 * callback has not run yet: read what the gate said (GOAWAY,
		 * a close) before a new stream goes out on it. A connection
		 * not seen readable has nothing to say: no read for EAGAIN. */
		ev_clear_pending(loop, &c->io);
		conn_read(c);
	}
	if ((c = gc->conn) != NULL && !c->dead && (c->goaway || c->retired)) {
		/* New streams go to a new connection; this one finishes its own. */
		c->retired = 1;
		c->next_retired = gc->retired;
		gc->retired = c;
		gc->conn = NULL;
	}
	if (gc->conn != NULL && gc->conn->dead)
		conn_teardown(gc, gc->conn);
	for (c = gc->retired; c != NULL; c = next) {
		next = c->next_retired;
		conn_tend(gc, c);
	}
	if (gc->conn != NULL)
		gc_run_events(&gc->conn->streams);
	for (c = gc->retired; c != NULL; c = c->next_retired)
		gc_run_events(&c->streams);
	gc_run_events(&gc->draining);
	gc_start_queued(gc);
	if (gc->conn != NULL)
		conn_flush(gc->conn);
	for (c = gc->retired; c != NULL; c = c->next_retired)
		conn_flush(c);
	while ((rq = gc->zombies) != NULL) {
		gc->zombies = rq->zombie_next;
		rq_free(rq);
	}
	if (gc->conn != NULL && gc->conn->dead)
		gc_kick(gc);
	for (c = gc->retired; c != NULL; c = c->next_retired)
		if (c->dead || c->streams.n == 0)
			gc_kick(gc);
}

/* --- the API -------------------------------------------------------------- */

static int parse_gate(struct px_gatec *gc, const char *gate, char *err, size_t errlen)
{
	const char *colon, *h = gate, *hend;
	unsigned char tmp[sizeof(struct in6_addr)];
	unsigned long port = 0;

	if (gate[0] == '[') {
		hend = strchr(gate, ']');
		if (hend == NULL || hend[1] != ':')
			goto bad;
		h = gate + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(gate, ':');
		if (colon == NULL)
			goto bad;
		hend = colon;
	}
	if (hend == h || colon[1] == '\0' || strlen(colon + 1) > 5)
		goto bad;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		goto bad;
	gc->port_num = (uint16_t)port;
	gc->host = strndup(h, (size_t)(hend - h));
	if (gc->host == NULL) {
		snprintf(err, errlen, "out of memory");
		return PX_ERR_NOMEM;
	}
	gc->host_is_ip = inet_pton(AF_INET, gc->host, tmp) == 1 || inet_pton(AF_INET6, gc->host, tmp) == 1;
	return 0;
bad:
	snprintf(err, errlen, "the gate \"%s\" is not HOST:PORT (a port of 1 to 65535; an IPv6 address in brackets)",
		 gate);
	return PX_ERR_INVALID;
}

int px_gatec_new(struct ev_loop *loop, const struct px_gatec_config *cfg, struct px_gatec **out, char *err,
		 size_t errlen)
{
	struct px_gatec *gc;
	int rv;

	if (cfg == NULL || cfg->gate == NULL || cfg->cert_file == NULL || cfg->key_file == NULL ||
	    cfg->ca_file == NULL) {
		snprintf(err, errlen, "the gate, the certificate, its key and the CA file are all needed");
		return PX_ERR_INVALID;
	}
	gc = calloc(1, sizeof(*gc));
	if (gc == NULL) {
		snprintf(err, errlen, "out of memory");
		return PX_ERR_NOMEM;
	}
	gc->loop = loop;
	gc->gate = strdup(cfg->gate);
	gc->cert_file = strdup(cfg->cert_file);
	gc->key_file = strdup(cfg->key_file);
	gc->ca_file = strdup(cfg->ca_file);
	if (gc->gate == NULL || gc->cert_file == NULL || gc->key_file == NULL || gc->ca_file == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = PX_ERR_NOMEM;
		goto fail;
	}
	if ((rv = parse_gate(gc, cfg->gate, err, errlen)) != 0)
		goto fail;
	if ((rv = ctx_load(gc, err, errlen)) != 0)
		goto fail;
	gc->rl = cfg->resolver;
	if (gc->rl == NULL && !gc->host_is_ip) {
		/* A caller without a resolver of its own (tests, tools): one
		 * thread for the gate's name, the cache's default lifetimes. */
		char rerr[256] = "out of memory";
		if (px_resolver_new(1, 0, 0, 0, NULL, rerr, sizeof(rerr), &gc->own_res) != 0 ||
		    px_resolve_loop_new(gc->own_res, loop, &gc->own_rl) != 0) {
			snprintf(err, errlen, "cannot start the resolver for the gate's name: %s", rerr);
			rv = PX_ERR_NOMEM;
			goto fail;
		}
		gc->rl = gc->own_rl;
	}
	gc->connect_to = (cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 10000) / 1000.0;
	gc->first_byte_to = (cfg->first_byte_timeout_ms ? cfg->first_byte_timeout_ms : 60000) / 1000.0;
	gc->idle_to = (cfg->idle_timeout_ms ? cfg->idle_timeout_ms : 300000) / 1000.0;
	gc->backoff = PX_GATEC_BACKOFF_MIN;
	ev_timer_init(&gc->kick, gc_kick_cb, 0., 0.);
	gc->kick.data = gc;
	ev_timer_init(&gc->retry, gc_retry_cb, 0., 0.);
	gc->retry.data = gc;
	*out = gc;
	return 0;
fail:
	px_resolve_loop_del(gc->own_rl);
	px_resolver_del(gc->own_res);
	SSL_CTX_free(gc->ctx);
	free(gc->gate);
	free(gc->host);
	free(gc->cert_file);
	free(gc->key_file);
	free(gc->ca_file);
	free(gc);
	return rv;
}

static void fail_list(struct rq_list *l)
{
	struct px_gatec_request *rq;

again:
	for (rq = l->head; rq != NULL; rq = rq->next)
		if (!rq->done && !rq->cancelled) {
			rq->done = 1;
			rq->h->on_done(rq->arg, PX_UP_RESET, "the gate client was closed");
			goto again;
		}
}

static void free_list(struct rq_list *l)
{
	struct px_gatec_request *rq;

	while ((rq = l->head) != NULL) {
		rq_unlink(rq);
		ev_timer_stop(rq->gc->loop, &rq->timer);
		rq_free(rq);
	}
}

void px_gatec_del(struct px_gatec *gc)
{
	struct gc_conn *c;
	struct px_gatec_request *rq;

	if (gc == NULL)
		return;
	gc->closing = 1;
	fail_list(&gc->queue);
	fail_list(&gc->draining);
	if (gc->conn != NULL) {
		gc->conn->next_retired = gc->retired;
		gc->retired = gc->conn;
		gc->conn = NULL;
	}
	for (c = gc->retired; c != NULL; c = c->next_retired)
		fail_list(&c->streams);
	while ((c = gc->retired) != NULL) {
		gc->retired = c->next_retired;
		if (c->sess != NULL && !c->dead) {
			/* A best-effort GOAWAY: the socket is closed right after. */
			nghttp2_session_terminate_session(c->sess, NGHTTP2_NO_ERROR);
			conn_flush(c);
		}
		free_list(&c->streams);
		conn_free(c);
	}
	free_list(&gc->queue);
	free_list(&gc->draining);
	while ((rq = gc->zombies) != NULL) {
		gc->zombies = rq->zombie_next;
		rq_free(rq);
	}
	while ((rq = gc->spare) != NULL) {
		gc->spare = rq->zombie_next;
		rq_destroy(rq);
	}
	ev_timer_stop(gc->loop, &gc->kick);
	ev_timer_stop(gc->loop, &gc->retry);
	px_resolve_loop_del(gc->own_rl); /* after conn_free() cancelled the lookup */
	px_resolver_del(gc->own_res);
	SSL_CTX_free(gc->ctx);
	free(gc->gate);
	free(gc->host);
	free(gc->cert_file);
	free(gc->key_file);
	free(gc->ca_file);
	free(gc);
}

/* RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~. A table: a header
 * name costs one load per byte. */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1,
	['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* The length of |s| if it is a token (a method, a header name), else 0. */
static size_t token_len(const char *s)
{
	size_t i = 0;

	while (tchar[(unsigned char)s[i]])
		i++;
	return s[i] == '\0' ? i : 0;
}

/* The length of |s| if it holds no CR or LF, else SIZE_MAX. */
static size_t value_len(const char *s)
{
	size_t n = strcspn(s, "\r\n");

	return s[n] == '\0' ? n : SIZE_MAX;
}

/* Headers HTTP/2 forbids or that the body description decides; |len| is
 * strlen(|name|): one comparison at most instead of eight. */
static int skipped(const char *name, size_t len)
{
	switch (len) {
	case 2:
		return strcasecmp(name, "te") == 0;
	case 4:
		return strcasecmp(name, "host") == 0;
	case 7:
		return strcasecmp(name, "upgrade") == 0;
	case 10:
		return strcasecmp(name, "connection") == 0 || strcasecmp(name, "keep-alive") == 0;
	case 14:
		return strcasecmp(name, "content-length") == 0;
	case 16:
		return strcasecmp(name, "proxy-connection") == 0;
	case 17:
		return strcasecmp(name, "transfer-encoding") == 0;
	default:
		return 0;
	}
}

/*
 * HPACK: a value that differs in every request (a signature, a time, a
 * body's hash or length, an invocation id) is sent "never indexed", so it
 * does not push out of the gate's dynamic table the fields that repeat
 * (user-agent, content-type, x-forwarded-host, the app and role), which
 * then go as one-byte indexes. |name| is lower case, |len| bytes.
 */
static int unique_value(const char *name, size_t len)
{
	switch (len) {
	case 10:
		return memcmp(name, "x-amz-date", 10) == 0;
	case 11:
		return memcmp(name, "content-md5", 11) == 0;
	case 13:
		return memcmp(name, "authorization", 13) == 0;
	case 14:
		return memcmp(name, "content-length", 14) == 0;
	case 20:
		return memcmp(name, "x-amz-content-sha256", 20) == 0 || memcmp(name, "x-amz-security-token", 20) == 0;
	case 21:
		return memcmp(name, "amz-sdk-invocation-id", 21) == 0;
	default:
		return 0;
	}
}

static uint8_t *nv_put(uint8_t **p, const char *s, size_t n, int lower)
{
	uint8_t *r = *p;

	if (lower) {
		for (size_t i = 0; i < n; i++)
			r[i] = (uint8_t)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	} else if (n > 0) {
		memcpy(r, s, n);
	}
	r[n] = '\0';
	*p += n + 1;
	return r;
}

/* Appends one field to |rq|'s block. The bytes stay in rq->nva until the
 * request is freed, after nghttp2 is done with the stream: nghttp2 need not
 * copy them (NO_COPY). */
static void nv_add(struct px_gatec_request *rq, uint8_t **p, const char *n, size_t nl, const char *v, size_t vl,
		   int lower)
{
	nghttp2_nv *nv = &rq->nva[rq->nnv++];

	nv->name = nv_put(p, n, nl, lower);
	nv->namelen = nl;
	nv->value = nv_put(p, v, vl, 0);
	nv->valuelen = vl;
	nv->flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
	if (n[0] != ':' && unique_value((const char *)nv->name, nl))
		nv->flags |= NGHTTP2_NV_FLAG_NO_INDEX;
}

int px_gatec_request_start(struct px_gatec *gc, const char *method, const char *path,
			   const struct px_up_header *hdrs, size_t nhdrs, enum px_up_body body,
			   uint64_t body_length, const struct px_gatec_handler *h, void *arg,
			   struct px_gatec_request **out)
{
	struct px_gatec_request *rq;
	size_t bytes, nnv = 4, ml, pl, al;
	char cl[24];
	size_t cllen = 0;
	uint8_t *p;

	if (gc == NULL || gc->closing || method == NULL || path == NULL || h == NULL || h->on_head == NULL ||
	    h->on_body == NULL || h->on_done == NULL || (body != PX_UP_BODY_NONE && h->on_writable == NULL) ||
	    (nhdrs > 0 && hdrs == NULL) || (unsigned)body > PX_UP_BODY_CHUNKED)
		return PX_ERR_INVALID;
	ml = token_len(method);
	pl = value_len(path);
	if (ml == 0 || pl == 0 || pl == SIZE_MAX || memchr(path, ' ', pl) != NULL)
		return PX_ERR_INVALID;
	al = strlen(gc->gate);
	/* The pseudo-header names (39 bytes with their NULs) and the values' NULs. */
	bytes = ml + pl + al + 64;
	for (size_t i = 0; i < nhdrs; i++) {
		size_t nl, vl;

		if (hdrs[i].name == NULL || hdrs[i].value == NULL || (nl = token_len(hdrs[i].name)) == 0 ||
		    (vl = value_len(hdrs[i].value)) == SIZE_MAX)
			return PX_ERR_INVALID;
		if (skipped(hdrs[i].name, nl))
			continue;
		bytes += nl + vl + 2;
		nnv++;
		if (bytes > PX_GATEC_MAX_REQUEST_BYTES)
			return PX_ERR_INVALID;
	}
	if (body == PX_UP_BODY_LENGTH) {
		cllen = px_dec(cl, body_length);
		nnv++;
		bytes += 16 + cllen;
	}
	rq = rq_alloc(gc, nnv * sizeof(nghttp2_nv) + bytes);
	if (rq == NULL)
		return PX_ERR_NOMEM;
	p = (uint8_t *)(rq->nva + nnv);
	nv_add(rq, &p, ":method", 7, method, ml, 0);
	nv_add(rq, &p, ":scheme", 7, "https", 5, 0);
	nv_add(rq, &p, ":authority", 10, gc->gate, al, 0);
	nv_add(rq, &p, ":path", 5, path, pl, 0);
	for (size_t i = 0; i < nhdrs; i++) {
		size_t nl = strlen(hdrs[i].name);
		if (!skipped(hdrs[i].name, nl))
			nv_add(rq, &p, hdrs[i].name, nl, hdrs[i].value, strlen(hdrs[i].value), 1);
	}
	if (body == PX_UP_BODY_LENGTH)
		nv_add(rq, &p, "content-length", 14, cl, cllen, 0);
	rq->h = h;
	rq->arg = arg;
	rq->body = body;
	rq->body_length = body_length;
	ev_init(&rq->timer, rq_timer_cb);
	rq->timer.data = rq;
	rq_link(rq, &gc->queue, 0);
	gc_kick(gc);
	*out = rq;
	return 0;
}

int px_gatec_request_write(struct px_gatec_request *rq, const void *data, size_t len)
{
	size_t room, n, off = 0;

	if (rq == NULL || rq->body == PX_UP_BODY_NONE || rq->ended || rq->done || rq->cancelled)
		return PX_ERR_STATE;
	if (rq->body == PX_UP_BODY_LENGTH && len > rq->body_length - rq->written)
		return PX_ERR_INVALID;
	if (len == 0)
		return 0;
	if (rq->wbuf == NULL && (rq->wbuf = malloc(PX_GATEC_BODY_BUF)) == NULL)
		return PX_ERR_NOMEM;
	room = PX_GATEC_BODY_BUF - rq->wlen;
	if (room == 0) {
		rq->want_writable = 1;
		return PX_ERR_AGAIN;
	}
	n = len < room ? len : room;
	while (off < n) {
		size_t tail = (rq->whead + rq->wlen) % PX_GATEC_BODY_BUF;
		size_t k = PX_GATEC_BODY_BUF - tail;
		if (k > n - off)
			k = n - off;
		memcpy(rq->wbuf + tail, (const unsigned char *)data + off, k);
		rq->wlen += k;
		off += k;
	}
	rq->written += n;
	if (n < len)
		rq->want_writable = 1;
	if (rq->live && rq->conn != NULL && !rq->conn->dead)
		nghttp2_session_resume_data(rq->conn->sess, rq->sid);
	gc_kick(rq->gc);
	return (int)n;
}

int px_gatec_request_end(struct px_gatec_request *rq)
{
	if (rq == NULL || rq->body == PX_UP_BODY_NONE || rq->ended || rq->done || rq->cancelled)
		return PX_ERR_STATE;
	if (rq->body == PX_UP_BODY_LENGTH && rq->written != rq->body_length)
		return PX_ERR_INVALID;
	rq->ended = 1;
	if (rq->live && rq->conn != NULL && !rq->conn->dead)
		nghttp2_session_resume_data(rq->conn->sess, rq->sid);
	gc_kick(rq->gc);
	return 0;
}

void px_gatec_request_resume(struct px_gatec_request *rq)
{
	if (rq == NULL || !rq->paused || rq->done || rq->cancelled)
		return;
	rq->paused = 0;
	rq->want_drain = 1;
	rq_touch(rq);
	gc_kick(rq->gc);
}

void px_gatec_request_cancel(struct px_gatec_request *rq)
{
	if (rq == NULL || rq->done || rq->cancelled)
		return;
	rq->cancelled = 1;
	if (rq->live && rq->conn != NULL && !rq->conn->dead) {
		nghttp2_submit_rst_stream(rq->conn->sess, NGHTTP2_FLAG_NONE, rq->sid, NGHTTP2_CANCEL);
		gc_kick(rq->gc);
	}
	rq_release(rq);
}

const char *px_gatec_gate_version(const struct px_gatec *gc)
{
	return gc != NULL && gc->have_version ? gc->version : NULL;
}
