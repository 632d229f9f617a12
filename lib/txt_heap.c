// SPDX-License-Identifier: MIT
/* The Intel TXT heap: its four tables and the DRTM event log it points at. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "reader.h"
#include "txt_heap.h"

static const char *const table_name[TXT_TABLES] = {"BiosData", "OsMleData", "OsSinitData",
						   "SinitMleData"};

/* The data each table must hold for its version (after the size field); 0: unknown version. */
static size_t table_min(enum txt_table t, uint32_t v)
{
	switch (t) {
	case TXT_BIOS_DATA: /* version .. num_logical_procs; flags from v3 */
		return v < 2 || v > 6 ? 0 : v >= 3 ? 36 : 28;
	case TXT_OS_MLE_DATA: /* ours (tboot's) to define: its version only */
		return 4;
	case TXT_OS_SINIT_DATA: /* capabilities at 80; efi_rsdt_ptr from v5; elements from v6 */
		return v < 4 || v > 7 ? 0 : v >= 5 ? 92 : 84;
	case TXT_SINIT_MLE_DATA: /* vtd_dmars_off at 140; proc_scrtm_status from v8 */
		return v < 6 || v > 9 ? 0 : v >= 8 ? 148 : 144;
	default:
		return 0;
	}
}

struct heap_ctx {
	const uint8_t *buf; /* the file (or heap) */
	size_t origin;	    /* file offset of the heap's first byte */
	size_t end;	    /* file offset just past the heap's last byte we hold */
	const char *what;
};

static int heap_fail(const struct heap_ctx *h, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int heap_fail(const struct heap_ctx *h, size_t off, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(-EBADMSG, "%s: offset %zu (0x%zx): %s", h->what, off, off, msg);
}

const char *txt_table_name(enum txt_table t)
{
	return t < TXT_TABLES ? table_name[t] : "?";
}

/*
 * Extended data elements {u32 type, u32 size counting the header, data}
 * from @off up to @end, ending with an END element.
 */
static int parse_elements(const struct heap_ctx *h, const char *table, size_t off, size_t end,
			  struct txt_heap *out, uint64_t phys_base)
{
	for (unsigned n = 0;; n++) {
		uint32_t type, size;

		if (end - off < 8)
			return heap_fail(h, off,
					 "%s: extended element %u: header runs past the table",
					 table, n);
		type = le32_at(h->buf + off);
		size = le32_at(h->buf + off + 4);
		if (size < 8 || size > end - off)
			return heap_fail(h, off + 4,
					 "%s: extended element %u (type %u): size %u outside "
					 "8..%zu",
					 table, n, type, size, end - off);
		if (type == TXT_ELT_END)
			return 0;
		if (n == TXT_MAX_ELEMENTS)
			return heap_fail(h, off, "%s: more than %d extended elements", table,
					 TXT_MAX_ELEMENTS);
		if (out) {
			out->element_type[out->n_elements++] = type;
			if (type == TXT_ELT_EVENT_LOG_POINTER2_1) {
				const uint8_t *p = h->buf + off + 8;
				uint64_t heap_len = h->end - h->origin, rel;

				if (size < 8 + 20)
					return heap_fail(h, off + 4,
							 "%s: EVENT_LOG_POINTER2_1 of %u bytes (28 "
							 "needed)",
							 table, size);
				if (out->has_log)
					return heap_fail(
						h, off, "%s: a second EVENT_LOG_POINTER2_1", table);
				out->log_phys = le64_at(p);
				out->log_alloc = le32_at(p + 8);
				out->log_first = le32_at(p + 12);
				out->log_next = le32_at(p + 16);
				if (out->log_next > out->log_alloc ||
				    out->log_first > out->log_next)
					return heap_fail(
						h, off + 8 + 12,
						"%s: EVENT_LOG_POINTER2_1: first_record_offset %u, "
						"next_record_offset %u, allocated %u do not nest",
						table, out->log_first, out->log_next,
						out->log_alloc);
				if (out->log_phys < phys_base ||
				    (rel = out->log_phys - phys_base) > heap_len ||
				    out->log_alloc > heap_len - rel)
					return heap_fail(
						h, off + 8,
						"%s: EVENT_LOG_POINTER2_1: the log at 0x%llx (%u "
						"bytes) lies outside the heap [0x%llx, 0x%llx)",
						table, (unsigned long long)out->log_phys,
						out->log_alloc, (unsigned long long)phys_base,
						(unsigned long long)(phys_base + heap_len));
				out->has_log = 1;
				out->log_heap_off = (size_t)rel;
				out->log = h->buf + h->origin + rel;
				out->log_len = out->log_next;
			}
		}
		off += size;
	}
}

static int parse(const struct heap_ctx *h, uint64_t phys_base, struct txt_heap *ret)
{
	struct txt_heap out = {0};
	size_t off = h->origin;
	int rc;

	for (int t = 0; t < TXT_TABLES; t++) {
		struct txt_heap_table *tb = &out.table[t];
		size_t min, data;

		if (h->end - off < 8)
			return heap_fail(h, off, "%s: size field runs past the heap's end",
					 table_name[t]);
		tb->off = off - h->origin;
		tb->size = le64_at(h->buf + off);
		if (tb->size < 8 + 4 || tb->size > h->end - off)
			return heap_fail(h, off,
					 "%s: size 0x%llx outside 12..0x%zx (the heap left)",
					 table_name[t], (unsigned long long)tb->size, h->end - off);
		data = off + 8;
		tb->version = le32_at(h->buf + data);
		min = table_min((enum txt_table)t, tb->version);
		if (!min)
			return heap_fail(h, data, "%s: version %u is not one we know",
					 table_name[t], tb->version);
		if (tb->size - 8 < min)
			return heap_fail(
				h, off, "%s: size 0x%llx too small for version %u (0x%zx needed)",
				table_name[t], (unsigned long long)tb->size, tb->version, min + 8);
		switch (t) {
		case TXT_BIOS_DATA:
			if (tb->version >= 4 &&
			    (rc = parse_elements(h, "BiosData", data + 36, off + tb->size, NULL,
						 phys_base)) < 0)
				return rc;
			break;
		case TXT_OS_SINIT_DATA:
			out.os_sinit_flags = tb->version >= 7 ? le32_at(h->buf + data + 4) : 0;
			out.sinit_caps = le32_at(h->buf + data + 80);
			if (tb->version >= 6 &&
			    (rc = parse_elements(h, "OsSinitData", data + 92, off + tb->size, &out,
						 phys_base)) < 0)
				return rc;
			break;
		case TXT_SINIT_MLE_DATA: {
			uint32_t n_mdrs = le32_at(h->buf + data + 128),
				 mdrs_off = le32_at(h->buf + data + 132),
				 dmar_len = le32_at(h->buf + data + 136),
				 dmar_off = le32_at(h->buf + data + 140);

			/* both offsets count from the table's size field */
			if (n_mdrs && (mdrs_off < 8 || mdrs_off > tb->size ||
				       (uint64_t)n_mdrs * 16 > tb->size - mdrs_off))
				return heap_fail(h, data + 128,
						 "SinitMleData: %u memory descriptors at 0x%x run "
						 "past the table (0x%llx)",
						 n_mdrs, mdrs_off, (unsigned long long)tb->size);
			if (dmar_len &&
			    (dmar_off < 8 || dmar_off > tb->size || dmar_len > tb->size - dmar_off))
				return heap_fail(
					h, data + 136,
					"SinitMleData: DMAR table of %u bytes at 0x%x runs "
					"past the table (0x%llx)",
					dmar_len, dmar_off, (unsigned long long)tb->size);
			if (tb->version >= 8)
				out.proc_scrtm_status = le32_at(h->buf + data + 144);
			break;
		}
		default:
			break;
		}
		off += tb->size;
	}
	*ret = out;
	return 0;
}

int txt_heap_parse(const uint8_t *heap, size_t len, uint64_t phys_base, const char *what,
		   struct txt_heap *ret)
{
	struct heap_ctx h = {.buf = heap, .origin = 0, .end = len, .what = what};

	return parse(&h, phys_base, ret);
}

int txt_heap_image_parse(const uint8_t *file, size_t len, const char *what, struct txt_heap *ret)
{
	struct heap_ctx h = {.buf = file, .what = what};
	uint64_t base, size;

	if (len < 16)
		return heap_fail(&h, 0, "%zu bytes: no heap base and size (16 bytes)", len);
	base = le64_at(file);
	size = le64_at(file + 8);
	if (base < 16 || base >= len)
		return heap_fail(&h, 0, "heap base 0x%llx outside the image (16..0x%zx)",
				 (unsigned long long)base, len);
	if (size == 0)
		return heap_fail(&h, 8, "heap size 0");
	h.origin = (size_t)base;
	h.end = size < len - base ? (size_t)(base + size) : len; /* cut short by the file */
	/* the image's log pointer counts from the heap's start */
	return parse(&h, 0, ret);
}

int txt_heap_image_log(const uint8_t *file, size_t len, const char *what, const uint8_t **ret_log,
		       size_t *ret_len)
{
	struct txt_heap heap;
	int rc = txt_heap_image_parse(file, len, what, &heap);

	if (rc < 0)
		return rc;
	if (!heap.has_log)
		return err_set(
			-ENOENT,
			"%s: OsSinitData v%u has no EVENT_LOG_POINTER2_1 element (no TPM 2.0 "
			"TCG-format DRTM log)",
			what, heap.table[TXT_OS_SINIT_DATA].version);
	*ret_log = heap.log;
	*ret_len = heap.log_len;
	return 0;
}
