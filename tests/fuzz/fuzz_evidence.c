// SPDX-License-Identifier: MIT
/* libFuzzer: evidence files (attest verify reads them from anywhere it is told). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "attest_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct evidence ev;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-evidence.%d", (int)getpid());
	FILE *f = fopen(path, "wb");

	if (!f)
		return 0;
	if (fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (evidence_read(path, &ev) == 0)
		evidence_free(&ev);
	return 0;
}
