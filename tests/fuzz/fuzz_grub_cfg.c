// SPDX-License-Identifier: MIT
/* libFuzzer: the grub.cfg interpreter of pcrpredict grub (no files: every load fails cleanly). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grub_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grub_sim sim = {.n_banks = 1, .root_dir = "/nonexistent-fuzz-root"};
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	sim.bank[0] = hash_alg_by_id(TPM_ALG_SHA256);
	if (grub_sim_init(&sim) == 0 && grub_sim_run(&sim, text, "fuzz") == 0)
		(void)grub_sim_boot_default(&sim);
	grub_sim_free(&sim);
	free(text);
	return 0;
}
