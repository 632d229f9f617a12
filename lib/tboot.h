/* SPDX-License-Identifier: MIT */
/*
 * What tboot (Intel TXT) measures, computed from the artifacts: the launch
 * policy digest, each module's measurement, and the MLE hash the SINIT ACM
 * extends.  Rules: docs/FORMATS.md "tboot".
 */
#ifndef MEASURED_TBOOT_H
#define MEASURED_TBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define TBOOT_PCR_DETAILS     17
#define TBOOT_PCR_AUTHORITIES 18
#define TB_POLICY_PCR_NONE    0xff
#define TB_POLICY_MOD_ANY     0x81 /* 0x82, 0x83: NV indices, not modules */

/* tboot 1.10's built-in default launch policy (DA mapping, SHA-256). */
extern const uint8_t tboot_default_policy[];
extern const size_t tboot_default_policy_len;

struct tboot_policy {
	uint8_t version, type, hash_alg;
	uint32_t control;
	unsigned n_entries;
	struct {
		uint8_t mod_num; /* TB_POLICY_MOD_ANY for any */
		uint8_t pcr;	 /* TB_POLICY_PCR_NONE: the default PCR */
	} entry[32];
};

/* Parses a tb_polgen policy file (checks every size). */
int tboot_policy_parse(const uint8_t *buf, size_t len, const char *what, struct tboot_policy *ret);

/*
 * P = Hb(LE32(policy_control) || SHA-256(policy bytes)); the inner hash is
 * all zeros when control bit 0 is clear.  @bank is Hb.
 */
int tboot_policy_digest(const uint8_t *policy, size_t len, const struct hash_alg *bank,
			uint8_t *out);

/* The PCR tboot extends module @n into under the DA mapping. */
unsigned tboot_module_pcr(const struct tboot_policy *pol, unsigned n);

/*
 * M = Hb(Hb(cmdline) || Hb(image)), the image gunzipped when it is gzip (as
 * GRUB loads it); equal to tb_polgen --hash image.
 */
int tboot_module_digest(const uint8_t *image, size_t len, const char *cmdline,
			const struct hash_alg *bank, uint8_t *out);

/*
 * The MLE hash of tboot.gz (or the bare ELF) for tboot's command line
 * @cmdline, as lcp2_mlehash computes it: PT_LOAD segments laid end to end,
 * the MLE header found by its UUID, the command-line area zeroed and filled
 * with @cmdline, [mle_start_off, mle_end_off) hashed.
 */
int tboot_mle_hash(const uint8_t *file, size_t len, const char *what, const char *cmdline,
		   const struct hash_alg *bank, uint8_t *out);

#endif
