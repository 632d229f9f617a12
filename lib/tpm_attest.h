/* SPDX-License-Identifier: MIT */
/*
 * The device side of attestation: the endorsement key and the attestation
 * key at their persistent handles (created if absent), and quotes taken so
 * that the PCR values handed out are the ones quoted.
 */
#ifndef MEASURED_TPM_ATTEST_H
#define MEASURED_TPM_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>

#include "pcr.h"

#define TPM_HANDLE_SRK 0x81000001
#define TPM_HANDLE_EK  0x81010001
#define TPM_HANDLE_AK  0x81010002

#define TPM_NV_EK_CERT_RSA 0x01c00002 /* the RSA 2048 EK certificate (TCG EK profile) */
#define TPM_NV_EK_CERT_ECC 0x01c0000a /* the ECC NIST P-256 EK certificate */

#define TPM_ATTEST_MAX 1024 /* TPMS_ATTEST of a quote: well under this */
#define TPM_SIG_MAX    1024

struct tpm;

/* Public parts of the keys, marshalled as TPM2B_PUBLIC, and the AK's name. */
struct ak_info {
	uint8_t ek_public[sizeof(TPM2B_PUBLIC)];
	size_t ek_public_len;
	uint8_t ak_public[sizeof(TPM2B_PUBLIC)];
	size_t ak_public_len;
	uint8_t ak_name[sizeof(TPM2B_NAME)];
	size_t ak_name_len;
};

/*
 * Makes sure the EK (RSA 2048, TCG default template L-1, 0x81010001) and the AK
 * (restricted ECDSA P-256 signing key, a primary in the endorsement
 * hierarchy, 0x81010002) exist, creating and persisting what is missing.
 * @create false: only look them up (-ENOENT when absent).
 */
int tpm_keys_ensure(struct tpm *tpm, bool create, struct ak_info *ret);

/*
 * TPM2_ActivateCredential for the AK under the EK (EK authorised with a
 * PolicySecret(TPM_RH_ENDORSEMENT) session): recovers the secret a verifier
 * wrapped with MakeCredential for the AK's name.  @blob is a marshalled
 * TPM2B_ID_OBJECT, @enc a marshalled TPM2B_ENCRYPTED_SECRET.
 */
int tpm_activate_credential(struct tpm *tpm, const uint8_t *blob, size_t blob_len,
			    const uint8_t *enc, size_t enc_len, uint8_t *ret, size_t *ret_len);

/* The EK certificate (DER) at NV index @nv, malloc'd; -ENOENT when there is none. */
int tpm_ek_certificate(struct tpm *tpm, uint32_t nv, uint8_t **ret, size_t *ret_len);

/* A quote as the TPM returned it, with the PCR values it covers. */
struct tpm_quote {
	uint8_t attest[TPM_ATTEST_MAX]; /* marshalled TPMS_ATTEST (what was signed) */
	size_t attest_len;
	uint8_t sig[TPM_SIG_MAX]; /* marshalled TPMT_SIGNATURE */
	size_t sig_len;
	struct pcr_selection sel;
	struct pcr_banks pcrs; /* read before the quote; their digest equals pcrDigest */
	unsigned attempts;     /* quotes taken until read and quote agreed */
};

/*
 * Quotes @sel with the AK over @nonce (the qualifying data).  PCR read and
 * quote are not atomic: read, quote, compare the quote's pcrDigest with the
 * digest of the values read, and try again (up to 8 times) if an extend came
 * in between.
 */
int tpm_quote(struct tpm *tpm, const uint8_t *nonce, size_t nonce_len,
	      const struct pcr_selection *sel, struct tpm_quote *ret);

#endif
