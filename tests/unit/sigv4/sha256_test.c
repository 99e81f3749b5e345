/* SPDX-License-Identifier: Apache-2.0 */
/* sha256_test.c: the hot path's SHA-256 states, low-level and EVP, against FIPS 180-2's vectors and each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sigv4/sv4_int.h"

/* FIPS 180-2, appendix B: "abc" and the two-block message. */
#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define TWO_BLOCK "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define TWO_BLOCK_HEX "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

static void hex(char out[65], const unsigned char md[32])
{
	sv4_hex_encode(out, md, 32);
}

/* Hashes |msg| in pieces of |step| bytes with a state of |kind|. */
static void digest(int kind, const char *msg, size_t step, char out[65])
{
	struct sv4_sha256 h;
	unsigned char md[32];
	size_t len = strlen(msg);
	assert_int_equal(sv4_sha256_new(&h, kind), 0);
	assert_int_equal(sv4_sha256_init(&h), 0);
	for (size_t i = 0; i < len; i += step)
		assert_int_equal(sv4_sha256_update(&h, msg + i, len - i < step ? len - i : step), 0);
	assert_int_equal(sv4_sha256_final(&h, md), 0);
	sv4_sha256_del(&h);
	hex(out, md);
}

static void test_vectors_both_kinds(void **state)
{
	(void)state;
	char out[65];
	for (int kind = 0; kind <= 1; kind++) {
		digest(kind, "abc", 1, out);
		assert_string_equal(out, ABC_HEX);
		digest(kind, TWO_BLOCK, 7, out);
		assert_string_equal(out, TWO_BLOCK_HEX);
		digest(kind, "", 1, out);
		assert_string_equal(out, SV4_EMPTY_SHA256);
	}
}

/* A copy taken mid-stream goes on independently of its source: what the
 * HMAC does with the key's pre-padded states. */
static void test_copy_mid_stream(void **state)
{
	(void)state;
	for (int kind = 0; kind <= 1; kind++) {
		struct sv4_sha256 a, b;
		unsigned char md[32];
		char out[65];
		assert_int_equal(sv4_sha256_new(&a, kind), 0);
		assert_int_equal(sv4_sha256_new(&b, kind), 0);
		assert_int_equal(sv4_sha256_init(&a), 0);
		assert_int_equal(sv4_sha256_update(&a, "ab", 2), 0);
		for (int round = 0; round < 2; round++) {
			assert_int_equal(sv4_sha256_copy(&b, &a), 0);
			assert_int_equal(sv4_sha256_update(&b, "c", 1), 0);
			assert_int_equal(sv4_sha256_final(&b, md), 0);
			hex(out, md);
			assert_string_equal(out, ABC_HEX);
		}
		sv4_sha256_del(&a);
		sv4_sha256_del(&b);
	}
}

/* A process that asks for FIPS by default never gets low-level states,
 * which would bypass the FIPS provider. */
static void test_fips_default_means_evp(void **state)
{
	(void)state;
	int before = EVP_default_properties_is_fips_enabled(NULL);
	assert_int_equal(EVP_default_properties_enable_fips(NULL, 1), 1);
	assert_int_equal(sv4_sha256_lowlevel(), 0);
	assert_int_equal(EVP_default_properties_enable_fips(NULL, before), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_both_kinds),
		cmocka_unit_test(test_copy_mid_stream),
		cmocka_unit_test(test_fips_default_means_evp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
