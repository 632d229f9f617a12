/* SPDX-License-Identifier: MIT */
/*
 * PCR 7 and PCR 14 of a UEFI boot through shim, from the artifacts: the
 * firmware's varstore (OVMF_VARS.fd), shim, and the images shim verifies
 * (GRUB, the kernel).  Event by event as EDK2 and shim measure them
 * (docs/FORMATS.md "PCR 7 and PCR 14").
 */
#ifndef MEASURED_SB_PREDICT_H
#define MEASURED_SB_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcr.h"

#define SB_EVENTS_MAX 32

struct sb_event {
	unsigned pcr;
	uint32_t type;	 /* EV_EFI_VARIABLE_DRIVER_CONFIG, _AUTHORITY, EV_SEPARATOR, EV_IPL */
	char what[64];	 /* "db verified shim", "MokList" ... */
	uint8_t *hashed; /* what the digest is over */
	size_t hashed_len;
};

struct sb_prediction {
	bool secure_boot; /* SecureBoot as the firmware will report it */
	size_t n;
	struct sb_event event[SB_EVENTS_MAX];
};

struct sb_inputs {
	const uint8_t *vars;
	size_t vars_len;
	const char *vars_name;
	/* optional: shim, then what it verifies (GRUB, then the kernel GRUB loads) */
	const uint8_t *image[3];
	size_t image_len[3];
	const char *image_name[3];
};

int sb_predict(const struct sb_inputs *in, struct sb_prediction *ret);
void sb_prediction_free(struct sb_prediction *p);
/* Extends the events of @p into @bank (PCR 7 and 14). */
int sb_prediction_extend(const struct sb_prediction *p, struct pcr_bank *bank);

#endif
