/* SPDX-License-Identifier: Apache-2.0 */
/* ctl_aws.c: `awsgatectl aws whoami|assume|console-url|iam-policy`, the gate's view of AWS for admins debugging their setup. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "federation/federation.h"
#include "proxy.h"

/* How long a command waits for AWS in all (each STS attempt has its own
 * timeouts; this bounds retries and credential sources together). */
#define AWS_CMD_DEADLINE_S 120.0

/* What every subcommand shares: the daemon file's aws.* settings, the
 * loop, the transport and the base credentials. */
struct aws_ctx {
	const char *config_path;
	struct px_config *cfg;
	char region[FED_MAX_REGION + 1];
	const char *ca_file;
	struct ev_loop *loop;
	struct px_transport *tr;
	struct fed_transport *t;
	struct fed_env env;
	struct fed_base *base;
	struct fed_snap *creds; /* the base credentials, once got */
	char source[128];
	uint32_t sts_timeout_ms;
	int json;
};

/* One asynchronous answer, waited for by running the loop. */
struct answer {
	int done;
	int err;
	struct fed_snap *snap;
	struct fed_sts_error why;
	/* STS results kept past the callback. */
	struct fed_creds creds;
	char account[32], arn[2048], user_id[256], assumed_arn[2048], source_identity[256], request_id[64];
	/* sign-in */
	char *login_url;
	uint32_t session_duration;
	bool chaining_capped;
	int status;
};

static void run_until_done(struct aws_ctx *c, const struct answer *a)
{
	double end = ev_time() + AWS_CMD_DEADLINE_S;
	while (!a->done && ev_time() < end)
		ev_run(c->loop, EVRUN_ONCE);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void creds_done(void *arg, int err, struct fed_snap *creds, const struct fed_sts_error *why)
{
	struct answer *a = arg;
	a->done = 1;
	a->err = err;
	a->snap = creds;
	if (why != NULL)
		a->why = *why;
}

static void sts_done(void *arg, int err, const struct fed_sts_result *res, const struct fed_sts_error *e)
{
	struct answer *a = arg;
	a->done = 1;
	a->err = err;
	if (e != NULL)
		a->why = *e;
	if (err != 0 || res == NULL)
		return;
	if (res->creds.access_key_id != NULL && fed_creds_copy(&a->creds, &res->creds) != 0)
		a->err = FED_ERR_NOMEM;
	copy_str(a->account, sizeof(a->account), res->account);
	copy_str(a->arn, sizeof(a->arn), res->arn);
	copy_str(a->user_id, sizeof(a->user_id), res->user_id);
	copy_str(a->assumed_arn, sizeof(a->assumed_arn),
	         res->assumed_role_arn != NULL ? res->assumed_role_arn : res->federated_user_arn);
	copy_str(a->source_identity, sizeof(a->source_identity), res->source_identity);
	copy_str(a->request_id, sizeof(a->request_id), res->request_id);
}

static void signin_done(void *arg, int err, const struct fed_signin_result *res, int status)
{
	struct answer *a = arg;
	a->done = 1;
	a->err = err;
	a->status = status;
	if (err == 0 && res != NULL) {
		a->login_url = strdup(res->login_url);
		if (a->login_url == NULL)
			a->err = FED_ERR_NOMEM;
		a->session_duration = res->session_duration;
		a->chaining_capped = res->chaining_capped;
	}
}

static void answer_free(struct answer *a)
{
	fed_snap_unref(a->snap);
	fed_creds_free(&a->creds);
	if (a->login_url != NULL) {
		OPENSSL_cleanse(a->login_url, strlen(a->login_url));
		free(a->login_url);
	}
}

/* Says what failed: AWS's code and message when it answered. */
static void print_failure(const char *what, int err, const struct fed_sts_error *why)
{
	fprintf(stderr, "awsgatectl: %s: ", what);
	if (why != NULL && why->code[0] != '\0') /* AWS answered */
		fprintf(stderr, "%s: %s: %s", fed_strerror(err), why->code, why->message);
	else if (why != NULL && why->message[0] != '\0') /* says more than fed_strerror(err) */
		fprintf(stderr, "%s%s%s", why->message, err == FED_ERR_UNAVAILABLE ? "; " : "",
		        err == FED_ERR_UNAVAILABLE ? fed_strerror(err) : "");
	else
		fputs(fed_strerror(err), stderr);
	if (why != NULL && why->attempts > 1)
		fprintf(stderr, " (after %u attempts)", why->attempts);
	if (why != NULL && why->request_id[0] != '\0')
		fprintf(stderr, " (request id %s)", why->request_id);
	fputc('\n', stderr);
}

/* AWS's negative answers are the operation's answer (1); the rest are
 * failures to run (2). */
static int exit_for(int err)
{
	return err == FED_ERR_DENIED || err == FED_ERR_REJECTED ? PX_EXIT_NO : PX_EXIT_USAGE;
}

/* --- the context ------------------------------------------------------------ */

static int ctx_open(struct aws_ctx *c)
{
	px_env_init(&c->env);
	c->sts_timeout_ms = 0;
	enum fed_base_source source = FED_BASE_DEFAULT;
	const char *profile = NULL;
	const struct px_connect_to *ct = NULL;
	size_t nct = 0;
	copy_str(c->region, sizeof(c->region), NULL);

	if (c->config_path != NULL) {
		char *text = NULL, err[256];
		size_t len;
		struct px_diags diags;
		if (px_file_read(c->config_path, PX_CONFIG_MAX_BYTES, &text, &len, err, sizeof(err)) != 0) {
			fprintf(stderr, "awsgatectl: cannot read the daemon file %s: %s\n", c->config_path, err);
			return PX_EXIT_USAGE;
		}
		px_diags_init(&diags, c->config_path);
		int rv = px_config_load(c->config_path, text, len, 0, &c->cfg, &diags);
		free(text);
		if (rv != 0 || c->cfg == NULL) {
			px_diags_print(&diags, stderr);
			fprintf(stderr, "awsgatectl: %s has errors: awsgatectl config check %s shows them all\n",
			        c->config_path, c->config_path);
			px_diags_free(&diags);
			return PX_EXIT_USAGE;
		}
		px_diags_free(&diags);
		static const enum fed_base_source sources[] = {
			[PX_CREDS_DEFAULT] = FED_BASE_DEFAULT,       [PX_CREDS_ENVIRONMENT] = FED_BASE_ENVIRONMENT,
			[PX_CREDS_PROFILE] = FED_BASE_PROFILE,       [PX_CREDS_WEB_IDENTITY] = FED_BASE_WEB_IDENTITY,
			[PX_CREDS_CONTAINER] = FED_BASE_CONTAINER,   [PX_CREDS_IMDS] = FED_BASE_IMDS,
		};
		source = sources[c->cfg->aws.credential_source];
		profile = c->cfg->aws.profile;
		if (c->ca_file == NULL)
			c->ca_file = c->cfg->aws.ca_file;
		ct = c->cfg->aws.connect_to;
		nct = c->cfg->aws.nconnect_to;
		copy_str(c->region, sizeof(c->region), c->cfg->aws.region);
		c->sts_timeout_ms = c->cfg->timeouts.sts * 1000u;
	} else {
		const char *r = getenv("AWS_REGION");
		if (r == NULL || *r == '\0')
			r = getenv("AWS_DEFAULT_REGION");
		copy_str(c->region, sizeof(c->region), r != NULL && *r != '\0' ? r : "us-east-1");
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("awsgatectl: libcurl failed to start\n", stderr);
		return PX_EXIT_USAGE;
	}
	c->loop = ev_loop_new(EVFLAG_AUTO);
	if (c->loop == NULL || (c->tr = px_transport_new(c->loop, c->ca_file, ct, nct)) == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		return PX_EXIT_USAGE;
	}
	c->t = px_transport_fed(c->tr);
	struct fed_base_options opt = {source, profile};
	if (fed_base_new(&c->env, &opt, &c->base) != 0) {
		fputs("awsgatectl: out of memory\n", stderr);
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

static void ctx_close(struct aws_ctx *c)
{
	fed_snap_unref(c->creds);
	px_transport_del(c->tr); /* cancels what is in flight before the chain goes */
	fed_base_del(c->base);
	if (c->loop != NULL)
		ev_loop_destroy(c->loop);
	px_config_unref(c->cfg);
	curl_global_cleanup();
}

/* Gets the gate's base credentials. */
static int ctx_base(struct aws_ctx *c)
{
	struct answer a = {0};
	struct fed_wait *w = NULL;
	int rv = fed_base_get(c->base, c->t, creds_done, &a, &c->creds, &w, &a.why);
	if (rv == FED_PENDING) {
		run_until_done(c, &a);
		if (!a.done) {
			fed_wait_cancel(w);
			a.err = FED_ERR_TIMEOUT;
		}
		rv = a.err;
		c->creds = a.snap;
		a.snap = NULL;
	}
	fed_base_describe(c->base, NULL, 0, c->source, sizeof(c->source));
	if (rv != 0) {
		print_failure("no AWS credentials for the gate", rv, &a.why);
		fputs("awsgatectl: the gate looks for credentials as the AWS SDKs do: AWS_ACCESS_KEY_ID and\n"
		      "  AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/credentials, web identity, ECS, EC2\n"
		      "  instance metadata (aws.credential_source in the daemon file picks one)\n",
		      stderr);
		answer_free(&a);
		return PX_EXIT_USAGE;
	}
	answer_free(&a);
	return PX_EXIT_OK;
}

static int ctx_sts(struct aws_ctx *c, struct fed_sts_params *p, const struct fed_creds *signer, struct answer *a)
{
	p->region = c->region;
	p->endpoint_url = fed_env_sts_endpoint(&c->env);
	p->timeout_ms = c->sts_timeout_ms;
	struct fed_sts_call *call = NULL;
	int rv = fed_sts_start(c->t, &c->env, p, signer, sts_done, a, &call);
	if (rv != 0) {
		a->err = rv;
		return rv;
	}
	run_until_done(c, a);
	if (!a->done) {
		fed_sts_cancel(call);
		a->err = FED_ERR_TIMEOUT;
	}
	return a->err;
}

static void iso_time(int64_t t, char out[32])
{
	if (t <= 0) {
		copy_str(out, 32, "never");
		return;
	}
	rbac_time_format(t, out, 32);
}

/* --- whoami ------------------------------------------------------------------ */

static int cmd_whoami(struct aws_ctx *c)
{
	int st = ctx_base(c);
	if (st != PX_EXIT_OK)
		return st;
	const struct fed_creds *base = fed_snap_creds(c->creds);
	struct answer a = {0};
	struct fed_sts_params p = {.action = FED_STS_GET_CALLER_IDENTITY};
	char url[512] = "", host[FED_MAX_HOST + 1] = "", region[FED_MAX_REGION + 1] = "";
	struct fed_sts_params where = p;
	where.region = c->region;
	where.endpoint_url = fed_env_sts_endpoint(&c->env);
	fed_sts_endpoint(&where, url, sizeof(url), host, sizeof(host), region);
	if (ctx_sts(c, &p, base, &a) != 0) {
		fprintf(stderr, "awsgatectl: credentials from %s\n", c->source);
		print_failure("GetCallerIdentity", a.err, &a.why);
		st = exit_for(a.err);
		answer_free(&a);
		return st;
	}
	char expires[32];
	iso_time(base->expiration, expires);
	if (c->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "source", c->source,
		                      "account", a.account, "arn", a.arn, "user_id", a.user_id, "access_key_id",
		                      base->access_key_id, "long_term", base->long_term, "expires", expires,
		                      "sts_endpoint", url, "region", region);
		if (o != NULL) {
			json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(o);
		}
	} else {
		printf("source:        %s\n", c->source);
		printf("account:       %s\n", a.account);
		printf("arn:           %s\n", a.arn);
		printf("user id:       %s\n", a.user_id);
		printf("access key id: %s\n", base->access_key_id);
		printf("kind:          %s\n", base->long_term ? "long-term (IAM user keys): console sessions up to 12h"
		                                               : "temporary: console sessions capped at 1h (role chaining)");
		printf("expires:       %s\n", expires);
		printf("sts endpoint:  %s (signing region %s)\n", url, region);
	}
	answer_free(&a);
	return PX_EXIT_OK;
}

/* --- assume and console-url -------------------------------------------------- */

struct assume_opts {
	const char *role_arn;
	const char *user;
	const char *external_id;
	uint32_t duration;
	bool no_source_identity;
	bool show_credentials;
	/* console-url */
	const char *destination;
	const char *console_region;
	bool wrap_logout;
	bool regional_signin;
};

/* AssumeRole as the gate would for |o->user|; |a| gets the answer. */
static int do_assume(struct aws_ctx *c, const struct assume_opts *o, struct answer *a, char session[FED_SESSION_NAME_MAX + 1])
{
	int st = ctx_base(c);
	if (st != PX_EXIT_OK)
		return st;
	const struct fed_creds *base = fed_snap_creds(c->creds);
	int rv = fed_session_name(o->user, session);
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: --user %s cannot name a session: %s\n", o->user, fed_strerror(rv));
		return PX_EXIT_USAGE;
	}
	uint32_t duration = 0;
	rv = fed_session_duration(o->duration, INT64_MAX / 2, FED_SESSION_MAX_DURATION, !base->long_term, &duration);
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: --duration: %s (STS needs 15m to 12h)\n", fed_strerror(rv));
		return PX_EXIT_USAGE;
	}
	struct fed_sts_params p = {
		.action = FED_STS_ASSUME_ROLE,
		.role_arn = o->role_arn,
		.role_session_name = session,
		.external_id = o->external_id,
		/* The reduced name: STS takes the same alphabet and length for both. */
		.source_identity = o->no_source_identity ? NULL : session,
		.duration_seconds = duration,
	};
	if (ctx_sts(c, &p, base, a) == 0)
		return PX_EXIT_OK;
	fprintf(stderr, "awsgatectl: the gate's credentials come from %s\n", c->source);
	print_failure("AssumeRole", a->err, &a->why);
	if (a->err == FED_ERR_DENIED) {
		struct fed_policy_sent sent = {o->external_id != NULL, !o->no_source_identity, false};
		char text[2048];
		if (fed_policy_explain_denied(a->why.message, &sent, text, sizeof(text)) != 0 || text[0] != '\0')
			fprintf(stderr, "%s\n", text);
		fprintf(stderr, "awsgatectl: awsgatectl aws iam-policy --role-arn %s%s%s prints the policies the role "
		                "and the gate need\n",
		        o->role_arn, o->external_id ? " --external-id " : "", o->external_id ? o->external_id : "");
	}
	return exit_for(a->err);
}

static int cmd_assume(struct aws_ctx *c, const struct assume_opts *o)
{
	struct answer a = {0};
	char session[FED_SESSION_NAME_MAX + 1];
	int st = do_assume(c, o, &a, session);
	if (st != PX_EXIT_OK) {
		answer_free(&a);
		return st;
	}
	char expires[32];
	iso_time(a.creds.expiration, expires);
	if (c->json) {
		json_t *o2 = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "role_arn", o->role_arn, "assumed_role_arn",
		                       a.assumed_arn, "session_name", session, "source_identity", a.source_identity,
		                       "access_key_id", a.creds.access_key_id, "expires", expires, "base_source",
		                       c->source);
		if (o2 != NULL && o->show_credentials) {
			json_object_set_new(o2, "secret_access_key", json_string(a.creds.secret_access_key));
			json_object_set_new(o2, "session_token", json_string(a.creds.session_token));
		}
		if (o2 != NULL) {
			json_dumpf(o2, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(o2);
		}
	} else {
		printf("assumed role:    %s\n", a.assumed_arn);
		printf("session name:    %s\n", session);
		printf("source identity: %s\n", a.source_identity[0] ? a.source_identity : "(none)");
		printf("access key id:   %s\n", a.creds.access_key_id);
		printf("expires:         %s\n", expires);
		if (o->show_credentials) {
			printf("export AWS_ACCESS_KEY_ID=%s\n", a.creds.access_key_id);
			printf("export AWS_SECRET_ACCESS_KEY=%s\n", a.creds.secret_access_key);
			printf("export AWS_SESSION_TOKEN=%s\n", a.creds.session_token ? a.creds.session_token : "");
		} else {
			printf("(--show-credentials prints the secret key and session token)\n");
		}
	}
	answer_free(&a);
	return PX_EXIT_OK;
}

static int cmd_console_url(struct aws_ctx *c, const struct assume_opts *o)
{
	struct answer a = {0}, s = {0};
	char session[FED_SESSION_NAME_MAX + 1];
	int st = do_assume(c, o, &a, session);
	if (st != PX_EXIT_OK) {
		answer_free(&a);
		return st;
	}
	const struct fed_creds *base = fed_snap_creds(c->creds);
	struct fed_signin_params p = {
		.region = o->console_region,
		.regional_signin = o->regional_signin,
		.destination = o->destination,
		.long_term_base = base->long_term,
		.session_duration = base->long_term ? o->duration : 0,
		.wrap_logout = o->wrap_logout,
		.timeout_ms = c->sts_timeout_ms,
	};
	const struct fed_partition *part = NULL;
	if (fed_partition_for_region(c->region, &part) == 0)
		p.partition = part;
	const char *ep = getenv("AWS_ENDPOINT_URL_SIGNIN");
	p.endpoint_url = ep != NULL && *ep != '\0' ? ep : NULL;
	struct fed_signin_call *call = NULL;
	int rv = fed_signin_start(c->t, &p, &a.creds, signin_done, &s, &call);
	if (rv == 0) {
		run_until_done(c, &s);
		if (!s.done) {
			fed_signin_cancel(call);
			s.err = FED_ERR_TIMEOUT;
		}
		rv = s.err;
	}
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: getSigninToken failed: %s%s\n", fed_strerror(rv),
		        s.status ? "" : " (no answer from the sign-in endpoint)");
		if (s.status)
			fprintf(stderr, "awsgatectl: the sign-in endpoint answered HTTP %d\n", s.status);
		answer_free(&a);
		answer_free(&s);
		return exit_for(rv);
	}
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:b}", "url", s.login_url, "assumed_role_arn", a.assumed_arn,
		                      "session_name", session, "session_duration", (int)s.session_duration,
		                      "chaining_capped", s.chaining_capped);
		if (j != NULL) {
			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(j);
		}
	} else {
		printf("%s\n", s.login_url);
		if (s.chaining_capped)
			fprintf(stderr, "awsgatectl: the gate's credentials are temporary, so this console session "
			                "ends after 1 hour (role chaining)\n");
	}
	answer_free(&a);
	answer_free(&s);
	return PX_EXIT_OK;
}

/* --- iam-policy ------------------------------------------------------------- */

static int cmd_iam_policy(struct aws_ctx *c, const struct assume_opts *o, const char *principal, bool tags)
{
	struct answer a = {0};
	int st;
	if (principal == NULL) {
		/* The gate's own identity, from STS. */
		if ((st = ctx_open(c)) != PX_EXIT_OK || (st = ctx_base(c)) != PX_EXIT_OK)
			return st;
		struct fed_sts_params p = {.action = FED_STS_GET_CALLER_IDENTITY};
		if (ctx_sts(c, &p, fed_snap_creds(c->creds), &a) != 0) {
			print_failure("GetCallerIdentity (to name the gate's principal; --gate-principal ARN avoids it)",
			              a.err, &a.why);
			st = exit_for(a.err);
			answer_free(&a);
			return st;
		}
		principal = a.arn;
	}
	struct fed_policy_params p = {o->role_arn, principal, o->external_id, !o->no_source_identity, tags};
	char *trust = NULL, *perms = NULL;
	int rv = fed_policy_trust(&p, &trust);
	if (rv == 0)
		rv = fed_policy_permissions(&p, &perms);
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot write the policies: %s (check --role-arn and --gate-principal)\n",
		        fed_strerror(rv));
		answer_free(&a);
		free(trust);
		return PX_EXIT_USAGE;
	}
	if (c->json) {
		json_error_t je;
		json_t *t = json_loads(trust, 0, &je), *q = json_loads(perms, 0, &je);
		json_t *j = json_pack("{s:s, s:o, s:o}", "gate_principal", principal, "trust_policy", t,
		                      "permission_policy", q);
		if (j != NULL) {
			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(j);
		}
	} else {
		printf("# Trust policy of %s\n# (aws iam update-assume-role-policy --role-name NAME --policy-document file://trust.json)\n%s\n",
		       o->role_arn, trust);
		printf("\n# Permission policy of the gate's identity %s\n# (aws iam put-role-policy / put-user-policy "
		       "--policy-name awsgate --policy-document file://gate.json)\n%s\n",
		       principal, perms);
	}
	free(trust);
	free(perms);
	answer_free(&a);
	return PX_EXIT_OK;
}

/* --- the command line ------------------------------------------------------- */

static void aws_usage(FILE *f)
{
	fputs("Usage: awsgatectl aws whoami      [--config FILE] [--json]\n"
	      "       awsgatectl aws assume      --role-arn ARN --user NAME [--external-id X] [--duration 1h]\n"
	      "                                  [--no-source-identity] [--show-credentials] [--config FILE] [--json]\n"
	      "       awsgatectl aws console-url --role-arn ARN --user NAME [--external-id X] [--duration 1h]\n"
	      "                                  [--destination URL] [--region R] [--regional-signin]\n"
	      "                                  [--wrap-logout] [--no-source-identity] [--config FILE] [--json]\n"
	      "       awsgatectl aws iam-policy  --role-arn ARN [--gate-principal ARN] [--external-id X]\n"
	      "                                  [--no-source-identity] [--tags] [--config FILE] [--json]\n"
	      "\n"
	      "The gate's view of AWS, with the gate's own credentials (found as the AWS SDKs find\n"
	      "them, or as the daemon file's aws.* options say):\n"
	      "  whoami       which credential source was used, and STS GetCallerIdentity\n"
	      "  assume       AssumeRole as the gate does for --user (session name, source identity,\n"
	      "               external ID); an AccessDenied is explained\n"
	      "  console-url  the same, then a console sign-in URL (a bearer secret: do not share it)\n"
	      "  iam-policy   the trust policy the role needs and the permission policy the gate needs\n"
	      "\n"
	      "  --config FILE        the daemon file: aws.region, aws.credential_source, aws.profile,\n"
	      "                       aws.ca_file, aws.connect_to, timeouts.sts\n"
	      "  --role-arn ARN       the target role, a full ARN\n"
	      "  --user NAME          the gate user the session is for (RoleSessionName, SourceIdentity)\n"
	      "  --duration D         session length, 15m to 12h (default 1h; 1h at most with temporary\n"
	      "                       gate credentials)\n"
	      "  --region R           console-url: the console's region (deep link)\n"
	      "  --destination URL    console-url: a page of the console to land on\n"
	      "  --ca-file FILE       CA certificates for AWS endpoints (default aws.ca_file, else the system)\n"
	      "Environment: AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SIGNIN.\n"
	      "\n"
	      "Exit status: 0 success; 1 AWS refused (access denied, invalid request); 2 usage errors and\n"
	      "failures to run (no credentials, AWS unreachable).\n",
	      f);
}

int px_ctl_aws(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		aws_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PX_EXIT_USAGE : PX_EXIT_OK;
	}
	const char *sub = argv[1];
	enum { WHOAMI, ASSUME, CONSOLE, POLICY } which;
	if (strcmp(sub, "whoami") == 0)
		which = WHOAMI;
	else if (strcmp(sub, "assume") == 0)
		which = ASSUME;
	else if (strcmp(sub, "console-url") == 0)
		which = CONSOLE;
	else if (strcmp(sub, "iam-policy") == 0)
		which = POLICY;
	else {
		fprintf(stderr, "awsgatectl aws: unknown command '%s'\n", sub);
		aws_usage(stderr);
		return PX_EXIT_USAGE;
	}

	enum { O_CONFIG = 256, O_JSON, O_ROLE_ARN, O_USER, O_EXTERNAL_ID, O_DURATION, O_NO_SI, O_SHOW, O_DEST, O_REGION,
	       O_REGIONAL, O_WRAP, O_PRINCIPAL, O_TAGS, O_CA_FILE, O_HELP };
	static const struct option opts[] = {
		{"config", required_argument, NULL, O_CONFIG},
		{"json", no_argument, NULL, O_JSON},
		{"role-arn", required_argument, NULL, O_ROLE_ARN},
		{"user", required_argument, NULL, O_USER},
		{"external-id", required_argument, NULL, O_EXTERNAL_ID},
		{"duration", required_argument, NULL, O_DURATION},
		{"no-source-identity", no_argument, NULL, O_NO_SI},
		{"show-credentials", no_argument, NULL, O_SHOW},
		{"destination", required_argument, NULL, O_DEST},
		{"region", required_argument, NULL, O_REGION},
		{"regional-signin", no_argument, NULL, O_REGIONAL},
		{"wrap-logout", no_argument, NULL, O_WRAP},
		{"gate-principal", required_argument, NULL, O_PRINCIPAL},
		{"tags", no_argument, NULL, O_TAGS},
		{"ca-file", required_argument, NULL, O_CA_FILE},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	struct aws_ctx c = {0};
	struct assume_opts o = {0};
	const char *principal = NULL;
	bool tags = false;
	o.duration = 3600;
	/* Options each subcommand takes; others are usage errors. */
	static const char *const allowed[] = {
		[WHOAMI] = "config json ca-file help",
		[ASSUME] = "config json ca-file help role-arn user external-id duration no-source-identity show-credentials",
		[CONSOLE] = ("config json ca-file help role-arn user external-id duration no-source-identity destination "
		             "region regional-signin wrap-logout"),
		[POLICY] = "config json ca-file help role-arn gate-principal external-id no-source-identity tags",
	};
	optind = 1;
	opterr = 0;
	int ch, idx;
	while ((ch = getopt_long(argc - 1, argv + 1, "", opts, &idx)) != -1) {
		if (ch == '?' || ch == ':') {
			fprintf(stderr, "awsgatectl aws %s: unknown option or missing value: %s\n", sub, argv[optind]);
			return PX_EXIT_USAGE;
		}
		const char *name = opts[idx].name;
		const char *list = allowed[which];
		size_t n = strlen(name);
		const char *hit = strstr(list, name);
		while (hit != NULL && ((hit != list && hit[-1] != ' ') || (hit[n] != '\0' && hit[n] != ' ')))
			hit = strstr(hit + 1, name);
		if (hit == NULL) {
			fprintf(stderr, "awsgatectl aws %s: --%s does not apply here (awsgatectl aws --help)\n", sub, name);
			return PX_EXIT_USAGE;
		}
		switch (ch) {
		case O_CONFIG: c.config_path = optarg; break;
		case O_JSON: c.json = 1; break;
		case O_ROLE_ARN: o.role_arn = optarg; break;
		case O_USER: o.user = optarg; break;
		case O_EXTERNAL_ID: o.external_id = optarg; break;
		case O_DURATION:
			if (px_duration_parse(optarg, &o.duration) != 0) {
				fprintf(stderr, "awsgatectl aws %s: --duration %s: not a duration (90s, 15m, 1h30m, 12h)\n",
				        sub, optarg);
				return PX_EXIT_USAGE;
			}
			break;
		case O_NO_SI: o.no_source_identity = true; break;
		case O_SHOW: o.show_credentials = true; break;
		case O_DEST: o.destination = optarg; break;
		case O_REGION: o.console_region = optarg; break;
		case O_REGIONAL: o.regional_signin = true; break;
		case O_WRAP: o.wrap_logout = true; break;
		case O_PRINCIPAL: principal = optarg; break;
		case O_TAGS: tags = true; break;
		case O_CA_FILE: c.ca_file = optarg; break;
		case O_HELP: aws_usage(stdout); return PX_EXIT_OK;
		}
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "awsgatectl aws %s: unexpected argument '%s'\n", sub, argv[optind + 1]);
		return PX_EXIT_USAGE;
	}
	if (which != WHOAMI && o.role_arn == NULL) {
		fprintf(stderr, "awsgatectl aws %s: --role-arn ARN is required\n", sub);
		return PX_EXIT_USAGE;
	}
	if ((which == ASSUME || which == CONSOLE) && o.user == NULL) {
		fprintf(stderr, "awsgatectl aws %s: --user NAME is required (the session is named after the user)\n", sub);
		return PX_EXIT_USAGE;
	}
	if (o.role_arn != NULL && strncmp(o.role_arn, "arn:", 4) != 0) {
		fprintf(stderr, "awsgatectl aws %s: --role-arn takes a full ARN (arn:aws:iam::123456789012:role/Name), "
		                "not '%s'\n", sub, o.role_arn);
		return PX_EXIT_USAGE;
	}

	int st;
	if (which == POLICY) {
		st = cmd_iam_policy(&c, &o, principal, tags);
	} else if ((st = ctx_open(&c)) == PX_EXIT_OK) {
		switch (which) {
		case WHOAMI: st = cmd_whoami(&c); break;
		case ASSUME: st = cmd_assume(&c, &o); break;
		default: st = cmd_console_url(&c, &o); break;
		}
	}
	ctx_close(&c);
	return st;
}
