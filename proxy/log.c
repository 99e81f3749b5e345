/* SPDX-License-Identifier: Apache-2.0 */
/* log.c: awsgated's error log (levels, reopened on SIGUSR1) and audit log (one JSON object per line, fail-closed). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
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

int px_audit(json_t *ev)
{
	char ts[40];
	struct timeval tv;
	char *text;
	size_t len;
	ssize_t n = -1;

	gettimeofday(&tv, NULL);
	rbac_time_format((int64_t)tv.tv_sec, ts, sizeof(ts));
	/* "2026-12-04T15:00:00Z" -> "2026-12-04T15:00:00.123Z" */
	if (strlen(ts) == 20)
		snprintf(ts + 19, sizeof(ts) - 19, ".%03dZ", (int)(tv.tv_usec / 1000));
	if (json_object_set_new(ev, "time", json_string(ts)) != 0)
		return audit_fail_closed ? PX_ERR_IO : 0;
	text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL) {
		len = strlen(text);
		text[len] = '\n'; /* json_dumps' NUL becomes the line's end */
		pthread_mutex_lock(&log_lock);
		if (audit_fd >= 0)
			n = write(audit_fd, text, len + 1);
		pthread_mutex_unlock(&log_lock);
		free(text);
		if (n == (ssize_t)(len + 1)) {
			__atomic_store_n(&audit_broken, 0, __ATOMIC_RELAXED);
			return 0;
		}
	}
	__atomic_store_n(&audit_broken, 1, __ATOMIC_RELAXED);
	PX_LOG(PX_LOG_ERR, "cannot write the audit log%s", audit_fail_closed ? ": refusing the request" : "");
	return audit_fail_closed ? PX_ERR_IO : 0;
}
