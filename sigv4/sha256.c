/* SPDX-License-Identifier: Apache-2.0 */
/* sha256.c: the SHA-256 states of the signing hot path, on OpenSSL's low-level API or on EVP.
 *
 * A signature hashes the canonical request and runs one HMAC from two
 * pre-padded states. Through EVP each of those costs a provider dispatch,
 * and copying a state (EVP_MD_CTX_copy_ex) frees and allocates the
 * provider's context. The low-level SHA256_* functions run the same block
 * code (SHA-NI, AVX2) without either, and a state is a plain struct that
 * copies by assignment: at a few hundred nanoseconds a signature that is
 * about a tenth of the time (docs/SIGV4.md, "Speed").
 *
 * OpenSSL 3 marks them deprecated, not removed. configure checks they
 * still link (--disable-lowlevel-sha256 forces EVP, and CI builds one stage
 * that way so both halves stay tested). They bypass the providers, so a
 * process that asks for FIPS by default hashes through EVP regardless. */
#include "config.h"

#if SV4_LOWLEVEL_SHA256
/* Ask for the 1.1.1 API so the 3.0 deprecation is not flagged; this file
 * alone does. */
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>
#endif
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string.h>

#include "sv4_int.h"

#if SV4_LOWLEVEL_SHA256
_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct sv4_sha256 *)0)->u.state),
               "struct sv4_sha256 holds a SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(struct sv4_sha256), "and is aligned for it");

static SHA256_CTX *ctx(struct sv4_sha256 *h)
{
	return (SHA256_CTX *)(void *)h->u.state;
}
#endif

int sv4_sha256_lowlevel(void)
{
#if SV4_LOWLEVEL_SHA256
	/* The low-level functions never go through a provider: when the
	 * process asks for FIPS by default, hash through EVP so the FIPS
	 * provider does it. */
	return !EVP_default_properties_is_fips_enabled(NULL);
#else
	return 0;
#endif
}

int sv4_sha256_new(struct sv4_sha256 *h, int lowlevel)
{
	memset(h, 0, sizeof(*h));
#if SV4_LOWLEVEL_SHA256
	if (lowlevel) {
		h->lowlevel = 1;
		return 0;
	}
#else
	(void)lowlevel;
#endif
	h->u.evp = EVP_MD_CTX_new();
	return h->u.evp != NULL ? 0 : SV4_ERR_NOMEM;
}

void sv4_sha256_del(struct sv4_sha256 *h)
{
	if (!h->lowlevel)
		EVP_MD_CTX_free(h->u.evp);
	OPENSSL_cleanse(h, sizeof(*h));
}

int sv4_sha256_init(struct sv4_sha256 *h)
{
#if SV4_LOWLEVEL_SHA256
	if (h->lowlevel)
		return SHA256_Init(ctx(h)) == 1 ? 0 : SV4_ERR_CRYPTO;
#endif
	return EVP_DigestInit_ex2(h->u.evp, EVP_sha256(), NULL) ? 0 : SV4_ERR_CRYPTO;
}

int sv4_sha256_update(struct sv4_sha256 *h, const void *data, size_t len)
{
#if SV4_LOWLEVEL_SHA256
	if (h->lowlevel)
		return SHA256_Update(ctx(h), data, len) == 1 ? 0 : SV4_ERR_CRYPTO;
#endif
	return EVP_DigestUpdate(h->u.evp, data, len) ? 0 : SV4_ERR_CRYPTO;
}

int sv4_sha256_final(struct sv4_sha256 *h, unsigned char md[32])
{
#if SV4_LOWLEVEL_SHA256
	if (h->lowlevel)
		return SHA256_Final(md, ctx(h)) == 1 ? 0 : SV4_ERR_CRYPTO;
#endif
	unsigned int mdlen = 0;
	return EVP_DigestFinal_ex(h->u.evp, md, &mdlen) && mdlen == 32 ? 0 : SV4_ERR_CRYPTO;
}

int sv4_sha256_copy(struct sv4_sha256 *dst, const struct sv4_sha256 *src)
{
	if (src->lowlevel) {
		*dst = *src;
		return 0;
	}
	return EVP_MD_CTX_copy_ex(dst->u.evp, src->u.evp) ? 0 : SV4_ERR_CRYPTO;
}
