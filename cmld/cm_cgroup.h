/* SPDX-License-Identifier: MIT */
/* A container's cgroup: v2 (freeze, kill, memory.max, pids.max), v1 memory/pids on hybrid hosts. */
#ifndef MEASURED_CM_CGROUP_H
#define MEASURED_CM_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

struct cm_cgroup {
	char v2[1024];	      /* <v2 root>/cml/<uuid> */
	char v1_memory[1024]; /* v1 memory cgroup, "" when the limit is on v2 or absent */
	char v1_pids[1024];   /* v1 pids cgroup, "" when pids.max is on v2 or absent */
};

/* Creates the cgroup(s); @memory_max in bytes, @pids_max in tasks, 0 for none. */
int cm_cgroup_create(struct cm_cgroup *cg, const char *uuid, uint64_t memory_max,
		     uint64_t pids_max);
/* Fills @cg for an existing container's cgroup (paths only). */
void cm_cgroup_open(struct cm_cgroup *cg, const char *uuid);
/* Moves the calling process into the cgroup(s). */
int cm_cgroup_enter_self(const struct cm_cgroup *cg);
int cm_cgroup_freeze(const struct cm_cgroup *cg, bool freeze);
bool cm_cgroup_frozen(const struct cm_cgroup *cg);
bool cm_cgroup_populated(const struct cm_cgroup *cg);
void cm_cgroup_kill(const struct cm_cgroup *cg);
void cm_cgroup_remove(const struct cm_cgroup *cg);

#endif
