/* SPDX-License-Identifier: MIT */
/*
 * UEFI variables as PCR 7 records them: an OVMF / EDK2 varstore file
 * (OVMF_VARS.fd: firmware volume, authenticated variable store) read into
 * its live variables; UEFI_VARIABLE_DATA (the event data of
 * EV_EFI_VARIABLE_DRIVER_CONFIG and _AUTHORITY); EFI_SIGNATURE_LISTs.
 * Everything read is untrusted: offsets and sizes are checked.
 */
#ifndef MEASURED_UEFI_VAR_H
#define MEASURED_UEFI_VAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GUIDs in their on-disk (mixed-endian EFI_GUID) byte order. */
extern const uint8_t EFI_GLOBAL_VARIABLE_GUID[16];
extern const uint8_t EFI_IMAGE_SECURITY_DATABASE_GUID[16];
extern const uint8_t EFI_CERT_X509_GUID[16];
extern const uint8_t SHIM_LOCK_GUID[16];

struct uefi_var {
	uint8_t guid[16];
	char name[64]; /* ASCII (the store holds UTF-16LE; other names are skipped) */
	uint32_t attributes;
	const uint8_t *data; /* into the varstore buffer */
	size_t len;
};

struct uefi_varstore {
	size_t n;
	struct uefi_var *var; /* live ones only, the newest copy of each */
};

int uefi_varstore_read(const uint8_t *buf, size_t len, const char *what, struct uefi_varstore *ret);
void uefi_varstore_free(struct uefi_varstore *vs);
/* NULL when the store has no such variable. */
const struct uefi_var *uefi_var_find(const struct uefi_varstore *vs, const uint8_t guid[16],
				     const char *name);

/*
 * UEFI_VARIABLE_DATA {VariableName GUID, UINT64 UnicodeNameLength,
 * UINT64 VariableDataLength, CHAR16 name[], data[]} (malloc'd).
 */
int uefi_variable_data(const uint8_t guid[16], const char *name, const uint8_t *data, size_t len,
		       uint8_t **ret, size_t *ret_len);

/*
 * Calls @fn for each entry of the EFI_SIGNATURE_LISTs in @esl whose type is
 * @type (NULL: any): @entry is the whole EFI_SIGNATURE_DATA (owner GUID + data).  Stops
 * when @fn returns non-zero and returns that; -EBADMSG for a broken list.
 */
int uefi_esl_foreach(const uint8_t *esl, size_t len, const uint8_t type[16],
		     int (*fn)(const uint8_t *entry, size_t entry_len, void *arg), void *arg);

#endif
