// SPDX-License-Identifier: MIT
/*
 * pcrpredict against the independent tools: veritysetup for verity root
 * hashes and, byte for byte, the hash tree measured-init gives dm-verity, openssl/sha1sum for flat digests, tpm2_createpolicy and a
 * tpm2_policypcr + tpm2_policyauthvalue session on swtpm for policies.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "swtpm.h"
#include "testutil.h"
#include "verity.h"

static char dir[64];

/* The value after "Root hash:" in veritysetup's output. */
static void veritysetup_root(const char *image, const char *salt, char *ret)
{
	char *out = NULL, *p;

	assert_int_equal(sh(&out, "veritysetup format %s %s/hash.img --salt=%s", image, dir, salt),
			 0);
	p = strstr(out, "Root hash:");
	assert_non_null(p);
	assert_int_equal(sscanf(p + 10, " %64s", ret), 1);
	free(out);
}

/* The "digest" of @bank in pcrpredict rootfs --json output. */
static void our_digest(const char *json, const char *bank, char *ret)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":{\"digest\":\"", bank);
	p = strstr(json, key);
	assert_non_null(p);
	assert_int_equal(sscanf(p + strlen(key), "%128[0-9a-f]", ret), 1);
}

static void make_image(const char *path, size_t size, unsigned seed)
{
	uint8_t *buf = malloc(size);

	srand(seed);
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)rand();
	assert_int_equal(file_write_atomic(path, buf, size, 0644), 0);
	free(buf);
}

static void test_verity_equals_veritysetup(void **state)
{
	/* 1 block (root = block hash), a partial tail, 2 and 3 tree levels */
	static const size_t sizes[] = {4096, 5000, 130 * 4096, (128 * 128 + 3) * 4096};
	static const char *const salts[] = {"-", "00ff11ee22dd33cc"};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char image[128], theirs[80], ours[130];

		snprintf(image, sizeof(image), "%s/img%zu", dir, i);
		make_image(image, sizes[i], (unsigned)i);
		for (size_t s = 0; s < 2; s++) {
			char *out = NULL;

			veritysetup_root(image, salts[s], theirs);
			assert_int_equal(sh(&out, "%s rootfs --mode verity --salt %s --json %s",
					    bin_path("pcrpredict"), salts[s], image),
					 0);
			our_digest(out, "sha256", ours);
			if (strcmp(ours, theirs) != 0)
				fail_msg("%zu bytes, salt %s: ours %s, veritysetup %s", sizes[i],
					 salts[s], ours, theirs);
			free(out);
		}
	}
}

/* The tree measured-init maps is the hash area veritysetup writes for the same image. */
static void test_verity_tree_equals_veritysetup_hash_area(void **state)
{
	static const size_t sizes[] = {4096, 5000, 2 * 4096, 130 * 4096, (128 * 128 + 3) * 4096};
	static const char *const salts[] = {"-", "00ff11ee22dd33cc"};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char image[128], hash[128];

		snprintf(image, sizeof(image), "%s/tree%zu", dir, i);
		snprintf(hash, sizeof(hash), "%s/tree%zu.hash", dir, i);
		make_image(image, sizes[i], (unsigned)i + 100);
		for (size_t s = 0; s < 2; s++) {
			struct verity_params p;
			struct verity_tree t;
			uint8_t root[DIGEST_MAX], *theirs = NULL;
			char *out = NULL, hex[2 * DIGEST_MAX + 1], *r;
			size_t len = 0;
			int fd;

			verity_params_default(&p);
			if (strcmp(salts[s], "-") != 0)
				assert_int_equal(
					hex_decode(salts[s], p.salt, sizeof(p.salt), &p.salt_len),
					0);
			unlink(hash);
			assert_int_equal(sh(&out,
					    "veritysetup format --no-superblock %s %s --salt=%s",
					    image, hash, salts[s]),
					 0);
			fd = open(image, O_RDONLY);
			assert_true(fd >= 0);
			assert_int_equal(verity_hash_tree(fd, &p, 2, NULL, NULL, root, &t), 0);
			close(fd);
			assert_int_equal(file_read_all(hash, 1 << 28, &theirs, &len), 0);
			if (len != t.size || (len && memcmp(theirs, t.area, len) != 0))
				fail_msg("%zu bytes, salt %s: our tree (%zu bytes, %u levels) is "
					 "not "
					 "veritysetup's hash area (%zu bytes)",
					 sizes[i], salts[s], t.size, t.levels, len);
			hex_encode(root, 32, hex);
			r = strstr(out, "Root hash:");
			assert_non_null(r);
			assert_non_null(strstr(r, hex));
			assert_int_equal(t.data_blocks, sizes[i] / 4096);
			verity_tree_free(&t);
			free(theirs);
			free(out);
		}
	}
}

static void test_flat_equals_openssl(void **state)
{
	char image[128], *out = NULL, *ref = NULL, ours[130], theirs[130];

	(void)state;
	snprintf(image, sizeof(image), "%s/flat", dir);
	make_image(image, 3 * 1024 * 1024 + 17, 7);
	assert_int_equal(sh(&out, "%s rootfs --mode flat --banks sha256,sha1,sha384 --json %s",
			    bin_path("pcrpredict"), image),
			 0);
	static const char *const algs[] = {"sha256", "sha1", "sha384"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sh(&ref, "openssl dgst -%s -r %s", algs[i], image), 0);
		assert_int_equal(sscanf(ref, "%128[0-9a-f]", theirs), 1);
		our_digest(out, algs[i], ours);
		assert_string_equal(ours, theirs);
		free(ref);
	}
	/* the PCR is H(zero || digest): check with openssl too */
	{
		uint8_t buf[64] = {0};
		size_t len;
		char pcr_line[200], *p;

		assert_int_equal(hex_decode(ours /* sha384 */, buf, 48, &len), 0);
		our_digest(out, "sha256", ours);
		memset(buf, 0, sizeof(buf));
		assert_int_equal(hex_decode(ours, buf + 32, 32, &len), 0);
		assert_int_equal(file_write_atomic("/tmp/measured-pcrcat", buf, 64, 0644), 0);
		assert_int_equal(sh(&ref, "openssl dgst -sha256 -r /tmp/measured-pcrcat"), 0);
		snprintf(pcr_line, sizeof(pcr_line), "\"pcr\":\"%.64s\"", ref);
		p = strstr(out, pcr_line);
		assert_non_null(p);
		free(ref);
		unlink("/tmp/measured-pcrcat");
	}
	free(out);
}

static void test_policy_equals_tpm2_tools(void **state)
{
	struct swtpm sw;
	char *out = NULL, *theirs = NULL, vals[128], json[128];
	const char *sel = "sha256:0,7,16+sha1:16";
	uint8_t *raw;
	size_t len;
	FILE *f;

	(void)state;
	assert_int_equal(swtpm_start(&sw, true), 0);
	snprintf(vals, sizeof(vals), "%s/vals.bin", dir);
	assert_int_equal(sh(NULL, "tpm2_pcrextend -T '%s' 16:sha256=%064d,sha1=%040d >/dev/null",
			    sw.tcti, 7, 9),
			 0);
	assert_int_equal(sh(NULL, "tpm2_pcrread -T '%s' -o %s %s >/dev/null", sw.tcti, vals, sel),
			 0);
	assert_int_equal(
		sh(&theirs,
		   "tpm2_createpolicy -T '%s' --policy-pcr -l %s -f %s -L %s/pol >/dev/null "
		   "&& xxd -p -c 64 %s/pol",
		   sw.tcti, sel, vals, dir, dir),
		0);
	assert_int_equal(
		sh(&out, "%s policy --pcrs %s --values %s", bin_path("pcrpredict"), sel, vals), 0);
	assert_string_equal(out, theirs);
	free(out);
	free(theirs);

	/* PolicyPCR then PolicyAuthValue in a real trial session */
	assert_int_equal(sh(&theirs,
			    "T='%s'; tpm2_startauthsession -T $T -S %s/s.ctx && "
			    "tpm2_policypcr -T $T -S %s/s.ctx -l %s -f %s >/dev/null && "
			    "tpm2_policyauthvalue -T $T -S %s/s.ctx -L %s/pol2 >/dev/null && "
			    "tpm2_flushcontext -T $T %s/s.ctx && xxd -p -c 64 %s/pol2",
			    sw.tcti, dir, dir, sel, vals, dir, dir, dir, dir),
			 0);
	assert_int_equal(sh(&out, "%s policy --pin --pcrs %s --values %s", bin_path("pcrpredict"),
			    sel, vals),
			 0);
	assert_string_equal(out, theirs);
	free(out);

	/* the same values as a JSON document with a "pcrs" object */
	assert_int_equal(file_read_all(vals, 4096, &raw, &len), 0);
	assert_int_equal(len, 32 * 3 + 20);
	snprintf(json, sizeof(json), "%s/vals.json", dir);
	f = fopen(json, "w");
	char h0[65], h7[65], h16[65], s16[41];
	hex_encode(raw, 32, h0);
	hex_encode(raw + 32, 32, h7);
	hex_encode(raw + 64, 32, h16);
	hex_encode(raw + 96, 20, s16);
	fprintf(f,
		"{\"pcrs\":{\"sha1\":{\"16\":\"%s\"},\"sha256\":{\"16\":\"%s\",\"0\":\"%s\",\"7\":"
		"\"%s\"}}}\n",
		s16, h16, h0, h7);
	fclose(f);
	assert_int_equal(sh(&out, "%s policy --json --pin --pcrs %s --values %s",
			    bin_path("pcrpredict"), sel, json),
			 0);
	theirs[64] = '\0';
	assert_non_null(strstr(out, theirs));
	free(out);
	free(theirs);
	free(raw);
	swtpm_stop(&sw);
}

/*
 * pcrpredict sign: the approved digest is pcrpredict policy's (and
 * tpm2_createpolicy's), and OpenSSL alone verifies the signature over
 * SHA-256(policy) -- what TPM2_VerifySignature checks for PolicyAuthorize.
 */
static void test_sign_verified_by_openssl(void **state)
{
	struct swtpm sw;
	char *out = NULL, *theirs = NULL;
	const char *sel = "sha256:0,1,2,7,13";

	(void)state;
	assert_int_equal(swtpm_start(&sw, true), 0);
	assert_int_equal(sh(NULL,
			    "cd %s && tpm2_pcrextend -T '%s' 13:sha256=%064d >/dev/null && "
			    "tpm2_pcrread -T '%s' -o sv.bin %s >/dev/null && "
			    "tpm2_createpolicy -T '%s' --policy-pcr -l %s -f sv.bin -L sp.bin "
			    ">/dev/null && openssl genpkey -algorithm EC -pkeyopt "
			    "ec_paramgen_curve:P-256 -out vendor.pem 2>/dev/null && "
			    "openssl pkey -in vendor.pem -pubout -out vendor.pub",
			    dir, sw.tcti, 5, sw.tcti, sel, sw.tcti, sel),
			 0);
	swtpm_stop(&sw);
	assert_int_equal(sh(&out,
			    "cd %s && %s sign --key vendor.pem --pcrs %s --values sv.bin "
			    "--out signed.json && jq -r .policy signed.json",
			    dir, bin_path("pcrpredict"), sel),
			 0);
	assert_int_equal(sh(&theirs, "xxd -p -c 64 %s/sp.bin", dir), 0);
	assert_string_equal(out, theirs);
	free(out);
	free(theirs);
	if (sh(&out,
	       "cd %s && printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%%s\ns=INTEGER:0x%%s\n' "
	       "$(jq -r .signature.r signed.json) $(jq -r .signature.s signed.json) >sig.cnf && "
	       "openssl asn1parse -genconf sig.cnf -out sig.der >/dev/null && "
	       "jq -r .policy signed.json | xxd -r -p | openssl dgst -sha256 -binary >ahash.bin && "
	       "openssl pkeyutl -verify -pubin -inkey vendor.pub -in ahash.bin -sigfile sig.der",
	       dir) != 0)
		fail_msg("openssl: %s", out);
	assert_non_null(strstr(out, "Signature Verified Successfully"));
	free(out);
	/* the public half cannot sign: named */
	assert_int_equal(sh(&out,
			    "cd %s && %s sign --key vendor.pub --pcrs %s --values sv.bin 2>&1", dir,
			    bin_path("pcrpredict"), sel),
			 2);
	assert_non_null(strstr(out, "is the signer a private key?"));
	free(out);
}

static void test_bad_input_exit_2(void **state)
{
	char *out = NULL, short_vals[128];

	(void)state;
	assert_int_equal(sh(&out, "%s rootfs /nonexistent.img 2>&1", bin_path("pcrpredict")), 2);
	assert_non_null(strstr(out, "/nonexistent.img"));
	free(out);
	assert_int_equal(
		sh(&out, "%s rootfs --banks sha999 %s/flat 2>&1", bin_path("pcrpredict"), dir), 2);
	assert_non_null(strstr(out, "sha999"));
	free(out);
	assert_int_equal(
		sh(&out, "%s rootfs --mode squash %s/flat 2>&1", bin_path("pcrpredict"), dir), 2);
	assert_non_null(strstr(out, "squash"));
	free(out);
	/* what measured-init refuses, pcrpredict does not predict */
	assert_int_equal(sh(&out, "%s rootfs --pcr 16 %s/flat 2>&1", bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "PCR 16 can be reset"));
	free(out);
	assert_int_equal(
		sh(&out, "%s rootfs --pcr 4294967309 %s/flat 2>&1", bin_path("pcrpredict"), dir),
		2);
	free(out);
	snprintf(short_vals, sizeof(short_vals), "%s/short", dir);
	assert_int_equal(file_write_atomic(short_vals, "0123456789", 10, 0644), 0);
	assert_int_equal(sh(&out, "%s policy --pcrs sha256:0 --values %s 2>&1",
			    bin_path("pcrpredict"), short_vals),
			 2);
	assert_non_null(strstr(out, short_vals));
	assert_non_null(strstr(out, "needs 32"));
	free(out);
	assert_int_equal(sh(&out, "%s frobnicate 2>&1", bin_path("pcrpredict")), 2);
	free(out);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-pp.XXXXXX");
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
		cmocka_unit_test(test_verity_equals_veritysetup),
		cmocka_unit_test(test_verity_tree_equals_veritysetup_hash_area),
		cmocka_unit_test(test_flat_equals_openssl),
		cmocka_unit_test(test_policy_equals_tpm2_tools),
		cmocka_unit_test(test_sign_verified_by_openssl),
		cmocka_unit_test(test_bad_input_exit_2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
