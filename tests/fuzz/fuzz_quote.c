// SPDX-License-Identifier: MIT
/* libFuzzer: TPMS_ATTEST (quote) and TPMT_SIGNATURE / TPM2B_PUBLIC readers of the verifier. */
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quote_info info;
	EVP_PKEY *key = NULL;
	size_t half = size / 2;

	(void)quote_parse(data, size, &info);
	if (tpm_public_to_pkey(data, half, &key) == 0) {
		(void)quote_verify_signature(data, half, data + half, size - half, key);
		EVP_PKEY_free(key);
	}
	return 0;
}
