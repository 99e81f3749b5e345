/* SPDX-License-Identifier: Apache-2.0 */
/* config_test.c: the daemon file's loader: defaults, each type's good and bad values, each error's message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "proxy/proxy.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The smallest file without warnings; cases add to it from line 2 on, so that
 * their positions are easy to count. */
#define BASE                                                                                                  \
	"{\"tls\": {\"cert_file\": \"/c.crt\", \"key_file\": \"/c.key\", \"identity_ca_file\": \"/ca.crt\"}, " \
	"\"resources_dir\": \"/res\",\n"

static struct px_config *sentinel = (struct px_config *)(uintptr_t)0x5a5a;

/* Loads |text| as "/etc/awsgate/awsgated.json" (no file checks). */
static int load(const char *text, struct px_config **cfg, struct px_diags *d)
{
	px_diags_init(d, "awsgated.json");
	*cfg = sentinel;
	int rv = px_config_load("/etc/awsgate/awsgated.json", text, strlen(text), 0, cfg, d);
	if (rv != 0)
		assert_ptr_equal(*cfg, sentinel); /* written only on success */
	return rv;
}

/* Loads BASE + |body| + "}" and expects it to succeed without warnings. */
static struct px_config *load_ok(const char *body)
{
	char text[8192];
	struct px_config *cfg;
	struct px_diags d;

	if (body[0] == '!')
		snprintf(text, sizeof(text), "%s", body + 1);
	else
		snprintf(text, sizeof(text), "%s%s}", BASE, body);
	int rv = load(text, &cfg, &d);
	if (rv != 0 || d.n != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("%d:%d: %s: %s\n", d.v[i].line, d.v[i].column, d.v[i].path, d.v[i].msg);
		fail_msg("load failed: %d", rv);
	}
	px_diags_free(&d);
	return cfg;
}

/* "LINE:COLUMN: error: PATH: message" of |g|, as the tests expect it. */
static void format(const struct px_diag *g, char *buf, size_t size)
{
	snprintf(buf, size, "%d:%d: %s: %s%s%s", g->line, g->column, g->level == PX_DIAG_ERROR ? "error" : "warning",
	         g->path, g->path[0] ? ": " : "", g->msg);
}

/* --- defaults ------------------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	struct px_config *cfg = load_ok("\"apps\": []");

	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].host, "::");
	assert_int_equal(cfg->listen[0].port, 3443);
	assert_int_equal(cfg->workers, 0);
	assert_null(cfg->public_addr);
	assert_string_equal(cfg->tls.cert_file, "/c.crt");
	assert_int_equal(cfg->tls.nclient_ca_files, 0);
	assert_null(cfg->tls.crl_file);
	assert_int_equal(cfg->tls.min_version, PX_TLS_1_2);
	assert_false(cfg->tls.session_tickets);
	assert_string_equal(cfg->data_dir, "/var/lib/awsgate");
	assert_string_equal(cfg->aws.region, "us-east-1");
	assert_int_equal(cfg->aws.partitions, PX_PARTITION_AWS);
	assert_int_equal(cfg->aws.credential_source, PX_CREDS_DEFAULT);
	assert_null(cfg->aws.profile);
	assert_null(cfg->aws.ca_file);
	assert_null(cfg->aws.hosts_file);
	assert_int_equal(cfg->aws.nconnect_to, 0);
	assert_false(cfg->aws.allow_customer_endpoints);
	assert_false(cfg->aws.allow_private_addresses);
	assert_int_equal(cfg->aws.session_duration, 3600);
	assert_true(json_is_array(cfg->apps));
	assert_string_equal(cfg->audit.file, "-");
	assert_true(cfg->audit.fail_closed);
	assert_string_equal(cfg->log.file, "-");
	assert_int_equal(cfg->log.level, PX_LOG_INFO);
	assert_null(cfg->metrics.listen.host);
	assert_string_equal(cfg->metrics.path, "/metrics");
	assert_int_equal(cfg->limits.max_connections, 10000);
	assert_int_equal(cfg->limits.max_header_bytes, 65536);
	assert_int_equal(cfg->limits.max_headers, 100);
	assert_int_equal(cfg->limits.max_request_line, 16384);
	assert_int_equal(cfg->limits.max_body_buffer, 16 * 1024 * 1024);
	assert_int_equal(cfg->limits.h2_max_concurrent_streams, 100);
	assert_int_equal(cfg->limits.h2_max_header_list_size, 65536);
	assert_int_equal(cfg->limits.h2_initial_window_size, 1024 * 1024);
	assert_int_equal(cfg->timeouts.header_read, 30);
	assert_int_equal(cfg->timeouts.idle, 300);
	assert_int_equal(cfg->timeouts.upstream_connect, 10);
	assert_int_equal(cfg->timeouts.upstream_first_byte, 60);
	assert_int_equal(cfg->timeouts.upstream_idle, 300);
	assert_int_equal(cfg->timeouts.sts, 10);
	assert_int_equal(cfg->timeouts.shutdown_grace, 30);
	px_config_unref(cfg);
}

/* Every default in the table is a value its own type accepts, and the
 * table's text is what `config options` prints. */
static void test_option_table(void **state)
{
	(void)state;
	struct px_config_optinfo info;
	size_t n = 0;

	for (; px_config_option(n, &info) == 0; n++) {
		json_error_t e;
		json_t *v = json_loads(info.default_value, JSON_DECODE_ANY, &e);
		assert_non_null(v);
		json_decref(v);
		assert_true(strlen(info.name) > 0 && strlen(info.type) > 0 && strlen(info.description) > 0);
		assert_null(strchr(info.description, '\t'));
		assert_null(strchr(info.description, '|')); /* it goes into a Markdown table */
		for (size_t j = 0; j < n; j++) {
			struct px_config_optinfo other;
			assert_int_equal(px_config_option(j, &other), 0);
			assert_string_not_equal(other.name, info.name);
		}
	}
	assert_true(n >= 40);
	assert_int_equal(px_config_option(n, &info), -1);
}

/* --- good values of each type ------------------------------------------------- */

static void test_good_values(void **state)
{
	(void)state;
	struct px_config *cfg = load_ok(
		"!{\"resources_dir\": \"/res\", \"listen\": [\"127.0.0.1:8443\", \"[::1]:443\", \"gate.example.com:65535\"],\n"
		"\"workers\": 256, \"public_addr\": \"gate.example.com\",\n"
		"\"tls\": {\"cert_file\": \"/c.crt\", \"key_file\": \"/c.key\","
		" \"client_ca_files\": [\"users.crt\", \"/abs/robots.crt\"], \"crl_file\": null,"
		" \"min_version\": \"1.3\", \"session_tickets\": true},\n"
		"\"data_dir\": \"state\",\n"
		"\"aws\": {\"region\": \"us-gov-west-1\", \"partitions\": [\"aws\", \"aws-us-gov\"],"
		" \"credential_source\": \"web_identity\", \"profile\": null, \"ca_file\": \"fake-aws-ca.crt\","
		" \"hosts_file\": \"hosts\","
		" \"connect_to\": [{\"host\": \"*.amazonaws.com\", \"address\": \"127.0.0.1:9443\"},"
		" {\"address\": \"[::1]:9444\", \"host\": \"sts.us-east-1.amazonaws.com\"}],"
		" \"allow_customer_endpoints\": true, \"allow_private_addresses\": true, \"session_duration\": 900},\n"
		"\"apps\": [{\"kind\": \"app\"}, {}],\n"
		"\"audit\": {\"file\": \"/var/log/awsgate/audit.log\", \"fail_closed\": false},\n"
		"\"log\": {\"file\": \"/var/log/awsgate/error.log\", \"level\": \"debug\"},\n"
		"\"metrics\": {\"listen\": \"127.0.0.1:9100\", \"path\": \"/internal/metrics\"},\n"
		"\"limits\": {\"max_connections\": 1, \"max_header_bytes\": 1024, \"max_headers\": 1000,"
		" \"max_request_line\": \"1MiB\", \"max_body_buffer\": 0, \"h2_max_concurrent_streams\": 1,"
		" \"h2_max_header_list_size\": \"4KiB\", \"h2_initial_window_size\": 2147483647},\n"
		"\"timeouts\": {\"header_read\": \"10m\", \"idle\": \"24h\", \"upstream_connect\": 1,"
		" \"upstream_first_byte\": \"1h\", \"upstream_idle\": \"1h30m15s\", \"sts\": \"90\", \"shutdown_grace\": \"0s\"}\n}");

	assert_int_equal(cfg->nlisten, 3);
	assert_string_equal(cfg->listen[0].host, "127.0.0.1");
	assert_int_equal(cfg->listen[0].port, 8443);
	assert_string_equal(cfg->listen[1].host, "::1");
	assert_int_equal(cfg->listen[1].port, 443);
	assert_string_equal(cfg->listen[2].host, "gate.example.com");
	assert_int_equal(cfg->listen[2].port, 65535);
	assert_int_equal(cfg->workers, 256);
	assert_string_equal(cfg->public_addr, "gate.example.com");
	assert_int_equal(cfg->tls.nclient_ca_files, 2);
	/* Relative paths are taken from the file's directory. */
	assert_string_equal(cfg->tls.client_ca_files[0], "/etc/awsgate/users.crt");
	assert_string_equal(cfg->tls.client_ca_files[1], "/abs/robots.crt");
	assert_null(cfg->tls.crl_file);
	assert_int_equal(cfg->tls.min_version, PX_TLS_1_3);
	assert_true(cfg->tls.session_tickets);
	assert_string_equal(cfg->data_dir, "/etc/awsgate/state");
	assert_string_equal(cfg->aws.region, "us-gov-west-1");
	assert_int_equal(cfg->aws.partitions, PX_PARTITION_AWS | PX_PARTITION_AWS_US_GOV);
	assert_int_equal(cfg->aws.credential_source, PX_CREDS_WEB_IDENTITY);
	assert_string_equal(cfg->aws.ca_file, "/etc/awsgate/fake-aws-ca.crt");
	assert_string_equal(cfg->aws.hosts_file, "/etc/awsgate/hosts");
	assert_int_equal(cfg->aws.nconnect_to, 2);
	assert_string_equal(cfg->aws.connect_to[0].host, "*.amazonaws.com");
	assert_string_equal(cfg->aws.connect_to[0].address.host, "127.0.0.1");
	assert_int_equal(cfg->aws.connect_to[0].address.port, 9443);
	assert_string_equal(cfg->aws.connect_to[1].host, "sts.us-east-1.amazonaws.com");
	assert_string_equal(cfg->aws.connect_to[1].address.host, "::1");
	assert_true(cfg->aws.allow_customer_endpoints);
	assert_true(cfg->aws.allow_private_addresses);
	assert_int_equal(cfg->aws.session_duration, 900);
	assert_int_equal(json_array_size(cfg->apps), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cfg->apps, 0), "kind")), "app");
	assert_string_equal(cfg->audit.file, "/var/log/awsgate/audit.log");
	assert_false(cfg->audit.fail_closed);
	assert_int_equal(cfg->log.level, PX_LOG_DEBUG);
	assert_string_equal(cfg->metrics.listen.host, "127.0.0.1");
	assert_int_equal(cfg->metrics.listen.port, 9100);
	assert_string_equal(cfg->metrics.path, "/internal/metrics");
	assert_int_equal(cfg->limits.max_connections, 1);
	assert_int_equal(cfg->limits.max_header_bytes, 1024);
	assert_int_equal(cfg->limits.max_request_line, 1024 * 1024);
	assert_int_equal(cfg->limits.max_body_buffer, 0);
	assert_int_equal(cfg->limits.h2_max_header_list_size, 4096);
	assert_int_equal(cfg->limits.h2_initial_window_size, 2147483647);
	assert_int_equal(cfg->timeouts.header_read, 600);
	assert_int_equal(cfg->timeouts.idle, 86400);
	assert_int_equal(cfg->timeouts.upstream_connect, 1);
	assert_int_equal(cfg->timeouts.upstream_idle, 5415);
	assert_int_equal(cfg->timeouts.sts, 90);
	assert_int_equal(cfg->timeouts.shutdown_grace, 0);

	/* Shared by reference: the last unref frees it (ASan sees the rest). */
	assert_ptr_equal(px_config_ref(cfg), cfg);
	px_config_unref(cfg);
	px_config_unref(cfg);
	px_config_unref(NULL);
}

/* --- errors and warnings, one case each ----------------------------------------- */

struct diag_case {
	const char *name;
	const char *text;  /* a case body after BASE; a whole file when it starts with '!' */
	int rv;            /* 0 or PX_ERR_CONFIG */
	size_t nerrors;
	size_t nwarnings;
	const char *first; /* the first diagnostic, as format() writes it */
};

static struct diag_case diag_cases[] = {
	{"unknown-key-with-suggestion", "\"limits\": {\"max_header\": 5}", PX_ERR_CONFIG, 1, 0,
	 "2:26: error: limits.max_header: unknown option \"max_header\": did you mean \"max_headers\"?"},
	{"unknown-section-with-suggestion", "\"timeout\": {}", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: timeout: unknown option \"timeout\": did you mean \"timeouts\"?"},
	{"unknown-key-in-another-section", "\"max_headers\": 5", PX_ERR_CONFIG, 1, 0,
	 "2:16: error: max_headers: unknown option \"max_headers\": did you mean \"limits.max_headers\"?"},
	{"dotted-key", "\"limits.max_headers\": 5", PX_ERR_CONFIG, 1, 0,
	 "2:23: error: [\"limits.max_headers\"]: unknown option \"limits.max_headers\": write "
	 "\"limits.max_headers\" as nested objects"},
	{"unknown-key-far-from-any", "\"frobnicate\": true", PX_ERR_CONFIG, 1, 0,
	 "2:15: error: frobnicate: unknown option \"frobnicate\": remove it (`awsgatectl config options` lists "
	 "them)"},
	{"duplicate-key", "\"workers\": 1,\n\"workers\": 2", PX_ERR_CONFIG, 1, 0,
	 "3:1: error: key \"workers\" appears twice in one object: keep one"},
	{"syntax-error-trailing-comma", "\"workers\": 1,\n}", PX_ERR_CONFIG, 1, 0,
	 "3:1: error: not valid JSON: string or '}' expected near '}'"},
	{"syntax-error-bad-token", "\"workers\": four", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: not valid JSON: invalid token near 'four'"},
	{"syntax-error-end-of-file", "!{\"workers\": 1", PX_ERR_CONFIG, 1, 0,
	 "1:14: error: not valid JSON: '}' expected near end of file"},
	{"empty-file", "!  \n", PX_ERR_CONFIG, 1, 0,
	 "1:1: error: empty: write a JSON object of options, such as {\"tls\": {\"cert_file\": ..., \"key_file\": "
	 "...}}"},
	{"not-an-object", "![\"listen\"]", PX_ERR_CONFIG, 1, 0,
	 "1:1: error: expected a JSON object of options ({...}), not an array"},
	{"section-not-an-object", "\"limits\": 5", PX_ERR_CONFIG, 1, 0,
	 "2:11: error: limits: expected an object of \"limits.*\" options ({...}), not an integer"},
	{"wrong-type-uint", "\"workers\": \"4\"", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: workers: expected a whole number from 0 to 256, not a string"},
	{"wrong-type-uint-fraction", "\"workers\": 1.5", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: workers: expected a whole number from 0 to 256, not a number with a fraction"},
	{"uint-out-of-range", "\"workers\": 257", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: workers: 257 is out of range: use 0 to 256"},
	{"uint-negative", "\"limits\": {\"max_headers\": -1}", PX_ERR_CONFIG, 1, 0,
	 "2:27: error: limits.max_headers: -1 is out of range: use 1 to 1000"},
	{"uint-below-minimum", "\"limits\": {\"max_connections\": 0}", PX_ERR_CONFIG, 1, 0,
	 "2:31: error: limits.max_connections: 0 is out of range: use 1 to 1000000"},
	{"wrong-type-bool", "\"audit\": {\"fail_closed\": \"no\"}", PX_ERR_CONFIG, 1, 0,
	 "2:26: error: audit.fail_closed: expected true or false, not a string"},
	{"wrong-type-string", "\"aws\": {\"region\": 1}", PX_ERR_CONFIG, 1, 0,
	 "2:19: error: aws.region: expected a string, not an integer"},
	{"null-for-a-required-value", "\"data_dir\": null", PX_ERR_CONFIG, 1, 0,
	 "2:13: error: data_dir: expected a file path (a string), not null"},
	{"empty-path", "\"data_dir\": \"\"", PX_ERR_CONFIG, 1, 0,
	 "2:13: error: data_dir: empty: write a value, or remove the option"},
	{"bad-duration", "\"timeouts\": {\"idle\": \"5 minutes\"}", PX_ERR_CONFIG, 1, 0,
	 "2:22: error: timeouts.idle: \"5 minutes\" is not a duration: write one such as \"90s\", \"15m\" or "
	 "\"1h30m\" (units h, m, s in that order)"},
	{"bad-duration-days", "\"timeouts\": {\"idle\": \"1d\"}", PX_ERR_CONFIG, 1, 0,
	 "2:22: error: timeouts.idle: \"1d\" is not a duration: write one such as \"90s\", \"15m\" or \"1h30m\" "
	 "(units h, m, s in that order)"},
	{"duration-wrong-type", "\"timeouts\": {\"idle\": true}", PX_ERR_CONFIG, 1, 0,
	 "2:22: error: timeouts.idle: expected a duration such as \"90s\", \"15m\" or \"1h30m\", not a boolean"},
	{"duration-out-of-range", "\"timeouts\": {\"sts\": \"1h\"}", PX_ERR_CONFIG, 1, 0,
	 "2:21: error: timeouts.sts: out of range: use 1s to 5m"},
	{"duration-zero", "\"timeouts\": {\"idle\": 0}", PX_ERR_CONFIG, 1, 0,
	 "2:22: error: timeouts.idle: out of range: use 1s to 24h"},
	{"duration-past-uint32", "\"timeouts\": {\"idle\": \"9999999999s\"}", PX_ERR_CONFIG, 1, 0,
	 "2:22: error: timeouts.idle: out of range: use 1s to 24h"},
	{"session-duration-below-sts-minimum", "\"aws\": {\"session_duration\": \"5m\"}", PX_ERR_CONFIG, 1, 0,
	 "2:29: error: aws.session_duration: out of range: use 15m to 12h"},
	{"bad-size", "\"limits\": {\"max_body_buffer\": \"16 MB\"}", PX_ERR_CONFIG, 1, 0,
	 "2:31: error: limits.max_body_buffer: \"16 MB\" is not a size: write bytes, or a number with KiB, MiB or "
	 "GiB such as \"64KiB\" or \"16MiB\""},
	{"size-out-of-range", "\"limits\": {\"max_header_bytes\": \"2MiB\"}", PX_ERR_CONFIG, 1, 0,
	 "2:32: error: limits.max_header_bytes: out of range: use 1KiB to 1MiB"},
	{"size-wrong-type", "\"limits\": {\"max_body_buffer\": []}", PX_ERR_CONFIG, 1, 0,
	 "2:31: error: limits.max_body_buffer: expected a size such as 65536, \"64KiB\" or \"16MiB\", not an "
	 "array"},
	{"bad-enum", "\"log\": {\"level\": \"verbose\"}", PX_ERR_CONFIG, 1, 0,
	 "2:18: error: log.level: \"verbose\" is not one of \"err\", \"warn\", \"notice\", \"info\" or \"debug\""},
	{"bad-tls-version", "!{\"tls\": {\"cert_file\": \"/c\", \"key_file\": \"/k\", \"min_version\": \"1.1\"}, \"resources_dir\": \"/r\"}",
	 PX_ERR_CONFIG, 1, 1,
	 "1:62: error: tls.min_version: \"1.1\" is not one of \"1.2\" or \"1.3\""},
	{"enum-wrong-type", "\"log\": {\"level\": 3}", PX_ERR_CONFIG, 1, 0,
	 "2:18: error: log.level: expected one of \"err\", \"warn\", \"notice\", \"info\" or \"debug\" (a string), "
	 "not an integer"},
	{"bad-credential-source", "\"aws\": {\"credential_source\": \"instance\"}", PX_ERR_CONFIG, 1, 0,
	 "2:30: error: aws.credential_source: \"instance\" is not one of \"default\", \"environment\", "
	 "\"profile\", \"web_identity\", \"container\" or \"imds\""},
	{"bad-partition", "\"aws\": {\"partitions\": [\"aws\", \"aws-eu\"]}", PX_ERR_CONFIG, 1, 0,
	 "2:31: error: aws.partitions[1]: \"aws-eu\" is not one of \"aws\", \"aws-cn\", \"aws-us-gov\", "
	 "\"aws-iso\" or \"aws-iso-b\""},
	{"partition-twice", "\"aws\": {\"partitions\": [\"aws\", \"aws\"]}", PX_ERR_CONFIG, 1, 0,
	 "2:31: error: aws.partitions[1]: \"aws\" is listed twice: remove one"},
	{"bad-region", "\"aws\": {\"region\": \"US-EAST-1\"}", PX_ERR_CONFIG, 1, 0,
	 "2:19: error: aws.region: \"US-EAST-1\": not a region name: write one such as \"us-east-1\" or "
	 "\"eu-central-1\""},
	{"region-outside-partitions", "\"aws\": {\"region\": \"cn-north-1\"}", PX_ERR_CONFIG, 1, 0,
	 "2:19: error: aws.region: \"cn-north-1\" is in partition \"aws-cn\", which aws.partitions leaves out: add "
	 "it, or choose a region of those partitions"},
	{"listen-not-a-list", "\"listen\": \"[::]:3443\"", PX_ERR_CONFIG, 1, 0,
	 "2:11: error: listen: expected a list of addresses such as \"[::]:3443\" ([...]), not a string"},
	{"listen-empty", "\"listen\": []", PX_ERR_CONFIG, 1, 0, "2:11: error: listen: an empty list: give at least 1"},
	{"listen-no-port", "\"listen\": [\"[::]:3443\", \"127.0.0.1\"]", PX_ERR_CONFIG, 1, 0,
	 "2:25: error: listen[1]: \"127.0.0.1\": add a port: \"host:3443\" or \"[::]:3443\""},
	{"listen-bad-port", "\"listen\": [\"127.0.0.1:70000\"]", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: listen[0]: \"127.0.0.1:70000\": the port must be a number from 1 to 65535"},
	{"listen-v6-without-brackets", "\"listen\": [\"::1:3443\"]", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: listen[0]: \"::1:3443\": write an IPv6 address in brackets: \"[::1]:3443\""},
	{"listen-bad-v6", "\"listen\": [\"[fe80::zz]:3443\"]", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: listen[0]: \"[fe80::zz]:3443\": not an IPv6 address in the brackets: write one such as "
	 "\"[::1]:3443\" or \"[::]:3443\""},
	{"listen-star", "\"listen\": [\"*:3443\"]", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: listen[0]: \"*:3443\": name the host: \"0.0.0.0:3443\" or \"[::]:3443\" for every address, "
	 "\"127.0.0.1:3443\" for this machine only"},
	{"listen-bad-host", "\"listen\": [\"gate_1.example.com:3443\"]", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: listen[0]: \"gate_1.example.com:3443\": not a host name or IP address: write one such as "
	 "\"gate.example.com:3443\" or \"10.0.0.5:3443\""},
	{"listen-twice", "\"listen\": [\"[::]:3443\", \"[::]:3443\"]", PX_ERR_CONFIG, 1, 0,
	 "2:25: error: listen[1]: \"[::]:3443\" is already listen[0]: remove one"},
	{"listen-entry-wrong-type", "\"listen\": [3443]", PX_ERR_CONFIG, 1, 0,
	 "2:12: error: listen[0]: expected an address such as \"[::]:3443\" (a string), not an integer"},
	{"metrics-on-a-listen-address", "\"metrics\": {\"listen\": \"[::]:3443\"}", PX_ERR_CONFIG, 1, 0,
	 "2:23: error: metrics.listen: also listen[0]: metrics need an address of their own"},
	{"metrics-bad-path", "\"metrics\": {\"path\": \"metrics\"}", PX_ERR_CONFIG, 1, 0,
	 "2:21: error: metrics.path: \"metrics\": a URL path starts with \"/\": \"/metrics\""},
	{"bad-public-addr", "\"public_addr\": \"https://gate.example.com\"", PX_ERR_CONFIG, 1, 0,
	 "2:16: error: public_addr: \"https://gate.example.com\": write \"host\" or \"host:port\" alone, without a "
	 "scheme or path"},
	{"connect-to-not-an-object", "\"aws\": {\"connect_to\": [\"127.0.0.1:9443\"]}", PX_ERR_CONFIG, 1, 0,
	 "2:24: error: aws.connect_to[0]: expected {\"host\": \"pattern\", \"address\": \"host:port\"}, not a "
	 "string"},
	{"connect-to-bad-address", "\"aws\": {\"connect_to\": [{\"host\": \"*.amazonaws.com\", \"address\": \"x\"}]}",
	 PX_ERR_CONFIG, 1, 0,
	 "2:63: error: aws.connect_to[0].address: \"x\": add a port: \"host:3443\" or \"[::]:3443\""},
	{"connect-to-upper-case-host", "\"aws\": {\"connect_to\": [{\"host\": \"STS.amazonaws.com\", \"address\": "
	 "\"127.0.0.1:1\"}]}", PX_ERR_CONFIG, 1, 0,
	 "2:33: error: aws.connect_to[0].host: \"STS.amazonaws.com\": host names are compared in lower case: write "
	 "the pattern in lower case"},
	{"connect-to-unknown-key", "\"aws\": {\"connect_to\": [{\"host\": \"*\", \"address\": \"127.0.0.1:1\", "
	 "\"port\": 1}]}", PX_ERR_CONFIG, 1, 0,
	 "2:72: error: aws.connect_to[0].port: unknown key \"port\": an entry has only \"host\" and \"address\""},
	{"connect-to-no-address", "\"aws\": {\"connect_to\": [{\"host\": \"*\"}]}", PX_ERR_CONFIG, 1, 0,
	 "2:24: error: aws.connect_to[0]: no \"address\": add the \"host:port\" to connect to instead"},
	{"connect-to-host-twice", "\"aws\": {\"connect_to\": [{\"host\": \"*\", \"address\": \"127.0.0.1:1\"}, "
	 "{\"host\": \"*\", \"address\": \"127.0.0.1:2\"}]}", PX_ERR_CONFIG, 1, 0,
	 "2:74: error: aws.connect_to[1].host: \"*\" is already the host of aws.connect_to[0]: keep one"},
	{"apps-not-a-list", "\"apps\": {}", PX_ERR_CONFIG, 1, 0,
	 "2:9: error: apps: expected a list of app resources ([{\"kind\": \"app\", ...}]), not an object"},
	{"apps-entry-not-an-object", "\"apps\": [{}, \"my-app\"]", PX_ERR_CONFIG, 1, 0,
	 "2:14: error: apps[1]: expected an app resource ({\"kind\": \"app\", \"version\": \"v3\", \"metadata\": "
	 "{...}, \"spec\": {...}}), not a string"},
	{"client-ca-files-empty-entry", "!{\"tls\": {\"client_ca_files\": [\"\"]}, \"resources_dir\": \"/r\"}", PX_ERR_CONFIG, 2, 0,
	 "1:30: error: tls.client_ca_files[0]: an empty path: write a file's path, or remove the entry"},
	{"no-certificate", "!{\"resources_dir\": \"/res\", \"tls\": {\"identity_ca_file\": \"/ca.crt\"}}",
	 PX_ERR_CONFIG, 1, 0,
	 "1:34: error: tls: no certificate: set tls.cert_file and tls.key_file (awsgatectl certs server writes "
	 "them); the gate serves TLS only"},
	{"key-without-certificate", "!{\"resources_dir\": \"/res\", \"tls\": {\"key_file\": \"/k\", "
	 "\"identity_ca_file\": \"/ca.crt\"}}", PX_ERR_CONFIG, 1, 0,
	 "1:47: error: tls.key_file: a key without its certificate: set tls.cert_file too"},
	{"audit-and-log-one-file", "\"audit\": {\"file\": \"/var/log/gate.log\"}, \"log\": {\"file\": "
	 "\"/var/log/gate.log\"}", PX_ERR_CONFIG, 1, 0,
	 "2:19: error: audit.file: the same file as log.file: the audit log needs a file of its own"},
	{"errors-gathered", "\"workers\": -1,\n\"limits\": {\"max_headers\": 0},\n\"log\": 5", PX_ERR_CONFIG, 3, 0,
	 "2:12: error: workers: -1 is out of range: use 0 to 256"},

	{"warning-no-client-ca", "!{\"resources_dir\": \"/r\", \"tls\": {\"cert_file\": \"/c\", \"key_file\": "
	 "\"/k\"}}", 0, 0, 1,
	 "1:32: warning: tls: no client CA: no client certificate can be verified, so no one can use the gate; set "
	 "tls.identity_ca_file or tls.client_ca_files"},
	{"warning-no-apps", "!{\"tls\": {\"cert_file\": \"/c\", \"key_file\": \"/k\", \"client_ca_files\": "
	 "[\"/u\"]}}", 0, 0, 1,
	 "1:1: warning: no apps: set resources_dir, or list apps inline in \"apps\""},
	{"warning-profile-ignored", "\"aws\": {\"credential_source\": \"imds\", \"profile\": \"ops\"}", 0, 0, 1,
	 "2:49: warning: aws.profile: ignored with credential_source \"imds\": remove it, or use \"profile\""},
	{"no-cross-check-on-a-failed-option", "\"apps\": 5", PX_ERR_CONFIG, 1, 0,
	 "2:9: error: apps: expected a list of app resources ([{\"kind\": \"app\", ...}]), not an integer"},
};

static void test_diag(void **state)
{
	const struct diag_case *c = *state;
	char text[4096], got[1024];
	struct px_config *cfg;
	struct px_diags d;

	if (c->text[0] == '!')
		snprintf(text, sizeof(text), "%s", c->text + 1);
	else
		snprintf(text, sizeof(text), "%s%s}", BASE, c->text);
	int rv = load(text, &cfg, &d);
	for (size_t i = 0; i < d.n; i++) {
		format(&d.v[i], got, sizeof(got));
		print_message("# %s\n", got);
	}
	assert_int_equal(rv, c->rv);
	assert_int_equal(d.nerrors, c->nerrors);
	assert_int_equal(d.nwarnings, c->nwarnings);
	assert_true(d.n > 0);
	format(&d.v[0], got, sizeof(got));
	assert_string_equal(got, c->first);
	if (rv == 0)
		px_config_unref(cfg);
	px_diags_free(&d);
}

/* --- files ------------------------------------------------------------------------- */

static void test_check_files(void **state)
{
	(void)state;
	static const char text[] = "{\"tls\": {\"cert_file\": \"/nonexistent/c.crt\", \"key_file\": \"/dev/null\","
	                           " \"identity_ca_file\": \"/\"}, \"resources_dir\": \"/etc/passwd\","
	                           " \"data_dir\": \"/\", \"audit\": {\"file\": \"/nonexistent/audit.log\"},"
	                           " \"aws\": {\"hosts_file\": \"/nonexistent/hosts\"}}";
	struct px_config *cfg = NULL;
	struct px_diags d;
	char got[1024];

	px_diags_init(&d, "f.json");
	assert_int_equal(px_config_load("f.json", text, strlen(text), PX_CONFIG_CHECK_FILES, &cfg, &d), PX_ERR_CONFIG);
	assert_int_equal(d.nerrors, 6);
	format(&d.v[0], got, sizeof(got));
	assert_string_equal(got, "1:23: error: tls.cert_file: cannot open \"/nonexistent/c.crt\": No such file or "
	                         "directory");
	format(&d.v[1], got, sizeof(got));
	assert_string_equal(got, "1:57: error: tls.key_file: \"/dev/null\" is not a regular file");
	format(&d.v[2], got, sizeof(got));
	assert_string_equal(got, "1:90: error: tls.identity_ca_file: \"/\" is not a regular file");
	format(&d.v[3], got, sizeof(got));
	assert_string_equal(got, "1:212: error: aws.hosts_file: cannot open \"/nonexistent/hosts\": No such file or "
	                         "directory");
	format(&d.v[4], got, sizeof(got));
	assert_string_equal(got, "1:113: error: resources_dir: \"/etc/passwd\" is not a directory");
	format(&d.v[5], got, sizeof(got));
	assert_string_equal(got, "1:163: error: audit.file: \"/nonexistent\": No such file or directory: create it, "
	                         "or choose a log file in a directory that exists");
	px_diags_free(&d);
}

/* --- diagnostics ------------------------------------------------------------------ */

static void test_diags_print(void **state)
{
	(void)state;
	struct px_diags d;
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	assert_non_null(f);
	px_diags_init(&d, "gate.json");
	px_diags_add(&d, PX_DIAG_ERROR, "limits.max_headers", 3, 7, "out of range: use %d to %d", 1, 1000);
	px_diags_add(&d, PX_DIAG_WARNING, "", 0, 0, "no apps");
	px_diags_add(&d, PX_DIAG_ERROR, "a\033[31m", 2, 0, "bell\a");
	px_diags_print(&d, f);
	fclose(f);
	assert_string_equal(buf, "gate.json:3:7: error: limits.max_headers: out of range: use 1 to 1000\n"
	                         "gate.json: warning: no apps\n"
	                         "gate.json:2: error: a?[31m: bell?\n");
	assert_int_equal(d.nerrors, 2);
	assert_int_equal(d.nwarnings, 1);
	px_diags_free(&d);
	assert_int_equal(d.n, 0);
	assert_string_equal(d.file, "gate.json");
}

/* rbac's loaders report through the same list, each with its own file. */
static void test_diags_rbac(void **state)
{
	(void)state;
	struct px_diags d;
	struct rbac_diag err = {.file = "/etc/awsgate/resources/roles.json", .path = "[2].spec.allow", .line = 4,
	                        .column = 9, .code = RBAC_ERR_INVALID, .msg = "expected an object"};
	struct rbac_diag warn = {.file = "awsgated.json", .path = "apps[0].spec.logins", .code = 0,
	                         .msg = "ignored\n"};
	char buf[1024] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	assert_non_null(f);
	px_diags_init(&d, "awsgated.json");
	px_diags_rbac_fn(&d, &err);
	px_diags_rbac_fn(&d, &warn);
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.nwarnings, 1);
	px_diags_print(&d, f);
	fclose(f);
	assert_string_equal(buf, "/etc/awsgate/resources/roles.json:4:9: error: [2].spec.allow: expected an object\n"
	                         "awsgated.json: warning: apps[0].spec.logins: ignored?\n");
	px_diags_free(&d);
}

static void test_diags_bounded(void **state)
{
	(void)state;
	struct px_diags d;

	px_diags_init(&d, "x");
	for (int i = 0; i < PX_MAX_DIAGS + 5; i++)
		px_diags_add(&d, PX_DIAG_ERROR, "p", 1, 1, "error %d", i);
	assert_int_equal(d.n, PX_MAX_DIAGS);
	assert_int_equal(d.nerrors, PX_MAX_DIAGS + 5);
	assert_int_equal(d.dropped, 5);
	px_diags_free(&d);
}

int main(void)
{
	struct CMUnitTest tests[LEN(diag_cases) + 7];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_option_table);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_check_files);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_diags_print);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_diags_rbac);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_diags_bounded);
	for (size_t i = 0; i < LEN(diag_cases); i++)
		tests[n++] = (struct CMUnitTest){.name = diag_cases[i].name, .test_func = test_diag,
		                                 .initial_state = &diag_cases[i]};
	if (n != LEN(tests))
		abort();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
