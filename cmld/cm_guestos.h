/* SPDX-License-Identifier: MIT */
/* cm_guestos: signed GuestOS configs and their images. */
#ifndef CM_GUESTOS_H
#define CM_GUESTOS_H

#include "cmld.h"
#include "cm_store.h"

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

#endif
