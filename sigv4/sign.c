/* SPDX-License-Identifier: Apache-2.0 */
/* sign.c: SigV4 canonical request, string to sign, key cache, header and query signing. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sv4_int.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

#define KW(s) {s, sizeof(s) - 1}
static const struct {
	const char *name;
	size_t len;
} payload_keywords[] = {
	KW("UNSIGNED-PAYLOAD"),
	KW("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
	KW("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
	KW("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
	KW("STREAMING-AWS4-HMAC-SHA256-EVENTS"),
};
#undef KW

/* The X-Amz-* query parameters that carry a presigned signature. */
static const char *const query_auth_params[] = {
	"X-Amz-Algorithm", "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* Exact names only: AWS's query parameter names are case-sensitive. */
static int is_query_auth_param(const char *name, size_t len)
{
	for (size_t i = 0; i < COUNTOF(query_auth_params); i++)
		if (strlen(query_auth_params[i]) == len && memcmp(query_auth_params[i], name, len) == 0)
			return 1;
	return 0;
}

#ifdef __SSE2__
/* 8 to 16 bytes at |p| in one vector: the first eight, then the last eight
 * (overlapping when |n| < 16), so it holds only bytes of |p|, and any two
 * neighbours of |p| are neighbours within one half. */
static inline __m128i load_8to16(const char *p, size_t n)
{
	return _mm_set_epi64x((long long)sv4_load64(p + n - 8), (long long)sv4_load64(p));
}

static inline __m128i in_range(__m128i x, char lo, char hi)
{
	/* signed compares: bytes from 0x80 up are negative, never in range */
	return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))),
	                     _mm_cmpgt_epi8(_mm_set1_epi8((char)(hi + 1)), x));
}

/* Lower-cases |x| into |*lw|; returns the mask of bytes that are letters,
 * digits or '-' (all 16 set: every byte a tchar, the common case). */
static inline unsigned lower_block(__m128i x, __m128i *lw)
{
	__m128i l = _mm_or_si128(x, _mm_and_si128(in_range(x, 'A', 'Z'), _mm_set1_epi8(0x20)));
	*lw = l;
	return (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(_mm_or_si128(in_range(l, 'a', 'z'), in_range(l, '0', '9')), _mm_cmpeq_epi8(l, _mm_set1_epi8('-'))));
}

/* The mask of bytes of |x| that are control bytes (below 0x20) or DEL. */
static inline unsigned ctl_mask(__m128i x)
{
	__m128i c1f = _mm_set1_epi8(0x1f);
	return (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x), _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))));
}
#endif

int sv4_name_is(const char *name, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (sv4_lower((unsigned char)name[i]) != (unsigned char)lit[i])
			return 0;
	return 1;
}

const char *sv4_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case SV4_ERR_NOMEM:
		return "out of memory";
	case SV4_ERR_TOO_LARGE:
		return "input over a size limit";
	case SV4_ERR_BAD_METHOD:
		return "method is empty or not an HTTP token";
	case SV4_ERR_BAD_PATH:
		return "path must start with '/' and may not hold CR, LF, NUL, '?' or '#'";
	case SV4_ERR_BAD_QUERY:
		return "query holds CR, LF, NUL, '#' or a '%' not followed by two hex digits";
	case SV4_ERR_BAD_HEADER:
		return "header name is not an HTTP token, a value holds a control character, or "
		       "x-amz-content-sha256 appears twice";
	case SV4_ERR_NO_HOST:
		return "request needs exactly one Host header";
	case SV4_ERR_BAD_CREDENTIALS:
		return "access key, secret key or session token is empty or malformed";
	case SV4_ERR_BAD_SCOPE:
		return "region and service must be 1-64 characters of a-z, 0-9 and '-'";
	case SV4_ERR_BAD_TIME:
		return "signing time must lie in the years 1970 to 9999";
	case SV4_ERR_BAD_EXPIRES:
		return "presign expiry must be 1 second to 7 days";
	case SV4_ERR_BAD_PAYLOAD:
		return "payload hash must be 64 lower-case hex digits or a keyword such as UNSIGNED-PAYLOAD";
	case SV4_ERR_NO_PAYLOAD:
		return "no payload hash to sign";
	case SV4_ERR_CRYPTO:
		return "OpenSSL failed";
	case SV4_ERR_BAD_REQUEST:
		return "malformed request";
	case SV4_ERR_CHUNK_MALFORMED:
		return "aws-chunked body is malformed";
	case SV4_ERR_CHUNK_TOO_LARGE:
		return "aws-chunked chunk or trailers over the configured maximum";
	case SV4_ERR_CHUNK_SIGNATURE:
		return "aws-chunked chunk signature does not match";
	case SV4_ERR_TRAILER_SIGNATURE:
		return "aws-chunked trailer signature does not match";
	case SV4_ERR_CHUNK_TRUNCATED:
		return "aws-chunked body ends before its final chunk";
	default:
		return "unknown error";
	}
}

int sv4_service_is_s3(const char *service)
{
	if (service[0] != 's' || service[1] != '3')
		return 0;
	return strcmp(service, "s3") == 0 || strcmp(service, "s3-object-lambda") == 0 ||
	       strcmp(service, "s3-outposts") == 0 || strcmp(service, "s3express") == 0;
}

void sv4_hex_encode(char *dst, const unsigned char *src, size_t n)
{
	static const char pairs[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	                            "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	                            "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	                            "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	                            "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	                            "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	                            "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	                            "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	size_t i = 0;
#ifdef __SSE2__
	/* Every signature encodes two or three digests: sixteen bytes a step
	 * instead of a table lookup per byte. */
	const __m128i lows = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
	              gap = _mm_set1_epi8('a' - '0' - 10);
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
		__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), lows), lo = _mm_and_si128(v, lows);
		__m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
		a = _mm_add_epi8(_mm_add_epi8(a, zero), _mm_and_si128(_mm_cmpgt_epi8(a, nine), gap));
		b = _mm_add_epi8(_mm_add_epi8(b, zero), _mm_and_si128(_mm_cmpgt_epi8(b, nine), gap));
		_mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), a);
		_mm_storeu_si128((__m128i *)(void *)(dst + 2 * i + 16), b);
	}
#endif
	for (; i < n; i++)
		memcpy(dst + 2 * i, pairs + 2 * src[i], 2);
	dst[2 * n] = '\0';
}

int sv4_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return SV4_ERR_CRYPTO;
	sv4_hex_encode(hex, md, 32);
	return 0;
}

int sv4_signer_sha256_hex(struct sv4_signer *s, const void *data, size_t len, char hex[65])
{
	unsigned char md[32];

	/* The signer's own state: the low-level functions when they are in
	 * use, without EVP_Digest()'s provider fetch and context per call. */
	if (sv4_sha256_init(&s->md) != 0 || sv4_sha256_update(&s->md, data, len) != 0 ||
	    sv4_sha256_final(&s->md, md) != 0)
		return SV4_ERR_CRYPTO;
	sv4_hex_encode(hex, md, 32);
	return 0;
}

struct sv4_signer *sv4_signer_new(void)
{
	struct sv4_signer *s = OPENSSL_zalloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	int lowlevel = sv4_sha256_lowlevel();
	s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (sv4_sha256_new(&s->md, lowlevel) != 0 || s->hmac == NULL)
		goto fail;
	s->derive = EVP_MAC_CTX_new(s->hmac);
	if (s->derive == NULL)
		goto fail;
	for (size_t i = 0; i < SV4_KEY_SLOTS; i++) {
		s->slots[i].mac = EVP_MAC_CTX_new(s->hmac);
		if (s->slots[i].mac == NULL || sv4_sha256_new(&s->slots[i].inner, lowlevel) != 0 ||
		    sv4_sha256_new(&s->slots[i].outer, lowlevel) != 0)
			goto fail;
	}
	s->day = -1;
	s->sec = -1;
	sv4_buf_init(&s->canon, SV4_CANON_MAX);
	sv4_buf_init(&s->sts, 1024);
	sv4_buf_init(&s->scratch, SV4_SCRATCH_MAX);
	sv4_buf_init(&s->out, SV4_OUT_MAX);
	return s;
fail:
	sv4_signer_del(s);
	return NULL;
}

void sv4_signer_del(struct sv4_signer *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < SV4_KEY_SLOTS; i++) {
		EVP_MAC_CTX_free(s->slots[i].mac);
		sv4_sha256_del(&s->slots[i].inner);
		sv4_sha256_del(&s->slots[i].outer);
	}
	EVP_MAC_CTX_free(s->derive);
	EVP_MAC_free(s->hmac);
	sv4_sha256_del(&s->md);
	sv4_buf_free(&s->canon);
	sv4_buf_free(&s->sts);
	sv4_buf_free(&s->scratch);
	sv4_buf_free(&s->out);
	OPENSSL_clear_free(s, sizeof(*s));
}

/* ------------------------------------------------------------------------
 * Validation */

int sv4_scope_part_ok(const char *p, size_t n)
{
	if (n == 0 || n > SV4_MAX_SCOPE_PART)
		return 0;
#ifdef __SSE2__
	if (n >= 8 && n <= 16) { /* most regions: no upper case, all in the set */
		__m128i x = load_8to16(p, n), lw;
		return lower_block(x, &lw) == 0xffff && _mm_movemask_epi8(_mm_cmpeq_epi8(x, lw)) == 0xffff;
	}
#endif
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

/* Printable ASCII without space (0x21-0x7e); writes the length. Session
 * tokens run to kilobytes: eight bytes at a time, a word with no byte below
 * 0x21 and none above 0x7e passes at once. */
static int check_printable(const char *s, size_t max, size_t *len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t n = strlen(s), i = 0;
	if (n == 0)
		return SV4_ERR_BAD_CREDENTIALS;
	if (n > max)
		return SV4_ERR_TOO_LARGE;
	if (n >= 8) {
		/* the last word overlaps the one before */
		for (;;) {
			uint64_t w = sv4_load64(s + i);
			if ((((w - 0x21 * ones) & ~w) | ((w + ones) | w)) & highs)
				return SV4_ERR_BAD_CREDENTIALS;
			if (i + 8 == n)
				break;
			i = i + 16 <= n ? i + 8 : n - 8;
		}
	} else {
		for (; i < n; i++)
			if (!(sv4_cclass[(unsigned char)s[i]] & SV4_C_VCHAR))
				return SV4_ERR_BAD_CREDENTIALS;
	}
	*len = n;
	return 0;
}

/* The lengths sv4_sign() needs more than once. */
struct lens {
	size_t ak, secret, token, region, service;
};

static int check_params(const struct sv4_sign_params *p, struct lens *l)
{
	int rv;
	if (p->creds == NULL || p->creds->access_key == NULL || p->creds->secret_key == NULL)
		return SV4_ERR_BAD_CREDENTIALS;
	if ((rv = check_printable(p->creds->access_key, SV4_MAX_ACCESS_KEY, &l->ak)) != 0)
		return rv;
	/* The access key becomes part of the scope: no '/' or ','. Eight
	 * bytes at a time, the last word overlapping the one before. */
	const char *ak = p->creds->access_key;
	if (l->ak >= 8) {
		for (size_t i = 0;;) {
			uint64_t w = sv4_load64(ak + i);
			if (sv4_any_eq(w, '/') | sv4_any_eq(w, ',') | sv4_any_eq(w, '='))
				return SV4_ERR_BAD_CREDENTIALS;
			if (i + 8 == l->ak)
				break;
			i = i + 16 <= l->ak ? i + 8 : l->ak - 8;
		}
	} else {
		for (size_t i = 0; i < l->ak; i++)
			if (ak[i] == '/' || ak[i] == ',' || ak[i] == '=')
				return SV4_ERR_BAD_CREDENTIALS;
	}
	if ((rv = check_printable(p->creds->secret_key, SV4_MAX_SECRET, &l->secret)) != 0)
		return rv;
	l->token = 0;
	if (p->creds->session_token != NULL &&
	    (rv = check_printable(p->creds->session_token, SV4_MAX_SESSION_TOKEN, &l->token)) != 0)
		return rv;
	if (p->region == NULL || p->service == NULL)
		return SV4_ERR_BAD_SCOPE;
	l->region = strlen(p->region);
	l->service = strlen(p->service);
	if (!sv4_scope_part_ok(p->region, l->region) || !sv4_scope_part_ok(p->service, l->service))
		return SV4_ERR_BAD_SCOPE;
	if (p->mode == SV4_MODE_QUERY && (p->expires < 1 || p->expires > SV4_MAX_EXPIRES))
		return SV4_ERR_BAD_EXPIRES;
	if (p->mode != SV4_MODE_QUERY && p->mode != SV4_MODE_HEADER)
		return SV4_ERR_BAD_REQUEST;
	return 0;
}

int sv4_check_payload(const char *h, size_t n)
{
	if (n == 64)
		return sv4_is_lower_hex(h, 64) ? 0 : SV4_ERR_BAD_PAYLOAD;
	if (n < 16 || h[0] != (n == 16 ? 'U' : 'S'))
		return SV4_ERR_BAD_PAYLOAD;
	for (size_t i = 0; i < COUNTOF(payload_keywords); i++)
		if (payload_keywords[i].len == n && memcmp(payload_keywords[i].name, h, n) == 0)
			return 0;
	return SV4_ERR_BAD_PAYLOAD;
}

/* RFC 9110 field values: no control bytes but HTAB. Returns 1 when |v|
 * holds none, else 0. Sixteen (or eight) bytes at a time: a block with no
 * byte below 0x20 and none equal to 0x7f is valid at once (a tab sends the
 * rest to the byte loop); the last block overlaps the one before. */
static int value_ok(const char *v, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	if (n >= 8 && n < 16 && !ctl_mask(load_8to16(v, n)))
		return 1;
	if (n >= 16) {
		for (;;) {
			if (ctl_mask(_mm_loadu_si128((const __m128i *)(const void *)(v + i))))
				break;
			if (i + 16 == n)
				return 1;
			i = i + 32 <= n ? i + 16 : n - 16;
		}
	}
#endif
	for (; i + 8 <= n; i += 8) {
		uint64_t w = sv4_load64(v + i);
		if (sv4_any_below(w, 0x20) | sv4_any_eq(w, 0x7f))
			break;
	}
	unsigned char cls = SV4_C_FIELD;
	for (; i < n; i++)
		cls &= sv4_cclass[(unsigned char)v[i]];
	return cls != 0;
}

/* value_ok() for a value to sign: returns 0 when it is not valid, 2 when
 * it is already as the canonical form writes it (no blank at either end,
 * no tab, no two spaces in a row: most values), 1 when it needs trimming. */
static int check_value(const char *v, size_t n)
{
	if (n < 8) {
		unsigned char cls = SV4_C_FIELD;
		int plain = n == 0 || (v[0] != ' ' && v[n - 1] != ' ');
		for (size_t i = 0; i < n; i++) {
			cls &= sv4_cclass[(unsigned char)v[i]];
			if (v[i] == '\t' || (v[i] == ' ' && i > 0 && v[i - 1] == ' '))
				plain = 0;
		}
		return cls == 0 ? 0 : plain ? 2 : 1;
	}
	int ends = v[0] != ' ' && v[n - 1] != ' ';
	size_t i = 0;
#ifdef __SSE2__
	const __m128i spc = _mm_set1_epi8(' ');
	if (n < 16) {
		__m128i x = load_8to16(v, n);
		if (ctl_mask(x))
			return value_ok(v, n) ? 1 : 0;
		/* a pair across the halves' boundary (bits 7 and 8) is no pair */
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, spc));
		return (m & (m << 1) & ~0x100u) == 0 && ends ? 2 : 1;
	}
	{
		unsigned pairs = 0, carry = 0;
		for (;;) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v + i));
			if (ctl_mask(x))
				return value_ok(v, n) ? 1 : 0;
			/* bit j: byte j is a space; a pair is a bit with the one
			 * below it (or the last of the block before) set */
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, spc));
			pairs |= m & ((m << 1) | carry);
			if (i + 16 == n)
				break;
			/* The last block overlaps the one before, so a pair across
			 * that boundary lies inside it. */
			size_t next = i + 32 <= n ? i + 16 : n - 16;
			carry = next == i + 16 ? m >> 15 : 0;
			i = next;
		}
		return pairs == 0 && ends ? 2 : 1;
	}
#endif
	uint64_t pairs = 0;
	for (;;) {
		uint64_t w = sv4_load64(v + i);
		if (sv4_any_below(w, 0x20) | sv4_any_eq(w, 0x7f))
			return value_ok(v, n) ? 1 : 0;
		uint64_t sp = sv4_bytes_eq(w, ' ');
		pairs |= sp & (sp << 8);
		if (i + 8 == n)
			break;
		size_t next = i + 16 <= n ? i + 8 : n - 8;
		if (next == i + 8)
			pairs |= (uint64_t)(v[i + 7] == ' ' && v[i + 8] == ' ');
		i = next;
	}
	return pairs == 0 && ends ? 2 : 1;
}

/* The request line: method, path and query sizes, query bytes, the
 * number of headers; the checks sv4_check_request() makes first. */
static int check_request_line(const struct sv4_request *r)
{
	if (r->methodlen == 0)
		return SV4_ERR_BAD_METHOD;
	if (r->methodlen > SV4_MAX_METHOD)
		return SV4_ERR_TOO_LARGE;
	unsigned char mcls = SV4_C_TCHAR;
	for (size_t i = 0; i < r->methodlen; i++)
		mcls &= sv4_cclass[(unsigned char)r->method[i]];
	if (!mcls)
		return SV4_ERR_BAD_METHOD;
	if (r->pathlen > SV4_MAX_PATH || r->querylen > SV4_MAX_QUERY)
		return SV4_ERR_TOO_LARGE;
	/* CR, LF, NUL and '#' in the query: a word with no byte below 0x0e
	 * and no '#' has none. */
	size_t i = 0;
	unsigned char qbad = 0;
	for (; i + 8 <= r->querylen; i += 8) {
		uint64_t w = sv4_load64(r->query + i);
		if (sv4_any_below(w, 0x0e) | sv4_any_eq(w, '#'))
			for (size_t j = i; j < i + 8; j++)
				qbad |= sv4_cclass[(unsigned char)r->query[j]];
	}
	for (; i < r->querylen; i++)
		qbad |= sv4_cclass[(unsigned char)r->query[i]];
	if (qbad & SV4_C_QUERY_BAD)
		return SV4_ERR_BAD_QUERY;
	if (r->nheaders > SV4_MAX_HEADERS)
		return SV4_ERR_TOO_LARGE;
	return 0;
}

int sv4_check_request(const struct sv4_request *r, size_t *hostidx, size_t *sha256idx)
{
	int rv = check_request_line(r);
	if (rv != 0)
		return rv;
	size_t total = 0;
	*hostidx = SIZE_MAX;
	*sha256idx = SIZE_MAX;
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct sv4_header *h = &r->headers[i];
		if (h->namelen > SV4_MAX_HEADER_NAME || h->valuelen > SV4_MAX_HEADER_VALUE)
			return SV4_ERR_TOO_LARGE;
		total += h->namelen + h->valuelen;
		if (total > SV4_MAX_HEADER_BYTES)
			return SV4_ERR_TOO_LARGE;
		if (h->namelen == 0)
			return SV4_ERR_BAD_HEADER;
		unsigned char cls = SV4_C_TCHAR;
		for (size_t j = 0; j < h->namelen; j++)
			cls &= sv4_cclass[(unsigned char)h->name[j]];
		if (!cls)
			return SV4_ERR_BAD_HEADER;
		if (!value_ok(h->value, h->valuelen))
			return SV4_ERR_BAD_HEADER;
		if (h->namelen == 4 && sv4_name_is(h->name, 4, "host")) {
			if (*hostidx != SIZE_MAX)
				return SV4_ERR_NO_HOST;
			*hostidx = i;
		} else if (h->namelen == 20 && sv4_name_is(h->name, 20, "x-amz-content-sha256")) {
			if (*sha256idx != SIZE_MAX)
				return SV4_ERR_BAD_HEADER; /* two payload hashes */
			*sha256idx = i;
		}
	}
	if (*hostidx == SIZE_MAX)
		return SV4_ERR_NO_HOST;
	return 0;
}

/* Lower-cases the header name |src| (|n| > 0 bytes) into |dst|, checking
 * it as it goes: returns 0 when a byte is not an RFC 9110 tchar. A word of
 * letters, digits and '-' (nearly every name) needs no table lookups; the
 * last word overlaps the one before rather than going byte by byte. */
static int lower_name(char *dst, const char *src, size_t n, uint64_t *key)
{
	if (n < 8) {
		unsigned char cls = SV4_C_TCHAR;
		uint64_t k = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)src[i];
			cls &= sv4_cclass[c];
			dst[i] = (char)sv4_lower(c);
			k |= (uint64_t)sv4_lower(c) << (56 - 8 * i);
		}
		*key = k;
		return cls != 0;
	}
#ifdef __SSE2__
	if (n <= 16) {
		__m128i lw;
		if (lower_block(load_8to16(src, n), &lw) == 0xffff) {
			uint64_t a = (uint64_t)_mm_cvtsi128_si64(lw), z = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(lw, lw));
			memcpy(dst, &a, 8);
			memcpy(dst + n - 8, &z, 8);
			unsigned char b[8];
			memcpy(b, &a, 8);
			*key = sv4_name_key((const char *)b, 8);
			return 1;
		}
	} else {
		for (size_t i = 0;;) {
			__m128i lw;
			if (lower_block(_mm_loadu_si128((const __m128i *)(const void *)(src + i)), &lw) != 0xffff)
				break;
			_mm_storeu_si128((__m128i *)(void *)(dst + i), lw);
			if (i == 0) {
				unsigned char b[8];
				uint64_t a = (uint64_t)_mm_cvtsi128_si64(lw);
				memcpy(b, &a, 8);
				*key = sv4_name_key((const char *)b, 8);
			}
			if (i + 16 == n)
				return 1;
			i = i + 32 <= n ? i + 16 : n - 16;
		}
	}
	/* Another tchar, or not a tchar: byte by byte. */
	unsigned char cls = SV4_C_TCHAR;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		cls &= sv4_cclass[c];
		dst[i] = (char)sv4_lower(c);
	}
	*key = sv4_name_key(dst, n);
	return cls != 0;
#else
	for (size_t i = 0;;) {
		uint64_t w = sv4_load64(src + i);
		/* Exact per byte for bytes below 0x80; a byte from 0x80 up is
		 * never in the set, so it goes to the table, which refuses it. */
		uint64_t lw = w | (sv4_bytes_in(w, 'A', 'Z') >> 2);
		if ((sv4_bytes_in(lw, 'a', 'z') | sv4_bytes_in(lw, '0', '9') | sv4_bytes_eq(lw, '-')) != SV4_HIGHS) {
			unsigned char cls = SV4_C_TCHAR;
			for (size_t j = i; j < i + 8; j++)
				cls &= sv4_cclass[(unsigned char)src[j]];
			if (!cls)
				return 0;
		}
		memcpy(dst + i, &lw, 8);
		if (i == 0) { /* the key from the register, not from |dst| */
			unsigned char b[8];
			memcpy(b, &lw, 8);
			*key = sv4_name_key((const char *)b, 8);
		}
		if (i + 8 == n)
			return 1;
		i = i + 16 <= n ? i + 8 : n - 8;
	}
#endif
}

/* ------------------------------------------------------------------------
 * Canonical pieces */

static int hdr_cmp(const struct sv4_hdr *a, const struct sv4_hdr *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	size_t n = a->namelen < b->namelen ? a->namelen : b->namelen;
	int c = memcmp(a->name, b->name, n);
	if (c == 0)
		c = a->namelen < b->namelen ? -1 : a->namelen > b->namelen;
	if (c == 0)
		c = a->order < b->order ? -1 : a->order > b->order;
	return c;
}

void sv4_hdrs_sort(struct sv4_hdr *h, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct sv4_hdr t = h[i];
		size_t j = i;
		while (j > 0 && hdr_cmp(&h[j - 1], &t) > 0) {
			h[j] = h[j - 1];
			j--;
		}
		h[j] = t;
	}
}

/* Appends |v| with leading and trailing blanks removed and inner runs of
 * blanks (space, tab) collapsed to one space. Room reserved by the caller.
 * Runs between blanks are copied whole: header values are mostly words. */
static void put_trimmed(struct sv4_buf *b, const char *v, size_t n)
{
	sv4_trim_blanks(&v, &n);
	char *w = b->data + b->len;
	if (memchr(v, '\t', n) == NULL) {
		const char *end = v + n;
		while (v < end) {
			const char *sp = memchr(v, ' ', (size_t)(end - v));
			if (sp == NULL) {
				memcpy(w, v, (size_t)(end - v));
				w += end - v;
				break;
			}
			memcpy(w, v, (size_t)(sp - v) + 1);
			w += sp - v + 1;
			v = sp + 1;
			while (*v == ' ') /* no trailing blanks: a non-blank follows */
				v++;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			char c = v[i];
			if (c == ' ' || c == '\t') {
				while (v[i + 1] == ' ' || v[i + 1] == '\t')
					i++;
				c = ' ';
			}
			*w++ = c;
		}
	}
	b->len = (size_t)(w - b->data);
}

static void put_u32(struct sv4_buf *b, uint32_t v)
{
	char tmp[10];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		sv4_buf_putc(b, tmp[--n]);
}

/* A query parameter already encoded, kept in scratch. */
static struct sv4_qparam *add_param(struct sv4_signer *s, size_t *n, const char *name, size_t namelen,
                                    const char *value, size_t valuelen)
{
	struct sv4_qparam *p = &s->qp[(*n)++];
	p->name = name;
	p->namelen = namelen;
	p->value = value;
	p->valuelen = valuelen;
	p->raw = NULL;
	p->rawlen = 0;
	return p;
}

/* Writes the scope "YYYYMMDD/region/service/aws4_request". */
void sv4_put_scope(struct sv4_buf *b, const char *date, const struct sv4_sign_params *p)
{
	sv4_buf_put(b, date, 8);
	sv4_buf_putc(b, '/');
	sv4_buf_put(b, p->region, strlen(p->region));
	sv4_buf_putc(b, '/');
	sv4_buf_put(b, p->service, strlen(p->service));
	sv4_buf_put(b, "/aws4_request", 13);
}

size_t sv4_scope_len(const struct sv4_sign_params *p)
{
	return 8 + 1 + strlen(p->region) + 1 + strlen(p->service) + 13;
}

/* ------------------------------------------------------------------------
 * Keys */

static int hmac_once(EVP_MAC_CTX *ctx, const void *key, size_t keylen, const void *msg, size_t msglen,
                     unsigned char out[32])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outlen = 0;
	if (!EVP_MAC_init(ctx, key, keylen, params) || !EVP_MAC_update(ctx, msg, msglen) ||
	    !EVP_MAC_final(ctx, out, &outlen, 32) || outlen != 32)
		return SV4_ERR_CRYPTO;
	return 0;
}

void sv4_scope_init(struct sv4_scope *sc, const char *secret, const char *region, const char *service)
{
	sc->secret = secret;
	sc->secretlen = strlen(secret);
	sc->region = region;
	sc->regionlen = strlen(region);
	sc->service = service;
	sc->servicelen = strlen(service);
}

/* As constant-time as CRYPTO_memcmp(), which goes a byte at a time (its
 * fast path is for 16 bytes only): every signature compares the secret. */
static int secret_equal(const unsigned char *a, const char *b, size_t n)
{
	uint64_t d = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		d |= sv4_load64(a + i) ^ sv4_load64(b + i);
	for (; i < n; i++)
		d |= (uint64_t)(a[i] ^ (unsigned char)b[i]);
	return d == 0;
}

/* Keys |md| with the HMAC pad of the 32-byte |key| (0x36 inner, 0x5c outer). */
static int pad_init(struct sv4_sha256 *md, const unsigned char key[32], unsigned char pad)
{
	unsigned char block[64];
	for (size_t i = 0; i < 64; i++)
		block[i] = (unsigned char)((i < 32 ? key[i] : 0) ^ pad);
	int ok = sv4_sha256_init(md) == 0 && sv4_sha256_update(md, block, sizeof(block)) == 0;
	OPENSSL_cleanse(block, sizeof(block));
	return ok;
}

/* Finds or derives the signing key for the scope; returns its slot. */
int sv4_signing_key(struct sv4_signer *s, const struct sv4_scope *sc, const char *date, struct sv4_key_slot **slot)
{
	const char *secret = sc->secret;
	size_t secretlen = sc->secretlen;
	if (secretlen == 0 || secretlen > SV4_MAX_SECRET)
		return SV4_ERR_BAD_CREDENTIALS;
	struct sv4_key_slot *victim = &s->slots[0];
	s->clock++;
	for (size_t i = 0; i < SV4_KEY_SLOTS; i++) {
		struct sv4_key_slot *k = &s->slots[i];
		if (!k->used) {
			if (victim->used)
				victim = k;
			continue;
		}
		if (k->secretlen == secretlen && k->regionlen == sc->regionlen && k->servicelen == sc->servicelen &&
		    memcmp(k->date, date, 8) == 0 && memcmp(k->region, sc->region, sc->regionlen) == 0 &&
		    memcmp(k->service, sc->service, sc->servicelen) == 0 && secret_equal(k->secret, secret, secretlen)) {
			k->stamp = s->clock;
			*slot = k;
			return 0;
		}
		if (victim->used && k->stamp < victim->stamp)
			victim = k;
	}

	/* kSecret = "AWS4" + secret; kDate; kRegion; kService; kSigning. */
	unsigned char ksecret[4 + SV4_MAX_SECRET];
	unsigned char k1[32], k2[32];
	int rv;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, secretlen);
	if ((rv = hmac_once(s->derive, ksecret, 4 + secretlen, date, 8, k1)) != 0 ||
	    (rv = hmac_once(s->derive, k1, 32, sc->region, sc->regionlen, k2)) != 0 ||
	    (rv = hmac_once(s->derive, k2, 32, sc->service, sc->servicelen, k1)) != 0 ||
	    (rv = hmac_once(s->derive, k1, 32, "aws4_request", 12, k2)) != 0)
		goto out;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(victim->mac, k2, 32, params) || !pad_init(&victim->inner, k2, 0x36) ||
	    !pad_init(&victim->outer, k2, 0x5c)) {
		rv = SV4_ERR_CRYPTO;
		victim->used = 0;
		goto out;
	}
	victim->used = 1;
	victim->stamp = s->clock;
	memcpy(victim->date, date, 8);
	memcpy(victim->region, sc->region, sc->regionlen);
	victim->region[sc->regionlen] = '\0';
	victim->regionlen = sc->regionlen;
	memcpy(victim->service, sc->service, sc->servicelen);
	victim->service[sc->servicelen] = '\0';
	victim->servicelen = sc->servicelen;
	OPENSSL_cleanse(victim->secret, sizeof(victim->secret));
	memcpy(victim->secret, secret, secretlen);
	victim->secretlen = secretlen;
	struct sv4_buf b = {victim->scope, 0, sizeof(victim->scope), sizeof(victim->scope)};
	sv4_buf_put(&b, date, 8);
	sv4_buf_putc(&b, '/');
	sv4_buf_put(&b, sc->region, sc->regionlen);
	sv4_buf_putc(&b, '/');
	sv4_buf_put(&b, sc->service, sc->servicelen);
	sv4_buf_put(&b, "/aws4_request", 13);
	victim->scopelen = b.len;
	*slot = victim;
out:
	OPENSSL_cleanse(ksecret, sizeof(ksecret));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return rv;
}

/* ------------------------------------------------------------------------
 * Signing */

/* Percent-decodes the query from |i| up to '&' (or '=' too, with |name|)
 * or its end, re-encoding it (RFC 3986: all but unreserved) at |*wp|, as
 * sv4_reencode() does for one piece; returns where it stopped, or SIZE_MAX
 * for a '%' without two hex digits. A hex digit is never '&' or '=', so
 * checking them against the end of the query, not of the piece, is the
 * same check. */
static inline size_t encode_part(const unsigned char *q, size_t i, size_t len, char **wp, int name)
{
	static const char hex[] = "0123456789ABCDEF";
	char *w = *wp;
	while (i < len) {
		/* Unreserved bytes go as they are: eight checked and copied at
		 * once, then byte by byte up to the next one to look at. */
		while (i + 8 <= len && (sv4_cclass[q[i]] & sv4_cclass[q[i + 1]] & sv4_cclass[q[i + 2]] &
		                        sv4_cclass[q[i + 3]] & sv4_cclass[q[i + 4]] & sv4_cclass[q[i + 5]] &
		                        sv4_cclass[q[i + 6]] & sv4_cclass[q[i + 7]] & SV4_C_UNRESERVED)) {
			memcpy(w, q + i, 8);
			w += 8;
			i += 8;
		}
		while (i < len && sv4_is_unreserved(q[i]))
			*w++ = (char)q[i++];
		if (i == len)
			break;
		unsigned char c = q[i];
		if (c == '&' || (name && c == '='))
			break;
		i++;
		if (c == '%') {
			int hi, lo;
			if (i + 1 >= len || (hi = sv4_hexval(q[i])) < 0 || (lo = sv4_hexval(q[i + 1])) < 0)
				return SIZE_MAX;
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
	*wp = w;
	return i;
}

/* One pass over the query: split at '&' and the first '=' of each piece,
 * each part re-encoded into scratch as it is scanned. */
int sv4_collect_query(struct sv4_signer *s, const struct sv4_request *r, int drop, size_t max, size_t *np)
{
	const unsigned char *q = (const unsigned char *)r->query;
	size_t len = r->querylen, n = 0, i = 0;
	if (len == 0) {
		*np = 0;
		return 0; /* scratch may have no storage yet */
	}
	char *w = s->scratch.data + s->scratch.len;
	while (i < len) {
		size_t start = i;
		if (q[i] == '&') {
			i++;
			continue; /* "a&&b": an empty piece is not a parameter */
		}
		if (n >= max)
			return SV4_ERR_TOO_LARGE;
		char *name = w;
		if ((i = encode_part(q, i, len, &w, 1)) == SIZE_MAX)
			return SV4_ERR_BAD_QUERY;
		size_t namelen = (size_t)(w - name);
		if ((drop == 1 && is_query_auth_param(name, namelen)) ||
		    (drop == 2 && namelen == 15 && memcmp(name, "X-Amz-Signature", 15) == 0)) {
			/* Its value is neither decoded nor checked. */
			w = name;
			const unsigned char *amp = memchr(q + i, '&', len - i);
			i = amp ? (size_t)(amp - q) + 1 : len;
			continue;
		}
		char *value = w;
		if (i < len && q[i] == '=' && (i = encode_part(q, i + 1, len, &w, 0)) == SIZE_MAX)
			return SV4_ERR_BAD_QUERY;
		struct sv4_qparam *p = add_param(s, &n, name, namelen, value, (size_t)(w - value));
		p->raw = r->query + start;
		p->rawlen = i - start;
		i++; /* past the '&' (or the end) */
	}
	s->scratch.len = (size_t)(w - s->scratch.data);
	*np = n;
	return 0;
}

/* What signing does with a request header, by its lower-cased name. */
enum hclass {
	H_SIGNED,   /* signed as it is */
	H_HOST,     /* Host: signed, and there must be one */
	H_UNSIGNED, /* sent, never signed (intermediaries change it) */
	H_REPLACED, /* Authorization, X-Amz-Date: signing writes its own */
	H_TOKEN,    /* X-Amz-Security-Token: replaced when we have a token */
	H_SHA256,   /* X-Amz-Content-Sha256: replaced when signing adds one */
};

/* 1 when |n| lower-cased is |lit| (|len| bytes of tchar). It reads the
 * name as the request has it, a word at a time, not the copy just written
 * to scratch: loading words that overlapping stores have just written
 * stalls store forwarding. */
static inline int lc_is(const char *n, const char *lit, size_t len)
{
	if (len < 8) {
		for (size_t i = 0; i < len; i++)
			if (sv4_lower((unsigned char)n[i]) != (unsigned char)lit[i])
				return 0;
		return 1;
	}
	for (size_t i = 0;;) {
		uint64_t w = sv4_load64(n + i);
		if ((w | (sv4_bytes_in(w, 'A', 'Z') >> 2)) != sv4_load64(lit + i))
			return 0;
		if (i + 8 == len)
			return 1;
		i = i + 16 <= len ? i + 8 : len - 8;
	}
}

/* Classifies the header named |n| (any case, |len| bytes of tchar). */
static enum hclass classify(const char *n, size_t len)
{
#define IS(lit) (len == sizeof(lit) - 1 && lc_is(n, lit, sizeof(lit) - 1))
	switch (len) {
	case 2: return IS("te") ? H_UNSIGNED : H_SIGNED;
	case 4: return IS("host") ? H_HOST : H_SIGNED;
	case 6: return IS("expect") ? H_UNSIGNED : H_SIGNED;
	case 7: return IS("upgrade") ? H_UNSIGNED : H_SIGNED;
	case 10:
		if (IS("x-amz-date"))
			return H_REPLACED;
		return IS("user-agent") || IS("connection") || IS("keep-alive") ? H_UNSIGNED : H_SIGNED;
	case 13: return IS("authorization") ? H_REPLACED : H_SIGNED;
	case 15: return IS("x-amzn-trace-id") ? H_UNSIGNED : H_SIGNED;
	case 16: return IS("proxy-connection") ? H_UNSIGNED : H_SIGNED;
	case 17: return IS("transfer-encoding") ? H_UNSIGNED : H_SIGNED;
	case 20:
		if (IS("x-amz-security-token"))
			return H_TOKEN;
		return IS("x-amz-content-sha256") ? H_SHA256 : H_SIGNED;
	default: return H_SIGNED;
	}
#undef IS
}

/* sv4_format_time() with the day's YYYYMMDD kept: most signatures in a
 * row fall on the same day. */
static int format_date(struct sv4_signer *s, char date[17], int64_t t)
{
	if (t >= 0 && t == s->sec) {
		memcpy(date, s->date17, 17);
		return 0;
	}
	if (t < 0 || t / 86400 != s->day) {
		int rv = sv4_format_time(date, t);
		if (rv != 0)
			return rv;
		memcpy(s->day8, date, 8);
		s->day = t / 86400;
		s->sec = t;
		memcpy(s->date17, date, 17);
		return 0;
	}
	unsigned secs = (unsigned)(t % 86400), parts[3] = {secs / 3600, secs / 60 % 60, secs % 60};
	memcpy(date, s->day8, 8);
	date[8] = 'T';
	for (int i = 0; i < 3; i++) {
		date[9 + 2 * i] = (char)('0' + parts[i] / 10);
		date[10 + 2 * i] = (char)('0' + parts[i] % 10);
	}
	date[15] = 'Z';
	date[16] = '\0';
	s->sec = t;
	memcpy(s->date17, date, 17);
	return 0;
}

/* Writes the canonical request to s->canon from s->hd[0, nh) (sorted) and
 * s->qp[0, nq) (sorted here). */
int sv4_emit_canonical(struct sv4_signer *s, const struct sv4_request *r, int s3, int normalize, size_t nh,
                          size_t nq, const char *signed_list, size_t signed_listlen, const char *payload,
                          size_t payloadlen)
{
	struct sv4_buf *c = &s->canon;
	int rv;

	c->len = 0;
	size_t need = r->methodlen + 1 + 3 * r->pathlen + 2 + signed_listlen + 1 + payloadlen + 16;
	for (size_t i = 0; i < nq; i++)
		need += s->qp[i].namelen + s->qp[i].valuelen + 2;
	for (size_t i = 0; i < nh; i++)
		need += (size_t)s->hd[i].namelen + s->hd[i].valuelen + 2;
	if ((rv = sv4_buf_reserve(c, need)) != 0)
		return rv;
	char *w = sv4_put(c->data, r->method, r->methodlen);
	*w++ = '\n';
	c->len = (size_t)(w - c->data);
	if ((rv = sv4_canon_path(c, r->path, r->pathlen, s3, normalize)) != 0)
		return rv;
	w = c->data + c->len;
	*w++ = '\n';

	sv4_qparams_sort(s->qp, nq);
	for (size_t i = 0; i < nq; i++) {
		if (i > 0)
			*w++ = '&';
		w = sv4_put(w, s->qp[i].name, s->qp[i].namelen);
		*w++ = '=';
		w = sv4_put(w, s->qp[i].value, s->qp[i].valuelen);
	}
	*w++ = '\n';

	/* Canonical headers: repeated names joined with ','. */
	for (size_t i = 0; i < nh; i++) {
		const struct sv4_hdr *h = &s->hd[i];
		int repeat = i > 0 && h->key == h[-1].key && h->namelen == h[-1].namelen &&
		             memcmp(h->name, h[-1].name, h->namelen) == 0;
		if (repeat) {
			*w++ = ',';
		} else {
			if (i > 0)
				*w++ = '\n';
			w = sv4_put(w, h->name, h->namelen);
			*w++ = ':';
		}
		if (h->verbatim) {
			w = sv4_put(w, h->value, h->valuelen);
		} else {
			c->len = (size_t)(w - c->data);
			put_trimmed(c, h->value, h->valuelen);
			w = c->data + c->len;
		}
	}
	*w++ = '\n';
	*w++ = '\n';
	w = sv4_put(w, signed_list, signed_listlen);
	*w++ = '\n';
	w = sv4_put(w, payload, payloadlen);
	c->len = (size_t)(w - c->data);
	return 0;
}

/* Writes the string to sign of s->canon to s->sts and its signature with
 * the key of (secret, date, region, service) to |sig|. */
int sv4_emit_signature(struct sv4_signer *s, const char *date, const struct sv4_scope *sc, char sig[65],
                       struct sv4_key_slot **slot)
{
	struct sv4_buf *c = &s->canon, *t = &s->sts;
	unsigned char md[32];
	int rv;

	if (sv4_sha256_init(&s->md) != 0 || sv4_sha256_update(&s->md, c->data, c->len) != 0 ||
	    sv4_sha256_final(&s->md, md) != 0)
		return SV4_ERR_CRYPTO;
	/* The key first: its slot holds the scope written out. */
	struct sv4_key_slot *k;
	if ((rv = sv4_signing_key(s, sc, date, &k)) != 0)
		return rv;
	t->len = 0;
	if ((rv = sv4_buf_reserve(t, 16 + 1 + 16 + 1 + k->scopelen + 1 + 64 + 1)) != 0)
		return rv;
	sv4_buf_put(t, ALGORITHM "\n", 17);
	sv4_buf_put(t, date, 16);
	sv4_buf_putc(t, '\n');
	sv4_buf_put(t, k->scope, k->scopelen);
	sv4_buf_putc(t, '\n');
	sv4_hex_encode(t->data + t->len, md, 32); /* writes a NUL past the 64 digits: room reserved */
	t->len += 64;

	/* HMAC from the key's two pre-padded states. */
	if (sv4_sha256_copy(&s->md, &k->inner) != 0 || sv4_sha256_update(&s->md, t->data, t->len) != 0 ||
	    sv4_sha256_final(&s->md, md) != 0 || sv4_sha256_copy(&s->md, &k->outer) != 0 ||
	    sv4_sha256_update(&s->md, md, 32) != 0 || sv4_sha256_final(&s->md, md) != 0)
		return SV4_ERR_CRYPTO;
	sv4_hex_encode(sig, md, 32);
	if (slot != NULL)
		*slot = k;
	return 0;
}

int sv4_sign(struct sv4_signer *s, const struct sv4_request *r, const struct sv4_sign_params *p,
             struct sv4_signed *out)
{
	size_t hostidx, sha256idx;
	int rv;
	char date[17];
	int s3, query = p->mode == SV4_MODE_QUERY;
	struct lens l;

	if ((rv = check_params(p, &l)) != 0 || (rv = check_request_line(r)) != 0)
		return rv;
	s3 = sv4_service_is_s3(p->service);
	const char *token = p->creds->session_token;
	size_t tokenlen = l.token;
	int sign_token = token != NULL && !(p->flags & SV4_F_OMIT_SESSION_TOKEN);
	int add_sha256 = !query && (s3 || (p->flags & SV4_F_ADD_CONTENT_SHA256));

	/* Scratch holds lower-cased names, the signed-header list, encoded
	 * query parameters and the encoded presign values. Reserve it all at
	 * once so pointers into it stay valid. The names are not checked yet,
	 * so their room is counted at their limit: a name over it stops the
	 * pass below before it is written. */
	size_t namebytes = r->nheaders * SV4_MAX_HEADER_NAME;
	size_t listbytes = namebytes + r->nheaders + 64; /* the signed-header list, at most */
	size_t credbytes = l.ak + 1 + 8 + 1 + l.region + 1 + l.service + 13;
	size_t need = namebytes + listbytes + 3 * r->querylen + 4 * credbytes + 3 * listbytes + 3 * tokenlen;
	s->scratch.len = 0;
	if ((rv = sv4_buf_reserve(&s->scratch, need)) != 0)
		return rv;

	/* One pass over the headers checks them as sv4_check_request() does,
	 * in the same order, lower-cases the names into scratch and sorts out
	 * the ones to sign. */
	size_t nh = 0, total = 0;
	hostidx = sha256idx = SIZE_MAX;
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct sv4_header *h = &r->headers[i];
		if (h->namelen > SV4_MAX_HEADER_NAME || h->valuelen > SV4_MAX_HEADER_VALUE)
			return SV4_ERR_TOO_LARGE;
		total += h->namelen + h->valuelen;
		if (total > SV4_MAX_HEADER_BYTES)
			return SV4_ERR_TOO_LARGE;
		if (h->namelen == 0)
			return SV4_ERR_BAD_HEADER;
		char *lname = s->scratch.data + s->scratch.len;
		uint64_t key = 0;
		if (!lower_name(lname, h->name, h->namelen, &key))
			return SV4_ERR_BAD_HEADER;
		/* Whether a value needs trimming matters only if it is signed. */
		enum hclass hc = classify(h->name, h->namelen);
		int keep = hc == H_SIGNED || hc == H_HOST || (hc == H_TOKEN && token == NULL) ||
		           (hc == H_SHA256 && !add_sha256);
		int vc = keep ? check_value(h->value, h->valuelen) : value_ok(h->value, h->valuelen);
		if (vc == 0)
			return SV4_ERR_BAD_HEADER;
		switch (hc) {
		case H_HOST:
			if (hostidx != SIZE_MAX)
				return SV4_ERR_NO_HOST;
			hostidx = i;
			break;
		case H_UNSIGNED:
		case H_REPLACED:
			continue;
		case H_TOKEN:
			if (token != NULL)
				continue;
			break;
		case H_SHA256:
			if (sha256idx != SIZE_MAX)
				return SV4_ERR_BAD_HEADER; /* two payload hashes */
			sha256idx = i;
			if (add_sha256)
				continue;
			break;
		case H_SIGNED:
			break;
		}
		s->scratch.len += h->namelen;
		s->hd[nh++] = sv4_hdr_make(lname, h->namelen, h->value, h->valuelen, key, i, vc == 2);
	}
	if (hostidx == SIZE_MAX)
		return SV4_ERR_NO_HOST;
	if ((rv = format_date(s, date, p->time)) != 0)
		return rv;

	/* The payload hash: the caller's and the request's are checked. */
	const char *payload;
	size_t payloadlen;
	if (p->payload_hash != NULL || sha256idx != SIZE_MAX) {
		if (p->payload_hash != NULL) {
			payload = p->payload_hash;
			payloadlen = strlen(payload);
		} else {
			payload = r->headers[sha256idx].value;
			payloadlen = r->headers[sha256idx].valuelen;
			sv4_trim_blanks(&payload, &payloadlen);
		}
		if ((rv = sv4_check_payload(payload, payloadlen)) != 0)
			return rv;
	} else if (query && s3) {
		payload = SV4_UNSIGNED_PAYLOAD;
		payloadlen = sizeof(SV4_UNSIGNED_PAYLOAD) - 1;
	} else if (r->body != NULL && r->bodylen > 0) {
		if ((rv = sv4_signer_sha256_hex(s, r->body, r->bodylen, s->payload)) != 0)
			return rv;
		payload = s->payload;
		payloadlen = 64;
	} else {
		payload = SV4_EMPTY_SHA256;
		payloadlen = 64;
	}

	if (!query) {
		/* Ours, already checked: no trimming needed. */
		s->hd[nh++] = sv4_hdr_make("x-amz-date", 10, date, 16, sv4_name_key("x-amz-date", 10), 0, 1);
		if (sign_token)
			s->hd[nh++] = sv4_hdr_make("x-amz-security-token", 20, token, tokenlen,
			                           sv4_name_key("x-amz-security-token", 20), 0, 1);
		if (add_sha256)
			s->hd[nh++] = sv4_hdr_make("x-amz-content-sha256", 20, payload, payloadlen,
			                           sv4_name_key("x-amz-content-sha256", 20), 0, 1);
	}
	sv4_hdrs_sort(s->hd, nh);

	/* The signed-header list. */
	char *signed_list = s->scratch.data + s->scratch.len;
	for (size_t i = 0; i < nh; i++) {
		if (i > 0 && s->hd[i].key == s->hd[i - 1].key && s->hd[i].namelen == s->hd[i - 1].namelen &&
		    memcmp(s->hd[i].name, s->hd[i - 1].name, s->hd[i].namelen) == 0)
			continue;
		if (s->scratch.data + s->scratch.len != signed_list)
			sv4_buf_putc(&s->scratch, ';');
		sv4_buf_put(&s->scratch, s->hd[i].name, s->hd[i].namelen);
	}
	size_t signed_listlen = (size_t)(s->scratch.data + s->scratch.len - signed_list);

	/* Query parameters, and in query mode the presign parameters. */
	size_t nq = 0;
	if ((rv = sv4_collect_query(s, r, query, SV4_MAX_QUERY_PARAMS, &nq)) != 0)
		return rv;
	size_t nraw = nq;
	char expires[11];
	size_t expireslen = 0;
	const char *cred = NULL, *enc_list = NULL, *enc_token = NULL;
	size_t credlen = 0, enc_listlen = 0, enc_tokenlen = 0;
	if (query) {
		struct sv4_buf e = {expires, 0, sizeof(expires), sizeof(expires)};
		put_u32(&e, p->expires);
		expireslen = e.len;

		char *raw = s->scratch.data + s->scratch.len;
		sv4_buf_put(&s->scratch, p->creds->access_key, strlen(p->creds->access_key));
		sv4_buf_putc(&s->scratch, '/');
		sv4_put_scope(&s->scratch, date, p);
		size_t rawlen = (size_t)(s->scratch.data + s->scratch.len - raw);
		cred = s->scratch.data + s->scratch.len;
		sv4_encode(&s->scratch, raw, rawlen);
		credlen = (size_t)(s->scratch.data + s->scratch.len - cred);
		enc_list = s->scratch.data + s->scratch.len;
		sv4_encode(&s->scratch, signed_list, signed_listlen);
		enc_listlen = (size_t)(s->scratch.data + s->scratch.len - enc_list);

		add_param(s, &nq, "X-Amz-Algorithm", 15, ALGORITHM, 16);
		add_param(s, &nq, "X-Amz-Credential", 16, cred, credlen);
		add_param(s, &nq, "X-Amz-Date", 10, date, 16);
		add_param(s, &nq, "X-Amz-Expires", 13, expires, expireslen);
		add_param(s, &nq, "X-Amz-SignedHeaders", 19, enc_list, enc_listlen);
		if (token != NULL) {
			enc_token = s->scratch.data + s->scratch.len;
			sv4_encode(&s->scratch, token, tokenlen);
			enc_tokenlen = (size_t)(s->scratch.data + s->scratch.len - enc_token);
			if (sign_token)
				add_param(s, &nq, "X-Amz-Security-Token", 20, enc_token, enc_tokenlen);
		}
	}

	/* The outgoing query keeps the request's own order: write it before
	 * the canonical query sorts the parameters. */
	struct sv4_buf *o = &s->out;
	o->len = 0;
	if (query) {
		size_t oneed = 2 * r->querylen + credlen + expireslen + enc_listlen + enc_tokenlen + 256;
		if ((rv = sv4_buf_reserve(o, oneed)) != 0)
			return rv;
		for (size_t i = 0; i < nraw; i++) {
			sv4_buf_put(o, s->qp[i].raw, s->qp[i].rawlen);
			sv4_buf_putc(o, '&');
		}
	}

	char sig[65];
	int normalize = !(p->flags & SV4_F_NO_NORMALIZE_PATH);
	struct sv4_scope sc = {p->creds->secret_key, l.secret, p->region, l.region, p->service, l.service};
	struct sv4_key_slot *k;
	if ((rv = sv4_emit_canonical(s, r, s3, normalize, nh, nq, signed_list, signed_listlen, payload, payloadlen)) != 0 ||
	    (rv = sv4_emit_signature(s, date, &sc, sig, &k)) != 0)
		return rv;

	/* Output. */
	struct sv4_buf *c = &s->canon, *t = &s->sts;
	if (query) {
		sv4_buf_put(o, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=", 16 + 16 + 18);
		sv4_buf_put(o, cred, credlen);
		sv4_buf_put(o, "&X-Amz-Date=", 12);
		sv4_buf_put(o, date, 16);
		sv4_buf_put(o, "&X-Amz-SignedHeaders=", 21);
		sv4_buf_put(o, enc_list, enc_listlen);
		sv4_buf_put(o, "&X-Amz-Expires=", 15);
		sv4_buf_put(o, expires, expireslen);
		if (token != NULL) {
			sv4_buf_put(o, "&X-Amz-Security-Token=", 22);
			sv4_buf_put(o, enc_token, enc_tokenlen);
		}
		sv4_buf_put(o, "&X-Amz-Signature=", 17);
		sv4_buf_put(o, sig, 64);
	} else {
		size_t aklen = l.ak;
		if ((rv = sv4_buf_reserve(o, 64 + aklen + k->scopelen + signed_listlen + 64)) != 0)
			return rv;
		sv4_buf_put(o, ALGORITHM " Credential=", 28);
		sv4_buf_put(o, p->creds->access_key, aklen);
		sv4_buf_putc(o, '/');
		sv4_buf_put(o, k->scope, k->scopelen);
		sv4_buf_put(o, ", SignedHeaders=", 16);
		sv4_buf_put(o, signed_list, signed_listlen);
		sv4_buf_put(o, ", Signature=", 12);
		sv4_buf_put(o, sig, 64);
	}

	memcpy(out->date, date, sizeof(date));
	memcpy(out->signature, sig, sizeof(sig));
	out->payload_hash = payload;
	out->payload_hashlen = payloadlen;
	out->add_content_sha256 = add_sha256;
	out->add_session_token = !query && token != NULL;
	out->authorization = query ? NULL : o->data;
	out->authorizationlen = query ? 0 : o->len;
	out->query = query ? o->data : NULL;
	out->querylen = query ? o->len : 0;
	out->canonical = c->data;
	out->canonicallen = c->len;
	out->string_to_sign = t->data;
	out->string_to_signlen = t->len;
	return 0;
}

int sv4_header_is_replaced(const char *name, size_t namelen, const struct sv4_sign_params *params,
                           const struct sv4_signed *out)
{
	if (sv4_name_is(name, namelen, "authorization") || sv4_name_is(name, namelen, "x-amz-date"))
		return 1;
	if (params->creds != NULL && params->creds->session_token != NULL &&
	    sv4_name_is(name, namelen, "x-amz-security-token"))
		return 1;
	return out->add_content_sha256 && sv4_name_is(name, namelen, "x-amz-content-sha256");
}
