/* SPDX-License-Identifier: MIT */
/*
 * The softtoken, as trust|me has it: a PKCS#12 file per container
 * (tokens/<uuid>.p12, an EC P-256 key and its self-signed certificate),
 * protected by the user's PIN, initially "trustme".  start and stop check the
 * PIN against it; change_pin re-encrypts it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "cmld.h"
#include "err.h"
#include "fileio.h"

static int token_write(struct cmld *d, const char *uuid, EVP_PKEY *key, X509 *cert, const char *pin)
{
	PKCS12 *p12 = PKCS12_create(pin, uuid, key, cert, NULL, 0, 0, 0, 0, 0);
	unsigned char *der = NULL;
	char path[4096];
	int len, r;

	if (!p12)
		return err_set(-EIO, "cannot create the PKCS#12 token");
	len = i2d_PKCS12(p12, &der);
	PKCS12_free(p12);
	if (len <= 0)
		return err_set(-EIO, "cannot encode the PKCS#12 token");
	cm_store_path(d, path, sizeof(path), "tokens/%s.p12", uuid);
	r = file_write_atomic(path, der, (size_t)len, 0600);
	OPENSSL_free(der);
	return r;
}

int cm_token_create(struct cmld *d, const char *uuid)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *name;
	int r = -EIO;

	if (!key || !cert)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 20L * 365 * 24 * 3600);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)uuid, -1, -1,
				   0);
	X509_set_issuer_name(cert, name);
	X509_set_pubkey(cert, key);
	if (!X509_sign(cert, key, EVP_sha256()))
		goto out;
	r = token_write(d, uuid, key, cert, CM_TOKEN_DEFAULT_PIN);
out:
	if (r == -EIO)
		err_set(r, "cannot create the softtoken");
	EVP_PKEY_free(key);
	X509_free(cert);
	return r;
}

static int token_open(struct cmld *d, const char *uuid, const char *pin, EVP_PKEY **ret_key,
		      X509 **ret_cert)
{
	char path[4096];
	uint8_t *der;
	const unsigned char *p;
	size_t len;
	PKCS12 *p12;
	int r;

	cm_store_path(d, path, sizeof(path), "tokens/%s.p12", uuid);
	if ((r = file_read_all(path, 1 << 16, &der, &len)) < 0)
		return r;
	p = der;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	free(der);
	if (!p12)
		return err_set(-EBADMSG, "%s: not a PKCS#12 file", path);
	if (!PKCS12_verify_mac(p12, pin, -1)) {
		PKCS12_free(p12);
		return err_set(-EACCES, "wrong PIN");
	}
	if (ret_key && !PKCS12_parse(p12, pin, ret_key, ret_cert, NULL))
		r = err_set(-EBADMSG, "%s: cannot open the token", path);
	PKCS12_free(p12);
	return r;
}

int cm_token_check(struct cmld *d, const char *uuid, const char *pin)
{
	return token_open(d, uuid, pin ? pin : "", NULL, NULL);
}

int cm_token_change_pin(struct cmld *d, const char *uuid, const char *pin, const char *newpin)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int r;

	if (!newpin || !*newpin)
		return err_set(-EINVAL, "the new PIN is empty");
	if ((r = token_open(d, uuid, pin ? pin : "", &key, &cert)) < 0)
		return r;
	r = token_write(d, uuid, key, cert, newpin);
	EVP_PKEY_free(key);
	X509_free(cert);
	return r;
}
