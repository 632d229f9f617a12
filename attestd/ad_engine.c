// SPDX-License-Identifier: MIT
/*
 * attestd's engine: the unprivileged process that meets the network.  One
 * event loop (lib/evloop) over the listeners, the channel to the privileged
 * process and every connection, all non-blocking.  A connection reads one
 * framed request within the read deadline and takes its reply within the
 * write deadline; quote requests wait for their batch (ad_quote.c).  The
 * limits hold whatever clients do: connections in total stay below the
 * descriptor limit (when full, the peer with the most connections loses its
 * oldest idle one, and with none to lose the listeners wait), per peer they
 * are capped, keys and activate requests are rate-limited per peer.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ad_engine.h"
#include "chan.h"
#include "err.h"
#include "evloop.h"
#include "frame.h"
#include "sandbox.h"

#define KEYS_CACHE_MS 1000
#define TOKENS_BURST  10.0

/* ---- peers ---- */

static uint64_t peer_hash(const uint8_t *key)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (int i = 0; i < AD_PEER_KEY; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return h;
}

static struct peer *peer_slot(struct peer *table, unsigned cap, const uint8_t *key)
{
	for (uint64_t i = peer_hash(key);; i++) {
		struct peer *p = &table[i & (cap - 1)];

		if (!p->used || memcmp(p->key, key, AD_PEER_KEY) == 0)
			return p;
	}
}

static void peer_refill(const struct ad_config *cfg, struct peer *p, int64_t now)
{
	p->tokens += (double)(now - p->refill_ms) * cfg->keys_per_minute / 60000.0;
	if (p->tokens > TOKENS_BURST)
		p->tokens = TOKENS_BURST;
	p->refill_ms = now;
}

/* Forgets peers with no connection and a full bucket: they would start the same again. */
static void peers_compact(struct ad_engine *e, int64_t now)
{
	struct peer *old = e->peers;
	unsigned kept = 0;

	e->peers = calloc(e->peer_cap, sizeof(*e->peers));
	if (!e->peers) {
		e->peers = old;
		return;
	}
	for (unsigned i = 0; i < e->peer_cap; i++) {
		struct peer *p = &old[i];

		if (!p->used)
			continue;
		peer_refill(e->cfg, p, now);
		/* too many half-used buckets: forget those without a connection too */
		if (p->conns == 0 && (p->tokens >= TOKENS_BURST || kept >= e->peer_cap / 4))
			continue;
		*peer_slot(e->peers, e->peer_cap, p->key) = *p;
		kept++;
	}
	e->peers_used = kept;
	free(old);
}

static struct peer *peer_get(struct ad_engine *e, const uint8_t *key, int64_t now)
{
	struct peer *p = peer_slot(e->peers, e->peer_cap, key);

	if (p->used)
		return p;
	if (e->peers_used + 1 > e->peer_cap / 2) {
		peers_compact(e, now);
		p = peer_slot(e->peers, e->peer_cap, key);
	}
	*p = (struct peer){.used = true, .tokens = TOKENS_BURST, .refill_ms = now};
	memcpy(p->key, key, AD_PEER_KEY);
	e->peers_used++;
	return p;
}

static void peer_key(int fd, const struct sockaddr_storage *sa, uint8_t *key)
{
	memset(key, 0, AD_PEER_KEY);
	key[0] = (uint8_t)sa->ss_family;
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		key[11] = key[12] = 0xff;
		memcpy(key + 13, &in->sin_addr, 4);
	} else if (sa->ss_family == AF_INET6) {
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else { /* a local peer: by its uid */
		struct ucred cred = {0};
		socklen_t len = sizeof(cred);

		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
		memcpy(key + 1, &cred.uid, sizeof(cred.uid));
	}
}

/* ---- replies ---- */

static void reply_reset(struct conn *c)
{
	if (c->own && c->n_iov) { /* an activate reply holds the credential: wipe it */
		const struct iovec *last = &c->iov[c->n_iov - 1]; /* always ends in own */

		OPENSSL_cleanse(c->own,
				(size_t)((uint8_t *)last->iov_base - c->own) + last->iov_len);
	}
	free(c->own);
	c->own = NULL;
	ad_logs_put(c->logs);
	c->logs = NULL;
	c->n_iov = c->iov_at = 0;
	c->iov_off = 0;
}

static void conn_write(struct ad_engine *e, struct conn *c);

/*
 * A reply is written at once: it mostly fits in the socket's buffer, and
 * the socket is watched for writing only for what does not (conn_write).
 */
void ad_reply(struct ad_engine *e, struct conn *c, const struct attest_response *resp,
	      struct ad_logs *logs)
{
	reply_reset(c);
	if (attest_response_frame(resp, &c->own, c->iov, &c->n_iov) < 0) {
		ad_conn_state(e, c, CONN_CLOSING); /* out of memory: nothing sensible to say */
		return;
	}
	if (logs) {
		logs->refs++;
		c->logs = logs;
	}
	ad_conn_state(e, c, CONN_WRITE);
	conn_write(e, c);
}

void ad_reply_frame(struct ad_engine *e, struct conn *c, const uint8_t *frame, size_t len)
{
	reply_reset(c);
	c->own = malloc(len);
	if (!c->own) {
		ad_conn_state(e, c, CONN_CLOSING);
		return;
	}
	memcpy(c->own, frame, len);
	c->iov[0] = (struct iovec){c->own, len};
	c->n_iov = 1;
	ad_conn_state(e, c, CONN_WRITE);
	conn_write(e, c);
}

void ad_reply_error(struct ad_engine *e, struct conn *c, int code, const char *msg)
{
	struct attest_response r = {.status = (uint32_t)(code < 0 ? -code : code)};

	snprintf(r.error, sizeof(r.error), "%s", msg);
	c->close_after_write = true; /* before: the reply may be written at once */
	ad_reply(e, c, &r, NULL);
}

/* ---- requests ---- */

static struct conn *conn_by_id(struct ad_engine *e, uint64_t id)
{
	struct conn *c;

	TAILQ_FOREACH (c, &e->conns, link)
		if (c->id == id && c->state == CONN_TPM)
			return c;
	return NULL;
}

static void to_parent(struct ad_engine *e, struct conn *c, uint32_t type, uint64_t id,
		      const void *body, size_t len)
{
	if (chan_send(e->chan, type, id, body, len) < 0) {
		ad_reply_error(e, c, EAGAIN, "the TPM is busy: try again");
		return;
	}
	ad_conn_state(e, c, CONN_TPM);
}

/* Keys and activate cost the TPM (or the cache) work: a bucket per peer. */
static bool rate_ok(struct ad_engine *e, struct conn *c)
{
	int64_t now = frame_now_ms();
	struct peer *p = peer_get(e, c->peer, now);

	peer_refill(e->cfg, p, now);
	if (p->tokens < 1.0) {
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "rate limited: at most %u keys and activate requests a minute",
			 e->cfg->keys_per_minute);
		e->refused++;
		ad_reply_error(e, c, EAGAIN, msg);
		return false;
	}
	p->tokens -= 1.0;
	return true;
}

static void request_keys(struct ad_engine *e, struct conn *c)
{
	if (!rate_ok(e, c))
		return;
	if (e->keys_frame && frame_now_ms() < e->keys_until_ms) {
		ad_reply_frame(e, c, e->keys_frame, e->keys_frame_len);
		return;
	}
	if (e->keys_in_flight) { /* the answer on its way serves this one too */
		ad_conn_state(e, c, CONN_TPM);
		return;
	}
	to_parent(e, c, AD_MSG_KEYS, c->id, NULL, 0);
	e->keys_in_flight = c->state == CONN_TPM;
}

static void request_activate(struct ad_engine *e, struct conn *c)
{
	struct ad_msg_activate m = {0};

	if (!rate_ok(e, c))
		return;
	m.blob_len = (uint32_t)c->req.blob_len;
	memcpy(m.blob, c->req.blob, c->req.blob_len);
	m.secret_len = (uint32_t)c->req.secret_len;
	memcpy(m.secret, c->req.secret, c->req.secret_len);
	to_parent(e, c, AD_MSG_ACTIVATE, c->id, &m, sizeof(m));
}

/* A request for PCRs the TPM does not have fails alone, before it can spoil a batch. */
static bool banks_allocated(struct ad_engine *e, struct conn *c)
{
	const struct pcr_selection *have = &e->setup->banks, *want = &c->req.sel;

	for (unsigned b = 0; b < want->count; b++) {
		uint32_t missing =
			want->bank[b].mask & ~pcr_selection_mask(have, want->bank[b].alg);
		char msg[200], banks[64] = "";

		if (!missing)
			continue;
		for (unsigned h = 0; h < have->count; h++)
			snprintf(banks + strlen(banks), sizeof(banks) - strlen(banks), "%s%s",
				 h ? ", " : "", have->bank[h].alg->name);
		snprintf(msg, sizeof(msg), "the TPM has no %s PCRs 0x%06x (its banks: %s)",
			 want->bank[b].alg->name, missing, banks);
		ad_reply_error(e, c, EINVAL, msg);
		return false;
	}
	return true;
}

static void request_complete(struct ad_engine *e, struct conn *c, size_t len)
{
	int rc = attest_request_decode(c->in + 4, len, &c->req);

	e->requests++;
	/*
	 * Out of the input first (it is copied into c->req): a reply may be
	 * written at once, and what the client sent past this request is
	 * looked at when it is.
	 */
	memmove(c->in, c->in + 4 + len, c->in_len - 4 - len);
	c->in_len -= 4 + len;
	if (rc < 0)
		ad_reply_error(e, c, EBADMSG, err_msg());
	else if (c->req.type == ATTEST_KEYS)
		request_keys(e, c);
	else if (c->req.type == ATTEST_ACTIVATE)
		request_activate(e, c);
	else if (banks_allocated(e, c))
		ad_batch_queue(e, c);
}

/* ---- answers from the privileged process ---- */

static int status_check(const struct ad_msg_status *st)
{
	/* the parent's text, bounded before use */
	if (memchr(st->error, '\0', sizeof(st->error)) == NULL || st->status < 0)
		return err_set(-EBADMSG, "a status without an end");
	return 0;
}

static void keys_done(struct ad_engine *e, const struct ad_msg_keys_done *m)
{
	struct attest_response r = {0};
	uint8_t *own = NULL;
	struct iovec iov[ATTEST_RESPONSE_IOV];
	struct conn *c;
	unsigned n;

	e->keys_in_flight = false;
	r.status = (uint32_t)m->st.status;
	snprintf(r.error, sizeof(r.error), "%s", m->st.error);
	if (m->st.status == 0 && m->ek_public_len <= sizeof(m->ek_public) &&
	    m->ak_public_len <= sizeof(m->ak_public) && m->ak_name_len <= sizeof(m->ak_name)) {
		r.ek_public = (uint8_t *)m->ek_public;
		r.ek_public_len = m->ek_public_len;
		r.ak_public = (uint8_t *)m->ak_public;
		r.ak_public_len = m->ak_public_len;
		r.ak_name = (uint8_t *)m->ak_name;
		r.ak_name_len = m->ak_name_len;
		for (int i = 0; i < ATTEST_EK_CERTS; i++)
			if (m->ek_cert_len[i] && m->ek_cert_len[i] <= AD_EK_CERT_MAX) {
				r.ek_cert[i] = (uint8_t *)m->ek_cert[i];
				r.ek_cert_len[i] = m->ek_cert_len[i];
			}
	} else if (m->st.status == 0) {
		r.status = EIO;
		snprintf(r.error, sizeof(r.error), "the keys' answer had impossible sizes");
	}
	free(e->keys_frame);
	e->keys_frame = NULL;
	if (attest_response_frame(&r, &own, iov, &n) == 0 && n == 1) {
		e->keys_frame = own;
		e->keys_frame_len = iov[0].iov_len;
		/* an error is not cached: the next request asks the TPM again */
		e->keys_until_ms = r.status == 0 ? frame_now_ms() + KEYS_CACHE_MS : 0;
	} else {
		free(own);
	}
	TAILQ_FOREACH (c, &e->conns, link) {
		if (c->state != CONN_TPM || c->req.type != ATTEST_KEYS)
			continue;
		c->close_after_write = r.status != 0;
		if (e->keys_frame)
			ad_reply_frame(e, c, e->keys_frame, e->keys_frame_len);
		else
			ad_conn_state(e, c, CONN_CLOSING);
	}
}

static void activate_done(struct ad_engine *e, uint64_t id, const struct ad_msg_activate_done *m)
{
	struct conn *c = conn_by_id(e, id);
	struct attest_response r = {0};

	if (!c || c->req.type != ATTEST_ACTIVATE)
		return; /* gone, or timed out, meanwhile */
	if (m->st.status != 0) {
		ad_reply_error(e, c, m->st.status, m->st.error);
		return;
	}
	if (m->credential_len > sizeof(r.credential)) {
		ad_reply_error(e, c, EIO, "the credential had an impossible size");
		return;
	}
	memcpy(r.credential, m->credential, m->credential_len);
	r.credential_len = m->credential_len;
	ad_reply(e, c, &r, NULL);
	OPENSSL_cleanse(r.credential, sizeof(r.credential));
}

/* The parent gone, the engine ends with it. */
static void from_parent(void *arg, unsigned ready)
{
	struct ad_engine *e = arg;
	static union {
		struct ad_msg_quote_done quote;
		struct ad_msg_keys_done keys;
		struct ad_msg_activate_done activate;
		uint8_t bytes[CHAN_MSG_MAX];
	} m;
	struct chan_hdr hdr;

	(void)ready;
	for (;;) {
		int rc = chan_recv(e->chan, &hdr, &m, sizeof(m));

		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			evloop_exit(e->loop);
			return;
		}
		if (hdr.type == AD_MSG_QUOTE_DONE && hdr.len == sizeof(m.quote) &&
		    status_check(&m.quote.st) == 0)
			ad_batch_done(e, hdr.id, &m.quote);
		else if (hdr.type == AD_MSG_KEYS_DONE && hdr.len == sizeof(m.keys) &&
			 status_check(&m.keys.st) == 0)
			keys_done(e, &m.keys);
		else if (hdr.type == AD_MSG_ACTIVATE_DONE && hdr.len == sizeof(m.activate) &&
			 status_check(&m.activate.st) == 0)
			activate_done(e, hdr.id, &m.activate);
		else
			log_err("engine: unexpected message %u of %u bytes from the parent",
				hdr.type, hdr.len);
		OPENSSL_cleanse(&m.activate, sizeof(m.activate));
	}
}

/* ---- connections ---- */

static void listen_watch(struct ad_engine *e)
{
	unsigned want = e->full || ev_timer_armed(&e->rest) ? 0 : EVLOOP_READ;

	for (int l = 0; l < 2; l++)
		if (e->setup->listen_fd[l] >= 0)
			ev_io_want(e->loop, &e->listen_io[l], want);
}

/* A connection gone, or one that may be given up: the listeners may take more again. */
static void listen_resume(struct ad_engine *e)
{
	if (e->full) {
		e->full = false;
		listen_watch(e);
	}
}

static void listen_rested(void *arg)
{
	listen_watch(arg);
}

/*
 * What the socket waits for: the state's direction, or what TLS asked for
 * last.  Waiting for the batch or the TPM it is left as it was (reading),
 * which saves two system calls a request; should it wake the loop then (a
 * hang-up, a request sent early), conn_ready makes it wait for nothing.
 */
static void conn_watch(struct ad_engine *e, struct conn *c)
{
	unsigned want = c->state == CONN_READ	 ? EVLOOP_READ
			: c->state == CONN_WRITE ? EVLOOP_WRITE
						 : 0;

	if (c->state == CONN_QUEUED || c->state == CONN_TPM)
		return;
	if (want && c->tls_want)
		want = c->tls_want;
	ev_io_want(e->loop, &c->io, want);
}

void ad_conn_state(struct ad_engine *e, struct conn *c, enum conn_state state)
{
	const struct ad_config *cfg = e->cfg;
	/* a closing connection's deadline is now: it is dropped outside whatever closed it */
	unsigned ms = state == CONN_READ    ? cfg->read_timeout_ms
		      : state == CONN_TPM   ? cfg->tpm_timeout_ms
		      : state == CONN_WRITE ? cfg->write_timeout_ms
					    : 0;

	c->state = state;
	if (state == CONN_QUEUED)
		ev_timer_stop(e->loop, &c->deadline);
	else
		ev_timer_at(e->loop, &c->deadline, frame_now_ms() + ms);
	if (state != CONN_WRITE) /* a reply is tried at once first (ad_reply) */
		conn_watch(e, c);
	if (state == CONN_READ)
		listen_resume(e);
}

static void conn_drop(struct ad_engine *e, struct conn *c)
{
	struct peer *p = peer_slot(e->peers, e->peer_cap, c->peer);

	if (p->used && p->conns)
		p->conns--;
	if (c->state == CONN_QUEUED)
		e->queued--;
	ev_io_del(e->loop, &c->io);
	ev_timer_del(e->loop, &c->deadline);
	SSL_free(c->ssl);
	close(c->fd);
	reply_reset(c);
	OPENSSL_cleanse(&c->req, sizeof(c->req));
	TAILQ_REMOVE(&e->conns, c, link);
	TAILQ_INSERT_HEAD(&e->free, c, link);
	e->n_conns--;
	listen_resume(e);
}

/* A TLS call that would block: what it waits for, as errno EAGAIN. */
static int tls_blocked(struct conn *c, int err)
{
	if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
		return 0;
	c->tls_want = err == SSL_ERROR_WANT_READ ? EVLOOP_READ : EVLOOP_WRITE;
	errno = EAGAIN;
	return -1;
}

/* read()/send() or their TLS counterparts; -1 with errno EAGAIN when it would block. */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	int n;

	if (!c->ssl)
		return read(c->fd, buf, len);
	n = SSL_read(c->ssl, buf, (int)len);
	if (n > 0) {
		c->tls_want = 0;
		return n;
	}
	return tls_blocked(c, SSL_get_error(c->ssl, n));
}

static ssize_t conn_send(struct conn *c)
{
	struct iovec iov[ATTEST_RESPONSE_IOV];
	unsigned n = 0;
	int w;

	for (unsigned i = c->iov_at; i < c->n_iov; i++)
		iov[n++] = c->iov[i];
	iov[0].iov_base = (uint8_t *)iov[0].iov_base + c->iov_off;
	iov[0].iov_len -= c->iov_off;
	if (!c->ssl) {
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};

		return sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	}
	if (iov[0].iov_len == 0)
		return 0;
	w = SSL_write(c->ssl, iov[0].iov_base,
		      iov[0].iov_len > 65536 ? 65536 : (int)iov[0].iov_len);
	if (w > 0) {
		c->tls_want = 0;
		return w;
	}
	if (tls_blocked(c, SSL_get_error(c->ssl, w)) == 0)
		errno = EPIPE;
	return -1;
}

/* Drives the TLS handshake; an unknown client certificate ends the connection here. */
static void conn_handshake(struct ad_engine *e, struct conn *c)
{
	int n = SSL_accept(c->ssl);

	if (n == 1) {
		c->handshaking = false;
		c->tls_want = 0;
		return;
	}
	if (tls_blocked(c, SSL_get_error(c->ssl, n)) < 0)
		return;
	log_info("TLS handshake refused: %s", ERR_reason_error_string(ERR_get_error()));
	ERR_clear_error();
	ad_conn_state(e, c, CONN_CLOSING);
}

/* Handles a whole frame in the input, if there is one; true if it did (or refused it). */
static bool conn_parse(struct ad_engine *e, struct conn *c)
{
	size_t len;

	if (c->in_len < 4)
		return false;
	len = frame_hdr_get(c->in);
	if (len == 0 || len > ATTEST_REQUEST_MAX) {
		char msg[96];

		snprintf(msg, sizeof(msg), "request frame of %zu bytes (1-%d)", len,
			 ATTEST_REQUEST_MAX);
		ad_reply_error(e, c, EMSGSIZE, msg);
		return true;
	}
	if (c->in_len < 4 + len)
		return false;
	request_complete(e, c, len);
	return true;
}

/*
 * Reads what is there, in as few reads as it takes; a frame longer than a
 * request can be is refused at its header.
 */
static void conn_read(struct ad_engine *e, struct conn *c)
{
	for (;;) {
		size_t want = sizeof(c->in) - c->in_len;
		ssize_t n = want ? conn_recv(c, c->in + c->in_len, want) : 0;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 && want) {
			ad_conn_state(e, c, CONN_CLOSING);
			return;
		}
		c->in_len += (size_t)n;
		if (conn_parse(e, c))
			return;
	}
}

static void conn_write(struct ad_engine *e, struct conn *c)
{
	while (c->iov_at < c->n_iov) {
		ssize_t n = conn_send(c);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			conn_watch(e, c); /* the rest when the socket takes it */
			return;
		}
		if (n < 0) {
			ad_conn_state(e, c, CONN_CLOSING);
			return;
		}
		/* move on through the pieces by what was written */
		size_t left = (size_t)n;

		while (c->iov_at < c->n_iov && left >= c->iov[c->iov_at].iov_len - c->iov_off) {
			left -= c->iov[c->iov_at].iov_len - c->iov_off;
			c->iov_at++;
			c->iov_off = 0;
		}
		c->iov_off += left;
	}
	reply_reset(c);
	ad_conn_state(e, c, c->close_after_write ? CONN_CLOSING : CONN_READ);
	if (c->state == CONN_READ)
		conn_parse(e, c); /* a request that came early is already here */
}

static void conn_ready(void *arg, unsigned ready)
{
	struct conn *c = arg;
	struct ad_engine *e = c->e;

	if (c->state == CONN_QUEUED || c->state == CONN_TPM) {
		ev_io_want(e->loop, &c->io, 0); /* until its state reads or writes again */
		return;
	}
	if (c->state == CONN_READ && (ready & EVLOOP_HUP) && !(ready & EVLOOP_READ))
		ad_conn_state(e, c, CONN_CLOSING);
	else if (c->state == CONN_READ && c->handshaking)
		conn_handshake(e, c);
	else if (c->state == CONN_READ)
		conn_read(e, c);
	else if (c->state == CONN_WRITE) /* a hang-up too: the write says so */
		conn_write(e, c);
	conn_watch(e, c); /* what TLS asks for may have changed */
}

/* Deadlines: a request not read, a reply not taken, a TPM that does not answer. */
static void conn_expired(void *arg)
{
	struct conn *c = arg;
	struct ad_engine *e = c->e;

	if (c->state == CONN_READ) {
		ad_reply_error(e, c, ETIMEDOUT, "no whole request within the read timeout");
	} else if (c->state == CONN_TPM) {
		bool batch = c->req.type == ATTEST_QUOTE && c->batch == e->batch_id;

		if (batch)
			e->batch_in_flight = false; /* a late answer is dropped by its id */
		if (c->req.type == ATTEST_KEYS)
			e->keys_in_flight = false;
		ad_reply_error(e, c, ETIMEDOUT, "the TPM did not answer in time");
		if (batch)
			ad_batch_maybe(e);
	} else { /* a reader that does not read, or one closing */
		conn_drop(e, c);
	}
}

/*
 * Full: the connection to give up is one still reading a request, of the
 * peer with the most connections, the oldest of those.  A peer with one
 * connection loses it only when every peer is down to one.
 */
static struct conn *conn_victim(struct ad_engine *e)
{
	struct conn *best = NULL, *c;
	unsigned best_conns = 0;

	TAILQ_FOREACH (c, &e->conns, link) {
		const struct peer *p;

		if (c->state != CONN_READ)
			continue;
		p = peer_slot(e->peers, e->peer_cap, c->peer);
		if (!best || p->conns > best_conns ||
		    (p->conns == best_conns && c->accepted_ms < best->accepted_ms)) {
			best = c;
			best_conns = p->conns;
		}
	}
	return best;
}

static struct conn *conn_victim_of(struct ad_engine *e, const uint8_t *key)
{
	struct conn *best = NULL, *c;

	TAILQ_FOREACH (c, &e->conns, link)
		if (c->state == CONN_READ && memcmp(c->peer, key, AD_PEER_KEY) == 0 &&
		    (!best || c->accepted_ms < best->accepted_ms))
			best = c;
	return best;
}

/* A free slot (accept_all made room): one given back, else one never used yet. */
static struct conn *conn_slot(struct ad_engine *e)
{
	struct conn *c = TAILQ_FIRST(&e->free);

	if (!c)
		return &e->slots[e->slots_used++];
	TAILQ_REMOVE(&e->free, c, link);
	return c;
}

/* Its TLS state, its socket and its deadline known to the loop; false if one could not be. */
static bool conn_register(struct ad_engine *e, struct conn *c)
{
	if (c->handshaking && (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1))
		return false; /* TLS asked for, and none to be had */
	if (ev_io_add(e->loop, &c->io, c->fd, 0, conn_ready, c) < 0)
		return false;
	if (ev_timer_add(e->loop, &c->deadline, conn_expired, c) < 0) {
		ev_io_del(e->loop, &c->io);
		return false;
	}
	return true;
}

static void conn_add(struct ad_engine *e, int fd, const struct sockaddr_storage *sa, bool tls)
{
	int64_t now = frame_now_ms();
	struct conn *c;
	struct peer *p;
	uint8_t key[AD_PEER_KEY];

	/*
	 * The kernel holds at most this much of a reply a client does not read
	 * (autotuning would let it take megabytes per connection); the rest
	 * waits in our shared buffers, under the write deadline.
	 */
	int sndbuf = 256 << 10;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	peer_key(fd, sa, key);
	p = peer_get(e, key, now);
	if (p->conns >= e->cfg->max_conns_per_peer) {
		/* it competes with itself: its oldest connection that is only reading goes */
		struct conn *victim = conn_victim_of(e, key);

		if (!victim) {
			e->refused++;
			close(fd);
			return;
		}
		conn_drop(e, victim);
	}
	c = conn_slot(e);
	*c = (struct conn){.e = e, .fd = fd, .id = ++e->next_id, .accepted_ms = now};
	memcpy(c->peer, key, AD_PEER_KEY);
	if (tls) {
		c->ssl = SSL_new(e->setup->tls);
		c->handshaking = true;
	}
	if (!conn_register(e, c)) {
		SSL_free(c->ssl);
		close(fd);
		TAILQ_INSERT_HEAD(&e->free, c, link);
		return;
	}
	TAILQ_INSERT_TAIL(&e->conns, c, link);
	p->conns++;
	e->n_conns++;
	ad_conn_state(e, c, CONN_READ);
}

/* Connections already finished still count against their peer until dropped. */
static void conns_sweep(struct ad_engine *e)
{
	for (struct conn *c = TAILQ_FIRST(&e->conns), *next; c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->state == CONN_CLOSING)
			conn_drop(e, c);
	}
}

static void accept_all(struct ad_engine *e, int lfd, bool tls)
{
	conns_sweep(e);
	for (;;) {
		struct sockaddr_storage sa = {0};
		socklen_t len = sizeof(sa);
		struct conn *victim = NULL;
		int fd;

		if (e->n_conns >= e->setup->max_conns && !(victim = conn_victim(e))) {
			/* full of work in progress: the backlog waits, so no EMFILE spin */
			e->full = true;
			listen_watch(e);
			return;
		}
		fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 &&
		    (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
			/* the cap should prevent it; if not, the listeners rest instead of spinning */
			ev_timer_at(e->loop, &e->rest, frame_now_ms() + 100);
			listen_watch(e);
			return;
		}
		if (fd < 0)
			return;
		if (victim)
			conn_drop(e, victim);
		conn_add(e, fd, &sa, tls);
	}
}

static void accept_tcp(void *arg, unsigned ready)
{
	struct ad_engine *e = arg;

	(void)ready;
	accept_all(e, e->setup->listen_fd[0], e->setup->tls != NULL);
}

static void accept_unix(void *arg, unsigned ready)
{
	struct ad_engine *e = arg;

	(void)ready;
	accept_all(e, e->setup->listen_fd[1], false);
}

static void batch_due(void *arg)
{
	ad_batch_maybe(arg);
}

/* The loop's registrations: the channel, the listeners, the batch and rest timers. */
static int engine_watch(struct ad_engine *e)
{
	static ev_io_fn *const accept_fn[2] = {accept_tcp, accept_unix};
	int rc = evloop_new(&e->loop);

	if (rc == 0)
		rc = ev_io_add(e->loop, &e->chan_io, e->chan, EVLOOP_READ, from_parent, e);
	for (int l = 0; l < 2 && rc == 0; l++)
		if (e->setup->listen_fd[l] >= 0)
			rc = ev_io_add(e->loop, &e->listen_io[l], e->setup->listen_fd[l],
				       EVLOOP_READ, accept_fn[l], e);
	if (rc == 0)
		rc = ev_timer_add(e->loop, &e->rest, listen_rested, e);
	if (rc == 0)
		rc = ev_timer_add(e->loop, &e->batch_due, batch_due, e);
	return rc;
}

/* Everything the engine may keep: listeners, logs, its channel; the TPM is not among them. */
static void engine_keep_fds(const struct ad_setup *setup, int chan)
{
	int keep[2 + ATTEST_LOGS + 1], n = 0;

	evloop_signals_reset();
	for (int l = 0; l < 2; l++)
		if (setup->listen_fd[l] >= 0)
			keep[n++] = setup->listen_fd[l];
	for (int i = 0; i < ATTEST_LOGS; i++)
		if (setup->log_fd[i] >= 0)
			keep[n++] = setup->log_fd[i];
	keep[n++] = chan;
	sandbox_close_fds_except(keep, (size_t)n);
	prctl(PR_SET_NAME, "attestd-engine", 0, 0, 0);
}

static int engine_confine(const struct ad_setup *setup)
{
	struct sandbox_report rep;
	const char *user = NULL;
	int rc;

	/*
	 * OpenSSL reads its config and loads providers on first use: make that
	 * first use now, while files may still be opened.
	 */
	uint8_t leaf[ATTEST_NONCE_MIN] = {0}, root[NONCE_HASH_LEN];
	const uint8_t *leaves[1] = {leaf};
	size_t leaf_len = sizeof(leaf);

	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	tzset(); /* certificate times: /etc/localtime */
	rc = nonce_tree_build(leaves, &leaf_len, 1, root, NULL);
	if (rc < 0)
		return rc;
	if (geteuid() == 0) {
		user = setup->cfg->engine_user; /* resolved at start (attestd.c) */
		rc = sandbox_setuser(user);
		if (rc < 0)
			return rc;
	}
	rc = sandbox_drop_caps();
	if (rc < 0)
		return rc;
	rc = sandbox_enter(SANDBOX_NET_ENGINE, &rep);
	if (rc < 0)
		return rc;
	log_debug("engine %d: user %s, no capabilities, Landlock ABI %d, seccomp", (int)getpid(),
		  user ? user : "unchanged", rep.landlock_abi);
	return 0;
}

void ad_engine_main(const struct ad_setup *setup, int chan)
{
	struct ad_engine e = {.setup = setup, .cfg = setup->cfg, .chan = chan};
	unsigned cap = 64;
	int rc;

	engine_keep_fds(setup, chan);
	while (cap < 2 * setup->max_conns + 2)
		cap *= 2;
	e.peer_cap = cap;
	e.slots = calloc(setup->max_conns, sizeof(*e.slots));
	e.peers = calloc(cap, sizeof(*e.peers));
	e.scratch = calloc(setup->max_conns, sizeof(*e.scratch));
	if (!e.slots || !e.peers || !e.scratch) {
		log_err("engine: out of memory for %u connections", setup->max_conns);
		_exit(1);
	}
	TAILQ_INIT(&e.conns);
	TAILQ_INIT(&e.free);
	fcntl(chan, F_SETFL, O_NONBLOCK);
	/* the loop before the sandbox: epoll_create1 is not among its calls */
	rc = engine_watch(&e);
	if (rc == 0)
		rc = engine_confine(setup);
	if (rc == 0)
		rc = evloop_run(e.loop);
	if (rc < 0) {
		log_err("engine: %s", err_msg());
		_exit(1);
	}
	/* _exit: no atexit handlers, nothing of the parent's flushed twice */
	_exit(0);
}
