// SPDX-License-Identifier: MIT
/*
 * attestd's event loop: one poll() over the listening sockets and every
 * connection, all non-blocking.  A connection reads one framed request at a
 * time, within the read timeout; quote requests wait in the batch, others
 * are answered at once.  A malformed or oversized request gets an error reply
 * and the connection is closed; everyone else is unaffected.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "attestd.h"
#include "err.h"
#include "tpm.h"

int64_t ad_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int listen_tcp(const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	const char *port = colon ? colon + 1 : "9505";
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE},
			*res;
	int fd, one = 1, rc;

	snprintf(host, sizeof(host), "%.*s",
		 colon ? (int)(colon - hostport) : (int)strlen(hostport), hostport);
	if (host[0] == '[') { /* [::1]:9505 */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0)
		return err_set(-EINVAL, "--listen %s: %s", hostport, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 256) < 0) {
		rc = err_set(-errno, "listening on %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = rc;
	}
	freeaddrinfo(res);
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(-ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 256) < 0) {
		int rc = err_set(-errno, "listening on %s: %s", path, strerror(errno));

		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

int ad_server_init(struct ad_server *s, const struct ad_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->listen_fd[0] = s->listen_fd[1] = -1;
	if (cfg->tls_cert) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

		s->tls = ctx;
		if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
		    SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key ? cfg->tls_key : cfg->tls_cert,
						SSL_FILETYPE_PEM) != 1)
			return err_set(-EINVAL, "TLS: cannot load %s and its key", cfg->tls_cert);
		if (cfg->tls_client_ca) {
			if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1)
				return err_set(-EINVAL, "TLS: cannot load %s", cfg->tls_client_ca);
			/* verifiers must show a certificate from this CA */
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
					   NULL);
		}
		SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	if (cfg->listen && (s->listen_fd[0] = listen_tcp(cfg->listen)) < 0)
		return s->listen_fd[0];
	if (cfg->socket && (s->listen_fd[1] = listen_unix(cfg->socket)) < 0)
		return s->listen_fd[1];
	return 0;
}

static void conn_drop(struct ad_server *s, unsigned i)
{
	struct conn *c = &s->conn[i];

	if (c->state == CONN_QUEUED)
		s->queued--;
	SSL_free(c->ssl);
	close(c->fd);
	free(c->body);
	free(c->out);
	s->conn[i] = s->conn[--s->n_conns];
}

void ad_reply(struct conn *c, const struct attest_response *resp)
{
	uint8_t *body;
	size_t len;

	free(c->out);
	c->out = NULL;
	if (attest_response_encode(resp, &body, &len) < 0 || !(c->out = malloc(len + 4))) {
		c->state = CONN_CLOSING; /* out of memory: nothing sensible to say */
		return;
	}
	attest_frame_header(len, c->out);
	memcpy(c->out + 4, body, len);
	free(body);
	c->out_len = len + 4;
	c->out_off = 0;
	c->state = CONN_WRITE;
}

void ad_reply_error(struct conn *c, int code, const char *msg)
{
	struct attest_response r = {.status = (uint32_t)(code < 0 ? -code : code)};

	snprintf(r.error, sizeof(r.error), "%s", msg);
	ad_reply(c, &r);
	c->close_after_write = true;
}

static void answer_keys(struct ad_server *s, struct conn *c)
{
	struct attest_response r = {0};
	struct ak_info info;

	if (!s->tpm && tpm_open(s->cfg->tcti, 0, &s->tpm) < 0) {
		s->tpm = NULL;
		ad_reply_error(c, EIO, err_msg());
		return;
	}
	if (tpm_keys_ensure(s->tpm, false, &info) < 0) {
		ad_reply_error(c, EIO, err_msg());
		return;
	}
	r.ek_public = info.ek_public;
	r.ek_public_len = info.ek_public_len;
	r.ak_public = info.ak_public;
	r.ak_public_len = info.ak_public_len;
	r.ak_name = info.ak_name;
	r.ak_name_len = info.ak_name_len;
	/* a slot without a certificate stays empty: the verifier decides */
	if (tpm_ek_certificate(s->tpm, TPM_NV_EK_CERT_RSA, &r.ek_cert[ATTEST_EK_CERT_RSA],
			       &r.ek_cert_len[ATTEST_EK_CERT_RSA]) < 0)
		r.ek_cert[ATTEST_EK_CERT_RSA] = NULL;
	if (tpm_ek_certificate(s->tpm, TPM_NV_EK_CERT_ECC, &r.ek_cert[ATTEST_EK_CERT_ECC],
			       &r.ek_cert_len[ATTEST_EK_CERT_ECC]) < 0)
		r.ek_cert[ATTEST_EK_CERT_ECC] = NULL;
	ad_reply(c, &r);
	for (int i = 0; i < ATTEST_EK_CERTS; i++)
		free(r.ek_cert[i]);
}

static void answer_activate(struct ad_server *s, struct conn *c)
{
	struct attest_response r = {0};

	if (!s->tpm && tpm_open(s->cfg->tcti, 0, &s->tpm) < 0) {
		s->tpm = NULL;
		ad_reply_error(c, EIO, err_msg());
		return;
	}
	if (tpm_activate_credential(s->tpm, c->req.blob, c->req.blob_len, c->req.secret,
				    c->req.secret_len, r.credential, &r.credential_len) < 0) {
		ad_reply_error(c, EPERM, err_msg());
		return;
	}
	ad_reply(c, &r);
	OPENSSL_cleanse(r.credential, sizeof(r.credential));
}

static void request_complete(struct ad_server *s, struct conn *c)
{
	s->requests++;
	if (attest_request_decode(c->body, c->body_len, &c->req) < 0) {
		ad_reply_error(c, EBADMSG, err_msg());
	} else if (c->req.type == ATTEST_KEYS) {
		answer_keys(s, c);
	} else if (c->req.type == ATTEST_ACTIVATE) {
		answer_activate(s, c);
	} else {
		c->state = CONN_QUEUED;
		c->queued_ms = ad_now_ms();
		if (s->queued++ == 0 || c->queued_ms < s->first_queued_ms)
			s->first_queued_ms = c->queued_ms;
	}
	free(c->body);
	c->body = NULL;
	c->hdr_got = 0;
}

/* read()/send() or their TLS counterparts; -1 with errno EAGAIN when it would block. */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	int n, e;

	if (!c->ssl)
		return read(c->fd, buf, len);
	n = SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, n);
	c->tls_wants_write = e == SSL_ERROR_WANT_WRITE;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

static ssize_t conn_send(struct conn *c, const void *buf, size_t len)
{
	int n, e;

	if (!c->ssl)
		return send(c->fd, buf, len, MSG_NOSIGNAL);
	n = SSL_write(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

/* Drives the TLS handshake; an unknown client certificate ends the connection here. */
static void conn_handshake(struct conn *c)
{
	int n = SSL_accept(c->ssl), e;

	if (n == 1) {
		c->handshaking = false;
		c->tls_wants_write = false;
		return;
	}
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->tls_wants_write = e == SSL_ERROR_WANT_WRITE;
		return;
	}
	log_info("TLS handshake refused: %s", ERR_reason_error_string(ERR_get_error()));
	ERR_clear_error();
	c->state = CONN_CLOSING;
}

/* Reads what is there; a frame longer than a request can be is refused at its header. */
static void conn_read(struct ad_server *s, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->hdr_got < 4) {
			n = conn_recv(c, c->hdr + c->hdr_got, 4 - c->hdr_got);
		} else {
			n = conn_recv(c, c->body + c->body_got, c->body_len - c->body_got);
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			c->state = CONN_CLOSING;
			return;
		}
		if (c->hdr_got < 4) {
			c->hdr_got += (size_t)n;
			if (c->hdr_got < 4)
				continue;
			c->body_len = attest_frame_length(c->hdr);
			if (c->body_len == 0 || c->body_len > ATTEST_REQUEST_MAX) {
				char msg[96];

				snprintf(msg, sizeof(msg), "request frame of %zu bytes (1-%d)",
					 c->body_len, ATTEST_REQUEST_MAX);
				ad_reply_error(c, EMSGSIZE, msg);
				return;
			}
			c->body = malloc(c->body_len);
			c->body_got = 0;
			if (!c->body) {
				c->state = CONN_CLOSING;
				return;
			}
			continue;
		}
		c->body_got += (size_t)n;
		if (c->body_got == c->body_len) {
			request_complete(s, c);
			return;
		}
	}
}

static void conn_write(struct ad_server *s, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_send(c, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			c->state = CONN_CLOSING;
			return;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->state = c->close_after_write ? CONN_CLOSING : CONN_READ;
	c->deadline_ms = ad_now_ms() + (int64_t)s->cfg->read_timeout_ms;
}

static void accept_all(struct ad_server *s, int lfd, bool tls)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (s->n_conns == AD_MAX_CONNS) {
			close(fd); /* full: the client retries */
			continue;
		}
		s->conn[s->n_conns] = (struct conn){
			.fd = fd,
			.state = CONN_READ,
			.deadline_ms = ad_now_ms() + (int64_t)s->cfg->read_timeout_ms};
		if (tls) {
			SSL *ssl = SSL_new(s->tls);

			if (!ssl || SSL_set_fd(ssl, fd) != 1) {
				SSL_free(ssl);
				close(fd);
				continue;
			}
			s->conn[s->n_conns].ssl = ssl;
			s->conn[s->n_conns].handshaking = true;
		}
		s->n_conns++;
	}
}

int ad_server_run(struct ad_server *s, volatile int *stop)
{
	struct pollfd pfd[AD_MAX_CONNS + 2];

	while (!*stop) {
		int64_t now = ad_now_ms(), wait = 1000;
		unsigned n = 0;

		if (s->queued && (now - s->first_queued_ms >= (int64_t)s->cfg->batch_ms ||
				  s->queued >= s->cfg->batch_max))
			ad_serve_batch(s);
		for (unsigned i = 0; i < s->n_conns;) {
			struct conn *c = &s->conn[i];

			if (c->state == CONN_READ && now > c->deadline_ms) {
				ad_reply_error(c, ETIMEDOUT,
					       "no whole request within the read timeout");
			}
			if (c->state == CONN_CLOSING) {
				conn_drop(s, i);
				continue;
			}
			i++;
		}
		for (int l = 0; l < 2; l++)
			if (s->listen_fd[l] >= 0)
				pfd[n++] = (struct pollfd){.fd = s->listen_fd[l], .events = POLLIN};
		for (unsigned i = 0; i < s->n_conns; i++) {
			struct conn *c = &s->conn[i];
			short ev = c->state == CONN_READ    ? POLLIN
				   : c->state == CONN_WRITE ? POLLOUT
							    : 0;

			if (c->ssl && (c->handshaking || c->tls_wants_write) && ev)
				ev |= POLLIN | POLLOUT; /* TLS may need either way */

			pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
			if (c->state == CONN_READ && c->deadline_ms - now < wait)
				wait = c->deadline_ms - now < 0 ? 0 : c->deadline_ms - now;
		}
		if (s->queued) {
			int64_t due = s->first_queued_ms + s->cfg->batch_ms - now;

			wait = due < 0 ? 0 : due < wait ? due : wait;
		}
		unsigned polled = s->n_conns;

		if (poll(pfd, n, (int)wait) < 0) {
			if (errno == EINTR)
				continue;
			return err_set(-errno, "poll: %s", strerror(errno));
		}
		n = 0;
		for (int l = 0; l < 2; l++)
			if (s->listen_fd[l] >= 0 && (pfd[n++].revents & POLLIN))
				accept_all(s, s->listen_fd[l], l == 0 && s->tls);
		/* connections accepted just now are not in pfd; they are polled next round */
		for (unsigned i = 0; i < polled; i++, n++) {
			struct conn *c = &s->conn[i];

			if (pfd[n].revents & (POLLERR | POLLHUP | POLLNVAL) &&
			    c->state != CONN_WRITE && !(pfd[n].revents & POLLIN))
				c->state = CONN_CLOSING;
			else if (c->state == CONN_READ && c->handshaking &&
				 (pfd[n].revents & (POLLIN | POLLOUT | POLLHUP)))
				conn_handshake(c);
			else if (c->state == CONN_READ &&
				 (pfd[n].revents & (POLLIN | POLLOUT | POLLHUP)))
				conn_read(s, c);
			else if (c->state == CONN_WRITE && (pfd[n].revents & POLLOUT))
				conn_write(s, c);
		}
	}
	return 0;
}

void ad_server_close(struct ad_server *s)
{
	while (s->n_conns)
		conn_drop(s, 0);
	for (int l = 0; l < 2; l++)
		if (s->listen_fd[l] >= 0)
			close(s->listen_fd[l]);
	if (s->cfg->socket)
		unlink(s->cfg->socket);
	tpm_close(s->tpm);
	s->tpm = NULL;
	SSL_CTX_free(s->tls);
	s->tls = NULL;
}
