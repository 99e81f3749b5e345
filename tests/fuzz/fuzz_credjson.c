/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_credjson.c: libFuzzer target for the credential_process, ECS and IMDS credential documents. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "federation/creds_int.h"
#include "federation/federation_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The first byte picks the kind (process, ECS, IMDS: its value modulo 3),
 * the rest is the document, read at a fixed "now". The parser returns 0,
 * FED_ERR_PARSE, FED_ERR_TOO_LARGE or FED_ERR_EXPIRED (with a message),
 * or FED_ERR_NOMEM. On success the key id and secret are non-empty, the
 * expiry is 0 or after now, ECS and IMDS answers have a session token and
 * an expiry, and only a process answer without a token is long-term. The
 * same input also goes through the ISO 8601 parser: never before 1970.
 */

#define NOW INT64_C(1796392800)

static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_credjson: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum fed_credjson_kind kind = (enum fed_credjson_kind)(data[0] % 3);
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;
	struct fed_creds c;
	char why[256] = "";
	int rv = fed_credjson_parse(kind, doc, len, NOW, &c, why, sizeof(why));

	if (rv == FED_ERR_PARSE || rv == FED_ERR_TOO_LARGE || rv == FED_ERR_EXPIRED) {
		if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL)
			violated("an error without a terminated message");
	} else if (rv == 0) {
		if (c.access_key_id == NULL || c.access_key_id[0] == '\0' || c.secret_access_key == NULL ||
		    c.secret_access_key[0] == '\0')
			violated("empty credentials");
		if (c.expiration != 0 && c.expiration <= NOW)
			violated("expired credentials accepted");
		if (kind != FED_CREDJSON_PROCESS && (c.session_token == NULL || c.expiration == 0))
			violated("ECS/IMDS credentials without a token or an expiry");
		if (c.long_term != (kind == FED_CREDJSON_PROCESS && c.session_token == NULL))
			violated("long_term wrong");
		fed_creds_free(&c);
	} else if (rv != FED_ERR_NOMEM) {
		violated("an undocumented return code");
	}

	char *s = malloc(len + 1);
	if (s == NULL)
		return 0;
	memcpy(s, doc, len);
	s[len] = '\0';
	int64_t t;
	if (fed_iso8601_parse(s, len, &t) == 0) {
		if (t < 0)
			violated("a time before 1970");
	}
	free(s);
	return 0;
}
