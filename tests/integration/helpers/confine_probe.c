// SPDX-License-Identifier: MIT
/*
 * Run inside a container by test_cmld_confine (built -static, copied into its
 * data image): plays what a hostile container would try, and prints what the
 * kernel answered, one line each, for the test to judge.
 *   confine_probe syscalls        each refused call: "NAME ok" or "NAME ERRNO"
 *   confine_probe as UID PROG...  exec PROG as UID (gid UID, no groups)
 *   confine_probe ids             "uid R E S"
 *   confine_probe ctrl PORT CMD [BYTE]   one swtpm control command to
 *                                 127.0.0.1:PORT: "connect ERRNO", or the
 *                                 answer in hex ("eof" when none)
 *   confine_probe bomb STATUS CAP  as a container's init: a fork bomb whose
 *                                 processes never exit and fork again
 *                                 BOMB_PAUSE_MS after each refusal, so it
 *                                 presses for as long as it runs; no more
 *                                 than about CAP processes (a host whose
 *                                 limit fails is not run out of pids); every
 *                                 100 ms STATUS gets "forked N eagain N
 *                                 enomem N other N" (the refusals by errno);
 *                                 SIGTERM ends it
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long rc)
{
	if (rc >= 0)
		printf("%s ok\n", name);
	else
		printf("%s %s\n", name, strerrorname_np(errno));
}

static int syscalls(void)
{
	struct perf_event_attr pe = {.type = PERF_TYPE_SOFTWARE,
				     .size = sizeof(pe),
				     .config = PERF_COUNT_SW_CPU_CLOCK,
				     .disabled = 1};
	union bpf_attr attr = {
		.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};
	struct {
		unsigned int handle_bytes;
		int handle_type;
		unsigned char f_handle[64];
	} fh = {.handle_bytes = 64};
	int mount_id;

	/* arguments a permitted call would accept or refuse for another reason than EPERM */
	report("kexec_load", syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x100UL)); /* unknown flag */
	report("init_module", syscall(SYS_init_module, "", 0UL, ""));
	report("finit_module", syscall(SYS_finit_module, -1, "", 0));
	report("delete_module", syscall(SYS_delete_module, "nosuchmodule", O_NONBLOCK));
	report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
	report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	report("add_key", syscall(SYS_add_key, "user", "probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
	report("request_key", syscall(SYS_request_key, "user", "probe", NULL, 0));
	report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
	report("name_to_handle_at",
	       syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mount_id, 0));
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
	report("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));
	return 0;
}

static int as_user(int argc, char **argv)
{
	uid_t id = (uid_t)strtoul(argv[2], NULL, 10);

	if (argc < 4 || setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 ||
	    setresuid(id, id, id) < 0) {
		perror("as");
		return 2;
	}
	execv(argv[3], argv + 3);
	perror(argv[3]);
	return 2;
}

static int ctrl(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(argv[2])),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	unsigned cmd = (unsigned)strtoul(argv[3], NULL, 0);
	unsigned char req[5] = {cmd >> 24, cmd >> 16, cmd >> 8, cmd}, resp[4096];
	size_t len = 4;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	if (argc > 4)
		req[len++] = (unsigned char)strtoul(argv[4], NULL, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("connect %s\n", strerrorname_np(errno));
		return 0;
	}
	if (write(s, req, len) != (ssize_t)len) {
		printf("write %s\n", strerrorname_np(errno));
		return 0;
	}
	n = read(s, resp, sizeof(resp));
	if (n <= 0)
		printf("eof\n");
	for (ssize_t i = 0; i < n; i++)
		printf("%02x%s", resp[i], i + 1 == n ? "\n" : "");
	return 0;
}

/*
 * Unlike the shell's bomb (each process forks twice and exits; ash exits on
 * a refused fork), nothing here exits or leaves a zombie: a shell bomb whose
 * live processes are all refused once dies out, and stops pressing the limit,
 * within a second.  The pause after a refusal (some 4000 refusals a second
 * at pids.max 1024) keeps the CPU it burns to about one core, within cmld's
 * default CPU limit on two CPUs: pids.max is what the bomb tests.
 */
#define BOMB_PAUSE_MS 250

enum { BOMB_FORKED, BOMB_EAGAIN, BOMB_ENOMEM, BOMB_OTHER, BOMB_N };
static volatile sig_atomic_t bomb_stop;

static void bomb_term(int sig)
{
	(void)sig;
	bomb_stop = 1;
}

static void bomb_count(unsigned long *counts, int what)
{
	__atomic_fetch_add(&counts[what], 1, __ATOMIC_RELAXED);
}

static void bomb_press(unsigned long *counts, unsigned long cap)
{
	const struct timespec pause = {0, BOMB_PAUSE_MS * 1000000L};

	for (;;) {
		if (__atomic_load_n(&counts[BOMB_FORKED], __ATOMIC_RELAXED) >= cap) {
			nanosleep(&pause, NULL);
			continue;
		}
		pid_t p = fork();
		if (p > 0)
			bomb_count(counts, BOMB_FORKED);
		else if (p < 0) {
			bomb_count(counts, errno == EAGAIN   ? BOMB_EAGAIN
					   : errno == ENOMEM ? BOMB_ENOMEM
							     : BOMB_OTHER);
			nanosleep(&pause, NULL);
		}
		/* the child presses too */
	}
}

static void bomb_status(const unsigned long *counts, const char *path)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return;
	fprintf(f, "forked %lu eagain %lu enomem %lu other %lu\n",
		__atomic_load_n(&counts[BOMB_FORKED], __ATOMIC_RELAXED),
		__atomic_load_n(&counts[BOMB_EAGAIN], __ATOMIC_RELAXED),
		__atomic_load_n(&counts[BOMB_ENOMEM], __ATOMIC_RELAXED),
		__atomic_load_n(&counts[BOMB_OTHER], __ATOMIC_RELAXED));
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* pid 1 forks once (so a refusal cannot end it), reaps, reports, and on SIGTERM ends all. */
static int bomb(const char *status, unsigned long cap)
{
	const struct timespec tick = {0, 100 * 1000000L};
	struct sigaction sa = {.sa_handler = bomb_term};
	unsigned long *counts = mmap(NULL, BOMB_N * sizeof(*counts), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t p;

	if (getpid() != 1) { /* kill(-1) below must reach only its own namespace */
		fprintf(stderr, "bomb: only as the init of a pid namespace\n");
		return 2;
	}
	if (counts == MAP_FAILED || sigaction(SIGTERM, &sa, NULL) < 0) {
		perror("bomb");
		return 2;
	}
	while ((p = fork()) < 0 && !bomb_stop)
		nanosleep(&tick, NULL);
	if (p == 0) {
		signal(SIGTERM, SIG_DFL);
		bomb_press(counts, cap);
	}
	bomb_count(counts, BOMB_FORKED);
	while (!bomb_stop) {
		nanosleep(&tick, NULL);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		bomb_status(counts, status);
	}
	kill(-1, SIGKILL); /* every other process of the namespace */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "syscalls"))
		return syscalls();
	if (argc >= 4 && !strcmp(argv[1], "as"))
		return as_user(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ids")) {
		uid_t r, e, s;
		getresuid(&r, &e, &s);
		printf("uid %u %u %u\n", r, e, s);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "ctrl"))
		return ctrl(argc, argv);
	if (argc >= 4 && !strcmp(argv[1], "bomb"))
		return bomb(argv[2], strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: confine_probe syscalls|as UID PROG...|ids|ctrl PORT CMD [BYTE]|"
			"bomb STATUS CAP\n");
	return 2;
}
