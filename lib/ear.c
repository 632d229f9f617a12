// SPDX-License-Identifier: MIT
/* EAT Attestation Results: claims-set, trustworthiness vector, JWT (ES256). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "base64url.h"
#include "ear.h"
#include "err.h"

const char *const ear_tier_name[] = {"none", "affirming", "warning", "contraindicated"};

static const char *const category_name[EAR_CATEGORIES] = {
	"instance-identity", "configuration",  "executables",	 "file-system",
	"hardware",	     "runtime-opaque", "storage-opaque", "sourced-data",
};

/* AR4SI 2.3.2: -1..1 none, 2..31 affirming, 32..95 warning, 96..127 contraindicated (and negatives) */
enum ear_tier ear_claim_tier(int claim)
{
	int a = claim < 0 ? -claim : claim;

	return a <= 1	 ? EAR_NONE
	       : a <= 31 ? EAR_AFFIRMING
	       : a <= 95 ? EAR_WARNING
			 : EAR_CONTRAINDICATED;
}

void ear_vector_worsen(struct ear_vector *v, enum ear_category cat, int claim)
{
	enum ear_tier now = ear_claim_tier(v->claim[cat]), next = ear_claim_tier(claim);

	if (next > now || (next == now && claim > v->claim[cat]))
		v->claim[cat] = (int8_t)claim;
}

enum ear_tier ear_vector_tier(const struct ear_vector *v)
{
	enum ear_tier worst = EAR_NONE;

	for (int c = 0; c < EAR_CATEGORIES; c++)
		if (ear_claim_tier(v->claim[c]) > worst)
			worst = ear_claim_tier(v->claim[c]);
	return worst;
}

static struct json_object *appraisal_json(const struct ear_appraisal *a)
{
	struct json_object *o = json_object_new_object(), *tv = json_object_new_object();

	json_object_object_add(o, "ear.status", json_object_new_string(ear_tier_name[a->status]));
	for (int c = 0; c < EAR_CATEGORIES; c++)
		if (a->tv.claim[c])
			json_object_object_add(tv, category_name[c],
					       json_object_new_int(a->tv.claim[c]));
	/* the vector must not be empty: say "no claim" about identity rather than nothing */
	if (json_object_object_length(tv) == 0)
		json_object_object_add(tv, category_name[EAR_INSTANCE_IDENTITY],
				       json_object_new_int(EAR_NO_CLAIM));
	json_object_object_add(o, "ear.trustworthiness-vector", tv);
	if (a->policy_id)
		json_object_object_add(o, "ear.appraisal-policy-id",
				       json_object_new_string(a->policy_id));
	if (a->extension_key && a->extension)
		json_object_object_add(o, a->extension_key, json_object_get(a->extension));
	return o;
}

struct json_object *ear_claims(int64_t iat, const char *build, const char *developer,
			       const uint8_t *nonce, size_t nonce_len,
			       const struct ear_appraisal *submods, size_t n_submods)
{
	struct json_object *o = json_object_new_object(), *id = json_object_new_object(),
			   *sub = json_object_new_object();

	json_object_object_add(o, "eat_profile", json_object_new_string(EAR_PROFILE));
	json_object_object_add(o, "iat", json_object_new_int64(iat));
	json_object_object_add(id, "build", json_object_new_string(build));
	json_object_object_add(id, "developer", json_object_new_string(developer));
	json_object_object_add(o, "ear.verifier-id", id);
	if (nonce_len) {
		char text[2 * 64 + 4];

		if (nonce_len > 64)
			nonce_len = 64;
		base64url_encode(nonce, nonce_len, text);
		json_object_object_add(o, "eat_nonce", json_object_new_string(text));
	}
	for (size_t i = 0; i < n_submods; i++)
		json_object_object_add(sub, submods[i].name, appraisal_json(&submods[i]));
	json_object_object_add(o, "submods", sub);
	return o;
}

static int check_appraisal(const char *name, struct json_object *a)
{
	struct json_object *st, *tv;
	int worst = EAR_NONE, status = -1;

	if (!json_object_is_type(a, json_type_object) ||
	    !json_object_object_get_ex(a, "ear.status", &st) ||
	    !json_object_is_type(st, json_type_string))
		return err_set(-EBADMSG, "EAR: submods.%s has no ear.status", name);
	for (int t = 0; t <= EAR_CONTRAINDICATED; t++)
		if (strcmp(json_object_get_string(st), ear_tier_name[t]) == 0)
			status = t;
	if (status < 0)
		return err_set(-EBADMSG, "EAR: submods.%s.ear.status \"%s\" is not a tier", name,
			       json_object_get_string(st));
	if (json_object_object_get_ex(a, "ear.trustworthiness-vector", &tv)) {
		if (!json_object_is_type(tv, json_type_object) || !json_object_object_length(tv))
			return err_set(-EBADMSG, "EAR: submods.%s: an empty trustworthiness vector",
				       name);
		json_object_object_foreach(tv, cat, claim)
		{
			int64_t c = json_object_get_int64(claim);

			if (!json_object_is_type(claim, json_type_int) || c < -128 || c > 127)
				return err_set(-EBADMSG,
					       "EAR: submods.%s: %s is not a claim (-128..127)",
					       name, cat);
			if ((int)ear_claim_tier((int)c) > worst)
				worst = ear_claim_tier((int)c);
		}
	}
	if (status < worst)
		return err_set(
			-EBADMSG,
			"EAR: submods.%s.ear.status %s is better than its vector's worst (%s)",
			name, ear_tier_name[status], ear_tier_name[worst]);
	return 0;
}

int ear_claims_check(struct json_object *c)
{
	struct json_object *v, *b, *d;
	int rc;

	if (!json_object_is_type(c, json_type_object))
		return err_set(-EBADMSG, "EAR: the claims-set is not an object");
	if (!json_object_object_get_ex(c, "eat_profile", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), EAR_PROFILE) != 0)
		return err_set(-EBADMSG, "EAR: eat_profile is not " EAR_PROFILE);
	if (!json_object_object_get_ex(c, "iat", &v) || !json_object_is_type(v, json_type_int))
		return err_set(-EBADMSG, "EAR: no integer iat");
	if (!json_object_object_get_ex(c, "ear.verifier-id", &v) ||
	    !json_object_object_get_ex(v, "build", &b) ||
	    !json_object_is_type(b, json_type_string) ||
	    !json_object_object_get_ex(v, "developer", &d) ||
	    !json_object_is_type(d, json_type_string))
		return err_set(-EBADMSG, "EAR: ear.verifier-id needs build and developer");
	if (!json_object_object_get_ex(c, "submods", &v) ||
	    !json_object_is_type(v, json_type_object) || !json_object_object_length(v))
		return err_set(-EBADMSG, "EAR: no submods");
	json_object_object_foreach(v, name, a)
	{
		if ((rc = check_appraisal(name, a)) < 0)
			return rc;
	}
	return 0;
}

static const char jwt_header[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";

/* ECDSA signature DER <-> JWS's r || s, 32 bytes each. */
static int sig_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
	const uint8_t *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	int ok = sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
		 BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32;

	ECDSA_SIG_free(sig);
	return ok ? 0 : err_set(-EIO, "ES256: cannot encode the signature");
}

static int sig_raw_to_der(const uint8_t raw[64], uint8_t **ret, size_t *ret_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	unsigned char *der = NULL;
	int n = -1;

	if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
		r = s = NULL; /* owned by sig */
		n = i2d_ECDSA_SIG(sig, &der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return err_set(-ENOMEM, "out of memory");
	*ret = der;
	*ret_len = (size_t)n;
	return 0;
}

static int is_p256(EVP_PKEY *key)
{
	char group[32];

	return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	       EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), NULL) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

int ear_jwt_sign(const char *claims_json, EVP_PKEY *key, char **ret)
{
	size_t hl = strlen(jwt_header), pl = strlen(claims_json), siglen = 0;
	size_t n = base64url_len(hl) + 1 + base64url_len(pl);
	char *token = malloc(n + 1 + base64url_len(64) + 1);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[80], raw[64];
	int rc = 0;

	if (!token || !ctx) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (!is_p256(key)) {
		rc = err_set(-EINVAL, "ES256 needs a P-256 key");
		goto out;
	}
	base64url_encode((const uint8_t *)jwt_header, hl, token);
	token[base64url_len(hl)] = '.';
	base64url_encode((const uint8_t *)claims_json, pl, token + base64url_len(hl) + 1);
	siglen = sizeof(der);
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, der, &siglen, (uint8_t *)token, n) != 1) {
		rc = err_set(-EIO, "ES256: signing failed");
		goto out;
	}
	if ((rc = sig_der_to_raw(der, siglen, raw)) < 0)
		goto out;
	token[n] = '.';
	base64url_encode(raw, sizeof(raw), token + n + 1);
	*ret = token;
	token = NULL;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(token);
	return rc;
}

int ear_jwt_verify(const char *token, EVP_PKEY *key, char **ret_payload)
{
	const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	uint8_t *header = NULL, *payload = NULL, *sig = NULL, *der = NULL;
	size_t header_len, payload_len, sig_len, der_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc;

	if (!ctx)
		return err_set(-ENOMEM, "out of memory");
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.')) {
		rc = err_set(-EBADMSG, "not a JWS compact token (header.payload.signature)");
		goto out;
	}
	if ((rc = base64url_decode(token, (size_t)(dot1 - token), &header, &header_len)) < 0 ||
	    (rc = base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload, &payload_len)) <
		    0 ||
	    (rc = base64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &sig_len)) < 0) {
		rc = err_wrap(rc, "JWS");
		goto out;
	}
	if (header_len < 14 || !memmem(header, header_len, "\"alg\":\"ES256\"", 13)) {
		rc = err_set(-EBADMSG, "JWS: the header does not say ES256");
		goto out;
	}
	if (sig_len != 64) {
		rc = err_set(-EBADMSG, "JWS: an ES256 signature is 64 bytes, not %zu", sig_len);
		goto out;
	}
	if ((rc = sig_raw_to_der(sig, &der, &der_len)) < 0)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestVerify(ctx, der, der_len, (const uint8_t *)token, (size_t)(dot2 - token)) !=
		    1) {
		rc = err_set(-EPERM, "JWS: the signature does not verify with this key");
		goto out;
	}
	*ret_payload = malloc(payload_len + 1);
	if (!*ret_payload) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*ret_payload, payload, payload_len);
	(*ret_payload)[payload_len] = '\0';
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(header);
	free(payload);
	free(sig);
	OPENSSL_free(der);
	return rc;
}
