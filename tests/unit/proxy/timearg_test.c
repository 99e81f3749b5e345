/* SPDX-License-Identifier: Apache-2.0 */
/* timearg_test.c: table-driven tests of signing times given on command lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/proxy.h"

/* Expected values come from proxy.h's three forms (20150830T123600Z,
 * 2015-08-30T12:36:00Z, seconds since the epoch), the proleptic Gregorian
 * calendar (Python's calendar.timegm) and sigv4's range, years 1970..9999. */

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL INT64_C(-4242)

struct time_case {
	const char *name;
	const char *s;
	int rv;
	int64_t t;
};

static struct time_case time_cases[] = {
	{"basic-aws-suite-time", "20150830T123600Z", 0, 1440938160},
	{"extended-aws-suite-time", "2015-08-30T12:36:00Z", 0, 1440938160},
	{"seconds-aws-suite-time", "1440938160", 0, 1440938160},
	{"basic-epoch", "19700101T000000Z", 0, 0},
	{"extended-epoch", "1970-01-01T00:00:00Z", 0, 0},
	{"seconds-zero", "0", 0, 0},
	{"extended-leap-day-2000", "2000-02-29T00:00:00Z", 0, 951782400},
	{"extended-leap-day-2024", "2024-02-29T12:00:00Z", 0, 1709208000},
	{"basic-max", "99991231T235959Z", 0, INT64_C(253402300799)},
	{"extended-max", "9999-12-31T23:59:59Z", 0, INT64_C(253402300799)},
	{"seconds-max", "253402300799", 0, INT64_C(253402300799)},
	{"seconds-int32-max-plus-one", "2147483648", 0, INT64_C(2147483648)},

	{"empty", "", PX_ERR_RANGE, 0},
	{"seconds-negative", "-1", PX_ERR_RANGE, 0},
	{"seconds-plus-sign", "+1", PX_ERR_RANGE, 0},
	{"seconds-leading-space", " 1", PX_ERR_RANGE, 0},
	{"seconds-trailing-space", "1 ", PX_ERR_RANGE, 0},
	{"seconds-fraction", "1440938160.5", PX_ERR_RANGE, 0},
	{"seconds-exponent", "1e9", PX_ERR_RANGE, 0},
	{"seconds-hex", "0x10", PX_ERR_RANGE, 0},
	{"seconds-over-max", "253402300800", PX_ERR_RANGE, 0},
	{"seconds-thirteen-digits", "9999999999999", PX_ERR_RANGE, 0},
	{"seconds-twenty-digits", "99999999999999999999", PX_ERR_RANGE, 0},
	{"basic-before-1970", "19691231T235959Z", PX_ERR_RANGE, 0},
	{"basic-february-29-2100", "21000229T000000Z", PX_ERR_RANGE, 0},
	{"basic-month-13", "20151330T123600Z", PX_ERR_RANGE, 0},
	{"basic-lower-case-z", "20150830T123600z", PX_ERR_RANGE, 0},
	{"basic-without-z", "20150830T123600", PX_ERR_RANGE, 0},
	{"extended-without-z", "2015-08-30T12:36:00", PX_ERR_RANGE, 0},
	{"extended-space-for-t", "2015-08-30 12:36:00Z", PX_ERR_RANGE, 0},
	{"extended-lower-case-t-and-z", "2015-08-30t12:36:00z", PX_ERR_RANGE, 0},
	{"extended-slashes", "2015/08/30T12:36:00Z", PX_ERR_RANGE, 0},
	{"extended-offset", "2015-08-30T12:36:00+00:00", PX_ERR_RANGE, 0},
	{"extended-fraction", "2015-08-30T12:36:00.000Z", PX_ERR_RANGE, 0},
	{"extended-one-digit-month", "2015-8-30T12:36:00Z", PX_ERR_RANGE, 0},
	{"extended-letter-in-month", "2015-0a-30T12:36:00Z", PX_ERR_RANGE, 0},
	{"extended-day-32", "2015-08-32T12:36:00Z", PX_ERR_RANGE, 0},
	{"extended-hour-24", "2015-08-30T24:00:00Z", PX_ERR_RANGE, 0},
	{"extended-second-60", "2015-08-30T12:36:60Z", PX_ERR_RANGE, 0},
	{"extended-february-29-2100", "2100-02-29T00:00:00Z", PX_ERR_RANGE, 0},
	{"extended-before-1970", "1969-12-31T23:59:59Z", PX_ERR_RANGE, 0},
	{"date-only", "2015-08-30", PX_ERR_RANGE, 0},
	{"words", "now", PX_ERR_RANGE, 0},
};

static void test_time(void **state)
{
	const struct time_case *c = *state;
	int64_t t = SENTINEL;

	assert_int_equal(px_time_parse(c->s, &t), c->rv);
	if (c->rv == 0)
		assert_int_equal(t, c->t);
	else
		assert_int_equal(t, SENTINEL); /* written only on success */
}

int main(void)
{
	struct CMUnitTest tests[LEN(time_cases)];

	for (size_t i = 0; i < LEN(time_cases); i++)
		tests[i] = (struct CMUnitTest){.name = time_cases[i].name, .test_func = test_time,
		                               .initial_state = &time_cases[i]};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
