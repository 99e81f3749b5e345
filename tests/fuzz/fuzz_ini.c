/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_ini.c: libFuzzer target for the shared config/credentials file parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "federation/creds_int.h"
#include "federation/federation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input is a whole file. fed_ini_parse() returns 0, FED_ERR_CONFIG or
 * FED_ERR_TOO_LARGE with a line and a message, or FED_ERR_NOMEM. On success
 * every section can be found by its name, every key is lower case, without
 * surrounding spaces, and found again by fed_ini_get() with its value,
 * which has no surrounding spaces and no newline.
 */

static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_ini: invariant violated: %s\n", what);
	abort();
}

static int edge_space(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fed_ini ini;
	uint32_t line = 0;
	char why[128] = "";
	int rv = fed_ini_parse((const char *)data, size, &ini, &line, why, sizeof(why));

	if (rv == FED_ERR_NOMEM)
		return 0;
	if (rv == FED_ERR_CONFIG || rv == FED_ERR_TOO_LARGE) {
		if (why[0] == '\0')
			violated("an error without a message");
		if (memchr(why, '\0', sizeof(why)) == NULL)
			violated("message not terminated");
		return 0;
	}
	if (rv != 0)
		violated("an undocumented return code");
	if (ini.nsec > FED_INI_MAX_SECTIONS || ini.nkeys > FED_INI_MAX_KEYS)
		violated("over a limit");
	for (size_t i = 0; i < ini.nsec; i++) {
		const struct fed_ini_section *s = &ini.sec[i];
		if (s->name[0] == '\0' || edge_space(s->name))
			violated("an empty or untrimmed section name");
		if (fed_ini_find(&ini, s->name) != s)
			violated("a section not found by its name");
		for (size_t k = 0; k < s->nkv; k++) {
			const char *key = s->kv[k].key, *value = s->kv[k].value;
			if (key[0] == '\0' || edge_space(key))
				violated("an empty or untrimmed key");
			for (const char *c = key; *c; c++)
				if ((*c >= 'A' && *c <= 'Z') || *c == '=' || *c == '\n')
					violated("a key with upper case, '=' or a newline");
			if (edge_space(value) || strchr(value, '\n') != NULL)
				violated("an untrimmed value or one with a newline");
			if (fed_ini_get(s, key) != value)
				violated("a key not found again");
		}
	}
	/* fed_config_region() agrees with the parse: the default profile's
	 * region, or "" when there is none. */
	const char *want = fed_ini_get(fed_ini_find(&ini, "default"), "region");
	if (fed_ini_find(&ini, "default") == NULL)
		want = fed_ini_get(fed_ini_find(&ini, "profile default"), "region");
	char region[64];
	int crv = fed_config_region((const char *)data, size, NULL, region, sizeof(region), why, sizeof(why));
	if (crv == 0 && strcmp(region, want != NULL ? want : "") != 0)
		violated("fed_config_region disagrees with the parse");
	if (crv != 0 && crv != FED_ERR_NOMEM && !(crv == FED_ERR_TOO_LARGE && want != NULL && strlen(want) >= 64))
		violated("fed_config_region failed on a file that parses");
	fed_ini_free(&ini);
	return 0;
}
