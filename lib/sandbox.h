/* SPDX-License-Identifier: MIT */
/*
 * Confining a daemon's unprivileged process, the way OpenBSD daemons do it
 * with setresuid + chroot + pledge: here setresuid, no capabilities,
 * PR_SET_NO_NEW_PRIVS, Landlock with no access to any file or TCP port, and
 * a seccomp allow-list that kills the process on any other system call.
 */
#ifndef MEASURED_SANDBOX_H
#define MEASURED_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/* setgroups(gid) + setresgid + setresuid to @user, checked afterwards. */
int sandbox_setuser(const char *user);
/* Empties the permitted, effective, inheritable, ambient and (if allowed) bounding sets. */
int sandbox_drop_caps(void);

/* What sandbox_enter() could apply on this kernel. */
struct sandbox_report {
	int landlock_abi; /* 0: not available (seccomp still forbids open/connect) */
	bool seccomp;
};

/* Which seccomp allow-list sandbox_enter() applies. */
enum sandbox_profile {
	/* attestd's engine: poll, accept, read/write, pread its logs, TLS */
	SANDBOX_NET_ENGINE,
	/* cmld's control process: the same less pread and TLS's needs (no lseek, mremap) */
	SANDBOX_CMLD_CONTROL,
};

/*
 * PR_SET_NO_NEW_PRIVS, Landlock (no file access, no TCP bind/connect, no
 * signals or abstract sockets outside), then @profile's seccomp allow-list:
 * what the process needs to poll, accept, read, write inherited descriptors
 * and allocate memory.  Irreversible.
 */
int sandbox_enter(enum sandbox_profile profile, struct sandbox_report *ret);

/* Closes every descriptor from 3 up except the @n in @keep. */
void sandbox_close_fds_except(const int *keep, size_t n);

#endif
