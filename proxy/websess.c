/* SPDX-License-Identifier: Apache-2.0 */
/* websess.c: the process-wide table of one-time sign-in links and browser sessions of the web UI (docs/CONSOLE.md). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "proxy.h"
#include "web.h"

/*
 * Two fixed arrays scanned in full under one mutex. Bounded (at most
 * PX_WEB_MAX_SESSIONS entries of ~90 bytes) and rare next to API requests
 * (a page view, a launch), so a scan is cheaper to reason about than a
 * hash: each key is compared with CRYPTO_memcmp, and the scan takes the
 * same path whichever slot holds the key.
 */

struct web_entry {
	unsigned char key[PX_WEB_KEY_BYTES];
	unsigned char csrf[PX_WEB_KEY_BYTES];
	int64_t expires;
	struct px_web_ident *who; /* NULL: the slot is free */
};

struct px_web_table {
	pthread_mutex_t lock;
	struct web_entry *links, *sessions;
	size_t max_links, max_sessions;
};

/* --- identity snapshots ----------------------------------------------------------- */

static char *dup_str(const char *s, bool *failed)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*failed = true;
	return d;
}

int px_web_ident_new(const struct rbac_identity *src, struct px_web_ident **out)
{
	struct px_web_ident *w = calloc(1, sizeof(*w));
	struct rbac_identity *id;
	bool failed = false;

	if (w == NULL)
		return PX_ERR_NOMEM;
	w->refs = 1;
	id = &w->id;
	id->user = dup_str(src->user, &failed);
	id->not_before = src->not_before;
	id->not_after = src->not_after;
	id->from_extension = src->from_extension;
	id->extension_ignored = src->extension_ignored;
	if (src->nroles > 0) {
		id->roles = calloc(src->nroles, sizeof(*id->roles));
		failed |= id->roles == NULL;
		for (size_t i = 0; id->roles != NULL && i < src->nroles; i++, id->nroles++)
			id->roles[i] = dup_str(src->roles[i], &failed);
	}
	if (src->ntraits > 0) {
		id->traits = calloc(src->ntraits, sizeof(*id->traits));
		failed |= id->traits == NULL;
		for (size_t i = 0; id->traits != NULL && i < src->ntraits; i++) {
			const struct rbac_trait *s = &src->traits[i];
			struct rbac_trait *d = &id->traits[id->ntraits++];
			d->name = dup_str(s->name, &failed);
			if (s->nvalues == 0)
				continue;
			d->values = calloc(s->nvalues, sizeof(*d->values));
			failed |= d->values == NULL;
			for (size_t j = 0; d->values != NULL && j < s->nvalues; j++, d->nvalues++)
				d->values[j] = dup_str(s->values[j], &failed);
		}
	}
	if (failed) {
		px_web_ident_unref(w);
		return PX_ERR_NOMEM;
	}
	*out = w;
	return 0;
}

struct px_web_ident *px_web_ident_ref(struct px_web_ident *w)
{
	__atomic_add_fetch(&w->refs, 1, __ATOMIC_RELAXED);
	return w;
}

void px_web_ident_unref(struct px_web_ident *w)
{
	if (w == NULL || __atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	rbac_identity_free(&w->id);
	free(w);
}

/* --- the table ------------------------------------------------------------------- */

int px_web_table_new(size_t max_links, size_t max_sessions, struct px_web_table **out)
{
	struct px_web_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return PX_ERR_NOMEM;
	t->links = calloc(max_links ? max_links : 1, sizeof(*t->links));
	t->sessions = calloc(max_sessions ? max_sessions : 1, sizeof(*t->sessions));
	if (t->links == NULL || t->sessions == NULL || pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->links);
		free(t->sessions);
		free(t);
		return PX_ERR_NOMEM;
	}
	t->max_links = max_links;
	t->max_sessions = max_sessions;
	*out = t;
	return 0;
}

static void entry_clear(struct web_entry *e)
{
	px_web_ident_unref(e->who);
	OPENSSL_cleanse(e, sizeof(*e));
	e->who = NULL;
}

void px_web_table_del(struct px_web_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->max_links; i++)
		entry_clear(&t->links[i]);
	for (size_t i = 0; i < t->max_sessions; i++)
		entry_clear(&t->sessions[i]);
	pthread_mutex_destroy(&t->lock);
	free(t->links);
	free(t->sessions);
	free(t);
}

/* A free slot of |arr| (expired entries are dropped on the way), or NULL.
 * With |user|, a user who already holds |per_user| entries gives up the
 * one that ends first: one user cannot fill the table for everyone. */
static struct web_entry *slot_free(struct web_entry *arr, size_t n, int64_t now, const char *user, size_t per_user)
{
	struct web_entry *found = NULL, *oldest = NULL;
	size_t mine = 0;

	for (size_t i = 0; i < n; i++) {
		if (arr[i].who != NULL && arr[i].expires <= now)
			entry_clear(&arr[i]);
		if (arr[i].who == NULL) {
			if (found == NULL)
				found = &arr[i];
		} else if (user != NULL && strcmp(arr[i].who->id.user, user) == 0) {
			mine++;
			if (oldest == NULL || arr[i].expires < oldest->expires)
				oldest = &arr[i];
		}
	}
	if (user != NULL && mine >= per_user && oldest != NULL) {
		entry_clear(oldest);
		return oldest;
	}
	return found;
}

/* The entry of |key| in |arr|, or NULL. */
static struct web_entry *slot_find(struct web_entry *arr, size_t n, const unsigned char key[PX_WEB_KEY_BYTES])
{
	struct web_entry *found = NULL;

	for (size_t i = 0; i < n; i++)
		if (arr[i].who != NULL && CRYPTO_memcmp(arr[i].key, key, PX_WEB_KEY_BYTES) == 0)
			found = &arr[i];
	return found;
}

static int64_t ident_end(const struct px_web_ident *who, int64_t now, int64_t ttl)
{
	int64_t end = now + ttl;

	if (who->id.not_after != 0 && who->id.not_after < end)
		end = who->id.not_after;
	return end;
}

int px_web_link_new(struct px_web_table *t, struct px_web_ident *who, int64_t now, int64_t ttl,
		    char token[PX_WEB_TOKEN_LEN + 1])
{
	unsigned char key[PX_WEB_KEY_BYTES];
	int64_t end = ident_end(who, now, ttl);
	struct web_entry *e;
	int rv = 0;

	if (end <= now)
		return PX_ERR_WEB_EXPIRED;
	if (RAND_bytes(key, sizeof(key)) != 1)
		return PX_ERR_NOMEM;
	pthread_mutex_lock(&t->lock);
	e = slot_free(t->links, t->max_links, now, who->id.user, PX_WEB_MAX_USER_LINKS);
	if (e == NULL) {
		rv = PX_ERR_WEB_FULL;
		goto out;
	}
	memcpy(e->key, key, sizeof(key));
	e->expires = end;
	e->who = px_web_ident_ref(who);
	px_web_b64url(key, sizeof(key), token);
out:
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(key, sizeof(key));
	return rv;
}

int px_web_link_take(struct px_web_table *t, const char *token, size_t len, int64_t now, struct px_web_ident **who)
{
	unsigned char key[PX_WEB_KEY_BYTES];
	struct web_entry *e;
	int rv;

	if (px_web_token_decode(token, len, key) != 0)
		return PX_ERR_WEB_BAD;
	pthread_mutex_lock(&t->lock);
	e = slot_find(t->links, t->max_links, key);
	if (e == NULL) {
		rv = PX_ERR_WEB_UNKNOWN;
	} else if (e->expires <= now) {
		rv = PX_ERR_WEB_EXPIRED;
		entry_clear(e);
	} else {
		/* Single use: the reference moves to the caller and the slot is freed
		 * before the lock is released, so no other worker can take it. */
		*who = e->who;
		e->who = NULL;
		entry_clear(e);
		rv = 0;
	}
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(key, sizeof(key));
	return rv;
}

int px_web_session_new(struct px_web_table *t, struct px_web_ident *who, int64_t now, char id[PX_WEB_TOKEN_LEN + 1],
		       char csrf[PX_WEB_TOKEN_LEN + 1], int64_t *expires)
{
	unsigned char key[2 * PX_WEB_KEY_BYTES];
	int64_t end = ident_end(who, now, PX_WEB_SESSION_MAX);
	struct web_entry *e;
	int rv = 0;

	if (end <= now)
		return PX_ERR_WEB_EXPIRED;
	if (RAND_bytes(key, sizeof(key)) != 1)
		return PX_ERR_NOMEM;
	pthread_mutex_lock(&t->lock);
	e = slot_free(t->sessions, t->max_sessions, now, who->id.user, PX_WEB_MAX_USER_SESSIONS);
	if (e == NULL) {
		rv = PX_ERR_WEB_FULL;
		goto out;
	}
	memcpy(e->key, key, PX_WEB_KEY_BYTES);
	memcpy(e->csrf, key + PX_WEB_KEY_BYTES, PX_WEB_KEY_BYTES);
	e->expires = end;
	e->who = px_web_ident_ref(who);
	px_web_b64url(e->key, PX_WEB_KEY_BYTES, id);
	px_web_b64url(e->csrf, PX_WEB_KEY_BYTES, csrf);
	*expires = end;
out:
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(key, sizeof(key));
	return rv;
}

int px_web_session_get(struct px_web_table *t, const char *id, size_t len, int64_t now, struct px_web_ident **who,
		       char csrf[PX_WEB_TOKEN_LEN + 1], int64_t *expires)
{
	unsigned char key[PX_WEB_KEY_BYTES];
	struct web_entry *e;
	int rv;

	if (px_web_token_decode(id, len, key) != 0)
		return PX_ERR_WEB_BAD;
	pthread_mutex_lock(&t->lock);
	e = slot_find(t->sessions, t->max_sessions, key);
	if (e == NULL) {
		rv = PX_ERR_WEB_UNKNOWN;
	} else if (e->expires <= now) {
		rv = PX_ERR_WEB_EXPIRED;
		entry_clear(e);
	} else {
		*who = px_web_ident_ref(e->who);
		px_web_b64url(e->csrf, PX_WEB_KEY_BYTES, csrf);
		*expires = e->expires;
		rv = 0;
	}
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(key, sizeof(key));
	return rv;
}

int px_web_session_end(struct px_web_table *t, const char *id, size_t len)
{
	unsigned char key[PX_WEB_KEY_BYTES];
	struct web_entry *e;

	if (px_web_token_decode(id, len, key) != 0)
		return PX_ERR_WEB_UNKNOWN;
	pthread_mutex_lock(&t->lock);
	e = slot_find(t->sessions, t->max_sessions, key);
	if (e != NULL)
		entry_clear(e);
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(key, sizeof(key));
	return e != NULL ? 0 : PX_ERR_WEB_UNKNOWN;
}

void px_web_table_count(struct px_web_table *t, int64_t now, size_t *links, size_t *sessions)
{
	size_t nl = 0, ns = 0;

	pthread_mutex_lock(&t->lock);
	(void)slot_free(t->links, t->max_links, now, NULL, 0);
	(void)slot_free(t->sessions, t->max_sessions, now, NULL, 0);
	for (size_t i = 0; i < t->max_links; i++)
		nl += t->links[i].who != NULL;
	for (size_t i = 0; i < t->max_sessions; i++)
		ns += t->sessions[i].who != NULL;
	pthread_mutex_unlock(&t->lock);
	*links = nl;
	*sessions = ns;
}
