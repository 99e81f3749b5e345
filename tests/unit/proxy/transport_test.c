/* SPDX-License-Identifier: Apache-2.0 */
/* transport_test.c: federation's libcurl/libev transport against a small HTTP server thread on loopback. */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <ev.h>

#include "federation/federation.h"
#include "proxy/proxy.h"

/* --- a one-connection-at-a-time HTTP/1.1 server with a script ------------- */

enum srv_mode { SRV_ANSWER, SRV_SLOW, SRV_DROP };

struct srv {
	int fd;
	uint16_t port;
	pthread_t thread;
	enum srv_mode mode;
	char answer[4096];     /* the whole response to send */
	char request[8192];    /* the last request received, headers and body */
	size_t request_len;
	int stop;
};

static void srv_read_request(struct srv *s, int c)
{
	size_t len = 0;
	s->request[0] = '\0';
	for (;;) {
		ssize_t n = read(c, s->request + len, sizeof(s->request) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		s->request[len] = '\0';
		char *end = strstr(s->request, "\r\n\r\n");
		if (end == NULL)
			continue;
		size_t clen = 0;
		const char *cl = strcasestr(s->request, "\r\nContent-Length:");
		if (cl != NULL)
			clen = strtoul(cl + 17, NULL, 10);
		if (len >= (size_t)(end + 4 - s->request) + clen)
			break;
	}
	s->request_len = len;
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0 || s->stop) {
			if (c >= 0)
				close(c);
			break;
		}
		srv_read_request(s, c);
		if (s->mode == SRV_SLOW)
			sleep(2);
		if (s->mode != SRV_DROP) {
			ssize_t w = write(c, s->answer, strlen(s->answer));
			(void)w;
		}
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	s->stop = 1;
	/* Wake accept() with one last connection. */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0) {
		/* the thread has already left */
	}
	close(c);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* --- running calls ---------------------------------------------------------- */

struct result {
	int done;
	int error;
	int status;
	char body[4096];
	size_t body_len;
	char server_header[128];
	char detail[256];
};

static void http_done(void *arg, const struct fed_http_response *res)
{
	struct result *r = arg;
	r->done++;
	r->error = res->error;
	r->status = res->status;
	r->body_len = res->body_len < sizeof(r->body) - 1 ? res->body_len : sizeof(r->body) - 1;
	memcpy(r->body, res->body, r->body_len);
	r->body[r->body_len] = '\0';
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, "X-Server") == 0)
			snprintf(r->server_header, sizeof(r->server_header), "%s", res->headers[i].value);
	if (res->detail != NULL)
		snprintf(r->detail, sizeof(r->detail), "%s", res->detail);
}

/* Runs |loop| until |*flag| is set, for at most |seconds|. */
static void run_until(struct ev_loop *loop, const int *flag, double seconds)
{
	double end = ev_time() + seconds;
	while (!*flag && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

struct fixture {
	struct srv srv;
	struct ev_loop *loop;
	struct px_transport *t;
	struct fed_transport *fed;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	srv_start(&f->srv);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	struct px_connect_to ct = {(char *)(uintptr_t) "*.amazonaws.com", {(char *)(uintptr_t) "127.0.0.1", f->srv.port}};
	f->t = px_transport_new(f->loop, NULL, &ct, 1);
	assert_non_null(f->t);
	f->fed = px_transport_fed(f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	px_transport_del(f->t);
	ev_loop_destroy(f->loop);
	srv_stop(&f->srv);
	free(f);
	return 0;
}

static void url(char *buf, size_t len, const struct fixture *f, const char *host, const char *path)
{
	snprintf(buf, len, "http://%s:%u%s", host, (unsigned)f->srv.port, path);
}

static void test_get_with_headers(void **state)
{
	struct fixture *f = *state;
	snprintf(f->srv.answer, sizeof(f->srv.answer),
	         "HTTP/1.1 200 OK\r\nX-Server: fake\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
	char u[256];
	url(u, sizeof(u), f, "127.0.0.1", "/latest/api?x=1");
	struct fed_header h[] = {{"X-Aws-Ec2-Metadata-Token", "tok"}, {"Accept", "application/json"}};
	struct fed_http_request req = {.method = "GET", .url = u, .headers = h, .nheaders = 2, .timeout_ms = 5000};
	struct result r = {0};
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	assert_int_equal(r.done, 0); /* never from inside start */
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_string_equal(r.server_header, "fake");
	assert_non_null(strstr(f->srv.request, "GET /latest/api?x=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(f->srv.request, "\r\nX-Aws-Ec2-Metadata-Token: tok\r\n"));
	assert_null(strcasestr(f->srv.request, "\r\nExpect:"));
}

static void test_post_body_and_put(void **state)
{
	struct fixture *f = *state;
	snprintf(f->srv.answer, sizeof(f->srv.answer), "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno");
	char u[256];
	url(u, sizeof(u), f, "127.0.0.1", "/");
	const char body[] = "Action=GetCallerIdentity&Version=2011-06-15";
	struct fed_header h[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
	struct fed_http_request req = {.method = "POST", .url = u, .headers = h, .nheaders = 1, .body = body,
	                               .body_len = sizeof(body) - 1};
	struct result r = {0};
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.status, 403); /* an HTTP error status is an answer, not a transport error */
	assert_non_null(strstr(f->srv.request, "POST / HTTP/1.1\r\n"));
	assert_non_null(strstr(f->srv.request, "\r\n\r\nAction=GetCallerIdentity&Version=2011-06-15"));

	struct fed_http_request put = {.method = "PUT", .url = u, .body = "", .body_len = 0};
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->fed->http_start(f->fed->arg, &put, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(f->srv.request, "PUT / HTTP/1.1\r\n"));
}

static void test_response_limit(void **state)
{
	struct fixture *f = *state;
	snprintf(f->srv.answer, sizeof(f->srv.answer),
	         "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789");
	char u[256];
	url(u, sizeof(u), f, "127.0.0.1", "/");
	struct fed_http_request req = {.method = "GET", .url = u, .max_response = 10};
	struct result r = {0};
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.error, FED_ERR_TOO_LARGE);
	assert_string_equal(r.detail, "response larger than allowed");
}

static void test_timeout_and_refused(void **state)
{
	struct fixture *f = *state;
	f->srv.mode = SRV_SLOW;
	snprintf(f->srv.answer, sizeof(f->srv.answer), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char u[256];
	url(u, sizeof(u), f, "127.0.0.1", "/");
	struct fed_http_request req = {.method = "GET", .url = u, .timeout_ms = 300};
	struct result r = {0};
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.error, FED_ERR_TIMEOUT);
	assert_true(r.detail[0] != '\0');

	/* A port nobody listens on: this one, once closed. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/", (unsigned)ntohs(a.sin_port));
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.error, FED_ERR_TRANSPORT);
	assert_true(r.detail[0] != '\0');
}

static void test_dropped_connection(void **state)
{
	struct fixture *f = *state;
	f->srv.mode = SRV_DROP;
	char u[256];
	url(u, sizeof(u), f, "127.0.0.1", "/");
	struct fed_http_request req = {.method = "GET", .url = u};
	struct result r = {0};
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.error, FED_ERR_TRANSPORT);
}

/* Host and the URL keep the AWS name; only the TCP destination changes. */
static void test_connect_to(void **state)
{
	struct fixture *f = *state;
	snprintf(f->srv.answer, sizeof(f->srv.answer), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	char u[256];
	url(u, sizeof(u), f, "sts.us-east-1.amazonaws.com", "/");
	struct fed_http_request req = {.method = "GET", .url = u};
	struct result r = {0};
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.error, 0);
	assert_string_equal(r.body, "ok");
	char host[128];
	snprintf(host, sizeof(host), "\r\nHost: sts.us-east-1.amazonaws.com:%u\r\n", (unsigned)f->srv.port);
	assert_non_null(strstr(f->srv.request, host));

	/* A name no pattern matches is resolved as it is: .invalid never resolves. */
	url(u, sizeof(u), f, "sts.example.invalid", "/");
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, http_done, &r, NULL), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.error, FED_ERR_TRANSPORT);
}

static void never(void *arg, const struct fed_http_response *res)
{
	(void)arg;
	(void)res;
	fail_msg("a cancelled call's callback ran");
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	f->srv.mode = SRV_SLOW;
	snprintf(f->srv.answer, sizeof(f->srv.answer), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	char u[256];
	url(u, sizeof(u), f, "127.0.0.1", "/");
	struct fed_http_request req = {.method = "GET", .url = u};
	struct fed_call *call = NULL;
	assert_int_equal(f->fed->http_start(f->fed->arg, &req, never, NULL, &call), 0);
	for (int i = 0; i < 5; i++)
		ev_run(f->loop, EVRUN_NOWAIT);
	f->fed->http_cancel(f->fed->arg, call);
	int flag = 0;
	run_until(f->loop, &flag, 0.3);
}

struct order {
	char seen[8];
	size_t n;
};

static void mark_a(void *arg)
{
	struct order *o = arg;
	o->seen[o->n++] = 'a';
}

static void mark_b(void *arg)
{
	struct order *o = arg;
	o->seen[o->n++] = 'b';
}

static void mark_c(void *arg)
{
	struct order *o = arg;
	o->seen[o->n++] = 'c';
}

static void test_timers(void **state)
{
	struct fixture *f = *state;
	struct order o = {{0}, 0};
	struct fed_timer *tb = NULL;
	assert_int_equal(f->fed->timer_start(f->fed->arg, 60, mark_a, &o, NULL), 0);
	assert_int_equal(f->fed->timer_start(f->fed->arg, 30, mark_b, &o, &tb), 0);
	assert_int_equal(f->fed->timer_start(f->fed->arg, 10, mark_c, &o, NULL), 0);
	f->fed->timer_cancel(f->fed->arg, tb);
	int flag = 0;
	run_until(f->loop, &flag, 0.3);
	assert_string_equal(o.seen, "ca");
}

struct poster {
	struct fed_transport *fed;
	pthread_t loop_thread;
	int ran_on_loop;
	int done;
};

static void posted(void *arg)
{
	struct poster *p = arg;
	p->ran_on_loop = pthread_equal(pthread_self(), p->loop_thread);
	p->done = 1;
}

static void *post_from_thread(void *arg)
{
	struct poster *p = arg;
	p->fed->post(p->fed->arg, posted, p);
	return NULL;
}

static void test_post_from_another_thread(void **state)
{
	struct fixture *f = *state;
	struct poster p = {f->fed, pthread_self(), 0, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, post_from_thread, &p), 0);
	pthread_join(th, NULL);
	assert_int_equal(p.done, 0);
	run_until(f->loop, &p.done, 5);
	assert_int_equal(p.done, 1);
	assert_int_equal(p.ran_on_loop, 1);
}

struct proc_result {
	int done;
	int status;
	char out[256];
};

static void proc_done(void *arg, int status, const char *out, size_t len)
{
	struct proc_result *r = arg;
	r->done = 1;
	r->status = status;
	snprintf(r->out, sizeof(r->out), "%.*s", (int)len, out);
}

static void test_process(void **state)
{
	struct fixture *f = *state;
	struct proc_result r = {0};
	assert_int_equal(f->fed->process_start(f->fed->arg, "printf '{\"Version\": 1}'", 1024, 5000, proc_done, &r), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "{\"Version\": 1}");

	memset(&r, 0, sizeof(r));
	assert_int_equal(f->fed->process_start(f->fed->arg, "echo partial; exit 3", 1024, 5000, proc_done, &r), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.status, 3);

	/* More output than allowed: killed, reported as failed, nothing kept. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->fed->process_start(f->fed->arg, "yes", 64, 5000, proc_done, &r), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.out, "");

	/* Past its time: killed. */
	memset(&r, 0, sizeof(r));
	double t0 = ev_time();
	assert_int_equal(f->fed->process_start(f->fed->arg, "sleep 5", 64, 200, proc_done, &r), 0);
	run_until(f->loop, &r.done, 10);
	assert_int_equal(r.status, -1);
	assert_true(ev_time() - t0 < 4);
}

static void test_env(void **state)
{
	(void)state;
	struct fed_env env;
	px_env_init(&env);
	setenv("AWSGATE_TRANSPORT_TEST", "v", 1);
	assert_string_equal(env.getenv(env.arg, "AWSGATE_TRANSPORT_TEST"), "v");
	assert_true(env.now_ms(env.arg) > INT64_C(1700000000000));
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(env.read_file(env.arg, "/nonexistent/awsgate/credentials", 1024, &data, &len),
	                 FED_ERR_NO_CREDENTIALS);
	assert_int_equal(env.read_file(env.arg, "/", 1024, &data, &len), FED_ERR_CONFIG);
	char path[] = "/tmp/awsgate-transport-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[default]\n", 10), 10);
	close(fd);
	assert_int_equal(env.read_file(env.arg, path, 1024, &data, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "[default]\n");
	free(data);
	assert_int_equal(env.read_file(env.arg, path, 5, &data, &len), FED_ERR_TOO_LARGE);
	unlink(path);
}

int main(void)
{
	/* The scripted server thread writes to sockets the client under test
	 * may already have closed: that must be EPIPE, not the end of the
	 * test program (awsgated ignores SIGPIPE the same way). */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_with_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_body_and_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_to, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_from_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process, setup, teardown),
		cmocka_unit_test(test_env),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
