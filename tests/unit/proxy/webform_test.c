/* SPDX-License-Identifier: Apache-2.0 */
/* webform_test.c: table-driven tests of the web UI's form and cookie parsers, token codec and HTML escaper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/proxy.h"
#include "proxy/web.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Expected values follow the WHATWG application/x-www-form-urlencoded
 * parser ('+' is a space, %XX a byte), narrowed by our rules: a field
 * once, no control byte or NUL, and a bounded output. */
struct form_case {
	const char *name;
	const char *body;
	const char *field;
	size_t size;
	int rv;
	const char *want;
};

static struct form_case form_cases[] = {
	{"plain", "a=1&b=2", "b", 64, 0, "2"},
	{"first", "a=1&b=2", "a", 64, 0, "1"},
	{"plus-is-space", "q=a+b", "q", 64, 0, "a b"},
	{"percent", "role=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FDev", "role", 64, 0, "arn:aws:iam::1:role/Dev"},
	{"percent-lower-hex", "x=%2f", "x", 64, 0, "/"},
	{"utf8", "x=%C3%A9", "x", 64, 0, "\xc3\xa9"},
	{"empty-value", "a=&b=2", "a", 64, 0, ""},
	{"no-equals", "a&b=2", "a", 64, 0, ""},
	{"empty-fields", "&&a=1&&", "a", 64, 0, "1"},
	{"name-prefix-not-a-match", "ab=1&a=2", "a", 64, 0, "2"},
	{"name-longer-not-a-match", "a=1", "ab", 64, PX_ERR_WEB_MISSING, NULL},
	{"missing", "a=1", "b", 64, PX_ERR_WEB_MISSING, NULL},
	{"empty-body", "", "a", 64, PX_ERR_WEB_MISSING, NULL},
	{"twice", "a=1&a=2", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"twice-empty", "a&a", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"bad-escape", "a=%zz", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"short-escape-end", "a=%4", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"bare-percent-end", "a=%", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"nul-escaped", "a=x%00y", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"newline-escaped", "a=x%0Ay", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"del-escaped", "a=%7F", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"raw-tab", "a=x\ty", "a", 64, PX_ERR_WEB_BAD, NULL},
	{"fits-exactly", "a=12345", "a", 6, 0, "12345"},
	{"one-too-long", "a=123456", "a", 6, PX_ERR_TOO_LARGE, NULL},
	{"escape-too-long", "a=%41%41%41", "a", 3, PX_ERR_TOO_LARGE, NULL},
	{"zero-size", "a=1", "a", 0, PX_ERR_TOO_LARGE, NULL},
	{"encoded-name-not-decoded", "%61=1", "a", 64, PX_ERR_WEB_MISSING, NULL},
};

static void test_form(void **state)
{
	const struct form_case *c = *state;
	char out[64];
	int rv;

	memset(out, '#', sizeof(out));
	rv = px_web_form_get(c->body, strlen(c->body), c->field, out, c->size);
	assert_int_equal(rv, c->rv);
	if (c->want != NULL)
		assert_string_equal(out, c->want);
}

struct cookie_case {
	const char *name;
	const char *hdr;
	int rv;
	const char *want;
};

static struct cookie_case cookie_cases[] = {
	{"only", "awsgate_web=abc", 0, "abc"},
	{"among-others", "a=1; awsgate_web=abc; b=2", 0, "abc"},
	{"no-space", "a=1;awsgate_web=abc", 0, "abc"},
	{"tabs-and-spaces", "a=1;\t awsgate_web=abc  ", 0, "abc"},
	{"quoted", "awsgate_web=\"abc\"", 0, "abc"},
	{"empty", "awsgate_web=", 0, ""},
	{"prefix-name", "xawsgate_web=abc", PX_ERR_WEB_MISSING, NULL},
	{"longer-name", "awsgate_web2=abc", PX_ERR_WEB_MISSING, NULL},
	{"no-value", "awsgate_web", PX_ERR_WEB_MISSING, NULL},
	{"absent", "a=1; b=2", PX_ERR_WEB_MISSING, NULL},
	{"empty-header", "", PX_ERR_WEB_MISSING, NULL},
	{"twice", "awsgate_web=abc; awsgate_web=def", PX_ERR_WEB_BAD, NULL},
};

static void test_cookie(void **state)
{
	const struct cookie_case *c = *state;
	const char *v = NULL;
	size_t n = 0;
	int rv = px_web_cookie_get(c->hdr, strlen(c->hdr), PX_WEB_COOKIE, &v, &n);

	assert_int_equal(rv, c->rv);
	if (c->want != NULL) {
		assert_int_equal(n, strlen(c->want));
		assert_memory_equal(v, c->want, n);
	}
}

struct html_case {
	const char *name;
	const char *in;
	size_t n;
	const char *want;
};

static struct html_case html_cases[] = {
	{"plain", "alice", 5, "alice"},
	{"markup", "<script>x</script>", 18, "&lt;script&gt;x&lt;/script&gt;"},
	{"attribute-breakout", "\" onmouseover=\"y", 16, "&quot; onmouseover=&quot;y"},
	{"single-quote-and-backtick", "'`", 2, "&#39;&#96;"},
	{"ampersand", "a&amp;b", 7, "a&amp;amp;b"},
	{"controls", "a\nb\x01", 4, "a&#10;b&#1;"},
	{"nul", "a\0b", 3, "a&#65533;b"},
	{"utf8-kept", "\xc3\xa9", 2, "\xc3\xa9"},
	{"empty", "", 0, ""},
};

static void test_html(void **state)
{
	const struct html_case *c = *state;
	struct px_web_buf b;

	px_web_buf_init(&b, 4096);
	px_web_buf_adds(&b, "[");
	px_web_buf_htmln(&b, c->in, c->n);
	px_web_buf_adds(&b, "]");
	assert_false(b.failed);
	assert_int_equal(b.len, strlen(c->want) + 2);
	assert_memory_equal(b.p + 1, c->want, strlen(c->want));
	px_web_buf_free(&b);
}

static void test_buf_bound(void **state)
{
	struct px_web_buf b;

	(void)state;
	px_web_buf_init(&b, 16);
	px_web_buf_adds(&b, "0123456789abcde"); /* 15 bytes and the NUL: fits */
	assert_false(b.failed);
	px_web_buf_adds(&b, "f");
	assert_true(b.failed); /* past the maximum: the page is not sent */
	px_web_buf_adds(&b, "g");
	assert_int_equal(b.len, 15);
	px_web_buf_free(&b);
	px_web_buf_init(&b, 16);
	px_web_buf_html(&b, "<<<<"); /* 16 bytes escaped: over */
	assert_true(b.failed);
	px_web_buf_html(&b, NULL);
	px_web_buf_free(&b);
}

static void test_b64url(void **state)
{
	/* RFC 4648 section 10 vectors, in the URL alphabet without padding. */
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
		 {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
	char out[16];
	unsigned char key[PX_WEB_KEY_BYTES], back[PX_WEB_KEY_BYTES];
	char tok[PX_WEB_TOKEN_LEN + 1];

	(void)state;
	for (size_t i = 0; i < LEN(v); i++) {
		px_web_b64url((const unsigned char *)v[i].in, strlen(v[i].in), out);
		assert_string_equal(out, v[i].out);
	}
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 37 + 11);
	px_web_b64url(key, sizeof(key), tok);
	assert_int_equal(strlen(tok), PX_WEB_TOKEN_LEN);
	assert_int_equal(px_web_token_decode(tok, strlen(tok), back), 0);
	assert_memory_equal(key, back, sizeof(key));
	tok[10] = '=';
	assert_int_equal(px_web_token_decode(tok, strlen(tok), back), PX_ERR_WEB_BAD);
	assert_int_equal(px_web_token_decode(NULL, 0, back), PX_ERR_WEB_BAD);
}

#define CASE(fn, arr, i) ((struct CMUnitTest){.name = arr[i].name, .test_func = fn, .initial_state = &arr[i]})

int main(void)
{
	struct CMUnitTest tests[LEN(form_cases) + LEN(cookie_cases) + LEN(html_cases) + 2];
	size_t n = 0;

	for (size_t i = 0; i < LEN(form_cases); i++)
		tests[n++] = CASE(test_form, form_cases, i);
	for (size_t i = 0; i < LEN(cookie_cases); i++)
		tests[n++] = CASE(test_cookie, cookie_cases, i);
	for (size_t i = 0; i < LEN(html_cases); i++)
		tests[n++] = CASE(test_html, html_cases, i);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_buf_bound);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_b64url);
	assert_true(n == LEN(tests));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
