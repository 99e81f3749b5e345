/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_presign.c: libFuzzer target for the presign URL check: only https AWS endpoints pass, and what passes is what the URL says. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_presign"
#include "tests/fuzz/harness.h"

#include "proxy/presign.h"
#include "proxy/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != b[i])
			return false;
	return true;
}

/* The first byte chooses the options: bit 0 allow customer names, bit 1
 * service "rds-db", bit 2 region "us-east-1"; the rest is the URL. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_presign_target out, poison;
	struct px_deny why;
	unsigned flags;
	char *url;
	int rv;

	if (size < 1)
		return 0;
	flags = data[0];
	url = malloc(size);
	if (url == NULL)
		violated("harness out of memory");
	memcpy(url, data + 1, size - 1);
	url[size - 1] = '\0';
	memset(&out, 0x5a, sizeof(out));
	memset(&poison, 0x5a, sizeof(poison));
	memset(&why, 0, sizeof(why));
	rv = px_presign_target(url, flags & 2 ? "rds-db" : NULL, flags & 4 ? "us-east-1" : NULL, flags & 1,
			       PX_PARTITION_AWS | PX_PARTITION_AWS_CN, &out, &why);
	if (rv != 0) {
		if (rv != -1 || (why.status != 400 && why.status != 403) || why.reason == NULL ||
		    memchr(why.msg, '\0', sizeof(why.msg)) == NULL)
			violated("a refusal without status, reason or message");
		if (memcmp(&out, &poison, sizeof(out)) != 0)
			violated("out written on failure");
		free(url);
		return 0;
	}
	size_t ulen = strlen(url), hlen = strlen(out.host);
	struct fed_host_info hi;
	if (strncmp(url, "https://", 8) != 0 || strchr(url, '#') != NULL || strchr(url, '"') != NULL ||
	    strchr(url, '\\') != NULL)
		violated("accepted a URL that is not plain https");
	/* '@' may be in the path, never in the authority (userinfo). */
	if (memchr(url + 8, '@', strcspn(url + 8, "/?")) != NULL)
		violated("accepted userinfo");
	for (size_t i = 0; i < ulen; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			violated("accepted a control, space or non-ASCII byte");
	if (hlen == 0 || !same_ci(url + 8, out.host, hlen))
		violated("the host is not the URL's");
	for (size_t i = 0; i < hlen; i++)
		if (out.host[i] >= 'A' && out.host[i] <= 'Z')
			violated("the host is not lower case");
	if (strncmp(out.hostport, out.host, hlen) != 0 ||
	    (out.hostport[hlen] != '\0' && (out.hostport[hlen] != ':' || !(flags & 2))))
		violated("a port other than 443 without an RDS token");
	if (fed_host_classify(out.host, hlen, &hi) != 0 || hi.kind == FED_HOST_NOT_AWS ||
	    hi.kind == FED_HOST_UNRECOGNISED || (hi.kind == FED_HOST_CUSTOMER && !(flags & 3)))
		violated("accepted a host that is not an AWS service endpoint");
	if (out.pathlen == 0 || out.path[0] != '/' || memchr(out.path, '?', out.pathlen) != NULL)
		violated("a path that is not one");
	if (out.query[0] != '\0' && (out.query < url || out.query >= url + ulen || out.query[-1] != '?'))
		violated("a query that is not the URL's");
	if (out.service[0] == '\0' || out.region[0] == '\0')
		violated("an empty signing scope");
	free(url);
	return 0;
}
