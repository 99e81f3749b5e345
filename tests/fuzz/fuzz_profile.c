/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_profile.c: libFuzzer target for awsgate's profile.json reader (proxy/cli_profile.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_profile"
#include "harness.h"
#include "proxy/cli.h"
#include "proxy/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The reader returns 0, PX_ERR_PROFILE or PX_ERR_TOO_LARGE with a message.
 * A profile it accepts has a valid name, keys of the right shapes, and
 * survives the writer: formatted and read again it gives the same profile.
 * Written only on success: a failure leaves the output as it was.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_cli_profile p, q;
	char err[256] = "";

	memset(&p, 0x5a, sizeof(p));
	int rv = px_cli_profile_parse((const char *)data, size, &p, err, sizeof(err));
	if (rv == PX_ERR_PROFILE || rv == PX_ERR_TOO_LARGE) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			violated("an error without a terminated message");
		if ((unsigned char)p.name[0] != 0x5a)
			violated("output written on failure");
		return 0;
	}
	if (rv != 0)
		violated("an undocumented return code");
	if (px_cli_name_check(p.name) != 0)
		violated("an invalid name accepted");
	if (strlen(p.access_key_id) != PX_CLI_AKID_LEN || strlen(p.secret_access_key) != PX_CLI_SECRET_LEN)
		violated("keys of the wrong length accepted");

	char *doc = NULL;
	size_t len = 0;
	if (px_cli_profile_format(&p, &doc, &len) != 0)
		return 0;
	if (px_cli_profile_parse(doc, len, &q, err, sizeof(err)) != 0)
		violated("the writer's output does not read back");
	if (strcmp(p.name, q.name) != 0 || strcmp(p.gate, q.gate) != 0 || strcmp(p.user, q.user) != 0 ||
	    strcmp(p.app, q.app) != 0 || strcmp(p.role, q.role) != 0 ||
	    strcmp(p.access_key_id, q.access_key_id) != 0 || strcmp(p.secret_access_key, q.secret_access_key) != 0)
		violated("the round trip changed the profile");
	free(doc);
	px_cli_profile_wipe(&p);
	px_cli_profile_wipe(&q);
	return 0;
}
