/* SPDX-License-Identifier: Apache-2.0 */
/* jsonpos.c: finds the line and column of a value in JSON text by its path, for error messages. */
#include <string.h>

#include "rbac.h"

/*
 * jansson keeps no positions for values, only for syntax errors. Errors are
 * rare and files small, so rather than record a position for every value
 * while parsing, this walks the text again when a message needs one. The
 * text was accepted by jansson, but the walk still checks every bound: a
 * caller may hand it anything.
 */

struct walk {
	const char *p;
	const char *end;
	const char *line_start;
	int line;
	int depth;
};

#define JSONPOS_MAX_DEPTH 256

static void skip_ws(struct walk *w)
{
	while (w->p < w->end) {
		char c = *w->p;
		if (c == '\n') {
			w->line++;
			w->line_start = w->p + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			return;
		}
		w->p++;
	}
}

/* Skips a string whose opening quote is at w->p. Returns 0 or -1. */
static int skip_string(struct walk *w)
{
	w->p++;
	while (w->p < w->end) {
		char c = *w->p++;
		if (c == '"')
			return 0;
		if (c == '\\') {
			if (w->p == w->end)
				return -1;
			w->p++;
		} else if (c == '\n') {
			return -1;
		}
	}
	return -1;
}

/* Compares the string at w->p (opening quote) with |key|/|klen|, decoding
 * the escapes a key can have, and skips it. Returns 1 equal, 0 not, -1 bad. */
static int string_equals(struct walk *w, const char *key, size_t klen)
{
	const char *start = w->p + 1;
	size_t i = 0;
	int same = 1;

	if (skip_string(w) != 0)
		return -1;
	for (const char *s = start; s < w->p - 1; s++) {
		char c = *s;
		if (c == '\\') {
			s++;
			switch (*s) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u':
				/* A key spelled with \u escapes: compare no further. */
				return 0;
			default:
				c = *s; /* \" \\ \/ */
			}
		}
		if (i >= klen || key[i] != c)
			same = 0;
		i++;
	}
	return same && i == klen;
}

static int skip_value(struct walk *w);

static int skip_container(struct walk *w, char close)
{
	if (++w->depth > JSONPOS_MAX_DEPTH)
		return -1;
	w->p++;
	skip_ws(w);
	if (w->p < w->end && *w->p == close) {
		w->p++;
		w->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (w->p == w->end || *w->p != '"' || skip_string(w) != 0)
				return -1;
			skip_ws(w);
			if (w->p == w->end || *w->p != ':')
				return -1;
			w->p++;
		}
		if (skip_value(w) != 0)
			return -1;
		skip_ws(w);
		if (w->p == w->end)
			return -1;
		if (*w->p == close) {
			w->p++;
			w->depth--;
			return 0;
		}
		if (*w->p != ',')
			return -1;
		w->p++;
		skip_ws(w);
	}
}

static int skip_value(struct walk *w)
{
	skip_ws(w);
	if (w->p == w->end)
		return -1;
	switch (*w->p) {
	case '"':
		return skip_string(w);
	case '{':
		return skip_container(w, '}');
	case '[':
		return skip_container(w, ']');
	}
	/* A number, true, false or null: up to the next delimiter. */
	const char *start = w->p;
	while (w->p < w->end && strchr(",]} \t\r\n", *w->p) == NULL)
		w->p++;
	return w->p > start ? 0 : -1;
}

/* Reads one path segment at |*path|: a member name (".name", a leading
 * "name", or ["name"]) or an index ([N]). Returns 1 member, 2 index, 0 end,
 * -1 malformed. For members, |*name|/|*nlen| point into the path (quoted
 * names may not contain escapes). */
static int next_segment(const char **path, const char **name, size_t *nlen, size_t *index)
{
	const char *s = *path;

	if (*s == '\0')
		return 0;
	if (*s == '[' && s[1] == '"') {
		const char *q = strchr(s + 2, '"');
		if (q == NULL || q[1] != ']')
			return -1;
		*name = s + 2;
		*nlen = (size_t)(q - s - 2);
		*path = q + 2;
		return 1;
	}
	if (*s == '[') {
		size_t n = 0;
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (n > 100000000)
				return -1;
			n = n * 10 + (size_t)(*s++ - '0');
		}
		if (*s != ']')
			return -1;
		*index = n;
		*path = s + 1;
		return 2;
	}
	if (*s == '.')
		s++;
	*name = s;
	while (*s != '\0' && *s != '.' && *s != '[')
		s++;
	*nlen = (size_t)(s - *name);
	*path = s;
	return *nlen > 0 ? 1 : -1;
}

/* With w->p at the container's opening bracket, moves to the start of the
 * member |name| or the element |index|. Returns 0 or -1 (absent). */
static int enter(struct walk *w, int kind, const char *name, size_t nlen, size_t index)
{
	char open = kind == 1 ? '{' : '[';
	char close = kind == 1 ? '}' : ']';
	size_t i = 0;

	if (w->p == w->end || *w->p != open)
		return -1;
	w->p++;
	skip_ws(w);
	if (w->p < w->end && *w->p == close)
		return -1;
	for (;;) {
		int found;
		if (kind == 1) {
			if (w->p == w->end || *w->p != '"')
				return -1;
			found = string_equals(w, name, nlen);
			if (found < 0)
				return -1;
			skip_ws(w);
			if (w->p == w->end || *w->p != ':')
				return -1;
			w->p++;
		} else {
			found = i++ == index;
		}
		skip_ws(w);
		if (found)
			return 0;
		if (skip_value(w) != 0)
			return -1;
		skip_ws(w);
		if (w->p == w->end || *w->p != ',')
			return -1;
		w->p++;
		skip_ws(w);
	}
}

int rbac_json_locate(const char *text, size_t len, const char *path, int *line, int *column)
{
	struct walk w = {text, text + len, text, 1, 0};
	const char *name = NULL;
	size_t nlen = 0, index = 0;
	int kind;

	if (text == NULL || path == NULL)
		return RBAC_ERR_NOT_FOUND;
	skip_ws(&w);
	while ((kind = next_segment(&path, &name, &nlen, &index)) != 0) {
		if (kind < 0 || enter(&w, kind, name, nlen, index) != 0)
			return RBAC_ERR_NOT_FOUND;
	}
	if (w.p == w.end)
		return RBAC_ERR_NOT_FOUND;
	*line = w.line;
	*column = (int)(w.p - w.line_start) + 1;
	return 0;
}
