// SPDX-License-Identifier: MIT
/* Start and stop a private swtpm for tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swtpm.h"

static bool port_free(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool port_answers(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static pid_t spawn(const struct swtpm *s, bool started)
{
	char state[300], server[64], ctrl[64];
	pid_t pid;

	snprintf(state, sizeof(state), "dir=%s", s->state_dir);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", s->port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", s->port + 1);
	pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
	       "--ctrl", ctrl, "--flags", started ? "not-need-init,startup-clear" : "not-need-init",
	       (char *)NULL);
	fprintf(stderr, "swtpm harness: cannot run swtpm: %s\n", strerror(errno));
	_exit(127);
}

static int start_on_state(struct swtpm *s, bool started);

int swtpm_restart(struct swtpm *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = spawn(s, true);
	for (int i = 0; s->pid > 0 && i < 200; i++) {
		if (port_answers(s->port))
			return 0;
		usleep(10000);
	}
	return -1;
}

int swtpm_start(struct swtpm *s, bool started)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->state_dir, sizeof(s->state_dir), "/tmp/measured-swtpm.XXXXXX");
	if (!mkdtemp(s->state_dir))
		return -errno;
	return start_on_state(s, started);
}

int swtpm_start_in(struct swtpm *s, const char *state_dir, bool started)
{
	memset(s, 0, sizeof(*s));
	if (strlen(state_dir) >= sizeof(s->state_dir))
		return -ENAMETOOLONG;
	strcpy(s->state_dir, state_dir);
	return start_on_state(s, started);
}

static int start_on_state(struct swtpm *s, bool started)
{
	srand((unsigned)(getpid() ^ time(NULL)));
	for (int attempt = 0; attempt < 20; attempt++) {
		int status;

		s->port = 20000 + 2 * (rand() % 15000);
		if (!port_free(s->port) || !port_free(s->port + 1))
			continue;
		s->pid = spawn(s, started);
		if (s->pid < 0)
			return -errno;
		/* up to 5 s for swtpm to listen; retry elsewhere if it died (port taken) */
		for (int i = 0; i < 500; i++) {
			if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
				s->pid = 0;
				break;
			}
			if (port_answers(s->port + 1) && port_answers(s->port)) {
				snprintf(s->tcti, sizeof(s->tcti), "swtpm:host=127.0.0.1,port=%d",
					 s->port);
				return 0;
			}
			usleep(10000);
		}
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = 0;
		}
	}
	swtpm_stop(s);
	return -EADDRINUSE;
}

int swtpm_start_manufactured(struct swtpm *s, const char *dir)
{
	char cmd[4096], state[300];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p ca state && "
		 "printf 'statedir = %s/ca\\nsigningkey = %s/ca/signkey.pem\\nissuercert = "
		 "%s/ca/issuercert.pem\\ncertserial = %s/ca/certserial\\n' > localca.conf && "
		 "touch localca.options && "
		 "printf 'create_certs_tool = /usr/bin/swtpm_localca\\ncreate_certs_tool_config = "
		 "%s/localca.conf\\ncreate_certs_tool_options = %s/localca.options\\n' > "
		 "setup.conf && "
		 "swtpm_setup --tpm2 --tpmstate %s/state --create-ek-cert --config %s/setup.conf "
		 "--pcr-banks sha256 >/dev/null 2>&1 && "
		 "cat ca/issuercert.pem ca/swtpm-localca-rootca-cert.pem > ca-bundle.pem",
		 dir, dir, dir, dir, dir, dir, dir, dir, dir);
	if (system(cmd) != 0)
		return -EIO;
	snprintf(state, sizeof(state), "%s/state", dir);
	return swtpm_start_in(s, state, true);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void swtpm_stop(struct swtpm *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->state_dir[0])
		nftw(s->state_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	s->state_dir[0] = '\0';
}
