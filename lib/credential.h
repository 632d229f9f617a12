/* SPDX-License-Identifier: MIT */
/*
 * TPM2_MakeCredential in software (TPM 2.0 Part 1, 24 "Credential
 * Protection"), for an ECC P-256 endorsement key: the verifier wraps a
 * secret so that only the TPM holding that EK, and only for a key with that
 * name, can recover it with TPM2_ActivateCredential.
 */
#ifndef MEASURED_CREDENTIAL_H
#define MEASURED_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

/* The TPM name of a marshalled TPM2B_PUBLIC: nameAlg || H(TPMT_PUBLIC). */
int tpm_public_name(const uint8_t *pub, size_t len, uint8_t *ret, size_t *ret_len);

/*
 * Wraps @secret (at most 32 bytes) for the key named @name under the EK
 * @ek_pub (marshalled TPM2B_PUBLIC).  Writes the marshalled TPM2B_ID_OBJECT
 * and TPM2B_ENCRYPTED_SECRET.
 */
int make_credential(const uint8_t *ek_pub, size_t ek_len, const uint8_t *name, size_t name_len,
		    const uint8_t *secret, size_t secret_len, uint8_t *ret_blob,
		    size_t *ret_blob_len, uint8_t *ret_enc, size_t *ret_enc_len);

/* 0 when @pub is a restricted signing key that never leaves its TPM (an AK). */
int tpm_public_check_ak(const uint8_t *pub, size_t len);

/* SP 800-108 KDFa with HMAC-SHA256 (exposed for tests). */
int kdfa_sha256(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u,
		size_t u_len, const uint8_t *v, size_t v_len, unsigned bits, uint8_t *out);

#endif
