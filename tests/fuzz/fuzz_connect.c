/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_connect.c: libFuzzer target for the local proxy's CONNECT target parser, routing and NO_PROXY matching. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FUZZ_NAME "fuzz_connect"
#include "tests/fuzz/harness.h"

#include "proxy/lproxy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_lproxy_target t, t2, poison;
	char again[PX_LPROXY_MAX_TARGET + 16], list[256];
	int rv, n;

	memset(&t, 0x5a, sizeof(t));
	memset(&poison, 0x5a, sizeof(poison));
	rv = px_lproxy_target_parse((const char *)data, size, &t);
	if (rv != 0) {
		if (rv != PX_ERR_INVALID)
			violated("undocumented error");
		if (memcmp(&t, &poison, sizeof(t)) != 0)
			violated("out written on failure");
		return 0;
	}
	if (t.hostlen == 0 || t.hostlen > FED_MAX_HOST || strlen(t.host) != t.hostlen)
		violated("host empty, too long or not terminated at hostlen");
	if (t.port == 0)
		violated("port 0 accepted");
	for (size_t i = 0; i < t.hostlen; i++) {
		unsigned char c = (unsigned char)t.host[i];
		if (c >= 'A' && c <= 'Z')
			violated("host not in lower case");
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		      (t.kind == PX_LP_IPV6 && c == ':')))
			violated("a byte outside the host alphabet");
	}
	if (memchr(data, '@', size) != NULL || memchr(data, '/', size) != NULL || memchr(data, ' ', size) != NULL)
		violated("userinfo, path or space accepted");
	/* The parsed form parses to itself. */
	n = snprintf(again, sizeof(again), t.kind == PX_LP_IPV6 ? "[%s]:%u" : "%s:%u", t.host, (unsigned)t.port);
	if (n < 0 || (size_t)n >= sizeof(again))
		violated("parsed form does not fit");
	if (px_lproxy_target_parse(again, (size_t)n, &t2) != 0 || strcmp(t2.host, t.host) != 0 || t2.port != t.port ||
	    t2.kind != t.kind)
		violated("the parsed form does not parse to itself");
	if (px_lproxy_route(&t) != px_lproxy_route(&t2))
		violated("routing differs for the same target");
	if (t.kind != PX_LP_NAME && px_lproxy_route(&t) != PX_LP_OTHER)
		violated("an IP literal intercepted");
	/* NO_PROXY: the input as a list, matched against the parsed host. */
	n = snprintf(list, sizeof(list), "%.*s", (int)(size < 200 ? size : 200), (const char *)data);
	(void)px_lproxy_no_proxy_match(list, t.host, t.hostlen);
	if (!px_lproxy_no_proxy_match(t.host, t.host, t.hostlen))
		violated("a host is not matched by itself in NO_PROXY");
	return 0;
}
