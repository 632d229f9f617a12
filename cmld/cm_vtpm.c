/* SPDX-License-Identifier: MIT */
/*
 * One swtpm per container that asks for a vTPM (ContainerConfig.vtpm).
 * Its state lives in vtpm.state_path, a folder inside the container's
 * containers/<uuid>/ (relative to it; see cm_confine_path) (made with swtpm_setup on
 * first start: EK, and with create_certs the EK and platform certificates
 * from swtpm's local CA).  swtpm runs as vtpm.run_as, listening on
 * 127.0.0.1:2321/2322 inside the container's network namespace, so only the
 * container reaches it; the container finds it through TPM2TOOLS_TCTI and
 * TCTI ("swtpm:host=127.0.0.1,port=2321").  Without a network namespace it
 * listens on a free port of the host's loopback instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmld.h"
#include "err.h"
#include "fileio.h"

#define VTPM_PORT 2321

static int free_port_pair(unsigned *ret)
{
	for (int attempt = 0; attempt < 32; attempt++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(a);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s2;
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
			if (s >= 0)
				close(s);
			return err_set(-errno, "no free port: %s", strerror(errno));
		}
		unsigned port = ntohs(a.sin_port);
		close(s);
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
	if (!c->config->netns && (r = free_port_pair(&c->vtpm_port)) < 0)
		return r;
	snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%u", c->vtpm_port);
	*env = calloc(3, sizeof(char *));
	if (!*env || asprintf(&(*env)[0], "TPM2TOOLS_TCTI=%s", tcti) < 0 ||
	    asprintf(&(*env)[1], "TCTI=%s", tcti) < 0)
		return err_set(-ENOMEM, "out of memory");
	*n_env = 2;
	return 0;
}

/* swtpm_setup on an empty state folder. */
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
	if (v->run_as) {
		argv[n++] = "--runas";
		argv[n++] = v->run_as;
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

int cm_vtpm_start(struct cmld *d, struct cm_container *c)
{
	ContainerVtpm *v = c->config->vtpm;
	char state[4200], server[96], ctrl[96], log[1024], dir[4096];
	struct passwd *pw = NULL;
	int r;

	if (!v)
		return 0;
	/* inside the container's folder, no symlink on the way (checked again just now) */
	if ((r = cm_confine_path(d, c->uuid, "vtpm.state_path", v->state_path, dir, sizeof(dir))) <
	    0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", dir, strerror(errno));
	if (v->run_as) {
		if (!(pw = getpwnam(v->run_as)))
			return err_set(-EINVAL, "vtpm.run_as: no user '%s'", v->run_as);
		if (lchown(dir, pw->pw_uid, pw->pw_gid) < 0)
			return err_set(-errno, "chown %s: %s", dir, strerror(errno));
	}
	if ((r = vtpm_manufacture(v, dir)) < 0)
		return r;
	snprintf(state, sizeof(state), "dir=%s", dir);
	snprintf(server, sizeof(server), "type=tcp,port=%u,bindaddr=127.0.0.1", c->vtpm_port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%u,bindaddr=127.0.0.1", c->vtpm_port + 1);
	snprintf(log, sizeof(log), "file=%s/%s/vtpm.log", d->run_dir, c->uuid);
	const char *argv[20];
	int n = 0;
	argv[n++] = "swtpm";
	argv[n++] = "socket";
	if (!strcmp(v->version, "2"))
		argv[n++] = "--tpm2";
	argv[n++] = "--tpmstate";
	argv[n++] = state;
	argv[n++] = "--server";
	argv[n++] = server;
	argv[n++] = "--ctrl";
	argv[n++] = ctrl;
	argv[n++] = "--flags";
	argv[n++] = "not-need-init,startup-clear";
	argv[n++] = "--log";
	argv[n++] = log;
	if (v->run_as) {
		argv[n++] = "--runas";
		argv[n++] = v->run_as;
	}
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid < 0)
		return err_set(-errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		cm_child_reset_signals();
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close_range(3, ~0U, 0);
		if (c->config->netns) {
			char ns[64];
			snprintf(ns, sizeof(ns), "/proc/%d/ns/net", c->init_pid);
			int fd = open(ns, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				_exit(126);
		}
		execvp("swtpm", (char *const *)argv);
		_exit(127);
	}
	c->vtpm_pid = pid;
	for (int i = 0; i < 300; i++) {
		if (listening(pid, c->vtpm_port))
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			c->vtpm_pid = 0;
			return err_set(-EIO, "swtpm exited at start (see %s)", log + 5);
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return err_set(-ETIMEDOUT, "swtpm is not listening after 3 s");
}

void cm_vtpm_stop(struct cmld *d, struct cm_container *c)
{
	(void)d;
	if (c->vtpm_pid <= 0)
		return;
	kill(c->vtpm_pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(c->vtpm_pid, NULL, WNOHANG) != 0)
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (i == 150)
			kill(c->vtpm_pid, SIGKILL);
	}
	c->vtpm_pid = 0;
}
