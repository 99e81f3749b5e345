/* SPDX-License-Identifier: Apache-2.0 */
/* federation_int.h: federation's private helpers: a bounded string builder, URL encoding, the XML extractor. */
#ifndef AWSGATE_FEDERATION_INT_H
#define AWSGATE_FEDERATION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "federation/federation.h"

/* A string builder with a maximum. Errors are sticky: after one, adds do
 * nothing and |err| says why (FED_ERR_TOO_LARGE, FED_ERR_NOMEM). The text
 * is always NUL-terminated once anything was added. */
struct fed_buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max; /* bytes of text, without the NUL */
	bool fixed; /* |p| is the caller's array of |cap| bytes */
	int err;
};

void fed_buf_init(struct fed_buf *b, size_t max);
void fed_buf_init_fixed(struct fed_buf *b, char *dst, size_t size);
void fed_buf_add(struct fed_buf *b, const void *p, size_t n);
void fed_buf_adds(struct fed_buf *b, const char *s);
void fed_buf_addc(struct fed_buf *b, char c);
/* Adds |s| percent-encoded as RFC 3986 (and SigV4) say: A-Z a-z 0-9 - _ . ~
 * kept, every other byte %XX with upper-case hex. */
void fed_buf_add_urlenc(struct fed_buf *b, const char *s, size_t n);
void fed_buf_add_u64(struct fed_buf *b, unsigned long long v);
/* Wipes and frees a heap buffer (a fixed one is wiped). */
void fed_buf_free(struct fed_buf *b);

/* Copies |src| with its NUL into |dst| of |size| bytes; false (and |dst|
 * untouched) when it does not fit. */
bool fed_str_copy(char *dst, size_t size, const char *src);

/* Frees |s| after wiping its bytes. NULL is fine. */
void fed_secret_free(char *s);

/* Parses an ISO 8601 UTC time as AWS writes it: "YYYY-MM-DDTHH:MM:SSZ",
 * optionally with a fraction of seconds (".123") before the Z, and "+00:00"
 * in place of the Z, into Unix seconds (fraction dropped). Years 1970..9999.
 * This function returns 0 if it succeeds, or FED_ERR_PARSE. */
int fed_iso8601_parse(const char *s, size_t len, int64_t *t);

/* --- the XML extractor (xml.c) -------------------------------------------- */

#define FED_XML_MAX_INPUT (256 * 1024) /* bytes of a document */
#define FED_XML_MAX_DEPTH 16           /* nesting of elements */
#define FED_XML_MAX_NAME 128           /* bytes of an element or attribute name */
#define FED_XML_MAX_PATH 16            /* elements in a path asked for */

#define FED_XML_ERR_SYNTAX -1   /* not well-formed (as far as we read) */
#define FED_XML_ERR_DOCTYPE -2  /* a DOCTYPE or entity declaration: refused */
#define FED_XML_ERR_DEPTH -3    /* nesting over FED_XML_MAX_DEPTH */
#define FED_XML_ERR_TOO_LARGE -4 /* the input over FED_XML_MAX_INPUT, or a value over the caller's room */
#define FED_XML_ERR_NOT_FOUND -5 /* no such element */
#define FED_XML_ERR_ENTITY -6   /* an unknown entity or a bad character reference */

/* Finds the first element at |path| ("A/B/C", names without prefixes,
 * matched against local names; the first component is matched at any
 * depth, the rest as direct children in order) in the |len| bytes at |doc|
 * and writes its text (entities decoded, CDATA kept, child elements
 * skipped) and a NUL to |dst| of |size| bytes; |*outlen| (may be NULL) gets
 * the length. The whole document is checked for well-formedness as far as
 * the extractor reads it, whether or not the element is found.
 * This function returns 0 if it succeeds, or a FED_XML_ERR_*. */
int fed_xml_text(const char *doc, size_t len, const char *path, char *dst, size_t size, size_t *outlen);

/* Returns a static English description of a FED_XML_ERR_*. */
const char *fed_xml_strerror(int err);

#endif
