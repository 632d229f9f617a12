/* SPDX-License-Identifier: MIT */
/*
 * The one verification path: evidence from attestd checked against a
 * device's enrolled AK, what was last accepted from it, and a policy (a
 * pcrpredict reference and a Keylime runtime policy).  attest verify, attest
 * check and attest serve all call verify_evidence; none has its own checks.
 */
#ifndef ATTEST_VERIFY_H
#define ATTEST_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "attest_client.h"
#include "digest.h"
#include "ear.h"
#include "explain.h"
#include "pcr.h"

enum device_identity {
	IDENTITY_UNRECORDED = 0, /* enrolled before identity was recorded */
	IDENTITY_CERTIFIED,	 /* the EK certificate chained to an EK CA */
	IDENTITY_TOFU,		 /* trusted on first use */
};

/* What a verifier keeps of one device between pieces of evidence. */
struct device_state {
	enum device_identity identity;
	char ek_issuer[256];
	/* the TPM clock of the last accepted evidence */
	bool has_clock;
	uint32_t reset, restart;
	uint64_t clock;
	/* where the verified IMA list ends, in which boot, and PCR 10 there */
	bool has_ima;
	uint32_t ima_reset;
	uint64_t ima_offset;
	unsigned n_pcr10;
	struct {
		const struct hash_alg *alg;
		uint8_t value[DIGEST_MAX];
	} pcr10[PCR_BANKS_MAX];
	uint64_t ima_violations; /* in this boot's list so far, and the first */
	char ima_violation_first[300];
};

/* What evidence is appraised against; read-only once loaded, shared by threads. */
struct verify_policy {
	char name[256];			    /* the reference's name in reasons */
	struct json_object *ref, *runtime;  /* reference document, Keylime runtime policy */
	struct pcr_banks ref_pcrs;	    /* the reference's predicted PCRs */
	struct predicted_events ref_events; /* and the events it predicts (GRUB, tboot) */
	struct pcr_selection pcrs;	    /* must be quoted, whatever was asked */
	bool has_pcrs;
	bool strict; /* IMA violations contraindicate */
	char id[96]; /* urn:measured:policy:sha256:... over all of the above */
};

/*
 * Parses and checks a reference and a runtime policy (either may be NULL)
 * given as text; the names name them in errors and reasons.  Set pcrs,
 * has_pcrs and strict before: the policy id covers them.
 */
int verify_policy_load(struct verify_policy *pol, const char *ref_name, const char *ref,
		       size_t ref_len, const char *runtime_name, const char *runtime,
		       size_t runtime_len);
/* The same from files. */
int verify_policy_load_files(struct verify_policy *pol, const char *ref_path,
			     const char *runtime_path);
void verify_policy_free(struct verify_policy *pol);
/* What to ask a device to quote: @base (or pol's pcrs) and every PCR the reference predicts. */
int verify_policy_selection(const struct verify_policy *pol, const char *base,
			    struct pcr_selection *ret);

struct verify_result {
	enum ear_tier overall;
	struct json_object *ear; /* the EAR claims-set (docs/PROTOCOL.md "Result") */
	bool state_changed;	 /* *st moved on: the caller stores it */
	char reason[300];	 /* "component: reason" of the first check with the verdict */
};

/*
 * Appraises @ev, signed by @ak, against @pol and the device's @st.  The
 * state moves on only when nothing is contraindicated.  @nonce_ours says
 * the nonce is the verifier's own (else it was read from an evidence file).
 * Fails only when nothing could be appraised; bad evidence is a verdict.
 */
int verify_evidence(const struct evidence *ev, EVP_PKEY *ak, const struct verify_policy *pol,
		    bool nonce_ours, struct device_state *st, struct verify_result *ret);
void verify_result_free(struct verify_result *r);

/* The state folder of attest (identity.json, last.json, ima.json), as attest enroll left it. */
int device_state_load(const char *dir, struct device_state *ret);
int device_state_save(const char *dir, const struct device_state *st);
/* The verification state (clock, IMA) as one JSON text, and back (attest serve's database). */
char *device_state_to_text(const struct device_state *st);
int device_state_from_text(const char *text, struct device_state *st);

#endif
