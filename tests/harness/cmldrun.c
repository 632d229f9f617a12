/* SPDX-License-Identifier: MIT */
#include "cmldrun.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

pid_t cmld_spawn(const char *const argv[], const char *log, const char *socket_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!freopen(log, "a", stderr))
			_exit(126);
		execv(bin_path("cmld"), (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(socket_path, F_OK) < 0; i++)
		usleep(10000);
	usleep(20000);
	return pid;
}

int cmld_reap(pid_t pid, int sig)
{
	int status = 0;

	if (pid <= 0)
		return 0;
	kill(pid, sig);
	waitpid(pid, &status, 0);
	return status;
}

int cmld_control(char **out, const char *sock, const char *pinfile, const char *fmt, ...)
{
	char args[4096];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	r = sh(out, "%s --socket %s --pin-file %s %s 2>&1 </dev/null", bin_path("control"), sock,
	       pinfile, args);
	if (out && *out && strstr(*out, "Sanitizer"))
		fail_msg("control %s: %s", args, *out);
	return r;
}

bool cmld_has_line(const char *text, const char *want)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, want, strlen(want)))
			return true;
	return false;
}

char *cmld_state(const char *sock, const char *pinfile, const char *c)
{
	char *out = NULL, *s, *st;

	cmld_control(&out, sock, pinfile, "state %s", c);
	st = out ? strstr(out, "state: ") : NULL;
	s = st ? strndup(st + 7, strcspn(st + 7, "\n")) : strdup("?");
	free(out);
	return s;
}
