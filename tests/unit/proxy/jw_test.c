/* SPDX-License-Identifier: Apache-2.0 */
/* jw_test.c: the audit's JSON writer (log.c): every line it writes is read back with jansson, an independent parser. */
#define _GNU_SOURCE /* strptime(), timegm() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "proxy/server.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/awsgate-jw-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return px_audit_open(path, true);
}

static int teardown(void **state)
{
	(void)state;
	px_log_close();
	unlink(path);
	return 0;
}

/* The last line of the audit file, parsed. */
static json_t *last_event(void)
{
	FILE *f = fopen(path, "r");
	char line[200000], last[200000] = "";
	json_error_t err;
	json_t *o;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		memcpy(last, line, strlen(line) + 1);
	fclose(f);
	assert_true(strlen(last) > 0 && last[strlen(last) - 1] == '\n');
	o = json_loads(last, 0, &err);
	if (o == NULL)
		fail_msg("not JSON: %s: %s", err.text, last);
	return o;
}

static void test_members_and_escapes(void **state)
{
	static const char nasty[] = "a\"b\\c\n\r\t\001\x7f/</script>";
	struct px_jw w;
	json_t *o;

	(void)state;
	px_jw_init(&w);
	px_jw_str(&w, "event", "api.request");
	px_jw_int(&w, "conn", INT64_C(281474976710657));
	px_jw_int(&w, "neg", -42);
	px_jw_str(&w, "nasty", nasty);
	px_jw_strn(&w, "cut", "abcdef", 3);
	px_jw_str(&w, "none", NULL);
	px_jw_str(&w, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
	assert_int_equal(px_audit_jw(&w), 0);
	o = last_event();
	assert_string_equal(json_string_value(json_object_get(o, "event")), "api.request");
	assert_int_equal(json_integer_value(json_object_get(o, "conn")), INT64_C(281474976710657));
	assert_int_equal(json_integer_value(json_object_get(o, "neg")), -42);
	assert_string_equal(json_string_value(json_object_get(o, "nasty")), nasty);
	assert_string_equal(json_string_value(json_object_get(o, "cut")), "abc");
	assert_true(json_is_null(json_object_get(o, "none")));
	assert_string_equal(json_string_value(json_object_get(o, "utf8")), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
	/* "time" is added last, as px_audit() does. */
	assert_non_null(json_string_value(json_object_get(o, "time")));
	assert_int_equal(json_object_size(o), 8);
	json_decref(o);
}

static void test_invalid_utf8_replaced(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"\xff", "\xef\xbf\xbd"},                           /* never valid */
		{"a\xc3", "a\xef\xbf\xbd"},                         /* cut short */
		{"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},           /* overlong '/' */
		{"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
		{"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* past U+10FFFF */
		{"ok\xe2\x82", "ok\xef\xbf\xbd\xef\xbf\xbd"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct px_jw w;
		json_t *o;
		px_jw_init(&w);
		px_jw_str(&w, "path", cases[i].in);
		assert_int_equal(px_audit_jw(&w), 0);
		o = last_event();
		assert_string_equal(json_string_value(json_object_get(o, "path")), cases[i].out);
		json_decref(o);
	}
}

static void test_grows_and_limit(void **state)
{
	char *big = malloc(PX_JW_MAX);
	struct px_jw w;
	json_t *o;
	long before;
	FILE *f;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', PX_JW_MAX - 1);
	big[8000] = '\0'; /* past the writer's stack buffer: it moves to the heap */
	px_jw_init(&w);
	px_jw_str(&w, "path", big);
	assert_int_equal(px_audit_jw(&w), 0);
	o = last_event();
	assert_int_equal(strlen(json_string_value(json_object_get(o, "path"))), 8000);
	json_decref(o);

	/* Past PX_JW_MAX: nothing is written, and the fail-closed log says so. */
	big[8000] = 'x';
	big[PX_JW_MAX - 1] = '\0';
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	before = ftell(f);
	fclose(f);
	px_jw_init(&w);
	px_jw_str(&w, "path", big);
	assert_int_equal(px_audit_jw(&w), PX_ERR_IO);
	assert_true(px_audit_failing());
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	assert_int_equal(ftell(f), before);
	fclose(f);
	/* The next good line clears the failure. */
	px_jw_init(&w);
	px_jw_str(&w, "event", "ok");
	assert_int_equal(px_audit_jw(&w), 0);
	assert_false(px_audit_failing());
	free(big);
}

/* The audit file's size in bytes. */
static long file_size(void)
{
	FILE *f = fopen(path, "r");
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

/* The last line of the audit file, as it is. */
static void last_line(char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char line[200000];

	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		assert_true(n < size);
		memcpy(out, line, n + 1);
	}
	fclose(f);
}

/* Every special byte at every place of a plain run, across the writer's
 * eight-byte steps: jansson reads back the value it was given, with
 * invalid UTF-8 as U+FFFD per byte; the escapes take JSON's short forms
 * for '"' and '\\' only and \u00XX (lower case) for control characters. */
static void test_runs_and_their_ends(void **state)
{
	static const struct {
		const char *in, *out, *raw;
		size_t inlen;
	} specials[] = {
		{"\"", "\"", "\\\"", 1},
		{"\\", "\\", "\\\\", 1},
		{"\n", "\n", "\\u000a", 1},
		{"\x1f", "\x1f", "\\u001f", 1},
		{"\x7f", "\x7f", "\x7f", 1}, /* DEL: allowed as it is */
		{"\xc3\xa9", "\xc3\xa9", "\xc3\xa9", 2},
		{"\xf0\x9f\x94\x91", "\xf0\x9f\x94\x91", "\xf0\x9f\x94\x91", 4},
		{"\xff", "\xef\xbf\xbd", "\\ufffd", 1},
		{"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd", "\\ufffd\\ufffd", 2}, /* cut short in the middle of a run */
		{"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "\\ufffd\\ufffd", 2},
	};
	char in[64], want[64], raw[256], line[512];

	(void)state;
	for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
		for (size_t at = 0; at <= 24; at++) {
			struct px_jw w;
			json_t *o;
			size_t inlen;

			memset(in, 'a', 24);
			memcpy(in + at, specials[k].in, specials[k].inlen);
			memset(in + at + specials[k].inlen, 'b', 24 - at);
			inlen = 24 + specials[k].inlen;
			in[inlen] = '\0';
			snprintf(want, sizeof(want), "%.*s%s%.*s", (int)at, in, specials[k].out, (int)(24 - at),
				 in + at + specials[k].inlen);

			assert_int_equal(truncate(path, 0), 0);
			px_jw_init(&w);
			px_jw_str(&w, "v", in);
			assert_int_equal(px_audit_jw(&w), 0);
			o = last_event();
			assert_string_equal(json_string_value(json_object_get(o, "v")), want);
			json_decref(o);

			snprintf(raw, sizeof(raw), "{\"v\":\"%.*s%s%.*s\",\"time\":\"", (int)at, in, specials[k].raw,
				 (int)(24 - at), in + at + specials[k].inlen);
			last_line(line, sizeof(line));
			assert_memory_equal(line, raw, strlen(raw));
		}
	}
}

/* Long values: a plain run of thousands of bytes, every control
 * character (NUL included, through px_jw_strn()), and numbers at the
 * ends of int64_t. */
static void test_long_runs_controls_numbers(void **state)
{
	char *big = malloc(5000);
	char ctl[32];
	struct px_jw w;
	json_t *o;
	json_error_t err;
	char line[1024];

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < 4999; i++)
		big[i] = (char)('!' + i % 94); /* printable ASCII, '"' and '\\' among it */
	big[4999] = '\0';
	px_jw_init(&w);
	px_jw_str(&w, "big", big);
	px_jw_int(&w, "max", INT64_MAX);
	px_jw_int(&w, "min", INT64_MIN);
	px_jw_int(&w, "zero", 0);
	assert_int_equal(px_audit_jw(&w), 0);
	o = last_event();
	assert_string_equal(json_string_value(json_object_get(o, "big")), big);
	assert_true(json_integer_value(json_object_get(o, "max")) == INT64_MAX);
	assert_true(json_integer_value(json_object_get(o, "min")) == INT64_MIN);
	assert_true(json_is_integer(json_object_get(o, "zero")) && json_integer_value(json_object_get(o, "zero")) == 0);
	json_decref(o);

	for (int c = 0; c < 32; c++)
		ctl[c] = (char)c;
	assert_int_equal(truncate(path, 0), 0);
	px_jw_init(&w);
	px_jw_strn(&w, "ctl", ctl, sizeof(ctl));
	assert_int_equal(px_audit_jw(&w), 0);
	last_line(line, sizeof(line));
	o = json_loads(line, JSON_ALLOW_NUL, &err);
	if (o == NULL)
		fail_msg("not JSON: %s: %s", err.text, line);
	assert_int_equal(json_string_length(json_object_get(o, "ctl")), 32);
	assert_memory_equal(json_string_value(json_object_get(o, "ctl")), ctl, 32);
	json_decref(o);
	assert_memory_equal(line, "{\"ctl\":\"\\u0000\\u0001", 20);
	free(big);
}

/* PX_JW_MAX is the whole line's size, '\n' included: a line of exactly
 * that many bytes is written, one more is refused, and escapes count at
 * their written size. */
static void test_limit_exact(void **state)
{
	/* {"v":"...","time":"2026-12-05T04:15:00.123Z"}\n around the value */
	const size_t around = strlen("{\"v\":\"\",\"time\":\"2026-12-05T04:15:00.123Z\"}\n");
	size_t fit = PX_JW_MAX - around;
	char *big = malloc(PX_JW_MAX);
	struct px_jw w;
	long before;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', fit + 1);
	assert_int_equal(truncate(path, 0), 0);
	px_jw_init(&w);
	px_jw_strn(&w, "v", big, fit);
	assert_int_equal(px_audit_jw(&w), 0);
	assert_int_equal(file_size(), PX_JW_MAX);

	before = file_size();
	px_jw_init(&w);
	px_jw_strn(&w, "v", big, fit + 1);
	assert_int_equal(px_audit_jw(&w), PX_ERR_IO);
	assert_int_equal(file_size(), before);

	/* Control characters take six bytes each: |fit| / 6 of them fit, one
	 * more does not, although its raw size is far below the limit. */
	memset(big, '\t', fit / 6 + 1);
	assert_int_equal(truncate(path, 0), 0);
	px_jw_init(&w);
	px_jw_strn(&w, "v", big, fit / 6);
	assert_int_equal(px_audit_jw(&w), 0);
	assert_int_equal(file_size(), (long)(around + fit / 6 * 6));
	px_jw_init(&w);
	px_jw_strn(&w, "v", big, fit / 6 + 1);
	assert_int_equal(px_audit_jw(&w), PX_ERR_IO);
	assert_int_equal(file_size(), (long)(around + fit / 6 * 6));
	free(big);

	/* A good line clears the failure. */
	px_jw_init(&w);
	px_jw_str(&w, "event", "ok");
	assert_int_equal(px_audit_jw(&w), 0);
	assert_false(px_audit_failing());
}

/* Milliseconds since the epoch, from the system clock. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "time" (formatted once per second and thread, the milliseconds by
 * hand) read back with strptime() and timegm() from glibc: each line's
 * time lies between clock readings taken just before and after it, over
 * more than a second, so at least one second boundary is crossed. */
static void test_time_across_seconds(void **state)
{
	enum { LINES = 120 };
	int64_t before[LINES], after[LINES];
	FILE *f;
	char line[512];
	int n = 0, boundaries = 0;
	int64_t last_sec = -1;

	(void)state;
	assert_int_equal(truncate(path, 0), 0);
	for (int i = 0; i < LINES; i++) {
		struct px_jw w;
		struct timespec pause = {0, 10 * 1000 * 1000};
		before[i] = now_ms();
		px_jw_init(&w);
		px_jw_str(&w, "event", "tick");
		assert_int_equal(px_audit_jw(&w), 0);
		after[i] = now_ms();
		nanosleep(&pause, NULL);
	}
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_error_t err;
		json_t *o = json_loads(line, 0, &err);
		const char *t, *rest;
		struct tm tm;
		int64_t sec, ms;

		if (o == NULL)
			fail_msg("not JSON: %s: %s", err.text, line);
		assert_true(n < LINES);
		t = json_string_value(json_object_get(o, "time"));
		assert_non_null(t);
		assert_int_equal(strlen(t), 24);
		memset(&tm, 0, sizeof(tm));
		rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
		assert_non_null(rest);
		assert_true(rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' && rest[2] >= '0' && rest[2] <= '9' &&
			    rest[3] >= '0' && rest[3] <= '9' && rest[4] == 'Z' && rest[5] == '\0');
		sec = (int64_t)timegm(&tm);
		ms = sec * 1000 + (rest[1] - '0') * 100 + (rest[2] - '0') * 10 + (rest[3] - '0');
		if (ms < before[n] || ms > after[n])
			fail_msg("line %d: %s is not between %lld and %lld ms", n, t, (long long)before[n],
				 (long long)after[n]);
		if (last_sec >= 0 && sec != last_sec)
			boundaries++;
		last_sec = sec;
		json_decref(o);
		n++;
	}
	fclose(f);
	assert_int_equal(n, LINES);
	assert_true(boundaries >= 1);
}

/* The file's lines, as "event" values ("a,b,c"), each line checked to be JSON. */
static void events(char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char line[200000];

	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		json_error_t err;
		json_t *o = json_loads(line, 0, &err);
		const char *e;
		if (o == NULL)
			fail_msg("not JSON: %s: %s", err.text, line);
		e = json_string_value(json_object_get(o, "event"));
		assert_non_null(e);
		if (out[0])
			strncat(out, ",", size - strlen(out) - 1);
		strncat(out, e, size - strlen(out) - 1);
		json_decref(o);
	}
	fclose(f);
}

static void later(const char *event)
{
	struct px_jw w;

	px_jw_init(&w);
	px_jw_str(&w, "event", event);
	px_audit_jw_later(&w);
}

/* px_audit_jw_later(): lines wait in the thread's batch until a flush, an
 * immediate line (which goes after them) or a full batch; a batch that
 * cannot be written breaks a fail-closed log. */
static void test_batch(void **state)
{
	char got[4096];
	struct px_jw w;
	int n;

	(void)state;
	assert_int_equal(truncate(path, 0), 0);
	later("a");
	later("b");
	events(got, sizeof(got));
	assert_string_equal(got, "");
	px_audit_flush();
	events(got, sizeof(got));
	assert_string_equal(got, "a,b");
	px_audit_flush(); /* nothing held: nothing written */
	events(got, sizeof(got));
	assert_string_equal(got, "a,b");

	/* An immediate line keeps the order of the thread's events. */
	later("c");
	px_jw_init(&w);
	px_jw_str(&w, "event", "d");
	assert_int_equal(px_audit_jw(&w), 0);
	events(got, sizeof(got));
	assert_string_equal(got, "a,b,c,d");

	/* A batch that would pass 64 KiB is written first. */
	assert_int_equal(truncate(path, 0), 0);
	for (n = 0; n < 2000; n++)
		later("e");
	events(got, sizeof(got));
	assert_true(strlen(got) > 0); /* some are out, without a flush */
	assert_true(strlen(got) < 2000 * 2 - 1);
	px_audit_flush();
	events(got, sizeof(got));
	assert_int_equal(strlen(got), 2000 * 2 - 1);

	/* A batch that cannot be written: the fail-closed log is broken until a write works. */
	assert_int_equal(px_audit_open("/dev/full", true), 0);
	later("f");
	assert_false(px_audit_failing());
	px_audit_flush();
	assert_true(px_audit_failing());
	assert_int_equal(px_audit_open(path, true), 0);
	later("g");
	px_audit_flush();
	assert_false(px_audit_failing());
	px_audit_thread_end();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_and_escapes),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_grows_and_limit),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_runs_and_their_ends),
		cmocka_unit_test(test_long_runs_controls_numbers),
		cmocka_unit_test(test_limit_exact),
		cmocka_unit_test(test_time_across_seconds),
	};

	px_log_level_cur = -1; /* the error log stays quiet */
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
