// SPDX-License-Identifier: MIT
/*
 * Sealing against swtpm: to the current PCRs, to predicted PCRs before they
 * hold, with a PIN (wrong PIN refused by the TPM), and our software policy
 * digest checked against tpm2_createpolicy's.
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

#include "digest.h"
#include "err.h"
#include "fileio.h"
#include "luks.h"
#include "policy_digest.h"
#include "seal.h"
#include "sealed_file.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"

static struct swtpm sw;
static struct tpm *tpm;
static const uint8_t secret[] = "luks passphrase: 0123456789abcdef";

static int setup(void **state)
{
	(void)state;
	if (swtpm_start(&sw, true) < 0 || tpm_open(sw.tcti, 0, &tpm) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tpm_close(tpm);
	swtpm_stop(&sw);
	return 0;
}

/* The sealing profile's PCRs (policies/seal-boot.profile's shape). */
#define SEAL_PCRS "sha256:0,1,2,3,4,5,6,7,8,9,11,13"

static void selection(struct pcr_selection *sel)
{
	assert_int_equal(pcr_selection_parse(SEAL_PCRS, sel), 0);
}

/* The policy over @values (PolicyPCR, + PolicyAuthValue with @pin). */
static void policy_over(const char *pcrs, const struct pcr_banks *values, bool pin, uint8_t out[32])
{
	struct pcr_selection sel;
	struct policy p;

	assert_int_equal(pcr_selection_parse(pcrs, &sel), 0);
	policy_init(&p, hash_alg_by_name("sha256"));
	assert_int_equal(policy_pcr(&p, &sel, values), 0);
	if (pin)
		assert_int_equal(policy_auth_value(&p), 0);
	memcpy(out, p.digest, 32);
}

static void policy_for(const struct pcr_banks *values, bool pin, uint8_t out[32])
{
	policy_over(SEAL_PCRS, values, pin, out);
}

static void current(struct pcr_banks *values)
{
	struct pcr_selection sel;

	selection(&sel);
	assert_int_equal(tpm_pcr_read(tpm, &sel, values, NULL), 0);
}

static void extend13(const char *what, struct pcr_banks *predicted)
{
	struct alg_digest d = {.alg = hash_alg_by_name("sha256")};

	digest_buf(d.alg, what, strlen(what), d.value);
	if (predicted)
		assert_int_equal(pcr_bank_extend(&predicted->bank[0], 13, d.value), 0);
	else
		assert_int_equal(tpm_pcr_extend(tpm, 13, &d, 1), 0);
}

static int unseal(const struct sealed_object *obj, const char *pin)
{
	struct pcr_selection sel;
	uint8_t out[SEAL_SECRET_MAX];
	size_t len = 0;
	int r;

	selection(&sel);
	r = tpm_unseal(tpm, obj, &sel, pin, out, &len);
	if (r == 0) {
		assert_int_equal(len, sizeof(secret));
		assert_memory_equal(out, secret, len);
	}
	return r;
}

static void test_current_then_changed(void **state)
{
	struct pcr_banks values;
	struct sealed_object obj;
	uint8_t policy[32];

	(void)state;
	current(&values);
	policy_for(&values, false, policy);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), policy, NULL, &obj), 0);
	assert_int_equal(unseal(&obj, NULL), 0);
	extend13("another rootfs", NULL);
	assert_int_equal(unseal(&obj, NULL), -EACCES);
	assert_string_equal(err_msg(), "PCR policy does not hold");
}

static void test_predicted_before_it_holds(void **state)
{
	struct pcr_banks values;
	struct sealed_object obj;
	uint8_t policy[32];

	(void)state;
	current(&values);
	extend13("the next rootfs", &values); /* what pcrpredict would say */
	policy_for(&values, false, policy);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), policy, NULL, &obj), 0);
	assert_int_equal(unseal(&obj, NULL), -EACCES);
	extend13("the next rootfs", NULL);
	assert_int_equal(unseal(&obj, NULL), 0);
	extend13("and one more", NULL);
	assert_int_equal(unseal(&obj, NULL), -EACCES);
}

static void test_pin(void **state)
{
	struct pcr_banks values;
	struct sealed_object obj;
	uint8_t policy[32];

	(void)state;
	current(&values);
	policy_for(&values, true, policy);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), policy, "1234", &obj), 0);
	/* through the sealed key file and back */
	struct sealed_file f = {.pin = true, .obj = obj}, g;
	char path[] = "/tmp/measured-sealed.XXXXXX";
	selection(&f.pcrs);
	memcpy(f.policy, policy, 32);
	close(mkstemp(path));
	assert_int_equal(sealed_file_save(path, &f), 0);
	assert_int_equal(sealed_file_load(path, &g), 0);
	unlink(path);
	assert_true(g.pin);
	obj = g.obj;
	assert_int_equal(unseal(&obj, "1234"), 0);
	assert_int_equal(unseal(&obj, "4321"), -EPERM);
	assert_int_equal(unseal(&obj, "1234"), 0);
	/* without the PIN the policy (which includes PolicyAuthValue) does not match */
	assert_int_equal(unseal(&obj, NULL), -EACCES);
}

/*
 * Our PolicyPCR digest, computed in software, equals tpm2_createpolicy's from
 * the TPM (after the other tests extended PCR 13, so it is not all zeros).
 */
static void test_policy_equals_tpm2_createpolicy(void **state)
{
	struct pcr_banks values;
	uint8_t policy[32], *theirs = NULL;
	char path[] = "/tmp/measured-policy.XXXXXX", *out = NULL;
	size_t len;

	(void)state;
	current(&values);
	/* tpm2_createpolicy takes at most 8 PCRs */
	policy_over("sha256:0,2,4,7,8,9,11,13", &values, false, policy);
	close(mkstemp(path));
	assert_int_equal(sh(&out,
			    "tpm2_createpolicy -T '%s' --policy-pcr -l "
			    "sha256:0,2,4,7,8,9,11,13 -L %s >/dev/null 2>&1",
			    sw.tcti, path),
			 0);
	free(out);
	assert_int_equal(file_read_all(path, 64, &theirs, &len), 0);
	unlink(path);
	assert_int_equal(len, 32);
	assert_memory_equal(policy, theirs, 32);
	free(theirs);
}

/*
 * The use: a LUKS2 image's passphrase sealed to the PCRs.  Unsealed, it opens a
 * key slot (ours, and cryptsetup's --test-passphrase); after PCR 13 changes
 * nothing comes out of the TPM.
 */
static void test_luks_passphrase_sealed(void **state)
{
	const struct luks_kdf fast = {.type = "pbkdf2", .iterations = 1000};
	char img[] = "/tmp/measured-luks.XXXXXX", key[] = "/tmp/measured-key.XXXXXX", *out = NULL;
	struct pcr_selection sel;
	struct pcr_banks values;
	struct sealed_object obj;
	uint8_t policy[32], pass[SEAL_SECRET_MAX];
	size_t len = 0;
	int fd;

	(void)state;
	fd = mkstemp(img);
	assert_int_equal(ftruncate(fd, 32 << 20), 0);
	close(fd);
	assert_int_equal(luks_format(img, secret, sizeof(secret), &fast), 0);
	assert_int_equal(sh(&out, "cryptsetup isLuks --type luks2 %s", img), 0);
	free(out);
	current(&values);
	policy_for(&values, false, policy);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), policy, NULL, &obj), 0);
	selection(&sel);
	assert_int_equal(tpm_unseal(tpm, &obj, &sel, NULL, pass, &len), 0);
	assert_int_equal(luks_check_passphrase(img, pass, len), 0);
	assert_int_equal(luks_check_passphrase(img, (const uint8_t *)"guess", 5), -EPERM);
	/* cryptsetup agrees: the unsealed bytes open the volume */
	close(mkstemp(key));
	assert_int_equal(file_write_atomic(key, pass, len, 0600), 0);
	assert_int_equal(
		sh(&out, "cryptsetup open --test-passphrase --key-file %s %s 2>&1", key, img), 0);
	free(out);
	unlink(key);
	extend13("a changed rootfs", NULL);
	len = 0;
	assert_int_equal(tpm_unseal(tpm, &obj, &sel, NULL, pass, &len), -EACCES);
	assert_int_equal(len, 0);
	unlink(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_then_changed),
		cmocka_unit_test(test_predicted_before_it_holds),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_policy_equals_tpm2_createpolicy),
		cmocka_unit_test(test_luks_passphrase_sealed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
