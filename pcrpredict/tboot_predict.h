/* SPDX-License-Identifier: MIT */
/*
 * tboot's and the SINIT ACM's PCR 17/18 events for a launch: the inputs
 * named on pcrpredict's command line or in a build manifest.
 */
#ifndef PCRPREDICT_TBOOT_PREDICT_H
#define PCRPREDICT_TBOOT_PREDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

#define TBOOT_MAX_MODULES 16
#define TBOOT_MAX_EVENTS  64

struct tboot_module {
	const char *path;
	const char *cmdline;
};

struct tboot_inputs {
	const char *tboot, *tboot_cmdline, *policy, *platform, *extpol;
	unsigned n_modules;
	struct tboot_module module[TBOOT_MAX_MODULES];
};

struct tboot_event {
	unsigned pcr;
	uint32_t type;
	const char *source; /* "acm" or "tboot" */
	char what[128];
	struct alg_digest digest[PCR_BANKS_MAX]; /* one per predicted bank, in bank order */
};

struct tboot_prediction {
	unsigned n_banks;
	const struct hash_alg *bank[PCR_BANKS_MAX];
	uint8_t mle[PCR_BANKS_MAX][DIGEST_MAX];
	unsigned n_events;
	struct tboot_event event[TBOOT_MAX_EVENTS];
	bool have_platform, platform_had_mle;
	struct pcr_banks pcrs; /* 17 and 18, when have_platform */
};

/*
 * Computes the events (and with a platform profile, PCR 17/18).  Under
 * extpol=sha256 only the SHA-256 bank is predicted, whatever @banks says.
 */
int tboot_predict(const struct tboot_inputs *in, const struct hash_alg *const *banks,
		  unsigned n_banks, struct tboot_prediction *p);

#endif
