// SPDX-License-Identifier: MIT
/* Software TPM2_MakeCredential for an ECC EK: ECDH, KDFe, KDFa, AES-128-CFB, HMAC. */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "credential.h"
#include "digest.h"
#include "err.h"
#include "quote.h"

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int tpm_public_name(const uint8_t *pub, size_t len, uint8_t *ret, size_t *ret_len)
{
	TPM2B_PUBLIC p = {0};
	uint8_t area[sizeof(TPMT_PUBLIC)];
	size_t off = 0, area_len = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &p) != TSS2_RC_SUCCESS || off != len)
		return err_set(-EBADMSG, "not a TPM2B_PUBLIC");
	if (p.publicArea.nameAlg != TPM2_ALG_SHA256)
		return err_set(-EINVAL, "name algorithm 0x%04x (sha256 expected)",
			       p.publicArea.nameAlg);
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&p.publicArea, area, sizeof(area), &area_len) !=
	    TSS2_RC_SUCCESS)
		return err_set(-EINVAL, "cannot marshal the public area");
	ret[0] = 0x00;
	ret[1] = 0x0b;
	*ret_len = 34;
	return digest_buf(hash_alg_by_id(TPM_ALG_SHA256), area, area_len, ret + 2);
}

int tpm_public_check_ak(const uint8_t *pub, size_t len)
{
	const TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
				 TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				 TPMA_OBJECT_SENSITIVEDATAORIGIN;
	TPM2B_PUBLIC p = {0};
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &p) != TSS2_RC_SUCCESS || off != len)
		return err_set(-EBADMSG, "the AK is not a TPM2B_PUBLIC");
	if ((p.publicArea.objectAttributes & need) != need ||
	    (p.publicArea.objectAttributes & TPMA_OBJECT_DECRYPT))
		return err_set(-EPERM,
			       "the AK is not a restricted, TPM-bound signing key "
			       "(attributes 0x%08x)",
			       p.publicArea.objectAttributes);
	return 0;
}

int kdfa_sha256(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u,
		size_t u_len, const uint8_t *v, size_t v_len, unsigned bits, uint8_t *out)
{
	uint8_t msg[4 + 32 + 70 + 70 + 4], block[32];
	size_t l = strlen(label) + 1, want = bits / 8, done = 0, n;

	if (l > 32 || u_len > 70 || v_len > 70)
		return err_set(-EINVAL, "KDFa input too long");
	for (uint32_t i = 1; done < want; i++) {
		unsigned hl = 32;

		be32(msg, i);
		n = 4;
		memcpy(msg + n, label, l), n += l; /* the label with its NUL */
		if (u_len)
			memcpy(msg + n, u, u_len), n += u_len;
		if (v_len)
			memcpy(msg + n, v, v_len), n += v_len;
		be32(msg + n, bits);
		n += 4;
		if (!HMAC(EVP_sha256(), key, (int)key_len, msg, n, block, &hl))
			return err_set(-EIO, "KDFa failed");
		memcpy(out + done, block, want - done < 32 ? want - done : 32);
		done += 32;
	}
	return 0;
}

/* KDFe (SP 800-56A concatenation KDF, one SHA-256 block: 256 bits). */
static int kdfe_sha256(const uint8_t *z, size_t z_len, const char *label, const uint8_t *u,
		       size_t u_len, const uint8_t *v, size_t v_len, uint8_t *out)
{
	uint8_t buf[4 + 66 + 16 + 66 + 66];
	size_t n = 0, l = strlen(label) + 1;

	if (z_len > 66 || u_len > 66 || v_len > 66 || l > 16)
		return err_set(-EINVAL, "KDFe input too long");
	be32(buf, 1);
	n = 4;
	memcpy(buf + n, z, z_len), n += z_len;
	memcpy(buf + n, label, l), n += l;
	memcpy(buf + n, u, u_len), n += u_len;
	memcpy(buf + n, v, v_len), n += v_len;
	return digest_buf(hash_alg_by_id(TPM_ALG_SHA256), buf, n, out);
}

/* An ephemeral P-256 key: its point (x, y) and the ECDH x-coordinate with the EK. */
static int ecdh(EVP_PKEY *ek, uint8_t *x, uint8_t *y, uint8_t *z)
{
	EVP_PKEY *eph = EVP_EC_gen("prime256v1");
	EVP_PKEY_CTX *ctx = eph ? EVP_PKEY_CTX_new(eph, NULL) : NULL;
	uint8_t point[65];
	size_t plen = 0, zlen = 32;
	int rc = 0;

	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, ek) <= 0 ||
	    EVP_PKEY_derive(ctx, z, &zlen) <= 0 || zlen != 32 ||
	    EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
					    &plen) != 1 ||
	    plen != 65)
		rc = err_set(-EIO, "ECDH with the EK failed");
	else {
		memcpy(x, point + 1, 32);
		memcpy(y, point + 33, 32);
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	return rc;
}

/* RSA-OAEP (SHA-256, label "IDENTITY" with its NUL) of the seed, as a TPM2B_ENCRYPTED_SECRET. */
static int rsa_oaep_seed(const uint8_t *ek_pub, size_t ek_len, const uint8_t *seed, uint8_t *ret,
			 size_t *ret_len)
{
	EVP_PKEY *ek = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	char *label = NULL;
	size_t out = 512;
	int rc = tpm_public_to_pkey(ek_pub, ek_len, &ek);

	if (rc < 0)
		return rc;
	label = OPENSSL_memdup("IDENTITY", 9); /* the context takes ownership */
	ctx = EVP_PKEY_CTX_new(ek, NULL);
	if (!label || !ctx || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 9) <= 0) {
		OPENSSL_free(label);
		rc = err_set(-EIO, "RSA-OAEP setup failed");
	} else if (EVP_PKEY_encrypt(ctx, ret + 2, &out, seed, 32) <= 0) {
		rc = err_set(-EIO, "RSA-OAEP encryption failed");
	} else {
		ret[0] = (uint8_t)(out >> 8);
		ret[1] = (uint8_t)out;
		*ret_len = 2 + out;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(ek);
	return rc;
}

static int aes128_cfb(const uint8_t *key, const uint8_t *in, size_t len, uint8_t *out)
{
	static const uint8_t iv[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0,
	    ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_cfb(), NULL, key, iv) == 1 &&
		 EVP_EncryptUpdate(c, out, &n, in, (int)len) == 1 &&
		 EVP_EncryptFinal_ex(c, out + n, &m) == 1;

	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : err_set(-EIO, "AES-128-CFB failed");
}

int make_credential(const uint8_t *ek_pub, size_t ek_len, const uint8_t *name, size_t name_len,
		    const uint8_t *secret, size_t secret_len, uint8_t *ret_blob,
		    size_t *ret_blob_len, uint8_t *ret_enc, size_t *ret_enc_len)
{
	TPM2B_PUBLIC p = {0};
	EVP_PKEY *ek = NULL;
	uint8_t x[32], y[32], z[32], seed[32], sym[16], hkey[32], plain[2 + 32], enc[2 + 32];
	uint8_t hmac[32];
	unsigned hlen = 32;
	size_t off = 0;
	int rc;

	if (secret_len == 0 || secret_len > 32)
		return err_set(-EINVAL, "credential of %zu bytes (1-32)", secret_len);
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(ek_pub, ek_len, &off, &p) != TSS2_RC_SUCCESS)
		return err_set(-EINVAL, "the EK is not a TPM2B_PUBLIC");
	if (p.publicArea.type == TPM2_ALG_RSA) {
		/* RSA EK: a random seed, RSA-OAEP(SHA-256, label "IDENTITY") encrypted to the EK */
		if (p.publicArea.nameAlg != TPM2_ALG_SHA256 ||
		    p.publicArea.parameters.rsaDetail.symmetric.keyBits.aes != 128)
			return err_set(-EINVAL, "only SHA-256/AES-128 RSA EKs are supported");
		if (RAND_bytes(seed, sizeof(seed)) != 1)
			return err_set(-EIO, "no randomness");
		if ((rc = rsa_oaep_seed(ek_pub, ek_len, seed, ret_enc, ret_enc_len)) < 0)
			goto out;
	} else {
		if (p.publicArea.type != TPM2_ALG_ECC ||
		    p.publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
		    p.publicArea.parameters.eccDetail.symmetric.keyBits.aes != 128)
			return err_set(-EINVAL,
				       "the EK is neither RSA 2048 nor ECC P-256 with AES-128");
		if ((rc = tpm_public_to_pkey(ek_pub, ek_len, &ek)) < 0)
			return rc;
		rc = ecdh(ek, x, y, z);
		EVP_PKEY_free(ek);
		if (rc < 0)
			return rc;
		/* seed = KDFe(Z, "IDENTITY", ephemeral x, EK x) */
		if ((rc = kdfe_sha256(z, 32, "IDENTITY", x, 32, p.publicArea.unique.ecc.x.buffer,
				      p.publicArea.unique.ecc.x.size, seed)) < 0)
			goto out;
		/* TPM2B_ENCRYPTED_SECRET: the marshalled ephemeral point */
		ret_enc[0] = 0;
		ret_enc[1] = 2 + 32 + 2 + 32;
		ret_enc[2] = 0;
		ret_enc[3] = 32;
		memcpy(ret_enc + 4, x, 32);
		ret_enc[36] = 0;
		ret_enc[37] = 32;
		memcpy(ret_enc + 38, y, 32);
		*ret_enc_len = 2 + 2 + 32 + 2 + 32;
	}
	if ((rc = kdfa_sha256(seed, 32, "STORAGE", name, name_len, NULL, 0, 128, sym)) < 0 ||
	    (rc = kdfa_sha256(seed, 32, "INTEGRITY", NULL, 0, NULL, 0, 256, hkey)) < 0)
		goto out;
	/* the credential as a TPM2B_DIGEST, encrypted */
	plain[0] = (uint8_t)(secret_len >> 8);
	plain[1] = (uint8_t)secret_len;
	memcpy(plain + 2, secret, secret_len);
	if ((rc = aes128_cfb(sym, plain, 2 + secret_len, enc)) < 0)
		goto out;
	{
		uint8_t msg[2 + 32 + 70];

		if (name_len > 70) {
			rc = err_set(-EINVAL, "name of %zu bytes", name_len);
			goto out;
		}
		memcpy(msg, enc, 2 + secret_len);
		memcpy(msg + 2 + secret_len, name, name_len);
		if (!HMAC(EVP_sha256(), hkey, 32, msg, 2 + secret_len + name_len, hmac, &hlen)) {
			rc = err_set(-EIO, "HMAC failed");
			goto out;
		}
	}
	/* TPM2B_ID_OBJECT: size, TPM2B integrityHMAC, encIdentity */
	{
		size_t body = 2 + 32 + 2 + secret_len;

		ret_blob[0] = (uint8_t)(body >> 8);
		ret_blob[1] = (uint8_t)body;
		ret_blob[2] = 0;
		ret_blob[3] = 32;
		memcpy(ret_blob + 4, hmac, 32);
		memcpy(ret_blob + 36, enc, 2 + secret_len);
		*ret_blob_len = 2 + body;
	}
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(sym, sizeof(sym));
	OPENSSL_cleanse(hkey, sizeof(hkey));
	OPENSSL_cleanse(z, sizeof(z));
	return rc;
}
