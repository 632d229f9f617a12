// SPDX-License-Identifier: MIT
/* libFuzzer: the TXT heap reader (raw heap and SecL image) and the DRTM log it points at. */
#include <stddef.h>
#include <stdint.h>

#include "eventlog_tcg.h"
#include "txt_heap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct txt_heap heap;
	struct tcg_log log;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		rc = txt_heap_image_parse(data + 1, size - 1, "fuzz", &heap);
	else
		rc = txt_heap_parse(data + 1, size - 1, data[0] & 2 ? 0x1000 : 0, "fuzz", &heap);
	/* the log must lie inside the input: reading every byte of it shows that under ASan */
	if (rc == 0 && heap.has_log && tcg_log_parse(heap.log, heap.log_len, "fuzz", &log) == 0)
		tcg_log_free(&log);
	return 0;
}
