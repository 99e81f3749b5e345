/* SPDX-License-Identifier: Apache-2.0 */
/* template.c: Teleport's role templates ({{internal.x}}, email.local, regexp.replace), parsed and expanded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

/* Bytes of one expanded value; longer results cannot be patterns anyway. */
#define TMPL_VALUE_MAX (RBAC_MAX_PATTERN + 1)

bool rbac_internal_trait_known(const char *name)
{
	static const char *const known[] = {
		"logins",	   "windows_logins", "kubernetes_users",	 "kubernetes_groups",
		"db_names",	   "db_users",	     "db_roles",		 "aws_role_arns",
		"azure_identities", "github_orgs",    "gcp_service_accounts",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return false;
}

struct cursor {
	const char *p, *end;
};

static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static bool eat(struct cursor *c, const char *word)
{
	size_t n = strlen(word);
	skip_blanks(c);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool trait_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '-' || ch == '.' || ch == '/' || ch == ':';
}

/* Reads a double-quoted string: \" and \\ are escapes; any other backslash
 * stays, so "\d" and "\\d" both reach PCRE2 as \d. */
static char *read_quoted(struct cursor *c)
{
	skip_blanks(c);
	if (c->p == c->end || *c->p != '"')
		return NULL;
	c->p++;
	char *out = malloc((size_t)(c->end - c->p) + 1);
	size_t n = 0;
	if (out == NULL)
		return NULL;
	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\' && c->p + 1 < c->end && (c->p[1] == '"' || c->p[1] == '\\'))
			c->p++;
		out[n++] = *c->p++;
	}
	if (c->p == c->end) {
		free(out);
		return NULL;
	}
	c->p++;
	out[n] = '\0';
	return out;
}

/* internal.NAME, external.NAME, internal["NAME"], external["NAME"] */
static int read_var(struct cursor *c, struct rbac_tmpl *t, char *why, size_t whylen)
{
	if (eat(c, "internal"))
		t->internal = true;
	else if (eat(c, "external"))
		t->internal = false;
	else {
		snprintf(why, whylen, "expected internal.NAME or external.NAME");
		return RBAC_ERR_INVALID;
	}
	if (c->p < c->end && *c->p == '.') {
		const char *start = ++c->p;
		while (c->p < c->end && trait_char(*c->p) && *c->p != '.')
			c->p++;
		if (c->p == start) {
			snprintf(why, whylen, "a trait name must follow '%s.'", t->internal ? "internal" : "external");
			return RBAC_ERR_INVALID;
		}
		t->trait = strndup(start, (size_t)(c->p - start));
	} else if (eat(c, "[")) {
		t->trait = read_quoted(c);
		if (t->trait == NULL || !eat(c, "]")) {
			snprintf(why, whylen, "expected [\"NAME\"] after '%s'", t->internal ? "internal" : "external");
			return RBAC_ERR_INVALID;
		}
		if (t->trait[0] == '\0') {
			snprintf(why, whylen, "empty trait name");
			return RBAC_ERR_INVALID;
		}
	} else {
		snprintf(why, whylen, "expected '.' or '[' after '%s'", t->internal ? "internal" : "external");
		return RBAC_ERR_INVALID;
	}
	return t->trait == NULL ? RBAC_ERR_NOMEM : 0;
}

static int parse_expr(struct cursor *c, struct rbac_tmpl *t, char *why, size_t whylen)
{
	int rv;

	if (eat(c, "email.local")) {
		t->fn = RBAC_TMPL_EMAIL_LOCAL;
		if (!eat(c, "(")) {
			snprintf(why, whylen, "expected '(' after email.local");
			return RBAC_ERR_INVALID;
		}
		if ((rv = read_var(c, t, why, whylen)) != 0)
			return rv;
		if (!eat(c, ")")) {
			snprintf(why, whylen, "expected ')' to close email.local(");
			return RBAC_ERR_INVALID;
		}
		return 0;
	}
	if (eat(c, "regexp.replace")) {
		t->fn = RBAC_TMPL_REGEXP_REPLACE;
		if (!eat(c, "(")) {
			snprintf(why, whylen, "expected '(' after regexp.replace");
			return RBAC_ERR_INVALID;
		}
		if ((rv = read_var(c, t, why, whylen)) != 0)
			return rv;
		char *re = NULL;
		if (!eat(c, ",") || (re = read_quoted(c)) == NULL || !eat(c, ",") ||
		    (t->repl = read_quoted(c)) == NULL || !eat(c, ")")) {
			free(re);
			snprintf(why, whylen, "expected regexp.replace(VAR, \"regex\", \"replacement\")");
			return RBAC_ERR_INVALID;
		}
		int err;
		PCRE2_SIZE off;
		t->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
				      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &err, &off, NULL);
		if (t->re == NULL) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(err, msg, sizeof(msg));
			snprintf(why, whylen, "regexp.replace: \"%s\" is not a valid regular expression at offset %zu: %s",
				 re, (size_t)off, (const char *)msg);
			free(re);
			return RBAC_ERR_INVALID;
		}
		free(re);
		return 0;
	}
	t->fn = RBAC_TMPL_VAR;
	const char *start = c->p;
	rv = read_var(c, t, why, whylen);
	if (rv == RBAC_ERR_INVALID) {
		/* Name the function, if that is what it was. */
		size_t n = 0;
		skip_blanks(c);
		while (start + n < c->end && start[n] != '(' && n < 40)
			n++;
		if (start + n < c->end && start[n] == '(')
			snprintf(why, whylen,
				 "unsupported template function '%.*s' (use email.local or regexp.replace)", (int)n,
				 start);
	}
	return rv;
}

int rbac_tmpl_parse(struct rbac_tmpl *t, const char *text, bool *is_tmpl, char *why, size_t whylen)
{
	const char *open = strstr(text, "{{");
	int rv;

	memset(t, 0, sizeof(*t));
	if (open == NULL) {
		if (strstr(text, "}}") != NULL) {
			snprintf(why, whylen, "'}}' without '{{'");
			return RBAC_ERR_INVALID;
		}
		*is_tmpl = false;
		return 0;
	}
	const char *close = strstr(open + 2, "}}");
	if (close == NULL) {
		snprintf(why, whylen, "'{{' without '}}'");
		return RBAC_ERR_INVALID;
	}
	if (strstr(close + 2, "{{") != NULL || strstr(close + 2, "}}") != NULL) {
		snprintf(why, whylen, "only one {{...}} template per value");
		return RBAC_ERR_INVALID;
	}
	struct cursor c = {open + 2, close};
	rv = parse_expr(&c, t, why, whylen);
	if (rv == 0) {
		skip_blanks(&c);
		if (c.p != c.end) {
			snprintf(why, whylen, "unexpected '%.*s' in template", (int)(c.end - c.p), c.p);
			rv = RBAC_ERR_INVALID;
		}
	}
	if (rv == 0) {
		t->prefix = strndup(text, (size_t)(open - text));
		t->suffix = strdup(close + 2);
		if (t->prefix == NULL || t->suffix == NULL)
			rv = RBAC_ERR_NOMEM;
	}
	if (rv != 0) {
		rbac_tmpl_free(t);
		return rv;
	}
	*is_tmpl = true;
	return 0;
}

void rbac_tmpl_free(struct rbac_tmpl *t)
{
	if (t == NULL)
		return;
	free(t->prefix);
	free(t->suffix);
	free(t->trait);
	free(t->repl);
	pcre2_code_free(t->re);
	memset(t, 0, sizeof(*t));
}

/* Emits prefix + value + suffix, or nothing when it does not fit. */
static void emit_joined(const struct rbac_tmpl *t, const char *v, size_t vlen,
			void (*emit)(void *arg, const char *value, size_t len), void *arg)
{
	char out[TMPL_VALUE_MAX];
	size_t pl = strlen(t->prefix), sl = strlen(t->suffix);

	if (pl + vlen + sl == 0 || pl + vlen + sl >= sizeof(out))
		return;
	memcpy(out, t->prefix, pl);
	memcpy(out + pl, v, vlen);
	memcpy(out + pl + vlen, t->suffix, sl);
	out[pl + vlen + sl] = '\0';
	emit(arg, out, pl + vlen + sl);
}

int rbac_tmpl_expand(const struct rbac_tmpl *t, const struct rbac_trait *traits, size_t ntraits,
		     void (*emit)(void *arg, const char *value, size_t len), void *arg)
{
	const struct rbac_trait *tr = NULL;
	pcre2_match_data *md = NULL;

	for (size_t i = 0; i < ntraits && tr == NULL; i++)
		if (strcmp(traits[i].name, t->trait) == 0)
			tr = &traits[i];
	if (tr == NULL)
		return 0;
	if (t->internal && !rbac_internal_trait_known(t->trait))
		return 0;
	if (t->fn == RBAC_TMPL_REGEXP_REPLACE) {
		md = pcre2_match_data_create_from_pattern(t->re, NULL);
		if (md == NULL)
			return RBAC_ERR_NOMEM;
	}
	for (size_t i = 0; i < tr->nvalues; i++) {
		const char *v = tr->values[i];
		size_t vlen = strlen(v);
		switch (t->fn) {
		case RBAC_TMPL_VAR:
			emit_joined(t, v, vlen, emit, arg);
			break;
		case RBAC_TMPL_EMAIL_LOCAL: {
			const char *at = memchr(v, '@', vlen);
			if (at != NULL && at > v)
				emit_joined(t, v, (size_t)(at - v), emit, arg);
			break;
		}
		case RBAC_TMPL_REGEXP_REPLACE: {
			/* Teleport drops a value the expression does not match. */
			if (pcre2_match(t->re, (PCRE2_SPTR)v, vlen, 0, 0, md, NULL) < 0)
				break;
			PCRE2_UCHAR out[TMPL_VALUE_MAX];
			PCRE2_SIZE outlen = sizeof(out);
			int rc = pcre2_substitute(t->re, (PCRE2_SPTR)v, vlen, 0, PCRE2_SUBSTITUTE_GLOBAL, md, NULL,
						  (PCRE2_SPTR)t->repl, PCRE2_ZERO_TERMINATED, out, &outlen);
			if (rc > 0)
				emit_joined(t, (const char *)out, outlen, emit, arg);
			break;
		}
		}
	}
	pcre2_match_data_free(md);
	return 0;
}

int rbac_template_expand(const char *text, const struct rbac_trait *traits, size_t ntraits,
			 void (*emit)(void *arg, const char *value, size_t len), void *arg, struct rbac_diag *diag)
{
	struct rbac_tmpl t;
	bool is_tmpl;
	int rv = rbac_tmpl_parse(&t, text, &is_tmpl, diag->msg, sizeof(diag->msg));

	diag->code = rv;
	if (rv != 0)
		return rv;
	if (!is_tmpl) {
		if (text[0] != '\0')
			emit(arg, text, strlen(text));
		return 0;
	}
	rv = rbac_tmpl_expand(&t, traits, ntraits, emit, arg);
	rbac_tmpl_free(&t);
	return rv;
}
