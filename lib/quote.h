/* SPDX-License-Identifier: MIT */
/*
 * The verifier's side of a TPM quote: parse TPMS_ATTEST and TPMT_SIGNATURE
 * (untrusted bytes, every length checked), check the signature with the AK's
 * public key (OpenSSL), check the PCR digest, and write the files
 * tpm2_checkquote reads.
 */
#ifndef MEASURED_QUOTE_H
#define MEASURED_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pcr.h"

#define TPM_GENERATED_VALUE 0xff544347
#define TPM_ST_ATTEST_QUOTE 0x8018

struct quote_info {
	uint32_t magic;
	uint16_t type;
	uint8_t signer[68]; /* qualifiedSigner (a TPM2B_NAME's bytes) */
	size_t signer_len;
	uint8_t extra[64]; /* extraData: the nonce */
	size_t extra_len;
	uint64_t clock;
	uint32_t reset_count, restart_count;
	uint8_t safe;
	uint64_t firmware;
	struct pcr_selection sel;
	uint8_t pcr_digest[DIGEST_MAX];
	size_t pcr_digest_len;
};

/* Parses a quote's TPMS_ATTEST; refuses anything but a TPM-generated quote. */
int quote_parse(const uint8_t *attest, size_t len, struct quote_info *ret);

/* 0 when @sel is the quote's selection and pcrDigest = SHA-256(values in order); else -EBADMSG. */
int quote_pcr_digest_matches(const struct quote_info *q, const struct pcr_selection *sel,
			     const struct pcr_banks *values);

/* AK public key from a marshalled TPM2B_PUBLIC (ECC P-256/384 or RSA). */
int tpm_public_to_pkey(const uint8_t *pub, size_t len, EVP_PKEY **ret);
/* PEM text of a public key (malloc'd, NUL-terminated). */
int pkey_to_pem(EVP_PKEY *key, char **ret);
int pkey_from_pem(const char *pem, size_t len, EVP_PKEY **ret);

/* Verifies the TPMT_SIGNATURE @sig over @attest with @key: 0, or -EBADMSG with the reason. */
int quote_verify_signature(const uint8_t *attest, size_t attest_len, const uint8_t *sig,
			   size_t sig_len, EVP_PKEY *key);

/*
 * Writes DIR/quote.msg, quote.sig, quote.pcrs (tpm2-tools' serialized
 * format) and nonce.hex, so that
 * tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs -q $(cat nonce.hex)
 * accepts them.
 */
int quote_export(const char *dir, const uint8_t *attest, size_t attest_len, const uint8_t *sig,
		 size_t sig_len, const struct pcr_selection *sel, const struct pcr_banks *values,
		 const uint8_t *nonce, size_t nonce_len);

#endif
