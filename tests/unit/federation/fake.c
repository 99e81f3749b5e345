/* SPDX-License-Identifier: Apache-2.0 */
/* fake.c: the fake environment and transport of federation's unit tests (see fake.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/unit/federation/fake.h"

#define FAKE_MAX_PARAM 65536 /* bytes of one decoded form value */

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "fake: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

struct kv {
	struct kv *next;
	char *name;
	char *value; /* NULL: a file error */
	size_t len;
	int err;
};

struct fake_reply {
	struct fake_reply *next;
	char *match;
	int status;
	int err;
	char *body;
	size_t body_len;
	struct fed_header *headers;
	size_t nheaders;
	uint32_t delay_ms;
};

enum ev_kind { EV_HTTP, EV_TIMER, EV_TASK, EV_PROCESS };

/* One thing the loop will run; fed_call and fed_timer handles point here. */
struct event {
	struct event *next; /* all events, for freeing */
	enum ev_kind kind;
	int64_t due;
	uint64_t seq;
	int state; /* 0 pending, 1 ran, 2 cancelled */
	fed_task_fn *task;
	fed_http_done_fn *http_done;
	fed_process_done_fn *proc_done;
	void *arg;
	struct fake_reply *reply; /* EV_HTTP: owned; NULL: unmatched */
	int err;                  /* EV_HTTP: the error to deliver */
	size_t req_index;
	int proc_status;
	char *proc_out;
};

struct proc_canned {
	struct proc_canned *next;
	char *match;
	int status;
	char *out;
	uint32_t delay_ms;
};

struct fake {
	struct fed_env env;
	struct fed_transport transport;
	struct kv *vars;
	struct kv *files;
	size_t nreads;
	int64_t now;
	uint32_t rnd;
	uint32_t pushed[64];
	size_t npushed, pushed_pos;

	struct fake_reply *replies; /* queue, in order */
	size_t unmatched;
	unsigned start_fails;
	int start_fail_err;

	struct fake_request *reqs;
	size_t nreqs, capreqs;

	struct proc_canned *procs;
	struct fake_process_run *runs;
	size_t nruns, capruns;

	pthread_mutex_t lock; /* guards events and seq for post() */
	struct event *events;
	uint64_t seq;
	uint32_t *timer_delays;
	size_t ntimers, captimers;
	size_t misuse;
};

static void misuse(struct fake *f, const char *what)
{
	fprintf(stderr, "fake: interface misuse: %s\n", what);
	f->misuse++;
}

static struct kv *kv_find(struct kv *l, const char *name)
{
	for (; l != NULL; l = l->next)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

static void kv_remove(struct kv **l, const char *name)
{
	for (struct kv **pp = l; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct kv *k = *pp;
			*pp = k->next;
			free(k->name);
			free(k->value);
			free(k);
			return;
		}
	}
}

static struct kv *kv_put(struct kv **l, const char *name)
{
	kv_remove(l, name);
	struct kv *k = xmalloc(sizeof(*k));
	k->name = xstrdup(name);
	k->next = *l;
	*l = k;
	return k;
}

/* --- fed_env ---------------------------------------------------------------- */

static const char *env_getenv(void *arg, const char *name)
{
	struct fake *f = arg;
	struct kv *k = kv_find(f->vars, name);
	return k ? k->value : NULL;
}

static int env_read_file(void *arg, const char *path, size_t max, char **data, size_t *len)
{
	struct fake *f = arg;
	struct kv *k = kv_find(f->files, path);

	f->nreads++;
	if (k == NULL)
		return FED_ERR_NO_CREDENTIALS;
	if (k->value == NULL)
		return k->err;
	if (k->len > max)
		return FED_ERR_TOO_LARGE;
	*data = xstrndup(k->value, k->len);
	*len = k->len;
	return 0;
}

static int64_t env_now_ms(void *arg)
{
	return ((struct fake *)arg)->now;
}

static uint32_t env_random(void *arg)
{
	struct fake *f = arg;
	if (f->pushed_pos < f->npushed)
		return f->pushed[f->pushed_pos++];
	uint32_t x = f->rnd;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->rnd = x;
	return x;
}

/* --- events ----------------------------------------------------------------- */

static struct event *event_new(enum ev_kind kind, int64_t due)
{
	struct event *e = xmalloc(sizeof(*e));
	e->kind = kind;
	e->due = due;
	return e;
}

/* Makes |e|, filled in, visible to the loop (post() runs on other threads). */
static void event_link(struct fake *f, struct event *e)
{
	pthread_mutex_lock(&f->lock);
	e->seq = f->seq++;
	e->next = f->events;
	f->events = e;
	pthread_mutex_unlock(&f->lock);
}

/* The pending event due first (by due time, then creation), or NULL. */
static struct event *event_next(struct fake *f)
{
	struct event *best = NULL;
	pthread_mutex_lock(&f->lock);
	for (struct event *e = f->events; e != NULL; e = e->next)
		if (e->state == 0 && (best == NULL || e->due < best->due || (e->due == best->due && e->seq < best->seq)))
			best = e;
	pthread_mutex_unlock(&f->lock);
	return best;
}

static void event_fire(struct fake *f, struct event *e)
{
	e->state = 1;
	switch (e->kind) {
	case EV_TIMER:
	case EV_TASK:
		e->task(e->arg);
		break;
	case EV_PROCESS:
		e->proc_done(e->arg, e->proc_status, e->proc_out ? e->proc_out : "",
		             e->proc_out ? strlen(e->proc_out) : 0);
		break;
	case EV_HTTP: {
		struct fed_http_response res;
		memset(&res, 0, sizeof(res));
		res.error = e->err;
		res.body = "";
		if (e->err == 0 && e->reply != NULL) {
			res.status = e->reply->status;
			res.headers = e->reply->headers;
			res.nheaders = e->reply->nheaders;
			res.body = e->reply->body;
			res.body_len = e->reply->body_len;
		}
		e->http_done(e->arg, &res);
		break;
	}
	}
	(void)f;
}

size_t fake_run(struct fake *f)
{
	size_t n = 0;
	struct event *e;
	while ((e = event_next(f)) != NULL && e->due <= f->now) {
		event_fire(f, e);
		n++;
	}
	return n;
}

size_t fake_advance(struct fake *f, int64_t ms)
{
	int64_t end = f->now + ms;
	size_t n = 0;
	struct event *e;
	while ((e = event_next(f)) != NULL && e->due <= end) {
		if (e->due > f->now)
			f->now = e->due;
		event_fire(f, e);
		n++;
	}
	f->now = end;
	return n;
}

size_t fake_settle(struct fake *f, int64_t max_ms)
{
	int64_t end = f->now + max_ms;
	size_t n = 0;
	struct event *e;
	while ((e = event_next(f)) != NULL && e->due <= end) {
		if (e->due > f->now)
			f->now = e->due;
		event_fire(f, e);
		n++;
	}
	return n;
}

size_t fake_pending(const struct fake *f)
{
	size_t n = 0;
	for (const struct event *e = f->events; e != NULL; e = e->next)
		n += e->state == 0;
	return n;
}

size_t fake_misuse(const struct fake *f)
{
	return f->misuse;
}

size_t fake_ntimers(const struct fake *f)
{
	return f->ntimers;
}

uint32_t fake_timer_delay(const struct fake *f, size_t i)
{
	return i < f->ntimers ? f->timer_delays[i] : 0;
}

/* --- fed_transport ------------------------------------------------------ */

static int tr_http_start(void *arg, const struct fed_http_request *req, fed_http_done_fn *done, void *done_arg,
                         struct fed_call **call)
{
	struct fake *f = arg;

	if (done == NULL || req == NULL || req->url == NULL || req->method == NULL) {
		misuse(f, "http_start without a request, URL, method or callback");
		return FED_ERR_INVALID;
	}
	if (f->start_fails > 0) {
		f->start_fails--;
		return f->start_fail_err;
	}
	if (f->nreqs == f->capreqs) {
		f->capreqs = f->capreqs ? 2 * f->capreqs : 8;
		f->reqs = realloc(f->reqs, f->capreqs * sizeof(*f->reqs));
		if (f->reqs == NULL)
			abort();
	}
	struct fake_request *r = &f->reqs[f->nreqs];
	memset(r, 0, sizeof(*r));
	r->method = xstrdup(req->method);
	r->url = xstrdup(req->url);
	r->nheaders = req->nheaders;
	r->headers = xmalloc((req->nheaders + 1) * sizeof(*r->headers));
	for (size_t i = 0; i < req->nheaders; i++) {
		r->headers[i].name = xstrdup(req->headers[i].name);
		r->headers[i].value = xstrdup(req->headers[i].value);
	}
	r->body = xstrndup(req->body ? req->body : "", req->body ? req->body_len : 0);
	r->body_len = req->body ? req->body_len : 0;
	r->connect_timeout_ms = req->connect_timeout_ms;
	r->timeout_ms = req->timeout_ms;
	r->max_response = req->max_response;
	r->started_ms = f->now;

	/* The first queued reply that matches. */
	struct fake_reply *rep = NULL;
	for (struct fake_reply **pp = &f->replies; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->match == NULL || strstr(req->url, (*pp)->match) != NULL) {
			rep = *pp;
			*pp = rep->next;
			rep->next = NULL;
			break;
		}
	}
	int64_t delay = rep ? rep->delay_ms : 0;
	int err = 0;
	if (rep == NULL) {
		fprintf(stderr, "fake: no reply queued for %s %s\n", req->method, req->url);
		f->unmatched++;
		err = FED_ERR_TRANSPORT;
	} else if (req->timeout_ms > 0 && delay > req->timeout_ms) {
		delay = req->timeout_ms;
		err = FED_ERR_TIMEOUT;
	} else if (rep->err != 0) {
		err = rep->err;
	} else if (rep->body_len > req->max_response) {
		err = FED_ERR_TOO_LARGE;
	}
	struct event *e = event_new(EV_HTTP, f->now + delay);
	e->http_done = done;
	e->arg = done_arg;
	e->reply = rep;
	e->err = err;
	e->req_index = f->nreqs;
	event_link(f, e);
	f->nreqs++;
	*call = (struct fed_call *)e;
	return 0;
}

static void tr_http_cancel(void *arg, struct fed_call *call)
{
	struct fake *f = arg;
	struct event *e = (struct event *)call;
	if (e == NULL || e->kind != EV_HTTP || e->state != 0) {
		misuse(f, "http_cancel of a call that completed or was cancelled");
		return;
	}
	e->state = 2;
	f->reqs[e->req_index].cancelled = 1;
}

static int tr_timer_start(void *arg, uint32_t delay_ms, fed_task_fn *fn, void *fn_arg, struct fed_timer **timer)
{
	struct fake *f = arg;
	if (fn == NULL) {
		misuse(f, "timer_start without a function");
		return FED_ERR_INVALID;
	}
	if (f->ntimers == f->captimers) {
		f->captimers = f->captimers ? 2 * f->captimers : 8;
		f->timer_delays = realloc(f->timer_delays, f->captimers * sizeof(*f->timer_delays));
		if (f->timer_delays == NULL)
			abort();
	}
	f->timer_delays[f->ntimers++] = delay_ms;
	struct event *e = event_new(EV_TIMER, f->now + delay_ms);
	e->task = fn;
	e->arg = fn_arg;
	event_link(f, e);
	if (timer != NULL)
		*timer = (struct fed_timer *)e;
	return 0;
}

static void tr_timer_cancel(void *arg, struct fed_timer *timer)
{
	struct fake *f = arg;
	struct event *e = (struct event *)timer;
	if (e == NULL || e->kind != EV_TIMER || e->state != 0) {
		misuse(f, "timer_cancel of a timer that fired or was cancelled");
		return;
	}
	e->state = 2;
}

static int tr_post(void *arg, fed_task_fn *fn, void *fn_arg)
{
	struct fake *f = arg;
	/* Due "now" as the test thread sees it; f->now is only read here. */
	struct event *e = event_new(EV_TASK, INT64_MIN);
	e->task = fn;
	e->arg = fn_arg;
	event_link(f, e);
	return 0;
}

static int tr_process_start(void *arg, const char *command, size_t max, uint32_t timeout_ms,
                            fed_process_done_fn *done, void *done_arg)
{
	struct fake *f = arg;
	if (done == NULL || command == NULL) {
		misuse(f, "process_start without a command or callback");
		return FED_ERR_INVALID;
	}
	if (f->nruns == f->capruns) {
		f->capruns = f->capruns ? 2 * f->capruns : 4;
		f->runs = realloc(f->runs, f->capruns * sizeof(*f->runs));
		if (f->runs == NULL)
			abort();
	}
	struct fake_process_run *run = &f->runs[f->nruns++];
	run->command = xstrdup(command);
	run->max = max;
	run->timeout_ms = timeout_ms;

	struct proc_canned *c = NULL;
	for (struct proc_canned **pp = &f->procs; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->match == NULL || strstr(command, (*pp)->match) != NULL) {
			c = *pp;
			*pp = c->next;
			break;
		}
	}
	struct event *e = event_new(EV_PROCESS, f->now + (c ? c->delay_ms : 0));
	e->proc_done = done;
	e->arg = done_arg;
	e->proc_status = -1;
	if (c != NULL) {
		if (timeout_ms > 0 && c->delay_ms > timeout_ms) {
			e->due = f->now + timeout_ms;
		} else {
			e->proc_status = c->status;
			/* As the real one: at most |max| bytes of output. */
			size_t n = strlen(c->out);
			e->proc_out = xstrndup(c->out, n > max ? max : n);
		}
		free(c->match);
		free(c->out);
		free(c);
	}
	event_link(f, e);
	return 0;
}

/* --- set-up ----------------------------------------------------------------- */

struct fake *fake_new(void)
{
	struct fake *f = xmalloc(sizeof(*f));
	f->env.arg = f;
	f->env.getenv = env_getenv;
	f->env.read_file = env_read_file;
	f->env.now_ms = env_now_ms;
	f->env.random = env_random;
	f->transport.arg = f;
	f->transport.http_start = tr_http_start;
	f->transport.http_cancel = tr_http_cancel;
	f->transport.timer_start = tr_timer_start;
	f->transport.timer_cancel = tr_timer_cancel;
	f->transport.post = tr_post;
	f->transport.process_start = tr_process_start;
	f->now = FAKE_START_MS;
	f->rnd = 1;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void reply_free(struct fake_reply *r)
{
	if (r == NULL)
		return;
	free(r->match);
	free(r->body);
	for (size_t i = 0; i < r->nheaders; i++) {
		free((char *)(uintptr_t)r->headers[i].name);
		free((char *)(uintptr_t)r->headers[i].value);
	}
	free(r->headers);
	free(r);
}

static void kv_free_all(struct kv *l)
{
	while (l != NULL) {
		struct kv *n = l->next;
		free(l->name);
		free(l->value);
		free(l);
		l = n;
	}
}

void fake_del(struct fake *f)
{
	if (f == NULL)
		return;
	size_t pending = 0;
	while (f->events != NULL) {
		struct event *e = f->events;
		f->events = e->next;
		if (e->state == 0 && e->kind != EV_TASK)
			pending++;
		reply_free(e->reply);
		free(e->proc_out);
		free(e);
	}
	if (pending > 0)
		fprintf(stderr, "fake: %zu calls, timers or processes still pending at the end\n", pending);
	while (f->replies != NULL) {
		struct fake_reply *r = f->replies;
		f->replies = r->next;
		reply_free(r);
	}
	while (f->procs != NULL) {
		struct proc_canned *c = f->procs;
		f->procs = c->next;
		free(c->match);
		free(c->out);
		free(c);
	}
	for (size_t i = 0; i < f->nreqs; i++) {
		struct fake_request *r = &f->reqs[i];
		free(r->method);
		free(r->url);
		for (size_t j = 0; j < r->nheaders; j++) {
			free((char *)(uintptr_t)r->headers[j].name);
			free((char *)(uintptr_t)r->headers[j].value);
		}
		free(r->headers);
		free(r->body);
	}
	free(f->reqs);
	for (size_t i = 0; i < f->nruns; i++)
		free(f->runs[i].command);
	free(f->runs);
	free(f->timer_delays);
	kv_free_all(f->vars);
	kv_free_all(f->files);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const struct fed_env *fake_env(struct fake *f)
{
	return &f->env;
}

struct fed_transport *fake_transport(struct fake *f)
{
	return &f->transport;
}

void fake_setenv(struct fake *f, const char *name, const char *value)
{
	if (value == NULL) {
		kv_remove(&f->vars, name);
		return;
	}
	struct kv *k = kv_put(&f->vars, name);
	k->value = xstrdup(value);
	k->len = strlen(value);
}

void fake_file(struct fake *f, const char *path, const char *content, size_t len)
{
	if (content == NULL) {
		kv_remove(&f->files, path);
		return;
	}
	if (len == (size_t)-1)
		len = strlen(content);
	struct kv *k = kv_put(&f->files, path);
	k->value = xstrndup(content, len);
	k->len = len;
}

void fake_file_error(struct fake *f, const char *path, int err)
{
	struct kv *k = kv_put(&f->files, path);
	k->err = err;
}

size_t fake_nreads(const struct fake *f)
{
	return f->nreads;
}

int64_t fake_now(const struct fake *f)
{
	return f->now;
}

void fake_set_now(struct fake *f, int64_t ms)
{
	f->now = ms;
}

void fake_seed(struct fake *f, uint32_t seed)
{
	f->rnd = seed ? seed : 1;
}

void fake_random_push(struct fake *f, uint32_t value)
{
	if (f->npushed == sizeof(f->pushed) / sizeof(f->pushed[0])) {
		fprintf(stderr, "fake: too many random values pushed\n");
		abort();
	}
	f->pushed[f->npushed++] = value;
}

struct fake_reply *fake_reply_bytes(struct fake *f, const char *match, int status, const void *body, size_t len)
{
	struct fake_reply *r = xmalloc(sizeof(*r));
	r->match = xstrdup(match);
	r->status = status;
	r->body = xstrndup(body ? body : "", body ? len : 0);
	r->body_len = body ? len : 0;
	struct fake_reply **pp = &f->replies;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = r;
	return r;
}

struct fake_reply *fake_reply(struct fake *f, const char *match, int status, const char *body)
{
	return fake_reply_bytes(f, match, status, body, body ? strlen(body) : 0);
}

struct fake_reply *fake_fail(struct fake *f, const char *match, int err)
{
	struct fake_reply *r = fake_reply(f, match, 0, NULL);
	r->err = err;
	return r;
}

void fake_reply_header(struct fake_reply *r, const char *name, const char *value)
{
	struct fed_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
	if (h == NULL)
		abort();
	h[r->nheaders].name = xstrdup(name);
	h[r->nheaders].value = xstrdup(value);
	r->headers = h;
	r->nheaders++;
}

void fake_reply_delay(struct fake_reply *r, uint32_t ms)
{
	r->delay_ms = ms;
}

void fake_start_fails(struct fake *f, unsigned n, int err)
{
	f->start_fails = n;
	f->start_fail_err = err;
}

size_t fake_replies_left(const struct fake *f)
{
	size_t n = 0;
	for (const struct fake_reply *r = f->replies; r != NULL; r = r->next)
		n++;
	return n;
}

size_t fake_unmatched(const struct fake *f)
{
	return f->unmatched;
}

size_t fake_nrequests(const struct fake *f)
{
	return f->nreqs;
}

const struct fake_request *fake_request(const struct fake *f, size_t i)
{
	return i < f->nreqs ? &f->reqs[i] : NULL;
}

const char *fake_request_header(const struct fake_request *r, const char *name)
{
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

const char *fake_request_param(const struct fake_request *r, const char *name, int in_query)
{
	if (r == NULL)
		return NULL;
	const char *s;
	if (in_query) {
		s = strchr(r->url, '?');
		if (s == NULL)
			return NULL;
		s++;
	} else {
		s = r->body;
	}
	/* A test fixture's own small decoder: the expectations are written by
	 * hand, so this decodes, it does not judge. */
	size_t namelen = strlen(name);
	while (*s != '\0') {
		const char *amp = strchr(s, '&');
		size_t len = amp ? (size_t)(amp - s) : strlen(s);
		if (len > namelen && strncmp(s, name, namelen) == 0 && s[namelen] == '=') {
			static char buf[FAKE_MAX_PARAM + 1];
			size_t o = 0;
			for (size_t i = namelen + 1; i < len && o < FAKE_MAX_PARAM; i++) {
				int c = (unsigned char)s[i];
				if (c == '+') {
					buf[o++] = ' ';
				} else if (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
					buf[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
					i += 2;
				} else {
					buf[o++] = (char)c;
				}
			}
			buf[o] = '\0';
			return buf;
		}
		if (len == namelen && strncmp(s, name, namelen) == 0)
			return "";
		s += len;
		if (*s == '&')
			s++;
	}
	return NULL;
}

void fake_process(struct fake *f, const char *match, int status, const char *out, uint32_t delay_ms)
{
	struct proc_canned *c = xmalloc(sizeof(*c));
	c->match = xstrdup(match);
	c->status = status;
	c->out = xstrdup(out ? out : "");
	c->delay_ms = delay_ms;
	struct proc_canned **pp = &f->procs;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = c;
}

void fake_no_process(struct fake *f)
{
	f->transport.process_start = NULL;
}

size_t fake_nprocesses(const struct fake *f)
{
	return f->nruns;
}

const struct fake_process_run *fake_process_run(const struct fake *f, size_t i)
{
	return i < f->nruns ? &f->runs[i] : NULL;
}
