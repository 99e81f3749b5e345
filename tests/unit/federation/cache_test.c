/* SPDX-License-Identifier: Apache-2.0 */
/* cache_test.c: the credential cache against the fake world: keys, expiry and refresh, single flight, posts, negative caching, LRU, cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/creds_int.h"
#include "tests/unit/federation/fake.h"

/*
 * The test's own OPENSSL_cleanse() takes the place of libcrypto's for the
 * code linked into this program: it zeroes like the real one and keeps a
 * ring of what it wiped, so a test can see that an evicted entry's secret
 * and session token were wiped, not merely freed.
 */
#define WIPED_MAX 512
static char wiped[WIPED_MAX][64];
static size_t nwiped;

void OPENSSL_cleanse(void *ptr, size_t len);
void OPENSSL_cleanse(void *ptr, size_t len)
{
	volatile unsigned char *v = ptr;
	if (len > 0 && len < sizeof(wiped[0])) {
		memcpy(wiped[nwiped % WIPED_MAX], ptr, len);
		wiped[nwiped % WIPED_MAX][len] = '\0';
		nwiped++;
	}
	while (len-- > 0)
		*v++ = 0;
}

static bool was_wiped(const char *s)
{
	size_t n = nwiped < WIPED_MAX ? nwiped : WIPED_MAX;
	for (size_t i = 0; i < n; i++)
		if (strcmp(wiped[i], s) == 0)
			return true;
	return false;
}

#define IN_1H "2025-12-01T01:00:00Z"
#define IN_2H "2025-12-01T02:00:00Z"
#define HOUR_MS INT64_C(3600000)

struct got {
	int called;
	int err;
	struct fed_snap *snap;
	struct fed_sts_error e;
};

static void on_done(void *arg, int err, struct fed_snap *s, const struct fed_sts_error *why)
{
	struct got *g = arg;
	g->called++;
	g->err = err;
	g->snap = s;
	if (why != NULL)
		g->e = *why;
}

static char base_akid[] = "AKIDBASE";
static char base_secret[] = "base-secret";
static const struct fed_creds base = {base_akid, base_secret, NULL, 0, true, "environment"};

static struct fed_cache_key key_of(const char *role)
{
	struct fed_cache_key k;
	memset(&k, 0, sizeof(k));
	k.role_arn = role;
	k.external_id = "ext-1";
	k.session_name = "alice";
	k.source_identity = "alice";
	k.duration_seconds = 3700; /* class 3600 */
	k.partition = "aws";
	k.region = "us-east-1";
	return k;
}

static struct fake_reply *reply_creds(struct fake *f, const char *akid, const char *exp)
{
	char xml[2048];
	snprintf(xml, sizeof(xml),
		 "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
		 "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret-%s</SecretAccessKey>"
		 "<SessionToken>token-%s</SessionToken><Expiration>%s</Expiration></Credentials>"
		 "<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/R/alice</Arn><AssumedRoleId>AROA:alice"
		 "</AssumedRoleId></AssumedRoleUser><SourceIdentity>alice</SourceIdentity></AssumeRoleResult>"
		 "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>",
		 akid, akid, akid, exp);
	return fake_reply(f, "sts.", 200, xml);
}

static void reply_error(struct fake *f, int status, const char *code)
{
	char xml[1024];
	snprintf(xml, sizeof(xml),
		 "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>because %s</Message></Error>"
		 "<RequestId>req-e</RequestId></ErrorResponse>",
		 code, code);
	fake_reply(f, "sts.", status, xml);
}

static struct fed_cache *cache_of(struct fake *f, uint32_t max, uint32_t ahead)
{
	struct fed_cache *c;
	struct fed_cache_options o = {max, ahead, 1, 0, NULL, NULL};
	assert_int_equal(fed_cache_new(fake_env(f), &o, &c), 0);
	return c;
}

/* Gets |k| on |f|, settling the fake loop when pending. Returns the outcome, |*snap| +1 on success. */
static int get(struct fed_cache *c, struct fake *f, const struct fed_cache_key *k, const struct fed_creds *b,
               struct fed_snap **snap, struct fed_sts_error *why)
{
	struct got g;
	struct fed_wait *w = NULL;
	struct fed_snap *s = NULL;
	memset(&g, 0, sizeof(g));
	memset(why, 0, sizeof(*why));
	int rv = fed_cache_get(c, fake_transport(f), k, b, on_done, &g, &s, &w, why);
	if (rv == 0) {
		*snap = s;
		return 0;
	}
	if (rv != FED_PENDING)
		return rv;
	assert_int_equal(g.called, 0);
	fake_settle(f, 60000);
	assert_int_equal(g.called, 1);
	*why = g.e;
	if (g.err == 0)
		*snap = g.snap;
	return g.err;
}

static void test_miss_then_hit(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_cache *c = cache_of(f, 0, 0);
	struct fed_cache_key k = key_of("arn:aws:iam::123456789012:role/App");
	struct fed_snap *s, *s2;
	struct fed_sts_error why;
	struct fed_cache_stats st;

	reply_creds(f, "ASIAONE", IN_1H);
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	const struct fed_creds *cr = fed_snap_creds(s);
	assert_string_equal(cr->access_key_id, "ASIAONE");
	assert_string_equal(cr->secret_access_key, "secret-ASIAONE");
	assert_string_equal(cr->session_token, "token-ASIAONE");
	assert_false(cr->long_term);
	assert_int_equal(cr->expiration, FAKE_START_MS / 1000 + 3600);
	assert_string_equal(cr->source, "sts:AssumeRole");

	assert_int_equal(fake_nrequests(f), 1);
	const struct fake_request *r = fake_request(f, 0);
	assert_string_equal(fake_request_param(r, "Action", 0), "AssumeRole");
	assert_string_equal(fake_request_param(r, "RoleArn", 0), "arn:aws:iam::123456789012:role/App");
	assert_string_equal(fake_request_param(r, "ExternalId", 0), "ext-1");
	assert_string_equal(fake_request_param(r, "RoleSessionName", 0), "alice");
	assert_string_equal(fake_request_param(r, "SourceIdentity", 0), "alice");
	/* 3700 s asked: the class below it, so that the credentials never outlive what was asked */
	assert_string_equal(fake_request_param(r, "DurationSeconds", 0), "3600");
	assert_non_null(strstr(fake_request_header(r, "Authorization"), "Credential=AKIDBASE/"));

	/* a hit: the same snapshot, at once, nothing asked */
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, NULL, &s2, NULL, &why), 0);
	assert_ptr_equal(s, s2);
	fed_snap_unref(s2);
	/* a duration in the same class shares the entry */
	k.duration_seconds = 3999;
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, NULL, &s2, NULL, &why), 0);
	assert_ptr_equal(s, s2);
	fed_snap_unref(s2);
	assert_int_equal(fake_nrequests(f), 1);

	fed_cache_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.sts_calls, 1);
	assert_int_equal(st.entries, 1);
	{
		/* the call's duration on the fake clock, in one bucket */
		uint64_t n = 0;
		for (size_t i = 0; i < FED_CACHE_STS_BUCKETS; i++)
			n += st.sts_ms_buckets[i];
		assert_int_equal(n, 1);
		assert_true(st.sts_ms_sum <= fed_cache_sts_bucket_ms[FED_CACHE_STS_BUCKETS - 2]);
	}
	fed_cache_del(c);
	/* a snapshot outlives the cache that made it */
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAONE");
	fed_snap_unref(s);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

static void test_key_fields(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_cache *c = cache_of(f, 0, 0);
	struct fed_snap *s;
	struct fed_sts_error why;
	const struct fed_cache_key k0 = key_of("arn:aws:iam::1:role/A");
	struct fed_cache_key ks[9];
	static const struct fed_tag tags[] = {{"team", "blue"}};
	static char other_akid[] = "AKIDOTHER";
	struct fed_creds other = base;
	other.access_key_id = other_akid;

	for (int i = 0; i < 9; i++)
		ks[i] = k0;
	ks[1].role_arn = "arn:aws:iam::1:role/B";
	ks[2].external_id = NULL;
	ks[3].session_name = "bob";
	ks[4].source_identity = NULL;
	ks[5].duration_seconds = 900;
	ks[6].partition = "aws-cn";
	ks[7].tags = tags;
	ks[7].ntags = 1;
	ks[8].region = "eu-west-1";
	for (int i = 0; i < 9; i++) {
		char akid[32];
		snprintf(akid, sizeof(akid), "ASIA%d", i);
		reply_creds(f, akid, IN_1H);
		assert_int_equal(get(c, f, &ks[i], &base, &s, &why), 0);
		assert_string_equal(fed_snap_creds(s)->access_key_id, akid);
		fed_snap_unref(s);
	}
	/* another base identity: another entry */
	reply_creds(f, "ASIAOTHER", IN_1H);
	assert_int_equal(get(c, f, &k0, &other, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIAOTHER");
	fed_snap_unref(s);
	assert_int_equal(fake_nrequests(f), 10);
	/* and each is found again */
	for (int i = 0; i < 9; i++) {
		char akid[32];
		snprintf(akid, sizeof(akid), "ASIA%d", i);
		assert_int_equal(get(c, f, &ks[i], &base, &s, &why), 0);
		assert_string_equal(fed_snap_creds(s)->access_key_id, akid);
		fed_snap_unref(s);
	}
	assert_int_equal(fake_nrequests(f), 10);
	assert_null(fake_request_param(fake_request(f, 2), "ExternalId", 0));
	assert_string_equal(fake_request_param(fake_request(f, 5), "DurationSeconds", 0), "900");

	/* bad keys */
	struct fed_cache_key bad = k0;
	bad.role_arn = NULL;
	assert_int_equal(fed_cache_get(c, fake_transport(f), &bad, &base, on_done, NULL, &s, NULL, &why),
			 FED_ERR_INVALID);
	bad = k0;
	bad.duration_seconds = 899;
	assert_int_equal(fed_cache_get(c, fake_transport(f), &bad, &base, on_done, NULL, &s, NULL, &why),
			 FED_ERR_SESSION_TOO_SHORT);
	bad = k0;
	char *huge = malloc(FED_CACHE_MAX_KEY + 1);
	assert_non_null(huge);
	memset(huge, 'x', FED_CACHE_MAX_KEY);
	huge[FED_CACHE_MAX_KEY] = '\0';
	bad.external_id = huge;
	assert_int_equal(fed_cache_get(c, fake_transport(f), &bad, &base, on_done, NULL, &s, NULL, &why),
			 FED_ERR_TOO_LARGE);
	free(huge);
	assert_int_equal(fed_cache_get(c, NULL, &k0, &base, on_done, NULL, &s, NULL, &why), FED_ERR_INVALID);
	assert_int_equal(fake_nrequests(f), 10);
	fed_cache_del(c);
	fake_del(f);
}

static void test_refresh(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_cache *c = cache_of(f, 0, 0);
	struct fed_cache_key k = key_of("arn:aws:iam::1:role/A");
	struct fed_snap *s, *old;
	struct fed_sts_error why;
	struct fed_cache_stats st;

	reply_creds(f, "ASIAOLD", IN_1H);
	assert_int_equal(get(c, f, &k, &base, &old, &why), 0);

	/* just outside the window: a plain hit */
	fake_set_now(f, FAKE_START_MS + HOUR_MS - FED_CACHE_REFRESH_AHEAD_S * 1000 - 1);
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	fed_snap_unref(s);
	assert_int_equal(fake_nrequests(f), 1);

	/* inside it: the old credentials at once, one refresh behind them */
	fake_set_now(f, FAKE_START_MS + HOUR_MS - FED_CACHE_REFRESH_AHEAD_S * 1000 + 1);
	reply_creds(f, "ASIANEW", IN_2H);
	struct got g = {0};
	struct fed_wait *w = NULL;
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, &g, &s, &w, &why), 0);
	assert_ptr_equal(s, old);
	fed_snap_unref(s);
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, &g, &s, &w, &why), 0);
	fed_snap_unref(s);
	fake_run(f);
	assert_int_equal(fake_nrequests(f), 2);
	assert_int_equal(g.called, 0);
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIANEW");
	fed_snap_unref(s);
	/* a holder of the old snapshot still has it, whole */
	assert_string_equal(fed_snap_creds(old)->secret_access_key, "secret-ASIAOLD");
	fed_snap_unref(old);
	fed_cache_stats(c, &st);
	assert_int_equal(st.refreshes, 1);

	/* a refresh that fails keeps the old credentials until they are too
	 * close to expiry, then the failure is what callers see */
	fake_set_now(f, FAKE_START_MS + 2 * HOUR_MS - FED_CACHE_REFRESH_AHEAD_S * 1000 + 1);
	fake_reply(f, "sts.", 500, "");
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIANEW");
	fed_snap_unref(s);
	fake_run(f);
	fake_settle(f, 1000);
	assert_int_equal(fake_nrequests(f), 3);
	/* while the failure is remembered, hits do not start another refresh */
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	fed_snap_unref(s);
	assert_int_equal(fake_nrequests(f), 3);
	/* under FED_CACHE_MIN_VALID_S left: not handed out any more */
	fake_set_now(f, FAKE_START_MS + 2 * HOUR_MS - FED_CACHE_MIN_VALID_S * 1000 + 1);
	reply_creds(f, "ASIALAST", "2025-12-01T03:00:00Z");
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	assert_string_equal(fed_snap_creds(s)->access_key_id, "ASIALAST");
	fed_snap_unref(s);
	fed_cache_del(c);

	/* a configured window */
	fake_set_now(f, FAKE_START_MS);
	c = cache_of(f, 0, 1200);
	reply_creds(f, "ASIAW", IN_1H);
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	fed_snap_unref(s);
	fake_set_now(f, FAKE_START_MS + HOUR_MS - 1199 * 1000);
	reply_creds(f, "ASIAW2", IN_2H);
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	fed_snap_unref(s);
	fake_settle(f, 1000);
	fed_cache_stats(c, &st);
	assert_int_equal(st.refreshes, 1);
	fed_cache_del(c);
	assert_int_equal(fake_unmatched(f), 0);
	fake_del(f);
}

static void test_single_flight(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_cache *c = cache_of(f, 0, 0);
	struct fed_cache_key k = key_of("arn:aws:iam::1:role/A");
	struct got g[5];
	struct fed_wait *w[5];
	struct fed_snap *s = NULL;
	struct fed_sts_error why;
	struct fed_cache_stats st;

	memset(g, 0, sizeof(g));
	reply_creds(f, "ASIASF", IN_1H);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, &g[i], &s, &w[i], &why),
				 FED_PENDING);
	/* the first asker goes away: the call goes on for the others */
	fed_wait_cancel(w[0]);
	fed_wait_cancel(w[3]);
	fake_settle(f, 10000);
	assert_int_equal(fake_nrequests(f), 1);
	assert_int_equal(g[0].called + g[3].called, 0);
	for (int i = 1; i < 5; i++) {
		if (i == 3)
			continue;
		assert_int_equal(g[i].called, 1);
		assert_int_equal(g[i].err, 0);
		assert_ptr_equal(g[i].snap, g[1].snap);
	}
	for (int i = 1; i < 5; i++)
		if (i != 3)
			fed_snap_unref(g[i].snap);
	fed_cache_stats(c, &st);
	assert_int_equal(st.misses, 5);
	assert_int_equal(st.joins, 4);
	assert_int_equal(st.sts_calls, 1);
	/* the result is cached even though its first asker left */
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, NULL, &s, NULL, &why), 0);
	fed_snap_unref(s);
	fed_cache_del(c);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

/* Waiters on other loops get their answer through their own transport's post. */
static void test_several_loops(void **state)
{
	(void)state;
	struct fake *f1 = fake_new(), *f2 = fake_new(), *f3 = fake_new();
	struct fed_cache *c = cache_of(f1, 0, 0);
	struct fed_cache_key k = key_of("arn:aws:iam::1:role/A");
	struct got g1 = {0}, g2 = {0}, g3 = {0};
	struct fed_wait *w1, *w2, *w3;
	struct fed_snap *s = NULL;
	struct fed_sts_error why;

	reply_creds(f1, "ASIALOOPS", IN_1H);
	assert_int_equal(fed_cache_get(c, fake_transport(f1), &k, &base, on_done, &g1, &s, &w1, &why), FED_PENDING);
	assert_int_equal(fed_cache_get(c, fake_transport(f2), &k, &base, on_done, &g2, &s, &w2, &why), FED_PENDING);
	assert_int_equal(fed_cache_get(c, fake_transport(f3), &k, &base, on_done, &g3, &s, &w3, &why), FED_PENDING);
	/* the call runs on the first asker's loop only */
	fake_settle(f1, 10000);
	assert_int_equal(fake_nrequests(f1), 1);
	assert_int_equal(fake_nrequests(f2) + fake_nrequests(f3), 0);
	assert_int_equal(g1.called, 1);
	/* the others are answered only when their own loops run */
	assert_int_equal(g2.called + g3.called, 0);
	assert_int_equal(fake_pending(f2), 1);
	assert_int_equal(fake_pending(f3), 1);
	/* a waiter cancelled after its answer was posted, before it ran */
	fed_wait_cancel(w3);
	fake_run(f2);
	fake_run(f3);
	assert_int_equal(g2.called, 1);
	assert_int_equal(g3.called, 0);
	assert_ptr_equal(g1.snap, g2.snap);
	fed_snap_unref(g1.snap);
	fed_snap_unref(g2.snap);
	fed_cache_del(c);
	fake_del(f1);
	fake_del(f2);
	fake_del(f3);
}

static int post_fails(void *arg, fed_task_fn *fn, void *fn_arg)
{
	(void)arg;
	(void)fn;
	(void)fn_arg;
	return FED_ERR_NOMEM;
}

/* A loop that cannot be posted to loses its answer, counted; nothing leaks. */
static void test_post_fails(void **state)
{
	(void)state;
	struct fake *f1 = fake_new(), *f2 = fake_new();
	struct fed_cache *c = cache_of(f1, 0, 0);
	struct fed_cache_key k = key_of("arn:aws:iam::1:role/A");
	struct fed_transport broken = *fake_transport(f2);
	struct got g1 = {0}, g2 = {0};
	struct fed_wait *w;
	struct fed_snap *s;
	struct fed_sts_error why;
	struct fed_cache_stats st;

	broken.post = post_fails;
	reply_creds(f1, "ASIAPOST", IN_1H);
	assert_int_equal(fed_cache_get(c, fake_transport(f1), &k, &base, on_done, &g1, &s, &w, &why), FED_PENDING);
	assert_int_equal(fed_cache_get(c, &broken, &k, &base, on_done, &g2, &s, &w, &why), FED_PENDING);
	fake_settle(f1, 10000);
	fake_settle(f2, 10000);
	assert_int_equal(g1.called, 1);
	assert_int_equal(g2.called, 0);
	fed_snap_unref(g1.snap);
	fed_cache_stats(c, &st);
	assert_int_equal(st.post_failures, 1);
	fed_cache_del(c);
	fake_del(f1);
	fake_del(f2);
}

static void test_negative(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_cache *c = cache_of(f, 0, 0);
	struct fed_cache_key k = key_of("arn:aws:iam::1:role/Denied");
	struct fed_snap *s;
	struct fed_sts_error why;
	struct fed_cache_stats st;

	reply_error(f, 403, "AccessDenied");
	assert_int_equal(get(c, f, &k, &base, &s, &why), FED_ERR_DENIED);
	assert_string_equal(why.code, "AccessDenied");
	/* remembered: answered at once, STS not asked again */
	for (int i = 0; i < 10; i++) {
		memset(&why, 0, sizeof(why));
		assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, NULL, &s, NULL, &why),
				 FED_ERR_DENIED);
		assert_string_equal(why.code, "AccessDenied");
		assert_non_null(strstr(why.message, "because AccessDenied"));
	}
	assert_int_equal(fake_nrequests(f), 1);
	fed_cache_stats(c, &st);
	assert_int_equal(st.negative_hits, 10);
	assert_int_equal(st.sts_failures, 1);
	/* until FED_CACHE_NEG_FINAL_MS has passed */
	fake_advance(f, FED_CACHE_NEG_FINAL_MS - 1);
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, NULL, &s, NULL, &why), FED_ERR_DENIED);
	fake_advance(f, 1);
	reply_creds(f, "ASIAALLOWED", "2025-12-01T02:00:00Z");
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	fed_snap_unref(s);
	assert_int_equal(fake_nrequests(f), 2);

	/* a transient failure is remembered for less */
	struct fed_cache_key k2 = key_of("arn:aws:iam::1:role/Busy");
	reply_error(f, 400, "Throttling");
	int rv = get(c, f, &k2, &base, &s, &why);
	assert_true(rv == FED_ERR_THROTTLED);
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k2, &base, on_done, NULL, &s, NULL, &why),
			 FED_ERR_THROTTLED);
	fake_advance(f, FED_CACHE_NEG_TRANSIENT_MS);
	reply_creds(f, "ASIABUSY", "2025-12-01T02:00:00Z");
	assert_int_equal(get(c, f, &k2, &base, &s, &why), 0);
	fed_snap_unref(s);

	/* a validation error is final too */
	struct fed_cache_key k3 = key_of("arn:aws:iam::1:role/Bad");
	reply_error(f, 400, "ValidationError");
	assert_int_equal(get(c, f, &k3, &base, &s, &why), FED_ERR_REJECTED);
	fake_advance(f, FED_CACHE_NEG_TRANSIENT_MS);
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k3, &base, on_done, NULL, &s, NULL, &why),
			 FED_ERR_REJECTED);
	fed_cache_del(c);
	assert_int_equal(fake_unmatched(f), 0);
	fake_del(f);
}

static void test_lru(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_cache *c = cache_of(f, 3, 0);
	struct fed_snap *s, *held = NULL;
	struct fed_sts_error why;
	struct fed_cache_stats st;
	struct fed_cache_key k[4];
	const char *roles[4] = {"arn:aws:iam::1:role/R0", "arn:aws:iam::1:role/R1", "arn:aws:iam::1:role/R2",
				"arn:aws:iam::1:role/R3"};

	for (int i = 0; i < 4; i++)
		k[i] = key_of(roles[i]);
	for (int i = 0; i < 3; i++) {
		char akid[16];
		snprintf(akid, sizeof(akid), "ASIALRU%d", i);
		reply_creds(f, akid, IN_1H);
		assert_int_equal(get(c, f, &k[i], &base, &s, &why), 0);
		if (i == 1)
			held = s;
		else
			fed_snap_unref(s);
	}
	/* R0 used again: R1 is now the least recently used; R2 is evicted
	 * later, while nobody holds its snapshot */
	assert_int_equal(get(c, f, &k[0], &base, &s, &why), 0);
	fed_snap_unref(s);
	nwiped = 0;
	reply_creds(f, "ASIALRU3", IN_1H);
	assert_int_equal(get(c, f, &k[3], &base, &s, &why), 0);
	fed_snap_unref(s);
	/* R1's snapshot is still held below: not wiped yet */
	assert_false(was_wiped("secret-ASIALRU1"));
	fed_cache_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(fake_nrequests(f), 4);
	/* R0, R2, R3 are hits; R1 is asked for again */
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		assert_int_equal(fed_cache_get(c, fake_transport(f), &k[i], &base, on_done, NULL, &s, NULL, &why), 0);
		fed_snap_unref(s);
	}
	assert_int_equal(fake_nrequests(f), 4);
	/* the evicted entry's snapshot is still whole for whoever holds it,
	 * and wiped when they let it go */
	assert_string_equal(fed_snap_creds(held)->secret_access_key, "secret-ASIALRU1");
	fed_snap_unref(held);
	assert_true(was_wiped("secret-ASIALRU1"));
	assert_true(was_wiped("token-ASIALRU1"));
	/* an entry evicted while nobody holds it is wiped at once */
	nwiped = 0;
	reply_creds(f, "ASIALRU1B", IN_1H);
	assert_int_equal(get(c, f, &k[1], &base, &s, &why), 0);
	fed_snap_unref(s);
	/* (R0, R2, R3 were used in that order: R0 was the least recent) */
	assert_true(was_wiped("secret-ASIALRU0"));
	assert_true(was_wiped("token-ASIALRU0"));
	assert_false(was_wiped("secret-ASIALRU2"));
	assert_false(was_wiped("secret-ASIALRU3"));
	assert_int_equal(fake_nrequests(f), 5);
	fed_cache_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 2);

	/* an entry with a call in flight is never evicted */
	struct got g = {0};
	struct fed_wait *w;
	struct fed_cache_key busy = key_of("arn:aws:iam::1:role/Busy");
	reply_creds(f, "ASIABUSY", IN_1H);
	assert_int_equal(fed_cache_get(c, fake_transport(f), &busy, &base, on_done, &g, &s, &w, &why), FED_PENDING);
	for (int i = 0; i < 4; i++) {
		reply_creds(f, "ASIALRU", IN_1H);
		assert_int_equal(get(c, f, &k[i], &base, &s, &why), 0);
		fed_snap_unref(s);
	}
	assert_int_equal(g.called, 1);
	assert_int_equal(g.err, 0);
	fed_snap_unref(g.snap);

	/* clear drops everything, and free wipes what is left */
	fed_cache_clear(c);
	fed_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	reply_creds(f, "ASIALAST", IN_1H);
	assert_int_equal(get(c, f, &k[0], &base, &s, &why), 0);
	/* (replies queued for keys that turned out to be hits come first) */
	char secret[64], token[64];
	snprintf(secret, sizeof(secret), "%s", fed_snap_creds(s)->secret_access_key);
	snprintf(token, sizeof(token), "%s", fed_snap_creds(s)->session_token);
	fed_snap_unref(s);
	nwiped = 0;
	fed_cache_del(c);
	assert_true(was_wiped(secret));
	assert_true(was_wiped(token));
	fake_del(f);
}

static void test_del_in_flight(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct fed_cache *c = cache_of(f, 0, 0);
	struct fed_cache_key k = key_of("arn:aws:iam::1:role/A");
	struct got g = {0};
	struct fed_wait *w;
	struct fed_snap *s;
	struct fed_sts_error why;

	fake_reply_delay(reply_creds(f, "ASIADEL", IN_1H), 100);
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, &g, &s, &w, &why), FED_PENDING);
	fake_run(f); /* the request is out, its answer 100 ms away */
	assert_int_equal(fake_nrequests(f), 1);
	fed_cache_del(c);
	fake_settle(f, 10000);
	assert_int_equal(g.called, 0);
	assert_int_equal(fake_misuse(f), 0);
	fake_del(f);
}

/* The audit hook: one event per AssumeRole, with the key's fields copied
 * (the key is gone by then), the outcome, and whether a refresh made it. */
struct sts_seen {
	int n;
	char role[128], session[64], source[64], code[64], arn[128], request_id[64];
	bool external_id, refresh, source_null;
	int err;
	int64_t expiration;
	uint32_t duration, attempts;
};

static void on_sts(void *arg, const struct fed_cache_sts_event *ev)
{
	struct sts_seen *s = arg;
	s->n++;
	snprintf(s->role, sizeof(s->role), "%s", ev->role_arn);
	snprintf(s->session, sizeof(s->session), "%s", ev->session_name);
	s->source_null = ev->source_identity == NULL;
	snprintf(s->source, sizeof(s->source), "%s", ev->source_identity != NULL ? ev->source_identity : "");
	snprintf(s->code, sizeof(s->code), "%s", ev->code);
	snprintf(s->arn, sizeof(s->arn), "%s", ev->assumed_role_arn != NULL ? ev->assumed_role_arn : "");
	snprintf(s->request_id, sizeof(s->request_id), "%s", ev->request_id);
	s->external_id = ev->external_id;
	s->refresh = ev->refresh;
	s->err = ev->err;
	s->expiration = ev->expiration;
	s->duration = ev->duration_seconds;
	s->attempts = ev->attempts;
}

static void test_sts_events(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct sts_seen seen;
	struct fed_cache_options o = {0, 0, 1, 0, on_sts, &seen};
	struct fed_cache *c;
	struct fed_snap *s;
	struct fed_sts_error why;
	char role[64];

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(fed_cache_new(fake_env(f), &o, &c), 0);
	/* the key's strings live in a buffer overwritten after the call */
	snprintf(role, sizeof(role), "arn:aws:iam::1:role/Audited");
	struct fed_cache_key k = key_of(role);
	reply_creds(f, "ASIAAUD", IN_1H);
	struct got g = {0};
	struct fed_wait *w = NULL;
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k, &base, on_done, &g, &s, &w, &why), FED_PENDING);
	memset(role, 'x', sizeof(role) - 1);
	fake_settle(f, 60000);
	assert_int_equal(g.called, 1);
	assert_int_equal(g.err, 0);
	fed_snap_unref(g.snap);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.role, "arn:aws:iam::1:role/Audited");
	assert_string_equal(seen.session, "alice");
	assert_string_equal(seen.source, "alice");
	assert_true(seen.external_id);
	assert_false(seen.refresh);
	assert_int_equal(seen.err, 0);
	assert_int_equal(seen.duration, 3600);
	assert_int_equal(seen.expiration, FAKE_START_MS / 1000 + 3600);
	assert_string_equal(seen.arn, "arn:aws:sts::1:assumed-role/R/alice");
	assert_string_equal(seen.request_id, "r");
	assert_string_equal(seen.code, "");

	/* a hit makes no event; a refresh does, marked so */
	snprintf(role, sizeof(role), "arn:aws:iam::1:role/Audited");
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	fed_snap_unref(s);
	assert_int_equal(seen.n, 1);
	fake_set_now(f, FAKE_START_MS + HOUR_MS - FED_CACHE_REFRESH_AHEAD_S * 1000 + 1);
	reply_creds(f, "ASIAAUD2", IN_2H);
	assert_int_equal(get(c, f, &k, &base, &s, &why), 0);
	fed_snap_unref(s);
	fake_run(f);
	assert_int_equal(seen.n, 2);
	assert_true(seen.refresh);

	/* a denial: AWS's code, no expiry, no source identity asked */
	struct fed_cache_key k2 = key_of("arn:aws:iam::1:role/Refused");
	k2.source_identity = NULL;
	k2.external_id = NULL;
	reply_error(f, 403, "AccessDenied");
	assert_int_equal(get(c, f, &k2, &base, &s, &why), FED_ERR_DENIED);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.err, FED_ERR_DENIED);
	assert_string_equal(seen.code, "AccessDenied");
	assert_string_equal(seen.request_id, "req-e");
	assert_int_equal(seen.expiration, 0);
	assert_true(seen.source_null);
	assert_false(seen.external_id);
	assert_int_equal(seen.attempts, 1);
	/* the cached failure answers without another event */
	assert_int_equal(fed_cache_get(c, fake_transport(f), &k2, &base, on_done, NULL, &s, NULL, &why),
			 FED_ERR_DENIED);
	assert_int_equal(seen.n, 3);
	fed_cache_del(c);
	assert_int_equal(fake_unmatched(f), 0);
	fake_del(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_then_hit), cmocka_unit_test(test_key_fields),
		cmocka_unit_test(test_refresh),       cmocka_unit_test(test_single_flight),
		cmocka_unit_test(test_several_loops), cmocka_unit_test(test_post_fails),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_lru),           cmocka_unit_test(test_del_in_flight),
		cmocka_unit_test(test_sts_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
