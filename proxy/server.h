/* SPDX-License-Identifier: Apache-2.0 */
/* server.h: awsgated's internals: generations, workers, connections (TLS, HTTP/1.1, HTTP/2), streams, logs, metrics. */
#ifndef AWSGATE_PROXY_SERVER_H
#define AWSGATE_PROXY_SERVER_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "federation/federation.h"
#include "list.h"
#include "proxy.h"
#include "web.h"
#include "rbac/rbac.h"

/*
 * docs/SERVER.md describes this API, its lifecycle and its limits. The rule
 * of haproxy's h2c/h2s split holds: a connection (struct px_conn and its
 * codec, h1.c or h2.c) frames bytes; a stream (struct px_stream, stream.c)
 * is one request and its response, and a handler (routes.c; the AWS
 * pipeline next) sees only streams.
 */

#define PX_ERR_AGAIN -410    /* the output is full: wait for on_writable */
#define PX_ERR_CLOSED -411   /* the stream or connection is gone */
#define PX_ERR_STATE -412    /* a call out of order (a second response, a write before respond) */

/* --- limits that are not options (docs/SERVER.md) ------------------------- */
#define PX_READ_CHUNK 16384          /* bytes read from TLS at once (per-worker buffer) */
#define PX_READS_PER_EVENT 16        /* reads of one connection per wake-up: fairness between connections */
#define PX_WBUF_HIGH 65536           /* a connection's pending output above which writers wait */
#define PX_WBUF_MAX (8u << 20)       /* hard bound on one connection's pending output */
#define PX_CONN_PRIORITY (-1)        /* client connections run after upstream events (conn.c) */
#define PX_STREAM_OUT_MAX (1u << 20) /* bytes queued on one HTTP/2 stream before px_stream_write() refuses */
#define PX_ARENA_CHUNK 4096          /* one arena block */
#define PX_ARENA_MAX (4u << 20)      /* memory of one request */
#define PX_H1_MAX_CHUNK_LINE 4096    /* bytes of a chunk-size line with its extensions */
#define PX_H1_MAX_LEADING_CRLF 4     /* empty lines tolerated before a request line */
#define PX_H2_RST_BURST 200          /* RST_STREAMs from a client... */
#define PX_H2_RST_WINDOW 10.0        /* ...per this many seconds before GOAWAY ENHANCE_YOUR_CALM */
#define PX_H2_CTRL_BURST 1000        /* SETTINGS + PING frames (not ACKs)... */
#define PX_H2_CTRL_WINDOW 10.0       /* ...per this many seconds before GOAWAY ENHANCE_YOUR_CALM */
#define PX_H2_IDLE_BURST 1000        /* empty DATA frames (no END_STREAM) + PRIORITY frames... */
#define PX_H2_IDLE_WINDOW 10.0       /* ...per this many seconds before GOAWAY ENHANCE_YOUR_CALM */
#define PX_H2_MAX_CONTINUATIONS 16   /* CONTINUATION frames after one HEADERS */
#define PX_H2_MAX_OUTBOUND_ACK 1000  /* queued SETTINGS/PING ACKs (nghttp2's own bound) */
#define PX_H2_MAX_SETTINGS 32        /* entries of one SETTINGS frame */
#define PX_WATCH_INTERVAL 1.0        /* seconds between scans of the resources directory */
#define PX_TLS_HANDSHAKE_TIMEOUT_MIN 1.0
#define PX_METRICS_MAX_REQUEST 4096  /* bytes of a request to the metrics listener */
#define PX_METRICS_TIMEOUT 5.0       /* seconds a metrics client has to send its request */
#define PX_MAX_APPS_ROLES 256        /* roles listed per app in /awsgate/v1/apps */

/* --- logs (log.c) ---------------------------------------------------------- */

extern volatile int px_log_level_cur; /* enum px_log_level */

void px_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends the error log to |file| ("-" or NULL: standard error) at |level|.
 * Returns 0, or PX_ERR_IO (the old file stays). */
int px_log_open(const char *file, int level);
/* Reopens the log and audit files by name (SIGUSR1: after logrotate). */
void px_log_reopen(void);

/* Checks the level before formatting anything. */
#define PX_LOG(lvl, ...)                                                                                       \
	do {                                                                                                   \
		if ((int)(lvl) <= px_log_level_cur)                                                            \
			px_log_write((int)(lvl), __VA_ARGS__);                                                 \
	} while (0)
/* A line about connection |c| (every line names its subject). */
#define PX_CLOG(c, lvl, fmt, ...) PX_LOG(lvl, "conn=%" PRIu64 " " fmt, (c)->id, __VA_ARGS__)
#define PX_SLOG(st, lvl, fmt, ...)                                                                             \
	PX_LOG(lvl, "conn=%" PRIu64 " stream=%" PRId32 " " fmt, (st)->conn->id, (st)->id, __VA_ARGS__)

struct json_t;
/* Opens the audit log |file| ("-": standard output); |fail_closed| says what
 * px_audit() answers when it cannot write. Returns 0 or PX_ERR_IO. */
int px_audit_open(const char *file, bool fail_closed);
/* Writes |ev| (borrowed; a JSON object without secrets) as one line with
 * "time" added. Returns 0, or PX_ERR_IO when the line could not be written
 * and the log is fail-closed (the caller refuses the request with 503). */
int px_audit(struct json_t *ev);
/* A JSON object written straight into a buffer, for audit events on the
 * request path (jansson's objects and json_dumps() cost more than the rest
 * of an API request's bookkeeping). Strings are escaped; bytes that are not
 * UTF-8 become U+FFFD; an event past PX_JW_MAX bytes fails. */
#define PX_JW_MAX 65536
struct px_jw {
	char *buf;
	size_t len, cap;
	bool failed;
	char stack[1024];
};
void px_jw_init(struct px_jw *w);
/* A member |key| (|klen| bytes; ours, plain ASCII, written as is) with the
 * string |v| of |n| bytes (NULL: null) or the number |v|. Callers use the
 * wrappers below. */
void px_jw_put_str(struct px_jw *w, const char *key, size_t klen, const char *v, size_t n);
void px_jw_put_int(struct px_jw *w, const char *key, size_t klen, int64_t v);
/* Inline so that the compiler counts a literal |key| instead of strlen()
 * on every member of every request. */
static inline void px_jw_strn(struct px_jw *w, const char *key, const char *v, size_t n)
{
	px_jw_put_str(w, key, strlen(key), v, n);
}
static inline void px_jw_str(struct px_jw *w, const char *key, const char *v) /* NULL: null */
{
	px_jw_put_str(w, key, strlen(key), v, v != NULL ? strlen(v) : 0);
}
static inline void px_jw_int(struct px_jw *w, const char *key, int64_t v)
{
	px_jw_put_int(w, key, strlen(key), v);
}
void px_jw_free(struct px_jw *w);
/* Adds "time", closes |w| and writes it as one line (then frees it);
 * returns as px_audit(). */
int px_audit_jw(struct px_jw *w);
/* As px_audit_jw(), for an event made when a request ends (api.request):
 * the line joins this thread's batch, and px_audit_flush() writes the batch
 * in one write(2). A worker flushes before a client connection writes (so
 * an answer never leaves before its audit line is in the file), after an
 * HTTP/1.1 request's stream closes and before its loop sleeps. A batch
 * that cannot be written is logged with its number of lines and breaks the
 * log (px_audit_failing()). */
void px_audit_jw_later(struct px_jw *w);
void px_audit_flush(void);
/* Flushes and frees the calling thread's batch (a worker that ends). */
void px_audit_thread_end(void);

/* The audit log is fail-closed and its last write failed: a request
 * audited only at its end (an API request) is refused up front. */
bool px_audit_failing(void);
void px_log_close(void);

/* --- metrics (metrics.c) --------------------------------------------------- */

enum px_route {
	PX_ROUTE_HEALTHZ,
	PX_ROUTE_READYZ,
	PX_ROUTE_APPS,
	PX_ROUTE_CONSOLE,
	PX_ROUTE_PRESIGN,
	PX_ROUTE_NOT_FOUND,
	PX_ROUTE_PROTOCOL, /* refused by the codec before routing (400, 408, 414, 431) */
	PX_ROUTE_API,      /* an AWS API request: it has X-Forwarded-Host (api.c) */
	PX_ROUTE_WEB,      /* the web UI, /awsgate/web/ (web.c) */
	PX_ROUTE_WEB_LINK, /* POST /awsgate/v1/web-link */
	PX_ROUTE_COUNT,
};

enum px_tls_fail {
	PX_TLS_FAIL_UNTRUSTED,
	PX_TLS_FAIL_EXPIRED,
	PX_TLS_FAIL_NOT_YET_VALID,
	PX_TLS_FAIL_REVOKED,
	PX_TLS_FAIL_CERTIFICATE, /* another certificate error */
	PX_TLS_FAIL_PROTOCOL,    /* not a certificate: versions, ciphers, garbage */
	PX_TLS_FAIL_TIMEOUT,
	PX_TLS_FAIL_COUNT,
};

enum px_h2_calm {
	PX_H2_CALM_RAPID_RESET,
	PX_H2_CALM_CONTROL_FLOOD,
	PX_H2_CALM_CONTINUATION,
	PX_H2_CALM_EMPTY_FRAMES,
	PX_H2_CALM_COUNT,
};

void px_metrics_conn_open(void);
void px_metrics_conn_close(void);
uint64_t px_metrics_conns_open(void);
void px_metrics_stream(int h2);
void px_metrics_request(enum px_route r, int status);
void px_metrics_bytes(uint64_t in, uint64_t out);
void px_metrics_tls_fail(enum px_tls_fail why);
void px_metrics_h2_calm(enum px_h2_calm why);
/* An API request's end: its signing name (NULL: not known; names beyond
 * the first PX_METRICS_MAX_SERVICES count as "other"), status and seconds. */
void px_metrics_api(const char *service, int status, double seconds);
/* An upstream request's end (enum px_up_error, upstream.h; 0: ok). */
void px_metrics_upstream(int err);
/* Writes the Prometheus text exposition to a new buffer (*out, *len; free()). */
int px_metrics_render(char **out, size_t *len);
const char *px_tls_fail_str(enum px_tls_fail why);

/* --- generations (gen.c) --------------------------------------------------- */

/*
 * Everything a reload replaces, immutable and refcounted: the daemon file,
 * the frozen policy, the TLS context and the identity CA. A connection and
 * each stream hold the generation they started with.
 */
struct px_gen {
	int refs; /* atomic */
	uint64_t id;
	struct px_config *cfg;
	struct rbac_policy *pol;
	SSL_CTX *ssl;
	X509 *identity_ca; /* NULL: no identity extension is trusted */
};

/* Loads the daemon file |path| and everything it names into a new
 * generation (+1 reference). Every problem is logged. With |base| not
 * NULL only the resources are reloaded: the configuration and the TLS
 * context are shared with |base|.
 * This function returns 0 if it succeeds, or PX_ERR_CONFIG, PX_ERR_IO, PX_ERR_NOMEM. */
int px_gen_load(const char *path, const struct px_gen *base, uint64_t id, struct px_gen **out);
struct px_gen *px_gen_ref(struct px_gen *g);
void px_gen_unref(struct px_gen *g);

/* SSL ex_data index of the struct px_conn of an SSL. */
extern int px_ssl_conn_idx;

/* --- the server (server.c) ------------------------------------------------- */

struct px_conn;

struct px_worker {
	struct px_server *srv;
	unsigned idx;
	pthread_t thread;
	bool started; /* |thread| runs */
	struct ev_loop *loop;
	ev_async wake;      /* stop, force, from the main thread */
	ev_timer accept_retry; /* listeners paused at limits.max_connections */
	ev_prepare audit_flush; /* the round's audit lines, before the loop sleeps */
	int *lfd;            /* one SO_REUSEPORT socket per listen address */
	ev_io *lio;
	size_t nl;
	bool listening;
	struct px_list conns; /* px_conn.link: the worker's open connections */
	uint64_t next_id;
	int stopping; /* 1: drain; 2: force */
	/* The loop's libcurl core (curl.c): the upstream requests of the API
	 * pipeline and federation's transport (STS, sign-in, the base
	 * credential sources) share its connection pool. Made before the
	 * thread starts, freed after it stopped; aws.ca_file and
	 * aws.connect_to are read then (restart to change). */
	struct px_curl *curl;
	struct px_transport *transport;
	struct sv4_signer *signer;           /* the pipeline's re-signing (one thread) */
	struct px_resolve_loop *resolve;     /* answers of the process's resolver, on this loop */
	unsigned char scratch[PX_READ_CHUNK];
};

struct px_server {
	const char *config_path;
	pthread_mutex_t lock;
	struct px_gen *gen; /* under |lock| */
	uint64_t gen_id;    /* atomic: the current generation's id */
	struct px_worker *w;
	size_t nw;
	struct ev_loop *loop;
	ev_signal sig_hup, sig_term, sig_int, sig_usr1;
	ev_timer watch, grace;
	ev_async done; /* a worker has finished */
	int metrics_fd;
	ev_io metrics_io;
	uint64_t watch_sig;
	int ready;    /* atomic: listeners up and a generation loaded */
	int draining; /* atomic */
	size_t nfinished; /* atomic */
	/* Process-wide AWS state, shared by every worker (docs/SERVER.md, "The
	 * front half"): the gate's own credentials and the AssumeRole cache.
	 * Reset on SIGHUP. */
	struct fed_env env;
	/* fed_env_sts_endpoint(), copied once at start (the environment does
	 * not change under a running gate; getenv() per request cost about
	 * 1,100 instructions), or NULL. */
	char *sts_endpoint_url;
	struct fed_base *base;
	struct fed_cache *cache;
	struct px_resolver *resolver; /* the AWS names the pipeline connects to (resolve.h) */
	struct px_web_table *web;     /* the web UI's links and sessions (web.h); kept across reloads */
	int curl; /* curl_global_init() was called */
};

extern struct px_server *px_srv;

/* The current generation (+1 reference). */
struct px_gen *px_server_gen(void);
/* Runs awsgated: returns the exit status. */
int px_gated_main(int argc, char **argv);

/* --- arena (stream.c) ------------------------------------------------------ */

struct px_arena_block;
struct px_arena {
	struct px_arena_block *head;
	size_t used; /* bytes allocated from the system */
};
void *px_arena_alloc(struct px_arena *a, size_t n);
char *px_arena_strndup(struct px_arena *a, const char *s, size_t n);
void px_arena_free(struct px_arena *a);

/* --- streams (stream.c) ---------------------------------------------------- */

struct px_header {
	const char *name; /* lower case, NUL-terminated, in the stream's arena */
	const char *value;
	size_t name_len, value_len;
};

struct px_stream;

/* What a handler is told; every member may be NULL. Each may call the
 * response functions. After on_close the stream is freed: the handler
 * must drop its pointer. */
struct px_stream_handler {
	/* |len| bytes of the request body; the handler calls
	 * px_stream_consume() when it has taken them (flow control). */
	void (*on_body)(struct px_stream *st, const unsigned char *data, size_t len);
	void (*on_body_end)(struct px_stream *st);
	/* The output queue fell below its mark after px_stream_write() said PX_ERR_AGAIN. */
	void (*on_writable)(struct px_stream *st);
	/* The stream ends: response sent, or reset, or the connection is gone. */
	void (*on_close)(struct px_stream *st);
};

/* The ops a codec gives its streams. */
struct px_codec_ops {
	int (*respond)(struct px_stream *st, const struct px_header *hdrs, size_t n, int64_t content_length);
	int (*write)(struct px_stream *st, const unsigned char *data, size_t len);
	int (*end)(struct px_stream *st);
	void (*consume)(struct px_stream *st, size_t n);
	int (*send_continue)(struct px_stream *st);
	size_t (*pending)(const struct px_stream *st); /* bytes queued, for backpressure */
	void (*abort)(struct px_stream *st); /* the response is cut: RST_STREAM, or close the connection */
};

/* A protocol-neutral request and its response (docs/SERVER.md). */
struct px_stream {
	struct px_conn *conn;
	const struct px_codec_ops *ops;
	int32_t id;         /* HTTP/2 stream id; HTTP/1.1: the request's number on the connection */
	struct px_arena arena;
	/* The generation this request runs on: the connection's, borrowed,
	 * while that is the current one (px_stream_new()), else its own
	 * reference (+1, |gen_owned|). */
	struct px_gen *gen;
	struct px_subject *subject; /* +1 or NULL */
	/* The web UI's session identity (+1), or NULL: the connection's
	 * certificate is the identity. Only web routes set it (web.c). */
	struct px_web_ident *web_ident;
	const char *method, *path, *authority, *scheme; /* NUL-terminated, in the arena; NULL when absent */
	size_t path_len;
	struct px_header *hdrs;
	size_t nhdrs, cap_hdrs;
	size_t hdr_bytes;
	int64_t content_length; /* -1: unknown */
	unsigned expect_continue : 1, has_body : 1, body_done : 1, resp_started : 1, resp_done : 1,
		head : 1, too_large : 1, bad : 1, closed : 1, writable_wanted : 1, gen_owned : 1;
	int status;
	enum px_route route;
	const struct px_stream_handler *h;
	void *harg;
	/* HTTP/2 output queue */
	unsigned char *out;
	size_t out_len, out_off, out_cap;
	struct px_stream *next; /* the codec's list */
};

/* Starts the response: |status| and |n| headers (names lower case); the
 * codec adds X-Awsgate-Version, and Content-Length when |content_length|
 * >= 0 (else the body is chunked in HTTP/1.1).
 * Returns 0, PX_ERR_STATE, PX_ERR_CLOSED or PX_ERR_NOMEM. */
int px_stream_respond(struct px_stream *st, int status, const struct px_header *hdrs, size_t n,
		      int64_t content_length);
/* Queues |len| bytes of body (copied). Returns 0; PX_ERR_AGAIN when the
 * bytes were queued but the output is past its mark (wait for on_writable
 * before writing more); PX_ERR_NOMEM, PX_ERR_CLOSED, PX_ERR_STATE. */
int px_stream_write(struct px_stream *st, const void *data, size_t len);
/* Ends the response body. */
int px_stream_end(struct px_stream *st);
/* The handler has taken |n| bytes of request body: the window reopens. */
void px_stream_consume(struct px_stream *st, size_t n);
/* Cuts a started response (AWS failed midway): HTTP/2 resets the stream,
 * HTTP/1.1 closes the connection once the bytes queued are sent, so the
 * client sees the response is incomplete. No more writes after it. */
void px_stream_abort(struct px_stream *st);
/* Sends 100 Continue (HTTP/1.1 with Expect: 100-continue; no-op otherwise). */
int px_stream_continue(struct px_stream *st);
/* A whole response: |status|, Content-Type |ctype|, |body|, extra headers. */
int px_stream_reply(struct px_stream *st, int status, const char *ctype, const char *body, size_t len,
		    const struct px_header *extra, size_t nextra);
/* A gate error: JSON {"error":|reason|,"message":|msg|} and X-Awsgate-Error. */
int px_stream_error(struct px_stream *st, int status, const char *reason, const char *msg);
/* The first value of request header |name| (lower case), or NULL. */
const struct px_header *px_stream_header(const struct px_stream *st, const char *name);

/* Codec side. */
struct px_stream *px_stream_new(struct px_conn *c, const struct px_codec_ops *ops, int32_t id);
int px_stream_add_header(struct px_stream *st, const char *name, size_t nlen, const char *value, size_t vlen);
void px_stream_body_in(struct px_stream *st, const unsigned char *data, size_t len);
void px_stream_body_end(struct px_stream *st);
void px_stream_del(struct px_stream *st); /* calls on_close first */

/* Routes (routes.c): called once a request's headers are complete. */
void px_route_dispatch(struct px_stream *st);
/* The AWS API pipeline (api.c): a request with X-Forwarded-Host. */
void px_api_dispatch(struct px_stream *st);

/* A subject shared by a connection and its streams (one thread). */
struct px_subject {
	int refs;
	struct rbac_subject *s;
};
void px_subject_unref(struct px_subject *s);

/* --- connections (conn.c) -------------------------------------------------- */

enum px_conn_state {
	PX_CONN_HANDSHAKE,
	PX_CONN_H1,
	PX_CONN_H2,
};

struct px_h1;
struct px_h2;

struct px_conn {
	struct px_worker *w;
	uint64_t id;
	int fd;
	SSL *ssl;
	struct px_gen *gen; /* at accept: TLS context, identity CA (+1) */
	ev_io io;
	ev_timer timer;
	enum px_conn_state state;
	int verify_err;       /* the first X509_V_ERR_* of the handshake */
	unsigned closing : 1, /* close once the output is flushed */
		dead : 1,     /* close now */
		want_write : 1, read_paused : 1, in_cb : 1, draining : 1,
		lingering : 1, /* a failed handshake: waiting for the client to read the alert */
		again : 1;     /* run the connection again from the loop (input left over) */
	/* identity: once per connection */
	int has_ident; /* 1 identity; 0 no certificate; -1 unusable certificate */
	struct rbac_identity ident;
	struct px_subject *subject;
	/* output */
	unsigned char *wbuf;
	size_t wlen, woff, wcap;
	/* input not yet taken by the codec (read paused) */
	unsigned char *rbuf;
	size_t rlen, roff;
	struct px_h1 *h1;
	struct px_h2 *h2;
	uint64_t bytes_in, bytes_out;
	char peer[64]; /* the client's address and port, for the audit: "192.0.2.1:50000", "[2001:db8::1]:50000" */
	struct px_link link; /* on its worker's |conns| */
};

/* Accepts |fd| on worker |w|. */
void px_conn_accept(struct px_worker *w, int fd);
/* Appends |len| bytes to the output. Returns 0 or PX_ERR_NOMEM (past PX_WBUF_MAX). */
int px_conn_out(struct px_conn *c, const void *data, size_t len);
/* Makes the loop flush and re-run the codec soon (after an asynchronous response). */
void px_conn_kick(struct px_conn *c);
/* Drain: GOAWAY (h2), close when idle (h1). */
void px_conn_shutdown(struct px_conn *c);
void px_conn_close(struct px_conn *c);
/* (Re)arms the connection's one timer; 0 stops it. */
void px_conn_timer(struct px_conn *c, double secs);
/* The identity's subject under |g| (rebuilt when the policy changed); +1 or NULL. */
struct px_subject *px_conn_subject(struct px_conn *c, struct px_gen *g);

/* --- HTTP/1.1 (h1.c) ------------------------------------------------------- */

/* The strict head scanner: runs before llhttp over the same bytes and
 * refuses what llhttp 8.1 would accept (obs-fold, bare CR/LF, controls,
 * a space before the colon) and enforces the size limits. */
enum px_h1_scan_state {
	PX_H1S_RL_START,
	PX_H1S_RL,
	PX_H1S_RL_CR,
	PX_H1S_LINE_START,
	PX_H1S_NAME,
	PX_H1S_VALUE,
	PX_H1S_VALUE_CR,
	PX_H1S_END_CR,
	PX_H1S_DONE,
};

struct px_h1_scan {
	enum px_h1_scan_state state;
	uint64_t max_request_line, max_header_bytes;
	uint32_t max_headers;
	uint64_t line_len;   /* request line so far */
	uint64_t head_bytes; /* header block so far */
	uint32_t nfields;
	uint32_t leading;    /* empty lines before the request line */
	int started;         /* a byte of this request has been seen */
};

#define PX_H1_MORE 0
#define PX_H1_DONE 1
/* Otherwise the HTTP status to refuse with: 400, 414 or 431. */

void px_h1_scan_init(struct px_h1_scan *s, uint64_t max_request_line, uint64_t max_header_bytes,
		     uint32_t max_headers);
/* Scans up to |len| bytes of |p|; writes the bytes taken to |*used| (all
 * of them, or up to the end of the head). Returns PX_H1_MORE, PX_H1_DONE,
 * or 400, 414, 431. */
int px_h1_scan(struct px_h1_scan *s, const unsigned char *p, size_t len, size_t *used);

/* The strict chunked-body scanner (sizes, extensions, CRLFs, trailers). */
struct px_h1_chunk {
	int state;
	uint64_t size;   /* of the current chunk: left to read */
	unsigned digits;
	uint64_t line;   /* bytes of the current size line or trailer block */
	uint64_t max_trailer_bytes;
	uint32_t max_trailers, ntrailers;
};
void px_h1_chunk_init(struct px_h1_chunk *s, uint64_t max_trailer_bytes, uint32_t max_trailers);
/* As px_h1_scan(): PX_H1_MORE, PX_H1_DONE (the body's last byte taken), or 400. */
int px_h1_chunk_scan(struct px_h1_chunk *s, const unsigned char *p, size_t len, size_t *used);

/* The codec. */
int px_h1_new(struct px_conn *c);
void px_h1_del(struct px_conn *c);
/* Takes input; returns the bytes taken (less than |len| when paused), or -1: close. */
ssize_t px_h1_feed(struct px_conn *c, const unsigned char *p, size_t len);
void px_h1_timeout(struct px_conn *c);
/* After each event: finishes an answered request, readies the next.
 * Returns 1 when reading may resume. */
int px_h1_after(struct px_conn *c);
void px_h1_shutdown(struct px_conn *c);
bool px_h1_idle(const struct px_conn *c);
/* The codec would take input now (not waiting for a response or a consumer). */
bool px_h1_wants_input(const struct px_conn *c);

/* --- HTTP/2 (h2.c) --------------------------------------------------------- */
int px_h2_new(struct px_conn *c);
void px_h2_del(struct px_conn *c);
ssize_t px_h2_feed(struct px_conn *c, const unsigned char *p, size_t len);
/* Moves nghttp2's output to the connection's buffer. Returns 0 or -1: close. */
int px_h2_produce(struct px_conn *c);
void px_h2_shutdown(struct px_conn *c);
bool px_h2_done(const struct px_conn *c);
bool px_h2_idle(const struct px_conn *c);
/* nghttp2 has frames to send (more than one round of px_h2_produce() took). */
bool px_h2_wants_write(const struct px_conn *c);

#endif
