/* SPDX-License-Identifier: MIT */
/*
 * DRTM (Intel TXT) log semantics: PCR 17-22 are reset to zero by the
 * launch (TPM2_HashStart at locality 4) and extended by the SINIT ACM and
 * tboot only; without a launch they read all-ones and no event can have
 * reached them.  The log is a TCG crypto-agile log (lib/eventlog_tcg.h).
 */
#ifndef MEASURED_DRTM_H
#define MEASURED_DRTM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventlog_tcg.h"
#include "pcr.h"

#define DRTM_PCR_FIRST 17
#define DRTM_PCR_LAST  22
#define DRTM_PCR_MASK  0x7e0000u /* PCR 17-22 */
#define DRTM_PCR_INFO  255	 /* SINIT's informational events (PCR_MAPPING): extended nowhere */

/*
 * Replays @log as after a launch: PCR 17-22 from zero, one bank per
 * algorithm of the log, each PCR marked extended when an event reaches it.
 * Events "in PCR 255" are SINIT's information and extend nothing (real SINIT
 * ACMs log PCR_MAPPING there).  An event for any other PCR is refused (-EBADMSG) naming its index and
 * offset.  *ret is written only on success.
 */
int drtm_replay(const struct tcg_log *log, const char *what, struct pcr_banks *ret);

/* The first measured event (not EV_NO_ACTION), or NULL: a log with one claims a launch. */
const struct tcg_event *drtm_first_event(const struct tcg_log *log);

/* True when @v (@n bytes) is all 0xff: what a DRTM PCR reads without a launch. */
bool drtm_pcr_unlaunched(const uint8_t *v, size_t n);

/* A log that looks like a DRTM log: measured events, all of them in PCR 17-22. */
bool drtm_log_looks_like(const struct tcg_log *log);

#endif
