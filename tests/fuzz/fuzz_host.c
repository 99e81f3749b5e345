/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_host.c: libFuzzer target for host classification and session names: no DNS name is misread, no name leaves STS's rule. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_host"
#include "tests/fuzz/harness.h"

#include "federation/federation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ends_with_label(const char *h, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);
	if (n < sl)
		return false;
	for (size_t i = 0; i < sl; i++)
		if (lower(h[n - sl + i]) != suffix[i])
			return false;
	return n == sl || h[n - sl - 1] == '.';
}

static void check_host(const char *h, size_t n)
{
	struct fed_host_info o, poison;
	memset(&o, 0x5a, sizeof(o));
	memset(&poison, 0x5a, sizeof(poison));
	int rv = fed_host_classify(h, n, &o);
	if (rv != 0) {
		if (rv != FED_ERR_INVALID)
			violated("undocumented error");
		if (memcmp(&o, &poison, sizeof(o)) != 0)
			violated("out written on failure");
		return;
	}
	if (n == 0 || n > FED_MAX_HOST || h[n - 1] == '.' || h[0] == '.')
		violated("accepted an empty, over-long or dotted-end name");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			violated("accepted a byte outside [A-Za-z0-9.-]");
	}
	bool under = ends_with_label(h, n, "amazonaws.com") || ends_with_label(h, n, "amazonaws.com.cn") ||
	             ends_with_label(h, n, "api.aws") || ends_with_label(h, n, "api.amazonwebservices.com.cn") ||
	             ends_with_label(h, n, "c2s.ic.gov") || ends_with_label(h, n, "sc2s.sgov.gov") ||
	             ends_with_label(h, n, "on.aws");
	if ((o.kind == FED_HOST_NOT_AWS) == under)
		violated("AWS-ness disagrees with a whole-label suffix check");
	if ((o.kind == FED_HOST_NOT_AWS) != (o.partition == NULL))
		violated("partition set for a non-AWS name, or missing for an AWS one");
	if (memchr(o.service, '\0', sizeof(o.service)) == NULL || memchr(o.region, '\0', sizeof(o.region)) == NULL)
		violated("service or region not terminated");
	if ((o.kind == FED_HOST_CUSTOMER) != (o.customer != NULL))
		violated("customer label and kind disagree");
	if (o.kind == FED_HOST_SERVICE && o.service[0] == '\0')
		violated("a service endpoint without a service");
	if (o.kind == FED_HOST_SERVICE && o.region[0] != '\0') {
		const struct fed_partition *p;
		if (fed_partition_for_region(o.region, &p) != 0)
			violated("a service endpoint with a malformed region");
	}
}

static void check_name(const char *u, size_t n)
{
	char user[FED_SESSION_MAX_USER + 2];
	if (n > FED_SESSION_MAX_USER + 1)
		n = FED_SESSION_MAX_USER + 1;
	memcpy(user, u, n);
	user[n] = '\0';
	char dst[FED_SESSION_NAME_MAX + 1];
	memset(dst, 'Q', sizeof(dst));
	int rv = fed_session_name(user, dst);
	size_t len = strlen(user);
	if (rv != 0) {
		if (rv != FED_ERR_INVALID || (len > 0 && len <= FED_SESSION_MAX_USER))
			violated("a usable user name refused");
		return;
	}
	size_t dl = strnlen(dst, sizeof(dst));
	if (dl < FED_SESSION_NAME_MIN || dl > FED_SESSION_NAME_MAX)
		violated("session name length outside 2..64");
	for (size_t i = 0; i < dl; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-", dst[i]))
			violated("session name outside [\\w+=,.@-]");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_host((const char *)data, size);
	check_name((const char *)data, size);
	return 0;
}
