/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_dechunk.c: libFuzzer target that decodes fuzzed aws-chunked bodies whole and in pieces. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input layout: two parameter bytes, n split lengths, then the body.
 *
 *   byte 0: bits 0-1  kind: signed, signed-trailer, unsigned-trailer,
 *                     signed-trailer
 *           bit 2     verify the signatures with a chain (signed kinds)
 *           bits 3-4  max chunk: 1, 16, 1024, 65536 bytes
 *           bits 5-6  the chunk callback fails at: never, the 1st, the 2nd,
 *                     the 3rd chunk
 *           bit 7     the trailers callback fails
 *   byte 1: bits 0-3  n, how many split lengths follow
 *           bits 4-7  unused
 *   bytes 2 .. 2+n-1: the lengths of the pieces the body is fed in, used in
 *                     turn; 0 stands for an empty feed and then one byte.
 *                     Without them (n = 0) the body is fed one byte at a time.
 *   the rest:         the body.
 *
 * Bytes missing from a short input count as zero.
 *
 * The chain is AWS's S3 chunked-upload example: secret
 * wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, 20130524T000000Z, us-east-1, s3,
 * seed 4f232c43...a0a9. The body is decoded three times: fed all at once,
 * fed in the pieces above, and all at once without callbacks. The results
 * (error, where and why, decoded length, the chunks and trailers the
 * callbacks saw) must be the same, and each callback's arguments must be
 * what the format and the chain say. A signed body that decodes is framed
 * again with sv4_chunk_line() and sv4_trailer_lines() from what the
 * callbacks saw, and that must decode (and verify) to the same. */

static const char chain_secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
static const char chain_date[] = "20130524T000000Z";
static const char chain_seed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

static const enum sv4_chunked_kind kinds[] = {SV4_CHUNKED_SIGNED, SV4_CHUNKED_SIGNED_TRAILER,
                                              SV4_CHUNKED_UNSIGNED_TRAILER, SV4_CHUNKED_SIGNED_TRAILER};
static const size_t max_chunks[] = {1, 16, 1024, 65536};

/* What the failing callbacks return: one negative and not sigv4's, one
 * positive (any non-zero value stops the decoder). */
#define CHUNK_FN_FAILED (-999)
#define TRAILERS_FN_FAILED 7

static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_dechunk: invariant violated: %s\n", what);
	abort();
}

static int is_lower_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

static int is_tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* FNV-1a, to compare what two runs saw without keeping it. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

#define FNV_START UINT64_C(0xcbf29ce484222325)

/* A growable byte string. */
struct bytes {
	unsigned char *p;
	size_t len;
	size_t cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap || b->p == NULL) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *np = realloc(b->p, cap);
		if (np == NULL)
			violated("harness out of memory");
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static struct sv4_signer *signer;

static struct sv4_chain *chain_new(void)
{
	struct sv4_chain *c = sv4_chain_new(signer, chain_secret, chain_date, "us-east-1", "s3", chain_seed);
	if (c == NULL)
		violated("sv4_chain_new failed");
	return c;
}

/* One decoding run: its setup and what it saw. */
struct run {
	enum sv4_chunked_kind kind;
	size_t max_chunk;
	int verify;
	unsigned fail_chunk; /* 1-based chunk whose callback fails; 0: none */
	int fail_trailers;
	struct sv4_chain *expect; /* the harness's own chain: the signatures the decoder must have checked */
	struct bytes *framed;     /* when not NULL: the body framed again from what the callbacks saw */

	size_t chunks;
	uint64_t bytes;
	uint64_t chunks_fnv; /* each chunk's length and data */
	int ended;           /* the final, empty chunk was seen */
	unsigned trailer_calls;
	uint64_t trailers_fnv;
	int rv; /* the first error of feed(), else finish()'s result */
	uint64_t decoded;
	uint64_t erroff;
	const char *what;
};

static int on_chunk(void *arg, const unsigned char *data, size_t len, const char *hash, const char *sig)
{
	struct run *r = arg;
	char hex[65], want[65];

	if (r->ended)
		violated("a chunk after the final one");
	if (r->trailer_calls != 0)
		violated("a chunk after the trailers");
	if (len > r->max_chunk)
		violated("a chunk longer than the maximum");
	if (len > 0 && data == NULL)
		violated("chunk data is NULL");
	if (sv4_sha256_hex(len > 0 ? (const void *)data : "", len, hex) != 0)
		violated("sv4_sha256_hex failed");
	if (hash == NULL || memcmp(hash, hex, 65) != 0)
		violated("the chunk's hash is not the SHA-256 of its data");
	if (r->kind == SV4_CHUNKED_UNSIGNED_TRAILER) {
		if (sig != NULL)
			violated("an unsigned chunk with a signature");
	} else {
		if (sig == NULL || !is_lower_hex(sig, 64) || sig[64] != '\0')
			violated("a signed chunk without a signature of 64 lower-case hex digits");
		if (r->verify) {
			if (sv4_chain_chunk(r->expect, hex, want) != 0)
				violated("sv4_chain_chunk failed");
			if (memcmp(sig, want, 65) != 0)
				violated(
				    "a chunk passed verification with a signature the chain does not make");
		}
	}
	r->chunks++;
	r->bytes += len;
	r->chunks_fnv = fnv(fnv(r->chunks_fnv, &len, sizeof(len)), data, len);
	if (len == 0)
		r->ended = 1;
	if (r->framed != NULL && sig != NULL) {
		char line[SV4_MAX_CHUNK_LINE];
		size_t n = sv4_chunk_line(line, len, sig);
		if (n < 83 || n > sizeof(line) || memcmp(line + n - 83, ";chunk-signature=", 17) != 0 ||
		    memcmp(line + n - 66, sig, 64) != 0 || memcmp(line + n - 2, "\r\n", 2) != 0)
			violated("sv4_chunk_line wrote something else than SIZE;chunk-signature=SIG CRLF");
		bytes_add(r->framed, line, n);
		if (len > 0) {
			bytes_add(r->framed, data, len);
			bytes_add(r->framed, "\r\n", 2);
		} else if (r->kind == SV4_CHUNKED_SIGNED) {
			bytes_add(r->framed, "\r\n", 2);
		}
	}
	if (r->fail_chunk != 0 && r->chunks == r->fail_chunk)
		return CHUNK_FN_FAILED;
	return 0;
}

/* "name:value\n" lines: lower-case token names, trimmed values without
 * control characters, the signature not among them. */
static size_t check_trailers(const struct run *r, const char *c, size_t len)
{
	size_t lines = 0;
	const char *end = c + len;
	if (len > 0 && c[len - 1] != '\n')
		violated("canonical trailers do not end with a newline");
	while (c < end) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		const char *colon = memchr(c, ':', (size_t)(nl - c));
		if (colon == NULL || colon == c)
			violated("a canonical trailer line without a name");
		for (const char *p = c; p < colon; p++)
			if (!is_tchar((unsigned char)*p) || (*p >= 'A' && *p <= 'Z'))
				violated("a canonical trailer name is not a lower-case token");
		const char *v = colon + 1;
		if (v < nl && (*v == ' ' || *v == '\t' || nl[-1] == ' ' || nl[-1] == '\t'))
			violated("a canonical trailer value is not trimmed");
		for (const char *p = v; p < nl; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t') || (unsigned char)*p == 0x7f)
				violated("a canonical trailer value holds a control character");
		if (r->kind == SV4_CHUNKED_SIGNED_TRAILER && colon - c == 23 &&
		    memcmp(c, "x-amz-trailer-signature", 23) == 0)
			violated("the trailer signature among the canonical trailers");
		lines++;
		c = nl + 1;
	}
	if (lines > SV4_MAX_TRAILERS)
		violated("more trailers than SV4_MAX_TRAILERS");
	return lines;
}

static int on_trailers(void *arg, const char *canonical, size_t len, const char *sig)
{
	struct run *r = arg;
	char want[65];

	if (!r->ended)
		violated("trailers before the final chunk");
	if (r->trailer_calls++ != 0)
		violated("the trailers callback called twice");
	if (len > SV4_MAX_TRAILER_BYTES || (len > 0 && canonical == NULL))
		violated("canonical trailers over SV4_MAX_TRAILER_BYTES, or NULL");
	size_t lines = check_trailers(r, canonical, len);
	if (r->kind == SV4_CHUNKED_SIGNED_TRAILER) {
		if (sig == NULL || !is_lower_hex(sig, 64) || sig[64] != '\0')
			violated("signed trailers without a signature of 64 lower-case hex digits");
		if (r->verify) {
			if (sv4_chain_trailer(r->expect, canonical, len, want) != 0)
				violated("sv4_chain_trailer failed");
			if (memcmp(sig, want, 65) != 0)
				violated(
				    "trailers passed verification with a signature the chain does not make");
		}
	} else if (sig != NULL) {
		violated("a trailer signature in a kind without one");
	}
	if (r->framed != NULL && sig != NULL) {
		/* Exactly the bytes the format needs: each line with CRLF, then
		 * "x-amz-trailer-signature:" SIG CRLF CRLF. */
		size_t need = len + lines + 24 + 64 + 4;
		unsigned char *buf = malloc(need);
		if (buf == NULL)
			violated("harness out of memory");
		size_t n = sv4_trailer_lines((char *)buf, canonical, len, sig);
		if (n != need || memcmp(buf + n - 92, "x-amz-trailer-signature:", 24) != 0 ||
		    memcmp(buf + n - 68, sig, 64) != 0 || memcmp(buf + n - 4, "\r\n\r\n", 4) != 0)
			violated("sv4_trailer_lines wrote something else than the lines, the signature and "
			         "CRLF CRLF");
		bytes_add(r->framed, buf, n);
		free(buf);
	}
	r->trailers_fnv = fnv(fnv(r->trailers_fnv, &len, sizeof(len)), canonical, len);
	if (sig != NULL)
		r->trailers_fnv = fnv(r->trailers_fnv, sig, 64);
	return r->fail_trailers ? TRAILERS_FN_FAILED : 0;
}

static void run_init(struct run *r, uint8_t b0)
{
	memset(r, 0, sizeof(*r));
	r->kind = kinds[b0 & 3];
	r->verify = (b0 & 4) != 0 && r->kind != SV4_CHUNKED_UNSIGNED_TRAILER;
	r->max_chunk = max_chunks[(b0 >> 3) & 3];
	r->fail_chunk = (b0 >> 5) & 3;
	r->fail_trailers = (b0 & 0x80) != 0;
	r->chunks_fnv = FNV_START;
	r->trailers_fnv = FNV_START;
	if (r->verify)
		r->expect = chain_new();
}

static int documented_error(const struct run *r, int rv)
{
	switch (rv) {
	case SV4_ERR_CHUNK_MALFORMED:
	case SV4_ERR_CHUNK_TOO_LARGE:
	case SV4_ERR_CHUNK_TRUNCATED:
	case SV4_ERR_CRYPTO: return 1;
	case SV4_ERR_CHUNK_SIGNATURE:
	case SV4_ERR_TRAILER_SIGNATURE: return r->verify;
	case CHUNK_FN_FAILED: return r->fail_chunk != 0;
	case TRAILERS_FN_FAILED: return r->fail_trailers;
	default: return 0;
	}
}

static struct sv4_dechunk *dechunk_new(struct run *r, struct sv4_chain *verify, int callbacks)
{
	struct sv4_dechunk *d = sv4_dechunk_new(r->kind, r->max_chunk, verify, callbacks ? on_chunk : NULL,
	                                        callbacks ? on_trailers : NULL, r);
	if (d == NULL)
		violated("sv4_dechunk_new failed");
	return d;
}

/* After feed() or finish() said |rv|: record it, and check that the
 * decoder keeps saying it (|rest| bytes were left to feed). */
static void ended(struct run *r, struct sv4_dechunk *d, int rv, const unsigned char *rest, size_t restlen,
                  size_t bodylen)
{
	uint64_t off = UINT64_MAX, decoded = UINT64_MAX;
	const char *what = sv4_dechunk_error(d, &off);

	r->rv = rv;
	if (what == NULL)
		violated("sv4_dechunk_error returned NULL");
	if (rv == 0) {
		r->decoded = 0;
		return;
	}
	if (!documented_error(r, rv))
		violated("an undocumented error code");
	if (off > bodylen)
		violated("the error offset lies past the body");
	r->erroff = off;
	r->what = what;
	if (rv == SV4_ERR_CHUNK_TRUNCATED && (restlen != 0 || off != bodylen))
		violated("truncated, but bytes were left, or not at the end");
	/* The decoder refuses more after an error, even nothing more. */
	static const unsigned char more[1] = {'0'};
	if (sv4_dechunk_feed(d, restlen > 0 ? rest : more, restlen > 0 ? restlen : 1) != rv ||
	    sv4_dechunk_feed(d, more, 0) != rv)
		violated("feed() after an error does not return the same error");
	if (sv4_dechunk_finish(d, &decoded) != rv || decoded != UINT64_MAX)
		violated("finish() after an error does not return the same error, or writes the length");
}

/* Feeds |body| in one call, then finishes. */
static void run_whole(struct run *r, const unsigned char *body, size_t len, int callbacks)
{
	struct sv4_chain *verify = r->verify ? chain_new() : NULL;
	struct sv4_dechunk *d = dechunk_new(r, verify, callbacks);
	int rv = sv4_dechunk_feed(d, body, len);
	if (rv != 0) {
		ended(r, d, rv, NULL, 0, len);
	} else {
		uint64_t decoded = UINT64_MAX;
		rv = sv4_dechunk_finish(d, &decoded);
		ended(r, d, rv, NULL, 0, len);
		if (rv == 0) {
			r->decoded = decoded;
			uint64_t again = UINT64_MAX;
			if (sv4_dechunk_finish(d, &again) != 0 || again != decoded)
				violated("finish() twice gives another result");
			if (sv4_dechunk_feed(d, (const unsigned char *)"0", 1) != SV4_ERR_CHUNK_MALFORMED)
				violated("bytes after the end of the body are not malformed");
		}
	}
	sv4_dechunk_del(d);
	sv4_chain_del(verify);
}

/* Feeds |body| in the pieces |splits| says, then finishes. */
static void run_split(struct run *r, const unsigned char *body, size_t len, const uint8_t *splits,
                      size_t nsplits)
{
	struct sv4_chain *verify = r->verify ? chain_new() : NULL;
	struct sv4_dechunk *d = dechunk_new(r, verify, 1);
	size_t at = 0, k = 0;
	int rv = 0;

	while (at < len) {
		size_t n = nsplits > 0 ? splits[k++ % nsplits] : 1;
		if (n == 0) {
			if ((rv = sv4_dechunk_feed(d, body + at, 0)) != 0)
				violated("an empty feed() before any error fails");
			n = 1;
		}
		if (n > len - at)
			n = len - at;
		rv = sv4_dechunk_feed(d, body + at, n);
		at += n;
		if (rv != 0)
			break;
	}
	if (rv != 0) {
		ended(r, d, rv, body + at, len - at, len);
	} else {
		uint64_t decoded = UINT64_MAX;
		rv = sv4_dechunk_finish(d, &decoded);
		ended(r, d, rv, NULL, 0, len);
		if (rv == 0)
			r->decoded = decoded;
	}
	sv4_dechunk_del(d);
	sv4_chain_del(verify);
}

static void check_success(const struct run *r)
{
	if (r->rv != 0)
		return;
	if (!r->ended || r->bytes != r->decoded)
		violated(
		    "success without the final chunk, or the chunks do not add up to the decoded length");
	if (r->kind != SV4_CHUNKED_SIGNED && r->trailer_calls != 1)
		violated("a body with trailers decoded without one call of the trailers callback");
	if (r->trailer_calls > 1)
		violated("the trailers callback called more than once");
}

static int same_run(const struct run *a, const struct run *b)
{
	return a->rv == b->rv && a->decoded == b->decoded && a->chunks == b->chunks && a->bytes == b->bytes &&
	       a->chunks_fnv == b->chunks_fnv && a->ended == b->ended &&
	       a->trailer_calls == b->trailer_calls && a->trailers_fnv == b->trailers_fnv &&
	       a->erroff == b->erroff && a->what == b->what;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0;
	size_t skip = size < 2 ? size : 2;
	size_t nsplits = b1 & 15;
	struct run whole, split, bare;

	if (signer == NULL && (signer = sv4_signer_new()) == NULL)
		violated("sv4_signer_new failed");
	if (nsplits > size - skip)
		nsplits = size - skip;
	const uint8_t *splits = data + skip;
	const unsigned char *body = data + skip + nsplits;
	size_t len = size - skip - nsplits;

	struct bytes framed = {NULL, 0, 0};
	run_init(&whole, b0);
	if (whole.kind != SV4_CHUNKED_UNSIGNED_TRAILER && whole.fail_chunk == 0 && !whole.fail_trailers)
		whole.framed = &framed;
	run_whole(&whole, body, len, 1);
	check_success(&whole);
	run_init(&split, b0);
	run_split(&split, body, len, splits, nsplits);
	check_success(&split);
	if (!same_run(&whole, &split))
		violated("feeding the body whole and in pieces gives different results");

	/* Without callbacks nothing can fail in them: the same result as
	 * with them, as long as they did not fail. */
	run_init(&bare, b0);
	run_whole(&bare, body, len, 0);
	if (whole.rv != CHUNK_FN_FAILED && whole.rv != TRAILERS_FN_FAILED &&
	    (bare.rv != whole.rv || bare.decoded != whole.decoded || bare.erroff != whole.erroff))
		violated("decoding without callbacks gives another result");

	/* Framed again from the chunks and signatures that decoded: the same. */
	if (whole.rv == 0 && whole.framed != NULL) {
		struct run again;
		run_init(&again, b0);
		run_whole(&again, framed.p, framed.len, 1);
		if (again.rv != 0 || again.decoded != whole.decoded || again.chunks_fnv != whole.chunks_fnv ||
		    again.trailers_fnv != whole.trailers_fnv)
			violated(
			    "a body framed again by sv4_chunk_line and sv4_trailer_lines decodes otherwise");
		sv4_chain_del(again.expect);
	}
	free(framed.p);

	sv4_chain_del(whole.expect);
	sv4_chain_del(split.expect);
	sv4_chain_del(bare.expect);
	return 0;
}
