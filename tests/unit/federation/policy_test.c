/* SPDX-License-Identifier: Apache-2.0 */
/* policy_test.c: the trust and permission policies parse as JSON with the right statements, and AccessDenied is explained. */
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

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ROLE "arn:aws:iam::111122223333:role/team/Dev"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", je.text, text);
	assert_string_equal(json_string_value(json_object_get(j, "Version")), "2012-10-17");
	assert_int_equal(json_array_size(json_object_get(j, "Statement")), 1);
	return j;
}

static void assert_actions(json_t *st, const char *const *want, size_t n)
{
	json_t *a = json_object_get(st, "Action");
	assert_int_equal(json_array_size(a), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)), want[i]);
}

static void test_trust(void **state)
{
	(void)state;
	static const struct {
		const char *gate, *principal;
	} principals[] = {
		{"arn:aws:iam::444455556666:role/awsgate", "arn:aws:iam::444455556666:role/awsgate"},
		{"arn:aws:iam::444455556666:user/gate", "arn:aws:iam::444455556666:user/gate"},
		{"444455556666", "arn:aws:iam::444455556666:root"},
		{"arn:aws:sts::444455556666:assumed-role/awsgate/i-0abc", "arn:aws:iam::444455556666:role/awsgate"},
	};
	const char *all[] = {"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"};
	for (size_t i = 0; i < LEN(principals); i++) {
		struct fed_policy_params p = {.role_arn = ROLE, .gate_principal = principals[i].gate,
		                              .external_id = "ext-\"quoted\"", .source_identity = true, .tag_session = true};
		char *text = NULL;
		assert_int_equal(fed_policy_trust(&p, &text), 0);
		assert_non_null(strchr(text, '\n')); /* pretty */
		json_t *j = load(text);
		json_t *st = json_array_get(json_object_get(j, "Statement"), 0);
		assert_string_equal(json_string_value(json_object_get(st, "Effect")), "Allow");
		assert_string_equal(json_string_value(json_object_get(json_object_get(st, "Principal"), "AWS")),
		                    principals[i].principal);
		assert_actions(st, all, 3);
		json_t *cond = json_object_get(json_object_get(st, "Condition"), "StringEquals");
		assert_string_equal(json_string_value(json_object_get(cond, "sts:ExternalId")), "ext-\"quoted\"");
		assert_null(json_object_get(st, "Resource")); /* trust policies have none */
		json_decref(j);
		free(text);
	}
	/* No external ID, no source identity, no tags: AssumeRole alone, no condition. */
	struct fed_policy_params p = {.role_arn = ROLE, .gate_principal = "444455556666"};
	char *text;
	assert_int_equal(fed_policy_trust(&p, &text), 0);
	json_t *j = load(text);
	json_t *st = json_array_get(json_object_get(j, "Statement"), 0);
	assert_actions(st, all, 1);
	assert_null(json_object_get(st, "Condition"));
	json_decref(j);
	free(text);
	/* GovCloud principal from an account: the role's partition. */
	p.role_arn = "arn:aws-us-gov:iam::111122223333:role/Dev";
	assert_int_equal(fed_policy_trust(&p, &text), 0);
	assert_non_null(strstr(text, "\"arn:aws-us-gov:iam::444455556666:root\""));
	free(text);
}

static void test_permissions(void **state)
{
	(void)state;
	struct fed_policy_params p = {.role_arn = ROLE, .gate_principal = "444455556666", .source_identity = true};
	char *text;
	assert_int_equal(fed_policy_permissions(&p, &text), 0);
	json_t *j = load(text);
	json_t *st = json_array_get(json_object_get(j, "Statement"), 0);
	const char *want[] = {"sts:AssumeRole", "sts:SetSourceIdentity"};
	assert_actions(st, want, 2);
	assert_string_equal(json_string_value(json_object_get(st, "Resource")), ROLE);
	assert_null(json_object_get(st, "Principal"));
	json_decref(j);
	free(text);
}

static void test_invalid(void **state)
{
	(void)state;
	const char *roles[] = {NULL, "", "arn:aws:iam::1111:role/Dev", "arn:aws:iam::111122223333:user/Dev",
	                       "arn:aws:s3:::bucket", "arn:aws:iam::111122223333:role/", "arn:mars:iam::111122223333:role/x",
	                       "arn:aws:iam::111122223333:role/a\"b", "arn:aws:iam::111122223333:role/a b",
	                       "arn:aws:iam:111122223333:role/x"};
	for (size_t i = 0; i < LEN(roles); i++) {
		struct fed_policy_params p = {.role_arn = roles[i], .gate_principal = "444455556666"};
		char *text = (char *)roles;
		if (fed_policy_trust(&p, &text) != FED_ERR_INVALID || fed_policy_permissions(&p, &text) != FED_ERR_INVALID)
			fail_msg("role %s accepted", roles[i] ? roles[i] : "NULL");
		assert_ptr_equal(text, (char *)roles);
	}
	const char *gates[] = {NULL, "4444", "arn:aws:iam::444455556666:group/x", "arn:aws:sts::444455556666:assumed-role/",
	                       "arn:aws:s3:::b"};
	for (size_t i = 0; i < LEN(gates); i++) {
		struct fed_policy_params p = {.role_arn = ROLE, .gate_principal = gates[i]};
		char *text;
		if (fed_policy_trust(&p, &text) != FED_ERR_INVALID)
			fail_msg("gate %s accepted", gates[i] ? gates[i] : "NULL");
	}
	struct fed_policy_params p = {.role_arn = ROLE, .gate_principal = "444455556666", .external_id = "x"};
	char *text;
	assert_int_equal(fed_policy_trust(&p, &text), FED_ERR_INVALID);
}

static void test_explain(void **state)
{
	(void)state;
	static const struct {
		const char *name, *message;
		struct fed_policy_sent sent;
		unsigned want;
		const char *mentions;
	} cases[] = {
		{"gate-identity",
		 "User: arn:aws:iam::444455556666:user/gate is not authorized to perform: sts:AssumeRole on resource: " ROLE
		 " because no identity-based policy allows the sts:AssumeRole action",
		 {false, false, false}, FED_POLICY_GATE_ASSUME_ROLE, "permission policy"},
		{"trust-with-external-id",
		 "User: arn:aws:iam::444455556666:user/gate is not authorized to perform: sts:AssumeRole on resource: " ROLE,
		 {true, true, false}, FED_POLICY_TRUST_ASSUME_ROLE | FED_POLICY_GATE_ASSUME_ROLE | FED_POLICY_EXTERNAL_ID,
		 "external_id"},
		{"trust-resource-based",
		 "User: arn:aws:sts::444455556666:assumed-role/gate/x is not authorized to perform: sts:AssumeRole on "
		 "resource: " ROLE " because no resource-based policy allows the sts:AssumeRole action",
		 {false, false, false}, FED_POLICY_TRUST_ASSUME_ROLE, "trust policy"},
		{"source-identity",
		 "User: arn:aws:iam::444455556666:user/gate is not authorized to perform: sts:SetSourceIdentity on "
		 "resource: " ROLE,
		 {true, true, false}, FED_POLICY_SET_SOURCE_IDENTITY, "sts:SetSourceIdentity"},
		{"tag-session",
		 "User: arn:aws:iam::444455556666:user/gate is not authorized to perform: sts:TagSession on resource: " ROLE,
		 {false, false, true}, FED_POLICY_TAG_SESSION, "sts:TagSession"},
		{"unreadable", "Access denied", {false, true, true}, 0, "SourceIdentity"},
		{"null", NULL, {false, false, false}, 0, "does not say"},
		{"assume-role-with-suffix-is-not-it",
		 "User: x is not authorized to perform: sts:AssumeRoleWithWebIdentity", {false, false, false}, 0,
		 "does not say"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		char text[1024];
		unsigned bits = fed_policy_explain_denied(cases[i].message, &cases[i].sent, text, sizeof(text));
		if (bits != cases[i].want)
			fail_msg("%s: bits %#x, want %#x", cases[i].name, bits, cases[i].want);
		if (strstr(text, cases[i].mentions) == NULL)
			fail_msg("%s: \"%s\" does not mention %s", cases[i].name, text, cases[i].mentions);
	}
	char small[16];
	fed_policy_explain_denied("x", NULL, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small)); /* cut, terminated */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_explain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
