/* SPDX-License-Identifier: MIT */
/*
 * The Intel TXT heap (TXT Software Development Guide, appendix C): its four
 * tables BiosData, OsMleData, OsSinitData and SinitMleData, each a u64 size
 * (counting itself) and the data, and the DRTM event log the OsSinitData's
 * EVENT_LOG_POINTER2_1 element points at.  The heap is untrusted bytes:
 * every size and pointer is checked, errors name the offset and the field.
 * Layout and versions: docs/FORMATS.md "TXT heap".
 */
#ifndef MEASURED_TXT_HEAP_H
#define MEASURED_TXT_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* heap_ext_data_element_t types */
#define TXT_ELT_END		     0
#define TXT_ELT_BIOS_SPEC_VER	     1
#define TXT_ELT_ACM		     2
#define TXT_ELT_STM		     3
#define TXT_ELT_CUSTOM		     4
#define TXT_ELT_TPM_EVENT_LOG_PTR    5 /* TPM 1.2 container log */
#define TXT_ELT_MADT		     6
#define TXT_ELT_EVENT_LOG_POINTER2   7 /* TPM 2.0, one legacy log per bank */
#define TXT_ELT_EVENT_LOG_POINTER2_1 8 /* TPM 2.0, one TCG crypto-agile log */
#define TXT_MAX_ELEMENTS	     32

enum txt_table {
	TXT_BIOS_DATA,
	TXT_OS_MLE_DATA,
	TXT_OS_SINIT_DATA,
	TXT_SINIT_MLE_DATA,
	TXT_TABLES
};

struct txt_heap_table {
	size_t off;    /* heap offset of its u64 size field */
	uint64_t size; /* as the heap says, counting the size field */
	uint32_t version;
};

struct txt_heap {
	struct txt_heap_table table[TXT_TABLES];
	uint32_t os_sinit_flags;    /* v7+: bit 0 asks SINIT for the agile log (EXTPOL) */
	uint32_t sinit_caps;	    /* OsSinitData.capabilities (bit 9: DA PCR mapping) */
	uint32_t proc_scrtm_status; /* SinitMleData v8+ */
	unsigned n_elements;	    /* OsSinitData's extended elements, END excluded */
	uint32_t element_type[TXT_MAX_ELEMENTS];
	/* the EVENT_LOG_POINTER2_1 element, when there is one */
	int has_log;
	uint64_t log_phys;
	uint32_t log_alloc, log_first, log_next;
	size_t log_heap_off; /* where phys_addr falls in the heap */
	const uint8_t *log;  /* inside the caller's buffer: [phys, phys + next_record_offset) */
	size_t log_len;
};

/*
 * Parses the heap @heap of @len bytes whose first byte sits at physical
 * address @phys_base (what TXT.HEAP.BASE says).  The log pointer must lie
 * inside the heap.  A heap without an EVENT_LOG_POINTER2_1 (a TPM 1.2
 * launch, or no launch) parses with has_log 0.  Returns 0 or -EBADMSG with
 * a message naming the offset and the field; *ret is written only on success.
 */
int txt_heap_parse(const uint8_t *heap, size_t len, uint64_t phys_base, const char *what,
		   struct txt_heap *ret);

/*
 * A heap image as Intel SecL's trust agent keeps one (its test data
 * txt_heap_info.bin): u64 heap base and u64 heap size at offsets 0 and 8,
 * the heap at file offset `base`, its log pointer relative to the heap's
 * start.  The heap may be cut short by the end of the file; the tables must
 * still lie inside it.  Offsets in errors are the file's.
 */
int txt_heap_image_parse(const uint8_t *file, size_t len, const char *what, struct txt_heap *ret);

/* "BiosData", ... */
const char *txt_table_name(enum txt_table t);

/*
 * The DRTM log out of a heap image (txt_heap_image_parse) or, when @file is
 * not one, fails naming why.  *ret_log points into @file.
 */
int txt_heap_image_log(const uint8_t *file, size_t len, const char *what, const uint8_t **ret_log,
		       size_t *ret_len);

#endif
