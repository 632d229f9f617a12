// SPDX-License-Identifier: MIT
/* attest quote / attest enroll: ask attestd for evidence, or for its keys. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "attest.h"
#include "attest_client.h"
#include "credential.h"
#include "err.h"
#include "fileio.h"
#include "quote.h"

#define DEFAULT_PCRS "sha256:0,1,2,3,4,5,6,7,8,9,10,11,13"
#define TIMEOUT_MS   30000

int attest_quote_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"pcrs", required_argument, NULL, 'l'},
		{"out", required_argument, NULL, 'o'},
		{"full", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = 7};
	bool full = false;
	const char *sel = DEFAULT_PCRS, *out = NULL;
	uint8_t *body = NULL;
	size_t len;
	int c, rc;

	(void)opts;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'l')
			sel = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'f')
			full = true;
		else
			return ATTEST_EXIT_USAGE;
	}
	if (!full) {
		/* only the IMA entries after those already verified (attest verify keeps where) */
		char path[4200];
		struct json_object *st, *o;

		snprintf(path, sizeof(path), "%s/ima.json", opts->state);
		st = json_object_from_file(path);
		if (st && json_object_object_get_ex(st, "offset", &o))
			req.offset[ATTEST_LOG_IMA] = (uint64_t)json_object_get_int64(o);
		json_object_put(st);
	}
	if (!out || optind != argc - 1) {
		fprintf(stderr, "attest quote: needs HOST[:PORT] and --out EVIDENCE\n");
		return ATTEST_EXIT_USAGE;
	}
	if (pcr_selection_parse(sel, &req.sel) < 0) {
		fprintf(stderr, "attest quote: %s\n", err_msg());
		return ATTEST_EXIT_USAGE;
	}
	if (RAND_bytes(req.nonce, (int)req.nonce_len) != 1) {
		fprintf(stderr, "attest quote: no randomness for the nonce\n");
		return ATTEST_EXIT_FAIL;
	}
	rc = attest_call(argv[optind], &req, TIMEOUT_MS, &body, &len);
	if (rc == 0)
		rc = evidence_write(out, req.nonce, req.nonce_len, body, len);
	free(body);
	if (rc < 0) {
		fprintf(stderr, "attest quote: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}

/*
 * Enrolment: the AK must be a restricted signing key in the same TPM as the
 * EK.  We wrap a random secret for the AK's name under the EK
 * (MakeCredential, in software); only that TPM, holding that AK, can unwrap
 * it (ActivateCredential).  Then the AK is stored as ak.pem.
 */
/* The EK certificate must chain to @ca_path and certify this very EK. */
static int check_ek_certificate(const struct attest_response *keys, const char *ca_path)
{
	const unsigned char *p = keys->ek_cert;
	X509 *cert = keys->ek_cert ? d2i_X509(NULL, &p, (long)keys->ek_cert_len) : NULL;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	EVP_PKEY *ek = NULL;
	int rc = 0;

	if (!keys->ek_cert)
		rc = err_set(-EPERM, "--ek-ca given, but the device has no EK certificate");
	else if (!cert || p != keys->ek_cert + keys->ek_cert_len)
		rc = err_set(-EBADMSG, "the EK certificate is not DER X.509");
	else if (!store || !ctx || X509_STORE_load_file(store, ca_path) != 1 ||
		 X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
		rc = err_set(-EINVAL, "%s: cannot load the CA certificates", ca_path);
	else if (X509_verify_cert(ctx) != 1)
		rc = err_set(-EPERM, "the EK certificate does not chain to %s: %s", ca_path,
			     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	else if ((rc = tpm_public_to_pkey(keys->ek_public, keys->ek_public_len, &ek)) == 0 &&
		 EVP_PKEY_eq(X509_get0_pubkey(cert), ek) != 1)
		rc = err_set(-EPERM, "the EK certificate is for another key than the device's EK");
	EVP_PKEY_free(ek);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(cert);
	return rc;
}

static int enroll(const char *where, const char *state, struct attest_response *keys)
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
		rc = attest_call(where, &act, TIMEOUT_MS, &body, &len);
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
	(void)state;
	return rc;
}

int attest_enroll_run(int argc, char **argv, const struct attest_opts *opts)
{
	struct attest_request req = {.type = ATTEST_KEYS};
	struct attest_response resp = {0};
	EVP_PKEY *ak = NULL, *ek = NULL;
	char path[4200], *ak_pem = NULL, *ek_pem = NULL;
	uint8_t *body = NULL;
	size_t len;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "attest enroll: needs HOST[:PORT]\n");
		return ATTEST_EXIT_USAGE;
	}
	mkdir(opts->state, 0700);
	rc = attest_call(argv[1], &req, TIMEOUT_MS, &body, &len);
	if (rc == 0)
		rc = attest_response_decode(body, len, &resp);
	if (rc == 0 && resp.status)
		rc = err_set(-(int)resp.status, "attestd: %s", resp.error);
	if (rc == 0 && !resp.ak_public)
		rc = err_set(-EBADMSG, "attestd sent no keys");
	if (rc == 0 && opts->ek_ca)
		rc = check_ek_certificate(&resp, opts->ek_ca);
	if (rc == 0)
		rc = enroll(argv[1], opts->state, &resp);
	if (rc == 0 && (rc = tpm_public_to_pkey(resp.ak_public, resp.ak_public_len, &ak)) == 0 &&
	    (rc = tpm_public_to_pkey(resp.ek_public, resp.ek_public_len, &ek)) == 0 &&
	    (rc = pkey_to_pem(ak, &ak_pem)) == 0 && (rc = pkey_to_pem(ek, &ek_pem)) == 0) {
		snprintf(path, sizeof(path), "%s/ak.pem", opts->state);
		rc = file_write_atomic(path, ak_pem, strlen(ak_pem), 0644);
		snprintf(path, sizeof(path), "%s/ek.pem", opts->state);
		if (rc == 0)
			rc = file_write_atomic(path, ek_pem, strlen(ek_pem), 0644);
		snprintf(path, sizeof(path), "%s/ak.name", opts->state);
		if (rc == 0)
			rc = file_write_atomic(path, resp.ak_name, resp.ak_name_len, 0644);
	}
	if (rc == 0)
		printf("enrolled %s: the AK is a restricted signing key in the TPM of this EK "
		       "(credential activated)%s; %s/ak.pem\n",
		       argv[1], opts->ek_ca ? ", and the EK's certificate chains to the CA" : "",
		       opts->state);
	attest_response_free(&resp);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(ek);
	free(ak_pem);
	free(ek_pem);
	free(body);
	if (rc < 0) {
		fprintf(stderr, "attest enroll: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}

int attest_export_run(int argc, char **argv, const struct attest_opts *opts)
{
	struct attest_response resp;
	struct quote_info info;
	uint8_t nonce[ATTEST_NONCE_MAX], *body = NULL;
	size_t nonce_len, len;
	int rc;

	(void)opts;
	if (argc != 3) {
		fprintf(stderr, "attest export: needs EVIDENCE DIR\n");
		return ATTEST_EXIT_USAGE;
	}
	mkdir(argv[2], 0755);
	rc = evidence_read(argv[1], nonce, &nonce_len, &body, &len);
	if (rc == 0)
		rc = attest_response_decode(body, len, &resp);
	if (rc == 0 && resp.status)
		rc = err_set(-(int)resp.status, "the evidence is an error reply: %s", resp.error);
	if (rc == 0 && (rc = quote_parse(resp.attest, resp.attest_len, &info)) == 0)
		/* nonce.hex: the quote's qualifying data (the nonce tree's root) */
		rc = quote_export(argv[2], resp.attest, resp.attest_len, resp.sig, resp.sig_len,
				  &resp.sel, &resp.pcrs, info.extra, info.extra_len);
	if (rc == 0)
		attest_response_free(&resp);
	free(body);
	if (rc < 0) {
		fprintf(stderr, "attest export: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}
