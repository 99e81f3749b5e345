/* SPDX-License-Identifier: Apache-2.0 */
/* upstream.h: the AWS pipeline's streaming HTTP client: one request to AWS on the loop's libcurl core, bounded both ways. */
#ifndef AWSGATE_PROXY_UPSTREAM_H
#define AWSGATE_PROXY_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy.h"

/*
 * docs/UPSTREAM.md describes the calling order, the limits and the HTTP/2
 * verdict. In short: px_upstream_start(); then, for a request body,
 * px_upstream_write() until it says PX_ERR_AGAIN (wait for on_writable) and
 * px_upstream_end(); meanwhile on_head, then on_body pieces (answer
 * PX_ERR_AGAIN to stop them until px_upstream_resume()), then on_done,
 * after which the request is freed. px_upstream_cancel() at any time
 * before on_done, from anywhere (callbacks included).
 */

/* The same values as server.h's (identical definitions are allowed). */
#ifndef PX_ERR_AGAIN
#define PX_ERR_AGAIN -410 /* the output is full: wait for on_writable */
#endif
#ifndef PX_ERR_STATE
#define PX_ERR_STATE -412 /* a call out of order (a second response, a write before respond) */
#endif
#define PX_ERR_INVALID -430 /* an argument is not acceptable: see the function's comment */

/* Limits (docs/UPSTREAM.md). */
#define PX_UP_BODY_BUF 65536          /* request body bytes held between the client and libcurl */
#define PX_UP_MAX_HEADERS 100         /* response header fields */
#define PX_UP_MAX_HEADER_BYTES 16384  /* bytes of response header names and values */
#define PX_UP_MAX_REQUEST_HEADER 8192 /* bytes of one request header line */

/* Why an upstream request failed: for the 502/504, X-Awsgate-Error and the
 * metrics (px_up_error_name()). */
enum px_up_error {
	PX_UP_OK = 0,
	PX_UP_DNS,                /* the name did not resolve (only without a pinned address) */
	PX_UP_CONNECT_REFUSED,    /* ECONNREFUSED */
	PX_UP_CONNECT,            /* another connect failure (unreachable, ...) */
	PX_UP_TLS,                /* the TLS handshake failed */
	PX_UP_TLS_VERIFY,         /* the upstream's certificate or name was not trusted */
	PX_UP_TIMEOUT_CONNECT,    /* timeouts.upstream_connect */
	PX_UP_TIMEOUT_FIRST_BYTE, /* timeouts.upstream_first_byte: sent, no answer */
	PX_UP_TIMEOUT_IDLE,       /* timeouts.upstream_idle: no bytes either way */
	PX_UP_RESET,              /* the connection closed or was reset before the answer was complete */
	PX_UP_PROTOCOL,           /* the upstream broke HTTP (or its headers were over our limits) */
	PX_UP_NOMEM,
	PX_UP_INTERNAL,           /* anything else libcurl reported */
	PX_UP_ERROR_COUNT,
};

/* "ok", "dns", "connect-refused", "connect", "tls", "tls-verify",
 * "timeout-connect", "timeout-first-byte", "timeout-idle", "reset",
 * "protocol", "nomem", "internal". */
const char *px_up_error_name(enum px_up_error e);

/* The status the gate answers with: 504 for the timeouts, 502 otherwise
 * (0 for PX_UP_OK). */
int px_up_error_status(enum px_up_error e);

enum px_up_body {
	PX_UP_BODY_NONE,    /* no body (GET, HEAD, DELETE) */
	PX_UP_BODY_LENGTH,  /* exactly body_length bytes (Content-Length) */
	PX_UP_BODY_CHUNKED, /* unknown length: chunked in HTTP/1.1, DATA frames in HTTP/2 */
};

enum px_up_http {
	PX_UP_HTTP1 = 0, /* HTTP/1.1 only: the default (docs/UPSTREAM.md: a paused HTTP/2
	                    stream of libcurl 7.88 buffers up to its 32 MiB window) */
	PX_UP_HTTP2,     /* HTTP/2 when the upstream offers it in ALPN, else HTTP/1.1 */
};

struct px_up_header {
	const char *name;  /* NUL-terminated */
	const char *value; /* NUL-terminated */
};

struct px_upstream_request {
	const char *method; /* "GET", "PUT", ... */
	/* https://AWS-NAME[:port]/path?query exactly as signed: the path is
	 * sent as is (no dot-segment removal). */
	const char *url;
	/* The signed headers and the rest to forward, borrowed for the call.
	 * Content-Length, Transfer-Encoding and Expect are left out (the body
	 * description decides them); a CR, LF or NUL in a name or value is
	 * refused. libcurl adds Host from the URL unless one is given. */
	const struct px_up_header *headers;
	size_t nheaders;
	/* The address the caller checked (AF_INET or AF_INET6; its port, or
	 * the URL's when 0): the only one connected to. NULL: the URL's host,
	 * through aws.connect_to when a pattern matches, else resolved by
	 * libcurl (the federation path; the pipeline always pins). */
	const struct sockaddr *addr;
	enum px_up_body body;
	uint64_t body_length; /* PX_UP_BODY_LENGTH */
	enum px_up_http http;
	/* Milliseconds; 0: 10 s, 60 s, 300 s (the config's defaults). */
	uint32_t connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms;
};

/* Sets |req|'s three timeouts from timeouts.upstream_* of |cfg|. */
void px_upstream_request_timeouts(struct px_upstream_request *req, const struct px_config *cfg);

struct px_upstream;

/*
 * What the caller is told, with its |arg|. None is ever called from inside
 * a px_upstream_* call of the same request, so each may call any of them.
 */
struct px_upstream_handler {
	/* The final response's head (1xx heads are skipped): |status| and |n|
	 * header fields as received (HTTP/2 names in lower case), valid during
	 * the call. Trailers, if any, are not reported. */
	void (*on_head)(void *arg, int status, const struct px_up_header *hdrs, size_t n);
	/* |len| bytes of the response body, valid during the call. Return 0 to
	 * get more, or PX_ERR_AGAIN to say the bytes were taken but no more may
	 * come until px_upstream_resume(): the transfer is paused and its
	 * socket (or HTTP/2 stream window) is no longer read. */
	int (*on_body)(void *arg, const unsigned char *data, size_t len);
	/* Room in the request body buffer after px_upstream_write() took less
	 * than it was given. */
	void (*on_writable)(void *arg);
	/* The end: PX_UP_OK once the whole response was delivered, else why it
	 * failed (|detail|: libcurl's message, for the error log). The request
	 * is freed after this call: drop the pointer. */
	void (*on_done)(void *arg, enum px_up_error err, const char *detail);
};

/*
 * Starts |req| on the loop's libcurl core |c|; |h| (borrowed, must outlive
 * the request) and |arg| receive its events, never from inside this call.
 * Writes the request to |*out|.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_INVALID (no method or URL, a header with CR, LF or
 * NUL, or one longer than PX_UP_MAX_REQUEST_HEADER, an address that is not
 * IPv4 or IPv6), PX_ERR_NOMEM.
 */
int px_upstream_start(struct px_curl *c, const struct px_upstream_request *req, const struct px_upstream_handler *h,
                      void *arg, struct px_upstream **out);

/*
 * Pushes up to |len| bytes of the request body: copies what fits in the
 * request's buffer (PX_UP_BODY_BUF) and returns how many it took (0 for
 * |len| 0). When that is less than |len|, on_writable follows once there is
 * room. This function returns the count, or one of the following negative
 * error codes: PX_ERR_AGAIN (nothing taken: the buffer is full; wait for
 * on_writable), PX_ERR_STATE (the request has no body or was ended),
 * PX_ERR_INVALID (more bytes than body_length).
 */
int px_upstream_write(struct px_upstream *up, const void *data, size_t len);

/*
 * Ends the request body. This function returns 0 if it succeeds, or one of
 * the following negative error codes: PX_ERR_STATE (no body, or already
 * ended), PX_ERR_INVALID (fewer bytes than body_length were written: cancel
 * the request; the upstream would wait for the rest).
 */
int px_upstream_end(struct px_upstream *up);

/* Lets response body pieces come again after on_body answered PX_ERR_AGAIN.
 * Harmless when not paused. */
void px_upstream_resume(struct px_upstream *up);

/* Abandons the request (the client went away): no callback runs after
 * this, the connection is closed or returned to the pool by libcurl. Safe
 * from inside this request's own callbacks (the request is then freed from
 * the loop). Not after on_done; NULL is fine. */
void px_upstream_cancel(struct px_upstream *up);

#endif
