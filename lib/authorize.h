/* SPDX-License-Identifier: MIT */
/*
 * Vendor-signed PCR policies (TPM2_PolicyAuthorize).  A secret sealed to
 * PolicyAuthorize(signer) opens on any PCR values the signer approved: the
 * vendor signs the PolicyPCR digest of each new release's predicted PCRs,
 * and devices unlock after an update without re-sealing.  The signer is an
 * ECC P-256 key; the TPM verifies the signature itself (VerifySignature,
 * then PolicyAuthorize with the ticket).  File format: docs/FORMATS.md.
 */
#ifndef MEASURED_AUTHORIZE_H
#define MEASURED_AUTHORIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "pcr.h"

#define SIGNED_POLICY_VERSION 1

struct policy_signer {
	TPM2B_PUBLIC pub;	  /* the public key as the TPM loads it */
	uint8_t name[2 + 32];	  /* its TPM name: sha256 nameAlg || H(TPMT_PUBLIC) */
	struct evp_pkey_st *pkey; /* OpenSSL's view (private when loaded from one) */
};

/* One approval: these PCR values (a PolicyPCR digest) may open the signer's secrets. */
struct signed_policy {
	struct pcr_selection pcrs;
	struct pcr_banks values;
	uint8_t approved[32];	      /* PolicyPCR(pcrs, values), SHA-256 */
	uint8_t sig_r[32], sig_s[32]; /* ECDSA over SHA-256(approved || empty policyRef) */
};

/* Loads an ECC P-256 key from PEM (public or private). */
int policy_signer_load(const char *path, struct policy_signer *ret);
void policy_signer_free(struct policy_signer *s);

/* aHash, what the signature covers: SHA-256(approved || policyRef), policyRef empty. */
int signed_policy_approval_hash(const struct signed_policy *sp, uint8_t out[32]);
/* Computes @sp->approved from its selection and values, and signs it (private key). */
int signed_policy_sign(const struct policy_signer *key, struct signed_policy *sp);
/* Checks in software what the TPM will: approved = PolicyPCR(values), and the signature. */
int signed_policy_verify(const struct policy_signer *key, const struct signed_policy *sp);
/* JSON text (NUL-terminated, caller frees); parsing takes untrusted bytes. */
int signed_policy_to_json(const struct signed_policy *sp, char **ret);
int signed_policy_from_json(const char *text, size_t len, struct signed_policy *ret);
int signed_policy_load(const char *path, struct signed_policy *ret);

#endif
