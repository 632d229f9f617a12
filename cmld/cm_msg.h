/* SPDX-License-Identifier: MIT */
/*
 * Messages between cmld's two processes (lib/chan.h).  The control process
 * (cm_engine.c: unprivileged, sandboxed) owns the control socket's
 * connections, their framing and the protobuf decoding, and sends the root
 * parent one typed, fixed-size request per control message.  The parent
 * checks every field (cm_msg_request_check) before it acts; a message of the
 * wrong length, of an unknown type or with a field out of range means the
 * control process is broken or taken over: the parent kills it and starts a
 * new one.  The parent's answers are DaemonToController messages it packed
 * itself, sent in chunks the control process frames for the client.
 */
#ifndef MEASURED_CM_MSG_H
#define MEASURED_CM_MSG_H

#include <stdint.h>

#include "chan.h"
#include "control.pb-c.h"

enum cm_msg_type {
	CM_MSG_REQUEST = 1, /* control -> parent: struct cm_msg_request, id: the connection */
	CM_MSG_CLOSED,	    /* control -> parent: no body; the connection id is gone */
	CM_MSG_REPLY,	    /* parent -> control: struct cm_msg_reply (data as long as len) */
	CM_MSG_CLOSE,	    /* parent -> control: no body; drop the connection once written */
};

#define CM_REQ_REFS_MAX	 16   /* containers named by one request */
#define CM_REQ_NAME_MAX	 256  /* a UUID, name, GuestOS name or interface, NUL included */
#define CM_REQ_PIN_MAX	 256  /* a PIN or start key, NUL included */
#define CM_REQ_ARGS_MAX	 64   /* exec argv entries */
#define CM_REQ_ARGV_LEN	 4096 /* their bytes, each NUL-terminated */
#define CM_REQ_INPUT_MAX 4096 /* one exec input message, NUL included */
#define CM_REQ_BLOB_MAX	 (40u << 10)

/* The byte fields of a request, in the order their bytes follow each other in blob[]. */
enum cm_req_blob {
	CM_BLOB_CONFIG,
	CM_BLOB_CONFIG_SIG,
	CM_BLOB_CONFIG_CERT,
	CM_BLOB_GUESTOS,
	CM_BLOB_GUESTOS_SIG,
	CM_BLOB_GUESTOS_CERT,
	CM_BLOB_ROOTCERT,
	CM_BLOB_DEVICE_CERT,
	CM_BLOBS,
};

/* Which optional fields the client gave. */
enum cm_req_flag {
	CM_REQ_START_PARAMS = 1u << 0,
	CM_REQ_SETUP = 1u << 1,
	CM_REQ_KEY = 1u << 2,
	CM_REQ_IFACE_PARAMS = 1u << 3,
	CM_REQ_IFACE = 1u << 4,
	CM_REQ_PERSISTENT = 1u << 5,
	CM_REQ_EXEC_COMMAND = 1u << 6,
	CM_REQ_EXEC_INPUT = 1u << 7,
	CM_REQ_GUESTOS_NAME = 1u << 8,
	CM_REQ_PIN = 1u << 9,
	CM_REQ_NEWPIN = 1u << 10,
	CM_REQ_FLAGS_ALL = (1u << 11) - 1,
};

struct cm_msg_request {
	uint32_t command; /* ControllerToDaemon__Command */
	uint32_t flags;	  /* enum cm_req_flag */
	uint32_t blob_present;
	uint32_t blob_len[CM_BLOBS];
	uint32_t n_refs, n_exec_args, exec_argv_len;
	char refs[CM_REQ_REFS_MAX][CM_REQ_NAME_MAX];
	char guestos_name[CM_REQ_NAME_MAX];
	char iface[CM_REQ_NAME_MAX];
	char exec_command[CM_REQ_NAME_MAX];
	char exec_argv[CM_REQ_ARGV_LEN];
	char exec_input[CM_REQ_INPUT_MAX];
	/* secrets: the buffers holding a request are locked and wiped (lib/mem.h) */
	char key[CM_REQ_PIN_MAX], pin[CM_REQ_PIN_MAX], newpin[CM_REQ_PIN_MAX];
	uint8_t blob[CM_REQ_BLOB_MAX];
};

#define CM_REPLY_CHUNK (CHAN_MSG_MAX - sizeof(struct chan_hdr) - 12)

struct cm_msg_reply {
	uint32_t total;	 /* the packed DaemonToController's length */
	uint32_t offset; /* of this chunk's first byte; chunks come in order */
	uint32_t len;
	uint8_t data[CM_REPLY_CHUNK];
};

/*
 * The control process's half: @req as a typed request.  -EMSGSIZE (naming the
 * field) when something does not fit, -EOPNOTSUPP for a command that is none;
 * the client is told, nothing is sent.
 */
int cm_msg_request_from_proto(const ControllerToDaemon *req, struct cm_msg_request *ret);

/* What cm_msg_request_check() makes of a request: a ControllerToDaemon pointing into it. */
struct cm_req_view {
	ControllerToDaemon req;
	ContainerStartParams start;
	AssignInterfaceParams iface;
	char *refs[CM_REQ_REFS_MAX];
	char *argv[CM_REQ_ARGS_MAX];
};

/*
 * The parent's half: -EBADMSG (naming the field) unless every field of @m is
 * in range (a known command and flags, strings terminated within their
 * fields, counts and lengths within bounds); then @ret views @m, which must
 * outlive it.  Nothing is parsed: strings and bytes are used where they lie.
 */
int cm_msg_request_check(struct cm_msg_request *m, struct cm_req_view *ret);

#endif
