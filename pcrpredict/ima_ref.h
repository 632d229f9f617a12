/* SPDX-License-Identifier: MIT */
/*
 * IMA reference digests of a root filesystem: every file the IMA policy
 * would measure, hashed on all cores.  The tree is a directory, or an ext4
 * image copied out with debugfs (no mount).
 */
#ifndef PCRPREDICT_IMA_REF_H
#define PCRPREDICT_IMA_REF_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "ima_policy.h"

#define EXT4_SUPER_MAGIC 0xef53

struct file_ref {
	char *path; /* relative to the root, no leading '/' */
	uint8_t digest[DIGEST_MAX];
};

struct ima_ref {
	const struct hash_alg *alg;
	size_t n;
	struct file_ref *file; /* sorted by path */
};

/*
 * Builds the reference for @rootfs (directory or ext4 image) under the
 * policy in @policy_path (NULL: the built-in tcb policy).
 */
int ima_ref_build(const char *rootfs, const char *policy_path, const struct hash_alg *alg,
		  uint32_t fsmagic, struct ima_ref *ret);
void ima_ref_free(struct ima_ref *ref);

#endif
