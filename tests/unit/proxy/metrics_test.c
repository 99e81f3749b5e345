/* SPDX-License-Identifier: Apache-2.0 */
/* metrics_test.c: the per-thread counters (metrics.c) add up across threads in the Prometheus text. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/server.h"

#define THREADS 4
#define ROUNDS 20000

/* The value of the metric line that starts with |name| + " ", or -1. */
static int64_t metric(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

static char *render(void)
{
	char *out;
	size_t len;

	assert_int_equal(px_metrics_render(&out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void *count(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		px_metrics_stream(1);
		px_metrics_bytes(3, 5);
		px_metrics_api("s3", 200, 0.002);
	}
	return NULL;
}

/* Several threads count at once; the text sums them, and a thread that
 * ended keeps its counts in the sum. */
static void test_threads_add_up(void **state)
{
	pthread_t t[THREADS];
	char *before, *after;
	int64_t streams0, in0, out0, api0;

	(void)state;
	before = render();
	streams0 = metric(before, "awsgate_streams_total{protocol=\"h2\"}");
	in0 = metric(before, "awsgate_bytes_received_total");
	out0 = metric(before, "awsgate_bytes_sent_total");
	api0 = metric(before, "awsgate_api_requests_total{service=\"s3\",status=\"200\"}");
	assert_true(streams0 >= 0 && in0 >= 0 && out0 >= 0);
	free(before);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	count(NULL); /* and this thread's own block */
	after = render();
	assert_int_equal(metric(after, "awsgate_streams_total{protocol=\"h2\"}"), streams0 + (THREADS + 1) * ROUNDS);
	assert_int_equal(metric(after, "awsgate_bytes_received_total"), in0 + 3 * (THREADS + 1) * ROUNDS);
	assert_int_equal(metric(after, "awsgate_bytes_sent_total"), out0 + 5 * (THREADS + 1) * ROUNDS);
	assert_int_equal(metric(after, "awsgate_api_requests_total{service=\"s3\",status=\"200\"}"),
			 (api0 < 0 ? 0 : api0) + (THREADS + 1) * ROUNDS);
	assert_int_equal(metric(after, "awsgate_api_request_duration_seconds_count"), (THREADS + 1) * ROUNDS);
	free(after);
}

/* Open connections are one shared gauge: max_connections is checked against it. */
static void test_conns_open(void **state)
{
	char *text;

	(void)state;
	px_metrics_conn_open();
	px_metrics_conn_open();
	px_metrics_conn_close();
	assert_int_equal(px_metrics_conns_open(), 1);
	text = render();
	assert_int_equal(metric(text, "awsgate_connections_open"), 1);
	assert_int_equal(metric(text, "awsgate_connections_total"), 2);
	free(text);
	px_metrics_conn_close();
	assert_int_equal(px_metrics_conns_open(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_add_up),
		cmocka_unit_test(test_conns_open),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
