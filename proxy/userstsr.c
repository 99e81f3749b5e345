/* SPDX-License-Identifier: Apache-2.0 */
/* userstsr.c: a user's own sts:AssumeRole through the gate (duration capped, source identity set or checked), and the action name for the audit. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/pipeline.h"

struct pair {
	const char *name, *value; /* raw, still encoded */
	size_t namelen, valuelen;
};

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes |n| bytes of form-encoded |s| ('+' a space) into |dst| of
 * |size| bytes (no NUL); returns the length, or -1 on a broken escape or
 * no room. */
static long decode(const char *s, size_t n, char *dst, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexv(s[i + 1]), lo = hexv(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o >= size)
			return -1;
		dst[o++] = c;
	}
	return (long)o;
}

static int name_is(const struct pair *p, const char *lit)
{
	char buf[64];
	long n = decode(p->name, p->namelen, buf, sizeof(buf));
	return n >= 0 && (size_t)n == strlen(lit) && memcmp(buf, lit, (size_t)n) == 0;
}

struct wbuf {
	char *p;
	size_t len, cap;
	int over;
};

static void wput(struct wbuf *w, const char *s, size_t n)
{
	if (n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* Writes |n| decoded bytes in AWS's encoding: RFC 3986 unreserved as they are. */
static void wenc(struct wbuf *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			wput(w, (const char *)&s[i], 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			wput(w, e, 3);
		}
	}
}

/* Writes one encoded pair from its raw (encoded) form, re-encoded. */
static int wpair_raw(struct wbuf *w, const struct pair *p, char *scratch, size_t ssize)
{
	long n = decode(p->name, p->namelen, scratch, ssize);
	if (n < 0)
		return -1;
	wenc(w, scratch, (size_t)n);
	wput(w, "=", 1);
	n = decode(p->value, p->valuelen, scratch, ssize);
	if (n < 0)
		return -1;
	wenc(w, scratch, (size_t)n);
	return 0;
}

int px_sts_rewrite(const char *form, size_t len, const struct px_sts_user *u, char *out, size_t outsize,
                   size_t *outlen, struct px_sts_change *chg, struct px_refusal *why)
{
	if (len > PX_STS_MAX_FORM)
		return PX_ERR_TOO_LARGE;
	/* Per-thread scratch, bounded by the limits: no allocation per call and
	 * nothing on a worker's stack beyond a few bytes. */
	static _Thread_local struct pair pairs[PX_STS_MAX_PARAMS];
	static _Thread_local char scratch[PX_STS_MAX_FORM];
	size_t np = 0;
	struct px_qpair qp;
	for (size_t at = 0; px_qpair_next(form, len, &at, &qp);) {
		if (qp.namelen > 0 || qp.eq) { /* "a&&b": the empty piece is no parameter */
			if (np == PX_STS_MAX_PARAMS)
				return PX_ERR_TOO_LARGE;
			struct pair *p = &pairs[np++];
			p->name = qp.name;
			p->namelen = qp.namelen;
			p->value = qp.value;
			p->valuelen = qp.valuelen;
			if (decode(p->name, p->namelen, scratch, sizeof(scratch)) < 0 ||
			    decode(p->value, p->valuelen, scratch, sizeof(scratch)) < 0)
				return px_refuse(why, PX_R_REQUEST_MALFORMED,
				                 "the form has a broken %%-escape: let the AWS SDK encode the request");
		}
	}
	const struct pair *action = NULL, *dur = NULL, *si = NULL;
	for (size_t i = 0; i < np; i++) {
		const struct pair **slot = name_is(&pairs[i], "Action")           ? &action
		                           : name_is(&pairs[i], "DurationSeconds") ? &dur
		                           : name_is(&pairs[i], "SourceIdentity")  ? &si
		                                                                   : NULL;
		if (slot == NULL)
			continue;
		if (*slot != NULL)
			return px_refuse(why, PX_R_REQUEST_MALFORMED,
			                 "the STS request names Action, DurationSeconds or SourceIdentity twice: send "
			                 "each once");
		*slot = &pairs[i];
	}
	struct px_sts_change c;
	memset(&c, 0, sizeof(c));
	char val[PX_MAX_ACTION + 1];
	long vn = action ? decode(action->value, action->valuelen, val, sizeof(val) - 1) : -1;
	if (vn != 10 || memcmp(val, "AssumeRole", 10) != 0) {
		*chg = c;
		return 0;
	}
	c.assume_role = true;

	uint32_t requested = 0;
	if (dur != NULL) {
		char d[16];
		long dn = decode(dur->value, dur->valuelen, d, sizeof(d));
		uint64_t v = 0;
		if (dn <= 0 || dn > 10)
			return px_refuse(why, PX_R_REQUEST_MALFORMED, "DurationSeconds is not a number of seconds");
		for (long k = 0; k < dn; k++) {
			if (d[k] < '0' || d[k] > '9')
				return px_refuse(why, PX_R_REQUEST_MALFORMED, "DurationSeconds is not a number of seconds");
			v = v * 10 + (uint64_t)(d[k] - '0');
		}
		requested = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	}
	c.duration_seconds = requested;
	/* Below STS's minimum the request is STS's to refuse; only lower. */
	if (requested == 0 || requested >= FED_STS_MIN_DURATION) {
		uint32_t cap = 0;
		if (fed_session_duration(requested, u->session_left_s, FED_SESSION_MAX_DURATION, false, &cap) != 0)
			return px_refuse(why, PX_R_SESSION_TOO_SHORT,
			                 "less than %d seconds of your session are left, too little for AssumeRole: "
			                 "log in again",
			                 FED_STS_MIN_DURATION);
		uint32_t effective = requested ? requested : FED_SESSION_DEFAULT_DURATION;
		if (cap < effective) {
			c.duration_seconds = cap;
			c.duration_capped = true;
		}
	}
	if (u->source_identity != NULL) {
		size_t ulen = strlen(u->source_identity);
		if (si != NULL) {
			long sn = decode(si->value, si->valuelen, scratch, sizeof(scratch));
			if (sn < 0 || (size_t)sn != ulen || memcmp(scratch, u->source_identity, ulen) != 0)
				return px_refuse(why, PX_R_SOURCE_IDENTITY,
				                 "SourceIdentity must be your own name, which the gate sets: leave it out");
		} else {
			c.source_identity_added = true;
		}
	}
	if (!c.duration_capped && !c.source_identity_added) {
		*chg = c;
		return 0;
	}

	/* The result must itself be a form this function reads: the pairs it
	 * adds count against PX_STS_MAX_PARAMS too. */
	if (np + (dur == NULL && c.duration_capped) + c.source_identity_added > PX_STS_MAX_PARAMS)
		return PX_ERR_TOO_LARGE;
	struct wbuf w = {out, 0, outsize < PX_STS_MAX_FORM ? outsize : PX_STS_MAX_FORM, 0};
	char num[16];
	for (size_t i = 0; i < np; i++) {
		if (w.len > 0)
			wput(&w, "&", 1);
		if (&pairs[i] == dur && c.duration_capped) {
			int k = snprintf(num, sizeof(num), "%u", c.duration_seconds);
			wput(&w, "DurationSeconds=", 16);
			wput(&w, num, (size_t)k);
		} else if (wpair_raw(&w, &pairs[i], scratch, sizeof(scratch)) != 0) {
			return px_refuse(why, PX_R_REQUEST_MALFORMED, "the form has a broken %%-escape");
		}
	}
	if (dur == NULL && c.duration_capped) {
		int k = snprintf(num, sizeof(num), "%u", c.duration_seconds);
		wput(&w, "&DurationSeconds=", w.len ? 17 : 16);
		wput(&w, num, (size_t)k);
	}
	if (c.source_identity_added) {
		wput(&w, w.len ? "&SourceIdentity=" : "SourceIdentity=", w.len ? 16 : 15);
		wenc(&w, u->source_identity, strlen(u->source_identity));
	}
	if (w.over)
		return PX_ERR_TOO_LARGE;
	c.rewritten = true;
	*outlen = w.len;
	*chg = c;
	return 0;
}

/* --- the action ----------------------------------------------------------- */

static int action_ok(const char *s, size_t n)
{
	if (n > PX_MAX_ACTION)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

/* The decoded Action= of |q|, into |dst|: 1 found, 0 none, -1 bad. */
static int form_action(const char *q, size_t n, char *dst)
{
	struct px_qpair p;
	for (size_t at = 0; px_qpair_next(q, n, &at, &p);) {
		if (p.eq && px_qpair_is(&p, "Action", 6)) {
			long l = decode(p.value, p.valuelen, dst, PX_MAX_ACTION + 1);
			if (l < 0 || !action_ok(dst, (size_t)l))
				return -1;
			dst[l] = '\0';
			return 1;
		}
	}
	return 0;
}

int px_action_extract(const struct sv4_request *req, const char *form, size_t formlen,
                      char action[PX_MAX_ACTION + 1])
{
	char a[PX_MAX_ACTION + 2];
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sv4_header *h = &req->headers[i];
		if (h->namelen != 12 || strncasecmp(h->name, "x-amz-target", 12) != 0)
			continue;
		size_t start = h->valuelen;
		while (start > 0 && h->value[start - 1] != '.')
			start--;
		if (!action_ok(h->value + start, h->valuelen - start))
			return PX_ERR_RANGE;
		memcpy(action, h->value + start, h->valuelen - start);
		action[h->valuelen - start] = '\0';
		return 0;
	}
	int r = req->query != NULL ? form_action(req->query, req->querylen, a) : 0;
	if (r == 0 && form != NULL)
		r = form_action(form, formlen, a);
	if (r < 0)
		return PX_ERR_RANGE;
	if (r == 0)
		a[0] = '\0';
	memcpy(action, a, strlen(a) + 1);
	return 0;
}
