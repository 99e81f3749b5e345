/* SPDX-License-Identifier: Apache-2.0 */
/* template_test.c: role templates expand per trait value, drop what does not resolve, and refuse bad syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rbac/rbac.h"

/* Compound literals: rbac_trait holds char *, and string literals are const here. */
static char *logins[] = {(char[]){"alice"}, (char[]){"root"}};
static char *emails[] = {(char[]){"alice@example.com"}, (char[]){"not-an-email"}, (char[]){"@nolocal.org"}, (char[]){"bob.smith@corp.example"}};
static char *arns[] = {(char[]){"arn:aws:iam::1:role/a"}, (char[]){"arn:aws:iam::1:role/b*"}};
static char *teams[] = {(char[]){"team-red"}, (char[]){"blue"}, (char[]){"team-green"}};
static char *empty[] = {(char[]){""}};
static struct rbac_trait traits[] = {
	{(char[]){"logins"}, logins, 2},		    {(char[]){"email"}, emails, 4}, {(char[]){"aws_role_arns"}, arns, 2},
	{(char[]){"team"}, teams, 3},		    {(char[]){"blank"}, empty, 1},  {(char[]){"novalues"}, NULL, 0},
	{(char[]){"custom.dotted/name"}, logins, 1},
};

/* Values emitted, joined with '|'. */
struct got {
	char buf[512];
	int n;
};

static void collect(void *arg, const char *v, size_t len)
{
	struct got *g = arg;
	size_t used = strlen(g->buf);
	snprintf(g->buf + used, sizeof(g->buf) - used, "%s%.*s", g->n++ ? "|" : "", (int)len, v);
}

static const struct {
	const char *name, *tmpl, *want;
} cases[] = {
	{"literal", "arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x"},
	{"internal-multi", "{{internal.logins}}", "alice|root"},
	{"internal-spaces", "{{ internal.logins }}", "alice|root"},
	{"prefix-suffix", "arn:aws:iam::1:role/{{internal.logins}}-ro", "arn:aws:iam::1:role/alice-ro|arn:aws:iam::1:role/root-ro"},
	{"external", "{{external.team}}", "team-red|blue|team-green"},
	{"external-brackets", "{{external[\"custom.dotted/name\"]}}", "alice"},
	{"internal-arns", "{{internal.aws_role_arns}}", "arn:aws:iam::1:role/a|arn:aws:iam::1:role/b*"},
	{"missing-trait-drops", "{{external.nope}}", ""},
	{"trait-without-values-drops", "{{external.novalues}}", ""},
	{"unknown-internal-never-resolves", "{{internal.team}}", ""},
	{"empty-value-alone-drops", "{{external.blank}}", ""},
	{"empty-value-with-prefix", "x-{{external.blank}}", "x-"},
	{"email-local", "{{email.local(external.email)}}", "alice|bob.smith"},
	{"email-local-prefixed", "role/{{email.local(external.email)}}", "role/alice|role/bob.smith"},
	{"regexp-replace", "{{regexp.replace(external.team, \"^team-(.*)$\", \"$1\")}}", "red|green"},
	{"regexp-replace-all", "{{regexp.replace(internal.logins, \"[aeiou]\", \"_\")}}", "_l_c_|r__t"},
	{"regexp-replace-braces", "{{regexp.replace(external.team, \"team-(?<c>.+)\", \"c-${c}\")}}", "c-red|c-green"},
	{"regexp-replace-escaped-quote", "{{regexp.replace(external.team, \"blue\", \"\\\"b\\\"\")}}", "\"b\""},
};

static void test_expand(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {"", 0};
		struct rbac_diag d;
		int rv = rbac_template_expand(cases[i].tmpl, traits, sizeof(traits) / sizeof(traits[0]), collect, &g, &d);
		if (rv != 0)
			fail_msg("%s: %s: %s", cases[i].name, cases[i].tmpl, d.msg);
		if (strcmp(g.buf, cases[i].want) != 0)
			fail_msg("%s: %s gave \"%s\", want \"%s\"", cases[i].name, cases[i].tmpl, g.buf, cases[i].want);
	}
}

static const struct {
	const char *tmpl, *why;
} bad[] = {
	{"{{internal.logins}", "without '}}'"},
	{"internal.logins}}", "without '{{'"},
	{"{{internal.logins}}{{external.team}}", "only one"},
	{"{{internal}}", "expected '.' or '['"},
	{"{{internal.}}", "trait name"},
	{"{{user.logins}}", "internal.NAME or external.NAME"},
	{"{{strings.upper(internal.logins)}}", "unsupported template function 'strings.upper'"},
	{"{{email.local(external.email}}", "')'"},
	{"{{email.local external.email}}", "'('"},
	{"{{regexp.replace(external.team, \"(\", \"x\")}}", "not a valid regular expression"},
	{"{{regexp.replace(external.team, \"a\")}}", "regexp.replace(VAR"},
	{"{{internal.logins extra}}", "unexpected"},
	{"{{external[\"\"]}}", "empty trait name"},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct got g = {"", 0};
		struct rbac_diag d;
		int rv = rbac_template_expand(bad[i].tmpl, traits, 1, collect, &g, &d);
		if (rv != RBAC_ERR_INVALID || strstr(d.msg, bad[i].why) == NULL)
			fail_msg("%s: rv %d, message \"%s\", want \"%s\"", bad[i].tmpl, rv, d.msg, bad[i].why);
		assert_int_equal(g.n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
