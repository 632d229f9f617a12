// SPDX-License-Identifier: MIT
/* Writes an IMA binary list of N ima-ng entries (boot_aggregate first) for benchmarks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "imabuild.h"

int main(int argc, char **argv)
{
	struct imabuf b = {0};
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	uint8_t d[32];

	if (argc != 3 || n < 1) {
		fprintf(stderr, "usage: gen_ima N OUT\n");
		return 2;
	}
	for (long i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), i ? "/usr/lib/file-%ld.so" : "boot_aggregate", i);
		SHA256((const uint8_t *)path, strlen(path), d);
		imabuild_ng(&b, "ima-ng", "sha256", d, 32, path, NULL, 0, 0);
	}
	FILE *f = fopen(argv[2], "wb");
	if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0)
		return 1;
	free(b.data);
	return 0;
}
