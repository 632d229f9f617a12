// SPDX-License-Identifier: MIT
/* Digests against the FIPS 180 "abc" vectors; streaming equals one-shot. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"
#include "hex.h"

static void test_abc_vectors(void **state)
{
	static const struct {
		const char *alg, *hex;
	} v[] = {
		{"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha384",
		 "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc"
		 "2358baeca134c825a7"},
		{"sha512",
		 "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1"
		 "a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const struct hash_alg *alg = hash_alg_by_name(v[i].alg);
		uint8_t out[DIGEST_MAX];
		char hex[2 * DIGEST_MAX + 1];

		assert_non_null(alg);
		assert_int_equal(digest_buf(alg, "abc", 3, out), 0);
		hex_encode(out, alg->size, hex);
		assert_string_equal(hex, v[i].hex);
	}
}

static void test_alg_table(void **state)
{
	(void)state;
	assert_ptr_equal(hash_alg_by_id(TPM_ALG_SHA256), hash_alg_by_name("SHA256"));
	assert_int_equal(hash_alg_by_id(TPM_ALG_SHA384)->size, 48);
	assert_null(hash_alg_by_id(0x0012)); /* SM3: not offered */
	assert_null(hash_alg_by_name("md5"));
}

static void test_fd_multi_equals_buf(void **state)
{
	const struct hash_alg *algs[] = {hash_alg_by_name("sha1"), hash_alg_by_name("sha256"),
					 hash_alg_by_name("sha512")};
	uint8_t outs[3][DIGEST_MAX], ref[DIGEST_MAX];
	size_t len = 3 * (1 << 20) + 12345; /* crosses the 1 MiB block size */
	uint8_t *data = malloc(len);
	char path[] = "/tmp/measured-digest.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(data);
	assert_true(fd >= 0);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 9));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(digest_fd_multi(fd, algs, 3, outs, NULL, NULL), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(digest_buf(algs[i], data, len, ref), 0);
		assert_memory_equal(outs[i], ref, algs[i]->size);
	}
	close(fd);
	unlink(path);
	free(data);
}

static void test_hex(void **state)
{
	uint8_t out[4];
	size_t len;

	(void)state;
	assert_int_equal(hex_decode("0xdeadBEEF", out, sizeof(out), &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(out[0], 0xde);
	assert_int_equal(out[3], 0xef);
	assert_true(hex_decode("abc", out, sizeof(out), &len) < 0);
	assert_true(hex_decode("zz", out, sizeof(out), &len) < 0);
	assert_true(hex_decode("0011223344", out, sizeof(out), &len) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abc_vectors),
		cmocka_unit_test(test_alg_table),
		cmocka_unit_test(test_fd_multi_equals_buf),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
