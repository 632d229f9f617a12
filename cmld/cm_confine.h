/* SPDX-License-Identifier: MIT */
/*
 * What confines a container's processes beyond its namespaces (the defaults
 * of runc / Docker): no_new_privs, a reduced capability bounding set, a
 * seccomp filter, and the cgroup limits cmld gives a container whose config
 * names none.  Set by cmld's options (--container-caps, --container-seccomp,
 * --container-pids-max, --container-memory-max, --container-cpu-max).
 */
#ifndef MEASURED_CM_CONFINE_H
#define MEASURED_CM_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.pb-c.h"

#define CM_CONFINE_PIDS_MAX_DEFAULT   1024u
#define CM_CONFINE_MEMORY_MIB_DEFAULT 1024u

struct cm_confine_conf {
	uint64_t caps;	      /* the bounding set a container keeps, one bit per CAP_* */
	bool seccomp;	      /* the default filter (cm_confine.c lists what it refuses) */
	uint32_t pids_max;    /* pids.max of each container, 0: none */
	uint32_t memory_mib;  /* memory.max of a container whose ram_limit is 0; 0: none */
	uint32_t cpu_percent; /* cpu.max of each container, percent of one CPU; 0: none */
};

/*
 * The default CPU limit: every CPU but one (the host keeps one whatever the
 * containers do), half of the only one on a machine with one.
 */
uint32_t cm_confine_cpu_default(void);

/* Docker's bounding set, the default filter, the limits above and cm_confine_cpu_default(). */
void cm_confine_defaults(struct cm_confine_conf *ret);
/*
 * "chown,kill,net_raw" (with or without "cap_", any case), "all" or "none"
 * into a capability mask.  An unknown name is refused, naming it.
 */
int cm_confine_caps_parse(const char *list, uint64_t *ret);
/* The names of @caps, comma-separated ("none" when empty), into @buf. */
void cm_confine_caps_format(uint64_t caps, char *buf, size_t size);
/*
 * In the container's first process (init, or a process of control run) as
 * root of its user namespace, just before exec: no_new_privs, every
 * capability outside conf->caps (plus CAP_SYS_TIME with allow_system_time)
 * out of the bounding, inheritable and ambient sets, then the seccomp filter.
 * Returns 0 or a negative errno with err_set.
 */
int cm_confine_apply(const struct cm_confine_conf *conf, const ContainerConfig *cfg);
/* Refuses a config that drops the user namespace on a provisioned device. */
int cm_confine_check(bool provisioned, const ContainerConfig *cfg);

#endif
