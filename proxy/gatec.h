/* SPDX-License-Identifier: Apache-2.0 */
/* gatec.h: the local proxy's client of the gate: one multiplexed HTTP/2 connection over mTLS, driven by a libev loop, streaming both ways. */
#ifndef AWSGATE_PROXY_GATEC_H
#define AWSGATE_PROXY_GATEC_H

#include <stddef.h>
#include <stdint.h>

#include "upstream.h" /* PX_ERR_AGAIN, PX_ERR_STATE, PX_ERR_INVALID, struct px_up_header */

struct ev_loop;
struct px_resolve_loop;

/*
 * docs/LPROXY.md ("The gate connection"). The calling order is upstream.h's:
 * px_gatec_request_start(); for a body, px_gatec_request_write() until it
 * says PX_ERR_AGAIN (wait for on_writable) and px_gatec_request_end();
 * meanwhile on_head, on_body pieces (PX_ERR_AGAIN pauses them until
 * px_gatec_request_resume(): the stream's window is then not reopened),
 * then on_done, after which the request is freed. px_gatec_request_cancel()
 * at any time before on_done (RST_STREAM CANCEL).
 *
 * One TLS connection (ALPN h2 only, client certificate, the gate's name
 * verified against the profile's CA) carries every request. It is made on
 * the first request (the gate's name looked up through |resolver|, within
 * the connect timeout); when it fails or the gate sends GOAWAY, requests not
 * yet started by the gate are retried on a new connection (backoff 0.1 s
 * doubling to 5 s) and the others fail with PX_UP_RESET. A TLS alert that
 * says the client certificate expired or was revoked fails everything with
 * PX_GATEC_CERT and stops retrying.
 */

#define PX_GATEC_BODY_BUF 65536 /* request body bytes held per stream before PX_ERR_AGAIN */
#define PX_GATEC_CERT PX_UP_ERROR_COUNT /* on_done: the gate refused our certificate: log in again */

struct px_gatec_config {
	const char *gate;      /* "HOST:PORT" */
	const char *cert_file; /* client certificate (PEM) */
	const char *key_file;  /* its key */
	const char *ca_file;   /* what the gate's certificate must chain to */
	/* Milliseconds; 0: 10 s, 60 s, 300 s. The connect timeout covers the
	 * name's lookup, the TCP connect and the TLS handshake. */
	uint32_t connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms;
	/* Where the gate's name is looked up (proxy/resolve.h; borrowed, on
	 * the client's loop, deleted after the client). NULL: the client makes
	 * its own resolver when the gate is a name. Never getaddrinfo() on the
	 * loop. */
	struct px_resolve_loop *resolver;
};

struct px_gatec;
struct px_gatec_request;

/* The events of one request, with upstream.h's meanings (|err| is an enum
 * px_up_error, or PX_GATEC_CERT). */
struct px_gatec_handler {
	/* `100 Continue` from the gate (the request was sent with
	 * `expect: 100-continue`): send the body now. NULL: not wanted. */
	void (*on_continue)(void *arg);
	void (*on_head)(void *arg, int status, const struct px_up_header *hdrs, size_t n);
	int (*on_body)(void *arg, const unsigned char *data, size_t len);
	void (*on_writable)(void *arg);
	void (*on_done)(void *arg, int err, const char *detail);
};

/*
 * Creates the client on |loop| (borrowed). Loads and checks the files now
 * (a missing or mismatched key is an error here, not at the first request).
 * This function returns 0 if it succeeds, or PX_ERR_INVALID with a message
 * in |err| (|errlen| bytes).
 */
int px_gatec_new(struct ev_loop *loop, const struct px_gatec_config *cfg, struct px_gatec **out, char *err,
                 size_t errlen);

/* Closes the connection (GOAWAY) and fails the requests in flight with
 * PX_UP_RESET, their on_done called from inside. NULL is fine. */
void px_gatec_del(struct px_gatec *gc);

/*
 * Starts a request. |method| and |path| (with query) as given; |authority|
 * is the gate's name; |hdrs| (borrowed for the call) are sent as given
 * after lower-casing the names, minus connection-specific ones (Connection,
 * Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE, Host).
 * `Expect: 100-continue` is sent when given: the gate answers 100 once it
 * has authorised the request (on_continue), or its refusal without
 * reading the body.
 * |body|: PX_UP_BODY_NONE (END_STREAM on HEADERS), _LENGTH
 * (content-length sent, exactly |body_length| bytes must follow) or
 * _CHUNKED (DATA until px_gatec_request_end()). Events never come from
 * inside this call.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_INVALID (a header with CR, LF or NUL, or an invalid
 * name), PX_ERR_NOMEM.
 */
int px_gatec_request_start(struct px_gatec *gc, const char *method, const char *path,
                           const struct px_up_header *hdrs, size_t nhdrs, enum px_up_body body,
                           uint64_t body_length, const struct px_gatec_handler *h, void *arg,
                           struct px_gatec_request **out);

/* As px_upstream_write(): returns the bytes taken (copied), or
 * PX_ERR_AGAIN, PX_ERR_STATE, PX_ERR_INVALID. */
int px_gatec_request_write(struct px_gatec_request *rq, const void *data, size_t len);

/* As px_upstream_end(). */
int px_gatec_request_end(struct px_gatec_request *rq);

/* As px_upstream_resume(). */
void px_gatec_request_resume(struct px_gatec_request *rq);

/* As px_upstream_cancel(): no callback after it; safe from the request's
 * own callbacks. NULL is fine. */
void px_gatec_request_cancel(struct px_gatec_request *rq);

/* The gate's X-Awsgate-Version as last seen, or NULL. */
const char *px_gatec_gate_version(const struct px_gatec *gc);

#endif
