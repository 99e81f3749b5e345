/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy_ca.c: the local proxy's CA (created once per profile and kept) and the leaf certificates it mints per intercepted host. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "proxy/lproxy_int.h"
#include "proxy/proxy.h"

#define CA_MAX_FILE (64 * 1024) /* bytes of local-ca.crt, of local-ca.key */

struct leaf {
	char host[FED_MAX_HOST + 1];
	X509 *cert;
	EVP_PKEY *key;
	int64_t not_after;
	uint64_t used; /* for least-recently-used eviction */
};

struct px_lproxy_leaves {
	struct rbac_ca ca;
	struct leaf leaf[PX_LPROXY_MAX_LEAVES];
	size_t n;
	uint64_t clock;
};

/* Reads and checks the pair; |key_pem| is wiped before it is freed. */
static int ca_load(const char *crt, const char *key, struct rbac_ca *ca, char *err, size_t errlen)
{
	char *c = NULL, *k = NULL, ebuf[256];
	size_t clen = 0, klen = 0;
	struct rbac_diag diag;
	struct stat st;
	int rv = PX_ERR_LPROXY;

	if (px_file_read(crt, CA_MAX_FILE, &c, &clen, ebuf, sizeof(ebuf)) != 0) {
		snprintf(err, errlen, "cannot read the local CA certificate %s: %s (run `awsgate login` to create it)", crt,
		         ebuf);
		goto out;
	}
	if (stat(key, &st) == 0 && (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		         "%s can be read by other users (mode %03o): run `chmod 600 %s` (a local CA key others can read lets "
		         "them impersonate AWS to you)",
		         key, (unsigned)(st.st_mode & 0777), key);
		goto out;
	}
	if (px_file_read_secret(key, CA_MAX_FILE, &k, &klen, ebuf, sizeof(ebuf)) != 0) {
		snprintf(err, errlen, "cannot read the local CA key %s: %s", key, ebuf);
		goto out;
	}
	memset(&diag, 0, sizeof(diag));
	if (rbac_ca_from_pem(c, clen, k, klen, ca, &diag) != 0) {
		snprintf(err, errlen,
		         "%s and %s are not a usable CA pair (%s): remove both and run the command again to create a new "
		         "local CA (then trust the new local-ca.crt where you trusted the old one)",
		         crt, key, diag.msg[0] != '\0' ? diag.msg : "not a CA, or the key does not match");
		goto out;
	}
	rv = 0;
out:
	free(c);
	if (k != NULL) {
		OPENSSL_cleanse(k, klen);
		free(k);
	}
	return rv;
}

static int pem_of(int is_key, void *obj, char **data, size_t *len)
{
	BIO *b = BIO_new(BIO_s_secmem());
	BUF_MEM *bm = NULL;
	int ok;

	if (b == NULL)
		return PX_ERR_NOMEM;
	ok = is_key ? PEM_write_bio_PrivateKey(b, (EVP_PKEY *)obj, NULL, NULL, 0, NULL, NULL)
	            : PEM_write_bio_X509(b, (X509 *)obj);
	if (ok != 1 || BIO_get_mem_ptr(b, &bm) != 1 || bm->length == 0) {
		BIO_free(b);
		return PX_ERR_NOMEM;
	}
	*data = malloc(bm->length);
	if (*data == NULL) {
		BIO_free(b);
		return PX_ERR_NOMEM;
	}
	memcpy(*data, bm->data, bm->length);
	*len = bm->length;
	BIO_free(b); /* a secure-memory BIO: wiped on free */
	return 0;
}

int px_lproxy_ca_ensure(const char *dir, char *err, size_t errlen)
{
	char crt[4096], key[4096], ebuf[256];
	struct rbac_ca ca = {0};
	struct rbac_diag diag;
	char *kp = NULL, *cp = NULL;
	size_t kl = 0, cl = 0;
	struct stat st;
	int rv = PX_ERR_LPROXY, r, i;

	if (dir == NULL || *dir == '\0' || (size_t)snprintf(crt, sizeof(crt), "%s/local-ca.crt", dir) >= sizeof(crt) ||
	    (size_t)snprintf(key, sizeof(key), "%s/local-ca.key", dir) >= sizeof(key)) {
		snprintf(err, errlen, "the local CA's directory is empty or too long");
		return PX_ERR_LPROXY;
	}
	if (stat(key, &st) == 0) {
		/* Another process may be writing the pair right now: the key
		 * is put in place first, the certificate within moments. */
		for (i = 0; i < 40 && stat(crt, &st) != 0; i++)
			usleep(50000);
		if (stat(crt, &st) != 0) {
			snprintf(err, errlen,
			         "%s exists but %s does not: remove %s and run the command again to create a new local CA", key,
			         crt, key);
			return PX_ERR_LPROXY;
		}
		rv = ca_load(crt, key, &ca, err, errlen);
		rbac_ca_free(&ca);
		return rv;
	}
	if (stat(crt, &st) == 0) {
		snprintf(err, errlen, "%s exists but %s does not: remove %s and run the command again to create a new local CA",
		         crt, key, crt);
		return PX_ERR_LPROXY;
	}
	memset(&diag, 0, sizeof(diag));
	if (rbac_ca_create(PX_LPROXY_CA_NAME, (int64_t)time(NULL), PX_LPROXY_CA_TTL, &ca, &diag) != 0) {
		snprintf(err, errlen, "cannot create the local CA: %s", diag.msg);
		goto out;
	}
	if (pem_of(1, ca.key, &kp, &kl) != 0 || pem_of(0, ca.cert, &cp, &cl) != 0) {
		snprintf(err, errlen, "cannot create the local CA: out of memory");
		goto out;
	}
	r = px_file_write(key, kp, kl, 0600, 0, ebuf, sizeof(ebuf));
	if (r == PX_ERR_EXISTS) {
		/* Lost a race with another process: use its pair. */
		rbac_ca_free(&ca);
		for (i = 0; i < 40 && stat(crt, &st) != 0; i++)
			usleep(50000);
		rv = ca_load(crt, key, &ca, err, errlen);
		goto out;
	}
	if (r != 0) {
		snprintf(err, errlen, "cannot write %s: %s", key, ebuf);
		goto out;
	}
	r = px_file_write(crt, cp, cl, 0600, 0, ebuf, sizeof(ebuf));
	if (r != 0) {
		snprintf(err, errlen, "cannot write %s: %s", crt, ebuf);
		(void)unlink(key);
		goto out;
	}
	rv = 0;
out:
	if (kp != NULL) {
		OPENSSL_cleanse(kp, kl);
		free(kp);
	}
	free(cp);
	rbac_ca_free(&ca);
	return rv;
}

int px_lproxy_leaves_new(const char *ca_cert_file, const char *ca_key_file, struct px_lproxy_leaves **out, char *err,
                         size_t errlen)
{
	struct px_lproxy_leaves *lv;

	if (ca_cert_file == NULL || ca_key_file == NULL) {
		snprintf(err, errlen, "no local CA given: run `awsgate login` (or px_lproxy_ca_ensure()) first");
		return PX_ERR_LPROXY;
	}
	lv = calloc(1, sizeof(*lv));
	if (lv == NULL) {
		snprintf(err, errlen, "out of memory");
		return PX_ERR_LPROXY;
	}
	if (ca_load(ca_cert_file, ca_key_file, &lv->ca, err, errlen) != 0) {
		free(lv);
		return PX_ERR_LPROXY;
	}
	*out = lv;
	return 0;
}

static void leaf_clear(struct leaf *l)
{
	X509_free(l->cert);
	EVP_PKEY_free(l->key);
	memset(l, 0, sizeof(*l));
}

void px_lproxy_leaves_del(struct px_lproxy_leaves *lv)
{
	size_t i;

	if (lv == NULL)
		return;
	for (i = 0; i < lv->n; i++)
		leaf_clear(&lv->leaf[i]);
	rbac_ca_free(&lv->ca);
	free(lv);
}

int px_lproxy_leaf_get(struct px_lproxy_leaves *lv, const char *host, int64_t now, X509 **cert, EVP_PKEY **key,
                       char *err, size_t errlen)
{
	struct leaf *l = NULL;
	struct rbac_diag diag;
	const char *dns[1] = {host};
	X509 *c = NULL;
	EVP_PKEY *k = NULL;
	size_t i;

	for (i = 0; i < lv->n; i++)
		if (strcmp(lv->leaf[i].host, host) == 0) {
			l = &lv->leaf[i];
			break;
		}
	if (l != NULL && l->not_after - now >= 3600) {
		l->used = ++lv->clock;
		*cert = l->cert;
		*key = l->key;
		return 0;
	}
	memset(&diag, 0, sizeof(diag));
	if (strlen(host) > FED_MAX_HOST ||
	    rbac_cert_issue_server(&lv->ca, dns, 1, NULL, 0, now, PX_LPROXY_LEAF_TTL, &c, &k, &diag) != 0) {
		snprintf(err, errlen, "cannot mint a certificate for %s from the local CA: %s", host,
		         diag.msg[0] != '\0' ? diag.msg : "name too long");
		return PX_ERR_LPROXY;
	}
	if (l == NULL) {
		if (lv->n < PX_LPROXY_MAX_LEAVES) {
			l = &lv->leaf[lv->n++];
		} else {
			l = &lv->leaf[0];
			for (i = 1; i < lv->n; i++)
				if (lv->leaf[i].used < l->used)
					l = &lv->leaf[i];
		}
	}
	leaf_clear(l);
	snprintf(l->host, sizeof(l->host), "%s", host);
	l->cert = c;
	l->key = k;
	l->not_after = now + (int64_t)PX_LPROXY_LEAF_TTL;
	l->used = ++lv->clock;
	*cert = c;
	*key = k;
	return 0;
}
