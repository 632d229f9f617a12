/* SPDX-License-Identifier: MIT */
/*
 * cmld: the container manager daemon, its shared state (struct cmld, struct
 * cm_container); each module declares its own functions in its own header.
 * Three processes: the root parent
 * (everything below but cm_engine and cm_verify), the unprivileged control
 * process (cm_engine.c, cm_engine.h) and the unprivileged
 * verify process (cm_verify.c, cm_verify.h: parses configs, certificates and
 * tokens, one call at a time), each with one event loop (lib/evloop);
 * containers are addressed by UUID or name.
 * Modules:
 *   cm_store    data folder layout, container configs on disk, CA registration
 *   cm_guestos  signed GuestOS configs and their images
 *   cm_token    the per-container softtoken (PKCS#12, trust|me compatible)
 *   cm_runtime  namespaces, mounts, cgroups, start/stop/freeze/run
 *   cm_proc     helper processes: cm_run, a child's signals (cm_proc.h)
 *   cm_image    data images: size, mkfs (cm_image.h)
 *   cm_net      veth pairs and assigned interfaces
 *   cm_vtpm     one swtpm per container
 *   cm_seal     TPM-sealed LUKS2 data images
 *   cm_measure  PCR 11: what a container runs, before it runs
 *   cm_confine  no_new_privs, capabilities, seccomp, default limits (cm_confine.h)
 *   cm_control  the control commands; starts and restarts the control process
 *   cm_engine   the control process: connections, framing, protobuf (cm_engine.h)
 *   cm_msg      the typed request between the two, and its check (cm_msg.h)
 *   cm_verify   the verify process: configs, X.509, PKCS#12 parsed (cm_verify.h)
 *   cm_vclient  the parent's calls to it, and its check of each answer
 */
#ifndef MEASURED_CMLD_H
#define MEASURED_CMLD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "chan.h"
#include "cm_confine.h"
#include "cm_verify.h"
#include "container.pb-c.h"
#include "evloop.h"
#include "pcr.h"
#include "control.pb-c.h"
#include "guestos.pb-c.h"

#define CM_UUID_LEN 36

struct cm_exec;

struct cm_container {
	char uuid[CM_UUID_LEN + 1];
	ContainerConfig
		*config; /* what the next start runs (sealed: the config bound to the key) */
	ContainerConfig *pending; /* update_config of a running container: config once it stops */
	ContainerState state;
	ContainerTrust trust;
	pid_t init_pid; /* in cmld's PID namespace, 0 when stopped */
	int init_pidfd; /* -1 when stopped */
	time_t started, created;
	struct timespec stop_deadline; /* SIGKILL after this, when stopping */
	bool setup_mode;
	bool allow_audio;
	uint32_t uid_base; /* host uid of the container's root (user namespace) */
	char **ifaces;	   /* interfaces moved in at run time */
	size_t n_ifaces;
	pid_t vtpm_pid;
	pid_t vtpm_filter_pid; /* what the container reaches of swtpm's control channel */
	unsigned vtpm_port;
	unsigned pin_failures;
	int unlock_rc; /* why the last start's unseal failed (cm_seal_open), else 0 */
	struct cm_container *next;
};

/* Sealing: all NULL/0 without a TPM (then container data is not encrypted). */
struct cm_seal_conf {
	const char *tcti;	    /* --tpm */
	struct pcr_selection pcrs;  /* from --seal-profile (pcrs = ...) */
	const char *reference;	    /* --seal-reference: pcrpredict's predicted values */
	const char *signer;	    /* --policy-signer: seal to PolicyAuthorize(this key) */
	const char *signed_dir;	    /* --signed-policies: approvals tried at unlock */
	const char *cel_path;	    /* where the PCR 11 events are logged */
	uint32_t pbkdf2_iterations; /* --luks-pbkdf2-iterations (tests); 0: argon2id */
};

/* The unprivileged control process (cm_engine.c), as the parent keeps track of it. */
#define CM_CTL_QUEUE_MAX (32u << 20) /* answers waiting for it, at most */
#define CM_CTL_STUCK_MS	 5000	     /* and for this long without progress */
struct cm_ctl {
	const char *user;	 /* --control-user */
	pid_t pid;		 /* 0 while there is none */
	int chan;		 /* -1 while there is none; non-blocking */
	struct ev_io io;	 /* chan, while there is one */
	struct chan_queue out;	 /* what chan had no room for yet */
	struct ev_timer stalled; /* armed while out holds something: when it waited too long */
	bool stuck;		 /* out is full, or made no progress for CM_CTL_STUCK_MS */
	void *rx;		 /* CHAN_MSG_MAX locked bytes a request is received into */
	struct ev_timer restart; /* armed while there is none: when to start one */
	int64_t started_ms;
	unsigned restarts; /* in a row, each sooner than 10 s after its start */
	unsigned deaths;
};

/* The verify process (cm_verify.c), started at its first call. */
struct cm_vproc {
	pid_t pid; /* 0 while there is none */
	int chan;  /* -1 while there is none; non-blocking */
	uint64_t seq;
	unsigned deaths;
	/* the fuzzers: calls answered in this process, by cm_verify_run */
	struct cm_vstate *local;
};

struct cmld {
	const char *data_dir;
	const char *socket_path;
	const char *run_dir; /* runtime state: /run/cml */
	/*
	 * --trust-anchors: the CA certificates (a PEM file or a folder of them,
	 * on the measured rootfs) a GuestOS must be signed under to start a
	 * sealed container.  The CAs registered in the data folder are not.
	 */
	const char *trust_anchors;
	unsigned stop_timeout_ms;
	bool allow_reboot;
	bool provisioned;
	bool quit;
	bool rebooting; /* reboot asked: quit once every container stopped */
	bool stopping;	/* every container was told to stop: the loop ends when they have */
	struct evloop *loop;
	/*
	 * cmld.c's turn: stopping every container when asked, the runtime's
	 * deadlines (cm_runtime_tick), the end; armed for now (cmld_wake) by
	 * whatever may have changed a container.
	 */
	struct ev_timer tick;
	struct cm_container *containers;
	int listen_fd;
	struct cm_conn *conns;
	struct cm_seal_conf seal;
	struct cm_confine_conf confine; /* applied to every container process */
	struct cm_ctl ctl;
	struct cm_vproc verify;
};

static inline void cmld_wake(struct cmld *d)
{
	ev_timer_at(d->loop, &d->tick, 0);
}

#endif
