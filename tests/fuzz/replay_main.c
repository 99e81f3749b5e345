/* SPDX-License-Identifier: Apache-2.0 */
/* replay_main.c: main() without libFuzzer: runs each corpus file through LLVMFuzzerTestOneInput(). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bounds: a corpus file larger than this is a mistake, not an input, and a
 * deeper tree is a symbolic link loop. */
#define REPLAY_MAX_FILE (128u * 1024 * 1024)
#define REPLAY_MAX_DEPTH 32

/* Reads all of |path| into a heap block of exactly its size (so that ASan
 * sees any read past the end), stores it in |*datap| and |*lenp|.
 * Returns 0, or -1 after printing why. */
static int read_file(const char *path, uint8_t **datap, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= REPLAY_MAX_FILE) {
				fprintf(stderr, "replay: %s: larger than %u bytes\n", path, REPLAY_MAX_FILE);
				goto fail;
			}
			size_t ncap = cap ? 2 * cap : 4096;
			uint8_t *n = realloc(data, ncap);
			if (n == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				goto fail;
			}
			data = n;
			cap = ncap;
		}
		size_t got = fread(data + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto fail;
	}
	fclose(f);
	/* Trim to the exact size; keep one byte for an empty file so the
	 * pointer is never NULL. */
	uint8_t *exact = malloc(len > 0 ? len : 1);
	if (exact == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		free(data);
		return -1;
	}
	if (len > 0)
		memcpy(exact, data, len);
	free(data);
	*datap = exact;
	*lenp = len;
	return 0;
fail:
	free(data);
	fclose(f);
	return -1;
}

static int not_dotfile(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Replays |path|: a file, or a directory walked recursively in name order
 * (dotfiles skipped). Adds the inputs run to |*count|. Returns 0 or -1. */
static int replay(const char *path, unsigned depth, size_t *count)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		uint8_t *data;
		size_t len;
		if (read_file(path, &data, &len) != 0)
			return -1;
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		(*count)++;
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "replay: %s: neither a regular file nor a directory\n", path);
		return -1;
	}
	if (depth >= REPLAY_MAX_DEPTH) {
		fprintf(stderr, "replay: %s: directories nested deeper than %u\n", path, REPLAY_MAX_DEPTH);
		return -1;
	}
	struct dirent **names;
	int n = scandir(path, &names, not_dotfile, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rv = 0;
	for (int i = 0; i < n; i++) {
		if (rv == 0) {
			size_t plen = strlen(path), nlen = strlen(names[i]->d_name);
			char *child = malloc(plen + 1 + nlen + 1);
			if (child == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				rv = -1;
			} else {
				memcpy(child, path, plen);
				child[plen] = '/';
				memcpy(child + plen + 1, names[i]->d_name, nlen + 1);
				rv = replay(child, depth + 1, count);
				free(child);
			}
		}
		free(names[i]);
	}
	free(names);
	return rv;
}

int main(int argc, char **argv)
{
	size_t count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIRECTORY...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (replay(argv[i], 0, &count) != 0)
			return 2;
	printf("replayed %zu inputs\n", count);
	return 0;
}
