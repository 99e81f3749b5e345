/* SPDX-License-Identifier: Apache-2.0 */
/* cert.c: the built-in CA's certificates and CRLs, and identities read back from certificates, in memory. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rbac.h"

/* Bits of a new serial: 159 random bits with the top one set, so every
 * serial is positive, 20 octets in DER (RFC 5280's maximum) and carries
 * 158 bits of randomness, more than CA/B's 64 and the 128 we promise. */
#define SERIAL_BITS 159
#define SERIAL_MAX_OCTETS 20

/* ------------------------------------------------------------------------
 * Diagnostics */

static int diag_set(struct rbac_diag *diag, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills |diag| (when there is one) and returns |code|, so that an error is
 * one statement: return diag_set(diag, RBAC_ERR_INVALID, "roles[2]", ...). */
static int diag_set(struct rbac_diag *diag, int code, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (diag == NULL)
		return code;
	diag->code = code;
	diag->line = 0;
	diag->column = 0;
	snprintf(diag->path, sizeof(diag->path), "%s", path != NULL ? path : "");
	va_start(ap, fmt);
	vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* ------------------------------------------------------------------------
 * Strings */

/* Whether |s| is |len| bytes of well-formed UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1fu;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0fu;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07u;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Whether |s| holds a control character: C0 (NUL included), DEL, or C1
 * (U+0080..U+009F, in UTF-8 0xC2 0x80..0x9F). Names and values end up in
 * logs and HTTP headers, where such characters forge lines. */
static int has_control(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 1;
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* Checks a user, role or trait name: 1 to RBAC_MAX_NAME bytes of UTF-8
 * without control characters. |what| and |path| go into the message. */
static int check_name(const char *s, size_t len, const char *what, const char *path, struct rbac_diag *diag)
{
	if (len == 0)
		return diag_set(diag, RBAC_ERR_INVALID, path, "%s is empty", what);
	if (len > RBAC_MAX_NAME)
		return diag_set(diag, RBAC_ERR_TOO_LARGE, path,
		                "%s is %zu bytes long, more than the %d allowed", what, len, RBAC_MAX_NAME);
	if (!utf8_valid((const unsigned char *)s, len))
		return diag_set(diag, RBAC_ERR_INVALID, path, "%s is not UTF-8", what);
	if (has_control((const unsigned char *)s, len))
		return diag_set(diag, RBAC_ERR_INVALID, path, "%s holds a control character", what);
	return 0;
}

/* Checks a trait value: UTF-8 without control characters; may be empty. */
static int check_value(const char *s, size_t len, const char *path, struct rbac_diag *diag)
{
	if (!utf8_valid((const unsigned char *)s, len))
		return diag_set(diag, RBAC_ERR_INVALID, path, "trait value is not UTF-8");
	if (has_control((const unsigned char *)s, len))
		return diag_set(diag, RBAC_ERR_INVALID, path, "trait value holds a control character");
	return 0;
}

static char *dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* ------------------------------------------------------------------------
 * Identities */

/* rbac_identity_free(), which the functions below use on their half-built
 * identities, is in identity.c. */

/* Reads the "roles" array into |id|. */
static int parse_roles(json_t *roles, struct rbac_identity *id, struct rbac_diag *diag)
{
	char path[32];
	size_t n;
	int rv;

	if (!json_is_array(roles))
		return diag_set(diag, RBAC_ERR_INVALID, "roles", "roles must be an array of role names");
	n = json_array_size(roles);
	if (n > RBAC_MAX_ROLES)
		return diag_set(diag, RBAC_ERR_TOO_LARGE, "roles", "%zu roles, more than the %d allowed", n,
		                RBAC_MAX_ROLES);
	if (n == 0)
		return 0;
	if ((id->roles = calloc(n, sizeof(*id->roles))) == NULL)
		return diag_set(diag, RBAC_ERR_NOMEM, "roles", "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(roles, i);
		snprintf(path, sizeof(path), "roles[%zu]", i);
		if (!json_is_string(r))
			return diag_set(diag, RBAC_ERR_INVALID, path, "a role must be a string");
		const char *s = json_string_value(r);
		size_t len = json_string_length(r);
		if ((rv = check_name(s, len, "role name", path, diag)) != 0)
			return rv;
		for (size_t k = 0; k < i; k++)
			if (strcmp(id->roles[k], s) == 0)
				return diag_set(diag, RBAC_ERR_INVALID, path, "role '%s' is listed twice", s);
		if ((id->roles[i] = dup_bytes(s, len)) == NULL)
			return diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
		id->nroles = i + 1;
	}
	return 0;
}

/* Reads one trait, |name|: |values|, into |t|. */
static int parse_trait(const char *name, json_t *values, struct rbac_trait *t, struct rbac_diag *diag)
{
	char path[RBAC_MAX_NAME + 32];
	size_t n;
	int rv;

	/* The name goes into the path only once it is known to be printable. */
	if ((rv = check_name(name, strlen(name), "trait name", "traits", diag)) != 0)
		return rv;
	snprintf(path, sizeof(path), "traits.%s", name);
	if ((t->name = dup_bytes(name, strlen(name))) == NULL)
		return diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
	if (!json_is_array(values))
		return diag_set(diag, RBAC_ERR_INVALID, path, "a trait must be an array of strings");
	n = json_array_size(values);
	if (n > RBAC_MAX_TRAIT_VALUES)
		return diag_set(diag, RBAC_ERR_TOO_LARGE, path,
		                "trait '%s' has %zu values, more than the %d allowed", name, n,
		                RBAC_MAX_TRAIT_VALUES);
	if (n == 0)
		return 0;
	if ((t->values = calloc(n, sizeof(*t->values))) == NULL)
		return diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(values, i);
		snprintf(path, sizeof(path), "traits.%s[%zu]", name, i);
		if (!json_is_string(v))
			return diag_set(diag, RBAC_ERR_INVALID, path, "a trait value must be a string");
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		if ((rv = check_value(s, len, path, diag)) != 0)
			return rv;
		for (size_t k = 0; k < i; k++)
			if (strcmp(t->values[k], s) == 0)
				return diag_set(diag, RBAC_ERR_INVALID, path,
				                "trait '%s' lists value '%s' twice", name, s);
		if ((t->values[i] = dup_bytes(s, len)) == NULL)
			return diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
		t->nvalues = i + 1;
	}
	return 0;
}

/* Reads the "traits" object into |id|. */
static int parse_traits(json_t *traits, struct rbac_identity *id, struct rbac_diag *diag)
{
	const char *name;
	json_t *values;
	size_t n;
	int rv;

	if (!json_is_object(traits))
		return diag_set(diag, RBAC_ERR_INVALID, "traits",
		                "traits must be an object of string arrays");
	n = json_object_size(traits);
	if (n > RBAC_MAX_TRAITS)
		return diag_set(diag, RBAC_ERR_TOO_LARGE, "traits", "%zu traits, more than the %d allowed", n,
		                RBAC_MAX_TRAITS);
	if (n == 0)
		return 0;
	if ((id->traits = calloc(n, sizeof(*id->traits))) == NULL)
		return diag_set(diag, RBAC_ERR_NOMEM, "traits", "out of memory");
	json_object_foreach(traits, name, values)
	{
		/* Counted first so that rbac_identity_free() frees a half-read trait. */
		struct rbac_trait *t = &id->traits[id->ntraits++];
		if ((rv = parse_trait(name, values, t, diag)) != 0)
			return rv;
	}
	return 0;
}

int rbac_identity_json_parse(const char *json, size_t len, struct rbac_identity *id, struct rbac_diag *diag)
{
	struct rbac_identity tmp;
	json_error_t jerr;
	json_t *root = NULL, *value;
	const char *key;
	int rv = 0, have_v = 0;

	memset(&tmp, 0, sizeof(tmp));
	if (len > RBAC_MAX_IDENTITY_EXT)
		return diag_set(diag, RBAC_ERR_TOO_LARGE, "",
		                "the identity extension is %zu bytes, more than the %d allowed", len,
		                RBAC_MAX_IDENTITY_EXT);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		rv = diag_set(diag, RBAC_ERR_SYNTAX, "", "the identity extension is not valid JSON: %s",
		              jerr.text);
		if (diag != NULL) {
			diag->line = jerr.line > 0 ? jerr.line : 0;
			diag->column = jerr.column > 0 ? jerr.column : 0;
		}
		return rv;
	}
	if (!json_is_object(root)) {
		rv = diag_set(diag, RBAC_ERR_INVALID, "", "the identity extension must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, value)
	{
		if (strcmp(key, "v") == 0) {
			if (!json_is_integer(value) || json_integer_value(value) != 1) {
				rv = diag_set(diag, RBAC_ERR_INVALID, "v",
				              "unsupported identity extension version: \"v\" must be 1");
				goto out;
			}
			have_v = 1;
		} else if (strcmp(key, "roles") == 0) {
			if ((rv = parse_roles(value, &tmp, diag)) != 0)
				goto out;
		} else if (strcmp(key, "traits") == 0) {
			if ((rv = parse_traits(value, &tmp, diag)) != 0)
				goto out;
		} else {
			/* The key may be anything; the message shows a bounded, printable part. */
			int safe = !has_control((const unsigned char *)key, strlen(key));
			rv = diag_set(
			    diag, RBAC_ERR_INVALID, "",
			    "unknown key \"%.64s\" in the identity extension (known: v, roles, traits)",
			    safe ? key : "?");
			goto out;
		}
	}
	if (!have_v) {
		rv = diag_set(diag, RBAC_ERR_INVALID, "v", "the identity extension has no \"v\" (version 1)");
		goto out;
	}
out:
	json_decref(root);
	if (rv != 0) {
		rbac_identity_free(&tmp);
		return rv;
	}
	*id = tmp;
	return 0;
}

/* The extension's OID as an object; NULL when out of memory. */
static ASN1_OBJECT *identity_oid(void)
{
	return OBJ_txt2obj(RBAC_IDENTITY_EXT_OID, 1);
}

int rbac_identity_ext_parse(const unsigned char *der, size_t len, struct rbac_identity *id,
                            struct rbac_diag *diag)
{
	const unsigned char *p = der;
	unsigned char *again = NULL;
	ASN1_UTF8STRING *s;
	int rv, n;

	/* A UTF8String's header is at most 6 bytes for this size. */
	if (len > (size_t)RBAC_MAX_IDENTITY_EXT + 6)
		return diag_set(diag, RBAC_ERR_TOO_LARGE, "",
		                "the identity extension is %zu bytes, more than the %d allowed", len,
		                RBAC_MAX_IDENTITY_EXT);
	s = d2i_ASN1_UTF8STRING(NULL, &p, (long)len);
	if (s == NULL || p != der + len) {
		ERR_clear_error();
		ASN1_UTF8STRING_free(s);
		return diag_set(diag, RBAC_ERR_SYNTAX, "",
		                "the identity extension is not one DER UTF8String");
	}
	/* BER (long-form lengths, constructed strings) decodes too; only the
	 * one DER encoding is accepted, so that a value has one spelling. */
	n = i2d_ASN1_UTF8STRING(s, &again);
	if (n < 0 || (size_t)n != len || memcmp(again, der, len) != 0) {
		OPENSSL_free(again);
		ASN1_UTF8STRING_free(s);
		if (n < 0)
			return diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		return diag_set(diag, RBAC_ERR_SYNTAX, "", "the identity extension is BER, not DER");
	}
	OPENSSL_free(again);
	rv = rbac_identity_json_parse((const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s),
	                              id, diag);
	ASN1_UTF8STRING_free(s);
	return rv;
}

/* Builds the extension's JSON object from |id|, checking the strings that
 * jansson would refuse or that would be lost (not UTF-8, NUL). */
static int identity_json(const struct rbac_identity *id, json_t **out, struct rbac_diag *diag)
{
	char path[RBAC_MAX_NAME + 32];
	json_t *root = json_object(), *roles = json_array(), *traits = json_object();
	int rv = 0;

	if (root == NULL || roles == NULL || traits == NULL ||
	    json_object_set_new(root, "v", json_integer(1)) != 0) {
		json_decref(roles);
		json_decref(traits);
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	/* set_new takes the references, also when it fails. */
	if (json_object_set_new(root, "roles", roles) != 0) {
		json_decref(traits);
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	if (json_object_set_new(root, "traits", traits) != 0) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	if (id->nroles > RBAC_MAX_ROLES) {
		rv = diag_set(diag, RBAC_ERR_TOO_LARGE, "roles", "%zu roles, more than the %d allowed",
		              id->nroles, RBAC_MAX_ROLES);
		goto out;
	}
	for (size_t i = 0; i < id->nroles; i++) {
		const char *r = id->roles[i] != NULL ? id->roles[i] : "";
		snprintf(path, sizeof(path), "roles[%zu]", i);
		if ((rv = check_name(r, strlen(r), "role name", path, diag)) != 0)
			goto out;
		if (json_array_append_new(roles, json_string(r)) != 0) {
			rv = diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
			goto out;
		}
	}
	if (id->ntraits > RBAC_MAX_TRAITS) {
		rv = diag_set(diag, RBAC_ERR_TOO_LARGE, "traits", "%zu traits, more than the %d allowed",
		              id->ntraits, RBAC_MAX_TRAITS);
		goto out;
	}
	for (size_t i = 0; i < id->ntraits; i++) {
		const struct rbac_trait *t = &id->traits[i];
		json_t *values = json_array();
		if (t->name == NULL || t->name[0] == '\0') {
			json_decref(values);
			rv = diag_set(diag, RBAC_ERR_INVALID, "traits", "trait name is empty");
			goto out;
		}
		if ((rv = check_name(t->name, strlen(t->name), "trait name", "traits", diag)) != 0) {
			json_decref(values);
			goto out;
		}
		snprintf(path, sizeof(path), "traits.%s", t->name);
		if (json_object_get(traits, t->name) != NULL) {
			json_decref(values);
			rv = diag_set(diag, RBAC_ERR_INVALID, path, "trait '%s' is given twice", t->name);
			goto out;
		}
		if (values == NULL || json_object_set_new(traits, t->name, values) != 0) {
			rv = diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
			goto out;
		}
		if (t->nvalues > RBAC_MAX_TRAIT_VALUES) {
			rv = diag_set(diag, RBAC_ERR_TOO_LARGE, path,
			              "trait '%s' has %zu values, more than the %d allowed", t->name,
			              t->nvalues, RBAC_MAX_TRAIT_VALUES);
			goto out;
		}
		for (size_t k = 0; k < t->nvalues; k++) {
			const char *v = t->values[k];
			snprintf(path, sizeof(path), "traits.%s[%zu]", t->name, k);
			if (v == NULL) {
				rv = diag_set(diag, RBAC_ERR_INVALID, path, "a trait value is missing");
				goto out;
			}
			if ((rv = check_value(v, strlen(v), path, diag)) != 0)
				goto out;
			if (json_array_append_new(values, json_string(v)) != 0) {
				rv = diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
				goto out;
			}
		}
	}
out:
	if (rv != 0) {
		json_decref(root);
		return rv;
	}
	*out = root;
	return 0;
}

int rbac_identity_ext_encode(const struct rbac_identity *id, unsigned char **der, size_t *len,
                             struct rbac_diag *diag)
{
	struct rbac_identity check;
	ASN1_UTF8STRING *s = NULL;
	unsigned char *buf = NULL, *p;
	char *text = NULL;
	json_t *root = NULL;
	size_t tlen;
	int rv, n;

	if ((rv = identity_json(id, &root, diag)) != 0)
		return rv;
	tlen = json_dumpb(root, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (tlen == 0) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	if (tlen > RBAC_MAX_IDENTITY_EXT) {
		rv = diag_set(diag, RBAC_ERR_TOO_LARGE, "",
		              "the roles and traits take %zu bytes of JSON, more than the %d allowed", tlen,
		              RBAC_MAX_IDENTITY_EXT);
		goto out;
	}
	if ((text = malloc(tlen)) == NULL ||
	    json_dumpb(root, text, tlen, JSON_COMPACT | JSON_PRESERVE_ORDER) != tlen) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	/* What we issue must read back: the reader's rules (duplicates
	 * included) are the one definition of a valid extension. */
	if ((rv = rbac_identity_json_parse(text, tlen, &check, diag)) != 0)
		goto out;
	rbac_identity_free(&check);
	if ((s = ASN1_UTF8STRING_new()) == NULL || !ASN1_STRING_set(s, text, (int)tlen) ||
	    (n = i2d_ASN1_UTF8STRING(s, NULL)) <= 0 || (buf = malloc((size_t)n)) == NULL) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	p = buf;
	i2d_ASN1_UTF8STRING(s, &p);
	*der = buf;
	*len = (size_t)n;
	buf = NULL;
out:
	free(buf);
	free(text);
	ASN1_UTF8STRING_free(s);
	json_decref(root);
	return rv;
}

/* ------------------------------------------------------------------------
 * Times */

/* Days from 1970-01-01 to the proleptic Gregorian date |y|-|m|-|d|
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Converts an ASN1_TIME to seconds since the epoch; never reads the clock
 * (ASN1_TIME_to_tm() would, given NULL). Returns 0 or RBAC_ERR_CERT. */
static int asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return RBAC_ERR_CERT;
	*out = days_from_civil((int64_t)tm.tm_year + 1900, (int64_t)tm.tm_mon + 1, tm.tm_mday) * 86400 +
	       (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

/* Writes |secs| as a duration of the house grammar ("8h", "1h30m"). */
static void format_duration(char *buf, size_t len, int64_t secs)
{
	int64_t h = secs / 3600, m = secs % 3600 / 60, s = secs % 60;
	int n = 0;

	buf[0] = '\0';
	if (h > 0)
		n = snprintf(buf, len, "%lldh", (long long)h);
	if (m > 0 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "%lldm", (long long)m);
	if ((s > 0 || secs == 0) && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%llds", (long long)s);
}

/* Refuses a lifetime of |ttl| seconds from |now| that ends after |ca|'s
 * notAfter (what a CA signs cannot outlive it), or that is empty. */
static int check_lifetime(const X509 *ca, int64_t now, uint32_t ttl, struct rbac_diag *diag)
{
	int64_t ca_after;
	char left[48];
	struct tm tm;

	if (ttl == 0)
		return diag_set(diag, RBAC_ERR_RANGE, "", "the validity (TTL) must be at least one second");
	if (ca == NULL)
		return 0;
	if (asn1_time_epoch(X509_get0_notAfter(ca), &ca_after) != 0 ||
	    !ASN1_TIME_to_tm(X509_get0_notAfter(ca), &tm))
		return diag_set(diag, RBAC_ERR_CERT, "", "the CA certificate's notAfter cannot be read");
	if (now + (int64_t)ttl <= ca_after)
		return 0;
	if (ca_after <= now)
		return diag_set(diag, RBAC_ERR_RANGE, "",
		                "the CA expired at %04d-%02d-%02dT%02d:%02d:%02dZ: make a new CA",
		                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		                tm.tm_sec);
	format_duration(left, sizeof(left), ca_after - now);
	return diag_set(diag, RBAC_ERR_RANGE, "",
	                "it would outlive its CA, which expires at %04d-%02d-%02dT%02d:%02d:%02dZ: "
	                "ask for a TTL of at most %s",
	                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, left);
}

/* Sets the validity of |x|, |now| - RBAC_CERT_BACKDATE to |now| + |ttl|,
 * after check_lifetime() against |ca| (NULL for a self-signed CA). */
static int set_validity(X509 *x, const X509 *ca, int64_t now, uint32_t ttl, struct rbac_diag *diag)
{
	int rv = check_lifetime(ca, now, ttl, diag);

	if (rv != 0)
		return rv;
	if (ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - RBAC_CERT_BACKDATE)) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + (int64_t)ttl)) == NULL)
		return diag_set(diag, RBAC_ERR_RANGE, "", "the validity cannot be encoded");
	return 0;
}

/* ------------------------------------------------------------------------
 * Building certificates */

static int crypto_fail(struct rbac_diag *diag, const char *what)
{
	unsigned long e = ERR_get_error();
	char why[160];

	ERR_clear_error();
	if (e == 0 || ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
		return diag_set(diag, e == 0 ? RBAC_ERR_CRYPTO : RBAC_ERR_NOMEM, "", "%s failed", what);
	ERR_error_string_n(e, why, sizeof(why));
	return diag_set(diag, RBAC_ERR_CRYPTO, "", "%s failed: %s", what, why);
}

/* A new ECDSA P-256 key. */
static int new_key(EVP_PKEY **key, struct rbac_diag *diag)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	if (k == NULL)
		return crypto_fail(diag, "generating a P-256 key");
	*key = k;
	return 0;
}

/* Sets |x|'s subject to CN=|cn|. The CN is a UTF8String set directly, not
 * through OpenSSL's string table, which would cap it at X.520's 64
 * characters: user names may be RBAC_MAX_NAME bytes. */
static int set_subject_cn(X509 *x, const char *cn, struct rbac_diag *diag)
{
	X509_NAME *name = X509_NAME_new();
	int rv = 0;

	if (name == NULL ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING, (const unsigned char *)cn,
	                                (int)strlen(cn), -1, 0) ||
	    !X509_set_subject_name(x, name))
		rv = crypto_fail(diag, "setting the subject name");
	X509_NAME_free(name);
	return rv;
}

/* Adds the extension |nid| = |value| (OpenSSL's configuration syntax, our
 * fixed strings only: never a caller's text, which could inject more). */
static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct rbac_diag *diag)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext != NULL && X509_add_ext(x, ext, -1);

	X509_EXTENSION_free(ext);
	return ok ? 0 : crypto_fail(diag, "adding an extension");
}

/* A random positive serial of SERIAL_BITS bits. */
static int set_serial(X509 *x, struct rbac_diag *diag)
{
	BIGNUM *bn = BN_new();
	int ok = bn != NULL && BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
	         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;

	BN_free(bn);
	return ok ? 0 : crypto_fail(diag, "making a random serial");
}

int rbac_ca_create(const char *name, int64_t now, uint32_t ttl, struct rbac_ca *ca, struct rbac_diag *diag)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	X509V3_CTX ctx;
	int rv;

	if (name == NULL)
		name = RBAC_CA_DEFAULT_NAME;
	if ((rv = check_name(name, strlen(name), "the CA's name", "", diag)) != 0)
		return rv;
	if ((rv = new_key(&key, diag)) != 0)
		return rv;
	if ((x = X509_new()) == NULL) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	if (!X509_set_version(x, X509_VERSION_3)) {
		rv = crypto_fail(diag, "setting the version");
		goto out;
	}
	if ((rv = set_serial(x, diag)) != 0 || (rv = set_subject_cn(x, name, diag)) != 0 ||
	    (rv = set_validity(x, NULL, now, ttl, diag)) != 0)
		goto out;
	if (!X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_set_pubkey(x, key)) {
		rv = crypto_fail(diag, "setting the issuer and key");
		goto out;
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((rv = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", diag)) != 0 ||
	    (rv = add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", diag)) != 0 ||
	    (rv = add_ext(x, &ctx, NID_subject_key_identifier, "hash", diag)) != 0)
		goto out;
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		rv = crypto_fail(diag, "signing the CA certificate");
		goto out;
	}
	ca->cert = x;
	ca->key = key;
	return 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rv;
}

/* Refuses PEM passphrase prompts: a key must be unencrypted, and a library
 * never reads the terminal. */
static int no_password(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

int rbac_ca_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                     struct rbac_ca *ca, struct rbac_diag *diag)
{
	BIO *cb = NULL, *kb = NULL;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	int rv = 0;

	if (cert_len > INT_MAX || key_len > INT_MAX)
		return diag_set(diag, RBAC_ERR_CERT, "", "the CA files are too large");
	if ((cb = BIO_new_mem_buf(cert_pem, (int)cert_len)) == NULL ||
	    (kb = BIO_new_mem_buf(key_pem, (int)key_len)) == NULL) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	if ((x = PEM_read_bio_X509(cb, NULL, no_password, NULL)) == NULL) {
		rv = diag_set(diag, RBAC_ERR_CERT, "cert", "the CA certificate is not a PEM certificate");
		goto out;
	}
	if ((key = PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL)) == NULL) {
		rv = diag_set(diag, RBAC_ERR_CERT, "key", "the CA key is not an unencrypted PEM private key");
		goto out;
	}
	if (X509_check_ca(x) < 1) {
		rv = diag_set(diag, RBAC_ERR_CERT, "cert",
		              "the CA certificate is not a CA's (no basicConstraints CA:TRUE)");
		goto out;
	}
	if (X509_get0_subject_key_id(x) == NULL) {
		rv =
		    diag_set(diag, RBAC_ERR_CERT, "cert", "the CA certificate has no subject key identifier");
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		rv = diag_set(diag, RBAC_ERR_CERT, "key", "the CA key does not belong to the CA certificate");
		goto out;
	}
out:
	ERR_clear_error();
	BIO_free(cb);
	BIO_free(kb);
	if (rv != 0) {
		X509_free(x);
		EVP_PKEY_free(key);
		return rv;
	}
	ca->cert = x;
	ca->key = key;
	return 0;
}

void rbac_ca_free(struct rbac_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	ca->cert = NULL;
	ca->key = NULL;
}

/* Starts a leaf certificate that |ca| will sign: version, serial, subject
 * CN=|cn|, issuer, validity, a new key, basicConstraints, keyUsage, key
 * identifiers. The caller adds its extended key usage and names. */
static int leaf_new(const struct rbac_ca *ca, const char *cn, int64_t now, uint32_t ttl, X509 **xp,
                    EVP_PKEY **keyp, struct rbac_diag *diag)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	X509V3_CTX ctx;
	int rv;

	if (ca == NULL || ca->cert == NULL || ca->key == NULL)
		return diag_set(diag, RBAC_ERR_CERT, "", "no CA to sign with");
	if ((x = X509_new()) == NULL)
		return diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
	if ((rv = set_validity(x, ca->cert, now, ttl, diag)) != 0)
		goto fail;
	if ((rv = new_key(&key, diag)) != 0)
		goto fail;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) || !X509_set_pubkey(x, key)) {
		rv = crypto_fail(diag, "setting up the certificate");
		goto fail;
	}
	if ((rv = set_serial(x, diag)) != 0 || (rv = set_subject_cn(x, cn, diag)) != 0)
		goto fail;
	/* The CA certificate is only read; X509V3_CTX is not const-correct. */
	X509V3_set_ctx(&ctx, (X509 *)(uintptr_t)ca->cert, x, NULL, NULL, 0);
	if ((rv = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", diag)) != 0 ||
	    (rv = add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature", diag)) != 0 ||
	    (rv = add_ext(x, &ctx, NID_subject_key_identifier, "hash", diag)) != 0 ||
	    (rv = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", diag)) != 0)
		goto fail;
	*xp = x;
	*keyp = key;
	return 0;
fail:
	X509_free(x);
	EVP_PKEY_free(key);
	return rv;
}

/* Signs |x| with |ca| and hands |x| and |key| to the caller, or frees them. */
static int leaf_finish(const struct rbac_ca *ca, X509 *x, EVP_PKEY *key, X509 **cert, EVP_PKEY **keyp,
                       struct rbac_diag *diag)
{
	if (X509_sign(x, ca->key, EVP_sha256()) <= 0) {
		int rv = crypto_fail(diag, "signing the certificate");
		X509_free(x);
		EVP_PKEY_free(key);
		return rv;
	}
	*cert = x;
	*keyp = key;
	return 0;
}

int rbac_cert_issue_user(const struct rbac_ca *ca, const struct rbac_identity *id, int64_t now, uint32_t ttl,
                         X509 **cert, EVP_PKEY **key, struct rbac_diag *diag)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *value = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	int rv;

	if (id == NULL || id->user == NULL)
		return diag_set(diag, RBAC_ERR_INVALID, "user", "a user certificate needs a user name");
	if ((rv = check_name(id->user, strlen(id->user), "the user name", "user", diag)) != 0)
		return rv;
	/* The extension first: an identity the reader would refuse is
	 * refused before a key is made. */
	if ((rv = rbac_identity_ext_encode(id, &der, &derlen, diag)) != 0)
		return rv;
	if ((rv = leaf_new(ca, id->user, now, ttl, &x, &k, diag)) != 0)
		goto out;
	X509V3_set_ctx(&ctx, (X509 *)(uintptr_t)ca->cert, x, NULL, NULL, 0);
	if ((rv = add_ext(x, &ctx, NID_ext_key_usage, "clientAuth", diag)) != 0)
		goto out;
	if ((oid = identity_oid()) == NULL || (value = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(value, der, (int)derlen) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, value)) == NULL || !X509_add_ext(x, ext, -1)) {
		rv = crypto_fail(diag, "adding the identity extension");
		goto out;
	}
	rv = leaf_finish(ca, x, k, cert, key, diag);
	x = NULL;
	k = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	X509_EXTENSION_free(ext);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(value);
	free(der);
	return rv;
}

/* Whether |name| is a DNS name we put in a certificate: labels of letters,
 * digits and inner hyphens, 1 to 63 bytes each, 253 in all, no trailing
 * dot; the first label may be "*" (a wildcard). */
static int dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > 253)
		return 0;
	if (name[0] == '*') {
		if (name[1] != '.' || name[2] == '\0')
			return 0;
		name += 2;
	}
	for (const char *p = name;; p++) {
		char c = *p;
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return 0;
			if (c == '\0')
				return 1;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0)))
			return 0;
		label++;
	}
}

/* Appends one GeneralName of |type| (GEN_DNS or GEN_IPADD) for |text|. */
static int san_add(GENERAL_NAMES *names, int type, const char *text, struct rbac_diag *diag)
{
	GENERAL_NAME *gn = NULL;
	ASN1_STRING *s = NULL;

	if (type == GEN_DNS) {
		if (!dns_name_ok(text))
			return diag_set(diag, RBAC_ERR_INVALID, "dns",
			                "'%.253s' is not a DNS name (letters, digits, "
			                "hyphens and dots; '*.' may start it)",
			                text);
		if ((s = ASN1_IA5STRING_new()) == NULL || !ASN1_STRING_set(s, text, (int)strlen(text)))
			goto nomem;
	} else {
		/* a2i_IPADDRESS reads IPv4 dotted quads and IPv6 text forms;
		 * the length check keeps it from strings it does not bound. */
		if (strlen(text) > 45 || (s = a2i_IPADDRESS(text)) == NULL) {
			ERR_clear_error();
			return diag_set(diag, RBAC_ERR_INVALID, "ip",
			                "'%.64s' is not an IPv4 or IPv6 address", text);
		}
	}
	if ((gn = GENERAL_NAME_new()) == NULL)
		goto nomem;
	GENERAL_NAME_set0_value(gn, type, s);
	s = NULL;
	if (!sk_GENERAL_NAME_push(names, gn))
		goto nomem;
	return 0;
nomem:
	ASN1_STRING_free(s);
	GENERAL_NAME_free(gn);
	return diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
}

int rbac_cert_issue_server(const struct rbac_ca *ca, const char *const *dns, size_t ndns,
                           const char *const *ips, size_t nips, int64_t now, uint32_t ttl, X509 **cert,
                           EVP_PKEY **key, struct rbac_diag *diag)
{
	GENERAL_NAMES *names = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	X509V3_CTX ctx;
	int rv = 0;

	if (ndns + nips == 0)
		return diag_set(diag, RBAC_ERR_INVALID, "dns",
		                "a server certificate needs a DNS name or an IP address");
	if (ndns > RBAC_MAX_SAN || nips > RBAC_MAX_SAN || ndns + nips > RBAC_MAX_SAN)
		return diag_set(diag, RBAC_ERR_TOO_LARGE, "dns", "%zu names, more than the %d allowed",
		                ndns + nips, RBAC_MAX_SAN);
	if ((names = sk_GENERAL_NAME_new_null()) == NULL)
		return diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
	for (size_t i = 0; i < ndns && rv == 0; i++)
		rv = san_add(names, GEN_DNS, dns[i], diag);
	for (size_t i = 0; i < nips && rv == 0; i++)
		rv = san_add(names, GEN_IPADD, ips[i], diag);
	if (rv != 0)
		goto out;
	if ((rv = leaf_new(ca, ndns > 0 ? dns[0] : ips[0], now, ttl, &x, &k, diag)) != 0)
		goto out;
	X509V3_set_ctx(&ctx, (X509 *)(uintptr_t)ca->cert, x, NULL, NULL, 0);
	if ((rv = add_ext(x, &ctx, NID_ext_key_usage, "serverAuth", diag)) != 0)
		goto out;
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT)) {
		rv = crypto_fail(diag, "adding the subject alternative names");
		goto out;
	}
	rv = leaf_finish(ca, x, k, cert, key, diag);
	x = NULL;
	k = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	GENERAL_NAMES_free(names);
	return rv;
}

/* ------------------------------------------------------------------------
 * Serials */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rbac_serial_normalize(const char *in, char hex[RBAC_SERIAL_HEX_SIZE])
{
	static const char digits[] = "0123456789ABCDEF";
	char tmp[2 * SERIAL_MAX_OCTETS + 1];
	size_t n = 0, len = strlen(in);
	int colons = strchr(in, ':') != NULL;

	if (len == 0)
		return RBAC_ERR_INVALID;
	for (size_t i = 0; i < len; i++) {
		if (colons && i % 3 == 2) {
			/* "0A:1B:2C": a colon after every pair, none at the end. */
			if (in[i] != ':' || i + 1 == len)
				return RBAC_ERR_INVALID;
			continue;
		}
		int v = hexval(in[i]);
		if (v < 0)
			return RBAC_ERR_INVALID;
		if (n == 0 && v == 0)
			continue; /* a leading zero */
		if (n == sizeof(tmp) - 1)
			return RBAC_ERR_TOO_LARGE;
		tmp[n++] = digits[v];
	}
	if (colons && len % 3 != 2)
		return RBAC_ERR_INVALID;
	if (n == 0)
		return RBAC_ERR_INVALID; /* zero is not a serial we issue or revoke */
	size_t pad = n % 2;
	if (pad)
		hex[0] = '0';
	memcpy(hex + pad, tmp, n);
	hex[n + pad] = '\0';
	return 0;
}

int rbac_cert_serial(const X509 *cert, char hex[RBAC_SERIAL_HEX_SIZE])
{
	static const char digits[] = "0123456789ABCDEF";
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	const unsigned char *data = ASN1_STRING_get0_data(serial);
	int len = ASN1_STRING_length(serial);
	size_t n = 0;

	if (len > SERIAL_MAX_OCTETS)
		return RBAC_ERR_TOO_LARGE;
	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER)
		hex[n++] = '-';
	if (len <= 0) {
		hex[n++] = '0';
		hex[n++] = '0';
	}
	for (int i = 0; i < len; i++) {
		hex[n++] = digits[data[i] >> 4];
		hex[n++] = digits[data[i] & 15];
	}
	hex[n] = '\0';
	return 0;
}

int rbac_cert_pin(const X509 *cert, char pin[RBAC_CERT_PIN_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len;

	if (pub == NULL) {
		ERR_clear_error();
		return RBAC_ERR_CERT;
	}
	if ((len = i2d_PUBKEY(pub, &der)) <= 0)
		return RBAC_ERR_NOMEM;
	int ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || mdlen != sizeof(md))
		return RBAC_ERR_NOMEM;
	memcpy(pin, "sha256:", 7);
	for (size_t i = 0; i < sizeof(md); i++) {
		pin[7 + 2 * i] = digits[md[i] >> 4];
		pin[8 + 2 * i] = digits[md[i] & 15];
	}
	pin[7 + 2 * sizeof(md)] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------
 * CRLs */

int rbac_crl_build(const struct rbac_ca *ca, const struct rbac_revoked *revoked, size_t n, uint64_t number,
                   int64_t now, uint32_t ttl, X509_CRL **crlp, struct rbac_diag *diag)
{
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	BIGNUM *bn = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *aki = NULL;
	char path[32], hex[RBAC_SERIAL_HEX_SIZE];
	int rv = 0;

	if (ca == NULL || ca->cert == NULL || ca->key == NULL)
		return diag_set(diag, RBAC_ERR_CERT, "", "no CA to sign with");
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	if ((rv = check_lifetime(ca->cert, now, ttl, diag)) != 0)
		goto out;
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
	    ASN1_TIME_set(t, (time_t)now) == NULL || !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_set(t, (time_t)(now + (int64_t)ttl)) == NULL || !X509_CRL_set1_nextUpdate(crl, t)) {
		rv = crypto_fail(diag, "setting up the CRL");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		X509_REVOKED *r;
		snprintf(path, sizeof(path), "revoked[%zu]", i);
		if (revoked[i].serial == NULL || rbac_serial_normalize(revoked[i].serial, hex) != 0) {
			rv = diag_set(diag, RBAC_ERR_INVALID, path, "'%.48s' is not a serial (hex)",
			              revoked[i].serial ? revoked[i].serial : "(null)");
			goto out;
		}
		if (!BN_hex2bn(&bn, hex) || (r = X509_REVOKED_new()) == NULL) {
			rv = diag_set(diag, RBAC_ERR_NOMEM, path, "out of memory");
			goto out;
		}
		ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
		int ok = serial != NULL && X509_REVOKED_set_serialNumber(r, serial) &&
		         ASN1_TIME_set(t, (time_t)revoked[i].revoked_at) != NULL &&
		         X509_REVOKED_set_revocationDate(r, t) && X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(serial);
		if (!ok) {
			X509_REVOKED_free(r);
			rv = crypto_fail(diag, "adding a revoked serial");
			goto out;
		}
	}
	if ((num = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set_uint64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_DEFAULT)) {
		rv = crypto_fail(diag, "adding the CRL number");
		goto out;
	}
	X509V3_set_ctx(&ctx, (X509 *)(uintptr_t)ca->cert, NULL, NULL, crl, 0);
	if ((aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always")) == NULL ||
	    !X509_CRL_add_ext(crl, aki, -1)) {
		rv = crypto_fail(diag, "adding the authority key identifier");
		goto out;
	}
	if (!X509_CRL_sort(crl) || X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0) {
		rv = crypto_fail(diag, "signing the CRL");
		goto out;
	}
out:
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	BN_free(bn);
	X509_EXTENSION_free(aki);
	if (rv != 0) {
		X509_CRL_free(crl);
		return rv;
	}
	*crlp = crl;
	return 0;
}

/* ------------------------------------------------------------------------
 * Reading identities */

/* Reads the subject's one CN into a new string in |*user|. */
static int read_user(const X509 *cert, char **user, struct rbac_diag *diag)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int len, rv;

	if (at < 0)
		return diag_set(diag, RBAC_ERR_CERT, "subject",
		                "the certificate's subject has no CN (the user name)");
	if (X509_NAME_get_index_by_NID(name, NID_commonName, at) >= 0)
		return diag_set(diag, RBAC_ERR_CERT, "subject",
		                "the certificate's subject has several CNs: which user "
		                "is meant is ambiguous");
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
	if (len < 0) {
		ERR_clear_error();
		return diag_set(diag, RBAC_ERR_CERT, "subject",
		                "the certificate's CN is not a readable string");
	}
	/* The user must survive as a C string: no NUL inside (has_control
	 * counts it), and the other name rules. */
	rv = check_name((const char *)utf8, (size_t)len, "the certificate's CN (the user name)", "subject",
	                diag);
	if (rv == RBAC_ERR_INVALID || rv == RBAC_ERR_TOO_LARGE) {
		rv = RBAC_ERR_CERT;
		if (diag != NULL)
			diag->code = rv;
	}
	if (rv == 0 && (*user = dup_bytes((const char *)utf8, (size_t)len)) == NULL)
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
	OPENSSL_free(utf8);
	return rv;
}

/* Whether |cert| was issued by |ca|: the issuer is the CA's subject and the
 * signature verifies with the CA's key. A name alone proves nothing, since
 * anyone can make a CA with the same name. */
static int issued_by(const X509 *cert, const X509 *ca)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca);
	int ok;

	if (pub == NULL || X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) != 0) {
		ERR_clear_error();
		return 0;
	}
	/* X509_verify() does not change the certificate; OpenSSL 3.0 just
	 * does not declare it const. */
	ok = X509_verify((X509 *)(uintptr_t)cert, pub) == 1;
	ERR_clear_error();
	return ok;
}

int rbac_identity_from_cert(const X509 *cert, const X509 *identity_ca, struct rbac_identity *id,
                            struct rbac_diag *diag)
{
	struct rbac_identity tmp, ext_id;
	ASN1_OBJECT *oid = NULL;
	int rv, at;

	memset(&tmp, 0, sizeof(tmp));
	if (cert == NULL)
		return diag_set(diag, RBAC_ERR_CERT, "", "no certificate");
	if ((rv = read_user(cert, &tmp.user, diag)) != 0)
		return rv;
	if (asn1_time_epoch(X509_get0_notBefore(cert), &tmp.not_before) != 0 ||
	    asn1_time_epoch(X509_get0_notAfter(cert), &tmp.not_after) != 0) {
		rv = diag_set(diag, RBAC_ERR_CERT, "validity", "the certificate's validity cannot be read");
		goto out;
	}
	if ((oid = identity_oid()) == NULL) {
		rv = diag_set(diag, RBAC_ERR_NOMEM, "", "out of memory");
		goto out;
	}
	at = X509_get_ext_by_OBJ(cert, oid, -1);
	if (at < 0)
		goto out; /* no extension: a user without roles or traits */
	if (identity_ca == NULL || !issued_by(cert, identity_ca)) {
		tmp.extension_ignored = 1;
		goto out;
	}
	if (X509_get_ext_by_OBJ(cert, oid, at) >= 0) {
		rv = diag_set(diag, RBAC_ERR_CERT, "extensions", "the identity extension appears twice");
		goto out;
	}
	X509_EXTENSION *ext = X509_get_ext(cert, at);
	if (X509_EXTENSION_get_critical(ext)) {
		rv = diag_set(diag, RBAC_ERR_CERT, "extensions",
		              "the identity extension is marked critical; it never is");
		goto out;
	}
	const ASN1_OCTET_STRING *value = X509_EXTENSION_get_data(ext);
	rv = rbac_identity_ext_parse(ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value), &ext_id,
	                             diag);
	if (rv != 0)
		goto out;
	tmp.roles = ext_id.roles;
	tmp.nroles = ext_id.nroles;
	tmp.traits = ext_id.traits;
	tmp.ntraits = ext_id.ntraits;
	tmp.from_extension = 1;
out:
	ASN1_OBJECT_free(oid);
	if (rv != 0) {
		rbac_identity_free(&tmp);
		return rv;
	}
	*id = tmp;
	return 0;
}
