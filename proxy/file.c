/* SPDX-License-Identifier: Apache-2.0 */
/* file.c: reading whole files with a size limit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
