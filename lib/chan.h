/* SPDX-License-Identifier: MIT */
/*
 * The channel between a daemon's privileged process and its unprivileged
 * engine: a SOCK_SEQPACKET socketpair, one message per packet, each a fixed
 * header and a body whose length the receiver checks against what that type
 * must be.  A peer that sends anything else is broken, or taken over.
 */
#ifndef MEASURED_CHAN_H
#define MEASURED_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct chan_hdr {
	uint32_t type;
	uint32_t len; /* body bytes after the header */
	uint64_t id;  /* the sender's tag, echoed by the answer */
};

#define CHAN_MSG_MAX (64u << 10) /* header + body */

/* A connected pair, close-on-exec; fds[0] for the parent, fds[1] for the child. */
int chan_pair(int fds[2]);
/*
 * Sends one message.  -EAGAIN on a non-blocking channel that is full,
 * -EPIPE when the peer is gone.
 */
int chan_send(int fd, uint32_t type, uint64_t id, const void *body, size_t len);
/*
 * Receives one message into @hdr and @body (room for @cap bytes).  -EAGAIN
 * when none is waiting, -EPIPE on end of file, -EBADMSG for a packet that is
 * shorter than a header, longer than @cap or whose header lies about its length.
 */
int chan_recv(int fd, struct chan_hdr *hdr, void *body, size_t cap);

/*
 * What a non-blocking channel had no room for, sent in order as it drains,
 * so that the sender never waits for its peer.  Zeroed, it is empty and
 * lets nothing wait (max 0).  Messages are wiped once sent or dropped.
 */
struct chan_qmsg;
struct chan_queue {
	struct chan_qmsg *head, *last;
	size_t bytes, max; /* waiting, and at most */
	int64_t since_ms;  /* frame_now_ms() when the oldest waiting one was queued */
};

/*
 * Sends one message now, or queues it behind those waiting: 0; -ENOBUFS
 * when @q would hold more than its max (nothing queued: the peer is not
 * reading), -EPIPE when the peer is gone.
 */
int chan_queue_send(int fd, struct chan_queue *q, uint32_t type, uint64_t id, const void *body,
		    size_t len);
/* Sends what waits until the channel is full again: 0, or -EPIPE. */
int chan_queue_flush(int fd, struct chan_queue *q);
static inline bool chan_queue_pending(const struct chan_queue *q)
{
	return q->head != NULL;
}
/* Drops (wipes) what waits; @q is empty again, its max kept. */
void chan_queue_clear(struct chan_queue *q);

/*
 * Forks a child joined to this process by a new channel.  In the parent:
 * the child's pid, *@ret_fd the parent's end.  In the child: 0, *@ret_fd
 * the child's end, and the child dies with its parent (PR_SET_PDEATHSIG).
 * -errno when it could not.
 */
pid_t chan_fork(int *ret_fd);
/* How a child ended, for a log line: "killed by signal 31 (a system call outside its sandbox)". */
const char *chan_child_status(int status, char *buf, size_t size);

#endif
