/* SPDX-License-Identifier: MIT */
/* attestd's engine: connections, peers and the batch (ad_engine.c, ad_quote.c). */
#ifndef AD_ENGINE_H
#define AD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "attestd.h"
#include "evloop.h"

/* A connection's state decides its deadline and what its socket waits for (ad_conn_state). */
enum conn_state {
	CONN_READ,    /* reading a request, within the read deadline */
	CONN_QUEUED,  /* a quote request waiting for its batch: no deadline, socket quiet */
	CONN_TPM,     /* waiting for the privileged process, within the TPM deadline */
	CONN_WRITE,   /* writing the reply, within the write deadline */
	CONN_CLOSING, /* dropped by its timer, at the next turn of the loop */
};

/* The logs as read once for a batch; every reply of the batch points into them. */
struct ad_logs {
	unsigned refs;
	uint8_t *data[ATTEST_LOGS];
	size_t len[ATTEST_LOGS];
};

#define AD_PEER_KEY 17 /* family + 16 address bytes (IPv4 mapped; Unix: the uid) */

struct ad_engine;

struct conn {
	struct ad_engine *e;
	TAILQ_ENTRY(conn) link; /* in the engine's connections, or its free slots */
	int fd;
	struct ev_io io;
	struct ev_timer deadline; /* the state's deadline (a closing one's is now) */
	enum conn_state state;
	uint64_t id; /* unique for the engine's life: answers find their connection by it */
	uint8_t peer[AD_PEER_KEY];
	uint8_t in[4 + ATTEST_REQUEST_MAX]; /* the request frame being read */
	size_t in_len;
	int64_t accepted_ms, queued_ms;
	struct attest_request req;
	uint64_t batch; /* the batch it is in, in CONN_TPM */
	struct nonce_path path;
	void *ssl;	   /* SSL *, on a TLS connection */
	bool handshaking;  /* TLS handshake not finished */
	unsigned tls_want; /* what TLS last needed the socket for (EVLOOP_*); 0: as the state */
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

TAILQ_HEAD(ad_conns, conn);

struct ad_engine {
	const struct ad_setup *setup;
	const struct ad_config *cfg;
	struct evloop *loop;
	int chan;
	struct ev_io chan_io;
	struct ev_io listen_io[2];
	struct ev_timer rest; /* armed while the listeners rest (accept failed for lack of room) */
	bool full;	      /* the listeners wait: full, and no connection to give up */
	struct conn *slots;   /* max_conns of them, allocated at start, touched when used */
	unsigned slots_used;  /* those touched: the others' pages are not resident */
	struct ad_conns conns, free;
	unsigned n_conns;
	struct conn **scratch; /* max_conns pointers, for sorting the queue */
	struct peer *peers;
	unsigned peer_cap, peers_used;
	uint64_t next_id;
	/* the batch: queued quote requests, and the one batch at the TPM */
	unsigned queued;
	int64_t first_queued_ms;
	struct ev_timer batch_due; /* armed while requests wait and no batch is at the TPM */
	uint64_t batch_id;
	bool batch_in_flight;
	/* the keys reply, cached: it changes only with a new AK */
	uint8_t *keys_frame;
	size_t keys_frame_len;
	int64_t keys_until_ms;
	bool keys_in_flight;
	uint64_t requests, quotes, refused;
};

/* Every change of a connection's state: its deadline, what its socket waits for. */
void ad_conn_state(struct ad_engine *e, struct conn *c, enum conn_state state);
void ad_reply(struct ad_engine *e, struct conn *c, const struct attest_response *resp,
	      struct ad_logs *logs);
void ad_reply_error(struct ad_engine *e, struct conn *c, int code, const char *msg);
/* The same bytes as a frame: for replies cached whole (keys). */
void ad_reply_frame(struct ad_engine *e, struct conn *c, const uint8_t *frame, size_t len);

/* ad_quote.c */
void ad_batch_queue(struct ad_engine *e, struct conn *c);
/* Sends the batch if it is due, else arms batch_due for when it will be. */
void ad_batch_maybe(struct ad_engine *e);
void ad_batch_done(struct ad_engine *e, uint64_t id, const struct ad_msg_quote_done *done);
void ad_logs_put(struct ad_logs *logs);

#endif
