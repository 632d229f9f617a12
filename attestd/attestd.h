/* SPDX-License-Identifier: MIT */
/* attestd: serves TPM quotes and logs to verifiers (docs/PROTOCOL.md). */
#ifndef ATTESTD_H
#define ATTESTD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "attest_proto.h"
#include "tpm_attest.h"

#define AD_MAX_CONNS 1024
#define AD_BATCH_MAX NONCE_TREE_MAX_LEAVES

struct ad_config {
	const char *tcti;
	const char *listen; /* HOST:PORT, or NULL */
	const char *socket; /* a Unix socket path, or NULL */
	const char *log_path[ATTEST_LOGS];
	unsigned batch_ms;	  /* how long a quote request waits for company */
	unsigned batch_max;	  /* at most this many share a quote (1: one quote per request) */
	unsigned read_timeout_ms; /* a whole request must arrive within this */
	const char *user;	  /* drop to this user after setup */
	const char *tls_cert, *tls_key, *tls_client_ca; /* TLS on the TCP listener */
};

enum conn_state { CONN_READ, CONN_QUEUED, CONN_WRITE, CONN_CLOSING };

struct conn {
	int fd;
	enum conn_state state;
	uint8_t hdr[4];
	size_t hdr_got;
	uint8_t *body; /* request body being read */
	size_t body_len, body_got;
	int64_t deadline_ms;
	int64_t queued_ms; /* when its quote request was queued: oldest served first */
	struct attest_request req;
	void *ssl;	  /* SSL *, on a TLS connection */
	bool handshaking; /* TLS handshake not finished */
	bool tls_wants_write;
	uint8_t *out; /* frame being written */
	size_t out_len, out_off;
	bool close_after_write;
};

struct ad_server {
	const struct ad_config *cfg;
	struct tpm *tpm; /* NULL while the TPM is unreachable; reopened on demand */
	void *tls;	 /* SSL_CTX *, or NULL */
	int listen_fd[2];
	struct conn conn[AD_MAX_CONNS];
	unsigned n_conns;
	unsigned queued;
	int64_t first_queued_ms;
	uint64_t quotes, requests; /* counters, for the log line at exit */
};

int64_t ad_now_ms(void);
int ad_server_init(struct ad_server *s, const struct ad_config *cfg);
/* Serves until *stop becomes true (a signal handler sets it). */
int ad_server_run(struct ad_server *s, volatile int *stop);
void ad_server_close(struct ad_server *s);

/* Answers every queued quote request with one TPM quote (ad_quote.c). */
void ad_serve_batch(struct ad_server *s);
/* Builds the reply frame for @c; takes @resp's contents. */
void ad_reply(struct conn *c, const struct attest_response *resp);
void ad_reply_error(struct conn *c, int code, const char *msg);

#endif
