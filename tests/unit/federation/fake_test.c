/* SPDX-License-Identifier: Apache-2.0 */
/* fake_test.c: the test fixture keeps its word: replies matched in order, a clock that only the test moves, misuse seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/federation/fake.h"

struct seen {
	int calls;
	int error;
	int status;
	char body[256];
	char header[64];
	int64_t at;
	struct fake *f;
};

static void on_http(void *arg, const struct fed_http_response *res)
{
	struct seen *s = arg;
	s->calls++;
	s->error = res->error;
	s->status = res->status;
	s->at = fake_now(s->f);
	snprintf(s->body, sizeof(s->body), "%.*s", (int)res->body_len, res->body);
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcmp(res->headers[i].name, "x-amzn-requestid") == 0)
			snprintf(s->header, sizeof(s->header), "%s", res->headers[i].value);
}

static int start(struct fake *f, const char *url, uint32_t timeout_ms, size_t max, struct seen *s,
                 struct fed_call **call)
{
	static const struct fed_header hdrs[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
	struct fed_http_request req = {
		.method = "POST", .url = url, .headers = hdrs, .nheaders = 1,
		.body = "Action=GetCallerIdentity&Version=2011-06-15&X=a%2Bb+c", .body_len = 54,
		.connect_timeout_ms = 1000, .timeout_ms = timeout_ms, .max_response = max,
	};
	s->f = f;
	struct fed_transport *t = fake_transport(f);
	return t->http_start(t->arg, &req, on_http, s, call);
}

static void test_reply_matched_and_recorded(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct seen a = {0}, b = {0};
	struct fed_call *ca, *cb;

	fake_reply(f, "sts.eu-west-1", 200, "<eu/>");
	fake_reply_header(fake_reply(f, NULL, 503, "<any/>"), "x-amzn-requestid", "rid-1");
	assert_int_equal(start(f, "https://sts.us-east-1.amazonaws.com/", 5000, 1024, &a, &ca), 0);
	assert_int_equal(start(f, "https://sts.eu-west-1.amazonaws.com/", 5000, 1024, &b, &cb), 0);
	/* Nothing runs inside http_start. */
	assert_int_equal(a.calls + b.calls, 0);
	assert_int_equal(fake_run(f), 2);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 503);
	assert_string_equal(a.body, "<any/>");
	assert_string_equal(a.header, "rid-1");
	assert_int_equal(b.status, 200);
	assert_string_equal(b.body, "<eu/>");

	assert_int_equal(fake_nrequests(f), 2);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, "https://sts.us-east-1.amazonaws.com/");
	assert_string_equal(fake_request_header(r, "content-type"), "application/x-www-form-urlencoded");
	assert_null(fake_request_header(r, "authorization"));
	assert_string_equal(fake_request_param(r, "Action", 0), "GetCallerIdentity");
	assert_string_equal(fake_request_param(r, "X", 0), "a+b c");
	assert_null(fake_request_param(r, "Act", 0));
	assert_int_equal(r->connect_timeout_ms, 1000);
	assert_int_equal(r->started_ms, FAKE_START_MS);
	assert_int_equal(fake_unmatched(f), 0);
	assert_int_equal(fake_replies_left(f), 0);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

static void test_delay_timeout_size_unmatched(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct seen a = {0}, b = {0}, c = {0}, d = {0};
	struct fed_call *call;

	fake_reply_delay(fake_reply(f, "/slow", 200, "ok"), 300);
	fake_reply_delay(fake_reply(f, "/slower", 200, "ok"), 2000);
	fake_reply(f, "/big", 200, "0123456789");
	assert_int_equal(start(f, "https://h/slow", 1000, 100, &a, &call), 0);
	assert_int_equal(start(f, "https://h/slower", 1000, 100, &b, &call), 0);
	assert_int_equal(start(f, "https://h/big", 1000, 9, &c, &call), 0);
	assert_int_equal(start(f, "https://h/none", 1000, 100, &d, &call), 0);
	assert_int_equal(fake_run(f), 2); /* big and none: due now */
	assert_int_equal(c.error, FED_ERR_TOO_LARGE);
	assert_int_equal(d.error, FED_ERR_TRANSPORT);
	assert_int_equal(fake_unmatched(f), 1);
	assert_int_equal(a.calls, 0);
	assert_int_equal(fake_advance(f, 299), 0);
	assert_int_equal(fake_advance(f, 1), 1);
	assert_int_equal(a.error, 0);
	assert_int_equal(a.at, FAKE_START_MS + 300);
	assert_int_equal(fake_settle(f, 10000), 1);
	assert_int_equal(b.error, FED_ERR_TIMEOUT);
	assert_int_equal(b.at, FAKE_START_MS + 1000);
	assert_int_equal(fake_pending(f), 0);
	fake_del(f);
}

static int order[8];
static size_t norder;
static void task(void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
}

static void test_timers_tasks_cancel_misuse(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_transport *t = fake_transport(f);
	struct fed_timer *t1, *t2, *t3;
	struct seen s = {0};
	struct fed_call *call;

	norder = 0;
	assert_int_equal(t->timer_start(t->arg, 500, task, (void *)1, &t1), 0);
	assert_int_equal(t->timer_start(t->arg, 100, task, (void *)2, &t2), 0);
	assert_int_equal(t->timer_start(t->arg, 100, task, (void *)3, &t3), 0);
	assert_int_equal(t->post(t->arg, task, (void *)4), 0);
	t->timer_cancel(t->arg, t3);
	assert_int_equal(fake_run(f), 1);
	assert_int_equal(fake_advance(f, 1000), 2);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 4);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
	assert_int_equal(fake_ntimers(f), 3);
	assert_int_equal(fake_timer_delay(f, 0), 500);

	/* Cancelling what already fired, twice cancelling: misuse, counted. */
	t->timer_cancel(t->arg, t1);
	t->timer_cancel(t->arg, t3);
	assert_int_equal(fake_misuse(f), 2);

	fake_reply(f, NULL, 200, "x");
	assert_int_equal(start(f, "https://h/", 1000, 10, &s, &call), 0);
	t->http_cancel(t->arg, call);
	assert_int_equal(fake_run(f), 0);
	assert_int_equal(s.calls, 0);
	assert_true(fake_request(f, 0)->cancelled);
	t->http_cancel(t->arg, call);
	assert_int_equal(fake_misuse(f), 3);

	fake_start_fails(f, 1, FED_ERR_NOMEM);
	assert_int_equal(start(f, "https://h/", 1000, 10, &s, &call), FED_ERR_NOMEM);
	fake_del(f);
}

static void test_env_files_random(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	const struct fed_env *env = fake_env(f);
	char *data = NULL;
	size_t len = 0;

	fake_setenv(f, "AWS_PROFILE", "prod");
	assert_string_equal(env->getenv(env->arg, "AWS_PROFILE"), "prod");
	fake_setenv(f, "AWS_PROFILE", NULL);
	assert_null(env->getenv(env->arg, "AWS_PROFILE"));

	fake_file(f, "/home/u/.aws/credentials", "[default]\n", (size_t)-1);
	assert_int_equal(env->read_file(env->arg, "/home/u/.aws/credentials", 100, &data, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "[default]\n");
	free(data);
	assert_int_equal(env->read_file(env->arg, "/home/u/.aws/credentials", 9, &data, &len), FED_ERR_TOO_LARGE);
	assert_int_equal(env->read_file(env->arg, "/nope", 9, &data, &len), FED_ERR_NO_CREDENTIALS);
	fake_file_error(f, "/etc/shadow", FED_ERR_CONFIG);
	assert_int_equal(env->read_file(env->arg, "/etc/shadow", 9, &data, &len), FED_ERR_CONFIG);
	assert_int_equal(fake_nreads(f), 4);

	assert_int_equal(env->now_ms(env->arg), FAKE_START_MS);
	fake_set_now(f, 5);
	assert_int_equal(env->now_ms(env->arg), 5);

	fake_random_push(f, 7);
	assert_int_equal(env->random(env->arg), 7);
	uint32_t r1 = env->random(env->arg);
	struct fake *g = fake_new();
	fake_env(g)->random(fake_env(g)->arg); /* same seed, same sequence */
	fake_seed(g, 1);
	assert_int_equal(fake_env(g)->random(fake_env(g)->arg), r1);
	fake_del(g);
	fake_del(f);
}

static int proc_status = 99;
static char proc_out[64];
static void on_proc(void *arg, int status, const char *out, size_t len)
{
	(void)arg;
	proc_status = status;
	snprintf(proc_out, sizeof(proc_out), "%.*s", (int)len, out);
}

static void test_process(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_transport *t = fake_transport(f);

	fake_process(f, "get-creds", 0, "{\"Version\": 1}", 50);
	assert_int_equal(t->process_start(t->arg, "/usr/bin/get-creds --x", 5, 1000, on_proc, NULL), 0);
	assert_int_equal(fake_run(f), 0);
	assert_int_equal(fake_advance(f, 50), 1);
	assert_int_equal(proc_status, 0);
	assert_string_equal(proc_out, "{\"Ver"); /* at most |max| bytes */
	assert_int_equal(t->process_start(t->arg, "other", 100, 1000, on_proc, NULL), 0);
	fake_run(f);
	assert_int_equal(proc_status, -1);
	assert_int_equal(fake_nprocesses(f), 2);
	assert_string_equal(fake_process_run(f, 0)->command, "/usr/bin/get-creds --x");
	fake_no_process(f);
	assert_null(t->process_start);
	fake_del(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_matched_and_recorded),
		cmocka_unit_test(test_delay_timeout_size_unmatched),
		cmocka_unit_test(test_timers_tasks_cancel_misuse),
		cmocka_unit_test(test_env_files_random),
		cmocka_unit_test(test_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
