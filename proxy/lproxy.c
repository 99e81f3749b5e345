/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy.c: the user's local proxy: CONNECT on loopback, AWS hosts intercepted (local CA, SigV4 checked with the throw-away keys) and forwarded to the gate, other hosts tunnelled. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, memmem */
#endif
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <llhttp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "proxy/gatec.h"
#include "proxy/list.h"
#include "proxy/lproxy_int.h"
#include "proxy/pipeline.h"
#include "proxy/resolve.h"
#include "sigv4/sigv4.h"

#define HEAD_TIMEOUT 30.0     /* seconds to send a CONNECT head, to finish a TLS handshake */
#define CONNECT_TIMEOUT 10.0  /* seconds to connect a tunnel */
#define IDLE_TIMEOUT 300.0    /* seconds a tunnel or a kept-alive connection may stay silent */
#define OUT_MAX (4 * PX_LPROXY_OUT_HIGH) /* bytes queued to the SDK at most (a piece past the mark) */
#define CERT_STOP_DELAY 0.5   /* seconds between the certificate refusal and the proxy's end */
#define LINGER_TIMEOUT 2.0    /* seconds to drain a client after a last answer (so a close does not RST it away) */
#define FLUSH_NOW 16384       /* response bytes queued that are written at once rather than at the callback's end */

static const char USAGE_HINT[] =
	"Run the AWS CLI with `awsgate aws ...`, or export the proxy's settings with "
	"`eval \"$(awsgate proxy aws)\"` and then use the AWS CLI or an SDK.";

enum conn_state {
	CS_HEAD,       /* reading the CONNECT head */
	CS_RESOLVE,    /* resolving the tunnel's first hop */
	CS_CONNECTING, /* connecting it */
	CS_UPROXY,     /* waiting for the upstream proxy's answer to our CONNECT */
	CS_TUNNEL,     /* relaying bytes */
	CS_HANDSHAKE,  /* TLS with the SDK */
	CS_HTTP,       /* requests inside the TLS tunnel */
	CS_FLUSH,      /* writing a last answer, then closing */
	CS_LINGER,     /* answer written and our side shut: reading what the client still sends, then closing */
};

enum rq_state {
	RQ_HEAD,    /* reading a request's head */
	RQ_BUFFER,  /* reading the body to check the signature over it */
	RQ_EXPECT,  /* forwarded with expect: waiting for the gate's 100 */
	RQ_STREAM,  /* forwarding the body */
	RQ_SENT,    /* request complete: waiting for the end of the response */
	RQ_REFUSED, /* answered locally or by the gate before the body: close afterwards */
};

struct lp_req {
	enum rq_state st;
	size_t hlen;
	size_t url_off, cur_off;
	size_t nh;
	int in_field;
	int expect, keep_alive, head_method, has_body, chunked, body_done;
	uint64_t clen;
	unsigned char *body; /* RQ_BUFFER */
	size_t bodylen, bodycap, bodysent;
	size_t pendlen;
	struct px_gatec_request *grq;
	int head_sent, resp_chunked, resp_done, out_paused;
	/* The buffers last: a new request clears the fields above only (the
	 * lengths say what of these is valid), not 36 KiB per request. */
	char hbuf[PX_LPROXY_MAX_HEAD]; /* method, URL, names and values, each NUL-terminated */
	struct sv4_header h[PX_LPROXY_MAX_HEADERS];
	unsigned char pend[PX_LPROXY_MAX_HEAD]; /* body bytes the gate did not take yet */
};

struct lp_conn {
	struct px_lproxy *lp;
	struct px_link link; /* on lp->conns while open, then on lp->zombies */
	unsigned long id;
	enum conn_state st;
	int fd, ufd;
	ev_io io, uio;
	ev_timer timer;
	int paused; /* the llhttp parser waits for us */
	llhttp_t p;
	unsigned char in[PX_LPROXY_MAX_HEAD];
	size_t inoff, inlen;
	/* the CONNECT head */
	char url[PX_LPROXY_MAX_TARGET + 1];
	size_t urllen;
	int url_long, is_connect, head_done;
	struct px_lproxy_target t;
	/* the tunnel */
	struct px_resolve_query *rq;
	struct sockaddr_storage addrs[PX_RESOLVE_MAX_ADDRS];
	size_t naddrs, ai;
	uint16_t hop_port;
	int via_proxy;
	unsigned char *c2u, *u2c;
	size_t c2u_len, u2c_len;
	int c_eof, u_eof, c_shut, u_shut;
	/* TLS and what goes to the SDK */
	SSL *ssl;
	unsigned char *out;
	size_t outoff, outlen, outcap;
	struct lp_req *req;
	int dead;
	int rd_ready; /* the loop saw the SDK's socket readable and no SSL_read has followed */
	int dirty;    /* on lp->dirty: to advance once the current callback returns */
	struct lp_conn *dirty_next;
};

struct px_lproxy {
	struct ev_loop *loop;
	int lfd;
	uint16_t port;
	ev_io lio;
	ev_async stop_w;
	ev_check reap_w;
	ev_timer fatal_w;
	int fatal, cert_logged;
	SSL_CTX *sctx;
	struct px_lproxy_leaves *leaves;
	struct sv4_signer *signer;
	struct px_gatec *gc;
	struct px_resolver *res;
	struct px_resolve_loop *rl;
	struct px_list conns;   /* lp_conn.link: open connections */
	struct px_list zombies; /* lp_conn.link: closed, freed from the loop's check phase */
	struct lp_conn *dirty; /* connections the gate's events touched, advanced by flush_w */
	ev_timer flush_w;      /* never started: fed, so it runs right after the current callback */
	unsigned long next_id;
	char *access_key, *secret_key, *app, *role, *no_proxy;
	char proxy_host[FED_MAX_HOST + 1];
	uint16_t proxy_port;
	int has_proxy, refuse_other;
	uint32_t skew;
	void (*log)(void *arg, const char *msg);
	void *log_arg;
};

/* ------------------------------------------------------------------ logging */

static void lp_log(struct px_lproxy *lp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lp_log(struct px_lproxy *lp, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (lp->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lp->log(lp->log_arg, msg);
}

/* ------------------------------------------------------------- connections */

static void conn_advance(struct lp_conn *c);
static void conn_close(struct lp_conn *c);

/* (Re)arms |c|'s one timer for |secs| from now (0: stops it). A request
 * re-arms it three or four times: ev_timer_again moves it in libev's heap
 * once, where a stop and a start took it out and put it back. */
static void conn_timer(struct lp_conn *c, double secs)
{
	if (secs > 0) {
		c->timer.repeat = secs;
		ev_timer_again(c->lp->loop, &c->timer);
	} else {
		ev_timer_stop(c->lp->loop, &c->timer);
	}
}

/*
 * Advances |c| once the current callback returns rather than now: the gate
 * client calls on_head, on_body and on_done one after the other from one
 * read, and what they queue for the SDK then leaves in one SSL_write (one
 * TLS record, one write()) instead of one per event. The event is fed, so
 * it runs in the same loop round, before the loop polls again.
 */
static void conn_defer(struct lp_conn *c)
{
	struct px_lproxy *lp = c->lp;

	if (c->dead || c->dirty)
		return;
	if (ev_depth(lp->loop) == 0) { /* not from a callback: nothing else will come */
		conn_advance(c);
		return;
	}
	c->dirty = 1;
	c->dirty_next = lp->dirty;
	lp->dirty = c;
	if (!ev_is_pending(&lp->flush_w))
		ev_feed_event(lp->loop, &lp->flush_w, EV_TIMER);
}

static void flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct px_lproxy *lp = w->data;
	struct lp_conn *c;

	(void)loop;
	(void)revents;
	while ((c = lp->dirty) != NULL) {
		lp->dirty = c->dirty_next;
		c->dirty = 0;
		conn_advance(c);
	}
}

static void set_io(struct px_lproxy *lp, ev_io *w, int fd, int events)
{
	if (fd < 0)
		return;
	if ((w->events & (EV_READ | EV_WRITE)) == events && ev_is_active(w))
		return;
	ev_io_stop(lp->loop, w);
	if (events != 0) {
		ev_io_set(w, fd, events);
		ev_io_start(lp->loop, w);
	}
}

static int out_reserve(struct lp_conn *c, size_t n)
{
	unsigned char *p;
	size_t cap;

	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + n <= c->outcap)
		return 0;
	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
		if (c->outlen + n <= c->outcap)
			return 0;
	}
	if (c->outlen + n > OUT_MAX)
		return -1;
	cap = c->outcap ? c->outcap : 16384;
	while (cap < c->outlen + n)
		cap *= 2;
	if (cap > OUT_MAX)
		cap = OUT_MAX;
	p = realloc(c->out, cap);
	if (p == NULL)
		return -1;
	c->out = p;
	c->outcap = cap;
	return 0;
}

static int out_add(struct lp_conn *c, const void *data, size_t len)
{
	if (out_reserve(c, len) != 0)
		return -1;
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
	return 0;
}

static int out_printf(struct lp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int out_printf(struct lp_conn *c, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return out_add(c, buf, (size_t)n);
}

/* A plain-text answer to the CONNECT (or to what was sent instead), then
 * the connection is closed. */
static void plain_answer(struct lp_conn *c, int status, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void plain_answer(struct lp_conn *c, int status, const char *reason, const char *fmt, ...)
{
	char body[1536];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(body))
		n = (int)sizeof(body) - 1;
	c->outoff = c->outlen = 0;
	if (out_printf(c,
	               "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
	               "Connection: close\r\n\r\n",
	               status, reason, n) != 0 ||
	    out_add(c, body, (size_t)n) != 0) {
		conn_close(c);
		return;
	}
	c->st = CS_FLUSH;
	conn_timer(c, HEAD_TIMEOUT);
}

static void conn_free(struct lp_conn *c)
{
	if (c->req != NULL) {
		free(c->req->body);
		free(c->req);
	}
	free(c->c2u);
	free(c->u2c);
	free(c->out);
	free(c);
}

static void conn_close(struct lp_conn *c)
{
	struct px_lproxy *lp = c->lp;

	if (c->dead)
		return;
	c->dead = 1;
	if (c->dirty) {
		struct lp_conn **pp;
		for (pp = &lp->dirty; *pp != NULL; pp = &(*pp)->dirty_next)
			if (*pp == c) {
				*pp = c->dirty_next;
				break;
			}
		c->dirty = 0;
	}
	ev_io_stop(lp->loop, &c->io);
	ev_io_stop(lp->loop, &c->uio);
	ev_timer_stop(lp->loop, &c->timer);
	if (c->rq != NULL) {
		px_resolve_cancel(c->rq);
		c->rq = NULL;
	}
	if (c->req != NULL && c->req->grq != NULL) {
		px_gatec_request_cancel(c->req->grq);
		c->req->grq = NULL;
	}
	if (c->ssl != NULL) {
		if (c->st != CS_HANDSHAKE && c->st != CS_LINGER)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->fd = c->ufd = -1;
	px_list_unlink(&lp->conns, &c->link);
	/* Freed from the loop's check phase: we may be deep in a callback of
	 * llhttp, OpenSSL or the gate client that still holds |c|. */
	px_list_push(&lp->zombies, &c->link);
}

static void reap(struct px_lproxy *lp)
{
	while (lp->zombies.first != NULL) {
		struct lp_conn *c = PX_CONTAINER_OF(lp->zombies.first, struct lp_conn, link);
		px_list_unlink(&lp->zombies, &c->link);
		conn_free(c);
	}
}

static void reap_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)revents;
	reap(w->data);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lp_conn *c = w->data;
	(void)revents;
	ev_timer_stop(loop, w); /* one shot: conn_timer() arms it again if needed */
	if (c->st == CS_CONNECTING || c->st == CS_RESOLVE || c->st == CS_UPROXY) {
		plain_answer(c, 504, "Gateway Timeout", "awsgate local proxy: connecting to %s:%u timed out after %.0f s.\n",
		             c->t.host, c->t.port, CONNECT_TIMEOUT);
		conn_advance(c);
		return;
	}
	conn_close(c);
}

/* ------------------------------------------------------------- the tunnel */

static void tunnel_connect_next(struct lp_conn *c);

static void tunnel_start_relay(struct lp_conn *c, const unsigned char *extra, size_t n)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	c->st = CS_TUNNEL;
	memcpy(c->u2c, ok, sizeof(ok) - 1);
	c->u2c_len = sizeof(ok) - 1;
	if (n > PX_LPROXY_TUNNEL_BUF - c->u2c_len)
		n = PX_LPROXY_TUNNEL_BUF - c->u2c_len; /* cannot happen: the head buffer is smaller */
	if (n > 0) /* |extra| is NULL when there is nothing: memcpy must not see it */
		memcpy(c->u2c + c->u2c_len, extra, n);
	c->u2c_len += n;
	conn_timer(c, IDLE_TIMEOUT);
}

static void tunnel_connected(struct lp_conn *c)
{
	if (c->via_proxy) {
		char req[PX_LPROXY_MAX_TARGET * 2 + 128];
		const char *lb = c->t.kind == PX_LP_IPV6 ? "[" : "", *rb = c->t.kind == PX_LP_IPV6 ? "]" : "";
		int n = snprintf(req, sizeof(req), "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n", lb, c->t.host,
		                 rb, c->t.port, lb, c->t.host, rb, c->t.port);
		if (n < 0 || (size_t)n >= sizeof(req) || send(c->ufd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: the upstream proxy %s:%u closed the connection.\n",
			             c->lp->proxy_host, c->lp->proxy_port);
			return;
		}
		c->st = CS_UPROXY;
		c->inoff = c->inlen = 0;
		return;
	}
	tunnel_start_relay(c, NULL, 0);
}

static void tunnel_connect_next(struct lp_conn *c)
{
	while (c->ai < c->naddrs) {
		struct sockaddr_storage *ss = &c->addrs[c->ai++];
		socklen_t sl = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		int fd;

		if (px_sockaddr_set_port(ss, c->hop_port) != 0)
			continue;
		fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)ss, sl) != 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		c->ufd = fd;
		c->st = CS_CONNECTING;
		return;
	}
	if (c->via_proxy)
		plain_answer(c, 502, "Bad Gateway",
		             "awsgate local proxy: cannot connect to the upstream proxy %s:%u (for %s:%u). Check HTTPS_PROXY "
		             "or the proxy's upstream setting.\n",
		             c->lp->proxy_host, c->lp->proxy_port, c->t.host, c->t.port);
	else
		plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: cannot connect to %s:%u.\n", c->t.host, c->t.port);
}

static void tunnel_resolved(struct lp_conn *c, const struct px_resolve_answer *a)
{
	const char *name = c->via_proxy ? c->lp->proxy_host : c->t.host;

	if (a->err != 0 || a->n == 0) {
		plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: %s does not resolve (%s).\n", name,
		             a->err != 0 ? a->detail : "no address");
		return;
	}
	memcpy(c->addrs, a->addrs, a->n * sizeof(a->addrs[0]));
	c->naddrs = a->n;
	c->ai = 0;
	tunnel_connect_next(c);
}

static void resolve_cb(void *arg, const struct px_resolve_answer *a)
{
	struct lp_conn *c = arg;
	c->rq = NULL;
	tunnel_resolved(c, a);
	conn_advance(c);
}

static void tunnel_begin(struct lp_conn *c)
{
	struct px_lproxy *lp = c->lp;
	struct px_resolve_answer *now;
	const char *name;
	int r;

	c->c2u = malloc(PX_LPROXY_TUNNEL_BUF);
	c->u2c = malloc(PX_LPROXY_TUNNEL_BUF);
	now = malloc(sizeof(*now));
	if (c->c2u == NULL || c->u2c == NULL || now == NULL) {
		free(now);
		conn_close(c);
		return;
	}
	c->via_proxy = lp->has_proxy && !px_lproxy_no_proxy_match(lp->no_proxy, c->t.host, c->t.hostlen);
	name = c->via_proxy ? lp->proxy_host : c->t.host;
	c->hop_port = c->via_proxy ? lp->proxy_port : c->t.port;
	c->st = CS_RESOLVE;
	conn_timer(c, CONNECT_TIMEOUT);
	memset(now, 0, sizeof(*now));
	r = px_resolve_start(lp->rl, name, now, resolve_cb, c, &c->rq);
	if (r == 0)
		tunnel_resolved(c, now);
	else if (r != PX_RESOLVE_PENDING)
		plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: cannot resolve %s.\n", name);
	free(now);
}

/* Moves bytes both ways until every socket would block. */
static void tunnel_pump(struct lp_conn *c)
{
	int progress = 1;

	while (progress && !c->dead) {
		ssize_t n;
		progress = 0;
		if (!c->c_eof && c->c2u_len < PX_LPROXY_TUNNEL_BUF) {
			n = recv(c->fd, c->c2u + c->c2u_len, PX_LPROXY_TUNNEL_BUF - c->c2u_len, 0);
			if (n > 0) {
				c->c2u_len += (size_t)n;
				progress = 1;
			} else if (n == 0) {
				c->c_eof = progress = 1;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(c);
				return;
			}
		}
		if (!c->u_eof && c->u2c_len < PX_LPROXY_TUNNEL_BUF) {
			n = recv(c->ufd, c->u2c + c->u2c_len, PX_LPROXY_TUNNEL_BUF - c->u2c_len, 0);
			if (n > 0) {
				c->u2c_len += (size_t)n;
				progress = 1;
			} else if (n == 0) {
				c->u_eof = progress = 1;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(c);
				return;
			}
		}
		if (c->c2u_len > 0) {
			n = send(c->ufd, c->c2u, c->c2u_len, MSG_NOSIGNAL);
			if (n > 0) {
				memmove(c->c2u, c->c2u + n, c->c2u_len - (size_t)n);
				c->c2u_len -= (size_t)n;
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(c);
				return;
			}
		}
		if (c->u2c_len > 0) {
			n = send(c->fd, c->u2c, c->u2c_len, MSG_NOSIGNAL);
			if (n > 0) {
				memmove(c->u2c, c->u2c + n, c->u2c_len - (size_t)n);
				c->u2c_len -= (size_t)n;
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(c);
				return;
			}
		}
		/* Half-close: an end of one side is passed on once its bytes are. */
		if (c->c_eof && c->c2u_len == 0 && !c->u_shut) {
			(void)shutdown(c->ufd, SHUT_WR);
			c->u_shut = 1;
		}
		if (c->u_eof && c->u2c_len == 0 && !c->c_shut) {
			(void)shutdown(c->fd, SHUT_WR);
			c->c_shut = 1;
		}
	}
	if (progress == 0 && c->u_shut && c->c_shut) {
		conn_close(c);
		return;
	}
	if (!c->dead)
		conn_timer(c, IDLE_TIMEOUT);
}

/* Reads the upstream proxy's answer to our CONNECT. */
static void uproxy_read(struct lp_conn *c)
{
	ssize_t n;
	unsigned char *end;

	for (;;) {
		if (c->inlen >= sizeof(c->in)) {
			plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: the upstream proxy's answer is too long.\n");
			return;
		}
		n = recv(c->ufd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: the upstream proxy %s:%u closed the connection.\n",
			             c->lp->proxy_host, c->lp->proxy_port);
			return;
		}
		c->inlen += (size_t)n;
		end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (end != NULL)
			break;
	}
	if (c->inlen < 12 || memcmp(c->in, "HTTP/1.", 7) != 0 || c->in[9] != '2') {
		char line[128];
		size_t l = 0;
		while (l < c->inlen && l < 100 && c->in[l] != '\r')
			l++;
		px_quote(line, sizeof(line), (const char *)c->in, l, 100);
		plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: the upstream proxy %s:%u refused CONNECT %s:%u: %s\n",
		             c->lp->proxy_host, c->lp->proxy_port, c->t.host, c->t.port, line);
		return;
	}
	end += 4;
	tunnel_start_relay(c, end, (size_t)(c->in + c->inlen - end));
	c->inoff = c->inlen = 0;
}

/* --------------------------------------------------------- the CONNECT head */

static struct lp_conn *C(llhttp_t *p)
{
	return p->data;
}

static int head_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct lp_conn *c = C(p);
	if (c->urllen + len > PX_LPROXY_MAX_TARGET) {
		c->url_long = 1;
		return 0;
	}
	memcpy(c->url + c->urllen, at, len);
	c->urllen += len;
	return 0;
}

static int head_on_headers_complete(llhttp_t *p)
{
	struct lp_conn *c = C(p);
	c->is_connect = p->method == HTTP_CONNECT;
	c->head_done = 1;
	return HPE_PAUSED;
}

static const llhttp_settings_t head_settings = {
	.on_url = head_on_url,
	.on_headers_complete = head_on_headers_complete,
};

static void intercept_begin(struct lp_conn *c);

static void connect_decide(struct lp_conn *c, const unsigned char *extra, size_t n)
{
	struct px_lproxy *lp = c->lp;
	char q[PX_LPROXY_MAX_TARGET + 8];
	enum px_lproxy_route route;

	if (!c->is_connect) {
		plain_answer(c, 405, "Method Not Allowed",
		             "This is awsgate's local proxy: it only accepts HTTP CONNECT (it is an HTTPS proxy for the AWS "
		             "CLI and SDKs), not %s requests.\n%s\n",
		             llhttp_method_name((llhttp_method_t)c->p.method), USAGE_HINT);
		return;
	}
	c->url[c->urllen] = '\0';
	if (c->url_long || px_lproxy_target_parse(c->url, c->urllen, &c->t) != 0) {
		px_quote(q, sizeof(q), c->url, c->urllen, 100);
		plain_answer(c, 400, "Bad Request",
		             "awsgate local proxy: the CONNECT target \"%s\" is not host:port (a DNS name, an IPv4 address or "
		             "[IPv6 address], then a port 1-65535).\n%s\n",
		             q, USAGE_HINT);
		return;
	}
	if (n > 0) {
		/* The client spoke before our 200: nothing we forward may be
		 * sent before the tunnel exists. */
		plain_answer(c, 400, "Bad Request",
		             "awsgate local proxy: bytes were sent after CONNECT before the proxy answered it.\n");
		return;
	}
	(void)extra;
	route = px_lproxy_route(&c->t);
	if (route == PX_LP_INTERCEPT) {
		intercept_begin(c);
		return;
	}
	if (route == PX_LP_OTHER && lp->refuse_other) {
		plain_answer(c, 403, "Forbidden",
		             "awsgate local proxy: %s:%u is not an AWS API endpoint, and this proxy is set to refuse other "
		             "hosts. Reach it without the proxy (add it to NO_PROXY), or start the proxy without the option "
		             "that refuses other hosts.\n",
		             c->t.host, c->t.port);
		return;
	}
	tunnel_begin(c);
}

static void head_read(struct lp_conn *c)
{
	for (;;) {
		ssize_t n;
		enum llhttp_errno e;
		size_t used;

		if (c->inlen >= sizeof(c->in)) {
			plain_answer(c, 431, "Request Header Fields Too Large",
			             "awsgate local proxy: the CONNECT request's head is over %u bytes.\n", PX_LPROXY_MAX_HEAD);
			return;
		}
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		e = llhttp_execute(&c->p, (const char *)c->in + c->inlen, (size_t)n);
		c->inlen += (size_t)n;
		if (e == HPE_OK)
			continue;
		if ((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) && c->head_done) {
			used = (size_t)((const unsigned char *)llhttp_get_error_pos(&c->p) - c->in);
			connect_decide(c, c->in + used, c->inlen - used);
			return;
		}
		plain_answer(c, 400, "Bad Request",
		             "awsgate local proxy: this is not an HTTP request the proxy understands (%s): it takes "
		             "`CONNECT host:port HTTP/1.1`.\n%s\n",
		             llhttp_errno_name(e), USAGE_HINT);
		return;
	}
}

/* --------------------------------------------------- requests in the tunnel */

static int rq_on_message_begin(llhttp_t *p);
static int rq_on_url(llhttp_t *p, const char *at, size_t len);
static int rq_on_field(llhttp_t *p, const char *at, size_t len);
static int rq_on_value(llhttp_t *p, const char *at, size_t len);
static int rq_on_span_complete(llhttp_t *p);
static int rq_on_headers_complete(llhttp_t *p);
static int rq_on_body(llhttp_t *p, const char *at, size_t len);
static int rq_on_message_complete(llhttp_t *p);

static const llhttp_settings_t rq_settings = {
	.on_message_begin = rq_on_message_begin,
	.on_url = rq_on_url,
	.on_header_field = rq_on_field,
	.on_header_value = rq_on_value,
	.on_url_complete = rq_on_span_complete,
	.on_header_field_complete = rq_on_span_complete,
	.on_header_value_complete = rq_on_span_complete,
	.on_headers_complete = rq_on_headers_complete,
	.on_body = rq_on_body,
	.on_message_complete = rq_on_message_complete,
};

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
	unsigned int i = 0;
	(void)ssl;
	(void)arg;
	while (i < inlen) {
		unsigned int l = in[i];
		if (i + 1 + l > inlen)
			break;
		if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	/* Not offered: carry on without ALPN; HTTP/1.1 is all we speak. */
	return SSL_TLSEXT_ERR_NOACK;
}

static void intercept_begin(struct lp_conn *c)
{
	struct px_lproxy *lp = c->lp;
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	char err[512];
	X509 *cert;
	EVP_PKEY *key;

	if (px_lproxy_leaf_get(lp->leaves, c->t.host, (int64_t)time(NULL), &cert, &key, err, sizeof(err)) != 0) {
		lp_log(lp, "awsgate local proxy: %s", err);
		plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: %s\n", err);
		return;
	}
	c->ssl = SSL_new(lp->sctx);
	if (c->ssl == NULL || SSL_use_certificate(c->ssl, cert) != 1 || SSL_use_PrivateKey(c->ssl, key) != 1 ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		plain_answer(c, 502, "Bad Gateway", "awsgate local proxy: TLS could not be set up (out of memory).\n");
		return;
	}
	/* The 200 goes out in clear before the handshake: written directly, it
	 * is tiny and the socket is fresh. */
	if (send(c->fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(ok) - 1)) {
		conn_close(c);
		return;
	}
	c->inoff = c->inlen = 0;
	c->st = CS_HANDSHAKE;
	conn_timer(c, HEAD_TIMEOUT);
}

static struct lp_req *R(llhttp_t *p)
{
	return C(p)->req;
}

static int hb_add(struct lp_req *r, const char *at, size_t len)
{
	if (r->hlen + len + 1 > sizeof(r->hbuf))
		return -1;
	memcpy(r->hbuf + r->hlen, at, len);
	r->hlen += len;
	return 0;
}

static int rq_on_message_begin(llhttp_t *p)
{
	struct lp_conn *c = C(p);
	struct lp_req *r = c->req;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return -1;
		c->req = r;
	} else {
		/* The body buffer is kept for the next request up to
		 * PX_LPROXY_BODY_KEEP: the same memory, no malloc per request. */
		unsigned char *body = r->body;
		size_t cap = r->bodycap;
		if (cap > PX_LPROXY_BODY_KEEP) {
			free(body);
			body = NULL;
			cap = 0;
		}
		memset(r, 0, offsetof(struct lp_req, hbuf));
		r->body = body;
		r->bodycap = cap;
	}
	r->st = RQ_HEAD;
	conn_timer(c, HEAD_TIMEOUT);
	return 0;
}

static int rq_on_url(llhttp_t *p, const char *at, size_t len)
{
	return hb_add(R(p), at, len) == 0 ? 0 : HPE_USER;
}

static int rq_on_field(llhttp_t *p, const char *at, size_t len)
{
	struct lp_req *r = R(p);
	if (!r->in_field) {
		if (r->nh >= PX_LPROXY_MAX_HEADERS)
			return HPE_USER;
		r->in_field = 1;
		r->cur_off = r->hlen;
	}
	return hb_add(r, at, len) == 0 ? 0 : HPE_USER;
}

static int rq_on_value(llhttp_t *p, const char *at, size_t len)
{
	struct lp_req *r = R(p);
	if (r->in_field == 3)
		r->in_field = 2; /* the value starts where the name's NUL ended */
	return hb_add(r, at, len) == 0 ? 0 : HPE_USER;
}

/* Ends the URL, a name or a value: NUL-terminates it and records it. */
static int rq_on_span_complete(llhttp_t *p)
{
	struct lp_req *r = R(p);
	size_t start = r->cur_off;

	if (r->hlen + 1 > sizeof(r->hbuf))
		return HPE_USER;
	r->hbuf[r->hlen++] = '\0';
	if (r->in_field == 0) { /* the URL */
		r->url_off = 0;
		r->cur_off = r->hlen;
		return 0;
	}
	if (r->in_field == 1) { /* a name; its value follows (possibly empty) */
		r->h[r->nh].name = r->hbuf + start;
		r->h[r->nh].namelen = r->hlen - 1 - start;
		r->h[r->nh].value = "";
		r->h[r->nh].valuelen = 0;
		r->in_field = 3;
		r->cur_off = r->hlen;
		return 0;
	}
	if (r->in_field == 3) { /* an empty value: no value span came */
		r->nh++;
		r->in_field = 0;
		return 0;
	}
	/* a value: trailing spaces dropped (llhttp drops the leading ones) */
	{
		size_t vl = r->hlen - 1 - start;
		while (vl > 0 && (r->hbuf[start + vl - 1] == ' ' || r->hbuf[start + vl - 1] == '\t'))
			r->hbuf[start + --vl] = '\0';
		r->h[r->nh].value = r->hbuf + start;
		r->h[r->nh].valuelen = vl;
	}
	r->nh++;
	r->in_field = 0;
	r->cur_off = r->hlen;
	return 0;
}

static void req_dispatch(struct lp_conn *c);

static const struct sv4_header *find_header(const struct lp_req *r, const char *name)
{
	size_t i, l = strlen(name);
	for (i = 0; i < r->nh; i++)
		if (r->h[i].namelen == l && strncasecmp(r->h[i].name, name, l) == 0)
			return &r->h[i];
	return NULL;
}

static int rq_on_headers_complete(llhttp_t *p)
{
	struct lp_conn *c = C(p);
	struct lp_req *r = c->req;
	const struct sv4_header *e;

	if (r->in_field == 1 || r->in_field == 3) { /* a name whose value never completed */
		r->nh++;
		r->in_field = 0;
	}
	r->keep_alive = llhttp_should_keep_alive(p);
	r->head_method = p->method == HTTP_HEAD;
	r->chunked = (p->flags & F_CHUNKED) != 0;
	r->clen = r->chunked ? 0 : p->content_length;
	r->has_body = r->chunked || r->clen > 0;
	e = find_header(r, "expect");
	r->expect = e != NULL && e->valuelen == 12 && strncasecmp(e->value, "100-continue", 12) == 0;
	conn_timer(c, IDLE_TIMEOUT);
	/* Decided here, inside llhttp: a request without a body goes on to
	 * on_message_complete in the same call; a wait pauses the parser. */
	c->paused = 0;
	req_dispatch(c);
	return (c->dead || c->st != CS_HTTP || c->paused) ? HPE_PAUSED : 0;
}

/* --- answers made here ---------------------------------------------------- */

static void request_id(char id[PX_MAX_REQUEST_ID + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char rnd[16];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 15];
	}
	id[32] = '\0';
}

static void req_view(const struct lp_req *r, struct sv4_request *q)
{
	const char *url = r->hbuf + r->url_off, *qm = strchr(url, '?');

	memset(q, 0, sizeof(*q));
	q->method = r->hbuf + r->hlen; /* replaced below */
	q->path = url;
	q->pathlen = qm != NULL ? (size_t)(qm - url) : strlen(url);
	q->query = qm != NULL ? qm + 1 : "";
	q->querylen = strlen(q->query);
	q->headers = r->h;
	q->nheaders = r->nh;
}

/* An AWS-shaped error, in the addressed service's protocol, made here. */
static void local_error(struct lp_conn *c, const struct px_reason_info *ri, const char *msg)
{
	struct lp_req *r = c->req;
	struct sv4_request q;
	struct px_errctx ctx;
	struct px_awserror *ae;
	char svc[SV4_MAX_SCOPE_PART + 1], id[PX_MAX_REQUEST_ID + 1];
	const char *method = llhttp_method_name((llhttp_method_t)c->p.method);
	size_t i;

	ae = malloc(sizeof(*ae));
	if (ae == NULL) {
		conn_close(c);
		return;
	}
	req_view(r, &q);
	q.method = method;
	q.methodlen = strlen(method);
	px_errctx_from_request(&ctx, &q, NULL, svc, sizeof(svc));
	request_id(id);
	if (px_awserror_render_info(&ctx, ri, msg, id, ae) != 0) {
		free(ae);
		conn_close(c);
		return;
	}
	(void)out_printf(c, "HTTP/1.1 %d %s\r\n", ae->status, ae->status == 403 ? "Forbidden" : "Error");
	for (i = 0; i < ae->nheaders; i++) {
		(void)out_add(c, ae->headers[i].name, ae->headers[i].namelen);
		(void)out_add(c, ": ", 2);
		(void)out_add(c, ae->headers[i].value, ae->headers[i].valuelen);
		(void)out_add(c, "\r\n", 2);
	}
	(void)out_printf(c, "Content-Length: %zu\r\nConnection: close\r\n\r\n", r->head_method ? 0 : ae->bodylen);
	if (!r->head_method)
		(void)out_add(c, ae->body, ae->bodylen);
	free(ae);
	/* The body (if any) is not read: the connection ends with this answer. */
	r->st = RQ_REFUSED;
	c->st = CS_FLUSH;
	conn_timer(c, HEAD_TIMEOUT);
}

static const struct px_reason_info LOCAL_SIGNATURE = {"local-signature", 403, "SignatureDoesNotMatch",
                                                      "InvalidSignatureException"};
static const struct px_reason_info LOCAL_MALFORMED = {"local-request-malformed", 400, "InvalidRequest",
                                                      "ValidationException"};
static const struct px_reason_info LOCAL_TOO_LARGE = {"local-body-too-large", 413, "EntityTooLarge",
                                                      "RequestEntityTooLargeException"};
static const struct px_reason_info LOCAL_GATE = {"local-gate-unreachable", 502, "ServiceUnavailable",
                                                 "ServiceUnavailableException"};
static const struct px_reason_info LOCAL_CERT = {"local-certificate-refused", 403, "ExpiredToken",
                                                 "ExpiredTokenException"};

/* --- forwarding ------------------------------------------------------------ */

static void g_on_continue(void *arg);
static void g_on_head(void *arg, int status, const struct px_up_header *hdrs, size_t n);
static int g_on_body(void *arg, const unsigned char *data, size_t len);
static void g_on_writable(void *arg);
static void g_on_done(void *arg, int err, const char *detail);

static const struct px_gatec_handler gate_handler = {
	.on_continue = g_on_continue,
	.on_head = g_on_head,
	.on_body = g_on_body,
	.on_writable = g_on_writable,
	.on_done = g_on_done,
};

static int hop_by_hop(const char *n, size_t l)
{
	/* By length first: one or two comparisons instead of twelve. */
	static const char *const drop[][2] = {
		[2] = {"te", NULL},
		[4] = {"host", NULL},
		[6] = {"expect", NULL},
		[7] = {"upgrade", "trailer"},
		[10] = {"connection", "keep-alive"},
		[13] = {"x-awsgate-app", NULL},
		[14] = {"content-length", "x-awsgate-role"},
		[16] = {"x-forwarded-host", NULL},
		[17] = {"transfer-encoding", NULL},
	};
	size_t i;
	if (l >= 6 && strncasecmp(n, "proxy-", 6) == 0)
		return 1;
	if (l >= sizeof(drop) / sizeof(drop[0]))
		return 0;
	for (i = 0; i < 2 && drop[l][i] != NULL; i++)
		if (strncasecmp(n, drop[l][i], l) == 0)
			return 1;
	return 0;
}

/* Starts the gate request; |with_expect|: the body follows the gate's 100. */
static int forward_start(struct lp_conn *c, int with_expect, enum px_up_body body, uint64_t len)
{
	struct px_lproxy *lp = c->lp;
	struct lp_req *r = c->req;
	struct px_up_header h[PX_LPROXY_MAX_HEADERS + 4];
	const char *method = llhttp_method_name((llhttp_method_t)c->p.method);
	size_t i, n = 0;
	int rv;

	for (i = 0; i < r->nh; i++) {
		if (hop_by_hop(r->h[i].name, r->h[i].namelen))
			continue;
		h[n].name = r->h[i].name;
		h[n].value = r->h[i].value;
		n++;
	}
	h[n].name = "x-forwarded-host";
	h[n++].value = c->t.host;
	if (lp->app != NULL) {
		h[n].name = "x-awsgate-app";
		h[n++].value = lp->app;
	}
	if (lp->role != NULL) {
		h[n].name = "x-awsgate-role";
		h[n++].value = lp->role;
	}
	if (with_expect) {
		h[n].name = "expect";
		h[n++].value = "100-continue";
	}
	rv = px_gatec_request_start(lp->gc, method, r->hbuf + r->url_off, h, n, body, len, &gate_handler, c, &r->grq);
	if (rv != 0) {
		local_error(c, &LOCAL_GATE,
		            rv == PX_ERR_INVALID ? "awsgate local proxy: a header of this request cannot be forwarded."
		                                 : "awsgate local proxy: out of memory.");
		return -1;
	}
	return 0;
}

/* Writes what the gate can take of the pending bytes; 1 when all went. */
static int pend_flush(struct lp_conn *c)
{
	struct lp_req *r = c->req;
	while (r->pendlen > 0) {
		int n = px_gatec_request_write(r->grq, r->pend, r->pendlen);
		if (n == PX_ERR_AGAIN || n == 0)
			return 0;
		if (n < 0) {
			conn_close(c);
			return 0;
		}
		memmove(r->pend, r->pend + n, r->pendlen - (size_t)n);
		r->pendlen -= (size_t)n;
	}
	return 1;
}

/* Feeds the buffered (already checked) body to the gate. */
static void buffered_flush(struct lp_conn *c)
{
	struct lp_req *r = c->req;
	while (r->bodysent < r->bodylen) {
		size_t want = r->bodylen - r->bodysent;
		int n = px_gatec_request_write(r->grq, r->body + r->bodysent, want > 65536 ? 65536 : want);
		if (n == PX_ERR_AGAIN || n == 0)
			return;
		if (n < 0) {
			conn_close(c);
			return;
		}
		r->bodysent += (size_t)n;
	}
	if (r->st == RQ_BUFFER) {
		r->st = RQ_SENT;
		if (px_gatec_request_end(r->grq) != 0)
			conn_close(c);
	}
}

static void verify_and_forward(struct lp_conn *c)
{
	struct px_lproxy *lp = c->lp;
	struct lp_req *r = c->req;
	struct sv4_request q;
	struct sv4_verify_params vp;
	struct sv4_verified v;
	const struct sv4_header *host;
	const char *method = llhttp_method_name((llhttp_method_t)c->p.method);
	char msg[PX_MAX_MESSAGE];
	size_t hl;
	int rv;

	if (r->hbuf[r->url_off] != '/') {
		local_error(c, &LOCAL_MALFORMED, "awsgate local proxy: the request target must be a path (origin-form).");
		return;
	}
	/* The signed Host must be the host the tunnel was opened to: a
	 * signature for another endpoint is not one for this one. */
	host = find_header(r, "host");
	hl = host != NULL ? host->valuelen : 0;
	if (hl > 4 && memcmp(host->value + hl - 4, ":443", 4) == 0)
		hl -= 4;
	if (host == NULL || hl != c->t.hostlen || strncasecmp(host->value, c->t.host, hl) != 0) {
		snprintf(msg, sizeof(msg), "awsgate local proxy: the Host header is not %s, the host this tunnel was opened to.",
		         c->t.host);
		local_error(c, &LOCAL_MALFORMED, msg);
		return;
	}
	req_view(r, &q);
	q.method = method;
	q.methodlen = strlen(method);
	/* Only a body read here is the request's: a buffer kept from an
	 * earlier one is not (sv4_verify would hash it). */
	q.body = r->st == RQ_BUFFER ? r->body : NULL;
	q.bodylen = r->st == RQ_BUFFER ? r->bodylen : 0;
	memset(&vp, 0, sizeof(vp));
	vp.access_key = lp->access_key;
	vp.secret_key = lp->secret_key;
	vp.now = (int64_t)time(NULL);
	vp.max_skew = lp->skew;
	memset(&v, 0, sizeof(v));
	rv = sv4_verify(lp->signer, &q, &vp, &v);
	if (rv != 0 || v.verdict != SV4_VALID) {
		snprintf(msg, sizeof(msg),
		         "awsgate local proxy: this request was not signed with awsgate's local keys (%s: %s), so it was "
		         "not forwarded. %s",
		         rv != 0 ? "error" : sv4_verdict_name(v.verdict),
		         rv != 0 ? sv4_strerror(rv) : (v.detail != NULL ? v.detail : "no detail"),
		         v.verdict == SV4_V_SKEW ? "Check this machine's clock." : USAGE_HINT);
		local_error(c, &LOCAL_SIGNATURE, msg);
		return;
	}
	if (r->st == RQ_BUFFER) { /* the body was read: send it all */
		if (forward_start(c, 0, r->bodylen > 0 ? PX_UP_BODY_LENGTH : PX_UP_BODY_NONE, r->bodylen) != 0)
			return;
		if (r->bodylen == 0) {
			r->st = RQ_SENT;
			return;
		}
		buffered_flush(c);
		return;
	}
	if (!r->has_body) {
		if (forward_start(c, 0, PX_UP_BODY_NONE, 0) != 0)
			return;
		r->st = RQ_SENT; /* on_message_complete follows and pauses until the response is done */
		return;
	}
	if (forward_start(c, r->expect, r->chunked ? PX_UP_BODY_CHUNKED : PX_UP_BODY_LENGTH, r->clen) != 0)
		return;
	if (r->expect) {
		r->st = RQ_EXPECT;
		c->paused = 1; /* the body is not read before the gate's 100 */
		return;
	}
	r->st = RQ_STREAM;
	c->paused = 0;
}

/* After the head: check now, or read the body first when the signature
 * covers its hash and no x-amz-content-sha256 states it. */
static void req_dispatch(struct lp_conn *c)
{
	struct lp_req *r = c->req;

	if (r->has_body && find_header(r, "x-amz-content-sha256") == NULL) {
		if (!r->chunked && r->clen > PX_LPROXY_MAX_SIGNED_BODY) {
			local_error(c, &LOCAL_TOO_LARGE,
			            "awsgate local proxy: the body of this request is over the 8 MiB that the proxy reads to "
			            "check a signature over it (send X-Amz-Content-Sha256, as S3 clients do).");
			return;
		}
		r->st = RQ_BUFFER;
		if (r->expect)
			(void)out_printf(c, "HTTP/1.1 100 Continue\r\n\r\n");
		c->paused = 0;
		return;
	}
	verify_and_forward(c);
}

static int rq_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct lp_conn *c = C(p);
	struct lp_req *r = c->req;
	int n;

	if (r->st == RQ_BUFFER) {
		if (r->bodylen + len > PX_LPROXY_MAX_SIGNED_BODY)
			return HPE_USER;
		if (r->bodylen + len > r->bodycap) {
			size_t cap = r->bodycap ? r->bodycap : 16384;
			unsigned char *b;
			while (cap < r->bodylen + len)
				cap *= 2;
			b = realloc(r->body, cap);
			if (b == NULL)
				return HPE_USER;
			r->body = b;
			r->bodycap = cap;
		}
		memcpy(r->body + r->bodylen, at, len);
		r->bodylen += len;
		return 0;
	}
	if (r->st != RQ_STREAM || r->grq == NULL)
		return HPE_USER;
	conn_timer(c, IDLE_TIMEOUT);
	n = px_gatec_request_write(r->grq, at, len);
	if (n == PX_ERR_AGAIN)
		n = 0;
	if (n < 0)
		return HPE_USER;
	if ((size_t)n < len) {
		/* The gate's buffer is full: keep the rest of this piece and
		 * stop parsing until on_writable. */
		memcpy(r->pend, at + n, len - (size_t)n);
		r->pendlen = len - (size_t)n;
		c->paused = 1;
		return HPE_PAUSED;
	}
	return 0;
}

static int rq_on_message_complete(llhttp_t *p)
{
	struct lp_conn *c = C(p);
	struct lp_req *r = c->req;

	r->body_done = 1;
	c->paused = 1;
	if (r->st == RQ_BUFFER) {
		verify_and_forward(c);
	} else if (r->st == RQ_STREAM) {
		r->st = RQ_SENT;
		if (r->grq != NULL && px_gatec_request_end(r->grq) != 0)
			return HPE_USER;
	}
	return HPE_PAUSED;
}

/* --- the gate's answer ---------------------------------------------------- */

static void g_on_continue(void *arg)
{
	struct lp_conn *c = arg;
	struct lp_req *r = c->req;

	if (r == NULL || r->st != RQ_EXPECT)
		return;
	(void)out_printf(c, "HTTP/1.1 100 Continue\r\n\r\n");
	r->st = RQ_STREAM;
	c->paused = 0;
	llhttp_resume(&c->p);
	conn_defer(c);
}

static const char *reason_phrase(int s)
{
	switch (s) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void g_on_head(void *arg, int status, const struct px_up_header *hdrs, size_t n)
{
	struct lp_conn *c = arg;
	struct lp_req *r = c->req;
	int has_cl = 0, nobody = r->head_method || status == 204 || status == 304 || (status >= 100 && status < 200);
	size_t i;

	if (r->st == RQ_EXPECT || r->st == RQ_STREAM || r->st == RQ_BUFFER) {
		/* Answered before the whole body was sent (a refusal): the SDK
		 * may still send it, so the connection ends with this answer. */
		r->keep_alive = 0;
		if (r->st == RQ_EXPECT)
			r->st = RQ_REFUSED;
	}
	{
		/* The status line without printf: the gate client passes 100..599 only. */
		const char *reason = reason_phrase(status);
		char sl[14] = "HTTP/1.1 000 ";
		sl[9] = (char)('0' + status / 100 % 10);
		sl[10] = (char)('0' + status / 10 % 10);
		sl[11] = (char)('0' + status % 10);
		(void)out_add(c, sl, 13);
		(void)out_add(c, reason, strlen(reason));
		(void)out_add(c, "\r\n", 2);
	}
	for (i = 0; i < n; i++) {
		/* HTTP/2 names are lower case (nghttp2 refuses others): memcmp. */
		size_t l = strlen(hdrs[i].name);
		if (hdrs[i].name[0] == ':' || (l == 17 && memcmp(hdrs[i].name, "transfer-encoding", 17) == 0) ||
		    (l == 10 && memcmp(hdrs[i].name, "connection", 10) == 0) ||
		    (l == 10 && memcmp(hdrs[i].name, "keep-alive", 10) == 0))
			continue;
		if (l == 14 && memcmp(hdrs[i].name, "content-length", 14) == 0)
			has_cl = 1;
		(void)out_add(c, hdrs[i].name, l);
		(void)out_add(c, ": ", 2);
		(void)out_add(c, hdrs[i].value, strlen(hdrs[i].value));
		(void)out_add(c, "\r\n", 2);
	}
	r->resp_chunked = !has_cl && !nobody;
	if (r->resp_chunked)
		(void)out_add(c, "Transfer-Encoding: chunked\r\n", 28);
	if (r->keep_alive)
		(void)out_add(c, "Connection: keep-alive\r\n\r\n", 26);
	else
		(void)out_add(c, "Connection: close\r\n\r\n", 21);
	r->head_sent = 1;
	/*
	 * A head whose body is to come waits in the queue for the body's
	 * first bytes or the end (on_body, on_done: each ends in a flush):
	 * the gate often sends HEADERS and DATA in separate TLS records that
	 * arrive in two reads, and the SDK cannot use a head without its body.
	 * One TLS record and one write instead of two, and the SDK wakes once.
	 */
	if (nobody)
		conn_defer(c);
}

/* Writes |len| in hex and CRLF (a chunk's size line) to |buf|; returns its length. */
static size_t chunk_size_line(char buf[20], size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	size_t n = 0, k = 0;

	do {
		tmp[n++] = hex[len & 15];
		len >>= 4;
	} while (len != 0);
	while (n > 0)
		buf[k++] = tmp[--n];
	buf[k++] = '\r';
	buf[k++] = '\n';
	return k;
}

static int g_on_body(void *arg, const unsigned char *data, size_t len)
{
	struct lp_conn *c = arg;
	struct lp_req *r = c->req;
	int bad;

	if (len == 0)
		return 0;
	if (r->resp_chunked) {
		char sz[20];
		size_t k = chunk_size_line(sz, len);
		bad = out_add(c, sz, k) != 0 || out_add(c, data, len) != 0 || out_add(c, "\r\n", 2) != 0;
	} else {
		bad = out_add(c, data, len) != 0;
	}
	if (bad) {
		/* Cannot happen with the mark below unless a piece is huge: the
		 * response cannot be completed. */
		px_gatec_request_cancel(r->grq);
		r->grq = NULL;
		conn_close(c);
		return PX_ERR_AGAIN;
	}
	conn_timer(c, IDLE_TIMEOUT);
	if (c->outlen - c->outoff >= FLUSH_NOW)
		conn_advance(c); /* a full record's worth: no reason to wait */
	else
		conn_defer(c);
	if (c->dead)
		return PX_ERR_AGAIN;
	if (c->outlen - c->outoff > PX_LPROXY_OUT_HIGH) {
		r->out_paused = 1;
		return PX_ERR_AGAIN;
	}
	return 0;
}

static void g_on_writable(void *arg)
{
	struct lp_conn *c = arg;
	struct lp_req *r = c->req;

	if (r == NULL)
		return;
	if (r->st == RQ_BUFFER || (r->st == RQ_SENT && r->bodysent < r->bodylen)) {
		buffered_flush(c);
		return;
	}
	if (r->pendlen > 0 && pend_flush(c) && !c->dead) {
		c->paused = 0;
		llhttp_resume(&c->p);
		conn_defer(c);
	}
}

static void fatal_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void g_on_done(void *arg, int err, const char *detail)
{
	struct lp_conn *c = arg;
	struct px_lproxy *lp = c->lp;
	struct lp_req *r = c->req;
	char msg[PX_MAX_MESSAGE];

	r->grq = NULL;
	if (err == PX_GATEC_CERT) {
		if (!lp->cert_logged) {
			lp_log(lp, "awsgate local proxy: the gate refused your certificate (expired or revoked): run `awsgate "
			           "login` again; the proxy stops.");
			lp->cert_logged = 1;
		}
		lp->fatal = 1;
		if (!ev_is_active(&lp->fatal_w)) {
			ev_timer_set(&lp->fatal_w, CERT_STOP_DELAY, 0.);
			ev_timer_start(lp->loop, &lp->fatal_w);
		}
		if (!r->head_sent) {
			local_error(c, &LOCAL_CERT,
			            "awsgate local proxy: the gate refused your certificate (it expired or was revoked). Run "
			            "`awsgate login` again, then restart the proxy.");
			conn_defer(c);
			return;
		}
		conn_close(c);
		return;
	}
	if (err != PX_UP_OK) {
		if (!r->head_sent) {
			snprintf(msg, sizeof(msg), "awsgate local proxy: the request could not go through the gate (%s%s%s).",
			         err >= 0 && err < PX_UP_ERROR_COUNT ? px_up_error_name((enum px_up_error)err) : "error",
			         detail != NULL && *detail != '\0' ? ": " : "", detail != NULL ? detail : "");
			lp_log(lp, "%s", msg);
			local_error(c, &LOCAL_GATE, msg);
			conn_defer(c);
			return;
		}
		conn_close(c); /* a response cut short: the SDK sees it and retries */
		return;
	}
	if (r->resp_chunked)
		(void)out_add(c, "0\r\n\r\n", 5);
	r->resp_done = 1;
	if (!r->keep_alive || !r->body_done || r->st == RQ_REFUSED) {
		c->st = CS_FLUSH;
		conn_defer(c);
		return;
	}
	/* The next request on this connection. */
	c->paused = 0;
	llhttp_resume(&c->p);
	conn_timer(c, IDLE_TIMEOUT);
	conn_defer(c);
}

/* Feeds what was read to llhttp until it pauses or wants more. */
static void http_read(struct lp_conn *c)
{
	for (;;) {
		enum llhttp_errno e;
		int n;

		if (c->dead || c->paused || c->st != CS_HTTP)
			return;
		if (c->inoff < c->inlen) {
			const char *start = (const char *)c->in + c->inoff;
			e = llhttp_execute(&c->p, start, c->inlen - c->inoff);
			if (c->dead || c->st != CS_HTTP)
				return;
			if (e == HPE_OK) {
				c->inoff = c->inlen;
			} else if (e == HPE_PAUSED) {
				c->inoff += (size_t)(llhttp_get_error_pos(&c->p) - start);
			} else {
				struct lp_req *r = c->req;
				if (r != NULL && r->st == RQ_BUFFER && r->bodylen + (c->inlen - c->inoff) > PX_LPROXY_MAX_SIGNED_BODY) {
					local_error(c, &LOCAL_TOO_LARGE,
					            "awsgate local proxy: the body of this request is over the 8 MiB that the proxy "
					            "reads to check a signature over it.");
					return;
				}
				if (r != NULL && r->grq != NULL) {
					px_gatec_request_cancel(r->grq);
					r->grq = NULL;
				}
				if (r != NULL && r->st == RQ_HEAD) {
					local_error(c, &LOCAL_MALFORMED,
					            "awsgate local proxy: the request is not valid HTTP/1.1, or its head is over the "
					            "proxy's limits (16 KiB, 128 fields).");
					return;
				}
				conn_close(c);
				return;
			}
			continue;
		}
		/* Read when the loop said the socket is readable, or when OpenSSL
		 * holds bytes already (read-ahead); otherwise the read watcher
		 * is on and the loop will say when there is something: a read
		 * now would only hear EAGAIN. */
		if (!c->rd_ready && !SSL_has_pending(c->ssl))
			return;
		c->rd_ready = 0;
		n = SSL_read(c->ssl, c->in, (int)sizeof(c->in));
		if (n > 0) {
			c->inoff = 0;
			c->inlen = (size_t)n;
			continue;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return;
		default:
			/* The SDK went away: whatever is in flight is abandoned. */
			ERR_clear_error();
			conn_close(c);
			return;
		}
	}
}

/* Writes what is queued for the SDK; resumes the gate when it drained. */
static void out_flush(struct lp_conn *c)
{
	while (c->outoff < c->outlen && !c->dead) {
		int n;
		if (c->ssl != NULL && c->st != CS_HANDSHAKE) {
			size_t want = c->outlen - c->outoff;
			n = SSL_write(c->ssl, c->out + c->outoff, want > 65536 ? 65536 : (int)want);
			if (n <= 0) {
				int e = SSL_get_error(c->ssl, n);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					return;
				ERR_clear_error();
				conn_close(c);
				return;
			}
		} else {
			ssize_t s = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
			if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return;
			if (s <= 0) {
				conn_close(c);
				return;
			}
			n = (int)s;
		}
		c->outoff += (size_t)n;
	}
	if (c->dead)
		return;
	c->outoff = c->outlen = 0;
	if (c->req != NULL && c->req->out_paused && c->req->grq != NULL) {
		c->req->out_paused = 0;
		px_gatec_request_resume(c->req->grq);
	}
	if (c->st == CS_FLUSH) {
		/* Closing now, with the client's request body unread, would
		 * make the kernel send a RST that can destroy our answer before
		 * the client reads it: shut our side and drain a while. */
		if (c->ssl != NULL)
			(void)SSL_shutdown(c->ssl);
		(void)shutdown(c->fd, SHUT_WR);
		c->st = CS_LINGER;
		conn_timer(c, LINGER_TIMEOUT);
	}
}

static void linger_read(struct lp_conn *c)
{
	unsigned char buf[16384];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		conn_close(c);
		return;
	}
}

/* The state machine: every event re-enters here. */
static void conn_advance(struct lp_conn *c)
{
	struct px_lproxy *lp = c->lp;
	int cev = 0, uev = 0, r;

	if (c->dead)
		return;
	switch (c->st) {
	case CS_HEAD:
		head_read(c);
		break;
	case CS_RESOLVE:
		break;
	case CS_CONNECTING: {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == EINPROGRESS || soerr == EALREADY)
			break;
		if (soerr == 0) {
			struct sockaddr_storage ss;
			socklen_t al = sizeof(ss);
			if (getpeername(c->ufd, (struct sockaddr *)&ss, &al) != 0) {
				if (errno == ENOTCONN)
					break; /* not finished yet */
				soerr = errno;
			}
		}
		if (soerr != 0) {
			close(c->ufd);
			c->ufd = -1;
			ev_io_stop(lp->loop, &c->uio);
			tunnel_connect_next(c);
			if (c->st == CS_CONNECTING)
				break;
		} else {
			(void)setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
			tunnel_connected(c);
		}
		if (c->st == CS_UPROXY)
			uproxy_read(c);
		if (c->st == CS_TUNNEL && !c->dead)
			tunnel_pump(c);
		break;
	}
	case CS_UPROXY:
		uproxy_read(c);
		if (c->st == CS_TUNNEL && !c->dead)
			tunnel_pump(c);
		break;
	case CS_TUNNEL:
		tunnel_pump(c);
		break;
	case CS_HANDSHAKE:
		r = SSL_accept(c->ssl);
		if (r == 1) {
			c->st = CS_HTTP;
			c->rd_ready = 0; /* what the handshake's reads brought is in OpenSSL's buffer */
			llhttp_init(&c->p, HTTP_REQUEST, &rq_settings);
			c->p.data = c;
			c->paused = 0;
			conn_timer(c, IDLE_TIMEOUT);
			http_read(c);
		} else {
			int e = SSL_get_error(c->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				unsigned long oe = ERR_peek_last_error();
				char eb[256];
				ERR_error_string_n(oe, eb, sizeof(eb));
				lp_log(lp,
				       "awsgate local proxy: TLS handshake with a client for %s failed (%s): does it trust the "
				       "local CA (AWS_CA_BUNDLE)?",
				       c->t.host, oe != 0 ? eb : "connection closed");
				ERR_clear_error();
				conn_close(c);
				return;
			}
		}
		break;
	case CS_HTTP:
		http_read(c);
		break;
	case CS_FLUSH:
		break;
	case CS_LINGER:
		linger_read(c);
		break;
	}
	if (c->dead)
		return;
	if (c->outlen > c->outoff || c->st == CS_FLUSH)
		out_flush(c);
	if (c->dead)
		return;

	/* What to wait for. */
	switch (c->st) {
	case CS_HEAD:
		cev = EV_READ;
		break;
	case CS_RESOLVE:
		break;
	case CS_CONNECTING:
		uev = EV_WRITE;
		break;
	case CS_UPROXY:
		uev = EV_READ;
		break;
	case CS_TUNNEL:
		if (!c->c_eof && c->c2u_len < PX_LPROXY_TUNNEL_BUF)
			cev |= EV_READ;
		if (c->u2c_len > 0)
			cev |= EV_WRITE;
		if (!c->u_eof && c->u2c_len < PX_LPROXY_TUNNEL_BUF)
			uev |= EV_READ;
		if (c->c2u_len > 0)
			uev |= EV_WRITE;
		break;
	case CS_HANDSHAKE:
		cev = SSL_want_write(c->ssl) ? EV_WRITE : EV_READ;
		break;
	case CS_HTTP:
		/* Read while the parser wants bytes. While it is paused the
		 * watcher stays on until the socket is seen readable (the SDK
		 * sends nothing while it waits for an answer): turning it off
		 * and on for every request would cost an epoll_ctl each. */
		if (!SSL_want_write(c->ssl) && (!c->paused || !c->rd_ready))
			cev |= EV_READ;
		if (c->outlen > c->outoff)
			cev |= SSL_want_read(c->ssl) ? EV_READ : EV_WRITE;
		break;
	case CS_FLUSH:
		cev = EV_WRITE;
		break;
	case CS_LINGER:
		cev = EV_READ;
		break;
	}
	set_io(lp, &c->io, c->fd, cev);
	set_io(lp, &c->uio, c->ufd, uev);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lp_conn *c = w->data;

	(void)loop;
	if (w == &c->io && (revents & EV_READ))
		c->rd_ready = 1;
	conn_advance(c);
}

/* ------------------------------------------------------------- listening */

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_lproxy *lp = w->data;
	(void)loop;
	(void)revents;
	for (;;) {
		struct lp_conn *c;
		int fd = accept4(lp->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (lp->conns.n >= PX_LPROXY_MAX_CONNS || lp->fatal) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		c->lp = lp;
		c->id = ++lp->next_id;
		c->fd = fd;
		c->ufd = -1;
		c->st = CS_HEAD;
		ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
		c->io.data = c;
		ev_io_init(&c->uio, conn_io_cb, 0, EV_READ);
		c->uio.data = c;
		ev_init(&c->timer, conn_timer_cb);
		c->timer.data = c;
		llhttp_init(&c->p, HTTP_REQUEST, &head_settings);
		c->p.data = c;
		px_list_push(&lp->conns, &c->link);
		conn_timer(c, HEAD_TIMEOUT);
		conn_advance(c);
	}
}

static void stop_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static char *dup_or_null(const char *s, int *bad)
{
	char *d;
	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*bad = 1;
	return d;
}

/* "http://[user@]host:port[/]" or "host:port": the user's own proxy. */
static int parse_upstream_proxy(struct px_lproxy *lp, const char *u, char *err, size_t errlen)
{
	struct px_lproxy_target t;
	const char *p = u, *end, *at;

	if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (strstr(p, "://") != NULL) {
		snprintf(err, errlen, "the upstream proxy %s is not an http:// proxy (only HTTP CONNECT proxies are supported)",
		         u);
		return PX_ERR_LPROXY;
	}
	at = strchr(p, '@');
	if (at != NULL) {
		snprintf(err, errlen, "the upstream proxy URL carries credentials, which the local proxy does not support");
		return PX_ERR_LPROXY;
	}
	end = p + strlen(p);
	if (end > p && end[-1] == '/')
		end--;
	if (px_lproxy_target_parse(p, (size_t)(end - p), &t) != 0) {
		/* no port: 1080 is curl's default for an http proxy */
		char tmp[PX_LPROXY_MAX_TARGET + 8];
		if ((size_t)(end - p) > PX_LPROXY_MAX_TARGET ||
		    (size_t)snprintf(tmp, sizeof(tmp), "%.*s:1080", (int)(end - p), p) >= sizeof(tmp) ||
		    px_lproxy_target_parse(tmp, strlen(tmp), &t) != 0) {
			snprintf(err, errlen, "the upstream proxy %s is not http://host:port", u);
			return PX_ERR_LPROXY;
		}
	}
	snprintf(lp->proxy_host, sizeof(lp->proxy_host), "%s", t.host);
	lp->proxy_port = t.port;
	lp->has_proxy = 1;
	return 0;
}

int px_lproxy_new(const struct px_lproxy_config *cfg, struct px_lproxy **out, char *err, size_t errlen)
{
	struct px_lproxy *lp;
	struct px_gatec_config gcfg;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int bad = 0, one = 1;
	char ebuf[512];

	if (cfg == NULL || out == NULL) {
		snprintf(err, errlen, "no configuration");
		return PX_ERR_LPROXY;
	}
	if (cfg->access_key_id == NULL || cfg->secret_access_key == NULL || *cfg->access_key_id == '\0' ||
	    *cfg->secret_access_key == '\0') {
		snprintf(err, errlen, "the local proxy needs the profile's throw-away keys: run `awsgate login` again");
		return PX_ERR_LPROXY;
	}
	if (cfg->gate == NULL || cfg->cert_file == NULL || cfg->key_file == NULL) {
		snprintf(err, errlen, "the local proxy needs the gate's address and your certificate: run `awsgate login`");
		return PX_ERR_LPROXY;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	lp = calloc(1, sizeof(*lp));
	if (lp == NULL) {
		snprintf(err, errlen, "out of memory");
		return PX_ERR_LPROXY;
	}
	lp->lfd = -1;
	lp->access_key = dup_or_null(cfg->access_key_id, &bad);
	lp->secret_key = dup_or_null(cfg->secret_access_key, &bad);
	lp->app = dup_or_null(cfg->app, &bad);
	lp->role = dup_or_null(cfg->role, &bad);
	lp->no_proxy = dup_or_null(cfg->no_proxy, &bad);
	lp->refuse_other = cfg->refuse_other_hosts != 0;
	lp->skew = cfg->clock_skew != 0 ? cfg->clock_skew : SV4_DEFAULT_MAX_SKEW;
	lp->log = cfg->log;
	lp->log_arg = cfg->log_arg;
	if (bad) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (lp->no_proxy != NULL && strlen(lp->no_proxy) > PX_LPROXY_MAX_NO_PROXY) {
		snprintf(err, errlen, "NO_PROXY is over %u bytes", PX_LPROXY_MAX_NO_PROXY);
		goto fail;
	}
	if (cfg->upstream_proxy != NULL && *cfg->upstream_proxy != '\0' &&
	    parse_upstream_proxy(lp, cfg->upstream_proxy, err, errlen) != 0)
		goto fail;
	if (px_lproxy_leaves_new(cfg->local_ca_cert_file, cfg->local_ca_key_file, &lp->leaves, err, errlen) != 0)
		goto fail;
	lp->signer = sv4_signer_new();
	lp->loop = ev_loop_new(EVFLAG_AUTO);
	lp->sctx = SSL_CTX_new(TLS_server_method());
	if (lp->signer == NULL || lp->loop == NULL || lp->sctx == NULL) {
		snprintf(err, errlen, "out of memory (or no usable event backend)");
		goto fail;
	}
	(void)SSL_CTX_set_min_proto_version(lp->sctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(lp->sctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	(void)SSL_CTX_set_session_cache_mode(lp->sctx, SSL_SESS_CACHE_OFF);
	/* A request's records in one read() rather than a header and a body
	 * read each; http_read() asks SSL_has_pending() before it waits. */
	SSL_CTX_set_read_ahead(lp->sctx, 1);
	SSL_CTX_set_alpn_select_cb(lp->sctx, alpn_cb, NULL);
	/* Two threads: a slow lookup (the gate's name behind a VPN's timing-out
	 * DNS) does not hold up the tunnels' lookups behind it. */
	if (px_resolver_new(2, 0, 0, 0, cfg->hosts_file, ebuf, sizeof(ebuf), &lp->res) != 0) {
		snprintf(err, errlen, "the hosts file: %s", ebuf);
		goto fail;
	}
	if (px_resolve_loop_new(lp->res, lp->loop, &lp->rl) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memset(&gcfg, 0, sizeof(gcfg));
	gcfg.gate = cfg->gate;
	gcfg.cert_file = cfg->cert_file;
	gcfg.key_file = cfg->key_file;
	gcfg.ca_file = cfg->gate_ca_file;
	gcfg.connect_timeout_ms = cfg->gate_connect_timeout_ms;
	gcfg.resolver = lp->rl; /* deleted after the client (px_lproxy_del()) */
	if (px_gatec_new(lp->loop, &gcfg, &lp->gc, ebuf, sizeof(ebuf)) != 0) {
		snprintf(err, errlen, "the gate connection: %s", ebuf);
		goto fail;
	}

	lp->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(cfg->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lp->lfd < 0 || setsockopt(lp->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lp->lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lp->lfd, 128) != 0 ||
	    getsockname(lp->lfd, (struct sockaddr *)&sin, &sl) != 0) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%u: %s%s", cfg->port, strerror(errno),
		         errno == EADDRINUSE ? " (another proxy runs there: choose another port with -p, or 0 for any)" : "");
		goto fail;
	}
	lp->port = ntohs(sin.sin_port);
	ev_io_init(&lp->lio, accept_cb, lp->lfd, EV_READ);
	lp->lio.data = lp;
	ev_io_start(lp->loop, &lp->lio);
	ev_async_init(&lp->stop_w, stop_cb);
	ev_async_start(lp->loop, &lp->stop_w);
	ev_check_init(&lp->reap_w, reap_cb);
	lp->reap_w.data = lp;
	ev_check_start(lp->loop, &lp->reap_w);
	ev_unref(lp->loop);
	ev_init(&lp->fatal_w, fatal_cb);
	ev_init(&lp->flush_w, flush_cb);
	lp->flush_w.data = lp;
	*out = lp;
	return 0;
fail:
	px_lproxy_del(lp);
	return PX_ERR_LPROXY;
}

uint16_t px_lproxy_port(const struct px_lproxy *lp)
{
	return lp->port;
}

int px_lproxy_run(struct px_lproxy *lp)
{
	ev_run(lp->loop, 0);
	return lp->fatal ? PX_ERR_LPROXY : 0;
}

void px_lproxy_stop(struct px_lproxy *lp)
{
	ev_async_send(lp->loop, &lp->stop_w);
}

void px_lproxy_del(struct px_lproxy *lp)
{
	if (lp == NULL)
		return;
	while (lp->conns.first != NULL)
		conn_close(PX_CONTAINER_OF(lp->conns.first, struct lp_conn, link));
	px_gatec_del(lp->gc);
	if (lp->loop != NULL) {
		if (ev_is_active(&lp->reap_w)) {
			ev_ref(lp->loop);
			ev_check_stop(lp->loop, &lp->reap_w);
		}
		ev_io_stop(lp->loop, &lp->lio);
		ev_async_stop(lp->loop, &lp->stop_w);
		ev_timer_stop(lp->loop, &lp->fatal_w);
		ev_clear_pending(lp->loop, &lp->flush_w);
	}
	reap(lp);
	px_resolve_loop_del(lp->rl);
	px_resolver_del(lp->res);
	if (lp->lfd >= 0)
		close(lp->lfd);
	if (lp->loop != NULL)
		ev_loop_destroy(lp->loop);
	SSL_CTX_free(lp->sctx);
	sv4_signer_del(lp->signer);
	px_lproxy_leaves_del(lp->leaves);
	if (lp->secret_key != NULL) {
		OPENSSL_cleanse(lp->secret_key, strlen(lp->secret_key));
		free(lp->secret_key);
	}
	free(lp->access_key);
	free(lp->app);
	free(lp->role);
	free(lp->no_proxy);
	free(lp);
}
