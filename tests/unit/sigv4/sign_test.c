/* SPDX-License-Identifier: Apache-2.0 */
/* sign_test.c: sv4_sign() validation, limits, the key cache and the rules around the canonical form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigv4/sigv4.h"

#define AK "AKIDEXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T20150830 INT64_C(1440938160) /* 2015-08-30T12:36:00Z */

/* AWS's published signature of the suite's get-vanilla-query-order-key-case. */
#define VANILLA_SIG "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"

struct fixture {
	struct sv4_signer *s;
	struct sv4_credentials creds;
	struct sv4_sign_params p;
	struct sv4_header h[SV4_MAX_HEADERS + 2];
	struct sv4_request r;
	struct sv4_signed out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->s = sv4_signer_new();
	assert_non_null(f->s);
	f->creds = (struct sv4_credentials){AK, SK, NULL};
	f->p.creds = &f->creds;
	f->p.region = "us-east-1";
	f->p.service = "service";
	f->p.time = T20150830;
	f->p.mode = SV4_MODE_HEADER;
	f->p.expires = 3600;
	f->h[0] = (struct sv4_header){"Host", 4, "example.amazonaws.com", 21};
	f->r = (struct sv4_request){"GET", 3, "/", 1, "Param2=value2&Param1=value1", 27, f->h, 1, NULL, 0};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sv4_signer_del(f->s);
	free(f);
	return 0;
}

static int sign(struct fixture *f)
{
	return sv4_sign(f->s, &f->r, &f->p, &f->out);
}

static void test_published_vector(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(sign(f), 0);
	assert_string_equal(f->out.signature, VANILLA_SIG);
	assert_string_equal(f->out.date, "20150830T123600Z");
	assert_false(f->out.add_content_sha256);
	assert_false(f->out.add_session_token);
}

/* Each row breaks one input; the error says which. */
static void test_rejects_bad_params(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		const char *ak, *sk, *token, *region, *service;
		int64_t time;
		int mode;
		uint32_t expires;
		const char *payload;
		int want;
	} rows[] = {
		{"empty access key", "", SK, NULL, "us-east-1", "s3", T20150830, 0, 0, NULL, SV4_ERR_BAD_CREDENTIALS},
		{"slash in access key", "AK/X", SK, NULL, "us-east-1", "s3", T20150830, 0, 0, NULL,
		 SV4_ERR_BAD_CREDENTIALS},
		{"space in access key", "AK X", SK, NULL, "us-east-1", "s3", T20150830, 0, 0, NULL,
		 SV4_ERR_BAD_CREDENTIALS},
		{"empty secret", AK, "", NULL, "us-east-1", "s3", T20150830, 0, 0, NULL, SV4_ERR_BAD_CREDENTIALS},
		{"newline in token", AK, SK, "tok\nen", "us-east-1", "s3", T20150830, 0, 0, NULL,
		 SV4_ERR_BAD_CREDENTIALS},
		{"empty token", AK, SK, "", "us-east-1", "s3", T20150830, 0, 0, NULL, SV4_ERR_BAD_CREDENTIALS},
		{"space in a long token", AK, SK, "abcdefghijk mnopqrstuvwxyz", "us-east-1", "s3", T20150830, 0, 0, NULL,
		 SV4_ERR_BAD_CREDENTIALS},
		{"DEL in a long token", AK, SK, "abcdefgh\x7fjklmnop", "us-east-1", "s3", T20150830, 0, 0, NULL,
		 SV4_ERR_BAD_CREDENTIALS},
		{"UTF-8 in a long secret", AK, "abcdefgh\xc3\xa9klmnop", NULL, "us-east-1", "s3", T20150830, 0, 0, NULL,
		 SV4_ERR_BAD_CREDENTIALS},
		{"tab in a long access key", "AKIDEXAM\tPLEAKID", SK, NULL, "us-east-1", "s3", T20150830, 0, 0, NULL,
		 SV4_ERR_BAD_CREDENTIALS},
		{"upper-case region", AK, SK, NULL, "US-EAST-1", "s3", T20150830, 0, 0, NULL, SV4_ERR_BAD_SCOPE},
		{"slash in service", AK, SK, NULL, "us-east-1", "s3/x", T20150830, 0, 0, NULL, SV4_ERR_BAD_SCOPE},
		{"empty region", AK, SK, NULL, "", "s3", T20150830, 0, 0, NULL, SV4_ERR_BAD_SCOPE},
		{"negative time", AK, SK, NULL, "us-east-1", "s3", -1, 0, 0, NULL, SV4_ERR_BAD_TIME},
		{"year 10000", AK, SK, NULL, "us-east-1", "s3", INT64_C(253402300800), 0, 0, NULL, SV4_ERR_BAD_TIME},
		{"presign for 0 s", AK, SK, NULL, "us-east-1", "s3", T20150830, 1, 0, NULL, SV4_ERR_BAD_EXPIRES},
		{"presign past 7 days", AK, SK, NULL, "us-east-1", "s3", T20150830, 1, SV4_MAX_EXPIRES + 1, NULL,
		 SV4_ERR_BAD_EXPIRES},
		{"upper-case hex payload", AK, SK, NULL, "us-east-1", "s3", T20150830, 0, 0,
		 "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", SV4_ERR_BAD_PAYLOAD},
		{"short hex payload", AK, SK, NULL, "us-east-1", "s3", T20150830, 0, 0, "e3b0", SV4_ERR_BAD_PAYLOAD},
		{"unknown payload keyword", AK, SK, NULL, "us-east-1", "s3", T20150830, 0, 0, "UNSIGNED",
		 SV4_ERR_BAD_PAYLOAD},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sv4_credentials c = {rows[i].ak, rows[i].sk, rows[i].token};
		struct sv4_sign_params p = f->p;
		p.creds = &c;
		p.region = rows[i].region;
		p.service = rows[i].service;
		p.time = rows[i].time;
		p.mode = rows[i].mode ? SV4_MODE_QUERY : SV4_MODE_HEADER;
		p.expires = rows[i].expires;
		p.payload_hash = rows[i].payload;
		memset(&f->out, 0x5a, sizeof(f->out));
		int rv = sv4_sign(f->s, &f->r, &p, &f->out);
		if (rv != rows[i].want)
			print_error("row '%s': got %d (%s), want %d\n", rows[i].name, rv, sv4_strerror(rv), rows[i].want);
		assert_int_equal(rv, rows[i].want);
		/* Out-parameters are written only on success. */
		assert_int_equal(((unsigned char *)&f->out)[0], 0x5a);
		assert_int_equal(((unsigned char *)&f->out)[sizeof(f->out) - 1], 0x5a);
	}
}

static void test_rejects_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct sv4_header host = {"Host", 4, "example.amazonaws.com", 21};
	static const struct {
		const char *name;
		const char *method, *path, *query, *hname, *hvalue;
		int want;
	} rows[] = {
		{"empty method", "", "/", "", "X-A", "1", SV4_ERR_BAD_METHOD},
		{"space in method", "G T", "/", "", "X-A", "1", SV4_ERR_BAD_METHOD},
		{"relative path", "GET", "a/b", "", "X-A", "1", SV4_ERR_BAD_PATH},
		{"LF in path", "GET", "/a\nb", "", "X-A", "1", SV4_ERR_BAD_PATH},
		{"fragment in path", "GET", "/a#b", "", "X-A", "1", SV4_ERR_BAD_PATH},
		{"LF in query", "GET", "/", "a=\n", "X-A", "1", SV4_ERR_BAD_QUERY},
		{"broken escape in query", "GET", "/", "a=%4", "X-A", "1", SV4_ERR_BAD_QUERY},
		{"non-hex escape in query", "GET", "/", "a%zz=1", "X-A", "1", SV4_ERR_BAD_QUERY},
		{"space in header name", "GET", "/", "", "X A", "1", SV4_ERR_BAD_HEADER},
		{"empty header name", "GET", "/", "", "", "1", SV4_ERR_BAD_HEADER},
		{"CR in header value", "GET", "/", "", "X-A", "1\r2", SV4_ERR_BAD_HEADER},
		{"control byte in header value", "GET", "/", "", "X-A", "1\x01" "2", SV4_ERR_BAD_HEADER},
		{"DEL in header value", "GET", "/", "", "X-A", "1\x7f", SV4_ERR_BAD_HEADER},
		{"second Host", "GET", "/", "", "host", "other.example.com", SV4_ERR_NO_HOST},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sv4_header h[2] = {host, {rows[i].hname, strlen(rows[i].hname), rows[i].hvalue,
		                                 strlen(rows[i].hvalue)}};
		struct sv4_request r = {rows[i].method, strlen(rows[i].method), rows[i].path, strlen(rows[i].path),
		                        rows[i].query, strlen(rows[i].query), h, 2, NULL, 0};
		int rv = sv4_sign(f->s, &r, &f->p, &f->out);
		if (rv != rows[i].want)
			print_error("row '%s': got %d (%s), want %d\n", rows[i].name, rv, sv4_strerror(rv), rows[i].want);
		assert_int_equal(rv, rows[i].want);
	}
	/* No Host at all. */
	struct sv4_header other = {"X-A", 3, "1", 1};
	struct sv4_request r = {"GET", 3, "/", 1, "", 0, &other, 1, NULL, 0};
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_NO_HOST);
	/* Two payload hashes. */
	struct sv4_header two[3] = {host, {"x-amz-content-sha256", 20, SV4_EMPTY_SHA256, 64},
	                            {"X-Amz-Content-Sha256", 20, SV4_EMPTY_SHA256, 64}};
	r = (struct sv4_request){"GET", 3, "/", 1, "", 0, two, 3, NULL, 0};
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_BAD_HEADER);
}

/* Every limit: at the limit signs, one past it is SV4_ERR_TOO_LARGE. */
static void test_limits(void **state)
{
	struct fixture *f = *state;
	size_t big = SV4_MAX_HEADER_BYTES + SV4_MAX_QUERY + SV4_MAX_PATH + 16;
	char *fill = malloc(big);
	assert_non_null(fill);
	memset(fill, 'a', big);
	fill[0] = '/';

	struct sv4_request r = f->r;
	r.path = fill;
	r.pathlen = SV4_MAX_PATH;
	assert_int_equal(sign(f), 0);
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), 0);
	r.pathlen = SV4_MAX_PATH + 1;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_TOO_LARGE);

	r = f->r;
	r.query = fill + 1;
	r.querylen = SV4_MAX_QUERY;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), 0);
	r.querylen = SV4_MAX_QUERY + 1;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_TOO_LARGE);

	/* Query parameters: "a&a&a..." has one per two bytes. */
	char *amps = malloc(2 * (SV4_MAX_QUERY_PARAMS + 1));
	assert_non_null(amps);
	for (size_t i = 0; i < SV4_MAX_QUERY_PARAMS + 1; i++) {
		amps[2 * i] = 'a';
		amps[2 * i + 1] = '&';
	}
	r = f->r;
	r.query = amps;
	r.querylen = 2 * SV4_MAX_QUERY_PARAMS - 1;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), 0);
	r.querylen = 2 * SV4_MAX_QUERY_PARAMS + 1;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_TOO_LARGE);
	free(amps);

	/* Header count. */
	static char names[SV4_MAX_HEADERS + 1][8];
	f->h[0] = (struct sv4_header){"Host", 4, "example.amazonaws.com", 21};
	for (size_t i = 1; i <= SV4_MAX_HEADERS; i++) {
		snprintf(names[i], sizeof(names[i]), "x-%zu", i);
		f->h[i] = (struct sv4_header){names[i], strlen(names[i]), "v", 1};
	}
	r = f->r;
	r.nheaders = SV4_MAX_HEADERS;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), 0);
	r.nheaders = SV4_MAX_HEADERS + 1;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_TOO_LARGE);

	/* One header's name and value, and all of them together. */
	struct sv4_header h[6] = {{"Host", 4, "example.amazonaws.com", 21}};
	r = f->r;
	r.headers = h;
	r.nheaders = 2;
	h[1] = (struct sv4_header){fill + 1, SV4_MAX_HEADER_NAME, "v", 1};
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), 0);
	h[1].namelen = SV4_MAX_HEADER_NAME + 1;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_TOO_LARGE);
	h[1] = (struct sv4_header){"x-big", 5, fill, SV4_MAX_HEADER_VALUE};
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), 0);
	h[1].valuelen = SV4_MAX_HEADER_VALUE + 1;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_TOO_LARGE);
	for (size_t i = 1; i < 6; i++)
		h[i] = (struct sv4_header){names[i], strlen(names[i]), fill, SV4_MAX_HEADER_VALUE};
	r.nheaders = 5; /* 4 x 16 KiB plus names: over 64 KiB */
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), SV4_ERR_TOO_LARGE);

	/* Credentials. */
	char *longkey = malloc(SV4_MAX_SESSION_TOKEN + 2);
	assert_non_null(longkey);
	memset(longkey, 'K', SV4_MAX_SESSION_TOKEN + 1);
	longkey[SV4_MAX_SESSION_TOKEN + 1] = '\0';
	struct sv4_credentials c = {AK, SK, longkey};
	struct sv4_sign_params p = f->p;
	p.creds = &c;
	assert_int_equal(sv4_sign(f->s, &f->r, &p, &f->out), SV4_ERR_TOO_LARGE);
	longkey[SV4_MAX_SESSION_TOKEN] = '\0';
	assert_int_equal(sv4_sign(f->s, &f->r, &p, &f->out), 0);
	longkey[SV4_MAX_SECRET + 1] = '\0';
	c = (struct sv4_credentials){AK, longkey, NULL};
	assert_int_equal(sv4_sign(f->s, &f->r, &p, &f->out), SV4_ERR_TOO_LARGE);
	longkey[SV4_MAX_ACCESS_KEY + 1] = '\0';
	c = (struct sv4_credentials){longkey, SK, NULL};
	assert_int_equal(sv4_sign(f->s, &f->r, &p, &f->out), SV4_ERR_TOO_LARGE);
	free(longkey);
	free(fill);
}

/* More scopes than cache slots, revisited in another order: each signature
 * must equal what a fresh signer computes. */
static void test_key_cache(void **state)
{
	struct fixture *f = *state;
	static const char *const regions[] = {"us-east-1", "eu-west-1", "ap-south-1", "us-west-2", "sa-east-1",
	                                      "eu-central-1", "ca-central-1", "me-south-1", "af-south-1",
	                                      "il-central-1", "us-gov-west-1", "cn-north-1"};
	static const char *const secrets[] = {SK, "another-secret", "anotherxsecret"};
	char want[12][3][65];
	for (size_t i = 0; i < 12; i++)
		for (size_t k = 0; k < 3; k++) {
			struct sv4_signer *fresh = sv4_signer_new();
			struct sv4_credentials c = {AK, secrets[k], NULL};
			struct sv4_sign_params p = f->p;
			p.creds = &c;
			p.region = regions[i];
			assert_int_equal(sv4_sign(fresh, &f->r, &p, &f->out), 0);
			memcpy(want[i][k], f->out.signature, 65);
			sv4_signer_del(fresh);
		}
	for (size_t round = 0; round < 3; round++)
		for (size_t j = 0; j < 36; j++) {
			size_t i = (j * 7 + round) % 12, k = (j + round) % 3;
			struct sv4_credentials c = {AK, secrets[k], NULL};
			struct sv4_sign_params p = f->p;
			p.creds = &c;
			p.region = regions[i];
			assert_int_equal(sv4_sign(f->s, &f->r, &p, &f->out), 0);
			assert_string_equal(f->out.signature, want[i][k]);
		}
	/* A different day is a different key. */
	struct sv4_sign_params p = f->p;
	assert_int_equal(sv4_sign(f->s, &f->r, &p, &f->out), 0);
	char day1[65];
	memcpy(day1, f->out.signature, 65);
	p.time += 86400;
	assert_int_equal(sv4_sign(f->s, &f->r, &p, &f->out), 0);
	assert_string_not_equal(f->out.signature, day1);
}

static int canonical_has(const struct sv4_signed *o, const char *needle)
{
	char *c = strndup(o->canonical, o->canonicallen);
	assert_non_null(c);
	int found = strstr(c, needle) != NULL;
	free(c);
	return found;
}

static void test_headers_replaced_and_unsigned(void **state)
{
	struct fixture *f = *state;
	struct sv4_header h[] = {
		{"Host", 4, "example.amazonaws.com", 21},
		{"Authorization", 13, "AWS4-HMAC-SHA256 old", 20},
		{"X-Amz-Date", 10, "20000101T000000Z", 16},
		{"User-Agent", 10, "aws-cli/2", 9},
		{"Expect", 6, "100-continue", 12},
		{"X-Amz-Security-Token", 20, "old-token", 9},
		{"x-amz-content-sha256", 20, "UNSIGNED-PAYLOAD", 16},
	};
	struct sv4_request r = {"PUT", 3, "/bucket/key", 11, "", 0, h, 7, NULL, 0};
	struct sv4_credentials c = {AK, SK, "new-token"};
	struct sv4_sign_params p = f->p;
	p.creds = &c;
	p.service = "s3";
	assert_int_equal(sv4_sign(f->s, &r, &p, &f->out), 0);
	assert_true(canonical_has(&f->out, "\nhost;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"));
	assert_true(canonical_has(&f->out, "x-amz-security-token:new-token\n"));
	assert_true(canonical_has(&f->out, "x-amz-date:20150830T123600Z\n"));
	/* The request's own hash is what S3 signs with. */
	assert_true(canonical_has(&f->out, "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	assert_int_equal(f->out.payload_hashlen, 16);
	assert_true(f->out.add_content_sha256);
	assert_true(f->out.add_session_token);
	for (size_t i = 1; i < 7; i++) {
		int replaced = sv4_header_is_replaced(h[i].name, h[i].namelen, &p, &f->out);
		int want = i != 3 && i != 4; /* User-Agent and Expect are sent unsigned */
		assert_int_equal(replaced, want);
	}
	assert_false(sv4_header_is_replaced("Host", 4, &p, &f->out));

	/* Without a token, the request's own X-Amz-Security-Token is kept. */
	c.session_token = NULL;
	assert_int_equal(sv4_sign(f->s, &r, &p, &f->out), 0);
	assert_true(canonical_has(&f->out, "x-amz-security-token:old-token\n"));
	assert_false(sv4_header_is_replaced("x-amz-security-token", 20, &p, &f->out));
}

static void test_presign_replaces_old_signature(void **state)
{
	struct fixture *f = *state;
	static const char q[] = "b=2&X-Amz-Signature=dead&X-Amz-Credential=OLD%2Fx&x-amz-date=keep&a=1";
	struct sv4_request r = f->r;
	r.query = q;
	r.querylen = sizeof(q) - 1;
	f->p.mode = SV4_MODE_QUERY;
	assert_int_equal(sv4_sign(f->s, &r, &f->p, &f->out), 0);
	char *query = strndup(f->out.query, f->out.querylen);
	assert_non_null(query);
	/* The request's order first, then the new parameters; names are
	 * case-sensitive, so x-amz-date is an ordinary parameter. */
	assert_int_equal(strncmp(query, "b=2&x-amz-date=keep&a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
	                                "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
	                                "20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-"
	                                "Signature=",
	                         strlen("b=2&x-amz-date=keep&a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
	                                "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
	                                "20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-"
	                                "Signature=")),
	                 0);
	assert_null(strstr(query, "dead"));
	assert_null(strstr(query, "OLD"));
	free(query);
	assert_null(f->out.authorization);
	f->p.mode = SV4_MODE_HEADER;
}

static void test_service_families(void **state)
{
	(void)state;
	assert_true(sv4_service_is_s3("s3"));
	assert_true(sv4_service_is_s3("s3-object-lambda"));
	assert_true(sv4_service_is_s3("s3-outposts"));
	assert_true(sv4_service_is_s3("s3express"));
	assert_false(sv4_service_is_s3("s3control"));
	assert_false(sv4_service_is_s3("sts"));
	assert_false(sv4_service_is_s3("S3"));
}

static void test_strerror_covers_every_code(void **state)
{
	(void)state;
	for (int e = SV4_ERR_CHUNK_TRUNCATED; e <= SV4_ERR_NOMEM; e++)
		assert_string_not_equal(sv4_strerror(e), "unknown error");
	assert_string_equal(sv4_strerror(-199), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_published_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_bad_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headers_replaced_and_unsigned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presign_replaces_old_signature, setup, teardown),
		cmocka_unit_test(test_service_families),
		cmocka_unit_test(test_strerror_covers_every_code),
	};
	return cmocka_run_group_tests_name("sigv4 sign", tests, NULL, NULL);
}
