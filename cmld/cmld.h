/* SPDX-License-Identifier: MIT */
/*
 * cmld: the container manager daemon.  Three processes: the root parent
 * (everything below but cm_engine and cm_verify), the unprivileged control
 * process (cm_engine.c, cm_engine.h; one poll loop each) and the unprivileged
 * verify process (cm_verify.c, cm_verify.h: parses configs, certificates and
 * tokens, one call at a time); containers are addressed by UUID or name.
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

#include "cm_confine.h"
#include "cm_verify.h"
#include "container.pb-c.h"
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
struct cm_ctl {
	const char *user; /* --control-user */
	pid_t pid;	  /* 0 while there is none */
	int chan;	  /* -1 while there is none */
	void *rx;	  /* CHAN_MSG_MAX locked bytes a request is received into */
	int64_t started_ms, restart_at_ms;
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
	int signal_fd;	/* SIGCHLD, SIGTERM, SIGINT */
	struct cm_container *containers;
	int listen_fd;
	struct cm_conn *conns;
	struct cm_seal_conf seal;
	struct cm_confine_conf confine; /* applied to every container process */
	struct cm_ctl ctl;
	struct cm_vproc verify;
};

/* ---- cm_store.c ---- */
int cm_store_init(struct cmld *d);
/* Loads every containers/<uuid>.conf; containers already known keep their runtime state. */
int cm_store_load_containers(struct cmld *d, bool only_stopped);
int cm_store_save_config(struct cmld *d, const char *uuid, const ContainerConfig *c);
int cm_store_path(const struct cmld *d, char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* containers/<uuid>/<image_file>.img, a per-container data image; returns @buf. */
const char *cm_data_image_path(const struct cmld *d, const char *uuid, const GuestOSMount *m,
			       char *buf, size_t size);
struct cm_container *cm_container_find(struct cmld *d, const char *uuid_or_name);
void cm_container_free(struct cm_container *c);
void cm_container_unlink(struct cmld *d, struct cm_container *c);
int cm_uuid_random(char out[CM_UUID_LEN + 1]);
int cm_set_provisioned(struct cmld *d);
/*
 * Crash recovery at start, before the containers load: removes what a
 * create or remove left half done (and revokes its key), staged and
 * temporary files, finishes or undoes a GuestOS install (see cm_store.c).
 */
int cm_store_recover(struct cmld *d);
/* Every file, folder and key of container @uuid; its key file last, once revoked. */
int cm_store_remove_remains(struct cmld *d, const char *uuid);
/*
 * A folder changed as one step: files staged as "<name>.new", then
 * CM_COMMIT_MARK written; commit renames each into place and drops the mark,
 * rollback removes the staged files (and a mark).
 */
#define CM_COMMIT_MARK ".commit"
int cm_store_dir_commit(const char *dir);
int cm_store_dir_rollback(const char *dir);
/* Removes a folder tree (no symlinks followed); missing is fine. */
int cm_rmtree(const char *path);
/* Adds a PEM CA certificate to the trusted store (tokens/ca). */
int cm_ca_register(struct cmld *d, const uint8_t *pem, size_t len);
/* Which CAs a certificate may chain to. */
enum cm_trust {
	CM_TRUST_ANCHORS = CM_VTRUST_ANCHORS, /* --trust-anchors only (sealed GuestOS at start) */
	CM_TRUST_ANY_REGISTERED = CM_VTRUST_ANY, /* the trust anchors and the CAs in tokens/ca */
};
/* Saves a config as it was signed (@signed_text with @sig and @cert) or, unsigned, canonical. */
int cm_store_save_signed(struct cmld *d, const char *uuid, const ContainerConfig *c,
			 const uint8_t *signed_text, size_t text_len, const uint8_t *sig,
			 size_t sig_len, const uint8_t *cert, size_t cert_len);
/* A free block of 64 Ki host ids for a new container's user namespace. */
/* Another container than @except has the uid range starting at @b. */
bool cm_uid_base_used(const struct cmld *d, uint32_t b, const struct cm_container *except);
uint32_t cm_uid_base_alloc(const struct cmld *d);
/* Recorded at create in containers/<uuid>/uid_base. */
int cm_uid_base_save(struct cmld *d, const char *uuid, uint32_t base);
/*
 * @path (a config's vtpm.state_path) as a folder inside containers/<uuid>/:
 * relative to it, or absolute below it; no "." or ".." parts, and no part
 * that exists may be a symlink.  Errors name @field.
 */
int cm_confine_path(const struct cmld *d, const char *uuid, const char *field, const char *path,
		    char *buf, size_t size);
/* Whether @path is absolute, without "." / ".." / empty parts (a GuestOS mount_point). */
bool cm_mount_point_ok(const char *path);
/* The checks a container config gets at create, update_config and start. */
int cm_config_check(const struct cmld *d, const char *uuid, const ContainerConfig *c);

/* ---- cm_vclient.c: calls to the verify process (cm_verify.h) ---- */
/*
 * @text (a config in protobuf text format, @desc a ContainerConfig or
 * GuestOSConfig), parsed by the verify process; with @trust and a signature,
 * verified first (@sig_what prefixes its refusal; CM_VREQ_SIG_OPTIONAL in
 * @flags: a signature that fails is logged and *@ret_verified false).  The
 * answer is the packed config, unpacked here only when the digest it
 * came with is @text's, and then re-checked (enum values known).  @source
 * names the input in errors.  0 or a negative code with the reason.
 */
int cm_verify_config(struct cmld *d, const ProtobufCMessageDescriptor *desc, enum cm_vtrust trust,
		     unsigned flags, const char *source, const char *sig_what, const uint8_t *text,
		     size_t len, const uint8_t *sig, size_t sig_len, const uint8_t *cert,
		     size_t cert_len, ProtobufCMessage **ret, bool *ret_verified);
/* A PEM CA certificate's SHA-256 (tokens/ca/<hex>.pem), when it is one. */
int cm_verify_ca(struct cmld *d, const uint8_t *pem, size_t len, uint8_t ret_digest[32]);
/* The SHA-256 of the public key (SubjectPublicKeyInfo) of @pem, chaining to a registered CA. */
int cm_verify_cert(struct cmld *d, const uint8_t *pem, size_t len, uint8_t ret_key_digest[32]);
/* A new softtoken for @uuid (PIN "trustme"), DER in locked pages (secret_free, @ret_len). */
int cm_verify_token_new(struct cmld *d, const char *uuid, uint8_t **ret, size_t *ret_len);
/* 0 when @pin opens the token file @path holding @der; -EACCES when not. */
int cm_verify_token_check(struct cmld *d, const char *path, const uint8_t *der, size_t len,
			  const char *pin);
/* The token re-encrypted under @newpin, as cm_verify_token_new returns it. */
int cm_verify_token_repin(struct cmld *d, const char *path, const uint8_t *der, size_t len,
			  const char *pin, const char *newpin, uint8_t **ret, size_t *ret_len);
/* Starts the verify process unless it runs (each call starts it when it does not). */
int cm_verify_start(struct cmld *d);
/* Ends the verify process (a CA was registered: the next call loads the CAs again). */
void cm_verify_stop(struct cmld *d);
/* SIGCHLD: whether @pid was the verify process (then forgotten). */
bool cm_verify_reaped(struct cmld *d, pid_t pid, int status);

/* ---- cm_guestos.c ---- */
/* Installs a signed GuestOS config; images come from its update_base_url (file:// or a folder). */
int cm_guestos_push(struct cmld *d, const uint8_t *conf, size_t conf_len, const uint8_t *sig,
		    size_t sig_len, const uint8_t *cert, size_t cert_len);
/* The installed config of @name (NULL if none), unverified (listing, create); caller frees. */
GuestOSConfig *cm_guestos_load(struct cmld *d, const char *name);
/*
 * The installed config of @name as its signature, checked now against CAs of
 * @trust, vouches for it: read once, verified, parsed from the same bytes;
 * image_file and mount_point checked.  Errors name what failed.
 */
int cm_guestos_load_verified(struct cmld *d, const char *name, enum cm_trust trust,
			     GuestOSConfig **ret);
int cm_guestos_list(struct cmld *d, GuestOSConfig ***ret, size_t *ret_n);
int cm_guestos_remove(struct cmld *d, const char *name);
/*
 * Opens every image of @g once (@ret_fds[i] for mount i, -1 for mounts without
 * one) and checks size and SHA-256 read from that descriptor: the caller
 * mounts these descriptors, never the paths again.  Nothing stays open on error.
 */
int cm_guestos_open_images(struct cmld *d, const GuestOSConfig *g, int *ret_fds);

/* ---- cm_token.c ---- */
#define CM_TOKEN_DEFAULT_PIN "trustme"
#define CM_TOKEN_MAX_TRIES   3
int cm_token_create(struct cmld *d, const char *uuid);
/* 0 when @pin opens the token, -EACCES when it does not. */
int cm_token_check(struct cmld *d, const char *uuid, const char *pin);
int cm_token_change_pin(struct cmld *d, const char *uuid, const char *pin, const char *newpin);

/* ---- cm_runtime.c ---- */
int cm_runtime_init(struct cmld *d);
/* @pin unlocks a token-type TPM container's key.  Sealed-key refusals: see cm_seal_open. */
int cm_container_start(struct cmld *d, struct cm_container *c, bool setup, const char *pin);
/* Asks init to stop; the poll loop kills it after the timeout and reaps it. */
int cm_container_stop(struct cmld *d, struct cm_container *c);
int cm_container_freeze(struct cmld *d, struct cm_container *c, bool freeze);
/* Called when init exits: cleans up and sets STOPPED. */
void cm_container_reaped(struct cmld *d, struct cm_container *c, int status);
/* Kills what is left of containers from an earlier cmld (their cgroups). */
void cm_runtime_cleanup_stale(struct cmld *d);
/* Forks @argv inside @c with @pty_slave as its terminal; returns the pid. */
int cm_container_exec(struct cmld *d, struct cm_container *c, char *const argv[], int pty_slave,
		      pid_t *ret_pid);
/* Sends SIGKILL to containers past their stop deadline; returns ms until the next deadline. */
int cm_runtime_tick(struct cmld *d);
int cm_container_wipe(struct cmld *d, struct cm_container *c);

/* ---- cm_net.c ---- */
int cm_net_setup(struct cmld *d, struct cm_container *c);
int cm_net_iface_move(struct cmld *d, struct cm_container *c, const char *iface, bool into);

/* ---- cm_vtpm.c ---- */
/* The environment that points the container's TSS at its vTPM (none without one). */
int cm_vtpm_env(struct cmld *d, struct cm_container *c, char ***env, size_t *n_env);
/*
 * Starts swtpm (its TPM port in the container's network namespace, its
 * control channel a Unix socket in the run folder) and the filter that
 * passes the container only what its TSS needs of the control channel.
 */
int cm_vtpm_start(struct cmld *d, struct cm_container *c);
void cm_vtpm_stop(struct cmld *d, struct cm_container *c);

/* ---- cm_seal.c ---- */
/* Whether a new container of @cfg gets a sealed key (cmld has a TPM, token NONE or TPM). */
bool cm_seal_wanted(const struct cmld *d, const ContainerConfig *cfg);
/* Whether @c's data images are LUKS2 with a TPM-sealed passphrase (its sealed key file exists). */
bool cm_sealed(const struct cmld *d, const struct cm_container *c);
/* Seals a new random passphrase (default PIN for token type TPM) to containers/<uuid>.sealed. */
int cm_seal_create(struct cmld *d, const char *uuid, const ContainerConfig *cfg);
/*
 * Unseals, creates missing data images, activates each as
 * /dev/mapper/cml-<uuid>-<mount index>.  -EACCES: the PCR policy does not
 * hold (the message names the PCRs that differ); -EPERM: wrong or missing
 * PIN; -ENOLCK: the TPM is locked out.  Nothing stays open on failure.
 */
int cm_seal_open(struct cmld *d, struct cm_container *c, const GuestOSConfig *g, const char *pin);
void cm_seal_close(struct cmld *d, struct cm_container *c);
void cm_seal_mapping(const struct cm_container *c, size_t index, char *buf, size_t size);
/*
 * Re-seals the passphrase bound to @cfg instead of the config it was bound to
 * (update_config; needs the PCRs to hold, and @pin for token type TPM), and
 * advances the key's NV counter: the older key file and config stop opening.
 */
int cm_seal_rebind(struct cmld *d, struct cm_container *c, const ContainerConfig *cfg,
		   const char *pin);
/*
 * Re-seals the passphrase under @newpin (needs the PCRs to hold and @pin) and
 * advances the key's NV counter: saved copies of the old key file stop opening.
 */
int cm_seal_change_pin(struct cmld *d, struct cm_container *c, const char *pin, const char *newpin);
/* Advances and deletes the key's NV counter (no saved key file opens again); 0 when not sealed. */
int cm_seal_remove(struct cmld *d, const char *uuid);
/* Whether a remove can revoke @uuid's key now (the TPM answers); 0 when not sealed. */
int cm_seal_remove_ready(struct cmld *d, const char *uuid);
/*
 * At start: a key file one counter step ahead of its counter (a change_pin or
 * update_config re-seal that stopped before the step) gets the step now.
 */
void cm_seal_recover(struct cmld *d, const char *uuid);

/* ---- cm_measure.c ---- */
/* Extends PCR 11 with lib/cml_measure's events (images checked already), logging CEL records. */
int cm_measure_start(struct cmld *d, struct cm_container *c, const GuestOSConfig *g);
/*
 * At start, with --tpm: the transient objects and sessions a killed cmld left
 * in the TPM flushed, the CEL log's torn tail cut, a pending record settled
 * (lib/measure.h).
 */
void cm_measure_recover(struct cmld *d);

/* ---- cm_control.c ---- */
/* Binds the control socket (the control process, started by the first poll, accepts). */
int cm_control_listen(struct cmld *d);
/*
 * One pass of the poll loop: signals, the control process's messages (started
 * or restarted first when there is none), exec sessions' terminals.
 */
int cm_control_poll(struct cmld *d, int timeout_ms);
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
/* Connection @id of the control process, answered over @chan (the fuzzer makes one). */
struct cm_conn *cm_conn_new(int chan, uint64_t id);
void cm_conn_free(struct cm_conn *c);
/* Forgets every connection (their exec sessions killed): the control process died. */
void cm_control_drop_conns(struct cmld *d);

const char *cm_state_name(ContainerState s);

#endif
