/* SPDX-License-Identifier: MIT */
/* A cmld of our own for the integration tests (root). */
#ifndef MEASURED_CMLDRUN_H
#define MEASURED_CMLDRUN_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Starts bin_path("cmld") with @argv (argv[0] "cmld", NULL-ended), its stderr
 * appended to @log, killed when the test dies; waits (up to 2 s) for
 * @socket_path to appear.  Returns its pid.
 */
pid_t cmld_spawn(const char *const argv[], const char *log, const char *socket_path);

/* Sends @sig to @pid (when > 0) and reaps it; returns the wait status. */
int cmld_reap(pid_t pid, int sig);

/*
 * Runs bin_path("control") against @sock with @pinfile and the arguments
 * @fmt makes; its exit status, stdout and stderr in *@out (may be NULL).  A
 * sanitizer report in the output fails the test.
 */
int cmld_control(char **out, const char *sock, const char *pinfile, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Whether @text has a line starting with @want (stderr's reason may come first). */
bool cmld_has_line(const char *text, const char *want);
/* The "state: X" control prints for container @c (malloc'd; "?" when there is none). */
char *cmld_state(const char *sock, const char *pinfile, const char *c);

#endif
