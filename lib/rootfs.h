/* SPDX-License-Identifier: MIT */
/*
 * The measurement of a root filesystem image, as measured-init extends it
 * and pcrpredict predicts it: one code path for both.
 *
 * flat:   each bank's digest is H_bank(whole image).
 * verity: the dm-verity root hash R (veritysetup format, v1); a bank whose
 *         hash is the verity hash gets R itself, any other bank H_bank(R).
 */
#ifndef MEASURED_ROOTFS_H
#define MEASURED_ROOTFS_H

#include <stdint.h>

#include "digest.h"
#include "pcr.h"
#include "verity.h"

#define ROOTFS_DEFAULT_PCR 13

enum rootfs_mode { ROOTFS_FLAT, ROOTFS_VERITY };

struct rootfs_measurement {
	enum rootfs_mode mode;
	uint64_t size;	      /* bytes of the image */
	uint64_t data_blocks; /* verity */
	uint8_t root_hash[DIGEST_MAX];
	unsigned n;
	struct alg_digest digest[PCR_BANKS_MAX]; /* what is extended, per bank */
};

/* "flat" / "verity" */
int rootfs_mode_parse(const char *text, enum rootfs_mode *ret);
const char *rootfs_mode_name(enum rootfs_mode mode);

/*
 * Measures the image or block device at @path for the @n banks in @banks.
 * @vp is used in verity mode (NULL: defaults). Reads on @threads threads.
 */
int rootfs_measure(const char *path, enum rootfs_mode mode, const struct verity_params *vp,
		   const struct hash_alg *const *banks, unsigned n, unsigned threads,
		   progress_fn progress, void *progress_arg, struct rootfs_measurement *ret);

#endif
