/* SPDX-License-Identifier: MIT */
/*
 * systemd .pcrlock files (systemd.pcrlock(5)): the predicted, ordered
 * measurements of one boot component as CEL-JSON records,
 * {"records":[{"pcr":N,"digests":[{"hashAlg":"sha256","digest":"hex"},...]},...]},
 * so that systemd-pcrlock can consume pcrpredict's predictions.
 */
#ifndef MEASURED_PCRLOCK_H
#define MEASURED_PCRLOCK_H

#include <stddef.h>

#include "digest.h"

struct pcrlock_record {
	unsigned pcr;
	unsigned n;
	struct alg_digest digest[8];
};

/* Writes @n records to @path (atomically). */
int pcrlock_write(const char *path, const struct pcrlock_record *rec, size_t n);

#endif
