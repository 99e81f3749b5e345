/* SPDX-License-Identifier: Apache-2.0 */
/* websess_test.c: the web UI's table of one-time links and sessions: single use under threads, expiry, bounds. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/proxy.h"
#include "proxy/web.h"

#define NOW INT64_C(1800000000)

static struct px_web_ident *ident(const char *user, int64_t not_after)
{
	struct rbac_identity id;
	char r0[] = "dev", r1[] = "ops", v0[] = "alice", v1[] = "root", tn[] = "logins", u[64];
	char *roles[] = {r0, r1};
	char *vals[] = {v0, v1};
	struct rbac_trait tr = {tn, vals, 2};
	struct px_web_ident *w = NULL;

	snprintf(u, sizeof(u), "%s", user);
	memset(&id, 0, sizeof(id));
	id.user = u;
	id.roles = roles;
	id.nroles = 2;
	id.traits = &tr;
	id.ntraits = 1;
	id.not_after = not_after;
	assert_int_equal(px_web_ident_new(&id, &w), 0);
	return w;
}

static void test_ident_copy(void **state)
{
	struct px_web_ident *w = ident("alice", NOW + 100);

	(void)state;
	assert_string_equal(w->id.user, "alice");
	assert_int_equal(w->id.nroles, 2);
	assert_string_equal(w->id.roles[1], "ops");
	assert_int_equal(w->id.ntraits, 1);
	assert_string_equal(w->id.traits[0].name, "logins");
	assert_string_equal(w->id.traits[0].values[1], "root");
	assert_int_equal(w->id.not_after, NOW + 100);
	px_web_ident_unref(w);
	px_web_ident_unref(NULL);
}

static void test_link_single_use(void **state)
{
	struct px_web_table *t;
	struct px_web_ident *w = ident("alice", NOW + 3600), *got = NULL;
	char tok[PX_WEB_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(px_web_table_new(8, 8, &t), 0);
	assert_int_equal(px_web_link_new(t, w, NOW, 60, tok), 0);
	assert_int_equal(strlen(tok), PX_WEB_TOKEN_LEN);
	assert_int_equal(px_web_link_take(t, tok, strlen(tok), NOW + 59, &got), 0);
	assert_ptr_equal(got, w);
	px_web_ident_unref(got);
	got = NULL;
	/* used: gone */
	assert_int_equal(px_web_link_take(t, tok, strlen(tok), NOW + 1, &got), PX_ERR_WEB_UNKNOWN);
	assert_null(got);
	px_web_ident_unref(w);
	px_web_table_del(t);
}

static void test_link_expiry(void **state)
{
	struct px_web_table *t;
	struct px_web_ident *w = ident("alice", NOW + 3600), *short_cert = ident("bob", NOW + 10), *got = NULL;
	char tok[PX_WEB_TOKEN_LEN + 1], tok2[PX_WEB_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(px_web_table_new(8, 8, &t), 0);
	assert_int_equal(px_web_link_new(t, w, NOW, 60, tok), 0);
	/* at its 60th second it no longer works, and it is dropped */
	assert_int_equal(px_web_link_take(t, tok, strlen(tok), NOW + 60, &got), PX_ERR_WEB_EXPIRED);
	assert_int_equal(px_web_link_take(t, tok, strlen(tok), NOW + 1, &got), PX_ERR_WEB_UNKNOWN);
	/* a link ends with the certificate */
	assert_int_equal(px_web_link_new(t, short_cert, NOW, 60, tok2), 0);
	assert_int_equal(px_web_link_take(t, tok2, strlen(tok2), NOW + 10, &got), PX_ERR_WEB_EXPIRED);
	assert_int_equal(px_web_link_new(t, short_cert, NOW + 10, 60, tok2), PX_ERR_WEB_EXPIRED);
	assert_null(got);
	px_web_ident_unref(w);
	px_web_ident_unref(short_cert);
	px_web_table_del(t);
}

static void test_link_malformed(void **state)
{
	struct px_web_table *t;
	struct px_web_ident *got = NULL;
	char tok[PX_WEB_TOKEN_LEN + 2];

	(void)state;
	assert_int_equal(px_web_table_new(8, 8, &t), 0);
	assert_int_equal(px_web_link_take(t, "", 0, NOW, &got), PX_ERR_WEB_BAD);
	memset(tok, 'A', sizeof(tok));
	assert_int_equal(px_web_link_take(t, tok, PX_WEB_TOKEN_LEN + 1, NOW, &got), PX_ERR_WEB_BAD);
	assert_int_equal(px_web_link_take(t, tok, PX_WEB_TOKEN_LEN - 1, NOW, &got), PX_ERR_WEB_BAD);
	tok[5] = '+'; /* base64, not base64url */
	assert_int_equal(px_web_link_take(t, tok, PX_WEB_TOKEN_LEN, NOW, &got), PX_ERR_WEB_BAD);
	tok[5] = 'A';
	tok[PX_WEB_TOKEN_LEN - 1] = 'B'; /* spare bits set: not a canonical token */
	assert_int_equal(px_web_link_take(t, tok, PX_WEB_TOKEN_LEN, NOW, &got), PX_ERR_WEB_BAD);
	tok[PX_WEB_TOKEN_LEN - 1] = 'A'; /* well formed, never issued */
	assert_int_equal(px_web_link_take(t, tok, PX_WEB_TOKEN_LEN, NOW, &got), PX_ERR_WEB_UNKNOWN);
	assert_null(got);
	px_web_table_del(t);
}

static void test_bounds(void **state)
{
	struct px_web_table *t;
	struct px_web_ident *u[5];
	char tok[PX_WEB_TOKEN_LEN + 1], first[PX_WEB_TOKEN_LEN + 1];
	char names[5][8] = {"u0", "u1", "u2", "u3", "u4"};
	size_t nl, ns;

	(void)state;
	assert_int_equal(px_web_table_new(4, 4, &t), 0);
	for (int i = 0; i < 5; i++)
		u[i] = ident(names[i], NOW + 3600);
	for (int i = 0; i < 4; i++)
		assert_int_equal(px_web_link_new(t, u[i], NOW, 60, tok), 0);
	/* full of live links: refused */
	assert_int_equal(px_web_link_new(t, u[4], NOW, 60, tok), PX_ERR_WEB_FULL);
	px_web_table_count(t, NOW, &nl, &ns);
	assert_int_equal(nl, 4);
	/* expired ones make room */
	assert_int_equal(px_web_link_new(t, u[4], NOW + 60, 60, tok), 0);
	px_web_table_count(t, NOW + 60, &nl, &ns);
	assert_int_equal(nl, 1);
	px_web_table_del(t);

	/* one user's links past PX_WEB_MAX_USER_LINKS replace that user's oldest */
	assert_int_equal(px_web_table_new(64, 4, &t), 0);
	assert_int_equal(px_web_link_new(t, u[0], NOW, 60, first), 0);
	for (int i = 1; i < PX_WEB_MAX_USER_LINKS + 3; i++)
		assert_int_equal(px_web_link_new(t, u[0], NOW + i, 60, tok), 0);
	px_web_table_count(t, NOW + 20, &nl, &ns);
	assert_int_equal(nl, PX_WEB_MAX_USER_LINKS);
	{
		struct px_web_ident *got = NULL;
		assert_int_equal(px_web_link_take(t, first, strlen(first), NOW + 20, &got), PX_ERR_WEB_UNKNOWN);
		assert_int_equal(px_web_link_take(t, tok, strlen(tok), NOW + 20, &got), 0);
		px_web_ident_unref(got);
	}
	px_web_table_del(t);
	for (int i = 0; i < 5; i++)
		px_web_ident_unref(u[i]);
}

static void test_session(void **state)
{
	struct px_web_table *t;
	struct px_web_ident *w = ident("alice", NOW + 3600), *got = NULL, *nocert = ident("svc", 0);
	char id[PX_WEB_TOKEN_LEN + 1], csrf[PX_WEB_TOKEN_LEN + 1], csrf2[PX_WEB_TOKEN_LEN + 1];
	char id2[PX_WEB_TOKEN_LEN + 1];
	int64_t exp = 0, exp2 = 0;
	size_t nl, ns;

	(void)state;
	assert_int_equal(px_web_table_new(4, 4, &t), 0);
	assert_int_equal(px_web_session_new(t, w, NOW, id, csrf, &exp), 0);
	assert_int_equal(exp, NOW + 3600); /* ends with the certificate */
	assert_string_not_equal(id, csrf);
	assert_int_equal(px_web_session_get(t, id, strlen(id), NOW + 100, &got, csrf2, &exp2), 0);
	assert_ptr_equal(got, w);
	assert_string_equal(csrf, csrf2);
	assert_int_equal(exp2, exp);
	px_web_ident_unref(got);
	/* the CSRF token does not open the session */
	assert_int_equal(px_web_session_get(t, csrf, strlen(csrf), NOW, &got, csrf2, &exp2), PX_ERR_WEB_UNKNOWN);
	/* a session is used many times, until it ends */
	assert_int_equal(px_web_session_get(t, id, strlen(id), NOW + 3599, &got, csrf2, &exp2), 0);
	px_web_ident_unref(got);
	assert_int_equal(px_web_session_get(t, id, strlen(id), NOW + 3600, &got, csrf2, &exp2), PX_ERR_WEB_EXPIRED);
	assert_int_equal(px_web_session_get(t, id, strlen(id), NOW, &got, csrf2, &exp2), PX_ERR_WEB_UNKNOWN);
	/* sign-out */
	assert_int_equal(px_web_session_new(t, w, NOW, id, csrf, &exp), 0);
	assert_int_equal(px_web_session_end(t, id, strlen(id)), 0);
	assert_int_equal(px_web_session_end(t, id, strlen(id)), PX_ERR_WEB_UNKNOWN);
	assert_int_equal(px_web_session_get(t, id, strlen(id), NOW, &got, csrf2, &exp2), PX_ERR_WEB_UNKNOWN);
	/* without a certificate bound, PX_WEB_SESSION_MAX */
	assert_int_equal(px_web_session_new(t, nocert, NOW, id2, csrf, &exp), 0);
	assert_int_equal(exp, NOW + PX_WEB_SESSION_MAX);
	/* an expired identity starts nothing */
	assert_int_equal(px_web_session_new(t, w, NOW + 3600, id, csrf, &exp), PX_ERR_WEB_EXPIRED);
	px_web_table_count(t, NOW, &nl, &ns);
	assert_int_equal(ns, 1);
	px_web_ident_unref(w);
	px_web_ident_unref(nocert);
	px_web_table_del(t); /* drops the identity's last reference: the leak check sees it */
}

static void test_session_bounds(void **state)
{
	struct px_web_table *t;
	struct px_web_ident *a = ident("alice", NOW + 3600), *b = ident("bob", NOW + 3600), *got = NULL;
	char id[PX_WEB_TOKEN_LEN + 1], first[PX_WEB_TOKEN_LEN + 1], csrf[PX_WEB_TOKEN_LEN + 1];
	int64_t exp;
	size_t nl, ns;

	(void)state;
	assert_int_equal(px_web_table_new(4, PX_WEB_MAX_USER_SESSIONS + 1, &t), 0);
	assert_int_equal(px_web_session_new(t, b, NOW, id, csrf, &exp), 0);
	/* alice's sessions past her share end her oldest, never bob's */
	assert_int_equal(px_web_session_new(t, a, NOW, first, csrf, &exp), 0);
	for (int i = 1; i < PX_WEB_MAX_USER_SESSIONS + 5; i++)
		assert_int_equal(px_web_session_new(t, a, NOW + i, id, csrf, &exp), 0);
	px_web_table_count(t, NOW + 30, &nl, &ns);
	assert_int_equal(ns, PX_WEB_MAX_USER_SESSIONS + 1);
	assert_int_equal(px_web_session_get(t, first, strlen(first), NOW + 30, &got, csrf, &exp), PX_ERR_WEB_UNKNOWN);
	px_web_table_del(t);

	/* full of other users' live sessions: refused */
	assert_int_equal(px_web_table_new(4, 1, &t), 0);
	assert_int_equal(px_web_session_new(t, b, NOW, id, csrf, &exp), 0);
	assert_int_equal(px_web_session_new(t, a, NOW, id, csrf, &exp), PX_ERR_WEB_FULL);
	px_web_table_del(t);
	px_web_ident_unref(a);
	px_web_ident_unref(b);
}

/* --- single use across threads ---------------------------------------------------- */

#define NTHREADS 8
#define NLINKS 200

struct race {
	struct px_web_table *t;
	char (*tokens)[PX_WEB_TOKEN_LEN + 1];
	int wins[NLINKS]; /* atomic */
	pthread_barrier_t go;
};

static void *race_run(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(&r->go);
	for (int i = 0; i < NLINKS; i++) {
		struct px_web_ident *got = NULL;
		if (px_web_link_take(r->t, r->tokens[i], PX_WEB_TOKEN_LEN, NOW, &got) == 0) {
			__atomic_add_fetch(&r->wins[i], 1, __ATOMIC_RELAXED);
			px_web_ident_unref(got);
		}
	}
	return NULL;
}

static void test_single_use_threads(void **state)
{
	struct race r;
	pthread_t th[NTHREADS];
	struct px_web_ident *w = ident("alice", NOW + 3600);
	char names[NLINKS][12];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.tokens = calloc(NLINKS, sizeof(*r.tokens));
	assert_non_null(r.tokens);
	assert_int_equal(px_web_table_new(NLINKS, 4, &r.t), 0);
	/* one user per link: the per-user share does not replace any */
	for (int i = 0; i < NLINKS; i++) {
		struct px_web_ident *u;
		snprintf(names[i], sizeof(names[i]), "user%d", i);
		u = ident(names[i], NOW + 3600);
		assert_int_equal(px_web_link_new(r.t, u, NOW, 60, r.tokens[i]), 0);
		px_web_ident_unref(u);
	}
	assert_int_equal(pthread_barrier_init(&r.go, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_run, &r), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NLINKS; i++)
		assert_int_equal(r.wins[i], 1); /* each link taken exactly once among 8 threads */
	pthread_barrier_destroy(&r.go);
	px_web_table_del(r.t);
	free(r.tokens);
	px_web_ident_unref(w);
}

static void test_tokens_differ(void **state)
{
	struct px_web_table *t;
	struct px_web_ident *w = ident("alice", NOW + 3600);
	char a[PX_WEB_TOKEN_LEN + 1], b[PX_WEB_TOKEN_LEN + 1];
	unsigned char key[PX_WEB_KEY_BYTES];

	(void)state;
	assert_int_equal(px_web_table_new(8, 8, &t), 0);
	assert_int_equal(px_web_link_new(t, w, NOW, 60, a), 0);
	assert_int_equal(px_web_link_new(t, w, NOW, 60, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(px_web_token_decode(a, strlen(a), key), 0);
	px_web_ident_unref(w);
	px_web_table_del(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ident_copy),
		cmocka_unit_test(test_link_single_use),
		cmocka_unit_test(test_link_expiry),
		cmocka_unit_test(test_link_malformed),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_session_bounds),
		cmocka_unit_test(test_single_use_threads),
		cmocka_unit_test(test_tokens_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
