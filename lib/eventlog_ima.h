/* SPDX-License-Identifier: MIT */
/*
 * The Linux IMA binary measurement list as the kernel writes it: every
 * built-in template (ima, ima-ng, ima-ngv2, ima-sig, ima-sigv2, ima-buf,
 * ima-modsig, evm-sig) and custom ima_template_fmt field lists (their
 * format string is the template name), up to the kernel's 15 fields; the
 * SHA-1 list (binary_runtime_measurements) and the per-bank ones
 * (binary_runtime_measurements_sha256 ...: template hashes of that bank's
 * size).  Lengths are little-endian (x86 hosts, or ima_canonical_fmt).
 * Events point into the caller's buffer.
 */
#ifndef MEASURED_EVENTLOG_IMA_H
#define MEASURED_EVENTLOG_IMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

#define IMA_TEMPLATE_NAME_MAX 255 /* a custom template's name is its format string */
#define IMA_EVENT_NAME_PAD    256 /* the 'ima' template hashes its name padded to this */
#define IMA_MAX_FIELDS	      15  /* the kernel's IMA_TEMPLATE_NUM_FIELDS_MAX */

struct ima_field {
	const uint8_t *data;
	uint32_t len;
};

struct ima_event {
	size_t offset;
	uint32_t pcr;
	uint8_t template_hash[DIGEST_MAX]; /* as logged, in the list's template hash algorithm */
	char template_name[IMA_TEMPLATE_NAME_MAX + 1];
	const uint8_t *template_data; /* as logged (for 'ima': digest, u32 len, name) */
	uint32_t template_data_len;
	bool violation; /* logged template hash is all zeros */

	unsigned n_fields;
	struct ima_field field[IMA_MAX_FIELDS];
	/* Decoded from the fields where the template has them: */
	char digest_alg[32];	    /* "sha256" ("sha1" for 'ima'), "" when none */
	const uint8_t *file_digest; /* the measured file's digest */
	uint32_t file_digest_len;
	const char *path; /* the event name, not NUL-terminated: print with %.*s */
	uint32_t path_len;
	struct ima_field sig; /* ima-sig: signature field (may be empty) */
	struct ima_field buf; /* ima-buf: measured buffer */
};

struct ima_list {
	size_t n_events;
	struct ima_event *event;
	const struct hash_alg *template_alg; /* sha1, or the bank of a per-bank list */
};

/* A SHA-1 list (binary_runtime_measurements). */
int ima_list_parse(const uint8_t *buf, size_t len, const char *what, struct ima_list *ret);
/*
 * A list whose template hashes are @template_alg's (sha1: the classic list;
 * sha256: binary_runtime_measurements_sha256 ...).  A list of another form
 * is refused with a message naming the form it has.
 */
int ima_list_parse_as(const uint8_t *buf, size_t len, const char *what,
		      const struct hash_alg *template_alg, struct ima_list *ret);
void ima_list_free(struct ima_list *list);

/* The template hash of @ev in @alg's hash, computed from its template data. */
int ima_event_template_hash(const struct ima_event *ev, const struct hash_alg *alg, uint8_t *out);

struct ima_replay_opts {
	/* Kernels before 5.11 extended every bank with the zero-padded SHA-1 template hash. */
	bool sha1_padded;
};

/*
 * Extends events [from, n_events) into every bank of @banks (the caller picks
 * the banks; they carry the state of earlier replays).  Each non-violation
 * entry's logged template hash is recomputed and must equal the logged one;
 * every bank gets the template data's hash in its own algorithm; violations
 * extend all-ones.
 */
int ima_list_replay(const struct ima_list *list, size_t from, struct pcr_banks *banks,
		    const struct ima_replay_opts *opts);

/*
 * boot_aggregate in @pcrs's bank: H(PCR 0 || ... || PCR 7) for SHA-1, with
 * PCR 8 and 9 added for every other bank (kernel 5.8 and later).
 */
int ima_boot_aggregate(const struct pcr_bank *pcrs, uint8_t *out);

#endif
