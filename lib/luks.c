// SPDX-License-Identifier: MIT
/* LUKS2 through libcryptsetup: see luks.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"
#include "luks.h"
#include "mem.h"

#define VOLUME_KEY_BYTES 64 /* AES-256-XTS */

/* libcryptsetup's messages go to our log (debug), not straight to stderr. */
static void luks_log(int level, const char *msg, void *arg)
{
	(void)arg;
	log_debug("libcryptsetup%s: %.*s", level == CRYPT_LOG_ERROR ? " error" : "",
		  (int)strcspn(msg, "\n"), msg);
}

static int luks_init(const char *path, struct crypt_device **ret)
{
	int r;

	crypt_set_log_callback(NULL, luks_log, NULL);
	if ((r = crypt_init(ret, path)) < 0)
		return err_set(r, "%s: %s", path, strerror(-r));
	return 0;
}

int luks_format(const char *path, const uint8_t *pass, size_t pass_len, const struct luks_kdf *kdf)
{
	struct crypt_pbkdf_type pbkdf = {
		.type = kdf && kdf->type ? kdf->type : CRYPT_KDF_ARGON2ID,
		.hash = "sha256",
	};
	struct crypt_params_luks2 params = {.sector_size = 512};
	struct crypt_device *cd = NULL;
	char *volume_key = secret_alloc(VOLUME_KEY_BYTES);
	int r;

	if (!volume_key)
		return -ENOMEM;
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
	if (RAND_bytes((unsigned char *)volume_key, VOLUME_KEY_BYTES) != 1) {
		r = err_set(-EIO, "no random bytes for the volume key");
		goto out;
	}
	if ((r = luks_init(path, &cd)) < 0)
		goto out;
	if ((r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, volume_key,
			      VOLUME_KEY_BYTES, &params)) < 0) {
		r = err_set(r, "%s: LUKS2 format: %s", path, strerror(-r));
		goto out;
	}
	r = crypt_keyslot_add_by_volume_key(cd, 0, volume_key, VOLUME_KEY_BYTES, (const char *)pass,
					    pass_len);
	r = r < 0 ? err_set(r, "%s: adding the key slot: %s", path, strerror(-r)) : 0;
out:
	secret_free(volume_key, VOLUME_KEY_BYTES);
	crypt_free(cd);
	return r;
}

static int luks_load(const char *path, struct crypt_device **ret)
{
	int r = luks_init(path, ret);

	if (r < 0)
		return r;
	if ((r = crypt_load(*ret, CRYPT_LUKS2, NULL)) < 0) {
		crypt_free(*ret);
		*ret = NULL;
		return err_set(r, "%s: not a LUKS2 volume", path);
	}
	return 0;
}

/* Opens a key slot with @pass; activates /dev/mapper/@name unless @name is NULL. */
static int activate(const char *path, const char *name, const uint8_t *pass, size_t pass_len)
{
	struct crypt_device *cd = NULL;
	int r = luks_load(path, &cd);

	if (r < 0)
		return r;
	r = crypt_activate_by_passphrase(cd, name, CRYPT_ANY_SLOT, (const char *)pass, pass_len, 0);
	crypt_free(cd);
	if (r == -EPERM)
		return err_set(-EPERM, "%s: the passphrase opens no key slot", path);
	if (name && (r == -ENOTSUP || (r < 0 && access("/dev/mapper/control", F_OK) < 0)))
		return err_set(-ENODEV,
			       "%s: activating needs device-mapper with dm-crypt, which this "
			       "kernel lacks",
			       path);
	return r < 0 ? err_set(r, "%s: activating as %s: %s", path, name ? name : "(check only)",
			       strerror(-r))
		     : 0;
}

int luks_check_passphrase(const char *path, const uint8_t *pass, size_t pass_len)
{
	return activate(path, NULL, pass, pass_len); /* no name: nothing is activated */
}

/* XTS over each 512-byte sector, the tweak being the sector number (plain64). */
static int xts_encrypt_sectors(EVP_CIPHER_CTX *ctx, uint8_t *buf, size_t len, uint64_t sector)
{
	uint8_t iv[16];
	int n;

	for (size_t off = 0; off < len; off += 512, sector++) {
		memset(iv, 0, sizeof(iv));
		for (int i = 0; i < 8; i++)
			iv[i] = (uint8_t)(sector >> (8 * i));
		if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(ctx, buf + off, &n, buf + off, 512) != 1 || n != 512)
			return err_set(-EIO, "AES-XTS failed at sector %llu",
				       (unsigned long long)sector);
	}
	return 0;
}

static int copy_encrypted(EVP_CIPHER_CTX *ctx, int in, int out, off_t data_off, off_t room)
{
	enum { CHUNK = 1 << 20 };
	uint8_t *buf = malloc(CHUNK);
	off_t pos = 0;
	int r = 0;

	if (!buf)
		return err_set(-ENOMEM, "out of memory");
	for (;;) {
		ssize_t got = pread(in, buf, CHUNK, pos);
		if (got < 0) {
			r = err_set(-errno, "reading the plain image: %s", strerror(errno));
			break;
		}
		if (got == 0)
			break;
		if (got % 512 || pos + got > room) {
			r = err_set(-EINVAL,
				    "the plain image is not a whole number of sectors or "
				    "larger than the volume's payload (%lld bytes)",
				    (long long)room);
			break;
		}
		if ((r = xts_encrypt_sectors(ctx, buf, (size_t)got, (uint64_t)pos / 512)) < 0)
			break;
		if (pwrite(out, buf, (size_t)got, data_off + pos) != got) {
			r = err_set(-EIO, "writing the payload: %s", strerror(errno));
			break;
		}
		pos += got;
	}
	free(buf);
	return r;
}

int luks_write_payload(const char *path, const uint8_t *pass, size_t pass_len, const char *plain)
{
	struct crypt_device *cd = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t vk_len = VOLUME_KEY_BYTES;
	char *vk = secret_alloc(VOLUME_KEY_BYTES);
	int in = -1, out = -1, r;
	struct stat st;
	off_t data_off;

	if (!vk)
		return -ENOMEM;
	if ((r = luks_load(path, &cd)) < 0)
		goto out;
	if (strcmp(crypt_get_cipher(cd), "aes") ||
	    strcmp(crypt_get_cipher_mode(cd), "xts-plain64") || crypt_get_sector_size(cd) != 512) {
		r = err_set(-ENOTSUP,
			    "%s: payload writes need aes-xts-plain64 with 512-byte sectors", path);
		goto out;
	}
	r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, vk, &vk_len, (const char *)pass, pass_len);
	if (r < 0) {
		r = err_set(r, "%s: %s", path,
			    r == -EPERM ? "the passphrase opens no key slot" : strerror(-r));
		goto out;
	}
	data_off = (off_t)crypt_get_data_offset(cd) * 512;
	in = open(plain, O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CLOEXEC);
	if (in < 0 || out < 0 || fstat(out, &st) < 0) {
		r = err_set(-errno, "%s: %s", in < 0 ? plain : path, strerror(errno));
		goto out;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || vk_len != VOLUME_KEY_BYTES ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_xts(), NULL, (const uint8_t *)vk, NULL) != 1) {
		r = err_set(-EIO, "AES-XTS setup failed");
		goto out;
	}
	if ((r = copy_encrypted(ctx, in, out, data_off, st.st_size - data_off)) == 0 &&
	    fsync(out) < 0)
		r = err_set(-errno, "%s: fsync: %s", path, strerror(errno));
out:
	EVP_CIPHER_CTX_free(ctx); /* clears the expanded key */
	secret_free(vk, VOLUME_KEY_BYTES);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	crypt_free(cd);
	return r;
}

int luks_open(const char *path, const char *name, const uint8_t *pass, size_t pass_len)
{
	return activate(path, name, pass, pass_len);
}

int luks_close(const char *name)
{
	struct crypt_device *cd = NULL;
	int r = crypt_init_by_name(&cd, name);

	if (r == -ENODEV || r == -ENOENT)
		return 0;
	if (r < 0)
		return err_set(r, "%s: %s", name, strerror(-r));
	/* the last mount of a dead namespace may still be letting go */
	for (int i = 0; i < 50 && (r = crypt_deactivate(cd, name)) == -EBUSY; i++)
		usleep(20 * 1000);
	if (r == -EBUSY)
		r = crypt_deactivate_by_name(cd, name, CRYPT_DEACTIVATE_DEFERRED);
	crypt_free(cd);
	return r < 0 && r != -ENODEV ? err_set(r, "closing %s: %s", name, strerror(-r)) : 0;
}
