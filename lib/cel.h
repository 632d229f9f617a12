/* SPDX-License-Identifier: MIT */
/*
 * Our userspace measurement log: TCG Canonical Event Log records in CBOR,
 * one record per top-level CBOR item, appended to a file.  See
 * docs/FORMATS.md ("CEL measurement log") for the CDDL.
 */
#ifndef MEASURED_CEL_H
#define MEASURED_CEL_H

#include <stdbool.h>
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
/*
 * The same content, written before its PCR extend (docs/FORMATS.md, "Pending
 * records"): the writer turns 65 into 64 in place (one byte) once the
 * extend happened.  Only the last record may be pending.
 */
#define CEL_CONTENT_MEASURED_PENDING 65

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
	bool pending; /* content type 65: its extend may or may not have happened */
};

struct cel_log {
	size_t n_records;
	struct cel_record *record;
	size_t len;  /* bytes of the complete records */
	size_t torn; /* bytes after them: a record cut short (cel_log_parse_tail) */
};

/* Encodes one record (recnum as given) as a CBOR item in a malloc'd buffer. */
int cel_record_encode(const struct cel_record *rec, uint8_t **ret_buf, size_t *ret_len);
/*
 * Parses a file's worth of records. Record numbers must count up from 0.
 * Errors name the byte offset of the offending record.
 */
int cel_log_parse(const uint8_t *buf, size_t len, const char *what, struct cel_log *ret);
/*
 * The same, but a last record cut short (the bytes end inside it: an append
 * that stopped half way) is left out and its size put in ret->torn; bytes
 * that are wrong are still an error.  For a log read while it may be written.
 */
int cel_log_parse_tail(const uint8_t *buf, size_t len, const char *what, struct cel_log *ret);
void cel_log_free(struct cel_log *log);
void cel_record_clear(struct cel_record *rec);

/*
 * A writer: the log open and locked (exclusive flock, held until
 * cel_writer_close), parsed, and a torn tail cut off (w->truncated says how
 * many bytes), so that appends follow the last complete record.
 */
struct cel_writer {
	int fd;
	const char *path;
	uint8_t *buf; /* the file as read */
	struct cel_log log;
	size_t last_off; /* where the last record starts */
	size_t truncated;
};
int cel_writer_open(const char *path, struct cel_writer *w);
/*
 * Appends @rec (numbered next; rec->recnum set), @pending or not, in one
 * write, fsynced.  A failed write (ENOSPC) is cut off again: the log is as
 * before.  A log whose last record is pending takes nothing more until
 * cel_writer_settle.
 */
int cel_writer_append(struct cel_writer *w, struct cel_record *rec, bool pending);
/* The pending last record: @happened makes it final in place, else it is cut off. */
int cel_writer_settle(struct cel_writer *w, bool happened);
void cel_writer_close(struct cel_writer *w);

/* Opens a writer, appends @rec as final, closes (tests, tools without a TPM). */
int cel_log_append(const char *path, struct cel_record *rec);

/*
 * Extends every digest of every final record into @banks (banks added as
 * needed); a pending last record is left out (cel_record_replay adds it).
 */
int cel_log_replay(const struct cel_log *log, struct pcr_banks *banks);
int cel_record_replay(const struct cel_record *rec, struct pcr_banks *banks);

#endif
