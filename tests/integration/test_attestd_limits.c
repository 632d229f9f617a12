// SPDX-License-Identifier: MIT
/*
 * attestd under attack and faults, the real daemon against a private swtpm
 * on loopback: its two processes and the engine's sandbox, a captured engine
 * talking nonsense to the parent, 2,000 connections at ulimit -n 1024, 500
 * clients that never read their replies, a client sending one byte a second,
 * a request for a bank the TPM lacks inside a batch of honest ones, keys
 * requests beyond the rate, and the TPM killed while quotes are in flight.
 * Each asserts that an honest verifier (127.0.0.1; attackers come from other
 * loopback addresses) is served within a stated time and that the engine's
 * memory stays under a stated bound; the figures are printed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest_client.h"
#include "attest_proto.h"
#include "../../attestd/attestd.h" /* the messages between its processes */
#include "chan.h"
#include "err.h"
#include "frame.h"
#include "nonce_tree.h"
#include "quote.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"
#include "tpm_attest.h"

static struct swtpm sw;
static char dir[64], where[64];
static int port;
static pid_t daemon_pid;
static EVP_PKEY *ak;
/* ASan's shadow and quarantine make memory figures several times larger */
static unsigned mem_scale = 1;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* attestd with @extra options (NULL-terminated), under a descriptor limit of @nofile. */
static void start_daemon(rlim_t nofile, const char *const *extra)
{
	const char *argv[48] = {"attestd",	  "--tcti", sw.tcti,	 "--listen", where,
				"--firmware-log", "none",   "--cel-log", "none"};
	char ima[128];
	int n = 9;

	snprintf(ima, sizeof(ima), "%s/ima.bin", dir);
	argv[n++] = "--ima-log";
	argv[n++] = ima;
	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	daemon_pid = fork();
	if (daemon_pid == 0) {
		struct rlimit rl = {nofile, nofile};

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (nofile)
			setrlimit(RLIMIT_NOFILE, &rl);
		execv(bin_path("attestd"), (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			usleep(50000);
			return;
		}
		close(fd);
		usleep(20000);
	}
	fail_msg("attestd did not start");
}

static void stop_daemon(void)
{
	if (daemon_pid > 0) { /* never kill(0): that is our own process group */
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	daemon_pid = 0;
}

/* The engine: the daemon's one child. */
static pid_t engine_pid(void)
{
	for (int i = 0; i < 100; i++) {
		char *out = NULL;
		pid_t pid = 0;

		if (sh(&out, "pgrep -P %d", (int)daemon_pid) == 0)
			pid = (pid_t)atoi(out);
		free(out);
		if (pid > 0)
			return pid;
		usleep(20000);
	}
	fail_msg("attestd has no engine");
	return 0;
}

/* A "Key:   value" line of /proc/PID/status, as a number (kB for memory). */
static long proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static unsigned proc_fds(pid_t pid)
{
	char path[64];
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n > 2 ? n - 2 : 0;
}

/* A TCP connection to attestd from @src (a loopback address), blocking or not. */
static int connect_from(const char *src, bool nonblock)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in me = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	inet_pton(AF_INET, src, &me.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_request(int fd, const struct attest_request *req)
{
	uint8_t *body, frame[ATTEST_REQUEST_MAX + 4];
	size_t len;

	if (attest_request_encode(req, &body, &len) < 0)
		return -1;
	frame_hdr_put(len, frame);
	memcpy(frame + 4, body, len);
	free(body);
	return write(fd, frame, len + 4) == (ssize_t)(len + 4) ? 0 : -1;
}

static struct attest_request quote_request(uint8_t seed, const char *sel, unsigned logs)
{
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = logs};

	memset(req.nonce, seed, sizeof(req.nonce));
	req.nonce[0] = (uint8_t)rand();
	req.nonce[1] = (uint8_t)rand();
	pcr_selection_parse(sel, &req.sel);
	return req;
}

/* A quote over @req's nonce (through the path to extraData), signed by the AK. */
static bool quote_is_for(const struct attest_request *req, const struct attest_response *r)
{
	struct quote_info q;
	uint8_t root[NONCE_HASH_LEN];

	return r->status == 0 && quote_parse(r->attest, r->attest_len, &q) == 0 &&
	       nonce_tree_root(req->nonce, req->nonce_len, &r->path, root) == 0 &&
	       q.extra_len == sizeof(root) && memcmp(q.extra, root, sizeof(root)) == 0 &&
	       quote_verify_signature(r->attest, r->attest_len, r->sig, r->sig_len, ak) == 0;
}

/*
 * The honest verifier: one quote from 127.0.0.1, checked as a verifier
 * checks it (its own nonce through the path to extraData, the AK's
 * signature).  Returns the milliseconds it took, or -1.
 */
static long honest_quote(int timeout_ms)
{
	struct attest_request req = quote_request(0x11, "sha256:0,10", 1u << ATTEST_LOG_IMA);
	struct attest_response r;
	uint8_t *body;
	size_t len;
	int64_t t0 = now_ms();
	int rc = attest_call(where, &req, timeout_ms, &body, &len);

	if (rc < 0)
		return -1;
	rc = attest_response_decode(body, len, &r);
	free(body);
	if (rc < 0)
		return -1;
	/* the whole IMA log, root's and mode 0600, opened before any drop */
	rc = r.has_log[ATTEST_LOG_IMA] && r.log_len[ATTEST_LOG_IMA] == 1048576 &&
			     quote_is_for(&req, &r)
		     ? 0
		     : -1;
	if (rc < 0)
		print_message("honest quote refused: status %u %s\n", r.status, r.error);
	attest_response_free(&r);
	return rc < 0 ? -1 : (long)(now_ms() - t0);
}

static int setup(void **state)
{
	struct tpm *tpm;
	struct ak_info info;
	char path[128];
	const char *label = getenv("MEASURED_LABEL");

	(void)state;
	if (label && strcmp(label, "asan") == 0)
		mem_scale = 4;
	snprintf(dir, sizeof(dir), "/tmp/measured-limits.XXXXXX");
	if (!mkdtemp(dir) || swtpm_start(&sw, true) < 0 || tpm_open(sw.tcti, 0, &tpm) < 0)
		return -1;
	if (tpm_keys_ensure(tpm, true, &info) < 0 ||
	    tpm_public_to_pkey(info.ak_public, info.ak_public_len, &ak) < 0)
		return -1;
	tpm_close(tpm);
	/* a TPM with banks we know but it lacks (sha384, sha512), for the poisoning test */
	if (sh(NULL,
	       "tpm2_pcrallocate -T '%s' sha1:all+sha256:all+sha384:none+sha512:none "
	       ">/dev/null 2>&1",
	       sw.tcti) != 0)
		return -1;
	/* the new allocation takes effect at the next startup */
	if (swtpm_restart(&sw) < 0)
		return -1;
	/* a 1 MiB "IMA list": the engine serves it, it does not parse it */
	snprintf(path, sizeof(path), "%s/ima.bin", dir);
	if (sh(NULL, "head -c 1048576 /dev/urandom > %s && chmod 0600 %s", path, path) != 0)
		return -1;
	port = sw.port + 5;
	snprintf(where, sizeof(where), "127.0.0.1:%d", port);
	/* 2,000 client sockets of our own */
	struct rlimit rl = {8192, 8192};

	setrlimit(RLIMIT_NOFILE, &rl);
	return 0;
}

static int stop_after(void **state)
{
	(void)state;
	stop_daemon();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stop_daemon();
	EVP_PKEY_free(ak);
	swtpm_stop(&sw);
	return sh(NULL, "rm -rf %s", dir);
}

/*
 * Two processes: the parent holds the TPM connection, the engine holds none
 * and runs as nobody, without capabilities, under no_new_privs and seccomp.
 */
static void test_two_processes_engine_confined(void **state)
{
	char *out = NULL;
	pid_t engine;

	(void)state;
	start_daemon(0, NULL);
	assert_true(honest_quote(5000) >= 0);
	engine = engine_pid();
	/* attestd's default: its packaged user if there is one, else nobody */
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("measured-attestd");

		assert_int_equal(proc_status(engine, "Uid"), pw ? (long)pw->pw_uid : 65534);
	}
	assert_int_equal(proc_status(engine, "NoNewPrivs"), 1);
	assert_int_equal(proc_status(engine, "Seccomp"), 2);
	assert_int_equal(sh(&out, "grep CapEff /proc/%d/status", (int)engine), 0);
	assert_non_null(strstr(out, "0000000000000000"));
	free(out);
	/*
	 * What the engine holds: stdio, the listener, the IMA log, its channel,
	 * its event loop's epoll.  No TPM: the parent talks to it (swtpm's TCTI
	 * connects per command, and the engine's seccomp list has no connect).
	 */
	assert_int_equal(sh(&out,
			    "cd /proc/%d/fd && for f in *; do [ $f -gt 2 ] && readlink $f | "
			    "sed 's/:\\[.*//'; done | sort | tr '\\n' ' '",
			    (int)engine),
			 0);
	{
		char want[200];

		snprintf(want, sizeof(want), "%s/ima.bin anon_inode socket socket ", dir);
		assert_string_equal(out, want);
	}
	free(out);
	assert_int_equal(sh(&out, "ps -o comm= -p %d", (int)engine), 0);
	assert_non_null(strstr(out, "attestd-engine"));
	free(out);
	print_message("engine %d: uid %ld, NoNewPrivs %ld, Seccomp %ld, %u descriptors\n",
		      (int)engine, proc_status(engine, "Uid"), proc_status(engine, "NoNewPrivs"),
		      proc_status(engine, "Seccomp"), proc_fds(engine));
	stop_daemon();
}

/* --user: both processes drop to it, and the logs opened before still go out. */
static void test_user_drop_keeps_logs(void **state)
{
	const char *extra[] = {"--user", "nobody", NULL};

	(void)state;
	if (geteuid() != 0)
		skip();
	start_daemon(0, extra);
	assert_int_equal(proc_status(daemon_pid, "Uid"), 65534);
	assert_int_equal(proc_status(engine_pid(), "Uid"), 65534);
	assert_true(honest_quote(5000) >= 0); /* checks the 1 MiB root-only log came */
}

/* The engine's end of the channel, taken from it as a captured engine would use it. */
static int grab_channel(pid_t engine)
{
	int pidfd = (int)syscall(SYS_pidfd_open, engine, 0);

	for (int fd = 3; pidfd >= 0 && fd < 64; fd++) {
		int mine = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0), type = 0;
		socklen_t len = sizeof(type);

		if (mine < 0)
			continue;
		if (getsockopt(mine, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		    type == SOCK_SEQPACKET) {
			close(pidfd);
			return mine;
		}
		close(mine);
	}
	if (pidfd >= 0)
		close(pidfd);
	return -1;
}

/*
 * A captured engine sends the parent a message of the wrong length: the
 * parent kills that engine and starts a fresh one, which serves.
 */
static void test_captured_engine_replaced(void **state)
{
	uint8_t junk[7] = {0}; /* no message has 7 bytes */
	pid_t engine, fresh = 0;
	int chan;

	(void)state;
	if (geteuid() != 0)
		skip();
	start_daemon(0, NULL);
	engine = engine_pid();
	chan = grab_channel(engine);
	assert_true(chan >= 0);
	assert_int_equal(chan_send(chan, AD_MSG_QUOTE, 1, junk, sizeof(junk)), 0);
	close(chan);
	for (int i = 0; i < 100 && (fresh == 0 || fresh == engine); i++) {
		usleep(20000);
		fresh = engine_pid();
	}
	assert_int_not_equal(fresh, engine);
	assert_int_equal(kill(engine, 0), -1); /* gone */
	assert_true(honest_quote(5000) >= 0);
	/* and one that dies of itself is replaced as well */
	kill(fresh, SIGKILL);
	usleep(300000);
	assert_int_not_equal(engine_pid(), fresh);
	assert_true(honest_quote(5000) >= 0);
	stop_daemon();
}

/*
 * 2,000 connections from eight addresses at ulimit -n 1024: the engine's
 * descriptors stay below the limit, it does not spin, and the honest
 * verifier is served.
 */
static void test_connection_flood(void **state)
{
	static int fds[2000];
	const char *extra[] = {"--max-conns-per-peer", "300", NULL};
	long cpu0, cpu1, latency, rss0, hwm;
	unsigned open_fds, opened = 0;
	pid_t engine;

	(void)state;
	start_daemon(1024, extra);
	engine = engine_pid();
	rss0 = proc_status(engine, "VmRSS");
	for (int i = 0; i < 2000; i++) {
		char src[32];

		snprintf(src, sizeof(src), "127.0.0.%d", 2 + i % 8);
		fds[i] = connect_from(src, true);
		opened += fds[i] >= 0;
	}
	usleep(500000);
	open_fds = proc_fds(engine);
	cpu0 = proc_cpu_ms(engine);
	latency = honest_quote(5000);
	usleep(1000000);
	cpu1 = proc_cpu_ms(engine);
	hwm = proc_status(engine, "VmHWM");
	print_message("flood: %u connections opened, engine holds %u descriptors (limit 1024), "
		      "honest quote in %ld ms, engine CPU %ld ms in the next second, RSS %ld -> "
		      "peak %ld kB\n",
		      opened, open_fds, latency, cpu1 - cpu0, rss0, hwm);
	assert_true(opened >= 1500);
	assert_true(open_fds < 1024);
	assert_true(latency >= 0 && latency < 2000);
	assert_true(cpu1 - cpu0 < 300); /* no EMFILE spin: a spinning core is ~1000 ms/s */
	assert_true(hwm - rss0 < 32 * 1024 * (long)mem_scale);
	for (int i = 0; i < 2000; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	stop_daemon();
}

/*
 * 500 clients ask for a quote with the 1 MiB log and never read: the replies
 * share one copy of the log, the honest verifier is served, and after the
 * write deadline the stalled connections are let go.
 */
static void test_stalled_readers(void **state)
{
	static int fds[500];
	const char *extra[] = {"--write-timeout-ms",
			       "2000",
			       "--read-timeout-ms",
			       "1000",
			       "--batch-ms",
			       "20",
			       NULL};
	long latency, rss0, hwm;
	unsigned before, during, after, sent = 0;
	pid_t engine;

	(void)state;
	start_daemon(0, extra);
	engine = engine_pid();
	before = proc_fds(engine);
	rss0 = proc_status(engine, "VmRSS");
	for (int i = 0; i < 500; i++) {
		char src[32];
		struct attest_request req =
			quote_request((uint8_t)i, "sha256:0", 1u << ATTEST_LOG_IMA);

		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i % 4);
		fds[i] = connect_from(src, false);
		if (fds[i] >= 0) {
			int small = 4096; /* and keep the kernel from taking the replies for them */

			setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
			sent += send_request(fds[i], &req) == 0;
		}
	}
	usleep(500000);
	during = proc_fds(engine);
	latency = honest_quote(5000);
	hwm = proc_status(engine, "VmHWM");
	usleep(3500000); /* past the write deadline (or the read deadline after a reply) */
	after = proc_fds(engine);
	print_message("stalled readers: %u requests of a 1 MiB log sent and never read; engine "
		      "descriptors %u -> %u -> %u after the write deadline; honest quote in %ld "
		      "ms; engine RSS %ld -> peak %ld kB (a copy per reply would be %u MiB)\n",
		      sent, before, during, after, latency, rss0, hwm, sent);
	assert_true(sent >= 450);
	assert_true(during >= before + 400);
	assert_true(latency >= 0 && latency < 2000);
	assert_true(hwm - rss0 < 64 * 1024 * (long)mem_scale);
	assert_true(after <= before + 5);
	for (int i = 0; i < 500; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	stop_daemon();
}

/* One byte a second: dropped at the read deadline; the honest verifier is not held up. */
static void test_slow_client(void **state)
{
	const char *extra[] = {"--read-timeout-ms", "1500", NULL};
	struct attest_request req = quote_request(7, "sha256:0", 0);
	uint8_t *body, frame[ATTEST_REQUEST_MAX + 4], reply[512];
	size_t len;
	long latency;
	int fd, i;
	int64_t t0;

	(void)state;
	start_daemon(0, extra);
	assert_int_equal(attest_request_encode(&req, &body, &len), 0);
	frame_hdr_put(len, frame);
	memcpy(frame + 4, body, len);
	free(body);
	fd = connect_from("127.0.0.2", false);
	assert_true(fd >= 0);
	t0 = now_ms();
	for (i = 0; i < (int)len + 4; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (send(fd, frame + i, 1, MSG_NOSIGNAL) != 1 || poll(&p, 1, 1000) != 0)
			break; /* the daemon answered (or closed): it gave up on us */
		if (i == 1) {
			latency = honest_quote(5000);
			assert_true(latency >= 0 && latency < 1000);
		}
	}
	ssize_t n = read(fd, reply, sizeof(reply));
	struct attest_response r;

	print_message("slow client: cut off after %d bytes and %lld ms (read deadline 1500 ms)\n",
		      i, (long long)(now_ms() - t0));
	assert_true(i < (int)len + 4);
	assert_true(now_ms() - t0 < 3500);
	assert_true(n > 4);
	assert_int_equal(attest_response_decode(reply + 4, (size_t)n - 4, &r), 0);
	assert_int_equal(r.status, ETIMEDOUT);
	attest_response_free(&r);
	close(fd);
	stop_daemon();
}

struct batch_client {
	struct attest_request req;
	int status;
	unsigned path_len;
	char error[256];
};

static void *batch_worker(void *arg)
{
	struct batch_client *b = arg;
	struct attest_response r;
	uint8_t *body;
	size_t len;

	b->status = -1;
	if (attest_call(where, &b->req, 10000, &body, &len) == 0 &&
	    attest_response_decode(body, len, &r) == 0) {
		b->status = (int)r.status;
		b->path_len = r.path.len;
		snprintf(b->error, sizeof(b->error), "%s", r.error);
		attest_response_free(&r);
		free(body);
	}
	return NULL;
}

/* A bank the TPM has not allocated, asked for in a batch of honest requests: it fails alone. */
static void test_batch_poisoning(void **state)
{
	const char *extra[] = {"--batch-ms", "300", NULL};
	static struct batch_client b[9];
	pthread_t t[9];
	struct pcr_selection have;
	const struct hash_alg *missing = NULL;
	struct tpm *tpm;
	char sel[64];
	size_t n_algs;
	const struct hash_alg *algs = hash_algs(&n_algs);
	unsigned shared = 0;

	(void)state;
	assert_int_equal(tpm_open(sw.tcti, 0, &tpm), 0);
	assert_int_equal(tpm_pcr_banks(tpm, &have), 0);
	tpm_close(tpm);
	for (size_t i = 0; i < n_algs && !missing; i++)
		if (!pcr_selection_mask(&have, &algs[i]))
			missing = &algs[i];
	if (!missing)
		skip(); /* every bank we know is allocated */
	start_daemon(0, extra);
	for (int i = 0; i < 9; i++)
		b[i].req = quote_request((uint8_t)(0x30 + i), "sha256:0,7", 0);
	snprintf(sel, sizeof(sel), "%s:0+sha256:0", missing->name);
	pcr_selection_parse(sel, &b[4].req.sel);
	for (int i = 0; i < 9; i++)
		pthread_create(&t[i], NULL, batch_worker, &b[i]);
	for (int i = 0; i < 9; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 9; i++) {
		if (i == 4)
			continue;
		assert_int_equal(b[i].status, 0);
		shared += b[i].path_len > 0;
	}
	print_message("poisoned request: %d \"%s\"; %u of 8 honest requests shared a quote\n",
		      b[4].status, b[4].error, shared);
	assert_int_equal(b[4].status, EINVAL);
	assert_non_null(strstr(b[4].error, missing->name));
	assert_true(shared >= 2);
	stop_daemon();
}

/* Keys requests beyond the rate are refused for that peer, and only for it. */
static void test_keys_rate_limited(void **state)
{
	const char *extra[] = {"--keys-per-minute", "6", NULL};
	struct attest_request req = {.type = ATTEST_KEYS};
	unsigned ok = 0, limited = 0;

	(void)state;
	start_daemon(0, extra);
	for (int i = 0; i < 20; i++) {
		struct attest_response r;
		uint8_t *body, frame[8192];
		int fd = connect_from("127.0.0.3", false);
		ssize_t n;

		assert_true(fd >= 0);
		assert_int_equal(send_request(fd, &req), 0);
		n = read(fd, frame, sizeof(frame));
		while (n > 4 && (size_t)n < 4 + frame_hdr_get(frame)) {
			ssize_t m = read(fd, frame + n, sizeof(frame) - (size_t)n);

			if (m <= 0)
				break;
			n += m;
		}
		close(fd);
		assert_true(n > 4);
		body = frame + 4;
		assert_int_equal(attest_response_decode(body, (size_t)n - 4, &r), 0);
		ok += r.status == 0 && r.ak_public_len > 0;
		limited += r.status == EAGAIN && strstr(r.error, "rate limited") != NULL;
		attest_response_free(&r);
	}
	print_message("keys from one peer: %u answered, %u rate limited\n", ok, limited);
	assert_true(ok >= 10 && ok <= 11); /* the burst, and what trickled in meanwhile */
	assert_int_equal(ok + limited, 20);
	/* the honest verifier, another peer, is not affected */
	assert_true(honest_quote(5000) >= 0);
	stop_daemon();
}

/* The next reply on @fd, decoded; false when none came within 5 s. */
static bool next_reply(int fd, struct attest_response *r)
{
	uint8_t *body;
	size_t len;
	bool ok;

	if (frame_recv(fd, ATTEST_RESPONSE_MAX, now_ms() + 5000, &body, &len) < 0)
		return false;
	ok = attest_response_decode(body, len, r) == 0;
	free(body);
	return ok;
}

/*
 * A client that sends its next request while the first waits for its batch
 * (the engine leaves a waiting connection's socket as it was, to save two
 * system calls a request): the loop is woken once, not spun, and both are
 * answered, in order.  One that hangs up while its quote waits costs
 * nothing either, and the honest verifier is served meanwhile.
 */
static void test_request_sent_early(void **state)
{
	const char *extra[] = {"--batch-ms", "400", NULL};
	struct attest_request first = quote_request(0x21, "sha256:0", 0);
	struct attest_request second = quote_request(0x22, "sha256:1", 0);
	struct attest_response r1, r2;
	long cpu0, cpu1;
	pid_t engine;
	int fd, gone;

	(void)state;
	start_daemon(0, extra);
	engine = engine_pid();
	fd = connect_from("127.0.0.4", false);
	gone = connect_from("127.0.0.5", false);
	assert_true(fd >= 0 && gone >= 0);
	assert_int_equal(send_request(fd, &first), 0);
	assert_int_equal(send_request(gone, &first), 0);
	usleep(50000); /* both wait for their batch now */
	assert_int_equal(send_request(fd, &second), 0);
	close(gone);
	cpu0 = proc_cpu_ms(engine);
	usleep(250000); /* still within the batch window */
	cpu1 = proc_cpu_ms(engine);
	assert_true(next_reply(fd, &r1));
	assert_true(next_reply(fd, &r2));
	close(fd);
	print_message("request sent early: engine CPU %ld ms while it waited (250 ms), both "
		      "answered in order (%s, %s)\n",
		      cpu1 - cpu0, quote_is_for(&first, &r1) ? "first" : "?",
		      quote_is_for(&second, &r2) ? "second" : "?");
	assert_true(cpu0 >= 0 && cpu1 - cpu0 < 100); /* spinning: about 250 */
	assert_true(quote_is_for(&first, &r1));
	assert_true(quote_is_for(&second, &r2));
	assert_int_equal(r2.sel.bank[0].mask, 1u << 1);
	attest_response_free(&r1);
	attest_response_free(&r2);
	assert_true(honest_quote(5000) >= 0);
	stop_daemon();
}

struct mid_client {
	volatile int *stop;
	unsigned valid, refused, wrong;
};

/* Quotes in a loop; every answer must be a quote over this client's nonce, or an error. */
static void *mid_worker(void *arg)
{
	struct mid_client *m = arg;

	while (!*m->stop) {
		struct attest_request req = quote_request((uint8_t)rand(), "sha256:0", 0);
		struct attest_response r;
		struct quote_info q;
		uint8_t *body, root[NONCE_HASH_LEN];
		size_t len;

		for (int i = 0; i < 32; i++)
			req.nonce[i] = (uint8_t)rand();
		if (attest_call(where, &req, 10000, &body, &len) < 0) {
			usleep(10000);
			continue;
		}
		if (attest_response_decode(body, len, &r) < 0) {
			m->wrong++;
		} else if (r.status != 0) {
			m->refused += strstr(r.error, "TPM") != NULL;
			m->wrong += strstr(r.error, "TPM") == NULL;
		} else if (quote_parse(r.attest, r.attest_len, &q) == 0 &&
			   nonce_tree_root(req.nonce, req.nonce_len, &r.path, root) == 0 &&
			   q.extra_len == sizeof(root) &&
			   memcmp(q.extra, root, sizeof(root)) == 0 &&
			   quote_verify_signature(r.attest, r.attest_len, r.sig, r.sig_len, ak) ==
				   0) {
			m->valid++;
		} else {
			m->wrong++; /* somebody else's quote */
		}
		attest_response_free(&r);
		free(body);
	}
	return NULL;
}

/*
 * swtpm killed while eight verifiers keep quotes in flight: each waiting
 * request gets a clear error, none another batch's quote; with the TPM back,
 * serving resumes.
 */
static void test_tpm_killed_mid_batch(void **state)
{
	const char *extra[] = {"--batch-ms", "5", NULL};
	static struct mid_client m[8];
	pthread_t t[8];
	volatile int stop = 0;
	unsigned valid = 0, refused = 0, wrong = 0;
	long back = -1;
	int64_t t0;

	(void)state;
	start_daemon(0, extra);
	for (int i = 0; i < 8; i++) {
		m[i] = (struct mid_client){.stop = &stop};
		pthread_create(&t[i], NULL, mid_worker, &m[i]);
	}
	usleep(700000);
	kill(sw.pid, SIGKILL);
	waitpid(sw.pid, NULL, 0);
	sw.pid = 0; /* reaped: swtpm_restart must not signal its number again */
	usleep(700000);
	assert_int_equal(swtpm_restart(&sw), 0);
	t0 = now_ms();
	for (int i = 0; i < 100 && back < 0; i++) {
		usleep(50000);
		if (honest_quote(3000) >= 0)
			back = (long)(now_ms() - t0);
	}
	usleep(300000);
	stop = 1;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		valid += m[i].valid;
		refused += m[i].refused;
		wrong += m[i].wrong;
	}
	print_message("TPM killed mid-batch: %u valid quotes, %u clear TPM errors, %u wrong; "
		      "serving again %ld ms after the TPM came back\n",
		      valid, refused, wrong, back);
	assert_int_equal(wrong, 0);
	assert_true(valid > 0);
	assert_true(refused > 0);
	assert_true(back >= 0 && back < 3000);
	stop_daemon();
}

/* -n: the settings checked and shown, nothing served. */
static void test_config_test_mode(void **state)
{
	char conf[128], *out = NULL;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/attestd.conf", dir);
	assert_int_equal(sh(NULL,
			    "printf 'listen = 127.0.0.1:1\\nbatch-ms = 7\\nima-log = %s/ima.bin\\n"
			    "max-conns = 100\\n' > %s",
			    dir, conf),
			 0);
	assert_int_equal(sh(&out, "%s -n --config %s", bin_path("attestd"), conf), 0);
	assert_non_null(strstr(out, "batch 7 ms"));
	assert_non_null(strstr(out, "connections: 100 in all"));
	assert_non_null(strstr(out, "configuration OK"));
	free(out);
	/* a bad value names the file, the line and the key */
	assert_int_equal(sh(NULL, "printf 'batch-ms = soon\\n' > %s", conf), 0);
	assert_int_equal(sh(&out, "%s -n --config %s 2>&1", bin_path("attestd"), conf), 1);
	assert_non_null(strstr(out, "attestd.conf:1"));
	assert_non_null(strstr(out, "batch-ms"));
	free(out);
	assert_int_equal(sh(NULL, "printf 'listen-on = x\\n' > %s", conf), 0);
	assert_int_equal(sh(&out, "%s -n --config %s 2>&1", bin_path("attestd"), conf), 1);
	assert_non_null(strstr(out, "unknown setting \"listen-on\""));
	free(out);
	/* the command line wins over the file */
	assert_int_equal(sh(NULL, "printf 'batch-ms = 7\\n' > %s", conf), 0);
	assert_int_equal(sh(&out, "%s -n --config %s --batch-ms 9", bin_path("attestd"), conf), 0);
	assert_non_null(strstr(out, "batch 9 ms"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_processes_engine_confined, stop_after),
		cmocka_unit_test_teardown(test_user_drop_keeps_logs, stop_after),
		cmocka_unit_test_teardown(test_captured_engine_replaced, stop_after),
		cmocka_unit_test_teardown(test_connection_flood, stop_after),
		cmocka_unit_test_teardown(test_stalled_readers, stop_after),
		cmocka_unit_test_teardown(test_slow_client, stop_after),
		cmocka_unit_test_teardown(test_batch_poisoning, stop_after),
		cmocka_unit_test_teardown(test_keys_rate_limited, stop_after),
		cmocka_unit_test_teardown(test_request_sent_early, stop_after),
		cmocka_unit_test_teardown(test_config_test_mode, stop_after),
		cmocka_unit_test_teardown(test_tpm_killed_mid_batch, stop_after),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
