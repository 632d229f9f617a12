// SPDX-License-Identifier: MIT
/*
 * Load for attestd: N verifiers, each on its own connection (kept open, as
 * a verifier polling a device would), asking for quotes back to back for a
 * number of seconds; prints attestations per second, failures and p50/p99
 * latency.  The load generator shares the machine with the daemon it
 * measures, so it is made cheap: one thread and one epoll for all N, the
 * request encoded once and only its nonce changed, one reply in 16 decoded
 * in full (the others: frame and status).
 * usage: attest_load HOST:PORT CLIENTS SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "attest_proto.h"
#include "err.h"
#include "frame.h"

/* One verifier: its connection and the request it has out. */
struct client {
	int fd;
	double sent;
	uint8_t in[1 << 16];
	size_t in_len;
	unsigned done;
};

struct load {
	struct sockaddr_in addr;
	uint8_t frame[512];
	size_t frame_len, nonce_at;
	unsigned done, failed, checked;
	double *lat;
	size_t n_lat, cap;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_to(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* A fresh nonce, the request out (it fits any socket buffer: one write). */
static int client_send(struct load *l, struct client *c)
{
	RAND_bytes(l->frame + l->nonce_at, 32);
	c->sent = now();
	c->in_len = 0;
	return write(c->fd, l->frame, l->frame_len) == (ssize_t)l->frame_len ? 0 : -1;
}

/*
 * The reply checked: one in 16 decoded in full, the others by frame and
 * status ({0: 1, 1: status, ...}: after the map head, key 0, 1, key 1).
 */
static int reply_ok(struct load *l, const uint8_t *body, size_t n)
{
	if (l->checked++ % 16 == 0) {
		struct attest_response r;
		int ok = attest_response_decode(body, n, &r) == 0 && r.status == 0 && r.attest_len;

		if (!ok)
			fprintf(stderr, "attest_load: status %u %s\n", r.status, r.error);
		attest_response_free(&r);
		return ok ? 0 : -1;
	}
	return n > 5 && body[3] == 1 && body[4] == 0 ? 0 : -1;
}

static void lat_add(struct load *l, double v)
{
	if (l->n_lat == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->lat = realloc(l->lat, l->cap * sizeof(double));
	}
	l->lat[l->n_lat++] = v;
}

/* Reads what is there; a whole reply is counted and the next request sent. */
static int client_read(struct load *l, struct client *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		uint32_t n;

		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			return -1;
		c->in_len += (size_t)r;
		if (c->in_len < 4)
			continue;
		n = frame_hdr_get(c->in);
		if (n > sizeof(c->in) - 4)
			return -1;
		if (c->in_len < 4 + n)
			continue;
		if (reply_ok(l, c->in + 4, n) < 0)
			return -1;
		l->done++;
		lat_add(l, now() - c->sent);
		return 1;
	}
}

static int encode_request(struct load *l)
{
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = 0};
	uint8_t *body;
	size_t len;

	pcr_selection_parse("sha256:0,7,10,13", &req.sel);
	memset(req.nonce, 0xa5, 32);
	if (attest_request_encode(&req, &body, &len) < 0 || len + 4 > sizeof(l->frame))
		return -1;
	frame_hdr_put(len, l->frame);
	memcpy(l->frame + 4, body, len);
	free(body);
	l->frame_len = len + 4;
	for (size_t i = 4; i + 32 <= l->frame_len; i++)
		if (memcmp(l->frame + i, req.nonce, 32) == 0) {
			l->nonce_at = i;
			return 0;
		}
	return -1;
}

/* @n verifiers on one epoll, for @secs seconds: the generator stays cheap. */
static void run(struct load *l, unsigned n, double secs)
{
	struct client *c = calloc(n, sizeof(*c));
	int ep = epoll_create1(0);
	double end = now() + secs;

	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		c[i].fd = connect_to(&l->addr);
		if (c[i].fd < 0 || client_send(l, &c[i]) < 0) {
			l->failed++;
			continue;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
	}
	while (now() < end) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 100);

		for (int j = 0; j < k; j++) {
			struct client *x = &c[evs[j].data.u32];
			int rc = client_read(l, x);

			if (rc == 1 && client_send(l, x) == 0)
				continue;
			if (rc == 0)
				continue;
			/* failed: a new connection for this verifier */
			l->failed++;
			epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
			close(x->fd);
			x->fd = connect_to(&l->addr);
			if (x->fd >= 0 && client_send(l, x) == 0) {
				struct epoll_event ev = {.events = EPOLLIN,
							 .data.u32 = evs[j].data.u32};

				epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev);
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	close(ep);
	free(c);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned n = argc == 4 ? (unsigned)atoi(argv[2]) : 0;
	double secs = argc == 4 ? atof(argv[3]) : 0;
	struct load l = {.addr = {.sin_family = AF_INET}};
	char host[64];
	const char *colon = argc == 4 ? strrchr(argv[1], ':') : NULL;

	if (!n || secs <= 0 || !colon || (size_t)(colon - argv[1]) >= sizeof(host)) {
		fprintf(stderr, "usage: attest_load HOST:PORT CLIENTS SECONDS\n");
		return 2;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[1]), argv[1]);
	l.addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &l.addr.sin_addr) != 1 || encode_request(&l) < 0) {
		fprintf(stderr, "attest_load: %s is not an IPv4 address\n", host);
		return 2;
	}
	run(&l, n, secs);
	qsort(l.lat, l.n_lat, sizeof(double), cmp);
	printf("%.1f %u %.1f %.1f\n", l.done / secs, l.failed,
	       l.n_lat ? 1000 * l.lat[l.n_lat / 2] : 0,
	       l.n_lat ? 1000 * l.lat[l.n_lat * 99 / 100] : 0);
	return 0;
}
