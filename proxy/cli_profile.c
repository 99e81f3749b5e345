/* SPDX-License-Identifier: Apache-2.0 */
/* cli_profile.c: awsgate's profiles under ~/.awsgate/: the profile.json parser and writer, throw-away keys, the active profile. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli.h"
#include "proxy.h"

int px_cli_name_check(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PX_CLI_NAME_MAX || name[0] == '.')
		return PX_ERR_PROFILE;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return PX_ERR_PROFILE;
	}
	return 0;
}

/* HOST:PORT with a host of DNS/IPv4 characters or [v6], and a port 1..65535. */
static int gate_check(const char *s)
{
	const char *colon = strrchr(s, ':');

	if (colon == NULL || colon == s || colon[1] == '\0' || strlen(colon + 1) > 5)
		return -1;
	unsigned long port = 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		return -1;
	for (const char *p = s; p < colon; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '-' || c == '[' || c == ']' || c == ':'))
			return -1;
	}
	return 0;
}

static int akid_check(const char *s)
{
	if (strlen(s) != PX_CLI_AKID_LEN)
		return -1;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return -1;
	return 0;
}

static int secret_check(const char *s)
{
	if (strlen(s) != PX_CLI_SECRET_LEN)
		return -1;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' ||
		      *p == '/'))
			return -1;
	return 0;
}

/* Copies member |key| of |obj| into |dst|: a string that fits, without
 * control characters; null or absent when not |required|. */
static int member(json_t *obj, const char *key, int required, char *dst, size_t dstlen, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v)) {
		if (required) {
			snprintf(err, errlen, "\"%s\" is missing", key);
			return -1;
		}
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -1;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n >= dstlen || strlen(s) != n) {
		snprintf(err, errlen, "\"%s\" is too long or holds a NUL (at most %zu bytes)", key, dstlen - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(err, errlen, "\"%s\" holds a control character", key);
			return -1;
		}
	if (required && n == 0) {
		snprintf(err, errlen, "\"%s\" is empty", key);
		return -1;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

int px_cli_profile_parse(const char *text, size_t len, struct px_cli_profile *out, char *err, size_t errlen)
{
	struct px_cli_profile p;
	json_error_t jerr;
	json_t *root = NULL;
	int rv = PX_ERR_PROFILE;

	if (len > PX_CLI_PROFILE_MAX_BYTES) {
		snprintf(err, errlen, "the profile is over %u bytes", PX_CLI_PROFILE_MAX_BYTES);
		return PX_ERR_TOO_LARGE;
	}
	memset(&p, 0, sizeof(p));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	json_t *ver = json_object_get(root, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
		snprintf(err, errlen, "\"version\" must be 1 (a newer awsgate wrote it? log in again)");
		goto out;
	}
	if (member(root, "name", 1, p.name, sizeof(p.name), err, errlen) < 0 ||
	    member(root, "gate", 1, p.gate, sizeof(p.gate), err, errlen) < 0 ||
	    member(root, "user", 0, p.user, sizeof(p.user), err, errlen) < 0 ||
	    member(root, "app", 0, p.app, sizeof(p.app), err, errlen) < 0 ||
	    member(root, "role", 0, p.role, sizeof(p.role), err, errlen) < 0 ||
	    member(root, "access_key_id", 1, p.access_key_id, sizeof(p.access_key_id), err, errlen) < 0 ||
	    member(root, "secret_access_key", 1, p.secret_access_key, sizeof(p.secret_access_key), err, errlen) < 0)
		goto out;
	if (px_cli_name_check(p.name) < 0) {
		snprintf(err, errlen, "\"name\" is not a profile name ([A-Za-z0-9._-], at most %d)", PX_CLI_NAME_MAX);
		goto out;
	}
	if (gate_check(p.gate) < 0) {
		snprintf(err, errlen, "\"gate\" is not HOST:PORT");
		goto out;
	}
	if (akid_check(p.access_key_id) < 0) {
		snprintf(err, errlen, "\"access_key_id\" is not %d of [A-Z0-9]", PX_CLI_AKID_LEN);
		goto out;
	}
	if (secret_check(p.secret_access_key) < 0) {
		snprintf(err, errlen, "\"secret_access_key\" is not %d of [A-Za-z0-9+/]", PX_CLI_SECRET_LEN);
		goto out;
	}
	*out = p;
	rv = 0;
out:
	px_cli_profile_wipe(&p);
	if (root != NULL) {
		/* jansson keeps its own copy of the secret: wipe it before freeing. */
		json_t *s = json_object_get(root, "secret_access_key");
		if (json_is_string(s))
			OPENSSL_cleanse((char *)(uintptr_t)json_string_value(s), json_string_length(s));
		json_decref(root);
	}
	return rv;
}

/* Appends |s| to |b| as a JSON string (the profile's strings are checked:
 * printable, but quotes and backslashes are escaped all the same). */
static size_t put_str(char *b, size_t at, size_t cap, const char *s)
{
	if (at < cap)
		b[at] = '"';
	at++;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t n = 0;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else if (c < 0x20) {
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			n = 1;
		}
		for (size_t i = 0; i < n; i++, at++)
			if (at < cap)
				b[at] = esc[i];
	}
	if (at < cap)
		b[at] = '"';
	return at + 1;
}

static size_t put_raw(char *b, size_t at, size_t cap, const char *s)
{
	for (; *s; s++, at++)
		if (at < cap)
			b[at] = *s;
	return at;
}

static size_t put_opt(char *b, size_t at, size_t cap, const char *s)
{
	return s[0] ? put_str(b, at, cap, s) : put_raw(b, at, cap, "null");
}

/* The whole document into |b| (|cap| bytes); returns the length it needs. */
static size_t profile_render(const struct px_cli_profile *p, char *b, size_t cap)
{
	size_t at = 0;
	at = put_raw(b, at, cap, "{\n  \"version\": 1,\n  \"name\": ");
	at = put_str(b, at, cap, p->name);
	at = put_raw(b, at, cap, ",\n  \"gate\": ");
	at = put_str(b, at, cap, p->gate);
	at = put_raw(b, at, cap, ",\n  \"user\": ");
	at = put_opt(b, at, cap, p->user);
	at = put_raw(b, at, cap, ",\n  \"app\": ");
	at = put_opt(b, at, cap, p->app);
	at = put_raw(b, at, cap, ",\n  \"role\": ");
	at = put_opt(b, at, cap, p->role);
	at = put_raw(b, at, cap, ",\n  \"access_key_id\": ");
	at = put_str(b, at, cap, p->access_key_id);
	at = put_raw(b, at, cap, ",\n  \"secret_access_key\": ");
	at = put_str(b, at, cap, p->secret_access_key);
	at = put_raw(b, at, cap, "\n}\n");
	return at;
}

int px_cli_profile_format(const struct px_cli_profile *p, char **out, size_t *len)
{
	/* Rendered directly rather than through jansson, so that the secret
	 * has exactly one copy to wipe. */
	size_t need = profile_render(p, NULL, 0);
	char *b = malloc(need + 1);

	if (b == NULL)
		return PX_ERR_NOMEM;
	profile_render(p, b, need);
	b[need] = '\0';
	*out = b;
	*len = need;
	return 0;
}

void px_cli_profile_wipe(struct px_cli_profile *p)
{
	OPENSSL_cleanse(p, sizeof(*p));
}

/* |n| characters of |alphabet| (|alen| of them) from RAND_bytes, without
 * modulo bias (bytes at or past the largest multiple of |alen| are redrawn). */
static int rand_chars(char *dst, size_t n, const char *alphabet, unsigned alen)
{
	unsigned limit = 256u - (256u % alen);
	unsigned char buf[64];
	size_t got = 0;

	while (got < n) {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			return PX_ERR_IO;
		for (size_t i = 0; i < sizeof(buf) && got < n; i++)
			if (buf[i] < limit)
				dst[got++] = alphabet[buf[i] % alen];
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	dst[n] = '\0';
	return 0;
}

int px_cli_keys_generate(char akid[PX_CLI_AKID_LEN + 1], char secret[PX_CLI_SECRET_LEN + 1])
{
	static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char a[PX_CLI_AKID_LEN + 1];
	char s[PX_CLI_SECRET_LEN + 1];

	/* "AKIA" like a long-term key: SDKs then send no session token. */
	memcpy(a, "AKIA", 4);
	if (rand_chars(a + 4, PX_CLI_AKID_LEN - 4, upper, 36) < 0 || rand_chars(s, PX_CLI_SECRET_LEN, b64, 64) < 0) {
		OPENSSL_cleanse(s, sizeof(s));
		return PX_ERR_IO;
	}
	memcpy(akid, a, sizeof(a));
	memcpy(secret, s, sizeof(s));
	OPENSSL_cleanse(s, sizeof(s));
	return 0;
}

int px_cli_home(char *buf, size_t len, int create, char *err, size_t errlen)
{
	const char *home = getenv("HOME");
	char path[4096];
	struct stat st;

	if (home == NULL || home[0] != '/') {
		snprintf(err, errlen, "HOME is not set to an absolute path: set it to your home directory");
		return PX_ERR_IO;
	}
	int n = snprintf(path, sizeof(path), "%s/.awsgate", home);
	if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= len) {
		snprintf(err, errlen, "HOME is too long");
		return PX_ERR_IO;
	}
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return PX_ERR_IO;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) != 0) {
		/* Someone widened it: the keys inside must stay private. */
		if (chmod(path, 0700) < 0) {
			snprintf(err, errlen, "%s is readable by others and cannot be made private: %s", path,
				 strerror(errno));
			return PX_ERR_IO;
		}
	}
	memcpy(buf, path, (size_t)n + 1);
	return 0;
}

int px_cli_profile_path(char *buf, size_t len, const char *home, const char *name, const char *file)
{
	int n = file ? snprintf(buf, len, "%s/%s/%s", home, name, file) : snprintf(buf, len, "%s/%s", home, name);
	return n < 0 || (size_t)n >= len ? PX_ERR_TOO_LARGE : 0;
}

int px_cli_profile_choose(const char *home, const char *flag, char *name, size_t len, char *err, size_t errlen)
{
	char buf[PX_CLI_NAME_MAX + 2];
	char path[4200];
	const char *from = "--profile";
	const char *v = flag;

	if (v == NULL || v[0] == '\0') {
		v = getenv("AWSGATE_PROFILE");
		from = "AWSGATE_PROFILE";
	}
	if (v == NULL || v[0] == '\0') {
		char *data = NULL;
		size_t n = 0;
		char why[256];
		snprintf(path, sizeof(path), "%s/current", home);
		if (px_file_read(path, sizeof(buf), &data, &n, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "no profile is active: log in first (awsgate login --gate HOST:PORT "
					      "--cert FILE --key FILE --ca FILE), or name one with --profile");
			return PX_ERR_PROFILE;
		}
		while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' '))
			data[--n] = '\0';
		memcpy(buf, data, n + 1 <= sizeof(buf) ? n + 1 : sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		free(data);
		v = buf;
		from = path;
		if (px_cli_name_check(v) < 0) {
			snprintf(err, errlen, "%s does not name a valid profile: log in again", path);
			return PX_ERR_PROFILE;
		}
	}
	if (px_cli_name_check(v) < 0) {
		snprintf(err, errlen, "%s: '%s' is not a profile name ([A-Za-z0-9._-], at most %d characters)", from, v,
			 PX_CLI_NAME_MAX);
		return PX_ERR_PROFILE;
	}
	if (strlen(v) >= len)
		return PX_ERR_PROFILE;
	memcpy(name, v, strlen(v) + 1);
	return 0;
}

int px_cli_profile_load(const char *home, const char *name, struct px_cli_profile *out, char *err, size_t errlen)
{
	char path[4200];
	char *data = NULL;
	size_t len = 0;
	char why[256];
	char perr[256];

	if (px_cli_profile_path(path, sizeof(path), home, name, "profile.json") < 0)
		return PX_ERR_TOO_LARGE;
	int rv = px_file_read_secret(path, PX_CLI_PROFILE_MAX_BYTES, &data, &len, why, sizeof(why));
	if (rv < 0) {
		if (rv == PX_ERR_TOO_LARGE)
			snprintf(err, errlen, "%s is over %u bytes: log in again", path, PX_CLI_PROFILE_MAX_BYTES);
		else
			snprintf(err, errlen, "no profile '%s' (%s): log in with awsgate login --profile %s ...", name,
				 why, name);
		return rv;
	}
	rv = px_cli_profile_parse(data, len, out, perr, sizeof(perr));
	OPENSSL_cleanse(data, len);
	free(data);
	if (rv < 0) {
		snprintf(err, errlen, "%s: %s: log in again to rewrite it", path, perr);
		return rv;
	}
	if (strcmp(out->name, name) != 0) {
		px_cli_profile_wipe(out);
		snprintf(err, errlen, "%s names another profile: log in again to rewrite it", path);
		return PX_ERR_PROFILE;
	}
	return 0;
}

int px_cli_profile_save(const char *home, const struct px_cli_profile *p, char *err, size_t errlen)
{
	char path[4200];
	char *doc = NULL;
	size_t len = 0;

	if (px_cli_profile_path(path, sizeof(path), home, p->name, "profile.json") < 0)
		return PX_ERR_TOO_LARGE;
	int rv = px_cli_profile_format(p, &doc, &len);
	if (rv < 0)
		return rv;
	rv = px_file_write(path, doc, len, 0600, PX_FILE_REPLACE, err, errlen);
	OPENSSL_cleanse(doc, len);
	free(doc);
	return rv;
}
