/* SPDX-License-Identifier: Apache-2.0 */
/* ctl_rbac.c: `awsgatectl rbac check|roles` (decisions explained) and `awsgatectl lock add|ls|rm`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "proxy.h"
#include "rbac/rbac.h"

/* --- shared by the commands ---------------------------------------------------- */

/* Prints diagnostics as compilers do: FILE:LINE:COLUMN: error: PATH: message. */
struct diag_sink {
	int errors, warnings;
	int show_warnings;
};

static void diag_print(void *arg, const struct rbac_diag *d)
{
	struct diag_sink *sink = arg;
	int is_err = d->code != 0;

	if (is_err)
		sink->errors++;
	else
		sink->warnings++;
	if (!is_err && !sink->show_warnings)
		return;
	px_diag_print(stderr, d);
}

void px_diag_print(FILE *f, const struct rbac_diag *d)
{
	if (d->file != NULL && d->line > 0)
		fprintf(f, "%s:%d:%d: ", d->file, d->line, d->column);
	else if (d->file != NULL)
		fprintf(f, "%s: ", d->file);
	fprintf(f, "%s: ", d->code != 0 ? "error" : "warning");
	if (d->path[0] != '\0')
		fprintf(f, "%s: ", d->path);
	fprintf(f, "%s\n", d->msg);
}

/* Loads and freezes the policy of |resources| (a directory). Errors
 * are printed; warnings too when |warnings|. */
static int policy_open(const char *resources, int warnings, struct rbac_policy **out)
{
	struct diag_sink sink = {0, 0, warnings};
	struct rbac_policy *pol = rbac_policy_new();
	size_t nfiles;

	if (pol == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		return PX_EXIT_USAGE;
	}
	px_resources_load(pol, resources, diag_print, &sink, &nfiles);
	rbac_policy_freeze(pol, diag_print, &sink);
	if (sink.errors > 0) {
		fprintf(stderr,
			"awsgatectl: %d error%s in the resources in %s: fix %s first (awsgatectl config check shows "
			"everything)\n",
			sink.errors, sink.errors == 1 ? "" : "s", resources, sink.errors == 1 ? "it" : "them");
		rbac_policy_unref(pol);
		return PX_EXIT_USAGE;
	}
	*out = pol;
	return PX_EXIT_OK;
}

/* Adds "k=v" to |id|'s traits (values of one key accumulate). */
static int trait_add(struct rbac_identity *id, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (eq == NULL || eq == kv) {
		fprintf(stderr, "awsgatectl: bad --trait '%s': use NAME=VALUE\n", kv);
		return -1;
	}
	size_t klen = (size_t)(eq - kv);
	struct rbac_trait *t = NULL;
	for (size_t i = 0; i < id->ntraits; i++)
		if (strlen(id->traits[i].name) == klen && memcmp(id->traits[i].name, kv, klen) == 0)
			t = &id->traits[i];
	if (t == NULL) {
		struct rbac_trait *n = realloc(id->traits, (id->ntraits + 1) * sizeof(*n));
		if (n == NULL)
			return -1;
		id->traits = n;
		t = &n[id->ntraits];
		memset(t, 0, sizeof(*t));
		if ((t->name = strndup(kv, klen)) == NULL)
			return -1;
		id->ntraits++;
	}
	char **v = realloc(t->values, (t->nvalues + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	t->values = v;
	if ((v[t->nvalues] = strdup(eq + 1)) == NULL)
		return -1;
	t->nvalues++;
	return 0;
}

/* Splits "a,b,c" into |id|'s roles. */
static int roles_set(struct rbac_identity *id, const char *list)
{
	const char *p = list;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		if (n > 0) {
			char **r = realloc(id->roles, (id->nroles + 1) * sizeof(*r));
			if (r == NULL)
				return -1;
			id->roles = r;
			if ((r[id->nroles] = strndup(p, n)) == NULL)
				return -1;
			id->nroles++;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

/* The options rbac check and rbac roles share. */
struct who {
	const char *resources, *config, *cert, *ca, *app, *role, *time_arg;
	int json;
	struct rbac_identity id;
	int have_roles;
};

static int who_finish(struct who *w, const char *cmd, int64_t *now)
{
	if ((w->resources == NULL) == (w->config == NULL)) {
		fprintf(stderr, "awsgatectl: rbac %s needs one of --config FILE and --resources DIR\n", cmd);
		return -1;
	}
	if ((w->cert == NULL) == (w->id.user == NULL)) {
		fprintf(stderr, "awsgatectl: rbac %s needs one of --cert FILE and --user NAME\n", cmd);
		return -1;
	}
	if (w->cert != NULL && (w->have_roles || w->id.ntraits > 0)) {
		fprintf(stderr, "awsgatectl: rbac %s: --roles and --trait go with --user; a certificate carries its own\n",
			cmd);
		return -1;
	}
	if (w->app == NULL) {
		fprintf(stderr, "awsgatectl: rbac %s needs --app NAME\n", cmd);
		return -1;
	}
	/* --roles or --trait stand for what a certificate would carry;
	 * without them the user resource gives both. */
	if (w->cert == NULL)
		w->id.from_extension = w->have_roles || w->id.ntraits > 0;
	if (w->time_arg != NULL) {
		if (px_time_parse(w->time_arg, now) != 0) {
			fprintf(stderr, "awsgatectl: bad --time '%s': use 2026-11-22T12:00:00Z or seconds since the epoch\n",
				w->time_arg);
			return -1;
		}
	} else {
		*now = (int64_t)time(NULL);
	}
	return 0;
}

enum {
	OPT_CONFIG = 1000,
	OPT_RESOURCES,
	OPT_CERT,
	OPT_CA,
	OPT_USER,
	OPT_ROLES,
	OPT_TRAIT,
	OPT_APP,
	OPT_AWS_ROLE,
	OPT_TIME,
	OPT_JSON,
	OPT_HELP,
	OPT_ROLE,
	OPT_TTL,
	OPT_MESSAGE,
	OPT_NAME,
};

static const struct option who_opts[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"resources", required_argument, NULL, OPT_RESOURCES},
	{"cert", required_argument, NULL, OPT_CERT},
	{"ca", required_argument, NULL, OPT_CA},
	{"user", required_argument, NULL, OPT_USER},
	{"roles", required_argument, NULL, OPT_ROLES},
	{"trait", required_argument, NULL, OPT_TRAIT},
	{"app", required_argument, NULL, OPT_APP},
	{"aws-role", required_argument, NULL, OPT_AWS_ROLE},
	{"time", required_argument, NULL, OPT_TIME},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static void check_usage(FILE *f)
{
	fputs("Usage: awsgatectl rbac check (--config FILE | --resources DIR)\n"
	      "                             (--cert FILE [--ca FILE] | --user NAME [--roles a,b] [--trait k=v ...])\n"
	      "                             --app NAME --aws-role ARN|NAME [--time T] [--json]\n"
	      "       awsgatectl rbac roles (--config FILE | --resources DIR) (--cert FILE | --user NAME ...)\n"
	      "                             --app NAME [--time T] [--json]\n"
	      "\n"
	      "check decides whether the identity may use the AWS role in the app, and says which role and\n"
	      "which rule allowed or denied it. roles lists the role ARNs the identity may use in the app.\n"
	      "\n"
	      "  --config FILE     the daemon file (its resources_dir and inline apps)\n"
	      "  --resources DIR   a resources directory, instead of --config\n"
	      "  --cert FILE       the identity of a client certificate (PEM)\n"
	      "  --ca FILE         the identity CA whose extension is trusted (default: the daemon file's)\n"
	      "  --user NAME       an identity by name: roles and traits from its user resource, or from\n"
	      "  --roles a,b       ... these roles and\n"
	      "  --trait k=v       ... these traits, as a certificate of the identity CA would carry them\n"
	      "  --app NAME        the app\n"
	      "  --aws-role R      a full role ARN, or a name (last path segment, or the path after role/)\n"
	      "  --time T          decide at this time (2026-11-22T12:00:00Z or epoch seconds), not now\n"
	      "  --json            print the decision as JSON (docs/CLI.md)\n"
	      "\n"
	      "Exit status: 0 allowed (or listed), 1 denied, 2 usage or configuration errors.\n",
	      f);
}

/* Parses the shared options; returns -1 to exit with *status. */
static int who_parse(int argc, char **argv, struct who *w, int *status)
{
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", who_opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG: w->config = optarg; break;
		case OPT_RESOURCES: w->resources = optarg; break;
		case OPT_CERT: w->cert = optarg; break;
		case OPT_CA: w->ca = optarg; break;
		case OPT_USER:
			free(w->id.user);
			if ((w->id.user = strdup(optarg)) == NULL)
				goto nomem;
			break;
		case OPT_ROLES:
			w->have_roles = 1;
			if (roles_set(&w->id, optarg) != 0)
				goto nomem;
			break;
		case OPT_TRAIT:
			if (trait_add(&w->id, optarg) != 0) {
				*status = PX_EXIT_USAGE;
				return -1;
			}
			break;
		case OPT_APP: w->app = optarg; break;
		case OPT_AWS_ROLE: w->role = optarg; break;
		case OPT_TIME: w->time_arg = optarg; break;
		case OPT_JSON: w->json = 1; break;
		case OPT_HELP:
			check_usage(stdout);
			*status = PX_EXIT_OK;
			return -1;
		default:
			if (optopt != 0)
				fprintf(stderr, "awsgatectl: option '%s' needs a value\n", argv[optind - 1]);
			else
				fprintf(stderr, "awsgatectl: unknown option '%s'\n", argv[optind - 1]);
			fputs("Try 'awsgatectl rbac check --help'.\n", stderr);
			*status = PX_EXIT_USAGE;
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "awsgatectl: unexpected argument '%s'\nTry 'awsgatectl rbac check --help'.\n",
			argv[optind]);
		*status = PX_EXIT_USAGE;
		return -1;
	}
	return 0;
nomem:
	fputs("awsgatectl: out of memory\n", stderr);
	*status = PX_EXIT_USAGE;
	return -1;
}

static void json_put_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v != NULL ? json_string(v) : json_null());
}

static void json_print(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s != NULL)
		puts(s);
	free(s);
	json_decref(o);
}

/* Reads the first certificate of the PEM file |path|, or NULL (printed). */
static X509 *pem_cert(const char *path, const char *what)
{
	char *text = NULL, err[256];
	size_t len;
	X509 *x = NULL;

	if (px_file_read(path, 1 << 20, &text, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "awsgatectl: cannot read %s %s: %s\n", what, path, err);
		return NULL;
	}
	BIO *b = BIO_new_mem_buf(text, (int)len);
	if (b != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	free(text);
	if (x == NULL)
		fprintf(stderr, "awsgatectl: %s %s holds no PEM certificate\n", what, path);
	return x;
}

/* Loads the policy of --resources DIR or --config FILE; with --config,
 * also its identity CA file for --cert. */
static int who_policy(struct who *w, struct rbac_policy **pol, char **identity_ca)
{
	if (w->resources != NULL)
		return policy_open(w->resources, 0, pol);

	char *text = NULL, err[256];
	size_t len;
	struct px_diags diags;
	struct px_config *cfg = NULL;
	int st = PX_EXIT_USAGE;

	if (px_file_read(w->config, PX_CONFIG_MAX_BYTES, &text, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "awsgatectl: cannot read the daemon file %s: %s\n", w->config, err);
		return PX_EXIT_USAGE;
	}
	px_diags_init(&diags, w->config);
	if (px_config_load(w->config, text, len, 0, &cfg, &diags) == 0 && cfg != NULL) {
		struct diag_sink sink = {0, 0, 0};
		px_policy_load(cfg, w->config, text, len, 1, diag_print, &sink, pol);
		if (sink.errors == 0 && *pol != NULL) {
			st = PX_EXIT_OK;
			if (cfg->tls.identity_ca_file != NULL && (*identity_ca = strdup(cfg->tls.identity_ca_file)) == NULL)
				st = PX_EXIT_USAGE;
		} else {
			fprintf(stderr, "awsgatectl: the resources of %s have errors: awsgatectl config check %s shows them\n",
				w->config, w->config);
			rbac_policy_unref(*pol);
			*pol = NULL;
		}
	} else {
		px_diags_print(&diags, stderr);
		fprintf(stderr, "awsgatectl: %s has errors: awsgatectl config check %s shows them all\n", w->config,
			w->config);
	}
	px_config_unref(cfg);
	px_diags_free(&diags);
	free(text);
	return st;
}

/* Reads the identity of --cert, trusting its extension only from the
 * identity CA (--ca, else the daemon file's tls.identity_ca_file). */
static int who_cert(struct who *w, const char *identity_ca)
{
	const char *ca_path = w->ca != NULL ? w->ca : identity_ca;
	X509 *cert = pem_cert(w->cert, "certificate"), *ca = NULL;
	struct rbac_diag d = {0};
	int st = PX_EXIT_USAGE;

	if (cert == NULL)
		return PX_EXIT_USAGE;
	if (ca_path != NULL && (ca = pem_cert(ca_path, "identity CA")) == NULL)
		goto out;
	if (rbac_identity_from_cert(cert, ca, &w->id, &d) != 0) {
		fprintf(stderr, "awsgatectl: no identity in %s: %s\n", w->cert, d.msg);
		goto out;
	}
	if (w->id.extension_ignored)
		fprintf(stderr,
			"awsgatectl: %s carries an identity extension from a CA that is not the identity CA%s; its roles "
			"and traits are ignored\n",
			w->cert, ca_path ? "" : " (none is configured: --ca FILE)");
	st = PX_EXIT_OK;
out:
	X509_free(cert);
	X509_free(ca);
	return st;
}

/* Opens everything a decision needs. */
static int who_open(struct who *w, const char *cmd, int64_t *now, struct rbac_policy **pol,
		    struct rbac_subject **subj, const struct rbac_app **app)
{
	struct diag_sink sink = {0, 0, 1};
	char *identity_ca = NULL;
	int st;

	if (who_finish(w, cmd, now) != 0)
		return PX_EXIT_USAGE;
	st = who_policy(w, pol, &identity_ca);
	if (st == PX_EXIT_OK && w->cert != NULL)
		st = who_cert(w, identity_ca);
	free(identity_ca);
	if (st != PX_EXIT_OK)
		return st;
	const char *where = w->resources != NULL ? w->resources : w->config;
	*app = rbac_policy_app(*pol, w->app, strlen(w->app));
	if (*app == NULL) {
		fprintf(stderr, "awsgatectl: no app \"%s\" in %s", w->app, where);
		const struct rbac_app *a;
		for (size_t i = 0; (a = rbac_policy_app_at(*pol, i)) != NULL; i++) {
			struct rbac_app_info ai;
			rbac_app_info(a, &ai);
			fprintf(stderr, "%s%s", i ? ", " : "; the apps are: ", ai.name);
		}
		fputc('\n', stderr);
		return PX_EXIT_USAGE;
	}
	if (rbac_subject_new(*pol, &w->id, subj, diag_print, &sink) != 0) {
		fprintf(stderr, "awsgatectl: cannot evaluate the roles of user \"%s\" (see above)\n", w->id.user);
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

static int rbac_check(int argc, char **argv)
{
	struct who w = {0};
	struct rbac_policy *pol = NULL;
	struct rbac_subject *subj = NULL;
	const struct rbac_app *app = NULL;
	int64_t now;
	int st = PX_EXIT_USAGE;

	if (who_parse(argc, argv, &w, &st) != 0)
		goto out;
	if (w.role == NULL && (w.id.user != NULL || w.cert != NULL)) {
		fputs("awsgatectl: rbac check needs --aws-role ARN|NAME\n", stderr);
		goto out;
	}
	if ((st = who_open(&w, "check", &now, &pol, &subj, &app)) != PX_EXIT_OK)
		goto out;

	const char *arn = NULL;
	struct rbac_diag cd;
	int rv = rbac_subject_choose(subj, app, w.role, now, &arn, &cd);
	if (rv != 0) {
		/* An ambiguous name is a question back, not an answer. */
		fprintf(stderr, "awsgatectl: %s\n", cd.msg);
		st = rv == RBAC_ERR_AMBIGUOUS ? PX_EXIT_USAGE : PX_EXIT_NO;
		if (w.json && rv != RBAC_ERR_AMBIGUOUS) {
			json_t *o = json_object();
			json_object_set_new(o, "allow", json_false());
			json_put_str(o, "reason", "no-such-role");
			json_put_str(o, "user", w.id.user);
			json_put_str(o, "app", w.app);
			json_put_str(o, "aws_role", w.role);
			json_put_str(o, "explanation", cd.msg);
			json_print(o);
		}
		goto out;
	}
	struct rbac_decision d;
	char why[1024];
	rbac_decide(subj, app, arn, strlen(arn), now, &d);
	rbac_decision_explain(&d, subj, app, arn, why, sizeof(why));
	if (w.json) {
		json_t *o = json_object();
		json_object_set_new(o, "allow", json_boolean(d.allow));
		json_put_str(o, "reason", rbac_reason_str(d.reason));
		json_put_str(o, "user", rbac_subject_user(subj));
		json_put_str(o, "app", w.app);
		json_put_str(o, "arn", arn);
		json_put_str(o, "role", d.role);
		json_put_str(o, "rule", d.rule);
		json_put_str(o, "pattern", d.pattern);
		json_put_str(o, "lock", d.lock);
		json_put_str(o, "message", d.message);
		json_object_set_new(o, "session_ttl", json_integer(d.session_ttl));
		json_put_str(o, "explanation", why);
		json_print(o);
	} else {
		puts(why);
	}
	st = d.allow ? PX_EXIT_OK : PX_EXIT_NO;
out:
	rbac_subject_del(subj);
	rbac_policy_unref(pol);
	rbac_identity_free(&w.id);
	return st;
}

static int rbac_roles(int argc, char **argv)
{
	struct who w = {0};
	struct rbac_policy *pol = NULL;
	struct rbac_subject *subj = NULL;
	const struct rbac_app *app = NULL;
	struct rbac_role_choice *c = NULL;
	int64_t now;
	size_t n = 0;
	int st = PX_EXIT_USAGE;

	if (who_parse(argc, argv, &w, &st) != 0)
		goto out;
	if (w.role != NULL) {
		fputs("awsgatectl: rbac roles lists every role: leave out --aws-role\n", stderr);
		goto out;
	}
	if ((st = who_open(&w, "roles", &now, &pol, &subj, &app)) != PX_EXIT_OK)
		goto out;
	st = PX_EXIT_USAGE;
	if (rbac_subject_roles(subj, app, now, NULL, 0, &n) != 0 || (c = calloc(n + 1, sizeof(*c))) == NULL ||
	    rbac_subject_roles(subj, app, now, c, n, &n) != 0) {
		fputs("awsgatectl: out of memory\n", stderr);
		goto out;
	}
	if (w.json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			json_put_str(o, "arn", c[i].arn);
			json_put_str(o, "name", c[i].name);
			json_put_str(o, "path", c[i].path);
			json_put_str(o, "account", c[i].account);
			json_object_set_new(o, "session_ttl", json_integer(c[i].session_ttl));
			json_array_append_new(a, o);
		}
		json_print(a);
	} else if (n == 0) {
		fprintf(stderr, "awsgatectl: user \"%s\" may use no role of app \"%s\" (awsgatectl rbac check --aws-role "
				"ARN says why for one ARN)\n",
			rbac_subject_user(subj), w.app);
	} else {
		printf("%-12s  %-24s  %-12s  %s\n", "ACCOUNT", "NAME", "PATH", "ARN");
		for (size_t i = 0; i < n; i++)
			printf("%-12s  %-24s  %-12s  %s\n", c[i].account, c[i].name, c[i].path, c[i].arn);
	}
	st = PX_EXIT_OK;
out:
	free(c);
	rbac_subject_del(subj);
	rbac_policy_unref(pol);
	rbac_identity_free(&w.id);
	return st;
}

int px_ctl_rbac(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return rbac_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "roles") == 0)
		return rbac_roles(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		check_usage(stdout);
		return PX_EXIT_OK;
	}
	if (argc >= 2)
		fprintf(stderr, "awsgatectl: unknown command 'rbac %s'\n", argv[1]);
	check_usage(stderr);
	return PX_EXIT_USAGE;
}

/* --- locks ------------------------------------------------------------------------ */

static void lock_usage(FILE *f)
{
	fputs("Usage: awsgatectl lock add --resources DIR (--user NAME | --role NAME) [--ttl 1h] --message TEXT\n"
	      "                           [--name NAME]\n"
	      "       awsgatectl lock ls  --resources DIR [--json]\n"
	      "       awsgatectl lock rm  --resources DIR NAME\n"
	      "\n"
	      "A lock denies a user, or everyone holding a role, at once and with its message, until it\n"
	      "expires (--ttl; without it, until removed). add writes DIR/lock-NAME.json, which a running\n"
	      "awsgated picks up within seconds; rm removes it.\n"
	      "\n"
	      "Exit status: 0 done, 1 no such lock (rm) or a lock of that name exists (add), 2 usage errors.\n",
	      f);
}

static int lock_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{"resources", required_argument, NULL, OPT_RESOURCES},
		{"user", required_argument, NULL, OPT_USER},
		{"role", required_argument, NULL, OPT_ROLE},
		{"ttl", required_argument, NULL, OPT_TTL},
		{"message", required_argument, NULL, OPT_MESSAGE},
		{"name", required_argument, NULL, OPT_NAME},
		{"time", required_argument, NULL, OPT_TIME},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *user = NULL, *role = NULL, *ttl_arg = NULL, *message = NULL, *name = NULL;
	const char *time_arg = NULL;
	char gen[RBAC_MAX_NAME + 1], path[4096], err[256];
	int64_t now;
	uint32_t ttl = 0;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RESOURCES: dir = optarg; break;
		case OPT_USER: user = optarg; break;
		case OPT_ROLE: role = optarg; break;
		case OPT_TTL: ttl_arg = optarg; break;
		case OPT_MESSAGE: message = optarg; break;
		case OPT_NAME: name = optarg; break;
		case OPT_TIME: time_arg = optarg; break;
		case OPT_HELP: lock_usage(stdout); return PX_EXIT_OK;
		default:
			fprintf(stderr, "awsgatectl: %s '%s'\nTry 'awsgatectl lock --help'.\n",
				optopt != 0 ? "option needs a value:" : "unknown option", argv[optind - 1]);
			return PX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "awsgatectl: unexpected argument '%s'\n", argv[optind]);
		return PX_EXIT_USAGE;
	}
	if (dir == NULL || (user == NULL) == (role == NULL) || message == NULL) {
		fputs("awsgatectl: lock add needs --resources DIR, one of --user NAME and --role NAME, and --message "
		      "TEXT\nTry 'awsgatectl lock --help'.\n",
		      stderr);
		return PX_EXIT_USAGE;
	}
	const char *target = user != NULL ? user : role;
	if (strlen(target) == 0 || strlen(target) > RBAC_MAX_NAME) {
		fprintf(stderr, "awsgatectl: bad %s name '%s'\n", user ? "user" : "role", target);
		return PX_EXIT_USAGE;
	}
	if (ttl_arg != NULL && (px_duration_parse(ttl_arg, &ttl) != 0 || ttl == 0)) {
		fprintf(stderr, "awsgatectl: bad --ttl '%s': a duration such as 30m, 1h or 1h30m\n", ttl_arg);
		return PX_EXIT_USAGE;
	}
	if (time_arg != NULL ? px_time_parse(time_arg, &now) != 0 : (now = (int64_t)time(NULL)) < 0) {
		fprintf(stderr, "awsgatectl: bad --time '%s'\n", time_arg);
		return PX_EXIT_USAGE;
	}
	if (name == NULL) {
		unsigned char r[4];
		if (RAND_bytes(r, sizeof(r)) != 1) {
			fputs("awsgatectl: no random bytes for a lock name\n", stderr);
			return PX_EXIT_USAGE;
		}
		snprintf(gen, sizeof(gen), "%s-%.200s-%02x%02x%02x%02x", user ? "user" : "role", target, r[0], r[1],
			 r[2], r[3]);
		name = gen;
	}
	/* The name is also the file's: the resource charset keeps it one
	 * path component. */
	size_t nl = strlen(name);
	for (size_t i = 0; i < nl; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || strchr("._-@+=:", name[i]) != NULL) ||
		    nl > RBAC_MAX_NAME || name[0] == '.') {
			fprintf(stderr, "awsgatectl: bad lock name '%s': letters, digits and . _ - @ + = :\n", name);
			return PX_EXIT_USAGE;
		}

	json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:s}}", "kind", "lock", "version", "v2", "metadata",
				"name", name, "spec", "target", user ? "user" : "role", target, "message", message);
	if (doc == NULL) {
		fputs("awsgatectl: the message must be UTF-8 text\n", stderr);
		return PX_EXIT_USAGE;
	}
	char expires[40] = "";
	if (ttl > 0) {
		rbac_time_format(now + ttl, expires, sizeof(expires));
		json_object_set_new(json_object_get(doc, "spec"), "expires", json_string(expires));
	}
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		return PX_EXIT_USAGE;
	}
	/* px_file_write's temporary file does not end in ".json", so a running
	 * gate never reads half a lock; link() never replaces another's. */
	if ((size_t)snprintf(path, sizeof(path), "%s/lock-%s.json", dir, name) >= sizeof(path)) {
		free(text);
		fputs("awsgatectl: the resources directory's path is too long\n", stderr);
		return PX_EXIT_USAGE;
	}
	size_t tl = strlen(text);
	text[tl] = '\n';
	int rv = px_file_write(path, text, tl + 1, 0644, 0, err, sizeof(err));
	free(text);
	if (rv == PX_ERR_EXISTS) {
		fprintf(stderr, "awsgatectl: a lock named \"%s\" exists already (%s); choose another --name\n", name,
			path);
		return PX_EXIT_NO;
	}
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot write the lock %s: %s\n", path, err);
		return PX_EXIT_USAGE;
	}
	printf("%s\n", name);
	fprintf(stderr, "awsgatectl: locked %s \"%s\"%s%s; remove with: awsgatectl lock rm --resources %s %s\n",
		user ? "user" : "role", target, ttl ? " until " : " until removed", expires, dir, name);
	return PX_EXIT_OK;
}

static int lock_ls_rm(int argc, char **argv, int rm)
{
	static const struct option opts[] = {
		{"resources", required_argument, NULL, OPT_RESOURCES},
		{"json", no_argument, NULL, OPT_JSON},
		{"time", required_argument, NULL, OPT_TIME},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *time_arg = NULL;
	int json = 0, c, st;
	int64_t now;
	struct rbac_policy *pol = NULL;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RESOURCES: dir = optarg; break;
		case OPT_JSON: json = 1; break;
		case OPT_TIME: time_arg = optarg; break;
		case OPT_HELP: lock_usage(stdout); return PX_EXIT_OK;
		default:
			fprintf(stderr, "awsgatectl: %s '%s'\nTry 'awsgatectl lock --help'.\n",
				optopt != 0 ? "option needs a value:" : "unknown option", argv[optind - 1]);
			return PX_EXIT_USAGE;
		}
	}
	if (dir == NULL || (rm ? argc - optind != 1 : argc - optind != 0)) {
		fprintf(stderr, "awsgatectl: lock %s needs --resources DIR%s\nTry 'awsgatectl lock --help'.\n",
			rm ? "rm" : "ls", rm ? " and one lock NAME" : "");
		return PX_EXIT_USAGE;
	}
	if (time_arg != NULL ? px_time_parse(time_arg, &now) != 0 : (now = (int64_t)time(NULL)) < 0) {
		fprintf(stderr, "awsgatectl: bad --time '%s'\n", time_arg);
		return PX_EXIT_USAGE;
	}
	if ((st = policy_open(dir, 0, &pol)) != PX_EXIT_OK)
		return st;

	struct rbac_lock_info li;
	if (rm) {
		const char *want = argv[optind];
		int found = 0;
		st = PX_EXIT_NO;
		for (size_t i = 0; rbac_policy_lock_at(pol, i, &li) == 0; i++) {
			if (strcmp(li.name, want) != 0)
				continue;
			found = 1;
			/* Remove the file only when it holds this lock alone:
			 * never lose the other resources of a shared file. */
			char *text = NULL, err[256];
			size_t len;
			int alone = 0;
			if (px_file_read(li.file, RBAC_MAX_DOCUMENT, &text, &len, err, sizeof(err)) == 0) {
				struct rbac_policy *one = rbac_policy_new();
				struct diag_sink quiet = {0, 0, 0};
				if (one != NULL && rbac_policy_load(one, li.file, text, len, diag_print, &quiet) == 0) {
					struct rbac_policy_stats s;
					rbac_policy_stats(one, &s);
					alone = s.locks == 1 && s.roles == 0 && s.users == 0 && s.apps == 0;
				}
				rbac_policy_unref(one);
				free(text);
			}
			if (!alone) {
				fprintf(stderr,
					"awsgatectl: lock \"%s\" is in %s with other resources; edit that file to remove "
					"it\n",
					want, li.file);
			} else if (unlink(li.file) != 0) {
				fprintf(stderr, "awsgatectl: cannot remove %s: %s\n", li.file, strerror(errno));
				st = PX_EXIT_USAGE;
			} else {
				fprintf(stderr, "awsgatectl: removed lock \"%s\" (%s)\n", want, li.file);
				st = PX_EXIT_OK;
			}
		}
		if (!found)
			fprintf(stderr, "awsgatectl: no lock named \"%s\" in %s (awsgatectl lock ls lists them)\n", want,
				dir);
		rbac_policy_unref(pol);
		return st;
	}

	json_t *arr = json ? json_array() : NULL;
	size_t i;
	for (i = 0; rbac_policy_lock_at(pol, i, &li) == 0; i++) {
		char exp[40] = "never";
		int active = li.expires == 0 || now < li.expires;
		if (li.expires != 0)
			rbac_time_format(li.expires, exp, sizeof(exp));
		if (arr != NULL) {
			json_t *o = json_object();
			json_put_str(o, "name", li.name);
			json_put_str(o, "user", li.user);
			json_put_str(o, "role", li.role);
			json_put_str(o, "message", li.message);
			json_object_set_new(o, "expires", li.expires ? json_string(exp) : json_null());
			json_object_set_new(o, "active", json_boolean(active));
			json_put_str(o, "file", li.file);
			json_array_append_new(arr, o);
			continue;
		}
		if (i == 0)
			printf("%-32s  %-6s  %-20s  %-20s  %-7s  %s\n", "NAME", "TARGET", "WHO", "EXPIRES", "STATE",
			       "MESSAGE");
		printf("%-32s  %-6s  %-20s  %-20s  %-7s  %s\n", li.name, li.user ? "user" : "role",
		       li.user ? li.user : li.role, exp, active ? "active" : "expired", li.message ? li.message : "");
	}
	if (arr != NULL)
		json_print(arr);
	else if (i == 0)
		fprintf(stderr, "awsgatectl: no locks in %s\n", dir);
	rbac_policy_unref(pol);
	return PX_EXIT_OK;
}

int px_ctl_lock(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return lock_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return lock_ls_rm(argc - 1, argv + 1, 0);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return lock_ls_rm(argc - 1, argv + 1, 1);
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		lock_usage(stdout);
		return PX_EXIT_OK;
	}
	if (argc >= 2)
		fprintf(stderr, "awsgatectl: unknown command 'lock %s'\n", argv[1]);
	lock_usage(stderr);
	return PX_EXIT_USAGE;
}
