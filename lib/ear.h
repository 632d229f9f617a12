/* SPDX-License-Identifier: MIT */
/*
 * EAT Attestation Results (draft-fv-rats-ear, the form the veraison `ear`
 * library and Trustee read): the claims-set as JSON, AR4SI trustworthiness
 * vectors, and the claims-set signed as a JWT (ES256, JWS compact).
 */
#ifndef MEASURED_EAR_H
#define MEASURED_EAR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct json_object;

#define EAR_PROFILE "tag:github.com,2023:veraison/ear"

enum ear_tier { EAR_NONE, EAR_AFFIRMING, EAR_WARNING, EAR_CONTRAINDICATED };
extern const char *const ear_tier_name[];

/* The eight AR4SI appraisals, in the draft's order. */
enum ear_category {
	EAR_INSTANCE_IDENTITY,
	EAR_CONFIGURATION,
	EAR_EXECUTABLES,
	EAR_FILE_SYSTEM,
	EAR_HARDWARE,
	EAR_RUNTIME_OPAQUE,
	EAR_STORAGE_OPAQUE,
	EAR_SOURCED_DATA,
	EAR_CATEGORIES,
};

/* AR4SI claim values (section 2.3.4) this project reports. */
enum ear_claim {
	EAR_NO_CLAIM = 0,
	EAR_TRUSTWORTHY_INSTANCE = 2, /* also: approved config, approved files, genuine hardware */
	EAR_APPROVED = 2,
	EAR_APPROVED_BOOT = 3,	  /* executables: only the boot-time set is known good */
	EAR_WARNING_GENERIC = 32, /* unsafe config / runtime / hardware; unverified identity */
	EAR_CONTRAINDICATED_GENERIC = 96,
	EAR_UNRECOGNIZED_INSTANCE = 97,
	EAR_CRYPTO_FAILED = 99,
};

/* A trustworthiness vector: claim 0 means "no claim" and is left out of the JSON. */
struct ear_vector {
	int8_t claim[EAR_CATEGORIES];
};

enum ear_tier ear_claim_tier(int claim);
/* Sets @cat to @claim unless it already holds a claim of a worse tier (or the same tier, higher). */
void ear_vector_worsen(struct ear_vector *v, enum ear_category cat, int claim);
/* The worst tier in @v (EAR_NONE when it makes no claim). */
enum ear_tier ear_vector_tier(const struct ear_vector *v);

/* One appraised attester (an entry of "submods"). */
struct ear_appraisal {
	const char *name;
	enum ear_tier status; /* no better than ear_vector_tier(&tv) */
	struct ear_vector tv;
	const char *policy_id;	       /* ear.appraisal-policy-id, or NULL */
	const char *extension_key;     /* a namespaced key ("ear.measured.checks"), or NULL */
	struct json_object *extension; /* borrowed */
};

/*
 * The claims-set: eat_profile, iat, ear.verifier-id {build, developer},
 * eat_nonce (base64url) when @nonce_len, submods.  A new json-c object.
 */
struct json_object *ear_claims(int64_t iat, const char *build, const char *developer,
			       const uint8_t *nonce, size_t nonce_len,
			       const struct ear_appraisal *submods, size_t n_submods);

/* Checks the claims the profile requires; -EBADMSG naming the first one wrong. */
int ear_claims_check(struct json_object *claims);

/* JWS compact, ES256 with the P-256 key @key: header.payload.signature (malloc'd). */
int ear_jwt_sign(const char *claims_json, EVP_PKEY *key, char **ret);
/*
 * Verifies an ES256 JWS compact @token with the public key @key and returns
 * its payload (malloc'd, NUL-terminated); -EPERM when the signature does not
 * verify, -EBADMSG when the token is malformed.
 */
int ear_jwt_verify(const char *token, EVP_PKEY *key, char **ret_payload);

#endif
