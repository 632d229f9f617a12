// SPDX-License-Identifier: MIT
/*
 * Sealing against swtpm: to the current PCRs, to predicted PCRs before they
 * hold, with a PIN (wrong PIN refused by the TPM), and our software policy
 * digest checked against tpm2_createpolicy's; revocation by NV counter
 * (old copies refused after a re-seal, after removal, after the counter is
 * defined anew), PolicyNV against tpm2_policynv; and the TPM traffic,
 * captured with tpm2-tss's pcap TCTI, holds neither the secret nor the PIN.
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
#include "credential.h"
#include "digest.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "luks.h"
#include "policy_digest.h"
#include "seal.h"
#include "sealed_file.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"
#include "tpm_attest.h"

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
	r = tpm_unseal(tpm, obj, &sel, NULL, NULL, pin, out, &len);
	if (r == 0) {
		assert_int_equal(len, sizeof(secret));
		assert_memory_equal(out, secret, len);
	}
	return r;
}

/* Nothing left in the TPM: refusals and successes alike flush their sessions and objects. */
static void expect_nothing_loaded(void)
{
	char *out = NULL;

	assert_int_equal(sh(&out,
			    "export TPM2TOOLS_TCTI='%s' && tpm2_getcap handles-loaded-session && "
			    "tpm2_getcap handles-saved-session && tpm2_getcap handles-transient",
			    sw.tcti),
			 0);
	if (*out)
		fail_msg("left in the TPM: %s", out);
	free(out);
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
	expect_nothing_loaded();
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
			    "sha256:0,2,4,7,8,9,11,13 -L %s >/dev/null 2>&1 && "
			    /* it leaves its trial session loaded */
			    "tpm2_flushcontext -T '%s' -l",
			    sw.tcti, path, sw.tcti),
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
	assert_int_equal(tpm_unseal(tpm, &obj, &sel, NULL, NULL, NULL, pass, &len), 0);
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
	assert_int_equal(tpm_unseal(tpm, &obj, &sel, NULL, NULL, NULL, pass, &len), -EACCES);
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
	int r = tpm_unseal(tpm, obj, &sp->pcrs, &a, NULL, pin, out, &len);

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

/* ---- revocation: each object's own NV counter ---- */

/* PolicyPCR(@pcrs now) + PolicyNV(@c) [+ PolicyAuthValue]. */
static void policy_counted_over(const char *pcrs, const struct seal_counter *c, bool pin,
				uint8_t out[32])
{
	struct pcr_selection sel;
	struct pcr_banks values;
	struct policy p;

	assert_int_equal(pcr_selection_parse(pcrs, &sel), 0);
	assert_int_equal(tpm_pcr_read(tpm, &sel, &values, NULL), 0);
	policy_init(&p, hash_alg_by_name("sha256"));
	assert_int_equal(policy_pcr(&p, &sel, &values), 0);
	assert_int_equal(policy_seal_counter(&p, c), 0);
	if (pin)
		assert_int_equal(policy_auth_value(&p), 0);
	memcpy(out, p.digest, 32);
}

static void policy_counted(const struct seal_counter *c, bool pin, uint8_t out[32])
{
	policy_counted_over(SEAL_PCRS, c, pin, out);
}

static int unseal_counted(const struct sealed_object *obj, const struct seal_counter *c,
			  const char *pin)
{
	struct pcr_selection sel;
	uint8_t out[SEAL_SECRET_MAX];
	size_t len = 0;
	int r;

	selection(&sel);
	r = tpm_unseal(tpm, obj, &sel, NULL, c, pin, out, &len);
	if (r == 0)
		assert_memory_equal(out, secret, sizeof(secret));
	else
		assert_int_equal(len, 0);
	return r;
}

static void expect_refused(int r, int want, const char *reason)
{
	if (r != want || !strstr(err_msg(), reason))
		fail_msg("wanted %d \"%s...\", got %d: %s", want, reason, r, err_msg());
}

/*
 * The attack of issue 13 item 9: the attacker kept a copy of the sealed
 * object and knows the old PIN.  After the re-seal (the new object at the
 * counter's next value, then the step) the copy is refused as revoked; after
 * removal too; and defining the counter anew (with tpm2-tools, same index and
 * attributes, so the same name) does not bring the old value back.
 */
static void test_counter_revokes_old_copies(void **state)
{
	struct seal_counter c, next;
	struct sealed_object old, cur;
	uint8_t policy[32];
	char *out = NULL;

	(void)state;
	assert_int_equal(seal_counter_create(tpm, &c), 0);
	assert_true(c.index >= SEAL_COUNTER_FIRST && c.index <= SEAL_COUNTER_LAST);
	policy_counted(&c, true, policy);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), policy, "1234", &old), 0);
	assert_int_equal(unseal_counted(&old, &c, "1234"), 0);
	/* the object insists on the counter: without PolicyNV the policy does not match */
	assert_int_equal(unseal(&old, "1234"), -EACCES);

	/* change_pin: sealed to value + 1 first; until the step, the new one is ahead */
	next = c;
	next.value++;
	policy_counted(&next, true, policy);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), policy, "5678", &cur), 0);
	expect_refused(unseal_counted(&cur, &next, "5678"), -ESTALE, "behind this key's");
	struct seal_counter stepped = c;
	assert_int_equal(seal_counter_advance(tpm, &stepped), 0);
	assert_int_equal(stepped.value, next.value);
	assert_int_equal(unseal_counted(&cur, &next, "5678"), 0);
	/* the saved copy, with the PIN that was right for it */
	expect_refused(unseal_counted(&old, &c, "1234"), -EKEYREVOKED,
		       "revoked: sealed at NV counter");
	/* and a file that claims the new value for the old object: its policy names the old one */
	assert_int_equal(unseal_counted(&old, &next, "1234"), -EACCES);

	/* remove: the step, then the counter is gone */
	assert_int_equal(seal_counter_remove(tpm, c.index), 0);
	expect_refused(unseal_counted(&cur, &next, "5678"), -EKEYREVOKED, "is gone");
	assert_int_equal(seal_counter_remove(tpm, c.index), 0); /* nothing left: fine */

	/* the attacker defines the same counter again: same name, but it starts higher */
	assert_int_equal(sh(&out,
			    "export TPM2TOOLS_TCTI='%s' && tpm2_nvdefine -Q 0x%08x -C o -s 8 "
			    "-a 'ownerwrite|authread|no_da|nt=counter' && "
			    "tpm2_nvincrement -Q -C o 0x%08x 2>&1",
			    sw.tcti, c.index, c.index),
			 0);
	free(out);
	expect_refused(unseal_counted(&cur, &next, "5678"), -EKEYREVOKED,
		       "revoked: sealed at NV counter");
	expect_refused(unseal_counted(&old, &c, "1234"), -EKEYREVOKED,
		       "revoked: sealed at NV counter");
	/* an ordinary index at that handle holding the old value: not the counter sealed to */
	assert_int_equal(tpm_nv_undefine(tpm, c.index), 0);
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)c.value);
	assert_int_equal(sh(&out,
			    "export TPM2TOOLS_TCTI='%s' && tpm2_nvdefine -Q 0x%08x -C o -s 8 "
			    "-a 'ownerwrite|authread|no_da' && echo %s | xxd -r -p | "
			    "tpm2_nvwrite -Q -C o 0x%08x -i - 2>&1",
			    sw.tcti, c.index, hex, c.index),
			 0);
	free(out);
	expect_refused(unseal_counted(&old, &c, "1234"), -EKEYREVOKED, "not the counter");
	/* and cmld's remove, pointed at it by a changed key file, leaves it alone */
	expect_refused(seal_counter_remove(tpm, c.index), -EKEYREVOKED, "not the counter");
	assert_int_equal(tpm_nv_undefine(tpm, c.index), 0);
	expect_refused(seal_counter_remove(tpm, 0x01c00002), -EBADMSG, "not a sealed-key counter");
	expect_nothing_loaded();
}

/*
 * Our PolicyNV digest (the counter's name computed in software) equals what
 * the TPM computes in a trial session driven by tpm2-tools, for the policy
 * cmld seals to: PolicyPCR, PolicyNV(counter == value), PolicyAuthValue.
 */
static void test_policy_nv_equals_tpm2_policynv(void **state)
{
	char dir[] = "/tmp/measured-pnv.XXXXXX", path[128], *out = NULL;
	struct seal_counter c;
	struct pcr_banks values;
	struct policy p;
	uint8_t *theirs = NULL, name[NV_NAME_LEN];
	size_t len;
	char hex[17], namehex[2 * NV_NAME_LEN + 1];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(seal_counter_create(tpm, &c), 0);
	assert_int_equal(seal_counter_advance(tpm, &c), 0); /* a value that is not the first */
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)c.value);
	/* the name: ours against tpm2_nvreadpublic's */
	assert_int_equal(nv_index_name(c.index, SEAL_COUNTER_ATTRS | TPMA_NV_WRITTEN, 8, name), 0);
	hex_encode(name, sizeof(name), namehex);
	assert_int_equal(sh(&out,
			    "TPM2TOOLS_TCTI='%s' tpm2_nvreadpublic 0x%08x | awk '$1 == \"name:\" "
			    "{print $2}'",
			    sw.tcti, c.index),
			 0);
	if (strncmp(out, namehex, strlen(namehex)))
		fail_msg("NV name: ours %s, tpm2_nvreadpublic %s", namehex, out);
	free(out);
	assert_int_equal(
		sh(&out,
		   "cd %s && export TPM2TOOLS_TCTI='%s' && echo %s | xxd -r -p > operand && "
		   "tpm2_startauthsession -Q -S s.ctx && "
		   "tpm2_policypcr -Q -S s.ctx -l sha256:0,2,4,7,8,9,11,13 && "
		   "tpm2_policynv -Q -S s.ctx -i operand 0x%08x eq && "
		   "tpm2_policyauthvalue -Q -S s.ctx -L out.bin && tpm2_flushcontext s.ctx 2>&1",
		   dir, sw.tcti, hex, c.index),
		0);
	free(out);
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	assert_int_equal(file_read_all(path, 64, &theirs, &len), 0);
	current(&values);
	struct pcr_selection sel;
	assert_int_equal(pcr_selection_parse("sha256:0,2,4,7,8,9,11,13", &sel), 0);
	policy_init(&p, hash_alg_by_name("sha256"));
	assert_int_equal(policy_pcr(&p, &sel, &values), 0);
	assert_int_equal(policy_seal_counter(&p, &c), 0);
	assert_int_equal(policy_auth_value(&p), 0);
	assert_int_equal(len, 32);
	assert_memory_equal(p.digest, theirs, 32);
	free(theirs);
	assert_int_equal(seal_counter_remove(tpm, c.index), 0);
	assert_int_equal(sh(&out, "rm -rf %s", dir), 0);
	free(out);
}

/*
 * PolicyAuthorize keeps working with the counter: the vendor approves PCRs,
 * the object adds its own PolicyNV (the vendor cannot know the counter), and a
 * re-seal revokes the old copy even on a signed chain.
 */
static void test_authorized_with_counter(void **state)
{
	char vendor[] = "/tmp/measured-vendor.XXXXXX";
	struct policy_signer key;
	struct signed_policy v = {0};
	struct seal_counter c;
	struct sealed_object obj;
	struct policy pol;
	uint8_t out[SEAL_SECRET_MAX];
	size_t len = 0;

	(void)state;
	close(mkstemp(vendor));
	make_signer(vendor, &key);
	assert_int_equal(seal_counter_create(tpm, &c), 0);
	policy_init(&pol, hash_alg_by_name("sha256"));
	assert_int_equal(policy_authorize(&pol, key.name, sizeof(key.name)), 0);
	assert_int_equal(policy_seal_counter(&pol, &c), 0);
	assert_int_equal(policy_auth_value(&pol), 0);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), pol.digest, "2468", &obj), 0);
	selection(&v.pcrs);
	current(&v.values);
	assert_int_equal(signed_policy_sign(&key, &v), 0);
	struct seal_authorization a = {&key, &v};
	assert_int_equal(tpm_unseal(tpm, &obj, &v.pcrs, &a, &c, "2468", out, &len), 0);
	assert_memory_equal(out, secret, sizeof(secret));
	struct seal_counter stepped = c;
	assert_int_equal(seal_counter_advance(tpm, &stepped), 0);
	len = 0;
	expect_refused(tpm_unseal(tpm, &obj, &v.pcrs, &a, &c, "2468", out, &len), -EKEYREVOKED,
		       "revoked");
	assert_int_equal(len, 0);
	assert_int_equal(seal_counter_remove(tpm, c.index), 0);
	policy_signer_free(&key);
	unlink(vendor);
}

/*
 * The SRK's name is recorded at sealing and checked before the salt is sent:
 * a key presented in the SRK's place (what a device on the bus answering
 * CreatePrimary would do, to learn the session key) is refused.
 */
static void test_srk_pinned(void **state)
{
	struct pcr_banks values;
	struct sealed_object obj;
	uint8_t policy[32];

	(void)state;
	current(&values);
	policy_for(&values, false, policy);
	assert_int_equal(tpm_seal(tpm, secret, sizeof(secret), policy, NULL, &obj), 0);
	/* the recorded name is the SRK's, as tpm2-tools' SRK from the same template has it */
	assert_int_equal(obj.parent_len, 34);
	assert_int_equal(unseal(&obj, NULL), 0);
	char *out = NULL, hex[69];
	hex_encode(obj.parent, obj.parent_len, hex);
	assert_int_equal(sh(&out,
			    "d=$(mktemp -d) && cd $d && export TPM2TOOLS_TCTI='%s' && "
			    "{ printf '\\040\\000'; head -c 128 /dev/zero; "
			    "printf '\\040\\000'; head -c 128 /dev/zero; } > unique && "
			    "tpm2_createprimary -Q -C o -G ecc256:aes128cfb -g sha256 -u unique "
			    "-c srk.ctx -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|"
			    "noda|restricted|decrypt' && tpm2_readpublic -c srk.ctx -n name.bin "
			    ">/dev/null && tpm2_flushcontext -t && xxd -p -c 100 name.bin; "
			    "cd / && rm -rf $d",
			    sw.tcti),
			 0);
	if (strncmp(out, hex, strlen(hex)))
		fail_msg("SRK name: ours %s, tpm2-tools %s", hex, out);
	free(out);
	obj.parent[10] ^= 1;
	expect_refused(unseal(&obj, NULL), -EPROTO, "SRK is not the one");
}

/* ---- the bus: what a sniffer between CPU and TPM records ---- */

#define BUS_PCRS "sha256:0,1,2,3,4,7,9,13" /* tpm2_policypcr takes at most 8 */

/* A connection to the same swtpm through tpm2-tss's pcap TCTI, capturing into @path. */
static struct tpm *tapped(const char *path)
{
	char conf[200];
	struct tpm *t = NULL;

	unlink(path);
	setenv("TCTI_PCAP_FILE", path, 1);
	snprintf(conf, sizeof(conf), "pcap:%s", sw.tcti);
	if (tpm_open(conf, 0, &t) < 0)
		fail_msg("%s", err_msg());
	return t;
}

static bool capture_has(const char *path, const void *needle, size_t len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	bool found;

	assert_int_equal(file_read_all(path, 64 << 20, &buf, &n), 0);
	assert_true(n > 1000); /* the capture did record the traffic */
	found = memmem(buf, n, needle, len) != NULL;
	free(buf);
	return found;
}

/*
 * Seal (with PIN), change of PIN and unseal through the tap: neither the
 * secret nor either PIN is anywhere in the capture.  The control, so that
 * this test can fail: the same object unsealed by tpm2-tools through the tap
 * with an unsalted policy session and no encryption (tpm2_unseal without an
 * encrypt session) puts the secret in the capture.
 */
static void test_bus_capture_holds_no_secret(void **state)
{
	static const char pin[] = "pin-7301-bus", newpin[] = "pin-9402-bus";
	char cap[] = "/tmp/measured-bus.XXXXXX", ctl[] = "/tmp/measured-bus-ctl.XXXXXX";
	char dir[] = "/tmp/measured-bust.XXXXXX", path[160], *out = NULL, hex[17];
	struct pcr_selection sel;
	struct seal_counter c;
	struct sealed_object obj, renewed;
	uint8_t policy[32], got[SEAL_SECRET_MAX];
	size_t len = 0;
	struct tpm *t;

	(void)state;
	close(mkstemp(cap));
	close(mkstemp(ctl));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(pcr_selection_parse(BUS_PCRS, &sel), 0);
	t = tapped(cap);
	assert_int_equal(seal_counter_create(t, &c), 0);
	policy_counted_over(BUS_PCRS, &c, true, policy);
	assert_int_equal(tpm_seal(t, secret, sizeof(secret), policy, pin, &obj), 0);
	assert_int_equal(tpm_unseal(t, &obj, &sel, NULL, &c, pin, got, &len), 0);
	assert_memory_equal(got, secret, sizeof(secret));
	/* the PIN change, as cmld makes it */
	struct seal_counter next = c;
	next.value++;
	policy_counted_over(BUS_PCRS, &next, true, policy);
	assert_int_equal(tpm_seal(t, got, len, policy, newpin, &renewed), 0);
	assert_int_equal(seal_counter_advance(t, &c), 0);
	assert_int_equal(tpm_unseal(t, &renewed, &sel, NULL, &next, newpin, got, &len), 0);
	tpm_close(t);
	unsetenv("TCTI_PCAP_FILE");
	assert_false(capture_has(cap, secret, sizeof(secret) - 1));
	assert_false(capture_has(cap, secret + 10, 16)); /* no part of it either */
	assert_false(capture_has(cap, pin, strlen(pin)));
	assert_false(capture_has(cap, newpin, strlen(newpin)));

	/* the control: tpm2-tools, unencrypted, through the same kind of tap */
	snprintf(path, sizeof(path), "%s/pub", dir);
	assert_int_equal(file_write_atomic(path, renewed.pub, renewed.pub_len, 0600), 0);
	snprintf(path, sizeof(path), "%s/priv", dir);
	assert_int_equal(file_write_atomic(path, renewed.priv, renewed.priv_len, 0600), 0);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)next.value);
	unlink(ctl);
	if (sh(&out,
	       "cd %s && export TPM2TOOLS_TCTI='pcap:%s' TCTI_PCAP_FILE=%s && "
	       "{ printf '\\040\\000'; head -c 128 /dev/zero; printf '\\040\\000'; "
	       "head -c 128 /dev/zero; } > unique && echo %s | xxd -r -p > operand && "
	       "tpm2_createprimary -Q -C o -G ecc256:aes128cfb -g sha256 -u unique -c srk.ctx -a "
	       "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' && "
	       "tpm2_load -Q -C srk.ctx -u pub -r priv -c obj.ctx && tpm2_flushcontext -t && "
	       "tpm2_startauthsession -Q --policy-session -S s.ctx && "
	       "tpm2_policypcr -Q -S s.ctx -l %s && "
	       "tpm2_policynv -Q -S s.ctx -i operand 0x%08x eq && "
	       "tpm2_policyauthvalue -Q -S s.ctx && "
	       "tpm2_unseal -c obj.ctx -p session:s.ctx+%s -o key && tpm2_flushcontext s.ctx && "
	       "tpm2_flushcontext -t 2>&1",
	       dir, sw.tcti, ctl, hex, BUS_PCRS, c.index, newpin) != 0)
		fail_msg("tpm2-tools unseal: %s", out);
	free(out);
	snprintf(path, sizeof(path), "%s/key", dir);
	uint8_t *key = NULL;
	assert_int_equal(file_read_all(path, 256, &key, &len), 0);
	assert_int_equal(len, sizeof(secret));
	assert_memory_equal(key, secret, len); /* tpm2-tools opens our object: same policy */
	free(key);
	assert_true(capture_has(ctl, secret, sizeof(secret) - 1));
	assert_int_equal(seal_counter_remove(tpm, c.index), 0);
	unlink(cap);
	unlink(ctl);
	assert_int_equal(sh(&out, "rm -rf %s", dir), 0);
	free(out);
}

/*
 * ActivateCredential through the tap: the verifier's secret comes back
 * encrypted (the EK's session is salted with the EK), so it is not in the
 * capture, and the credential still unwraps right.
 */
static void test_bus_capture_credential(void **state)
{
	static const uint8_t cred[32] = "one-time challenge 7f3a9c2e5b1d";
	char cap[] = "/tmp/measured-busac.XXXXXX";
	struct ak_info info;
	uint8_t name[64], blob[512], enc[512], out[64];
	size_t name_len, blob_len, enc_len, out_len = 0;
	struct tpm *t;

	(void)state;
	close(mkstemp(cap));
	assert_int_equal(tpm_keys_ensure(tpm, true, &info), 0);
	assert_int_equal(tpm_public_name(info.ak_public, info.ak_public_len, name, &name_len), 0);
	assert_int_equal(make_credential(info.ek_public, info.ek_public_len, name, name_len, cred,
					 sizeof(cred), blob, &blob_len, enc, &enc_len),
			 0);
	t = tapped(cap);
	if (tpm_activate_credential(t, blob, blob_len, enc, enc_len, out, &out_len) < 0)
		fail_msg("%s", err_msg());
	tpm_close(t);
	unsetenv("TCTI_PCAP_FILE");
	assert_int_equal(out_len, sizeof(cred));
	assert_memory_equal(out, cred, sizeof(cred));
	assert_false(capture_has(cap, cred, 16));
	assert_false(capture_has(cap, cred + 16, 16));
	unlink(cap);
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
		cmocka_unit_test(test_counter_revokes_old_copies),
		cmocka_unit_test(test_policy_nv_equals_tpm2_policynv),
		cmocka_unit_test(test_authorized_with_counter),
		cmocka_unit_test(test_srk_pinned),
		cmocka_unit_test(test_bus_capture_holds_no_secret),
		cmocka_unit_test(test_bus_capture_credential),
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
