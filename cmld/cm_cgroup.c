/* SPDX-License-Identifier: MIT */
/*
 * Container cgroups.  cgroup v2 where it is mounted (the unified hierarchy,
 * or /sys/fs/cgroup/unified on hybrid systems): <v2>/cml/<uuid>, freeze with
 * cgroup.freeze, kill with cgroup.kill, memory.max and pids.max when those
 * controllers are on v2.  On hybrid systems whose memory or pids controller
 * is still v1, that limit goes to a v1 cgroup beside cmld's own
 * (<v1 root>/<cmld's path>/cml-<uuid>).
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

/* v1 cgroup path of this process for @ctrl ("/sys/fs/cgroup/<ctrl>/<path>"), if any. */
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
		if (strcmp(ctrls + 1, ctrl))
			continue;
		snprintf(buf, size, "/sys/fs/cgroup/%s%s", ctrl, strcmp(path, "/") ? path : "");
		r = access(buf, F_OK) == 0 ? 0 : -ENOENT;
	}
	fclose(f);
	return r;
}

/*
 * Sets @file (memory.max / pids.max) to @value on v2 when @ctrl is there,
 * else in a v1 cgroup of @ctrl made for the container (@v1 gets its path).
 */
static int set_limit(const char *root, struct cm_cgroup *cg, const char *uuid, const char *ctrl,
		     const char *file, const char *v1_file, uint64_t value, char *v1,
		     size_t v1_size, const char *what)
{
	char path[1200], text[32];

	snprintf(text, sizeof(text), "%llu", (unsigned long long)value);
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	if (file_has_word(path, ctrl)) {
		snprintf(path, sizeof(path), "%s/%s", cg->v2, file);
		return write_str(path, text);
	}
	char base[700];
	if (v1_dir(ctrl, base, sizeof(base)) < 0)
		return err_set(-ENOTSUP, "%s: no %s controller (v2 or v1)", what, ctrl);
	snprintf(v1, v1_size, "%s/cml-%s", base, uuid);
	if (mkdir(v1, 0755) < 0 && errno != EEXIST) {
		int e = errno;

		v1[0] = '\0';
		/* a v1 hierarchy mounted read-only (systemd-nspawn does so) is no controller */
		return err_set(e == EROFS || e == EACCES || e == EPERM ? -ENOTSUP : -e,
			       "%s: no writable %s controller (v2 or v1): mkdir %s/cml-%s: %s",
			       what, ctrl, base, uuid, strerror(e));
	}
	snprintf(path, sizeof(path), "%s/%s", v1, v1_file);
	return write_str(path, text);
}

int cm_cgroup_create(struct cm_cgroup *cg, const char *uuid, uint64_t memory_max, uint64_t pids_max)
{
	const char *root = v2_root();
	char path[1200];
	int r;

	memset(cg, 0, sizeof(*cg));
	if (!root)
		return err_set(-ENOTSUP, "no cgroup v2 hierarchy is mounted");
	snprintf(path, sizeof(path), "%s/cml", root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	static const char *const ctrls[] = {"memory", "pids"};
	bool want[] = {memory_max != 0, pids_max != 0};
	for (int i = 0; i < 2; i++) {
		char enable[16];
		if (!want[i] || !file_has_word(path, ctrls[i]))
			continue;
		snprintf(enable, sizeof(enable), "+%s", ctrls[i]);
		char sub[1200];
		snprintf(sub, sizeof(sub), "%s/cgroup.subtree_control", root);
		write_str(sub, enable);
		snprintf(sub, sizeof(sub), "%s/cml/cgroup.subtree_control", root);
		write_str(sub, enable);
	}
	snprintf(cg->v2, sizeof(cg->v2), "%s/cml/%s", root, uuid);
	if (mkdir(cg->v2, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", cg->v2, strerror(errno));
	/*
	 * A limit this machine has no controller for cannot be enforced: the
	 * container runs without it, and the log says so (as Docker warns).
	 */
	if (memory_max) {
		r = set_limit(root, cg, uuid, "memory", "memory.max", "memory.limit_in_bytes",
			      memory_max, cg->v1_memory, sizeof(cg->v1_memory), "memory limit");
		if (r == -ENOTSUP)
			log_warn("container %s runs without a memory limit: %s", uuid, err_msg());
		else if (r < 0)
			return r;
	}
	if (pids_max) {
		r = set_limit(root, cg, uuid, "pids", "pids.max", "pids.max", pids_max, cg->v1_pids,
			      sizeof(cg->v1_pids), "pids.max");
		if (r == -ENOTSUP)
			log_warn("container %s runs without pids.max: %s", uuid, err_msg());
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
	if (v1_dir("memory", v1, sizeof(v1)) == 0) {
		snprintf(cg->v1_memory, sizeof(cg->v1_memory), "%s/cml-%s", v1, uuid);
		if (access(cg->v1_memory, F_OK) < 0)
			cg->v1_memory[0] = '\0';
	}
	if (v1_dir("pids", v1, sizeof(v1)) == 0) {
		snprintf(cg->v1_pids, sizeof(cg->v1_pids), "%s/cml-%s", v1, uuid);
		if (access(cg->v1_pids, F_OK) < 0)
			cg->v1_pids[0] = '\0';
	}
}

int cm_cgroup_enter_self(const struct cm_cgroup *cg)
{
	char path[1200];
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->v2);
	if ((r = write_str(path, "0")) < 0)
		return r;
	if (cg->v1_memory[0]) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->v1_memory);
		if ((r = write_str(path, "0")) < 0)
			return r;
	}
	if (cg->v1_pids[0]) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->v1_pids);
		return write_str(path, "0");
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

void cm_cgroup_remove(const struct cm_cgroup *cg)
{
	/* the last processes may take a moment to leave */
	for (int i = 0; i < 200; i++) {
		if ((!cg->v2[0] || rmdir(cg->v2) == 0 || errno == ENOENT) &&
		    (!cg->v1_memory[0] || rmdir(cg->v1_memory) == 0 || errno == ENOENT) &&
		    (!cg->v1_pids[0] || rmdir(cg->v1_pids) == 0 || errno == ENOENT))
			return;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	log_warn("cgroup %s: still busy, left behind", cg->v2);
}
