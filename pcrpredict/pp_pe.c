// SPDX-License-Identifier: MIT
/*
 * pcrpredict pe FILE...: the Authenticode digest of each EFI application per
 * bank -- the digest firmware and shim put in the PCR 4
 * EV_EFI_BOOT_SERVICES_APPLICATION event when they load it (`pesign -h`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authenticode.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "jsonw.h"
#include "pcrpredict.h"

#define PE_FILE_MAX (512u << 20)

static int digest_file(const char *path, const struct pp_opts *opts, struct jw *j)
{
	uint8_t *pe, d[DIGEST_MAX];
	char hex[2 * DIGEST_MAX + 1];
	size_t len;
	int rc = file_read_all(path, PE_FILE_MAX, &pe, &len);

	if (rc < 0)
		return rc;
	if (j) {
		jw_key(j, path);
		jw_object_begin(j);
	}
	for (unsigned b = 0; b < opts->n_banks && rc == 0; b++) {
		if ((rc = authenticode_digest(pe, len, path, opts->banks[b], d)) < 0)
			break;
		hex_encode(d, opts->banks[b]->size, hex);
		if (j) {
			jw_key(j, opts->banks[b]->name);
			jw_string(j, hex);
		} else {
			printf("%s:%s  %s\n", opts->banks[b]->name, hex, path);
		}
	}
	if (j && rc == 0)
		jw_object_end(j);
	free(pe);
	return rc;
}

int pp_pe_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct jw j;

	if (argc < 2)
		return err_set(-EINVAL, "needs one or more FILEs (EFI applications)"),
		       pp_fail("pe");
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-')
			return err_set(-EINVAL, "unknown option %s", argv[i]), pp_fail("pe");
	/* every file first: bad input writes nothing */
	for (int i = 1; i < argc; i++) {
		uint8_t *pe;
		size_t len;
		struct pe_layout l;
		int rc = file_read_all(argv[i], PE_FILE_MAX, &pe, &len);

		if (rc == 0) {
			rc = pe_layout_read(pe, len, argv[i], &l);
			free(pe);
		}
		if (rc < 0)
			return pp_fail("pe");
	}
	if (opts->json) {
		jw_init(&j, stdout);
		jw_object_begin(&j);
	}
	for (int i = 1; i < argc; i++)
		if (digest_file(argv[i], opts, opts->json ? &j : NULL) < 0)
			return pp_fail("pe");
	if (opts->json) {
		jw_object_end(&j);
		jw_finish(&j);
	}
	return PP_EXIT_OK;
}
