// SPDX-License-Identifier: MIT
/*
 * cmld and control on this machine (root; namespaces, overlayfs, loop
 * devices): a signed test GuestOS (tests/harness/mkguestos.sh) is pushed and
 * containers are created, started, used, frozen, stopped, wiped and removed
 * through control, as a user would.  Also: PIN handling, GuestOS refusals,
 * bad configs, two containers at once, cmld killed and restarted, a crashing
 * init, veth and assigned interfaces, FIFOs, the memory limit, the vTPM,
 * provisioned mode.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cml_measure.h"
#include "cmldrun.h"
#include "digest.h"
#include "err.h"
#include "fileio.h"
#include "jsonw.h"
#include "pcr.h"
#include "policy_digest.h"
#include "sealed_file.h"
#include "hex.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"

/* control with our socket and PIN file (tests/harness/cmldrun.h) */
#define ctl(out, ...) cmld_control(out, sock, pinfile, __VA_ARGS__)

static char dir[64];	  /* everything of this test */
static char gos[128];	  /* GuestOS fixtures */
static char data[128];	  /* cmld --data-dir */
static char sock[160];	  /* cmld --socket */
static char pinfile[128]; /* "trustme" */
static pid_t cmld_pid;

static const char *cmld_extra[16]; /* more cmld arguments, NULL-ended */

static void cmld_start(const char *data_dir, const char *socket_path)
{
	char run[160], log[160];
	const char *argv[32] = {"cmld",	    "--data-dir",	 data_dir,
				"--socket", socket_path,	 "--run-dir",
				run,	    "--stop-timeout-ms", "2000"};
	size_t n = 9;

	for (size_t i = 0; cmld_extra[i] && n < 31; i++)
		argv[n++] = cmld_extra[i];
	argv[n] = NULL;
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(log, sizeof(log), "%s/cmld.log", dir);
	cmld_pid = cmld_spawn(argv, log, socket_path);
}

static void cmld_kill(int sig)
{
	cmld_reap(cmld_pid, sig);
	cmld_pid = 0;
}

/* control must print the response @want. */
static void ctl_expect(const char *want, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ctl_expect(const char *want, const char *fmt, ...)
{
	char args[4096], *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	ctl(&out, "%s", args);
	if (!out || !cmld_has_line(out, want))
		fail_msg("control %s: wanted %s, got: %s", args, want, out ? out : "(nothing)");
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
	assert_int_equal(ctl(&out, "create %s", conf), 0);
	assert_non_null(strstr(out, "# uuid "));
	uuid = strndup(strstr(out, "# uuid ") + 7, 36);
	free(out);
	return uuid;
}

static void wait_state(const char *c, const char *want)
{
	char *s = NULL;

	for (int i = 0; i < 500; i++) {
		free(s);
		s = cmld_state(sock, pinfile, c);
		if (!strcmp(s, want))
			break;
		usleep(10000);
	}
	if (strcmp(s, want))
		fail_msg("container %s is %s, not %s", c, s, want);
	free(s);
}

/* Output of a command run in the container (through control run). */
static char *in_container(const char *c, const char *cmd)
{
	char *out = NULL;
	int rc = ctl(&out, "run %s /bin/sh -c '%s'", c, cmd);

	if (rc != 0)
		fail_msg("run %s in %s: exit %d: %s", cmd, c, rc, out ? out : "");
	return out;
}

static const char *cgroup_root(void)
{
	return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup"
								      : "/sys/fs/cgroup/unified";
}

/* The host PID of a container's init (the one that is 1 in its namespace). */
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

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-cmld.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(gos, sizeof(gos), "%s/gos", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(sock, sizeof(sock), "%s/cml-control", dir);
	snprintf(pinfile, sizeof(pinfile), "%s/pin", dir);
	if (sh(NULL,
	       "echo trustme > %s && mkdir %s && tests/harness/mkguestos.sh %s testos 2 "
	       ">/dev/null && tests/harness/mkguestos.sh %s testos 1 >/dev/null && "
	       "mv %s/testos.conf %s/testos-1.conf && mv %s/testos.sig %s/testos-1.sig && "
	       "tests/harness/mkguestos.sh %s testos 2 >/dev/null",
	       pinfile, gos, gos, gos, gos, gos, gos, gos, gos) != 0)
		return -1;
	cmld_start(data, sock);
	if (ctl(NULL, "ca_register %s/ca.pem", gos) != 0 ||
	    ctl(NULL, "push_guestos_config %s/testos.conf %s/testos.sig %s/testos.cert", gos, gos,
		gos) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cmld_kill(SIGTERM);
	/* cmld's own sanitizer reports land in its log */
	if (sh(NULL, "grep -q Sanitizer %s/cmld.log", dir) == 0) {
		sh(NULL, "cat %s/cmld.log >&2", dir);
		return -1;
	}
	if (!getenv("KEEP_TMP"))
		sh(NULL, "rm -rf %s", dir);
	return 0;
}

/* create -> start -> write -> stop -> start -> the data is still there. */
static void test_lifecycle(void **state)
{
	char *c = container_create("name: \"life\"\nguest_os: \"testos\"\ncolor: 0\n"), *out;
	char path[256];
	struct stat st;

	(void)state;
	wait_state(c, "STOPPED");
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	wait_state(c, "RUNNING");
	ctl_expect("CONTAINER_START_EEXIST", "start %s", c);
	out = in_container(c, "echo on-data > /data/f && echo on-root > /note && hostname && "
			      "cat /etc/guestos-release && id -u");
	assert_non_null(strstr(out, "life"));
	assert_non_null(strstr(out, "testos 2"));
	assert_non_null(strstr(out, "\n0"));
	free(out);
	ctl_expect("CONTAINER_STOP_OK", "stop life");
	wait_state(c, "STOPPED");
	ctl_expect("CONTAINER_STOP_FAILED_NOT_RUNNING", "stop %s", c);
	/* the data images are files on the host, the cgroup is gone */
	snprintf(path, sizeof(path), "%s/containers/%s/data.img", data, c);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/cml/%s", cgroup_root(), c);
	assert_int_not_equal(access(path, F_OK), 0);
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	out = in_container(c, "cat /data/f /note");
	assert_non_null(strstr(out, "on-data"));
	assert_non_null(strstr(out, "on-root"));
	free(out);
	/* the command's exit status comes back */
	assert_int_equal(ctl(NULL, "run %s /bin/sh -c 'exit 7'", c), 7);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	/* wipe: the data goes, the container stays */
	ctl_expect("CMD_OK", "wipe %s", c);
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	out = in_container(c, "ls /data; test -e /note && echo still || echo gone");
	assert_null(strstr(out, "f\r\n"));
	assert_non_null(strstr(out, "gone"));
	free(out);
	ctl_expect("CMD_FAILED", "remove %s", c); /* running */
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", c);
	snprintf(path, sizeof(path), "%s/containers/%s.conf", data, c);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/containers/%s", data, c);
	assert_int_not_equal(access(path, F_OK), 0);
	ctl_expect("CMD_FAILED", "state %s", c);
	free(c);
}

static void test_freeze_unfreeze(void **state)
{
	char *c = container_create("name: \"cold\"\nguest_os: \"testos\"\ncolor: 0\n"), path[256];
	char *out = NULL;

	(void)state;
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	ctl_expect("CMD_FAILED", "unfreeze %s", c);
	ctl_expect("CMD_OK", "freeze %s", c);
	wait_state(c, "FROZEN");
	snprintf(path, sizeof(path), "%s/cml/%s/cgroup.freeze", cgroup_root(), c);
	sh(&out, "cat %s", path);
	assert_string_equal(out, "1\n");
	free(out);
	ctl_expect("CMD_OK", "unfreeze %s", c);
	wait_state(c, "RUNNING");
	out = in_container(c, "echo thawed");
	assert_non_null(strstr(out, "thawed"));
	free(out);
	/* a frozen container still stops */
	ctl_expect("CMD_OK", "freeze %s", c);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

static void test_pin_and_lockout(void **state)
{
	char *c = container_create("name: \"pin\"\nguest_os: \"testos\"\ncolor: 0\n");
	char *n = container_create("name: \"nopin\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "token_type: NONE\n");
	char wrong[160], newpin[160];

	(void)state;
	snprintf(wrong, sizeof(wrong), "%s/wrong", dir);
	snprintf(newpin, sizeof(newpin), "%s/new", dir);
	sh(NULL, "echo wrong > %s; printf '1234\\n5678\\n' > %s", wrong, newpin);
	/* change_pin reads both PINs from the file: the old one, then the new one */
	sh(NULL, "printf 'trustme\\n' > %s.old", newpin);
	ctl_expect("CONTAINER_START_PASSWD_WRONG", "--pin-file %s start %s", wrong, c);
	ctl_expect("CONTAINER_START_PASSWD_WRONG", "--pin-file %s start %s", wrong, c);
	ctl_expect("CONTAINER_LOCKED_TILL_REBOOT", "--pin-file %s start %s", wrong, c);
	ctl_expect("CONTAINER_LOCKED_TILL_REBOOT", "start %s", c); /* even the right one now */
	wait_state(c, "STOPPED");
	/* token type NONE needs no PIN at all */
	ctl_expect("CONTAINER_START_OK", "--pin-file %s start %s", wrong, n);
	ctl_expect("CONTAINER_STOP_OK", "--pin-file %s stop %s", wrong, n);
	wait_state(n, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", n);
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
	free(n);
}

static void test_change_pin(void **state)
{
	char *c = container_create("name: \"repin\"\nguest_os: \"testos\"\ncolor: 0\n");
	char oldnew[160], newfile[160];

	(void)state;
	snprintf(oldnew, sizeof(oldnew), "%s/oldnew", dir);
	snprintf(newfile, sizeof(newfile), "%s/newpin", dir);
	/* the PIN file gives one PIN per prompt: the current one, then the new one */
	sh(NULL, "printf 'trustme\\n' > %s; printf 'n3w-pin\\n' > %s", oldnew, newfile);
	assert_int_equal(sh(NULL,
			    "{ echo trustme; echo n3w-pin; } > %s.both && %s --socket %s "
			    "--pin-file %s.both change_pin %s | grep -qx "
			    "CONTAINER_CHANGE_PIN_SUCCESSFUL",
			    oldnew, bin_path("control"), sock, oldnew, c),
			 0);
	ctl_expect("CONTAINER_START_PASSWD_WRONG", "start %s", c); /* trustme is old now */
	ctl_expect("CONTAINER_START_OK", "--pin-file %s start %s", newfile, c);
	ctl_expect("CONTAINER_STOP_OK", "--pin-file %s stop %s", newfile, c);
	wait_state(c, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

static void test_bad_configs(void **state)
{
	char conf[160], *out = NULL, *before = NULL, *after = NULL;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/bad.conf", dir);
	ctl(&before, "list");
	sh(NULL, "printf 'name: \"x\"\\nguest_os: \"testos\"\\ncolour: 1\\n' > %s", conf);
	assert_int_equal(ctl(&out, "create %s", conf), 1);
	assert_non_null(strstr(out, "CMD_FAILED"));
	assert_non_null(strstr(out, ":3: unknown field 'colour' in ContainerConfig"));
	free(out);
	sh(NULL, "printf 'name: \"x\"\\nguest_os: \"nosuchos\"\\ncolor: 1\\n' > %s", conf);
	assert_int_equal(ctl(&out, "create %s", conf), 1);
	assert_non_null(strstr(out, "GuestOS 'nosuchos' is not installed"));
	free(out);
	sh(NULL, "printf 'name: \"x\"\\nguest_os: \"testos\"\\n' > %s", conf);
	assert_int_equal(ctl(&out, "create %s", conf), 1);
	assert_non_null(strstr(out, "required field 'color' is missing"));
	free(out);
	ctl(&after, "list");
	assert_string_equal(before, after); /* nothing was created */
	free(before);
	free(after);
	/* control refuses a bad command line itself */
	assert_int_equal(ctl(NULL, "frobnicate"), 2);
	assert_int_equal(ctl(NULL, "start"), 2);
}

static void test_guestos_refusals(void **state)
{
	char *out = NULL;

	(void)state;
	/* older than installed (2) */
	assert_int_equal(ctl(&out,
			     "push_guestos_config %s/testos-1.conf %s/testos-1.sig "
			     "%s/testos.cert",
			     gos, gos, gos),
			 1);
	assert_non_null(strstr(out, "GUESTOS_MGR_INSTALL_FAILED"));
	assert_non_null(strstr(out, "version 1 is older than the installed 2"));
	free(out);
	/* the same config again is fine */
	ctl_expect("GUESTOS_MGR_INSTALL_COMPLETED",
		   "push_guestos_config %s/testos.conf %s/testos.sig %s/testos.cert", gos, gos,
		   gos);
	/* a changed config no longer matches its signature */
	sh(NULL, "sed 's/testos/evilos/' %s/testos.conf > %s/evil.conf", gos, dir);
	assert_int_equal(ctl(&out, "push_guestos_config %s/evil.conf %s/testos.sig %s/testos.cert",
			     dir, gos, gos),
			 1);
	assert_non_null(strstr(out, "signature does not verify"));
	free(out);
	/* signed by a CA nobody registered */
	sh(NULL, "mkdir -p %s/other && tests/harness/mkguestos.sh %s/other otheros 1 >/dev/null",
	   dir, dir);
	assert_int_equal(ctl(&out,
			     "push_guestos_config %s/other/otheros.conf "
			     "%s/other/otheros.sig %s/other/otheros.cert",
			     dir, dir, dir),
			 1);
	assert_non_null(strstr(out, "certificate not trusted"));
	free(out);
	/* registered CA, but the image is not what the signed config lists */
	ctl_expect("GUESTOS_MGR_REGISTER_CA_OK", "ca_register %s/other/ca.pem", dir);
	sh(NULL,
	   "printf X | dd of=%s/other/images-otheros-1/root.img bs=1 seek=2000 conv=notrunc "
	   "2>/dev/null",
	   dir);
	assert_int_equal(ctl(&out,
			     "push_guestos_config %s/other/otheros.conf "
			     "%s/other/otheros.sig %s/other/otheros.cert",
			     dir, dir, dir),
			 1);
	if (!strstr(out, "image 'root': SHA-256"))
		fail_msg("push of a changed image: %s", out);
	free(out);
	ctl(&out, "list_guestos");
	assert_null(strstr(out, "otheros"));
	free(out);
	/* a non-CA certificate is not a CA */
	assert_int_equal(ctl(&out, "ca_register %s/sign.pem", gos), 1);
	assert_non_null(strstr(out, "GUESTOS_MGR_REGISTER_CA_ERROR"));
	free(out);
	/* in use: not removed */
	char *c = container_create("name: \"user\"\nguest_os: \"testos\"\ncolor: 0\n");
	assert_int_equal(ctl(&out, "remove_guestos testos"), 1);
	assert_non_null(strstr(out, "used by container user"));
	free(out);
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

static void test_two_containers(void **state)
{
	char *a = container_create("name: \"alpha\"\nguest_os: \"testos\"\ncolor: 1\n");
	char *b = container_create("name: \"beta\"\nguest_os: \"testos\"\ncolor: 2\n");
	char *out;

	(void)state;
	ctl_expect("CONTAINER_START_OK", "start alpha");
	ctl_expect("CONTAINER_START_OK", "start beta");
	free(in_container("alpha", "echo A > /data/who"));
	free(in_container("beta", "echo B > /data/who"));
	out = in_container("alpha", "hostname; cat /data/who");
	assert_non_null(strstr(out, "alpha\r\nA"));
	free(out);
	out = in_container("beta", "hostname; cat /data/who; ps | wc -l");
	assert_non_null(strstr(out, "beta\r\nB"));
	free(out);
	assert_int_not_equal(init_pid_of(a), init_pid_of(b));
	ctl_expect("CONTAINER_STOP_OK", "stop alpha");
	ctl_expect("CONTAINER_STOP_OK", "stop beta");
	wait_state(a, "STOPPED");
	wait_state(b, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", a);
	ctl_expect("CMD_OK", "remove %s", b);
	free(a);
	free(b);
}

/* init dies: the container is STOPPED and cleaned up. */
static void test_init_crash(void **state)
{
	char *c = container_create("name: \"crash\"\nguest_os: \"testos\"\ncolor: 0\n"), path[256];
	int pid;

	(void)state;
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	pid = init_pid_of(c);
	assert_true(pid > 1);
	kill(pid, SIGKILL);
	wait_state(c, "STOPPED");
	snprintf(path, sizeof(path), "%s/cml/%s", cgroup_root(), c);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/run/%s", dir, c);
	assert_int_not_equal(access(path, F_OK), 0);
	ctl_expect("CONTAINER_START_OK", "start %s", c); /* and it starts again */
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

/* Whether @pid runs (a zombie whose parent went away does not). */
static bool alive(int pid)
{
	char path[64], line[128] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "re")))
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return !strstr(line, ") Z ");
}

/* cmld killed with containers running: restarted, it finds them STOPPED, configs intact. */
static void test_cmld_restart(void **state)
{
	char *c = container_create("name: \"survivor\"\nguest_os: \"testos\"\ncolor: 7\n"
				   "ram_limit: 64\nfifos: \"f0\"\n");
	char *before = NULL, *after = NULL;
	int pid;

	(void)state;
	ctl(&before, "config %s", c);
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	pid = init_pid_of(c);
	assert_true(pid > 1);
	cmld_kill(SIGKILL);
	cmld_start(data, sock);
	wait_state(c, "STOPPED");
	/* the old container's processes are gone */
	for (int i = 0; i < 100 && alive(pid); i++)
		usleep(10000);
	assert_false(alive(pid));
	ctl(&after, "config %s", c);
	assert_string_equal(before, after);
	free(before);
	free(after);
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	char *out = in_container(c, "ls -l /dev/cfifos; cat /proc/1/cgroup");
	assert_non_null(strstr(out, "f0"));
	free(out);
	/* 64 MiB ram_limit: memory.max on v2, else the v1 memory cgroup */
	assert_int_equal(sh(NULL,
			    "cat %s/cml/%s/memory.max 2>/dev/null | grep -qx 67108864 || "
			    "cat /sys/fs/cgroup/memory/$(sed -n 's/^[0-9]*:memory://p' "
			    "/proc/self/cgroup)/cml-%s/memory.limit_in_bytes | grep -qx 67108864",
			    cgroup_root(), c, c),
			 0);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

static void test_network(void **state)
{
	char *c = container_create("name: \"net\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "vnet_configs { if_name: \"eth0\" configure: true "
				   "if_rootns_name: \"mtest0\" }\n");
	char *out = NULL;
	int pid;

	(void)state;
	sh(NULL, "ip link del mtest1 2>/dev/null; ip link add mtest1 type veth peer name mtest2");
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	pid = init_pid_of(c);
	sh(&out, "ip -o -4 addr show dev mtest0");
	assert_non_null(strstr(out, "10.233."));
	free(out);
	sh(&out, "nsenter -t %d -n ip -o -4 addr show dev eth0", pid);
	assert_non_null(strstr(out, "10.233."));
	free(out);
	/* a host interface moves in and out */
	ctl_expect("CMD_OK", "assign_iface --iface mtest2 %s", c);
	sh(&out, "nsenter -t %d -n ip -o link show mtest2", pid);
	assert_non_null(strstr(out, "mtest2"));
	free(out);
	ctl(&out, "ifaces %s", c);
	assert_non_null(strstr(out, "mtest2"));
	free(out);
	assert_int_not_equal(sh(NULL, "ip link show mtest2 >/dev/null 2>&1"), 0);
	ctl_expect("CMD_OK", "unassign_iface --iface mtest2 %s", c);
	assert_int_equal(sh(NULL, "ip link show mtest2 >/dev/null 2>&1"), 0);
	ctl_expect("CMD_FAILED", "assign_iface --iface nosuch0 %s", c);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	assert_int_not_equal(sh(NULL, "ip link show mtest0 >/dev/null 2>&1"), 0);
	sh(NULL, "ip link del mtest1 2>/dev/null");
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

/* The container's vTPM: a swtpm made with certificates, reachable only from inside. */
static void test_vtpm(void **state)
{
	char conf[512], *c, *out = NULL;
	int pid;

	(void)state;
	snprintf(conf, sizeof(conf),
		 "name: \"tpm\"\nguest_os: \"testos\"\ncolor: 0\n"
		 "vtpm { state_path: \"vtpm\" create_certs: true pcr_banks: \"sha256\" }\n");
	c = container_create(conf);
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	pid = init_pid_of(c);
	out = in_container(c, "tr \"\\\\0\" \"\\\\n\" < /proc/1/environ | grep TCTI");
	assert_non_null(strstr(out, "TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=2321"));
	free(out);
	/* from the container's network namespace, a TPM with one sha256 bank and an EK cert */
	assert_int_equal(sh(&out,
			    "nsenter -t %d -n tpm2_getcap -T swtpm:host=127.0.0.1,port=2321 pcrs "
			    "2>&1",
			    pid),
			 0);
	assert_non_null(strstr(out, "sha256: [ 0, 1, 2"));
	assert_non_null(strstr(out, "sha1: [ ]"));
	free(out);
	assert_int_equal(sh(NULL,
			    "nsenter -t %d -n tpm2_nvread -T swtpm:host=127.0.0.1,port=2321 "
			    "0x01c00002 2>/dev/null | openssl x509 -inform der -noout",
			    pid),
			 0);
	/* from the host's namespace: nothing there */
	assert_int_not_equal(sh(NULL, "tpm2_pcrread -T swtpm:host=127.0.0.1,port=2321 >/dev/null "
				      "2>&1"),
			     0);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	/* persistent: the state survives for the next start */
	assert_int_equal(sh(NULL, "test -s %s/containers/%s/vtpm/tpm2-00.permall", data, c), 0);
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

static void test_setup_mode(void **state)
{
	char *c = container_create("name: \"setup\"\nguest_os: \"testos\"\ncolor: 0\n"), *out;

	(void)state;
	ctl_expect("CONTAINER_START_OK", "start %s --setup", c);
	wait_state(c, "SETUP");
	out = in_container(c, "cat /setup/etc/guestos-release");
	assert_non_null(strstr(out, "testos 2"));
	free(out);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

/* Writes @text to DIR/@name; returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
	static char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* control's answer to @args must be @want with @reason in it. */
static void ctl_refused(const char *want, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ctl_refused(const char *want, const char *reason, const char *fmt, ...)
{
	char args[4096], *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	ctl(&out, "%s", args);
	if (!out || !cmld_has_line(out, want) || !strstr(out, reason))
		fail_msg("control %s: wanted %s naming \"%s\", got: %s", args, want, reason,
			 out ? out : "(nothing)");
	free(out);
}

/*
 * Paths from configs stay inside the container's folder and the container's
 * root: vtpm.state_path with "..", absolute elsewhere or through a symlink;
 * a GuestOS image_file with ".."; a mount point the container's own overlay
 * layer turned into a symlink.
 */
static void test_paths_confined(void **state)
{
	char *before = NULL, *after = NULL, *out = NULL;

	(void)state;
	ctl(&before, "list");
	ctl_refused("CMD_FAILED", "vtpm.state_path '../../x'", "create %s",
		    write_conf("p.conf", "name: \"p\"\nguest_os: \"testos\"\ncolor: 0\n"
					 "vtpm { state_path: \"../../x\" }\n"));
	ctl_refused("CMD_FAILED", "vtpm.state_path '/tmp/x' is outside the container's folder",
		    "create %s",
		    write_conf("p.conf", "name: \"p\"\nguest_os: \"testos\"\ncolor: 0\n"
					 "vtpm { state_path: \"/tmp/x\" }\n"));
	ctl(&after, "list");
	assert_string_equal(before, after); /* nothing was created */
	free(before);
	free(after);
	/* a symlink put where the state folder goes: refused at start, nothing written there */
	char *c = container_create("name: \"p\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "vtpm { state_path: \"vt\" }\n");
	assert_int_equal(sh(NULL, "mkdir %s/elsewhere && ln -s %s/elsewhere %s/containers/%s/vt",
			    dir, dir, data, c),
			 0);
	ctl_refused("CONTAINER_START_EINTERNAL", "vtpm.state_path 'vt': a symlink", "start %s", c);
	wait_state(c, "STOPPED");
	assert_int_equal(sh(NULL, "test -z \"$(ls -A %s/elsewhere)\"", dir), 0);
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);

	/* a GuestOS whose image_file climbs out: refused at push, and at start when put there */
	char g[256];
	snprintf(g, sizeof(g), "%s/guestos/testos", data);
	assert_int_equal(
		sh(NULL,
		   "cp -a %s %s/gos-saved && cd %s && "
		   "sed 's/image_file: \"data\"/image_file: \"..\\/..\\/x\"/' %s/testos.conf "
		   "> climb.conf && openssl dgst -sha256 -sign %s/sign.key -out climb.sig "
		   "climb.conf && sed 's/^version: 2/version: 3/' climb.conf > climb3.conf "
		   "&& openssl dgst -sha256 -sign %s/sign.key -out climb3.sig climb3.conf",
		   g, dir, dir, gos, gos, gos),
		0);
	ctl_refused("GUESTOS_MGR_INSTALL_FAILED", "image_file '../../x' is not a plain name",
		    "push_guestos_config %s/climb3.conf %s/climb3.sig %s/testos.cert", dir, dir,
		    gos);
	c = container_create("name: \"climb\"\nguest_os: \"testos\"\ncolor: 0\n");
	sh(NULL, "cp %s/climb.conf %s/testos.conf && cp %s/climb.sig %s/testos.sig", dir, g, dir,
	   g);
	ctl_refused("CONTAINER_START_EINTERNAL", "image_file '../../x' is not a plain name",
		    "start %s", c);
	assert_int_equal(sh(NULL, "rm -rf %s && cp -a %s/gos-saved %s", g, dir, g), 0);

	/*
	 * The container's overlay layer (its rootdata image, its own to write)
	 * holds /data as a symlink to a host folder: the data mount must not follow it.
	 */
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	assert_int_equal(
		sh(&out,
		   "mkdir -p %s/mnt %s/escape && mount -o loop %s/containers/%s/rootdata.img "
		   "%s/mnt && rm -rf %s/mnt/upper/data && ln -s %s/escape %s/mnt/upper/data "
		   "&& umount %s/mnt 2>&1",
		   dir, dir, data, c, dir, dir, dir, dir, dir),
		0);
	free(out);
	ctl_refused("CONTAINER_START_EINTERNAL", "mount_point /data", "start %s", c);
	ctl(&out, "state %s", c);
	assert_non_null(strstr(out, "STOPPED"));
	free(out);
	assert_int_equal(sh(NULL, "test -z \"$(ls -A %s/escape)\"", dir), 0);
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

/* The trust level is the stored config's: SIGNED only while its signature verifies over it. */
static void test_trust_level(void **state)
{
	const char *conf =
		write_conf("s.conf", "name: \"signed\"\nguest_os: \"testos\"\ncolor: 0\n");
	char *c, *out = NULL;

	(void)state;
	assert_int_equal(
		sh(NULL, "openssl dgst -sha256 -sign %s/sign.key -out %s/s.sig %s", gos, dir, conf),
		0);
	assert_int_equal(ctl(&out, "create %s %s/s.sig %s/sign.pem", conf, dir, gos), 0);
	c = strndup(strstr(out, "# uuid ") + 7, 36);
	free(out);
	ctl_expect("trust_level: SIGNED", "state %s", c);
	/* an unsigned update: no longer SIGNED, now and after a restart */
	conf = write_conf("u.conf", "name: \"signed\"\nguest_os: \"testos\"\ncolor: 0\n"
				    "ram_limit: 512\n");
	ctl_expect("# uuid ", "update_config %s %s", c, conf);
	ctl_expect("trust_level: UNSIGNED", "state %s", c);
	cmld_kill(SIGTERM);
	cmld_start(data, sock);
	ctl_expect("trust_level: UNSIGNED", "state %s", c);
	/* signed again: SIGNED, kept across a restart (verified over the stored text) */
	ctl_expect("# uuid ", "update_config %s %s/s.conf %s/s.sig %s/sign.pem", c, dir, dir, gos);
	ctl_expect("trust_level: SIGNED", "state %s", c);
	cmld_kill(SIGTERM);
	cmld_start(data, sock);
	ctl_expect("trust_level: SIGNED", "state %s", c);
	/* the stored config edited offline: its signature no longer vouches for it */
	cmld_kill(SIGTERM);
	sh(NULL, "echo 'userns: false' >> %s/containers/%s.conf", data, c);
	cmld_start(data, sock);
	ctl_expect("trust_level: UNSIGNED", "state %s", c);
	ctl_expect("CMD_OK", "remove %s", c);
	free(c);
}

/* The host id of uid 0 in @c's user namespace (uid_map's second column). */
static long host_root_of(const char *c)
{
	char *out = in_container(c, "cat /proc/self/uid_map");
	long v = 0, first = -1;

	if (sscanf(out, "%ld %ld", &first, &v) != 2 || first != 0)
		fail_msg("uid_map of %s: %s", c, out);
	free(out);
	return v;
}

/*
 * Two containers whose UUIDs share the 16 bits the user id range used to be
 * derived from get distinct ranges, recorded; a record edited to another
 * range (host root) is refused.
 */
static void test_uid_ranges(void **state)
{
	char *a = container_create("name: \"uida\"\nguest_os: \"testos\"\ncolor: 0\n"), b[37];
	char *ra = NULL, *rb = NULL;

	(void)state;
	/* b: a's UUID but for its second group; both without a record, as before */
	snprintf(b, sizeof(b), "%s", a);
	memcpy(b + 9, strncmp(a + 9, "0000", 4) ? "0000" : "1111", 4);
	cmld_kill(SIGTERM);
	assert_int_equal(
		sh(NULL,
		   "cd %s && sed 's/uida/uidb/' containers/%s.conf > containers/%s.conf && "
		   "mkdir containers/%s && cp tokens/%s.p12 tokens/%s.p12 && "
		   "rm containers/%s/uid_base",
		   data, a, b, b, a, b, a),
		0);
	cmld_start(data, sock);
	assert_int_equal(sh(&ra, "cat %s/containers/%s/uid_base", data, a), 0);
	assert_int_equal(sh(&rb, "cat %s/containers/%s/uid_base", data, b), 0);
	assert_string_not_equal(ra, rb);
	ctl_expect("CONTAINER_START_OK", "start %s", a);
	ctl_expect("CONTAINER_START_OK", "start %s", b);
	long ha = host_root_of(a), hb = host_root_of(b);
	assert_int_equal(ha, atol(ra));
	assert_int_equal(hb, atol(rb));
	assert_true(labs(ha - hb) >= 65536);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", a);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", b);
	wait_state(a, "STOPPED");
	wait_state(b, "STOPPED");
	/* a record pointing at host root is not a range of cmld's: not loaded */
	cmld_kill(SIGTERM);
	sh(NULL, "echo 0 > %s/containers/%s/uid_base", data, b);
	cmld_start(data, sock);
	ctl_refused("CMD_FAILED", "no container", "state %s", b);
	assert_int_equal(
		sh(NULL, "grep -q 'uid_base: not a user id range of cmld' %s/cmld.log", dir), 0);
	ctl_expect("CMD_OK", "remove %s", a);
	sh(NULL, "cd %s && rm -rf containers/%s containers/%s.conf tokens/%s.p12", data, b, b, b);
	free(ra);
	free(rb);
	free(a);
}

/*
 * A second cmld with its own data folder and socket, the test GuestOS
 * installed; control talks to it until side_cmld_end().
 */
struct side_cmld {
	char data[160], sock[160], saved_sock[160];
	pid_t main_pid;
};

static void side_cmld_begin(struct side_cmld *s, const char *tag)
{
	s->main_pid = cmld_pid;
	snprintf(s->data, sizeof(s->data), "%s/%sdata", dir, tag);
	snprintf(s->sock, sizeof(s->sock), "%s/%scml", dir, tag);
	snprintf(s->saved_sock, sizeof(s->saved_sock), "%s", sock);
	snprintf(sock, sizeof(sock), "%s", s->sock);
	cmld_start(s->data, s->sock);
	ctl_expect("GUESTOS_MGR_REGISTER_CA_OK", "ca_register %s/ca.pem", gos);
	ctl_expect("GUESTOS_MGR_INSTALL_COMPLETED",
		   "push_guestos_config %s/testos.conf %s/testos.sig %s/testos.cert", gos, gos,
		   gos);
}

static void side_cmld_end(struct side_cmld *s)
{
	cmld_kill(SIGTERM);
	cmld_pid = s->main_pid;
	snprintf(sock, sizeof(sock), "%s", s->saved_sock);
}

/* Provisioned mode: a separate cmld and data folder, since it cannot be undone. */
static void test_provisioned(void **state)
{
	struct side_cmld side;
	char *out = NULL;

	(void)state;
	side_cmld_begin(&side, "p");
	char *c = container_create("name: \"prov\"\nguest_os: \"testos\"\ncolor: 0\n");
	ctl_expect("DEVICE_CSR", "pull_csr %s/device.csr", dir);
	assert_int_equal(sh(NULL, "openssl req -in %s/device.csr -noout -verify 2>/dev/null", dir),
			 0);
	ctl_expect("not provisioned", "get_provisioned");
	ctl_expect("CMD_OK", "set_provisioned");
	ctl_expect("provisioned", "get_provisioned");
	ctl_expect("CMD_UNSUPPORTED", "remove %s", c);
	ctl_expect("CMD_UNSUPPORTED", "wipe_device");
	ctl_expect("CMD_UNSUPPORTED", "ca_register %s/ca.pem", gos);
	ctl_expect("CMD_UNSUPPORTED", "run %s /bin/true", c);
	ctl_expect("CMD_UNSUPPORTED", "freeze %s", c);
	ctl_expect("CMD_UNSUPPORTED", "pull_csr %s/x.csr", dir);
	/* what stays allowed */
	ctl(&out, "list");
	assert_non_null(strstr(out, "prov"));
	free(out);
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
	wait_state(c, "STOPPED");
	/* it persists across a restart of cmld */
	cmld_kill(SIGTERM);
	cmld_start(side.data, side.sock);
	ctl_expect("provisioned", "get_provisioned");
	ctl_expect("CMD_UNSUPPORTED", "remove %s", c);
	/* reboot: stops everything and cmld ends (no --allow-reboot: no actual reboot) */
	ctl_expect("CONTAINER_START_OK", "start %s", c);
	ctl_expect("CMD_OK", "reboot");
	int status;
	for (int i = 0; i < 500 && waitpid(cmld_pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	assert_int_not_equal(kill(cmld_pid, 0), 0);
	cmld_pid = 0; /* reaped above */
	side_cmld_end(&side);
	free(c);
}

/* ---- sealed containers: a second cmld with --tpm on a private swtpm ---- */

static struct swtpm sealtpm;
static bool have_dm;
/* a profile of 8 PCRs: tpm2_policypcr, which checks our sealed files, takes no more */
#define SEAL_SEL "sha256:0,1,2,3,4,7,9,13"

static void set_pins(const char *pins)
{
	FILE *f = fopen(pinfile, "w");
	fputs(pins, f);
	fclose(f);
}

/*
 * Start must get past the unseal: with device-mapper the volume opens and the
 * container runs (then stops); without it (this host) the key slot opened
 * and only the activation was refused, by name.
 */
static void expect_unlocked(const char *c)
{
	char *out = NULL;

	ctl(&out, "start %s", c);
	if (have_dm) {
		if (!cmld_has_line(out, "CONTAINER_START_OK"))
			fail_msg("start %s: %s", c, out);
		free(out);
		ctl_expect("CONTAINER_STOP_OK", "stop %s", c);
		wait_state(c, "STOPPED");
		return;
	}
	if (!cmld_has_line(out, "CONTAINER_START_EINTERNAL") || !strstr(out, "device-mapper"))
		fail_msg("start %s: wanted the device-mapper refusal after unlocking: %s", c, out);
	free(out);
}

static void tpm_extend13(const char *what)
{
	char *out = NULL;
	uint8_t d[32];
	char hex[65];

	digest_buf(hash_alg_by_name("sha256"), what, strlen(what), d);
	hex_encode(d, 32, hex);
	assert_int_equal(
		sh(&out, "TPM2TOOLS_TCTI='%s' tpm2_pcrextend 13:sha256=%s", sealtpm.tcti, hex), 0);
	free(out);
}

/* The TPM's current values of SEAL_SEL (PCR 13 extended by @then when given) as JSON. */
static void write_values(const char *path, const char *then)
{
	struct pcr_selection sel;
	struct pcr_banks v;
	struct tpm *tpm;
	struct jw j;
	FILE *f = fopen(path, "w");

	assert_int_equal(pcr_selection_parse(SEAL_SEL, &sel), 0);
	assert_int_equal(tpm_open(sealtpm.tcti, 0, &tpm), 0);
	assert_int_equal(tpm_pcr_read(tpm, &sel, &v, NULL), 0);
	tpm_close(tpm);
	if (then) {
		uint8_t d[32];
		digest_buf(hash_alg_by_name("sha256"), then, strlen(then), d);
		pcr_bank_extend(&v.bank[0], 13, d);
	}
	jw_init(&j, f);
	jw_object_begin(&j);
	jw_key(&j, "pcrs");
	pcr_banks_json(&j, &v, sel.bank[0].mask, false);
	jw_object_end(&j);
	jw_finish(&j);
	fclose(f);
}

/*
 * tpm2-tools, not our code, unseals the container's key from its sealed key
 * file (SRK from the TCG template, PolicyPCR + PolicyNV session), and
 * cryptsetup checks that it opens the data image.  Returns the passphrase (hex).
 */
static char *tpm2_tools_unseal_opens(const char *sdata, const char *c)
{
	char path[512], work[256], *out = NULL, *pass = NULL;
	struct sealed_file f;

	snprintf(path, sizeof(path), "%s/containers/%s.sealed", sdata, c);
	assert_int_equal(sealed_file_load(path, &f), 0);
	snprintf(work, sizeof(work), "%s/t2", dir);
	mkdir(work, 0700);
	snprintf(path, sizeof(path), "%s/pub", work);
	assert_int_equal(file_write_atomic(path, f.obj.pub, f.obj.pub_len, 0600), 0);
	snprintf(path, sizeof(path), "%s/priv", work);
	assert_int_equal(file_write_atomic(path, f.obj.priv, f.obj.priv_len, 0600), 0);
	/* the revocation counter's value sealed to: PolicyNV's operandB (8 bytes, big-endian) */
	assert_int_not_equal(f.counter.index, 0);
	uint8_t operand[8];
	for (unsigned i = 0; i < 8; i++)
		operand[i] = (uint8_t)(f.counter.value >> (56 - 8 * i));
	snprintf(path, sizeof(path), "%s/operand", work);
	assert_int_equal(file_write_atomic(path, operand, 8, 0600), 0);
	if (sh(&out,
	       "cd %s && export TPM2TOOLS_TCTI='%s' && "
	       /*
		* the TCG template's unique: x and y of 32 zero bytes, given as
		* tpm2-tools reads it, the C struct (sizes little-endian, 128-byte buffers)
		*/
	       "{ printf '\\040\\000'; head -c 128 /dev/zero; printf '\\040\\000'; "
	       "head -c 128 /dev/zero; } > unique && "
	       "tpm2_createprimary -Q -C o -G ecc256:aes128cfb -g sha256 -u unique -c srk.ctx -a "
	       "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' && "
	       "tpm2_flushcontext -t && tpm2_load -Q -C srk.ctx -u pub -r priv -c obj.ctx && "
	       "tpm2_flushcontext -t && "
	       "tpm2_startauthsession -Q --policy-session -S s.ctx && "
	       "tpm2_policypcr -Q -S s.ctx -l %s && "
	       "tpm2_policynv -Q -S s.ctx -i operand 0x%08x eq && "
	       "tpm2_unseal -c obj.ctx -p session:s.ctx -o key && tpm2_flushcontext s.ctx && "
	       "tpm2_flushcontext -t && "
	       /* the passphrase, then the config it is bound to: sha256sum of the stored one */
	       "head -c 64 key > pass && "
	       "test \"$(tail -c 32 key | xxd -p -c 32)\" = "
	       "\"$(sha256sum %s/containers/%s.conf | cut -c1-64)\" && "
	       "cryptsetup open --test-passphrase --key-file pass %s/containers/%s/data.img 2>&1",
	       work, sealtpm.tcti, SEAL_SEL, f.counter.index, sdata, c, sdata, c) != 0)
		fail_msg("tpm2-tools unseal + cryptsetup: %s", out);
	free(out);
	assert_int_equal(sh(&pass, "cat %s/pass", work), 0);
	assert_int_equal(strlen(pass), 64);
	sh(NULL, "rm -rf %s", work);
	return pass;
}

/*
 * What a change_pin that stopped between writing the new key file and
 * stepping the counter leaves: a key file sealed (same passphrase, no PIN) to
 * the counter's next value.  Made here with the library, as cmld would.
 */
static void leave_interrupted_reseal(const char *sdata, const char *c, uint64_t *ret_value)
{
	char path[512];
	struct sealed_file f;
	struct policy p;
	struct tpm *tpm;
	uint8_t pass[SEAL_SECRET_MAX];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/containers/%s.sealed", sdata, c);
	assert_int_equal(sealed_file_load(path, &f), 0);
	assert_int_equal(tpm_open(sealtpm.tcti, 0, &tpm), 0);
	assert_int_equal(tpm_unseal(tpm, &f.obj, &f.pcrs, NULL, &f.counter, NULL, pass, &len), 0);
	f.counter.value++;
	policy_init(&p, hash_alg_by_name("sha256"));
	assert_int_equal(policy_pcr(&p, &f.pcrs, &f.values), 0);
	assert_int_equal(policy_seal_counter(&p, &f.counter), 0);
	memcpy(f.policy, p.digest, 32);
	assert_int_equal(tpm_seal(tpm, pass, len, f.policy, NULL, &f.obj), 0);
	tpm_close(tpm);
	assert_int_equal(sealed_file_save(path, &f), 0);
	*ret_value = f.counter.value;
}

static uint64_t counter_now(const char *sdata, const char *c)
{
	char path[512];
	struct sealed_file f;
	struct tpm *tpm;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/containers/%s.sealed", sdata, c);
	assert_int_equal(sealed_file_load(path, &f), 0);
	assert_int_equal(tpm_open(sealtpm.tcti, 0, &tpm), 0);
	assert_int_equal(tpm_nv_counter_read(tpm, f.counter.index, &v), 0);
	tpm_close(tpm);
	return v;
}

static void sealed_cmld_start(const char *sdata, const char *ssock, const char **extra)
{
	static char cel[160], profile[160], anchors[160];
	size_t n = 0;
	FILE *f;

	snprintf(anchors, sizeof(anchors), "%s/ca.pem", gos);
	snprintf(cel, sizeof(cel), "%s/measurements.cel", dir);
	snprintf(profile, sizeof(profile), "%s/seal.profile", dir);
	f = fopen(profile, "w");
	fprintf(f, "# test profile\npcrs = %s\npin = no\n", SEAL_SEL);
	fclose(f);
	cmld_extra[n++] = "--seal-profile";
	cmld_extra[n++] = profile;
	cmld_extra[n++] = "--tpm";
	cmld_extra[n++] = sealtpm.tcti;
	cmld_extra[n++] = "--cel";
	cmld_extra[n++] = cel;
	cmld_extra[n++] = "--luks-pbkdf2-iterations";
	cmld_extra[n++] = "1000";
	cmld_extra[n++] = "--trust-anchors"; /* the rootfs's, in the field */
	cmld_extra[n++] = anchors;
	for (size_t i = 0; extra && extra[i]; i++)
		cmld_extra[n++] = extra[i];
	cmld_extra[n] = NULL;
	cmld_start(sdata, ssock);
	cmld_extra[0] = NULL;
}

static void test_sealed(void **state)
{
	struct side_cmld side;
	char *sdata = side.data, *ssock = side.sock, path[512], *out = NULL;
	struct stat st;

	(void)state;
	have_dm = sh(NULL, "grep -qw device-mapper /proc/devices") == 0;
	assert_int_equal(swtpm_start(&sealtpm, true), 0);
	/* a container made while cmld had no TPM keeps working, unencrypted, once it has */
	side_cmld_begin(&side, "s");
	char *old = container_create("name: \"old\"\nguest_os: \"testos\"\ncolor: 0\n"
				     "token_type: NONE\n");
	/* and without a TPM, token type TPM is refused at create, by name */
	char tpmconf[160], *out0 = NULL;
	snprintf(tpmconf, sizeof(tpmconf), "%s/tpm.conf", dir);
	FILE *tf = fopen(tpmconf, "w");
	fputs("name: \"notpm\"\nguest_os: \"testos\"\ncolor: 0\ntoken_type: TPM\n", tf);
	fclose(tf);
	ctl(&out0, "create %s", tpmconf);
	if (!cmld_has_line(out0, "CMD_FAILED") || !strstr(out0, "needs cmld --tpm"))
		fail_msg("create token TPM without a TPM: %s", out0);
	free(out0);
	cmld_kill(SIGTERM);
	sealed_cmld_start(sdata, ssock, NULL);
	ctl_expect("CONTAINER_START_OK", "start %s", old);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", old);
	wait_state(old, "STOPPED");
	free(old);

	/* token NONE: sealed to the PCRs as they are */
	char *c = container_create(
		"name: \"vault\"\nguest_os: \"testos\"\ncolor: 0\ntoken_type: NONE\n");
	snprintf(path, sizeof(path), "%s/containers/%s.sealed", sdata, c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	expect_unlocked(c);
	assert_int_equal(
		sh(&out, "cryptsetup isLuks --type luks2 %s/containers/%s/data.img", sdata, c), 0);
	free(out);
	free(tpm2_tools_unseal_opens(sdata, c));

	/* the chain changes: refused, and the reason names the PCR */
	tpm_extend13("another rootfs");
	ctl(&out, "start %s", c);
	if (!cmld_has_line(out, "CONTAINER_START_UNLOCK_FAILED") ||
	    !strstr(out, "PCR policy does not hold: sha256 PCR 13 differs"))
		fail_msg("start after PCR 13 changed: %s", out);
	free(out);
	wait_state(c, "STOPPED");

	/* token TPM: the PIN is part of the policy, the TPM counts wrong ones */
	char *t = container_create(
		"name: \"pinned\"\nguest_os: \"testos\"\ncolor: 0\ntoken_type: TPM\n");
	expect_unlocked(t); /* default PIN trustme */
	set_pins("wrong\n");
	ctl_expect("CONTAINER_START_PASSWD_WRONG", "start %s", t);
	/* the attacker keeps a copy of the key file while the PIN is trustme */
	char keyfile[512];
	snprintf(keyfile, sizeof(keyfile), "%s/containers/%s.sealed", sdata, t);
	assert_int_equal(sh(NULL, "cp %s %s/old.sealed", keyfile, dir), 0);
	set_pins("trustme\n2468\n");
	ctl_expect("CONTAINER_CHANGE_PIN_SUCCESSFUL", "change_pin %s", t);
	set_pins("2468\n");
	expect_unlocked(t);
	set_pins("trustme\n");
	ctl_expect("CONTAINER_START_PASSWD_WRONG", "start %s", t);
	/* change_pin revoked the copy: put back, with its PIN, it is refused by name */
	assert_int_equal(
		sh(NULL, "cp %s %s/new.sealed && cp %s/old.sealed %s", keyfile, dir, dir, keyfile),
		0);
	ctl(&out, "start %s", t);
	if (!cmld_has_line(out, "CONTAINER_START_UNLOCK_FAILED") ||
	    !strstr(out, "revoked: sealed at NV counter"))
		fail_msg("start with the saved key file and its old PIN: %s", out);
	free(out);
	wait_state(t, "STOPPED");
	/* nor does it serve to change the PIN again */
	set_pins("trustme\n1357\n");
	ctl(&out, "change_pin %s", t);
	if (!cmld_has_line(out, "CONTAINER_CHANGE_PIN_FAILED") || !strstr(out, "revoked"))
		fail_msg("change_pin with the saved key file: %s", out);
	free(out);
	assert_int_equal(sh(NULL, "cp %s/new.sealed %s", dir, keyfile), 0);
	set_pins("2468\n");
	expect_unlocked(t);
	set_pins("trustme\n");

	/* sealed to pcrpredict's values before they hold */
	char ref[160];
	snprintf(ref, sizeof(ref), "%s/reference.json", dir);
	write_values(ref, "rootfs v2");
	cmld_kill(SIGTERM);
	const char *with_ref[] = {"--seal-reference", ref, NULL};
	sealed_cmld_start(sdata, ssock, with_ref);
	char *p = container_create("name: \"ahead\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "token_type: NONE\n");
	ctl(&out, "start %s", p);
	if (!cmld_has_line(out, "CONTAINER_START_UNLOCK_FAILED") || !strstr(out, "PCR 13 differs"))
		fail_msg("start before the predicted chain: %s", out);
	free(out);
	tpm_extend13("rootfs v2");
	expect_unlocked(p);

	/* vendor-signed policies: PolicyAuthorize, no re-sealing across an update */
	char key[160], sdir[160], vals[160];
	snprintf(key, sizeof(key), "%s/vendor.pem", dir);
	snprintf(sdir, sizeof(sdir), "%s/signed", dir);
	snprintf(vals, sizeof(vals), "%s/now.json", dir);
	assert_int_equal(sh(NULL,
			    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
			    "%s && mkdir -p %s",
			    key, sdir),
			 0);
	cmld_kill(SIGTERM);
	const char *with_signer[] = {"--policy-signer", key, "--signed-policies", sdir, NULL};
	sealed_cmld_start(sdata, ssock, with_signer);
	char *v = container_create("name: \"vendor\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "token_type: NONE\n");
	ctl(&out, "start %s", v);
	if (!cmld_has_line(out, "CONTAINER_START_UNLOCK_FAILED") ||
	    !strstr(out, "no signed policy approves"))
		fail_msg("start without a signed policy: %s", out);
	free(out);
	write_values(vals, NULL);
	assert_int_equal(sh(&out, "%s sign --key %s --pcrs %s --values %s --out %s/r1.json",
			    bin_path("pcrpredict"), key, SEAL_SEL, vals, sdir),
			 0);
	free(out);
	expect_unlocked(v);
	/* release 2 signed before it boots; release 1's approval stops fitting */
	write_values(vals, "rootfs v3");
	assert_int_equal(sh(&out, "%s sign --key %s --pcrs %s --values %s --out %s/r2.json",
			    bin_path("pcrpredict"), key, SEAL_SEL, vals, sdir),
			 0);
	free(out);
	tpm_extend13("rootfs v3");
	expect_unlocked(v);
	/* a chain nobody signed */
	tpm_extend13("rootfs nobody signed");
	ctl(&out, "start %s", v);
	if (!cmld_has_line(out, "CONTAINER_START_UNLOCK_FAILED") || !strstr(out, "PCR 13 differs"))
		fail_msg("start on an unsigned chain: %s", out);
	free(out);

	/* PCR 11: the log replays to the TPM's value, and pcrpredict cml predicts it */
	char *s = container_create("name: \"measured\"\nguest_os: \"testos\"\ncolor: 0\n");
	char before[160], *want = NULL, *got = NULL, *replay = NULL;
	snprintf(before, sizeof(before), "%s/pcr11.json", dir);
	sh(&out, "TPM2TOOLS_TCTI='%s' tpm2_pcrread sha256:11 | awk '$1 == \"11:\" {print $2}'",
	   sealtpm.tcti);
	FILE *bf = fopen(before, "w");
	fprintf(bf, "{\"pcrs\":{\"sha256\":{\"11\":\"%.64s\"}}}\n", out + 2);
	fclose(bf);
	free(out);
	set_pins("trustme\n");
	ctl_expect("CONTAINER_START_OK", "start %s", s);
	ctl_expect("CONTAINER_STOP_OK", "stop %s", s);
	wait_state(s, "STOPPED");
	assert_int_equal(sh(&want,
			    "%s cml --guestos %s/testos.conf --container %s/containers/%s.conf "
			    "--values %s | awk '{print $3}'",
			    bin_path("pcrpredict"), gos, sdata, s, before),
			 0);
	sh(&got,
	   "TPM2TOOLS_TCTI='%s' tpm2_pcrread sha256:11 | awk '$1 == \"11:\" {print "
	   "tolower(substr($2, 3))}'",
	   sealtpm.tcti);
	assert_int_equal(sh(&replay,
			    "%s log --json %s/measurements.cel | jq -r '.pcrs.sha256[\"11\"]'",
			    bin_path("attest"), dir),
			 0);
	assert_string_equal(want, got);
	assert_string_equal(replay, got);
	free(want);
	free(replay);
	/*
	 * and by hand, from sha256sum of the GuestOS image and of the config as
	 * cmld stores it (its canonical text form), extended with openssl
	 */
	assert_int_equal(sh(&want,
			    "v=$(jq -r '.pcrs.sha256[\"11\"]' %s); for d in $(sha256sum "
			    "%s/images-testos-2/root.img %s/containers/%s.conf | cut -c1-64); do "
			    "v=$(printf %%s%%s $v $d | xxd -r -p | openssl dgst -sha256 -r | "
			    "cut -c1-64); done; echo $v",
			    before, gos, sdata, s),
			 0);
	assert_string_equal(want, got);
	free(want);
	free(got);

	/*
	 * remove revokes: a removed container's files, restored from a backup
	 * (config, key file, data image), no longer open
	 */
	cmld_kill(SIGTERM);
	sealed_cmld_start(sdata, ssock, NULL);
	char *g = container_create("name: \"gone\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "token_type: NONE\n");
	expect_unlocked(g);
	/* an interrupted change_pin: the next start makes the counter step itself */
	uint64_t ahead;
	leave_interrupted_reseal(sdata, g, &ahead);
	assert_int_equal(counter_now(sdata, g), ahead - 1);
	expect_unlocked(g);
	assert_int_equal(counter_now(sdata, g), ahead);
	assert_int_equal(sh(NULL,
			    "mkdir -p %s/backup && cp -a %s/containers/%s %s/containers/%s.* "
			    "%s/backup/",
			    dir, sdata, g, sdata, g, dir),
			 0);
	ctl_expect("CMD_OK", "remove %s", g);
	assert_int_equal(sh(NULL, "cp -a %s/backup/. %s/containers/", dir, sdata), 0);
	cmld_kill(SIGTERM);
	sealed_cmld_start(sdata, ssock, NULL);
	ctl(&out, "start %s", g);
	if (!cmld_has_line(out, "CONTAINER_START_UNLOCK_FAILED") || !strstr(out, "revoked") ||
	    !strstr(out, "is gone"))
		fail_msg("start of a removed container restored from backup: %s", out);
	free(out);
	wait_state(g, "STOPPED");
	ctl_expect("CMD_OK", "remove %s", g); /* its counter is gone already: fine */
	free(g);

	/* the lockout last: it blocks every PIN object of this TPM */
	cmld_kill(SIGTERM);
	sealed_cmld_start(sdata, ssock, NULL);
	free(t);
	t = container_create("name: \"locked\"\nguest_os: \"testos\"\ncolor: 0\n"
			     "token_type: TPM\n");
	set_pins("wrong\n");
	bool locked = false;
	for (int i = 0; i < 64 && !locked; i++) {
		ctl(&out, "start %s", t);
		locked = cmld_has_line(out, "CONTAINER_LOCKED_TILL_REBOOT");
		if (!locked && !cmld_has_line(out, "CONTAINER_START_PASSWD_WRONG"))
			fail_msg("wrong PIN %d: %s", i, out);
		free(out);
	}
	assert_true(locked);
	set_pins("2468\n");
	ctl_expect("CONTAINER_LOCKED_TILL_REBOOT", "start %s", t);
	set_pins("trustme\n");

	side_cmld_end(&side);
	swtpm_stop(&sealtpm);
	free(c);
	free(t);
	free(p);
	free(v);
	free(s);
}

/*
 * The start must be refused, naming @reason, before the key is released:
 * no mapping, the passphrase @pass nowhere in the answer or cmld's log.
 */
static void expect_refused(const char *c, const char *answer, const char *reason, const char *pass)
{
	char *out = NULL;

	ctl(&out, "start %s", c);
	if (!cmld_has_line(out, answer) || !strstr(out, reason) || strstr(out, "device-mapper") ||
	    strstr(out, pass))
		fail_msg("start %s: wanted %s naming \"%s\" before any unlock, got: %s", c, answer,
			 reason, out);
	free(out);
	wait_state(c, "STOPPED");
	assert_int_not_equal(sh(NULL, "ls /dev/mapper 2>/dev/null | grep -q cml-%s", c), 0);
	assert_int_not_equal(sh(NULL, "grep -q %s %s/cmld.log", pass, dir), 0);
}

/*
 * The attacker sealing is for: the data partition edited while cmld is not
 * running, the TPM, the rootfs and its trust anchors genuine.  Every edit
 * stops the start: the GuestOS config (unsigned, or re-signed under a CA the
 * attacker registered on that partition), a GuestOS image, the container's
 * config.  update_config re-binds the key; provisioned, it may not weaken
 * isolation.
 */
static void test_offline_edits(void **state)
{
	struct side_cmld side;
	char *sdata = side.data, *ssock = side.sock, g[256], *out = NULL, *pass, *pass2;

	(void)state;
	assert_int_equal(swtpm_start(&sealtpm, true), 0);
	side_cmld_begin(&side, "o");
	cmld_kill(SIGTERM);
	sealed_cmld_start(sdata, ssock, NULL);
	char *c = container_create("name: \"bound\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "token_type: NONE\n");
	expect_unlocked(c);
	pass = tpm2_tools_unseal_opens(sdata, c);
	snprintf(g, sizeof(g), "%s/guestos/testos", sdata);
	assert_int_equal(sh(NULL,
			    "cp -a %s %s/sgos-saved && cp %s/containers/%s.conf %s/saved.conf", g,
			    dir, sdata, c, dir),
			 0);
#define OFFLINE(...)                                        \
	do {                                                \
		cmld_kill(SIGTERM);                         \
		assert_int_equal(sh(NULL, __VA_ARGS__), 0); \
		sealed_cmld_start(sdata, ssock, NULL);      \
	} while (0)
#define RESTORE_GUESTOS() OFFLINE("rm -rf %s && cp -a %s/sgos-saved %s", g, dir, g)

	/* (a) the GuestOS config edited, not re-signed */
	OFFLINE("sed -i 's/^version: 2/version: 9/' %s/testos.conf", g);
	expect_refused(c, "CONTAINER_START_EINTERNAL",
		       "GuestOS testos: its signature: signature does not verify", pass);
	/*
	 * (a) another GuestOS "testos", signed under the attacker's own CA (its
	 * own name: not mistaken for the anchor), registered offline
	 */
	RESTORE_GUESTOS();
	OFFLINE("mkdir -p %s/evil && GOS_CA_SUBJECT=/CN=attacker tests/harness/mkguestos.sh "
		"%s/evil testos 3 >/dev/null && "
		"cp %s/evil/ca.pem %s/tokens/ca/evil.pem && cp %s/evil/testos.conf "
		"%s/evil/testos.sig %s/evil/testos.cert %s/ && "
		"cp %s/evil/images-testos-3/root.img %s/root.img",
		dir, dir, dir, sdata, dir, dir, dir, g, dir, g);
	expect_refused(c, "CONTAINER_START_EINTERNAL",
		       "certificate not trusted by the trust anchors", pass);
	/* (b) a GuestOS image changed on disk, the config genuine */
	RESTORE_GUESTOS();
	OFFLINE("printf X | dd of=%s/root.img bs=1 seek=2000 conv=notrunc 2>/dev/null", g);
	expect_refused(c, "CONTAINER_START_EINTERNAL", "image 'root': SHA-256", pass);
	RESTORE_GUESTOS();
	expect_unlocked(c);

	/* (c) the container's config edited: no user namespace, a host interface */
	OFFLINE("echo 'userns: false' >> %s/containers/%s.conf", sdata, c);
	expect_refused(c, "CONTAINER_START_UNLOCK_FAILED",
		       "the config is not the one its key is bound to", pass);
	OFFLINE("cp %s/saved.conf %s/containers/%s.conf && echo 'net_ifaces: \"lo\"' >> "
		"%s/containers/%s.conf",
		dir, sdata, c, sdata, c);
	expect_refused(c, "CONTAINER_START_UNLOCK_FAILED",
		       "the config is not the one its key is bound to", pass);
	OFFLINE("cp %s/saved.conf %s/containers/%s.conf", dir, sdata, c);
	expect_unlocked(c);

	/* update_config re-binds the same key to the new config (tpm2-tools checks the digest) */
	const char *conf = write_conf("b2.conf", "name: \"bound\"\nguest_os: \"testos\"\n"
						 "color: 0\ntoken_type: NONE\nram_limit: 256\n");
	ctl_expect("# uuid ", "update_config %s %s", c, conf);
	expect_unlocked(c);
	pass2 = tpm2_tools_unseal_opens(sdata, c);
	assert_string_equal(pass, pass2);
	free(pass2);

	/* token type TPM: re-binding takes the PIN, checked by the TPM */
	char *t = container_create("name: \"pinbound\"\nguest_os: \"testos\"\ncolor: 0\n"
				   "token_type: TPM\n");
	expect_unlocked(t);
	conf = write_conf("t2.conf", "name: \"pinbound\"\nguest_os: \"testos\"\ncolor: 0\n"
				     "token_type: TPM\nram_limit: 64\n");
	assert_int_equal(sh(&out, "%s --socket %s update_config %s %s 2>&1 </dev/null",
			    bin_path("control"), sock, t, conf),
			 1);
	if (!cmld_has_line(out, "CMD_FAILED") || !strstr(out, "needs its PIN"))
		fail_msg("update_config of a PIN-sealed container without a PIN: %s", out);
	free(out);
	set_pins("wrong\n");
	ctl_refused("CMD_FAILED", "re-sealing the key to the new config: wrong PIN",
		    "update_config %s %s", t, conf);
	set_pins("trustme\n");
	ctl_expect("# uuid ", "update_config %s %s", t, conf);
	expect_unlocked(t);
	ctl_expect("ram_limit: 64", "config %s", t);
	free(t);

	/* (d) provisioned: update_config may not weaken isolation */
	ctl_expect("CMD_OK", "set_provisioned");
	sh(&out, "sha256sum < %s/containers/%s.conf", sdata, c);
	conf = write_conf("weak.conf", "name: \"bound\"\nguest_os: \"testos\"\ncolor: 0\n"
				       "token_type: NONE\nram_limit: 256\nuserns: false\n");
	ctl_refused("CMD_FAILED",
		    "update_config on a provisioned device may not weaken isolation: userns true "
		    "-> false",
		    "update_config %s %s", c, conf);
	conf = write_conf("weak.conf", "name: \"bound\"\nguest_os: \"testos\"\ncolor: 0\n"
				       "token_type: NONE\nram_limit: 256\nnet_ifaces: \"lo\"\n");
	ctl_refused("CMD_FAILED", "net_ifaces + lo", "update_config %s %s", c, conf);
	char *now = NULL;
	sh(&now, "sha256sum < %s/containers/%s.conf", sdata, c);
	assert_string_equal(out, now); /* nothing stored */
	free(out);
	free(now);
	conf = write_conf("b3.conf", "name: \"bound\"\nguest_os: \"testos\"\ncolor: 0\n"
				     "token_type: NONE\nram_limit: 128\n");
	ctl_expect("# uuid ", "update_config %s %s", c, conf);
	expect_unlocked(c);
#undef RESTORE_GUESTOS
#undef OFFLINE
	side_cmld_end(&side);
	swtpm_stop(&sealtpm);
	free(pass);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_freeze_unfreeze),
		cmocka_unit_test(test_pin_and_lockout),
		cmocka_unit_test(test_change_pin),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_guestos_refusals),
		cmocka_unit_test(test_two_containers),
		cmocka_unit_test(test_init_crash),
		cmocka_unit_test(test_cmld_restart),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_vtpm),
		cmocka_unit_test(test_setup_mode),
		cmocka_unit_test(test_paths_confined),
		cmocka_unit_test(test_trust_level),
		cmocka_unit_test(test_uid_ranges),
		cmocka_unit_test(test_provisioned),
		cmocka_unit_test(test_sealed),
		cmocka_unit_test(test_offline_edits),
	};
	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER=test_vtpm */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
