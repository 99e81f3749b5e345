/* SPDX-License-Identifier: Apache-2.0 */
/* userstsr_test.c: a user's AssumeRole through the gate rewritten as the rules say, its refusals and limits, and the audit's action. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/pipeline.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) lit, sizeof(lit) - 1

struct sts_case {
	const char *name;
	const char *form;
	const char *user;
	int64_t left;
	int rv;
	enum px_reason reason;
	bool rewritten;
	const char *out;
	uint32_t duration;
};

#define AR "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s"
#define AR_OUT "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s"

/* The rules (issue 7): DurationSeconds capped to the session's time left,
 * SourceIdentity set to the user when absent, refused when another. */
static const struct sts_case sts_cases[] = {
	{"not-assume-role", "Action=GetCallerIdentity&Version=2011-06-15", "alice", 100, 0, PX_R_NONE, false, NULL, 0},
	{"assume-role-with-saml", "Action=AssumeRoleWithSAML&DurationSeconds=43200", "alice", 1000, 0, PX_R_NONE,
	 false, NULL, 0},
	{"no-action", "DurationSeconds=43200", "alice", 1000, 0, PX_R_NONE, false, NULL, 0},
	{"capped", AR "&DurationSeconds=43200", "alice", 1800, 0, PX_R_NONE, true,
	 AR_OUT "&DurationSeconds=1800&SourceIdentity=alice", 1800},
	{"default-capped", AR, "alice", 1200, 0, PX_R_NONE, true, AR_OUT "&DurationSeconds=1200&SourceIdentity=alice",
	 1200},
	{"default-fits", AR "&SourceIdentity=alice", "alice", 7200, 0, PX_R_NONE, false, NULL, 0},
	{"fits", AR "&DurationSeconds=900&SourceIdentity=alice", "alice", 7200, 0, PX_R_NONE, false, NULL, 900},
	{"identity-added-only", AR "&DurationSeconds=900", "alice", 7200, 0, PX_R_NONE, true,
	 AR_OUT "&DurationSeconds=900&SourceIdentity=alice", 900},
	{"identity-encoded", AR, "al ice+ops@ex.com", 7200, 0, PX_R_NONE, true,
	 AR_OUT "&SourceIdentity=al%20ice%2Bops%40ex.com", 0},
	{"identity-plus-is-space", AR "&SourceIdentity=al+ice", "al ice", 7200, 0, PX_R_NONE, false, NULL, 0},
	{"identity-other", AR "&SourceIdentity=bob", "alice", 7200, PX_ERR_REFUSED, PX_R_SOURCE_IDENTITY, false, NULL,
	 0},
	{"identity-prefix", AR "&SourceIdentity=alice2", "alice", 7200, PX_ERR_REFUSED, PX_R_SOURCE_IDENTITY, false,
	 NULL, 0},
	{"identity-not-checked", AR "&SourceIdentity=bob", NULL, 7200, 0, PX_R_NONE, false, NULL, 0},
	{"session-too-short", AR, "alice", 899, PX_ERR_REFUSED, PX_R_SESSION_TOO_SHORT, false, NULL, 0},
	{"under-sts-minimum-left-to-sts", AR "&DurationSeconds=60&SourceIdentity=alice", "alice", 100, 0, PX_R_NONE,
	 false, NULL, 60},
	{"duration-twice", AR "&DurationSeconds=900&DurationSeconds=43200", "alice", 7200, PX_ERR_REFUSED,
	 PX_R_REQUEST_MALFORMED, false, NULL, 0},
	{"action-twice", "Action=GetCallerIdentity&Action=AssumeRole", "alice", 7200, PX_ERR_REFUSED,
	 PX_R_REQUEST_MALFORMED, false, NULL, 0},
	{"action-encoded-twice", "Action=GetCallerIdentity&%41ction=AssumeRole", "alice", 7200, PX_ERR_REFUSED,
	 PX_R_REQUEST_MALFORMED, false, NULL, 0},
	{"identity-twice", AR "&SourceIdentity=alice&SourceIdentity=bob", "alice", 7200, PX_ERR_REFUSED,
	 PX_R_REQUEST_MALFORMED, false, NULL, 0},
	{"duration-not-number", AR "&DurationSeconds=1e4", "alice", 7200, PX_ERR_REFUSED, PX_R_REQUEST_MALFORMED,
	 false, NULL, 0},
	{"duration-empty", AR "&DurationSeconds=", "alice", 7200, PX_ERR_REFUSED, PX_R_REQUEST_MALFORMED, false, NULL,
	 0},
	{"duration-huge", AR "&DurationSeconds=99999999999", "alice", 7200, PX_ERR_REFUSED, PX_R_REQUEST_MALFORMED,
	 false, NULL, 0},
	{"broken-escape", AR "&Tags.member.1.Key=%G1", "alice", 7200, PX_ERR_REFUSED, PX_R_REQUEST_MALFORMED, false,
	 NULL, 0},
	{"escape-at-end", AR "&x=%4", "alice", 7200, PX_ERR_REFUSED, PX_R_REQUEST_MALFORMED, false, NULL, 0},
	{"reencoded", "Action=AssumeRole&Policy=%7B%22a%22%3A1%7D&Note=a+b~c", "alice", 1000, 0, PX_R_NONE, true,
	 "Action=AssumeRole&Policy=%7B%22a%22%3A1%7D&Note=a%20b~c&DurationSeconds=1000&SourceIdentity=alice", 1000},
	{"empty-pairs-dropped", "&&Action=AssumeRole&&", "alice", 1000, 0, PX_R_NONE, true,
	 "Action=AssumeRole&DurationSeconds=1000&SourceIdentity=alice", 1000},
};

static void test_rewrite(void **state)
{
	(void)state;
	static char out[PX_STS_MAX_FORM];
	for (size_t i = 0; i < LEN(sts_cases); i++) {
		const struct sts_case *c = &sts_cases[i];
		print_message("# %s\n", c->name);
		struct px_sts_user u = {c->user, c->left};
		struct px_sts_change chg;
		memset(&chg, 0x5a, sizeof(chg));
		size_t outlen = 4242;
		memset(out, 'Z', 16);
		struct px_refusal why = {PX_R_NONE, ""};
		int rv = px_sts_rewrite(c->form, strlen(c->form), &u, out, sizeof(out), &outlen, &chg, &why);
		assert_int_equal(rv, c->rv);
		if (rv != 0) {
			assert_string_equal(px_reason_info(why.reason)->name, px_reason_info(c->reason)->name);
			assert_int_equal(outlen, 4242);
			continue;
		}
		assert_int_equal(chg.rewritten, c->rewritten);
		if (!c->rewritten) {
			assert_int_equal(outlen, 4242);
			assert_int_equal(out[0], 'Z');
			if (chg.assume_role)
				assert_int_equal(chg.duration_seconds, c->duration);
			continue;
		}
		assert_true(chg.assume_role);
		assert_int_equal(outlen, strlen(c->out));
		assert_memory_equal(out, c->out, outlen);
		assert_int_equal(chg.duration_seconds, c->duration);
		/* the result needs no second rewrite */
		struct px_sts_change again;
		size_t l2 = 0;
		assert_int_equal(px_sts_rewrite(out, outlen, &u, out + outlen, sizeof(out) - outlen, &l2, &again, &why), 0);
		assert_false(again.rewritten);
	}
}

static void test_limits(void **state)
{
	(void)state;
	static char form[PX_STS_MAX_FORM + 2], out[PX_STS_MAX_FORM];
	struct px_sts_user u = {"alice", 1000};
	struct px_sts_change chg;
	struct px_refusal why;
	size_t ol;
	memset(form, 'a', sizeof(form));
	assert_int_equal(px_sts_rewrite(form, PX_STS_MAX_FORM + 1, &u, out, sizeof(out), &ol, &chg, &why),
	                 PX_ERR_TOO_LARGE);
	/* The result holds at most PX_STS_MAX_PARAMS pairs, the two the gate
	 * adds (DurationSeconds, SourceIdentity) included, so that it can be
	 * read again: MAX - 2 pairs are rewritten, one more is too many. */
	size_t n = 0;
	n += (size_t)snprintf(form, sizeof(form), "Action=AssumeRole");
	for (int i = 1; i < PX_STS_MAX_PARAMS - 2; i++)
		n += (size_t)snprintf(form + n, sizeof(form) - n, "&p%d=v", i);
	assert_int_equal(px_sts_rewrite(form, n, &u, out, sizeof(out), &ol, &chg, &why), 0);
	assert_true(chg.rewritten && chg.duration_capped && chg.source_identity_added);
	static char again[PX_STS_MAX_FORM];
	size_t l2;
	struct px_sts_change c2;
	assert_int_equal(px_sts_rewrite(out, ol, &u, again, sizeof(again), &l2, &c2, &why), 0);
	assert_false(c2.rewritten);
	n += (size_t)snprintf(form + n, sizeof(form) - n, "&x=y");
	assert_int_equal(px_sts_rewrite(form, n, &u, out, sizeof(out), &ol, &chg, &why), PX_ERR_TOO_LARGE);
	/* Over PX_STS_MAX_PARAMS pairs are not read at all. */
	for (int i = 0; i < 3; i++)
		n += (size_t)snprintf(form + n, sizeof(form) - n, "&y%d=z", i);
	assert_int_equal(px_sts_rewrite(form, n, &u, out, sizeof(out), &ol, &chg, &why), PX_ERR_TOO_LARGE);
	/* the output's room */
	assert_int_equal(px_sts_rewrite(S("Action=AssumeRole"), &u, out, 20, &ol, &chg, &why), PX_ERR_TOO_LARGE);
}

struct action_case {
	const char *name;
	const char *target; /* X-Amz-Target or NULL */
	const char *query;
	const char *form;
	int rv;
	const char *action;
};

static const struct action_case action_cases[] = {
	{"target", "DynamoDB_20120810.GetItem", "", NULL, 0, "GetItem"},
	{"target-no-dot", "GetItem", "", NULL, 0, "GetItem"},
	{"target-wins", "Kinesis_20131202.PutRecord", "Action=Other", NULL, 0, "PutRecord"},
	{"query", NULL, "Version=1&Action=DescribeInstances", NULL, 0, "DescribeInstances"},
	{"form", NULL, "", "Action=AssumeRole&Version=2011-06-15", 0, "AssumeRole"},
	{"query-before-form", NULL, "Action=A", "Action=B", 0, "A"},
	{"none", NULL, "list-type=2", "{}", 0, ""},
	{"xaction-is-not", NULL, "XAction=1", NULL, 0, ""},
	{"encoded", NULL, "Action=Get%43allerIdentity", NULL, 0, "GetCallerIdentity"},
	{"bad-bytes", NULL, "Action=Get%0ACaller", NULL, PX_ERR_RANGE, NULL},
	{"bad-target", "x.Get Item", "", NULL, PX_ERR_RANGE, NULL},
	{"too-long", NULL,
	 "Action=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaa",
	 NULL, PX_ERR_RANGE, NULL},
};

static void test_action(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(action_cases); i++) {
		const struct action_case *c = &action_cases[i];
		print_message("# %s\n", c->name);
		struct sv4_header h[2] = {{S("Content-Type"), S("x")}, {S("X-Amz-Target"), NULL, 0}};
		if (c->target) {
			h[1].value = c->target;
			h[1].valuelen = strlen(c->target);
		}
		struct sv4_request req = {S("POST"), S("/"), c->query, strlen(c->query), h, c->target ? 2 : 1, NULL, 0};
		char action[PX_MAX_ACTION + 1];
		memset(action, 'Z', sizeof(action));
		int rv = px_action_extract(&req, c->form, c->form ? strlen(c->form) : 0, action);
		assert_int_equal(rv, c->rv);
		if (rv == 0)
			assert_string_equal(action, c->action);
		else
			assert_int_equal(action[0], 'Z');
	}
	/* exactly PX_MAX_ACTION bytes are accepted */
	char q[8 + PX_MAX_ACTION + 1], action[PX_MAX_ACTION + 1];
	memcpy(q, "Action=", 7);
	memset(q + 7, 'b', PX_MAX_ACTION);
	struct sv4_request req = {S("GET"), S("/"), q, 7 + PX_MAX_ACTION, NULL, 0, NULL, 0};
	assert_int_equal(px_action_extract(&req, NULL, 0, action), 0);
	assert_int_equal(strlen(action), PX_MAX_ACTION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_action),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
