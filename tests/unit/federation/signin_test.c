/* SPDX-License-Identifier: Apache-2.0 */
/* signin_test.c: console sign-in with canned getSigninToken replies: token and login URLs, destinations, sign-out wrapping, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "federation/federation.h"
#include "tests/unit/federation/fake.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static char ak[] = "ASIAEXAMPLE", sk[] = "wJalr/K7+MDENG=", tk[] = "FQoG+ZXIv/YXdz==";
static struct fed_creds session = {.access_key_id = ak, .secret_access_key = sk, .session_token = tk};

struct outcome {
	int calls, err, status;
	char url[4096];
	uint32_t duration;
	bool capped;
};

static void on_done(void *arg, int err, const struct fed_signin_result *res, int status)
{
	struct outcome *o = arg;
	o->calls++;
	o->err = err;
	o->status = status;
	if (err == 0) {
		snprintf(o->url, sizeof(o->url), "%s", res->login_url);
		o->duration = res->session_duration;
		o->capped = res->chaining_capped;
	} else {
		assert_null(res);
	}
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Decodes query parameter |name| of |url| with the fixture's decoder. */
static const char *qparam(const char *url, const char *name)
{
	struct fake_request r = {0};
	r.url = (char *)(uintptr_t)url;
	return fake_request_param(&r, name, 1);
}

static void test_token_url(void **state)
{
	(void)state;
	struct fed_signin_params p = {.long_term_base = true, .session_duration = 43200};
	char *url = NULL;
	assert_int_equal(fed_signin_token_url(&p, &session, &url), 0);
	assert_true(starts_with(url, "https://signin.aws.amazon.com/federation?Action=getSigninToken&"));
	assert_string_equal(qparam(url, "SessionDuration"), "43200");
	json_error_t je;
	json_t *j = json_loads(qparam(url, "Session"), 0, &je);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 3);
	assert_string_equal(json_string_value(json_object_get(j, "sessionId")), ak);
	assert_string_equal(json_string_value(json_object_get(j, "sessionKey")), sk);
	assert_string_equal(json_string_value(json_object_get(j, "sessionToken")), tk);
	json_decref(j);
	free(url);

	/* Role-chained credentials: no SessionDuration. */
	p.long_term_base = false;
	assert_int_equal(fed_signin_token_url(&p, &session, &url), 0);
	assert_null(qparam(url, "SessionDuration"));
	free(url);

	/* Regional, GovCloud, China. */
	struct {
		struct fed_signin_params p;
		const char *prefix;
	} hosts[] = {
		{{.region = "eu-west-1", .regional_signin = true}, "https://eu-west-1.signin.aws.amazon.com/federation?"},
		{{.region = "us-gov-west-1"}, "https://signin.amazonaws-us-gov.com/federation?"},
		{{.region = "us-gov-east-1", .regional_signin = true},
		 "https://us-gov-east-1.signin.amazonaws-us-gov.com/federation?"},
		{{.region = "cn-north-1"}, "https://signin.amazonaws.cn/federation?"},
		{{.partition = NULL, .endpoint_url = "https://127.0.0.1:8443"}, "https://127.0.0.1:8443/federation?"},
	};
	for (size_t i = 0; i < LEN(hosts); i++) {
		assert_int_equal(fed_signin_token_url(&hosts[i].p, &session, &url), 0);
		if (strncmp(url, hosts[i].prefix, strlen(hosts[i].prefix)) != 0)
			fail_msg("%s does not start with %s", url, hosts[i].prefix);
		free(url);
	}

	/* JSON escaping of what a credential could hold. */
	char odd[] = "a\"b\\c\x01d/\xc3\xa9";
	struct fed_creds oddc = {.access_key_id = ak, .secret_access_key = odd, .session_token = tk};
	struct fed_signin_params plain = {0};
	assert_int_equal(fed_signin_token_url(&plain, &oddc, &url), 0);
	j = json_loads(qparam(url, "Session"), 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "sessionKey")), odd);
	json_decref(j);
	free(url);

	/* Refused. */
	struct fed_creds longterm = {.access_key_id = ak, .secret_access_key = sk};
	url = (char *)&p;
	assert_int_equal(fed_signin_token_url(&p, &longterm, &url), FED_ERR_INVALID);
	struct fed_signin_params bad[] = {
		{.session_duration = 899, .long_term_base = true},
		{.session_duration = 43201, .long_term_base = true},
		{.regional_signin = true},                          /* no region */
		{.region = "us-iso-east-1"},                        /* no console known */
		{.partition = NULL, .region = "EU-WEST-1"},
		{.region = "cn-north-1", .regional_signin = true},  /* China has no regional sign-in here */
		{.endpoint_url = "http://127.0.0.1:8443"},
	};
	bad[4].partition = NULL;
	for (size_t i = 0; i < LEN(bad); i++)
		if (fed_signin_token_url(&bad[i], &session, &url) != FED_ERR_INVALID)
			fail_msg("bad case %zu accepted", i);
	struct fed_signin_params mismatch = {.partition = fed_partition_by_name("aws-cn"), .region = "us-east-1"};
	assert_int_equal(fed_signin_token_url(&mismatch, &session, &url), FED_ERR_INVALID);
	assert_ptr_equal(url, (char *)&p); /* untouched */
}

static void test_login_urls(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		struct fed_signin_params p;
		const char *want;
	} cases[] = {
		{"plain", {.issuer = "https://gate.example.com/"},
		 "https://signin.aws.amazon.com/federation?Action=login&Issuer=https%3A%2F%2Fgate.example.com%2F"
		 "&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=tok%2B%2F%3D"},
		{"region-deep-link", {.region = "eu-west-1"},
		 "https://signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Feu-west-1.console.aws."
		 "amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1&SigninToken=tok%2B%2F%3D"},
		{"regional-signin", {.region = "eu-west-1", .regional_signin = true},
		 "https://eu-west-1.signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Feu-west-1."
		 "console.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1&SigninToken=tok%2B%2F%3D"},
		{"destination-gets-region", {.region = "us-west-2", .destination = "https://s3.console.aws.amazon.com/s3/home"},
		 "https://signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Fs3.console.aws.amazon.com"
		 "%2Fs3%2Fhome%3Fregion%3Dus-west-2&SigninToken=tok%2B%2F%3D"},
		{"destination-keeps-its-region",
		 {.region = "us-west-2", .destination = "https://console.aws.amazon.com/ec2/home?region=eu-west-1#Instances"},
		 "https://signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Fconsole.aws.amazon.com"
		 "%2Fec2%2Fhome%3Fregion%3Deu-west-1%23Instances&SigninToken=tok%2B%2F%3D"},
		{"govcloud", {.region = "us-gov-west-1"},
		 "https://signin.amazonaws-us-gov.com/federation?Action=login&Destination=https%3A%2F%2Fconsole.amazonaws-us-"
		 "gov.com%2Fconsole%2Fhome%3Fregion%3Dus-gov-west-1&SigninToken=tok%2B%2F%3D"},
		{"china", {.region = "cn-northwest-1"},
		 "https://signin.amazonaws.cn/federation?Action=login&Destination=https%3A%2F%2Fconsole.amazonaws.cn%2F"
		 "console%2Fhome%3Fregion%3Dcn-northwest-1&SigninToken=tok%2B%2F%3D"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		char *url = NULL;
		assert_int_equal(fed_signin_login_url(&cases[i].p, "tok+/=", &url), 0);
		if (strcmp(url, cases[i].want) != 0)
			fail_msg("%s:\n got %s\nwant %s", cases[i].name, url, cases[i].want);
		/* The fixture's decoder reads back the parts. */
		assert_string_equal(qparam(url, "SigninToken"), "tok+/=");
		assert_string_equal(qparam(url, "Action"), "login");
		free(url);
	}

	/* Wrapped in the sign-out URL: redirect_uri is the login URL itself. */
	struct fed_signin_params w = {.region = "eu-west-1", .wrap_logout = true};
	struct fed_signin_params nw = {.region = "eu-west-1"};
	char *wrapped = NULL, *plain = NULL;
	assert_int_equal(fed_signin_login_url(&w, "tok+/=", &wrapped), 0);
	assert_int_equal(fed_signin_login_url(&nw, "tok+/=", &plain), 0);
	assert_true(starts_with(wrapped, "https://signin.aws.amazon.com/oauth?Action=logout&redirect_uri=https%3A%2F%2F"));
	assert_string_equal(qparam(wrapped, "redirect_uri"), plain);
	free(wrapped);
	free(plain);
	w.regional_signin = true;
	assert_int_equal(fed_signin_login_url(&w, "t", &wrapped), 0);
	assert_true(starts_with(wrapped, "https://eu-west-1.signin.aws.amazon.com/oauth?Action=logout&redirect_uri="));
	free(wrapped);

	/* Destinations off the console are refused: no open redirect. */
	const char *evil[] = {
		"https://console.aws.amazon.com.evil.com/", "https://evilconsole.aws.amazon.com/",
		"http://console.aws.amazon.com/",           "https://user@console.aws.amazon.com/",
		"https://console.aws.amazon.com:8443/",     "https://example.com/?x=console.aws.amazon.com",
		"https://console.aws.amazon.com/a b",       "javascript:alert(1)",
		"https://CONSOLE.aws.amazon.com/",
	};
	for (size_t i = 0; i < LEN(evil); i++) {
		struct fed_signin_params p = {.destination = evil[i]};
		char *url = (char *)evil;
		if (fed_signin_login_url(&p, "t", &url) != FED_ERR_INVALID)
			fail_msg("destination %s accepted", evil[i]);
		assert_ptr_equal(url, (char *)evil);
	}
	struct fed_signin_params p = {0};
	char *url;
	assert_int_equal(fed_signin_login_url(&p, "", &url), FED_ERR_INVALID);
	assert_int_equal(fed_signin_login_url(&p, NULL, &url), FED_ERR_INVALID);
}

static void test_flow(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_signin_params p = {.region = "eu-west-1", .issuer = "gate", .long_term_base = true,
	                              .session_duration = 7200, .timeout_ms = 1234};

	fake_reply(f, "https://signin.aws.amazon.com/federation?Action=getSigninToken", 200,
	           "{\"SigninToken\":\"tok+/=\"}");
	assert_int_equal(fed_signin_start(fake_transport(f), &p, &session, on_done, &o, NULL), 0);
	assert_int_equal(o.calls, 0);
	fake_run(f);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.err, 0);
	assert_int_equal(o.duration, 7200);
	assert_false(o.capped);
	assert_string_equal(qparam(o.url, "SigninToken"), "tok+/=");
	assert_string_equal(qparam(o.url, "Issuer"), "gate");
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(r->method, "GET");
	assert_int_equal(r->timeout_ms, 1234);
	assert_int_equal(r->max_response, FED_SIGNIN_MAX_RESPONSE);
	assert_string_equal(qparam(r->url, "SessionDuration"), "7200");

	/* Role chaining: SessionDuration omitted and the cap reported. */
	memset(&o, 0, sizeof(o));
	p.long_term_base = false;
	fake_reply(f, NULL, 200, "{\"SigninToken\":\"t2\"}");
	assert_int_equal(fed_signin_start(fake_transport(f), &p, &session, on_done, &o, NULL), 0);
	fake_run(f);
	assert_int_equal(o.err, 0);
	assert_int_equal(o.duration, 0);
	assert_true(o.capped);
	assert_null(qparam(fake_request(f, 1)->url, "SessionDuration"));
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int status;
		int fail;
		const char *body;
		int want;
	} cases[] = {
		{"400-bad-credentials", 400, 0, "<html>bad</html>", FED_ERR_REJECTED},
		{"403", 403, 0, "", FED_ERR_DENIED},
		{"401", 401, 0, "", FED_ERR_DENIED},
		{"503", 503, 0, "", FED_ERR_UNAVAILABLE},
		{"not-json", 200, 0, "SigninToken=x", FED_ERR_PARSE},
		{"no-token", 200, 0, "{\"Other\":\"x\"}", FED_ERR_PARSE},
		{"token-not-string", 200, 0, "{\"SigninToken\":5}", FED_ERR_PARSE},
		{"empty-token", 200, 0, "{\"SigninToken\":\"\"}", FED_ERR_PARSE},
		{"token-with-nul", 200, 0, "{\"SigninToken\":\"a\\u0000b\"}", FED_ERR_PARSE},
		{"duplicate-keys", 200, 0, "{\"SigninToken\":\"a\",\"SigninToken\":\"b\"}", FED_ERR_PARSE},
		{"array", 200, 0, "[\"SigninToken\"]", FED_ERR_PARSE},
		{"transport", 0, FED_ERR_TRANSPORT, NULL, FED_ERR_TRANSPORT},
		{"timeout", 0, FED_ERR_TIMEOUT, NULL, FED_ERR_TIMEOUT},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		struct fake *f = fake_new();
		struct outcome o = {0};
		struct fed_signin_params p = {0};
		if (cases[i].fail)
			fake_fail(f, NULL, cases[i].fail);
		else
			fake_reply(f, NULL, cases[i].status, cases[i].body);
		assert_int_equal(fed_signin_start(fake_transport(f), &p, &session, on_done, &o, NULL), 0);
		fake_run(f);
		if (o.calls != 1 || o.err != cases[i].want || o.status != cases[i].status)
			fail_msg("%s: calls %d err %d status %d", cases[i].name, o.calls, o.err, o.status);
		fake_del(f);
	}
	/* Too large a token. */
	struct fake *f = fake_new();
	struct outcome o = {0};
	struct fed_signin_params p = {0};
	char *big = malloc(FED_SIGNIN_MAX_TOKEN + 64);
	assert_non_null(big);
	int n = snprintf(big, 32, "{\"SigninToken\":\"");
	memset(big + n, 'a', FED_SIGNIN_MAX_TOKEN + 1);
	memcpy(big + n + FED_SIGNIN_MAX_TOKEN + 1, "\"}", 3);
	fake_reply(f, NULL, 200, big);
	assert_int_equal(fed_signin_start(fake_transport(f), &p, &session, on_done, &o, NULL), 0);
	fake_run(f);
	assert_int_equal(o.err, FED_ERR_PARSE);
	free(big);
	/* Start failures: nothing runs later. */
	fake_start_fails(f, 1, FED_ERR_NOMEM);
	assert_int_equal(fed_signin_start(fake_transport(f), &p, &session, on_done, &o, NULL), FED_ERR_NOMEM);
	struct fed_signin_params bad = {.destination = "https://evil.com/"};
	assert_int_equal(fed_signin_start(fake_transport(f), &bad, &session, on_done, &o, NULL), FED_ERR_INVALID);
	/* Cancel. */
	struct fed_signin_call *call;
	fake_reply(f, NULL, 200, "{\"SigninToken\":\"x\"}");
	assert_int_equal(fed_signin_start(fake_transport(f), &p, &session, on_done, &o, &call), 0);
	fed_signin_cancel(call);
	int before = o.calls;
	fake_run(f);
	assert_int_equal(o.calls, before);
	assert_int_equal(fake_pending(f), 0);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_url),
		cmocka_unit_test(test_login_urls),
		cmocka_unit_test(test_flow),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
