/* SPDX-License-Identifier: Apache-2.0 */
/* sv4_int.h: sigv4's private helpers: bounded buffers and canonicalisation. */
#ifndef AWSGATE_SV4_INT_H
#define AWSGATE_SV4_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sigv4.h"

/* A growable byte buffer with a hard maximum (curl's dynbuf "toobig"). */
struct sv4_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void sv4_buf_init(struct sv4_buf *b, size_t max);
/* Wipes (the buffer may have held secrets) and frees. */
void sv4_buf_free(struct sv4_buf *b);
/* Makes room for |more| bytes past len. Returns 0, SV4_ERR_TOO_LARGE or SV4_ERR_NOMEM. */
int sv4_buf_reserve(struct sv4_buf *b, size_t more);
int sv4_buf_add(struct sv4_buf *b, const void *p, size_t n);

/* Appends without checking: the caller reserved the room. */
static inline void sv4_buf_put(struct sv4_buf *b, const void *p, size_t n)
{
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void sv4_buf_putc(struct sv4_buf *b, char c)
{
	b->data[b->len++] = c;
}

/* RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~ */
static inline int sv4_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static inline int sv4_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline unsigned char sv4_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Appends %XX (upper-case hex) for |c|; room for 3 bytes reserved. */
static inline void sv4_buf_put_pct(struct sv4_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	b->data[b->len] = '%';
	b->data[b->len + 1] = hex[c >> 4];
	b->data[b->len + 2] = hex[c & 15];
	b->len += 3;
}

/* HTTP token character (RFC 9110 tchar). */
int sv4_is_tchar(unsigned char c);

/* Appends the canonical URI of |path| to |out|: S3 rules when |s3| (as sent,
 * each byte outside unreserved, '/' and valid %XX escapes encoded), else
 * dot segments and empty segments removed when |normalize|, then every byte
 * outside unreserved and '/' percent-encoded. Returns 0, SV4_ERR_BAD_PATH,
 * SV4_ERR_TOO_LARGE or SV4_ERR_NOMEM. */
int sv4_canon_path(struct sv4_buf *out, const char *path, size_t len, int s3, int normalize);

/* One query parameter, RFC 3986-encoded, in a scratch buffer. */
struct sv4_qparam {
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
	const char *raw; /* the piece as sent, for the outgoing query */
	size_t rawlen;
};

/* Percent-decodes |src| and re-encodes it (RFC 3986: all but unreserved) onto
 * |out|, which has 3 * len bytes of room. Returns 0 or SV4_ERR_BAD_QUERY for
 * a '%' not followed by two hex digits. */
int sv4_reencode(struct sv4_buf *out, const char *src, size_t len);

/* Appends |src| RFC 3986-encoded (all but unreserved) to |out|. */
int sv4_encode(struct sv4_buf *out, const char *src, size_t len);

/* Sorts |n| parameters by encoded name, then encoded value. */
void sv4_qparams_sort(struct sv4_qparam *p, size_t n);

#endif
