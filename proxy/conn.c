/* SPDX-License-Identifier: Apache-2.0 */
/* conn.c: a client connection: TLS, its buffers and timers, the identity, and the choice of codec by ALPN. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <jansson.h>

#include "server.h"

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void conn_timer_set(struct px_conn *c, double secs)
{
	ev_timer_stop(c->w->loop, &c->timer);
	if (secs > 0) {
		ev_timer_set(&c->timer, secs, 0);
		ev_timer_start(c->w->loop, &c->timer);
	}
}

/* "address:port" of the client, for the audit ("" when unknown). */
static void conn_peer(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL)
			snprintf(out, size, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL)
			snprintf(out, size, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
	}
}

void px_conn_accept(struct px_worker *w, int fd)
{
	struct px_conn *c = calloc(1, sizeof(*c));
	const struct px_config *cfg;

	if (c == NULL) {
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->id = ((uint64_t)w->idx << 48) | ++w->next_id;
	conn_peer(fd, c->peer, sizeof(c->peer));
	c->gen = px_server_gen();
	cfg = c->gen->cfg;
	c->ssl = SSL_new(c->gen->ssl);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		ERR_clear_error();
		SSL_free(c->ssl);
		px_gen_unref(c->gen);
		close(fd);
		free(c);
		return;
	}
	SSL_set_ex_data(c->ssl, px_ssl_conn_idx, c);
	/* One read(2) takes whatever the socket holds, up to OpenSSL's record
	 * buffer, instead of two per record (header, then body); the buffer
	 * is the one OpenSSL allocates anyway. Bytes it holds are not seen by
	 * epoll: conn_read() asks SSL_has_pending(), not SSL_pending(). */
	SSL_set_read_ahead(c->ssl, 1);
	SSL_set_accept_state(c->ssl);
	px_list_push(&w->conns, &c->link);
	px_metrics_conn_open();
	ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
	/* Below the upstream watchers: px_conn_kick() from each upstream
	 * answer only marks the connection pending, and libev runs it after
	 * every higher-priority event of the round, so the answers that came
	 * together leave in one SSL_write (nghttpx batches the same way). */
	ev_set_priority(&c->io, PX_CONN_PRIORITY);
	ev_io_start(w->loop, &c->io);
	ev_init(&c->timer, conn_timer_cb);
	conn_timer_set(c, cfg->timeouts.header_read);
	PX_CLOG(c, PX_LOG_DEBUG, "accepted on worker %u", w->idx);
}

void px_conn_close(struct px_conn *c)
{
	struct px_worker *w = c->w;

	PX_CLOG(c, PX_LOG_DEBUG, "closed (%" PRIu64 " bytes in, %" PRIu64 " out)", c->bytes_in, c->bytes_out);
	if (c->h1)
		px_h1_del(c);
	if (c->h2)
		px_h2_del(c);
	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->timer);
	if (c->state != PX_CONN_HANDSHAKE && !c->lingering)
		SSL_shutdown(c->ssl); /* best effort close_notify; never waits */
	ERR_clear_error();            /* leave the thread's queue clean for libcurl */
	SSL_free(c->ssl);
	close(c->fd);
	rbac_identity_free(&c->ident);
	px_subject_unref(c->subject);
	px_gen_unref(c->gen);
	free(c->wbuf);
	free(c->rbuf);
	px_list_unlink(&w->conns, &c->link);
	px_metrics_conn_close();
	free(c);
	if (!w->listening && w->stopping == 0)
		ev_feed_event(w->loop, &w->accept_retry, EV_TIMER);
	if (w->stopping && w->conns.n == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

int px_conn_out(struct px_conn *c, const void *data, size_t len)
{
	if (c->wlen + len > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 4096;
		unsigned char *p;
		if (c->woff > 0) { /* slide what is left to the front first */
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
		}
		while (cap < c->wlen + len)
			cap *= 2;
		if (cap > PX_WBUF_MAX)
			return PX_ERR_NOMEM;
		if (cap > c->wcap) {
			p = realloc(c->wbuf, cap);
			if (p == NULL)
				return PX_ERR_NOMEM;
			c->wbuf = p;
			c->wcap = cap;
		}
	}
	memcpy(c->wbuf + c->wlen, data, len);
	c->wlen += len;
	return 0;
}

void px_conn_kick(struct px_conn *c)
{
	if (!c->in_cb)
		ev_feed_event(c->w->loop, &c->io, EV_CUSTOM);
}

void px_conn_shutdown(struct px_conn *c)
{
	c->draining = 1;
	if (c->state == PX_CONN_HANDSHAKE)
		c->dead = 1;
	else if (c->state == PX_CONN_H1)
		px_h1_shutdown(c);
	else
		px_h2_shutdown(c);
	px_conn_kick(c);
}

/* After a failed handshake OpenSSL has written its alert; after a refused
 * request, the 400 or the GOAWAY is written. Closing now, with the
 * client's bytes unread, would send a RST that can destroy that last word
 * before the client reads it (nginx's lingering close). So: half-close,
 * discard what comes, and close on EOF or after PX_LINGER seconds. */
#define PX_LINGER 2.0

static void conn_linger(struct px_conn *c)
{
	if (c->state != PX_CONN_HANDSHAKE) {
		(void)SSL_shutdown(c->ssl); /* close_notify; the client's is not awaited */
		ERR_clear_error();
		ERR_clear_error();
	}
	c->lingering = 1;
	shutdown(c->fd, SHUT_WR);
	ev_io_stop(c->w->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ);
	ev_io_start(c->w->loop, &c->io);
	conn_timer_set(c, PX_LINGER);
}

static void conn_linger_read(struct px_conn *c)
{
	for (int i = 0; i < 4; i++) {
		ssize_t n = recv(c->fd, c->w->scratch, sizeof(c->w->scratch), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			c->dead = 1;
			return;
		}
		if (n < 0)
			return;
	}
}

static enum px_tls_fail tls_fail_reason(int err)
{
	switch (err) {
	case 0:
		return PX_TLS_FAIL_PROTOCOL;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return PX_TLS_FAIL_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return PX_TLS_FAIL_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return PX_TLS_FAIL_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return PX_TLS_FAIL_UNTRUSTED;
	default:
		return PX_TLS_FAIL_CERTIFICATE;
	}
}

/* The identity, once per connection, from the verified certificate. */
static void conn_identity(struct px_conn *c)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	struct rbac_diag d;

	if (cert == NULL) {
		c->has_ident = 0;
		return;
	}
	memset(&d, 0, sizeof(d));
	if (SSL_get_verify_result(c->ssl) != X509_V_OK ||
	    rbac_identity_from_cert(cert, c->gen->identity_ca, &c->ident, &d) != 0) {
		c->has_ident = -1;
		PX_CLOG(c, PX_LOG_NOTICE, "client certificate unusable as an identity: %s", d.msg);
		return;
	}
	c->has_ident = 1;
	if (c->ident.extension_ignored)
		PX_CLOG(c, PX_LOG_INFO, "user %s: identity extension ignored (not issued by tls.identity_ca_file)",
			c->ident.user);
}

static void subject_warn(void *arg, const struct rbac_diag *d)
{
	struct px_conn *c = arg;
	PX_CLOG(c, PX_LOG_DEBUG, "subject %s: %s: %s", c->ident.user, d->path, d->msg);
}

struct px_subject *px_conn_subject(struct px_conn *c, struct px_gen *g)
{
	struct px_subject *s;

	if (c->has_ident != 1)
		return NULL;
	if (c->subject != NULL && rbac_subject_policy(c->subject->s) == g->pol) {
		c->subject->refs++;
		return c->subject;
	}
	/* First request, or the policy changed since: expand again. Streams
	 * still running keep the old subject by their reference. */
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if (rbac_subject_new(g->pol, &c->ident, &s->s, subject_warn, c) != 0) {
		PX_CLOG(c, PX_LOG_WARN, "user %s: cannot build the subject", c->ident.user);
		free(s);
		return NULL;
	}
	s->refs = 1;
	px_subject_unref(c->subject);
	c->subject = s;
	s->refs++;
	return s;
}

static int conn_handshake(struct px_conn *c)
{
	const unsigned char *alpn = NULL;
	unsigned alen = 0;
	int rv;

	ERR_clear_error(); /* see conn_read() */
	rv = SSL_do_handshake(c->ssl);

	if (rv != 1) {
		int e = SSL_get_error(c->ssl, rv);
		if (e == SSL_ERROR_WANT_READ) {
			c->want_write = 0;
			return 0;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			c->want_write = 1;
			return 0;
		}
		enum px_tls_fail why = tls_fail_reason(c->verify_err);
		px_metrics_tls_fail(why);
		if (c->verify_err != 0) {
			json_t *ev = json_pack("{s:s,s:s,s:s}", "event", "tls.verify_failed", "reason",
					       px_tls_fail_str(why), "detail",
					       X509_verify_cert_error_string(c->verify_err));
			if (ev != NULL) {
				(void)px_audit(ev); /* counted and logged; there is no request to refuse */
				json_decref(ev);
			}
		}
		PX_CLOG(c, PX_LOG_INFO, "TLS handshake failed: %s%s%s", px_tls_fail_str(why),
			c->verify_err ? ": " : "", c->verify_err ? X509_verify_cert_error_string(c->verify_err) : "");
		ERR_clear_error();
		conn_linger(c);
		return -1;
	}
	conn_identity(c);
	SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
	if (alen == 2 && memcmp(alpn, "h2", 2) == 0) {
		c->state = PX_CONN_H2;
		if (px_h2_new(c) != 0)
			return -1;
	} else {
		c->state = PX_CONN_H1;
		if (px_h1_new(c) != 0)
			return -1;
	}
	PX_CLOG(c, PX_LOG_DEBUG, "%s %s, %s, user %s", SSL_get_version(c->ssl),
		SSL_session_reused(c->ssl) ? "resumed" : "full handshake", c->state == PX_CONN_H2 ? "h2" : "http/1.1",
		c->has_ident == 1 ? c->ident.user : "(none)");
	return 0;
}

static ssize_t conn_feed(struct px_conn *c, const unsigned char *p, size_t len)
{
	return c->state == PX_CONN_H2 ? px_h2_feed(c, p, len) : px_h1_feed(c, p, len);
}

/* Keeps bytes the codec did not take (it paused) for later. */
static int conn_stash(struct px_conn *c, const unsigned char *p, size_t len)
{
	unsigned char *b = malloc(len);

	if (b == NULL)
		return -1;
	memcpy(b, p, len);
	free(c->rbuf);
	c->rbuf = b;
	c->rlen = len;
	c->roff = 0;
	c->read_paused = 1;
	return 0;
}

/* Reads and feeds the codec until TLS has nothing more or the codec pauses. */
static int conn_read(struct px_conn *c)
{
	/* First what a paused codec left behind. */
	if (c->rbuf != NULL) {
		ssize_t n = conn_feed(c, c->rbuf + c->roff, c->rlen - c->roff);
		if (n < 0) {
			c->dead = 1;
			return -1;
		}
		c->roff += (size_t)n;
		if (c->roff < c->rlen) {
			c->read_paused = 1;
			return 0;
		}
		free(c->rbuf);
		c->rbuf = NULL;
		c->rlen = c->roff = 0;
	}
	c->read_paused = 0;
	for (int i = 0; i < PX_READS_PER_EVENT && !c->dead && !c->closing; i++) {
		int n;
		/* SSL_get_error() reads the thread's error queue, which libcurl's
		 * TLS to AWS on this same thread may have left errors in: an
		 * upstream's failed handshake must not look like this client's. */
		ERR_clear_error();
		n = SSL_read(c->ssl, c->w->scratch, sizeof(c->w->scratch));
		ssize_t used;
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ)
				return 0;
			if (e == SSL_ERROR_WANT_WRITE) {
				c->want_write = 1;
				return 0;
			}
			ERR_clear_error();
			c->dead = 1; /* EOF, close_notify or an error */
			return -1;
		}
		c->bytes_in += (size_t)n;
		px_metrics_bytes((uint64_t)n, 0);
		used = conn_feed(c, c->w->scratch, (size_t)n);
		if (used < 0) {
			c->dead = 1;
			return -1;
		}
		if ((size_t)used < (size_t)n)
			return conn_stash(c, c->w->scratch + used, (size_t)n - (size_t)used);
		/* Less than a full record, and nothing left inside TLS: the
		 * socket is most likely empty, and if it is not, the
		 * (level-triggered) watcher says so. Asking would cost a
		 * read(2) that fails with EAGAIN on every request. */
		if ((size_t)n < sizeof(c->w->scratch) && !SSL_has_pending(c->ssl))
			return 0;
	}
	/* More may be buffered inside TLS (read ahead, not yet decrypted
	 * too): come back after the others. */
	if (SSL_has_pending(c->ssl) && !c->read_paused)
		c->again = 1;
	return 0;
}

/* Whether reading can give anything: the socket said so, a paused codec
 * has bytes kept, or TLS holds some. A kick (EV_CUSTOM: output to send, a
 * codec resumed) with none of these would only meet EAGAIN. */
static bool conn_may_read(struct px_conn *c, int revents)
{
	if (revents & EV_READ)
		return true;
	if (!(revents & EV_CUSTOM))
		return false;
	return c->rbuf != NULL || SSL_has_pending(c->ssl);
}

static int conn_flush(struct px_conn *c)
{
	/* The audit lines of the requests answered so far reach the file
	 * before any answer reaches a client (docs/SERVER.md, "Batching"). */
	if (c->woff < c->wlen)
		px_audit_flush();
	while (c->woff < c->wlen) {
		size_t left = c->wlen - c->woff;
		int n;
		ERR_clear_error(); /* see conn_read() */
		n = SSL_write(c->ssl, c->wbuf + c->woff, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				c->want_write = 1;
				return 0;
			}
			ERR_clear_error();
			c->dead = 1;
			return -1;
		}
		c->woff += (size_t)n;
		c->bytes_out += (size_t)n;
		px_metrics_bytes(0, (uint64_t)n);
	}
	c->woff = c->wlen = 0;
	c->want_write = 0;
	/* An idle connection keeps no output buffer. */
	if (c->wcap > PX_WBUF_HIGH || (c->h1 != NULL && px_h1_idle(c)) || (c->h2 != NULL && px_h2_idle(c))) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->wcap = 0;
	}
	return 0;
}

static void conn_io(struct px_conn *c, int revents)
{
	if (c->lingering) {
		if (revents & EV_TIMER)
			c->dead = 1;
		else
			conn_linger_read(c);
		if (c->dead)
			px_conn_close(c);
		return;
	}
	c->in_cb = 1;
	if (c->dead)
		goto out;
	if (c->state == PX_CONN_HANDSHAKE) {
		if (conn_handshake(c) != 0 || c->state == PX_CONN_HANDSHAKE)
			goto out;
		conn_timer_set(c, c->gen->cfg->timeouts.header_read);
		if (c->draining)
			px_conn_shutdown(c);
		revents |= EV_READ; /* TLS may hold application data already */
	}
	/* A few rounds: a finished HTTP/1.1 request or drained HTTP/2 output
	 * lets the codec take the input it had left. */
	for (int round = 0; round < 4; round++) {
		if (!c->dead && !c->closing && conn_may_read(c, round == 0 ? revents : EV_CUSTOM))
			if (conn_read(c) != 0)
				goto out;
		if (c->state == PX_CONN_H2 && px_h2_produce(c) != 0)
			goto out;
		if (conn_flush(c) != 0)
			goto out;
		if (c->state == PX_CONN_H1 && px_h1_after(c) && !c->dead && !c->closing)
			continue;
		if (c->state == PX_CONN_H2 && c->wlen == 0 && !c->dead && (c->read_paused || px_h2_wants_write(c)))
			continue;
		break;
	}
	if ((c->state == PX_CONN_H2 && px_h2_done(c) && c->wlen == 0) || (c->closing && c->wlen == 0)) {
		conn_linger(c);
		c->in_cb = 0;
		return;
	}
	/* Input left over (many pipelined requests, or output that drained):
	 * come back after the other connections have had their turn. */
	if (!c->dead && !c->closing && c->read_paused && c->wlen == 0 &&
	    (c->state == PX_CONN_H2 || (c->state == PX_CONN_H1 && px_h1_wants_input(c))))
		c->again = 1;
	/* HTTP/2 output nghttp2 still holds, with the socket taking more. */
	if (!c->dead && c->state == PX_CONN_H2 && c->wlen == 0 && px_h2_wants_write(c))
		c->again = 1;
out:
	c->in_cb = 0;
	if (c->dead) {
		px_conn_close(c);
		return;
	}
	int ev = (c->read_paused || c->closing ? 0 : EV_READ) | (c->want_write ? EV_WRITE : 0);
	if (ev != (c->io.events & (EV_READ | EV_WRITE))) {
		/* ev_io_modify(), not ev_io_set(): the fd is the same, and
		 * ev_io_set() makes libev re-add it to epoll (EEXIST, then
		 * MOD) even when the events come back to what they were. */
		ev_io_stop(c->w->loop, &c->io);
		ev_io_modify(&c->io, ev);
		if (ev)
			ev_io_start(c->w->loop, &c->io);
	}
	/* After the watcher's update: ev_io_stop() drops pending events. */
	if (c->again) {
		c->again = 0;
		ev_feed_event(c->w->loop, &c->io, EV_CUSTOM);
	}
}

/* Resumes a paused codec (HTTP/1.1 after a response; a consumed window). */
static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *c = PX_CONTAINER_OF(w, struct px_conn, io);
	(void)loop;
	conn_io(c, revents);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct px_conn *c = PX_CONTAINER_OF(w, struct px_conn, timer);
	(void)loop;
	(void)revents;
	if (c->lingering) {
		conn_io(c, EV_TIMER);
		return;
	}
	if (c->state == PX_CONN_HANDSHAKE) {
		px_metrics_tls_fail(PX_TLS_FAIL_TIMEOUT);
		PX_CLOG(c, PX_LOG_INFO, "TLS handshake not complete within %" PRIu32 "s",
			c->gen->cfg->timeouts.header_read);
		c->dead = 1;
	} else if (c->state == PX_CONN_H1) {
		px_h1_timeout(c);
	} else {
		PX_CLOG(c, PX_LOG_DEBUG, "h2 idle for %" PRIu32 "s", c->gen->cfg->timeouts.idle);
		px_h2_shutdown(c);
	}
	conn_io(c, EV_CUSTOM);
}

void px_conn_timer(struct px_conn *c, double secs)
{
	conn_timer_set(c, secs);
}
