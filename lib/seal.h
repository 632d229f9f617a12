/* SPDX-License-Identifier: MIT */
/*
 * Sealing a small secret (a LUKS passphrase) to a TPM policy: a keyedHash
 * object under a transient SRK (TCG's ECC P-256 storage template, so any TPM
 * recreates the same parent), its authPolicy computed by the caller from
 * current or predicted PCR values (policy_digest.h).  Unsealing replays the
 * policy in a session: PolicyPCR, then PolicyAuthValue when a PIN was given.
 */
#ifndef MEASURED_SEAL_H
#define MEASURED_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "pcr.h"
#include "tpm.h"

#define SEAL_SECRET_MAX 128

/* The TPM's halves of a sealed object: marshalled TPM2B_PUBLIC and TPM2B_PRIVATE. */
struct sealed_object {
	uint8_t pub[sizeof(TPM2B_PUBLIC)];
	size_t pub_len;
	uint8_t priv[sizeof(TPM2B_PRIVATE)];
	size_t priv_len;
};

/*
 * Seals @secret under @policy (a SHA-256 policy digest).  @pin, when not
 * NULL, becomes the object's authValue (the policy must then include
 * PolicyAuthValue); the object is subject to dictionary-attack lockout.
 */
int tpm_seal(struct tpm *tpm, const uint8_t *secret, size_t len, const uint8_t policy[32],
	     const char *pin, struct sealed_object *ret);

/* For objects sealed to PolicyAuthorize(signer): the signer and one signed approval. */
struct policy_signer;
struct signed_policy;
struct seal_authorization {
	const struct policy_signer *signer;   /* authorize.h */
	const struct signed_policy *approval; /* its PCRs must be the session's */
};

/*
 * Unseals @obj with a PolicyPCR session over @sel, then PolicyAuthorize when
 * @authz is given, then PolicyAuthValue and @pin when @pin is not NULL.
 * Errors: -EACCES "PCR policy does not hold", -EPERM wrong PIN, -ENOLCK the
 * TPM is in dictionary-attack lockout, -EBADMSG the TPM refused the signature.
 * The secret goes to @ret (SEAL_SECRET_MAX bytes); the caller wipes it.
 */
int tpm_unseal(struct tpm *tpm, const struct sealed_object *obj, const struct pcr_selection *sel,
	       const struct seal_authorization *authz, const char *pin, uint8_t *ret,
	       size_t *ret_len);

#endif
