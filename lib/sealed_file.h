/* SPDX-License-Identifier: MIT */
/*
 * The sealed-key file next to a container's config: the TPM's sealed object,
 * the PCR selection its policy covers and whether a PIN is part of it.
 * Format in docs/FORMATS.md ("Sealed key file").
 */
#ifndef MEASURED_SEALED_FILE_H
#define MEASURED_SEALED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcr.h"
#include "seal.h"

/* Version 2 adds the revocation counter; a file without one is written (and read) as 1. */
#define SEALED_FILE_VERSION 2

struct sealed_file {
	struct pcr_selection pcrs; /* what the unseal session selects */
	bool pin;		   /* the policy ends in PolicyAuthValue */
	uint8_t policy[32];	   /* the object's authPolicy, for display and checks */
	bool has_values;	   /* @values: what the PCRs were sealed to (diagnostics) */
	struct pcr_banks values;
	size_t authorizer_len; /* > 0: PolicyAuthorize by the key with this TPM name */
	uint8_t authorizer[2 + DIGEST_MAX];
	struct seal_counter counter; /* index 0: none (version 1) */
	struct sealed_object obj;
};

/* Serialises @f into a new buffer. */
int sealed_file_encode(const struct sealed_file *f, uint8_t **ret, size_t *ret_len);
/* Parses untrusted bytes; errors name the field that is wrong. */
int sealed_file_decode(const uint8_t *buf, size_t len, struct sealed_file *ret);
/* Writes @f to @path atomically (mode 0600). */
int sealed_file_save(const char *path, const struct sealed_file *f);
int sealed_file_load(const char *path, struct sealed_file *ret);

#endif
