// SPDX-License-Identifier: MIT
/*
 * What confines a running container (cmld/cm_confine.c, cm_cgroup.c,
 * cm_vtpm.c), played from inside it against a real cmld (root): the
 * refused system calls, no_new_privs and the bounding set, nosuid/nodev
 * mounts and a setuid binary, the default limits and a fork bomb (the host
 * keeps forking and cmld keeps answering), the vTPM's control channel out of
 * reach, and userns: false refused once the device is provisioned.  A static
 * probe (tests/integration/helpers/confine_probe.c) is copied into the
 * container's data image; the same probe run on the host shows what the
 * calls do unconfined.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmldrun.h"
#include "testutil.h"

/* control with our socket and PIN file (tests/harness/cmldrun.h) */
#define ctl(out, ...) cmld_control(out, sock, pinfile, __VA_ARGS__)

static char dir[64];	  /* everything of this test */
static char gos[128];	  /* GuestOS fixtures */
static char data[128];	  /* cmld --data-dir */
static char sock[160];	  /* cmld --socket */
static char pinfile[128]; /* "trustme" */
static char probe[128];	  /* the static probe */
static pid_t cmld_pid;

/* Docker's default bounding set (docs of runc / Docker, not our table) */
#define DOCKER_CAPBND	   "00000000a80425fb"
#define PIDS_MAX_DEFAULT   1024
#define MEMORY_MAX_DEFAULT 1073741824LL /* 1024 MiB */
#define ANSWER_WITHIN_MS   2000

static void cmld_start(const char *data_dir, const char *socket_path)
{
	char run[160], log[160];
	const char *argv[] = {"cmld",	   "--data-dir", data_dir, "--socket",
			      socket_path, "--run-dir",	 run,	   "--stop-timeout-ms",
			      "2000",	   NULL};

	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(log, sizeof(log), "%s/cmld.log", dir);
	cmld_pid = cmld_spawn(argv, log, socket_path);
}

/*
 * cmocka's failures jump out of the test: helpers free what they hold before
 * failing, and containers' ids live in the caller's buffer, so a failing
 * test leaks nothing (the ASan run's LeakSanitizer would report it).
 */
#define UUID_SIZE 37

/* Frees @out, then fails with @fmt and @out's text (cut at 2000 bytes). */
static void fail_free(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_free(char *out, const char *fmt, ...)
{
	char msg[3000];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, "%.2000s", out ? out : "(nothing)");
	free(out);
	fail_msg("%s", msg);
}

/* control must print @want (and @reason, when given). */
static void ctl_expect(const char *want, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ctl_expect(const char *want, const char *reason, const char *fmt, ...)
{
	char args[4096], *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	ctl(&out, "%s", args);
	if (!out || !strstr(out, want) || (reason && !strstr(out, reason)))
		fail_free(out, "control %.200s: wanted %s%s%s, got: ", args, want,
			  reason ? " / " : "", reason ? reason : "");
	free(out);
}

/* Creates a container from @config_text; its uuid into @ret. */
static void container_create(char ret[UUID_SIZE], const char *config_text)
{
	char conf[160], *out = NULL;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/new.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs(config_text, f);
	fclose(f);
	if (ctl(&out, "create %s", conf) != 0 || !out || !strstr(out, "# uuid "))
		fail_free(out, "create: ");
	snprintf(ret, UUID_SIZE, "%.36s", strstr(out, "# uuid ") + 7);
	free(out);
}

static void wait_state(const char *c, const char *want, int seconds)
{
	char *out = NULL;

	for (int i = 0; i < seconds * 20; i++) {
		free(out);
		out = NULL;
		ctl(&out, "state %s", c);
		if (out && strstr(out, want))
			break;
		usleep(50000);
	}
	if (!out || !strstr(out, want))
		fail_free(out, "container %s: not %s: ", c, want);
	free(out);
}

/* Output of a command run in the container (control run, so as its processes are). */
static char *in_container(const char *c, const char *cmd)
{
	char *out = NULL;
	int rc = ctl(&out, "run %s /bin/sh -c '%s'", c, cmd);

	if (rc != 0)
		fail_free(out, "run %.200s in %s: exit %d: ", cmd, c, rc);
	/* a terminal's line ends, as plain ones */
	char *w = out;
	for (const char *r = out; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	return out;
}

static const char *cgroup_root(void)
{
	return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup"
								      : "/sys/fs/cgroup/unified";
}

static int init_pid_of(const char *uuid)
{
	char *out = NULL;
	int pid;

	sh(&out,
	   "for p in $(cat %s/cml/%s/cgroup.procs); do grep -qE '^NSpid:.*[[:space:]]1$' "
	   "/proc/$p/status && echo $p; done",
	   cgroup_root(), uuid);
	pid = out ? atoi(out) : 0;
	free(out);
	return pid;
}

/* The probe into the container's /data, through its init's mount namespace. */
static void copy_probe_in(const char *c)
{
	int pid = init_pid_of(c);

	assert_true(pid > 1);
	assert_int_equal(sh(NULL,
			    "nsenter -t %d -m /bin/sh -c 'cat > /data/probe && chmod 755 "
			    "/data/probe' < %s",
			    pid, probe),
			 0);
}

/* The folder holding @c's limit file @file: v2 when the controller is there, else v1. */
static void limit_file(const char *c, const char *ctrl, const char *file, char *buf, size_t size)
{
	char *out = NULL;

	snprintf(buf, size, "%s/cml/%s/%s", cgroup_root(), c, file);
	if (access(buf, F_OK) == 0)
		return;
	sh(&out, "sed -n 's/^[0-9]*:%s://p' /proc/self/cgroup", ctrl);
	if (out)
		out[strcspn(out, "\n")] = '\0';
	snprintf(buf, size, "/sys/fs/cgroup/%s%s/cml-%s/%s", ctrl,
		 out && strcmp(out, "/") ? out : "", c, file);
	free(out);
}

static long long read_number(const char *path)
{
	FILE *f = fopen(path, "re");
	long long v = -1;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int setup(void **state)
{
	char bomb[160];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-confine.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(gos, sizeof(gos), "%s/gos", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(sock, sizeof(sock), "%s/cml-control", dir);
	snprintf(pinfile, sizeof(pinfile), "%s/pin", dir);
	snprintf(probe, sizeof(probe), "%s/probe", dir);
	snprintf(bomb, sizeof(bomb), "%s/bomb-init", dir);
	/*
	 * a GuestOS whose init becomes the probe's fork bomb once the test copied
	 * it in; should pids.max fail, the bomb stops itself at 4 times the limit
	 */
	if (!(f = fopen(bomb, "w")))
		return -1;
	fprintf(f,
		"#!/bin/sh\ntrap 'exit 0' TERM\n"
		"while [ ! -x /data/probe ]; do sleep 0.05 & wait $!; done\n"
		"exec /data/probe bomb /data/bomb.status %d\n",
		PIDS_MAX_DEFAULT * 4);
	fclose(f);
	if (sh(NULL,
	       "echo trustme > %s && mkdir %s && tests/harness/mkguestos.sh %s testos 1 >/dev/null "
	       "&& GOS_INIT=%s tests/harness/mkguestos.sh %s bombos 1 >/dev/null && "
	       "cc -static -O1 -Wall -Werror -o %s tests/integration/helpers/confine_probe.c",
	       pinfile, gos, gos, bomb, gos, probe) != 0)
		return -1;
	cmld_start(data, sock);
	if (ctl(NULL, "ca_register %s/ca.pem", gos) != 0 ||
	    ctl(NULL, "push_guestos_config %s/testos.conf %s/testos.sig %s/testos.cert", gos, gos,
		gos) != 0 ||
	    ctl(NULL, "push_guestos_config %s/bombos.conf %s/bombos.sig %s/bombos.cert", gos, gos,
		gos) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cmld_reap(cmld_pid, SIGTERM);
	if (sh(NULL, "grep -q Sanitizer %s/cmld.log", dir) == 0) {
		sh(NULL, "cat %s/cmld.log >&2", dir);
		return -1;
	}
	if (!getenv("KEEP_TMP"))
		sh(NULL, "rm -rf %s", dir);
	return 0;
}

/* The line of @text that starts with @key, without the key (static buffer). */
static const char *field(const char *text, const char *key)
{
	static char val[256];

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, strlen(key))) {
			snprintf(val, sizeof(val), "%.*s", (int)strcspn(l + strlen(key), "\n"),
				 l + strlen(key));
			return val;
		}
	return "(absent)";
}

/* /proc status of the container's init and of a control run process. */
static void expect_confined_status(const char *c)
{
	char path[64], *out = NULL;

	snprintf(path, sizeof(path), "/proc/%d/status", init_pid_of(c));
	sh(&out, "cat %s", path);
	assert_string_equal(field(out, "NoNewPrivs:\t"), "1");
	assert_string_equal(field(out, "CapBnd:\t"), DOCKER_CAPBND);
	assert_string_equal(field(out, "Seccomp:\t"), "2");
	free(out);
	out = in_container(c, "cat /proc/self/status");
	assert_string_equal(field(out, "NoNewPrivs:\t"), "1");
	assert_string_equal(field(out, "CapBnd:\t"), DOCKER_CAPBND);
	assert_string_equal(field(out, "CapInh:\t"), "0000000000000000");
	assert_string_equal(field(out, "Seccomp:\t"), "2");
	free(out);
}

/* Each call the probe makes: refused with EPERM inside, answered otherwise on the host. */
static void expect_syscalls_refused(const char *c)
{
	static const char *const calls[] = {"kexec_load",
					    "init_module",
					    "finit_module",
					    "delete_module",
					    "bpf",
					    "keyctl",
					    "add_key",
					    "request_key",
					    "perf_event_open",
					    "name_to_handle_at",
					    "open_by_handle_at",
					    "unshare_user"};
	char *inside = in_container(c, "/data/probe syscalls"), *host = NULL, want[64];

	assert_int_equal(sh(&host, "%s syscalls", probe), 0);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		snprintf(want, sizeof(want), "%s ", calls[i]);
		if (strcmp(field(inside, want), "EPERM"))
			fail_msg("%s in the container: %s, not EPERM", calls[i],
				 field(inside, want));
		if (!strcmp(field(host, want), "EPERM") || !strcmp(field(host, want), "(absent)"))
			fail_msg("%s on the host: %s (the probe shows nothing)", calls[i],
				 field(host, want));
	}
	print_message("host, unconfined:\n%s", host);
	free(inside);
	free(host);
}

/*
 * The folder of @c's CPU limit: its v2 cgroup when the cpu controller is on
 * v2, else the one beside ours in the v1 hierarchy holding cpu ("cpu" or
 * "cpu,cpuacct"); false when neither is there to write to.
 */
static bool cpu_dir(const char *c, char *buf, size_t size, bool *v2)
{
	char path[400], *list = NULL, *at = NULL;
	bool ok;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", cgroup_root());
	*v2 = sh(NULL, "grep -qw cpu %s", path) == 0;
	if (*v2) {
		snprintf(buf, size, "%s/cml/%s", cgroup_root(), c);
		return true;
	}
	sh(&list, "awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $2}' /proc/self/cgroup");
	sh(&at, "awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/self/cgroup");
	if (list)
		list[strcspn(list, "\n")] = '\0';
	if (at)
		at[strcspn(at, "\n")] = '\0';
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s", list ? list : "",
		 at && strcmp(at, "/") ? at : "");
	ok = list && list[0] && access(path, W_OK) == 0;
	snprintf(buf, size, "%s/cml-%s", path, c);
	free(list);
	free(at);
	return ok;
}

/*
 * The CPU limit holds: as many busy loops as the machine has CPUs, run in
 * @c for 2 s, take no more CPU time than the default limit allows (every
 * CPU but one, half of the only one), with 10% and a tick per loop to spare.
 * Without a limit, on an idle machine, they take one CPU more.
 */
static void cpu_held(const char *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), tick = sysconf(_SC_CLK_TCK);
	double allowed = (cpus > 1 ? cpus - 1 : 0.5) * 2000 * 1.1 + cpus * 1000.0 / tick;
	char cmd[600], dir[512], *out;
	long long ticks = 0;
	bool v2;

	if (!cpu_dir(c, dir, sizeof(dir), &v2)) {
		print_message("CPU limit: no writable cpu controller, not checked\n");
		return;
	}
	/* utime + stime of each loop, from its /proc/PID/stat, before it is killed */
	snprintf(cmd, sizeof(cmd),
		 "p=; for i in $(seq %ld); do (while :; do :; done) & p=\"$p $!\"; done; "
		 "sleep 2; for q in $p; do cut -d\" \" -f14,15 /proc/$q/stat; done; kill $p",
		 cpus);
	out = in_container(c, cmd);
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		long long u = 0, s = 0;

		if (sscanf(l, "%lld %lld", &u, &s) == 2)
			ticks += u + s;
	}
	free(out);
	print_message("CPU limit: %ld busy loops took %.0f ms of CPU in 2000 ms (at most %.0f "
		      "allowed)\n",
		      cpus, ticks * 1000.0 / tick, allowed);
	assert_true(ticks > 0);
	assert_true(ticks * 1000.0 / tick <= allowed);
}

/* Inside: NoNewPrivs, the bounding set, the filter; the calls refused; mounts nosuid,nodev. */
static void test_confined_processes(void **state)
{
	char c[UUID_SIZE], *out;

	(void)state;
	container_create(c, "name: \"conf\"\nguest_os: \"testos\"\ncolor: 0\nfifos: \"f0\"\n");
	ctl_expect("CONTAINER_START_OK", NULL, "start %s", c);
	expect_confined_status(c);
	copy_probe_in(c);
	expect_syscalls_refused(c);

	/* the mounts a container can write to or exec from */
	out = in_container(c, "cat /proc/mounts");
	static const char *const want[][2] = {{"overlay / ", "nosuid,nodev"},
					      {" /data ", "nosuid,nodev"},
					      {" /dev/cfifos ", "nosuid,nodev,noexec"}};
	for (size_t i = 0; i < 3; i++) {
		const char *l = strstr(out, want[i][0]);
		char line[512];
		if (!l)
			fail_msg("no %s mount in: %s", want[i][0], out);
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
		if (!strstr(line, want[i][1]))
			fail_msg("mount '%s' lacks %s", line, want[i][1]);
	}
	free(out);

	/* a setuid-root binary: on the host it gives euid 0, in the container nothing */
	assert_int_equal(sh(&out,
			    "d=$(mktemp -d /tmp/measured-suid.XXXXXX) && chmod 755 $d && "
			    "cp %s $d/suid && chmod 4755 $d/suid && %s as 1000 $d/suid ids; "
			    "rm -rf $d",
			    probe, probe),
			 0);
	assert_string_equal(out, "uid 1000 0 0\n");
	free(out);
	out = in_container(c, "cp /data/probe /data/suid && chmod 4755 /data/suid && "
			      "stat -c \"%a %u\" /data/suid && /data/probe as 1000 /data/suid ids");
	assert_non_null(strstr(out, "4755 0"));
	assert_non_null(strstr(out, "uid 1000 1000 1000"));
	free(out);

	/* default limits: ram_limit 0 gets --container-memory-max, every container pids.max */
	char path[512];
	limit_file(c, "memory", "memory.max", path, sizeof(path));
	if (access(path, F_OK) < 0)
		limit_file(c, "memory", "memory.limit_in_bytes", path, sizeof(path));
	assert_int_equal(read_number(path), MEMORY_MAX_DEFAULT);
	limit_file(c, "pids", "pids.max", path, sizeof(path));
	assert_int_equal(read_number(path), PIDS_MAX_DEFAULT);
	cpu_held(c);
	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", c);
	wait_state(c, "state: STOPPED", 10);
	ctl_expect("CMD_OK", NULL, "remove %s", c);

	/* without a user namespace the container's root is the host's: confined the same */
	container_create(c, "name: \"hostids\"\nguest_os: \"testos\"\ncolor: 0\nuserns: false\n");
	ctl_expect("CONTAINER_START_OK", NULL, "start %s", c);
	expect_confined_status(c);
	copy_probe_in(c);
	expect_syscalls_refused(c);
	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", c);
	wait_state(c, "state: STOPPED", 10);
	ctl_expect("CMD_OK", NULL, "remove %s", c);
}

/* The number after "@key " in @path (pids.events, memory.events), -1 when absent. */
static long long read_key(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (v < 0 && fgets(line, sizeof(line), f))
		for (char *w = strtok(line, " \n"); w; w = strtok(NULL, " \n"))
			if (!strcmp(w, key)) {
				char *n = strtok(NULL, " \n");
				v = n ? atoll(n) : -1;
				break;
			}
	fclose(f);
	return v;
}

/* The bomb's own count of its forks (/data/bomb.status, written by its init). */
struct bomb_count {
	long long forked, eagain, enomem, other;
};

/* One snapshot (the bomb replaces the file by rename); false when there is none. */
static bool bomb_read(int init_pid, struct bomb_count *ret)
{
	char path[128];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/root/data/bomb.status", init_pid);
	if (!(f = fopen(path, "re")))
		return false;
	n = fscanf(f, "forked %lld eagain %lld enomem %lld other %lld", &ret->forked, &ret->eagain,
		   &ret->enomem, &ret->other);
	fclose(f);
	return n == 4;
}

/* Appends to @buf (of @size, @used so far), never past its end. */
static void add(char *buf, size_t size, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= size - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	*used = n < 0 ? *used : *used + (size_t)n >= size ? size - 1 : *used + (size_t)n;
}

/* @dir's pids.max as a number ("max": -1), and its pids.current */
static void pids_of(const char *dir, long long *ret_max, long long *ret_current)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/pids.max", dir);
	*ret_max = read_number(path);
	snprintf(path, sizeof(path), "%s/pids.current", dir);
	*ret_current = read_number(path);
}

/*
 * Which limit refused the bomb's forks, in words, into @buf: the refusals
 * the bomb counted by errno against those the container's pids cgroup
 * (@pids_dir) counted in pids.events; then the pids cgroups above it, the
 * RLIMIT_NPROC the bomb runs with (counted per user namespace) and the
 * memory limit.  The bomb is read first, then pids.events: each refusal the
 * bomb has counted is in pids.events by then if pids.max refused it.
 */
static void bomb_diagnosis(const char *c, const char *pids_dir, int init_pid, char *buf,
			   size_t size)
{
	struct bomb_count b;
	bool have = bomb_read(init_pid, &b);
	char path[600], mem[512], above[600] = "", *out = NULL;
	long long events, peak, max, current, nproc = -1, amax = -1, acur = -1;
	size_t used = 0;

	snprintf(path, sizeof(path), "%s/pids.events", pids_dir);
	events = read_key(path, "max");
	snprintf(path, sizeof(path), "%s/pids.peak", pids_dir);
	peak = read_number(path);
	pids_of(pids_dir, &max, &current);
	/* the nearest pids cgroup above with a limit, up to the hierarchy's root */
	snprintf(path, sizeof(path), "%s", pids_dir);
	for (char *slash; (slash = strrchr(path, '/')) && slash - path > 15 && !above[0];) {
		*slash = '\0';
		pids_of(path, &amax, &acur);
		if (acur < 0)
			break;
		if (amax >= 0)
			snprintf(above, sizeof(above), "%s", path);
	}
	snprintf(path, sizeof(path), "/proc/%d/limits", init_pid);
	sh(&out, "sed -n 's/^Max processes *\\([0-9]*\\).*/\\1/p' %s", path);
	if (out && *out != '\n' && *out)
		nproc = atoll(out); /* "unlimited": -1 */
	free(out);

	add(buf, size, &used, "%s: pids.max %lld, pids.current %lld, pids.peak %lld, refused %lld",
	    pids_dir, max, current, peak, events);
	if (!have)
		add(buf, size, &used, "; the bomb (pid %d) reports nothing: not running", init_pid);
	else {
		long long refused = b.eagain + b.enomem + b.other;
		add(buf, size, &used,
		    "; the bomb: forked %lld, refused %lld (EAGAIN %lld ENOMEM %lld other %lld)",
		    b.forked, refused, b.eagain, b.enomem, b.other);
		if (b.enomem)
			add(buf, size, &used, "; ENOMEM: the memory limit");
		if (b.eagain + b.other > events) {
			add(buf, size, &used, "; %lld refusals not by the container's pids.max: ",
			    b.eagain + b.other - events);
			if (above[0] && acur >= amax)
				add(buf, size, &used, "%s pids.max %lld (current %lld)", above,
				    amax, acur);
			else if (nproc >= 0 && b.forked + 1 >= nproc)
				add(buf, size, &used, "RLIMIT_NPROC %lld", nproc);
			else
				add(buf, size, &used, "kernel.pid_max or threads-max");
		} else if (refused)
			add(buf, size, &used, "; every refusal by the container's pids.max");
	}
	add(buf, size, &used, "; RLIMIT_NPROC %lld", nproc);
	if (above[0])
		add(buf, size, &used, "; above: %s pids.max %lld current %lld", above, amax, acur);
	/* times the memory limit was hit: v2 memory.events max, v1 memory.failcnt */
	limit_file(c, "memory", "memory.events", mem, sizeof(mem));
	long long hit = read_key(mem, "max");
	if (access(mem, F_OK) < 0) {
		limit_file(c, "memory", "memory.failcnt", mem, sizeof(mem));
		hit = read_number(mem);
	}
	add(buf, size, &used, "; memory limit hit %lld times (%s)", hit, mem);
}

/*
 * A container whose init is a fork bomb (the probe's: its processes never
 * exit, and fork again after each refusal): it fills pids.max and no more,
 * it keeps pressing while the host forks and cmld answers within
 * ANSWER_WITHIN_MS, every refusal is pids.max's (the kernel counts them in
 * pids.events), it runs under --container-cpu-max's default (every CPU but
 * one: cpu.max, or cpu.cfs_quota_us on v1) where a cpu controller is
 * writable, and stop leaves no cgroup behind (v2, nor v1 pids, memory, cpu).
 */
static void test_fork_bomb(void **state)
{
	char c[UUID_SIZE], pids_dir[512], path[600], why[4096] = "", diag[4096];
	char cpu[512], cpu_max[64] = "", cpu_figure[160] = "no writable cpu controller: not set";
	long long peak = 0, low = -1, events0, events1, throttled0 = -1;
	double worst = 0, t0, fill_ms;
	int host_forks = 0, unpressed = 0, init_pid;
	bool running = true, cpu_v2, cpu_limited;
	/* documented default: every CPU but one, half of the only one */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long quota = (cpus > 1 ? (cpus - 1) * 100 : 50) * 1000LL;

	(void)state;
	container_create(c, "name: \"bomb\"\nguest_os: \"bombos\"\ncolor: 0\n");
	ctl_expect("CONTAINER_START_OK", NULL, "start %s", c);
	limit_file(c, "pids", "pids.current", pids_dir, sizeof(pids_dir));
	*strrchr(pids_dir, '/') = '\0';
	init_pid = init_pid_of(c);
	/* a new cgroup: no refusal, no task but init's, before the bomb goes off */
	snprintf(path, sizeof(path), "%s/pids.events", pids_dir);
	events0 = read_key(path, "max");
	snprintf(path, sizeof(path), "%s/pids.current", pids_dir);
	if (events0 != 0 || read_number(path) > 4)
		fail_msg("the container's pids cgroup is not new: pids.events max %lld, "
			 "pids.current %lld",
			 events0, read_number(path));
	cpu_limited = cpu_dir(c, cpu, sizeof(cpu), &cpu_v2);
	if (cpu_limited) {
		char cpath[600];
		FILE *f;

		snprintf(cpath, sizeof(cpath), "%s/%s", cpu,
			 cpu_v2 ? "cpu.max" : "cpu.cfs_quota_us");
		if ((f = fopen(cpath, "re"))) {
			if (!fgets(cpu_max, sizeof(cpu_max), f))
				cpu_max[0] = '\0';
			fclose(f);
		}
		cpu_max[strcspn(cpu_max, "\n")] = '\0';
		if (!cpu_v2) { /* the period beside it */
			snprintf(cpath, sizeof(cpath), "%s/cpu.cfs_period_us", cpu);
			snprintf(cpu_max + strlen(cpu_max), sizeof(cpu_max) - strlen(cpu_max),
				 " %lld", read_number(cpath));
		}
		snprintf(cpath, sizeof(cpath), "%s/cpu.stat", cpu);
		throttled0 = read_key(cpath, "nr_throttled");
	}
	copy_probe_in(c); /* init waits for it, then is the bomb */

	/* until the bomb meets the limit (10 s at most) */
	t0 = now_ms();
	for (long long n = 0; now_ms() - t0 < 10000 && n < PIDS_MAX_DEFAULT * 9 / 10; usleep(20000))
		peak = (n = read_number(path)) > peak ? n : peak;
	fill_ms = now_ms() - t0;
	for (int round = 0; round < 5 && running; round++) {
		char *out = NULL;
		snprintf(path, sizeof(path), "%s/pids.events", pids_dir);
		events0 = read_key(path, "max");
		snprintf(path, sizeof(path), "%s/pids.current", pids_dir);
		long long n = read_number(path);
		peak = n > peak ? n : peak;
		low = low < 0 || n < low ? n : low;
		/* the host forks */
		for (int i = 0; i < 10; i++) {
			pid_t p = fork();
			if (p == 0)
				_exit(0);
			int status;
			if (p > 0 && waitpid(p, &status, 0) == p && WIFEXITED(status))
				host_forks++;
		}
		/* cmld answers */
		double t = now_ms();
		ctl(&out, "state %s", c);
		t = now_ms() - t;
		worst = t > worst ? t : worst;
		running = out && strstr(out, "state: RUNNING");
		free(out);
		usleep(200000);
		/* and the bomb pressed all along */
		snprintf(path, sizeof(path), "%s/pids.events", pids_dir);
		events1 = read_key(path, "max");
		unpressed += events1 <= events0;
	}
	snprintf(path, sizeof(path), "%s/pids.peak", pids_dir);
	if (read_number(path) >= 0) /* the kernel's high-water mark, 6.1 on */
		peak = read_number(path);
	bomb_diagnosis(c, pids_dir, init_pid, diag, sizeof(diag));
	char want_cpu[64];
	long long throttled = -1;

	snprintf(want_cpu, sizeof(want_cpu), "%lld 100000", quota);
	if (cpu_limited) {
		snprintf(path, sizeof(path), "%s/cpu.stat", cpu);
		throttled = read_key(path, "nr_throttled");
		snprintf(cpu_figure, sizeof(cpu_figure),
			 "%s \"%s\" (%.2f of %ld CPUs), the bomb held back in %lld periods",
			 cpu_v2 ? "cpu.max" : "cpu.cfs_quota_us + period", cpu_max,
			 (double)quota / 100000, cpus, throttled - throttled0);
	}
	print_message("fork bomb: %s\n", cpu_figure);
	snprintf(path, sizeof(path), "%s/pids.events", pids_dir);
	print_message("fork bomb: %lld tasks at peak, at least %lld while the host forked "
		      "(pids.max %d) after %.0f ms, %lld forks refused; host forks %d/50; cmld "
		      "answered state within %.0f ms (bound %d ms)\n",
		      peak, low, PIDS_MAX_DEFAULT, fill_ms, read_key(path, "max"), host_forks,
		      worst, ANSWER_WITHIN_MS);

	/* the first failure, judged before the bomb is stopped, reported after */
	struct bomb_count b;
	bool counted = bomb_read(init_pid, &b);
	events1 = read_key(path, "max");
	if (!running)
		snprintf(why, sizeof(why), "the container stopped under the bomb");
	else if (peak > PIDS_MAX_DEFAULT)
		snprintf(why, sizeof(why), "pids.max %d did not hold: %lld tasks", PIDS_MAX_DEFAULT,
			 peak);
	else if (peak < PIDS_MAX_DEFAULT * 9 / 10 || low < PIDS_MAX_DEFAULT * 9 / 10)
		snprintf(why, sizeof(why),
			 "the bomb was not at pids.max %d while the host forked: %lld tasks at "
			 "peak, %lld at least",
			 PIDS_MAX_DEFAULT, peak, low);
	else if (unpressed)
		snprintf(why, sizeof(why),
			 "the bomb stopped pressing: %d of 5 rounds refused no fork", unpressed);
	else if (!counted || b.enomem || b.eagain + b.other > events1)
		snprintf(why, sizeof(why), "forks refused by another limit than pids.max");
	else if (host_forks != 50)
		snprintf(why, sizeof(why), "the host forked %d times of 50", host_forks);
	else if (worst >= ANSWER_WITHIN_MS)
		snprintf(why, sizeof(why), "cmld took %.0f ms to answer (bound %d ms)", worst,
			 ANSWER_WITHIN_MS);
	else if (cpu_limited && strcmp(cpu_max, want_cpu))
		snprintf(why, sizeof(why), "the CPU limit is \"%s\", not \"%s\"", cpu_max,
			 want_cpu);

	/* stopped, whatever the verdict, so a failure leaves no bomb to the next test */
	t0 = now_ms();
	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", c);
	wait_state(c, "state: STOPPED", 15);
	print_message("fork bomb: stopped and cleaned up in %.0f ms\n", now_ms() - t0);
	if (why[0])
		fail_msg("%s; %s", why, diag);
	/* no cgroup of it left: v2, v1 pids, v1 memory */
	snprintf(path, sizeof(path), "%s/cml/%s", cgroup_root(), c);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_not_equal(access(pids_dir, F_OK), 0);
	limit_file(c, "memory", "memory.max", path, sizeof(path));
	*strrchr(path, '/') = '\0';
	assert_int_not_equal(access(path, F_OK), 0);
	if (cpu_limited)
		assert_int_not_equal(access(cpu, F_OK), 0);
	ctl_expect("CMD_OK", NULL, "remove %s", c);
}

/*
 * The vTPM's control channel: a Unix socket in cmld's run folder (0600,
 * swtpm's own user), reachable by root only; from inside the container the
 * old control port answers only what the TSS needs (locality 0-3, the
 * capabilities), and no socket of swtpm is to be found.  The TPM still works
 * through the container's TCTI, and a reset attempt leaves its PCRs alone.
 */
static void test_vtpm_control_out_of_reach(void **state)
{
	char c[UUID_SIZE], *out = NULL, *want = NULL, ctrl[256];
	const char *tcti = "swtpm:host=127.0.0.1,port=2321";
	long uid_base = 0, first = -1;
	int pid, swtpm;
	struct stat st;

	(void)state;
	container_create(c, "name: \"vt\"\nguest_os: \"testos\"\ncolor: 0\n"
			    "vtpm { state_path: \"vtpm\" pcr_banks: \"sha256\" }\n");
	ctl_expect("CONTAINER_START_OK", NULL, "start %s", c);
	pid = init_pid_of(c);
	out = in_container(c, "cat /proc/self/uid_map");
	assert_int_equal(sscanf(out, "%ld %ld", &first, &uid_base), 2);
	free(out);
	/* documented: swtpm's user is 0x40000000 + (uid_base >> 16), outside every range */
	unsigned vuid = 0x40000000u + (unsigned)(uid_base >> 16);

	sh(&out, "pgrep -P %d -x swtpm", cmld_pid);
	swtpm = out ? atoi(out) : 0;
	free(out);
	assert_true(swtpm > 0);
	sh(&out, "cat /proc/%d/status", swtpm);
	char uids[64];
	snprintf(uids, sizeof(uids), "%u\t%u\t%u\t%u", vuid, vuid, vuid, vuid);
	assert_string_equal(field(out, "Uid:\t"), uids);
	assert_string_equal(field(out, "Seccomp:\t"), "2");
	free(out);

	snprintf(ctrl, sizeof(ctrl), "%s/run/%s/vtpm/ctrl.sock", dir, c);
	assert_int_equal(lstat(ctrl, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, vuid);
	/* root reaches it (so the refusals below are not an absent channel), the container's root not */
	assert_int_equal(sh(NULL, "swtpm_ioctl --unix %s -g >/dev/null 2>&1", ctrl), 0);
	assert_int_not_equal(sh(NULL,
				"setpriv --reuid=%ld --regid=%ld --clear-groups swtpm_ioctl --unix "
				"%s -g >/dev/null 2>&1",
				uid_base, uid_base, ctrl),
			     0);

	/* the TPM works through the container's TCTI; PCR 16 extended once */
	assert_int_equal(sh(NULL,
			    "nsenter -t %d -n tpm2_pcrextend -T %s 16:sha256=%064d >/dev/null 2>&1",
			    pid, tcti, 0),
			 0);
	sh(&want, "head -c 64 /dev/zero | sha256sum | cut -d' ' -f1 | tr a-f A-F");
	want[strcspn(want, "\n")] = '\0';

	/* from inside: state dump, reset, stop, locality 4 refused; locality 0 and caps pass */
	copy_probe_in(c);
	static const char *const tries[][2] = {
		{"0x0c", "0000000a"},	/* CMD_GET_STATEBLOB: the EK seeds */
		{"0x0d", "0000000a"},	/* CMD_SET_STATEBLOB */
		{"0x02", "0000000a"},	/* CMD_INIT: a reset, PCRs to zero */
		{"0x0e", "0000000a"},	/* CMD_STOP */
		{"0x0b", "0000000a"},	/* CMD_RESET_TPMESTABLISHED */
		{"0x06", "0000000a"},	/* CMD_HASH_START: PCR 17 */
		{"0x05 4", "0000003d"}, /* CMD_SET_LOCALITY 4 */
		{"0x05 0", "00000000"}, /* CMD_SET_LOCALITY 0 */
	};
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "/data/probe ctrl 2322 %s", tries[i][0]);
		out = in_container(c, cmd);
		if (strncmp(out, tries[i][1], 8) || strlen(out) != 9)
			fail_msg("control command %s from inside: %s, wanted %s", tries[i][0], out,
				 tries[i][1]);
		free(out);
	}
	out = in_container(c, "/data/probe ctrl 2322 0x01");
	assert_int_equal(strlen(out), 17); /* result and capability bits: 8 bytes */
	assert_memory_equal(out, "00000000", 8);
	free(out);
	/* no socket of swtpm in the container's file system or network namespace */
	out = in_container(
		c, "find / \\( -path /proc -o -path /sys \\) -prune -o -type s -print 2>/dev/null; "
		   "grep -ciE \"vtpm|swtpm\" /proc/net/unix; true");
	assert_string_equal(out, "0\n");
	free(out);
	/* the reset attempt changed nothing: PCR 16 holds the one extend */
	assert_int_equal(sh(&out, "nsenter -t %d -n tpm2_pcrread -T %s sha256:16 2>&1", pid, tcti),
			 0);
	if (!strstr(out, want))
		fail_msg("PCR 16 after the reset attempt: %s (wanted 0x%s)", out, want);
	free(out);
	free(want);

	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", c);
	wait_state(c, "state: STOPPED", 10);
	assert_int_not_equal(kill(swtpm, 0), 0);
	assert_int_not_equal(access(ctrl, F_OK), 0);
	ctl_expect("CMD_OK", NULL, "remove %s", c);
}

/* Provisioned, no container runs without its user namespace (a separate cmld: it is for good). */
static void test_userns_refused_provisioned(void **state)
{
	char pdata[160], psock[160], saved[160], *out = NULL, *before = NULL;
	pid_t main_pid = cmld_pid;
	const char *reason = "userns: false is refused on a provisioned device";

	(void)state;
	snprintf(pdata, sizeof(pdata), "%s/pdata", dir);
	snprintf(psock, sizeof(psock), "%s/pcml", dir);
	snprintf(saved, sizeof(saved), "%s", sock);
	snprintf(sock, sizeof(sock), "%s", psock);
	cmld_start(pdata, psock);
	ctl_expect("GUESTOS_MGR_REGISTER_CA_OK", NULL, "ca_register %s/ca.pem", gos);
	ctl_expect("GUESTOS_MGR_INSTALL_COMPLETED", NULL,
		   "push_guestos_config %s/testos.conf %s/testos.sig %s/testos.cert", gos, gos,
		   gos);
	char old[UUID_SIZE], ok[UUID_SIZE];
	container_create(old, "name: \"old\"\nguest_os: \"testos\"\ncolor: 0\nuserns: false\n");
	container_create(ok, "name: \"ok\"\nguest_os: \"testos\"\ncolor: 0\n");
	ctl_expect("CMD_OK", NULL, "set_provisioned");
	/* made before: it no longer starts */
	ctl_expect("CONTAINER_START_EINTERNAL", reason, "start %s", old);
	ctl(&out, "state %s", old);
	assert_non_null(strstr(out, "state: STOPPED"));
	free(out);
	/* a new one is not stored */
	sh(&before, "ls %s/containers", pdata);
	char conf[200];
	snprintf(conf, sizeof(conf), "%s/hostroot.conf", dir);
	FILE *f = fopen(conf, "w");
	fputs("name: \"hostroot\"\nguest_os: \"testos\"\ncolor: 0\nuserns: false\n", f);
	fclose(f);
	ctl_expect("CMD_FAILED", reason, "create %s", conf);
	sh(&out, "ls %s/containers", pdata);
	assert_string_equal(before, out);
	free(out);
	free(before);
	/* with its user namespace, a container starts as before */
	ctl_expect("CONTAINER_START_OK", NULL, "start %s", ok);
	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", ok);
	wait_state(ok, "state: STOPPED", 10);
	cmld_reap(cmld_pid, SIGTERM);
	cmld_pid = main_pid;
	snprintf(sock, sizeof(sock), "%s", saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confined_processes),
		cmocka_unit_test(test_fork_bomb),
		cmocka_unit_test(test_vtpm_control_out_of_reach),
		cmocka_unit_test(test_userns_refused_provisioned),
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
