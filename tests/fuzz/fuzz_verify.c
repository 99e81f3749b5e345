/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_verify.c: libFuzzer target that checks sv4_verify()'s verdicts on fuzzed and self-signed requests. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4/sigv4.h"

#define FUZZ_NAME "fuzz_verify"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input layout: three parameter bytes, then a request file.
 *
 *   byte 0: bits 0-2  now: 2015-08-30T12:36:00Z, +300 s, -301 s, +3601 s,
 *                     2013-05-24T00:00:00Z, the epoch, 9999-12-31T23:59:59Z,
 *                     2000-02-29T23:59:59Z
 *           bits 3-5  max_skew: 0 (the default), 1, 300, 301, 3600, 86400,
 *                     604800, UINT32_MAX
 *           bits 6-7  the payload hash the verifier is given: NULL,
 *                     SV4_EMPTY_SHA256, UNSIGNED-PAYLOAD, SHA-256 of "hello"
 *   byte 1: bit 0     also sign the request here and verify what that gives
 *           bit 1     ... in query mode (presign) instead of header mode
 *           bits 2-3  ... for service "service", "s3", "sts", "s3express"
 *           bits 4-5  ... in region us-east-1, eu-west-3, cn-north-1,
 *                     us-gov-west-1
 *           bit 6     ... with SV4_F_ADD_CONTENT_SHA256
 *           bit 7     unused
 *   byte 2: bits 0-1  ... expiring after 3600, 1, 604800, 300 seconds
 *           bits 2-3  ... at 2015-08-30T12:36:00Z, 2000-02-29T23:59:59Z,
 *                     the epoch, 9999-12-31T23:59:59Z
 *           bits 4-7  unused
 *
 * Bytes missing from a short input count as zero.
 *
 * The request as given is verified with access key AKIDEXAMPLE and the
 * suite's example secret: any verdict will do, but it must be well formed,
 * and a valid one must say what sv4_sign() says for the same request. With
 * byte 1's bit 0 the request is also signed with sv4_sign() and the
 * signature spliced in: that must verify as valid (unless the new request is
 * over a limit, or otherwise refused for a reason computed here), stop being
 * valid when one digit of the signature changes, and meet the skew and
 * expiry rules exactly at their edges. */

static const char access_key[] = "AKIDEXAMPLE";
static const char secret_key[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static const char other_secret_key[] = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";

static const int64_t nows[] = {
    1440938160, 1440938160 + 300,      1440938160 - 301, 1440938160 + 3601, 1369353600,
    0,          INT64_C(253402300799), 951868799};
static const uint32_t skews[] = {0, 1, 300, 301, 3600, 86400, 604800, UINT32_MAX};
static const uint32_t expiries[] = {3600, 1, 604800, 300};
static const char *const services[] = {"service", "s3", "sts", "s3express"};
static const char *const regions[] = {"us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1"};
static const int64_t sign_times[] = {1440938160, 951868799, 0, INT64_C(253402300799)};
static const char *const given_payloads[] = {
    NULL, SV4_EMPTY_SHA256, "UNSIGNED-PAYLOAD",
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"};



/* ------------------------------------------------------------------------
 * Small helpers: a growable string, bytes, encoding. */


static int bytes_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int is_lower_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

static int is_scope_part(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SV4_MAX_SCOPE_PART)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int payload_ok(const char *p, size_t n)
{
	if (n == 64)
		return is_lower_hex(p, n);
	for (size_t i = 0; i < COUNTOF(payload_keywords); i++)
		if (bytes_eq(p, n, payload_keywords[i], strlen(payload_keywords[i])))
			return 1;
	return 0;
}

/* Decodes every %XX of |s| onto |b|. Returns -1 for a '%' without two hex
 * digits (the request is then refused before this matters). */
static int sb_decode(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] != '%') {
			sb_addc(b, s[i]);
			continue;
		}
		if (i + 2 >= n || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 2])) < 0)
			return -1;
		sb_addc(b, (char)(hi << 4 | lo));
		i += 2;
	}
	return 0;
}

static int is_auth_param(const char *name, size_t len)
{
	for (size_t i = 0; i < COUNTOF(query_auth_params); i++)
		if (bytes_eq(name, len, query_auth_params[i], strlen(query_auth_params[i])))
			return 1;
	return 0;
}

/* One piece of a query ("name=value" between '&'s), as sent. */
struct piece {
	const char *name;
	size_t namelen;
	const char *value; /* NULL without '=' */
	size_t valuelen;
};

/* Calls |fn| for each non-empty piece of |q|; stops when it returns non-zero
 * and returns that. */
static int each_piece(const char *q, size_t qlen, int (*fn)(void *, const struct piece *), void *arg)
{
	size_t i = 0;
	while (i < qlen) {
		size_t s = i;
		while (i < qlen && q[i] != '&')
			i++;
		size_t e = i++;
		if (e == s)
			continue;
		struct piece pc = {q + s, e - s, NULL, 0};
		const char *eq = memchr(q + s, '=', e - s);
		if (eq != NULL) {
			pc.namelen = (size_t)(eq - (q + s));
			pc.value = eq + 1;
			pc.valuelen = e - s - pc.namelen - 1;
		}
		int rv = fn(arg, &pc);
		if (rv != 0)
			return rv;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * What every verdict must look like. */

static void check_verdict(int rv, const struct sv4_verified *out)
{
	if (rv != 0 && rv != SV4_ERR_NOMEM)
		violated("sv4_verify returned an error other than SV4_ERR_NOMEM");
	if (rv != 0)
		return;
	if ((unsigned)out->verdict > (unsigned)SV4_V_UNSIGNED_HEADER)
		violated("verdict outside enum sv4_verdict");
	if (out->detail == NULL)
		violated("verdict without a detail");
	if (strcmp(sv4_verdict_name(out->verdict), "unknown") == 0)
		violated("sv4_verdict_name() does not know the verdict");
	if (out->mode != SV4_MODE_HEADER && out->mode != SV4_MODE_QUERY)
		violated("mode outside enum sv4_mode");
}

static void put_scope(struct sbuf *b, const char *date, const char *region, const char *service)
{
	sb_add(b, date, 8);
	sb_addc(b, '/');
	sb_adds(b, region);
	sb_addc(b, '/');
	sb_adds(b, service);
	sb_adds(b, "/aws4_request");
}

/* Splits a canonical request at its last two newlines: the signed-header
 * list and the payload hash. */
static void canonical_tail(const char *c, size_t n, const char **list, size_t *listlen)
{
	size_t last = n;
	while (last > 0 && c[last - 1] != '\n')
		last--;
	if (last == 0)
		violated("canonical request without a payload line");
	size_t prev = last - 1;
	while (prev > 0 && c[prev - 1] != '\n')
		prev--;
	*list = c + prev;
	*listlen = last - 1 - prev;
}

/* A valid verdict: every field as documented, the time rules held. */
static void check_valid(const struct sv4_verify_params *vp, const struct sv4_verified *out)
{
	int64_t t;
	char hex[65];

	if (memchr(out->date, '\0', sizeof(out->date)) != out->date + 16 ||
	    sv4_parse_time(out->date, 16, &t) != 0 || t != out->time)
		violated("valid verdict with a date that is not X-Amz-Date's time");
	if (!is_scope_part(out->region) || !is_scope_part(out->service))
		violated("valid verdict with a region or service that is not a scope part");
	if (out->signature[64] != '\0' || !is_lower_hex(out->signature, 64))
		violated("valid verdict with a signature that is not 64 lower-case hex digits");
	if (out->payload_hash == NULL || !payload_ok(out->payload_hash, out->payload_hashlen))
		violated("valid verdict with a payload hash that is neither a SHA-256 nor a keyword");
	if (out->canonical == NULL || out->string_to_sign == NULL)
		violated("valid verdict without its canonical request or string to sign");
	int64_t skew = vp->max_skew ? vp->max_skew : SV4_DEFAULT_MAX_SKEW;
	if (out->mode == SV4_MODE_HEADER && (t > vp->now + skew || t < vp->now - skew))
		violated("valid verdict for a header signature outside the skew");
	if (out->mode == SV4_MODE_QUERY && (out->expires < 1 || out->expires > SV4_MAX_EXPIRES ||
	                                    t > vp->now + skew || vp->now > t + out->expires))
		violated(
		    "valid verdict for a presigned request in the future, expired, or with a bad expiry");

	/* The canonical request ends with the list and the payload hash; the
	 * string to sign is built from it. */
	const char *list;
	size_t listlen;
	canonical_tail(out->canonical, out->canonicallen, &list, &listlen);
	const char *ph = list + listlen + 1;
	if (!bytes_eq(ph, (size_t)(out->canonical + out->canonicallen - ph), out->payload_hash,
	              out->payload_hashlen))
		violated("the canonical request does not end with the payload hash");
	struct sbuf sts;
	sb_init(&sts);
	sb_adds(&sts, "AWS4-HMAC-SHA256\n");
	sb_add(&sts, out->date, 16);
	sb_addc(&sts, '\n');
	put_scope(&sts, out->date, out->region, out->service);
	sb_addc(&sts, '\n');
	if (sv4_sha256_hex(out->canonical, out->canonicallen, hex) != 0)
		violated("sv4_sha256_hex failed");
	sb_add(&sts, hex, 64);
	if (!bytes_eq(out->string_to_sign, out->string_to_signlen, sts.p, sts.len))
		violated("the string to sign is not built from the canonical request");
	sb_free(&sts);
}

/* ------------------------------------------------------------------------
 * A valid verdict for a request this file did not sign: sv4_sign() with the
 * verdict's scope, time and mode must make the same canonical request and
 * the same signature, whenever it signs the same headers and the query has
 * nothing sv4_sign() rewrites. */

struct presign_scan {
	struct sbuf tmp;
	int rewritten; /* a piece sv4_sign() drops or writes differently */
};

static int scan_presign_piece(void *arg, const struct piece *pc)
{
	struct presign_scan *ps = arg;
	ps->tmp.len = 0;
	if (sb_decode(&ps->tmp, pc->name, pc->namelen) != 0)
		return ps->rewritten = 1;
	if (!is_auth_param(ps->tmp.p, ps->tmp.len))
		return 0;
	/* sv4_verify() reads the parameters by their names as sent, sv4_sign()
	 * drops them by their decoded names; a token is dropped and not put
	 * back without credentials that have one; an expiry with a leading zero
	 * is written again without it. */
	if (!bytes_eq(pc->name, pc->namelen, ps->tmp.p, ps->tmp.len) ||
	    bytes_eq(pc->name, pc->namelen, "X-Amz-Security-Token", 20))
		return ps->rewritten = 1;
	if (bytes_eq(pc->name, pc->namelen, "X-Amz-Expires", 13)) {
		ps->tmp.len = 0;
		if (pc->value == NULL || sb_decode(&ps->tmp, pc->value, pc->valuelen) != 0 ||
		    ps->tmp.len == 0 || ps->tmp.p[0] == '0')
			return ps->rewritten = 1;
	}
	return 0;
}

static void cross_check_sign(struct sv4_signer *signer, const struct sv4_request *r,
                             const struct sv4_verified *out)
{
	struct sv4_credentials creds = {access_key, secret_key, NULL};
	struct sv4_signed sig;
	struct sbuf canon, payload;
	char request_sig[65];

	/* |out| borrows from the signer: keep what the next call overwrites.
	 * Sign the payload hash the verifier used: it may have been the
	 * caller's. */
	sb_init(&canon);
	sb_add(&canon, out->canonical, out->canonicallen);
	sb_init(&payload);
	sb_add(&payload, out->payload_hash, out->payload_hashlen);
	struct sv4_sign_params p = {&creds,    out->region,  out->service, out->time,
	                            out->mode, out->expires, payload.p,    0};
	memcpy(request_sig, out->signature, sizeof(request_sig));
	if (sv4_sign(signer, r, &p, &sig) != 0)
		violated("sv4_sign refuses a request sv4_verify found valid");

	if (out->mode == SV4_MODE_QUERY) {
		struct presign_scan ps = {{NULL, 0, 0}, 0};
		sb_init(&ps.tmp);
		each_piece(r->query, r->querylen, scan_presign_piece, &ps);
		sb_free(&ps.tmp);
		if (ps.rewritten)
			goto out;
	}
	const char *l1, *l2;
	size_t l1len, l2len;
	canonical_tail(canon.p, canon.len, &l1, &l1len);
	canonical_tail(sig.canonical, sig.canonicallen, &l2, &l2len);
	if (!bytes_eq(l1, l1len, l2, l2len))
		goto out; /* another set of headers: another canonical request */
	if (!bytes_eq(canon.p, canon.len, sig.canonical, sig.canonicallen))
		violated("sv4_sign and sv4_verify build different canonical requests from the same signed "
		         "headers");
	if (memcmp(sig.signature, request_sig, 65) != 0)
		violated("sv4_verify found valid a signature that sv4_sign does not make");
out:
	sb_free(&canon);
	sb_free(&payload);
}

/* ------------------------------------------------------------------------
 * A request signed here: the parsed request with sv4_sign()'s output
 * spliced in. */

struct spliced {
	struct sv4_request req;
	struct sv4_header *headers;
	size_t nheaders;
	char *auth; /* owned copies of what sv4_sign() returned */
	char *query;
	char *sha256;
	char date[17];
	char *sig; /* the signature's first digit in auth or query */
};

static void splice(struct spliced *sp, const struct sv4_request *r, const struct sv4_sign_params *p,
                   const struct sv4_signed *out)
{
	memset(sp, 0, sizeof(*sp));
	sp->req = *r;
	sp->headers = calloc(r->nheaders + 3, sizeof(*sp->headers));
	if (sp->headers == NULL)
		violated("harness out of memory");
	for (size_t i = 0; i < r->nheaders; i++)
		if (!sv4_header_is_replaced(r->headers[i].name, r->headers[i].namelen, p, out))
			sp->headers[sp->nheaders++] = r->headers[i];
	if (p->mode == SV4_MODE_QUERY) {
		if (out->query == NULL || out->querylen < 64 || out->authorization != NULL)
			violated("query mode without a query, or with an Authorization");
		sp->query = dup_bytes(out->query, out->querylen);
		sp->req.query = sp->query;
		sp->req.querylen = out->querylen;
		sp->sig = sp->query + out->querylen - 64;
	} else {
		if (out->authorization == NULL || out->authorizationlen < 64 || out->query != NULL)
			violated("header mode without an Authorization, or with a query");
		memcpy(sp->date, out->date, sizeof(sp->date));
		sp->auth = dup_bytes(out->authorization, out->authorizationlen);
		sp->headers[sp->nheaders++] = (struct sv4_header){"X-Amz-Date", 10, sp->date, 16};
		sp->headers[sp->nheaders++] =
		    (struct sv4_header){"Authorization", 13, sp->auth, out->authorizationlen};
		if (out->add_content_sha256) {
			sp->sha256 = dup_bytes(out->payload_hash, out->payload_hashlen);
			sp->headers[sp->nheaders++] =
			    (struct sv4_header){"X-Amz-Content-Sha256", 20, sp->sha256, out->payload_hashlen};
		}
		sp->sig = sp->auth + out->authorizationlen - 64;
	}
	if (memcmp(sp->sig, out->signature, 64) != 0)
		violated("the Authorization or the query does not end with the signature");
	sp->req.headers = sp->headers;
	sp->req.nheaders = sp->nheaders;
}

static void spliced_free(struct spliced *sp)
{
	free(sp->headers);
	free(sp->auth);
	free(sp->query);
	free(sp->sha256);
}

/* Counts the query's parameters (SV4_MAX_QUERY_PARAMS bounds them all,
 * X-Amz-Signature too), and notes a raw X-Amz-Algorithm parameter. */
struct query_scan {
	size_t params;
	int algorithm; /* a piece named X-Amz-Algorithm= as sent */
};

static int scan_query_piece(void *arg, const struct piece *pc)
{
	struct query_scan *qs = arg;
	if (pc->value != NULL && bytes_eq(pc->name, pc->namelen, "X-Amz-Algorithm", 15))
		qs->algorithm = 1;
	qs->params++;
	return 0;
}

/* The verdict the spliced request must get: valid, unless it is over one
 * of sigv4.h's limits or refused for a reason computed here. |*also| is set
 * to a second verdict sigv4.h allows as well (else to the first). */
static enum sv4_verdict expected_verdict(const struct spliced *sp, const struct sv4_sign_params *p,
                                         const struct sv4_signed *out, const char *given,
                                         enum sv4_verdict *also)
{
	*also = SV4_VALID;
	const struct sv4_request *r = &sp->req;
	size_t total = 0;
	int too_large = r->nheaders > SV4_MAX_HEADERS || r->querylen > SV4_MAX_QUERY;
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct sv4_header *h = &r->headers[i];
		if (h->namelen > SV4_MAX_HEADER_NAME || h->valuelen > SV4_MAX_HEADER_VALUE)
			too_large = 1;
		total += h->namelen + h->valuelen;
	}
	if (too_large || total > SV4_MAX_HEADER_BYTES)
		return SV4_V_TOO_LARGE;

	struct query_scan qs = {0, 0};
	each_piece(r->query, r->querylen, scan_query_piece, &qs);
	if (p->mode == SV4_MODE_HEADER && qs.algorithm)
		return SV4_V_MALFORMED; /* both an Authorization and a presigned query */

	/* The payload hash as the new request carries it, else as the
	 * verifier finds it. */
	char hex[65];
	const char *payload = NULL;
	size_t payloadlen = 0;
	if (sv4_sha256_hex(r->body ? (const void *)r->body : "", r->body ? r->bodylen : 0, hex) != 0)
		violated("sv4_sha256_hex failed");
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct sv4_header *h = &r->headers[i];
		if (!name_is(h->name, h->namelen, "x-amz-content-sha256"))
			continue;
		/* Both sv4_sign() and sv4_verify() read the value with the
		 * blanks around it trimmed. */
		const char *v = h->value;
		size_t vlen = h->valuelen;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (!payload_ok(v, vlen))
			return SV4_V_MALFORMED;
		/* A claimed SHA-256 must be the body's: the caller's hash of it
		 * when given, else the body's own. */
		const char *actual = given != NULL ? given : hex;
		if (vlen == 64 && (strlen(actual) != 64 || memcmp(actual, v, 64) != 0))
			return SV4_V_PAYLOAD_MISMATCH;
		payload = v;
		payloadlen = vlen;
	}
	/* sv4_sign() keeps at most SV4_MAX_QUERY_PARAMS of the request's own
	 * parameters and adds at most six: within what sv4_verify() reads. */
	(void)qs.params;
	if (payload == NULL) {
		payload = p->mode == SV4_MODE_QUERY && sv4_service_is_s3(p->service) ? SV4_UNSIGNED_PAYLOAD
		          : given != NULL                                            ? given
		                                                                     : hex;
		payloadlen = strlen(payload);
	}
	if (!bytes_eq(payload, payloadlen, out->payload_hash, out->payload_hashlen))
		return SV4_V_MISMATCH; /* the verifier signs another payload hash */
	return SV4_VALID;
}

static enum sv4_verdict verify_at(struct sv4_signer *signer, const struct sv4_request *r, const char *ak,
                                  const char *sk, int64_t now, uint32_t skew, const char *given,
                                  struct sv4_verified *out)
{
	struct sv4_verify_params vp = {ak, sk, now, skew, given};
	int rv = sv4_verify(signer, r, &vp, out);
	check_verdict(rv, out);
	if (rv != 0)
		violated("sv4_verify failed on a request it signed");
	if (out->verdict == SV4_VALID)
		check_valid(&vp, out);
	return out->verdict;
}

static void sign_and_verify(struct sv4_signer *signer, const struct sv4_request *r, uint8_t b0, uint8_t b1,
                            uint8_t b2)
{
	struct sv4_credentials creds = {access_key, secret_key, NULL};
	struct sv4_sign_params p = {&creds,
	                            regions[(b1 >> 4) & 3],
	                            services[(b1 >> 2) & 3],
	                            sign_times[(b2 >> 2) & 3],
	                            (b1 & 2) ? SV4_MODE_QUERY : SV4_MODE_HEADER,
	                            expiries[b2 & 3],
	                            NULL,
	                            (b1 & 0x40) ? SV4_F_ADD_CONTENT_SHA256 : 0u};
	struct sv4_signed out;
	struct sv4_verified v;
	struct spliced sp;
	uint32_t skew = skews[(b0 >> 3) & 7];
	int64_t t = p.time, s = skew ? skew : SV4_DEFAULT_MAX_SKEW;

	if (sv4_sign(signer, r, &p, &out) != 0)
		return; /* fuzz_sign checks the refusals */
	splice(&sp, r, &p, &out);
	const char *given = given_payloads[(b0 >> 6) & 3];
	enum sv4_verdict also;
	enum sv4_verdict want = expected_verdict(&sp, &p, &out, given, &also);
	enum sv4_verdict got = verify_at(signer, &sp.req, access_key, secret_key, t, skew, given, &v);
	if (got == also)
		want = also;
	if (got != want) {
		fprintf(stderr, "fuzz_verify: expected %s, got %s: %s\n", sv4_verdict_name(want),
		        sv4_verdict_name(got), v.detail);
		violated("a request signed by sv4_sign does not get the expected verdict");
	}
	if (want == SV4_VALID) {
		if (v.mode != p.mode || strcmp(v.region, p.region) != 0 ||
		    strcmp(v.service, p.service) != 0 || v.time != t ||
		    memcmp(v.signature, out.signature, 65) != 0 ||
		    (p.mode == SV4_MODE_QUERY && v.expires != p.expires))
			violated("a valid verdict does not report the scope, time and signature signed");

		/* The edges of time, both sides. */
		int64_t late = p.mode == SV4_MODE_QUERY ? t + p.expires : t + s;
		enum sv4_verdict after = p.mode == SV4_MODE_QUERY ? SV4_V_EXPIRED : SV4_V_SKEW;
		if (verify_at(signer, &sp.req, access_key, secret_key, t - s, skew, given, &v) != SV4_VALID ||
		    verify_at(signer, &sp.req, access_key, secret_key, late, skew, given, &v) != SV4_VALID)
			violated("a signature is not valid at the edge of the skew or expiry");
		if (verify_at(signer, &sp.req, access_key, secret_key, t - s - 1, skew, given, &v) !=
		    SV4_V_SKEW)
			violated("a signature from the future past the skew is not refused as skew");
		if (verify_at(signer, &sp.req, access_key, secret_key, late + 1, skew, given, &v) != after)
			violated("a signature past the skew or expiry is not refused as skew or expired");

		/* Someone else's key, or our key with another secret. */
		if (verify_at(signer, &sp.req, "AKIDOTHER", secret_key, t, skew, given, &v) !=
		    SV4_V_UNKNOWN_KEY)
			violated("a signature for another access key is not refused as unknown-key");
		if (verify_at(signer, &sp.req, access_key, other_secret_key, t, skew, given, &v) !=
		    SV4_V_MISMATCH)
			violated("a signature made with another secret is not refused as mismatch");
	}

	/* One digit of the signature changed: a mismatch whatever the time. */
	size_t at = (size_t)(b0 ^ b1 ^ b2) & 63;
	char was = sp.sig[at];
	sp.sig[at] = was == '0' ? '1' : '0';
	want = want == SV4_VALID ? SV4_V_MISMATCH : want;
	if (verify_at(signer, &sp.req, access_key, secret_key, t, skew, given, &v) != want ||
	    verify_at(signer, &sp.req, access_key, secret_key, t + s + SV4_MAX_EXPIRES + 1, skew, given,
	              &v) != want)
		violated("a changed signature is not refused as mismatch (or as before)");
	sp.sig[at] = was;
	spliced_free(&sp);
}

static struct sv4_signer *signer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sv4_reqfile rf;
	struct sv4_verified out, again;
	uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0, b2 = size > 2 ? data[2] : 0;
	size_t skip = size < 3 ? size : 3;

	if (signer == NULL && (signer = sv4_signer_new()) == NULL)
		violated("sv4_signer_new failed");
	if (sv4_reqfile_parse(&rf, (const char *)data + skip, size - skip, NULL) != 0)
		return 0;

	struct sv4_verify_params vp = {access_key, secret_key, nows[b0 & 7], skews[(b0 >> 3) & 7],
	                               given_payloads[(b0 >> 6) & 3]};
	int rv = sv4_verify(signer, &rf.req, &vp, &out);
	check_verdict(rv, &out);
	if (rv == 0 && out.verdict == SV4_VALID) {
		check_valid(&vp, &out);
		cross_check_sign(signer, &rf.req, &out);
	}
	/* The key cache and the signer's buffers must not change a verdict. */
	if (sv4_verify(signer, &rf.req, &vp, &again) != rv ||
	    (rv == 0 && (again.verdict != out.verdict || again.detail != out.detail)))
		violated("verifying the same request twice gave different verdicts");

	if (b1 & 1)
		sign_and_verify(signer, &rf.req, b0, b1, b2);
	sv4_reqfile_free(&rf);
	return 0;
}
