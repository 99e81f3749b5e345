/* SPDX-License-Identifier: Apache-2.0 */
/* flight.c: refcounted credential snapshots, and single flight: one call in flight per value, its waiters served on their own loops. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "federation/creds_int.h"

struct fed_snap {
	atomic_uint refs;
	struct fed_creds creds;
};

enum wait_state {
	WAIT_WAITING,    /* in its slot's list, under the owner's lock */
	WAIT_DELIVERING, /* detached; its loop owns it now */
};

struct fed_wait {
	struct fed_wait *next;
	struct fed_wait *prev;
	struct fed_slot *slot;
	pthread_mutex_t *lock;
	struct fed_transport *t;
	fed_creds_done_fn *done;
	void *arg;
	enum wait_state state;
	bool cancelled;
	int err;
	struct fed_snap *snap;
	struct fed_sts_error e;
};

void fed_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	if (dst == NULL || size == 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		dst[0] = '\0';
}

int fed_snap_make(struct fed_creds *c, struct fed_snap **out)
{
	struct fed_snap *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return FED_ERR_NOMEM;
	atomic_init(&s->refs, 1);
	s->creds = *c;
	memset(c, 0, sizeof(*c));
	*out = s;
	return 0;
}

const struct fed_creds *fed_snap_creds(const struct fed_snap *s)
{
	return &s->creds;
}

struct fed_snap *fed_snap_ref(struct fed_snap *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void fed_snap_unref(struct fed_snap *s)
{
	if (s == NULL)
		return;
	/* acq_rel: the last holder sees every write of the others before it frees. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		fed_creds_free(&s->creds);
		free(s);
	}
}

enum fed_slot_verdict fed_slot_decide(const struct fed_slot *s, int64_t now_ms, int64_t ahead_ms,
                                      int64_t min_valid_ms)
{
	bool negative = s->neg_err != 0 && now_ms < s->neg_until_ms;

	if (s->snap != NULL && (s->expires_ms == 0 || now_ms < s->expires_ms - min_valid_ms)) {
		if (s->expires_ms == 0 || now_ms < s->expires_ms - ahead_ms)
			return FED_SLOT_HIT;
		/* In the refresh window: one refresh at a time, and none
		 * while a failed one is remembered. */
		if (s->running || negative)
			return FED_SLOT_HIT;
		return FED_SLOT_HIT_REFRESH;
	}
	if (negative)
		return FED_SLOT_NEGATIVE;
	return s->running ? FED_SLOT_JOIN : FED_SLOT_START;
}

int fed_slot_join(struct fed_slot *s, pthread_mutex_t *lock, struct fed_transport *t, fed_creds_done_fn *done,
                  void *arg, struct fed_wait **out)
{
	struct fed_wait *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return FED_ERR_NOMEM;
	w->slot = s;
	w->lock = lock;
	w->t = t;
	w->done = done;
	w->arg = arg;
	w->state = WAIT_WAITING;
	w->next = s->waiters;
	if (s->waiters != NULL)
		s->waiters->prev = w;
	s->waiters = w;
	*out = w;
	return 0;
}

static void wait_unlink(struct fed_wait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->slot->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

void fed_wait_cancel(struct fed_wait *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(w->lock);
	if (w->state == WAIT_WAITING) {
		wait_unlink(w);
		pthread_mutex_unlock(w->lock);
		free(w);
		return;
	}
	/* Detached and queued on this very loop: the delivery frees it. */
	w->cancelled = true;
	pthread_mutex_unlock(w->lock);
}

/* Runs on |w|'s own loop; the last use of |w|. */
static void wait_deliver(void *arg)
{
	struct fed_wait *w = arg;
	/* |cancelled| is only written on this loop's thread (fed_wait_cancel()
	 * runs there), so it needs no lock here. */
	if (w->cancelled) {
		fed_snap_unref(w->snap);
	} else {
		struct fed_sts_error e = w->e;
		w->done(w->arg, w->err, w->snap, &e);
	}
	OPENSSL_cleanse(&w->e, sizeof(w->e));
	free(w);
}

int fed_slot_finish(struct fed_slot *s, pthread_mutex_t *lock, struct fed_transport *t, int err,
                    struct fed_snap *snap, int64_t expires_ms, const struct fed_sts_error *e, int64_t neg_until_ms)
{
	struct fed_wait *list;
	int lost = 0;

	pthread_mutex_lock(lock);
	if (err == 0) {
		fed_snap_unref(s->snap);
		s->snap = snap;
		s->expires_ms = expires_ms;
		s->neg_err = 0;
		s->neg_until_ms = 0;
		memset(&s->neg_e, 0, sizeof(s->neg_e));
	} else if (neg_until_ms > 0) {
		s->neg_err = err;
		s->neg_until_ms = neg_until_ms;
		if (e != NULL)
			s->neg_e = *e;
		else
			memset(&s->neg_e, 0, sizeof(s->neg_e));
	}
	s->running = false;
	s->generation++;
	list = s->waiters;
	s->waiters = NULL;
	for (struct fed_wait *w = list; w != NULL; w = w->next) {
		w->state = WAIT_DELIVERING;
		w->err = err;
		w->snap = err == 0 ? fed_snap_ref(snap) : NULL;
		if (e != NULL)
			w->e = *e;
	}
	pthread_mutex_unlock(lock);

	/* Outside the lock: callbacks may come straight back in. */
	while (list != NULL) {
		struct fed_wait *w = list;
		list = w->next;
		w->next = w->prev = NULL;
		if (t != NULL && w->t == t) {
			wait_deliver(w);
		} else if (w->t->post(w->t->arg, wait_deliver, w) != 0) {
			/* No way to reach that loop: the waiter's own request
			 * timeout will end it. */
			fed_snap_unref(w->snap);
			free(w);
			lost++;
		}
	}
	return lost;
}

void fed_slot_clear(struct fed_slot *s)
{
	fed_snap_unref(s->snap);
	s->snap = NULL;
	s->expires_ms = 0;
	s->neg_err = 0;
	s->neg_until_ms = 0;
	OPENSSL_cleanse(&s->neg_e, sizeof(s->neg_e));
}

void fed_slot_abandon(struct fed_slot *s)
{
	while (s->waiters != NULL) {
		struct fed_wait *w = s->waiters;
		s->waiters = w->next;
		free(w);
	}
	s->running = false;
}
