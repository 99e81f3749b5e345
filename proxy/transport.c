/* SPDX-License-Identifier: Apache-2.0 */
/* transport.c: federation's outside world: HTTP through the loop's libcurl core, timers, posts, processes.
 *
 * One struct px_transport per event loop implements struct fed_transport
 * (federation/federation.h): its HTTP calls are transfers of the loop's
 * struct px_curl (curl.c), which the loop drives, so a call never blocks
 * the loop and shares the connection pool with the upstream requests. The command-line
 * tools use the same transport and run the loop until their call is done.
 *
 * Connect-to: Host, SNI and the signature keep the AWS name; only the TCP
 * destination changes (aws.connect_to, INTERFACES.md). The upstream's
 * certificate is always verified, against aws.ca_file or the system store. */
#define _GNU_SOURCE /* pipe2 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "curl_int.h"
#include "federation/federation.h"
#include "proxy.h"

/* Limits of one response (the caller's max_response bounds the body). */
#define PX_TR_MAX_HEADERS 100         /* response header fields kept */
#define PX_TR_MAX_HEADER_BYTES 16384  /* bytes of response header names and values kept */
#define PX_TR_PROCESS_POLL_MS 10      /* how often a finished process's exit is looked for */

struct px_transport {
	struct fed_transport fed; /* first: the vtable handed to federation */
	struct ev_loop *loop;
	struct px_curl *curl; /* the loop's libcurl core (curl.c) */
	bool own_curl;        /* made by px_transport_new(), freed with the transport */
	/* Posts: the one part used from other threads. */
	pthread_mutex_t lock;
	ev_async wake;
	struct px_post *posts, **posts_tail;
	/* Everything in flight, freed by px_transport_del(). */
	struct fed_call *calls;
	struct fed_timer *timers;
	struct px_process *procs;
};

/* One HTTP request in flight. */
struct fed_call {
	struct px_curl_xfer xfer; /* first: the core's handle on the call */
	struct px_transport *t;
	struct fed_call *next, **pprev;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *connect_to;
	char *body;     /* the request body, copied */
	char *resp;     /* the response body, NUL-terminated */
	size_t resp_len, resp_cap, resp_max;
	int too_large;
	struct fed_header hdrs[PX_TR_MAX_HEADERS];
	size_t nhdrs;
	char hbuf[PX_TR_MAX_HEADER_BYTES];
	size_t hbuf_len;
	char errbuf[CURL_ERROR_SIZE];
	fed_http_done_fn *done;
	void *done_arg;
};

struct fed_timer {
	ev_timer w;
	struct px_transport *t;
	struct fed_timer *next, **pprev;
	fed_task_fn *fn;
	void *arg;
};

struct px_post {
	struct px_post *next;
	fed_task_fn *fn;
	void *arg;
};

struct px_process {
	struct px_transport *t;
	struct px_process *next, **pprev;
	pid_t pid;
	int fd;
	ev_io io;
	ev_timer poll;     /* after EOF: waits for the exit status */
	ev_timer deadline; /* the whole run */
	char *out;
	size_t len, max;
	int overflow;
	fed_process_done_fn *done;
	void *done_arg;
};

/* The struct holding the watcher |w| as its |member|. */

#define LINK(head, x)                                                                                                \
	do {                                                                                                         \
		(x)->next = (head);                                                                                  \
		if ((head) != NULL)                                                                                  \
			(head)->pprev = &(x)->next;                                                                  \
		(head) = (x);                                                                                        \
		(x)->pprev = &(head);                                                                                \
	} while (0)
#define UNLINK(x)                                                                                                    \
	do {                                                                                                         \
		*(x)->pprev = (x)->next;                                                                             \
		if ((x)->next != NULL)                                                                               \
			(x)->next->pprev = (x)->pprev;                                                               \
	} while (0)

/* --- libcurl on libev ------------------------------------------------------- */

static void call_free(struct fed_call *c)
{
	px_curl_remove(c->t->curl, c->easy);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	curl_slist_free_all(c->connect_to);
	if (c->body != NULL) /* may hold a secret (a web identity token) */
		OPENSSL_clear_free(c->body, strlen(c->body));
	if (c->resp != NULL)
		OPENSSL_clear_free(c->resp, c->resp_cap);
	OPENSSL_cleanse(c->hbuf, sizeof(c->hbuf));
	free(c);
}

static int map_error(CURLcode rc, const struct fed_call *c)
{
	if (c->too_large)
		return FED_ERR_TOO_LARGE;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT: return FED_ERR_TIMEOUT;
	case CURLE_OUT_OF_MEMORY: return FED_ERR_NOMEM;
	default: return FED_ERR_TRANSPORT;
	}
}

/* A finished call: its callback may start or cancel other calls, so the
 * call leaves the list before it runs. */
static void call_done(struct px_curl_xfer *x, CURLcode rc)
{
	struct fed_call *c = (struct fed_call *)x;
	UNLINK(c);
	struct fed_http_response res = {0};
	if (rc == CURLE_OK) {
		long status = 0;
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
		res.status = (int)status;
		res.headers = c->hdrs;
		res.nheaders = c->nhdrs;
		res.body = c->resp != NULL ? c->resp : "";
		res.body_len = c->resp_len;
	} else {
		res.error = map_error(rc, c);
		res.body = "";
		res.detail = c->too_large ? "response larger than allowed"
		                          : (c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc));
	}
	c->done(c->done_arg, &res);
	call_free(c);
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct fed_call *c = arg;
	size_t len = size * n;
	if (len > c->resp_max - c->resp_len) {
		c->too_large = 1;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (c->resp_len + len + 1 > c->resp_cap) {
		size_t cap = c->resp_cap ? c->resp_cap : 1024;
		while (cap < c->resp_len + len + 1)
			cap *= 2;
		char *r = OPENSSL_malloc(cap);
		if (r == NULL)
			return 0;
		if (c->resp != NULL) {
			memcpy(r, c->resp, c->resp_len);
			OPENSSL_clear_free(c->resp, c->resp_cap);
		}
		c->resp = r;
		c->resp_cap = cap;
	}
	memcpy(c->resp + c->resp_len, p, len);
	c->resp_len += len;
	c->resp[c->resp_len] = '\0';
	return len;
}

/* Keeps the header fields of the last response (a 100 Continue's are
 * dropped when the next status line comes). Over the limits, fields are
 * left out, never the transfer failed: STS answers need none of them. */
static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct fed_call *c = arg;
	size_t len = size * n;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		c->nhdrs = 0;
		c->hbuf_len = 0;
		return len;
	}
	const char *colon = memchr(p, ':', len);
	if (colon == NULL || c->nhdrs == PX_TR_MAX_HEADERS)
		return len;
	size_t nlen = (size_t)(colon - p);
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	if (nlen + vlen + 2 > sizeof(c->hbuf) - c->hbuf_len)
		return len;
	char *name = c->hbuf + c->hbuf_len;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	char *value = name + nlen + 1;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	c->hbuf_len += nlen + vlen + 2;
	c->hdrs[c->nhdrs].name = name;
	c->hdrs[c->nhdrs].value = value;
	c->nhdrs++;
	return len;
}

static int tr_http_start(void *arg, const struct fed_http_request *req, fed_http_done_fn *done, void *done_arg,
                         struct fed_call **out)
{
	struct px_transport *t = arg;
	if (req->url == NULL || req->method == NULL || done == NULL)
		return FED_ERR_INVALID;
	struct fed_call *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return FED_ERR_NOMEM;
	c->xfer.done = call_done;
	c->t = t;
	c->done = done;
	c->done_arg = done_arg;
	c->resp_max = req->max_response ? req->max_response : 1024 * 1024;
	c->easy = curl_easy_init();
	if (c->easy == NULL)
		goto nomem;
	for (size_t i = 0; i < req->nheaders; i++) {
		char line[8192 + 256];
		int n = snprintf(line, sizeof(line), "%s: %s", req->headers[i].name, req->headers[i].value);
		if (n < 0 || (size_t)n >= sizeof(line)) {
			OPENSSL_cleanse(line, sizeof(line));
			call_free(c);
			return FED_ERR_TOO_LARGE;
		}
		struct curl_slist *l = curl_slist_append(c->headers, line);
		OPENSSL_cleanse(line, sizeof(line)); /* may be a token */
		if (l == NULL)
			goto nomem;
		c->headers = l;
	}
	/* libcurl adds these unless told not to; STS signs none of them, but
	 * Expect would cost a round trip. */
	struct curl_slist *l = curl_slist_append(c->headers, "Expect:");
	if (l == NULL)
		goto nomem;
	c->headers = l;

	CURL *e = c->easy;
	px_curl_easy_defaults(t->curl, e);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(req->connect_timeout_ms ? req->connect_timeout_ms : 3000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "awsgate/" PACKAGE_VERSION);
	c->connect_to = px_curl_connect_to(t->curl, req->url);
	if (c->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		c->body = malloc(req->body_len + 1);
		if (c->body == NULL)
			goto nomem;
		if (req->body_len > 0)
			memcpy(c->body, req->body, req->body_len);
		c->body[req->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (px_curl_add(t->curl, e, &c->xfer) != 0)
		goto nomem;
	LINK(t->calls, c);
	if (out != NULL)
		*out = c;
	return 0;
nomem:
	call_free(c);
	return FED_ERR_NOMEM;
}

static void tr_http_cancel(void *arg, struct fed_call *c)
{
	(void)arg;
	if (c == NULL)
		return;
	UNLINK(c);
	call_free(c);
}

/* --- timers ------------------------------------------------------------------ */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct fed_timer *tm = (struct fed_timer *)w;
	UNLINK(tm);
	fed_task_fn *fn = tm->fn;
	void *arg = tm->arg;
	free(tm);
	fn(arg);
}

static int tr_timer_start(void *arg, uint32_t delay_ms, fed_task_fn *fn, void *fn_arg, struct fed_timer **out)
{
	struct px_transport *t = arg;
	struct fed_timer *tm = calloc(1, sizeof(*tm));
	if (tm == NULL)
		return FED_ERR_NOMEM;
	tm->t = t;
	tm->fn = fn;
	tm->arg = fn_arg;
	ev_timer_init(&tm->w, timer_cb, (double)delay_ms / 1000.0, 0.);
	ev_timer_start(t->loop, &tm->w);
	LINK(t->timers, tm);
	if (out != NULL)
		*out = tm;
	return 0;
}

static void tr_timer_cancel(void *arg, struct fed_timer *tm)
{
	struct px_transport *t = arg;
	if (tm == NULL)
		return;
	ev_timer_stop(t->loop, &tm->w);
	UNLINK(tm);
	free(tm);
}

/* --- posts from any thread ----------------------------------------------- */

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_transport *t = PX_CONTAINER_OF(w, struct px_transport, wake);
	pthread_mutex_lock(&t->lock);
	struct px_post *p = t->posts;
	t->posts = NULL;
	t->posts_tail = &t->posts;
	pthread_mutex_unlock(&t->lock);
	while (p != NULL) {
		struct px_post *next = p->next;
		p->fn(p->arg);
		free(p);
		p = next;
	}
}

static int tr_post(void *arg, fed_task_fn *fn, void *fn_arg)
{
	struct px_transport *t = arg;
	struct px_post *p = malloc(sizeof(*p));
	if (p == NULL)
		return FED_ERR_NOMEM;
	p->next = NULL;
	p->fn = fn;
	p->arg = fn_arg;
	pthread_mutex_lock(&t->lock);
	*t->posts_tail = p;
	t->posts_tail = &p->next;
	pthread_mutex_unlock(&t->lock);
	ev_async_send(t->loop, &t->wake);
	return 0;
}

/* --- credential_process -------------------------------------------------- */

static void proc_finish(struct px_process *pr, int status)
{
	struct px_transport *t = pr->t;
	ev_io_stop(t->loop, &pr->io);
	ev_timer_stop(t->loop, &pr->poll);
	ev_timer_stop(t->loop, &pr->deadline);
	if (pr->fd >= 0)
		close(pr->fd);
	UNLINK(pr);
	if (pr->overflow)
		status = -1;
	pr->done(pr->done_arg, status, pr->out != NULL ? pr->out : "", pr->overflow ? 0 : pr->len);
	if (pr->out != NULL)
		OPENSSL_clear_free(pr->out, pr->max + 1);
	free(pr);
}

/* Returns 1 and the status when the child has exited. */
static int proc_reap(struct px_process *pr, int *status)
{
	int st;
	pid_t r = waitpid(pr->pid, &st, WNOHANG);
	if (r == 0)
		return 0;
	*status = r == pr->pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return 1;
}

static void proc_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_process *pr = PX_CONTAINER_OF(w, struct px_process, poll);
	int status;
	if (proc_reap(pr, &status))
		proc_finish(pr, status);
}

static void proc_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_process *pr = PX_CONTAINER_OF(w, struct px_process, deadline);
	kill(pr->pid, SIGKILL);
	int st;
	waitpid(pr->pid, &st, 0);
	proc_finish(pr, -1);
}

static void proc_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct px_process *pr = PX_CONTAINER_OF(w, struct px_process, io);
	char buf[4096];
	ssize_t n = read(pr->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if ((size_t)n > pr->max - pr->len) {
			pr->overflow = 1;
			kill(pr->pid, SIGKILL);
		} else {
			memcpy(pr->out + pr->len, buf, (size_t)n);
			pr->len += (size_t)n;
			pr->out[pr->len] = '\0';
		}
		OPENSSL_cleanse(buf, sizeof(buf));
		if (!pr->overflow)
			return;
	}
	/* EOF, an error, or too much: wait for the exit status. */
	ev_io_stop(loop, &pr->io);
	close(pr->fd);
	pr->fd = -1;
	int status;
	if (proc_reap(pr, &status)) {
		proc_finish(pr, status);
		return;
	}
	ev_timer_start(loop, &pr->poll);
}

static int tr_process_start(void *arg, const char *command, size_t max, uint32_t timeout_ms,
                            fed_process_done_fn *done, void *done_arg)
{
	struct px_transport *t = arg;
	int fds[2] = {-1, -1};
	struct px_process *pr = calloc(1, sizeof(*pr));
	if (pr == NULL)
		return FED_ERR_NOMEM;
	pr->t = t;
	pr->fd = -1;
	pr->max = max ? max : 64 * 1024;
	pr->done = done;
	pr->done_arg = done_arg;
	pr->out = OPENSSL_zalloc(pr->max + 1);
	if (pr->out == NULL || pipe2(fds, O_CLOEXEC) != 0)
		goto fail;

	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto fail;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	char *argv[] = {(char *)(uintptr_t) "sh", (char *)(uintptr_t) "-c", (char *)(uintptr_t)command, NULL};
	int rc = posix_spawn(&pr->pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	fds[1] = -1;
	if (rc != 0)
		goto fail;
	pr->fd = fds[0];
	fcntl(pr->fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&pr->io, proc_io_cb, pr->fd, EV_READ);
	ev_timer_init(&pr->poll, proc_poll_cb, PX_TR_PROCESS_POLL_MS / 1000.0, PX_TR_PROCESS_POLL_MS / 1000.0);
	ev_timer_init(&pr->deadline, proc_deadline_cb, (double)(timeout_ms ? timeout_ms : 60000) / 1000.0, 0.);
	ev_io_start(t->loop, &pr->io);
	ev_timer_start(t->loop, &pr->deadline);
	LINK(t->procs, pr);
	return 0;
fail:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (pr->out != NULL)
		OPENSSL_clear_free(pr->out, pr->max + 1);
	free(pr);
	return FED_ERR_NOMEM;
}

/* --- the transport ------------------------------------------------------------ */

struct px_transport *px_transport_new_on(struct px_curl *curl)
{
	struct px_transport *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->loop = curl->loop;
	t->curl = curl;
	pthread_mutex_init(&t->lock, NULL);
	t->posts_tail = &t->posts;
	ev_async_init(&t->wake, wake_cb);
	ev_async_start(t->loop, &t->wake);

	t->fed.arg = t;
	t->fed.http_start = tr_http_start;
	t->fed.http_cancel = tr_http_cancel;
	t->fed.timer_start = tr_timer_start;
	t->fed.timer_cancel = tr_timer_cancel;
	t->fed.post = tr_post;
	t->fed.process_start = tr_process_start;
	return t;
}

struct px_transport *px_transport_new(struct ev_loop *loop, const char *ca_file, const struct px_connect_to *ct,
                                      size_t nct)
{
	struct px_curl *curl = px_curl_new(loop, ca_file, ct, nct);
	if (curl == NULL)
		return NULL;
	struct px_transport *t = px_transport_new_on(curl);
	if (t == NULL) {
		px_curl_del(curl);
		return NULL;
	}
	t->own_curl = true;
	return t;
}

void px_transport_del(struct px_transport *t)
{
	if (t == NULL)
		return;
	while (t->calls != NULL) {
		struct fed_call *c = t->calls;
		UNLINK(c);
		call_free(c);
	}
	while (t->timers != NULL)
		tr_timer_cancel(t, t->timers);
	while (t->procs != NULL) {
		struct px_process *pr = t->procs;
		kill(pr->pid, SIGKILL);
		int st;
		waitpid(pr->pid, &st, 0);
		ev_io_stop(t->loop, &pr->io);
		ev_timer_stop(t->loop, &pr->poll);
		ev_timer_stop(t->loop, &pr->deadline);
		if (pr->fd >= 0)
			close(pr->fd);
		UNLINK(pr);
		OPENSSL_clear_free(pr->out, pr->max + 1);
		free(pr);
	}
	ev_async_stop(t->loop, &t->wake);
	struct px_post *p = t->posts;
	while (p != NULL) {
		struct px_post *next = p->next;
		free(p);
		p = next;
	}
	if (t->own_curl)
		px_curl_del(t->curl);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct fed_transport *px_transport_fed(struct px_transport *t)
{
	return &t->fed;
}

/* --- the environment ----------------------------------------------------- */

static const char *env_getenv(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

static int env_read_file(void *arg, const char *path, size_t max, char **data, size_t *len)
{
	(void)arg;
	char err[256];
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? FED_ERR_NO_CREDENTIALS : FED_ERR_CONFIG;
	if (!S_ISREG(st.st_mode))
		return FED_ERR_CONFIG;
	int rv = px_file_read_secret(path, max, data, len, err, sizeof(err));
	switch (rv) {
	case 0: return 0;
	case PX_ERR_TOO_LARGE: return FED_ERR_TOO_LARGE;
	case PX_ERR_NOMEM: return FED_ERR_NOMEM;
	default: return FED_ERR_CONFIG;
	}
}

static int64_t env_now_ms(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t env_random(void *arg)
{
	(void)arg;
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)env_now_ms(NULL) * 2654435761u; /* jitter only: never a secret */
	return r;
}

void px_env_init(struct fed_env *env)
{
	env->arg = NULL;
	env->getenv = env_getenv;
	env->read_file = env_read_file;
	env->now_ms = env_now_ms;
	env->random = env_random;
}
