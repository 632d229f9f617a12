// SPDX-License-Identifier: MIT
/* libFuzzer: the sealed key file parser; what it accepts must encode and decode to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealed_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sealed_file f, f2;
	uint8_t *again;
	size_t len;

	if (sealed_file_decode(data, size, &f) < 0)
		return 0;
	if (sealed_file_encode(&f, &again, &len) < 0)
		abort();
	if (sealed_file_decode(again, len, &f2) < 0 || memcmp(&f, &f2, sizeof(f)))
		abort();
	free(again);
	return 0;
}
