// SPDX-License-Identifier: MIT
/* CEL-CBOR measurement log: exact encoding, append, parse, replay, bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cel.h"
#include "err.h"
#include "fileio.h"

static struct cel_record sample(uint32_t pcr, uint8_t fill, const char *type, const char *name)
{
	struct cel_record r = {.pcr = pcr, .n_digests = 2, .content_type = CEL_CONTENT_MEASURED};

	r.digest[0].alg = hash_alg_by_name("sha256");
	memset(r.digest[0].value, fill, 32);
	r.digest[1].alg = hash_alg_by_name("sha1");
	memset(r.digest[1].value, fill, 20);
	strcpy(r.type, type);
	r.name = (char *)name;
	return r;
}

/* The bytes follow from RFC 8949 and the CDDL in docs/FORMATS.md, written out by hand. */
static void test_encoding_is_exact(void **state)
{
	struct cel_record r = sample(13, 0xaa, "rootfs", "/dev/vda");
	uint8_t expect[128], *enc;
	size_t n = 0, len;

	(void)state;
	r.n_digests = 1;
	static const uint8_t head[] = {0xa4, 0x00, 0x00, 0x01, 0x0d, 0x03,
				       0x81, 0x82, 0x0b, 0x58, 0x20};
	memcpy(expect, head, sizeof(head));
	n = sizeof(head);
	memset(expect + n, 0xaa, 32);
	n += 32;
	static const uint8_t tail[] = {0x18, 0x40, 0xa2, 0x00, 0x66, 'r', 'o', 'o', 't', 'f', 's',
				       0x01, 0x68, '/',	 'd',  'e',  'v', '/', 'v', 'd', 'a'};
	memcpy(expect + n, tail, sizeof(tail));
	n += sizeof(tail);
	assert_int_equal(cel_record_encode(&r, &enc, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(enc, expect, n);
	free(enc);
}

static void test_append_parse_replay(void **state)
{
	char path[] = "/tmp/measured-cel.XXXXXX";
	int fd = mkstemp(path);
	struct cel_record a = sample(13, 0x11, "rootfs", "/dev/vda");
	struct cel_record b = sample(11, 0x22, "guestos", "trustx-coreos-1.img");
	uint8_t *buf;
	size_t len;
	struct cel_log log;
	struct pcr_banks banks, ref;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	b.data = (uint8_t *)"detail";
	b.data_len = 6;
	assert_int_equal(cel_log_append(path, &a), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	size_t first_len = (size_t)st.st_size;
	assert_int_equal(cel_log_append(path, &b), 0);
	assert_int_equal(a.recnum, 0);
	assert_int_equal(b.recnum, 1);
	assert_int_equal(file_read_all(path, 1 << 20, &buf, &len), 0);
	assert_int_equal(cel_log_parse(buf, len, path, &log), 0);
	assert_int_equal(log.n_records, 2);
	assert_string_equal(log.record[1].type, "guestos");
	assert_string_equal(log.record[1].name, "trustx-coreos-1.img");
	assert_int_equal(log.record[1].data_len, 6);
	assert_memory_equal(log.record[1].data, "detail", 6);

	pcr_banks_init(&banks);
	assert_int_equal(cel_log_replay(&log, &banks), 0);
	pcr_banks_init(&ref);
	pcr_bank_extend(pcr_banks_add(&ref, a.digest[0].alg), 13, a.digest[0].value);
	pcr_bank_extend(pcr_banks_find(&ref, a.digest[0].alg), 11, b.digest[0].value);
	assert_memory_equal(pcr_banks_find(&banks, a.digest[0].alg)->value[13],
			    ref.bank[0].value[13], 32);
	assert_memory_equal(pcr_banks_find(&banks, a.digest[0].alg)->value[11],
			    ref.bank[0].value[11], 32);
	cel_log_free(&log);

	/* a log with wrong bytes (not a record cut short) is not appended to */
	uint8_t *bad = malloc(len);
	memcpy(bad, buf, len);
	bad[first_len] = 0xfc; /* record 1 starts with a reserved CBOR encoding */
	assert_int_equal(file_write_atomic(path, bad, len, 0644), 0);
	assert_true(cel_log_append(path, &a) < 0);
	free(bad);

	/*
	 * A record cut short at the end (an append that stopped half way): the
	 * next writer cuts it off and numbers after the complete records; the
	 * strict parser refuses it, the tail parser leaves it out.
	 */
	for (size_t cut = 1; cut < len - first_len; cut++) {
		struct cel_writer w;

		assert_int_equal(file_write_atomic(path, buf, len - cut, 0644), 0);
		assert_int_equal(cel_log_parse(buf, len - cut, "cut", &log), -EBADMSG);
		assert_int_equal(cel_log_parse_tail(buf, len - cut, "cut", &log), 0);
		assert_int_equal(log.n_records, 1);
		assert_int_equal(log.torn, len - first_len - cut);
		cel_log_free(&log);
		assert_int_equal(cel_writer_open(path, &w), 0);
		assert_int_equal(w.truncated, len - first_len - cut);
		assert_int_equal(cel_writer_append(&w, &b, false), 0);
		cel_writer_close(&w);
		assert_int_equal(b.recnum, 1);
		uint8_t *again;
		size_t again_len;
		assert_int_equal(file_read_all(path, 1 << 20, &again, &again_len), 0);
		assert_int_equal(again_len, len);
		assert_memory_equal(again, buf, len); /* as if the torn append never was */
		free(again);
	}
	free(buf);
	unlink(path);
}

/*
 * Pending records (docs/FORMATS.md): written before the extend as content
 * 65, made final by one byte in place (then byte-equal to a record written
 * final), or cut off when the extend did not happen; not replayed while
 * pending; never anywhere but last.
 */
static void test_pending(void **state)
{
	char path[] = "/tmp/measured-cel.XXXXXX";
	int fd = mkstemp(path);
	struct cel_record a = sample(13, 0x11, "rootfs", "/dev/vda");
	struct cel_record b = sample(11, 0x22, "guestos", "img");
	struct cel_writer w;
	struct cel_log log;
	struct pcr_banks banks;
	uint8_t *final, *enc, *got;
	size_t final_len, enc_len, got_len;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cel_log_append(path, &a), 0);
	assert_int_equal(cel_log_append(path, &b), 0);
	assert_int_equal(file_read_all(path, 1 << 20, &final, &final_len), 0);
	assert_int_equal(file_write_atomic(path, "", 0, 0644), 0);
	assert_int_equal(cel_log_append(path, &a), 0);

	assert_int_equal(cel_writer_open(path, &w), 0);
	assert_int_equal(cel_writer_append(&w, &b, true), 0);
	/* nothing more while it is pending */
	assert_int_equal(cel_writer_append(&w, &a, false), -EBUSY);
	cel_writer_close(&w);

	assert_int_equal(file_read_all(path, 1 << 20, &got, &got_len), 0);
	assert_int_equal(got_len, final_len);
	assert_int_equal(cel_log_parse(got, got_len, "pending", &log), 0);
	assert_true(log.record[1].pending);
	assert_int_equal(log.record[1].content_type, CEL_CONTENT_MEASURED_PENDING);
	pcr_banks_init(&banks);
	assert_int_equal(cel_log_replay(&log, &banks), 0);
	assert_false(pcr_banks_find(&banks, a.digest[0].alg)->extended & (1u << 11));
	cel_log_free(&log);
	/* a pending record anywhere but last: refused */
	b.pending = true;
	b.recnum = 0;
	assert_int_equal(cel_record_encode(&b, &enc, &enc_len), 0);
	uint8_t *two = malloc(enc_len + final_len);
	memcpy(two, enc, enc_len);
	memcpy(two + enc_len, final, final_len);
	two[enc_len + 2] = 0x01; /* second record: recnum 1 (a's recnum byte) */
	assert_int_equal(cel_log_parse(two, enc_len + final_len, "two", &log), -EBADMSG);
	free(two);
	free(enc);
	free(got);

	/* happened: byte-equal to the log written final */
	assert_int_equal(cel_writer_open(path, &w), 0);
	assert_true(w.log.record[1].pending);
	assert_int_equal(cel_writer_settle(&w, true), 0);
	cel_writer_close(&w);
	assert_int_equal(file_read_all(path, 1 << 20, &got, &got_len), 0);
	assert_int_equal(got_len, final_len);
	assert_memory_equal(got, final, final_len);
	free(got);

	/* did not happen: cut off, the log as before the append */
	assert_int_equal(cel_writer_open(path, &w), 0);
	assert_int_equal(cel_writer_append(&w, &a, true), 0);
	cel_writer_close(&w);
	assert_int_equal(cel_writer_open(path, &w), 0);
	assert_int_equal(cel_writer_settle(&w, false), 0);
	cel_writer_close(&w);
	assert_int_equal(file_read_all(path, 1 << 20, &got, &got_len), 0);
	assert_int_equal(got_len, final_len);
	assert_memory_equal(got, final, final_len);
	free(got);
	free(final);
	unlink(path);
}

static void test_bad_records(void **state)
{
	struct cel_record r = sample(13, 0xaa, "rootfs", "/dev/vda");
	struct cel_log log;
	uint8_t *enc;
	size_t len;

	(void)state;
	assert_int_equal(cel_record_encode(&r, &enc, &len), 0);
	/* every truncation fails with an offset */
	for (size_t cut = 1; cut < len; cut++) {
		assert_int_equal(cel_log_parse(enc, cut, "cut", &log), -EBADMSG);
		assert_non_null(strstr(err_msg(), "offset 0"));
	}
	/* recnum 1 first */
	enc[2] = 0x01;
	assert_int_equal(cel_log_parse(enc, len, "renumbered", &log), -EBADMSG);
	assert_non_null(strstr(err_msg(), "record number"));
	enc[2] = 0x00;
	/* PCR 30 */
	enc[4] = 0x18;
	assert_int_equal(cel_log_parse(enc, len, "pcr", &log), -EBADMSG);
	free(enc);

	/* a digest of the wrong size: sha256 tag on a 20-byte string */
	static const uint8_t wrong[] = {0xa4, 0x00, 0x00, 0x01, 0x00, 0x03, 0x81, 0x82, 0x0b, 0x54,
					0,    0,    0,	  0,	0,    0,    0,	  0,	0,    0,
					0,    0,    0,	  0,	0,    0,    0,	  0,	0,    0,
					0x18, 0x40, 0xa2, 0x00, 0x60, 0x01, 0x60};
	assert_int_equal(cel_log_parse(wrong, sizeof(wrong), "size", &log), -EBADMSG);
	assert_non_null(strstr(err_msg(), "sha256 digest of 20 bytes"));
	/* not a map */
	assert_int_equal(cel_log_parse((const uint8_t *)"\x81\x00", 2, "array", &log), -EBADMSG);
}

/* Declared sizes beyond the input are refused before libcbor allocates for them. */
static void test_cbor_bombs_refused(void **state)
{
	static const uint8_t huge_array[] = {0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t huge_map[] = {0xba, 0xff, 0xff, 0xff, 0xff, 0x00};
	static const uint8_t huge_bytes[] = {0xa1, 0x00, 0x5a, 0x7f, 0xff, 0xff, 0xff};
	static const uint8_t indefinite[] = {0xbf, 0x00, 0x00, 0xff};
	uint8_t deep[40];
	struct cel_log log;

	(void)state;
	assert_int_equal(cel_log_parse(huge_array, sizeof(huge_array), "a", &log), -EBADMSG);
	assert_non_null(strstr(err_msg(), "entries"));
	assert_int_equal(cel_log_parse(huge_map, sizeof(huge_map), "m", &log), -EBADMSG);
	assert_int_equal(cel_log_parse(huge_bytes, sizeof(huge_bytes), "b", &log), -EBADMSG);
	assert_non_null(strstr(err_msg(), "string of"));
	assert_int_equal(cel_log_parse(indefinite, sizeof(indefinite), "i", &log), -EBADMSG);
	assert_non_null(strstr(err_msg(), "indefinite"));
	memset(deep, 0x81, sizeof(deep)); /* 39 nested one-element arrays */
	deep[sizeof(deep) - 1] = 0x00;
	assert_int_equal(cel_log_parse(deep, sizeof(deep), "d", &log), -EBADMSG);
	assert_non_null(strstr(err_msg(), "nested"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding_is_exact),
		cmocka_unit_test(test_append_parse_replay),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_cbor_bombs_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
