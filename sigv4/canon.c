/* SPDX-License-Identifier: Apache-2.0 */
/* canon.c: SigV4 canonical URI and query: encoding, dot segments, sorting. */
#include <stdlib.h>
#include <string.h>

#include "sv4_int.h"

/* Byte classes (SV4_C_*), one lookup per byte on the hot paths. */
const unsigned char sv4_cclass[256] = {
	16, 0, 0, 0, 0, 0, 0, 0, 0, 8, 16, 0, 0, 16, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	8, 13, 12, 29, 13, 13, 13, 13, 12, 12, 13, 13, 12, 47, 47, 44,
	47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 12, 12, 12, 12, 12, 12,
	12, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47,
	47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 12, 12, 12, 13, 47,
	13, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47,
	47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 12, 13, 12, 47, 0,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
};

/* Encodes path bytes: unreserved bytes and '/' as they are, everything else
 * %XX; with |keep_escapes|, a valid %XX already there is kept as sent (S3:
 * the path is encoded once). */
static void put_path_bytes(struct sv4_buf *out, const char *p, size_t len, int keep_escapes)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)p;
	char *w = out->data + out->len;
	size_t i = 0;
	while (i < len) {
		/* Most paths are all plain bytes: eight checked and copied at
		 * once, then byte by byte up to the next byte to encode. */
		while (i + 8 <= len && (sv4_cclass[u[i]] & sv4_cclass[u[i + 1]] & sv4_cclass[u[i + 2]] &
		                        sv4_cclass[u[i + 3]] & sv4_cclass[u[i + 4]] & sv4_cclass[u[i + 5]] &
		                        sv4_cclass[u[i + 6]] & sv4_cclass[u[i + 7]] & SV4_C_PATH)) {
			memcpy(w, u + i, 8);
			w += 8;
			i += 8;
		}
		while (i < len && (sv4_cclass[u[i]] & SV4_C_PATH))
			*w++ = (char)u[i++];
		if (i == len)
			break;
		unsigned char c = u[i];
		if (keep_escapes && c == '%' && i + 2 < len && sv4_hexval(u[i + 1]) >= 0 && sv4_hexval(u[i + 2]) >= 0) {
			memcpy(w, u + i, 3);
			w += 3;
			i += 3;
		} else {
			w[0] = '%';
			w[1] = hex[c >> 4];
			w[2] = hex[c & 15];
			w += 3;
			i++;
		}
	}
	out->len = (size_t)(w - out->data);
}

/* 1 when |path| holds CR, LF, NUL, '?' or '#'. A word with no byte below
 * 0x0e, no '?' and no '#' needs no closer look. */
static int path_has_bad_byte(const char *path, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = sv4_load64(path + i);
		if (!(sv4_any_below(w, 0x0e) | sv4_any_eq(w, '?') | sv4_any_eq(w, '#')))
			continue;
		for (size_t j = i; j < i + 8; j++)
			if (path[j] == '\r' || path[j] == '\n' || path[j] == '\0' || path[j] == '?' || path[j] == '#')
				return 1;
	}
	for (; i < len; i++)
		if (path[i] == '\r' || path[i] == '\n' || path[i] == '\0' || path[i] == '?' || path[i] == '#')
			return 1;
	return 0;
}

int sv4_canon_path(struct sv4_buf *out, const char *path, size_t len, int s3, int normalize)
{
	int rv;

	if (len > SV4_MAX_PATH)
		return SV4_ERR_TOO_LARGE;
	if (path_has_bad_byte(path, len))
		return SV4_ERR_BAD_PATH;
	if (len == 0) {
		return sv4_buf_add(out, "/", 1);
	}
	if (path[0] != '/')
		return SV4_ERR_BAD_PATH;
	rv = sv4_buf_reserve(out, 3 * len + 1);
	if (rv != 0)
		return rv;
	if (s3 || !normalize) {
		put_path_bytes(out, path, len, s3);
		return 0;
	}

	/* Remove dot segments (RFC 3986 5.2.4) and empty segments, as AWS's
	 * services do. out->data[base] is the leading '/'; ".." cuts |out| back
	 * to the '/' before the last segment written. */
	size_t base = out->len;
	size_t i = 0;
	sv4_buf_putc(out, '/');
	while (i < len) {
		while (i < len && path[i] == '/')
			i++;
		size_t s = i;
		while (i < len && path[i] != '/')
			i++;
		size_t n = i - s;
		if (n == 0 || (n == 1 && path[s] == '.'))
			continue;
		if (n == 2 && path[s] == '.' && path[s + 1] == '.') {
			size_t k = out->len;
			while (k > base + 1 && out->data[k - 1] != '/')
				k--;
			out->len = k > base + 1 ? k - 1 : base + 1;
			continue;
		}
		if (out->len > base + 1)
			sv4_buf_putc(out, '/');
		put_path_bytes(out, path + s, n, 0);
	}
	/* A trailing '/' stays when a segment is left. */
	if (path[len - 1] == '/' && out->len > base + 1)
		sv4_buf_putc(out, '/');
	return 0;
}

int sv4_encode(struct sv4_buf *out, const char *src, size_t len)
{
	int rv = sv4_buf_reserve(out, 3 * len);
	if (rv != 0)
		return rv;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (sv4_is_unreserved(c))
			sv4_buf_putc(out, (char)c);
		else
			sv4_buf_put_pct(out, c);
	}
	return 0;
}

int sv4_reencode(struct sv4_buf *out, const char *src, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)src;
	if (len == 0)
		return 0; /* |out| may have no storage yet */
	char *w = out->data + out->len;
	size_t i = 0;
	while (i < len) {
		/* Unreserved bytes go as they are: eight checked and copied at
		 * once, then byte by byte up to the next byte to decode or encode. */
		while (i + 8 <= len && (sv4_cclass[u[i]] & sv4_cclass[u[i + 1]] & sv4_cclass[u[i + 2]] &
		                        sv4_cclass[u[i + 3]] & sv4_cclass[u[i + 4]] & sv4_cclass[u[i + 5]] &
		                        sv4_cclass[u[i + 6]] & sv4_cclass[u[i + 7]] & SV4_C_UNRESERVED)) {
			memcpy(w, u + i, 8);
			w += 8;
			i += 8;
		}
		while (i < len && sv4_is_unreserved(u[i]))
			*w++ = (char)u[i++];
		if (i == len)
			break;
		unsigned char c = u[i++];
		if (c == '%') {
			int hi, lo;
			if (i + 1 >= len || (hi = sv4_hexval(u[i])) < 0 || (lo = sv4_hexval(u[i + 1])) < 0) {
				out->len = (size_t)(w - out->data);
				return SV4_ERR_BAD_QUERY;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (sv4_is_unreserved(c)) {
			*w++ = (char)c;
		} else {
			w[0] = '%';
			w[1] = hex[c >> 4];
			w[2] = hex[c & 15];
			w += 3;
		}
	}
	out->len = (size_t)(w - out->data);
	return 0;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int qparam_cmp(const struct sv4_qparam *a, const struct sv4_qparam *b)
{
	int c = bytes_cmp(a->name, a->namelen, b->name, b->namelen);
	return c != 0 ? c : bytes_cmp(a->value, a->valuelen, b->value, b->valuelen);
}

static int qparam_qsort_cmp(const void *a, const void *b)
{
	return qparam_cmp(a, b);
}

void sv4_qparams_sort(struct sv4_qparam *p, size_t n)
{
	/* Most requests have a handful of parameters: insertion sort wins. */
	if (n > 24) {
		qsort(p, n, sizeof(*p), qparam_qsort_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct sv4_qparam t = p[i];
		size_t j = i;
		while (j > 0 && qparam_cmp(&p[j - 1], &t) > 0) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = t;
	}
}
