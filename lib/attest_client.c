// SPDX-License-Identifier: MIT
/* attestd client and evidence files. */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "attest_client.h"
#include "cborutil.h"
#include "err.h"
#include "fileio.h"
#include "frame.h"
#include "mem.h"

static SSL_CTX *client_tls;

int attest_client_tls(const char *ca, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		SSL_CTX_free(ctx);
		return err_set(-EINVAL, "TLS: cannot load the CA %s", ca);
	}
	if (cert && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		     SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1)) {
		SSL_CTX_free(ctx);
		return err_set(-EINVAL, "TLS: cannot load the client certificate %s", cert);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_free(client_tls);
	client_tls = ctx;
	return 0;
}

/* Blocking TLS over @fd (timeouts from SO_RCVTIMEO/SNDTIMEO), the peer checked for @host. */
static int tls_exchange(int fd, const char *host, int timeout_ms, const uint8_t *out,
			size_t out_len, uint8_t **ret_body, size_t *ret_len)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	SSL *ssl = SSL_new(client_tls);
	uint8_t hdr[4], *body = NULL;
	size_t got = 0;
	uint32_t len = 0;
	int rc = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct in6_addr ip;
	bool is_ip = inet_pton(AF_INET, host, &ip) == 1 || inet_pton(AF_INET6, host, &ip) == 1;

	if (!ssl || SSL_set_fd(ssl, fd) != 1 ||
	    (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
		   : SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1) ||
	    SSL_connect(ssl) != 1) {
		long v = ssl ? SSL_get_verify_result(ssl) : 0;

		rc = err_set(-ECONNREFUSED, "TLS handshake with %s failed: %s", host,
			     v != X509_V_OK ? X509_verify_cert_error_string(v)
					    : ERR_reason_error_string(ERR_get_error()));
		goto out;
	}
	if (SSL_write(ssl, out, (int)out_len) != (int)out_len) {
		rc = err_set(-EIO, "TLS write failed");
		goto out;
	}
	for (got = 0; got < 4;) {
		int n = SSL_read(ssl, hdr + got, (int)(4 - got));

		if (n <= 0) {
			rc = err_set(-ECONNRESET, "attestd closed the TLS connection");
			goto out;
		}
		got += (size_t)n;
	}
	len = frame_hdr_get(hdr);
	if (len == 0 || len > ATTEST_RESPONSE_MAX || !(body = malloc(len))) {
		rc = err_set(-EMSGSIZE, "response frame of %u bytes", len);
		goto out;
	}
	for (got = 0; got < len;) {
		int n = SSL_read(ssl, body + got, (int)(len - got > 1 << 30 ? 1 << 30 : len - got));

		if (n <= 0) {
			rc = err_set(-ECONNRESET, "attestd closed the TLS connection");
			goto out;
		}
		got += (size_t)n;
	}
	*ret_body = body;
	*ret_len = len;
	body = NULL;
out:
	free(body);
	if (ssl)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	return rc;
}

static int connect_to(const char *where)
{
	char host[256], port[16] = "9505";
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	const char *colon;
	int fd = -1, rc;

	if (strncmp(where, "unix:", 5) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		if (strlen(where + 5) >= sizeof(sa.sun_path))
			return err_set(-ENAMETOOLONG, "socket path too long");
		strcpy(sa.sun_path, where + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			rc = err_set(-errno, "%s: %s", where, strerror(errno));
			if (fd >= 0)
				close(fd);
			return rc;
		}
		return fd;
	}
	if (where[0] == '[') {
		const char *close_br = strchr(where, ']');

		if (!close_br)
			return err_set(-EINVAL, "bad address %s", where);
		snprintf(host, sizeof(host), "%.*s", (int)(close_br - where - 1), where + 1);
		if (close_br[1] == ':')
			snprintf(port, sizeof(port), "%s", close_br + 2);
	} else {
		colon = strrchr(where, ':');
		snprintf(host, sizeof(host), "%.*s",
			 colon ? (int)(colon - where) : (int)strlen(where), where);
		if (colon)
			snprintf(port, sizeof(port), "%s", colon + 1);
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return err_set(-EHOSTUNREACH, "%s: %s", where, gai_strerror(rc));
	rc = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		rc = -errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : err_set(rc, "%s: %s", where, strerror(-rc));
}

int attest_call(const char *where, const struct attest_request *req, int timeout_ms,
		uint8_t **ret_body, size_t *ret_len)
{
	int64_t deadline = frame_now_ms() + timeout_ms;
	_cleanup_free_ uint8_t *frame = NULL;
	_cleanup_free_ uint8_t *body = NULL;
	uint8_t *resp = NULL;
	size_t len, resp_len = 0;
	int fd, rc;

	rc = attest_request_encode(req, &body, &len);
	if (rc < 0)
		return rc;
	fd = connect_to(where);
	if (fd < 0)
		return fd;
	if (client_tls && strncmp(where, "unix:", 5) != 0) {
		char host[256];
		const char *colon = strrchr(where, ':');

		frame = malloc(len + FRAME_HDR_LEN);
		if (!frame) {
			close(fd);
			return err_set(-ENOMEM, "out of memory");
		}
		frame_hdr_put(len, frame);
		memcpy(frame + FRAME_HDR_LEN, body, len);
		snprintf(host, sizeof(host), "%.*s",
			 colon ? (int)(colon - where) : (int)strlen(where), where);
		if (host[0] == '[') { /* [v6]:port */
			memmove(host, host + 1, strlen(host));
			host[strcspn(host, "]")] = '\0';
		}
		rc = tls_exchange(fd, host, timeout_ms, frame, len + FRAME_HDR_LEN, ret_body,
				  ret_len);
		close(fd);
		return rc;
	}
	rc = frame_send(fd, body, len, deadline);
	if (rc == 0)
		rc = frame_recv(fd, ATTEST_RESPONSE_MAX, deadline, &resp, &resp_len);
	close(fd);
	if (rc == -ETIMEDOUT)
		return err_set(rc, "attestd did not answer in time");
	if (rc == -ECONNRESET || rc == -EPIPE)
		return err_set(rc, "attestd closed the connection");
	if (rc < 0)
		return err_wrap(rc, "response");
	if (resp_len == 0) {
		free(resp);
		return err_set(-EMSGSIZE, "response frame of 0 bytes");
	}
	*ret_body = resp;
	*ret_len = resp_len;
	return 0;
}

int evidence_write(const char *path, const struct evidence *ev)
{
	_cleanup_cbor_ cbor_item_t *m = cbor_new_definite_map(4);
	char asked[256];
	uint8_t *buf;
	size_t len;
	int rc;

	if ((rc = pcr_selection_format(&ev->asked, asked, sizeof(asked))) < 0)
		return rc;
	if (!m || !cbu_map_put(m, 0, cbu_build_uint(1)) ||
	    !cbu_map_put(m, 1, cbor_build_bytestring(ev->nonce, ev->nonce_len)) ||
	    !cbu_map_put(m, 2, cbor_build_bytestring(ev->body, ev->body_len)) ||
	    !cbu_map_put(m, 3, cbor_build_string(asked)))
		return err_set(-ENOMEM, "out of memory");
	if ((rc = cbu_serialize(m, &buf, &len)) < 0)
		return rc;
	rc = file_write_atomic(path, buf, len, 0644);
	free(buf);
	return rc;
}

static int evidence_from_map(const cbor_item_t *m, struct evidence *ev)
{
	const uint8_t *p, *b;
	const char *asked;
	char text[256];
	size_t n, blen, alen;
	uint64_t version;
	int rc;

	if ((rc = cbu_get_uint(cbu_map_get(m, 0), "version", &version)) < 0)
		return rc;
	if (version != 1)
		return err_set(-EBADMSG, "evidence version %llu", (unsigned long long)version);
	if ((rc = cbu_get_bytes(cbu_map_get(m, 1), "nonce", &p, &n)) < 0)
		return rc;
	if (n > ATTEST_NONCE_MAX)
		return err_set(-EBADMSG, "nonce of %zu bytes", n);
	if ((rc = cbu_get_bytes(cbu_map_get(m, 2), "response", &b, &blen)) < 0)
		return rc;
	/* key 3 came later: evidence without it does not say what was asked */
	if (cbu_map_get(m, 3)) {
		if ((rc = cbu_get_text(cbu_map_get(m, 3), "asked selection", &asked, &alen)) < 0)
			return rc;
		if (alen >= sizeof(text))
			return err_set(-EBADMSG, "asked selection of %zu bytes", alen);
		memcpy(text, asked, alen);
		text[alen] = '\0';
		if ((rc = pcr_selection_parse(text, &ev->asked)) < 0)
			return rc;
		ev->has_asked = true;
	}
	memcpy(ev->nonce, p, n);
	ev->nonce_len = n;
	ev->body = malloc(blen ? blen : 1);
	if (!ev->body)
		return err_set(-ENOMEM, "out of memory");
	memcpy(ev->body, b, blen);
	ev->body_len = blen;
	return 0;
}

int evidence_read(const char *path, struct evidence *ret)
{
	struct evidence ev = {0};
	cbor_item_t *m = NULL;
	uint8_t *buf;
	size_t len, used;
	int rc = file_read_all(path, ATTEST_RESPONSE_MAX + 1024, &buf, &len);

	if (rc < 0)
		return rc;
	rc = cbu_load(buf, len, &m, &used);
	if (rc == 0 && (used != len || !cbor_isa_map(m)))
		rc = err_set(-EBADMSG, "not an evidence file");
	if (rc == 0)
		rc = evidence_from_map(m, &ev);
	if (m)
		cbor_decref(&m);
	free(buf);
	if (rc < 0) {
		evidence_free(&ev);
		return err_wrap(rc, "%s", path);
	}
	*ret = ev;
	return 0;
}

void evidence_free(struct evidence *ev)
{
	free(ev->body);
	memset(ev, 0, sizeof(*ev));
}
