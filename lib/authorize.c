// SPDX-License-Identifier: MIT
/* Vendor-signed PCR policies: see authorize.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "authorize.h"
#include "digest.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "jsonw.h"
#include "pcr_values.h"
#include "policy_digest.h"

#define SIGNED_POLICY_MAX (1u << 20)

/* The TPMT_PUBLIC a P-256 verification key is loaded as; its hash is the key's name. */
static int signer_public(EVP_PKEY *pkey, TPM2B_PUBLIC *ret)
{
	uint8_t point[65];
	size_t len = 0;
	TPMT_PUBLIC *t = &ret->publicArea;

	if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
					     sizeof(point), &len) ||
	    len != 65 || point[0] != 0x04)
		return err_set(-EINVAL, "not an uncompressed P-256 public key");
	memset(ret, 0, sizeof(*ret));
	t->type = TPM2_ALG_ECC;
	t->nameAlg = TPM2_ALG_SHA256;
	t->objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
	t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	t->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	t->unique.ecc.x.size = 32;
	memcpy(t->unique.ecc.x.buffer, point + 1, 32);
	t->unique.ecc.y.size = 32;
	memcpy(t->unique.ecc.y.buffer, point + 33, 32);
	return 0;
}

static int signer_name(const TPM2B_PUBLIC *pub, uint8_t name[34])
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off))
		return err_set(-EIO, "marshalling the signer's public area");
	name[0] = TPM2_ALG_SHA256 >> 8;
	name[1] = TPM2_ALG_SHA256 & 0xff;
	return digest_buf(hash_alg_by_id(TPM2_ALG_SHA256), buf, off, name + 2);
}

int policy_signer_load(const char *path, struct policy_signer *ret)
{
	char group[32] = "";
	FILE *f = fopen(path, "r");
	EVP_PKEY *pkey;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!f)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!pkey) {
		rewind(f);
		pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!pkey)
		return err_set(-EINVAL, "%s: not a PEM private or public key", path);
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL) ||
	    strcmp(group, "prime256v1")) {
		EVP_PKEY_free(pkey);
		return err_set(-EINVAL, "%s: the policy signer must be an ECC P-256 key", path);
	}
	if ((r = signer_public(pkey, &ret->pub)) < 0 ||
	    (r = signer_name(&ret->pub, ret->name)) < 0) {
		EVP_PKEY_free(pkey);
		return err_wrap(r, "%s", path);
	}
	ret->pkey = pkey;
	return 0;
}

void policy_signer_free(struct policy_signer *s)
{
	EVP_PKEY_free(s->pkey);
	s->pkey = NULL;
}

int signed_policy_approval_hash(const struct signed_policy *sp, uint8_t out[32])
{
	return digest_buf(hash_alg_by_id(TPM2_ALG_SHA256), sp->approved, 32, out);
}

static int approved_digest(const struct signed_policy *sp, uint8_t out[32])
{
	struct policy pol;
	int r;

	policy_init(&pol, hash_alg_by_id(TPM2_ALG_SHA256));
	if ((r = policy_pcr(&pol, &sp->pcrs, &sp->values)) < 0)
		return r;
	memcpy(out, pol.digest, 32);
	return 0;
}

int signed_policy_sign(const struct policy_signer *key, struct signed_policy *sp)
{
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *sig = NULL;
	uint8_t ahash[32], der[80];
	const uint8_t *p = der;
	size_t der_len = sizeof(der);
	const BIGNUM *r_bn, *s_bn;
	int r;

	if ((r = approved_digest(sp, sp->approved)) < 0 ||
	    (r = signed_policy_approval_hash(sp, ahash)) < 0)
		return r;
	ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
	if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_sign(ctx, der, &der_len, ahash, sizeof(ahash)) <= 0 ||
	    !(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len))) {
		r = err_set(-EINVAL, "signing the policy failed (is the signer a private key?)");
		goto out;
	}
	ECDSA_SIG_get0(sig, &r_bn, &s_bn);
	if (BN_bn2binpad(r_bn, sp->sig_r, 32) != 32 || BN_bn2binpad(s_bn, sp->sig_s, 32) != 32)
		r = err_set(-EIO, "ECDSA signature does not fit P-256");
	else
		r = 0;
out:
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int signed_policy_verify(const struct policy_signer *key, const struct signed_policy *sp)
{
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r_bn = BN_bin2bn(sp->sig_r, 32, NULL), *s_bn = BN_bin2bn(sp->sig_s, 32, NULL);
	uint8_t approved[32], ahash[32], *der = NULL;
	int der_len, r;

	if ((r = approved_digest(sp, approved)) < 0 ||
	    (r = signed_policy_approval_hash(sp, ahash)) < 0)
		goto out;
	if (memcmp(approved, sp->approved, 32)) {
		r = err_set(-EBADMSG, "signed policy: its digest is not PolicyPCR of its values");
		goto out;
	}
	if (!sig || !r_bn || !s_bn || !ECDSA_SIG_set0(sig, r_bn, s_bn)) {
		r = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	r_bn = s_bn = NULL; /* owned by sig now */
	der_len = i2d_ECDSA_SIG(sig, &der);
	ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
	if (der_len <= 0 || !ctx || EVP_PKEY_verify_init(ctx) <= 0 ||
	    EVP_PKEY_verify(ctx, der, (size_t)der_len, ahash, sizeof(ahash)) != 1)
		r = err_set(-EBADMSG,
			    "signed policy: the signature does not verify with the signer's "
			    "key");
	else
		r = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	ECDSA_SIG_free(sig);
	BN_free(r_bn);
	BN_free(s_bn);
	return r;
}

int signed_policy_to_json(const struct signed_policy *sp, char **ret)
{
	char sel[256];
	size_t size = 0;
	FILE *f;
	struct jw j;
	int r;

	if ((r = pcr_selection_format(&sp->pcrs, sel, sizeof(sel))) < 0)
		return r;
	if (!(f = open_memstream(ret, &size)))
		return err_set(-ENOMEM, "out of memory");
	jw_init(&j, f);
	jw_object_begin(&j);
	jw_key(&j, "version");
	jw_uint(&j, SIGNED_POLICY_VERSION);
	jw_key(&j, "selection");
	jw_string(&j, sel);
	jw_key(&j, "policy");
	jw_hex(&j, sp->approved, 32);
	jw_key(&j, "signature");
	jw_object_begin(&j);
	jw_key(&j, "alg");
	jw_string(&j, "ecdsa-p256-sha256");
	jw_key(&j, "r");
	jw_hex(&j, sp->sig_r, 32);
	jw_key(&j, "s");
	jw_hex(&j, sp->sig_s, 32);
	jw_object_end(&j);
	jw_key(&j, "pcrs");
	uint32_t mask = 0;
	for (unsigned b = 0; b < sp->pcrs.count; b++)
		mask |= sp->pcrs.bank[b].mask;
	pcr_banks_json(&j, &sp->values, mask, false);
	jw_object_end(&j);
	jw_finish(&j);
	fclose(f);
	return 0;
}

static int json_hex(struct json_object *doc, const char *key, uint8_t *out, size_t n)
{
	struct json_object *v;
	size_t len;

	if (!json_object_object_get_ex(doc, key, &v) || !json_object_is_type(v, json_type_string) ||
	    hex_decode(json_object_get_string(v), out, n, &len) < 0 || len != n)
		return err_set(-EINVAL, "signed policy: \"%s\" is not a %zu-byte hex value", key,
			       n);
	return 0;
}

static int from_doc(struct json_object *doc, struct signed_policy *ret)
{
	struct json_object *v, *sig;

	if (!json_object_object_get_ex(doc, "version", &v) ||
	    !json_object_is_type(v, json_type_int))
		return err_set(-EINVAL, "signed policy: no \"version\"");
	if (json_object_get_int64(v) != SIGNED_POLICY_VERSION)
		return err_set(-EPROTONOSUPPORT, "signed policy: version %lld (this reads %d)",
			       (long long)json_object_get_int64(v), SIGNED_POLICY_VERSION);
	if (!json_object_object_get_ex(doc, "selection", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    pcr_selection_parse(json_object_get_string(v), &ret->pcrs) < 0)
		return err_set(-EINVAL, "signed policy: \"selection\" is not a PCR selection");
	if (json_hex(doc, "policy", ret->approved, 32) < 0)
		return -EINVAL;
	if (!json_object_object_get_ex(doc, "signature", &sig) ||
	    !json_object_is_type(sig, json_type_object) ||
	    !json_object_object_get_ex(sig, "alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "ecdsa-p256-sha256"))
		return err_set(-EINVAL,
			       "signed policy: \"signature\" is not an ecdsa-p256-sha256 one");
	if (json_hex(sig, "r", ret->sig_r, 32) < 0 || json_hex(sig, "s", ret->sig_s, 32) < 0)
		return -EINVAL;
	if (pcr_values_from_json_object(doc, "signed policy", &ret->values) < 0)
		return -EINVAL;
	for (unsigned b = 0; b < ret->pcrs.count; b++) {
		const struct pcr_bank *bank = pcr_banks_get(&ret->values, ret->pcrs.bank[b].alg);
		if (!bank || (bank->extended & ret->pcrs.bank[b].mask) != ret->pcrs.bank[b].mask)
			return err_set(-EINVAL,
				       "signed policy: \"pcrs\" lacks %s values it selects",
				       ret->pcrs.bank[b].alg->name);
	}
	return 0;
}

int signed_policy_from_json(const char *text, size_t len, struct signed_policy *ret)
{
	struct json_tokener *tok;
	struct json_object *doc;
	char *copy;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > SIGNED_POLICY_MAX || memchr(text, '\0', len))
		return err_set(-EINVAL, "signed policy: not a JSON text");
	if (!(copy = strndup(text, len)) || !(tok = json_tokener_new())) {
		free(copy);
		return err_set(-ENOMEM, "out of memory");
	}
	doc = json_tokener_parse_ex(tok, copy, (int)len);
	if (!doc || !json_object_is_type(doc, json_type_object) ||
	    json_tokener_get_parse_end(tok) != len)
		r = err_set(-EINVAL, "signed policy: not a JSON object");
	else
		r = from_doc(doc, ret);
	json_object_put(doc);
	json_tokener_free(tok);
	free(copy);
	return r;
}

int signed_policy_load(const char *path, struct signed_policy *ret)
{
	uint8_t *buf;
	size_t len;
	int r = file_read_all(path, SIGNED_POLICY_MAX, &buf, &len);

	if (r < 0)
		return r;
	r = signed_policy_from_json((const char *)buf, len, ret);
	free(buf);
	return r < 0 ? err_wrap(r, "%s", path) : 0;
}
