/* SPDX-License-Identifier: Apache-2.0 */
/* cli_aws_test.c: the aws wrapper's pieces: the child's environment, NO_PROXY filtering, refused arguments, the proxy aws exports, the spawner, and the special cases' recognition. */
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
#include <jansson.h>

#include "proxy/cli.h"
#include "proxy/proxy.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The API takes argv/environ shapes; the tables here are of literals. */
static char *const *A(const char **a)
{
	return (char *const *)(uintptr_t)a;
}

static const struct px_cli_awsenv E = {
	.port = 43210,
	.ca_file = "/home/u/.awsgate/p/local-ca.crt",
	.access_key_id = "AKIAABCDEFGHIJ234567",
	.secret_access_key = "abcdefghijABCDEFGHIJ0123456789+/abcdefgh",
	.default_region = NULL,
};

static const char *get(char **env, const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;
	for (; *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=') {
			assert_null(found); /* never twice */
			found = *env + n + 1;
		}
	return found;
}

static void test_env(void **state)
{
	(void)state;
	const char *in[] = {
		"PATH=/usr/bin",
		"HOME=/home/u",
		"AWS_PROFILE=prod",
		"AWS_DEFAULT_PROFILE=prod",
		"AWS_SESSION_TOKEN=tok",
		"AWS_SECURITY_TOKEN=tok",
		"AWS_ACCESS_KEY_ID=AKIAREALREALREALREAL",
		"AWS_SECRET_ACCESS_KEY=real",
		"AWS_ENDPOINT_URL=https://evil",
		"AWS_ENDPOINT_URL_S3=https://evil",
		"AWS_CA_BUNDLE=/etc/other.pem",
		"AWS_SHARED_CREDENTIALS_FILE=/home/u/.aws/credentials",
		"AWS_CONFIG_FILE=/home/u/.aws/config",
		"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/token",
		"AWS_ROLE_ARN=arn:aws:iam::1:role/x",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2/x",
		"HTTPS_PROXY=http://corp:3128",
		"https_proxy=http://corp:3128",
		"HTTP_PROXY=http://corp:3128",
		"NO_PROXY=localhost,.amazonaws.com,10.0.0.0/8,s3.eu-west-1.amazonaws.com,*.corp.example",
		"AWS_REGION=eu-west-1",
		"LANG=C.UTF-8",
		NULL,
	};
	char **env = NULL;

	assert_int_equal(px_cli_aws_env(A(in), &E, &env), 0);
	assert_string_equal(get(env, "PATH"), "/usr/bin");
	assert_string_equal(get(env, "LANG"), "C.UTF-8");
	assert_string_equal(get(env, "HTTPS_PROXY"), "http://127.0.0.1:43210");
	assert_string_equal(get(env, "https_proxy"), "http://127.0.0.1:43210");
	/* plain HTTP is not AWS's: the user's proxy for it stays */
	assert_string_equal(get(env, "HTTP_PROXY"), "http://corp:3128");
	assert_string_equal(get(env, "AWS_CA_BUNDLE"), E.ca_file);
	assert_string_equal(get(env, "AWS_ACCESS_KEY_ID"), E.access_key_id);
	assert_string_equal(get(env, "AWS_SECRET_ACCESS_KEY"), E.secret_access_key);
	assert_string_equal(get(env, "AWS_SHARED_CREDENTIALS_FILE"), "/dev/null");
	assert_string_equal(get(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true");
	assert_string_equal(get(env, "AWS_CONFIG_FILE"), "/home/u/.aws/config");
	/* AWS_REGION is set, so AWS_DEFAULT_REGION follows it */
	assert_string_equal(get(env, "AWS_DEFAULT_REGION"), "eu-west-1");
	assert_string_equal(get(env, "AWS_REGION"), "eu-west-1");
	assert_string_equal(get(env, "NO_PROXY"), "localhost,10.0.0.0/8,*.corp.example");
	assert_string_equal(get(env, "no_proxy"), "localhost,10.0.0.0/8,*.corp.example");
	const char *gone[] = {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
			      "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
			      "AWS_CONTAINER_CREDENTIALS_FULL_URI"};
	for (size_t i = 0; i < LEN(gone); i++)
		if (get(env, gone[i]) != NULL)
			fail_msg("%s was passed on", gone[i]);
	px_cli_env_free(env);
}

/* The user's ~/.aws/config region comes before the gate's default, for the
 * profile AWS_PROFILE names (which the child does not see). */
static void test_env_region_config(void **state)
{
	(void)state;
	char dir[] = "/tmp/awsgate-cli-aws-XXXXXX";
	char path[256], home[300], file[300], other[300];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.aws", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.aws/config", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[default]\nregion = eu-west-3\n[profile prod]\nregion = ap-south-1\n", f);
	fclose(f);
	snprintf(home, sizeof(home), "HOME=%s", dir);
	snprintf(file, sizeof(file), "AWS_CONFIG_FILE=%s", path);
	snprintf(other, sizeof(other), "%s/bad", dir);
	f = fopen(other, "w");
	assert_non_null(f);
	fputs("[default]\nregion = eu-west-3\nregion = eu-west-2\n", f);
	fclose(f);
	snprintf(other, sizeof(other), "AWS_CONFIG_FILE=%s/bad", dir);

	struct px_cli_awsenv e = E;
	e.default_region = "eu-central-1";
	struct {
		const char *env[4];
		const char *want;
	} cases[] = {
		{{home, NULL}, "eu-west-3"},
		{{home, "AWS_PROFILE=prod", NULL}, "ap-south-1"},
		{{home, "AWS_PROFILE=absent", NULL}, "eu-central-1"},
		{{"HOME=/nonexistent", file, NULL}, "eu-west-3"},
		{{home, "AWS_CONFIG_FILE=~/.aws/config", "AWS_PROFILE=prod", NULL}, "ap-south-1"},
		{{home, "AWS_REGION=us-west-1", NULL}, "us-west-1"},
		{{home, other, NULL}, "eu-central-1"}, /* malformed: the AWS CLI will say so */
		{{"HOME=/nonexistent", NULL}, "eu-central-1"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		char **env = NULL;
		assert_int_equal(px_cli_aws_env(A(cases[i].env), &e, &env), 0);
		if (strcmp(get(env, "AWS_DEFAULT_REGION"), cases[i].want) != 0)
			fail_msg("case %zu: AWS_DEFAULT_REGION=%s, want %s", i, get(env, "AWS_DEFAULT_REGION"),
				 cases[i].want);
		assert_null(get(env, "AWS_PROFILE"));
		px_cli_env_free(env);
	}

	/* the special cases read it too */
	const char *argv[] = {"s3", "presign", "s3://bkt/k", NULL};
	const char *envp[] = {home, "AWS_PROFILE=prod", NULL};
	struct px_cli_special sp;
	char err[256] = "";
	assert_int_equal(px_cli_special_parse(3, A(argv), A(envp), &sp, err, sizeof(err)), PX_CLI_SPECIAL_S3_PRESIGN);
	assert_string_equal(sp.url, "https://bkt.s3.ap-south-1.amazonaws.com/k");
	const char *rds[] = {"rds", "generate-db-auth-token", "--hostname", "h", "--port", "5432", "--username", "u", NULL};
	envp[1] = NULL;
	assert_int_equal(px_cli_special_parse(8, A(rds), A(envp), &sp, err, sizeof(err)), PX_CLI_SPECIAL_RDS_TOKEN);
	assert_string_equal(sp.region, "eu-west-3");

	unlink(path);
	snprintf(path, sizeof(path), "%s/bad", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.aws", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_env_region_default(void **state)
{
	(void)state;
	const char *in[] = {"PATH=/bin", NULL};
	const char *in2[] = {"AWS_DEFAULT_REGION=ap-south-1", NULL};
	char **env = NULL;
	struct px_cli_awsenv e = E;

	assert_int_equal(px_cli_aws_env(A(in), &e, &env), 0);
	assert_string_equal(get(env, "AWS_DEFAULT_REGION"), "us-east-1");
	assert_null(get(env, "NO_PROXY"));
	px_cli_env_free(env);
	e.default_region = "eu-central-1";
	assert_int_equal(px_cli_aws_env(A(in), &e, &env), 0);
	assert_string_equal(get(env, "AWS_DEFAULT_REGION"), "eu-central-1");
	px_cli_env_free(env);
	assert_int_equal(px_cli_aws_env(A(in2), &e, &env), 0);
	assert_string_equal(get(env, "AWS_DEFAULT_REGION"), "ap-south-1");
	px_cli_env_free(env);
	/* an empty environment is fine */
	assert_int_equal(px_cli_aws_env(NULL, &e, &env), 0);
	assert_non_null(get(env, "HTTPS_PROXY"));
	px_cli_env_free(env);
}

static void test_env_too_many(void **state)
{
	(void)state;
	const char **in = calloc(PX_CLI_ENV_MAX + 2, sizeof(*in));
	char **env = (char **)(uintptr_t)0x1;
	assert_non_null(in);
	for (size_t i = 0; i < PX_CLI_ENV_MAX + 1; i++)
		in[i] = "X=1";
	assert_int_equal(px_cli_aws_env(A(in), &E, &env), PX_ERR_TOO_LARGE);
	assert_ptr_equal(env, (char **)(uintptr_t)0x1); /* untouched on failure */
	free(in);
}

struct np_case {
	const char *in, *out; /* out NULL: nothing left */
};

static void test_no_proxy(void **state)
{
	(void)state;
	static const struct np_case cases[] = {
		{"localhost,127.0.0.1", "localhost,127.0.0.1"},
		{"*", NULL},
		{".amazonaws.com", NULL},
		{"amazonaws.com", NULL},
		{"*.amazonaws.com", NULL},
		{"s3.amazonaws.com,sts.us-east-1.amazonaws.com.", NULL},
		{"AMAZONAWS.COM", NULL},
		{"com", NULL}, /* a parent of AWS's names covers them too */
		{".cn", NULL},
		{"s3.cn-north-1.amazonaws.com.cn", NULL},
		{"signin.aws.amazon.com", NULL},
		{"notamazonaws.com", "notamazonaws.com"},
		{"amazonaws.com.evil.example", "amazonaws.com.evil.example"},
		{"example.com", "example.com"},
		{" localhost , .amazonaws.com ,,intranet", " localhost ,intranet"},
		{"", NULL},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		char *out = (char *)(uintptr_t)0x1;
		assert_int_equal(px_cli_no_proxy_filter(cases[i].in, &out), 0);
		if (cases[i].out == NULL) {
			if (out != NULL)
				fail_msg("'%s' kept '%s'", cases[i].in, out);
		} else {
			if (out == NULL || strcmp(out, cases[i].out) != 0)
				fail_msg("'%s' gave '%s', not '%s'", cases[i].in, out ? out : "(null)", cases[i].out);
		}
		free(out);
	}
}

static void test_args_check(void **state)
{
	(void)state;
	char err[512];
	const char *ok[] = {"s3", "ls", "--region", "eu-west-1"};
	const char *after[] = {"--exec", "x", "--", "--profile", "p"};
	const char *p1[] = {"s3", "ls", "--profile", "prod"};
	const char *p2[] = {"--profile=prod", "s3", "ls"};
	const char *e1[] = {"s3", "ls", "--endpoint-url", "http://x"};
	const char *e2[] = {"s3", "ls", "--endpoint-url=http://x"};

	assert_int_equal(px_cli_aws_args_check(LEN(ok), A(ok), err, sizeof(err)), 0);
	assert_int_equal(px_cli_aws_args_check(LEN(after), A(after), err, sizeof(err)), 0);
	assert_int_equal(px_cli_aws_args_check(LEN(p1), A(p1), err, sizeof(err)), PX_ERR_CLI_USAGE);
	assert_non_null(strstr(err, "--profile"));
	assert_int_equal(px_cli_aws_args_check(LEN(p2), A(p2), err, sizeof(err)), PX_ERR_CLI_USAGE);
	assert_int_equal(px_cli_aws_args_check(LEN(e1), A(e1), err, sizeof(err)), PX_ERR_CLI_USAGE);
	assert_non_null(strstr(err, "--endpoint-url"));
	assert_int_equal(px_cli_aws_args_check(LEN(e2), A(e2), err, sizeof(err)), PX_ERR_CLI_USAGE);
}

static char *print_to_string(const char *format, const char **envp, int *rv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	*rv = px_cli_aws_print(f, format, A(envp), &E);
	fclose(f);
	return buf;
}

static void test_print_env(void **state)
{
	(void)state;
	const char *envp[] = {"NO_PROXY=.amazonaws.com", NULL};
	int rv;
	char *out = print_to_string("env", envp, &rv);

	assert_int_equal(rv, 0);
	const char *want[] = {
		"export HTTPS_PROXY='http://127.0.0.1:43210'\n",
		"export https_proxy='http://127.0.0.1:43210'\n",
		"export AWS_CA_BUNDLE='/home/u/.awsgate/p/local-ca.crt'\n",
		"export AWS_ACCESS_KEY_ID='AKIAABCDEFGHIJ234567'\n",
		"export AWS_SECRET_ACCESS_KEY='abcdefghijABCDEFGHIJ0123456789+/abcdefgh'\n",
		"export AWS_DEFAULT_REGION='us-east-1'\n",
		"unset AWS_PROFILE\n",
		"unset AWS_SESSION_TOKEN\n",
		"unset AWS_ENDPOINT_URL\n",
		"unset NO_PROXY\n",
	};
	for (size_t i = 0; i < LEN(want); i++)
		if (strstr(out, want[i]) == NULL)
			fail_msg("missing %s in:\n%s", want[i], out);
	free(out);

	/* a value with a quote is quoted for the shell */
	struct px_cli_awsenv e = E;
	e.ca_file = "/tmp/it's.crt";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(px_cli_aws_print(f, "env", A(envp), &e), 0);
	fclose(f);
	assert_non_null(strstr(buf, "export AWS_CA_BUNDLE='/tmp/it'\\''s.crt'\n"));
	free(buf);

	out = print_to_string("yaml", envp, &rv);
	assert_int_equal(rv, PX_ERR_CLI_USAGE);
	free(out);
}

static void test_print_json(void **state)
{
	(void)state;
	const char *envp[] = {"NO_PROXY=localhost,.amazonaws.com", "AWS_REGION=eu-west-1", NULL};
	int rv;
	char *out = print_to_string("json", envp, &rv);
	json_error_t e;

	assert_int_equal(rv, 0);
	json_t *j = json_loads(out, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "HTTPS_PROXY")), "http://127.0.0.1:43210");
	assert_string_equal(json_string_value(json_object_get(j, "AWS_ACCESS_KEY_ID")), E.access_key_id);
	assert_string_equal(json_string_value(json_object_get(j, "AWS_DEFAULT_REGION")), "eu-west-1");
	assert_string_equal(json_string_value(json_object_get(j, "NO_PROXY")), "localhost");
	assert_true(json_is_null(json_object_get(j, "AWS_PROFILE")));
	assert_true(json_is_null(json_object_get(j, "AWS_SESSION_TOKEN")));
	assert_true(json_is_null(json_object_get(j, "AWS_ENDPOINT_URL")));
	json_decref(j);
	free(out);
}

static void test_spawn(void **state)
{
	(void)state;
	char err[512] = "";
	const char *envp[] = {"PATH=/usr/bin:/bin", "X_MARK=42", NULL};
	const char *exit3[] = {"sh", "-c", "exit 3", NULL};
	const char *env_seen[] = {"sh", "-c", "test \"$X_MARK\" = 42 && test -z \"$HOME\"", NULL};
	const char *killed[] = {"sh", "-c", "kill -KILL $$", NULL};
	const char *missing[] = {"awsgate-no-such-program-here", NULL};
	/* The child signals us; we forward SIGTERM to it, and it dies of it. */
	const char *forward[] = {"sh", "-c", "kill -TERM $PPID; exec sleep 5", NULL};
	const char *forward_int[] = {"sh", "-c", "kill -INT $PPID; exec sleep 5", NULL};

	assert_int_equal(px_cli_spawn(A(exit3), A(envp), err, sizeof(err)), 3);
	assert_int_equal(px_cli_spawn(A(env_seen), A(envp), err, sizeof(err)), 0);
	assert_int_equal(px_cli_spawn(A(killed), A(envp), err, sizeof(err)), 128 + 9);
	assert_int_equal(px_cli_spawn(A(missing), A(envp), err, sizeof(err)), PX_EXIT_NOSTART);
	assert_non_null(strstr(err, "awsgate-no-such-program-here"));
	assert_non_null(strstr(err, "AWSGATE_AWS_CLI"));
	const char *notexec[] = {"/dev/null", NULL};
	assert_int_equal(px_cli_spawn(A(notexec), A(envp), err, sizeof(err)), PX_EXIT_NOSTART);
	assert_non_null(strstr(err, "/dev/null"));
	assert_int_equal(px_cli_spawn(A(forward), A(envp), err, sizeof(err)), 128 + 15);
	assert_int_equal(px_cli_spawn(A(forward_int), A(envp), err, sizeof(err)), 128 + 2);
	/* and our own dispositions are back: the test is still alive */
	assert_int_equal(px_cli_spawn(A(exit3), A(envp), err, sizeof(err)), 3);
}

struct special_case {
	const char *name;
	const char *args; /* space-separated */
	const char *env;  /* one NAME=value or NULL */
	int rv;
	const char *url;     /* expected URL, or a word of the message */
	uint32_t expires;
};

static const struct special_case special_cases[] = {
	{"not-special-s3-ls", "s3 ls", NULL, PX_CLI_SPECIAL_NONE, NULL, 0},
	{"not-special-sts", "sts get-caller-identity", NULL, PX_CLI_SPECIAL_NONE, NULL, 0},
	{"not-special-empty", "", NULL, PX_CLI_SPECIAL_NONE, NULL, 0},
	{"not-special-presign-elsewhere", "s3api presign", NULL, PX_CLI_SPECIAL_NONE, NULL, 0},
	{"s3-global", "s3 presign s3://bkt/k", NULL, PX_CLI_SPECIAL_S3_PRESIGN, "https://bkt.s3.amazonaws.com/k", 3600},
	{"s3-region", "s3 presign s3://bkt/a/b.txt --region eu-west-1", NULL, PX_CLI_SPECIAL_S3_PRESIGN,
	 "https://bkt.s3.eu-west-1.amazonaws.com/a/b.txt", 3600},
	{"s3-region-global-option-first", "--region us-east-1 s3 presign s3://bkt/k --expires-in 60", NULL,
	 PX_CLI_SPECIAL_S3_PRESIGN, "https://bkt.s3.us-east-1.amazonaws.com/k", 60},
	{"s3-region-from-env", "s3 presign s3://bkt/k", "AWS_DEFAULT_REGION=ap-south-1", PX_CLI_SPECIAL_S3_PRESIGN,
	 "https://bkt.s3.ap-south-1.amazonaws.com/k", 3600},
	{"s3-region-equals", "s3 presign s3://bkt/k --region=eu-north-1 --expires-in=604800", NULL,
	 PX_CLI_SPECIAL_S3_PRESIGN, "https://bkt.s3.eu-north-1.amazonaws.com/k", 604800},
	{"s3-china", "s3 presign s3://bkt/k --region cn-north-1", NULL, PX_CLI_SPECIAL_S3_PRESIGN,
	 "https://bkt.s3.cn-north-1.amazonaws.com.cn/k", 3600},
	{"s3-dotted-bucket-path-style", "s3 presign s3://my.bkt/k --region eu-west-1", NULL, PX_CLI_SPECIAL_S3_PRESIGN,
	 "https://s3.eu-west-1.amazonaws.com/my.bkt/k", 3600},
	{"s3-upper-bucket-path-style", "s3 presign s3://MyBkt/k", NULL, PX_CLI_SPECIAL_S3_PRESIGN,
	 "https://s3.amazonaws.com/MyBkt/k", 3600},
	{"s3-key-encoded", "s3 presign s3://bkt/a+b%c~d=e", NULL, PX_CLI_SPECIAL_S3_PRESIGN,
	 "https://bkt.s3.amazonaws.com/a%2Bb%25c~d%3De", 3600},
	{"s3-output-ignored", "s3 presign s3://bkt/k --output json --debug", NULL, PX_CLI_SPECIAL_S3_PRESIGN,
	 "https://bkt.s3.amazonaws.com/k", 3600},
	{"s3-no-key", "s3 presign s3://bkt", NULL, PX_ERR_CLI_USAGE, "Key", 0},
	{"s3-no-target", "s3 presign", NULL, PX_ERR_CLI_USAGE, "missing", 0},
	{"s3-not-s3-url", "s3 presign https://bkt/k", NULL, PX_ERR_CLI_USAGE, "s3://", 0},
	{"s3-two-targets", "s3 presign s3://b/k s3://b/l", NULL, PX_ERR_CLI_USAGE, "unexpected", 0},
	{"s3-expires-zero", "s3 presign s3://bkt/k --expires-in 0", NULL, PX_ERR_CLI_USAGE, "604800", 0},
	{"s3-expires-over", "s3 presign s3://bkt/k --expires-in 604801", NULL, PX_ERR_CLI_USAGE, "604800", 0},
	{"s3-expires-word", "s3 presign s3://bkt/k --expires-in soon", NULL, PX_ERR_CLI_USAGE, "604800", 0},
	{"s3-expires-no-value", "s3 presign s3://bkt/k --expires-in", NULL, PX_ERR_CLI_USAGE, "needs a value", 0},
	{"s3-unknown-option", "s3 presign s3://bkt/k --query x", NULL, PX_ERR_CLI_USAGE, "not supported", 0},
	{"s3-bad-region", "s3 presign s3://bkt/k --region EU_WEST", NULL, PX_ERR_CLI_USAGE, "region", 0},
	{"eks-global", "eks get-token --cluster-name c1", NULL, PX_CLI_SPECIAL_EKS_TOKEN,
	 "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", 60},
	{"eks-region", "eks get-token --cluster-name c1 --region us-west-2", NULL, PX_CLI_SPECIAL_EKS_TOKEN,
	 "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", 60},
	{"eks-no-cluster", "eks get-token", NULL, PX_ERR_CLI_USAGE, "--cluster-name", 0},
	{"eks-role-arn-refused", "eks get-token --cluster-name c --role-arn arn:aws:iam::1:role/x", NULL,
	 PX_ERR_CLI_USAGE, "not supported", 0},
	{"rds-stray-argument", "rds generate-db-auth-token --hostname db.x.us-east-1.rds.amazonaws.com --port 5432 --username a/b c "
		"--region us-east-1",
	 NULL, PX_ERR_CLI_USAGE, "unexpected", 0},
	{"rds-ok", "rds generate-db-auth-token --hostname db.x.us-east-1.rds.amazonaws.com --port 5432 --username "
		   "app_user --region us-east-1",
	 NULL, PX_CLI_SPECIAL_RDS_TOKEN, "https://db.x.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app_user",
	 900},
	{"rds-no-region", "rds generate-db-auth-token --hostname h --port 1 --username u", NULL, PX_ERR_CLI_USAGE,
	 "You must specify a region", 0},
	{"rds-bad-port", "rds generate-db-auth-token --hostname h --port 70000 --username u --region us-east-1", NULL,
	 PX_ERR_CLI_USAGE, "--port", 0},
	{"rds-bad-host", "rds generate-db-auth-token --hostname h/x --port 1 --username u --region us-east-1", NULL,
	 PX_ERR_CLI_USAGE, "--hostname", 0},
	{"rds-missing-user", "rds generate-db-auth-token --hostname h --port 1 --region us-east-1", NULL,
	 PX_ERR_CLI_USAGE, "--username", 0},
};

static void test_special(void **state)
{
	const struct special_case *c = *state;
	char buf[1024];
	const char *argv[32];
	int argc = 0;
	char err[512] = "";
	const char *envp[2] = {c->env, NULL};
	struct px_cli_special sp;

	snprintf(buf, sizeof(buf), "%s", c->args);
	for (char *p = buf; *p;) {
		argv[argc++] = p;
		p += strcspn(p, " ");
		if (*p == ' ')
			*p++ = '\0';
	}
	memset(&sp, 0x5a, sizeof(sp));
	int rv = px_cli_special_parse(argc, A(argv), A(envp), &sp, err, sizeof(err));
	assert_int_equal(rv, c->rv);
	if (rv > 0) {
		assert_string_equal(sp.url, c->url);
		assert_int_equal(sp.expires, c->expires);
		if (rv == PX_CLI_SPECIAL_EKS_TOKEN) {
			assert_string_equal(sp.header_name, "x-k8s-aws-id");
			assert_string_equal(sp.header_value, "c1");
		}
		if (rv == PX_CLI_SPECIAL_RDS_TOKEN) {
			assert_string_equal(sp.service, "rds-db");
			assert_string_equal(sp.region, "us-east-1");
		}
	} else if (rv < 0) {
		if (strstr(err, c->url) == NULL)
			fail_msg("message '%s' lacks '%s'", err, c->url);
		assert_int_equal((unsigned char)sp.url[0], 0x5a); /* written only on success */
	}
}

static char *special_print(enum px_cli_special_kind kind, const char *url)
{
	struct px_cli_special sp;
	char *buf = NULL;
	size_t len = 0;
	memset(&sp, 0, sizeof(sp));
	sp.kind = kind;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	/* 2026-12-04T12:00:00Z */
	assert_int_equal(px_cli_special_print(f, &sp, url, INT64_C(1796385600)), 0);
	fclose(f);
	return buf;
}

static void test_special_print(void **state)
{
	(void)state;
	/* The gate's order; printed in botocore's, the request's own parameters first. */
	const char *gate = "https://h.example/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2Fs&X-Amz-Date=D"
			   "&X-Amz-SignedHeaders=host&X-Amz-Expires=60&X-Amz-Security-Token=T&X-Amz-Signature=S";
	char *out = special_print(PX_CLI_SPECIAL_S3_PRESIGN, gate);
	assert_string_equal(out, "https://h.example/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2Fs&"
				 "X-Amz-Date=D&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=T&"
				 "X-Amz-Signature=S\n");
	free(out);

	out = special_print(PX_CLI_SPECIAL_RDS_TOKEN, "https://db:5432/?X-Amz-Signature=S&Action=connect&DBUser=u");
	assert_string_equal(out, "db:5432/?Action=connect&DBUser=u&X-Amz-Signature=S\n");
	free(out);

	/* "https://sts.amazonaws.com/?A=1" in base64url without padding: aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QT0x */
	unsetenv("KUBERNETES_EXEC_INFO");
	out = special_print(PX_CLI_SPECIAL_EKS_TOKEN, "https://sts.amazonaws.com/?A=1");
	assert_string_equal(out, "{\"kind\": \"ExecCredential\", \"apiVersion\": \"client.authentication.k8s.io/v1beta1\", "
				 "\"spec\": {}, \"status\": {\"expirationTimestamp\": \"2026-12-04T12:14:00Z\", "
				 "\"token\": \"k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QT0x\"}}\n");
	free(out);
	setenv("KUBERNETES_EXEC_INFO", "{\"apiVersion\": \"client.authentication.k8s.io/v1\"}", 1);
	out = special_print(PX_CLI_SPECIAL_EKS_TOKEN, "https://sts.amazonaws.com/?A=12");
	assert_non_null(strstr(out, "\"apiVersion\": \"client.authentication.k8s.io/v1\""));
	/* two bytes left over: three characters, no '=' */
	assert_non_null(strstr(out, "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QT0xMg\""));
	free(out);
	unsetenv("KUBERNETES_EXEC_INFO");
}

int main(void)
{
	struct CMUnitTest tests[LEN(special_cases) + 10];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest){.name = "env-set-and-removed", .test_func = test_env};
	tests[n++] = (struct CMUnitTest){.name = "env-region-default", .test_func = test_env_region_default};
	tests[n++] = (struct CMUnitTest){.name = "env-region-config", .test_func = test_env_region_config};
	tests[n++] = (struct CMUnitTest){.name = "env-too-many-entries", .test_func = test_env_too_many};
	tests[n++] = (struct CMUnitTest){.name = "no-proxy-filter", .test_func = test_no_proxy};
	tests[n++] = (struct CMUnitTest){.name = "args-refused", .test_func = test_args_check};
	tests[n++] = (struct CMUnitTest){.name = "print-env", .test_func = test_print_env};
	tests[n++] = (struct CMUnitTest){.name = "print-json", .test_func = test_print_json};
	tests[n++] = (struct CMUnitTest){.name = "spawn-status-signals-missing", .test_func = test_spawn};
	tests[n++] = (struct CMUnitTest){.name = "special-print", .test_func = test_special_print};
	for (size_t i = 0; i < LEN(special_cases); i++)
		tests[n++] = (struct CMUnitTest){.name = special_cases[i].name, .test_func = test_special,
						 .initial_state = (void *)(uintptr_t)&special_cases[i]};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
