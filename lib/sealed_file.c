// SPDX-License-Identifier: MIT
/*
 * Sealed key file, version 2 (1: without the counter), integers big-endian:
 *   "MSEALKEY" | u16 version | u16 flags (bit 0: PIN, 1: values, 2: authorized,
 *   3: counter, set exactly in version 2, 4: SRK name, version 2 only) |
 *   u16 n + n bytes PCR selection text ("sha256:0,1,7") |
 *   32 bytes policy digest | [the selected PCR values] | [u16 n + signer's name] |
 *   [u32 NV counter index + u64 value sealed to] | [u16 n + the SRK's name] |
 *   u16 n + TPM2B_PUBLIC | u16 n + TPM2B_PRIVATE |
 *   32 bytes SHA-256 of everything before.
 * The checksum catches damage.  Tampering gains nothing: the TPM checks the
 * private part's integrity and binds it to the public part (whose authPolicy
 * decides), so a changed selection or flag only makes the policy fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "digest.h"
#include "err.h"
#include "fileio.h"
#include "sealed_file.h"

#define MAGIC		"MSEALKEY"
#define MAGIC_LEN	8
#define FLAG_PIN	0x0001
#define FLAG_VALUES	0x0002
#define FLAG_AUTHORIZED 0x0004
#define FLAG_COUNTER	0x0008
#define FLAG_SRK	0x0010
#define FLAGS_KNOWN	(FLAG_PIN | FLAG_VALUES | FLAG_AUTHORIZED | FLAG_COUNTER | FLAG_SRK)
#define COUNTER_LEN	12

static void put16(uint8_t **p, size_t v)
{
	(*p)[0] = (uint8_t)(v >> 8);
	(*p)[1] = (uint8_t)v;
	*p += 2;
}

static void put_be(uint8_t **p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		*(*p)++ = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_bytes(uint8_t **p, const void *data, size_t len)
{
	memcpy(*p, data, len);
	*p += len;
}

/* Bytes of the selected values: banks in selection order, PCRs ascending. */
static size_t values_size(const struct pcr_selection *sel)
{
	size_t n = 0;

	for (unsigned b = 0; b < sel->count; b++)
		n += (size_t)__builtin_popcount(sel->bank[b].mask) * sel->bank[b].alg->size;
	return n;
}

/* Writes the selected values of @banks at @out (values_size bytes). */
static int values_put(const struct pcr_banks *banks, const struct pcr_selection *sel, uint8_t *out)
{
	for (unsigned b = 0; b < sel->count; b++) {
		const struct hash_alg *alg = sel->bank[b].alg;
		const struct pcr_bank *bank = pcr_banks_get(banks, alg);
		if (!bank)
			return err_set(-EINVAL, "sealed key file: no %s values", alg->name);
		for (unsigned i = 0; i < PCR_COUNT; i++)
			if (sel->bank[b].mask & (1u << i)) {
				memcpy(out, bank->value[i], alg->size);
				out += alg->size;
			}
	}
	return 0;
}

/* Reads values_size bytes at @in into @banks, marking those PCRs set. */
static void values_take(struct pcr_banks *banks, const struct pcr_selection *sel, const uint8_t *in)
{
	pcr_banks_init(banks);
	for (unsigned b = 0; b < sel->count; b++) {
		struct pcr_bank *bank = pcr_banks_add(banks, sel->bank[b].alg);
		for (unsigned i = 0; i < PCR_COUNT; i++)
			if (sel->bank[b].mask & (1u << i)) {
				memcpy(bank->value[i], in, bank->alg->size);
				bank->extended |= 1u << i;
				in += bank->alg->size;
			}
	}
}

int sealed_file_encode(const struct sealed_file *f, uint8_t **ret, size_t *ret_len)
{
	char sel[256];
	size_t sel_len, len;
	uint8_t *buf, *p;
	int r;

	if ((r = pcr_selection_format(&f->pcrs, sel, sizeof(sel))) < 0)
		return r;
	sel_len = strlen(sel);
	if (f->authorizer_len > sizeof(f->authorizer))
		return err_set(-EINVAL, "signer name of %zu bytes", f->authorizer_len);
	len = MAGIC_LEN + 4 + 2 + sel_len + 32 + 2 + f->obj.pub_len + 2 + f->obj.priv_len + 32;
	len += (f->has_values ? values_size(&f->pcrs) : 0) +
	       (f->authorizer_len ? 2 + f->authorizer_len : 0) +
	       (f->counter.index ? COUNTER_LEN + 2 + f->obj.parent_len : 0);
	if (!(buf = malloc(len)))
		return err_set(-ENOMEM, "out of memory");
	p = buf;
	put_bytes(&p, MAGIC, MAGIC_LEN);
	put16(&p, f->counter.index ? SEALED_FILE_VERSION : 1);
	put16(&p, (f->pin ? FLAG_PIN : 0) | (f->has_values ? FLAG_VALUES : 0) |
			  (f->authorizer_len ? FLAG_AUTHORIZED : 0) |
			  (f->counter.index ? FLAG_COUNTER | FLAG_SRK : 0));
	put16(&p, sel_len);
	put_bytes(&p, sel, sel_len);
	put_bytes(&p, f->policy, 32);
	if (f->has_values) {
		if ((r = values_put(&f->values, &f->pcrs, p)) < 0) {
			free(buf);
			return r;
		}
		p += values_size(&f->pcrs);
	}
	if (f->authorizer_len) {
		put16(&p, f->authorizer_len);
		put_bytes(&p, f->authorizer, f->authorizer_len);
	}
	if (f->counter.index) {
		put_be(&p, f->counter.index, 4);
		put_be(&p, f->counter.value, 8);
		put16(&p, f->obj.parent_len);
		put_bytes(&p, f->obj.parent, f->obj.parent_len);
	}
	put16(&p, f->obj.pub_len);
	put_bytes(&p, f->obj.pub, f->obj.pub_len);
	put16(&p, f->obj.priv_len);
	put_bytes(&p, f->obj.priv, f->obj.priv_len);
	digest_buf(hash_alg_by_name("sha256"), buf, (size_t)(p - buf), p);
	*ret = buf;
	*ret_len = len;
	return 0;
}

struct cursor {
	const uint8_t *p;
	size_t left;
};

static int take(struct cursor *c, size_t n, const char *what, const uint8_t **ret)
{
	if (c->left < n)
		return err_set(-EBADMSG, "sealed key file: truncated in %s", what);
	*ret = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

/* A u16 length and that many bytes, at most @max. */
static int take_sized(struct cursor *c, size_t max, const char *what, const uint8_t **ret,
		      size_t *ret_len)
{
	const uint8_t *n = NULL;
	int r;

	if ((r = take(c, 2, what, &n)) < 0)
		return r;
	*ret_len = (size_t)n[0] << 8 | n[1];
	if (*ret_len > max)
		return err_set(-EBADMSG, "sealed key file: %s of %zu bytes (at most %zu)", what,
			       *ret_len, max);
	return take(c, *ret_len, what, ret);
}

/*
 * The stored digest is a copy of the public part's authPolicy (kept readable
 * without a TSS); a file where the two differ was not written by us.
 */
static int policy_matches_public(const uint8_t *pub, size_t len, const uint8_t policy[32])
{
	TPM2B_PUBLIC tpub = {0}; /* the unmarshaller wants it zeroed */
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &tpub) != TSS2_RC_SUCCESS || off != len)
		return err_set(-EBADMSG, "sealed key file: public part is not a TPM2B_PUBLIC");
	if (tpub.publicArea.authPolicy.size != 32 ||
	    memcmp(tpub.publicArea.authPolicy.buffer, policy, 32))
		return err_set(-EBADMSG,
			       "sealed key file: policy digest differs from the public part's");
	return 0;
}

int sealed_file_decode(const uint8_t *buf, size_t len, struct sealed_file *ret)
{
	struct cursor c = {buf, len};
	const uint8_t *p = NULL, *sel = NULL, *pub = NULL, *priv = NULL, *vals = NULL, *name = NULL,
		      *counter = NULL, *srk = NULL;
	uint8_t sum[DIGEST_MAX];
	size_t sel_len, pub_len, priv_len, name_len = 0, srk_len = 0;
	char text[256];
	unsigned version, flags;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len < MAGIC_LEN + 32 || memcmp(buf, MAGIC, MAGIC_LEN))
		return err_set(-EBADMSG, "not a sealed key file (no MSEALKEY magic)");
	digest_buf(hash_alg_by_name("sha256"), buf, len - 32, sum);
	if (CRYPTO_memcmp(sum, buf + len - 32, 32))
		return err_set(-EBADMSG, "sealed key file: checksum mismatch (damaged)");
	c.left -= 32;
	if ((r = take(&c, MAGIC_LEN + 4, "header", &p)) < 0)
		return r;
	version = (unsigned)p[8] << 8 | p[9];
	flags = (unsigned)p[10] << 8 | p[11];
	if (version != 1 && version != SEALED_FILE_VERSION)
		return err_set(-EPROTONOSUPPORT,
			       "sealed key file: version %u (this reads 1 and %d)", version,
			       SEALED_FILE_VERSION);
	if (flags & ~FLAGS_KNOWN)
		return err_set(-EBADMSG, "sealed key file: unknown flags 0x%04x", flags);
	if (!(flags & FLAG_COUNTER) != (version == 1))
		return err_set(-EBADMSG, "sealed key file: version %u %s a revocation counter",
			       version, version == 1 ? "with" : "without");
	/* version 2 keys are pinned to their SRK: a file without the name would skip that check */
	if (!(flags & FLAG_SRK) != (version == 1))
		return err_set(-EBADMSG, "sealed key file: version %u %s an SRK name", version,
			       version == 1 ? "with" : "without");
	if ((r = take_sized(&c, sizeof(text) - 1, "PCR selection", &sel, &sel_len)) < 0)
		return r;
	memcpy(text, sel, sel_len);
	text[sel_len] = '\0';
	if (pcr_selection_parse(text, &ret->pcrs) < 0)
		return err_wrap(-EBADMSG, "sealed key file: PCR selection");
	if ((r = take(&c, 32, "policy digest", &p)) < 0 ||
	    ((flags & FLAG_VALUES) &&
	     (r = take(&c, values_size(&ret->pcrs), "PCR values", &vals)) < 0) ||
	    ((flags & FLAG_AUTHORIZED) &&
	     (r = take_sized(&c, sizeof(ret->authorizer), "signer name", &name, &name_len)) < 0) ||
	    ((flags & FLAG_COUNTER) && (r = take(&c, COUNTER_LEN, "NV counter", &counter)) < 0) ||
	    ((flags & FLAG_SRK) &&
	     (r = take_sized(&c, sizeof(ret->obj.parent), "SRK name", &srk, &srk_len)) < 0) ||
	    (r = take_sized(&c, sizeof(ret->obj.pub), "public part", &pub, &pub_len)) < 0 ||
	    (r = take_sized(&c, sizeof(ret->obj.priv), "private part", &priv, &priv_len)) < 0)
		return r;
	if ((flags & FLAG_SRK) && srk_len == 0)
		return err_set(-EBADMSG, "sealed key file: an empty SRK name");
	if (c.left)
		return err_set(-EBADMSG, "sealed key file: %zu stray bytes", c.left);
	if ((flags & FLAG_AUTHORIZED) && name_len == 0)
		return err_set(-EBADMSG, "sealed key file: authorized, but no signer name");
	if (counter && !(ret->counter.index = (uint32_t)get_be(counter, 4)))
		return err_set(-EBADMSG, "sealed key file: NV counter index 0");
	if ((r = policy_matches_public(pub, pub_len, p)) < 0)
		return r;
	if (counter)
		ret->counter.value = get_be(counter + 4, 8);
	ret->pin = flags & FLAG_PIN;
	memcpy(ret->policy, p, 32);
	if (vals) {
		values_take(&ret->values, &ret->pcrs, vals);
		ret->has_values = true;
	}
	if (name)
		memcpy(ret->authorizer, name, name_len);
	ret->authorizer_len = name_len;
	memcpy(ret->obj.pub, pub, pub_len);
	ret->obj.pub_len = pub_len;
	memcpy(ret->obj.priv, priv, priv_len);
	ret->obj.priv_len = priv_len;
	if (srk)
		memcpy(ret->obj.parent, srk, srk_len);
	ret->obj.parent_len = srk_len;
	return 0;
}

int sealed_file_save(const char *path, const struct sealed_file *f)
{
	uint8_t *buf;
	size_t len;
	int r = sealed_file_encode(f, &buf, &len);

	if (r < 0)
		return r;
	r = file_write_atomic(path, buf, len, 0600);
	free(buf);
	return r;
}

int sealed_file_load(const char *path, struct sealed_file *ret)
{
	uint8_t *buf;
	size_t len;
	int r = file_read_all(path, 1 << 16, &buf, &len);

	if (r < 0)
		return r;
	r = sealed_file_decode(buf, len, ret);
	free(buf);
	return r < 0 ? err_wrap(r, "%s", path) : 0;
}
