// SPDX-License-Identifier: MIT
/*
 * OVMF firmware volumes as Tcg2Pei measures them (see ovmf.h).  Layouts
 * from the PI specification volume 3 (EFI_FIRMWARE_VOLUME_HEADER,
 * EFI_FFS_FILE_HEADER(2), EFI_COMMON_SECTION_HEADER(2)) and EDK2's
 * LzmaCustomDecompressLib (an LZMA "alone" stream: 5 bytes of properties,
 * the 8-byte uncompressed size, then the data).
 */
#include "ovmf.h"

#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "reader.h"

#define FV_HEADER_MIN	     56 /* up to and without the block map */
#define FFS_HEADER	     24
#define FFS_HEADER2	     32
#define FFS_ATTRIB_LARGE     0x01
#define FV_FILETYPE_FV_IMAGE 0x0b
#define SECTION_GUID_DEFINED 0x02
#define SECTION_PE32	     0x10
#define SECTION_FV_IMAGE     0x17
#define FVMAIN_MAX	     (256u << 20) /* a declared size beyond this is not OVMF's */

/* EE4E5898-3914-4259-9D6E-DC7BD79403CF: LZMA_CUSTOM_DECOMPRESS_GUID */
static const uint8_t lzma_guid[16] = {0x98, 0x58, 0x4e, 0xee, 0x14, 0x39, 0x59, 0x42,
				      0x9d, 0x6e, 0xdc, 0x7b, 0xd7, 0x94, 0x03, 0xcf};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static int bad(const char *what, size_t off, const char *msg)
{
	return err_set(-EBADMSG, "%s: offset 0x%zx: %s", what, off, msg);
}

/*
 * A firmware volume header at @off of @buf (@len bytes): its length and
 * where its files start (after the header and the extended header).
 */
static int fv_header(const uint8_t *buf, size_t len, size_t off, const char *what, size_t *ret_len,
		     size_t *ret_files)
{
	uint64_t fv_len;
	uint16_t hlen, ext;
	size_t files;

	if (off > len || len - off < FV_HEADER_MIN)
		return bad(what, off, "firmware volume header cut short");
	if (memcmp(buf + off + 40, "_FVH", 4) != 0)
		return bad(what, off, "no firmware volume signature \"_FVH\"");
	fv_len = le64_at(buf + off + 32);
	hlen = le16(buf + off + 48);
	ext = le16(buf + off + 52);
	if (fv_len > len - off)
		return err_set(-EBADMSG,
			       "%s: offset 0x%zx: firmware volume length 0x%" PRIx64
			       " runs past the end (0x%zx bytes left)",
			       what, off, fv_len, len - off);
	if (hlen < FV_HEADER_MIN || hlen > fv_len)
		return bad(what, off + 48, "firmware volume header length out of range");
	files = hlen;
	if (ext) {
		uint32_t ext_size;

		if (ext < hlen || (uint64_t)ext + 20 > fv_len)
			return bad(what, off + 52, "extended header offset out of range");
		ext_size = le32_at(buf + off + ext + 16);
		if (ext_size < 20 || ext_size > fv_len - ext)
			return bad(what, off + ext + 16, "extended header size out of range");
		files = (size_t)ext + ext_size;
	}
	*ret_len = (size_t)fv_len;
	*ret_files = files;
	return 0;
}

/* Iterates the FFS files of a volume (@fv, @fv_len bytes, files from @start). */
struct ffs_iter {
	const uint8_t *fv;
	size_t fv_len, next;
	const char *what;
	size_t base; /* the volume's offset in what @what names, for messages */
};

struct ffs_file {
	size_t off, len, hdr; /* in the volume; hdr: header bytes (24 or 32) */
	const uint8_t *name;
	uint8_t type;
};

/* 1 and *f for the next file, 0 at the end (free space), negative on a broken file. */
static int ffs_next(struct ffs_iter *it, struct ffs_file *f)
{
	size_t off = (it->next + 7) & ~(size_t)7;
	const uint8_t *h;
	size_t size, hdr = FFS_HEADER;
	bool free_space = true;

	if (off < it->next || off >= it->fv_len || it->fv_len - off < FFS_HEADER)
		return 0;
	h = it->fv + off;
	for (size_t i = 0; i < FFS_HEADER && free_space; i++)
		free_space = h[i] == 0xff;
	if (free_space)
		return 0;
	size = le24(h + 20);
	if (h[19] & FFS_ATTRIB_LARGE) {
		if (it->fv_len - off < FFS_HEADER2)
			return bad(it->what, it->base + off, "large FFS file header cut short");
		uint64_t big = le64_at(h + 24);

		if (big > it->fv_len)
			return bad(it->what, it->base + off + 24, "FFS file size past the volume");
		size = (size_t)big;
		hdr = FFS_HEADER2;
	}
	if (size < hdr)
		return bad(it->what, it->base + off + 20, "FFS file smaller than its header");
	if (size > it->fv_len - off)
		return bad(it->what, it->base + off + 20,
			   "FFS file runs past the end of its volume");
	f->off = off;
	f->len = size;
	f->hdr = hdr;
	f->name = h;
	f->type = h[18];
	it->next = off + size;
	return 1;
}

struct section {
	size_t off, len, hdr; /* in the buffer walked */
	uint8_t type;
};

/* Sections in [@start, @end) of @buf: 1 and *s, 0 at the end, negative when broken. */
static int section_next(const uint8_t *buf, size_t *pos, size_t end, const char *what, size_t base,
			struct section *s)
{
	size_t off = (*pos + 3) & ~(size_t)3;
	size_t size, hdr = 4;

	if (off < *pos || off >= end || end - off < 4)
		return 0;
	size = le24(buf + off);
	if (size == 0xffffff) {
		if (end - off < 8)
			return bad(what, base + off, "extended section header cut short");
		size = le32_at(buf + off + 4);
		hdr = 8;
	}
	if (size < hdr)
		return bad(what, base + off, "section smaller than its header");
	if (size > end - off)
		return bad(what, base + off, "section runs past the end of its file");
	s->off = off;
	s->len = size;
	s->hdr = hdr;
	s->type = buf[off + 3];
	*pos = off + size;
	return 1;
}

/* LZMA "alone" data as EDK2 writes it, into a buffer of the size its header declares. */
static int lzma_decompress(const uint8_t *in, size_t in_len, const char *what, size_t off,
			   uint8_t **ret, size_t *ret_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	uint64_t size;
	uint8_t *out;
	lzma_ret lr;

	if (in_len < 13)
		return bad(what, off, "LZMA header cut short");
	size = le64_at(in + 5);
	if (size == 0 || size > FVMAIN_MAX)
		return err_set(-EBADMSG,
			       "%s: offset 0x%zx: LZMA uncompressed size 0x%" PRIx64
			       " out of range",
			       what, off + 5, size);
	if (lzma_alone_decoder(&strm, 1u << 30) != LZMA_OK)
		return err_set(-ENOMEM, "%s: LZMA decoder: out of memory", what);
	if (!(out = malloc((size_t)size))) {
		lzma_end(&strm);
		return err_set(-ENOMEM, "out of memory");
	}
	strm.next_in = in;
	strm.avail_in = in_len;
	strm.next_out = out;
	strm.avail_out = (size_t)size;
	lr = lzma_code(&strm, LZMA_FINISH);
	/* EDK2 writes no end marker: the stream ends when the declared size is out */
	if ((lr != LZMA_STREAM_END && lr != LZMA_OK) || strm.avail_out != 0) {
		size_t at = off + (size_t)strm.total_in;

		lzma_end(&strm);
		free(out);
		return err_set(-EBADMSG, "%s: offset 0x%zx: LZMA data broken (%s)", what, at,
			       lr == LZMA_DATA_ERROR	 ? "corrupt data"
			       : lr == LZMA_FORMAT_ERROR ? "not LZMA"
			       : lr == LZMA_BUF_ERROR	 ? "ends before its declared size"
							 : "decoder error");
	}
	lzma_end(&strm);
	*ret = out;
	*ret_len = (size_t)size;
	return 0;
}

/*
 * The LZMA section of FVMAIN_COMPACT: the first FV-image file of any volume
 * of the image whose first section is GUID-defined with the LZMA GUID.
 */
static int find_lzma_section(const uint8_t *buf, size_t len, const char *what, size_t *ret_off,
			     size_t *ret_data, size_t *ret_end)
{
	size_t off = 0;

	while (off < len && len - off >= FV_HEADER_MIN) {
		size_t fv_len, files;
		struct ffs_iter it;
		struct ffs_file f;
		int rc;

		if (memcmp(buf + off + 40, "_FVH", 4) != 0) {
			if (off == 0)
				return bad(what, 0, "not an OVMF image: no firmware volume here");
			break;
		}
		if ((rc = fv_header(buf, len, off, what, &fv_len, &files)) < 0)
			return rc;
		it = (struct ffs_iter){buf + off, fv_len, files, what, off};
		while ((rc = ffs_next(&it, &f)) > 0) {
			struct section s;
			size_t pos, end;

			if (f.type != FV_FILETYPE_FV_IMAGE)
				continue;
			pos = off + f.off + f.hdr;
			end = off + f.off + f.len;
			while ((rc = section_next(buf, &pos, end, what, 0, &s)) > 0) {
				uint16_t data_off;

				if (s.type != SECTION_GUID_DEFINED)
					continue;
				if (s.len < s.hdr + 20)
					return bad(what, s.off,
						   "GUID-defined section header cut short");
				if (memcmp(buf + s.off + s.hdr, lzma_guid, 16) != 0)
					continue;
				data_off = le16(buf + s.off + s.hdr + 16);
				if (data_off < s.hdr + 20 || data_off > s.len)
					return bad(what, s.off + s.hdr + 16,
						   "GUID-defined section data offset out of range");
				*ret_off = s.off;
				*ret_data = s.off + data_off;
				*ret_end = s.off + s.len;
				return 0;
			}
			if (rc < 0)
				return rc;
		}
		if (rc < 0)
			return rc;
		if (fv_len == 0)
			break;
		off += fv_len;
	}
	return err_set(-EBADMSG,
		       "%s: no LZMA-compressed FVMAIN_COMPACT volume (not an OVMF "
		       "code image?)",
		       what);
}

/*
 * Where OVMF places PEIFV: its PEIMs run in place, so each PE32 image is
 * linked at its final address; the volume's base is the first image's
 * ImageBase minus the image's offset in the volume.  0 when there is none.
 */
static uint64_t pei_base(const struct ovmf_fv *fv, const char *what)
{
	struct ffs_iter it = {fv->data, fv->len, 0, what, fv->offset};
	struct ffs_file f;
	size_t files, fvl;

	if (fv_header(fv->data, fv->len, 0, what, &fvl, &files) < 0)
		return 0;
	it.next = files;
	while (ffs_next(&it, &f) > 0) {
		struct section s;
		size_t pos = f.off + f.hdr;

		while (section_next(fv->data, &pos, f.off + f.len, what, fv->offset, &s) > 0) {
			const uint8_t *pe = fv->data + s.off + s.hdr;
			size_t n = s.len - s.hdr;
			uint32_t lfanew;

			if (s.type != SECTION_PE32 || n < 0x40 || pe[0] != 'M' || pe[1] != 'Z')
				continue;
			lfanew = le32_at(pe + 0x3c);
			/* PE32+ optional header: ImageBase at 24 past the COFF header's 20 bytes */
			if (lfanew > n || n - lfanew < 24 + 32 || memcmp(pe + lfanew, "PE\0\0", 4))
				continue;
			if (le16(pe + lfanew + 24) == 0x20b) {
				uint64_t ib = le64_at(pe + lfanew + 24 + 24);

				return ib >= s.off + s.hdr ? ib - (s.off + s.hdr) : 0;
			}
			if (le16(pe + lfanew + 24) == 0x10b) {
				uint64_t ib = le32_at(pe + lfanew + 24 + 28);

				return ib >= s.off + s.hdr ? ib - (s.off + s.hdr) : 0;
			}
		}
	}
	return 0;
}

static int fv_from_section(const struct ovmf_code *c, const struct section *s, const char *what,
			   struct ovmf_fv *ret)
{
	size_t fv_len, files, body = s->off + s->hdr;
	int rc;

	if ((rc = fv_header(c->fvmain, c->fvmain_len, body, what, &fv_len, &files)) < 0)
		return rc;
	if (fv_len > s->len - s->hdr)
		return bad(what, body + 32, "firmware volume longer than its section");
	memset(ret, 0, sizeof(*ret));
	ret->data = c->fvmain + body;
	ret->len = fv_len;
	ret->offset = body;
	if (le16(ret->data + 52)) {
		memcpy(ret->name, ret->data + le16(ret->data + 52), 16);
		ret->has_name = true;
	}
	return 0;
}

int ovmf_code_read(const uint8_t *buf, size_t len, const char *what, struct ovmf_code *ret)
{
	struct ovmf_code c = {0};
	size_t data = 0, end = 0, pos = 0, n_fv = 0;
	char inner[512];
	struct section s;
	int rc;

	if ((rc = find_lzma_section(buf, len, what, &c.section_off, &data, &end)) < 0)
		return rc;
	if ((rc = lzma_decompress(buf + data, end - data, what, data, &c.fvmain, &c.fvmain_len)) <
	    0)
		return rc;
	snprintf(inner, sizeof(inner), "%s (FVMAIN, decompressed from 0x%zx)", what, data);
	while ((rc = section_next(c.fvmain, &pos, c.fvmain_len, inner, 0, &s)) > 0 && n_fv < 2) {
		if (s.type != SECTION_FV_IMAGE)
			continue;
		if ((rc = fv_from_section(&c, &s, inner, n_fv == 0 ? &c.pei : &c.dxe)) < 0)
			break;
		n_fv++;
	}
	if (rc < 0 || n_fv < 2) {
		free(c.fvmain);
		return rc < 0 ? rc
			      : err_set(-EBADMSG,
					"%s: FVMAIN holds %zu firmware volume(s), OVMF has two "
					"(PEIFV, DXEFV)",
					what, n_fv);
	}
	c.pei.base = pei_base(&c.pei, inner);
	/* OVMF's layout (OvmfPkg*.fdf): DXEFV's RAM copy follows PEIFV's */
	c.dxe.base = c.pei.base ? c.pei.base + c.pei.len : 0;
	*ret = c;
	return 0;
}

void ovmf_code_free(struct ovmf_code *c)
{
	free(c->fvmain);
	c->fvmain = NULL;
}

int ovmf_fv_file(const struct ovmf_fv *fv, const char *what, const uint8_t guid[16],
		 size_t *ret_off, size_t *ret_len)
{
	size_t fv_len, files;
	struct ffs_iter it;
	struct ffs_file f;
	int rc;

	if ((rc = fv_header(fv->data, fv->len, 0, what, &fv_len, &files)) < 0)
		return rc;
	it = (struct ffs_iter){fv->data, fv_len, files, what, fv->offset};
	while ((rc = ffs_next(&it, &f)) > 0)
		if (memcmp(f.name, guid, 16) == 0) {
			*ret_off = f.off;
			*ret_len = f.len;
			return 0;
		}
	return rc < 0 ? rc : -ENOENT;
}

int ovmf_fv_file_at(const struct ovmf_fv *fv, const char *what, size_t at, uint8_t ret_guid[16],
		    size_t *ret_off, size_t *ret_len)
{
	size_t fv_len, files;
	struct ffs_iter it;
	struct ffs_file f;
	int rc;

	if ((rc = fv_header(fv->data, fv->len, 0, what, &fv_len, &files)) < 0)
		return rc;
	it = (struct ffs_iter){fv->data, fv_len, files, what, fv->offset};
	while ((rc = ffs_next(&it, &f)) > 0)
		if (at >= f.off && at - f.off < f.len) {
			memcpy(ret_guid, f.name, 16);
			*ret_off = f.off;
			*ret_len = f.len;
			return 0;
		}
	return rc < 0 ? rc : -ENOENT;
}

int ovmf_fv_file_section(const struct ovmf_fv *fv, const char *what, size_t file_off, uint8_t type,
			 const uint8_t **ret, size_t *ret_len)
{
	struct ffs_iter it = {fv->data, fv->len, file_off, what, fv->offset};
	struct ffs_file f;
	struct section s;
	size_t pos;
	int rc;

	if ((rc = ffs_next(&it, &f)) <= 0 || f.off != file_off)
		return rc < 0 ? rc : bad(what, fv->offset + file_off, "no FFS file here");
	pos = f.off + f.hdr;
	while ((rc = section_next(fv->data, &pos, f.off + f.len, what, fv->offset, &s)) > 0)
		if (s.type == type) {
			*ret = fv->data + s.off + s.hdr;
			*ret_len = s.len - s.hdr;
			return 0;
		}
	return rc < 0 ? rc : -ENOENT;
}

int ovmf_fv_boot_option(const struct ovmf_code *c, const char *what, const uint8_t file_guid[16],
			uint32_t attributes, const char *description, uint8_t **ret,
			size_t *ret_len)
{
	static const uint8_t end_node[4] = {0x7f, 0xff, 0x04, 0x00};
	size_t off, flen, desc_bytes, total, p;
	const uint8_t *ui = NULL;
	size_t ui_len = 0;
	uint8_t *out;
	int rc;

	if (!c->dxe.has_name)
		return err_set(-EBADMSG, "%s: DXEFV has no name (extended header)", what);
	if ((rc = ovmf_fv_file(&c->dxe, what, file_guid, &off, &flen)) < 0)
		return rc;
	if (description) {
		desc_bytes = 2 * (strlen(description) + 1);
	} else {
		if ((rc = ovmf_fv_file_section(&c->dxe, what, off, 0x15, &ui, &ui_len)) < 0)
			return rc == -ENOENT ? err_set(-ENOENT,
						       "%s: the application has no "
						       "user-interface name",
						       what)
					     : rc;
		/* a NUL-terminated UCS-2 string: up to and with its first NUL */
		desc_bytes = 0;
		while (desc_bytes + 2 <= ui_len && (ui[desc_bytes] || ui[desc_bytes + 1]))
			desc_bytes += 2;
		if (desc_bytes + 2 > ui_len)
			return bad(what, c->dxe.offset + off, "user-interface name not terminated");
		desc_bytes += 2;
	}
	total = 4 + 2 + desc_bytes + 20 + 20 + 4;
	if (!(out = malloc(total)))
		return err_set(-ENOMEM, "out of memory");
	out[0] = (uint8_t)attributes;
	out[1] = (uint8_t)(attributes >> 8);
	out[2] = (uint8_t)(attributes >> 16);
	out[3] = (uint8_t)(attributes >> 24);
	out[4] = 44; /* FilePathListLength: the two 20-byte nodes and the end node */
	out[5] = 0;
	p = 6;
	if (description) {
		for (const char *d = description; *d; d++) {
			out[p++] = (uint8_t)*d;
			out[p++] = 0;
		}
		out[p++] = 0;
		out[p++] = 0;
	} else {
		memcpy(out + p, ui, desc_bytes);
		p += desc_bytes;
	}
	/* MEDIA_PIWG_FW_VOL_DP, MEDIA_PIWG_FW_FILE_DP */
	out[p] = 0x04, out[p + 1] = 0x07, out[p + 2] = 20, out[p + 3] = 0;
	memcpy(out + p + 4, c->dxe.name, 16);
	p += 20;
	out[p] = 0x04, out[p + 1] = 0x06, out[p + 2] = 20, out[p + 3] = 0;
	memcpy(out + p + 4, file_guid, 16);
	p += 20;
	memcpy(out + p, end_node, 4);
	*ret = out;
	*ret_len = total;
	return 0;
}

int ovmf_option_rom_efi(const uint8_t *buf, size_t len, const char *what,
			struct ovmf_option_rom *ret)
{
	size_t off = 0;

	/* PCI Firmware Specification 3.0: a chain of images, each 0x55 0xaa + PCIR */
	for (unsigned n = 0; n < 64; n++) {
		uint16_t pcir_off, img_blocks, hdr_off, compression;
		size_t img_len;
		const uint8_t *pcir;

		if (off > len || len - off < 0x1a)
			return bad(what, off, "option ROM image header cut short");
		if (buf[off] != 0x55 || buf[off + 1] != 0xaa)
			return bad(what, off, "no option ROM signature 55 aa");
		pcir_off = le16(buf + off + 0x18);
		if (pcir_off > len - off || len - off - pcir_off < 0x18)
			return bad(what, off + 0x18, "PCI data structure offset out of range");
		pcir = buf + off + pcir_off;
		if (memcmp(pcir, "PCIR", 4) != 0)
			return bad(what, off + pcir_off,
				   "no PCI data structure signature \"PCIR\"");
		img_blocks = le16(pcir + 0x10);
		img_len = (size_t)img_blocks * 512;
		if (img_len == 0 || img_len > len - off)
			return bad(what, off + pcir_off + 0x10, "image length out of range");
		if (pcir[0x14] == 3) { /* EFI image */
			if (le32_at(buf + off + 4) != 0x0ef1)
				return bad(what, off + 4, "EFI image without its signature 0x0EF1");
			compression = le16(buf + off + 0x0c);
			hdr_off = le16(buf + off + 0x16);
			if (compression != 0)
				return bad(what, off + 0x0c,
					   "EFI image is compressed (EFI compression is not read)");
			if (hdr_off < 0x1a || hdr_off >= img_len)
				return bad(what, off + 0x16,
					   "EFI image header offset out of range");
			ret->image_off = off;
			ret->image_size = img_len;
			ret->pe_off = off + hdr_off;
			ret->pe_len = img_len - hdr_off;
			ret->vendor = le16(pcir + 4);
			ret->device = le16(pcir + 6);
			return 0;
		}
		if (pcir[0x15] & 0x80)
			break;
		off += img_len;
	}
	return err_set(-ENOENT, "%s: the option ROM holds no EFI image", what);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ovmf_guid_parse(const char *t, uint8_t ret[16])
{
	/* byte order of the text's groups in EFI_GUID: 4 LE, 2 LE, 2 LE, 8 as written */
	static const int pos[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	uint8_t b[16];
	size_t n = 0;

	if (strlen(t) != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (t[i++] != '-')
				return -EINVAL;
			continue;
		}
		int hi = hexval(t[i]), lo = hexval(t[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	for (int i = 0; i < 16; i++)
		ret[pos[i]] = b[i];
	return 0;
}

void ovmf_guid_format(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}
