/* SPDX-License-Identifier: MIT */
/*
 * One swtpm per container that asks for a vTPM (ContainerConfig.vtpm).
 * Its state lives in vtpm.state_path, a folder inside the container's
 * containers/<uuid>/ (relative to it; see cm_confine_path) (made with swtpm_setup on
 * first start: EK, and with create_certs the EK and platform certificates
 * from swtpm's local CA).
 *
 * What the container reaches: swtpm's TPM port, 127.0.0.1:2321 inside the
 * container's network namespace (the container finds it through
 * TPM2TOOLS_TCTI and TCTI, "swtpm:host=127.0.0.1,port=2321"; without a
 * network namespace a free port of the host's loopback), and on the next
 * port a filter that passes only what the TSS's swtpm TCTI sends there:
 * CMD_SET_LOCALITY for localities 0-3 (4 is the hardware's) and
 * CMD_GET_CAPABILITY.  swtpm's control channel itself (which dumps and
 * replaces the permanent state, EK seeds included, resets the TPM and its
 * PCRs) is a Unix socket in cmld's run folder, <run>/<uuid>/vtpm/ctrl.sock
 * (folder 0700 and socket 0600, both swtpm's user's), made by cmld and handed
 * to swtpm as a descriptor.  swtpm serves one control client at a time, so
 * the filter connects for each of its clients and lets go after.
 *
 * swtpm runs as vtpm.run_as (never root), by default as a host user of its
 * own per container, VTPM_UID_FIRST + (uid_base >> 16), outside every
 * container's user id range, with swtpm's seccomp profile (action=kill).
 * The filter runs as the same user with an allow-list of its own.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm_proc.h"
#include "cmld.h"
#include "cm_store.h"
#include "cm_vtpm.h"
#include "err.h"
#include "mem.h"
#include "fileio.h"

#define VTPM_PORT 2321
/* swtpm's own users: above every container's user ids (cm_store.c: 0x100000 + 0x3f00 blocks) */
#define VTPM_UID_FIRST 0x40000000u

/* swtpm's control channel (swtpm/tpm_ioctl.h); results are TPM 1.2 codes */
#define CMD_GET_CAPABILITY 0x01
#define CMD_SET_LOCALITY   0x05
#define TPM_BAD_ORDINAL	   0x0a
#define TPM_BAD_LOCALITY   0x3d
/* a client that says nothing for this long is let go, so it cannot hold the filter */
#define FILTER_IDLE_MS 5000

/* A port the kernel hands out now on 127.0.0.1, into @a; -errno. */
static int any_port(struct sockaddr_in *a)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*a);

	if (s < 0)
		return err_set(-errno, "no free port: %s", strerror(errno));
	if (bind(s, (struct sockaddr *)a, sizeof(*a)) < 0)
		return err_set(-errno, "no free port: %s", strerror(errno));
	if (getsockname(s, (struct sockaddr *)a, &len) < 0)
		return err_set(-errno, "no free port: %s", strerror(errno));
	return 0;
}

static int free_port_pair(unsigned *ret)
{
	for (int attempt = 0; attempt < 32; attempt++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int r = any_port(&a), s2;

		if (r < 0)
			return r;
		unsigned port = ntohs(a.sin_port);
		if (port >= 65535)
			continue;
		/* the control channel takes the next port: check it is free too */
		a.sin_port = htons((uint16_t)(port + 1));
		s2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = s2 >= 0 && bind(s2, (struct sockaddr *)&a, sizeof(a)) == 0;
		if (s2 >= 0)
			close(s2);
		if (ok) {
			*ret = port;
			return 0;
		}
	}
	return err_set(-EADDRINUSE, "no free pair of ports for the vTPM");
}

int cm_vtpm_env(struct cmld *d, struct cm_container *c, char ***env, size_t *n_env)
{
	ContainerVtpm *v = c->config->vtpm;
	char tcti[96];
	int r;

	(void)d;
	*env = NULL;
	*n_env = 0;
	if (!v)
		return 0;
	if (strcmp(v->version, "2") && strcmp(v->version, "1.2"))
		return err_set(-EINVAL, "vtpm.version '%s': only \"2\" and \"1.2\"", v->version);
	c->vtpm_port = VTPM_PORT;
	if (!c->config->netns) {
		r = free_port_pair(&c->vtpm_port);
		if (r < 0)
			return r;
	}
	snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%u", c->vtpm_port);
	*env = calloc(3, sizeof(char *));
	if (!*env)
		return err_set(-ENOMEM, "out of memory");
	if (asprintf(&(*env)[0], "TPM2TOOLS_TCTI=%s", tcti) < 0)
		return err_set(-ENOMEM, "out of memory");
	if (asprintf(&(*env)[1], "TCTI=%s", tcti) < 0)
		return err_set(-ENOMEM, "out of memory");
	*n_env = 2;
	return 0;
}

/* swtpm_setup on an empty state folder (as root: chown_state hands it over after). */
static int vtpm_manufacture(ContainerVtpm *v, const char *dir)
{
	char state[4200], banks[256] = "";
	const char *argv[24];
	int n = 0;
	bool tpm2 = !strcmp(v->version, "2");

	snprintf(state, sizeof(state), "%s/%s", dir, tpm2 ? "tpm2-00.permall" : "tpm-00.permall");
	if (access(state, F_OK) == 0)
		return 0;
	for (size_t i = 0; i < v->n_pcr_banks; i++)
		snprintf(banks + strlen(banks), sizeof(banks) - strlen(banks), "%s%s", i ? "," : "",
			 v->pcr_banks[i]);
	argv[n++] = "swtpm_setup";
	if (tpm2)
		argv[n++] = "--tpm2";
	argv[n++] = "--tpmstate";
	argv[n++] = dir;
	argv[n++] = "--createek";
	if (v->create_certs) {
		argv[n++] = "--create-ek-cert";
		argv[n++] = "--create-platform-cert";
	}
	if (tpm2 && banks[0]) {
		argv[n++] = "--pcr-banks";
		argv[n++] = banks;
	}
	argv[n++] = "--not-overwrite";
	argv[n] = NULL;
	return err_wrap(cm_run(0, (char *const *)argv), "vTPM manufacture");
}

/* Whether @pid's network namespace has a TCP socket listening on @port. */
static bool listening(pid_t pid, unsigned port)
{
	char path[64], line[256], want[16];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/tcp", pid);
	snprintf(want, sizeof(want), ":%04X ", port);
	if (!(f = fopen(path, "re")))
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) && strstr(line, " 0A ");
	fclose(f);
	return found;
}

/* The host user swtpm runs as: vtpm.run_as (never root), else this container's own. */
static int vtpm_user(const struct cm_container *c, char *name, size_t size, uid_t *ret_uid,
		     gid_t *ret_gid)
{
	const char *run_as = c->config->vtpm->run_as;
	struct passwd *pw;

	if (!run_as || !*run_as) {
		*ret_uid = *ret_gid = VTPM_UID_FIRST + (c->uid_base >> 16);
		snprintf(name, size, "%u", (unsigned)*ret_uid);
		return 0;
	}
	if (!(pw = getpwnam(run_as)))
		return err_set(-EINVAL, "vtpm.run_as: no user '%s'", run_as);
	if (pw->pw_uid == 0)
		return err_set(-EPERM, "vtpm.run_as '%s': swtpm does not run as root", run_as);
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	snprintf(name, size, "%s", run_as);
	return 0;
}

/* The state folder and the files in it (not following links) to swtpm's user. */
static int chown_state(const char *dir, uid_t uid, gid_t gid)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_closedir_ DIR *dp = NULL;
	struct dirent *e;
	int r = 0;

	if (fd < 0)
		return err_set(-errno, "%s: %s", dir, strerror(errno));
	if (fchown(fd, uid, gid) < 0)
		return err_set(-errno, "chown %s: %s", dir, strerror(errno));
	if (fchmod(fd, 0700) < 0)
		return err_set(-errno, "chown %s: %s", dir, strerror(errno));
	dp = fdopendir(fd);
	if (!dp)
		return err_set(-errno, "%s: %s", dir, strerror(errno));
	fd = -1; /* the folder's now: closedir closes it */
	while (r == 0 && (e = readdir(dp))) {
		struct stat st;
		if (fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fchownat(dirfd(dp), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			r = err_set(-errno, "chown %s/%s: %s", dir, e->d_name, strerror(errno));
	}
	return r;
}

/* A listening Unix socket at @path, mode 0600 from the start, owned by swtpm's user. */
static int ctrl_socket(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(path) >= sizeof(a.sun_path))
		return err_set(-ENAMETOOLONG, "%s: too long for a socket path", path);
	memcpy(a.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, "socket: %s", strerror(errno));
	unlink(path);
	mode_t old = umask(0177);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (chown(path, uid, gid) < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (listen(fd, 4) < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	return TAKE_FD(fd);
}

static void enter_netns(pid_t pid)
{
	char ns[64];
	int fd;

	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", pid);
	fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(126);
	if (setns(fd, CLONE_NEWNET) < 0)
		_exit(126);
	close(fd);
}

/* ---- the control channel filter (a child of cmld, never exec'd) ---- */

static int wait_in(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return n;
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		if (wait_in(fd, FILTER_IDLE_MS) <= 0)
			return false;
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static bool write_full(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void reply_code(int fd, uint32_t code)
{
	uint8_t r[4] = {(uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8),
			(uint8_t)code};
	write_full(fd, r, sizeof(r));
}

/*
 * One client: each command is checked, then passed to swtpm and its answer
 * back; the first command that is not passed ends the connection (its
 * length is unknown, so nothing after it can be framed).
 */
static void filter_client(int cl, int upstream)
{
	if (upstream < 0)
		return;
	for (;;) {
		uint8_t cmd[5], resp[64];
		size_t len = 4;
		if (!read_full(cl, cmd, 4))
			return;
		uint32_t code = (uint32_t)cmd[0] << 24 | (uint32_t)cmd[1] << 16 |
				(uint32_t)cmd[2] << 8 | cmd[3];
		if (code == CMD_SET_LOCALITY) {
			if (!read_full(cl, cmd + 4, 1))
				return;
			if (cmd[4] > 3) {
				reply_code(cl, TPM_BAD_LOCALITY);
				continue;
			}
			len = 5;
		} else if (code != CMD_GET_CAPABILITY) {
			reply_code(cl, TPM_BAD_ORDINAL);
			return;
		}
		/* swtpm answers each command in one write */
		if (!write_full(upstream, cmd, len) || wait_in(upstream, FILTER_IDLE_MS) <= 0)
			return;
		ssize_t n = read(upstream, resp, sizeof(resp));
		if (n <= 0)
			return; /* swtpm went away */
		if (!write_full(cl, resp, (size_t)n))
			return;
	}
}

/* What the filter may call once it serves; anything else kills it. */
static int filter_seccomp(void)
{
	static const char *const allowed[] = {"accept",
					      "accept4",
					      "brk",
					      "clock_gettime",
					      "clock_nanosleep",
					      "close",
					      "exit",
					      "exit_group",
					      "futex",
					      "getpid",
					      "gettid",
					      "madvise",
					      "mmap",
					      "munmap",
					      "nanosleep",
					      "poll",
					      "ppoll",
					      "read",
					      "restart_syscall",
					      "rt_sigprocmask",
					      "rt_sigreturn",
					      "sched_yield",
					      "sigaltstack",
					      "tgkill",
					      "write",
					      NULL};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = ctx ? 0 : -ENOMEM;

	for (const char *const *n = allowed; r == 0 && *n; n++) {
		int nr = seccomp_syscall_resolve_name(*n);
		if (nr != __NR_SCMP_ERROR)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* Unix sockets only: the one it connects to swtpm for each client */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/* swtpm's control channel, through the folder's descriptor (swtpm's user cannot pass <run>/<uuid>) */
static int connect_upstream(int dirfd)
{
	struct sockaddr_un up = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(up.sun_path, sizeof(up.sun_path), "/proc/self/fd/%d/ctrl.sock", dirfd);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&up, sizeof(up)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void __attribute__((noreturn))
filter_main(struct cm_container *c, const char *ctrl_dir, uid_t uid, gid_t gid)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)(c->vtpm_port + 1)),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	pid_t parent = getppid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), one = 1, dirfd, listener;

	cm_child_reset_signals();
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close_range(3, ~0U, 0);
	dirfd = open(ctrl_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		_exit(120);
	if (c->config->netns)
		enter_netns(c->init_pid);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0)
		_exit(121);
	if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		_exit(121);
	if (bind(listener, (struct sockaddr *)&a, sizeof(a)) < 0)
		_exit(121);
	if (listen(listener, 8) < 0)
		_exit(121);
	if (setgroups(0, NULL) < 0)
		_exit(122);
	if (setresgid(gid, gid, gid) < 0)
		_exit(122);
	if (setresuid(uid, uid, uid) < 0)
		_exit(122);
	/* after the change of user, which clears it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(123);
	if (getppid() != parent)
		_exit(123);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(124);
	if (filter_seccomp() < 0)
		_exit(124);
	for (;;) {
		int cl = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (cl < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(125);
		}
		int upstream = connect_upstream(dirfd);
		filter_client(cl, upstream);
		if (upstream >= 0)
			close(upstream);
		close(cl);
	}
}

/* ---- start and stop ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
	nanosleep(&ts, NULL);
}

int cm_vtpm_start(struct cmld *d, struct cm_container *c)
{
	ContainerVtpm *v = c->config->vtpm;
	char server[96], ctrl_dir[4200], ctrl[4300], dir[4096], log[4200], user[64];
	uid_t uid = 0;
	gid_t gid = 0;
	int r, ctrl_fd, log_fd;

	if (!v)
		return 0;
	/* inside the container's folder, no symlink on the way (checked again just now) */
	r = cm_confine_path(d, c->uuid, "vtpm.state_path", v->state_path, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = vtpm_user(c, user, sizeof(user), &uid, &gid);
	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", dir, strerror(errno));
	r = vtpm_manufacture(v, dir);
	if (r < 0)
		return r;
	r = chown_state(dir, uid, gid);
	if (r < 0)
		return r;
	snprintf(ctrl_dir, sizeof(ctrl_dir), "%s/%s/vtpm", d->run_dir, c->uuid);
	snprintf(ctrl, sizeof(ctrl), "%s/ctrl.sock", ctrl_dir);
	snprintf(log, sizeof(log), "%s/%s/vtpm.log", d->run_dir, c->uuid);
	if (mkdir(ctrl_dir, 0700) < 0 && errno != EEXIST)
		return err_set(-errno, "%s: %s", ctrl_dir, strerror(errno));
	if (chown(ctrl_dir, uid, gid) < 0)
		return err_set(-errno, "%s: %s", ctrl_dir, strerror(errno));
	ctrl_fd = ctrl_socket(ctrl, uid, gid);
	if (ctrl_fd < 0)
		return ctrl_fd;
	if ((log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) <
	    0) {
		r = err_set(-errno, "%s: %s", log, strerror(errno));
		close(ctrl_fd);
		return r;
	}
	snprintf(server, sizeof(server), "type=tcp,port=%u,bindaddr=127.0.0.1", c->vtpm_port);
	const char *argv[24];
	int n = 0;
	argv[n++] = "swtpm";
	argv[n++] = "socket";
	if (!strcmp(v->version, "2"))
		argv[n++] = "--tpm2";
	argv[n++] = "--tpmstate";
	argv[n++] = "dir=."; /* its cwd: swtpm's user cannot pass containers/<uuid>/ */
	argv[n++] = "--server";
	argv[n++] = server;
	argv[n++] = "--ctrl";
	argv[n++] = "type=unixio,fd=3";
	argv[n++] = "--log";
	argv[n++] = "fd=4";
	argv[n++] = "--flags";
	argv[n++] = "not-need-init,startup-clear";
	argv[n++] = "--runas";
	argv[n++] = user;
	argv[n++] = "--seccomp";
	argv[n++] = "action=kill";
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int a = fcntl(ctrl_fd, F_DUPFD, 10), b = fcntl(log_fd, F_DUPFD, 10);
		cm_child_reset_signals();
		if (a < 0 || b < 0)
			_exit(126);
		if (dup2(a, 3) < 0)
			_exit(126);
		if (dup2(b, 4) < 0)
			_exit(126);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close_range(5, ~0U, 0);
		if (c->config->netns)
			enter_netns(c->init_pid);
		if (chdir(dir) < 0)
			_exit(126);
		execvp("swtpm", (char *const *)argv);
		_exit(127);
	}
	r = pid < 0 ? err_set(-errno, "fork: %s", strerror(errno)) : 0;
	close(ctrl_fd);
	close(log_fd);
	if (r < 0)
		return r;
	c->vtpm_pid = pid;
	for (int i = 0; i < 300 && !listening(pid, c->vtpm_port); i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			c->vtpm_pid = 0;
			return err_set(-EIO, "swtpm exited at start (see %s)", log);
		}
		sleep_ms(10);
	}
	if (!listening(pid, c->vtpm_port))
		return err_set(-ETIMEDOUT, "swtpm is not listening after 3 s");

	pid = fork();
	if (pid == 0)
		filter_main(c, ctrl_dir, uid, gid);
	if (pid < 0)
		return err_set(-errno, "fork: %s", strerror(errno));
	c->vtpm_filter_pid = pid;
	for (int i = 0; i < 300 && !listening(pid, c->vtpm_port + 1); i++) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			c->vtpm_filter_pid = 0;
			return err_set(-EIO, "the vTPM control filter exited at start (status %d)",
				       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		sleep_ms(10);
	}
	if (!listening(pid, c->vtpm_port + 1))
		return err_set(-ETIMEDOUT, "the vTPM control filter is not listening after 3 s");
	return 0;
}

static void stop_one(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(*pid, NULL, WNOHANG) != 0)
			break;
		sleep_ms(10);
		if (i == 150)
			kill(*pid, SIGKILL);
	}
	*pid = 0;
}

void cm_vtpm_stop(struct cmld *d, struct cm_container *c)
{
	(void)d;
	stop_one(&c->vtpm_filter_pid);
	stop_one(&c->vtpm_pid);
}
