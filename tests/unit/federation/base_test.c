/* SPDX-License-Identifier: Apache-2.0 */
/* base_test.c: the base credential chain against the fake world: every source, the order, forced sources, refresh, single flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/creds_int.h"
#include "tests/unit/federation/fake.h"

/* The fake clock starts at 2025-12-01T00:00:00Z. */
#define T0 "2025-12-01T00:00:00Z"
#define IN_1H "2025-12-01T01:00:00Z"
#define IN_6H "2025-12-01T06:00:00Z"
#define HOUR_MS INT64_C(3600000)

struct got {
	int called;
	int err;
	struct fed_snap *snap;
	struct fed_sts_error e;
};

static void on_done(void *arg, int err, struct fed_snap *s, const struct fed_sts_error *why)
{
	struct got *g = arg;
	g->called++;
	g->err = err;
	g->snap = s;
	if (why != NULL)
		g->e = *why;
}

static struct fake *world(void)
{
	struct fake *f = fake_new();
	fake_setenv(f, "HOME", "/home/gate");
	return f;
}

static struct fed_base *base_of(struct fake *f, enum fed_base_source s, const char *profile)
{
	struct fed_base *b;
	struct fed_base_options o = {s, profile};
	assert_int_equal(fed_base_new(fake_env(f), &o, &b), 0);
	return b;
}

/* Gets the credentials, running the fake loop when the answer is pending.
 * Returns the outcome; |*snap| (+1) on success, |why| on failure. */
static int resolve(struct fed_base *b, struct fake *f, struct fed_snap **snap, struct fed_sts_error *why)
{
	struct got g;
	struct fed_wait *w = NULL;
	struct fed_snap *s = NULL;
	memset(&g, 0, sizeof(g));
	memset(why, 0, sizeof(*why));
	int rv = fed_base_get(b, fake_transport(f), on_done, &g, &s, &w, why);
	if (rv == 0) {
		*snap = s;
		return 0;
	}
	if (rv != FED_PENDING)
		return rv;
	assert_non_null(w);
	fake_settle(f, 120000);
	assert_int_equal(g.called, 1);
	*why = g.e;
	if (g.err == 0)
		*snap = g.snap;
	return g.err;
}

static const char *sts_xml(char *buf, size_t size, const char *action, const char *akid, const char *exp)
{
	snprintf(buf, size,
		 "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><%sResult><Credentials>"
		 "<AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret-of-%s</SecretAccessKey>"
		 "<SessionToken>token-of-%s</SessionToken><Expiration>%s</Expiration></Credentials>"
		 "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/R/s</Arn>"
		 "<AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser></%sResult>"
		 "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></%sResponse>",
		 action, action, akid, akid, akid, exp, action, action);
	return buf;
}

static void assert_signed_by(const struct fake_request *r, const char *akid)
{
	const char *auth = fake_request_header(r, "Authorization");
	char want[128];
	assert_non_null(auth);
	snprintf(want, sizeof(want), "Credential=%s/", akid);
	if (strstr(auth, want) == NULL)
		fail_msg("%s not signed by %s", auth, akid);
}

/* --- environment --------------------------------------------------------- */

static void test_env(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	struct fed_snap *s;
	struct fed_sts_error why;

	fake_setenv(f, "AWS_ACCESS_KEY_ID", "AKIDENV");
	fake_setenv(f, "AWS_SECRET_ACCESS_KEY", "secret-env");
	/* a profile that would also give keys: the environment comes first */
	fake_file(f, "/home/gate/.aws/credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = x\n",
		  (size_t)-1);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	const struct fed_creds *c = fed_snap_creds(s);
	assert_string_equal(c->access_key_id, "AKIDENV");
	assert_string_equal(c->secret_access_key, "secret-env");
	assert_null(c->session_token);
	assert_true(c->long_term);
	assert_int_equal(c->expiration, 0);
	assert_string_equal(c->source, "environment");
	assert_int_equal(fake_nrequests(f), 0);
	fed_snap_unref(s);
	/* a hit: the same snapshot, nothing read again */
	size_t reads = fake_nreads(f);
	struct fed_snap *s2;
	assert_int_equal(resolve(b, f, &s2, &why), 0);
	assert_string_equal(fed_snap_creds(s2)->access_key_id, "AKIDENV");
	assert_int_equal(fake_nreads(f), reads);
	fed_snap_unref(s2);
	char region[64], source[96];
	fed_base_describe(b, region, sizeof(region), source, sizeof(source));
	assert_string_equal(source, "environment");
	assert_string_equal(region, "");
	fed_base_del(b);

	/* temporary keys with an expiry: not long-term */
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	fake_setenv(f, "AWS_SESSION_TOKEN", "tok-env");
	fake_setenv(f, "AWS_CREDENTIAL_EXPIRATION", IN_1H);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	c = fed_snap_creds(s);
	assert_string_equal(c->session_token, "tok-env");
	assert_false(c->long_term);
	assert_int_equal(c->expiration, FAKE_START_MS / 1000 + 3600);
	fed_snap_unref(s);
	fed_base_del(b);

	/* expired */
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	fake_setenv(f, "AWS_CREDENTIAL_EXPIRATION", "2025-11-30T23:00:00Z");
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_EXPIRED);
	assert_non_null(strstr(why.message, "AWS_CREDENTIAL_EXPIRATION"));
	fed_base_del(b);

	/* malformed expiry */
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	fake_setenv(f, "AWS_CREDENTIAL_EXPIRATION", "soon");
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	fed_base_del(b);

	/* half a pair: an error, not a fall-through to the next source */
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	fake_setenv(f, "AWS_CREDENTIAL_EXPIRATION", NULL);
	fake_setenv(f, "AWS_SECRET_ACCESS_KEY", NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_non_null(strstr(why.message, "AWS_SECRET_ACCESS_KEY"));
	/* the secret never appears in a message */
	assert_null(strstr(why.message, "secret-env"));
	fed_base_del(b);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

/* --- shared files ----------------------------------------------------------- */

static void test_profile_static(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;

	fake_file(f, "/home/gate/.aws/credentials",
		  "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n"
		  "[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = s2\naws_session_token = t2\n",
		  (size_t)-1);
	fake_file(f, "/home/gate/.aws/config",
		  "[default]\nregion = us-east-1\n[profile prod]\nregion = eu-west-1\n"
		  "[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = s3\n",
		  (size_t)-1);

	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "AKIDDEFAULT");
	assert_string_equal(fed_snap_creds(s)->source, "profile default (shared credentials file)");
	assert_true(fed_snap_creds(s)->long_term);
	fed_snap_unref(s);
	char region[64];
	fed_base_describe(b, region, sizeof(region), NULL, 0);
	assert_string_equal(region, "us-east-1");
	fed_base_del(b);

	/* AWS_PROFILE, and the option over it */
	fake_setenv(f, "AWS_PROFILE", "prod");
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "AKIDPROD");
	assert_string_equal(fed_snap_creds(s)->session_token, "t2");
	assert_false(fed_snap_creds(s)->long_term);
	fed_snap_unref(s);
	fed_base_describe(b, region, sizeof(region), NULL, 0);
	assert_string_equal(region, "eu-west-1");
	fed_base_del(b);

	b = base_of(f, FED_BASE_DEFAULT, "cfg");
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "AKIDCFG");
	assert_string_equal(fed_snap_creds(s)->source, "profile cfg (config file)");
	fed_snap_unref(s);
	fed_base_del(b);

	/* a named profile that does not exist is an error, not the next source */
	b = base_of(f, FED_BASE_DEFAULT, "nope");
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_non_null(strstr(why.message, "nope"));
	assert_int_equal(fake_nrequests(f), 0);
	fed_base_del(b);

	/* the file variables, and a malformed file named with its line */
	fake_setenv(f, "AWS_PROFILE", NULL);
	fake_setenv(f, "AWS_SHARED_CREDENTIALS_FILE", "/etc/gate/creds");
	fake_file(f, "/etc/gate/creds", "[default]\naws_access_key_id = A\nthis is wrong\n", (size_t)-1);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_non_null(strstr(why.message, "/etc/gate/creds:3"));
	/* remembered for a while: asked again at once, the file is not read again */
	size_t reads = fake_nreads(f);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_int_equal(fake_nreads(f), reads);
	fake_advance(f, FED_BASE_RETRY_MS);
	fake_file(f, "/etc/gate/creds", "[default]\naws_access_key_id = AKIDFIXED\naws_secret_access_key = s\n",
		  (size_t)-1);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "AKIDFIXED");
	fed_snap_unref(s);
	fed_base_del(b);

	/* an unreadable file */
	fake_file_error(f, "/etc/gate/creds", FED_ERR_CONFIG);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_non_null(strstr(why.message, "cannot be read"));
	fed_base_del(b);
	fake_del(f);
}

/* --- credential_process ----------------------------------------------------- */

static void test_process(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;
	char out[512];

	fake_file(f, "/home/gate/.aws/config", "[profile p]\ncredential_process = /usr/bin/helper --role x\n", (size_t)-1);
	fake_setenv(f, "AWS_PROFILE", "p");
	snprintf(out, sizeof(out),
		 "{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", \"SecretAccessKey\": \"sp\", \"SessionToken\": \"tp\", "
		 "\"Expiration\": \"%s\"}",
		 IN_1H);
	fake_process(f, "helper", 0, out, 10);
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAPROC");
	assert_string_equal(fed_snap_creds(s)->source, "credential_process (profile p)");
	assert_false(fed_snap_creds(s)->long_term);
	assert_int_equal(fake_nprocesses(f), 1);
	assert_string_equal(fake_process_run(f, 0)->command, "/usr/bin/helper --role x");
	assert_int_equal(fake_process_run(f, 0)->max, FED_PROCESS_MAX_OUTPUT);
	fed_snap_unref(s);

	/* inside the refresh window: the old credentials at once, a refresh behind them */
	fake_set_now(f, FAKE_START_MS + HOUR_MS - (FED_BASE_REFRESH_AHEAD_S - 10) * 1000);
	snprintf(out, sizeof(out),
		 "{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC2\", \"SecretAccessKey\": \"sp\", \"SessionToken\": \"tp\", "
		 "\"Expiration\": \"%s\"}",
		 IN_6H);
	fake_process(f, "helper", 0, out, 10);
	struct got g = {0};
	struct fed_wait *w = NULL;
	assert_int_equal(fed_base_get(b, fake_transport(f), on_done, &g, &s, &w, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAPROC");
	fed_snap_unref(s);
	/* a second get meanwhile does not start a second run */
	assert_int_equal(fed_base_get(b, fake_transport(f), on_done, &g, &s, &w, &why), 0);
	fed_snap_unref(s);
	fake_settle(f, 1000);
	assert_int_equal(fake_nprocesses(f), 2);
	assert_int_equal(g.called, 0);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAPROC2");
	fed_snap_unref(s);
	fed_base_del(b);

	/* errors: exit status, bad JSON, expired, killed */
	static const struct {
		int status;
		const char *out;
		int err;
		const char *says;
	} bad[] = {
		{1, "", FED_ERR_CONFIG, "status 1"},
		{-1, "", FED_ERR_CONFIG, "could not run"},
		{0, "not json", FED_ERR_CONFIG, "not valid JSON"},
		{0, "{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\"}", FED_ERR_CONFIG, "Version"},
		{0, "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", \"Expiration\": \"" T0 "\"}",
		 FED_ERR_EXPIRED, "expired"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_set_now(f, FAKE_START_MS);
		b = base_of(f, FED_BASE_DEFAULT, NULL);
		fake_process(f, "helper", bad[i].status, bad[i].out, 10);
		assert_int_equal(resolve(b, f, &s, &why), bad[i].err);
		if (strstr(why.message, bad[i].says) == NULL)
			fail_msg("message \"%s\" does not say \"%s\"", why.message, bad[i].says);
		assert_non_null(strstr(why.message, "credential_process (profile p)"));
		fed_base_del(b);
	}

	/* a program without process support */
	fake_no_process(f);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_non_null(strstr(why.message, "not supported"));
	fed_base_del(b);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

/* --- role_arn + source_profile ----------------------------------------------- */

static void test_role_chain(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;
	char xml[2048];

	fake_file(f, "/home/gate/.aws/credentials", "[root]\naws_access_key_id = AKIDROOT\naws_secret_access_key = sr\n",
		  (size_t)-1);
	fake_file(f, "/home/gate/.aws/config",
		  "[profile top]\nrole_arn = arn:aws:iam::111111111111:role/Top\nsource_profile = mid\n"
		  "external_id = ext-top\nrole_session_name = gate-top\nduration_seconds = 1800\nregion = eu-west-1\n"
		  "[profile mid]\nrole_arn = arn:aws:iam::222222222222:role/Mid\nsource_profile = root\n",
		  (size_t)-1);
	fake_setenv(f, "AWS_PROFILE", "top");
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRole", "ASIAMID", IN_1H));
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRole", "ASIATOP", IN_1H));
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIATOP");
	assert_false(fed_snap_creds(s)->long_term);
	assert_non_null(strstr(fed_snap_creds(s)->source, "profile top"));
	fed_snap_unref(s);

	assert_int_equal(fake_nrequests(f), 2);
	const struct fake_request *r0 = fake_request(f, 0), *r1 = fake_request(f, 1);
	/* the innermost role first, signed by the root keys */
	assert_string_equal(fake_request_param(r0, "Action", 0), "AssumeRole");
	assert_string_equal(fake_request_param(r0, "RoleArn", 0), "arn:aws:iam::222222222222:role/Mid");
	assert_null(fake_request_param(r0, "ExternalId", 0));
	assert_signed_by(r0, "AKIDROOT");
	/* then the top role with its settings, signed by the middle role's credentials */
	assert_string_equal(fake_request_param(r1, "RoleArn", 0), "arn:aws:iam::111111111111:role/Top");
	assert_string_equal(fake_request_param(r1, "ExternalId", 0), "ext-top");
	assert_string_equal(fake_request_param(r1, "RoleSessionName", 0), "gate-top");
	assert_string_equal(fake_request_param(r1, "DurationSeconds", 0), "1800");
	assert_signed_by(r1, "ASIAMID");
	assert_non_null(strstr(r1->url, "eu-west-1"));
	fed_base_del(b);

	/* STS says no: the error and AWS's words come back */
	fake_reply(f, "sts.", 403,
		   "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed to assume"
		   "</Message></Error><RequestId>r</RequestId></ErrorResponse>");
	b = base_of(f, FED_BASE_DEFAULT, "mid");
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_DENIED);
	assert_non_null(strstr(why.message, "not allowed to assume"));
	fed_base_del(b);
	assert_int_equal(fake_unmatched(f), 0);
	fake_del(f);
}

static void test_role_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *config;
		int err;
		const char *says;
	} cases[] = {
		{"cycle",
		 "[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = b\n"
		 "[profile b]\nrole_arn = arn:aws:iam::1:role/B\nsource_profile = c\n"
		 "[profile c]\nrole_arn = arn:aws:iam::1:role/C\nsource_profile = a\n",
		 FED_ERR_CONFIG, "loop: a -> b -> c -> a"},
		{"missing-source", "[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = ghost\n", FED_ERR_CONFIG,
		 "ghost does not exist"},
		{"two-sources",
		 "[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = a\ncredential_source = Environment\n",
		 FED_ERR_CONFIG, "exactly one"},
		{"no-source", "[profile a]\nrole_arn = arn:aws:iam::1:role/A\n", FED_ERR_CONFIG, "exactly one"},
		{"bad-credential-source", "[profile a]\nrole_arn = arn:aws:iam::1:role/A\ncredential_source = Magic\n",
		 FED_ERR_CONFIG, "credential_source must be"},
		{"source-without-keys",
		 "[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = b\n[profile b]\nregion = x\n",
		 FED_ERR_CONFIG, "b has no credentials"},
		{"bad-duration",
		 "[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = a\naws_access_key_id = K\n"
		 "aws_secret_access_key = s\nduration_seconds = 600\n",
		 FED_ERR_CONFIG, "duration_seconds"},
		{"mfa",
		 "[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = a\nmfa_serial = arn:aws:iam::1:mfa/x\n",
		 FED_ERR_CONFIG, "mfa_serial"},
		{"env-source-empty", "[profile a]\nrole_arn = arn:aws:iam::1:role/A\ncredential_source = Environment\n",
		 FED_ERR_NO_CREDENTIALS, "found no credentials"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake *f = world();
		struct fed_snap *s;
		struct fed_sts_error why;
		print_message("case %s\n", cases[i].name);
		fake_file(f, "/home/gate/.aws/config", cases[i].config, (size_t)-1);
		struct fed_base *b = base_of(f, FED_BASE_DEFAULT, "a");
		assert_int_equal(resolve(b, f, &s, &why), cases[i].err);
		if (strstr(why.message, cases[i].says) == NULL)
			fail_msg("message \"%s\" does not say \"%s\"", why.message, cases[i].says);
		assert_int_equal(fake_nrequests(f), 0);
		fed_base_del(b);
		fake_del(f);
	}

	/* credential_source = Environment, and a profile naming itself */
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;
	char xml[2048];
	fake_file(f, "/home/gate/.aws/config",
		  "[profile a]\nrole_arn = arn:aws:iam::1:role/A\ncredential_source = Environment\n"
		  "[profile self]\nrole_arn = arn:aws:iam::1:role/S\nsource_profile = self\n"
		  "aws_access_key_id = AKIDSELF\naws_secret_access_key = s\n",
		  (size_t)-1);
	fake_setenv(f, "AWS_ACCESS_KEY_ID", "AKIDENV");
	fake_setenv(f, "AWS_SECRET_ACCESS_KEY", "se");
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRole", "ASIAA", IN_1H));
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRole", "ASIAS", IN_1H));
	/* forced to the profile, else the environment's keys would win */
	struct fed_base *b = base_of(f, FED_BASE_PROFILE, "a");
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAA");
	assert_signed_by(fake_request(f, 0), "AKIDENV");
	fed_snap_unref(s);
	fed_base_del(b);
	b = base_of(f, FED_BASE_PROFILE, "self");
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAS");
	assert_signed_by(fake_request(f, 1), "AKIDSELF");
	assert_string_equal(fake_request_param(fake_request(f, 1), "RoleArn", 0), "arn:aws:iam::1:role/S");
	fed_snap_unref(s);
	fed_base_del(b);
	fake_del(f);
}

/* role_arn with web_identity_token_file in a profile; legacy STS endpoints;
 * a source_profile whose credentials come from credential_process. */
static void test_profile_variants(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;
	char xml[2048];

	fake_file(f, "/home/gate/.aws/config",
		  "[profile w]\nrole_arn = arn:aws:iam::1:role/W\nweb_identity_token_file = /tok\n"
		  "role_session_name = wsess\nregion = eu-central-1\nsts_regional_endpoints = legacy\n"
		  "[profile viaproc]\nrole_arn = arn:aws:iam::1:role/P\nsource_profile = proc\nregion = eu-central-1\n"
		  "[profile proc]\ncredential_process = /bin/helper\n",
		  (size_t)-1);
	fake_file(f, "/tok", "tok-w", (size_t)-1);
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRoleWithWebIdentity", "ASIAW", IN_1H));
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, "w");
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAW");
	assert_string_equal(fed_snap_creds(s)->source, "web-identity (profile w)");
	fed_snap_unref(s);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(fake_request_param(r, "Action", 0), "AssumeRoleWithWebIdentity");
	assert_string_equal(fake_request_param(r, "RoleArn", 0), "arn:aws:iam::1:role/W");
	assert_string_equal(fake_request_param(r, "RoleSessionName", 0), "wsess");
	assert_string_equal(fake_request_param(r, "WebIdentityToken", 0), "tok-w");
	/* "legacy": the global endpoint, whatever the region */
	assert_non_null(strstr(r->url, "://sts.amazonaws.com"));
	char region[64];
	fed_base_describe(b, region, sizeof(region), NULL, 0);
	assert_string_equal(region, "eu-central-1");
	fed_base_del(b);

	fake_process(f, "helper", 0, "{\"Version\":1,\"AccessKeyId\":\"AKIDPROC\",\"SecretAccessKey\":\"s\"}", 1);
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRole", "ASIAVIAPROC", IN_1H));
	b = base_of(f, FED_BASE_DEFAULT, "viaproc");
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAVIAPROC");
	fed_snap_unref(s);
	r = fake_request(f, 1);
	assert_signed_by(r, "AKIDPROC");
	/* regional by default */
	assert_non_null(strstr(r->url, "sts.eu-central-1.amazonaws.com"));
	fed_base_del(b);
	assert_int_equal(fake_unmatched(f), 0);
	fake_del(f);
}

/* --- web identity ------------------------------------------------------------ */

static void test_web_identity(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;
	char xml[2048];

	fake_setenv(f, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks/token");
	fake_setenv(f, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/Gate");
	fake_setenv(f, "AWS_ROLE_SESSION_NAME", "gate-pod");
	fake_setenv(f, "AWS_REGION", "us-west-2");
	fake_file(f, "/var/run/secrets/eks/token", "eyJ.first.token\n", (size_t)-1);
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRoleWithWebIdentity", "ASIAWEB1", IN_1H));
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAWEB1");
	assert_string_equal(fed_snap_creds(s)->source, "web-identity");
	assert_false(fed_snap_creds(s)->long_term);
	fed_snap_unref(s);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(fake_request_param(r, "Action", 0), "AssumeRoleWithWebIdentity");
	assert_string_equal(fake_request_param(r, "WebIdentityToken", 0), "eyJ.first.token");
	assert_string_equal(fake_request_param(r, "RoleSessionName", 0), "gate-pod");
	assert_null(fake_request_header(r, "Authorization"));
	assert_non_null(strstr(r->url, "sts.us-west-2."));

	/* the token file is read again at each refresh (kubelet rotates it) */
	fake_file(f, "/var/run/secrets/eks/token", "eyJ.second.token", (size_t)-1);
	fake_reply(f, "sts.", 200, sts_xml(xml, sizeof(xml), "AssumeRoleWithWebIdentity", "ASIAWEB2", IN_6H));
	fake_set_now(f, FAKE_START_MS + HOUR_MS - 30 * 1000); /* under FED_BASE_MIN_VALID_S left: must wait */
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAWEB2");
	fed_snap_unref(s);
	assert_string_equal(fake_request_param(fake_request(f, 1), "WebIdentityToken", 0), "eyJ.second.token");
	fed_base_del(b);

	/* a missing token file, and half the variables */
	fake_file(f, "/var/run/secrets/eks/token", NULL, 0);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_non_null(strstr(why.message, "does not exist"));
	fed_base_del(b);
	fake_setenv(f, "AWS_ROLE_ARN", NULL);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
	assert_non_null(strstr(why.message, "AWS_ROLE_ARN"));
	fed_base_del(b);
	assert_int_equal(fake_nrequests(f), 2);
	fake_del(f);
}

/* --- containers ----------------------------------------------------------- */

static const char ecs_json[] = "{\"RoleArn\":\"arn:aws:iam::1:role/task\",\"AccessKeyId\":\"ASIAECS\","
			       "\"SecretAccessKey\":\"se\",\"Token\":\"te\",\"Expiration\":\"" IN_6H "\"}";

static void test_container(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;

	fake_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
	fake_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/ecs-token");
	fake_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-a-file-is-set");
	fake_file(f, "/var/run/ecs-token", "file-token\n", (size_t)-1);
	fake_reply(f, "169.254.170.2", 200, ecs_json);
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAECS");
	assert_string_equal(fed_snap_creds(s)->source, "container");
	fed_snap_unref(s);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->url, "http://169.254.170.2/v2/credentials/abc");
	assert_string_equal(fake_request_header(r, "Authorization"), "file-token");
	assert_true(r->timeout_ms <= FED_ECS_TIMEOUT_MS);
	fed_base_del(b);

	/* FULL_URI: loopback over http, the token from the variable */
	fake_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);
	fake_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", NULL);
	fake_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "var-token");
	static const char *const ok[] = {
		"http://127.0.0.1:51678/creds", "http://localhost/creds", "http://169.254.170.23/v1/credentials",
		"http://[fd00:ec2::23]/v1/credentials", "http://[::1]:8080/x", "https://creds.example.com/x",
		"http://127.255.0.9/x",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		print_message("allowed %s\n", ok[i]);
		fake_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ok[i]);
		fake_reply(f, NULL, 200, ecs_json);
		b = base_of(f, FED_BASE_DEFAULT, NULL);
		assert_int_equal(resolve(b, f, &s, &why), 0);
		fed_snap_unref(s);
		r = fake_request(f, fake_nrequests(f) - 1);
		assert_string_equal(r->url, ok[i]);
		assert_string_equal(fake_request_header(r, "Authorization"), "var-token");
		fed_base_del(b);
	}
	static const char *const refused[] = {
		"http://evil.example.com/creds", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x",
		"http://127.0.0.1.evil.example/x", "http://1270.0.0.1/x", "http://user@127.0.0.1/x",
		"ftp://127.0.0.1/x", "http://[fd00:ec2::254]/x", "http://127.0.0.256/x", "http://[::1/x",
		"http://[::1]evil.example/x", "http://:80/x", "http://127.0.0.1:80x/x", "https://host:1234567/x",
	};
	size_t before = fake_nrequests(f);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		print_message("refused %s\n", refused[i]);
		fake_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i]);
		b = base_of(f, FED_BASE_DEFAULT, NULL);
		assert_int_equal(resolve(b, f, &s, &why), FED_ERR_CONFIG);
		assert_non_null(strstr(why.message, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
		fed_base_del(b);
	}
	assert_int_equal(fake_nrequests(f), before);

	/* the endpoint's refusals and bad answers */
	fake_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/creds");
	static const struct {
		int status;
		const char *body;
		int err;
	} bad[] = {
		{401, "{\"code\":\"x\"}", FED_ERR_DENIED},
		{500, "", FED_ERR_UNAVAILABLE},
		{200, "{\"AccessKeyId\":\"A\"}", FED_ERR_PARSE},
		{200, "{\"AccessKeyId\":\"ASIA\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"" T0 "\"}",
		 FED_ERR_EXPIRED},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_reply(f, NULL, bad[i].status, bad[i].body);
		b = base_of(f, FED_BASE_DEFAULT, NULL);
		assert_int_equal(resolve(b, f, &s, &why), bad[i].err);
		assert_true(why.message[0] != '\0');
		fed_base_del(b);
	}
	fake_fail(f, NULL, FED_ERR_TIMEOUT);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_TIMEOUT);
	fed_base_del(b);
	assert_int_equal(fake_unmatched(f), 0);
	fake_del(f);
}

/* --- instance metadata ----------------------------------------------------- */

static const char imds_json[] = "{\"Code\":\"Success\",\"LastUpdated\":\"" T0 "\",\"Type\":\"AWS-HMAC\","
				"\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"si\",\"Token\":\"ti\","
				"\"Expiration\":\"" IN_6H "\"}";

static void imds_replies(struct fake *f)
{
	fake_reply(f, "/latest/api/token", 200, "IMDSTOKEN==");
	fake_reply(f, "/iam/security-credentials/", 200, "gate-role\n");
	fake_reply(f, "/iam/security-credentials/gate-role", 200, imds_json);
}

static void test_imds(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;

	imds_replies(f);
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAIMDS");
	assert_string_equal(fed_snap_creds(s)->source, "imds (role gate-role)");
	assert_false(fed_snap_creds(s)->long_term);
	fed_snap_unref(s);
	assert_int_equal(fake_nrequests(f), 3);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(r->method, "PUT");
	assert_string_equal(r->url, "http://169.254.169.254/latest/api/token");
	assert_string_equal(fake_request_header(r, "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
	assert_true(r->timeout_ms <= FED_IMDS_TIMEOUT_MS && r->connect_timeout_ms <= FED_IMDS_TIMEOUT_MS);
	r = fake_request(f, 1);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
	assert_string_equal(fake_request_header(r, "X-aws-ec2-metadata-token"), "IMDSTOKEN==");
	r = fake_request(f, 2);
	assert_string_equal(r->url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/gate-role");
	assert_string_equal(fake_request_header(r, "X-aws-ec2-metadata-token"), "IMDSTOKEN==");
	fed_base_del(b);

	/* the endpoint for tests, and the timeout variable */
	fake_setenv(f, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8111/");
	fake_setenv(f, "AWS_METADATA_SERVICE_TIMEOUT", "3");
	imds_replies(f);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	fed_snap_unref(s);
	assert_string_equal(fake_request(f, 3)->url, "http://127.0.0.1:8111/latest/api/token");
	assert_int_equal(fake_request(f, 3)->timeout_ms, 3000);
	fed_base_del(b);
	fake_setenv(f, "AWS_METADATA_SERVICE_TIMEOUT", NULL);

	/* IMDSv2 refused: no fallback to v1, one request only */
	size_t n = fake_nrequests(f);
	fake_reply(f, "/latest/api/token", 403, "");
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_DENIED);
	assert_non_null(strstr(why.message, "IMDSv1 is not used"));
	assert_int_equal(fake_nrequests(f), n + 1);
	fed_base_del(b);

	/* not on EC2: unreachable means no credentials */
	fake_fail(f, "/latest/api/token", FED_ERR_TIMEOUT);
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_NO_CREDENTIALS);
	fed_base_del(b);

	/* no role attached */
	fake_reply(f, "/latest/api/token", 200, "T");
	fake_reply(f, "/iam/security-credentials/", 404, "");
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_NO_CREDENTIALS);
	assert_non_null(strstr(why.message, "no IAM role"));
	fed_base_del(b);

	/* a failure code in the document, and a bad role name */
	fake_reply(f, "/latest/api/token", 200, "T");
	fake_reply(f, "/iam/security-credentials/", 200, "r");
	fake_reply(f, "/iam/security-credentials/r", 200, "{\"Code\":\"AssumeRoleUnauthorizedAccess\"}");
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_PARSE);
	assert_non_null(strstr(why.message, "AssumeRoleUnauthorizedAccess"));
	fed_base_del(b);
	fake_reply(f, "/latest/api/token", 200, "T");
	fake_reply(f, "/iam/security-credentials/", 200, "../../evil");
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_PARSE);
	fed_base_del(b);

	/* disabled: nothing is asked */
	n = fake_nrequests(f);
	fake_setenv(f, "AWS_EC2_METADATA_DISABLED", "TRUE");
	b = base_of(f, FED_BASE_DEFAULT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_NO_CREDENTIALS);
	assert_non_null(strstr(why.message, "AWS_EC2_METADATA_DISABLED"));
	fed_base_del(b);
	b = base_of(f, FED_BASE_IMDS, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_NO_CREDENTIALS);
	fed_base_del(b);
	assert_int_equal(fake_nrequests(f), n);
	assert_int_equal(fake_unmatched(f), 0);
	assert_int_equal(fake_replies_left(f), 0);
	fake_del(f);
}

/* --- forced sources --------------------------------------------------------- */

static void test_forced(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;

	/* everything is configured; each forced source takes only its own */
	fake_setenv(f, "AWS_ACCESS_KEY_ID", "AKIDENV");
	fake_setenv(f, "AWS_SECRET_ACCESS_KEY", "se");
	fake_file(f, "/home/gate/.aws/credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = x\n",
		  (size_t)-1);
	fake_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c");

	struct fed_base *b = base_of(f, FED_BASE_PROFILE, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "AKIDFILE");
	fed_snap_unref(s);
	fed_base_del(b);

	fake_reply(f, "169.254.170.2/c", 200, ecs_json);
	b = base_of(f, FED_BASE_CONTAINER, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAECS");
	fed_snap_unref(s);
	fed_base_del(b);

	imds_replies(f);
	b = base_of(f, FED_BASE_IMDS, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAIMDS");
	fed_snap_unref(s);
	fed_base_del(b);

	/* a forced source that is absent: no fall-through, nothing else read */
	b = base_of(f, FED_BASE_WEB_IDENTITY, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_NO_CREDENTIALS);
	assert_non_null(strstr(why.message, "AWS_WEB_IDENTITY_TOKEN_FILE"));
	fed_base_del(b);
	fake_setenv(f, "AWS_ACCESS_KEY_ID", NULL);
	fake_setenv(f, "AWS_SECRET_ACCESS_KEY", NULL);
	size_t reads = fake_nreads(f), n = fake_nrequests(f);
	b = base_of(f, FED_BASE_ENVIRONMENT, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_NO_CREDENTIALS);
	assert_int_equal(fake_nreads(f), reads);
	fed_base_del(b);
	fake_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);
	b = base_of(f, FED_BASE_CONTAINER, NULL);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_NO_CREDENTIALS);
	fed_base_del(b);
	assert_int_equal(fake_nrequests(f), n);

	enum fed_base_source src;
	assert_int_equal(fed_base_source_parse("web_identity", &src), 0);
	assert_int_equal(src, FED_BASE_WEB_IDENTITY);
	assert_int_equal(fed_base_source_parse("imds", &src), 0);
	assert_int_equal(src, FED_BASE_IMDS);
	assert_int_equal(fed_base_source_parse("IMDS", &src), FED_ERR_INVALID);
	assert_int_equal(fed_base_source_parse("", &src), FED_ERR_INVALID);
	fake_del(f);
}

/* --- single flight, cancel, negative caching --------------------------------- */

static void test_single_flight(void **state)
{
	(void)state;
	struct fake *f = world();
	struct got g[3];
	struct fed_wait *w[3];
	struct fed_snap *s = NULL;
	struct fed_sts_error why;

	memset(g, 0, sizeof(g));
	imds_replies(f);
	struct fed_base *b = base_of(f, FED_BASE_DEFAULT, NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fed_base_get(b, fake_transport(f), on_done, &g[i], &s, &w[i], &why), FED_PENDING);
	/* a peek meanwhile starts nothing more */
	assert_int_equal(fed_base_get(b, fake_transport(f), NULL, NULL, &s, NULL, &why), FED_ERR_EXPIRED);
	fed_wait_cancel(w[1]);
	/* nothing is called from inside the calls */
	assert_int_equal(g[0].called + g[1].called + g[2].called, 0);
	fake_settle(f, 10000);
	assert_int_equal(fake_nrequests(f), 3);
	assert_int_equal(g[0].called, 1);
	assert_int_equal(g[1].called, 0);
	assert_int_equal(g[2].called, 1);
	assert_int_equal(g[0].err, 0);
	assert_ptr_equal(g[0].snap, g[2].snap);
	fed_snap_unref(g[0].snap);
	fed_snap_unref(g[2].snap);

	/* fed_base_reset() forgets; the next get asks again */
	fed_base_reset(b);
	imds_replies(f);
	assert_int_equal(fed_base_get(b, fake_transport(f), NULL, NULL, &s, NULL, &why), FED_ERR_EXPIRED);
	fake_settle(f, 10000);
	assert_int_equal(fake_nrequests(f), 6);
	assert_int_equal(fed_base_get(b, fake_transport(f), NULL, NULL, &s, NULL, &why), 0);
	fed_snap_unref(s);

	/* a failure is remembered for FED_BASE_RETRY_MS, then tried again */
	fed_base_reset(b);
	fake_reply(f, "/latest/api/token", 500, "");
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_UNAVAILABLE);
	assert_int_equal(resolve(b, f, &s, &why), FED_ERR_UNAVAILABLE);
	assert_int_equal(fake_nrequests(f), 7);
	fake_advance(f, FED_BASE_RETRY_MS);
	imds_replies(f);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	fed_snap_unref(s);
	assert_int_equal(fake_nrequests(f), 10);
	fed_base_del(b);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

/* A refresh that fails keeps the held credentials, and is not retried at
 * every get. */
static void test_refresh_fails(void **state)
{
	(void)state;
	struct fake *f = world();
	struct fed_snap *s;
	struct fed_sts_error why;

	imds_replies(f); /* credentials until IN_6H */
	struct fed_base *b = base_of(f, FED_BASE_IMDS, NULL);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	fed_snap_unref(s);
	fake_set_now(f, FAKE_START_MS + 6 * HOUR_MS - 200 * 1000); /* in the window */
	fake_reply(f, "/latest/api/token", 500, "");
	for (int i = 0; i < 5; i++) {
		assert_int_equal(resolve(b, f, &s, &why), 0);
		assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAIMDS");
		fed_snap_unref(s);
		fake_settle(f, 100);
	}
	assert_int_equal(fake_nrequests(f), 4); /* three, then one failed refresh */
	fake_advance(f, FED_BASE_RETRY_MS);
	imds_replies(f);
	assert_int_equal(resolve(b, f, &s, &why), 0);
	fed_snap_unref(s);
	fake_settle(f, 1000);
	assert_int_equal(fake_nrequests(f), 7);
	fed_base_del(b);
	assert_int_equal(fake_unmatched(f), 0);
	fake_del(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_profile_static),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_role_chain),
		cmocka_unit_test(test_role_config_errors),
		cmocka_unit_test(test_profile_variants),
		cmocka_unit_test(test_web_identity),
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_imds),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_single_flight),
		cmocka_unit_test(test_refresh_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
