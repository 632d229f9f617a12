// SPDX-License-Identifier: MIT
/* Authenticode image hash of PE/COFF files (EFI applications). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authenticode.h"
#include "err.h"
#include "reader.h"

#define PE_SECTIONS_MAX 96 /* the PE/COFF limit */
#define CERT_DIR_INDEX	4  /* IMAGE_DIRECTORY_ENTRY_SECURITY */

struct section {
	char short_name[9], name[64]; /* as in the header ("/4"), and resolved */
	uint32_t raw_off, raw_size;
};

static int section_cmp(const void *a, const void *b)
{
	const struct section *x = a, *y = b;

	return x->raw_off < y->raw_off ? -1 : x->raw_off > y->raw_off;
}

/* A long section name ("/N"): offset N into the COFF string table after the symbols. */
static void long_name(const struct reader *r, size_t strtab, char name[9], char *out, size_t size)
{
	char *end;
	unsigned long n = strtoul(name + 1, &end, 10);
	size_t at = strtab + n, k = 0;

	out[0] = '\0';
	/* digits only ("/-1" would wrap round before the table), within the file */
	if (!strtab || name[1] < '0' || name[1] > '9' || *end || n >= r->len || at >= r->len)
		return;
	while (at + k < r->len && r->data[at + k] && k + 1 < size) {
		out[k] = (char)r->data[at + k];
		k++;
	}
	out[k] = '\0';
}

/* The section table at @off: raw data extents, checked against the file. */
static int read_sections(struct reader *r, size_t off, unsigned n, size_t strtab,
			 struct section *out, uint32_t *ret_end)
{
	uint32_t end = 0;
	int rc;

	r->off = off;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *s;

		if ((rc = reader_bytes(r, "section header", 40, &s)) < 0)
			return rc;
		memcpy(out[i].short_name, s, 8);
		out[i].short_name[8] = '\0';
		if (out[i].short_name[0] == '/')
			long_name(r, strtab, out[i].short_name, out[i].name, sizeof(out[i].name));
		else
			memcpy(out[i].name, out[i].short_name, 9);
		out[i].raw_size = le32_at(s + 16);
		out[i].raw_off = le32_at(s + 20);
		if (out[i].raw_size && ((uint64_t)out[i].raw_off + out[i].raw_size > r->len))
			return reader_fail(
				r, r->off - 40,
				"section %u's raw data (%u bytes at %u) runs past the end", i,
				out[i].raw_size, out[i].raw_off);
		if (out[i].raw_size && out[i].raw_off + out[i].raw_size > end)
			end = out[i].raw_off + out[i].raw_size;
	}
	*ret_end = end;
	return 0;
}

static int read_layout(struct reader *r, struct pe_layout *l, struct section *sec)
{
	uint32_t pe_off, sig, n_rva, hdr_size, symtab, n_syms;
	size_t strtab = 0;
	uint16_t n_sections, opt_size;
	size_t opt, dirs;
	int rc;

	memset(l, 0, sizeof(*l));
	r->off = 0x3c;
	if (r->len < 2 || r->data[0] != 'M' || r->data[1] != 'Z')
		return reader_fail(r, 0, "not a PE image (no MZ header)");
	if ((rc = reader_le32(r, "e_lfanew", &pe_off)) < 0)
		return rc;
	r->off = pe_off;
	if ((rc = reader_le32(r, "PE signature", &sig)) < 0)
		return rc;
	if (sig != 0x00004550)
		return reader_fail(r, pe_off, "no \"PE\\0\\0\" signature");
	if ((rc = reader_le16(r, "Machine", &l->machine)) < 0 ||
	    (rc = reader_le16(r, "NumberOfSections", &n_sections)) < 0)
		return rc;
	r->off = pe_off + 12;
	if ((rc = reader_le32(r, "PointerToSymbolTable", &symtab)) < 0 ||
	    (rc = reader_le32(r, "NumberOfSymbols", &n_syms)) < 0 ||
	    (rc = reader_le16(r, "SizeOfOptionalHeader", &opt_size)) < 0)
		return rc;
	if (symtab && (uint64_t)symtab + (uint64_t)n_syms * 18 < r->len)
		strtab = symtab + (size_t)n_syms * 18;
	opt = pe_off + 24;
	r->off = opt;
	if ((rc = reader_le16(r, "optional header magic", &l->magic)) < 0)
		return rc;
	if (l->magic != 0x10b && l->magic != 0x20b)
		return reader_fail(r, opt, "optional header magic 0x%x (not PE32 or PE32+)",
				   l->magic);
	dirs = opt + (l->magic == 0x10b ? 96 : 112);
	l->checksum_off = opt + 64;
	r->off = opt + 60;
	if ((rc = reader_le32(r, "SizeOfHeaders", &hdr_size)) < 0)
		return rc;
	r->off = dirs - 4;
	if ((rc = reader_le32(r, "NumberOfRvaAndSizes", &n_rva)) < 0)
		return rc;
	if (n_rva <= CERT_DIR_INDEX || dirs + 8 * (CERT_DIR_INDEX + 1) > opt + opt_size)
		return reader_fail(r, dirs - 4, "no Certificate Table entry (%u data directories)",
				   n_rva);
	l->cert_dir_off = dirs + 8 * CERT_DIR_INDEX;
	r->off = l->cert_dir_off;
	if ((rc = reader_le32(r, "Certificate Table offset", &l->cert_off)) < 0 ||
	    (rc = reader_le32(r, "Certificate Table size", &l->cert_size)) < 0)
		return rc;
	if (hdr_size > r->len || hdr_size < l->cert_dir_off + 8)
		return reader_fail(r, opt + 60, "SizeOfHeaders %u outside the file", hdr_size);
	if ((uint64_t)l->cert_off + l->cert_size > r->len)
		return reader_fail(r, l->cert_dir_off, "the certificate table runs past the end");
	if (n_sections > PE_SECTIONS_MAX)
		return reader_fail(r, pe_off + 6, "%u sections (at most %d)", n_sections,
				   PE_SECTIONS_MAX);
	l->headers_size = hdr_size;
	l->n_sections = n_sections;
	return read_sections(r, opt + opt_size, n_sections, strtab, sec, &l->sections_end);
}

int pe_layout_read(const uint8_t *pe, size_t len, const char *what, struct pe_layout *ret)
{
	struct section sec[PE_SECTIONS_MAX];
	struct reader r;

	reader_init(&r, pe, len, what);
	return read_layout(&r, ret, sec);
}

int authenticode_digest(const uint8_t *pe, size_t len, const char *what, const struct hash_alg *alg,
			uint8_t *out)
{
	struct section sec[PE_SECTIONS_MAX];
	struct pe_layout l;
	struct digest_ctx ctx;
	struct reader r;
	size_t start, end;
	int rc;

	reader_init(&r, pe, len, what);
	if ((rc = read_layout(&r, &l, sec)) < 0 || (rc = digest_init(&ctx, alg)) < 0)
		return rc;
	/* headers, less CheckSum and the Certificate Table entry */
	rc = digest_update(&ctx, pe, l.checksum_off);
	if (rc == 0)
		rc = digest_update(&ctx, pe + l.checksum_off + 4,
				   l.cert_dir_off - l.checksum_off - 4);
	if (rc == 0)
		rc = digest_update(&ctx, pe + l.cert_dir_off + 8,
				   l.headers_size - l.cert_dir_off - 8);
	/* the sections in the order they lie in the file */
	qsort(sec, l.n_sections, sizeof(sec[0]), section_cmp);
	for (unsigned i = 0; i < l.n_sections && rc == 0; i++)
		if (sec[i].raw_size)
			rc = digest_update(&ctx, pe + sec[i].raw_off, sec[i].raw_size);
	/* what follows the sections, up to the certificate table (or the end) */
	start = l.sections_end > l.headers_size ? l.sections_end : l.headers_size;
	end = l.cert_size && l.cert_off >= start ? l.cert_off : len;
	if (rc == 0 && end > start)
		rc = digest_update(&ctx, pe + start, end - start);
	if (rc < 0) {
		digest_free(&ctx);
		return rc;
	}
	return digest_final(&ctx, out);
}

int pe_section(const uint8_t *pe, size_t len, const char *what, const char *name,
	       const uint8_t **ret, size_t *ret_len)
{
	struct section sec[PE_SECTIONS_MAX];
	struct pe_layout l;
	struct reader r;
	int rc;

	reader_init(&r, pe, len, what);
	if ((rc = read_layout(&r, &l, sec)) < 0)
		return rc;
	for (unsigned i = 0; i < l.n_sections; i++)
		if (strcmp(sec[i].name, name) == 0 && sec[i].raw_size) {
			*ret = pe + sec[i].raw_off;
			*ret_len = sec[i].raw_size;
			return 0;
		}
	return err_set(-ENOENT, "%s: no %s section", what, name);
}

int pe_signature(const uint8_t *pe, size_t len, const char *what, const uint8_t **ret,
		 size_t *ret_len)
{
	struct section sec[PE_SECTIONS_MAX];
	struct pe_layout l;
	struct reader r;
	uint32_t wlen;
	int rc;

	reader_init(&r, pe, len, what);
	if ((rc = read_layout(&r, &l, sec)) < 0)
		return rc;
	if (l.cert_size < 8)
		return err_set(-ENOENT, "%s: not signed (no certificate table)", what);
	/* WIN_CERTIFICATE {u32 dwLength, u16 wRevision, u16 wCertificateType = 2 (PKCS#7)} */
	wlen = le32_at(pe + l.cert_off);
	if (wlen < 8 || wlen > l.cert_size || pe[l.cert_off + 6] != 2 || pe[l.cert_off + 7] != 0)
		return err_set(-EBADMSG,
			       "%s: the first certificate is not a PKCS#7 WIN_CERTIFICATE", what);
	*ret = pe + l.cert_off + 8;
	*ret_len = wlen - 8;
	return 0;
}
