// SPDX-License-Identifier: MIT
/*
 * cmld's control process.  One event loop (lib/evloop) over the listening
 * control socket, the channel to the parent and every client connection,
 * all non-blocking:
 * a frame is read as it arrives (lib/frame.h), decoded, turned into a typed
 * request (cm_msg.c) and sent up; the parent's packed answers are framed and
 * queued, written as the client takes them, and a client that takes nothing
 * for CM_CONTROL_WRITE_TIMEOUT_MS, or lets CM_CONTROL_QUEUE_MAX pile up, is
 * dropped.  Requests that cannot be expressed (malformed, too large) are
 * answered here, with the reason, and never reach the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cm_engine.h"
#include "cm_msg.h"
#include "err.h"
#include "evloop.h"
#include "frame.h"
#include "mem.h"
#include "sandbox.h"

struct engine;

struct eng_conn {
	struct engine *e;
	uint64_t id;
	struct frame_conn f;
	struct ev_io io;
	struct ev_timer stalled; /* armed while answers wait: when they have waited too long */
	struct cm_msg_request *waiting; /* a request the channel had no room for (secret pages) */
	uint8_t *reply;			/* the parent's answer being assembled */
	size_t reply_total, reply_got;
	bool closing; /* the parent asked: close once written */
	bool gone;
	LIST_ENTRY(eng_conn) link;
};

struct engine {
	const struct cm_engine_args *a;
	struct evloop *loop;
	struct ev_io chan_io, listen_io;
	LIST_HEAD(, eng_conn) conns;
	size_t n_conns;
	uint64_t next_id;
	uint64_t closed[CM_CONTROL_MAX_CONNS * 4]; /* CLOSED notices the channel had no room for */
	size_t n_closed;
	bool chan_full;
};

static struct eng_conn *conn_find(struct engine *e, uint64_t id)
{
	struct eng_conn *c;

	LIST_FOREACH (c, &e->conns, link)
		if (c->id == id)
			return c;
	return NULL;
}

/* An answer made here: the client learns why its message went no further. */
static void answer_local(struct eng_conn *c, DaemonToController__Response response,
			 const char *reason)
{
	DaemonToController m = DAEMON_TO_CONTROLLER__INIT;
	size_t len;
	_cleanup_free_ uint8_t *buf = NULL;

	m.code = DAEMON_TO_CONTROLLER__CODE__RESPONSE;
	m.has_response = 1;
	m.response = response;
	m.reason = (char *)reason;
	len = daemon_to_controller__get_packed_size(&m);
	buf = malloc(len);
	if (!buf || (daemon_to_controller__pack(&m, buf), frame_conn_queue(&c->f, buf, len) < 0))
		c->gone = true;
}

static void closed_notice(struct engine *e, uint64_t id)
{
	int rc = chan_send(e->a->chan, CM_MSG_CLOSED, id, NULL, 0);

	if (rc == -EAGAIN && e->n_closed < sizeof(e->closed) / sizeof(e->closed[0])) {
		e->closed[e->n_closed++] = id;
		e->chan_full = true;
	}
}

static void conn_free(struct engine *e, struct eng_conn *c)
{
	closed_notice(e, c->id);
	LIST_REMOVE(c, link);
	ev_io_del(e->loop, &c->io);
	ev_timer_del(e->loop, &c->stalled);
	frame_conn_free(&c->f);
	secret_free(c->waiting, sizeof(*c->waiting));
	free(c->reply);
	free(c);
	e->n_conns--;
}

/* Frees a decoded request; its PINs are wiped first. */
static void request_free(ControllerToDaemon *req)
{
	const ContainerStartParams *p = req->container_start_params;

	/* the default key is shared, never wiped */
	if (p && p->key && p->key != container_start_params__key__default_value)
		OPENSSL_cleanse(p->key, strlen(p->key));
	if (req->device_pin)
		OPENSSL_cleanse(req->device_pin, strlen(req->device_pin));
	if (req->device_newpin)
		OPENSSL_cleanse(req->device_newpin, strlen(req->device_newpin));
	controller_to_daemon__free_unpacked(req, NULL);
}

/* Sends @c's waiting request; it stays waiting while the channel is full. */
static void request_push(struct engine *e, struct eng_conn *c)
{
	int rc = chan_send(e->a->chan, CM_MSG_REQUEST, c->id, c->waiting, sizeof(*c->waiting));

	if (rc == -EAGAIN) {
		e->chan_full = true;
		return;
	}
	secret_free(c->waiting, sizeof(*c->waiting));
	c->waiting = NULL;
	if (rc < 0)
		c->gone = true;
}

static void request_forward(struct engine *e, struct eng_conn *c, uint8_t *body, size_t len)
{
	ControllerToDaemon *req = controller_to_daemon__unpack(NULL, len, body);
	int rc;

	OPENSSL_cleanse(body, len);
	if (!req) {
		answer_local(c, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED,
			     "malformed control message");
		return;
	}
	c->waiting = secret_alloc(sizeof(*c->waiting));
	rc = c->waiting ? cm_msg_request_from_proto(req, c->waiting) : -ENOMEM;
	request_free(req);
	if (rc < 0) {
		answer_local(c,
			     rc == -EOPNOTSUPP ? DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED
					       : DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED,
			     err_msg());
		secret_free(c->waiting, sizeof(*c->waiting));
		c->waiting = NULL;
		return;
	}
	request_push(e, c);
}

static void conn_readable(struct engine *e, struct eng_conn *c)
{
	while (!c->waiting && !c->gone && !c->closing) {
		uint8_t *body;
		size_t len;
		int rc = frame_conn_read(&c->f, &body, &len);

		if (rc == 0)
			return;
		if (rc == -EMSGSIZE) {
			answer_local(c, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED,
				     "message too large");
			c->closing = true; /* its body would follow as frames */
			return;
		}
		if (rc < 0) {
			c->gone = true;
			return;
		}
		request_forward(e, c, body, len);
		free(body);
	}
}

/* What the channel and the listener wait for: the channel's room, a free connection. */
static void engine_watch(struct engine *e)
{
	ev_io_want(e->loop, &e->chan_io, EVLOOP_READ | (e->chan_full ? EVLOOP_WRITE : 0));
	ev_io_want(e->loop, &e->listen_io, e->n_conns < CM_CONTROL_MAX_CONNS ? EVLOOP_READ : 0);
}

/* After anything happened to @c: freed when it is done, else what it waits for. */
static void conn_update(struct engine *e, struct eng_conn *c)
{
	unsigned want = 0;

	if (c->gone || (c->closing && !frame_conn_pending(&c->f) && !c->waiting)) {
		conn_free(e, c);
		return;
	}
	if (frame_conn_pending(&c->f)) {
		want |= EVLOOP_WRITE;
		/* + 1: frame_conn_stalled counts what waited longer than the timeout */
		ev_timer_at(e->loop, &c->stalled,
			    c->f.out_since_ms + CM_CONTROL_WRITE_TIMEOUT_MS + 1);
	} else {
		ev_timer_stop(e->loop, &c->stalled);
	}
	/* one request at a time per connection: the next waits in the socket */
	if (!c->waiting && !c->closing)
		want |= EVLOOP_READ;
	ev_io_want(e->loop, &c->io, want);
}

static void conn_ready(void *arg, unsigned ready)
{
	struct eng_conn *c = arg;
	struct engine *e = c->e;

	if ((ready & EVLOOP_WRITE) && frame_conn_flush(&c->f) < 0)
		c->gone = true;
	if (ready & (EVLOOP_READ | EVLOOP_HUP))
		conn_readable(e, c);
	conn_update(e, c);
	engine_watch(e);
}

static void conn_stalled(void *arg)
{
	struct eng_conn *c = arg;
	struct engine *e = c->e;

	if (frame_conn_stalled(&c->f, frame_now_ms(), CM_CONTROL_WRITE_TIMEOUT_MS)) {
		log_warn("control: connection %llu took no answer for %u ms; dropped",
			 (unsigned long long)c->id, CM_CONTROL_WRITE_TIMEOUT_MS);
		c->gone = true;
	}
	conn_update(e, c);
	engine_watch(e);
}

static void conn_accept(void *arg, unsigned ready)
{
	struct engine *e = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct eng_conn *c;
	int fd = accept4(e->a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)ready;
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != e->a->peer_uid)) {
		log_warn("control: refused a peer with uid %d", (int)cred.uid);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || ev_io_add(e->loop, &c->io, fd, EVLOOP_READ, conn_ready, c) < 0) {
		free(c);
		close(fd);
		return;
	}
	if (ev_timer_add(e->loop, &c->stalled, conn_stalled, c) < 0) {
		ev_io_del(e->loop, &c->io);
		free(c);
		close(fd);
		return;
	}
	frame_conn_init(&c->f, fd, CM_CONTROL_FRAME_MAX, CM_CONTROL_QUEUE_MAX);
	c->e = e;
	c->id = ++e->next_id;
	LIST_INSERT_HEAD(&e->conns, c, link);
	e->n_conns++;
	engine_watch(e);
}

/* A chunk of the parent's answer; the whole answer is framed for the client. */
static void reply_chunk(struct engine *e, uint64_t id, const struct cm_msg_reply *r, size_t len)
{
	struct eng_conn *c = conn_find(e, id);

	if (len < offsetof(struct cm_msg_reply, data) || r->len > CM_REPLY_CHUNK ||
	    len != offsetof(struct cm_msg_reply, data) + r->len ||
	    r->total > CM_CONTROL_FRAME_MAX || r->len > r->total - r->offset) {
		log_err("control: a reply chunk of %zu bytes that does not add up", len);
		_exit(1);
	}
	if (!c || c->gone)
		return; /* closed meanwhile */
	if (r->offset == 0) {
		free(c->reply);
		c->reply = malloc(r->total ? r->total : 1);
		c->reply_total = r->total;
		c->reply_got = 0;
		if (!c->reply) {
			c->gone = true;
			return;
		}
	}
	if (!c->reply || r->offset != c->reply_got || r->total != c->reply_total) {
		log_err("control: reply chunks out of order");
		_exit(1);
	}
	memcpy(c->reply + c->reply_got, r->data, r->len);
	c->reply_got += r->len;
	if (c->reply_got < c->reply_total)
		return;
	if (frame_conn_queue(&c->f, c->reply, c->reply_total) < 0) {
		log_warn("control: connection %llu: %s; dropped", (unsigned long long)c->id,
			 err_msg());
		c->gone = true;
	}
	OPENSSL_cleanse(c->reply, c->reply_total);
	free(c->reply);
	c->reply = NULL;
}

static void chan_readable(struct engine *e)
{
	static struct cm_msg_reply r;

	for (;;) {
		struct chan_hdr hdr;
		int rc = chan_recv(e->a->chan, &hdr, &r, sizeof(r));
		struct eng_conn *c;

		if (rc == -EAGAIN)
			return;
		if (rc == -EPIPE)
			_exit(0); /* the parent is gone */
		if (rc < 0) {
			log_err("control: %s", err_msg());
			_exit(1);
		}
		if (hdr.type == CM_MSG_REPLY) {
			reply_chunk(e, hdr.id, &r, hdr.len);
		} else if (hdr.type == CM_MSG_CLOSE && hdr.len == 0) {
			if ((c = conn_find(e, hdr.id)))
				c->closing = true;
		} else {
			log_err("control: message of type %u with %u bytes", hdr.type, hdr.len);
			_exit(1);
		}
		if ((c = conn_find(e, hdr.id)))
			conn_update(e, c);
	}
}

static void chan_writable(struct engine *e)
{
	e->chan_full = false;
	while (e->n_closed && !e->chan_full) {
		uint64_t id = e->closed[--e->n_closed];

		if (chan_send(e->a->chan, CM_MSG_CLOSED, id, NULL, 0) == -EAGAIN) {
			e->closed[e->n_closed++] = id;
			e->chan_full = true;
		}
	}
	for (struct eng_conn *c = LIST_FIRST(&e->conns), *next; c && !e->chan_full; c = next) {
		next = LIST_NEXT(c, link);
		if (c->waiting) {
			request_push(e, c);
			conn_update(e, c);
		}
	}
}

static void chan_ready(void *arg, unsigned ready)
{
	struct engine *e = arg;

	if (ready & EVLOOP_WRITE)
		chan_writable(e);
	if (ready & (EVLOOP_READ | EVLOOP_HUP))
		chan_readable(e);
	engine_watch(e);
}

static void engine_keep_fds(const struct cm_engine_args *a)
{
	int keep[2] = {a->listen_fd, a->chan};

	evloop_signals_reset(); /* the parent's signalfd and mask are not ours */
	sandbox_close_fds_except(keep, 2);
	prctl(PR_SET_NAME, "cmld-control", 0, 0, 0);
}

static int engine_confine(const struct cm_engine_args *a)
{
	struct sandbox_report rep;
	int rc;

	if (geteuid() == 0) {
		rc = sandbox_setuser(a->user);
		if (rc < 0)
			return rc;
	}
	rc = sandbox_drop_caps();
	if (rc < 0)
		return rc;
	rc = sandbox_enter(SANDBOX_CMLD_CONTROL, &rep);
	if (rc < 0)
		return rc;
	log_debug("control %d: user %s, no capabilities, Landlock ABI %d, seccomp", (int)getpid(),
		  a->user, rep.landlock_abi);
	return 0;
}

void cm_engine_main(const struct cm_engine_args *args)
{
	struct engine e = {.a = args};
	int rc;

	LIST_INIT(&e.conns);
	fcntl(args->chan, F_SETFL, O_NONBLOCK);
	engine_keep_fds(args);
	/* the loop before the sandbox: epoll_create1 is not among its calls */
	rc = evloop_new(&e.loop);
	if (rc == 0)
		rc = ev_io_add(e.loop, &e.chan_io, args->chan, EVLOOP_READ, chan_ready, &e);
	if (rc == 0)
		rc = ev_io_add(e.loop, &e.listen_io, args->listen_fd, EVLOOP_READ, conn_accept, &e);
	if (rc == 0)
		rc = engine_confine(args);
	if (rc == 0)
		rc = evloop_run(e.loop);
	if (rc < 0) {
		log_err("control: %s", err_msg());
		_exit(1);
	}
	_exit(0);
}
