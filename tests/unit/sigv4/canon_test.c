/* SPDX-License-Identifier: Apache-2.0 */
/* canon_test.c: table-driven tests of the canonical URI, the RFC 3986 encoders and the query sort. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigv4/sv4_int.h"

/* Expected values come from the rules, not from this code: RFC 3986
 * (unreserved = A-Z a-z 0-9 - . _ ~), the AWS SigV4 documentation and
 * botocore 1.29 (quote(remove_dot_segments(path), safe='/~') for non-S3,
 * the path as sent for S3), computed with Python's urllib.parse.quote and
 * botocore.utils.normalize_url_path. */

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
/* A byte string with an explicit length, so that NUL and "" can be said. */
#define PATH(s) .path = (s), .pathlen = sizeof(s) - 1
#define SRC(s) .src = (s), .srclen = sizeof(s) - 1

/* Room for anything these tests write. */
#define BIG_BUF (4 * (size_t)SV4_MAX_PATH + 64)

/* State of the running case, released by teardown() even when an assertion
 * jumps out of the test. */
static struct sv4_buf buf;
static char *scratch;

static int teardown(void **state)
{
	(void)state;
	sv4_buf_free(&buf);
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
static void check_bytes(const char *what, const char *got, size_t gotlen, const char *want, size_t wantlen)
{
	static char g[512], w[512];

	if (gotlen == wantlen && (wantlen == 0 || memcmp(got, want, wantlen) == 0))
		return;
	print_error("%s: got \"%s\" (%zu bytes), want \"%s\" (%zu bytes)\n", what,
	            show(g, sizeof(g), got != NULL ? got : "", gotlen), gotlen,
	            show(w, sizeof(w), want, wantlen), wantlen);
	fail();
}

/* ------------------------------------------------------------------------
 * sv4_canon_path() */

struct path_case {
	const char *name;
	const char *path;
	size_t pathlen;
	int s3;
	int normalize;
	int rv;           /* expected return value */
	const char *want; /* the canonical URI (after |prefix|) on success */
	const char *prefix; /* already in the buffer; NULL: the buffer is empty */
	size_t max;         /* the buffer's maximum; 0: BIG_BUF */
	size_t gen;         /* > 0: the path is '/' and gen - 1 'a's, and so is |want| */
};

static struct path_case path_cases[] = {
	/* Non-S3, normalised: botocore's remove_dot_segments, then quote(safe='/~'). */
	{.name = "normalize-root", PATH("/"), .normalize = 1, .want = "/"},
	{.name = "normalize-empty-path-is-root", PATH(""), .normalize = 1, .want = "/"},
	{.name = "normalize-plain-segments", PATH("/a/b/c"), .normalize = 1, .want = "/a/b/c"},
	{.name = "normalize-dot-segment", PATH("/a/./b"), .normalize = 1, .want = "/a/b"},
	{.name = "normalize-slash-dot-slash", PATH("/./"), .normalize = 1, .want = "/"},
	{.name = "normalize-slash-dot", PATH("/."), .normalize = 1, .want = "/"},
	{.name = "normalize-dot-dot-at-end-drops-slash", PATH("/a/b/.."), .normalize = 1, .want = "/a"},
	{.name = "normalize-dot-dot-slash-keeps-slash", PATH("/a/b/../"), .normalize = 1, .want = "/a/"},
	{.name = "normalize-relative-path", PATH("/example/.."), .normalize = 1, .want = "/"},
	{.name = "normalize-relative-relative-path", PATH("/example1/example2/../.."), .normalize = 1,
	 .want = "/"},
	{.name = "normalize-dot-dot-to-root-with-slash", PATH("/example/../"), .normalize = 1, .want = "/"},
	{.name = "normalize-dot-dot-above-root", PATH("/a/../.."), .normalize = 1, .want = "/"},
	{.name = "normalize-dot-dot-above-root-then-segment", PATH("/../../a"), .normalize = 1, .want = "/a"},
	{.name = "normalize-slash-dot-dot", PATH("/.."), .normalize = 1, .want = "/"},
	{.name = "normalize-slash-dot-dot-slash", PATH("/../"), .normalize = 1, .want = "/"},
	{.name = "normalize-dot-dot-and-dot", PATH("/foo/bar/.././baz"), .normalize = 1, .want = "/foo/baz"},
	{.name = "normalize-mixed-dots-trailing-slash", PATH("/a/./b/../../c/"), .normalize = 1,
	 .want = "/c/"},
	{.name = "normalize-dot-first-and-last", PATH("/./a/./"), .normalize = 1, .want = "/a/"},
	{.name = "normalize-double-slash-only", PATH("//"), .normalize = 1, .want = "/"},
	{.name = "normalize-repeated-slashes", PATH("/a//b"), .normalize = 1, .want = "/a/b"},
	{.name = "normalize-repeated-slashes-everywhere", PATH("//a///b//"), .normalize = 1, .want = "/a/b/"},
	{.name = "normalize-trailing-double-slash", PATH("/a/b//"), .normalize = 1, .want = "/a/b/"},
	{.name = "normalize-three-dots-is-a-name", PATH("/.../"), .normalize = 1, .want = "/.../"},
	{.name = "normalize-dotted-names-are-names", PATH("/a/..b/.c"), .normalize = 1, .want = "/a/..b/.c"},
	{.name = "normalize-raw-space", PATH("/example space/"), .normalize = 1, .want = "/example%20space/"},
	{.name = "normalize-raw-utf8", PATH("/\xc3\xa9t\xc3\xa9"), .normalize = 1, .want = "/%C3%A9t%C3%A9"},
	{.name = "normalize-raw-utf8-three-bytes", PATH("/\xe1\x88\xb4"), .normalize = 1,
	 .want = "/%E1%88%B4"},
	{.name = "normalize-escape-encoded-again", PATH("/a%3Ab"), .normalize = 1, .want = "/a%253Ab"},
	{.name = "normalize-invalid-escape-encoded", PATH("/%zz"), .normalize = 1, .want = "/%25zz"},
	{.name = "normalize-plus-and-star", PATH("/a+b*c"), .normalize = 1, .want = "/a%2Bb%2Ac"},
	{.name = "normalize-unreserved-kept", PATH("/~user/-_."), .normalize = 1, .want = "/~user/-_."},
	{.name = "normalize-reserved-encoded", PATH("/a:b@c!$&'()*+,;="), .normalize = 1,
	 .want = "/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D"},
	{.name = "normalize-appends-after-prefix", PATH("/a/b/../c/"), .normalize = 1, .prefix = "GET\n",
	 .want = "/a/c/"},
	{.name = "normalize-dot-dot-stops-at-prefix", PATH("/a/../../.."), .normalize = 1,
	 .prefix = "GET\n/x/y", .want = "/"},
	{.name = "normalize-exactly-max-path", .normalize = 1, .gen = SV4_MAX_PATH},

	/* Non-S3, not normalised: every segment as sent, then encoded. */
	{.name = "raw-keeps-dot-segments", PATH("/a/./b/../c"), .want = "/a/./b/../c"},
	{.name = "raw-keeps-repeated-slashes", PATH("//a//b/"), .want = "//a//b/"},
	{.name = "raw-empty-path-is-root", PATH(""), .want = "/"},
	{.name = "raw-escape-encoded-again", PATH("/a%3Ab"), .want = "/a%253Ab"},
	{.name = "raw-raw-space", PATH("/example space/"), .want = "/example%20space/"},
	{.name = "raw-raw-utf8", PATH("/\xc3\xa9t\xc3\xa9"), .want = "/%C3%A9t%C3%A9"},
	{.name = "raw-exactly-max-path", .gen = SV4_MAX_PATH},

	/* S3: the path as sent, never normalised; valid %XX kept as sent. */
	{.name = "s3-keeps-dot-segments", PATH("/a/./b/../c"), .s3 = 1, .want = "/a/./b/../c"},
	{.name = "s3-keeps-repeated-slashes", PATH("//a//b/"), .s3 = 1, .want = "//a//b/"},
	{.name = "s3-ignores-normalize-flag", PATH("/a/../b"), .s3 = 1, .normalize = 1, .want = "/a/../b"},
	{.name = "s3-empty-path-is-root", PATH(""), .s3 = 1, .want = "/"},
	{.name = "s3-raw-space", PATH("/example space/"), .s3 = 1, .want = "/example%20space/"},
	{.name = "s3-raw-utf8", PATH("/\xc3\xa9t\xc3\xa9"), .s3 = 1, .want = "/%C3%A9t%C3%A9"},
	{.name = "s3-keeps-escape", PATH("/a%3Ab"), .s3 = 1, .want = "/a%3Ab"},
	{.name = "s3-keeps-lower-case-escape", PATH("/a%3ab"), .s3 = 1, .want = "/a%3ab"},
	{.name = "s3-keeps-encoded-space", PATH("/a%20b"), .s3 = 1, .want = "/a%20b"},
	{.name = "s3-invalid-escape-encoded", PATH("/%zz"), .s3 = 1, .want = "/%25zz"},
	{.name = "s3-half-valid-escape-encoded", PATH("/%4g"), .s3 = 1, .want = "/%254g"},
	{.name = "s3-percent-at-end", PATH("/a%"), .s3 = 1, .want = "/a%25"},
	{.name = "s3-percent-and-one-digit-at-end", PATH("/a%4"), .s3 = 1, .want = "/a%254"},
	{.name = "s3-double-percent", PATH("/%%41"), .s3 = 1, .want = "/%25%41"},
	{.name = "s3-reserved-encoded", PATH("/a:b@c!$&'()*+,;="), .s3 = 1,
	 .want = "/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D"},
	{.name = "s3-appends-after-prefix", PATH("/a/../b"), .s3 = 1, .prefix = "PUT\n", .want = "/a/../b"},
	{.name = "s3-exactly-max-path", .s3 = 1, .gen = SV4_MAX_PATH},

	/* Errors: nothing is written. */
	{.name = "no-leading-slash", PATH("a/b"), .normalize = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "no-leading-slash-raw", PATH("a/b"), .rv = SV4_ERR_BAD_PATH},
	{.name = "no-leading-slash-s3", PATH("a/b"), .s3 = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "asterisk-form", PATH("*"), .normalize = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "carriage-return", PATH("/a\rb"), .normalize = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "line-feed", PATH("/a\nb"), .normalize = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "nul-byte", PATH("/a\0b"), .normalize = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "fragment-mark", PATH("/a#b"), .normalize = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "question-mark", PATH("/a?b"), .normalize = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "carriage-return-s3", PATH("/a\rb"), .s3 = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "line-feed-s3", PATH("/a\n"), .s3 = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "nul-byte-s3", PATH("/\0"), .s3 = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "fragment-mark-s3", PATH("/a#"), .s3 = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "question-mark-s3", PATH("/?a"), .s3 = 1, .rv = SV4_ERR_BAD_PATH},
	{.name = "question-mark-raw", PATH("/a?b"), .rv = SV4_ERR_BAD_PATH},
	{.name = "error-leaves-prefix-alone", PATH("/a\nb"), .normalize = 1, .prefix = "GET\n",
	 .rv = SV4_ERR_BAD_PATH},
	{.name = "over-max-path", .normalize = 1, .gen = SV4_MAX_PATH + 1, .rv = SV4_ERR_TOO_LARGE},
	{.name = "over-max-path-raw", .gen = SV4_MAX_PATH + 1, .rv = SV4_ERR_TOO_LARGE},
	{.name = "over-max-path-s3", .s3 = 1, .gen = SV4_MAX_PATH + 1, .rv = SV4_ERR_TOO_LARGE},
	{.name = "buffer-maximum-too-small", PATH("/abc"), .normalize = 1, .max = 2, .rv = SV4_ERR_TOO_LARGE},
	{.name = "buffer-maximum-too-small-s3", PATH("/abc"), .s3 = 1, .max = 2, .rv = SV4_ERR_TOO_LARGE},
};

static void test_canon_path(void **state)
{
	const struct path_case *c = *state;
	const char *path = c->path;
	size_t pathlen = c->pathlen;
	const char *prefix = c->prefix != NULL ? c->prefix : "";
	size_t prefixlen = strlen(prefix);

	if (c->gen > 0) {
		scratch = malloc(c->gen);
		assert_non_null(scratch);
		scratch[0] = '/';
		memset(scratch + 1, 'a', c->gen - 1);
		path = scratch;
		pathlen = c->gen;
	}
	sv4_buf_init(&buf, c->max > 0 ? c->max : BIG_BUF);
	assert_int_equal(sv4_buf_add(&buf, prefix, prefixlen), 0);

	int rv = sv4_canon_path(&buf, path, pathlen, c->s3, c->normalize);
	assert_int_equal(rv, c->rv);
	if (rv != 0) {
		check_bytes("buffer after a failure", buf.data, buf.len, prefix, prefixlen);
		return;
	}
	assert_true(buf.len >= prefixlen);
	check_bytes("prefix", buf.data, prefixlen, prefix, prefixlen);
	if (c->gen > 0)
		check_bytes("canonical URI", buf.data + prefixlen, buf.len - prefixlen, path, pathlen);
	else
		check_bytes("canonical URI", buf.data + prefixlen, buf.len - prefixlen, c->want,
		            strlen(c->want));
}

/* ------------------------------------------------------------------------
 * sv4_encode(), and sv4_reencode() of what it made (the round trip). */

struct encode_case {
	const char *name;
	const char *src;
	size_t srclen;
	const char *want;
	size_t max; /* 0: BIG_BUF */
	int rv;
};

static struct encode_case encode_cases[] = {
	{.name = "encode-empty", SRC(""), .want = ""},
	{.name = "encode-unreserved-kept", SRC("AZaz09-._~"), .want = "AZaz09-._~"},
	{.name = "encode-space", SRC(" "), .want = "%20"},
	{.name = "encode-slash", SRC("/"), .want = "%2F"},
	{.name = "encode-plus", SRC("+"), .want = "%2B"},
	{.name = "encode-star", SRC("*"), .want = "%2A"},
	{.name = "encode-percent", SRC("%"), .want = "%25"},
	{.name = "encode-equals", SRC("="), .want = "%3D"},
	{.name = "encode-ampersand", SRC("&"), .want = "%26"},
	{.name = "encode-utf8", SRC("\xc3\xa9"), .want = "%C3%A9"},
	{.name = "encode-nul-byte", SRC("\0"), .want = "%00"},
	{.name = "encode-high-byte", SRC("\xff"), .want = "%FF"},
	{.name = "encode-delete", SRC("\x7f"), .want = "%7F"},
	{.name = "encode-tab", SRC("\t"), .want = "%09"},
	{.name = "encode-mixed", SRC("a b+c/d"), .want = "a%20b%2Bc%2Fd"},
	{.name = "encode-escape-encoded-again", SRC("%41"), .want = "%2541"},
	{.name = "encode-buffer-maximum-too-small", SRC("abc"), .max = 2, .rv = SV4_ERR_TOO_LARGE},
};

static void test_encode(void **state)
{
	const struct encode_case *c = *state;

	sv4_buf_init(&buf, c->max > 0 ? c->max : BIG_BUF);
	int rv = sv4_encode(&buf, c->src, c->srclen);
	assert_int_equal(rv, c->rv);
	if (rv != 0) {
		assert_int_equal(buf.len, 0);
		return;
	}
	size_t wantlen = strlen(c->want);
	check_bytes("encoded", buf.data, buf.len, c->want, wantlen);

	/* Decoding and encoding again gives the same bytes. */
	sv4_buf_free(&buf);
	sv4_buf_init(&buf, BIG_BUF);
	assert_int_equal(sv4_buf_reserve(&buf, 3 * wantlen), 0);
	assert_int_equal(sv4_reencode(&buf, c->want, wantlen), 0);
	check_bytes("re-encoded", buf.data, buf.len, c->want, wantlen);
}

/* ------------------------------------------------------------------------
 * sv4_reencode(): decode %XX, then encode all but unreserved. */

struct reencode_case {
	const char *name;
	const char *src;
	size_t srclen;
	const char *want;
	int rv;
};

static struct reencode_case reencode_cases[] = {
	{.name = "reencode-empty", SRC(""), .want = ""},
	{.name = "reencode-unreserved-kept", SRC("~-._azAZ09"), .want = "~-._azAZ09"},
	{.name = "reencode-encoded-space-kept", SRC("a%20b"), .want = "a%20b"},
	{.name = "reencode-raw-space-encoded", SRC("a b"), .want = "a%20b"},
	{.name = "reencode-plus-is-a-literal-plus", SRC("a+b"), .want = "a%2Bb"},
	{.name = "reencode-encoded-plus-kept", SRC("%2B"), .want = "%2B"},
	{.name = "reencode-lower-case-hex-upper-cased", SRC("%2f"), .want = "%2F"},
	{.name = "reencode-lower-case-star-upper-cased", SRC("%2a"), .want = "%2A"},
	{.name = "reencode-encoded-tilde-decoded", SRC("%7E"), .want = "~"},
	{.name = "reencode-lower-case-encoded-tilde-decoded", SRC("%7e"), .want = "~"},
	{.name = "reencode-encoded-letters-decoded", SRC("%41%42"), .want = "AB"},
	{.name = "reencode-encoded-percent-kept", SRC("%25"), .want = "%25"},
	{.name = "reencode-double-encoded-kept", SRC("%2525"), .want = "%2525"},
	{.name = "reencode-encoded-utf8-kept", SRC("%C3%A9"), .want = "%C3%A9"},
	{.name = "reencode-lower-case-utf8-upper-cased", SRC("%c3%a9"), .want = "%C3%A9"},
	{.name = "reencode-raw-utf8-encoded", SRC("\xc3\xa9"), .want = "%C3%A9"},
	{.name = "reencode-encoded-nul-kept", SRC("%00"), .want = "%00"},
	{.name = "reencode-lone-percent", SRC("%"), .rv = SV4_ERR_BAD_QUERY},
	{.name = "reencode-percent-one-digit", SRC("%4"), .rv = SV4_ERR_BAD_QUERY},
	{.name = "reencode-percent-not-hex", SRC("%zz"), .rv = SV4_ERR_BAD_QUERY},
	{.name = "reencode-percent-at-end", SRC("a%"), .rv = SV4_ERR_BAD_QUERY},
	{.name = "reencode-percent-first-digit-not-hex", SRC("a%g0"), .rv = SV4_ERR_BAD_QUERY},
	{.name = "reencode-percent-second-digit-not-hex", SRC("%0g"), .rv = SV4_ERR_BAD_QUERY},
	{.name = "reencode-double-percent", SRC("%%41"), .rv = SV4_ERR_BAD_QUERY},
	{.name = "reencode-broken-after-good", SRC("%41%4"), .rv = SV4_ERR_BAD_QUERY},
};

static void test_reencode(void **state)
{
	const struct reencode_case *c = *state;

	sv4_buf_init(&buf, BIG_BUF);
	/* The caller reserves 3 * len bytes, as sv4_int.h says. */
	assert_int_equal(sv4_buf_reserve(&buf, 3 * c->srclen), 0);
	int rv = sv4_reencode(&buf, c->src, c->srclen);
	assert_int_equal(rv, c->rv);
	if (rv != 0)
		return;
	size_t wantlen = strlen(c->want);
	check_bytes("re-encoded", buf.data, buf.len, c->want, wantlen);

	/* Idempotent: re-encoding the result changes nothing. */
	sv4_buf_free(&buf);
	sv4_buf_init(&buf, BIG_BUF);
	assert_int_equal(sv4_buf_reserve(&buf, 3 * wantlen), 0);
	assert_int_equal(sv4_reencode(&buf, c->want, wantlen), 0);
	check_bytes("re-encoded twice", buf.data, buf.len, c->want, wantlen);
}

/* ------------------------------------------------------------------------
 * sv4_qparams_sort(): by encoded name, then encoded value, byte order. */

struct kv {
	const char *name;
	const char *value;
};

#define KVS(...) (const struct kv[]){__VA_ARGS__}
#define KVLEN(...) (sizeof((const struct kv[]){__VA_ARGS__}) / sizeof(struct kv))

struct sort_case {
	const char *name;
	const struct kv *in;
	const struct kv *want;
	size_t n;
};

/* A case's input and expected order, both of |n| pairs. */
#define SORT_CASE(nm, inl, wantl) {.name = (nm), .in = KVS inl, .want = KVS wantl, .n = KVLEN inl}

static struct sort_case sort_cases[] = {
	/* The AWS suite's get-vanilla-query-order-key-case and -value. */
	SORT_CASE("sort-key-case", ({"Param2", "value2"}, {"Param1", "value1"}),
	          ({"Param1", "value1"}, {"Param2", "value2"})),
	SORT_CASE("sort-value-upper-case-first", ({"Param1", "value2"}, {"Param1", "Value1"}),
	          ({"Param1", "Value1"}, {"Param1", "value2"})),
	/* The name decides before the value: Param=z before Param-3=a. */
	SORT_CASE("sort-shorter-name-first", ({"Param-3", "a"}, {"Param", "z"}),
	          ({"Param", "z"}, {"Param-3", "a"})),
	SORT_CASE("sort-shorter-name-first-three", ({"Param-3", ""}, {"Param", "b"}, {"Param", "a"}),
	          ({"Param", "a"}, {"Param", "b"}, {"Param-3", ""})),
	SORT_CASE("sort-upper-case-before-lower-case", ({"b", ""}, {"B", ""}, {"a", ""}, {"A", ""}),
	          ({"A", ""}, {"B", ""}, {"a", ""}, {"b", ""})),
	SORT_CASE("sort-encoded-bytes", ({"a_b", ""}, {"a~b", ""}, {"a-b", ""}, {"a%20b", ""}, {"a.b", ""}),
	          ({"a%20b", ""}, {"a-b", ""}, {"a.b", ""}, {"a_b", ""}, {"a~b", ""})),
	SORT_CASE("sort-empty-name-and-value", ({"x", "a"}, {"", "v"}, {"x", ""}),
	          ({"", "v"}, {"x", ""}, {"x", "a"})),
	SORT_CASE("sort-shorter-value-first", ({"k", "10"}, {"k", "1"}, {"k", "2"}),
	          ({"k", "1"}, {"k", "10"}, {"k", "2"})),
	SORT_CASE("sort-duplicates-kept", ({"k", "v"}, {"a", "1"}, {"k", "v"}),
	          ({"a", "1"}, {"k", "v"}, {"k", "v"})),
	SORT_CASE("sort-already-sorted", ({"a", "1"}, {"b", "2"}, {"c", "3"}),
	          ({"a", "1"}, {"b", "2"}, {"c", "3"})),
	SORT_CASE("sort-one-param", ({"only", "one"}), ({"only", "one"})),
	{.name = "sort-no-params", .n = 0},
};

/* 40 pairs in the order the rule gives (Python: sorted by the bytes of
 * name, then of value); the first n of them are sorted too. */
static const struct kv sorted40[] = {
	{"", "x"},
	{"Action", "ListUsers"},
	{"B", "1"},
	{"Param", ""},
	{"Param", "A"},
	{"Param", "a"},
	{"Param", "z"},
	{"Param-3", ""},
	{"Param-3", "a"},
	{"Version", "2010-05-08"},
	{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
	{"X-Amz-Credential", "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request"},
	{"X-Amz-Date", "20150830T123600Z"},
	{"X-Amz-Expires", "86400"},
	{"X-Amz-SignedHeaders", "host"},
	{"Z", ""},
	{"a", "b"},
	{"a", "b"},
	{"a%20b", ""},
	{"a-b", ""},
	{"a.b", ""},
	{"a_b", ""},
	{"acl", ""},
	{"a~b", ""},
	{"b", "%20"},
	{"b", "1"},
	{"b", "10"},
	{"b", "2"},
	{"delimiter", "%2F"},
	{"k", "%2B"},
	{"k%C3%A9", "v"},
	{"ke", "v"},
	{"list", "a"},
	{"list", "b"},
	{"list", "c"},
	{"max-keys", "20"},
	{"param", "a"},
	{"prefix", "foo%2Fbar"},
	{"uploads", ""},
	{"z", ""},
};

enum order { ORDER_SORTED, ORDER_REVERSED, ORDER_SHUFFLED };

struct bulk_sort_case {
	const char *name;
	size_t n; /* the first n of sorted40; over 24 takes the qsort path */
	enum order order;
};

static struct bulk_sort_case bulk_sort_cases[] = {
	{"sort-insertion-24-reversed", 24, ORDER_REVERSED},
	{"sort-insertion-24-shuffled", 24, ORDER_SHUFFLED},
	{"sort-qsort-25-reversed", 25, ORDER_REVERSED},
	{"sort-qsort-25-shuffled", 25, ORDER_SHUFFLED},
	{"sort-qsort-40-sorted", 40, ORDER_SORTED},
	{"sort-qsort-40-reversed", 40, ORDER_REVERSED},
	{"sort-qsort-40-shuffled", 40, ORDER_SHUFFLED},
};

static void set_param(struct sv4_qparam *p, const struct kv *kv)
{
	p->name = kv->name;
	p->namelen = strlen(kv->name);
	p->value = kv->value;
	p->valuelen = strlen(kv->value);
	p->raw = kv->name;
	p->rawlen = p->namelen;
}

/* Sorts |n| pairs given in |in| order and compares with |want|. */
static void check_sort(const struct kv *in, const struct kv *want, size_t n)
{
	struct sv4_qparam p[LEN(sorted40)];

	assert_true(n <= LEN(p));
	for (size_t i = 0; i < n; i++)
		set_param(&p[i], &in[i]);
	sv4_qparams_sort(p, n);
	for (size_t i = 0; i < n; i++) {
		check_bytes("name", p[i].name, p[i].namelen, want[i].name, strlen(want[i].name));
		check_bytes("value", p[i].value, p[i].valuelen, want[i].value, strlen(want[i].value));
	}
}

static void test_sort(void **state)
{
	const struct sort_case *c = *state;
	check_sort(c->in, c->want, c->n);
}

static void test_bulk_sort(void **state)
{
	const struct bulk_sort_case *c = *state;
	struct kv in[LEN(sorted40)];
	uint32_t seed = 20150830;

	assert_true(c->n <= LEN(in));
	for (size_t i = 0; i < c->n; i++)
		in[i] = sorted40[c->order == ORDER_REVERSED ? c->n - 1 - i : i];
	if (c->order == ORDER_SHUFFLED) {
		/* Fisher-Yates with a fixed LCG: the same order on every run. */
		for (size_t i = c->n - 1; i > 0; i--) {
			seed = seed * 1103515245u + 12345u;
			size_t j = (size_t)(seed >> 8) % (i + 1);
			struct kv t = in[i];
			in[i] = in[j];
			in[j] = t;
		}
	}
	check_sort(in, sorted40, c->n);
}

/* ------------------------------------------------------------------------ */

#define ADD_CASES(table, fn, td)                                                                \
	for (size_t i = 0; i < LEN(table); i++)                                                  \
		tests[n++] = (struct CMUnitTest){.name = (table)[i].name, .test_func = (fn),       \
		                                 .teardown_func = (td), .initial_state = &(table)[i]}

int main(void)
{
	struct CMUnitTest tests[LEN(path_cases) + LEN(encode_cases) + LEN(reencode_cases) + LEN(sort_cases) +
	                        LEN(bulk_sort_cases)];
	size_t n = 0;

	ADD_CASES(path_cases, test_canon_path, teardown);
	ADD_CASES(encode_cases, test_encode, teardown);
	ADD_CASES(reencode_cases, test_reencode, teardown);
	ADD_CASES(sort_cases, test_sort, NULL);
	ADD_CASES(bulk_sort_cases, test_bulk_sort, NULL);
	if (n != LEN(tests))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
