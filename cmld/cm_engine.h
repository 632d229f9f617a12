/* SPDX-License-Identifier: MIT */
/*
 * cmld's control process: unprivileged (setresuid, no capabilities,
 * no_new_privs, Landlock, seccomp), it owns the control socket's connections,
 * their framing and the protobuf decoding, and talks to the root parent only
 * in cm_msg.h's typed messages.
 */
#ifndef MEASURED_CM_ENGINE_H
#define MEASURED_CM_ENGINE_H

#include <sys/types.h>

#define CM_CONTROL_MAX_CONNS	    64
#define CM_CONTROL_FRAME_MAX	    (8u << 20)	/* a request frame, and a reply */
#define CM_CONTROL_QUEUE_MAX	    (16u << 20) /* bytes waiting for one client */
#define CM_CONTROL_WRITE_TIMEOUT_MS 10000	/* a client that takes nothing for this long */

struct cm_engine_args {
	int listen_fd;	  /* the control socket, listening */
	int chan;	  /* to the parent */
	uid_t peer_uid;	  /* besides root, the uid a peer may have (cmld's) */
	const char *user; /* setresuid to this when started as root */
};

/* In the forked child: confines itself, serves until the parent goes; never returns. */
__attribute__((noreturn)) void cm_engine_main(const struct cm_engine_args *args);

#endif
