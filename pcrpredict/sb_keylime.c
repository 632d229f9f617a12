// SPDX-License-Identifier: MIT
/*
 * Keylime's measured-boot reference state (keylime/mba/elchecking/example.py)
 * from the same artifacts pcrpredict secureboot reads: has_secureboot, the
 * PK/KEK/db/dbx entries of the varstore, the MokList digests shim will
 * measure, the Authenticode digests of shim, GRUB and the kernel, the
 * initrd's plain digest and the kernel command line.  scrtm_and_bios (PCR
 * 0's S-CRTM version and firmware blobs) cannot come from these artifacts:
 * it is taken from a reference log of the platform, and says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "authenticode.h"
#include "digest.h"
#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "sb_keylime.h"
#include "uefi_var.h"

#define EV_EFI_PLATFORM_FIRMWARE_BLOB  0x80000008
#define EV_EFI_PLATFORM_FIRMWARE_BLOB2 0x8000000a

/* "0x" and lowercase hex, as the refstate's checks want it. */
static json_object *hex0x(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);
	json_object *o;

	if (!s)
		return NULL;
	s[0] = '0';
	s[1] = 'x';
	hex_encode(p, n, s + 2);
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* EFI_GUID in its text form (first three fields little-endian), as efivar prints it. */
static json_object *guid_text(const uint8_t *g)
{
	char s[37];

	snprintf(s, sizeof(s),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[3], g[2],
		 g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
		 g[15]);
	return json_object_new_string(s);
}

static int key_fn(const uint8_t *entry, size_t len, void *arg)
{
	json_object *key = json_object_new_object();

	json_object_object_add(key, "SignatureOwner", guid_text(entry));
	json_object_object_add(key, "SignatureData", hex0x(entry + 16, len - 16));
	json_object_array_add(arg, key);
	return 0;
}

static int keys(const struct uefi_varstore *vs, const uint8_t *guid, const char *name,
		const char *key, json_object *out)
{
	const struct uefi_var *v = uefi_var_find(vs, guid, name);
	json_object *list = json_object_new_array();
	int rc = v ? uefi_esl_foreach(v->data, v->len, NULL, key_fn, list) : 0;

	if (rc < 0) {
		json_object_put(list);
		return err_wrap(rc, "%s", name);
	}
	json_object_object_add(out, key, list);
	return 0;
}

static json_object *digests(const struct tcg_event *e)
{
	json_object *d = json_object_new_object();

	for (unsigned i = 0; i < e->n_digests; i++)
		json_object_object_add(d, e->digest[i].alg->name,
				       hex0x(e->digest[i].value, e->digest[i].alg->size));
	return d;
}

/* PCR 0's S-CRTM version and firmware blobs, as the platform's log has them. */
static int scrtm_and_bios(const struct tcg_log *log, json_object *out)
{
	json_object *one = json_object_new_object(), *fw = json_object_new_array(),
		    *list = json_object_new_array();
	bool scrtm = false;

	for (size_t i = 0; i < log->n_events; i++) {
		const struct tcg_event *e = &log->event[i];

		if (e->pcr != 0)
			continue;
		if (e->type == EV_S_CRTM_VERSION && !scrtm) {
			json_object_object_add(one, "scrtm", digests(e));
			scrtm = true;
		} else if (e->type == EV_EFI_PLATFORM_FIRMWARE_BLOB ||
			   e->type == EV_EFI_PLATFORM_FIRMWARE_BLOB2) {
			json_object_array_add(fw, digests(e));
		}
	}
	json_object_object_add(one, "platform_firmware", fw);
	json_object_array_add(list, one);
	json_object_object_add(out, "scrtm_and_bios", list);
	if (!scrtm)
		return err_set(-EBADMSG, "the platform log has no EV_S_CRTM_VERSION in PCR 0");
	return 0;
}

static int authcode(json_object *k, const char *key, const uint8_t *pe, size_t len,
		    const char *what)
{
	uint8_t d[32];
	int rc = authenticode_digest(pe, len, what, hash_alg_by_id(TPM_ALG_SHA256), d);

	if (rc == 0)
		json_object_object_add(k, key, hex0x(d, sizeof(d)));
	return rc;
}

static int kernel_entry(const struct keylime_inputs *in, json_object *out)
{
	const struct sb_inputs *sb = in->sb;
	json_object *list = json_object_new_array(), *k = json_object_new_object();
	static const char *const names[3] = {"shim_authcode_sha256", "grub_authcode_sha256",
					     "kernel_authcode_sha256"};
	uint8_t d[32];
	int rc = 0;

	json_object_array_add(list, k);
	json_object_object_add(out, "kernels", list);
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = authcode(k, names[i], sb->image[i], sb->image_len[i], sb->image_name[i]);
	if (rc == 0)
		rc = digest_buf(hash_alg_by_id(TPM_ALG_SHA256), in->initrd, in->initrd_len, d);
	if (rc == 0)
		json_object_object_add(k, "initrd_plain_sha256", hex0x(d, sizeof(d)));
	/* a regular expression for Keylime: the exact command line, quoted */
	if (rc == 0) {
		size_t n = strlen(in->cmdline);
		char *re = malloc(2 * n + 1), *w = re;

		if (!re)
			return err_set(-ENOMEM, "out of memory");
		for (const char *c = in->cmdline; *c; c++) {
			if (strchr("\\.^$|?*+()[]{}", *c))
				*w++ = '\\';
			*w++ = *c;
		}
		*w = '\0';
		json_object_object_add(k, "kernel_cmdline", json_object_new_string(re));
		free(re);
	}
	return rc;
}

/* shim's MokList events (PCR 14 EV_IPL) as their sha256 digests. */
static int mok_digests(const struct sb_prediction *p, json_object *out)
{
	json_object *mok = json_object_new_array(), *mokx = json_object_new_array();
	int rc = 0;

	for (size_t i = 0; i < p->n && rc == 0; i++) {
		const struct sb_event *e = &p->event[i];
		uint8_t d[32];
		json_object *one;

		if (e->pcr != 14)
			continue;
		rc = digest_buf(hash_alg_by_id(TPM_ALG_SHA256), e->hashed, e->hashed_len, d);
		one = json_object_new_object();
		json_object_object_add(one, "sha256", hex0x(d, sizeof(d)));
		if (strcmp(e->what, "MokListX") == 0)
			json_object_array_add(mokx, one);
		else if (strcmp(e->what, "MokList") == 0)
			json_object_array_add(mok, one);
		else
			json_object_put(one);
	}
	json_object_object_add(out, "mokdig", mok);
	json_object_object_add(out, "mokxdig", mokx);
	return rc;
}

int keylime_refstate_write(const char *path, const struct keylime_inputs *in)
{
	struct uefi_varstore vs = {0};
	json_object *out = json_object_new_object();
	int rc;

	if (!in->sb->image[2] || !in->initrd || !in->cmdline || !in->platform) {
		json_object_put(out);
		return err_set(-EINVAL, "--keylime needs --shim, --grub, --kernel, --initrd, "
					"--cmdline and --platform-log (PCR 0's firmware blobs come "
					"from the platform)");
	}
	json_object_object_add(out, "has_secureboot", json_object_new_boolean(in->p->secure_boot));
	rc = uefi_varstore_read(in->sb->vars, in->sb->vars_len, in->sb->vars_name, &vs);
	if (rc == 0)
		rc = scrtm_and_bios(in->platform, out);
	if (rc == 0)
		rc = keys(&vs, EFI_GLOBAL_VARIABLE_GUID, "PK", "pk", out);
	if (rc == 0)
		rc = keys(&vs, EFI_GLOBAL_VARIABLE_GUID, "KEK", "kek", out);
	if (rc == 0)
		rc = keys(&vs, EFI_IMAGE_SECURITY_DATABASE_GUID, "db", "db", out);
	if (rc == 0)
		rc = keys(&vs, EFI_IMAGE_SECURITY_DATABASE_GUID, "dbx", "dbx", out);
	if (rc == 0)
		rc = mok_digests(in->p, out);
	if (rc == 0)
		rc = kernel_entry(in, out);
	if (rc == 0) {
		const char *text = json_object_to_json_string_ext(
			out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		size_t n = strlen(text);
		char *with_nl = malloc(n + 2);

		if (!with_nl) {
			rc = err_set(-ENOMEM, "out of memory");
		} else {
			memcpy(with_nl, text, n);
			with_nl[n] = '\n';
			rc = file_write_atomic(path, with_nl, n + 1, 0644);
			free(with_nl);
		}
	}
	uefi_varstore_free(&vs);
	json_object_put(out);
	return rc;
}
