// SPDX-License-Identifier: MIT
/*
 * pcrpredict gpt DISK: PCR 5 of a UEFI boot from that disk -- the
 * separator, the EV_EFI_GPT_EVENT of its GPT (lib/gpt), then the two
 * ExitBootServices actions -- as OVMF/EDK2 extends it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "gpt.h"
#include "hex.h"
#include "jsonw.h"
#include "pcr.h"
#include "pcrpredict.h"

static const char *const ebs_actions[] = {
	"Exit Boot Services Invocation",
	"Exit Boot Services Returned with Success",
};

static int predict(const uint8_t *data, size_t len, const struct hash_alg *alg, uint8_t *gpt_d,
		   struct pcr_bank *bank)
{
	static const uint8_t separator[4] = {0};
	uint8_t d[DIGEST_MAX];
	int rc;

	pcr_bank_init(bank, alg);
	if ((rc = digest_buf(alg, separator, sizeof(separator), d)) < 0 ||
	    (rc = pcr_bank_extend(bank, 5, d)) < 0 || (rc = digest_buf(alg, data, len, gpt_d)) < 0 ||
	    (rc = pcr_bank_extend(bank, 5, gpt_d)) < 0)
		return rc;
	for (size_t i = 0; i < 2; i++)
		if ((rc = digest_buf(alg, ebs_actions[i], strlen(ebs_actions[i]), d)) < 0 ||
		    (rc = pcr_bank_extend(bank, 5, d)) < 0)
			return rc;
	bank->extended = 1u << 5;
	return 0;
}

int pp_gpt_run(int argc, char **argv, const struct pp_opts *opts)
{
	uint8_t *data, gpt_d[PCR_BANKS_MAX][DIGEST_MAX];
	struct pcr_banks banks;
	char hex[2 * DIGEST_MAX + 1];
	size_t len;
	struct jw j;

	if (argc != 2 || argv[1][0] == '-')
		return err_set(-EINVAL, "needs one DISK image"), pp_fail("gpt");
	if (gpt_event_data(argv[1], &data, &len) < 0)
		return pp_fail("gpt");
	pcr_banks_init(&banks);
	for (unsigned b = 0; b < opts->n_banks; b++) {
		struct pcr_bank *bank = pcr_banks_add(&banks, opts->banks[b]);

		if (!bank || predict(data, len, opts->banks[b], gpt_d[b], bank) < 0) {
			free(data);
			return pp_fail("gpt");
		}
	}
	free(data);
	if (!opts->json) {
		for (unsigned b = 0; b < banks.count; b++) {
			hex_encode(gpt_d[b], banks.bank[b].alg->size, hex);
			printf("%s:%s EV_EFI_GPT_EVENT\n", banks.bank[b].alg->name, hex);
			hex_encode(banks.bank[b].value[5], banks.bank[b].alg->size, hex);
			printf("%s:%s PCR 5\n", banks.bank[b].alg->name, hex);
		}
		return PP_EXIT_OK;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "gpt_event");
	jw_object_begin(&j);
	for (unsigned b = 0; b < banks.count; b++) {
		jw_key(&j, banks.bank[b].alg->name);
		jw_hex(&j, gpt_d[b], banks.bank[b].alg->size);
	}
	jw_object_end(&j);
	jw_key(&j, "pcrs");
	pcr_banks_json(&j, &banks, 1u << 5, true);
	jw_object_end(&j);
	jw_finish(&j);
	return PP_EXIT_OK;
}
