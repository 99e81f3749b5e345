/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_sign.c: libFuzzer target that signs fuzzed requests under fuzzed parameters and checks the result. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4/sigv4.h"

#define FUZZ_NAME "fuzz_sign"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input layout: two parameter bytes, then a request file.
 *
 *   byte 0: bit 0     query mode (presign) instead of header mode
 *           bits 1-2  service: "service", "s3", "sts", "s3-outposts"
 *           bit 3     SV4_F_NO_NORMALIZE_PATH
 *           bit 4     credentials carry a session token
 *           bit 5     SV4_F_OMIT_SESSION_TOKEN
 *           bits 6-7  payload hash: absent, SV4_EMPTY_SHA256, UNSIGNED-PAYLOAD,
 *                     STREAMING-AWS4-HMAC-SHA256-PAYLOAD
 *   byte 1: bits 0-2  expires: 3600, 1, 604800, 0, 604801, 86400, 60, UINT32_MAX
 *           bit 3     SV4_F_ADD_CONTENT_SHA256
 *           bits 4-5  time: 2015-08-30T12:36:00Z, the epoch, 9999-12-31T23:59:59Z,
 *                     2000-02-29T23:59:59Z
 *           bits 6-7  region
 *
 * Bytes missing from a short input count as zero. */

static const char access_key[] = "AKIDEXAMPLE";
static const char secret_key[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/* A second secret for the same access key: the key cache must tell them apart. */
static const char other_secret_key[] = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";
/* Holds '/', '+' and '=' so that the presigned token must be encoded. */
static const char session_token[] = "IQoJb3JpZ2luX2VjEXAMPLE/token+with=padding==";

static const char *const services[] = {"service", "s3", "sts", "s3-outposts"};
static const char *const regions[] = {"us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1"};
static const char *const payloads[] = {NULL, SV4_EMPTY_SHA256, "UNSIGNED-PAYLOAD",
                                       "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"};
static const uint32_t expiries[] = {3600, 1, 604800, 0, 604801, 86400, 60, UINT32_MAX};
static const int64_t times[] = {1440938160, 0, INT64_C(253402300799), 951868799};

/* What sign.c leaves out of the signature (intermediaries change them). */
static const char *const unsigned_headers[] = {
	"expect", "user-agent", "x-amzn-trace-id", "connection", "keep-alive",
	"proxy-connection", "te", "transfer-encoding", "upgrade",
};


/* ------------------------------------------------------------------------
 * Small helpers: a growable string, views, encoding. */


struct view {
	const char *p;
	size_t n;
};

static int view_eq(struct view v, const char *p, size_t n)
{
	return v.n == n && (n == 0 || memcmp(v.p, p, n) == 0);
}

static int view_eqs(struct view v, const char *s)
{
	return view_eq(v, s, strlen(s));
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

static int upper_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int lower_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* RFC 3986 encoding as SigV4 wants it: all but unreserved, upper-case hex. */
static void sb_encode(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c)) {
			sb_addc(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			sb_add(b, e, 3);
		}
	}
}

/* Decodes every valid %XX of |s| onto |b|; a '%' without two hex digits is
 * kept as it is when |strict| is 0, else the call returns -1. */
static int sb_decode(struct sbuf *b, const char *s, size_t n, int strict)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			sb_addc(b, (char)(hi << 4 | lo));
			i += 2;
		} else if (s[i] == '%' && strict) {
			return -1;
		} else {
			sb_addc(b, s[i]);
		}
	}
	return 0;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Returns 1 when the |needlelen| bytes at |needle| occur in |hay| (memmem
 * is a GNU extension). */
static int contains(const char *hay, size_t haylen, const char *needle, size_t needlelen)
{
	for (size_t i = 0; i + needlelen <= haylen; i++)
		if (memcmp(hay + i, needle, needlelen) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * SHA-256 and HMAC-SHA256, computed here from sv4_sha256_hex() alone so that
 * the signer's key derivation and key cache are checked, not trusted. */

static void sha256(const void *data, size_t len, unsigned char md[32])
{
	char hex[65];
	if (sv4_sha256_hex(data, len, hex) != 0)
		violated("sv4_sha256_hex failed");
	for (size_t i = 0; i < 32; i++)
		md[i] = (unsigned char)(hexval((unsigned char)hex[2 * i]) << 4 |
		                        hexval((unsigned char)hex[2 * i + 1]));
}

static void hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t msglen,
                        unsigned char out[32])
{
	unsigned char k[64], ih[32], outer[64 + 32];
	struct sbuf inner;
	sb_init(&inner);

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k))
		sha256(key, keylen, k);
	else
		memcpy(k, key, keylen);
	for (size_t i = 0; i < 64; i++) {
		unsigned char c = (unsigned char)(k[i] ^ 0x36);
		sb_add(&inner, &c, 1);
		outer[i] = (unsigned char)(k[i] ^ 0x5c);
	}
	sb_add(&inner, msg, msglen);
	sha256(inner.p, inner.len, ih);
	memcpy(outer + 64, ih, 32);
	sha256(outer, sizeof(outer), out);
	sb_free(&inner);
}

static void hex_lower(char *dst, const unsigned char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = hex[src[i] >> 4];
		dst[2 * i + 1] = hex[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

/* ------------------------------------------------------------------------
 * The parameters, and what signing them should produce. */

struct setup {
	struct sv4_credentials creds;
	struct sv4_sign_params params;
	int query;
	int s3;
	int normalize;
	int sign_token;
	int add_sha256;
};

static void setup_init(struct setup *s, uint8_t b0, uint8_t b1)
{
	memset(s, 0, sizeof(*s));
	s->creds.access_key = access_key;
	s->creds.secret_key = secret_key;
	s->creds.session_token = (b0 & 0x10) ? session_token : NULL;
	s->params.creds = &s->creds;
	s->params.service = services[(b0 >> 1) & 3];
	s->params.region = regions[(b1 >> 6) & 3];
	s->params.time = times[(b1 >> 4) & 3];
	s->params.mode = (b0 & 1) ? SV4_MODE_QUERY : SV4_MODE_HEADER;
	s->params.expires = expiries[b1 & 7];
	s->params.payload_hash = payloads[(b0 >> 6) & 3];
	s->params.flags = ((b0 & 0x08) ? SV4_F_NO_NORMALIZE_PATH : 0u) |
	                  ((b0 & 0x20) ? SV4_F_OMIT_SESSION_TOKEN : 0u) |
	                  ((b1 & 0x08) ? SV4_F_ADD_CONTENT_SHA256 : 0u);
	s->query = s->params.mode == SV4_MODE_QUERY;
	s->s3 = sv4_service_is_s3(s->params.service);
	s->normalize = !(s->params.flags & SV4_F_NO_NORMALIZE_PATH);
	s->sign_token = s->creds.session_token != NULL && !(s->params.flags & SV4_F_OMIT_SESSION_TOKEN);
	s->add_sha256 = !s->query && (s->s3 || (s->params.flags & SV4_F_ADD_CONTENT_SHA256));
}

static void put_scope(struct sbuf *b, const char *date, const struct sv4_sign_params *p)
{
	sb_add(b, date, 8);
	sb_addc(b, '/');
	sb_adds(b, p->region);
	sb_addc(b, '/');
	sb_adds(b, p->service);
	sb_adds(b, "/aws4_request");
}

/* One expected canonical header before joining: lower-case name, value. */
struct ehdr {
	size_t nameoff; /* in the name buffer */
	size_t namelen;
	const char *value;
	size_t valuelen;
	size_t order;
};

static const char *ehdr_names; /* the name buffer while sorting */

static int ehdr_cmp(const void *a, const void *b)
{
	const struct ehdr *x = a, *y = b;
	int c = bytes_cmp(ehdr_names + x->nameoff, x->namelen, ehdr_names + y->nameoff, y->namelen);
	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends |v| trimmed: no leading or trailing blanks, inner runs of blanks
 * (SP, HT) as one space. */
static void put_trimmed(struct sbuf *b, const char *v, size_t n)
{
	size_t i = 0;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	int blank = 0;
	for (; i < n; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			blank = 1;
			continue;
		}
		if (blank)
			sb_addc(b, ' ');
		blank = 0;
		sb_addc(b, v[i]);
	}
}

/* Builds the canonical header lines (joined by LF, none after the last) and
 * the signed-header list the request should sign with. */
static void expect_headers(const struct setup *s, const struct sv4_request *r, const char *date,
                           const char *payload, size_t payloadlen, struct sbuf *lines, struct sbuf *list)
{
	struct ehdr *eh = calloc(r->nheaders + 3, sizeof(*eh));
	struct sbuf names;
	sb_init(&names);
	size_t n = 0;

	if (eh == NULL)
		violated("harness out of memory");
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct sv4_header *h = &r->headers[i];
		int skip = name_is(h->name, h->namelen, "authorization") ||
		           name_is(h->name, h->namelen, "x-amz-date") ||
		           (s->creds.session_token != NULL &&
		            name_is(h->name, h->namelen, "x-amz-security-token")) ||
		           (s->add_sha256 && name_is(h->name, h->namelen, "x-amz-content-sha256"));
		for (size_t j = 0; j < COUNTOF(unsigned_headers); j++)
			skip |= name_is(h->name, h->namelen, unsigned_headers[j]);
		if (skip)
			continue;
		eh[n].nameoff = names.len;
		for (size_t j = 0; j < h->namelen; j++)
			sb_addc(&names, lower(h->name[j]));
		eh[n].namelen = h->namelen;
		eh[n].value = h->value;
		eh[n].valuelen = h->valuelen;
		eh[n].order = i;
		n++;
	}
	if (!s->query) {
		struct {
			const char *name;
			const char *value;
			size_t valuelen;
			int on;
		} added[] = {
		    {"x-amz-date", date, 16, 1},
		    {"x-amz-security-token", session_token, sizeof(session_token) - 1, s->sign_token},
		    {"x-amz-content-sha256", payload, payloadlen, s->add_sha256},
		};
		for (size_t j = 0; j < COUNTOF(added); j++) {
			if (!added[j].on)
				continue;
			eh[n].nameoff = names.len;
			sb_adds(&names, added[j].name);
			eh[n].namelen = strlen(added[j].name);
			eh[n].value = added[j].value;
			eh[n].valuelen = added[j].valuelen;
			eh[n].order = r->nheaders + j;
			n++;
		}
	}
	ehdr_names = names.p;
	qsort(eh, n, sizeof(*eh), ehdr_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *name = names.p + eh[i].nameoff;
		if (i > 0 &&
		    bytes_cmp(name, eh[i].namelen, names.p + eh[i - 1].nameoff, eh[i - 1].namelen) == 0) {
			sb_addc(lines, ',');
		} else {
			if (i > 0) {
				sb_addc(lines, '\n');
				sb_addc(list, ';');
			}
			sb_add(lines, name, eh[i].namelen);
			sb_addc(lines, ':');
			sb_add(list, name, eh[i].namelen);
		}
		put_trimmed(lines, eh[i].value, eh[i].valuelen);
	}
	ehdr_names = NULL;
	sb_free(&names);
	free(eh);
}

/* One expected canonical query parameter: offsets in the parameter buffer. */
struct eparam {
	size_t nameoff;
	size_t namelen;
	size_t valueoff;
	size_t valuelen;
};

static const char *eparam_buf; /* the parameter buffer while sorting */

static int eparam_cmp(const void *a, const void *b)
{
	const struct eparam *x = a, *y = b;
	int c = bytes_cmp(eparam_buf + x->nameoff, x->namelen, eparam_buf + y->nameoff, y->namelen);
	if (c != 0)
		return c;
	return bytes_cmp(eparam_buf + x->valueoff, x->valuelen, eparam_buf + y->valueoff, y->valuelen);
}

static int is_auth_param(const char *name, size_t len)
{
	for (size_t i = 0; i < COUNTOF(query_auth_params); i++)
		if (strlen(query_auth_params[i]) == len && memcmp(query_auth_params[i], name, len) == 0)
			return 1;
	return 0;
}

/* Builds the canonical query the request should sign with; in query mode
 * with the presign parameters (|date|, |list| the signed-header list). */
static void expect_query(const struct setup *s, const struct sv4_request *r, const char *date,
                         const struct sbuf *list, struct sbuf *q)
{
	struct sbuf buf, tmp;
	sb_init(&buf);
	sb_init(&tmp);
	struct eparam *ep = calloc(r->querylen / 2 + 1 + COUNTOF(query_auth_params), sizeof(*ep));
	size_t n = 0;

	if (ep == NULL)
		violated("harness out of memory");
	for (size_t i = 0; i < r->querylen;) {
		size_t start = i;
		while (i < r->querylen && r->query[i] != '&')
			i++;
		size_t end = i++;
		if (end == start)
			continue;
		size_t eq = start;
		while (eq < end && r->query[eq] != '=')
			eq++;
		tmp.len = 0;
		if (sb_decode(&tmp, r->query + start, eq - start, 1) != 0)
			violated("signed a query with a broken %-escape in a name");
		ep[n].nameoff = buf.len;
		sb_encode(&buf, tmp.p, tmp.len);
		ep[n].namelen = buf.len - ep[n].nameoff;
		if (s->query && is_auth_param(buf.p + ep[n].nameoff, ep[n].namelen)) {
			buf.len = ep[n].nameoff;
			continue;
		}
		tmp.len = 0;
		if (eq < end && sb_decode(&tmp, r->query + eq + 1, end - eq - 1, 1) != 0)
			violated("signed a query with a broken %-escape in a value");
		ep[n].valueoff = buf.len;
		sb_encode(&buf, tmp.p, tmp.len);
		ep[n].valuelen = buf.len - ep[n].valueoff;
		n++;
	}
	if (s->query) {
		char expires[16];
		snprintf(expires, sizeof(expires), "%u", (unsigned)s->params.expires);
		struct sbuf cred;
		sb_init(&cred);
		sb_adds(&cred, access_key);
		sb_addc(&cred, '/');
		put_scope(&cred, date, &s->params);
		struct {
			const char *name;
			const char *value;
			size_t valuelen;
			int on;
		} added[] = {
		    {"X-Amz-Algorithm", "AWS4-HMAC-SHA256", 16, 1},
		    {"X-Amz-Credential", cred.p, cred.len, 1},
		    {"X-Amz-Date", date, 16, 1},
		    {"X-Amz-Expires", expires, strlen(expires), 1},
		    {"X-Amz-SignedHeaders", list->p, list->len, 1},
		    {"X-Amz-Security-Token", session_token, sizeof(session_token) - 1, s->sign_token},
		};
		for (size_t j = 0; j < COUNTOF(added); j++) {
			if (!added[j].on)
				continue;
			ep[n].nameoff = buf.len;
			sb_adds(&buf, added[j].name);
			ep[n].namelen = buf.len - ep[n].nameoff;
			ep[n].valueoff = buf.len;
			sb_encode(&buf, added[j].value, added[j].valuelen);
			ep[n].valuelen = buf.len - ep[n].valueoff;
			n++;
		}
		sb_free(&cred);
	}
	if (n > 0) {
		eparam_buf = buf.p;
		qsort(ep, n, sizeof(*ep), eparam_cmp);
		eparam_buf = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sb_addc(q, '&');
		sb_add(q, buf.p + ep[i].nameoff, ep[i].namelen);
		sb_addc(q, '=');
		sb_add(q, buf.p + ep[i].valueoff, ep[i].valuelen);
	}
	free(ep);
	sb_free(&buf);
	sb_free(&tmp);
}

/* The path the canonical URI should decode to, for non-S3 normalising: dot
 * segments and empty segments removed, a trailing '/' kept when a segment
 * is left. */
static void expect_normalized(const char *path, size_t len, struct sbuf *b)
{
	size_t *starts = calloc(len / 2 + 2, sizeof(*starts));
	size_t depth = 0;

	if (starts == NULL)
		violated("harness out of memory");
	sb_addc(b, '/');
	for (size_t i = 0; i < len;) {
		while (i < len && path[i] == '/')
			i++;
		size_t s = i;
		while (i < len && path[i] != '/')
			i++;
		size_t n = i - s;
		if (n == 0 || (n == 1 && path[s] == '.'))
			continue;
		if (n == 2 && path[s] == '.' && path[s + 1] == '.') {
			if (depth > 0)
				b->len = starts[--depth];
			b->p[b->len] = '\0';
			continue;
		}
		starts[depth++] = b->len;
		if (b->len > 1)
			sb_addc(b, '/');
		sb_add(b, path + s, n);
	}
	if (b->len > 1 && len > 0 && path[len - 1] == '/')
		sb_addc(b, '/');
	free(starts);
}

/* ------------------------------------------------------------------------
 * The checks. */

/* The canonical request split into its parts. */
struct canon {
	struct view method, uri, query, headers, list, payload;
};

static void split_canonical(const char *c, size_t len, struct canon *k)
{
	const char *end = c + len, *p = c;
	struct view *first[3] = {&k->method, &k->uri, &k->query};

	if (memchr(c, '\0', len) != NULL || memchr(c, '\r', len) != NULL)
		violated("canonical request holds NUL or CR");
	for (size_t i = 0; i < 3; i++) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL)
			violated("canonical request has fewer than three lines before the headers");
		first[i]->p = p;
		first[i]->n = (size_t)(lf - p);
		p = lf + 1;
	}
	/* Header lines are never empty (each is name:value), so the first
	 * empty line ends them. */
	const char *h = p;
	for (;;) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL)
			violated("canonical headers not ended by an empty line");
		if (lf == p)
			break;
		p = lf + 1;
	}
	if (p == h)
		violated("no canonical headers");
	k->headers.p = h;
	k->headers.n = (size_t)(p - h - 1);
	p++;
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	if (lf == NULL)
		violated("no line after the signed-header list");
	k->list.p = p;
	k->list.n = (size_t)(lf - p);
	k->payload.p = lf + 1;
	k->payload.n = (size_t)(end - lf - 1);
	if (memchr(k->payload.p, '\n', k->payload.n) != NULL)
		violated("more lines after the payload hash");
}

static void check_uri(const struct setup *s, const struct sv4_request *r, struct view uri)
{
	if (uri.n == 0 || uri.p[0] != '/')
		violated("canonical URI does not start with '/'");
	for (size_t i = 0; i < uri.n; i++) {
		unsigned char c = (unsigned char)uri.p[i];
		if (unreserved(c) || c == '/')
			continue;
		if (c != '%' || i + 2 >= uri.n)
			violated("canonical URI holds a byte that should be encoded");
		unsigned char h1 = (unsigned char)uri.p[i + 1], h2 = (unsigned char)uri.p[i + 2];
		/* S3 keeps a valid escape as sent (sign.c's S3 rule); everywhere
		 * else the signer writes every escape itself, upper-case. */
		if (!(upper_hex(h1) && upper_hex(h2)) && !(s->s3 && hexval(h1) >= 0 && hexval(h2) >= 0))
			violated("canonical URI holds a %-escape that is not %XX in upper-case hex");
		if (s->s3 && (lower_hex(h1) || lower_hex(h2)) && !(upper_hex(h1) && upper_hex(h2)) &&
		    !contains(r->path, r->pathlen, uri.p + i, 3))
			violated("S3 canonical URI holds a lower-case escape the path did not have");
		i += 2;
	}

	/* What the URI means: decoded once, it must give back the path (S3:
	 * the path decoded once too; non-S3: the path, normalised when asked). */
	struct sbuf got, want;
	sb_init(&got);
	sb_init(&want);
	const char *path = r->pathlen ? r->path : "/";
	size_t pathlen = r->pathlen ? r->pathlen : 1;
	sb_decode(&got, uri.p, uri.n, 0);
	if (s->s3)
		sb_decode(&want, path, pathlen, 0);
	else if (!s->normalize)
		sb_add(&want, path, pathlen);
	else
		expect_normalized(path, pathlen, &want);
	if (got.len != want.len || (got.len > 0 && memcmp(got.p, want.p, got.len) != 0))
		violated("canonical URI does not decode to the (normalised) path");
	sb_free(&got);
	sb_free(&want);
}

static void check_query_syntax(struct view q)
{
	size_t i = 0;
	const char *prev = NULL;
	size_t prevlen = 0;
	if (q.n > 0 && q.p[q.n - 1] == '&')
		violated("canonical query ends with '&'");
	while (i < q.n) {
		size_t start = i, eq = SIZE_MAX;
		for (; i < q.n && q.p[i] != '&'; i++) {
			unsigned char c = (unsigned char)q.p[i];
			if (c == '=') {
				if (eq != SIZE_MAX)
					violated("canonical query parameter with two '='");
				eq = i;
			} else if (c == '%') {
				if (i + 2 >= q.n || !upper_hex((unsigned char)q.p[i + 1]) ||
				    !upper_hex((unsigned char)q.p[i + 2]))
					violated("canonical query holds a %-escape that is not %XX in "
					         "upper-case hex");
				i += 2;
			} else if (!unreserved(c)) {
				violated("canonical query holds a byte that should be encoded");
			}
		}
		if (eq == SIZE_MAX)
			violated("canonical query parameter without '='");
		/* Sorted by name, then value (not as "name=value" strings:
		 * "a-=1" sorts before "a=1" that way, after it by name). */
		const char *cur = q.p + start;
		size_t namelen = eq - start, curlen = i - start;
		if (prev != NULL) {
			const char *peq = memchr(prev, '=', prevlen);
			size_t pnamelen = (size_t)(peq - prev);
			int c = bytes_cmp(prev, pnamelen, cur, namelen);
			if (c == 0)
				c = bytes_cmp(peq + 1, prevlen - pnamelen - 1, cur + namelen + 1,
				              curlen - namelen - 1);
			if (c > 0)
				violated("canonical query is not sorted by name, then value");
		}
		prev = cur;
		prevlen = curlen;
		i++;
	}
}

static void check_headers_syntax(const struct setup *s, struct view h, struct view list)
{
	const char *p = h.p, *end = h.p + h.n;
	const char *l = list.p, *lend = list.p + list.n;
	struct view prev = {NULL, 0};
	int host = 0, date = 0;

	while (p <= end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		const char *le = lf ? lf : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon == NULL || colon == p)
			violated("canonical header line without name:");
		struct view name = {p, (size_t)(colon - p)};
		for (size_t i = 0; i < name.n; i++) {
			unsigned char c = (unsigned char)name.p[i];
			if ((c >= 'A' && c <= 'Z') || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			                                (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
				violated("canonical header name is not a lower-case token");
		}
		if (prev.p != NULL && bytes_cmp(prev.p, prev.n, name.p, name.n) >= 0)
			violated("canonical header names not sorted or repeated");
		struct view value = {colon + 1, (size_t)(le - colon - 1)};
		if (memchr(value.p, '\t', value.n) != NULL ||
		    (value.n > 0 && (value.p[0] == ' ' || value.p[value.n - 1] == ' ')))
			violated("canonical header value not trimmed");
		for (size_t i = 1; i < value.n; i++)
			if (value.p[i] == ' ' && value.p[i - 1] == ' ')
				violated("canonical header value holds a run of spaces");
		host |= view_eqs(name, "host");
		date |= view_eqs(name, "x-amz-date");
		if (view_eqs(name, "authorization") || (s->query && view_eqs(name, "x-amz-date")))
			violated("canonical headers sign Authorization, or X-Amz-Date in query mode");
		for (size_t i = 0; i < COUNTOF(unsigned_headers); i++)
			if (view_eqs(name, unsigned_headers[i]))
				violated("canonical headers sign a header meant to stay unsigned");

		/* The signed-header list names the same headers in the same order. */
		if (l > lend)
			violated("signed-header list names fewer headers than the canonical headers");
		const char *semi = memchr(l, ';', (size_t)(lend - l));
		const char *ne = semi ? semi : lend;
		if (!view_eq(name, l, (size_t)(ne - l)))
			violated("signed-header list differs from the canonical header names");
		l = ne + 1;
		prev = name;
		if (lf == NULL)
			break;
		p = lf + 1;
	}
	if (l != lend + 1)
		violated("signed-header list names more headers than the canonical headers");
	if (!host)
		violated("canonical headers lack host");
	if (!s->query && !date)
		violated("canonical headers lack x-amz-date in header mode");
}

static int payload_ok(struct view v)
{
	if (v.n == 64) {
		for (size_t i = 0; i < 64; i++)
			if (!lower_hex((unsigned char)v.p[i]))
				return 0;
		return 1;
	}
	for (size_t i = 0; i < COUNTOF(payload_keywords); i++)
		if (view_eqs(v, payload_keywords[i]))
			return 1;
	return 0;
}

/* Finds the request's next query piece from |*ri| on that a presigned query
 * keeps (non-empty, not a presign parameter), stores it in |*rp| and returns
 * 1, or returns 0 when there is none left. */
static int next_kept_piece(const struct sv4_request *r, size_t *ri, struct view *rp)
{
	struct sbuf tmp, enc;
	int found = 0;

	sb_init(&tmp);
	sb_init(&enc);
	while (!found && *ri < r->querylen) {
		size_t rs = *ri;
		while (*ri < r->querylen && r->query[*ri] != '&')
			(*ri)++;
		rp->p = r->query + rs;
		rp->n = *ri - rs;
		(*ri)++;
		if (rp->n == 0)
			continue;
		const char *eq = memchr(rp->p, '=', rp->n);
		tmp.len = 0;
		enc.len = 0;
		sb_decode(&tmp, rp->p, eq ? (size_t)(eq - rp->p) : rp->n, 0);
		sb_encode(&enc, tmp.p, tmp.len);
		found = !is_auth_param(enc.p, enc.len);
	}
	sb_free(&tmp);
	sb_free(&enc);
	return found;
}

/* Checks out->query of a presigned request: the request's pieces in order
 * (without its own presign parameters), then each presign parameter once. */
static void check_presigned_query(const struct setup *s, const struct sv4_request *r,
                                  const struct sv4_signed *out)
{
	struct view q = {out->query, out->querylen}, rp;
	size_t count[COUNTOF(query_auth_params)];
	size_t ri = 0; /* where the next request piece starts */

	memset(count, 0, sizeof(count));
	if (q.p == NULL || out->authorization != NULL)
		violated("query mode without a query, or with an Authorization");
	for (size_t i = 0; i <= q.n;) {
		size_t start = i;
		while (i < q.n && q.p[i] != '&')
			i++;
		struct view piece = {q.p + start, i - start};
		i++;
		if (piece.n == 0)
			violated("presigned query holds an empty piece");
		const char *eq = memchr(piece.p, '=', piece.n);
		size_t namelen = eq ? (size_t)(eq - piece.p) : piece.n;
		size_t k;
		for (k = 0; k < COUNTOF(query_auth_params); k++)
			if (view_eq((struct view){piece.p, namelen}, query_auth_params[k],
			            strlen(query_auth_params[k])))
				break;
		if (k < COUNTOF(query_auth_params)) {
			count[k]++;
			continue;
		}
		/* Else a piece of the request's own, as sent and in order. */
		if (!next_kept_piece(r, &ri, &rp))
			violated("presigned query holds a piece the request did not have");
		if (!view_eq(piece, rp.p, rp.n))
			violated("presigned query changed or reordered the request's pieces");
	}
	if (next_kept_piece(r, &ri, &rp))
		violated("presigned query dropped a piece of the request's");
	for (size_t k = 0; k < COUNTOF(query_auth_params); k++) {
		size_t want = 1;
		if (strcmp(query_auth_params[k], "X-Amz-Security-Token") == 0 &&
		    s->creds.session_token == NULL)
			want = 0;
		if (count[k] != want)
			violated("presigned query holds a presign parameter too often or not at all");
	}
	char tail[17 + 64 + 1];
	memcpy(tail, "&X-Amz-Signature=", 17);
	memcpy(tail + 17, out->signature, 65);
	if (q.n < 17 + 64 || memcmp(q.p + q.n - (17 + 64), tail, 17 + 64) != 0)
		violated("presigned query does not end with the signature");
}

static void check_signed(const struct setup *s, const struct sv4_request *r, const struct sv4_signed *out)
{
	const struct sv4_sign_params *p = &s->params;
	char date[17], hex[65];
	unsigned char md[32];

	/* Signature and date. */
	if (out->signature[64] != '\0')
		violated("signature is not 64 characters");
	for (size_t i = 0; i < 64; i++)
		if (!lower_hex((unsigned char)out->signature[i]))
			violated("signature is not lower-case hex");
	if (sv4_format_time(date, p->time) != 0 || memcmp(out->date, date, sizeof(date)) != 0)
		violated("X-Amz-Date is not the signing time");

	/* The payload hash: given, else the request's X-Amz-Content-Sha256,
	 * else UNSIGNED-PAYLOAD presigning S3, else the body's hash. */
	struct view payload;
	char bodyhash[65];
	const struct sv4_header *sha = NULL;
	for (size_t i = 0; i < r->nheaders; i++)
		if (name_is(r->headers[i].name, r->headers[i].namelen, "x-amz-content-sha256"))
			sha = &r->headers[i];
	if (p->payload_hash != NULL) {
		payload = (struct view){p->payload_hash, strlen(p->payload_hash)};
	} else if (sha != NULL) {
		/* The request's value, blanks around it trimmed. */
		payload = (struct view){sha->value, sha->valuelen};
		while (payload.n > 0 && (*payload.p == ' ' || *payload.p == '\t')) {
			payload.p++;
			payload.n--;
		}
		while (payload.n > 0 && (payload.p[payload.n - 1] == ' ' || payload.p[payload.n - 1] == '\t'))
			payload.n--;
	} else if (s->query && s->s3) {
		payload = (struct view){SV4_UNSIGNED_PAYLOAD, strlen(SV4_UNSIGNED_PAYLOAD)};
	} else {
		if (sv4_sha256_hex(r->body, r->bodylen, bodyhash) != 0)
			violated("sv4_sha256_hex failed");
		payload = (struct view){bodyhash, 64};
	}
	if (!view_eq(payload, out->payload_hash, out->payload_hashlen) || !payload_ok(payload))
		violated("payload hash is not the one expected, or not a hash or keyword");
	if (out->add_content_sha256 != s->add_sha256 ||
	    out->add_session_token != (!s->query && s->creds.session_token != NULL))
		violated("add_content_sha256 or add_session_token wrong");

	/* The canonical request: structure first, then each part against what
	 * this file computes on its own. */
	struct canon k;
	split_canonical(out->canonical, out->canonicallen, &k);
	if (!view_eq(k.method, r->method, r->methodlen))
		violated("canonical method differs from the request's");
	check_uri(s, r, k.uri);
	check_query_syntax(k.query);
	check_headers_syntax(s, k.headers, k.list);
	if (!view_eq(k.payload, payload.p, payload.n))
		violated("canonical payload hash differs from out->payload_hash");

	struct sbuf lines, list, query;
	sb_init(&lines);
	sb_init(&list);
	sb_init(&query);
	expect_headers(s, r, date, payload.p, payload.n, &lines, &list);
	if (!view_eq(k.headers, lines.p, lines.len))
		violated("canonical headers differ from the expected ones");
	if (!view_eq(k.list, list.p, list.len))
		violated("signed-header list differs from the expected one");
	expect_query(s, r, date, &list, &query);
	if (!view_eq(k.query, query.p, query.len))
		violated("canonical query differs from the expected one");

	/* String to sign. */
	struct sbuf sts, scope;
	sb_init(&sts);
	sb_init(&scope);
	put_scope(&scope, date, p);
	sb_adds(&sts, "AWS4-HMAC-SHA256\n");
	sb_add(&sts, date, 16);
	sb_addc(&sts, '\n');
	sb_add(&sts, scope.p, scope.len);
	sb_addc(&sts, '\n');
	if (sv4_sha256_hex(out->canonical, out->canonicallen, hex) != 0)
		violated("sv4_sha256_hex failed");
	sb_add(&sts, hex, 64);
	if (!view_eq((struct view){out->string_to_sign, out->string_to_signlen}, sts.p, sts.len))
		violated("string to sign differs from the expected one");

	/* Signature: the key derived here, from scratch. */
	struct sbuf ksecret;
	sb_init(&ksecret);
	unsigned char k1[32], k2[32];
	sb_adds(&ksecret, "AWS4");
	sb_adds(&ksecret, secret_key);
	hmac_sha256((const unsigned char *)ksecret.p, ksecret.len, date, 8, k1);
	hmac_sha256(k1, 32, p->region, strlen(p->region), k2);
	hmac_sha256(k2, 32, p->service, strlen(p->service), k1);
	hmac_sha256(k1, 32, "aws4_request", 12, k2);
	hmac_sha256(k2, 32, sts.p, sts.len, md);
	hex_lower(hex, md, 32);
	if (memcmp(hex, out->signature, 65) != 0)
		violated("signature differs from HMAC(signing key, string to sign)");

	/* What the caller sends. */
	if (s->query) {
		check_presigned_query(s, r, out);
	} else {
		struct sbuf auth;
		sb_init(&auth);
		sb_adds(&auth, "AWS4-HMAC-SHA256 Credential=");
		sb_adds(&auth, access_key);
		sb_addc(&auth, '/');
		sb_add(&auth, scope.p, scope.len);
		sb_adds(&auth, ", SignedHeaders=");
		sb_add(&auth, list.p, list.len);
		sb_adds(&auth, ", Signature=");
		sb_add(&auth, hex, 64);
		if (out->query != NULL ||
		    !view_eq((struct view){out->authorization, out->authorizationlen}, auth.p, auth.len))
			violated("Authorization differs from the expected one");
		sb_free(&auth);
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct sv4_header *h = &r->headers[i];
		int want = name_is(h->name, h->namelen, "authorization") ||
		           name_is(h->name, h->namelen, "x-amz-date") ||
		           (s->creds.session_token != NULL &&
		            name_is(h->name, h->namelen, "x-amz-security-token")) ||
		           (s->add_sha256 && name_is(h->name, h->namelen, "x-amz-content-sha256"));
		if (sv4_header_is_replaced(h->name, h->namelen, p, out) != want)
			violated("sv4_header_is_replaced() disagrees with the rules");
	}

	sb_free(&lines);
	sb_free(&list);
	sb_free(&query);
	sb_free(&sts);
	sb_free(&scope);
	sb_free(&ksecret);
}

/* A copy of what a call produced, to compare with a later call. */
struct result {
	int rv;
	char signature[65];
	char *canonical;
	size_t canonicallen;
	char *sts;
	size_t stslen;
	char *sent; /* the Authorization or the query */
	size_t sentlen;
};

static void result_keep(struct result *res, int rv, const struct sv4_signed *out)
{
	memset(res, 0, sizeof(*res));
	res->rv = rv;
	if (rv != 0)
		return;
	memcpy(res->signature, out->signature, sizeof(res->signature));
	res->canonical = dup_bytes(out->canonical, out->canonicallen);
	res->canonicallen = out->canonicallen;
	res->sts = dup_bytes(out->string_to_sign, out->string_to_signlen);
	res->stslen = out->string_to_signlen;
	const char *sent = out->query != NULL ? out->query : out->authorization;
	res->sentlen = out->query != NULL ? out->querylen : out->authorizationlen;
	res->sent = dup_bytes(sent, res->sentlen);
}

static void result_free(struct result *res)
{
	free(res->canonical);
	free(res->sts);
	free(res->sent);
}

static int same_result(const struct result *a, const struct result *b)
{
	if (a->rv != b->rv)
		return 0;
	if (a->rv != 0)
		return 1;
	return memcmp(a->signature, b->signature, sizeof(a->signature)) == 0 &&
	       view_eq((struct view){a->canonical, a->canonicallen}, b->canonical, b->canonicallen) &&
	       view_eq((struct view){a->sts, a->stslen}, b->sts, b->stslen) &&
	       view_eq((struct view){a->sent, a->sentlen}, b->sent, b->sentlen);
}

static int documented_error(int rv)
{
	static const int errs[] = {
	    SV4_ERR_NOMEM,      SV4_ERR_TOO_LARGE,  SV4_ERR_BAD_METHOD,  SV4_ERR_BAD_PATH,
	    SV4_ERR_BAD_QUERY,  SV4_ERR_BAD_HEADER, SV4_ERR_NO_HOST,     SV4_ERR_BAD_CREDENTIALS,
	    SV4_ERR_BAD_SCOPE,  SV4_ERR_BAD_TIME,   SV4_ERR_BAD_EXPIRES, SV4_ERR_BAD_PAYLOAD,
	    SV4_ERR_NO_PAYLOAD, SV4_ERR_CRYPTO,
	};
	for (size_t i = 0; i < COUNTOF(errs); i++)
		if (rv == errs[i])
			return 1;
	return 0;
}

static struct sv4_signer *signer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sv4_reqfile rf;
	struct setup s, other;
	struct sv4_signed out, untouched;
	struct result first, again;
	uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0;
	size_t skip = size < 2 ? size : 2;

	if (signer == NULL && (signer = sv4_signer_new()) == NULL)
		violated("sv4_signer_new failed");
	if (sv4_reqfile_parse(&rf, (const char *)data + skip, size - skip, NULL) != 0)
		return 0;
	setup_init(&s, b0, b1);

	memset(&out, 0x5a, sizeof(out));
	memset(&untouched, 0x5a, sizeof(untouched));
	int rv = sv4_sign(signer, &rf.req, &s.params, &out);

	size_t hosts = 0;
	for (size_t i = 0; i < rf.req.nheaders; i++)
		if (name_is(rf.req.headers[i].name, rf.req.headers[i].namelen, "host"))
			hosts++;
	int bad_expires = s.query && (s.params.expires < 1 || s.params.expires > SV4_MAX_EXPIRES);
	if (rv != 0) {
		if (!documented_error(rv))
			violated("undocumented error code");
		if (memcmp(&out, &untouched, sizeof(out)) != 0)
			violated("out written on failure");
		if (bad_expires && rv != SV4_ERR_BAD_EXPIRES)
			violated("bad expiry not reported as SV4_ERR_BAD_EXPIRES");
		if (rv == SV4_ERR_NO_HOST && hosts == 1)
			violated("SV4_ERR_NO_HOST with exactly one Host header");
	} else {
		if (bad_expires)
			violated("presigned with an expiry outside 1..SV4_MAX_EXPIRES");
		if (hosts != 1)
			violated("signed without exactly one Host header");
		check_signed(&s, &rf.req, &out);
	}

	/* The key cache must not change results: sign for another scope (a
	 * new key, maybe evicting this one) and with another secret for the
	 * same scope in between, then again. */
	result_keep(&first, rv, &out);
	setup_init(&other, b0, (uint8_t)(b1 + 0x50)); /* next region, next time */
	(void)sv4_sign(signer, &rf.req, &other.params, &out);
	setup_init(&other, b0, b1);
	other.creds.secret_key = other_secret_key;
	if (sv4_sign(signer, &rf.req, &other.params, &out) == 0 && first.rv == 0 &&
	    memcmp(out.signature, first.signature, sizeof(out.signature)) == 0)
		violated("another secret gave the same signature: the key cache mixed up secrets");
	rv = sv4_sign(signer, &rf.req, &s.params, &out);
	result_keep(&again, rv, &out);
	if (!same_result(&first, &again))
		violated("signing the same input twice gave different results");
	result_free(&first);
	result_free(&again);
	sv4_reqfile_free(&rf);
	return 0;
}
