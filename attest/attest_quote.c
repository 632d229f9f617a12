// SPDX-License-Identifier: MIT
/* attest quote / attest enroll: ask attestd for evidence, or for its keys. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "attest_client.h"
#include "credential.h"
#include "err.h"
#include "fileio.h"
#include "quote.h"

#define TIMEOUT_MS	      30000
#define TCG_KP_EK_CERTIFICATE "2.23.133.8.1"

/* Where the verified IMA list ends, and in which boot (attest verify keeps it). */
static void ima_state(const char *state, uint64_t *ret_offset, uint64_t *ret_reset)
{
	char path[4200];
	struct json_object *st, *o;

	*ret_offset = 0;
	*ret_reset = UINT64_MAX;
	snprintf(path, sizeof(path), "%s/ima.json", state);
	st = json_object_from_file(path);
	if (st && json_object_object_get_ex(st, "offset", &o))
		*ret_offset = (uint64_t)json_object_get_int64(o);
	if (st && json_object_object_get_ex(st, "reset", &o))
		*ret_reset = (uint64_t)json_object_get_int64(o);
	json_object_put(st);
}

/* One quote request; an error reply is the device's refusal, not evidence. */
static int quote_once(const char *where, struct attest_request *req, struct evidence *ret,
		      uint32_t *ret_reset)
{
	struct attest_response resp;
	struct quote_info q;
	uint8_t *body = NULL;
	size_t len;
	int rc;

	if (RAND_bytes(req->nonce, (int)req->nonce_len) != 1)
		return err_set(-EIO, "no randomness for the nonce");
	if ((rc = attest_call(where, req, TIMEOUT_MS, &body, &len)) < 0)
		return rc;
	if ((rc = attest_response_decode(body, len, &resp)) < 0) {
		free(body);
		return rc;
	}
	if (resp.status)
		rc = err_set(-(int)resp.status, "attestd refused: %s", resp.error);
	else if (!resp.attest)
		rc = err_set(-EBADMSG, "attestd sent no quote");
	/* unverified here: only used to ask again from offset 0, never to accept */
	*ret_reset = resp.attest && quote_parse(resp.attest, resp.attest_len, &q) == 0
			     ? q.reset_count
			     : UINT32_MAX;
	attest_response_free(&resp);
	if (rc < 0) {
		free(body);
		return rc;
	}
	memcpy(ret->nonce, req->nonce, req->nonce_len);
	ret->nonce_len = req->nonce_len;
	ret->asked = req->sel;
	ret->has_asked = true;
	ret->body = body;
	ret->body_len = len;
	return 0;
}

int attest_quote_fetch(const char *where, const struct pcr_selection *sel, const char *state,
		       bool full, struct evidence *ret)
{
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = 7, .sel = *sel};
	struct evidence ev = {0};
	uint64_t saved_reset = UINT64_MAX;
	uint32_t reset;
	int rc;

	/* the DRTM log when a DRTM PCR (17-22) is asked for */
	for (unsigned b = 0; b < sel->count; b++)
		if (sel->bank[b].mask & 0x7e0000u)
			req.logs |= 1u << ATTEST_LOG_DRTM;
	/* only the IMA entries after those already verified */
	if (!full)
		ima_state(state, &req.offset[ATTEST_LOG_IMA], &saved_reset);
	rc = quote_once(where, &req, &ev, &reset);
	if (rc == -EBADMSG && (req.logs & (1u << ATTEST_LOG_DRTM)) &&
	    strstr(err_msg(), "unknown logs")) {
		/* an attestd older than the DRTM log: asked again for the three it knows */
		log_info("%s does not know the DRTM log: asking without it", where);
		req.logs &= ~(1u << ATTEST_LOG_DRTM);
		rc = quote_once(where, &req, &ev, &reset);
	}
	if (rc < 0)
		return rc;
	if (req.offset[ATTEST_LOG_IMA] && reset != saved_reset) {
		/* the TPM was reset (a reboot): the saved offset is of another list */
		log_info("%s rebooted (resetCount %u): fetching the IMA list from the start", where,
			 reset);
		evidence_free(&ev);
		req.offset[ATTEST_LOG_IMA] = 0;
		if ((rc = quote_once(where, &req, &ev, &reset)) < 0)
			return rc;
	}
	*ret = ev;
	return 0;
}

int attest_quote_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"pcrs", required_argument, NULL, 'l'},
		{"out", required_argument, NULL, 'o'},
		{"full", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pcr_selection sel;
	struct evidence ev = {0};
	bool full = false;
	const char *sel_text = ATTEST_DEFAULT_PCRS, *out = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'l')
			sel_text = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'f')
			full = true;
		else
			return ATTEST_EXIT_USAGE;
	}
	if (!out || optind != argc - 1) {
		fprintf(stderr, "attest quote: needs HOST[:PORT] and --out EVIDENCE\n");
		return ATTEST_EXIT_USAGE;
	}
	if (pcr_selection_parse(sel_text, &sel) < 0) {
		fprintf(stderr, "attest quote: %s\n", err_msg());
		return ATTEST_EXIT_USAGE;
	}
	rc = attest_quote_fetch(argv[optind], &sel, opts->state, full, &ev);
	if (rc == 0)
		rc = evidence_write(out, &ev);
	evidence_free(&ev);
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

static int enroll(const char *where, struct attest_response *keys)
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
	return rc;
}

/* What vouches for the device's identity: saved with its keys, reported by every verdict. */
static int save_identity(const char *state, const char *ca, const char *issuer)
{
	struct json_object *o = json_object_new_object();
	char path[4200];
	const char *text;
	int rc;

	json_object_object_add(o, "ek",
			       json_object_new_string(ca ? "certified" : "trust-on-first-use"));
	if (ca) {
		json_object_object_add(o, "ek-ca", json_object_new_string(ca));
		json_object_object_add(o, "issuer", json_object_new_string(issuer));
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(path, sizeof(path), "%s/identity.json", state);
	rc = file_write_atomic(path, text, strlen(text), 0644);
	json_object_put(o);
	return rc;
}

static int save_keys(const char *state, const struct attest_response *resp)
{
	EVP_PKEY *ak = NULL, *ek = NULL;
	char path[4200], *ak_pem = NULL, *ek_pem = NULL;
	int rc;

	if ((rc = tpm_public_to_pkey(resp->ak_public, resp->ak_public_len, &ak)) == 0 &&
	    (rc = tpm_public_to_pkey(resp->ek_public, resp->ek_public_len, &ek)) == 0 &&
	    (rc = pkey_to_pem(ak, &ak_pem)) == 0 && (rc = pkey_to_pem(ek, &ek_pem)) == 0) {
		snprintf(path, sizeof(path), "%s/ek.pem", state);
		rc = file_write_atomic(path, ek_pem, strlen(ek_pem), 0644);
		snprintf(path, sizeof(path), "%s/ak.name", state);
		if (rc == 0)
			rc = file_write_atomic(path, resp->ak_name, resp->ak_name_len, 0644);
		/* last: ak.pem is what makes the device enrolled */
		snprintf(path, sizeof(path), "%s/ak.pem", state);
		if (rc == 0)
			rc = file_write_atomic(path, ak_pem, strlen(ak_pem), 0644);
	}
	EVP_PKEY_free(ak);
	EVP_PKEY_free(ek);
	free(ak_pem);
	free(ek_pem);
	return rc;
}

int attest_enroll_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"trust-on-first-use", no_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct attest_request req = {.type = ATTEST_KEYS};
	struct attest_response resp = {0};
	const char *ca = opts->ek_ca;
	char issuer[512] = "";
	bool tofu = false;
	uint8_t *body = NULL;
	size_t len;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 't')
			return ATTEST_EXIT_USAGE;
		tofu = true;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "attest enroll: needs HOST[:PORT]\n");
		return ATTEST_EXIT_USAGE;
	}
	if (!ca && !tofu && access(ATTEST_DEFAULT_EK_CA, F_OK) == 0)
		ca = ATTEST_DEFAULT_EK_CA;
	if (!ca && !tofu) {
		fprintf(stderr,
			"attest enroll: no EK CA: give --ek-ca FILE|DIR (the TPM vendors' "
			"roots; default " ATTEST_DEFAULT_EK_CA "), or --trust-on-first-use\n");
		return ATTEST_EXIT_USAGE;
	}
	if (tofu)
		ca = NULL; /* said explicitly: recorded, and every verdict reports it */
	mkdir(opts->state, 0700);
	rc = attest_call(argv[optind], &req, TIMEOUT_MS, &body, &len);
	if (rc == 0)
		rc = attest_response_decode(body, len, &resp);
	if (rc == 0 && resp.status)
		rc = err_set(-(int)resp.status, "attestd: %s", resp.error);
	if (rc == 0 && !resp.ak_public)
		rc = err_set(-EBADMSG, "attestd sent no keys");
	if (rc == 0 && ca)
		rc = check_ek_certificate(&resp, ca, issuer, sizeof(issuer));
	if (rc == 0)
		rc = enroll(argv[optind], &resp);
	if (rc == 0)
		rc = save_identity(opts->state, ca, issuer);
	if (rc == 0)
		rc = save_keys(opts->state, &resp);
	if (rc == 0)
		printf("enrolled %s: the AK is a restricted signing key in the TPM of this EK "
		       "(credential activated)%s; %s/ak.pem\n",
		       argv[optind],
		       ca ? ", and the EK's certificate chains to the CA"
			  : "; the EK is trusted on first use, unchecked",
		       opts->state);
	attest_response_free(&resp);
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
	struct evidence ev = {0};
	int rc;

	(void)opts;
	if (argc != 3) {
		fprintf(stderr, "attest export: needs EVIDENCE DIR\n");
		return ATTEST_EXIT_USAGE;
	}
	mkdir(argv[2], 0755);
	rc = evidence_read(argv[1], &ev);
	if (rc == 0)
		rc = attest_response_decode(ev.body, ev.body_len, &resp);
	if (rc == 0 && resp.status)
		rc = err_set(-(int)resp.status, "the evidence is an error reply: %s", resp.error);
	if (rc == 0 && (rc = quote_parse(resp.attest, resp.attest_len, &info)) == 0)
		/* nonce.hex: the quote's qualifying data (the nonce tree's root) */
		rc = quote_export(argv[2], resp.attest, resp.attest_len, resp.sig, resp.sig_len,
				  &resp.sel, &resp.pcrs, info.extra, info.extra_len);
	if (rc == 0)
		attest_response_free(&resp);
	evidence_free(&ev);
	if (rc < 0) {
		fprintf(stderr, "attest export: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}
