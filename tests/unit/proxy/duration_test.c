/* SPDX-License-Identifier: Apache-2.0 */
/* duration_test.c: table-driven tests of the one duration grammar of flags and configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/proxy.h"

/* Expected values come from proxy.h's grammar: a bare integer of seconds,
 * or numbers with units h, m, s, each unit at most once and in that order;
 * more than UINT32_MAX (4294967295) seconds is PX_ERR_RANGE. */

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL UINT32_C(424242)

struct duration_case {
	const char *name;
	const char *s;
	int rv;
	uint32_t secs;
};

static struct duration_case duration_cases[] = {
	{"seconds", "90s", 0, 90},
	{"minutes", "15m", 0, 900},
	{"hours", "8h", 0, 28800},
	{"hours-and-minutes", "1h30m", 0, 5400},
	{"thirty-days-in-hours", "720h", 0, 2592000},
	{"hours-minutes-seconds", "1h30m15s", 0, 5415},
	{"hours-and-seconds", "1h15s", 0, 3615},
	{"minutes-and-seconds", "2m3s", 0, 123},
	{"minutes-over-sixty", "90m", 0, 5400},
	{"zero-hours", "0h", 0, 0},
	{"zero-units", "0h0m0s", 0, 0},
	{"bare-seconds", "900", 0, 900},
	{"bare-zero", "0", 0, 0},
	{"bare-uint32-max", "4294967295", 0, UINT32_MAX},
	{"seconds-uint32-max", "4294967295s", 0, UINT32_MAX},
	{"units-sum-to-uint32-max", "1193046h28m15s", 0, UINT32_MAX},
	{"minutes-sum-to-uint32-max", "71582788m15s", 0, UINT32_MAX},

	{"empty", "", PX_ERR_DURATION, 0},
	{"unknown-unit-days", "1d", PX_ERR_DURATION, 0},
	{"upper-case-unit", "1H", PX_ERR_DURATION, 0},
	{"unit-without-number", "m", PX_ERR_DURATION, 0},
	{"second-unit-without-number", "1hm", PX_ERR_DURATION, 0},
	{"units-out-of-order", "1m1h", PX_ERR_DURATION, 0},
	{"seconds-before-minutes", "1s1m", PX_ERR_DURATION, 0},
	{"unit-twice", "1h1h", PX_ERR_DURATION, 0},
	{"seconds-twice", "1s1s", PX_ERR_DURATION, 0},
	{"bare-number-after-unit", "30s5", PX_ERR_DURATION, 0},
	{"bare-number-after-hours", "1h30", PX_ERR_DURATION, 0},
	{"negative", "-5", PX_ERR_DURATION, 0},
	{"plus-sign", "+5", PX_ERR_DURATION, 0},
	{"space-before-unit", "5 m", PX_ERR_DURATION, 0},
	{"space-between-parts", "1h 30m", PX_ERR_DURATION, 0},
	{"leading-space", " 5m", PX_ERR_DURATION, 0},
	{"trailing-space", "5m ", PX_ERR_DURATION, 0},
	{"fraction", "1.5h", PX_ERR_DURATION, 0},
	{"milliseconds", "5ms", PX_ERR_DURATION, 0},
	{"unit-first", "h1", PX_ERR_DURATION, 0},

	{"bare-over-uint32-max", "4294967296", PX_ERR_RANGE, 0},
	{"seconds-over-uint32-max", "4294967296s", PX_ERR_RANGE, 0},
	{"hours-over-uint32-max", "1193047h", PX_ERR_RANGE, 0},
	{"units-sum-over-uint32-max", "1193046h28m16s", PX_ERR_RANGE, 0},
	{"minutes-sum-over-uint32-max", "71582788m16s", PX_ERR_RANGE, 0},
	{"twenty-digits", "99999999999999999999", PX_ERR_RANGE, 0},
	{"twenty-digit-hours", "99999999999999999999h", PX_ERR_RANGE, 0},
};

static void test_duration(void **state)
{
	const struct duration_case *c = *state;
	uint32_t secs = SENTINEL;

	assert_int_equal(px_duration_parse(c->s, &secs), c->rv);
	if (c->rv == 0)
		assert_int_equal(secs, c->secs);
	else
		assert_int_equal(secs, SENTINEL); /* written only on success */
}

int main(void)
{
	struct CMUnitTest tests[LEN(duration_cases)];

	for (size_t i = 0; i < LEN(duration_cases); i++)
		tests[i] = (struct CMUnitTest){.name = duration_cases[i].name, .test_func = test_duration,
		                               .initial_state = &duration_cases[i]};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
