// SPDX-License-Identifier: MIT
/* PCR 4 and 5 of a UEFI boot from the artifacts (boot_predict.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authenticode.h"
#include "boot_predict.h"
#include "digest.h"
#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "gpt.h"

#define PE_FILE_MAX (512u << 20)

static const char calling[] = "Calling EFI Application from Boot Option";
static const char *const ebs_actions[] = {
	"Exit Boot Services Invocation",
	"Exit Boot Services Returned with Success",
};

static struct boot_event *ev_new(struct boot_pred *p, unsigned pcr, uint32_t type)
{
	struct boot_event *e;

	if (p->n >= BOOT_EVENTS_MAX)
		return err_set(-E2BIG, "more than %d PCR 4/5 events", BOOT_EVENTS_MAX), NULL;
	e = &p->ev[p->n++];
	memset(e, 0, sizeof(*e));
	e->pcr = pcr;
	e->type = type;
	return e;
}

/* An event whose digest is over @data (actions, separators, the GPT data). */
static int ev_hashed(struct boot_pred *p, unsigned pcr, uint32_t type, const void *data, size_t len,
		     const struct hash_alg *const *banks, unsigned n_banks, const char *what)
{
	struct boot_event *e = ev_new(p, pcr, type);
	int rc;

	if (!e)
		return -E2BIG;
	snprintf(e->what, sizeof(e->what), "%s", what);
	for (unsigned b = 0; b < n_banks; b++) {
		e->d[b].alg = banks[b];
		if ((rc = digest_buf(banks[b], data, len, e->d[b].value)) < 0)
			return rc;
	}
	return 0;
}

static int separator(struct boot_pred *p, unsigned pcr, const struct hash_alg *const *banks,
		     unsigned n_banks)
{
	static const uint8_t zero[4] = {0};

	return ev_hashed(p, pcr, EV_SEPARATOR, zero, sizeof(zero), banks, n_banks,
			 "the separator (00000000)");
}

int boot_predict_apps(const char *const *apps, unsigned n_apps, const struct hash_alg *const *banks,
		      unsigned n_banks, struct boot_pred *p)
{
	char what[160];
	int rc;

	if ((rc = ev_hashed(p, 4, EV_EFI_ACTION, calling, strlen(calling), banks, n_banks,
			    "'Calling EFI Application from Boot Option'")) < 0 ||
	    (rc = separator(p, 4, banks, n_banks)) < 0)
		return rc;
	for (unsigned i = 0; i < n_apps; i++) {
		struct boot_event *e;
		uint8_t *pe;
		size_t len;
		char *copy;

		if ((rc = file_read_all(apps[i], PE_FILE_MAX, &pe, &len)) < 0)
			return err_wrap(rc, "%s", apps[i]);
		if (!(e = ev_new(p, 4, EV_EFI_BOOT_SERVICES_APPLICATION))) {
			free(pe);
			return -E2BIG;
		}
		for (unsigned b = 0; b < n_banks && rc == 0; b++) {
			e->d[b].alg = banks[b];
			rc = authenticode_digest(pe, len, apps[i], banks[b], e->d[b].value);
		}
		free(pe);
		if (rc < 0)
			return rc;
		copy = strdup(apps[i]);
		snprintf(what, sizeof(what), "Authenticode of %s", copy ? basename(copy) : apps[i]);
		free(copy);
		memcpy(e->what, what, sizeof(e->what));
	}
	return 0;
}

/* 1 when @disk has the GPT signature at LBA 1, 0 when not, < 0 when unreadable. */
static int has_gpt_signature(const char *disk)
{
	char sig[8];
	int fd = open(disk, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_set(-errno, "%s: %s", disk, strerror(errno));
	n = pread(fd, sig, sizeof(sig), GPT_SECTOR);
	close(fd);
	return n == (ssize_t)sizeof(sig) && memcmp(sig, "EFI PART", 8) == 0;
}

int boot_predict_disk(const char *disk, bool allow_no_gpt, const struct hash_alg *const *banks,
		      unsigned n_banks, struct boot_pred *p)
{
	int rc;

	if ((rc = separator(p, 5, banks, n_banks)) < 0)
		return rc;
	if ((rc = has_gpt_signature(disk)) < 0)
		return rc;
	if (rc == 1 || !allow_no_gpt) {
		uint8_t *data;
		size_t len;
		char *copy = strdup(disk);
		char what[160];

		if ((rc = gpt_event_data(disk, &data, &len)) < 0) {
			free(copy);
			return rc;
		}
		snprintf(what, sizeof(what), "the GPT of %s (UEFI_GPT_DATA, %zu bytes)",
			 copy ? basename(copy) : disk, len);
		free(copy);
		rc = ev_hashed(p, 5, EV_EFI_GPT_EVENT, data, len, banks, n_banks, what);
		free(data);
		if (rc < 0)
			return rc;
		p->gpt = true;
	}
	for (size_t i = 0; i < 2; i++) {
		char what[80];

		snprintf(what, sizeof(what), "'%s'", ebs_actions[i]);
		if ((rc = ev_hashed(p, 5, EV_EFI_ACTION, ebs_actions[i], strlen(ebs_actions[i]),
				    banks, n_banks, what)) < 0)
			return rc;
	}
	return 0;
}

int boot_pred_extend(const struct boot_pred *p, const struct hash_alg *const *banks,
		     unsigned n_banks, struct pcr_banks *ret)
{
	pcr_banks_init(ret);
	for (unsigned b = 0; b < n_banks; b++) {
		struct pcr_bank *bank = pcr_banks_add(ret, banks[b]);
		int rc;

		if (!bank)
			return err_set(-EINVAL, "too many banks");
		for (size_t i = 0; i < p->n; i++) {
			if ((rc = pcr_bank_extend(bank, p->ev[i].pcr, p->ev[i].d[b].value)) < 0)
				return rc;
			bank->extended |= 1u << p->ev[i].pcr;
		}
	}
	return 0;
}
