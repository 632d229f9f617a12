/* SPDX-License-Identifier: MIT */
/*
 * TCG PC Client event logs: the crypto-agile (TPM 2.0) format with its
 * Spec ID header, and the older SHA-1-only format.  Events point into the
 * caller's buffer, which must outlive the log.
 */
#ifndef MEASURED_EVENTLOG_TCG_H
#define MEASURED_EVENTLOG_TCG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

#define EV_PREBOOT_CERT			 0x00000000
#define EV_POST_CODE			 0x00000001
#define EV_NO_ACTION			 0x00000003
#define EV_SEPARATOR			 0x00000004
#define EV_ACTION			 0x00000005
#define EV_EVENT_TAG			 0x00000006
#define EV_S_CRTM_CONTENTS		 0x00000007
#define EV_S_CRTM_VERSION		 0x00000008
#define EV_IPL				 0x0000000d
#define EV_PLATFORM_CONFIG_FLAGS	 0x0000000a
#define EV_EFI_VARIABLE_DRIVER_CONFIG	 0x80000001
#define EV_EFI_VARIABLE_BOOT		 0x80000002
#define EV_EFI_BOOT_SERVICES_DRIVER	 0x80000004
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003
#define EV_EFI_GPT_EVENT		 0x80000006
#define EV_EFI_ACTION			 0x80000007
#define EV_EFI_PLATFORM_FIRMWARE_BLOB	 0x80000008
#define EV_EFI_HANDOFF_TABLES		 0x80000009
#define EV_EFI_VARIABLE_AUTHORITY	 0x800000e0
#define EV_EFI_HCRTM_EVENT		 0x80000010
#define EV_TBOOT_MEASUREMENT		 0x00000501

#define TCG_LOG_MAX_ALGS 8

struct tcg_event {
	size_t offset; /* of the event's first byte in the log */
	uint32_t pcr;
	uint32_t type;
	unsigned n_digests;
	struct alg_digest digest[TCG_LOG_MAX_ALGS];
	const uint8_t *data; /* event data, inside the log buffer */
	uint32_t data_len;
};

struct tcg_log {
	bool crypto_agile;
	unsigned n_algs; /* banks the Spec ID header announces (sha1 only for legacy logs) */
	const struct hash_alg *alg[TCG_LOG_MAX_ALGS];
	uint8_t startup_locality; /* initial last byte of PCR 0 */
	size_t n_events;
	struct tcg_event *event; /* the header event is not included */
};

/*
 * Parses a whole log. On success *ret owns an event array (free with
 * tcg_log_free). A malformed log fails with -EBADMSG and a message that
 * names the byte offset.  A log may end with zero padding (firmware logs
 * are read from a fixed-size area).
 */
int tcg_log_parse(const uint8_t *buf, size_t len, const char *what, struct tcg_log *ret);
void tcg_log_free(struct tcg_log *log);

/*
 * Replays every measured event into @banks, one bank per algorithm the log
 * carries (added if absent).  EV_NO_ACTION is never extended; the startup
 * locality seeds PCR 0.
 */
int tcg_log_replay(const struct tcg_log *log, struct pcr_banks *banks);

/* "EV_SEPARATOR", ... or NULL when unknown. */
const char *tcg_event_type_name(uint32_t type);
/* The type named @name ("EV_SEPARATOR"); -ENOENT when unknown. */
int tcg_event_type_by_name(const char *name, uint32_t *ret);

#endif
