/* SPDX-License-Identifier: Apache-2.0 */
/* transport.c: federation's outside world: HTTP through a libcurl multi handle on a libev loop, timers, posts, processes.
 *
 * One struct px_transport per event loop implements struct fed_transport
 * (federation/federation.h): libcurl is driven by the loop as in curl's
 * evhiperfifo example (CURLMOPT_SOCKETFUNCTION and TIMERFUNCTION mapped to
 * ev_io and ev_timer), so a call never blocks the loop. The command-line
 * tools use the same transport and run the loop until their call is done.
 *
 * Connect-to: Host, SNI and the signature keep the AWS name; only the TCP
 * destination changes (aws.connect_to, INTERFACES.md). The upstream's
 * certificate is always verified, against aws.ca_file or the system store. */
#define _GNU_SOURCE /* pipe2 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
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

#include "federation/federation.h"
#include "proxy.h"

/* Limits of one response (the caller's max_response bounds the body). */
#define PX_TR_MAX_HEADERS 100         /* response header fields kept */
#define PX_TR_MAX_HEADER_BYTES 16384  /* bytes of response header names and values kept */
#define PX_TR_PROCESS_POLL_MS 10      /* how often a finished process's exit is looked for */

struct px_transport {
	struct fed_transport fed; /* first: the vtable handed to federation */
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer curl_timer;
	char *ca_file;
	char **connect_host; /* aws.connect_to: host patterns, and ... */
	char **connect_addr; /* ... "host:port" destinations, as CURLOPT_CONNECT_TO wants them */
	size_t nconnect;
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

/* A socket curl asked us to watch. */
struct px_sock {
	ev_io w;
	struct px_transport *t;
	curl_socket_t fd;
};

/* The struct holding the watcher |w| as its |member|. */
#define CONTAINER(w, type, member) ((type *)(void *)((char *)(w) - offsetof(type, member)))

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
	curl_multi_remove_handle(c->t->multi, c->easy);
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

/* Hands finished transfers to their callers. A callback may start or
 * cancel other calls: each call leaves the list before its callback. */
static void check_done(struct px_transport *t)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(t->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct fed_call *c = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		CURLcode rc = m->data.result;
		UNLINK(c);
		curl_multi_remove_handle(t->multi, c->easy);
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
}

static void sock_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct px_sock *s = (struct px_sock *)w;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;
	struct px_transport *t = s->t; /* s may be freed inside the action */
	curl_multi_socket_action(t->multi, s->fd, action, &running);
	check_done(t);
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	(void)easy;
	struct px_transport *t = userp;
	struct px_sock *s = sockp;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(t->loop, &s->w);
			free(s);
		}
		curl_multi_assign(t->multi, fd, NULL);
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1; /* curl fails the transfer */
		s->t = t;
		s->fd = fd;
		curl_multi_assign(t->multi, fd, s);
	} else {
		ev_io_stop(t->loop, &s->w);
	}
	int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	ev_io_init(&s->w, sock_cb, fd, events);
	ev_io_start(t->loop, &s->w);
	return 0;
}

static void curl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_transport *t = CONTAINER(w, struct px_transport, curl_timer);
	int running;
	curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(t);
}

static int curl_timerfn(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct px_transport *t = userp;
	ev_timer_stop(t->loop, &t->curl_timer);
	if (timeout_ms >= 0) {
		/* 0 means "now": let the loop run it, never from inside curl. */
		ev_timer_set(&t->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(t->loop, &t->curl_timer);
	}
	return 0;
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

/* The aws.connect_to entry for |host|, as "host:port:addr:aport". */
static struct curl_slist *connect_to_for(const struct px_transport *t, const char *url)
{
	if (t->nconnect == 0)
		return NULL;
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	struct curl_slist *list = NULL;
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	for (size_t i = 0; i < t->nconnect; i++) {
		if (fnmatch(t->connect_host[i], host, 0) != 0)
			continue;
		char entry[600];
		int n = snprintf(entry, sizeof(entry), "%s:%s:%s", host, port, t->connect_addr[i]);
		if (n > 0 && (size_t)n < sizeof(entry))
			list = curl_slist_append(NULL, entry);
		break;
	}
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return list;
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
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (t->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(req->connect_timeout_ms ? req->connect_timeout_ms : 3000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "awsgate/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
	c->connect_to = connect_to_for(t, req->url);
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
	if (curl_multi_add_handle(t->multi, e) != CURLM_OK)
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
	struct px_transport *t = CONTAINER(w, struct px_transport, wake);
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
	struct px_process *pr = CONTAINER(w, struct px_process, poll);
	int status;
	if (proc_reap(pr, &status))
		proc_finish(pr, status);
}

static void proc_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct px_process *pr = CONTAINER(w, struct px_process, deadline);
	kill(pr->pid, SIGKILL);
	int st;
	waitpid(pr->pid, &st, 0);
	proc_finish(pr, -1);
}

static void proc_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct px_process *pr = CONTAINER(w, struct px_process, io);
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

struct px_transport *px_transport_new(struct ev_loop *loop, const char *ca_file, const struct px_connect_to *ct,
                                      size_t nct)
{
	struct px_transport *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->loop = loop;
	pthread_mutex_init(&t->lock, NULL);
	t->posts_tail = &t->posts;
	if (ca_file != NULL && (t->ca_file = strdup(ca_file)) == NULL)
		goto fail;
	if (nct > 0) {
		t->connect_host = calloc(nct, sizeof(char *));
		t->connect_addr = calloc(nct, sizeof(char *));
		if (t->connect_host == NULL || t->connect_addr == NULL)
			goto fail;
		for (size_t i = 0; i < nct; i++) {
			char addr[300];
			int ipv6 = strchr(ct[i].address.host, ':') != NULL;
			int n = snprintf(addr, sizeof(addr), ipv6 ? "[%s]:%u" : "%s:%u", ct[i].address.host,
			                 (unsigned)ct[i].address.port);
			if (n < 0 || (size_t)n >= sizeof(addr))
				goto fail;
			t->connect_host[i] = strdup(ct[i].host);
			t->connect_addr[i] = strdup(addr);
			t->nconnect = i + 1;
			if (t->connect_host[i] == NULL || t->connect_addr[i] == NULL)
				goto fail;
		}
	}
	t->multi = curl_multi_init();
	if (t->multi == NULL)
		goto fail;
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, curl_timerfn);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
	ev_timer_init(&t->curl_timer, curl_timer_cb, 0., 0.);
	ev_async_init(&t->wake, wake_cb);
	ev_async_start(loop, &t->wake);

	t->fed.arg = t;
	t->fed.http_start = tr_http_start;
	t->fed.http_cancel = tr_http_cancel;
	t->fed.timer_start = tr_timer_start;
	t->fed.timer_cancel = tr_timer_cancel;
	t->fed.post = tr_post;
	t->fed.process_start = tr_process_start;
	return t;
fail:
	px_transport_del(t);
	return NULL;
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
	if (t->multi != NULL) {
		ev_timer_stop(t->loop, &t->curl_timer);
		ev_async_stop(t->loop, &t->wake);
		curl_multi_cleanup(t->multi);
	}
	struct px_post *p = t->posts;
	while (p != NULL) {
		struct px_post *next = p->next;
		free(p);
		p = next;
	}
	for (size_t i = 0; i < t->nconnect; i++) {
		free(t->connect_host[i]);
		free(t->connect_addr[i]);
	}
	free(t->connect_host);
	free(t->connect_addr);
	free(t->ca_file);
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
