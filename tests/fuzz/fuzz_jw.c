/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_jw.c: libFuzzer target for the audit's JSON writer (proxy/log.c): any bytes make a line jansson reads back to them, invalid UTF-8 as U+FFFD, at the documented size and limit. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#define FUZZ_NAME "fuzz_jw"
#include "tests/fuzz/harness.h"

#include "proxy/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The length of the well-formed UTF-8 sequence at |p| (|n| bytes left),
 * or 0: the ranges of the Unicode Standard's table 3-7, written apart
 * from the writer's decoder on purpose. */
static size_t well_formed(const uint8_t *p, size_t n)
{
	static const struct {
		uint8_t lead_lo, lead_hi, second_lo, second_hi;
		size_t len;
	} rows[] = {
		{0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3}, {0xe1, 0xec, 0x80, 0xbf, 3},
		{0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3}, {0xf0, 0xf0, 0x90, 0xbf, 4},
		{0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};

	for (size_t r = 0; r < COUNTOF(rows); r++) {
		if (p[0] < rows[r].lead_lo || p[0] > rows[r].lead_hi)
			continue;
		if (n < rows[r].len || p[1] < rows[r].second_lo || p[1] > rows[r].second_hi)
			return 0;
		for (size_t i = 2; i < rows[r].len; i++)
			if (p[i] < 0x80 || p[i] > 0xbf)
				return 0;
		return rows[r].len;
	}
	return 0;
}

/* What jansson must read back for |p|, and the size of its JSON string
 * without the quotes: '"' and '\\' take 2 bytes, control characters 6
 * (\u00XX), a byte that starts no sequence 6 (\ufffd, read back as
 * U+FFFD), the rest as they are. */
static size_t expect(const uint8_t *p, size_t n, struct sbuf *value)
{
	size_t written = 0;

	for (size_t i = 0; i < n;) {
		size_t k = p[i] < 0x80 ? 1 : well_formed(p + i, n - i);
		if (k == 0) {
			sb_add(value, "\xef\xbf\xbd", 3);
			written += 6;
			i++;
			continue;
		}
		sb_add(value, p + i, k);
		written += p[i] == '"' || p[i] == '\\' ? 2 : p[i] < 0x20 ? 6 : k;
		i += k;
	}
	return written;
}

static void check_member(json_t *o, const char *key, const struct sbuf *want)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		violated("a member is missing or not a string");
	if (json_string_length(v) != want->len || memcmp(json_string_value(v), want->p, want->len) != 0)
		violated("a string does not read back to its bytes (invalid UTF-8 as U+FFFD)");
}

/* The first byte says how many times member "b" repeats the rest (1 to
 * 32), so that values reach past PX_JW_MAX; member "a" is the rest once. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf a, b, rep, line;
	struct px_jw w;
	size_t reps, n, alen, blen, want_len;
	const uint8_t *v;

	if (size == 0)
		return 0;
	reps = (size_t)(data[0] % 32) + 1;
	v = data + 1;
	n = size - 1;
	sb_init(&a);
	sb_init(&b);
	sb_init(&rep);
	sb_init(&line);
	alen = expect(v, n, &a);
	for (size_t i = 0; i < reps; i++)
		sb_add(&rep, v, n);
	/* Not |a| repeated: a sequence cut at the end of one copy may be
	 * completed by the start of the next. */
	blen = expect((const uint8_t *)rep.p, rep.len, &b);

	px_jw_init(&w);
	px_jw_strn(&w, "a", (const char *)v, n);
	px_jw_strn(&w, "b", rep.p, rep.len);
	/* {"a":"...","b":"..." */
	want_len = 1 + 4 + 2 + alen + 5 + 2 + blen;
	if (w.failed != (want_len > PX_JW_MAX))
		violated("the writer failed below PX_JW_MAX, or did not fail past it");
	if (!w.failed) {
		json_error_t err;
		json_t *o;

		if (w.len != want_len)
			violated("the line's size is not what the escapes make");
		for (size_t i = 0; i < w.len; i++)
			if ((unsigned char)w.buf[i] < 0x20)
				violated("a raw control character in the line");
		sb_add(&line, w.buf, w.len);
		sb_addc(&line, '}');
		o = json_loadb(line.p, line.len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
		if (o == NULL)
			violated("jansson does not parse the line");
		if (json_object_size(o) != 2)
			violated("the line does not have its two members");
		check_member(o, "a", &a);
		check_member(o, "b", &b);
		json_decref(o);
	}
	px_jw_free(&w);
	sb_free(&a);
	sb_free(&b);
	sb_free(&rep);
	sb_free(&line);
	return 0;
}
