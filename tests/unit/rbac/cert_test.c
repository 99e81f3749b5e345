/* SPDX-License-Identifier: Apache-2.0 */
/* cert_test.c: the built-in CA's certificates, CRLs and identity extension, issued and read back. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rbac/rbac.h"

/* Expected values come from rbac.h (the extension's format and limits, the
 * backdating) and RFC 5280; certificates are checked with OpenSSL's own
 * readers (X509_verify, X509_check_ca, the extension decoders), not ours. */

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define HOUR 3600u
#define CA_TTL (24u * HOUR)

/* The identity CA and a stranger with the same name and another key. */
static struct rbac_ca ca, other;

static int group_setup(void **state)
{
	(void)state;
	if (rbac_ca_create(NULL, NOW, CA_TTL, &ca, NULL) != 0 ||
	    rbac_ca_create(NULL, NOW, CA_TTL, &other, NULL) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rbac_ca_free(&ca);
	rbac_ca_free(&other);
	return 0;
}

/* An identity to issue: |user| with roles and traits given as NULL-ended
 * lists ("name", "v1", "v2", NULL, "name2", ..., NULL NULL). Owned. */
static void make_identity(struct rbac_identity *id, const char *user, const char *const *roles,
                          const char *const *traits)
{
	memset(id, 0, sizeof(*id));
	id->user = user ? strdup(user) : NULL;
	for (size_t i = 0; roles && roles[i]; i++) {
		id->roles = realloc(id->roles, (id->nroles + 1) * sizeof(char *));
		id->roles[id->nroles++] = strdup(roles[i]);
	}
	for (size_t i = 0; traits && traits[i];) {
		id->traits = realloc(id->traits, (id->ntraits + 1) * sizeof(*id->traits));
		struct rbac_trait *t = &id->traits[id->ntraits++];
		memset(t, 0, sizeof(*t));
		t->name = strdup(traits[i++]);
		for (; traits[i]; i++) {
			t->values = realloc(t->values, (t->nvalues + 1) * sizeof(char *));
			t->values[t->nvalues++] = strdup(traits[i]);
		}
		i++;
	}
}

static int64_t asn1_epoch(const ASN1_TIME *t)
{
	int day = 0, sec = 0;
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	assert_non_null(epoch);
	assert_true(ASN1_TIME_diff(&day, &sec, epoch, t));
	ASN1_TIME_free(epoch);
	return (int64_t)day * 86400 + sec;
}

/* The raw extnValue of the identity extension of |x|, or NULL. */
static const ASN1_OCTET_STRING *identity_ext(const X509 *x)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(RBAC_IDENTITY_EXT_OID, 1);
	int at = X509_get_ext_by_OBJ(x, oid, -1);
	ASN1_OBJECT_free(oid);
	return at < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, at));
}

/* ------------------------------------------------------------------------
 * The CA */

static void test_ca_create(void **state)
{
	(void)state;
	X509 *x = ca.cert;
	char cn[64];

	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_check_private_key(x, ca.key), 1);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1); /* self-signed */
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)),
	                 10);
	assert_string_equal(cn, "awsgate CA");
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	assert_int_equal(EVP_PKEY_get_base_id(ca.key), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(ca.key), 256);
	/* basicConstraints critical CA:TRUE pathlen:0, keyUsage critical. */
	int crit = -1;
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_true(bc->ca);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	ASN1_BIT_STRING_free(ku);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(x));
	/* Backdated a minute for clock skew; ends |ttl| after now. */
	assert_int_equal(asn1_epoch(X509_get0_notBefore(x)), NOW - RBAC_CERT_BACKDATE);
	assert_int_equal(asn1_epoch(X509_get0_notAfter(x)), NOW + CA_TTL);
}

static void test_ca_create_named(void **state)
{
	(void)state;
	struct rbac_ca c = {NULL, NULL};
	struct rbac_diag diag;
	char cn[64];

	assert_int_equal(rbac_ca_create("Example Corp gate CA", NOW, HOUR, &c, &diag), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(c.cert), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "Example Corp gate CA");
	rbac_ca_free(&c);
	rbac_ca_free(&c); /* freed twice: zeroed the first time */
	rbac_ca_free(NULL);
}

static void test_ca_create_refused(void **state)
{
	(void)state;
	struct rbac_ca c = {NULL, NULL};
	struct rbac_diag diag;

	assert_int_equal(rbac_ca_create("bad\nname", NOW, HOUR, &c, &diag), RBAC_ERR_INVALID);
	assert_int_equal(rbac_ca_create("", NOW, HOUR, &c, &diag), RBAC_ERR_INVALID);
	assert_int_equal(rbac_ca_create("x", NOW, 0, &c, &diag), RBAC_ERR_RANGE);
	assert_null(c.cert);
	assert_null(c.key);
}

/* PEM out, PEM in: the CA the commands write is the CA they read. */
static void test_ca_from_pem(void **state)
{
	(void)state;
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem()), *ob = BIO_new(BIO_s_mem());
	char *cert, *key, *okey;
	struct rbac_ca c = {NULL, NULL};
	struct rbac_diag diag;

	assert_true(PEM_write_bio_X509(cb, ca.cert));
	assert_true(PEM_write_bio_PrivateKey(kb, ca.key, NULL, NULL, 0, NULL, NULL));
	assert_true(PEM_write_bio_PrivateKey(ob, other.key, NULL, NULL, 0, NULL, NULL));
	long clen = BIO_get_mem_data(cb, &cert), klen = BIO_get_mem_data(kb, &key),
	     olen = BIO_get_mem_data(ob, &okey);

	assert_int_equal(rbac_ca_from_pem(cert, (size_t)clen, key, (size_t)klen, &c, &diag), 0);
	assert_int_equal(X509_cmp(c.cert, ca.cert), 0);
	assert_int_equal(EVP_PKEY_eq(c.key, ca.key), 1);
	rbac_ca_free(&c);

	/* Another CA's key, no key, a certificate that is not a CA's. */
	assert_int_equal(rbac_ca_from_pem(cert, (size_t)clen, okey, (size_t)olen, &c, &diag), RBAC_ERR_CERT);
	assert_non_null(strstr(diag.msg, "does not belong"));
	assert_int_equal(rbac_ca_from_pem(cert, (size_t)clen, "", 0, &c, &diag), RBAC_ERR_CERT);
	assert_int_equal(rbac_ca_from_pem("junk", 4, key, (size_t)klen, &c, &diag), RBAC_ERR_CERT);
	assert_null(c.cert);

	X509 *leaf;
	EVP_PKEY *lkey;
	struct rbac_identity id;
	make_identity(&id, "alice", NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &id, NOW, HOUR, &leaf, &lkey, &diag), 0);
	BIO *lb = BIO_new(BIO_s_mem()), *lkb = BIO_new(BIO_s_mem());
	char *lcert, *lkeypem;
	assert_true(PEM_write_bio_X509(lb, leaf));
	assert_true(PEM_write_bio_PrivateKey(lkb, lkey, NULL, NULL, 0, NULL, NULL));
	long llen = BIO_get_mem_data(lb, &lcert), lklen = BIO_get_mem_data(lkb, &lkeypem);
	assert_int_equal(rbac_ca_from_pem(lcert, (size_t)llen, lkeypem, (size_t)lklen, &c, &diag),
	                 RBAC_ERR_CERT);
	assert_non_null(strstr(diag.msg, "not a CA"));
	BIO_free(lb);
	BIO_free(lkb);
	X509_free(leaf);
	EVP_PKEY_free(lkey);
	rbac_identity_free(&id);
	BIO_free(cb);
	BIO_free(kb);
	BIO_free(ob);
}

/* ------------------------------------------------------------------------
 * User certificates */

static void test_user_issue_and_read(void **state)
{
	(void)state;
	static const char *const roles[] = {"dev", "ops", NULL};
	static const char *const traits[] = {"logins", "alice", "root", NULL, "email", "alice@example.org",
	                                     NULL,     NULL};
	struct rbac_identity in, out;
	struct rbac_diag diag;
	X509 *x;
	EVP_PKEY *key;

	make_identity(&in, "alice", roles, traits);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, 8 * HOUR, &x, &key, &diag), 0);

	/* What OpenSSL sees. */
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca.cert)), 1);
	assert_int_equal(X509_check_private_key(x, key), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(ca.cert)), 0);
	assert_int_equal(asn1_epoch(X509_get0_notBefore(x)), NOW - RBAC_CERT_BACKDATE);
	assert_int_equal(asn1_epoch(X509_get0_notAfter(x)), NOW + 8 * HOUR);
	BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_false(BN_is_negative(serial));
	assert_true(BN_num_bits(serial) >= 128);
	BN_free(serial);
	int crit = -1;
	ASN1_BIT_STRING_free(X509_get_ext_d2i(x, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);

	/* What the gate reads back. */
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, &diag), 0);
	assert_string_equal(out.user, "alice");
	assert_int_equal(out.nroles, 2);
	assert_string_equal(out.roles[0], "dev");
	assert_string_equal(out.roles[1], "ops");
	assert_int_equal(out.ntraits, 2);
	assert_string_equal(out.traits[0].name, "logins");
	assert_int_equal(out.traits[0].nvalues, 2);
	assert_string_equal(out.traits[0].values[1], "root");
	assert_string_equal(out.traits[1].name, "email");
	assert_string_equal(out.traits[1].values[0], "alice@example.org");
	assert_int_equal(out.not_before, NOW - RBAC_CERT_BACKDATE);
	assert_int_equal(out.not_after, NOW + 8 * HOUR);
	assert_true(out.from_extension);
	assert_false(out.extension_ignored);

	rbac_identity_free(&out);
	assert_null(out.user);
	assert_int_equal(out.nroles, 0);
	rbac_identity_free(&out); /* freed twice: zeroed the first time */
	rbac_identity_free(NULL);
	rbac_identity_free(&in);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* No roles, no traits: the extension is there all the same, exactly so. */
static void test_user_empty_extension(void **state)
{
	(void)state;
	static const char json[] = "{\"v\":1,\"roles\":[],\"traits\":{}}";
	struct rbac_identity in, out;
	X509 *x;
	EVP_PKEY *key;

	make_identity(&in, "bob", NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, NULL), 0);
	const ASN1_OCTET_STRING *ext = identity_ext(x);
	assert_non_null(ext);
	const unsigned char *der = ASN1_STRING_get0_data(ext);
	assert_int_equal(ASN1_STRING_length(ext), 2 + sizeof(json) - 1);
	assert_int_equal(der[0], 0x0c); /* UTF8String */
	assert_int_equal(der[1], sizeof(json) - 1);
	assert_memory_equal(der + 2, json, sizeof(json) - 1);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, NULL), 0);
	assert_true(out.from_extension);
	assert_int_equal(out.nroles + out.ntraits, 0);
	rbac_identity_free(&out);
	rbac_identity_free(&in);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* The extension is believed only from the identity CA. */
static void test_user_extension_trust(void **state)
{
	(void)state;
	static const char *const roles[] = {"admin", NULL};
	struct rbac_identity in, out;
	X509 *x;
	EVP_PKEY *key;

	make_identity(&in, "mallory", roles, NULL);
	/* Issued by a CA with the identity CA's very name, another key. */
	assert_int_equal(rbac_cert_issue_user(&other, &in, NOW, HOUR, &x, &key, NULL), 0);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca.cert)), 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, NULL), 0);
	assert_string_equal(out.user, "mallory");
	assert_int_equal(out.nroles, 0);
	assert_null(out.roles);
	assert_false(out.from_extension);
	assert_true(out.extension_ignored);
	rbac_identity_free(&out);

	/* No identity CA at all: the same. */
	assert_int_equal(rbac_identity_from_cert(x, NULL, &out, NULL), 0);
	assert_int_equal(out.nroles, 0);
	assert_true(out.extension_ignored);
	rbac_identity_free(&out);

	/* The stranger's own certificate, checked against the stranger: trusted. */
	assert_int_equal(rbac_identity_from_cert(x, other.cert, &out, NULL), 0);
	assert_true(out.from_extension);
	assert_int_equal(out.nroles, 1);
	rbac_identity_free(&out);
	rbac_identity_free(&in);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void test_user_refused(void **state)
{
	(void)state;
	static const char *const dup_roles[] = {"dev", "dev", NULL};
	static const char *const bad_role[] = {"de\tv", NULL};
	static const char *const dup_values[] = {"logins", "a", "a", NULL, NULL};
	struct rbac_identity in;
	struct rbac_diag diag;
	X509 *x = (X509 *)&diag; /* written only on success */
	EVP_PKEY *key = NULL;

	make_identity(&in, "", NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_INVALID);
	rbac_identity_free(&in);
	make_identity(&in, NULL, NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_INVALID);
	rbac_identity_free(&in);
	make_identity(&in, "al\x1b[31mice", NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_INVALID);
	assert_non_null(strstr(diag.msg, "control character"));
	rbac_identity_free(&in);
	make_identity(&in, "alice", dup_roles, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_INVALID);
	assert_string_equal(diag.path, "roles[1]");
	rbac_identity_free(&in);
	make_identity(&in, "alice", bad_role, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_INVALID);
	rbac_identity_free(&in);
	make_identity(&in, "alice", NULL, dup_values);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_INVALID);
	assert_string_equal(diag.path, "traits.logins[1]");
	rbac_identity_free(&in);
	make_identity(&in, "alice", NULL, NULL);
	in.roles = malloc(sizeof(char *));
	in.roles[0] = strdup("\xc3\x28"); /* not UTF-8 */
	in.nroles = 1;
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_INVALID);
	rbac_identity_free(&in);
	/* 254 bytes of user name: one past RBAC_MAX_NAME. */
	char long_name[RBAC_MAX_NAME + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	make_identity(&in, long_name, NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), RBAC_ERR_TOO_LARGE);
	rbac_identity_free(&in);
	assert_ptr_equal(x, (X509 *)&diag);
	assert_null(key);
}

/* A 253-byte user name (RBAC_MAX_NAME, past X.520's 64) is issued and read. */
static void test_user_long_name(void **state)
{
	(void)state;
	char name[RBAC_MAX_NAME + 1];
	struct rbac_identity in, out;
	X509 *x;
	EVP_PKEY *key;

	memset(name, 'n', RBAC_MAX_NAME);
	name[RBAC_MAX_NAME] = '\0';
	make_identity(&in, name, NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, NULL), 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, NULL), 0);
	assert_string_equal(out.user, name);
	rbac_identity_free(&out);
	rbac_identity_free(&in);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* A certificate cannot outlive its CA. */
static void test_user_ttl_past_ca(void **state)
{
	(void)state;
	struct rbac_identity in;
	struct rbac_diag diag;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;

	make_identity(&in, "alice", NULL, NULL);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, CA_TTL + 1, &x, &key, &diag), RBAC_ERR_RANGE);
	assert_non_null(strstr(diag.msg, "outlive its CA"));
	assert_non_null(strstr(diag.msg, "at most 24h"));
	assert_null(x);
	/* Later in the CA's life, less is left. */
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW + 22 * HOUR + 1800, 2 * HOUR, &x, &key, &diag),
	                 RBAC_ERR_RANGE);
	assert_non_null(strstr(diag.msg, "at most 1h30m"));
	/* After the CA's end: nothing. */
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW + CA_TTL, 1, &x, &key, &diag), RBAC_ERR_RANGE);
	assert_non_null(strstr(diag.msg, "the CA expired"));
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, 0, &x, &key, &diag), RBAC_ERR_RANGE);
	/* Up to the CA's last second is fine. */
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, CA_TTL, &x, &key, &diag), 0);
	assert_int_equal(asn1_epoch(X509_get0_notAfter(x)), asn1_epoch(X509_get0_notAfter(ca.cert)));
	X509_free(x);
	EVP_PKEY_free(key);
	rbac_identity_free(&in);
}

/* ------------------------------------------------------------------------
 * Certificates made by hand, as a careless or hostile CA would */

/* A certificate signed by |signer| with subject CNs |cns| (NULL-ended,
 * taken as bytes of |cnlens| when given), and the identity extension
 * |ext| (DER, |extlen|) |next| times, critical or not. */
static X509 *craft(const struct rbac_ca *signer, const char *const *cns, const int *cnlens, const void *ext,
                   size_t extlen, int next, int critical)
{
	X509 *x = X509_new();
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_NAME *name = X509_NAME_new();

	assert_non_null(x);
	assert_non_null(key);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
	for (size_t i = 0; cns && cns[i]; i++)
		assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
		                                       (const unsigned char *)cns[i], cnlens ? cnlens[i] : -1,
		                                       -1, 0));
	assert_true(X509_set_subject_name(x, name));
	assert_true(X509_set_issuer_name(x, X509_get_subject_name(signer->cert)));
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)NOW));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(NOW + HOUR)));
	assert_true(X509_set_pubkey(x, key));
	for (int i = 0; i < next; i++) {
		ASN1_OBJECT *oid = OBJ_txt2obj(RBAC_IDENTITY_EXT_OID, 1);
		ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
		assert_true(ASN1_OCTET_STRING_set(v, ext, (int)extlen));
		X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, oid, critical, v);
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(v);
		ASN1_OBJECT_free(oid);
	}
	assert_true(X509_sign(x, signer->key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return x;
}

/* DER of a UTF8String holding |json| (short form: under 128 bytes). */
static size_t utf8string(unsigned char *der, const char *json)
{
	size_t n = strlen(json);
	assert_true(n < 128);
	der[0] = 0x0c;
	der[1] = (unsigned char)n;
	memcpy(der + 2, json, n);
	return n + 2;
}

struct cn_case {
	const char *name;
	const char *cns[3];
	int lens[2];
	int rv;
};

static struct cn_case cn_cases[] = {
    {"cn-missing", {NULL}, {0, 0}, RBAC_ERR_CERT},
    {"cn-empty", {"", NULL}, {0, 0}, RBAC_ERR_CERT},
    {"cn-twice", {"alice", "bob", NULL}, {5, 3}, RBAC_ERR_CERT},
    {"cn-newline", {"alice\nadmin", NULL}, {11, 0}, RBAC_ERR_CERT},
    {"cn-nul-inside", {"alice\0x", NULL}, {7, 0}, RBAC_ERR_CERT},
    {"cn-del", {"alice\x7f", NULL}, {6, 0}, RBAC_ERR_CERT},
    {"cn-c1-control", {"alice\xc2\x85", NULL}, {7, 0}, RBAC_ERR_CERT},
    {"cn-utf8", {"J\xc3\xbcrgen", NULL}, {7, 0}, 0},
    {"cn-one", {"a", NULL}, {1, 0}, 0},
};

static void test_cn(void **state)
{
	const struct cn_case *c = *state;
	struct rbac_identity out;
	struct rbac_diag diag;

	X509 *x = craft(&ca, c->cns, c->lens, NULL, 0, 0, 0);
	memset(&out, 0x5a, sizeof(out));
	int rv = rbac_identity_from_cert(x, ca.cert, &out, &diag);
	assert_int_equal(rv, c->rv);
	if (rv == 0) {
		assert_memory_equal(out.user, c->cns[0], (size_t)c->lens[0]);
		rbac_identity_free(&out);
	} else {
		assert_int_equal(diag.code, rv);
		assert_string_equal(diag.path, "subject");
		assert_int_equal(out.nroles, 0x5a5a5a5a5a5a5a5a); /* written only on success */
	}
	X509_free(x);
}

/* A 254-byte CN, one past RBAC_MAX_NAME. */
static void test_cn_too_long(void **state)
{
	(void)state;
	char name[RBAC_MAX_NAME + 2];
	const char *cns[] = {name, NULL};
	struct rbac_identity out;

	memset(name, 'a', RBAC_MAX_NAME + 1);
	name[RBAC_MAX_NAME + 1] = '\0';
	X509 *x = craft(&ca, cns, NULL, NULL, 0, 0, 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, NULL), RBAC_ERR_CERT);
	X509_free(x);
}

static void test_crafted_extension(void **state)
{
	(void)state;
	static const char *const cns[] = {"carol", NULL};
	unsigned char der[160];
	size_t n = utf8string(der, "{\"v\":1,\"roles\":[\"dev\"]}");
	struct rbac_identity out;
	struct rbac_diag diag;
	X509 *x;

	/* Well-formed, from the CA, without "traits": read. */
	x = craft(&ca, cns, NULL, der, n, 1, 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, &diag), 0);
	assert_int_equal(out.nroles, 1);
	assert_int_equal(out.ntraits, 0);
	rbac_identity_free(&out);
	X509_free(x);
	/* Twice, or critical: refused. */
	x = craft(&ca, cns, NULL, der, n, 2, 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, &diag), RBAC_ERR_CERT);
	assert_non_null(strstr(diag.msg, "twice"));
	X509_free(x);
	x = craft(&ca, cns, NULL, der, n, 1, 1);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, &diag), RBAC_ERR_CERT);
	assert_non_null(strstr(diag.msg, "critical"));
	X509_free(x);
	/* Malformed, from the CA: an error, never an identity without roles. */
	n = utf8string(der, "{\"v\":1,\"roles\":[\"dev\"],\"roles\":[\"admin\"]}");
	x = craft(&ca, cns, NULL, der, n, 1, 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, &diag), RBAC_ERR_SYNTAX);
	X509_free(x);
	/* Malformed, from a stranger: ignored, like any stranger's. */
	x = craft(&other, cns, NULL, der, n, 1, 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, &diag), 0);
	assert_true(out.extension_ignored);
	rbac_identity_free(&out);
	X509_free(x);
}

/* A certificate of the CA without the extension (a server's): no roles,
 * nothing ignored. */
static void test_no_extension(void **state)
{
	(void)state;
	static const char *const dns[] = {"gate.example.com"};
	struct rbac_identity out;
	X509 *x;
	EVP_PKEY *key;

	assert_int_equal(rbac_cert_issue_server(&ca, dns, 1, NULL, 0, NOW, HOUR, &x, &key, NULL), 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, NULL), 0);
	assert_string_equal(out.user, "gate.example.com");
	assert_false(out.from_extension);
	assert_false(out.extension_ignored);
	rbac_identity_free(&out);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* ------------------------------------------------------------------------
 * The extension's JSON */

struct json_case {
	const char *name;
	const char *json; /* NULL: built by the test (limits) */
	int rv;
	const char *path; /* of the error, when one is expected */
};

static struct json_case json_cases[] = {
    {"minimal", "{\"v\":1}", 0, NULL},
    {"full", "{\"v\":1,\"roles\":[\"a\",\"b\"],\"traits\":{\"t\":[\"x\",\"\"],\"u\":[]}}", 0, NULL},
    {"keys-in-any-order", "{\"traits\":{},\"roles\":[],\"v\":1}", 0, NULL},
    {"whitespace", " {\n \"v\" : 1 ,\"roles\" : [ \"a\" ] }\n", 0, NULL},
    {"utf8-role", "{\"v\":1,\"roles\":[\"d\xc3\xa9v\"]}", 0, NULL},
    {"escaped-utf8-role", "{\"v\":1,\"roles\":[\"d\\u00e9v\"]}", 0, NULL},

    {"duplicate-top-key", "{\"v\":1,\"v\":1}", RBAC_ERR_SYNTAX, ""},
    {"duplicate-roles-key", "{\"v\":1,\"roles\":[],\"roles\":[\"admin\"]}", RBAC_ERR_SYNTAX, ""},
    {"duplicate-trait-name", "{\"v\":1,\"traits\":{\"t\":[\"a\"],\"t\":[\"b\"]}}", RBAC_ERR_SYNTAX, ""},
    {"not-json", "v=1", RBAC_ERR_SYNTAX, ""},
    {"empty", "", RBAC_ERR_SYNTAX, ""},
    {"trailing-garbage", "{\"v\":1}x", RBAC_ERR_SYNTAX, ""},
    {"two-objects", "{\"v\":1}{\"v\":1}", RBAC_ERR_SYNTAX, ""},
    {"escaped-nul", "{\"v\":1,\"roles\":[\"a\\u0000b\"]}", RBAC_ERR_SYNTAX, ""},
    {"invalid-utf8", "{\"v\":1,\"roles\":[\"\xc3\x28\"]}", RBAC_ERR_SYNTAX, ""},

    {"array-at-top", "[{\"v\":1}]", RBAC_ERR_INVALID, ""},
    {"unknown-key", "{\"v\":1,\"groups\":[]}", RBAC_ERR_INVALID, ""},
    {"unknown-key-case", "{\"v\":1,\"Roles\":[]}", RBAC_ERR_INVALID, ""},
    {"v-missing", "{\"roles\":[]}", RBAC_ERR_INVALID, "v"},
    {"v-two", "{\"v\":2}", RBAC_ERR_INVALID, "v"},
    {"v-zero", "{\"v\":0}", RBAC_ERR_INVALID, "v"},
    {"v-string", "{\"v\":\"1\"}", RBAC_ERR_INVALID, "v"},
    {"v-real", "{\"v\":1.0}", RBAC_ERR_INVALID, "v"},
    {"v-true", "{\"v\":true}", RBAC_ERR_INVALID, "v"},
    {"roles-string", "{\"v\":1,\"roles\":\"dev\"}", RBAC_ERR_INVALID, "roles"},
    {"roles-null", "{\"v\":1,\"roles\":null}", RBAC_ERR_INVALID, "roles"},
    {"role-number", "{\"v\":1,\"roles\":[\"a\",7]}", RBAC_ERR_INVALID, "roles[1]"},
    {"role-empty", "{\"v\":1,\"roles\":[\"\"]}", RBAC_ERR_INVALID, "roles[0]"},
    {"role-twice", "{\"v\":1,\"roles\":[\"a\",\"b\",\"a\"]}", RBAC_ERR_INVALID, "roles[2]"},
    {"role-newline", "{\"v\":1,\"roles\":[\"a\\nb\"]}", RBAC_ERR_INVALID, "roles[0]"},
    {"role-c1-control", "{\"v\":1,\"roles\":[\"a\\u0085\"]}", RBAC_ERR_INVALID, "roles[0]"},
    {"traits-array", "{\"v\":1,\"traits\":[]}", RBAC_ERR_INVALID, "traits"},
    {"trait-string", "{\"v\":1,\"traits\":{\"t\":\"x\"}}", RBAC_ERR_INVALID, "traits.t"},
    {"trait-value-number", "{\"v\":1,\"traits\":{\"t\":[\"x\",1]}}", RBAC_ERR_INVALID, "traits.t[1]"},
    {"trait-value-object", "{\"v\":1,\"traits\":{\"t\":[{}]}}", RBAC_ERR_INVALID, "traits.t[0]"},
    {"trait-value-twice", "{\"v\":1,\"traits\":{\"t\":[\"x\",\"x\"]}}", RBAC_ERR_INVALID, "traits.t[1]"},
    {"trait-value-tab", "{\"v\":1,\"traits\":{\"t\":[\"x\\ty\"]}}", RBAC_ERR_INVALID, "traits.t[0]"},
    {"trait-name-empty", "{\"v\":1,\"traits\":{\"\":[\"x\"]}}", RBAC_ERR_INVALID, "traits"},
    {"trait-name-escape", "{\"v\":1,\"traits\":{\"a\\u001bb\":[]}}", RBAC_ERR_INVALID, "traits"},
    {"trait-name-over-limit", NULL, RBAC_ERR_TOO_LARGE, "traits"},

    {"roles-over-limit", NULL, RBAC_ERR_TOO_LARGE, "roles"},
    {"traits-over-limit", NULL, RBAC_ERR_TOO_LARGE, "traits"},
    {"trait-values-over-limit", NULL, RBAC_ERR_TOO_LARGE, "traits.t"},
    {"role-name-over-limit", NULL, RBAC_ERR_TOO_LARGE, "roles[0]"},
    {"json-over-limit", NULL, RBAC_ERR_TOO_LARGE, ""},
    {"roles-at-limit", NULL, 0, NULL},
};

/* Appends to a growing buffer. */
struct text {
	char *p;
	size_t len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(buf));
	t->p = realloc(t->p, t->len + (size_t)n + 1);
	assert_non_null(t->p);
	memcpy(t->p + t->len, buf, (size_t)n + 1);
	t->len += (size_t)n;
}

/* The JSON of the limit cases. */
static void limit_json(const char *name, struct text *t)
{
	if (strcmp(name, "roles-over-limit") == 0 || strcmp(name, "roles-at-limit") == 0) {
		int n = strcmp(name, "roles-at-limit") == 0 ? RBAC_MAX_ROLES : RBAC_MAX_ROLES + 1;
		add(t, "{\"v\":1,\"roles\":[");
		for (int i = 0; i < n; i++)
			add(t, "%s\"r%d\"", i ? "," : "", i);
		add(t, "]}");
	} else if (strcmp(name, "traits-over-limit") == 0) {
		add(t, "{\"v\":1,\"traits\":{");
		for (int i = 0; i <= RBAC_MAX_TRAITS; i++)
			add(t, "%s\"t%d\":[]", i ? "," : "", i);
		add(t, "}}");
	} else if (strcmp(name, "trait-values-over-limit") == 0) {
		add(t, "{\"v\":1,\"traits\":{\"t\":[");
		for (int i = 0; i <= RBAC_MAX_TRAIT_VALUES; i++)
			add(t, "%s\"%d\"", i ? "," : "", i);
		add(t, "]}}");
	} else if (strcmp(name, "trait-name-over-limit") == 0) {
		add(t, "{\"v\":1,\"traits\":{\"");
		for (int i = 0; i <= RBAC_MAX_NAME; i++)
			add(t, "t");
		add(t, "\":[]}}");
	} else if (strcmp(name, "role-name-over-limit") == 0) {
		add(t, "{\"v\":1,\"roles\":[\"");
		for (int i = 0; i <= RBAC_MAX_NAME; i++)
			add(t, "r");
		add(t, "\"]}");
	} else {
		/* One byte past RBAC_MAX_IDENTITY_EXT, of otherwise valid JSON. */
		add(t, "{\"v\":1,\"traits\":{\"t\":[\"");
		while (t->len < RBAC_MAX_IDENTITY_EXT - 3)
			add(t, "x");
		add(t, "\"]}}");
		assert_int_equal(t->len, RBAC_MAX_IDENTITY_EXT + 1);
	}
}

static void test_json(void **state)
{
	const struct json_case *c = *state;
	struct text t = {NULL, 0};
	struct rbac_identity id;
	struct rbac_diag diag;

	if (c->json == NULL)
		limit_json(c->name, &t);
	else
		add(&t, "%s", c->json);
	memset(&id, 0x5a, sizeof(id));
	memset(&diag, 0, sizeof(diag));
	int rv = rbac_identity_json_parse(t.p, t.len, &id, &diag);
	assert_int_equal(rv, c->rv);
	if (rv == 0) {
		assert_null(id.user);
		rbac_identity_free(&id);
	} else {
		assert_int_equal(diag.code, rv);
		assert_true(diag.msg[0] != '\0');
		if (c->path != NULL)
			assert_string_equal(diag.path, c->path);
		assert_int_equal(id.nroles, 0x5a5a5a5a5a5a5a5a); /* written only on success */
		if (rv == RBAC_ERR_SYNTAX && t.len > 0 && strstr(c->name, "duplicate") != NULL)
			assert_true(diag.line >= 1);
	}
	free(t.p);
}

/* The DER around the JSON: one UTF8String, DER only. */
static void test_ext_der(void **state)
{
	(void)state;
	static const unsigned char good[] = {0x0c, 0x07, '{', '"', 'v', '"', ':', '1', '}'};
	static const unsigned char octet[] = {0x04, 0x07, '{', '"', 'v', '"', ':', '1', '}'};
	static const unsigned char trailing[] = {0x0c, 0x07, '{', '"', 'v', '"', ':', '1', '}', 0x00};
	static const unsigned char long_form[] = {0x0c, 0x81, 0x07, '{', '"', 'v', '"', ':', '1', '}'};
	static const unsigned char short_len[] = {0x0c, 0x08, '{', '"', 'v', '"', ':', '1', '}'};
	static const unsigned char constructed[] = {0x2c, 0x09, 0x0c, 0x07, '{', '"',
	                                            'v',  '"',  ':',  '1',  '}'};
	struct rbac_identity id;
	struct rbac_diag diag;

	assert_int_equal(rbac_identity_ext_parse(good, sizeof(good), &id, &diag), 0);
	rbac_identity_free(&id);
	assert_int_equal(rbac_identity_ext_parse(octet, sizeof(octet), &id, &diag), RBAC_ERR_SYNTAX);
	assert_int_equal(rbac_identity_ext_parse(trailing, sizeof(trailing), &id, &diag), RBAC_ERR_SYNTAX);
	assert_int_equal(rbac_identity_ext_parse(long_form, sizeof(long_form), &id, &diag), RBAC_ERR_SYNTAX);
	assert_int_equal(rbac_identity_ext_parse(short_len, sizeof(short_len), &id, &diag), RBAC_ERR_SYNTAX);
	assert_int_equal(rbac_identity_ext_parse(constructed, sizeof(constructed), &id, &diag),
	                 RBAC_ERR_SYNTAX);
	assert_int_equal(rbac_identity_ext_parse(good, 0, &id, &diag), RBAC_ERR_SYNTAX);
}

/* Encoding and parsing agree; what the encoder refuses, it says why. */
static void test_ext_round_trip(void **state)
{
	(void)state;
	static const char *const roles[] = {"dev", "d\xc3\xa9v", "a\"quote", NULL};
	static const char *const traits[] = {"logins", "alice", "", NULL, "arns", "arn:aws:iam::1:role/x",
	                                     NULL,     NULL};
	struct rbac_identity in, out;
	unsigned char *der;
	size_t len;

	make_identity(&in, NULL, roles, traits);
	assert_int_equal(rbac_identity_ext_encode(&in, &der, &len, NULL), 0);
	assert_int_equal(rbac_identity_ext_parse(der, len, &out, NULL), 0);
	assert_int_equal(out.nroles, 3);
	assert_string_equal(out.roles[2], "a\"quote");
	assert_int_equal(out.ntraits, 2);
	assert_string_equal(out.traits[0].values[1], "");
	assert_string_equal(out.traits[1].values[0], "arn:aws:iam::1:role/x");
	free(der);
	rbac_identity_free(&out);
	rbac_identity_free(&in);

	/* Over the roles limit: refused by the encoder too. */
	memset(&in, 0, sizeof(in));
	in.nroles = RBAC_MAX_ROLES + 1;
	in.roles = calloc(in.nroles, sizeof(char *));
	for (size_t i = 0; i < in.nroles; i++) {
		char r[24];
		snprintf(r, sizeof(r), "r%zu", i);
		in.roles[i] = strdup(r);
	}
	der = NULL;
	assert_int_equal(rbac_identity_ext_encode(&in, &der, &len, NULL), RBAC_ERR_TOO_LARGE);
	assert_null(der);
	rbac_identity_free(&in);
}

/* ------------------------------------------------------------------------
 * Server certificates */

static void test_server(void **state)
{
	(void)state;
	static const char *const dns[] = {"gate.example.com", "*.apps.example.com"};
	static const char *const ips[] = {"127.0.0.1", "::1", "2001:db8::7"};
	X509 *x;
	EVP_PKEY *key;
	char cn[64];

	assert_int_equal(rbac_cert_issue_server(&ca, dns, 2, ips, 3, NOW, HOUR, &x, &key, NULL), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca.cert)), 1);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "gate.example.com");
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_null(identity_ext(x));
	/* OpenSSL's own name checks see every name. */
	assert_int_equal(X509_check_host(x, "gate.example.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "x.apps.example.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "example.com", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "2001:db8::7", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "10.0.0.1", 0), 0);
	X509_free(x);
	EVP_PKEY_free(key);

	/* Addresses only: the first is the CN. */
	assert_int_equal(rbac_cert_issue_server(&ca, NULL, 0, ips, 1, NOW, HOUR, &x, &key, NULL), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "127.0.0.1");
	X509_free(x);
	EVP_PKEY_free(key);
}

struct server_bad_case {
	const char *name;
	const char *dns;
	const char *ip;
	int rv;
};

static struct server_bad_case server_bad_cases[] = {
    {"server-no-names", NULL, NULL, RBAC_ERR_INVALID},
    {"server-dns-empty", "", NULL, RBAC_ERR_INVALID},
    {"server-dns-comma-injection", "a.example.com,IP:10.0.0.1", NULL, RBAC_ERR_INVALID},
    {"server-dns-space", "a example.com", NULL, RBAC_ERR_INVALID},
    {"server-dns-trailing-dot", "example.com.", NULL, RBAC_ERR_INVALID},
    {"server-dns-empty-label", "a..example.com", NULL, RBAC_ERR_INVALID},
    {"server-dns-hyphen-first", "-a.example.com", NULL, RBAC_ERR_INVALID},
    {"server-dns-hyphen-last", "a-.example.com", NULL, RBAC_ERR_INVALID},
    {"server-dns-inner-wildcard", "a.*.example.com", NULL, RBAC_ERR_INVALID},
    {"server-dns-bare-wildcard", "*", NULL, RBAC_ERR_INVALID},
    {"server-dns-label-64", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", NULL,
     RBAC_ERR_INVALID},
    {"server-ip-bad", NULL, "256.1.1.1", RBAC_ERR_INVALID},
    {"server-ip-name", NULL, "localhost", RBAC_ERR_INVALID},
    {"server-ip-cidr", NULL, "10.0.0.0/8", RBAC_ERR_INVALID},
    {"server-ttl-past-ca", "gate.example.com", NULL, RBAC_ERR_RANGE},
};

static void test_server_bad(void **state)
{
	const struct server_bad_case *c = *state;
	const char *dns[] = {c->dns}, *ips[] = {c->ip};
	struct rbac_diag diag;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;

	uint32_t ttl = c->rv == RBAC_ERR_RANGE ? CA_TTL + 1 : HOUR;
	assert_int_equal(
	    rbac_cert_issue_server(&ca, dns, c->dns ? 1 : 0, ips, c->ip ? 1 : 0, NOW, ttl, &x, &key, &diag),
	    c->rv);
	assert_int_equal(diag.code, c->rv);
	assert_null(x);
	assert_null(key);
}

/* ------------------------------------------------------------------------
 * CRLs and serials */

static void test_crl(void **state)
{
	(void)state;
	static const struct rbac_revoked revoked[] = {
	    {"4959E3211F0EE5087F2A11A4B0E9B63DA7BCD8D1", NOW - 600},
	    {"01", NOW - 60},
	};
	X509_CRL *crl;
	struct rbac_diag diag;

	assert_int_equal(rbac_crl_build(&ca, revoked, LEN(revoked), 42, NOW, HOUR, &crl, &diag), 0);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca.cert)), 1);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca.cert)), 0);
	assert_int_equal(asn1_epoch(X509_CRL_get0_lastUpdate(crl)), NOW);
	assert_int_equal(asn1_epoch(X509_CRL_get0_nextUpdate(crl)), NOW + HOUR);
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	assert_non_null(akid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(ca.cert)), 0);
	AUTHORITY_KEYID_free(akid);
	STACK_OF(X509_REVOKED) *list = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(list), 2);

	/* A certificate of ours with a listed serial is found in the CRL. */
	X509 *x = craft(&ca, (const char *const[]){"dave", NULL}, NULL, NULL, 0, 0, 0);
	BIGNUM *bn = NULL;
	assert_true(BN_hex2bn(&bn, revoked[0].serial));
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	X509_REVOKED *hit = NULL;
	assert_int_equal(X509_CRL_get0_by_cert(crl, &hit, x), 1);
	assert_int_equal(asn1_epoch(X509_REVOKED_get0_revocationDate(hit)), NOW - 600);
	X509_free(x);
	X509_CRL_free(crl);

	/* Empty, bad serial, past the CA. */
	assert_int_equal(rbac_crl_build(&ca, NULL, 0, 1, NOW, HOUR, &crl, &diag), 0);
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0); /* no list at all */
	X509_CRL_free(crl);
	static const struct rbac_revoked bad[] = {{"xyz", NOW}};
	crl = NULL;
	assert_int_equal(rbac_crl_build(&ca, bad, 1, 1, NOW, HOUR, &crl, &diag), RBAC_ERR_INVALID);
	assert_string_equal(diag.path, "revoked[0]");
	assert_int_equal(rbac_crl_build(&ca, NULL, 0, 1, NOW, CA_TTL + 1, &crl, &diag), RBAC_ERR_RANGE);
	assert_null(crl);
}

struct serial_case {
	const char *name;
	const char *in;
	int rv;
	const char *out;
};

static struct serial_case serial_cases[] = {
    {"serial-upper", "4959E3211F", 0, "4959E3211F"},
    {"serial-lower", "4959e3211f", 0, "4959E3211F"},
    {"serial-odd-digits", "abc", 0, "0ABC"},
    {"serial-leading-zeros", "00007F", 0, "7F"},
    {"serial-colons", "49:59:e3", 0, "4959E3"},
    {"serial-forty-digits", "7fffffffffffffffffffffffffffffffffffffff", 0,
     "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
    {"serial-zeros-then-forty", "007fffffffffffffffffffffffffffffffffffffff", 0,
     "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
    {"serial-forty-one-digits", "17fffffffffffffffffffffffffffffffffffffff", RBAC_ERR_TOO_LARGE, NULL},
    {"serial-zero", "00", RBAC_ERR_INVALID, NULL},
    {"serial-empty", "", RBAC_ERR_INVALID, NULL},
    {"serial-not-hex", "4g", RBAC_ERR_INVALID, NULL},
    {"serial-minus", "-49", RBAC_ERR_INVALID, NULL},
    {"serial-0x", "0x49", RBAC_ERR_INVALID, NULL},
    {"serial-colon-end", "49:59:", RBAC_ERR_INVALID, NULL},
    {"serial-colon-single-digit", "4:59", RBAC_ERR_INVALID, NULL},
    {"serial-space", "49 59", RBAC_ERR_INVALID, NULL},
};

static void test_serial(void **state)
{
	const struct serial_case *c = *state;
	char hex[RBAC_SERIAL_HEX_SIZE];

	memcpy(hex, "untouched", 10);
	assert_int_equal(rbac_serial_normalize(c->in, hex), c->rv);
	assert_string_equal(hex, c->rv == 0 ? c->out : "untouched");
}

/* rbac_cert_serial() prints what openssl x509 -serial prints. */
static void test_cert_serial_and_pin(void **state)
{
	(void)state;
	char hex[RBAC_SERIAL_HEX_SIZE], pin[RBAC_CERT_PIN_SIZE], want[RBAC_CERT_PIN_SIZE];
	unsigned char *der = NULL, md[32];
	unsigned int mdlen;

	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca.cert), NULL);
	char *bnhex = BN_bn2hex(bn);
	assert_int_equal(rbac_cert_serial(ca.cert, hex), 0);
	assert_string_equal(hex, bnhex);
	assert_int_equal(strlen(hex), 40);
	OPENSSL_free(bnhex);
	BN_free(bn);

	/* The pin: SHA-256 of the SubjectPublicKeyInfo, through X509_PUBKEY. */
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca.cert), &der);
	assert_true(len > 0);
	assert_true(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL));
	OPENSSL_free(der);
	memcpy(want, "sha256:", 8);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
	assert_int_equal(rbac_cert_pin(ca.cert, pin), 0);
	assert_string_equal(pin, want);
	assert_int_equal(rbac_cert_pin(other.cert, pin), 0);
	assert_string_not_equal(pin, want);
}

/* ------------------------------------------------------------------------
 * Leaks: the CI runs this file under ASan's leak checker; without ASan,
 * glibc's count of bytes in use must come back to where it was after
 * every path has run many times. One lost identity string, key or
 * certificate per round is over the slack.
 *
 * glibc's per-thread cache keeps freed blocks that mallinfo2() still counts
 * as in use, so the count is only exact with the cache off, which only the
 * environment can ask for, before the process starts: main() runs itself
 * again with GLIBC_TUNABLES set. (Under ASan mallinfo2() does not see the
 * sanitizer's heap and the check is moot; LeakSanitizer does the work.) */

#define NO_TCACHE "glibc.malloc.tcache_count=0"

static int tcache_off(void)
{
	const char *t = getenv("GLIBC_TUNABLES");
	return t != NULL && strstr(t, NO_TCACHE) != NULL;
}

static void run_without_tcache(char **argv)
{
	const char *t = getenv("GLIBC_TUNABLES");
	char value[1024];

	if (tcache_off())
		return;
	if (snprintf(value, sizeof(value), "%s%s%s", t ? t : "", t ? ":" : "", NO_TCACHE) >=
	    (int)sizeof(value))
		return;
	setenv("GLIBC_TUNABLES", value, 1);
	execv("/proc/self/exe", argv);
	unsetenv("GLIBC_TUNABLES"); /* no exec: test_no_leak says it cannot count */
}

static void one_round(void)
{
	static const char *const roles[] = {"dev", "ops", NULL};
	static const char *const traits[] = {"logins", "alice", NULL, NULL};
	static const char *const dns[] = {"gate.example.com"};
	static const struct rbac_revoked revoked[] = {{"0A", NOW}};
	struct rbac_identity in, out;
	struct rbac_diag diag;
	X509 *x;
	EVP_PKEY *key;
	X509_CRL *crl;

	make_identity(&in, "alice", roles, traits);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, HOUR, &x, &key, &diag), 0);
	assert_int_equal(rbac_identity_from_cert(x, ca.cert, &out, &diag), 0);
	rbac_identity_free(&out);
	assert_int_equal(rbac_identity_from_cert(x, other.cert, &out, &diag), 0);
	rbac_identity_free(&out);
	X509_free(x);
	EVP_PKEY_free(key);
	assert_int_equal(rbac_cert_issue_user(&ca, &in, NOW, CA_TTL + 1, &x, &key, &diag), RBAC_ERR_RANGE);
	rbac_identity_free(&in);
	assert_int_equal(rbac_cert_issue_server(&ca, dns, 1, NULL, 0, NOW, HOUR, &x, &key, &diag), 0);
	X509_free(x);
	EVP_PKEY_free(key);
	assert_int_equal(rbac_crl_build(&ca, revoked, 1, 1, NOW, HOUR, &crl, &diag), 0);
	X509_CRL_free(crl);
	/* Error paths that allocate halfway. */
	static const char half[] = "{\"v\":1,\"roles\":[\"a\",\"b\"],\"traits\":{\"t\":[\"x\",\"y\",\"x\"]}}";
	assert_int_equal(rbac_identity_json_parse(half, sizeof(half) - 1, &out, &diag), RBAC_ERR_INVALID);
	static const char dup[] = "{\"v\":1,\"roles\":[\"a\"],\"roles\":[]}";
	assert_int_equal(rbac_identity_json_parse(dup, sizeof(dup) - 1, &out, &diag), RBAC_ERR_SYNTAX);
	struct rbac_ca c;
	assert_int_equal(rbac_ca_create("leak test", NOW, HOUR, &c, &diag), 0);
	rbac_ca_free(&c);
}

static void test_no_leak(void **state)
{
	(void)state;
	/* Warm OpenSSL's lazily made tables and error state first. */
	for (int i = 0; i < 3; i++)
		one_round();
	size_t before = mallinfo2().uordblks;
	for (int i = 0; i < 30; i++)
		one_round();
	size_t after = mallinfo2().uordblks;
	if (!tcache_off()) {
		print_message("glibc's thread cache is on: bytes in use not compared\n");
		return;
	}
	if (after > before + 256)
		fail_msg("%zu bytes more in use after 30 rounds: a leak", after - before);
}

/* ------------------------------------------------------------------------ */

#define ADD_CASES(table, fn)                                                                                 \
	for (size_t i = 0; i < LEN(table); i++)                                                              \
		tests[n++] = (struct CMUnitTest){                                                            \
		    .name = (table)[i].name, .test_func = (fn), .initial_state = &(table)[i]};
#define ADD(fn) tests[n++] = (struct CMUnitTest){.name = #fn, .test_func = (fn)};

int main(int argc, char **argv)
{
	struct CMUnitTest
	    tests[LEN(cn_cases) + LEN(json_cases) + LEN(server_bad_cases) + LEN(serial_cases) + 19];
	size_t n = 0;

	(void)argc;
	run_without_tcache(argv);
	ADD(test_ca_create);
	ADD(test_ca_create_named);
	ADD(test_ca_create_refused);
	ADD(test_ca_from_pem);
	ADD(test_user_issue_and_read);
	ADD(test_user_empty_extension);
	ADD(test_user_extension_trust);
	ADD(test_user_refused);
	ADD(test_user_long_name);
	ADD(test_user_ttl_past_ca);
	ADD_CASES(cn_cases, test_cn);
	ADD(test_cn_too_long);
	ADD(test_crafted_extension);
	ADD(test_no_extension);
	ADD_CASES(json_cases, test_json);
	ADD(test_ext_der);
	ADD(test_ext_round_trip);
	ADD(test_server);
	ADD_CASES(server_bad_cases, test_server_bad);
	ADD(test_crl);
	ADD_CASES(serial_cases, test_serial);
	ADD(test_cert_serial_and_pin);
	ADD(test_no_leak);
	if (n != LEN(tests))
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
