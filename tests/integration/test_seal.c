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

#include "authorize.h"
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
	r = tpm_unseal(tpm, obj, &sel, NULL, pin, out, &len);
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
	assert_int_equal(tpm_unseal(tpm, &obj, &sel, NULL, NULL, pass, &len), 0);
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
	assert_int_equal(tpm_unseal(tpm, &obj, &sel, NULL, NULL, pass, &len), -EACCES);
	assert_int_equal(len, 0);
	unlink(img);
}

static void make_signer(const char *path, struct policy_signer *ret)
{
	char *out = NULL;

	assert_int_equal(
		sh(&out, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s",
		   path),
		0);
	free(out);
	assert_int_equal(policy_signer_load(path, ret), 0);
}

static int unseal_signed(const struct sealed_object *obj, const struct policy_signer *signer,
			 const struct signed_policy *sp, const char *pin)
{
	struct seal_authorization a = {signer, sp};
	uint8_t out[SEAL_SECRET_MAX];
	size_t len = 0;
	int r = tpm_unseal(tpm, obj, &sp->pcrs, &a, pin, out, &len);

	if (r == 0)
		assert_memory_equal(out, secret, sizeof(secret));
	return r;
}

/*
 * The update flow: sealed once to PolicyAuthorize(vendor key); each release's
 * predicted PCRs are signed; the TPM opens on any signed chain, not on an
 * unsigned one, nor with a forged signature or another vendor's.
 */
static void test_authorized_update(void **state)
{
	char vendor[] = "/tmp/measured-vendor.XXXXXX", other[] = "/tmp/measured-other.XXXXXX";
	struct policy_signer key, rogue;
	struct signed_policy v1 = {0}, v2 = {0}, forged, theirs = {0};
	struct sealed_object obj;
	struct policy pol;
	TPM2B_NAME *tpm_name = NULL;
	ESYS_TR h;

	(void)state;
	close(mkstemp(vendor));
	close(mkstemp(other));
	make_signer(vendor, &key);
	make_signer(other, &rogue);
	/* the TPM names the loaded key as we do */
	TPM2B_PUBLIC pub = key.pub;
	assert_int_equal(Esys_LoadExternal(tpm_esys(tpm), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   NULL, &pub, ESYS_TR_RH_OWNER, &h),
			 0);
	assert_int_equal(Esys_TR_GetName(tpm_esys(tpm), h, &tpm_name), 0);
	assert_int_equal(tpm_name->size, sizeof(key.name));
	assert_memory_equal(tpm_name->name, key.name, sizeof(key.name));
	Esys_Free(tpm_name);
	Esys_FlushContext(tpm_esys(tpm), h);

	policy_init(&pol, hash_alg_by_name("sha256"));
	assert_int_equal(policy_authorize(&pol, key.name, sizeof(key.name)), 0);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), pol.digest, NULL, &obj), 0);

	/* release 1: the chain as it is now */
	selection(&v1.pcrs);
	current(&v1.values);
	assert_int_equal(signed_policy_sign(&key, &v1), 0);
	assert_int_equal(signed_policy_verify(&key, &v1), 0);
	assert_int_equal(unseal_signed(&obj, &key, &v1, NULL), 0);

	/* release 2 is predicted and signed before it boots */
	selection(&v2.pcrs);
	current(&v2.values);
	extend13("rootfs v2", &v2.values);
	assert_int_equal(signed_policy_sign(&key, &v2), 0);
	assert_int_equal(unseal_signed(&obj, &key, &v2, NULL), -EACCES);
	extend13("rootfs v2", NULL);
	assert_int_equal(unseal_signed(&obj, &key, &v1, NULL), -EACCES);
	assert_int_equal(unseal_signed(&obj, &key, &v2, NULL), 0);

	/* through its JSON file form */
	char *json = NULL;
	assert_int_equal(signed_policy_to_json(&v2, &json), 0);
	if (signed_policy_from_json(json, strlen(json), &theirs) < 0)
		fail_msg("%s\n%s", err_msg(), json);
	free(json);
	assert_int_equal(signed_policy_verify(&key, &theirs), 0);
	assert_int_equal(unseal_signed(&obj, &key, &theirs, NULL), 0);

	/* a forged signature: software and TPM refuse it */
	forged = v2;
	forged.sig_s[5] ^= 1;
	assert_int_equal(signed_policy_verify(&key, &forged), -EBADMSG);
	assert_int_equal(unseal_signed(&obj, &key, &forged, NULL), -EBADMSG);
	/* another vendor's signature on the right chain: the object names ours */
	forged = v2;
	assert_int_equal(signed_policy_sign(&rogue, &forged), 0);
	assert_int_equal(unseal_signed(&obj, &rogue, &forged, NULL), -EACCES);
	/* an unsigned chain (extended further, nobody approved it) */
	extend13("rootfs nobody signed", NULL);
	assert_int_equal(unseal_signed(&obj, &key, &v2, NULL), -EACCES);

	/* with a PIN: PolicyAuthorize, then PolicyAuthValue */
	struct signed_policy v3 = {0};
	selection(&v3.pcrs);
	current(&v3.values);
	assert_int_equal(signed_policy_sign(&key, &v3), 0);
	assert_int_equal(policy_auth_value(&pol), 0);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), pol.digest, "2468", &obj), 0);
	assert_int_equal(unseal_signed(&obj, &key, &v3, "2468"), 0);
	assert_int_equal(unseal_signed(&obj, &key, &v3, "1111"), -EPERM);
	policy_signer_free(&key);
	policy_signer_free(&rogue);
	unlink(vendor);
	unlink(other);
}

/*
 * Our PolicyAuthorize digest equals tpm2_policyauthorize's (a TPM trial
 * session) for the same key name and approved policy.
 */
static void test_authorize_equals_tpm2_policyauthorize(void **state)
{
	char dir[] = "/tmp/measured-pa.XXXXXX", *out = NULL;
	struct policy_signer key;
	struct policy pol;
	uint8_t *theirs = NULL;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	make_signer(path, &key);
	snprintf(path, sizeof(path), "%s/name.bin", dir);
	assert_int_equal(file_write_atomic(path, key.name, sizeof(key.name), 0600), 0);
	snprintf(path, sizeof(path), "%s/approved.bin", dir);
	assert_int_equal(file_write_atomic(path, "0123456789abcdef0123456789abcdef", 32, 0600), 0);
	assert_int_equal(
		sh(&out,
		   "cd %s && export TPM2TOOLS_TCTI='%s' && "
		   "tpm2_startauthsession -S s.ctx && "
		   "tpm2_policyauthorize -S s.ctx -L out.bin -i approved.bin -n name.bin && "
		   "tpm2_flushcontext s.ctx",
		   dir, sw.tcti),
		0);
	free(out);
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	assert_int_equal(file_read_all(path, 64, &theirs, &len), 0);
	policy_init(&pol, hash_alg_by_name("sha256"));
	assert_int_equal(policy_authorize(&pol, key.name, sizeof(key.name)), 0);
	assert_int_equal(len, 32);
	assert_memory_equal(pol.digest, theirs, 32);
	free(theirs);
	policy_signer_free(&key);
	assert_int_equal(sh(&out, "rm -rf %s", dir), 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_then_changed),
		cmocka_unit_test(test_predicted_before_it_holds),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_policy_equals_tpm2_createpolicy),
		cmocka_unit_test(test_luks_passphrase_sealed),
		cmocka_unit_test(test_authorized_update),
		cmocka_unit_test(test_authorize_equals_tpm2_policyauthorize),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
