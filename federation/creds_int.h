/* SPDX-License-Identifier: Apache-2.0 */
/* creds_int.h: private parts of the base credential chain and the cache: INI and credential JSON parsers, snapshots, single flight. */
#ifndef AWSGATE_CREDS_INT_H
#define AWSGATE_CREDS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "federation/federation.h"

/* --- the shared config and credentials files (ini.c) ----------------------
 *
 * botocore's dialect (Python's configparser as botocore drives it):
 * "[section]" headers, "key = value" (or "key: value": the first '=' or ':'
 * ends the name) lines, whole-line comments starting with '#' or ';', blank
 * lines. Indented lines after a key are its nested settings ("s3 =\n  x =
 * y") and are skipped. Keys are compared without regard to case (stored in
 * lower case), section names exactly; values are trimmed and kept whole (no
 * inline comments: a '#' may be part of a value). A section named twice, or
 * a key set twice in one section, is an error, as botocore makes it. */

#define FED_INI_MAX_BYTES (1024 * 1024) /* the largest file read */
#define FED_INI_MAX_LINE 4096           /* bytes in one line */
#define FED_INI_MAX_SECTIONS 1024
#define FED_INI_MAX_KEYS 16384          /* keys in the whole file */

struct fed_ini_kv {
	char *key;   /* lower case */
	char *value; /* may be a secret: wiped when freed */
	uint32_t line;
};

struct fed_ini_section {
	char *name;
	struct fed_ini_kv *kv;
	size_t nkv;
	size_t cap;
	uint32_t line;
};

struct fed_ini {
	struct fed_ini_section *sec;
	size_t nsec;
	size_t cap;
	size_t nkeys;
};

/*
 * Parses |len| bytes at |data| into |ini|. On FED_ERR_CONFIG or
 * FED_ERR_TOO_LARGE, |*line| is the 1-based line at fault and |why| (|whylen|
 * bytes) says what is wrong. This function returns 0 if it succeeds, or one
 * of FED_ERR_CONFIG, FED_ERR_TOO_LARGE, FED_ERR_NOMEM.
 */
int fed_ini_parse(const char *data, size_t len, struct fed_ini *ini, uint32_t *line, char *why, size_t whylen);
void fed_ini_free(struct fed_ini *ini);
/* The section named |name|, or NULL. */
const struct fed_ini_section *fed_ini_find(const struct fed_ini *ini, const char *name);
/* The value of |key| (lower case) in |s| (may be NULL), or NULL. */
const char *fed_ini_get(const struct fed_ini_section *s, const char *key);

/* --- credential JSON (credjson.c) ----------------------------------------- */

#define FED_CREDJSON_MAX 65536 /* bytes of a credential document */

enum fed_credjson_kind {
	FED_CREDJSON_PROCESS, /* credential_process: Version 1, AccessKeyId, SecretAccessKey, SessionToken?, Expiration? */
	FED_CREDJSON_ECS,     /* container endpoint: AccessKeyId, SecretAccessKey, Token, Expiration */
	FED_CREDJSON_IMDS,    /* instance metadata: Code "Success", AccessKeyId, SecretAccessKey, Token, Expiration */
};

/*
 * Reads the credentials in the JSON document |body| (|len| bytes) of
 * |kind| into |out|, and checks that they are not past their expiry at
 * |now| (Unix seconds). |out->source| is left empty and |out->long_term| is
 * true only for a process answer without a session token. On error |why|
 * (|whylen| bytes) says what was wrong, never quoting a secret. This
 * function returns 0 if it succeeds, or one of FED_ERR_PARSE,
 * FED_ERR_TOO_LARGE, FED_ERR_EXPIRED, FED_ERR_NOMEM.
 */
int fed_credjson_parse(enum fed_credjson_kind kind, const char *body, size_t len, int64_t now, struct fed_creds *out,
                       char *why, size_t whylen);

/* --- snapshots and single flight (flight.c) -------------------------------- */

/* Makes a snapshot holding |c| (taken: |c| is left empty), one reference. */
int fed_snap_make(struct fed_creds *c, struct fed_snap **out);

/* Bounded printf into |dst| (always NUL-terminated; cut when too long). */
void fed_fmt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * One value that many may ask for at once: the current snapshot, its
 * expiry, a cached failure, and the waiters of the one call in flight.
 * Embedded in a cache entry and in the base chain; every field is
 * protected by the owner's mutex.
 */
struct fed_slot {
	struct fed_snap *snap; /* NULL: none yet */
	int64_t expires_ms;    /* of |snap|; 0: never */
	int neg_err;           /* a failure cached until |neg_until_ms|; 0: none */
	int64_t neg_until_ms;
	struct fed_sts_error neg_e;
	bool running;                /* a call is in flight */
	struct fed_wait *waiters;    /* its waiters (a doubly linked list) */
	uint64_t generation;         /* bumped at each finish, for tests and stats */
};

enum fed_slot_verdict {
	FED_SLOT_HIT,         /* |snap| usable and fresh */
	FED_SLOT_HIT_REFRESH, /* usable, inside the refresh window, no call in flight: start one */
	FED_SLOT_NEGATIVE,    /* a failure is cached */
	FED_SLOT_JOIN,        /* not usable, a call is in flight: wait for it */
	FED_SLOT_START,       /* not usable, nothing in flight: start a call */
};

/* Decides what a request for |s| gets at |now_ms|, with |ahead_ms| the
 * refresh window and |min_valid_ms| the least validity handed out. Under
 * the owner's lock. */
enum fed_slot_verdict fed_slot_decide(const struct fed_slot *s, int64_t now_ms, int64_t ahead_ms,
                                      int64_t min_valid_ms);

/* Adds a waiter for the call in flight on |s|. Under the owner's |lock|. */
int fed_slot_join(struct fed_slot *s, pthread_mutex_t *lock, struct fed_transport *t, fed_creds_done_fn *done,
                  void *arg, struct fed_wait **w);

/*
 * Ends the call in flight on |s|, which ran on |t|'s loop: stores |snap|
 * (taken; with its expiry |expires_ms|) or caches |err| until
 * |neg_until_ms| (0: do not cache it), then delivers the outcome to every
 * waiter, directly when the waiter is on |t| and through its transport's
 * post otherwise. Takes and releases |lock| itself; no lock may be held by
 * the caller. |t| NULL: every waiter through its post (the call never
 * started). Returns how many deliveries were lost because a post failed.
 */
int fed_slot_finish(struct fed_slot *s, pthread_mutex_t *lock, struct fed_transport *t, int err,
                     struct fed_snap *snap, int64_t expires_ms, const struct fed_sts_error *e, int64_t neg_until_ms);

/* Frees the waiters of |s| without calling them (the owner is going away). */
void fed_slot_abandon(struct fed_slot *s);

/* Drops what |s| holds (the snapshot, the cached failure). No waiters may remain. */
void fed_slot_clear(struct fed_slot *s);

#endif
