/* SPDX-License-Identifier: MIT */
/*
 * The softtoken, as trust|me has it: a PKCS#12 file per container
 * (tokens/<uuid>.p12, an EC P-256 key and its self-signed certificate),
 * protected by the user's PIN, initially "trustme".  start and stop check the
 * PIN against it; change_pin re-encrypts it.  The parent only reads and
 * writes the file: the verify process makes, opens and re-encrypts it
 * (cm_verify.h), the PINs crossing in locked pages, wiped on both sides.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmld.h"
#include "cm_store.h"
#include "cm_token.h"
#include "cm_vclient.h"
#include "err.h"
#include "fileio.h"
#include "mem.h"

#define TOKEN_MAX (1 << 16)

static int token_save(struct cmld *d, const char *uuid, uint8_t *der, size_t len)
{
	char path[4096];
	int r;

	cm_store_path(d, path, sizeof(path), "tokens/%s.p12", uuid);
	r = file_write_atomic(path, der, len, 0600);
	secret_free(der, len);
	return r;
}

int cm_token_create(struct cmld *d, const char *uuid)
{
	uint8_t *der;
	size_t len;
	int r = cm_verify_token_new(d, uuid, &der, &len);

	return r < 0 ? r : token_save(d, uuid, der, len);
}

/* The token file's bytes, and its path for messages. */
static int token_read(struct cmld *d, const char *uuid, char path[4096], uint8_t **ret,
		      size_t *ret_len)
{
	cm_store_path(d, path, 4096, "tokens/%s.p12", uuid);
	return file_read_all(path, TOKEN_MAX, ret, ret_len);
}

int cm_token_check(struct cmld *d, const char *uuid, const char *pin)
{
	char path[4096];
	_cleanup_erase_ uint8_t *der = NULL; /* the key, under the PIN */
	size_t len;
	int r = token_read(d, uuid, path, &der, &len);

	if (r < 0)
		return r;
	return cm_verify_token_check(d, path, der, len, pin ? pin : "");
}

int cm_token_change_pin(struct cmld *d, const char *uuid, const char *pin, const char *newpin)
{
	char path[4096];
	_cleanup_erase_ uint8_t *der = NULL; /* the key, under the PIN */
	uint8_t *again;
	size_t len, again_len;
	int r;

	if (!newpin || !*newpin)
		return err_set(-EINVAL, "the new PIN is empty");
	r = token_read(d, uuid, path, &der, &len);
	if (r < 0)
		return r;
	r = cm_verify_token_repin(d, path, der, len, pin ? pin : "", newpin, &again, &again_len);
	return r < 0 ? r : token_save(d, uuid, again, again_len);
}
