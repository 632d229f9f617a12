/* SPDX-License-Identifier: MIT */
/* cm_runtime: namespaces, mounts, cgroups: start, stop, freeze, run. */
#ifndef CM_RUNTIME_H
#define CM_RUNTIME_H

#include "cmld.h"
#include "cm_seal.h"

int cm_runtime_init(struct cmld *d);
/* @pin unlocks a token-type TPM container's key.  Sealed-key refusals: see cm_seal_open. */
int cm_container_start(struct cmld *d, struct cm_container *c, bool setup, const char *pin);
/* Asks init to stop; the poll loop kills it after the timeout and reaps it. */
int cm_container_stop(struct cmld *d, struct cm_container *c);
int cm_container_freeze(struct cmld *d, struct cm_container *c, bool freeze);
/* Called when init exits: cleans up and sets STOPPED. */
void cm_container_reaped(struct cmld *d, struct cm_container *c, int status);
/* Kills what is left of containers from an earlier cmld (their cgroups). */
void cm_runtime_cleanup_stale(struct cmld *d);
/* Forks @argv inside @c with @pty_slave as its terminal; returns the pid. */
int cm_container_exec(struct cmld *d, struct cm_container *c, char *const argv[], int pty_slave,
		      pid_t *ret_pid);
/* Sends SIGKILL to containers past their stop deadline; returns ms until the next deadline. */
int cm_runtime_tick(struct cmld *d);
int cm_container_wipe(struct cmld *d, struct cm_container *c);

#endif
