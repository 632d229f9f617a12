// SPDX-License-Identifier: MIT
/*
 * cmld as two processes, against the real binary (root): the control
 * process runs unprivileged and sandboxed; when it dies or is taken over the
 * root parent kills it, starts another and keeps serving.  The takeover is
 * played for real: the test takes a copy of the control process's end of the
 * channel (pidfd_getfd) and sends what a captured control process could
 * send.  A client that never reads its answers does not stop cmld serving
 * another.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "chan.h"
#include "cm_msg.h"
#include "cmldrun.h"
#include "control.pb-c.h"
#include "frame.h"
#include "testutil.h"

static char dir[64], data[100], sock[100], logpath[100];
static pid_t cmld_pid;

static int setup(void **state)
{
	char run[160];
	const char *argv[] = {"cmld", "--data-dir", data, "--socket", sock, "--run-dir", run, NULL};

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-privsep.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(logpath, sizeof(logpath), "%s/cmld.log", dir);
	cmld_pid = cmld_spawn(argv, logpath, sock);
	return cmld_pid > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cmld_reap(cmld_pid, SIGTERM);
	if (sh(NULL, "grep -q Sanitizer %s", logpath) == 0) {
		sh(NULL, "cat %s >&2", logpath);
		return -1;
	}
	if (!getenv("KEEP_TMP"))
		sh(NULL, "rm -rf %s", dir);
	return 0;
}

static int64_t now_ms(void)
{
	return frame_now_ms();
}

/* The control process: cmld's child named cmld-control; 0 while there is none. */
static pid_t control_pid(void)
{
	char *out = NULL;
	pid_t pid = 0;

	sh(&out, "ps -o pid=,comm= --ppid %d | awk '$2 == \"cmld-control\" {print $1}'",
	   (int)cmld_pid);
	if (out)
		pid = (pid_t)atoi(out);
	free(out);
	return pid;
}

/* Waits up to 3 s for a control process other than @old. */
static pid_t control_pid_new(pid_t old)
{
	for (int i = 0; i < 300; i++) {
		pid_t p = control_pid();

		if (p > 0 && p != old)
			return p;
		usleep(10000);
	}
	fail_msg("no new control process after 3 s");
	return 0;
}

/* One request on its own connection; the answer decoded, or NULL. */
static DaemonToController *ask(ControllerToDaemon__Command cmd, int timeout_ms)
{
	ControllerToDaemon req = CONTROLLER_TO_DAEMON__INIT;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t buf[64], *body = NULL;
	size_t len;
	DaemonToController *m = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	req.command = cmd;
	len = controller_to_daemon__pack(&req, buf);
	if (frame_send(fd, buf, len, now_ms() + timeout_ms) < 0 ||
	    frame_recv(fd, 1 << 20, now_ms() + timeout_ms, &body, &len) < 0)
		goto out;
	m = daemon_to_controller__unpack(NULL, len, body);
out:
	free(body);
	if (fd >= 0)
		close(fd);
	return m;
}

/* cmld answers GET_PROVISIONED within @ms, retrying while a new control process starts. */
static void served_within(int ms)
{
	int64_t until = now_ms() + ms, t0 = now_ms();

	for (;;) {
		DaemonToController *m = ask(CONTROLLER_TO_DAEMON__COMMAND__GET_PROVISIONED,
					    (int)(until - now_ms()));

		if (m) {
			assert_int_equal(m->code,
					 DAEMON_TO_CONTROLLER__CODE__DEVICE_PROVISIONED_STATE);
			daemon_to_controller__free_unpacked(m, NULL);
			print_message("# served after %lld ms\n", (long long)(now_ms() - t0));
			return;
		}
		if (now_ms() >= until)
			fail_msg("cmld did not answer within %d ms", ms);
		usleep(20000);
	}
}

static char *status_field(pid_t pid, const char *field)
{
	char *out = NULL;

	sh(&out, "awk '$1 == \"%s:\" {$1=\"\"; print substr($0, 2)}' /proc/%d/status", field,
	   (int)pid);
	if (out)
		out[strcspn(out, "\n")] = '\0';
	return out;
}

static void test_two_processes(void **state)
{
	char *out = NULL, *uid, *nnp, *seccomp, *capeff, *capprm;
	pid_t child;

	(void)state;
	served_within(2000);
	child = control_pid_new(0);
	/* ps: the parent as root, its one child, the control process */
	assert_int_equal(
		sh(&out, "ps -o pid=,ppid=,uid=,comm= -p %d,%d", (int)cmld_pid, (int)child), 0);
	print_message("# ps:\n%s", out);
	free(out);
	uid = status_field(cmld_pid, "Uid");
	assert_string_equal(uid, "0 0 0 0");
	free(uid);
	uid = status_field(child, "Uid");
	nnp = status_field(child, "NoNewPrivs");
	seccomp = status_field(child, "Seccomp");
	capeff = status_field(child, "CapEff");
	capprm = status_field(child, "CapPrm");
	print_message("# control process %d: Uid %s NoNewPrivs %s Seccomp %s CapEff %s\n",
		      (int)child, uid, nnp, seccomp, capeff);
	assert_int_not_equal(atoi(uid), 0);
	assert_null(strstr(uid, " 0"));
	assert_string_equal(nnp, "1");
	assert_string_equal(seccomp, "2");
	assert_string_equal(capeff, "0000000000000000");
	assert_string_equal(capprm, "0000000000000000");
	free(uid);
	free(nnp);
	free(seccomp);
	free(capeff);
	free(capprm);
	/* the parent's descriptors (its data folder, the TPM) are not the child's */
	assert_int_equal(sh(&out, "ls /proc/%d/fd | wc -l", (int)child), 0);
	assert_true(atoi(out) <= 5); /* stdin, stdout, stderr, listener, channel */
	free(out);
}

static void test_killed_restarted(void **state)
{
	pid_t old, fresh;

	(void)state;
	old = control_pid_new(0);
	assert_int_equal(kill(old, SIGKILL), 0);
	fresh = control_pid_new(old);
	served_within(2000);
	assert_int_equal(kill(cmld_pid, 0), 0);
	assert_int_equal(
		sh(NULL, "grep -q 'control process %d killed by signal 9' %s", (int)old, logpath),
		0);
	assert_int_equal(control_pid(), fresh);
}

/* A client's bad message is the client's problem: answered, and the control process lives. */
static void test_client_errors_answered(void **state)
{
	pid_t child = control_pid_new(0);
	DaemonToController *m = ask((ControllerToDaemon__Command)10, 2000);

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->response, DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED);
	assert_string_equal(m->reason, "unknown command 10");
	daemon_to_controller__free_unpacked(m, NULL);
	served_within(2000);
	assert_int_equal(control_pid(), child);
}

/* The control process's end of the channel (SOCK_SEQPACKET), copied from it. */
static int steal_channel(pid_t child)
{
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);

	assert_true(pidfd >= 0);
	for (int fd = 3; fd < 64; fd++) {
		int type = 0;
		socklen_t len = sizeof(type);
		int got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

		if (got < 0)
			continue;
		if (getsockopt(got, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		    type == SOCK_SEQPACKET) {
			close(pidfd);
			return got;
		}
		close(got);
	}
	close(pidfd);
	fail_msg("no channel in control process %d", (int)child);
	return -1;
}

/* A captured control process sends @body as @type: killed, replaced, cmld serving. */
static void captured_sends(uint32_t type, const void *body, size_t len, const char *why)
{
	pid_t child = control_pid_new(0), fresh;
	int chan = steal_channel(child);
	int64_t t0;

	assert_int_equal(chan_send(chan, type, 7, body, len), 0);
	close(chan);
	t0 = now_ms();
	fresh = control_pid_new(child);
	print_message("# %s: control process %d replaced by %d after %lld ms\n", why, (int)child,
		      (int)fresh, (long long)(now_ms() - t0));
	assert_int_equal(sh(NULL, "grep -q 'control process %d: .*%s.*; starting a new one' %s",
			    (int)child, why, logpath),
			 0);
	served_within(2000);
}

static void test_captured_control_process(void **state)
{
	static struct cm_bad {
		uint8_t bytes[100];
	} short_body;
	static uint8_t request[sizeof(struct cm_msg_request)];

	(void)state;
	/* a request shorter than a request is */
	captured_sends(1, &short_body, sizeof(short_body), "message of type 1 with 100 bytes");
	/* a type the parent does not know */
	captured_sends(99, "abc", 3, "message of type 99 with 3 bytes");
	/* a parent's message type, sent the wrong way */
	captured_sends(3, NULL, 0, "message of type 3 with 0 bytes");
	/* the right length, a command that is none (struct cm_msg_request begins with it) */
	memset(request, 0, sizeof(request));
	request[0] = 0xff;
	request[1] = 0xff;
	captured_sends(CM_MSG_REQUEST, request, sizeof(struct cm_msg_request),
		       "request: command 65535");
}

/*
 * A client that sends and never reads: its answers queue in the control
 * process (bounded), an honest client is served meanwhile, and after the
 * write deadline (10 s) the stalled client is dropped.
 */
static void test_client_never_reads(void **state)
{
	ControllerToDaemon req = CONTROLLER_TO_DAEMON__INIT;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int small = 4096, fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t buf[64], sink[65536];
	size_t len;
	int64_t t0;
	ssize_t n = 0;

	pid_t child = control_pid_new(0);
	char *rss;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	req.command = CONTROLLER_TO_DAEMON__COMMAND__GET_DEVICE_STATS;
	len = controller_to_daemon__pack(&req, buf);
	for (int i = 0; i < 3000; i++)
		if (frame_send(fd, buf, len, now_ms() + 200) < 0)
			break; /* cmld stopped reading it: answers are queued to the limit */
	t0 = now_ms();
	served_within(2000);
	rss = status_field(child, "VmRSS");
	print_message("# control process with the answers queued: VmRSS %s\n", rss);
	assert_true(atoi(rss) < 64 * 1024); /* kB; the queue is bounded at 16 MiB */
	free(rss);
	/* nothing read for longer than the write deadline; then its end is found */
	while (now_ms() - t0 < 11000)
		usleep(100000);
	while (now_ms() - t0 < 15000) {
		n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		if (n < 0)
			usleep(50000);
	}
	print_message("# stalled client dropped after %lld ms\n", (long long)(now_ms() - t0));
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd);
	served_within(2000);
	assert_int_equal(control_pid(), child); /* dropping a client is not dying */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_killed_restarted),
		cmocka_unit_test(test_client_errors_answered),
		cmocka_unit_test(test_captured_control_process),
		cmocka_unit_test(test_client_never_reads),
	};

	if (geteuid() != 0) {
		printf("1..0 # skipped: needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
