/* SPDX-License-Identifier: MIT */
/*
 * Container cgroups.  cgroup v2 where it is mounted (the unified hierarchy,
 * or /sys/fs/cgroup/unified on hybrid systems): <v2>/cml/<uuid>, freeze with
 * cgroup.freeze, kill with cgroup.kill, memory.max when the memory controller
 * is on v2.  On hybrid systems whose memory controller is still v1, the limit
 * goes to a v1 memory cgroup beside cmld's own.
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

/* v1 memory cgroup path of this process ("/sys/fs/cgroup/memory/<path>"), if any. */
static int v1_memory_dir(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *path;
		if (!ctrl || !(path = strchr(ctrl + 1, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(ctrl + 1, "memory"))
			continue;
		snprintf(buf, size, "/sys/fs/cgroup/memory%s", strcmp(path, "/") ? path : "");
		r = 0;
	}
	fclose(f);
	return r;
}

int cm_cgroup_create(struct cm_cgroup *cg, const char *uuid, uint64_t memory_max)
{
	const char *root = v2_root();
	char path[1200];

	memset(cg, 0, sizeof(*cg));
	if (!root)
		return err_set(-ENOTSUP, "no cgroup v2 hierarchy is mounted");
	snprintf(path, sizeof(path), "%s/cml", root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	bool v2_memory = file_has_word(path, "memory");
	if (v2_memory && memory_max) {
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", root);
		write_str(path, "+memory");
		snprintf(path, sizeof(path), "%s/cml/cgroup.subtree_control", root);
		write_str(path, "+memory");
	}
	snprintf(cg->v2, sizeof(cg->v2), "%s/cml/%s", root, uuid);
	if (mkdir(cg->v2, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", cg->v2, strerror(errno));
	if (!memory_max)
		return 0;
	char value[32];
	snprintf(value, sizeof(value), "%llu", (unsigned long long)memory_max);
	if (v2_memory) {
		snprintf(path, sizeof(path), "%s/memory.max", cg->v2);
		return write_str(path, value);
	}
	char v1[700];
	if (v1_memory_dir(v1, sizeof(v1)) < 0)
		return err_set(-ENOTSUP, "ram_limit: no memory controller (v2 or v1)");
	snprintf(cg->v1_memory, sizeof(cg->v1_memory), "%s/cml-%s", v1, uuid);
	if (mkdir(cg->v1_memory, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", cg->v1_memory, strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg->v1_memory);
	return write_str(path, value);
}

void cm_cgroup_open(struct cm_cgroup *cg, const char *uuid)
{
	const char *root = v2_root();
	char v1[700];

	memset(cg, 0, sizeof(*cg));
	if (root)
		snprintf(cg->v2, sizeof(cg->v2), "%s/cml/%s", root, uuid);
	if (v1_memory_dir(v1, sizeof(v1)) == 0) {
		snprintf(cg->v1_memory, sizeof(cg->v1_memory), "%s/cml-%s", v1, uuid);
		if (access(cg->v1_memory, F_OK) < 0)
			cg->v1_memory[0] = '\0';
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
		    (!cg->v1_memory[0] || rmdir(cg->v1_memory) == 0 || errno == ENOENT))
			return;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	log_warn("cgroup %s: still busy, left behind", cg->v2);
}
