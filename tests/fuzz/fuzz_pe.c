// SPDX-License-Identifier: MIT
/* libFuzzer: PE/COFF images (EFI applications) for the Authenticode digest. */
#include <stddef.h>
#include <stdint.h>

#include "authenticode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t d[DIGEST_MAX];

	(void)authenticode_digest(data, size, "fuzz", hash_alg_by_name("sha256"), d);
	return 0;
}
