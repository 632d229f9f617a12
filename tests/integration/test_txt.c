// SPDX-License-Identifier: MIT
/*
 * Intel TXT: the heap reader on the real S2600WF heap image of Intel SecL's
 * test data and on heaps we build and break; the DRTM log served by attestd
 * and replayed by attest; the real SecL cases (docs/FORMATS.md "TXT heap").
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "txt_heap.h"
#include "testutil.h"

static char dir[64];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

struct ev {
	unsigned pcr;
	uint32_t type;
	uint8_t fill; /* digests: every byte @fill (sha1 and sha256) */
};

/* A crypto-agile DRTM log (sha1 + sha256) of @n events; returns its length. */
static size_t mklog(uint8_t *log, const struct ev *ev, size_t n)
{
	size_t off;

	memset(log, 0, 32);
	put32(log + 4, EV_NO_ACTION);
	put32(log + 28, 37);
	memcpy(log + 32, "Spec ID Event03", 16);
	log[32 + 21] = 2;  /* spec 2.0 */
	log[32 + 23] = 2;  /* uintn size */
	put32(log + 32 + 24, 2);
	log[32 + 28] = 0x04; log[32 + 29] = 0; log[32 + 30] = 20; log[32 + 31] = 0;
	log[32 + 32] = 0x0b; log[32 + 33] = 0; log[32 + 34] = 32; log[32 + 35] = 0;
	log[32 + 36] = 0;
	off = 32 + 37;
	for (size_t i = 0; i < n; i++) {
		put32(log + off, ev[i].pcr);
		put32(log + off + 4, ev[i].type);
		put32(log + off + 8, 2);
		log[off + 12] = 0x04;
		log[off + 13] = 0;
		memset(log + off + 14, ev[i].fill, 20);
		log[off + 34] = 0x0b;
		log[off + 35] = 0;
		memset(log + off + 36, ev[i].fill, 32);
		put32(log + off + 68, 0);
		off += 72;
	}
	return off;
}

/* Table offsets in the heap mkheap builds */
#define H_BIOS	    0
#define H_OSMLE	    0x2c
#define H_OSMLE_LEN 0x1010
#define H_LOG	    (H_OSMLE + 16)
#define H_SINIT	    (H_OSMLE + H_OSMLE_LEN)
#define H_SINIT_LEN (8 + 92 + 28 + 8)
#define H_SMLE	    (H_SINIT + H_SINIT_LEN)
#define H_SMLE_LEN  (8 + 148)
#define H_LEN	    (H_SMLE + H_SMLE_LEN)

/* A heap as a TXT launch leaves it (the versions of the S2600WF), the log inside OsMleData. */
static size_t mkheap(uint8_t *heap, uint64_t base, const uint8_t *log, size_t log_len)
{
	memset(heap, 0, H_LEN);
	put64(heap + H_BIOS, 0x2c);
	put32(heap + H_BIOS + 8, 3);
	put64(heap + H_OSMLE, H_OSMLE_LEN);
	put32(heap + H_OSMLE + 8, 3);
	memcpy(heap + H_LOG, log, log_len);
	put64(heap + H_SINIT, H_SINIT_LEN);
	put32(heap + H_SINIT + 8, 7);
	put32(heap + H_SINIT + 12, 1);
	put32(heap + H_SINIT + 8 + 80, 0x201);
	put32(heap + H_SINIT + 8 + 92, TXT_ELT_EVENT_LOG_POINTER2_1);
	put32(heap + H_SINIT + 8 + 96, 28);
	put64(heap + H_SINIT + 8 + 100, base + H_LOG);
	put32(heap + H_SINIT + 8 + 108, 0x1000);
	put32(heap + H_SINIT + 8 + 112, 0);
	put32(heap + H_SINIT + 8 + 116, (uint32_t)log_len);
	put32(heap + H_SINIT + 8 + 120, TXT_ELT_END);
	put32(heap + H_SINIT + 8 + 124, 8);
	put64(heap + H_SMLE, H_SMLE_LEN);
	put32(heap + H_SMLE + 8, 9);
	return H_LEN;
}

static const struct ev launch[] = {
	{17, 0x402, 0x11}, {17, 0x40a, 0x12}, {17, 0x40b, 0x13}, {17, 0x404, 0x14},
	{18, 0x410, 0x21}, {17, 0x501, 0x15}, {18, 0x501, 0x22},
};

static void test_heap_real_s2600wf(void **state)
{
	const char *path, *xpath;
	uint8_t *img = NULL, *x = NULL;
	size_t len, xlen;
	struct txt_heap heap;
	struct tcg_log log;

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	path = testdata_path("external/txt/intel-secl/txt_heap_info.bin");
	assert_int_equal(file_read_all(path, 4u << 20, &img, &len), 0);
	if (txt_heap_image_parse(img, len, path, &heap) < 0)
		fail_msg("%s", err_msg());
	/* the versions the README found on this machine */
	assert_int_equal(heap.table[TXT_BIOS_DATA].version, 3);
	assert_int_equal(heap.table[TXT_BIOS_DATA].size, 0x2c);
	assert_int_equal(heap.table[TXT_OS_MLE_DATA].size, 0x15120);
	assert_int_equal(heap.table[TXT_OS_SINIT_DATA].version, 7);
	assert_int_equal(heap.table[TXT_SINIT_MLE_DATA].version, 9);
	assert_int_equal(heap.os_sinit_flags, 1);
	assert_int_equal(heap.sinit_caps, 0x201);
	assert_true(heap.has_log);
	assert_int_equal(heap.log_alloc, 0x2000);
	assert_int_equal(heap.log_next, 1722);
	/* the log sits at file offset 0x1114c (the README's independent extraction) */
	assert_int_equal(heap.log - img, 0x1114c);
	xpath = testdata_path("external/txt/intel-secl/txt_heap_info.extracted_evtlog.bin");
	assert_int_equal(file_read_all(xpath, 1u << 20, &x, &xlen), 0);
	assert_true(xlen >= heap.log_len);
	assert_memory_equal(heap.log, x, heap.log_len);
	for (size_t i = heap.log_len; i < xlen; i++)
		assert_int_equal(x[i], 0); /* nothing of the log beyond next_record_offset */
	if (tcg_log_parse(heap.log, heap.log_len, "DRTM log", &log) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(log.n_algs, 2);
	assert_int_equal(log.event[0].type, 0x402); /* HASH_START first */
	tcg_log_free(&log);
	free(img);
	free(x);
}

static void expect_refused(const uint8_t *heap, size_t len, uint64_t base, const char *want1,
			   const char *want2)
{
	struct txt_heap h;

	assert_int_equal(txt_heap_parse(heap, len, base, "heap", &h), -EBADMSG);
	if (!strstr(err_msg(), want1) || (want2 && !strstr(err_msg(), want2)))
		fail_msg("wanted \"%s\" %s in: %s", want1, want2 ? want2 : "", err_msg());
}

static void test_heap_built_and_broken(void **state)
{
	static uint8_t heap[H_LEN + 64], log[2048];
	size_t log_len = mklog(log, launch, 7), len;
	const uint64_t base = 0x7a000000;
	struct txt_heap h;
	char want[64];

	(void)state;
	len = mkheap(heap, base, log, log_len);
	if (txt_heap_parse(heap, len, base, "heap", &h) < 0)
		fail_msg("%s", err_msg());
	assert_true(h.has_log);
	assert_int_equal(h.log - heap, H_LOG);
	assert_int_equal(h.log_len, log_len);
	assert_int_equal(h.n_elements, 1);

	/* a table's size runs past the heap's end */
	put64(heap + H_SMLE, H_SMLE_LEN + 1);
	snprintf(want, sizeof(want), "offset %d ", H_SMLE);
	expect_refused(heap, len, base, want, "SinitMleData: size 0x9d outside");
	mkheap(heap, base, log, log_len);
	put64(heap + H_OSMLE, 1ull << 40);
	expect_refused(heap, len, base, "OsMleData: size 0x10000000000 outside", NULL);
	/* cut short */
	mkheap(heap, base, log, log_len);
	expect_refused(heap, H_SINIT + 4, base, "OsSinitData: size field runs past", NULL);
	/* the log pointer outside the heap, before and after it, and its allocation past the end */
	put64(heap + H_SINIT + 8 + 100, base - 0x100);
	expect_refused(heap, len, base, "lies outside the heap", "0x79ffff00");
	put64(heap + H_SINIT + 8 + 100, base + len + 1);
	expect_refused(heap, len, base, "lies outside the heap", NULL);
	put64(heap + H_SINIT + 8 + 100, base + len - 0x100);
	expect_refused(heap, len, base, "lies outside the heap", "4096 bytes");
	/* next_record_offset beyond the allocation */
	mkheap(heap, base, log, log_len);
	put32(heap + H_SINIT + 8 + 116, 0x1001);
	expect_refused(heap, len, base, "next_record_offset 4097", "do not nest");
	/* an element whose size runs past the table, one of size 0 (would loop) */
	mkheap(heap, base, log, log_len);
	put32(heap + H_SINIT + 8 + 96, 37);
	snprintf(want, sizeof(want), "offset %d ", H_SINIT + 8 + 96);
	expect_refused(heap, len, base, want, "size 37 outside 8..36");
	put32(heap + H_SINIT + 8 + 96, 0);
	expect_refused(heap, len, base, "size 0 outside", NULL);
	/* no END element */
	mkheap(heap, base, log, log_len);
	put32(heap + H_SINIT + 8 + 120, 99);
	put32(heap + H_SINIT + 8 + 124, 8);
	expect_refused(heap, len, base, "header runs past the table", NULL);
	/* an unknown version, a table too small for its version */
	mkheap(heap, base, log, log_len);
	put32(heap + H_SINIT + 8, 8);
	expect_refused(heap, len, base, "OsSinitData: version 8 is not one we know", NULL);
	mkheap(heap, base, log, log_len);
	put64(heap + H_BIOS, 0x20);
	expect_refused(heap, len, base, "BiosData: size 0x20 too small for version 3", NULL);
	/* SinitMleData's DMAR offset outside it */
	mkheap(heap, base, log, log_len);
	put32(heap + H_SMLE + 8 + 136, 0x40);
	put32(heap + H_SMLE + 8 + 140, 0x90);
	expect_refused(heap, len, base, "DMAR table of 64 bytes at 0x90", NULL);
	/* no log pointer: parses, has_log 0 */
	mkheap(heap, base, log, log_len);
	put32(heap + H_SINIT + 8 + 92, TXT_ELT_END);
	put32(heap + H_SINIT + 8 + 96, 8);
	assert_int_equal(txt_heap_parse(heap, len, base, "heap", &h), 0);
	assert_false(h.has_log);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-txt.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_real_s2600wf),
		cmocka_unit_test(test_heap_built_and_broken),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
