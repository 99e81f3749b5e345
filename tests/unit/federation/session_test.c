/* SPDX-License-Identifier: Apache-2.0 */
/* session_test.c: RoleSessionName reduction with hash suffixes, and the session duration rules, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "federation/federation.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define X10 "xxxxxxxxxx"
#define Y10 "yyyyyyyyyy"
#define Z10 "zzzzzzzzzz"

/* The hash suffixes are Python's hashlib.sha256(user.encode()).hexdigest()[:8]. */
static const struct {
	const char *user, *want;
} names[] = {
	{"alice", "alice"},
	{"alice@example.com", "alice@example.com"},
	{"a.b_c+d=e,f-g", "a.b_c+d=e,f-g"},
	{"ab", "ab"},
	{"a", "a-ca978112"},                   /* too short: padded with the hash */
	{"alice smith", "alice_smith-038bd15a"}, /* changed */
	{"J\xc3\xbcrgen", "J_rgen-c58fb672"},  /* one '_' per UTF-8 character */
	{"\xe5\x90\x8d\xe5\x89\x8d", "__-7ec26292"},
	{"a/b:c", "a_b_c-3b07f80c"},
	{Y10 Y10 Y10 Y10 Y10 Y10 "yyyy", Y10 Y10 Y10 Y10 Y10 Y10 "yyyy"}, /* exactly 64: kept */
	{X10 X10 X10 X10 X10 X10 X10, X10 X10 X10 X10 X10 "xxxxx-c71bd109"}, /* 70: cut to 55 + hash */
	{Z10 Z10 Z10 Z10 Z10 Z10 " ", Z10 Z10 Z10 Z10 Z10 "zzzzz-299af5aa"},
};

/* STS's own rule (botocore's model: min 2, max 64, pattern [\w+=,.@-]*). */
static int sts_accepts(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-", s[i]))
			return 0;
	return 1;
}

static void test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(names); i++) {
		char dst[FED_SESSION_NAME_MAX + 1];
		memset(dst, 'Q', sizeof(dst));
		assert_int_equal(fed_session_name(names[i].user, dst), 0);
		if (strcmp(dst, names[i].want) != 0)
			fail_msg("%s: got %s, want %s", names[i].user, dst, names[i].want);
		assert_true(sts_accepts(dst));
	}
	char dst[FED_SESSION_NAME_MAX + 1] = "untouched";
	assert_int_equal(fed_session_name("", dst), FED_ERR_INVALID);
	assert_int_equal(fed_session_name(NULL, dst), FED_ERR_INVALID);
	char big[FED_SESSION_MAX_USER + 2];
	memset(big, 'b', sizeof(big));
	big[FED_SESSION_MAX_USER + 1] = '\0';
	assert_int_equal(fed_session_name(big, dst), FED_ERR_INVALID);
	assert_string_equal(dst, "untouched");
	big[FED_SESSION_MAX_USER] = '\0';
	assert_int_equal(fed_session_name(big, dst), 0);
	assert_int_equal(strlen(dst), 64);
}

/* Distinct users never share a session name (within this sample). */
static void test_names_distinct(void **state)
{
	(void)state;
	const char *users[] = {"a b", "a_b", "a-b", "a\tb", "a\xc3\xa9" "b", "a", "a-", "a_", X10 X10 X10 X10 X10 X10 X10,
	                       X10 X10 X10 X10 X10 X10 X10 "x"};
	char out[LEN(users)][FED_SESSION_NAME_MAX + 1];
	for (size_t i = 0; i < LEN(users); i++) {
		assert_int_equal(fed_session_name(users[i], out[i]), 0);
		for (size_t j = 0; j < i; j++)
			if (strcmp(out[i], out[j]) == 0)
				fail_msg("users %zu and %zu share %s", i, j, out[i]);
	}
}

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t requested;
		int64_t left;
		uint32_t role_max;
		bool chained;
		int rv;
		uint32_t want;
	} cases[] = {
		{"defaults", 0, 86400, 0, false, 0, 3600},
		{"asked-under-everything", 1800, 86400, 43200, false, 0, 1800},
		{"role-max-wins", 43200, 86400, 7200, false, 0, 7200},
		{"user-left-wins", 43200, 5000, 43200, false, 0, 5000},
		{"default-role-max", 7200, 86400, 0, false, 0, 3600},
		{"never-over-12h", 86400, 864000, 86400, false, 0, 43200},
		{"chained-capped-1h", 43200, 86400, 43200, true, 0, 3600},
		{"chained-under-1h", 1200, 86400, 43200, true, 0, 1200},
		{"exactly-900-left", 3600, 900, 3600, false, 0, 900},
		{"899-left", 3600, 899, 3600, false, FED_ERR_SESSION_TOO_SHORT, 0},
		{"expired-session", 3600, -5, 3600, false, FED_ERR_SESSION_TOO_SHORT, 0},
		{"asked-under-900", 600, 86400, 3600, false, FED_ERR_SESSION_TOO_SHORT, 0},
		{"role-max-under-900", 3600, 86400, 600, false, FED_ERR_SESSION_TOO_SHORT, 0},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		uint32_t out = 4242;
		int rv = fed_session_duration(cases[i].requested, cases[i].left, cases[i].role_max, cases[i].chained, &out);
		if (rv != cases[i].rv || out != (rv == 0 ? cases[i].want : 4242))
			fail_msg("%s: rv %d out %u", cases[i].name, rv, out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_distinct),
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
