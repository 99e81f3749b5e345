/* SPDX-License-Identifier: Apache-2.0 */
/* rbac.h: identities, resources (roles, users, apps, locks), templates and access decisions. */
#ifndef AWSGATE_RBAC_H
#define AWSGATE_RBAC_H

#include <stddef.h>
#include <stdint.h>

/*
 * rbac/ does no I/O and reads no clock: it parses bytes the caller read,
 * takes the time as an argument, and decides without allocating.
 *
 * Lifecycle: a struct rbac_policy is built from resource documents, then
 * frozen and shared (immutable, refcounted) by every worker. Per connection,
 * an identity (from a client certificate or a user resource) is turned into
 * a struct rbac_subject: its roles resolved and their templates expanded
 * once. Per request, rbac_decide() answers with no allocation.
 */

/* Error codes (rbac's range is -200..-299). */
#define RBAC_ERR_NOMEM -201
#define RBAC_ERR_SYNTAX -202    /* not JSON, or JSON with duplicate keys */
#define RBAC_ERR_INVALID -203   /* JSON of the wrong shape or value */
#define RBAC_ERR_DUPLICATE -204 /* a resource name defined twice */
#define RBAC_ERR_NOT_FOUND -205 /* no such app, role or user */
#define RBAC_ERR_AMBIGUOUS -206 /* a role name that matches several ARNs */
#define RBAC_ERR_CERT -207      /* a certificate that cannot be read or used */
#define RBAC_ERR_TOO_LARGE -208 /* past one of the RBAC_MAX_* limits */
#define RBAC_ERR_CRYPTO -209    /* OpenSSL failed (key generation, signing) */
#define RBAC_ERR_DURATION -210  /* not a duration */
#define RBAC_ERR_RANGE -211     /* a number out of range */

/* Returns a static description of |code|. */
const char *rbac_strerror(int code);

/*
 * Where a problem is: a file, a JSON path ("[2].spec.allow.aws_role_arns[1]")
 * and, when known, a line and column (1-based; 0 when unknown), with a
 * message that says what is wrong and what to do.
 */
struct rbac_diag {
	const char *file; /* borrowed */
	char path[256];
	int line;
	int column;
	int code; /* RBAC_ERR_* for errors; 0 for warnings */
	char msg[512];
};

/*
 * Parses a duration: "90s", "15m", "8h", "1h30m", "720h", or a bare integer
 * of seconds; units at most once each, in the order h, m, s. Teleport's
 * exports ("30h0m0s") are in this grammar. Writes seconds to |*secs|.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_DURATION, RBAC_ERR_RANGE (more than UINT32_MAX).
 */
int rbac_duration_parse(const char *s, uint32_t *secs);

/*
 * Finds where the value at JSON path |path| ("[2].spec.allow.aws_role_arns[1]",
 * "listen[0].address", "" for the whole document; a member whose name is
 * not only letters, digits, '_' and '-' is written ["teleport.dev/origin"],
 * without escapes) starts in |text|, which
 * must be the bytes jansson parsed. jansson records positions of syntax
 * errors only; this re-scans the text when an error needs a position.
 * Writes 1-based |*line| and |*column| (a column counts bytes).
 * This function returns 0 if it succeeds, or RBAC_ERR_NOT_FOUND.
 */
int rbac_json_locate(const char *text, size_t len, const char *path, int *line, int *column);

/* --- identities --------------------------------------------------------- */

/* One trait: a name and its values (multi-valued, as Teleport's). */
struct rbac_trait {
	char *name;
	char **values;
	size_t nvalues;
};

/*
 * Who is asking. Filled by rbac_identity_from_cert() or by the caller;
 * every pointer is owned by the identity and freed by rbac_identity_free().
 */
struct rbac_identity {
	char *user;
	char **roles;
	size_t nroles;
	struct rbac_trait *traits;
	size_t ntraits;
	int64_t not_before; /* seconds since the epoch; the certificate's validity */
	int64_t not_after;
	unsigned from_extension : 1;    /* roles and traits came from the identity CA's extension */
	unsigned extension_ignored : 1; /* an identity extension was present, but not from the identity CA */
};

/* Frees what |id| owns and zeroes it; NULL is accepted. */
void rbac_identity_free(struct rbac_identity *id);

/*
 * The identity extension: roles and traits of a user, in certificates that the
 * identity CA issues. OID 2.25.119318852735231482774201551391242687845 (a UUID
 * OID, X.667: no registration needed), not critical. Its extnValue is the DER
 * of a UTF8String holding compact JSON:
 *   {"v":1,"roles":["dev","ops"],"traits":{"logins":["alice"],"email":["a@x.org"]}}
 * docs/IDENTITY.md documents it.
 */
#define RBAC_IDENTITY_EXT_OID "2.25.119318852735231482774201551391242687845"
#define RBAC_MAX_IDENTITY_EXT 65536 /* bytes of JSON */
#define RBAC_MAX_ROLES 256          /* roles of one identity */
#define RBAC_MAX_TRAITS 256         /* traits of one identity */
#define RBAC_MAX_TRAIT_VALUES 1024  /* values of one trait */
#define RBAC_MAX_NAME 253           /* bytes of a user, role, app or lock name */

/* --- certificates (cert.c) ---------------------------------------------- */

#endif
