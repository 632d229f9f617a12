// SPDX-License-Identifier: MIT
/*
 * libFuzzer: cmld's control message handler.  Each input is one packed
 * ControllerToDaemon, decoded as the control process decodes a frame, made a
 * typed request (cm_msg_request_from_proto), checked and handled as the
 * parent does (cm_control_dispatch) against a scratch data folder; the
 * answers go to /dev/null.  What the parent asks the verify process
 * (cm_verify.h) is answered by its code in this process.  Commands that start
 * processes (start, run, interface moves, reboot) are left to the
 * integration test: here they would fork containers at fuzzing speed.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cm_msg.h"
#include "cmld.h"
#include "cm_control.h"
#include "cm_store.h"
#include "mem.h"
#include "err.h"
#include "control.pb-c.h"

static struct cmld daemon_state;
static char scratch[] = "/tmp/fuzz-cmld.XXXXXX";

static void scratch_remove(void)
{
	cm_rmtree(scratch);
}

static bool spawns(ControllerToDaemon__Command cmd)
{
	switch (cmd) {
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_CMD:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_INPUT:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ASSIGNIFACE:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNASSIGNIFACE:
	case CONTROLLER_TO_DAEMON__COMMAND__REBOOT_DEVICE:
		return true;
	default:
		return false;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char data[64], run[64], sock[64];

	(void)argc;
	(void)argv;
	if (!mkdtemp(scratch))
		abort();
	atexit(scratch_remove);
	snprintf(data, sizeof(data), "%s/data", scratch);
	snprintf(run, sizeof(run), "%s/run", scratch);
	snprintf(sock, sizeof(sock), "%s/sock", scratch);
	daemon_state.data_dir = data;
	daemon_state.run_dir = run;
	daemon_state.socket_path = sock;
	daemon_state.stop_timeout_ms = 10;
	daemon_state.listen_fd = -1;
	daemon_state.ctl.chan = open("/dev/null", O_WRONLY | O_CLOEXEC);
	log_set_level(LOG_LEVEL_ERR);
	if (cm_store_init(&daemon_state) < 0)
		abort();
	/* the verify process's code, answering in this process (no fork per input) */
	daemon_state.verify.chan = -1;
	daemon_state.verify.local = cm_vstate_new(NULL, NULL);
	if (!daemon_state.verify.local)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ControllerToDaemon *req = controller_to_daemon__unpack(NULL, size, data);
	static struct cm_msg_request m;
	struct chan_hdr hdr = {.type = CM_MSG_REQUEST, .len = sizeof(m), .id = 1};

	if (!req)
		return 0;
	if (!spawns(req->command) && cm_msg_request_from_proto(req, &m) == 0 &&
	    cm_control_dispatch(&daemon_state, &hdr, &m) < 0)
		abort(); /* what the control process makes, the parent must take */
	controller_to_daemon__free_unpacked(req, NULL);
	cm_control_drop_conns(&daemon_state);
	/* containers made by create stay listed; drop them so memory stays flat */
	while (daemon_state.containers) {
		struct cm_container *c = daemon_state.containers;
		daemon_state.containers = c->next;
		cm_container_free(c);
	}
	if (daemon_state.provisioned) /* set_provisioned would shut out most commands */
		daemon_state.provisioned = false;
	return 0;
}
