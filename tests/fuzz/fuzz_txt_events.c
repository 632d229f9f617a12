// SPDX-License-Identifier: MIT
/* libFuzzer: the TXT event sources -- txt-stat's text, SecL host manifests, DRTM logs, heap images. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "txt_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct txt_events *e = malloc(sizeof(*e));

	if (!e || size < 1) {
		free(e);
		return 0;
	}
	switch (data[0] % 3) {
	case 0:
		(void)txt_events_from_txt_stat((const char *)data + 1, size - 1, "fuzz", e);
		break;
	case 1:
		(void)txt_events_from_secl((const char *)data + 1, size - 1, "fuzz", e);
		break;
	default:
		(void)txt_events_read(data + 1, size - 1, "fuzz", e);
		break;
	}
	free(e);
	return 0;
}
