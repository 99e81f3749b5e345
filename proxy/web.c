/* SPDX-License-Identifier: Apache-2.0 */
/* web.c: the console web UI under /awsgate/web/ and POST /awsgate/v1/web-link (docs/CONSOLE.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "front.h"
#include "webassets.h"

#define WEB_PREFIX "/awsgate/web"
#define WEB_MAX_HEADERS 14

/*
 * Chromium applies form-action to the redirect that follows a form POST,
 * so the partitions' sign-in origins (where a launch is sent) are listed;
 * nothing else may be a form's target.
 */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
			  "form-action 'self' https://signin.aws.amazon.com https://*.signin.aws.amazon.com "
			  "https://signin.amazonaws-us-gov.com https://*.signin.amazonaws-us-gov.com "
			  "https://signin.amazonaws.cn https://*.signin.amazonaws.cn; "
			  "frame-ancestors 'none'; base-uri 'none'";

/* What a web request knows about its user. */
struct web_who {
	char sid[PX_WEB_TOKEN_LEN + 1];  /* the session id ("" none) */
	char csrf[PX_WEB_TOKEN_LEN + 1]; /* its CSRF token */
	int64_t expires;
	bool expired;                    /* a session cookie came, for a session that has ended */
	char cookie[256];                /* Set-Cookie to send ("" none) */
	const char *method;              /* "cert" or "link" when this request signed in */
};

static void who_wipe(struct web_who *w)
{
	OPENSSL_cleanse(w, sizeof(*w));
}

/* --- responses ------------------------------------------------------------------- */

static int web_send(struct px_stream *st, int status, const char *ctype, const char *body, size_t len,
		    const struct px_header *extra, size_t nextra)
{
	struct px_header h[WEB_MAX_HEADERS];
	size_t n = 0;
	int rv;

	h[n++] = (struct px_header){"content-type", ctype, 12, strlen(ctype)};
	h[n++] = (struct px_header){"cache-control", "no-store", 13, 8};
	h[n++] = (struct px_header){"content-security-policy", csp, 23, sizeof(csp) - 1};
	h[n++] = (struct px_header){"x-content-type-options", "nosniff", 22, 7};
	h[n++] = (struct px_header){"referrer-policy", "no-referrer", 15, 11};
	h[n++] = (struct px_header){"x-frame-options", "DENY", 15, 4};
	h[n++] = (struct px_header){"strict-transport-security", "max-age=31536000", 25, 16};
	h[n++] = (struct px_header){"cross-origin-opener-policy", "same-origin", 26, 11};
	for (size_t i = 0; i < nextra && n < WEB_MAX_HEADERS; i++)
		h[n++] = extra[i];
	rv = px_stream_respond(st, status, h, n, (int64_t)len);
	if (rv == 0 && len > 0 && !st->head) {
		rv = px_stream_write(st, body, len);
		if (rv == PX_ERR_AGAIN)
			rv = 0;
	}
	if (rv == 0)
		rv = px_stream_end(st);
	return rv;
}

static void page_begin(struct px_web_buf *b, const char *title, const struct px_stream *st,
		       const struct web_who *who)
{
	int state;
	const struct rbac_identity *id = px_stream_identity(st, &state);

	px_web_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			   "<title>");
	px_web_buf_html(b, title);
	px_web_buf_adds(b, " - awsgate</title><link rel=\"stylesheet\" href=\"" WEB_PREFIX "/app.css\">"
			   "<script src=\"" WEB_PREFIX "/app.js\"></script></head><body><header><h1>awsgate</h1>");
	if (st->web_ident != NULL && id != NULL && who != NULL && who->sid[0]) {
		px_web_buf_adds(b, "<span class=\"who\" id=\"user\">");
		px_web_buf_html(b, id->user);
		px_web_buf_adds(b, "</span><form method=\"post\" action=\"" WEB_PREFIX "/signout\">"
				   "<input type=\"hidden\" name=\"csrf\" value=\"");
		px_web_buf_html(b, who->csrf);
		px_web_buf_adds(b, "\"><button type=\"submit\" id=\"signout\">Sign out</button></form>");
	}
	px_web_buf_adds(b, "</header><main>");
}

static void page_end(struct px_web_buf *b)
{
	px_web_buf_adds(b, "</main></body></html>\n");
}

static void send_page(struct px_stream *st, int status, struct px_web_buf *b, const struct web_who *who,
		      const struct px_header *extra, size_t nextra)
{
	struct px_header h[2];
	size_t n = 0;

	if (b->failed) {
		px_web_buf_free(b);
		px_stream_error(st, 500, "internal", "the page could not be made (out of memory); try again");
		return;
	}
	if (who != NULL && who->cookie[0])
		h[n++] = (struct px_header){"set-cookie", who->cookie, 10, strlen(who->cookie)};
	for (size_t i = 0; i < nextra && n < 2; i++)
		h[n++] = extra[i];
	web_send(st, status, "text/html; charset=utf-8", b->p, b->len, h, n);
	px_web_buf_free(b);
}

/* A page that says what happened and what to do: |id| names it for tests
 * and for the user's report to the admin. */
static void notice_page(struct px_stream *st, int status, const char *id, const char *title, const char *msg,
			const char *todo, const struct web_who *who)
{
	struct px_web_buf b;

	px_web_buf_init(&b, PX_WEB_MAX_PAGE);
	page_begin(&b, title, st, who);
	px_web_buf_adds(&b, status >= 400 ? "<div class=\"notice error\" id=\"" : "<div class=\"notice\" id=\"");
	px_web_buf_html(&b, id);
	px_web_buf_adds(&b, "\"><h2>");
	px_web_buf_html(&b, title);
	px_web_buf_adds(&b, "</h2><p class=\"msg\">");
	px_web_buf_html(&b, msg);
	px_web_buf_adds(&b, "</p>");
	if (todo != NULL) {
		px_web_buf_adds(&b, "<p class=\"todo\">");
		px_web_buf_html(&b, todo);
		px_web_buf_adds(&b, "</p>");
	}
	if (st->web_ident != NULL && who != NULL && who->sid[0])
		px_web_buf_adds(&b, "<p><a href=\"" WEB_PREFIX "/\">Back to your apps</a></p>");
	px_web_buf_adds(&b, "<p class=\"small\">Reason: <code>");
	px_web_buf_html(&b, id);
	px_web_buf_adds(&b, "</code></p></div>");
	page_end(&b);
	{
		/* The reason in a header too, as on the gate's other routes. */
		struct px_header eh = {"x-awsgate-error", id, 15, strlen(id)};
		send_page(st, status, &b, who, &eh, status >= 400 ? 1 : 0);
	}
}

/* Audits a refusal as request.denied, then shows it. */
static void deny_page(struct px_stream *st, const struct px_choice *ch, const struct px_deny *d, const char *title,
		      const char *todo, const struct web_who *who)
{
	if (px_front_audit_deny(st, ch, d) != 0) {
		notice_page(st, 503, "audit-unavailable", "The gate cannot write its audit log",
			    "Nothing was done, because every action here must be recorded.",
			    "Try again later, or tell the gate's admin.", who);
		return;
	}
	notice_page(st, d->status, d->reason, title, d->msg, todo, who);
}

static void deny_simple(struct px_stream *st, int status, const char *reason, const char *title, const char *msg,
			const char *todo, const struct web_who *who)
{
	struct px_deny d;

	d.status = status;
	d.reason = reason;
	snprintf(d.msg, sizeof(d.msg), "%s", msg);
	deny_page(st, NULL, &d, title, todo, who);
}

/* --- identity: cookie, certificate ------------------------------------------------ */

static bool path_is(const struct px_stream *st, const char *want)
{
	size_t n = strlen(want);
	return strncmp(st->path, want, n) == 0 && (st->path[n] == 0 || st->path[n] == '?');
}

/* The session cookie's value, from every Cookie field (HTTP/2 may split
 * them). Returns 0, PX_ERR_WEB_MISSING, or PX_ERR_WEB_BAD (more than one). */
static int find_cookie(const struct px_stream *st, const char **val, size_t *vlen)
{
	int found = 0;

	for (size_t i = 0; i < st->nhdrs; i++) {
		const struct px_header *h = &st->hdrs[i];
		const char *v;
		size_t n;
		int rv;
		if (strcmp(h->name, "cookie") != 0)
			continue;
		rv = px_web_cookie_get(h->value, h->value_len, PX_WEB_COOKIE, &v, &n);
		if (rv == PX_ERR_WEB_MISSING)
			continue;
		if (rv != 0 || found++)
			return PX_ERR_WEB_BAD;
		*val = v;
		*vlen = n;
	}
	return found ? 0 : PX_ERR_WEB_MISSING;
}

static void set_cookie(struct web_who *who, int64_t now)
{
	int64_t age = who->expires - now;

	snprintf(who->cookie, sizeof(who->cookie),
		 PX_WEB_COOKIE "=%s; Secure; HttpOnly; SameSite=Strict; Path=" WEB_PREFIX "; Max-Age=%lld", who->sid,
		 (long long)(age > 0 ? age : 0));
}

static void clear_cookie(struct web_who *who)
{
	snprintf(who->cookie, sizeof(who->cookie),
		 PX_WEB_COOKIE "=; Secure; HttpOnly; SameSite=Strict; Path=" WEB_PREFIX "; Max-Age=0");
}

/* Starts a session for |id| (st->web_ident set). Returns 0 or -1 (answered). */
static int session_start(struct px_stream *st, struct px_web_ident *id, int64_t now, struct web_who *who,
			 const char *method)
{
	int rv = px_web_session_new(px_srv->web, id, now, who->sid, who->csrf, &who->expires);
	json_t *ev;

	px_web_ident_unref(st->web_ident);
	st->web_ident = id; /* takes the caller's reference */
	if (rv != 0) {
		who->sid[0] = '\0';
		if (rv == PX_ERR_WEB_FULL)
			deny_simple(st, 503, "web-sessions-full", "Too many web sessions",
				    "The gate holds as many browser sessions as it may.",
				    "Try again in a few minutes, or use the awsgate command line.", who);
		else
			deny_simple(st, 401, "certificate-expired", "Your certificate has expired",
				    "A web session cannot outlive your certificate.", "Log in again (awsgate login).",
				    who);
		return -1;
	}
	set_cookie(who, now);
	who->method = method;
	ev = px_front_audit_event(st, "web.signin");
	if (ev != NULL) {
		char exp[32];
		rbac_time_format(who->expires, exp, sizeof(exp));
		json_object_set_new(ev, "method", json_string(method));
		json_object_set_new(ev, "session_expires", json_string(exp));
	}
	if (ev == NULL || px_audit(ev) != 0) {
		json_decref(ev);
		px_web_session_end(px_srv->web, who->sid, strlen(who->sid));
		who->sid[0] = '\0';
		who->cookie[0] = '\0';
		notice_page(st, 503, "audit-unavailable", "The gate cannot write its audit log",
			    "You were not signed in, because every sign-in must be recorded.",
			    "Try again later, or tell the gate's admin.", who);
		return -1;
	}
	json_decref(ev);
	return 0;
}

/*
 * The request's session: the cookie's, or (a page view, |may_cert|) a
 * new one from the client certificate when the browser presented one. A
 * certificate for another user than the cookie's session wins: the cookie
 * is then ignored. Returns 1 with st->web_ident set, 0 with none, -1 when
 * answered.
 */
static int web_identify(struct px_stream *st, int64_t now, bool may_cert, struct web_who *who)
{
	struct px_conn *c = st->conn;
	struct px_web_ident *id = NULL;
	const char *v;
	size_t n;
	int rv;

	rv = find_cookie(st, &v, &n);
	if (rv == 0) {
		rv = px_web_session_get(px_srv->web, v, n, now, &id, who->csrf, &who->expires);
		if (rv == 0 && c->has_ident == 1 && strcmp(id->id.user, c->ident.user) != 0) {
			px_web_ident_unref(id);
			id = NULL;
			rv = PX_ERR_WEB_UNKNOWN;
		} else if (rv == 0) {
			snprintf(who->sid, sizeof(who->sid), "%.*s", (int)n, v);
			px_web_ident_unref(st->web_ident);
			st->web_ident = id;
			return 1;
		}
		who->expired = true;
	}
	if (!may_cert || c->has_ident != 1 || (c->ident.not_after != 0 && now >= c->ident.not_after))
		return 0;
	if (px_web_ident_new(&c->ident, &id) != 0) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return -1;
	}
	if (session_start(st, id, now, who, "cert") != 0)
		return -1;
	who->expired = false;
	return 1;
}

static void need_signin(struct px_stream *st, struct web_who *who)
{
	if (who->expired) {
		clear_cookie(who);
		deny_simple(st, 401, "web-session-expired", "Your web session has ended",
			    "It expired with your certificate, or you signed out, or the gate restarted.",
			    "Run awsgate web for a new sign-in link, or open this page with your client certificate.",
			    who);
		return;
	}
	deny_simple(st, 401, "web-signin-required", "Sign in to awsgate",
		    "This page needs a web session: a one-time link, or your client certificate.",
		    "Run awsgate web (or awsgate console --web) and open the link it prints.", who);
}

/* A state-changing request must come from our own pages: Sec-Fetch-Site,
 * when the browser sends it, must say same-origin; else Origin, when sent,
 * must be ours. Origin is only the fallback: under Referrer-Policy
 * no-referrer Chromium sends "Origin: null" with a form POST, which then
 * says nothing. The CSRF token and SameSite=Strict are the other layers. */
static bool same_origin(const struct px_stream *st)
{
	const struct px_header *o = px_stream_header(st, "origin"), *s = px_stream_header(st, "sec-fetch-site");

	if (s != NULL)
		return strcmp(s->value, "same-origin") == 0;
	if (o != NULL)
		return st->authority != NULL && strncmp(o->value, "https://", 8) == 0 &&
		       strcasecmp(o->value + 8, st->authority) == 0;
	return true;
}

/* --- pages ----------------------------------------------------------------------- */

static const char *role_path(const char *arn, char *buf, size_t size)
{
	const char *r = strstr(arn, ":role/"), *last;

	if (r == NULL)
		return "/";
	r += 5; /* at the '/' */
	last = strrchr(r, '/');
	snprintf(buf, size, "%.*s", (int)(last - r + 1), r);
	return buf;
}

static void add_search(struct px_web_buf *b, const char *s)
{
	/* data-search: lower case, for app.js's filter */
	char low[512];
	size_t i;

	for (i = 0; s != NULL && s[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	low[i] = '\0';
	px_web_buf_html(b, low);
	px_web_buf_adds(b, " ");
}

static void render_apps(struct px_stream *st, json_t *apps, const struct web_who *who)
{
	struct px_web_buf b;
	size_t i, j, nroles = 0;
	json_t *app, *role;
	char pbuf[512];

	px_web_buf_init(&b, PX_WEB_MAX_PAGE);
	page_begin(&b, "Your AWS apps", st, who);
	if (who->method != NULL) {
		px_web_buf_adds(&b, "<p class=\"small\" id=\"signed-in\">Signed in by ");
		px_web_buf_adds(&b, strcmp(who->method, "cert") == 0 ? "client certificate" : "one-time link");
		px_web_buf_adds(&b, ".</p>");
	}
	px_web_buf_adds(&b, "<input type=\"search\" id=\"filter\" hidden placeholder=\"Filter apps, accounts and roles\" "
			    "aria-label=\"Filter\">");
	json_array_foreach(json_object_get(apps, "apps"), i, app)
	{
		const char *name = json_string_value(json_object_get(app, "name"));
		const char *acct = json_string_value(json_object_get(app, "aws_account_id"));
		json_t *labels = json_object_get(app, "labels"), *lv;
		const char *lk;

		px_web_buf_adds(&b, "<section class=\"app\" data-app=\"");
		px_web_buf_html(&b, name);
		px_web_buf_adds(&b, "\" data-search=\"");
		add_search(&b, name);
		add_search(&b, acct);
		json_object_foreach(labels, lk, lv) {
			add_search(&b, lk);
			add_search(&b, json_string_value(lv));
		}
		px_web_buf_adds(&b, "\"><h2>");
		px_web_buf_html(&b, name);
		px_web_buf_adds(&b, "</h2>");
		if (acct != NULL) {
			px_web_buf_adds(&b, "<div class=\"acct\">Account ");
			px_web_buf_html(&b, acct);
			px_web_buf_adds(&b, "</div>");
		}
		px_web_buf_adds(&b, "<div class=\"labels\">");
		json_object_foreach(labels, lk, lv) {
			px_web_buf_adds(&b, "<span>");
			px_web_buf_html(&b, lk);
			px_web_buf_adds(&b, "=");
			px_web_buf_html(&b, json_string_value(lv));
			px_web_buf_adds(&b, "</span>");
		}
		px_web_buf_adds(&b, "</div><ul class=\"roles\">");
		json_array_foreach(json_object_get(app, "roles"), j, role)
		{
			const char *rn = json_string_value(json_object_get(role, "name"));
			const char *arn = json_string_value(json_object_get(role, "arn"));
			const char *ra = json_string_value(json_object_get(role, "account_id"));

			nroles++;
			px_web_buf_adds(&b, "<li class=\"role\" data-arn=\"");
			px_web_buf_html(&b, arn);
			px_web_buf_adds(&b, "\" data-search=\"");
			add_search(&b, rn);
			add_search(&b, arn);
			px_web_buf_adds(&b, "\"><span class=\"name\">");
			px_web_buf_html(&b, rn);
			px_web_buf_adds(&b, "</span> <span class=\"arn\">");
			px_web_buf_html(&b, arn);
			px_web_buf_adds(&b, "</span><div class=\"small\">path ");
			px_web_buf_html(&b, role_path(arn, pbuf, sizeof(pbuf)));
			px_web_buf_adds(&b, " &middot; account ");
			px_web_buf_html(&b, ra);
			px_web_buf_adds(&b, "</div><form method=\"post\" action=\"" WEB_PREFIX "/launch\">"
					    "<input type=\"hidden\" name=\"csrf\" value=\"");
			px_web_buf_html(&b, who->csrf);
			px_web_buf_adds(&b, "\"><input type=\"hidden\" name=\"app\" value=\"");
			px_web_buf_html(&b, name);
			px_web_buf_adds(&b, "\"><input type=\"hidden\" name=\"role\" value=\"");
			px_web_buf_html(&b, arn);
			px_web_buf_adds(&b, "\"><input type=\"text\" name=\"region\" placeholder=\"region (optional)\" "
					    "aria-label=\"Region\" size=\"14\" pattern=\"[a-z0-9-]*\">"
					    "<input type=\"text\" name=\"destination\" placeholder=\"console URL to open "
					    "(optional)\" aria-label=\"Destination\" size=\"34\">"
					    "<label class=\"small\"><input type=\"checkbox\" name=\"logout\" value=\"1\"> "
					    "end my other console session first</label>"
					    "<button type=\"submit\" class=\"launch\">Launch</button></form></li>");
		}
		px_web_buf_adds(&b, "</ul></section>");
	}
	if (nroles == 0)
		px_web_buf_adds(&b, "<div class=\"notice\" id=\"no-apps\"><h2>Nothing to launch</h2><p>You may use no "
				    "AWS app through this gate. Ask the gate's admin for a role.</p></div>");
	else
		px_web_buf_adds(&b, "<p id=\"nomatch\" hidden>No app or role matches.</p>"
				    "<p class=\"small\">A console session lasts as long as the gate's rules and your "
				    "certificate allow; when the gate's own AWS credentials are temporary (role "
				    "chaining) AWS ends it after one hour, and the gate says so before sending you on.</p>");
	page_end(&b);
	send_page(st, 200, &b, who, NULL, 0);
}

static void page_apps(struct px_stream *st, struct web_who *who)
{
	int64_t now = (int64_t)time(NULL);
	struct px_deny why;
	json_t *apps, *ev;
	size_t napps = 0;

	if (px_front_identity(st, now, &why) != 0) {
		if (strcmp(why.reason, "session-expired") == 0)
			clear_cookie(who);
		deny_page(st, NULL, &why, "You cannot use awsgate now", "Ask the gate's admin if this is unexpected.", who);
		return;
	}
	apps = px_apps_json(st, st->subject->s, now, &napps);
	if (apps == NULL) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return;
	}
	ev = px_front_audit_event(st, "apps.list");
	if (ev != NULL)
		json_object_set_new(ev, "apps", json_integer((json_int_t)napps));
	if (ev == NULL || px_audit(ev) != 0) {
		json_decref(ev);
		json_decref(apps);
		notice_page(st, 503, "audit-unavailable", "The gate cannot write its audit log",
			    "Nothing is shown, because every action here must be recorded.",
			    "Try again later, or tell the gate's admin.", who);
		return;
	}
	json_decref(ev);
	render_apps(st, apps, who);
	json_decref(apps);
}

/* GET /awsgate/web/link?t=TOKEN: a page whose form POSTs the token, so a
 * link scanner that GETs the URL does not use it up. */
static void page_link(struct px_stream *st, struct web_who *who)
{
	const char *q = strchr(st->path, '?');
	char token[PX_WEB_TOKEN_LEN + 2];
	struct px_web_buf b;

	if (q == NULL || px_web_form_get(q + 1, strlen(q + 1), "t", token, sizeof(token)) != 0 ||
	    strlen(token) != PX_WEB_TOKEN_LEN) {
		notice_page(st, 400, "web-link-malformed", "This sign-in link is not complete",
			    "The address lacks its token, or it was cut when copied.",
			    "Copy the whole link that awsgate web printed, or run it again.", who);
		return;
	}
	px_web_buf_init(&b, PX_WEB_MAX_PAGE);
	page_begin(&b, "Sign in", st, who);
	px_web_buf_adds(&b, "<div class=\"notice\" id=\"link\"><h2>Sign in to awsgate</h2><p>This one-time link "
			    "signs this browser in as the user who asked for it. It works once, for a minute.</p>"
			    "<form method=\"post\" action=\"" WEB_PREFIX "/link\"><input type=\"hidden\" name=\"t\" "
			    "value=\"");
	px_web_buf_html(&b, token);
	px_web_buf_adds(&b, "\"><button type=\"submit\" id=\"continue\">Continue</button></form></div>");
	page_end(&b);
	OPENSSL_cleanse(token, sizeof(token));
	send_page(st, 200, &b, who, NULL, 0);
}

static void page_signed_in(struct px_stream *st, struct web_who *who)
{
	struct px_header loc = {"location", WEB_PREFIX "/", 8, sizeof(WEB_PREFIX)};
	struct px_web_buf b;

	px_web_buf_init(&b, PX_WEB_MAX_PAGE);
	page_begin(&b, "Signed in", st, who);
	px_web_buf_adds(&b, "<p><a href=\"" WEB_PREFIX "/\">Your apps</a></p>");
	page_end(&b);
	send_page(st, 303, &b, who, &loc, 1);
}

/* POST /awsgate/web/link: uses the token and starts a session. */
static void post_link(struct px_stream *st, const char *body, size_t len, struct web_who *who)
{
	int64_t now = (int64_t)time(NULL);
	char token[PX_WEB_TOKEN_LEN + 2];
	struct px_web_ident *id = NULL;
	int rv;

	if (!same_origin(st)) {
		deny_simple(st, 403, "web-cross-origin", "Refused: not from this site",
			    "The sign-in form was sent from another site.", "Open the link awsgate web printed.", who);
		return;
	}
	rv = px_web_form_get(body, len, "t", token, sizeof(token));
	if (rv == 0)
		rv = px_web_link_take(px_srv->web, token, strlen(token), now, &id);
	OPENSSL_cleanse(token, sizeof(token));
	if (rv == PX_ERR_WEB_EXPIRED) {
		deny_simple(st, 401, "web-link-expired", "This sign-in link has expired",
			    "A link works for one minute after awsgate web made it.",
			    "Run awsgate web again and open the new link at once.", who);
		return;
	}
	if (rv != 0) {
		deny_simple(st, 403, "web-link-invalid", "This sign-in link cannot be used",
			    "It was used already (a link works once), or it was never issued by this gate.",
			    "Run awsgate web again for a new link. If you did not use this link, tell the gate's admin.",
			    who);
		return;
	}
	{
		/* A browser that held another session gives it up. */
		const char *v;
		size_t n;
		if (find_cookie(st, &v, &n) == 0)
			px_web_session_end(px_srv->web, v, n);
	}
	if (session_start(st, id, now, who, "link") != 0)
		return;
	page_signed_in(st, who);
}

static void post_signout(struct px_stream *st, const char *body, size_t len, struct web_who *who)
{
	char csrf[PX_WEB_TOKEN_LEN + 2];
	json_t *ev;
	int rv = px_web_form_get(body, len, "csrf", csrf, sizeof(csrf));

	if (rv != 0 || strlen(csrf) != PX_WEB_TOKEN_LEN || CRYPTO_memcmp(csrf, who->csrf, PX_WEB_TOKEN_LEN) != 0 ||
	    !same_origin(st)) {
		deny_simple(st, 403, "csrf-failed", "Refused: the form did not come from this page",
			    "Sign-out needs the token of your session's pages.", "Sign out from the awsgate page.", who);
		return;
	}
	px_web_session_end(px_srv->web, who->sid, strlen(who->sid));
	ev = px_front_audit_event(st, "web.signout");
	if (ev == NULL || px_audit(ev) != 0) {
		/* The session is gone either way: the user asked for it. */
		PX_SLOG(st, PX_LOG_WARN, "%s", "web.signout could not be audited");
	}
	json_decref(ev);
	who->sid[0] = '\0';
	clear_cookie(who);
	notice_page(st, 200, "signed-out", "You are signed out of awsgate",
		    "This browser's awsgate session has ended. AWS console sessions you opened go on until they "
		    "expire or you sign out of the console.",
		    "Run awsgate web to sign in again.", who);
}

/* --- launch ----------------------------------------------------------------------- */

static void launch_ok(struct px_stream *st, const struct px_console_done *res)
{
	size_t ulen = strlen(res->url);
	struct px_header loc = {"location", res->url, 8, ulen};
	struct px_web_buf b;
	char line[256];

	if (!res->chaining_capped) {
		web_send(st, 302, "text/html; charset=utf-8", "", 0, &loc, 1);
		return;
	}
	/* AWS ends a role-chained console session after an hour: say so
	 * before sending the user on. */
	px_web_buf_init(&b, PX_WEB_MAX_PAGE);
	page_begin(&b, "Launching the AWS console", st, NULL);
	px_web_buf_adds(&b, "<div class=\"notice\" id=\"chaining-capped\"><h2>Your console session will last one "
			    "hour</h2><p>");
	snprintf(line, sizeof(line), "The gate's own AWS credentials are temporary, so AWS caps this console "
				     "session (role chaining) at %lld minutes.",
		 (long long)(res->session_duration / 60));
	px_web_buf_html(&b, line);
	px_web_buf_adds(&b, "</p><p><a id=\"go\" href=\"");
	px_web_buf_html(&b, res->url);
	px_web_buf_adds(&b, "\">Continue to the AWS console</a></p></div>");
	page_end(&b);
	send_page(st, 200, &b, NULL, NULL, 0); /* wipes the page */
}

static void launch_fail(struct px_stream *st, int status, const char *reason, const char *msg)
{
	const char *title = "The launch was refused", *todo = "Ask the gate's admin if you need this role.";

	if (status == 503 || status == 502 || status == 504) {
		title = "AWS did not answer";
		todo = "Nothing is wrong with your access; try again in a minute. If it persists, tell the gate's admin.";
	} else if (status == 401) {
		title = "Your session is too short";
		todo = "Log in again (awsgate login), then run awsgate web.";
	} else if (status == 400) {
		title = "The launch form is not right";
		todo = "Check the region (like eu-west-1) and that the destination is a URL on the AWS console.";
	}
	notice_page(st, status, reason, title, msg, todo, NULL);
}

static const struct px_console_web launch_cb = {launch_ok, launch_fail};

static void post_launch(struct px_stream *st, const char *body, size_t len, struct web_who *who)
{
	char csrf[PX_WEB_TOKEN_LEN + 2], app[PX_WEB_MAX_FIELD], role[PX_WEB_MAX_FIELD], region[64],
		dest[PX_WEB_MAX_FIELD], logout[8], issuer[600];
	int rv = px_web_form_get(body, len, "csrf", csrf, sizeof(csrf));
	json_t *in;

	if (rv != 0 || strlen(csrf) != PX_WEB_TOKEN_LEN || CRYPTO_memcmp(csrf, who->csrf, PX_WEB_TOKEN_LEN) != 0) {
		deny_simple(st, 403, "csrf-failed", "Refused: the form did not come from your awsgate page",
			    "The launch lacked your session's token. Nothing was launched; this was recorded.",
			    "Launch from the list of your apps.", who);
		return;
	}
	if (!same_origin(st)) {
		deny_simple(st, 403, "web-cross-origin", "Refused: not from this site",
			    "The launch came from another site. Nothing was launched; this was recorded.",
			    "Launch from the list of your apps.", who);
		return;
	}
	if (px_web_form_get(body, len, "app", app, sizeof(app)) != 0 ||
	    px_web_form_get(body, len, "role", role, sizeof(role)) != 0) {
		deny_simple(st, 400, "web-bad-form", "The launch form is not complete",
			    "It must name one app and one role.", "Launch from the list of your apps.", who);
		return;
	}
	rv = px_web_form_get(body, len, "region", region, sizeof(region));
	if (rv == PX_ERR_WEB_MISSING)
		region[0] = '\0';
	if (rv == 0 || rv == PX_ERR_WEB_MISSING)
		rv = px_web_form_get(body, len, "destination", dest, sizeof(dest));
	if (rv == PX_ERR_WEB_MISSING) {
		dest[0] = '\0';
		rv = 0;
	}
	if (rv == 0) {
		rv = px_web_form_get(body, len, "logout", logout, sizeof(logout));
		if (rv == PX_ERR_WEB_MISSING) {
			logout[0] = '\0';
			rv = 0;
		}
	}
	if (rv != 0) {
		deny_simple(st, 400, "web-bad-form", "The launch form is not right",
			    "A field is malformed or too long (region, destination).", "Launch from the list of your apps.",
			    who);
		return;
	}
	/* Where the console's sign-out sends the user: back to this UI. */
	snprintf(issuer, sizeof(issuer), "https://%.512s" WEB_PREFIX "/",
		 st->gen->cfg->public_addr != NULL ? st->gen->cfg->public_addr
						    : st->authority != NULL ? st->authority : "localhost");
	in = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "app", app, "role", role, "region", region, "destination", dest,
		       "issuer", issuer, "logout", logout[0] == '1');
	if (in == NULL) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return;
	}
	/* RBAC decides again here with the session's identity: a role edited
	 * into the form is refused and audited like any other. */
	px_gateapi_console_web(st, in, &launch_cb);
}

/* --- dispatch ------------------------------------------------------------------------ */

struct web_post {
	char *body;
	size_t len;
	bool too_large;
};

static void web_post_run(struct px_stream *st, const char *body, size_t len, bool too_large)
{
	int64_t now = (int64_t)time(NULL);
	struct web_who who;
	int rv;

	memset(&who, 0, sizeof(who));
	if (too_large) {
		notice_page(st, 413, "web-form-too-large", "The form is too large",
			    "A form of this site is a few hundred bytes.", "Go back and try again.", NULL);
		return;
	}
	if (path_is(st, WEB_PREFIX "/link")) {
		post_link(st, body, len, &who);
		goto out;
	}
	rv = web_identify(st, now, false, &who);
	if (rv < 0)
		goto out;
	if (rv == 0) {
		need_signin(st, &who);
		goto out;
	}
	if (path_is(st, WEB_PREFIX "/launch"))
		post_launch(st, body, len, &who);
	else if (path_is(st, WEB_PREFIX "/signout"))
		post_signout(st, body, len, &who);
	else
		notice_page(st, 404, "not-found", "No such page", "This address is not part of awsgate's web UI.", NULL,
			    &who);
out:
	who_wipe(&who);
}

static void web_body(struct px_stream *st, const unsigned char *data, size_t len)
{
	struct web_post *p = st->harg;

	px_stream_consume(st, len);
	if (p->too_large)
		return;
	if (p->len + len > PX_WEB_MAX_FORM) {
		p->too_large = true;
		return;
	}
	memcpy(p->body + p->len, data, len);
	p->len += len;
}

static void web_post_free(struct px_stream *st)
{
	struct web_post *p = st->harg;

	if (p == NULL)
		return;
	if (p->body != NULL)
		OPENSSL_cleanse(p->body, PX_WEB_MAX_FORM);
	free(p->body);
	free(p);
	st->harg = NULL;
	st->h = NULL;
}

static void web_body_end(struct px_stream *st)
{
	struct web_post *p = st->harg;
	char *body = p->body;
	size_t len = p->len;
	bool too_large = p->too_large;

	/* The handler is dropped first: a launch installs gateapi's. */
	p->body = NULL;
	web_post_free(st);
	if (!st->resp_started)
		web_post_run(st, body, len, too_large);
	OPENSSL_cleanse(body, PX_WEB_MAX_FORM);
	free(body);
}

static const struct px_stream_handler web_post_handler = {
	.on_body = web_body,
	.on_body_end = web_body_end,
	.on_close = web_post_free,
};

void px_web_dispatch(struct px_stream *st)
{
	int64_t now = (int64_t)time(NULL);
	struct web_who who;
	int rv;

	st->route = PX_ROUTE_WEB;
	if (px_srv == NULL || px_srv->web == NULL) {
		px_stream_error(st, 503, "not-ready", "the web UI is not started; try another instance");
		return;
	}
	if (strcmp(st->method, "POST") == 0) {
		struct web_post *p = calloc(1, sizeof(*p));
		if (p == NULL || (p->body = malloc(PX_WEB_MAX_FORM)) == NULL) {
			free(p);
			px_stream_error(st, 500, "internal", "out of memory; try again");
			return;
		}
		st->h = &web_post_handler;
		st->harg = p;
		if (st->content_length > PX_WEB_MAX_FORM)
			p->too_large = true;
		if (!st->has_body || st->body_done) {
			web_body_end(st);
			return;
		}
		px_stream_continue(st);
		return;
	}
	if (strcmp(st->method, "GET") != 0 && strcmp(st->method, "HEAD") != 0) {
		px_stream_error(st, 405, "method-not-allowed", "the web UI answers GET, HEAD and its forms' POST");
		return;
	}
	if (path_is(st, WEB_PREFIX "/app.js")) {
		web_send(st, 200, "text/javascript; charset=utf-8", px_web_app_js, px_web_app_js_len, NULL, 0);
		return;
	}
	if (path_is(st, WEB_PREFIX "/app.css")) {
		web_send(st, 200, "text/css; charset=utf-8", px_web_app_css, px_web_app_css_len, NULL, 0);
		return;
	}
	memset(&who, 0, sizeof(who));
	if (path_is(st, WEB_PREFIX)) {
		struct px_header loc = {"location", WEB_PREFIX "/", 8, sizeof(WEB_PREFIX)};
		web_send(st, 308, "text/plain", "", 0, &loc, 1);
	} else if (path_is(st, WEB_PREFIX "/link")) {
		page_link(st, &who);
	} else if (path_is(st, WEB_PREFIX "/")) {
		rv = web_identify(st, now, true, &who);
		if (rv == 0)
			need_signin(st, &who);
		else if (rv > 0)
			page_apps(st, &who);
	} else {
		notice_page(st, 404, "not-found", "No such page", "This address is not part of awsgate's web UI.",
			    "Open the list of your apps at " WEB_PREFIX "/.", NULL);
	}
	who_wipe(&who);
}

/* --- POST /awsgate/v1/web-link -------------------------------------------------------- */

void px_web_link_route(struct px_stream *st)
{
	int64_t now = (int64_t)time(NULL);
	const struct px_config *cfg = st->gen->cfg;
	char token[PX_WEB_TOKEN_LEN + 1], exp[32], *text;
	struct px_web_ident *id = NULL;
	struct px_deny why;
	const char *host;
	int64_t ttl = cfg->web.link_ttl, end;
	json_t *ev;
	size_t n;
	int rv;

	st->route = PX_ROUTE_WEB_LINK;
	if (px_srv == NULL || px_srv->web == NULL) {
		px_stream_error(st, 503, "not-ready", "the web UI is not started; try another instance");
		return;
	}
	if (px_front_identity(st, now, &why) != 0) {
		if (px_front_audit_deny(st, NULL, &why) != 0)
			px_stream_error(st, 503, "audit-unavailable", "the audit log cannot be written; try again later");
		else
			px_stream_error(st, why.status, why.reason, why.msg);
		return;
	}
	if (px_web_ident_new(&st->conn->ident, &id) != 0) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return;
	}
	rv = px_web_link_new(px_srv->web, id, now, ttl, token);
	px_web_ident_unref(id);
	if (rv != 0) {
		why.status = 503;
		why.reason = "web-links-full";
		snprintf(why.msg, sizeof(why.msg), "%s",
			 rv == PX_ERR_WEB_FULL ? "the gate holds as many unused sign-in links as it may; try again in a minute"
					       : "cannot make a sign-in link; try again");
		if (px_front_audit_deny(st, NULL, &why) != 0)
			px_stream_error(st, 503, "audit-unavailable", "the audit log cannot be written; try again later");
		else
			px_stream_error(st, why.status, why.reason, why.msg);
		return;
	}
	end = now + ttl;
	if (st->conn->ident.not_after != 0 && st->conn->ident.not_after < end)
		end = st->conn->ident.not_after;
	rbac_time_format(end, exp, sizeof(exp));
	ev = px_front_audit_event(st, "web.link");
	if (ev != NULL) {
		json_object_set_new(ev, "expires", json_string(exp));
		json_object_set_new(ev, "status", json_integer(200));
	}
	if (ev == NULL || px_audit(ev) != 0) {
		json_decref(ev);
		OPENSSL_cleanse(token, sizeof(token));
		px_stream_error(st, 503, "audit-unavailable", "the audit log cannot be written; try again later");
		return;
	}
	json_decref(ev);
	/* The link's host: the gate's public address, else the one the client
	 * used; only characters a host:port may hold are accepted. */
	host = cfg->public_addr != NULL ? cfg->public_addr : st->authority;
	if (host == NULL || *host == '\0' || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						    "0123456789.-:[]") != strlen(host) || strlen(host) > 300) {
		OPENSSL_cleanse(token, sizeof(token));
		px_stream_error(st, 400, "bad-host", "the request's Host is not a host name; set public_addr in the gate's file");
		return;
	}
	n = strlen(host) + PX_WEB_TOKEN_LEN + 256;
	text = malloc(n);
	if (text == NULL) {
		OPENSSL_cleanse(token, sizeof(token));
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return;
	}
	/* The token is a secret: spliced by hand and wiped, never held by jansson. */
	snprintf(text, n, "{\"url\":\"https://%s" WEB_PREFIX "/link?t=%s\",\"expires\":\"%s\",\"expires_in\":%lld}", host,
		 token, exp, (long long)(end - now));
	px_stream_reply(st, 200, "application/json", text, strlen(text), NULL, 0);
	OPENSSL_cleanse(text, n);
	OPENSSL_cleanse(token, sizeof(token));
	free(text);
}
