// SPDX-License-Identifier: MIT
/* Helper processes of cmld: running a tool and waiting for it, a child's signals. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_proc.h"
#include "err.h"

void cm_child_reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
}

/*
 * Runs @argv (stdin and stdout /dev/null) and waits; in the network namespace
 * of @netns_pid when > 0.  A failure names the command and its first line of
 * stderr.
 */
int cm_run(pid_t netns_pid, char *const argv[])
{
	int status, errp[2], r;
	char msg[256] = "";
	ssize_t n;
	pid_t pid;

	if (pipe2(errp, O_CLOEXEC) < 0)
		return err_set(-errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		r = err_set(-errno, "fork: %s", strerror(errno));
		close(errp[0]);
		close(errp[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		cm_child_reset_signals();
		dup2(null, 0);
		dup2(null, 1);
		dup2(errp[1], 2);
		if (netns_pid > 0) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/ns/net", netns_pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				_exit(126);
			if (setns(fd, CLONE_NEWNET) < 0)
				_exit(126);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(errp[1]);
	/* keep the start, drain the rest: a chatty child must not block on a full pipe */
	size_t have = 0;
	char sink[4096];
	while ((n = read(errp[0], have < sizeof(msg) - 1 ? msg + have : sink,
			 have < sizeof(msg) - 1 ? sizeof(msg) - 1 - have : sizeof(sink))) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && have < sizeof(msg) - 1)
			have += (size_t)n;
	}
	close(errp[0]);
	msg[have] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char cmd[256] = "";
		for (int i = 0; argv[i]; i++)
			snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", i ? " " : "",
				 argv[i]);
		return err_set(-EIO, "'%s' failed: %s", cmd, msg[0] ? msg : "no reason given");
	}
	return 0;
}
