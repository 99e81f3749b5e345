/* SPDX-License-Identifier: Apache-2.0 */
/* resign.c: the user's credential scope and payload mode, request hygiene, and the SigV4 re-signing with the role's credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proxy/pipeline.h"

#define QUOTE_MAX 80

static char lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* |s| (|n| bytes) is the lower-case |lit| (|l| bytes) in any case. */
static int eq_ci_n(const char *s, size_t n, const char *lit, size_t l)
{
	if (n != l)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lc(s[i]) != lit[i])
			return 0;
	return 1;
}

/* With a string literal |lit|: its length is known without strlen(). */
#define EQ_CI(s, n, lit) eq_ci_n((s), (n), (lit), sizeof(lit) - 1)
#define PREFIX_CI(s, n, lit) ((n) >= sizeof(lit) - 1 && eq_ci_n((s), sizeof(lit) - 1, (lit), sizeof(lit) - 1))

const char *px_sigkind_name(enum px_sigkind k)
{
	switch (k) {
	case PX_SIG_HEADER: return "header";
	case PX_SIG_PRESIGNED: return "presigned";
	case PX_SIG_UNSIGNED: return "unsigned";
	}
	return "unsigned";
}

const char *px_payload_name(enum px_payload p)
{
	switch (p) {
	case PX_PAYLOAD_NONE: return "none";
	case PX_PAYLOAD_STREAM: return "stream";
	case PX_PAYLOAD_UNSIGNED_TRAILER: return "unsigned-trailer";
	case PX_PAYLOAD_CHUNKED: return "chunked";
	case PX_PAYLOAD_BUFFER: return "buffer";
	}
	return "none";
}

/* --- scope ---------------------------------------------------------------- */

static int scope_char_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

/* Parses "AKID/YYYYMMDD/region/service/aws4_request" (|n| bytes, already
 * decoded) into |sc|'s region and service. */
static int parse_credential(const char *c, size_t n, struct px_scope *sc)
{
	const char *part[5];
	size_t len[5], k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && c[i] != '/')
			continue;
		if (k == 5)
			return -1;
		part[k] = c + start;
		len[k++] = i - start;
		start = i + 1;
	}
	if (k != 5 || len[0] == 0 || len[0] > SV4_MAX_ACCESS_KEY || len[1] != 8)
		return -1;
	for (size_t i = 0; i < 8; i++)
		if (part[1][i] < '0' || part[1][i] > '9')
			return -1;
	if (!scope_char_ok(part[2], len[2], FED_MAX_REGION) || !scope_char_ok(part[3], len[3], SV4_MAX_SCOPE_PART))
		return -1;
	if (len[4] != 12 || memcmp(part[4], "aws4_request", 12) != 0)
		return -1;
	memcpy(sc->region, part[2], len[2]);
	sc->region[len[2]] = '\0';
	memcpy(sc->service, part[3], len[3]);
	sc->service[len[3]] = '\0';
	return 0;
}

static int is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* SignedHeaders: lower-case tokens joined by ';', host among them. */
static int signed_headers_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	int host = 0;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ';') {
			char c = s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
				return 0;
			continue;
		}
		if (i == start)
			return 0;
		if (i - start == 4 && memcmp(s + start, "host", 4) == 0)
			host = 1;
		start = i + 1;
	}
	return host;
}

static int parse_authorization(const char *v, size_t n, struct px_scope *sc, struct px_refusal *why)
{
	static const char alg[] = "AWS4-HMAC-SHA256 ";
	if (n < sizeof(alg) - 1 || memcmp(v, alg, sizeof(alg) - 1) != 0) {
		char q[QUOTE_MAX + 8];
		px_quote(q, sizeof(q), v, n, 40);
		if (PREFIX_CI(v, n, "aws4-ecdsa-p256-sha256") || PREFIX_CI(v, n, "aws ") ||
		    PREFIX_CI(v, n, "aws4-hmac-sha256"))
			return px_refuse(why, PX_R_SIGNATURE_UNSUPPORTED,
			                 "the request is signed with \"%s\", which the gate does not re-sign: use SigV4 "
			                 "(AWS4-HMAC-SHA256) in the SDK (SigV4a and SigV2 are not supported)",
			                 q);
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
		                 "Authorization \"%s\" is not an AWS SigV4 signature: let the AWS SDK sign the request", q);
	}
	size_t i = sizeof(alg) - 1;
	int have_cred = 0, have_sh = 0, have_sig = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == ','))
			i++;
		if (i == n)
			break;
		size_t e = i;
		while (e < n && v[e] != ',')
			e++;
		size_t end = e;
		while (end > i && v[end - 1] == ' ')
			end--;
		const char *c = v + i;
		size_t cl = end - i;
		if (cl > 11 && memcmp(c, "Credential=", 11) == 0 && !have_cred) {
			if (parse_credential(c + 11, cl - 11, sc) != 0)
				goto malformed;
			have_cred = 1;
		} else if (cl > 14 && memcmp(c, "SignedHeaders=", 14) == 0 && !have_sh) {
			if (!signed_headers_ok(c + 14, cl - 14))
				goto malformed;
			have_sh = 1;
		} else if (cl > 10 && memcmp(c, "Signature=", 10) == 0 && !have_sig) {
			if (!is_hex64(c + 10, cl - 10))
				goto malformed;
			have_sig = 1;
		} else {
			goto malformed;
		}
		i = e;
	}
	if (have_cred && have_sh && have_sig)
		return 0;
malformed:
	return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
	                 "the Authorization header is not a well-formed SigV4 signature (each of Credential, "
	                 "SignedHeaders with host, and a 64-digit Signature exactly once): let the AWS SDK sign "
	                 "the request");
}

/* Percent-decodes |n| bytes of |s| into |dst| of |size|; -1 on a bad
 * escape or no room. '+' stays '+'. */
static int pct_decode(const char *s, size_t n, char *dst, size_t size, size_t *outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = -1, lo = -1;
			char a = lc(s[i + 1]), b = lc(s[i + 2]);
			hi = (a >= '0' && a <= '9') ? a - '0' : (a >= 'a' && a <= 'f') ? a - 'a' + 10 : -1;
			lo = (b >= '0' && b <= '9') ? b - '0' : (b >= 'a' && b <= 'f') ? b - 'a' + 10 : -1;
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= size)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	*outlen = o;
	return 0;
}

/* The presigning parameters, by their exact names (AWS's are case-sensitive). */
enum { P_ALG, P_CRED, P_DATE, P_EXPIRES, P_SH, P_SIG, P_TOKEN, P_N };
static const char *const pnames[P_N] = {
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
};

static int parse_presigned(const char *q, size_t n, int64_t now, struct px_scope *sc, struct px_refusal *why)
{
	const char *val[P_N] = {0};
	size_t vlen[P_N] = {0};
	struct px_qpair p;
	for (size_t at = 0; px_qpair_next(q, n, &at, &p);) {
		for (int k = 0; k < P_N; k++) {
			if (px_qpair_is(&p, pnames[k], strlen(pnames[k]))) {
				if (val[k] != NULL)
					return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
					                 "the query has %s twice: presign the URL again with the AWS SDK",
					                 pnames[k]);
				val[k] = p.value;
				vlen[k] = p.valuelen;
			}
		}
	}
	for (int k = 0; k < P_TOKEN; k++)
		if (val[k] == NULL)
			return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
			                 "the presigned URL has no %s: presign it again with the AWS SDK", pnames[k]);
	char buf[SV4_MAX_ACCESS_KEY + 128];
	size_t bl = 0;
	if (pct_decode(val[P_ALG], vlen[P_ALG], buf, sizeof(buf), &bl) != 0 || strcmp(buf, "AWS4-HMAC-SHA256") != 0) {
		char qq[QUOTE_MAX + 8];
		px_quote(qq, sizeof(qq), val[P_ALG], vlen[P_ALG], 40);
		return px_refuse(why, PX_R_SIGNATURE_UNSUPPORTED,
		                 "the URL is presigned with X-Amz-Algorithm \"%s\", which the gate does not re-sign: "
		                 "presign with SigV4 (AWS4-HMAC-SHA256)",
		                 qq);
	}
	if (pct_decode(val[P_CRED], vlen[P_CRED], buf, sizeof(buf), &bl) != 0 || parse_credential(buf, bl, sc) != 0)
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
		                 "X-Amz-Credential is not AKID/YYYYMMDD/region/service/aws4_request: presign the URL "
		                 "again with the AWS SDK");
	if (pct_decode(val[P_DATE], vlen[P_DATE], buf, sizeof(buf), &bl) != 0 ||
	    sv4_parse_time(buf, bl, &sc->signed_at) != 0)
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED, "X-Amz-Date is not YYYYMMDDTHHMMSSZ");
	uint64_t ex = 0;
	if (vlen[P_EXPIRES] == 0 || vlen[P_EXPIRES] > 7)
		ex = 0;
	else
		for (size_t k = 0; k < vlen[P_EXPIRES]; k++) {
			char c = val[P_EXPIRES][k];
			if (c < '0' || c > '9') {
				ex = 0;
				break;
			}
			ex = ex * 10 + (uint64_t)(c - '0');
		}
	if (ex < 1 || ex > SV4_MAX_EXPIRES)
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
		                 "X-Amz-Expires is not a number of seconds from 1 to %d", SV4_MAX_EXPIRES);
	if (pct_decode(val[P_SH], vlen[P_SH], buf, sizeof(buf), &bl) != 0 || !signed_headers_ok(buf, bl))
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED, "X-Amz-SignedHeaders is malformed or does not name host");
	if (!is_hex64(val[P_SIG], vlen[P_SIG]))
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED, "X-Amz-Signature is not 64 lower-case hex digits");
	sc->expires = (uint32_t)ex;
	if (sc->signed_at + (int64_t)ex < now)
		return px_refuse(why, PX_R_PRESIGN_EXPIRED,
		                 "the presigned URL expired %lld seconds ago: presign it again",
		                 (long long)(now - sc->signed_at - (int64_t)ex));
	return 0;
}

/* The signing name of an endpoint label, where they differ. */
static const char *signing_name(const struct fed_host_info *info)
{
	if (info->s3_virtual_host)
		return "s3";
	if (strcmp(info->service, "email") == 0)
		return "ses";
	return info->service;
}

static int query_has_auth(const char *q, size_t n)
{
	struct px_qpair p;
	for (size_t at = 0; px_qpair_next(q, n, &at, &p);)
		for (int k = 0; k < P_N; k++)
			if (k != P_TOKEN && px_qpair_is(&p, pnames[k], strlen(pnames[k])))
				return 1;
	return 0;
}

/* SigV2 query authentication: AWSAccessKeyId and Signature parameters. */
static int query_has_v2(const char *q, size_t n)
{
	return px_query_has_param(q, n, "AWSAccessKeyId", 14) || px_query_has_param(q, n, "Signature", 9);
}

static int set_payload_from_hash(struct px_scope *sc, const char *v, size_t n, struct px_refusal *why)
{
	enum sv4_chunked_kind k = sv4_chunked_kind(v, n);
	if (is_hex64(v, n) || (n == 16 && memcmp(v, SV4_UNSIGNED_PAYLOAD, 16) == 0)) {
		sc->payload = PX_PAYLOAD_STREAM;
	} else if (k == SV4_CHUNKED_UNSIGNED_TRAILER) {
		sc->payload = PX_PAYLOAD_UNSIGNED_TRAILER;
	} else if (k == SV4_CHUNKED_SIGNED || k == SV4_CHUNKED_SIGNED_TRAILER) {
		sc->payload = PX_PAYLOAD_CHUNKED;
	} else {
		char q[QUOTE_MAX + 8];
		px_quote(q, sizeof(q), v, n, 64);
		if (PREFIX_CI(v, n, "streaming-"))
			return px_refuse(why, PX_R_SIGNATURE_UNSUPPORTED,
			                 "X-Amz-Content-Sha256 \"%s\" is a payload kind the gate does not re-sign", q);
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
		                 "X-Amz-Content-Sha256 \"%s\" is neither 64 lower-case hex digits nor a payload keyword", q);
	}
	sc->chunked = k;
	memcpy(sc->payload_hash, v, n);
	sc->payload_hash[n] = '\0';
	return 0;
}

int px_scope_parse(const struct sv4_request *req, const struct px_target *t, int64_t content_length, int64_t now,
                   struct px_scope *out, struct px_refusal *why)
{
	struct px_scope sc;
	memset(&sc, 0, sizeof(sc));
	const struct sv4_header *auth = NULL, *sha = NULL;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sv4_header *h = &req->headers[i];
		if (EQ_CI(h->name, h->namelen, "authorization")) {
			if (auth != NULL)
				return px_refuse(why, PX_R_SIGNATURE_MALFORMED, "the request has two Authorization headers");
			auth = h;
		} else if (EQ_CI(h->name, h->namelen, "x-amz-content-sha256")) {
			if (sha != NULL)
				return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
				                 "the request has two X-Amz-Content-Sha256 headers");
			sha = h;
		}
	}
	int presigned = req->query != NULL && query_has_auth(req->query, req->querylen);
	if (req->query != NULL && query_has_v2(req->query, req->querylen))
		return px_refuse(why, PX_R_SIGNATURE_UNSUPPORTED,
		                 "the URL is presigned with SigV2 (AWSAccessKeyId, Signature), which the gate does not "
		                 "re-sign: presign with SigV4 (signature_version s3v4)");
	int rv;
	if (auth != NULL && presigned)
		return px_refuse(why, PX_R_SIGNATURE_MALFORMED,
		                 "the request is signed twice, in Authorization and in the query: send one signature");
	bool s3;
	if (auth != NULL) {
		sc.kind = PX_SIG_HEADER;
		if ((rv = parse_authorization(auth->value, auth->valuelen, &sc, why)) != 0)
			return rv;
	} else if (presigned) {
		sc.kind = PX_SIG_PRESIGNED;
		if ((rv = parse_presigned(req->query, req->querylen, now, &sc, why)) != 0)
			return rv;
	} else {
		sc.kind = PX_SIG_UNSIGNED;
		if (t->info.kind != FED_HOST_SERVICE || t->info.service[0] == '\0' || t->info.partition == NULL)
			return px_refuse(why, PX_R_SCOPE_UNKNOWN,
			                 "the request is not signed and %s names no AWS service: sign it with the AWS "
			                 "SDK so the gate knows the service and region",
			                 t->host);
		const char *svc = signing_name(&t->info);
		const char *region = t->info.region[0] ? t->info.region : t->info.partition->global_region;
		if (strlen(svc) > SV4_MAX_SCOPE_PART || region == NULL || strlen(region) > FED_MAX_REGION)
			return px_refuse(why, PX_R_SCOPE_UNKNOWN, "the endpoint %s has no usable signing scope", t->host);
		memcpy(sc.service, svc, strlen(svc) + 1);
		memcpy(sc.region, region, strlen(region) + 1);
	}
	s3 = sv4_service_is_s3(sc.service);
	if (sc.kind == PX_SIG_HEADER && sha != NULL) {
		if ((rv = set_payload_from_hash(&sc, sha->value, sha->valuelen, why)) != 0)
			return rv;
	} else if (content_length == 0) {
		sc.payload = PX_PAYLOAD_NONE;
	} else if (s3 && sc.kind != PX_SIG_HEADER) {
		/* S3 accepts UNSIGNED-PAYLOAD for presigned and unsigned requests */
		sc.payload = PX_PAYLOAD_STREAM;
		memcpy(sc.payload_hash, SV4_UNSIGNED_PAYLOAD, sizeof(SV4_UNSIGNED_PAYLOAD));
	} else {
		sc.payload = PX_PAYLOAD_BUFFER;
	}
	*out = sc;
	return 0;
}

/* --- hygiene and signing ---------------------------------------------------- */

int px_header_is_dropped(const char *n, size_t len)
{
	if (len == 0 || n[0] == ':')
		return 1;
#define DROP(lit) {lit, sizeof(lit) - 1}
	static const struct {
		const char *name;
		size_t len;
	} exact[] = {
		DROP("host"), DROP("authorization"), DROP("x-amz-date"), DROP("x-amz-security-token"), DROP("expect"),
		DROP("connection"), DROP("keep-alive"), DROP("te"), DROP("trailer"), DROP("transfer-encoding"),
		DROP("upgrade"), DROP("forwarded"),
	};
#undef DROP
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (eq_ci_n(n, len, exact[i].name, exact[i].len))
			return 1;
	return PREFIX_CI(n, len, "proxy-") || PREFIX_CI(n, len, "x-forwarded-") || PREFIX_CI(n, len, "x-awsgate-");
}

/* True when a Connection header of |req| names |n|. */
static int named_by_connection(const struct sv4_request *req, const char *n, size_t len)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sv4_header *h = &req->headers[i];
		if (!EQ_CI(h->name, h->namelen, "connection"))
			continue;
		size_t j = 0;
		while (j < h->valuelen) {
			while (j < h->valuelen && (h->value[j] == ' ' || h->value[j] == '\t' || h->value[j] == ','))
				j++;
			size_t s = j;
			while (j < h->valuelen && h->value[j] != ',' && h->value[j] != ' ' && h->value[j] != '\t')
				j++;
			if (j > s && j - s == len) {
				size_t k = 0;
				while (k < len && lc(h->value[s + k]) == lc(n[k]))
					k++;
				if (k == len)
					return 1;
			}
		}
	}
	return 0;
}

void px_outreq_free(struct px_outreq *o)
{
	if (o == NULL || o->mem == NULL)
		return;
	/* |mem| holds a copy of the session token */
	OPENSSL_clear_free(o->mem, o->memlen);
	o->mem = NULL;
	o->memlen = 0;
	o->nheaders = 0;
}

static struct sv4_header hv(const char *name, const char *value, size_t valuelen)
{
	struct sv4_header h = {name, strlen(name), value, valuelen};
	return h;
}

int px_resign(struct sv4_signer *signer, const struct sv4_request *req, const struct px_target *t,
              const struct px_scope *sc, const struct px_resign_params *p, struct px_outreq *out,
              struct px_refusal *why)
{
	const struct fed_creds *c = p->creds;
	if (c == NULL || c->access_key_id == NULL || c->secret_access_key == NULL)
		return px_refuse(why, PX_R_INTERNAL, "the gate has no credentials to sign with");
	if (req->nheaders > SV4_MAX_HEADERS)
		return px_refuse(why, PX_R_REQUEST_MALFORMED, "the request has more than %d headers", SV4_MAX_HEADERS);

	/* Everything but the signature: |o.headers| first holds what is signed.
	 * Not zeroed, nor copied out whole: the 134 header slots are 4 KiB,
	 * and only the first |o->nheaders| are ever read. */
	struct px_outreq *o = malloc(sizeof(*o));
	if (o == NULL)
		return PX_ERR_NOMEM;
	o->nheaders = 0;
	o->query = NULL;
	o->querylen = 0;
	o->dropped = 0;
	o->mem = NULL;
	o->memlen = 0;
	char cl[24];
	size_t n = 0;
	o->headers[n++] = hv("host", t->host, t->hostlen);
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sv4_header *h = &req->headers[i];
		bool drop = px_header_is_dropped(h->name, h->namelen) || named_by_connection(req, h->name, h->namelen) ||
		            (sc->kind != PX_SIG_PRESIGNED && EQ_CI(h->name, h->namelen, "x-amz-content-sha256")) ||
		            (p->content_length >= 0 && EQ_CI(h->name, h->namelen, "content-length"));
		if (drop) {
			o->dropped++;
			continue;
		}
		o->headers[n++] = *h;
	}
	if (p->content_length >= 0) {
		int l = snprintf(cl, sizeof(cl), "%lld", (long long)p->content_length);
		o->headers[n++] = hv("content-length", cl, (size_t)l);
	}

	struct sv4_credentials cr = {c->access_key_id, c->secret_access_key, c->session_token};
	struct sv4_sign_params sp;
	memset(&sp, 0, sizeof(sp));
	sp.creds = &cr;
	sp.region = sc->region;
	sp.service = sc->service;
	sp.time = p->now;
	sp.mode = sc->kind == PX_SIG_PRESIGNED ? SV4_MODE_QUERY : SV4_MODE_HEADER;
	bool had_sha = false;
	for (size_t i = 0; i < req->nheaders; i++)
		if (EQ_CI(req->headers[i].name, req->headers[i].namelen, "x-amz-content-sha256"))
			had_sha = true;
	if (sp.mode == SV4_MODE_HEADER && had_sha)
		sp.flags |= SV4_F_ADD_CONTENT_SHA256;
	switch (sc->payload) {
	case PX_PAYLOAD_NONE:
		/* presigned: the signer's rule (UNSIGNED-PAYLOAD for S3, else the empty hash) */
		sp.payload_hash = sp.mode == SV4_MODE_QUERY ? NULL : SV4_EMPTY_SHA256;
		break;
	case PX_PAYLOAD_STREAM:
	case PX_PAYLOAD_UNSIGNED_TRAILER:
	case PX_PAYLOAD_CHUNKED:
		sp.payload_hash = sc->payload_hash;
		break;
	case PX_PAYLOAD_BUFFER:
		if (p->payload_hash == NULL || !is_hex64(p->payload_hash, strlen(p->payload_hash))) {
			free(o);
			return px_refuse(why, PX_R_INTERNAL, "the body's hash is missing for a buffered body");
		}
		sp.payload_hash = p->payload_hash;
		break;
	}
	if (sp.mode == SV4_MODE_QUERY) {
		int64_t left = p->session_end - p->now;
		if (c->expiration != 0 && c->expiration - p->now < left)
			left = c->expiration - p->now;
		if (left < 1) {
			free(o);
			return px_refuse(why, PX_R_SESSION_TOO_SHORT,
			                 "no time is left of your session for a presigned request: log in again");
		}
		sp.expires = (int64_t)sc->expires < left ? sc->expires : (uint32_t)left;
	}
	struct sv4_request r = *req;
	r.headers = o->headers;
	r.nheaders = n;
	r.body = NULL;
	r.bodylen = 0;
	if (p->replace_query) {
		r.query = p->query;
		r.querylen = p->querylen;
	}
	struct sv4_signed sg;
	int rv = sv4_sign(signer, &r, &sp, &sg);
	if (rv != 0) {
		free(o);
		if (rv == SV4_ERR_NOMEM)
			return PX_ERR_NOMEM;
		if (rv == SV4_ERR_BAD_CREDENTIALS || rv == SV4_ERR_BAD_SCOPE || rv == SV4_ERR_CRYPTO ||
		    rv == SV4_ERR_BAD_TIME || rv == SV4_ERR_BAD_EXPIRES)
			return px_refuse(why, PX_R_INTERNAL, "signing failed: %s", sv4_strerror(rv));
		return px_refuse(why, PX_R_REQUEST_MALFORMED, "the request cannot be signed: %s", sv4_strerror(rv));
	}

	/* One allocation for what the views need beyond the request and |t|. */
	size_t toklen = c->session_token ? strlen(c->session_token) : 0;
	size_t need = sizeof(cl) + 17 + sg.payload_hashlen + 1 + sg.authorizationlen + 1 + toklen + 1 +
	              (sp.mode == SV4_MODE_QUERY ? sg.querylen : 0) + 1;
	o->mem = malloc(need);
	if (o->mem == NULL) {
		free(o);
		return PX_ERR_NOMEM;
	}
	o->memlen = need;
	char *m = o->mem;
#define COPY(dst, src, len)                                                                                        \
	do {                                                                                                       \
		memcpy(m, (src), (len));                                                                           \
		m[(len)] = '\0';                                                                                   \
		(dst) = m;                                                                                         \
		m += (len) + 1;                                                                                    \
	} while (0)
	if (p->content_length >= 0) {
		const char *v;
		COPY(v, cl, o->headers[n - 1].valuelen);
		o->headers[n - 1].value = v;
	}
	memcpy(o->date, sg.date, sizeof(o->date));
	memcpy(o->seed, sg.signature, sizeof(o->seed));
	o->query = req->query;
	o->querylen = req->querylen;
	if (p->replace_query) {
		o->query = p->query;
		o->querylen = p->querylen;
	}
	if (sp.mode == SV4_MODE_HEADER) {
		const char *d;
		COPY(d, o->date, 16);
		o->headers[n++] = hv("x-amz-date", d, 16);
		if (sg.add_session_token) {
			const char *v;
			COPY(v, c->session_token, toklen);
			o->headers[n++] = hv("x-amz-security-token", v, toklen);
		}
		if (sg.add_content_sha256) {
			const char *v;
			COPY(v, sg.payload_hash, sg.payload_hashlen);
			o->headers[n++] = hv("x-amz-content-sha256", v, sg.payload_hashlen);
		}
		const char *v;
		COPY(v, sg.authorization, sg.authorizationlen);
		o->headers[n++] = hv("authorization", v, sg.authorizationlen);
	} else {
		const char *v;
		COPY(v, sg.query, sg.querylen);
		o->query = v;
		o->querylen = sg.querylen;
	}
#undef COPY
	o->nheaders = n;
	/* The slots in use, then every member after the array (all set). */
	_Static_assert(offsetof(struct px_outreq, headers) == 0, "px_outreq: headers must come first");
	memcpy(out->headers, o->headers, n * sizeof(o->headers[0]));
	memcpy(&out->nheaders, &o->nheaders, sizeof(*o) - offsetof(struct px_outreq, nheaders));
	free(o);
	return 0;
}
