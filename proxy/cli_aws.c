/* SPDX-License-Identifier: Apache-2.0 */
/* cli_aws.c: the `awsgate aws` wrapper's pieces: the child's environment, the `proxy aws` exports, the spawner, and the special cases done by presigning at the gate. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "federation/federation.h"
#include "proxy.h"

/* --- the environment ---------------------------------------------------------- */

/* Variables that name other credentials or endpoints: removed, then the
 * ones we set are added. Names ending in '*' are prefixes. */
static const char *const removed_vars[] = {
	"AWS_PROFILE",
	"AWS_DEFAULT_PROFILE",
	"AWS_SESSION_TOKEN",
	"AWS_SECURITY_TOKEN",
	"AWS_ENDPOINT_URL*",
	"AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY",
	"AWS_ACCESS_KEY",
	"AWS_SECRET_KEY",
	"AWS_CREDENTIAL_EXPIRATION",
	"AWS_CA_BUNDLE",
	"AWS_SHARED_CREDENTIALS_FILE",
	"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_ROLE_ARN",
	"AWS_ROLE_SESSION_NAME",
	"HTTPS_PROXY",
	"https_proxy",
	"NO_PROXY",
	"no_proxy",
};

/* What `proxy aws --format` prints as unset: INTERFACES.md's list plus the
 * other credential sources an SDK would prefer to the keys we set. */
static const char *const unset_vars[] = {
	"AWS_PROFILE",
	"AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL",
	"AWS_DEFAULT_PROFILE",
	"AWS_SECURITY_TOKEN",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_ROLE_ARN",
};

/* Whether the entry |s| ("NAME=value") is variable |name| ("NAME*": a prefix). */
static int var_is(const char *s, const char *name)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '*')
		return strncmp(s, name, n - 1) == 0;
	return strncmp(s, name, n) == 0 && s[n] == '=';
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* AWS's DNS suffixes (the partition table's): a NO_PROXY entry that
 * matches a name under one of them would send AWS calls around the gate. */
static const char *const aws_suffixes[] = {
	"amazonaws.com", "amazonaws.com.cn", "aws.amazon.com", "api.aws", "c2s.ic.gov", "sc2s.sgov.gov",
	"amazonaws.eu", "aws.dev",
};

static int no_proxy_entry_is_aws(const char *e, size_t n)
{
	while (n > 0 && (*e == ' ' || *e == '\t')) {
		e++;
		n--;
	}
	while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
		n--;
	if (n == 1 && e[0] == '*')
		return 1;
	/* "*.x", ".x" and "x" all cover names under x. */
	if (n >= 2 && e[0] == '*' && e[1] == '.') {
		e += 2;
		n -= 2;
	} else if (n >= 1 && e[0] == '.') {
		e++;
		n--;
	}
	if (n > 0 && e[n - 1] == '.')
		n--;
	for (size_t i = 0; i < sizeof(aws_suffixes) / sizeof(aws_suffixes[0]); i++) {
		size_t k = strlen(aws_suffixes[i]);
		/* the entry is the suffix, under it, or a parent of it ("com") */
		if (n >= k && strncasecmp(e + n - k, aws_suffixes[i], k) == 0 && (n == k || e[n - k - 1] == '.'))
			return 1;
		if (n < k && n > 0 && strncasecmp(aws_suffixes[i] + k - n, e, n) == 0 && aws_suffixes[i][k - n - 1] == '.')
			return 1;
	}
	return 0;
}

int px_cli_no_proxy_filter(const char *value, char **out)
{
	size_t len = strlen(value);
	char *b = malloc(len + 1);
	size_t at = 0;

	if (b == NULL)
		return PX_ERR_NOMEM;
	const char *p = value;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int blank = 1;
		for (size_t i = 0; i < n; i++)
			if (p[i] != ' ' && p[i] != '\t')
				blank = 0;
		if (!blank && !no_proxy_entry_is_aws(p, n)) {
			if (at > 0)
				b[at++] = ',';
			memcpy(b + at, p, n);
			at += n;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	b[at] = '\0';
	if (at == 0) {
		free(b);
		b = NULL;
	}
	*out = b;
	return 0;
}

static char *kv(const char *name, const char *value)
{
	size_t a = strlen(name), b = strlen(value);
	char *s = malloc(a + b + 2);
	if (s == NULL)
		return NULL;
	memcpy(s, name, a);
	s[a] = '=';
	memcpy(s + a + 1, value, b + 1);
	return s;
}

#define CONFIG_MAX_BYTES (1024 * 1024) /* the AWS config file read for its region */

/* The region that the AWS config file (AWS_CONFIG_FILE, else
 * ~/.aws/config) gives the profile AWS_PROFILE (else AWS_DEFAULT_PROFILE)
 * names, else "default", into
 * |dst|; "" when there is none, or the file is missing, unreadable or
 * malformed (the AWS CLI says what is wrong with it when it reads it). The
 * child never sees those variables, so the region their profile chose is passed on
 * explicitly. */
static void config_region(char *const *envp, char *dst, size_t size)
{
	char path[4096];
	const char *file = env_get(envp, "AWS_CONFIG_FILE");
	const char *home = env_get(envp, "HOME");
	int n;
	dst[0] = '\0';
	if (file != NULL && file[0] == '~' && (file[1] == '/' || file[1] == '\0') && home != NULL)
		n = snprintf(path, sizeof(path), "%s%s", home, file + 1);
	else if (file != NULL && file[0] != '\0')
		n = snprintf(path, sizeof(path), "%s", file);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(path, sizeof(path), "%s/.aws/config", home);
	else
		return;
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	/* The config file may hold keys too: read and wiped as a secret. */
	char *data = NULL, why[128];
	size_t len = 0;
	if (px_file_read_secret(path, CONFIG_MAX_BYTES, &data, &len, why, sizeof(why)) != 0)
		return;
	const char *profile = env_get(envp, "AWS_PROFILE");
	if (profile == NULL || profile[0] == '\0')
		profile = env_get(envp, "AWS_DEFAULT_PROFILE");
	if (fed_config_region(data, len, profile, dst, size, NULL, 0) != 0)
		dst[0] = '\0';
	OPENSSL_cleanse(data, len);
	free(data);
}

/* The variables we set, in order, as name/value pairs; |np| is the
 * filtered NO_PROXY (NULL: none); |region| is scratch space for the region
 * (PX_CLI_REGION_MAX bytes). Returns how many were written. */
struct setvar {
	const char *name;
	const char *value;
};

static size_t set_vars(char *const *envp, const struct px_cli_awsenv *e, const char *proxy_url, const char *np,
		       char *region_buf, struct setvar *v)
{
	size_t n = 0;
	v[n++] = (struct setvar){"HTTPS_PROXY", proxy_url};
	v[n++] = (struct setvar){"https_proxy", proxy_url};
	v[n++] = (struct setvar){"AWS_CA_BUNDLE", e->ca_file};
	v[n++] = (struct setvar){"AWS_ACCESS_KEY_ID", e->access_key_id};
	v[n++] = (struct setvar){"AWS_SECRET_ACCESS_KEY", e->secret_access_key};
	const char *region = env_get(envp, "AWS_DEFAULT_REGION");
	if (region == NULL || region[0] == '\0')
		region = env_get(envp, "AWS_REGION");
	if (region == NULL || region[0] == '\0') {
		/* The user's own config file before the gate's default. */
		config_region(envp, region_buf, PX_CLI_REGION_MAX);
		region = region_buf;
	}
	if (region[0] == '\0')
		region = e->default_region ? e->default_region : "us-east-1";
	v[n++] = (struct setvar){"AWS_DEFAULT_REGION", region};
	/* The keys above come first in every SDK's chain; the shared
	 * credentials file is emptied anyway so that nothing named there (a
	 * credential_process, a source_profile) can be picked by a tool that
	 * reads it first. ~/.aws/config stays: region, retries, S3 settings. */
	v[n++] = (struct setvar){"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"};
	/* Newer SDKs read endpoint_url from the config file: keep them on AWS names. */
	v[n++] = (struct setvar){"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"};
	if (np != NULL) {
		v[n++] = (struct setvar){"NO_PROXY", np};
		v[n++] = (struct setvar){"no_proxy", np};
	}
	return n;
}

/* NO_PROXY (or no_proxy when that is all there is), filtered into |*np|. */
static int no_proxy_of(char *const *envp, char **np)
{
	const char *v = env_get(envp, "NO_PROXY");
	if (v == NULL || v[0] == '\0')
		v = env_get(envp, "no_proxy");
	*np = NULL;
	return v != NULL ? px_cli_no_proxy_filter(v, np) : 0;
}

int px_cli_aws_env(char *const *envp, const struct px_cli_awsenv *e, char ***out)
{
	char proxy_url[64];
	struct setvar sv[12];
	char *np = NULL;
	char **env = NULL;
	size_t count = 0, k = 0;
	int rv = PX_ERR_NOMEM;

	snprintf(proxy_url, sizeof(proxy_url), "http://127.0.0.1:%u", (unsigned)e->port);
	for (char *const *p = envp; p != NULL && *p != NULL; p++)
		count++;
	if (count > PX_CLI_ENV_MAX)
		return PX_ERR_TOO_LARGE;
	if (no_proxy_of(envp, &np) < 0)
		return PX_ERR_NOMEM;
	char region[PX_CLI_REGION_MAX];
	size_t nset = set_vars(envp, e, proxy_url, np, region, sv);
	env = calloc(count + nset + 1, sizeof(*env));
	if (env == NULL)
		goto out;
	for (char *const *p = envp; p != NULL && *p != NULL; p++) {
		int drop = strchr(*p, '=') == NULL;
		for (size_t i = 0; !drop && i < sizeof(removed_vars) / sizeof(removed_vars[0]); i++)
			drop = var_is(*p, removed_vars[i]);
		/* AWS_DEFAULT_REGION is set below from itself or AWS_REGION. */
		drop = drop || var_is(*p, "AWS_DEFAULT_REGION");
		if (drop)
			continue;
		if ((env[k] = strdup(*p)) == NULL)
			goto out;
		k++;
	}
	for (size_t i = 0; i < nset; i++)
		if ((env[k++] = kv(sv[i].name, sv[i].value)) == NULL)
			goto out;
	env[k] = NULL;
	*out = env;
	env = NULL;
	rv = 0;
out:
	px_cli_env_free(env);
	free(np);
	return rv;
}

void px_cli_env_free(char **env)
{
	if (env == NULL)
		return;
	for (char **p = env; *p != NULL; p++) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
	}
	free(env);
}

int px_cli_aws_args_check(int argc, char *const *argv, char *err, size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--profile") == 0 || strncmp(a, "--profile=", 10) == 0) {
			snprintf(err, errlen, "--profile would make the AWS CLI use other credentials than the gate's: "
					      "leave it out (choose the role with awsgate apps login APP --aws-role R, or "
					      "the awsgate profile with awsgate --profile NAME aws ...)");
			return PX_ERR_CLI_USAGE;
		}
		if (strcmp(a, "--endpoint-url") == 0 || strncmp(a, "--endpoint-url=", 15) == 0) {
			snprintf(err, errlen, "--endpoint-url would send the call around the gate: leave it out (the "
					      "gate reaches AWS; its administrator can point it at other endpoints)");
			return PX_ERR_CLI_USAGE;
		}
	}
	return 0;
}

/* |s| quoted for a POSIX shell: single quotes, each ' as '\''. */
static void shell_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

int px_cli_aws_print(FILE *f, const char *format, char *const *envp, const struct px_cli_awsenv *e)
{
	char proxy_url[64];
	struct setvar sv[12];
	char *np = NULL;
	int json = 0;

	if (strcmp(format, "json") == 0)
		json = 1;
	else if (strcmp(format, "env") != 0)
		return PX_ERR_CLI_USAGE;
	snprintf(proxy_url, sizeof(proxy_url), "http://127.0.0.1:%u", (unsigned)e->port);
	if (no_proxy_of(envp, &np) < 0)
		return PX_ERR_NOMEM;
	char region[PX_CLI_REGION_MAX];
	size_t nset = set_vars(envp, e, proxy_url, np, region, sv);
	int had_np = env_get(envp, "NO_PROXY") != NULL || env_get(envp, "no_proxy") != NULL;

	if (!json) {
		for (size_t i = 0; i < nset; i++) {
			fprintf(f, "export %s=", sv[i].name);
			shell_quote(f, sv[i].value);
			fputc('\n', f);
		}
		for (size_t i = 0; i < sizeof(unset_vars) / sizeof(unset_vars[0]); i++)
			fprintf(f, "unset %s\n", unset_vars[i]);
		/* Everything in NO_PROXY was AWS: nothing is left to keep. */
		if (had_np && np == NULL)
			fputs("unset NO_PROXY\nunset no_proxy\n", f);
		free(np);
		return 0;
	}
	json_t *o = json_object();
	int bad = o == NULL;
	for (size_t i = 0; !bad && i < nset; i++)
		bad = json_object_set_new(o, sv[i].name, json_string(sv[i].value)) < 0;
	for (size_t i = 0; !bad && i < sizeof(unset_vars) / sizeof(unset_vars[0]); i++)
		bad = json_object_set_new(o, unset_vars[i], json_null()) < 0;
	if (!bad && had_np && np == NULL)
		bad = json_object_set_new(o, "NO_PROXY", json_null()) < 0 ||
		      json_object_set_new(o, "no_proxy", json_null()) < 0;
	char *text = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (o != NULL) {
		json_t *s = json_object_get(o, "AWS_SECRET_ACCESS_KEY");
		if (json_is_string(s))
			OPENSSL_cleanse((char *)(uintptr_t)json_string_value(s), json_string_length(s));
	}
	json_decref(o);
	free(np);
	if (text == NULL)
		return PX_ERR_NOMEM;
	fprintf(f, "%s\n", text);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return 0;
}

/* --- the spawner ------------------------------------------------------------------ */

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t pending_sig;

static void forward_sig(int sig)
{
	pid_t pid = (pid_t)child_pid;
	if (pid > 0)
		kill(pid, sig);
	else
		pending_sig = sig;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/* 0 when |name| is an executable file (with a '/') or one on $PATH, else an errno value. */
static int program_find(const char *name)
{
	char path[4096];

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? 0 : errno;
	const char *p = getenv("PATH");
	if (p == NULL)
		p = "/usr/local/bin:/usr/bin:/bin";
	int why = ENOENT;
	while (1) {
		size_t n = strcspn(p, ":");
		int k = n == 0 ? snprintf(path, sizeof(path), "./%s", name)
			       : snprintf(path, sizeof(path), "%.*s/%s", (int)n, p, name);
		if (k > 0 && (size_t)k < sizeof(path)) {
			struct stat st;
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (access(path, X_OK) == 0)
					return 0;
				why = EACCES;
			}
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return why;
}

const char *px_cli_aws_program(void)
{
	const char *p = getenv("AWSGATE_AWS_CLI");
	return p != NULL && p[0] != '\0' ? p : "aws";
}

int px_cli_spawn(char *const *argv, char *const *envp, char *err, size_t errlen)
{
	struct sigaction sa, old[NFORWARDED];
	posix_spawnattr_t attr;
	sigset_t defaults, empty;
	pid_t pid;
	int status = 0;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		snprintf(err, errlen, "no program to run");
		return PX_EXIT_NOSTART;
	}
	/* Looked up first: where posix_spawnp() cannot report a failed exec
	 * (a fork-based implementation), the child would exit 127 and look
	 * like the program's own status. */
	int found = program_find(argv[0]);
	if (found != 0) {
		snprintf(err, errlen, "cannot run '%s': %s%s", argv[0], strerror(found),
			 found == ENOENT ? " (install the AWS CLI v2, or name it with AWSGATE_AWS_CLI=/path/to/aws)" : "");
		return PX_EXIT_NOSTART;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_sig;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	child_pid = 0;
	pending_sig = 0;
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &sa, &old[i]);

	/* The child starts with default dispositions and no blocked signals,
	 * whatever ours are. */
	posix_spawnattr_init(&attr);
	sigemptyset(&defaults);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&defaults, forwarded[i]);
	sigaddset(&defaults, SIGPIPE);
	sigemptyset(&empty);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	int e = posix_spawnp(&pid, argv[0], NULL, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	if (e != 0) {
		for (size_t i = 0; i < NFORWARDED; i++)
			sigaction(forwarded[i], &old[i], NULL);
		snprintf(err, errlen, "cannot run '%s': %s%s", argv[0], strerror(e),
			 e == ENOENT ? " (install the AWS CLI v2, or name it with AWSGATE_AWS_CLI=/path/to/aws)" : "");
		return PX_EXIT_NOSTART;
	}
	child_pid = pid;
	if (pending_sig != 0)
		kill(pid, pending_sig);
	int rc;
	while ((rc = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	child_pid = 0;
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &old[i], NULL);
	if (rc < 0) {
		snprintf(err, errlen, "waiting for '%s' failed: %s", argv[0], strerror(errno));
		return PX_EXIT_NOSTART;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return PX_EXIT_NOSTART;
}

/* --- special cases ------------------------------------------------------------------ */

/* Global options of the AWS CLI that take a value, and flags. */
static const char *const global_valued[] = {
	"--region", "--output", "--query", "--profile", "--endpoint-url", "--color", "--ca-bundle",
	"--cli-read-timeout", "--cli-connect-timeout", "--cli-binary-format",
};
static const char *const global_flags[] = {
	"--debug", "--no-verify-ssl", "--no-paginate", "--no-sign-request", "--no-cli-pager", "--cli-auto-prompt",
	"--no-cli-auto-prompt",
};

static int in_list(const char *a, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a, list[i]) == 0)
			return 1;
	return 0;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Copies |v| into |dst| (|len|): -1 when it does not fit. */
static int put(char *dst, size_t len, const char *v)
{
	size_t n = strlen(v);
	if (n >= len)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static int region_ok(const char *r)
{
	if (r[0] == '\0' || strlen(r) > 40)
		return 0;
	for (const char *p = r; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return 1;
}

/* A bucket that can be a DNS label the way the AWS CLI uses one: else path style. */
static int bucket_virtual(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
			return 0;
	return 1;
}

/* Appends the S3 key |k| percent-encoded as botocore does (unreserved and '/' kept). */
static int key_encode(char *dst, size_t len, size_t at, const char *k)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *k; k++) {
		unsigned char c = (unsigned char)*k;
		int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_' || c == '.' || c == '~' || c == '/';
		if (at + 4 >= len)
			return -1;
		if (keep) {
			dst[at++] = (char)c;
		} else {
			dst[at++] = '%';
			dst[at++] = hex[c >> 4];
			dst[at++] = hex[c & 15];
		}
	}
	dst[at] = '\0';
	return 0;
}

static const char *dns_suffix(const char *region)
{
	return strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

/* The value of option |a| at argv[*i]: "--x=v" or "--x v" (advancing *i). */
static const char *opt_value(int argc, char *const *argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	*missing = 0;
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

static int s3_url(struct px_cli_special *sp, const char *target, char *err, size_t errlen)
{
	if (strncmp(target, "s3://", 5) != 0 || target[5] == '\0' || target[5] == '/') {
		snprintf(err, errlen, "aws s3 presign: '%s' is not s3://BUCKET/KEY", target);
		return -1;
	}
	const char *bucket = target + 5;
	const char *slash = strchr(bucket, '/');
	size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
	const char *key = slash ? slash + 1 : "";
	char b[256];
	if (key[0] == '\0') {
		/* What the AWS CLI says: a presigned URL is for an object. */
		snprintf(err, errlen, "Parameter validation failed:\nInvalid length for parameter Key, value: 0, valid min "
				      "length: 1");
		return -1;
	}
	if (blen >= sizeof(b)) {
		snprintf(err, errlen, "aws s3 presign: the bucket name is too long");
		return -1;
	}
	memcpy(b, bucket, blen);
	b[blen] = '\0';
	for (size_t i = 0; i < blen; i++)
		if ((unsigned char)b[i] <= 0x20 || b[i] == '"' || b[i] == '\\' || b[i] == '#' || b[i] == '?' ||
		    (unsigned char)b[i] >= 0x7f) {
			snprintf(err, errlen, "aws s3 presign: '%s' is not a bucket name", b);
			return -1;
		}
	int n;
	const char *r = sp->region;
	if (bucket_virtual(b))
		n = r[0] ? snprintf(sp->url, sizeof(sp->url), "https://%s.s3.%s.%s/", b, r, dns_suffix(r))
			 : snprintf(sp->url, sizeof(sp->url), "https://%s.s3.amazonaws.com/", b);
	else
		n = r[0] ? snprintf(sp->url, sizeof(sp->url), "https://s3.%s.%s/%s/", r, dns_suffix(r), b)
			 : snprintf(sp->url, sizeof(sp->url), "https://s3.amazonaws.com/%s/", b);
	if (n < 0 || (size_t)n >= sizeof(sp->url) || key_encode(sp->url, sizeof(sp->url), (size_t)n, key) < 0) {
		snprintf(err, errlen, "aws s3 presign: the URL would be too long");
		return -1;
	}
	return 0;
}

static int uint_arg(const char *v, uint32_t max, uint32_t *out)
{
	if (v[0] == '\0' || strlen(v) > 10)
		return -1;
	uint64_t x = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (x == 0 || x > max)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

int px_cli_special_parse(int argc, char *const *argv, char *const *envp, struct px_cli_special *out, char *err,
			 size_t errlen)
{
	struct px_cli_special sp;
	const char *pos[3] = {NULL, NULL, NULL};
	int npos = 0;

	/* Find the service and operation past the global options. */
	for (int i = 0; i < argc && npos < 2; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-') {
			if (in_list(a, global_valued, NELEM(global_valued)))
				i++;
			continue;
		}
		pos[npos++] = a;
	}
	memset(&sp, 0, sizeof(sp));
	if (npos < 2)
		return PX_CLI_SPECIAL_NONE;
	if (strcmp(pos[0], "s3") == 0 && strcmp(pos[1], "presign") == 0)
		sp.kind = PX_CLI_SPECIAL_S3_PRESIGN;
	else if (strcmp(pos[0], "eks") == 0 && strcmp(pos[1], "get-token") == 0)
		sp.kind = PX_CLI_SPECIAL_EKS_TOKEN;
	else if (strcmp(pos[0], "rds") == 0 && strcmp(pos[1], "generate-db-auth-token") == 0)
		sp.kind = PX_CLI_SPECIAL_RDS_TOKEN;
	else
		return PX_CLI_SPECIAL_NONE;

	const char *cmd = sp.kind == PX_CLI_SPECIAL_S3_PRESIGN	  ? "aws s3 presign"
			  : sp.kind == PX_CLI_SPECIAL_EKS_TOKEN ? "aws eks get-token"
								: "aws rds generate-db-auth-token";
	const char *region = NULL, *target = NULL, *expires = NULL, *cluster = NULL, *hostname = NULL, *port = NULL,
		   *username = NULL;
	int seen = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v;
		int missing = 0;
		if (a[0] != '-' || a[1] != '-') {
			if (seen < 2) {
				seen++;
				continue;
			}
			if (sp.kind == PX_CLI_SPECIAL_S3_PRESIGN && target == NULL) {
				target = a;
				continue;
			}
			snprintf(err, errlen, "%s: unexpected argument '%s'", cmd, a);
			return PX_ERR_CLI_USAGE;
		}
#define OPT(name, var)                                                                \
	if ((v = opt_value(argc, argv, &i, name, &missing)) != NULL || missing) {     \
		if (missing) {                                                         \
			snprintf(err, errlen, "%s: %s needs a value", cmd, name);      \
			return PX_ERR_CLI_USAGE;                                       \
		}                                                                      \
		var = v;                                                               \
		continue;                                                              \
	}
		OPT("--region", region)
		if (sp.kind == PX_CLI_SPECIAL_S3_PRESIGN) {
			OPT("--expires-in", expires)
		} else if (sp.kind == PX_CLI_SPECIAL_EKS_TOKEN) {
			OPT("--cluster-name", cluster)
		} else {
			OPT("--hostname", hostname)
			OPT("--port", port)
			OPT("--username", username)
		}
#undef OPT
		/* Output and debugging options do not change what is printed here. */
		if (strcmp(a, "--output") == 0 || strcmp(a, "--color") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--output=", 9) == 0 || strncmp(a, "--color=", 8) == 0 ||
		    in_list(a, global_flags, NELEM(global_flags)))
			continue;
		snprintf(err, errlen, "%s: %s is not supported through awsgate (the URL is presigned by the gate "
				      "with the role's credentials)", cmd, a);
		return PX_ERR_CLI_USAGE;
	}
	if (region == NULL || region[0] == '\0')
		region = env_get(envp, "AWS_REGION");
	if (region == NULL || region[0] == '\0')
		region = env_get(envp, "AWS_DEFAULT_REGION");
	char conf[PX_CLI_REGION_MAX];
	if (region == NULL || region[0] == '\0') {
		config_region(envp, conf, sizeof(conf));
		region = conf;
	}
	if (region[0] != '\0') {
		if (!region_ok(region) || put(sp.region, sizeof(sp.region), region) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a region name", cmd, region);
			return PX_ERR_CLI_USAGE;
		}
	}

	switch (sp.kind) {
	case PX_CLI_SPECIAL_S3_PRESIGN:
		if (target == NULL) {
			snprintf(err, errlen, "%s: the S3 object is missing: aws s3 presign s3://BUCKET/KEY", cmd);
			return PX_ERR_CLI_USAGE;
		}
		sp.expires = 3600;
		if (expires != NULL && uint_arg(expires, 604800, &sp.expires) < 0) {
			snprintf(err, errlen, "%s: --expires-in must be seconds, 1 to 604800", cmd);
			return PX_ERR_CLI_USAGE;
		}
		if (s3_url(&sp, target, err, errlen) < 0)
			return PX_ERR_CLI_USAGE;
		break;
	case PX_CLI_SPECIAL_EKS_TOKEN: {
		if (cluster == NULL || cluster[0] == '\0') {
			snprintf(err, errlen, "%s: --cluster-name is required", cmd);
			return PX_ERR_CLI_USAGE;
		}
		if (put(sp.header_value, sizeof(sp.header_value), cluster) < 0 || strpbrk(cluster, "\"\\\r\n") != NULL) {
			snprintf(err, errlen, "%s: --cluster-name is not a cluster name", cmd);
			return PX_ERR_CLI_USAGE;
		}
		memcpy(sp.header_name, "x-k8s-aws-id", sizeof("x-k8s-aws-id"));
		sp.expires = 60;
		if (sp.region[0])
			snprintf(sp.url, sizeof(sp.url),
				 "https://sts.%s.%s/?Action=GetCallerIdentity&Version=2011-06-15", sp.region,
				 dns_suffix(sp.region));
		else
			snprintf(sp.url, sizeof(sp.url),
				 "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
		break;
	}
	case PX_CLI_SPECIAL_RDS_TOKEN: {
		uint32_t p = 0;
		if (hostname == NULL || port == NULL || username == NULL) {
			snprintf(err, errlen, "%s: --hostname, --port and --username are required", cmd);
			return PX_ERR_CLI_USAGE;
		}
		if (sp.region[0] == '\0') {
			snprintf(err, errlen, "You must specify a region. You can also configure your region by running "
					      "\"aws configure\".");
			return PX_ERR_CLI_USAGE;
		}
		if (uint_arg(port, 65535, &p) < 0) {
			snprintf(err, errlen, "%s: --port must be 1 to 65535", cmd);
			return PX_ERR_CLI_USAGE;
		}
		for (const char *h = hostname; *h; h++)
			if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') || (*h >= '0' && *h <= '9') ||
			      *h == '.' || *h == '-')) {
				snprintf(err, errlen, "%s: --hostname is not a DNS name", cmd);
				return PX_ERR_CLI_USAGE;
			}
		int n = snprintf(sp.url, sizeof(sp.url), "https://%s:%u/?Action=connect&DBUser=", hostname, (unsigned)p);
		if (n < 0 || (size_t)n >= sizeof(sp.url)) {
			snprintf(err, errlen, "%s: --hostname is too long", cmd);
			return PX_ERR_CLI_USAGE;
		}
		/* DBUser is a query value: everything but unreserved is encoded ('/' too). */
		size_t at = (size_t)n;
		static const char hex[] = "0123456789ABCDEF";
		for (const char *u = username; *u; u++) {
			unsigned char c = (unsigned char)*u;
			if (at + 4 >= sizeof(sp.url)) {
				snprintf(err, errlen, "%s: --username is too long", cmd);
				return PX_ERR_CLI_USAGE;
			}
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_' || c == '.' || c == '~') {
				sp.url[at++] = (char)c;
			} else {
				sp.url[at++] = '%';
				sp.url[at++] = hex[c >> 4];
				sp.url[at++] = hex[c & 15];
			}
		}
		sp.url[at] = '\0';
		memcpy(sp.service, "rds-db", sizeof("rds-db"));
		sp.expires = 900;
		break;
	}
	default:
		break;
	}
	*out = sp;
	return (int)sp.kind;
}

static int special_print(FILE *f, const struct px_cli_special *sp, const char *url, int64_t now);

/* |in| as unpadded base64url into a new string. */
static char *b64url(const char *in)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(in);
	char *o = malloc((n + 2) / 3 * 4 + 1);
	size_t k = 0;
	if (o == NULL)
		return NULL;
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		o[k++] = tab[v >> 18 & 63];
		o[k++] = tab[v >> 12 & 63];
		o[k++] = tab[v >> 6 & 63];
		o[k++] = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		o[k++] = tab[v >> 18 & 63];
		o[k++] = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		o[k++] = tab[v >> 18 & 63];
		o[k++] = tab[v >> 12 & 63];
		o[k++] = tab[v >> 6 & 63];
	}
	o[k] = '\0';
	return o;
}

/* KUBERNETES_EXEC_INFO's apiVersion as the AWS CLI reads it. */
static const char *eks_api_version(void)
{
	static const char beta[] = "client.authentication.k8s.io/v1beta1";
	const char *raw = getenv("KUBERNETES_EXEC_INFO");
	if (raw == NULL || raw[0] == '\0')
		return beta;
	json_t *j = json_loads(raw, 0, NULL);
	if (j == NULL) {
		fprintf(stderr, "Error parsing KUBERNETES_EXEC_INFO, defaulting to %s. This is likely a bug in your "
				"Kubernetes client. Please update your Kubernetes client.\n",
			beta);
		return beta;
	}
	const char *v = json_string_value(json_object_get(j, "apiVersion"));
	const char *r = beta;
	if (v != NULL && strcmp(v, "client.authentication.k8s.io/v1") == 0) {
		r = "client.authentication.k8s.io/v1";
	} else if (v != NULL && strcmp(v, beta) == 0) {
		r = beta;
	} else if (v != NULL && strcmp(v, "client.authentication.k8s.io/v1alpha1") == 0) {
		fprintf(stderr, "Kubeconfig user entry is using deprecated API version %s. Run 'aws eks "
				"update-kubeconfig' to update.\n", v);
		r = "client.authentication.k8s.io/v1alpha1";
	} else {
		fprintf(stderr, "Unrecognized API version in KUBERNETES_EXEC_INFO, defaulting to %s. This is likely "
				"due to an outdated AWS CLI. Please update your AWS CLI.\n",
			beta);
	}
	json_decref(j);
	return r;
}

/* botocore's order of the query authentication parameters, after the request's own. */
static const char *const auth_order[] = {
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
	"X-Amz-Security-Token", "X-Amz-Signature",
};

static int auth_rank(const char *p, size_t n)
{
	for (size_t i = 0; i < NELEM(auth_order); i++) {
		size_t k = strlen(auth_order[i]);
		if (n > k && p[k] == '=' && strncmp(p, auth_order[i], k) == 0)
			return (int)i;
	}
	return -1;
}

int px_cli_presigned_reorder(const char *url, char **out)
{
	size_t len = strlen(url);
	const char *q = strchr(url, '?');
	char *b = malloc(len + 1);

	if (b == NULL)
		return PX_ERR_NOMEM;
	if (q == NULL) {
		memcpy(b, url, len + 1);
		*out = b;
		return 0;
	}
	size_t at = (size_t)(q - url) + 1;
	memcpy(b, url, at);
	int first = 1;
	/* Pass -1: the request's own parameters in their order; then each
	 * authentication parameter in botocore's order. */
	for (int want = -1; want < (int)NELEM(auth_order); want++) {
		for (const char *p = q + 1; *p;) {
			size_t n = strcspn(p, "&");
			if (n > 0 && auth_rank(p, n) == want) {
				if (!first)
					b[at++] = '&';
				memcpy(b + at, p, n);
				at += n;
				first = 0;
			}
			p += n;
			if (*p == '&')
				p++;
		}
	}
	b[at] = '\0';
	*out = b;
	return 0;
}

int px_cli_special_print(FILE *f, const struct px_cli_special *sp, const char *gate_url, int64_t now)
{
	char *url = NULL;

	/* The gate's order of the query differs from the AWS CLI's; the
	 * signature does not depend on it (the canonical query is sorted). */
	if (px_cli_presigned_reorder(gate_url, &url) < 0)
		return PX_ERR_NOMEM;
	int rv = special_print(f, sp, url, now);
	OPENSSL_cleanse(url, strlen(url));
	free(url);
	return rv;
}

static int special_print(FILE *f, const struct px_cli_special *sp, const char *url, int64_t now)
{
	switch (sp->kind) {
	case PX_CLI_SPECIAL_S3_PRESIGN:
		fprintf(f, "%s\n", url);
		return 0;
	case PX_CLI_SPECIAL_RDS_TOKEN:
		fprintf(f, "%s\n", strncmp(url, "https://", 8) == 0 ? url + 8 : url);
		return 0;
	case PX_CLI_SPECIAL_EKS_TOKEN: {
		/* 14 minutes, as the AWS CLI: clients refresh before the 15 of STS. */
		time_t t = (time_t)(now + 14 * 60);
		struct tm tm;
		char ts[32];
		char *tok = b64url(url);
		if (tok == NULL)
			return PX_ERR_NOMEM;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(f,
			"{\"kind\": \"ExecCredential\", \"apiVersion\": \"%s\", \"spec\": {}, \"status\": "
			"{\"expirationTimestamp\": \"%s\", \"token\": \"k8s-aws-v1.%s\"}}\n",
			eks_api_version(), ts, tok);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		return 0;
	}
	default:
		return 0;
	}
}
