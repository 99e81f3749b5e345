/* SPDX-License-Identifier: Apache-2.0 */
/* pattern.c: exact, glob and "^regex$" patterns, compiled once and matched without allocating. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

/* Bytes that end a regex's literal prefix: anything with a meaning. */
static bool regex_meta(char c)
{
	return strchr("\\.[](){}|*+?^$", c) != NULL;
}

/* The literal prefix of "^...$": the bytes after '^' up to the first
 * metacharacter, less one when a quantifier follows (it may repeat or drop
 * that byte). A top-level or nested '|' could make any prefix wrong, so an
 * alternation has none. */
static unsigned regex_prefix(const char *text, size_t len)
{
	size_t i = 1, end = len - 1;

	if (memchr(text, '|', len) != NULL)
		return 0;
	while (i < end && !regex_meta(text[i]))
		i++;
	if (i < end && (text[i] == '?' || text[i] == '*' || text[i] == '{') && i > 1)
		i--;
	i -= 1;
	return i > RBAC_PREFIX_MAX ? RBAC_PREFIX_MAX : (unsigned)i;
}

int rbac_pattern_init(struct rbac_pattern *pat, const char *text, size_t len, char *why, size_t whylen)
{
	memset(pat, 0, sizeof(*pat));
	if (len > RBAC_MAX_PATTERN) {
		snprintf(why, whylen, "longer than %d bytes", RBAC_MAX_PATTERN);
		return RBAC_ERR_TOO_LARGE;
	}
	pat->text = malloc(len + 1);
	if (pat->text == NULL)
		return RBAC_ERR_NOMEM;
	memcpy(pat->text, text, len);
	pat->text[len] = '\0';
	pat->len = len;

	if (len >= 2 && text[0] == '^' && text[len - 1] == '$') {
		int err;
		PCRE2_SIZE off;
		/* ANCHORED and ENDANCHORED make "^a|b$" match whole strings
		 * only: without them the alternation escapes the anchors. */
		pat->re = pcre2_compile((PCRE2_SPTR)text, len,
					PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED |
						PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
					&err, &off, NULL);
		if (pat->re == NULL) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(err, msg, sizeof(msg));
			snprintf(why, whylen, "not a valid regular expression at offset %zu: %s", (size_t)off,
				 (const char *)msg);
			rbac_pattern_free(pat);
			return RBAC_ERR_INVALID;
		}
		/* Without JIT (no executable memory) the interpreter still works. */
		(void)pcre2_jit_compile(pat->re, PCRE2_JIT_COMPLETE);
		pat->kind = RBAC_PAT_REGEX;
		pat->prefix = regex_prefix(text, len);
		return 0;
	}
	size_t wild = strcspn(pat->text, "*?");
	if (wild < len) {
		pat->kind = RBAC_PAT_GLOB;
		pat->prefix = wild > RBAC_PREFIX_MAX ? RBAC_PREFIX_MAX : (unsigned)wild;
	} else {
		pat->kind = RBAC_PAT_EXACT;
		pat->prefix = len > RBAC_PREFIX_MAX ? RBAC_PREFIX_MAX : (unsigned)len;
	}
	return 0;
}

void rbac_pattern_free(struct rbac_pattern *pat)
{
	if (pat == NULL)
		return;
	pcre2_code_free(pat->re);
	free(pat->text);
	memset(pat, 0, sizeof(*pat));
}

/* Length of the UTF-8 character at |s| (1 for a stray byte). */
static size_t utf8_len(const char *s, size_t avail)
{
	size_t n = 1;
	while (n < avail && ((unsigned char)s[n] & 0xc0) == 0x80 && n < 4)
		n++;
	return n;
}

bool rbac_glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t p = 0, i = 0;
	size_t star_p = (size_t)-1, star_i = 0;

	/* The classic single-backtrack walk: on a mismatch, retry from the
	 * last '*' consuming one more byte. Linear in practice, O(n*m) worst. */
	while (i < slen) {
		if (p < plen && pat[p] == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (p < plen && pat[p] == '?') {
			p++;
			i += utf8_len(s + i, slen - i);
			continue;
		}
		if (p < plen && pat[p] == s[i]) {
			p++;
			i++;
			continue;
		}
		if (star_p == (size_t)-1)
			return false;
		p = star_p;
		i = ++star_i;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

int rbac_pattern_matches(const struct rbac_pattern *pat, const char *s, size_t len, pcre2_match_data *md,
			 pcre2_match_context *mc)
{
	switch (pat->kind) {
	case RBAC_PAT_EXACT:
		return len == pat->len && memcmp(s, pat->text, len) == 0;
	case RBAC_PAT_GLOB:
		return rbac_glob_match(pat->text, pat->len, s, len);
	case RBAC_PAT_REGEX:
		break;
	}
	int rc = pcre2_match(pat->re, (PCRE2_SPTR)s, len, 0, 0, md, mc);
	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

int rbac_pattern_match(const char *text, const char *s, size_t len)
{
	struct rbac_pattern pat;
	char why[256];
	int rv = rbac_pattern_init(&pat, text, strlen(text), why, sizeof(why));

	if (rv != 0)
		return rv == RBAC_ERR_NOMEM ? rv : RBAC_ERR_INVALID;
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	if (md == NULL || mc == NULL) {
		rv = RBAC_ERR_NOMEM;
	} else {
		pcre2_set_match_limit(mc, RBAC_MAX_MATCH_STEPS);
		rv = rbac_pattern_matches(&pat, s, len, md, mc);
		if (rv < 0)
			rv = 0; /* out of steps: no match here; deciders fail closed */
	}
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	rbac_pattern_free(&pat);
	return rv;
}
