/* SPDX-License-Identifier: Apache-2.0 */
/* hostsfile.c: the hosts(5) file parser of the resolver: an immutable name-to-addresses table. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

/* One (name, address) pair as read, before names are merged. */
struct pair {
	char *name;
	size_t seq; /* order in the file, so that merging keeps it */
	uint32_t line;
	struct sockaddr_storage addr;
};

struct hosts_name {
	char *name;
	size_t n;
	struct sockaddr_storage *addrs;
};

struct px_hosts {
	struct hosts_name *names; /* sorted by name */
	size_t nnames;
};

static void fail(char *errbuf, size_t errsize, const char *file, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void fail(char *errbuf, size_t errsize, const char *file, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errsize == 0)
		return;
	if (line)
		n = snprintf(errbuf, errsize, "%s:%u: ", file, (unsigned)line);
	else
		n = snprintf(errbuf, errsize, "%s: ", file);
	if (n < 0 || (size_t)n >= errsize)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf + n, errsize - (size_t)n, fmt, ap);
	va_end(ap);
	/* The message quotes the file, which may hold anything: keep it
	 * printable for the terminal and the log. */
	for (char *p = errbuf + n; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

/* Whether |s| (|len| bytes) is a DNS name as px_hosts_parse() allows; the
 * trailing dot is already gone. */
static int name_ok(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > PX_RESOLVE_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* The address |s| (|len| bytes) into |ss| (port 0); 0 if it is none. */
static int addr_parse(const char *s, size_t len, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 1;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 1;
	}
	return 0;
}

static int addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((const struct sockaddr_in *)b)->sin_addr,
		              sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
	              sizeof(struct in6_addr)) == 0;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void px_hosts_del(struct px_hosts *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->nnames; i++) {
		free(h->names[i].name);
		free(h->names[i].addrs);
	}
	free(h->names);
	free(h);
}

/* printf arguments for "%.*s%s": at most 64 bytes of a word, "..." marking a cut. */
#define QUOTE(w, wlen) (int)((wlen) > 64 ? 60 : (wlen)), (w), (wlen) > 64 ? "..." : ""

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r'; /* CR: a file written on Windows */
}

/* Reads the lines into |*pairs| (|*npairs|, capacity |*cap|). */
static int read_pairs(const char *text, size_t len, const char *file, struct pair **pairs, size_t *npairs,
                      size_t *cap, char *errbuf, size_t errsize)
{
	uint32_t lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		struct sockaddr_storage addr;
		int have_addr = 0, nnames = 0;

		pos += llen + (nl != NULL);
		lineno++;
		if (memchr(line, '\0', llen) != NULL) {
			fail(errbuf, errsize, file, lineno, "a NUL byte: this is not a text file");
			return PX_ERR_CONFIG;
		}
		const char *hash = memchr(line, '#', llen);
		if (hash != NULL)
			llen = (size_t)(hash - line);
		for (size_t i = 0; i < llen;) {
			if (is_space(line[i])) {
				i++;
				continue;
			}
			size_t start = i;
			while (i < llen && !is_space(line[i]))
				i++;
			const char *w = line + start;
			size_t wlen = i - start;
			if (!have_addr) {
				if (!addr_parse(w, wlen, &addr)) {
					fail(errbuf, errsize, file, lineno,
					     "\"%.*s%s\" is not an IPv4 or IPv6 address (a line is: address, then names)",
					     QUOTE(w, wlen));
					return PX_ERR_CONFIG;
				}
				have_addr = 1;
				continue;
			}
			if (wlen > 1 && w[wlen - 1] == '.')
				wlen--;
			if (!name_ok(w, wlen)) {
				fail(errbuf, errsize, file, lineno,
				     "\"%.*s%s\" is not a host name (letters, digits, '-', '_'; labels of 1-63 bytes, "
				     "253 in all)",
				     QUOTE(w, wlen));
				return PX_ERR_CONFIG;
			}
			if (*npairs == *cap) {
				if (*cap >= 4 * PX_HOSTS_MAX_NAMES) {
					fail(errbuf, errsize, file, lineno, "over %d names and addresses",
					     4 * PX_HOSTS_MAX_NAMES);
					return PX_ERR_TOO_LARGE;
				}
				size_t ncap = *cap ? *cap * 2 : 64;
				struct pair *np = realloc(*pairs, ncap * sizeof(*np));
				if (np == NULL)
					return PX_ERR_NOMEM;
				*pairs = np;
				*cap = ncap;
			}
			struct pair *p = &(*pairs)[*npairs];
			if ((p->name = malloc(wlen + 1)) == NULL)
				return PX_ERR_NOMEM;
			for (size_t k = 0; k < wlen; k++)
				p->name[k] = (w[k] >= 'A' && w[k] <= 'Z') ? (char)(w[k] - 'A' + 'a') : w[k];
			p->name[wlen] = '\0';
			p->seq = *npairs;
			p->line = lineno;
			p->addr = addr;
			(*npairs)++;
			nnames++;
		}
		if (have_addr && nnames == 0) {
			fail(errbuf, errsize, file, lineno, "an address without a name");
			return PX_ERR_CONFIG;
		}
	}
	return 0;
}

/* Merges the sorted |pairs| into |h|'s names. */
static int merge(struct px_hosts *h, const struct pair *pairs, size_t npairs, const char *file, char *errbuf,
                 size_t errsize)
{
	for (size_t i = 0; i < npairs;) {
		size_t j = i;
		while (j < npairs && strcmp(pairs[j].name, pairs[i].name) == 0)
			j++;
		if (h->nnames == PX_HOSTS_MAX_NAMES) {
			fail(errbuf, errsize, file, 0, "over %d names", PX_HOSTS_MAX_NAMES);
			return PX_ERR_TOO_LARGE;
		}
		struct hosts_name *hn = &h->names[h->nnames];
		hn->name = NULL;
		hn->n = 0;
		if ((hn->addrs = calloc(PX_RESOLVE_MAX_ADDRS, sizeof(*hn->addrs))) == NULL)
			return PX_ERR_NOMEM;
		h->nnames++;
		for (size_t k = i; k < j; k++) {
			size_t d = 0;
			while (d < hn->n && !addr_equal(&hn->addrs[d], &pairs[k].addr))
				d++;
			if (d < hn->n)
				continue;
			if (hn->n == PX_RESOLVE_MAX_ADDRS) {
				fail(errbuf, errsize, file, pairs[k].line, "over %d addresses for %s",
				     PX_RESOLVE_MAX_ADDRS, pairs[k].name);
				return PX_ERR_CONFIG;
			}
			hn->addrs[hn->n++] = pairs[k].addr;
		}
		if ((hn->name = strdup(pairs[i].name)) == NULL)
			return PX_ERR_NOMEM;
		i = j;
	}
	return 0;
}

int px_hosts_parse(const char *text, size_t len, const char *name, struct px_hosts **out, char *errbuf,
                   size_t errsize)
{
	struct pair *pairs = NULL;
	size_t npairs = 0, cap = 0;
	struct px_hosts *h = NULL;
	int rv;

	if (len > PX_HOSTS_MAX_BYTES) {
		fail(errbuf, errsize, name, 0, "over %d bytes", PX_HOSTS_MAX_BYTES);
		return PX_ERR_TOO_LARGE;
	}
	if ((rv = read_pairs(text, len, name, &pairs, &npairs, &cap, errbuf, errsize)) != 0)
		goto out;
	if (npairs > 0)
		qsort(pairs, npairs, sizeof(*pairs), pair_cmp);
	rv = PX_ERR_NOMEM;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	if (npairs > 0 && (h->names = calloc(npairs < PX_HOSTS_MAX_NAMES ? npairs : PX_HOSTS_MAX_NAMES,
	                                     sizeof(*h->names))) == NULL)
		goto out;
	if ((rv = merge(h, pairs, npairs, name, errbuf, errsize)) != 0)
		goto out;
	*out = h;
	h = NULL;
out:
	if (rv == PX_ERR_NOMEM)
		snprintf(errbuf, errsize, "%s: out of memory", name);
	px_hosts_del(h);
	for (size_t i = 0; i < npairs; i++)
		free(pairs[i].name);
	free(pairs);
	return rv;
}

static int name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct hosts_name *)elem)->name);
}

int px_hosts_lookup(const struct px_hosts *h, const char *host, size_t len, struct px_resolve_answer *a)
{
	char key[PX_RESOLVE_MAX_NAME + 1];

	if (h == NULL || h->nnames == 0 || len > PX_RESOLVE_MAX_NAME)
		return 0;
	memcpy(key, host, len);
	key[len] = '\0';
	const struct hosts_name *hn = bsearch(key, h->names, h->nnames, sizeof(*h->names), name_cmp);
	if (hn == NULL)
		return 0;
	a->err = 0;
	a->detail[0] = '\0';
	memcpy(a->addrs, hn->addrs, hn->n * sizeof(*hn->addrs));
	a->n = hn->n;
	return 1;
}

size_t px_hosts_count(const struct px_hosts *h)
{
	return h ? h->nnames : 0;
}

const char *px_hosts_name(const struct px_hosts *h, size_t i)
{
	return h && i < h->nnames ? h->names[i].name : NULL;
}
