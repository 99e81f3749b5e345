/* SPDX-License-Identifier: Apache-2.0 */
/* rbac_bench.c: decisions per second on a large policy, against one SigV4 signature in the same run (issue 4). */
#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "rbac/rbac.h"
#include "sigv4/sigv4.h"

/*
 * The policy of issue 4: 100 roles of 50 ARN patterns each (40 exact, 7
 * globs, 3 regexes: 80/15/5 per cent, rounded), 10 of the roles carrying a
 * template among their patterns, every role allowing some of 10 apps by
 * label and a tenth of them denying a few ARNs. The identity holds all 100
 * roles (the worst case: every pattern is the subject's), expanded once.
 * One decision is rbac_decide() on (subject, app, ARN) with a reason.
 */
#define ROLES 100
#define PATTERNS 50
#define EXACT 40
#define GLOBS 7
#define APPS 10
#define QUERIES 4096
#define NOW INT64_C(1790000000)

#define GOAL_DECISIONS 2000000.0

/* Allocations are counted while the timed loop runs: there must be none.
 * glibc exports its allocator as __libc_*, so these wrappers can count
 * and forward. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static unsigned long counting;
static unsigned long allocations;

void *malloc(size_t n)
{
	allocations += counting;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	allocations += counting;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	allocations += counting;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

static void die(const char *what)
{
	fprintf(stderr, "rbac_bench: %s\n", what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Account of role r's patterns: ten accounts, so each app's account has
 * a tenth of the patterns. */
static void account(int r, char out[13])
{
	snprintf(out, 13, "1000000000%02d", r % APPS);
}

static json_t *make_role(int r)
{
	char acct[13], buf[256];
	json_t *arns = json_array();

	account(r, acct);
	for (int i = 0; i < PATTERNS; i++) {
		if (i < EXACT)
			snprintf(buf, sizeof(buf), "arn:aws:iam::%s:role/team%03d/Exact%02d", acct, r, i);
		else if (i < EXACT + GLOBS)
			snprintf(buf, sizeof(buf), "arn:aws:iam::%s:role/team%03d/glob%02d-*", acct, r, i);
		else if (i == PATTERNS - 1 && r % 10 == 0)
			snprintf(buf, sizeof(buf), "arn:aws:iam::%s:role/{{internal.aws_role_arns}}", acct);
		else
			snprintf(buf, sizeof(buf), "^arn:aws:iam::%s:role/team%03d/re%02d-[a-z]+(-[0-9]+)?$", acct, r,
				 i);
		json_array_append_new(arns, json_string(buf));
	}
	char name[16], env[16];
	snprintf(name, sizeof(name), "role%03d", r);
	snprintf(env, sizeof(env), "env%d", r % APPS);
	json_t *role = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:{s:[s, s]}, s:o}, s:{s:s}}}", "kind", "role", "version",
				 "v7", "metadata", "name", name, "spec", "allow", "app_labels", "env", env, "shared",
				 "aws_role_arns", arns, "options", "max_session_ttl", "8h");
	if (r % 10 == 5) {
		snprintf(buf, sizeof(buf), "arn:aws:iam::%s:role/team%03d/Exact0*", acct, r);
		json_object_set_new(json_object_get(role, "spec"), "deny",
				    json_pack("{s:{s:s}, s:[s]}", "app_labels", "*", "*", "aws_role_arns", buf));
	}
	return role;
}

static json_t *make_app(int a)
{
	char name[16], env[16], acct[13];
	snprintf(name, sizeof(name), "app%d", a);
	snprintf(env, sizeof(env), "env%d", a);
	account(a, acct);
	return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:{s:s}}", "kind", "app", "version", "v3", "metadata",
			 "name", name, "labels", "env", env, "aws_account_id", acct, "spec", "uri",
			 "https://console.aws.amazon.com/");
}

struct query {
	const struct rbac_app *app;
	char arn[128];
	size_t len;
};

static void on_diag(void *arg, const struct rbac_diag *d)
{
	(void)arg;
	if (d->code != 0) {
		fprintf(stderr, "rbac_bench: %s: %s\n", d->path, d->msg);
		exit(1);
	}
}

/* One signature of the STS GetCallerIdentity the CLI sends, for scale. */
static double signatures_per_second(unsigned long iters)
{
	static const char body[] = "Action=GetCallerIdentity&Version=2011-06-15";
	static const struct sv4_header h[] = {
		{"Host", 4, "sts.us-east-1.amazonaws.com", 27},
		{"Content-Type", 12, "application/x-www-form-urlencoded; charset=utf-8", 48},
		{"Content-Length", 14, "43", 2},
	};
	struct sv4_credentials creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
	struct sv4_sign_params p = {&creds, "us-east-1", "sts", NOW, SV4_MODE_HEADER, 0, NULL, 0};
	struct sv4_request r = {"POST", 4, "/", 1, "", 0, h, 3, (const unsigned char *)body, sizeof(body) - 1};
	struct sv4_signer *s = sv4_signer_new();
	struct sv4_signed out;
	double best = 0;

	if (s == NULL)
		die("no signer");
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now_s();
		for (unsigned long i = 0; i < iters; i++)
			if (sv4_sign(s, &r, &p, &out) != 0)
				die("sv4_sign failed");
		double rate = (double)iters / (now_s() - t0);
		if (rate > best)
			best = rate;
	}
	sv4_signer_del(s);
	return best;
}

int main(int argc, char **argv)
{
	unsigned long iters = 2000000, reps = 7;
	struct rbac_policy *pol = rbac_policy_new();
	json_t *docs = json_array();

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
			iters = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = strtoul(argv[++i], NULL, 10);
		else {
			fputs("usage: rbac_bench [--iters N] [--reps N]\n", stderr);
			return 2;
		}
	}
	if (iters == 0 || reps == 0)
		die("--iters and --reps must be positive");
	for (int r = 0; r < ROLES; r++)
		json_array_append_new(docs, make_role(r));
	for (int a = 0; a < APPS; a++)
		json_array_append_new(docs, make_app(a));
	char *text = json_dumps(docs, 0);
	if (pol == NULL || text == NULL)
		die("out of memory");
	if (rbac_policy_load(pol, "bench", text, strlen(text), on_diag, NULL) != 0 ||
	    rbac_policy_freeze(pol, on_diag, NULL) != 0)
		die("policy did not load");
	free(text);
	json_decref(docs);

	struct rbac_identity id = {0};
	char *roles[ROLES];
	char trait_name[] = "aws_role_arns", trait_value[] = "team000/from-trait", user[] = "alice";
	char *tv[] = {trait_value};
	struct rbac_trait trait = {trait_name, tv, 1};
	for (int r = 0; r < ROLES; r++) {
		roles[r] = malloc(16);
		snprintf(roles[r], 16, "role%03d", r);
	}
	id.user = user;
	id.roles = roles;
	id.nroles = ROLES;
	id.traits = &trait;
	id.ntraits = 1;
	id.from_extension = 1;
	id.not_before = NOW - 3600;
	id.not_after = NOW + 8 * 3600;
	struct rbac_subject *s;
	if (rbac_subject_new(pol, &id, &s, on_diag, NULL) != 0)
		die("no subject");

	/* The mix: 40% exact hits, 15% glob hits, 5% regex hits, 10% denied by
	 * a deny glob, 30% ARNs no pattern matches. Each against the app of
	 * its account. */
	static struct query q[QUERIES];
	unsigned long allowed = 0, mix[5] = {0};
	for (int i = 0; i < QUERIES; i++) {
		int r = (i * 37) % ROLES, k = (i * 11) % 100, app = r % APPS, kind;
		char acct[13];
		account(r, acct);
		if (k < 40)
			kind = 0, snprintf(q[i].arn, sizeof(q[i].arn), "arn:aws:iam::%s:role/team%03d/Exact%02d", acct,
					   r, 10 + i % 30);
		else if (k < 55)
			kind = 1, snprintf(q[i].arn, sizeof(q[i].arn), "arn:aws:iam::%s:role/team%03d/glob%02d-x%d",
					   acct, r, EXACT + i % GLOBS, i);
		else if (k < 60)
			kind = 2, snprintf(q[i].arn, sizeof(q[i].arn), "arn:aws:iam::%s:role/team%03d/re%02d-abc-%d",
					   acct, r, EXACT + GLOBS + i % 2, i % 10);
		else if (k < 70)
			kind = 3, r = 5 + 10 * (i % 10), app = r % APPS, account(r, acct),
			snprintf(q[i].arn, sizeof(q[i].arn), "arn:aws:iam::%s:role/team%03d/Exact0%d", acct, r, i % 10);
		else
			kind = 4, snprintf(q[i].arn, sizeof(q[i].arn), "arn:aws:iam::%s:role/team%03d/Nobody%d", acct, r,
					   i);
		char an[16];
		snprintf(an, sizeof(an), "app%d", app);
		q[i].app = rbac_policy_app(pol, an, strlen(an));
		q[i].len = strlen(q[i].arn);
		struct rbac_decision d;
		rbac_decide(s, q[i].app, q[i].arn, q[i].len, NOW, &d);
		if ((kind < 3) != (d.allow != 0)) {
			fprintf(stderr, "rbac_bench: query %d (%s) decided %s\n", i, q[i].arn, rbac_reason_str(d.reason));
			die("the policy does not decide as built");
		}
		mix[kind]++;
		allowed += d.allow != 0;
	}

	/* Warm up, then the best of |reps| loops. */
	double best = 0;
	unsigned long sink = 0;
	for (unsigned long rep = 0; rep <= reps; rep++) {
		struct rbac_decision d;
		counting = 1;
		double t0 = now_s();
		for (unsigned long i = 0; i < iters; i++) {
			const struct query *x = &q[i & (QUERIES - 1)];
			rbac_decide(s, x->app, x->arn, x->len, NOW, &d);
			sink += (unsigned long)d.allow;
		}
		double rate = (double)iters / (now_s() - t0);
		counting = 0;
		if (rep > 0 && rate > best)
			best = rate;
	}
	double sigs = signatures_per_second(20000);
	struct rbac_policy_stats st;
	rbac_policy_stats(pol, &st);

	printf("policy: %zu roles, %zu apps, %zu compiled patterns, %zu templates; identity holds %d roles\n", st.roles,
	       st.apps, st.patterns, st.templates, ROLES);
	printf("queries: %lu exact, %lu glob, %lu regex allowed; %lu denied by a deny rule, %lu matching nothing\n",
	       mix[0], mix[1], mix[2], mix[3], mix[4]);
	printf("decisions: %.0f per second on one core (best of %lu loops of %lu); goal %.0f: %s\n", best, reps, iters,
	       GOAL_DECISIONS, best >= GOAL_DECISIONS ? "ok" : "MISS");
	printf("allocations during the timed loops: %lu%s\n", allocations, allocations ? "  MISS" : "");
	printf("sv4_sign() of an STS request: %.0f per second; one decision costs %.3f of one signature\n", sigs,
	       sigs / best);
	rbac_subject_del(s);
	rbac_policy_unref(pol);
	for (int r = 0; r < ROLES; r++)
		free(roles[r]);
	(void)sink;
	return best >= GOAL_DECISIONS && allocations == 0 ? 0 : 1;
}
