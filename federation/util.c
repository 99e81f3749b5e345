/* SPDX-License-Identifier: Apache-2.0 */
/* util.c: federation's bounded string builder and small string helpers. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "federation/federation_int.h"

void fed_buf_init(struct fed_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void fed_buf_init_fixed(struct fed_buf *b, char *dst, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->p = dst;
	b->cap = size;
	b->max = size > 0 ? size - 1 : 0;
	b->fixed = true;
	if (size == 0)
		b->err = FED_ERR_TOO_LARGE;
	else
		dst[0] = '\0';
}

static bool buf_room(struct fed_buf *b, size_t n)
{
	if (b->err != 0)
		return false;
	if (n > b->max - b->len) {
		b->err = FED_ERR_TOO_LARGE;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	if (b->fixed) {
		b->err = FED_ERR_TOO_LARGE;
		return false;
	}
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	/* Grown by copy, so that a secret is never left behind in freed memory. */
	char *np = malloc(cap);
	if (np == NULL) {
		b->err = FED_ERR_NOMEM;
		return false;
	}
	if (b->p != NULL) {
		memcpy(np, b->p, b->len + 1);
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = cap;
	return true;
}

void fed_buf_add(struct fed_buf *b, const void *p, size_t n)
{
	if (!buf_room(b, n))
		return;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void fed_buf_adds(struct fed_buf *b, const char *s)
{
	fed_buf_add(b, s, strlen(s));
}

void fed_buf_addc(struct fed_buf *b, char c)
{
	fed_buf_add(b, &c, 1);
}

void fed_buf_add_urlenc(struct fed_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~') {
			fed_buf_addc(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			fed_buf_add(b, e, 3);
		}
	}
}

void fed_buf_add_u64(struct fed_buf *b, unsigned long long v)
{
	char d[24];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	fed_buf_add(b, d + i, sizeof(d) - i);
}

void fed_buf_free(struct fed_buf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	if (!b->fixed)
		free(b->p);
	memset(b, 0, sizeof(*b));
}

bool fed_str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

void fed_secret_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static int digits(const char *s, size_t n, int *v)
{
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		r = r * 10 + (s[i] - '0');
	}
	*v = r;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil algorithm, re-derived here). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int fed_iso8601_parse(const char *s, size_t len, int64_t *t)
{
	int y, mo, d, h, mi, se;
	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return FED_ERR_PARSE;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
		return FED_ERR_PARSE;
	size_t i = 19;
	if (s[i] == '.') {
		size_t f = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			return FED_ERR_PARSE;
	}
	bool z = (len - i == 1 && (s[i] == 'Z' || s[i] == 'z')) || (len - i == 6 && memcmp(s + i, "+00:00", 6) == 0);
	if (!z)
		return FED_ERR_PARSE;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
	    mi > 59 || se > 60)
		return FED_ERR_PARSE;
	if (se == 60)
		se = 59; /* a leap second: the second before is close enough for an expiry */
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}
