/* SPDX-License-Identifier: Apache-2.0 */
/* gen.c: loads a generation: the daemon file, the policy, the TLS context and the identity CA, refcounted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "server.h"

int px_ssl_conn_idx = -1;

/* Sessions in each TLS context's cache, and how long one may be resumed. */
#define PX_TLS_SESSION_CACHE 20480
#define PX_TLS_SESSION_TIMEOUT 3600
#define PX_TLS_VERIFY_DEPTH 4

struct px_gen *px_gen_ref(struct px_gen *g)
{
	__atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
	return g;
}

void px_gen_unref(struct px_gen *g)
{
	if (g == NULL || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	px_config_unref(g->cfg);
	rbac_policy_unref(g->pol);
	SSL_CTX_free(g->ssl);
	X509_free(g->identity_ca);
	free(g);
}

static void ssl_errors(const char *what, const char *file)
{
	unsigned long e;
	char buf[256];

	e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof(buf));
	PX_LOG(PX_LOG_ERR, "%s %s: %s", what, file, e ? buf : "unknown error");
	ERR_clear_error();
}

/* Counts the reason of the first verification error of the connection;
 * a CA without a CRL in tls.crl_file is not CRL-checked (docs/SERVER.md). */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct px_conn *c = ssl ? SSL_get_ex_data(ssl, px_ssl_conn_idx) : NULL;
	int err = X509_STORE_CTX_get_error(x);

	if (!ok && err == X509_V_ERR_UNABLE_TO_GET_CRL)
		return 1;
	if (!ok && c != NULL && c->verify_err == 0)
		c->verify_err = err;
	return ok;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		   unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";
	unsigned char *sel = NULL;
	unsigned char sellen = 0;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, &sellen, ours, sizeof(ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* no ALPN in common: HTTP/1.1 */
	*out = sel;
	*outlen = sellen;
	return SSL_TLSEXT_ERR_OK;
}

static X509 *read_cert(const char *file)
{
	BIO *b = BIO_new_file(file, "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		ssl_errors("cannot read the certificate", file);
	return x;
}

/* Adds the CA certificates of |file| to |store| and their names to |names|. */
static int add_cas(X509_STORE *store, STACK_OF(X509_NAME) * names, const char *file)
{
	if (X509_STORE_load_file(store, file) != 1) {
		ssl_errors("cannot read the CA certificates", file);
		return -1;
	}
	if (SSL_add_file_cert_subjects_to_stack(names, file) != 1) {
		ssl_errors("cannot read the CA names of", file);
		return -1;
	}
	return 0;
}

static int add_crls(X509_STORE *store, const char *file)
{
	BIO *b = BIO_new_file(file, "r");
	X509_CRL *crl;
	int n = 0;

	if (b == NULL) {
		ssl_errors("cannot open the CRL file", file);
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
		int ok = X509_STORE_add_crl(store, crl);
		X509_CRL_free(crl);
		if (ok != 1) {
			BIO_free(b);
			ssl_errors("cannot use a CRL of", file);
			return -1;
		}
		n++;
	}
	ERR_clear_error(); /* the end of the file */
	BIO_free(b);
	if (n == 0) {
		PX_LOG(PX_LOG_ERR, "the CRL file %s holds no PEM CRL", file);
		return -1;
	}
	return 0;
}

static SSL_CTX *ssl_ctx_new(const struct px_config *cfg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509_STORE *store;
	STACK_OF(X509_NAME) *names = NULL;
	static const unsigned char sid_ctx[] = "awsgated";

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, cfg->tls.min_version == PX_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
					 (cfg->tls.session_tickets ? 0 : SSL_OP_NO_TICKET));
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (cfg->tls.cert_file == NULL || SSL_CTX_use_certificate_chain_file(ctx, cfg->tls.cert_file) != 1) {
		ssl_errors("cannot use the certificate chain", cfg->tls.cert_file ? cfg->tls.cert_file : "(tls.cert_file unset)");
		goto fail;
	}
	if (cfg->tls.key_file == NULL || SSL_CTX_use_PrivateKey_file(ctx, cfg->tls.key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errors("cannot use the private key", cfg->tls.key_file ? cfg->tls.key_file : "(tls.key_file unset)");
		goto fail;
	}
	store = SSL_CTX_get_cert_store(ctx);
	names = sk_X509_NAME_new_null();
	if (names == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->tls.nclient_ca_files; i++)
		if (add_cas(store, names, cfg->tls.client_ca_files[i]) != 0)
			goto fail;
	if (cfg->tls.identity_ca_file != NULL && add_cas(store, names, cfg->tls.identity_ca_file) != 0)
		goto fail;
	if (cfg->tls.crl_file != NULL) {
		if (add_crls(store, cfg->tls.crl_file) != 0)
			goto fail;
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	SSL_CTX_set_client_CA_list(ctx, names); /* takes ownership */
	names = NULL;
	/* Requested, not required: /healthz needs none, API routes refuse without one. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_cb);
	SSL_CTX_set_verify_depth(ctx, PX_TLS_VERIFY_DEPTH);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	/* TLS 1.3 sends two tickets by default; each is a cached session
	 * (stateful without session_tickets): one is enough to resume. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_sess_set_cache_size(ctx, PX_TLS_SESSION_CACHE);
	SSL_CTX_set_timeout(ctx, PX_TLS_SESSION_TIMEOUT);
	return ctx;
fail:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	return NULL;
}

static void diag_log(void *arg, const struct rbac_diag *d)
{
	(void)arg;
	if (d->code < 0)
		PX_LOG(PX_LOG_ERR, "%s:%d:%d: %s: %s", d->file ? d->file : "", d->line, d->column, d->path, d->msg);
	else
		PX_LOG(PX_LOG_WARN, "%s:%d:%d: %s: %s", d->file ? d->file : "", d->line, d->column, d->path, d->msg);
}

int px_gen_load(const char *path, const struct px_gen *base, uint64_t id, struct px_gen **out)
{
	struct px_gen *g = calloc(1, sizeof(*g));
	char *text = NULL;
	size_t len = 0;
	char err[256];
	struct px_diags diags;
	int rv;

	if (g == NULL)
		return PX_ERR_NOMEM;
	g->refs = 1;
	g->id = id;
	px_diags_init(&diags, path);
	rv = px_file_read(path, PX_CONFIG_MAX_BYTES, &text, &len, err, sizeof(err));
	if (rv != 0) {
		PX_LOG(PX_LOG_ERR, "cannot read %s: %s", path, rv == PX_ERR_IO ? err : rv == PX_ERR_TOO_LARGE ? "larger than 4 MiB" : "out of memory");
		goto fail;
	}
	if (base != NULL) {
		g->cfg = px_config_ref(base->cfg);
	} else {
		rv = px_config_load(path, text, len, PX_CONFIG_CHECK_FILES, &g->cfg, &diags);
		for (size_t i = 0; i < diags.n; i++) {
			const struct px_diag *d = &diags.v[i];
			PX_LOG(d->level == PX_DIAG_ERROR ? PX_LOG_ERR : PX_LOG_WARN, "%s:%d:%d: %s%s%s",
			       d->file[0] ? d->file : path, d->line, d->column, d->path, d->path[0] ? ": " : "",
			       d->msg);
		}
		if (rv != 0)
			goto fail;
	}
	rv = px_policy_load(g->cfg, path, text, len, 1, diag_log, NULL, &g->pol);
	if (rv != 0) {
		PX_LOG(PX_LOG_ERR, "%s: the resources have errors (above)", path);
		rv = PX_ERR_CONFIG;
		goto fail;
	}
	if (base != NULL) {
		SSL_CTX_up_ref(base->ssl);
		g->ssl = base->ssl;
		if (base->identity_ca != NULL) {
			X509_up_ref(base->identity_ca);
			g->identity_ca = base->identity_ca;
		}
	} else {
		g->ssl = ssl_ctx_new(g->cfg);
		if (g->ssl == NULL) {
			rv = PX_ERR_CONFIG;
			goto fail;
		}
		if (g->cfg->tls.identity_ca_file != NULL &&
		    (g->identity_ca = read_cert(g->cfg->tls.identity_ca_file)) == NULL) {
			rv = PX_ERR_CONFIG;
			goto fail;
		}
	}
	free(text);
	px_diags_free(&diags);
	*out = g;
	return 0;
fail:
	free(text);
	px_diags_free(&diags);
	px_gen_unref(g);
	return rv == 0 ? PX_ERR_CONFIG : rv;
}
