/* SPDX-License-Identifier: Apache-2.0 */
/* verify.c: strict parsing and constant-time checking of SigV4 signatures made by someone else. */
#include <string.h>

#include <openssl/crypto.h>

#include "sv4_int.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

/* The parts of a signature, as views into the request (the query's values
 * decoded into |buf|). */
struct sig_parts {
	const char *ak;
	size_t aklen;
	const char *scope_date; /* 8 bytes */
	const char *region;
	size_t regionlen;
	const char *service;
	size_t servicelen;
	const char *list; /* SignedHeaders */
	size_t listlen;
	const char *sig; /* 64 hex digits */
	const char *date; /* X-Amz-Date (query mode; header mode reads the header) */
	size_t datelen;
	const char *expires;
	size_t expireslen;
	char *buf; /* decoded query values: the signer's out buffer, querylen bytes */
	size_t cap;
	size_t used;
};

static int verdict(struct sv4_verified *out, enum sv4_verdict v, const char *detail)
{
	out->verdict = v;
	out->detail = detail;
	return 0;
}

const char *sv4_verdict_name(enum sv4_verdict v)
{
	switch (v) {
	case SV4_VALID: return "valid";
	case SV4_V_MALFORMED: return "malformed";
	case SV4_V_UNSIGNED: return "unsigned";
	case SV4_V_UNSUPPORTED: return "unsupported";
	case SV4_V_UNKNOWN_KEY: return "unknown-key";
	case SV4_V_SKEW: return "skew";
	case SV4_V_EXPIRED: return "expired";
	case SV4_V_MISMATCH: return "mismatch";
	case SV4_V_PAYLOAD_MISMATCH: return "payload-mismatch";
	case SV4_V_TOO_LARGE: return "too-large";
	case SV4_V_UNSIGNED_HEADER: return "unsigned-header";
	}
	return "unknown";
}

/* AK/YYYYMMDD/region/service/aws4_request */
static const char *parse_credential(struct sig_parts *sp, const char *p, size_t n)
{
	const char *end = p + n, *part[5];
	size_t len[5], k = 0;
	const char *s = p;
	for (const char *c = p; c <= end && k < 5; c++) {
		if (c == end || *c == '/') {
			part[k] = s;
			len[k++] = (size_t)(c - s);
			s = c + 1;
			if (c == end)
				break;
		}
	}
	if (k != 5 || s <= end)
		return "Credential must be ACCESS-KEY/YYYYMMDD/REGION/SERVICE/aws4_request";
	if (len[0] == 0 || len[0] > SV4_MAX_ACCESS_KEY)
		return "Credential has an empty or overlong access key";
	for (size_t i = 0; i < len[0]; i++)
		if ((unsigned char)part[0][i] <= 0x20 || (unsigned char)part[0][i] >= 0x7f)
			return "Credential's access key holds a space or control character";
	if (len[1] != 8)
		return "Credential's date must be YYYYMMDD";
	for (size_t i = 0; i < 8; i++)
		if (part[1][i] < '0' || part[1][i] > '9')
			return "Credential's date must be YYYYMMDD";
	if (!sv4_scope_part_ok(part[2], len[2]) || !sv4_scope_part_ok(part[3], len[3]))
		return "Credential's region and service must be 1-64 characters of a-z, 0-9 and '-'";
	if (len[4] != 12 || memcmp(part[4], "aws4_request", 12) != 0)
		return "Credential must end with aws4_request";
	sp->ak = part[0];
	sp->aklen = len[0];
	sp->scope_date = part[1];
	sp->region = part[2];
	sp->regionlen = len[2];
	sp->service = part[3];
	sp->servicelen = len[3];
	return NULL;
}

/* Lower-case tokens separated by ';', strictly ascending, with host. */
static const char *parse_signed_headers(const char *p, size_t n)
{
	const char *prev = NULL;
	size_t prevlen = 0;
	int host = 0;
	if (n == 0)
		return "SignedHeaders is empty";
	const char *s = p, *end = p + n;
	while (s <= end) {
		const char *e = memchr(s, ';', (size_t)(end - s));
		if (e == NULL)
			e = end;
		size_t len = (size_t)(e - s);
		if (len == 0)
			return "SignedHeaders has an empty name";
		for (size_t i = 0; i < len; i++)
			if (!sv4_is_tchar((unsigned char)s[i]) || (s[i] >= 'A' && s[i] <= 'Z'))
				return "SignedHeaders names must be lower-case HTTP tokens";
		if (prev != NULL) {
			size_t m = prevlen < len ? prevlen : len;
			int c = memcmp(prev, s, m);
			if (c > 0 || (c == 0 && prevlen >= len))
				return "SignedHeaders must be sorted, each name once";
		}
		if (len == 4 && memcmp(s, "host", 4) == 0)
			host = 1;
		prev = s;
		prevlen = len;
		s = e + 1;
	}
	return host ? NULL : "SignedHeaders must include host";
}

static const char *parse_signature(struct sig_parts *sp, const char *p, size_t n)
{
	if (n != 64 || !sv4_is_lower_hex(p, n))
		return "Signature must be 64 lower-case hex digits";
	sp->sig = p;
	return NULL;
}

/* "AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=.." */
static enum sv4_verdict parse_authorization(struct sig_parts *sp, const char *v, size_t n, const char **why)
{
	const char *end = v + n;
	const char *sp1 = memchr(v, ' ', n);
	size_t alglen = sp1 ? (size_t)(sp1 - v) : n;
	if (alglen != 16 || memcmp(v, ALGORITHM, 16) != 0) {
		*why = "only AWS4-HMAC-SHA256 is supported (not SigV4a or SigV2)";
		return (alglen > 5 && memcmp(v, "AWS4-", 5) == 0) || (alglen == 3 && memcmp(v, "AWS", 3) == 0)
		           ? SV4_V_UNSUPPORTED
		           : SV4_V_MALFORMED;
	}
	if (sp1 == NULL) {
		*why = "Authorization needs Credential, SignedHeaders and Signature";
		return SV4_V_MALFORMED;
	}
	int seen[3] = {0, 0, 0};
	const char *s = sp1 + 1;
	while (s < end) {
		while (s < end && *s == ' ')
			s++;
		if (s >= end)
			break;
		const char *e = memchr(s, ',', (size_t)(end - s));
		if (e == NULL)
			e = end;
		const char *t = e;
		while (t > s && t[-1] == ' ')
			t--;
		size_t len = (size_t)(t - s);
		const char *err;
		if (len > 11 && memcmp(s, "Credential=", 11) == 0 && !seen[0]++) {
			err = parse_credential(sp, s + 11, len - 11);
		} else if (len > 14 && memcmp(s, "SignedHeaders=", 14) == 0 && !seen[1]++) {
			sp->list = s + 14;
			sp->listlen = len - 14;
			err = parse_signed_headers(sp->list, sp->listlen);
		} else if (len > 10 && memcmp(s, "Signature=", 10) == 0 && !seen[2]++) {
			err = parse_signature(sp, s + 10, len - 10);
		} else {
			err = "Authorization holds something other than one Credential, SignedHeaders and Signature";
		}
		if (err != NULL) {
			*why = err;
			return SV4_V_MALFORMED;
		}
		s = e + 1;
	}
	if (!seen[0] || !seen[1] || !seen[2]) {
		*why = "Authorization needs Credential, SignedHeaders and Signature";
		return SV4_V_MALFORMED;
	}
	return SV4_VALID;
}

/* Finds the presign parameter |name| (exact) in the raw query and decodes
 * its value into sp->buf. Returns 1 found, 0 absent, -1 malformed. */
static int query_param(struct sig_parts *sp, const char *q, size_t qlen, const char *name, const char **val,
                       size_t *vallen)
{
	size_t nlen = strlen(name);
	int found = 0;
	size_t i = 0;
	while (i < qlen) {
		size_t s = i;
		while (i < qlen && q[i] != '&')
			i++;
		size_t e = i++;
		if (e - s <= nlen || memcmp(q + s, name, nlen) != 0 || q[s + nlen] != '=')
			continue;
		if (found++)
			return -1; /* twice */
		char *out = sp->buf + sp->used;
		size_t room = sp->cap - sp->used, n = 0;
		for (size_t j = s + nlen + 1; j < e; j++) {
			unsigned char c = (unsigned char)q[j];
			if (c == '%') {
				int hi, lo;
				if (j + 2 >= e || (hi = sv4_hexval((unsigned char)q[j + 1])) < 0 ||
				    (lo = sv4_hexval((unsigned char)q[j + 2])) < 0)
					return -1;
				c = (unsigned char)(hi << 4 | lo);
				j += 2;
			}
			if (n == room)
				return -1;
			out[n++] = (char)c;
		}
		sp->used += n;
		*val = out;
		*vallen = n;
	}
	return found;
}

static enum sv4_verdict parse_presign(struct sig_parts *sp, const struct sv4_request *r, const char **why)
{
	const char *v;
	size_t n;
	int rv = query_param(sp, r->query, r->querylen, "X-Amz-Algorithm", &v, &n);
	if (rv == 1 && (n != 16 || memcmp(v, ALGORITHM, 16) != 0)) {
		*why = "only AWS4-HMAC-SHA256 is supported (not SigV4a)";
		return SV4_V_UNSUPPORTED;
	}
	static const char *const names[] = {"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
	                                    "X-Amz-Signature"};
	const char *vals[5];
	size_t lens[5];
	for (size_t i = 0; i < 5; i++) {
		if (rv != 1 || (rv = query_param(sp, r->query, r->querylen, names[i], &vals[i], &lens[i])) != 1) {
			*why = "a presigned request needs each of X-Amz-Algorithm, -Credential, -Date, -Expires, "
			       "-SignedHeaders and -Signature exactly once";
			return SV4_V_MALFORMED;
		}
	}
	const char *err = parse_credential(sp, vals[0], lens[0]);
	if (err == NULL)
		err = parse_signed_headers(vals[3], lens[3]);
	if (err == NULL)
		err = parse_signature(sp, vals[4], lens[4]);
	if (err != NULL) {
		*why = err;
		return SV4_V_MALFORMED;
	}
	sp->date = vals[1];
	sp->datelen = lens[1];
	sp->expires = vals[2];
	sp->expireslen = lens[2];
	sp->list = vals[3];
	sp->listlen = lens[3];
	return SV4_VALID;
}

static int find_header(const struct sv4_request *r, const char *lname, size_t *idx)
{
	int n = 0;
	for (size_t i = 0; i < r->nheaders; i++)
		if (sv4_name_is(r->headers[i].name, r->headers[i].namelen, lname)) {
			*idx = i;
			n++;
		}
	return n;
}

int sv4_verify(struct sv4_signer *s, const struct sv4_request *r, const struct sv4_verify_params *vp,
               struct sv4_verified *out)
{
	struct sig_parts sp;
	const char *why = NULL;
	enum sv4_verdict v;
	size_t authidx = 0, hostidx, sha256idx;
	int rv;

	memset(out, 0, sizeof(*out));
	memset(&sp, 0, sizeof(sp));
	if (vp->access_key == NULL || vp->secret_key == NULL || *vp->access_key == '\0' ||
	    *vp->secret_key == '\0' || strlen(vp->secret_key) > SV4_MAX_SECRET)
		return SV4_ERR_BAD_CREDENTIALS;

	switch (sv4_check_request(r, &hostidx, &sha256idx)) {
	case 0:
		break;
	case SV4_ERR_TOO_LARGE:
		return verdict(out, SV4_V_TOO_LARGE, "the request is over a size limit");
	default:
		return verdict(out, SV4_V_MALFORMED, "the request is malformed (method, path, query or headers)");
	}

	/* Decoded presign values never outgrow the query they come from. */
	s->out.len = 0;
	if ((rv = sv4_buf_reserve(&s->out, r->querylen + 1)) != 0)
		return rv == SV4_ERR_TOO_LARGE ? verdict(out, SV4_V_TOO_LARGE, "the query is over a size limit") : rv;
	sp.buf = s->out.data;
	sp.cap = r->querylen + 1;

	/* Which kind of signature, if any. */
	int nauth = find_header(r, "authorization", &authidx);
	const char *alg;
	size_t alglen;
	int inquery = query_param(&sp, r->query, r->querylen, "X-Amz-Algorithm", &alg, &alglen);
	sp.used = 0;
	if (nauth > 1 || inquery < 0)
		return verdict(out, SV4_V_MALFORMED, "two Authorization headers or two X-Amz-Algorithm parameters");
	if (nauth == 1 && inquery == 1)
		return verdict(out, SV4_V_MALFORMED, "both an Authorization header and a presigned query");
	if (nauth == 0 && inquery == 0)
		return verdict(out, SV4_V_UNSIGNED, "no Authorization header and no X-Amz-Algorithm parameter");
	out->mode = nauth ? SV4_MODE_HEADER : SV4_MODE_QUERY;
	if (nauth)
		v = parse_authorization(&sp, r->headers[authidx].value, r->headers[authidx].valuelen, &why);
	else
		v = parse_presign(&sp, r, &why);
	if (v != SV4_VALID)
		return verdict(out, v, why);

	/* Time. */
	if (out->mode == SV4_MODE_HEADER) {
		size_t di;
		int nd = find_header(r, "x-amz-date", &di);
		if (nd != 1)
			return verdict(out, SV4_V_MALFORMED, "a signed request needs exactly one X-Amz-Date header");
		sp.date = r->headers[di].value;
		sp.datelen = r->headers[di].valuelen;
	}
	if (sv4_parse_time(sp.date, sp.datelen, &out->time) != 0)
		return verdict(out, SV4_V_MALFORMED, "X-Amz-Date must be YYYYMMDDTHHMMSSZ");
	memcpy(out->date, sp.date, 16);
	out->date[16] = '\0';
	if (memcmp(sp.scope_date, sp.date, 8) != 0)
		return verdict(out, SV4_V_MALFORMED, "the credential scope's date is not X-Amz-Date's day");
	memcpy(out->region, sp.region, sp.regionlen);
	out->region[sp.regionlen] = '\0';
	memcpy(out->service, sp.service, sp.servicelen);
	out->service[sp.servicelen] = '\0';
	memcpy(out->signature, sp.sig, 64);
	out->signature[64] = '\0';

	int64_t skew = vp->max_skew ? vp->max_skew : SV4_DEFAULT_MAX_SKEW;
	if (out->mode == SV4_MODE_QUERY) {
		uint32_t e = 0;
		if (sp.expireslen == 0 || sp.expireslen > 6)
			return verdict(out, SV4_V_MALFORMED, "X-Amz-Expires must be 1 to 604800 seconds");
		for (size_t i = 0; i < sp.expireslen; i++) {
			if (sp.expires[i] < '0' || sp.expires[i] > '9')
				return verdict(out, SV4_V_MALFORMED, "X-Amz-Expires must be 1 to 604800 seconds");
			e = e * 10 + (uint32_t)(sp.expires[i] - '0');
		}
		if (e < 1 || e > SV4_MAX_EXPIRES)
			return verdict(out, SV4_V_MALFORMED, "X-Amz-Expires must be 1 to 604800 seconds");
		out->expires = e;
	}

	/* The key. */
	size_t aklen = strlen(vp->access_key);
	if (sp.aklen != aklen || memcmp(sp.ak, vp->access_key, aklen) != 0)
		return verdict(out, SV4_V_UNKNOWN_KEY, "signed with an access key that is not ours");

	/* The headers the request says it signed, as they are in it. */
	size_t nh = 0;
	int date_signed = 0;
	const char *name = sp.list, *end = sp.list + sp.listlen;
	while (name < end) {
		const char *e = memchr(name, ';', (size_t)(end - name));
		if (e == NULL)
			e = end;
		size_t len = (size_t)(e - name);
		int found = 0;
		for (size_t i = 0; i < r->nheaders; i++) {
			const struct sv4_header *h = &r->headers[i];
			if (h->namelen != len)
				continue;
			size_t j = 0;
			while (j < len && sv4_lower((unsigned char)h->name[j]) == (unsigned char)name[j])
				j++;
			if (j != len)
				continue;
			if (nh == SV4_MAX_HEADERS)
				return verdict(out, SV4_V_TOO_LARGE, "too many signed headers");
			s->hd[nh++] = sv4_hdr_make(name, len, h->value, h->valuelen, sv4_name_key(name, len), i, 0);
			found = 1;
		}
		if (!found)
			return verdict(out, SV4_V_MALFORMED, "a header named in SignedHeaders is not in the request");
		if (len == 10 && memcmp(name, "x-amz-date", 10) == 0)
			date_signed = 1;
		name = e + 1;
	}
	if (out->mode == SV4_MODE_HEADER && !date_signed)
		return verdict(out, SV4_V_MALFORMED, "X-Amz-Date must be among the signed headers");
	/* As S3 does (HeadersNotSigned): every x-amz-* header sent is signed,
	 * or a client could add x-amz-acl or x-amz-copy-source to a request
	 * it never signed. The session token alone may ride unsigned (the
	 * AWS suite's post-sts-header-after). */
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct sv4_header *h = &r->headers[i];
		if (h->namelen < 6 || !sv4_name_is(h->name, 6, "x-amz-") ||
		    sv4_name_is(h->name, h->namelen, "x-amz-security-token"))
			continue;
		int listed = 0;
		for (size_t k = 0; k < nh && !listed; k++)
			listed = s->hd[k].order == i;
		if (!listed)
			return verdict(out, SV4_V_UNSIGNED_HEADER, "an x-amz-* header is not among the signed headers");
	}

	/* The payload hash. */
	int s3 = sv4_service_is_s3(out->service);
	const char *payload;
	size_t payloadlen;
	char body_hash[65];
	if (sha256idx != SIZE_MAX) {
		/* Blanks around the value trimmed, as signing does. */
		payload = r->headers[sha256idx].value;
		payloadlen = r->headers[sha256idx].valuelen;
		sv4_trim_blanks(&payload, &payloadlen);
		if (sv4_check_payload(payload, payloadlen) != 0)
			return verdict(out, SV4_V_MALFORMED, "x-amz-content-sha256 is neither a SHA-256 nor a keyword");
		/* A claimed SHA-256 must be the body's: the caller's hash of it,
		 * else the body's own when it is at hand. */
		const char *actual = vp->payload_hash;
		if (payloadlen == 64 && actual == NULL && r->body != NULL) {
			if ((rv = sv4_signer_sha256_hex(s, r->body, r->bodylen, body_hash)) != 0)
				return rv;
			actual = body_hash;
		}
		if (payloadlen == 64 && actual != NULL && (strlen(actual) != 64 || memcmp(actual, payload, 64) != 0))
			return verdict(out, SV4_V_PAYLOAD_MISMATCH, "x-amz-content-sha256 is not the SHA-256 of the body");
	} else if (out->mode == SV4_MODE_QUERY && s3) {
		payload = SV4_UNSIGNED_PAYLOAD;
		payloadlen = sizeof(SV4_UNSIGNED_PAYLOAD) - 1;
	} else if (vp->payload_hash != NULL) {
		payload = vp->payload_hash;
		payloadlen = strlen(payload);
	} else {
		if ((rv = sv4_signer_sha256_hex(s, r->body ? (const void *)r->body : "", r->body ? r->bodylen : 0,
		                                 body_hash)) != 0)
			return rv;
		payload = s->payload;
		memcpy(s->payload, body_hash, 65);
		payloadlen = 64;
	}
	out->payload_hash = payload;
	out->payload_hashlen = payloadlen;

	/* Recompute. */
	s->scratch.len = 0;
	if ((rv = sv4_buf_reserve(&s->scratch, 3 * r->querylen + 16)) != 0)
		return rv == SV4_ERR_TOO_LARGE ? verdict(out, SV4_V_TOO_LARGE, "the query is over a size limit") : rv;
	size_t nq = 0;
	/* A presigned query holds the request's own parameters and ours. */
	rv = sv4_collect_query(s, r, out->mode == SV4_MODE_QUERY ? 2 : 0,
	                       SV4_MAX_QUERY_PARAMS + (out->mode == SV4_MODE_QUERY ? 6 : 0), &nq);
	if (rv == SV4_ERR_TOO_LARGE)
		return verdict(out, SV4_V_TOO_LARGE, "too many query parameters");
	if (rv != 0)
		return verdict(out, SV4_V_MALFORMED, "the query has a broken %-escape");
	sv4_hdrs_sort(s->hd, nh);
	struct sv4_scope sc;
	sv4_scope_init(&sc, vp->secret_key, out->region, out->service);
	char sig[65];
	rv = sv4_emit_canonical(s, r, s3, !s3, nh, nq, sp.list, sp.listlen, payload, payloadlen);
	if (rv == 0)
		rv = sv4_emit_signature(s, out->date, &sc, sig, NULL);
	if (rv == SV4_ERR_TOO_LARGE)
		return verdict(out, SV4_V_TOO_LARGE, "the request is over a size limit");
	if (rv == SV4_ERR_BAD_PATH)
		return verdict(out, SV4_V_MALFORMED, "the path is malformed");
	if (rv != 0)
		return rv;
	out->canonical = s->canon.data;
	out->canonicallen = s->canon.len;
	out->string_to_sign = s->sts.data;
	out->string_to_signlen = s->sts.len;
	if (CRYPTO_memcmp(sig, sp.sig, 64) != 0)
		return verdict(out, SV4_V_MISMATCH, "the signature does not match the request");

	/* Only a signature that holds says anything about time. */
	/* Written so that no sum can overflow, whatever |now| is. */
	if (out->mode == SV4_MODE_HEADER && (out->time - skew > vp->now || out->time + skew < vp->now))
		return verdict(out, SV4_V_SKEW, "X-Amz-Date is too far from now");
	if (out->mode == SV4_MODE_QUERY && out->time - skew > vp->now)
		return verdict(out, SV4_V_SKEW, "X-Amz-Date is in the future");
	if (out->mode == SV4_MODE_QUERY && vp->now > out->time + out->expires)
		return verdict(out, SV4_V_EXPIRED, "the presigned request has expired");
	return verdict(out, SV4_VALID, "the signature holds");
}
