// SPDX-License-Identifier: MIT
/* systemd .pcrlock (CEL-JSON) writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "pcrlock.h"

int pcrlock_write(const char *path, const struct pcrlock_record *rec, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return err_set(-ENOMEM, "out of memory");
	fputs("{\"records\":[", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{\"pcr\":%u,\"digests\":[", i ? "," : "", rec[i].pcr);
		for (unsigned d = 0; d < rec[i].n; d++) {
			char hex[2 * DIGEST_MAX + 1];

			hex_encode(rec[i].digest[d].value, rec[i].digest[d].alg->size, hex);
			fprintf(f, "%s{\"hashAlg\":\"%s\",\"digest\":\"%s\"}", d ? "," : "",
				rec[i].digest[d].alg->name, hex);
		}
		fputs("]}", f);
	}
	fputs("]}\n", f);
	if (fclose(f) != 0) {
		free(text);
		return err_set(-ENOMEM, "out of memory");
	}
	rc = file_write_atomic(path, text, len, 0644);
	free(text);
	return rc < 0 ? err_wrap(rc, "%s", path) : 0;
}
