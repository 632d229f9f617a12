/* SPDX-License-Identifier: MIT */
/*
 * The data folder (default /data/cml):
 *   containers/<uuid>.conf        ContainerConfig, protobuf text format
 *   containers/<uuid>.sig/.cert   when the config came signed (.conf is then the text as
 *                                 signed; trust SIGNED only while they verify over it)
 *   containers/<uuid>/            its data images; created = Unix time of create,
 *                                 uid_base = its user namespace's first host uid
 *   guestos/<name>/<name>.conf    GuestOSConfig + .sig + .cert, images <image_file>.img
 *   tokens/<uuid>.p12             softtoken
 *   tokens/ca/<sha256>.pem        CAs registered for GuestOS pushes and container signatures
 *                                 (not for starting sealed containers: --trust-anchors)
 *   device.provisioned            present once set_provisioned ran
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cmld.h"
#include "cm_seal.h"
#include "cm_store.h"
#include "cm_vclient.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "pbtext.h"

int cm_store_path(const struct cmld *d, char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, size, "%s/", d->data_dir);

	if (n < 0 || (size_t)n >= size)
		return err_set(-ENAMETOOLONG, "path too long");
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= size)
		return err_set(-ENAMETOOLONG, "path too long");
	return 0;
}

const char *cm_data_image_path(const struct cmld *d, const char *uuid, const GuestOSMount *m,
			       char *buf, size_t size)
{
	cm_store_path(d, buf, size, "containers/%s/%s.img", uuid, m->image_file);
	return buf;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len >= sizeof(tmp))
		return err_set(-ENAMETOOLONG, "%s: path too long", path);
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return err_set(-errno, "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

int cm_store_init(struct cmld *d)
{
	static const char *const dirs[] = {"containers", "guestos", "tokens", "tokens/ca"};
	char path[4096];
	int r;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		r = cm_store_path(d, path, sizeof(path), "%s", dirs[i]);
		if (r < 0)
			return r;
		r = mkdir_p(path, 0700);
		if (r < 0)
			return r;
	}
	cm_store_path(d, path, sizeof(path), "device.provisioned");
	d->provisioned = access(path, F_OK) == 0;
	return 0;
}

int cm_set_provisioned(struct cmld *d)
{
	char path[4096];

	cm_store_path(d, path, sizeof(path), "device.provisioned");
	d->provisioned = true;
	return file_write_atomic(path, "1\n", 2, 0600);
}

int cm_uuid_random(char out[CM_UUID_LEN + 1])
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return err_set(-EIO, "no random bytes");
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, CM_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != CM_UUID_LEN)
		return false;
	for (int i = 0; i < CM_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return true;
}

struct cm_container *cm_container_find(struct cmld *d, const char *uuid_or_name)
{
	struct cm_container *c, *by_name = NULL;

	for (c = d->containers; c; c = c->next) {
		if (!strcmp(c->uuid, uuid_or_name))
			return c;
		if (!by_name && !strcmp(c->config->name, uuid_or_name))
			by_name = c;
	}
	return by_name;
}

void cm_container_free(struct cm_container *c)
{
	if (!c)
		return;
	if (c->config)
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
	if (c->pending)
		protobuf_c_message_free_unpacked(&c->pending->base, NULL);
	for (size_t i = 0; i < c->n_ifaces; i++)
		free(c->ifaces[i]);
	free(c->ifaces);
	free(c);
}

void cm_container_unlink(struct cmld *d, struct cm_container *c)
{
	for (struct cm_container **p = &d->containers; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			return;
		}
	}
}

/*
 * User namespaces: container root is host uid CM_UID_FIRST + k * 64 Ki for a
 * block k allocated at create and recorded in containers/<uuid>/uid_base (a
 * record outside the range or not block-aligned is refused; two containers
 * sharing one are refused at start).
 */
#define CM_UID_FIRST  0x100000u
#define CM_UID_BLOCK  0x10000u
#define CM_UID_BLOCKS 0x3f00u

static bool uid_base_valid(uint32_t b)
{
	return b >= CM_UID_FIRST && (b - CM_UID_FIRST) % CM_UID_BLOCK == 0 &&
	       (b - CM_UID_FIRST) / CM_UID_BLOCK < CM_UID_BLOCKS;
}

bool cm_uid_base_used(const struct cmld *d, uint32_t b, const struct cm_container *except)
{
	for (const struct cm_container *c = d->containers; c; c = c->next)
		if (c != except && c->uid_base == b)
			return true;
	return false;
}

uint32_t cm_uid_base_alloc(const struct cmld *d)
{
	for (uint32_t k = 0; k < CM_UID_BLOCKS; k++)
		if (!cm_uid_base_used(d, CM_UID_FIRST + k * CM_UID_BLOCK, NULL))
			return CM_UID_FIRST + k * CM_UID_BLOCK;
	return 0;
}

int cm_uid_base_save(struct cmld *d, const char *uuid, uint32_t base)
{
	char path[4096], text[16];

	if (!uid_base_valid(base))
		return err_set(-ENOSPC, "no free range of user ids for a new container");
	cm_store_path(d, path, sizeof(path), "containers/%s/uid_base", uuid);
	snprintf(text, sizeof(text), "%u\n", base);
	return file_write_atomic(path, text, strlen(text), 0600);
}

/*
 * The recorded base; a container made before bases were recorded gets the
 * one it had (from its UUID's first 16 bits) when that is free, else a free
 * one, and keeps it from now on.
 */
static int uid_base_load(struct cmld *d, struct cm_container *c)
{
	char path[4096];
	uint8_t *buf;
	size_t len;
	unsigned v = 0;

	cm_store_path(d, path, sizeof(path), "containers/%s/uid_base", c->uuid);
	if (file_read_all(path, 32, &buf, &len) == 0) {
		char *end;
		unsigned long b = strtoul((char *)buf, &end, 10);
		bool ok = end != (char *)buf && (*end == '\n' || !*end) && b <= UINT32_MAX &&
			  uid_base_valid((uint32_t)b);
		free(buf);
		if (!ok)
			return err_set(-EINVAL, "%s: not a user id range of cmld", path);
		c->uid_base = (uint32_t)b;
		return 0;
	}
	sscanf(c->uuid, "%4x", &v);
	c->uid_base = CM_UID_FIRST + (v % CM_UID_BLOCKS) * CM_UID_BLOCK;
	if (cm_uid_base_used(d, c->uid_base, c))
		c->uid_base = cm_uid_base_alloc(d);
	cm_store_path(d, path, sizeof(path), "containers/%s", c->uuid);
	if (access(path, F_OK) < 0)
		return 0; /* not created yet: create records it */
	return cm_uid_base_save(d, c->uuid, c->uid_base);
}

/*
 * containers/<uuid>.conf, parsed by the verify process; SIGNED when its
 * .sig and .cert verify over it (read once, with it), else UNSIGNED.
 */
static int load_config(struct cmld *d, const char *uuid, ProtobufCMessage **ret,
		       ContainerTrust *ret_trust)
{
	static const char *const ext[] = {"conf", "sig", "cert"};
	uint8_t *buf[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0};
	char path[3][4096];
	bool has_sig = true, verified = false;
	int r;

	for (int i = 0; i < 3; i++)
		cm_store_path(d, path[i], sizeof(path[i]), "containers/%s.%s", uuid, ext[i]);
	r = file_read_all(path[0], CM_VERIFY_PART_MAX, &buf[0], &len[0]);
	if (r < 0)
		return r;
	for (int i = 1; i < 3 && has_sig; i++)
		has_sig = file_read_all(path[i], 1 << 20, &buf[i], &len[i]) == 0;
	err_clear();
	r = cm_verify_config(d, &container_config__descriptor,
			     has_sig ? CM_VTRUST_ANY : CM_VTRUST_NONE, CM_VREQ_SIG_OPTIONAL,
			     path[0], NULL, buf[0], len[0], buf[1], len[1], buf[2], len[2], ret,
			     &verified);
	if (r == 0 && has_sig && !verified)
		log_warn("container %s: its signature does not verify over its config (%s); "
			 "UNSIGNED",
			 uuid, err_msg());
	for (int i = 0; i < 3; i++)
		free(buf[i]);
	if (r == 0)
		err_clear();
	if (r == 0)
		*ret_trust = verified ? CONTAINER_TRUST__SIGNED : CONTAINER_TRUST__UNSIGNED;
	return r;
}

static int load_one(struct cmld *d, const char *uuid, bool only_stopped)
{
	char path[4096];
	ProtobufCMessage *m;
	ContainerTrust trust = CONTAINER_TRUST__UNSIGNED;
	struct cm_container *c = cm_container_find(d, uuid);
	uint8_t *buf;
	size_t len;
	int r;

	if (c && strcmp(c->uuid, uuid))
		c = NULL; /* matched a name, not this UUID */
	if (c && only_stopped && c->state != CONTAINER_STATE__STOPPED)
		return 0;
	r = load_config(d, uuid, &m, &trust);
	if (r < 0)
		return r;
	if (c) {
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
		c->config = (ContainerConfig *)m;
		c->trust = trust;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		protobuf_c_message_free_unpacked(m, NULL);
		return err_set(-ENOMEM, "out of memory");
	}
	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	c->config = (ContainerConfig *)m;
	c->state = CONTAINER_STATE__STOPPED;
	c->init_pidfd = -1;
	r = uid_base_load(d, c);
	if (r < 0) {
		cm_container_free(c);
		return r;
	}
	c->trust = trust;
	cm_store_path(d, path, sizeof(path), "containers/%s/created", uuid);
	if (file_read_all(path, 64, &buf, &len) == 0) {
		c->created = strtoll((char *)buf, NULL, 10);
		free(buf);
	}
	/* keep the on-disk order stable: append */
	struct cm_container **tail = &d->containers;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	return 0;
}

static int uuid_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cm_store_load_containers(struct cmld *d, bool only_stopped)
{
	char path[4096], *names[4096];
	size_t n = 0;
	struct dirent *e;
	DIR *dir;

	cm_store_path(d, path, sizeof(path), "containers");
	dir = opendir(path);
	if (!dir)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	while ((e = readdir(dir)) && n < sizeof(names) / sizeof(names[0])) {
		size_t len = strlen(e->d_name);
		if (len != CM_UUID_LEN + 5 || strcmp(e->d_name + CM_UUID_LEN, ".conf"))
			continue;
		names[n] = strndup(e->d_name, CM_UUID_LEN);
		if (names[n] && is_uuid(names[n]))
			n++;
		else
			free(names[n]);
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), uuid_cmp);
	/* those with a recorded user id range first: the others must not take theirs */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			cm_store_path(d, path, sizeof(path), "containers/%s/uid_base", names[i]);
			if ((access(path, F_OK) == 0) != (pass == 0))
				continue;
			/* a broken config must not hide the others: report and go on */
			if (load_one(d, names[i], only_stopped) < 0)
				log_err("container %s: %s", names[i], err_msg());
		}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return 0;
}

/*
 * A config cmld writes itself is not the text anyone signed: the signature of
 * an earlier config must not vouch for it, so any .sig/.cert goes with it.
 */
int cm_store_save_config(struct cmld *d, const char *uuid, const ContainerConfig *c)
{
	char path[4096], *text;
	size_t len;
	int r;

	r = pbtext_format(&c->base, &text, &len);
	if (r < 0)
		return r;
	cm_store_path(d, path, sizeof(path), "containers/%s.conf", uuid);
	r = file_write_atomic(path, text, len, 0600);
	free(text);
	for (int i = 0; i < 2 && r == 0; i++) {
		cm_store_path(d, path, sizeof(path), "containers/%s.%s", uuid, i ? "cert" : "sig");
		if (unlink(path) < 0 && errno != ENOENT)
			r = err_set(-errno, "unlink %s: %s", path, strerror(errno));
	}
	return r;
}

int cm_store_save_signed(struct cmld *d, const char *uuid, const ContainerConfig *c,
			 const uint8_t *signed_text, size_t text_len, const uint8_t *sig,
			 size_t sig_len, const uint8_t *cert, size_t cert_len)
{
	char path[4096];
	int r;

	if (!sig)
		return cm_store_save_config(d, uuid, c); /* unsigned now: the old signature goes */
	/* the text as signed, so that the signature keeps verifying over the stored file */
	cm_store_path(d, path, sizeof(path), "containers/%s.sig", uuid);
	r = file_write_atomic(path, sig, sig_len, 0600);
	if (r < 0)
		return r;
	cm_store_path(d, path, sizeof(path), "containers/%s.cert", uuid);
	r = file_write_atomic(path, cert, cert_len, 0600);
	if (r < 0)
		return r;
	cm_store_path(d, path, sizeof(path), "containers/%s.conf", uuid);
	return file_write_atomic(path, signed_text, text_len, 0600);
}

/* Each "/"-separated part of @p: not empty, ".", or "..". */
static bool parts_plain(const char *p)
{
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/' && !*++p)
			return false; /* a trailing "/" */
	}
	return true;
}

bool cm_mount_point_ok(const char *path)
{
	return path && path[0] == '/' && (!path[1] || parts_plain(path + 1));
}

int cm_confine_path(const struct cmld *d, const char *uuid, const char *field, const char *path,
		    char *buf, size_t size)
{
	char base[4096];
	const char *rel = path;
	size_t blen;
	int r;

	r = cm_store_path(d, base, sizeof(base), "containers/%s", uuid);
	if (r < 0)
		return r;
	blen = strlen(base);
	if (path[0] == '/') {
		/* absolute: only below this container's own folder */
		if (strncmp(path, base, blen) || path[blen] != '/' || !path[blen + 1])
			return err_set(-EPERM, "%s '%s' is outside the container's folder %s/",
				       field, path, base);
		rel = path + blen + 1;
	}
	if (!*rel || !parts_plain(rel))
		return err_set(-EPERM, "%s '%s': no empty, \".\" or \"..\" parts allowed", field,
			       path);
	if (snprintf(buf, size, "%s/%s", base, rel) >= (int)size)
		return err_set(-ENAMETOOLONG, "%s '%s': too long", field, path);
	/* no symlink on the way: each part that exists must be what it says */
	for (char *p = buf + blen + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char keep = *p;
		struct stat st;
		*p = '\0';
		int gone = lstat(buf, &st) < 0 && errno == ENOENT;
		bool link = !gone && S_ISLNK(st.st_mode);
		*p = keep;
		if (link)
			return err_set(-EPERM, "%s '%s': a symlink inside the container's folder",
				       field, path);
		if (gone || !keep)
			break;
	}
	return 0;
}

int cm_config_check(const struct cmld *d, const char *uuid, const ContainerConfig *c)
{
	char path[4096];
	int r;

	r = cm_confine_check(d->provisioned, c);
	if (r < 0)
		return r;
	/* a filter the config asks for and nothing enforces would be a false promise */
	for (size_t i = 0; i < c->n_net_ifaces; i++)
		if (c->net_ifaces[i]->n_mac_filter)
			return err_set(-ENOTSUP, "net_ifaces '%s': mac_filter is not supported",
				       c->net_ifaces[i]->netif);
	if (c->vtpm)
		return cm_confine_path(d, uuid, "vtpm.state_path", c->vtpm->state_path, path,
				       sizeof(path));
	return 0;
}

int cm_rmtree(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *e;
	int r = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set(-errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0)
			return err_set(-errno, "unlink %s: %s", path, strerror(errno));
		return 0;
	}
	dir = opendir(path);
	if (!dir)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	while ((e = readdir(dir))) {
		char sub[4096 + 256];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (cm_rmtree(sub) < 0)
			r = -EIO;
	}
	closedir(dir);
	if (rmdir(path) < 0)
		return err_set(-errno, "rmdir %s: %s", path, strerror(errno));
	return r;
}

/* ---- crash recovery ---- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* file_write_atomic's temporary name: "<name>.tmp.XXXXXX" */
static bool is_atomic_tmp(const char *name)
{
	const char *t = strstr(name, ".tmp.");

	return t && strlen(t) == 11;
}

/* Unlinks the regular files of @dir that @drop names; how many. */
static unsigned drop_files(const char *dir, bool (*drop)(const char *name))
{
	char path[4096 + 256];
	struct dirent *e;
	unsigned n = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return 0;
	while ((e = readdir(dp))) {
		if (e->d_type != DT_REG || !drop(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0) {
			log_warn("recovery: removed %s (written when cmld stopped)", path);
			n++;
		}
	}
	closedir(dp);
	if (n)
		fsync_parent_dir(path);
	return n;
}

static bool drop_tmp(const char *name)
{
	return is_atomic_tmp(name);
}

static bool drop_staged(const char *name)
{
	return is_atomic_tmp(name) || has_suffix(name, ".new") || has_suffix(name, ".plain");
}

int cm_store_dir_commit(const char *dir)
{
	char from[4096 + 256], to[4096 + 256];
	struct dirent *e;
	DIR *dp = opendir(dir);
	int r = 0;

	if (!dp)
		return err_set(-errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dp))) {
		size_t len = strlen(e->d_name);
		if (e->d_type != DT_REG || !has_suffix(e->d_name, ".new"))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%.*s", dir, (int)(len - 4), e->d_name);
		if (rename(from, to) < 0 && r == 0)
			r = err_set(-errno, "rename %s: %s", from, strerror(errno));
	}
	closedir(dp);
	snprintf(to, sizeof(to), "%s/" CM_COMMIT_MARK, dir);
	if (r == 0)
		r = fsync_parent_dir(to);
	if (r == 0 && unlink(to) < 0 && errno != ENOENT)
		r = err_set(-errno, "unlink %s: %s", to, strerror(errno));
	return r == 0 ? fsync_parent_dir(to) : r;
}

int cm_store_dir_rollback(const char *dir)
{
	char mark[4096 + 64];

	drop_files(dir, drop_staged);
	snprintf(mark, sizeof(mark), "%s/" CM_COMMIT_MARK, dir);
	if (unlink(mark) < 0 && errno != ENOENT)
		return err_set(-errno, "unlink %s: %s", mark, strerror(errno));
	return 0;
}

int cm_store_remove_remains(struct cmld *d, const char *uuid)
{
	static const char *const files[] = {"containers/%s.conf", "containers/%s.sig",
					    "containers/%s.cert", "tokens/%s.p12"};
	char path[4096];
	int r = 0, rs;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		cm_store_path(d, path, sizeof(path), files[i], uuid);
		if (unlink(path) < 0 && errno != ENOENT && r == 0)
			r = err_set(-errno, "unlink %s: %s", path, strerror(errno));
	}
	cm_store_path(d, path, sizeof(path), "containers/%s", uuid);
	if (cm_rmtree(path) < 0 && r == 0)
		r = -EIO;
	/* the key file last, and only once its counter is gone: it says which counter */
	if ((rs = cm_seal_remove(d, uuid)) < 0) {
		log_warn("container %s: %s; the key file stays for the next try", uuid, err_msg());
		return r ? r : rs;
	}
	cm_store_path(d, path, sizeof(path), "containers/%s.sealed", uuid);
	if (unlink(path) < 0 && errno != ENOENT && r == 0)
		r = err_set(-errno, "unlink %s: %s", path, strerror(errno));
	fsync_parent_dir(path);
	return r;
}

/* The UUID an entry of containers/ or tokens/ belongs to ("<uuid>" or "<uuid>.ext"). */
static bool entry_uuid(const char *name, char uuid[CM_UUID_LEN + 1])
{
	static const char *const ext[] = {"", ".conf", ".sig", ".cert", ".sealed", ".p12"};

	if (strlen(name) < CM_UUID_LEN)
		return false;
	memcpy(uuid, name, CM_UUID_LEN);
	uuid[CM_UUID_LEN] = '\0';
	if (!is_uuid(uuid))
		return false;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (!strcmp(name + CM_UUID_LEN, ext[i]))
			return true;
	return false;
}

/* UUIDs of @dir's entries that have no containers/<uuid>.conf, added to @list. */
static void collect_orphans(struct cmld *d, const char *sub, char (*list)[CM_UUID_LEN + 1],
			    size_t *n, size_t max)
{
	char dir[4096], conf[4096], uuid[CM_UUID_LEN + 1];
	struct dirent *e;
	DIR *dp;

	cm_store_path(d, dir, sizeof(dir), "%s", sub);
	drop_files(dir, drop_tmp);
	if (!(dp = opendir(dir)))
		return;
	while ((e = readdir(dp)) && *n < max) {
		bool known = false;
		if (!entry_uuid(e->d_name, uuid))
			continue;
		cm_store_path(d, conf, sizeof(conf), "containers/%s.conf", uuid);
		if (access(conf, F_OK) == 0) {
			if (e->d_type == DT_DIR) {
				/* a data image being made, a config file being replaced */
				cm_store_path(d, conf, sizeof(conf), "%s/%s", sub, e->d_name);
				drop_files(conf, drop_staged);
			}
			continue;
		}
		for (size_t i = 0; i < *n && !known; i++)
			known = !strcmp(list[i], uuid);
		if (!known)
			memcpy(list[(*n)++], uuid, CM_UUID_LEN + 1);
	}
	closedir(dp);
}

/*
 * The data folder as a crash (SIGKILL, power loss) may have left it, put
 * right before anything is loaded.  Each change has one commit point, so
 * what is found is either before it (undone here) or after it (finished):
 *   - "<file>.tmp.XXXXXX": file_write_atomic stopped before its rename: removed.
 *   - a container's files without containers/<uuid>.conf: a create that
 *     stopped before writing its config, or a remove after unlinking it:
 *     removed, its key's counter revoked (containers/<uuid>.sealed goes last).
 *   - "<image>.img.new" / ".plain" in a container's folder: a data image
 *     being made: removed (the start makes it again).
 *   - guestos/<name>/: a push stages "*.new" and writes CM_COMMIT_MARK once
 *     all are there: with the mark the renames are finished, without it the
 *     staged files are removed (the old GuestOS stays).
 * A change_pin stopped before its counter step: cm_seal_recover.
 */
int cm_store_recover(struct cmld *d)
{
	char(*orphans)[CM_UUID_LEN + 1] = calloc(1024, CM_UUID_LEN + 1);
	char path[4096], sub[4096 + 256];
	size_t n = 0;
	struct dirent *e;
	DIR *dp;

	if (!orphans)
		return err_set(-ENOMEM, "out of memory");
	cm_store_path(d, path, sizeof(path), ".");
	drop_files(path, drop_tmp);
	cm_store_path(d, path, sizeof(path), "tokens/ca");
	drop_files(path, drop_tmp);
	collect_orphans(d, "containers", orphans, &n, 1024);
	collect_orphans(d, "tokens", orphans, &n, 1024);
	for (size_t i = 0; i < n; i++) {
		log_warn("recovery: container %s has no config (a create or remove cmld did not "
			 "finish): removing what is left of it",
			 orphans[i]);
		if (cm_store_remove_remains(d, orphans[i]) < 0)
			log_warn("recovery: container %s: %s", orphans[i], err_msg());
	}
	free(orphans);
	cm_store_path(d, path, sizeof(path), "guestos");
	if (!(dp = opendir(path)))
		return 0;
	while ((e = readdir(dp))) {
		char mark[4096 + 320];
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		snprintf(mark, sizeof(mark), "%s/" CM_COMMIT_MARK, sub);
		if (access(mark, F_OK) == 0) {
			log_warn("recovery: GuestOS %s: finishing its install", e->d_name);
			if (cm_store_dir_commit(sub) < 0)
				log_warn("recovery: GuestOS %s: %s", e->d_name, err_msg());
		} else {
			cm_store_dir_rollback(sub);
		}
		if (rmdir(sub) == 0) /* only when empty: a first push that did not commit */
			log_warn("recovery: GuestOS %s: removed the folder of an unfinished push",
				 e->d_name);
	}
	closedir(dp);
	return 0;
}

/* ---- certificates ---- */

int cm_ca_register(struct cmld *d, const uint8_t *pem, size_t len)
{
	uint8_t md[32];
	char hex[65], path[4096];
	int r;

	/* parsed by the verify process; the parent stores the bytes whose digest it answered for */
	r = cm_verify_ca(d, pem, len, md);
	if (r < 0)
		return r;
	hex_encode(md, sizeof(md), hex);
	cm_store_path(d, path, sizeof(path), "tokens/ca/%s.pem", hex);
	r = file_write_atomic(path, pem, len, 0644);
	if (r < 0)
		return r;
	cm_verify_stop(d); /* the next one loads the CAs with this one */
	return 0;
}
