// SPDX-License-Identifier: MIT
/* The nonce hash tree: every path leads to the root, and only its own nonce's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "nonce_tree.h"

static void test_paths_lead_to_root(void **state)
{
	uint8_t nonces[70][32];
	const uint8_t *ptr[70];
	size_t lens[70];
	struct nonce_path paths[70];

	(void)state;
	for (int i = 0; i < 70; i++) {
		memset(nonces[i], i + 1, sizeof(nonces[i]));
		ptr[i] = nonces[i];
		lens[i] = 16 + i % 17;
	}
	for (size_t n = 1; n <= 70; n++) {
		uint8_t root[32], again[32];

		assert_int_equal(nonce_tree_build(ptr, lens, n, root, paths), 0);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(nonce_tree_root(ptr[i], lens[i], &paths[i], again), 0);
			assert_memory_equal(root, again, 32);
			/* another nonce with this path does not reach the root */
			assert_int_equal(nonce_tree_root(ptr[(i + 1) % 70], lens[(i + 1) % 70],
							 &paths[i], again),
					 0);
			if (n > 1)
				assert_memory_not_equal(root, again, 32);
		}
	}
}

/* One nonce: the root is SHA-256(0x00 || nonce), computed here with OpenSSL. */
static void test_single_leaf(void **state)
{
	uint8_t nonce[20] = "twenty bytes nonce..", buf[21], want[32], root[32];
	const uint8_t *p = nonce;
	size_t len = sizeof(nonce);
	struct nonce_path path;

	(void)state;
	buf[0] = 0;
	memcpy(buf + 1, nonce, 20);
	SHA256(buf, sizeof(buf), want);
	assert_int_equal(nonce_tree_build(&p, &len, 1, root, &path), 0);
	assert_int_equal(path.len, 0);
	assert_memory_equal(root, want, 32);
	assert_int_equal(nonce_tree_build(&p, &len, 0, root, &path) < 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_lead_to_root),
		cmocka_unit_test(test_single_leaf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
