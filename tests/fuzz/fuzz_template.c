/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_template.c: libFuzzer target for template expansion and pattern matching. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac/rbac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input layout: three parts separated by newlines (a missing part is
 * empty): a template, a pattern and a subject (the subject is the rest of
 * the input and may hold newlines and NULs).
 *
 * The template is expanded with fixed traits through
 * rbac_template_expand(): it returns 0, RBAC_ERR_INVALID with a message, or
 * RBAC_ERR_NOMEM, and every value it emits is then matched as a pattern
 * against the subject. The pattern is matched against the subject with
 * rbac_pattern_match(), which returns 1, 0 or RBAC_ERR_INVALID, and
 * against itself: a pattern that is not a regex (does not both start with
 * '^' and end with '$') and is plain ASCII always matches itself, since
 * each '*' and '?' can stand for itself.
 */

static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_template: invariant violated: %s\n", what);
	abort();
}

struct expand_state {
	const char *subject;
	size_t len;
	size_t count;
};

static void check_match(const char *pat, const char *s, size_t len)
{
	int rv = rbac_pattern_match(pat, s, len);
	if (rv != 0 && rv != 1 && rv != RBAC_ERR_INVALID)
		violated("rbac_pattern_match returned something else than 1, 0 or RBAC_ERR_INVALID");
}

static void emit(void *arg, const char *value, size_t len)
{
	struct expand_state *st = arg;
	if (value == NULL && len > 0)
		violated("a NULL value of non-zero length");
	if (++st->count > 100000)
		violated("too many values emitted");
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return;
	if (len > 0)
		memcpy(copy, value, len);
	copy[len] = '\0';
	check_match(copy, st->subject, st->len);
	free(copy);
}

static char *part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	const uint8_t *stop = nl ? nl : end;
	size_t n = (size_t)(stop - *p);
	char *s = malloc(n + 1);
	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl ? nl + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a0[] = "arn:aws:iam::123456789012:role/Alpha", a1[] = "arn:aws:iam::123456789012:role/team-*";
	static char l0[] = "alice", l1[] = "root";
	static char t0[] = "payments", t1[] = "search", t2[] = "";
	static char e0[] = "alice@example.com", e1[] = "bob", e2[] = "@", e3[] = "a@b@c";
	static char g0[] = "aws-ReadOnly", g1[] = "eng", g2[] = "grp-data-ops";
	static char n0[] = "aws_role_arns", n1[] = "logins", n2[] = "team", n3[] = "email", n4[] = "groups",
		    n5[] = "empty";
	static char *arns[] = {a0, a1};
	static char *logins[] = {l0, l1};
	static char *team[] = {t0, t1, t2};
	static char *email[] = {e0, e1, e2, e3};
	static char *groups[] = {g0, g1, g2};
	static const struct rbac_trait traits[] = {
		{n0, arns, 2}, {n1, logins, 2}, {n2, team, 3}, {n3, email, 4}, {n4, groups, 3}, {n5, NULL, 0},
	};
	const uint8_t *p = data, *end = data + size;
	char *tmpl = part(&p, end);
	char *pat = part(&p, end);
	size_t slen = (size_t)(end - p);
	char *subject = malloc(slen + 1);
	if (subject == NULL)
		abort();
	if (slen > 0)
		memcpy(subject, p, slen);
	subject[slen] = '\0';

	struct expand_state st = {subject, slen, 0};
	struct rbac_diag diag;
	memset(&diag, 0, sizeof(diag));
	int rv = rbac_template_expand(tmpl, traits, sizeof(traits) / sizeof(traits[0]), emit, &st, &diag);
	if (rv != 0 && rv != RBAC_ERR_INVALID && rv != RBAC_ERR_NOMEM)
		violated("rbac_template_expand returned an undocumented code");
	if (memchr(diag.msg, '\0', sizeof(diag.msg)) == NULL)
		violated("diag.msg is not NUL-terminated");
	if (rv == RBAC_ERR_INVALID && diag.msg[0] == '\0')
		violated("RBAC_ERR_INVALID without a message");

	check_match(pat, subject, slen);
	size_t plen = strlen(pat);
	int ascii = 1;
	for (size_t i = 0; i < plen; i++)
		ascii &= (unsigned char)pat[i] >= 0x20 && (unsigned char)pat[i] < 0x7f;
	int regex = plen >= 2 && pat[0] == '^' && pat[plen - 1] == '$';
	if (ascii && !regex && plen <= RBAC_MAX_PATTERN && rbac_pattern_match(pat, pat, plen) != 1)
		violated("a glob or exact pattern that does not match itself");

	free(tmpl);
	free(pat);
	free(subject);
	return 0;
}
