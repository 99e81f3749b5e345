/* SPDX-License-Identifier: Apache-2.0 */
/* resolve_test.c: the resolver on real loops and threads: literals, the cache, the hosts file, coalescing, cancel, TTLs, eviction. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "proxy/resolve.h"
#include "proxy/resolve_int.h"

/*
 * No network here: names that must fail have a 64-byte label, which
 * getaddrinfo() refuses before any packet is sent; "localhost" comes from
 * /etc/hosts through nsswitch, as on any machine.
 */
#define LABEL64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define BAD1 LABEL64 ".one.example"
#define BAD2 LABEL64 ".two.example"
#define BAD3 LABEL64 ".three.example"

/* What one callback saw. */
struct got {
	int calls;
	struct px_resolve_answer a;
};

static void got_cb(void *arg, const struct px_resolve_answer *a)
{
	struct got *g = arg;

	g->calls++;
	g->a = *a;
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs |loop| until |g| has been called (or 10 s pass: a failure). */
static void wait_for(struct ev_loop *loop, struct got *g)
{
	int timed_out = 0;
	ev_timer t;

	ev_timer_init(&t, timeout_cb, 10.0, 0.);
	t.data = &timed_out;
	ev_timer_start(loop, &t);
	while (g->calls == 0 && !timed_out)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	assert_false(timed_out);
}

/* Runs |loop| for |s| seconds of a real timer. */
static void run_for(struct ev_loop *loop, double s)
{
	int fired = 0;
	ev_timer t;

	ev_timer_init(&t, timeout_cb, s, 0.);
	t.data = &fired;
	ev_timer_start(loop, &t);
	while (!fired)
		ev_run(loop, EVRUN_ONCE);
}

static struct px_resolver *resolver(unsigned nthreads, double ttl, double neg_ttl, size_t max, const char *hosts)
{
	struct px_resolver *r = NULL;
	char err[256] = "";

	int rv = px_resolver_new(nthreads, ttl, neg_ttl, max, hosts, err, sizeof(err), &r);
	if (rv != 0)
		fail_msg("px_resolver_new: %d: %s", rv, err);
	return r;
}

static void stats_are(struct px_resolver *r, uint64_t hits, uint64_t lookups, uint64_t failures)
{
	uint64_t h, l, f;

	px_resolver_stats(r, &h, &l, &f);
	assert_int_equal(h, hits);
	assert_int_equal(l, lookups);
	assert_int_equal(f, failures);
}

static const char *text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const void *p = ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
	                                         : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	assert_true(ss->ss_family == AF_INET || ss->ss_family == AF_INET6);
	assert_non_null(inet_ntop(ss->ss_family, p, buf, (socklen_t)size));
	return buf;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
	                                : ((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* The answer's addresses as "a b c". */
static const char *addrs(const struct px_resolve_answer *a, char *buf, size_t size)
{
	char one[INET6_ADDRSTRLEN];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(port_of(&a->addrs[i]), 0);
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", text(&a->addrs[i], one, sizeof(one)));
		assert_true(n < size);
	}
	return buf;
}

static char tmpdir[] = "/tmp/resolve_test.XXXXXX";

/* Writes |content| to a file in the test's directory; returns its path. */
static const char *write_file(const char *name, const char *content, size_t len)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* --- answered at once ---------------------------------------------------------- */

static void test_literals(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0, 0, 0, NULL);
	struct px_resolve_loop *rl = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q = NULL;
	struct got g = {0};
	char buf[256];

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	assert_int_equal(px_resolve_start(rl, "192.0.2.10", &a, got_cb, &g, &q), 0);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.addrs[0].ss_family, AF_INET);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "192.0.2.10");
	assert_int_equal(px_resolve_start(rl, "2001:DB8::A", &a, got_cb, &g, &q), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.addrs[0].ss_family, AF_INET6);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "2001:db8::a");
	assert_int_equal(px_resolve_start(rl, "::1", &a, got_cb, &g, &q), 0);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "::1");
	assert_null(q);
	run_for(loop, 0.05);
	assert_int_equal(g.calls, 0);
	stats_are(r, 0, 0, 0);
	px_resolve_loop_del(rl);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

static void test_invalid(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0, 0, 0, NULL);
	struct px_resolve_loop *rl = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q = NULL;
	struct got g = {0};
	char name[300];

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	assert_int_equal(px_resolve_start(rl, "", &a, got_cb, &g, &q), PX_ERR_INVALID);
	assert_int_equal(px_resolve_start(rl, ".", &a, got_cb, &g, &q), PX_ERR_INVALID);
	/* 253 bytes is the most; a trailing dot does not count. */
	memset(name, 'b', sizeof(name));
	memcpy(name, LABEL64 ".", 65);
	for (size_t i = 65 + 63; i < 253; i += 64)
		name[i] = '.';
	name[254] = '\0';
	assert_int_equal(px_resolve_start(rl, name, &a, got_cb, &g, &q), PX_ERR_INVALID);
	name[253] = '.';
	assert_int_equal(px_resolve_start(rl, name, &a, got_cb, &g, &q), PX_RESOLVE_PENDING);
	wait_for(loop, &g);
	assert_int_equal(g.a.err, PX_ERR_RESOLVE);
	g.calls = 0;
	name[253] = '\0';
	assert_int_equal(px_resolve_start(rl, name, &a, got_cb, &g, &q), 0); /* the same name, cached */
	assert_int_equal(a.err, PX_ERR_RESOLVE);
	assert_int_equal(g.calls, 0);
	px_resolve_loop_del(rl);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

/* The resolver's threads block SIGPIPE, SIGHUP, SIGTERM and SIGINT (read
 * from the kernel's view of each thread, /proc/self/task/N/status), and
 * the calling thread's mask is as it was. */
static void test_threads_block_signals(void **state)
{
	(void)state;
	sigset_t before, after;
	sigemptyset(&before);
	pthread_sigmask(SIG_BLOCK, NULL, &before);
	struct px_resolver *r = resolver(3, 0, 0, 0, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	for (int s = 1; s < 32; s++)
		assert_int_equal(sigismember(&before, s), sigismember(&after, s));

	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int others = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[300], line[256];
		unsigned long long blk = 0;
		if (de->d_name[0] == '.' || strtol(de->d_name, NULL, 10) == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", de->d_name);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "SigBlk:", 7) == 0)
				blk = strtoull(line + 7, NULL, 16);
		fclose(f);
		const int sigs[] = {SIGPIPE, SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGCHLD};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			assert_true(blk & (1ull << (sigs[i] - 1)));
		others++;
	}
	closedir(d);
	assert_int_equal(others, 3);
	px_resolver_del(r);
}

/* --- DNS (nsswitch) and the cache ------------------------------------------------ */

static void test_localhost_cached(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(0, 0, 0, 0, NULL);
	struct px_resolve_loop *rl = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q = NULL;
	struct got g = {0};
	char buf[1024], buf2[1024];

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	assert_int_equal(px_resolve_start(rl, "localhost", &a, got_cb, &g, &q), PX_RESOLVE_PENDING);
	assert_non_null(q);
	assert_int_equal(g.calls, 0); /* never from inside the call */
	wait_for(loop, &g);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.a.err, 0);
	assert_true(g.a.n >= 1);
	for (size_t i = 0; i < g.a.n; i++) {
		const char *t = text(&g.a.addrs[i], buf, sizeof(buf));
		assert_true(strncmp(t, "127.", 4) == 0 || strcmp(t, "::1") == 0);
	}
	addrs(&g.a, buf, sizeof(buf));
	/* Any case and a trailing dot: the same cache entry, answered at once. */
	q = NULL;
	assert_int_equal(px_resolve_start(rl, "LocalHost.", &a, got_cb, &g, &q), 0);
	assert_null(q);
	assert_int_equal(a.err, 0);
	assert_string_equal(addrs(&a, buf2, sizeof(buf2)), buf);
	run_for(loop, 0.05);
	assert_int_equal(g.calls, 1);
	stats_are(r, 1, 1, 0);
	px_resolve_loop_del(rl);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

static void test_failure_cached(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0, 0, 0, NULL);
	struct px_resolve_loop *rl = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q = NULL;
	struct got g = {0};

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	assert_int_equal(px_resolve_start(rl, BAD1, &a, got_cb, &g, &q), PX_RESOLVE_PENDING);
	wait_for(loop, &g);
	assert_int_equal(g.a.err, PX_ERR_RESOLVE);
	assert_int_equal(g.a.n, 0);
	assert_true(strlen(g.a.detail) > 0);
	print_message("# the failure: %s\n", g.a.detail);
	memset(&a, 0, sizeof(a));
	assert_int_equal(px_resolve_start(rl, BAD1, &a, got_cb, &g, &q), 0);
	assert_int_equal(a.err, PX_ERR_RESOLVE);
	assert_string_equal(a.detail, g.a.detail);
	assert_int_equal(a.n, 0);
	stats_are(r, 1, 1, 1);
	px_resolve_loop_del(rl);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

/* Two queries of one name, on two loops, while the threads hold still:
 * one getaddrinfo call answers both. */
static void test_coalesced(void **state)
{
	(void)state;
	struct ev_loop *l1 = ev_loop_new(EVFLAG_AUTO), *l2 = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(2, 0, 0, 0, NULL);
	struct px_resolve_loop *rl1 = NULL, *rl2 = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q1 = NULL, *q2 = NULL, *q3 = NULL;
	struct got g1 = {0}, g2 = {0}, g3 = {0};
	char b1[1024], b2[1024];

	assert_int_equal(px_resolve_loop_new(r, l1, &rl1), 0);
	assert_int_equal(px_resolve_loop_new(r, l2, &rl2), 0);
	px_resolver_hold(r, 1);
	assert_int_equal(px_resolve_start(rl1, "localhost", &a, got_cb, &g1, &q1), PX_RESOLVE_PENDING);
	assert_int_equal(px_resolve_start(rl2, "localhost", &a, got_cb, &g2, &q2), PX_RESOLVE_PENDING);
	assert_int_equal(px_resolve_start(rl2, "LOCALHOST", &a, got_cb, &g3, &q3), PX_RESOLVE_PENDING);
	assert_true(q1 != q2 && q2 != q3);
	px_resolver_hold(r, 0);
	wait_for(l1, &g1);
	wait_for(l2, &g2);
	wait_for(l2, &g3);
	assert_int_equal(g1.calls + g2.calls + g3.calls, 3);
	assert_int_equal(g1.a.err, 0);
	assert_string_equal(addrs(&g1.a, b1, sizeof(b1)), addrs(&g2.a, b2, sizeof(b2)));
	assert_string_equal(addrs(&g3.a, b2, sizeof(b2)), b1);
	stats_are(r, 0, 1, 0);
	px_resolve_loop_del(rl1);
	px_resolve_loop_del(rl2);
	px_resolver_del(r);
	ev_loop_destroy(l1);
	ev_loop_destroy(l2);
}

/* Cancelled while waiting for the lookup, and after the answer reached the
 * loop but before the loop ran: no callback either way. */
static void test_cancel(void **state)
{
	(void)state;
	struct ev_loop *l1 = ev_loop_new(EVFLAG_AUTO), *l2 = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0, 0, 0, NULL);
	struct px_resolve_loop *rl1 = NULL, *rl2 = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q1 = NULL, *q2 = NULL, *q3 = NULL, *q4 = NULL;
	struct got g1 = {0}, g2 = {0}, g3 = {0}, g4 = {0};

	assert_int_equal(px_resolve_loop_new(r, l1, &rl1), 0);
	assert_int_equal(px_resolve_loop_new(r, l2, &rl2), 0);
	px_resolve_cancel(NULL);

	/* While waiting: the lookup still runs (and is cached), no callback. */
	assert_int_equal(px_resolve_start(rl1, "localhost", &a, got_cb, &g1, &q1), PX_RESOLVE_PENDING);
	px_resolve_cancel(q1);
	/* One thread takes jobs in order: once BAD1 is answered, localhost was too. */
	assert_int_equal(px_resolve_start(rl1, BAD1, &a, got_cb, &g2, &q2), PX_RESOLVE_PENDING);
	wait_for(l1, &g2);
	run_for(l1, 0.05);
	assert_int_equal(g1.calls, 0);
	stats_are(r, 0, 2, 1);
	assert_int_equal(px_resolve_start(rl1, "localhost", &a, got_cb, &g1, &q1), 0);

	/* Answered on loop 1's list, loop 1 not run yet: l2's callback proves
	 * the answer was delivered to both loops. */
	px_resolver_hold(r, 1);
	assert_int_equal(px_resolve_start(rl1, BAD2, &a, got_cb, &g3, &q3), PX_RESOLVE_PENDING);
	assert_int_equal(px_resolve_start(rl2, BAD2, &a, got_cb, &g4, &q4), PX_RESOLVE_PENDING);
	px_resolver_hold(r, 0);
	wait_for(l2, &g4);
	px_resolve_cancel(q3);
	run_for(l1, 0.05);
	assert_int_equal(g3.calls, 0);
	assert_int_equal(g4.calls, 1);

	/* A loop deleted with a query pending: nothing is called, nothing leaks. */
	px_resolver_hold(r, 1);
	assert_int_equal(px_resolve_start(rl2, BAD3, &a, got_cb, &g4, &q4), PX_RESOLVE_PENDING);
	px_resolve_loop_del(rl2);
	assert_int_equal(px_resolve_start(rl1, BAD3, &a, got_cb, &g3, &q3), PX_RESOLVE_PENDING);
	px_resolver_hold(r, 0);
	wait_for(l1, &g3);
	run_for(l2, 0.05);
	assert_int_equal(g4.calls, 1);

	px_resolve_loop_del(rl1);
	px_resolver_del(r);
	ev_loop_destroy(l1);
	ev_loop_destroy(l2);
}

/* A callback that deletes its loop, or cancels another answered query. */
struct in_cb {
	struct px_resolve_loop *rl;     /* to delete */
	struct px_resolve_query *other; /* to cancel */
	int calls;
};

static void in_cb_fn(void *arg, const struct px_resolve_answer *a)
{
	struct in_cb *c = arg;
	(void)a;
	c->calls++;
	if (c->other)
		px_resolve_cancel(c->other);
	if (c->rl)
		px_resolve_loop_del(c->rl);
}

/* Three queries of one name answered together: whichever callback runs
 * first cancels one and deletes the loop; nothing else is called. */
static void test_callback_deletes(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0, 0, 0, NULL);
	struct px_resolve_loop *rl = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q[3];
	struct in_cb c[3] = {{0}};

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	px_resolver_hold(r, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(px_resolve_start(rl, BAD1, &a, in_cb_fn, &c[i], &q[i]), PX_RESOLVE_PENDING);
	for (int i = 0; i < 3; i++) {
		c[i].rl = rl;
		c[i].other = q[(i + 1) % 3];
	}
	px_resolver_hold(r, 0);
	run_for(loop, 0.2);
	assert_int_equal(c[0].calls + c[1].calls + c[2].calls, 1);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

/* Resolves |name| through the callback (PX_RESOLVE_PENDING expected). */
static void resolve_pending(struct ev_loop *loop, struct px_resolve_loop *rl, const char *name)
{
	struct px_resolve_answer a;
	struct px_resolve_query *q = NULL;
	struct got g = {0};

	assert_int_equal(px_resolve_start(rl, name, &a, got_cb, &g, &q), PX_RESOLVE_PENDING);
	wait_for(loop, &g);
}

static int cached(struct px_resolve_loop *rl, const char *name)
{
	struct px_resolve_answer a;
	struct px_resolve_query *q = NULL;
	struct got g = {0};
	int rv = px_resolve_start(rl, name, &a, got_cb, &g, &q);

	if (rv == PX_RESOLVE_PENDING)
		px_resolve_cancel(q);
	return rv == 0;
}

static void test_eviction(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0, 0, 2, NULL);
	struct px_resolve_loop *rl = NULL;

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	resolve_pending(loop, rl, BAD1);
	resolve_pending(loop, rl, BAD2);
	assert_true(cached(rl, BAD1)); /* BAD1 is now the most recently used */
	resolve_pending(loop, rl, BAD3); /* a third name: BAD2 goes */
	assert_true(cached(rl, BAD1));
	assert_true(cached(rl, BAD3));
	assert_false(cached(rl, BAD2));
	run_for(loop, 0.05);
	px_resolve_loop_del(rl);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

static void test_ttl(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0.2, 0.8, 0, NULL);
	struct px_resolve_loop *rl = NULL;

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	resolve_pending(loop, rl, "localhost");
	resolve_pending(loop, rl, BAD1);
	assert_true(cached(rl, "localhost"));
	assert_true(cached(rl, BAD1));
	run_for(loop, 0.3);
	assert_true(cached(rl, BAD1));         /* the failure lives 0.8 s */
	resolve_pending(loop, rl, "localhost"); /* the answer 0.2 s: looked up again */
	run_for(loop, 0.6);
	resolve_pending(loop, rl, BAD1);
	stats_are(r, 3, 4, 2);
	px_resolve_loop_del(rl);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

/* --- the hosts file ---------------------------------------------------------------- */

static const char hosts_text[] =
	"# a test hosts file\n"
	"\n"
	"169.254.169.254\tmetadata.example imds.AMAZONAWS.com.  # the metadata address\n"
	"::1 v6.example\r\n"
	"10.0.0.1 multi.example\n"
	"   2001:db8::1 multi.example\n"
	"10.0.0.2 Multi.Example localhost\n"
	"10.0.0.1 multi.example\n"
	"#10.9.9.9 multi.example\n";

static void test_hosts_file(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct px_resolver *r = resolver(1, 0, 0, 0, write_file("hosts", hosts_text, sizeof(hosts_text) - 1));
	struct px_resolve_loop *rl = NULL;
	struct px_resolve_answer a;
	struct px_resolve_query *q = NULL;
	struct got g = {0};
	char buf[1024];

	assert_int_equal(px_resolve_loop_new(r, loop, &rl), 0);
	assert_int_equal(px_resolve_start(rl, "imds.amazonaws.com", &a, got_cb, &g, &q), 0);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "169.254.169.254");
	assert_int_equal(px_resolve_start(rl, "METADATA.example.", &a, got_cb, &g, &q), 0);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "169.254.169.254");
	assert_int_equal(px_resolve_start(rl, "v6.example", &a, got_cb, &g, &q), 0);
	assert_int_equal(a.addrs[0].ss_family, AF_INET6);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "::1");
	/* Every line's addresses in file order, without duplicates. */
	assert_int_equal(px_resolve_start(rl, "multi.example", &a, got_cb, &g, &q), 0);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "10.0.0.1 2001:db8::1 10.0.0.2");
	/* The file wins over the system's resolver. */
	assert_int_equal(px_resolve_start(rl, "localhost", &a, got_cb, &g, &q), 0);
	assert_string_equal(addrs(&a, buf, sizeof(buf)), "10.0.0.2");
	/* A name not in it goes to DNS. */
	assert_int_equal(px_resolve_start(rl, BAD1, &a, got_cb, &g, &q), PX_RESOLVE_PENDING);
	wait_for(loop, &g);
	stats_are(r, 5, 1, 1);
	px_resolve_loop_del(rl);
	px_resolver_del(r);
	ev_loop_destroy(loop);
}

struct bad_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen */
	int rv;
	const char *msg; /* after "FILE:" */
};

#define NUL_TEXT "10.0.0.1 a.example\n10.0.0.2 b\0.example\n"
static struct bad_case bad_cases[] = {
	{"not-an-address", "10.0.0.1 a.example\n\n999.0.0.1 b.example\n", 0, PX_ERR_CONFIG,
	 "3: \"999.0.0.1\" is not an IPv4 or IPv6 address (a line is: address, then names)"},
	{"name-first", "a.example 10.0.0.1\n", 0, PX_ERR_CONFIG, "1: \"a.example\" is not an IPv4 or IPv6 address"},
	{"address-alone", "# x\n10.0.0.1   # no name\n", 0, PX_ERR_CONFIG, "2: an address without a name"},
	{"ipv6-zone", "fe80::1%eth0 a.example\n", 0, PX_ERR_CONFIG, "1: \"fe80::1%eth0\" is not an IPv4 or IPv6"},
	{"cidr", "10.0.0.0/8 a.example\n", 0, PX_ERR_CONFIG, "1: \"10.0.0.0/8\" is not an IPv4"},
	{"bad-byte-in-name", "10.0.0.1 a.example b/c.example\n", 0, PX_ERR_CONFIG,
	 "1: \"b/c.example\" is not a host name"},
	{"empty-label", "10.0.0.1 a..example\n", 0, PX_ERR_CONFIG, "1: \"a..example\" is not a host name"},
	{"leading-dot", "10.0.0.1 .example\n", 0, PX_ERR_CONFIG, "1: \".example\" is not a host name"},
	{"label-64", "10.0.0.1 a.example " LABEL64 "\n", 0, PX_ERR_CONFIG, "1: \"" LABEL64 "\" is not a host name"},
	{"long-word", "10.0.0.1 " LABEL64 LABEL64 "\n", 0, PX_ERR_CONFIG,
	 "1: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a host name"},
	{"non-ascii", "10.0.0.1 caf\xc3\xa9.example\n", 0, PX_ERR_CONFIG, "1: \"caf??.example\" is not a host"},
	{"control-byte", "10.0.0.1 a\033[31m.example\n", 0, PX_ERR_CONFIG, "1: \"a?[31m.example\" is not a host"},
	{"nul-byte", NUL_TEXT, sizeof(NUL_TEXT) - 1, PX_ERR_CONFIG, "2: a NUL byte"},
	{"17-addresses",
	 "10.0.0.1 a.example\n10.0.0.2 a.example\n10.0.0.3 a.example\n10.0.0.4 a.example\n10.0.0.5 a.example\n"
	 "10.0.0.6 a.example\n10.0.0.7 a.example\n10.0.0.8 a.example\n10.0.0.9 a.example\n10.0.0.10 a.example\n"
	 "10.0.0.11 a.example\n10.0.0.12 a.example\n10.0.0.13 a.example\n10.0.0.14 a.example\n"
	 "10.0.0.15 a.example\n10.0.0.16 a.example\n10.0.0.1 a.example\n10.0.0.17 A.example\n",
	 0, PX_ERR_CONFIG, "18: over 16 addresses for a.example"},
};

static void test_hosts_bad(void **state)
{
	const struct bad_case *c = *state;
	size_t len = c->len ? c->len : strlen(c->text);
	const char *path = write_file("bad-hosts", c->text, len);
	struct px_resolver *r = NULL;
	struct px_hosts *h = NULL;
	char err[512] = "", want[512];

	snprintf(want, sizeof(want), "%s:%s", path, c->msg);
	assert_int_equal(px_resolver_new(1, 0, 0, 0, path, err, sizeof(err), &r), c->rv);
	assert_null(r);
	print_message("# %s\n", err);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	/* The parser alone says the same with the name it is given. */
	assert_int_equal(px_hosts_parse(c->text, len, "f", &h, err, sizeof(err)), c->rv);
	assert_null(h);
	snprintf(want, sizeof(want), "f:%s", c->msg);
	assert_true(strncmp(err, want, strlen(want)) == 0);
}

static void test_hosts_limits(void **state)
{
	(void)state;
	struct px_resolver *r = NULL;
	struct px_hosts *h = NULL;
	char err[512] = "";
	size_t size = PX_HOSTS_MAX_BYTES + 1, n = 0;
	char *big = malloc(size);

	assert_non_null(big);
	/* A file that cannot be read. */
	assert_int_equal(px_resolver_new(1, 0, 0, 0, "/nonexistent/hosts", err, sizeof(err), &r), PX_ERR_IO);
	assert_string_equal(err, "cannot read the hosts file /nonexistent/hosts: No such file or directory");
	assert_null(r);
	/* Over PX_HOSTS_MAX_BYTES. */
	memset(big, '#', size);
	assert_int_equal(px_hosts_parse(big, size, "f", &h, err, sizeof(err)), PX_ERR_TOO_LARGE);
	assert_int_equal(px_resolver_new(1, 0, 0, 0, write_file("big", big, size), err, sizeof(err), &r),
	                 PX_ERR_TOO_LARGE);
	/* Exactly PX_HOSTS_MAX_NAMES names is fine, one more is not. */
	for (int i = 0; i <= PX_HOSTS_MAX_NAMES; i++)
		n += (size_t)snprintf(big + n, size - n, "10.0.0.1 n%d.example\n", i);
	assert_int_equal(px_hosts_parse(big, n, "f", &h, err, sizeof(err)), PX_ERR_TOO_LARGE);
	assert_null(h);
	assert_string_equal(err, "f: over 4096 names");
	n -= strlen("10.0.0.1 n4096.example\n");
	assert_int_equal(px_hosts_parse(big, n, "f", &h, err, sizeof(err)), 0);
	assert_int_equal(px_hosts_count(h), PX_HOSTS_MAX_NAMES);
	px_hosts_del(h);
	/* A bad TTL. */
	assert_int_equal(px_resolver_new(1, -1, 0, 0, NULL, err, sizeof(err), &r), PX_ERR_INVALID);
	free(big);
}

/* An empty file and one of comments only: valid, no names. */
static void test_hosts_empty(void **state)
{
	(void)state;
	struct px_hosts *h = NULL;
	struct px_resolve_answer a;
	char err[128];

	assert_int_equal(px_hosts_parse("", 0, "f", &h, err, sizeof(err)), 0);
	assert_int_equal(px_hosts_count(h), 0);
	assert_int_equal(px_hosts_lookup(h, "a", 1, &a), 0);
	px_hosts_del(h);
	assert_int_equal(px_hosts_parse("# only\n  \t\n#\n", 13, "f", &h, err, sizeof(err)), 0);
	assert_int_equal(px_hosts_count(h), 0);
	px_hosts_del(h);
	px_hosts_del(NULL);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char path[300];
	(void)state;
	snprintf(path, sizeof(path), "%s/hosts", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad-hosts", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	struct CMUnitTest tests[13 + LEN(bad_cases)];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_literals);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_invalid);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_threads_block_signals);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_localhost_cached);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_failure_cached);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_coalesced);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cancel);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_callback_deletes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_eviction);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ttl);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hosts_file);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hosts_limits);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hosts_empty);
	for (size_t i = 0; i < LEN(bad_cases); i++)
		tests[n++] = (struct CMUnitTest){.name = bad_cases[i].name, .test_func = test_hosts_bad,
		                                 .initial_state = &bad_cases[i]};
	if (n != LEN(tests))
		abort();
	return cmocka_run_group_tests(tests, setup, teardown);
}
