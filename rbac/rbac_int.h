/* SPDX-License-Identifier: Apache-2.0 */
/* rbac_int.h: rbac's private structures: patterns, templates, resources, the subject's index. */
#ifndef AWSGATE_RBAC_INT_H
#define AWSGATE_RBAC_INT_H

#include <stdarg.h>
#include <stdbool.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rbac.h"

/* --- patterns (pattern.c) ------------------------------------------------- */

enum rbac_pat_kind {
	RBAC_PAT_EXACT,
	RBAC_PAT_GLOB,
	RBAC_PAT_REGEX,
};

/* The longest literal prefix the subject's index keys on; longer prefixes
 * are cut, which only makes the index a coarser filter. */
#define RBAC_PREFIX_MAX 255

/* One compiled pattern. |prefix| bytes of |text| are literal: every string
 * the pattern matches starts with them (for a regex, after the '^'). */
struct rbac_pattern {
	enum rbac_pat_kind kind;
	unsigned prefix;
	size_t len;
	char *text; /* owned, NUL-terminated; for a regex the whole "^...$" */
	pcre2_code *re;
};

/*
 * Compiles |text| (|len| bytes) into |pat|. On RBAC_ERR_INVALID, |why|
 * (|whylen| bytes) says what is wrong. This function returns 0 if it
 * succeeds, or one of RBAC_ERR_INVALID, RBAC_ERR_TOO_LARGE, RBAC_ERR_NOMEM.
 */
int rbac_pattern_init(struct rbac_pattern *pat, const char *text, size_t len, char *why, size_t whylen);
void rbac_pattern_free(struct rbac_pattern *pat);

/*
 * Matches |s| against |pat| with |md| (match data owned by the one thread
 * matching). Returns 1 match, 0 no match, -1 when a regex ran out of steps
 * (the caller fails closed).
 */
int rbac_pattern_matches(const struct rbac_pattern *pat, const char *s, size_t len, pcre2_match_data *md,
			 pcre2_match_context *mc);

/* Whole-string glob match: '*' any run, '?' one UTF-8 character. */
bool rbac_glob_match(const char *pat, size_t plen, const char *s, size_t slen);

/* --- templates (template.c) ------------------------------------------------ */

enum rbac_tmpl_fn {
	RBAC_TMPL_VAR,           /* {{internal.x}} */
	RBAC_TMPL_EMAIL_LOCAL,   /* {{email.local(external.email)}} */
	RBAC_TMPL_REGEXP_REPLACE /* {{regexp.replace(internal.x, "re", "repl")}} */
};

/* A parsed template: prefix + f(trait values) + suffix. */
struct rbac_tmpl {
	enum rbac_tmpl_fn fn;
	bool internal; /* the namespace as written: internal or external */
	char *prefix;
	char *suffix;
	char *trait;
	pcre2_code *re; /* regexp.replace */
	char *repl;
};

/*
 * Parses |text|: returns 0 with |*is_tmpl| false for a literal, or with
 * |*is_tmpl| true and |t| filled for a template; RBAC_ERR_INVALID with |why|
 * filled; RBAC_ERR_NOMEM.
 */
int rbac_tmpl_parse(struct rbac_tmpl *t, const char *text, bool *is_tmpl, char *why, size_t whylen);
void rbac_tmpl_free(struct rbac_tmpl *t);

/* Calls |emit| for each value |t| yields with |traits|. Returns 0 or
 * RBAC_ERR_NOMEM. */
int rbac_tmpl_expand(const struct rbac_tmpl *t, const struct rbac_trait *traits, size_t ntraits,
		     void (*emit)(void *arg, const char *value, size_t len), void *arg);

/* Whether |name| is one of Teleport's internal traits. */
bool rbac_internal_trait_known(const char *name);

/* --- resources (resource.c) ---------------------------------------------- */

/* A role's value: a pattern compiled at load, or a template expanded per
 * subject. |path| is where it was written ("spec.allow.aws_role_arns[2]"). */
struct rbac_value {
	char *text; /* as written */
	char *path;
	bool is_tmpl;
	struct rbac_pattern pat; /* !is_tmpl */
	struct rbac_tmpl tmpl;   /* is_tmpl */
};

struct rbac_label_sel {
	char *key;
	struct rbac_value *values;
	size_t nvalues;
};

struct rbac_rule {
	struct rbac_label_sel *labels; /* app_labels */
	size_t nlabels;
	struct rbac_value *arns; /* aws_role_arns */
	size_t narns;
};

struct rbac_role {
	char *name;
	const char *file;
	struct rbac_rule allow;
	struct rbac_rule deny;
	uint32_t max_session_ttl;
};

struct rbac_user {
	char *name;
	const char *file;
	char **roles;
	size_t nroles;
	struct rbac_trait *traits;
	size_t ntraits;
};

struct rbac_label {
	char *key;
	char *value;
};

struct rbac_app {
	char *name;
	const char *file;
	char *description;
	struct rbac_label *labels; /* sorted by key */
	size_t nlabels;
	char *uri;
	char *public_addr;
	char *external_id;
	bool source_identity;
	const char *account; /* the aws_account_id label's value, or NULL */
	size_t index;        /* position in the policy's sorted apps */
};

struct rbac_lock {
	char *name;
	const char *file;
	char *user;
	char *role;
	char *message;
	int64_t expires;
};

/* A growable array of pointers, for loading only. */
struct rbac_vec {
	void **items;
	size_t n, cap;
};

struct rbac_policy {
	int refs;
	bool frozen;
	struct rbac_vec roles; /* struct rbac_role *, sorted by name once frozen */
	struct rbac_vec users;
	struct rbac_vec apps;
	struct rbac_vec locks;
	struct rbac_vec files; /* char *: the file names resources point to */
	size_t npatterns, ntemplates;
};

int rbac_vec_push(struct rbac_vec *v, void *item);

/* Finds |name| in a frozen, sorted vector of structs whose first member is
 * their char *name. */
void *rbac_vec_find(const struct rbac_vec *v, const char *name, size_t len);

/* Fills |d| and calls |fn|: |code| 0 for a warning. */
void rbac_diag_report(rbac_diag_fn *fn, void *arg, const char *file, const char *text, size_t textlen,
		      const char *path, int code, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* Whether |s| is a valid resource name (RBAC_MAX_NAME, the charset). */
bool rbac_name_ok(const char *s, size_t len);

/* Parses an RFC 3339 time ("2026-11-22T05:30:00Z", offsets and fractions
 * allowed) into seconds since the epoch. Returns 0 or RBAC_ERR_INVALID. */
int rbac_time_parse(const char *s, int64_t *t);

/* Frees a trait array of |n| traits. */
void rbac_traits_free(struct rbac_trait *traits, size_t n);

/* Splits an IAM role ARN "arn:PARTITION:iam::ACCOUNT:role/PATH/NAME" into
 * views; returns false when it is not one. */
struct rbac_arn {
	const char *partition, *account, *resource, *name;
	size_t partition_len, account_len, resource_len, name_len;
};
bool rbac_arn_parse(const char *arn, size_t len, struct rbac_arn *out);

#endif
