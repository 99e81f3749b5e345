/* SPDX-License-Identifier: Apache-2.0 */
/* reqfile_test.c: table-driven tests of the reader of the AWS SigV4 suite's request.txt format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigv4/sigv4.h"

/* Expected values come from the format as sigv4.h and docs/SIGV4.md
 * describe it (a request line without a final HTTP/x part takes all after
 * the method as the target), the AWS suite's request files (get-vanilla,
 * get-space, get-header-value-multiline, post-x-www-form-urlencoded) and
 * RFC 9112 (method and field-name are tokens, a request-target is never
 * empty, no whitespace between a field name and its colon). Lines and
 * columns are 1-based and point at the offending byte, or at the start of
 * the item that is too large or malformed as a whole. */

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TEXT(s) .text = (s), .textlen = sizeof(s) - 1
#define BODY(s) .body = (s), .bodylen = sizeof(s) - 1

struct kv {
	const char *name;
	const char *value;
};

#define HEADERS(...)                                                                           \
	.headers = (const struct kv[]){__VA_ARGS__},                                           \
	.nheaders = sizeof((const struct kv[]){__VA_ARGS__}) / sizeof(struct kv)

/* State of the running case, released by teardown() even when an assertion
 * jumps out of the test (sv4_reqfile_free() takes a zeroed struct). */
static struct sv4_reqfile rf;
static char *scratch;

static int setup(void **state)
{
	(void)state;
	memset(&rf, 0, sizeof(rf));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sv4_reqfile_free(&rf);
	free(scratch);
	scratch = NULL;
	return 0;
}

/* Writes |len| bytes of |p| to |dst| with C escapes for the unprintable. */
static const char *show(char *dst, size_t dstlen, const char *p, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < dstlen; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			dst[o++] = (char)c;
		} else {
			int k = snprintf(dst + o, dstlen - o, "\\x%02x", c);
			if (k < 0)
				break;
			o += (size_t)k;
		}
	}
	if (o >= dstlen)
		o = dstlen - 1;
	dst[o] = '\0';
	return dst;
}

/* Fails the running test unless |got| holds exactly the bytes of |want|. */
static void check_bytes(const char *what, const void *got, size_t gotlen, const char *want, size_t wantlen)
{
	static char g[512], w[512];

	if (gotlen == wantlen && (wantlen == 0 || memcmp(got, want, wantlen) == 0))
		return;
	print_error("%s: got \"%s\" (%zu bytes), want \"%s\" (%zu bytes)\n", what,
	            show(g, sizeof(g), got != NULL ? got : "", gotlen), gotlen,
	            show(w, sizeof(w), want, wantlen), wantlen);
	fail();
}

static void check_str(const char *what, const void *got, size_t gotlen, const char *want)
{
	check_bytes(what, got, gotlen, want, strlen(want));
}

/* ------------------------------------------------------------------------
 * Files that parse. */

struct ok_case {
	const char *name;
	const char *text;
	size_t textlen;
	const char *method;
	const char *path;
	const char *query;
	const char *protocol;
	const struct kv *headers;
	size_t nheaders;
	const char *body;
	size_t bodylen;
};

static struct ok_case ok_cases[] = {
	{.name = "get-vanilla-lf",
	 TEXT("GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}), BODY("")},
	{.name = "get-vanilla-crlf",
	 TEXT("GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n\r\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}), BODY("")},
	{.name = "mixed-lf-and-crlf",
	 TEXT("GET / HTTP/1.1\r\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\r\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}), BODY("")},
	{.name = "space-after-colon",
	 TEXT("GET / HTTP/1.1\nHost: example.amazonaws.com\nX-Amz-Date: 20150830T123600Z\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}), BODY("")},
	{.name = "spaces-and-tabs-after-colon", TEXT("GET / HTTP/1.1\nHost: \t  example.amazonaws.com\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}), BODY("")},
	{.name = "inner-spaces-kept", TEXT("GET / HTTP/1.1\nMy-Header2:\"a   b   c\"\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"My-Header2", "\"a   b   c\""}), BODY("")},
	{.name = "empty-header-value", TEXT("GET / HTTP/1.1\nX-Empty:\nHost:h\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"X-Empty", ""}, {"Host", "h"}), BODY("")},
	{.name = "repeated-header-kept-in-order",
	 TEXT("GET / HTTP/1.1\nMy-Header1:b\nHost:h\nMy-Header1:a\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"My-Header1", "b"}, {"Host", "h"}, {"My-Header1", "a"}), BODY("")},
	{.name = "colon-in-value", TEXT("GET / HTTP/1.1\nHost:example.amazonaws.com:8443\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com:8443"}), BODY("")},
	{.name = "raw-space-in-path", TEXT("GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\n\n"),
	 .method = "GET", .path = "/example space/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}), BODY("")},
	{.name = "raw-utf8-in-path", TEXT("GET /\xe1\x88\xb4 HTTP/1.1\nHost:example.amazonaws.com\n\n"),
	 .method = "GET", .path = "/\xe1\x88\xb4", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}), BODY("")},
	{.name = "raw-space-in-path-and-query", TEXT("GET /a b?c d HTTP/1.1\n\n"),
	 .method = "GET", .path = "/a b", .query = "c d", .protocol = "HTTP/1.1", BODY("")},
	{.name = "query-split-at-first-question-mark",
	 TEXT("GET /?Param1=value1&Param2=value?2 HTTP/1.1\nHost:example.amazonaws.com\n\n"),
	 .method = "GET", .path = "/", .query = "Param1=value1&Param2=value?2", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}), BODY("")},
	{.name = "query-with-path", TEXT("GET /a/b?c?d HTTP/1.1\n\n"),
	 .method = "GET", .path = "/a/b", .query = "c?d", .protocol = "HTTP/1.1", BODY("")},
	{.name = "empty-query-after-question-mark", TEXT("GET /? HTTP/1.1\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1", BODY("")},
	{.name = "header-value-multiline",
	 TEXT("GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n  value2\n     value3\n"
	      "X-Amz-Date:20150830T123600Z\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}, {"My-Header1", "value1 value2 value3"},
	         {"X-Amz-Date", "20150830T123600Z"}),
	 BODY("")},
	{.name = "header-value-multiline-crlf",
	 TEXT("GET / HTTP/1.1\r\nMy-Header1:value1\r\n  value2\r\n     value3\r\nHost:h\r\n\r\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"My-Header1", "value1 value2 value3"}, {"Host", "h"}), BODY("")},
	{.name = "header-value-multiline-tab", TEXT("GET / HTTP/1.1\nMy-Header1:value1\n\tvalue2\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"My-Header1", "value1 value2"}), BODY("")},
	{.name = "header-value-multiline-from-empty", TEXT("GET / HTTP/1.1\nMy-Header1:\n value1\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"My-Header1", "value1"}), BODY("")},
	{.name = "header-value-multiline-last-line", TEXT("GET / HTTP/1.1\nMy-Header1:value1\n value2"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"My-Header1", "value1 value2"}), BODY("")},
	{.name = "post-body-without-final-newline",
	 TEXT("POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\n"
	      "X-Amz-Date:20150830T123600Z\n\nParam1=value1"),
	 .method = "POST", .path = "/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Content-Type", "application/x-www-form-urlencoded"}, {"Host", "example.amazonaws.com"},
	         {"X-Amz-Date", "20150830T123600Z"}),
	 BODY("Param1=value1")},
	{.name = "body-byte-for-byte", TEXT("PUT /k HTTP/1.1\r\nHost:h\r\n\r\n\nline\r\nnext\n\n"),
	 .method = "PUT", .path = "/k", .query = "", .protocol = "HTTP/1.1", HEADERS({"Host", "h"}),
	 BODY("\nline\r\nnext\n\n")},
	{.name = "body-binary", TEXT("PUT /k HTTP/1.1\nHost:h\n\n\0\x01\xff\r\n\x80Host:x\n\0"),
	 .method = "PUT", .path = "/k", .query = "", .protocol = "HTTP/1.1", HEADERS({"Host", "h"}),
	 BODY("\0\x01\xff\r\n\x80Host:x\n\0")},
	{.name = "no-blank-line-empty-body", TEXT("GET / HTTP/1.1\nHost:h\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1", HEADERS({"Host", "h"}), BODY("")},
	{.name = "no-final-newline-empty-body", TEXT("GET / HTTP/1.1\nHost:h"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1", HEADERS({"Host", "h"}), BODY("")},
	{.name = "request-line-only", TEXT("GET / HTTP/1.1"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1", BODY("")},
	{.name = "no-headers-then-body", TEXT("POST / HTTP/1.1\n\nbody"),
	 .method = "POST", .path = "/", .query = "", .protocol = "HTTP/1.1", BODY("body")},
	{.name = "method-with-token-characters", TEXT("X-M!#$%&'*+.^_`|~ / HTTP/1.1\n\n"),
	 .method = "X-M!#$%&'*+.^_`|~", .path = "/", .query = "", .protocol = "HTTP/1.1", BODY("")},
	/* docs/SIGV4.md: without a final HTTP/x part, all after the method is
	 * the target (smithy-rs's signed requests) and the protocol HTTP/1.1. */
	{.name = "no-protocol-two-parts", TEXT("GET /\nHost:h\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1", HEADERS({"Host", "h"}), BODY("")},
	{.name = "no-protocol-two-parts-crlf", TEXT("GET /\r\nHost:h\r\n\r\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.1", HEADERS({"Host", "h"}), BODY("")},
	{.name = "no-protocol-raw-space-in-path", TEXT("GET /example space/\nHost:example.amazonaws.com\n\n"),
	 .method = "GET", .path = "/example space/", .query = "", .protocol = "HTTP/1.1",
	 HEADERS({"Host", "example.amazonaws.com"}), BODY("")},
	{.name = "no-protocol-raw-space-in-query", TEXT("GET /a b?c d\n\n"),
	 .method = "GET", .path = "/a b", .query = "c d", .protocol = "HTTP/1.1", BODY("")},
	{.name = "no-protocol-request-line-only", TEXT("DELETE /k"),
	 .method = "DELETE", .path = "/k", .query = "", .protocol = "HTTP/1.1", BODY("")},
	{.name = "lower-case-protocol-is-part-of-target", TEXT("GET / http/1.1\n\n"),
	 .method = "GET", .path = "/ http/1.1", .query = "", .protocol = "HTTP/1.1", BODY("")},
	{.name = "non-http-last-part-is-part-of-target", TEXT("GET /?a=b FTP/1.0\n\n"),
	 .method = "GET", .path = "/", .query = "a=b FTP/1.0", .protocol = "HTTP/1.1", BODY("")},
	{.name = "protocol-http-1-0", TEXT("GET / HTTP/1.0\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/1.0", BODY("")},
	{.name = "protocol-http-2", TEXT("GET / HTTP/2\n\n"),
	 .method = "GET", .path = "/", .query = "", .protocol = "HTTP/2", BODY("")},
};

static void check_request(const struct ok_case *c, const struct sv4_reqfile *r)
{
	check_str("method", r->req.method, r->req.methodlen, c->method);
	check_str("path", r->req.path, r->req.pathlen, c->path);
	check_str("query", r->req.query, r->req.querylen, c->query);
	check_str("protocol", r->protocol, strlen(r->protocol), c->protocol);
	assert_int_equal(r->nheaders, c->nheaders);
	assert_int_equal(r->req.nheaders, c->nheaders);
	if (c->nheaders > 0)
		assert_ptr_equal(r->req.headers, r->headers);
	for (size_t i = 0; i < c->nheaders; i++) {
		check_str("header name", r->headers[i].name, r->headers[i].namelen, c->headers[i].name);
		check_str("header value", r->headers[i].value, r->headers[i].valuelen, c->headers[i].value);
	}
	check_bytes("body", r->req.body, r->req.bodylen, c->body, c->bodylen);
}

static void test_ok(void **state)
{
	const struct ok_case *c = *state;
	struct sv4_reqfile_error err = {0, 0, NULL};

	/* Parse from a heap copy freed at once: the result must not point
	 * into the caller's bytes. */
	scratch = malloc(c->textlen + 1);
	assert_non_null(scratch);
	memcpy(scratch, c->text, c->textlen);
	int rv = sv4_reqfile_parse(&rf, scratch, c->textlen, &err);
	if (rv != 0)
		print_error("error at %u:%u: %s\n", err.line, err.column, err.what != NULL ? err.what : "?");
	assert_int_equal(rv, 0);
	memset(scratch, 'X', c->textlen);
	free(scratch);
	scratch = NULL;
	check_request(c, &rf);
	sv4_reqfile_free(&rf);
}

/* ------------------------------------------------------------------------
 * Files that do not parse: the error code, the line and the column. */

struct err_case {
	const char *name;
	const char *text;
	size_t textlen;
	int rv;
	unsigned line;
	unsigned column;
};

#define BAD SV4_ERR_BAD_REQUEST

static struct err_case err_cases[] = {
	{"empty-input", TEXT(""), BAD, 1, 1},
	{"empty-request-line", TEXT("\nHost:h\n\n"), BAD, 1, 1},
	{"empty-request-line-crlf", TEXT("\r\nHost:h\r\n\r\n"), BAD, 1, 1},
	{"request-line-one-part", TEXT("GET\nHost:h\n\n"), BAD, 1, 1},
	{"request-line-method-and-space", TEXT("GET \nHost:h\n\n"), BAD, 1, 1},
	{"request-line-method-and-space-crlf", TEXT("GET \r\nHost:h\r\n\r\n"), BAD, 1, 1},
	/* METHOD SP SP HTTP/1.1: split at the first and the last space, the
	 * target between them is empty, and a request-target never is. */
	{"request-line-empty-path", TEXT("GET  HTTP/1.1\nHost:h\n\n"), BAD, 1, 5},
	{"protocol-without-version", TEXT("GET / HTTP/\nHost:h\n\n"), BAD, 1, 7},
	{"protocol-too-long", TEXT("GET / HTTP/1.1.1.1.1.1\n\n"), BAD, 1, 7},
	{"method-not-a-token", TEXT("GE(T / HTTP/1.1\n\n"), BAD, 1, 3},
	{"method-with-utf8", TEXT("G\xc3\x89T / HTTP/1.1\n\n"), BAD, 1, 2},
	{"method-empty", TEXT(" / HTTP/1.1\nHost:h\n\n"), BAD, 1, 1},
	{"header-without-colon", TEXT("GET / HTTP/1.1\nHost example.amazonaws.com\n\n"), BAD, 2, 1},
	{"header-without-colon-crlf", TEXT("GET / HTTP/1.1\r\nHost:h\r\nX-Flag\r\n\r\n"), BAD, 3, 1},
	{"header-empty-name", TEXT("GET / HTTP/1.1\n:value\n\n"), BAD, 2, 1},
	{"header-name-with-space", TEXT("GET / HTTP/1.1\nHost:h\nMy Header:value\n\n"), BAD, 3, 3},
	{"header-name-space-before-colon", TEXT("GET / HTTP/1.1\nHost :h\n\n"), BAD, 2, 5},
	{"header-name-with-utf8", TEXT("GET / HTTP/1.1\nH\xc3\xa9:v\n\n"), BAD, 2, 2},
	{"continuation-before-any-header", TEXT("GET / HTTP/1.1\n value\nHost:h\n\n"), BAD, 2, 1},
	{"continuation-tab-before-any-header", TEXT("GET / HTTP/1.1\n\tvalue\n\n"), BAD, 2, 1},
	/* A NUL or a bare CR: the column of that byte in the line as written. */
	{"bare-cr-in-value", TEXT("GET / HTTP/1.1\nHost:exa\rmple.com\n\n"), BAD, 2, 9},
	{"bare-cr-in-folded-value", TEXT("GET / HTTP/1.1\nX:a\n b\rc\n\n"), BAD, 3, 3},
	{"nul-in-value", TEXT("GET / HTTP/1.1\nX:a\0b\n\n"), BAD, 2, 4},
};

/* Writes a sentinel over the out-parameter: it must survive a failure. */
static void fill_sentinel(struct sv4_reqfile *r)
{
	memset(r, 0x5a, sizeof(*r));
}

static void check_sentinel(const struct sv4_reqfile *r)
{
	const unsigned char *p = (const unsigned char *)r;
	for (size_t i = 0; i < sizeof(*r); i++)
		if (p[i] != 0x5a) {
			print_error("the out-parameter was written at byte %zu on failure\n", i);
			fail();
		}
}

/* Parses |text| and checks the error code and where it is said to be. */
static void check_error(const char *text, size_t textlen, int want_rv, unsigned line, unsigned column)
{
	struct sv4_reqfile out;
	struct sv4_reqfile_error err = {0, 0, NULL};

	fill_sentinel(&out);
	int rv = sv4_reqfile_parse(&out, text, textlen, &err);
	if (rv == 0) {
		static char m[128], t[128], pr[64];
		rf = out; /* teardown() frees it */
		fail_msg("parsed (method \"%s\", target \"%s\", protocol \"%s\"), want error %d at %u:%u",
		         show(m, sizeof(m), rf.req.method, rf.req.methodlen),
		         show(t, sizeof(t), rf.req.path,
		              rf.req.pathlen + (rf.req.querylen > 0 ? rf.req.querylen + 1 : 0)),
		         show(pr, sizeof(pr), rf.protocol, strlen(rf.protocol)), want_rv, line, column);
	}
	check_sentinel(&out);
	if (rv != want_rv || err.line != line || err.column != column)
		print_error("got error %d at %u:%u (%s), want %d at %u:%u\n", rv, err.line, err.column,
		            err.what != NULL ? err.what : "no description", want_rv, line, column);
	assert_int_equal(rv, want_rv);
	assert_non_null(err.what);
	assert_int_equal(err.line, line);
	assert_int_equal(err.column, column);

	/* |err| may be NULL. */
	fill_sentinel(&out);
	assert_int_equal(sv4_reqfile_parse(&out, text, textlen, NULL), want_rv);
	check_sentinel(&out);
}

static void test_err(void **state)
{
	const struct err_case *c = *state;
	check_error(c->text, c->textlen, c->rv, c->line, c->column);
}

/* ------------------------------------------------------------------------
 * The limits, at and one past each: generated files. */

enum limit_kind {
	LIMIT_HEADERS,      /* |size| header lines */
	LIMIT_VALUE,        /* one header value of |size| bytes */
	LIMIT_FOLDED_VALUE, /* one value of |size| bytes after joining two lines */
	LIMIT_TOTAL,        /* |size| headers of 16000-byte values */
	LIMIT_NAME,         /* one header name of |size| bytes */
	LIMIT_PATH,         /* a path of |size| bytes */
	LIMIT_QUERY,        /* a query of |size| bytes */
};

struct limit_case {
	const char *name;
	enum limit_kind kind;
	size_t size;
	int rv;
	unsigned line; /* of the error */
	unsigned column;
};

static struct limit_case limit_cases[] = {
	{"max-headers", LIMIT_HEADERS, SV4_MAX_HEADERS, 0, 0, 0},
	{"too-many-headers", LIMIT_HEADERS, SV4_MAX_HEADERS + 1, SV4_ERR_TOO_LARGE, SV4_MAX_HEADERS + 2, 1},
	{"max-header-value", LIMIT_VALUE, SV4_MAX_HEADER_VALUE, 0, 0, 0},
	{"header-value-too-long", LIMIT_VALUE, SV4_MAX_HEADER_VALUE + 1, SV4_ERR_TOO_LARGE, 2, 1},
	{"max-folded-value", LIMIT_FOLDED_VALUE, SV4_MAX_HEADER_VALUE, 0, 0, 0},
	{"folded-value-too-long", LIMIT_FOLDED_VALUE, SV4_MAX_HEADER_VALUE + 1, SV4_ERR_TOO_LARGE, 3, 1},
	{"header-bytes-under-total", LIMIT_TOTAL, 4, 0, 0, 0},
	{"header-bytes-over-total", LIMIT_TOTAL, 5, SV4_ERR_TOO_LARGE, 6, 1},
	{"max-header-name", LIMIT_NAME, SV4_MAX_HEADER_NAME, 0, 0, 0},
	{"header-name-too-long", LIMIT_NAME, SV4_MAX_HEADER_NAME + 1, SV4_ERR_TOO_LARGE, 2, 1},
	{"max-path", LIMIT_PATH, SV4_MAX_PATH, 0, 0, 0},
	{"path-too-long", LIMIT_PATH, SV4_MAX_PATH + 1, SV4_ERR_TOO_LARGE, 1, 5},
	{"max-query", LIMIT_QUERY, SV4_MAX_QUERY, 0, 0, 0},
	{"query-too-long", LIMIT_QUERY, SV4_MAX_QUERY + 1, SV4_ERR_TOO_LARGE, 1, 5},
};

/* A bounded writer into |scratch|. */
struct gen {
	size_t len;
	size_t cap;
};

static void put(struct gen *g, const char *p, size_t n)
{
	assert_true(n <= g->cap - g->len);
	memcpy(scratch + g->len, p, n);
	g->len += n;
}

static void put_str(struct gen *g, const char *s)
{
	put(g, s, strlen(s));
}

static void put_run(struct gen *g, char c, size_t n)
{
	assert_true(n <= g->cap - g->len);
	memset(scratch + g->len, c, n);
	g->len += n;
}

static void test_limit(void **state)
{
	const struct limit_case *c = *state;
	struct gen g = {0, 2 * (size_t)SV4_MAX_HEADER_BYTES + 2 * (size_t)SV4_MAX_QUERY};
	char line[32];

	scratch = malloc(g.cap);
	assert_non_null(scratch);
	switch (c->kind) {
	case LIMIT_HEADERS:
		put_str(&g, "GET / HTTP/1.1\n");
		for (size_t i = 0; i < c->size; i++) {
			int k = snprintf(line, sizeof(line), "X-H%zu:v%zu\n", i, i);
			assert_true(k > 0 && (size_t)k < sizeof(line));
			put(&g, line, (size_t)k);
		}
		put_str(&g, "\n");
		break;
	case LIMIT_VALUE:
		put_str(&g, "GET / HTTP/1.1\nX:");
		put_run(&g, 'v', c->size);
		put_str(&g, "\n\n");
		break;
	case LIMIT_FOLDED_VALUE:
		/* "a...a" + ' ' + "b...b" joined: |size| bytes. */
		put_str(&g, "GET / HTTP/1.1\nX:");
		put_run(&g, 'a', c->size / 2);
		put_str(&g, "\n ");
		put_run(&g, 'b', c->size - c->size / 2 - 1);
		put_str(&g, "\n\n");
		break;
	case LIMIT_TOTAL:
		/* Names and values of 1 + 16000 bytes: four fit in 65536, five do not. */
		put_str(&g, "GET / HTTP/1.1\n");
		for (size_t i = 0; i < c->size; i++) {
			put_str(&g, "X:");
			put_run(&g, 'v', 16000);
			put_str(&g, "\n");
		}
		put_str(&g, "\n");
		break;
	case LIMIT_NAME:
		put_str(&g, "GET / HTTP/1.1\n");
		put_run(&g, 'N', c->size);
		put_str(&g, ":v\n\n");
		break;
	case LIMIT_PATH:
		put_str(&g, "GET /");
		put_run(&g, 'p', c->size - 1);
		put_str(&g, " HTTP/1.1\n\n");
		break;
	case LIMIT_QUERY:
		put_str(&g, "GET /?");
		put_run(&g, 'q', c->size);
		put_str(&g, " HTTP/1.1\n\n");
		break;
	}

	if (c->rv != 0) {
		check_error(scratch, g.len, c->rv, c->line, c->column);
		return;
	}

	struct sv4_reqfile_error err = {0, 0, NULL};
	int rv = sv4_reqfile_parse(&rf, scratch, g.len, &err);
	if (rv != 0)
		print_error("error at %u:%u: %s\n", err.line, err.column, err.what != NULL ? err.what : "?");
	assert_int_equal(rv, 0);
	switch (c->kind) {
	case LIMIT_HEADERS:
		assert_int_equal(rf.nheaders, c->size);
		for (size_t i = 0; i < c->size; i++) {
			char name[16], value[16];
			assert_true(snprintf(name, sizeof(name), "X-H%zu", i) > 0);
			assert_true(snprintf(value, sizeof(value), "v%zu", i) > 0);
			check_str("header name", rf.headers[i].name, rf.headers[i].namelen, name);
			check_str("header value", rf.headers[i].value, rf.headers[i].valuelen, value);
		}
		break;
	case LIMIT_VALUE:
	case LIMIT_FOLDED_VALUE:
		assert_int_equal(rf.nheaders, 1);
		assert_int_equal(rf.headers[0].valuelen, c->size);
		break;
	case LIMIT_TOTAL:
		assert_int_equal(rf.nheaders, c->size);
		break;
	case LIMIT_NAME:
		assert_int_equal(rf.nheaders, 1);
		assert_int_equal(rf.headers[0].namelen, c->size);
		break;
	case LIMIT_PATH:
		assert_int_equal(rf.req.pathlen, c->size);
		break;
	case LIMIT_QUERY:
		assert_int_equal(rf.req.querylen, c->size);
		break;
	}
	assert_int_equal(rf.req.bodylen, 0);
	sv4_reqfile_free(&rf);
}

/* ------------------------------------------------------------------------ */

#define ADD_CASES(table, fn)                                                                    \
	for (size_t i = 0; i < LEN(table); i++)                                                  \
		tests[n++] = (struct CMUnitTest){.name = (table)[i].name, .test_func = (fn),       \
		                                 .setup_func = setup, .teardown_func = teardown,    \
		                                 .initial_state = &(table)[i]}

int main(void)
{
	struct CMUnitTest tests[LEN(ok_cases) + LEN(err_cases) + LEN(limit_cases)];
	size_t n = 0;

	ADD_CASES(ok_cases, test_ok);
	ADD_CASES(err_cases, test_err);
	ADD_CASES(limit_cases, test_limit);
	if (n != LEN(tests))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
