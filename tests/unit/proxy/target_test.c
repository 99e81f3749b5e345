/* SPDX-License-Identifier: Apache-2.0 */
/* target_test.c: hostile X-Forwarded-Host values, the endpoint decision and the address check, as tables. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "proxy/pipeline.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Expected answers come from INTERFACES.md ("Gate request protocol"):
 * exactly one value, a DNS name, optional :443, lower case, no trailing
 * dot, no userinfo, path, query or fragment, no IP literal, no IDN. */
struct host_case {
	const char *name;
	const char *value;
	size_t len; /* 0: strlen */
	enum px_reason reason; /* PX_R_NONE: accepted */
	const char *host;      /* accepted: the name we keep */
};

static const struct host_case host_cases[] = {
	{"regional-sts", "sts.us-east-1.amazonaws.com", 0, PX_R_NONE, "sts.us-east-1.amazonaws.com"},
	{"upper-case-lowered", "STS.US-East-1.AmazonAWS.com", 0, PX_R_NONE, "sts.us-east-1.amazonaws.com"},
	{"port-443", "s3.amazonaws.com:443", 0, PX_R_NONE, "s3.amazonaws.com"},
	{"spaces-around", " \tsts.amazonaws.com \t", 0, PX_R_NONE, "sts.amazonaws.com"},
	{"empty", "", 0, PX_R_HOST_MISSING, NULL},
	{"only-spaces", "   ", 0, PX_R_HOST_MISSING, NULL},
	{"port-80", "s3.amazonaws.com:80", 0, PX_R_HOST_PORT, NULL},
	{"port-0443", "s3.amazonaws.com:0443", 0, PX_R_HOST_PORT, NULL},
	{"port-65536", "s3.amazonaws.com:65536", 0, PX_R_HOST_PORT, NULL},
	{"port-empty", "s3.amazonaws.com:", 0, PX_R_HOST_MALFORMED, NULL},
	{"port-not-number", "s3.amazonaws.com:443x", 0, PX_R_HOST_MALFORMED, NULL},
	{"port-only", ":443", 0, PX_R_HOST_MALFORMED, NULL},
	{"two-ports", "s3.amazonaws.com:443:443", 0, PX_R_HOST_MALFORMED, NULL},
	{"userinfo", "user@sts.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"userinfo-password", "user:pw@s3.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"scheme-smuggling", "a.example.com://s3.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"url", "https://s3.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"path", "s3.amazonaws.com/bucket", 0, PX_R_HOST_MALFORMED, NULL},
	{"query", "s3.amazonaws.com?x=1", 0, PX_R_HOST_MALFORMED, NULL},
	{"fragment", "s3.amazonaws.com#x", 0, PX_R_HOST_MALFORMED, NULL},
	{"backslash", "s3.amazonaws.com\\x", 0, PX_R_HOST_MALFORMED, NULL},
	{"trailing-dot", "sts.amazonaws.com.", 0, PX_R_HOST_MALFORMED, NULL},
	{"trailing-dot-port", "sts.amazonaws.com.:443", 0, PX_R_HOST_MALFORMED, NULL},
	{"leading-dot", ".sts.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"empty-label", "sts..amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"label-hyphen-start", "-sts.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"label-hyphen-end", "sts-.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"underscore", "my_bucket.s3.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"wildcard", "*.compute.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"inner-space", "sts .amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"control-byte", "sts\001.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"crlf-injection", "sts.amazonaws.com\r\nX-Amz-Target: x", 0, PX_R_HOST_MALFORMED, NULL},
	{"nul-byte", "sts.amazonaws.com\0.evil.example", 31, PX_R_HOST_MALFORMED, NULL},
	{"del-byte", "sts\177.amazonaws.com", 0, PX_R_HOST_MALFORMED, NULL},
	{"list", "s3.amazonaws.com, evil.example", 0, PX_R_HOST_DUPLICATE, NULL},
	{"list-no-space", "s3.amazonaws.com,s3.amazonaws.com", 0, PX_R_HOST_DUPLICATE, NULL},
	{"ipv4", "127.0.0.1", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv4-port", "169.254.169.254:443", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv4-decimal", "2130706433", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv4-short", "127.1", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv4-hex", "0x7f.0.0.1", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv4-hex-last", "127.0.0.0x1", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv6-bracketed", "[::1]", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv6-bracketed-port", "[fd00:ec2::254]:443", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv6-bare", "::1", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"ipv6-mapped-bare", "::ffff:127.0.0.1", 0, PX_R_HOST_IP_LITERAL, NULL},
	{"idn-utf8", "b\303\274cher.s3.amazonaws.com", 0, PX_R_HOST_IDN, NULL},
	{"idn-punycode", "xn--bcher-kva.s3.amazonaws.com", 0, PX_R_HOST_IDN, NULL},
	{"idn-punycode-upper", "XN--bcher-kva.s3.amazonaws.com", 0, PX_R_HOST_IDN, NULL},
	{"idn-fullwidth-dot", "sts\343\200\202amazonaws.com", 0, PX_R_HOST_IDN, NULL},
	{"label-63",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.s3.amazonaws.com", 0, PX_R_NONE,
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.s3.amazonaws.com"},
	{"label-64",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.s3.amazonaws.com", 0, PX_R_HOST_TOO_LONG,
	 NULL},
};

static void test_host_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(host_cases); i++) {
		const struct host_case *c = &host_cases[i];
		size_t len = c->len ? c->len : strlen(c->value);
		char host[FED_MAX_HOST + 1];
		memset(host, 'Z', sizeof(host));
		size_t hostlen = 4242;
		struct px_refusal why = {PX_R_NONE, ""};
		int rv = px_forwarded_host_parse(c->value, len, host, &hostlen, &why);
		print_message("# %s\n", c->name);
		if (c->reason == PX_R_NONE) {
			assert_int_equal(rv, 0);
			assert_string_equal(host, c->host);
			assert_int_equal(hostlen, strlen(c->host));
		} else {
			assert_int_equal(rv, PX_ERR_REFUSED);
			assert_string_equal(px_reason_info(why.reason)->name, px_reason_info(c->reason)->name);
			assert_true(why.message[0] != '\0');
			assert_int_equal(hostlen, 4242); /* out-parameters untouched */
			assert_int_equal(host[0], 'Z');
			/* the quoted value never carries a control byte into the message */
			for (const char *m = why.message; *m; m++)
				assert_true((unsigned char)*m >= 0x20 && (unsigned char)*m < 0x7f);
		}
	}
}

/* Lengths at and past each limit, built at run time. */
static void test_host_lengths(void **state)
{
	(void)state;
	char v[PX_MAX_FORWARDED_HOST + 16], host[FED_MAX_HOST + 1];
	size_t hl = 0;
	struct px_refusal why;
	/* 253 bytes: 61 labels "abc." ending in "s3.amazonaws.com" is awkward;
	 * build "a...a.s3.amazonaws.com" from 63-byte labels instead. */
	size_t n = 0;
	while (n + 64 + 16 <= FED_MAX_HOST) {
		memset(v + n, 'a', 63);
		v[n + 63] = '.';
		n += 64;
	}
	const char *tail = "s3.amazonaws.com";
	size_t fill = FED_MAX_HOST - n - strlen(tail) - 1;
	memset(v + n, 'b', fill);
	n += fill;
	v[n++] = '.';
	memcpy(v + n, tail, strlen(tail));
	n += strlen(tail);
	assert_int_equal(n, FED_MAX_HOST);
	assert_int_equal(px_forwarded_host_parse(v, n, host, &hl, &why), 0);
	assert_int_equal(hl, FED_MAX_HOST);
	/* 254 bytes */
	memmove(v + 1, v, n);
	v[0] = 'c';
	assert_int_equal(px_forwarded_host_parse(v, n + 1, host, &hl, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_HOST_TOO_LONG);
	/* over the value's limit, whatever it holds */
	memset(v, ' ', sizeof(v));
	assert_int_equal(px_forwarded_host_parse(v, PX_MAX_FORWARDED_HOST + 1, host, &hl, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_HOST_TOO_LONG);
	/* spaces up to the limit are trimmed: empty */
	assert_int_equal(px_forwarded_host_parse(v, PX_MAX_FORWARDED_HOST, host, &hl, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_HOST_MISSING);
}

/* --- the endpoint decision ------------------------------------------------ */

static char ct_fake[] = "*.fake.amazonaws.com", ct_all[] = "*.amazonaws.com", ct_addr[] = "127.0.0.1";
static struct px_connect_to fake_ct[1] = {{ct_fake, {ct_addr, 8443}}};

static void config_init(struct px_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->aws.partitions = PX_PARTITION_AWS;
}

struct decide_case {
	const char *name;
	const char *value;
	unsigned partitions; /* 0: aws only */
	bool allow_customer;
	enum px_reason reason;
	const char *service; /* accepted: the endpoint's service */
};

static const struct decide_case decide_cases[] = {
	{"sts-regional", "sts.us-east-1.amazonaws.com", 0, false, PX_R_NONE, "sts"},
	{"sts-global", "sts.amazonaws.com", 0, false, PX_R_NONE, "sts"},
	{"s3-virtual-host", "my-bucket.s3.us-west-2.amazonaws.com", 0, false, PX_R_NONE, "s3"},
	{"dynamodb", "DYNAMODB.eu-west-1.AMAZONAWS.COM:443", 0, false, PX_R_NONE, "dynamodb"},
	{"lambda", "lambda.us-east-1.amazonaws.com", 0, false, PX_R_NONE, "lambda"},
	{"suffix-confusion", "amazonaws.com.evil.example", 0, false, PX_R_ENDPOINT_NOT_AWS, NULL},
	{"suffix-glued", "evilamazonaws.com", 0, false, PX_R_ENDPOINT_NOT_AWS, NULL},
	{"not-aws", "example.com", 0, false, PX_R_ENDPOINT_NOT_AWS, NULL},
	{"ec2-instance", "ec2-1-2-3-4.us-west-2.compute.amazonaws.com", 0, false, PX_R_ENDPOINT_CUSTOMER, NULL},
	{"ec2-instance-us-east-1", "ec2-1-2-3-4.compute-1.amazonaws.com", 0, false, PX_R_ENDPOINT_CUSTOMER, NULL},
	{"load-balancer", "my-lb-123.us-east-1.elb.amazonaws.com", 0, false, PX_R_ENDPOINT_CUSTOMER, NULL},
	{"s3-website", "bucket.s3-website-us-east-1.amazonaws.com", 0, false, PX_R_ENDPOINT_CUSTOMER, NULL},
	{"ec2-instance-allowed", "ec2-1-2-3-4.us-west-2.compute.amazonaws.com", 0, true, PX_R_NONE, NULL},
	{"unrecognised", "attacker.sts.us-east-1.amazonaws.com", 0, false, PX_R_ENDPOINT_UNRECOGNISED, NULL},
	{"unrecognised-even-allowed", "x.y.ec2.us-east-1.amazonaws.com", 0, true, PX_R_ENDPOINT_UNRECOGNISED, NULL},
	{"bare-suffix", "amazonaws.com", 0, false, PX_R_ENDPOINT_UNRECOGNISED, NULL},
	{"china-refused", "sts.cn-north-1.amazonaws.com.cn", 0, false, PX_R_ENDPOINT_PARTITION, NULL},
	{"china-allowed", "sts.cn-north-1.amazonaws.com.cn", PX_PARTITION_AWS | PX_PARTITION_AWS_CN, false,
	 PX_R_NONE, "sts"},
	{"govcloud-only", "sts.us-east-1.amazonaws.com", PX_PARTITION_AWS_US_GOV, false, PX_R_ENDPOINT_PARTITION, NULL},
	{"ip-literal", "169.254.169.254", 0, false, PX_R_HOST_IP_LITERAL, NULL},
};

static void test_decide(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(decide_cases); i++) {
		const struct decide_case *c = &decide_cases[i];
		struct px_config cfg;
		config_init(&cfg);
		if (c->partitions)
			cfg.aws.partitions = c->partitions;
		cfg.aws.allow_customer_endpoints = c->allow_customer;
		struct sv4_header h[] = {
			{"Host", 4, "gate.example.com", 16},
			{"x-forwarded-host", 16, c->value, strlen(c->value)},
		};
		struct px_target t;
		memset(&t, 0x5a, sizeof(t));
		struct px_refusal why = {PX_R_NONE, ""};
		print_message("# %s\n", c->name);
		int rv = px_target_decide(&cfg, h, LEN(h), &t, &why);
		if (c->reason == PX_R_NONE) {
			assert_int_equal(rv, 0);
			if (c->service != NULL) {
				assert_int_equal(t.info.kind, FED_HOST_SERVICE);
				assert_string_equal(t.info.service, c->service);
			}
			assert_null(t.connect_to);
		} else {
			assert_int_equal(rv, PX_ERR_REFUSED);
			assert_string_equal(px_reason_info(why.reason)->name, px_reason_info(c->reason)->name);
			assert_int_equal(t.hostlen, (size_t)0x5a5a5a5a5a5a5a5aULL);
		}
	}
}

static void test_decide_headers(void **state)
{
	(void)state;
	struct px_config cfg;
	config_init(&cfg);
	struct px_target t;
	struct px_refusal why;
	struct sv4_header none[] = {{"Host", 4, "sts.amazonaws.com", 17}};
	assert_int_equal(px_target_decide(&cfg, none, 1, &t, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_HOST_MISSING);
	struct sv4_header two[] = {
		{"X-Forwarded-Host", 16, "sts.amazonaws.com", 17},
		{"X-FORWARDED-HOST", 16, "sts.amazonaws.com", 17},
	};
	assert_int_equal(px_target_decide(&cfg, two, 2, &t, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_HOST_DUPLICATE);
	/* X-Forwarded-Hostname is another header */
	struct sv4_header other[] = {
		{"X-Forwarded-Hostname", 20, "evil.example", 12},
		{"X-Forwarded-Host", 16, "sts.amazonaws.com", 17},
	};
	assert_int_equal(px_target_decide(&cfg, other, 2, &t, &why), 0);
	assert_string_equal(t.host, "sts.amazonaws.com");
	/* connect-to: the admin's pattern is recorded */
	cfg.aws.connect_to = fake_ct;
	cfg.aws.nconnect_to = 1;
	struct sv4_header fake[] = {{"x-forwarded-host", 16, "sts.us-east-1.amazonaws.com", 27}};
	assert_int_equal(px_target_decide(&cfg, fake, 1, &t, &why), 0);
	assert_null(t.connect_to);
	fake_ct[0].host = ct_all;
	assert_int_equal(px_target_decide(&cfg, fake, 1, &t, &why), 0);
	assert_ptr_equal(t.connect_to, &fake_ct[0]);
}

/* --- addresses ------------------------------------------------------------ */

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(443);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(443);
	}
	return ss;
}

struct addr_case {
	const char *addr;
	enum px_addr_class cls;
};

/* Classes from the IANA special-purpose registries (RFC 6890 and its updates). */
static const struct addr_case addr_cases[] = {
	{"52.94.133.131", PX_ADDR_PUBLIC},
	{"8.8.8.8", PX_ADDR_PUBLIC},
	{"0.0.0.0", PX_ADDR_UNSPECIFIED},
	{"0.1.2.3", PX_ADDR_UNSPECIFIED},
	{"127.0.0.1", PX_ADDR_LOOPBACK},
	{"127.255.255.254", PX_ADDR_LOOPBACK},
	{"10.0.0.1", PX_ADDR_PRIVATE},
	{"172.16.0.1", PX_ADDR_PRIVATE},
	{"172.31.255.255", PX_ADDR_PRIVATE},
	{"172.32.0.1", PX_ADDR_PUBLIC},
	{"172.15.255.255", PX_ADDR_PUBLIC},
	{"192.168.1.1", PX_ADDR_PRIVATE},
	{"100.64.0.1", PX_ADDR_CGNAT},
	{"100.127.255.255", PX_ADDR_CGNAT},
	{"100.128.0.1", PX_ADDR_PUBLIC},
	{"169.254.169.254", PX_ADDR_METADATA},
	{"169.254.170.2", PX_ADDR_LINK_LOCAL},
	{"224.0.0.1", PX_ADDR_MULTICAST},
	{"239.255.255.255", PX_ADDR_MULTICAST},
	{"255.255.255.255", PX_ADDR_BROADCAST},
	{"240.0.0.1", PX_ADDR_RESERVED},
	{"192.0.2.1", PX_ADDR_RESERVED},
	{"198.18.0.1", PX_ADDR_RESERVED},
	{"203.0.113.9", PX_ADDR_RESERVED},
	{"::", PX_ADDR_UNSPECIFIED},
	{"::1", PX_ADDR_LOOPBACK},
	{"2600:1f18::1", PX_ADDR_PUBLIC},
	{"fe80::1", PX_ADDR_LINK_LOCAL},
	{"fd00:ec2::254", PX_ADDR_METADATA},
	{"fd00:ec2::253", PX_ADDR_UNIQUE_LOCAL},
	{"fc00::1", PX_ADDR_UNIQUE_LOCAL},
	{"ff02::1", PX_ADDR_MULTICAST},
	{"fec0::1", PX_ADDR_PRIVATE},
	{"2001:db8::1", PX_ADDR_RESERVED},
	{"::ffff:127.0.0.1", PX_ADDR_LOOPBACK},
	{"::ffff:169.254.169.254", PX_ADDR_METADATA},
	{"::ffff:52.94.133.131", PX_ADDR_PUBLIC},
	{"::127.0.0.1", PX_ADDR_LOOPBACK},
	{"::ffff:0:10.1.2.3", PX_ADDR_PRIVATE},
	{"64:ff9b::a9fe:a9fe", PX_ADDR_METADATA},
	{"64:ff9b::808:808", PX_ADDR_PUBLIC},
	{"64:ff9b:1::1", PX_ADDR_PRIVATE},
	{"2002:7f00:1::1", PX_ADDR_LOOPBACK},
	{"2002:a9fe:a9fe::1", PX_ADDR_METADATA},
	{"2002:808:808::1", PX_ADDR_PUBLIC},
	/* Teredo: server 65.54.227.120, client 127.0.0.1 inverted (80ff:fffe) */
	{"2001:0:4136:e378:8000:63bf:80ff:fffe", PX_ADDR_LOOPBACK},
	/* Teredo: server 10.0.0.1 */
	{"2001:0:a00:1:8000:63bf:f7f7:f7f7", PX_ADDR_PRIVATE},
	{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", PX_ADDR_PUBLIC},
};

static void test_addr_classify(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(addr_cases); i++) {
		struct sockaddr_storage ss = addr(addr_cases[i].addr);
		print_message("# %s\n", addr_cases[i].addr);
		assert_string_equal(px_addr_class_name(px_addr_classify((struct sockaddr *)&ss, sizeof(ss))),
		                    px_addr_class_name(addr_cases[i].cls));
	}
	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(px_addr_classify((struct sockaddr *)&un, sizeof(un)), PX_ADDR_UNSUPPORTED);
	struct sockaddr_storage ss = addr("8.8.8.8");
	assert_int_equal(px_addr_classify((struct sockaddr *)&ss, 4), PX_ADDR_UNSUPPORTED);
	assert_int_equal(px_addr_classify(NULL, 0), PX_ADDR_UNSUPPORTED);
}

static void test_pick_address(void **state)
{
	(void)state;
	struct px_config cfg;
	config_init(&cfg);
	struct px_target t;
	memset(&t, 0, sizeof(t));
	memcpy(t.host, "evil.s3.amazonaws.com", 22);
	struct px_refusal why;
	size_t idx = 99;

	struct sockaddr_storage mixed[3] = {addr("10.0.0.1"), addr("169.254.169.254"), addr("52.94.133.131")};
	assert_int_equal(px_target_pick_address(&cfg, &t, mixed, 3, &idx, &why), 0);
	assert_int_equal(idx, 2);

	struct sockaddr_storage bad[2] = {addr("169.254.169.254"), addr("::1")};
	idx = 99;
	assert_int_equal(px_target_pick_address(&cfg, &t, bad, 2, &idx, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_ADDRESS_PRIVATE);
	assert_non_null(strstr(why.message, "169.254.169.254 (metadata)"));
	assert_int_equal(idx, 99);

	assert_int_equal(px_target_pick_address(&cfg, &t, bad, 0, &idx, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_ADDRESS_NONE);
	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	assert_int_equal(px_target_pick_address(&cfg, &t, &un, 1, &idx, &why), PX_ERR_REFUSED);
	assert_int_equal(why.reason, PX_R_ADDRESS_NONE);

	/* the admin's choices */
	cfg.aws.allow_private_addresses = true;
	assert_int_equal(px_target_pick_address(&cfg, &t, bad, 2, &idx, &why), 0);
	assert_int_equal(idx, 0);
	cfg.aws.allow_private_addresses = false;
	t.connect_to = fake_ct;
	struct sockaddr_storage lo[2] = {addr("127.0.0.1"), addr("52.94.133.131")};
	assert_int_equal(px_target_pick_address(&cfg, &t, lo, 2, &idx, &why), 0);
	assert_int_equal(idx, 0);
}

static void test_reasons(void **state)
{
	(void)state;
	/* every reason has a distinct name, a status and codes */
	for (int r = PX_R_NONE + 1; r < PX_R_COUNT; r++) {
		const struct px_reason_info *ri = px_reason_info((enum px_reason)r);
		assert_true(ri->status >= 400 && ri->status <= 599);
		assert_true(ri->code_xml[0] != '\0' && ri->code_json[0] != '\0');
		for (int s = r + 1; s < PX_R_COUNT; s++)
			assert_string_not_equal(ri->name, px_reason_info((enum px_reason)s)->name);
		if (ri->status == 403)
			assert_string_equal(ri->code_xml, "AccessDenied");
	}
	assert_string_equal(px_reason_info((enum px_reason)9999)->name, "internal");
	char q[16];
	px_quote(q, sizeof(q), "abc\r\ndef", 8, 80);
	assert_string_equal(q, "abc??def");
	px_quote(q, sizeof(q), "0123456789abcdefghij", 20, 80);
	assert_string_equal(q, "0123456789ab...");
	px_quote(q, sizeof(q), "0123456789", 10, 4);
	assert_string_equal(q, "0123...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_parse),   cmocka_unit_test(test_host_lengths),
		cmocka_unit_test(test_decide),       cmocka_unit_test(test_decide_headers),
		cmocka_unit_test(test_addr_classify), cmocka_unit_test(test_pick_address),
		cmocka_unit_test(test_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
