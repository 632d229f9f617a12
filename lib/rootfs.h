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
#include <sys/types.h>

#include "digest.h"
#include "pcr.h"
#include "verity.h"

#define ROOTFS_DEFAULT_PCR 13

enum rootfs_mode { ROOTFS_FLAT, ROOTFS_VERITY };

/* verity: enforced block by block after the boot-time measurement; flat is not */
#define ROOTFS_DEFAULT_MODE ROOTFS_VERITY

/*
 * The PCRs a rootfs measurement may go to: 8-15 without 10 (IMA) and 11
 * (cmld).  0-7 are the firmware's, 16 and 23 can be reset by anyone, 17-22
 * are TXT's (reset by a late launch).  Else -EINVAL with the reason.
 */
int rootfs_pcr_check(unsigned pcr);
/* A decimal PCR number that rootfs_pcr_check accepts. */
int rootfs_pcr_parse(const char *text, unsigned *ret);

struct rootfs_measurement {
	enum rootfs_mode mode;
	uint64_t size;	      /* bytes of the image */
	uint64_t data_blocks; /* verity */
	dev_t dev;	      /* the block device measured (st_rdev), 0 for a file */
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
 * @ret_tree (verity mode, may be NULL) gets the hash tree the root hash was
 * computed from: what dm-verity needs to enforce the measurement.
 */
int rootfs_measure(const char *path, enum rootfs_mode mode, const struct verity_params *vp,
		   const struct hash_alg *const *banks, unsigned n, unsigned threads,
		   progress_fn progress, void *progress_arg, struct rootfs_measurement *ret,
		   struct verity_tree *ret_tree);

#endif
