// SPDX-License-Identifier: MIT
/*
 * TPM sealing: see seal.h.  The SRK is created transient for each call;
 * on swtpm and real TPMs an ECC P-256 primary takes milliseconds, and no
 * persistent handle has to be managed or can be squatted.  The same SRK salts
 * the sessions that carry the secret (see seal.h): a bus sniffer sees the
 * ECDH's public half, ciphertext and HMACs.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "authorize.h"
#include "credential.h"
#include "err.h"
#include "policy_digest.h"
#include "seal.h"

/* TCG EK/SRK profile: the ECC P-256 storage root key template. */
static void srk_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_ECC;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					 TPMA_OBJECT_SENSITIVEDATAORIGIN |
					 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
					 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	t->publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	t->publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	t->publicArea.unique.ecc.x.size = 32;
	t->publicArea.unique.ecc.y.size = 32;
}

/*
 * The SRK, and its TPM name (computed here from the public part the TPM
 * returned, which is also what ESAPI salts sessions to).
 */
static int srk_create(struct tpm *tpm, ESYS_TR *ret, uint8_t *ret_name, size_t *ret_name_len)
{
	TPM2B_SENSITIVE_CREATE sensitive = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION creation_pcr = {0};
	TPM2B_PUBLIC tmpl, *pub = NULL;
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t len = 0;
	TSS2_RC rc;
	int r;

	srk_template(&tmpl);
	rc = Esys_CreatePrimary(tpm_esys(tpm), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sensitive, &tmpl, &outside, &creation_pcr, ret, &pub,
				NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_CreatePrimary (SRK)");
	r = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &len) == TSS2_RC_SUCCESS
		    ? tpm_public_name(buf, len, ret_name, ret_name_len)
		    : err_set(-EPROTO, "marshalling the SRK's public part");
	Esys_Free(pub);
	if (r < 0)
		Esys_FlushContext(tpm_esys(tpm), *ret);
	return r;
}

static int set_auth(TPM2B_AUTH *auth, const char *pin)
{
	size_t len = pin ? strlen(pin) : 0;

	if (len > sizeof(auth->buffer))
		return err_set(-EINVAL, "PIN longer than %zu bytes", sizeof(auth->buffer));
	auth->size = (UINT16)len;
	if (len)
		memcpy(auth->buffer, pin, len);
	return 0;
}

int tpm_seal(struct tpm *tpm, const uint8_t *secret, size_t len, const uint8_t policy[32],
	     const char *pin, struct sealed_object *ret)
{
	ESYS_CONTEXT *esys = tpm_esys(tpm);
	TPM2B_SENSITIVE_CREATE sensitive = {0};
	TPM2B_PUBLIC tmpl = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION creation_pcr = {0};
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	ESYS_TR srk, session = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	if (len == 0 || len > SEAL_SECRET_MAX || len > sizeof(sensitive.sensitive.data.buffer))
		return err_set(-EINVAL, "secret of %zu bytes (1..%d)", len, SEAL_SECRET_MAX);
	if ((r = set_auth(&sensitive.sensitive.userAuth, pin)) < 0)
		return r;
	sensitive.sensitive.data.size = (UINT16)len;
	memcpy(sensitive.sensitive.data.buffer, secret, len);
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	/* no userWithAuth: only the policy opens it; the PIN counts toward lockout */
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.authPolicy.size = 32;
	memcpy(tmpl.publicArea.authPolicy.buffer, policy, 32);
	if ((r = srk_create(tpm, &srk, ret->parent, &ret->parent_len)) < 0)
		goto out;
	/* the sensitive part (secret and PIN) is Create's first parameter: encrypted */
	if ((r = tpm_session_start(tpm, srk, TPM2_SE_HMAC,
				   TPMA_SESSION_DECRYPT | TPMA_SESSION_CONTINUESESSION, &session)) <
	    0) {
		Esys_FlushContext(esys, srk);
		goto out;
	}
	rc = Esys_Create(esys, srk, session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &tmpl,
			 &outside, &creation_pcr, &priv, &pub, NULL, NULL, NULL);
	Esys_FlushContext(esys, session);
	Esys_FlushContext(esys, srk);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(rc, "TPM2_Create (sealed object)");
		goto out;
	}
	ret->pub_len = ret->priv_len = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, ret->pub, sizeof(ret->pub), &ret->pub_len) ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, ret->priv, sizeof(ret->priv), &ret->priv_len))
		r = err_set(-EIO, "marshalling the sealed object");
out:
	OPENSSL_cleanse(&sensitive, sizeof(sensitive));
	Esys_Free(pub);
	Esys_Free(priv);
	return r;
}

/*
 * The ESYS_TR of @index after checking that it is a counter as
 * seal_counter_create defines them (so a changed key file cannot point
 * cmld's increments and deletions at another index).
 */
static int counter_handle(struct tpm *tpm, uint32_t index, ESYS_TR *ret)
{
	uint8_t want[NV_NAME_LEN];
	TPM2B_NAME *name = NULL;
	TSS2_RC rc;
	int r;

	if (index < SEAL_COUNTER_FIRST || index > SEAL_COUNTER_LAST)
		return err_set(-EBADMSG, "NV index 0x%08x is not a sealed-key counter", index);
	if ((r = nv_index_name(index, SEAL_COUNTER_ATTRS | TPMA_NV_WRITTEN, 8, want)) < 0 ||
	    (r = tpm_nv_handle(tpm, index, ret)) < 0)
		return r;
	if ((rc = Esys_TR_GetName(tpm_esys(tpm), *ret, &name)) != TSS2_RC_SUCCESS) {
		r = tpm_fail(rc, "NV index name");
	} else if (name->size != sizeof(want) || memcmp(name->name, want, sizeof(want))) {
		r = err_set(-EKEYREVOKED,
			    "revoked: NV index 0x%08x is not the counter this key was sealed to "
			    "(deleted and defined anew)",
			    index);
	}
	Esys_Free(name);
	if (r < 0)
		Esys_TR_Close(tpm_esys(tpm), ret);
	return r;
}

int seal_counter_create(struct tpm *tpm, struct seal_counter *ret)
{
	return tpm_nv_counter_define(tpm, SEAL_COUNTER_FIRST, SEAL_COUNTER_LAST, SEAL_COUNTER_ATTRS,
				     &ret->index, &ret->value);
}

int seal_counter_advance(struct tpm *tpm, struct seal_counter *c)
{
	ESYS_TR nv;
	int r = counter_handle(tpm, c->index, &nv);

	if (r < 0)
		return r;
	Esys_TR_Close(tpm_esys(tpm), &nv);
	return tpm_nv_counter_increment(tpm, c->index, &c->value);
}

int seal_counter_remove(struct tpm *tpm, uint32_t index)
{
	ESYS_TR nv;
	int r = counter_handle(tpm, index, &nv);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	Esys_TR_Close(tpm_esys(tpm), &nv);
	/* the step first: should the deletion fail, the old objects are dead already */
	if ((r = tpm_nv_counter_increment(tpm, index, NULL)) < 0)
		return r;
	return tpm_nv_undefine(tpm, index);
}

static void counter_operand(uint64_t value, uint8_t out[8])
{
	for (unsigned i = 0; i < 8; i++)
		out[i] = (uint8_t)(value >> (56 - 8 * i));
}

int policy_seal_counter(struct policy *p, const struct seal_counter *c)
{
	uint8_t name[NV_NAME_LEN], operand[8];
	int r = nv_index_name(c->index, SEAL_COUNTER_ATTRS | TPMA_NV_WRITTEN, 8, name);

	counter_operand(c->value, operand);
	return r < 0 ? r : policy_nv(p, name, sizeof(name), operand, 8, 0, TPM_EO_EQ);
}

/* Why PolicyNV(counter == value) failed, as the operator needs to hear it. */
/* 0 when @index is a counter as seal_counter_create makes them, else why not. */
static int counter_check(struct tpm *tpm, uint32_t index)
{
	ESYS_TR nv;
	int r = counter_handle(tpm, index, &nv);

	if (r == 0)
		Esys_TR_Close(tpm_esys(tpm), &nv);
	return r;
}

static int counter_refused(struct tpm *tpm, const struct seal_counter *c, TSS2_RC rc)
{
	uint64_t now;
	int r;

	if ((rc & 0xffff) != TPM2_RC_POLICY)
		return tpm_fail(rc, "TPM2_PolicyNV");
	if ((r = counter_check(tpm, c->index)) < 0)
		return r;
	if (tpm_nv_counter_read(tpm, c->index, &now) < 0)
		return err_wrap(-EKEYREVOKED, "revoked: NV counter 0x%08x unreadable", c->index);
	if (now > c->value)
		return err_set(-EKEYREVOKED,
			       "revoked: sealed at NV counter 0x%08x = %llu, now %llu (a later "
			       "change_pin or remove replaced this key)",
			       c->index, (unsigned long long)c->value, (unsigned long long)now);
	return err_set(-ESTALE,
		       "NV counter 0x%08x is at %llu, behind this key's %llu (a re-seal whose "
		       "counter step did not happen)",
		       c->index, (unsigned long long)now, (unsigned long long)c->value);
}

/*
 * PolicyNV: the object's revocation counter still has the value sealed to.
 * The index's name is not checked first (ESAPI's name computation costs the
 * unlock time; the policy names the counter anyway): only a refusal asks.
 */
static int policy_counter(struct tpm *tpm, ESYS_TR session, const struct seal_counter *c)
{
	ESYS_CONTEXT *esys = tpm_esys(tpm);
	TPM2B_OPERAND operand = {.size = 8};
	ESYS_TR nv;
	TSS2_RC rc;
	int r = c->index < SEAL_COUNTER_FIRST || c->index > SEAL_COUNTER_LAST
			? err_set(-EBADMSG, "NV index 0x%08x is not a sealed-key counter", c->index)
			: tpm_nv_handle(tpm, c->index, &nv);

	if (r == -ENOENT)
		return err_set(-EKEYREVOKED,
			       "revoked: NV counter 0x%08x of this key is gone (its container was "
			       "removed)",
			       c->index);
	if (r < 0)
		return r;
	counter_operand(c->value, operand.buffer);
	rc = Esys_PolicyNV(esys, nv, nv, session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			   &operand, 0, TPM2_EO_EQ);
	Esys_TR_Close(esys, &nv);
	return rc == TSS2_RC_SUCCESS ? 0 : counter_refused(tpm, c, rc);
}

/* Maps the TPM's refusal of Unseal to what an operator needs to hear. */
static int unseal_refused(TSS2_RC rc)
{
	TSS2_RC base = rc & 0xfff;

	if (base & TPM2_RC_FMT1) {
		switch (base & 0xbf) {
		case TPM2_RC_POLICY_FAIL & 0xbf:
			return err_set(-EACCES, "PCR policy does not hold");
		case TPM2_RC_AUTH_FAIL & 0xbf:
		case TPM2_RC_BAD_AUTH & 0xbf:
			return err_set(-EPERM, "wrong PIN");
		}
	}
	if ((rc & 0xffff) == TPM2_RC_LOCKOUT)
		return err_set(-ENOLCK, "the TPM is locked out (too many wrong PINs)");
	if ((rc & 0xffff) == TPM2_RC_PCR_CHANGED)
		return err_set(-EAGAIN, "a PCR changed during the policy session");
	return tpm_fail(rc, "TPM2_Unseal");
}

/*
 * The TPM checks the signer's approval of the session's current digest:
 * LoadExternal (owner hierarchy, so the ticket is not a NULL ticket),
 * VerifySignature, PolicyAuthorize with the ticket.
 */
static int policy_authorized(ESYS_CONTEXT *esys, ESYS_TR session,
			     const struct seal_authorization *a)
{
	TPM2B_PUBLIC signer = a->signer->pub;
	TPM2B_DIGEST ahash = {.size = 32}, approved = {.size = 32};
	TPM2B_NONCE ref = {0};
	TPMT_SIGNATURE sig = {.sigAlg = TPM2_ALG_ECDSA};
	TPMT_TK_VERIFIED *ticket = NULL;
	TPM2B_NAME *name = NULL;
	ESYS_TR key = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	memcpy(approved.buffer, a->approval->approved, 32);
	if ((r = signed_policy_approval_hash(a->approval, ahash.buffer)) < 0)
		return r;
	sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
	sig.signature.ecdsa.signatureR.size = 32;
	memcpy(sig.signature.ecdsa.signatureR.buffer, a->approval->sig_r, 32);
	sig.signature.ecdsa.signatureS.size = 32;
	memcpy(sig.signature.ecdsa.signatureS.buffer, a->approval->sig_s, 32);
	rc = Esys_LoadExternal(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &signer,
			       ESYS_TR_RH_OWNER, &key);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_LoadExternal (policy signer)");
	rc = Esys_VerifySignature(esys, key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ahash, &sig,
				  &ticket);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_fail(rc, "TPM2_VerifySignature");
		r = err_wrap(-EBADMSG, "the TPM refused the policy signature");
		goto out;
	}
	if ((rc = Esys_TR_GetName(esys, key, &name)) != TSS2_RC_SUCCESS) {
		r = tpm_fail(rc, "signer name");
		goto out;
	}
	rc = Esys_PolicyAuthorize(esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  &approved, &ref, name, ticket);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_fail(rc, "TPM2_PolicyAuthorize");
		r = err_wrap(-EACCES, "PCR policy does not hold (not the signed one)");
		goto out;
	}
	r = 0;
out:
	Esys_Free(ticket);
	Esys_Free(name);
	Esys_FlushContext(esys, key);
	return r;
}

int tpm_unseal(struct tpm *tpm, const struct sealed_object *obj, const struct pcr_selection *sel,
	       const struct seal_authorization *authz, const struct seal_counter *counter,
	       const char *pin, uint8_t *ret, size_t *ret_len)
{
	ESYS_CONTEXT *esys = tpm_esys(tpm);
	TPM2B_PUBLIC pub = {0};
	TPM2B_PRIVATE priv = {0};
	TPM2B_DIGEST empty = {0};
	TPML_PCR_SELECTION pcrs;
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_AUTH auth = {0};
	uint8_t srk_name[sizeof(obj->parent)];
	size_t srk_name_len = 0;
	ESYS_TR srk, key = ESYS_TR_NONE, session = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC rc;
	int r;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(obj->pub, obj->pub_len, &off, &pub) ||
	    off != obj->pub_len)
		return err_set(-EBADMSG, "sealed object: public part is not a TPM2B_PUBLIC");
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(obj->priv, obj->priv_len, &off, &priv) ||
	    off != obj->priv_len)
		return err_set(-EBADMSG, "sealed object: private part is not a TPM2B_PRIVATE");
	if ((r = srk_create(tpm, &srk, srk_name, &srk_name_len)) < 0)
		return r;
	/* the SRK sealed under, before the salt goes to it */
	if (obj->parent_len &&
	    (srk_name_len != obj->parent_len || memcmp(srk_name, obj->parent, srk_name_len))) {
		Esys_FlushContext(esys, srk);
		return err_set(-EPROTO, "the TPM's SRK is not the one this key was sealed under "
					"(another TPM, or a device on the bus answering for it)");
	}
	rc = Esys_Load(esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &key);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_FlushContext(esys, srk);
		return tpm_fail(rc, "TPM2_Load (sealed object; sealed on another TPM?)");
	}
	/*
	 * salted by the SRK; Unseal's outData comes back encrypted.  No
	 * continueSession: a successful Unseal ends the session in the TPM, which
	 * saves the unlock a FlushContext.
	 */
	r = tpm_session_start(tpm, srk, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &session);
	Esys_FlushContext(esys, srk);
	if (r < 0)
		goto out;
	tpm_pcr_selection_to_tpml(sel, &pcrs);
	/* an empty pcrDigest: the TPM takes its current values, the object's policy judges */
	rc = Esys_PolicyPCR(esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &pcrs);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(rc, "TPM2_PolicyPCR");
		goto out;
	}
	if (authz && (r = policy_authorized(esys, session, authz)) < 0)
		goto out;
	if (counter && counter->index && (r = policy_counter(tpm, session, counter)) < 0)
		goto out;
	if (pin &&
	    (rc = Esys_PolicyAuthValue(esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE))) {
		r = tpm_fail(rc, "TPM2_PolicyAuthValue");
		goto out;
	}
	if (pin) {
		if ((r = set_auth(&auth, pin)) < 0)
			goto out;
		Esys_TR_SetAuth(esys, key, &auth);
	}
	rc = Esys_Unseal(esys, key, session, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (rc != TSS2_RC_SUCCESS) {
		r = unseal_refused(rc);
		/* PolicyNV held, the policy did not: an index at that handle that is not ours? */
		if (r == -EACCES && counter && counter->index &&
		    counter_check(tpm, counter->index) == -EKEYREVOKED)
			r = -EKEYREVOKED;
		else if (r == -EACCES)
			r = unseal_refused(rc); /* its message again */
		goto out;
	}
	Esys_TR_Close(esys, &session); /* the TPM flushed it; ESAPI keeps the handle till told */
	if (out->size > SEAL_SECRET_MAX) {
		r = err_set(-EPROTO, "unsealed %u bytes", out->size);
	} else {
		memcpy(ret, out->buffer, out->size);
		*ret_len = out->size;
		r = 0;
	}
	OPENSSL_cleanse(out->buffer, out->size);
out:
	OPENSSL_cleanse(&auth, sizeof(auth));
	Esys_Free(out);
	if (session != ESYS_TR_NONE)
		Esys_FlushContext(esys, session);
	Esys_FlushContext(esys, key);
	return r;
}
