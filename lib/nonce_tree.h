/* SPDX-License-Identifier: MIT */
/*
 * One quote for many verifiers: the qualifying data is the root of a
 * SHA-256 hash tree over their nonces, and each verifier gets the path from
 * its nonce to the root.  Leaves H(0x00 || nonce), nodes H(0x01 || l || r),
 * an odd node is carried up unchanged (no duplication, so no second preimage
 * by repeating a leaf).
 */
#ifndef MEASURED_NONCE_TREE_H
#define MEASURED_NONCE_TREE_H

#include <stddef.h>
#include <stdint.h>

#define NONCE_TREE_MAX_LEAVES 256
#define NONCE_TREE_MAX_DEPTH  9 /* log2(256) + 1 */
#define NONCE_HASH_LEN	      32

struct nonce_path {
	unsigned len;
	struct {
		uint8_t right; /* the sibling is on the right */
		uint8_t hash[NONCE_HASH_LEN];
	} step[NONCE_TREE_MAX_DEPTH];
};

/* Root over @n nonces; paths[i] (if given) gets leaf i's path. */
int nonce_tree_build(const uint8_t *const *nonces, const size_t *lens, size_t n,
		     uint8_t root[NONCE_HASH_LEN], struct nonce_path *paths);
/* The root that @nonce and @path lead to. */
int nonce_tree_root(const uint8_t *nonce, size_t len, const struct nonce_path *path,
		    uint8_t root[NONCE_HASH_LEN]);

#endif
