/* SPDX-License-Identifier: Apache-2.0 */
/* credjson_test.c: the credential_process, ECS and IMDS credential documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/creds_int.h"

/* 2026-12-04T14:00:00Z, checked with: date -u -d 2026-12-04T14:00:00Z +%s */
#define NOW INT64_C(1796392800)

struct json_case {
	const char *name;
	enum fed_credjson_kind kind;
	const char *json;
	int rv;
	const char *token; /* expected session token, NULL: none */
	int64_t exp;
	bool long_term;
};

#define P FED_CREDJSON_PROCESS
#define E FED_CREDJSON_ECS
#define I FED_CREDJSON_IMDS
#define KEYS "\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"c2VjcmV0\""

static const struct json_case json_cases[] = {
	{"process-temporary", P, "{\"Version\":1," KEYS ",\"SessionToken\":\"tok\",\"Expiration\":\"2026-12-04T15:00:00Z\"}",
	 0, "tok", NOW + 3600, false},
	{"process-long-term", P, "{\"Version\":1," KEYS "}", 0, NULL, 0, true},
	{"process-static-with-token", P, "{\"Version\":1," KEYS ",\"SessionToken\":\"tok\"}", 0, "tok", 0, false},
	{"process-null-expiration", P, "{\"Version\":1," KEYS ",\"Expiration\":null}", 0, NULL, 0, true},
	{"process-extra-fields", P, "{\"Version\":1," KEYS ",\"Whatever\":[1,2]}", 0, NULL, 0, true},
	{"process-no-version", P, "{" KEYS "}", FED_ERR_PARSE, NULL, 0, false},
	{"process-version-2", P, "{\"Version\":2," KEYS "}", FED_ERR_PARSE, NULL, 0, false},
	{"process-version-string", P, "{\"Version\":\"1\"," KEYS "}", FED_ERR_PARSE, NULL, 0, false},
	{"process-no-secret", P, "{\"Version\":1,\"AccessKeyId\":\"AKID\"}", FED_ERR_PARSE, NULL, 0, false},
	{"process-empty-secret", P, "{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"\"}", FED_ERR_PARSE,
	 NULL, 0, false},
	{"process-secret-number", P, "{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":5}", FED_ERR_PARSE,
	 NULL, 0, false},
	{"process-secret-with-nul", P, "{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"a\\u0000b\"}",
	 FED_ERR_PARSE, NULL, 0, false},
	{"process-akid-lower", P, "{\"Version\":1,\"AccessKeyId\":\"akid\",\"SecretAccessKey\":\"s\"}", FED_ERR_PARSE,
	 NULL, 0, false},
	{"process-expired", P, "{\"Version\":1," KEYS ",\"Expiration\":\"2026-12-04T13:59:59Z\"}", FED_ERR_EXPIRED,
	 NULL, 0, false},
	{"process-expires-now", P, "{\"Version\":1," KEYS ",\"Expiration\":\"2026-12-04T14:00:00Z\"}", FED_ERR_EXPIRED,
	 NULL, 0, false},
	{"process-bad-expiration", P, "{\"Version\":1," KEYS ",\"Expiration\":\"tomorrow\"}", FED_ERR_PARSE, NULL, 0,
	 false},
	{"process-duplicate-key", P, "{\"Version\":1," KEYS ",\"AccessKeyId\":\"OTHER\"}", FED_ERR_PARSE, NULL, 0,
	 false},
	{"process-not-json", P, "AccessKeyId=AKID", FED_ERR_PARSE, NULL, 0, false},
	{"process-array", P, "[1]", FED_ERR_PARSE, NULL, 0, false},
	{"process-empty", P, "", FED_ERR_PARSE, NULL, 0, false},
	{"process-trailing-garbage", P, "{\"Version\":1," KEYS "} x", FED_ERR_PARSE, NULL, 0, false},
	{"ecs", E, "{\"RoleArn\":\"arn:aws:iam::1:role/t\"," KEYS ",\"Token\":\"tok\",\"Expiration\":\"2026-12-04T20:00:00Z\"}",
	 0, "tok", NOW + 6 * 3600, false},
	{"ecs-utc-offset", E, "{" KEYS ",\"Token\":\"tok\",\"Expiration\":\"2026-12-04T20:00:00+00:00\"}", 0, "tok",
	 NOW + 6 * 3600, false},
	{"ecs-other-offset", E, "{" KEYS ",\"Token\":\"tok\",\"Expiration\":\"2026-12-04T20:00:00+01:00\"}",
	 FED_ERR_PARSE, NULL, 0, false},
	{"ecs-no-token", E, "{" KEYS ",\"Expiration\":\"2026-12-04T20:00:00Z\"}", FED_ERR_PARSE, NULL, 0, false},
	{"ecs-no-expiration", E, "{" KEYS ",\"Token\":\"tok\"}", FED_ERR_PARSE, NULL, 0, false},
	{"ecs-sessiontoken-name", E, "{" KEYS ",\"SessionToken\":\"tok\",\"Expiration\":\"2026-12-04T20:00:00Z\"}",
	 FED_ERR_PARSE, NULL, 0, false},
	{"ecs-error-body", E, "{\"code\":\"InvalidToken\",\"message\":\"bad\"}", FED_ERR_PARSE, NULL, 0, false},
	{"imds", I,
	 "{\"Code\":\"Success\",\"LastUpdated\":\"2026-12-04T13:00:00Z\",\"Type\":\"AWS-HMAC\"," KEYS
	 ",\"Token\":\"tok\",\"Expiration\":\"2026-12-04T20:00:00Z\"}",
	 0, "tok", NOW + 6 * 3600, false},
	{"imds-no-code", I, "{" KEYS ",\"Token\":\"tok\",\"Expiration\":\"2026-12-04T20:00:00Z\"}", 0, "tok",
	 NOW + 6 * 3600, false},
	{"imds-failure-code", I, "{\"Code\":\"AssumeRoleUnauthorizedAccess\"," KEYS
	 ",\"Token\":\"tok\",\"Expiration\":\"2026-12-04T20:00:00Z\"}", FED_ERR_PARSE, NULL, 0, false},
	{"imds-expired", I, "{\"Code\":\"Success\"," KEYS ",\"Token\":\"tok\",\"Expiration\":\"2026-12-04T10:00:00Z\"}",
	 FED_ERR_EXPIRED, NULL, 0, false},
};

static void test_json(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		const struct json_case *c = &json_cases[i];
		struct fed_creds out = {.access_key_id = (char *)(uintptr_t) "sentinel"};
		char why[256] = "";
		print_message("case %s\n", c->name);
		int rv = fed_credjson_parse(c->kind, c->json, strlen(c->json), NOW, &out, why, sizeof(why));
		assert_int_equal(rv, c->rv);
		if (rv != 0) {
			assert_string_equal(out.access_key_id, "sentinel");
			assert_true(why[0] != '\0');
			/* the message never quotes the secret */
			assert_null(strstr(why, "c2VjcmV0"));
			continue;
		}
		assert_string_equal(out.secret_access_key, "c2VjcmV0");
		assert_string_equal(out.access_key_id, "ASIAEXAMPLE");
		if (c->token == NULL)
			assert_null(out.session_token);
		else
			assert_string_equal(out.session_token, c->token);
		assert_int_equal(out.expiration, c->exp);
		assert_int_equal(out.long_term, c->long_term);
		fed_creds_free(&out);
	}
}

static void test_too_large(void **state)
{
	(void)state;
	size_t n = FED_CREDJSON_MAX + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	/* a valid document padded with spaces to one byte over the limit */
	const char *doc = "{\"Version\":1," KEYS "}";
	memset(big, ' ', n);
	memcpy(big, doc, strlen(doc));
	big[n] = '\0';
	struct fed_creds out;
	char why[128];
	assert_int_equal(fed_credjson_parse(P, big, n, NOW, &out, why, sizeof(why)), FED_ERR_TOO_LARGE);
	assert_int_equal(fed_credjson_parse(P, big, n - 1, NOW, &out, why, sizeof(why)), 0);
	fed_creds_free(&out);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
