/* SPDX-License-Identifier: Apache-2.0 */
/* front.h: the front half of a gate request: identity, app and role, RBAC decision, and the role's credentials. */
#ifndef AWSGATE_PROXY_FRONT_H
#define AWSGATE_PROXY_FRONT_H

#include <stdbool.h>
#include <stdint.h>

#include "federation/federation.h"
#include "presign.h"
#include "rbac/rbac.h"
#include "server.h"

/*
 * docs/SERVER.md ("The front half") describes this API. The gate's own
 * POST routes (gateapi.c) and the AWS API pipeline share it: each step
 * either fills its output or writes a struct px_deny saying what to
 * answer; the caller answers in its own protocol (JSON for the gate's
 * routes, the addressed service's error shape for API requests) and
 * audits with px_front_audit_deny().
 */

#define PX_FRONT_MIN_SESSION_S FED_STS_MIN_DURATION /* STS's 15 minutes: less left means log in again */

/* The app and role chosen for a request, and the decision that allowed it.
 * Strings are borrowed from the stream's subject and generation (valid
 * while the stream lives) or from the stream's arena. */
struct px_choice {
	const struct rbac_app *app;
	struct rbac_app_info info;
	const char *role_arn;
	const char *account;   /* the role ARN's account, in the arena */
	const char *partition; /* the role ARN's partition ("aws", ...), in the arena */
	struct rbac_decision d;
	int64_t now;
	int64_t user_left_s;   /* seconds the user's session has left (certificate and role TTL) */
};

/* The stream's identity: the web session's snapshot when the stream has
 * one, else the connection's certificate; NULL when there is none.
 * |*state| gets 1 (an identity), 0 (no certificate), -1 (unusable). */
const struct rbac_identity *px_stream_identity(const struct px_stream *st, int *state);

/* Checks the stream's identity (px_stream_identity()): a usable, unexpired certificate, a
 * subject under the stream's generation (st->subject set), no lock.
 * Returns 0, or -1 with |why| filled. */
int px_front_identity(struct px_stream *st, int64_t now, struct px_deny *why);

/* Chooses the app and role from |app| and |role| (either may be NULL: the
 * only choice is taken; |role| is a name or an ARN, `--aws-role`
 * semantics) and decides with RBAC. Call after px_front_identity().
 * Returns 0 with |out| filled, or -1 with |why|: 400 when a choice is
 * needed (the message lists the candidates), 403 when RBAC denies. */
int px_front_choose(struct px_stream *st, const char *app, const char *role, int64_t now, struct px_choice *out,
		    struct px_deny *why);

/* A request for the role's credentials; lives as long as the stream
 * (embed it in the handler's state). */
struct px_creds_req;
typedef void px_creds_done_fn(struct px_creds_req *r, void *arg, int err);

struct px_creds_req {
	struct px_stream *st;
	const struct px_choice *ch; /* borrowed */
	px_creds_done_fn *done;
	void *arg;
	struct fed_wait *wait;      /* the wait in progress, or NULL */
	int phase;                  /* 0 idle, 1 base, 2 role, 3 done */
	/* Results: */
	struct fed_snap *base;      /* +1: the gate's own credentials */
	struct fed_snap *creds;     /* +1: the role's */
	uint32_t duration;          /* DurationSeconds asked for */
	bool chained;               /* the base credentials are temporary: role chaining */
	char session[FED_SESSION_NAME_MAX + 1];
	struct fed_sts_error why;   /* AWS's answer when it failed */
};

/*
 * Gets the credentials of |ch| for the stream's user: the gate's base
 * credentials, then the process-wide AssumeRole cache, both waiting
 * asynchronously on the worker's loop. Returns 0 when both were at hand
 * (r->creds set, |done| not called), FED_PENDING when |done| will be
 * called on this loop, or a FED_ERR_* at once (r->why says more). After
 * FED_PENDING the caller must call px_front_creds_cancel() if the stream
 * closes first. |done| gets 0 or a FED_ERR_*.
 */
int px_front_creds(struct px_stream *st, const struct px_choice *ch, struct px_creds_req *r, px_creds_done_fn *done,
		   void *arg);

/* Stops waiting (the call goes on for others) and drops the references. */
void px_front_creds_release(struct px_creds_req *r);

/* The refusal for a credentials failure |err| (FED_ERR_*) of |r|. */
void px_front_creds_deny(const struct px_creds_req *r, int err, struct px_deny *why);

/* An audit event for |st| with |event|, user, conn, stream, method, path. NULL when out of memory. */
struct json_t *px_front_audit_event(struct px_stream *st, const char *event);

/* Starts |w| with px_front_audit_event()'s members, for events written
 * with px_audit_jw() (the API request's, per request). */
void px_front_audit_begin(struct px_stream *st, struct px_jw *w, const char *event);

/* The "request.denied" event of |why| (not written): px_front_audit_event()'s
 * fields, status, reason, message, and the app and role when |ch| has
 * them. NULL when out of memory. */
struct json_t *px_front_deny_event(struct px_stream *st, const struct px_choice *ch, const struct px_deny *why);

/* Audits |why| as "request.denied" with the choice when known (|ch| may be
 * NULL). Returns 0, or PX_ERR_IO when the fail-closed audit log cannot
 * be written (answer 503). */
int px_front_audit_deny(struct px_stream *st, const struct px_choice *ch, const struct px_deny *why);

/* federation's transport of the stream's worker. */
struct fed_transport *px_worker_transport(struct px_stream *st);

/* The gate's POST routes (gateapi.c): console and presign. Called by
 * px_route_dispatch() with the headers complete; reads the JSON body. */
void px_gateapi_dispatch(struct px_stream *st);

/* A web UI launch (web.c) through the console route of gateapi.c. */
struct px_console_done {
	const char *url;            /* the sign-in URL: a secret, borrowed during the call */
	int64_t session_duration;   /* seconds the console session lasts */
	bool chaining_capped;       /* role chaining: AWS caps the console session at one hour */
	const struct px_choice *ch;
	const char *session_name;
};
struct px_console_web {
	/* Each answers the stream (a redirect, an HTML page). */
	void (*ok)(struct px_stream *st, const struct px_console_done *res);
	void (*fail)(struct px_stream *st, int status, const char *reason, const char *msg);
};

/* Runs the console route for the stream's identity (a web session's, see
 * px_stream_identity()) with |in| (takes ownership): {"app", "role",
 * "region", "destination", "issuer", "logout": bool}. Denials are
 * audited as request.denied; success as web.launch. |cb| must outlive
 * the stream. The body must already be read: this replaces the
 * stream's handler. */
void px_gateapi_console_web(struct px_stream *st, struct json_t *in, const struct px_console_web *cb);

/* The app list of GET /awsgate/v1/apps for the stream's subject (routes.c):
 * {"user", "expires", "apps": [{name, labels, aws_account_id, roles: [{name, arn, account_id}]}]};
 * +1 or NULL when out of memory. |napps| gets the number of apps. */
struct json_t *px_apps_json(struct px_stream *st, struct rbac_subject *s, int64_t now, size_t *napps);

/* The web UI (web.c): a request under /awsgate/web (any method; a POST's
 * body is read here), and POST /awsgate/v1/web-link. */
void px_web_dispatch(struct px_stream *st);
void px_web_link_route(struct px_stream *st);

/* Routes (routes.c). */
const char *px_lock_applies(struct px_stream *st, const struct rbac_subject *s, int64_t now, const char **msg);

#endif
