/* SPDX-License-Identifier: Apache-2.0 */
/* h1.c: the HTTP/1.1 codec: strict scanners in front of llhttp, keep-alive, chunked bodies, 100-continue. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <llhttp.h>

#include "config.h"
#include "server.h"

/* Unconsumed request-body bytes past which llhttp is paused (backpressure). */
#define PX_H1_BODY_WINDOW 65536

/* --- the strict scanners (pure: unit-tested and fuzzed) ------------------- */

static int is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return 1;
	return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* field-vchar, SP, HTAB and obs-text: what a header value may hold. */
static int is_value_char(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

void px_h1_scan_init(struct px_h1_scan *s, uint64_t max_request_line, uint64_t max_header_bytes,
		     uint32_t max_headers)
{
	memset(s, 0, sizeof(*s));
	s->state = PX_H1S_RL_START;
	s->max_request_line = max_request_line;
	s->max_header_bytes = max_header_bytes;
	s->max_headers = max_headers;
}

int px_h1_scan(struct px_h1_scan *s, const unsigned char *p, size_t len, size_t *used)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = p[i];
		s->started = 1;
		if (s->state >= PX_H1S_LINE_START && ++s->head_bytes > s->max_header_bytes) {
			*used = i;
			return 431;
		}
		switch (s->state) {
		case PX_H1S_RL_START:
			if (ch == '\r') {
				s->state = PX_H1S_RL_CR;
				break;
			}
			s->state = PX_H1S_RL;
			if (ch != ' ' && (ch < 0x21 || ch > 0x7e))
				goto bad;
			if (++s->line_len > s->max_request_line) {
				*used = i;
				return 414;
			}
			break;
		case PX_H1S_RL:
			if (ch == '\r') {
				s->state = PX_H1S_RL_CR;
				break;
			}
			if (ch != ' ' && (ch < 0x21 || ch > 0x7e))
				goto bad; /* bare LF, controls, raw bytes past ASCII */
			if (++s->line_len > s->max_request_line) {
				*used = i;
				return 414;
			}
			break;
		case PX_H1S_RL_CR:
			if (ch != '\n')
				goto bad;
			if (s->line_len == 0) {
				if (++s->leading > PX_H1_MAX_LEADING_CRLF)
					goto bad;
				s->state = PX_H1S_RL_START;
			} else {
				s->state = PX_H1S_LINE_START;
			}
			break;
		case PX_H1S_LINE_START:
			if (ch == '\r') {
				s->state = PX_H1S_END_CR;
				break;
			}
			if (!is_tchar(ch))
				goto bad; /* obs-fold (SP, HTAB), bare LF, or not a name */
			if (++s->nfields > s->max_headers) {
				*used = i;
				return 431;
			}
			s->state = PX_H1S_NAME;
			break;
		case PX_H1S_NAME:
			if (ch == ':')
				s->state = PX_H1S_VALUE;
			else if (!is_tchar(ch))
				goto bad; /* a space before the colon, CR, LF */
			break;
		case PX_H1S_VALUE:
			if (ch == '\r')
				s->state = PX_H1S_VALUE_CR;
			else if (!is_value_char(ch))
				goto bad; /* NUL, controls, bare LF */
			break;
		case PX_H1S_VALUE_CR:
			if (ch != '\n')
				goto bad; /* bare CR */
			s->state = PX_H1S_LINE_START;
			break;
		case PX_H1S_END_CR:
			if (ch != '\n')
				goto bad;
			s->state = PX_H1S_DONE;
			*used = i + 1;
			return PX_H1_DONE;
		case PX_H1S_DONE:
			*used = i;
			return PX_H1_DONE;
		}
	}
	*used = i;
	return PX_H1_MORE;
bad:
	*used = i;
	return 400;
}

enum {
	CS_SIZE0,
	CS_SIZE,
	CS_SIZE_WS,
	CS_EXT_NAME0,
	CS_EXT_NAME,
	CS_EXT_AFTER,
	CS_EXT_VAL0,
	CS_EXT_TOK,
	CS_EXT_AFTERVAL,
	CS_EXT_QS,
	CS_EXT_QP,
	CS_SIZE_CR,
	CS_DATA,
	CS_DATA_CR,
	CS_DATA_LF,
	CS_TR_START,
	CS_TR_NAME,
	CS_TR_VALUE,
	CS_TR_VALUE_CR,
	CS_END_CR,
	CS_DONE,
};

void px_h1_chunk_init(struct px_h1_chunk *s, uint64_t max_trailer_bytes, uint32_t max_trailers)
{
	memset(s, 0, sizeof(*s));
	s->state = CS_SIZE0;
	s->max_trailer_bytes = max_trailer_bytes;
	s->max_trailers = max_trailers;
}

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int px_h1_chunk_scan(struct px_h1_chunk *s, const unsigned char *p, size_t len, size_t *used)
{
	size_t i = 0;

	while (i < len) {
		unsigned char ch = p[i];
		int ws = ch == ' ' || ch == '\t';
		if (s->state == CS_DATA) {
			size_t n = len - i;
			if (n > s->size)
				n = (size_t)s->size;
			s->size -= n;
			i += n;
			if (s->size == 0)
				s->state = CS_DATA_CR;
			continue;
		}
		if (s->state >= CS_TR_START) {
			if (++s->line > s->max_trailer_bytes) {
				*used = i;
				return 431;
			}
		} else if (s->state <= CS_SIZE_CR && ++s->line > PX_H1_MAX_CHUNK_LINE) {
			goto bad;
		}
		switch (s->state) {
		case CS_SIZE0:
		case CS_SIZE: {
			int v = hexval(ch);
			if (v >= 0) {
				if (++s->digits > 16)
					goto bad;
				s->size = s->size * 16 + (uint64_t)v;
				s->state = CS_SIZE;
			} else if (s->state == CS_SIZE0) {
				goto bad;
			} else if (ch == ';') {
				s->state = CS_EXT_NAME0;
			} else if (ws) {
				s->state = CS_SIZE_WS;
			} else if (ch == '\r') {
				s->state = CS_SIZE_CR;
			} else {
				goto bad;
			}
			break;
		}
		case CS_SIZE_WS:
			if (ch == ';')
				s->state = CS_EXT_NAME0;
			else if (!ws)
				goto bad;
			break;
		case CS_EXT_NAME0:
			if (is_tchar(ch))
				s->state = CS_EXT_NAME;
			else if (!ws)
				goto bad;
			break;
		case CS_EXT_NAME:
		case CS_EXT_AFTER:
			if (ch == '=')
				s->state = CS_EXT_VAL0;
			else if (ch == ';')
				s->state = CS_EXT_NAME0;
			else if (ch == '\r')
				s->state = CS_SIZE_CR;
			else if (ws)
				s->state = CS_EXT_AFTER;
			else if (!(s->state == CS_EXT_NAME && is_tchar(ch)))
				goto bad;
			break;
		case CS_EXT_VAL0:
			if (ch == '"')
				s->state = CS_EXT_QS;
			else if (is_tchar(ch))
				s->state = CS_EXT_TOK;
			else if (!ws)
				goto bad;
			break;
		case CS_EXT_TOK:
		case CS_EXT_AFTERVAL:
			if (ch == ';')
				s->state = CS_EXT_NAME0;
			else if (ch == '\r')
				s->state = CS_SIZE_CR;
			else if (ws)
				s->state = CS_EXT_AFTERVAL;
			else if (!(s->state == CS_EXT_TOK && is_tchar(ch)))
				goto bad;
			break;
		case CS_EXT_QS:
			if (ch == '"')
				s->state = CS_EXT_AFTERVAL;
			else if (ch == '\\')
				s->state = CS_EXT_QP;
			else if (!is_value_char(ch))
				goto bad;
			break;
		case CS_EXT_QP:
			if (!is_value_char(ch))
				goto bad;
			s->state = CS_EXT_QS;
			break;
		case CS_SIZE_CR:
			if (ch != '\n')
				goto bad;
			s->line = 0;
			s->digits = 0;
			s->state = s->size == 0 ? CS_TR_START : CS_DATA;
			break;
		case CS_DATA_CR:
			if (ch != '\r')
				goto bad;
			s->state = CS_DATA_LF;
			break;
		case CS_DATA_LF:
			if (ch != '\n')
				goto bad;
			s->state = CS_SIZE0;
			break;
		case CS_TR_START:
			if (ch == '\r') {
				s->state = CS_END_CR;
			} else if (is_tchar(ch)) {
				if (++s->ntrailers > s->max_trailers) {
					*used = i;
					return 431;
				}
				s->state = CS_TR_NAME;
			} else {
				goto bad;
			}
			break;
		case CS_TR_NAME:
			if (ch == ':')
				s->state = CS_TR_VALUE;
			else if (!is_tchar(ch))
				goto bad;
			break;
		case CS_TR_VALUE:
			if (ch == '\r')
				s->state = CS_TR_VALUE_CR;
			else if (!is_value_char(ch))
				goto bad;
			break;
		case CS_TR_VALUE_CR:
			if (ch != '\n')
				goto bad;
			s->state = CS_TR_START;
			break;
		case CS_END_CR:
			if (ch != '\n')
				goto bad;
			s->state = CS_DONE;
			*used = i + 1;
			return PX_H1_DONE;
		case CS_DONE:
			*used = i;
			return PX_H1_DONE;
		default:
			goto bad;
		}
		i++;
	}
	*used = i;
	return s->state == CS_DONE ? PX_H1_DONE : PX_H1_MORE;
bad:
	*used = i;
	return 400;
}

/* --- the codec ------------------------------------------------------------- */

enum h1_in {
	H1_HEAD,   /* reading a request's head */
	H1_BODY,   /* reading its body */
	H1_WAIT,   /* request read; its response is not finished */
	H1_CLOSED, /* refused: nothing more is read */
};

struct px_h1 {
	llhttp_t p;
	struct px_h1_scan scan;
	struct px_h1_chunk chunk;
	enum h1_in in;
	struct px_stream *st;
	int32_t nreq;
	/* the field or URL being read, in pieces */
	char *acc;
	size_t acc_len, acc_cap, name_len;
	int cl_seen, te_seen, host_seen, te_ok, chunked;
	uint64_t cl;
	int err;              /* status to refuse with, found in a callback */
	const char *err_msg;
	int keep_alive, resp_chunked, http10, upgrade;
	size_t unconsumed;    /* body bytes given to the handler and not yet consumed */
	int body_paused;
};

static const struct px_codec_ops h1_ops;

static struct px_h1 *H(llhttp_t *p)
{
	return PX_CONTAINER_OF(p, struct px_h1, p);
}

static int acc_add(struct px_h1 *h, const char *at, size_t len)
{
	if (h->acc_len + len > h->acc_cap) {
		size_t cap = h->acc_cap ? h->acc_cap : 256;
		char *n;
		while (cap < h->acc_len + len)
			cap *= 2;
		/* Never more than a request line or a header block: the scanner
		 * has bounded both before llhttp saw them. */
		n = realloc(h->acc, cap);
		if (n == NULL)
			return -1;
		h->acc = n;
		h->acc_cap = cap;
	}
	memcpy(h->acc + h->acc_len, at, len);
	h->acc_len += len;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct px_h1 *h = H(p);
	struct px_conn *c = p->data;

	h->st = px_stream_new(c, &h1_ops, ++h->nreq);
	if (h->st == NULL)
		return -1;
	h->acc_len = h->name_len = 0;
	h->cl_seen = h->te_seen = h->host_seen = h->te_ok = h->chunked = 0;
	h->cl = 0;
	h->unconsumed = 0;
	return 0;
}

static int on_span(llhttp_t *p, const char *at, size_t len)
{
	return acc_add(H(p), at, len) == 0 ? 0 : -1;
}

static int on_url_complete(llhttp_t *p)
{
	struct px_h1 *h = H(p);

	h->st->path = px_arena_strndup(&h->st->arena, h->acc, h->acc_len);
	h->st->path_len = h->acc_len;
	h->acc_len = 0;
	return h->st->path ? 0 : -1;
}

static int on_field_complete(llhttp_t *p)
{
	H(p)->name_len = H(p)->acc_len;
	return 0;
}

static int refuse_in_cb(struct px_h1 *h, const char *msg)
{
	h->err = 400;
	h->err_msg = msg;
	return -1;
}

static int on_value_complete(llhttp_t *p)
{
	struct px_h1 *h = H(p);
	const char *name = h->acc, *v = h->acc + h->name_len;
	size_t nlen = h->name_len, vlen = h->acc_len - h->name_len;

	/* llhttp drops leading OWS; drop the trailing OWS too (RFC 9110 5.5). */
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (nlen == 14 && strncasecmp(name, "content-length", 14) == 0) {
		uint64_t n = 0;
		if (vlen == 0)
			return refuse_in_cb(h, "empty Content-Length");
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return refuse_in_cb(h, "Content-Length is not one decimal number");
			uint64_t d = (uint64_t)(v[i] - '0');
			/* Lengths are int64_t from here on (the stream, the
			 * pipeline): anything larger is refused, not waited for. */
			if (n > ((uint64_t)INT64_MAX - d) / 10)
				return refuse_in_cb(h, "Content-Length over 2^63 - 1");
			n = n * 10 + d;
		}
		if (h->cl_seen && n != h->cl)
			return refuse_in_cb(h, "two different Content-Length values");
		h->cl_seen = 1;
		h->cl = n;
	} else if (nlen == 17 && strncasecmp(name, "transfer-encoding", 17) == 0) {
		if (h->te_seen++ || vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
			return refuse_in_cb(h, "Transfer-Encoding other than one \"chunked\"");
		h->te_ok = 1;
	} else if (nlen == 4 && strncasecmp(name, "host", 4) == 0) {
		if (h->host_seen++)
			return refuse_in_cb(h, "more than one Host header");
	}
	if (px_stream_add_header(h->st, name, nlen, v, vlen) != 0)
		return -1;
	h->acc_len = h->name_len = 0;
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct px_h1 *h = H(p);
	struct px_stream *st = h->st;
	const struct px_header *x;

	h->http10 = p->http_major == 1 && p->http_minor == 0;
	if (p->http_major != 1 || p->http_minor > 1)
		return refuse_in_cb(h, "not HTTP/1.0 or HTTP/1.1");
	if (h->cl_seen && h->te_seen)
		return refuse_in_cb(h, "both Content-Length and Transfer-Encoding");
	if (h->te_seen && h->http10)
		return refuse_in_cb(h, "Transfer-Encoding in an HTTP/1.0 request");
	if (!h->http10 && h->host_seen != 1)
		return refuse_in_cb(h, "an HTTP/1.1 request needs exactly one Host header");
	st->method = llhttp_method_name((llhttp_method_t)p->method);
	if (st->path == NULL)
		return refuse_in_cb(h, "no request target");
	x = px_stream_header(st, "host");
	st->authority = x ? x->value : NULL;
	st->scheme = "https";
	st->head = p->method == HTTP_HEAD;
	h->chunked = h->te_ok;
	st->has_body = h->chunked || h->cl > 0;
	st->content_length = h->chunked ? -1 : (int64_t)h->cl;
	x = px_stream_header(st, "expect");
	if (x != NULL) {
		if (x->value_len == 12 && strncasecmp(x->value, "100-continue", 12) == 0) {
			if (!h->http10 && st->has_body)
				st->expect_continue = 1;
		} else {
			h->err = 417;
			h->err_msg = "the only expectation supported is 100-continue";
			return -1;
		}
	}
	h->keep_alive = llhttp_should_keep_alive(p);
	h->upgrade = p->upgrade || p->method == HTTP_CONNECT;
	if (h->upgrade)
		h->keep_alive = 0; /* no protocol switch here: answer, then close */
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct px_h1 *h = H(p);

	h->unconsumed += len;
	px_stream_body_in(h->st, (const unsigned char *)at, len);
	if (h->unconsumed >= PX_H1_BODY_WINDOW) {
		h->body_paused = 1;
		return HPE_PAUSED;
	}
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct px_h1 *h = H(p);

	h->in = H1_WAIT;
	px_stream_body_end(h->st);
	return HPE_PAUSED; /* one request at a time: the next waits for this response */
}

static llhttp_settings_t h1_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_span,
	.on_url_complete = on_url_complete,
	.on_header_field = on_span,
	.on_header_field_complete = on_field_complete,
	.on_header_value = on_span,
	.on_header_value_complete = on_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static const char *reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static void h1_reset(struct px_conn *c)
{
	struct px_h1 *h = c->h1;
	const struct px_config *cfg = c->gen->cfg;

	px_h1_scan_init(&h->scan, cfg->limits.max_request_line, cfg->limits.max_header_bytes,
			cfg->limits.max_headers);
	px_h1_chunk_init(&h->chunk, cfg->limits.max_header_bytes, cfg->limits.max_headers);
	h->in = H1_HEAD;
	h->err = 0;
	h->err_msg = NULL;
	h->body_paused = 0;
	h->unconsumed = 0;
	h->upgrade = 0;
	if (h->acc_cap > 4096) { /* give back what a big head needed */
		free(h->acc);
		h->acc = NULL;
		h->acc_cap = 0;
	}
	h->acc_len = h->name_len = 0;
}

int px_h1_new(struct px_conn *c)
{
	struct px_h1 *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	llhttp_init(&h->p, HTTP_REQUEST, &h1_settings);
	h->p.data = c;
	c->h1 = h;
	h1_reset(c);
	return 0;
}

void px_h1_del(struct px_conn *c)
{
	struct px_h1 *h = c->h1;

	if (h->st != NULL) {
		h->st->closed = 1;
		px_stream_del(h->st);
	}
	free(h->acc);
	free(h);
	c->h1 = NULL;
}

bool px_h1_idle(const struct px_conn *c)
{
	return c->h1->in == H1_HEAD && !c->h1->scan.started;
}

/* Refuses the request with |status| and closes: nothing after it is read. */
static void h1_refuse(struct px_conn *c, int status, const char *reason, const char *msg)
{
	struct px_h1 *h = c->h1;
	json_t *o;
	char *body = NULL, head[512];
	int n;

	if (h->st != NULL && h->st->resp_started) {
		c->dead = 1; /* the response has begun: only closing can say it */
		return;
	}
	o = json_pack("{s:s,s:s}", "error", reason, "message", msg);
	body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (body == NULL) {
		c->dead = 1;
		return;
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncache-control: no-store\r\n"
		     "x-awsgate-error: %s\r\nx-awsgate-version: %s\r\ncontent-length: %zu\r\nconnection: close\r\n\r\n",
		     status, reason_phrase(status), reason, PACKAGE_VERSION, strlen(body));
	if (n < 0 || px_conn_out(c, head, (size_t)n) != 0 || px_conn_out(c, body, strlen(body)) != 0)
		c->dead = 1;
	free(body);
	px_metrics_request(PX_ROUTE_PROTOCOL, status);
	PX_CLOG(c, PX_LOG_INFO, "request %" PRId32 " refused with %d: %s", h->nreq, status, msg);
	if (h->st != NULL) {
		h->st->closed = 1;
		px_stream_del(h->st);
		h->st = NULL;
	}
	h->in = H1_CLOSED;
	c->closing = 1;
}

static void h1_bad(struct px_conn *c, int status)
{
	struct px_h1 *h = c->h1;

	switch (status) {
	case 414:
		h1_refuse(c, 414, "uri-too-long", "the request line is longer than limits.max_request_line");
		break;
	case 431:
		h1_refuse(c, 431, "header-too-large",
			  "the header block is larger than limits.max_header_bytes or has more than limits.max_headers fields");
		break;
	case 417:
		h1_refuse(c, 417, "expectation-failed", h->err_msg);
		break;
	default:
		h1_refuse(c, 400, "bad-request",
			  h->err_msg ? h->err_msg : "malformed HTTP/1.1 request (framing, header syntax or target)");
	}
}

static void h1_dispatch(struct px_conn *c)
{
	struct px_h1 *h = c->h1;
	struct px_stream *st = h->st;

	px_conn_timer(c, st->has_body && h->in == H1_BODY ? c->gen->cfg->timeouts.idle : 0);
	/* The path without its query: a presigned URL's signature is in it. */
	PX_SLOG(st, PX_LOG_DEBUG, "%s %.*s", st->method, (int)strcspn(st->path, "?"), st->path);
	px_route_dispatch(st); /* may answer at once; st stays until h1_after() frees it */
}

ssize_t px_h1_feed(struct px_conn *c, const unsigned char *p, size_t len)
{
	struct px_h1 *h = c->h1;
	size_t off = 0;

	while (off < len && !c->dead) {
		size_t used = 0;
		enum llhttp_errno e;
		int r;

		switch (h->in) {
		case H1_HEAD:
			if (!h->scan.started)
				px_conn_timer(c, c->gen->cfg->timeouts.header_read);
			r = px_h1_scan(&h->scan, p + off, len - off, &used);
			if (used > 0) {
				e = llhttp_execute(&h->p, (const char *)p + off, used);
				if (e != HPE_OK && e != HPE_PAUSED && e != HPE_PAUSED_UPGRADE) {
					h1_bad(c, h->err ? h->err : 400);
					return (ssize_t)len;
				}
			}
			off += used;
			if (r != PX_H1_MORE && r != PX_H1_DONE) {
				h1_bad(c, r);
				return (ssize_t)len;
			}
			if (r == PX_H1_DONE) {
				if (h->st == NULL || h->st->method == NULL) { /* llhttp did not finish the head */
					h1_bad(c, 400);
					return (ssize_t)len;
				}
				if (h->in == H1_HEAD) {
					h->in = H1_BODY;
					if (h->chunked)
						px_h1_chunk_init(&h->chunk, c->gen->cfg->limits.max_header_bytes,
								 c->gen->cfg->limits.max_headers);
				}
				h1_dispatch(c);
			}
			break;
		case H1_BODY: {
			size_t n = len - off;
			struct px_h1_chunk saved = h->chunk;
			if (h->body_paused)
				return (ssize_t)off;
			if (h->chunked) {
				r = px_h1_chunk_scan(&h->chunk, p + off, n, &n);
				if (r != PX_H1_MORE && r != PX_H1_DONE) {
					h1_bad(c, r);
					return (ssize_t)len;
				}
			}
			px_conn_timer(c, c->gen->cfg->timeouts.idle);
			e = llhttp_execute(&h->p, (const char *)p + off, n);
			if (e == HPE_OK) {
				off += n;
			} else if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
				size_t m = (size_t)((const unsigned char *)llhttp_get_error_pos(&h->p) - (p + off));
				if (h->chunked && m < n) {
					/* llhttp stopped early (paused): the scanner must stop there too */
					size_t tmp;
					h->chunk = saved;
					(void)px_h1_chunk_scan(&h->chunk, p + off, m, &tmp);
				}
				off += m;
				/* Waiting for our own consumer (or done): the client is not stalling. */
				if (h->in == H1_WAIT || h->body_paused)
					px_conn_timer(c, 0);
			} else {
				h1_bad(c, h->err ? h->err : 400);
				return (ssize_t)len;
			}
			break;
		}
		case H1_WAIT:
		case H1_CLOSED:
			return (ssize_t)off;
		}
	}
	return (ssize_t)off;
}

int px_h1_after(struct px_conn *c)
{
	struct px_h1 *h = c->h1;
	struct px_stream *st = h->st;

	/* The output drained below half its mark: a writer that was told
	 * PX_ERR_AGAIN may go on (as h2.c does per stream). */
	if (st != NULL && st->writable_wanted && !st->closed && c->wlen - c->woff < PX_WBUF_HIGH / 2) {
		st->writable_wanted = 0;
		if (st->h != NULL && st->h->on_writable != NULL)
			st->h->on_writable(st);
		st = h->st;
	}
	if (h->in == H1_BODY && h->body_paused && h->unconsumed < PX_H1_BODY_WINDOW) {
		h->body_paused = 0;
		llhttp_resume(&h->p);
		px_conn_timer(c, c->gen->cfg->timeouts.idle);
		return 1;
	}
	if (st == NULL || !st->resp_done)
		return 0;
	if (h->in != H1_WAIT) {
		/* Answered before the body was read: the connection closes (the
		 * response said so), rather than reading a body nobody wants. */
		if (h->in == H1_BODY)
			c->closing = 1;
		if (h->in != H1_WAIT)
			return 0;
	}
	h->st = NULL;
	st->closed = 1;
	px_stream_del(st);
	/* Its response is written (or queued): its audit line is not left
	 * for the end of the loop round, where a client that read the answer
	 * could look for it first. */
	px_audit_flush();
	if (!h->keep_alive || c->draining) {
		h->in = H1_CLOSED;
		c->closing = 1;
		return 0;
	}
	llhttp_resume(&h->p);
	h1_reset(c);
	px_conn_timer(c, c->rbuf ? c->gen->cfg->timeouts.header_read : c->gen->cfg->timeouts.idle);
	return 1;
}

bool px_h1_wants_input(const struct px_conn *c)
{
	const struct px_h1 *h = c->h1;
	return h->in == H1_HEAD || (h->in == H1_BODY && !h->body_paused);
}

void px_h1_timeout(struct px_conn *c)
{
	struct px_h1 *h = c->h1;

	if (h->in == H1_HEAD && h->scan.started) {
		h1_refuse(c, 408, "request-timeout", "the request's headers did not arrive within timeouts.header_read");
	} else if (h->in == H1_BODY) {
		h1_refuse(c, 408, "request-timeout", "the request body stalled for timeouts.idle");
	} else if (h->in == H1_HEAD) {
		PX_CLOG(c, PX_LOG_DEBUG, "idle for %" PRIu32 "s: closing", c->gen->cfg->timeouts.idle);
		c->dead = 1;
	}
}

void px_h1_shutdown(struct px_conn *c)
{
	if (px_h1_idle(c))
		c->closing = 1;
	/* else: the response in progress says connection: close (c->draining) */
}

/* --- the stream's ops ------------------------------------------------------ */

static int h1_respond(struct px_stream *st, const struct px_header *hdrs, size_t n, int64_t content_length)
{
	struct px_conn *c = st->conn;
	struct px_h1 *h = c->h1;
	char line[256];
	int k;

	if (st->has_body && !st->body_done)
		h->keep_alive = 0;
	if (c->draining || st->status == 400)
		h->keep_alive = 0; /* after a malformed request nothing that follows is trusted */
	h->resp_chunked = 0;
	if (content_length < 0 && !st->head && st->status != 204 && st->status != 304) {
		if (h->http10)
			h->keep_alive = 0; /* the end of the body is the end of the connection */
		else
			h->resp_chunked = 1;
	}
	k = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", st->status, reason_phrase(st->status));
	if (px_conn_out(c, line, (size_t)k) != 0)
		return PX_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (px_conn_out(c, hdrs[i].name, hdrs[i].name_len) != 0 || px_conn_out(c, ": ", 2) != 0 ||
		    px_conn_out(c, hdrs[i].value, hdrs[i].value_len) != 0 || px_conn_out(c, "\r\n", 2) != 0)
			return PX_ERR_NOMEM;
	}
	k = snprintf(line, sizeof(line), "x-awsgate-version: %s\r\n", PACKAGE_VERSION);
	if (px_conn_out(c, line, (size_t)k) != 0)
		return PX_ERR_NOMEM;
	if (content_length >= 0)
		k = snprintf(line, sizeof(line), "content-length: %" PRId64 "\r\n", content_length);
	else if (h->resp_chunked)
		k = snprintf(line, sizeof(line), "transfer-encoding: chunked\r\n");
	else
		k = 0;
	if (k > 0 && px_conn_out(c, line, (size_t)k) != 0)
		return PX_ERR_NOMEM;
	if (!h->keep_alive)
		k = snprintf(line, sizeof(line), "connection: close\r\n\r\n");
	else if (h->http10)
		k = snprintf(line, sizeof(line), "connection: keep-alive\r\n\r\n");
	else
		k = snprintf(line, sizeof(line), "\r\n");
	if (px_conn_out(c, line, (size_t)k) != 0)
		return PX_ERR_NOMEM;
	px_conn_kick(c);
	return 0;
}

static int h1_write(struct px_stream *st, const unsigned char *data, size_t len)
{
	struct px_conn *c = st->conn;
	char line[32];

	if (c->h1->resp_chunked) {
		int k = snprintf(line, sizeof(line), "%zx\r\n", len);
		if (px_conn_out(c, line, (size_t)k) != 0 || px_conn_out(c, data, len) != 0 ||
		    px_conn_out(c, "\r\n", 2) != 0)
			return PX_ERR_NOMEM;
	} else if (px_conn_out(c, data, len) != 0) {
		return PX_ERR_NOMEM;
	}
	px_conn_kick(c);
	return 0;
}

static int h1_end(struct px_stream *st)
{
	struct px_conn *c = st->conn;

	if (c->h1->resp_chunked && !st->head && px_conn_out(c, "0\r\n\r\n", 5) != 0)
		return PX_ERR_NOMEM;
	px_conn_kick(c);
	return 0;
}

static void h1_abort(struct px_stream *st)
{
	struct px_conn *c = st->conn;

	/* No terminal chunk: the client sees a short body and a closed connection. */
	c->h1->keep_alive = 0;
	c->closing = 1;
	px_conn_kick(c);
}

static void h1_consume(struct px_stream *st, size_t n)
{
	struct px_h1 *h = st->conn->h1;

	h->unconsumed = n > h->unconsumed ? 0 : h->unconsumed - n;
	if (h->body_paused && h->unconsumed < PX_H1_BODY_WINDOW)
		px_conn_kick(st->conn);
}

static int h1_send_continue(struct px_stream *st)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (px_conn_out(st->conn, cont, sizeof(cont) - 1) != 0)
		return PX_ERR_NOMEM;
	px_conn_kick(st->conn);
	return 0;
}

static size_t h1_pending(const struct px_stream *st)
{
	return st->conn->wlen - st->conn->woff;
}

static const struct px_codec_ops h1_ops = {
	.respond = h1_respond,
	.write = h1_write,
	.end = h1_end,
	.consume = h1_consume,
	.abort = h1_abort,
	.send_continue = h1_send_continue,
	.pending = h1_pending,
};
