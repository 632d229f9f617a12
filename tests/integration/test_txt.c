// SPDX-License-Identifier: MIT
/*
 * Intel TXT: the heap reader on the real S2600WF heap image of Intel SecL's
 * test data and on heaps we build and break; the DRTM log served by attestd
 * and replayed by attest; the real SecL cases (docs/FORMATS.md "TXT heap").
 */
#include <errno.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cbor.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "attest_proto.h"
#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"
#include "tpm_attest.h"
#include "txt_heap.h"

static char dir[64], where[64];
static struct swtpm sw;
static pid_t attestd_pid = -1;
static int port;

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
	log[32 + 21] = 2; /* spec 2.0 */
	log[32 + 23] = 2; /* uintn size */
	put32(log + 32 + 24, 2);
	log[32 + 28] = 0x04;
	log[32 + 29] = 0;
	log[32 + 30] = 20;
	log[32 + 31] = 0;
	log[32 + 32] = 0x0b;
	log[32 + 33] = 0;
	log[32 + 34] = 32;
	log[32 + 35] = 0;
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

/* One sha256-only event with digest @d (32 bytes), for logs of real or computed digests. */
static size_t put_event256(uint8_t *log, size_t off, unsigned pcr, uint32_t type, const uint8_t *d)
{
	put32(log + off, pcr);
	put32(log + off + 4, type);
	put32(log + off + 8, 1);
	log[off + 12] = 0x0b;
	log[off + 13] = 0;
	memcpy(log + off + 14, d, 32);
	put32(log + off + 46, 0);
	return off + 50;
}

/* The Spec ID header of a log with one bank, @alg (TPM_ALG_ID) of @size bytes. */
static size_t put_header1(uint8_t *log, uint16_t alg, uint16_t size)
{
	memset(log, 0, 65);
	put32(log + 4, EV_NO_ACTION);
	put32(log + 28, 33);
	memcpy(log + 32, "Spec ID Event03", 16);
	log[32 + 21] = 2;
	log[32 + 23] = 2;
	put32(log + 32 + 24, 1);
	log[32 + 28] = (uint8_t)alg;
	log[32 + 29] = (uint8_t)(alg >> 8);
	log[32 + 30] = (uint8_t)size;
	log[32 + 31] = (uint8_t)(size >> 8);
	return 65;
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned n = 32;

	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
}

static void hexs(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
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

/* --- the protocol: a fourth log, older peers unaffected --- */

static size_t logs_array_size(const uint8_t *body, size_t len)
{
	struct cbor_load_result res;
	cbor_item_t *m = cbor_load(body, len, &res), *logs = NULL;
	size_t n = 0;

	assert_non_null(m);
	for (size_t i = 0; i < cbor_map_size(m); i++)
		if (cbor_get_uint8(cbor_map_handle(m)[i].key) == 15)
			logs = cbor_map_handle(m)[i].value;
	assert_non_null(logs);
	n = cbor_array_size(logs);
	cbor_decref(&m);
	return n;
}

static void test_proto_three_and_four_logs(void **state)
{
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = 7}, back;
	struct attest_response r = {0}, got;
	uint8_t attest[8] = {1}, sig[8] = {2}, log[4] = {'d', 'r', 't', 'm'}, *buf;
	size_t len;

	(void)state;
	assert_int_equal(pcr_selection_parse("sha256:17,18", &req.sel), 0);
	/* without the DRTM log a request is what version 1 sent: 3 offsets; it decodes */
	assert_int_equal(attest_request_encode(&req, &buf, &len), 0);
	assert_non_null(memmem(buf, len, "\x05\x83", 2)); /* key 5: array(3) */
	assert_int_equal(attest_request_decode(buf, len, &back), 0);
	assert_int_equal(back.logs, 7);
	free(buf);
	req.logs = 15;
	req.offset[ATTEST_LOG_DRTM] = 9;
	assert_int_equal(attest_request_encode(&req, &buf, &len), 0);
	assert_non_null(memmem(buf, len, "\x05\x84", 2));
	assert_int_equal(attest_request_decode(buf, len, &back), 0);
	assert_int_equal(back.offset[ATTEST_LOG_DRTM], 9);
	free(buf);
	/* asking for the DRTM log with 3 offsets (CBOR made by hand), or an unknown log: refused */
	{
		cbor_item_t *m = cbor_new_definite_map(6), *offs = cbor_new_definite_array(3);
		unsigned char *raw = NULL;
		size_t raw_size = 0, raw_len;

		for (int i = 0; i < 3; i++)
			assert_true(cbor_array_push(offs, cbor_move(cbor_build_uint8(0))));
		uint8_t nonce[16] = {0};
		struct {
			uint8_t k;
			cbor_item_t *v;
		} kv[] = {{0, cbor_build_uint8(1)},
			  {1, cbor_build_uint8(1)},
			  {2, cbor_build_bytestring(nonce, 16)},
			  {3, cbor_build_string("sha256:17")},
			  {4, cbor_build_uint8(15)},
			  {5, offs}};
		for (int i = 0; i < 6; i++)
			assert_true(cbor_map_add(
				m, (struct cbor_pair){cbor_move(cbor_build_uint8(kv[i].k)),
						      cbor_move(kv[i].v)}));
		raw_len = cbor_serialize_alloc(m, &raw, &raw_size);
		assert_int_equal(attest_request_decode(raw, raw_len, &back), -EBADMSG);
		if (!strstr(err_msg(), "the DRTM log asked for without its offset"))
			fail_msg("%s", err_msg());
		cbor_decref(&m);
		free(raw);
	}
	req.logs = 31;
	assert_int_equal(attest_request_encode(&req, &buf, &len), 0);
	assert_int_equal(attest_request_decode(buf, len, &back), -EBADMSG);
	assert_non_null(strstr(err_msg(), "unknown logs 0x1f"));
	free(buf);

	/* a response without a DRTM log has 3 log entries (what older verifiers decode) */
	r.attest = attest;
	r.attest_len = sizeof(attest);
	r.sig = sig;
	r.sig_len = sizeof(sig);
	assert_int_equal(pcr_selection_parse("sha256:17", &r.sel), 0);
	pcr_banks_init(&r.pcrs);
	pcr_banks_add(&r.pcrs, hash_alg_by_name("sha256"));
	r.has_log[ATTEST_LOG_TCG] = true;
	r.log[ATTEST_LOG_TCG] = log;
	r.log_len[ATTEST_LOG_TCG] = 2;
	assert_int_equal(attest_response_encode(&r, &buf, &len), 0);
	assert_int_equal(logs_array_size(buf, len), 3);
	assert_int_equal(attest_response_decode(buf, len, &got), 0);
	assert_true(got.has_log[ATTEST_LOG_TCG]);
	assert_false(got.has_log[ATTEST_LOG_DRTM]);
	attest_response_free(&got);
	free(buf);
	/* with one, 4; it decodes with the log */
	r.has_log[ATTEST_LOG_DRTM] = true;
	r.log[ATTEST_LOG_DRTM] = log;
	r.log_len[ATTEST_LOG_DRTM] = 4;
	r.log_offset[ATTEST_LOG_DRTM] = 0;
	assert_int_equal(attest_response_encode(&r, &buf, &len), 0);
	assert_int_equal(logs_array_size(buf, len), 4);
	assert_int_equal(attest_response_decode(buf, len, &got), 0);
	assert_true(got.has_log[ATTEST_LOG_DRTM]);
	assert_int_equal(got.log_len[ATTEST_LOG_DRTM], 4);
	assert_memory_equal(got.log[ATTEST_LOG_DRTM], "drtm", 4);
	attest_response_free(&got);
	free(buf);
}

/* --- attestd serving the DRTM log, attest verify replaying it (swtpm, sha256 bank) --- */

static void attestd_stop(void)
{
	if (attestd_pid > 0) { /* never kill(0): that is our own process group */
		kill(attestd_pid, SIGTERM);
		waitpid(attestd_pid, NULL, 0);
	}
	attestd_pid = -1;
}

/* attestd with --OPT PATH for the DRTM log ("drtm-log" or "txt-heap"). */
static void attestd_start(const char *opt, const char *path)
{
	char listen[64], flag[32];

	attestd_stop();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(flag, sizeof(flag), "--%s", opt);
	attestd_pid = fork();
	if (attestd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(bin_path("attestd"), "attestd", "--config", "/dev/null", "--tcti", sw.tcti,
		      "--listen", listen, "--firmware-log", "none", "--ima-log", "none",
		      "--cel-log", "none", flag, path, "--batch-ms", "5", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		usleep(20000);
	}
	fail_msg("attestd did not start");
}

/* Writes @len bytes to DIR/@name in place (attestd keeps the descriptor it opened). */
static void write_in_place(const char *name, const void *data, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int attest(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int attest(char **out, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh(out, "cd %s && %s --state state %s 2>&1", dir, bin_path("attest"), args);
}

/* A quote of sha256 PCR 17 and 18 with the DRTM log, verified; returns attest verify's exit. */
static int quote_and_verify(char **out, const char *ref)
{
	char *q = NULL;

	if (attest(&q, "quote %s --pcrs sha256:17,18 --out ev.cbor", where) != 0)
		fail_msg("attest quote: %s", q);
	free(q);
	return attest(out, "verify ev.cbor%s%s", ref ? " --reference " : "", ref ? ref : "");
}

static const char mle_data[] = "the MLE, as SINIT hashes it";

/* The DRTM log of our simulated launch: HASH_START with H(mle_data), then @extra events. */
static size_t launch_log(uint8_t *log, const uint8_t *hash_start, unsigned extra_pcr)
{
	size_t off = put_header1(log, 0x0b, 32);
	uint8_t d[32];

	off = put_event256(log, off, 17, 0x402, hash_start);
	if (extra_pcr) {
		memset(d, 0x5a, sizeof(d));
		off = put_event256(log, off, extra_pcr, 0x501, d);
	}
	return off;
}

static void test_no_launch_log_lies(void **state)
{
	uint8_t log[512], h[32];
	char *out = NULL;

	(void)state;
	/* swtpm was never launched: PCR 17 and 18 read all-ones */
	sha256(mle_data, strlen(mle_data), h);
	write_in_place("drtm.log", log, launch_log(log, h, 0));
	assert_int_equal(quote_and_verify(&out, NULL), 1);
	assert_string_equal(ear_check_status(out, "drtm"), "contraindicated");
	if (!strstr(out, "PCR 17 reads all-ones: there was no measured launch, yet the DRTM log "
			 "claims 1 events (the first, type 0x402 in PCR 17 at offset 65)"))
		fail_msg("%s", out);
	assert_string_equal(ear_status(out), "contraindicated");
	free(out);
}

static void test_launch_replayed_and_referenced(void **state)
{
	uint8_t log[512], h[32], zero_h[64], pcr17[32], other[32], other17[32];
	char *out = NULL, hex17[65], hexh[65], hexo[65], hexo17[65], path[128];
	FILE *f;

	(void)state;
	/* the launch: TPM2_HashStart/Data/End at locality 4 resets 17-22, PCR 17 := H(0 || H(mle)) */
	assert_int_equal(sh(NULL, "swtpm_ioctl --tcp 127.0.0.1:%d -h '%s'", sw.port + 1, mle_data),
			 0);
	sha256(mle_data, strlen(mle_data), h);
	memset(zero_h, 0, 32);
	memcpy(zero_h + 32, h, 32);
	sha256(zero_h, 64, pcr17);
	hexs(pcr17, 32, hex17);
	hexs(h, 32, hexh);
	write_in_place("drtm.log", log, launch_log(log, h, 0));
	snprintf(path, sizeof(path), "%s/ref.json", dir);
	f = fopen(path, "w");
	fprintf(f,
		"{\"pcrs\":{\"sha256\":{\"17\":\"%s\"}},\"components\":{\"tboot\":{\"events\":"
		"[{\"pcr\":17,\"description\":\"HASH_START (SINIT)\",\"digests\":{\"sha256\":"
		"\"%s\"}}]}}}\n",
		hex17, hexh);
	fclose(f);
	/* warning, not affirming: only because this attestd serves no firmware, IMA or CEL log */
	if (quote_and_verify(&out, "ref.json") != 3)
		fail_msg("not affirming:\n%s", out);
	assert_string_equal(ear_check_status(out, "drtm"), "affirming");
	assert_non_null(strstr(out, "log replays to the 1 quoted PCR values it extends"));
	assert_string_equal(ear_check_status(out, "reference"), "affirming");
	free(out);

	/* a log whose HASH_START is another MLE's: the replay is not the quoted PCR 17 */
	memset(other, 0x77, sizeof(other));
	write_in_place("drtm.log", log, launch_log(log, other, 0));
	assert_int_equal(quote_and_verify(&out, "ref.json"), 1);
	assert_string_equal(ear_check_status(out, "drtm"), "contraindicated");
	assert_non_null(
		strstr(out, "sha256 PCR 17: the log's replay differs from the quoted value"));
	free(out);

	/* the reference predicts another MLE: PCR 17 contraindicated, naming the event */
	write_in_place("drtm.log", log, launch_log(log, h, 0));
	memcpy(zero_h + 32, other, 32);
	sha256(zero_h, 64, other17);
	hexs(other17, 32, hexo17);
	hexs(other, 32, hexo);
	f = fopen(path, "w");
	fprintf(f,
		"{\"pcrs\":{\"sha256\":{\"17\":\"%s\"}},\"components\":{\"tboot\":{\"events\":"
		"[{\"pcr\":17,\"description\":\"HASH_START (SINIT)\",\"digests\":{\"sha256\":"
		"\"%s\"}}]}}}\n",
		hexo17, hexo);
	fclose(f);
	assert_int_equal(quote_and_verify(&out, "ref.json"), 1);
	assert_string_equal(ear_check_status(out, "drtm"), "affirming");
	assert_string_equal(ear_check_status(out, "pcr17"), "contraindicated");
	if (!strstr(out, "HASH_START (SINIT)"))
		fail_msg("the reason names no event:\n%s", out);
	free(out);

	/* an event in a PCR a DRTM log cannot reach */
	write_in_place("drtm.log", log, launch_log(log, h, 10));
	assert_int_equal(quote_and_verify(&out, NULL), 1);
	assert_string_equal(ear_check_status(out, "drtm"), "contraindicated");
	assert_non_null(strstr(out, "extends PCR 10: a DRTM log extends only PCR 17-22"));
	free(out);
	/* a DRTM log that is not a log */
	write_in_place("drtm.log", "garbage!", 8);
	assert_int_equal(quote_and_verify(&out, NULL), 1);
	assert_string_equal(ear_check_status(out, "drtm"), "contraindicated");
	assert_non_null(strstr(out, "DRTM log: offset"));
	free(out);
}

/* Our launch's log in a TXT heap image (as Intel SecL keeps one): attestd takes it from there. */
static void test_txt_heap_served(void **state)
{
	static uint8_t img[0x100 + H_LEN], log[512];
	uint8_t h[32];
	char path[128], *out = NULL;
	size_t n;

	(void)state;
	sha256(mle_data, strlen(mle_data), h);
	n = launch_log(log, h, 0);
	memset(img, 0, sizeof(img));
	put64(img, 0x100);
	put64(img + 8, H_LEN);
	mkheap(img + 0x100, 0, log, n); /* the image's pointer counts from the heap's start */
	snprintf(path, sizeof(path), "%s/heap.img", dir);
	assert_int_equal(file_write_atomic(path, img, sizeof(img), 0644), 0);
	attestd_start("txt-heap", path);
	if (quote_and_verify(&out, NULL) != 3)
		fail_msg("not affirming:\n%s", out);
	assert_string_equal(ear_check_status(out, "drtm"), "affirming");
	free(out);
	assert_int_equal(sh(&out, "%s -n --config /dev/null --tcti '%s' --txt-heap %s",
			    bin_path("attestd"), sw.tcti, path),
			 0);
	assert_non_null(strstr(out, "drtm-log from the TXT heap image"));
	free(out);

	/* a heap whose log pointer leaves the heap: attestd does not start, naming the offset */
	put64(img + 0x100 + H_SINIT + 8 + 100, H_LEN + 8);
	assert_int_equal(file_write_atomic(path, img, sizeof(img), 0644), 0);
	assert_int_not_equal(sh(&out, "%s -n --config /dev/null --tcti '%s' --txt-heap %s 2>&1",
				bin_path("attestd"), sw.tcti, path),
			     0);
	char want[128];
	snprintf(want, sizeof(want),
		 "offset %d (0x%x): OsSinitData: EVENT_LOG_POINTER2_1: the log at",
		 0x100 + H_SINIT + 8 + 100, 0x100 + H_SINIT + 8 + 100);
	if (!strstr(out, want))
		fail_msg("%s", out);
	free(out);
	/* and both sources named at once */
	assert_int_not_equal(sh(&out,
				"%s -n --config /dev/null --tcti '%s' --txt-heap %s --drtm-log %s "
				"2>&1",
				bin_path("attestd"), sw.tcti, path, path),
			     0);
	assert_non_null(strstr(out, "drtm-log and txt-heap both name the DRTM log"));
	free(out);
	snprintf(path, sizeof(path), "%s/drtm.log", dir);
	attestd_start("drtm-log", path);
}

/* --- real data: Intel SecL's cases, the S2600WF logs (MEASURED_TESTDATA) --- */

#define SECL "external/txt/intel-secl/"

/* PCR @pcr of bank @bank as `attest log --json --format drtm FILE` replays it, into @out (hex). */
static void attest_log_pcr(const char *file, const char *bank, unsigned pcr, char *out, size_t size)
{
	struct json_object *doc, *pcrs, *b, *v;
	char *text = NULL, key[8];

	if (sh(&text, "%s log --json --format drtm '%s' 2>&1", bin_path("attest"), file) != 0)
		fail_msg("attest log %s: %s", file, text);
	doc = json_tokener_parse(text);
	assert_non_null(doc);
	snprintf(key, sizeof(key), "%u", pcr);
	out[0] = '\0';
	if (json_object_object_get_ex(doc, "pcrs", &pcrs) &&
	    json_object_object_get_ex(pcrs, bank, &b) && json_object_object_get_ex(b, key, &v))
		snprintf(out, size, "%s", json_object_get_string(v));
	json_object_put(doc);
	free(text);
}

/* The case's events as a one-bank DRTM log in DIR/case.log; the event types from their names. */
static void case_log(struct json_object *c, const char *bank, unsigned pcr, char *path, size_t size)
{
	static uint8_t log[8192];
	struct json_object *events;
	bool sha1 = strcmp(bank, "sha1") == 0;
	size_t dlen = sha1 ? 20 : 32, off = put_header1(log, sha1 ? 0x04 : 0x0b, (uint16_t)dlen);

	assert_true(json_object_object_get_ex(c, "events", &events));
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i), *n, *d;
		char tname[96];
		uint32_t type = EV_TBOOT_MEASUREMENT; /* tb_policy, vmlinuz, initrd: tboot's */
		uint8_t digest[64];
		size_t len;

		assert_true(json_object_object_get_ex(e, "name", &n));
		assert_true(json_object_object_get_ex(e, "digest", &d));
		snprintf(tname, sizeof(tname), "EVTYPE_TXT_%s", json_object_get_string(n));
		(void)tcg_event_type_by_name(tname, &type);
		assert_int_equal(
			hex_decode(json_object_get_string(d), digest, sizeof(digest), &len), 0);
		assert_int_equal(len, dlen);
		assert_true(off + 14 + dlen + 4 <= sizeof(log));
		put32(log + off, pcr);
		put32(log + off + 4, type);
		put32(log + off + 8, 1);
		log[off + 12] = sha1 ? 0x04 : 0x0b;
		log[off + 13] = 0;
		memcpy(log + off + 14, digest, dlen);
		put32(log + off + 14 + dlen, 0);
		off += 14 + dlen + 4;
	}
	snprintf(path, size, "%s/case.log", dir);
	assert_int_equal(file_write_atomic(path, log, off, 0644), 0);
}

static const char *case_str(struct json_object *c, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(c, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

/* Why a MISMATCH case does not replay, from the test data's README. */
static const char *mismatch_reason(struct json_object *c)
{
	const char *blob = case_str(c, "blob");
	struct json_object *paths;
	const char *path = json_object_object_get_ex(c, "paths", &paths)
				   ? json_object_get_string(json_object_array_get_idx(paths, 0))
				   : "";

	if (strncmp(blob, "6556487e", 8) == 0)
		return "MIXED: the quote's eventLog is txt_heap_info.bin's (S2600WF), its PCRs "
		       "the S2600WT boot's";
	if (strstr(path, "HostManifest1"))
		return "MIXED: S2600WT PCR values with an edited log lacking tboot's events";
	return "the given value is not the replay of the listed events (edited test data)";
}

static void test_secl_cases_replay(void **state)
{
	struct json_object *cases;
	const char *path;
	unsigned match = 0, mismatch = 0, novalue = 0, match_banks[2] = {0};

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	path = testdata_path(SECL "cases_pcr17_18.json");
	cases = json_object_from_file(path);
	assert_non_null(cases);
	print_message("%-8s %-3s %-6s %-54s %-10s %-10s\n", "status", "pcr", "bank", "source",
		      "given", "replayed");
	for (size_t i = 0; i < json_object_array_length(cases); i++) {
		struct json_object *c = json_object_array_get_idx(cases, i), *v, *paths;
		const char *status = case_str(c, "status"), *given = case_str(c, "pcr_value");
		char bank[8], log[128], ours[2 * 32 + 1], src[120];
		unsigned pcr;

		assert_true(json_object_object_get_ex(c, "pcr", &v));
		pcr = (unsigned)json_object_get_int(v);
		snprintf(bank, sizeof(bank), "%s",
			 strcmp(case_str(c, "bank"), "SHA1") ? "sha256" : "sha1");
		json_object_object_get_ex(c, "paths", &paths);
		snprintf(src, sizeof(src), "%s@%.8s",
			 strrchr(json_object_get_string(json_object_array_get_idx(paths, 0)), '/')
				 ? strrchr(json_object_get_string(
						   json_object_array_get_idx(paths, 0)),
					   '/') +
					   1
				 : json_object_get_string(json_object_array_get_idx(paths, 0)),
			 case_str(c, "blob"));
		case_log(c, bank, pcr, log, sizeof(log));
		attest_log_pcr(log, bank, pcr, ours, sizeof(ours));
		print_message("%-8s %-3u %-6s %-54.54s %.10s %.10s\n", status, pcr, bank, src,
			      *given ? given : "-", ours);
		/* our replay agrees with the README's independent one, whatever the given value */
		assert_string_equal(ours, case_str(c, "replay"));
		if (strcmp(status, "MATCH") == 0) {
			assert_string_equal(ours, given);
			match++;
			match_banks[strcmp(bank, "sha1") != 0]++;
		} else if (strcmp(status, "MISMATCH") == 0) {
			assert_true(*given);
			assert_string_not_equal(ours, given);
			print_message("         does not match: %s\n", mismatch_reason(c));
			mismatch++;
		} else {
			novalue++; /* sample_host_manifest.json lists no PCR 17 value */
		}
	}
	print_message("%u MATCH cases replay to their given PCR (%u sha1, %u sha256), %u MISMATCH "
		      "do not, %u without a value\n",
		      match, match_banks[0], match_banks[1], mismatch, novalue);
	assert_int_equal(match, 16);
	assert_int_equal(match_banks[0], 8);
	assert_int_equal(match_banks[1], 8);
	assert_int_equal(mismatch, 10);
	json_object_put(cases);
}

/* The given value of case (@blob, @pcr, @bank) in cases_pcr17_18.json, and its "replay". */
static void secl_case(const char *blob, unsigned pcr, const char *bank, char *given, char *replay)
{
	struct json_object *cases =
		json_object_from_file(testdata_path(SECL "cases_pcr17_18.json"));
	bool found = false;

	assert_non_null(cases);
	for (size_t i = 0; i < json_object_array_length(cases); i++) {
		struct json_object *c = json_object_array_get_idx(cases, i), *v;

		json_object_object_get_ex(c, "pcr", &v);
		if (strncmp(case_str(c, "blob"), blob, strlen(blob)) == 0 &&
		    (unsigned)json_object_get_int(v) == pcr &&
		    strcasecmp(case_str(c, "bank"), bank) == 0) {
			strcpy(given, case_str(c, "pcr_value"));
			strcpy(replay, case_str(c, "replay"));
			found = true;
		}
	}
	assert_true(found);
	json_object_put(cases);
}

/*
 * The S2600WF: txt-logs.bin (a raw DRTM log with data) replays to the PCR 18
 * its TPM quoted in the HEAD sample quote, and pcrpredict tboot predicts it
 * from that log as platform profile plus tboot's default policy.  The MIXED
 * quote: its PCR 18 eventLog is the one of txt_heap_info.bin (our replay of
 * the heap's log, through the heap reader, equals that eventLog's in both
 * banks), its PCR 18 values are another machine's.  Its PCR 17 eventLog is
 * of another boot than the heap's (HASH_START, BIOSAC_REG_DATA and the two
 * modules differ), so PCR 17 is only shown not to match.
 */
static void test_s2600wf_pcr18_and_mixed_quote(void **state)
{
	char given[80], replay[80], ours[80], kernel[128], *out = NULL, want[100];
	const char *bank[2] = {"sha1", "sha256"};

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	secl_case("0cb37436", 18, "sha256", given, replay);
	attest_log_pcr(testdata_path(SECL "txt-logs.bin"), "sha256", 18, ours, sizeof(ours));
	print_message("txt-logs.bin PCR 18 sha256: replayed %s, HEAD quote %s\n", ours, given);
	assert_string_equal(ours, given);

	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	assert_int_equal(file_write_atomic(kernel, "not used for PCR 18", 19, 0644), 0);
	assert_int_equal(sh(&out,
			    "%s tboot --json --tboot /boot/tboot.gz --module %s --platform %s",
			    bin_path("pcrpredict"), kernel, testdata_path(SECL "txt-logs.bin")),
			 0);
	snprintf(want, sizeof(want), "\"18\":\"%s\"", given);
	if (!strstr(strstr(out, "\"pcrs\""), want))
		fail_msg("pcrpredict tboot does not predict PCR 18 %s:\n%s", given, out);
	print_message("pcrpredict tboot (default policy, profile txt-logs.bin): PCR 18 sha256 %s\n",
		      given);
	free(out);

	for (unsigned pcr = 17; pcr <= 18; pcr++)
		for (int b = 0; b < 2; b++) {
			secl_case("6556487e", pcr, bank[b], given, replay);
			attest_log_pcr(testdata_path(SECL "txt_heap_info.bin"), bank[b], pcr, ours,
				       sizeof(ours));
			print_message(
				"MIXED quote PCR %u %s: quoted %.16s.., its eventLog %.16s.., "
				"txt_heap_info.bin's log %.16s..\n",
				pcr, bank[b], given, replay, ours);
			if (pcr == 18)
				assert_string_equal(ours, replay);
			assert_string_not_equal(ours, given);
			assert_string_not_equal(replay, given);
		}
}

/* --- pcrpredict txt-profile on the real sources --- */

/* tboot 1.10's default DA policy (measurements.md), with hash_alg @alg (0x0b; SecL's hosts: 4) */
static void default_policy(const char *path, uint8_t alg)
{
	static const char hex[] = "02000b01000000000000000300ff00000000000081110000000000008316001"
				  "000004000";
	uint8_t pol[64];
	size_t len;

	assert_int_equal(hex_decode(hex, pol, sizeof(pol), &len), 0);
	pol[2] = alg;
	assert_int_equal(file_write_atomic(path, pol, len, 0644), 0);
}

/* The manifest's own PCR @pcr of @bank ("sha1pcrs"/"sha2pcrs" {index "pcr_N" or "N", value}). */
static bool manifest_pcr(struct json_object *doc, const char *list, unsigned pcr, char *out)
{
	struct json_object *pm, *l;
	char a[16], b[16];

	if (json_object_object_get_ex(doc, "host_manifest", &pm))
		doc = pm;
	if (!json_object_object_get_ex(doc, "pcr_manifest", &pm) ||
	    !json_object_object_get_ex(pm, list, &l))
		return false;
	snprintf(a, sizeof(a), "pcr_%u", pcr);
	snprintf(b, sizeof(b), "%u", pcr);
	for (size_t i = 0; i < json_object_array_length(l); i++) {
		struct json_object *e = json_object_array_get_idx(l, i);
		const char *idx = case_str(e, "index");

		if (strcmp(idx, a) == 0 || strcmp(idx, b) == 0) {
			strcpy(out, case_str(e, "value"));
			return true;
		}
	}
	return false;
}

static void test_txt_profile_secl_manifests(void **state)
{
	static const char *const manifests[] = {"intel20_host_manifest.json",
						"RHELHostManifest.json",
						"hvs_mocks_trust_report.json",
						"sample_host_manifest.json",
						"lib-host-connector_host-manifest-rhel-tpm2.json",
						"HostManifest1.MIXED.json"};
	static const char *const bank[2] = {"sha1", "sha256"}, *const list[2] = {"sha1pcrs",
										 "sha2pcrs"};
	char prof[128], log[128], pol[128], *out = NULL;
	unsigned replayed = 0, predicted = 0;

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	snprintf(prof, sizeof(prof), "%s/secl.json", dir);
	snprintf(log, sizeof(log), "%s/secl.log", dir);
	snprintf(pol, sizeof(pol), "%s/default-alg4.pol", dir);
	default_policy(pol, 4);
	for (size_t m = 0; m < sizeof(manifests) / sizeof(manifests[0]); m++) {
		const char *path = testdata_path(SECL "x");
		char full[512], given[80], ours[80];
		bool mixed = strstr(manifests[m], "MIXED") != NULL;
		struct json_object *doc;

		snprintf(full, sizeof(full), "%.*s%s", (int)(strlen(path) - 1), path, manifests[m]);
		doc = json_object_from_file(full);
		assert_non_null(doc);
		if (sh(&out, "%s txt-profile %s --out %s --log %s 2>&1", bin_path("pcrpredict"),
		       full, prof, log) != 0)
			fail_msg("%s", out);
		free(out);
		/* every event, replayed by attest log, against the manifest's own PCR values */
		for (unsigned pcr = 17; pcr <= 18; pcr++)
			for (int b = 0; b < 2; b++) {
				if (!manifest_pcr(doc, list[b], pcr, given))
					continue; /* sample_host_manifest.json lists no PCR 17 */
				attest_log_pcr(log, bank[b], pcr, ours, sizeof(ours));
				print_message(
					"%-48s PCR %u %-6s given %.12s.. replayed %.12s..%s\n",
					manifests[m], pcr, bank[b], given, ours,
					mixed ? " (MIXED: S2600WT values, an edited log "
						"without tboot's events)"
					      : "");
				if (mixed) {
					assert_string_not_equal(ours, given);
					continue;
				}
				assert_string_equal(ours, given);
				replayed++;
			}
		/* PCR 18 predicted: the profile's ACM events + the default policy (hash_alg 4) */
		if (!mixed) {
			assert_int_equal(sh(&out,
					    "%s tboot --json --extpol agile --banks sha1,sha256 "
					    "--tboot /boot/tboot.gz --module %s --policy %s "
					    "--platform %s",
					    bin_path("pcrpredict"), pol, pol, prof),
					 0);
			for (int b = 0; b < 2; b++) {
				char want[100];

				assert_true(manifest_pcr(doc, list[b], 18, given));
				snprintf(want, sizeof(want), "\"18\":\"%s\"", given);
				if (!strstr(strstr(out, "\"pcrs\""), want))
					fail_msg("%s: PCR 18 %s %s not predicted:\n%s",
						 manifests[m], bank[b], given, out);
				predicted++;
			}
			free(out);
		}
		json_object_put(doc);
	}
	print_message("%u manifest PCR values replayed, %u PCR 18 values predicted\n", replayed,
		      predicted);
	assert_int_equal(replayed, 18);
	assert_int_equal(predicted, 10);
}

static void test_txt_profile_logs_and_txt_stat(void **state)
{
	char prof[128], log[128], *out = NULL, *err = NULL, given[80], replay[80], want[100];
	struct json_object *doc, *events, *left;
	uint8_t zero = 0, h1[20], h256[32];
	char hex1[41], hex256[65];
	unsigned n1 = 20, checked = 0;

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	snprintf(prof, sizeof(prof), "%s/p.json", dir);
	snprintf(log, sizeof(log), "%s/p.log", dir);
	/* txt-logs.bin: its profile predicts the HEAD quote's PCR 18 in both banks (agile) */
	assert_int_equal(sh(&err, "%s txt-profile %s --out %s 2>&1", bin_path("pcrpredict"),
			    testdata_path(SECL "txt-logs.bin"), prof),
			 0);
	assert_non_null(strstr(err, "tboot's TB_MEASUREMENT (PCR 17) has no sha1 digest"));
	free(err);
	assert_int_equal(sh(&out,
			    "%s tboot --json --extpol agile --banks sha1,sha256 --tboot "
			    "/boot/tboot.gz --module %s --platform %s",
			    bin_path("pcrpredict"), prof, prof),
			 0);
	for (int b = 0; b < 2; b++) {
		secl_case("0cb37436", 18, b ? "sha256" : "sha1", given, replay);
		snprintf(want, sizeof(want), "\"18\":\"%s\"", given);
		if (!strstr(strstr(out, "\"pcrs\""), want))
			fail_msg("PCR 18 %s not predicted:\n%s", given, out);
	}
	free(out);

	/* the Dell Latitude E5470's txt-stat output */
	assert_int_equal(sh(&err, "%s txt-profile %s --out %s --log %s 2>&1",
			    bin_path("pcrpredict"),
			    testdata_path("external/txt/tboot-devel/"
					  "2021-08_Dell_Latitude_E5470_txt-stat.output"),
			    prof, log),
			 0);
	assert_non_null(strstr(err, "15 SINIT/ACM events kept"));
	free(err);
	doc = json_object_from_file(prof);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "events", &events));
	assert_int_equal(json_object_array_length(events), 15);
	assert_true(json_object_object_get_ex(doc, "left_out", &left));
	assert_int_equal(json_object_array_length(left), 5); /* PCR_MAPPING at 255, 4 of tboot's */
	assert_string_equal(case_str(json_object_array_get_idx(left, 0), "name"), "PCRMAPPING");
	/* STM and LCP details are absent on this laptop: SINIT extends H(0x00) for them */
	assert_int_equal(EVP_Digest(&zero, 1, h1, &n1, EVP_sha1(), NULL), 1);
	sha256(&zero, 1, h256);
	hexs(h1, 20, hex1);
	hexs(h256, 32, hex256);
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i), *d;
		const char *name = case_str(e, "name");

		if (strcmp(name, "STM_HASH") && strcmp(name, "LCP_DETAILS_HASH"))
			continue;
		assert_true(json_object_object_get_ex(e, "digests", &d));
		assert_string_equal(case_str(d, "sha1"), hex1);
		assert_string_equal(case_str(d, "sha256"), hex256);
		checked++;
	}
	assert_int_equal(checked, 2);
	json_object_put(doc);
	/* its whole log replays (PCR 255 extends nothing) */
	assert_int_equal(sh(&out, "%s log --format drtm %s", bin_path("attest"), log), 0);
	assert_non_null(strstr(out, "PCR 255"));
	free(out);
}

/* Bad sources: a clear error naming the line, bank or event; nothing written. */
static void test_txt_profile_bad_sources(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"TCG Event Log Header:\nTCG Event:\npcr_index: 17\nevent_type: 0x402\nSHA1:\n"
		 "ec d8 60\n",
		 "line 6: sha1 digest is not 20 hex bytes"},
		{"TCG Event Log Header:\nTCG Event:\npcr_index: 999\n",
		 "line 3: pcr_index \"999\""},
		{"TCG Event Log Header:\nTCG Event:\nevent_type: 0x402\nTCG Event:\n",
		 "line 2: event without pcr_index"},
		{"TCG Event Log Header:\nTCG Event:\npcr_index: 17\nevent_type: 0x402\nSHA256:\n",
		 "sha256 digest missing at the end"},
		{"{\"pcr_manifest\":{\"pcr_event_log_map\":{\"SHA256\":[{\"pcr_index\":\"pcr_17\","
		 "\"event_log\":[{\"value\":\"abcd\",\"label\":\"HASH_START\"}]}]}}}",
		 "sha256 PCR 17 event 0 (HASH_START): not a sha256 digest"},
		{"{\"pcr_manifest\":{\"pcr_event_log_map\":{\"MD5\":[]}}}",
		 "pcr_event_log_map.MD5 is not a bank's list"},
		{"{\"host\":1}", "no pcr_event_log_map"},
		{"{\"pcr_manifest\":", "not JSON"},
	};
	char src[128], prof[128], *out = NULL;

	(void)state;
	snprintf(src, sizeof(src), "%s/bad.src", dir);
	snprintf(prof, sizeof(prof), "%s/bad.json", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(prof);
		assert_int_equal(file_write_atomic(src, bad[i].text, strlen(bad[i].text), 0644), 0);
		assert_int_equal(sh(&out, "%s txt-profile %s --out %s 2>&1", bin_path("pcrpredict"),
				    src, prof),
				 2);
		if (!strstr(out, bad[i].want) || !strstr(out, src))
			fail_msg("case %zu: wanted \"%s\" in: %s", i, bad[i].want, out);
		assert_int_not_equal(access(prof, F_OK), 0);
		free(out);
	}
}

static int setup(void **state)
{
	struct tpm *tpm;
	struct ak_info info;
	char path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-txt.XXXXXX");
	if (!mkdtemp(dir) || swtpm_start_manufactured(&sw, dir) < 0 ||
	    tpm_open(sw.tcti, 0, &tpm) < 0)
		return -1;
	if (tpm_keys_ensure(tpm, true, &info) < 0)
		return -1;
	tpm_close(tpm);
	port = sw.port + 7;
	snprintf(where, sizeof(where), "127.0.0.1:%d", port);
	snprintf(path, sizeof(path), "%s/drtm.log", dir);
	if (file_write_atomic(path, "", 0, 0644) < 0)
		return -1;
	attestd_start("drtm-log", path);
	return attest(NULL, "--ek-ca ca-bundle.pem enroll %s", where) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	attestd_stop();
	swtpm_stop(&sw);
	return sh(NULL, "rm -rf %s", dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_real_s2600wf),
		cmocka_unit_test(test_heap_built_and_broken),
		cmocka_unit_test(test_proto_three_and_four_logs),
		cmocka_unit_test(test_secl_cases_replay),
		cmocka_unit_test(test_s2600wf_pcr18_and_mixed_quote),
		cmocka_unit_test(test_txt_profile_secl_manifests),
		cmocka_unit_test(test_txt_profile_logs_and_txt_stat),
		cmocka_unit_test(test_txt_profile_bad_sources),
		/* in this order: the TPM is launched once */
		cmocka_unit_test(test_no_launch_log_lies),
		cmocka_unit_test(test_launch_replayed_and_referenced),
		cmocka_unit_test(test_txt_heap_served),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
