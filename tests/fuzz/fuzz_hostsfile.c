/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_hostsfile.c: libFuzzer target for the resolver's hosts(5) parser: valid tables only, every name found, a table printed back parses to itself. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_hostsfile"
#include "tests/fuzz/harness.h"

#include "proxy/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * px_hosts_parse() returns 0, PX_ERR_CONFIG or PX_ERR_TOO_LARGE with a
 * printable message that starts with the file's name, or PX_ERR_NOMEM. On
 * success the names are sorted, distinct, lower case and valid; each is
 * found with 1 to PX_RESOLVE_MAX_ADDRS distinct IPv4/IPv6 addresses of port
 * 0; and the table written back as a hosts file parses to the same table.
 */

static int valid_name(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > PX_RESOLVE_MAX_NAME || s[len - 1] == '.')
		return 0;
	for (const char *c = s; *c; c++) {
		if (*c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_') &&
		           ++label <= 63) {
			continue;
		} else {
			return 0;
		}
	}
	return 1;
}

static void check_answer(const struct px_resolve_answer *a)
{
	if (a->err != 0 || a->n == 0 || a->n > PX_RESOLVE_MAX_ADDRS)
		violated("a name with no address, too many, or an error");
	for (size_t i = 0; i < a->n; i++) {
		const struct sockaddr_storage *x = &a->addrs[i];
		if (x->ss_family == AF_INET) {
			if (((const struct sockaddr_in *)x)->sin_port != 0)
				violated("a port");
		} else if (x->ss_family == AF_INET6) {
			if (((const struct sockaddr_in6 *)x)->sin6_port != 0)
				violated("a port");
		} else {
			violated("an address neither IPv4 nor IPv6");
		}
		for (size_t j = 0; j < i; j++)
			if (memcmp(&a->addrs[j], x, sizeof(*x)) == 0)
				violated("a duplicate address");
	}
}

/* The table |h| as a hosts file, one line per address. */
static void print_table(const struct px_hosts *h, struct sbuf *b)
{
	struct px_resolve_answer a;
	char t[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < px_hosts_count(h); i++) {
		const char *name = px_hosts_name(h, i);
		if (!px_hosts_lookup(h, name, strlen(name), &a))
			violated("a name not found");
		for (size_t k = 0; k < a.n; k++) {
			const struct sockaddr_storage *x = &a.addrs[k];
			const void *p = x->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)x)->sin_addr
			                                        : (const void *)&((const struct sockaddr_in6 *)x)->sin6_addr;
			if (inet_ntop(x->ss_family, p, t, sizeof(t)) == NULL)
				violated("inet_ntop");
			sb_adds(b, t);
			sb_adds(b, " ");
			sb_adds(b, name);
			sb_adds(b, "\n");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_hosts *h = NULL, *h2 = NULL;
	struct px_resolve_answer a, a2;
	char err[256] = "";
	struct sbuf b;
	int rv = px_hosts_parse((const char *)data, size, "f", &h, err, sizeof(err));

	if (rv == PX_ERR_NOMEM)
		return 0;
	if (rv == PX_ERR_CONFIG || rv == PX_ERR_TOO_LARGE) {
		if (h != NULL)
			violated("a table with an error");
		if (strncmp(err, "f:", 2) != 0 || memchr(err, '\0', sizeof(err)) == NULL)
			violated("a message without the file's name, or not terminated");
		for (const char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				violated("a message with a byte that is not printable");
		return 0;
	}
	if (rv != 0 || h == NULL)
		violated("an undocumented return code");
	size_t n = px_hosts_count(h);
	if (n > PX_HOSTS_MAX_NAMES)
		violated("over PX_HOSTS_MAX_NAMES");
	for (size_t i = 0; i < n; i++) {
		const char *name = px_hosts_name(h, i);
		if (!valid_name(name))
			violated("an invalid or upper-case name");
		if (i > 0 && strcmp(px_hosts_name(h, i - 1), name) >= 0)
			violated("names not sorted or not distinct");
		if (!px_hosts_lookup(h, name, strlen(name), &a))
			violated("a name not found");
		check_answer(&a);
	}
	if (px_hosts_name(h, n) != NULL)
		violated("a name past the end");

	sb_init(&b);
	print_table(h, &b);
	if (px_hosts_parse(b.p, b.len, "g", &h2, err, sizeof(err)) == 0) {
		if (px_hosts_count(h2) != n)
			violated("the printed table has other names");
		for (size_t i = 0; i < n; i++) {
			const char *name = px_hosts_name(h, i);
			if (strcmp(px_hosts_name(h2, i), name) != 0 || !px_hosts_lookup(h, name, strlen(name), &a) ||
			    !px_hosts_lookup(h2, name, strlen(name), &a2) || a.n != a2.n ||
			    memcmp(a.addrs, a2.addrs, a.n * sizeof(a.addrs[0])) != 0)
				violated("the printed table parses to another table");
		}
	} else if (b.len <= PX_HOSTS_MAX_BYTES) {
		violated("the printed table does not parse");
	}
	px_hosts_del(h2);
	px_hosts_del(h);
	sb_free(&b);
	return 0;
}
