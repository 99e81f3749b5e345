/* SPDX-License-Identifier: Apache-2.0 */
/* upstream.c: one streamed request to AWS on the loop's libcurl core: pushed body, paused response, our own timeouts.
 *
 * Memory stays bounded both ways (docs/UPSTREAM.md): the request body goes
 * through a ring of PX_UP_BODY_BUF bytes that libcurl's read callback
 * drains (CURL_READFUNC_PAUSE when it is empty, curl_easy_pause() to go on
 * when the caller pushes more); the response body goes to the caller piece
 * by piece, and when the caller refuses more the next piece is left with
 * libcurl (CURL_WRITEFUNC_PAUSE) and the transfer is paused until
 * px_upstream_resume(). libcurl must never be re-entered from its own
 * callbacks, so whatever the caller asks from inside one (unpause, cancel)
 * is done from the loop by a zero-delay timer, the "kick". */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_int.h"
#include "h1up.h"
#include "upstream.h"

enum up_phase {
	UP_CONNECTING, /* libcurl's CURLOPT_CONNECTTIMEOUT_MS runs */
	UP_SENDING,    /* the idle timeout runs */
	UP_WAITING,    /* sent: the first-byte timeout runs */
	UP_RECEIVING,  /* the idle timeout runs */
};

struct px_upstream {
	unsigned char tag;        /* 0: first, PX_H1UP_TAG for the native client's requests */
	struct px_curl_xfer xfer; /* the core's handle on the request */
	struct px_curl *c;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *connect_to;
	const struct px_upstream_handler *h;
	void *arg;
	enum px_up_body body;
	uint64_t body_length;
	uint64_t written;  /* body bytes the caller pushed */
	uint64_t consumed; /* body bytes handed to libcurl */
	/* The request body ring. */
	unsigned char *ring; /* PX_UP_BODY_BUF bytes; NULL without a body */
	size_t ring_off, ring_len;
	/* Timers: one for first-byte and idle (by |phase|), one for the kick. */
	ev_timer timer;
	ev_timer kick;
	enum up_phase phase;
	double first_byte, idle; /* seconds */
	double last;             /* ev_now() of the last byte either way */
	int applied;             /* CURLPAUSE_* bits libcurl is in */
	enum px_up_error fail;   /* set by us before making libcurl fail */
	char fail_detail[128];
	/* Response head: the counts here, the storage at the end. */
	size_t nhdrs;
	size_t hbuf_len;
	bool ended;          /* px_upstream_end() */
	bool sent_any;       /* libcurl took body bytes: the request can no longer be re-sent */
	bool send_hold;      /* the read callback paused for want of bytes */
	bool recv_hold;      /* on_body said PX_ERR_AGAIN */
	bool writable_wanted;
	bool head_done;
	bool cancelled;
	bool in_done;
	char errbuf[CURL_ERROR_SIZE];
	/* Not zeroed when a request starts (18 KiB: it was a visible cost
	 * per request): filled as the head comes, read below the counts. */
	struct px_up_header hdrs[PX_UP_MAX_HEADERS];
	char hbuf[PX_UP_MAX_HEADER_BYTES];
};

const char *px_up_error_name(enum px_up_error e)
{
	static const char *const names[PX_UP_ERROR_COUNT] = {
		"ok", "dns", "connect-refused", "connect", "tls", "tls-verify", "timeout-connect",
		"timeout-first-byte", "timeout-idle", "reset", "protocol", "nomem", "internal",
	};
	return (unsigned)e < PX_UP_ERROR_COUNT ? names[e] : "internal";
}

int px_up_error_status(enum px_up_error e)
{
	switch (e) {
	case PX_UP_OK: return 0;
	case PX_UP_TIMEOUT_CONNECT:
	case PX_UP_TIMEOUT_FIRST_BYTE:
	case PX_UP_TIMEOUT_IDLE: return 504;
	default: return 502;
	}
}

void px_upstream_request_timeouts(struct px_upstream_request *req, const struct px_config *cfg)
{
	req->connect_timeout_ms = cfg->timeouts.upstream_connect * 1000u;
	req->first_byte_timeout_ms = cfg->timeouts.upstream_first_byte * 1000u;
	req->idle_timeout_ms = cfg->timeouts.upstream_idle * 1000u;
}

/* --- freeing and finishing --------------------------------------------------- */

static void up_free(struct px_upstream *up)
{
	struct ev_loop *loop = up->c->loop;
	ev_timer_stop(loop, &up->timer);
	ev_timer_stop(loop, &up->kick);
	if (up->easy != NULL) {
		px_curl_remove(up->c, up->easy);
		px_curl_easy_put(up->c, up->easy);
	}
	curl_slist_free_all(up->headers);
	curl_slist_free_all(up->connect_to);
	free(up->ring);
	free(up);
}

/* Tells the caller and frees |up|: the last act of whoever calls it, never
 * from inside libcurl. */
static void up_finish(struct px_upstream *up, enum px_up_error err, const char *detail)
{
	if (!up->cancelled && up->h->on_done != NULL) {
		up->in_done = true;
		up->h->on_done(up->arg, err, detail);
	}
	up_free(up);
}

static void up_kick(struct px_upstream *up)
{
	if (!ev_is_active(&up->kick)) {
		ev_timer_set(&up->kick, 0., 0.);
		ev_timer_start(up->c->loop, &up->kick);
	}
}

static enum px_up_error map_error(const struct px_upstream *up, CURLcode rc)
{
	if (up->fail != PX_UP_OK)
		return up->fail;
	switch (rc) {
	case CURLE_OK: return PX_UP_OK;
	case CURLE_COULDNT_RESOLVE_HOST: return PX_UP_DNS;
	case CURLE_COULDNT_CONNECT: {
		long oserr = 0;
		curl_easy_getinfo(up->easy, CURLINFO_OS_ERRNO, &oserr);
		return oserr == ECONNREFUSED ? PX_UP_CONNECT_REFUSED : PX_UP_CONNECT;
	}
	case CURLE_OPERATION_TIMEDOUT: return PX_UP_TIMEOUT_CONNECT; /* the only libcurl timeout we set */
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS: return PX_UP_TLS_VERIFY;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED: return PX_UP_TLS;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_FAIL_REWIND: return PX_UP_RESET;
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP3:
	case CURLE_QUIC_CONNECT_ERROR: return PX_UP_PROTOCOL;
	case CURLE_OUT_OF_MEMORY: return PX_UP_NOMEM;
	default: return PX_UP_INTERNAL;
	}
}

static void up_done(struct px_curl_xfer *x, CURLcode rc)
{
	struct px_upstream *up = PX_CONTAINER_OF(x, struct px_upstream, xfer);
	enum px_up_error err = map_error(up, rc);
	const char *detail = up->fail != PX_UP_OK ? up->fail_detail
	                     : up->errbuf[0] != '\0' ? up->errbuf : curl_easy_strerror(rc);
	up_finish(up, err, err == PX_UP_OK ? NULL : detail);
}

/* Ends |up| with |err| from the loop (a timer of ours). */
static void up_abort(struct px_upstream *up, enum px_up_error err, const char *detail)
{
	px_curl_remove(up->c, up->easy);
	up_finish(up, err, detail);
}

/* --- pausing ----------------------------------------------------------------- */

/* Puts libcurl in the pause state the request wants; from the loop only. */
static void up_sync(struct px_upstream *up)
{
	int want = (up->recv_hold ? CURLPAUSE_RECV : 0) | (up->send_hold ? CURLPAUSE_SEND : 0);
	if (want == up->applied)
		return;
	up->applied = want;
	/* Unpausing may deliver a piece libcurl kept: on_body runs inside,
	 * and may pause again (recv_hold) or cancel (kick). */
	px_curl_pause(up->c, up->easy, want);
}

/* up_sync() now, or from the loop when inside libcurl. */
static void up_sync_soon(struct px_upstream *up)
{
	if (up->c->in_curl > 0)
		up_kick(up);
	else
		up_sync(up);
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_upstream *up = PX_CONTAINER_OF(w, struct px_upstream, kick);
	if (up->cancelled) {
		up_free(up);
		return;
	}
	up_sync(up);
	if (up->cancelled) { /* on_body, run by the unpause, cancelled */
		up_free(up);
		return;
	}
	if (up->writable_wanted && up->ring_len < PX_UP_BODY_BUF) {
		up->writable_wanted = false;
		if (up->h->on_writable != NULL)
			up->h->on_writable(up->arg); /* last act: it may cancel */
	}
}

/* The caller brought body bytes (or the end) that the read callback paused
 * for: libcurl takes them from a later loop round, and the wait for them
 * was the client's time, not the upstream's, so the idle clock starts
 * again now (as in px_upstream_resume()). */
static void up_release_send(struct px_upstream *up)
{
	up->send_hold = false;
	up->last = ev_now(up->c->loop);
	up_sync_soon(up);
}

/* --- timeouts ---------------------------------------------------------------- */

static void up_set_phase(struct px_upstream *up, enum up_phase p)
{
	struct ev_loop *loop = up->c->loop;
	up->phase = p;
	up->last = ev_now(loop);
	ev_timer_stop(loop, &up->timer);
	ev_timer_set(&up->timer, p == UP_WAITING ? up->first_byte : up->idle, 0.);
	ev_timer_start(loop, &up->timer);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct px_upstream *up = PX_CONTAINER_OF(w, struct px_upstream, timer);
	if (up->phase == UP_WAITING) {
		up_abort(up, PX_UP_TIMEOUT_FIRST_BYTE, "no answer from the upstream within timeouts.upstream_first_byte");
		return;
	}
	double now = ev_now(loop);
	/* A client that is slow to send or to read is not the upstream's
	 * silence: the gate's own client timeouts deal with it. */
	if (up->recv_hold || (up->send_hold && up->ring_len == 0))
		up->last = now;
	double left = up->last + up->idle - now;
	if (left > 0.) {
		ev_timer_set(&up->timer, left, 0.);
		ev_timer_start(loop, &up->timer);
		return;
	}
	up_abort(up, PX_UP_TIMEOUT_IDLE, "no bytes to or from the upstream within timeouts.upstream_idle");
}

/* --- libcurl callbacks ----------------------------------------------------------- */

/* The connection is ready and the request is about to be sent. */
static int prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	struct px_upstream *up = arg;
	bool nothing_to_send = up->body == PX_UP_BODY_NONE || (up->body == PX_UP_BODY_LENGTH && up->body_length == 0);
	up_set_phase(up, nothing_to_send ? UP_WAITING : UP_SENDING);
	return CURL_PREREQFUNC_OK;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct px_upstream *up = arg;
	if (up->cancelled)
		return CURL_READFUNC_ABORT;
	size_t want = size * n, got = 0;
	while (got < want && up->ring_len > 0) {
		size_t run = PX_UP_BODY_BUF - up->ring_off;
		if (run > up->ring_len)
			run = up->ring_len;
		if (run > want - got)
			run = want - got;
		memcpy(buf + got, up->ring + up->ring_off, run);
		up->ring_off = (up->ring_off + run) % PX_UP_BODY_BUF;
		up->ring_len -= run;
		got += run;
	}
	if (up->ring_len == 0)
		up->ring_off = 0;
	if (got > 0) {
		up->sent_any = true;
		up->consumed += got;
		/* With a Content-Length libcurl asks no more once it has them all. */
		if (up->body == PX_UP_BODY_LENGTH && up->consumed == up->body_length && !up->head_done &&
		    up->phase != UP_RECEIVING)
			up_set_phase(up, UP_WAITING);
		up->last = ev_now(up->c->loop);
		if (up->writable_wanted)
			up_kick(up);
		return got;
	}
	if (up->ended) {
		if (!up->head_done && up->phase != UP_RECEIVING)
			up_set_phase(up, UP_WAITING);
		return 0;
	}
	up->send_hold = true;
	up->applied |= CURLPAUSE_SEND;
	return CURL_READFUNC_PAUSE;
}

/* libcurl re-sends a request on a reused connection that died: allowed only
 * while no body byte has left the ring (a streamed body cannot be re-read). */
static int seek_cb(void *arg, curl_off_t offset, int origin)
{
	struct px_upstream *up = arg;
	return !up->sent_any && offset == 0 && origin == SEEK_SET ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct px_upstream *up = arg;
	size_t len = size * n;
	if (up->cancelled)
		return 0;
	if (up->phase != UP_RECEIVING)
		up_set_phase(up, UP_RECEIVING);
	else
		up->last = ev_now(up->c->loop);
	if (up->head_done)
		return len; /* trailers: not reported */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		up->nhdrs = 0;
		up->hbuf_len = 0;
		return len;
	}
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n')) {
		long status = 0;
		curl_easy_getinfo(up->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200)
			return len; /* a 1xx: the real head follows */
		up->head_done = true;
		if (up->h->on_head != NULL)
			up->h->on_head(up->arg, (int)status, up->hdrs, up->nhdrs);
		return up->cancelled ? 0 : len;
	}
	const char *colon = memchr(p, ':', len);
	if (colon == NULL)
		return len;
	size_t nlen = (size_t)(colon - p);
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	if (up->nhdrs == PX_UP_MAX_HEADERS || nlen + vlen + 2 > sizeof(up->hbuf) - up->hbuf_len) {
		/* Forwarding a head with fields left out would change the answer. */
		up->fail = PX_UP_PROTOCOL;
		snprintf(up->fail_detail, sizeof(up->fail_detail),
		         "the upstream's response head is over %u fields or %u bytes", PX_UP_MAX_HEADERS,
		         PX_UP_MAX_HEADER_BYTES);
		return 0;
	}
	char *name = up->hbuf + up->hbuf_len;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	char *value = name + nlen + 1;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	up->hbuf_len += nlen + vlen + 2;
	up->hdrs[up->nhdrs].name = name;
	up->hdrs[up->nhdrs].value = value;
	up->nhdrs++;
	return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct px_upstream *up = arg;
	size_t len = size * n;
	if (up->cancelled)
		return 0;
	if (up->recv_hold) {
		/* libcurl keeps this piece and hands it over again on unpause. */
		up->applied |= CURLPAUSE_RECV;
		return CURL_WRITEFUNC_PAUSE;
	}
	up->last = ev_now(up->c->loop);
	int rv = up->h->on_body != NULL ? up->h->on_body(up->arg, (const unsigned char *)p, len) : 0;
	if (up->cancelled)
		return 0;
	if (rv == PX_ERR_AGAIN) {
		up->recv_hold = true;
		/* Pause now from the loop rather than at the next piece: over
		 * HTTP/2 that also closes the stream's window. */
		up_kick(up);
	}
	return len;
}

/* --- the API ----------------------------------------------------------------- */

static bool header_ok(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static bool header_dropped(const char *name)
{
	return strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0 ||
	       strcasecmp(name, "expect") == 0;
}

static int add_header(struct px_upstream *up, const char *line)
{
	struct curl_slist *l = curl_slist_append(up->headers, line);
	if (l == NULL)
		return PX_ERR_NOMEM;
	up->headers = l;
	return 0;
}

/* "host:port:addr:aport" for CURLOPT_CONNECT_TO, pinning |sa|. */
static int pin_address(struct px_upstream *up, const char *url, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned aport;
	int v6;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)) == NULL)
			return PX_ERR_INVALID;
		aport = ntohs(a->sin_port);
		v6 = 0;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
		if (inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)) == NULL)
			return PX_ERR_INVALID;
		aport = ntohs(a->sin6_port);
		v6 = 1;
	} else {
		return PX_ERR_INVALID;
	}
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	int rv = PX_ERR_INVALID;
	if (u == NULL) {
		rv = PX_ERR_NOMEM;
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	char entry[600];
	int len = aport != 0 ? snprintf(entry, sizeof(entry), v6 ? "%s:%s:[%s]:%u" : "%s:%s:%s:%u", host, port, ip,
	                                aport)
	                     : snprintf(entry, sizeof(entry), v6 ? "%s:%s:[%s]:" : "%s:%s:%s:", host, port, ip);
	if (len < 0 || (size_t)len >= sizeof(entry))
		goto out;
	up->connect_to = curl_slist_append(NULL, entry);
	rv = up->connect_to != NULL ? 0 : PX_ERR_NOMEM;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rv;
}

/* Whether |up| is one of the native client's requests. */
static bool up_native(const struct px_upstream *up)
{
	return *(const unsigned char *)(const void *)up == PX_H1UP_TAG;
}

static struct px_h1up *up_h1(struct px_upstream *up)
{
	return (struct px_h1up *)(void *)up;
}

int px_upstream_start(struct px_curl *c, const struct px_upstream_request *req, const struct px_upstream_handler *h,
                      void *arg, struct px_upstream **out)
{
	if (req->method == NULL || req->url == NULL || req->method[0] == '\0' || h == NULL)
		return PX_ERR_INVALID;
	/* The pipeline's case (a pinned address, HTTP/1.1) goes to the
	 * native client; the rest stays with libcurl (docs/UPSTREAM.md). */
	if (req->addr != NULL && req->http == PX_UP_HTTP1 && !c->h1_off) {
		struct px_h1up *n;
		int rv = px_h1up_start(c, req, h, arg, &n);
		if (rv == 0)
			*out = (struct px_upstream *)(void *)n;
		return rv;
	}
	struct px_upstream *up = malloc(sizeof(*up));
	if (up == NULL)
		return PX_ERR_NOMEM;
	memset(up, 0, offsetof(struct px_upstream, hdrs));
	int rv = PX_ERR_NOMEM;
	up->xfer.done = up_done;
	up->c = c;
	up->h = h;
	up->arg = arg;
	up->body = req->body;
	up->body_length = req->body_length;
	up->first_byte = (double)(req->first_byte_timeout_ms ? req->first_byte_timeout_ms : 60000) / 1000.0;
	up->idle = (double)(req->idle_timeout_ms ? req->idle_timeout_ms : 300000) / 1000.0;
	ev_timer_init(&up->timer, timer_cb, 0., 0.);
	ev_timer_init(&up->kick, kick_cb, 0., 0.);
	if (req->body != PX_UP_BODY_NONE && (up->ring = malloc(PX_UP_BODY_BUF)) == NULL)
		goto fail;

	bool have_accept = false;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct px_up_header *hd = &req->headers[i];
		if (hd->name == NULL || hd->value == NULL || hd->name[0] == '\0' || !header_ok(hd->name) ||
		    !header_ok(hd->value) || strchr(hd->name, ':') != NULL) {
			rv = PX_ERR_INVALID;
			goto fail;
		}
		if (header_dropped(hd->name))
			continue;
		if (strcasecmp(hd->name, "accept") == 0)
			have_accept = true;
		char line[PX_UP_MAX_REQUEST_HEADER + 2];
		size_t nl = strlen(hd->name), vl = strlen(hd->value);
		if (nl + 2 + vl >= sizeof(line) - 1) {
			rv = PX_ERR_INVALID;
			goto fail;
		}
		/* "Name: value", or "Name;", libcurl's way of sending a header
		 * with an empty value. */
		memcpy(line, hd->name, nl);
		if (vl > 0) {
			memcpy(line + nl, ": ", 2);
			memcpy(line + nl + 2, hd->value, vl + 1);
		} else {
			memcpy(line + nl, ";", 2);
		}
		if ((rv = add_header(up, line)) != 0)
			goto fail;
	}
	/* libcurl adds Expect: 100-continue to big uploads (a round trip, and
	 * the gate answered the client's itself) and Accept: unasked. */
	if ((rv = add_header(up, "Expect:")) != 0 || (!have_accept && (rv = add_header(up, "Accept:")) != 0))
		goto fail;
	rv = PX_ERR_NOMEM;

	CURL *e = up->easy = px_curl_easy_get(c);
	if (e == NULL)
		goto fail;
	px_curl_easy_defaults(c, e);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* the path is signed as sent */
	curl_easy_setopt(e, CURLOPT_PROXY, "");      /* never an environment proxy: the address is pinned */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, up->headers);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, up->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
	                 req->http == PX_UP_HTTP2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
	/* Over HTTP/2, wait for a connection being made to the same host
	 * rather than open a second one: streams share it. */
	if (req->http == PX_UP_HTTP2)
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(req->connect_timeout_ms ? req->connect_timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, up);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, up);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, up);
	curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
	curl_easy_setopt(e, CURLOPT_SEEKDATA, up);
	if (req->addr != NULL) {
		if ((rv = pin_address(up, req->url, req->addr)) != 0)
			goto fail;
	} else {
		up->connect_to = px_curl_connect_to(c, req->url);
	}
	if (up->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, up->connect_to);

	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") == 0 && req->body == PX_UP_BODY_NONE)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != PX_UP_BODY_NONE) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, up);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
		                 req->body == PX_UP_BODY_LENGTH ? (curl_off_t)req->body_length : (curl_off_t)-1);
	}
	if (px_curl_add(c, e, &up->xfer) != 0)
		goto fail;
	*out = up;
	return 0;
fail:
	up_free(up);
	return rv;
}

int px_upstream_write(struct px_upstream *up, const void *data, size_t len)
{
	if (up_native(up))
		return px_h1up_write(up_h1(up), data, len);
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
	if (up->send_hold)
		up_release_send(up);
	return (int)take;
}

int px_upstream_end(struct px_upstream *up)
{
	if (up_native(up))
		return px_h1up_end(up_h1(up));
	if (up->body == PX_UP_BODY_NONE || up->ended || up->cancelled)
		return PX_ERR_STATE;
	if (up->body == PX_UP_BODY_LENGTH && up->written != up->body_length)
		return PX_ERR_INVALID;
	up->ended = true;
	if (up->send_hold)
		up_release_send(up);
	return 0;
}

void px_upstream_resume(struct px_upstream *up)
{
	if (up_native(up)) {
		px_h1up_resume(up_h1(up));
		return;
	}
	if (up->cancelled || !up->recv_hold)
		return;
	up->recv_hold = false;
	/* The pause was the client's time: the idle clock starts again now.
	 * libcurl reads only from a later loop round, and an idle timer due
	 * in this round (a loop that woke late) would otherwise count the
	 * whole pause as upstream silence. */
	up->last = ev_now(up->c->loop);
	up_sync_soon(up);
}

void px_upstream_cancel(struct px_upstream *up)
{
	if (up != NULL && up_native(up)) {
		px_h1up_cancel(up_h1(up));
		return;
	}
	if (up == NULL || up->cancelled || up->in_done)
		return;
	up->cancelled = true;
	if (up->c->in_curl > 0) {
		/* Inside libcurl: its callbacks now fail the transfer, and the
		 * loop frees it (or its end does, whichever comes first). */
		ev_timer_stop(up->c->loop, &up->timer);
		up_kick(up);
		return;
	}
	up_free(up);
}
