/* SPDX-License-Identifier: Apache-2.0 */
/* resolve.h: the gate's name resolver: getaddrinfo on helper threads, answers on the asking worker's loop, a process-wide cache and a hosts file. */
#ifndef AWSGATE_PROXY_RESOLVE_H
#define AWSGATE_PROXY_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "proxy.h"
#include "upstream.h" /* PX_ERR_INVALID */

struct ev_loop;

/*
 * docs/UPSTREAM.md ("Name resolution") says why. Worker loops never block:
 * px_resolve_start() answers at once from a literal, the hosts file or the
 * cache, or hands the name to a resolver thread and the answer comes later
 * on the asking loop (ev_async). Every resolved address still goes through
 * px_target_pick_address(): nothing here decides what may be reached.
 */

#define PX_RESOLVE_MAX_ADDRS 16 /* addresses kept per name */
#define PX_RESOLVE_PENDING 1    /* the answer comes later through the callback */
#define PX_ERR_RESOLVE -470     /* the name did not resolve (getaddrinfo's error in the message) */

#define PX_RESOLVE_MAX_NAME 253           /* bytes of a name (without a trailing dot's byte counted) */
#define PX_HOSTS_MAX_BYTES (1024 * 1024)  /* size of the hosts file */
#define PX_HOSTS_MAX_NAMES 4096           /* distinct names in the hosts file */

struct px_resolver;      /* process-wide: threads, cache, hosts table */
struct px_resolve_loop;  /* one per worker loop: delivers answers on that loop (ev_async) */
struct px_resolve_query; /* one lookup in flight for one caller */

struct px_resolve_answer {
	int err;          /* 0 or PX_ERR_RESOLVE */
	char detail[128]; /* gai_strerror() text when err != 0 */
	struct sockaddr_storage addrs[PX_RESOLVE_MAX_ADDRS];
	size_t n; /* AF_INET and AF_INET6 only, port 0, getaddrinfo's order, no duplicates */
};

/*
 * Starts |nthreads| resolver threads (0: 2); positive answers are cached
 * |ttl_s| seconds (0: 30), failures |neg_ttl_s| (0: 5); at most
 * |max_entries| names (0: 4096, then least-recently-used eviction).
 * |hosts_file| (NULL: none) is a hosts(5)-format file read once here: names
 * in it are answered from it, never from DNS (see px_hosts_parse()). The
 * threads block every signal, so signals stay with the main thread.
 *
 * This function returns 0 and sets |*out| if it succeeds, or one of the
 * following negative error codes, with a message in |errbuf|:
 * PX_ERR_NOMEM, PX_ERR_IO (the file cannot be read), PX_ERR_TOO_LARGE (over
 * PX_HOSTS_MAX_BYTES), PX_ERR_CONFIG (a bad line: "FILE:LINE: what"),
 * PX_ERR_INVALID (a negative or not-a-number TTL), PX_ERR_STATE (a thread
 * could not be started).
 */
int px_resolver_new(unsigned nthreads, double ttl_s, double neg_ttl_s, size_t max_entries, const char *hosts_file,
                    char *errbuf, size_t errsize, struct px_resolver **out);

/* Stops and joins the threads and frees everything; every loop must have
 * been deleted first. NULL is fine. */
void px_resolver_del(struct px_resolver *r);

/* Attaches |r| to the worker loop |loop| (an ev_async on it, started
 * unreferenced so an idle resolver does not keep the loop alive).
 * Returns 0, or PX_ERR_NOMEM. */
int px_resolve_loop_new(struct px_resolver *r, struct ev_loop *loop, struct px_resolve_loop **out);

/* Cancels the loop's queries (no callback) and detaches it, on |rl|'s
 * loop's thread; a px_resolve_fn may call it (then no further callback of
 * the loop runs). Before the loop itself is destroyed. NULL is fine. */
void px_resolve_loop_del(struct px_resolve_loop *rl);

/* Called once on the query's loop with the answer (borrowed: valid until
 * the function returns). The query is freed after it returns. */
typedef void px_resolve_fn(void *arg, const struct px_resolve_answer *a);

/*
 * Resolves |host| (a NUL-terminated DNS name, any case, optionally with a
 * trailing dot; or an IPv4/IPv6 literal, answered at once).
 * Cache hit, literal or hosts-file name: fills |*now| and returns 0 (no
 * callback). A cached failure returns 0 with now->err set.
 * Otherwise returns PX_RESOLVE_PENDING, sets |*q| and |fn| is called once,
 * later, on |rl|'s loop (never from inside this call), unless
 * px_resolve_cancel(*q) is called first. Concurrent lookups of one name
 * (from any loop) share one getaddrinfo call.
 *
 * Error codes: PX_ERR_NOMEM, PX_ERR_INVALID (empty, or over
 * PX_RESOLVE_MAX_NAME bytes).
 */
int px_resolve_start(struct px_resolve_loop *rl, const char *host, struct px_resolve_answer *now, px_resolve_fn *fn,
                     void *arg, struct px_resolve_query **q);

/* Cancels |q| before its callback: it will not be called, and |q| is freed.
 * On |q|'s loop's thread. NULL is fine. */
void px_resolve_cancel(struct px_resolve_query *q);

/* |host| as an IPv4 or IPv6 literal: 1 and |a| holds it as its only
 * address (port 0); 0, |a| untouched, when it is none. */
int px_resolve_literal(const char *host, struct px_resolve_answer *a);

/* Sets |port| (host order) in |ss|: 0, or -1 when |ss| is neither
 * AF_INET nor AF_INET6 (the resolver's answers never are). */
static inline int px_sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
	else if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
	else
		return -1;
	return 0;
}

/* For metrics: lookups answered from the cache or the hosts file (|hits|),
 * getaddrinfo calls (|lookups|), getaddrinfo calls that failed (|failures|).
 * Any pointer may be NULL. */
void px_resolver_stats(struct px_resolver *r, uint64_t *hits, uint64_t *lookups, uint64_t *failures);

/* --- the hosts file (hostsfile.c) ------------------------------------------ */

struct px_hosts; /* an immutable table: name -> addresses */

/*
 * Parses a hosts(5) file: |text|, |len| bytes (NUL bytes are refused). Each
 * line: an IPv4 or IPv6 address (no zone), then one or more names,
 * separated by spaces or tabs; '#' starts a comment; blank lines are
 * ignored; a CR before the newline is allowed. A name is a DNS name of
 * letters, digits, '-' and '_' in labels of 1 to 63 bytes, at most 253
 * bytes, an optional trailing dot; case does not matter. A name on several
 * lines gets the addresses of all of them, in file order, without
 * duplicates, at most PX_RESOLVE_MAX_ADDRS.
 *
 * This function returns 0 and sets |*out| (px_hosts_del() frees it) if it
 * succeeds, or PX_ERR_NOMEM, PX_ERR_TOO_LARGE (over PX_HOSTS_MAX_BYTES or
 * PX_HOSTS_MAX_NAMES names), PX_ERR_CONFIG with "|name|:LINE: what" in
 * |errbuf|.
 */
int px_hosts_parse(const char *text, size_t len, const char *name, struct px_hosts **out, char *errbuf,
                   size_t errsize);

/* Fills |a| (err 0) with the addresses of |host| (|len| bytes, lower case,
 * no trailing dot) and returns 1, or returns 0 if the table has no such
 * name. */
int px_hosts_lookup(const struct px_hosts *h, const char *host, size_t len, struct px_resolve_answer *a);

/* The number of names of |h|, and the |i|th one (in sorted order). */
size_t px_hosts_count(const struct px_hosts *h);
const char *px_hosts_name(const struct px_hosts *h, size_t i);

void px_hosts_del(struct px_hosts *h);

#endif
