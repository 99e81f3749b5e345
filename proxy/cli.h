/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h: the pieces of `awsgate`, the user's CLI: profiles, calls to the gate, the aws wrapper's environment, spawner and special cases. */
#ifndef AWSGATE_PROXY_CLI_H
#define AWSGATE_PROXY_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * docs/CLI.md ("awsgate") describes the commands, the files under
 * ~/.awsgate/ and the environment rules. Everything here is in libproxy.a;
 * proxy/cli_main.c only calls px_cli_main().
 */

#define PX_ERR_PROFILE -490 /* a profile file or name is not valid: the message says what */
#define PX_ERR_GATE -491    /* the gate could not be reached or refused: the message says why */
#define PX_ERR_CLI_USAGE -492 /* arguments that cannot be used: the message says why */

/* `awsgate aws` returns this when it cannot start the child (INTERFACES.md). */
#define PX_EXIT_NOSTART 125

/* --- profiles (cli_profile.c) --------------------------------------------- */

#define PX_CLI_NAME_MAX 64              /* a profile name: [A-Za-z0-9._-], not starting with '.' */
#define PX_CLI_PROFILE_MAX_BYTES 65536u /* the largest profile.json read */
#define PX_CLI_AKID_LEN 20              /* throw-away access key id: "AKIA" + 16 of [A-Z0-9] */
#define PX_CLI_SECRET_LEN 40            /* throw-away secret: 40 of [A-Za-z0-9+/] */
#define PX_CLI_REGION_MAX 64            /* a region name and its NUL */

/*
 * One profile: the gate, who logged in, the chosen app and role and the
 * throw-away AWS keys. Fixed-size strings so that a profile is one object
 * to wipe; "" means unset. Wipe with px_cli_profile_wipe().
 */
struct px_cli_profile {
	char name[PX_CLI_NAME_MAX + 1];
	char gate[256]; /* HOST:PORT */
	char user[256]; /* the certificate's CN as the gate reported it */
	char app[256];
	char role[2048]; /* the chosen role's ARN */
	char access_key_id[PX_CLI_AKID_LEN + 1];
	char secret_access_key[PX_CLI_SECRET_LEN + 1];
};

/* Whether |name| is a valid profile name: 0, or PX_ERR_PROFILE. */
int px_cli_name_check(const char *name);

/*
 * Parses profile.json (|text|, |len| bytes, not necessarily NUL-terminated)
 * into |*out|: an object with "version": 1, "name", "gate" (HOST:PORT),
 * "access_key_id", "secret_access_key" required, "user", "app", "role"
 * optional (string or null). Unknown members are ignored (a newer CLI may
 * add some).
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_PROFILE (|err| says what), PX_ERR_TOO_LARGE.
 */
int px_cli_profile_parse(const char *text, size_t len, struct px_cli_profile *out, char *err, size_t errlen);

/* Writes |p| as JSON into a new buffer |*out| (|*len| bytes, NUL-terminated);
 * the caller wipes it with OPENSSL_cleanse() and frees it.
 * This function returns 0 if it succeeds, or PX_ERR_NOMEM. */
int px_cli_profile_format(const struct px_cli_profile *p, char **out, size_t *len);

/* Wipes every byte of |p| (the secret among them). */
void px_cli_profile_wipe(struct px_cli_profile *p);

/* Makes throw-away keys with RAND_bytes: an access key id that looks like
 * AWS's ("AKIA" + 16 of [A-Z0-9]) and a 40-character secret.
 * This function returns 0 if it succeeds, or PX_ERR_IO (no randomness). */
int px_cli_keys_generate(char akid[PX_CLI_AKID_LEN + 1], char secret[PX_CLI_SECRET_LEN + 1]);

/* ~/.awsgate ($HOME/.awsgate) into |buf|; with |create|, made 0700 if
 * missing. This function returns 0 if it succeeds, or PX_ERR_IO (|err|). */
int px_cli_home(char *buf, size_t len, int create, char *err, size_t errlen);

/* The active profile's name: |flag| (--profile) if set, else
 * $AWSGATE_PROFILE, else HOME/current. Returns 0, PX_ERR_PROFILE when no
 * profile is chosen or the name is not valid (|err| says what to do). */
int px_cli_profile_choose(const char *home, const char *flag, char *name, size_t len, char *err, size_t errlen);

/* Loads HOME/NAME/profile.json. Returns 0, PX_ERR_IO (no such profile:
 * |err| says to log in), PX_ERR_PROFILE, PX_ERR_TOO_LARGE. */
int px_cli_profile_load(const char *home, const char *name, struct px_cli_profile *out, char *err, size_t errlen);

/* Writes HOME/NAME/profile.json (0600) atomically, replacing it. */
int px_cli_profile_save(const char *home, const struct px_cli_profile *p, char *err, size_t errlen);

/* The path of the file |file| of profile |name| ("client.crt", ...). */
int px_cli_profile_path(char *buf, size_t len, const char *home, const char *name, const char *file);

/* --- calls to the gate (cli_gate.c) ---------------------------------------- */

/* How to reach the gate: all borrowed. */
struct px_cli_conn {
	const char *gate; /* HOST:PORT */
	const char *cert_file;
	const char *key_file;
	const char *ca_file;
	long timeout; /* seconds; 0: 30 */
};

#define PX_CLI_REPLY_MAX (4u * 1024 * 1024) /* the largest answer read from the gate */

struct px_cli_reply {
	long status;      /* HTTP status */
	char version[64]; /* X-Awsgate-Version, "" when absent */
	char error[64];   /* X-Awsgate-Error, "" when absent */
	char *body;       /* owned, NUL-terminated; free() */
	size_t len;
};

/*
 * Calls |method| |path| on the gate over mTLS (libcurl, blocking), with
 * |body| as JSON when not NULL. Any HTTP status is a success here.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_GATE (could not connect, TLS refused, ...: |err|
 * says why and what to do), PX_ERR_TOO_LARGE, PX_ERR_NOMEM.
 */
int px_cli_gate_call(const struct px_cli_conn *c, const char *method, const char *path, const char *body,
		     struct px_cli_reply *r, char *err, size_t errlen);

/* Frees what |r| owns (wiping the body: it may hold a sign-in URL). */
void px_cli_reply_free(struct px_cli_reply *r);

/*
 * The compatibility rule between this CLI (|ours|) and the gate's
 * X-Awsgate-Version (|theirs|): the same major version, and for 0.x the
 * same minor too. Returns 0 when compatible, 1 when they are too far apart
 * or |theirs| is missing or not a version (|msg| says which to upgrade).
 */
int px_cli_version_check(const char *ours, const char *theirs, char *msg, size_t msglen);

/* --- the aws wrapper (cli_aws.c) -------------------------------------------- */

/* What the child of `awsgate aws` (or the shell of `proxy aws`) is given. */
struct px_cli_awsenv {
	uint16_t port;                 /* the local proxy's port on 127.0.0.1 */
	const char *ca_file;           /* the local CA certificate (AWS_CA_BUNDLE) */
	const char *access_key_id;     /* the throw-away keys */
	const char *secret_access_key;
	const char *default_region;    /* AWS_DEFAULT_REGION when neither it nor AWS_REGION is set; NULL: us-east-1 */
};

#define PX_CLI_ENV_MAX 4096 /* at most this many environment entries are passed on */

/*
 * Builds the child's environment from |envp| (NULL-terminated, as environ):
 * sets HTTPS_PROXY, https_proxy, AWS_CA_BUNDLE, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE=/dev/null,
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true, AWS_DEFAULT_REGION when neither
 * region variable is set; removes AWS_PROFILE, AWS_DEFAULT_PROFILE,
 * AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN, AWS_ENDPOINT_URL*, and the other
 * credential sources' variables (docs/CLI.md lists them); removes AWS hosts
 * from NO_PROXY/no_proxy, keeping the rest. |*out| is a new NULL-terminated
 * array of new strings: free it with px_cli_env_free().
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_NOMEM, PX_ERR_TOO_LARGE (over PX_CLI_ENV_MAX entries).
 */
int px_cli_aws_env(char *const *envp, const struct px_cli_awsenv *e, char ***out);

/* Wipes and frees an environment made by px_cli_aws_env(). NULL is fine. */
void px_cli_env_free(char **env);

/*
 * Filters a NO_PROXY value: drops the entries that would send AWS hosts
 * around the proxy (`*`, and names under amazonaws.com, amazonaws.com.cn,
 * aws.amazon.com, api.aws, ...), keeps the rest in order. Writes a new
 * string to |*out| (NULL when nothing is left). Returns 0 or PX_ERR_NOMEM.
 */
int px_cli_no_proxy_filter(const char *value, char **out);

/*
 * Refuses the aws arguments that would route around the gate: `--profile`
 * and `--endpoint-url` (with `=VALUE` or as a separate word), before a `--`.
 * Returns 0, or PX_ERR_CLI_USAGE with |err| saying why and what to do.
 */
int px_cli_aws_args_check(int argc, char *const *argv, char *err, size_t errlen);

/*
 * `awsgate proxy aws --format env|json`: prints to |f| the variables
 * px_cli_aws_env() would set (`export NAME='value'` lines, quoted for
 * POSIX shells) and removes (`unset NAME` lines), or the same as one JSON
 * object where a removed variable is null. |envp| gives the current
 * NO_PROXY/no_proxy and region. The throw-away secret is printed: the shell
 * that evals the output needs it, and it opens nothing but the local proxy.
 * Returns 0, PX_ERR_CLI_USAGE (unknown format), PX_ERR_NOMEM.
 */
int px_cli_aws_print(FILE *f, const char *format, char *const *envp, const struct px_cli_awsenv *e);

/*
 * Runs |argv|[0] (PATH searched) with |envp|, forwarding SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT to it while it runs, and waits for it. Returns its exit
 * status, 128+N when signal N killed it, or PX_EXIT_NOSTART when it could
 * not be started (|err| says why and what to do).
 */
int px_cli_spawn(char *const *argv, char *const *envp, char *err, size_t errlen);

/* The AWS CLI to run: $AWSGATE_AWS_CLI, else "aws". */
const char *px_cli_aws_program(void);

/* --- aws commands that cannot work with throw-away keys ------------------------ */

enum px_cli_special_kind {
	PX_CLI_SPECIAL_NONE,
	PX_CLI_SPECIAL_S3_PRESIGN,   /* aws s3 presign s3://BUCKET/KEY [--expires-in N] */
	PX_CLI_SPECIAL_EKS_TOKEN,    /* aws eks get-token --cluster-name NAME */
	PX_CLI_SPECIAL_RDS_TOKEN,    /* aws rds generate-db-auth-token --hostname H --port P --username U */
};

struct px_cli_special {
	enum px_cli_special_kind kind;
	char region[PX_CLI_REGION_MAX]; /* --region, else $AWS_REGION, $AWS_DEFAULT_REGION, the config file; "" none */
	char url[4096];  /* the URL to presign */
	char service[16]; /* "" from the host; "rds-db" */
	char header_name[32];
	char header_value[256]; /* x-k8s-aws-id for EKS */
	uint32_t expires;
};

/*
 * Recognises the special cases in the aws arguments |argv| (without "aws"
 * itself; global options such as --region may come first), reading
 * AWS_REGION/AWS_DEFAULT_REGION from |envp|, and builds the presign request.
 * Returns PX_CLI_SPECIAL_NONE for anything else (the caller runs the AWS
 * CLI), the kind when |*out| is filled, or PX_ERR_CLI_USAGE for a special
 * command with bad arguments (|err| says what, as the AWS CLI would).
 */
int px_cli_special_parse(int argc, char *const *argv, char *const *envp, struct px_cli_special *out, char *err,
			 size_t errlen);

/*
 * Prints to |f| what the AWS CLI prints for |sp| given the gate's presign
 * answer |url| (the presigned URL) at time |now|: the URL (s3 presign), the
 * ExecCredential JSON (eks get-token), the URL without "https://" (rds).
 * Returns 0, PX_ERR_NOMEM.
 */
int px_cli_special_print(FILE *f, const struct px_cli_special *sp, const char *url, int64_t now);

/* The presigned |url| with its query authentication parameters moved
 * after the request's own, in botocore's order (Algorithm, Credential,
 * Date, Expires, SignedHeaders, Security-Token, Signature), into a new
 * string |*out|. Returns 0 or PX_ERR_NOMEM. */
int px_cli_presigned_reorder(const char *url, char **out);

/*
 * `awsgate aws ARGS`, the part before the proxy: with the active profile
 * (|profile_flag| as --profile), answers a special case through the gate's
 * presign endpoint. Returns -1 when |argv| is not special (run the proxy and
 * the AWS CLI), else the exit status to return.
 */
int px_cli_aws_special(const char *profile_flag, int argc, char *const *argv);

/* --- the active profile for the local proxy (cli_session.c) --------------------- */

struct px_lproxy_config;

#define PX_CLI_PATH_MAX 4200

/* The active profile and the paths of its files. Wipe with px_cli_session_wipe(). */
struct px_cli_session {
	struct px_cli_profile p;
	char dir[PX_CLI_PATH_MAX]; /* ~/.awsgate/NAME */
	char cert[PX_CLI_PATH_MAX], key[PX_CLI_PATH_MAX], gate_ca[PX_CLI_PATH_MAX];
	char local_ca_cert[PX_CLI_PATH_MAX], local_ca_key[PX_CLI_PATH_MAX];
};

/* Loads the active profile (|profile_flag| as --profile, else
 * AWSGATE_PROFILE, else ~/.awsgate/current) into |*s|.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes, with |err| saying what to do: PX_ERR_PROFILE, PX_ERR_IO,
 * PX_ERR_TOO_LARGE. */
int px_cli_session_load(const char *profile_flag, struct px_cli_session *s, char *err, size_t errlen);

/* Fills the profile's part of |cfg| (gate, certificate, key, gate CA, local
 * CA, throw-away keys, app, role), leaving the rest as it is. The strings
 * are borrowed from |s|: keep it until px_lproxy_new() returned. */
void px_cli_session_lproxy(const struct px_cli_session *s, struct px_lproxy_config *cfg);

/* The awsenv of |s| for a proxy on |port| (borrowed strings, as above). */
void px_cli_session_awsenv(const struct px_cli_session *s, uint16_t port, struct px_cli_awsenv *e);

void px_cli_session_wipe(struct px_cli_session *s);

/* --- the commands (cli_cmds.c) ------------------------------------------------- */

/* main() of awsgate. */
int px_cli_main(int argc, char **argv);

#endif
