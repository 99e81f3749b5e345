/* SPDX-License-Identifier: Apache-2.0 */
/* jsonpos_test.c: rbac_json_locate() finds values by path, and refuses what is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rbac/rbac.h"

static const char doc[] = "[\n"
			  "  {\"kind\": \"role\",\n"
			  "   \"metadata\": {\"name\": \"a\", \"labels\": {\"teleport.dev/origin\": \"x\"}},\n"
			  "   \"spec\": {\"allow\": {\"aws_role_arns\": [\"one\",\n"
			  "        \"two\"]}}},\n"
			  "  {\"k\\\"ey\": [[1, 2], {\"n\": null}], \"s\\u0061\": 1}\n"
			  "]\n";

static const struct {
	const char *path;
	int rv, line, column;
} cases[] = {
	{"", 0, 1, 1},
	{"[0]", 0, 2, 3},
	{"[0].kind", 0, 2, 12},
	{"[0].metadata.name", 0, 3, 25},
	{"[0].metadata.labels[\"teleport.dev/origin\"]", 0, 3, 64},
	{"[0].spec.allow.aws_role_arns", 0, 4, 40},
	{"[0].spec.allow.aws_role_arns[0]", 0, 4, 41},
	{"[0].spec.allow.aws_role_arns[1]", 0, 5, 9},
	{"[1][\"k\\\"ey\"]", RBAC_ERR_NOT_FOUND, 0, 0}, /* quoted names take no escapes */
	{"[1]", 0, 6, 3},
	{"[2]", RBAC_ERR_NOT_FOUND, 0, 0},
	{"[0].spec.allow.aws_role_arns[2]", RBAC_ERR_NOT_FOUND, 0, 0},
	{"[0].nope", RBAC_ERR_NOT_FOUND, 0, 0},
	{"[0].kind.x", RBAC_ERR_NOT_FOUND, 0, 0},
	{"kind", RBAC_ERR_NOT_FOUND, 0, 0},
	{"[0]..kind", RBAC_ERR_NOT_FOUND, 0, 0},
	{"[x]", RBAC_ERR_NOT_FOUND, 0, 0},
	{"[0", RBAC_ERR_NOT_FOUND, 0, 0},
	{"[1].sa", RBAC_ERR_NOT_FOUND, 0, 0}, /* spelled with \u: not compared */
};

static void test_locate(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int line = 0, column = 0;
		int rv = rbac_json_locate(doc, strlen(doc), cases[i].path, &line, &column);
		print_message("%s\n", cases[i].path);
		assert_int_equal(rv, cases[i].rv);
		assert_int_equal(line, cases[i].line);
		assert_int_equal(column, cases[i].column);
	}
}

/* Truncated or broken text is walked within its bounds and not found. */
static void test_broken(void **state)
{
	static const char *texts[] = {"{\"a\": [1, 2", "{\"a\" 1}", "{\"a\": \"x", "[1 2]", "{", "", "[[[[[[", "\"\\"};
	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		int line = 0, column = 0;
		assert_int_equal(rbac_json_locate(texts[i], strlen(texts[i]), "a[2]", &line, &column), RBAC_ERR_NOT_FOUND);
		assert_int_equal(rbac_json_locate(texts[i], strlen(texts[i]), "[5]", &line, &column), RBAC_ERR_NOT_FOUND);
	}
}

/* Nesting deeper than the walker's bound is refused, not recursed into. */
static void test_deep(void **state)
{
	char text[2000];
	int line, column;
	(void)state;
	memset(text, '[', 1000);
	memset(text + 1000, ']', 1000);
	assert_int_equal(rbac_json_locate(text, sizeof(text), "[0]", &line, &column), 0);
	assert_int_equal(rbac_json_locate("[[[]], 7]", 9, "[1]", &line, &column), 0);
	assert_int_equal(column, 8);
	char deep[1100];
	memset(deep, '[', 600);
	memset(deep + 600, ']', 500);
	assert_int_equal(rbac_json_locate(deep, 1100, "[1]", &line, &column), RBAC_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locate),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_deep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
