/* SPDX-License-Identifier: MIT */
/* Helper processes of cmld (mkfs, ip, swtpm_setup, ...). */
#ifndef MEASURED_CM_PROC_H
#define MEASURED_CM_PROC_H

#include <sys/types.h>

/* In a forked child before exec: the signal mask and dispositions cmld set, undone. */
void cm_child_reset_signals(void);
/*
 * Runs @argv (stdin and stdout /dev/null) and waits, in @netns_pid's network
 * namespace when > 0; a failure names the command and its first line of stderr.
 */
int cm_run(pid_t netns_pid, char *const argv[]);

#endif
