// SPDX-License-Identifier: MIT
/* PCR selections in tpm2-tools syntax, and software extend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "hex.h"
#include "pcr.h"

static void test_selection_roundtrip(void **state)
{
	struct pcr_selection sel;
	char text[256];

	(void)state;
	assert_int_equal(pcr_selection_parse("sha256:0,1,7+sha1:0", &sel), 0);
	assert_int_equal(sel.count, 2);
	assert_string_equal(sel.bank[0].alg->name, "sha256");
	assert_int_equal(sel.bank[0].mask, 0x83);
	assert_int_equal(sel.bank[1].mask, 0x1);
	assert_int_equal(pcr_selection_format(&sel, text, sizeof(text)), 0);
	assert_string_equal(text, "sha256:0,1,7+sha1:0");

	assert_int_equal(pcr_selection_parse("sha256:0-3,9+sha256:23", &sel), 0);
	assert_int_equal(sel.count, 1);
	assert_int_equal(sel.bank[0].mask, 0x80020f);
	assert_int_equal(pcr_selection_parse("sha384:all", &sel), 0);
	assert_int_equal(sel.bank[0].mask, 0xffffff);
}

static void test_selection_errors(void **state)
{
	static const char *const bad[] = {
		"",	      "sha256",	  "sha256:",  "md5:0", "sha256:24", "sha256:1,,2",
		"sha256:3-1", "sha256:x", "sha256:0+"};
	struct pcr_selection sel;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(pcr_selection_parse(bad[i], &sel) < 0);
}

static void test_extend_matches_openssl(void **state)
{
	const struct hash_alg *sha256 = hash_alg_by_name("sha256");
	uint8_t sep[SHA256_DIGEST_LENGTH], expect[SHA256_DIGEST_LENGTH], cat[64] = {0};
	static const uint8_t zero4[4] = {0};
	struct pcr_bank bank;
	char hex[65];

	(void)state;
	/* the separator digest published in the TCG PFP and measurements.md */
	SHA256(zero4, sizeof(zero4), sep);
	hex_encode(sep, sizeof(sep), hex);
	assert_string_equal(hex,
			    "df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119");

	pcr_bank_init(&bank, sha256);
	assert_int_equal(pcr_bank_extend(&bank, 7, sep), 0);
	memcpy(cat + 32, sep, 32);
	SHA256(cat, sizeof(cat), expect);
	assert_memory_equal(bank.value[7], expect, 32);
	assert_int_equal(bank.extended, 1u << 7);
	assert_true(pcr_bank_extend(&bank, 24, sep) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selection_roundtrip),
		cmocka_unit_test(test_selection_errors),
		cmocka_unit_test(test_extend_matches_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
