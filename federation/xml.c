/* SPDX-License-Identifier: Apache-2.0 */
/* xml.c: a small bounded XML extractor for STS answers: the text of one element path, no DTDs, no external anything. */
#include <string.h>

#include "federation/federation_int.h"

/* This is not a general XML parser. It reads the subset AWS's Query API
 * answers use (one root element, nested elements with optional attributes,
 * text, the five predefined entities, character references, CDATA,
 * comments, processing instructions) and refuses DOCTYPE and any markup
 * declaration, so that no entity can expand and nothing external is read.
 * Memory is a fixed stack of FED_XML_MAX_DEPTH small frames; time is
 * linear in the input. */

struct frame {
	size_t matched; /* path components this element completes (0: none) */
};

struct xp {
	const char *p, *end;
	const char *path[FED_XML_MAX_PATH];
	size_t pathlen[FED_XML_MAX_PATH];
	size_t npath;
	struct frame stack[FED_XML_MAX_DEPTH];
	const char *names[FED_XML_MAX_DEPTH]; /* qualified names of the open elements */
	size_t namelens[FED_XML_MAX_DEPTH];
	size_t depth;
	size_t capture_depth; /* depth of the element whose text we collect; 0: none */
	bool found;
	bool root_seen;
	struct fed_buf out;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool starts(const struct xp *x, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(x->end - x->p) >= n && memcmp(x->p, lit, n) == 0;
}

/* Skips to just after |lit|; false when it never comes. */
static bool skip_past(struct xp *x, const char *lit)
{
	size_t n = strlen(lit);
	while ((size_t)(x->end - x->p) >= n) {
		if (memcmp(x->p, lit, n) == 0) {
			x->p += n;
			return true;
		}
		x->p++;
	}
	return false;
}

static bool is_name_char(unsigned char c)
{
	/* Letters, digits, '-', '.', '_', ':' and any non-ASCII byte (UTF-8 names). */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == ':' || c >= 0x80;
}

static int read_name(struct xp *x, const char **name, size_t *len)
{
	const char *s = x->p;
	if (s == x->end || !is_name_char((unsigned char)*s) || *s == '-' || *s == '.' || (*s >= '0' && *s <= '9'))
		return FED_XML_ERR_SYNTAX;
	while (x->p < x->end && is_name_char((unsigned char)*x->p))
		x->p++;
	*name = s;
	*len = (size_t)(x->p - s);
	return *len > FED_XML_MAX_NAME ? FED_XML_ERR_TOO_LARGE : 0;
}

/* The local name: after the last ':'. */
static void local_name(const char **name, size_t *len)
{
	for (size_t i = *len; i-- > 0;) {
		if ((*name)[i] == ':') {
			*name += i + 1;
			*len -= i + 1;
			return;
		}
	}
}

static void put_utf8(struct fed_buf *b, unsigned long cp)
{
	char u[4];
	if (cp < 0x80) {
		u[0] = (char)cp;
		fed_buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		fed_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		fed_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		fed_buf_add(b, u, 4);
	}
}

/* At '&': decodes one reference into |b| (NULL: only checks it). */
static int read_reference(struct xp *x, struct fed_buf *b)
{
	static const struct {
		const char *name;
		char c;
	} predefined[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
	x->p++;
	if (x->p < x->end && *x->p == '#') {
		x->p++;
		int base = 10;
		if (x->p < x->end && *x->p == 'x') {
			base = 16;
			x->p++;
		}
		unsigned long cp = 0;
		size_t digits = 0;
		while (x->p < x->end && *x->p != ';') {
			char c = *x->p;
			int v;
			if (c >= '0' && c <= '9')
				v = c - '0';
			else if (base == 16 && c >= 'a' && c <= 'f')
				v = c - 'a' + 10;
			else if (base == 16 && c >= 'A' && c <= 'F')
				v = c - 'A' + 10;
			else
				return FED_XML_ERR_ENTITY;
			cp = cp * (unsigned long)base + (unsigned long)v;
			if (cp > 0x10ffff || ++digits > 8)
				return FED_XML_ERR_ENTITY;
			x->p++;
		}
		if (x->p == x->end || digits == 0)
			return FED_XML_ERR_ENTITY;
		x->p++;
		/* XML's Char production: no NUL, controls other than tab, CR, LF,
		 * surrogates or the two non-characters U+FFFE/U+FFFF. */
		if ((cp < 0x20 && cp != 9 && cp != 10 && cp != 13) || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
		    cp == 0xffff)
			return FED_XML_ERR_ENTITY;
		if (b != NULL)
			put_utf8(b, cp);
		return 0;
	}
	for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
		if (starts(x, predefined[i].name)) {
			x->p += strlen(predefined[i].name);
			if (b != NULL)
				fed_buf_addc(b, predefined[i].c);
			return 0;
		}
	}
	return FED_XML_ERR_ENTITY;
}

static bool capturing(const struct xp *x)
{
	return x->capture_depth != 0 && x->depth == x->capture_depth;
}

static int read_text(struct xp *x)
{
	while (x->p < x->end && *x->p != '<') {
		if (*x->p == '&') {
			int rv = read_reference(x, capturing(x) ? &x->out : NULL);
			if (rv != 0)
				return rv;
			continue;
		}
		if (*x->p == '\0')
			return FED_XML_ERR_SYNTAX;
		if (x->depth == 0 && !is_space(*x->p))
			return FED_XML_ERR_SYNTAX; /* text outside the root */
		if (capturing(x))
			fed_buf_addc(&x->out, *x->p);
		x->p++;
	}
	return 0;
}

static int read_attributes(struct xp *x, bool *empty)
{
	for (;;) {
		bool spaced = false;
		while (x->p < x->end && is_space(*x->p)) {
			x->p++;
			spaced = true;
		}
		if (x->p == x->end)
			return FED_XML_ERR_SYNTAX;
		if (*x->p == '>') {
			x->p++;
			*empty = false;
			return 0;
		}
		if (starts(x, "/>")) {
			x->p += 2;
			*empty = true;
			return 0;
		}
		if (!spaced)
			return FED_XML_ERR_SYNTAX;
		const char *name;
		size_t len;
		int rv = read_name(x, &name, &len);
		if (rv != 0)
			return rv;
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p == x->end || *x->p != '=')
			return FED_XML_ERR_SYNTAX;
		x->p++;
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p == x->end || (*x->p != '"' && *x->p != '\''))
			return FED_XML_ERR_SYNTAX;
		char q = *x->p++;
		while (x->p < x->end && *x->p != q) {
			if (*x->p == '<' || *x->p == '\0')
				return FED_XML_ERR_SYNTAX;
			if (*x->p == '&') {
				rv = read_reference(x, NULL);
				if (rv != 0)
					return rv;
				continue;
			}
			x->p++;
		}
		if (x->p == x->end)
			return FED_XML_ERR_SYNTAX;
		x->p++;
	}
}

static int open_element(struct xp *x)
{
	const char *name;
	size_t len;
	x->p++;
	int rv = read_name(x, &name, &len);
	if (rv != 0)
		return rv;
	bool empty;
	rv = read_attributes(x, &empty);
	if (rv != 0)
		return rv;
	if (x->depth == 0) {
		if (x->root_seen)
			return FED_XML_ERR_SYNTAX; /* a second root */
		x->root_seen = true;
	}
	if (x->depth == FED_XML_MAX_DEPTH)
		return FED_XML_ERR_DEPTH;

	const char *lname = name;
	size_t llen = len;
	local_name(&lname, &llen);
	size_t parent = x->depth > 0 ? x->stack[x->depth - 1].matched : 0;
	size_t matched = 0;
	if (parent > 0 && parent < x->npath && x->pathlen[parent] == llen && memcmp(x->path[parent], lname, llen) == 0)
		matched = parent + 1;
	else if (x->pathlen[0] == llen && memcmp(x->path[0], lname, llen) == 0)
		matched = 1;
	x->stack[x->depth].matched = matched;
	x->names[x->depth] = name;
	x->namelens[x->depth] = len;
	x->depth++;
	if (matched == x->npath && !x->found && x->capture_depth == 0)
		x->capture_depth = x->depth;
	if (empty) {
		if (x->capture_depth == x->depth) {
			x->found = true;
			x->capture_depth = 0;
		}
		x->depth--;
	}
	return 0;
}

static int close_element(struct xp *x)
{
	const char *name;
	size_t len;
	x->p += 2;
	int rv = read_name(x, &name, &len);
	if (rv != 0)
		return rv;
	while (x->p < x->end && is_space(*x->p))
		x->p++;
	if (x->p == x->end || *x->p != '>')
		return FED_XML_ERR_SYNTAX;
	x->p++;
	if (x->depth == 0 || x->namelens[x->depth - 1] != len || memcmp(x->names[x->depth - 1], name, len) != 0)
		return FED_XML_ERR_SYNTAX;
	if (x->capture_depth == x->depth) {
		x->found = true;
		x->capture_depth = 0;
	}
	x->depth--;
	return 0;
}

static int parse(struct xp *x)
{
	/* A UTF-8 byte order mark may precede everything. */
	if (starts(x, "\xef\xbb\xbf"))
		x->p += 3;
	while (x->p < x->end) {
		int rv = 0;
		if (*x->p != '<') {
			rv = read_text(x);
		} else if (starts(x, "<?")) {
			if (!skip_past(x, "?>"))
				rv = FED_XML_ERR_SYNTAX;
		} else if (starts(x, "<!--")) {
			x->p += 4;
			if (!skip_past(x, "-->"))
				rv = FED_XML_ERR_SYNTAX;
		} else if (starts(x, "<![CDATA[")) {
			if (x->depth == 0)
				return FED_XML_ERR_SYNTAX;
			x->p += 9;
			const char *s = x->p;
			if (!skip_past(x, "]]>"))
				return FED_XML_ERR_SYNTAX;
			if (memchr(s, '\0', (size_t)(x->p - 3 - s)) != NULL)
				return FED_XML_ERR_SYNTAX;
			if (capturing(x))
				fed_buf_add(&x->out, s, (size_t)(x->p - 3 - s));
		} else if (starts(x, "<!")) {
			/* DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION: never in an AWS
			 * answer, and the road to entity expansion. */
			return FED_XML_ERR_DOCTYPE;
		} else if (starts(x, "</")) {
			rv = close_element(x);
		} else {
			rv = open_element(x);
		}
		if (rv != 0)
			return rv;
		if (x->out.err != 0)
			return FED_XML_ERR_TOO_LARGE;
	}
	if (x->depth != 0 || !x->root_seen)
		return FED_XML_ERR_SYNTAX;
	return x->found ? 0 : FED_XML_ERR_NOT_FOUND;
}

int fed_xml_text(const char *doc, size_t len, const char *path, char *dst, size_t size, size_t *outlen)
{
	struct xp x;

	if (dst == NULL || size == 0)
		return FED_XML_ERR_TOO_LARGE;
	dst[0] = '\0';
	if (len > FED_XML_MAX_INPUT)
		return FED_XML_ERR_TOO_LARGE;
	if (doc == NULL || path == NULL || *path == '\0')
		return FED_XML_ERR_SYNTAX;
	memset(&x, 0, sizeof(x));
	x.p = doc;
	x.end = doc + len;
	for (const char *s = path;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n == 0 || x.npath == FED_XML_MAX_PATH)
			return FED_XML_ERR_SYNTAX;
		x.path[x.npath] = s;
		x.pathlen[x.npath++] = n;
		if (slash == NULL)
			break;
		s = slash + 1;
	}
	fed_buf_init_fixed(&x.out, dst, size);
	int rv = parse(&x);
	if (rv != 0) {
		/* Nothing half-read is left behind (it may be a secret). */
		fed_buf_free(&x.out);
		dst[0] = '\0';
		return rv;
	}
	if (outlen != NULL)
		*outlen = x.out.len;
	return 0;
}

const char *fed_xml_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case FED_XML_ERR_SYNTAX: return "not well-formed XML";
	case FED_XML_ERR_DOCTYPE: return "XML with a DOCTYPE or markup declaration (refused)";
	case FED_XML_ERR_DEPTH: return "XML nested too deeply";
	case FED_XML_ERR_TOO_LARGE: return "XML document or value too large";
	case FED_XML_ERR_NOT_FOUND: return "XML element not found";
	case FED_XML_ERR_ENTITY: return "unknown XML entity or bad character reference";
	default: return "unknown XML error";
	}
}
