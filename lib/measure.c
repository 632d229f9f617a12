// SPDX-License-Identifier: MIT
/* Extend + log, the one way our programs measure. */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cel.h"
#include "err.h"
#include "measure.h"
#include "tpm.h"

static int mkdir_parents(const char *path)
{
	char *copy = strdup(path), *dir;
	int rc = 0;

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	dir = dirname(copy);
	for (char *p = dir + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			rc = err_set(-errno, "mkdir %s: %s", dir, strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return rc;
}

int measure_extend(struct tpm *tpm, unsigned pcr, const struct alg_digest *digests, unsigned n,
		   const char *type, const char *name, const uint8_t *data, size_t data_len,
		   const char *cel_path)
{
	struct cel_record rec = {.pcr = pcr, .n_digests = n, .content_type = CEL_CONTENT_MEASURED};
	int rc;

	if (n == 0 || n > CEL_MAX_DIGESTS || strlen(type) > CEL_TYPE_MAX)
		return err_set(-EINVAL, "bad measurement (%u digests, type \"%s\")", n, type);
	rc = tpm_pcr_extend(tpm, pcr, digests, n);
	if (rc < 0)
		return rc;
	memcpy(rec.digest, digests, n * sizeof(*digests));
	strcpy(rec.type, type);
	rec.name = (char *)name;
	rec.data = (uint8_t *)data;
	rec.data_len = data_len;
	if ((rc = mkdir_parents(cel_path)) < 0)
		return rc;
	return cel_log_append(cel_path, &rec);
}
