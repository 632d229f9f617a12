// SPDX-License-Identifier: MIT
/* libFuzzer: TCG PC Client event log parser and replay. */
#include <stddef.h>
#include <stdint.h>

#include "eventlog_tcg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcg_log log;
	struct pcr_banks banks;

	if (tcg_log_parse(data, size, "fuzz", &log) < 0)
		return 0;
	pcr_banks_init(&banks);
	(void)tcg_log_replay(&log, &banks);
	tcg_log_free(&log);
	return 0;
}
