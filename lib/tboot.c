// SPDX-License-Identifier: MIT
/* tboot measurements: policy digest, module measurements, MLE hash. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gunzip.h"
#include "reader.h"
#include "tboot.h"

#define TBOOT_MAX_IMAGE (256u << 20)

/*
 * version 2, continue-non-fatal, SHA-256, control EXTEND_PCR17; entries: module 0 -> no
 * extra PCR, any other module -> PCR 17, the geo-tag NV index 0x40000010 -> PCR 22.
 */
const uint8_t tboot_default_policy[] = {
	0x02, 0x00, 0x0b, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, 0x11, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x83, 0x16, 0x00, 0x10, 0x00, 0x00, 0x40, 0x00,
};
const size_t tboot_default_policy_len = sizeof(tboot_default_policy);

static const uint8_t mle_uuid[16] = {0x5a, 0xac, 0x82, 0x90, 0x6f, 0x47, 0xa7, 0x74,
				     0x0f, 0x5c, 0x55, 0xa2, 0xcb, 0x51, 0xb6, 0x42};

/* tboot's TB_HALG_* values are TPM_ALG_IDs on TPM 2.0 */
static size_t policy_hash_size(uint8_t hash_alg)
{
	const struct hash_alg *alg = hash_alg_by_id(hash_alg);

	return alg ? alg->size : 0;
}

int tboot_policy_parse(const uint8_t *buf, size_t len, const char *what, struct tboot_policy *ret)
{
	struct tboot_policy pol = {0};
	struct reader r;
	uint32_t reserved;
	uint8_t n;
	size_t hsize;
	int rc;

	reader_init(&r, buf, len, what);
	if ((rc = reader_u8(&r, "version", &pol.version)) < 0 ||
	    (rc = reader_u8(&r, "policy_type", &pol.type)) < 0 ||
	    (rc = reader_u8(&r, "hash_alg", &pol.hash_alg)) < 0 ||
	    (rc = reader_le32(&r, "policy_control", &pol.control)) < 0 ||
	    (rc = reader_le32(&r, "reserved", &reserved)) < 0 ||
	    (rc = reader_u8(&r, "num_entries", &n)) < 0)
		return rc;
	if (pol.version != 2)
		return reader_fail(&r, 0, "tboot policy version %u (only 2 is known)", pol.version);
	hsize = policy_hash_size(pol.hash_alg);
	if (!hsize)
		return reader_fail(&r, 2, "unknown policy hash_alg %u", pol.hash_alg);
	if (n > sizeof(pol.entry) / sizeof(pol.entry[0]))
		return reader_fail(&r, 11, "%u policy entries", n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t hash_type, num_hashes;
		uint32_t nv_index;
		const uint8_t *skip;

		if ((rc = reader_u8(&r, "mod_num", &pol.entry[i].mod_num)) < 0 ||
		    (rc = reader_u8(&r, "pcr", &pol.entry[i].pcr)) < 0 ||
		    (rc = reader_u8(&r, "hash_type", &hash_type)) < 0 ||
		    (rc = reader_le32(&r, "nv_index", &nv_index)) < 0 ||
		    (rc = reader_u8(&r, "num_hashes", &num_hashes)) < 0 ||
		    (rc = reader_bytes(&r, "hashes", (size_t)num_hashes * hsize, &skip)) < 0)
			return rc;
		if (pol.entry[i].pcr != TB_POLICY_PCR_NONE && pol.entry[i].pcr >= 24)
			return reader_fail(&r, r.off, "policy entry %u names PCR %u", i,
					   pol.entry[i].pcr);
	}
	if (reader_left(&r))
		return reader_fail(&r, r.off, "%zu bytes after the last policy entry",
				   reader_left(&r));
	pol.n_entries = n;
	*ret = pol;
	return 0;
}

int tboot_policy_digest(const uint8_t *policy, size_t len, const struct hash_alg *bank,
			uint8_t *out)
{
	uint8_t buf[4 + 32] = {0};
	uint32_t control;

	if (len < 7)
		return err_set(-EINVAL, "tboot policy of %zu bytes", len);
	control = policy[3] | (uint32_t)policy[4] << 8 | (uint32_t)policy[5] << 16 |
		  (uint32_t)policy[6] << 24;
	memcpy(buf, policy + 3, 4);
	if (control & 1) {
		int rc = digest_buf(hash_alg_by_id(TPM_ALG_SHA256), policy, len, buf + 4);

		if (rc < 0)
			return rc;
	}
	return digest_buf(bank, buf, sizeof(buf), out);
}

unsigned tboot_module_pcr(const struct tboot_policy *pol, unsigned n)
{
	if (n == 0)
		return TBOOT_PCR_DETAILS; /* the kernel: always 17 under DA */
	for (unsigned i = 0; pol && i < pol->n_entries; i++)
		if ((pol->entry[i].mod_num == n || pol->entry[i].mod_num == TB_POLICY_MOD_ANY) &&
		    pol->entry[i].pcr != TB_POLICY_PCR_NONE)
			return pol->entry[i].pcr;
	return TBOOT_PCR_DETAILS;
}

int tboot_module_digest(const uint8_t *image, size_t len, const char *cmdline,
			const struct hash_alg *bank, uint8_t *out)
{
	uint8_t both[2 * DIGEST_MAX], *plain = NULL;
	size_t plain_len;
	int rc;

	if (is_gzip(image, len)) {
		rc = gunzip_buf(image, len, TBOOT_MAX_IMAGE, &plain, &plain_len);
		if (rc < 0)
			return rc;
		image = plain;
		len = plain_len;
	}
	rc = digest_buf(bank, cmdline, strlen(cmdline), both);
	if (rc == 0)
		rc = digest_buf(bank, image, len, both + bank->size);
	if (rc == 0)
		rc = digest_buf(bank, both, 2 * bank->size, out);
	free(plain);
	return rc;
}

struct elf32_load {
	uint32_t offset, filesz, memsz;
};

/* Lays the PT_LOAD segments of a 32-bit x86 ELF end to end into a new buffer. */
static int elf_expand(const uint8_t *elf, size_t len, const char *what, uint8_t **ret,
		      size_t *ret_len)
{
	struct reader r;
	uint32_t phoff, ignore32;
	uint16_t type, machine, phentsize, phnum, ignore16;
	size_t total = 0;
	uint8_t *out;
	int rc;

	reader_init(&r, elf, len, what);
	if (len < 52 || memcmp(elf,
			       "\x7f"
			       "ELF",
			       4) != 0)
		return reader_fail(&r, 0, "neither gzip nor ELF");
	if (elf[4] != 1 || elf[5] != 1)
		return reader_fail(&r, 4, "not a 32-bit little-endian ELF (tboot is one)");
	r.off = 16;
	if ((rc = reader_le16(&r, "e_type", &type)) < 0 ||
	    (rc = reader_le16(&r, "e_machine", &machine)) < 0 ||
	    (rc = reader_le32(&r, "e_version", &ignore32)) < 0 ||
	    (rc = reader_le32(&r, "e_entry", &ignore32)) < 0 ||
	    (rc = reader_le32(&r, "e_phoff", &phoff)) < 0 ||
	    (rc = reader_le32(&r, "e_shoff", &ignore32)) < 0 ||
	    (rc = reader_le32(&r, "e_flags", &ignore32)) < 0 ||
	    (rc = reader_le16(&r, "e_ehsize", &ignore16)) < 0 ||
	    (rc = reader_le16(&r, "e_phentsize", &phentsize)) < 0 ||
	    (rc = reader_le16(&r, "e_phnum", &phnum)) < 0)
		return rc;
	if (type != 2 || machine != 3)
		return reader_fail(&r, 16, "not an i386 executable (type %u, machine %u)", type,
				   machine);
	if (phentsize < 32 || phoff > len || (size_t)phnum * phentsize > len - phoff)
		return reader_fail(&r, 28, "program headers outside the file");
	struct elf32_load *seg = calloc(phnum ? phnum : 1, sizeof(*seg));
	unsigned n = 0;

	if (!seg)
		return err_set(-ENOMEM, "out of memory");
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = elf + phoff + (size_t)i * phentsize;
		uint32_t p_type = ph[0] | ph[1] << 8 | ph[2] << 16 | (uint32_t)ph[3] << 24;
		struct elf32_load *s = &seg[n];

		if (p_type != 1 /* PT_LOAD */)
			continue;
		s->offset = ph[4] | ph[5] << 8 | ph[6] << 16 | (uint32_t)ph[7] << 24;
		s->filesz = ph[16] | ph[17] << 8 | ph[18] << 16 | (uint32_t)ph[19] << 24;
		s->memsz = ph[20] | ph[21] << 8 | ph[22] << 16 | (uint32_t)ph[23] << 24;
		if (s->filesz > s->memsz || s->offset > len || s->filesz > len - s->offset ||
		    s->memsz > TBOOT_MAX_IMAGE - total) {
			free(seg);
			return reader_fail(&r, phoff + (size_t)i * phentsize,
					   "PT_LOAD segment %u outside the file or too large", i);
		}
		total += s->memsz;
		n++;
	}
	if (total == 0) {
		free(seg);
		return reader_fail(&r, phoff, "no PT_LOAD segment");
	}
	out = calloc(1, total);
	if (!out) {
		free(seg);
		return err_set(-ENOMEM, "out of memory for %zu bytes", total);
	}
	total = 0;
	for (unsigned i = 0; i < n; i++) {
		memcpy(out + total, elf + seg[i].offset, seg[i].filesz);
		total += seg[i].memsz; /* the rest of memsz stays zero (.bss) */
	}
	free(seg);
	*ret = out;
	*ret_len = total;
	return 0;
}

int tboot_mle_hash(const uint8_t *file, size_t len, const char *what, const char *cmdline,
		   const struct hash_alg *bank, uint8_t *out)
{
	uint8_t *plain = NULL, *image = NULL;
	size_t plain_len = 0, size = 0, hdr;
	uint32_t start, end, cl_start, cl_end;
	int rc = 0;

	if (is_gzip(file, len)) {
		rc = gunzip_buf(file, len, TBOOT_MAX_IMAGE, &plain, &plain_len);
		if (rc < 0)
			return err_wrap(rc, "%s", what);
		file = plain;
		len = plain_len;
	}
	rc = elf_expand(file, len, what, &image, &size);
	if (rc < 0)
		goto out;
	/* the header sits on a 16-byte boundary of the expanded image */
	for (hdr = 0; hdr + 52 <= size; hdr += 16)
		if (memcmp(image + hdr, mle_uuid, 16) == 0)
			break;
	if (hdr + 52 > size) {
		rc = err_set(-EINVAL,
			     "%s: no MLE header (UUID 9082ac5a-476f-74a7-5c0f-55a2cb51b642)", what);
		goto out;
	}
	start = le32_at(image + hdr + 32);
	end = le32_at(image + hdr + 36);
	cl_start = le32_at(image + hdr + 44);
	cl_end = le32_at(image + hdr + 48);
	if (start >= end || end > size || (cl_end > cl_start && cl_end > size)) {
		rc = err_set(-EINVAL, "%s: MLE header offsets outside the image", what);
		goto out;
	}
	if (cl_end > cl_start && cmdline) {
		memset(image + cl_start, 0, cl_end - cl_start);
		strncpy((char *)image + cl_start, cmdline, cl_end - cl_start - 1);
	}
	rc = digest_buf(bank, image + start, end - start, out);
out:
	free(image);
	free(plain);
	return rc;
}
