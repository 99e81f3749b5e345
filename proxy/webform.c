/* SPDX-License-Identifier: Apache-2.0 */
/* webform.c: the web UI's parsers (form bodies, the Cookie header, tokens) and its HTML-escaping page buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proxy.h"
#include "web.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one urlencoded component of |n| bytes into |out| (|size|, NUL
 * added); |out| NULL only checks. Control bytes and NUL are refused: no
 * field of ours needs them, and they would reach HTML and logs. */
static int urldecode(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return PX_ERR_WEB_BAD;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return PX_ERR_WEB_BAD;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return PX_ERR_WEB_BAD;
		if (out != NULL) {
			if (o + 1 >= size)
				return PX_ERR_TOO_LARGE;
			out[o] = (char)c;
		}
		o++;
	}
	if (out != NULL)
		out[o] = '\0';
	return 0;
}

int px_web_form_get(const char *body, size_t len, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name), i = 0;
	const char *val = NULL;
	size_t vlen = 0;

	if (size == 0)
		return PX_ERR_TOO_LARGE;
	while (i < len) {
		const char *f = body + i, *amp = memchr(f, '&', len - i), *eq;
		size_t flen = amp ? (size_t)(amp - f) : len - i;

		i += flen + 1;
		if (flen == 0)
			continue;
		eq = memchr(f, '=', flen);
		/* Our names are plain: compared as sent, not decoded. */
		if ((eq ? (size_t)(eq - f) : flen) != nlen || memcmp(f, name, nlen) != 0)
			continue;
		if (val != NULL)
			return PX_ERR_WEB_BAD; /* twice: which one the browser meant is unknown */
		val = eq ? eq + 1 : f + flen;
		vlen = eq ? flen - nlen - 1 : 0;
	}
	if (val == NULL)
		return PX_ERR_WEB_MISSING;
	return urldecode(val, vlen, out, size);
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

int px_web_cookie_get(const char *hdr, size_t len, const char *name, const char **val, size_t *vlen)
{
	size_t nlen = strlen(name), i = 0;
	const char *fv = NULL;
	size_t fl = 0;

	while (i < len) {
		const char *p = hdr + i, *semi = memchr(p, ';', len - i), *eq;
		size_t plen = semi ? (size_t)(semi - p) : len - i;

		i += plen + 1;
		while (plen > 0 && ows(*p)) {
			p++;
			plen--;
		}
		while (plen > 0 && ows(p[plen - 1]))
			plen--;
		eq = memchr(p, '=', plen);
		if (eq == NULL || (size_t)(eq - p) != nlen || memcmp(p, name, nlen) != 0)
			continue;
		if (fv != NULL)
			return PX_ERR_WEB_BAD;
		fv = eq + 1;
		fl = plen - nlen - 1;
		if (fl >= 2 && fv[0] == '"' && fv[fl - 1] == '"') {
			fv++;
			fl -= 2;
		}
	}
	if (fv == NULL)
		return PX_ERR_WEB_MISSING;
	*val = fv;
	*vlen = fl;
	return 0;
}

/* --- base64url ------------------------------------------------------------------ */

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void px_web_b64url(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
		out[o++] = b64u[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
	}
	out[o] = '\0';
}

static int b64u_val(char c)
{
	const char *p = c ? strchr(b64u, c) : NULL;
	return p ? (int)(p - b64u) : -1;
}

int px_web_token_decode(const char *s, size_t len, unsigned char key[PX_WEB_KEY_BYTES])
{
	unsigned char tmp[PX_WEB_KEY_BYTES];
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;

	_Static_assert(PX_WEB_TOKEN_LEN == (PX_WEB_KEY_BYTES * 4 + 2) / 3, "token length");
	if (s == NULL || len != PX_WEB_TOKEN_LEN)
		return PX_ERR_WEB_BAD;
	for (size_t i = 0; i < len; i++) {
		int v = b64u_val(s[i]);
		if (v < 0)
			return PX_ERR_WEB_BAD;
		acc = (acc << 6 | (unsigned)v) & 0xffffu;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < sizeof(tmp))
				tmp[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* The last character's spare bits must be zero: one text per key. */
	if (o != sizeof(tmp) || (acc & ((1u << bits) - 1)) != 0)
		return PX_ERR_WEB_BAD;
	memcpy(key, tmp, sizeof(tmp));
	return 0;
}

/* --- the page buffer --------------------------------------------------------------- */

void px_web_buf_init(struct px_web_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void px_web_buf_add(struct px_web_buf *b, const char *s, size_t n)
{
	if (b->failed || n == 0)
		return;
	if (n > b->max - b->len || b->len + n + 1 > b->max) {
		b->failed = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void px_web_buf_adds(struct px_web_buf *b, const char *s)
{
	px_web_buf_add(b, s, strlen(s));
}

void px_web_buf_htmln(struct px_web_buf *b, const char *s, size_t n)
{
	size_t start = 0;

	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep;
		char num[16];
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		default:
			if (c >= 0x20 && c != 0x7f)
				continue;
			snprintf(num, sizeof(num), "&#%u;", c ? c : 0xfffdu);
			rep = num;
			break;
		}
		px_web_buf_add(b, s + start, i - start);
		px_web_buf_adds(b, rep);
		start = i + 1;
	}
	px_web_buf_add(b, s + start, n - start);
}

void px_web_buf_html(struct px_web_buf *b, const char *s)
{
	if (s != NULL)
		px_web_buf_htmln(b, s, strlen(s));
}

void px_web_buf_free(struct px_web_buf *b)
{
	/* Pages hold CSRF tokens, link tokens and sometimes a sign-in URL. */
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}
