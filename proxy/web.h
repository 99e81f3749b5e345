/* SPDX-License-Identifier: Apache-2.0 */
/* web.h: the console web UI: one-time sign-in links, browser sessions, and the small parsers and HTML writer its routes use. */
#ifndef AWSGATE_PROXY_WEB_H
#define AWSGATE_PROXY_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rbac/rbac.h"

/*
 * docs/CONSOLE.md describes the flow and the security model. The table of
 * links and sessions (websess.c) is process-wide: every worker thread
 * shares it under one mutex, so a link is used once whichever worker the
 * browser reaches. It reads no clock: the caller passes |now|.
 */

/* Error codes (proxy's range; web's -480..-489). */
#define PX_ERR_WEB_FULL -480    /* the table is at its bound: refuse, try later */
#define PX_ERR_WEB_UNKNOWN -481 /* no such link or session (never issued, used, signed out, or dropped) */
#define PX_ERR_WEB_EXPIRED -482 /* it existed and has expired */
#define PX_ERR_WEB_BAD -483     /* malformed input (a form field, a cookie, a token) */
#define PX_ERR_WEB_MISSING -484 /* the form field or cookie is absent */

#define PX_WEB_KEY_BYTES 32                 /* random bytes of a link token, session id, CSRF token */
#define PX_WEB_TOKEN_LEN 43                 /* their base64url text, without padding */
#define PX_WEB_MAX_LINKS 1024               /* one-time links outstanding, process-wide */
#define PX_WEB_MAX_SESSIONS 4096            /* browser sessions, process-wide */
#define PX_WEB_MAX_USER_LINKS 8             /* a user's unused links: a new one replaces the oldest */
#define PX_WEB_MAX_USER_SESSIONS 16         /* a user's sessions: a new one ends the oldest */
#define PX_WEB_LINK_TTL 60                  /* seconds a link works (web.link_ttl changes it, for tests) */
#define PX_WEB_SESSION_MAX (12 * 3600)      /* a session never outlives this, nor the certificate */
#define PX_WEB_MAX_FORM 8192                /* bytes of a web form's body */
#define PX_WEB_MAX_FIELD 2048               /* bytes of one decoded form field */
#define PX_WEB_MAX_PAGE (1024 * 1024)       /* bytes of one rendered page */
#define PX_WEB_COOKIE "awsgate_web"         /* the session cookie's name */

/* An identity snapshot shared by a session and the requests that use it
 * (atomic reference count). The session decides RBAC with it. */
struct px_web_ident {
	int refs;
	struct rbac_identity id;
};

/* A deep copy of |src| (+1), or PX_ERR_NOMEM. */
int px_web_ident_new(const struct rbac_identity *src, struct px_web_ident **out);
struct px_web_ident *px_web_ident_ref(struct px_web_ident *w);
void px_web_ident_unref(struct px_web_ident *w); /* NULL is accepted */

struct px_web_table;

/* A table of at most |max_links| links and |max_sessions| sessions. Returns 0 or PX_ERR_NOMEM. */
int px_web_table_new(size_t max_links, size_t max_sessions, struct px_web_table **out);
void px_web_table_del(struct px_web_table *t); /* NULL is accepted */

/*
 * Issues a one-time link for |who| (a reference is taken) that works for
 * |ttl| seconds from |now|, never past the identity's not_after. Writes
 * the token (base64url, NUL-terminated) to |token|. This function returns
 * 0 if it succeeds, or one of the following negative error codes:
 * PX_ERR_WEB_FULL (PX_WEB_MAX_LINKS unexpired links), PX_ERR_WEB_EXPIRED
 * (the identity has expired), PX_ERR_NOMEM (no randomness).
 */
int px_web_link_new(struct px_web_table *t, struct px_web_ident *who, int64_t now, int64_t ttl,
		    char token[PX_WEB_TOKEN_LEN + 1]);

/*
 * Uses the link |token| (|len| bytes): it is removed whatever the outcome,
 * so a second use fails on every worker. On success writes the identity
 * (+1) to |*who|. Returns 0, PX_ERR_WEB_UNKNOWN, PX_ERR_WEB_EXPIRED, or
 * PX_ERR_WEB_BAD (not a token's shape).
 */
int px_web_link_take(struct px_web_table *t, const char *token, size_t len, int64_t now, struct px_web_ident **who);

/*
 * Starts a session for |who| (a reference is taken) that ends at the
 * identity's not_after, and at most PX_WEB_SESSION_MAX after |now|. Writes
 * the session id and its CSRF token (base64url, NUL-terminated) and the
 * end time. Returns 0, PX_ERR_WEB_FULL, PX_ERR_WEB_EXPIRED or PX_ERR_NOMEM.
 */
int px_web_session_new(struct px_web_table *t, struct px_web_ident *who, int64_t now, char id[PX_WEB_TOKEN_LEN + 1],
		       char csrf[PX_WEB_TOKEN_LEN + 1], int64_t *expires);

/*
 * Looks up session |id| (|len| bytes). On success writes its identity
 * (+1), CSRF token and end time. Returns 0, PX_ERR_WEB_UNKNOWN,
 * PX_ERR_WEB_EXPIRED (and drops it) or PX_ERR_WEB_BAD.
 */
int px_web_session_get(struct px_web_table *t, const char *id, size_t len, int64_t now, struct px_web_ident **who,
		       char csrf[PX_WEB_TOKEN_LEN + 1], int64_t *expires);

/* Ends session |id|. Returns 0 or PX_ERR_WEB_UNKNOWN. */
int px_web_session_end(struct px_web_table *t, const char *id, size_t len);

/* Drops expired entries; writes how many links and sessions are left. */
void px_web_table_count(struct px_web_table *t, int64_t now, size_t *links, size_t *sessions);

/* --- parsers (webform.c) --------------------------------------------------------- */

/*
 * Finds field |name| in the application/x-www-form-urlencoded |body| of
 * |len| bytes and writes its decoded value, NUL-terminated, to |out| of
 * |size| bytes. A field may appear once. This function returns 0 if it
 * succeeds, or one of the following negative error codes:
 * PX_ERR_WEB_MISSING, PX_ERR_WEB_BAD (a bad %-escape, a control byte or
 * NUL in the value, the field twice), PX_ERR_TOO_LARGE (does not fit).
 */
int px_web_form_get(const char *body, size_t len, const char *name, char *out, size_t size);

/*
 * Finds cookie |name| in the Cookie header value |hdr| of |len| bytes
 * ("a=1; b=2"). Writes a view of its value (borrowed from |hdr|). Returns
 * 0, PX_ERR_WEB_MISSING or PX_ERR_WEB_BAD (the name twice: a cookie set
 * by another path or a sibling domain must not choose the session).
 */
int px_web_cookie_get(const char *hdr, size_t len, const char *name, const char **val, size_t *vlen);

/* A growable text buffer with a maximum (a page). */
struct px_web_buf {
	char *p;
	size_t len, cap, max;
	bool failed; /* out of memory, or past |max|: the page is not sent */
};
void px_web_buf_init(struct px_web_buf *b, size_t max);
void px_web_buf_add(struct px_web_buf *b, const char *s, size_t n);
void px_web_buf_adds(struct px_web_buf *b, const char *s);
/* |s| escaped for HTML text and quoted attribute values: & < > " ' and
 * control bytes become character references; NULL writes nothing. */
void px_web_buf_html(struct px_web_buf *b, const char *s);
void px_web_buf_htmln(struct px_web_buf *b, const char *s, size_t n);
void px_web_buf_free(struct px_web_buf *b); /* wipes, then frees */

/* Encodes |n| bytes as base64url without padding into |out| (4n/3+2 bytes). */
void px_web_b64url(const unsigned char *in, size_t n, char *out);
/* Decodes exactly PX_WEB_TOKEN_LEN characters into PX_WEB_KEY_BYTES bytes. Returns 0 or PX_ERR_WEB_BAD. */
int px_web_token_decode(const char *s, size_t len, unsigned char key[PX_WEB_KEY_BYTES]);

#endif
