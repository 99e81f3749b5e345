/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_h1.c: libFuzzer target for the HTTP/1.1 scanners and codec (llhttp behind our strict checks), over a fake connection. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/proxy/h1_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_h1: invariant violated: %s\n", what);
	abort();
}

/* The first byte chooses how the rest is cut into reads (0: whole). Each run checks:
 *   - the head and chunk scanners give the same answer whole and byte by byte;
 *   - the codec's output is a sequence of HTTP/1.1 responses, each with
 *     X-Awsgate-Version, and a refused request closes the connection;
 *   - nothing leaks (ASan) and nothing is read out of bounds. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_h1_scan s1, s2;
	struct px_h1_chunk c1, c2;
	size_t used, total;
	int r1, r2;
	struct px_conn *c;

	if (size == 0)
		return 0;
	if (harness_init() != 0)
		violated("harness");
	if (px_audit_open("/dev/null", true) != 0)
		violated("audit");

	px_h1_scan_init(&s1, 256, 1024, 8);
	px_h1_scan_init(&s2, 256, 1024, 8);
	r1 = px_h1_scan(&s1, data + 1, size - 1, &used);
	r2 = PX_H1_MORE;
	for (total = 0; total < size - 1 && r2 == PX_H1_MORE; total += used)
		r2 = px_h1_scan(&s2, data + 1 + total, 1, &used);
	if (r1 != r2)
		violated("head scanner: whole and bytewise differ");

	px_h1_chunk_init(&c1, 256, 4);
	px_h1_chunk_init(&c2, 256, 4);
	r1 = px_h1_chunk_scan(&c1, data + 1, size - 1, &used);
	r2 = PX_H1_MORE;
	for (total = 0; total < size - 1 && r2 == PX_H1_MORE; total += used)
		r2 = px_h1_chunk_scan(&c2, data + 1 + total, 1, &used);
	if (r1 != r2)
		violated("chunk scanner: whole and bytewise differ");

	c = harness_conn();
	if (c == NULL)
		return 0;
	harness_feed(c, data + 1, size - 1, data[0] % 17);
	if (c->wlen > 0) {
		if (c->wlen < 9 || memcmp(c->wbuf, "HTTP/1.1 ", 9) != 0)
			violated("output is not an HTTP/1.1 response");
		if (memmem(c->wbuf, c->wlen, "x-awsgate-version: ", 19) == NULL)
			violated("response without x-awsgate-version");
		if ((memmem(c->wbuf, c->wlen, "HTTP/1.1 400 ", 13) != NULL ||
		     memmem(c->wbuf, c->wlen, "HTTP/1.1 431 ", 13) != NULL) && !c->closing)
			violated("a refused request left the connection open");
	}
	harness_conn_del(c);
	return 0;
}
