// SPDX-License-Identifier: MIT
/*
 * TCG event logs: the real logs of MEASURED_TESTDATA and our own QEMU boot's
 * log replay to exactly the PCR values recorded beside them; truncated and
 * corrupted logs fail cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "testutil.h"

struct logfile {
	uint8_t *buf;
	size_t len;
	char *path;
};

static char **bin_files(void)
{
	char dir[4096];
	char **files;

	SKIP_WITHOUT_TESTDATA();
	snprintf(dir, sizeof(dir), "%s", testdata_path("eventlogs"));
	files = list_files(dir, ".bin");
	assert_non_null(files);
	assert_non_null(files[0]);
	return files;
}

static void load(const char *path, struct logfile *f)
{
	f->path = (char *)path;
	assert_int_equal(file_read_all(path, 64u << 20, &f->buf, &f->len), 0);
}

static void compare_with_yaml(const char *bin, const struct pcr_banks *got)
{
	char yaml_path[4200];
	uint8_t *yaml;
	size_t len;
	struct pcr_banks want;

	snprintf(yaml_path, sizeof(yaml_path), "%s.yaml", bin);
	assert_int_equal(file_read_all(yaml_path, 16u << 20, &yaml, &len), 0);
	assert_int_equal(yaml_pcrs_parse((char *)yaml, &want), 0);
	free(yaml);
	assert_int_equal(got->count, want.count);
	for (unsigned b = 0; b < want.count; b++) {
		const struct pcr_bank *w = &want.bank[b];
		const struct pcr_bank *g = pcr_banks_find((struct pcr_banks *)got, w->alg);

		assert_non_null(g);
		if (g->extended != w->extended)
			fail_msg("%s %s: extended PCRs %06x, expected %06x", bin, w->alg->name,
				 g->extended, w->extended);
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			if (!(w->extended & (1u << i)))
				continue;
			if (memcmp(g->value[i], w->value[i], w->alg->size) != 0)
				fail_msg("%s: %s PCR %u differs from the recorded replay", bin,
					 w->alg->name, i);
		}
	}
}

static void test_real_logs_replay_exactly(void **state)
{
	char **files = bin_files();
	int n = 0;

	(void)state;
	for (size_t i = 0; files[i]; i++, n++) {
		struct logfile f;
		struct tcg_log log;
		struct pcr_banks banks;

		load(files[i], &f);
		if (tcg_log_parse(f.buf, f.len, f.path, &log) < 0)
			fail_msg("%s", err_msg());
		pcr_banks_init(&banks);
		assert_int_equal(tcg_log_replay(&log, &banks), 0);
		compare_with_yaml(files[i], &banks);
		tcg_log_free(&log);
		free(f.buf);
	}
	assert_int_equal(n, 6);
	free_list(files);
}

/*
 * The project's own boot (tests/data, from make e2e: OVMF + GRUB under QEMU
 * with swtpm): the log replays to the PCR values the guest read from the TPM.
 */
static void test_own_boot_log_replays_to_the_tpm(void **state)
{
	static const char *const banks[] = {"sha1", "sha256"};
	struct logfile f;
	struct tcg_log log;
	struct pcr_banks got;

	(void)state;
	load("tests/data/ovmf-grub.log", &f);
	assert_int_equal(tcg_log_parse(f.buf, f.len, f.path, &log), 0);
	pcr_banks_init(&got);
	assert_int_equal(tcg_log_replay(&log, &got), 0);
	for (size_t b = 0; b < 2; b++) {
		char path[64];
		struct pcr_bank want;
		const struct pcr_bank *g = pcr_banks_get(&got, hash_alg_by_name(banks[b]));

		snprintf(path, sizeof(path), "tests/data/ovmf-grub.pcrs-%s", banks[b]);
		assert_int_equal(
			guest_pcrs_load(path, want.alg = hash_alg_by_name(banks[b]), &want), 0);
		assert_non_null(g);
		assert_int_equal(want.extended, 0x3ff);
		for (unsigned i = 0; i < 10; i++)
			if (memcmp(g->value[i], want.value[i], want.alg->size) != 0)
				fail_msg("%s PCR %u: the replay is not what the TPM held", banks[b],
					 i);
	}
	tcg_log_free(&log);
	free(f.buf);
}

/* A parse of a prefix either fails naming an offset, or yields a prefix of the events. */
static void check_prefix(const struct logfile *f, const struct tcg_log *full, size_t cut)
{
	struct tcg_log log;
	int rc = tcg_log_parse(f->buf, cut, f->path, &log);

	if (rc < 0) {
		assert_int_equal(rc, -EBADMSG);
		if (!strstr(err_msg(), "offset"))
			fail_msg("error without an offset: %s", err_msg());
		return;
	}
	assert_true(log.n_events <= full->n_events);
	for (size_t i = 0; i < log.n_events; i++) {
		assert_int_equal(log.event[i].offset, full->event[i].offset);
		assert_int_equal(log.event[i].data_len, full->event[i].data_len);
	}
	if (log.n_events < full->n_events && cut != full->event[log.n_events].offset)
		fail_msg("%s cut at %zu parsed as complete", f->path, cut);
	tcg_log_free(&log);
}

static void test_truncated_logs_fail(void **state)
{
	char **files = bin_files();

	(void)state;
	for (size_t i = 0; files[i]; i++) {
		struct logfile f;
		struct tcg_log full;

		load(files[i], &f);
		assert_int_equal(tcg_log_parse(f.buf, f.len, f.path, &full), 0);
		/* every cut in the first 4 KiB and around every event start, a stride elsewhere */
		for (size_t cut = 0; cut < f.len; cut += cut < 4096 ? 1 : 61)
			check_prefix(&f, &full, cut);
		for (size_t e = 0; e < full.n_events; e++)
			for (size_t d = 0; d < 24 && full.event[e].offset + d < f.len; d++)
				check_prefix(&f, &full, full.event[e].offset + d);
		tcg_log_free(&full);
		free(f.buf);
	}
	free_list(files);
}

static void expect_error(uint8_t *buf, size_t len, const char *needle)
{
	struct tcg_log log;
	int rc = tcg_log_parse(buf, len, "corrupted", &log);

	if (rc == 0)
		fail_msg("corrupted log accepted (expected \"%s\")", needle);
	if (!strstr(err_msg(), needle) || !strstr(err_msg(), "offset"))
		fail_msg("error \"%s\" does not mention \"%s\" and an offset", err_msg(), needle);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_corrupted_fields(void **state)
{
	struct logfile f;
	uint8_t *copy;
	size_t first;

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	load(testdata_path("eventlogs/event-arch-linux.bin"), &f);
	copy = malloc(f.len);
	first = 32 + (f.buf[28] | f.buf[29] << 8); /* header event size + its data */

	memcpy(copy, f.buf, f.len);
	put_le32(copy + 56, 0xffffffff); /* numberOfAlgorithms */
	expect_error(copy, f.len, "algorithms");

	memcpy(copy, f.buf, f.len);
	put_le32(copy + first + 8, 1000); /* digest count of the first event */
	expect_error(copy, f.len, "digests");

	memcpy(copy, f.buf, f.len);
	copy[first + 12] = 0x12; /* SM3: not announced by this log's header */
	copy[first + 13] = 0x00;
	expect_error(copy, f.len, "not in the Spec ID header");

	memcpy(copy, f.buf, f.len);
	/* first event: 2 digests (sha1 + sha256) -> EventSize at +12 +2+20 +2+32 */
	put_le32(copy + first + 12 + 22 + 34, 0xfffffff0);
	expect_error(copy, f.len, "truncated event data");

	free(copy);
	free(f.buf);
}

static void test_random_corruption_no_crash(void **state)
{
	char **files = bin_files();

	(void)state;
	srand(1234);
	for (size_t i = 0; files[i]; i++) {
		struct logfile f;
		uint8_t *copy;

		load(files[i], &f);
		copy = malloc(f.len);
		for (int round = 0; round < 300; round++) {
			struct tcg_log log;
			struct pcr_banks banks;

			memcpy(copy, f.buf, f.len);
			for (int k = 0; k < 1 + round % 8; k++)
				copy[(size_t)rand() % f.len] = (uint8_t)rand();
			if (tcg_log_parse(copy, f.len, f.path, &log) < 0) {
				assert_non_null(strstr(err_msg(), "offset"));
				continue;
			}
			pcr_banks_init(&banks);
			(void)tcg_log_replay(&log, &banks);
			tcg_log_free(&log);
		}
		free(copy);
		free(f.buf);
	}
	free_list(files);
}

static void test_startup_locality(void **state)
{
	/* header with one bank (sha256), a StartupLocality 3 event, one EV_SEPARATOR in PCR 0 */
	uint8_t log[256] = {0};
	size_t off = 0;
	struct tcg_log parsed;
	struct pcr_banks banks;
	static const char sig[] = "Spec ID Event03";
	static const char loc[] = "StartupLocality";
	uint8_t init[32] = {0}, digest[32], expect[32];

	(void)state;
	put_le32(log + 4, EV_NO_ACTION);
	put_le32(log + 28, 16 + 8 + 4 + 4 + 1);
	memcpy(log + 32, sig, 16);
	log[32 + 16 + 5] = 2; /* specVersionMajor */
	put_le32(log + 32 + 24, 1);
	log[32 + 28] = 0x0b; /* sha256, 32 bytes */
	log[32 + 30] = 32;
	off = 32 + 33;
	/* EV_NO_ACTION StartupLocality in PCR 0, no digests */
	put_le32(log + off + 4, EV_NO_ACTION);
	put_le32(log + off + 8, 1);
	log[off + 12] = 0x0b;
	put_le32(log + off + 14 + 32, 17);
	memcpy(log + off + 18 + 32, loc, 16);
	log[off + 18 + 32 + 16] = 3;
	off += 18 + 32 + 17;
	/* EV_SEPARATOR in PCR 0 with digest 0x11.. */
	put_le32(log + off + 4, EV_SEPARATOR);
	put_le32(log + off + 8, 1);
	log[off + 12] = 0x0b;
	memset(log + off + 14, 0x11, 32);
	put_le32(log + off + 14 + 32, 0);
	off += 18 + 32;

	assert_int_equal(tcg_log_parse(log, off, "locality", &parsed), 0);
	assert_int_equal(parsed.startup_locality, 3);
	pcr_banks_init(&banks);
	assert_int_equal(tcg_log_replay(&parsed, &banks), 0);
	init[31] = 3;
	memset(digest, 0x11, 32);
	{
		struct pcr_bank ref;

		pcr_bank_init(&ref, hash_alg_by_name("sha256"));
		memcpy(ref.value[0], init, 32);
		assert_int_equal(pcr_bank_extend(&ref, 0, digest), 0);
		memcpy(expect, ref.value[0], 32);
	}
	assert_memory_equal(banks.bank[0].value[0], expect, 32);
	tcg_log_free(&parsed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_logs_replay_exactly),
		cmocka_unit_test(test_own_boot_log_replays_to_the_tpm),
		cmocka_unit_test(test_truncated_logs_fail),
		cmocka_unit_test(test_corrupted_fields),
		cmocka_unit_test(test_random_corruption_no_crash),
		cmocka_unit_test(test_startup_locality),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
