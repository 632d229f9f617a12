// SPDX-License-Identifier: MIT
/*
 * pcrpredict tboot against tboot's own tools on Debian's /boot/tboot.gz:
 * lcp2_mlehash for the MLE hash, tb_polgen for module measurements, and the
 * policy digests tboot's documentation publishes (docs/FORMATS.md "tboot").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "hex.h"
#include "pcr.h"
#include "tboot.h"
#include "testutil.h"

#define TBOOT_GZ "/boot/tboot.gz"

static char dir[64];

/* "aa bb cc ..." (lcp2_mlehash, tb_polgen) -> "aabbcc..." */
static void squeeze_hex(const char *in, char *out, size_t max)
{
	size_t n = 0;

	for (; *in && n + 1 < max; in++)
		if ((*in >= '0' && *in <= '9') || (*in >= 'a' && *in <= 'f'))
			out[n++] = *in;
	out[n] = '\0';
}

static void test_mle_hash_equals_lcp2_mlehash(void **state)
{
	static const char *const cmdlines[] = {
		"", "logging=serial,memory,vga",
		"loglvl=all serial=115200,8n1,0x3f8 min_ram=0x2000000"};

	(void)state;
	for (size_t c = 0; c < 3; c++) {
		char *ours = NULL;

		assert_int_equal(sh(&ours,
				    "%s tboot --json --extpol agile --banks sha1,sha256,sha384 "
				    "--tboot %s --tboot-cmdline '%s' --module %s",
				    bin_path("pcrpredict"), TBOOT_GZ, cmdlines[c], TBOOT_GZ),
				 0);
		static const char *const algs[] = {"sha1", "sha256", "sha384"};
		for (size_t a = 0; a < 3; a++) {
			char *theirs = NULL, hex[200], needle[256];

			assert_int_equal(sh(&theirs,
					    "lcp2_mlehash --create --alg %s --cmdline '%s' %s",
					    algs[a], cmdlines[c], TBOOT_GZ),
					 0);
			squeeze_hex(theirs, hex, sizeof(hex));
			snprintf(needle, sizeof(needle), "\"%s\":\"%s\"", algs[a], hex);
			if (!strstr(strstr(ours, "\"mle_hash\""), needle))
				fail_msg("MLE hash %s for \"%s\": lcp2_mlehash says %s", algs[a],
					 cmdlines[c], hex);
			free(theirs);
		}
		free(ours);
	}
}

static void test_module_equals_tb_polgen(void **state)
{
	char img[128], gz[160], *theirs = NULL, *ours = NULL, hex[100], needle[200];
	const char *cmdline = "root=/dev/vda ro console=ttyS0 intel_iommu=on";
	uint8_t data[5000];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	snprintf(img, sizeof(img), "%s/kernel", dir);
	snprintf(gz, sizeof(gz), "%s.gz", img);
	assert_int_equal(file_write_atomic(img, data, sizeof(data), 0644), 0);
	assert_int_equal(sh(NULL, "gzip -kf %s", img), 0);
	/* tb_polgen hashes the gunzipped image, as GRUB loads it: both files must agree */
	assert_int_equal(
		sh(&theirs,
		   "cd %s && tb_polgen --create --type nonfatal --alg sha256 p.pol >/dev/null "
		   "&& tb_polgen --add --num 0 --pcr none --hash image --cmdline '%s' "
		   "--image %s p.pol >/dev/null && tb_polgen --show p.pol | "
		   "sed -n 's/.*hashes\\[0\\]: //p'",
		   dir, cmdline, gz),
		0);
	squeeze_hex(theirs, hex, sizeof(hex));
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(sh(&ours,
			    "%s tboot --json --tboot %s --module %s --cmdline '%s' --module %s "
			    "--cmdline '%s'",
			    bin_path("pcrpredict"), TBOOT_GZ, gz, cmdline, img, cmdline),
			 0);
	snprintf(needle, sizeof(needle), "\"sha256\":\"%s\"", hex);
	/* module 0 (gzip) and module 1 (plain) measure the same */
	const char *first = strstr(ours, "module 0");
	assert_non_null(first);
	assert_non_null(strstr(first, needle));
	assert_non_null(strstr(strstr(ours, "module 1"), needle));
	free(theirs);
	free(ours);
}

static void test_policy_digests_published(void **state)
{
	const struct hash_alg *sha256 = hash_alg_by_name("sha256");
	uint8_t pol[64], out[32];
	char hex[65];

	(void)state;
	/* measurements.md: the default DA policy of tboot 1.10.x */
	assert_int_equal(
		tboot_policy_digest(tboot_default_policy, tboot_default_policy_len, sha256, out),
		0);
	hex_encode(out, 32, hex);
	assert_string_equal(hex,
			    "71be5852a14eabefebf0df0e1acc5da291883b6d4c5ab20914ed987c1daf3f91");
	/* ... and with hash_alg=4, as in Intel SecL sample logs */
	memcpy(pol, tboot_default_policy, tboot_default_policy_len);
	pol[2] = 4;
	assert_int_equal(tboot_policy_digest(pol, tboot_default_policy_len, sha256, out), 0);
	hex_encode(out, 32, hex);
	assert_string_equal(hex,
			    "27808f64e6383982cd3bcc10cfcb3457c0b65f465f779d89b668839eaf263a67");
}

/* PCR 17 and 18 from a JSON profile equal those from the same events as a TXT log. */
static void test_platform_profile_json_and_log_agree(void **state)
{
	char json_path[128], log_path[128], *a = NULL, *b = NULL;
	uint8_t log[512] = {0};
	size_t off;
	FILE *f;

	(void)state;
	snprintf(json_path, sizeof(json_path), "%s/profile.json", dir);
	f = fopen(json_path, "w");
	fprintf(f,
		"[{\"pcr\":17,\"type\":\"0x402\",\"digests\":{\"sha256\":\"%064d\"}},"
		"{\"pcr\":17,\"type\":1035,\"digests\":{\"sha256\":\"%064d\"}},"
		"{\"pcr\":17,\"type\":\"0x404\"},"
		"{\"pcr\":18,\"type\":\"0x410\",\"digests\":{\"sha256\":\"%064d\"}}]\n",
		1, 2, 3);
	fclose(f);
	/* the same as a crypto-agile TXT log (sha256 only); its 0x404 digest is replaced by ours */
	memcpy(log + 4, "\x03\x00\x00\x00", 4);
	log[28] = 33;
	memcpy(log + 32, "Spec ID Event03", 16);
	log[32 + 21] = 2;
	log[32 + 24] = 1;
	log[32 + 28] = 0x0b;
	log[32 + 30] = 32;
	off = 65;
	static const struct {
		uint8_t pcr;
		uint16_t type;
		char fill;
	} ev[] = {{17, 0x402, 1}, {17, 0x40b, 2}, {17, 0x404, 9}, {18, 0x410, 3}};
	for (int i = 0; i < 4; i++) {
		log[off] = ev[i].pcr;
		log[off + 4] = (uint8_t)ev[i].type;
		log[off + 5] = (uint8_t)(ev[i].type >> 8);
		log[off + 8] = 1;
		log[off + 12] = 0x0b;
		/* the JSON digests are "000...0N" in hex: 31 zero bytes then N */
		log[off + 14 + 31] = (uint8_t)ev[i].fill;
		off += 14 + 32 + 4;
	}
	snprintf(log_path, sizeof(log_path), "%s/txt.log", dir);
	assert_int_equal(file_write_atomic(log_path, log, off, 0644), 0);
	assert_int_equal(sh(&a, "%s tboot --json --tboot %s --module %s --platform %s",
			    bin_path("pcrpredict"), TBOOT_GZ, log_path, json_path),
			 0);
	assert_int_equal(sh(&b, "%s tboot --json --tboot %s --module %s --platform %s",
			    bin_path("pcrpredict"), TBOOT_GZ, log_path, log_path),
			 0);
	assert_non_null(strstr(a, "\"complete\":true"));
	assert_string_equal(strstr(a, "\"pcrs\""), strstr(b, "\"pcrs\""));

	/* replaying the printed events gives the printed PCRs */
	struct pcr_bank bank;
	const char *p = strstr(a, "\"events\"");
	pcr_bank_init(&bank, hash_alg_by_name("sha256"));
	for (int n = 0; n < 7; n++) {
		unsigned pcr;
		char hex[65];
		uint8_t d[32];
		size_t len;

		p = strstr(p, "{\"pcr\":");
		assert_non_null(p);
		assert_int_equal(sscanf(p, "{\"pcr\":%u", &pcr), 1);
		p = strstr(p, "\"sha256\":\"") + 10;
		assert_int_equal(sscanf(p, "%64[0-9a-f]", hex), 1);
		assert_int_equal(hex_decode(hex, d, 32, &len), 0);
		assert_int_equal(pcr_bank_extend(&bank, pcr, d), 0);
	}
	char want17[80], want18[80], h[65];
	hex_encode(bank.value[17], 32, h);
	snprintf(want17, sizeof(want17), "\"17\":\"%s\"", h);
	hex_encode(bank.value[18], 32, h);
	snprintf(want18, sizeof(want18), "\"18\":\"%s\"", h);
	assert_non_null(strstr(a, want17));
	assert_non_null(strstr(a, want18));
	free(a);
	free(b);
}

static void test_bad_tboot_input(void **state)
{
	char path[128], *out = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/notboot", dir);
	assert_int_equal(file_write_atomic(path, "hello world, not an image", 25, 0644), 0);
	assert_int_equal(sh(&out, "%s tboot --tboot %s --module %s 2>&1", bin_path("pcrpredict"),
			    path, path),
			 2);
	assert_non_null(strstr(out, "neither gzip nor ELF"));
	assert_non_null(strstr(out, path));
	free(out);
	/* a 64-bit ELF */
	assert_int_equal(sh(&out, "%s tboot --tboot /bin/true --module %s 2>&1",
			    bin_path("pcrpredict"), path),
			 2);
	assert_non_null(strstr(out, "32-bit"));
	free(out);
	/* truncated gzip */
	assert_int_equal(sh(NULL, "head -c 4000 %s > %s/trunc.gz", TBOOT_GZ, dir), 0);
	assert_int_equal(sh(&out, "%s tboot --tboot %s/trunc.gz --module %s 2>&1",
			    bin_path("pcrpredict"), dir, path),
			 2);
	assert_non_null(strstr(out, "gzip"));
	free(out);
	assert_int_equal(sh(&out, "%s tboot --tboot %s --module /nonexistent 2>&1",
			    bin_path("pcrpredict"), TBOOT_GZ),
			 2);
	assert_non_null(strstr(out, "/nonexistent"));
	free(out);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-tb.XXXXXX");
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
		cmocka_unit_test(test_mle_hash_equals_lcp2_mlehash),
		cmocka_unit_test(test_module_equals_tb_polgen),
		cmocka_unit_test(test_policy_digests_published),
		cmocka_unit_test(test_platform_profile_json_and_log_agree),
		cmocka_unit_test(test_bad_tboot_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
