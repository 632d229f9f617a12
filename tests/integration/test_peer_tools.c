// SPDX-License-Identifier: MIT
/*
 * Our readers against the independent tools: tpm2_eventlog replays the same
 * firmware logs to the same PCRs, evmctl accepts our IMA replay, and the
 * attest CLI prints what the library computes, with clear errors.
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

#include "eventlog_ima.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "imabuild.h"
#include "testutil.h"

/* Checks that the "pcrs" object of attest's JSON holds exactly @want's extended PCRs. */
static void json_pcrs_match(const char *json, const struct pcr_banks *want, unsigned only_pcr)
{
	const char *pcrs = strstr(json, "\"pcrs\":{");

	assert_non_null(pcrs);
	for (unsigned b = 0; b < want->count; b++) {
		const struct pcr_bank *bank = &want->bank[b];
		char key[32], entry[200], hex[2 * DIGEST_MAX + 1];
		const char *obj, *end;
		unsigned n = 0;

		snprintf(key, sizeof(key), "\"%s\":{", bank->alg->name);
		obj = strstr(pcrs, key);
		assert_non_null(obj);
		end = strchr(obj, '}');
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			const char *hit;

			if (!(bank->extended & (1u << i)) ||
			    (only_pcr < PCR_COUNT && i != only_pcr))
				continue;
			hex_encode(bank->value[i], bank->alg->size, hex);
			snprintf(entry, sizeof(entry), "\"%u\":\"%s\"", i, hex);
			hit = strstr(obj, entry);
			if (!hit || hit > end)
				fail_msg("attest log: %s PCR %u is not %s", bank->alg->name, i,
					 hex);
			n++;
		}
		for (const char *p = obj; p < end; p++)
			n -= *p == ':' && p[1] == '"'; /* one "N":"hex" pair per PCR */
		assert_int_equal(n, 0);
	}
}

/* tpm2_eventlog and attest log replay @path to the same PCRs. */
static void eventlog_agrees(const char *path)
{
	char cmd[8400], *theirs = NULL, *ours = NULL;
	struct pcr_banks peer;

	snprintf(cmd, sizeof(cmd), "tpm2_eventlog '%s' 2>/dev/null", path);
	assert_int_equal(run_capture(cmd, &theirs), 0);
	assert_int_equal(yaml_pcrs_parse(theirs, &peer), 0);
	snprintf(cmd, sizeof(cmd), "%s log --json '%s'", bin_path("attest"), path);
	assert_int_equal(run_capture(cmd, &ours), 0);
	json_pcrs_match(ours, &peer, PCR_COUNT);
	free(theirs);
	free(ours);
}

/* The project's own QEMU boot log (tests/data). */
static void test_tpm2_eventlog_agrees_on_own_boot(void **state)
{
	(void)state;
	eventlog_agrees("tests/data/ovmf-grub.log");
}

/* The real machines' logs of the shared test data. */
static void test_tpm2_eventlog_agrees(void **state)
{
	char dir[4096], **files;
	int n = 0;

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	snprintf(dir, sizeof(dir), "%s", testdata_path("eventlogs"));
	files = list_files(dir, ".bin");
	assert_non_null(files);
	for (size_t i = 0; files[i]; i++, n++)
		eventlog_agrees(files[i]);
	assert_int_equal(n, 6);
	free_list(files);
}

static void write_evmctl_pcrs(const char *path, const struct pcr_bank *bank)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (unsigned i = 0; i < PCR_COUNT; i++) {
		char hex[2 * DIGEST_MAX + 1];

		hex_encode(bank->value[i], bank->alg->size, hex);
		fprintf(f, "PCR-%02u: %s\n", i, hex);
	}
	fclose(f);
}

/* Replays @b with our code and asks evmctl to match the result; returns evmctl's status. */
static int evmctl_check(const struct imabuf *b, struct pcr_banks *banks, int flip_bit,
			const char *attest_check)
{
	char list_path[] = "/tmp/measured-ima.XXXXXX", p1[64], p256[64], cmd[1024];
	struct ima_list list;
	char *out = NULL;
	int fd = mkstemp(list_path), status;

	assert_int_equal(fd_write_all(fd, b->data, b->len), 0);
	close(fd);
	assert_int_equal(ima_list_parse(b->data, b->len, list_path, &list), 0);
	pcr_banks_init(banks);
	pcr_banks_add(banks, hash_alg_by_name("sha1"));
	pcr_banks_add(banks, hash_alg_by_name("sha256"));
	assert_int_equal(ima_list_replay(&list, 0, banks, NULL), 0);
	ima_list_free(&list);
	if (attest_check) {
		/* attest log prints the same PCR 10 */
		snprintf(cmd, sizeof(cmd), "%s log --format ima --json %s", bin_path("attest"),
			 list_path);
		assert_int_equal(run_capture(cmd, &out), 0);
		json_pcrs_match(out, banks, 10);
		free(out);
	}
	banks->bank[1].value[10][0] ^= (uint8_t)flip_bit;
	snprintf(p1, sizeof(p1), "%s.sha1", list_path);
	snprintf(p256, sizeof(p256), "%s.sha256", list_path);
	write_evmctl_pcrs(p1, &banks->bank[0]);
	write_evmctl_pcrs(p256, &banks->bank[1]);
	/* --ignore-violations: extend violations with all-ones, as the kernel does */
	snprintf(cmd, sizeof(cmd),
		 "evmctl ima_measurement --ignore-violations --pcrs sha1,%s --pcrs sha256,%s %s "
		 ">/dev/null 2>&1",
		 p1, p256, list_path);
	status = system(cmd);
	unlink(p1);
	unlink(p256);
	unlink(list_path);
	return status;
}

static void test_evmctl_accepts_ima_replay(void **state)
{
	struct imabuf ng = {0}, old = {0};
	struct pcr_banks banks;
	uint8_t d[32], s1[20];

	(void)state;
	memset(d, 0x5a, sizeof(d));
	memset(s1, 0x3c, sizeof(s1));
	imabuild_ng(&ng, "ima-ng", "sha256", d, 32, "boot_aggregate", NULL, 0, 0);
	imabuild_ng(&ng, "ima-ng", "sha256", d, 32, "/usr/bin/env", NULL, 0, 0);
	imabuild_ng(&ng, "ima-sig", "sha256", d, 32, "/sbin/init", (const uint8_t *)"\x03sig", 4,
		    1);
	imabuild_violation(&ng, "/tmp/tomtou");
	imabuild_ng(&ng, "ima-buf", "sha256", d, 32, "kexec-cmdline", (const uint8_t *)"ro", 2, 1);
	assert_int_equal(evmctl_check(&ng, &banks, 0, "attest"), 0);
	/* the check is live: one changed bit in our sha256 value and evmctl refuses */
	assert_int_not_equal(evmctl_check(&ng, &banks, 1, NULL), 0);

	/* evmctl takes the original 'ima' template only in a list of its own */
	imabuild_ima(&old, s1, "/lib/old");
	imabuild_ima(&old, d, "/sbin/old-init");
	assert_int_equal(evmctl_check(&old, &banks, 0, "attest"), 0);
	assert_int_not_equal(evmctl_check(&old, &banks, 1, NULL), 0);
	free(ng.data);
	free(old.data);
}

static void test_attest_log_errors(void **state)
{
	char path[] = "/tmp/measured-trunc.XXXXXX", cmd[1024], *err = NULL;
	uint8_t *buf;
	size_t len;
	int fd = mkstemp(path);

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	assert_int_equal(
		file_read_all(testdata_path("eventlogs/event-bootorder.bin"), 1 << 20, &buf, &len),
		0);
	assert_int_equal(fd_write_all(fd, buf, len - 7), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s log %s 2>&1 >/dev/null", bin_path("attest"), path);
	assert_int_equal(run_capture(cmd, &err), 1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "offset"));
	free(err);
	snprintf(cmd, sizeof(cmd), "%s log /nonexistent/log 2>&1", bin_path("attest"));
	assert_int_equal(run_capture(cmd, &err), 1);
	assert_non_null(strstr(err, "/nonexistent/log"));
	free(err);
	snprintf(cmd, sizeof(cmd), "%s log --format xml %s 2>&1", bin_path("attest"), path);
	assert_int_equal(run_capture(cmd, &err), 2);
	assert_non_null(strstr(err, "--format"));
	free(err);
	free(buf);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tpm2_eventlog_agrees_on_own_boot),
		cmocka_unit_test(test_tpm2_eventlog_agrees),
		cmocka_unit_test(test_evmctl_accepts_ima_replay),
		cmocka_unit_test(test_attest_log_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
