// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "err.h"

int chan_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return err_set(-errno, "socketpair: %s", strerror(errno));
	return 0;
}

int chan_send(int fd, uint32_t type, uint64_t id, const void *body, size_t len)
{
	struct chan_hdr hdr = {.type = type, .len = (uint32_t)len, .id = id};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)body, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	ssize_t n;

	if (sizeof(hdr) + len > CHAN_MSG_MAX)
		return err_set(-EMSGSIZE, "channel message of %zu bytes", len);
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return err_set(-EAGAIN, "the channel is full");
	if (n < 0)
		return err_set(errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno,
			       "channel: %s", strerror(errno));
	return 0;
}

int chan_recv(int fd, struct chan_hdr *hdr, void *body, size_t cap)
{
	struct iovec iov[2] = {{hdr, sizeof(*hdr)}, {body, cap}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	do
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (n < 0)
		return err_set(-EPIPE, "channel: %s", strerror(errno));
	if (n == 0)
		return err_set(-EPIPE, "channel closed");
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return err_set(-EBADMSG, "channel message longer than %zu bytes", cap);
	if ((size_t)n < sizeof(*hdr) || hdr->len != (size_t)n - sizeof(*hdr))
		return err_set(-EBADMSG, "channel message of %zd bytes with a header saying %u", n,
			       (size_t)n < sizeof(*hdr) ? 0 : hdr->len);
	return 0;
}

pid_t chan_fork(int *ret_fd)
{
	int fds[2], rc = chan_pair(fds);
	pid_t pid;

	if (rc < 0)
		return rc;
	pid = fork();
	if (pid < 0) {
		rc = err_set(-errno, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		*ret_fd = fds[1];
		return 0;
	}
	close(fds[1]);
	*ret_fd = fds[0];
	return pid;
}

const char *chan_child_status(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d%s", WTERMSIG(status),
			 WTERMSIG(status) == SIGSYS ? " (a system call outside its sandbox)" : "");
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	return buf;
}
