// SPDX-License-Identifier: MIT
/* Enrolment of a device: its EK certificate checked, a credential activated for its AK. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "attest_client.h"
#include "credential.h"
#include "enrol.h"
#include "err.h"
#include "quote.h"
#include "tpm_attest.h"

#define TCG_KP_EK_CERTIFICATE "2.23.133.8.1"

/* Adds every certificate in @file (PEM, or one DER) to @store; returns how many. */
static unsigned ca_file_load(X509_STORE *store, const char *file)
{
	BIO *bio = BIO_new_file(file, "rb");
	unsigned n = 0;
	X509 *x;

	if (!bio)
		return 0;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		n += X509_STORE_add_cert(store, x) == 1;
		X509_free(x);
	}
	if (n == 0 && BIO_reset(bio) == 0 && (x = d2i_X509_bio(bio, NULL))) {
		n += X509_STORE_add_cert(store, x) == 1;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(bio);
	return n;
}

/* Trust anchors for EK certificates: one file (PEM, several certificates) or a folder of them. */
static int ek_ca_store(const char *path, X509_STORE **ret)
{
	X509_STORE *store = X509_STORE_new();
	struct stat st;
	unsigned loaded = 0;

	if (!store)
		return err_set(-ENOMEM, "out of memory");
	if (stat(path, &st) < 0) {
		X509_STORE_free(store);
		return err_set(-errno, "--ek-ca %s: %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *e;

		while (dir && (e = readdir(dir))) {
			char file[4200];

			if (e->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
			loaded += ca_file_load(store, file);
		}
		if (dir)
			closedir(dir);
	} else {
		loaded = ca_file_load(store, path);
	}
	if (!loaded) {
		X509_STORE_free(store);
		return err_set(-EINVAL, "--ek-ca %s: no CA certificate in it", path);
	}
	*ret = store;
	return 0;
}

/*
 * The TCG EK credential profile: the certificate certifies the EK itself,
 * allows key encipherment (RSA) or key agreement (ECC), and if it names
 * extended key usages, tcg-kp-EKCertificate is one of them.
 */
static int ek_profile_check(X509 *cert, EVP_PKEY *ek)
{
	uint32_t usage = X509_get_key_usage(cert);
	uint32_t want =
		EVP_PKEY_get_base_id(ek) == EVP_PKEY_RSA ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT;
	EXTENDED_KEY_USAGE *eku;
	bool ek_purpose = true;

	if (EVP_PKEY_eq(X509_get0_pubkey(cert), ek) != 1)
		return err_set(-EPERM,
			       "the EK certificate is for another key than the device's EK");
	if (usage == UINT32_MAX || !(usage & want))
		return err_set(-EPERM, "the EK certificate's key usage lacks %s (TCG EK profile)",
			       want == KU_KEY_ENCIPHERMENT ? "keyEncipherment" : "keyAgreement");
	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	if (eku) {
		ASN1_OBJECT *tcg = OBJ_txt2obj(TCG_KP_EK_CERTIFICATE, 1);

		ek_purpose = false;
		for (int i = 0; tcg && i < sk_ASN1_OBJECT_num(eku); i++)
			ek_purpose |= OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), tcg) == 0;
		ASN1_OBJECT_free(tcg);
		EXTENDED_KEY_USAGE_free(eku);
	}
	if (!ek_purpose)
		return err_set(-EPERM, "the EK certificate's extended key usage lacks "
				       "tcg-kp-EKCertificate (" TCG_KP_EK_CERTIFICATE ")");
	return 0;
}

/* The device's EK must have a certificate in NV that chains to @ca_path and certifies it. */
static int check_ek_certificate(const struct attest_response *keys, const char *ca_path,
				char *ret_subject, size_t subject_size)
{
	static const char *const slot[ATTEST_EK_CERTS] = {"0x01c00002", "0x01c0000a"};
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *cert = NULL;
	EVP_PKEY *ek = NULL;
	int rc, found = -1;

	if ((rc = tpm_public_to_pkey(keys->ek_public, keys->ek_public_len, &ek)) < 0)
		return rc;
	/* the slot whose certificate is for the EK in use */
	for (int i = 0; i < ATTEST_EK_CERTS && found < 0; i++) {
		const unsigned char *p = keys->ek_cert[i];

		if (!p)
			continue;
		X509_free(cert);
		cert = d2i_X509(NULL, &p, (long)keys->ek_cert_len[i]);
		if (!cert || p != keys->ek_cert[i] + keys->ek_cert_len[i]) {
			rc = err_set(-EBADMSG, "the EK certificate at NV %s is not DER X.509",
				     slot[i]);
			goto out;
		}
		if (EVP_PKEY_eq(X509_get0_pubkey(cert), ek) == 1)
			found = i;
	}
	if (!keys->ek_cert[ATTEST_EK_CERT_RSA] && !keys->ek_cert[ATTEST_EK_CERT_ECC]) {
		rc = err_set(-EPERM,
			     "the device has no EK certificate (NV %s, %s): it cannot be "
			     "told from an impostor; enrol with --trust-on-first-use only "
			     "if you know the path to it",
			     slot[0], slot[1]);
		goto out;
	}
	if ((rc = ek_profile_check(cert, ek)) < 0 || (rc = ek_ca_store(ca_path, &store)) < 0)
		goto out;
	ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, store, cert, NULL) != 1) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		rc = err_set(-EPERM, "the EK certificate does not chain to %s: %s", ca_path,
			     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	X509_NAME_oneline(X509_get_issuer_name(cert), ret_subject, (int)subject_size);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(cert);
	EVP_PKEY_free(ek);
	return rc;
}

/*
 * We wrap a random secret for the AK's name under the EK (MakeCredential,
 * in software); only that TPM, holding that AK, can unwrap it
 * (ActivateCredential).
 */
static int activate(const char *where, const struct attest_response *keys, int timeout_ms)
{
	struct attest_request act = {.type = ATTEST_ACTIVATE};
	struct attest_response got = {0};
	uint8_t name[64], secret[32], *body = NULL;
	size_t name_len, len;
	int rc;

	if ((rc = tpm_public_check_ak(keys->ak_public, keys->ak_public_len)) < 0 ||
	    (rc = tpm_public_name(keys->ak_public, keys->ak_public_len, name, &name_len)) < 0)
		return rc;
	if (keys->ak_name_len != name_len + 2 || memcmp(keys->ak_name + 2, name, name_len) != 0)
		return err_set(-EPERM, "the AK's name does not belong to its public key");
	if (RAND_bytes(secret, sizeof(secret)) != 1)
		return err_set(-EIO, "no randomness");
	rc = make_credential(keys->ek_public, keys->ek_public_len, name, name_len, secret,
			     sizeof(secret), act.blob, &act.blob_len, act.secret, &act.secret_len);
	if (rc == 0)
		rc = attest_call(where, &act, timeout_ms, &body, &len);
	if (rc == 0)
		rc = attest_response_decode(body, len, &got);
	free(body);
	if (rc < 0)
		return rc;
	if (got.status)
		rc = err_set(-EPERM, "the device could not activate the credential: %s", got.error);
	else if (got.credential_len != sizeof(secret) ||
		 CRYPTO_memcmp(got.credential, secret, sizeof(secret)) != 0)
		rc = err_set(-EPERM, "the device returned another secret: its AK and EK are not in "
				     "one TPM");
	OPENSSL_cleanse(secret, sizeof(secret));
	attest_response_free(&got);
	return rc;
}

static int keys_to_pem(const struct attest_response *resp, struct enrolment *e)
{
	EVP_PKEY *ak = NULL, *ek = NULL;
	int rc;

	if ((rc = tpm_public_to_pkey(resp->ak_public, resp->ak_public_len, &ak)) == 0)
		rc = tpm_public_to_pkey(resp->ek_public, resp->ek_public_len, &ek);
	if (rc == 0)
		rc = pkey_to_pem(ak, &e->ak_pem);
	if (rc == 0)
		rc = pkey_to_pem(ek, &e->ek_pem);
	if (rc == 0 && resp->ak_name_len > sizeof(e->ak_name))
		rc = err_set(-EBADMSG, "the AK's name is %zu bytes", resp->ak_name_len);
	if (rc == 0) {
		memcpy(e->ak_name, resp->ak_name, resp->ak_name_len);
		e->ak_name_len = resp->ak_name_len;
	}
	EVP_PKEY_free(ak);
	EVP_PKEY_free(ek);
	return rc;
}

int enrol_device(const char *where, const char *ek_ca, int timeout_ms, struct enrolment *ret)
{
	struct attest_request req = {.type = ATTEST_KEYS};
	struct attest_response resp = {0};
	struct enrolment e = {.identity = ek_ca ? IDENTITY_CERTIFIED : IDENTITY_TOFU};
	uint8_t *body = NULL;
	size_t len;
	int rc;

	rc = attest_call(where, &req, timeout_ms, &body, &len);
	if (rc == 0)
		rc = attest_response_decode(body, len, &resp);
	if (rc == 0 && resp.status)
		rc = err_set(-(int)resp.status, "attestd: %s", resp.error);
	if (rc == 0 && !resp.ak_public)
		rc = err_set(-EBADMSG, "attestd sent no keys");
	if (rc == 0 && ek_ca)
		rc = check_ek_certificate(&resp, ek_ca, e.issuer, sizeof(e.issuer));
	if (rc == 0)
		rc = activate(where, &resp, timeout_ms);
	if (rc == 0)
		rc = keys_to_pem(&resp, &e);
	attest_response_free(&resp);
	free(body);
	if (rc < 0) {
		enrolment_free(&e);
		return rc;
	}
	*ret = e;
	return 0;
}

void enrolment_free(struct enrolment *e)
{
	free(e->ak_pem);
	free(e->ek_pem);
	e->ak_pem = e->ek_pem = NULL;
}
