/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_h1up.c: libFuzzer target for the native upstream client's response side: bytes from a fake upstream, whole and in pieces. */
#include <stddef.h>
#include <stdint.h>

#define FUZZ_NAME "fuzz_h1up"
#include "tests/fuzz/harness.h"

#include "proxy/h1up.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: byte 0, bit 0: the request was HEAD; bits 1-7: the size of the
 * pieces the bytes arrive in (0: one byte at a time). The rest is what the
 * upstream sends before closing the connection.
 *
 * The verdict (px_up_error) must be the same however the bytes are cut,
 * and only ok, protocol (bad HTTP, heads over our limits) or reset (cut
 * short) may come out: nothing else can be said of a byte stream.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int head = data[0] & 1;
	size_t piece = (size_t)(data[0] >> 1);
	const unsigned char *p = data + 1;
	size_t n = size - 1;
	enum px_up_error whole = px_h1up_parse_test(p, n, head, n > 0 ? n : 1);
	enum px_up_error cut = px_h1up_parse_test(p, n, head, piece);
	enum px_up_error bytes = px_h1up_parse_test(p, n, head, 1);
	if (whole != PX_UP_OK && whole != PX_UP_PROTOCOL && whole != PX_UP_RESET)
		violated("an error other than ok, protocol or reset");
	if (whole != cut || whole != bytes)
		violated("the verdict depends on how the bytes are cut");
	return 0;
}
