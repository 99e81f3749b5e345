/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_identity_ext.c: libFuzzer target for the identity extension's JSON and DER parsers and its encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac/rbac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every check failure ends here, so that libFuzzer (or the replay main)
 * reports the input that broke |what|. */
static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_identity_ext: invariant violated: %s\n", what);
	abort();
}

/* The input is the extension's JSON and, on its own, DER. Each run checks:
 *
 *   - rbac_identity_json_parse() either fails with a parser's error code
 *     and a diagnostic, or returns an identity within every limit and rule
 *     of rbac.h (no user, names 1..RBAC_MAX_NAME bytes without control
 *     characters, nothing listed twice);
 *   - the same bytes wrapped in a DER UTF8String give rbac_identity_ext_parse()
 *     the same answer and the same identity;
 *   - what parses encodes (rbac_identity_ext_encode()) and parses back to
 *     the same identity: the issuer never writes what the reader refuses,
 *     and the reader loses nothing;
 *   - the raw bytes as DER never crash rbac_identity_ext_parse(), and what
 *     it accepts obeys the same rules. */

static int is_parser_error(int rv)
{
	return rv == RBAC_ERR_SYNTAX || rv == RBAC_ERR_INVALID || rv == RBAC_ERR_TOO_LARGE ||
	       rv == RBAC_ERR_NOMEM;
}

static void check_name(const char *s, size_t max, const char *what)
{
	size_t len = strlen(s);
	if (len > max)
		violated(what);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0))
			violated("a control character got through");
	}
}

static void check_identity(const struct rbac_identity *id)
{
	if (id->user != NULL || id->not_before != 0 || id->not_after != 0 || id->from_extension ||
	    id->extension_ignored)
		violated("the parser filled more than roles and traits");
	if (id->nroles > RBAC_MAX_ROLES || id->ntraits > RBAC_MAX_TRAITS)
		violated("more roles or traits than the limits");
	if ((id->nroles > 0) != (id->roles != NULL) || (id->ntraits > 0) != (id->traits != NULL))
		violated("an array and its count disagree");
	for (size_t i = 0; i < id->nroles; i++) {
		if (id->roles[i] == NULL || id->roles[i][0] == '\0')
			violated("an empty role");
		check_name(id->roles[i], RBAC_MAX_NAME, "a role longer than RBAC_MAX_NAME");
		for (size_t k = 0; k < i; k++)
			if (strcmp(id->roles[k], id->roles[i]) == 0)
				violated("a role listed twice");
	}
	for (size_t i = 0; i < id->ntraits; i++) {
		const struct rbac_trait *t = &id->traits[i];
		if (t->name == NULL || t->name[0] == '\0')
			violated("an empty trait name");
		check_name(t->name, RBAC_MAX_NAME, "a trait name longer than RBAC_MAX_NAME");
		if (t->nvalues > RBAC_MAX_TRAIT_VALUES || (t->nvalues > 0) != (t->values != NULL))
			violated("trait values over the limit, or a count without an array");
		for (size_t k = 0; k < i; k++)
			if (strcmp(id->traits[k].name, t->name) == 0)
				violated("a trait named twice");
		for (size_t v = 0; v < t->nvalues; v++) {
			check_name(t->values[v], RBAC_MAX_IDENTITY_EXT,
			           "a trait value longer than the extension");
			for (size_t k = 0; k < v; k++)
				if (strcmp(t->values[k], t->values[v]) == 0)
					violated("a trait value listed twice");
		}
	}
}

static int same_identity(const struct rbac_identity *a, const struct rbac_identity *b)
{
	if (a->nroles != b->nroles || a->ntraits != b->ntraits)
		return 0;
	for (size_t i = 0; i < a->nroles; i++)
		if (strcmp(a->roles[i], b->roles[i]) != 0)
			return 0;
	for (size_t i = 0; i < a->ntraits; i++) {
		const struct rbac_trait *s = &a->traits[i], *t = &b->traits[i];
		if (strcmp(s->name, t->name) != 0 || s->nvalues != t->nvalues)
			return 0;
		for (size_t v = 0; v < s->nvalues; v++)
			if (strcmp(s->values[v], t->values[v]) != 0)
				return 0;
	}
	return 1;
}

static void check_error(int rv, const struct rbac_diag *diag)
{
	if (!is_parser_error(rv))
		violated("an error code the parser does not document");
	if (diag->code != rv || diag->msg[0] == '\0')
		violated("an error without its diagnostic");
	if (memchr(diag->path, '\0', sizeof(diag->path)) == NULL ||
	    memchr(diag->msg, '\0', sizeof(diag->msg)) == NULL)
		violated("a diagnostic without its NUL");
}

/* |data| in a DER UTF8String (minimal length form) in a new buffer. */
static unsigned char *wrap_der(const uint8_t *data, size_t size, size_t *len)
{
	unsigned char head[6];
	size_t h = 0;

	head[h++] = 0x0c;
	if (size < 0x80) {
		head[h++] = (unsigned char)size;
	} else if (size <= 0xff) {
		head[h++] = 0x81;
		head[h++] = (unsigned char)size;
	} else if (size <= 0xffff) {
		head[h++] = 0x82;
		head[h++] = (unsigned char)(size >> 8);
		head[h++] = (unsigned char)size;
	} else {
		head[h++] = 0x83;
		head[h++] = (unsigned char)(size >> 16);
		head[h++] = (unsigned char)(size >> 8);
		head[h++] = (unsigned char)size;
	}
	unsigned char *der = malloc(h + size + 1);
	if (der == NULL)
		abort();
	memcpy(der, head, h);
	if (size > 0)
		memcpy(der + h, data, size);
	*len = h + size;
	return der;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rbac_identity id, wrapped, again;
	struct rbac_diag diag, wdiag;
	unsigned char *der, *enc = NULL;
	size_t derlen, enclen = 0;
	int rv, wrv;

	if (size > 0xffffff)
		return 0;
	memset(&diag, 0, sizeof(diag));
	rv = rbac_identity_json_parse((const char *)data, size, &id, &diag);
	if (rv != 0)
		check_error(rv, &diag);
	else
		check_identity(&id);

	/* Wrapped in DER: the same answer. jansson reads UTF-8 only; the DER
	 * decoder does not look inside the string, so nothing differs. */
	der = wrap_der(data, size, &derlen);
	memset(&wdiag, 0, sizeof(wdiag));
	wrv = rbac_identity_ext_parse(der, derlen, &wrapped, &wdiag);
	free(der);
	if (wrv != rv)
		violated("the DER-wrapped JSON gets another answer than the JSON");
	if (wrv == 0) {
		if (!same_identity(&id, &wrapped))
			violated("the DER-wrapped JSON gives another identity");
		rbac_identity_free(&wrapped);
	} else if (strcmp(wdiag.msg, diag.msg) != 0 || strcmp(wdiag.path, diag.path) != 0) {
		violated("the DER-wrapped JSON gets another diagnostic");
	}

	/* What parses, encodes, and reads back the same. The encoder writes
	 * "roles" and "traits" even when the input left them out: an input
	 * near the size limit may then be too large, and nothing else. */
	if (rv == 0) {
		memset(&diag, 0, sizeof(diag));
		int erv = rbac_identity_ext_encode(&id, &enc, &enclen, &diag);
		if (erv == RBAC_ERR_TOO_LARGE && size + 32 > RBAC_MAX_IDENTITY_EXT) {
			/* allowed */
		} else if (erv != 0) {
			violated("an identity the parser accepts is refused by the encoder");
		} else {
			if (rbac_identity_ext_parse(enc, enclen, &again, &diag) != 0)
				violated("the encoder wrote what the parser refuses");
			if (!same_identity(&id, &again))
				violated("encoding and parsing again changed the identity");
			rbac_identity_free(&again);
			free(enc);
		}
		rbac_identity_free(&id);
	}

	/* The raw bytes as the DER of the extension. */
	memset(&diag, 0, sizeof(diag));
	rv = rbac_identity_ext_parse(data, size, &id, &diag);
	if (rv != 0) {
		check_error(rv, &diag);
	} else {
		check_identity(&id);
		rbac_identity_free(&id);
	}
	return 0;
}
