/* SPDX-License-Identifier: MIT */
/*
 * Container confinement beyond the namespaces (see cm_confine.h).  The
 * seccomp filter allows by default and refuses, with EPERM, what a container
 * has no business doing to the shared kernel (Docker's default profile, the
 * same calls): loading or removing modules, kexec, BPF, the kernel keyring,
 * perf, file handles (open_by_handle_at reaches any file of a mounted file
 * system), swap, accounting, userfaultfd.  Mount and namespace calls are
 * refused too unless CAP_SYS_ADMIN is kept, the clock unless CAP_SYS_TIME is
 * (allow_system_time).  clone3 answers ENOSYS, since a filter cannot see its
 * flags: the C library falls back to clone, whose flags it can.  Calls of
 * another architecture than the ones added here kill the process, so a
 * 32-bit entry point cannot bypass the rules.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm_confine.h"
#include "err.h"

#define CAPBIT(c) (1ULL << (c))

#define CAP_NAMES(X)                            \
	X(CHOWN, "chown")                       \
	X(DAC_OVERRIDE, "dac_override")         \
	X(DAC_READ_SEARCH, "dac_read_search")   \
	X(FOWNER, "fowner")                     \
	X(FSETID, "fsetid")                     \
	X(KILL, "kill")                         \
	X(SETGID, "setgid")                     \
	X(SETUID, "setuid")                     \
	X(SETPCAP, "setpcap")                   \
	X(LINUX_IMMUTABLE, "linux_immutable")   \
	X(NET_BIND_SERVICE, "net_bind_service") \
	X(NET_BROADCAST, "net_broadcast")       \
	X(NET_ADMIN, "net_admin")               \
	X(NET_RAW, "net_raw")                   \
	X(IPC_LOCK, "ipc_lock")                 \
	X(IPC_OWNER, "ipc_owner")               \
	X(SYS_MODULE, "sys_module")             \
	X(SYS_RAWIO, "sys_rawio")               \
	X(SYS_CHROOT, "sys_chroot")             \
	X(SYS_PTRACE, "sys_ptrace")             \
	X(SYS_PACCT, "sys_pacct")               \
	X(SYS_ADMIN, "sys_admin")               \
	X(SYS_BOOT, "sys_boot")                 \
	X(SYS_NICE, "sys_nice")                 \
	X(SYS_RESOURCE, "sys_resource")         \
	X(SYS_TIME, "sys_time")                 \
	X(SYS_TTY_CONFIG, "sys_tty_config")     \
	X(MKNOD, "mknod")                       \
	X(LEASE, "lease")                       \
	X(AUDIT_WRITE, "audit_write")           \
	X(AUDIT_CONTROL, "audit_control")       \
	X(SETFCAP, "setfcap")                   \
	X(MAC_OVERRIDE, "mac_override")         \
	X(MAC_ADMIN, "mac_admin")               \
	X(SYSLOG, "syslog")                     \
	X(WAKE_ALARM, "wake_alarm")             \
	X(BLOCK_SUSPEND, "block_suspend")       \
	X(AUDIT_READ, "audit_read")             \
	X(PERFMON, "perfmon")                   \
	X(BPF, "bpf")                           \
	X(CHECKPOINT_RESTORE, "checkpoint_restore")

static const struct {
	int cap;
	const char *name;
} cap_names[] = {
#define CAP_ENTRY(c, n) {CAP_##c, n},
	CAP_NAMES(CAP_ENTRY)
#undef CAP_ENTRY
};

/* Docker's default set: what an ordinary init and its services use */
#define DOCKER_CAPS                                                                               \
	(CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) | CAPBIT(CAP_FOWNER) | \
	 CAPBIT(CAP_MKNOD) | CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) |      \
	 CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) |               \
	 CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE))

uint32_t cm_confine_cpu_default(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus > 1 ? (uint32_t)(cpus - 1) * 100 : 50;
}

void cm_confine_defaults(struct cm_confine_conf *ret)
{
	*ret = (struct cm_confine_conf){.caps = DOCKER_CAPS,
					.seccomp = true,
					.pids_max = CM_CONFINE_PIDS_MAX_DEFAULT,
					.memory_mib = CM_CONFINE_MEMORY_MIB_DEFAULT,
					.cpu_percent = cm_confine_cpu_default()};
}

int cm_confine_caps_parse(const char *list, uint64_t *ret)
{
	uint64_t caps = 0;
	const char *p = list;

	if (!strcasecmp(list, "none")) {
		*ret = 0;
		return 0;
	}
	if (!strcasecmp(list, "all")) {
		for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
			caps |= CAPBIT(cap_names[i].cap);
		*ret = caps;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *name = p;
		bool found = false;
		if (len > 4 && !strncasecmp(name, "cap_", 4)) {
			name += 4;
			len -= 4;
		}
		for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]) && !found; i++)
			if (strlen(cap_names[i].name) == len &&
			    !strncasecmp(cap_names[i].name, name, len)) {
				caps |= CAPBIT(cap_names[i].cap);
				found = true;
			}
		if (!found)
			return err_set(-EINVAL, "--container-caps: no capability '%.*s'", (int)len,
				       name);
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	*ret = caps;
	return 0;
}

void cm_confine_caps_format(uint64_t caps, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps & CAPBIT(cap_names[i].cap) && used < size) {
			int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
					 cap_names[i].name);
			used += n > 0 ? (size_t)n : 0;
		}
	if (!buf[0])
		snprintf(buf, size, "none");
}

static const char *const refused_always[] = {"acct",
					     "add_key",
					     "bpf",
					     "create_module",
					     "delete_module",
					     "finit_module",
					     "get_kernel_syms",
					     "init_module",
					     "ioperm",
					     "iopl",
					     "kexec_file_load",
					     "kexec_load",
					     "keyctl",
					     "lookup_dcookie",
					     "name_to_handle_at",
					     "nfsservctl",
					     "open_by_handle_at",
					     "perf_event_open",
					     "query_module",
					     "request_key",
					     "swapoff",
					     "swapon",
					     "syslog",
					     "uselib",
					     "userfaultfd",
					     "vm86",
					     "vm86old",
					     NULL};
/* without CAP_SYS_ADMIN: no new mounts or namespaces (a new user namespace regains every capability) */
static const char *const refused_sys_admin[] = {
	"fsconfig",  "fsmount",	   "fsopen", "fspick", "mount",	  "mount_setattr", "move_mount",
	"open_tree", "pivot_root", "setns",  "umount", "umount2", "unshare",	   NULL};
static const char *const refused_sys_time[] = {"clock_adjtime",
					       "clock_adjtime64",
					       "clock_settime",
					       "clock_settime64",
					       "settimeofday",
					       "stime",
					       NULL};

static int refuse_all(scmp_filter_ctx ctx, const char *const *names)
{
	for (; *names; names++) {
		int nr = seccomp_syscall_resolve_name(*names), r;
		if (nr == __NR_SCMP_ERROR)
			continue; /* a call this libseccomp does not know on any architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			return err_set(r, "seccomp rule for %s: %s", *names, strerror(-r));
	}
	return 0;
}

static int add_arch(scmp_filter_ctx ctx, uint32_t arch)
{
	int r = seccomp_arch_add(ctx, arch);

	return r == -EEXIST ? 0 : r;
}

static int seccomp_default(uint64_t keep)
{
	static const unsigned long ns_flags[] = {CLONE_NEWNS,	 CLONE_NEWUTS, CLONE_NEWIPC,
						 CLONE_NEWUSER,	 CLONE_NEWPID, CLONE_NEWNET,
						 CLONE_NEWCGROUP};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint32_t native = seccomp_arch_native();
	int r;

	if (!ctx)
		return err_set(-ENOMEM, "seccomp: out of memory");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* the compatibility entry points, each filtered by the same rules */
	if (r == 0 && native == SCMP_ARCH_X86_64)
		r = add_arch(ctx, SCMP_ARCH_X86);
	if (r == 0 && native == SCMP_ARCH_X86_64)
		r = add_arch(ctx, SCMP_ARCH_X32);
	if (r == 0 && native == SCMP_ARCH_AARCH64)
		r = add_arch(ctx, SCMP_ARCH_ARM);
	if (r < 0) {
		r = err_set(r, "seccomp architectures: %s", strerror(-r));
		goto out;
	}
	r = refuse_all(ctx, refused_always);
	if (r < 0)
		goto out;
	if (!(keep & CAPBIT(CAP_SYS_TIME))) {
		r = refuse_all(ctx, refused_sys_time);
		if (r < 0)
			goto out;
	}
	if (!(keep & CAPBIT(CAP_SYS_ADMIN))) {
		r = refuse_all(ctx, refused_sys_admin);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
			if (r < 0) {
				r = err_set(r, "seccomp rule for clone: %s", strerror(-r));
				goto out;
			}
		}
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		if (r < 0) {
			r = err_set(r, "seccomp rule for clone3: %s", strerror(-r));
			goto out;
		}
	}
	r = seccomp_load(ctx);
	if (r < 0)
		r = err_set(r, "loading the seccomp filter: %s", strerror(-r));
out:
	seccomp_release(ctx);
	return r;
}

int cm_confine_apply(const struct cm_confine_conf *conf, const ContainerConfig *cfg)
{
	struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2];
	uint64_t keep = conf->caps | (cfg->allow_system_time ? CAPBIT(CAP_SYS_TIME) : 0);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(-errno, "no_new_privs: %s", strerror(errno));
	for (int cap = 0; cap < 64; cap++) {
		int have = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (have < 0)
			break; /* past the kernel's last capability */
		if (have && !(keep & CAPBIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return err_set(-errno, "dropping capability %d from the bounding set: %s",
				       cap, strerror(errno));
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_set(-errno, "clearing the ambient capabilities: %s", strerror(errno));
	if (syscall(SYS_capget, &head, caps) < 0)
		return err_set(-errno, "capget: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));
		caps[i].inheritable = 0;
		caps[i].permitted &= k;
		caps[i].effective &= k;
	}
	if (syscall(SYS_capset, &head, caps) < 0)
		return err_set(-errno, "capset: %s", strerror(errno));
	return conf->seccomp ? seccomp_default(keep) : 0;
}

int cm_confine_check(bool provisioned, const ContainerConfig *cfg)
{
	if (provisioned && !cfg->userns)
		return err_set(-EPERM, "userns: false is refused on a provisioned device "
				       "(the container's root would be the host's root)");
	return 0;
}
