/* SPDX-License-Identifier: Apache-2.0 */
/* h1_test.c: the strict HTTP/1.1 scanners and the codec, table-driven: every smuggling shape and every limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "h1_harness.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* --- the head scanner: limits 64-byte request line, 128-byte header block, 4 fields */

struct scan_case {
	const char *name;
	const char *in;
	int want; /* PX_H1_DONE, PX_H1_MORE, or the status */
};

static const struct scan_case scan_cases[] = {
	{"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", PX_H1_DONE},
	{"no-headers", "GET / HTTP/1.0\r\n\r\n", PX_H1_DONE},
	{"leading-empty-lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", PX_H1_DONE},
	{"too-many-leading-empty-lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400},
	{"incomplete", "GET / HTTP/1.1\r\nHost: a\r\n", PX_H1_MORE},
	{"value-with-tab-and-obs-text", "GET / HTTP/1.1\r\nX: a\tb \xe9\r\n\r\n", PX_H1_DONE},
	{"empty-value", "GET / HTTP/1.1\r\nX:\r\n\r\n", PX_H1_DONE},
	{"obs-fold-space", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400},
	{"obs-fold-tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400},
	{"space-before-first-field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
	{"bare-lf-line-end", "GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", 400},
	{"bare-lf-request-line", "GET / HTTP/1.1\nX: a\r\n\r\n", 400},
	{"bare-lf-end-of-head", "GET / HTTP/1.1\r\nX: a\r\n\n", 400},
	{"bare-cr-in-value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},
	{"bare-cr-request-line", "GET / HTTP/1.1\rX\r\n\r\n", 400},
	{"nul-in-value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 400},
	{"control-in-value", "GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", 400},
	{"del-in-value", "GET / HTTP/1.1\r\nX: a\x7f" "b\r\n\r\n", 400},
	{"space-before-colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
	{"tab-before-colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
	{"empty-name", "GET / HTTP/1.1\r\n: a\r\n\r\n", 400},
	{"no-colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400},
	{"bad-name-char", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400},
	{"control-in-request-line", "GET /\x01 HTTP/1.1\r\n\r\n", 400},
	{"raw-utf8-in-target", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400},
	{"tab-in-request-line", "GET\t/ HTTP/1.1\r\n\r\n", 400},
	{"request-line-at-limit", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", PX_H1_DONE},
	{"request-line-past-limit", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", 414},
	{"four-fields", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", PX_H1_DONE},
	{"five-fields", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 431},
	{"header-block-past-limit",
	 "GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
	 431},
};

static size_t case_len(const char *name, const char *in)
{
	/* Cases with a NUL inside are measured by hand. */
	if (strcmp(name, "nul-in-value") == 0)
		return sizeof("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n") - 1;
	return strlen(in);
}

static void test_scan(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(scan_cases); i++) {
		const struct scan_case *tc = &scan_cases[i];
		const unsigned char *p = (const unsigned char *)tc->in;
		size_t len = case_len(tc->name, tc->in), used = 0, total = 0;
		struct px_h1_scan s;
		int r = PX_H1_MORE;

		/* whole */
		px_h1_scan_init(&s, 64, 128, 4);
		r = px_h1_scan(&s, p, len, &used);
		if (r != tc->want)
			fail_msg("%s: whole: got %d, want %d", tc->name, r, tc->want);
		if (r == PX_H1_DONE && used != len)
			fail_msg("%s: took %zu of %zu bytes", tc->name, used, len);
		/* one byte at a time: the same answer */
		px_h1_scan_init(&s, 64, 128, 4);
		r = PX_H1_MORE;
		for (total = 0; total < len && r == PX_H1_MORE; total += used)
			r = px_h1_scan(&s, p + total, 1, &used);
		if (r != tc->want)
			fail_msg("%s: bytewise: got %d, want %d", tc->name, r, tc->want);
	}
}

static void test_scan_stops_at_head_end(void **state)
{
	const char in[] = "GET / HTTP/1.1\r\n\r\nBODY";
	struct px_h1_scan s;
	size_t used;

	(void)state;
	px_h1_scan_init(&s, 64, 128, 4);
	assert_int_equal(px_h1_scan(&s, (const unsigned char *)in, sizeof(in) - 1, &used), PX_H1_DONE);
	assert_int_equal(used, sizeof(in) - 1 - 4);
}

/* --- the chunked-body scanner: trailers at most 64 bytes, 2 fields */

static const struct scan_case chunk_cases[] = {
	{"one-chunk", "3\r\nabc\r\n0\r\n\r\n", PX_H1_DONE},
	{"upper-hex", "A\r\n0123456789\r\n0\r\n\r\n", PX_H1_DONE},
	{"leading-zeros", "0003\r\nabc\r\n0\r\n\r\n", PX_H1_DONE},
	{"extension", "3;name=value\r\nabc\r\n0\r\n\r\n", PX_H1_DONE},
	{"extension-no-value", "3;name\r\nabc\r\n0;last\r\n\r\n", PX_H1_DONE},
	{"extension-quoted", "3;n=\"a b\\\"c\"\r\nabc\r\n0\r\n\r\n", PX_H1_DONE},
	{"extension-bws", "3 ; n = v\r\nabc\r\n0\r\n\r\n", PX_H1_DONE},
	{"trailer", "3\r\nabc\r\n0\r\nX-T: v\r\n\r\n", PX_H1_DONE},
	{"incomplete", "3\r\nab", PX_H1_MORE},
	{"no-size", "\r\nabc\r\n0\r\n\r\n", 400},
	{"not-hex", "zz\r\nabc\r\n0\r\n\r\n", 400},
	{"negative", "-3\r\nabc\r\n0\r\n\r\n", 400},
	{"0x-prefix", "0x3\r\nabc\r\n0\r\n\r\n", 400},
	{"seventeen-digits", "00000000000000003\r\nabc\r\n0\r\n\r\n", 400},
	{"bare-lf-after-size", "3\nabc\r\n0\r\n\r\n", 400},
	{"bare-cr-after-size", "3\rabc\r\n0\r\n\r\n", 400},
	{"data-longer-than-size", "3\r\nabcd\r\n0\r\n\r\n", 400},
	{"data-without-crlf", "3\r\nabc0\r\n\r\n", 400},
	{"data-then-bare-lf", "3\r\nabc\n0\r\n\r\n", 400},
	{"extension-bad-name", "3;=v\r\nabc\r\n0\r\n\r\n", 400},
	{"extension-control", "3;n=\x01\r\nabc\r\n0\r\n\r\n", 400},
	{"extension-bare-lf", "3;n=v\nabc\r\n0\r\n\r\n", 400},
	{"extension-unterminated-quote", "3;n=\"abc\r\nabc\r\n0\r\n\r\n", 400},
	{"trailer-folded", "0\r\nX: a\r\n b\r\n\r\n", 400},
	{"trailer-space-before-colon", "0\r\nX : a\r\n\r\n", 400},
	{"last-chunk-bare-lf", "0\r\n\n", 400},
	{"three-trailers", "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431},
	{"trailers-past-limit", "0\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 431},
};

static void test_chunk(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(chunk_cases); i++) {
		const struct scan_case *tc = &chunk_cases[i];
		const unsigned char *p = (const unsigned char *)tc->in;
		size_t len = strlen(tc->in), used = 0, total;
		struct px_h1_chunk s;
		int r;

		px_h1_chunk_init(&s, 64, 2);
		r = px_h1_chunk_scan(&s, p, len, &used);
		if (r != tc->want)
			fail_msg("%s: whole: got %d, want %d", tc->name, r, tc->want);
		if (r == PX_H1_DONE && used != len)
			fail_msg("%s: took %zu of %zu bytes", tc->name, used, len);
		px_h1_chunk_init(&s, 64, 2);
		r = PX_H1_MORE;
		for (total = 0; total < len && r == PX_H1_MORE; total += used)
			r = px_h1_chunk_scan(&s, p + total, 1, &used);
		if (r != tc->want)
			fail_msg("%s: bytewise: got %d, want %d", tc->name, r, tc->want);
	}
}

/* --- the codec, through a fake connection --------------------------------- */

struct codec_case {
	const char *name;
	const char *in;
	int status;   /* of the first response */
	int count;    /* responses with that status */
	int closing;  /* the connection closes after */
};

static const struct codec_case codec_cases[] = {
	{"healthz", "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 200, 1, 0},
	{"pipelined-three", "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
			    "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n", 200, 3, 0},
	{"http10-closes", "GET /healthz HTTP/1.0\r\n\r\n", 200, 1, 1},
	{"http10-keep-alive", "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, 1, 0},
	{"connection-close", "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, 1, 1},
	{"body-read-and-dropped", "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
				  "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 200, 2, 0},
	{"chunked-body-dropped", "GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
				 "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 200, 2, 0},
	{"not-found", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 404, 1, 0},
	{"apps-without-certificate", "GET /awsgate/v1/apps HTTP/1.1\r\nHost: a\r\n\r\n", 401, 1, 0},
	{"post-405", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 405, 1, 0},
	{"cl-and-te", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 1, 1},
	{"te-and-cl", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, 1, 1},
	{"two-content-lengths", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, 1, 1},
	/* llhttp refuses a repeated Content-Length even with equal values: stricter than RFC 9112 allows, and kept. */
	{"same-content-length-twice", "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400, 1, 1},
	{"content-length-list", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400, 1, 1},
	{"content-length-plus", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400, 1, 1},
	/* Lengths are int64_t past the codec: 2^63 and above are refused at once, not waited for. */
	{"content-length-2-63", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\nhello", 400, 1, 1},
	{"content-length-2-64-minus-2", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551614\r\n\r\nhello", 400, 1, 1},
	{"te-gzip-chunked", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400, 1, 1},
	{"te-chunked-twice", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 1, 1},
	{"te-identity", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400, 1, 1},
	{"te-in-http10", "POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 1, 1},
	{"te-chunked-with-space-name", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, 1, 1},
	{"bad-chunk-size", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, 1, 1},
	{"chunk-bare-lf", "POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400, 1, 1},
	{"folded", "GET /healthz HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, 1, 1},
	{"no-host", "GET /healthz HTTP/1.1\r\n\r\n", 400, 1, 1},
	{"two-hosts", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 1, 1},
	{"bad-method", "G(T /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 400, 1, 1},
	{"bad-version", "GET /healthz HTTP/1.2\r\nHost: a\r\n\r\n", 400, 1, 1},
	{"http2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, 1, 1},
	{"target-with-space", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, 1, 1},
	{"request-line-too-long", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", 414, 1, 1},
	{"too-many-headers", "GET /healthz HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\n\r\n", 431, 1, 1},
	{"expect-unknown", "POST /healthz HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417, 1, 1},
	{"expect-100-answered-closes", "POST /healthz HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", 405, 1, 1},
	{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400, 1, 1},
	{"after-refusal-nothing", "GET /healthz HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 400, 1, 1},
};

static void test_codec(void **state)
{
	(void)state;
	assert_int_equal(harness_init(), 0);
	assert_int_equal(px_audit_open("/dev/null", true), 0);
	for (size_t i = 0; i < LEN(codec_cases); i++) {
		const struct codec_case *tc = &codec_cases[i];
		for (size_t step = 0; step <= 7; step += 7) { /* whole, then in 7-byte pieces */
			struct px_conn *c = harness_conn();
			int got;
			assert_non_null(c);
			harness_feed(c, (const unsigned char *)tc->in, strlen(tc->in), step);
			got = harness_count(c, tc->status);
			if (got != tc->count)
				fail_msg("%s (step %zu): %d responses with %d, want %d; output:\n%.*s", tc->name, step, got,
					 tc->status, tc->count, (int)c->wlen, c->wbuf ? (const char *)c->wbuf : "");
			if ((int)c->closing != tc->closing)
				fail_msg("%s (step %zu): closing %d, want %d", tc->name, step, c->closing, tc->closing);
			if (c->wlen > 0 && memmem(c->wbuf, c->wlen, "x-awsgate-version: ", 19) == NULL)
				fail_msg("%s: no x-awsgate-version", tc->name);
			harness_conn_del(c);
		}
	}
}

/* A refused request's answer is the JSON error shape with its reason. */
static void test_error_shape(void **state)
{
	struct px_conn *c;
	const char in[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n";

	(void)state;
	assert_int_equal(harness_init(), 0);
	c = harness_conn();
	assert_non_null(c);
	harness_feed(c, (const unsigned char *)in, sizeof(in) - 1, 0);
	assert_non_null(memmem(c->wbuf, c->wlen, "x-awsgate-error: bad-request\r\n", 30));
	assert_non_null(memmem(c->wbuf, c->wlen, "{\"error\":\"bad-request\",\"message\":", 33));
	assert_non_null(memmem(c->wbuf, c->wlen, "connection: close\r\n", 19));
	harness_conn_del(c);
}

/* Fail-closed: an audited request is refused while the audit log cannot be written. */
static void test_audit_fail_closed(void **state)
{
	struct px_conn *c;
	const char in[] = "GET /awsgate/v1/apps HTTP/1.1\r\nHost: a\r\n\r\n";

	(void)state;
	assert_int_equal(harness_init(), 0);
	assert_int_not_equal(px_audit_open("/nonexistent-dir/audit.log", true), 0);
	c = harness_conn();
	assert_non_null(c);
	harness_feed(c, (const unsigned char *)in, sizeof(in) - 1, 0);
	assert_int_equal(harness_count(c, 503), 1);
	assert_non_null(memmem(c->wbuf, c->wlen, "x-awsgate-error: audit-unavailable", 34));
	harness_conn_del(c);
	/* fail-open: the denial goes out */
	assert_int_not_equal(px_audit_open("/nonexistent-dir/audit.log", false), 0);
	c = harness_conn();
	assert_non_null(c);
	harness_feed(c, (const unsigned char *)in, sizeof(in) - 1, 0);
	assert_int_equal(harness_count(c, 401), 1);
	harness_conn_del(c);
	assert_int_equal(px_audit_open("/dev/null", true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_scan_stops_at_head_end),
		cmocka_unit_test(test_chunk),
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_error_shape),
		cmocka_unit_test(test_audit_fail_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
