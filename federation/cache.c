/* SPDX-License-Identifier: Apache-2.0 */
/* cache.c: the process-wide cache of assumed-role credentials: single flight across threads, negative caching, LRU bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "federation/creds_int.h"

#define MAX_BUCKETS (1u << 20)

struct entry {
	struct entry *hnext; /* hash chain */
	struct entry *newer; /* LRU list: the head is the most recently used */
	struct entry *older;
	uint64_t hash;
	char *key; /* the serialised key (see key_build()) */
	size_t keylen;
	struct fed_slot slot;
};

/* One AssumeRole in flight, on the transport of the request that started it. */
struct cache_call {
	struct fed_cache *c;
	struct entry *e;
	struct fed_transport *t;
	struct fed_sts_call *sts;
	struct cache_call *next;
	struct cache_call *prev;
	int64_t started_ms;
	/* For fed_cache_options.on_sts: copies of the key's fields (the
	 * key itself is borrowed for fed_cache_get() only), in |strs|. */
	const char *role_arn;
	const char *session_name;
	const char *source_identity;
	bool external_id;
	bool refresh;
	uint32_t duration_seconds;
	char strs[];
};

const uint32_t fed_cache_sts_bucket_ms[FED_CACHE_STS_BUCKETS - 1] = {50,   100,  250,   500,  1000,
								      2500, 5000, 10000, 30000};

struct fed_cache {
	const struct fed_env *env;
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	uint64_t seed;
	struct entry *newest;
	struct entry *oldest;
	size_t n;
	size_t max;
	int64_t ahead_ms;
	uint32_t sts_max_attempts;
	uint32_t sts_timeout_ms;
	struct cache_call *calls;
	fed_cache_sts_fn *on_sts;
	void *on_sts_arg;
	struct fed_cache_stats stats;
};

/* --- keys ------------------------------------------------------------------ */

#define KEY_STACK 1024 /* most keys fit here: no allocation on a hit */

struct keybuf {
	char *p; /* |stack| or a malloc()ed FED_CACHE_MAX_KEY */
	size_t len;
	size_t cap;
	bool over;
	char stack[KEY_STACK];
};

/* Appends |s| as a field that cannot run into its neighbour: absent is
 * "-", present is "=<length>:<bytes>". */
static void key_add(struct keybuf *k, const char *s)
{
	/* snprintf() here cost most of a hit: the length is written by hand. */
	char head[24];
	size_t hl = 0;
	size_t n = s != NULL ? strlen(s) : 0;
	if (s == NULL) {
		head[hl++] = '-';
	} else {
		char digits[20];
		size_t nd = 0, v = n;
		do {
			digits[nd++] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0 && nd < sizeof(digits));
		head[hl++] = '=';
		while (nd > 0)
			head[hl++] = digits[--nd];
		head[hl++] = ':';
	}
	if (k->over || k->len + hl + n > k->cap) {
		k->over = true;
		return;
	}
	memcpy(k->p + k->len, head, hl);
	k->len += hl;
	if (n > 0)
		memcpy(k->p + k->len, s, n);
	k->len += n;
}

static uint64_t key_hash(const struct fed_cache *c, const char *p, size_t n)
{
	/* FNV-1a from a per-process random start, so that chosen role
	 * names cannot aim at one bucket. */
	uint64_t h = 1469598103934665603ULL ^ c->seed;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static uint32_t duration_class(uint32_t d)
{
	return d / FED_CACHE_DURATION_CLASS_S * FED_CACHE_DURATION_CLASS_S;
}

static void key_fill(const struct fed_cache_key *key, const struct fed_creds *base, struct keybuf *k)
{
	char dur[12];
	uint32_t d = duration_class(key->duration_seconds);
	size_t nd = 10;
	k->len = 0;
	k->over = false;
	dur[11] = '\0';
	do {
		dur[nd--] = (char)('0' + d % 10);
		d /= 10;
	} while (d > 0);
	key_add(k, base->access_key_id);
	key_add(k, key->role_arn);
	key_add(k, key->external_id);
	key_add(k, key->session_name);
	key_add(k, key->source_identity);
	key_add(k, dur + nd + 1);
	key_add(k, key->partition);
	key_add(k, key->region);
	key_add(k, key->endpoint_url);
	for (size_t i = 0; i < key->ntags; i++) {
		key_add(k, key->tags[i].key);
		key_add(k, key->tags[i].value);
	}
}

/* Serialises the key into |k|: on the stack when it fits, else on the heap
 * (key_release() frees it). */
static int key_build(const struct fed_cache_key *key, const struct fed_creds *base, struct keybuf *k)
{
	k->p = k->stack;
	k->cap = sizeof(k->stack);
	key_fill(key, base, k);
	if (!k->over)
		return 0;
	k->p = malloc(FED_CACHE_MAX_KEY);
	if (k->p == NULL)
		return FED_ERR_NOMEM;
	k->cap = FED_CACHE_MAX_KEY;
	key_fill(key, base, k);
	if (k->over) {
		free(k->p);
		return FED_ERR_TOO_LARGE;
	}
	return 0;
}

static void key_release(struct keybuf *k)
{
	if (k->p != k->stack)
		free(k->p);
}

/* --- the table and the LRU list (all under the lock) ------------------------ */

static void lru_unlink(struct fed_cache *c, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct fed_cache *c, struct entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = e;
	c->newest = e;
	if (c->oldest == NULL)
		c->oldest = e;
}

static struct entry *table_find(struct fed_cache *c, uint64_t h, const char *key, size_t len)
{
	for (struct entry *e = c->buckets[h & (c->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

static void entry_free(struct entry *e)
{
	fed_slot_clear(&e->slot);
	OPENSSL_cleanse(e->key, e->keylen);
	free(e->key);
	free(e);
}

/* Unlinks |e| from the table and the list and frees it, wiping its secrets
 * (snapshots still held by requests are wiped by their last unref). */
static void entry_drop(struct fed_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->n--;
	entry_free(e);
}

/* Drops least recently used entries, never one with a call in flight,
 * until the bound holds (or only busy entries are left). */
static void evict(struct fed_cache *c, const struct entry *keep)
{
	struct entry *e = c->oldest;
	while (c->n > c->max && e != NULL) {
		struct entry *newer = e->newer;
		if (!e->slot.running && e != keep) {
			entry_drop(c, e);
			c->stats.evictions++;
		}
		e = newer;
	}
}

/* --- calls ----------------------------------------------------------------- */

static int64_t negative_ms(int err)
{
	switch (err) {
	case FED_ERR_DENIED:
	case FED_ERR_REJECTED:
		return FED_CACHE_NEG_FINAL_MS;
	case FED_ERR_THROTTLED:
	case FED_ERR_UNAVAILABLE:
	case FED_ERR_TIMEOUT:
	case FED_ERR_TRANSPORT:
	case FED_ERR_PARSE:
	case FED_ERR_TOO_LARGE:
		return FED_CACHE_NEG_TRANSIENT_MS;
	default:
		return 0; /* local trouble (memory, a cancel): try again at once */
	}
}

static void on_assumed(void *arg, int err, const struct fed_sts_result *res, const struct fed_sts_error *why)
{
	struct cache_call *call = arg;
	struct fed_cache *c = call->c;
	struct fed_snap *snap = NULL;
	int64_t exp = 0;

	if (err == 0) {
		struct fed_creds cr;
		err = fed_creds_copy(&cr, &res->creds);
		if (err == 0) {
			cr.long_term = false;
			fed_fmt(cr.source, sizeof(cr.source), "sts:AssumeRole");
			exp = cr.expiration * 1000;
			err = fed_snap_make(&cr, &snap);
			if (err != 0)
				fed_creds_free(&cr);
		}
	}
	int64_t neg = negative_ms(err);
	int64_t ms = c->env->now_ms(c->env->arg) - call->started_ms;
	if (neg > 0)
		neg += c->env->now_ms(c->env->arg);
	if (ms < 0)
		ms = 0;
	if (c->on_sts != NULL) {
		struct fed_cache_sts_event ev = {
			.role_arn = call->role_arn,
			.session_name = call->session_name,
			.source_identity = call->source_identity,
			.external_id = call->external_id,
			.duration_seconds = call->duration_seconds,
			.refresh = call->refresh,
			.err = err,
			.expiration = err == 0 ? exp / 1000 : 0,
			.assumed_role_arn = err == 0 && res != NULL ? res->assumed_role_arn : NULL,
			.code = why != NULL ? why->code : "",
			.message = why != NULL ? why->message : "",
			.request_id = why != NULL ? why->request_id : res != NULL && res->request_id != NULL ? res->request_id : "",
			.attempts = why != NULL ? why->attempts : 0,
			.ms = ms,
		};
		if (err == 0)
			ev.code = ev.message = "";
		c->on_sts(c->on_sts_arg, &ev);
	}

	pthread_mutex_lock(&c->lock);
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	if (err != 0)
		c->stats.sts_failures++;
	{
		size_t k = 0;
		while (k < FED_CACHE_STS_BUCKETS - 1 && ms > (int64_t)fed_cache_sts_bucket_ms[k])
			k++;
		c->stats.sts_ms_buckets[k]++;
		c->stats.sts_ms_sum += (uint64_t)ms;
	}
	pthread_mutex_unlock(&c->lock);

	int lost = fed_slot_finish(&call->e->slot, &c->lock, call->t, err, snap, exp, err != 0 ? why : NULL, neg);
	if (lost > 0) {
		pthread_mutex_lock(&c->lock);
		c->stats.post_failures += (uint64_t)lost;
		pthread_mutex_unlock(&c->lock);
	}
	free(call);
}

/* Starts the AssumeRole for |e| (marked running by the caller). On failure
 * the flight is still open: the caller ends it with call_fail(). */
static int call_start(struct fed_cache *c, struct entry *e, struct fed_transport *t,
                      const struct fed_cache_key *key, const struct fed_creds *base, bool refresh)
{
	size_t la = strlen(key->role_arn) + 1, ln = strlen(key->session_name) + 1;
	size_t ls = key->source_identity != NULL ? strlen(key->source_identity) + 1 : 0;
	/* The key's fields together are bounded (FED_CACHE_MAX_KEY, checked
	 * by key_build() before any call starts). */
	struct cache_call *call = calloc(1, sizeof(*call) + la + ln + ls);
	int rv = FED_ERR_NOMEM;

	if (call != NULL) {
		char *w = call->strs;
		call->role_arn = memcpy(w, key->role_arn, la);
		call->session_name = memcpy(w + la, key->session_name, ln);
		call->source_identity = ls != 0 ? memcpy(w + la + ln, key->source_identity, ls) : NULL;
		call->external_id = key->external_id != NULL;
		call->refresh = refresh;
		call->duration_seconds = duration_class(key->duration_seconds);
		struct fed_sts_params sp;
		memset(&sp, 0, sizeof(sp));
		sp.action = FED_STS_ASSUME_ROLE;
		sp.region = key->region;
		sp.endpoint_url = key->endpoint_url;
		sp.role_arn = key->role_arn;
		sp.role_session_name = key->session_name;
		sp.external_id = key->external_id;
		sp.source_identity = key->source_identity;
		sp.duration_seconds = duration_class(key->duration_seconds);
		sp.tags = key->tags;
		sp.ntags = key->ntags;
		sp.max_attempts = c->sts_max_attempts;
		sp.timeout_ms = c->sts_timeout_ms;
		call->c = c;
		call->e = e;
		call->t = t;
		call->started_ms = c->env->now_ms(c->env->arg);
		/* Listed before the start: its callback cannot run before we
		 * return, but fed_cache_del() must find it. */
		pthread_mutex_lock(&c->lock);
		call->next = c->calls;
		if (c->calls != NULL)
			c->calls->prev = call;
		c->calls = call;
		c->stats.sts_calls++;
		pthread_mutex_unlock(&c->lock);
		rv = fed_sts_start(t, c->env, &sp, base, on_assumed, call, &call->sts);
		if (rv == 0)
			return 0;
		pthread_mutex_lock(&c->lock);
		if (call->prev != NULL)
			call->prev->next = call->next;
		else
			c->calls = call->next;
		if (call->next != NULL)
			call->next->prev = call->prev;
		pthread_mutex_unlock(&c->lock);
		free(call);
	}
	return rv;
}

/* Ends the flight of |e| whose call could not start: the waiters hear of
 * it by post (the caller's own wait must be cancelled first). */
static void call_fail(struct fed_cache *c, struct entry *e, int rv)
{
	struct fed_sts_error why;
	memset(&why, 0, sizeof(why));
	fed_fmt(why.message, sizeof(why.message), "AssumeRole could not start: %s", fed_strerror(rv));
	fed_slot_finish(&e->slot, &c->lock, NULL, rv, NULL, 0, &why, 0);
}

/* --- the public API -------------------------------------------------------- */

int fed_cache_new(const struct fed_env *env, const struct fed_cache_options *opt, struct fed_cache **out)
{
	struct fed_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return FED_ERR_NOMEM;
	c->env = env;
	c->max = opt != NULL && opt->max_entries != 0 ? opt->max_entries : FED_CACHE_MAX_ENTRIES;
	c->ahead_ms = (int64_t)(opt != NULL && opt->refresh_ahead_s != 0 ? opt->refresh_ahead_s
									  : FED_CACHE_REFRESH_AHEAD_S) *
		      1000;
	if (opt != NULL) {
		c->sts_max_attempts = opt->sts_max_attempts;
		c->sts_timeout_ms = opt->sts_timeout_ms;
		c->on_sts = opt->on_sts;
		c->on_sts_arg = opt->on_sts_arg;
	}
	if (c->ahead_ms > 3600 * 1000) {
		free(c);
		return FED_ERR_INVALID;
	}
	c->nbuckets = 16;
	while (c->nbuckets < c->max && c->nbuckets < MAX_BUCKETS)
		c->nbuckets *= 2;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (c->buckets == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->buckets);
		free(c);
		return FED_ERR_NOMEM;
	}
	c->seed = ((uint64_t)env->random(env->arg) << 32) | env->random(env->arg);
	*out = c;
	return 0;
}

void fed_cache_del(struct fed_cache *c)
{
	if (c == NULL)
		return;
	while (c->calls != NULL) {
		struct cache_call *call = c->calls;
		c->calls = call->next;
		fed_sts_cancel(call->sts);
		free(call);
	}
	while (c->oldest != NULL) {
		struct entry *e = c->oldest;
		fed_slot_abandon(&e->slot);
		entry_drop(c, e);
	}
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void fed_cache_clear(struct fed_cache *c)
{
	pthread_mutex_lock(&c->lock);
	struct entry *e = c->oldest;
	while (e != NULL) {
		struct entry *newer = e->newer;
		if (!e->slot.running)
			entry_drop(c, e);
		e = newer;
	}
	pthread_mutex_unlock(&c->lock);
}

void fed_cache_stats(struct fed_cache *c, struct fed_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->entries = c->n;
	pthread_mutex_unlock(&c->lock);
}

int fed_cache_get(struct fed_cache *c, struct fed_transport *t, const struct fed_cache_key *key,
                  const struct fed_creds *base, fed_creds_done_fn *done, void *arg, struct fed_snap **creds,
                  struct fed_wait **wait, struct fed_sts_error *why)
{
	struct keybuf k;
	struct entry *e, *fresh = NULL;
	int rv;

	if (t == NULL || done == NULL || key == NULL || base == NULL || base->access_key_id == NULL ||
	    key->role_arn == NULL || key->session_name == NULL || key->partition == NULL)
		return FED_ERR_INVALID;
	if (key->duration_seconds < FED_CACHE_DURATION_CLASS_S)
		return FED_ERR_SESSION_TOO_SHORT;
	rv = key_build(key, base, &k);
	if (rv != 0)
		return rv;
	uint64_t h = key_hash(c, k.p, k.len);
	int64_t now = c->env->now_ms(c->env->arg);

	pthread_mutex_lock(&c->lock);
	e = table_find(c, h, k.p, k.len);
	if (e == NULL) {
		/* A new key: allocate outside the lock, then look again (another
		 * thread may have added it meanwhile). */
		pthread_mutex_unlock(&c->lock);
		fresh = calloc(1, sizeof(*fresh));
		char *kcopy = malloc(k.len);
		if (fresh == NULL || kcopy == NULL) {
			free(fresh);
			free(kcopy);
			key_release(&k);
			return FED_ERR_NOMEM;
		}
		memcpy(kcopy, k.p, k.len);
		fresh->hash = h;
		fresh->key = kcopy;
		fresh->keylen = k.len;
		pthread_mutex_lock(&c->lock);
		e = table_find(c, h, k.p, k.len);
	}
	if (e == NULL) {
		e = fresh;
		fresh = NULL;
		e->hnext = c->buckets[h & (c->nbuckets - 1)];
		c->buckets[h & (c->nbuckets - 1)] = e;
		c->n++;
		lru_push(c, e);
		evict(c, e);
	} else {
		lru_unlink(c, e);
		lru_push(c, e);
	}
	switch (fed_slot_decide(&e->slot, now, c->ahead_ms, FED_CACHE_MIN_VALID_S * 1000)) {
	case FED_SLOT_HIT:
		*creds = fed_snap_ref(e->slot.snap);
		c->stats.hits++;
		pthread_mutex_unlock(&c->lock);
		rv = 0;
		break;
	case FED_SLOT_HIT_REFRESH:
		*creds = fed_snap_ref(e->slot.snap);
		c->stats.hits++;
		c->stats.refreshes++;
		e->slot.running = true;
		pthread_mutex_unlock(&c->lock);
		/* This request has its credentials whatever happens to the refresh. */
		if (call_start(c, e, t, key, base, true) != 0)
			call_fail(c, e, FED_ERR_NOMEM);
		rv = 0;
		break;
	case FED_SLOT_NEGATIVE:
		rv = e->slot.neg_err;
		if (why != NULL)
			*why = e->slot.neg_e;
		c->stats.negative_hits++;
		pthread_mutex_unlock(&c->lock);
		break;
	case FED_SLOT_JOIN:
		rv = fed_slot_join(&e->slot, &c->lock, t, done, arg, wait);
		if (rv == 0) {
			c->stats.misses++;
			c->stats.joins++;
			rv = FED_PENDING;
		}
		pthread_mutex_unlock(&c->lock);
		break;
	case FED_SLOT_START:
	default: {
		struct fed_wait *w;
		rv = fed_slot_join(&e->slot, &c->lock, t, done, arg, &w);
		if (rv != 0) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		e->slot.running = true;
		c->stats.misses++;
		pthread_mutex_unlock(&c->lock);
		rv = call_start(c, e, t, key, base, false);
		if (rv != 0) {
			/* Answered by the return value: this caller's wait goes first. */
			fed_wait_cancel(w);
			call_fail(c, e, rv);
			if (why != NULL) {
				memset(why, 0, sizeof(*why));
				fed_fmt(why->message, sizeof(why->message), "AssumeRole could not start: %s",
					fed_strerror(rv));
			}
			break;
		}
		*wait = w;
		rv = FED_PENDING;
		break;
	}
	}
	key_release(&k);
	if (fresh != NULL)
		entry_free(fresh);
	return rv;
}
