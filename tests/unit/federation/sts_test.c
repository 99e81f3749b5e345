/* SPDX-License-Identifier: Apache-2.0 */
/* sts_test.c: STS calls against canned replies and a fake clock: forms, endpoints, signing, answers, every error class, retries, cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/federation.h"
#include "federation/federation_int.h"
#include "tests/unit/federation/fake.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static char *slurp(const char *name)
{
	const char *top = getenv("abs_top_srcdir");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/federation/sts/%s", top ? top : ".", name);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	char *buf = malloc(65536);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* What the callback saw, copied. */
struct outcome {
	int calls;
	int err;
	struct fed_creds creds;
	char role_arn[256], role_id[128], account[32], arn[256], user_id[64], source_identity[80], request_id[80];
	char fed_arn[256];
	struct fed_sts_error e;
};

static void cp(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "(null)");
}

static void on_done(void *arg, int err, const struct fed_sts_result *res, const struct fed_sts_error *e)
{
	struct outcome *o = arg;
	o->calls++;
	o->err = err;
	o->e = *e;
	if (err != 0) {
		assert_null(res);
		return;
	}
	assert_non_null(res);
	if (res->creds.access_key_id != NULL)
		assert_int_equal(fed_creds_copy(&o->creds, &res->creds), 0);
	cp(o->role_arn, sizeof(o->role_arn), res->assumed_role_arn);
	cp(o->role_id, sizeof(o->role_id), res->assumed_role_id);
	cp(o->account, sizeof(o->account), res->account);
	cp(o->arn, sizeof(o->arn), res->arn);
	cp(o->user_id, sizeof(o->user_id), res->user_id);
	cp(o->source_identity, sizeof(o->source_identity), res->source_identity);
	cp(o->request_id, sizeof(o->request_id), res->request_id);
	cp(o->fed_arn, sizeof(o->fed_arn), res->federated_user_arn);
	cp(o->creds.source, sizeof(o->creds.source), res->creds.source);
}

static char akid[] = "AKIDEXAMPLE", asia[] = "ASIAEXAMPLE", secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static char token[] = "FQoGZXIvYXdzEXAMPLE";

static struct fed_creds base_creds = {
	.access_key_id = akid,
	.secret_access_key = secret,
	.session_token = NULL,
	.long_term = true,
};

static struct fed_creds temp_creds = {
	.access_key_id = asia,
	.secret_access_key = secret,
	.session_token = token,
};

static const struct fed_tag tags[] = {{"team", "a b/c"}, {"k~2", ""}};

static struct fed_sts_params assume_params(void)
{
	struct fed_sts_params p = {
		.action = FED_STS_ASSUME_ROLE,
		.region = "eu-west-1",
		.role_arn = "arn:aws:iam::123456789012:role/Dev Ops+1",
		.role_session_name = "alice@example.com",
		.external_id = "ext id/\xc3\xa9&=",
		.source_identity = "alice@example.com",
		.duration_seconds = 3600,
		.tags = tags,
		.ntags = 2,
		.policy = "{\"Version\":\"2012-10-17\"}",
	};
	return p;
}

/* botocore 1.29's serialisation of the same AssumeRole (client.assume_role
 * with these parameters, body captured before sending). */
static const char botocore_body[] =
	"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FDev+Ops%2B1"
	"&RoleSessionName=alice%40example.com&ExternalId=ext+id%2F%C3%A9%26%3D&DurationSeconds=3600"
	"&SourceIdentity=alice%40example.com&Tags.member.1.Key=team&Tags.member.1.Value=a+b%2Fc"
	"&Tags.member.2.Key=k~2&Tags.member.2.Value=&Policy=%7B%22Version%22%3A%222012-10-17%22%7D";

static void test_assume_role(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_sts_params p = assume_params();
	char *xml = slurp("assume-role.xml");

	fake_reply(f, "https://sts.eu-west-1.amazonaws.com/", 200, xml);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
	assert_int_equal(o.calls, 0); /* never from inside the call */
	fake_run(f);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.err, 0);
	assert_string_equal(o.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(o.creds.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	assert_string_equal(o.creds.session_token, "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=");
	assert_int_equal(o.creds.expiration, 1764550800); /* 2025-12-01T01:00:00Z */
	assert_false(o.creds.long_term);
	assert_string_equal(o.creds.source, "sts:AssumeRole");
	assert_string_equal(o.role_arn, "arn:aws:sts::123456789012:assumed-role/Dev/alice@example.com");
	assert_string_equal(o.role_id, "AROA3XFRBF535PLBIFPI4:alice@example.com");
	assert_string_equal(o.source_identity, "alice@example.com");
	assert_string_equal(o.request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
	assert_int_equal(o.e.attempts, 1);

	assert_int_equal(fake_nrequests(f), 1);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(fake_request_header(r, "Host"), "sts.eu-west-1.amazonaws.com");
	assert_string_equal(fake_request_header(r, "Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
	assert_string_equal(fake_request_header(r, "X-Amz-Date"), "20251201T000000Z");
	assert_null(fake_request_header(r, "X-Amz-Security-Token"));
	/* botocore's SigV4Auth over the same request (method, URL, body,
	 * Content-Type, 2025-12-01T00:00:00Z) gives this very header. */
	assert_string_equal(fake_request_header(r, "Authorization"),
	                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251201/eu-west-1/sts/aws4_request, "
	                    "SignedHeaders=content-type;host;x-amz-date, "
	                    "Signature=ed3595b6752e5f11af29129915b2ae660b3bf7a1334e6a6179e460389685da83");
	assert_int_equal(r->connect_timeout_ms, FED_STS_DEFAULT_CONNECT_MS);
	assert_int_equal(r->timeout_ms, FED_STS_DEFAULT_TIMEOUT_MS);
	assert_int_equal(r->max_response, FED_STS_MAX_RESPONSE);

	/* Every field botocore sends, with the value botocore sends, and no other. */
	size_t fields = 0;
	for (const char *s = botocore_body; *s != '\0';) {
		const char *amp = strchr(s, '&'), *eq = strchr(s, '=');
		size_t len = amp ? (size_t)(amp - s) : strlen(s);
		char key[64], want[256];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - s), s);
		/* Decode botocore's value with the same decoder through a fake request. */
		struct fake_request tmp = {0};
		char body[512];
		snprintf(body, sizeof(body), "%.*s", (int)len, s);
		tmp.body = body;
		snprintf(want, sizeof(want), "%s", fake_request_param(&tmp, key, 0));
		const char *got = fake_request_param(r, key, 0);
		if (got == NULL || strcmp(got, want) != 0)
			fail_msg("%s: sent \"%s\", botocore \"%s\"", key, got ? got : "(absent)", want);
		fields++;
		s += len + (amp != NULL);
	}
	size_t sent = 1;
	for (const char *s = r->body; *s != '\0'; s++)
		sent += *s == '&';
	assert_int_equal(sent, fields);
	assert_int_equal(fake_misuse(f), 0);
	assert_int_equal(fake_pending(f), 0);
	fed_creds_free(&o.creds);
	free(xml);
	fake_del(f);
}

static void test_endpoints(void **state)
{
	(void)state;
	static const struct {
		const char *region, *endpoint_url, *url, *host, *scope;
	} cases[] = {
		{NULL, NULL, "https://sts.amazonaws.com/", "sts.amazonaws.com", "/us-east-1/sts/"},
		{"us-west-2", NULL, "https://sts.us-west-2.amazonaws.com/", "sts.us-west-2.amazonaws.com", "/us-west-2/sts/"},
		{"cn-north-1", NULL, "https://sts.cn-north-1.amazonaws.com.cn/", "sts.cn-north-1.amazonaws.com.cn",
		 "/cn-north-1/sts/"},
		{"us-gov-west-1", NULL, "https://sts.us-gov-west-1.amazonaws.com/", "sts.us-gov-west-1.amazonaws.com",
		 "/us-gov-west-1/sts/"},
		{"eu-west-1", "https://localhost:8443", "https://localhost:8443", "localhost:8443", "/eu-west-1/sts/"},
		{NULL, "https://sts.amazonaws.com:443/", "https://sts.amazonaws.com:443/", "sts.amazonaws.com",
		 "/us-east-1/sts/"},
		{"us-east-1", "https://127.0.0.1:9000/sts", "https://127.0.0.1:9000/sts", "127.0.0.1:9000", "/us-east-1/sts/"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		struct fake *f = fake_new();
		struct outcome o = {0};
		struct fed_sts_params p = {.action = FED_STS_GET_CALLER_IDENTITY, .region = cases[i].region,
		                           .endpoint_url = cases[i].endpoint_url};
		char *xml = slurp("caller-identity.xml");
		fake_reply(f, NULL, 200, xml);
		assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &temp_creds, on_done, &o, NULL), 0);
		fake_run(f);
		assert_int_equal(o.err, 0);
		const struct fake_request *r = fake_request(f, 0);
		assert_string_equal(r->url, cases[i].url);
		assert_string_equal(fake_request_header(r, "Host"), cases[i].host);
		assert_non_null(strstr(fake_request_header(r, "Authorization"), cases[i].scope));
		assert_string_equal(fake_request_header(r, "X-Amz-Security-Token"), "FQoGZXIvYXdzEXAMPLE");
		assert_string_equal(r->body, "Action=GetCallerIdentity&Version=2011-06-15");
		assert_string_equal(o.account, "123456789012");
		assert_string_equal(o.arn, "arn:aws:iam::123456789012:user/gate");
		assert_string_equal(o.user_id, "AIDACKCEVSQ6C2EXAMPLE");
		assert_string_equal(o.request_id, "01234567-89ab-cdef-0123-456789abcdef");
		free(xml);
		fake_del(f);
	}
}

/* A session token is sent and signed; botocore's SigV4Auth agrees. */
static void test_signature_with_token(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_creds c = {.access_key_id = akid, .secret_access_key = secret, .session_token = token};
	struct fed_sts_params p = {.action = FED_STS_GET_CALLER_IDENTITY, .region = "cn-north-1"};
	fake_reply(f, NULL, 500, "");
	p.max_attempts = 1;
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &c, on_done, &o, NULL), 0);
	fake_run(f);
	assert_int_equal(o.err, FED_ERR_UNAVAILABLE);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(r->url, "https://sts.cn-north-1.amazonaws.com.cn/");
	assert_string_equal(fake_request_header(r, "X-Amz-Security-Token"), token);
	assert_string_equal(fake_request_header(r, "Authorization"),
	                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251201/cn-north-1/sts/aws4_request, "
	                    "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
	                    "Signature=a74e257e02e1badd77dad8201a0f9fceeadf415c688dafdeb0f143c7955fcf0a");
	fake_del(f);
}

static void test_web_identity_and_federation_token(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	char *xml = slurp("web-identity.xml");
	struct fed_sts_params p = {
		.action = FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, .region = "us-east-1",
		.role_arn = "arn:aws:iam::123456789012:role/Eks", .role_session_name = "gate",
		.web_identity_token = "eyJhbGciOi.secret.token",
	};
	fake_reply(f, NULL, 200, xml);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, NULL, on_done, &o, NULL), 0);
	fake_run(f);
	assert_int_equal(o.err, 0);
	const struct fake_request *r = fake_request(f, 0);
	assert_null(fake_request_header(r, "Authorization")); /* unsigned */
	assert_string_equal(fake_request_param(r, "WebIdentityToken", 0), "eyJhbGciOi.secret.token");
	assert_string_equal(fake_request_param(r, "Action", 0), "AssumeRoleWithWebIdentity");
	assert_string_equal(o.creds.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
	assert_int_equal(o.creds.expiration, 1764550800); /* fraction dropped */
	assert_string_equal(o.role_arn, "arn:aws:sts::123456789012:assumed-role/Eks/gate");
	assert_string_equal(o.source_identity, "(null)");
	fed_creds_free(&o.creds);
	free(xml);

	memset(&o, 0, sizeof(o));
	xml = slurp("federation-token.xml");
	struct fed_sts_params q = {.action = FED_STS_GET_FEDERATION_TOKEN, .region = "us-east-1",
	                           .federated_name = "alice", .duration_seconds = 43200,
	                           .policy = "{\"Statement\":[]}"};
	fake_reply(f, NULL, 200, xml);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &q, &base_creds, on_done, &o, NULL), 0);
	fake_run(f);
	assert_int_equal(o.err, 0);
	r = fake_request(f, 1);
	assert_string_equal(fake_request_param(r, "Name", 0), "alice");
	assert_string_equal(fake_request_param(r, "DurationSeconds", 0), "43200");
	assert_string_equal(fake_request_param(r, "Policy", 0), "{\"Statement\":[]}");
	assert_string_equal(o.fed_arn, "arn:aws:sts::123456789012:federated-user/alice");
	assert_string_equal(o.creds.source, "sts:GetFederationToken");
	assert_int_equal(o.creds.expiration, 1764590400);
	fed_creds_free(&o.creds);
	free(xml);
	fake_del(f);
}

static const char throttle_xml[] =
	"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
	"<RequestId>r-throttle</RequestId></ErrorResponse>";

/* One canned sequence of answers, and what the call must end with. */
struct seq_case {
	const char *name;
	int status[4];   /* 0: end; negative: a transport error FED_ERR_* */
	const char *body[4];
	uint32_t max_attempts;
	int want_err;
	uint32_t want_attempts;
	const char *want_code;
	int want_status;
};

static const char denied_xml[] = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not authorized &amp; "
                                 "so on</Message></Error><RequestId>r-denied</RequestId></ErrorResponse>";
static const char validation_xml[] = "<ErrorResponse><Error><Code>ValidationError</Code><Message>1 validation "
                                     "error</Message></Error><RequestId>r-val</RequestId></ErrorResponse>";
static const char expired_xml[] =
	"<ErrorResponse><Error><Code>ExpiredToken</Code><Message>expired</Message></Error></ErrorResponse>";
static const char region_xml[] = "<ErrorResponse><Error><Code>RegionDisabledException</Code></Error></ErrorResponse>";
static const char internal_xml[] = "<ErrorResponse><Error><Code>InternalFailure</Code></Error></ErrorResponse>";
static const char limit_xml[] = "<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";

static const struct seq_case seq_cases[] = {
	{"denied-is-final", {403}, {denied_xml}, 3, FED_ERR_DENIED, 1, "AccessDenied", 403},
	{"validation-is-final", {400}, {validation_xml}, 3, FED_ERR_REJECTED, 1, "ValidationError", 400},
	{"expired-token-is-final", {400}, {expired_xml}, 3, FED_ERR_REJECTED, 1, "ExpiredToken", 400},
	{"region-disabled-is-final", {403}, {region_xml}, 3, FED_ERR_REJECTED, 1, "RegionDisabledException", 403},
	{"unknown-4xx-is-final", {404}, {"not xml"}, 3, FED_ERR_REJECTED, 1, "", 404},
	{"throttled-thrice", {400, 400, 400}, {throttle_xml, throttle_xml, throttle_xml}, 3, FED_ERR_THROTTLED, 3,
	 "Throttling", 400},
	{"429-without-body", {429, 429}, {"", ""}, 2, FED_ERR_THROTTLED, 2, "", 429},
	{"request-limit-exceeded", {503}, {limit_xml}, 1, FED_ERR_THROTTLED, 1, "RequestLimitExceeded", 503},
	{"throttled-then-ok", {400, 200}, {throttle_xml, NULL}, 3, 0, 2, "", 200},
	{"500-then-ok", {500, 200}, {internal_xml, NULL}, 3, 0, 2, "", 200},
	{"5xx-thrice", {500, 502, 503}, {internal_xml, "bad gateway", ""}, 3, FED_ERR_UNAVAILABLE, 3, "", 503},
	{"transport-then-timeout-then-ok", {FED_ERR_TRANSPORT, FED_ERR_TIMEOUT, 200}, {NULL, NULL, NULL}, 3, 0, 3,
	 "", 200},
	{"transport-thrice", {FED_ERR_TRANSPORT, FED_ERR_TRANSPORT, FED_ERR_TRANSPORT}, {NULL}, 3,
	 FED_ERR_UNAVAILABLE, 3, "", 0},
	{"throttle-then-5xx-ends-unavailable", {400, 500}, {throttle_xml, internal_xml}, 2, FED_ERR_UNAVAILABLE, 2,
	 "InternalFailure", 500},
	{"too-large-is-final", {FED_ERR_TOO_LARGE}, {NULL}, 3, FED_ERR_TOO_LARGE, 1, "", 0},
	{"garbage-200-is-parse", {200}, {"<html>hello</html>"}, 3, FED_ERR_PARSE, 1, "", 200},
	{"truncated-200-is-parse", {200}, {"<AssumeRoleResponse><AssumeRoleResult><Credentials>"}, 3, FED_ERR_PARSE, 1,
	 "", 200},
	{"no-token-is-parse", {200},
	 {"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
	  "</SecretAccessKey><Expiration>2025-12-01T01:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>a"
	  "</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"},
	 3, FED_ERR_PARSE, 1, "", 200},
	{"bad-expiration-is-parse", {200},
	 {"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
	  "</SecretAccessKey><SessionToken>T</SessionToken><Expiration>tomorrow</Expiration></Credentials>"
	  "<AssumedRoleUser><Arn>a</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"},
	 3, FED_ERR_PARSE, 1, "", 200},
	{"doctype-200-is-parse", {200}, {"<!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>"}, 3, FED_ERR_PARSE, 1, "", 200},
};

static void test_sequences(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(seq_cases); i++) {
		const struct seq_case *c = &seq_cases[i];
		struct fake *f = fake_new();
		struct outcome o = {0};
		struct fed_sts_params p = assume_params();
		p.max_attempts = c->max_attempts;
		char *ok = slurp("assume-role.xml");
		size_t n = 0;
		for (; n < 4 && c->status[n] != 0; n++) {
			if (c->status[n] < 0)
				fake_fail(f, NULL, c->status[n]);
			else
				fake_reply(f, NULL, c->status[n], c->status[n] == 200 && c->body[n] == NULL ? ok : c->body[n]);
		}
		assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
		fake_settle(f, 600000);
		if (o.calls != 1 || o.err != c->want_err || o.e.attempts != c->want_attempts)
			fail_msg("%s: calls %d err %d (%s) attempts %u; want err %d attempts %u", c->name, o.calls, o.err,
			         fed_strerror(o.err), o.e.attempts, c->want_err, c->want_attempts);
		if (strcmp(o.e.code, c->want_code) != 0 || o.e.status != c->want_status)
			fail_msg("%s: code \"%s\" status %d", c->name, o.e.code, o.e.status);
		assert_int_equal(fake_nrequests(f), c->want_attempts);
		assert_int_equal(fake_unmatched(f), 0);
		assert_int_equal(fake_pending(f), 0);
		/* Retries back off within the bounds, each signed anew. */
		for (size_t k = 1; k < fake_nrequests(f); k++) {
			int64_t gap = fake_request(f, k)->started_ms - fake_request(f, k - 1)->started_ms;
			assert_true(gap >= FED_STS_RETRY_BASE_MS / 2 && gap <= FED_STS_RETRY_CAP_MS);
		}
		if (o.err == 0)
			fed_creds_free(&o.creds);
		free(ok);
		fake_del(f);
	}
}

static void test_error_details(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_sts_params p = assume_params();
	fake_reply(f, NULL, 403, denied_xml);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
	fake_run(f);
	assert_int_equal(o.err, FED_ERR_DENIED);
	assert_string_equal(o.e.message, "not authorized & so on");
	assert_string_equal(o.e.request_id, "r-denied");
	/* The request id from the header when the body has none. */
	memset(&o, 0, sizeof(o));
	fake_reply_header(fake_reply(f, NULL, 400, expired_xml), "x-amzn-RequestId", "r-header");
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
	fake_run(f);
	assert_string_equal(o.e.request_id, "r-header");
	fake_del(f);
}

static void test_backoff_bounds(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_sts_params p = assume_params();
	p.max_attempts = 50; /* capped at FED_STS_MAX_ATTEMPTS */
	for (int i = 0; i < 12; i++)
		fake_reply(f, NULL, 400, throttle_xml);
	/* Lowest then highest jitter, alternately. */
	for (int i = 0; i < 12; i++)
		fake_random_push(f, i % 2 ? 0xffffffffu : 0);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
	fake_settle(f, 3600000);
	assert_int_equal(o.err, FED_ERR_THROTTLED);
	assert_int_equal(o.e.attempts, FED_STS_MAX_ATTEMPTS);
	assert_int_equal(fake_nrequests(f), FED_STS_MAX_ATTEMPTS);
	/* Timer 0 is the first attempt; then one backoff per retry. */
	assert_int_equal(fake_ntimers(f), FED_STS_MAX_ATTEMPTS);
	assert_int_equal(fake_timer_delay(f, 0), 0);
	uint32_t d = FED_STS_THROTTLE_BASE_MS;
	for (size_t k = 1; k < fake_ntimers(f); k++) {
		uint32_t got = fake_timer_delay(f, k);
		if (got < d / 2 || got > d)
			fail_msg("backoff %zu: %u ms outside [%u, %u]", k, got, d / 2, d);
		if (k % 2 == 1)
			assert_int_equal(got, d / 2); /* random 0: the lowest */
		d = d * 2 > FED_STS_RETRY_CAP_MS ? FED_STS_RETRY_CAP_MS : d * 2;
	}
	assert_int_equal(d, FED_STS_RETRY_CAP_MS); /* the cap was reached */
	fake_del(f);
}

static void test_timeouts_passed(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_sts_params p = assume_params();
	p.connect_timeout_ms = 111;
	p.timeout_ms = 2222;
	p.max_attempts = 2;
	fake_reply_delay(fake_reply(f, NULL, 200, "never"), 5000); /* slower than the timeout */
	char *ok = slurp("assume-role.xml");
	fake_reply(f, NULL, 200, ok);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
	fake_settle(f, 60000);
	assert_int_equal(o.err, 0);
	assert_int_equal(o.e.attempts, 2);
	assert_int_equal(fake_request(f, 0)->connect_timeout_ms, 111);
	assert_int_equal(fake_request(f, 0)->timeout_ms, 2222);
	/* The retry was signed at its own time. */
	assert_string_not_equal(fake_request_header(fake_request(f, 0), "X-Amz-Date"),
	                        fake_request_header(fake_request(f, 1), "X-Amz-Date"));
	fed_creds_free(&o.creds);
	free(ok);
	fake_del(f);
}

static void test_cancel(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_sts_params p = assume_params();
	struct fed_sts_call *call = NULL;

	/* Before the first attempt. */
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, &call), 0);
	fed_sts_cancel(call);
	fake_settle(f, 60000);
	assert_int_equal(fake_nrequests(f), 0);
	/* While the request is in flight. */
	fake_reply_delay(fake_reply(f, NULL, 200, "x"), 1000);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, &call), 0);
	fake_run(f);
	assert_int_equal(fake_nrequests(f), 1);
	fed_sts_cancel(call);
	assert_true(fake_request(f, 0)->cancelled);
	/* During a backoff. */
	fake_reply(f, NULL, 500, internal_xml);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, &call), 0);
	fake_run(f);
	assert_int_equal(fake_nrequests(f), 2);
	assert_int_equal(fake_pending(f), 1); /* the backoff timer */
	fed_sts_cancel(call);
	fake_settle(f, 60000);
	assert_int_equal(o.calls, 0);
	assert_int_equal(fake_pending(f), 0);
	assert_int_equal(fake_misuse(f), 0);
	fed_sts_cancel(NULL);
	fake_del(f);
}

static void test_invalid(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_tag many[FED_STS_MAX_TAGS + 1];
	for (size_t i = 0; i < LEN(many); i++)
		many[i] = (struct fed_tag){"k", "v"};
	struct fed_creds nokey = {.secret_access_key = secret};
	struct fed_sts_call *call = (struct fed_sts_call *)&o;

	struct fed_sts_params p;
#define BAD(mutation, creds)                                                                                     \
	do {                                                                                                     \
		p = assume_params();                                                                             \
		mutation;                                                                                        \
		assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, creds, on_done, &o, &call),   \
		                 FED_ERR_INVALID);                                                               \
	} while (0)
	BAD(p.role_arn = NULL, &base_creds);
	BAD(p.role_arn = "arn:short", &base_creds);
	BAD(p.role_session_name = "a", &base_creds);
	BAD(p.role_session_name = "12345678901234567890123456789012345678901234567890123456789012345", &base_creds);
	BAD(p.duration_seconds = 899, &base_creds);
	BAD(p.duration_seconds = FED_STS_MAX_DURATION + 1, &base_creds);
	BAD(p.external_id = "x", &base_creds);
	BAD(p.source_identity = "", &base_creds);
	BAD((p.tags = many, p.ntags = LEN(many)), &base_creds);
	BAD((p.tags = NULL, p.ntags = 1), &base_creds);
	BAD(p.policy = "", &base_creds);
	BAD(p.region = "EU-WEST-1", &base_creds);
	BAD(p.endpoint_url = "http://sts.amazonaws.com/", &base_creds);
	BAD(p.endpoint_url = "https://user@sts.amazonaws.com/", &base_creds);
	BAD(p.endpoint_url = "https:///", &base_creds);
	BAD(p.endpoint_url = "https://sts.amazonaws.com/?x=1", &base_creds);
	BAD((void)0, NULL);
	BAD((void)0, &nokey);
	BAD(p.action = (enum fed_sts_action)42, &base_creds);
	BAD((p.action = FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, p.web_identity_token = NULL), NULL);
	BAD((p.action = FED_STS_GET_FEDERATION_TOKEN, p.federated_name = "x"), &base_creds);
#undef BAD
	assert_int_equal(fed_sts_start(NULL, fake_env(f), &p, &base_creds, on_done, &o, &call), FED_ERR_INVALID);
	assert_ptr_equal(call, (struct fed_sts_call *)&o); /* untouched */
	fake_settle(f, 60000);
	assert_int_equal(o.calls, 0);
	assert_int_equal(fake_nrequests(f), 0);
	assert_int_equal(fake_pending(f), 0);

	/* A form over FED_STS_MAX_REQUEST_BODY: an argument out of range. */
	char *wit = malloc(20001), *policy = malloc(20001);
	assert_non_null(wit);
	assert_non_null(policy);
	memset(wit, '%', 20000); /* each encodes as 3 bytes */
	wit[20000] = '\0';
	memset(policy, ' ', 20000);
	policy[20000] = '\0';
	p = assume_params();
	p.action = FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY;
	p.web_identity_token = wit;
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, NULL, on_done, &o, NULL), 0);
	p.policy = policy;
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, NULL, on_done, &o, NULL), FED_ERR_INVALID);
	fake_settle(f, 600000); /* the first one runs (and fails: no reply queued) */
	assert_int_equal(o.calls, 1);
	free(wit);
	free(policy);
	fake_del(f);
}

static void test_start_failures(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_sts_params p = assume_params();
	char *ok = slurp("assume-role.xml");
	/* http_start refusing once is a transport failure: retried. */
	fake_start_fails(f, 1, FED_ERR_TRANSPORT);
	fake_reply(f, NULL, 200, ok);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
	fake_settle(f, 60000);
	assert_int_equal(o.err, 0);
	assert_int_equal(o.e.attempts, 2);
	fed_creds_free(&o.creds);
	/* Out of memory is final. */
	memset(&o, 0, sizeof(o));
	fake_start_fails(f, 1, FED_ERR_NOMEM);
	assert_int_equal(fed_sts_start(fake_transport(f), fake_env(f), &p, &base_creds, on_done, &o, NULL), 0);
	fake_settle(f, 60000);
	assert_int_equal(o.err, FED_ERR_NOMEM);
	assert_int_equal(o.e.attempts, 1);
	free(ok);
	fake_del(f);
}

static void test_iso8601(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rv;
		int64_t t;
	} cases[] = {
		{"2025-12-01T01:00:00Z", 0, 1764550800},
		{"2025-12-01T01:00:00.123Z", 0, 1764550800},
		{"2025-12-01T01:00:00+00:00", 0, 1764550800},
		{"1970-01-01T00:00:00Z", 0, 0},
		{"2024-02-29T12:00:00Z", 0, 1709208000},
		{"2023-02-29T12:00:00Z", FED_ERR_PARSE, 0},
		{"2025-13-01T00:00:00Z", FED_ERR_PARSE, 0},
		{"2025-12-01T24:00:00Z", FED_ERR_PARSE, 0},
		{"2025-12-01T01:00:00", FED_ERR_PARSE, 0},
		{"2025-12-01T01:00:00+01:00", FED_ERR_PARSE, 0},
		{"2025-12-01 01:00:00Z", FED_ERR_PARSE, 0},
		{"1969-12-31T23:59:59Z", FED_ERR_PARSE, 0},
		{"2025-12-01T01:00:00.Z", FED_ERR_PARSE, 0},
		{"2025-12-01T01:00:00ZZ", FED_ERR_PARSE, 0},
		{"", FED_ERR_PARSE, 0},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		int64_t t = -1;
		int rv = fed_iso8601_parse(cases[i].s, strlen(cases[i].s), &t);
		if (rv != cases[i].rv || (rv == 0 && t != cases[i].t) || (rv != 0 && t != -1))
			fail_msg("%s: rv %d t %lld", cases[i].s, rv, (long long)t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assume_role),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_signature_with_token),
		cmocka_unit_test(test_web_identity_and_federation_token),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_error_details),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_timeouts_passed),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_start_failures),
		cmocka_unit_test(test_iso8601),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
