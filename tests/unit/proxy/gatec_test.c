/* SPDX-License-Identifier: Apache-2.0 */
/* gatec_test.c: px_gatec without a gate: its argument checks, body states, the local certificate check, the gate's name through the resolver, connect errors, cancel and del. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "proxy/gatec.h"
#include "proxy/resolve.h"
#include "proxy/resolve_int.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static char dir[64];
static char cert[128], key[128], key2[128], old_cert[128], hosts[128];

/* A self-signed EC certificate valid from |from| to |to| seconds from now. */
static void write_cert(const char *cpath, const char *kpath, long from, long to)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	FILE *f;

	assert_non_null(pk);
	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"alice", -1, -1,
				   0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	if (cpath != NULL) {
		f = fopen(cpath, "w");
		assert_non_null(f);
		PEM_write_X509(f, x);
		fclose(f);
	}
	f = fopen(kpath, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gatec-test-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/c.crt", dir);
	snprintf(key, sizeof(key), "%s/c.key", dir);
	snprintf(key2, sizeof(key2), "%s/other.key", dir);
	snprintf(old_cert, sizeof(old_cert), "%s/old.crt", dir);
	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	{
		FILE *f = fopen(hosts, "w");
		if (f == NULL)
			return -1;
		fputs("127.0.0.1 gate.test\n", f);
		fclose(f);
	}
	write_cert(cert, key, 0, 3600);
	write_cert(NULL, key2, 0, 3600);
	{
		char okey[160];
		snprintf(okey, sizeof(okey), "%s/old.key", dir);
		write_cert(old_cert, okey, -7200, -3600);
	}
	return 0;
}

static int teardown(void **state)
{
	char p[200];
	const char *names[] = {"c.crt", "c.key", "other.key", "old.crt", "old.key", "hosts"};

	(void)state;
	for (size_t i = 0; i < LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static struct px_gatec_config cfg_for(const char *gate, const char *c, const char *k)
{
	struct px_gatec_config cfg = {gate, c, k, NULL, 500, 500, 500, NULL};
	cfg.ca_file = cert; /* any PEM certificate will do as a CA here */
	return cfg;
}

/* What the callbacks saw. */
struct seen {
	int head, body, writable, done, cont;
	int err;
	char detail[400];
	struct ev_loop *loop;
};

static void s_continue(void *arg)
{
	((struct seen *)arg)->cont++;
}

static void s_head(void *arg, int status, const struct px_up_header *h, size_t n)
{
	(void)status;
	(void)h;
	(void)n;
	((struct seen *)arg)->head++;
}

static int s_body(void *arg, const unsigned char *d, size_t n)
{
	(void)d;
	(void)n;
	((struct seen *)arg)->body++;
	return 0;
}

static void s_writable(void *arg)
{
	((struct seen *)arg)->writable++;
}

static void s_done(void *arg, int err, const char *detail)
{
	struct seen *s = arg;

	s->done++;
	s->err = err;
	snprintf(s->detail, sizeof(s->detail), "%s", detail ? detail : "");
	if (s->loop != NULL)
		ev_break(s->loop, EVBREAK_ONE);
}

static const struct px_gatec_handler handler = {s_continue, s_head, s_body, s_writable, s_done};

static void test_new_bad_gate(void **state)
{
	static const char *const bad[] = {"",           "gate",        "gate:",     ":443",      "gate:0",
					  "gate:65536", "gate:12a",    "gate:-1",   "[::1",      "[::1]443",
					  "[]:443",     "gate:100000", "gate:4 43", "gate:443x"};
	struct ev_loop *loop = ev_loop_new(0);
	char err[300];

	(void)state;
	for (size_t i = 0; i < LEN(bad); i++) {
		struct px_gatec_config cfg = cfg_for(bad[i], cert, key);
		struct px_gatec *gc = (struct px_gatec *)(uintptr_t)1;
		err[0] = '\0';
		assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), PX_ERR_INVALID);
		assert_ptr_equal(gc, (struct px_gatec *)(uintptr_t)1); /* untouched on failure */
		assert_non_null(strstr(err, "HOST:PORT"));
	}
	ev_loop_destroy(loop);
}

static void test_new_files(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct px_gatec *gc = NULL;
	struct px_gatec_config cfg;
	char err[400];

	(void)state;
	cfg = cfg_for("127.0.0.1:1", "/nonexistent/c.crt", key);
	assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), PX_ERR_INVALID);
	assert_non_null(strstr(err, "/nonexistent/c.crt"));

	cfg = cfg_for("127.0.0.1:1", cert, key2);
	assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), PX_ERR_INVALID);
	assert_non_null(strstr(err, "does not match"));

	cfg = cfg_for("127.0.0.1:1", cert, key);
	cfg.ca_file = "/nonexistent/ca.crt";
	assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), PX_ERR_INVALID);
	assert_non_null(strstr(err, "the gate's CA /nonexistent/ca.crt"));

	cfg = cfg_for(NULL, cert, key);
	assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), PX_ERR_INVALID);
	assert_null(gc);

	cfg = cfg_for("[::1]:443", cert, key);
	assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), 0);
	assert_null(px_gatec_gate_version(gc));
	px_gatec_del(gc);
	px_gatec_del(NULL);
	ev_loop_destroy(loop);
}

static struct px_gatec *new_gc(struct ev_loop *loop, const char *gate, const char *c)
{
	struct px_gatec_config cfg = cfg_for(gate, c, c == cert ? key : NULL);
	struct px_gatec *gc = NULL;
	char err[300], okey[160];

	if (c != cert) {
		snprintf(okey, sizeof(okey), "%s/old.key", dir);
		cfg.key_file = okey;
	}
	assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), 0);
	return gc;
}

static void test_start_invalid(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct px_gatec *gc = new_gc(loop, "127.0.0.1:1", cert);
	struct px_gatec_request *rq = NULL;
	struct seen s = {0};
	char *big = malloc(70000);
	struct px_up_header bad[][1] = {
		{{"x-a", "v\r\nx-b: 1"}}, {{"x-a", "v\n"}}, {{"x a", "v"}},  {{"", "v"}},
		{{"x:a", "v"}},           {{":path", "/"}}, {{"x-a", NULL}}, {{"x\x7f", "v"}},
	};
	struct px_up_header hbig[1] = {{"x-big", big}};
	struct px_gatec_handler nowritable = handler;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 69999);
	big[69999] = '\0';
	for (size_t i = 0; i < LEN(bad); i++)
		assert_int_equal(px_gatec_request_start(gc, "GET", "/", bad[i], 1, PX_UP_BODY_NONE, 0, &handler, &s, &rq),
				 PX_ERR_INVALID);
	assert_int_equal(px_gatec_request_start(gc, "GE T", "/", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq),
			 PX_ERR_INVALID);
	assert_int_equal(px_gatec_request_start(gc, "GET", "/a b", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq),
			 PX_ERR_INVALID);
	assert_int_equal(px_gatec_request_start(gc, "GET", "/\r\n", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq),
			 PX_ERR_INVALID);
	assert_int_equal(px_gatec_request_start(gc, "GET", "", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq),
			 PX_ERR_INVALID);
	/* Over PX_GATEC_MAX_REQUEST_BYTES. */
	assert_int_equal(px_gatec_request_start(gc, "GET", "/", hbig, 1, PX_UP_BODY_NONE, 0, &handler, &s, &rq),
			 PX_ERR_INVALID);
	/* A body needs on_writable. */
	nowritable.on_writable = NULL;
	assert_int_equal(
		px_gatec_request_start(gc, "PUT", "/", NULL, 0, PX_UP_BODY_CHUNKED, 0, &nowritable, &s, &rq),
		PX_ERR_INVALID);
	assert_null(rq);
	big[40000] = '\0'; /* under the limit */
	assert_int_equal(px_gatec_request_start(gc, "GET", "/", hbig, 1, PX_UP_BODY_NONE, 0, &handler, &s, &rq), 0);
	assert_non_null(rq);
	px_gatec_request_cancel(rq);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(s.done + s.head + s.body + s.writable, 0); /* nothing after a cancel */
	free(big);
	px_gatec_del(gc);
	ev_loop_destroy(loop);
}

static void test_body_states(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct px_gatec *gc = new_gc(loop, "127.0.0.1:1", cert);
	struct px_gatec_request *rq;
	struct seen s = {0};
	static unsigned char buf[100000];

	(void)state;
	assert_int_equal(px_gatec_request_start(gc, "GET", "/", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq), 0);
	assert_int_equal(px_gatec_request_write(rq, "x", 1), PX_ERR_STATE);
	assert_int_equal(px_gatec_request_end(rq), PX_ERR_STATE);
	px_gatec_request_cancel(rq);

	assert_int_equal(px_gatec_request_start(gc, "PUT", "/", NULL, 0, PX_UP_BODY_LENGTH, 10, &handler, &s, &rq), 0);
	assert_int_equal(px_gatec_request_write(rq, buf, 11), PX_ERR_INVALID);
	assert_int_equal(px_gatec_request_write(rq, buf, 0), 0);
	assert_int_equal(px_gatec_request_write(rq, buf, 5), 5);
	assert_int_equal(px_gatec_request_end(rq), PX_ERR_INVALID); /* 5 of 10 */
	assert_int_equal(px_gatec_request_write(rq, buf, 6), PX_ERR_INVALID);
	assert_int_equal(px_gatec_request_write(rq, buf, 5), 5);
	assert_int_equal(px_gatec_request_end(rq), 0);
	assert_int_equal(px_gatec_request_end(rq), PX_ERR_STATE);
	assert_int_equal(px_gatec_request_write(rq, buf, 1), PX_ERR_STATE);
	px_gatec_request_cancel(rq);

	/* PX_GATEC_BODY_BUF bytes are held, then PX_ERR_AGAIN. */
	assert_int_equal(px_gatec_request_start(gc, "PUT", "/", NULL, 0, PX_UP_BODY_CHUNKED, 0, &handler, &s, &rq), 0);
	assert_int_equal(px_gatec_request_write(rq, buf, sizeof(buf)), PX_GATEC_BODY_BUF);
	assert_int_equal(px_gatec_request_write(rq, buf, 1), PX_ERR_AGAIN);
	px_gatec_request_cancel(rq);
	px_gatec_request_cancel(NULL);
	px_gatec_request_resume(NULL);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(s.done + s.head + s.body + s.writable, 0);
	px_gatec_del(gc);
	ev_loop_destroy(loop);
}

/* Port 1 on loopback: nothing listens there. */
static void test_connect_refused_then_del(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct px_gatec *gc = new_gc(loop, "127.0.0.1:1", cert);
	struct px_gatec_request *rq;
	struct seen s = {0}, s2 = {0};

	(void)state;
	s.loop = loop;
	assert_int_equal(px_gatec_request_start(gc, "GET", "/", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq), 0);
	assert_int_equal(s.done, 0); /* never from inside the call */
	ev_run(loop, 0);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.err, PX_UP_CONNECT_REFUSED);
	assert_non_null(strstr(s.detail, "127.0.0.1:1"));
	/* Another one waits for the backoff; del ends it from inside. */
	assert_int_equal(px_gatec_request_start(gc, "GET", "/", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s2, &rq), 0);
	ev_run(loop, EVRUN_NOWAIT);
	px_gatec_del(gc);
	assert_int_equal(s2.done, 1);
	assert_int_equal(s2.err, PX_UP_RESET);
	ev_loop_destroy(loop);
}

static void test_expired_certificate(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct px_gatec *gc = new_gc(loop, "127.0.0.1:1", old_cert);
	struct px_gatec_request *rq;
	struct seen s = {0};

	(void)state;
	s.loop = loop;
	assert_int_equal(px_gatec_request_start(gc, "GET", "/", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq), 0);
	ev_run(loop, 0);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.err, PX_GATEC_CERT);
	assert_non_null(strstr(s.detail, "expired"));
	assert_non_null(strstr(s.detail, "log in again (awsgate login)"));
	px_gatec_del(gc);
	ev_loop_destroy(loop);
}

/* A resolver on |loop| with the test's hosts file (gate.test is 127.0.0.1). */
static struct px_resolve_loop *new_rl(struct ev_loop *loop, struct px_resolver **r)
{
	struct px_resolve_loop *rl = NULL;
	char err[200];

	assert_int_equal(px_resolver_new(1, 0, 0, 0, hosts, err, sizeof(err), r), 0);
	assert_int_equal(px_resolve_loop_new(*r, loop, &rl), 0);
	return rl;
}

static struct px_gatec *new_gc_rl(struct ev_loop *loop, const char *gate, struct px_resolve_loop *rl, uint32_t cto)
{
	struct px_gatec_config cfg = cfg_for(gate, cert, key);
	struct px_gatec *gc = NULL;
	char err[300];

	cfg.resolver = rl;
	cfg.connect_timeout_ms = cto;
	assert_int_equal(px_gatec_new(loop, &cfg, &gc, err, sizeof(err)), 0);
	return gc;
}

/* A loop, a resolver on it and a gate client for |gate| through it. */
struct rfix {
	struct ev_loop *loop;
	struct px_resolver *r;
	struct px_resolve_loop *rl;
	struct px_gatec *gc;
};

static void rfix_new(struct rfix *f, const char *gate, uint32_t cto)
{
	f->loop = ev_loop_new(0);
	f->r = NULL;
	f->rl = new_rl(f->loop, &f->r);
	f->gc = new_gc_rl(f->loop, gate, f->rl, cto);
}

/* Frees what is left of |f| (a test may have deleted the client itself). */
static void rfix_del(struct rfix *f)
{
	px_gatec_del(f->gc);
	px_resolve_loop_del(f->rl);
	px_resolver_del(f->r);
	ev_loop_destroy(f->loop);
}

/* One GET through |gc| run to its end on |loop|, seen in |s|. */
static void get_one(struct px_gatec *gc, struct ev_loop *loop, struct seen *s)
{
	struct px_gatec_request *rq;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	assert_int_equal(
	    px_gatec_request_start(gc, "GET", "/", NULL, 0, PX_UP_BODY_NONE, 0, &handler, s, &rq), 0);
	ev_run(loop, 0);
	assert_int_equal(s->done, 1);
}

/* The gate's name answered by the resolver (its hosts file): the address
 * walk connects to it with the gate's port (nothing listens on port 1). */
static void test_name_through_resolver(void **state)
{
	struct rfix f;
	struct seen s;

	(void)state;
	rfix_new(&f, "gate.test:1", 2000);
	get_one(f.gc, f.loop, &s);
	assert_int_equal(s.err, PX_UP_CONNECT_REFUSED);
	assert_non_null(strstr(s.detail, "gate.test:1"));
	rfix_del(&f);
}

/* A lookup slower than the connect timeout (the resolver's threads held):
 * the request fails with PX_UP_TIMEOUT_CONNECT naming the host and the
 * lookup; the loop ran meanwhile (a timer fired during the wait). */
static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	(*(int *)w->data)++;
}

static void test_lookup_timeout(void **state)
{
	struct rfix f;
	struct seen s;
	ev_timer tick;
	int ticks = 0;
	double t0;

	(void)state;
	rfix_new(&f, "held.gatec-test.invalid:443", 300);
	px_resolver_hold(f.r, 1);
	ev_timer_init(&tick, tick_cb, 0.05, 0.05);
	tick.data = &ticks;
	ev_timer_start(f.loop, &tick);
	ev_unref(f.loop);
	t0 = ev_time();
	get_one(f.gc, f.loop, &s);
	assert_int_equal(s.err, PX_UP_TIMEOUT_CONNECT);
	assert_non_null(strstr(s.detail, "held.gatec-test.invalid"));
	assert_non_null(strstr(s.detail, "lookup timed out"));
	assert_true(ev_time() - t0 >= 0.25);
	assert_true(ticks >= 3);
	ev_ref(f.loop);
	ev_timer_stop(f.loop, &tick);
	px_resolver_hold(f.r, 0);
	rfix_del(&f);
}

/* px_gatec_del() while the lookup is in flight cancels it: the answer that
 * comes afterwards reaches no freed connection (ASan and valgrind builds
 * see it), and the request ends with PX_UP_RESET from inside del. */
static void test_del_during_lookup(void **state)
{
	struct rfix f;
	struct px_gatec_request *rq;
	struct seen s = {0};
	uint64_t lookups = 0;

	(void)state;
	rfix_new(&f, "localhost:1", 5000);
	px_resolver_hold(f.r, 1);
	assert_int_equal(
	    px_gatec_request_start(f.gc, "GET", "/", NULL, 0, PX_UP_BODY_NONE, 0, &handler, &s, &rq), 0);
	ev_run(f.loop, EVRUN_NOWAIT); /* the connection starts: its lookup waits */
	assert_int_equal(s.done, 0);
	px_gatec_del(f.gc);
	f.gc = NULL;
	assert_int_equal(s.done, 1);
	assert_int_equal(s.err, PX_UP_RESET);
	px_resolver_hold(f.r, 0); /* the lookup runs now, for nobody */
	for (int i = 0; i < 200 && lookups == 0; i++) {
		px_resolver_stats(f.r, NULL, &lookups, NULL);
		usleep(10000);
	}
	assert_int_equal(lookups, 1);
	ev_run(f.loop, EVRUN_NOWAIT);
	assert_int_equal(s.done, 1);
	rfix_del(&f);
}

/* A reconnect within the cache's lifetime does not look the name up again;
 * a client without a resolver of its own still resolves a name (it makes
 * one: checked by the refusal naming the port). */
static void test_reconnect_uses_cache(void **state)
{
	struct rfix f;
	struct seen s;
	uint64_t hits = 0, lookups = 0;

	(void)state;
	rfix_new(&f, "localhost:1", 2000);
	get_one(f.gc, f.loop, &s);
	assert_int_equal(s.err, PX_UP_CONNECT_REFUSED);
	get_one(f.gc, f.loop, &s); /* after the backoff, a second connection */
	assert_int_equal(s.err, PX_UP_CONNECT_REFUSED);
	px_resolver_stats(f.r, &hits, &lookups, NULL);
	assert_int_equal(lookups, 1);
	assert_int_equal(hits, 1);
	px_gatec_del(f.gc);

	f.gc = new_gc(f.loop, "localhost:1", cert); /* no resolver given: its own */
	get_one(f.gc, f.loop, &s);
	assert_int_equal(s.err, PX_UP_CONNECT_REFUSED);
	assert_non_null(strstr(s.detail, "localhost:1"));
	rfix_del(&f);
}

/* A name that does not resolve: PX_UP_DNS, the name and the resolver's
 * text (".invalid" never resolves, RFC 6761; no network needed). */
static void test_name_does_not_resolve(void **state)
{
	struct rfix f;
	struct seen s;

	(void)state;
	rfix_new(&f, "nowhere.gatec-test.invalid:443", 5000);
	get_one(f.gc, f.loop, &s);
	assert_int_equal(s.err, PX_UP_DNS);
	assert_non_null(strstr(s.detail, "the gate's name nowhere.gatec-test.invalid: "));
	assert_true(strlen(s.detail) > strlen("the gate's name nowhere.gatec-test.invalid: "));
	rfix_del(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_bad_gate),      cmocka_unit_test(test_new_files),
		cmocka_unit_test(test_start_invalid),     cmocka_unit_test(test_body_states),
		cmocka_unit_test(test_connect_refused_then_del), cmocka_unit_test(test_expired_certificate),
		cmocka_unit_test(test_name_through_resolver),    cmocka_unit_test(test_lookup_timeout),
		cmocka_unit_test(test_del_during_lookup),        cmocka_unit_test(test_reconnect_uses_cache),
		cmocka_unit_test(test_name_does_not_resolve),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
