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

static int ctl(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ctl(char **out, const char *fmt, ...)
{
	char args[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh(out, "%s --socket %s --pin-file %s %s 2>&1 </dev/null", bin_path("control"), sock,
		  pinfile, args);
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
		fail_msg("control %s: wanted %s%s%s, got: %s", args, want, reason ? " / " : "",
			 reason ? reason : "", out ? out : "(nothing)");
	free(out);
}

static char *container_create(const char *config_text)
{
	char conf[160], *out = NULL, *uuid;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/new.conf", dir);
	f = fopen(conf, "w");
	fputs(config_text, f);
	fclose(f);
	if (ctl(&out, "create %s", conf) != 0 || !strstr(out, "# uuid "))
		fail_msg("create: %s", out ? out : "");
	uuid = strndup(strstr(out, "# uuid ") + 7, 36);
	free(out);
	return uuid;
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
		fail_msg("container %s: not %s: %s", c, want, out ? out : "");
	free(out);
}

/* Output of a command run in the container (control run, so as its processes are). */
static char *in_container(const char *c, const char *cmd)
{
	char *out = NULL;
	int rc = ctl(&out, "run %s /bin/sh -c '%s'", c, cmd);

	if (rc != 0)
		fail_msg("run %s in %s: exit %d: %s", cmd, c, rc, out ? out : "");
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
	/* a GuestOS whose init is a fork bomb, then stops on SIGTERM */
	if (!(f = fopen(bomb, "w")))
		return -1;
	fputs("#!/bin/sh\ntrap 'exit 0' TERM\nbomb() { bomb | bomb & }\nbomb\n"
	      "while :; do sleep 1 & wait $!; done\n",
	      f);
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

/* Inside: NoNewPrivs, the bounding set, the filter; the calls refused; mounts nosuid,nodev. */
static void test_confined_processes(void **state)
{
	char *c = container_create("name: \"conf\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "fifos: \"f0\"\n"),
	     *out;

	(void)state;
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
	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", c);
	wait_state(c, "state: STOPPED", 10);
	ctl_expect("CMD_OK", NULL, "remove %s", c);
	free(c);

	/* without a user namespace the container's root is the host's: confined the same */
	c = container_create("name: \"hostids\"\nguest_os: \"testos\"\ncolor: 0\nuserns: false\n");
	ctl_expect("CONTAINER_START_OK", NULL, "start %s", c);
	expect_confined_status(c);
	copy_probe_in(c);
	expect_syscalls_refused(c);
	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", c);
	wait_state(c, "state: STOPPED", 10);
	ctl_expect("CMD_OK", NULL, "remove %s", c);
	free(c);
}

/*
 * A container whose init is a fork bomb: pids.max holds (the kernel counts
 * refused forks in pids.events), the host still forks, cmld answers within
 * ANSWER_WITHIN_MS, and stop leaves nothing behind.
 */
static void test_fork_bomb(void **state)
{
	char *c = container_create("name: \"bomb\"\nguest_os: \"bombos\"\ncolor: 0\n");
	char current[512], events[512], v2[512], *out = NULL;
	long long peak = 0, max_events = 0;
	double worst = 0, t0;
	int host_forks = 0;

	(void)state;
	ctl_expect("CONTAINER_START_OK", NULL, "start %s", c);
	limit_file(c, "pids", "pids.current", current, sizeof(current));
	limit_file(c, "pids", "pids.events", events, sizeof(events));
	/* until the bomb meets the limit (10 s at most) */
	t0 = now_ms();
	while (now_ms() - t0 < 10000 && read_number(current) < PIDS_MAX_DEFAULT * 9 / 10)
		usleep(20000);
	double fill_ms = now_ms() - t0;
	for (int round = 0; round < 5; round++) {
		long long n = read_number(current);
		peak = n > peak ? n : peak;
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
		assert_non_null(strstr(out, "state: RUNNING"));
		free(out);
		out = NULL;
		usleep(200000);
	}
	sh(&out, "sed -n 's/^max //p' %s", events);
	max_events = out ? atoll(out) : 0;
	free(out);
	print_message("fork bomb: %lld tasks (pids.max %d) after %.0f ms, %lld forks refused; "
		      "host forks %d/50; cmld answered state within %.0f ms (bound %d ms)\n",
		      peak, PIDS_MAX_DEFAULT, fill_ms, max_events, host_forks, worst,
		      ANSWER_WITHIN_MS);
	assert_true(peak >= PIDS_MAX_DEFAULT * 9 / 10); /* the bomb did go off */
	assert_true(peak <= PIDS_MAX_DEFAULT);
	assert_true(max_events > 0);
	assert_int_equal(host_forks, 50);
	assert_true(worst < ANSWER_WITHIN_MS);

	t0 = now_ms();
	ctl_expect("CONTAINER_STOP_OK", NULL, "stop %s", c);
	wait_state(c, "state: STOPPED", 15);
	print_message("fork bomb: stopped and cleaned up in %.0f ms\n", now_ms() - t0);
	snprintf(v2, sizeof(v2), "%s/cml/%s", cgroup_root(), c);
	assert_int_not_equal(access(v2, F_OK), 0);
	*strrchr(current, '/') = '\0';
	assert_int_not_equal(access(current, F_OK), 0);
	ctl_expect("CMD_OK", NULL, "remove %s", c);
	free(c);
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
	char *c = container_create("name: \"vt\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "vtpm { state_path: \"vtpm\" pcr_banks: \"sha256\" }\n");
	char *out = NULL, *want = NULL, ctrl[256];
	const char *tcti = "swtpm:host=127.0.0.1,port=2321";
	long uid_base = 0, first = -1;
	int pid, swtpm;
	struct stat st;

	(void)state;
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
	free(c);
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
	char *old = container_create("name: \"old\"\nguest_os: \"testos\"\ncolor: 0\n"
				     "userns: false\n");
	char *ok = container_create("name: \"ok\"\nguest_os: \"testos\"\ncolor: 0\n");
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
	free(old);
	free(ok);
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
