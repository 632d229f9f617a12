// SPDX-License-Identifier: MIT
/* libFuzzer: IMA binary measurement list parser and replay (all templates). */
#include <stddef.h>
#include <stdint.h>

#include "eventlog_ima.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ima_replay_opts padded = {.sha1_padded = true};
	struct ima_list list;
	struct pcr_banks banks;

	if (ima_list_parse(data, size, "fuzz", &list) < 0)
		return 0;
	pcr_banks_init(&banks);
	pcr_banks_add(&banks, hash_alg_by_id(TPM_ALG_SHA1));
	pcr_banks_add(&banks, hash_alg_by_id(TPM_ALG_SHA256));
	(void)ima_list_replay(&list, 0, &banks, size & 1 ? &padded : NULL);
	ima_list_free(&list);
	return 0;
}
