/* SPDX-License-Identifier: Apache-2.0 */
/* api.c: the AWS API pipeline's request handler: identity, RBAC, target, scope, credentials, re-signing, the address check and the streamed exchange with AWS (docs/PIPELINE.md). */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "front.h"
#include "pipeline.h"
#include "resolve.h"
#include "upstream.h"

/*
 * One API request is a struct api, the stream's handler state. It moves
 * through the stages of docs/PIPELINE.md in order; each waits at most once
 * (credentials, the body to hash, the name's addresses) and every wait is
 * cancelled when the stream closes first. Body bytes are held in |in|
 * until the next stage takes them, and only then consumed: the client's
 * HTTP/2 window or the HTTP/1.1 parser stays closed meanwhile, which is
 * what bounds the memory of a request whatever the client or AWS do.
 */

#define API_INQ_SLACK (128u * 1024) /* body held beyond the HTTP/2 stream window: HTTP/1.1's pause point and a read */
#define API_RECHUNK_FEED 16384                    /* bytes given to the re-signer at once */

enum api_state {
	API_FRONT,    /* deciding, synchronously */
	API_CREDS,    /* waiting for the role's credentials */
	API_BODY,     /* reading a body to hash it (PX_PAYLOAD_BUFFER) */
	API_RESOLVE,  /* waiting for the host's addresses */
	API_UPSTREAM, /* the request is with AWS */
	API_DONE,     /* answered (or failed): what comes is dropped */
};

struct api {
	struct px_stream *st;
	enum api_state state;
	ev_tstamp t0;
	int64_t now;
	/* the decision */
	struct px_choice ch;
	bool have_choice;
	struct px_target t;
	bool have_target;
	struct sv4_header *hv; /* views of the stream's headers */
	struct sv4_request req;
	struct px_scope sc;
	bool have_scope;
	struct px_creds_req cr;
	char action[PX_MAX_ACTION + 1];
	char request_id[40]; /* the gate's id for its own errors */
	/* the body: in[inoff..inlen) is what the client sent and no stage took yet */
	unsigned char *in;
	size_t inoff, inlen, incap;
	bool in_end;        /* the client's body ended */
	bool too_large;     /* PX_PAYLOAD_BUFFER: past limits.max_body_buffer */
	/* the outgoing request (|out| is last: see px_api_dispatch()) */
	bool have_out;
	struct px_rechunk *rc;
	unsigned char *ob; /* bytes for the upstream not yet taken: a re-signed chunk, the buffered body */
	size_t oblen, oboff, obcap;
	bool up_ended;
	struct px_resolve_query *rq;
	struct sockaddr_storage addr;
	struct px_upstream *up;
	/* the answer */
	int status;
	const char *reason; /* static: the refusal's or upstream error's name; NULL when AWS answered */
	enum px_up_error uperr;
	char aws_request_id[PX_MAX_REQUEST_ID + 1];
	uint64_t bytes_in, bytes_out;
	bool audited;
	struct px_outreq out; /* last: its 4 KiB of header slots are not zeroed */
};

static void api_pump(struct api *a);
static void api_go_upstream(struct api *a);

static struct px_worker *worker_of(const struct api *a)
{
	return a->st->conn->w;
}

/* --- answering --------------------------------------------------------------- */

/* Does the form body |p| have an Action= pair? */
static bool form_has_action(const unsigned char *p, size_t len)
{
	return px_query_has_param((const char *)p, len, "Action", 6);
}

/* The error context of the request as far as it is known. */
static void errctx(struct api *a, struct px_errctx *ctx, char *svc, size_t svcsize)
{
	const char *service = a->have_scope ? a->sc.service : NULL;

	if (a->hv != NULL) {
		px_errctx_from_request(ctx, &a->req, service, svc, svcsize);
	} else {
		memset(ctx, 0, sizeof(*ctx));
		ctx->method = a->st->method;
		ctx->methodlen = a->st->method ? strlen(a->st->method) : 0;
	}
	if (ctx->service == NULL && a->have_target && a->t.info.service[0])
		ctx->service = a->t.info.service;
	if (ctx->service == NULL && !a->have_target && a->hv != NULL) {
		/* Refused before the target was decided (identity, RBAC): the
		 * endpoint's name still says which protocol the client speaks. */
		const struct px_header *x = px_stream_header(a->st, "x-forwarded-host");
		char host[FED_MAX_HOST + 1];
		size_t hostlen;
		struct fed_host_info hi;
		if (x != NULL && px_forwarded_host_parse(x->value, x->value_len, host, &hostlen, NULL) == 0 &&
		    fed_host_classify(host, hostlen, &hi) == 0 && hi.service[0] && strlen(hi.service) < svcsize) {
			snprintf(svc, svcsize, "%s", hi.service);
			ctx->service = svc;
		}
	}
	if (a->sc.payload == PX_PAYLOAD_BUFFER && a->in != NULL && form_has_action(a->in, a->inlen))
		ctx->form_action = true;
}

/* Sends a gate error in the addressed service's protocol. */
static void api_send_error(struct api *a, const struct px_reason_info *ri, const char *message)
{
	struct px_awserror *e = malloc(sizeof(*e));
	struct px_header h[PX_AWSERROR_MAX_HEADERS];
	struct px_errctx ctx;
	char svc[SV4_MAX_SCOPE_PART + 1];

	a->state = API_DONE;
	a->reason = ri->name;
	if (a->st->resp_started) {
		/* AWS's answer began (it may answer before the body ends): cut it. */
		px_stream_abort(a->st);
		px_conn_kick(a->st->conn);
		return;
	}
	a->status = ri->status;
	errctx(a, &ctx, svc, sizeof(svc));
	/* Made here, not per request: only the gate's own errors carry it. */
	snprintf(a->request_id, sizeof(a->request_id), "awsgate-%016" PRIx64 "-%" PRId32, a->st->conn->id, a->st->id);
	if (e == NULL || px_awserror_render_info(&ctx, ri, message, a->request_id, e) != 0) {
		free(e);
		px_stream_error(a->st, 500, "internal", "out of memory; try again");
		px_conn_kick(a->st->conn);
		return;
	}
	for (size_t i = 0; i < e->nheaders; i++)
		h[i] = (struct px_header){e->headers[i].name, e->headers[i].value, e->headers[i].namelen,
					  e->headers[i].valuelen};
	px_stream_reply(a->st, e->status, NULL, e->body, e->bodylen, h, e->nheaders);
	a->bytes_out += e->bodylen;
	free(e);
	px_conn_kick(a->st->conn);
}

/* Audits a refusal as "request.denied", then answers it. */
static void api_deny(struct api *a, const struct px_reason_info *ri, const char *message)
{
	struct px_deny d;
	json_t *ev;
	int rv = 0;

	d.status = ri->status;
	d.reason = ri->name;
	snprintf(d.msg, sizeof(d.msg), "%s", message);
	a->audited = true;
	ev = px_front_deny_event(a->st, a->have_choice ? &a->ch : NULL, &d);
	if (ev != NULL) {
		if (a->have_choice)
			json_object_set_new(ev, "account_id", json_string(a->ch.account));
		if (a->have_target)
			json_object_set_new(ev, "host", json_string(a->t.host));
		if (a->have_scope) {
			json_object_set_new(ev, "service", json_string(a->sc.service));
			json_object_set_new(ev, "region", json_string(a->sc.region));
		}
		rv = px_audit(ev);
		json_decref(ev);
	}
	PX_SLOG(a->st, PX_LOG_INFO, "denied %d %s", ri->status, ri->name);
	if (rv != 0) {
		static const struct px_reason_info audit = {"audit-unavailable", 503, "ServiceUnavailable",
							    "ServiceUnavailableException"};
		api_send_error(a, &audit, "the gate cannot write its audit log; try again later or ask the gate's admin");
		return;
	}
	api_send_error(a, ri, message);
}

static void api_refuse(struct api *a, const struct px_refusal *why)
{
	api_deny(a, px_reason_info(why->reason), why->message);
}

/* The front half's refusals carry a status and a name of their own: the
 * AWS codes follow from the status (403 and 401: AccessDenied, which SDKs
 * do not retry; 400: a validation error; 5xx: retryable). */
static void api_refuse_front(struct api *a, const struct px_deny *d)
{
	struct px_reason_info ri = {d->reason, d->status, "AccessDenied", "AccessDeniedException"};

	if (d->status == 401)
		ri.status = 403;
	else if (d->status == 400)
		ri.code_xml = "InvalidRequest", ri.code_json = "ValidationException";
	else if (d->status == 413)
		ri.code_xml = "RequestEntityTooLarge", ri.code_json = "RequestEntityTooLargeException";
	else if (d->status == 503)
		ri.code_xml = "ServiceUnavailable", ri.code_json = "ServiceUnavailableException";
	else if (d->status >= 500)
		ri.code_xml = "InternalFailure", ri.code_json = "InternalFailure";
	api_deny(a, &ri, d->msg);
}

static void api_internal(struct api *a, const char *what)
{
	struct px_refusal why;

	PX_SLOG(a->st, PX_LOG_ERR, "api: %s", what);
	px_refuse(&why, PX_R_INTERNAL, "the gate failed (%s); try again", what);
	api_refuse(a, &why);
}

/* --- the audit ------------------------------------------------------------------ */

static void api_audit(struct api *a)
{
	struct px_jw w;

	if (a->audited)
		return;
	a->audited = true;
	px_front_audit_begin(a->st, &w, "api.request");
	if (a->have_choice) {
		px_jw_str(&w, "app", a->ch.info.name);
		px_jw_str(&w, "role_arn", a->ch.role_arn);
		px_jw_str(&w, "account_id", a->ch.account);
	}
	if (a->have_scope) {
		px_jw_str(&w, "service", a->sc.service);
		px_jw_str(&w, "region", a->sc.region);
		px_jw_str(&w, "signature", px_sigkind_name(a->sc.kind));
		px_jw_str(&w, "payload", px_payload_name(a->sc.payload));
	}
	if (a->have_target)
		px_jw_str(&w, "host", a->t.host);
	px_jw_str(&w, "action", a->action[0] ? a->action : NULL);
	px_jw_int(&w, "status", a->status);
	if (a->reason != NULL)
		px_jw_str(&w, "error", a->reason);
	if (a->uperr != PX_UP_OK)
		px_jw_str(&w, "upstream_error", px_up_error_name(a->uperr));
	px_jw_int(&w, "bytes_in", (int64_t)a->bytes_in);
	px_jw_int(&w, "bytes_out", (int64_t)a->bytes_out);
	px_jw_int(&w, "duration_ms", (int64_t)((ev_now(worker_of(a)->loop) - a->t0) * 1000.0 + 0.5));
	if (a->aws_request_id[0])
		px_jw_str(&w, "aws_request_id", a->aws_request_id);
	px_audit_jw_later(&w); /* a failed write is logged and counted there */
}

/* --- the body ------------------------------------------------------------------- */

/* Appends to a bounded buffer. */
static int buf_append(unsigned char **buf, size_t *len, size_t *cap, size_t max, const void *p, size_t n)
{
	if (n > max - *len)
		return PX_ERR_TOO_LARGE;
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 16384;
		unsigned char *nb;
		while (c < *len + n)
			c *= 2;
		if (c > max)
			c = max;
		nb = realloc(*buf, c);
		if (nb == NULL)
			return PX_ERR_NOMEM;
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

/* Takes the first |n| bytes of what is held and reopens the client's window by as much. */
static void in_take(struct api *a, size_t n)
{
	if (n == 0)
		return;
	a->inoff += n;
	if (a->inoff == a->inlen)
		a->inoff = a->inlen = 0;
	px_stream_consume(a->st, n);
}

static void api_body(struct px_stream *st, const unsigned char *data, size_t len)
{
	struct api *a = st->harg;
	const struct px_config *cfg = st->gen->cfg;
	/* What the client may send before the stages take any of it: its
	 * stream window (HTTP/2) or the parser's pause point (HTTP/1.1). */
	size_t max = (size_t)cfg->limits.h2_initial_window_size + API_INQ_SLACK;
	int rv;

	a->bytes_in += len;
	if (a->state == API_DONE || a->too_large) {
		px_stream_consume(st, len); /* answered: the rest is read and dropped */
		return;
	}
	if (a->have_scope && a->sc.payload == PX_PAYLOAD_BUFFER)
		max = cfg->limits.max_body_buffer;
	if (a->inoff > 0 && a->inlen + len > a->incap) {
		/* Room at the front: move what is held there, once per fill. */
		memmove(a->in, a->in + a->inoff, a->inlen - a->inoff);
		a->inlen -= a->inoff;
		a->inoff = 0;
	}
	rv = buf_append(&a->in, &a->inlen, &a->incap, max, data, len);
	if (a->have_scope && a->sc.payload == PX_PAYLOAD_BUFFER) {
		/* The whole body is held to be hashed: it is ours now. */
		px_stream_consume(st, len);
		if (rv == PX_ERR_TOO_LARGE) {
			struct px_refusal why;
			a->too_large = true;
			px_refuse(&why, PX_R_PAYLOAD_TOO_LARGE,
				  "the request gave no payload hash, so the gate must read the body to sign it, and the body "
				  "is over the gate's limit of %zu bytes; send X-Amz-Content-Sha256 (or UNSIGNED-PAYLOAD) "
				  "with the request",
				  (size_t)max);
			api_refuse(a, &why);
			return;
		}
	}
	if (rv == PX_ERR_NOMEM) {
		px_stream_consume(st, len);
		api_internal(a, "out of memory holding the request body");
		return;
	}
	if (rv != 0) {
		/* The client sent past every window it was given. */
		struct px_refusal why;
		px_stream_consume(st, len);
		px_refuse(&why, PX_R_REQUEST_MALFORMED, "the client sent more body than its flow-control window allows");
		api_refuse(a, &why);
		return;
	}
	api_pump(a);
}

static void api_body_end(struct px_stream *st);

/* Where the re-signer's output goes: into |ob|, which api_pump() drains. */
static int rechunk_out(void *arg, const unsigned char *data, size_t len)
{
	struct api *a = arg;

	if (a->oboff > 0 && a->oboff == a->oblen)
		a->oboff = a->oblen = 0;
	return buf_append(&a->ob, &a->oblen, &a->obcap, SV4_DEFAULT_MAX_CHUNK + (1u << 20), data, len);
}

/* Moves body bytes toward AWS as far as the upstream takes them. */
static void api_pump(struct api *a)
{
	struct px_refusal why;
	int n, rv;

	if (a->state != API_UPSTREAM || a->up == NULL || a->up_ended)
		return;
	for (;;) {
		if (a->oboff < a->oblen) {
			n = px_upstream_write(a->up, a->ob + a->oboff, a->oblen - a->oboff);
			if (n == PX_ERR_AGAIN)
				return;
			if (n < 0)
				goto fail;
			a->oboff += (size_t)n;
			if (a->oboff < a->oblen)
				return; /* on_writable follows */
			a->oboff = a->oblen = 0;
		}
		if (a->inlen > a->inoff && a->sc.payload != PX_PAYLOAD_BUFFER) {
			size_t held = a->inlen - a->inoff;
			if (a->rc != NULL) {
				size_t take = held < API_RECHUNK_FEED ? held : API_RECHUNK_FEED;
				rv = px_rechunk_feed(a->rc, a->in + a->inoff, take, &why);
				if (rv == PX_ERR_REFUSED) {
					px_upstream_cancel(a->up);
					a->up = NULL;
					api_refuse(a, &why);
					return;
				}
				if (rv != 0) {
					n = rv;
					goto fail;
				}
				in_take(a, take);
				continue;
			}
			n = px_upstream_write(a->up, a->in + a->inoff, held);
			if (n == PX_ERR_AGAIN)
				return;
			if (n < 0)
				goto fail;
			in_take(a, (size_t)n);
			if ((size_t)n < held)
				return; /* on_writable follows */
			continue;
		}
		break;
	}
	if (!a->in_end || a->inlen > a->inoff)
		return;
	if (a->rc != NULL) {
		uint64_t decoded;
		if (px_rechunk_finish(a->rc, &decoded, &why) != 0) {
			px_upstream_cancel(a->up);
			a->up = NULL;
			api_refuse(a, &why);
			return;
		}
	}
	a->up_ended = true;
	if (px_upstream_end(a->up) != 0) {
		px_upstream_cancel(a->up);
		a->up = NULL;
		px_refuse(&why, PX_R_REQUEST_MALFORMED, "the request body ended before its Content-Length");
		api_refuse(a, &why);
	}
	return;
fail:
	px_upstream_cancel(a->up);
	a->up = NULL;
	if (n == PX_ERR_INVALID) {
		px_refuse(&why, PX_R_REQUEST_MALFORMED, "the request body is longer than its Content-Length");
		api_refuse(a, &why);
	} else {
		api_internal(a, "out of memory passing the request body on");
	}
}

/* --- the upstream --------------------------------------------------------------- */

/* What up_head() does with a response header. */
enum up_hdr { UP_HDR_PASS, UP_HDR_DROP, UP_HDR_LENGTH, UP_HDR_REQUEST_ID };

static enum up_hdr up_header_kind(const char *name, size_t len)
{
#define UP_HDR(lit, kind) {lit, sizeof(lit) - 1, kind}
	static const struct {
		const char *name;
		size_t len;
		enum up_hdr kind;
	} special[] = {
		UP_HDR("content-length", UP_HDR_LENGTH),
		/* recorded for the audit, and passed on */
		UP_HDR("x-amz-request-id", UP_HDR_REQUEST_ID), UP_HDR("x-amzn-requestid", UP_HDR_REQUEST_ID),
		/* hop by hop, or the gate's own */
		UP_HDR("connection", UP_HDR_DROP), UP_HDR("keep-alive", UP_HDR_DROP),
		UP_HDR("proxy-connection", UP_HDR_DROP), UP_HDR("transfer-encoding", UP_HDR_DROP),
		UP_HDR("upgrade", UP_HDR_DROP), UP_HDR("te", UP_HDR_DROP), UP_HDR("trailer", UP_HDR_DROP),
		UP_HDR("x-awsgate-version", UP_HDR_DROP),
	};
#undef UP_HDR

	/* Lengths first: most names are compared with nothing (strcasecmp()
	 * on every pair cost about 1,600 instructions per response). */
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (len == special[i].len && strncasecmp(name, special[i].name, len) == 0)
			return special[i].kind;
	return UP_HDR_PASS;
}

static void up_head(void *arg, int status, const struct px_up_header *hdrs, size_t n)
{
	struct api *a = arg;
	struct px_stream *st = a->st;
	struct px_header *h = px_arena_alloc(&st->arena, (n ? n : 1) * sizeof(*h));
	int64_t clen = -1;
	size_t k = 0;

	if (h == NULL) {
		px_upstream_cancel(a->up);
		a->up = NULL;
		api_internal(a, "out of memory forwarding the response head");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(hdrs[i].name), vl = strlen(hdrs[i].value);
		enum up_hdr kind = up_header_kind(hdrs[i].name, nl);
		char *name;

		if (kind == UP_HDR_LENGTH) {
			char *end;
			unsigned long long v = strtoull(hdrs[i].value, &end, 10);
			if (end != hdrs[i].value && *end == '\0' && v <= INT64_MAX)
				clen = (int64_t)v;
			continue;
		}
		if (kind == UP_HDR_REQUEST_ID && vl <= PX_MAX_REQUEST_ID)
			memcpy(a->aws_request_id, hdrs[i].value, vl + 1);
		if (kind == UP_HDR_DROP)
			continue;
		name = px_arena_strndup(&st->arena, hdrs[i].name, nl);
		if (name == NULL) {
			px_upstream_cancel(a->up);
			a->up = NULL;
			api_internal(a, "out of memory forwarding the response head");
			return;
		}
		for (char *p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		h[k++] = (struct px_header){name, hdrs[i].value, nl, vl};
	}
	/* Values are libcurl's until this call returns: the codec copies them. */
	a->status = status;
	if (px_stream_respond(st, status, h, k, clen) != 0) {
		px_upstream_cancel(a->up);
		a->up = NULL;
		a->state = API_DONE;
		return;
	}
	px_conn_kick(st->conn);
}

static int up_body(void *arg, const unsigned char *data, size_t len)
{
	struct api *a = arg;
	int rv = px_stream_write(a->st, data, len);

	a->bytes_out += len;
	px_conn_kick(a->st->conn);
	if (rv == PX_ERR_AGAIN)
		return PX_ERR_AGAIN;
	if (rv != 0) {
		px_upstream_cancel(a->up);
		a->up = NULL;
		a->state = API_DONE;
		return 0;
	}
	return 0;
}

static void up_writable(void *arg)
{
	api_pump(arg);
}

static enum px_reason up_reason(enum px_up_error e)
{
	switch (e) {
	case PX_UP_DNS:
	case PX_UP_CONNECT_REFUSED:
	case PX_UP_CONNECT:
		return PX_R_UPSTREAM_CONNECT;
	case PX_UP_TLS:
	case PX_UP_TLS_VERIFY:
		return PX_R_UPSTREAM_TLS;
	case PX_UP_TIMEOUT_CONNECT:
	case PX_UP_TIMEOUT_FIRST_BYTE:
	case PX_UP_TIMEOUT_IDLE:
		return PX_R_UPSTREAM_TIMEOUT;
	default:
		return PX_R_UPSTREAM_ERROR;
	}
}

static void up_done(void *arg, enum px_up_error err, const char *detail)
{
	struct api *a = arg;
	struct px_refusal why;

	a->up = NULL;
	a->uperr = err;
	px_metrics_upstream((int)err);
	if (err == PX_UP_OK) {
		a->state = API_DONE;
		if (!a->st->resp_done)
			px_stream_end(a->st);
		px_conn_kick(a->st->conn);
		return;
	}
	PX_SLOG(a->st, PX_LOG_WARN, "upstream %s: %s (%s)", a->t.host, px_up_error_name(err), detail ? detail : "");
	if (a->st->resp_started) {
		/* The head went out: the client must see the answer is cut. */
		a->state = API_DONE;
		a->reason = px_reason_info(up_reason(err))->name;
		px_stream_abort(a->st);
		px_conn_kick(a->st->conn);
		return;
	}
	px_refuse(&why, up_reason(err), "the gate could not get an answer from %s: %s; try again", a->t.host,
		  px_up_error_name(err));
	/* Not a denial: audited once as the request, with its error. */
	api_send_error(a, px_reason_info(why.reason), why.message);
}

static const struct px_upstream_handler up_handler = {
	.on_head = up_head,
	.on_body = up_body,
	.on_writable = up_writable,
	.on_done = up_done,
};

static void api_writable(struct px_stream *st)
{
	struct api *a = st->harg;

	if (a->up != NULL)
		px_upstream_resume(a->up);
}

/* Starts the request to AWS at the checked address. */
static void api_start_upstream(struct api *a)
{
	struct px_stream *st = a->st;
	const struct px_config *cfg = st->gen->cfg;
	struct px_upstream_request ur;
	struct px_up_header *uh;
	size_t pathlen = strcspn(st->path, "?");
	char *url;
	size_t ulen;
	int rv;

	uh = px_arena_alloc(&st->arena, a->out.nheaders * sizeof(*uh));
	ulen = 8 + a->t.hostlen + pathlen + 1 + a->out.querylen + 1;
	url = px_arena_alloc(&st->arena, ulen);
	if (uh == NULL || url == NULL) {
		api_internal(a, "out of memory starting the upstream request");
		return;
	}
	for (size_t i = 0; i < a->out.nheaders; i++) {
		const struct sv4_header *h = &a->out.headers[i];
		/* The views are whole NUL-terminated strings (the stream's
		 * headers, the target, px_resign()'s memory) as a rule; a
		 * view that is not is copied. */
		uh[i].name = h->name[h->namelen] == '\0' ? h->name : px_arena_strndup(&st->arena, h->name, h->namelen);
		uh[i].value = h->value[h->valuelen] == '\0' ? h->value
							   : px_arena_strndup(&st->arena, h->value, h->valuelen);
		if (uh[i].name == NULL || uh[i].value == NULL) {
			api_internal(a, "out of memory starting the upstream request");
			return;
		}
	}
	/* "https://" host path ["?" query]: pieces of known length (snprintf()
	 * cost about 1,400 instructions per request here). */
	{
		char *u = url;
		memcpy(u, "https://", 8);
		u += 8;
		memcpy(u, a->t.host, a->t.hostlen);
		u += a->t.hostlen;
		memcpy(u, st->path, pathlen);
		u += pathlen;
		if (a->out.querylen) {
			*u++ = '?';
			memcpy(u, a->out.query, a->out.querylen);
			u += a->out.querylen;
		}
		*u = '\0';
	}
	memset(&ur, 0, sizeof(ur));
	ur.method = st->method;
	ur.url = url;
	ur.headers = uh;
	ur.nheaders = a->out.nheaders;
	ur.addr = (const struct sockaddr *)&a->addr;
	ur.http = PX_UP_HTTP1;
	px_upstream_request_timeouts(&ur, cfg);
	/* An empty body is announced (Content-Length: 0) when the client
	 * announced one, or for POST and PUT, which servers expect it on;
	 * never for GET and HEAD. */
	if (a->sc.payload == PX_PAYLOAD_BUFFER || !st->has_body) {
		bool bodiless = strcmp(st->method, "GET") == 0 || strcmp(st->method, "HEAD") == 0;
		bool announce = a->oblen > 0 || (!bodiless && (st->content_length >= 0 || strcmp(st->method, "POST") == 0 ||
								  strcmp(st->method, "PUT") == 0));
		ur.body = announce ? PX_UP_BODY_LENGTH : PX_UP_BODY_NONE;
		ur.body_length = a->oblen;
	} else if (st->content_length >= 0) {
		ur.body = PX_UP_BODY_LENGTH;
		ur.body_length = (uint64_t)st->content_length;
	} else {
		ur.body = PX_UP_BODY_CHUNKED;
	}
	rv = px_upstream_start(worker_of(a)->curl, &ur, &up_handler, a, &a->up);
	if (rv != 0) {
		struct px_refusal why;
		if (rv == PX_ERR_INVALID) {
			px_refuse(&why, PX_R_REQUEST_MALFORMED, "the request cannot be forwarded: a header is too long or "
								 "holds a control character");
			api_refuse(a, &why);
		} else {
			api_internal(a, "out of memory starting the upstream request");
		}
		return;
	}
	a->state = API_UPSTREAM;
	if (ur.body == PX_UP_BODY_NONE)
		a->up_ended = true;
	/* Authorised, credentials ready, address checked: now the body may come. */
	px_stream_continue(st);
	px_conn_kick(st->conn);
	api_pump(a);
}

static void resolved(struct api *a, const struct px_resolve_answer *ans)
{
	struct px_refusal why;
	size_t i;

	if (ans->err != 0) {
		px_refuse(&why, PX_R_ADDRESS_NONE, "%s did not resolve (%s): check the name, or the gate's DNS",
			  a->t.host, ans->detail);
		api_refuse(a, &why);
		return;
	}
	if (px_target_pick_address(a->st->gen->cfg, &a->t, ans->addrs, ans->n, &i, &why) != 0) {
		api_refuse(a, &why);
		return;
	}
	a->addr = ans->addrs[i];
	if (a->t.connect_to != NULL) {
		/* The admin's destination keeps its port. */
		(void)px_sockaddr_set_port(&a->addr, (uint16_t)a->t.connect_to->address.port);
	}
	api_start_upstream(a);
}

static void resolve_done(void *arg, const struct px_resolve_answer *ans)
{
	struct api *a = arg;

	a->rq = NULL;
	resolved(a, ans);
}

/* Runs px_sts_rewrite() on |form| (|len| bytes). Returns 0 with the
 * rewritten form in |*out| (malloc'd; NULL when nothing changed), or -1
 * after refusing the request. */
static int sts_rewrite(struct api *a, const char *form, size_t len, char **out, size_t *outlen)
{
	struct px_sts_user u = {a->st->conn->ident.user, a->ch.user_left_s};
	struct px_sts_change chg;
	struct px_refusal why;
	char *buf = malloc(PX_STS_MAX_FORM);
	int rv;

	*out = NULL;
	if (buf == NULL) {
		api_internal(a, "out of memory");
		return -1;
	}
	rv = px_sts_rewrite(form, len, &u, buf, PX_STS_MAX_FORM, outlen, &chg, &why);
	if (rv == PX_ERR_TOO_LARGE)
		px_refuse(&why, PX_R_PAYLOAD_TOO_LARGE, "the STS request is over %d bytes or %d parameters",
			  PX_STS_MAX_FORM, PX_STS_MAX_PARAMS);
	if (rv != 0) {
		free(buf);
		api_refuse(a, &why);
		return -1;
	}
	if (chg.assume_role)
		PX_SLOG(a->st, PX_LOG_INFO, "user %s calls sts:AssumeRole through the gate: DurationSeconds %u%s%s",
			a->st->conn->ident.user, chg.duration_seconds, chg.duration_capped ? " (capped to the session)" : "",
			chg.source_identity_added ? ", SourceIdentity added" : "");
	if (chg.rewritten)
		*out = buf;
	else
		free(buf);
	return 0;
}

/* The user's own STS calls (docs/PIPELINE.md): an AssumeRole in the query
 * or in the form body is capped to the user's session and names the user
 * as its source identity. Returns 0, or -1 after refusing the request. */
static int sts_user_call(struct api *a, struct px_resign_params *p)
{
	char *form;
	size_t flen = 0;

	if (a->req.querylen > 0 && form_has_action((const unsigned char *)a->req.query, a->req.querylen)) {
		if (sts_rewrite(a, a->req.query, a->req.querylen, &form, &flen) != 0)
			return -1;
		if (form != NULL) {
			char *q = px_arena_strndup(&a->st->arena, form, flen);
			free(form);
			if (q == NULL) {
				api_internal(a, "out of memory");
				return -1;
			}
			p->query = q;
			p->querylen = flen;
			p->replace_query = true;
		}
	}
	if (a->sc.payload == PX_PAYLOAD_BUFFER && a->inlen > 0) {
		if (sts_rewrite(a, (const char *)a->in, a->inlen, &form, &flen) != 0)
			return -1;
		if (form != NULL) {
			free(a->in);
			a->in = (unsigned char *)form;
			a->inlen = flen;
			a->incap = PX_STS_MAX_FORM;
			p->content_length = (int64_t)flen;
		}
	}
	return 0;
}

/* Signs the request, then finds the address to send it to. */
static void api_go_upstream(struct api *a)
{
	struct px_stream *st = a->st;
	const struct fed_creds *c = fed_snap_creds(a->cr.creds);
	struct px_resign_params p;
	struct px_refusal why;
	struct px_resolve_answer *ans;
	const char *name;
	char hash[65];
	int rv;

	memset(&p, 0, sizeof(p));
	p.creds = c;
	p.now = (int64_t)time(NULL);
	p.session_end = a->now + a->ch.user_left_s;
	p.content_length = -1;
	if (strcmp(a->sc.service, "sts") == 0 && sts_user_call(a, &p) != 0)
		return;
	if (a->sc.payload == PX_PAYLOAD_BUFFER) {
		if (px_action_extract(&a->req, (const char *)a->in, a->inlen, a->action) != 0)
			a->action[0] = 0;
		sv4_sha256_hex(a->in ? a->in : (const unsigned char *)"", a->inlen, hash);
		p.payload_hash = hash;
		if (p.content_length < 0 && (st->has_body || a->inlen > 0))
			p.content_length = (int64_t)a->inlen;
		/* The held body becomes what api_pump() sends. */
		free(a->ob);
		a->ob = a->in;
		a->oblen = a->inlen;
		a->obcap = a->incap;
		a->oboff = 0;
		a->in = NULL;
		a->inlen = a->incap = 0;
		a->in_end = true;
	} else if (px_action_extract(&a->req, NULL, 0, a->action) != 0) {
		a->action[0] = 0;
	}
	if (a->action[0] == '\0' && strcmp(a->sc.service, "s3") == 0)
		px_s3_action(&a->req, a->t.info.s3_virtual_host, a->action);
	rv = px_resign(worker_of(a)->signer, &a->req, &a->t, &a->sc, &p, &a->out, &why);
	if (rv == PX_ERR_REFUSED) {
		api_refuse(a, &why);
		return;
	}
	if (rv != 0) {
		api_internal(a, "out of memory signing the request");
		return;
	}
	a->have_out = true;
	if (a->sc.payload == PX_PAYLOAD_CHUNKED) {
		rv = px_rechunk_new(worker_of(a)->signer, a->sc.chunked, 0, c->secret_access_key, a->out.date,
				    a->sc.region, a->sc.service, a->out.seed, rechunk_out, a, &a->rc);
		if (rv != 0) {
			api_internal(a, "cannot start re-signing the aws-chunked body");
			return;
		}
	}
	name = a->t.connect_to != NULL ? a->t.connect_to->address.host : a->t.host;
	ans = malloc(sizeof(*ans));
	if (ans == NULL) {
		api_internal(a, "out of memory");
		return;
	}
	a->state = API_RESOLVE;
	rv = px_resolve_start(worker_of(a)->resolve, name, ans, resolve_done, a, &a->rq);
	if (rv == 0)
		resolved(a, ans);
	else if (rv != PX_RESOLVE_PENDING)
		api_internal(a, "cannot start resolving the host");
	free(ans);
}

/* --- credentials ---------------------------------------------------------------- */

static void api_creds_ready(struct api *a)
{
	if (a->sc.payload == PX_PAYLOAD_BUFFER && !a->in_end) {
		/* The body is read now, to be hashed: let the client send it. */
		a->state = API_BODY;
		px_stream_continue(a->st);
		px_conn_kick(a->st->conn);
		return;
	}
	api_go_upstream(a);
}

static void creds_done(struct px_creds_req *cr, void *arg, int err)
{
	struct api *a = arg;
	struct px_deny d;

	(void)cr;
	if (err != 0) {
		px_front_creds_deny(&a->cr, err, &d);
		api_refuse_front(a, &d);
		return;
	}
	api_creds_ready(a);
}

static void api_body_end(struct px_stream *st)
{
	struct api *a = st->harg;

	a->in_end = true;
	if (a->state == API_BODY)
		api_go_upstream(a);
	else
		api_pump(a);
}

/* --- the start ------------------------------------------------------------------ */

static const char *header_value(const struct px_stream *st, const char *name)
{
	const struct px_header *h = px_stream_header(st, name);
	return h != NULL ? h->value : NULL;
}

static void api_start(struct api *a)
{
	struct px_stream *st = a->st;
	const struct px_config *cfg = st->gen->cfg;
	struct px_refusal why;
	struct px_deny d;
	size_t pathlen;
	int rv;

	a->now = (int64_t)time(NULL);
	/* The request as the signer sees it, views of the stream's headers:
	 * first, so that even the first refusal has the service's shape. */
	a->hv = px_arena_alloc(&st->arena, (st->nhdrs ? st->nhdrs : 1) * sizeof(*a->hv));
	if (a->hv == NULL) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		a->state = API_DONE;
		a->status = 500;
		return;
	}
	for (size_t i = 0; i < st->nhdrs; i++)
		a->hv[i] = (struct sv4_header){st->hdrs[i].name, st->hdrs[i].name_len, st->hdrs[i].value,
					       st->hdrs[i].value_len};
	pathlen = strcspn(st->path, "?");
	a->req = (struct sv4_request){st->method, strlen(st->method), st->path, pathlen,
				      st->path[pathlen] ? st->path + pathlen + 1 : "",
				      st->path[pathlen] ? st->path_len - pathlen - 1 : 0, a->hv, st->nhdrs, NULL, 0};
	if (px_audit_failing()) {
		/* This request would be audited at its end, too late to refuse it. */
		static const struct px_reason_info audit = {"audit-unavailable", 503, "ServiceUnavailable",
							    "ServiceUnavailableException"};
		api_deny(a, &audit, "the gate cannot write its audit log; try again later or ask the gate's admin");
		return;
	}
	if (px_front_identity(st, a->now, &d) != 0) {
		api_refuse_front(a, &d);
		return;
	}
	rv = px_front_choose(st, header_value(st, "x-awsgate-app"), header_value(st, "x-awsgate-role"), a->now, &a->ch,
			     &d);
	a->have_choice = a->ch.app != NULL && a->ch.role_arn != NULL;
	if (rv != 0) {
		api_refuse_front(a, &d);
		return;
	}
	if (px_target_decide(cfg, a->hv, st->nhdrs, &a->t, &why) != 0) {
		api_refuse(a, &why);
		return;
	}
	a->have_target = true;
	if (strcmp(a->t.info.partition->name, a->ch.partition) != 0) {
		px_refuse(&why, PX_R_ENDPOINT_PARTITION, "%s is in partition %s, and role %s in %s: choose a role of that partition",
			  a->t.host, a->t.info.partition->name, a->ch.role_arn, a->ch.partition);
		api_refuse(a, &why);
		return;
	}
	if (px_scope_parse(&a->req, &a->t, st->has_body ? st->content_length : 0, a->now, &a->sc, &why) != 0) {
		api_refuse(a, &why);
		return;
	}
	a->have_scope = true;
	if (strcmp(a->sc.service, "sts") == 0 && a->sc.payload == PX_PAYLOAD_STREAM) {
		/* An STS call's form is read even when its hash was given: an
		 * AssumeRole in it must be capped (docs/PIPELINE.md). */
		a->sc.payload = PX_PAYLOAD_BUFFER;
	}
	if (a->sc.payload == PX_PAYLOAD_BUFFER && st->content_length > 0 &&
	    (uint64_t)st->content_length > cfg->limits.max_body_buffer) {
		px_refuse(&why, PX_R_PAYLOAD_TOO_LARGE,
			  "the request gave no payload hash, so the gate must read the body to sign it, and its "
			  "Content-Length is over the gate's limit of %zu bytes; send X-Amz-Content-Sha256 (or "
			  "UNSIGNED-PAYLOAD) with the request",
			  (size_t)cfg->limits.max_body_buffer);
		api_refuse(a, &why);
		return;
	}
	a->state = API_CREDS;
	rv = px_front_creds(st, &a->ch, &a->cr, creds_done, a);
	if (rv != FED_PENDING)
		creds_done(&a->cr, a, rv); /* at hand, or failed at once */
}

static void api_close(struct px_stream *st)
{
	struct api *a = st->harg;

	if (a == NULL)
		return;
	if (a->up != NULL)
		px_upstream_cancel(a->up);
	if (a->rq != NULL)
		px_resolve_cancel(a->rq);
	if (a->status == 0)
		a->status = st->resp_started ? st->status : 499; /* the client left first */
	if (a->reason == NULL && !st->resp_done && st->resp_started)
		a->reason = "client-gone";
	api_audit(a);
	px_metrics_api(a->have_scope ? a->sc.service : NULL, a->status, ev_now(worker_of(a)->loop) - a->t0);
	px_front_creds_release(&a->cr);
	px_rechunk_del(a->rc);
	if (a->have_out)
		px_outreq_free(&a->out);
	free(a->in);
	free(a->ob);
	free(a);
	st->harg = NULL;
	st->h = NULL;
}

static const struct px_stream_handler api_handler = {
	.on_body = api_body,
	.on_body_end = api_body_end,
	.on_writable = api_writable,
	.on_close = api_close,
};

void px_api_dispatch(struct px_stream *st)
{
	/* Zeroed but for |out|'s header slots (4 KiB of the 9: calloc() cost
	 * about 6,600 instructions per request), which only px_resign()
	 * writes and only its |out.nheaders| are read. */
	struct api *a = malloc(sizeof(*a));

	st->route = PX_ROUTE_API;
	if (a == NULL) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return;
	}
	memset(a, 0, offsetof(struct api, out));
	memset(&a->out.nheaders, 0, sizeof(a->out) - offsetof(struct px_outreq, nheaders));
	a->st = st;
	a->t0 = ev_now(st->conn->w->loop);
	st->h = &api_handler;
	st->harg = a;
	/* api_start() runs before any body byte is delivered: nothing is held yet. */
	a->in_end = !st->has_body || st->body_done;
	api_start(a);
}
