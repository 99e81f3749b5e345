/* SPDX-License-Identifier: Apache-2.0 */
/* jw_test.c: the audit's JSON writer (log.c): every line it writes is read back with jansson, an independent parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	};

	px_log_level_cur = -1; /* the error log stays quiet */
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
