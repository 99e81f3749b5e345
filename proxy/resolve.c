/* SPDX-License-Identifier: Apache-2.0 */
/* resolve.c: getaddrinfo on helper threads with a process-wide LRU cache; answers delivered on the asking worker's loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "list.h"
#include "resolve.h"
#include "resolve_int.h"

/*
 * One mutex guards everything that changes: the cache, the job queue, the
 * waiting queries and each loop's list of answered queries. Worker loops
 * hold it only to look up or link; resolver threads drop it around
 * getaddrinfo(). An answer reaches a loop by moving the query to the loop's
 * done list and ev_async_send(), both under the mutex, so a loop that is
 * being deleted (which also takes the mutex) is never signalled after.
 */

/* A cached name: pending (a job queued or running, queries waiting) or done. */
struct entry {
	char name[PX_RESOLVE_MAX_NAME + 1]; /* lower case, no trailing dot */
	uint32_t hash;
	bool done;
	double expires;                 /* CLOCK_MONOTONIC seconds, when done */
	struct entry *hnext;            /* hash chain */
	struct px_link lru;             /* on the resolver's |lru|, done entries only */
	struct entry *qnext;            /* job queue, pending entries only */
	struct px_list waiters;         /* px_resolve_query.link, pending entries only */
	struct px_resolve_answer ans;
};

struct px_resolve_query {
	struct px_resolve_loop *rl;
	struct entry *e;                          /* waiting on it; NULL once answered */
	struct px_link link;                      /* on e->waiters, then on rl->done */
	px_resolve_fn *fn;
	void *arg;
	struct px_resolve_answer ans;
};

struct px_resolve_loop {
	struct px_resolver *r;
	struct ev_loop *loop;
	ev_async async;
	struct px_list done; /* px_resolve_query.link: answered, callback not yet called */
	bool dispatching; /* in resolve_loop_async_cb() */
	bool deleted;     /* px_resolve_loop_del() was called from a callback */
};

struct px_resolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *threads;
	unsigned nthreads;
	bool stop;
	bool hold; /* tests: threads leave the queue alone */
	double ttl, neg_ttl;
	size_t max_entries;
	struct px_hosts *hosts;
	struct entry **buckets;
	size_t nbuckets;               /* a power of two */
	struct px_list lru;            /* entry.lru: done entries, the most recently used first */
	struct entry *qhead, *qtail;   /* job queue */
	uint64_t hits, lookups, failures;
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* --- the cache (under r->mu) ------------------------------------------------ */

static struct entry *cache_find(struct px_resolver *r, const char *name, uint32_t hash)
{
	for (struct entry *e = r->buckets[hash & (r->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == hash && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void cache_unhash(struct px_resolver *r, struct entry *e)
{
	struct entry **pp = &r->buckets[e->hash & (r->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
}

static struct px_resolve_query *query_of(struct px_link *l)
{
	return PX_CONTAINER_OF(l, struct px_resolve_query, link);
}

static void queue_push(struct px_resolver *r, struct entry *e)
{
	e->qnext = NULL;
	if (r->qtail)
		r->qtail->qnext = e;
	else
		r->qhead = e;
	r->qtail = e;
	pthread_cond_signal(&r->cv);
}

/* --- the threads ------------------------------------------------------------- */

static int addr_seen(const struct px_resolve_answer *a, const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct sockaddr_storage *o = &a->addrs[i];
		if (o->ss_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)o)->sin_addr, &((const struct sockaddr_in *)ss)->sin_addr,
		           sizeof(struct in_addr)) == 0)
			return 1;
		if (ss->ss_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)o)->sin6_addr, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		           sizeof(struct in6_addr)) == 0 &&
		    ((const struct sockaddr_in6 *)o)->sin6_scope_id == ((const struct sockaddr_in6 *)ss)->sin6_scope_id)
			return 1;
	}
	return 0;
}

/* getaddrinfo() for |name| into |a|; no lock held. */
static void lookup(const char *name, struct px_resolve_answer *a)
{
	struct addrinfo hints, *res = NULL;
	int rv;

	memset(&hints, 0, sizeof(hints));
	/* No AI_ADDRCONFIG: a host with only loopback configured must still get
	 * answers (tests, air-gapped installs with a hosts file). */
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	memset(a, 0, sizeof(*a));
	rv = getaddrinfo(name, NULL, &hints, &res);
	if (rv != 0) {
		a->err = PX_ERR_RESOLVE;
		if (rv == EAI_SYSTEM)
			snprintf(a->detail, sizeof(a->detail), "%s: %s", gai_strerror(rv), strerror(errno));
		else
			snprintf(a->detail, sizeof(a->detail), "%s", gai_strerror(rv));
		return;
	}
	for (const struct addrinfo *ai = res; ai && a->n < PX_RESOLVE_MAX_ADDRS; ai = ai->ai_next) {
		struct sockaddr_storage ss;
		if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in)) {
			memset(&ss, 0, sizeof(ss));
			memcpy(&ss, ai->ai_addr, sizeof(struct sockaddr_in));
			((struct sockaddr_in *)&ss)->sin_port = 0;
		} else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			memset(&ss, 0, sizeof(ss));
			memcpy(&ss, ai->ai_addr, sizeof(struct sockaddr_in6));
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
		} else {
			continue;
		}
		if (!addr_seen(a, &ss))
			a->addrs[a->n++] = ss;
	}
	freeaddrinfo(res);
	if (a->n == 0) {
		a->err = PX_ERR_RESOLVE;
		snprintf(a->detail, sizeof(a->detail), "no IPv4 or IPv6 address");
	}
}

/* Evicts the least recently used done entries over the limit. */
static void cache_trim(struct px_resolver *r)
{
	while (r->lru.n > r->max_entries) {
		struct entry *e = PX_CONTAINER_OF(r->lru.last, struct entry, lru);
		px_list_unlink(&r->lru, &e->lru);
		cache_unhash(r, e);
		free(e);
	}
}

/* Stores |a| as |e|'s answer and hands it to every waiting query. */
static void entry_complete(struct px_resolver *r, struct entry *e, const struct px_resolve_answer *a)
{
	e->ans = *a;
	e->done = true;
	e->expires = now_mono() + (a->err ? r->neg_ttl : r->ttl);
	px_list_push(&r->lru, &e->lru);
	while (e->waiters.first) {
		struct px_resolve_query *q = query_of(e->waiters.first);
		px_list_unlink(&e->waiters, &q->link);
		q->e = NULL;
		q->ans = *a;
		px_list_push(&q->rl->done, &q->link);
		ev_async_send(q->rl->loop, &q->rl->async);
	}
	cache_trim(r);
}

static void *resolver_main(void *arg)
{
	struct px_resolver *r = arg;
	struct px_resolve_answer *a = malloc(sizeof(*a));
	char name[PX_RESOLVE_MAX_NAME + 1];

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && (r->hold || r->qhead == NULL))
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		struct entry *e = r->qhead;
		r->qhead = e->qnext;
		if (r->qhead == NULL)
			r->qtail = NULL;
		/* The entry stays hashed and pending (so others join it) and is
		 * freed by no one else while we look its name up. */
		memcpy(name, e->name, sizeof(name));
		pthread_mutex_unlock(&r->mu);
		if (a)
			lookup(name, a);
		pthread_mutex_lock(&r->mu);
		if (a == NULL) {
			/* Out of memory at start: answer with a failure, not at all
			 * would leave the queries waiting forever. */
			struct px_resolve_answer fail = {.err = PX_ERR_RESOLVE, .detail = "out of memory"};
			r->failures++;
			entry_complete(r, e, &fail);
			continue;
		}
		r->lookups++;
		if (a->err)
			r->failures++;
		entry_complete(r, e, a);
	}
	pthread_mutex_unlock(&r->mu);
	free(a);
	return NULL;
}

/* --- the resolver -------------------------------------------------------------- */

static void resolver_free(struct px_resolver *r)
{
	for (size_t i = 0; r->buckets && i < r->nbuckets; i++) {
		struct entry *e = r->buckets[i];
		while (e) {
			struct entry *n = e->hnext;
			free(e);
			e = n;
		}
	}
	free(r->buckets);
	free(r->threads);
	px_hosts_del(r->hosts);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static int hosts_load(struct px_resolver *r, const char *path, char *errbuf, size_t errsize)
{
	char *text = NULL, why[256];
	size_t len = 0;
	int rv = px_file_read(path, PX_HOSTS_MAX_BYTES, &text, &len, why, sizeof(why));

	if (rv == PX_ERR_TOO_LARGE) {
		snprintf(errbuf, errsize, "%s: over %d bytes", path, PX_HOSTS_MAX_BYTES);
		return rv;
	}
	if (rv == PX_ERR_NOMEM) {
		snprintf(errbuf, errsize, "%s: out of memory", path);
		return rv;
	}
	if (rv != 0) {
		snprintf(errbuf, errsize, "cannot read the hosts file %s: %s", path, why);
		return PX_ERR_IO;
	}
	rv = px_hosts_parse(text, len, path, &r->hosts, errbuf, errsize);
	free(text);
	return rv;
}

int px_resolver_new(unsigned nthreads, double ttl_s, double neg_ttl_s, size_t max_entries, const char *hosts_file,
                    char *errbuf, size_t errsize, struct px_resolver **out)
{
	struct px_resolver *r;
	sigset_t all, old;
	int rv;

	if (!(ttl_s >= 0 && ttl_s < 1e9) || !(neg_ttl_s >= 0 && neg_ttl_s < 1e9)) {
		snprintf(errbuf, errsize, "a cache lifetime must be a number of seconds, 0 or more");
		return PX_ERR_INVALID;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto nomem;
	r->nthreads = nthreads ? nthreads : 2;
	r->ttl = ttl_s > 0 ? ttl_s : 30;
	r->neg_ttl = neg_ttl_s > 0 ? neg_ttl_s : 5;
	r->max_entries = max_entries ? max_entries : 4096;
	r->nbuckets = 16;
	while (r->nbuckets < r->max_entries && r->nbuckets < 65536)
		r->nbuckets *= 2;
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		free(r);
		goto nomem;
	}
	if (pthread_cond_init(&r->cv, NULL) != 0) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		goto nomem;
	}
	if ((r->buckets = calloc(r->nbuckets, sizeof(*r->buckets))) == NULL ||
	    (r->threads = calloc(r->nthreads, sizeof(*r->threads))) == NULL) {
		resolver_free(r);
		goto nomem;
	}
	if (hosts_file && (rv = hosts_load(r, hosts_file, errbuf, errsize)) != 0) {
		resolver_free(r);
		return rv;
	}
	/* The threads inherit a mask that blocks everything: signals are the
	 * main thread's business (SIGHUP, SIGTERM), and SIGPIPE never hits a
	 * resolver thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < r->nthreads; i++) {
		if (pthread_create(&r->threads[i], NULL, resolver_main, r) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			r->nthreads = i;
			px_resolver_del(r);
			snprintf(errbuf, errsize, "cannot start a resolver thread");
			return PX_ERR_STATE;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = r;
	return 0;
nomem:
	snprintf(errbuf, errsize, "out of memory");
	return PX_ERR_NOMEM;
}

void px_resolver_del(struct px_resolver *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	for (unsigned i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	resolver_free(r);
}

void px_resolver_stats(struct px_resolver *r, uint64_t *hits, uint64_t *lookups, uint64_t *failures)
{
	pthread_mutex_lock(&r->mu);
	if (hits)
		*hits = r->hits;
	if (lookups)
		*lookups = r->lookups;
	if (failures)
		*failures = r->failures;
	pthread_mutex_unlock(&r->mu);
}

void px_resolver_hold(struct px_resolver *r, int hold)
{
	pthread_mutex_lock(&r->mu);
	r->hold = hold != 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* --- the loops ----------------------------------------------------------------- */

static void resolve_loop_dispatch(struct px_resolve_loop *rl)
{
	struct px_resolver *r = rl->r;

	rl->dispatching = true;
	/* One at a time, under the mutex only while unlinking, so a callback may
	 * cancel another answered query or delete the loop. */
	while (!rl->deleted) {
		pthread_mutex_lock(&r->mu);
		struct px_resolve_query *q = rl->done.first ? query_of(rl->done.first) : NULL;
		if (q)
			px_list_unlink(&rl->done, &q->link);
		pthread_mutex_unlock(&r->mu);
		if (q == NULL)
			break;
		q->fn(q->arg, &q->ans);
		free(q);
	}
	rl->dispatching = false;
	if (rl->deleted)
		free(rl);
}

static void resolve_loop_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop, (void)revents;
	resolve_loop_dispatch((struct px_resolve_loop *)w->data);
}

int px_resolve_loop_new(struct px_resolver *r, struct ev_loop *loop, struct px_resolve_loop **out)
{
	struct px_resolve_loop *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return PX_ERR_NOMEM;
	rl->r = r;
	rl->loop = loop;
	ev_async_init(&rl->async, resolve_loop_async_cb);
	rl->async.data = rl;
	ev_async_start(loop, &rl->async);
	/* An idle resolver must not keep the worker's loop running; a pending
	 * query is owned by someone (a stream) whose own watchers do. */
	ev_unref(loop);
	*out = rl;
	return 0;
}

/* Unlinks |q| from wherever it is (under r->mu). */
static void query_unlink(struct px_resolve_query *q)
{
	px_list_unlink(q->e ? &q->e->waiters : &q->rl->done, &q->link);
}

void px_resolve_loop_del(struct px_resolve_loop *rl)
{
	if (rl == NULL)
		return;
	struct px_resolver *r = rl->r;
	pthread_mutex_lock(&r->mu);
	/* Waiting queries are on their entries' lists: find them there. */
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct entry *e = r->buckets[i]; e; e = e->hnext) {
			for (struct px_link *l = e->waiters.first, *n; l; l = n) {
				struct px_resolve_query *q = query_of(l);
				n = l->next; /* |q| may be freed below */
				if (q->rl == rl) {
					query_unlink(q);
					free(q);
				}
			}
		}
	}
	while (rl->done.first) {
		struct px_resolve_query *q = query_of(rl->done.first);
		px_list_unlink(&rl->done, &q->link);
		free(q);
	}
	pthread_mutex_unlock(&r->mu);
	ev_ref(rl->loop);
	ev_async_stop(rl->loop, &rl->async);
	if (rl->dispatching)
		rl->deleted = true;
	else
		free(rl);
}

void px_resolve_cancel(struct px_resolve_query *q)
{
	if (q == NULL)
		return;
	struct px_resolver *r = q->rl->r;
	pthread_mutex_lock(&r->mu);
	query_unlink(q);
	pthread_mutex_unlock(&r->mu);
	free(q);
}

int px_resolve_literal(const char *host, struct px_resolve_answer *a)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return 0;
	memset(a, 0, sizeof(*a));
	a->addrs[0] = ss;
	a->n = 1;
	return 1;
}

int px_resolve_start(struct px_resolve_loop *rl, const char *host, struct px_resolve_answer *now, px_resolve_fn *fn,
                     void *arg, struct px_resolve_query **q)
{
	struct px_resolver *r = rl->r;
	char key[PX_RESOLVE_MAX_NAME + 1];
	size_t len = strnlen(host, PX_RESOLVE_MAX_NAME + 2);

	if (len > 1 && host[len - 1] == '.')
		len--;
	if (len == 0 || len > PX_RESOLVE_MAX_NAME || (len == 1 && host[0] == '.'))
		return PX_ERR_INVALID;
	for (size_t i = 0; i < len; i++)
		key[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
	key[len] = '\0';
	if (px_resolve_literal(key, now))
		return 0;
	if (px_hosts_lookup(r->hosts, key, len, now)) {
		pthread_mutex_lock(&r->mu);
		r->hits++;
		pthread_mutex_unlock(&r->mu);
		return 0;
	}

	struct px_resolve_query *nq = malloc(sizeof(*nq));
	uint32_t hash = name_hash(key);
	double t = now_mono();

	pthread_mutex_lock(&r->mu);
	struct entry *e = cache_find(r, key, hash);
	if (e && e->done && t < e->expires) {
		*now = e->ans;
		px_list_unlink(&r->lru, &e->lru);
		px_list_push(&r->lru, &e->lru);
		r->hits++;
		pthread_mutex_unlock(&r->mu);
		free(nq);
		return 0;
	}
	if (nq == NULL)
		goto nomem;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			goto nomem;
		memcpy(e->name, key, len + 1);
		e->hash = hash;
		e->hnext = r->buckets[hash & (r->nbuckets - 1)];
		r->buckets[hash & (r->nbuckets - 1)] = e;
		queue_push(r, e);
	} else if (e->done) {
		/* Expired: look it up again; it leaves the LRU list meanwhile so
		 * that eviction never frees a pending entry. */
		px_list_unlink(&r->lru, &e->lru);
		e->done = false;
		queue_push(r, e);
	}
	nq->rl = rl;
	nq->e = e;
	nq->fn = fn;
	nq->arg = arg;
	px_list_push(&e->waiters, &nq->link);
	pthread_mutex_unlock(&r->mu);
	*q = nq;
	return PX_RESOLVE_PENDING;
nomem:
	pthread_mutex_unlock(&r->mu);
	free(nq);
	return PX_ERR_NOMEM;
}
