// SPDX-License-Identifier: MIT
/* libFuzzer: CEL-CBOR measurement log parser, replay and re-encoding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cel_log log;
	struct pcr_banks banks;

	/* the tail parser (a log being written): the complete records, then a cut one */
	if (cel_log_parse_tail(data, size, "fuzz", &log) == 0) {
		if (log.len + log.torn != size)
			abort();
		cel_log_free(&log);
	}
	if (cel_log_parse(data, size, "fuzz", &log) < 0)
		return 0;
	pcr_banks_init(&banks);
	(void)cel_log_replay(&log, &banks);
	/* whatever parses must encode again */
	for (size_t i = 0; i < log.n_records; i++) {
		uint8_t *enc;
		size_t len;

		if ((log.record[i].content_type == CEL_CONTENT_MEASURED || log.record[i].pending) &&
		    cel_record_encode(&log.record[i], &enc, &len) == 0)
			free(enc);
	}
	cel_log_free(&log);
	return 0;
}
