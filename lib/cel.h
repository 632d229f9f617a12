/* SPDX-License-Identifier: MIT */
/*
 * Our userspace measurement log: TCG Canonical Event Log records in CBOR,
 * one record per top-level CBOR item, appended to a file.  See
 * docs/FORMATS.md ("CEL measurement log") for the CDDL.
 */
#ifndef MEASURED_CEL_H
#define MEASURED_CEL_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

/* Top-level keys, numbered as the CEL specification's TLV types. */
#define CEL_KEY_RECNUM	 0
#define CEL_KEY_PCR	 1
#define CEL_KEY_NV_INDEX 2
#define CEL_KEY_DIGESTS	 3
/* Content types (the key under which the content is stored). */
#define CEL_CONTENT_MGT	     4
#define CEL_CONTENT_MEASURED 64 /* this project's events: {type, name, ?data} */

#define CEL_MAX_DIGESTS 8
#define CEL_TYPE_MAX	64
#define CEL_NAME_MAX	4096
#define CEL_DATA_MAX	(1u << 20)

struct cel_record {
	uint64_t recnum;
	uint32_t pcr;
	unsigned n_digests;
	struct alg_digest digest[CEL_MAX_DIGESTS];
	uint32_t content_type;	     /* CEL_CONTENT_* */
	char type[CEL_TYPE_MAX + 1]; /* measured content: what kind of thing, e.g. "rootfs" */
	char *name;		     /* what was measured, e.g. "/dev/vda" (owned) */
	uint8_t *data;		     /* optional detail (owned) */
	size_t data_len;
};

struct cel_log {
	size_t n_records;
	struct cel_record *record;
};

/* Encodes one record (recnum as given) as a CBOR item in a malloc'd buffer. */
int cel_record_encode(const struct cel_record *rec, uint8_t **ret_buf, size_t *ret_len);
/*
 * Parses a file's worth of records. Record numbers must count up from 0.
 * Errors name the byte offset of the offending record.
 */
int cel_log_parse(const uint8_t *buf, size_t len, const char *what, struct cel_log *ret);
void cel_log_free(struct cel_log *log);
void cel_record_clear(struct cel_record *rec);

/*
 * Appends @rec to the log at @path (created 0644 if absent), numbering it
 * after the records already there.  An exclusive lock keeps concurrent
 * appenders in order; the record goes out in one write and is fsynced.
 * On success rec->recnum holds the number given.
 */
int cel_log_append(const char *path, struct cel_record *rec);

/* Extends every digest of every record into @banks (banks added as needed). */
int cel_log_replay(const struct cel_log *log, struct pcr_banks *banks);

#endif
