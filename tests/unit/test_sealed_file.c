// SPDX-License-Identifier: MIT
/* The sealed key file: round trip, and each kind of damage named. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <tss2/tss2_mu.h>

#include "digest.h"
#include "err.h"
#include "sealed_file.h"

static void sample(struct sealed_file *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(pcr_selection_parse("sha256:0,1,2,3,4,5,6,7,8,9,11,13", &f->pcrs), 0);
	f->pin = true;
	memset(f->policy, 0xab, 32);
	TPM2B_PUBLIC pub = {0};
	pub.publicArea.type = TPM2_ALG_KEYEDHASH;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	pub.publicArea.authPolicy.size = 32;
	memcpy(pub.publicArea.authPolicy.buffer, f->policy, 32);
	f->obj.pub_len = 0;
	assert_int_equal(
		Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, f->obj.pub, sizeof(f->obj.pub), &f->obj.pub_len),
		0);
	f->obj.priv_len = 126;
	memset(f->obj.priv, 0x22, f->obj.priv_len);
}

/* Fixes the trailing checksum after a deliberate change. */
static void reseal_sum(uint8_t *buf, size_t len)
{
	digest_buf(hash_alg_by_name("sha256"), buf, len - 32, buf + len - 32);
}

static void test_round_trip(void **state)
{
	struct sealed_file f, g;
	uint8_t *buf;
	size_t len;

	(void)state;
	sample(&f);
	assert_int_equal(sealed_file_encode(&f, &buf, &len), 0);
	assert_memory_equal(buf, "MSEALKEY\0\1\0\1", 12);
	assert_int_equal(sealed_file_decode(buf, len, &g), 0);
	assert_memory_equal(&f, &g, sizeof(f));
	free(buf);
}

/* With the sealed-to values and a policy signer's name: both come back. */
static void test_values_and_signer(void **state)
{
	struct sealed_file f, g;
	uint8_t *buf;
	size_t len;

	(void)state;
	sample(&f);
	f.has_values = true;
	pcr_banks_init(&f.values);
	struct pcr_bank *b = pcr_banks_add(&f.values, hash_alg_by_name("sha256"));
	for (unsigned i = 0; i < PCR_COUNT; i++)
		if (f.pcrs.bank[0].mask & (1u << i)) {
			memset(b->value[i], (int)i + 1, 32);
			b->extended |= 1u << i;
		}
	f.authorizer_len = 34;
	memset(f.authorizer, 0x5a, 34);
	assert_int_equal(sealed_file_encode(&f, &buf, &len), 0);
	assert_memory_equal(buf + 10, "\0\7", 2); /* PIN | values | authorized */
	assert_int_equal(sealed_file_decode(buf, len, &g), 0);
	assert_true(g.has_values);
	assert_int_equal(g.authorizer_len, 34);
	assert_memory_equal(g.authorizer, f.authorizer, 34);
	struct pcr_bank *gb = pcr_banks_find(&g.values, hash_alg_by_name("sha256"));
	assert_non_null(gb);
	assert_memory_equal(gb->value[13], b->value[13], 32);
	assert_int_equal(gb->extended, b->extended);
	/* cut one value short: named */
	buf[11] = 3; /* drop the authorized flag: the name's bytes become the public part */
	reseal_sum(buf, len);
	assert_true(sealed_file_decode(buf, len, &g) < 0);
	free(buf);
}

static void expect_error(const uint8_t *buf, size_t len, const char *words)
{
	struct sealed_file g;

	assert_true(sealed_file_decode(buf, len, &g) < 0);
	if (!strstr(err_msg(), words))
		fail_msg("wanted '%s' in: %s", words, err_msg());
}

/*
 * Version 2: the revocation counter (index, value) after the signer's name.
 * A file without one is written as version 1, which still loads; the version
 * and the counter flag must agree.
 */
static void test_counter_version_2(void **state)
{
	struct sealed_file f, g;
	uint8_t *buf;
	size_t len, off;

	(void)state;
	sample(&f);
	f.counter.index = 0x013a0007;
	f.counter.value = 0x0102030405060708ull;
	f.obj.parent_len = 34;
	memset(f.obj.parent, 0x77, 34);
	assert_int_equal(sealed_file_encode(&f, &buf, &len), 0);
	assert_memory_equal(buf, "MSEALKEY\0\2\0\x19", 12); /* version 2, PIN | counter | SRK */
	assert_int_equal(sealed_file_decode(buf, len, &g), 0);
	assert_memory_equal(&f, &g, sizeof(f));
	/* the counter's bytes, big-endian, after selection and policy digest */
	off = 12 + 2 + (size_t)(buf[12] << 8 | buf[13]) + 32;
	assert_memory_equal(buf + off, "\x01\x3a\x00\x07\1\2\3\4\5\6\7\x08\0\x22", 14);
	assert_memory_equal(buf + off + 14, f.obj.parent, 34);
	buf[9] = 1;
	reseal_sum(buf, len);
	expect_error(buf, len, "version 1 with a revocation counter");
	buf[9] = 2;
	buf[11] = 0x11; /* no counter flag: its bytes would be read as the public part */
	reseal_sum(buf, len);
	expect_error(buf, len, "version 2 without a revocation counter");
	/* the SRK flag cleared: the SRK check would be skipped, so the file is refused */
	buf[11] = 0x09;
	reseal_sum(buf, len);
	expect_error(buf, len, "version 2 without an SRK name");
	buf[11] = 0x19;
	memset(buf + off, 0, 4);
	reseal_sum(buf, len);
	expect_error(buf, len, "NV counter index 0");
	free(buf);
}

static void test_damage_named(void **state)
{
	struct sealed_file f;
	uint8_t *buf;
	size_t len;

	(void)state;
	sample(&f);
	assert_int_equal(sealed_file_encode(&f, &buf, &len), 0);
	expect_error(buf, 7, "no MSEALKEY magic");
	buf[40] ^= 1;
	expect_error(buf, len, "checksum mismatch");
	buf[40] ^= 1;
	buf[9] = 3; /* version 3 */
	reseal_sum(buf, len);
	expect_error(buf, len, "version 3 (this reads 1 and 2)");
	buf[9] = 1;
	buf[11] = 0x81; /* unknown flag */
	reseal_sum(buf, len);
	expect_error(buf, len, "unknown flags");
	buf[11] = 1;
	buf[12] = 0x10; /* a 4 KiB selection */
	reseal_sum(buf, len);
	expect_error(buf, len, "PCR selection of 4128 bytes");
	buf[12] = 0;
	buf[14] = 'x'; /* "xha256:..." */
	reseal_sum(buf, len);
	expect_error(buf, len, "PCR selection");
	buf[14] = 's';
	buf[14 + 32] ^= 1; /* the stored policy digest no longer the object's */
	reseal_sum(buf, len);
	expect_error(buf, len, "policy digest differs");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_version_2),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_named),
		cmocka_unit_test(test_values_and_signer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
