// SPDX-License-Identifier: MIT
/* EK/AK provisioning and quotes over ESAPI. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "err.h"
#include "policy_digest.h"
#include "quote.h"
#include "tpm.h"
#include "tpm_attest.h"

/* PolicySecret(TPM_RH_ENDORSEMENT): the authPolicy of the TCG default EK templates */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
	0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
	0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/*
 * The TCG default RSA 2048 EK template (EK Credential Profile, L-1): the EK
 * most TPMs -- and swtpm_setup --create-ek-cert -- have a certificate for.
 */
static void ek_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_RSA;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes =
		TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	t->publicArea.authPolicy.size = sizeof(ek_policy);
	memcpy(t->publicArea.authPolicy.buffer, ek_policy, sizeof(ek_policy));
	t->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	t->publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	t->publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.rsaDetail.keyBits = 2048;
	t->publicArea.parameters.rsaDetail.exponent = 0;
	t->publicArea.unique.rsa.size = 256; /* zeros, as the template says */
}

static void ak_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_ECC;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes =
		TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	t->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	t->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	/* a distinct unique field keeps the AK apart from any other primary of this template */
	t->publicArea.unique.ecc.x.size = 32;
	memcpy(t->publicArea.unique.ecc.x.buffer, "measured attestation key", 24);
	t->publicArea.unique.ecc.y.size = 32;
}

/* The persistent object at @handle, or -ENOENT. */
static int persistent(struct tpm *tpm, TPM2_HANDLE handle, ESYS_TR *ret)
{
	TSS2_RC rc = Esys_TR_FromTPMPublic(tpm_esys(tpm), handle, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, ret);

	TSS2_RC base = rc & 0xffff;

	if (rc == TSS2_RC_SUCCESS)
		return 0;
	/* TPM_RC_HANDLE (format 1, any handle number): nothing persistent there */
	if ((base & TPM2_RC_FMT1) && (base & 0x3f) == (TPM2_RC_HANDLE & 0x3f))
		return -ENOENT;
	return tpm_fail(rc, "TPM2_ReadPublic");
}

static int create_persistent(struct tpm *tpm, const TPM2B_PUBLIC *tmpl, TPM2_HANDLE handle,
			     ESYS_TR *ret)
{
	ESYS_CONTEXT *esys = tpm_esys(tpm);
	TPM2B_SENSITIVE_CREATE sensitive = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION creation_pcr = {0};
	ESYS_TR obj;
	TSS2_RC rc;

	rc = Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sensitive, tmpl, &outside, &creation_pcr, &obj, NULL,
				NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_CreatePrimary");
	rc = Esys_EvictControl(esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, handle, ret);
	Esys_FlushContext(esys, obj);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_EvictControl");
	return 0;
}

static int read_public(struct tpm *tpm, ESYS_TR obj, uint8_t *pub, size_t *pub_len, uint8_t *name,
		       size_t *name_len)
{
	TPM2B_PUBLIC *out = NULL;
	TPM2B_NAME *n = NULL;
	size_t off = 0;
	TSS2_RC rc = Esys_ReadPublic(tpm_esys(tpm), obj, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				     &out, &n, NULL);

	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_ReadPublic");
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(out, pub, sizeof(TPM2B_PUBLIC), &off);
	*pub_len = off;
	if (rc == TSS2_RC_SUCCESS && name) {
		off = 0;
		rc = Tss2_MU_TPM2B_NAME_Marshal(n, name, sizeof(TPM2B_NAME), &off);
		*name_len = off;
	}
	Esys_Free(out);
	Esys_Free(n);
	return rc == TSS2_RC_SUCCESS ? 0 : tpm_fail(rc, "marshalling a public key");
}

int tpm_keys_ensure(struct tpm *tpm, bool create, struct ak_info *ret)
{
	struct ak_info info = {0};
	TPM2B_PUBLIC tmpl;
	ESYS_TR ek, ak;
	int rc;

	rc = persistent(tpm, TPM_HANDLE_EK, &ek);
	if (rc == -ENOENT && create) {
		ek_template(&tmpl);
		rc = create_persistent(tpm, &tmpl, TPM_HANDLE_EK, &ek);
	}
	if (rc < 0)
		return rc == -ENOENT ? err_set(rc, "no EK at 0x%08x (run attestd --provision)",
					       TPM_HANDLE_EK)
				     : rc;
	rc = persistent(tpm, TPM_HANDLE_AK, &ak);
	if (rc == -ENOENT && create) {
		ak_template(&tmpl);
		rc = create_persistent(tpm, &tmpl, TPM_HANDLE_AK, &ak);
	}
	if (rc < 0)
		return rc == -ENOENT ? err_set(rc, "no AK at 0x%08x (run attestd --provision)",
					       TPM_HANDLE_AK)
				     : rc;
	if ((rc = read_public(tpm, ek, info.ek_public, &info.ek_public_len, NULL, NULL)) < 0 ||
	    (rc = read_public(tpm, ak, info.ak_public, &info.ak_public_len, info.ak_name,
			      &info.ak_name_len)) < 0)
		return rc;
	*ret = info;
	return 0;
}

static int quote_once(struct tpm *tpm, ESYS_TR ak, const TPM2B_DATA *qd,
		      const struct pcr_selection *sel, struct tpm_quote *q)
{
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
	TPML_PCR_SELECTION tsel;
	TPM2B_ATTEST *attest = NULL;
	TPMT_SIGNATURE *sig = NULL;
	size_t off = 0;
	TSS2_RC rc;
	int r;

	if ((r = tpm_pcr_read(tpm, sel, &q->pcrs, NULL)) < 0)
		return r;
	tpm_pcr_selection_to_tpml(sel, &tsel);
	rc = Esys_Quote(tpm_esys(tpm), ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, qd,
			&scheme, &tsel, &attest, &sig);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_Quote");
	if (attest->size > sizeof(q->attest)) {
		r = err_set(-EPROTO, "TPM2_Quote returned %u attest bytes", attest->size);
	} else {
		memcpy(q->attest, attest->attestationData, attest->size);
		q->attest_len = attest->size;
		rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, q->sig, sizeof(q->sig), &off);
		q->sig_len = off;
		r = rc == TSS2_RC_SUCCESS ? 0 : tpm_fail(rc, "marshalling the signature");
	}
	Esys_Free(attest);
	Esys_Free(sig);
	return r;
}

int tpm_quote(struct tpm *tpm, const uint8_t *nonce, size_t nonce_len,
	      const struct pcr_selection *sel, struct tpm_quote *ret)
{
	TPM2B_DATA qd = {0};
	ESYS_TR ak;
	int rc;

	if (nonce_len > sizeof(qd.buffer))
		return err_set(-EINVAL, "nonce of %zu bytes (at most %zu)", nonce_len,
			       sizeof(qd.buffer));
	qd.size = (UINT16)nonce_len;
	memcpy(qd.buffer, nonce, nonce_len);
	if ((rc = persistent(tpm, TPM_HANDLE_AK, &ak)) < 0)
		return rc == -ENOENT ? err_set(rc, "no AK (run attestd --provision)") : rc;
	ret->sel = *sel;
	for (ret->attempts = 1; ret->attempts <= 8; ret->attempts++) {
		struct quote_info info;

		if ((rc = quote_once(tpm, ak, &qd, sel, ret)) < 0)
			return rc;
		if ((rc = quote_parse(ret->attest, ret->attest_len, &info)) < 0)
			return rc;
		if (quote_pcr_digest_matches(&info, sel, &ret->pcrs) == 0)
			return 0; /* nothing was extended between read and quote */
	}
	return err_set(-EAGAIN, "PCRs kept changing between read and quote");
}

int tpm_activate_credential(struct tpm *tpm, const uint8_t *blob, size_t blob_len,
			    const uint8_t *enc, size_t enc_len, uint8_t *ret, size_t *ret_len)
{
	ESYS_CONTEXT *esys = tpm_esys(tpm);
	TPM2B_ID_OBJECT id = {0};
	TPM2B_ENCRYPTED_SECRET secret = {0};
	TPM2B_DIGEST *cert = NULL;
	ESYS_TR ek, ak, session = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC trc;
	int rc;

	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob, blob_len, &off, &id) != TSS2_RC_SUCCESS ||
	    off != blob_len)
		return err_set(-EBADMSG, "credential blob is not a TPM2B_ID_OBJECT");
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(enc, enc_len, &off, &secret) !=
		    TSS2_RC_SUCCESS ||
	    off != enc_len)
		return err_set(-EBADMSG, "secret is not a TPM2B_ENCRYPTED_SECRET");
	if ((rc = persistent(tpm, TPM_HANDLE_EK, &ek)) < 0 ||
	    (rc = persistent(tpm, TPM_HANDLE_AK, &ak)) < 0)
		return rc == -ENOENT ? err_set(rc, "no EK/AK (run attestd --provision)") : rc;
	/*
	 * The EK's policy session, salted with the EK itself, returns the
	 * credential (certInfo) encrypted: a bus sniffer must not learn the
	 * verifier's secret and answer the challenge for another TPM's AK.
	 */
	if ((rc = tpm_session_start(tpm, ek, TPM2_SE_POLICY,
				    TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
				    &session)) < 0)
		return rc;
	trc = Esys_PolicySecret(esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	if (trc == TSS2_RC_SUCCESS)
		trc = Esys_ActivateCredential(esys, ak, ek, ESYS_TR_PASSWORD, session, ESYS_TR_NONE,
					      &id, &secret, &cert);
	if (trc != TSS2_RC_SUCCESS) {
		Esys_FlushContext(esys, session);
		return tpm_fail(trc, "TPM2_ActivateCredential");
	}
	Esys_FlushContext(esys, session);
	if (cert->size > 64) {
		Esys_Free(cert);
		return err_set(-EPROTO, "credential of %u bytes", cert->size);
	}
	memcpy(ret, cert->buffer, cert->size);
	*ret_len = cert->size;
	Esys_Free(cert);
	return 0;
}

int tpm_ek_certificate(struct tpm *tpm, uint32_t index, uint8_t **ret, size_t *ret_len)
{
	ESYS_CONTEXT *esys = tpm_esys(tpm);
	TPM2B_NV_PUBLIC *pub = NULL;
	ESYS_TR nv;
	uint8_t *cert;
	size_t size, done = 0;
	int rc = persistent(tpm, index, &nv);
	TSS2_RC trc;

	if (rc < 0)
		return rc == -ENOENT ? err_set(rc, "no EK certificate at NV 0x%08x", index) : rc;
	trc = Esys_NV_ReadPublic(esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
	if (trc != TSS2_RC_SUCCESS)
		return tpm_fail(trc, "TPM2_NV_ReadPublic");
	size = pub->nvPublic.dataSize;
	Esys_Free(pub);
	cert = malloc(size ? size : 1);
	if (!cert)
		return err_set(-ENOMEM, "out of memory");
	while (done < size) {
		TPM2B_MAX_NV_BUFFER *data = NULL;
		UINT16 chunk = (UINT16)(size - done > 512 ? 512 : size - done);

		trc = Esys_NV_Read(esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				   chunk, (UINT16)done, &data);
		if (trc != TSS2_RC_SUCCESS) {
			free(cert);
			return tpm_fail(trc, "TPM2_NV_Read");
		}
		memcpy(cert + done, data->buffer, data->size);
		done += data->size;
		Esys_Free(data);
	}
	*ret = cert;
	*ret_len = size;
	return 0;
}
