/* SPDX-License-Identifier: Apache-2.0 */
/* slowdns_shim.c: an LD_PRELOAD library whose getaddrinfo() is slow for *.slow.test and fails for *.nxdomain.test, for tests of who waits on a lookup. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * A name ending in ".slow.test" sleeps AWSGATE_TEST_SLOW_DNS_MS milliseconds
 * (default 3000), as a VPN's resolver timing out would, then answers
 * 127.0.0.1; one ending in ".nxdomain.test" fails at once with EAI_NONAME,
 * as an unknown name does, without asking any DNS server. Every other name
 * goes to the real getaddrinfo(). With AWSGATE_TEST_SLOW_DNS_MARK set, each
 * slow lookup appends "start NAME" to that file before it sleeps and "end
 * NAME" after, so that a test knows when the lookup was under way.
 */
static void mark(const char *what, const char *node)
{
	const char *path = getenv("AWSGATE_TEST_SLOW_DNS_MARK");
	FILE *f;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "%s %s\n", what, node);
	fclose(f);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	if (n > 0 && s[n - 1] == '.')
		n--; /* a trailing dot */
	return n > k && strncasecmp(s + n - k, suffix, k) == 0;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	void *sym = dlsym(RTLD_NEXT, "getaddrinfo");

	if (sym == NULL) {
		fprintf(stderr, "slowdns_shim: getaddrinfo not found: %s\n", dlerror());
		abort();
	}
	*(void **)&real = sym;
	if (node != NULL && ends_with(node, ".nxdomain.test"))
		return EAI_NONAME;
	if (node != NULL && ends_with(node, ".slow.test")) {
		const char *v = getenv("AWSGATE_TEST_SLOW_DNS_MS");
		long ms = v != NULL ? strtol(v, NULL, 10) : 3000;
		struct timespec ts;

		mark("start", node);

		if (ms < 0 || ms > 600000)
			ms = 3000;
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) != 0)
			;
		mark("end", node);
		return real("127.0.0.1", service, hints, res);
	}
	return real(node, service, hints, res);
}
