// SPDX-License-Identifier: MIT
/*
 * pcrpredict gpt DISK: PCR 5 of a UEFI boot from that disk -- the
 * separator, the EV_EFI_GPT_EVENT of its GPT (lib/gpt), then the two
 * ExitBootServices actions -- as OVMF/EDK2 extends it (boot_predict.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_predict.h"
#include "digest.h"
#include "eventlog_tcg.h"
#include "err.h"
#include "hex.h"
#include "jsonw.h"
#include "pcr.h"
#include "pcrpredict.h"

int pp_gpt_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct boot_pred *p;
	struct pcr_banks banks;
	char hex[2 * DIGEST_MAX + 1];
	const struct boot_event *gpt = NULL;
	struct jw j;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return err_set(-EINVAL, "needs one DISK image"), pp_fail("gpt");
	if (!(p = calloc(1, sizeof(*p))))
		return err_set(-ENOMEM, "out of memory"), pp_fail("gpt");
	rc = boot_predict_disk(argv[1], false, opts->banks, opts->n_banks, p);
	if (rc == 0)
		rc = boot_pred_extend(p, opts->banks, opts->n_banks, &banks);
	for (size_t i = 0; rc == 0 && i < p->n; i++)
		if (p->ev[i].type == EV_EFI_GPT_EVENT)
			gpt = &p->ev[i];
	if (rc < 0 || !gpt) {
		free(p);
		return pp_fail("gpt");
	}
	if (!opts->json) {
		for (unsigned b = 0; b < banks.count; b++) {
			hex_encode(gpt->d[b].value, banks.bank[b].alg->size, hex);
			printf("%s:%s EV_EFI_GPT_EVENT\n", banks.bank[b].alg->name, hex);
			hex_encode(banks.bank[b].value[5], banks.bank[b].alg->size, hex);
			printf("%s:%s PCR 5\n", banks.bank[b].alg->name, hex);
		}
		free(p);
		return PP_EXIT_OK;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "gpt_event");
	jw_object_begin(&j);
	for (unsigned b = 0; b < banks.count; b++) {
		jw_key(&j, banks.bank[b].alg->name);
		jw_hex(&j, gpt->d[b].value, banks.bank[b].alg->size);
	}
	jw_object_end(&j);
	jw_key(&j, "pcrs");
	pcr_banks_json(&j, &banks, 1u << 5, true);
	jw_object_end(&j);
	jw_finish(&j);
	free(p);
	return PP_EXIT_OK;
}
