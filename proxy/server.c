/* SPDX-License-Identifier: Apache-2.0 */
/* server.c: awsgated's process: generations, worker threads and their listeners, signals, reload, drain, metrics listener. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "config.h"
#include "resolve.h"
#include "server.h"
#include "sigv4/sigv4.h"

struct px_server *px_srv;

struct px_gen *px_server_gen(void)
{
	struct px_gen *g;

	pthread_mutex_lock(&px_srv->lock);
	g = px_gen_ref(px_srv->gen);
	pthread_mutex_unlock(&px_srv->lock);
	return g;
}

static void server_swap(struct px_gen *g)
{
	struct px_gen *old;

	pthread_mutex_lock(&px_srv->lock);
	old = px_srv->gen;
	px_srv->gen = g;
	__atomic_store_n(&px_srv->gen_id, g->id, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&px_srv->lock);
	px_gen_unref(old); /* requests in flight hold their own reference */
}

/* --- listeners ------------------------------------------------------------- */

static int listen_on(const struct px_hostport *hp, int reuseport, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[8];
	int fd = -1, one = 1, rv;

	snprintf(port, sizeof(port), "%u", (unsigned)hp->port);
	rv = getaddrinfo(hp->host, port, &hints, &res);
	if (rv != 0) {
		snprintf(err, errlen, "%s: %s", hp->host, gai_strerror(rv));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (res->ai_family == AF_INET6) {
		int zero = 0; /* "[::]" takes IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	snprintf(err, errlen, "%s:%u: %s", hp->host, (unsigned)hp->port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

static void worker_listen(struct px_worker *w, bool on)
{
	for (size_t i = 0; i < w->nl; i++) {
		if (on)
			ev_io_start(w->loop, &w->lio[i]);
		else
			ev_io_stop(w->loop, &w->lio[i]);
	}
	w->listening = on;
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct px_worker *w = io->data;
	uint32_t max = 0;
	struct px_gen *g;

	(void)loop;
	(void)revents;
	g = px_server_gen();
	max = g->cfg->limits.max_connections;
	px_gen_unref(g);
	/* A few at a time, so one busy listener does not starve the others. */
	for (int i = 0; i < 32; i++) {
		int fd, one = 1;
		if (px_metrics_conns_open() >= max) {
			worker_listen(w, false); /* the rest wait in the listen queue */
			ev_timer_start(w->loop, &w->accept_retry);
			return;
		}
		fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				PX_LOG(PX_LOG_ERR, "worker %u: accept: %s; pausing", w->idx, strerror(errno));
				worker_listen(w, false);
				ev_timer_start(w->loop, &w->accept_retry);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		px_conn_accept(w, fd);
	}
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct px_worker *w = PX_CONTAINER_OF(t, struct px_worker, accept_retry);

	(void)loop;
	(void)revents;
	ev_timer_stop(w->loop, &w->accept_retry);
	if (w->stopping == 0 && !w->listening)
		worker_listen(w, true);
}

/* --- workers --------------------------------------------------------------- */

static void worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct px_worker *w = a->data;
	int stop = __atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE);

	(void)revents;
	if (stop == 0)
		return;
	worker_listen(w, false);
	ev_timer_stop(loop, &w->accept_retry);
	for (size_t i = 0; i < w->nl; i++)
		if (w->lfd[i] >= 0) {
			close(w->lfd[i]);
			w->lfd[i] = -1;
		}
	for (struct px_link *l = w->conns.first, *next; l != NULL; l = next) {
		struct px_conn *c = PX_CONTAINER_OF(l, struct px_conn, link);
		next = l->next; /* |c| may be freed below */
		if (stop == 2)
			px_conn_close(c);
		else
			px_conn_shutdown(c);
	}
	if (w->conns.n == 0)
		ev_break(loop, EVBREAK_ALL);
}

static void audit_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	px_audit_flush();
}

static void *worker_main(void *arg)
{
	struct px_worker *w = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals go to the main thread's loop */
	ev_run(w->loop, 0);
	while (w->conns.first != NULL)
		px_conn_close(PX_CONTAINER_OF(w->conns.first, struct px_conn, link));
	px_audit_thread_end();
	__atomic_fetch_add(&px_srv->nfinished, 1, __ATOMIC_ACQ_REL);
	ev_async_send(px_srv->loop, &px_srv->done);
	return NULL;
}

static int workers_start(const struct px_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cfg->workers ? cfg->workers : (size_t)(ncpu > 0 ? ncpu : 1);
	char err[256];

	px_srv->w = calloc(n, sizeof(*px_srv->w));
	if (px_srv->w == NULL)
		return -1;
	px_srv->nw = n;
	for (size_t i = 0; i < n; i++) {
		struct px_worker *w = &px_srv->w[i];
		w->srv = px_srv;
		w->idx = (unsigned)i;
		w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
		w->nl = cfg->nlisten;
		w->lfd = calloc(w->nl, sizeof(int));
		w->lio = calloc(w->nl, sizeof(ev_io));
		if (w->loop == NULL || w->lfd == NULL || w->lio == NULL)
			return -1;
		/* One libcurl core per loop: STS and the API's upstream requests share its pool. */
		w->curl = px_curl_new(w->loop, cfg->aws.ca_file, cfg->aws.connect_to, cfg->aws.nconnect_to);
		w->transport = w->curl ? px_transport_new_on(w->curl) : NULL;
		w->signer = sv4_signer_new();
		if (w->transport == NULL || w->signer == NULL ||
		    px_resolve_loop_new(px_srv->resolver, w->loop, &w->resolve) != 0)
			return -1;
		for (size_t j = 0; j < w->nl; j++) {
			w->lfd[j] = listen_on(&cfg->listen[j], 1, err, sizeof(err));
			if (w->lfd[j] < 0) {
				PX_LOG(PX_LOG_ERR, "cannot listen on %s", err);
				return -1;
			}
			ev_io_init(&w->lio[j], accept_cb, w->lfd[j], EV_READ);
			w->lio[j].data = w;
		}
		ev_async_init(&w->wake, worker_wake_cb);
		w->wake.data = w;
		ev_async_start(w->loop, &w->wake);
		ev_timer_init(&w->accept_retry, accept_retry_cb, 0.1, 0.1);
		ev_prepare_init(&w->audit_flush, audit_flush_cb);
		ev_prepare_start(w->loop, &w->audit_flush);
		ev_unref(w->loop); /* it keeps no loop running */
		worker_listen(w, true);
	}
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&px_srv->w[i].thread, NULL, worker_main, &px_srv->w[i]) != 0)
			return -1;
		px_srv->w[i].started = true;
	}
	PX_LOG(PX_LOG_NOTICE, "awsgated %s: %zu workers, listening on %zu address(es)", PACKAGE_VERSION, n,
	       cfg->nlisten);
	return 0;
}

static void workers_signal(int stop)
{
	for (size_t i = 0; i < px_srv->nw; i++) {
		__atomic_store_n(&px_srv->w[i].stopping, stop, __ATOMIC_RELEASE);
		if (px_srv->w[i].loop != NULL && ev_is_active(&px_srv->w[i].wake))
			ev_async_send(px_srv->w[i].loop, &px_srv->w[i].wake);
	}
}

/* --- reload and the resources watch --------------------------------------- */

/* A cheap signature of the resources directory: names, sizes, mtimes. */
static uint64_t dir_signature(const char *dir)
{
	uint64_t h = 1469598103934665603ull;
	DIR *d;
	struct dirent *e;

#define MIX(v)                                                                                                 \
	do {                                                                                                   \
		h ^= (uint64_t)(v);                                                                            \
		h *= 1099511628211ull;                                                                         \
	} while (0)
	if (dir == NULL)
		return 0;
	d = opendir(dir);
	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, 0) != 0)
			continue;
		/* order-independent: sum of per-file hashes */
		uint64_t fh = 1469598103934665603ull;
		for (const char *p = e->d_name; *p; p++) {
			fh ^= (unsigned char)*p;
			fh *= 1099511628211ull;
		}
		fh ^= (uint64_t)sb.st_size * 31 + (uint64_t)sb.st_mtim.tv_sec * 1000000007ull + (uint64_t)sb.st_mtim.tv_nsec;
		fh *= 1099511628211ull;
		MIX(0);
		h += fh;
	}
	closedir(d);
#undef MIX
	return h;
}

static void reload(int full)
{
	struct px_gen *cur = px_server_gen(), *g = NULL;
	uint64_t id = cur->id + 1;
	int rv = px_gen_load(px_srv->config_path, full ? NULL : cur, id, &g);

	if (rv != 0) {
		PX_LOG(PX_LOG_ERR, "%s failed: keeping generation %" PRIu64 " (the errors are above)",
		       full ? "reload" : "resources reload", cur->id);
		px_gen_unref(cur);
		return;
	}
	if (full) {
		const struct px_config *o = cur->cfg, *n = g->cfg;
		int same = o->nlisten == n->nlisten && o->workers == n->workers;
		for (size_t i = 0; same && i < n->nlisten; i++)
			same = o->listen[i].port == n->listen[i].port && strcmp(o->listen[i].host, n->listen[i].host) == 0;
		if (!same)
			PX_LOG(PX_LOG_WARN, "listen and workers change only on restart; the rest is reloaded");
		px_log_open(n->log.file, (int)n->log.level);
		px_audit_open(n->audit.file, n->audit.fail_closed);
		/* The credential files or the trust policies may have changed with
		 * the configuration: resolve the gate's credentials again and
		 * assume roles afresh (calls in flight finish and stay cached). */
		fed_base_reset(px_srv->base);
		fed_cache_clear(px_srv->cache);
	}
	PX_LOG(PX_LOG_NOTICE, "%s: generation %" PRIu64 " in use", full ? "reloaded" : "resources changed", id);
	px_gen_unref(cur);
	px_srv->watch_sig = dir_signature(g->cfg->resources_dir);
	server_swap(g);
}

static void watch_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct px_gen *g = px_server_gen();
	uint64_t sig = dir_signature(g->cfg->resources_dir);

	(void)loop;
	(void)t;
	(void)revents;
	px_gen_unref(g);
	if (sig != px_srv->watch_sig) {
		/* Remembered before loading, so a bad file is reported once, not every second. */
		px_srv->watch_sig = sig;
		reload(0);
		px_srv->watch_sig = sig;
	}
}

/* --- signals --------------------------------------------------------------- */

static void sig_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)revents;
	switch (s->signum) {
	case SIGHUP:
		PX_LOG(PX_LOG_NOTICE, "SIGHUP: reloading %s", px_srv->config_path);
		reload(1);
		break;
	case SIGUSR1:
		px_log_reopen();
		break;
	default: {
		struct px_gen *g;
		if (__atomic_load_n(&px_srv->draining, __ATOMIC_RELAXED)) {
			PX_LOG(PX_LOG_NOTICE, "second stop signal: closing every connection now");
			workers_signal(2);
			break;
		}
		g = px_server_gen();
		PX_LOG(PX_LOG_NOTICE, "stopping: draining for up to %" PRIu32 "s", g->cfg->timeouts.shutdown_grace);
		__atomic_store_n(&px_srv->draining, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&px_srv->ready, 0, __ATOMIC_RELAXED);
		ev_timer_stop(loop, &px_srv->watch);
		ev_timer_set(&px_srv->grace, g->cfg->timeouts.shutdown_grace, 0);
		ev_timer_start(loop, &px_srv->grace);
		px_gen_unref(g);
		workers_signal(1);
		break;
	}
	}
}

static void grace_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	PX_LOG(PX_LOG_NOTICE, "shutdown_grace is over: closing the connections left");
	workers_signal(2);
}

static void done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)a;
	(void)revents;
	if (__atomic_load_n(&px_srv->nfinished, __ATOMIC_ACQUIRE) == px_srv->nw)
		ev_break(loop, EVBREAK_ALL);
}

/* --- the metrics listener (plain HTTP, main thread) ------------------------ */

struct metrics_client {
	ev_io io;
	ev_timer timer;
	char buf[PX_METRICS_MAX_REQUEST];
	size_t len;
};

static void metrics_client_del(struct metrics_client *m)
{
	ev_io_stop(px_srv->loop, &m->io);
	ev_timer_stop(px_srv->loop, &m->timer);
	close(m->io.fd);
	free(m);
}

static void metrics_answer(struct metrics_client *m)
{
	struct px_gen *g = px_server_gen();
	const char *path = g->cfg->metrics.path ? g->cfg->metrics.path : "/metrics";
	char head[256], *body = NULL;
	size_t blen = 0, plen = strlen(path);
	int n, ok = m->len > 4 && memcmp(m->buf, "GET ", 4) == 0 && m->len > 4 + plen &&
		    memcmp(m->buf + 4, path, plen) == 0 && (m->buf[4 + plen] == ' ' || m->buf[4 + plen] == '?');

	px_gen_unref(g);
	if (ok && px_metrics_render(&body, &blen) != 0)
		ok = 0;
	if (ok)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: %zu\r\n"
			     "x-awsgate-version: %s\r\nconnection: close\r\n\r\n", blen, PACKAGE_VERSION);
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-awsgate-version: %s\r\nconnection: close\r\n\r\n",
			     PACKAGE_VERSION);
	/* Small answers to a local scraper: a blocking-free best effort. */
	if (write(m->io.fd, head, (size_t)n) == n && body != NULL && write(m->io.fd, body, blen) < 0) {
		/* the scraper went away */
	}
	free(body);
	metrics_client_del(m);
}

static void metrics_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct metrics_client *m = (struct metrics_client *)io;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(io->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		metrics_client_del(m);
		return;
	}
	m->len += (size_t)n;
	m->buf[m->len] = 0;
	if (strstr(m->buf, "\r\n\r\n") != NULL || strstr(m->buf, "\n\n") != NULL)
		metrics_answer(m);
	else if (m->len >= sizeof(m->buf) - 1)
		metrics_client_del(m);
}

static void metrics_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	metrics_client_del(PX_CONTAINER_OF(t, struct metrics_client, timer));
}

static void metrics_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct metrics_client *m;

	(void)revents;
	if (fd < 0)
		return;
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		close(fd);
		return;
	}
	ev_io_init(&m->io, metrics_read_cb, fd, EV_READ);
	ev_io_start(loop, &m->io);
	ev_timer_init(&m->timer, metrics_timeout_cb, PX_METRICS_TIMEOUT, 0);
	ev_timer_start(loop, &m->timer);
}

/* --- AWS: the process-wide credentials ------------------------------------ */

/* Every AssumeRole the cache made, for the audit (docs/SERVER.md): which
 * role, for which session, until when, and how it ended. On the worker
 * whose transport made the call. */
static void server_audit_assume_role(void *arg, const struct fed_cache_sts_event *ev)
{
	struct px_jw w;
	(void)arg;
	px_jw_init(&w);
	px_jw_str(&w, "event", "sts.assume_role");
	px_jw_str(&w, "role_arn", ev->role_arn);
	px_jw_str(&w, "session_name", ev->session_name);
	px_jw_str(&w, "source_identity", ev->source_identity);
	px_jw_str(&w, "external_id", ev->external_id ? "set" : NULL);
	px_jw_int(&w, "duration_seconds", ev->duration_seconds);
	px_jw_str(&w, "trigger", ev->refresh ? "refresh" : "request");
	px_jw_str(&w, "outcome", ev->err == 0 ? "ok" : fed_strerror(ev->err));
	if (ev->err == 0) {
		char exp[32];
		struct tm tm;
		time_t t = (time_t)ev->expiration;
		if (gmtime_r(&t, &tm) != NULL && strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm) != 0)
			px_jw_str(&w, "expires", exp);
		px_jw_str(&w, "assumed_role_arn", ev->assumed_role_arn);
	} else {
		px_jw_str(&w, "aws_code", ev->code[0] ? ev->code : NULL);
		px_jw_str(&w, "message", ev->message[0] ? ev->message : NULL);
		px_jw_int(&w, "attempts", ev->attempts);
	}
	px_jw_str(&w, "aws_request_id", ev->request_id[0] ? ev->request_id : NULL);
	px_jw_int(&w, "duration_ms", ev->ms);
	/* A failed write is already counted and logged by the audit log; the
	 * requests waiting for these credentials are audited on their own. */
	(void)px_audit_jw(&w);
}

/* The gate's own credentials (aws.credential_source, aws.profile) and the
 * AssumeRole cache, shared by every worker; libcurl is started before any
 * thread. The sources are read at the first request, not here, so a gate
 * whose credentials are not there yet still starts and says so per request. */
static int aws_start(const struct px_config *cfg)
{
	static const enum fed_base_source sources[] = {
		[PX_CREDS_DEFAULT] = FED_BASE_DEFAULT,         [PX_CREDS_ENVIRONMENT] = FED_BASE_ENVIRONMENT,
		[PX_CREDS_PROFILE] = FED_BASE_PROFILE,         [PX_CREDS_WEB_IDENTITY] = FED_BASE_WEB_IDENTITY,
		[PX_CREDS_CONTAINER] = FED_BASE_CONTAINER,     [PX_CREDS_IMDS] = FED_BASE_IMDS,
	};
	struct fed_base_options bo = {sources[cfg->aws.credential_source], cfg->aws.profile};
	struct fed_cache_options co = {.sts_timeout_ms = cfg->timeouts.sts * 1000u,
	                               .on_sts = server_audit_assume_role};
	char err[256] = "";
	const char *ep;
	int rv;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		PX_LOG(PX_LOG_ERR, "libcurl failed to start");
		return -1;
	}
	px_srv->curl = 1;
	px_env_init(&px_srv->env);
	ep = fed_env_sts_endpoint(&px_srv->env);
	if (ep != NULL && (px_srv->sts_endpoint_url = strdup(ep)) == NULL) {
		PX_LOG(PX_LOG_ERR, "out of memory");
		return -1;
	}
	if (fed_base_new(&px_srv->env, &bo, &px_srv->base) != 0 ||
	    fed_cache_new(&px_srv->env, &co, &px_srv->cache) != 0) {
		PX_LOG(PX_LOG_ERR, "out of memory");
		return -1;
	}
	/* The web UI's links and sessions outlive reloads: a reload must not
	 * sign every browser out. */
	if (px_web_table_new(PX_WEB_MAX_LINKS, PX_WEB_MAX_SESSIONS, &px_srv->web) != 0) {
		PX_LOG(PX_LOG_ERR, "out of memory");
		return -1;
	}
	rv = px_resolver_new(0, 0, 0, 0, cfg->aws.hosts_file, err, sizeof(err), &px_srv->resolver);
	if (rv != 0) {
		PX_LOG(PX_LOG_ERR, "cannot start the resolver: %s", rv == PX_ERR_NOMEM ? "out of memory" : err);
		return -1;
	}
	return 0;
}

/* --- main ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: awsgated --config FILE [--check]\n"
		   "  --config FILE  the daemon file (docs/CONFIG.md)\n"
		   "  --check        load the configuration, resources and TLS files, report, and exit\n"
		   "  --help, --version\n"
		   "signals: HUP reload, TERM/INT drain and stop, USR1 reopen the log files\n");
}

int px_gated_main(int argc, char **argv)
{
	const char *config = NULL;
	int check = 0, status = PX_EXIT_USAGE;
	struct px_server srv;
	struct px_gen *g = NULL;
	char err[256];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "--check") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return PX_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("awsgated %s\n", PACKAGE_VERSION);
			return PX_EXIT_OK;
		} else {
			fprintf(stderr, "awsgated: unknown argument %s\n", argv[i]);
			usage(stderr);
			return PX_EXIT_USAGE;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "awsgated: --config FILE is required\n");
		usage(stderr);
		return PX_EXIT_USAGE;
	}
	memset(&srv, 0, sizeof(srv));
	srv.config_path = config;
	srv.metrics_fd = -1;
	pthread_mutex_init(&srv.lock, NULL);
	px_srv = &srv;
	signal(SIGPIPE, SIG_IGN);
	px_ssl_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (px_gen_load(config, NULL, 1, &g) != 0) {
		fprintf(stderr, "awsgated: %s has errors (above); nothing started\n", config);
		return check ? PX_EXIT_NO : PX_EXIT_USAGE;
	}
	if (check) {
		struct rbac_policy_stats ps;
		rbac_policy_stats(g->pol, &ps);
		printf("%s: OK: %zu apps, %zu roles, %zu users, %zu locks; TLS files loaded\n", config, ps.apps,
		       ps.roles, ps.users, ps.locks);
		px_gen_unref(g);
		return PX_EXIT_OK;
	}
	px_log_open(g->cfg->log.file, (int)g->cfg->log.level);
	px_audit_open(g->cfg->audit.file, g->cfg->audit.fail_closed);
	srv.gen = g;
	srv.gen_id = g->id;
	srv.watch_sig = dir_signature(g->cfg->resources_dir);
	srv.loop = ev_default_loop(EVFLAG_AUTO);
	if (g->cfg->metrics.listen.host != NULL) {
		srv.metrics_fd = listen_on(&g->cfg->metrics.listen, 0, err, sizeof(err));
		if (srv.metrics_fd < 0) {
			PX_LOG(PX_LOG_ERR, "cannot listen for metrics on %s", err);
			goto out;
		}
		ev_io_init(&srv.metrics_io, metrics_accept_cb, srv.metrics_fd, EV_READ);
		ev_io_start(srv.loop, &srv.metrics_io);
	}
	ev_async_init(&srv.done, done_cb);
	ev_async_start(srv.loop, &srv.done);
	ev_signal_init(&srv.sig_hup, sig_cb, SIGHUP);
	ev_signal_init(&srv.sig_term, sig_cb, SIGTERM);
	ev_signal_init(&srv.sig_int, sig_cb, SIGINT);
	ev_signal_init(&srv.sig_usr1, sig_cb, SIGUSR1);
	ev_signal_start(srv.loop, &srv.sig_hup);
	ev_signal_start(srv.loop, &srv.sig_term);
	ev_signal_start(srv.loop, &srv.sig_int);
	ev_signal_start(srv.loop, &srv.sig_usr1);
	ev_timer_init(&srv.watch, watch_cb, PX_WATCH_INTERVAL, PX_WATCH_INTERVAL);
	if (g->cfg->resources_dir != NULL)
		ev_timer_start(srv.loop, &srv.watch);
	ev_init(&srv.grace, grace_cb);
	if (aws_start(g->cfg) != 0)
		goto out;
	if (workers_start(g->cfg) != 0) {
		PX_LOG(PX_LOG_ERR, "cannot start the workers");
		workers_signal(2);
		goto out;
	}
	__atomic_store_n(&srv.ready, 1, __ATOMIC_RELAXED);
	ev_run(srv.loop, 0);
	status = PX_EXIT_OK;
	PX_LOG(PX_LOG_NOTICE, "stopped");
out:
	for (size_t i = 0; i < srv.nw; i++)
		if (srv.w[i].started)
			pthread_join(srv.w[i].thread, NULL);
	/* The cache cancels its STS calls through the transports: first. */
	fed_cache_del(srv.cache);
	px_web_table_del(srv.web);
	free(srv.sts_endpoint_url);
	for (size_t i = 0; i < srv.nw; i++) {
		px_transport_del(srv.w[i].transport);
		px_curl_del(srv.w[i].curl);
		px_resolve_loop_del(srv.w[i].resolve);
		sv4_signer_del(srv.w[i].signer);
		if (srv.w[i].loop)
			ev_loop_destroy(srv.w[i].loop);
		for (size_t j = 0; srv.w[i].lfd != NULL && j < srv.w[i].nl; j++)
			if (srv.w[i].lfd[j] > 0)
				close(srv.w[i].lfd[j]);
		free(srv.w[i].lfd);
		free(srv.w[i].lio);
	}
	free(srv.w);
	if (status != PX_EXIT_OK && srv.gen->cfg->log.file != NULL && strcmp(srv.gen->cfg->log.file, "-") != 0)
		fprintf(stderr, "awsgated: could not start; %s says why\n", srv.gen->cfg->log.file);
	if (srv.metrics_fd >= 0)
		close(srv.metrics_fd);
	fed_base_del(srv.base);
	px_resolver_del(srv.resolver);
	if (srv.curl)
		curl_global_cleanup();
	px_gen_unref(srv.gen);
	px_log_close();
	return status;
}
