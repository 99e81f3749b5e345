/* SPDX-License-Identifier: Apache-2.0 */
/* cli_profile_test.c: the profile.json reader (good and bad documents), the writer's round trip, names and throw-away keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/cli.h"
#include "proxy/proxy.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

#define AKID "AKIAABCDEFGHIJ234567"
#define SECRET "abcdefghijABCDEFGHIJ0123456789+/abcdefgh"
#define HEAD "{\"version\": 1, \"name\": \"work\", \"gate\": \"gate.example.com:8443\", "
#define KEYS "\"access_key_id\": \"" AKID "\", \"secret_access_key\": \"" SECRET "\""

struct parse_case {
	const char *name;
	const char *doc;
	int rv;
	const char *err_has; /* a word the message must contain */
};

static const struct parse_case parse_cases[] = {
	{"minimal", HEAD KEYS "}", 0, NULL},
	{"with-user-app-role", HEAD "\"user\": \"alice\", \"app\": \"dev\", \"role\": "
				    "\"arn:aws:iam::123456789012:role/Dev\", " KEYS "}",
	 0, NULL},
	{"nulls-for-optional", HEAD "\"user\": null, \"app\": null, \"role\": null, " KEYS "}", 0, NULL},
	{"unknown-member-ignored", HEAD "\"future\": [1, 2], " KEYS "}", 0, NULL},
	{"ipv6-gate", "{\"version\": 1, \"name\": \"v6\", \"gate\": \"[::1]:8443\", " KEYS "}", 0, NULL},

	{"empty", "", PX_ERR_PROFILE, "line"},
	{"not-json", "version=1", PX_ERR_PROFILE, "line"},
	{"array", "[]", PX_ERR_PROFILE, "object"},
	{"truncated", HEAD KEYS, PX_ERR_PROFILE, "line"},
	{"duplicate-member", HEAD "\"name\": \"other\", " KEYS "}", PX_ERR_PROFILE, "line"},
	{"no-version", "{\"name\": \"work\", \"gate\": \"g:1\", " KEYS "}", PX_ERR_PROFILE, "version"},
	{"version-2", "{\"version\": 2, \"name\": \"work\", \"gate\": \"g:1\", " KEYS "}", PX_ERR_PROFILE, "version"},
	{"version-string", "{\"version\": \"1\", \"name\": \"work\", \"gate\": \"g:1\", " KEYS "}", PX_ERR_PROFILE,
	 "version"},
	{"no-name", "{\"version\": 1, \"gate\": \"g:1\", " KEYS "}", PX_ERR_PROFILE, "name"},
	{"name-path", "{\"version\": 1, \"name\": \"../x\", \"gate\": \"g:1\", " KEYS "}", PX_ERR_PROFILE, "name"},
	{"name-dot", "{\"version\": 1, \"name\": \".hidden\", \"gate\": \"g:1\", " KEYS "}", PX_ERR_PROFILE, "name"},
	{"name-empty", "{\"version\": 1, \"name\": \"\", \"gate\": \"g:1\", " KEYS "}", PX_ERR_PROFILE, "name"},
	{"no-gate", "{\"version\": 1, \"name\": \"w\", " KEYS "}", PX_ERR_PROFILE, "gate"},
	{"gate-no-port", "{\"version\": 1, \"name\": \"w\", \"gate\": \"gate.example.com\", " KEYS "}", PX_ERR_PROFILE,
	 "gate"},
	{"gate-port-zero", "{\"version\": 1, \"name\": \"w\", \"gate\": \"g:0\", " KEYS "}", PX_ERR_PROFILE, "gate"},
	{"gate-port-big", "{\"version\": 1, \"name\": \"w\", \"gate\": \"g:65536\", " KEYS "}", PX_ERR_PROFILE, "gate"},
	{"gate-with-path", "{\"version\": 1, \"name\": \"w\", \"gate\": \"g/x:1\", " KEYS "}", PX_ERR_PROFILE, "gate"},
	{"gate-number", "{\"version\": 1, \"name\": \"w\", \"gate\": 8443, " KEYS "}", PX_ERR_PROFILE, "string"},
	{"no-secret", HEAD "\"access_key_id\": \"" AKID "\"}", PX_ERR_PROFILE, "secret_access_key"},
	{"akid-short", HEAD "\"access_key_id\": \"AKIA\", \"secret_access_key\": \"" SECRET "\"}", PX_ERR_PROFILE,
	 "access_key_id"},
	{"akid-lower", HEAD "\"access_key_id\": \"akiaabcdefghij234567\", \"secret_access_key\": \"" SECRET "\"}",
	 PX_ERR_PROFILE, "access_key_id"},
	{"secret-short", HEAD "\"access_key_id\": \"" AKID "\", \"secret_access_key\": \"abc\"}", PX_ERR_PROFILE,
	 "secret_access_key"},
	{"secret-bad-char", HEAD "\"access_key_id\": \"" AKID "\", \"secret_access_key\": "
				 "\"abcdefghijABCDEFGHIJ0123456789+/abcdefg!\"}",
	 PX_ERR_PROFILE, "secret_access_key"},
	{"user-control-char", HEAD "\"user\": \"al\\u0007ice\", " KEYS "}", PX_ERR_PROFILE, "control"},
	{"user-nul", HEAD "\"user\": \"al\\u0000ice\", " KEYS "}", PX_ERR_PROFILE, "line"},
	{"app-not-string", HEAD "\"app\": 3, " KEYS "}", PX_ERR_PROFILE, "app"},
};

static void test_parse(void **state)
{
	const struct parse_case *c = *state;
	struct px_cli_profile p;
	char err[256] = "";

	memset(&p, 0x5a, sizeof(p));
	int rv = px_cli_profile_parse(c->doc, strlen(c->doc), &p, err, sizeof(err));
	assert_int_equal(rv, c->rv);
	if (rv == 0) {
		assert_string_equal(p.access_key_id, AKID);
		assert_string_equal(p.secret_access_key, SECRET);
		assert_true(p.name[0] != '\0' && p.gate[0] != '\0');
	} else {
		/* written only on success, and the message says what */
		assert_int_equal((unsigned char)p.name[0], 0x5a);
		assert_non_null(strstr(err, c->err_has));
	}
}

static void test_parse_too_large(void **state)
{
	(void)state;
	size_t n = PX_CLI_PROFILE_MAX_BYTES + 1;
	char *big = malloc(n);
	char err[256] = "";
	struct px_cli_profile p;

	assert_non_null(big);
	memset(big, ' ', n);
	assert_int_equal(px_cli_profile_parse(big, n, &p, err, sizeof(err)), PX_ERR_TOO_LARGE);
	free(big);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct px_cli_profile p, q;
	char *doc = NULL;
	size_t len = 0;
	char err[256] = "";

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", "work");
	snprintf(p.gate, sizeof(p.gate), "%s", "gate.example.com:8443");
	snprintf(p.user, sizeof(p.user), "%s", "a \"quoted\" \\ user");
	snprintf(p.role, sizeof(p.role), "%s", "arn:aws:iam::123456789012:role/team/Dev");
	assert_int_equal(px_cli_keys_generate(p.access_key_id, p.secret_access_key), 0);
	assert_int_equal(px_cli_profile_format(&p, &doc, &len), 0);
	assert_int_equal(strlen(doc), len);
	assert_int_equal(px_cli_profile_parse(doc, len, &q, err, sizeof(err)), 0);
	assert_string_equal(q.user, p.user);
	assert_string_equal(q.role, p.role);
	assert_string_equal(q.app, "");
	assert_string_equal(q.secret_access_key, p.secret_access_key);
	assert_non_null(strstr(doc, "\"app\": null"));
	free(doc);
	px_cli_profile_wipe(&q);
	for (size_t i = 0; i < sizeof(q); i++)
		assert_int_equal(((unsigned char *)&q)[i], 0);
}

static void test_keys(void **state)
{
	(void)state;
	char a[PX_CLI_AKID_LEN + 1], s[PX_CLI_SECRET_LEN + 1], a2[PX_CLI_AKID_LEN + 1], s2[PX_CLI_SECRET_LEN + 1];

	assert_int_equal(px_cli_keys_generate(a, s), 0);
	assert_int_equal(px_cli_keys_generate(a2, s2), 0);
	assert_int_equal(strlen(a), 20);
	assert_int_equal(strlen(s), 40);
	assert_memory_equal(a, "AKIA", 4);
	for (size_t i = 0; i < 20; i++)
		assert_true((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= '0' && a[i] <= '9'));
	assert_string_not_equal(a, a2);
	assert_string_not_equal(s, s2);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(px_cli_name_check("work"), 0);
	assert_int_equal(px_cli_name_check("gate.example.com"), 0);
	assert_int_equal(px_cli_name_check("a_b-c.9"), 0);
	assert_int_equal(px_cli_name_check(""), PX_ERR_PROFILE);
	assert_int_equal(px_cli_name_check(".."), PX_ERR_PROFILE);
	assert_int_equal(px_cli_name_check("a/b"), PX_ERR_PROFILE);
	assert_int_equal(px_cli_name_check("a b"), PX_ERR_PROFILE);
	assert_int_equal(px_cli_name_check("current\n"), PX_ERR_PROFILE);
	char longname[PX_CLI_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(px_cli_name_check(longname), PX_ERR_PROFILE);
	longname[PX_CLI_NAME_MAX] = '\0';
	assert_int_equal(px_cli_name_check(longname), 0);
}

struct version_case {
	const char *ours, *theirs;
	int rv;
};

static void test_versions(void **state)
{
	(void)state;
	static const struct version_case cases[] = {
		{"0.1.0", "0.1.0", 0}, {"0.1.0", "0.1.7", 0},	{"0.1.0", "0.2.0", 1}, {"0.2.0", "0.1.0", 1},
		{"1.2.0", "1.9.3", 0}, {"1.2.0", "2.0.0", 1},	{"1.0.0", "0.9.0", 1}, {"0.1.0", "", 1},
		{"0.1.0", "x", 1},     {"0.1.0", "0.1.0-rc1", 0}, {"0.1.0", "0", 1},	 {"0.1.0", "0.1x", 1},
	};
	char msg[512];
	for (size_t i = 0; i < LEN(cases); i++) {
		msg[0] = '\0';
		int rv = px_cli_version_check(cases[i].ours, cases[i].theirs, msg, sizeof(msg));
		if (rv != cases[i].rv)
			fail_msg("%s vs %s: %d", cases[i].ours, cases[i].theirs, rv);
		if (rv != 0)
			assert_true(msg[0] != '\0');
	}
}

int main(void)
{
	struct CMUnitTest tests[LEN(parse_cases) + 5];
	size_t n = 0;

	for (size_t i = 0; i < LEN(parse_cases); i++)
		tests[n++] = (struct CMUnitTest){.name = parse_cases[i].name, .test_func = test_parse,
						 .initial_state = (void *)(uintptr_t)&parse_cases[i]};
	tests[n++] = (struct CMUnitTest){.name = "too-large", .test_func = test_parse_too_large};
	tests[n++] = (struct CMUnitTest){.name = "format-parse-roundtrip", .test_func = test_roundtrip};
	tests[n++] = (struct CMUnitTest){.name = "throw-away-keys", .test_func = test_keys};
	tests[n++] = (struct CMUnitTest){.name = "profile-names", .test_func = test_names};
	tests[n++] = (struct CMUnitTest){.name = "version-rule", .test_func = test_versions};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
