/* SPDX-License-Identifier: MIT */
/* Keylime's measured-boot reference state from the Secure Boot artifacts (sb_keylime.c). */
#ifndef MEASURED_SB_KEYLIME_H
#define MEASURED_SB_KEYLIME_H

#include "eventlog_tcg.h"
#include "sb_predict.h"

struct keylime_inputs {
	const struct sb_inputs *sb;    /* varstore, shim, GRUB, kernel */
	const struct sb_prediction *p; /* its PCR 7 / 14 events */
	const uint8_t *initrd;
	size_t initrd_len;
	const char *cmdline;		/* the kernel command line GRUB passes */
	const struct tcg_log *platform; /* a reference log of the platform: PCR 0 */
};

/* Writes the refstate JSON to @path (atomically). */
int keylime_refstate_write(const char *path, const struct keylime_inputs *in);

#endif
