// SPDX-License-Identifier: MIT
/* Software policy digests: PolicyPCR, PolicyAuthorize, PolicyNV, PolicyAuthValue. */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "policy_digest.h"

void policy_init(struct policy *p, const struct hash_alg *alg)
{
	memset(p, 0, sizeof(*p));
	p->alg = alg;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t pcr_selection_marshal(const struct pcr_selection *sel, uint8_t *out)
{
	size_t off = 4;

	put_be32(out, sel->count);
	for (unsigned b = 0; b < sel->count; b++) {
		out[off++] = (uint8_t)(sel->bank[b].alg->tpm_alg >> 8);
		out[off++] = (uint8_t)sel->bank[b].alg->tpm_alg;
		out[off++] = 3;
		for (unsigned i = 0; i < 3; i++)
			out[off++] = (uint8_t)(sel->bank[b].mask >> (8 * i));
	}
	return off;
}

int policy_pcr_values_digest(const struct policy *p, const struct pcr_selection *sel,
			     const struct pcr_banks *values, uint8_t *ret)
{
	return pcr_values_digest(p->alg, sel, values, ret);
}

/* policy = H(policy || cc || extra) */
static int policy_update(struct policy *p, uint32_t cc, const uint8_t *extra, size_t extra_len)
{
	struct digest_ctx ctx;
	uint8_t code[4];
	int rc = digest_init(&ctx, p->alg);

	if (rc < 0)
		return rc;
	put_be32(code, cc);
	if ((rc = digest_update(&ctx, p->digest, p->alg->size)) < 0 ||
	    (rc = digest_update(&ctx, code, 4)) < 0 ||
	    (extra_len && (rc = digest_update(&ctx, extra, extra_len)) < 0)) {
		digest_free(&ctx);
		return rc;
	}
	return digest_final(&ctx, p->digest);
}

int policy_pcr(struct policy *p, const struct pcr_selection *sel, const struct pcr_banks *values)
{
	uint8_t buf[4 + 6 * PCR_BANKS_MAX + DIGEST_MAX];
	size_t n = pcr_selection_marshal(sel, buf);
	int rc = policy_pcr_values_digest(p, sel, values, buf + n);

	if (rc < 0)
		return rc;
	return policy_update(p, TPM_CC_PolicyPCR, buf, n + p->alg->size);
}

int policy_authorize(struct policy *p, const uint8_t *key_name, size_t name_len)
{
	int rc = policy_update(p, TPM_CC_PolicyAuthorize, key_name, name_len);

	/* the second step hashes the (empty) policyRef: H(digest || "") */
	return rc < 0 ? rc : digest_buf(p->alg, p->digest, p->alg->size, p->digest);
}

int policy_auth_value(struct policy *p)
{
	return policy_update(p, TPM_CC_PolicyAuthValue, NULL, 0);
}

int nv_index_name(uint32_t index, uint32_t attrs, uint16_t data_size, uint8_t ret[NV_NAME_LEN])
{
	const struct hash_alg *sha256 = hash_alg_by_name("sha256");
	uint8_t pub[4 + 2 + 4 + 2 + 2];

	put_be32(pub, index);
	pub[4] = (uint8_t)(sha256->tpm_alg >> 8);
	pub[5] = (uint8_t)sha256->tpm_alg;
	put_be32(pub + 6, attrs);
	pub[10] = pub[11] = 0; /* authPolicy: empty */
	pub[12] = (uint8_t)(data_size >> 8);
	pub[13] = (uint8_t)data_size;
	ret[0] = pub[4];
	ret[1] = pub[5];
	return digest_buf(sha256, pub, sizeof(pub), ret + 2);
}

int policy_nv(struct policy *p, const uint8_t *nv_name, size_t name_len, const uint8_t *operand,
	      size_t operand_len, uint16_t offset, uint16_t operation)
{
	uint8_t buf[DIGEST_MAX + 2 + DIGEST_MAX], args[64 + 4];
	int rc;

	if (operand_len > 64 || name_len > 2 + DIGEST_MAX)
		return err_set(-EINVAL, "PolicyNV: operand of %zu, name of %zu bytes", operand_len,
			       name_len);
	memcpy(args, operand, operand_len);
	args[operand_len] = (uint8_t)(offset >> 8);
	args[operand_len + 1] = (uint8_t)offset;
	args[operand_len + 2] = (uint8_t)(operation >> 8);
	args[operand_len + 3] = (uint8_t)operation;
	if ((rc = digest_buf(p->alg, args, operand_len + 4, buf)) < 0)
		return rc;
	memcpy(buf + p->alg->size, nv_name, name_len);
	return policy_update(p, TPM_CC_PolicyNV, buf, p->alg->size + name_len);
}
