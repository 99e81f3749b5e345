/* SPDX-License-Identifier: Apache-2.0 */
/* cli_cmds.c: the commands of `awsgate`: login, logout, status, apps, console, presign, and the dispatch of aws and proxy aws. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "cli.h"
#include "lproxy.h"
#include "proxy.h"

extern char **environ;

#define PATH_LEN 4200

/* The files of a profile directory (docs/CLI.md, "Files"). */
static const char *const profile_files[] = {
	"profile.json", "client.crt", "client.key", "gate-ca.crt", "local-ca.crt", "local-ca.key",
};

static const char *str_or(const char *s, const char *dflt)
{
	return s != NULL ? s : dflt;
}

/* --- options ------------------------------------------------------------------ */

struct opt {
	const char *name;
	int has_value;
	const char **value; /* has_value */
	int *flag;          /* !has_value */
};

/*
 * Parses argv[1..] (argv[0] is the command's name) against |opts|, with at
 * most |maxpos| positional arguments into |pos|. Returns 0 to go on, 1 when
 * --help was printed (exit 0), -1 after a usage error was printed (exit 2).
 */
static int opts_parse(const char *cmd, const char *usage, int argc, char **argv, const struct opt *opts, size_t nopts,
		      const char **pos, int maxpos, int *npos)
{
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return 1;
		}
		if (a[0] == '-' && a[1] != '\0') {
			const char *eq = strchr(a, '=');
			size_t nl = eq ? (size_t)(eq - a) : strlen(a);
			size_t k;
			for (k = 0; k < nopts; k++)
				if (strlen(opts[k].name) == nl && strncmp(opts[k].name, a, nl) == 0)
					break;
			if (k == nopts) {
				fprintf(stderr, "awsgate %s: unknown option '%s' (see awsgate %s --help)\n", cmd, a, cmd);
				return -1;
			}
			if (!opts[k].has_value) {
				if (eq) {
					fprintf(stderr, "awsgate %s: %s takes no value\n", cmd, opts[k].name);
					return -1;
				}
				*opts[k].flag = 1;
				continue;
			}
			if (eq) {
				*opts[k].value = eq + 1;
			} else if (i + 1 < argc) {
				*opts[k].value = argv[++i];
			} else {
				fprintf(stderr, "awsgate %s: %s needs a value\n", cmd, opts[k].name);
				return -1;
			}
			continue;
		}
		if (*npos >= maxpos) {
			fprintf(stderr, "awsgate %s: unexpected argument '%s' (see awsgate %s --help)\n", cmd, a, cmd);
			return -1;
		}
		pos[(*npos)++] = a;
	}
	return 0;
}

#define OPTS_PARSE(cmd, usage, opts, pos, maxpos, npos)                                                         \
	do {                                                                                                    \
		int r_ = opts_parse(cmd, usage, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, maxpos, npos); \
		if (r_ != 0)                                                                                    \
			return r_ > 0 ? PX_EXIT_OK : PX_EXIT_USAGE;                                             \
	} while (0)

/* --- the active profile ----------------------------------------------------------- */

struct cli {
	const char *profile_flag; /* --profile given before the command or to it */
	char home[PATH_LEN];
	struct px_cli_profile p;
	char cert[PATH_LEN], key[PATH_LEN], ca[PATH_LEN];
};

static void cli_free(struct cli *c)
{
	px_cli_profile_wipe(&c->p);
}

/* Loads the active profile into |c|; prints why not and returns -1. */
static int cli_load(struct cli *c)
{
	char err[1024];
	char name[PX_CLI_NAME_MAX + 1];

	if (px_cli_home(c->home, sizeof(c->home), 0, err, sizeof(err)) < 0 ||
	    px_cli_profile_choose(c->home, c->profile_flag, name, sizeof(name), err, sizeof(err)) < 0 ||
	    px_cli_profile_load(c->home, name, &c->p, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate: %s\n", err);
		return -1;
	}
	px_cli_profile_path(c->cert, sizeof(c->cert), c->home, name, "client.crt");
	px_cli_profile_path(c->key, sizeof(c->key), c->home, name, "client.key");
	px_cli_profile_path(c->ca, sizeof(c->ca), c->home, name, "gate-ca.crt");
	return 0;
}

static void cli_conn(const struct cli *c, struct px_cli_conn *conn)
{
	memset(conn, 0, sizeof(*conn));
	conn->gate = c->p.gate;
	conn->cert_file = c->cert;
	conn->key_file = c->key;
	conn->ca_file = c->ca;
}

/* "3h25m", "2d4h" or "expired" for |secs| left. */
static void left_str(int64_t secs, char *buf, size_t len)
{
	if (secs <= 0)
		snprintf(buf, len, "expired");
	else if (secs >= 86400)
		snprintf(buf, len, "%lldd%lldh", (long long)(secs / 86400), (long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(buf, len, "%lldh%02lldm", (long long)(secs / 3600), (long long)(secs % 3600 / 60));
	else
		snprintf(buf, len, "%lldm%02llds", (long long)(secs / 60), (long long)(secs % 60));
}

static void time_str(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The notAfter of the certificate in |path|, and its CN into |cn|. */
static int cert_read(const char *path, int64_t *not_after, char *cn, size_t cnlen, X509 **keep, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot read the certificate %s: %s", path, strerror(errno));
		return -1;
	}
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		snprintf(err, errlen, "%s is not a PEM certificate", path);
		return -1;
	}
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		X509_free(x);
		snprintf(err, errlen, "%s has an unreadable expiry", path);
		return -1;
	}
	*not_after = (int64_t)timegm(&tm);
	if (cn != NULL) {
		cn[0] = '\0';
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)cnlen);
	}
	if (keep != NULL)
		*keep = x;
	else
		X509_free(x);
	return 0;
}

/*
 * Calls the gate and reads its JSON answer. Prints the gate's refusal, or
 * why it could not be reached, and returns the exit status to use (1 for a
 * refusal of the request, 2 otherwise); 0 with |*out| (+1 reference) on 200.
 * |version| (may be NULL) receives X-Awsgate-Version.
 */
static int gate_json(const struct cli *c, const char *method, const char *path, json_t *body, json_t **out,
		     char *version, size_t vlen)
{
	struct px_cli_conn conn;
	struct px_cli_reply r;
	char err[1024];
	char *text = NULL;

	cli_conn(c, &conn);
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return PX_EXIT_USAGE;
	int rv = px_cli_gate_call(&conn, method, path, text, &r, err, sizeof(err));
	free(text);
	if (rv < 0) {
		fprintf(stderr, "awsgate: %s\n", err);
		return PX_EXIT_USAGE;
	}
	if (version != NULL)
		snprintf(version, vlen, "%s", r.version);
	if (px_cli_version_check(PACKAGE_VERSION, r.version, err, sizeof(err)) != 0)
		fprintf(stderr, "awsgate: warning: %s\n", err);
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	if (r.status != 200) {
		const char *msg = json_string_value(json_object_get(j, "message"));
		fprintf(stderr, "awsgate: the gate refused (%ld %s): %s\n", r.status, r.error[0] ? r.error : "error",
			msg ? msg : "no message");
		if (r.status == 401)
			fprintf(stderr, "awsgate: log in again with a valid certificate (awsgate login ...)\n");
		long status = r.status;
		json_decref(j);
		px_cli_reply_free(&r);
		return status >= 400 && status < 500 && status != 401 ? PX_EXIT_NO : PX_EXIT_USAGE;
	}
	px_cli_reply_free(&r);
	if (!json_is_object(j)) {
		json_decref(j);
		fprintf(stderr, "awsgate: the gate's answer to %s is not JSON\n", path);
		return PX_EXIT_USAGE;
	}
	*out = j;
	return 0;
}

/* Prints the apps of a /awsgate/v1/apps answer, marking the chosen role. */
static void apps_print(FILE *f, json_t *apps, const struct px_cli_profile *p)
{
	size_t i, k;
	json_t *a, *r;

	if (json_array_size(apps) == 0) {
		fprintf(f, "  (no apps: ask your administrator for a role)\n");
		return;
	}
	json_array_foreach(apps, i, a) {
		const char *name = json_string_value(json_object_get(a, "name"));
		const char *acct = json_string_value(json_object_get(a, "aws_account_id"));
		fprintf(f, "  %s (account %s)\n", name ? name : "?", acct ? acct : "-");
		json_array_foreach(json_object_get(a, "roles"), k, r) {
			const char *rn = json_string_value(json_object_get(r, "name"));
			const char *arn = json_string_value(json_object_get(r, "arn"));
			int chosen = p != NULL && name && arn && strcmp(p->app, name) == 0 && strcmp(p->role, arn) == 0;
			fprintf(f, "    %s %-24s %s\n", chosen ? "*" : " ", rn ? rn : "?", arn ? arn : "?");
		}
	}
}

/* --- login ---------------------------------------------------------------------------- */

static const char login_usage[] =
	"Usage: awsgate login --gate HOST:PORT --cert FILE --key FILE --ca FILE [--profile NAME]\n"
	"\n"
	"Checks the certificate and key, proves them to the gate (GET /awsgate/v1/apps),\n"
	"and writes the profile NAME in ~/.awsgate/ (default: the gate's host name),\n"
	"with copies of the files and throw-away AWS keys for the local proxy.\n"
	"The profile becomes the active one.\n";

/* Copies |src| into the profile directory as |dst| with |mode|. */
static int copy_file(const char *src, const char *dst, unsigned mode, int secret)
{
	char err[512];
	char *data = NULL;
	size_t len = 0;
	int rv = secret ? px_file_read_secret(src, 1u << 20, &data, &len, err, sizeof(err))
			: px_file_read(src, 1u << 20, &data, &len, err, sizeof(err));
	if (rv < 0) {
		fprintf(stderr, "awsgate login: cannot read %s: %s\n", src, err);
		return -1;
	}
	rv = px_file_write(dst, data, len, mode, PX_FILE_REPLACE, err, sizeof(err));
	OPENSSL_cleanse(data, len);
	free(data);
	if (rv < 0) {
		fprintf(stderr, "awsgate login: cannot write %s: %s\n", dst, err);
		return -1;
	}
	return 0;
}

/* The default profile name: the gate's host, made a valid name. */
static void default_name(const char *gate, char *name, size_t len)
{
	size_t k = 0;
	const char *end = strrchr(gate, ':');
	for (const char *p = gate; *p && p != end && k + 1 < len && k < PX_CLI_NAME_MAX; p++) {
		char ch = *p;
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			 ch == '_' || (ch == '.' && k > 0);
		if (ok)
			name[k++] = ch;
	}
	if (k == 0)
		name[k++] = 'g';
	name[k] = '\0';
}

static int cmd_login(struct cli *c, int argc, char **argv)
{
	const char *gate = NULL, *cert = NULL, *key = NULL, *ca = NULL, *profile = c->profile_flag;
	const struct opt opts[] = {
		{"--gate", 1, &gate, NULL}, {"--cert", 1, &cert, NULL}, {"--key", 1, &key, NULL},
		{"--ca", 1, &ca, NULL},     {"--profile", 1, &profile, NULL},
	};
	const char *pos[1];
	int npos;
	char err[1024], name[PX_CLI_NAME_MAX + 1], cn[256], left[64], until[64], version[64] = "";
	int64_t not_after = 0;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	json_t *apps = NULL;
	int rv = PX_EXIT_USAGE;
	int created = 0;
	char dir[PATH_LEN], path[PATH_LEN + 16];

	OPTS_PARSE("login", login_usage, opts, pos, 0, &npos);
	if (gate == NULL || cert == NULL || key == NULL || ca == NULL) {
		fprintf(stderr, "awsgate login: --gate, --cert, --key and --ca are all needed\n%s", login_usage);
		return PX_EXIT_USAGE;
	}
	struct px_cli_profile probe;
	memset(&probe, 0, sizeof(probe));
	snprintf(probe.gate, sizeof(probe.gate), "%s", gate);
	if (profile != NULL && profile[0] != '\0') {
		if (px_cli_name_check(profile) < 0) {
			fprintf(stderr, "awsgate login: '%s' is not a profile name ([A-Za-z0-9._-], at most %d)\n", profile,
				PX_CLI_NAME_MAX);
			return PX_EXIT_USAGE;
		}
		snprintf(name, sizeof(name), "%s", profile);
	} else {
		default_name(gate, name, sizeof(name));
	}

	/* The files, before anything is sent. */
	if (cert_read(cert, &not_after, cn, sizeof(cn), &x, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate login: %s\n", err);
		goto out;
	}
	FILE *kf = fopen(key, "r");
	if (kf == NULL) {
		fprintf(stderr, "awsgate login: cannot read the key %s: %s\n", key, strerror(errno));
		goto out;
	}
	pk = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
	fclose(kf);
	if (pk == NULL) {
		fprintf(stderr, "awsgate login: %s is not a PEM private key (without a passphrase)\n", key);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		fprintf(stderr, "awsgate login: the key %s does not belong to the certificate %s: give the key that "
				"was issued with it\n", key, cert);
		goto out;
	}
	int64_t now = (int64_t)time(NULL);
	left_str(not_after - now, left, sizeof(left));
	time_str(not_after, until, sizeof(until));
	if (not_after <= now) {
		fprintf(stderr, "awsgate login: the certificate %s expired at %s: ask for a new one\n", cert, until);
		goto out;
	}
	if (access(ca, R_OK) != 0) {
		fprintf(stderr, "awsgate login: cannot read the gate CA %s: %s\n", ca, strerror(errno));
		goto out;
	}

	/* Prove them to the gate. */
	struct cli probe_cli;
	memset(&probe_cli, 0, sizeof(probe_cli));
	probe_cli.p = probe;
	snprintf(probe_cli.cert, sizeof(probe_cli.cert), "%s", cert);
	snprintf(probe_cli.key, sizeof(probe_cli.key), "%s", key);
	snprintf(probe_cli.ca, sizeof(probe_cli.ca), "%s", ca);
	{
		struct px_cli_conn conn;
		struct px_cli_reply r;
		cli_conn(&probe_cli, &conn);
		if (px_cli_gate_call(&conn, "GET", "/awsgate/v1/apps", NULL, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "awsgate login: %s\n", err);
			goto out;
		}
		snprintf(version, sizeof(version), "%s", r.version);
		if (px_cli_version_check(PACKAGE_VERSION, r.version, err, sizeof(err)) != 0) {
			fprintf(stderr, "awsgate login: %s\n", err);
			px_cli_reply_free(&r);
			goto out;
		}
		apps = json_loadb(r.body, r.len, 0, NULL);
		if (r.status != 200 || !json_is_object(apps)) {
			const char *msg = json_string_value(json_object_get(apps, "message"));
			fprintf(stderr, "awsgate login: the gate refused the certificate (%ld %s): %s\n", r.status, r.error,
				msg ? msg : "no message");
			rv = r.status == 403 ? PX_EXIT_NO : PX_EXIT_USAGE;
			px_cli_reply_free(&r);
			goto out;
		}
		px_cli_reply_free(&r);
	}

	/* Write the profile: files first, profile.json, then current. */
	if (px_cli_home(c->home, sizeof(c->home), 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate login: %s\n", err);
		goto out;
	}
	px_cli_profile_path(dir, sizeof(dir), c->home, name, NULL);
	if (mkdir(dir, 0700) == 0) {
		created = 1;
	} else if (errno != EEXIST) {
		fprintf(stderr, "awsgate login: cannot create %s: %s\n", dir, strerror(errno));
		goto out;
	}
	chmod(dir, 0700);
	struct px_cli_profile p;
	memset(&p, 0, sizeof(p));
	/* A new login to the same gate keeps the keys (a running `proxy aws`'s
	 * exports stay valid) and the chosen app and role. */
	if (px_cli_profile_load(c->home, name, &p, err, sizeof(err)) < 0 || strcmp(p.gate, gate) != 0) {
		px_cli_profile_wipe(&p);
		if (px_cli_keys_generate(p.access_key_id, p.secret_access_key) < 0) {
			fprintf(stderr, "awsgate login: no randomness for the throw-away keys\n");
			goto out;
		}
	}
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.gate, sizeof(p.gate), "%s", gate);
	const char *user = json_string_value(json_object_get(apps, "user"));
	snprintf(p.user, sizeof(p.user), "%s", user ? user : cn);
	px_cli_profile_path(path, sizeof(path), c->home, name, "client.crt");
	int bad = copy_file(cert, path, 0600, 0) < 0;
	px_cli_profile_path(path, sizeof(path), c->home, name, "client.key");
	bad = bad || copy_file(key, path, 0600, 1) < 0;
	px_cli_profile_path(path, sizeof(path), c->home, name, "gate-ca.crt");
	bad = bad || copy_file(ca, path, 0600, 0) < 0;
	if (bad || px_cli_profile_save(c->home, &p, err, sizeof(err)) < 0) {
		if (!bad)
			fprintf(stderr, "awsgate login: cannot write the profile: %s\n", err);
		px_cli_profile_wipe(&p);
		goto undo;
	}
	snprintf(path, sizeof(path), "%s/current", c->home);
	char cur[PX_CLI_NAME_MAX + 2];
	int n = snprintf(cur, sizeof(cur), "%s\n", name);
	if (px_file_write(path, cur, (size_t)n, 0600, PX_FILE_REPLACE, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate login: cannot write %s: %s\n", path, err);
		px_cli_profile_wipe(&p);
		goto undo;
	}

	printf("Logged in to %s as %s (profile %s, gate version %s).\n", gate, p.user, name, version);
	printf("Certificate valid until %s (%s left).\n", until, left);
	if (not_after - now < 15 * 60)
		fprintf(stderr, "awsgate login: warning: under 15 minutes left: the gate cannot assume roles for you "
				"(STS's minimum); ask for a new certificate\n");
	printf("Apps you may use:\n");
	apps_print(stdout, json_object_get(apps, "apps"), &p);
	if (p.app[0])
		printf("Chosen: app %s, role %s.\n", p.app, p.role);
	else
		printf("Choose one with: awsgate apps login APP [--aws-role ROLE]\n");
	px_cli_profile_wipe(&p);
	rv = PX_EXIT_OK;
	goto out;
undo:
	/* A new profile that could not be written whole is not left half-made
	 * (an existing one keeps its earlier, complete, files where the copies
	 * failed: each was replaced atomically or not at all). */
	if (created) {
		for (size_t i = 0; i < sizeof(profile_files) / sizeof(profile_files[0]); i++) {
			px_cli_profile_path(path, sizeof(path), c->home, name, profile_files[i]);
			unlink(path);
		}
		rmdir(dir);
	}
out:
	json_decref(apps);
	EVP_PKEY_free(pk);
	X509_free(x);
	return rv;
}

/* --- logout --------------------------------------------------------------------------- */

static const char logout_usage[] =
	"Usage: awsgate logout [--profile NAME]\n"
	"\n"
	"Removes the profile: its copies of the certificate, key and gate CA, the\n"
	"throw-away AWS keys and the local CA. Programs given its keys stop working.\n";

static int cmd_logout(struct cli *c, int argc, char **argv)
{
	const struct opt opts[] = {{"--profile", 1, &c->profile_flag, NULL}};
	const char *pos[1];
	int npos;
	char err[1024], name[PX_CLI_NAME_MAX + 1], dir[PATH_LEN], path[PATH_LEN + 16];
	struct stat st;

	OPTS_PARSE("logout", logout_usage, opts, pos, 0, &npos);
	if (px_cli_home(c->home, sizeof(c->home), 0, err, sizeof(err)) < 0 ||
	    px_cli_profile_choose(c->home, c->profile_flag, name, sizeof(name), err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate logout: %s\n", err);
		return PX_EXIT_USAGE;
	}
	px_cli_profile_path(dir, sizeof(dir), c->home, name, NULL);
	if (stat(dir, &st) < 0) {
		fprintf(stderr, "awsgate logout: no profile '%s' (%s): nothing to remove\n", name, dir);
		return PX_EXIT_USAGE;
	}
	int failed = 0;
	for (size_t i = 0; i < sizeof(profile_files) / sizeof(profile_files[0]); i++) {
		px_cli_profile_path(path, sizeof(path), c->home, name, profile_files[i]);
		if (unlink(path) == 0) {
			printf("removed %s\n", path);
		} else if (errno != ENOENT) {
			fprintf(stderr, "awsgate logout: cannot remove %s: %s\n", path, strerror(errno));
			failed = 1;
		}
	}
	if (rmdir(dir) == 0) {
		printf("removed %s/\n", dir);
	} else {
		fprintf(stderr, "awsgate logout: %s is not empty (%s): other files there were left alone\n", dir,
			strerror(errno));
	}
	/* current goes only if it names this profile. */
	char *cur = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/current", c->home);
	if (px_file_read(path, 256, &cur, &len, err, sizeof(err)) == 0) {
		while (len > 0 && (cur[len - 1] == '\n' || cur[len - 1] == ' '))
			cur[--len] = '\0';
		if (strcmp(cur, name) == 0 && unlink(path) == 0)
			printf("removed %s\n", path);
		free(cur);
	}
	printf("Logged out of profile %s.\n", name);
	return failed ? PX_EXIT_USAGE : PX_EXIT_OK;
}

/* --- status ----------------------------------------------------------------------------- */

static const char status_usage[] =
	"Usage: awsgate status [--json] [--profile NAME]\n"
	"\n"
	"Who you are, until when, the gate, the chosen app and role, and the gate's\n"
	"version (asked of the gate). When the gate cannot be reached, the local facts\n"
	"are printed with a warning and the exit status is 2.\n";

static int cmd_status(struct cli *c, int argc, char **argv)
{
	int as_json = 0;
	const struct opt opts[] = {{"--profile", 1, &c->profile_flag, NULL}, {"--json", 0, NULL, &as_json}};
	const char *pos[1];
	int npos;
	char err[1024], version[64] = "", until[64] = "", left[64] = "", cn[256] = "";
	int64_t not_after = 0;
	json_t *apps = NULL;

	OPTS_PARSE("status", status_usage, opts, pos, 0, &npos);
	if (cli_load(c) < 0)
		return PX_EXIT_USAGE;
	int64_t now = (int64_t)time(NULL);
	int have_cert = cert_read(c->cert, &not_after, cn, sizeof(cn), NULL, err, sizeof(err)) == 0;
	if (!have_cert)
		fprintf(stderr, "awsgate status: warning: %s\n", err);
	else {
		time_str(not_after, until, sizeof(until));
		left_str(not_after - now, left, sizeof(left));
	}
	int rv = gate_json(c, "GET", "/awsgate/v1/apps", NULL, &apps, version, sizeof(version));
	if (rv != 0)
		fprintf(stderr, "awsgate status: warning: the gate did not answer; the facts below are local\n");
	char vmsg[512] = "";
	int compatible = rv == 0 && px_cli_version_check(PACKAGE_VERSION, version, vmsg, sizeof(vmsg)) == 0;
	if (as_json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:s?,s:s?,s:s?,s:b,s:b,s:s}", "profile", c->p.name, "gate",
				      c->p.gate, "user", c->p.user[0] ? c->p.user : cn, "certificate_expires",
				      have_cert ? until : NULL, "seconds_left", (json_int_t)(have_cert ? not_after - now : 0),
				      "app", c->p.app[0] ? c->p.app : NULL, "role", c->p.role[0] ? c->p.role : NULL,
				      "gate_version", version[0] ? version : NULL, "gate_reachable", rv == 0, "compatible",
				      compatible, "cli_version", PACKAGE_VERSION);
		char *t = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		if (t != NULL)
			printf("%s\n", t);
		free(t);
		json_decref(o);
	} else {
		printf("Profile:     %s\n", c->p.name);
		printf("Gate:        %s (version %s)\n", c->p.gate, version[0] ? version : "unknown: not reachable");
		printf("User:        %s\n", c->p.user[0] ? c->p.user : cn);
		if (have_cert)
			printf("Certificate: valid until %s (%s left)\n", until, left);
		printf("App:         %s\n", c->p.app[0] ? c->p.app : "(none chosen: awsgate apps login APP)");
		printf("Role:        %s\n", c->p.role[0] ? c->p.role : "(none chosen)");
	}
	json_decref(apps);
	if (have_cert && not_after <= now) {
		fprintf(stderr, "awsgate status: the certificate expired: ask for a new one and log in again\n");
		return PX_EXIT_USAGE;
	}
	return rv == 0 ? PX_EXIT_OK : PX_EXIT_USAGE;
}

/* --- apps --------------------------------------------------------------------------------- */

static const char apps_usage[] =
	"Usage: awsgate apps ls [--json]\n"
	"       awsgate apps login APP [--aws-role NAME|ARN]\n"
	"       awsgate apps logout [APP]\n"
	"\n"
	"  ls      the apps you may use, their account IDs and roles; * marks the chosen one\n"
	"  login   choose the app and role that `awsgate aws` and `console` use\n"
	"  logout  forget the choice\n"
	"Options: --profile NAME, --help\n";

static int apps_ls(struct cli *c, int argc, char **argv)
{
	int as_json = 0;
	const struct opt opts[] = {{"--profile", 1, &c->profile_flag, NULL}, {"--json", 0, NULL, &as_json}};
	const char *pos[1];
	int npos;
	json_t *j = NULL;

	OPTS_PARSE("apps ls", apps_usage, opts, pos, 0, &npos);
	if (cli_load(c) < 0)
		return PX_EXIT_USAGE;
	int rv = gate_json(c, "GET", "/awsgate/v1/apps", NULL, &j, NULL, 0);
	if (rv != 0)
		return rv;
	json_t *apps = json_object_get(j, "apps");
	if (as_json) {
		size_t i, k;
		json_t *a, *r;
		json_array_foreach(apps, i, a) {
			const char *name = json_string_value(json_object_get(a, "name"));
			int app_chosen = name && strcmp(c->p.app, name) == 0;
			json_object_set_new(a, "chosen", json_boolean(app_chosen));
			json_array_foreach(json_object_get(a, "roles"), k, r) {
				const char *arn = json_string_value(json_object_get(r, "arn"));
				json_object_set_new(r, "chosen", json_boolean(app_chosen && arn && strcmp(c->p.role, arn) == 0));
			}
		}
		char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (t != NULL)
			printf("%s\n", t);
		free(t);
	} else {
		const char *user = json_string_value(json_object_get(j, "user"));
		printf("Apps for %s at %s:\n", user ? user : "?", c->p.gate);
		apps_print(stdout, apps, &c->p);
	}
	json_decref(j);
	return PX_EXIT_OK;
}

/* Whether role object |r| is what |want| names: its ARN, its name, or the path after role/. */
static int role_matches(json_t *r, const char *want)
{
	const char *arn = json_string_value(json_object_get(r, "arn"));
	const char *name = json_string_value(json_object_get(r, "name"));
	if (arn != NULL && strcmp(arn, want) == 0)
		return 1;
	if (name != NULL && strcmp(name, want) == 0)
		return 1;
	const char *p = arn ? strstr(arn, ":role/") : NULL;
	return p != NULL && strcmp(p + 6, want) == 0;
}

static int apps_login(struct cli *c, int argc, char **argv)
{
	const char *role = NULL;
	const struct opt opts[] = {{"--profile", 1, &c->profile_flag, NULL}, {"--aws-role", 1, &role, NULL}};
	const char *pos[1];
	int npos;
	json_t *j = NULL;
	char err[1024];

	OPTS_PARSE("apps login", apps_usage, opts, pos, 1, &npos);
	if (npos != 1) {
		fprintf(stderr, "awsgate apps login: name the app: awsgate apps login APP [--aws-role ROLE] (awsgate "
				"apps ls lists them)\n");
		return PX_EXIT_USAGE;
	}
	if (cli_load(c) < 0)
		return PX_EXIT_USAGE;
	int rv = gate_json(c, "GET", "/awsgate/v1/apps", NULL, &j, NULL, 0);
	if (rv != 0)
		return rv;
	json_t *apps = json_object_get(j, "apps"), *a, *app = NULL, *r;
	size_t i;
	json_array_foreach(apps, i, a) {
		const char *name = json_string_value(json_object_get(a, "name"));
		if (name != NULL && strcmp(name, pos[0]) == 0)
			app = a;
	}
	rv = PX_EXIT_NO;
	if (app == NULL) {
		fprintf(stderr, "awsgate apps login: no app '%s' for you; yours:\n", pos[0]);
		apps_print(stderr, apps, NULL);
		goto out;
	}
	json_t *roles = json_object_get(app, "roles");
	json_t *match = NULL;
	size_t nmatch = 0;
	json_array_foreach(roles, i, r) {
		if (role == NULL || role_matches(r, role)) {
			match = r;
			nmatch++;
		}
	}
	if (nmatch != 1) {
		if (json_array_size(roles) == 0)
			fprintf(stderr, "awsgate apps login: you have no role in app %s\n", pos[0]);
		else if (role == NULL)
			fprintf(stderr, "awsgate apps login: app %s has several roles for you: choose one with "
					"--aws-role NAME|ARN:\n", pos[0]);
		else if (nmatch == 0)
			fprintf(stderr, "awsgate apps login: no role '%s' for you in app %s; the candidates:\n", role,
				pos[0]);
		else
			fprintf(stderr, "awsgate apps login: '%s' names several roles in app %s: give the ARN:\n", role,
				pos[0]);
		json_array_foreach(roles, i, r)
			if (nmatch == 0 || role == NULL || role_matches(r, role))
				fprintf(stderr, "  %-24s %s\n", json_string_value(json_object_get(r, "name")),
					json_string_value(json_object_get(r, "arn")));
		goto out;
	}
	const char *arn = json_string_value(json_object_get(match, "arn"));
	snprintf(c->p.app, sizeof(c->p.app), "%s", pos[0]);
	snprintf(c->p.role, sizeof(c->p.role), "%s", arn ? arn : "");
	if (px_cli_profile_save(c->home, &c->p, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate apps login: cannot write the profile: %s\n", err);
		rv = PX_EXIT_USAGE;
		goto out;
	}
	printf("Chosen: app %s (account %s), role %s.\n", c->p.app,
	       str_or(json_string_value(json_object_get(app, "aws_account_id")), "-"), c->p.role);
	rv = PX_EXIT_OK;
out:
	json_decref(j);
	return rv;
}

static int apps_logout(struct cli *c, int argc, char **argv)
{
	const struct opt opts[] = {{"--profile", 1, &c->profile_flag, NULL}};
	const char *pos[1];
	int npos;
	char err[1024];

	OPTS_PARSE("apps logout", apps_usage, opts, pos, 1, &npos);
	if (cli_load(c) < 0)
		return PX_EXIT_USAGE;
	if (c->p.app[0] == '\0') {
		printf("No app was chosen.\n");
		return PX_EXIT_OK;
	}
	if (npos == 1 && strcmp(pos[0], c->p.app) != 0) {
		fprintf(stderr, "awsgate apps logout: the chosen app is %s, not %s: nothing changed\n", c->p.app, pos[0]);
		return PX_EXIT_NO;
	}
	char app[256];
	snprintf(app, sizeof(app), "%s", c->p.app);
	c->p.app[0] = '\0';
	c->p.role[0] = '\0';
	if (px_cli_profile_save(c->home, &c->p, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate apps logout: cannot write the profile: %s\n", err);
		return PX_EXIT_USAGE;
	}
	printf("Forgot the choice of app %s.\n", app);
	return PX_EXIT_OK;
}

static int cmd_apps(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		fputs(apps_usage, stderr);
		return PX_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(apps_usage, stdout);
		return PX_EXIT_OK;
	}
	if (strcmp(argv[1], "ls") == 0)
		return apps_ls(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "login") == 0)
		return apps_login(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "logout") == 0)
		return apps_logout(c, argc - 1, argv + 1);
	fprintf(stderr, "awsgate apps: unknown subcommand '%s'\n%s", argv[1], apps_usage);
	return PX_EXIT_USAGE;
}

/* The app and role to send: the arguments, else the profile's choice
 * (its role only when the app is the chosen one). */
static void choice(const struct cli *c, const char *app, const char *role, const char **oa, const char **orole)
{
	*oa = app ? app : (c->p.app[0] ? c->p.app : NULL);
	*orole = role;
	if (role == NULL && c->p.role[0] && (app == NULL || strcmp(app, c->p.app) == 0))
		*orole = c->p.role;
}

/* --- console --------------------------------------------------------------------------------- */

static const char console_usage[] =
	"Usage: awsgate console [APP] [--aws-role NAME|ARN] [--region R] [--destination URL] [--print]\n"
	"       awsgate console --web [--print]\n"
	"\n"
	"Asks the gate for an AWS console sign-in URL as the role and opens it with\n"
	"$BROWSER, else xdg-open. --print prints it instead: the URL signs in whoever\n"
	"holds it for 15 minutes, so it is printed only when asked. --web opens the\n"
	"gate's web UI instead (as awsgate web), to choose there.\n"
	"Options: --profile NAME, --help\n";

static const char web_usage[] =
	"Usage: awsgate web [--print]\n"
	"\n"
	"Signs this browser in to the gate's web UI (apps, roles, console launch)\n"
	"with a one-time link from the gate, opened with $BROWSER, else xdg-open.\n"
	"The link works once, for 60 seconds; --print prints it instead (treat it\n"
	"as a secret until it is used).\n"
	"Options: --profile NAME, --help\n";

/* Opens |url| with $BROWSER (its first entry) or xdg-open, without a shell. */
static int open_browser(const char *url, char *err, size_t errlen)
{
	char prog[1024];
	const char *b = getenv("BROWSER");
	if (b != NULL && b[0] != '\0') {
		size_t n = strcspn(b, ":");
		if (n >= sizeof(prog))
			n = sizeof(prog) - 1;
		memcpy(prog, b, n);
		prog[n] = '\0';
	} else {
		snprintf(prog, sizeof(prog), "xdg-open");
	}
	char *argv[] = {prog, (char *)(uintptr_t)url, NULL};
	pid_t pid;
	int e = posix_spawnp(&pid, prog, NULL, NULL, argv, environ);
	if (e != 0) {
		snprintf(err, errlen, "cannot start %.200s: %s (set BROWSER, or use --print)", prog, strerror(e));
		return -1;
	}
	/* A browser may run on; xdg-open returns at once. Neither is waited for. */
	return 0;
}

static int open_or_print(const char *what, const char *url, int print);

/* POST /awsgate/v1/web-link, then the link opened or printed (docs/CONSOLE.md). */
static int web_link(struct cli *c, const char *cmd, int print)
{
	json_t *j = NULL;
	if (cli_load(c) < 0)
		return PX_EXIT_USAGE;
	int rv = gate_json(c, "POST", "/awsgate/v1/web-link", NULL, &j, NULL, 0);
	if (rv != 0)
		return rv;
	const char *url = json_string_value(json_object_get(j, "url"));
	if (url == NULL) {
		fprintf(stderr, "awsgate %s: the gate's answer has no URL\n", cmd);
		rv = PX_EXIT_USAGE;
	} else {
		rv = open_or_print(cmd, url, print);
		if (rv == 0 && !print)
			fprintf(stderr, "Opened the gate's web UI as %s; the link works once, for %lld s.\n", c->p.user,
				(long long)json_integer_value(json_object_get(j, "expires_in")));
		/* A bearer token until used: wipe jansson's copy. */
		OPENSSL_cleanse((char *)(uintptr_t)url, strlen(url));
	}
	json_decref(j);
	return rv;
}

static int open_or_print(const char *what, const char *url, int print)
{
	char err[1024];
	if (print) {
		printf("%s\n", url);
		return fflush(stdout) == 0 ? PX_EXIT_OK : PX_EXIT_USAGE;
	}
	if (open_browser(url, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate %s: %s\n", what, err);
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

static int cmd_web(struct cli *c, int argc, char **argv)
{
	int print = 0;
	const struct opt opts[] = {{"--profile", 1, &c->profile_flag, NULL}, {"--print", 0, NULL, &print}};
	const char *pos[1];
	int npos;
	OPTS_PARSE("web", web_usage, opts, pos, 0, &npos);
	return web_link(c, "web", print);
}

static int cmd_console(struct cli *c, int argc, char **argv)
{
	const char *role = NULL, *region = NULL, *dest = NULL;
	int print = 0, web = 0;
	const struct opt opts[] = {
		{"--profile", 1, &c->profile_flag, NULL}, {"--aws-role", 1, &role, NULL}, {"--region", 1, &region, NULL},
		{"--destination", 1, &dest, NULL},        {"--print", 0, NULL, &print},  {"--web", 0, NULL, &web},
	};
	const char *pos[1] = {NULL};
	int npos;
	json_t *j = NULL;
	char err[1024];

	OPTS_PARSE("console", console_usage, opts, pos, 1, &npos);
	if (web) {
		if (pos[0] != NULL || role != NULL || region != NULL || dest != NULL) {
			fprintf(stderr, "awsgate console: --web signs in to the gate's web UI, where you choose the app, "
					"role and region; drop the other arguments\n");
			return PX_EXIT_USAGE;
		}
		return web_link(c, "console", print);
	}
	if (cli_load(c) < 0)
		return PX_EXIT_USAGE;
	const char *app, *r;
	choice(c, pos[0], role, &app, &r);
	json_t *body = json_pack("{s:s?,s:s?,s:s?,s:s?}", "app", app, "role", r, "region", region, "destination", dest);
	int rv = gate_json(c, "POST", "/awsgate/v1/console", body, &j, NULL, 0);
	json_decref(body);
	if (rv != 0)
		return rv;
	const char *url = json_string_value(json_object_get(j, "url"));
	const char *arn = json_string_value(json_object_get(j, "role_arn"));
	json_int_t secs = json_integer_value(json_object_get(j, "session_duration"));
	if (url == NULL) {
		fprintf(stderr, "awsgate console: the gate's answer has no URL\n");
		rv = PX_EXIT_USAGE;
	} else if (print) {
		printf("%s\n", url);
	} else if (open_browser(url, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate console: %s\n", err);
		rv = PX_EXIT_USAGE;
	} else {
		fprintf(stderr, "Opened the AWS console as %s (app %s); the session lasts %lld s.\n", arn ? arn : "?",
			str_or(json_string_value(json_object_get(j, "app")), "?"), (long long)secs);
	}
	/* The URL is a bearer token: wipe jansson's copy. */
	if (url != NULL)
		OPENSSL_cleanse((char *)(uintptr_t)url, strlen(url));
	json_decref(j);
	return rv;
}

/* --- presign ----------------------------------------------------------------------------------- */

static const char presign_usage[] =
	"Usage: awsgate presign URL [APP] [--method GET] [--expires 15m] [--aws-role NAME|ARN]\n"
	"\n"
	"Prints URL presigned by the gate with the role's credentials (SigV4 query\n"
	"authentication): anyone holding the result can make that one call until it\n"
	"expires. --expires: a duration (90s, 15m, 1h), at most 7 days, capped by your\n"
	"certificate.\n"
	"Options: --profile NAME, --help\n";

static int cmd_presign(struct cli *c, int argc, char **argv)
{
	const char *method = "GET", *expires = NULL, *role = NULL;
	const struct opt opts[] = {
		{"--profile", 1, &c->profile_flag, NULL},
		{"--method", 1, &method, NULL},
		{"--expires", 1, &expires, NULL},
		{"--aws-role", 1, &role, NULL},
	};
	const char *pos[2] = {NULL, NULL};
	int npos;
	json_t *j = NULL;
	uint32_t secs = 0;

	OPTS_PARSE("presign", presign_usage, opts, pos, 2, &npos);
	if (npos < 1) {
		fprintf(stderr, "awsgate presign: the URL is missing\n%s", presign_usage);
		return PX_EXIT_USAGE;
	}
	if (expires != NULL && (px_duration_parse(expires, &secs) < 0 || secs == 0)) {
		fprintf(stderr, "awsgate presign: --expires '%s' is not a duration (90s, 15m, 1h30m)\n", expires);
		return PX_EXIT_USAGE;
	}
	if (cli_load(c) < 0)
		return PX_EXIT_USAGE;
	const char *app, *r;
	choice(c, pos[1], role, &app, &r);
	json_t *body = json_pack("{s:s,s:s,s:s?,s:s?}", "url", pos[0], "method", method, "app", app, "role", r);
	if (body != NULL && expires != NULL)
		json_object_set_new(body, "expires", json_integer((json_int_t)secs));
	int rv = gate_json(c, "POST", "/awsgate/v1/presign", body, &j, NULL, 0);
	json_decref(body);
	if (rv != 0)
		return rv;
	const char *url = json_string_value(json_object_get(j, "url"));
	if (url == NULL) {
		fprintf(stderr, "awsgate presign: the gate's answer has no URL\n");
		rv = PX_EXIT_USAGE;
	} else {
		printf("%s\n", url);
		if (json_is_true(json_object_get(j, "capped")))
			fprintf(stderr, "awsgate presign: note: the lifetime was capped to %lld s (your certificate or "
					"the role's credentials end sooner)\n",
				(long long)json_integer_value(json_object_get(j, "expires_in")));
	}
	json_decref(j);
	return rv;
}

/* --- aws and proxy aws -------------------------------------------------------------------------- */

int px_cli_aws_special(const char *profile_flag, int argc, char *const *argv)
{
	struct px_cli_special sp;
	struct cli c;
	char err[1024];
	json_t *j = NULL;

	int kind = px_cli_special_parse(argc, argv, environ, &sp, err, sizeof(err));
	if (kind == PX_CLI_SPECIAL_NONE)
		return -1;
	if (kind < 0) {
		fprintf(stderr, "%s\n", err);
		return PX_EXIT_USAGE;
	}
	memset(&c, 0, sizeof(c));
	c.profile_flag = profile_flag;
	if (cli_load(&c) < 0)
		return PX_EXIT_USAGE;
	const char *app, *r;
	choice(&c, NULL, NULL, &app, &r);
	json_t *body = json_pack("{s:s,s:s,s:I,s:s?,s:s?}", "url", sp.url, "method", "GET", "expires",
				 (json_int_t)sp.expires, "app", app, "role", r);
	if (body != NULL && sp.service[0]) {
		json_object_set_new(body, "service", json_string(sp.service));
		json_object_set_new(body, "region", json_string(sp.region));
	}
	if (body != NULL && sp.header_name[0])
		json_object_set_new(body, "headers", json_pack("{s:s}", sp.header_name, sp.header_value));
	int rv = gate_json(&c, "POST", "/awsgate/v1/presign", body, &j, NULL, 0);
	json_decref(body);
	if (rv == 0) {
		const char *url = json_string_value(json_object_get(j, "url"));
		if (url == NULL || px_cli_special_print(stdout, &sp, url, (int64_t)time(NULL)) < 0) {
			fprintf(stderr, "awsgate aws: the gate's presign answer has no URL\n");
			rv = PX_EXIT_USAGE;
		} else if (json_is_true(json_object_get(j, "capped"))) {
			fprintf(stderr, "awsgate: note: the URL expires in %lld s, not %u: the role's credentials or your "
					"certificate end sooner\n",
				(long long)json_integer_value(json_object_get(j, "expires_in")), (unsigned)sp.expires);
		}
	}
	json_decref(j);
	cli_free(&c);
	return rv;
}

/* --- the local proxy (proxy/lproxy.h) ----------------------------------------------- */

/* The local proxy of `aws` and `proxy aws`, made from the active profile. */
struct lp {
	struct px_cli_session s;
	struct px_lproxy *lp;
	pthread_t thread;
	int started;
	int result;
};

static void lp_log(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "awsgate: %s\n", msg);
}

/* The proxy's own environment: the user's own proxy for tunnelled hosts,
 * read before the child's HTTPS_PROXY points at us. */
static const char *env_first(const char *a, const char *b)
{
	const char *v = getenv(a);
	if (v == NULL || *v == '\0')
		v = getenv(b);
	return v != NULL && *v != '\0' ? v : NULL;
}

#define PX_CLI_MAX_GATE_CONNECT_TIMEOUT 300U /* seconds */

/* AWSGATE_GATE_CONNECT_TIMEOUT (a duration, 1 s to 300 s): how long the
 * local proxy waits for the gate's name, TCP and TLS; unset: 10 s. Prints
 * why not and returns -1. */
static int gate_connect_timeout(uint32_t *ms)
{
	const char *v = getenv("AWSGATE_GATE_CONNECT_TIMEOUT");
	uint32_t secs;

	if (v == NULL || *v == '\0')
		return 0;
	if (px_duration_parse(v, &secs) != 0 || secs < 1 || secs > PX_CLI_MAX_GATE_CONNECT_TIMEOUT) {
		fprintf(stderr,
		        "awsgate: AWSGATE_GATE_CONNECT_TIMEOUT=\"%s\" is not a duration of 1s to %us (e.g. 5s); unset it for "
		        "the default 10s\n",
		        v, PX_CLI_MAX_GATE_CONNECT_TIMEOUT);
		return -1;
	}
	*ms = secs * 1000;
	return 0;
}

/* Loads the profile, makes sure of its local CA, and binds the proxy to
 * 127.0.0.1:|port| (0: any). Prints why not and returns -1. */
static int lp_open(const struct cli *c, uint16_t port, struct lp *lp)
{
	char err[1024];
	struct px_lproxy_config cfg;

	memset(lp, 0, sizeof(*lp));
	if (px_cli_session_load(c->profile_flag, &lp->s, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate: %s\n", err);
		return -1;
	}
	if (px_lproxy_ca_ensure(lp->s.dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate: %s\n", err);
		px_cli_session_wipe(&lp->s);
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	px_cli_session_lproxy(&lp->s, &cfg);
	if (gate_connect_timeout(&cfg.gate_connect_timeout_ms) < 0) {
		px_cli_session_wipe(&lp->s);
		return -1;
	}
	cfg.port = port;
	cfg.upstream_proxy = env_first("HTTPS_PROXY", "https_proxy");
	cfg.no_proxy = env_first("NO_PROXY", "no_proxy");
	cfg.log = lp_log;
	if (px_lproxy_new(&cfg, &lp->lp, err, sizeof(err)) < 0) {
		fprintf(stderr, "awsgate: %s\n", err);
		px_cli_session_wipe(&lp->s);
		return -1;
	}
	return 0;
}

static void lp_awsenv(const struct lp *lp, struct px_cli_awsenv *e)
{
	px_cli_session_awsenv(&lp->s, px_lproxy_port(lp->lp), e);
}

static void *lp_thread(void *arg)
{
	struct lp *lp = arg;
	lp->result = px_lproxy_run(lp->lp);
	return NULL;
}

/* Runs the proxy on a thread of its own, with the signals that
 * px_cli_spawn() forwards to the child blocked there. */
static int lp_start(struct lp *lp)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int rv = pthread_create(&lp->thread, NULL, lp_thread, lp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv != 0) {
		fprintf(stderr, "awsgate: cannot start the local proxy's thread: %s\n", strerror(rv));
		return -1;
	}
	lp->started = 1;
	return 0;
}

/* Stops and joins the proxy's thread: 0, or -1 when it had stopped on its
 * own (it said why). */
static int lp_stop(struct lp *lp)
{
	if (!lp->started)
		return 0;
	px_lproxy_stop(lp->lp);
	pthread_join(lp->thread, NULL);
	lp->started = 0;
	return lp->result == 0 ? 0 : -1;
}

static void lp_close(struct lp *lp)
{
	lp_stop(lp);
	px_lproxy_del(lp->lp);
	lp->lp = NULL;
	px_cli_session_wipe(&lp->s);
}

static const char aws_usage[] =
	"Usage: awsgate aws ARGS...\n"
	"       awsgate aws --exec CMD ARGS...\n"
	"\n"
	"Runs the AWS CLI ($AWSGATE_AWS_CLI, else aws from PATH), or CMD, through a\n"
	"local proxy to the gate, as the chosen app and role. Returns the child's exit\n"
	"status, 125 when it cannot be started. `aws s3 presign`, `aws eks get-token`\n"
	"and `aws rds generate-db-auth-token` are answered by the gate's presign\n"
	"endpoint. --profile and --endpoint-url are refused in ARGS.\n"
	"AWSGATE_GATE_CONNECT_TIMEOUT (1s to 300s, default 10s) bounds the lookup of\n"
	"the gate's name, the TCP connect and the TLS handshake.\n";

static int cmd_aws(struct cli *c, int argc, char **argv)
{
	char err[1024];

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(aws_usage, stdout);
		return PX_EXIT_OK;
	}
	int exec = argc >= 2 && strcmp(argv[1], "--exec") == 0;
	if (!exec) {
		if (px_cli_aws_args_check(argc - 1, argv + 1, err, sizeof(err)) < 0) {
			fprintf(stderr, "awsgate aws: %s\n", err);
			return PX_EXIT_USAGE;
		}
		int rv = px_cli_aws_special(c->profile_flag, argc - 1, argv + 1);
		if (rv >= 0)
			return rv;
	}
	struct lp lp;
	if (lp_open(c, 0, &lp) < 0)
		return PX_EXIT_NOSTART;
	int rv = PX_EXIT_NOSTART;
	char **env = NULL;
	struct px_cli_awsenv e;
	lp_awsenv(&lp, &e);
	if (px_cli_aws_env(environ, &e, &env) < 0) {
		fprintf(stderr, "awsgate aws: out of memory, or too many environment variables (at most %d)\n",
			PX_CLI_ENV_MAX);
	} else if (lp_start(&lp) == 0) {
		char **child, prog[PATH_LEN];
		if (exec) {
			child = argv + 2;
		} else {
			/* argv[0] ("aws") becomes the AWS CLI's name; argv stays NULL-terminated. */
			snprintf(prog, sizeof(prog), "%s", px_cli_aws_program());
			argv[0] = prog;
			child = argv;
		}
		if (child[0] == NULL) {
			fprintf(stderr, "awsgate aws: --exec needs a command (awsgate aws --exec terraform plan)\n");
			rv = PX_EXIT_USAGE;
		} else {
			rv = px_cli_spawn(child, env, err, sizeof(err));
			if (rv == PX_EXIT_NOSTART)
				fprintf(stderr, "awsgate aws: %s\n", err);
		}
		if (lp_stop(&lp) != 0 && rv == 0)
			rv = PX_EXIT_NO;
	}
	px_cli_env_free(env);
	lp_close(&lp);
	return rv;
}

static const char proxy_usage[] =
	"Usage: awsgate proxy aws [-p PORT] [--format env|json]\n"
	"\n"
	"Runs the local proxy until interrupted and prints the variables that point\n"
	"AWS SDKs at it: eval \"$(awsgate proxy aws --format env)\" in another shell.\n"
	"AWSGATE_GATE_CONNECT_TIMEOUT (1s to 300s, default 10s) bounds the lookup of\n"
	"the gate's name, the TCP connect and the TLS handshake.\n";

static struct px_lproxy *volatile proxy_running;

static void proxy_on_signal(int sig)
{
	(void)sig;
	if (proxy_running != NULL)
		px_lproxy_stop(proxy_running);
}

static int cmd_proxy(struct cli *c, int argc, char **argv)
{
	const char *port_s = NULL, *format = "env";
	const char *pos[1];
	int npos, iport = 0;
	struct opt opts[] = {
		{"-p", 1, &port_s, NULL}, {"--port", 1, &port_s, NULL}, {"--format", 1, &format, NULL},
		{"--profile", 1, &c->profile_flag, NULL},
	};
	OPTS_PARSE("proxy", proxy_usage, opts, pos, 1, &npos);
	if (npos != 1 || strcmp(pos[0], "aws") != 0) {
		fprintf(stderr, "awsgate proxy: say which: awsgate proxy aws [-p PORT] [--format env|json]\n");
		return PX_EXIT_USAGE;
	}
	if (strcmp(format, "env") != 0 && strcmp(format, "json") != 0) {
		fprintf(stderr, "awsgate proxy aws: --format is env or json, not '%s'\n", format);
		return PX_EXIT_USAGE;
	}
	if (port_s != NULL) {
		char *end;
		long v = strtol(port_s, &end, 10);
		if (*port_s == '\0' || *end != '\0' || v < 1 || v > 65535) {
			fprintf(stderr, "awsgate proxy aws: -p takes a port number (1-65535), not '%s'\n", port_s);
			return PX_EXIT_USAGE;
		}
		iport = (int)v;
	}

	struct lp lp;
	if (lp_open(c, (uint16_t)iport, &lp) < 0)
		return PX_EXIT_USAGE;
	struct px_cli_awsenv e;
	lp_awsenv(&lp, &e);
	/* The note first: whoever reads the variables finds it written. */
	fprintf(stderr,
		"awsgate: local proxy on 127.0.0.1:%u for %s in %s%s%s; Ctrl-C stops it.\n"
		"awsgate: in another shell: eval \"$(awsgate proxy aws -p %u)\" (the keys stay valid until awsgate logout)\n",
		(unsigned)px_lproxy_port(lp.lp), lp.s.p.user[0] ? lp.s.p.user : "you",
		lp.s.p.app[0] ? lp.s.p.app : "the only app", lp.s.p.role[0] ? ", role " : "", lp.s.p.role,
		(unsigned)px_lproxy_port(lp.lp));
	if (px_cli_aws_print(stdout, format, environ, &e) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "awsgate proxy aws: cannot print the variables\n");
		lp_close(&lp);
		return PX_EXIT_USAGE;
	}

	struct sigaction sa, old_int, old_term, old_hup;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proxy_on_signal;
	sigemptyset(&sa.sa_mask);
	proxy_running = lp.lp;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	int rv = px_lproxy_run(lp.lp);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	proxy_running = NULL;
	lp_close(&lp);
	if (rv != 0) {
		fprintf(stderr, "awsgate proxy aws: stopped: the gate no longer accepts your certificate; "
				"awsgate login again\n");
		return PX_EXIT_NO;
	}
	return PX_EXIT_OK;
}

/* --- main ---------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: awsgate [--profile NAME] COMMAND [options]\n"
	      "\n"
	      "Commands:\n"
	      "  login       check your certificate with the gate and write a profile\n"
	      "  logout      remove the profile, its keys and its local CA\n"
	      "  status      who you are, until when, the gate, the chosen app and role\n"
	      "  apps ls     the apps and roles you may use\n"
	      "  apps login  choose an app and role; apps logout forgets it\n"
	      "  aws         run the AWS CLI (or --exec CMD) through the gate\n"
	      "  proxy aws   run the local proxy and print the variables for SDKs\n"
	      "  console     open the AWS console as the role (--print: print the URL)\n"
	      "  web         sign this browser in to the gate's web UI (one-time link)\n"
	      "  presign     print a URL presigned by the gate\n"
	      "\n"
	      "Options:\n"
	      "  --profile NAME  use profile NAME (also AWSGATE_PROFILE; default: ~/.awsgate/current)\n"
	      "  --help          show this help (also after any command)\n"
	      "  --version       show the version\n"
	      "\n"
	      "Start with: awsgate login --gate HOST:PORT --cert FILE --key FILE --ca FILE\n",
	      f);
}

int px_cli_main(int argc, char **argv)
{
	struct cli c;
	int i = 1;

	memset(&c, 0, sizeof(c));
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return PX_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("awsgate %s\n", PACKAGE_VERSION);
			return PX_EXIT_OK;
		}
		if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
			c.profile_flag = argv[i + 1];
			i += 2;
			continue;
		}
		if (strncmp(argv[i], "--profile=", 10) == 0) {
			c.profile_flag = argv[i] + 10;
			i++;
			continue;
		}
		fprintf(stderr, "awsgate: unknown option '%s'\n", argv[i]);
		usage(stderr);
		return PX_EXIT_USAGE;
	}
	if (i >= argc) {
		usage(stderr);
		return PX_EXIT_USAGE;
	}
	static const struct {
		const char *name;
		int (*run)(struct cli *c, int argc, char **argv);
	} commands[] = {
		{"login", cmd_login},     {"logout", cmd_logout},   {"status", cmd_status}, {"apps", cmd_apps},
		{"console", cmd_console}, {"presign", cmd_presign}, {"aws", cmd_aws},       {"proxy", cmd_proxy},
		{"web", cmd_web},
	};
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0) {
			int rv = commands[k].run(&c, argc - i, argv + i);
			cli_free(&c);
			return rv;
		}
	fprintf(stderr, "awsgate: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return PX_EXIT_USAGE;
}
