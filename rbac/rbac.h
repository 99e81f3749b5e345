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
 * "listen[0].address", "" for the whole document) starts in |text|, which
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
