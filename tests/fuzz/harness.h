/* SPDX-License-Identifier: Apache-2.0 */
/* harness.h: helpers the fuzz harnesses share: a growable string, byte helpers, the invariant check. */
#ifndef AWSGATE_FUZZ_HARNESS_H
#define AWSGATE_FUZZ_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_NAME
#error "define FUZZ_NAME (the harness's name) before including harness.h"
#endif

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static inline _Noreturn void violated(const char *what)
{
	fprintf(stderr, FUZZ_NAME ": invariant violated: %s\n", what);
	abort();
}

static const char *const query_auth_params[] = {
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};
static const char *const payload_keywords[] = {
	"UNSIGNED-PAYLOAD",
	"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
	"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
	"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
	"STREAMING-AWS4-HMAC-SHA256-EVENTS",
};

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

static inline void sb_add(struct sbuf *b, const void *p, size_t n)
{
	/* Always allocates, so that b->p is never NULL once added to. */
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (np == NULL)
			violated("harness out of memory");
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void sb_adds(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static inline void sb_addc(struct sbuf *b, char c)
{
	sb_add(b, &c, 1);
}

/* Starts |b| empty with its buffer allocated: no arithmetic on NULL. */
static inline void sb_init(struct sbuf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	sb_add(b, "", 0);
}

static inline void sb_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

static inline int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static inline int name_is(const char *name, size_t len, const char *lit)
{
	if (strlen(lit) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (lower(name[i]) != lit[i])
			return 0;
	return 1;
}

static inline char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		violated("harness out of memory");
	if (n > 0)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

#endif
