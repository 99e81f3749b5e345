/* SPDX-License-Identifier: Apache-2.0 */
/* partition_test.c: the partition table, region lookup, STS hosts, and host classification against botocore's own hostnames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/federation.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_lookup(void **state)
{
	(void)state;
	const struct fed_partition *p;
	const char *names[] = {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"};
	size_t n = 0;
	for (p = fed_partitions(); p->name != NULL; p++)
		assert_string_equal(p->name, names[n++]);
	assert_int_equal(n, LEN(names));
	assert_null(fed_partition_by_name("aws-mars"));
	assert_null(fed_partition_by_name(NULL));
	assert_string_equal(fed_partition_by_name("aws-cn")->dns_suffix, "amazonaws.com.cn");

	static const struct {
		const char *region, *partition;
	} regions[] = {
		{"us-east-1", "aws"}, {"eu-central-2", "aws"}, {"me-central-1", "aws"},
		{"us-gov-west-1", "aws-us-gov"}, {"us-gov-east-1", "aws-us-gov"},
		{"cn-north-1", "aws-cn"}, {"cn-northwest-1", "aws-cn"}, {"cn-south-7", "aws-cn"},
		{"us-iso-east-1", "aws-iso"}, {"us-isob-east-1", "aws-iso-b"}, {"us-isob-west-9", "aws-iso-b"},
		{"il-central-1", "aws"}, /* unknown here, region-shaped: aws, as botocore */
		{"us-gov-north-3", "aws-us-gov"},
	};
	for (size_t i = 0; i < LEN(regions); i++) {
		p = NULL;
		assert_int_equal(fed_partition_for_region(regions[i].region, &p), 0);
		if (strcmp(p->name, regions[i].partition) != 0)
			fail_msg("%s: %s, want %s", regions[i].region, p->name, regions[i].partition);
	}
	const char *bad[] = {"", "US-EAST-1", "us_east_1", "-us-east-1", "us-east-1-", "us--east-1", "us.east.1",
	                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "us-east-1\n"};
	for (size_t i = 0; i < LEN(bad); i++) {
		p = (const struct fed_partition *)&n;
		assert_int_equal(fed_partition_for_region(bad[i], &p), FED_ERR_INVALID);
		assert_ptr_equal(p, &n); /* untouched on failure */
	}
	assert_int_equal(fed_partition_for_region(NULL, &p), FED_ERR_INVALID);
}

static void test_sts_host(void **state)
{
	(void)state;
	char h[64];
	const struct fed_partition *aws = fed_partition_by_name("aws");
	assert_int_equal(fed_sts_host(aws, NULL, h, sizeof(h)), 0);
	assert_string_equal(h, "sts.amazonaws.com");
	assert_int_equal(fed_sts_host(aws, "eu-west-1", h, sizeof(h)), 0);
	assert_string_equal(h, "sts.eu-west-1.amazonaws.com");
	assert_int_equal(fed_sts_host(fed_partition_by_name("aws-cn"), "cn-north-1", h, sizeof(h)), 0);
	assert_string_equal(h, "sts.cn-north-1.amazonaws.com.cn");
	assert_int_equal(fed_sts_host(fed_partition_by_name("aws-cn"), NULL, h, sizeof(h)), 0);
	assert_string_equal(h, "sts.cn-north-1.amazonaws.com.cn");
	assert_int_equal(fed_sts_host(fed_partition_by_name("aws-us-gov"), NULL, h, sizeof(h)), 0);
	assert_string_equal(h, "sts.us-gov-west-1.amazonaws.com");
	assert_int_equal(fed_sts_host(fed_partition_by_name("aws-iso-b"), "us-isob-east-1", h, sizeof(h)), 0);
	assert_string_equal(h, "sts.us-isob-east-1.sc2s.sgov.gov");
	assert_int_equal(fed_sts_host(aws, "eu-west-1", h, 27), FED_ERR_TOO_LARGE);
	assert_int_equal(fed_sts_host(aws, "eu-west-1", h, 28), 0);
	assert_int_equal(fed_sts_host(aws, "eu/west", h, sizeof(h)), FED_ERR_INVALID);
	assert_int_equal(fed_sts_host(NULL, "eu-west-1", h, sizeof(h)), FED_ERR_INVALID);
}

/* Hand-written cases: each with what it is and why. */
static const struct host_case {
	const char *host;
	int rv;
	enum fed_host_kind kind;
	const char *partition, *service, *region, *customer;
	int fips, dualstack, vhost;
} host_cases[] = {
	{"sts.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "sts", "", NULL, 0, 0, 0},
	{"STS.US-WEST-2.AMAZONAWS.COM", 0, FED_HOST_SERVICE, "aws", "sts", "us-west-2", NULL, 0, 0, 0},
	{"sts-fips.us-east-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "sts", "us-east-1", NULL, 1, 0, 0},
	{"ec2.us-gov-west-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws-us-gov", "ec2", "us-gov-west-1", NULL, 0, 0, 0},
	{"sts.cn-north-1.amazonaws.com.cn", 0, FED_HOST_SERVICE, "aws-cn", "sts", "cn-north-1", NULL, 0, 0, 0},
	{"ec2.eu-west-1.api.aws", 0, FED_HOST_SERVICE, "aws", "ec2", "eu-west-1", NULL, 0, 1, 0},
	{"ec2.il-central-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "ec2", "il-central-1", NULL, 0, 0, 0},
	{"runtime.sagemaker.us-east-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "sagemaker", "us-east-1", NULL, 0, 0, 0},
	{"123456789012.dkr.ecr.eu-west-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "ecr", "eu-west-1", NULL, 0, 0, 0},
	{"a1b2c3-ats.iot.us-east-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "iot", "us-east-1", NULL, 0, 0, 0},
	/* S3: path style, virtual hosts, dotted buckets, legacy, dualstack, FIPS, access points. */
	{"s3.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "", NULL, 0, 0, 0},
	{"bucket.s3.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "", NULL, 0, 0, 1},
	{"bucket.s3.us-west-2.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-west-2", NULL, 0, 0, 1},
	{"my.dotted.bucket.s3.us-west-2.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-west-2", NULL, 0, 0, 1},
	{"bucket.s3-us-west-2.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-west-2", NULL, 0, 0, 1},
	{"bucket.s3-external-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-east-1", NULL, 0, 0, 1},
	{"bucket.s3.dualstack.eu-west-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "eu-west-1", NULL, 0, 1, 1},
	{"bucket.s3-fips.dualstack.us-east-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-east-1", NULL, 1, 1, 1},
	{"bucket.s3-fips.us-gov-west-1.amazonaws.com", 0, FED_HOST_SERVICE, "aws-us-gov", "s3", "us-gov-west-1", NULL, 1, 0, 1},
	{"ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-west-2", NULL, 0, 0, 1},
	{"ap-123456789012.s3-accesspoint.dualstack.us-west-2.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-west-2", NULL, 0, 1, 1},
	{"ol-123456789012.s3-object-lambda.us-west-2.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3-object-lambda", "us-west-2", NULL, 0, 0, 1},
	{"123456789012.s3-control.us-west-2.amazonaws.com", 0, FED_HOST_SERVICE, "aws", "s3", "us-west-2", NULL, 0, 0, 1},
	{"bucket.s3.cn-north-1.amazonaws.com.cn", 0, FED_HOST_SERVICE, "aws-cn", "s3", "cn-north-1", NULL, 0, 0, 1},
	{"s3-accesspoint.us-west-2.amazonaws.com", 0, FED_HOST_UNRECOGNISED, "aws", "", "", NULL, 0, 0, 0},
	/* Customers' names under AWS suffixes. */
	{"ec2-3-91-1-2.compute-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "ec2-instance", 0, 0, 0},
	{"ec2-3-91-1-2.us-west-2.compute.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "ec2-instance", 0, 0, 0},
	{"ec2-52-1-1-1.cn-north-1.compute.amazonaws.com.cn", 0, FED_HOST_CUSTOMER, "aws-cn", "", "", "ec2-instance", 0, 0, 0},
	{"my-lb-1234.us-east-1.elb.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "load-balancer", 0, 0, 0},
	{"my-nlb-abc.elb.us-east-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "load-balancer", 0, 0, 0},
	{"bucket.s3-website-us-east-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "s3-website", 0, 0, 0},
	{"bucket.s3-website.eu-west-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "s3-website", 0, 0, 0},
	{"s3-website-us-east-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "s3-website", 0, 0, 0},
	{"abc123.execute-api.us-east-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "api-gateway", 0, 0, 0},
	{"abc.lambda-url.us-east-1.on.aws", 0, FED_HOST_CUSTOMER, "aws", "", "", "lambda-function-url", 0, 0, 0},
	{"db.abc.us-east-1.rds.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "rds-instance", 0, 0, 0},
	{"c.abc.0001.use1.cache.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "elasticache-node", 0, 0, 0},
	{"search-d-abc.us-east-1.es.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "opensearch-domain", 0, 0, 0},
	{"b-1.mq.us-east-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "mq-broker", 0, 0, 0},
	{"vpce-1.sts.us-east-1.vpce.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "vpc-endpoint", 0, 0, 0},
	{"x.appsync-api.us-east-1.amazonaws.com", 0, FED_HOST_CUSTOMER, "aws", "", "", "appsync-api", 0, 0, 0},
	/* Neither: look-alikes and shapes we do not know. */
	{"sts.amazonaws.com.evil.com", 0, FED_HOST_NOT_AWS, NULL, "", "", NULL, 0, 0, 0},
	{"evilamazonaws.com", 0, FED_HOST_NOT_AWS, NULL, "", "", NULL, 0, 0, 0},
	{"sts.evilamazonaws.com", 0, FED_HOST_NOT_AWS, NULL, "", "", NULL, 0, 0, 0},
	{"amazonaws.co", 0, FED_HOST_NOT_AWS, NULL, "", "", NULL, 0, 0, 0},
	{"console.aws.amazon.com", 0, FED_HOST_NOT_AWS, NULL, "", "", NULL, 0, 0, 0},
	{"aws", 0, FED_HOST_NOT_AWS, NULL, "", "", NULL, 0, 0, 0},
	{"amazonaws.com", 0, FED_HOST_UNRECOGNISED, "aws", "", "", NULL, 0, 0, 0},
	{"x.y.ec2.us-east-1.amazonaws.com", 0, FED_HOST_UNRECOGNISED, "aws", "", "", NULL, 0, 0, 0},
	{"attacker.sts.us-east-1.amazonaws.com", 0, FED_HOST_UNRECOGNISED, "aws", "", "", NULL, 0, 0, 0},
	{"sts.cn-north-1.amazonaws.com", 0, FED_HOST_UNRECOGNISED, "aws", "", "", NULL, 0, 0, 0},
	{"sts.us-east-1.amazonaws.com.cn", 0, FED_HOST_UNRECOGNISED, "aws-cn", "", "", NULL, 0, 0, 0},
	{"sts.notaregion.amazonaws.com", 0, FED_HOST_UNRECOGNISED, "aws", "", "", NULL, 0, 0, 0},
	/* Not DNS names at all. */
	{"sts.amazonaws.com.", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{".sts.amazonaws.com", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"sts..amazonaws.com", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"169.254.169.254", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"127.1", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"[::1]", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"::1", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"sts.amazonaws.com:443", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"st_s.amazonaws.com", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"-sts.amazonaws.com", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"sts-.amazonaws.com", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
	{"st\xc3\xa9s.amazonaws.com", FED_ERR_INVALID, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
};

static void check_host(const struct host_case *c, size_t len)
{
	struct fed_host_info o;
	memset(&o, 0x5a, sizeof(o));
	int rv = fed_host_classify(c->host, len, &o);
	if (rv != c->rv)
		fail_msg("%s: returned %d, want %d", c->host, rv, c->rv);
	if (rv != 0) {
		unsigned char poison[sizeof(o)];
		memset(poison, 0x5a, sizeof(poison));
		assert_memory_equal(&o, poison, sizeof(o));
		return;
	}
	if (o.kind != c->kind)
		fail_msg("%s: kind %s, want %s", c->host, fed_host_kind_name(o.kind), fed_host_kind_name(c->kind));
	if (c->partition == NULL)
		assert_null(o.partition);
	else if (o.partition == NULL || strcmp(o.partition->name, c->partition) != 0)
		fail_msg("%s: partition %s, want %s", c->host, o.partition ? o.partition->name : "NULL", c->partition);
	if (strcmp(o.service, c->service) != 0 || strcmp(o.region, c->region) != 0)
		fail_msg("%s: service %s region %s, want %s %s", c->host, o.service, o.region, c->service, c->region);
	if (c->customer == NULL)
		assert_null(o.customer);
	else
		assert_string_equal(o.customer, c->customer);
	if (c->kind == FED_HOST_SERVICE && (o.fips != c->fips || o.dualstack != c->dualstack || o.s3_virtual_host != c->vhost))
		fail_msg("%s: fips %d dualstack %d vhost %d", c->host, o.fips, o.dualstack, o.s3_virtual_host);
}

static void test_hosts(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(host_cases); i++)
		check_host(&host_cases[i], strlen(host_cases[i].host));
}

static void test_host_limits(void **state)
{
	(void)state;
	char h[300];
	struct fed_host_info o;
	/* A 63-byte label is fine, 64 is not. */
	memset(h, 'a', 63);
	memcpy(h + 63, ".s3.amazonaws.com", 18);
	assert_int_equal(fed_host_classify(h, strlen(h), &o), 0);
	assert_int_equal(o.kind, FED_HOST_SERVICE);
	memset(h, 'a', 64);
	memcpy(h + 64, ".s3.amazonaws.com", 18);
	assert_int_equal(fed_host_classify(h, strlen(h), &o), FED_ERR_INVALID);
	/* 253 bytes is the most: "aa." and 117 "a." then the 16-byte suffix. */
	const char *suffix = "s3.amazonaws.com";
	size_t n = 0;
	h[n++] = 'a';
	for (int i = 0; i < 118; i++) {
		h[n++] = 'a';
		h[n++] = '.';
	}
	memcpy(h + n, suffix, strlen(suffix) + 1);
	size_t len = strlen(h);
	assert_int_equal(len, 253);
	assert_int_equal(fed_host_classify(h, len, &o), 0);
	assert_int_equal(o.kind, FED_HOST_SERVICE);
	char big[300];
	big[0] = 'a';
	memcpy(big + 1, h, len + 1); /* 254 bytes */
	assert_true(strlen(big) > 253);
	assert_int_equal(fed_host_classify(big, strlen(big), &o), FED_ERR_INVALID);
	/* The length is what counts, not a NUL: a NUL inside is refused. */
	assert_int_equal(fed_host_classify("sts.amazonaws.com\0.evil", 23, &o), FED_ERR_INVALID);
	assert_int_equal(fed_host_classify("sts.amazonaws.comXXXX", 17, &o), 0);
	assert_int_equal(o.kind, FED_HOST_SERVICE);
	assert_int_equal(fed_host_classify(NULL, 3, &o), FED_ERR_INVALID);
}

/* Every hostname botocore's resolver builds is an AWS service endpoint of
 * the partition, region and service (label) botocore says. */
static void test_botocore_endpoints(void **state)
{
	(void)state;
	const char *top = getenv("abs_top_srcdir");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/federation/endpoints.txt", top ? top : ".");
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	char line[512];
	size_t count = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#')
			continue;
		char host[256], part[32], region[40], svc[64];
		int fips, dual;
		if (sscanf(line, "%255s %31s %39s %63s %d %d", host, part, region, svc, &fips, &dual) != 6)
			fail_msg("bad line in endpoints.txt: %s", line);
		struct fed_host_info o;
		assert_int_equal(fed_host_classify(host, strlen(host), &o), 0);
		if (o.kind != FED_HOST_SERVICE)
			fail_msg("%s: %s", host, fed_host_kind_name(o.kind));
		if (strcmp(o.partition->name, part) != 0)
			fail_msg("%s: partition %s, botocore %s", host, o.partition->name, part);
		if (strcmp(region, "-") != 0 && strcmp(o.region, region) != 0)
			fail_msg("%s: region %s, botocore %s", host, o.region, region);
		if (strcmp(o.service, svc) != 0 || o.fips != (fips != 0) || o.dualstack != (dual != 0))
			fail_msg("%s: service %s fips %d dualstack %d", host, o.service, o.fips, o.dualstack);
		if (strncmp(host, "sts.", 4) == 0 && strcmp(region, "-") != 0 && !fips && !dual) {
			/* Our STS host for that region is botocore's. */
			const struct fed_partition *p;
			char h[128];
			assert_int_equal(fed_partition_for_region(region, &p), 0);
			assert_string_equal(p->name, part);
			assert_int_equal(fed_sts_host(p, region, h, sizeof(h)), 0);
			assert_string_equal(h, host);
		}
		count++;
	}
	fclose(fp);
	assert_true(count > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_sts_host),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_limits),
		cmocka_unit_test(test_botocore_endpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
