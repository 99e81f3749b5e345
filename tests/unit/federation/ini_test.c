/* SPDX-License-Identifier: Apache-2.0 */
/* ini_test.c: the shared config/credentials file parser: the dialect, merging, errors with lines, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/creds_int.h"

static void test_dialect(void **state)
{
	(void)state;
	static const char text[] =
		"# a comment\n"
		"; another\n"
		"\n"
		"[default]\n"
		"aws_access_key_id = AKIDEXAMPLE\r\n"
		"AWS_Secret_Access_Key=wJalr/K7MDENG+bPxRfiCY#notacomment  \n"
		"region =   eu-west-1\t\n"
		"[ profile prod ]   # trailing comment\n"
		"role_arn = arn:aws:iam::123456789012:role/Admin\n"
		"s3 =\n"
		"  addressing_style = path\n"
		"  # indented comment\n"
		"source_profile = default\n"
		"empty =\n"
		"[profile x]";
	struct fed_ini ini;
	uint32_t line = 0;
	char why[128] = "";

	assert_int_equal(fed_ini_parse(text, strlen(text), &ini, &line, why, sizeof(why)), 0);
	assert_int_equal(ini.nsec, 3);
	const struct fed_ini_section *d = fed_ini_find(&ini, "default");
	assert_non_null(d);
	assert_string_equal(fed_ini_get(d, "aws_access_key_id"), "AKIDEXAMPLE");
	/* keys are case-insensitive; '#' inside a value is kept */
	assert_string_equal(fed_ini_get(d, "aws_secret_access_key"), "wJalr/K7MDENG+bPxRfiCY#notacomment");
	assert_string_equal(fed_ini_get(d, "region"), "eu-west-1");
	const struct fed_ini_section *p = fed_ini_find(&ini, "profile prod");
	assert_non_null(p);
	assert_string_equal(fed_ini_get(p, "role_arn"), "arn:aws:iam::123456789012:role/Admin");
	assert_string_equal(fed_ini_get(p, "s3"), "");
	assert_null(fed_ini_get(p, "addressing_style"));
	assert_string_equal(fed_ini_get(p, "source_profile"), "default");
	assert_string_equal(fed_ini_get(p, "empty"), "");
	assert_null(fed_ini_get(p, "region"));
	assert_non_null(fed_ini_find(&ini, "profile x"));
	assert_null(fed_ini_find(&ini, "Default"));
	assert_null(fed_ini_get(NULL, "x"));
	fed_ini_free(&ini);
	fed_ini_free(NULL);
}

struct bad_case {
	const char *name;
	const char *text;
	int rv;
	uint32_t line;
};

static const struct bad_case bad_cases[] = {
	{"key-before-section", "a = b\n[s]\n", FED_ERR_CONFIG, 1},
	{"no-equals", "[s]\na = b\njust words\n", FED_ERR_CONFIG, 3},
	{"unclosed-header", "[s]\n[oops\n", FED_ERR_CONFIG, 2},
	{"empty-header", "[ ]\n", FED_ERR_CONFIG, 1},
	{"text-after-header", "[s] junk\n", FED_ERR_CONFIG, 1},
	{"empty-key", "[s]\n = v\n", FED_ERR_CONFIG, 2},
	{"indented-without-key", "[s]\n  x = y\n", FED_ERR_CONFIG, 2},
	{"section-twice", "[s]\na = 1\n[t]\n[s]\n", FED_ERR_CONFIG, 4},
	{"key-twice", "[s]\na = 1\nA = 2\n", FED_ERR_CONFIG, 3},
	{"nul-byte", "[s]\na = b\n\0c = d\n", FED_ERR_CONFIG, 3},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = strlen(c->text);
		if (strcmp(c->name, "nul-byte") == 0)
			len = 18;
		struct fed_ini ini = {.nsec = 4242};
		uint32_t line = 0;
		char why[128] = "";
		print_message("case %s\n", c->name);
		assert_int_equal(fed_ini_parse(c->text, len, &ini, &line, why, sizeof(why)), c->rv);
		assert_int_equal(line, c->line);
		assert_true(why[0] != '\0');
		assert_int_equal(ini.nsec, 4242); /* untouched on failure */
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct fed_ini ini;
	uint32_t line = 0;
	char why[128];

	/* a line of exactly the maximum is fine, one more byte is not */
	size_t n = 4 + FED_INI_MAX_LINE + 1;
	char *buf = malloc(n + 2);
	assert_non_null(buf);
	memcpy(buf, "[s]\n", 4);
	memset(buf + 4, 'k', FED_INI_MAX_LINE);
	buf[4 + FED_INI_MAX_LINE - 2] = '=';
	buf[4 + FED_INI_MAX_LINE] = '\n';
	assert_int_equal(fed_ini_parse(buf, n, &ini, &line, why, sizeof(why)), 0);
	fed_ini_free(&ini);
	buf[4 + FED_INI_MAX_LINE] = 'v';
	assert_int_equal(fed_ini_parse(buf, n, &ini, &line, why, sizeof(why)), FED_ERR_TOO_LARGE);
	assert_int_equal(line, 2);
	free(buf);

	/* the file size */
	buf = malloc(FED_INI_MAX_BYTES + 1);
	assert_non_null(buf);
	memset(buf, '\n', FED_INI_MAX_BYTES + 1);
	assert_int_equal(fed_ini_parse(buf, FED_INI_MAX_BYTES, &ini, &line, why, sizeof(why)), 0);
	fed_ini_free(&ini);
	assert_int_equal(fed_ini_parse(buf, FED_INI_MAX_BYTES + 1, &ini, &line, why, sizeof(why)), FED_ERR_TOO_LARGE);
	free(buf);

	/* sections: the maximum, then one more */
	size_t cap = (FED_INI_MAX_SECTIONS + 1) * 16;
	buf = malloc(cap);
	assert_non_null(buf);
	size_t len = 0;
	for (int i = 0; i < FED_INI_MAX_SECTIONS; i++)
		len += (size_t)snprintf(buf + len, cap - len, "[s%d]\n", i);
	assert_int_equal(fed_ini_parse(buf, len, &ini, &line, why, sizeof(why)), 0);
	assert_int_equal(ini.nsec, FED_INI_MAX_SECTIONS);
	fed_ini_free(&ini);
	len += (size_t)snprintf(buf + len, cap - len, "[one-more]\n");
	assert_int_equal(fed_ini_parse(buf, len, &ini, &line, why, sizeof(why)), FED_ERR_TOO_LARGE);
	assert_int_equal(line, FED_INI_MAX_SECTIONS + 1);
	free(buf);

	/* keys in the whole file */
	cap = (FED_INI_MAX_KEYS + 1) * 16 + 8;
	buf = malloc(cap);
	assert_non_null(buf);
	len = (size_t)snprintf(buf, cap, "[s]\n");
	for (int i = 0; i < FED_INI_MAX_KEYS; i++)
		len += (size_t)snprintf(buf + len, cap - len, "k%d=v\n", i);
	assert_int_equal(fed_ini_parse(buf, len, &ini, &line, why, sizeof(why)), 0);
	fed_ini_free(&ini);
	len += (size_t)snprintf(buf + len, cap - len, "kx=v\n");
	assert_int_equal(fed_ini_parse(buf, len, &ini, &line, why, sizeof(why)), FED_ERR_TOO_LARGE);
	free(buf);
}

/* Every case file of tests/data/federation/ini/: NAME.ini and NAME.expect,
 * the latter written by botocore's configloader (tests/data/federation/ini/generate.py). */
static void test_botocore_cases(void **state)
{
	(void)state;
	const char *dir = getenv("abs_top_srcdir");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/data/federation/ini/cases.txt", dir ? dir : ".");
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		print_message("no %s\n", path);
		fail();
	}
	/* Format: blocks of "=== name", the INI text, "--- expect", lines "section\tkey\tvalue" or "ERROR". */
	char *text = NULL, *expect = NULL;
	size_t tl = 0, el = 0;
	char linebuf[8192];
	int mode = 0, ncases = 0;
	char name[256] = "";
	for (;;) {
		char *l = fgets(linebuf, sizeof(linebuf), f);
		if (l == NULL || strncmp(l, "=== ", 4) == 0) {
			if (mode != 0) {
				struct fed_ini ini;
				uint32_t line;
				char why[128];
				print_message("case %s\n", name);
				int rv = fed_ini_parse(text ? text : "", tl, &ini, &line, why, sizeof(why));
				if (expect != NULL && strcmp(expect, "ERROR\n") == 0) {
					assert_int_not_equal(rv, 0);
				} else {
					assert_int_equal(rv, 0);
					for (char *e = expect, *nl; e != NULL && *e != '\0'; e = nl + 1) {
						nl = strchr(e, '\n');
						assert_non_null(nl);
						*nl = '\0';
						char *t1 = strchr(e, '\t');
						assert_non_null(t1);
						char *t2 = strchr(t1 + 1, '\t');
						assert_non_null(t2);
						*t1 = *t2 = '\0';
						const struct fed_ini_section *s = fed_ini_find(&ini, e);
						assert_non_null(s);
						const char *v = fed_ini_get(s, t1 + 1);
						assert_non_null(v);
						assert_string_equal(v, t2 + 1);
					}
					fed_ini_free(&ini);
				}
				ncases++;
				free(text);
				free(expect);
				text = expect = NULL;
				tl = el = 0;
			}
			if (l == NULL)
				break;
			snprintf(name, sizeof(name), "%s", l + 4);
			mode = 1;
			continue;
		}
		if (strcmp(l, "--- expect\n") == 0) {
			mode = 2;
			continue;
		}
		char **dst = mode == 1 ? &text : &expect;
		size_t *dl = mode == 1 ? &tl : &el;
		size_t n = strlen(l);
		char *nb = realloc(*dst, *dl + n + 1);
		assert_non_null(nb);
		memcpy(nb + *dl, l, n + 1);
		*dst = nb;
		*dl += n;
	}
	fclose(f);
	assert_true(ncases >= 5);
}

static void test_config_region(void **state)
{
	(void)state;
	static const char text[] = "[default]\n"
				   "region = eu-west-1\n"
				   "[profile prod]\n"
				   "region=ap-south-1\n"
				   "s3 =\n"
				   "  region = not-this\n"
				   "[profile noregion]\n"
				   "output = json\n"
				   "[prod]\n"
				   "region = not-a-profile-section\n";
	char r[16];
	char why[128] = "";

	assert_int_equal(fed_config_region(text, strlen(text), NULL, r, sizeof(r), why, sizeof(why)), 0);
	assert_string_equal(r, "eu-west-1");
	assert_int_equal(fed_config_region(text, strlen(text), "", r, sizeof(r), why, sizeof(why)), 0);
	assert_string_equal(r, "eu-west-1");
	assert_int_equal(fed_config_region(text, strlen(text), "prod", r, sizeof(r), why, sizeof(why)), 0);
	assert_string_equal(r, "ap-south-1");
	/* a profile without a region, and one that is not there */
	memset(r, 'x', sizeof(r));
	assert_int_equal(fed_config_region(text, strlen(text), "noregion", r, sizeof(r), why, sizeof(why)), 0);
	assert_string_equal(r, "");
	assert_int_equal(fed_config_region(text, strlen(text), "absent", r, sizeof(r), why, sizeof(why)), 0);
	assert_string_equal(r, "");

	/* "[profile default]" serves when there is no "[default]" */
	static const char pd[] = "[profile default]\nregion = us-west-2\n";
	assert_int_equal(fed_config_region(pd, strlen(pd), "default", r, sizeof(r), why, sizeof(why)), 0);
	assert_string_equal(r, "us-west-2");

	/* a malformed file says where; nothing is written */
	static const char bad[] = "[default]\nregion = eu-west-1\nregion = us-east-1\n";
	snprintf(r, sizeof(r), "keep");
	assert_int_equal(fed_config_region(bad, strlen(bad), NULL, r, sizeof(r), why, sizeof(why)), FED_ERR_CONFIG);
	assert_string_equal(r, "keep");
	assert_non_null(strstr(why, "line 3"));
	/* a region longer than the caller's buffer */
	static const char lng[] = "[default]\nregion = a-region-name-that-is-far-too-long-1\n";
	assert_int_equal(fed_config_region(lng, strlen(lng), NULL, r, sizeof(r), why, sizeof(why)), FED_ERR_TOO_LARGE);
	assert_string_equal(r, "keep");
	assert_int_equal(fed_config_region(text, strlen(text), NULL, r, 0, why, sizeof(why)), FED_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialect),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_botocore_cases),
		cmocka_unit_test(test_config_region),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
