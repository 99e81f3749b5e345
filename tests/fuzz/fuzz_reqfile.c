/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_reqfile.c: libFuzzer target that feeds bytes to sv4_reqfile_parse() and checks what it returns. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every check failure ends here, so that libFuzzer (or the replay main)
 * reports the input that broke |what|. */
static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_reqfile: invariant violated: %s\n", what);
	abort();
}

/* Returns 1 when [|p|, |p| + |len|) lies inside the |textlen| bytes at |text|. */
static int inside(const char *text, size_t textlen, const void *p, size_t len)
{
	const char *c = p;
	if (c == NULL || c < text || c > text + textlen)
		return 0;
	return len <= (size_t)(text + textlen - c);
}

static int is_tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void check_parsed(const struct sv4_reqfile *rf, const uint8_t *data, size_t size)
{
	const struct sv4_request *r = &rf->req;
	const char *text = rf->text;
	size_t textlen = rf->textlen;

	if (text == NULL || textlen != size || text[textlen] != '\0')
		violated("text is not a NUL-terminated copy of the input's length");
	if (r->headers != rf->headers || r->nheaders != rf->nheaders)
		violated("req.headers/nheaders differ from the owned array");
	if (rf->nheaders > SV4_MAX_HEADERS)
		violated("more than SV4_MAX_HEADERS headers");
	if (rf->nheaders > 0 && rf->headers == NULL)
		violated("headers counted but no array");

	/* The request line is never rewritten: its views match the input. */
	if (!inside(text, textlen, r->method, r->methodlen) || r->method != text)
		violated("method is not at the start of text");
	if (r->methodlen == 0)
		violated("empty method");
	for (size_t i = 0; i < r->methodlen; i++)
		if (!is_tchar((unsigned char)r->method[i]))
			violated("method is not an HTTP token");
	if (!inside(text, textlen, r->path, r->pathlen) || r->path != r->method + r->methodlen + 1)
		violated("path is not right after the method and one space");
	if (memcmp(r->path, data + (r->path - text), r->pathlen) != 0)
		violated("path bytes differ from the input");
	if (memchr(r->path, '?', r->pathlen) != NULL || memchr(r->path, '\n', r->pathlen) != NULL)
		violated("path holds '?' or LF");
	if (!inside(text, textlen, r->query, r->querylen) || r->query < r->path + r->pathlen)
		violated("query lies outside text or before the path's end");
	if (memchr(r->query, '\n', r->querylen) != NULL)
		violated("query holds LF");
	if (r->pathlen > SV4_MAX_PATH || r->querylen > SV4_MAX_QUERY)
		violated("path or query over its limit");
	const char *nul = memchr(rf->protocol, '\0', sizeof(rf->protocol));
	if (nul == NULL || nul - rf->protocol < 5 || memcmp(rf->protocol, "HTTP/", 5) != 0)
		violated("protocol is not a NUL-terminated HTTP/...");

	/* Headers follow the request line in order and never overlap. */
	const char *after = r->query + r->querylen;
	size_t total = 0;
	for (size_t i = 0; i < rf->nheaders; i++) {
		const struct sv4_header *h = &rf->headers[i];
		if (!inside(text, textlen, h->name, h->namelen) ||
		    !inside(text, textlen, h->value, h->valuelen))
			violated("header view outside text");
		if (h->name < after || h->value < h->name + h->namelen + 1)
			violated("header views out of order or overlapping");
		if (h->namelen == 0 || h->namelen > SV4_MAX_HEADER_NAME || h->valuelen > SV4_MAX_HEADER_VALUE)
			violated("header name empty, or name or value over its limit");
		for (size_t j = 0; j < h->namelen; j++)
			if (!is_tchar((unsigned char)h->name[j]))
				violated("header name is not an HTTP token");
		if (h->name[h->namelen] != ':')
			violated("header name is not followed by ':'");
		for (size_t j = 0; j < h->valuelen; j++) {
			char c = h->value[j];
			if (c == '\r' || c == '\n' || c == '\0')
				violated("header value holds CR, LF or NUL");
		}
		if (h->valuelen > 0 && (h->value[0] == ' ' || h->value[0] == '\t'))
			violated("header value starts with a blank");
		total += h->namelen + h->valuelen;
		after = h->value + h->valuelen;
	}
	if (total > SV4_MAX_HEADER_BYTES)
		violated("header bytes over SV4_MAX_HEADER_BYTES");

	/* The body is the input's tail, byte for byte. */
	if (r->body == NULL || !inside(text, textlen, r->body, r->bodylen))
		violated("body outside text");
	const char *body = (const char *)r->body;
	if (body < after || body + r->bodylen != text + textlen)
		violated("body overlaps the headers or does not end the text");
	if (r->bodylen > SV4_MAX_BODY || memcmp(body, data + (size - r->bodylen), r->bodylen) != 0)
		violated("body differs from the input's tail");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sv4_reqfile rf, untouched;
	struct sv4_reqfile_error err = {0, 0, NULL};

	/* Out-parameters are written only on success: poison |rf| to see. */
	memset(&rf, 0xa5, sizeof(rf));
	memset(&untouched, 0xa5, sizeof(untouched));
	int rv = sv4_reqfile_parse(&rf, (const char *)data, size, &err);
	if (rv != 0) {
		if (rv != SV4_ERR_BAD_REQUEST && rv != SV4_ERR_TOO_LARGE && rv != SV4_ERR_NOMEM)
			violated("undocumented error code");
		if (err.what == NULL)
			violated("failure without a description");
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			if (data[i] == '\n')
				lines++;
		if (err.line > lines)
			violated("error line past the last line");
		if (memcmp(&rf, &untouched, sizeof(rf)) != 0)
			violated("rf written on failure");
		return 0;
	}
	check_parsed(&rf, data, size);
	sv4_reqfile_free(&rf);
	return 0;
}
