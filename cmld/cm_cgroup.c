/* SPDX-License-Identifier: MIT */
/*
 * Container cgroups.  cgroup v2 where it is mounted (the unified hierarchy,
 * or /sys/fs/cgroup/unified on hybrid systems): <v2>/cml/<uuid>, freeze with
 * cgroup.freeze, kill with cgroup.kill, memory.max, pids.max and cpu.max
 * when those controllers are on v2.  On hybrid systems whose memory, pids
 * or cpu controller is still v1, that limit goes to a v1 cgroup beside
 * cmld's own (<v1 root>/<cmld's path>/cml-<uuid>).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cm_cgroup.h"
#include "err.h"
#include "fileio.h"

static const char *v2_root(void)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup";
	if (access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return NULL;
}

static int write_str(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (write(fd, value, strlen(value)) < 0)
		r = err_set(-errno, "writing '%s' to %s: %s", value, path, strerror(errno));
	close(fd);
	return r;
}

static bool file_has_word(const char *path, const char *word)
{
	uint8_t *buf;
	size_t len;
	bool found = false;

	if (file_read_all(path, 1 << 16, &buf, &len) < 0)
		return false;
	for (char *tok = strtok((char *)buf, " \n"); tok; tok = strtok(NULL, " \n"))
		if (!strcmp(tok, word))
			found = true;
	free(buf);
	return found;
}

/* Whether @word is one of the comma-separated @list. */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
		if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/*
 * v1 cgroup path of this process for @ctrl ("/sys/fs/cgroup/<ctrls>/<path>",
 * <ctrls> the hierarchy's controllers: "memory", "cpu,cpuacct"), if any.
 */
static int v1_dir(const char *ctrl, char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':'), *path;
		if (!ctrls || !(path = strchr(ctrls + 1, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (!list_has(ctrls + 1, ctrl))
			continue;
		snprintf(buf, size, "/sys/fs/cgroup/%s%s", ctrls + 1,
			 strcmp(path, "/") ? path : "");
		r = access(buf, F_OK) == 0 ? 0 : -ENOENT;
	}
	fclose(f);
	return r;
}

/* What each limit is written to, v2 and v1, and how it is named in a warning. */
static const struct {
	const char *ctrl, *v2_file, *v1_file;
	const char *what, *without;
} limits[CM_CG_LIMITS] = {
	[CM_CG_MEMORY] = {"memory", "memory.max", "memory.limit_in_bytes", "memory limit",
			  "a memory limit"},
	[CM_CG_PIDS] = {"pids", "pids.max", "pids.max", "pids.max", "pids.max"},
	/* v1: the quota of the default period, CM_CG_CPU_PERIOD_US */
	[CM_CG_CPU] = {"cpu", "cpu.max", "cpu.cfs_quota_us", "CPU limit", "a CPU limit"},
};

/*
 * Sets limit @l to @v2_value on v2 when its controller is there, else
 * @v1_value in a v1 cgroup of the controller made for the container
 * (cg->v1[l] gets its path).  -ENOTSUP when there is no writable controller.
 */
static int set_limit(const char *root, struct cm_cgroup *cg, const char *uuid, enum cm_cg_limit l,
		     const char *v2_value, const char *v1_value)
{
	char path[1200], base[700];
	char *v1 = cg->v1[l];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	if (file_has_word(path, limits[l].ctrl)) {
		snprintf(path, sizeof(path), "%s/%s", cg->v2, limits[l].v2_file);
		if (access(path, F_OK) < 0) /* not enabled for cml/ (cgroup.subtree_control) */
			return err_set(-ENOTSUP, "%s: the %s controller is not enabled below %s",
				       limits[l].what, limits[l].ctrl, root);
		return write_str(path, v2_value);
	}
	if (v1_dir(limits[l].ctrl, base, sizeof(base)) < 0)
		return err_set(-ENOTSUP, "%s: no %s controller (v2 or v1)", limits[l].what,
			       limits[l].ctrl);
	snprintf(v1, sizeof(cg->v1[l]), "%s/cml-%s", base, uuid);
	if (mkdir(v1, 0755) < 0 && errno != EEXIST) {
		int e = errno;

		v1[0] = '\0';
		/* a v1 hierarchy mounted read-only (systemd-nspawn does so) is no controller */
		return err_set(e == EROFS || e == EACCES || e == EPERM ? -ENOTSUP : -e,
			       "%s: no writable %s controller (v2 or v1): mkdir %s/cml-%s: %s",
			       limits[l].what, limits[l].ctrl, base, uuid, strerror(e));
	}
	snprintf(path, sizeof(path), "%s/%s", v1, limits[l].v1_file);
	return write_str(path, v1_value);
}

int cm_cgroup_create(struct cm_cgroup *cg, const char *uuid, const struct cm_cgroup_limits *lim)
{
	const char *root = v2_root();
	const bool want[CM_CG_LIMITS] = {lim->memory_max != 0, lim->pids_max != 0,
					 lim->cpu_percent != 0};
	/* a percent of one CPU is that many hundredths of each period */
	uint64_t quota = (uint64_t)lim->cpu_percent * (CM_CG_CPU_PERIOD_US / 100);
	char path[1200], mem[24], pids[24], cpu_v2[48], cpu_v1[24];
	const char *v2_value[CM_CG_LIMITS] = {mem, pids, cpu_v2};
	const char *v1_value[CM_CG_LIMITS] = {mem, pids, cpu_v1};
	int r;

	memset(cg, 0, sizeof(*cg));
	if (!root)
		return err_set(-ENOTSUP, "no cgroup v2 hierarchy is mounted");
	snprintf(path, sizeof(path), "%s/cml", root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	for (int l = 0; l < CM_CG_LIMITS; l++) {
		char enable[16], sub[1200];

		if (!want[l] || !file_has_word(path, limits[l].ctrl))
			continue;
		snprintf(enable, sizeof(enable), "+%s", limits[l].ctrl);
		snprintf(sub, sizeof(sub), "%s/cgroup.subtree_control", root);
		write_str(sub, enable);
		snprintf(sub, sizeof(sub), "%s/cml/cgroup.subtree_control", root);
		write_str(sub, enable);
	}
	snprintf(cg->v2, sizeof(cg->v2), "%s/cml/%s", root, uuid);
	if (mkdir(cg->v2, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", cg->v2, strerror(errno));
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)lim->memory_max);
	snprintf(pids, sizeof(pids), "%llu", (unsigned long long)lim->pids_max);
	snprintf(cpu_v2, sizeof(cpu_v2), "%llu %u", (unsigned long long)quota, CM_CG_CPU_PERIOD_US);
	snprintf(cpu_v1, sizeof(cpu_v1), "%llu", (unsigned long long)quota);
	/*
	 * A limit this machine has no controller for cannot be enforced: the
	 * container runs without it, and the log says so (as Docker warns).
	 */
	for (int l = 0; l < CM_CG_LIMITS; l++) {
		if (!want[l])
			continue;
		r = set_limit(root, cg, uuid, (enum cm_cg_limit)l, v2_value[l], v1_value[l]);
		if (r == -ENOTSUP)
			log_warn("container %s runs without %s: %s", uuid, limits[l].without,
				 err_msg());
		else if (r < 0)
			return r;
	}
	return 0;
}

void cm_cgroup_open(struct cm_cgroup *cg, const char *uuid)
{
	const char *root = v2_root();
	char v1[700];

	memset(cg, 0, sizeof(*cg));
	if (root)
		snprintf(cg->v2, sizeof(cg->v2), "%s/cml/%s", root, uuid);
	for (int l = 0; l < CM_CG_LIMITS; l++) {
		if (v1_dir(limits[l].ctrl, v1, sizeof(v1)) < 0)
			continue;
		snprintf(cg->v1[l], sizeof(cg->v1[l]), "%s/cml-%s", v1, uuid);
		if (access(cg->v1[l], F_OK) < 0)
			cg->v1[l][0] = '\0';
	}
}

int cm_cgroup_enter_self(const struct cm_cgroup *cg)
{
	char path[1200];
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->v2);
	r = write_str(path, "0");
	if (r < 0)
		return r;
	for (int l = 0; l < CM_CG_LIMITS; l++) {
		if (!cg->v1[l][0])
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->v1[l]);
		r = write_str(path, "0");
		if (r < 0)
			return r;
	}
	return 0;
}

int cm_cgroup_freeze(const struct cm_cgroup *cg, bool freeze)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/cgroup.freeze", cg->v2);
	return write_str(path, freeze ? "1" : "0");
}

bool cm_cgroup_frozen(const struct cm_cgroup *cg)
{
	char path[1200];
	uint8_t *buf;
	size_t len;
	bool frozen;

	snprintf(path, sizeof(path), "%s/cgroup.events", cg->v2);
	if (file_read_all(path, 4096, &buf, &len) < 0)
		return false;
	frozen = strstr((char *)buf, "frozen 1") != NULL;
	free(buf);
	return frozen;
}

bool cm_cgroup_populated(const struct cm_cgroup *cg)
{
	char path[1200];
	uint8_t *buf;
	size_t len;
	bool populated;

	snprintf(path, sizeof(path), "%s/cgroup.events", cg->v2);
	if (file_read_all(path, 4096, &buf, &len) < 0)
		return false;
	populated = strstr((char *)buf, "populated 1") != NULL;
	free(buf);
	return populated;
}

void cm_cgroup_kill(const struct cm_cgroup *cg)
{
	char path[1200];
	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/cgroup.kill", cg->v2);
	if (write_str(path, "1") == 0)
		return;
	/* kernels before 5.14: one by one (a frozen cgroup is thawed so they die) */
	cm_cgroup_freeze(cg, false);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->v2);
	if (file_read_all(path, 1 << 20, &buf, &len) < 0)
		return;
	for (char *tok = strtok((char *)buf, "\n"); tok; tok = strtok(NULL, "\n"))
		kill((pid_t)atoi(tok), SIGKILL);
	free(buf);
}

static bool gone(const char *dir)
{
	return !dir[0] || rmdir(dir) == 0 || errno == ENOENT;
}

void cm_cgroup_remove(const struct cm_cgroup *cg)
{
	/* the last processes may take a moment to leave */
	for (int i = 0; i < 200; i++) {
		bool all = gone(cg->v2);

		for (int l = 0; l < CM_CG_LIMITS; l++)
			all = gone(cg->v1[l]) && all;
		if (all)
			return;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	log_warn("cgroup %s: still busy, left behind", cg->v2);
}
