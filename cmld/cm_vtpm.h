/* SPDX-License-Identifier: MIT */
/* cm_vtpm: one swtpm per container, its control channel outside the container. */
#ifndef CM_VTPM_H
#define CM_VTPM_H

#include "cmld.h"

/* The environment that points the container's TSS at its vTPM (none without one). */
int cm_vtpm_env(struct cmld *d, struct cm_container *c, char ***env, size_t *n_env);
/*
 * Starts swtpm (its TPM port in the container's network namespace, its
 * control channel a Unix socket in the run folder) and the filter that
 * passes the container only what its TSS needs of the control channel.
 */
int cm_vtpm_start(struct cmld *d, struct cm_container *c);
void cm_vtpm_stop(struct cmld *d, struct cm_container *c);

#endif
