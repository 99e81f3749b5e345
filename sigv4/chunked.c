/* SPDX-License-Identifier: Apache-2.0 */
/* chunked.c: aws-chunked bodies: the chunk-signature chain and a bounded, streaming decoder. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sv4_int.h"

enum sv4_chunked_kind sv4_chunked_kind(const char *p, size_t len)
{
	static const struct {
		const char *name;
		enum sv4_chunked_kind kind;
	} kinds[] = {
		{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", SV4_CHUNKED_SIGNED},
		{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", SV4_CHUNKED_SIGNED_TRAILER},
		{"STREAMING-UNSIGNED-PAYLOAD-TRAILER", SV4_CHUNKED_UNSIGNED_TRAILER},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == len && memcmp(kinds[i].name, p, len) == 0)
			return kinds[i].kind;
	return SV4_CHUNKED_NONE;
}

/* ------------------------------------------------------------------------
 * The chain */

struct sv4_chain {
	EVP_MAC_CTX *mac; /* keyed with the signing key */
	/* "\n" date "\n" scope "\n": the middle of every string to sign */
	char middle[1 + 16 + 1 + 8 + 1 + 2 * SV4_MAX_SCOPE_PART + 2 + 12 + 1 + 1];
	size_t middlelen;
	char prev[64];
};

struct sv4_chain *sv4_chain_new(struct sv4_signer *s, const char *secret, const char *date, const char *region,
                                const char *service, const char *seed)
{
	struct sv4_credentials creds = {"chain", secret, NULL};
	struct sv4_sign_params p = {&creds, region, service, 0, SV4_MODE_HEADER, 0, NULL, 0};
	struct sv4_scope sc;
	struct sv4_key_slot *k;
	int64_t t;

	if (sv4_parse_time(date, strlen(date), &t) != 0 || !sv4_scope_part_ok(region, strlen(region)) ||
	    !sv4_scope_part_ok(service, strlen(service)) || strlen(seed) != 64)
		return NULL;
	sv4_scope_init(&sc, secret, region, service);
	if (sv4_signing_key(s, &sc, date, &k) != 0)
		return NULL;
	struct sv4_chain *c = OPENSSL_zalloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	c->mac = EVP_MAC_CTX_dup(k->mac);
	if (c->mac == NULL) {
		OPENSSL_free(c);
		return NULL;
	}
	struct sv4_buf b = {c->middle, 0, sizeof(c->middle), sizeof(c->middle)};
	sv4_buf_putc(&b, '\n');
	sv4_buf_put(&b, date, 16);
	sv4_buf_putc(&b, '\n');
	sv4_put_scope(&b, date, &p);
	sv4_buf_putc(&b, '\n');
	c->middlelen = b.len;
	memcpy(c->prev, seed, 64);
	return c;
}

void sv4_chain_del(struct sv4_chain *c)
{
	if (c == NULL)
		return;
	EVP_MAC_CTX_free(c->mac);
	OPENSSL_clear_free(c, sizeof(*c));
}

/* HMAC(key, kind + middle + prev + "\n" + rest) */
static int chain_link(struct sv4_chain *c, const char *kind, size_t kindlen, const char *rest, size_t restlen,
                      char sig[65])
{
	unsigned char md[32];
	size_t mdlen = 0;
	if (!EVP_MAC_init(c->mac, NULL, 0, NULL) || !EVP_MAC_update(c->mac, (const unsigned char *)kind, kindlen) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)c->middle, c->middlelen) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)c->prev, 64) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)"\n", 1) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)rest, restlen) || !EVP_MAC_final(c->mac, md, &mdlen, 32) ||
	    mdlen != 32)
		return SV4_ERR_CRYPTO;
	sv4_hex_encode(sig, md, 32);
	memcpy(c->prev, sig, 64);
	return 0;
}

int sv4_chain_chunk(struct sv4_chain *c, const char *data_hash, char sig[65])
{
	char rest[64 + 1 + 64];
	memcpy(rest, SV4_EMPTY_SHA256 "\n", 65);
	memcpy(rest + 65, data_hash, 64);
	return chain_link(c, "AWS4-HMAC-SHA256-PAYLOAD", 24, rest, sizeof(rest), sig);
}

int sv4_chain_trailer(struct sv4_chain *c, const char *canonical, size_t len, char sig[65])
{
	char hash[65];
	int rv = sv4_sha256_hex(canonical, len, hash);
	if (rv != 0)
		return rv;
	return chain_link(c, "AWS4-HMAC-SHA256-TRAILER", 24, hash, 64, sig);
}

size_t sv4_chunk_line(char *dst, size_t len, const char *sig)
{
	static const char hex[] = "0123456789abcdef";
	char digits[16];
	size_t n = 0, w = 0;
	do {
		digits[n++] = hex[len & 15];
		len >>= 4;
	} while (len != 0);
	while (n > 0)
		dst[w++] = digits[--n];
	memcpy(dst + w, ";chunk-signature=", 17);
	memcpy(dst + w + 17, sig, 64);
	memcpy(dst + w + 81, "\r\n", 2);
	return w + 83;
}

size_t sv4_trailer_lines(char *dst, const char *canonical, size_t len, const char *sig)
{
	size_t w = 0;
	for (size_t i = 0; i < len; i++) {
		if (canonical[i] == '\n')
			dst[w++] = '\r';
		dst[w++] = canonical[i];
	}
	memcpy(dst + w, "x-amz-trailer-signature:", 24);
	memcpy(dst + w + 24, sig, 64);
	memcpy(dst + w + 88, "\r\n\r\n", 4);
	return w + 92;
}

/* ------------------------------------------------------------------------
 * The decoder */

enum dstate {
	D_SIZE,      /* reading a chunk-size line */
	D_DATA,      /* reading a chunk's data */
	D_DATA_CR,   /* the CR after the data */
	D_DATA_LF,   /* the LF after the data */
	D_FINAL_CRLF, /* the empty line after the final chunk (no trailers) */
	D_TRAILER,   /* reading trailer lines */
	D_DONE,
	D_FAILED,
};

struct sv4_dechunk {
	enum sv4_chunked_kind kind;
	enum dstate state;
	int error;
	const char *what;
	uint64_t offset;  /* bytes consumed */
	uint64_t erroff;
	uint64_t decoded; /* data bytes */
	size_t max_chunk;
	struct sv4_chain *verify;
	sv4_chunk_fn *on_chunk;
	sv4_trailers_fn *on_trailers;
	void *arg;
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	char line[SV4_MAX_CHUNK_LINE + 2];
	size_t linelen;
	size_t size; /* of the current chunk */
	char sig[65]; /* of the current chunk, as sent */
	unsigned char *chunk; /* max_chunk bytes */
	size_t have;
	char *trailers; /* canonical form */
	size_t trailerslen;
	unsigned ntrailers;
	char trailer_sig[65];
	int have_trailer_sig;
};

struct sv4_dechunk *sv4_dechunk_new(enum sv4_chunked_kind kind, size_t max_chunk, struct sv4_chain *verify,
                                    sv4_chunk_fn *on_chunk, sv4_trailers_fn *on_trailers, void *arg)
{
	if (kind == SV4_CHUNKED_NONE || max_chunk == 0)
		return NULL;
	struct sv4_dechunk *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->kind = kind;
	d->max_chunk = max_chunk;
	d->verify = kind == SV4_CHUNKED_UNSIGNED_TRAILER ? NULL : verify;
	d->on_chunk = on_chunk;
	d->on_trailers = on_trailers;
	d->arg = arg;
	d->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	d->md = EVP_MD_CTX_new();
	d->chunk = malloc(max_chunk);
	d->trailers = malloc(SV4_MAX_TRAILER_BYTES);
	if (d->sha256 == NULL || d->md == NULL || d->chunk == NULL || d->trailers == NULL) {
		sv4_dechunk_del(d);
		return NULL;
	}
	return d;
}

void sv4_dechunk_del(struct sv4_dechunk *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->md);
	EVP_MD_free(d->sha256);
	free(d->chunk);
	free(d->trailers);
	free(d);
}

static int dfail(struct sv4_dechunk *d, int err, const char *what)
{
	d->state = D_FAILED;
	d->error = err;
	d->what = what;
	d->erroff = d->offset;
	return err;
}

const char *sv4_dechunk_error(const struct sv4_dechunk *d, uint64_t *offset)
{
	if (offset != NULL)
		*offset = d->erroff;
	return d->what ? d->what : "no error";
}

/* "hex-size" or, signed, "hex-size;chunk-signature=<64 hex>". */
static int parse_size_line(struct sv4_dechunk *d)
{
	const char *p = d->line, *end = d->line + d->linelen;
	uint64_t size = 0;
	size_t digits = 0;
	while (p < end && sv4_hexval((unsigned char)*p) >= 0) {
		if (++digits > 16)
			return dfail(d, SV4_ERR_CHUNK_TOO_LARGE, "chunk size is too large");
		size = size << 4 | (uint64_t)sv4_hexval((unsigned char)*p);
		p++;
	}
	if (digits == 0)
		return dfail(d, SV4_ERR_CHUNK_MALFORMED, "chunk-size line must start with the size in hex");
	if (d->kind == SV4_CHUNKED_UNSIGNED_TRAILER) {
		if (p != end)
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "unsigned chunk-size line holds more than the size");
	} else {
		static const char ext[] = ";chunk-signature=";
		if ((size_t)(end - p) != sizeof(ext) - 1 + 64 || memcmp(p, ext, sizeof(ext) - 1) != 0)
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "chunk-size line must be SIZE;chunk-signature=SIG");
		p += sizeof(ext) - 1;
		if (!sv4_is_lower_hex(p, 64))
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "chunk signature must be 64 lower-case hex digits");
		memcpy(d->sig, p, 64);
		d->sig[64] = '\0';
	}
	if (size > d->max_chunk)
		return dfail(d, SV4_ERR_CHUNK_TOO_LARGE, "chunk is larger than the configured maximum");
	d->size = (size_t)size;
	d->have = 0;
	return 0;
}

/* A whole chunk is in d->chunk: hash, verify, hand over. */
static int chunk_done(struct sv4_dechunk *d)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hash[65], sig[65];
	int rv;
	if (!EVP_DigestInit_ex2(d->md, d->sha256, NULL) || !EVP_DigestUpdate(d->md, d->chunk, d->size) ||
	    !EVP_DigestFinal_ex(d->md, md, &mdlen) || mdlen != 32)
		return dfail(d, SV4_ERR_CRYPTO, "OpenSSL failed");
	sv4_hex_encode(hash, md, 32);
	if (d->verify != NULL) {
		if ((rv = sv4_chain_chunk(d->verify, hash, sig)) != 0)
			return dfail(d, rv, "OpenSSL failed");
		if (CRYPTO_memcmp(sig, d->sig, 64) != 0)
			return dfail(d, SV4_ERR_CHUNK_SIGNATURE, "chunk signature does not match");
	}
	d->decoded += d->size;
	if (d->on_chunk != NULL &&
	    (rv = d->on_chunk(d->arg, d->chunk, d->size, hash, d->kind == SV4_CHUNKED_UNSIGNED_TRAILER ? NULL : d->sig)) !=
	        0)
		return dfail(d, rv, "the chunk consumer failed");
	return 0;
}

static int trailers_done(struct sv4_dechunk *d)
{
	int rv;
	if (d->kind == SV4_CHUNKED_SIGNED_TRAILER) {
		if (!d->have_trailer_sig)
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "signed trailers end without x-amz-trailer-signature");
		if (d->verify != NULL) {
			char sig[65];
			if ((rv = sv4_chain_trailer(d->verify, d->trailers, d->trailerslen, sig)) != 0)
				return dfail(d, rv, "OpenSSL failed");
			if (CRYPTO_memcmp(sig, d->trailer_sig, 64) != 0)
				return dfail(d, SV4_ERR_TRAILER_SIGNATURE, "trailer signature does not match");
		}
	}
	if (d->on_trailers != NULL &&
	    (rv = d->on_trailers(d->arg, d->trailers, d->trailerslen,
	                         d->kind == SV4_CHUNKED_SIGNED_TRAILER ? d->trailer_sig : NULL)) != 0)
		return dfail(d, rv, "the trailer consumer failed");
	d->state = D_DONE;
	return 0;
}

/* One trailer line "name:value" (or the trailer signature). */
static int trailer_line(struct sv4_dechunk *d)
{
	const char *p = d->line, *end = d->line + d->linelen;
	const char *colon = memchr(p, ':', d->linelen);
	if (d->have_trailer_sig)
		return dfail(d, SV4_ERR_CHUNK_MALFORMED, "x-amz-trailer-signature must be the last trailer");
	if (colon == NULL || colon == p)
		return dfail(d, SV4_ERR_CHUNK_MALFORMED, "trailer line must be name:value");
	for (const char *c = p; c < colon; c++)
		if (!sv4_is_tchar((unsigned char)*c))
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "trailer name is not an HTTP token");
	const char *v = colon + 1, *ve = end;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	for (const char *c = v; c < ve; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || (unsigned char)*c == 0x7f)
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "trailer value holds a control character");
	size_t namelen = (size_t)(colon - p), vlen = (size_t)(ve - v);
	if (d->kind == SV4_CHUNKED_SIGNED_TRAILER && sv4_name_is(p, namelen, "x-amz-trailer-signature")) {
		if (vlen != 64 || !sv4_is_lower_hex(v, 64))
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "trailer signature must be 64 lower-case hex digits");
		memcpy(d->trailer_sig, v, 64);
		d->trailer_sig[64] = '\0';
		d->have_trailer_sig = 1;
		return 0;
	}
	if (++d->ntrailers > SV4_MAX_TRAILERS || d->trailerslen + namelen + 1 + vlen + 1 > SV4_MAX_TRAILER_BYTES)
		return dfail(d, SV4_ERR_CHUNK_TOO_LARGE, "too many or too large trailers");
	for (size_t i = 0; i < namelen; i++)
		d->trailers[d->trailerslen++] = (char)sv4_lower((unsigned char)p[i]);
	d->trailers[d->trailerslen++] = ':';
	memcpy(d->trailers + d->trailerslen, v, vlen);
	d->trailerslen += vlen;
	d->trailers[d->trailerslen++] = '\n';
	return 0;
}

/* A line ended (CRLF seen): act on it. */
static int line_done(struct sv4_dechunk *d)
{
	int rv;
	if (d->state == D_SIZE) {
		if ((rv = parse_size_line(d)) != 0)
			return rv;
		if (d->size > 0) {
			d->state = D_DATA;
			return 0;
		}
		if ((rv = chunk_done(d)) != 0) /* the final, empty chunk */
			return rv;
		d->state = d->kind == SV4_CHUNKED_SIGNED ? D_FINAL_CRLF : D_TRAILER;
		return 0;
	}
	/* D_TRAILER */
	if (d->linelen == 0)
		return trailers_done(d);
	return trailer_line(d);
}

int sv4_dechunk_feed(struct sv4_dechunk *d, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	int rv;

	if (d->state == D_FAILED)
		return d->error;
	while (p < end) {
		switch (d->state) {
		case D_SIZE:
		case D_TRAILER:
		case D_FINAL_CRLF: {
			/* Lines end with CRLF; a bare CR or LF is malformed. */
			unsigned char c = *p++;
			d->offset++;
			if (c == '\r') {
				if (d->linelen > SV4_MAX_CHUNK_LINE)
					return dfail(d, SV4_ERR_CHUNK_MALFORMED, "chunk line too long");
				d->line[d->linelen++] = '\r';
				continue;
			}
			if (c == '\n') {
				if (d->linelen == 0 || d->line[d->linelen - 1] != '\r')
					return dfail(d, SV4_ERR_CHUNK_MALFORMED, "line ends with a bare LF");
				d->linelen--;
				if (d->state == D_FINAL_CRLF) {
					if (d->linelen != 0)
						return dfail(d, SV4_ERR_CHUNK_MALFORMED,
						             "the final chunk must be followed by an empty line");
					d->state = D_DONE;
				} else if ((rv = line_done(d)) != 0) {
					return rv;
				}
				d->linelen = 0;
				continue;
			}
			if ((d->linelen > 0 && d->line[d->linelen - 1] == '\r') || c == '\0')
				return dfail(d, SV4_ERR_CHUNK_MALFORMED, "bare CR or NUL in a chunk line");
			if (d->linelen >= SV4_MAX_CHUNK_LINE)
				return dfail(d, d->state == D_TRAILER ? SV4_ERR_CHUNK_TOO_LARGE : SV4_ERR_CHUNK_MALFORMED,
				             "chunk or trailer line too long");
			d->line[d->linelen++] = (char)c;
			continue;
		}
		case D_DATA: {
			size_t n = d->size - d->have;
			if ((size_t)(end - p) < n)
				n = (size_t)(end - p);
			memcpy(d->chunk + d->have, p, n);
			d->have += n;
			d->offset += n;
			p += n;
			if (d->have == d->size)
				d->state = D_DATA_CR;
			continue;
		}
		case D_DATA_CR:
		case D_DATA_LF: {
			unsigned char want = d->state == D_DATA_CR ? '\r' : '\n';
			if (*p != want)
				return dfail(d, SV4_ERR_CHUNK_MALFORMED, "chunk data is not followed by CRLF (size wrong?)");
			p++;
			d->offset++;
			if (d->state == D_DATA_CR) {
				d->state = D_DATA_LF;
				continue;
			}
			if ((rv = chunk_done(d)) != 0)
				return rv;
			d->state = D_SIZE;
			continue;
		}
		case D_DONE:
			return dfail(d, SV4_ERR_CHUNK_MALFORMED, "bytes after the end of the aws-chunked body");
		case D_FAILED:
			return d->error;
		}
	}
	return 0;
}

int sv4_dechunk_finish(struct sv4_dechunk *d, uint64_t *decoded)
{
	if (d->state == D_FAILED)
		return d->error;
	if (d->state != D_DONE)
		return dfail(d, SV4_ERR_CHUNK_TRUNCATED, "the body ends before its final chunk and trailers");
	*decoded = d->decoded;
	return 0;
}
