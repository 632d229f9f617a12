/* SPDX-License-Identifier: MIT */
/*
 * The events of an Intel TXT launch as an operator can get them from a real
 * machine: a DRTM event log (binary), a TXT heap image holding one, the
 * text `txt-stat` prints, or an Intel SecL host manifest (its
 * pcr_event_log_map).  All untrusted: every field is checked and an error
 * names the line, event or offset.  Formats: docs/FORMATS.md "TXT sources".
 */
#ifndef MEASURED_TXT_EVENTS_H
#define MEASURED_TXT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

#define TXT_EVENTS_MAX 128
#define TXT_PCR_INFO   255 /* SINIT's informational events (PCR_MAPPING): extended nowhere */

enum txt_source { TXT_SRC_LOG, TXT_SRC_HEAP, TXT_SRC_TXT_STAT, TXT_SRC_SECL };

struct txt_ev {
	unsigned pcr;
	uint32_t type;	/* 0 when the source names the event only (SecL's older schema) */
	char label[48]; /* the source's name for it, or ours */
	unsigned n_digests;
	struct alg_digest digest[PCR_BANKS_MAX];
};

struct txt_events {
	enum txt_source source;
	size_t n;
	struct txt_ev ev[TXT_EVENTS_MAX];
};

/* Detects the source's kind and reads it. */
int txt_events_read(const uint8_t *buf, size_t len, const char *what, struct txt_events *ret);

int txt_events_from_log(const uint8_t *buf, size_t len, const char *what, struct txt_events *ret);
/* The "TCG Event:" blocks of txt-stat's output (lines may carry a "TBOOT: " prefix). */
int txt_events_from_txt_stat(const char *text, size_t len, const char *what,
			     struct txt_events *ret);
/*
 * pcr_event_log_map of a SecL host manifest (or of the host_manifest in a trust
 * report), in either schema: {pcr_index, event_log[{value, label}]} or
 * {pcr{index, bank}, tpm_events[{type_id, type_name, measurement}]}.  The banks'
 * lists are joined event by event where their names agree; an event one bank
 * lacks keeps only the digests it has.
 */
int txt_events_from_secl(const char *text, size_t len, const char *what, struct txt_events *ret);

/* The TXT event type named @name ("HASH_START", "EVTYPE_TXT_HASH_START"); 0 when unknown. */
uint32_t txt_event_type_by_name(const char *name);

#endif
