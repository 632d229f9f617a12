// SPDX-License-Identifier: MIT
/*
 * Quotes on swtpm: EK/AK provisioning, a quote whose PCR values are the
 * quoted ones, our signature and digest checks, and tpm2_checkquote
 * accepting our exported files (and refusing them once tampered with).
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
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "credential.h"
#include "err.h"
#include "fileio.h"
#include "quote.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"
#include "tpm_attest.h"

static struct swtpm sw;
static struct tpm *tpm;
static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-quote.XXXXXX");
	if (!mkdtemp(dir) || swtpm_start(&sw, true) < 0 || tpm_open(sw.tcti, 0, &tpm) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tpm_close(tpm);
	swtpm_stop(&sw);
	return sh(NULL, "rm -rf %s", dir);
}

static void test_provision_is_idempotent(void **state)
{
	struct ak_info a, b;

	(void)state;
	assert_int_equal(tpm_keys_ensure(tpm, false, &a), -ENOENT);
	if (tpm_keys_ensure(tpm, true, &a) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(tpm_keys_ensure(tpm, false, &b), 0);
	assert_int_equal(a.ak_public_len, b.ak_public_len);
	assert_memory_equal(a.ak_public, b.ak_public, a.ak_public_len);
	assert_memory_equal(a.ek_public, b.ek_public, a.ek_public_len);
	/* tpm2-tools sees them at their handles */
	assert_int_equal(sh(NULL, "tpm2_readpublic -T '%s' -c 0x81010002 | grep -q ecdsa", sw.tcti),
			 0);
	assert_int_equal(
		sh(NULL, "tpm2_readpublic -T '%s' -c 0x81010001 | grep -q restricted", sw.tcti), 0);
}

static void quote_now(struct tpm_quote *q, const uint8_t *nonce, size_t n,
		      struct pcr_selection *sel)
{
	assert_int_equal(pcr_selection_parse("sha256:0,7,16,23+sha1:16", sel), 0);
	if (tpm_quote(tpm, nonce, n, sel, q) < 0)
		fail_msg("%s", err_msg());
}

static EVP_PKEY *ak_key(void)
{
	struct ak_info info;
	EVP_PKEY *key = NULL;

	assert_int_equal(tpm_keys_ensure(tpm, false, &info), 0);
	assert_int_equal(tpm_public_to_pkey(info.ak_public, info.ak_public_len, &key), 0);
	return key;
}

static void test_quote_verifies(void **state)
{
	static const uint8_t nonce[20] = "0123456789abcdefghij";
	struct pcr_selection sel;
	struct tpm_quote q;
	struct quote_info info;
	EVP_PKEY *key = ak_key();

	(void)state;
	assert_int_equal(
		sh(NULL, "tpm2_pcrextend -T '%s' 16:sha256=%064d,sha1=%040d", sw.tcti, 5, 5), 0);
	quote_now(&q, nonce, sizeof(nonce), &sel);
	assert_int_equal(q.attempts, 1);
	assert_int_equal(quote_parse(q.attest, q.attest_len, &info), 0);
	assert_int_equal(info.extra_len, sizeof(nonce));
	assert_memory_equal(info.extra, nonce, sizeof(nonce));
	assert_int_equal(quote_pcr_digest_matches(&info, &sel, &q.pcrs), 0);
	assert_int_equal(quote_verify_signature(q.attest, q.attest_len, q.sig, q.sig_len, key), 0);

	/* a PCR value edited after the quote */
	q.pcrs.bank[0].value[7][0] ^= 1;
	assert_int_equal(quote_pcr_digest_matches(&info, &sel, &q.pcrs), -EBADMSG);
	q.pcrs.bank[0].value[7][0] ^= 1;
	/* one byte of the quote changed */
	q.attest[q.attest_len - 1] ^= 1;
	assert_int_equal(quote_verify_signature(q.attest, q.attest_len, q.sig, q.sig_len, key),
			 -EBADMSG);
	assert_non_null(strstr(err_msg(), "does not verify"));
	q.attest[q.attest_len - 1] ^= 1;
	EVP_PKEY_free(key);

	/* signed by another key */
	EVP_PKEY *other = EVP_EC_gen("prime256v1");
	assert_non_null(other);
	assert_int_equal(quote_verify_signature(q.attest, q.attest_len, q.sig, q.sig_len, other),
			 -EBADMSG);
	EVP_PKEY_free(other);
}

static void test_tpm2_checkquote_accepts_export(void **state)
{
	static const uint8_t nonce[32] = "a nonce of thirty-two bytes.....";
	struct pcr_selection sel;
	struct tpm_quote q;
	EVP_PKEY *key = ak_key();
	char *pem, path[128];

	(void)state;
	quote_now(&q, nonce, sizeof(nonce), &sel);
	assert_int_equal(quote_export(dir, q.attest, q.attest_len, q.sig, q.sig_len, &sel, &q.pcrs,
				      nonce, sizeof(nonce)),
			 0);
	assert_int_equal(pkey_to_pem(key, &pem), 0);
	snprintf(path, sizeof(path), "%s/ak.pem", dir);
	assert_int_equal(file_write_atomic(path, pem, strlen(pem), 0644), 0);
	free(pem);
	EVP_PKEY_free(key);
	assert_int_equal(
		sh(NULL,
		   "cd %s && tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs "
		   "-q $(cat nonce.hex) >/dev/null 2>&1",
		   dir),
		0);
	/* the check is live: another nonce, or one PCR byte changed, and it refuses */
	assert_int_not_equal(sh(NULL,
				"cd %s && tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f "
				"quote.pcrs -q 00112233 >/dev/null 2>&1",
				dir),
			     0);
	{
		uint8_t *pcrs;
		size_t len;

		snprintf(path, sizeof(path), "%s/quote.pcrs", dir);
		assert_int_equal(file_read_all(path, 1 << 20, &pcrs, &len), 0);
		/* the first byte of the first digest: after the selection, the count and a TPML count */
		pcrs[sizeof(TPML_PCR_SELECTION) + 4 + 4 + 2] ^= 0x80;
		snprintf(path, sizeof(path), "%s/bad.pcrs", dir);
		assert_int_equal(file_write_atomic(path, pcrs, len, 0644), 0);
		free(pcrs);
	}
	assert_int_not_equal(
		sh(NULL,
		   "cd %s && tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f bad.pcrs "
		   "-q $(cat nonce.hex) >/dev/null 2>&1",
		   dir),
		0);
}

static void test_parse_rejects_garbage(void **state)
{
	static const uint8_t nonce[16] = "sixteen bytes...";
	struct pcr_selection sel;
	struct tpm_quote q;
	struct quote_info info;

	(void)state;
	quote_now(&q, nonce, sizeof(nonce), &sel);
	for (size_t cut = 0; cut < q.attest_len; cut++) {
		assert_int_equal(quote_parse(q.attest, cut, &info), -EBADMSG);
		assert_non_null(strstr(err_msg(), "offset"));
	}
	q.attest[0] ^= 0xff;
	assert_int_equal(quote_parse(q.attest, q.attest_len, &info), -EBADMSG);
	assert_non_null(strstr(err_msg(), "magic"));
}

/* MakeCredential in software, ActivateCredential in the TPM: only the right AK name unwraps. */
static void test_credential_roundtrip(void **state)
{
	static const uint8_t secret[32] = "the verifier's one-time secret..";
	struct ak_info info;
	uint8_t name[64], blob[512], enc[512], out[64];
	size_t name_len, blob_len, enc_len, out_len;

	(void)state;
	assert_int_equal(tpm_keys_ensure(tpm, false, &info), 0);
	assert_int_equal(tpm_public_check_ak(info.ak_public, info.ak_public_len), 0);
	assert_int_equal(tpm_public_check_ak(info.ek_public, info.ek_public_len), -EPERM);
	assert_int_equal(tpm_public_name(info.ak_public, info.ak_public_len, name, &name_len), 0);
	/* our name equals the TPM's (TPM2B_NAME: two size bytes first) */
	assert_int_equal(info.ak_name_len, name_len + 2);
	assert_memory_equal(info.ak_name + 2, name, name_len);
	assert_int_equal(make_credential(info.ek_public, info.ek_public_len, name, name_len, secret,
					 sizeof(secret), blob, &blob_len, enc, &enc_len),
			 0);
	if (tpm_activate_credential(tpm, blob, blob_len, enc, enc_len, out, &out_len) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(out_len, sizeof(secret));
	assert_memory_equal(out, secret, sizeof(secret));
	/* wrapped for another name: the TPM's integrity check refuses it */
	name[5] ^= 1;
	assert_int_equal(make_credential(info.ek_public, info.ek_public_len, name, name_len, secret,
					 sizeof(secret), blob, &blob_len, enc, &enc_len),
			 0);
	assert_true(tpm_activate_credential(tpm, blob, blob_len, enc, enc_len, out, &out_len) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provision_is_idempotent),
		cmocka_unit_test(test_quote_verifies),
		cmocka_unit_test(test_tpm2_checkquote_accepts_export),
		cmocka_unit_test(test_parse_rejects_garbage),
		cmocka_unit_test(test_credential_roundtrip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
