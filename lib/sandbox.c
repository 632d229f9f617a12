// SPDX-License-Identifier: MIT
/*
 * The sandbox of an unprivileged daemon process.  Landlock and seccomp are
 * both used: Landlock says "no file, no TCP port, no signal out" in terms the
 * kernel checks on objects; the seccomp list takes away whole system calls
 * (open, connect, execve, ptrace, kill, ...) the engine never needs, and is
 * what remains on a kernel without Landlock.
 */
#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "sandbox.h"

int sandbox_setuser(const char *user)
{
	struct passwd *pw = getpwnam(user);
	uid_t r, e, s;

	if (!pw)
		return err_set(-ENOENT, "no user %s", user);
	if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return err_set(-errno, "dropping to %s: %s", user, strerror(errno));
	if (getresuid(&r, &e, &s) < 0 || r != pw->pw_uid || e != pw->pw_uid || s != pw->pw_uid)
		return err_set(-EPERM, "still not %s after setresuid", user);
	return 0;
}

int sandbox_drop_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	/* the bounding set needs CAP_SETPCAP: drop what we may, before capset */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data) == 0)
		return 0;
	/* a filter that forbids capset is fine if there is nothing to drop */
	int e = errno;

	if (syscall(SYS_capget, &hdr, data) == 0 && !data[0].permitted && !data[1].permitted &&
	    !data[0].effective && !data[1].effective)
		return 0;
	return err_set(-e, "dropping capabilities: %s", strerror(e));
}

void sandbox_close_fds_except(const int *keep, size_t n)
{
	int max = (int)sysconf(_SC_OPEN_MAX);

	for (int fd = 3; fd < max; fd++) {
		bool kept = false;

		for (size_t i = 0; i < n && !kept; i++)
			kept = keep[i] == fd;
		if (kept)
			continue;
		/* the next kept descriptor above fd bounds one close_range */
		int next = max;

		for (size_t i = 0; i < n; i++)
			if (keep[i] > fd && keep[i] < next)
				next = keep[i];
		syscall(SYS_close_range, (unsigned)fd, (unsigned)(next - 1), 0);
		fd = next;
	}
}

/* The Landlock ABI as of Linux 6.12; older kernels take a prefix of the attribute. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_ACCESS_FS_ABI1	  ((1ull << 13) - 1) /* execute .. make_sym */
#define LL_ACCESS_FS_REFER	  (1ull << 13)	     /* ABI 2 */
#define LL_ACCESS_FS_TRUNCATE	  (1ull << 14)	     /* ABI 3 */
#define LL_ACCESS_FS_IOCTL_DEV	  (1ull << 15)	     /* ABI 5 */
#define LL_ACCESS_NET_ALL	  3ull		     /* bind_tcp, connect_tcp: ABI 4 */
#define LL_SCOPE_ALL		  3ull		     /* abstract unix sockets, signals: ABI 6 */

static int landlock_nothing(int *ret_abi)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	struct ll_ruleset_attr attr = {.handled_access_fs = LL_ACCESS_FS_ABI1};
	size_t size = sizeof(attr.handled_access_fs);
	long fd;

	*ret_abi = 0;
	if (abi < 1)
		return 0; /* not built in or disabled: seccomp still applies */
	if (abi >= 2)
		attr.handled_access_fs |= LL_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_ACCESS_FS_IOCTL_DEV;
	if (abi >= 4) {
		attr.handled_access_net = LL_ACCESS_NET_ALL;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ALL;
		size = sizeof(attr);
	}
	/* no rules: nothing that is handled is allowed */
	fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return err_set(-errno, "landlock_create_ruleset: %s", strerror(errno));
	if (syscall(SYS_landlock_restrict_self, (int)fd, 0) < 0) {
		int rc = err_set(-errno, "landlock_restrict_self: %s", strerror(errno));

		close((int)fd);
		return rc;
	}
	close((int)fd);
	*ret_abi = (int)abi;
	return 0;
}

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

/* What the engine does: its event loop (lib/evloop), accept, read/write/pread, TLS, memory, time, exit. */
// clang-format off
static const int engine_syscalls[] = {
	SYS_read,
	SYS_write,
	SYS_readv,
	SYS_writev,
	SYS_pread64,
	SYS_close,
	SYS_ppoll,
	SYS_epoll_ctl,
	SYS_epoll_pwait,
	SYS_accept4,
	SYS_recvfrom,
	SYS_sendto,
	SYS_recvmsg,
	SYS_sendmsg,
	SYS_shutdown,
	SYS_setsockopt,
	SYS_getsockopt,
	SYS_getsockname,
	SYS_getpeername,
	SYS_fcntl,
	SYS_fstat,
	SYS_newfstatat,
	SYS_lseek,
	SYS_mmap,
	SYS_munmap,
	SYS_mremap,
	SYS_mprotect,
	SYS_brk,
	SYS_madvise,
	SYS_clock_gettime,
	SYS_gettimeofday,
	SYS_clock_nanosleep,
	SYS_nanosleep,
	SYS_getpid,
	SYS_gettid,
	SYS_getrandom,
	SYS_futex,
	SYS_rt_sigreturn,
	SYS_rt_sigprocmask,
	SYS_rt_sigaction,
	SYS_sigaltstack,
	SYS_restart_syscall,
	SYS_exit,
	SYS_exit_group,
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_epoll_wait
	SYS_epoll_wait,
#endif
#ifdef SANDBOX_SANITIZER
	/* the sanitizers' runtime: reports read /proc/self/maps, threads yield */
	SYS_openat,
	SYS_readlink,
	SYS_sched_yield,
	SYS_prlimit64,
	SYS_getrlimit,
	SYS_prctl,
	SYS_mincore,
#endif
};
// clang-format on

/*
 * What cmld's control process does: poll, accept and check peers, frame and
 * decode, talk to the parent over its channel; no file is read by offset.
 */
// clang-format off
static const int cmld_control_syscalls[] = {
	SYS_read,	   SYS_write,	      SYS_close,	 SYS_ppoll,	  SYS_accept4,
	SYS_recvfrom,	   SYS_sendto,	      SYS_recvmsg,	 SYS_sendmsg,	  SYS_getsockopt,
	SYS_fcntl,	   SYS_fstat,	      SYS_newfstatat,	 SYS_mmap,	  SYS_munmap,
	SYS_mprotect,	   SYS_brk,	      SYS_madvise,	 SYS_mlock,	  SYS_munlock,
	SYS_mremap, /* realloc of large blocks: the queued answers */
	SYS_clock_gettime, SYS_gettimeofday,  SYS_getpid,	 SYS_gettid,	  SYS_getrandom,
	SYS_futex,	   SYS_rt_sigreturn,  SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_exit,
	SYS_restart_syscall, SYS_exit_group, SYS_epoll_ctl, SYS_epoll_pwait,
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_epoll_wait
	SYS_epoll_wait,
#endif
#ifdef SANDBOX_SANITIZER
	SYS_openat,	   SYS_readlink,      SYS_sched_yield,	 SYS_prlimit64,	  SYS_getrlimit,
	SYS_prctl,	   SYS_mincore,	      SYS_sigaltstack,	 SYS_lseek,
	SYS_nanosleep,	   SYS_clock_nanosleep,
#endif
};
// clang-format on

static int seccomp_allow_list(const int *nr, size_t n)
{
	struct sock_filter prog[4 + 2 * 64 + 1];
	size_t k = 0;

	if (n > 64)
		return err_set(-E2BIG, "seccomp: %zu system calls", n);
#ifndef SANDBOX_AUDIT_ARCH
	return err_set(-ENOTSUP, "seccomp: no filter for this architecture");
#else
	/* another architecture's numbers mean other calls: refuse them outright */
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	prog[k++] =
		(struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0);
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < n; i++) {
		prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr[i],
							 0, 1);
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);

	struct sock_fprog fprog = {.len = (unsigned short)k, .filter = prog};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
		return err_set(-errno, "seccomp: %s", strerror(errno));
	return 0;
#endif
}

int sandbox_enter(enum sandbox_profile profile, struct sandbox_report *ret)
{
	struct sandbox_report r = {0};
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(-errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	rc = landlock_nothing(&r.landlock_abi);
	if (rc < 0)
		return rc;
	if (profile == SANDBOX_CMLD_CONTROL)
		rc = seccomp_allow_list(cmld_control_syscalls,
					sizeof(cmld_control_syscalls) /
						sizeof(cmld_control_syscalls[0]));
	else
		rc = seccomp_allow_list(engine_syscalls,
					sizeof(engine_syscalls) / sizeof(engine_syscalls[0]));
	if (rc < 0)
		return rc;
	r.seccomp = true;
	if (ret)
		*ret = r;
	return 0;
}
