/* SPDX-License-Identifier: Apache-2.0 */
/* credjson.c: reads the JSON credential documents of credential_process, the ECS endpoint and IMDS. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "federation/creds_int.h"
#include "federation/federation_int.h"

static void say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* The string member |name| of |o|: NULL when absent; *bad when present but not a non-empty string. */
static const char *get_str(json_t *o, const char *name, bool *bad)
{
	json_t *v = json_object_get(o, name);
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* The field names differ by source; the checks do not. */
int fed_credjson_parse(enum fed_credjson_kind kind, const char *body, size_t len, int64_t now, struct fed_creds *out,
                       char *why, size_t whylen)
{
	struct fed_creds c;
	json_error_t jerr;
	json_t *root = NULL;
	bool bad = false;
	int rv = FED_ERR_PARSE;
	const char *what = kind == FED_CREDJSON_PROCESS ? "credential_process output"
	                   : kind == FED_CREDJSON_ECS   ? "container credentials"
	                                                : "instance metadata credentials";
	const char *token_name = kind == FED_CREDJSON_PROCESS ? "SessionToken" : "Token";

	memset(&c, 0, sizeof(c));
	if (len > FED_CREDJSON_MAX) {
		say(why, whylen, "%s: over %d bytes", what, FED_CREDJSON_MAX);
		return FED_ERR_TOO_LARGE;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* jansson's text may quote the input: give only the position. */
		say(why, whylen, "%s: not valid JSON (line %d, column %d)", what, jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		say(why, whylen, "%s: not a JSON object", what);
		goto out;
	}
	if (kind == FED_CREDJSON_PROCESS) {
		json_t *v = json_object_get(root, "Version");
		if (v == NULL || !json_is_integer(v) || json_integer_value(v) != 1) {
			say(why, whylen, "%s: \"Version\" must be the number 1", what);
			goto out;
		}
	}
	if (kind == FED_CREDJSON_IMDS) {
		const char *code = get_str(root, "Code", &bad);
		if (code != NULL && strcmp(code, "Success") != 0) {
			char safe[64];
			size_t i;
			for (i = 0; code[i] != '\0' && i < sizeof(safe) - 1; i++)
				safe[i] = (code[i] >= 0x20 && code[i] < 0x7f) ? code[i] : '?';
			safe[i] = '\0';
			say(why, whylen, "%s: Code is \"%s\", not \"Success\"", what, safe);
			goto out;
		}
	}
	const char *akid = get_str(root, "AccessKeyId", &bad);
	const char *secret = get_str(root, "SecretAccessKey", &bad);
	const char *token = get_str(root, token_name, &bad);
	const char *exp = get_str(root, "Expiration", &bad);
	if (bad) {
		say(why, whylen, "%s: a credential field is not a non-empty string", what);
		goto out;
	}
	if (akid == NULL || secret == NULL) {
		say(why, whylen, "%s: \"AccessKeyId\" or \"SecretAccessKey\" is missing", what);
		goto out;
	}
	if (kind != FED_CREDJSON_PROCESS && (token == NULL || exp == NULL)) {
		say(why, whylen, "%s: \"%s\" or \"Expiration\" is missing", what, token_name);
		goto out;
	}
	for (const char *q = akid; *q; q++) {
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')) || q - akid >= 128) {
			say(why, whylen, "%s: \"AccessKeyId\" is not an access key id", what);
			goto out;
		}
	}
	if (exp != NULL) {
		if (fed_iso8601_parse(exp, strlen(exp), &c.expiration) != 0) {
			say(why, whylen, "%s: \"Expiration\" is not an ISO 8601 time", what);
			goto out;
		}
		if (c.expiration <= now) {
			say(why, whylen, "%s: expired %lld seconds ago", what, (long long)(now - c.expiration));
			rv = FED_ERR_EXPIRED;
			goto out;
		}
	}
	c.access_key_id = strdup(akid);
	c.secret_access_key = strdup(secret);
	c.session_token = token ? strdup(token) : NULL;
	if (c.access_key_id == NULL || c.secret_access_key == NULL || (token != NULL && c.session_token == NULL)) {
		rv = FED_ERR_NOMEM;
		goto out;
	}
	c.long_term = kind == FED_CREDJSON_PROCESS && token == NULL;
	*out = c;
	memset(&c, 0, sizeof(c));
	rv = 0;
out:
	fed_creds_free(&c);
	if (root != NULL) {
		/* jansson keeps its own copies of the strings: wipe them before the free. */
		const char *k;
		json_t *v;
		json_object_foreach(root, k, v) {
			if (json_is_string(v) && json_string_length(v) > 0)
				OPENSSL_cleanse((void *)(uintptr_t)json_string_value(v), json_string_length(v));
		}
		json_decref(root);
	}
	return rv;
}
