/* SPDX-License-Identifier: MIT */
/*
 * LUKS2 container images through libcryptsetup: format an image with a
 * passphrase, and check a passphrase against it without activating (no
 * device-mapper needed), which is how a sealed key is proven right on a host.
 */
#ifndef MEASURED_LUKS_H
#define MEASURED_LUKS_H

#include <stddef.h>
#include <stdint.h>

struct luks_kdf {
	const char *type;    /* "argon2id" (default) or "pbkdf2" */
	uint32_t iterations; /* pbkdf2: fixed count (tests); 0 = benchmarked */
};

/* Formats @path (an existing file or device) as LUKS2, AES-XTS, key slot 0 = @pass. */
int luks_format(const char *path, const uint8_t *pass, size_t pass_len, const struct luks_kdf *kdf);
/* 0 when @pass opens a key slot of @path; -EPERM when it opens none. */
int luks_check_passphrase(const char *path, const uint8_t *pass, size_t pass_len);

/*
 * Writes @plain (a file system image) into the payload of the LUKS2 volume
 * @path, encrypted as dm-crypt would (AES-XTS, 512-byte sectors, plain64 IV):
 * a new encrypted volume gets its file system without device-mapper.
 */
int luks_write_payload(const char *path, const uint8_t *pass, size_t pass_len, const char *plain);
/* Activates @path as /dev/mapper/@name; -EPERM when @pass opens no key slot. */
int luks_open(const char *path, const char *name, const uint8_t *pass, size_t pass_len);
/* Deactivates /dev/mapper/@name; a mapping that is not there is fine. */
int luks_close(const char *name);

#endif
