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

/* Writes |t| (seconds since the epoch) as "2026-11-22T05:30:00Z" to |buf|
 * (|size| bytes; 21 are enough for years 0 to 9999). */
void rbac_time_format(int64_t t, char *buf, size_t size);

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
	int64_t not_before; /* seconds since the epoch; the certificate's validity; */
	int64_t not_after;  /* 0 for no bound (an identity made without a certificate) */
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
 * docs/CA.md documents it.
 */
#define RBAC_IDENTITY_EXT_OID "2.25.119318852735231482774201551391242687845"
#define RBAC_MAX_IDENTITY_EXT 65536 /* bytes of JSON */
#define RBAC_MAX_ROLES 256          /* roles of one identity */
#define RBAC_MAX_TRAITS 256         /* traits of one identity */
#define RBAC_MAX_TRAIT_VALUES 1024  /* values of one trait */
#define RBAC_MAX_NAME 253           /* bytes of a user, role, app or lock name */

/* --- resources and the policy ------------------------------------------ */

#define RBAC_MAX_DOCUMENT (4 << 20) /* bytes of one resource file */
#define RBAC_MAX_PATTERN 2048       /* bytes of one pattern (an ARN is at most 2048) */
#define RBAC_MAX_MATCH_STEPS 100000 /* PCRE2 match limit: a regex that needs more fails closed */

/* Receives each error (d->code < 0) and warning (d->code == 0) in order. */
typedef void rbac_diag_fn(void *arg, const struct rbac_diag *d);

/*
 * Every resource loaded: roles, users, apps and locks, with their patterns
 * and templates compiled. Built by one thread with rbac_policy_load*(), then
 * rbac_policy_freeze(); after that it never changes and any number of
 * threads may read it.
 */
struct rbac_policy;
struct rbac_app;  /* borrowed from the policy; valid while it lives */
struct rbac_role; /* borrowed from the policy */

/* Returns a new, empty policy (+1 reference), or NULL without memory. */
struct rbac_policy *rbac_policy_new(void);

/* +1 reference to |pol|; returns |pol|. */
struct rbac_policy *rbac_policy_ref(struct rbac_policy *pol);

/* -1 reference; the last frees it. NULL is accepted. */
void rbac_policy_unref(struct rbac_policy *pol);

/*
 * Adds the resource documents in |text| (|len| bytes, one document or an
 * array of them, as `tctl get --format=json` writes) from |file| (named in
 * messages; the policy keeps its own copy). Reports every error and warning
 * through |fn|.
 * Documents with errors are not added; the others are.
 * This function returns 0 if it succeeds (warnings allowed), or the code of
 * the first error: RBAC_ERR_SYNTAX, RBAC_ERR_INVALID, RBAC_ERR_DUPLICATE,
 * RBAC_ERR_TOO_LARGE, RBAC_ERR_NOMEM.
 */
int rbac_policy_load(struct rbac_policy *pol, const char *file, const char *text, size_t len, rbac_diag_fn *fn,
		     void *arg);

/*
 * The same for documents already parsed: |docs| is a jansson array or object
 * (a json_t *, borrowed) found at JSON path |path| of |file| whose bytes are
 * |text| (for line and column; may be NULL). The daemon file's inline apps
 * come this way.
 */
int rbac_policy_load_json(struct rbac_policy *pol, const char *file, const char *text, size_t len,
			  void *docs, const char *path, rbac_diag_fn *fn, void *arg);

/*
 * Ends loading: checks what spans documents (a user's or a lock's role
 * that does not exist) and reports it as warnings; rbac_policy_load() has
 * already warned of what one document shows (a role that can grant
 * nothing, a template that can never resolve, a deny rule Teleport would
 * read differently, an app without aws_account_id).
 * Nothing may be loaded after. This function returns 0 if it succeeds, or
 * RBAC_ERR_NOMEM.
 */
int rbac_policy_freeze(struct rbac_policy *pol, rbac_diag_fn *fn, void *arg);

/* Counts of what was loaded, for logs and `config check`. */
struct rbac_policy_stats {
	size_t roles, users, apps, locks, patterns, templates;
};
void rbac_policy_stats(const struct rbac_policy *pol, struct rbac_policy_stats *st);

/* The app named |name| (|len| bytes), or NULL. */
const struct rbac_app *rbac_policy_app(const struct rbac_policy *pol, const char *name, size_t len);

/* The |i|th app in name order, or NULL past the end. */
const struct rbac_app *rbac_policy_app_at(const struct rbac_policy *pol, size_t i);

/* What the gate needs of an app. Strings are borrowed from the policy;
 * absent ones are NULL. */
struct rbac_app_info {
	const char *name;
	const char *description;
	const char *uri;         /* spec.uri: the console URL */
	const char *public_addr; /* spec.public_addr */
	const char *external_id; /* spec.aws.external_id */
	const char *account_id;  /* metadata.labels.aws_account_id */
	int source_identity;     /* spec.aws.source_identity, default 1 */
	const char *file;        /* where it was defined */
};
void rbac_app_info(const struct rbac_app *app, struct rbac_app_info *info);

/* The value of label |key| of |app|, or NULL. */
const char *rbac_app_label(const struct rbac_app *app, const char *key);

/* The |i|th label of |app| in key order: 0 and |*key|, |*value|, or -1 past the end. */
int rbac_app_label_at(const struct rbac_app *app, size_t i, const char **key, const char **value);

/* A lock, as listed by `awsgatectl lock ls`. Strings borrowed from the policy. */
struct rbac_lock_info {
	const char *name;
	const char *user; /* target: exactly one of user and role */
	const char *role;
	const char *message;
	int64_t expires; /* seconds since the epoch; 0 never */
	const char *file;
};
/* The |i|th lock in name order: 0, or -1 past the end. */
int rbac_policy_lock_at(const struct rbac_policy *pol, size_t i, struct rbac_lock_info *info);

/* --- subjects and decisions -------------------------------------------- */

/*
 * An identity bound to a frozen policy: its roles found, their templates
 * expanded with its traits, its ARN patterns indexed. Roles and traits come
 * from the identity when it carries them (id->from_extension), otherwise
 * from the policy's user resource named id->user. Made once per connection;
 * used by one thread at a time (a decision may memoise per-app results in it).
 * Holds a reference to |pol|.
 */
struct rbac_subject;

/*
 * Builds the subject of |id| (borrowed; the subject copies what it keeps)
 * under |pol|. Problems that do not stop it (a role that does not exist, a
 * template value that resolves to nothing) go to |fn| as warnings.
 * A trait value that makes an invalid pattern is skipped with a warning in
 * an allow rule, and is an error in a deny rule (a deny must not narrow).
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_NOMEM, RBAC_ERR_INVALID (a bad user name, or a deny
 * value that makes an invalid pattern), RBAC_ERR_TOO_LARGE.
 */
int rbac_subject_new(struct rbac_policy *pol, const struct rbac_identity *id, struct rbac_subject **out,
		     rbac_diag_fn *fn, void *arg);

/* Frees |s|; NULL is accepted. */
void rbac_subject_del(struct rbac_subject *s);

/* The subject's user name; its policy; and, in name order, the role names
 * it carries (defined or not), NULL past the end. */
const char *rbac_subject_user(const struct rbac_subject *s);
const struct rbac_policy *rbac_subject_policy(const struct rbac_subject *s);
const char *rbac_subject_role_at(const struct rbac_subject *s, size_t i);

enum rbac_reason {
	RBAC_ALLOWED = 0,
	RBAC_DENY_NOT_YET_VALID, /* the certificate's notBefore is in the future */
	RBAC_DENY_EXPIRED,       /* the certificate has expired */
	RBAC_DENY_LOCKED,        /* a lock on the user or one of its roles */
	RBAC_DENY_BAD_ARN,       /* not an IAM role ARN */
	RBAC_DENY_ACCOUNT,       /* the ARN's account is not the app's aws_account_id */
	RBAC_DENY_RULE_APP,      /* a deny rule's app_labels match the app (every ARN denied) */
	RBAC_DENY_RULE_ARN,      /* a deny rule's aws_role_arns match the ARN */
	RBAC_DENY_NO_ROLES,      /* the identity has no (known) roles */
	RBAC_DENY_NO_APP,        /* no role's allow.app_labels match the app */
	RBAC_DENY_NO_ARN,        /* roles allow the app, none allows the ARN */
};

/* Returns the static token of |r| for logs and JSON: "allowed", "not-yet-valid",
 * "expired", "locked", "bad-arn", "account-mismatch", "deny-rule-app",
 * "deny-rule-arn", "no-roles", "no-role-for-app", "no-role-for-arn". */
const char *rbac_reason_str(enum rbac_reason r);

/*
 * A decision and why. Strings are borrowed from the subject or its policy
 * and valid while the subject lives.
 */
struct rbac_decision {
	int allow;
	enum rbac_reason reason;
	const char *role;    /* the role that allowed or denied, or NULL */
	const char *rule;    /* where in that role: "spec.deny.aws_role_arns[3]", or NULL */
	const char *pattern; /* the matching value as written (a template unexpanded), or NULL */
	const char *lock;    /* RBAC_DENY_LOCKED: the lock's name and message */
	const char *message;
	uint32_t session_ttl; /* allowed: seconds the session may last from |now| */
};

/*
 * Decides whether |s| may use role |arn| (|len| bytes) in |app| at time
 * |now| (seconds since the epoch). Allocates nothing, does no I/O.
 * Writes |*d|: allowed when one of the subject's roles has an allow rule
 * whose app_labels match the app and whose aws_role_arns match the ARN, no
 * deny rule matches, no lock applies and the certificate is valid; then
 * d->session_ttl is the shortest of the certificate's remaining life and
 * the max_session_ttl of every role that allows it.
 */
void rbac_decide(struct rbac_subject *s, const struct rbac_app *app, const char *arn, size_t len, int64_t now,
		 struct rbac_decision *d);

/*
 * Writes |d| explained in words a person can act on to |buf| (always
 * NUL-terminated). Returns the length it needed, as snprintf does.
 */
size_t rbac_decision_explain(const struct rbac_decision *d, const struct rbac_subject *s,
			     const struct rbac_app *app, const char *arn, char *buf, size_t size);

/* One role the subject may use in an app. Strings borrowed from the subject. */
struct rbac_role_choice {
	const char *arn;
	const char *name;    /* the last path segment: "Admin" */
	const char *path;    /* the path between "role" and the name: "/", "/team/" */
	const char *account; /* 12 digits */
	uint32_t session_ttl;
};

/*
 * Lists the role ARNs |s| may use in |app| at |now|: the exact ARNs of its
 * allow rules (globs and regexes cannot be listed), of the app's account
 * when the app has an aws_account_id label, that rbac_decide() allows;
 * sorted, without duplicates. Writes up to |max| to |out| and the number
 * found to |*n| (which may exceed |max|).
 * This function returns 0 if it succeeds, or RBAC_ERR_NOMEM.
 */
int rbac_subject_roles(struct rbac_subject *s, const struct rbac_app *app, int64_t now, struct rbac_role_choice *out,
		       size_t max, size_t *n);

/*
 * Chooses a role for |s| in |app| by |want|: a full ARN (taken as is: the
 * decision is rbac_decide()'s), or a name that matches the last path
 * segment or the whole path after "role/" of an exact ARN that an allow
 * rule matching the app names, in the app's account. Names resolve before
 * deny rules, locks and the clock are considered, so that the decision on
 * the chosen ARN can say why it is denied. |want| NULL
 * chooses the only listed role. Writes the ARN (borrowed from the subject,
 * or |want| itself when it is an ARN) to |*arn|. On RBAC_ERR_AMBIGUOUS and RBAC_ERR_NOT_FOUND, |diag->msg|
 * lists the candidates.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_NOT_FOUND, RBAC_ERR_AMBIGUOUS.
 */
int rbac_subject_choose(struct rbac_subject *s, const struct rbac_app *app, const char *want, int64_t now,
			const char **arn, struct rbac_diag *diag);

/* --- templates and patterns (exposed for tests and fuzzing) ------------ */

/*
 * Expands template |tmpl| ("{{internal.aws_role_arns}}",
 * "arn:aws:iam::1:role/{{email.local(external.email)}}", or a literal)
 * with |traits|, calling |emit| for each resulting value (several for a
 * multi-valued trait; none when it resolves to nothing).
 * This function returns 0 if it succeeds, or RBAC_ERR_INVALID (with
 * |diag->msg| saying why) for a malformed template, or RBAC_ERR_NOMEM.
 */
int rbac_template_expand(const char *tmpl, const struct rbac_trait *traits, size_t ntraits,
			 void (*emit)(void *arg, const char *value, size_t len), void *arg, struct rbac_diag *diag);

/*
 * Matches |s| against pattern |pat| as INTERFACES.md defines: exact, glob
 * with '*' and '?' over the whole string, or "^regex$" (PCRE2). Compiles
 * the pattern each call: for tests and tools, not for the request path.
 * Returns 1 match, 0 no match, RBAC_ERR_INVALID for a bad regex.
 */
int rbac_pattern_match(const char *pat, const char *s, size_t len);

/* --- certificates (cert.c) ---------------------------------------------- */

/*
 * The built-in CA: building certificates and reading identities back, in
 * memory. No files and no clock: proxy/ reads and writes the files, and
 * every function that dates something takes |now| (seconds since the epoch).
 * docs/CA.md describes the certificates these functions make.
 *
 * OpenSSL's types are declared here, rather than at the top, because this
 * section is the only part of the header that needs them.
 */
#include <openssl/types.h>

#define RBAC_CA_DEFAULT_NAME "awsgate CA"
/* notBefore of everything issued is |now| minus this, so that a peer whose
 * clock is a little behind ours accepts a certificate issued a moment ago. */
#define RBAC_CERT_BACKDATE 60
#define RBAC_MAX_SAN 64 /* DNS names plus IP addresses of a server certificate */
/* "sha256:" and 64 hex digits, and the NUL. */
#define RBAC_CERT_PIN_SIZE 72
/* A serial as hex: up to 20 octets (RFC 5280), an optional '-' (other CAs'
 * certificates only), and the NUL. */
#define RBAC_SERIAL_HEX_SIZE 42

/* A CA: its certificate and its private key, both owned. */
struct rbac_ca {
	X509 *cert;
	EVP_PKEY *key;
};

/*
 * Makes a new CA: an ECDSA P-256 key and a self-signed certificate with
 * subject CN |name| (NULL: RBAC_CA_DEFAULT_NAME), basicConstraints critical
 * CA:TRUE pathlen:0, keyUsage critical keyCertSign and cRLSign, a subject key
 * identifier, valid from |now| - RBAC_CERT_BACKDATE to |now| + |ttl| seconds.
 * On success |*ca| holds a new certificate and key; free them with
 * rbac_ca_free(). |diag| (may be NULL) says what was wrong.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_INVALID (a bad name), RBAC_ERR_RANGE (|ttl| is 0),
 * RBAC_ERR_CRYPTO, RBAC_ERR_NOMEM.
 */
int rbac_ca_create(const char *name, int64_t now, uint32_t ttl, struct rbac_ca *ca, struct rbac_diag *diag);

/*
 * Reads a CA from the PEM of its certificate and of its unencrypted private
 * key (PKCS#8 or the traditional form), checking that the certificate is a
 * CA's, carries a subject key identifier, and matches the key. The key
 * buffer is only read; wiping it is the caller's business.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_CERT (with |diag| saying which part), RBAC_ERR_NOMEM.
 */
int rbac_ca_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                     struct rbac_ca *ca, struct rbac_diag *diag);

/* Frees what |ca| owns (OpenSSL wipes the key) and zeroes it; NULL is accepted. */
void rbac_ca_free(struct rbac_ca *ca);

/*
 * Issues a user's client certificate signed by |ca|: a new P-256 key,
 * subject CN |id->user|, a random positive 159-bit serial, extKeyUsage
 * clientAuth, keyUsage critical digitalSignature, basicConstraints critical
 * CA:FALSE, subject and authority key identifiers, and the identity
 * extension with |id|'s roles and traits (always, even when both are empty).
 * Valid from |now| - RBAC_CERT_BACKDATE to |now| + |ttl|; refused when that
 * is past the CA's notAfter (|diag| names the longest TTL left).
 * |id->not_before|, |not_after| and the flags are not used.
 * On success |*cert| and |*key| are new objects the caller frees
 * (X509_free(), EVP_PKEY_free()).
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_INVALID (a user, role or trait that the reader would
 * refuse), RBAC_ERR_TOO_LARGE (past an RBAC_MAX_* limit), RBAC_ERR_RANGE
 * (|ttl| is 0 or outlives the CA), RBAC_ERR_CRYPTO, RBAC_ERR_NOMEM.
 */
int rbac_cert_issue_user(const struct rbac_ca *ca, const struct rbac_identity *id, int64_t now, uint32_t ttl,
                         X509 **cert, EVP_PKEY **key, struct rbac_diag *diag);

/*
 * Issues a server certificate signed by |ca|: a new P-256 key, subject CN the
 * first of |dns| (the first of |ips| when there is no DNS name), a
 * subjectAltName with every DNS name (LDH labels, a "*" first label allowed)
 * and every IPv4 or IPv6 address of |ips| (text form), extKeyUsage
 * serverAuth, keyUsage critical digitalSignature, basicConstraints critical
 * CA:FALSE, key identifiers; validity and the CA's notAfter as for
 * rbac_cert_issue_user(). At most RBAC_MAX_SAN names in all.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_INVALID (no names, or a bad name or address),
 * RBAC_ERR_TOO_LARGE, RBAC_ERR_RANGE, RBAC_ERR_CRYPTO, RBAC_ERR_NOMEM.
 */
int rbac_cert_issue_server(const struct rbac_ca *ca, const char *const *dns, size_t ndns,
                           const char *const *ips, size_t nips, int64_t now, uint32_t ttl, X509 **cert,
                           EVP_PKEY **key, struct rbac_diag *diag);

/* One revoked certificate: its serial (hex, as rbac_serial_normalize()
 * writes it; borrowed) and when it was revoked. */
struct rbac_revoked {
	const char *serial;
	int64_t revoked_at;
};

/*
 * Builds a v2 CRL signed by |ca|: the |n| revoked serials of |revoked|,
 * cRLNumber |number|, an authority key identifier, lastUpdate |now|,
 * nextUpdate |now| + |ttl| (refused past the CA's notAfter).
 * On success |*crl| is a new object the caller frees with X509_CRL_free().
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_INVALID (a serial that is not hex),
 * RBAC_ERR_RANGE, RBAC_ERR_CRYPTO, RBAC_ERR_NOMEM.
 */
int rbac_crl_build(const struct rbac_ca *ca, const struct rbac_revoked *revoked, size_t n, uint64_t number,
                   int64_t now, uint32_t ttl, X509_CRL **crl, struct rbac_diag *diag);

/*
 * Reads the identity in |cert|: the user from the subject's one CN (required:
 * not empty, at most RBAC_MAX_NAME bytes of UTF-8, no control characters),
 * not_before and not_after from its validity, and roles and traits from the
 * identity extension only when |identity_ca| is not NULL and |cert| was
 * issued and signed by it (issuer equals the CA's subject and the signature
 * verifies with the CA's key); then |from_extension| is set. Otherwise roles
 * and traits stay empty, and |extension_ignored| is set when the extension
 * is there. Expiry is not checked: the caller decides with its clock.
 * On success |*id| is overwritten (not freed first); free it with
 * rbac_identity_free().
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_CERT (no usable CN, unreadable validity, the
 * extension twice or critical), RBAC_ERR_SYNTAX, RBAC_ERR_INVALID,
 * RBAC_ERR_TOO_LARGE (a trusted extension that rbac_identity_ext_parse()
 * refuses), RBAC_ERR_NOMEM.
 */
int rbac_identity_from_cert(const X509 *cert, const X509 *identity_ca, struct rbac_identity *id,
                            struct rbac_diag *diag);

/*
 * Parses the identity extension's extnValue: |len| bytes of DER (a
 * UTF8String, exactly DER, nothing after it) holding the JSON that
 * rbac_identity_json_parse() reads. On success |*id| is overwritten with an
 * identity of roles and traits only (no user, no validity, no flags).
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_SYNTAX (not a DER UTF8String, or not JSON),
 * RBAC_ERR_INVALID, RBAC_ERR_TOO_LARGE, RBAC_ERR_NOMEM.
 */
int rbac_identity_ext_parse(const unsigned char *der, size_t len, struct rbac_identity *id,
                            struct rbac_diag *diag);

/*
 * Parses the identity extension's JSON, strictly: one object, duplicate keys
 * refused, "v" the integer 1, optional "roles" (an array of distinct names)
 * and "traits" (an object of arrays of distinct strings), no other key,
 * within RBAC_MAX_IDENTITY_EXT, RBAC_MAX_ROLES, RBAC_MAX_TRAITS and
 * RBAC_MAX_TRAIT_VALUES. Names (roles, trait names) are 1 to RBAC_MAX_NAME
 * bytes; no string holds a control character. |diag->path| names the
 * offending value ("traits.logins[2]"); syntax errors have a line and column.
 * On success |*id| is overwritten as by rbac_identity_ext_parse().
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_SYNTAX, RBAC_ERR_INVALID, RBAC_ERR_TOO_LARGE,
 * RBAC_ERR_NOMEM.
 */
int rbac_identity_json_parse(const char *json, size_t len, struct rbac_identity *id, struct rbac_diag *diag);

/*
 * Encodes |id|'s roles and traits as the identity extension's extnValue
 * (compact JSON {"v":1,"roles":[...],"traits":{...}} in a DER UTF8String),
 * checked against the rules rbac_identity_json_parse() applies, so that
 * nothing is issued that the reader would refuse. On success |*der| is a new
 * buffer of |*len| bytes; free() it.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_INVALID, RBAC_ERR_TOO_LARGE, RBAC_ERR_NOMEM.
 */
int rbac_identity_ext_encode(const struct rbac_identity *id, unsigned char **der, size_t *len,
                             struct rbac_diag *diag);

/*
 * Writes the pin of |cert|'s public key, "sha256:" and the lower-case hex
 * SHA-256 of its DER SubjectPublicKeyInfo, to |pin|.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_CERT, RBAC_ERR_NOMEM.
 */
int rbac_cert_pin(const X509 *cert, char pin[RBAC_CERT_PIN_SIZE]);

/*
 * Writes |cert|'s serial to |hex| as `openssl x509 -serial` prints it:
 * upper-case hex, an even number of digits, a '-' first if it is negative.
 * This function returns 0 if it succeeds, or RBAC_ERR_TOO_LARGE (more than
 * 20 octets).
 */
int rbac_cert_serial(const X509 *cert, char hex[RBAC_SERIAL_HEX_SIZE]);

/*
 * Normalises a positive serial typed by a person: hex digits in either case,
 * optionally in pairs separated by ':' (as `openssl x509 -text` prints
 * them); leading zeros dropped. Writes the form of rbac_cert_serial() to
 * |hex|.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: RBAC_ERR_INVALID (not hex, or zero), RBAC_ERR_TOO_LARGE
 * (more than 20 octets).
 */
int rbac_serial_normalize(const char *in, char hex[RBAC_SERIAL_HEX_SIZE]);

#endif
