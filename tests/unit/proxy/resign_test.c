/* SPDX-License-Identifier: Apache-2.0 */
/* resign_test.c: the credential scope parser's refusals and payload modes, header hygiene, and the re-signer's limits (botocore checks the signatures: resign-botocore.test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/pipeline.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) lit, sizeof(lit) - 1
#define NOW INT64_C(1440938160) /* 2015-08-30T12:36:00Z */

#define SIG64 "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
#define CRED "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request"
#define GOOD_AUTH "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=content-type;host;x-amz-date, Signature=" SIG64

static struct px_target target(const char *host)
{
	struct px_target t;
	memset(&t, 0, sizeof(t));
	struct px_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.aws.partitions = 0x1f;
	cfg.aws.allow_customer_endpoints = true;
	struct sv4_header h = {S("x-forwarded-host"), host, strlen(host)};
	struct px_refusal why;
	assert_int_equal(px_target_decide(&cfg, &h, 1, &t, &why), 0);
	return t;
}

struct scope_case {
	const char *name;
	const char *host;
	const char *auth;   /* NULL: none */
	const char *sha;    /* X-Amz-Content-Sha256; NULL: none */
	const char *query;
	int64_t clen;
	enum px_reason reason;
	enum px_sigkind kind;
	enum px_payload payload;
	const char *region, *service;
};

#define PRE_Q(extra)                                                                                               \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-west-2%2Fs3%2Faws4_request"      \
	"&X-Amz-Date=20150830T123000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=" SIG64 extra

static const struct scope_case scope_cases[] = {
	{"header", "iam.amazonaws.com", GOOD_AUTH, NULL, "", 10, PX_R_NONE, PX_SIG_HEADER, PX_PAYLOAD_BUFFER,
	 "us-east-1", "iam"},
	{"header-no-body", "iam.amazonaws.com", GOOD_AUTH, NULL, "", 0, PX_R_NONE, PX_SIG_HEADER, PX_PAYLOAD_NONE,
	 "us-east-1", "iam"},
	{"header-unknown-length", "iam.amazonaws.com", GOOD_AUTH, NULL, "", -1, PX_R_NONE, PX_SIG_HEADER,
	 PX_PAYLOAD_BUFFER, "us-east-1", "iam"},
	{"header-hex", "iam.amazonaws.com", GOOD_AUTH, SV4_EMPTY_SHA256, "", 0, PX_R_NONE, PX_SIG_HEADER,
	 PX_PAYLOAD_STREAM, "us-east-1", "iam"},
	{"header-unsigned-payload", "s3.amazonaws.com", GOOD_AUTH, "UNSIGNED-PAYLOAD", "", 5, PX_R_NONE,
	 PX_SIG_HEADER, PX_PAYLOAD_STREAM, "us-east-1", "iam"},
	{"header-chunked", "s3.amazonaws.com", GOOD_AUTH, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "", 5, PX_R_NONE,
	 PX_SIG_HEADER, PX_PAYLOAD_CHUNKED, "us-east-1", "iam"},
	{"header-chunked-trailer", "s3.amazonaws.com", GOOD_AUTH, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "",
	 5, PX_R_NONE, PX_SIG_HEADER, PX_PAYLOAD_CHUNKED, "us-east-1", "iam"},
	{"header-unsigned-trailer", "s3.amazonaws.com", GOOD_AUTH, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "", 5,
	 PX_R_NONE, PX_SIG_HEADER, PX_PAYLOAD_UNSIGNED_TRAILER, "us-east-1", "iam"},
	{"header-events", "s3.amazonaws.com", GOOD_AUTH, "STREAMING-AWS4-HMAC-SHA256-EVENTS", "", 5,
	 PX_R_SIGNATURE_UNSUPPORTED, 0, 0, NULL, NULL},
	{"header-upper-hex", "s3.amazonaws.com", GOOD_AUTH,
	 "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0,
	 NULL, NULL},
	{"sigv4a", "s3.amazonaws.com", "AWS4-ECDSA-P256-SHA256 Credential=x", NULL, "", 0,
	 PX_R_SIGNATURE_UNSUPPORTED, 0, 0, NULL, NULL},
	{"sigv2", "s3.amazonaws.com", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", NULL, "", 0,
	 PX_R_SIGNATURE_UNSUPPORTED, 0, 0, NULL, NULL},
	{"bearer", "s3.amazonaws.com", "Bearer x", NULL, "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"no-signature", "iam.amazonaws.com", "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host", NULL, "", 0,
	 PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"credential-twice", "iam.amazonaws.com", GOOD_AUTH ", " CRED, NULL, "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0,
	 NULL, NULL},
	{"unknown-part", "iam.amazonaws.com", GOOD_AUTH ", Extra=1", NULL, "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0,
	 NULL, NULL},
	{"short-signature", "iam.amazonaws.com", "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=abc",
	 NULL, "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"signed-headers-without-host", "iam.amazonaws.com",
	 "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-date, Signature=" SIG64, NULL, "", 0,
	 PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"credential-four-parts", "iam.amazonaws.com",
	 "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/aws4_request, SignedHeaders=host, Signature=" SIG64,
	 NULL, "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"credential-bad-region", "iam.amazonaws.com",
	 "AWS4-HMAC-SHA256 Credential=AKID/20150830/US_EAST/iam/aws4_request, SignedHeaders=host, Signature=" SIG64,
	 NULL, "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"credential-bad-date", "iam.amazonaws.com",
	 "AWS4-HMAC-SHA256 Credential=AKID/2015083/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=" SIG64,
	 NULL, "", 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"presigned", "b.s3.us-west-2.amazonaws.com", NULL, NULL, PRE_Q(""), 0, PX_R_NONE, PX_SIG_PRESIGNED,
	 PX_PAYLOAD_NONE, "us-west-2", "s3"},
	{"presigned-s3-body", "b.s3.us-west-2.amazonaws.com", NULL, NULL, PRE_Q(""), 4, PX_R_NONE, PX_SIG_PRESIGNED,
	 PX_PAYLOAD_STREAM, "us-west-2", "s3"},
	{"presigned-token", "b.s3.us-west-2.amazonaws.com", NULL, NULL, PRE_Q("&X-Amz-Security-Token=abc"), 0,
	 PX_R_NONE, PX_SIG_PRESIGNED, PX_PAYLOAD_NONE, "us-west-2", "s3"},
	{"presigned-twice", "b.s3.us-west-2.amazonaws.com", NULL, NULL, PRE_Q("&X-Amz-Expires=60"), 0,
	 PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"presigned-missing", "b.s3.us-west-2.amazonaws.com", NULL, NULL, "X-Amz-Algorithm=AWS4-HMAC-SHA256", 0,
	 PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"presigned-and-header", "b.s3.us-west-2.amazonaws.com", GOOD_AUTH, NULL, PRE_Q(""), 0,
	 PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"presigned-sigv2", "b.s3.amazonaws.com", NULL, NULL, "AWSAccessKeyId=AKID&Expires=1&Signature=x", 0,
	 PX_R_SIGNATURE_UNSUPPORTED, 0, 0, NULL, NULL},
	{"presigned-expired", "b.s3.us-west-2.amazonaws.com", NULL, NULL,
	 "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-west-2%2Fs3%2Faws4_request"
	 "&X-Amz-Date=20150830T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=" SIG64,
	 0, PX_R_PRESIGN_EXPIRED, 0, 0, NULL, NULL},
	{"presigned-expires-zero", "b.s3.us-west-2.amazonaws.com", NULL, NULL,
	 "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-west-2%2Fs3%2Faws4_request"
	 "&X-Amz-Date=20150830T123000Z&X-Amz-Expires=0&X-Amz-SignedHeaders=host&X-Amz-Signature=" SIG64,
	 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"presigned-expires-over-week", "b.s3.us-west-2.amazonaws.com", NULL, NULL,
	 "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-west-2%2Fs3%2Faws4_request"
	 "&X-Amz-Date=20150830T123000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=" SIG64,
	 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"presigned-bad-escape", "b.s3.us-west-2.amazonaws.com", NULL, NULL,
	 "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2G20150830%2Fus-west-2%2Fs3%2Faws4_request"
	 "&X-Amz-Date=20150830T123000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=" SIG64,
	 0, PX_R_SIGNATURE_MALFORMED, 0, 0, NULL, NULL},
	{"unsigned-regional", "dynamodb.eu-west-1.amazonaws.com", NULL, NULL, "", 7, PX_R_NONE, PX_SIG_UNSIGNED,
	 PX_PAYLOAD_BUFFER, "eu-west-1", "dynamodb"},
	{"unsigned-global", "iam.amazonaws.com", NULL, NULL, "", 0, PX_R_NONE, PX_SIG_UNSIGNED, PX_PAYLOAD_NONE,
	 "us-east-1", "iam"},
	{"unsigned-s3-body", "bucket.s3.us-west-2.amazonaws.com", NULL, NULL, "", 3, PX_R_NONE, PX_SIG_UNSIGNED,
	 PX_PAYLOAD_STREAM, "us-west-2", "s3"},
	{"unsigned-customer", "ec2-1-2-3-4.us-west-2.compute.amazonaws.com", NULL, NULL, "", 0, PX_R_SCOPE_UNKNOWN,
	 0, 0, NULL, NULL},
};

static void test_scope(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(scope_cases); i++) {
		const struct scope_case *c = &scope_cases[i];
		print_message("# %s\n", c->name);
		struct px_target t = target(c->host);
		struct sv4_header h[3];
		size_t n = 0;
		if (c->auth)
			h[n++] = (struct sv4_header){S("Authorization"), c->auth, strlen(c->auth)};
		if (c->sha)
			h[n++] = (struct sv4_header){S("x-amz-content-sha256"), c->sha, strlen(c->sha)};
		struct sv4_request req = {S("GET"), S("/"), c->query, strlen(c->query), h, n, NULL, 0};
		struct px_scope sc;
		memset(&sc, 0x5a, sizeof(sc));
		struct px_refusal why = {PX_R_NONE, ""};
		int rv = px_scope_parse(&req, &t, c->clen, NOW, &sc, &why);
		if (c->reason != PX_R_NONE) {
			assert_int_equal(rv, PX_ERR_REFUSED);
			assert_string_equal(px_reason_info(why.reason)->name, px_reason_info(c->reason)->name);
			assert_int_equal(sc.region[0], 0x5a);
			continue;
		}
		assert_int_equal(rv, 0);
		assert_string_equal(px_sigkind_name(sc.kind), px_sigkind_name(c->kind));
		assert_string_equal(px_payload_name(sc.payload), px_payload_name(c->payload));
		assert_string_equal(sc.region, c->region);
		assert_string_equal(sc.service, c->service);
		if (c->sha != NULL)
			assert_string_equal(sc.payload_hash, c->sha);
	}
	/* two payload hashes, two Authorization headers */
	struct px_target t = target("s3.amazonaws.com");
	struct sv4_header two[] = {{S("x-amz-content-sha256"), S("UNSIGNED-PAYLOAD")},
	                           {S("X-Amz-Content-Sha256"), S("UNSIGNED-PAYLOAD")},
	                           {S("Authorization"), S(GOOD_AUTH)}};
	struct sv4_request req = {S("GET"), S("/"), S(""), two, 3, NULL, 0};
	struct px_scope sc;
	struct px_refusal why;
	assert_int_equal(px_scope_parse(&req, &t, 0, NOW, &sc, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_SIGNATURE_MALFORMED);
	two[1] = two[2];
	assert_int_equal(px_scope_parse(&req, &t, 0, NOW, &sc, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_SIGNATURE_MALFORMED);
}

static void test_dropped(void **state)
{
	(void)state;
	static const char *const dropped[] = {
		"Host", "authorization", "X-Amz-Date", "x-amz-security-token", "Expect", "Connection", "Keep-Alive",
		"Proxy-Authorization", "proxy-connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Forwarded",
		"X-Forwarded-For", "x-forwarded-host", "X-Awsgate-Role", "x-awsgate-app", ":authority", "",
	};
	static const char *const kept[] = {
		"Content-Type", "Content-Length", "X-Amz-Target", "x-amz-content-sha256", "Content-MD5", "User-Agent",
		"x-amz-meta-proxy-note", "X-Forwardedfor", "x-amz-date-extra", "tes", "hosts",
	};
	for (size_t i = 0; i < LEN(dropped); i++) {
		print_message("# drop %s\n", dropped[i]);
		assert_true(px_header_is_dropped(dropped[i], strlen(dropped[i])));
	}
	for (size_t i = 0; i < LEN(kept); i++) {
		print_message("# keep %s\n", kept[i]);
		assert_false(px_header_is_dropped(kept[i], strlen(kept[i])));
	}
}

static const char *find(const struct px_outreq *o, const char *name)
{
	static char v[4096];
	for (size_t i = 0; i < o->nheaders; i++)
		if (strlen(name) == o->headers[i].namelen && strncasecmp(name, o->headers[i].name, o->headers[i].namelen) == 0) {
			snprintf(v, sizeof(v), "%.*s", (int)o->headers[i].valuelen, o->headers[i].value);
			return v;
		}
	return NULL;
}

static void test_resign(void **state)
{
	(void)state;
	struct sv4_signer *signer = sv4_signer_new();
	assert_non_null(signer);
	struct fed_creds creds = {(char *)(uintptr_t) "ASIAROLE", (char *)(uintptr_t) "secret", (char *)(uintptr_t) "tok",
	                          NOW + 600, false, "test"};
	struct px_target t = target("sts.us-east-1.amazonaws.com");
	struct sv4_header h[] = {
		{S("Host"), S("gate.example.com")},
		{S("Connection"), S("x-a , X-B")},
		{S("X-A"), S("1")},
		{S("x-b"), S("2")},
		{S("X-C"), S("3")},
		{S("Content-Length"), S("43")},
		{S("Content-Type"), S("application/x-www-form-urlencoded")},
		{S("Authorization"), S("AWS4-HMAC-SHA256 Credential=AKUSER/20150830/us-east-1/sts/aws4_request, "
		                       "SignedHeaders=host, Signature=" SIG64)},
		{S("X-Amz-Security-Token"), S("usertoken")},
		{S("X-Forwarded-Host"), S("sts.us-east-1.amazonaws.com")},
	};
	struct sv4_request req = {S("POST"), S("/"), S(""), h, LEN(h), NULL, 0};
	struct px_scope sc;
	struct px_refusal why;
	assert_int_equal(px_scope_parse(&req, &t, 43, NOW, &sc, &why), 0);
	assert_int_equal(sc.payload, PX_PAYLOAD_BUFFER);
	struct px_resign_params p = {&creds, NOW, NOW + 3600, NULL, NULL, 0, false, -1};
	struct px_outreq o;
	memset(&o, 0, sizeof(o));
	/* buffered without the body's hash: the caller's mistake */
	assert_int_equal(px_resign(signer, &req, &t, &sc, &p, &o, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_INTERNAL);
	assert_null(o.mem);
	p.payload_hash = SV4_EMPTY_SHA256;
	p.content_length = 7;
	assert_int_equal(px_resign(signer, &req, &t, &sc, &p, &o, &why), 0);
	assert_string_equal(find(&o, "host"), "sts.us-east-1.amazonaws.com");
	assert_null(find(&o, "x-a"));
	assert_null(find(&o, "x-b"));
	assert_null(find(&o, "connection"));
	assert_null(find(&o, "x-forwarded-host"));
	assert_string_equal(find(&o, "x-c"), "3");
	assert_string_equal(find(&o, "content-length"), "7");
	assert_string_equal(find(&o, "x-amz-security-token"), "tok");
	assert_string_equal(find(&o, "x-amz-date"), "20150830T123600Z");
	assert_non_null(strstr(find(&o, "authorization"), "Credential=ASIAROLE/20150830/us-east-1/sts/aws4_request"));
	assert_null(find(&o, "x-amz-content-sha256"));
	assert_int_equal(o.dropped, 8); /* Host, Connection, X-A, x-b, Content-Length, Authorization, the token, X-Forwarded-Host */
	size_t hosts = 0;
	for (size_t i = 0; i < o.nheaders; i++)
		hosts += o.headers[i].namelen == 4 && strncasecmp(o.headers[i].name, "host", 4) == 0;
	assert_int_equal(hosts, 1);
	assert_int_equal(strlen(o.seed), 64);
	assert_non_null(strstr(find(&o, "authorization"), o.seed));
	px_outreq_free(&o);
	assert_null(o.mem);
	px_outreq_free(&o); /* twice is harmless */

	/* replace_query is what is signed and sent */
	p.replace_query = true;
	p.query = "Action=GetCallerIdentity&Version=2011-06-15";
	p.querylen = strlen(p.query);
	assert_int_equal(px_resign(signer, &req, &t, &sc, &p, &o, &why), 0);
	assert_ptr_equal(o.query, p.query);
	px_outreq_free(&o);

	/* a header value the signer refuses */
	h[4].value = "bad\r\nvalue";
	h[4].valuelen = 10;
	assert_int_equal(px_resign(signer, &req, &t, &sc, &p, &o, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_REQUEST_MALFORMED);
	h[4].value = "3";
	h[4].valuelen = 1;

	/* presigned: the expiry capped by the session and the credentials */
	struct px_target s3 = target("b.s3.us-west-2.amazonaws.com");
	struct sv4_request pre = {S("GET"), S("/k"), S(PRE_Q("&x-id=GetObject")), h, 1, NULL, 0};
	assert_int_equal(px_scope_parse(&pre, &s3, 0, NOW, &sc, &why), 0);
	struct px_resign_params pp = {&creds, NOW, NOW + 120, NULL, NULL, 0, false, -1};
	assert_int_equal(px_resign(signer, &pre, &s3, &sc, &pp, &o, &why), 0);
	assert_non_null(strstr(o.query, "X-Amz-Expires=120"));
	assert_non_null(strstr(o.query, "X-Amz-Credential=ASIAROLE%2F20150830%2Fus-west-2%2Fs3%2Faws4_request"));
	assert_non_null(strstr(o.query, "X-Amz-Security-Token=tok"));
	assert_non_null(strstr(o.query, "x-id=GetObject"));
	assert_null(strstr(o.query, "AKID"));
	assert_null(find(&o, "authorization"));
	px_outreq_free(&o);
	pp.session_end = NOW + 100000;
	assert_int_equal(px_resign(signer, &pre, &s3, &sc, &pp, &o, &why), 0);
	assert_non_null(strstr(o.query, "X-Amz-Expires=600")); /* the credentials' expiry */
	px_outreq_free(&o);
	pp.session_end = NOW;
	assert_int_equal(px_resign(signer, &pre, &s3, &sc, &pp, &o, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_SESSION_TOO_SHORT);

	/* no credentials */
	struct px_resign_params none = {NULL, NOW, NOW + 60, NULL, NULL, 0, false, -1};
	assert_int_equal(px_resign(signer, &pre, &s3, &sc, &none, &o, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_INTERNAL);
	sv4_signer_del(signer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_resign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
