/* SPDX-License-Identifier: Apache-2.0 */
/* sv4_int.h: sigv4's private helpers: bounded buffers and canonicalisation. */
#ifndef AWSGATE_SV4_INT_H
#define AWSGATE_SV4_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

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

/* Byte classes: RFC 9110 tchar; RFC 3986 unreserved (A-Z a-z 0-9 - . _ ~);
 * visible ASCII 0x21-0x7e; a byte allowed in a field value (HTAB, SP,
 * visible ASCII, obs-text); a byte a query may not hold (CR, LF, NUL, '#'). */
#define SV4_C_TCHAR 1u
#define SV4_C_UNRESERVED 2u
#define SV4_C_VCHAR 4u
#define SV4_C_FIELD 8u
#define SV4_C_QUERY_BAD 16u
extern const unsigned char sv4_cclass[256];

static inline int sv4_is_unreserved(unsigned char c)
{
	return sv4_cclass[c] & SV4_C_UNRESERVED;
}

/* HTTP token character (RFC 9110 tchar). */
static inline int sv4_is_tchar(unsigned char c)
{
	return sv4_cclass[c] & SV4_C_TCHAR;
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

/* Lower-cases |n| bytes of ASCII from |src| to |dst|, eight at a time:
 * 0x20 is added to exactly the bytes in 'A'..'Z'. */
static inline void sv4_lower_copy(char *dst, const char *src, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w, upper;
		memcpy(&w, src + i, 8);
		/* high bit of each byte in 'A'..'Z' (valid for bytes below 0x80) */
		upper = ((w + (0x80 - 'A') * ones) ^ (w + (0x80 - 'Z' - 1) * ones)) & ~w & highs;
		w |= upper >> 2;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
}

/* Narrows |*p|, |*n| to drop blanks (space, tab) at both ends. */
static inline void sv4_trim_blanks(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* 1 when all |n| bytes at |p| are lower-case hex digits. */
static inline int sv4_is_lower_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
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

/* Derived signing keys kept per signer: a gate thread signs for a few
 * (secret, date, region, service) scopes at a time. */
#define SV4_KEY_SLOTS 8

/* Bounds of the working buffers; the input limits keep them far below. */
#define SV4_CANON_MAX (4u * 1024 * 1024)
#define SV4_SCRATCH_MAX (4u * 1024 * 1024)
#define SV4_OUT_MAX (1u * 1024 * 1024)

struct sv4_key_slot {
	int used;
	uint64_t stamp; /* last use, for eviction */
	char date[8];   /* YYYYMMDD */
	char region[SV4_MAX_SCOPE_PART + 1];
	char service[SV4_MAX_SCOPE_PART + 1];
	unsigned char secret[SV4_MAX_SECRET];
	size_t secretlen;
	EVP_MAC_CTX *mac; /* HMAC-SHA256 keyed with the signing key */
};

/* A header as it enters the canonical form: lower-cased name in scratch. */
struct sv4_hdr {
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
	unsigned order; /* position in the request: repeated names keep it */
	int verbatim;   /* the value is ours and needs no trimming */
};

struct sv4_signer {
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	EVP_MAC *hmac;
	EVP_MAC_CTX *derive; /* for deriving signing keys */
	struct sv4_key_slot slots[SV4_KEY_SLOTS];
	uint64_t clock;
	struct sv4_buf canon;
	struct sv4_buf sts;
	struct sv4_buf scratch;
	struct sv4_buf out;
	struct sv4_qparam qp[SV4_MAX_QUERY_PARAMS + 8];
	struct sv4_hdr hd[SV4_MAX_HEADERS + 4];
	char payload[65];
	int64_t day;  /* the day day8 spells, or -1 */
	char day8[8]; /* YYYYMMDD of |day| */
};

/* sign.c's pieces that verification shares. */
int sv4_name_is(const char *name, size_t len, const char *lit);
void sv4_hex_encode(char *dst, const unsigned char *src, size_t n);
/* 1 when |p| (|n| bytes) is a region or service: 1-64 of a-z 0-9 '-'. */
int sv4_scope_part_ok(const char *p, size_t n);
int sv4_check_payload(const char *h, size_t n);
int sv4_check_request(const struct sv4_request *r, size_t *hostidx, size_t *sha256idx);
void sv4_hdrs_sort(struct sv4_hdr *h, size_t n);
void sv4_put_scope(struct sv4_buf *b, const char *date, const struct sv4_sign_params *p);
size_t sv4_scope_len(const struct sv4_sign_params *p);
int sv4_signing_key(struct sv4_signer *s, const struct sv4_sign_params *p, const char *date,
                    struct sv4_key_slot **slot);
/* Splits the query into s->qp, at most |max| (<= SV4_MAX_QUERY_PARAMS + 6)
 * kept: drop 0 keeps every parameter, 1 drops the presign parameters, 2
 * drops X-Amz-Signature only. */
int sv4_collect_query(struct sv4_signer *s, const struct sv4_request *r, int drop, size_t max, size_t *np);
int sv4_emit_canonical(struct sv4_signer *s, const struct sv4_request *r, int s3, int normalize, size_t nh,
                       size_t nq, const char *signed_list, size_t signed_listlen, const char *payload,
                       size_t payloadlen);
int sv4_emit_signature(struct sv4_signer *s, const char *date, const struct sv4_sign_params *p, char sig[65]);

#endif
