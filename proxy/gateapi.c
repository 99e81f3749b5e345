/* SPDX-License-Identifier: Apache-2.0 */
/* gateapi.c: POST /awsgate/v1/console and POST /awsgate/v1/presign: a console sign-in URL or a presigned URL made with the role's credentials (docs/API.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "front.h"
#include "sigv4/sigv4.h"

#define PX_API_MAX_BODY 65536       /* bytes of a request's JSON */
#define PX_PRESIGN_MAX_HEADERS 16   /* headers a presign request asks to sign */
#define PX_PRESIGN_DEFAULT_EXPIRES 900
#define PX_SIGNIN_URL_LIFE 900      /* a sign-in URL works for 15 minutes (AWS's rule) */

struct api_req {
	struct px_stream *st;
	unsigned char *body;
	size_t len;
	bool too_large, async, answered;
	json_t *in;
	struct px_choice ch;
	bool have_choice;
	const struct px_console_web *web; /* a launch from the web UI: answered by its callbacks */
	struct px_creds_req cr;
	struct fed_signin_call *signin;
	/* presign: the parsed target */
	struct px_presign_target tg;
	const char *method;
	uint32_t expires;
};

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void answer_kick(struct api_req *r)
{
	r->answered = true;
	if (r->async)
		px_conn_kick(r->st->conn);
}

static void api_error(struct api_req *r, int status, const char *reason, const char *msg)
{
	if (r->web != NULL)
		r->web->fail(r->st, status, reason, msg);
	else
		px_stream_error(r->st, status, reason, msg);
	answer_kick(r);
}

static void api_refuse(struct api_req *r, const struct px_deny *why)
{
	if (px_front_audit_deny(r->st, r->have_choice ? &r->ch : NULL, why) != 0)
		api_error(r, 503, "audit-unavailable", "the audit log cannot be written; try again later or ask the gate's admin");
	else
		api_error(r, why->status, why->reason, why->msg);
}

static void api_bad(struct api_req *r, int status, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void api_bad(struct api_req *r, int status, const char *reason, const char *fmt, ...)
{
	struct px_deny why;
	va_list ap;

	why.status = status;
	why.reason = reason;
	va_start(ap, fmt);
	vsnprintf(why.msg, sizeof(why.msg), fmt, ap);
	va_end(ap);
	api_refuse(r, &why);
}

/* Replies 200 with {"url": |url|, <the members of |rest|>}: the URL is a
 * secret (it signs in, or carries the session token), so it is spliced in
 * by hand and the text wiped, never held by jansson. |url| holds no '"',
 * '\\' or control byte (checked by the callers' inputs). */
static void reply_url(struct api_req *r, const char *url, json_t *rest)
{
	char *tail = json_dumps(rest, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t ulen = strlen(url), n;
	char *text;

	if (tail == NULL || tail[0] != '{') {
		free(tail);
		api_error(r, 500, "internal", "out of memory; try again");
		return;
	}
	n = ulen + strlen(tail) + 16;
	text = malloc(n);
	if (text == NULL) {
		free(tail);
		api_error(r, 500, "internal", "out of memory; try again");
		return;
	}
	snprintf(text, n, "{\"url\":\"%s\"%s%s", url, tail[1] == '}' ? "" : ",", tail + 1);
	px_stream_reply(r->st, 200, "application/json", text, strlen(text), NULL, 0);
	OPENSSL_cleanse(text, n);
	free(text);
	free(tail);
	answer_kick(r);
}

static bool url_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c >= 0x7f || c == '"' || c == '\\' || c == '#')
			return false;
	}
	return true;
}

static void iso(int64_t t, char out[32])
{
	rbac_time_format(t, out, 32);
}

/* --- console --------------------------------------------------------------- */

static void signin_done(void *arg, int err, const struct fed_signin_result *res, int status)
{
	struct api_req *r = arg;
	const struct fed_creds *c = fed_snap_creds(r->cr.creds);
	int64_t now = (int64_t)time(NULL), console_s;
	char exp[32];
	json_t *out, *ev;

	r->signin = NULL;
	if (err != 0) {
		api_bad(r, err == FED_ERR_UNAVAILABLE || err == FED_ERR_TIMEOUT || err == FED_ERR_TRANSPORT ? 503 : 502,
			"signin-failed", "the AWS sign-in endpoint did not give a sign-in token (%s%s%d); try again, or ask the gate's admin",
			fed_strerror(err), status ? ", HTTP " : "", status);
		return;
	}
	if (!url_safe(res->login_url, strlen(res->login_url))) {
		api_bad(r, 502, "signin-failed", "the sign-in URL is malformed; ask the gate's admin");
		return;
	}
	/* How long the console session lasts: SessionDuration when sent,
	 * else AWS's rule for role chaining (what is left, at most an hour). */
	console_s = res->session_duration;
	if (console_s == 0) {
		console_s = FED_SIGNIN_CHAINED_CAP;
		if (c->expiration != 0 && c->expiration - now < console_s)
			console_s = c->expiration - now;
	}
	iso(now + PX_SIGNIN_URL_LIFE, exp);
	ev = px_front_audit_event(r->st, r->web != NULL ? "web.launch" : "console.url");
	if (ev != NULL) {
		json_object_set_new(ev, "app", json_string(r->ch.info.name));
		json_object_set_new(ev, "role_arn", json_string(r->ch.role_arn));
		json_object_set_new(ev, "account_id", json_string(r->ch.account));
		json_object_set_new(ev, "session_name", json_string(r->cr.session));
		json_object_set_new(ev, "session_duration", json_integer(console_s));
		json_object_set_new(ev, "chaining_capped", json_boolean(res->chaining_capped));
		json_object_set_new(ev, "status", json_integer(200));
	}
	if (ev == NULL || px_audit(ev) != 0) {
		json_decref(ev);
		api_error(r, 503, "audit-unavailable", "the audit log cannot be written; try again later or ask the gate's admin");
		return;
	}
	json_decref(ev);
	if (r->web != NULL) {
		struct px_console_done d = {res->login_url, console_s, res->chaining_capped, &r->ch, r->cr.session};
		r->web->ok(r->st, &d);
		answer_kick(r);
		return;
	}
	out = json_pack("{s:s,s:I,s:b,s:s,s:s,s:s}", "expires", exp, "session_duration", (json_int_t)console_s,
			"chaining_capped", res->chaining_capped, "role_arn", r->ch.role_arn, "account_id", r->ch.account,
			"app", r->ch.info.name);
	if (out == NULL) {
		api_error(r, 500, "internal", "out of memory; try again");
		return;
	}
	reply_url(r, res->login_url, out);
	json_decref(out);
}

static void console_go(struct api_req *r)
{
	const char *region = jstr(r->in, "region"), *dest = jstr(r->in, "destination");
	const char *ep = px_srv->env.getenv(px_srv->env.arg, "AWS_ENDPOINT_URL_SIGNIN");
	struct fed_signin_params p;
	int rv;

	memset(&p, 0, sizeof(p));
	p.partition = fed_partition_by_name(r->ch.partition);
	p.region = region != NULL && *region ? region : NULL;
	p.destination = dest != NULL && *dest ? dest : NULL;
	p.long_term_base = !r->cr.chained;
	/* SessionDuration is refused for role-chained sessions. */
	p.session_duration = r->cr.chained ? 0 : r->cr.duration;
	p.endpoint_url = ep != NULL && *ep ? ep : NULL;
	if (r->web != NULL) {
		/* The web UI: the console's sign-out returns to it, and the user
		 * may ask for the sign-out wrapper (ends an older console session). */
		p.issuer = jstr(r->in, "issuer");
		p.wrap_logout = json_is_true(json_object_get(r->in, "logout"));
	}
	p.timeout_ms = r->st->gen->cfg->timeouts.sts * 1000u;
	rv = fed_signin_start(px_worker_transport(r->st), &p, fed_snap_creds(r->cr.creds), signin_done, r, &r->signin);
	if (rv == FED_ERR_INVALID)
		api_bad(r, 400, "bad-destination",
			"the destination must be an https URL on the partition's console, and the region a region name");
	else if (rv != 0)
		api_bad(r, 503, "signin-failed", "cannot reach the AWS sign-in endpoint (%s); try again", fed_strerror(rv));
	else
		r->async = true;
}

static int console_check(struct api_req *r)
{
	const char *region = jstr(r->in, "region");
	const struct fed_partition *p;

	if (region != NULL && *region && fed_partition_for_region(region, &p) != 0) {
		api_bad(r, 400, "bad-region", "\"region\" is not a region name (like eu-west-1)");
		return -1;
	}
	return 0;
}

/* --- presign ---------------------------------------------------------------- */

/* Reads and checks the presign request before any credentials are asked
 * for: the URL's host must be an AWS endpoint as for X-Forwarded-Host. */
static int presign_check(struct api_req *r)
{
	const struct px_config *cfg = r->st->gen->cfg;
	json_t *jexp = json_object_get(r->in, "expires"), *jh = json_object_get(r->in, "headers");
	struct px_deny why;

	r->method = jstr(r->in, "method");
	if (r->method == NULL || *r->method == '\0')
		r->method = "GET";
	for (const char *m = r->method; *m; m++)
		if (*m < 'A' || *m > 'Z' || m - r->method >= 16) {
			api_bad(r, 400, "bad-method", "\"method\" must be an HTTP method in capitals, like GET or PUT");
			return -1;
		}
	if (px_presign_target(jstr(r->in, "url"), jstr(r->in, "service"), jstr(r->in, "region"),
			      cfg->aws.allow_customer_endpoints, cfg->aws.partitions, &r->tg, &why) != 0) {
		api_refuse(r, &why);
		return -1;
	}
	if (strcmp(r->tg.partition, r->ch.partition) != 0) {
		api_bad(r, 403, "partition-mismatch", "\"url\": %s is in partition %s; role %s is in %s", r->tg.host,
			r->tg.partition, r->ch.role_arn, r->ch.partition);
		return -1;
	}
	r->expires = PX_PRESIGN_DEFAULT_EXPIRES;
	if (json_is_integer(jexp)) {
		json_int_t v = json_integer_value(jexp);
		if (v < 1 || v > SV4_MAX_EXPIRES) {
			api_bad(r, 400, "bad-expires", "\"expires\" must be 1 to %d seconds (7 days)", SV4_MAX_EXPIRES);
			return -1;
		}
		r->expires = (uint32_t)v;
	} else if (json_is_string(jexp)) {
		if (px_duration_parse(json_string_value(jexp), &r->expires) != 0 || r->expires < 1 ||
		    r->expires > SV4_MAX_EXPIRES) {
			api_bad(r, 400, "bad-expires", "\"expires\" must be a duration (\"15m\", \"1h\") up to 7 days");
			return -1;
		}
	} else if (jexp != NULL && !json_is_null(jexp)) {
		api_bad(r, 400, "bad-expires", "\"expires\" must be seconds or a duration string");
		return -1;
	}
	if (jh != NULL && !json_is_null(jh)) {
		const char *k;
		json_t *v;
		if (!json_is_object(jh) || json_object_size(jh) > PX_PRESIGN_MAX_HEADERS) {
			api_bad(r, 400, "bad-headers", "\"headers\" must be an object of at most %d name: value strings",
				PX_PRESIGN_MAX_HEADERS);
			return -1;
		}
		json_object_foreach(jh, k, v) {
			if (!json_is_string(v) || strcasecmp(k, "host") == 0 || strncasecmp(k, "x-amz-", 6) == 0 ||
			    strcasecmp(k, "authorization") == 0) {
				api_bad(r, 400, "bad-headers",
					"\"headers\": %.64s: values must be strings; Host, Authorization and X-Amz-* are the gate's",
					k);
				return -1;
			}
		}
	}
	return 0;
}

static void presign_go(struct api_req *r)
{
	const struct fed_creds *c = fed_snap_creds(r->cr.creds);
	json_t *jh = json_object_get(r->in, "headers"), *out, *ev, *signed_h;
	struct sv4_header hdrs[PX_PRESIGN_MAX_HEADERS + 1];
	struct sv4_credentials sc = {c->access_key_id, c->secret_access_key, c->session_token};
	struct sv4_sign_params sp;
	struct sv4_request req;
	struct sv4_signed so;
	struct sv4_signer *signer;
	int64_t now = (int64_t)time(NULL), left;
	uint32_t expires = r->expires;
	bool capped = false;
	size_t nh = 0, n;
	char exp[32], *url;
	const char *k;
	json_t *v;
	int rv;

	/* Capped by the user's session and by the credentials' life: a URL
	 * must not outlive either. */
	left = r->ch.user_left_s;
	if (c->expiration != 0 && c->expiration - now < left)
		left = c->expiration - now;
	if (left < 1) {
		api_bad(r, 401, "session-too-short", "your session or the role's credentials have expired: log in again");
		return;
	}
	if ((int64_t)expires > left) {
		expires = (uint32_t)left;
		capped = true;
	}
	hdrs[nh++] = (struct sv4_header){"host", 4, r->tg.hostport, strlen(r->tg.hostport)};
	signed_h = json_object();
	if (jh != NULL && json_is_object(jh))
		json_object_foreach(jh, k, v) {
			hdrs[nh++] = (struct sv4_header){k, strlen(k), json_string_value(v), json_string_length(v)};
			json_object_set(signed_h, k, v);
		}
	req = (struct sv4_request){r->method, strlen(r->method), r->tg.path, r->tg.pathlen, r->tg.query, r->tg.querylen,
				   hdrs, nh, NULL, 0};
	memset(&sp, 0, sizeof(sp));
	sp.creds = &sc;
	sp.region = r->tg.region;
	sp.service = r->tg.service;
	sp.time = now;
	sp.mode = SV4_MODE_QUERY;
	sp.expires = expires;
	signer = sv4_signer_new();
	if (signer == NULL) {
		json_decref(signed_h);
		api_error(r, 500, "internal", "out of memory; try again");
		return;
	}
	rv = sv4_sign(signer, &req, &sp, &so);
	if (rv != 0) {
		sv4_signer_del(signer);
		json_decref(signed_h);
		api_bad(r, 400, "cannot-presign", "the request cannot be presigned: %s", sv4_strerror(rv));
		return;
	}
	n = strlen(r->tg.hostport) + r->tg.pathlen + so.querylen + 16;
	url = malloc(n);
	if (url == NULL) {
		sv4_signer_del(signer);
		json_decref(signed_h);
		api_error(r, 500, "internal", "out of memory; try again");
		return;
	}
	snprintf(url, n, "https://%s%.*s?%.*s", r->tg.hostport, (int)r->tg.pathlen, r->tg.path, (int)so.querylen, so.query);
	sv4_signer_del(signer);
	iso(now + expires, exp);
	ev = px_front_audit_event(r->st, "presign");
	if (ev != NULL) {
		json_object_set_new(ev, "app", json_string(r->ch.info.name));
		json_object_set_new(ev, "role_arn", json_string(r->ch.role_arn));
		json_object_set_new(ev, "account_id", json_string(r->ch.account));
		json_object_set_new(ev, "target_method", json_string(r->method));
		json_object_set_new(ev, "host", json_string(r->tg.hostport));
		json_object_set_new(ev, "target_path", json_stringn(r->tg.path, r->tg.pathlen));
		json_object_set_new(ev, "service", json_string(r->tg.service));
		json_object_set_new(ev, "region", json_string(r->tg.region));
		json_object_set_new(ev, "expires_in", json_integer(expires));
		json_object_set_new(ev, "status", json_integer(200));
	}
	if (ev == NULL || px_audit(ev) != 0) {
		json_decref(ev);
		json_decref(signed_h);
		OPENSSL_cleanse(url, n);
		free(url);
		api_error(r, 503, "audit-unavailable", "the audit log cannot be written; try again later or ask the gate's admin");
		return;
	}
	json_decref(ev);
	out = json_pack("{s:s,s:i,s:b,s:s,s:o,s:s,s:s,s:s,s:s}", "expires", exp, "expires_in", (int)expires, "capped",
			capped, "method", r->method, "headers", signed_h, "service", r->tg.service, "region", r->tg.region,
			"role_arn", r->ch.role_arn, "account_id", r->ch.account);
	if (out == NULL)
		api_error(r, 500, "internal", "out of memory; try again");
	else
		reply_url(r, url, out);
	json_decref(out);
	OPENSSL_cleanse(url, n);
	free(url);
}

/* --- the request ------------------------------------------------------------- */

static bool is_console(const struct api_req *r)
{
	return r->web != NULL || r->st->route == PX_ROUTE_CONSOLE;
}

static void creds_ready(struct api_req *r)
{
	if (is_console(r))
		console_go(r);
	else
		presign_go(r);
}

static void creds_done(struct px_creds_req *cr, void *arg, int err)
{
	struct api_req *r = arg;
	struct px_deny why;

	(void)cr;
	if (err != 0) {
		px_front_creds_deny(&r->cr, err, &why);
		api_refuse(r, &why);
		return;
	}
	creds_ready(r);
}

/* Header first, else the JSON member. */
static const char *choice_arg(struct api_req *r, const char *header, const char *member)
{
	const struct px_header *h = r->web != NULL ? NULL : px_stream_header(r->st, header);
	const char *j = jstr(r->in, member);

	return j != NULL ? j : h != NULL ? h->value : NULL;
}

static void api_start(struct api_req *r)
{
	struct px_stream *st = r->st;
	int64_t now = (int64_t)time(NULL);
	struct px_deny why;
	json_error_t je;
	int rv;

	if (r->too_large) {
		api_error(r, 413, "body-too-large", "the request's JSON is over 64 KiB");
		return;
	}
	if (r->in == NULL)
		r->in = r->len ? json_loadb((const char *)r->body, r->len, JSON_REJECT_DUPLICATES, &je) : json_object();
	if (r->in == NULL || !json_is_object(r->in)) {
		api_error(r, 400, "bad-json", "the body must be a JSON object (docs/API.md)");
		return;
	}
	if (px_front_identity(st, now, &why) != 0) {
		api_refuse(r, &why);
		return;
	}
	rv = px_front_choose(st, choice_arg(r, "x-awsgate-app", "app"), choice_arg(r, "x-awsgate-role", "role"), now,
			     &r->ch, &why);
	r->have_choice = r->ch.app != NULL;
	if (rv != 0) {
		api_refuse(r, &why);
		return;
	}
	if ((is_console(r) ? console_check(r) : presign_check(r)) != 0)
		return;
	rv = px_front_creds(st, &r->ch, &r->cr, creds_done, r);
	if (rv == FED_PENDING) {
		r->async = true;
		return;
	}
	if (rv != 0) {
		px_front_creds_deny(&r->cr, rv, &why);
		api_refuse(r, &why);
		return;
	}
	creds_ready(r);
}

static void api_body(struct px_stream *st, const unsigned char *data, size_t len)
{
	struct api_req *r = st->harg;

	px_stream_consume(st, len);
	if (r->too_large || r->answered)
		return;
	if (r->len + len > PX_API_MAX_BODY) {
		r->too_large = true;
		return;
	}
	if (r->body == NULL) {
		r->body = malloc(PX_API_MAX_BODY);
		if (r->body == NULL) {
			r->too_large = true;
			return;
		}
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
}

static void api_body_end(struct px_stream *st)
{
	struct api_req *r = st->harg;

	if (!r->answered && !st->resp_started)
		api_start(r);
}

static void api_close(struct px_stream *st)
{
	struct api_req *r = st->harg;

	if (r == NULL)
		return;
	if (r->signin != NULL)
		fed_signin_cancel(r->signin);
	px_front_creds_release(&r->cr);
	json_decref(r->in);
	free(r->body);
	free(r);
	st->harg = NULL;
	st->h = NULL;
}

static const struct px_stream_handler api_handler = {
	.on_body = api_body,
	.on_body_end = api_body_end,
	.on_close = api_close,
};

void px_gateapi_dispatch(struct px_stream *st)
{
	struct api_req *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return;
	}
	r->st = st;
	st->h = &api_handler;
	st->harg = r;
	if (st->content_length > PX_API_MAX_BODY) {
		r->too_large = true;
		api_error(r, 413, "body-too-large", "the request's JSON is over 64 KiB");
		return;
	}
	if (!st->has_body || st->body_done) {
		api_start(r);
		return;
	}
	px_stream_continue(st);
}

void px_gateapi_console_web(struct px_stream *st, json_t *in, const struct px_console_web *cb)
{
	struct api_req *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		json_decref(in);
		cb->fail(st, 500, "internal", "out of memory; try again");
		return;
	}
	r->st = st;
	r->in = in;
	r->web = cb;
	/* The body was read by the web UI: this handler only waits and cleans up. */
	st->h = &api_handler;
	st->harg = r;
	api_start(r);
}
