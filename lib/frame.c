// SPDX-License-Identifier: MIT
/* The 4-byte length framing, blocking (clients) and queued (servers). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "frame.h"

void frame_hdr_put(size_t len, uint8_t out[FRAME_HDR_LEN])
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

uint32_t frame_hdr_get(const uint8_t hdr[FRAME_HDR_LEN])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
}

int64_t frame_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until @fd is ready for @events or @deadline_ms passed. */
static int wait_ready(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline_ms - frame_now_ms();
		int n;

		if (left <= 0)
			return err_set(-ETIMEDOUT, "no answer in time");
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return err_set(-errno, "poll: %s", strerror(errno));
	}
}

static int io_all(int fd, void *buf, size_t len, bool out, int64_t deadline_ms)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(fd, p, len, MSG_DONTWAIT);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = wait_ready(fd, out ? POLLOUT : POLLIN, deadline_ms);
			if (rc < 0)
				return rc;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return err_set(out ? -EPIPE : -ECONNRESET,
				       "the peer closed the connection");
		if (n < 0)
			return err_set(-errno, "%s: %s", out ? "send" : "recv", strerror(errno));
		if (n == 0)
			return err_set(-ECONNRESET, "the peer closed the connection");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int frame_send(int fd, const void *data, size_t len, int64_t deadline_ms)
{
	uint8_t hdr[FRAME_HDR_LEN];
	int rc;

	if (len > UINT32_MAX)
		return err_set(-EMSGSIZE, "a frame of %zu bytes", len);
	frame_hdr_put(len, hdr);
	rc = io_all(fd, hdr, sizeof(hdr), true, deadline_ms);
	if (rc < 0)
		return rc;
	return io_all(fd, (void *)data, len, true, deadline_ms);
}

int frame_recv(int fd, size_t max, int64_t deadline_ms, uint8_t **ret_body, size_t *ret_len)
{
	uint8_t hdr[FRAME_HDR_LEN], *body;
	size_t len;
	int rc = io_all(fd, hdr, sizeof(hdr), false, deadline_ms);

	if (rc < 0)
		return rc;
	len = frame_hdr_get(hdr);
	if (len > max)
		return err_set(-EMSGSIZE, "a frame of %zu bytes (at most %zu)", len, max);
	body = malloc(len ? len : 1);
	if (!body)
		return err_set(-ENOMEM, "out of memory for a frame of %zu bytes", len);
	rc = io_all(fd, body, len, false, deadline_ms);
	if (rc < 0) {
		OPENSSL_cleanse(body, len);
		free(body);
		return rc;
	}
	*ret_body = body;
	*ret_len = len;
	return 0;
}

void frame_conn_init(struct frame_conn *c, int fd, size_t max_in, size_t max_queued)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->max_in = max_in;
	c->max_queued = max_queued;
}

int frame_conn_read(struct frame_conn *c, uint8_t **ret_body, size_t *ret_len)
{
	for (;;) {
		bool in_hdr = c->hdr_got < FRAME_HDR_LEN;
		ssize_t n;

		if (!in_hdr && c->body_got == c->body_len) {
			*ret_body = c->body;
			*ret_len = c->body_len;
			c->body = NULL;
			c->hdr_got = c->body_got = c->body_len = 0;
			return 1;
		}
		n = in_hdr ? recv(c->fd, c->hdr + c->hdr_got, FRAME_HDR_LEN - c->hdr_got, 0)
			   : recv(c->fd, c->body + c->body_got, c->body_len - c->body_got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return err_set(-errno, "recv: %s", strerror(errno));
		if (n == 0)
			return err_set(-ECONNRESET, "the peer closed the connection");
		if (!in_hdr) {
			c->body_got += (size_t)n;
			continue;
		}
		c->hdr_got += (size_t)n;
		if (c->hdr_got < FRAME_HDR_LEN)
			continue;
		c->body_len = frame_hdr_get(c->hdr);
		if (c->body_len > c->max_in)
			return err_set(-EMSGSIZE, "a frame of %zu bytes (at most %zu)", c->body_len,
				       c->max_in);
		c->body = malloc(c->body_len ? c->body_len : 1);
		if (!c->body)
			return err_set(-ENOMEM, "out of memory for a frame of %zu bytes",
				       c->body_len);
	}
}

int frame_conn_flush(struct frame_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return err_set(-errno, "send: %s", strerror(errno));
		c->out_off += (size_t)n;
		c->out_since_ms = frame_now_ms(); /* progress: the deadline starts again */
	}
	OPENSSL_cleanse(c->out, c->out_len); /* answers may carry secrets' neighbours */
	c->out_off = c->out_len = 0;
	return 0;
}

int frame_conn_queue(struct frame_conn *c, const void *data, size_t len)
{
	size_t need;

	if (len > UINT32_MAX)
		return err_set(-EMSGSIZE, "a frame of %zu bytes", len);
	/* what is written already makes room */
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + FRAME_HDR_LEN + len;
	if (need > c->max_queued)
		return err_set(-ENOBUFS, "%zu bytes waiting for the peer (at most %zu)", need,
			       c->max_queued);
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return err_set(-ENOMEM, "out of memory for a queue of %zu bytes", cap);
		c->out = p;
		c->out_cap = cap;
	}
	if (c->out_len == 0)
		c->out_since_ms = frame_now_ms();
	frame_hdr_put(len, c->out + c->out_len);
	memcpy(c->out + c->out_len + FRAME_HDR_LEN, data, len);
	c->out_len = need;
	return frame_conn_flush(c);
}

bool frame_conn_stalled(const struct frame_conn *c, int64_t now_ms, unsigned timeout_ms)
{
	return frame_conn_pending(c) && now_ms - c->out_since_ms > (int64_t)timeout_ms;
}

void frame_conn_free(struct frame_conn *c)
{
	if (c->body) {
		OPENSSL_cleanse(c->body, c->body_len);
		free(c->body);
	}
	if (c->out) {
		OPENSSL_cleanse(c->out, c->out_cap);
		free(c->out);
	}
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
