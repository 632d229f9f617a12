// SPDX-License-Identifier: MIT
/* LUKS2 through libcryptsetup: see luks.h. */
#include <errno.h>
#include <string.h>

#include <libcryptsetup.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "err.h"
#include "luks.h"

#define VOLUME_KEY_BYTES 64 /* AES-256-XTS */

int luks_format(const char *path, const uint8_t *pass, size_t pass_len, const struct luks_kdf *kdf)
{
	struct crypt_pbkdf_type pbkdf = {
		.type = kdf && kdf->type ? kdf->type : CRYPT_KDF_ARGON2ID,
		.hash = "sha256",
	};
	struct crypt_params_luks2 params = {.sector_size = 512};
	struct crypt_device *cd = NULL;
	char volume_key[VOLUME_KEY_BYTES];
	int r;

	if (kdf && kdf->iterations) {
		pbkdf.iterations = kdf->iterations;
		pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
	} else {
		pbkdf.time_ms = 2000;
		if (strcmp(pbkdf.type, CRYPT_KDF_PBKDF2)) {
			pbkdf.max_memory_kb = 1024 * 1024;
			pbkdf.parallel_threads = 4;
		}
	}
	params.pbkdf = &pbkdf;
	if (RAND_bytes((unsigned char *)volume_key, sizeof(volume_key)) != 1)
		return err_set(-EIO, "no random bytes for the volume key");
	if ((r = crypt_init(&cd, path)) < 0) {
		r = err_set(r, "%s: %s", path, strerror(-r));
		goto out;
	}
	if ((r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, volume_key,
			      sizeof(volume_key), &params)) < 0) {
		r = err_set(r, "%s: LUKS2 format: %s", path, strerror(-r));
		goto out;
	}
	r = crypt_keyslot_add_by_volume_key(cd, 0, volume_key, sizeof(volume_key),
					    (const char *)pass, pass_len);
	r = r < 0 ? err_set(r, "%s: adding the key slot: %s", path, strerror(-r)) : 0;
out:
	OPENSSL_cleanse(volume_key, sizeof(volume_key));
	crypt_free(cd);
	return r;
}

int luks_check_passphrase(const char *path, const uint8_t *pass, size_t pass_len)
{
	struct crypt_device *cd = NULL;
	int r = crypt_init(&cd, path);

	if (r < 0)
		return err_set(r, "%s: %s", path, strerror(-r));
	if ((r = crypt_load(cd, CRYPT_LUKS2, NULL)) < 0) {
		crypt_free(cd);
		return err_set(r, "%s: not a LUKS2 volume", path);
	}
	/* no name: the key slot is opened and checked, nothing is activated */
	r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, (const char *)pass, pass_len, 0);
	crypt_free(cd);
	if (r == -EPERM)
		return err_set(-EPERM, "%s: the passphrase opens no key slot", path);
	return r < 0 ? err_set(r, "%s: %s", path, strerror(-r)) : 0;
}
