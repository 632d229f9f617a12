/* SPDX-License-Identifier: MIT */
/*
 * Provisioning: pull_csr answers a CSR (CN = the device UUID) for an EC P-256
 * key that cmld makes once (tokens/device.key); push_cert takes the signed
 * certificate back only if its key is that key and it chains to a registered
 * CA (tokens/device.cert).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cm_device.h"
#include "cmld.h"
#include "cm_store.h"
#include "cm_vclient.h"
#include "err.h"
#include "fileio.h"

static EVP_PKEY *device_key(struct cmld *d)
{
	char path[4096];
	EVP_PKEY *key = NULL;
	BIO *bio;
	uint8_t *pem;
	size_t len;

	cm_store_path(d, path, sizeof(path), "tokens/device.key");
	if (file_read_all(path, 1 << 16, &pem, &len) == 0) {
		bio = BIO_new_mem_buf(pem, (int)len);
		key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		OPENSSL_cleanse(pem, len);
		free(pem);
		return key;
	}
	if (!(key = EVP_EC_gen("P-256")))
		return NULL;
	bio = BIO_new(BIO_s_mem());
	char *data;
	if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		EVP_PKEY_free(key);
		return NULL;
	}
	long n = BIO_get_mem_data(bio, &data);
	if (file_write_atomic(path, data, (size_t)n, 0600) < 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	BIO_free(bio);
	return key;
}

static int device_uuid(struct cmld *d, char out[CM_UUID_LEN + 1])
{
	char path[4096];
	uint8_t *buf;
	size_t len;
	int r;

	cm_store_path(d, path, sizeof(path), "tokens/device.uuid");
	if (file_read_all(path, 64, &buf, &len) == 0 && len >= CM_UUID_LEN) {
		memcpy(out, buf, CM_UUID_LEN);
		out[CM_UUID_LEN] = '\0';
		free(buf);
		return 0;
	}
	r = cm_uuid_random(out);
	if (r < 0)
		return r;
	return file_write_atomic(path, out, CM_UUID_LEN, 0600);
}

int cm_device_csr(struct cmld *d, uint8_t **ret, size_t *ret_len)
{
	char uuid[CM_UUID_LEN + 1], *data;
	EVP_PKEY *key = device_key(d);
	X509_REQ *req = X509_REQ_new();
	BIO *bio = BIO_new(BIO_s_mem());
	int r = -EIO;

	if (!key || !req || !bio || device_uuid(d, uuid) < 0)
		goto out;
	X509_NAME *name = X509_REQ_get_subject_name(req);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)uuid, -1, -1,
				   0);
	if (!X509_REQ_set_pubkey(req, key) || !X509_REQ_sign(req, key, EVP_sha256()) ||
	    !PEM_write_bio_X509_REQ(bio, req))
		goto out;
	long n = BIO_get_mem_data(bio, &data);
	if (!(*ret = malloc((size_t)n)))
		goto out;
	memcpy(*ret, data, (size_t)n);
	*ret_len = (size_t)n;
	r = 0;
out:
	if (r < 0)
		err_set(r, "cannot make the device CSR");
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	BIO_free(bio);
	return r;
}

/* The SHA-256 of @key's SubjectPublicKeyInfo (encoded here, not parsed). */
static int key_digest(EVP_PKEY *key, uint8_t out[32])
{
	unsigned char *spki = NULL;
	unsigned n = 32;
	int len = i2d_PUBKEY(key, &spki), ok;

	if (len <= 0)
		return -EIO;
	ok = EVP_Digest(spki, (size_t)len, out, &n, EVP_sha256(), NULL);
	OPENSSL_free(spki);
	return ok == 1 ? 0 : -EIO;
}

int cm_device_cert_push(struct cmld *d, const uint8_t *pem, size_t len)
{
	uint8_t theirs[32], ours[32];
	EVP_PKEY *key;
	char path[4096];
	int r;

	cm_store_path(d, path, sizeof(path), "tokens/device.key");
	if (access(path, F_OK) < 0)
		return err_set(-ENOENT, "no device key yet: pull the CSR first");
	/* the chain checked by the verify process, which answers with the key's digest */
	r = cm_verify_cert(d, pem, len, theirs);
	if (r < 0)
		return r;
	key = device_key(d);
	r = key ? key_digest(key, ours) : -ENOENT;
	if (r < 0 || memcmp(ours, theirs, sizeof(ours)))
		r = err_set(-EPERM, "the certificate is not for this device's key");
	EVP_PKEY_free(key);
	if (r < 0)
		return r;
	cm_store_path(d, path, sizeof(path), "tokens/device.cert");
	return file_write_atomic(path, pem, len, 0644);
}
