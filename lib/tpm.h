/* SPDX-License-Identifier: MIT */
/*
 * TPM access over tpm2-tss ESAPI.  One wrapper per TPM command; a raw
 * TSS2_RC never leaves this module: failures return a negative code and
 * record "Command: decoded cause" (Tss2_RC_Decode), and tpm_last_rc() keeps
 * the raw code for callers that must tell causes apart (lockout, policy).
 */
#ifndef MEASURED_TPM_H
#define MEASURED_TPM_H

#include <stdint.h>

#include <tss2/tss2_esys.h>

#include "digest.h"
#include "pcr.h"

struct tpm;

enum tpm_open_flags {
	TPM_OPEN_STARTUP = 1 << 0, /* send TPM2_Startup(CLEAR); "already started" is fine */
};

/*
 * The TCTI configuration to use: @cli if given (--tcti), else
 * $TPM2TOOLS_TCTI, else NULL (tpm2-tss's default search).
 */
const char *tpm_tcti_resolve(const char *cli);

/* Opens the TPM behind @tcti (tpm2-tss syntax, e.g. "swtpm:host=127.0.0.1,port=2321"). */
int tpm_open(const char *tcti, unsigned flags, struct tpm **ret);
void tpm_close(struct tpm *tpm);
static inline void tpm_closep(struct tpm **tpm)
{
	tpm_close(*tpm);
}
#define _cleanup_tpm_ __attribute__((cleanup(tpm_closep)))
ESYS_CONTEXT *tpm_esys(struct tpm *tpm);

/* The TSS2_RC of the last failed call in this thread (0 when none). */
TSS2_RC tpm_last_rc(void);
/* Records @rc as the failure of @cmd; returns -EIO, or -ECONNREFUSED for a TCTI failure. */
int tpm_fail(TSS2_RC rc, const char *cmd);

int tpm_startup(struct tpm *tpm);
/* The allocated PCR banks that this library can hash, with their PCR masks. */
int tpm_pcr_banks(struct tpm *tpm, struct pcr_selection *ret);
/*
 * Reads the selected PCRs into @ret (banks in selection order; unselected
 * PCRs zero).  *ret_update_counter, if given, gets the TPM's pcrUpdateCounter
 * as of the read, so a caller can detect a change between read and quote.
 */
int tpm_pcr_read(struct tpm *tpm, const struct pcr_selection *sel, struct pcr_banks *ret,
		 uint32_t *ret_update_counter);
/* Extends PCR @pcr with one digest per bank in a single TPM2_PCR_Extend. */
int tpm_pcr_extend(struct tpm *tpm, unsigned pcr, const struct alg_digest *digests, unsigned n);

/* Marshals @sel into a TPML_PCR_SELECTION (banks in order, 3-byte select). */
void tpm_pcr_selection_to_tpml(const struct pcr_selection *sel, TPML_PCR_SELECTION *ret);

/*
 * A session salted with @salt_key (the SRK or the EK: its secret part never
 * leaves the TPM, so a bus sniffer cannot derive the session key), AES-128-CFB
 * parameter encryption, SHA-256; @attrs are the session attributes to use
 * (TPMA_SESSION_DECRYPT: the command's first parameter travels encrypted,
 * TPMA_SESSION_ENCRYPT: the response's).  The caller flushes it.
 */
int tpm_session_start(struct tpm *tpm, ESYS_TR salt_key, TPM2_SE type, TPMA_SESSION attrs,
		      ESYS_TR *ret);

/*
 * NV counters (TPM_NT_COUNTER, owner hierarchy).  tpm_nv_counter_define
 * takes the first index in [@first, @last] that is free, with @attrs (the
 * counter type bits included) and an empty authValue, and increments it once
 * so it has a value (the TPM starts it above every counter it ever deleted).
 * Errors -ENOENT: no such index (read, increment, undefine).
 */
int tpm_nv_counter_define(struct tpm *tpm, uint32_t first, uint32_t last, TPMA_NV attrs,
			  uint32_t *ret_index, uint64_t *ret_value);
int tpm_nv_counter_read(struct tpm *tpm, uint32_t index, uint64_t *ret);
/* Increments with owner authorization (the counter needs TPMA_NV_OWNERWRITE). */
int tpm_nv_counter_increment(struct tpm *tpm, uint32_t index, uint64_t *ret_value);
int tpm_nv_undefine(struct tpm *tpm, uint32_t index);
/*
 * Flushes the transient objects and loaded sessions in the TPM: what a
 * process killed between TPM2_Load (or StartAuthSession) and its flush left
 * behind, which a TPM without a resource manager (swtpm, /dev/tpm0) keeps
 * until its few slots are full.  Behind /dev/tpmrm0 it sees only this
 * connection's (none).  For a daemon that alone uses the TPM, at its start.
 */
int tpm_flush_stale(struct tpm *tpm, unsigned *ret_objects, unsigned *ret_sessions);
/* The ESYS_TR of the NV index @index (Esys_TR_Close it), or -ENOENT. */
int tpm_nv_handle(struct tpm *tpm, uint32_t index, ESYS_TR *ret);

#endif
