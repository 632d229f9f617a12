/* SPDX-License-Identifier: MIT */
/*
 * The Linux IMA binary measurement list (binary_runtime_measurements) with
 * the ima, ima-ng, ima-sig, ima-buf (and -ngv2/-sigv2/-modsig) templates.
 * Lengths are little-endian (x86 hosts, or ima_canonical_fmt).  Events point
 * into the caller's buffer.
 */
#ifndef MEASURED_EVENTLOG_IMA_H
#define MEASURED_EVENTLOG_IMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

#define IMA_TEMPLATE_NAME_MAX 32
#define IMA_EVENT_NAME_PAD    256 /* the 'ima' template hashes its name padded to this */
#define IMA_MAX_FIELDS	      8

struct ima_field {
	const uint8_t *data;
	uint32_t len;
};

struct ima_event {
	size_t offset;
	uint32_t pcr;
	uint8_t template_hash[20]; /* SHA-1, as logged */
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
};

int ima_list_parse(const uint8_t *buf, size_t len, const char *what, struct ima_list *ret);
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
 * entry's SHA-1 template hash is recomputed and must equal the logged one;
 * violations extend all-ones.
 */
int ima_list_replay(const struct ima_list *list, size_t from, struct pcr_banks *banks,
		    const struct ima_replay_opts *opts);

/*
 * boot_aggregate in @pcrs's bank: H(PCR 0 || ... || PCR 7) for SHA-1, with
 * PCR 8 and 9 added for every other bank (kernel 5.8 and later).
 */
int ima_boot_aggregate(const struct pcr_bank *pcrs, uint8_t *out);

#endif
