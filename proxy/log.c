/* SPDX-License-Identifier: Apache-2.0 */
/* log.c: awsgated's error log (levels, reopened on SIGUSR1) and audit log (one JSON object per line, fail-closed). */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "server.h"

volatile int px_log_level_cur = PX_LOG_INFO;

/* Both logs are written with one write(2) per line on an O_APPEND
 * descriptor, so that lines from several workers never interleave and
 * nothing waits in a stdio buffer when the process dies. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = 2;
static char *log_name;
static int audit_fd = -1;
static char *audit_name;
static bool audit_fail_closed = true;
/* The last write of the audit log failed (or it could not be opened). */
static int audit_broken;

static const char *const level_names[] = {"err", "warn", "notice", "info", "debug"};

/* Longest error-log line; longer ones are cut. */
#define PX_LOG_LINE_MAX 2048

void px_log_write(int level, const char *fmt, ...)
{
	char line[PX_LOG_LINE_MAX];
	char ts[32];
	va_list ap;
	int n;
	size_t len;

	rbac_time_format((int64_t)time(NULL), ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s awsgated[%ld]: %s: ", ts, (long)getpid(),
		     level >= 0 && level <= PX_LOG_DEBUG ? level_names[level] : "?");
	if (n < 0)
		return;
	len = (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* A line is one line: control characters from outside (a header, a
	 * certificate's CN) cannot forge another. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = '?';
	line[len++] = '\n';
	pthread_mutex_lock(&log_lock);
	if (write(log_fd, line, len) < 0) {
		/* nowhere to report it */
	}
	pthread_mutex_unlock(&log_lock);
}

static int open_append(const char *file)
{
	return open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int px_log_open(const char *file, int level)
{
	int fd = 2;
	char *name = NULL;

	if (file != NULL && strcmp(file, "-") != 0) {
		fd = open_append(file);
		if (fd < 0) {
			PX_LOG(PX_LOG_ERR, "cannot open the error log %s: %s; keeping the old one", file,
			       strerror(errno));
			return PX_ERR_IO;
		}
		name = strdup(file);
	}
	pthread_mutex_lock(&log_lock);
	if (log_fd > 2)
		close(log_fd);
	free(log_name);
	log_fd = fd;
	log_name = name;
	px_log_level_cur = level;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int px_audit_open(const char *file, bool fail_closed)
{
	int fd = 1;
	char *name = NULL;

	if (file != NULL && strcmp(file, "-") != 0) {
		fd = open_append(file);
		if (fd < 0)
			PX_LOG(PX_LOG_ERR, "cannot open the audit log %s: %s%s", file, strerror(errno),
			       fail_closed ? "; audited requests are refused until it can be written" : "");
		name = strdup(file);
	}
	pthread_mutex_lock(&log_lock);
	if (audit_fd > 2)
		close(audit_fd);
	free(audit_name);
	audit_fd = fd;
	audit_name = name;
	audit_fail_closed = fail_closed;
	__atomic_store_n(&audit_broken, fd < 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&log_lock);
	return fd < 0 ? PX_ERR_IO : 0;
}

void px_log_reopen(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_name != NULL) {
		int fd = open_append(log_name);
		if (fd >= 0) {
			close(log_fd);
			log_fd = fd;
		}
	}
	if (audit_name != NULL) {
		int fd = open_append(audit_name);
		if (fd >= 0) {
			if (audit_fd > 2)
				close(audit_fd);
			audit_fd = fd;
		}
	}
	pthread_mutex_unlock(&log_lock);
	PX_LOG(PX_LOG_NOTICE, "log files reopened");
}

void px_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fd > 2)
		close(log_fd);
	if (audit_fd > 2)
		close(audit_fd);
	log_fd = 2;
	audit_fd = -1;
	free(log_name);
	free(audit_name);
	log_name = audit_name = NULL;
	pthread_mutex_unlock(&log_lock);
}

bool px_audit_failing(void)
{
	return __atomic_load_n(&audit_fail_closed, __ATOMIC_RELAXED) && __atomic_load_n(&audit_broken, __ATOMIC_RELAXED);
}

/* The room for audit_time()'s text: "2026-12-04T15:00:00.123Z" and a NUL. */
#define AUDIT_TIME_MAX 40

/* The last second this thread formatted: audit lines come by the thousand
 * per second, and rbac_time_format()'s snprintf() cost more than the rest
 * of a line. */
struct audit_clock {
	time_t sec;
	size_t len; /* of text; 0 until the first line */
	char text[32];
};
static __thread struct audit_clock audit_clock;

/* Writes the time now as "2026-12-04T15:00:00.123Z" (UTC, milliseconds)
 * to |ts| and returns its length. */
static size_t audit_time(char ts[AUDIT_TIME_MAX])
{
	struct audit_clock *ck = &audit_clock;
	struct timespec now;
	unsigned ms;

	clock_gettime(CLOCK_REALTIME, &now);
	if (ck->len == 0 || ck->sec != now.tv_sec) {
		rbac_time_format((int64_t)now.tv_sec, ck->text, sizeof(ck->text));
		ck->len = strlen(ck->text);
		ck->sec = now.tv_sec;
	}
	memcpy(ts, ck->text, ck->len + 1);
	/* "...:SSZ" becomes "...:SS.mmmZ"; another length (a year past 9999)
	 * keeps its seconds only, as it always did. */
	if (ck->len != 20)
		return ck->len;
	ms = (unsigned)(now.tv_nsec / 1000000);
	ts[19] = '.';
	ts[20] = (char)('0' + ms / 100);
	ts[21] = (char)('0' + ms / 10 % 10);
	ts[22] = (char)('0' + ms % 10);
	ts[23] = 'Z';
	ts[24] = '\0';
	return 24;
}

/* An audit line could not be written or made: says so, and what the caller answers. */
static int audit_failed(const char *why)
{
	__atomic_store_n(&audit_broken, 1, __ATOMIC_RELAXED);
	PX_LOG(PX_LOG_ERR, "cannot write the audit log (%s)%s", why, audit_fail_closed ? ": refusing the request" : "");
	return audit_fail_closed ? PX_ERR_IO : 0;
}

/* This thread's batch of audit lines (px_audit_jw_later()), written by
 * px_audit_flush(): one write(2) for all the API requests a worker finished
 * in one loop round, instead of one each. */
struct audit_batch {
	char *buf;
	size_t len, cap;
	size_t lines;
};
static __thread struct audit_batch batch;

/* A batch is written when it would grow past this. */
#define PX_AUDIT_BATCH_MAX 65536

/* Writes whole audit lines (|a|, then |line|) under the lock, so that no
 * other thread's line falls between them. False when they could not all be
 * written (the log is then broken: px_audit_failing()). */
static bool audit_put(const char *a, size_t alen, const char *line, size_t len)
{
	const char *part[2] = {a, line};
	size_t plen[2] = {alen, len};
	bool ok;

	pthread_mutex_lock(&log_lock);
	ok = audit_fd >= 0;
	for (int i = 0; i < 2 && ok; i++) {
		size_t off = 0;
		while (off < plen[i]) {
			ssize_t n = write(audit_fd, part[i] + off, plen[i] - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ok = false;
				break;
			}
			off += (size_t)n;
		}
	}
	pthread_mutex_unlock(&log_lock);
	__atomic_store_n(&audit_broken, !ok, __ATOMIC_RELAXED);
	return ok;
}

/* Writes one audit line (|len| bytes, its '\n' included), after the lines
 * this thread holds, so that its events stay in order. */
static int audit_write(const char *line, size_t len)
{
	size_t held = batch.len, lines = batch.lines;

	batch.len = batch.lines = 0;
	if (audit_put(batch.buf, held, line, len))
		return 0;
	if (lines != 0)
		PX_LOG(PX_LOG_ERR, "cannot write the audit log: %zu API request(s) answered before are not in it", lines);
	return audit_failed(audit_fd < 0 ? "not open" : "write failed");
}

void px_audit_flush(void)
{
	size_t held = batch.len, lines = batch.lines;

	if (held == 0)
		return;
	batch.len = batch.lines = 0;
	if (!audit_put(batch.buf, held, NULL, 0))
		PX_LOG(PX_LOG_ERR, "cannot write the audit log: %zu API request(s) already answered are not in it%s", lines,
		       audit_fail_closed ? "; requests are refused until it can be written" : "");
}

void px_audit_thread_end(void)
{
	px_audit_flush();
	free(batch.buf);
	batch.buf = NULL;
	batch.cap = 0;
}

int px_audit(json_t *ev)
{
	char ts[AUDIT_TIME_MAX];
	char *text;
	size_t len;
	int rv;

	audit_time(ts);
	if (json_object_set_new(ev, "time", json_string(ts)) != 0)
		return audit_failed("out of memory");
	text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return audit_failed("out of memory");
	len = strlen(text);
	text[len] = '\n'; /* json_dumps' NUL becomes the line's end */
	rv = audit_write(text, len + 1);
	free(text);
	return rv;
}

/* --- the JSON writer of the audit's hot path -------------------------------- */

/*
 * An API request's audit line has about twenty members and 200 bytes of
 * values; the writer's common path is therefore a bounds check and a
 * memcpy(), inline, with the growth and the limit out of line. Once a
 * writer has failed it may still fill the room it has; the line is dropped
 * whole (px_audit_jw(), px_audit_jw_later()).
 */

/* Grows |w| so that |n| more bytes fit, doubling up to PX_JW_MAX; false
 * (and |w| failed) when they cannot. */
static bool jw_grow(struct px_jw *w, size_t n)
{
	size_t cap = w->cap;
	char *nb;

	if (w->failed)
		return false;
	while (cap - w->len < n) {
		if (cap >= PX_JW_MAX) {
			w->failed = true;
			return false;
		}
		cap *= 2;
	}
	nb = w->buf == w->stack ? malloc(cap) : realloc(w->buf, cap);
	if (nb == NULL) {
		w->failed = true;
		return false;
	}
	if (w->buf == w->stack)
		memcpy(nb, w->stack, w->len);
	w->buf = nb;
	w->cap = cap;
	return true;
}

static inline bool jw_reserve(struct px_jw *w, size_t n)
{
	return n <= w->cap - w->len || jw_grow(w, n);
}

static inline void jw_put(struct px_jw *w, const void *p, size_t n)
{
	if (!jw_reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* The length of the valid UTF-8 sequence at |p| (|n| bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		k = 2;
		c = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		k = 3;
		c = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		k = 4;
		c = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3fu);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return k;
}

/* The bytes a JSON string holds as they are: printable ASCII (DEL too,
 * which JSON allows) but '"' and '\\'. Runs of them are copied whole;
 * every other byte goes through jw_escape(). */
static const bool jw_plain[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x20 */ 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* '"' */
	/* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
	/* 0x60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x80 to 0xff: 0, UTF-8 is checked sequence by sequence */
};

/* Writes the byte at |p| that jw_plain[] refuses (|n| bytes left from it)
 * and returns how many bytes it took: '"' and '\\' escaped, a control
 * character as \u00XX, a valid UTF-8 sequence as it is, and a byte that
 * does not start one as U+FFFD. */
static size_t jw_escape(struct px_jw *w, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = p[0];
	size_t k;

	if (c == '"' || c == '\\') {
		char e[2] = {'\\', (char)c};
		jw_put(w, e, sizeof(e));
		return 1;
	}
	if (c < 0x20) {
		char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
		jw_put(w, e, sizeof(e));
		return 1;
	}
	k = utf8_len(p, n);
	if (k == 0) {
		jw_put(w, "\\ufffd", 6);
		return 1;
	}
	jw_put(w, p, k);
	return k;
}

/* |s| (|n| bytes) as a JSON string. */
static void jw_string(struct px_jw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	/* Every byte makes at least one: room for the plain case at once, and
	 * a value that cannot fit fails here, as it would byte by byte. */
	if (!jw_reserve(w, n + 2))
		return;
	w->buf[w->len++] = '"';
	while (i < n) {
		size_t from = i;
		/* Eight bytes a step while they are all plain: fewer branches. */
		while (i + 8 <= n && (jw_plain[p[i]] & jw_plain[p[i + 1]] & jw_plain[p[i + 2]] & jw_plain[p[i + 3]] &
				      jw_plain[p[i + 4]] & jw_plain[p[i + 5]] & jw_plain[p[i + 6]] & jw_plain[p[i + 7]]))
			i += 8;
		while (i < n && jw_plain[p[i]])
			i++;
		jw_put(w, p + from, i - from);
		if (i < n)
			i += jw_escape(w, p + i, n - i);
	}
	jw_put(w, "\"", 1);
}

/* `"key":`, after a comma unless it is the first member. */
static inline void jw_key(struct px_jw *w, const char *key, size_t klen)
{
	bool comma = w->len > 1;
	char *o;

	if (!jw_reserve(w, comma + klen + 3))
		return;
	o = w->buf + w->len;
	if (comma)
		*o++ = ',';
	*o++ = '"';
	memcpy(o, key, klen);
	o += klen;
	*o++ = '"';
	*o++ = ':';
	w->len = (size_t)(o - w->buf);
}

void px_jw_init(struct px_jw *w)
{
	w->buf = w->stack;
	w->cap = sizeof(w->stack);
	w->stack[0] = '{';
	w->len = 1;
	w->failed = false;
}

void px_jw_put_str(struct px_jw *w, const char *key, size_t klen, const char *v, size_t n)
{
	jw_key(w, key, klen);
	if (v == NULL)
		jw_put(w, "null", 4);
	else
		jw_string(w, v, n);
}

void px_jw_put_int(struct px_jw *w, const char *key, size_t klen, int64_t v)
{
	/* px_dec(), not snprintf(): that was about 3,800 instructions of each
	 * audited request (a dozen numbers per line). */
	char num[1 + PX_DEC_MAX];
	size_t at = 0;

	if (v < 0)
		num[at++] = '-';
	at += px_dec(num + at, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	jw_key(w, key, klen);
	jw_put(w, num, at);
}

void px_jw_free(struct px_jw *w)
{
	if (w->buf != w->stack)
		free(w->buf);
	w->buf = w->stack;
	w->len = 0;
}

/* Adds "time" and closes the line; false (and the failure said) when the
 * line could not be made whole. */
static bool jw_finish(struct px_jw *w)
{
	char ts[AUDIT_TIME_MAX];

	px_jw_strn(w, "time", ts, audit_time(ts));
	jw_put(w, "}\n", 2);
	return !w->failed;
}

static int jw_failed(void)
{
	return audit_failed("an event over its size limit, or out of memory");
}

void px_audit_jw_later(struct px_jw *w)
{
	size_t need;

	if (!jw_finish(w)) {
		(void)jw_failed();
		goto out;
	}
	if (batch.len + w->len > PX_AUDIT_BATCH_MAX)
		px_audit_flush();
	need = batch.len + w->len;
	if (need > batch.cap) {
		size_t cap = batch.cap ? batch.cap : 16384;
		char *nb;
		while (cap < need)
			cap *= 2;
		nb = realloc(batch.buf, cap);
		if (nb == NULL) {
			/* No room to hold it: written now, as px_audit_jw() does. */
			(void)audit_write(w->buf, w->len);
			goto out;
		}
		batch.buf = nb;
		batch.cap = cap;
	}
	memcpy(batch.buf + batch.len, w->buf, w->len);
	batch.len += w->len;
	batch.lines++;
out:
	px_jw_free(w);
}

int px_audit_jw(struct px_jw *w)
{
	int rv;

	rv = jw_finish(w) ? audit_write(w->buf, w->len) : jw_failed();
	px_jw_free(w);
	return rv;
}
