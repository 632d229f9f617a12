// SPDX-License-Identifier: MIT
/* libFuzzer: tboot launch-policy parser, and the gunzip + ELF + MLE header reader. */
#include <stddef.h>
#include <stdint.h>

#include "tboot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hash_alg *sha256 = hash_alg_by_id(TPM_ALG_SHA256);
	struct tboot_policy pol;
	uint8_t out[DIGEST_MAX];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (tboot_policy_parse(data + 1, size - 1, "fuzz", &pol) == 0)
			(void)tboot_module_pcr(&pol, data[0] >> 1);
		(void)tboot_policy_digest(data + 1, size - 1, sha256, out);
	} else {
		(void)tboot_mle_hash(data + 1, size - 1, "fuzz", "cmdline", sha256, out);
	}
	return 0;
}
