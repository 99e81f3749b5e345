/* SPDX-License-Identifier: Apache-2.0 */
/* file.c: reading whole files with a size limit; writing files atomically, never overwriting by accident. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "proxy.h"

int px_file_read(const char *path, size_t max, char **data, size_t *len, char *errbuf, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rv = 0;

	if (f == NULL) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		return PX_ERR_IO;
	}
	for (;;) {
		if (cap - n < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= n) {
				rv = PX_ERR_TOO_LARGE;
				goto out;
			}
			char *nb = realloc(buf, ncap + 1);
			if (nb == NULL) {
				rv = PX_ERR_NOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > max) {
			rv = PX_ERR_TOO_LARGE;
			goto out;
		}
		if (got == 0) {
			if (ferror(f)) {
				snprintf(errbuf, errlen, "%s", strerror(errno));
				rv = PX_ERR_IO;
			}
			break;
		}
	}
out:
	if (f != stdin)
		fclose(f);
	if (rv != 0) {
		free(buf);
		return rv;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return PX_ERR_NOMEM;
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* Writes all of |data| to |fd|, through short writes and signals. */
static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Syncs the directory that holds |path|, so that a new name survives a
 * crash as well as the data does. Errors are ignored: some file systems
 * cannot sync a directory, and the file itself is already in place. */
static void sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int px_file_write(const char *path, const void *data, size_t len, unsigned mode, unsigned flags, char *errbuf,
                  size_t errlen)
{
	static const char suffix[] = ".tmp.XXXXXX";
	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof(suffix));
	int fd, rv = 0;

	if (tmp == NULL)
		return PX_ERR_NOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, suffix, sizeof(suffix));
	/* mkstemp() creates the file O_EXCL with mode 0600: a key is never
	 * readable by others, whatever the umask. */
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(errbuf, errlen, "cannot create a file beside it: %s", strerror(errno));
		free(tmp);
		return PX_ERR_IO;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		close(fd);
		rv = PX_ERR_IO;
		goto out;
	}
	if (close(fd) != 0) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		rv = PX_ERR_IO;
		goto out;
	}
	if (flags & PX_FILE_REPLACE) {
		if (rename(tmp, path) != 0) {
			snprintf(errbuf, errlen, "%s", strerror(errno));
			rv = PX_ERR_IO;
		}
	} else if (link(tmp, path) != 0) {
		/* link() never replaces: an existing |path| is an answer, not
		 * a race lost to whoever created it after a check. */
		if (errno == EEXIST) {
			snprintf(errbuf, errlen, "it exists");
			rv = PX_ERR_EXISTS;
		} else {
			snprintf(errbuf, errlen, "%s", strerror(errno));
			rv = PX_ERR_IO;
		}
	}
	if (rv == 0)
		sync_parent(path);
out:
	/* After rename() the temporary name is gone already; after link() or
	 * a failure, it is removed here. */
	if (!(rv == 0 && (flags & PX_FILE_REPLACE)))
		(void)unlink(tmp);
	free(tmp);
	return rv;
}

int px_file_read_secret(const char *path, size_t max, char **data, size_t *len, char *errbuf, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int rv = 0;

	if (fd < 0) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		return PX_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		close(fd);
		return PX_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "not a regular file");
		close(fd);
		return PX_ERR_IO;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return PX_ERR_TOO_LARGE;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return PX_ERR_NOMEM;
	}
	for (;;) {
		ssize_t got = read(fd, buf + n, max + 1 - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(errbuf, errlen, "%s", strerror(errno));
			rv = PX_ERR_IO;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			rv = PX_ERR_TOO_LARGE;
			break;
		}
	}
	close(fd);
	if (rv != 0) {
		/* Whatever was read is as secret as the whole. */
		OPENSSL_cleanse(buf, n);
		free(buf);
		return rv;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}
