/* SPDX-License-Identifier: Apache-2.0 */
/* signin.c: console sign-in: getSigninToken on the federation endpoint, and the login (and sign-out) URLs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "federation/federation.h"
#include "federation/federation_int.h"

struct fed_signin_call {
	struct fed_transport *t;
	fed_signin_done_fn *done;
	void *arg;
	struct fed_signin_params p; /* strings below are owned copies */
	char *region, *issuer, *destination, *endpoint_url;
	struct fed_call *http;
	uint32_t session_duration;
	bool chaining_capped;
};

static const struct fed_partition *partition_of(const struct fed_signin_params *p)
{
	const struct fed_partition *part = p->partition;
	if (part == NULL && p->region != NULL && fed_partition_for_region(p->region, &part) != 0)
		return NULL;
	return part ? part : fed_partition_by_name("aws");
}

/* https://<signin host>: regional when asked. */
static int add_signin_base(struct fed_buf *b, const struct fed_signin_params *p, const struct fed_partition *part)
{
	if (part->signin_host == NULL)
		return FED_ERR_INVALID; /* no console sign-in known in this partition */
	fed_buf_adds(b, "https://");
	if (p->regional_signin) {
		if (p->region == NULL || part->signin_regional_suffix == NULL)
			return FED_ERR_INVALID;
		fed_buf_adds(b, p->region);
		fed_buf_addc(b, '.');
		fed_buf_adds(b, part->signin_regional_suffix);
	} else {
		fed_buf_adds(b, part->signin_host);
	}
	return 0;
}

static int check_params(const struct fed_signin_params *p, const struct fed_partition **part)
{
	if (p == NULL)
		return FED_ERR_INVALID;
	if (p->region != NULL) {
		const struct fed_partition *rp;
		if (fed_partition_for_region(p->region, &rp) != 0)
			return FED_ERR_INVALID;
		if (p->partition != NULL && rp != p->partition)
			return FED_ERR_INVALID; /* a region of another partition */
	}
	*part = partition_of(p);
	if (*part == NULL || (*part)->signin_host == NULL)
		return FED_ERR_INVALID;
	if (p->session_duration != 0 &&
	    (p->session_duration < FED_SIGNIN_MIN_DURATION || p->session_duration > FED_SIGNIN_MAX_DURATION))
		return FED_ERR_INVALID;
	return 0;
}

/* Adds |s| as a JSON string: quotes, with '"', '\\' and control bytes escaped. */
static void json_string_add(struct fed_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	fed_buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			fed_buf_addc(b, '\\');
			fed_buf_addc(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			fed_buf_add(b, e, 6);
		} else {
			fed_buf_addc(b, (char)c);
		}
	}
	fed_buf_addc(b, '"');
}

int fed_signin_token_url(const struct fed_signin_params *p, const struct fed_creds *session, char **url)
{
	const struct fed_partition *part;
	int rv = check_params(p, &part);
	if (rv != 0)
		return rv;
	if (session == NULL || session->access_key_id == NULL || session->secret_access_key == NULL ||
	    session->session_token == NULL)
		return FED_ERR_INVALID; /* the console wants temporary credentials */

	/* The Session JSON is built here rather than with jansson, whose copies
	 * of the secret would be freed without being wiped. */
	struct fed_buf js;
	fed_buf_init(&js, FED_SIGNIN_MAX_URL);
	fed_buf_adds(&js, "{\"sessionId\":");
	json_string_add(&js, session->access_key_id);
	fed_buf_adds(&js, ",\"sessionKey\":");
	json_string_add(&js, session->secret_access_key);
	fed_buf_adds(&js, ",\"sessionToken\":");
	json_string_add(&js, session->session_token);
	fed_buf_addc(&js, '}');
	if (js.err != 0) {
		rv = js.err;
		fed_buf_free(&js);
		return rv;
	}

	struct fed_buf b;
	fed_buf_init(&b, FED_SIGNIN_MAX_URL);
	if (p->endpoint_url != NULL) {
		if (strncmp(p->endpoint_url, "https://", 8) != 0)
			rv = FED_ERR_INVALID;
		fed_buf_adds(&b, p->endpoint_url);
	} else {
		rv = add_signin_base(&b, p, part);
	}
	fed_buf_adds(&b, "/federation?Action=getSigninToken");
	if (p->long_term_base && p->session_duration != 0) {
		fed_buf_adds(&b, "&SessionDuration=");
		fed_buf_add_u64(&b, p->session_duration);
	}
	fed_buf_adds(&b, "&Session=");
	fed_buf_add_urlenc(&b, js.p, js.len);
	fed_buf_free(&js); /* wipes */
	if (rv == 0)
		rv = b.err;
	if (rv != 0) {
		fed_buf_free(&b);
		return rv == FED_ERR_TOO_LARGE ? FED_ERR_TOO_LARGE : rv;
	}
	*url = b.p;
	return 0;
}

/* Is |u| an https URL on the partition's console (the host or a subdomain)? */
static bool console_url_ok(const char *u, const struct fed_partition *part)
{
	if (strncmp(u, "https://", 8) != 0)
		return false;
	const char *h = u + 8;
	size_t hl = strcspn(h, "/?#");
	size_t cl = strlen(part->console_host);
	if (hl < cl || memcmp(h + hl - cl, part->console_host, cl) != 0)
		return false;
	if (hl > cl && h[hl - cl - 1] != '.')
		return false; /* whole labels: evilconsole.aws.amazon.com is not the console */
	for (size_t i = 0; i < hl; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false; /* no user info, port or upper case */
	}
	for (const char *c = h + hl; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static int add_destination(struct fed_buf *d, const struct fed_signin_params *p, const struct fed_partition *part)
{
	if (part->console_host == NULL)
		return FED_ERR_INVALID;
	if (p->destination != NULL) {
		if (!console_url_ok(p->destination, part))
			return FED_ERR_INVALID;
		fed_buf_adds(d, p->destination);
		/* A deep link keeps its own region; else the asked one is added. */
		if (p->region != NULL && strstr(p->destination, "region=") == NULL) {
			fed_buf_addc(d, strchr(p->destination, '?') ? '&' : '?');
			fed_buf_adds(d, "region=");
			fed_buf_adds(d, p->region);
		}
		return 0;
	}
	fed_buf_adds(d, "https://");
	if (p->region != NULL) {
		/* aws has regional console hosts; the others one host for all. */
		if (strcmp(part->name, "aws") == 0) {
			fed_buf_adds(d, p->region);
			fed_buf_addc(d, '.');
		}
		fed_buf_adds(d, part->console_host);
		fed_buf_adds(d, "/console/home?region=");
		fed_buf_adds(d, p->region);
	} else {
		fed_buf_adds(d, part->console_host);
		fed_buf_addc(d, '/');
	}
	return 0;
}

int fed_signin_login_url(const struct fed_signin_params *p, const char *signin_token, char **url)
{
	const struct fed_partition *part;
	int rv = check_params(p, &part);
	if (rv != 0)
		return rv;
	if (signin_token == NULL || signin_token[0] == '\0' || strlen(signin_token) > FED_SIGNIN_MAX_TOKEN)
		return FED_ERR_INVALID;

	struct fed_buf dest, login, out;
	fed_buf_init(&dest, FED_SIGNIN_MAX_URL);
	fed_buf_init(&login, FED_SIGNIN_MAX_URL);
	fed_buf_init(&out, FED_SIGNIN_MAX_URL);
	if ((rv = add_destination(&dest, p, part)) != 0 || (rv = add_signin_base(&login, p, part)) != 0)
		goto out;
	if ((rv = dest.err) != 0)
		goto out;
	fed_buf_adds(&login, "/federation?Action=login");
	if (p->issuer != NULL) {
		fed_buf_adds(&login, "&Issuer=");
		fed_buf_add_urlenc(&login, p->issuer, strlen(p->issuer));
	}
	fed_buf_adds(&login, "&Destination=");
	fed_buf_add_urlenc(&login, dest.p, dest.len);
	fed_buf_adds(&login, "&SigninToken=");
	fed_buf_add_urlenc(&login, signin_token, strlen(signin_token));
	if ((rv = login.err) != 0)
		goto out;
	if (p->wrap_logout) {
		/* The sign-out endpoint ends any console session the browser has
		 * (which would otherwise win over the new one) and then follows
		 * redirect_uri to the login. */
		if ((rv = add_signin_base(&out, p, part)) != 0)
			goto out;
		fed_buf_adds(&out, "/oauth?Action=logout&redirect_uri=");
		fed_buf_add_urlenc(&out, login.p, login.len);
		if ((rv = out.err) != 0)
			goto out;
		*url = out.p;
		out.p = NULL;
	} else {
		*url = login.p;
		login.p = NULL;
	}
	rv = 0;
out:
	fed_buf_free(&dest);
	fed_buf_free(&login);
	fed_buf_free(&out);
	return rv;
}

static void call_free(struct fed_signin_call *c)
{
	free(c->region);
	free(c->issuer);
	free(c->destination);
	free(c->endpoint_url);
	free(c);
}

static void finish(struct fed_signin_call *c, int err, const struct fed_signin_result *res, int status)
{
	c->done(c->arg, err, res, status);
	call_free(c);
}

static void http_done_cb(void *arg, const struct fed_http_response *res)
{
	struct fed_signin_call *c = arg;
	c->http = NULL;
	if (res->error != 0) {
		finish(c, res->error, NULL, 0);
		return;
	}
	if (res->status != 200) {
		int err = res->status == 401 || res->status == 403 ? FED_ERR_DENIED
		          : res->status >= 500                     ? FED_ERR_UNAVAILABLE
		                                                   : FED_ERR_REJECTED;
		finish(c, err, NULL, res->status);
		return;
	}
	json_error_t je;
	json_t *j = json_loadb(res->body, res->body_len, JSON_REJECT_DUPLICATES, &je);
	json_t *tok = json_is_object(j) ? json_object_get(j, "SigninToken") : NULL;
	const char *token = json_is_string(tok) ? json_string_value(tok) : NULL;
	if (token == NULL || token[0] == '\0' || json_string_length(tok) > FED_SIGNIN_MAX_TOKEN ||
	    strlen(token) != json_string_length(tok)) {
		json_decref(j);
		finish(c, FED_ERR_PARSE, NULL, 200);
		return;
	}
	char *url = NULL;
	int rv = fed_signin_login_url(&c->p, token, &url);
	/* Wipe jansson's copy of the token before it is freed. */
	OPENSSL_cleanse((char *)(uintptr_t)token, json_string_length(tok));
	json_decref(j);
	if (rv != 0) {
		finish(c, rv, NULL, 200);
		return;
	}
	struct fed_signin_result r = {url, c->session_duration, c->chaining_capped};
	c->done(c->arg, 0, &r, 200);
	fed_secret_free(url);
	call_free(c);
}

static char *dup_or_null(const char *s, bool *failed)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		*failed = true;
	return d;
}

int fed_signin_start(struct fed_transport *t, const struct fed_signin_params *p, const struct fed_creds *session,
                     fed_signin_done_fn *done, void *arg, struct fed_signin_call **call)
{
	if (t == NULL || p == NULL || done == NULL)
		return FED_ERR_INVALID;
	char *url = NULL;
	int rv = fed_signin_token_url(p, session, &url);
	if (rv != 0)
		return rv;
	/* The login URL must be buildable before asking for a token. */
	char *probe = NULL;
	rv = fed_signin_login_url(p, "probe", &probe);
	free(probe);
	if (rv != 0) {
		fed_secret_free(url);
		return rv;
	}
	struct fed_signin_call *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		fed_secret_free(url);
		return FED_ERR_NOMEM;
	}
	bool failed = false;
	c->t = t;
	c->done = done;
	c->arg = arg;
	c->p = *p;
	c->p.region = c->region = dup_or_null(p->region, &failed);
	c->p.issuer = c->issuer = dup_or_null(p->issuer, &failed);
	c->p.destination = c->destination = dup_or_null(p->destination, &failed);
	c->p.endpoint_url = c->endpoint_url = dup_or_null(p->endpoint_url, &failed);
	c->session_duration = p->long_term_base ? p->session_duration : 0;
	c->chaining_capped = !p->long_term_base;
	if (failed) {
		fed_secret_free(url);
		call_free(c);
		return FED_ERR_NOMEM;
	}
	struct fed_http_request req = {
		.method = "GET", .url = url,
		.connect_timeout_ms = p->connect_timeout_ms ? p->connect_timeout_ms : FED_STS_DEFAULT_CONNECT_MS,
		.timeout_ms = p->timeout_ms ? p->timeout_ms : FED_STS_DEFAULT_TIMEOUT_MS,
		.max_response = FED_SIGNIN_MAX_RESPONSE,
	};
	rv = t->http_start(t->arg, &req, http_done_cb, c, &c->http);
	fed_secret_free(url); /* it holds the secret key */
	if (rv != 0) {
		call_free(c);
		return rv;
	}
	if (call != NULL)
		*call = c;
	return 0;
}

void fed_signin_cancel(struct fed_signin_call *c)
{
	if (c == NULL)
		return;
	if (c->http != NULL)
		c->t->http_cancel(c->t->arg, c->http);
	call_free(c);
}
