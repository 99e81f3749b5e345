/* SPDX-License-Identifier: Apache-2.0 */
/* awserror_test.c: the choice of protocol, the exact bytes of each error shape, escaping and the limits of the error renderer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/pipeline.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) lit, sizeof(lit) - 1

struct proto_case {
	const char *name;
	struct px_errctx ctx;
	enum px_aws_protocol want;
};

/* The protocols are botocore's service models' metadata.protocol. */
static const struct proto_case proto_cases[] = {
	{"sts-form", {.service = "sts", .form_action = true}, PX_PROTO_QUERY},
	{"sts-no-body-read", {.service = "sts"}, PX_PROTO_QUERY},
	{"iam", {.service = "iam"}, PX_PROTO_QUERY},
	{"query-action-any-service", {.service = "newsvc", .query = S("Version=1&Action=List")}, PX_PROTO_QUERY},
	{"query-action-prefix-is-not", {.service = "lambda", .query = S("XAction=1")}, PX_PROTO_REST_JSON},
	{"ec2", {.service = "ec2", .form_action = true}, PX_PROTO_EC2},
	{"s3", {.service = "s3"}, PX_PROTO_REST_XML_S3},
	{"s3-outposts", {.service = "s3-outposts"}, PX_PROTO_REST_XML_S3},
	{"route53", {.service = "route53"}, PX_PROTO_REST_XML},
	{"dynamodb-target", {.service = "dynamodb", .target = S("DynamoDB_20120810.GetItem")}, PX_PROTO_JSON},
	{"json-content-type", {.content_type = S("Application/X-Amz-Json-1.1")}, PX_PROTO_JSON},
	{"target-wins-over-ec2", {.service = "ec2", .target = S("x.y")}, PX_PROTO_JSON},
	{"lambda", {.service = "lambda"}, PX_PROTO_REST_JSON},
	{"unknown", {.service = NULL}, PX_PROTO_REST_JSON},
};

static void test_protocol(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(proto_cases); i++) {
		print_message("# %s\n", proto_cases[i].name);
		assert_string_equal(px_aws_protocol_name(px_awserror_protocol(&proto_cases[i].ctx)),
		                    px_aws_protocol_name(proto_cases[i].want));
	}
}

static const char *hdr(const struct px_awserror *e, const char *name)
{
	static char v[256];
	for (size_t i = 0; i < e->nheaders; i++)
		if (strlen(name) == e->headers[i].namelen && memcmp(name, e->headers[i].name, e->headers[i].namelen) == 0) {
			snprintf(v, sizeof(v), "%.*s", (int)e->headers[i].valuelen, e->headers[i].value);
			return v;
		}
	return NULL;
}

static void body_is(const struct px_awserror *e, const char *want)
{
	char got[PX_AWSERROR_MAX_BODY + 1];
	memcpy(got, e->body, e->bodylen);
	got[e->bodylen] = '\0';
	assert_string_equal(got, want);
}

static void test_shapes(void **state)
{
	(void)state;
	static struct px_awserror e;
	struct px_errctx q = {.service = "sts", .form_action = true};
	assert_int_equal(px_awserror_render(&q, PX_R_ROLE_DENIED, "a<b & \"c\" 'd'>", "rid-1", &e), 0);
	assert_int_equal(e.status, 403);
	assert_string_equal(hdr(&e, "x-awsgate-error"), "role-denied");
	assert_string_equal(hdr(&e, "x-amzn-requestid"), "rid-1");
	assert_string_equal(hdr(&e, "content-type"), "text/xml");
	body_is(&e, "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>a&lt;b &amp; "
	            "&quot;c&quot; &apos;d&apos;&gt;</Message></Error><RequestId>rid-1</RequestId></ErrorResponse>\n");

	assert_int_equal(px_awserror_render(&q, PX_R_STS_UNAVAILABLE, "down", "rid-2", &e), 0);
	assert_int_equal(e.status, 503);
	assert_non_null(strstr(e.body, "<Type>Receiver</Type><Code>ServiceUnavailable</Code>"));

	struct px_errctx s3 = {.service = "s3", .method = S("PUT")};
	assert_int_equal(px_awserror_render(&s3, PX_R_PAYLOAD_TOO_LARGE, "big", "rid-3", &e), 0);
	assert_int_equal(e.status, 413);
	assert_string_equal(hdr(&e, "x-amz-request-id"), "rid-3");
	assert_null(hdr(&e, "x-amzn-requestid"));
	body_is(&e, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestEntityTooLarge</Code><Message>"
	            "big</Message><RequestId>rid-3</RequestId></Error>\n");
	struct px_errctx head = {.service = "s3", .method = S("HEAD")};
	assert_int_equal(px_awserror_render(&head, PX_R_ROLE_DENIED, "no", "rid-4", &e), 0);
	assert_int_equal(e.bodylen, 0);
	assert_int_equal(e.status, 403);

	struct px_errctx ddb = {.service = "dynamodb", .target = S("DynamoDB_20120810.GetItem")};
	assert_int_equal(px_awserror_render(&ddb, PX_R_APP_AMBIGUOUS, "q\"\\<>&\001", "rid-5", &e), 0);
	assert_int_equal(e.status, 400);
	assert_string_equal(hdr(&e, "content-type"), "application/x-amz-json-1.0");
	body_is(&e, "{\"__type\":\"ValidationException\",\"message\":\"q\\\"\\\\\\u003c\\u003e\\u0026?\"}");
	struct px_errctx j11 = {.target = S("Foo.Bar"), .content_type = S("application/x-amz-json-1.1")};
	assert_int_equal(px_awserror_render(&j11, PX_R_ROLE_DENIED, "x", "rid-6", &e), 0);
	assert_string_equal(hdr(&e, "content-type"), "application/x-amz-json-1.1");
	assert_non_null(strstr(e.body, "\"__type\":\"AccessDeniedException\""));

	struct px_errctx lam = {.service = "lambda"};
	assert_int_equal(px_awserror_render(&lam, PX_R_UPSTREAM_TIMEOUT, "slow", "rid-7", &e), 0);
	assert_int_equal(e.status, 504);
	assert_string_equal(hdr(&e, "x-amzn-errortype"), "GatewayTimeoutException");
	assert_string_equal(hdr(&e, "content-type"), "application/json");
	body_is(&e, "{\"message\":\"slow\"}");

	struct px_errctx ec2 = {.service = "ec2"};
	assert_int_equal(px_awserror_render(&ec2, PX_R_LOCKED, "locked", "rid-8", &e), 0);
	body_is(&e, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>AccessDenied</Code>"
	            "<Message>locked</Message></Error></Errors><RequestID>rid-8</RequestID></Response>\n");
}

static void test_limits(void **state)
{
	(void)state;
	static struct px_awserror e;
	struct px_errctx q = {.service = "sts"};
	assert_int_equal(px_awserror_render(&q, PX_R_LOCKED, "m", "", &e), PX_ERR_RANGE);
	assert_int_equal(px_awserror_render(&q, PX_R_LOCKED, "m", NULL, &e), PX_ERR_RANGE);
	assert_int_equal(px_awserror_render(&q, PX_R_LOCKED, "m", "rid\r\nx: y", &e), PX_ERR_RANGE);
	char rid[PX_MAX_REQUEST_ID + 2];
	memset(rid, 'a', sizeof(rid));
	rid[PX_MAX_REQUEST_ID + 1] = '\0';
	assert_int_equal(px_awserror_render(&q, PX_R_LOCKED, "m", rid, &e), PX_ERR_RANGE);
	rid[PX_MAX_REQUEST_ID] = '\0';
	assert_int_equal(px_awserror_render(&q, PX_R_LOCKED, "m", rid, &e), 0);
	/* the worst message: every byte escaped to six, cut at PX_MAX_MESSAGE - 1 */
	char msg[2 * PX_MAX_MESSAGE];
	memset(msg, '"', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (int proto = 0; proto < 4; proto++) {
		struct px_errctx c = {.service = proto == 0 ? "sts" : proto == 1 ? "s3" : proto == 2 ? "ec2" : "lambda"};
		assert_int_equal(px_awserror_render(&c, PX_R_LOCKED, msg, rid, &e), 0);
		size_t quotes = 0;
		for (size_t i = 0; i < e.bodylen; i++)
			quotes += (i + 6 <= e.bodylen && memcmp(e.body + i, "&quot;", 6) == 0) ||
			          (i + 2 <= e.bodylen && memcmp(e.body + i, "\\\"", 2) == 0);
		assert_int_equal(quotes, PX_MAX_MESSAGE - 1);
		assert_true(e.bodylen < PX_AWSERROR_MAX_BODY);
	}
	/* an unknown reason renders as internal */
	assert_int_equal(px_awserror_render(&q, (enum px_reason)999, "m", "r", &e), 0);
	assert_int_equal(e.status, 500);
	assert_string_equal(hdr(&e, "x-awsgate-error"), "internal");
}

static void test_from_request(void **state)
{
	(void)state;
	struct sv4_header h[] = {
		{S("Content-Type"), S("application/x-www-form-urlencoded")},
		{S("Authorization"),
		 S("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, "
		   "SignedHeaders=host;x-amz-date, Signature=abc")},
	};
	struct sv4_request req = {S("POST"), S("/"), S(""), h, 2, NULL, 0};
	struct px_errctx c;
	char svc[32];
	px_errctx_from_request(&c, &req, NULL, svc, sizeof(svc));
	assert_string_equal(c.service, "sts");
	assert_int_equal(c.methodlen, 4);
	assert_int_equal(c.content_typelen, 33);
	assert_null(c.target);

	struct sv4_request pre = {S("GET"), S("/b/k"),
	                          S("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fs3%2F"
	                            "aws4_request&X-Amz-Date=20150830T123600Z"),
	                          NULL, 0, NULL, 0};
	px_errctx_from_request(&c, &pre, NULL, svc, sizeof(svc));
	assert_string_equal(c.service, "s3");
	assert_int_equal(px_awserror_protocol(&c), PX_PROTO_REST_XML_S3);

	struct sv4_header bad[] = {{S("authorization"), S("AWS4-HMAC-SHA256 Credential=A/d/r/S<x>/aws4_request")}};
	struct sv4_request breq = {S("GET"), S("/"), S(""), bad, 1, NULL, 0};
	px_errctx_from_request(&c, &breq, NULL, svc, sizeof(svc));
	assert_null(c.service);
	px_errctx_from_request(&c, &breq, "lambda", svc, sizeof(svc));
	assert_string_equal(c.service, "lambda");
	/* a service longer than the buffer is unknown, not cut */
	px_errctx_from_request(&c, &req, NULL, svc, 3);
	assert_null(c.service);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_from_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
