/* SPDX-License-Identifier: MIT */
/*
 * Sealing a small secret (a LUKS passphrase) to a TPM policy: a keyedHash
 * object under a transient SRK (TCG's ECC P-256 storage template, so any TPM
 * recreates the same parent), its authPolicy computed by the caller from
 * current or predicted PCR values (policy_digest.h).  Unsealing replays the
 * policy in a session: PolicyPCR [PolicyAuthorize], PolicyNV on the object's
 * revocation counter, then PolicyAuthValue when a PIN was given.
 *
 * Nothing secret crosses the TPM bus in clear: Create and Unseal run in
 * sessions salted with the SRK (an ECDH with a key whose private half stays
 * in the TPM), with AES-128-CFB parameter encryption of Create's sensitive
 * data (secret and PIN) and of Unseal's output, and the PIN only ever enters
 * an HMAC keyed with that salted session key.
 */
#ifndef MEASURED_SEAL_H
#define MEASURED_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "pcr.h"
#include "tpm.h"

#define SEAL_SECRET_MAX 128

/*
 * Revocation: each sealed object's policy names an NV counter of its own
 * (TPM_NT_COUNTER, owner hierarchy, an index in this range of the owner's part
 * of the TCG handle registry) and the value it had at sealing
 * (PolicyNV counter == value).  Advancing the counter makes every earlier
 * copy of the object useless; the TPM never lets a counter go back, and a
 * counter defined anew starts above every deleted one.
 */
#define SEAL_COUNTER_FIRST 0x013a0000u
#define SEAL_COUNTER_LAST  0x013affffu
#define SEAL_COUNTER_ATTRS                                       \
	(TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA | \
	 ((TPMA_NV)TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT))

struct seal_counter {
	uint32_t index; /* 0: none (a version-1 sealed key file: not revocable) */
	uint64_t value; /* what the policy demands */
};

/* A new counter for a new sealed object, at its first value. */
int seal_counter_create(struct tpm *tpm, struct seal_counter *ret);
/* Advances @c (revoking what was sealed to the old value); @c->value becomes the new one. */
int seal_counter_advance(struct tpm *tpm, struct seal_counter *c);
/* Advances, then deletes the counter: nothing sealed to it opens again.  Absent: 0. */
int seal_counter_remove(struct tpm *tpm, uint32_t index);

struct policy;
/* PolicyNV(@c's counter == @c->value), the counter's name computed in software. */
int policy_seal_counter(struct policy *p, const struct seal_counter *c);

/*
 * The TPM's halves of a sealed object: marshalled TPM2B_PUBLIC and
 * TPM2B_PRIVATE; and the name of the SRK it was sealed under, which unseal
 * insists on (a device on the bus that answered CreatePrimary with a key of
 * its own would otherwise receive the salt, and so the session key).
 */
struct sealed_object {
	uint8_t pub[sizeof(TPM2B_PUBLIC)];
	size_t pub_len;
	uint8_t priv[sizeof(TPM2B_PRIVATE)];
	size_t priv_len;
	uint8_t parent[2 + 64]; /* TPM name: nameAlg + digest */
	size_t parent_len;	/* 0: not recorded (version-1 key files) */
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
 * @authz is given, then PolicyNV when @counter is given (index not 0), then
 * PolicyAuthValue and @pin when @pin is not NULL.
 * Errors: -EACCES "PCR policy does not hold", -EPERM wrong PIN, -ENOLCK the
 * TPM is in dictionary-attack lockout, -EBADMSG the TPM refused the signature,
 * -EKEYREVOKED "revoked: ..." (the counter moved on or is gone), -ESTALE the
 * counter is behind the object (a re-seal whose counter step did not happen).
 * The secret goes to @ret (SEAL_SECRET_MAX bytes); the caller wipes it.
 */
int tpm_unseal(struct tpm *tpm, const struct sealed_object *obj, const struct pcr_selection *sel,
	       const struct seal_authorization *authz, const struct seal_counter *counter,
	       const char *pin, uint8_t *ret, size_t *ret_len);

#endif
