/* SPDX-License-Identifier: MIT */
/* cm_store: the data folder: its layout, container configs on disk, CA registration, recovery. */
#ifndef CM_STORE_H
#define CM_STORE_H

#include "cmld.h"

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

#endif
