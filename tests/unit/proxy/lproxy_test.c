/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy_test.c: the local proxy's CONNECT target parser, routing, NO_PROXY matching and local CA, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include "proxy/lproxy_int.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Expected values from RFC 9110 9.3.6 (authority-form: host ":" port, the
 * port required) and RFC 1123 names, as lproxy_int.h states them. */
struct target_case {
	const char *s;
	int ok;
	const char *host;
	unsigned port;
	enum px_lproxy_hostkind kind;
	size_t len; /* 0: strlen(s) */
};

static struct target_case target_cases[] = {
	{"sts.us-east-1.amazonaws.com:443", 1, "sts.us-east-1.amazonaws.com", 443, PX_LP_NAME, 0},
	{"S3.Amazonaws.COM:443", 1, "s3.amazonaws.com", 443, PX_LP_NAME, 0},
	{"s3.amazonaws.com.:443", 1, "s3.amazonaws.com", 443, PX_LP_NAME, 0},
	{"my_host.example:8080", 1, "my_host.example", 8080, PX_LP_NAME, 0},
	{"127.0.0.1:1", 1, "127.0.0.1", 1, PX_LP_IPV4, 0},
	{"[::1]:65535", 1, "::1", 65535, PX_LP_IPV6, 0},
	{"[2001:DB8::1]:443", 1, "2001:db8::1", 443, PX_LP_IPV6, 0},
	{"localhost:80", 1, "localhost", 80, PX_LP_NAME, 0},
	/* refused */
	{"", 0, NULL, 0, 0, 0},
	{"host", 0, NULL, 0, 0, 0},                 /* no port */
	{"host:", 0, NULL, 0, 0, 0},                /* empty port */
	{":443", 0, NULL, 0, 0, 0},                 /* empty host */
	{"host:0", 0, NULL, 0, 0, 0},
	{"host:65536", 0, NULL, 0, 0, 0},
	{"host:000443", 0, NULL, 0, 0, 0},          /* more than 5 digits */
	{"host:+443", 0, NULL, 0, 0, 0},
	{"host:44 3", 0, NULL, 0, 0, 0},
	{"host :443", 0, NULL, 0, 0, 0},
	{"user@host:443", 0, NULL, 0, 0, 0},        /* userinfo */
	{"host/path:443", 0, NULL, 0, 0, 0},
	{"http://host:443", 0, NULL, 0, 0, 0},
	{"a..b:443", 0, NULL, 0, 0, 0},             /* empty label */
	{".a:443", 0, NULL, 0, 0, 0},
	{"-a.b:443", 0, NULL, 0, 0, 0},             /* label starts with '-' */
	{"a-.b:443", 0, NULL, 0, 0, 0},             /* label ends with '-' */
	{"::1:443", 0, NULL, 0, 0, 0},              /* IPv6 without brackets */
	{"[::1:443", 0, NULL, 0, 0, 0},
	{"[nothex]:443", 0, NULL, 0, 0, 0},
	{"[]:443", 0, NULL, 0, 0, 0},
	{"999.1.1.1:443", 0, NULL, 0, 0, 0},        /* all digits but not an address */
	{"1.2.3:443", 0, NULL, 0, 0, 0},
	{"h\xc3\xa9.com:443", 0, NULL, 0, 0, 0},    /* UTF-8 */
	{"a\tb:443", 0, NULL, 0, 0, 0},
	{"host:443\r", 0, NULL, 0, 0, 0},
	{"[::1\0]:443", 0, NULL, 0, 0, 10},      /* a NUL inside a literal (found by fuzz_connect) */
	{"1.2.3.4\0x:443", 0, NULL, 0, 0, 13},
};

static void test_target(void **state)
{
	const struct target_case *c = *state;
	struct px_lproxy_target t, poison;
	int rv;

	memset(&t, 0x5a, sizeof(t));
	memset(&poison, 0x5a, sizeof(poison));
	rv = px_lproxy_target_parse(c->s, c->len ? c->len : strlen(c->s), &t);
	if (!c->ok) {
		assert_int_equal(rv, PX_ERR_INVALID);
		assert_memory_equal(&t, &poison, sizeof(t)); /* written only on success */
		return;
	}
	assert_int_equal(rv, 0);
	assert_string_equal(t.host, c->host);
	assert_int_equal(t.hostlen, strlen(c->host));
	assert_int_equal(t.port, c->port);
	assert_int_equal(t.kind, c->kind);
}

static void test_target_limits(void **state)
{
	char buf[600], lab[80];
	struct px_lproxy_target t;
	size_t n = 0;
	(void)state;
	/* a 64-byte label */
	memset(lab, 'a', 64);
	lab[64] = '\0';
	snprintf(buf, sizeof(buf), "%s.com:443", lab);
	assert_int_equal(px_lproxy_target_parse(buf, strlen(buf), &t), PX_ERR_INVALID);
	lab[63] = '\0';
	snprintf(buf, sizeof(buf), "%s.com:443", lab);
	assert_int_equal(px_lproxy_target_parse(buf, strlen(buf), &t), 0);
	/* a 253-byte name is accepted, 254 is not */
	for (n = 0; n < 254; n++)
		buf[n] = (n % 2 == 1) ? '.' : 'a';
	buf[253] = 'b';
	memcpy(buf + 254, ":443", 5);
	assert_int_equal(px_lproxy_target_parse(buf, strlen(buf), &t), PX_ERR_INVALID);
	memcpy(buf + 253, ":443", 5);
	assert_int_equal(px_lproxy_target_parse(buf, strlen(buf), &t), 0);
	assert_int_equal(t.hostlen, 253);
	/* over PX_LPROXY_MAX_TARGET and NULL */
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(px_lproxy_target_parse(buf, PX_LPROXY_MAX_TARGET + 1, &t), PX_ERR_INVALID);
	assert_int_equal(px_lproxy_target_parse(NULL, 3, &t), PX_ERR_INVALID);
}

struct route_case {
	const char *s;
	enum px_lproxy_route route;
};

static struct route_case route_cases[] = {
	{"sts.us-east-1.amazonaws.com:443", PX_LP_INTERCEPT},
	{"sts.amazonaws.com:443", PX_LP_INTERCEPT},
	{"s3.amazonaws.com:443", PX_LP_INTERCEPT},
	{"my-bucket.s3.us-east-1.amazonaws.com:443", PX_LP_INTERCEPT},
	{"dynamodb.eu-west-1.amazonaws.com:443", PX_LP_INTERCEPT},
	{"lambda.cn-north-1.amazonaws.com.cn:443", PX_LP_INTERCEPT},
	{"ssmmessages.us-east-1.amazonaws.com:443", PX_LP_TUNNEL_AWS},
	{"sts.us-east-1.amazonaws.com:8443", PX_LP_OTHER},
	{"ec2-1-2-3-4.compute-1.amazonaws.com:443", PX_LP_OTHER},
	{"example.com:443", PX_LP_OTHER},
	{"amazonaws.com.evil.example:443", PX_LP_OTHER},
	{"evilamazonaws.com:443", PX_LP_OTHER},
	{"127.0.0.1:443", PX_LP_OTHER},
	{"[::1]:443", PX_LP_OTHER},
};

static void test_route(void **state)
{
	const struct route_case *c = *state;
	struct px_lproxy_target t;
	assert_int_equal(px_lproxy_target_parse(c->s, strlen(c->s), &t), 0);
	assert_int_equal(px_lproxy_route(&t), c->route);
}

static void test_no_proxy(void **state)
{
	(void)state;
	/* curl's NO_PROXY rules */
	assert_int_equal(px_lproxy_no_proxy_match(NULL, "a.com", 5), 0);
	assert_int_equal(px_lproxy_no_proxy_match("", "a.com", 5), 0);
	assert_int_equal(px_lproxy_no_proxy_match("*", "a.com", 5), 1);
	assert_int_equal(px_lproxy_no_proxy_match("a.com", "a.com", 5), 1);
	assert_int_equal(px_lproxy_no_proxy_match("a.com", "x.a.com", 7), 1);
	assert_int_equal(px_lproxy_no_proxy_match(".a.com", "x.a.com", 7), 1);
	assert_int_equal(px_lproxy_no_proxy_match(".a.com", "a.com", 5), 1);
	assert_int_equal(px_lproxy_no_proxy_match("a.com", "xa.com", 6), 0);
	assert_int_equal(px_lproxy_no_proxy_match("b.com, a.com", "a.com", 5), 1);
	assert_int_equal(px_lproxy_no_proxy_match("b.com,c.com", "a.com", 5), 0);
	assert_int_equal(px_lproxy_no_proxy_match("A.COM", "a.com", 5), 1);
	assert_int_equal(px_lproxy_no_proxy_match("10.0.0.1", "10.0.0.1", 8), 1);
	assert_int_equal(px_lproxy_no_proxy_match("*.a.com", "x.a.com", 7), 0); /* curl has no globs */
}

static void test_ca_ensure(void **state)
{
	char dir[] = "/tmp/lproxy-test-XXXXXX", crt[256], key[256], err[1024], *pem1, *pem2;
	struct stat st;
	FILE *f;
	long n1, n2;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(crt, sizeof(crt), "%s/local-ca.crt", dir);
	snprintf(key, sizeof(key), "%s/local-ca.key", dir);
	assert_int_equal(px_lproxy_ca_ensure(dir, err, sizeof(err)), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(crt, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* kept: the same certificate after a second call */
	f = fopen(crt, "r");
	assert_non_null(f);
	pem1 = calloc(1, 8192);
	n1 = (long)fread(pem1, 1, 8191, f);
	fclose(f);
	assert_int_equal(px_lproxy_ca_ensure(dir, err, sizeof(err)), 0);
	f = fopen(crt, "r");
	pem2 = calloc(1, 8192);
	n2 = (long)fread(pem2, 1, 8191, f);
	fclose(f);
	assert_int_equal(n1, n2);
	assert_memory_equal(pem1, pem2, (size_t)n1);
	/* a key others can read is refused, with what to do */
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(px_lproxy_ca_ensure(dir, err, sizeof(err)), PX_ERR_LPROXY);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(key, 0600), 0);
	/* a certificate without its key is refused, not replaced */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(px_lproxy_ca_ensure(dir, err, sizeof(err)), PX_ERR_LPROXY);
	assert_non_null(strstr(err, "remove"));
	assert_int_equal(stat(key, &st), -1);
	/* a pair that does not match: refused */
	f = fopen(key, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(px_lproxy_ca_ensure(dir, err, sizeof(err)), PX_ERR_LPROXY);
	/* a directory that does not exist */
	assert_int_equal(px_lproxy_ca_ensure("/nonexistent/dir", err, sizeof(err)), PX_ERR_LPROXY);
	assert_int_equal(px_lproxy_ca_ensure("", err, sizeof(err)), PX_ERR_LPROXY);
	unlink(key);
	unlink(crt);
	rmdir(dir);
	free(pem1);
	free(pem2);
}

static void test_leaves(void **state)
{
	char dir[] = "/tmp/lproxy-test-XXXXXX", crt[256], key[256], err[1024];
	struct px_lproxy_leaves *lv;
	X509 *c1, *c2;
	EVP_PKEY *k1, *k2;
	int64_t now = 1900000000;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(crt, sizeof(crt), "%s/local-ca.crt", dir);
	snprintf(key, sizeof(key), "%s/local-ca.key", dir);
	assert_int_equal(px_lproxy_ca_ensure(dir, err, sizeof(err)), 0);
	assert_int_equal(px_lproxy_leaves_new(crt, key, &lv, err, sizeof(err)), 0);
	assert_int_equal(px_lproxy_leaf_get(lv, "sts.amazonaws.com", now, &c1, &k1, err, sizeof(err)), 0);
	assert_int_equal(X509_check_host(c1, "sts.amazonaws.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(c1, "s3.amazonaws.com", 0, 0, NULL), 0);
	assert_int_equal(X509_check_private_key(c1, k1), 1);
	/* cached */
	assert_int_equal(px_lproxy_leaf_get(lv, "sts.amazonaws.com", now + 60, &c2, &k2, err, sizeof(err)), 0);
	assert_ptr_equal(c1, c2);
	/* re-minted when under an hour is left */
	assert_int_equal(px_lproxy_leaf_get(lv, "sts.amazonaws.com", now + PX_LPROXY_LEAF_TTL - 1800, &c2, &k2, err,
	                                     sizeof(err)),
	                 0);
	assert_ptr_not_equal(c1, c2);
	/* more hosts than the cache holds: still works (eviction) */
	for (int i = 0; i < PX_LPROXY_MAX_LEAVES + 3; i++) {
		char h[64];
		snprintf(h, sizeof(h), "h%d.example.com", i);
		assert_int_equal(px_lproxy_leaf_get(lv, h, now, &c2, &k2, err, sizeof(err)), 0);
		assert_int_equal(X509_check_host(c2, h, 0, 0, NULL), 1);
	}
	px_lproxy_leaves_del(lv);
	assert_int_equal(px_lproxy_leaves_new(NULL, key, &lv, err, sizeof(err)), PX_ERR_LPROXY);
	unlink(key);
	unlink(crt);
	rmdir(dir);
}

int main(void)
{
	struct CMUnitTest tests[LEN(target_cases) + LEN(route_cases) + 4];
	size_t n = 0, i;
	static char names[LEN(target_cases) + LEN(route_cases)][96];

	for (i = 0; i < LEN(target_cases); i++, n++) {
		snprintf(names[n], sizeof(names[n]), "target %s-%zu", target_cases[i].ok ? "ok" : "refused", i);
		tests[n] = (struct CMUnitTest){.name = names[n], .test_func = test_target, .initial_state = &target_cases[i]};
	}
	for (i = 0; i < LEN(route_cases); i++, n++) {
		snprintf(names[n], sizeof(names[n]), "route %s", route_cases[i].s);
		tests[n] = (struct CMUnitTest){.name = names[n], .test_func = test_route, .initial_state = &route_cases[i]};
	}
	tests[n++] = (struct CMUnitTest){.name = "target limits", .test_func = test_target_limits};
	tests[n++] = (struct CMUnitTest){.name = "no_proxy", .test_func = test_no_proxy};
	tests[n++] = (struct CMUnitTest){.name = "ca_ensure", .test_func = test_ca_ensure};
	tests[n++] = (struct CMUnitTest){.name = "leaves", .test_func = test_leaves};
	return _cmocka_run_group_tests("lproxy", tests, n, NULL, NULL);
}
