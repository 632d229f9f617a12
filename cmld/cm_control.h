/* SPDX-License-Identifier: MIT */
/* cm_control: the control commands; starts and restarts the control process. */
#ifndef CM_CONTROL_H
#define CM_CONTROL_H

#include "cmld.h"

/*
 * Binds the control socket; the control process that accepts on it is
 * started from d->loop, and again whenever it dies.
 */
int cm_control_listen(struct cmld *d);
/* SIGCHLD: reaps every child that ended (containers, helpers, exec sessions, both processes). */
void cm_control_reap(struct cmld *d);
void cm_control_close(struct cmld *d);
struct chan_hdr;
/*
 * One message from the control process (@body: hdr->len bytes): a request is
 * checked (cm_msg_request_check) and handled.  -EBADMSG, naming what was
 * wrong, for anything else: the caller kills the control process.
 */
int cm_control_dispatch(struct cmld *d, const struct chan_hdr *hdr, void *body);
/* Handles one checked request; the answers go to @conn (several for EXEC). */
struct cm_conn;
void cm_control_handle(struct cmld *d, struct cm_conn *conn, const ControllerToDaemon *req);
/* Connection @id of the control process, answered over @ctl's channel. */
struct cm_conn *cm_conn_new(struct cm_ctl *ctl, uint64_t id);
void cm_conn_free(struct cm_conn *c);
/* Forgets every connection (their exec sessions killed): the control process died. */
void cm_control_drop_conns(struct cmld *d);

const char *cm_state_name(ContainerState s);

#endif
