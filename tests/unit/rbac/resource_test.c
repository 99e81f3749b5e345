/* SPDX-License-Identifier: Apache-2.0 */
/* resource_test.c: the resource loader's errors and warnings (tests/data/rbac/errors/, warnings/) and a real Teleport export (teleport/). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "rbac/rbac.h"

/*
 * tests/data/rbac/README.md documents the tables. In short: NAME.json (or a
 * directory NAME/ of *.json files loaded in name order) with NAME.expect:
 *
 *   {"rv": "invalid",
 *    "errors": [{"file", "code", "diag_codes", "path", "path_prefix", "line", "column", "message": [...]}],
 *    "warnings": [{"path", "path_prefix", "message": [...], "mentions_any": [...]}],
 *    "loaded": {"roles": N, "users": N, "apps": N, "locks": N}}
 *
 * "errors" are all the errors, in order; "warnings" must each be found
 * among the warnings (others may be reported too). Written from
 * docs/RBAC.md: the code, path, line and column are the spec's; a message
 * substring is asserted only where the spec makes it certain (the field's
 * name or the bad value).
 */

#define MAX_DIAGS 256

static char datadir[1024];

struct diag_copy {
	char file[512];
	char path[256];
	int line, column, code;
	char msg[512];
};

struct diag_list {
	struct diag_copy d[MAX_DIAGS];
	size_t n;
	int overflow;
};

static void collect(void *arg, const struct rbac_diag *d)
{
	struct diag_list *l = arg;
	if (l->n == MAX_DIAGS) {
		l->overflow = 1;
		return;
	}
	struct diag_copy *c = &l->d[l->n++];
	snprintf(c->file, sizeof(c->file), "%s", d->file ? d->file : "");
	snprintf(c->path, sizeof(c->path), "%.*s", (int)sizeof(d->path), d->path);
	snprintf(c->msg, sizeof(c->msg), "%.*s", (int)sizeof(d->msg), d->msg);
	c->line = d->line;
	c->column = d->column;
	c->code = d->code;
}

static void print_diags(const char *name, const struct diag_list *l)
{
	print_error("%s: %zu diagnostics%s:\n", name, l->n, l->overflow ? " (and more)" : "");
	for (size_t i = 0; i < l->n; i++)
		print_error("  %s %s:%d:%d [%s] %s (%d)\n", l->d[i].code < 0 ? "error" : "warning", l->d[i].file,
			    l->d[i].line, l->d[i].column, l->d[i].path, l->d[i].msg, l->d[i].code);
}

static char *slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
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
	{"too-large", RBAC_ERR_TOO_LARGE},
	{"duration", RBAC_ERR_DURATION},
	{"range", RBAC_ERR_RANGE},
};

static int code_of(const char *token)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(token, codes[i].token) == 0)
			return codes[i].code;
	print_error("the table is malformed: unknown code \"%s\"\n", token);
	fail();
	return 1;
}

/* A loaded policy and what it said; |files| keeps the names it borrows. */
struct loaded {
	struct rbac_policy *pol;
	struct diag_list diags;
	char *files[16];
	size_t nfiles;
	int rv; /* the first non-zero rbac_policy_load() */
	int freeze_rv;
};

static void load_file(struct loaded *ld, const char *path, const char *display)
{
	size_t len = 0;
	char *text = slurp(path, &len);
	if (text == NULL) {
		print_error("cannot read %s\n", path);
		fail();
	}
	assert_true(ld->nfiles < sizeof(ld->files) / sizeof(ld->files[0]));
	char *name = strdup(display);
	assert_non_null(name);
	ld->files[ld->nfiles++] = name;
	int rv = rbac_policy_load(ld->pol, name, text, len, collect, &ld->diags);
	if (ld->rv == 0)
		ld->rv = rv;
	free(text);
}

static void loaded_free(struct loaded *ld)
{
	rbac_policy_unref(ld->pol);
	for (size_t i = 0; i < ld->nfiles; i++)
		free(ld->files[i]);
}

static int is_json(const struct dirent *d)
{
	return d->d_name[0] != '.' && ends_with(d->d_name, ".json");
}

/* Loads NAME.json, or every *.json of NAME/ in name order, then freezes. */
static void load_case(struct loaded *ld, const char *dir, const char *name)
{
	char path[1600];
	struct stat st;
	memset(ld, 0, sizeof(*ld));
	ld->pol = rbac_policy_new();
	assert_non_null(ld->pol);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, is_json, alphasort);
		assert_true(n > 0);
		for (int i = 0; i < n; i++) {
			char file[1900];
			snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
			load_file(ld, file, file);
			free(names[i]);
		}
		free(names);
	} else {
		snprintf(path, sizeof(path), "%s/%s.json", dir, name);
		load_file(ld, path, path);
	}
	ld->freeze_rv = rbac_policy_freeze(ld->pol, collect, &ld->diags);
}

/* --- matching one diagnostic -------------------------------------------------- */

static int str_in(json_t *arr, const char *hay, const char *also)
{
	size_t i;
	json_t *s;
	json_array_foreach(arr, i, s) {
		if (strstr(hay, json_string_value(s)) == NULL && (also == NULL || strstr(also, json_string_value(s)) == NULL))
			return 0;
	}
	return 1;
}

/* Whether |d| is what |want| describes; |why| says what differs. */
static int diag_matches(const struct diag_copy *d, json_t *want, char *why, size_t size)
{
	static const char *const keys[] = {"file", "code", "diag_codes", "path", "path_prefix", "line",
					   "column", "message", "mentions_any", NULL};
	const char *key;
	json_t *v;
	json_object_foreach(want, key, v) {
		int known = 0;
		for (size_t i = 0; keys[i]; i++)
			known |= strcmp(keys[i], key) == 0;
		if (!known) {
			snprintf(why, size, "the table is malformed: unknown key \"%s\"", key);
			return 0;
		}
	}
	json_t *file = json_object_get(want, "file");
	if (file && !ends_with(d->file, json_string_value(file))) {
		snprintf(why, size, "file \"%s\", want one ending in \"%s\"", d->file, json_string_value(file));
		return 0;
	}
	json_t *codes_alt = json_object_get(want, "diag_codes");
	json_t *code = json_object_get(want, "code");
	if (codes_alt) {
		size_t i;
		int ok = 0;
		json_array_foreach(codes_alt, i, v) ok |= d->code == code_of(json_string_value(v));
		if (!ok) {
			snprintf(why, size, "code %d (%s), want one of the diag_codes", d->code, rbac_strerror(d->code));
			return 0;
		}
	} else if (code && d->code != code_of(json_string_value(code))) {
		snprintf(why, size, "code %d (%s), want %s", d->code, rbac_strerror(d->code), json_string_value(code));
		return 0;
	}
	json_t *path = json_object_get(want, "path");
	if (path && strcmp(d->path, json_string_value(path)) != 0) {
		snprintf(why, size, "path \"%s\", want \"%s\"", d->path, json_string_value(path));
		return 0;
	}
	json_t *prefix = json_object_get(want, "path_prefix");
	if (prefix && strncmp(d->path, json_string_value(prefix), strlen(json_string_value(prefix))) != 0) {
		snprintf(why, size, "path \"%s\", want one starting with \"%s\"", d->path, json_string_value(prefix));
		return 0;
	}
	json_t *line = json_object_get(want, "line");
	json_t *col = json_object_get(want, "column");
	if ((line && d->line != json_integer_value(line)) || (col && d->column != json_integer_value(col))) {
		snprintf(why, size, "at %d:%d, want %lld:%lld", d->line, d->column,
			 line ? (long long)json_integer_value(line) : (long long)d->line,
			 col ? (long long)json_integer_value(col) : (long long)d->column);
		return 0;
	}
	json_t *msg = json_object_get(want, "message");
	if (msg && !str_in(msg, d->msg, NULL)) {
		char *w = json_dumps(msg, JSON_COMPACT);
		snprintf(why, size, "message \"%s\" lacks one of %s", d->msg, w ? w : "?");
		free(w);
		return 0;
	}
	json_t *any = json_object_get(want, "mentions_any");
	if (any) {
		size_t i;
		int ok = 0;
		json_array_foreach(any, i, v) {
			ok |= strstr(d->msg, json_string_value(v)) != NULL || strstr(d->path, json_string_value(v)) != NULL;
		}
		if (!ok) {
			snprintf(why, size, "neither path nor message mentions any of mentions_any");
			return 0;
		}
	}
	return 1;
}

static int check_stats(const char *name, struct rbac_policy *pol, json_t *want)
{
	struct rbac_policy_stats st;
	memset(&st, 0xff, sizeof(st));
	rbac_policy_stats(pol, &st);
	const struct {
		const char *key;
		size_t got;
	} f[] = {{"roles", st.roles}, {"users", st.users}, {"apps", st.apps}, {"locks", st.locks}};
	int bad = 0;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		json_t *w = json_object_get(want, f[i].key);
		if (w && (json_int_t)f[i].got != json_integer_value(w)) {
			print_error("%s: loaded %zu %s, want %lld\n", name, f[i].got, f[i].key,
				    (long long)json_integer_value(w));
			bad = 1;
		}
	}
	return bad;
}

/* --- the table ------------------------------------------------------------------ */

struct tcase {
	char dir[1100];
	char name[256];
	char title[300];
};

static void test_table_case(void **state)
{
	const struct tcase *tc = *state;
	char path[1500];
	snprintf(path, sizeof(path), "%s/%s.expect", tc->dir, tc->name);
	json_error_t jerr;
	json_t *want = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (want == NULL) {
		print_error("%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
		fail();
	}
	struct loaded *ld = malloc(sizeof(*ld));
	assert_non_null(ld);
	load_case(ld, tc->dir, tc->name);

	int bad = 0;
	json_t *rvj = json_object_get(want, "rv");
	int want_rv = rvj ? code_of(json_string_value(rvj)) : 0;
	if (ld->rv != want_rv) {
		print_error("%s: rbac_policy_load returned %d (%s), want %s\n", tc->title, ld->rv,
			    rbac_strerror(ld->rv), rvj ? json_string_value(rvj) : "ok");
		bad = 1;
	}
	if (ld->freeze_rv != 0) {
		print_error("%s: rbac_policy_freeze returned %d\n", tc->title, ld->freeze_rv);
		bad = 1;
	}

	/* Errors: exactly those listed, in order; the first one's code is
	 * what rbac_policy_load() returned. */
	json_t *errs = json_object_get(want, "errors");
	size_t nerr = 0;
	for (size_t i = 0; i < ld->diags.n; i++) {
		if (ld->diags.d[i].code >= 0)
			continue;
		if (nerr == 0 && ld->diags.d[i].code != ld->rv && json_object_get(json_array_get(errs, 0), "diag_codes") == NULL) {
			print_error("%s: the first error's code %d is not what rbac_policy_load returned (%d)\n",
				    tc->title, ld->diags.d[i].code, ld->rv);
			bad = 1;
		}
		if (nerr < json_array_size(errs)) {
			char why[700];
			if (!diag_matches(&ld->diags.d[i], json_array_get(errs, nerr), why, sizeof(why))) {
				print_error("%s: error %zu: %s\n", tc->title, nerr, why);
				bad = 1;
			}
		}
		nerr++;
	}
	if (nerr != json_array_size(errs)) {
		print_error("%s: %zu errors, want %zu\n", tc->title, nerr, json_array_size(errs));
		bad = 1;
	}
	if (want_rv != 0 && nerr == 0) {
		print_error("%s: rbac_policy_load failed without reporting an error\n", tc->title);
		bad = 1;
	}

	json_t *warns = json_object_get(want, "warnings");
	size_t i;
	json_t *w;
	json_array_foreach(warns, i, w) {
		int found = 0;
		char why[700] = "no warnings at all";
		for (size_t j = 0; j < ld->diags.n && !found; j++)
			if (ld->diags.d[j].code == 0)
				found = diag_matches(&ld->diags.d[j], w, why, sizeof(why));
		if (!found) {
			char *s = json_dumps(w, JSON_COMPACT);
			print_error("%s: no warning is %s (the last one tried: %s)\n", tc->title, s ? s : "?", why);
			free(s);
			bad = 1;
		}
	}
	/* Warnings are not errors: a warnings-table case reports none. */
	json_t *loaded = json_object_get(want, "loaded");
	if (loaded)
		bad |= check_stats(tc->title, ld->pol, loaded);
	if (bad)
		print_diags(tc->title, &ld->diags);
	loaded_free(ld);
	free(ld);
	json_decref(want);
	if (bad)
		fail();
}

static int is_expect(const struct dirent *d)
{
	return d->d_name[0] != '.' && ends_with(d->d_name, ".expect");
}

static size_t collect_cases(const char *sub, struct tcase **cases, size_t n)
{
	char dir[1100];
	snprintf(dir, sizeof(dir), "%s/%s", datadir, sub);
	struct dirent **names;
	int k = scandir(dir, &names, is_expect, alphasort);
	for (int i = 0; i < k; i++) {
		*cases = realloc(*cases, (n + 1) * sizeof(**cases));
		assert_non_null(*cases);
		struct tcase *tc = &(*cases)[n++];
		snprintf(tc->dir, sizeof(tc->dir), "%s", dir);
		snprintf(tc->name, sizeof(tc->name), "%.*s", (int)(strlen(names[i]->d_name) - 7), names[i]->d_name);
		snprintf(tc->title, sizeof(tc->title), "%s/%s", sub, tc->name);
		free(names[i]);
	}
	if (k > 0)
		free(names);
	return n;
}

/* --- a real Teleport export ---------------------------------------------------- */

static void load_teleport(struct loaded *ld)
{
	static const char *const files[] = {"access-role.json", "user.json", "app.json"};
	memset(ld, 0, sizeof(*ld));
	ld->pol = rbac_policy_new();
	assert_non_null(ld->pol);
	for (size_t i = 0; i < 3; i++) {
		char path[1200];
		snprintf(path, sizeof(path), "%s/teleport/%s", datadir, files[i]);
		load_file(ld, path, path);
	}
	ld->freeze_rv = rbac_policy_freeze(ld->pol, collect, &ld->diags);
}

static const struct diag_copy *find_warning(const struct loaded *ld, const char *file, const char *path,
					    const char *field)
{
	for (size_t i = 0; i < ld->diags.n; i++) {
		const struct diag_copy *d = &ld->diags.d[i];
		if (d->code != 0 || (file && !ends_with(d->file, file)))
			continue;
		if (strcmp(d->path, path) == 0 || (field && strstr(d->msg, field) != NULL))
			return d;
	}
	return NULL;
}

/* The export loads with warnings only, and the warnings name the Teleport
 * fields awsgate does not use, and none of those it does. */
static void test_teleport_export_loads(void **state)
{
	static const char *const unused_role[] = {
		"metadata.revision",
		"spec.options.forward_agent",
		"spec.options.port_forwarding",
		"spec.options.cert_format",
		"spec.options.enhanced_recording",
		"spec.options.record_session",
		"spec.options.desktop_clipboard",
		"spec.options.desktop_directory_sharing",
		"spec.options.pin_source_ip",
		"spec.options.ssh_file_copy",
		"spec.options.create_desktop_user",
		"spec.options.create_db_user",
		"spec.options.idp",
		"spec.allow.logins",
		"spec.allow.node_labels",
		"spec.allow.rules",
		"spec.allow.kubernetes_groups",
		"spec.allow.kubernetes_users",
		"spec.allow.kubernetes_labels",
		"spec.allow.db_labels",
		"spec.allow.db_names",
		"spec.allow.db_users",
		"spec.allow.windows_desktop_logins",
		"spec.allow.windows_desktop_labels",
		"spec.allow.azure_identities",
		"spec.allow.kubernetes_resources",
		"spec.allow.gcp_service_accounts",
		"spec.allow.db_service_labels",
		"spec.allow.db_roles",
	};
	static const char *const unused_user[] = {"metadata.revision", "spec.status", "spec.expires",
						  "spec.created_by"};
	static const char *const unused_app[] = {"metadata.revision", "spec.insecure_skip_verify"};
	/* A role's metadata.labels are not listed either way: docs/RBAC.md
	 * says every document has them, but nothing reads a role's. */
	static const char *const used_role[] = {"metadata.name",
						"metadata.description",
						"spec.options",
						"spec.options.max_session_ttl",
						"spec.allow",
						"spec.allow.app_labels",
						"spec.allow.aws_role_arns",
						"spec.allow.aws_role_arns[0]",
						"spec.deny"};
	static const char *const used_user[] = {"spec.roles", "spec.traits", "spec.traits.aws_role_arns"};
	static const char *const used_app[] = {"metadata.labels", "metadata.labels.aws_account_id", "spec.uri",
					       "spec.public_addr", "spec.aws", "spec.aws.external_id"};
	static const struct {
		const char *file;
		const char *const *fields;
		size_t n;
		int used;
	} groups[] = {
		{"access-role.json", unused_role, sizeof(unused_role) / sizeof(unused_role[0]), 0},
		{"user.json", unused_user, sizeof(unused_user) / sizeof(unused_user[0]), 0},
		{"app.json", unused_app, sizeof(unused_app) / sizeof(unused_app[0]), 0},
		{"access-role.json", used_role, sizeof(used_role) / sizeof(used_role[0]), 1},
		{"user.json", used_user, sizeof(used_user) / sizeof(used_user[0]), 1},
		{"app.json", used_app, sizeof(used_app) / sizeof(used_app[0]), 1},
	};
	(void)state;
	struct loaded *ld = malloc(sizeof(*ld));
	assert_non_null(ld);
	load_teleport(ld);
	int bad = 0;
	if (ld->rv != 0 || ld->freeze_rv != 0) {
		print_error("teleport export: rbac_policy_load %d, rbac_policy_freeze %d, want 0\n", ld->rv,
			    ld->freeze_rv);
		bad = 1;
	}
	for (size_t i = 0; i < ld->diags.n; i++)
		if (ld->diags.d[i].code != 0) {
			print_error("teleport export: an error: [%s] %s\n", ld->diags.d[i].path, ld->diags.d[i].msg);
			bad = 1;
		}
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (size_t i = 0; i < groups[g].n; i++) {
			char path[256];
			snprintf(path, sizeof(path), "[0].%s", groups[g].fields[i]);
			if (groups[g].used) {
				/* Only the exact path counts against a field awsgate uses. */
				const struct diag_copy *d = find_warning(ld, groups[g].file, path, NULL);
				if (d != NULL) {
					print_error("teleport export: %s: a warning on %s, which awsgate uses: %s\n",
						    groups[g].file, path, d->msg);
					bad = 1;
				}
			} else {
				const char *field = strrchr(groups[g].fields[i], '.') + 1;
				if (find_warning(ld, groups[g].file, path, field) == NULL) {
					print_error("teleport export: %s: no warning names %s\n", groups[g].file, path);
					bad = 1;
				}
			}
		}
	}
	/* The user's second role, "editor", is not in the export. */
	int editor = 0;
	for (size_t i = 0; i < ld->diags.n; i++)
		editor |= ld->diags.d[i].code == 0 && strstr(ld->diags.d[i].msg, "editor") != NULL;
	if (!editor) {
		print_error("teleport export: no warning names the user's unknown role \"editor\"\n");
		bad = 1;
	}
	struct rbac_policy_stats st;
	rbac_policy_stats(ld->pol, &st);
	if (st.roles != 1 || st.users != 1 || st.apps != 1 || st.locks != 0) {
		print_error("teleport export: loaded %zu roles, %zu users, %zu apps, %zu locks; want 1, 1, 1, 0\n",
			    st.roles, st.users, st.apps, st.locks);
		bad = 1;
	}
	if (bad)
		print_diags("teleport export", &ld->diags);
	loaded_free(ld);
	free(ld);
	if (bad)
		fail();
}

/* The app's fields as rbac_app_info() gives them. */
static void test_teleport_app_info(void **state)
{
	(void)state;
	struct loaded *ld = malloc(sizeof(*ld));
	assert_non_null(ld);
	load_teleport(ld);
	const struct rbac_app *app = rbac_policy_app(ld->pol, "awsconsole-prod", 15);
	assert_non_null(app);
	assert_null(rbac_policy_app(ld->pol, "awsconsole-pro", 14));
	assert_true(rbac_policy_app_at(ld->pol, 0) == app);
	assert_null(rbac_policy_app_at(ld->pol, 1));
	struct rbac_app_info info;
	memset(&info, 0, sizeof(info));
	rbac_app_info(app, &info);
	assert_string_equal(info.name, "awsconsole-prod");
	assert_string_equal(info.description, "AWS console, production account");
	assert_string_equal(info.uri, "https://console.aws.amazon.com/ec2/v2/home");
	assert_string_equal(info.public_addr, "awsconsole-prod.teleport.example.com");
	assert_string_equal(info.external_id, "8a7c8b8c-7f7e-4d3b-9e0d-2f1c6b5a4e3d");
	assert_string_equal(info.account_id, "123456789012");
	assert_int_equal(info.source_identity, 1);
	assert_non_null(info.file);
	assert_true(ends_with(info.file, "app.json"));
	assert_string_equal(rbac_app_label(app, "env"), "prod");
	assert_string_equal(rbac_app_label(app, "teleport.dev/origin"), "dynamic");
	assert_null(rbac_app_label(app, "nope"));
	const char *k, *v;
	static const char *const keys[] = {"aws_account_id", "env", "teleport.dev/origin"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rbac_app_label_at(app, i, &k, &v), 0);
		assert_string_equal(k, keys[i]);
	}
	assert_int_equal(rbac_app_label_at(app, 3, &k, &v), -1);
	loaded_free(ld);
	free(ld);
}

/* The user with the access role and an aws_role_arns trait gets exactly
 * the trait's ARNs of the app's account, for 30h (max_session_ttl 30h0m0s). */
static void test_teleport_user_gets_its_arns(void **state)
{
	static const struct {
		const char *arn;
		int reason;
	} want[] = {
		{"arn:aws:iam::123456789012:role/ReadOnly", RBAC_ALLOWED},
		{"arn:aws:iam::123456789012:role/team/PowerUser", RBAC_ALLOWED},
		{"arn:aws:iam::210987654321:role/ReadOnly", RBAC_DENY_ACCOUNT},
		{"arn:aws:iam::123456789012:role/PowerUser", RBAC_DENY_NO_ARN},
		{"arn:aws:iam::123456789012:role/Admin", RBAC_DENY_NO_ARN},
		{"arn:aws:iam::123456789012:role/readonly", RBAC_DENY_NO_ARN},
	};
	(void)state;
	struct loaded *ld = malloc(sizeof(*ld));
	assert_non_null(ld);
	load_teleport(ld);
	const struct rbac_app *app = rbac_policy_app(ld->pol, "awsconsole-prod", 15);
	assert_non_null(app);
	struct rbac_identity id;
	memset(&id, 0, sizeof(id));
	id.user = strdup("alice@example.com");
	assert_non_null(id.user);
	id.not_before = 1700000000 - 60;
	id.not_after = 1700000000 + 7 * 86400;
	struct diag_list *sd = calloc(1, sizeof(*sd));
	assert_non_null(sd);
	struct rbac_subject *s = NULL;
	int rv = rbac_subject_new(ld->pol, &id, &s, collect, sd);
	rbac_identity_free(&id);
	if (rv != 0)
		print_diags("rbac_subject_new", sd);
	assert_int_equal(rv, 0);
	assert_string_equal(rbac_subject_user(s), "alice@example.com");
	/* In name order, the role names carried, defined or not (rbac.h as
	 * amended on main); "editor" is not in the export. */
	assert_string_equal(rbac_subject_role_at(s, 0), "access");
	assert_string_equal(rbac_subject_role_at(s, 1), "editor");
	assert_null(rbac_subject_role_at(s, 2));
	int editor = 0;
	for (size_t i = 0; i < sd->n; i++)
		editor |= sd->d[i].code == 0 && strstr(sd->d[i].msg, "editor") != NULL;
	if (!editor)
		print_diags("rbac_subject_new: no warning names the unknown role \"editor\"", sd);
	assert_true(editor);

	int bad = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct rbac_decision d;
		rbac_decide(s, app, want[i].arn, strlen(want[i].arn), 1700000000, &d);
		if ((int)d.reason != want[i].reason || (d.allow != 0) != (want[i].reason == RBAC_ALLOWED)) {
			print_error("%s: got %s, want %s\n", want[i].arn, rbac_reason_str(d.reason),
				    rbac_reason_str((enum rbac_reason)want[i].reason));
			bad = 1;
		} else if (d.allow && (d.role == NULL || strcmp(d.role, "access") != 0 || d.rule == NULL ||
				       strcmp(d.rule, "spec.allow.aws_role_arns[0]") != 0 || d.pattern == NULL ||
				       strcmp(d.pattern, "{{internal.aws_role_arns}}") != 0 || d.session_ttl != 108000)) {
			print_error("%s: allowed by %s %s %s for %u s; want access spec.allow.aws_role_arns[0] "
				    "{{internal.aws_role_arns}} for 108000 s\n",
				    want[i].arn, d.role ? d.role : "NULL", d.rule ? d.rule : "NULL",
				    d.pattern ? d.pattern : "NULL", d.session_ttl);
			bad = 1;
		}
	}
	struct rbac_role_choice list[8];
	size_t n = 0;
	assert_int_equal(rbac_subject_roles(s, app, 1700000000, list, 8, &n), 0);
	if (n != 2 || strcmp(list[0].arn, "arn:aws:iam::123456789012:role/ReadOnly") != 0 ||
	    strcmp(list[1].arn, "arn:aws:iam::123456789012:role/team/PowerUser") != 0 ||
	    strcmp(list[1].name, "PowerUser") != 0 || strcmp(list[1].path, "/team/") != 0 ||
	    strcmp(list[0].account, "123456789012") != 0) {
		print_error("rbac_subject_roles listed %zu:\n", n);
		for (size_t i = 0; i < n && i < 8; i++)
			print_error("  %s %s %s %s\n", list[i].arn, list[i].name, list[i].path, list[i].account);
		bad = 1;
	}
	const char *arn = NULL;
	struct rbac_diag diag;
	memset(&diag, 0, sizeof(diag));
	if (rbac_subject_choose(s, app, "PowerUser", 1700000000, &arn, &diag) != 0 || arn == NULL ||
	    strcmp(arn, "arn:aws:iam::123456789012:role/team/PowerUser") != 0) {
		print_error("rbac_subject_choose(PowerUser): %s\n", diag.msg);
		bad = 1;
	}
	rbac_subject_del(s);
	free(sd);
	loaded_free(ld);
	free(ld);
	if (bad)
		fail();
}

/* --- what the tables cannot say --------------------------------------------------- */

/* A document past RBAC_MAX_DOCUMENT is refused whole. */
static void test_too_large(void **state)
{
	(void)state;
	size_t len = (size_t)RBAC_MAX_DOCUMENT + 1;
	char *text = malloc(len);
	assert_non_null(text);
	memset(text, ' ', len);
	text[0] = '[';
	text[len - 1] = ']';
	struct rbac_policy *pol = rbac_policy_new();
	assert_non_null(pol);
	struct diag_list *dl = calloc(1, sizeof(*dl));
	assert_non_null(dl);
	int rv = rbac_policy_load(pol, "big.json", text, len, collect, dl);
	if (rv != RBAC_ERR_TOO_LARGE)
		print_diags("too large", dl);
	assert_int_equal(rv, RBAC_ERR_TOO_LARGE);
	assert_true(dl->n >= 1);
	assert_int_equal(dl->d[0].code, RBAC_ERR_TOO_LARGE);
	assert_string_equal(dl->d[0].file, "big.json");
	/* The same bytes less one are fine (an empty array). */
	memset(dl, 0, sizeof(*dl));
	text[len - 2] = ']';
	assert_int_equal(rbac_policy_load(pol, "big2.json", text, len - 1, collect, dl), 0);
	free(text);
	free(dl);
	rbac_policy_unref(pol);
}

/* Locks as rbac_policy_lock_at() lists them: name order, RFC 3339 read. */
static void test_lock_info(void **state)
{
	static const char text[] =
		"[{\"kind\": \"lock\", \"version\": \"v2\", \"metadata\": {\"name\": \"z-role\"},\n"
		"  \"spec\": {\"target\": {\"role\": \"ops\"}, \"message\": \"incident 42\", \"expires\": \"2023-11-14T22:13:20Z\"}},\n"
		" {\"kind\": \"lock\", \"version\": \"v2\", \"metadata\": {\"name\": \"a-user\"},\n"
		"  \"spec\": {\"target\": {\"user\": \"bob\"}}},\n"
		" {\"kind\": \"lock\", \"version\": \"v2\", \"metadata\": {\"name\": \"m-offset\"},\n"
		"  \"spec\": {\"target\": {\"user\": \"dave\"}, \"expires\": \"2023-11-15T00:13:20.5+02:00\"}}]\n";
	(void)state;
	struct rbac_policy *pol = rbac_policy_new();
	assert_non_null(pol);
	struct diag_list *dl = calloc(1, sizeof(*dl));
	assert_non_null(dl);
	int rv = rbac_policy_load(pol, "locks.json", text, strlen(text), collect, dl);
	if (rv != 0)
		print_diags("locks", dl);
	assert_int_equal(rv, 0);
	assert_int_equal(rbac_policy_freeze(pol, collect, dl), 0);
	struct rbac_lock_info li;
	assert_int_equal(rbac_policy_lock_at(pol, 0, &li), 0);
	assert_string_equal(li.name, "a-user");
	assert_string_equal(li.user, "bob");
	assert_null(li.role);
	assert_int_equal(li.expires, 0);
	assert_string_equal(li.file, "locks.json");
	assert_int_equal(rbac_policy_lock_at(pol, 1, &li), 0);
	assert_string_equal(li.name, "m-offset");
	assert_true(li.expires == 1700000000 || li.expires == 1700000001); /* .5 s: either side */
	assert_int_equal(rbac_policy_lock_at(pol, 2, &li), 0);
	assert_string_equal(li.name, "z-role");
	assert_null(li.user);
	assert_string_equal(li.role, "ops");
	assert_string_equal(li.message, "incident 42");
	assert_int_equal(li.expires, 1700000000);
	assert_int_equal(rbac_policy_lock_at(pol, 3, &li), -1);
	free(dl);
	rbac_policy_unref(pol);
}

/* The daemon file's inline apps: errors carry the path within that file,
 * and a name defined there and in the resources is defined twice. */
static void test_inline_apps(void **state)
{
	static const char daemon[] =
		"{\"listen\": \"127.0.0.1:8443\",\n"
		" \"apps\": [\n"
		"  {\"kind\": \"app\", \"version\": \"v3\", \"metadata\": {\"name\": \"inline\"}, \"spec\": {\"uri\": \"https://x/\"}},\n"
		"  {\"kind\": \"app\", \"version\": \"v3\", \"metadata\": {\"name\": \"typo\"}, \"spec\": {\"uri\": \"https://x/\", \"url\": \"https://x/\"}},\n"
		"  {\"kind\": \"app\", \"version\": \"v3\", \"metadata\": {\"name\": \"prod\"}, \"spec\": {\"uri\": \"https://x/\"}}]}\n";
	static const char resources[] =
		"[{\"kind\": \"app\", \"version\": \"v3\", \"metadata\": {\"name\": \"prod\"}, \"spec\": {\"uri\": \"https://y/\"}}]";
	(void)state;
	json_error_t jerr;
	json_t *root = json_loads(daemon, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(root);
	struct rbac_policy *pol = rbac_policy_new();
	assert_non_null(pol);
	struct diag_list *dl = calloc(1, sizeof(*dl));
	assert_non_null(dl);
	assert_int_equal(rbac_policy_load(pol, "resources/apps.json", resources, strlen(resources), collect, dl), 0);
	int rv = rbac_policy_load_json(pol, "awsgated.json", daemon, strlen(daemon), json_object_get(root, "apps"),
				       "apps", collect, dl);
	int bad = 0;
	if (rv != RBAC_ERR_INVALID) {
		print_error("rbac_policy_load_json returned %d, want RBAC_ERR_INVALID (the first error)\n", rv);
		bad = 1;
	}
	size_t nerr = 0;
	int saw_typo = 0, saw_dup = 0;
	for (size_t i = 0; i < dl->n; i++) {
		const struct diag_copy *d = &dl->d[i];
		if (d->code == 0)
			continue;
		nerr++;
		if (d->code == RBAC_ERR_INVALID && strcmp(d->path, "apps[1].spec.url") == 0 && d->line == 4 &&
		    d->column == 103 && strcmp(d->file, "awsgated.json") == 0)
			saw_typo = 1;
		if (d->code == RBAC_ERR_DUPLICATE && strcmp(d->path, "apps[2].metadata.name") == 0 && d->line == 5 &&
		    d->column == 57 && strcmp(d->file, "awsgated.json") == 0)
			saw_dup = 1;
	}
	if (nerr != 2 || !saw_typo || !saw_dup) {
		print_error("want two errors: awsgated.json:4:103 apps[1].spec.url (invalid) and "
			    "awsgated.json:5:57 apps[2].metadata.name (duplicate)\n");
		bad = 1;
	}
	if (rbac_policy_freeze(pol, collect, dl) != 0)
		bad = 1;
	struct rbac_policy_stats st;
	rbac_policy_stats(pol, &st);
	if (st.apps != 2) {
		print_error("loaded %zu apps, want 2 (prod from the resources, inline)\n", st.apps);
		bad = 1;
	}
	const struct rbac_app *prod = rbac_policy_app(pol, "prod", 4);
	struct rbac_app_info info;
	if (prod != NULL) {
		rbac_app_info(prod, &info);
		if (strcmp(info.uri, "https://y/") != 0) {
			print_error("prod is %s, want the first definition's https://y/\n", info.uri);
			bad = 1;
		}
	}
	if (bad)
		print_diags("inline apps", dl);
	free(dl);
	rbac_policy_unref(pol);
	json_decref(root);
	if (bad)
		fail();
}

/* References are counted: the last unref frees. */
static void test_refcount(void **state)
{
	(void)state;
	struct rbac_policy *pol = rbac_policy_new();
	assert_non_null(pol);
	assert_true(rbac_policy_ref(pol) == pol);
	rbac_policy_unref(pol);
	struct diag_list *dl = calloc(1, sizeof(*dl));
	assert_non_null(dl);
	assert_int_equal(rbac_policy_freeze(pol, collect, dl), 0);
	rbac_policy_unref(pol);
	rbac_policy_unref(NULL);
	free(dl);
}

int main(void)
{
	const char *top = getenv("abs_top_srcdir");
	snprintf(datadir, sizeof(datadir), "%s/tests/data/rbac", top ? top : ".");

	struct tcase *cases = NULL;
	size_t n = collect_cases("errors", &cases, 0);
	size_t nerrors = n;
	n = collect_cases("warnings", &cases, n);
	if (nerrors == 0 || n == nerrors) {
		printf("1..1\nnot ok 1 - no error or warning cases under %s\n", datadir);
		free(cases);
		return 1;
	}
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_teleport_export_loads),
		cmocka_unit_test(test_teleport_app_info),
		cmocka_unit_test(test_teleport_user_gets_its_arns),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_lock_info),
		cmocka_unit_test(test_inline_apps),
		cmocka_unit_test(test_refcount),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(n + nfixed, sizeof(*tests));
	assert_non_null(tests);
	for (size_t i = 0; i < n; i++) {
		tests[i].name = cases[i].title;
		tests[i].test_func = test_table_case;
		tests[i].initial_state = &cases[i];
	}
	memcpy(tests + n, fixed, sizeof(fixed));
	int failed = _cmocka_run_group_tests("rbac resources", tests, n + nfixed, NULL, NULL);
	free(tests);
	free(cases);
	return failed;
}
