/* SPDX-License-Identifier: MIT */
/*
 * PCR 0-3 and 6 of a QEMU/OVMF boot from the firmware files, event by event,
 * each saying where it came from: the firmware volumes Tcg2Pei hashes
 * (lib/ovmf), the boot options OVMF makes for its own applications, the
 * option ROM drivers of QEMU's devices, the separators -- and from a platform
 * profile only what no file holds (docs/FORMATS.md).  One implementation for
 * `pcrpredict firmware` and `pcrpredict build` (firmware.code).
 */
#ifndef PCRPREDICT_FW_PREDICT_H
#define PCRPREDICT_FW_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ovmf.h"
#include "pcr.h"
#include "pcrpredict.h"
#include "uefi_var.h"

#define FW_FILE_MAX	  (64u << 20)
#define FW_EVENTS_MAX	  128
#define FW_ROMS_MAX	  8
#define FW_SOURCE_MAX	  320
#define FW_PROFILE_FORMAT "measured-platform-profile"
#define FW_PCRS		  ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 6))

struct json_object;

struct fw_event {
	unsigned pcr;
	uint32_t type;
	char source[FW_SOURCE_MAX];
	uint8_t *data; /* event data (owned) */
	size_t data_len;
	struct alg_digest d[PCR_BANKS_MAX]; /* in the order of the banks asked for */
};

struct fw_pred {
	size_t n;
	struct fw_event ev[FW_EVENTS_MAX];
};

struct fw_inputs {
	/* given by the caller */
	const char *code_path, *vars_path, *profile_path;
	const char *roms[FW_ROMS_MAX];
	unsigned n_roms;
	const char *nic; /* QEMU's NIC model (its efi-MODEL.rom), "none" for -nic none */
	bool quiet;	 /* making a profile: PEIFV as stored is expected to differ */
	/* read by fw_inputs_load */
	struct ovmf_code code;
	uint8_t *vars;
	size_t vars_len;
	struct uefi_varstore vs;
	bool have_vs;
	struct json_object *profile;
};

/*
 * Reads and checks OVMF_CODE, the varstore and the profile @in names
 * (-EINVAL naming file and what is wrong).  fw_inputs_free in every case.
 */
int fw_inputs_load(struct fw_inputs *in);
void fw_inputs_free(struct fw_inputs *in);

/* The events, in the order OVMF extends them, digests in @o's banks. fw_pred_free after. */
int fw_predict(struct fw_inputs *in, const struct pp_opts *o, struct fw_pred *p);
void fw_pred_free(struct fw_pred *p);
/* PCR 0-7 of @p's events from zero, one bank per bank of @o. */
int fw_replay(const struct fw_pred *p, const struct pp_opts *o, struct pcr_banks *banks);

#endif
