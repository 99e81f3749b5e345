/* SPDX-License-Identifier: Apache-2.0 */
/* front.c: the front half of a gate request: identity, app and role, RBAC decision, and the role's credentials (docs/SERVER.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front.h"

static void refuse(struct px_deny *why, int status, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void refuse(struct px_deny *why, int status, const char *reason, const char *fmt, ...)
{
	va_list ap;

	why->status = status;
	why->reason = reason;
	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
}

const struct rbac_identity *px_stream_identity(const struct px_stream *st, int *state)
{
	if (st->web_ident != NULL) {
		*state = 1;
		return &st->web_ident->id;
	}
	*state = st->conn->has_ident;
	return st->conn->has_ident == 1 ? &st->conn->ident : NULL;
}

json_t *px_front_audit_event(struct px_stream *st, const char *event)
{
	struct px_conn *c = st->conn;
	json_t *ev = json_object();
	int state;
	const struct rbac_identity *id = px_stream_identity(st, &state);

	if (ev == NULL)
		return NULL;
	json_object_set_new(ev, "event", json_string(event));
	json_object_set_new(ev, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(ev, "stream", json_integer(st->id));
	if (id != NULL)
		json_object_set_new(ev, "user", json_string(id->user));
	if (c->peer[0])
		json_object_set_new(ev, "client", json_string(c->peer));
	json_object_set_new(ev, "method", json_string(st->method));
	/* The path only: a query may carry a presigned URL's signature. */
	json_object_set_new(ev, "path", json_stringn(st->path, strcspn(st->path, "?")));
	return ev;
}

void px_front_audit_begin(struct px_stream *st, struct px_jw *w, const char *event)
{
	struct px_conn *c = st->conn;
	int state;
	const struct rbac_identity *id = px_stream_identity(st, &state);

	/* The same members, in the same order, as px_front_audit_event(). */
	px_jw_init(w);
	px_jw_str(w, "event", event);
	px_jw_int(w, "conn", (int64_t)c->id);
	px_jw_int(w, "stream", st->id);
	if (id != NULL)
		px_jw_str(w, "user", id->user);
	if (c->peer[0])
		px_jw_str(w, "client", c->peer);
	px_jw_str(w, "method", st->method);
	px_jw_strn(w, "path", st->path, strcspn(st->path, "?"));
}

json_t *px_front_deny_event(struct px_stream *st, const struct px_choice *ch, const struct px_deny *why)
{
	json_t *ev = px_front_audit_event(st, "request.denied");

	if (ev == NULL)
		return NULL;
	json_object_set_new(ev, "status", json_integer(why->status));
	json_object_set_new(ev, "reason", json_string(why->reason));
	json_object_set_new(ev, "message", json_string(why->msg));
	if (ch != NULL && ch->app != NULL)
		json_object_set_new(ev, "app", json_string(ch->info.name));
	if (ch != NULL && ch->role_arn != NULL)
		json_object_set_new(ev, "role_arn", json_string(ch->role_arn));
	return ev;
}

int px_front_audit_deny(struct px_stream *st, const struct px_choice *ch, const struct px_deny *why)
{
	json_t *ev = px_front_deny_event(st, ch, why);
	int rv;

	if (ev == NULL)
		return 0;
	rv = px_audit(ev);
	json_decref(ev);
	PX_SLOG(st, PX_LOG_INFO, "denied %d %s", why->status, why->reason);
	return rv;
}

static void web_subject_warn(void *arg, const struct rbac_diag *d)
{
	struct px_stream *st = arg;
	PX_SLOG(st, PX_LOG_DEBUG, "subject %s: %s: %s", st->web_ident->id.user, d->path, d->msg);
}

/* The subject of the web session's identity snapshot under the stream's
 * generation, built per request (a page view or a launch, not the API's
 * hot path), so a policy reload applies at once. */
static struct px_subject *web_subject(struct px_stream *st)
{
	struct px_subject *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if (rbac_subject_new(st->gen->pol, &st->web_ident->id, &s->s, web_subject_warn, st) != 0) {
		free(s);
		return NULL;
	}
	s->refs = 1;
	return s;
}

int px_front_identity(struct px_stream *st, int64_t now, struct px_deny *why)
{
	struct px_conn *c = st->conn;
	const char *lock, *lmsg = NULL;
	int state;
	const struct rbac_identity *id = px_stream_identity(st, &state);

	if (st->web_ident != NULL) {
		if (id->not_after != 0 && now >= id->not_after) {
			refuse(why, 401, "session-expired",
			       "your web session ended with your certificate: log in again and open a new link (awsgate web)");
			return -1;
		}
		if (st->subject == NULL)
			st->subject = web_subject(st);
		goto subject;
	}
	if (c->has_ident == 0) {
		refuse(why, 401, "certificate-required",
		       "this route needs a client certificate: log in (awsgate login) and present your certificate");
		return -1;
	}
	if (c->has_ident < 0) {
		refuse(why, 401, "certificate-invalid",
		       "the client certificate names no usable user: ask the gate's admin for a new one");
		return -1;
	}
	if (c->ident.not_after != 0 && now >= c->ident.not_after) {
		refuse(why, 401, "certificate-expired", "the client certificate has expired: log in again");
		return -1;
	}
	if (st->subject == NULL)
		st->subject = px_conn_subject(c, st->gen);
subject:
	if (st->subject == NULL) {
		refuse(why, 403, "identity-invalid",
		       "the certificate's identity cannot be used with the current policy; the gate's log says why");
		return -1;
	}
	lock = px_lock_applies(st, st->subject->s, now, &lmsg);
	if (lock != NULL) {
		refuse(why, 403, "locked", "access is locked (lock %s)%s%s; ask the gate's admin", lock,
		       lmsg && *lmsg ? ": " : "", lmsg ? lmsg : "");
		return -1;
	}
	return 0;
}

/* Appends ", name" to |buf| of |size| bytes (cut with "..." when full). */
static void list_add(char *buf, size_t size, const char *name)
{
	size_t n = strlen(buf);

	if (n + strlen(name) + 8 >= size) {
		if (n + 5 < size && (n < 3 || strcmp(buf + n - 3, "...") != 0))
			snprintf(buf + n, size - n, ", ...");
		return;
	}
	snprintf(buf + n, size - n, "%s%s", n ? ", " : "", name);
}

/* The |field|th ':'-separated field of |arn| (0-based) into the arena, or NULL. */
static const char *arn_field(struct px_stream *st, const char *arn, int field)
{
	const char *p = arn;

	for (int i = 0; i < field; i++) {
		p = strchr(p, ':');
		if (p == NULL)
			return NULL;
		p++;
	}
	return px_arena_strndup(&st->arena, p, strcspn(p, ":"));
}

/* Does |want| name a role |s| may use in |app|? */
static int app_has_role(struct rbac_subject *s, const struct rbac_app *app, const char *want, int64_t now)
{
	const char *arn = NULL;
	struct rbac_diag diag;
	struct rbac_decision d;

	if (rbac_subject_choose(s, app, want, now, &arn, &diag) != 0)
		return 0;
	rbac_decide(s, app, arn, strlen(arn), now, &d);
	return d.allow;
}

/* The app of the request when none was named: the only one the user has,
 * or with |role|, the only one where that role may be used. */
static const struct rbac_app *choose_app(struct px_stream *st, struct rbac_subject *s, const char *role, int64_t now,
					 struct px_deny *why)
{
	const struct rbac_app *app, *found = NULL, *only = NULL;
	struct rbac_role_choice rc[1];
	size_t nfound = 0, nmine = 0, n;
	char list[768] = "", mine[768] = "";
	struct rbac_app_info info;

	for (size_t i = 0; (app = rbac_policy_app_at(st->gen->pol, i)) != NULL; i++) {
		if (rbac_subject_roles(s, app, now, rc, 1, &n) != 0) {
			refuse(why, 500, "internal", "out of memory; try again");
			return NULL;
		}
		rbac_app_info(app, &info);
		if (n > 0) {
			nmine++;
			only = app;
			list_add(mine, sizeof(mine), info.name);
		}
		if (role != NULL && app_has_role(s, app, role, now)) {
			nfound++;
			found = app;
			list_add(list, sizeof(list), info.name);
		}
	}
	if (role != NULL && nfound == 1)
		return found;
	if (role != NULL && nfound > 1) {
		refuse(why, 400, "choose-app",
		       "role %s may be used in several apps: %s; name one with X-Awsgate-App or \"app\"", role, list);
		return NULL;
	}
	if (nmine == 1)
		return only; /* the decision on the role says why it is refused, if it is */
	if (nmine == 0) {
		refuse(why, 403, "no-apps",
		       "you may use no app through this gate; ask the gate's admin for a role (GET /awsgate/v1/apps lists yours)");
		return NULL;
	}
	if (role != NULL)
		refuse(why, 403, "role-not-allowed", "role %s is allowed in none of your apps (%s)", role, mine);
	else
		refuse(why, 400, "choose-app", "you may use several apps: %s; name one with X-Awsgate-App or \"app\"",
		       mine);
	return NULL;
}

int px_front_choose(struct px_stream *st, const char *app, const char *role, int64_t now, struct px_choice *out,
		    struct px_deny *why)
{
	struct rbac_subject *s = st->subject->s;
	struct px_choice ch;
	struct rbac_diag diag;
	const char *arn = NULL;
	int rv;

	memset(&ch, 0, sizeof(ch));
	ch.now = now;
	if (role != NULL && *role == '\0')
		role = NULL;
	if (app != NULL && *app != '\0') {
		ch.app = rbac_policy_app(st->gen->pol, app, strlen(app));
		if (ch.app == NULL) {
			refuse(why, 403, "unknown-app",
			       "there is no app named '%.128s' you may use; GET /awsgate/v1/apps lists yours", app);
			return -1;
		}
	} else {
		ch.app = choose_app(st, s, role, now, why);
		if (ch.app == NULL)
			return -1;
	}
	rbac_app_info(ch.app, &ch.info);
	memset(&diag, 0, sizeof(diag));
	rv = rbac_subject_choose(s, ch.app, role, now, &arn, &diag);
	if (rv == RBAC_ERR_AMBIGUOUS) {
		refuse(why, 400, "choose-role", "app %s: name a role with X-Awsgate-Role or \"role\": %s", ch.info.name,
		       diag.msg);
		return -1;
	}
	if (rv != 0) {
		refuse(why, 403, "role-not-allowed", "app %s: %s", ch.info.name, diag.msg);
		return -1;
	}
	ch.role_arn = px_arena_strndup(&st->arena, arn, strlen(arn));
	if (ch.role_arn == NULL) {
		refuse(why, 500, "internal", "out of memory; try again");
		return -1;
	}
	rbac_decide(s, ch.app, ch.role_arn, strlen(ch.role_arn), now, &ch.d);
	if (!ch.d.allow) {
		char text[1024];
		rbac_decision_explain(&ch.d, s, ch.app, ch.role_arn, text, sizeof(text));
		refuse(why, 403, rbac_reason_str(ch.d.reason), "%s", text);
		*out = ch; /* for the audit */
		return -1;
	}
	ch.partition = arn_field(st, ch.role_arn, 1);
	ch.account = arn_field(st, ch.role_arn, 4);
	if (ch.partition == NULL || ch.account == NULL) {
		refuse(why, 403, "bad-arn", "%s is not an IAM role ARN", ch.role_arn);
		return -1;
	}
	ch.user_left_s = ch.d.session_ttl != 0 ? (int64_t)ch.d.session_ttl : INT64_MAX / 4;
	{
		int state;
		const struct rbac_identity *id = px_stream_identity(st, &state);
		if (id != NULL && id->not_after != 0 && id->not_after - now < ch.user_left_s)
			ch.user_left_s = id->not_after - now;
	}
	*out = ch;
	return 0;
}

/* --- credentials ----------------------------------------------------------- */

static void creds_finish(struct px_creds_req *r, int err)
{
	r->phase = 3;
	r->wait = NULL;
	r->done(r, r->arg, err);
}

static int role_step(struct px_creds_req *r);

static void role_done(void *arg, int err, struct fed_snap *creds, const struct fed_sts_error *why)
{
	struct px_creds_req *r = arg;

	r->wait = NULL;
	if (why != NULL)
		r->why = *why;
	r->creds = creds;
	creds_finish(r, err);
}

static void base_done(void *arg, int err, struct fed_snap *creds, const struct fed_sts_error *why)
{
	struct px_creds_req *r = arg;
	int rv;

	r->wait = NULL;
	if (err != 0) {
		if (why != NULL)
			r->why = *why;
		creds_finish(r, err);
		return;
	}
	r->base = creds;
	rv = role_step(r);
	if (rv != FED_PENDING)
		creds_finish(r, rv);
}

/* The AssumeRole of the choice with the base credentials held. */
static int role_step(struct px_creds_req *r)
{
	const struct px_choice *ch = r->ch;
	const struct fed_creds *base = fed_snap_creds(r->base);
	const struct px_config *cfg = r->st->gen->cfg;
	struct fed_cache_key key;
	int rv;

	r->phase = 2;
	r->chained = !base->long_term;
	rv = fed_session_duration(cfg->aws.session_duration, ch->user_left_s, FED_SESSION_MAX_DURATION, r->chained,
				  &r->duration);
	if (rv != 0)
		return rv;
	memset(&key, 0, sizeof(key));
	key.role_arn = ch->role_arn;
	key.external_id = ch->info.external_id;
	key.session_name = r->session;
	key.source_identity = ch->info.source_identity ? r->session : NULL;
	key.duration_seconds = r->duration;
	key.partition = ch->partition;
	key.region = cfg->aws.region;
	key.endpoint_url = px_srv->sts_endpoint_url;
	return fed_cache_get(px_srv->cache, px_worker_transport(r->st), &key, base, role_done, r, &r->creds, &r->wait,
			     &r->why);
}

struct fed_transport *px_worker_transport(struct px_stream *st)
{
	return px_transport_fed(st->conn->w->transport);
}

int px_front_creds(struct px_stream *st, const struct px_choice *ch, struct px_creds_req *r, px_creds_done_fn *done,
		   void *arg)
{
	int rv;

	memset(r, 0, sizeof(*r));
	r->st = st;
	r->ch = ch;
	r->done = done;
	r->arg = arg;
	if (ch->user_left_s < PX_FRONT_MIN_SESSION_S)
		return FED_ERR_SESSION_TOO_SHORT;
	{
		int state;
		const struct rbac_identity *id = px_stream_identity(st, &state);
		rv = id != NULL ? fed_session_name(id->user, r->session) : FED_ERR_INVALID;
	}
	if (rv != 0)
		return rv;
	r->phase = 1;
	rv = fed_base_get(px_srv->base, px_worker_transport(st), base_done, r, &r->base, &r->wait, &r->why);
	if (rv != 0)
		return rv; /* FED_PENDING or a failure */
	return role_step(r);
}

void px_front_creds_release(struct px_creds_req *r)
{
	if (r->wait != NULL && r->phase != 3)
		fed_wait_cancel(r->wait);
	r->wait = NULL;
	fed_snap_unref(r->creds);
	fed_snap_unref(r->base);
	r->creds = NULL;
	r->base = NULL;
}

void px_front_creds_deny(const struct px_creds_req *r, int err, struct px_deny *why)
{
	const char *arn = r->ch != NULL ? r->ch->role_arn : "the role";
	const char *code = r->why.code[0] ? r->why.code : "";
	const char *amsg = r->why.message[0] ? r->why.message : fed_strerror(err);

	switch (err) {
	case FED_ERR_SESSION_TOO_SHORT:
		refuse(why, 401, "session-too-short",
		       "your session has under 15 minutes left, less than AWS allows for role credentials: log in again");
		break;
	case FED_ERR_DENIED: {
		char text[768] = "";
		struct fed_policy_sent sent = {r->ch && r->ch->info.external_id != NULL,
					       r->ch && r->ch->info.source_identity, false};
		fed_policy_explain_denied(r->why.message, &sent, text, sizeof(text));
		refuse(why, 403, "assume-role-denied",
		       "AWS refused the gate's AssumeRole on %s: %s%s%s. %s%sThe gate's admin can run awsgatectl aws "
		       "iam-policy --role-arn %s to see the policies the role needs",
		       arn, code, *code ? ": " : "", amsg, text, *text ? " " : "", arn);
		break;
	}
	case FED_ERR_REJECTED:
		refuse(why, 403, "assume-role-rejected", "AWS rejected the gate's AssumeRole on %s: %s%s%s; ask the gate's admin",
		       arn, code, *code ? ": " : "", amsg);
		break;
	case FED_ERR_THROTTLED:
	case FED_ERR_UNAVAILABLE:
	case FED_ERR_TIMEOUT:
	case FED_ERR_TRANSPORT:
	case FED_ERR_PARSE:
		refuse(why, 503, "sts-unavailable", "AWS STS did not give credentials for %s (%s%s%s); try again shortly",
		       arn, *code ? code : fed_strerror(err), *code ? ": " : "", *code ? amsg : "");
		break;
	case FED_ERR_NO_CREDENTIALS:
	case FED_ERR_CONFIG:
	case FED_ERR_EXPIRED:
		refuse(why, 503, "gate-credentials",
		       "the gate has no usable AWS credentials of its own (%s); ask the gate's admin (awsgatectl aws whoami)",
		       r->why.message[0] ? r->why.message : fed_strerror(err));
		break;
	default:
		refuse(why, 500, "internal", "credentials for %s: %s; try again", arn, fed_strerror(err));
		break;
	}
}
