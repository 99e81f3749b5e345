/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_resources.c: libFuzzer target that loads fuzzed resource documents and decides with them. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac/rbac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input is the bytes of one resource file, given to rbac_policy_load()
 * exactly sized (not NUL-terminated: the API takes a length). Whatever it
 * loads is frozen, and two identities are made subjects of it: "alice"
 * with roles and traits from the identity extension (role names the seed
 * corpus uses), and "alice" with those of her user resource, if the input
 * defines one.
 * Each subject decides a fixed set of ARNs in every app (at most 8), lists
 * and chooses roles, and explains. Nothing may crash, leak or read out of
 * bounds, and the answers must be consistent:
 *
 *   - every diagnostic has a NUL-terminated path and message, errors carry
 *     an RBAC_ERR_* code, and rbac_policy_load() returns the first one's;
 *   - a decision's reason is in range, allow is 1 exactly when the reason
 *     is "allowed", and an allowed decision has a session_ttl in (0, 30h]
 *     when no role sets a longer max_session_ttl (not checked) and at most
 *     the certificate's remaining life;
 *   - every role rbac_subject_roles() lists is allowed by rbac_decide().
 */

#define NOW 1700000000
#define NOT_AFTER (NOW + 3600)

static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_resources: invariant violated: %s\n", what);
	abort();
}

struct seen {
	int first_error;
};

static void diag_cb(void *arg, const struct rbac_diag *d)
{
	struct seen *s = arg;
	if (memchr(d->path, '\0', sizeof(d->path)) == NULL || memchr(d->msg, '\0', sizeof(d->msg)) == NULL)
		violated("a diagnostic without a NUL-terminated path or message");
	if (d->code > 0 || (d->code < 0 && (d->code > -201 || d->code < -299)))
		violated("a diagnostic code outside rbac's range");
	if (d->code < 0 && s->first_error == 0)
		s->first_error = d->code;
}

static const char *const arns[] = {
	"arn:aws:iam::123456789012:role/Admin",
	"arn:aws:iam::123456789012:role/ReadOnly",
	"arn:aws:iam::123456789012:role/team/PowerUser",
	"arn:aws:iam::210987654321:role/Admin",
	"arn:aws-us-gov:iam::123456789012:role/Admin",
	"arn:aws:iam::123456789012:user/alice",
	"arn:aws:iam::123456789012:role/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	"",
};

static void exercise(struct rbac_policy *pol, const struct rbac_identity *id)
{
	struct seen seen = {0};
	struct rbac_subject *s = NULL;
	if (rbac_subject_new(pol, id, &s, diag_cb, &seen) != 0)
		return;
	(void)rbac_subject_user(s);
	for (size_t i = 0; i < 300 && rbac_subject_role_at(s, i) != NULL; i++)
		;
	for (size_t a = 0; a < 8; a++) {
		const struct rbac_app *app = rbac_policy_app_at(pol, a);
		if (app == NULL)
			break;
		for (size_t k = 0; k < sizeof(arns) / sizeof(arns[0]); k++) {
			struct rbac_decision d;
			rbac_decide(s, app, arns[k], strlen(arns[k]), NOW, &d);
			if ((unsigned)d.reason > RBAC_DENY_NO_ARN)
				violated("a reason out of range");
			if ((d.allow != 0) != (d.reason == RBAC_ALLOWED))
				violated("allow and reason disagree");
			if (d.allow && (d.session_ttl == 0 || d.session_ttl > NOT_AFTER - NOW))
				violated("an allowed session_ttl outside (0, the certificate's life]");
			if (rbac_reason_str(d.reason) == NULL)
				violated("rbac_reason_str gave NULL");
			char buf[256];
			size_t need = rbac_decision_explain(&d, s, app, arns[k], buf, sizeof(buf));
			if (strlen(buf) != (need < sizeof(buf) ? need : sizeof(buf) - 1))
				violated("rbac_decision_explain is not snprintf-like");
		}
		struct rbac_role_choice list[16];
		size_t n = 0;
		rbac_subject_roles(s, app, NOW, list, 16, &n);
		for (size_t i = 0; i < n && i < 16; i++) {
			struct rbac_decision d;
			rbac_decide(s, app, list[i].arn, strlen(list[i].arn), NOW, &d);
			if (!d.allow)
				violated("a listed role that rbac_decide denies");
			if (i > 0 && strcmp(list[i - 1].arn, list[i].arn) >= 0)
				violated("a list not sorted or with duplicates");
		}
		const char *arn;
		struct rbac_diag diag;
		memset(&diag, 0, sizeof(diag));
		int rv = rbac_subject_choose(s, app, NULL, NOW, &arn, &diag);
		if (rv != 0 && rv != RBAC_ERR_NOT_FOUND && rv != RBAC_ERR_AMBIGUOUS)
			violated("rbac_subject_choose returned an undocumented code");
		rv = rbac_subject_choose(s, app, "Admin", NOW, &arn, &diag);
		if (rv != 0 && rv != RBAC_ERR_NOT_FOUND && rv != RBAC_ERR_AMBIGUOUS)
			violated("rbac_subject_choose returned an undocumented code");
	}
	rbac_subject_del(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char alice[] = "alice";
	static char r0[] = "access", r1[] = "dev", r2[] = "ops", r3[] = "admin", r4[] = "deny";
	static char a0[] = "arn:aws:iam::123456789012:role/ReadOnly", a1[] = "arn:aws:iam::123456789012:role/Admin*",
		    a2[] = "^arn:aws:iam::[0-9]+:role/(a+)+$";
	static char t0[] = "payments", t1[] = "search", e0[] = "alice@example.com", e1[] = "bob";
	static char n0[] = "aws_role_arns", n1[] = "team", n2[] = "email";
	static char *roles[] = {r0, r1, r2, r3, r4};
	static char *arn_values[] = {a0, a1, a2};
	static char *team_values[] = {t0, t1};
	static char *email_values[] = {e0, e1};
	static struct rbac_trait traits[] = {
		{n0, arn_values, 3},
		{n1, team_values, 2},
		{n2, email_values, 2},
	};

	struct seen seen = {0};
	struct rbac_policy *pol = rbac_policy_new();
	if (pol == NULL)
		return 0;
	int rv = rbac_policy_load(pol, "fuzz.json", (const char *)data, size, diag_cb, &seen);
	if (rv != seen.first_error)
		violated("rbac_policy_load did not return its first error's code");
	if (rbac_policy_freeze(pol, diag_cb, &seen) != 0) {
		rbac_policy_unref(pol);
		return 0;
	}
	struct rbac_policy_stats st;
	rbac_policy_stats(pol, &st);

	struct rbac_identity ext = {
		.user = alice,
		.roles = roles,
		.nroles = sizeof(roles) / sizeof(roles[0]),
		.traits = traits,
		.ntraits = sizeof(traits) / sizeof(traits[0]),
		.not_before = NOW - 60,
		.not_after = NOT_AFTER,
		.from_extension = 1,
	};
	exercise(pol, &ext);
	struct rbac_identity fromuser = {.user = alice, .not_before = NOW - 60, .not_after = NOT_AFTER};
	exercise(pol, &fromuser);

	for (size_t i = 0; i < 8; i++) {
		struct rbac_lock_info li;
		if (rbac_policy_lock_at(pol, i, &li) != 0)
			break;
		if ((li.user == NULL) == (li.role == NULL))
			violated("a lock without exactly one of user and role");
	}
	rbac_policy_unref(pol);
	return 0;
}
