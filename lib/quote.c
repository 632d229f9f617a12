// SPDX-License-Identifier: MIT
/* Quote parsing, signature and PCR digest checks, tpm2-tools export. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "mem.h"
#include "quote.h"
#include "reader.h"
#include "tpm.h"

static int read_tpm2b(struct reader *r, const char *field, uint8_t *out, size_t max,
		      size_t *ret_len)
{
	uint16_t n;
	int rc = reader_be16(r, field, &n);

	if (rc < 0)
		return rc;
	if (n > max)
		return reader_fail(r, r->off - 2, "%s of %u bytes (at most %zu)", field, n, max);
	*ret_len = n;
	return reader_copy(r, field, n, out);
}

/* TPMS_CLOCK_INFO: clock, resetCount, restartCount, safe. */
static int read_clock_info(struct reader *r, struct quote_info *q)
{
	int rc = reader_be64(r, "clock", &q->clock);

	if (rc < 0)
		return rc;
	rc = reader_be32(r, "resetCount", &q->reset_count);
	if (rc < 0)
		return rc;
	rc = reader_be32(r, "restartCount", &q->restart_count);
	if (rc < 0)
		return rc;
	return reader_u8(r, "safe", &q->safe);
}

int quote_parse(const uint8_t *attest, size_t len, struct quote_info *ret)
{
	struct quote_info q = {0};
	struct reader r;
	uint32_t count;
	int rc;

	reader_init(&r, attest, len, "TPMS_ATTEST");
	rc = reader_be32(&r, "magic", &q.magic);
	if (rc < 0)
		return rc;
	rc = reader_be16(&r, "type", &q.type);
	if (rc < 0)
		return rc;
	if (q.magic != TPM_GENERATED_VALUE)
		return reader_fail(&r, 0, "magic 0x%08x is not TPM_GENERATED_VALUE", q.magic);
	if (q.type != TPM_ST_ATTEST_QUOTE)
		return reader_fail(&r, 4, "type 0x%04x is not a quote", q.type);
	rc = read_tpm2b(&r, "qualifiedSigner", q.signer, sizeof(q.signer), &q.signer_len);
	if (rc < 0)
		return rc;
	rc = read_tpm2b(&r, "extraData", q.extra, sizeof(q.extra), &q.extra_len);
	if (rc < 0)
		return rc;
	rc = read_clock_info(&r, &q);
	if (rc < 0)
		return rc;
	rc = reader_be64(&r, "firmwareVersion", &q.firmware);
	if (rc < 0)
		return rc;
	rc = reader_be32(&r, "pcrSelect count", &count);
	if (rc < 0)
		return rc;
	if (count == 0 || count > PCR_BANKS_MAX)
		return reader_fail(&r, r.off - 4, "%u PCR banks selected", count);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg;
		uint8_t size, bits[4] = {0};

		rc = reader_be16(&r, "pcrSelect hash", &alg);
		if (rc < 0)
			return rc;
		rc = reader_u8(&r, "sizeofSelect", &size);
		if (rc < 0)
			return rc;
		if (size > 4)
			return reader_fail(&r, r.off - 1, "sizeofSelect %u", size);
		rc = reader_copy(&r, "pcrSelect", size, bits);
		if (rc < 0)
			return rc;
		q.sel.bank[i].alg = hash_alg_by_id(alg);
		if (!q.sel.bank[i].alg)
			return reader_fail(&r, r.off - size - 3, "unknown PCR bank 0x%04x", alg);
		q.sel.bank[i].mask = (bits[0] | bits[1] << 8 | (uint32_t)bits[2] << 16) &
				     ((1u << PCR_COUNT) - 1);
	}
	q.sel.count = count;
	rc = read_tpm2b(&r, "pcrDigest", q.pcr_digest, sizeof(q.pcr_digest), &q.pcr_digest_len);
	if (rc < 0)
		return rc;
	if (reader_left(&r))
		return reader_fail(&r, r.off, "%zu bytes after the quote", reader_left(&r));
	*ret = q;
	return 0;
}

int quote_pcr_digest_matches(const struct quote_info *q, const struct pcr_selection *sel,
			     const struct pcr_banks *values)
{
	const struct hash_alg *sha256 = hash_alg_by_id(TPM_ALG_SHA256);
	uint8_t digest[DIGEST_MAX];
	int rc;

	if (q->sel.count != sel->count)
		return err_set(-EBADMSG, "the quote selects %u banks, %u were asked for",
			       q->sel.count, sel->count);
	for (unsigned b = 0; b < sel->count; b++)
		if (q->sel.bank[b].alg != sel->bank[b].alg ||
		    q->sel.bank[b].mask != sel->bank[b].mask)
			return err_set(-EBADMSG,
				       "the quote's PCR selection is not the one asked for");
	rc = pcr_values_digest(sha256, sel, values, digest);
	if (rc < 0)
		return err_set(-EBADMSG, "%s", err_msg());
	if (q->pcr_digest_len != sha256->size || memcmp(digest, q->pcr_digest, sha256->size) != 0)
		return err_set(-EBADMSG, "pcrDigest does not match the PCR values");
	return 0;
}

static int ecc_pkey(const TPMT_PUBLIC *p, EVP_PKEY **ret)
{
	const char *group = p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256   ? "prime256v1"
			    : p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P384 ? "secp384r1"
										    : NULL;
	uint8_t point[1 + 2 * 66];
	size_t n = p->unique.ecc.x.size;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	int rc = -EINVAL;

	if (!group || n == 0 || n > 66 || p->unique.ecc.y.size != n) {
		rc = err_set(-EINVAL, "unsupported ECC key (curve 0x%04x)",
			     p->parameters.eccDetail.curveID);
		goto out;
	}
	point[0] = 0x04;
	memcpy(point + 1, p->unique.ecc.x.buffer, n);
	memcpy(point + 1 + n, p->unique.ecc.y.buffer, n);
	if (!bld || !ctx ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * n) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		rc = err_set(-EINVAL, "OpenSSL refused the ECC public key");
	else
		rc = 0;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int rsa_pkey(const TPMT_PUBLIC *p, EVP_PKEY **ret)
{
	uint32_t e = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
	BIGNUM *ebn = BN_new();
	int rc = 0;

	if (!bld || !ctx || !n || !ebn || !BN_set_word(ebn, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ebn) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		rc = err_set(-EINVAL, "OpenSSL refused the RSA public key");
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(ebn);
	return rc;
}

int tpm_public_to_pkey(const uint8_t *pub, size_t len, EVP_PKEY **ret)
{
	TPM2B_PUBLIC p = {0};
	size_t off = 0;
	TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &p);

	if (rc != TSS2_RC_SUCCESS || off != len)
		return err_set(-EBADMSG, "not a TPM2B_PUBLIC (%zu bytes)", len);
	if (p.publicArea.type == TPM2_ALG_ECC)
		return ecc_pkey(&p.publicArea, ret);
	if (p.publicArea.type == TPM2_ALG_RSA)
		return rsa_pkey(&p.publicArea, ret);
	return err_set(-EINVAL, "key type 0x%04x is neither ECC nor RSA", p.publicArea.type);
}

int pkey_to_pem(EVP_PKEY *key, char **ret)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy;
	long n;

	if (!bio || PEM_write_bio_PUBKEY(bio, key) != 1) {
		BIO_free(bio);
		return err_set(-ENOMEM, "cannot write the public key as PEM");
	}
	n = BIO_get_mem_data(bio, &data);
	copy = strndup(data, (size_t)n);
	BIO_free(bio);
	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	*ret = copy;
	return 0;
}

int pkey_from_pem(const char *pem, size_t len, EVP_PKEY **ret)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (!key)
		return err_set(-EINVAL, "not a PEM public key");
	*ret = key;
	return 0;
}

/* TPMT_SIGNATURE -> the DER (ECDSA) or raw (RSASSA) signature OpenSSL checks. */
static int signature_bytes(const uint8_t *sig, size_t len, uint16_t *ret_hash, uint8_t **ret,
			   size_t *ret_len, bool *ret_ecdsa)
{
	TPMT_SIGNATURE s = {0};
	size_t off = 0;
	TSS2_RC trc = Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, len, &off, &s);

	if (trc != TSS2_RC_SUCCESS || off != len)
		return err_set(-EBADMSG, "signature: not a TPMT_SIGNATURE (%zu bytes)", len);
	if (s.sigAlg == TPM2_ALG_ECDSA) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(s.signature.ecdsa.signatureR.buffer,
				      s.signature.ecdsa.signatureR.size, NULL);
		BIGNUM *ss = BN_bin2bn(s.signature.ecdsa.signatureS.buffer,
				       s.signature.ecdsa.signatureS.size, NULL);
		unsigned char *der = NULL;
		int n;

		if (!es || !r || !ss || ECDSA_SIG_set0(es, r, ss) != 1) {
			ECDSA_SIG_free(es);
			BN_free(r);
			BN_free(ss);
			return err_set(-ENOMEM, "out of memory");
		}
		n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (n <= 0)
			return err_set(-EBADMSG, "signature: bad ECDSA values");
		*ret = der;
		*ret_len = (size_t)n;
		*ret_hash = s.signature.ecdsa.hash;
		*ret_ecdsa = true;
		return 0;
	}
	if (s.sigAlg == TPM2_ALG_RSASSA) {
		*ret = malloc(s.signature.rsassa.sig.size ? s.signature.rsassa.sig.size : 1);
		if (!*ret)
			return err_set(-ENOMEM, "out of memory");
		memcpy(*ret, s.signature.rsassa.sig.buffer, s.signature.rsassa.sig.size);
		*ret_len = s.signature.rsassa.sig.size;
		*ret_hash = s.signature.rsassa.hash;
		*ret_ecdsa = false;
		return 0;
	}
	return err_set(-EBADMSG, "signature: algorithm 0x%04x not supported", s.sigAlg);
}

int quote_verify_signature(const uint8_t *attest, size_t attest_len, const uint8_t *sig,
			   size_t sig_len, EVP_PKEY *key)
{
	const struct hash_alg *alg;
	EVP_MD_CTX *ctx = NULL;
	EVP_MD *md = NULL;
	uint8_t *raw = NULL;
	size_t raw_len;
	uint16_t hash;
	bool ecdsa;
	int rc = signature_bytes(sig, sig_len, &hash, &raw, &raw_len, &ecdsa);

	if (rc < 0)
		return rc;
	alg = hash_alg_by_id(hash);
	if (!alg) {
		rc = err_set(-EBADMSG, "signature: hash 0x%04x not supported", hash);
		goto out;
	}
	(void)ecdsa;
	ctx = EVP_MD_CTX_new();
	md = EVP_MD_fetch(NULL, alg->evp, NULL);
	if (!ctx || !md || EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1) {
		rc = err_set(-EINVAL, "the AK cannot check a %s signature", alg->name);
		goto out;
	}
	if (EVP_DigestVerify(ctx, raw, raw_len, attest, attest_len) != 1)
		rc = err_set(-EBADMSG, "the quote's signature does not verify with this AK");
out:
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	OPENSSL_free(raw);
	return rc;
}

static int export_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return file_write_atomic(path, data, len, 0644);
}

int quote_export(const char *dir, const uint8_t *attest, size_t attest_len, const uint8_t *sig,
		 size_t sig_len, const struct pcr_selection *sel, const struct pcr_banks *values,
		 const uint8_t *nonce, size_t nonce_len)
{
	/* tpm2-tools "serialized": TPML_PCR_SELECTION, u32 count, count TPML_DIGESTs, as in memory */
	TPML_PCR_SELECTION tsel;
	TPML_DIGEST digests[PCR_BANKS_MAX * PCR_COUNT / 8 + 1];
	uint32_t count = 0;
	_cleanup_free_ char *hex = NULL;
	_cleanup_free_ uint8_t *pcrs = NULL;
	size_t pcrs_len;
	int rc;

	memset(digests, 0, sizeof(digests));
	tpm_pcr_selection_to_tpml(sel, &tsel);
	for (unsigned b = 0; b < sel->count; b++) {
		const struct pcr_bank *bank = pcr_banks_get(values, sel->bank[b].alg);

		for (unsigned i = 0; bank && i < PCR_COUNT; i++) {
			TPML_DIGEST *d;

			if (!(sel->bank[b].mask & (1u << i)))
				continue;
			if (digests[count].count == 8)
				count++;
			d = &digests[count];
			d->digests[d->count].size = (UINT16)bank->alg->size;
			memcpy(d->digests[d->count].buffer, bank->value[i], bank->alg->size);
			d->count++;
		}
	}
	count += digests[count].count > 0;
	pcrs_len = sizeof(tsel) + sizeof(count) + count * sizeof(TPML_DIGEST);
	pcrs = malloc(pcrs_len);
	hex = malloc(2 * nonce_len + 2);
	if (!pcrs || !hex)
		return err_set(-ENOMEM, "out of memory");
	memcpy(pcrs, &tsel, sizeof(tsel));
	memcpy(pcrs + sizeof(tsel), &count, sizeof(count));
	memcpy(pcrs + sizeof(tsel) + sizeof(count), digests, count * sizeof(TPML_DIGEST));
	hex_encode(nonce, nonce_len, hex);
	strcat(hex, "\n");
	rc = export_file(dir, "quote.msg", attest, attest_len);
	if (rc < 0)
		return rc;
	rc = export_file(dir, "quote.sig", sig, sig_len);
	if (rc < 0)
		return rc;
	rc = export_file(dir, "quote.pcrs", pcrs, pcrs_len);
	if (rc < 0)
		return rc;
	return export_file(dir, "nonce.hex", hex, strlen(hex));
}
