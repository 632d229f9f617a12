/* SPDX-License-Identifier: MIT */
/*
 * systemd .pcrlock files (systemd.pcrlock(5)): the predicted, ordered
 * measurements of one boot component as CEL-JSON records,
 * {"records":[{"pcr":N,"digests":[{"hashAlg":"sha256","digest":"hex"},...]},...]},
 * so that systemd-pcrlock can consume pcrpredict's predictions.
 */
#ifndef MEASURED_PCRLOCK_H
#define MEASURED_PCRLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct pcrlock_record {
	unsigned pcr;
	unsigned n;
	struct alg_digest digest[8];
};

/*
 * The well-known component a measurement of @type into @pcr belongs to, as
 * systemd-pcrlock names and orders them ("240-secureboot-policy",
 * "250-firmware-code-early", "500-separator", "600-gpt", ...; without
 * ".pcrlock"): @after_separator says whether @pcr's EV_SEPARATOR came
 * before.  NULL for a PCR or event that has no such place.
 */
const char *pcrlock_component(unsigned pcr, uint32_t type, bool after_separator);

/* Writes @n records to @path (atomically). */
int pcrlock_write(const char *path, const struct pcrlock_record *rec, size_t n);

#endif
