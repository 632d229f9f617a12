/* SPDX-License-Identifier: MIT */
/*
 * PCR selections (tpm2-tools syntax) and software PCR banks for replay.
 */
#ifndef MEASURED_PCR_H
#define MEASURED_PCR_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"

#define PCR_COUNT     24
#define PCR_BANKS_MAX 8

/* Which PCRs of which banks: "sha256:0,1,7+sha1:0". */
struct pcr_selection {
	unsigned count;
	struct {
		const struct hash_alg *alg;
		uint32_t mask; /* bit i = PCR i */
	} bank[PCR_BANKS_MAX];
};

/*
 * Parses "BANK:LIST[+BANK:LIST...]" where LIST is comma-separated PCR numbers,
 * ranges "0-7", or "all". Banks in the order given; a repeated bank merges.
 */
int pcr_selection_parse(const char *text, struct pcr_selection *ret);
/* Adds @mask of bank @alg (a new bank goes last); -EINVAL past PCR_BANKS_MAX banks. */
int pcr_selection_add(struct pcr_selection *sel, const struct hash_alg *alg, uint32_t mask);
/* Writes the canonical text form ("sha256:0,1,7+sha1:0") into @buf. */
int pcr_selection_format(const struct pcr_selection *sel, char *buf, size_t size);
/* The mask selected for @alg, 0 if the bank is not selected. */
uint32_t pcr_selection_mask(const struct pcr_selection *sel, const struct hash_alg *alg);

/* One bank of PCR values, as a TPM would hold them. */
struct pcr_bank {
	const struct hash_alg *alg;
	uint32_t extended; /* bit i: PCR i was extended at least once */
	uint8_t value[PCR_COUNT][DIGEST_MAX];
};

/* Several banks side by side, in the order added. */
struct pcr_banks {
	unsigned count;
	struct pcr_bank bank[PCR_BANKS_MAX];
};

/* Resets every PCR of @bank to the TPM's reset value (zero; 17-22 too, as after a D-RTM launch). */
void pcr_bank_init(struct pcr_bank *bank, const struct hash_alg *alg);
/* value[pcr] = H(value[pcr] || digest); @digest has alg->size bytes. */
int pcr_bank_extend(struct pcr_bank *bank, unsigned pcr, const uint8_t *digest);

void pcr_banks_init(struct pcr_banks *banks);
/* Adds a reset bank for @alg (or returns the existing one); NULL when full. */
struct pcr_bank *pcr_banks_add(struct pcr_banks *banks, const struct hash_alg *alg);
struct pcr_bank *pcr_banks_find(struct pcr_banks *banks, const struct hash_alg *alg);
/* The same, for reading. */
const struct pcr_bank *pcr_banks_get(const struct pcr_banks *banks, const struct hash_alg *alg);

/*
 * H(the selected values of @values: banks in selection order, PCRs
 * ascending) in @alg -- a quote's pcrDigest, PolicyPCR's pcrDigest.
 */
int pcr_values_digest(const struct hash_alg *alg, const struct pcr_selection *sel,
		      const struct pcr_banks *values, uint8_t *ret);

struct jw;
/*
 * Writes {"sha256":{"0":"hex",...},...}: for each bank the PCRs in @mask
 * that were extended (all PCRs in @mask when @only_extended is false).
 */
void pcr_banks_json(struct jw *j, const struct pcr_banks *banks, uint32_t mask, bool only_extended);

#endif
