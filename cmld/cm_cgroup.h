/* SPDX-License-Identifier: MIT */
/*
 * A container's cgroup: v2 (freeze, kill, memory.max, pids.max, cpu.max),
 * and on hybrid hosts a v1 cgroup for each limit whose controller is still v1.
 */
#ifndef MEASURED_CM_CGROUP_H
#define MEASURED_CM_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

/* The limits, each 0 for none. */
enum cm_cg_limit { CM_CG_MEMORY, CM_CG_PIDS, CM_CG_CPU, CM_CG_LIMITS };

struct cm_cgroup_limits {
	uint64_t memory_max;  /* bytes */
	uint64_t pids_max;    /* tasks */
	uint32_t cpu_percent; /* of one CPU, in every CFS period of CM_CG_CPU_PERIOD_US */
};

#define CM_CG_CPU_PERIOD_US 100000 /* the kernel's default period, v1 and v2 */

struct cm_cgroup {
	char v2[1024]; /* <v2 root>/cml/<uuid> */
	/* the v1 cgroup of a limit whose controller is v1 here; "" when on v2 or absent */
	char v1[CM_CG_LIMITS][1024];
};

/* Creates the cgroup(s) with @lim; a limit without a writable controller is warned about. */
int cm_cgroup_create(struct cm_cgroup *cg, const char *uuid, const struct cm_cgroup_limits *lim);
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
