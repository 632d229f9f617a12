/* SPDX-License-Identifier: MIT */
/*
 * PCR 4 and PCR 5 of a UEFI boot from the artifacts, event by event as
 * EDK2 extends them: PCR 4 the "Calling EFI Application from Boot Option"
 * action, the separator and the Authenticode digest of each EFI application
 * started through LoadImage (the boot loader; shim's GRUB and kernel);
 * PCR 5 the separator, the EV_EFI_GPT_EVENT of the boot disk's GPT (lib/gpt;
 * none for a disk without one) and the two ExitBootServices actions.
 * Shared by `pcrpredict gpt` and `pcrpredict build` (boot.application, boot.disk).
 */
#ifndef PCRPREDICT_BOOT_PREDICT_H
#define PCRPREDICT_BOOT_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcr.h"

#define BOOT_EVENTS_MAX 40
#define BOOT_APPS_MAX	32

struct boot_event {
	unsigned pcr;
	uint32_t type;
	char what[160];
	struct alg_digest d[PCR_BANKS_MAX]; /* in the order of the banks asked for */
};

struct boot_pred {
	size_t n;
	struct boot_event ev[BOOT_EVENTS_MAX];
	bool gpt; /* PCR 5 has an EV_EFI_GPT_EVENT */
};

/* Appends PCR 4's events for the applications @apps, in the order they start. */
int boot_predict_apps(const char *const *apps, unsigned n_apps, const struct hash_alg *const *banks,
		      unsigned n_banks, struct boot_pred *p);
/*
 * Appends PCR 5's events for a boot from @disk.  A disk without "EFI PART"
 * at LBA 1 gets no GPT event when @allow_no_gpt (OVMF measures none for a
 * partitionless FAT disk), else it is refused; a GPT that is there must be
 * whole (CRCs, sizes).
 */
int boot_predict_disk(const char *disk, bool allow_no_gpt, const struct hash_alg *const *banks,
		      unsigned n_banks, struct boot_pred *p);
/* Extends @p's events into @banks (one per bank asked for, in that order). */
int boot_pred_extend(const struct boot_pred *p, const struct hash_alg *const *banks,
		     unsigned n_banks, struct pcr_banks *ret);

#endif
