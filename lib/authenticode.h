/* SPDX-License-Identifier: MIT */
/*
 * The Authenticode (PE/COFF image) hash of an EFI application: what UEFI
 * firmware and shim extend into PCR 4 (EV_EFI_BOOT_SERVICES_APPLICATION)
 * for every image they load, the digest `pesign -h` prints.  The PE is
 * untrusted input: every offset and size is checked against the file.
 */
#ifndef MEASURED_AUTHENTICODE_H
#define MEASURED_AUTHENTICODE_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/* Where a PE's hashed and skipped parts lie (offsets into the file). */
struct pe_layout {
	uint16_t machine;
	uint16_t magic;		      /* 0x10b PE32, 0x20b PE32+ */
	size_t checksum_off;	      /* the 4-byte CheckSum, not hashed */
	size_t cert_dir_off;	      /* the 8-byte Certificate Table entry, not hashed */
	size_t headers_size;	      /* SizeOfHeaders */
	uint32_t cert_off, cert_size; /* the attribute certificate table, not hashed */
	unsigned n_sections;
	uint32_t sections_end; /* end of the last section's raw data */
};

/* Reads the layout of @pe (@what names it in errors). */
int pe_layout_read(const uint8_t *pe, size_t len, const char *what, struct pe_layout *ret);

/*
 * The Authenticode hash of @pe in @alg: headers without the CheckSum and
 * the Certificate Table entry, the sections in file order, then the bytes
 * after them up to the certificate table (PE/COFF spec, "Calculating the PE
 * Image Hash").  @out gets alg->size bytes.
 */
int authenticode_digest(const uint8_t *pe, size_t len, const char *what, const struct hash_alg *alg,
			uint8_t *out);

#endif
