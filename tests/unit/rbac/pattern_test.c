/* SPDX-License-Identifier: Apache-2.0 */
/* pattern_test.c: exact, glob and "^regex$" patterns match whole strings, and bad ones are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rbac/rbac.h"

static const struct {
	const char *name, *pattern, *subject;
	int want;
} cases[] = {
	{"exact-equal", "arn:aws:iam::123456789012:role/Dev", "arn:aws:iam::123456789012:role/Dev", 1},
	{"exact-case-differs", "arn:aws:iam::123456789012:role/Dev", "arn:aws:iam::123456789012:role/dev", 0},
	{"exact-longer-subject", "arn:aws:iam::1:role/Dev", "arn:aws:iam::1:role/Dev2", 0},
	{"exact-shorter-subject", "arn:aws:iam::1:role/Dev", "arn:aws:iam::1:role/De", 0},
	{"exact-dot-is-literal", "a.b", "axb", 0},
	{"glob-star-tail", "arn:aws:iam::1:role/ci-*", "arn:aws:iam::1:role/ci-deploy", 1},
	{"glob-star-empty", "arn:aws:iam::1:role/ci-*", "arn:aws:iam::1:role/ci-", 1},
	{"glob-star-crosses-slash", "arn:aws:iam::1:role/*", "arn:aws:iam::1:role/team/a/b", 1},
	{"glob-star-crosses-colon", "arn:aws:iam::*", "arn:aws:iam::1:role/x", 1},
	{"glob-whole-string", "arn:aws:iam::1:role/a*", "xarn:aws:iam::1:role/abc", 0},
	{"glob-no-trailing-garbage", "*:role/Dev", "arn:aws:iam::1:role/Dev/x", 0},
	{"glob-question-one", "role/?ev", "role/Dev", 1},
	{"glob-question-not-zero", "role/?Dev", "role/Dev", 0},
	{"glob-question-not-two", "role/?v", "role/Dev", 0},
	{"glob-question-utf8", "team-?", "team-\xc3\xa9", 1},
	{"glob-dot-literal", "arn:aws:iam::1:role/a.b*", "arn:aws:iam::1:role/axb", 0},
	{"glob-star-alone", "*", "", 1},
	{"glob-many-stars", "a*b*c*d", "aXXbYYcZZd", 1},
	{"glob-backtrack", "*ab", "aaab", 1},
	{"glob-backtrack-miss", "*ab*ab", "abab", 1},
	{"glob-case", "arn:aws:iam::1:role/Dev*", "arn:aws:iam::1:role/dev1", 0},
	{"regex-anchored", "^arn:aws:iam::[0-9]{12}:role/Dev$", "arn:aws:iam::123456789012:role/Dev", 1},
	{"regex-anchored-prefix", "^arn:aws:iam::[0-9]{12}:role/Dev$", "xarn:aws:iam::123456789012:role/Dev", 0},
	{"regex-anchored-suffix", "^arn:aws:iam::[0-9]{12}:role/Dev$", "arn:aws:iam::123456789012:role/Dev2", 0},
	{"regex-alternation-stays-anchored", "^a|b$", "xb", 0},
	{"regex-alternation-stays-anchored-2", "^a|b$", "ax", 0},
	{"regex-alternation-whole", "^a|b$", "b", 1},
	{"regex-dot-any", "^role/a.b$", "role/axb", 1},
	{"regex-escaped-dot", "^role/a\\.b$", "role/axb", 0},
	{"regex-escaped-dot-match", "^role/a\\.b$", "role/a.b", 1},
	{"regex-case-insensitive", "^(?i)role/dev$", "ROLE/DEV", 1},
	{"regex-newline-not-end", "^role/dev$", "role/dev\n", 0},
	{"regex-optional-tail", "^role/dev(-[0-9]+)?$", "role/dev-42", 1},
	{"regex-quantified-prefix", "^ab?c$", "ac", 1},
	{"caret-without-dollar-is-exact", "^role", "^role", 1},
	{"caret-without-dollar-not-regex", "^role", "role", 0},
	{"dollar-without-caret-is-exact", "role$", "role$", 1},
	{"caret-without-dollar-glob", "^role*", "^roles", 1},
	{"regex-empty", "^$", "", 1},
	{"regex-empty-miss", "^$", "x", 0},
};

static void test_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = rbac_pattern_match(cases[i].pattern, cases[i].subject, strlen(cases[i].subject));
		if (got != cases[i].want)
			fail_msg("%s: pattern \"%s\" on \"%s\": got %d, want %d", cases[i].name, cases[i].pattern,
				 cases[i].subject, got, cases[i].want);
	}
}

/* Invalid regexes are refused, not matched as text. */
static void test_invalid(void **state)
{
	static const char *bad[] = {"^(unclosed$", "^[a-$", "^a{2,1}$", "^*$", "^(?<n$"};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rbac_pattern_match(bad[i], "x", 1), RBAC_ERR_INVALID);
}

/* Catastrophic backtracking runs out of steps and does not match. */
static void test_step_limit(void **state)
{
	char subject[64];
	(void)state;
	memset(subject, 'a', sizeof(subject) - 1);
	subject[sizeof(subject) - 2] = 'b';
	subject[sizeof(subject) - 1] = '\0';
	assert_int_equal(rbac_pattern_match("^(a+)+$", subject, strlen(subject)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_step_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
