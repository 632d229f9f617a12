/* SPDX-License-Identifier: MIT */
/*
 * Our own measurements: extend a PCR through the TPM in every bank given,
 * and append the same digests to the CEL log, so that a verifier can replay
 * the PCR exactly.
 */
#ifndef MEASURED_MEASURE_H
#define MEASURED_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define MEASURED_CEL_PATH "/run/measured/measurements.cel"

struct tpm;

/*
 * Extends @pcr with @digests (one per bank) in one TPM2_PCR_Extend and logs
 * a CEL record {pcr, digests, type, name, data} in @cel_path (directories
 * created), under the log's lock throughout: the record is written first,
 * as pending, then the PCR extended, then the record made final in place
 * (docs/FORMATS.md, "Pending records").  So no extend is ever without its
 * record; a crash in between leaves the record pending, and the next writer
 * (or measure_log_recover) settles it against the PCR.  A failed write
 * (ENOSPC) extends nothing and leaves the log as it was.
 */
int measure_extend(struct tpm *tpm, unsigned pcr, const struct alg_digest *digests, unsigned n,
		   const char *type, const char *name, const uint8_t *data, size_t data_len,
		   const char *cel_path);

/*
 * Opens the log as a writer would: a torn last record is cut off and a
 * pending one settled (made final when the PCR holds its extend, removed when
 * it does not).  What was done goes to @report ("" when nothing).
 */
int measure_log_recover(struct tpm *tpm, const char *cel_path, char *report, size_t size);

#endif
