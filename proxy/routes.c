/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c: the gate's own routes: /healthz, /readyz and /awsgate/v1/apps (docs/API.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "front.h"
#include "server.h"

static int path_is(const struct px_stream *st, const char *want)
{
	size_t n = strlen(want);
	const char *p = st->path;

	/* The query does not choose the route. */
	return strncmp(p, want, n) == 0 && (p[n] == 0 || p[n] == '?');
}

static int method_ok(struct px_stream *st)
{
	if (strcmp(st->method, "GET") == 0 || strcmp(st->method, "HEAD") == 0)
		return 1;
	px_stream_error(st, 405, "method-not-allowed", "this path answers GET and HEAD only");
	return 0;
}

/* Audits a denial, then sends it. */
static void deny(struct px_stream *st, int status, const char *reason, const char *msg)
{
	struct px_deny d;

	d.status = status;
	d.reason = reason;
	snprintf(d.msg, sizeof(d.msg), "%s", msg);
	if (px_front_audit_deny(st, NULL, &d) != 0) {
		px_stream_error(st, 503, "audit-unavailable",
				"the audit log cannot be written; try again later or ask the gate's admin");
		return;
	}
	px_stream_error(st, status, reason, msg);
}

/* The lock that applies to the subject now, or NULL. Locks are read per
 * request from the current policy, so a new lock file stops a
 * connection's next request (docs/SERVER.md). */
const char *px_lock_applies(struct px_stream *st, const struct rbac_subject *s, int64_t now, const char **msg)
{
	struct rbac_lock_info li;
	const char *user = rbac_subject_user(s);

	for (size_t i = 0; rbac_policy_lock_at(st->gen->pol, i, &li) == 0; i++) {
		if (li.expires != 0 && li.expires <= now)
			continue;
		if (li.user != NULL && strcmp(li.user, user) == 0) {
			*msg = li.message;
			return li.name;
		}
		if (li.role != NULL)
			for (size_t j = 0; rbac_subject_role_at(s, j) != NULL; j++)
				if (strcmp(rbac_subject_role_at(s, j), li.role) == 0) {
					*msg = li.message;
					return li.name;
				}
	}
	return NULL;
}

static int role_cmp(const void *a, const void *b)
{
	const struct rbac_role_choice *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r ? r : strcmp(x->arn, y->arn);
}

json_t *px_apps_json(struct px_stream *st, struct rbac_subject *s, int64_t now, size_t *napps)
{
	int state;
	const struct rbac_identity *id = px_stream_identity(st, &state);
	json_t *root = json_object(), *apps = json_array();
	struct rbac_role_choice *roles = calloc(PX_MAX_APPS_ROLES, sizeof(*roles));
	char exp[32];
	const struct rbac_app *app;

	*napps = 0;
	if (root == NULL || apps == NULL || roles == NULL || id == NULL)
		goto fail;
	json_object_set_new(root, "user", json_string(id->user));
	if (id->not_after != 0) {
		rbac_time_format(id->not_after, exp, sizeof(exp));
		json_object_set_new(root, "expires", json_string(exp));
	} else {
		json_object_set_new(root, "expires", json_null());
	}
	for (size_t i = 0; (app = rbac_policy_app_at(st->gen->pol, i)) != NULL; i++) {
		struct rbac_app_info info;
		size_t n = 0;
		json_t *a, *labels, *ra;
		const char *k, *v;

		if (rbac_subject_roles(s, app, now, roles, PX_MAX_APPS_ROLES, &n) != 0)
			goto fail;
		if (n == 0)
			continue; /* an app with no role the caller may use is not the caller's */
		if (n > PX_MAX_APPS_ROLES) {
			PX_SLOG(st, PX_LOG_WARN, "user %s has %zu roles in an app; listing %d", id->user, n,
				PX_MAX_APPS_ROLES);
			n = PX_MAX_APPS_ROLES;
		}
		qsort(roles, n, sizeof(*roles), role_cmp);
		rbac_app_info(app, &info);
		a = json_object();
		labels = json_object();
		ra = json_array();
		if (a == NULL || labels == NULL || ra == NULL) {
			json_decref(a);
			json_decref(labels);
			json_decref(ra);
			goto fail;
		}
		for (size_t j = 0; rbac_app_label_at(app, j, &k, &v) == 0; j++)
			json_object_set_new(labels, k, json_string(v));
		json_object_set_new(a, "name", json_string(info.name));
		json_object_set_new(a, "labels", labels);
		json_object_set_new(a, "aws_account_id", info.account_id ? json_string(info.account_id) : json_null());
		json_object_set_new(a, "public_addr", info.public_addr ? json_string(info.public_addr) : json_null());
		json_object_set_new(a, "console_url", info.uri ? json_string(info.uri) : json_null());
		for (size_t j = 0; j < n; j++)
			json_array_append_new(ra, json_pack("{s:s,s:s,s:s}", "name", roles[j].name, "arn", roles[j].arn,
							    "account_id", roles[j].account));
		json_object_set_new(a, "roles", ra);
		json_array_append_new(apps, a);
		(*napps)++;
	}
	json_object_set_new(root, "apps", apps);
	free(roles);
	return root;
fail:
	free(roles);
	json_decref(apps);
	json_decref(root);
	return NULL;
}

static void route_apps(struct px_stream *st)
{
	struct px_conn *c = st->conn;
	int64_t now = (int64_t)time(NULL);
	const char *lock, *lmsg = NULL;
	json_t *body, *ev;
	char *text;
	size_t napps;
	char msg[512];

	if (c->has_ident == 0) {
		deny(st, 401, "certificate-required",
		     "this route needs a client certificate: log in (awsgate login) and present your certificate");
		return;
	}
	if (c->has_ident < 0) {
		deny(st, 401, "certificate-invalid",
		     "the client certificate names no usable user: ask the gate's admin for a new one");
		return;
	}
	if (c->ident.not_after != 0 && now >= c->ident.not_after) {
		deny(st, 401, "certificate-expired", "the client certificate has expired: log in again");
		return;
	}
	st->subject = px_conn_subject(c, st->gen);
	if (st->subject == NULL) {
		deny(st, 403, "identity-invalid",
		     "the certificate's identity cannot be used with the current policy; the gate's log says why");
		return;
	}
	lock = px_lock_applies(st, st->subject->s, now, &lmsg);
	if (lock != NULL) {
		snprintf(msg, sizeof(msg), "access is locked (lock %s)%s%s; ask the gate's admin", lock,
			 lmsg && *lmsg ? ": " : "", lmsg ? lmsg : "");
		deny(st, 403, "locked", msg);
		return;
	}
	body = px_apps_json(st, st->subject->s, now, &napps);
	text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (text == NULL) {
		px_stream_error(st, 500, "internal", "out of memory; try again");
		return;
	}
	ev = px_front_audit_event(st, "apps.list");
	if (ev != NULL) {
		json_object_set_new(ev, "apps", json_integer((json_int_t)napps));
		json_object_set_new(ev, "status", json_integer(200));
	}
	if (ev == NULL || px_audit(ev) != 0) {
		json_decref(ev);
		free(text);
		px_stream_error(st, 503, "audit-unavailable",
				"the audit log cannot be written; try again later or ask the gate's admin");
		return;
	}
	json_decref(ev);
	px_stream_reply(st, 200, "application/json", text, strlen(text), NULL, 0);
	free(text);
}

static void route(struct px_stream *st);

/* The gate's routes take no body. One that comes anyway is read and
 * dropped before answering, so that its framing is checked (a bad chunk is
 * a 400, not whatever the route says) and the connection can be kept; past
 * PX_GATE_MAX_BODY the answer is 413 at once. */
#define PX_GATE_MAX_BODY 65536

static void drain_body(struct px_stream *st, const unsigned char *data, size_t len)
{
	(void)data;
	px_stream_consume(st, len);
	st->harg = (void *)((uintptr_t)st->harg + len);
	if ((uintptr_t)st->harg > PX_GATE_MAX_BODY && !st->resp_started) {
		st->route = PX_ROUTE_NOT_FOUND;
		px_stream_error(st, 413, "body-too-large", "the gate's own routes take no request body");
	}
}

static void drain_end(struct px_stream *st)
{
	if (!st->resp_started)
		route(st);
}

static const struct px_stream_handler drain_handler = {
	.on_body = drain_body,
	.on_body_end = drain_end,
};

static int is_post_route(const struct px_stream *st)
{
	return st->method != NULL && st->path != NULL && strcmp(st->method, "POST") == 0 &&
	       (path_is(st, "/awsgate/v1/console") || path_is(st, "/awsgate/v1/presign"));
}

void px_route_dispatch(struct px_stream *st)
{
	/* X-Forwarded-Host makes a request an AWS API request, whatever its
	 * path: an S3 bucket may be called "healthz" (docs/API.md). */
	if (px_stream_header(st, "x-forwarded-host") != NULL && st->method != NULL && st->path != NULL &&
	    st->path[0] == '/') {
		px_api_dispatch(st);
		return;
	}
	if (st->method != NULL && st->path != NULL && strncmp(st->path, "/awsgate/web", 12) == 0 &&
	    (st->path[12] == '\0' || st->path[12] == '/' || st->path[12] == '?') && strcmp(st->method, "POST") == 0) {
		px_web_dispatch(st); /* reads the form itself */
		return;
	}
	if (is_post_route(st)) {
		st->route = path_is(st, "/awsgate/v1/console") ? PX_ROUTE_CONSOLE : PX_ROUTE_PRESIGN;
		px_gateapi_dispatch(st);
		return;
	}
	if (st->has_body && !st->body_done && !st->expect_continue) {
		st->h = &drain_handler;
		st->harg = NULL;
		return;
	}
	route(st);
}

static void route(struct px_stream *st)
{
	if (st->method == NULL || st->path == NULL || st->path[0] != '/') {
		st->route = PX_ROUTE_NOT_FOUND;
		px_stream_error(st, 400, "bad-request", "the request has no method or no absolute path");
		return;
	}
	if (path_is(st, "/healthz")) {
		st->route = PX_ROUTE_HEALTHZ;
		if (method_ok(st))
			px_stream_reply(st, 200, "text/plain", "ok", 2, NULL, 0);
		return;
	}
	if (path_is(st, "/readyz")) {
		st->route = PX_ROUTE_READYZ;
		if (!method_ok(st))
			return;
		if (__atomic_load_n(&px_srv->ready, __ATOMIC_RELAXED) && !__atomic_load_n(&px_srv->draining, __ATOMIC_RELAXED))
			px_stream_reply(st, 200, "text/plain", "ready", 5, NULL, 0);
		else
			px_stream_error(st, 503, "not-ready", "the gate is starting or stopping; try another instance");
		return;
	}
	if (path_is(st, "/awsgate/v1/apps")) {
		st->route = PX_ROUTE_APPS;
		if (method_ok(st))
			route_apps(st);
		return;
	}
	if (strncmp(st->path, "/awsgate/web", 12) == 0 &&
	    (st->path[12] == '\0' || st->path[12] == '/' || st->path[12] == '?')) {
		px_web_dispatch(st);
		return;
	}
	if (path_is(st, "/awsgate/v1/web-link")) {
		st->route = PX_ROUTE_WEB_LINK;
		if (strcmp(st->method, "POST") == 0) {
			px_web_link_route(st);
		} else {
			static const char body[] = "{\"error\":\"method-not-allowed\",\"message\":\"this path answers POST "
						   "(docs/API.md)\"}";
			struct px_header h[2] = {{"allow", "POST", 5, 4}, {"x-awsgate-error", "method-not-allowed", 15, 18}};
			px_stream_reply(st, 405, "application/json", body, sizeof(body) - 1, h, 2);
		}
		return;
	}
	if (path_is(st, "/awsgate/v1/console") || path_is(st, "/awsgate/v1/presign")) {
		struct px_header allow = {"allow", "POST", 5, 4};
		static const char body[] = "{\"error\":\"method-not-allowed\",\"message\":\"this path answers POST "
					   "with a JSON body (docs/API.md)\"}";
		struct px_header h[2] = {allow, {"x-awsgate-error", "method-not-allowed", 15, 18}};
		st->route = path_is(st, "/awsgate/v1/console") ? PX_ROUTE_CONSOLE : PX_ROUTE_PRESIGN;
		px_stream_reply(st, 405, "application/json", body, sizeof(body) - 1, h, 2);
		return;
	}
	st->route = PX_ROUTE_NOT_FOUND;
	px_stream_error(st, 404, "not-found",
			"no such path; the gate's API is under /awsgate/v1/, and AWS API requests carry X-Forwarded-Host "
			"(docs/API.md)");
}
