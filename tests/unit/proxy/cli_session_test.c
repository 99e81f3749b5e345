/* SPDX-License-Identifier: Apache-2.0 */
/* cli_session_test.c: the active profile chosen and loaded from a temporary HOME, and turned into the local proxy's configuration. */
#define _POSIX_C_SOURCE 200809L
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

#include "proxy/cli.h"
#include "proxy/lproxy.h"
#include "proxy/proxy.h"

static char home[256];
static char top[300];

static void write_profile(const char *dirname, const char *name_inside, const char *app, const char *role)
{
	struct px_cli_profile p;
	char dir[600];
	char err[256];

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name_inside);
	snprintf(p.gate, sizeof(p.gate), "gate.example.com:8443");
	snprintf(p.app, sizeof(p.app), "%s", app);
	snprintf(p.role, sizeof(p.role), "%s", role);
	assert_int_equal(px_cli_keys_generate(p.access_key_id, p.secret_access_key), 0);
	snprintf(dir, sizeof(dir), "%s/%s", top, dirname);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(p.name, sizeof(p.name), "%s", dirname);
	assert_int_equal(px_cli_profile_save(top, &p, err, sizeof(err)), 0);
	if (strcmp(dirname, name_inside) != 0) {
		/* rewrite with another name inside */
		char path[700], *doc = NULL;
		size_t len = 0;
		snprintf(p.name, sizeof(p.name), "%s", name_inside);
		assert_int_equal(px_cli_profile_format(&p, &doc, &len), 0);
		snprintf(path, sizeof(path), "%s/profile.json", dir);
		assert_int_equal(px_file_write(path, doc, len, 0600, PX_FILE_REPLACE, err, sizeof(err)), 0);
		free(doc);
	}
}

static int setup(void **state)
{
	(void)state;
	char err[256];
	char path[400];

	snprintf(home, sizeof(home), "/tmp/awsgate-session-XXXXXX");
	if (mkdtemp(home) == NULL)
		return -1;
	setenv("HOME", home, 1);
	unsetenv("AWSGATE_PROFILE");
	if (px_cli_home(top, sizeof(top), 1, err, sizeof(err)) != 0)
		return -1;
	write_profile("work", "work", "dev", "arn:aws:iam::123456789012:role/Dev");
	write_profile("other", "other", "", "");
	write_profile("liar", "work", "", "");
	snprintf(path, sizeof(path), "%s/current", top);
	return px_file_write(path, "work\n", 5, 0600, 0, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_current(void **state)
{
	(void)state;
	struct px_cli_session s;
	struct px_lproxy_config cfg;
	char err[512] = "";
	char want[700];

	assert_int_equal(px_cli_session_load(NULL, &s, err, sizeof(err)), 0);
	assert_string_equal(s.p.name, "work");
	snprintf(want, sizeof(want), "%s/work/client.key", top);
	assert_string_equal(s.key, want);
	memset(&cfg, 0, sizeof(cfg));
	cfg.port = 1234;
	px_cli_session_lproxy(&s, &cfg);
	assert_int_equal(cfg.port, 1234); /* the rest is left alone */
	assert_string_equal(cfg.gate, "gate.example.com:8443");
	snprintf(want, sizeof(want), "%s/work/local-ca.key", top);
	assert_string_equal(cfg.local_ca_key_file, want);
	snprintf(want, sizeof(want), "%s/work/gate-ca.crt", top);
	assert_string_equal(cfg.gate_ca_file, want);
	assert_string_equal(cfg.app, "dev");
	assert_string_equal(cfg.role, "arn:aws:iam::123456789012:role/Dev");
	assert_int_equal(strlen(cfg.secret_access_key), PX_CLI_SECRET_LEN);

	struct px_cli_awsenv e;
	px_cli_session_awsenv(&s, 4321, &e);
	assert_int_equal(e.port, 4321);
	assert_string_equal(e.access_key_id, s.p.access_key_id);
	snprintf(want, sizeof(want), "%s/work/local-ca.crt", top);
	assert_string_equal(e.ca_file, want);
	px_cli_session_wipe(&s);
}

static void test_choice(void **state)
{
	(void)state;
	struct px_cli_session s;
	struct px_lproxy_config cfg;
	char err[512] = "";

	setenv("AWSGATE_PROFILE", "other", 1);
	assert_int_equal(px_cli_session_load(NULL, &s, err, sizeof(err)), 0);
	assert_string_equal(s.p.name, "other");
	memset(&cfg, 0, sizeof(cfg));
	px_cli_session_lproxy(&s, &cfg);
	assert_null(cfg.app); /* nothing chosen: the gate decides */
	assert_null(cfg.role);
	/* the flag wins over the environment */
	assert_int_equal(px_cli_session_load("work", &s, err, sizeof(err)), 0);
	assert_string_equal(s.p.name, "work");
	unsetenv("AWSGATE_PROFILE");

	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(px_cli_session_load("missing", &s, err, sizeof(err)), PX_ERR_IO);
	assert_non_null(strstr(err, "log in"));
	assert_int_equal((unsigned char)s.dir[0], 0x5a); /* written only on success */
	assert_int_equal(px_cli_session_load("../work", &s, err, sizeof(err)), PX_ERR_PROFILE);
	/* a profile.json that names another profile is not trusted */
	assert_int_equal(px_cli_session_load("liar", &s, err, sizeof(err)), PX_ERR_PROFILE);
	assert_non_null(strstr(err, "another profile"));
}

static void test_no_current(void **state)
{
	(void)state;
	struct px_cli_session s;
	char err[512] = "";
	char path[400];

	snprintf(path, sizeof(path), "%s/current", top);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(px_cli_session_load(NULL, &s, err, sizeof(err)), PX_ERR_PROFILE);
	assert_non_null(strstr(err, "awsgate login"));
	char err2[256];
	assert_int_equal(px_file_write(path, "../etc\n", 7, 0600, 0, err2, sizeof(err2)), 0);
	assert_int_equal(px_cli_session_load(NULL, &s, err, sizeof(err)), PX_ERR_PROFILE);
	unsetenv("HOME");
	assert_int_equal(px_cli_session_load(NULL, &s, err, sizeof(err)), PX_ERR_IO);
	assert_non_null(strstr(err, "HOME"));
	setenv("HOME", home, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_no_current),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
