/* SPDX-License-Identifier: MIT */
/*
 * The control commands, in cmld's root process.  The control socket itself
 * (a Unix stream socket, mode 0600; peers must be root or cmld's own user,
 * checked with SO_PEERCRED; each message a 4-byte big-endian length and a
 * packed ControllerToDaemon, each answer a DaemonToController framed the
 * same way) belongs to the unprivileged control process (cm_engine.c), which
 * sends each request here as a checked, typed cm_msg_request; the answers go
 * back packed, in chunks.  This file starts that process, restarts it when
 * it dies or misbehaves, and runs the commands.  CONTAINER_EXEC_CMD turns
 * the connection into a terminal session: EXEC_OUTPUT messages carry what
 * the command writes, EXEC_INPUT what the user types, EXEC_END its exit
 * status; the terminal stays here.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cm_device.h"
#include "cm_engine.h"
#include "cm_msg.h"
#include "cmld.h"
#include "cm_control.h"
#include "cm_guestos.h"
#include "cm_net.h"
#include "cm_runtime.h"
#include "cm_seal.h"
#include "cm_store.h"
#include "cm_token.h"
#include "cm_vclient.h"
#include "err.h"
#include "fileio.h"
#include "frame.h"
#include "mem.h"

/* One client connection of the control process, as the parent knows it. */
struct cm_conn {
	uint64_t id;	    /* the control process's name for it */
	struct cm_ctl *ctl; /* where its answers go */
	/* exec session */
	int pty_master;
	pid_t exec_pid;
	int exec_status;
	bool exec_done;
	bool pty_hup;	/* the command's side of the terminal is closed */
	struct cmld *d; /* whose loop watches pty_master; NULL while there is none */
	struct ev_io pty_io;
	bool dead; /* the control process is told to close it */
	struct cm_conn *next;
};

typedef DaemonToController Reply;

/* ---- sending ---- */

/*
 * Everything for the control process goes through its queue, in order (a
 * CLOSE after the answers it ends); the parent never waits for it.  A
 * queue that is full, or makes no progress for CM_CTL_STUCK_MS, means a
 * control process that stopped reading: it is replaced.
 */
static int ctl_send(struct cm_ctl *ctl, uint32_t type, uint64_t id, const void *body, size_t len)
{
	int rc = chan_queue_send(ctl->chan, &ctl->out, type, id, body, len);

	if (rc == -ENOBUFS)
		ctl->stuck = true;
	return rc;
}

static int reply_chunks(struct cm_ctl *ctl, uint64_t id, const uint8_t *data, size_t len)
{
	static struct cm_msg_reply r;
	size_t off = 0;

	if (len > CM_CONTROL_FRAME_MAX)
		return err_set(-EMSGSIZE, "an answer of %zu bytes", len);
	do {
		size_t n = len - off < CM_REPLY_CHUNK ? len - off : CM_REPLY_CHUNK;
		int rc;

		r.total = (uint32_t)len;
		r.offset = (uint32_t)off;
		r.len = (uint32_t)n;
		memcpy(r.data, data + off, n);
		rc = ctl_send(ctl, CM_MSG_REPLY, id, &r, offsetof(struct cm_msg_reply, data) + n);
		if (rc < 0)
			return rc;
		off += n;
	} while (off < len);
	return 0;
}

static void reply_send(struct cm_conn *conn, const Reply *m)
{
	size_t len = daemon_to_controller__get_packed_size(m);
	_cleanup_erase_ uint8_t *buf = malloc(len ? len : 1); /* configs, terminal output */

	if (!buf) {
		conn->dead = true;
		return;
	}
	daemon_to_controller__pack(m, buf);
	if (reply_chunks(conn->ctl, conn->id, buf, len) < 0)
		conn->dead = true;
}

static void respond(struct cm_conn *conn, DaemonToController__Response response, const char *reason)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;

	m.code = DAEMON_TO_CONTROLLER__CODE__RESPONSE;
	m.has_response = 1;
	m.response = response;
	if (reason)
		m.reason = (char *)reason;
	reply_send(conn, &m);
}

static void respond_result(struct cm_conn *conn, int r)
{
	if (r < 0)
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
	else
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK, NULL);
}

/* ---- commands ---- */

static bool allowed_when_provisioned(ControllerToDaemon__Command cmd)
{
	switch (cmd) {
	case CONTROLLER_TO_DAEMON__COMMAND__LIST_CONTAINERS:
	case CONTROLLER_TO_DAEMON__COMMAND__LIST_GUESTOS_CONFIGS:
	case CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS:
	case CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG:
	case CONTROLLER_TO_DAEMON__COMMAND__CREATE_CONTAINER:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CHANGE_TOKEN_PIN:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_LIST_IFACES:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CMLD_HANDLES_PIN:
	case CONTROLLER_TO_DAEMON__COMMAND__REBOOT_DEVICE:
	case CONTROLLER_TO_DAEMON__COMMAND__GET_PROVISIONED:
	case CONTROLLER_TO_DAEMON__COMMAND__PUSH_GUESTOS_CONFIG:
		return true;
	default:
		return false;
	}
}

static void fill_status(ContainerStatus *s, const struct cm_container *c)
{
	container_status__init(s);
	s->uuid = (char *)c->uuid;
	s->name = c->config->name;
	s->type = c->config->type;
	s->state = c->state;
	s->uptime = c->started ? (uint64_t)(time(NULL) - c->started) : 0;
	s->created = (uint64_t)c->created;
	s->guestos = c->config->guest_os;
	s->trust_level = c->trust;
	s->cryptfs_mode = CRYPTFS_MODE__NOT_IMPLEMENTED;
}

/* The containers a request names (all when it names none); NULL entries end it. */
static int resolve(struct cmld *d, const ControllerToDaemon *req, struct cm_container ***ret,
		   size_t *ret_n, bool all_if_none)
{
	struct cm_container **list;
	size_t n = 0, cap = req->n_container_uuids;

	if (!cap && all_if_none)
		for (struct cm_container *c = d->containers; c; c = c->next)
			cap++;
	list = calloc(cap + 1, sizeof(*list));
	if (!list)
		return err_set(-ENOMEM, "out of memory");
	if (!req->n_container_uuids && all_if_none) {
		for (struct cm_container *c = d->containers; c; c = c->next)
			list[n++] = c;
	}
	for (size_t i = 0; i < req->n_container_uuids; i++) {
		struct cm_container *c = cm_container_find(d, req->container_uuids[i]);
		if (!c) {
			free(list);
			return err_set(-ENOENT, "no container '%s'", req->container_uuids[i]);
		}
		list[n++] = c;
	}
	if (!n && !all_if_none) {
		free(list);
		return err_set(-EINVAL, "no container given");
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

static void cmd_list(struct cmld *d, struct cm_conn *conn)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	char *uuids[4096];
	size_t n = 0;

	for (struct cm_container *c = d->containers; c && n < 4096; c = c->next)
		uuids[n++] = c->uuid;
	m.code = DAEMON_TO_CONTROLLER__CODE__CONTAINERS_LIST;
	m.n_container_uuids = n;
	m.container_uuids = uuids;
	reply_send(conn, &m);
}

static void cmd_status(struct cmld *d, struct cm_conn *conn, const ControllerToDaemon *req)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	struct cm_container **list;
	size_t n;

	if (resolve(d, req, &list, &n, true) < 0) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
		return;
	}
	ContainerStatus *st = calloc(n + 1, sizeof(*st));
	ContainerStatus **ptrs = calloc(n + 1, sizeof(*ptrs));
	if (st && ptrs) {
		for (size_t i = 0; i < n; i++) {
			fill_status(&st[i], list[i]);
			ptrs[i] = &st[i];
		}
		m.code = DAEMON_TO_CONTROLLER__CODE__CONTAINER_STATUS;
		m.n_container_status = n;
		m.container_status = ptrs;
		reply_send(conn, &m);
	}
	free(st);
	free(ptrs);
	free(list);
}

static void send_config(struct cm_conn *conn, char *uuid, ContainerConfig *cfg)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;

	m.code = DAEMON_TO_CONTROLLER__CODE__CONTAINER_CONFIG;
	m.n_container_configs = m.n_container_uuids = 1;
	m.container_configs = &cfg;
	m.container_uuids = &uuid;
	reply_send(conn, &m);
}

static void send_configs(struct cm_conn *conn, struct cm_container **list, size_t n)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	ContainerConfig **cfgs = calloc(n + 1, sizeof(*cfgs));
	char **uuids = calloc(n + 1, sizeof(*uuids));

	if (cfgs && uuids) {
		for (size_t i = 0; i < n; i++) {
			cfgs[i] = list[i]->config;
			uuids[i] = list[i]->uuid;
		}
		m.code = DAEMON_TO_CONTROLLER__CODE__CONTAINER_CONFIG;
		m.n_container_configs = n;
		m.container_configs = cfgs;
		m.n_container_uuids = n;
		m.container_uuids = uuids;
		reply_send(conn, &m);
	}
	free(cfgs);
	free(uuids);
}

static void cmd_config(struct cmld *d, struct cm_conn *conn, const ControllerToDaemon *req)
{
	struct cm_container **list;
	size_t n;

	if (resolve(d, req, &list, &n, true) < 0) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
		return;
	}
	send_configs(conn, list, n);
	free(list);
}

static void cmd_list_guestos(struct cmld *d, struct cm_conn *conn)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	GuestOSConfig **list = NULL;
	size_t n = 0;

	cm_guestos_list(d, &list, &n);
	m.code = DAEMON_TO_CONTROLLER__CODE__GUESTOS_CONFIGS_LIST;
	m.n_guestos_configs = n;
	m.guestos_configs = list;
	reply_send(conn, &m);
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(&list[i]->base, NULL);
	free(list);
}

/*
 * A container config sent by control, parsed (and, when signed, verified) by
 * the verify process: what comes back is typed, for the bytes the request
 * holds (their digest checked), which are what save_from_request stores.
 */
static int config_from_request(struct cmld *d, const ControllerToDaemon *req, ContainerConfig **ret)
{
	bool sig = req->has_container_config_signature;
	ProtobufCMessage *m;
	GuestOSConfig *g;
	int r;

	if (!req->has_container_config_file)
		return err_set(-EINVAL, "no container config given");
	if (req->has_container_config_signature != req->has_container_config_certificate)
		return err_set(-EINVAL, "a signed config needs both signature and certificate");
	r = cm_verify_config(
		d, &container_config__descriptor, sig ? CM_VTRUST_ANY : CM_VTRUST_NONE, 0,
		"container config", "container config", req->container_config_file.data,
		req->container_config_file.len, req->container_config_signature.data,
		req->container_config_signature.len, req->container_config_certificate.data,
		req->container_config_certificate.len, &m, NULL);
	if (r < 0)
		return r;
	if (!(g = cm_guestos_load(d, ((ContainerConfig *)m)->guest_os))) {
		r = err_set(-ENOENT, "GuestOS '%s' is not installed",
			    ((ContainerConfig *)m)->guest_os);
		protobuf_c_message_free_unpacked(m, NULL);
		return r; /* *ret untouched: nothing for the caller to free */
	}
	protobuf_c_message_free_unpacked(&g->base, NULL);
	*ret = (ContainerConfig *)m;
	return 0;
}

/* Stores @cfg for @uuid as the request brought it: the signed text, or canonical. */
static int save_from_request(struct cmld *d, const char *uuid, const ContainerConfig *cfg,
			     const ControllerToDaemon *req)
{
	bool sig = req->has_container_config_signature;

	return cm_store_save_signed(
		d, uuid, cfg, req->container_config_file.data, req->container_config_file.len,
		sig ? req->container_config_signature.data : NULL,
		req->container_config_signature.len, req->container_config_certificate.data,
		req->container_config_certificate.len);
}

/* The steps of a create after the folder exists; the caller removes the folder on failure. */
static int create_steps(struct cmld *d, const char *uuid, const ContainerConfig *cfg,
			const ControllerToDaemon *req)
{
	char path[4096], created[32];
	int r;

	r = cm_config_check(d, uuid, cfg);
	if (r < 0)
		return r;
	snprintf(created, sizeof(created), "%lld\n", (long long)time(NULL));
	cm_store_path(d, path, sizeof(path), "containers/%s/created", uuid);
	r = file_write_atomic(path, created, strlen(created), 0600);
	if (r < 0)
		return r;
	r = cm_uid_base_save(d, uuid, cm_uid_base_alloc(d));
	if (r < 0)
		return r;
	r = cm_token_create(d, uuid);
	if (r < 0)
		return r;
	if (cm_seal_wanted(d, cfg)) {
		r = cm_seal_create(d, uuid, cfg);
		if (r < 0)
			return r;
	}
	r = save_from_request(d, uuid, cfg, req);
	if (r < 0)
		return r;
	return cm_store_load_containers(d, true);
}

static void cmd_create(struct cmld *d, struct cm_conn *conn, const ControllerToDaemon *req)
{
	ContainerConfig *cfg;
	char uuid[CM_UUID_LEN + 1], path[4096];
	int r;

	r = config_from_request(d, req, &cfg);
	if (r < 0) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
		return;
	}
	if (cfg->token_type == CONTAINER_TOKEN_TYPE__TPM && !d->seal.tcti) {
		r = err_set(-ENOTSUP, "token type TPM needs cmld --tpm");
		goto fail;
	}
	r = cm_uuid_random(uuid);
	if (r < 0)
		goto fail;
	cm_store_path(d, path, sizeof(path), "containers/%s", uuid);
	if (mkdir(path, 0700) < 0) {
		r = err_set(-errno, "mkdir %s: %s", path, strerror(errno));
		goto fail;
	}
	r = create_steps(d, uuid, cfg, req);
	if (r < 0) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", err_msg());
		/* no half container: its token, key file (and counter) and signature too */
		cm_store_remove_remains(d, uuid);
		err_set(r, "%s", why);
		goto fail;
	}
	protobuf_c_message_free_unpacked(&cfg->base, NULL);
	struct cm_container *c = cm_container_find(d, uuid);
	if (!c) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED,
			"created, but not loaded");
		return;
	}
	log_info("container %s (%s) created", c->config->name, uuid);
	send_configs(conn, &c, 1);
	return;
fail:
	protobuf_c_message_free_unpacked(&cfg->base, NULL);
	respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
}

static int container_remove(struct cmld *d, struct cm_container *c)
{
	char path[4096];
	int r;

	if (c->state != CONTAINER_STATE__STOPPED)
		return err_set(-EBUSY, "container %s is %s; stop it first", c->config->name,
			       cm_state_name(c->state));
	r = cm_seal_remove_ready(d, c->uuid);
	if (r < 0)
		return r;
	/*
	 * The config first, the commit point: from here the container is gone,
	 * and what a crash leaves of the rest cm_store_recover removes (revoking
	 * the key) at the next start.
	 */
	cm_store_path(d, path, sizeof(path), "containers/%s.conf", c->uuid);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(-errno, "unlink %s: %s", path, strerror(errno));
	r = fsync_parent_dir(path);
	if (r < 0)
		return r;
	if (cm_store_remove_remains(d, c->uuid) < 0)
		log_warn("container %s (%s): removed, but not all of it yet (retried at the next "
			 "start): %s",
			 c->config->name, c->uuid, err_msg());
	log_info("container %s (%s) removed", c->config->name, c->uuid);
	cm_container_unlink(d, c);
	cm_container_free(c);
	return 0;
}

static void cmd_wipe_device(struct cmld *d, struct cm_conn *conn)
{
	int r = 0;

	for (struct cm_container *c = d->containers; c; c = c->next)
		if (c->state != CONTAINER_STATE__STOPPED) {
			r = err_set(-EBUSY, "container %s is %s; stop it first", c->config->name,
				    cm_state_name(c->state));
			respond_result(conn, r);
			return;
		}
	while (d->containers && r == 0)
		r = container_remove(d, d->containers);
	respond_result(conn, r);
}

/* A start parameter key the client gave (not trust|me's default, which stands for none). */
static char *given_key(const ControllerToDaemon *req)
{
	const ContainerStartParams *p = req->container_start_params;

	return p && p->key && p->key != container_start_params__key__default_value ? p->key : NULL;
}

static const char *start_pin(const ControllerToDaemon *req)
{
	return given_key(req) ? given_key(req) : req->device_pin;
}

/*
 * Checks the container's token.  Returns 0, or answers @wrong / LOCKED_TILL_REBOOT
 * itself and returns < 0.
 */
static int token_gate(struct cmld *d, struct cm_conn *conn, struct cm_container *c, const char *pin,
		      DaemonToController__Response wrong)
{
	switch (c->config->token_type) {
	case CONTAINER_TOKEN_TYPE__NONE:
		return 0;
	case CONTAINER_TOKEN_TYPE__SOFT:
		break;
	case CONTAINER_TOKEN_TYPE__TPM:
		if (cm_sealed(d, c))
			return 0; /* the TPM checks the PIN when it unseals (and counts failures) */
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_EINTERNAL,
			d->seal.tcti ? "token type TPM, but the container has no sealed key"
				     : "token type TPM needs cmld --tpm");
		return -ENOTSUP;
	default:
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_EINTERNAL,
			"token types USB and PKCS11 are not supported");
		return -ENOTSUP;
	}
	if (c->pin_failures >= CM_TOKEN_MAX_TRIES) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_LOCKED_TILL_REBOOT,
			"too many wrong PINs");
		return -EPERM;
	}
	int r = cm_token_check(d, c->uuid, pin);
	if (r == 0) {
		c->pin_failures = 0;
		return 0;
	}
	if (r == -EACCES && ++c->pin_failures >= CM_TOKEN_MAX_TRIES) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_LOCKED_TILL_REBOOT,
			"too many wrong PINs");
		return r;
	}
	if (r == -EACCES) {
		respond(conn, wrong, "wrong PIN");
		return r;
	}
	respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_EINTERNAL, err_msg());
	return r;
}

static void cmd_start(struct cmld *d, struct cm_conn *conn, struct cm_container *c,
		      const ControllerToDaemon *req)
{
	bool setup = req->container_start_params && req->container_start_params->setup;
	int r;

	if (c->state != CONTAINER_STATE__STOPPED) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_EEXIST,
			cm_state_name(c->state));
		return;
	}
	if (token_gate(d, conn, c, start_pin(req),
		       DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_PASSWD_WRONG) < 0)
		return;
	r = cm_container_start(d, c, setup, start_pin(req));
	if (r < 0 && c->unlock_rc == -EACCES)
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_UNLOCK_FAILED,
			err_msg());
	else if (r < 0 && c->unlock_rc == -EPERM)
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_PASSWD_WRONG,
			err_msg());
	else if (r < 0 && c->unlock_rc == -ENOLCK)
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_LOCKED_TILL_REBOOT,
			err_msg());
	else if (r < 0)
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_EINTERNAL, err_msg());
	else
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_OK, NULL);
}

static void cmd_stop(struct cmld *d, struct cm_conn *conn, struct cm_container *c,
		     const ControllerToDaemon *req)
{
	if (c->state == CONTAINER_STATE__STOPPED || c->state == CONTAINER_STATE__SHUTTING_DOWN) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_FAILED_NOT_RUNNING,
			cm_state_name(c->state));
		return;
	}
	if (token_gate(d, conn, c, start_pin(req),
		       DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_PASSWD_WRONG) < 0)
		return;
	if (cm_container_stop(d, c) < 0)
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_FAILED_NOT_RUNNING,
			err_msg());
	else
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_OK, NULL);
}

static void cmd_change_pin(struct cmld *d, struct cm_conn *conn, struct cm_container *c,
			   const ControllerToDaemon *req)
{
	int r;

	if (c->config->token_type == CONTAINER_TOKEN_TYPE__TPM && cm_sealed(d, c)) {
		r = cm_seal_change_pin(d, c, req->device_pin, req->device_newpin);
		if (r == -ENOLCK)
			respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_LOCKED_TILL_REBOOT,
				err_msg());
		else if (r < 0)
			respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_CHANGE_PIN_FAILED,
				err_msg());
		else
			respond(conn,
				DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_CHANGE_PIN_SUCCESSFUL,
				NULL);
		return;
	}
	if (c->config->token_type != CONTAINER_TOKEN_TYPE__SOFT) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_CHANGE_PIN_FAILED,
			"the container has no PIN");
		return;
	}
	if (c->pin_failures >= CM_TOKEN_MAX_TRIES) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_LOCKED_TILL_REBOOT,
			"too many wrong PINs");
		return;
	}
	r = cm_token_change_pin(d, c->uuid, req->device_pin, req->device_newpin);
	if (r == -EACCES)
		c->pin_failures++;
	if (r < 0)
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_CHANGE_PIN_FAILED,
			err_msg());
	else
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_CHANGE_PIN_SUCCESSFUL,
			NULL);
}

static int strv_add(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(**v));

	if (!grown || !(grown[*n] = strdup(s))) {
		if (grown)
			*v = grown;
		return err_set(-ENOMEM, "out of memory");
	}
	*v = grown;
	(*n)++;
	return 0;
}

static void strv_del(char **v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(v[i], s)) {
			free(v[i]);
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
}

/* net_ifaces entries (ContainerPnetConfig) by interface name. */
static int pnet_add(ContainerConfig *cfg, const char *netif)
{
	ContainerPnetConfig **grown, *p = calloc(1, sizeof(*p));

	if (!p)
		return err_set(-ENOMEM, "out of memory");
	container_pnet_config__init(p);
	grown = realloc(cfg->net_ifaces, (cfg->n_net_ifaces + 1) * sizeof(*grown));
	if (!grown || !(p->netif = strdup(netif))) {
		if (grown)
			cfg->net_ifaces = grown;
		free(p);
		return err_set(-ENOMEM, "out of memory");
	}
	cfg->net_ifaces = grown;
	cfg->net_ifaces[cfg->n_net_ifaces++] = p;
	return 0;
}

static void pnet_del(ContainerConfig *cfg, const char *netif)
{
	for (size_t i = 0; i < cfg->n_net_ifaces; i++)
		if (!strcmp(cfg->net_ifaces[i]->netif, netif)) {
			protobuf_c_message_free_unpacked(&cfg->net_ifaces[i]->base, NULL);
			memmove(&cfg->net_ifaces[i], &cfg->net_ifaces[i + 1],
				(cfg->n_net_ifaces - i - 1) * sizeof(*cfg->net_ifaces));
			cfg->n_net_ifaces--;
			return;
		}
}

static void cmd_iface(struct cmld *d, struct cm_conn *conn, struct cm_container *c,
		      const ControllerToDaemon *req, bool assign)
{
	const AssignInterfaceParams *p = req->assign_iface_params;
	int r;

	if (!p || !p->iface_name) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, "no interface given");
		return;
	}
	if (p->persistent && cm_sealed(d, c)) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED,
			"the config of a sealed container is bound to its key: change it with "
			"update_config");
		return;
	}
	r = cm_net_iface_move(d, c, p->iface_name, assign);
	if (r == 0) {
		if (assign)
			r = strv_add(&c->ifaces, &c->n_ifaces, p->iface_name);
		else
			strv_del(c->ifaces, &c->n_ifaces, p->iface_name);
	}
	if (r == 0 && p->persistent) {
		/* the config on disk is the pending one when an update waits for the stop */
		ContainerConfig *stored = c->pending ? c->pending : c->config;

		for (int k = 0; k < (stored != c->config ? 2 : 1) && r == 0; k++) {
			ContainerConfig *cfg = k ? stored : c->config;

			if (assign)
				r = pnet_add(cfg, p->iface_name);
			else
				pnet_del(cfg, p->iface_name);
		}
		if (r == 0)
			r = cm_store_save_config(d, c->uuid, stored);
		if (r == 0)
			c->trust =
				CONTAINER_TRUST__UNSIGNED; /* cmld's own text, signed by no one */
	}
	respond_result(conn, r);
}

static void cmd_ifaces(struct cm_conn *conn, struct cm_container *c)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	char **names = calloc(c->config->n_net_ifaces + c->n_ifaces + 1, sizeof(*names));
	size_t n = 0;

	if (!names)
		return;
	for (size_t i = 0; i < c->config->n_net_ifaces; i++)
		names[n++] = c->config->net_ifaces[i]->netif;
	for (size_t i = 0; i < c->n_ifaces; i++) {
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= !strcmp(names[k], c->ifaces[i]);
		if (!dup)
			names[n++] = c->ifaces[i];
	}
	m.code = DAEMON_TO_CONTROLLER__CODE__CONTAINER_IFACES;
	m.n_container_ifaces = n;
	m.container_ifaces = names;
	reply_send(conn, &m);
	free(names);
}

/* Whether @n has an entry @o has not; the first such in @ret. */
static bool strv_added(char **o, size_t n_o, char **n, size_t n_n, const char **ret)
{
	for (size_t i = 0; i < n_n; i++) {
		bool found = false;
		for (size_t k = 0; k < n_o && !found; k++)
			found = !strcmp(o[k], n[i]);
		if (!found) {
			*ret = n[i];
			return true;
		}
	}
	return false;
}

static const char *token_type_name(ContainerTokenType t)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&container_token_type__descriptor, (int)t);

	return v ? v->name : "?";
}

/*
 * On a provisioned device update_config may not open a container further
 * than it was: no namespace dropped, no host device, interface, FIFO, veth or
 * USB device added, no system time, no other token type (PIN or key policy).
 */
static int check_not_weaker(const ContainerConfig *o, const ContainerConfig *n)
{
	const char *what = NULL;

#define WEAKER(field, fmt, ...)                                                                   \
	err_set(-EPERM,                                                                           \
		"update_config on a provisioned device may not weaken isolation: " field " " fmt, \
		__VA_ARGS__)
	if (o->userns && !n->userns)
		return WEAKER("userns", "%s", "true -> false");
	if (o->netns && !n->netns)
		return WEAKER("netns", "%s", "true -> false");
	if (!o->allow_system_time && n->allow_system_time)
		return WEAKER("allow_system_time", "%s", "false -> true");
	if (o->token_type != n->token_type)
		return WEAKER("token_type", "%s -> %s", token_type_name(o->token_type),
			      token_type_name(n->token_type));
	for (size_t i = 0; i < n->n_net_ifaces; i++) {
		bool found = false;
		for (size_t k = 0; k < o->n_net_ifaces && !found; k++)
			found = !strcmp(o->net_ifaces[k]->netif, n->net_ifaces[i]->netif);
		if (!found)
			return WEAKER("net_ifaces", "+ %s", n->net_ifaces[i]->netif);
	}
	if (strv_added(o->allow_module, o->n_allow_module, n->allow_module, n->n_allow_module,
		       &what))
		return WEAKER("allow_module", "+ %s", what);
	if (strv_added(o->allow_dev, o->n_allow_dev, n->allow_dev, n->n_allow_dev, &what))
		return WEAKER("allow_dev", "+ %s", what);
	if (strv_added(o->assign_dev, o->n_assign_dev, n->assign_dev, n->n_assign_dev, &what))
		return WEAKER("assign_dev", "+ %s", what);
	if (strv_added(o->fifos, o->n_fifos, n->fifos, n->n_fifos, &what))
		return WEAKER("fifos", "+ %s", what);
	if (strv_added(o->feature_enabled, o->n_feature_enabled, n->feature_enabled,
		       n->n_feature_enabled, &what))
		return WEAKER("feature_enabled", "+ %s", what);
	if (n->n_vnet_configs > o->n_vnet_configs)
		return WEAKER("vnet_configs", "%zu -> %zu", o->n_vnet_configs, n->n_vnet_configs);
	if (n->n_usb_configs > o->n_usb_configs)
		return WEAKER("usb_configs", "%zu -> %zu", o->n_usb_configs, n->n_usb_configs);
#undef WEAKER
	return 0;
}

/*
 * The new config is stored, bound to a sealed key (re-sealed with the new
 * config's digest: the PIN for token type TPM, and the PCRs must hold), and
 * is what the next start runs: at once when stopped, after the stop when
 * running.  The answer is trust|me's: CONTAINER_CONFIG with the new config
 * (a refusal is CMD_FAILED with its reason, where trust|me sends an empty
 * CONTAINER_CONFIG).
 */
static void cmd_update_config(struct cmld *d, struct cm_conn *conn, struct cm_container *c,
			      const ControllerToDaemon *req)
{
	const ContainerConfig *now = c->pending ? c->pending : c->config;
	ContainerConfig *cfg = NULL;
	int r = config_from_request(d, req, &cfg);

	if (r < 0)
		goto out;
	if (d->provisioned) {
		r = check_not_weaker(now, cfg);
		if (r < 0)
			goto out;
	}
	r = cm_config_check(d, c->uuid, cfg);
	if (r < 0)
		goto out;
	if (cm_sealed(d, c)) {
		r = cm_seal_rebind(d, c, cfg, start_pin(req));
		if (r < 0)
			goto out;
	}
	r = save_from_request(d, c->uuid, cfg, req);
	if (r < 0)
		goto out;
	c->trust = req->has_container_config_signature ? CONTAINER_TRUST__SIGNED
						       : CONTAINER_TRUST__UNSIGNED;
	if (c->pending)
		protobuf_c_message_free_unpacked(&c->pending->base, NULL);
	if (c->state == CONTAINER_STATE__STOPPED) {
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
		c->config = cfg;
		c->pending = NULL;
	} else {
		c->pending = cfg;
	}
	log_info("container %s (%s): config updated", c->config->name, c->uuid);
	send_config(conn, c->uuid, cfg);
	return;
out:
	if (cfg)
		protobuf_c_message_free_unpacked(&cfg->base, NULL);
	respond_result(conn, r);
}

static void exec_output_ready(void *arg, unsigned ready);

static void cmd_exec(struct cmld *d, struct cm_conn *conn, struct cm_container *c,
		     const ControllerToDaemon *req)
{
	int master, slave;
	char **argv;
	pid_t pid;

	if (!req->exec_command || conn->exec_pid) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED,
			req->exec_command ? "a command already runs on this connection"
					  : "no command given");
		return;
	}
	/* trust|me's: exec_args is the whole argv, command first; alone, the command */
	argv = calloc(req->n_exec_args + 2, sizeof(*argv));
	if (!argv)
		return;
	if (req->n_exec_args)
		memcpy(argv, req->exec_args, req->n_exec_args * sizeof(*argv));
	else
		argv[0] = req->exec_command;
	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		char why[128];
		snprintf(why, sizeof(why), "no terminal for the command (/dev/ptmx, devpts): %s",
			 strerror(errno));
		free(argv);
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, why);
		return;
	}
	fcntl(master, F_SETFD, FD_CLOEXEC);
	int r = cm_container_exec(d, c, argv, slave, &pid);
	close(slave);
	free(argv);
	if (r < 0) {
		close(master);
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
		return;
	}
	fcntl(master, F_SETFL, O_NONBLOCK);
	r = ev_io_add(d->loop, &conn->pty_io, master, EVLOOP_READ, exec_output_ready, conn);
	if (r < 0) {
		kill(pid, SIGKILL);
		close(master);
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
		return;
	}
	conn->d = d;
	conn->pty_master = master;
	conn->exec_pid = pid;
	conn->exec_done = false;
}

static void cmd_exec_input(struct cm_conn *conn, const ControllerToDaemon *req)
{
	if (conn->pty_master < 0 || !req->exec_input)
		return;
	if (fd_write_all(conn->pty_master, req->exec_input, strlen(req->exec_input)) < 0)
		log_debug("exec input: %s", err_msg());
}

/* Commands that take one container. */
static void handle_container_cmd(struct cmld *d, struct cm_conn *conn,
				 const ControllerToDaemon *req)
{
	struct cm_container **list, *c;
	size_t n;
	int r;

	if (resolve(d, req, &list, &n, false) < 0) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, err_msg());
		return;
	}
	c = list[0];
	free(list);
	switch (req->command) {
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START:
		cmd_start(d, conn, c, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP:
		cmd_stop(d, conn, c, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_FREEZE:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNFREEZE:
		r = cm_container_freeze(
			d, c, req->command == CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_FREEZE);
		respond_result(conn, r);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_WIPE:
		respond_result(conn, cm_container_wipe(d, c));
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ALLOWAUDIO:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_DENYAUDIO:
		c->allow_audio =
			req->command == CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ALLOWAUDIO;
		respond_result(conn, 0);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ASSIGNIFACE:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNASSIGNIFACE:
		cmd_iface(d, conn, c, req,
			  req->command == CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ASSIGNIFACE);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_LIST_IFACES:
		cmd_ifaces(conn, c);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_CMD:
		cmd_exec(d, conn, c, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG:
		cmd_update_config(d, conn, c, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CHANGE_TOKEN_PIN:
		cmd_change_pin(d, conn, c, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__REMOVE_CONTAINER:
		respond_result(conn, container_remove(d, c));
		break;
	default:
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED, NULL);
	}
}

/* MemAvailable of /proc/meminfo in bytes (the kernel's estimate; sysinfo has none). */
static bool mem_available(uint64_t *ret)
{
	unsigned long long kib;
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
	if (f)
		fclose(f);
	if (found)
		*ret = (uint64_t)kib * 1024;
	return found;
}

/* GET_DEVICE_STATS: the root's and the data folder's file systems, and memory. */
static void cmd_device_stats(struct cmld *d, struct cm_conn *conn)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	DeviceStats st = DEVICE_STATS__INIT;
	struct statvfs sys, cont;
	struct sysinfo mem;

	int r = statvfs("/", &sys);

	if (r == 0)
		r = statvfs(d->data_dir, &cont);
	if (r == 0)
		r = sysinfo(&mem);
	if (r < 0) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED, strerror(errno));
		return;
	}
	st.disk_system = (uint64_t)sys.f_blocks * sys.f_frsize;
	st.disk_system_free = (uint64_t)sys.f_bavail * sys.f_frsize;
	st.disk_system_used = (uint64_t)(sys.f_blocks - sys.f_bfree) * sys.f_frsize;
	st.has_disk_containers = st.has_disk_containers_free = st.has_disk_containers_used = 1;
	st.disk_containers = (uint64_t)cont.f_blocks * cont.f_frsize;
	st.disk_containers_free = (uint64_t)cont.f_bavail * cont.f_frsize;
	st.disk_containers_used = (uint64_t)(cont.f_blocks - cont.f_bfree) * cont.f_frsize;
	st.has_mem_total = st.has_mem_free = 1;
	st.mem_total = (uint64_t)mem.totalram * mem.mem_unit;
	st.mem_free = (uint64_t)mem.freeram * mem.mem_unit;
	st.has_mem_available = mem_available(&st.mem_available);
	m.code = DAEMON_TO_CONTROLLER__CODE__DEVICE_STATS;
	m.device_stats = &st;
	reply_send(conn, &m);
}

/* trust|me's commands that have nothing to act on here. */
static const char *unsupported_why(ControllerToDaemon__Command cmd)
{
	switch (cmd) {
	case CONTROLLER_TO_DAEMON__COMMAND__GET_LAST_LOG:
		return "GET_LAST_LOG: cmld logs to stderr (the journal), it keeps no log files";
	case CONTROLLER_TO_DAEMON__COMMAND__DESTROY_SYSTEM:
		return "DESTROY_SYSTEM is not supported (wipe_device removes the containers)";
	case CONTROLLER_TO_DAEMON__COMMAND__CHANGE_DEVICE_PIN:
		return "CHANGE_DEVICE_PIN: tokens are per container, use change_pin";
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_SWITCH:
		return "CONTAINER_SWITCH: no display to switch";
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_SNAPSHOT:
		return "CONTAINER_SNAPSHOT is not supported";
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_DEV_ACCESS:
		return "CONTAINER_DEV_ACCESS is not supported (devices come from allow_dev / "
		       "assign_dev in the config)";
	default:
		return NULL;
	}
}

static void cmd_reboot(struct cmld *d, struct cm_conn *conn)
{
	for (struct cm_container *c = d->containers; c; c = c->next)
		if (c->init_pid && c->state != CONTAINER_STATE__SHUTTING_DOWN)
			cm_container_stop(d, c);
	d->rebooting = true;
	respond_result(conn, 0);
}

void cm_control_handle(struct cmld *d, struct cm_conn *conn, const ControllerToDaemon *req)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	int r;

	err_clear();
	if (d->provisioned && !allowed_when_provisioned(req->command)) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED,
			"not allowed once the device is provisioned");
		return;
	}
	if (unsupported_why(req->command)) {
		respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED,
			unsupported_why(req->command));
		return;
	}
	switch (req->command) {
	case CONTROLLER_TO_DAEMON__COMMAND__LIST_CONTAINERS:
		cmd_list(d, conn);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__GET_DEVICE_STATS:
		cmd_device_stats(d, conn);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__LIST_GUESTOS_CONFIGS:
		cmd_list_guestos(d, conn);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS:
		cmd_status(d, conn, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG:
		cmd_config(d, conn, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__PUSH_GUESTOS_CONFIG:
		r = cm_guestos_push(
			d, req->guestos_config_file.data, req->guestos_config_file.len,
			req->guestos_config_signature.data, req->guestos_config_signature.len,
			req->guestos_config_certificate.data, req->guestos_config_certificate.len);
		respond(conn,
			r < 0 ? DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_INSTALL_FAILED
			      : DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_INSTALL_COMPLETED,
			r < 0 ? err_msg() : NULL);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__RELOAD_CONTAINERS:
		respond_result(conn, cm_store_load_containers(d, true));
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CREATE_CONTAINER:
		cmd_create(d, conn, req);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__REGISTER_LOCALCA:
	case CONTROLLER_TO_DAEMON__COMMAND__REGISTER_NEWCA:
		r = req->has_guestos_rootcert ? cm_ca_register(d, req->guestos_rootcert.data,
							       req->guestos_rootcert.len)
					      : err_set(-EINVAL, "no certificate given");
		respond(conn,
			r < 0 ? DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_REGISTER_CA_ERROR
			      : DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_REGISTER_CA_OK,
			r < 0 ? err_msg() : NULL);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__REMOVE_GUESTOS:
		respond_result(conn, req->guestos_name ? cm_guestos_remove(d, req->guestos_name)
						       : err_set(-EINVAL, "no GuestOS name given"));
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__WIPE_DEVICE:
		cmd_wipe_device(d, conn);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__REBOOT_DEVICE:
		cmd_reboot(d, conn);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__SET_PROVISIONED:
		respond_result(conn, cm_set_provisioned(d));
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__GET_PROVISIONED:
		m.code = DAEMON_TO_CONTROLLER__CODE__DEVICE_PROVISIONED_STATE;
		m.has_device_is_provisioned = 1;
		m.device_is_provisioned = d->provisioned;
		reply_send(conn, &m);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__PULL_DEVICE_CSR: {
		uint8_t *csr;
		size_t len;
		r = cm_device_csr(d, &csr, &len);
		if (r < 0) {
			respond(conn, DAEMON_TO_CONTROLLER__RESPONSE__DEVICE_PROVISIONING_ERROR,
				err_msg());
			break;
		}
		m.code = DAEMON_TO_CONTROLLER__CODE__DEVICE_CSR;
		m.has_device_csr = 1;
		m.device_csr.data = csr;
		m.device_csr.len = len;
		reply_send(conn, &m);
		free(csr);
		break;
	}
	case CONTROLLER_TO_DAEMON__COMMAND__PUSH_DEVICE_CERT:
		r = req->has_device_cert
			    ? cm_device_cert_push(d, req->device_cert.data, req->device_cert.len)
			    : err_set(-EINVAL, "no certificate given");
		respond(conn,
			r < 0 ? DAEMON_TO_CONTROLLER__RESPONSE__DEVICE_CERT_ERROR
			      : DAEMON_TO_CONTROLLER__RESPONSE__DEVICE_CERT_OK,
			r < 0 ? err_msg() : NULL);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CMLD_HANDLES_PIN:
		m.code = DAEMON_TO_CONTROLLER__CODE__CONTAINER_CMLD_HANDLES_PIN;
		m.has_container_cmld_handles_pin = 1;
		m.container_cmld_handles_pin = 0;
		reply_send(conn, &m);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_INPUT:
		cmd_exec_input(conn, req);
		break;
	default:
		handle_container_cmd(d, conn, req);
	}
}

/* ---- the control process ---- */

static void engine_restart(void *arg);
static void engine_stalled(void *arg);

int cm_control_listen(struct cmld *d)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char dir[sizeof(addr.sun_path)];
	int fd;

	if (strlen(d->socket_path) >= sizeof(addr.sun_path))
		return err_set(-ENAMETOOLONG, "socket path too long: %s", d->socket_path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", d->socket_path);
	snprintf(dir, sizeof(dir), "%s", d->socket_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_set(-errno, "mkdir %s: %s", dir, strerror(errno));
	}
	/* the requests arrive in these pages: locked, wiped after each (PINs) */
	d->ctl.rx = secret_alloc(CHAN_MSG_MAX);
	if (!d->ctl.rx)
		return -ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(-errno, "socket: %s", strerror(errno));
	unlink(d->socket_path);
	mode_t old = umask(0177); /* the socket is born 0600 */
	int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (r == 0)
		r = listen(fd, 16);
	if (r < 0) {
		r = err_set(-errno, "%s: %s", d->socket_path, strerror(errno));
		close(fd);
		return r;
	}
	d->listen_fd = fd;
	d->ctl.chan = -1;
	/* the control process is started from the loop, and again whenever it dies */
	d->ctl.out.max = CM_CTL_QUEUE_MAX;
	r = ev_timer_add(d->loop, &d->ctl.restart, engine_restart, d);
	if (r < 0)
		return r;
	r = ev_timer_add(d->loop, &d->ctl.stalled, engine_stalled, d);
	if (r < 0)
		return r;
	ev_timer_at(d->loop, &d->ctl.restart, 0);
	return 0;
}

struct cm_conn *cm_conn_new(struct cm_ctl *ctl, uint64_t id)
{
	struct cm_conn *c = calloc(1, sizeof(*c));

	if (c) {
		c->id = id;
		c->ctl = ctl;
		c->pty_master = -1;
	}
	return c;
}

static void exec_pty_close(struct cm_conn *c)
{
	if (c->pty_master < 0)
		return;
	if (c->d)
		ev_io_del(c->d->loop, &c->pty_io);
	c->d = NULL;
	close(c->pty_master);
	c->pty_master = -1;
}

void cm_conn_free(struct cm_conn *c)
{
	exec_pty_close(c);
	if (c->exec_pid > 0 && !c->exec_done)
		kill(c->exec_pid, SIGKILL);
	free(c);
}

void cm_control_drop_conns(struct cmld *d)
{
	while (d->conns) {
		struct cm_conn *c = d->conns;

		d->conns = c->next;
		cm_conn_free(c);
	}
}

static void engine_chan_close(struct cmld *d)
{
	if (d->ctl.chan < 0)
		return;
	ev_io_del(d->loop, &d->ctl.io);
	ev_timer_stop(d->loop, &d->ctl.stalled);
	chan_queue_clear(&d->ctl.out);
	close(d->ctl.chan);
	d->ctl.chan = -1;
}

/* The control process is broken or taken over: kill it; SIGCHLD starts the next. */
static void engine_kill(struct cmld *d, const char *why)
{
	log_err("control process %d: %s; starting a new one", (int)d->ctl.pid, why);
	if (d->ctl.pid > 0)
		kill(d->ctl.pid, SIGKILL);
	engine_chan_close(d);
	cm_control_drop_conns(d);
}

static void engine_ready(void *arg, unsigned ready);

static int engine_start(struct cmld *d)
{
	struct cm_engine_args args;
	int fd;
	pid_t pid = chan_fork(&fd);

	if (pid < 0)
		return (int)pid;
	if (pid == 0) {
		args = (struct cm_engine_args){.listen_fd = d->listen_fd,
					       .chan = fd,
					       .peer_uid = geteuid(),
					       .user = d->ctl.user};
		cm_engine_main(&args);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK); /* what it does not take at once waits in ctl.out */
	int rc = ev_io_add(d->loop, &d->ctl.io, fd, EVLOOP_READ, engine_ready, d);

	if (rc < 0) {
		kill(pid, SIGKILL);
		close(fd);
		return rc;
	}
	d->ctl.chan = fd;
	d->ctl.pid = pid;
	d->ctl.started_ms = frame_now_ms();
	log_debug("control process %d started", (int)pid);
	return 0;
}

/* The control process died: its connections with it; a new one, more slowly if it keeps dying. */
static void engine_reaped(struct cmld *d, int status)
{
	int64_t backoff;

	char how[96];

	log_err("control process %d %s", (int)d->ctl.pid,
		chan_child_status(status, how, sizeof(how)));
	d->ctl.pid = 0;
	engine_chan_close(d);
	cm_control_drop_conns(d);
	d->ctl.restarts = frame_now_ms() - d->ctl.started_ms > 10000 ? 0 : d->ctl.restarts + 1;
	backoff = d->ctl.restarts == 0 ? 0 : 100LL << (d->ctl.restarts < 4 ? d->ctl.restarts : 4);
	ev_timer_at(d->loop, &d->ctl.restart, frame_now_ms() + backoff);
	d->ctl.deaths++;
}

static void engine_restart(void *arg)
{
	struct cmld *d = arg;

	if (d->ctl.pid || d->quit)
		return;
	if (engine_start(d) < 0) {
		log_err("%s", err_msg());
		ev_timer_at(d->loop, &d->ctl.restart, frame_now_ms() + 1000);
	}
}

static struct cm_conn *conn_get(struct cmld *d, uint64_t id, bool create)
{
	size_t n = 0;
	struct cm_conn *c;

	for (c = d->conns; c; c = c->next, n++)
		if (c->id == id)
			return c;
	if (!create || n >= CM_CONTROL_MAX_CONNS)
		return NULL;
	c = cm_conn_new(&d->ctl, id);
	if (c) {
		c->next = d->conns;
		d->conns = c;
	}
	return c;
}

static void conn_forget(struct cmld *d, struct cm_conn *gone)
{
	for (struct cm_conn **p = &d->conns; *p; p = &(*p)->next)
		if (*p == gone) {
			*p = gone->next;
			cm_conn_free(gone);
			return;
		}
}

int cm_control_dispatch(struct cmld *d, const struct chan_hdr *hdr, void *body)
{
	struct cm_req_view view;
	struct cm_conn *c;
	int rc;

	if (hdr->type == CM_MSG_CLOSED && hdr->len == 0) {
		c = conn_get(d, hdr->id, false);
		if (c)
			conn_forget(d, c);
		return 0;
	}
	if (hdr->type != CM_MSG_REQUEST || hdr->len != sizeof(struct cm_msg_request))
		return err_set(-EBADMSG, "message of type %u with %u bytes", hdr->type, hdr->len);
	rc = cm_msg_request_check(body, &view);
	if (rc < 0)
		return err_wrap(rc, "request");
	c = conn_get(d, hdr->id, true);
	if (!c)
		return err_set(-EBADMSG, "more than %u connections", CM_CONTROL_MAX_CONNS);
	cm_control_handle(d, c, &view.req);
	if (c->dead) {
		ctl_send(&d->ctl, CM_MSG_CLOSE, c->id, NULL, 0);
		conn_forget(d, c);
	}
	return 0;
}

/*
 * After each callback: a control process that took no answer for 5 s is
 * replaced, the connections it is to close are closed, and the channel
 * waits for room while answers wait.
 */
static void conns_sweep(struct cmld *d)
{
	if (d->ctl.chan >= 0 && chan_queue_pending(&d->ctl.out) &&
	    frame_now_ms() - d->ctl.out.since_ms >= CM_CTL_STUCK_MS)
		d->ctl.stuck = true;
	if (d->ctl.stuck && d->ctl.chan >= 0)
		engine_kill(d, "it took no answer for 5 s");
	d->ctl.stuck = false;
	for (struct cm_conn **p = &d->conns; *p;) {
		struct cm_conn *dead = *p;

		if (!dead->dead) {
			p = &dead->next;
			continue;
		}
		if (d->ctl.chan >= 0)
			ctl_send(&d->ctl, CM_MSG_CLOSE, dead->id, NULL, 0);
		*p = dead->next;
		cm_conn_free(dead);
	}
	if (d->ctl.chan < 0)
		return;
	if (chan_queue_pending(&d->ctl.out)) {
		ev_io_want(d->loop, &d->ctl.io, EVLOOP_READ | EVLOOP_WRITE);
		ev_timer_at(d->loop, &d->ctl.stalled, d->ctl.out.since_ms + CM_CTL_STUCK_MS);
	} else {
		ev_io_want(d->loop, &d->ctl.io, EVLOOP_READ);
		ev_timer_stop(d->loop, &d->ctl.stalled);
	}
}

static void engine_stalled(void *arg)
{
	conns_sweep(arg);
}

/* What the control process sent; a message that fails its check ends it. */
static void engine_readable(struct cmld *d)
{
	/* a few per pass: signals and terminals are not kept waiting */
	for (int i = 0; i < 16 && d->ctl.chan >= 0; i++) {
		struct chan_hdr hdr;
		int rc = chan_recv(d->ctl.chan, &hdr, d->ctl.rx, CHAN_MSG_MAX);

		if (rc == -EAGAIN)
			break;
		if (rc == -EPIPE) { /* it is gone; SIGCHLD tells the rest */
			engine_chan_close(d);
			break;
		}
		if (rc == 0) {
			rc = cm_control_dispatch(d, &hdr, d->ctl.rx);
			OPENSSL_cleanse(d->ctl.rx, hdr.len); /* chan_recv: within CHAN_MSG_MAX */
		}
		if (rc < 0) {
			engine_kill(d, err_msg());
			break;
		}
	}
}

static void engine_ready(void *arg, unsigned ready)
{
	struct cmld *d = arg;

	if ((ready & EVLOOP_WRITE) && chan_queue_flush(d->ctl.chan, &d->ctl.out) < 0)
		engine_chan_close(d); /* it is gone; SIGCHLD tells the rest */
	if (d->ctl.chan >= 0 && (ready & (EVLOOP_READ | EVLOOP_HUP))) {
		engine_readable(d);
		cmld_wake(d); /* a command may have started, stopped or frozen a container */
	}
	conns_sweep(d);
}

static void exec_forward_output(struct cm_conn *c)
{
	uint8_t buf[4096];
	ssize_t n;

	while ((n = read(c->pty_master, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		Reply m = DAEMON_TO_CONTROLLER__INIT;
		m.code = DAEMON_TO_CONTROLLER__CODE__EXEC_OUTPUT;
		m.has_exec_output = 1;
		m.exec_output.data = buf;
		m.exec_output.len = (size_t)n;
		reply_send(c, &m);
	}
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		c->pty_hup = true; /* EIO: every holder of the terminal is gone */
		ev_io_want(c->d->loop, &c->pty_io, 0);
	}
}

static void exec_output_ready(void *arg, unsigned ready)
{
	struct cm_conn *c = arg;
	struct cmld *d = c->d;

	(void)ready;
	exec_forward_output(c);
	conns_sweep(d); /* @c too, if its answers could not be sent */
}

static void exec_finish(struct cm_conn *c)
{
	Reply m = DAEMON_TO_CONTROLLER__INIT;
	char reason[64];

	exec_forward_output(c);
	exec_pty_close(c);
	m.code = DAEMON_TO_CONTROLLER__CODE__EXEC_END;
	m.has_exec_exit_status = 1;
	m.exec_exit_status = WIFEXITED(c->exec_status) ? WEXITSTATUS(c->exec_status)
						       : 128 + WTERMSIG(c->exec_status);
	snprintf(reason, sizeof(reason), "exit status %d", m.exec_exit_status);
	m.exec_end_reason = reason;
	reply_send(c, &m);
	c->exec_pid = 0;
	c->pty_hup = false;
}

void cm_control_reap(struct cmld *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == d->ctl.pid) {
			engine_reaped(d, status);
			continue;
		}
		if (cm_verify_reaped(d, pid, status))
			continue;
		for (struct cm_container *c = d->containers; c; c = c->next) {
			if (c->init_pid == pid)
				cm_container_reaped(d, c, status);
			else if (c->vtpm_pid == pid)
				c->vtpm_pid = 0;
			else if (c->vtpm_filter_pid == pid)
				c->vtpm_filter_pid = 0;
		}
		for (struct cm_conn *c = d->conns; c; c = c->next)
			if (c->exec_pid == pid) {
				c->exec_status = status;
				c->exec_done = true;
			}
	}
	for (struct cm_conn *c = d->conns; c; c = c->next)
		if (c->exec_pid && c->exec_done)
			exec_finish(c);
	conns_sweep(d);
}

void cm_control_close(struct cmld *d)
{
	cm_control_drop_conns(d);
	cm_verify_stop(d);
	if (d->ctl.pid > 0) {
		kill(d->ctl.pid, SIGKILL);
		waitpid(d->ctl.pid, NULL, 0);
		d->ctl.pid = 0;
	}
	engine_chan_close(d);
	secret_free(d->ctl.rx, CHAN_MSG_MAX);
	d->ctl.rx = NULL;
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->socket_path);
	}
}
