/* SPDX-License-Identifier: Apache-2.0 */
/* resource.c: Teleport-shaped resource documents (role, user, app, lock) parsed strictly into a policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rbac_int.h"

/* --- small pieces -------------------------------------------------------- */

int rbac_vec_push(struct rbac_vec *v, void *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **items = realloc(v->items, cap * sizeof(*items));
		if (items == NULL)
			return RBAC_ERR_NOMEM;
		v->items = items;
		v->cap = cap;
	}
	v->items[v->n++] = item;
	return 0;
}

/* Every resource struct starts with its char *name. */
static const char *item_name(const void *item)
{
	return *(char *const *)item;
}

void *rbac_vec_find(const struct rbac_vec *v, const char *name, size_t len)
{
	size_t lo = 0, hi = v->n;

	/* A name from a request may hold a NUL; no resource's does. */
	if (memchr(name, '\0', len) != NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = item_name(v->items[mid]);
		int c = strncmp(m, name, len);
		if (c == 0 && m[len] != '\0')
			c = 1;
		if (c == 0)
			return v->items[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void *vec_find_linear(const struct rbac_vec *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(item_name(v->items[i]), name) == 0)
			return v->items[i];
	return NULL;
}

bool rbac_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > RBAC_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._-@+=:", c) != NULL) ||
		    c == '\0')
			return false;
	}
	return true;
}

void rbac_diag_report(rbac_diag_fn *fn, void *arg, const char *file, const char *text, size_t textlen,
		      const char *path, int code, const char *fmt, ...)
{
	struct rbac_diag d;
	va_list ap;

	memset(&d, 0, sizeof(d));
	d.file = file;
	d.code = code;
	snprintf(d.path, sizeof(d.path), "%s", path);
	if (text != NULL && rbac_json_locate(text, textlen, path, &d.line, &d.column) != 0)
		d.line = d.column = 0;
	va_start(ap, fmt);
	vsnprintf(d.msg, sizeof(d.msg), fmt, ap);
	va_end(ap);
	if (fn != NULL)
		fn(arg, &d);
}

void rbac_traits_free(struct rbac_trait *traits, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < traits[i].nvalues; j++)
			free(traits[i].values[j]);
		free(traits[i].values);
		free(traits[i].name);
	}
	free(traits);
}

/* --- the loading context --------------------------------------------------- */

struct load {
	struct rbac_policy *pol;
	const char *file;
	const char *text;
	size_t len;
	rbac_diag_fn *fn;
	void *arg;
	int first_err;
	bool doc_bad; /* an error in the document being read */
};

#define PATH_MAX_LEN 256

static void err(struct load *ld, const char *path, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void err(struct load *ld, const char *path, int code, const char *fmt, ...)
{
	char msg[sizeof(((struct rbac_diag *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rbac_diag_report(ld->fn, ld->arg, ld->file, ld->text, ld->len, path, code, "%s", msg);
	if (ld->first_err == 0)
		ld->first_err = code;
	ld->doc_bad = true;
}

static void warn(struct load *ld, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(struct load *ld, const char *path, const char *fmt, ...)
{
	char msg[sizeof(((struct rbac_diag *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rbac_diag_report(ld->fn, ld->arg, ld->file, ld->text, ld->len, path, 0, "%s", msg);
}

/* Writes the concatenation of |n| strings to |out| (PATH_MAX_LEN bytes),
 * cut if it must be: a path only ever names a place in a message. */
static void path_join(char *out, const char *const *parts, size_t n)
{
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(parts[i]);
		if (len > PATH_MAX_LEN - 1 - used)
			len = PATH_MAX_LEN - 1 - used;
		memmove(out + used, parts[i], len);
		used += len;
	}
	out[used] = '\0';
}

/* Appends a member (".name", or ["name"] when it has other characters) or
 * an index to |base| into |out|. |out| may not be |base|. */
static void path_key(char *out, const char *base, const char *key)
{
	bool plain = *key != '\0';
	for (const char *k = key; *k != '\0'; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_' ||
		      *k == '-'))
			plain = false;
	if (!plain) {
		const char *parts[] = {base, "[\"", key, "\"]"};
		path_join(out, parts, 4);
	} else {
		const char *parts[] = {base, *base == '\0' ? "" : ".", key};
		path_join(out, parts, 3);
	}
}

static void path_index(char *out, const char *base, size_t i)
{
	char num[24];
	size_t n = sizeof(num) - 1;
	num[n] = '\0';
	do {
		num[--n] = (char)('0' + i % 10);
		i /= 10;
	} while (i > 0);
	const char *parts[] = {base, "[", num + n, "]"};
	path_join(out, parts, 4);
}

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

static bool in_list(const char *key, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(key, *list) == 0)
			return true;
	return false;
}

/*
 * Checks the keys of |obj|: those in |used| are ours; those in |teleport|
 * are Teleport's and load with a warning; any other is an error, because a
 * misspelt key in a deny rule must not quietly grant access. |what| names
 * the object in messages.
 */
static void check_keys(struct load *ld, json_t *obj, const char *path, const char *what,
		       const char *const *used, const char *const *teleport)
{
	const char *key;
	json_t *v;
	char p[PATH_MAX_LEN];

	json_object_foreach(obj, key, v)
	{
		if (in_list(key, used))
			continue;
		path_key(p, path, key);
		if (in_list(key, teleport))
			warn(ld, p, "'%s' is a Teleport field that awsgate does not use; ignored", key);
		else
			err(ld, p, RBAC_ERR_INVALID, "unknown key '%s' in %s (check its spelling)", key, what);
	}
}

/* The member |key| of |obj| if it is present and not null. */
static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static char *dup_string(struct load *ld, json_t *v, const char *path, const char *what)
{
	if (!json_is_string(v)) {
		err(ld, path, RBAC_ERR_INVALID, "%s must be a string, not %s", what, type_name(v));
		return NULL;
	}
	char *s = strndup(json_string_value(v), json_string_length(v));
	if (s == NULL)
		err(ld, path, RBAC_ERR_NOMEM, "out of memory");
	return s;
}

/* --- values, label selectors, rules --------------------------------------- */

static void value_free(struct rbac_value *v)
{
	free(v->text);
	free(v->path);
	if (v->is_tmpl)
		rbac_tmpl_free(&v->tmpl);
	else
		rbac_pattern_free(&v->pat);
}

static void rule_free(struct rbac_rule *r)
{
	for (size_t i = 0; i < r->nlabels; i++) {
		for (size_t j = 0; j < r->labels[i].nvalues; j++)
			value_free(&r->labels[i].values[j]);
		free(r->labels[i].values);
		free(r->labels[i].key);
	}
	free(r->labels);
	for (size_t i = 0; i < r->narns; i++)
		value_free(&r->arns[i]);
	free(r->arns);
	memset(r, 0, sizeof(*r));
}

/* Reads one pattern value (a string, perhaps a template) at |path|; |rel|
 * is the path inside the document, kept for decisions. */
static int value_read(struct load *ld, json_t *j, const char *path, const char *rel, struct rbac_value *v)
{
	char why[300];
	int rv;

	memset(v, 0, sizeof(*v));
	if (!json_is_string(j)) {
		err(ld, path, RBAC_ERR_INVALID, "expected a string, not %s", type_name(j));
		return RBAC_ERR_INVALID;
	}
	const char *s = json_string_value(j);
	size_t len = json_string_length(j);
	if (len == 0) {
		err(ld, path, RBAC_ERR_INVALID, "empty value (use \"*\" to match anything)");
		return RBAC_ERR_INVALID;
	}
	if (len > RBAC_MAX_PATTERN) {
		err(ld, path, RBAC_ERR_TOO_LARGE, "value longer than %d bytes", RBAC_MAX_PATTERN);
		return RBAC_ERR_TOO_LARGE;
	}
	v->text = strndup(s, len);
	v->path = strdup(rel);
	if (v->text == NULL || v->path == NULL) {
		value_free(v);
		err(ld, path, RBAC_ERR_NOMEM, "out of memory");
		return RBAC_ERR_NOMEM;
	}
	rv = rbac_tmpl_parse(&v->tmpl, v->text, &v->is_tmpl, why, sizeof(why));
	if (rv == 0 && v->is_tmpl) {
		ld->pol->ntemplates++;
		if (v->tmpl.internal && !rbac_internal_trait_known(v->tmpl.trait))
			warn(ld, path,
			     "template \"%s\" can never resolve: '%s' is not an internal trait (use external.%s for "
			     "a trait of your own)",
			     v->text, v->tmpl.trait, v->tmpl.trait);
		return 0;
	}
	if (rv == 0) {
		rv = rbac_pattern_init(&v->pat, s, len, why, sizeof(why));
		if (rv == 0) {
			ld->pol->npatterns++;
			return 0;
		}
	}
	if (rv == RBAC_ERR_NOMEM)
		err(ld, path, rv, "out of memory");
	else
		err(ld, path, rv, "\"%s\": %s", v->text, why);
	value_free(v);
	return rv;
}

static int labels_read(struct load *ld, json_t *obj, const char *path, const char *rel, struct rbac_rule *r)
{
	const char *key;
	json_t *vals;
	char p[PATH_MAX_LEN], rp[PATH_MAX_LEN], pi[PATH_MAX_LEN], rpi[PATH_MAX_LEN];

	if (!json_is_object(obj)) {
		err(ld, path, RBAC_ERR_INVALID, "app_labels must be an object of label -> value or [values], not %s",
		    type_name(obj));
		return RBAC_ERR_INVALID;
	}
	r->labels = calloc(json_object_size(obj) + 1, sizeof(*r->labels));
	if (r->labels == NULL)
		return RBAC_ERR_NOMEM;
	json_object_foreach(obj, key, vals)
	{
		struct rbac_label_sel *sel = &r->labels[r->nlabels];
		path_key(p, path, key);
		path_key(rp, rel, key);
		if (*key == '\0') {
			err(ld, p, RBAC_ERR_INVALID, "empty label name");
			continue;
		}
		size_t n = json_is_array(vals) ? json_array_size(vals) : 1;
		if (!json_is_array(vals) && !json_is_string(vals)) {
			err(ld, p, RBAC_ERR_INVALID, "a label's values must be a string or an array of strings, not %s",
			    type_name(vals));
			continue;
		}
		if (n == 0) {
			err(ld, p, RBAC_ERR_INVALID, "label '%s' has no values (use \"*\" for any value)", key);
			continue;
		}
		sel->key = strdup(key);
		sel->values = calloc(n, sizeof(*sel->values));
		if (sel->key == NULL || sel->values == NULL) {
			free(sel->key);
			free(sel->values);
			return RBAC_ERR_NOMEM;
		}
		r->nlabels++;
		for (size_t i = 0; i < n; i++) {
			json_t *v = json_is_array(vals) ? json_array_get(vals, i) : vals;
			if (json_is_array(vals)) {
				path_index(pi, p, i);
				path_index(rpi, rp, i);
			} else {
				snprintf(pi, sizeof(pi), "%s", p);
				snprintf(rpi, sizeof(rpi), "%s", rp);
			}
			if (value_read(ld, v, pi, rpi, &sel->values[sel->nvalues]) == 0)
				sel->nvalues++;
		}
		if (strcmp(key, "*") == 0 && !(sel->nvalues == 1 && strcmp(sel->values[0].text, "*") == 0))
			err(ld, p, RBAC_ERR_INVALID, "the label wildcard '*' takes only the value \"*\"");
	}
	return 0;
}

static int arns_read(struct load *ld, json_t *arr, const char *path, const char *rel, struct rbac_rule *r)
{
	char p[PATH_MAX_LEN], rp[PATH_MAX_LEN];

	if (!json_is_array(arr)) {
		err(ld, path, RBAC_ERR_INVALID, "aws_role_arns must be an array of strings, not %s", type_name(arr));
		return RBAC_ERR_INVALID;
	}
	r->arns = calloc(json_array_size(arr) + 1, sizeof(*r->arns));
	if (r->arns == NULL)
		return RBAC_ERR_NOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		path_index(p, path, i);
		path_index(rp, rel, i);
		if (value_read(ld, json_array_get(arr, i), p, rp, &r->arns[r->narns]) == 0)
			r->narns++;
	}
	return 0;
}

/* Teleport's role conditions (v3 to v8) that awsgate does not use. */
static const char *const teleport_conditions[] = {
	"logins", "windows_desktop_logins", "windows_desktop_labels", "windows_desktop_labels_expression",
	"node_labels", "node_labels_expression", "rules", "kubernetes_groups", "kubernetes_users",
	"kubernetes_labels", "kubernetes_labels_expression", "kubernetes_resources", "db_labels",
	"db_labels_expression", "db_names", "db_users", "db_roles", "db_service_labels",
	"db_service_labels_expression", "db_permissions", "cluster_labels", "cluster_labels_expression",
	"azure_identities", "gcp_service_accounts", "impersonate", "review_requests", "request", "host_groups",
	"host_sudoers", "desktop_groups", "join_sessions", "require_session_join", "group_labels",
	"group_labels_expression", "spiffe", "account_assignments", "github_permissions",
	"workload_identity_labels", "workload_identity_labels_expression", "mcp", "git_server_labels",
	"git_server_labels_expression", NULL};

static void rule_read(struct load *ld, json_t *obj, const char *path, const char *rel, struct rbac_rule *r)
{
	static const char *const used[] = {"app_labels", "aws_role_arns", NULL};
	char p[PATH_MAX_LEN], rp[PATH_MAX_LEN];
	json_t *v;

	if (obj == NULL)
		return;
	if (!json_is_object(obj)) {
		err(ld, path, RBAC_ERR_INVALID, "expected an object, not %s", type_name(obj));
		return;
	}
	if ((v = json_object_get(obj, "app_labels_expression")) != NULL) {
		path_key(p, path, "app_labels_expression");
		err(ld, p, RBAC_ERR_INVALID,
		    "app_labels_expression is not supported: awsgate cannot evaluate it, and ignoring it would change "
		    "who gets access; write it as app_labels");
	}
	static const char *const expr[] = {"app_labels_expression", NULL};
	const char *key;
	json_object_foreach(obj, key, v)
	{
		if (in_list(key, used) || in_list(key, expr))
			continue;
		path_key(p, path, key);
		if (in_list(key, teleport_conditions))
			warn(ld, p, "'%s' is a Teleport field that awsgate does not use; ignored", key);
		else
			err(ld, p, RBAC_ERR_INVALID, "unknown key '%s' in a role's rule (check its spelling)", key);
	}
	if ((v = member(obj, "app_labels")) != NULL) {
		path_key(p, path, "app_labels");
		path_key(rp, rel, "app_labels");
		if (labels_read(ld, v, p, rp, r) == RBAC_ERR_NOMEM)
			err(ld, p, RBAC_ERR_NOMEM, "out of memory");
	}
	if ((v = member(obj, "aws_role_arns")) != NULL) {
		path_key(p, path, "aws_role_arns");
		path_key(rp, rel, "aws_role_arns");
		if (arns_read(ld, v, p, rp, r) == RBAC_ERR_NOMEM)
			err(ld, p, RBAC_ERR_NOMEM, "out of memory");
	}
}

/* --- the four kinds -------------------------------------------------------- */

static void role_free(struct rbac_role *r)
{
	if (r == NULL)
		return;
	rule_free(&r->allow);
	rule_free(&r->deny);
	free(r->name);
	free(r);
}

static void user_free(struct rbac_user *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->nroles; i++)
		free(u->roles[i]);
	free(u->roles);
	rbac_traits_free(u->traits, u->ntraits);
	free(u->name);
	free(u);
}

static void app_free(struct rbac_app *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nlabels; i++) {
		free(a->labels[i].key);
		free(a->labels[i].value);
	}
	free(a->labels);
	free(a->name);
	free(a->description);
	free(a->uri);
	free(a->public_addr);
	free(a->external_id);
	free(a);
}

static void lock_free(struct rbac_lock *l)
{
	if (l == NULL)
		return;
	free(l->name);
	free(l->user);
	free(l->role);
	free(l->message);
	free(l);
}

static const char *const teleport_options[] = {
	"forward_agent", "port_forwarding", "ssh_port_forwarding", "cert_format", "client_idle_timeout",
	"disconnect_expired_cert", "bpf", "enhanced_recording", "permit_x11_forwarding", "max_connections",
	"max_sessions", "request_access", "request_prompt", "require_session_mfa", "lock", "record_session",
	"desktop_clipboard", "desktop_directory_sharing", "pin_source_ip", "ssh_file_copy", "cert_extensions",
	"max_kubernetes_connections", "create_host_user", "create_host_user_mode", "create_host_user_default_shell",
	"create_db_user", "create_db_user_mode", "create_desktop_user", "idp", "device_trust_mode",
	"require_mfa_type", "mfa_verification_interval", "max_session_ttl_ext", NULL};

static void role_read(struct load *ld, json_t *spec, const char *path, struct rbac_role *role)
{
	static const char *const used[] = {"allow", "deny", "options", NULL};
	char p[PATH_MAX_LEN];
	json_t *v;

	check_keys(ld, spec, path, "a role's spec", used, NULL);
	path_key(p, path, "allow");
	rule_read(ld, member(spec, "allow"), p, "spec.allow", &role->allow);
	path_key(p, path, "deny");
	rule_read(ld, member(spec, "deny"), p, "spec.deny", &role->deny);

	role->max_session_ttl = 30 * 3600; /* Teleport's default */
	json_t *opts = member(spec, "options");
	if (opts != NULL) {
		static const char *const oused[] = {"max_session_ttl", NULL};
		path_key(p, path, "options");
		if (!json_is_object(opts)) {
			err(ld, p, RBAC_ERR_INVALID, "options must be an object, not %s", type_name(opts));
		} else {
			check_keys(ld, opts, p, "a role's options", oused, teleport_options);
			if ((v = member(opts, "max_session_ttl")) != NULL) {
				char pp[PATH_MAX_LEN];
				uint32_t secs;
				path_key(pp, p, "max_session_ttl");
				if (!json_is_string(v) || rbac_duration_parse(json_string_value(v), &secs) != 0 ||
				    secs == 0)
					err(ld, pp, RBAC_ERR_INVALID,
					    "max_session_ttl must be a duration such as \"8h\" or \"30h0m0s\"");
				else
					role->max_session_ttl = secs;
			}
		}
	}

	/* Warnings that need only this role. */
	const struct rbac_rule *a = &role->allow, *d = &role->deny;
	if ((a->nlabels == 0) != (a->narns == 0) || (a->nlabels == 0 && d->nlabels == 0 && d->narns == 0))
		warn(ld, path,
		     "role '%s' allows no AWS role: an allow rule needs both app_labels and aws_role_arns", role->name);
	if (d->narns > 0 && d->nlabels == 0) {
		path_key(p, path, "deny");
		warn(ld, p,
		     "deny.aws_role_arns without deny.app_labels: awsgate applies it to every app (Teleport would apply "
		     "it to none); add app_labels {\"*\": \"*\"} to say so");
	}
}

static int traits_read(struct load *ld, json_t *obj, const char *path, struct rbac_trait **out, size_t *n)
{
	const char *key;
	json_t *vals;
	char p[PATH_MAX_LEN], pi[PATH_MAX_LEN];

	if (!json_is_object(obj)) {
		err(ld, path, RBAC_ERR_INVALID, "traits must be an object of name -> [values], not %s", type_name(obj));
		return RBAC_ERR_INVALID;
	}
	if (json_object_size(obj) > RBAC_MAX_TRAITS) {
		err(ld, path, RBAC_ERR_TOO_LARGE, "more than %d traits", RBAC_MAX_TRAITS);
		return RBAC_ERR_TOO_LARGE;
	}
	struct rbac_trait *t = calloc(json_object_size(obj) + 1, sizeof(*t));
	size_t nt = 0;
	if (t == NULL)
		return RBAC_ERR_NOMEM;
	json_object_foreach(obj, key, vals)
	{
		path_key(p, path, key);
		if (json_is_null(vals))
			continue;
		if (!json_is_array(vals)) {
			err(ld, p, RBAC_ERR_INVALID, "a trait's values must be an array of strings, not %s",
			    type_name(vals));
			continue;
		}
		if (json_array_size(vals) > RBAC_MAX_TRAIT_VALUES) {
			err(ld, p, RBAC_ERR_TOO_LARGE, "more than %d values", RBAC_MAX_TRAIT_VALUES);
			continue;
		}
		struct rbac_trait *tr = &t[nt];
		tr->name = strdup(key);
		tr->values = calloc(json_array_size(vals) + 1, sizeof(*tr->values));
		if (tr->name == NULL || tr->values == NULL) {
			free(tr->name);
			free(tr->values);
			rbac_traits_free(t, nt);
			return RBAC_ERR_NOMEM;
		}
		nt++;
		for (size_t i = 0; i < json_array_size(vals); i++) {
			path_index(pi, p, i);
			char *s = dup_string(ld, json_array_get(vals, i), pi, "a trait value");
			if (s != NULL)
				tr->values[tr->nvalues++] = s;
		}
	}
	*out = t;
	*n = nt;
	return 0;
}

static void user_read(struct load *ld, json_t *spec, const char *path, struct rbac_user *u)
{
	static const char *const used[] = {"roles", "traits", NULL};
	static const char *const teleport[] = {"status", "expires", "created_by", "local_auth", "oidc_identities",
					       "saml_identities", "github_identities", "trusted_device_ids",
					       "password_state", NULL};
	char p[PATH_MAX_LEN], pi[PATH_MAX_LEN];
	json_t *v;

	check_keys(ld, spec, path, "a user's spec", used, teleport);
	if ((v = member(spec, "roles")) != NULL) {
		path_key(p, path, "roles");
		if (!json_is_array(v)) {
			err(ld, p, RBAC_ERR_INVALID, "roles must be an array of role names, not %s", type_name(v));
		} else if (json_array_size(v) > RBAC_MAX_ROLES) {
			err(ld, p, RBAC_ERR_TOO_LARGE, "more than %d roles", RBAC_MAX_ROLES);
		} else if ((u->roles = calloc(json_array_size(v) + 1, sizeof(*u->roles))) != NULL) {
			for (size_t i = 0; i < json_array_size(v); i++) {
				path_index(pi, p, i);
				char *s = dup_string(ld, json_array_get(v, i), pi, "a role name");
				if (s != NULL && !rbac_name_ok(s, strlen(s))) {
					err(ld, pi, RBAC_ERR_INVALID, "\"%s\" is not a valid role name", s);
					free(s);
					s = NULL;
				}
				if (s != NULL)
					u->roles[u->nroles++] = s;
			}
		}
	}
	if ((v = member(spec, "traits")) != NULL) {
		path_key(p, path, "traits");
		if (traits_read(ld, v, p, &u->traits, &u->ntraits) == RBAC_ERR_NOMEM)
			err(ld, p, RBAC_ERR_NOMEM, "out of memory");
	}
}

static bool account_ok(const char *s)
{
	size_t n = strlen(s);
	if (n != 12)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rbac_label *)a)->key, ((const struct rbac_label *)b)->key);
}

static void app_read(struct load *ld, json_t *meta, json_t *spec, const char *docpath, const char *path,
		     struct rbac_app *a)
{
	static const char *const used[] = {"uri", "public_addr", "aws", NULL};
	static const char *const teleport[] = {"insecure_skip_verify", "rewrite", "dynamic_labels", "cloud",
					       "integration", "required_app_names", "cors", "user_groups",
					       "tcp_ports", "identity_center", "use_any_proxy_public_addr", "mcp",
					       NULL};
	char p[PATH_MAX_LEN], mp[PATH_MAX_LEN];
	json_t *v;

	a->source_identity = true;
	/* metadata.labels, read here: only apps use theirs. */
	path_key(mp, docpath, "metadata");
	if ((v = member(meta, "labels")) != NULL) {
		char lp[PATH_MAX_LEN];
		path_key(p, mp, "labels");
		if (!json_is_object(v)) {
			err(ld, p, RBAC_ERR_INVALID, "labels must be an object of name -> value, not %s", type_name(v));
		} else if ((a->labels = calloc(json_object_size(v) + 1, sizeof(*a->labels))) != NULL) {
			const char *key;
			json_t *lv;
			json_object_foreach(v, key, lv)
			{
				path_key(lp, p, key);
				char *val = dup_string(ld, lv, lp, "a label value");
				char *k = val != NULL ? strdup(key) : NULL;
				if (k == NULL) {
					free(val);
					continue;
				}
				a->labels[a->nlabels].key = k;
				a->labels[a->nlabels++].value = val;
				if (strcmp(key, "aws_account_id") == 0 && !account_ok(val))
					err(ld, lp, RBAC_ERR_INVALID,
					    "aws_account_id must be the 12 digits of an AWS account, not \"%s\"", val);
			}
			qsort(a->labels, a->nlabels, sizeof(*a->labels), label_cmp);
		}
	}
	if ((v = member(meta, "description")) != NULL) {
		path_key(p, mp, "description");
		a->description = dup_string(ld, v, p, "description");
	}

	check_keys(ld, spec, path, "an app's spec", used, teleport);
	if ((v = member(spec, "uri")) != NULL) {
		path_key(p, path, "uri");
		a->uri = dup_string(ld, v, p, "uri");
	}
	if ((v = member(spec, "public_addr")) != NULL) {
		path_key(p, path, "public_addr");
		a->public_addr = dup_string(ld, v, p, "public_addr");
	}
	if ((v = member(spec, "aws")) != NULL) {
		static const char *const aused[] = {"external_id", "source_identity", NULL};
		static const char *const ateleport[] = {"roles_anywhere", NULL};
		json_t *w;
		path_key(p, path, "aws");
		if (!json_is_object(v)) {
			err(ld, p, RBAC_ERR_INVALID, "aws must be an object, not %s", type_name(v));
			return;
		}
		check_keys(ld, v, p, "an app's aws settings", aused, ateleport);
		char pp[PATH_MAX_LEN];
		if ((w = member(v, "external_id")) != NULL) {
			path_key(pp, p, "external_id");
			a->external_id = dup_string(ld, w, pp, "external_id");
			/* STS: 2 to 1224 characters of [\w+=,.@:/-]. */
			if (a->external_id != NULL) {
				size_t n = strlen(a->external_id);
				bool ok = n >= 2 && n <= 1224;
				for (size_t i = 0; ok && i < n; i++) {
					char c = a->external_id[i];
					ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
					     strchr("_+=,.@:/-", c) != NULL;
				}
				if (!ok)
					err(ld, pp, RBAC_ERR_INVALID,
					    "external_id must be 2 to 1224 characters of letters, digits and _+=,.@:/- "
					    "(STS's rule)");
			}
		}
		if ((w = member(v, "source_identity")) != NULL) {
			path_key(pp, p, "source_identity");
			if (!json_is_boolean(w))
				err(ld, pp, RBAC_ERR_INVALID, "source_identity must be true or false, not %s",
				    type_name(w));
			else
				a->source_identity = json_is_true(w);
		}
	}
	a->account = rbac_app_label(a, "aws_account_id");
	if (a->account == NULL)
		warn(ld, path,
		     "app '%s' has no aws_account_id label: role ARNs of every account pass, and `rbac roles` lists "
		     "them all",
		     a->name);
}

int rbac_time_parse(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, sec, n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return RBAC_ERR_INVALID;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return RBAC_ERR_INVALID;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return RBAC_ERR_INVALID;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59)
			return RBAC_ERR_INVALID;
		off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return RBAC_ERR_INVALID;
	}
	if (*p != '\0')
		return RBAC_ERR_INVALID;
	/* Days from civil (Howard Hinnant's algorithm), valid for any year. */
	int yy = y - (mo <= 2);
	int era = yy / 400;
	int yoe = yy - era * 400;
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + doe - 719468;
	*t = days * 86400 + h * 3600 + mi * 60 + sec - off;
	return 0;
}

static void lock_read(struct load *ld, json_t *spec, const char *path, struct rbac_lock *l)
{
	static const char *const used[] = {"target", "message", "expires", NULL};
	static const char *const teleport[] = {"created_at", "created_by", NULL};
	static const char *const tteleport[] = {"login", "node", "mfa_device", "windows_desktop", "access_request",
						"device", "server_id", "bot_instance_id", "join_token", NULL};
	char p[PATH_MAX_LEN], pp[PATH_MAX_LEN];
	json_t *v, *w;

	check_keys(ld, spec, path, "a lock's spec", used, teleport);
	path_key(p, path, "target");
	v = member(spec, "target");
	if (!json_is_object(v)) {
		err(ld, p, RBAC_ERR_INVALID, "a lock needs a target object: {\"user\": NAME} or {\"role\": NAME}");
		return;
	}
	static const char *const tused[] = {"user", "role", NULL};
	const char *key;
	json_object_foreach(v, key, w)
	{
		if (in_list(key, tused))
			continue;
		path_key(pp, p, key);
		if (in_list(key, tteleport))
			warn(ld, pp, "awsgate does not enforce locks on '%s'; ignored", key);
		else
			err(ld, pp, RBAC_ERR_INVALID, "unknown key '%s' in a lock's target", key);
	}
	if ((w = member(v, "user")) != NULL) {
		path_key(pp, p, "user");
		l->user = dup_string(ld, w, pp, "target.user");
	}
	if ((w = member(v, "role")) != NULL) {
		path_key(pp, p, "role");
		l->role = dup_string(ld, w, pp, "target.role");
	}
	if ((l->user != NULL) == (l->role != NULL))
		err(ld, p, RBAC_ERR_INVALID, "a lock's target must name exactly one of user and role");
	if ((w = member(spec, "message")) != NULL) {
		path_key(pp, path, "message");
		l->message = dup_string(ld, w, pp, "message");
	}
	if ((w = member(spec, "expires")) != NULL) {
		path_key(pp, path, "expires");
		if (!json_is_string(w) || rbac_time_parse(json_string_value(w), &l->expires) != 0)
			err(ld, pp, RBAC_ERR_INVALID, "expires must be an RFC 3339 time such as \"2026-11-22T17:00:00Z\"");
		/* Go's zero time: Teleport writes it for "never". */
		else if (l->expires < 0 || strncmp(json_string_value(w), "0001-01-01", 10) == 0)
			l->expires = 0;
	}
}

/* --- documents ---------------------------------------------------------------- */

static void doc_read(struct load *ld, json_t *doc, const char *path)
{
	static const char *const top_used[] = {"kind", "version", "metadata", "spec", NULL};
	static const char *const top_teleport[] = {"sub_kind", "status", NULL};
	static const char *const meta_used[] = {"name", "description", "labels", NULL};
	static const char *const meta_teleport[] = {"revision", "id", "namespace", "expires", NULL};
	char p[PATH_MAX_LEN], pm[PATH_MAX_LEN], ps[PATH_MAX_LEN];
	const char *kind, *version, *name;

	ld->doc_bad = false;
	if (!json_is_object(doc)) {
		err(ld, path, RBAC_ERR_INVALID, "a resource document must be an object, not %s", type_name(doc));
		return;
	}
	json_t *jk = json_object_get(doc, "kind");
	path_key(p, path, "kind");
	if (!json_is_string(jk)) {
		err(ld, jk ? p : path, RBAC_ERR_INVALID, "a resource needs \"kind\": role, user, app or lock");
		return;
	}
	kind = json_string_value(jk);
	if (strcmp(kind, "token") == 0) {
		warn(ld, p, "token resources are not used yet; this document is ignored");
		return;
	}
	static const char *const kinds[] = {"role", "user", "app", "lock", NULL};
	static const char *const versions[][7] = {
		{"v3", "v4", "v5", "v6", "v7", "v8", NULL}, {"v2", NULL}, {"v3", NULL}, {"v2", NULL}};
	size_t k = 0;
	while (kinds[k] != NULL && strcmp(kinds[k], kind) != 0)
		k++;
	if (kinds[k] == NULL) {
		err(ld, p, RBAC_ERR_INVALID, "unknown kind \"%s\" (expected role, user, app or lock)", kind);
		return;
	}
	check_keys(ld, doc, path, "a resource document", top_used, top_teleport);
	json_t *jv = json_object_get(doc, "version");
	path_key(p, path, "version");
	version = json_is_string(jv) ? json_string_value(jv) : NULL;
	if (version == NULL || !in_list(version, versions[k])) {
		char list[64] = "";
		for (size_t i = 0; versions[k][i] != NULL; i++) {
			size_t n = strlen(list);
			snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", versions[k][i]);
		}
		err(ld, jv ? p : path, RBAC_ERR_INVALID, "a %s needs \"version\": one of %s", kind, list);
	}
	path_key(pm, path, "metadata");
	json_t *meta = json_object_get(doc, "metadata");
	if (!json_is_object(meta)) {
		err(ld, meta ? pm : path, RBAC_ERR_INVALID, "a resource needs \"metadata\": {\"name\": ...}");
		return;
	}
	check_keys(ld, meta, pm, "metadata", meta_used, meta_teleport);
	if (k != 2 && json_object_get(meta, "labels") != NULL) {
		path_key(p, pm, "labels");
		warn(ld, p, "labels of a %s are not used by awsgate; ignored", kind);
	}
	json_t *jn = json_object_get(meta, "name");
	path_key(p, pm, "name");
	name = json_is_string(jn) ? json_string_value(jn) : NULL;
	if (name == NULL || !rbac_name_ok(name, json_string_length(jn))) {
		err(ld, jn ? p : pm, RBAC_ERR_INVALID,
		    "metadata.name must be 1 to %d letters, digits or . _ - @ + = : characters", RBAC_MAX_NAME);
		return;
	}
	path_key(ps, path, "spec");
	json_t *spec = json_object_get(doc, "spec");
	if (json_is_null(spec) || (spec == NULL && k == 0))
		spec = NULL;
	if (spec != NULL && !json_is_object(spec)) {
		err(ld, ps, RBAC_ERR_INVALID, "spec must be an object, not %s", type_name(spec));
		return;
	}
	json_t *empty = NULL;
	if (spec == NULL) {
		if (k == 3) {
			err(ld, path, RBAC_ERR_INVALID, "a lock needs a spec with a target");
			return;
		}
		spec = empty = json_object();
		if (spec == NULL) {
			err(ld, path, RBAC_ERR_NOMEM, "out of memory");
			return;
		}
	}

	struct rbac_vec *vec[] = {&ld->pol->roles, &ld->pol->users, &ld->pol->apps, &ld->pol->locks};
	const void *prev = vec_find_linear(vec[k], name);
	if (prev != NULL) {
		const char *pfile = k == 0 ? ((const struct rbac_role *)prev)->file
			: k == 1	   ? ((const struct rbac_user *)prev)->file
			: k == 2	   ? ((const struct rbac_app *)prev)->file
					   : ((const struct rbac_lock *)prev)->file;
		err(ld, p, RBAC_ERR_DUPLICATE, "%s \"%s\" is defined twice (first in %s); rename or remove one", kind,
		    name, pfile);
		json_decref(empty);
		return;
	}

	void *item = NULL;
	switch (k) {
	case 0: {
		struct rbac_role *r = calloc(1, sizeof(*r));
		if (r != NULL && (r->name = strdup(name)) != NULL) {
			r->file = ld->file;
			role_read(ld, spec, ps, r);
		}
		if (ld->doc_bad || r == NULL || r->name == NULL)
			role_free(r);
		else
			item = r;
		break;
	}
	case 1: {
		struct rbac_user *u = calloc(1, sizeof(*u));
		if (u != NULL && (u->name = strdup(name)) != NULL) {
			u->file = ld->file;
			user_read(ld, spec, ps, u);
		}
		if (ld->doc_bad || u == NULL || u->name == NULL)
			user_free(u);
		else
			item = u;
		break;
	}
	case 2: {
		struct rbac_app *a = calloc(1, sizeof(*a));
		if (a != NULL && (a->name = strdup(name)) != NULL) {
			a->file = ld->file;
			app_read(ld, meta, spec, path, ps, a);
		}
		if (ld->doc_bad || a == NULL || a->name == NULL)
			app_free(a);
		else
			item = a;
		break;
	}
	case 3: {
		struct rbac_lock *l = calloc(1, sizeof(*l));
		if (l != NULL && (l->name = strdup(name)) != NULL) {
			l->file = ld->file;
			lock_read(ld, spec, ps, l);
		}
		if (ld->doc_bad || l == NULL || l->name == NULL)
			lock_free(l);
		else
			item = l;
		break;
	}
	}
	json_decref(empty);
	if (item == NULL && !ld->doc_bad)
		err(ld, path, RBAC_ERR_NOMEM, "out of memory");
	if (item != NULL && rbac_vec_push(vec[k], item) != 0) {
		void (*const frees[])(void *) = {(void (*)(void *))role_free, (void (*)(void *))user_free,
						 (void (*)(void *))app_free, (void (*)(void *))lock_free};
		frees[k](item);
		err(ld, path, RBAC_ERR_NOMEM, "out of memory");
	}
}

static void docs_read(struct load *ld, json_t *root, const char *path)
{
	char p[PATH_MAX_LEN];

	if (json_is_array(root)) {
		for (size_t i = 0; i < json_array_size(root); i++) {
			path_index(p, path, i);
			doc_read(ld, json_array_get(root, i), p);
		}
	} else {
		doc_read(ld, root, path);
	}
}

/* --- the policy ----------------------------------------------------------------- */

struct rbac_policy *rbac_policy_new(void)
{
	struct rbac_policy *pol = calloc(1, sizeof(*pol));
	if (pol != NULL)
		pol->refs = 1;
	return pol;
}

struct rbac_policy *rbac_policy_ref(struct rbac_policy *pol)
{
	__atomic_add_fetch(&pol->refs, 1, __ATOMIC_RELAXED);
	return pol;
}

void rbac_policy_unref(struct rbac_policy *pol)
{
	if (pol == NULL || __atomic_sub_fetch(&pol->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < pol->roles.n; i++)
		role_free(pol->roles.items[i]);
	for (size_t i = 0; i < pol->users.n; i++)
		user_free(pol->users.items[i]);
	for (size_t i = 0; i < pol->apps.n; i++)
		app_free(pol->apps.items[i]);
	for (size_t i = 0; i < pol->locks.n; i++)
		lock_free(pol->locks.items[i]);
	free(pol->roles.items);
	free(pol->users.items);
	free(pol->apps.items);
	free(pol->locks.items);
	for (size_t i = 0; i < pol->files.n; i++)
		free(pol->files.items[i]);
	free(pol->files.items);
	free(pol);
}

/* The policy's own copy of |file|: resources outlive their caller's name. */
static const char *file_intern(struct rbac_policy *pol, const char *file)
{
	for (size_t i = pol->files.n; i-- > 0;)
		if (strcmp(pol->files.items[i], file) == 0)
			return pol->files.items[i];
	char *copy = strdup(file);
	if (copy == NULL || rbac_vec_push(&pol->files, copy) != 0) {
		free(copy);
		return NULL;
	}
	return copy;
}

int rbac_policy_load_json(struct rbac_policy *pol, const char *file, const char *text, size_t len,
			  void *docs, const char *path, rbac_diag_fn *fn, void *arg)
{
	struct load ld = {pol, file, text, len, fn, arg, 0, false};

	if ((ld.file = file_intern(pol, file)) == NULL) {
		ld.file = file;
		err(&ld, path, RBAC_ERR_NOMEM, "out of memory");
		return RBAC_ERR_NOMEM;
	}
	if (pol->frozen) {
		err(&ld, path, RBAC_ERR_INVALID, "the policy is frozen");
		return RBAC_ERR_INVALID;
	}
	docs_read(&ld, docs, path);
	return ld.first_err;
}

int rbac_policy_load(struct rbac_policy *pol, const char *file, const char *text, size_t len, rbac_diag_fn *fn,
		     void *arg)
{
	struct load ld = {pol, file, text, len, fn, arg, 0, false};
	json_error_t je;

	if (len > RBAC_MAX_DOCUMENT) {
		err(&ld, "", RBAC_ERR_TOO_LARGE, "file larger than %d bytes", RBAC_MAX_DOCUMENT);
		return RBAC_ERR_TOO_LARGE;
	}
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		struct rbac_diag d;
		memset(&d, 0, sizeof(d));
		d.file = file;
		d.code = RBAC_ERR_SYNTAX;
		d.line = je.line > 0 ? je.line : 0;
		d.column = je.column > 0 ? je.column : 0;
		snprintf(d.msg, sizeof(d.msg), "not valid JSON: %s", je.text);
		if (fn != NULL)
			fn(arg, &d);
		return RBAC_ERR_SYNTAX;
	}
	int rv = rbac_policy_load_json(pol, file, text, len, root, "", fn, arg);
	json_decref(root);
	return rv;
}

static int cmp_items(const void *a, const void *b)
{
	return strcmp(item_name(*(void *const *)a), item_name(*(void *const *)b));
}

int rbac_policy_freeze(struct rbac_policy *pol, rbac_diag_fn *fn, void *arg)
{
	struct rbac_vec *vecs[] = {&pol->roles, &pol->users, &pol->apps, &pol->locks};

	for (size_t i = 0; i < 4; i++)
		if (vecs[i]->n > 1)
			qsort(vecs[i]->items, vecs[i]->n, sizeof(void *), cmp_items);
	for (size_t i = 0; i < pol->apps.n; i++)
		((struct rbac_app *)pol->apps.items[i])->index = i;
	for (size_t i = 0; i < pol->users.n; i++) {
		const struct rbac_user *u = pol->users.items[i];
		for (size_t j = 0; j < u->nroles; j++)
			if (rbac_vec_find(&pol->roles, u->roles[j], strlen(u->roles[j])) == NULL)
				rbac_diag_report(fn, arg, u->file, NULL, 0, "", 0,
						 "user \"%s\" has role \"%s\", which no role resource defines", u->name,
						 u->roles[j]);
	}
	for (size_t i = 0; i < pol->locks.n; i++) {
		const struct rbac_lock *l = pol->locks.items[i];
		if (l->role != NULL && rbac_vec_find(&pol->roles, l->role, strlen(l->role)) == NULL)
			rbac_diag_report(fn, arg, l->file, NULL, 0, "", 0,
					 "lock \"%s\" targets role \"%s\", which no role resource defines", l->name,
					 l->role);
	}
	pol->frozen = true;
	return 0;
}

void rbac_policy_stats(const struct rbac_policy *pol, struct rbac_policy_stats *st)
{
	st->roles = pol->roles.n;
	st->users = pol->users.n;
	st->apps = pol->apps.n;
	st->locks = pol->locks.n;
	st->patterns = pol->npatterns;
	st->templates = pol->ntemplates;
}

const struct rbac_app *rbac_policy_app(const struct rbac_policy *pol, const char *name, size_t len)
{
	return rbac_vec_find(&pol->apps, name, len);
}

const struct rbac_app *rbac_policy_app_at(const struct rbac_policy *pol, size_t i)
{
	return i < pol->apps.n ? pol->apps.items[i] : NULL;
}

void rbac_app_info(const struct rbac_app *app, struct rbac_app_info *info)
{
	info->name = app->name;
	info->description = app->description;
	info->uri = app->uri;
	info->public_addr = app->public_addr;
	info->external_id = app->external_id;
	info->account_id = rbac_app_label(app, "aws_account_id");
	info->source_identity = app->source_identity;
	info->file = app->file;
}

const char *rbac_app_label(const struct rbac_app *app, const char *key)
{
	for (size_t i = 0; i < app->nlabels; i++)
		if (strcmp(app->labels[i].key, key) == 0)
			return app->labels[i].value;
	return NULL;
}

int rbac_app_label_at(const struct rbac_app *app, size_t i, const char **key, const char **value)
{
	if (i >= app->nlabels)
		return -1;
	*key = app->labels[i].key;
	*value = app->labels[i].value;
	return 0;
}

int rbac_policy_lock_at(const struct rbac_policy *pol, size_t i, struct rbac_lock_info *info)
{
	if (i >= pol->locks.n)
		return -1;
	const struct rbac_lock *l = pol->locks.items[i];
	info->name = l->name;
	info->user = l->user;
	info->role = l->role;
	info->message = l->message;
	info->expires = l->expires;
	info->file = l->file;
	return 0;
}
