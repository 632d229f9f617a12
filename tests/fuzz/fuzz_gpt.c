// SPDX-License-Identifier: MIT
/* libFuzzer: disk images' GPT (pcrpredict gpt): header, entry array, CRCs, sizes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	uint8_t *ev;
	size_t len;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-gpt.%d", (int)getpid());
	if (!(f = fopen(path, "wb")))
		return 0;
	if (fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (gpt_event_data(path, &ev, &len) == 0)
		free(ev);
	return 0;
}
