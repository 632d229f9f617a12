// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "chan.h"
#include "err.h"
#include "frame.h"

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

struct chan_qmsg {
	struct chan_qmsg *next;
	uint32_t type;
	uint64_t id;
	size_t len;
	uint8_t body[];
};

static void qmsg_free(struct chan_qmsg *m)
{
	OPENSSL_cleanse(m->body, m->len);
	free(m);
}

int chan_queue_send(int fd, struct chan_queue *q, uint32_t type, uint64_t id, const void *body,
		    size_t len)
{
	struct chan_qmsg *m;
	int rc;

	if (!q->head) {
		rc = chan_send(fd, type, id, body, len);
		if (rc != -EAGAIN)
			return rc;
		q->since_ms = frame_now_ms();
	}
	if (q->bytes + len > q->max)
		return err_set(-ENOBUFS, "%zu bytes waiting on the channel (at most %zu)",
			       q->bytes + len, q->max);
	m = malloc(sizeof(*m) + len);
	if (!m)
		return err_set(-ENOMEM, "out of memory for a channel message of %zu bytes", len);
	*m = (struct chan_qmsg){.type = type, .id = id, .len = len};
	if (len)
		memcpy(m->body, body, len);
	if (q->last)
		q->last->next = m;
	else
		q->head = m;
	q->last = m;
	q->bytes += len;
	return 0;
}

int chan_queue_flush(int fd, struct chan_queue *q)
{
	while (q->head) {
		struct chan_qmsg *m = q->head;
		int rc = chan_send(fd, m->type, m->id, m->body, m->len);

		if (rc == -EAGAIN)
			return 0;
		if (rc < 0)
			return rc;
		q->head = m->next;
		if (!q->head)
			q->last = NULL;
		q->bytes -= m->len;
		q->since_ms = frame_now_ms(); /* progress: waiting starts again */
		qmsg_free(m);
	}
	return 0;
}

void chan_queue_clear(struct chan_queue *q)
{
	while (q->head) {
		struct chan_qmsg *m = q->head;

		q->head = m->next;
		qmsg_free(m);
	}
	q->last = NULL;
	q->bytes = 0;
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
