/* SPDX-License-Identifier: MIT */
/*
 * dm-verity hash tree and root hash (format version 1, as `veritysetup format`
 * writes them), computed in memory on several threads.  The tree is the hash
 * area `veritysetup format --no-superblock` writes, byte for byte: what
 * measured-init hands dm-verity as the hash device.
 */
#ifndef MEASURED_VERITY_H
#define MEASURED_VERITY_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define VERITY_SALT_MAX	  256
#define VERITY_LEVELS_MAX 32

struct verity_params {
	const struct hash_alg *alg; /* sha256 (a power-of-two digest size) */
	uint32_t data_block_size;   /* 4096 */
	uint32_t hash_block_size;   /* 4096 */
	uint8_t salt[VERITY_SALT_MAX];
	size_t salt_len; /* 0: no salt ("--salt=-") */
};

/* Defaults of veritysetup: sha256, 4096/4096, and (unlike veritysetup) no salt. */
void verity_params_default(struct verity_params *p);

struct verity_tree {
	uint8_t *area;	      /* the hash area, top level first; NULL for one data block */
	size_t size;	      /* bytes, a multiple of hash_block_size */
	unsigned levels;      /* 0 for one data block (its hash is the root) */
	uint64_t data_blocks; /* what the tree covers */
};

/*
 * Root hash (into @ret_root) over the first floor(size / data_block_size)
 * blocks of @fd, like veritysetup, and the tree it is the root of
 * (@ret_tree NULL: not kept): both from one read of every data block.
 * @threads readers share the data blocks (1 = no threads).
 */
int verity_hash_tree(int fd, const struct verity_params *p, unsigned threads, progress_fn progress,
		     void *progress_arg, uint8_t *ret_root, struct verity_tree *ret_tree);
void verity_tree_free(struct verity_tree *t);

#endif
