/* SPDX-License-Identifier: Apache-2.0 */
/* clientcert_shim.c: an LD_PRELOAD library that gives every SSL_CTX a client certificate, for h2load, which has no option for one. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

/* The certificate chain and key files come from the environment so that one
 * build serves every run: AWSGATE_BENCH_CERT and AWSGATE_BENCH_KEY (PEM).
 * Without them the shim changes nothing. A file that does not load is fatal:
 * a benchmark that silently runs without its certificate measures the 401
 * path instead of the real one. */
SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
{
	SSL_CTX *(*real)(const SSL_METHOD *);
	const char *cert, *key;
	SSL_CTX *ctx;
	void *sym;

	sym = dlsym(RTLD_NEXT, "SSL_CTX_new");
	if (sym == NULL) {
		fprintf(stderr, "clientcert_shim: SSL_CTX_new not found: %s\n", dlerror());
		abort();
	}
	*(void **)&real = sym;
	ctx = real(method);
	if (ctx == NULL)
		return NULL;
	cert = getenv("AWSGATE_BENCH_CERT");
	key = getenv("AWSGATE_BENCH_KEY");
	if (cert == NULL || key == NULL)
		return ctx;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "clientcert_shim: cannot load %s and %s (AWSGATE_BENCH_CERT, AWSGATE_BENCH_KEY)\n",
			cert, key);
		exit(2);
	}
	return ctx;
}
