/* SPDX-License-Identifier: MIT */
/*
 * TPM 2.0 policy digests computed in software (TPM 2.0 Part 3, the
 * policyDigest update of each Policy command), so that a build machine can
 * compute what to seal to without a TPM holding those values.
 */
#ifndef MEASURED_POLICY_DIGEST_H
#define MEASURED_POLICY_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

#define TPM_CC_PolicyAuthValue 0x0000016b
#define TPM_CC_PolicyPCR       0x0000017f
#define TPM_CC_PolicyAuthorize 0x0000016a
#define TPM_CC_PolicyNV	       0x00000149
#define TPM_EO_EQ	       0x0000
#define NV_NAME_LEN	       34 /* sha256 nameAlg + digest */

/* A policy digest being built: starts all zero. */
struct policy {
	const struct hash_alg *alg; /* the session's hash (sha256) */
	uint8_t digest[DIGEST_MAX];
};

void policy_init(struct policy *p, const struct hash_alg *alg);

/*
 * Marshals a TPML_PCR_SELECTION (big-endian, 3-byte pcrSelect) into @out
 * (room for 4 + 6 * banks bytes); returns the length.
 */
size_t pcr_selection_marshal(const struct pcr_selection *sel, uint8_t *out);

/*
 * pcrDigest = H(the selected PCR values of @values, banks in selection order,
 * PCRs ascending), the hash being the policy's.
 */
int policy_pcr_values_digest(const struct policy *p, const struct pcr_selection *sel,
			     const struct pcr_banks *values, uint8_t *ret);

/* TPM2_PolicyPCR: H(old || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || pcrDigest). */
int policy_pcr(struct policy *p, const struct pcr_selection *sel, const struct pcr_banks *values);
/*
 * TPM2_PolicyAuthorize with an empty policyRef: H(H(old || CC || keyName) || ""),
 * @key_name being the signer's TPM name (nameAlg || H(TPMT_PUBLIC)).
 */
int policy_authorize(struct policy *p, const uint8_t *key_name, size_t name_len);
/* TPM2_PolicyAuthValue: H(old || TPM_CC_PolicyAuthValue). */
int policy_auth_value(struct policy *p);

/*
 * The TPM name of an NV index with an empty authPolicy and SHA-256 as its
 * nameAlg: 000b || SHA-256(TPMS_NV_PUBLIC {index, nameAlg, @attrs, authPolicy,
 * @data_size}).  @attrs as they are when the policy is checked (TPMA_NV_WRITTEN
 * set for a counter that has a value).
 */
int nv_index_name(uint32_t index, uint32_t attrs, uint16_t data_size, uint8_t ret[NV_NAME_LEN]);
/*
 * TPM2_PolicyNV: H(old || TPM_CC_PolicyNV || H(operandB || offset || operation) || nvName).
 */
int policy_nv(struct policy *p, const uint8_t *nv_name, size_t name_len, const uint8_t *operand,
	      size_t operand_len, uint16_t offset, uint16_t operation);

#endif
