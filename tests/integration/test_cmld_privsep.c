// SPDX-License-Identifier: MIT
/*
 * cmld as two processes, against the real binary (root): the control
 * process runs unprivileged and sandboxed; when it dies or is taken over the
 * root parent kills it, starts another and keeps serving.  The takeover is
 * played for real: the test takes a copy of the control process's end of the
 * channel (pidfd_getfd) and sends what a captured control process could
 * send.  A client that never reads its answers does not stop cmld serving
 * another.  The third process, cmld-verify, parses configs, certificates
 * and tokens for the parent: it runs as unprivileged, and a captured one
 * (its channel copied, the process stopped, the test answering in its
 * place) sees the client's config bytes as the client sent them, and the
 * parent refuses what it answers for other bytes, a "verified" nobody
 * asked for, a field out of range, a wrong message and silence.
 */
#include <errno.h>
#include <poll.h>
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

#include <openssl/evp.h>

#include "chan.h"
#include "cm_msg.h"
#include "cm_verify.h"
#include "container.pb-c.h"
#include "err.h"
#include "pbtext.h"
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

/* cmld's child named @comm; 0 while there is none. */
static pid_t child_named(const char *comm)
{
	char *out = NULL;
	pid_t pid = 0;

	sh(&out, "ps -o pid=,comm= --ppid %d | awk '$2 == \"%s\" {print $1}'", (int)cmld_pid, comm);
	if (out)
		pid = (pid_t)atoi(out);
	free(out);
	return pid;
}

/* The control process: cmld's child named cmld-control; 0 while there is none. */
static pid_t control_pid(void)
{
	return child_named("cmld-control");
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
	assert_true(atoi(out) <= 6); /* stdin, stdout, stderr, listener, channel, epoll */
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

/* The system call @pid waits in (/proc/PID/syscall), -1 when it runs. */
static long waiting_in(pid_t pid)
{
	char *out = NULL;
	long nr = -1;

	if (sh(&out, "cat /proc/%d/syscall", (int)pid) == 0 && out[0] >= '0' && out[0] <= '9')
		nr = atol(out);
	free(out);
	return nr;
}

/*
 * A control process that stops reading (stopped, while a copy of it floods
 * the channel with requests): the parent queues the answers instead of
 * waiting in a send, so its loop goes on, and after 5 s without progress it
 * replaces the control process.
 */
static void test_control_process_stops_reading(void **state)
{
	static uint8_t request[sizeof(struct cm_msg_request)];
	pid_t child = control_pid_new(0), fresh = 0;
	int chan = steal_channel(child);
	uint32_t cmd = CONTROLLER_TO_DAEMON__COMMAND__GET_PROVISIONED;
	int64_t t0;
	long nr;

	(void)state;
	memcpy(request, &cmd, sizeof(cmd)); /* struct cm_msg_request begins with the command */
	assert_int_equal(kill(child, SIGSTOP), 0);
	/* far more answers than the channel holds (its send buffer: about 200 small ones) */
	for (int i = 0; i < 2000; i++) {
		int rc;

		while ((rc = chan_send(chan, CM_MSG_REQUEST, 7, request, sizeof(request))) ==
		       -EAGAIN)
			usleep(1000);
		assert_int_equal(rc, 0);
	}
	t0 = now_ms();
	usleep(500000);
	nr = waiting_in(cmld_pid);
	print_message("# parent with 2000 answers unread: in system call %ld\n", nr);
	assert_true(nr == SYS_epoll_wait || nr == SYS_epoll_pwait); /* not in sendmsg */
	while (now_ms() - t0 < 10000 && ((fresh = control_pid()) == child || fresh == 0))
		usleep(20000);
	print_message("# control process %d replaced by %d after %lld ms\n", (int)child, (int)fresh,
		      (long long)(now_ms() - t0));
	assert_true(fresh > 0 && fresh != child);
	assert_int_equal(sh(NULL,
			    "grep -q 'control process %d: it took no answer for 5 s; starting a "
			    "new one' %s",
			    (int)child, logpath),
			 0);
	close(chan);
	served_within(2000);
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

/* ---- the verify process ---- */

/* A CREATE_CONTAINER of @text (with a junk signature when @sig) sent on a new connection. */
static int send_create(const char *text, bool sig)
{
	static uint8_t junk_sig[] = {1, 2, 3}, junk_cert[] = "PEM";
	ControllerToDaemon req = CONTROLLER_TO_DAEMON__INIT;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t buf[4096];
	size_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	req.command = CONTROLLER_TO_DAEMON__COMMAND__CREATE_CONTAINER;
	req.has_container_config_file = 1;
	req.container_config_file = (ProtobufCBinaryData){strlen(text), (uint8_t *)text};
	if (sig) {
		req.has_container_config_signature = req.has_container_config_certificate = 1;
		req.container_config_signature = (ProtobufCBinaryData){sizeof(junk_sig), junk_sig};
		req.container_config_certificate =
			(ProtobufCBinaryData){sizeof(junk_cert) - 1, junk_cert};
	}
	len = controller_to_daemon__pack(&req, buf);
	assert_int_equal(frame_send(fd, buf, len, now_ms() + 2000), 0);
	return fd;
}

/* The answer on @fd, within @ms. */
static DaemonToController *answer(int fd, int ms)
{
	uint8_t *body = NULL;
	size_t len;
	DaemonToController *m = NULL;

	if (frame_recv(fd, 1 << 20, now_ms() + ms, &body, &len) == 0)
		m = daemon_to_controller__unpack(NULL, len, body);
	free(body);
	close(fd);
	return m;
}

/* The verify process; one is there once cmld started, or after the next call. */
static pid_t verify_pid_new(pid_t old)
{
	for (int i = 0; i < 300; i++) {
		pid_t p = child_named("cmld-verify");

		if (p > 0 && p != old)
			return p;
		if (i == 0 && old) { /* it starts at the next call */
			DaemonToController *m = answer(send_create("name: 1", false), 3000);

			if (m)
				daemon_to_controller__free_unpacked(m, NULL);
		}
		usleep(10000);
	}
	fail_msg("no verify process after 3 s");
	return 0;
}

static void test_verify_process(void **state)
{
	char *out = NULL, *uid, *nnp, *seccomp, *capeff, *capprm;
	pid_t v = verify_pid_new(0);

	(void)state;
	assert_int_equal(sh(&out, "ps -o pid=,ppid=,uid=,comm= --ppid %d", (int)cmld_pid), 0);
	print_message("# cmld's children:\n%s", out);
	free(out);
	uid = status_field(v, "Uid");
	nnp = status_field(v, "NoNewPrivs");
	seccomp = status_field(v, "Seccomp");
	capeff = status_field(v, "CapEff");
	capprm = status_field(v, "CapPrm");
	print_message("# verify process %d: Uid %s NoNewPrivs %s Seccomp %s CapEff %s\n", (int)v,
		      uid, nnp, seccomp, capeff);
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
	/* nothing of the parent's: stdin, stdout, stderr, the channel, its epoll */
	assert_int_equal(sh(&out, "ls /proc/%d/fd | wc -l", (int)v), 0);
	assert_true(atoi(out) <= 5);
	free(out);
}

/* One message from the stolen verify channel, within 3 s. */
static int recv_within(int chan, struct chan_hdr *hdr, void *body, size_t cap)
{
	struct pollfd p = {.fd = chan, .events = POLLIN};

	if (poll(&p, 1, 3000) != 1)
		return -ETIMEDOUT;
	return chan_recv(chan, hdr, body, cap);
}

enum forgery {
	FORGE_OTHER_BYTES, /* a valid config, for other bytes than the client's */
	FORGE_VERIFIED,	   /* "verified" where no signature was given */
	FORGE_OUT_LEN,	   /* more output than any answer may carry */
	FORGE_WRONG_TYPE,  /* data where the answer belongs */
	FORGE_SILENCE,	   /* nothing at all */
};

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned n = 32;

	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
}

/*
 * A captured verify process answers a create of @text as @f says: the
 * parent refuses (the client is told why, naming @why), kills it, stores
 * nothing, and the next call is served by a new one.
 */
static void captured_verify(const char *text, bool sig, enum forgery f, const char *why)
{
	static struct cm_vreq req;
	static struct cm_vrep rep;
	static uint8_t in[8192];
	ContainerConfig cfg = CONTAINER_CONFIG__INIT;
	uint8_t out[256];
	size_t out_len, got = 0, total;
	struct chan_hdr hdr;
	DaemonToController *m;
	pid_t v = verify_pid_new(0);
	int chan = steal_channel(v), fd;
	int64_t t0;
	char *listing = NULL;

	assert_int_equal(kill(v, SIGSTOP), 0);
	fd = send_create(text, sig);
	/* the parent forwards the client's bytes as they came: it parsed nothing */
	assert_int_equal(recv_within(chan, &hdr, &req, sizeof(req)), 0);
	assert_int_equal(hdr.type, CM_VMSG_REQ);
	assert_int_equal(hdr.len, sizeof(req));
	assert_int_equal(req.op, CM_VOP_CONTAINER);
	assert_int_equal(req.trust, sig ? CM_VTRUST_ANY : CM_VTRUST_NONE);
	assert_int_equal(req.len[0], strlen(text));
	total = req.len[0] + req.len[1] + req.len[2];
	while (got < total) {
		struct chan_hdr dh;
		assert_int_equal(recv_within(chan, &dh, in + got, sizeof(in) - got), 0);
		assert_int_equal(dh.type, CM_VMSG_DATA);
		got += dh.len;
	}
	assert_memory_equal(in, text, strlen(text));
	/* what a captured one answers */
	cfg.name = "evil";
	cfg.guest_os = "none";
	out_len = container_config__pack(&cfg, out);
	memset(&rep, 0, sizeof(rep));
	sha256(text, strlen(text), rep.digest);
	rep.out_len = (uint32_t)out_len;
	switch (f) {
	case FORGE_OTHER_BYTES:
		sha256("name: \"evil\" guest_os: \"none\"", 29, rep.digest);
		rep.verified = sig;
		break;
	case FORGE_VERIFIED:
		rep.verified = 1;
		break;
	case FORGE_OUT_LEN:
		rep.out_len = CM_VERIFY_OUT_MAX + 1;
		break;
	case FORGE_WRONG_TYPE:
	case FORGE_SILENCE:
		break;
	}
	t0 = now_ms();
	if (f == FORGE_WRONG_TYPE)
		assert_int_equal(chan_send(chan, CM_VMSG_DATA, hdr.id, out, out_len), 0);
	if (f != FORGE_WRONG_TYPE && f != FORGE_SILENCE) {
		assert_int_equal(chan_send(chan, CM_VMSG_REP, hdr.id, &rep, sizeof(rep)), 0);
		/* the parent may have refused the answer (and closed) before the data */
		chan_send(chan, CM_VMSG_DATA, hdr.id, out, out_len);
	}
	m = answer(fd, CM_VERIFY_TIMEOUT_MS + 3000);
	assert_non_null(m);
	print_message("# %s: answered after %lld ms: %s\n", why, (long long)(now_ms() - t0),
		      m->reason);
	assert_int_equal(m->response, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED);
	assert_non_null(strstr(m->reason, "the verify process failed: "));
	assert_non_null(strstr(m->reason, why));
	daemon_to_controller__free_unpacked(m, NULL);
	assert_int_equal(sh(NULL, "grep -q 'verify process %d: .*%s.*; a new one serves' %s",
			    (int)v, why, logpath),
			 0);
	/* killed and reaped by the parent: the stopped process is no more */
	assert_int_equal(kill(v, 0), -1);
	assert_int_equal(errno, ESRCH);
	close(chan);
	/* nothing stored */
	assert_int_equal(sh(&listing, "ls %s/containers | grep -c conf || true", data), 0);
	assert_int_equal(atoi(listing), 0);
	free(listing);
	assert_int_not_equal(verify_pid_new(v), v);
	served_within(2000);
}

static void test_captured_verify_process(void **state)
{
	static const char text[] = "name: \"web\"\nguest_os: \"myos\"\n";

	(void)state;
	captured_verify(text, false, FORGE_OTHER_BYTES,
			"digest: the answer is not for the 29 bytes");
	captured_verify(text, true, FORGE_OTHER_BYTES,
			"digest: the answer is not for the 29 bytes");
	captured_verify(text, false, FORGE_VERIFIED, "verified, yet no signature was asked for");
	captured_verify(text, false, FORGE_OUT_LEN, "out_len 4194305");
	captured_verify(text, false, FORGE_WRONG_TYPE, "message of type 17");
	captured_verify(text, false, FORGE_SILENCE, "no answer within 10000 ms");
}

/* A malformed config: the parser's error, as cmld gave it when it parsed in the parent. */
static void test_malformed_config(void **state)
{
	static const char bad[] = "name: \"x\"\nguest_os: 5 5\n";
	ProtobufCMessage *parsed = NULL;
	DaemonToController *m;
	char want[1024];
	pid_t v = verify_pid_new(0);

	(void)state;
	assert_true(pbtext_parse(&container_config__descriptor, bad, strlen(bad),
				 "container config", &parsed) < 0);
	snprintf(want, sizeof(want), "%s", err_msg());
	m = answer(send_create(bad, false), 3000);
	assert_non_null(m);
	assert_int_equal(m->response, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED);
	assert_string_equal(m->reason, want);
	print_message("# %s\n", m->reason);
	daemon_to_controller__free_unpacked(m, NULL);
	/* a refusal is an answer: the verify process that gave it lives on */
	assert_int_equal(child_named("cmld-verify"), v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_killed_restarted),
		cmocka_unit_test(test_client_errors_answered),
		cmocka_unit_test(test_captured_control_process),
		cmocka_unit_test(test_control_process_stops_reading),
		cmocka_unit_test(test_client_never_reads),
		cmocka_unit_test(test_verify_process),
		cmocka_unit_test(test_malformed_config),
		cmocka_unit_test(test_captured_verify_process),
	};

	if (geteuid() != 0) {
		printf("1..0 # skipped: needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
