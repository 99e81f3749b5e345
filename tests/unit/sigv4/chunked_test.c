/* SPDX-License-Identifier: Apache-2.0 */
/* chunked_test.c: the chunk-signature chain against AWS's published example, and the aws-chunked decoder's edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigv4/sigv4.h"

/* AWS's S3 chunked-upload example ("Signature Calculations for the
 * Authorization Header: Transferring Payload in Multiple Chunks"): 66560
 * bytes of 'a' in chunks of 65536 and 1024. */
#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE "20130524T000000Z"
#define EX_SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define EX_SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define EX_SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define EX_SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"

struct body {
	unsigned char *p;
	size_t len;
};

static void add(struct body *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	assert_non_null(b->p);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void adds(struct body *b, const char *s)
{
	add(b, s, strlen(s));
}

static void add_as(struct body *b, size_t n)
{
	unsigned char *a = malloc(n);
	assert_non_null(a);
	memset(a, 'a', n);
	add(b, a, n);
	free(a);
}

/* The example's encoded body. */
static struct body example_body(void)
{
	struct body b = {NULL, 0};
	adds(&b, "10000;chunk-signature=" EX_SIG1 "\r\n");
	add_as(&b, 65536);
	adds(&b, "\r\n400;chunk-signature=" EX_SIG2 "\r\n");
	add_as(&b, 1024);
	adds(&b, "\r\n0;chunk-signature=" EX_SIG3 "\r\n\r\n");
	return b;
}

struct seen {
	size_t chunks;
	uint64_t bytes;
	int all_a;
	char trailers[512];
	size_t trailerslen;
	int trailers_called;
};

static int on_chunk(void *arg, const unsigned char *data, size_t len, const char *hash, const char *sig)
{
	struct seen *s = arg;
	char want[65];
	assert_int_equal(sv4_sha256_hex(data, len, want), 0);
	assert_string_equal(hash, want);
	(void)sig;
	for (size_t i = 0; i < len; i++)
		if (data[i] != 'a')
			s->all_a = 0;
	s->chunks++;
	s->bytes += len;
	return 0;
}

static int on_trailers(void *arg, const char *canonical, size_t len, const char *sig)
{
	struct seen *s = arg;
	(void)sig;
	assert_true(len < sizeof(s->trailers));
	memcpy(s->trailers, canonical, len);
	s->trailerslen = len;
	s->trailers_called++;
	return 0;
}

/* Feeds |b| in pieces of |step| bytes (0: all at once); returns the first error. */
static int feed(enum sv4_chunked_kind kind, const struct body *b, size_t step, size_t max_chunk, int verify,
                struct seen *seen, uint64_t *decoded)
{
	struct sv4_signer *s = sv4_signer_new();
	assert_non_null(s);
	struct sv4_chain *c = NULL;
	if (verify) {
		c = sv4_chain_new(s, EX_SECRET, EX_DATE, "us-east-1", "s3", EX_SEED);
		assert_non_null(c);
	}
	memset(seen, 0, sizeof(*seen));
	seen->all_a = 1;
	struct sv4_dechunk *d = sv4_dechunk_new(kind, max_chunk, c, on_chunk, on_trailers, seen);
	assert_non_null(d);
	int rv = 0;
	for (size_t off = 0; off < b->len && rv == 0;) {
		size_t n = step == 0 || b->len - off < step ? b->len - off : step;
		rv = sv4_dechunk_feed(d, b->p + off, n);
		off += n;
	}
	if (rv == 0)
		rv = sv4_dechunk_finish(d, decoded);
	sv4_dechunk_del(d);
	sv4_chain_del(c);
	sv4_signer_del(s);
	return rv;
}

static void test_chain_reproduces_aws_example(void **state)
{
	(void)state;
	struct sv4_signer *s = sv4_signer_new();
	struct sv4_chain *c = sv4_chain_new(s, EX_SECRET, EX_DATE, "us-east-1", "s3", EX_SEED);
	assert_non_null(c);
	unsigned char *a = malloc(65536);
	assert_non_null(a);
	memset(a, 'a', 65536);
	char h[65], sig[65];
	assert_int_equal(sv4_sha256_hex(a, 65536, h), 0);
	assert_int_equal(sv4_chain_chunk(c, h, sig), 0);
	assert_string_equal(sig, EX_SIG1);
	assert_int_equal(sv4_sha256_hex(a, 1024, h), 0);
	assert_int_equal(sv4_chain_chunk(c, h, sig), 0);
	assert_string_equal(sig, EX_SIG2);
	assert_int_equal(sv4_sha256_hex(a, 0, h), 0);
	assert_int_equal(sv4_chain_chunk(c, h, sig), 0);
	assert_string_equal(sig, EX_SIG3);
	free(a);
	sv4_chain_del(c);
	sv4_signer_del(s);
}

/* AWS's trailing-headers example: the same data and key, trailer
 * x-amz-checksum-crc32c. The trailer's string to sign starts with
 * AWS4-HMAC-SHA256-TRAILER, as the page documents and aws-c-auth does; some
 * copies of the page's result (63bddb24...) match a PAYLOAD prefix instead. */
static void test_chain_reproduces_aws_trailer_example(void **state)
{
	(void)state;
	static const char *const want[] = {
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	};
	static const size_t sizes[] = {65536, 1024, 0};
	struct sv4_signer *s = sv4_signer_new();
	struct sv4_chain *c = sv4_chain_new(s, EX_SECRET, EX_DATE, "us-east-1", "s3",
	                                    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
	assert_non_null(c);
	unsigned char *a = malloc(65536);
	assert_non_null(a);
	memset(a, 'a', 65536);
	char h[65], sig[65];
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(sv4_sha256_hex(a, sizes[i], h), 0);
		assert_int_equal(sv4_chain_chunk(c, h, sig), 0);
		assert_string_equal(sig, want[i]);
	}
	static const char trailers[] = "x-amz-checksum-crc32c:sOO8/Q==\n";
	assert_int_equal(sv4_chain_trailer(c, trailers, sizeof(trailers) - 1, sig), 0);
	assert_string_equal(sig, "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
	free(a);
	sv4_chain_del(c);
	sv4_signer_del(s);
}

static void test_chain_rejects_bad_scope(void **state)
{
	(void)state;
	struct sv4_signer *s = sv4_signer_new();
	assert_null(sv4_chain_new(s, EX_SECRET, "20130524", "us-east-1", "s3", EX_SEED));
	assert_null(sv4_chain_new(s, EX_SECRET, EX_DATE, "US-EAST-1", "s3", EX_SEED));
	assert_null(sv4_chain_new(s, EX_SECRET, EX_DATE, "us-east-1", "s3", "4f23"));
	assert_null(sv4_chain_new(s, "", EX_DATE, "us-east-1", "s3", EX_SEED));
	sv4_signer_del(s);
}

/* The example decodes and verifies however the bytes arrive. */
static void test_decode_example_any_split(void **state)
{
	(void)state;
	struct body b = example_body();
	static const size_t steps[] = {0, 1, 2, 3, 7, 64, 100, 4096, 65537};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct seen seen;
		uint64_t decoded = 0;
		assert_int_equal(feed(SV4_CHUNKED_SIGNED, &b, steps[i], 65536, 1, &seen, &decoded), 0);
		assert_int_equal(decoded, 66560);
		assert_int_equal(seen.chunks, 3); /* the final, empty chunk too */
		assert_int_equal(seen.bytes, 66560);
		assert_true(seen.all_a);
	}
	free(b.p);
}

/* Each row spoils the example one way; the decoder must say how. */
static void test_decode_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *find, *replace; /* first occurrence in the body */
		size_t truncate;            /* drop this many bytes at the end */
		const char *append;
		size_t max_chunk;
		int want;
	} rows[] = {
		{"data bit flipped", "aaaa", "aaab", 0, NULL, 65536, SV4_ERR_CHUNK_SIGNATURE},
		{"signature digit changed", "ad80c730", "ad80c731", 0, NULL, 65536, SV4_ERR_CHUNK_SIGNATURE},
		{"final signature changed", "b6c6ea8a", "b6c6ea8b", 0, NULL, 65536, SV4_ERR_CHUNK_SIGNATURE},
		{"size larger than the data", "400;", "401;", 0, NULL, 65536, SV4_ERR_CHUNK_MALFORMED},
		{"size not hex", "400;", "4g0;", 0, NULL, 65536, SV4_ERR_CHUNK_MALFORMED},
		{"upper-case signature", "ad80c730", "AD80C730", 0, NULL, 65536, SV4_ERR_CHUNK_MALFORMED},
		{"other extension", ";chunk-signature=ad80", ";chunk-signaturX=ad80", 0, NULL, 65536,
		 SV4_ERR_CHUNK_MALFORMED},
		{"bare LF after the size line", EX_SIG1 "\r\n", EX_SIG1 "\n", 0, NULL, 65536, SV4_ERR_CHUNK_MALFORMED},
		{"missing final chunk", NULL, NULL, 86, NULL, 65536, SV4_ERR_CHUNK_TRUNCATED},
		{"missing final empty line", NULL, NULL, 2, NULL, 65536, SV4_ERR_CHUNK_TRUNCATED},
		{"bytes after the end", NULL, NULL, 0, "x", 65536, SV4_ERR_CHUNK_MALFORMED},
		{"chunk over the maximum", NULL, NULL, 0, NULL, 65535, SV4_ERR_CHUNK_TOO_LARGE},
		{"absurd size", "10000;", "fffffffffffffffff;", 0, NULL, 65536, SV4_ERR_CHUNK_TOO_LARGE},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct body b = example_body();
		if (rows[i].find != NULL) {
			unsigned char *at = NULL;
			size_t flen = strlen(rows[i].find), rlen = strlen(rows[i].replace);
			for (size_t j = 0; j + flen <= b.len && at == NULL; j++)
				if (memcmp(b.p + j, rows[i].find, flen) == 0)
					at = b.p + j;
			assert_non_null(at);
			size_t off = (size_t)(at - b.p);
			struct body nb = {NULL, 0};
			add(&nb, b.p, off);
			add(&nb, rows[i].replace, rlen);
			add(&nb, b.p + off + flen, b.len - off - flen);
			free(b.p);
			b = nb;
		}
		b.len -= rows[i].truncate;
		if (rows[i].append != NULL)
			adds(&b, rows[i].append);
		struct seen seen;
		uint64_t decoded;
		int rv = feed(SV4_CHUNKED_SIGNED, &b, 0, rows[i].max_chunk, 1, &seen, &decoded);
		if (rv != rows[i].want)
			print_error("row '%s': got %d (%s), want %d\n", rows[i].name, rv, sv4_strerror(rv), rows[i].want);
		assert_int_equal(rv, rows[i].want);
		free(b.p);
	}
}

/* Without a chain the structure is still checked, signatures are not. */
static void test_decode_without_verifying(void **state)
{
	(void)state;
	struct body b = example_body();
	b.p[100] = 'b';
	struct seen seen;
	uint64_t decoded;
	assert_int_equal(feed(SV4_CHUNKED_SIGNED, &b, 0, 65536, 0, &seen, &decoded), 0);
	assert_false(seen.all_a);
	free(b.p);
}

static void test_unsigned_trailer(void **state)
{
	(void)state;
	struct body b = {NULL, 0};
	adds(&b, "5\r\nhello\r\n3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32 : sOO8/Q== \r\n\r\n");
	struct seen seen;
	uint64_t decoded;
	assert_int_equal(feed(SV4_CHUNKED_UNSIGNED_TRAILER, &b, 1, 1024, 0, &seen, &decoded), SV4_ERR_CHUNK_MALFORMED);
	free(b.p);

	b = (struct body){NULL, 0};
	adds(&b, "5\r\nhello\r\n3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32: sOO8/Q== \r\n\r\n");
	assert_int_equal(feed(SV4_CHUNKED_UNSIGNED_TRAILER, &b, 1, 1024, 0, &seen, &decoded), 0);
	assert_int_equal(decoded, 8);
	assert_int_equal(seen.trailers_called, 1);
	/* Names lower-cased, values trimmed, one line each. */
	assert_int_equal(seen.trailerslen, strlen("x-amz-checksum-crc32:sOO8/Q==\n"));
	assert_memory_equal(seen.trailers, "x-amz-checksum-crc32:sOO8/Q==\n", seen.trailerslen);
	free(b.p);

	/* A signature extension is not allowed in the unsigned kind. */
	b = (struct body){NULL, 0};
	adds(&b, "5;chunk-signature=" EX_SIG1 "\r\nhello\r\n0\r\n\r\n");
	assert_int_equal(feed(SV4_CHUNKED_UNSIGNED_TRAILER, &b, 0, 1024, 0, &seen, &decoded), SV4_ERR_CHUNK_MALFORMED);
	free(b.p);

	/* Too many trailers. */
	b = (struct body){NULL, 0};
	adds(&b, "0\r\n");
	for (int i = 0; i <= SV4_MAX_TRAILERS; i++)
		adds(&b, "x-amz-meta:1\r\n");
	adds(&b, "\r\n");
	assert_int_equal(feed(SV4_CHUNKED_UNSIGNED_TRAILER, &b, 0, 1024, 0, &seen, &decoded), SV4_ERR_CHUNK_TOO_LARGE);
	free(b.p);
}

/* The signed-trailer kind, built with the chain: the trailer signature is
 * checked, and the trailer must be the last line. */
static void test_signed_trailer(void **state)
{
	(void)state;
	struct sv4_signer *s = sv4_signer_new();
	struct sv4_chain *c = sv4_chain_new(s, EX_SECRET, EX_DATE, "us-east-1", "s3", EX_SEED);
	char h[65], sig1[65], sig0[65], tsig[65];
	assert_int_equal(sv4_sha256_hex("hello", 5, h), 0);
	assert_int_equal(sv4_chain_chunk(c, h, sig1), 0);
	assert_int_equal(sv4_sha256_hex("", 0, h), 0);
	assert_int_equal(sv4_chain_chunk(c, h, sig0), 0);
	static const char canon[] = "x-amz-checksum-crc32:NhCmhg==\n";
	assert_int_equal(sv4_chain_trailer(c, canon, sizeof(canon) - 1, tsig), 0);
	sv4_chain_del(c);
	sv4_signer_del(s);

	char text[512];
	snprintf(text, sizeof(text),
	         "5;chunk-signature=%s\r\nhello\r\n0;chunk-signature=%s\r\nx-amz-checksum-crc32:NhCmhg==\r\n"
	         "x-amz-trailer-signature:%s\r\n\r\n",
	         sig1, sig0, tsig);
	struct body b = {NULL, 0};
	adds(&b, text);
	struct seen seen;
	uint64_t decoded;
	assert_int_equal(feed(SV4_CHUNKED_SIGNED_TRAILER, &b, 3, 1024, 1, &seen, &decoded), 0);
	assert_int_equal(decoded, 5);
	free(b.p);

	/* A changed trailer value with the old signature. */
	char *bad = strstr(text, "NhCmhg");
	bad[0] = 'M';
	b = (struct body){NULL, 0};
	adds(&b, text);
	assert_int_equal(feed(SV4_CHUNKED_SIGNED_TRAILER, &b, 0, 1024, 1, &seen, &decoded), SV4_ERR_TRAILER_SIGNATURE);
	free(b.p);
	bad[0] = 'N';

	/* No trailer signature at all. */
	char *ts = strstr(text, "x-amz-trailer-signature");
	memcpy(ts, "\r\n", 3);
	b = (struct body){NULL, 0};
	adds(&b, text);
	assert_int_equal(feed(SV4_CHUNKED_SIGNED_TRAILER, &b, 0, 1024, 1, &seen, &decoded), SV4_ERR_CHUNK_MALFORMED);
	free(b.p);
}

/* The encoder's lines give the example's bytes (AWS's published layout). */
static void test_encode_lines(void **state)
{
	(void)state;
	struct body want = example_body(), got = {NULL, 0};
	char line[SV4_MAX_CHUNK_LINE];
	add(&got, line, sv4_chunk_line(line, 65536, EX_SIG1));
	add_as(&got, 65536);
	adds(&got, "\r\n");
	add(&got, line, sv4_chunk_line(line, 1024, EX_SIG2));
	add_as(&got, 1024);
	adds(&got, "\r\n");
	add(&got, line, sv4_chunk_line(line, 0, EX_SIG3));
	adds(&got, "\r\n");
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);
	free(got.p);
	free(want.p);

	static const char canon[] = "x-amz-checksum-crc32c:sOO8/Q==\nx-amz-meta-a:b\n";
	char text[256];
	size_t n = sv4_trailer_lines(text, canon, sizeof(canon) - 1, EX_SIG1);
	static const char expect[] = "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-meta-a:b\r\n"
	                             "x-amz-trailer-signature:" EX_SIG1 "\r\n\r\n";
	assert_int_equal(n, sizeof(expect) - 1);
	assert_memory_equal(text, expect, n);
}

static void test_kinds(void **state)
{
	(void)state;
	static const char *const names[] = {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
	                                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
	                                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "UNSIGNED-PAYLOAD",
	                                    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"};
	static const enum sv4_chunked_kind want[] = {SV4_CHUNKED_SIGNED, SV4_CHUNKED_SIGNED_TRAILER,
	                                             SV4_CHUNKED_UNSIGNED_TRAILER, SV4_CHUNKED_NONE, SV4_CHUNKED_NONE};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(sv4_chunked_kind(names[i], strlen(names[i])), want[i]);
	assert_null(sv4_dechunk_new(SV4_CHUNKED_NONE, 1024, NULL, NULL, NULL, NULL));
	assert_null(sv4_dechunk_new(SV4_CHUNKED_SIGNED, 0, NULL, NULL, NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_reproduces_aws_example),
		cmocka_unit_test(test_chain_reproduces_aws_trailer_example),
		cmocka_unit_test(test_chain_rejects_bad_scope),
		cmocka_unit_test(test_decode_example_any_split),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_without_verifying),
		cmocka_unit_test(test_unsigned_trailer),
		cmocka_unit_test(test_signed_trailer),
		cmocka_unit_test(test_encode_lines),
		cmocka_unit_test(test_kinds),
	};
	return cmocka_run_group_tests_name("sigv4 aws-chunked", tests, NULL, NULL);
}
