/* SPDX-License-Identifier: Apache-2.0 */
/* sts.c: STS Query API calls (AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity, GetFederationToken) with retries. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "federation/federation.h"
#include "federation/federation_int.h"
#include "federation/sts_int.h"
#include "sigv4/sigv4.h"

#define STS_VERSION "2011-06-15"
#define MAX_URL 2048
#define MAX_HOSTPORT 262 /* a DNS name, ':' and a port */
#define MAX_ARN 2048
#define MAX_EXTERNAL_ID 1224
#define MAX_POLICY 20480 /* bytes of a session policy as sent, before STS's own packing limit */

struct fed_sts_call {
	struct fed_transport *t;
	const struct fed_env *env;
	fed_sts_done_fn *done;
	void *arg;
	enum fed_sts_action action;
	char url[MAX_URL + 1];
	char host[MAX_HOSTPORT + 1];
	char path[MAX_URL + 1];
	char region[FED_MAX_REGION + 1];
	struct fed_buf body; /* the form; may hold a web identity token: wiped */
	struct fed_creds creds; /* a copy, wiped on free; empty when unsigned */
	bool sign;
	uint32_t connect_timeout_ms;
	uint32_t timeout_ms;
	uint32_t max_attempts;
	struct fed_call *http;
	struct fed_timer *timer;
	bool in_callback;
	struct fed_sts_error e;
	int last_class; /* the last attempt's failure class, for when retries run out */
};

const char *fed_sts_action_name(enum fed_sts_action a)
{
	switch (a) {
	case FED_STS_ASSUME_ROLE: return "AssumeRole";
	case FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY: return "AssumeRoleWithWebIdentity";
	case FED_STS_GET_CALLER_IDENTITY: return "GetCallerIdentity";
	case FED_STS_GET_FEDERATION_TOKEN: return "GetFederationToken";
	}
	return NULL;
}

/* Splits an endpoint URL: https://host[:port][/path]; no user info, query or
 * fragment. http:// is refused: STS answers carry secrets. */
static int parse_endpoint_url(const char *u, char *host, size_t hostsize, char *path, size_t pathsize)
{
	static const char scheme[] = "https://";
	if (strncmp(u, scheme, sizeof(scheme) - 1) != 0)
		return FED_ERR_INVALID;
	const char *h = u + sizeof(scheme) - 1;
	size_t hl = strcspn(h, "/?#");
	if (hl == 0 || hl >= hostsize || h[hl] == '?' || h[hl] == '#')
		return FED_ERR_INVALID;
	for (size_t i = 0; i < hl; i++) {
		char c = h[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		          c == '.' || c == ':' || c == '[' || c == ']';
		if (!ok)
			return FED_ERR_INVALID; /* no user info, no spaces, no control bytes */
	}
	const char *p = h + hl;
	if (strpbrk(p, "?# \t\r\n") != NULL)
		return FED_ERR_INVALID;
	if (*p == '\0')
		p = "/";
	if (!fed_str_copy(path, pathsize, p))
		return FED_ERR_TOO_LARGE;
	memcpy(host, h, hl);
	host[hl] = '\0';
	/* Host header: the port only when it is not the default. */
	size_t n = strlen(host);
	if (n > 4 && strcmp(host + n - 4, ":443") == 0 && host[0] != '[')
		host[n - 4] = '\0';
	return 0;
}

int fed_sts_endpoint(const struct fed_sts_params *p, char *url, size_t urlsize, char *host, size_t hostsize,
                     char *region)
{
	const struct fed_partition *part = fed_partition_by_name("aws");
	char h[MAX_HOSTPORT + 1], path[MAX_URL + 1], r[FED_MAX_REGION + 1];

	if (p == NULL || url == NULL || host == NULL || region == NULL)
		return FED_ERR_INVALID;
	if (p->region != NULL) {
		int rv = fed_partition_for_region(p->region, &part);
		if (rv != 0)
			return rv;
		memcpy(r, p->region, strlen(p->region) + 1);
	} else {
		memcpy(r, part->global_region, strlen(part->global_region) + 1);
	}
	if (p->endpoint_url != NULL) {
		int rv = parse_endpoint_url(p->endpoint_url, h, sizeof(h), path, sizeof(path));
		if (rv != 0)
			return rv;
		if (!fed_str_copy(url, urlsize, p->endpoint_url))
			return FED_ERR_TOO_LARGE;
	} else {
		int rv = fed_sts_host(part, p->region, h, sizeof(h));
		if (rv != 0)
			return rv;
		struct fed_buf b;
		fed_buf_init_fixed(&b, url, urlsize);
		fed_buf_adds(&b, "https://");
		fed_buf_adds(&b, h);
		fed_buf_addc(&b, '/');
		if (b.err != 0)
			return FED_ERR_TOO_LARGE;
	}
	if (!fed_str_copy(host, hostsize, h))
		return FED_ERR_TOO_LARGE;
	memcpy(region, r, strlen(r) + 1);
	return 0;
}

static void form_add(struct fed_buf *b, const char *name, const char *value)
{
	fed_buf_addc(b, '&');
	fed_buf_adds(b, name);
	fed_buf_addc(b, '=');
	fed_buf_add_urlenc(b, value, strlen(value));
}

static void form_add_u32(struct fed_buf *b, const char *name, uint32_t v)
{
	fed_buf_addc(b, '&');
	fed_buf_adds(b, name);
	fed_buf_addc(b, '=');
	fed_buf_add_u64(b, v);
}

static bool len_in(const char *s, size_t min, size_t max)
{
	if (s == NULL)
		return false;
	size_t n = strlen(s);
	return n >= min && n <= max;
}

/* Checks |p| as far as the gate can (STS checks the rest) and builds the form. */
static int build_form(const struct fed_sts_params *p, struct fed_buf *b)
{
	const char *action = fed_sts_action_name(p->action);
	if (action == NULL)
		return FED_ERR_INVALID;
	if (p->duration_seconds != 0 &&
	    (p->duration_seconds < FED_STS_MIN_DURATION || p->duration_seconds > FED_STS_MAX_DURATION))
		return FED_ERR_INVALID;
	if (p->policy != NULL && !len_in(p->policy, 1, MAX_POLICY))
		return FED_ERR_INVALID;
	fed_buf_adds(b, "Action=");
	fed_buf_adds(b, action);
	fed_buf_adds(b, "&Version=" STS_VERSION);
	switch (p->action) {
	case FED_STS_ASSUME_ROLE:
	case FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY:
		if (!len_in(p->role_arn, 20, MAX_ARN) || !len_in(p->role_session_name, 2, 64))
			return FED_ERR_INVALID;
		form_add(b, "RoleArn", p->role_arn);
		form_add(b, "RoleSessionName", p->role_session_name);
		if (p->duration_seconds != 0)
			form_add_u32(b, "DurationSeconds", p->duration_seconds);
		if (p->policy != NULL)
			form_add(b, "Policy", p->policy);
		if (p->action == FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY) {
			if (!len_in(p->web_identity_token, 4, 20000))
				return FED_ERR_INVALID;
			form_add(b, "WebIdentityToken", p->web_identity_token);
			break;
		}
		if (p->external_id != NULL) {
			if (!len_in(p->external_id, 2, MAX_EXTERNAL_ID))
				return FED_ERR_INVALID;
			form_add(b, "ExternalId", p->external_id);
		}
		if (p->source_identity != NULL) {
			if (!len_in(p->source_identity, 2, 64))
				return FED_ERR_INVALID;
			form_add(b, "SourceIdentity", p->source_identity);
		}
		if (p->ntags > FED_STS_MAX_TAGS || (p->ntags > 0 && p->tags == NULL))
			return FED_ERR_INVALID;
		for (size_t i = 0; i < p->ntags; i++) {
			if (!len_in(p->tags[i].key, 1, 128) || !len_in(p->tags[i].value, 0, 256))
				return FED_ERR_INVALID;
			char name[40];
			struct fed_buf nb;
			fed_buf_init_fixed(&nb, name, sizeof(name));
			fed_buf_adds(&nb, "Tags.member.");
			fed_buf_add_u64(&nb, i + 1);
			fed_buf_adds(&nb, ".Key");
			form_add(b, name, p->tags[i].key);
			fed_buf_init_fixed(&nb, name, sizeof(name));
			fed_buf_adds(&nb, "Tags.member.");
			fed_buf_add_u64(&nb, i + 1);
			fed_buf_adds(&nb, ".Value");
			form_add(b, name, p->tags[i].value);
		}
		break;
	case FED_STS_GET_CALLER_IDENTITY:
		break;
	case FED_STS_GET_FEDERATION_TOKEN:
		if (!len_in(p->federated_name, 2, 32))
			return FED_ERR_INVALID;
		form_add(b, "Name", p->federated_name);
		if (p->duration_seconds != 0)
			form_add_u32(b, "DurationSeconds", p->duration_seconds);
		if (p->policy != NULL)
			form_add(b, "Policy", p->policy);
		break;
	}
	return b->err;
}

static void call_free(struct fed_sts_call *c)
{
	fed_buf_free(&c->body);
	fed_creds_free(&c->creds);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

static void attempt(struct fed_sts_call *c);

static void retry_timer_cb(void *arg)
{
	struct fed_sts_call *c = arg;
	c->timer = NULL;
	attempt(c);
}

/* Ends the call: runs the callback once, then frees everything. */
static void finish(struct fed_sts_call *c, int err, const struct fed_sts_result *res)
{
	c->in_callback = true;
	c->done(c->arg, err, err == 0 ? res : NULL, &c->e);
	call_free(c);
}

/* Failure classes of one attempt. */
#define CLASS_FINAL 0     /* no retry: |e| and the error decide */
#define CLASS_THROTTLED 1 /* retry, then FED_ERR_THROTTLED */
#define CLASS_SERVER 2    /* retry, then FED_ERR_UNAVAILABLE */

static uint32_t backoff_ms(struct fed_sts_call *c, int cls)
{
	uint64_t d = cls == CLASS_THROTTLED ? FED_STS_THROTTLE_BASE_MS : FED_STS_RETRY_BASE_MS;
	for (uint32_t i = 1; i < c->e.attempts && d < FED_STS_RETRY_CAP_MS; i++)
		d *= 2;
	if (d > FED_STS_RETRY_CAP_MS)
		d = FED_STS_RETRY_CAP_MS;
	/* Uniform in [d/2, d]: spread out, never zero. */
	uint64_t half = d / 2;
	uint64_t r = c->env->random(c->env->arg);
	return (uint32_t)(half + r % (d - half + 1));
}

/* One attempt failed with class |cls|: retries, or ends the call. */
static void attempt_failed(struct fed_sts_call *c, int cls, int final_err)
{
	if (cls == CLASS_FINAL) {
		finish(c, final_err, NULL);
		return;
	}
	c->last_class = cls;
	if (c->e.attempts >= c->max_attempts) {
		finish(c, cls == CLASS_THROTTLED ? FED_ERR_THROTTLED : FED_ERR_UNAVAILABLE, NULL);
		return;
	}
	uint32_t delay = backoff_ms(c, cls);
	if (c->t->timer_start(c->t->arg, delay, retry_timer_cb, c, &c->timer) != 0) {
		c->timer = NULL;
		finish(c, FED_ERR_NOMEM, NULL);
	}
}

static bool code_is(const char *code, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(code, *list) == 0)
			return true;
	return false;
}

/* The class of an AWS error, from its code and the HTTP status. */
int fed_sts_classify(int status, const char *code, int *err)
{
	static const char *const denied[] = {"AccessDenied", "AccessDeniedException", NULL};
	static const char *const throttled[] = {
		"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
		"ProvisionedThroughputExceededException", "BandwidthLimitExceeded", "LimitExceededException",
		"PriorRequestNotComplete", "EC2ThrottledException", NULL,
	};
	/* Server-side trouble botocore also retries; IDPCommunicationError is
	 * the web identity provider not answering STS. */
	static const char *const server[] = {"InternalFailure", "InternalError", "ServiceUnavailable",
	                                     "ServiceUnavailableException", "IDPCommunicationError",
	                                     "RequestTimeout", "RequestTimeoutException", NULL};
	if (code_is(code, denied)) {
		*err = FED_ERR_DENIED;
		return CLASS_FINAL;
	}
	if (code_is(code, throttled) || status == 429) {
		*err = FED_ERR_THROTTLED;
		return CLASS_THROTTLED;
	}
	if (code_is(code, server) || status >= 500) {
		*err = FED_ERR_UNAVAILABLE;
		return CLASS_SERVER;
	}
	/* ValidationError, InvalidParameterValue, MalformedPolicyDocument,
	 * PackedPolicyTooLarge, RegionDisabledException, ExpiredToken,
	 * InvalidIdentityToken, IDPRejectedClaim, InvalidClientTokenId,
	 * SignatureDoesNotMatch, ...: the request is wrong; retrying cannot help. */
	*err = FED_ERR_REJECTED;
	return CLASS_FINAL;
}

/* The text of |path|, or "" when absent; false when the document is bad. */
static int xml_get(const struct fed_http_response *res, const char *path, char *dst, size_t size, bool required)
{
	int rv = fed_xml_text(res->body, res->body_len, path, dst, size, NULL);
	if (rv == FED_XML_ERR_NOT_FOUND && !required)
		return 0;
	return rv == 0 ? 0 : FED_ERR_PARSE;
}

static const char *header_get(const struct fed_http_response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++) {
		const char *a = res->headers[i].name, *b = name;
		while (*a != '\0' && *b != '\0' && (*a | 0x20) == (*b | 0x20))
			a++, b++;
		if (*a == '\0' && *b == '\0')
			return res->headers[i].value;
	}
	return NULL;
}

/* Everything a success answer may hold, in fixed buffers. */
struct answer {
	char access_key_id[SV4_MAX_ACCESS_KEY + 1];
	char secret[SV4_MAX_SECRET + 1];
	char token[SV4_MAX_SESSION_TOKEN + 1];
	char expiration[40];
	char role_arn[MAX_ARN + 1];
	char role_id[256];
	char fed_arn[MAX_ARN + 1];
	char account[32];
	char arn[MAX_ARN + 1];
	char user_id[256];
	char source_identity[72];
	char request_id[64];
};

int fed_sts_parse_success(enum fed_sts_action action, const struct fed_http_response *res,
                          int (*deliver)(void *arg, const struct fed_sts_result *r), void *arg)
{
	struct answer *a = calloc(1, sizeof(*a));
	struct fed_sts_result r;
	char path[96];
	int rv = FED_ERR_PARSE;
	const char *name = fed_sts_action_name(action);

	if (a == NULL)
		return FED_ERR_NOMEM;
	if (name == NULL)
		goto out;
	memset(&r, 0, sizeof(r));
	struct fed_buf pb;
#define RESULT_PATH(sub)                                 \
	(fed_buf_init_fixed(&pb, path, sizeof(path)), fed_buf_adds(&pb, name), \
	 fed_buf_adds(&pb, "Result/" sub), path)
	if ((rv = xml_get(res, "ResponseMetadata/RequestId", a->request_id, sizeof(a->request_id), false)) != 0)
		goto out;
	r.request_id = a->request_id[0] ? a->request_id : NULL;
	if (action == FED_STS_GET_CALLER_IDENTITY) {
		if ((rv = xml_get(res, RESULT_PATH("Account"), a->account, sizeof(a->account), true)) != 0 ||
		    (rv = xml_get(res, RESULT_PATH("Arn"), a->arn, sizeof(a->arn), true)) != 0 ||
		    (rv = xml_get(res, RESULT_PATH("UserId"), a->user_id, sizeof(a->user_id), true)) != 0)
			goto out;
		r.account = a->account;
		r.arn = a->arn;
		r.user_id = a->user_id;
	} else {
		if ((rv = xml_get(res, RESULT_PATH("Credentials/AccessKeyId"), a->access_key_id,
		                  sizeof(a->access_key_id), true)) != 0 ||
		    (rv = xml_get(res, RESULT_PATH("Credentials/SecretAccessKey"), a->secret, sizeof(a->secret), true)) !=
		        0 ||
		    (rv = xml_get(res, RESULT_PATH("Credentials/SessionToken"), a->token, sizeof(a->token), true)) != 0 ||
		    (rv = xml_get(res, RESULT_PATH("Credentials/Expiration"), a->expiration, sizeof(a->expiration),
		                  true)) != 0)
			goto out;
		rv = FED_ERR_PARSE;
		if (a->access_key_id[0] == '\0' || a->secret[0] == '\0' || a->token[0] == '\0')
			goto out;
		if (fed_iso8601_parse(a->expiration, strlen(a->expiration), &r.creds.expiration) != 0)
			goto out;
		if (action == FED_STS_GET_FEDERATION_TOKEN) {
			if ((rv = xml_get(res, RESULT_PATH("FederatedUser/Arn"), a->fed_arn, sizeof(a->fed_arn), false)) != 0)
				goto out;
			r.federated_user_arn = a->fed_arn[0] ? a->fed_arn : NULL;
		} else {
			if ((rv = xml_get(res, RESULT_PATH("AssumedRoleUser/Arn"), a->role_arn, sizeof(a->role_arn), true)) !=
			        0 ||
			    (rv = xml_get(res, RESULT_PATH("AssumedRoleUser/AssumedRoleId"), a->role_id, sizeof(a->role_id),
			                  false)) != 0 ||
			    (rv = xml_get(res, RESULT_PATH("SourceIdentity"), a->source_identity, sizeof(a->source_identity),
			                  false)) != 0)
				goto out;
			r.assumed_role_arn = a->role_arn;
			r.assumed_role_id = a->role_id[0] ? a->role_id : NULL;
			r.source_identity = a->source_identity[0] ? a->source_identity : NULL;
		}
		r.creds.access_key_id = a->access_key_id;
		r.creds.secret_access_key = a->secret;
		r.creds.session_token = a->token;
		r.creds.long_term = false;
		struct fed_buf sb;
		fed_buf_init_fixed(&sb, r.creds.source, sizeof(r.creds.source));
		fed_buf_adds(&sb, "sts:");
		fed_buf_adds(&sb, name);
	}
#undef RESULT_PATH
	rv = deliver(arg, &r);
out:
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	return rv;
}

void fed_sts_parse_error(const struct fed_http_response *res, struct fed_sts_error *e)
{
	e->status = res->status;
	e->code[0] = e->message[0] = '\0';
	if (fed_xml_text(res->body, res->body_len, "Error/Code", e->code, sizeof(e->code), NULL) != 0)
		e->code[0] = '\0';
	if (fed_xml_text(res->body, res->body_len, "Error/Message", e->message, sizeof(e->message), NULL) != 0) {
		/* A message longer than the room is cut, not dropped. */
		e->message[0] = '\0';
	}
	/* ErrorResponse/RequestId in the Query protocol; the header otherwise. */
	if (fed_xml_text(res->body, res->body_len, "RequestId", e->request_id, sizeof(e->request_id), NULL) != 0) {
		const char *h = header_get(res, "x-amzn-RequestId");
		if (h == NULL || !fed_str_copy(e->request_id, sizeof(e->request_id), h))
			e->request_id[0] = '\0';
	}
}

static int deliver_cb(void *arg, const struct fed_sts_result *r)
{
	struct fed_sts_call *c = arg;
	if (r->request_id != NULL && !fed_str_copy(c->e.request_id, sizeof(c->e.request_id), r->request_id))
		c->e.request_id[0] = '\0';
	finish(c, 0, r);
	return 0;
}

static void http_done_cb(void *arg, const struct fed_http_response *res)
{
	struct fed_sts_call *c = arg;
	int err;

	c->http = NULL;
	memset(c->e.code, 0, sizeof(c->e.code));
	c->e.message[0] = c->e.request_id[0] = '\0';
	c->e.status = 0;
	if (res->error != 0) {
		/* What the transport says failed (a TLS verification, a refused
		 * connection) is the message: there is no AWS answer to quote. */
		if (res->detail != NULL)
			snprintf(c->e.message, sizeof(c->e.message), "%s: %s", fed_strerror(res->error), res->detail);
		if (res->error == FED_ERR_TRANSPORT || res->error == FED_ERR_TIMEOUT) {
			attempt_failed(c, CLASS_SERVER, 0);
			return;
		}
		/* TOO_LARGE, NOMEM: retrying will not change them. */
		attempt_failed(c, CLASS_FINAL, res->error);
		return;
	}
	if (res->status == 200) {
		c->e.status = 200;
		int rv = fed_sts_parse_success(c->action, res, deliver_cb, c);
		if (rv != 0)
			attempt_failed(c, CLASS_FINAL, rv);
		return;
	}
	fed_sts_parse_error(res, &c->e);
	int cls = fed_sts_classify(res->status, c->e.code, &err);
	attempt_failed(c, cls, err);
}

/* Signs and sends the form once. */
static void attempt(struct fed_sts_call *c)
{
	struct fed_header h[6];
	size_t nh = 0;
	char date[17];
	char *auth = NULL;
	int rv;

	c->e.attempts++;
	h[nh++] = (struct fed_header){"Host", c->host};
	h[nh++] = (struct fed_header){"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
	if (c->sign) {
		struct sv4_signer *s = sv4_signer_new();
		if (s == NULL) {
			attempt_failed(c, CLASS_FINAL, FED_ERR_NOMEM);
			return;
		}
		struct sv4_header sh[2] = {
			{"Host", 4, c->host, strlen(c->host)},
			{"Content-Type", 12, h[1].value, strlen(h[1].value)},
		};
		struct sv4_request req = {
			.method = "POST", .methodlen = 4, .path = c->path, .pathlen = strlen(c->path), .query = "",
			.querylen = 0, .headers = sh, .nheaders = 2, .body = (const unsigned char *)c->body.p,
			.bodylen = c->body.len,
		};
		struct sv4_credentials cr = {c->creds.access_key_id, c->creds.secret_access_key, c->creds.session_token};
		struct sv4_sign_params sp = {
			.creds = &cr, .region = c->region, .service = "sts",
			.time = c->env->now_ms(c->env->arg) / 1000, .mode = SV4_MODE_HEADER,
		};
		struct sv4_signed out;
		rv = sv4_sign(s, &req, &sp, &out);
		if (rv == 0) {
			memcpy(date, out.date, sizeof(date));
			auth = strndup(out.authorization, out.authorizationlen);
			if (auth != NULL) {
				h[nh++] = (struct fed_header){"X-Amz-Date", date};
				if (out.add_session_token)
					h[nh++] = (struct fed_header){"X-Amz-Security-Token", c->creds.session_token};
				h[nh++] = (struct fed_header){"Authorization", auth};
			}
		}
		sv4_signer_del(s);
		if (rv != 0) {
			/* Bad credentials or a clock before 1970: nothing a retry mends. */
			attempt_failed(c, CLASS_FINAL, rv == SV4_ERR_NOMEM ? FED_ERR_NOMEM : FED_ERR_INVALID);
			return;
		}
		if (auth == NULL) {
			attempt_failed(c, CLASS_FINAL, FED_ERR_NOMEM);
			return;
		}
	}
	struct fed_http_request req = {
		.method = "POST", .url = c->url, .headers = h, .nheaders = nh, .body = c->body.p,
		.body_len = c->body.len, .connect_timeout_ms = c->connect_timeout_ms, .timeout_ms = c->timeout_ms,
		.max_response = FED_STS_MAX_RESPONSE,
	};
	rv = c->t->http_start(c->t->arg, &req, http_done_cb, c, &c->http);
	free(auth);
	if (rv != 0) {
		c->http = NULL;
		attempt_failed(c, rv == FED_ERR_NOMEM ? CLASS_FINAL : CLASS_SERVER, rv);
	}
}

static void first_attempt_cb(void *arg)
{
	struct fed_sts_call *c = arg;
	c->timer = NULL;
	attempt(c);
}

int fed_sts_start(struct fed_transport *t, const struct fed_env *env, const struct fed_sts_params *p,
                  const struct fed_creds *creds, fed_sts_done_fn *done, void *arg, struct fed_sts_call **call)
{
	int rv;

	if (t == NULL || env == NULL || p == NULL || done == NULL)
		return FED_ERR_INVALID;
	bool sign = p->action != FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY;
	if (sign && (creds == NULL || creds->access_key_id == NULL || creds->secret_access_key == NULL))
		return FED_ERR_INVALID;
	struct fed_sts_call *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return FED_ERR_NOMEM;
	c->t = t;
	c->env = env;
	c->done = done;
	c->arg = arg;
	c->action = p->action;
	c->sign = sign;
	c->connect_timeout_ms = p->connect_timeout_ms ? p->connect_timeout_ms : FED_STS_DEFAULT_CONNECT_MS;
	c->timeout_ms = p->timeout_ms ? p->timeout_ms : FED_STS_DEFAULT_TIMEOUT_MS;
	c->max_attempts = p->max_attempts ? p->max_attempts : FED_STS_DEFAULT_ATTEMPTS;
	if (c->max_attempts > FED_STS_MAX_ATTEMPTS)
		c->max_attempts = FED_STS_MAX_ATTEMPTS;
	fed_buf_init(&c->body, FED_STS_MAX_REQUEST_BODY);

	rv = fed_sts_endpoint(p, c->url, sizeof(c->url), c->host, sizeof(c->host), c->region);
	if (rv != 0)
		goto fail;
	if (p->endpoint_url != NULL) {
		char h[MAX_HOSTPORT + 1];
		rv = parse_endpoint_url(p->endpoint_url, h, sizeof(h), c->path, sizeof(c->path));
		if (rv != 0)
			goto fail;
	} else {
		c->path[0] = '/';
	}
	rv = build_form(p, &c->body);
	if (rv != 0)
		goto fail;
	if (sign && (rv = fed_creds_copy(&c->creds, creds)) != 0)
		goto fail;
	/* The first attempt runs from the loop, so that |done| never runs
	 * inside this call whatever the transport does. */
	rv = t->timer_start(t->arg, 0, first_attempt_cb, c, &c->timer);
	if (rv != 0) {
		rv = FED_ERR_NOMEM;
		goto fail;
	}
	if (call != NULL)
		*call = c;
	return 0;
fail:
	call_free(c);
	/* An over-long form or endpoint is an argument out of range. */
	return rv == FED_ERR_TOO_LARGE ? FED_ERR_INVALID : rv;
}

void fed_sts_cancel(struct fed_sts_call *c)
{
	if (c == NULL || c->in_callback)
		return; /* from inside its own callback: it is being freed anyway */
	if (c->http != NULL)
		c->t->http_cancel(c->t->arg, c->http);
	if (c->timer != NULL)
		c->t->timer_cancel(c->t->arg, c->timer);
	call_free(c);
}
