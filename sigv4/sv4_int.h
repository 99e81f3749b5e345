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
/* sv4_buf_reserve() when the buffer must grow. */
int sv4_buf_grow(struct sv4_buf *b, size_t more);

/* Makes room for |more| bytes past len. Returns 0, SV4_ERR_TOO_LARGE or
 * SV4_ERR_NOMEM. Inline: after warm-up the room is nearly always there. */
static inline int sv4_buf_reserve(struct sv4_buf *b, size_t more)
{
	if (more <= b->max && b->len <= b->max - more && b->len + more <= b->cap)
		return 0;
	return sv4_buf_grow(b, more);
}

int sv4_buf_add(struct sv4_buf *b, const void *p, size_t n);

/* memcpy() for the short pieces canonical requests are made of: up to 16
 * bytes take two (possibly overlapping) loads and stores, not a call. */
static inline void sv4_copy(char *dst, const void *src, size_t n)
{
	const char *s = src;
	if (n > 16) {
		memcpy(dst, s, n);
	} else if (n >= 8) {
		uint64_t a, z;
		memcpy(&a, s, 8);
		memcpy(&z, s + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &z, 8);
	} else if (n >= 4) {
		uint32_t a, z;
		memcpy(&a, s, 4);
		memcpy(&z, s + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &z, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = s[i];
	}
}

/* Writes |n| bytes at |w| and returns the end. Building with a local
 * pointer, not b->len, keeps the length in a register: a store through a
 * char pointer may alias b->len, so the compiler reloads it after each. */
static inline char *sv4_put(char *w, const void *p, size_t n)
{
	sv4_copy(w, p, n);
	return w + n;
}

/* Appends without checking: the caller reserved the room. */
static inline void sv4_buf_put(struct sv4_buf *b, const void *p, size_t n)
{
	if (n > 0) /* an empty buffer may have no storage: no NULL + 0 */
		sv4_copy(b->data + b->len, p, n);
	b->len += n;
}

static inline void sv4_buf_putc(struct sv4_buf *b, char c)
{
	b->data[b->len++] = c;
}

/* Byte classes: RFC 9110 tchar; RFC 3986 unreserved (A-Z a-z 0-9 - . _ ~);
 * visible ASCII 0x21-0x7e; a byte allowed in a field value (HTAB, SP,
 * visible ASCII, obs-text); a byte a query may not hold (CR, LF, NUL, '#');
 * a byte a canonical path keeps as it is (unreserved and '/'). */
#define SV4_C_TCHAR 1u
#define SV4_C_UNRESERVED 2u
#define SV4_C_VCHAR 4u
#define SV4_C_FIELD 8u
#define SV4_C_QUERY_BAD 16u
#define SV4_C_PATH 32u
extern const unsigned char sv4_cclass[256];

/* Eight bytes at a time (SWAR). The signer's inputs are short strings, so
 * a word per step, not a call per byte, is what keeps it near its crypto. */
#define SV4_ONES UINT64_C(0x0101010101010101)
#define SV4_HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t sv4_load64(const void *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

/* Non-zero when some byte of |w| is below |n| (n <= 128). Only the answer
 * "some byte" is exact: a byte next to a hit may be marked too. */
static inline uint64_t sv4_any_below(uint64_t w, unsigned n)
{
	return (w - n * SV4_ONES) & ~w & SV4_HIGHS;
}

/* Non-zero when some byte of |w| is |c|; as inexact per byte as above. */
static inline uint64_t sv4_any_eq(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (c * SV4_ONES);
	return (x - SV4_ONES) & ~x & SV4_HIGHS;
}

/* The high bit of exactly the bytes of |w| that are |c|. */
static inline uint64_t sv4_bytes_eq(uint64_t w, unsigned char c)
{
	const uint64_t lows = ~SV4_HIGHS;
	uint64_t x = w ^ (c * SV4_ONES);
	return ~(((x & lows) + lows) | x) & SV4_HIGHS;
}

/* The high bit of exactly the bytes of |w| in |lo|..|hi| (both below 0x80):
 * no sum carries out of its byte, and bytes from 0x80 up are masked. */
static inline uint64_t sv4_bytes_in(uint64_t w, unsigned char lo, unsigned char hi)
{
	return ((w + (0x80u - lo) * SV4_ONES) ^ (w + (0x7fu - hi) * SV4_ONES)) & ~w & SV4_HIGHS;
}

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

/* "YYYYMMDD/region/service/aws4_request" at its longest. */
#define SV4_SCOPE_MAX (8 + 1 + SV4_MAX_SCOPE_PART + 1 + SV4_MAX_SCOPE_PART + 13)

/* What a signing key is derived from, with the lengths the caller knows. */
struct sv4_scope {
	const char *secret;
	size_t secretlen;
	const char *region;
	size_t regionlen;
	const char *service;
	size_t servicelen;
};

/* A SHA-256 state (sha256.c): OpenSSL's low-level SHA256_CTX kept inline
 * when configure found that API (copied by assignment) and the process
 * does not ask for FIPS, else an EVP context. Each function returns 0 or SV4_ERR_CRYPTO (new: SV4_ERR_NOMEM). */
struct sv4_sha256 {
	union {
		_Alignas(16) unsigned char state[128]; /* a SHA256_CTX: 112 bytes */
		EVP_MD_CTX *evp;
	} u;
	int lowlevel; /* u.state, not u.evp; copies of a state keep its kind */
};

/* 1 when states should be low-level ones: compiled in and FIPS not asked for. */
int sv4_sha256_lowlevel(void);
/* Makes |h| a low-level state when |lowlevel|, else an EVP one. */
int sv4_sha256_new(struct sv4_sha256 *h, int lowlevel);
void sv4_sha256_del(struct sv4_sha256 *h);
int sv4_sha256_init(struct sv4_sha256 *h);
int sv4_sha256_update(struct sv4_sha256 *h, const void *data, size_t len);
int sv4_sha256_final(struct sv4_sha256 *h, unsigned char md[32]);
int sv4_sha256_copy(struct sv4_sha256 *dst, const struct sv4_sha256 *src);

struct sv4_key_slot {
	int used;
	uint64_t stamp; /* last use, for eviction */
	char date[8];   /* YYYYMMDD */
	char region[SV4_MAX_SCOPE_PART + 1];
	size_t regionlen;
	char service[SV4_MAX_SCOPE_PART + 1];
	size_t servicelen;
	unsigned char secret[SV4_MAX_SECRET];
	size_t secretlen;
	char scope[SV4_SCOPE_MAX]; /* written once here, copied into every signature */
	size_t scopelen;
	EVP_MAC_CTX *mac; /* HMAC-SHA256 keyed with the signing key (for chains) */
	/* The same HMAC as two SHA-256 states with the key's inner and outer
	 * pad already hashed: copying a state costs less than EVP_MAC_init()
	 * re-keying, which copies two. */
	struct sv4_sha256 inner;
	struct sv4_sha256 outer;
};

/* A header as it enters the canonical form: lower-cased name in scratch.
 * 32 bytes, as sorting moves them: every length is bounded by a header
 * value, a query or a session token, all below 64 KiB. */
struct sv4_hdr {
	const char *name;
	const char *value;
	uint64_t key;      /* sv4_name_key() of the name: most comparisons end here */
	uint16_t namelen;
	uint16_t valuelen;
	uint16_t order;   /* position in the request: repeated names keep it */
	uint8_t verbatim; /* the value is already trimmed (ours, or checked so) */
};
_Static_assert(SV4_MAX_HEADER_VALUE <= UINT16_MAX && SV4_MAX_QUERY <= UINT16_MAX &&
                   SV4_MAX_SESSION_TOKEN <= UINT16_MAX && SV4_MAX_HEADERS <= UINT16_MAX,
               "struct sv4_hdr keeps lengths in 16 bits");

/* A struct sv4_hdr; the caller has checked that the lengths fit. */
static inline struct sv4_hdr sv4_hdr_make(const char *name, size_t namelen, const char *value, size_t valuelen,
                                          uint64_t key, size_t order, int verbatim)
{
	struct sv4_hdr h = {name, value, key, (uint16_t)namelen, (uint16_t)valuelen, (uint16_t)order,
	                    (uint8_t)(verbatim != 0)};
	return h;
}

/* The first eight bytes of |p| (fewer when |n| is smaller, zero-padded) as
 * a big-endian number: comparing two keys compares the names' prefixes as
 * memcmp() and the shorter-first rule would. */
static inline uint64_t sv4_name_key(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	if (n >= 8) /* spelled out, compilers make it one big-endian load */
		return (uint64_t)u[0] << 56 | (uint64_t)u[1] << 48 | (uint64_t)u[2] << 40 | (uint64_t)u[3] << 32 |
		       (uint64_t)u[4] << 24 | (uint64_t)u[5] << 16 | (uint64_t)u[6] << 8 | (uint64_t)u[7];
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k |= (uint64_t)u[i] << (56 - 8 * i);
	return k;
}

struct sv4_signer {
	struct sv4_sha256 md; /* the canonical request's and the body's hash, and the HMAC */
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
	int64_t sec;  /* the second date17 spells, or -1: a busy gate signs many a second */
	char date17[17];
};

/* sign.c's pieces that verification shares. */
int sv4_name_is(const char *name, size_t len, const char *lit);
void sv4_hex_encode(char *dst, const unsigned char *src, size_t n);
/* sv4_sha256_hex() on |s|'s hash state (s->md, which the next signature
 * initialises again): no EVP context per call. */
int sv4_signer_sha256_hex(struct sv4_signer *s, const void *data, size_t len, char hex[65]);
/* 1 when |p| (|n| bytes) is a region or service: 1-64 of a-z 0-9 '-'. */
int sv4_scope_part_ok(const char *p, size_t n);
int sv4_check_payload(const char *h, size_t n);
int sv4_check_request(const struct sv4_request *r, size_t *hostidx, size_t *sha256idx);
/* Sorts by name, then by order; every key must be set. */
void sv4_hdrs_sort(struct sv4_hdr *h, size_t n);
void sv4_put_scope(struct sv4_buf *b, const char *date, const struct sv4_sign_params *p);
size_t sv4_scope_len(const struct sv4_sign_params *p);
/* Fills |sc| from NUL-terminated strings. */
void sv4_scope_init(struct sv4_scope *sc, const char *secret, const char *region, const char *service);
int sv4_signing_key(struct sv4_signer *s, const struct sv4_scope *sc, const char *date, struct sv4_key_slot **slot);
/* Splits the query into s->qp, at most |max| (<= SV4_MAX_QUERY_PARAMS + 6)
 * kept: drop 0 keeps every parameter, 1 drops the presign parameters, 2
 * drops X-Amz-Signature only. */
int sv4_collect_query(struct sv4_signer *s, const struct sv4_request *r, int drop, size_t max, size_t *np);
int sv4_emit_canonical(struct sv4_signer *s, const struct sv4_request *r, int s3, int normalize, size_t nh,
                       size_t nq, const char *signed_list, size_t signed_listlen, const char *payload,
                       size_t payloadlen);
/* Writes the string to sign of s->canon to s->sts and its signature to
 * |sig|; |*slot| (when |slot| is not NULL) is the key's cache slot, valid
 * until the next call on |s|. */
int sv4_emit_signature(struct sv4_signer *s, const char *date, const struct sv4_scope *sc, char sig[65],
                       struct sv4_key_slot **slot);

#endif
