/* SPDX-License-Identifier: Apache-2.0 */
/* time_test.c: table-driven tests of the YYYYMMDDTHHMMSSZ time format SigV4 signs with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sigv4/sigv4.h"

/* Expected values come from the proleptic Gregorian calendar (Python's
 * calendar.timegm), the AWS suite's signing time (20150830T123600Z) and
 * sigv4.h's range: years 1970..9999. */

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STR(x) .s = (x), .len = sizeof(x) - 1
#define SENTINEL INT64_C(-4242)

/* ------------------------------------------------------------------------
 * Known values, checked both ways. */

struct known_case {
	const char *name;
	int64_t t;
	const char *s;
};

static struct known_case known_cases[] = {
	{"epoch", 0, "19700101T000000Z"},
	{"end-of-first-day", 86399, "19700101T235959Z"},
	{"end-of-1972-a-leap-year", 94694399, "19721231T235959Z"},
	{"aws-suite-time", 1440938160, "20150830T123600Z"},
	{"end-of-1999", 946684799, "19991231T235959Z"},
	{"start-of-2000", 946684800, "20000101T000000Z"},
	{"leap-day-2000", 951782400, "20000229T000000Z"},
	{"end-of-2000-a-leap-year", 978307199, "20001231T235959Z"},
	{"leap-day-2024", 1709208000, "20240229T120000Z"},
	{"last-day-of-2024", 1735603200, "20241231T000000Z"},
	{"int32-max", INT64_C(2147483647), "20380119T031407Z"},
	{"int32-max-plus-one", INT64_C(2147483648), "20380119T031408Z"},
	{"end-of-february-2100", INT64_C(4107542399), "21000228T235959Z"},
	{"march-after-2100-not-a-leap-year", INT64_C(4107542400), "21000301T000000Z"},
	{"max-time", INT64_C(253402300799), "99991231T235959Z"},
};

static void test_format_known(void **state)
{
	const struct known_case *c = *state;
	char dst[17];

	memset(dst, 'x', sizeof(dst));
	assert_int_equal(sv4_format_time(dst, c->t), 0);
	assert_int_equal(dst[16], '\0');
	assert_string_equal(dst, c->s);
}

static void test_parse_known(void **state)
{
	const struct known_case *c = *state;
	int64_t t = SENTINEL;

	assert_int_equal(sv4_parse_time(c->s, strlen(c->s), &t), 0);
	assert_int_equal(t, c->t);
}

/* ------------------------------------------------------------------------
 * Times that cannot be formatted. */

struct bad_time_case {
	const char *name;
	int64_t t;
};

static struct bad_time_case bad_time_cases[] = {
	{"format-minus-one", -1},
	{"format-before-epoch", INT64_C(-86400)},
	{"format-int64-min", INT64_MIN},
	{"format-max-time-plus-one", INT64_C(253402300800)},
	{"format-int64-max", INT64_MAX},
};

static void test_format_bad(void **state)
{
	const struct bad_time_case *c = *state;
	char dst[17];

	memset(dst, 'x', sizeof(dst));
	assert_int_equal(sv4_format_time(dst, c->t), SV4_ERR_BAD_TIME);
	for (size_t i = 0; i < sizeof(dst); i++)
		assert_int_equal(dst[i], 'x'); /* written only on success */
}

/* ------------------------------------------------------------------------
 * Strings that do not parse. */

struct bad_string_case {
	const char *name;
	const char *s;
	size_t len;
};

static struct bad_string_case bad_string_cases[] = {
	{"parse-empty", STR("")},
	{"parse-too-short", STR("20150830T123600")},
	{"parse-too-long", STR("20150830T123600ZZ")},
	{"parse-date-only", STR("20150830")},
	{"parse-extended-format", STR("2015-08-30T12:36:00Z")},
	{"parse-missing-t", STR("20150830 123600Z")},
	{"parse-missing-z", STR("20150830T123600 ")},
	{"parse-z-replaced-by-digit", STR("20150830T1236000")},
	{"parse-lower-case-t", STR("20150830t123600Z")},
	{"parse-lower-case-z", STR("20150830T123600z")},
	{"parse-month-13", STR("20151330T123600Z")},
	{"parse-month-00", STR("20150030T123600Z")},
	{"parse-day-32", STR("20150832T123600Z")},
	{"parse-day-00", STR("20150800T123600Z")},
	{"parse-april-31", STR("20150431T123600Z")},
	{"parse-february-30-in-a-leap-year", STR("20240230T000000Z")},
	{"parse-february-29-2023", STR("20230229T000000Z")},
	{"parse-february-29-2100", STR("21000229T000000Z")},
	{"parse-february-29-1900", STR("19000229T000000Z")},
	{"parse-hour-24", STR("20150830T240000Z")},
	{"parse-minute-60", STR("20150830T126000Z")},
	{"parse-second-60", STR("20150830T123660Z")},
	{"parse-letter-in-year", STR("2O150830T123600Z")},
	{"parse-letter-in-month", STR("2015O830T123600Z")},
	{"parse-letter-in-day", STR("2015083aT123600Z")},
	{"parse-letter-in-second", STR("20150830T12360aZ")},
	{"parse-space-in-date", STR("2015 830T123600Z")},
	{"parse-sign-in-year", STR("+0150830T123600Z")},
	{"parse-sign-in-hour", STR("20150830T-13600Z")},
	{"parse-nul-bytes", STR("20150830T1236\0\0Z")},
	{"parse-before-1970", STR("19691231T235959Z")},
	{"parse-year-0", STR("00000101T000000Z")},
};

static void test_parse_bad(void **state)
{
	const struct bad_string_case *c = *state;
	int64_t t = SENTINEL;

	assert_int_equal(sv4_parse_time(c->s, c->len, &t), SV4_ERR_BAD_TIME);
	assert_int_equal(t, SENTINEL); /* written only on success */
}

/* ------------------------------------------------------------------------
 * Properties: only |len| bytes are read; format then parse is the identity. */

static void test_parse_reads_only_len(void **state)
{
	(void)state;
	int64_t t = SENTINEL;

	assert_int_equal(sv4_parse_time("20150830T123600Zjunk", 16, &t), 0);
	assert_int_equal(t, 1440938160);
}

struct sweep_case {
	const char *name;
	int64_t start;
	int64_t step;
	int64_t count;
};

static struct sweep_case sweep_cases[] = {
	/* Every second of the first and the last day of the range, around
	 * leap days, and a prime stride across the whole range. */
	{"round-trip-first-day-every-second", 0, 1, 86400},
	{"round-trip-last-day-every-second", INT64_C(253402214400), 1, 86400},
	{"round-trip-2000-02-28-to-03-02-every-minute", 951696000, 60, 3 * 1440},
	{"round-trip-2100-02-28-to-03-02-every-minute", INT64_C(4107456000), 60, 3 * 1440},
	{"round-trip-every-day-1970-to-2500", 43199, 86400, 193000},
	{"round-trip-whole-range-prime-stride", 7, INT64_C(2534023), 100000},
};

static void test_round_trip(void **state)
{
	const struct sweep_case *c = *state;
	char dst[17];
	char prev[17] = "";

	for (int64_t i = 0; i < c->count; i++) {
		int64_t t = c->start + i * c->step;
		int64_t back = SENTINEL;
		if (t > INT64_C(253402300799))
			break;
		assert_int_equal(sv4_format_time(dst, t), 0);
		assert_int_equal(sv4_parse_time(dst, 16, &back), 0);
		if (back != t)
			fail_msg("%s parses to %lld, want %lld", dst, (long long)back, (long long)t);
		/* Same width, so later times are later strings. */
		assert_true(strcmp(prev, dst) < 0);
		memcpy(prev, dst, sizeof(dst));
	}
}

/* ------------------------------------------------------------------------ */

#define ADD_CASES(table, fn)                                                                    \
	for (size_t i = 0; i < LEN(table); i++)                                                  \
		tests[n++] = (struct CMUnitTest){.name = (table)[i].name, .test_func = (fn),       \
		                                 .initial_state = &(table)[i]}

/* Test names of the known values, one per direction. */
static char known_names[2][LEN(known_cases)][64];

int main(void)
{
	struct CMUnitTest tests[2 * LEN(known_cases) + LEN(bad_time_cases) + LEN(bad_string_cases) + 1 +
	                        LEN(sweep_cases)];
	size_t n = 0;

	for (size_t i = 0; i < LEN(known_cases); i++) {
		snprintf(known_names[0][i], sizeof(known_names[0][i]), "format-%s", known_cases[i].name);
		snprintf(known_names[1][i], sizeof(known_names[1][i]), "parse-%s", known_cases[i].name);
		tests[n++] = (struct CMUnitTest){.name = known_names[0][i], .test_func = test_format_known,
		                                 .initial_state = &known_cases[i]};
		tests[n++] = (struct CMUnitTest){.name = known_names[1][i], .test_func = test_parse_known,
		                                 .initial_state = &known_cases[i]};
	}
	ADD_CASES(bad_time_cases, test_format_bad);
	ADD_CASES(bad_string_cases, test_parse_bad);
	tests[n++] = (struct CMUnitTest){.name = "parse-reads-only-len-bytes",
	                                 .test_func = test_parse_reads_only_len};
	ADD_CASES(sweep_cases, test_round_trip);
	if (n != LEN(tests))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
