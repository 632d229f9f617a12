// SPDX-License-Identifier: MIT
/* libFuzzer: the IMA policy reader of pcrpredict ima, and its rule matching. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ima_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ima_policy pol;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ima_policy_parse(text, "fuzz", &pol) == 0) {
		(void)ima_policy_measures(&pol, "usr/bin/tool", 0755, 0, 0xef53);
		(void)ima_policy_measures(&pol, "lib/modules/x.ko", 0644, 0, 0xef53);
		(void)ima_policy_measures(&pol, "lib/firmware/a.bin", 0644, 1000, 0x9fa0);
	}
	free(text);
	return 0;
}
