/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_xfh.c: libFuzzer target for X-Forwarded-Host: documented refusals only, a clean lower-case name on success, stable when parsed again. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_xfh"
#include "tests/fuzz/harness.h"

#include "proxy/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const struct px_refusal *why)
{
	size_t n = strnlen(why->message, sizeof(why->message));
	if (n == 0 || n == sizeof(why->message))
		violated("refusal without a NUL-terminated message");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)why->message[i] < 0x20 || (unsigned char)why->message[i] >= 0x7f)
			violated("a byte outside printable ASCII in a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	char host[FED_MAX_HOST + 1];
	memset(host, 'Z', sizeof(host));
	size_t hl = (size_t)-1;
	struct px_refusal why = {PX_R_NONE, ""};
	int rv = px_forwarded_host_parse(v, size, host, &hl, &why);
	if (rv == 0) {
		if (hl == 0 || hl > FED_MAX_HOST || host[hl] != '\0' || strlen(host) != hl)
			violated("success without a name of 1..253 bytes");
		for (size_t i = 0; i < hl; i++) {
			char c = host[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
				violated("a byte outside [a-z0-9.-] in an accepted name");
		}
		if (host[hl - 1] == '.' || host[0] == '.' || strstr(host, "..") != NULL)
			violated("an empty label in an accepted name");
		char again[FED_MAX_HOST + 1];
		size_t al = 0;
		if (px_forwarded_host_parse(host, hl, again, &al, NULL) != 0 || al != hl || memcmp(again, host, hl) != 0)
			violated("an accepted name does not parse to itself");
		if (memchr(v, '@', size) != NULL || memchr(v, '/', size) != NULL || memchr(v, ',', size) != NULL)
			violated("accepted a value with userinfo, a path or a list");
	} else {
		if (rv != PX_ERR_REFUSED)
			violated("an undocumented error code");
		if (hl != (size_t)-1 || host[0] != 'Z')
			violated("failure wrote an out-parameter");
		switch (why.reason) {
		case PX_R_HOST_MISSING:
		case PX_R_HOST_DUPLICATE:
		case PX_R_HOST_MALFORMED:
		case PX_R_HOST_PORT:
		case PX_R_HOST_IP_LITERAL:
		case PX_R_HOST_IDN:
		case PX_R_HOST_TOO_LONG:
			break;
		default:
			violated("a reason px_forwarded_host_parse() does not document");
		}
		check_message(&why);
	}

	/* The whole decision, with every partition and customer names allowed. */
	struct px_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.aws.partitions = 0x1f;
	cfg.aws.allow_customer_endpoints = size > 0 && (data[0] & 1);
	struct sv4_header h = {"X-Forwarded-Host", 16, v, size};
	struct px_target t;
	int drv = px_target_decide(&cfg, &h, 1, &t, &why);
	if (drv == 0) {
		if (rv != 0)
			violated("the decision accepted what the parser refused");
		if (t.info.kind == FED_HOST_NOT_AWS || t.info.kind == FED_HOST_UNRECOGNISED)
			violated("the decision accepted a name that is not an AWS endpoint");
		if (t.info.kind == FED_HOST_CUSTOMER && !cfg.aws.allow_customer_endpoints)
			violated("the decision accepted a customer's name");
	} else {
		if (drv != PX_ERR_REFUSED)
			violated("an undocumented error code from the decision");
		check_message(&why);
	}
	return 0;
}
