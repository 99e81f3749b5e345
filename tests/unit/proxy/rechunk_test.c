/* SPDX-License-Identifier: Apache-2.0 */
/* rechunk_test.c: the aws-chunked re-signer's framing, its refusals and its callback errors (the signatures are checked by the oracle in resign-botocore.test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/pipeline.h"

#define SIG_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SEED "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

struct sink {
	char buf[4096];
	size_t len;
	int fail_at; /* call number that fails (0: none) */
	int calls;
};

static int sink_add(void *arg, const unsigned char *data, size_t len)
{
	struct sink *s = arg;
	if (++s->calls == s->fail_at)
		return -77;
	assert_true(s->len + len <= sizeof(s->buf));
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

static struct px_rechunk *make(struct sv4_signer *signer, enum sv4_chunked_kind kind, size_t max, struct sink *s)
{
	struct px_rechunk *rc = NULL;
	assert_int_equal(px_rechunk_new(signer, kind, max, "secret", "20150830T123600Z", "us-east-1", "s3", SEED,
	                                sink_add, s, &rc),
	                 0);
	return rc;
}

static const char body[] = "5;chunk-signature=" SIG_A "\r\nhello\r\n0;chunk-signature=" SIG_A "\r\n\r\n";
#define S_BAD "5;chunk-signature=" SIG_A "\r\nhelloXX"
static const char trailer_body[] = "5;chunk-signature=" SIG_A "\r\nhello\r\n0;chunk-signature=" SIG_A "\r\n"
                                   "x-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:" SIG_A "\r\n\r\n";

static void test_framing(void **state)
{
	(void)state;
	struct sv4_signer *signer = sv4_signer_new();
	struct px_refusal why;
	uint64_t decoded = 0;
	for (int k = 0; k < 2; k++) {
		const char *in = k ? trailer_body : body;
		size_t inlen = strlen(in);
		static struct sink s;
		memset(&s, 0, sizeof(s));
		struct px_rechunk *rc = make(signer, k ? SV4_CHUNKED_SIGNED_TRAILER : SV4_CHUNKED_SIGNED, 0, &s);
		/* byte by byte: framing never depends on how the bytes arrive */
		for (size_t i = 0; i < inlen; i++)
			assert_int_equal(px_rechunk_feed(rc, (const unsigned char *)in + i, 1, &why), 0);
		assert_int_equal(px_rechunk_finish(rc, &decoded, &why), 0);
		assert_int_equal(decoded, 5);
		assert_int_equal(s.len, inlen); /* same sizes, same length */
		s.buf[s.len] = '\0';
		assert_null(strstr(s.buf, SIG_A)); /* every signature is new */
		assert_memory_equal(s.buf, "5;chunk-signature=", 18);
		assert_non_null(strstr(s.buf, "\r\nhello\r\n0;chunk-signature="));
		if (k)
			assert_non_null(strstr(s.buf, "\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:"));
		px_rechunk_del(rc);
	}
	sv4_signer_del(signer);
}

static void test_refusals(void **state)
{
	(void)state;
	struct sv4_signer *signer = sv4_signer_new();
	struct px_refusal why;
	uint64_t decoded = 0;
	struct px_rechunk *rc = NULL;
	static struct sink s;
	assert_int_equal(px_rechunk_new(signer, SV4_CHUNKED_UNSIGNED_TRAILER, 0, "s", "20150830T123600Z", "us-east-1",
	                                "s3", SEED, sink_add, &s, &rc),
	                 PX_ERR_RANGE);
	assert_null(rc);

	memset(&s, 0, sizeof(s));
	rc = make(signer, SV4_CHUNKED_SIGNED, 0, &s);
	assert_int_equal(px_rechunk_feed(rc, (const unsigned char *)S_BAD, sizeof(S_BAD) - 1, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_REQUEST_MALFORMED);
	/* after an error, more is refused */
	assert_int_equal(px_rechunk_feed(rc, (const unsigned char *)body, 4, &why), PX_ERR_REFUSED);
	px_rechunk_del(rc);

	/* truncated */
	memset(&s, 0, sizeof(s));
	rc = make(signer, SV4_CHUNKED_SIGNED, 0, &s);
	assert_int_equal(px_rechunk_feed(rc, (const unsigned char *)body, 40, &why), 0);
	assert_int_equal(px_rechunk_finish(rc, &decoded, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_REQUEST_MALFORMED);
	px_rechunk_del(rc);

	/* a chunk over the maximum */
	memset(&s, 0, sizeof(s));
	rc = make(signer, SV4_CHUNKED_SIGNED, 4, &s);
	assert_int_equal(px_rechunk_feed(rc, (const unsigned char *)body, sizeof(body) - 1, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_PAYLOAD_TOO_LARGE);
	px_rechunk_del(rc);

	/* the output's error comes back as it was */
	memset(&s, 0, sizeof(s));
	s.fail_at = 2;
	rc = make(signer, SV4_CHUNKED_SIGNED, 0, &s);
	assert_int_equal(px_rechunk_feed(rc, (const unsigned char *)body, sizeof(body) - 1, &why), -77);
	px_rechunk_del(rc);
	px_rechunk_del(NULL);
	sv4_signer_del(signer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
