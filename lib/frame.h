/* SPDX-License-Identifier: MIT */
/*
 * Length-framed messages over a stream socket, the framing of cmld's control
 * socket and attestd's protocol: a 4-byte big-endian length, then that many
 * bytes.  Clients use the blocking calls with a deadline; servers keep a
 * non-blocking struct frame_conn per peer, reading frames as they arrive and
 * writing from a bounded queue, so one slow peer never stalls the loop.
 */
#ifndef MEASURED_FRAME_H
#define MEASURED_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR_LEN 4

void frame_hdr_put(size_t len, uint8_t out[FRAME_HDR_LEN]);
uint32_t frame_hdr_get(const uint8_t hdr[FRAME_HDR_LEN]);

/* Milliseconds of CLOCK_MONOTONIC: what deadlines are measured in. */
int64_t frame_now_ms(void);

/*
 * Writes @len bytes of @data as one frame, blocking until @deadline_ms
 * (frame_now_ms() time): -ETIMEDOUT after it, -EPIPE when the peer is gone.
 */
int frame_send(int fd, const void *data, size_t len, int64_t deadline_ms);
/*
 * Reads one frame of at most @max bytes (-EMSGSIZE beyond, before any of the
 * body is read) until @deadline_ms; *@ret_body (malloc'd, caller frees) and
 * *@ret_len set on success.  -ECONNRESET when the peer closes first.
 */
int frame_recv(int fd, size_t max, int64_t deadline_ms, uint8_t **ret_body, size_t *ret_len);

/* A server's non-blocking connection. */
struct frame_conn {
	int fd;
	size_t max_in;	   /* the longest frame accepted */
	size_t max_queued; /* bytes waiting to be written, at most */
	uint8_t hdr[FRAME_HDR_LEN];
	size_t hdr_got;
	uint8_t *body; /* the frame being read, wiped when freed */
	size_t body_got, body_len;
	uint8_t *out; /* queued frames, headers included; out_off of them written */
	size_t out_off, out_len, out_cap;
	int64_t out_since_ms; /* when the oldest unwritten byte was queued */
};

void frame_conn_init(struct frame_conn *c, int fd, size_t max_in, size_t max_queued);
/*
 * Reads what the socket has, up to the end of one frame.  1: a frame is
 * complete (*@ret_body, *@ret_len: the caller owns and wipes it), 0: not yet,
 * -ECONNRESET: the peer closed, -EMSGSIZE: its header announced more than
 * max_in, -errno otherwise.  Call again after 1: more may be buffered.
 */
int frame_conn_read(struct frame_conn *c, uint8_t **ret_body, size_t *ret_len);
/* Queues one frame and writes what the socket takes now.  -ENOBUFS past max_queued. */
int frame_conn_queue(struct frame_conn *c, const void *data, size_t len);
/* Writes queued bytes until the socket would block.  0, or -errno when the peer is gone. */
int frame_conn_flush(struct frame_conn *c);
static inline bool frame_conn_pending(const struct frame_conn *c)
{
	return c->out_off < c->out_len;
}
/* Whether queued bytes have waited longer than @timeout_ms at @now_ms. */
bool frame_conn_stalled(const struct frame_conn *c, int64_t now_ms, unsigned timeout_ms);
/* Wipes and frees the buffers and closes the descriptor. */
void frame_conn_free(struct frame_conn *c);

#endif
