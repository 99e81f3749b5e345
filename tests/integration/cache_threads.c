/* SPDX-License-Identifier: Apache-2.0 */
/* cache_threads.c: the credential cache shared by worker threads, each with its own libev loop and libcurl transport.
 *
 * Usage: cache_threads STS_ENDPOINT_URL CA_FILE THREADS ROLE_ARN EXTERNAL_ID
 * with the gate's keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Every
 * thread asks for the same role at once; each answer must arrive on the
 * thread that asked. Prints one line per thread ("thread N: ASIA... on its
 * own loop") and the cache's counters; cache-threads.test counts the
 * AssumeRole calls the fake AWS saw. Exit 0 when every thread got
 * credentials on its own loop. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>

#include "federation/federation.h"
#include "proxy/proxy.h"

#define MAX_THREADS 16

struct worker {
	int id;
	pthread_t thread;
	struct fed_cache *cache;
	const struct fed_creds *base;
	const struct fed_cache_key *key;
	const char *ca_file;
	pthread_barrier_t *start;
	/* The answer. */
	int done;
	int err;
	int on_own_thread;
	char access_key_id[64];
};

static void got(void *arg, int err, struct fed_snap *creds, const struct fed_sts_error *why)
{
	struct worker *w = arg;
	w->done = 1;
	w->err = err;
	w->on_own_thread = pthread_equal(pthread_self(), w->thread);
	if (creds != NULL) {
		snprintf(w->access_key_id, sizeof(w->access_key_id), "%s", fed_snap_creds(creds)->access_key_id);
		fed_snap_unref(creds);
	} else if (why != NULL) {
		fprintf(stderr, "thread %d: %s: %s %s\n", w->id, fed_strerror(err), why->code, why->message);
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_transport *t = px_transport_new(loop, w->ca_file, NULL, 0);
	if (loop == NULL || t == NULL) {
		w->err = FED_ERR_NOMEM;
		return NULL;
	}
	pthread_barrier_wait(w->start);
	struct fed_snap *snap = NULL;
	struct fed_wait *wait = NULL;
	struct fed_sts_error why;
	int rv = fed_cache_get(w->cache, px_transport_fed(t), w->key, w->base, got, w, &snap, &wait, &why);
	if (rv == 0) {
		got(w, 0, snap, NULL);
	} else if (rv == FED_PENDING) {
		double end = ev_time() + 60;
		while (!w->done && ev_time() < end)
			ev_run(loop, EVRUN_ONCE);
		if (!w->done) {
			fed_wait_cancel(wait);
			w->err = FED_ERR_TIMEOUT;
		}
	} else {
		w->err = rv;
	}
	px_transport_del(t);
	ev_loop_destroy(loop);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fputs("usage: cache_threads STS_ENDPOINT_URL CA_FILE THREADS ROLE_ARN EXTERNAL_ID\n", stderr);
		return 2;
	}
	char *end;
	long n = strtol(argv[3], &end, 10);
	if (*end != '\0' || n < 1 || n > MAX_THREADS)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct fed_env env;
	px_env_init(&env);
	struct fed_creds base = {
		.access_key_id = getenv("AWS_ACCESS_KEY_ID"),
		.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY"),
		.long_term = true,
	};
	if (base.access_key_id == NULL || base.secret_access_key == NULL)
		return 2;
	struct fed_cache *cache = NULL;
	struct fed_cache_options opt = {0};
	if (fed_cache_new(&env, &opt, &cache) != 0)
		return 2;
	struct fed_cache_key key = {
		.role_arn = argv[4],
		.external_id = argv[5],
		.session_name = "alice",
		.source_identity = "alice",
		.duration_seconds = 3600,
		.partition = "aws",
		.region = "us-east-1",
		.endpoint_url = argv[1],
	};
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)n);
	struct worker w[MAX_THREADS];
	memset(w, 0, sizeof(w));
	for (long i = 0; i < n; i++) {
		w[i] = (struct worker){.id = (int)i, .cache = cache, .base = &base, .key = &key, .ca_file = argv[2],
		                       .start = &start};
		pthread_create(&w[i].thread, NULL, run, &w[i]);
	}
	int bad = 0;
	for (long i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		printf("thread %ld: %s %s\n", i, w[i].err == 0 ? w[i].access_key_id : fed_strerror(w[i].err),
		       w[i].on_own_thread ? "on its own loop" : "ON ANOTHER THREAD");
		if (w[i].err != 0 || !w[i].on_own_thread || strcmp(w[i].access_key_id, w[0].access_key_id) != 0)
			bad = 1;
	}
	struct fed_cache_stats st;
	fed_cache_stats(cache, &st);
	printf("sts_calls %llu misses %llu joins %llu hits %llu\n", (unsigned long long)st.sts_calls,
	       (unsigned long long)st.misses, (unsigned long long)st.joins, (unsigned long long)st.hits);
	fed_cache_del(cache);
	pthread_barrier_destroy(&start);
	curl_global_cleanup();
	return bad;
}
