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
 * Extends @pcr with @digests (one per bank) in one TPM2_PCR_Extend, then
 * appends a CEL record {pcr, digests, type, name, data} to @cel_path
 * (directories created).  The log is written after the extend: a record
 * in the log always stands for an extend that happened.
 */
int measure_extend(struct tpm *tpm, unsigned pcr, const struct alg_digest *digests, unsigned n,
		   const char *type, const char *name, const uint8_t *data, size_t data_len,
		   const char *cel_path);

#endif
