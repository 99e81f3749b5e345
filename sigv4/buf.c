/* SPDX-License-Identifier: Apache-2.0 */
/* buf.c: bounded growable buffers for sigv4. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sv4_int.h"

void sv4_buf_init(struct sv4_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void sv4_buf_free(struct sv4_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int sv4_buf_grow(struct sv4_buf *b, size_t more)
{
	if (more > b->max || b->len > b->max - more)
		return SV4_ERR_TOO_LARGE;
	size_t need = b->len + more;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max)
		cap = b->max;
	/* Not realloc: the old block may hold secrets and must be wiped. */
	char *p = malloc(cap);
	if (p == NULL)
		return SV4_ERR_NOMEM;
	if (b->data != NULL) {
		if (b->len > 0)
			memcpy(p, b->data, b->len);
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int sv4_buf_add(struct sv4_buf *b, const void *p, size_t n)
{
	int rv = sv4_buf_reserve(b, n);
	if (rv != 0)
		return rv;
	sv4_buf_put(b, p, n);
	return 0;
}
