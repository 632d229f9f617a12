// SPDX-License-Identifier: MIT
/*
 * The root parent's calls to the verify process (cm_verify.h).  One call at
 * a time, synchronous with a deadline: the request and its bytes go out,
 * the answer is checked field by field (cm_vrep_check) and against the
 * parent's own bytes (their SHA-256), and only then is its output used: a
 * packed config unpacked by protobuf-c within a size bound, its enum values
 * checked; a digest; a token file.  The parent keeps the bytes it sent, so
 * what it stores is what was verified: a verify process that answered for
 * other bytes is caught by the digest.  Anything wrong kills the process;
 * the next call starts a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cmld.h"
#include "cm_store.h"
#include "cm_vclient.h"
#include "err.h"
#include "frame.h"
#include "mem.h"

/* ---- the process ---- */

static void vproc_forget(struct cmld *d)
{
	if (d->verify.chan >= 0)
		close(d->verify.chan);
	d->verify.chan = -1;
	d->verify.pid = 0;
}

static void log_status(pid_t pid, int status)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		log_err("verify process %d killed by signal %d%s", (int)pid, WTERMSIG(status),
			WTERMSIG(status) == SIGSYS ? " (a system call outside its sandbox)" : "");
	else if (WIFEXITED(status))
		log_err("verify process %d exited with status %d", (int)pid, WEXITSTATUS(status));
}

/* The verify process is broken or taken over: gone, with @why in the log. */
static void vproc_kill(struct cmld *d, const char *why)
{
	pid_t pid = d->verify.pid;
	int status = 0;

	log_err("verify process %d: %s; a new one serves the next call", (int)pid, why);
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		log_status(pid, status);
	}
	vproc_forget(d);
	d->verify.deaths++;
}

bool cm_verify_reaped(struct cmld *d, pid_t pid, int status)
{
	if (!d->verify.pid || pid != d->verify.pid)
		return false;
	log_status(pid, status);
	vproc_forget(d);
	d->verify.deaths++;
	return true;
}

void cm_verify_stop(struct cmld *d)
{
	if (d->verify.pid > 0) {
		kill(d->verify.pid, SIGKILL);
		while (waitpid(d->verify.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	vproc_forget(d);
}

static int vproc_start(struct cmld *d)
{
	char ca_dir[4096];
	int fds[2];
	pid_t pid;
	int rc = chan_pair(fds);

	if (rc < 0)
		return rc;
	cm_store_path(d, ca_dir, sizeof(ca_dir), "tokens/ca");
	pid = fork();
	if (pid < 0) {
		rc = err_set(-errno, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		struct cm_verify_args args = {.chan = fds[1],
					      .user = d->ctl.user ? d->ctl.user : "nobody",
					      .anchors = d->trust_anchors,
					      .ca_dir = ca_dir};

		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		cm_verify_main(&args);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	d->verify.chan = fds[0];
	d->verify.pid = pid;
	log_debug("verify process %d started", (int)pid);
	return 0;
}

int cm_verify_start(struct cmld *d)
{
	int rc = d->verify.pid || d->verify.local ? 0 : vproc_start(d);

	return rc < 0 ? err_wrap(rc, "the verify process") : 0;
}

/* Waits until @fd is ready for @events, at most until @deadline_ms. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - frame_now_ms();
		struct pollfd p = {.fd = fd, .events = events};
		int n;

		if (left <= 0)
			return err_set(-ETIMEDOUT, "no answer within %u ms", CM_VERIFY_TIMEOUT_MS);
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return err_set(-errno, "poll: %s", strerror(errno));
	}
}

static int send_wait(int fd, uint32_t type, uint64_t id, const void *body, size_t len,
		     int64_t deadline)
{
	for (;;) {
		int rc = chan_send(fd, type, id, body, len);

		if (rc != -EAGAIN)
			return rc;
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
}

static int recv_wait(int fd, struct chan_hdr *hdr, void *body, size_t cap, int64_t deadline)
{
	for (;;) {
		int rc = chan_recv(fd, hdr, body, cap);

		if (rc != -EAGAIN)
			return rc;
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
}

/* The exchange itself; < 0 (with the reason) means the process must go. */
static int exchange(struct cmld *d, const struct cm_vreq *req, const uint8_t *const in[],
		    struct cm_vrep *rep, uint8_t **ret_out, bool secret)
{
	int64_t deadline = frame_now_ms() + CM_VERIFY_TIMEOUT_MS;
	uint64_t id = ++d->verify.seq;
	struct chan_hdr hdr;
	uint8_t *out = NULL;
	size_t got = 0;
	int rc;

	rc = send_wait(d->verify.chan, CM_VMSG_REQ, id, req, sizeof(*req), deadline);
	if (rc < 0)
		return rc;
	for (int i = 0; i < CM_VPARTS; i++)
		for (size_t off = 0; off < req->len[i];) {
			size_t n = req->len[i] - off < CM_VDATA_CHUNK ? req->len[i] - off
								      : CM_VDATA_CHUNK;
			rc = send_wait(d->verify.chan, CM_VMSG_DATA, id, in[i] + off, n, deadline);
			if (rc < 0)
				return rc;
			off += n;
		}
	rc = recv_wait(d->verify.chan, &hdr, rep, sizeof(*rep), deadline);
	if (rc < 0)
		return rc;
	if (hdr.type != CM_VMSG_REP || hdr.len != sizeof(*rep) || hdr.id != id)
		return err_set(-EBADMSG, "message of type %u with %u bytes for call %llu", hdr.type,
			       hdr.len, (unsigned long long)hdr.id);
	rc = cm_vrep_check(req, in, rep);
	if (rc < 0)
		return rc;
	if (rep->out_len) {
		out = secret ? secret_alloc(rep->out_len) : malloc(rep->out_len);
		if (!out)
			return err_set(-ENOMEM, "out of memory");
	}
	while (got < rep->out_len) {
		rc = recv_wait(d->verify.chan, &hdr, out + got, rep->out_len - got, deadline);
		if (rc == 0 && (hdr.type != CM_VMSG_DATA || hdr.id != id || !hdr.len))
			rc = err_set(-EBADMSG, "answer data out of order");
		if (rc < 0) {
			if (secret)
				secret_free(out, rep->out_len);
			else
				free(out);
			return rc;
		}
		got += hdr.len;
	}
	*ret_out = out;
	return 0;
}

/*
 * One call: 0 with @rep checked (its own rc may still be < 0) and @ret_out
 * holding out_len bytes (locked pages when @secret), or < 0 when the verify
 * process failed (it is gone then; the reason says so).
 */
static int vcall(struct cmld *d, const struct cm_vreq *req, const uint8_t *const in[],
		 struct cm_vrep *rep, uint8_t **ret_out, bool secret)
{
	int rc;

	*ret_out = NULL;
	if (d->verify.local) { /* the fuzzers: the same code, in this process */
		uint8_t *buf, *out = NULL;
		size_t total = req->len[0] + req->len[1] + req->len[2], off = 0;

		if (!(buf = malloc(total ? total : 1)))
			return err_set(-ENOMEM, "out of memory");
		for (int i = 0; i < CM_VPARTS; off += req->len[i++])
			if (req->len[i])
				memcpy(buf + off, in[i], req->len[i]);
		rc = cm_verify_run(d->verify.local, req, buf, rep, &out);
		free(buf);
		if (rc == 0)
			rc = cm_vrep_check(req, in, rep);
		if (rc == 0 && rep->out_len && secret) {
			uint8_t *locked = secret_alloc(rep->out_len);
			if (locked)
				memcpy(locked, out, rep->out_len);
			OPENSSL_cleanse(out, rep->out_len);
			free(out);
			out = locked;
			rc = locked ? 0 : -ENOMEM;
		}
		if (rc == 0)
			*ret_out = out;
		else
			free(out);
		return rc;
	}
	for (int i = 0; i < CM_VPARTS; i++)
		if (req->len[i] > CM_VERIFY_PART_MAX)
			return err_set(-EFBIG, "%s: %u bytes, at most %u", req->label, req->len[i],
				       CM_VERIFY_PART_MAX);
	rc = cm_verify_start(d);
	if (rc < 0)
		return rc;
	rc = exchange(d, req, in, rep, ret_out, secret);
	if (rc < 0) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", err_msg());
		vproc_kill(d, why);
		return err_set(-EPROTO, "the verify process failed: %s", why);
	}
	return 0;
}

/* A request in locked pages (it may hold PINs), wiped and freed by the cleanup. */
static void vreq_freep(struct cm_vreq **p)
{
	secret_free(*p, sizeof(**p));
}
#define _cleanup_vreq_ __attribute__((cleanup(vreq_freep)))

static struct cm_vreq *vreq_new(uint32_t op, const char *label)
{
	struct cm_vreq *req = secret_alloc(sizeof(*req));

	if (!req)
		return NULL;
	req->op = op;
	snprintf(req->label, sizeof(req->label), "%s", label ? label : "");
	return req;
}

/* Every enum field of @m (and its sub-messages) holds a value its enum has. */
static int enums_known(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t n = 1;
		const void *vals = base;

		if (f->type != PROTOBUF_C_TYPE_ENUM && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m + f->quantifier_offset);
			vals = *(void *const *)base;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
			   f->type == PROTOBUF_C_TYPE_ENUM &&
			   !*(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset)) {
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			if (f->type == PROTOBUF_C_TYPE_ENUM) {
				int v = ((const int *)vals)[k];
				if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v))
					return err_set(-EBADMSG, "%s: no enum value %d", f->name,
						       v);
			} else {
				const ProtobufCMessage *sub =
					f->label == PROTOBUF_C_LABEL_REPEATED
						? ((ProtobufCMessage *const *)vals)[k]
						: *(ProtobufCMessage *const *)base;
				int r = sub ? enums_known(sub) : 0;
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

int cm_verify_config(struct cmld *d, const ProtobufCMessageDescriptor *desc, enum cm_vtrust trust,
		     unsigned flags, const char *source, const char *sig_what, const uint8_t *text,
		     size_t len, const uint8_t *sig, size_t sig_len, const uint8_t *cert,
		     size_t cert_len, ProtobufCMessage **ret, bool *ret_verified)
{
	_cleanup_vreq_ struct cm_vreq *req = vreq_new(
		desc == &guest_osconfig__descriptor ? CM_VOP_GUESTOS : CM_VOP_CONTAINER, source);
	const uint8_t *in[CM_VPARTS] = {text, sig, cert};
	_cleanup_free_ uint8_t *out = NULL;
	struct cm_vrep rep;
	ProtobufCMessage *m;
	int r;

	if (!req)
		return -ENOMEM;
	req->trust = trust;
	req->flags = flags;
	req->len[0] = (uint32_t)len;
	if (trust != CM_VTRUST_NONE) {
		req->len[1] = (uint32_t)sig_len;
		req->len[2] = (uint32_t)cert_len;
	}
	if (len > CM_VERIFY_PART_MAX || sig_len > CM_VERIFY_PART_MAX ||
	    cert_len > CM_VERIFY_PART_MAX)
		return err_set(-EFBIG, "%s: larger than %u bytes", source, CM_VERIFY_PART_MAX);
	r = vcall(d, req, in, &rep, &out, false);
	if (r < 0)
		return r;
	if (rep.rc < 0 && rep.stage == CM_VSTAGE_SIG && sig_what)
		return err_set(rep.rc, "%s: %s", sig_what, rep.reason);
	if (rep.rc < 0)
		return err_set(rep.rc, "%s", rep.reason);
	m = protobuf_c_message_unpack(desc, NULL, rep.out_len, out);
	if (!m) {
		vproc_kill(d, "a packed config protobuf-c does not take");
		return err_set(-EPROTO, "the verify process failed: %s: not a packed config",
			       source);
	}
	r = enums_known(m);
	if (r < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err_msg());
		protobuf_c_message_free_unpacked(m, NULL);
		vproc_kill(d, why);
		return err_set(-EPROTO, "the verify process failed: %s: %s", source, why);
	}
	*ret = m;
	if (ret_verified)
		*ret_verified = rep.verified;
	err_clear();
	if (trust != CM_VTRUST_NONE && !rep.verified)
		err_set(-EPERM, "%s", rep.reason); /* for the caller's warning */
	return 0;
}

/* The ops that answer with a digest only. */
static int vcall_digest(struct cmld *d, uint32_t op, const uint8_t *pem, size_t len,
			uint8_t ret[32])
{
	_cleanup_vreq_ struct cm_vreq *req = vreq_new(op, "certificate");
	const uint8_t *in[CM_VPARTS] = {pem, NULL, NULL};
	uint8_t *out = NULL;
	struct cm_vrep rep;
	int r;

	if (!req)
		return -ENOMEM;
	req->len[0] = (uint32_t)len;
	r = vcall(d, req, in, &rep, &out, false);
	if (r < 0)
		return r;
	if (rep.rc < 0)
		return err_set(rep.rc, "%s", rep.reason);
	memcpy(ret, rep.cert_digest, 32);
	return 0;
}

int cm_verify_ca(struct cmld *d, const uint8_t *pem, size_t len, uint8_t ret_digest[32])
{
	return vcall_digest(d, CM_VOP_CA, pem, len, ret_digest);
}

int cm_verify_cert(struct cmld *d, const uint8_t *pem, size_t len, uint8_t ret_key_digest[32])
{
	return vcall_digest(d, CM_VOP_CERT, pem, len, ret_key_digest);
}

/* The token ops: the PINs in the locked request, the token back in locked pages. */
static int vcall_token(struct cmld *d, uint32_t op, const char *label, const uint8_t *der,
		       size_t len, const char *pin, const char *newpin, uint8_t **ret,
		       size_t *ret_len)
{
	_cleanup_vreq_ struct cm_vreq *req = vreq_new(op, label);
	const uint8_t *in[CM_VPARTS] = {der, NULL, NULL};
	uint8_t *out = NULL;
	struct cm_vrep rep;
	int r;

	if (!req)
		return -ENOMEM;
	if ((pin && strlen(pin) >= sizeof(req->pin)) ||
	    (newpin && strlen(newpin) >= sizeof(req->newpin)))
		return err_set(-EINVAL, "a PIN of more than %zu bytes", sizeof(req->pin) - 1);
	snprintf(req->pin, sizeof(req->pin), "%s", pin ? pin : "");
	snprintf(req->newpin, sizeof(req->newpin), "%s", newpin ? newpin : "");
	req->len[0] = (uint32_t)len;
	r = vcall(d, req, in, &rep, &out, true);
	if (r < 0)
		return r;
	if (rep.rc < 0)
		return err_set(rep.rc, "%s", rep.reason);
	if (ret) {
		*ret = out;
		*ret_len = rep.out_len;
	} else if (out) {
		secret_free(out, rep.out_len);
	}
	return 0;
}

int cm_verify_token_new(struct cmld *d, const char *uuid, uint8_t **ret, size_t *ret_len)
{
	return vcall_token(d, CM_VOP_TOKEN_NEW, uuid, NULL, 0, NULL, NULL, ret, ret_len);
}

int cm_verify_token_check(struct cmld *d, const char *path, const uint8_t *der, size_t len,
			  const char *pin)
{
	return vcall_token(d, CM_VOP_TOKEN_CHECK, path, der, len, pin, NULL, NULL, NULL);
}

int cm_verify_token_repin(struct cmld *d, const char *path, const uint8_t *der, size_t len,
			  const char *pin, const char *newpin, uint8_t **ret, size_t *ret_len)
{
	return vcall_token(d, CM_VOP_TOKEN_REPIN, path, der, len, pin, newpin, ret, ret_len);
}
