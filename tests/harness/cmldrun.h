/* SPDX-License-Identifier: MIT */
/* A cmld of our own for the integration tests (root). */
#ifndef MEASURED_CMLDRUN_H
#define MEASURED_CMLDRUN_H

#include <sys/types.h>

/*
 * Starts bin_path("cmld") with @argv (argv[0] "cmld", NULL-ended), its stderr
 * appended to @log, killed when the test dies; waits (up to 2 s) for
 * @socket_path to appear.  Returns its pid.
 */
pid_t cmld_spawn(const char *const argv[], const char *log, const char *socket_path);

/* Sends @sig to @pid (when > 0) and reaps it; returns the wait status. */
int cmld_reap(pid_t pid, int sig);

#endif
