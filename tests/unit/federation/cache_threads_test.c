/* SPDX-License-Identifier: Apache-2.0 */
/* cache_threads_test.c: worker threads, each with its own loop, hammer one credential cache: no race, no leak, every waiter answered on its own loop. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "federation/creds_int.h"
#include "sigv4/sigv4.h"

/*
 * A minimal thread-safe loop per worker: a task queue with a mutex and a
 * condition variable. http_start answers every AssumeRole with fresh
 * credentials valid for 900 s of the shared clock (403 AccessDenied for
 * roles named "Denied"), timers fire at once, post may come from any
 * thread. The clock moves forward as the workers go, so entries expire,
 * refresh, fail and are evicted while other threads use them.
 */

#define NTHREADS 4
#define ITERATIONS 3000
#define NKEYS 10
#define MAX_ENTRIES 9

enum task_kind { TASK_FN, TASK_HTTP };

struct task {
	struct task *next;
	enum task_kind kind;
	bool cancelled;
	fed_task_fn *fn;
	void *arg;
	fed_http_done_fn *hdone;
	bool denied;
	struct loop *owner;
};

struct loop {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct task *head;
	struct task *tail;
	struct fed_transport t;
	pthread_t thread;
	int id;
	unsigned seed;
	/* results */
	long gets, hits, pendings, answered, cancels, denied, bad;
};

static atomic_llong clock_ms;
static atomic_long inflight;     /* tasks queued anywhere */
static atomic_long http_requests;
static atomic_long akid_counter;
static atomic_int finished;      /* workers done with their iterations */
static atomic_uint rnd_state = 12345;
static struct fed_cache *cache;
static struct fed_cache_key keys[NKEYS];
static char role_names[NKEYS][64];
static char base_akid[] = "AKIDTHREADS";
static char base_secret[] = "threads-secret";
static const struct fed_creds base = {base_akid, base_secret, NULL, 0, true, "test"};

static const char *env_getenv(void *arg, const char *name)
{
	(void)arg;
	(void)name;
	return NULL;
}

static int env_read_file(void *arg, const char *path, size_t max, char **data, size_t *len)
{
	(void)arg;
	(void)path;
	(void)max;
	(void)data;
	(void)len;
	return FED_ERR_NO_CREDENTIALS;
}

static int64_t env_now_ms(void *arg)
{
	(void)arg;
	return atomic_load(&clock_ms);
}

static uint32_t env_random(void *arg)
{
	(void)arg;
	unsigned x = atomic_fetch_add(&rnd_state, 0x9e3779b9u);
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static const struct fed_env env = {NULL, env_getenv, env_read_file, env_now_ms, env_random};

static void enqueue(struct loop *l, struct task *t)
{
	atomic_fetch_add(&inflight, 1);
	pthread_mutex_lock(&l->mu);
	t->next = NULL;
	if (l->tail != NULL)
		l->tail->next = t;
	else
		l->head = t;
	l->tail = t;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static int t_http_start(void *arg, const struct fed_http_request *req, fed_http_done_fn *done, void *done_arg,
                        struct fed_call **call)
{
	struct loop *l = arg;
	struct task *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return FED_ERR_NOMEM;
	t->kind = TASK_HTTP;
	t->hdone = done;
	t->arg = done_arg;
	t->owner = l;
	const char *b = req->body;
	for (size_t i = 0; b != NULL && i + 6 <= req->body_len && !t->denied; i++)
		t->denied = memcmp(b + i, "Denied", 6) == 0;
	atomic_fetch_add(&http_requests, 1);
	enqueue(l, t);
	*call = (struct fed_call *)t;
	return 0;
}

static void t_http_cancel(void *arg, struct fed_call *call)
{
	(void)arg;
	((struct task *)call)->cancelled = true; /* on the owner's thread, as the task runs */
}

static int t_timer_start(void *arg, uint32_t delay_ms, fed_task_fn *fn, void *fn_arg, struct fed_timer **timer)
{
	struct loop *l = arg;
	(void)delay_ms;
	struct task *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return FED_ERR_NOMEM;
	t->kind = TASK_FN;
	t->fn = fn;
	t->arg = fn_arg;
	enqueue(l, t);
	*timer = (struct fed_timer *)t;
	return 0;
}

static void t_timer_cancel(void *arg, struct fed_timer *timer)
{
	(void)arg;
	((struct task *)timer)->cancelled = true;
}

static int t_post(void *arg, fed_task_fn *fn, void *fn_arg)
{
	struct loop *l = arg;
	struct task *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return FED_ERR_NOMEM;
	t->kind = TASK_FN;
	t->fn = fn;
	t->arg = fn_arg;
	enqueue(l, t);
	return 0;
}

static void run_http(struct task *t)
{
	char body[2048], date[17], iso[32];
	struct fed_http_response res;
	memset(&res, 0, sizeof(res));
	if (t->denied) {
		snprintf(body, sizeof(body),
			 "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message>"
			 "</Error><RequestId>r</RequestId></ErrorResponse>");
		res.status = 403;
	} else {
		int64_t exp = atomic_load(&clock_ms) / 1000 + 900;
		assert_int_equal(sv4_format_time(date, exp), 0);
		snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", date, date + 4, date + 6, date + 9, date + 11,
			 date + 13);
		long n = atomic_fetch_add(&akid_counter, 1);
		snprintf(body, sizeof(body),
			 "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA%08ld</AccessKeyId>"
			 "<SecretAccessKey>secret-%08ld</SecretAccessKey><SessionToken>token-%08ld</SessionToken>"
			 "<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/R/u"
			 "</Arn><AssumedRoleId>AROA:u</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>"
			 "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>",
			 n, n, n, iso);
		res.status = 200;
	}
	res.body = body;
	res.body_len = strlen(body);
	t->hdone(t->arg, &res);
}

/* Runs one task; waits up to |wait_ms| for one (0: do not wait). Returns whether one ran. */
static bool loop_run_one(struct loop *l, int wait_ms)
{
	pthread_mutex_lock(&l->mu);
	if (l->head == NULL && wait_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)wait_ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	struct task *t = l->head;
	if (t != NULL) {
		l->head = t->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	pthread_mutex_unlock(&l->mu);
	if (t == NULL)
		return false;
	if (!t->cancelled) {
		if (t->kind == TASK_HTTP)
			run_http(t);
		else
			t->fn(t->arg);
	}
	free(t);
	atomic_fetch_sub(&inflight, 1);
	return true;
}

struct got {
	int called;
	int err;
	struct fed_snap *snap;
	struct loop *expected_loop;
	struct loop *current;
};

static _Thread_local struct loop *current_loop;

static void on_done(void *arg, int err, struct fed_snap *s, const struct fed_sts_error *why)
{
	struct got *g = arg;
	(void)why;
	/* every answer arrives on the loop of the thread that asked */
	if (current_loop != g->expected_loop)
		g->expected_loop->bad++;
	g->called++;
	g->err = err;
	g->snap = s;
}

static void use(struct loop *l, struct fed_snap *s)
{
	const struct fed_creds *c = fed_snap_creds(s);
	/* reads every byte, so that a freed or wiped snapshot shows (ASan, or the checks) */
	if (strncmp(c->access_key_id, "ASIA", 4) != 0 || strncmp(c->secret_access_key, "secret-", 7) != 0 ||
	    strcmp(c->access_key_id + 4, c->secret_access_key + 7) != 0 || c->session_token == NULL)
		l->bad++;
	fed_snap_unref(s);
}

static unsigned next_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static void *worker(void *arg)
{
	struct loop *l = arg;
	current_loop = l;
	for (int i = 0; i < ITERATIONS; i++) {
		atomic_fetch_add(&clock_ms, (long long)(next_rand(&l->seed) % 10000));
		const struct fed_cache_key *k = &keys[next_rand(&l->seed) % NKEYS];
		struct got g = {0, 0, NULL, l, l};
		struct fed_snap *s = NULL;
		struct fed_wait *w = NULL;
		struct fed_sts_error why;
		l->gets++;
		int rv = fed_cache_get(cache, &l->t, k, &base, on_done, &g, &s, &w, &why);
		if (rv == 0) {
			l->hits++;
			use(l, s);
		} else if (rv == FED_PENDING) {
			l->pendings++;
			if (next_rand(&l->seed) % 8 == 0) {
				fed_wait_cancel(w);
				l->cancels++;
			} else {
				while (g.called == 0)
					loop_run_one(l, 50);
				l->answered++;
				if (g.err == 0)
					use(l, g.snap);
				else if (g.err == FED_ERR_DENIED)
					l->denied++;
				else
					l->bad++;
			}
		} else if (rv == FED_ERR_DENIED) {
			l->denied++;
		} else {
			l->bad++;
		}
		while (loop_run_one(l, 0))
			; /* background refreshes, posts to cancelled waiters */
	}
	atomic_fetch_add(&finished, 1);
	/* Answers for waits this thread cancelled can still be posted here. */
	while (atomic_load(&finished) < NTHREADS || atomic_load(&inflight) > 0)
		loop_run_one(l, 5);
	return NULL;
}

static void test_hammer(void **state)
{
	(void)state;
	struct loop loops[NTHREADS];
	struct fed_cache_options o = {MAX_ENTRIES, 0, 1, 0, NULL, NULL};
	struct fed_cache_stats st;

	atomic_store(&clock_ms, INT64_C(1764547200000));
	assert_int_equal(fed_cache_new(&env, &o, &cache), 0);
	for (int i = 0; i < NKEYS; i++) {
		snprintf(role_names[i], sizeof(role_names[i]), "arn:aws:iam::123456789012:role/%s%d",
			 i % 5 == 4 ? "Denied" : "App", i);
		memset(&keys[i], 0, sizeof(keys[i]));
		keys[i].role_arn = role_names[i];
		keys[i].session_name = "alice";
		keys[i].duration_seconds = 900;
		keys[i].partition = "aws";
		keys[i].region = "us-east-1";
	}
	memset(loops, 0, sizeof(loops));
	for (int i = 0; i < NTHREADS; i++) {
		struct loop *l = &loops[i];
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->cv, NULL);
		l->id = i;
		l->seed = (unsigned)(i * 7919 + 1);
		l->t = (struct fed_transport){l, t_http_start, t_http_cancel, t_timer_start, t_timer_cancel, t_post, NULL};
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&loops[i].thread, NULL, worker, &loops[i]), 0);
	long gets = 0, hits = 0, pendings = 0, answered = 0, cancels = 0, denied = 0, bad = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(loops[i].thread, NULL);
		gets += loops[i].gets;
		hits += loops[i].hits;
		pendings += loops[i].pendings;
		answered += loops[i].answered;
		cancels += loops[i].cancels;
		denied += loops[i].denied;
		bad += loops[i].bad;
	}
	fed_cache_stats(cache, &st);
	print_message("gets %ld hits %ld pending %ld (joined %llu) cancelled %ld denied %ld; sts %ld; refreshes %llu "
		      "evictions %llu negative hits %llu\n",
		      gets, hits, pendings, (unsigned long long)st.joins, cancels, denied, atomic_load(&http_requests),
		      (unsigned long long)st.refreshes, (unsigned long long)st.evictions,
		      (unsigned long long)st.negative_hits);
	assert_int_equal(bad, 0);
	assert_int_equal(gets, NTHREADS * ITERATIONS);
	assert_int_equal(answered + cancels, pendings);
	/* the counters agree with what the callers saw */
	assert_int_equal(st.hits, (uint64_t)hits);
	assert_int_equal(st.misses, (uint64_t)pendings);
	assert_int_equal(st.hits + st.misses + st.negative_hits, (uint64_t)gets);
	assert_int_equal(st.sts_calls, (uint64_t)atomic_load(&http_requests));
	assert_true(st.sts_calls <= st.misses - st.joins + st.refreshes);
	assert_int_equal(st.post_failures, 0);
	assert_true(st.entries <= MAX_ENTRIES);
	assert_true(st.evictions > 0);
	assert_true(st.refreshes > 0);
	assert_true(st.negative_hits > 0);
	assert_int_equal(atomic_load(&inflight), 0);
	fed_cache_del(cache);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_mutex_destroy(&loops[i].mu);
		pthread_cond_destroy(&loops[i].cv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hammer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
