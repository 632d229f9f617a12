/* SPDX-License-Identifier: MIT */
/* attestd's engine: connections, peers and the batch (ad_engine.c, ad_quote.c). */
#ifndef AD_ENGINE_H
#define AD_ENGINE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "attestd.h"

enum conn_state {
	CONN_READ,    /* reading a request, within the read deadline */
	CONN_QUEUED,  /* a quote request waiting for its batch */
	CONN_TPM,     /* waiting for the privileged process */
	CONN_WRITE,   /* writing the reply, within the write deadline */
	CONN_CLOSING, /* dropped at the next turn of the loop */
};

/* The logs as read once for a batch; every reply of the batch points into them. */
struct ad_logs {
	unsigned refs;
	uint8_t *data[ATTEST_LOGS];
	size_t len[ATTEST_LOGS];
};

#define AD_PEER_KEY 17 /* family + 16 address bytes (IPv4 mapped; Unix: the uid) */

struct conn {
	int fd;
	enum conn_state state;
	uint64_t id; /* unique for the engine's life: answers find their connection by it */
	uint8_t peer[AD_PEER_KEY];
	uint8_t in[4 + ATTEST_REQUEST_MAX]; /* the request frame being read */
	size_t in_len;
	int64_t accepted_ms, deadline_ms, queued_ms;
	struct attest_request req;
	uint64_t batch; /* the batch it is in, in CONN_TPM */
	struct nonce_path path;
	void *ssl;	  /* SSL *, on a TLS connection */
	bool handshaking; /* TLS handshake not finished */
	bool tls_wants_write;
	/* the reply: pieces in @own, and the logs by reference into @logs */
	uint8_t *own;
	struct iovec iov[ATTEST_RESPONSE_IOV];
	unsigned n_iov, iov_at;
	size_t iov_off;
	struct ad_logs *logs;
	bool close_after_write;
};

struct peer {
	uint8_t key[AD_PEER_KEY];
	bool used;
	unsigned conns;
	double tokens; /* keys and activate requests it may still make */
	int64_t refill_ms;
};

struct ad_engine {
	const struct ad_setup *setup;
	const struct ad_config *cfg;
	int chan;
	struct conn *conn;
	unsigned n_conns;
	struct pollfd *pfd;
	struct conn **scratch; /* max_conns pointers, for sorting the queue */
	struct peer *peers;
	unsigned peer_cap, peers_used;
	uint64_t next_id;
	/* the batch: queued quote requests, and the one batch at the TPM */
	unsigned queued;
	int64_t first_queued_ms;
	uint64_t batch_id;
	bool batch_in_flight;
	/* the keys reply, cached: it changes only with a new AK */
	uint8_t *keys_frame;
	size_t keys_frame_len;
	int64_t keys_until_ms;
	bool keys_in_flight;
	uint64_t requests, quotes, refused;
};

void ad_reply(struct ad_engine *e, struct conn *c, const struct attest_response *resp,
	      struct ad_logs *logs);
void ad_reply_error(struct ad_engine *e, struct conn *c, int code, const char *msg);
/* The same bytes as a frame: for replies cached whole (keys). */
void ad_reply_frame(struct ad_engine *e, struct conn *c, const uint8_t *frame, size_t len);

/* ad_quote.c */
void ad_batch_queue(struct ad_engine *e, struct conn *c);
void ad_batch_maybe(struct ad_engine *e, int64_t now);
void ad_batch_done(struct ad_engine *e, uint64_t id, const struct ad_msg_quote_done *done);
void ad_logs_put(struct ad_logs *logs);

#endif
