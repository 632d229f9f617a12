// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

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
