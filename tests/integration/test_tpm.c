// SPDX-License-Identifier: MIT
/*
 * Against a private swtpm: startup handling, bank discovery, PCR read of
 * every PCR of every bank, and extends through the TPM equal to the software
 * replay; tpm2_pcrread (tpm2-tools) reads the same values we do.
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
#include "fileio.h"
#include "swtpm.h"
#include "tpm.h"

static struct swtpm sw;

static int setup(void **state)
{
	(void)state;
	/* not started: tpm_open must send TPM2_Startup itself */
	return swtpm_start(&sw, false);
}

static int teardown(void **state)
{
	(void)state;
	swtpm_stop(&sw);
	return 0;
}

static struct tpm *open_tpm(void)
{
	struct tpm *tpm = NULL;

	if (tpm_open(sw.tcti, TPM_OPEN_STARTUP, &tpm) < 0)
		fail_msg("%s", err_msg());
	return tpm;
}

static void test_startup_twice(void **state)
{
	struct tpm *a, *b;

	(void)state;
	a = open_tpm();
	b = open_tpm(); /* TPM_RC_INITIALIZE from the second Startup is fine */
	tpm_close(a);
	tpm_close(b);
}

static void test_unreachable_tpm_error(void **state)
{
	struct tpm *tpm;
	char tcti[64];
	int rc;

	(void)state;
	snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d", sw.port + 100);
	rc = tpm_open(tcti, TPM_OPEN_STARTUP, &tpm);
	assert_int_equal(rc, -ECONNREFUSED);
	assert_non_null(strstr(err_msg(), "TPM"));
	rc = tpm_open("nonexistent-tcti", 0, &tpm);
	assert_true(rc < 0);
}

static void test_banks_and_read_all(void **state)
{
	struct tpm *tpm = open_tpm();
	struct pcr_selection sel;
	struct pcr_banks banks;

	(void)state;
	assert_int_equal(tpm_pcr_banks(tpm, &sel), 0);
	assert_true(sel.count >= 1);
	assert_true(pcr_selection_mask(&sel, hash_alg_by_name("sha256")) == 0xffffff);
	/* 24 PCRs x every bank: more than one TPM2_PCR_Read answers */
	assert_int_equal(tpm_pcr_read(tpm, &sel, &banks, NULL), 0);
	assert_int_equal(banks.count, sel.count);
	for (unsigned b = 0; b < banks.count; b++) {
		uint8_t ones[DIGEST_MAX], zero[DIGEST_MAX] = {0};

		memset(ones, 0xff, sizeof(ones));
		/* after TPM2_Startup(CLEAR): 0-16 and 23 zero, 17-22 all-ones (no D-RTM yet) */
		assert_memory_equal(banks.bank[b].value[0], zero, banks.bank[b].alg->size);
		assert_memory_equal(banks.bank[b].value[17], ones, banks.bank[b].alg->size);
	}
	tpm_close(tpm);
}

static void test_extend_equals_software_replay(void **state)
{
	struct tpm *tpm = open_tpm();
	struct pcr_selection sel;
	struct pcr_banks before, after;
	const unsigned pcr = 16;

	(void)state;
	assert_int_equal(tpm_pcr_banks(tpm, &sel), 0);
	for (unsigned b = 0; b < sel.count; b++)
		sel.bank[b].mask = 1u << pcr;
	assert_int_equal(tpm_pcr_read(tpm, &sel, &before, NULL), 0);
	for (int round = 0; round < 5; round++) {
		struct alg_digest d[PCR_BANKS_MAX];
		char msg[32];

		snprintf(msg, sizeof(msg), "measurement %d", round);
		for (unsigned b = 0; b < sel.count; b++) {
			d[b].alg = sel.bank[b].alg;
			assert_int_equal(digest_buf(d[b].alg, msg, strlen(msg), d[b].value), 0);
			assert_int_equal(pcr_bank_extend(&before.bank[b], pcr, d[b].value), 0);
		}
		if (tpm_pcr_extend(tpm, pcr, d, sel.count) < 0)
			fail_msg("%s", err_msg());
	}
	assert_int_equal(tpm_pcr_read(tpm, &sel, &after, NULL), 0);
	for (unsigned b = 0; b < sel.count; b++)
		if (memcmp(after.bank[b].value[pcr], before.bank[b].value[pcr],
			   after.bank[b].alg->size) != 0)
			fail_msg("%s: TPM PCR %u differs from the software replay",
				 sel.bank[b].alg->name, pcr);
	tpm_close(tpm);
}

static void test_tpm2_pcrread_agrees(void **state)
{
	struct tpm *tpm = open_tpm();
	struct pcr_selection sel;
	struct pcr_banks banks;
	char cmd[512], out[] = "/tmp/measured-pcrread.XXXXXX";
	uint8_t *raw;
	size_t len;
	int fd = mkstemp(out);

	(void)state;
	close(fd);
	assert_int_equal(pcr_selection_parse("sha256:16,23+sha1:16", &sel), 0);
	assert_int_equal(tpm_pcr_read(tpm, &sel, &banks, NULL), 0);
	snprintf(cmd, sizeof(cmd), "tpm2_pcrread -T '%s' -o %s sha256:16,23+sha1:16 >/dev/null",
		 sw.tcti, out);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(file_read_all(out, 4096, &raw, &len), 0);
	assert_int_equal(len, 32 + 32 + 20);
	assert_memory_equal(raw, banks.bank[0].value[16], 32);
	assert_memory_equal(raw + 32, banks.bank[0].value[23], 32);
	assert_memory_equal(raw + 64, banks.bank[1].value[16], 20);
	free(raw);
	unlink(out);
	tpm_close(tpm);
}

static void test_tcti_resolution(void **state)
{
	(void)state;
	setenv("TPM2TOOLS_TCTI", "swtpm:port=1", 1);
	assert_string_equal(tpm_tcti_resolve("device:/dev/tpmrm0"), "device:/dev/tpmrm0");
	assert_string_equal(tpm_tcti_resolve(NULL), "swtpm:port=1");
	unsetenv("TPM2TOOLS_TCTI");
	assert_null(tpm_tcti_resolve(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_startup_twice),
		cmocka_unit_test(test_unreachable_tpm_error),
		cmocka_unit_test(test_banks_and_read_all),
		cmocka_unit_test(test_extend_equals_software_replay),
		cmocka_unit_test(test_tpm2_pcrread_agrees),
		cmocka_unit_test(test_tcti_resolution),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
