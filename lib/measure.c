// SPDX-License-Identifier: MIT
/* Extend + log, the one way our programs measure. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/*
 * The pending last record of @w: did its extend happen?  The PCR it names
 * is read in each of its banks and compared with the final records' replay
 * with and without it.  Neither (the PCR was extended outside the log): the
 * record is kept, as final, so that a verifier sees what was measured and
 * the log's replay differs from the quote.
 */
static int settle_pending(struct tpm *tpm, struct cel_writer *w, const char **ret_how)
{
	const struct cel_record *last = &w->log.record[w->log.n_records - 1];
	struct pcr_selection sel = {0};
	struct pcr_banks without, with, now;
	bool is_without = true, is_with = true;
	int rc;

	for (unsigned i = 0; i < last->n_digests; i++)
		if ((rc = pcr_selection_add(&sel, last->digest[i].alg, 1u << last->pcr)) < 0)
			return rc;
	pcr_banks_init(&without);
	if ((rc = tpm_pcr_read(tpm, &sel, &now, NULL)) < 0 ||
	    (rc = cel_log_replay(&w->log, &without)) < 0)
		return rc;
	with = without;
	if ((rc = cel_record_replay(last, &with)) < 0)
		return rc;
	for (unsigned i = 0; i < last->n_digests; i++) {
		const struct hash_alg *alg = last->digest[i].alg;
		const struct pcr_bank *n = pcr_banks_get(&now, alg),
				      *a = pcr_banks_get(&without, alg),
				      *b = pcr_banks_get(&with, alg);
		static const uint8_t zero[DIGEST_MAX];
		const uint8_t *av = a ? a->value[last->pcr] : zero;

		if (!n || !b)
			return err_set(-EIO, "the TPM has no %s bank", alg->name);
		is_without &= !memcmp(n->value[last->pcr], av, alg->size);
		is_with &= !memcmp(n->value[last->pcr], b->value[last->pcr], alg->size);
	}
	*ret_how = is_with	? "its extend happened: made final"
		   : is_without ? "its extend did not happen: removed"
				: "PCR matches the log neither with nor without it: kept";
	return cel_writer_settle(w, !is_without || is_with);
}

int measure_log_recover(struct tpm *tpm, const char *cel_path, char *report, size_t size)
{
	struct cel_writer w;
	const char *how = NULL;
	size_t n;
	int rc;

	report[0] = '\0';
	if (access(cel_path, F_OK) < 0)
		return 0;
	if ((rc = cel_writer_open(cel_path, &w)) < 0)
		return rc;
	n = w.log.n_records;
	if (n && w.log.record[n - 1].pending && (rc = settle_pending(tpm, &w, &how)) < 0) {
		cel_writer_close(&w);
		return err_wrap(rc, "%s: settling the pending record %zu", cel_path, n - 1);
	}
	if (w.truncated || how)
		snprintf(report, size, "%s%s%s%s", w.truncated ? "a torn record cut off" : "",
			 w.truncated && how ? "; " : "", how ? "the pending record: " : "",
			 how ? how : "");
	cel_writer_close(&w);
	return 0;
}

int measure_extend(struct tpm *tpm, unsigned pcr, const struct alg_digest *digests, unsigned n,
		   const char *type, const char *name, const uint8_t *data, size_t data_len,
		   const char *cel_path)
{
	struct cel_record rec = {.pcr = pcr, .n_digests = n, .content_type = CEL_CONTENT_MEASURED};
	struct cel_writer w;
	const char *how;
	int rc;

	if (n == 0 || n > CEL_MAX_DIGESTS || strlen(type) > CEL_TYPE_MAX)
		return err_set(-EINVAL, "bad measurement (%u digests, type \"%s\")", n, type);
	memcpy(rec.digest, digests, n * sizeof(*digests));
	strcpy(rec.type, type);
	rec.name = (char *)name;
	rec.data = (uint8_t *)data;
	rec.data_len = data_len;
	if ((rc = mkdir_parents(cel_path)) < 0 || (rc = cel_writer_open(cel_path, &w)) < 0)
		return rc;
	/* the lock is held from here to the end: record, extend and settle are one step */
	if (w.log.n_records && w.log.record[w.log.n_records - 1].pending &&
	    (rc = settle_pending(tpm, &w, &how)) < 0)
		goto out;
	if ((rc = cel_writer_append(&w, &rec, true)) < 0)
		goto out; /* nothing extended: the log is as before */
	if ((rc = tpm_pcr_extend(tpm, pcr, digests, n)) < 0) {
		char why[1024];
		snprintf(why, sizeof(why), "%s", err_msg());
		cel_writer_settle(&w, false);
		rc = err_set(rc, "%s", why);
		goto out;
	}
	if ((rc = cel_writer_settle(&w, true)) < 0)
		rc = err_wrap(rc, "PCR %u extended, its record %llu stays pending", pcr,
			      (unsigned long long)rec.recnum);
out:
	cel_writer_close(&w);
	return rc;
}
