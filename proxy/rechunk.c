/* SPDX-License-Identifier: Apache-2.0 */
/* rechunk.c: an aws-chunked body re-signed chunk by chunk with the role's key as it streams through the gate. */
#include <stdlib.h>
#include <string.h>

#include "proxy/pipeline.h"

struct px_rechunk {
	struct sv4_chain *chain;
	struct sv4_dechunk *dechunk;
	enum sv4_chunked_kind kind;
	px_rechunk_out_fn *fn;
	void *arg;
	int failed; /* the callback's non-zero return, once one came */
};

static int put(struct px_rechunk *rc, const void *p, size_t n)
{
	int rv = rc->fn(rc->arg, p, n);
	if (rv != 0 && rc->failed == 0)
		rc->failed = rv;
	return rv;
}

static int on_chunk(void *arg, const unsigned char *data, size_t len, const char *hash, const char *sig)
{
	struct px_rechunk *rc = arg;
	char nsig[65], line[SV4_MAX_CHUNK_LINE];
	int rv;
	(void)sig;
	if (sv4_chain_chunk(rc->chain, hash, nsig) != 0)
		return SV4_ERR_CRYPTO;
	if ((rv = put(rc, line, sv4_chunk_line(line, len, nsig))) != 0)
		return rv;
	if (len > 0 && (rv = put(rc, data, len)) != 0)
		return rv;
	/* the final chunk of the trailer kind has no CRLF of its own: the trailers follow */
	if (len > 0 || rc->kind == SV4_CHUNKED_SIGNED)
		return put(rc, "\r\n", 2);
	return 0;
}

static int on_trailers(void *arg, const char *canonical, size_t len, const char *sig)
{
	struct px_rechunk *rc = arg;
	(void)sig;
	if (rc->kind != SV4_CHUNKED_SIGNED_TRAILER)
		return 0;
	char nsig[65];
	if (sv4_chain_trailer(rc->chain, canonical, len, nsig) != 0)
		return SV4_ERR_CRYPTO;
	/* sv4_trailer_lines() needs len + lines + 92 bytes; lines <= len */
	char *text = malloc(2 * len + 96);
	if (text == NULL)
		return SV4_ERR_NOMEM;
	int rv = put(rc, text, sv4_trailer_lines(text, canonical, len, nsig));
	free(text);
	return rv;
}

int px_rechunk_new(struct sv4_signer *signer, enum sv4_chunked_kind kind, size_t max_chunk, const char *secret,
                   const char *date, const char *region, const char *service, const char *seed,
                   px_rechunk_out_fn *fn, void *arg, struct px_rechunk **out)
{
	if ((kind != SV4_CHUNKED_SIGNED && kind != SV4_CHUNKED_SIGNED_TRAILER) || fn == NULL)
		return PX_ERR_RANGE;
	struct px_rechunk *rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return PX_ERR_NOMEM;
	rc->kind = kind;
	rc->fn = fn;
	rc->arg = arg;
	rc->chain = sv4_chain_new(signer, secret, date, region, service, seed);
	if (rc->chain == NULL)
		goto fail;
	rc->dechunk = sv4_dechunk_new(kind, max_chunk ? max_chunk : SV4_DEFAULT_MAX_CHUNK, NULL, on_chunk,
	                              on_trailers, rc);
	if (rc->dechunk == NULL)
		goto fail;
	*out = rc;
	return 0;
fail:
	px_rechunk_del(rc);
	return PX_ERR_NOMEM;
}

static int refusal(struct px_rechunk *rc, int rv, struct px_refusal *why)
{
	if (rc->failed != 0 && rv == rc->failed)
		return rv;
	if (rv == SV4_ERR_NOMEM)
		return PX_ERR_NOMEM;
	uint64_t off = 0;
	const char *what = sv4_dechunk_error(rc->dechunk, &off);
	if (rv == SV4_ERR_CHUNK_TOO_LARGE)
		return px_refuse(why, PX_R_PAYLOAD_TOO_LARGE,
		                 "an aws-chunked chunk is larger than the gate accepts (body byte %llu): use smaller "
		                 "chunks",
		                 (unsigned long long)off);
	return px_refuse(why, PX_R_REQUEST_MALFORMED, "the aws-chunked body is malformed at byte %llu: %s",
	                 (unsigned long long)off, what ? what : sv4_strerror(rv));
}

int px_rechunk_feed(struct px_rechunk *rc, const unsigned char *p, size_t len, struct px_refusal *why)
{
	int rv = sv4_dechunk_feed(rc->dechunk, p, len);
	return rv == 0 ? 0 : refusal(rc, rv, why);
}

int px_rechunk_finish(struct px_rechunk *rc, uint64_t *decoded, struct px_refusal *why)
{
	int rv = sv4_dechunk_finish(rc->dechunk, decoded);
	return rv == 0 ? 0 : refusal(rc, rv, why);
}

void px_rechunk_del(struct px_rechunk *rc)
{
	if (rc == NULL)
		return;
	sv4_dechunk_del(rc->dechunk);
	sv4_chain_del(rc->chain);
	free(rc);
}
