/* SPDX-License-Identifier: MIT */
#include "cmldrun.h"

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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
