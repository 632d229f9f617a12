// SPDX-License-Identifier: MIT
/*
 * What attestd opens while it still may: the listening sockets, the logs
 * (read later with pread, so a drop of privilege cannot make them vanish),
 * the TLS context, and a descriptor limit raised as far as it goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "attestd.h"
#include "err.h"
#include "fileio.h"
#include "mem.h"
#include "txt_heap.h"

#define TXT_HEAP_IMAGE_MAX (64u << 20) /* TXT heaps are a few MiB */

/* Descriptors the engine needs besides its connections: listeners, logs, channel, stdio. */
#define AD_FD_RESERVE 32

/* A step of listening failed: errno, in one message for all of them. */
static int listen_failed(const char *where)
{
	return err_set(-errno, "listening on %s: %s", where, strerror(errno));
}

/* A non-blocking listening socket on @sa (a Unix socket's file made 0666). */
static int listen_on(const struct sockaddr *sa, socklen_t sa_len, const char *where)
{
	_cleanup_close_ int fd =
		socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return listen_failed(where);
	if (sa->sa_family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return listen_failed(where);
	if (bind(fd, sa, sa_len) < 0)
		return listen_failed(where);
	if (sa->sa_family == AF_UNIX && chmod(where, 0666) < 0)
		return listen_failed(where);
	if (listen(fd, 1024) < 0)
		return listen_failed(where);
	return TAKE_FD(fd);
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
	int fd, rc;

	snprintf(host, sizeof(host), "%.*s",
		 colon ? (int)(colon - hostport) : (int)strlen(hostport), hostport);
	if (host[0] == '[') { /* [::1]:9505 */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0)
		return err_set(-EINVAL, "listen %s: %s", hostport, gai_strerror(rc));
	fd = listen_on(res->ai_addr, res->ai_addrlen, hostport);
	freeaddrinfo(res);
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(-ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	return listen_on((struct sockaddr *)&sa, sizeof(sa), path);
}

static int tls_open(struct ad_setup *setup, const struct ad_config *cfg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	setup->tls = ctx;
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key ? cfg->tls_key : cfg->tls_cert,
					SSL_FILETYPE_PEM) != 1)
		return err_set(-EINVAL, "TLS: cannot load %s and its key", cfg->tls_cert);
	if (cfg->tls_client_ca) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1)
			return err_set(-EINVAL, "TLS: cannot load %s", cfg->tls_client_ca);
		/* verifiers must show a certificate from this CA */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

/*
 * As many descriptors as the hard limit allows, and connections capped below
 * that, so that accept() never meets EMFILE (which would leave the listener
 * readable and the loop spinning).
 */
static unsigned conns_within_limit(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = {rl.rlim_max, rl.rlim_max};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0) /* a sandbox may forbid it */
			rl.rlim_cur = rl.rlim_max;
	}
	if (rl.rlim_cur <= AD_FD_RESERVE + 1)
		return 1;
	return rl.rlim_cur - AD_FD_RESERVE < want ? (unsigned)(rl.rlim_cur - AD_FD_RESERVE) : want;
}

/*
 * The DRTM log out of a TXT heap image, into a sealed memfd the engine
 * preads like the other logs: the log does not change after the launch,
 * and a heap that cannot be read is an error at start, not a log left out.
 */
static int drtm_from_heap(const char *path)
{
	_cleanup_free_ uint8_t *img = NULL;
	_cleanup_close_ int fd = -1;
	const uint8_t *log;
	size_t len, log_len;
	int rc;

	rc = file_read_all(path, TXT_HEAP_IMAGE_MAX, &img, &len);
	if (rc < 0)
		return rc;
	rc = txt_heap_image_log(img, len, path, &log, &log_len);
	if (rc < 0)
		return rc;
	fd = memfd_create("drtm-log", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return err_set(-errno, "memfd for the DRTM log: %s", strerror(errno));
	if (write(fd, log, log_len) != (ssize_t)log_len)
		return err_set(-errno, "writing the DRTM log of %s: %s", path, strerror(errno));
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return err_set(-errno, "writing the DRTM log of %s: %s", path, strerror(errno));
	return TAKE_FD(fd);
}

int ad_setup_open(struct ad_setup *setup, const struct ad_config *cfg)
{
	int rc;

	*setup = (struct ad_setup){.cfg = cfg, .listen_fd = {-1, -1}};
	if (cfg->txt_heap && cfg->log_path[ATTEST_LOG_DRTM])
		return err_set(-EINVAL, "drtm-log and txt-heap both name the DRTM log");
	for (int i = 0; i < ATTEST_LOGS; i++) {
		setup->log_fd[i] = -1;
		/* a log that cannot be opened is left out; the verifier sees that */
		if (cfg->log_path[i])
			setup->log_fd[i] = open(cfg->log_path[i], O_RDONLY | O_CLOEXEC);
	}
	if (cfg->txt_heap) {
		setup->log_fd[ATTEST_LOG_DRTM] = drtm_from_heap(cfg->txt_heap);
		if (setup->log_fd[ATTEST_LOG_DRTM] < 0)
			return setup->log_fd[ATTEST_LOG_DRTM];
	}
	setup->max_conns = conns_within_limit(cfg->max_conns);
	if (cfg->tls_cert) {
		rc = tls_open(setup, cfg);
		if (rc < 0)
			return rc;
	}
	if (cfg->listen) {
		setup->listen_fd[0] = listen_tcp(cfg->listen);
		if (setup->listen_fd[0] < 0)
			return setup->listen_fd[0];
	}
	if (cfg->socket) {
		setup->listen_fd[1] = listen_unix(cfg->socket);
		if (setup->listen_fd[1] < 0)
			return setup->listen_fd[1];
	}
	return 0;
}

void ad_setup_close(struct ad_setup *setup)
{
	for (int l = 0; l < 2; l++)
		if (setup->listen_fd[l] >= 0)
			close(setup->listen_fd[l]);
	if (setup->listen_fd[1] >= 0 && setup->cfg->socket)
		unlink(setup->cfg->socket);
	for (int i = 0; i < ATTEST_LOGS; i++)
		if (setup->log_fd[i] >= 0)
			close(setup->log_fd[i]);
	SSL_CTX_free(setup->tls);
	*setup = (struct ad_setup){.listen_fd = {-1, -1}, .log_fd = {-1, -1, -1, -1}};
}
