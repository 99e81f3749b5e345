/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_webform.c: libFuzzer target for the web UI's parsers: form fields, the Cookie header, tokens, and the HTML escaper. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_webform"
#include "tests/fuzz/harness.h"

#include "proxy/proxy.h"
#include "proxy/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input is a form body, a Cookie header value, a token and HTML text
 * at once. Invariants: a field found decodes to no more bytes than were
 * sent, without control bytes, NUL-terminated within its buffer; a cookie
 * value is a view inside the header without ';'; a token that decodes
 * encodes back to the same text; escaped HTML holds none of & < > " ' `
 * except as the start of a character reference, and no control byte.
 */

static const char *const fields[] = {"t", "csrf", "app", "role", "region", "destination", "logout"};

static void check_form(const char *in, size_t size)
{
	char out[64];

	for (size_t i = 0; i < COUNTOF(fields); i++) {
		int rv;
		memset(out, 'X', sizeof(out));
		rv = px_web_form_get(in, size, fields[i], out, sizeof(out));
		if (rv != 0 && rv != PX_ERR_WEB_MISSING && rv != PX_ERR_WEB_BAD && rv != PX_ERR_TOO_LARGE)
			violated("px_web_form_get: unexpected return");
		if (rv != 0)
			continue;
		if (memchr(out, '\0', sizeof(out)) == NULL)
			violated("field not NUL-terminated in its buffer");
		if (strlen(out) > size)
			violated("field longer than the body");
		for (const char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				violated("control byte in a field");
	}
}

static void check_cookie(const char *in, size_t size)
{
	const char *v = NULL;
	size_t n = 0;
	int rv = px_web_cookie_get(in, size, PX_WEB_COOKIE, &v, &n);

	if (rv != 0 && rv != PX_ERR_WEB_MISSING && rv != PX_ERR_WEB_BAD)
		violated("px_web_cookie_get: unexpected return");
	if (rv != 0)
		return;
	if (v < in || v + n > in + size)
		violated("cookie value outside the header");
	if (memchr(v, ';', n) != NULL)
		violated("cookie value holds ';'");
}

static void check_token(const char *in, size_t size)
{
	unsigned char key[PX_WEB_KEY_BYTES];
	char back[PX_WEB_TOKEN_LEN + 1];

	if (px_web_token_decode(in, size, key) != 0)
		return;
	px_web_b64url(key, sizeof(key), back);
	if (size != PX_WEB_TOKEN_LEN || memcmp(back, in, size) != 0)
		violated("a token does not encode back to its text");
}

static void check_html(const char *in, size_t size)
{
	struct px_web_buf b;

	px_web_buf_init(&b, 8 * size + 16);
	px_web_buf_htmln(&b, in, size);
	if (b.failed)
		violated("escaping fit in 8 bytes per byte and failed");
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];
		if (c == '<' || c == '>' || c == '"' || c == '\'' || c == '`' || c < 0x20 || c == 0x7f)
			violated("a special or control byte left in escaped HTML");
		if (c == '&' && (i + 1 >= b.len || (b.p[i + 1] != '#' && strncmp(b.p + i, "&amp;", 5) != 0 &&
						    strncmp(b.p + i, "&lt;", 4) != 0 && strncmp(b.p + i, "&gt;", 4) != 0 &&
						    strncmp(b.p + i, "&quot;", 6) != 0)))
			violated("a bare & in escaped HTML");
	}
	px_web_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in;

	if (size > PX_WEB_MAX_FORM)
		return 0;
	in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	check_form(in, size);
	check_cookie(in, size);
	check_token(in, size);
	check_html(in, size);
	free(in);
	return 0;
}
