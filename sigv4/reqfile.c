/* SPDX-License-Identifier: Apache-2.0 */
/* reqfile.c: the lenient reader of the AWS SigV4 suite's request.txt format. */
#include <stdlib.h>
#include <string.h>

#include "sv4_int.h"

static int fail(struct sv4_reqfile_error *err, unsigned line, unsigned column, const char *what, int rv)
{
	if (err != NULL) {
		err->line = line;
		err->column = column;
		err->what = what;
	}
	return rv;
}

/* Returns the end of the line starting at |p| (the LF or |end|); *next is
 * where the following line starts; a CR before the LF is not part of it. */
static char *line_end(char *p, char *end, char **next)
{
	char *lf = memchr(p, '\n', (size_t)(end - p));
	if (lf == NULL) {
		*next = end;
		return end;
	}
	*next = lf + 1;
	return (lf > p && lf[-1] == '\r') ? lf - 1 : lf;
}

void sv4_reqfile_free(struct sv4_reqfile *rf)
{
	free(rf->headers);
	free(rf->text);
	memset(rf, 0, sizeof(*rf));
}

int sv4_reqfile_parse(struct sv4_reqfile *out, const char *data, size_t len, struct sv4_reqfile_error *err)
{
	struct sv4_reqfile rf;
	unsigned lineno = 1;
	int rv;

	memset(&rf, 0, sizeof(rf));
	if (len > SV4_MAX_BODY + SV4_MAX_HEADER_BYTES + SV4_MAX_PATH + SV4_MAX_QUERY + 4096)
		return fail(err, 0, 0, "request file is too large", SV4_ERR_TOO_LARGE);
	/* One copy: folded header values are joined in place (they only shrink). */
	rf.text = malloc(len + 1);
	rf.headers = calloc(SV4_MAX_HEADERS, sizeof(*rf.headers));
	if (rf.text == NULL || rf.headers == NULL) {
		rv = fail(err, 0, 0, "out of memory", SV4_ERR_NOMEM);
		goto fail;
	}
	if (len > 0)
		memcpy(rf.text, data, len);
	rf.text[len] = '\0';
	rf.textlen = len;

	char *p = rf.text, *end = rf.text + len, *next;

	/* Request line: METHOD SP TARGET [SP PROTOCOL], split at the first and
	 * the last space so that the target may hold raw spaces. Without a
	 * last part starting with "HTTP/", all after the method is the target
	 * (smithy-rs writes signed requests so) and the protocol is HTTP/1.1. */
	char *le = line_end(p, end, &next);
	if (le <= p) {
		rv = fail(err, 1, 1, "empty request line: expected METHOD PATH HTTP/1.1", SV4_ERR_BAD_REQUEST);
		goto fail;
	}
	char *sp1 = memchr(p, ' ', (size_t)(le - p));
	if (sp1 == NULL || sp1 == p || sp1 + 1 == le) {
		rv = fail(err, 1, 1, "request line needs METHOD PATH [HTTP/1.1]", SV4_ERR_BAD_REQUEST);
		goto fail;
	}
	char *sp2 = le;
	while (sp2 > sp1 && sp2[-1] != ' ')
		sp2--;
	sp2--; /* the last space, maybe sp1 */
	size_t protolen = (size_t)(le - sp2 - 1);
	if (sp2 > sp1 && protolen >= 5 && memcmp(sp2 + 1, "HTTP/", 5) == 0) {
		if (protolen == 5 || protolen >= sizeof(rf.protocol)) {
			rv = fail(err, 1, (unsigned)(sp2 + 2 - p), "protocol must be HTTP/ and a version, such as HTTP/1.1",
			          SV4_ERR_BAD_REQUEST);
			goto fail;
		}
		if (sp2 == sp1 + 1) {
			rv = fail(err, 1, (unsigned)(sp2 + 1 - p), "empty request target: expected METHOD PATH HTTP/1.1",
			          SV4_ERR_BAD_REQUEST);
			goto fail;
		}
		memcpy(rf.protocol, sp2 + 1, protolen);
	} else {
		sp2 = le;
		memcpy(rf.protocol, "HTTP/1.1", 8);
	}
	rf.req.method = p;
	rf.req.methodlen = (size_t)(sp1 - p);
	for (size_t i = 0; i < rf.req.methodlen; i++)
		if (!sv4_is_tchar((unsigned char)p[i])) {
			rv = fail(err, 1, (unsigned)i + 1, "method is not an HTTP token", SV4_ERR_BAD_REQUEST);
			goto fail;
		}
	char *target = sp1 + 1;
	size_t targetlen = (size_t)(sp2 - target);
	char *q = memchr(target, '?', targetlen);
	rf.req.path = target;
	rf.req.pathlen = q ? (size_t)(q - target) : targetlen;
	rf.req.query = q ? q + 1 : target + targetlen;
	rf.req.querylen = q ? (size_t)(target + targetlen - q - 1) : 0;
	if (rf.req.pathlen > SV4_MAX_PATH || rf.req.querylen > SV4_MAX_QUERY) {
		rv = fail(err, 1, (unsigned)(target - p) + 1, "request target is too long", SV4_ERR_TOO_LARGE);
		goto fail;
	}
	p = next;

	/* Header lines up to a blank line or the end of the file. */
	size_t total = 0;
	struct sv4_header *cur = NULL;
	char *w = NULL; /* where the current value's bytes end after joining */
	while (p < end) {
		lineno++;
		le = line_end(p, end, &next);
		if (le == p) {
			p = next;
			break; /* blank line: the body follows */
		}
		for (char *c = p; c < le; c++)
			if (*c == '\0' || *c == '\r') {
				rv = fail(err, lineno, (unsigned)(c - p) + 1, "header line holds a NUL or a bare CR",
				          SV4_ERR_BAD_REQUEST);
				goto fail;
			}
		if (*p == ' ' || *p == '\t') {
			/* Folded line: join to the value before with one space. */
			if (cur == NULL) {
				rv = fail(err, lineno, 1, "continuation line before any header", SV4_ERR_BAD_REQUEST);
				goto fail;
			}
			char *s = p;
			while (s < le && (*s == ' ' || *s == '\t'))
				s++;
			size_t n = (size_t)(le - s);
			if (cur->valuelen > 0 && n > 0)
				*w++ = ' ';
			memmove(w, s, n);
			w += n;
			cur->valuelen = (size_t)(w - cur->value);
			total += n + 1;
		} else {
			char *colon = memchr(p, ':', (size_t)(le - p));
			if (colon == NULL || colon == p) {
				rv = fail(err, lineno, 1, "header line needs Name:value", SV4_ERR_BAD_REQUEST);
				goto fail;
			}
			for (char *c = p; c < colon; c++)
				if (!sv4_is_tchar((unsigned char)*c)) {
					rv = fail(err, lineno, (unsigned)(c - p) + 1, "header name is not an HTTP token",
					          SV4_ERR_BAD_REQUEST);
					goto fail;
				}
			if (rf.nheaders >= SV4_MAX_HEADERS) {
				rv = fail(err, lineno, 1, "too many headers", SV4_ERR_TOO_LARGE);
				goto fail;
			}
			cur = &rf.headers[rf.nheaders++];
			cur->name = p;
			cur->namelen = (size_t)(colon - p);
			char *v = colon + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			cur->value = v;
			cur->valuelen = (size_t)(le - v);
			w = le;
			total += cur->namelen + cur->valuelen;
		}
		if (cur->namelen > SV4_MAX_HEADER_NAME || cur->valuelen > SV4_MAX_HEADER_VALUE ||
		    total > SV4_MAX_HEADER_BYTES) {
			rv = fail(err, lineno, 1, "header too large", SV4_ERR_TOO_LARGE);
			goto fail;
		}
		p = next;
	}
	if ((size_t)(end - p) > SV4_MAX_BODY) {
		rv = fail(err, lineno, 0, "body is too large", SV4_ERR_TOO_LARGE);
		goto fail;
	}
	rf.req.body = (const unsigned char *)p;
	rf.req.bodylen = (size_t)(end - p);
	rf.req.headers = rf.headers;
	rf.req.nheaders = rf.nheaders;
	*out = rf;
	return 0;
fail:
	sv4_reqfile_free(&rf);
	return rv;
}
