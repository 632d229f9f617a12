/* SPDX-License-Identifier: MIT */
/*
 * GuestOS store: guestos/<name>/<name>.conf + .sig + .cert and the images.
 * A config is installed only when its signature verifies with a certificate
 * that chains to a trust anchor or a registered CA, it is not older than the
 * installed one, and every image it lists has the listed size and SHA-256.
 * Nothing of this is trusted later: every start verifies the installed
 * config's signature again (a sealed container's against the trust anchors
 * only) and hashes each image from the descriptor it then mounts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cml_measure.h"
#include "cmld.h"
#include "cm_guestos.h"
#include "cm_store.h"
#include "cm_vclient.h"
#include "digest.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"

#define GUESTOS_CONF_MAX (1u << 20)

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) > 64 || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    *s))
			return false;
	return true;
}

/* Unverified: for listings and for create's check that the GuestOS is there. */
GuestOSConfig *cm_guestos_load(struct cmld *d, const char *name)
{
	char path[4096];
	ProtobufCMessage *m;
	uint8_t *buf;
	size_t len;
	int r;

	if (!name_ok(name))
		return NULL;
	cm_store_path(d, path, sizeof(path), "guestos/%s/%s.conf", name, name);
	if (access(path, F_OK) < 0)
		return NULL;
	if (file_read_all(path, GUESTOS_CONF_MAX, &buf, &len) < 0)
		return NULL;
	r = cm_verify_config(d, &guest_osconfig__descriptor, CM_VTRUST_NONE, 0, path, NULL, buf,
			     len, NULL, 0, NULL, 0, &m, NULL);
	free(buf);
	return r < 0 ? NULL : (GuestOSConfig *)m;
}

/* Reads the size and SHA-256 of the regular file open as @fd. */
static int image_digest(int fd, const char *name, uint64_t *ret_size, uint8_t out[32])
{
	const struct hash_alg *alg = hash_alg_by_name("sha256");
	uint8_t outs[1][DIGEST_MAX];
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(-EINVAL, "image '%s': not a regular file", name);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_set(-errno, "image '%s': %s", name, strerror(errno));
	r = digest_fd_multi(fd, &alg, 1, outs, NULL, NULL);
	if (r < 0)
		return r;
	memcpy(out, outs[0], 32);
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

/* Checks the image open as @fd against the mount's size and SHA-256. */
static int check_image(const GuestOSMount *m, int fd, uint8_t digest[32])
{
	uint8_t want[32];
	size_t want_len;
	uint64_t size = 0;
	char hex[65];
	int r;

	if (!m->image_sha2_256 ||
	    hex_decode(m->image_sha2_256, want, sizeof(want), &want_len) < 0 || want_len != 32)
		return err_set(-EINVAL, "image '%s': no valid image_sha2_256 in the config",
			       m->image_file);
	r = image_digest(fd, m->image_file, &size, digest);
	if (r < 0)
		return r;
	if (m->has_image_size && size != m->image_size)
		return err_set(-EBADMSG, "image '%s': %llu bytes, the config says %llu",
			       m->image_file, (unsigned long long)size,
			       (unsigned long long)m->image_size);
	if (memcmp(digest, want, 32)) {
		hex_encode(digest, 32, hex);
		return err_set(-EBADMSG, "image '%s': SHA-256 %s, the config says %s",
			       m->image_file, hex, m->image_sha2_256);
	}
	return 0;
}

static int open_image(const GuestOSMount *m, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return err_set(-errno, "image '%s': %s: %s", m->image_file, path, strerror(errno));
	return fd;
}

int cm_guestos_open_images(struct cmld *d, const GuestOSConfig *g, int *ret_fds)
{
	char path[4096];
	uint8_t digest[32];
	int r = 0;

	for (size_t i = 0; i < g->n_mounts; i++)
		ret_fds[i] = -1;
	for (size_t i = 0; i < g->n_mounts && r == 0; i++) {
		const GuestOSMount *m = g->mounts[i];
		if (!cml_mount_has_image(m))
			continue;
		cm_store_path(d, path, sizeof(path), "guestos/%s/%s.img", g->name, m->image_file);
		if ((r = ret_fds[i] = open_image(m, path)) >= 0)
			r = check_image(m, ret_fds[i], digest);
	}
	if (r < 0)
		for (size_t i = 0; i < g->n_mounts; i++)
			if (ret_fds[i] >= 0) {
				close(ret_fds[i]);
				ret_fds[i] = -1;
			}
	return r < 0 ? r : 0;
}

/* The fields a start turns into paths: plain image names, mount points without "..". */
static int check_paths(const GuestOSConfig *g)
{
	for (size_t i = 0; i < g->n_mounts; i++) {
		const GuestOSMount *m = g->mounts[i];
		if (!name_ok(m->image_file))
			return err_set(-EINVAL, "GuestOS %s: image_file '%s' is not a plain name",
				       g->name, m->image_file);
		if (!cm_mount_point_ok(m->mount_point))
			return err_set(-EINVAL,
				       "GuestOS %s: mount_point '%s' is not an absolute path "
				       "without \".\" or \"..\"",
				       g->name, m->mount_point);
	}
	return 0;
}

/* Reads guestos/<name>/<name>.<ext>. */
static int read_part(struct cmld *d, const char *name, const char *ext, uint8_t **ret,
		     size_t *ret_len)
{
	char path[4096];
	int r;

	cm_store_path(d, path, sizeof(path), "guestos/%s/%s.%s", name, name, ext);
	r = file_read_all(path, GUESTOS_CONF_MAX, ret, ret_len);
	if (r < 0)
		return err_wrap(r, "GuestOS %s: its %s", name, ext);
	return 0;
}

int cm_guestos_load_verified(struct cmld *d, const char *name, enum cm_trust trust,
			     GuestOSConfig **ret)
{
	static const char *const ext[] = {"conf", "sig", "cert"};
	uint8_t *buf[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0};
	ProtobufCMessage *m = NULL;
	int r = 0;

	if (!name_ok(name))
		return err_set(-EINVAL, "'%s' is not a GuestOS name", name);
	char what[512];

	for (int i = 0; i < 3 && r == 0; i++)
		r = read_part(d, name, ext[i], &buf[i], &len[i]);
	snprintf(what, sizeof(what), "GuestOS %s: its signature", name);
	/* verified and parsed from the same bytes, read once (the digest says they were these) */
	if (r == 0)
		r = cm_verify_config(d, &guest_osconfig__descriptor, (enum cm_vtrust)trust, 0,
				     "guestos.conf", what, buf[0], len[0], buf[1], len[1], buf[2],
				     len[2], &m, NULL);
	if (r == 0 && strcmp(((GuestOSConfig *)m)->name, name))
		r = err_set(-EINVAL, "GuestOS %s: its config names GuestOS %s", name,
			    ((GuestOSConfig *)m)->name);
	if (r == 0)
		r = check_paths((GuestOSConfig *)m);
	for (int i = 0; i < 3; i++)
		free(buf[i]);
	if (r < 0) {
		if (m)
			protobuf_c_message_free_unpacked(m, NULL);
		return r;
	}
	*ret = (GuestOSConfig *)m;
	return 0;
}

/* Copies @src to @dst, both regular files. */
static int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out, r = 0;
	char buf[1 << 16];
	ssize_t n;

	if (in < 0)
		return err_set(-errno, "%s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		r = err_set(-errno, "%s: %s", dst, strerror(errno));
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		r = fd_write_all(out, buf, (size_t)n);
		if (r < 0) {
			err_wrap(r, "%s", dst);
			break;
		}
	}
	if (n < 0)
		r = err_set(-errno, "%s: %s", src, strerror(errno));
	if (r == 0 && fsync(out) < 0)
		r = err_set(-errno, "%s: %s", dst, strerror(errno));
	close(in);
	close(out);
	return r;
}

/* The folder update_base_url names: "file:///x" or "/x". */
static const char *image_source(const GuestOSConfig *g)
{
	const char *u = g->update_base_url;

	if (!u)
		return NULL;
	if (!strncmp(u, "file://", 7))
		return u + 7;
	return u[0] == '/' ? u : NULL;
}

/* Fetches (when there is a source) and checks every image into "<img>.new". */
static int stage_images(struct cmld *d, const GuestOSConfig *g)
{
	const char *src = image_source(g);
	char from[4096], to[4096];
	uint8_t digest[32];
	int r, fd;

	if (g->update_base_url && !src)
		return err_set(-EINVAL,
			       "update_base_url '%s': only file:// or a folder is supported",
			       g->update_base_url);
	for (size_t i = 0; i < g->n_mounts; i++) {
		const GuestOSMount *m = g->mounts[i];
		if (!cml_mount_has_image(m))
			continue;
		if (!name_ok(m->image_file))
			return err_set(-EINVAL, "image_file '%s' is not a plain name",
				       m->image_file);
		cm_store_path(d, to, sizeof(to), "guestos/%s/%s.img.new", g->name, m->image_file);
		if (src)
			snprintf(from, sizeof(from), "%s/%s.img", src, m->image_file);
		else
			cm_store_path(d, from, sizeof(from), "guestos/%s/%s.img", g->name,
				      m->image_file);
		r = copy_file(from, to);
		if (r < 0)
			return r;
		fd = open_image(m, to);
		if (fd < 0)
			return fd;
		r = check_image(m, fd, digest);
		close(fd);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The config, signature and certificate staged beside the images ("<name>.conf.new", ...). */
static int write_files(struct cmld *d, const char *name, const uint8_t *conf, size_t conf_len,
		       const uint8_t *sig, size_t sig_len, const uint8_t *cert, size_t cert_len)
{
	char path[4096];
	int r;

	cm_store_path(d, path, sizeof(path), "guestos/%s/%s.sig.new", name, name);
	r = file_write_atomic(path, sig, sig_len, 0644);
	if (r < 0)
		return r;
	cm_store_path(d, path, sizeof(path), "guestos/%s/%s.cert.new", name, name);
	r = file_write_atomic(path, cert, cert_len, 0644);
	if (r < 0)
		return r;
	cm_store_path(d, path, sizeof(path), "guestos/%s/%s.conf.new", name, name);
	return file_write_atomic(path, conf, conf_len, 0644);
}

/*
 * Everything staged, then the commit mark, then the renames: a crash leaves
 * the old GuestOS (no mark: cm_store_recover removes the staged files) or
 * the new one (the mark: it finishes the renames), never a new config with
 * an old signature or old images.
 */
static int install(struct cmld *d, const GuestOSConfig *g, const uint8_t *conf, size_t conf_len,
		   const uint8_t *sig, size_t sig_len, const uint8_t *cert, size_t cert_len)
{
	char dir[4096], mark[4200];
	int r;

	cm_store_path(d, dir, sizeof(dir), "guestos/%s", g->name);
	snprintf(mark, sizeof(mark), "%s/" CM_COMMIT_MARK, dir);
	r = stage_images(d, g);
	if (r == 0)
		r = write_files(d, g->name, conf, conf_len, sig, sig_len, cert, cert_len);
	if (r == 0)
		r = file_write_atomic(mark, "1\n", 2, 0644);
	if (r < 0) {
		char why[1024];
		snprintf(why, sizeof(why), "%s", err_msg());
		cm_store_dir_rollback(dir);
		return err_set(r, "%s", why);
	}
	return cm_store_dir_commit(dir);
}

static int same_as_installed(struct cmld *d, const char *name, const uint8_t *conf, size_t len)
{
	char path[4096];
	uint8_t *old;
	size_t old_len;
	int same;

	cm_store_path(d, path, sizeof(path), "guestos/%s/%s.conf", name, name);
	if (file_read_all(path, GUESTOS_CONF_MAX, &old, &old_len) < 0)
		return 0;
	same = old_len == len && !memcmp(old, conf, len);
	free(old);
	return same;
}

int cm_guestos_push(struct cmld *d, const uint8_t *conf, size_t conf_len, const uint8_t *sig,
		    size_t sig_len, const uint8_t *cert, size_t cert_len)
{
	ProtobufCMessage *m;
	GuestOSConfig *g, *old;
	char path[4096];
	int r;

	if (!conf || !sig || !cert || !sig_len || !cert_len)
		return err_set(-EINVAL, "a GuestOS needs its config, signature and certificate");
	/*
	 * The registered CAs too: a convenience; a sealed container's start wants
	 * an anchor.  What is installed below is @conf itself, whose digest the
	 * verify process answered for.
	 */
	if ((r = cm_verify_config(d, &guest_osconfig__descriptor, CM_VTRUST_ANY, 0, "guestos.conf",
				  "GuestOS config", conf, conf_len, sig, sig_len, cert, cert_len,
				  &m, NULL)) < 0)
		return r;
	g = (GuestOSConfig *)m;
	if (!name_ok(g->name)) {
		r = err_set(-EINVAL, "GuestOS name '%s' is not a plain name", g->name);
		goto out;
	}
	r = check_paths(g);
	if (r < 0)
		goto out;
	old = cm_guestos_load(d, g->name);
	if (old) {
		uint64_t old_version = old->version;
		protobuf_c_message_free_unpacked(&old->base, NULL);
		if (g->version < old_version) {
			r = err_set(-EPERM,
				    "GuestOS %s version %llu is older than the installed %llu",
				    g->name, (unsigned long long)g->version,
				    (unsigned long long)old_version);
			goto out;
		}
		if (g->version == old_version) {
			if (same_as_installed(d, g->name, conf, conf_len))
				r = 0; /* pushed again: nothing to do */
			else
				r = err_set(
					-EPERM,
					"GuestOS %s version %llu is installed with another config",
					g->name, (unsigned long long)old_version);
			goto out;
		}
	}
	cm_store_path(d, path, sizeof(path), "guestos/%s", g->name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		r = err_set(-errno, "mkdir %s: %s", path, strerror(errno));
		goto out;
	}
	r = install(d, g, conf, conf_len, sig, sig_len, cert, cert_len);
out:
	protobuf_c_message_free_unpacked(&g->base, NULL);
	return r;
}

int cm_guestos_list(struct cmld *d, GuestOSConfig ***ret, size_t *ret_n)
{
	char path[4096];
	GuestOSConfig **list = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *dir;

	cm_store_path(d, path, sizeof(path), "guestos");
	dir = opendir(path);
	if (!dir)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	while ((e = readdir(dir))) {
		GuestOSConfig *g, **grown;
		if (e->d_name[0] == '.' || !(g = cm_guestos_load(d, e->d_name)))
			continue;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			protobuf_c_message_free_unpacked(&g->base, NULL);
			break;
		}
		list = grown;
		list[n++] = g;
	}
	closedir(dir);
	*ret = list;
	*ret_n = n;
	return 0;
}

int cm_guestos_remove(struct cmld *d, const char *name)
{
	char path[4096];

	if (!name_ok(name))
		return err_set(-EINVAL, "'%s' is not a GuestOS name", name);
	for (struct cm_container *c = d->containers; c; c = c->next)
		if (!strcmp(c->config->guest_os, name))
			return err_set(-EBUSY, "GuestOS %s is used by container %s (%s)", name,
				       c->config->name, c->uuid);
	cm_store_path(d, path, sizeof(path), "guestos/%s", name);
	if (access(path, F_OK) < 0)
		return err_set(-ENOENT, "no GuestOS %s", name);
	return cm_rmtree(path);
}
