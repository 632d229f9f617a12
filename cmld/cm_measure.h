/* SPDX-License-Identifier: MIT */
/* cm_measure: PCR 11: what a container runs, before it runs. */
#ifndef CM_MEASURE_H
#define CM_MEASURE_H

#include "cmld.h"

/* Extends PCR 11 with lib/cml_measure's events (images checked already), logging CEL records. */
int cm_measure_start(struct cmld *d, struct cm_container *c, const GuestOSConfig *g);
/*
 * At start, with --tpm: the transient objects and sessions a killed cmld left
 * in the TPM flushed, the CEL log's torn tail cut, a pending record settled
 * (lib/measure.h).
 */
void cm_measure_recover(struct cmld *d);

#endif
