/* SPDX-License-Identifier: Apache-2.0 */
/* ini.c: a bounded parser for the AWS shared config and credentials files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "federation/creds_int.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char *dup_range(const char *p, size_t n, bool lower)
{
	char *s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = (lower && p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : p[i];
	s[n] = '\0';
	return s;
}

static void wipe_str(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void fed_ini_free(struct fed_ini *ini)
{
	if (ini == NULL)
		return;
	for (size_t i = 0; i < ini->nsec; i++) {
		struct fed_ini_section *s = &ini->sec[i];
		for (size_t k = 0; k < s->nkv; k++) {
			free(s->kv[k].key);
			wipe_str(s->kv[k].value);
		}
		free(s->kv);
		free(s->name);
	}
	free(ini->sec);
	memset(ini, 0, sizeof(*ini));
}

const struct fed_ini_section *fed_ini_find(const struct fed_ini *ini, const char *name)
{
	for (size_t i = 0; i < ini->nsec; i++)
		if (strcmp(ini->sec[i].name, name) == 0)
			return &ini->sec[i];
	return NULL;
}

const char *fed_ini_get(const struct fed_ini_section *s, const char *key)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return s->kv[i].value;
	return NULL;
}

static void say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Opens a new section |name| (taken). botocore refuses a file that
 * names a section twice, and so do we: which half would the user mean? */
static int section_open(struct fed_ini *ini, char *name, uint32_t line, size_t *idx)
{
	for (size_t i = 0; i < ini->nsec; i++) {
		if (strcmp(ini->sec[i].name, name) == 0) {
			free(name);
			return FED_ERR_CONFIG;
		}
	}
	if (ini->nsec == FED_INI_MAX_SECTIONS) {
		free(name);
		return FED_ERR_TOO_LARGE;
	}
	if (ini->nsec == ini->cap) {
		size_t cap = ini->cap ? ini->cap * 2 : 8;
		struct fed_ini_section *n = realloc(ini->sec, cap * sizeof(*n));
		if (n == NULL) {
			free(name);
			return FED_ERR_NOMEM;
		}
		ini->sec = n;
		ini->cap = cap;
	}
	struct fed_ini_section *s = &ini->sec[ini->nsec];
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->line = line;
	*idx = ini->nsec++;
	return 0;
}

/* Adds |key| (taken) = |value| (taken) to |s|; a key set twice is an
 * error, as in botocore. */
static int section_set(struct fed_ini *ini, struct fed_ini_section *s, char *key, char *value, uint32_t line)
{
	for (size_t i = 0; i < s->nkv; i++) {
		if (strcmp(s->kv[i].key, key) == 0) {
			free(key);
			wipe_str(value);
			return FED_ERR_CONFIG;
		}
	}
	if (ini->nkeys == FED_INI_MAX_KEYS)
		goto fail_big;
	if (s->nkv == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct fed_ini_kv *n = realloc(s->kv, cap * sizeof(*n));
		if (n == NULL) {
			free(key);
			wipe_str(value);
			return FED_ERR_NOMEM;
		}
		s->kv = n;
		s->cap = cap;
	}
	s->kv[s->nkv].key = key;
	s->kv[s->nkv].value = value;
	s->kv[s->nkv].line = line;
	s->nkv++;
	ini->nkeys++;
	return 0;
fail_big:
	free(key);
	wipe_str(value);
	return FED_ERR_TOO_LARGE;
}

int fed_ini_parse(const char *data, size_t len, struct fed_ini *out, uint32_t *errline, char *why, size_t whylen)
{
	struct fed_ini ini = {0};
	const char *p = data, *end = data + len;
	uint32_t line = 0;
	size_t cur = SIZE_MAX;   /* the open section */
	bool have_key = false;   /* a key line since the section opened: indented lines may follow */
	int rv = 0;

	if (len > FED_INI_MAX_BYTES) {
		line = 0;
		say(why, whylen, "file is over %d bytes", FED_INI_MAX_BYTES);
		rv = FED_ERR_TOO_LARGE;
		goto fail;
	}
	if (len > 0 && memchr(data, '\0', len) != NULL) {
		const char *z = memchr(data, '\0', len);
		line = 1;
		for (const char *q = data; q < z; q++)
			line += *q == '\n';
		say(why, whylen, "a NUL byte: this is not a text file");
		rv = FED_ERR_CONFIG;
		goto fail;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *b = p, *e = le;
		line++;
		p = nl ? nl + 1 : end;
		if ((size_t)(le - b) > FED_INI_MAX_LINE) {
			say(why, whylen, "line is over %d bytes", FED_INI_MAX_LINE);
			rv = FED_ERR_TOO_LARGE;
			goto fail;
		}
		while (e > b && is_space(e[-1]))
			e--;
		if (b == e)
			continue;
		if (is_space(*b)) {
			/* An indented line: a nested setting of the key before it
			 * (botocore's "s3 =\n  addressing_style = path"). */
			const char *t = b;
			while (t < e && is_space(*t))
				t++;
			if (*t == '#' || *t == ';')
				continue;
			if (!have_key) {
				say(why, whylen, "an indented line with no key before it");
				rv = FED_ERR_CONFIG;
				goto fail;
			}
			continue;
		}
		if (*b == '#' || *b == ';')
			continue;
		if (*b == '[') {
			const char *close = memchr(b, ']', (size_t)(e - b));
			if (close == NULL) {
				say(why, whylen, "a section header without its closing ']'");
				rv = FED_ERR_CONFIG;
				goto fail;
			}
			const char *after = close + 1;
			while (after < e && is_space(*after))
				after++;
			if (after < e && *after != '#' && *after != ';') {
				say(why, whylen, "text after a section header");
				rv = FED_ERR_CONFIG;
				goto fail;
			}
			const char *nb = b + 1, *ne = close;
			while (nb < ne && is_space(*nb))
				nb++;
			while (ne > nb && is_space(ne[-1]))
				ne--;
			if (nb == ne) {
				say(why, whylen, "an empty section name");
				rv = FED_ERR_CONFIG;
				goto fail;
			}
			char *name = dup_range(nb, (size_t)(ne - nb), false);
			if (name == NULL) {
				rv = FED_ERR_NOMEM;
				goto fail;
			}
			rv = section_open(&ini, name, line, &cur);
			if (rv == FED_ERR_CONFIG)
				say(why, whylen, "a section named a second time");
			else if (rv == FED_ERR_TOO_LARGE)
				say(why, whylen, "more than %d sections", FED_INI_MAX_SECTIONS);
			if (rv != 0)
				goto fail;
			have_key = false;
			continue;
		}
		/* The first '=' or ':' ends the name, as in Python's configparser. */
		const char *eq = b;
		while (eq < e && *eq != '=' && *eq != ':')
			eq++;
		if (eq == e) {
			say(why, whylen, "expected \"[section]\" or \"key = value\"");
			rv = FED_ERR_CONFIG;
			goto fail;
		}
		if (cur == SIZE_MAX || ini.sec == NULL) {
			say(why, whylen, "a setting before the first [section]");
			rv = FED_ERR_CONFIG;
			goto fail;
		}
		const char *ke = eq, *vb = eq + 1;
		while (ke > b && is_space(ke[-1]))
			ke--;
		while (vb < e && is_space(*vb))
			vb++;
		if (ke == b) {
			say(why, whylen, "a setting without a name before '='");
			rv = FED_ERR_CONFIG;
			goto fail;
		}
		char *key = dup_range(b, (size_t)(ke - b), true);
		char *value = dup_range(vb, (size_t)(e - vb), false);
		if (key == NULL || value == NULL) {
			free(key);
			wipe_str(value);
			rv = FED_ERR_NOMEM;
			goto fail;
		}
		rv = section_set(&ini, &ini.sec[cur], key, value, line);
		if (rv == FED_ERR_CONFIG)
			say(why, whylen, "a setting given a second time in its section");
		else if (rv == FED_ERR_TOO_LARGE)
			say(why, whylen, "more than %d settings", FED_INI_MAX_KEYS);
		if (rv != 0)
			goto fail;
		have_key = true;
	}
	*out = ini;
	return 0;
fail:
	fed_ini_free(&ini);
	if (errline != NULL)
		*errline = line;
	return rv;
}

int fed_config_region(const char *data, size_t len, const char *profile, char *dst, size_t size, char *why,
		      size_t whylen)
{
	if (profile == NULL || profile[0] == '\0')
		profile = "default";
	if (size == 0 || strlen(profile) > 200)
		return FED_ERR_INVALID;
	struct fed_ini ini;
	uint32_t line = 0;
	char msg[160] = "";
	int rv = fed_ini_parse(data, len, &ini, &line, msg, sizeof(msg));
	if (rv != 0) {
		if (rv != FED_ERR_NOMEM)
			say(why, whylen, "line %u: %s", (unsigned)line, msg);
		return rv;
	}
	/* The AWS CLI reads "[default]" for the default profile (and
	 * "[profile default]" when there is no such section), "[profile NAME]"
	 * for the others. */
	char name[256];
	const struct fed_ini_section *s = NULL;
	if (strcmp(profile, "default") == 0)
		s = fed_ini_find(&ini, "default");
	if (s == NULL) {
		snprintf(name, sizeof(name), "profile %s", profile);
		s = fed_ini_find(&ini, name);
	}
	const char *r = fed_ini_get(s, "region");
	if (r == NULL) {
		dst[0] = '\0';
	} else if (strlen(r) >= size) {
		say(why, whylen, "the region of profile %s is longer than %zu bytes", profile, size - 1);
		rv = FED_ERR_TOO_LARGE;
	} else {
		memcpy(dst, r, strlen(r) + 1);
	}
	fed_ini_free(&ini);
	return rv;
}
