/* SPDX-License-Identifier: Apache-2.0 */
/* decide_test.c: runs the decision table in tests/data/rbac/decisions/ through rbac_decide(), rbac_subject_roles() and rbac_subject_choose(). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rbac/rbac.h"

/*
 * The table is written from docs/RBAC.md and rbac/rbac.h, not from the
 * implementation. Each file of tests/data/rbac/decisions/ (README.md there
 * documents the format) holds:
 *
 *   {"description": "what the file covers",
 *    "resources": [Teleport-shaped role, user, app and lock documents],
 *    "defaults": {"identity": {...}, "app": "prod", "now": 1700000000},
 *    "cases": [CASE...],
 *    "matches": [{"name", "pattern", "subject", "expect": true|false|"invalid"}],
 *    "expansion_traits": {"name": ["value", ...]},
 *    "expansions": [{"name", "template", "traits"?, "expect": ["value"...]|"invalid"}]}
 *
 * A CASE is {"name", "doc"?, "identity"?, "app"?, "now"?, one operation,
 * "expect"}. Its identity is defaults.identity with the case's keys laid
 * over it: "user" (string or null), "roles", "traits" {"name": [values]},
 * "from_extension" (false: roles and traits come from the user resource),
 * "not_before" (default 0), "not_after" (default 2000000000). The operation
 * is one of
 *
 *   "arn": "arn:..."        rbac_decide(); expect "allow" and "reason",
 *                           and optionally "role", "rule", "rule_prefix",
 *                           "pattern", "lock", "message", "session_ttl";
 *   "list": true | {"max": N}
 *                           rbac_subject_roles(); expect "roles": [{"arn",
 *                           "name"?, "path"?, "account"?, "session_ttl"?}]
 *                           in order, and optionally "n" (the count found,
 *                           which exceeds "max" when the output is cut);
 *   "choose": "name" | null rbac_subject_choose(); expect "rv" ("ok",
 *                           "not-found", "ambiguous"), "arn" and
 *                           "msg_contains" (substrings of diag.msg).
 *
 * In "role", "rule", "pattern", "lock" and "message", null means the field
 * must be NULL and an array means any one of its values will do (used where
 * docs/RBAC.md leaves a choice open; README.md lists them). Every case may
 * also expect "subject_error" (rbac_subject_new() fails with that code:
 * "invalid", "too-large"), "subject_roles" (rbac_subject_role_at() in
 * order) and "subject_warnings" (a substring that some warning of
 * rbac_subject_new() must hold, per element).
 *
 * Unknown keys anywhere in a case are an error of the table, so that a
 * misspelt expectation cannot silently check nothing. Decision cases
 * (decide, list, choose) are counted and the last test fails when fewer
 * than MIN_DECISION_CASES ran: the table cannot silently shrink. Each case
 * loads its file's resources into a fresh policy and frees all of it, so
 * that ASan's leak checker sees any leak of the library.
 */

#define MIN_DECISION_CASES 150
#define MAX_LIST 64
#define DEFAULT_NOT_AFTER 2000000000
#define DIAG_TEXT 8192

struct tcase {
	const char *file; /* borrowed from files[] */
	json_t *doc;      /* the whole file (borrowed) */
	json_t *c;        /* the case (borrowed); NULL for the count check */
	char name[400];
	int kind; /* 0 decision case, 1 match, 2 expansion, 3 count check */
};

static size_t decision_cases_run;
static size_t decision_cases_total;

/* --- small helpers ------------------------------------------------------ */

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	assert_non_null(p);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	assert_non_null(p);
	return p;
}

/* Fails the table (not the library) when |ok| is false. */
static void table_check(int ok, const struct tcase *tc, const char *what)
{
	if (!ok) {
		print_error("%s: the table is malformed: %s\n", tc->name, what);
		fail();
	}
}

/* Checks that |obj| has no key outside |allowed| (NULL-terminated). */
static void only_keys(const struct tcase *tc, const json_t *obj, const char *const *allowed, const char *where)
{
	const char *key;
	json_t *v;
	table_check(json_is_object(obj), tc, where);
	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		int found = 0;
		(void)v;
		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				found = 1;
		if (!found) {
			print_error("%s: the table is malformed: unknown key \"%s\" in %s\n", tc->name, key, where);
			fail();
		}
	}
}

static const char *const reason_tokens[] = {
	[RBAC_ALLOWED] = "allowed",
	[RBAC_DENY_NOT_YET_VALID] = "not-yet-valid",
	[RBAC_DENY_EXPIRED] = "expired",
	[RBAC_DENY_LOCKED] = "locked",
	[RBAC_DENY_BAD_ARN] = "bad-arn",
	[RBAC_DENY_ACCOUNT] = "account-mismatch",
	[RBAC_DENY_RULE_APP] = "deny-rule-app",
	[RBAC_DENY_RULE_ARN] = "deny-rule-arn",
	[RBAC_DENY_NO_ROLES] = "no-roles",
	[RBAC_DENY_NO_APP] = "no-role-for-app",
	[RBAC_DENY_NO_ARN] = "no-role-for-arn",
};
#define NREASONS (sizeof(reason_tokens) / sizeof(reason_tokens[0]))

static int reason_from_token(const char *s)
{
	for (size_t i = 0; i < NREASONS; i++)
		if (strcmp(s, reason_tokens[i]) == 0)
			return (int)i;
	return -1;
}

static const char *reason_name(int r)
{
	return r >= 0 && (size_t)r < NREASONS ? reason_tokens[r] : "(out of range)";
}

static const struct {
	const char *token;
	int code;
} codes[] = {
	{"ok", 0},
	{"nomem", RBAC_ERR_NOMEM},
	{"syntax", RBAC_ERR_SYNTAX},
	{"invalid", RBAC_ERR_INVALID},
	{"duplicate", RBAC_ERR_DUPLICATE},
	{"not-found", RBAC_ERR_NOT_FOUND},
	{"ambiguous", RBAC_ERR_AMBIGUOUS},
	{"too-large", RBAC_ERR_TOO_LARGE},
};

static int code_from_token(const struct tcase *tc, const char *s)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(s, codes[i].token) == 0)
			return codes[i].code;
	table_check(0, tc, "unknown error code token");
	return 1;
}

static const char *code_name(int code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].token;
	return rbac_strerror(code);
}

/* --- diagnostics -------------------------------------------------------- */

/* Warnings and errors of one case, kept as text for "subject_warnings" and
 * for printing when a case fails. */
struct diags {
	char text[DIAG_TEXT];
	size_t len;
	size_t nerrors;
	size_t nwarnings;
	size_t mark; /* where rbac_subject_new()'s diagnostics start */
};

static void diag_cb(void *arg, const struct rbac_diag *d)
{
	struct diags *ds = arg;
	if (d->code < 0)
		ds->nerrors++;
	else
		ds->nwarnings++;
	if (ds->len < sizeof(ds->text)) {
		int n = snprintf(ds->text + ds->len, sizeof(ds->text) - ds->len, "%s %s:%d:%d %s: %s\n",
				 d->code < 0 ? "error" : "warning", d->file ? d->file : "(no file)", d->line,
				 d->column, d->path, d->msg);
		if (n > 0)
			ds->len += (size_t)n;
		if (ds->len > sizeof(ds->text) - 1)
			ds->len = sizeof(ds->text) - 1;
	}
}

/* --- building the policy and the identity ------------------------------ */

static struct rbac_policy *load_policy(const struct tcase *tc, struct diags *ds)
{
	json_t *res = json_object_get(tc->doc, "resources");
	table_check(json_is_array(res), tc, "\"resources\" is not an array");
	char *text = json_dumps(res, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	struct rbac_policy *pol = rbac_policy_new();
	assert_non_null(pol);
	int rv = rbac_policy_load(pol, tc->file, text, strlen(text), diag_cb, ds);
	free(text);
	if (rv != 0 || ds->nerrors != 0) {
		print_error("%s: the resources of %s do not load: %s (%d)\n%.*s", tc->name, tc->file,
			    rbac_strerror(rv), rv, (int)ds->len, ds->text);
		rbac_policy_unref(pol);
		fail();
	}
	rv = rbac_policy_freeze(pol, diag_cb, ds);
	if (rv != 0 || ds->nerrors != 0) {
		print_error("%s: rbac_policy_freeze: %s (%d)\n%.*s", tc->name, rbac_strerror(rv), rv, (int)ds->len,
			    ds->text);
		rbac_policy_unref(pol);
		fail();
	}
	return pol;
}

/* The case's identity: defaults.identity with the case's keys over it. */
static json_t *merged_identity(const struct tcase *tc)
{
	static const char *const keys[] = {"user", "roles", "traits", "from_extension", "not_before", "not_after",
					   NULL};
	json_t *out = json_object();
	json_t *defaults = json_object_get(tc->doc, "defaults");
	json_t *d = defaults ? json_object_get(defaults, "identity") : NULL;
	json_t *c = json_object_get(tc->c, "identity");
	assert_non_null(out);
	if (d != NULL) {
		only_keys(tc, d, keys, "defaults.identity");
		json_object_update(out, d);
	}
	if (c != NULL) {
		only_keys(tc, c, keys, "identity");
		json_object_update(out, c);
	}
	return out;
}

static int64_t int_or(const struct tcase *tc, json_t *obj, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return dflt;
	table_check(json_is_integer(v), tc, key);
	return (int64_t)json_integer_value(v);
}

static void build_identity(const struct tcase *tc, json_t *j, struct rbac_identity *id)
{
	memset(id, 0, sizeof(*id));
	json_t *user = json_object_get(j, "user");
	if (user != NULL && !json_is_null(user)) {
		table_check(json_is_string(user), tc, "identity.user");
		id->user = xstrdup(json_string_value(user));
	}
	json_t *roles = json_object_get(j, "roles");
	if (roles != NULL) {
		table_check(json_is_array(roles), tc, "identity.roles");
		id->nroles = json_array_size(roles);
		id->roles = xcalloc(id->nroles, sizeof(*id->roles));
		for (size_t i = 0; i < id->nroles; i++) {
			json_t *r = json_array_get(roles, i);
			table_check(json_is_string(r), tc, "identity.roles[]");
			id->roles[i] = xstrdup(json_string_value(r));
		}
	}
	json_t *traits = json_object_get(j, "traits");
	if (traits != NULL) {
		const char *key;
		json_t *vals;
		size_t t = 0;
		table_check(json_is_object(traits), tc, "identity.traits");
		id->ntraits = json_object_size(traits);
		id->traits = xcalloc(id->ntraits, sizeof(*id->traits));
		json_object_foreach(traits, key, vals) {
			struct rbac_trait *tr = &id->traits[t++];
			table_check(json_is_array(vals), tc, "identity.traits values");
			tr->name = xstrdup(key);
			tr->nvalues = json_array_size(vals);
			tr->values = xcalloc(tr->nvalues, sizeof(*tr->values));
			for (size_t i = 0; i < tr->nvalues; i++) {
				json_t *v = json_array_get(vals, i);
				table_check(json_is_string(v), tc, "identity.traits value");
				tr->values[i] = xstrndup(json_string_value(v), json_string_length(v));
			}
		}
	}
	json_t *fe = json_object_get(j, "from_extension");
	if (fe != NULL) {
		table_check(json_is_boolean(fe), tc, "identity.from_extension");
		id->from_extension = json_is_true(fe) ? 1u : 0u;
	}
	id->not_before = int_or(tc, j, "not_before", 0);
	id->not_after = int_or(tc, j, "not_after", DEFAULT_NOT_AFTER);
}

/* The case's value of |key|, else the file's default. */
static json_t *case_or_default(const struct tcase *tc, const char *key)
{
	json_t *v = json_object_get(tc->c, key);
	if (v == NULL) {
		json_t *defaults = json_object_get(tc->doc, "defaults");
		v = defaults ? json_object_get(defaults, key) : NULL;
	}
	return v;
}

/* --- comparing ---------------------------------------------------------- */

/* Compares |got| with |want|: null (must be NULL), a string, or an array
 * of strings (any one). Prints and returns 1 on a mismatch. */
static int check_str(const struct tcase *tc, const char *field, const char *got, json_t *want)
{
	if (want == NULL)
		return 0;
	if (json_is_null(want)) {
		if (got == NULL)
			return 0;
		print_error("%s: %s: got \"%s\", want NULL\n", tc->name, field, got);
		return 1;
	}
	if (json_is_string(want)) {
		if (got != NULL && strcmp(got, json_string_value(want)) == 0)
			return 0;
		print_error("%s: %s: got %s%s%s, want \"%s\"\n", tc->name, field, got ? "\"" : "",
			    got ? got : "NULL", got ? "\"" : "", json_string_value(want));
		return 1;
	}
	table_check(json_is_array(want), tc, field);
	size_t i;
	json_t *w;
	json_array_foreach(want, i, w) {
		table_check(json_is_string(w), tc, field);
		if (got != NULL && strcmp(got, json_string_value(w)) == 0)
			return 0;
	}
	char *alts = json_dumps(want, JSON_COMPACT);
	print_error("%s: %s: got %s%s%s, want one of %s\n", tc->name, field, got ? "\"" : "", got ? got : "NULL",
		    got ? "\"" : "", alts ? alts : "?");
	free(alts);
	return 1;
}

static int check_subject(const struct tcase *tc, struct rbac_subject *s, json_t *expect, const struct diags *ds)
{
	int bad = 0;
	json_t *roles = json_object_get(expect, "subject_roles");
	if (roles != NULL) {
		size_t i;
		json_t *r;
		table_check(json_is_array(roles), tc, "subject_roles");
		json_array_foreach(roles, i, r) {
			const char *got = rbac_subject_role_at(s, i);
			if (got == NULL || strcmp(got, json_string_value(r)) != 0) {
				print_error("%s: subject role %zu: got %s, want %s\n", tc->name, i, got ? got : "NULL",
					    json_string_value(r));
				bad = 1;
			}
		}
		const char *extra = rbac_subject_role_at(s, json_array_size(roles));
		if (extra != NULL) {
			print_error("%s: subject role %zu: got %s, want none\n", tc->name, json_array_size(roles),
				    extra);
			bad = 1;
		}
	}
	json_t *warns = json_object_get(expect, "subject_warnings");
	if (warns != NULL) {
		size_t i;
		json_t *w;
		table_check(json_is_array(warns), tc, "subject_warnings");
		json_array_foreach(warns, i, w) {
			table_check(json_is_string(w), tc, "subject_warnings[]");
			if (strstr(ds->text + ds->mark, json_string_value(w)) == NULL) {
				print_error("%s: no warning of rbac_subject_new() names \"%s\"; it said:\n%s", tc->name,
					    json_string_value(w), ds->text + ds->mark);
				bad = 1;
			}
		}
	}
	json_t *user = json_object_get(expect, "subject_user");
	if (user != NULL)
		bad |= check_str(tc, "subject user", rbac_subject_user(s), user);
	return bad;
}

static int check_decision(const struct tcase *tc, struct rbac_subject *s, const struct rbac_app *app, json_t *arnj,
			  int64_t now, json_t *expect)
{
	static const char *const keys[] = {"allow",   "reason",  "role",        "rule",
					   "rule_prefix", "pattern", "lock",        "message",
					   "session_ttl", "subject_roles", "subject_warnings", "subject_user", NULL};
	only_keys(tc, expect, keys, "expect");
	json_t *allow = json_object_get(expect, "allow");
	json_t *reason = json_object_get(expect, "reason");
	table_check(json_is_boolean(allow), tc, "expect.allow is required");
	table_check(json_is_string(reason), tc, "expect.reason is required");
	int want_reason = reason_from_token(json_string_value(reason));
	table_check(want_reason >= 0, tc, "expect.reason is not a reason");
	table_check(json_is_true(allow) == (want_reason == RBAC_ALLOWED), tc, "allow and reason disagree");

	const char *arn = json_string_value(arnj);
	size_t len = json_string_length(arnj);
	struct rbac_decision d;
	memset(&d, 0x5a, sizeof(d)); /* so that a field left unwritten shows */
	rbac_decide(s, app, arn, len, now, &d);

	int bad = 0;
	/* rbac_decide() writes all of |*d|: a pointer it leaves holding the
	 * 0x5a filler would crash a caller that logs it. */
	const char **ptrs[] = {&d.role, &d.rule, &d.pattern, &d.lock, &d.message};
	static const char *const pnames[] = {"role", "rule", "pattern", "lock", "message"};
	for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		uintptr_t filler;
		memset(&filler, 0x5a, sizeof(filler));
		if ((uintptr_t)*ptrs[i] == filler) {
			print_error("%s: rbac_decide left d->%s unwritten\n", tc->name, pnames[i]);
			*ptrs[i] = NULL;
			bad = 1;
		}
	}
	if ((d.allow != 0) != json_is_true(allow)) {
		print_error("%s: allow: got %d, want %d\n", tc->name, d.allow, json_is_true(allow));
		bad = 1;
	}
	if ((int)d.reason != want_reason) {
		print_error("%s: reason: got %s (%d), want %s\n", tc->name, reason_name((int)d.reason), (int)d.reason,
			    reason_name(want_reason));
		bad = 1;
	}
	/* rbac_reason_str() gives the tokens rbac.h lists. */
	if ((size_t)d.reason < NREASONS && strcmp(rbac_reason_str(d.reason), reason_tokens[d.reason]) != 0) {
		print_error("%s: rbac_reason_str(%d) is \"%s\", rbac.h says \"%s\"\n", tc->name, (int)d.reason,
			    rbac_reason_str(d.reason), reason_tokens[d.reason]);
		bad = 1;
	}
	if ((size_t)d.reason < NREASONS) {
		bad |= check_str(tc, "role", d.role, json_object_get(expect, "role"));
		bad |= check_str(tc, "rule", d.rule, json_object_get(expect, "rule"));
		bad |= check_str(tc, "pattern", d.pattern, json_object_get(expect, "pattern"));
		bad |= check_str(tc, "lock", d.lock, json_object_get(expect, "lock"));
		bad |= check_str(tc, "message", d.message, json_object_get(expect, "message"));
		json_t *prefix = json_object_get(expect, "rule_prefix");
		if (prefix != NULL) {
			const char *p = json_string_value(prefix);
			table_check(p != NULL, tc, "rule_prefix");
			if (d.rule == NULL || strncmp(d.rule, p, strlen(p)) != 0) {
				print_error("%s: rule: got %s, want one that starts with \"%s\"\n", tc->name,
					    d.rule ? d.rule : "NULL", p);
				bad = 1;
			}
		}
	}
	json_t *ttl = json_object_get(expect, "session_ttl");
	if (ttl != NULL) {
		table_check(json_is_integer(ttl), tc, "session_ttl");
		if ((json_int_t)d.session_ttl != json_integer_value(ttl)) {
			print_error("%s: session_ttl: got %u, want %lld\n", tc->name, d.session_ttl,
				    (long long)json_integer_value(ttl));
			bad = 1;
		}
	}

	/* rbac_decision_explain() behaves as snprintf does, whatever it says. */
	if ((size_t)d.reason < NREASONS) {
		char buf[1024], tiny[1];
		size_t need = rbac_decision_explain(&d, s, app, arn, buf, sizeof(buf));
		size_t need1 = rbac_decision_explain(&d, s, app, arn, tiny, sizeof(tiny));
		if (strlen(buf) != (need < sizeof(buf) ? need : sizeof(buf) - 1) || need == 0 || need1 != need ||
		    tiny[0] != '\0') {
			print_error("%s: rbac_decision_explain: returned %zu then %zu, wrote \"%s\" (%zu bytes)\n",
				    tc->name, need, need1, buf, strlen(buf));
			bad = 1;
		}
	}
	if (bad) {
		print_error("%s: got allow=%d reason=%s role=%s rule=%s pattern=%s lock=%s message=%s ttl=%u\n",
			    tc->name, d.allow, reason_name((int)d.reason),
			    (size_t)d.reason < NREASONS && d.role ? d.role : "NULL",
			    (size_t)d.reason < NREASONS && d.rule ? d.rule : "NULL",
			    (size_t)d.reason < NREASONS && d.pattern ? d.pattern : "NULL",
			    (size_t)d.reason < NREASONS && d.lock ? d.lock : "NULL",
			    (size_t)d.reason < NREASONS && d.message ? d.message : "NULL", d.session_ttl);
	}
	return bad;
}

static void print_list(const struct tcase *tc, const struct rbac_role_choice *got, size_t n)
{
	print_error("%s: rbac_subject_roles() listed %zu:\n", tc->name, n);
	for (size_t i = 0; i < n && i < MAX_LIST; i++)
		print_error("  %s name=%s path=%s account=%s ttl=%u\n", got[i].arn ? got[i].arn : "NULL",
			    got[i].name ? got[i].name : "NULL", got[i].path ? got[i].path : "NULL",
			    got[i].account ? got[i].account : "NULL", got[i].session_ttl);
}

static int check_list(const struct tcase *tc, struct rbac_subject *s, const struct rbac_app *app, json_t *list,
		      int64_t now, json_t *expect)
{
	static const char *const keys[] = {"roles", "n", "subject_roles", "subject_warnings", "subject_user", NULL};
	static const char *const entry_keys[] = {"arn", "name", "path", "account", "session_ttl", NULL};
	static const char *const list_keys[] = {"max", NULL};
	only_keys(tc, expect, keys, "expect");
	json_t *want = json_object_get(expect, "roles");
	table_check(json_is_array(want), tc, "expect.roles is required");
	size_t max = MAX_LIST;
	if (json_is_object(list)) {
		only_keys(tc, list, list_keys, "list");
		max = (size_t)int_or(tc, list, "max", MAX_LIST);
		table_check(max <= MAX_LIST, tc, "list.max");
	} else {
		table_check(json_is_true(list), tc, "list is true or {\"max\": N}");
	}
	struct rbac_role_choice got[MAX_LIST + 1];
	memset(got, 0, sizeof(got));
	got[max].arn = "(canary)"; /* past |max|: must stay untouched */
	size_t n = (size_t)-1;
	int rv = rbac_subject_roles(s, app, now, got, max, &n);
	int bad = 0;
	if (rv != 0) {
		print_error("%s: rbac_subject_roles returned %d, want 0\n", tc->name, rv);
		return 1;
	}
	if (got[max].arn == NULL || strcmp(got[max].arn, "(canary)") != 0) {
		print_error("%s: rbac_subject_roles wrote past max=%zu\n", tc->name, max);
		bad = 1;
	}
	size_t want_n = json_array_size(want);
	json_t *nj = json_object_get(expect, "n");
	if (nj != NULL)
		want_n = (size_t)json_integer_value(nj);
	else
		table_check(want_n <= max, tc, "a cut list needs \"n\"");
	if (n != want_n) {
		print_error("%s: count: got %zu, want %zu\n", tc->name, n, want_n);
		bad = 1;
	}
	size_t shown = n < max ? n : max;
	if (shown != json_array_size(want)) {
		print_error("%s: entries: got %zu, want %zu\n", tc->name, shown, json_array_size(want));
		bad = 1;
	}
	size_t i;
	json_t *w;
	json_array_foreach(want, i, w) {
		only_keys(tc, w, entry_keys, "expect.roles[]");
		if (i >= shown)
			break;
		char field[64];
		snprintf(field, sizeof(field), "roles[%zu].arn", i);
		bad |= check_str(tc, field, got[i].arn, json_object_get(w, "arn"));
		snprintf(field, sizeof(field), "roles[%zu].name", i);
		bad |= check_str(tc, field, got[i].name, json_object_get(w, "name"));
		snprintf(field, sizeof(field), "roles[%zu].path", i);
		bad |= check_str(tc, field, got[i].path, json_object_get(w, "path"));
		snprintf(field, sizeof(field), "roles[%zu].account", i);
		bad |= check_str(tc, field, got[i].account, json_object_get(w, "account"));
		json_t *ttl = json_object_get(w, "session_ttl");
		if (ttl != NULL && (json_int_t)got[i].session_ttl != json_integer_value(ttl)) {
			print_error("%s: roles[%zu].session_ttl: got %u, want %lld\n", tc->name, i,
				    got[i].session_ttl, (long long)json_integer_value(ttl));
			bad = 1;
		}
	}
	/* Every listed role is one that rbac_decide() allows. */
	for (i = 0; i < shown; i++) {
		struct rbac_decision d;
		if (got[i].arn == NULL)
			continue;
		rbac_decide(s, app, got[i].arn, strlen(got[i].arn), now, &d);
		if (!d.allow) {
			print_error("%s: listed %s, which rbac_decide() denies (%s)\n", tc->name, got[i].arn,
				    reason_name((int)d.reason));
			bad = 1;
		}
	}
	if (bad)
		print_list(tc, got, n);
	return bad;
}

static int check_choose(const struct tcase *tc, struct rbac_subject *s, const struct rbac_app *app, json_t *want,
			int64_t now, json_t *expect)
{
	static const char *const keys[] = {"rv", "arn", "msg_contains", "subject_roles", "subject_warnings",
					   "subject_user", NULL};
	only_keys(tc, expect, keys, "expect");
	json_t *rvj = json_object_get(expect, "rv");
	table_check(json_is_string(rvj), tc, "expect.rv is required");
	int want_rv = code_from_token(tc, json_string_value(rvj));
	table_check(json_is_null(want) || json_is_string(want), tc, "choose is a string or null");
	const char *w = json_is_null(want) ? NULL : json_string_value(want);
	const char *arn = "(unwritten)";
	struct rbac_diag diag;
	memset(&diag, 0, sizeof(diag));
	int rv = rbac_subject_choose(s, app, w, now, &arn, &diag);
	int bad = 0;
	if (rv != want_rv) {
		print_error("%s: rbac_subject_choose(%s): got %s (%d), want %s\n", tc->name, w ? w : "NULL",
			    code_name(rv), rv, code_name(want_rv));
		bad = 1;
	}
	if (rv == 0)
		bad |= check_str(tc, "chosen arn", arn, json_object_get(expect, "arn"));
	else if (strcmp(arn, "(unwritten)") != 0) {
		print_error("%s: rbac_subject_choose failed but wrote *arn\n", tc->name);
		bad = 1;
	}
	json_t *subs = json_object_get(expect, "msg_contains");
	if (subs != NULL) {
		size_t i;
		json_t *sub;
		table_check(json_is_array(subs), tc, "msg_contains");
		diag.msg[sizeof(diag.msg) - 1] = '\0';
		json_array_foreach(subs, i, sub) {
			if (strstr(diag.msg, json_string_value(sub)) == NULL) {
				print_error("%s: diag.msg does not hold \"%s\"\n", tc->name, json_string_value(sub));
				bad = 1;
			}
		}
	}
	if (bad)
		print_error("%s: got rv=%d arn=%s msg=\"%s\"\n", tc->name, rv, rv == 0 && arn ? arn : "-", diag.msg);
	return bad;
}

/* --- one decision case --------------------------------------------------- */

static void run_case(const struct tcase *tc)
{
	static const char *const keys[] = {"name", "doc", "identity", "app", "now", "arn", "list", "choose", "expect",
					   NULL};
	only_keys(tc, tc->c, keys, "case");
	json_t *expect = json_object_get(tc->c, "expect");
	table_check(json_is_object(expect), tc, "expect is required");
	json_t *arn = json_object_get(tc->c, "arn");
	json_t *list = json_object_get(tc->c, "list");
	json_t *choose = json_object_get(tc->c, "choose");
	table_check((arn != NULL) + (list != NULL) + (choose != NULL) == 1, tc,
		    "a case has exactly one of arn, list, choose");
	table_check(arn == NULL || json_is_string(arn), tc, "arn is a string");

	struct diags *ds = xcalloc(1, sizeof(*ds));
	struct rbac_policy *pol = load_policy(tc, ds);
	json_t *idj = merged_identity(tc);
	struct rbac_identity id;
	build_identity(tc, idj, &id);
	json_decref(idj);

	json_t *appj = case_or_default(tc, "app");
	table_check(json_is_string(appj), tc, "app (or defaults.app) is required");
	const struct rbac_app *app = rbac_policy_app(pol, json_string_value(appj), json_string_length(appj));
	if (app == NULL) {
		print_error("%s: no app \"%s\" in the resources\n", tc->name, json_string_value(appj));
		fail();
	}
	json_t *nowj = case_or_default(tc, "now");
	table_check(json_is_integer(nowj), tc, "now (or defaults.now) is required");
	int64_t now = (int64_t)json_integer_value(nowj);

	ds->mark = ds->len;
	struct rbac_subject *s = NULL;
	int rv = rbac_subject_new(pol, &id, &s, diag_cb, ds);
	rbac_identity_free(&id);
	int bad = 0;
	json_t *serr = json_object_get(expect, "subject_error");
	if (serr != NULL) {
		int want = code_from_token(tc, json_string_value(serr));
		if (rv != want) {
			print_error("%s: rbac_subject_new: got %s (%d), want %s\n", tc->name, code_name(rv), rv,
				    code_name(want));
			bad = 1;
		}
	} else if (rv != 0) {
		print_error("%s: rbac_subject_new failed: %s (%d)\n%.*s", tc->name, rbac_strerror(rv), rv,
			    (int)ds->len, ds->text);
		bad = 1;
	}
	if (rv == 0 && serr == NULL) {
		bad |= check_subject(tc, s, expect, ds);
		if (arn != NULL)
			bad |= check_decision(tc, s, app, arn, now, expect);
		else if (list != NULL)
			bad |= check_list(tc, s, app, list, now, expect);
		else
			bad |= check_choose(tc, s, app, choose, now, expect);
	} else if (serr != NULL) {
		static const char *const skeys[] = {"subject_error", NULL};
		only_keys(tc, expect, skeys, "expect (with subject_error)");
	}
	if (bad && ds->len > 0)
		print_error("%s: diagnostics:\n%.*s", tc->name, (int)ds->len, ds->text);
	rbac_subject_del(s);
	rbac_policy_unref(pol);
	free(ds);
	if (bad)
		fail();
}

/* --- pattern and template tables ---------------------------------------- */

static void run_match(const struct tcase *tc)
{
	static const char *const keys[] = {"name", "doc", "pattern", "subject", "expect", NULL};
	only_keys(tc, tc->c, keys, "match");
	json_t *pat = json_object_get(tc->c, "pattern");
	json_t *sub = json_object_get(tc->c, "subject");
	json_t *exp = json_object_get(tc->c, "expect");
	table_check(json_is_string(pat) && json_is_string(sub), tc, "pattern and subject are strings");
	int want = json_is_true(exp) ? 1 : json_is_false(exp) ? 0 : RBAC_ERR_INVALID;
	table_check(json_is_boolean(exp) || (json_is_string(exp) && strcmp(json_string_value(exp), "invalid") == 0),
		    tc, "expect is true, false or \"invalid\"");
	int got = rbac_pattern_match(json_string_value(pat), json_string_value(sub), json_string_length(sub));
	if (got != want) {
		print_error("%s: rbac_pattern_match(\"%s\", \"%s\"): got %d, want %d\n", tc->name,
			    json_string_value(pat), json_string_value(sub), got, want);
		fail();
	}
}

struct emitted {
	char *values[64];
	size_t n;
	int overflow;
};

static void emit_cb(void *arg, const char *value, size_t len)
{
	struct emitted *e = arg;
	if (e->n == sizeof(e->values) / sizeof(e->values[0])) {
		e->overflow = 1;
		return;
	}
	e->values[e->n++] = xstrndup(value, len);
}

static void run_expansion(const struct tcase *tc)
{
	static const char *const keys[] = {"name", "doc", "template", "traits", "expect", NULL};
	only_keys(tc, tc->c, keys, "expansion");
	json_t *tmpl = json_object_get(tc->c, "template");
	json_t *exp = json_object_get(tc->c, "expect");
	table_check(json_is_string(tmpl), tc, "template is a string");
	json_t *traits = json_object_get(tc->c, "traits");
	if (traits == NULL)
		traits = json_object_get(tc->doc, "expansion_traits");
	json_t *idj = json_object();
	assert_non_null(idj);
	if (traits != NULL)
		json_object_set(idj, "traits", traits);
	struct rbac_identity id;
	build_identity(tc, idj, &id);
	json_decref(idj);

	struct emitted e;
	struct rbac_diag diag;
	memset(&e, 0, sizeof(e));
	memset(&diag, 0, sizeof(diag));
	int rv = rbac_template_expand(json_string_value(tmpl), id.traits, id.ntraits, emit_cb, &e, &diag);
	int bad = 0;
	if (json_is_string(exp)) {
		table_check(strcmp(json_string_value(exp), "invalid") == 0, tc, "expect is an array or \"invalid\"");
		if (rv != RBAC_ERR_INVALID) {
			print_error("%s: rbac_template_expand(\"%s\"): got %d, want RBAC_ERR_INVALID\n", tc->name,
				    json_string_value(tmpl), rv);
			bad = 1;
		} else if (diag.msg[0] == '\0') {
			print_error("%s: rbac_template_expand(\"%s\") failed without saying why in diag->msg\n",
				    tc->name, json_string_value(tmpl));
			bad = 1;
		}
	} else {
		table_check(json_is_array(exp), tc, "expect is an array or \"invalid\"");
		if (rv != 0) {
			print_error("%s: rbac_template_expand(\"%s\"): got %d (%s), want 0\n", tc->name,
				    json_string_value(tmpl), rv, diag.msg);
			bad = 1;
		} else if (e.overflow || e.n != json_array_size(exp)) {
			bad = 1;
		} else {
			for (size_t i = 0; i < e.n; i++)
				if (strcmp(e.values[i], json_string_value(json_array_get(exp, i))) != 0)
					bad = 1;
		}
		if (bad && rv == 0) {
			char *w = json_dumps(exp, JSON_COMPACT);
			print_error("%s: rbac_template_expand(\"%s\") emitted %zu values, want %s:\n", tc->name,
				    json_string_value(tmpl), e.n, w ? w : "?");
			free(w);
			for (size_t i = 0; i < e.n; i++)
				print_error("  \"%s\"\n", e.values[i]);
		}
	}
	for (size_t i = 0; i < e.n; i++)
		free(e.values[i]);
	rbac_identity_free(&id);
	if (bad)
		fail();
}

/* --- the tests ----------------------------------------------------------- */

static void test_entry(void **state)
{
	const struct tcase *tc = *state;
	switch (tc->kind) {
	case 0:
		decision_cases_run++;
		run_case(tc);
		break;
	case 1:
		run_match(tc);
		break;
	case 2:
		run_expansion(tc);
		break;
	default:
		if (decision_cases_total < MIN_DECISION_CASES || decision_cases_run < MIN_DECISION_CASES) {
			print_error("only %zu decision cases ran (%zu in the table); at least %d must\n",
				    decision_cases_run, decision_cases_total, MIN_DECISION_CASES);
			fail();
		}
		break;
	}
}

static int is_json(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

int main(void)
{
	const char *top = getenv("abs_top_srcdir");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/tests/data/rbac/decisions", top ? top : ".");

	struct dirent **names = NULL;
	int nfiles = scandir(dir, &names, is_json, alphasort);
	if (nfiles <= 0) {
		/* Not a skip: the table must be there. */
		printf("1..1\nnot ok 1 - no decision table in %s\n", dir);
		free(names);
		return 1;
	}
	char **files = xcalloc((size_t)nfiles, sizeof(*files));
	json_t **docs = xcalloc((size_t)nfiles, sizeof(*docs));
	size_t cap = 64, n = 0;
	struct tcase *cases = xcalloc(cap, sizeof(*cases));
	int broken = 0;

	for (int f = 0; f < nfiles; f++) {
		char path[1400];
		snprintf(path, sizeof(path), "%s/%s", dir, names[f]->d_name);
		files[f] = xstrdup(names[f]->d_name);
		json_error_t err;
		docs[f] = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
		if (docs[f] == NULL) {
			fprintf(stderr, "%s:%d:%d: %s\n", path, err.line, err.column, err.text);
			broken = 1;
			continue;
		}
		static const char *const sections[] = {"cases", "matches", "expansions"};
		for (int k = 0; k < 3; k++) {
			json_t *arr = json_object_get(docs[f], sections[k]);
			size_t i;
			json_t *c;
			json_array_foreach(arr, i, c) {
				if (n + 1 >= cap) {
					cap *= 2;
					cases = realloc(cases, cap * sizeof(*cases));
					if (cases == NULL)
						abort();
				}
				json_t *nm = json_object_get(c, "name");
				cases[n].file = files[f];
				cases[n].doc = docs[f];
				cases[n].c = c;
				cases[n].kind = k;
				snprintf(cases[n].name, sizeof(cases[n].name), "%s%s: %s",
					 k == 1 ? "match " : k == 2 ? "expand " : "", files[f],
					 json_is_string(nm) ? json_string_value(nm) : "(unnamed)");
				if (!json_is_string(nm)) {
					fprintf(stderr, "%s: a case without a name\n", path);
					broken = 1;
				}
				for (size_t j = 0; j < n; j++)
					if (strcmp(cases[j].name, cases[n].name) == 0) {
						fprintf(stderr, "%s: two cases named %s\n", path, cases[n].name);
						broken = 1;
					}
				if (k == 0)
					decision_cases_total++;
				n++;
			}
		}
	}
	cases[n].kind = 3;
	snprintf(cases[n].name, sizeof(cases[n].name), "at least %d decision cases ran", MIN_DECISION_CASES);
	n++;

	struct CMUnitTest *tests = xcalloc(n, sizeof(*tests));
	for (size_t i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = test_entry;
		tests[i].initial_state = &cases[i];
	}
	int failed = broken ? 1 : _cmocka_run_group_tests("rbac decision table", tests, n, NULL, NULL);
	if (broken)
		printf("1..1\nnot ok 1 - the decision table does not parse\n");
	free(tests);
	free(cases);
	for (int f = 0; f < nfiles; f++) {
		json_decref(docs[f]);
		free(files[f]);
		free(names[f]);
	}
	free(docs);
	free(files);
	free(names);
	return failed;
}
