// SPDX-License-Identifier: MIT
/*
 * attest ear verify TOKEN --key PUB.pem: checks an EAR JWT that attest
 * verify --ear-key signed (or any ES256 EAR): the signature, then the claims
 * the EAR profile requires.  Prints the claims-set.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "attest.h"
#include "ear.h"
#include "err.h"
#include "fileio.h"
#include "mem.h"
#include "quote.h"

int ear_key_load(const char *path, EVP_PKEY **ret)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key;

	if (!f)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!key)
		return err_set(-EINVAL, "%s: not a PEM private key", path);
	*ret = key;
	return 0;
}

/* TOKEN is a file holding the token, or the token itself. */
static int token_read(const char *arg, char **ret)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (access(arg, F_OK) != 0) {
		*ret = strdup(arg);
		return *ret ? 0 : err_set(-ENOMEM, "out of memory");
	}
	if ((rc = file_read_all(arg, 1u << 24, &buf, &len)) < 0)
		return rc;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	*ret = (char *)buf;
	return 0;
}

static int ear_verify(const char *token_arg, const char *key_path)
{
	_cleanup_free_ char *token = NULL, *payload = NULL;
	_cleanup_free_ uint8_t *pem = NULL;
	struct json_object *claims = NULL;
	EVP_PKEY *key = NULL;
	size_t pem_len;
	int rc;

	if ((rc = token_read(token_arg, &token)) < 0 ||
	    (rc = file_read_all(key_path, 1 << 16, &pem, &pem_len)) < 0 ||
	    (rc = pkey_from_pem((char *)pem, pem_len, &key)) < 0 ||
	    (rc = ear_jwt_verify(token, key, &payload)) < 0)
		goto out;
	if (!(claims = json_tokener_parse(payload))) {
		rc = err_set(-EBADMSG, "the JWT payload is not JSON");
		goto out;
	}
	if ((rc = ear_claims_check(claims)) < 0)
		goto out;
	printf("%s\n", json_object_to_json_string_ext(
			       claims, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(claims);
	EVP_PKEY_free(key);
	return rc;
}

int attest_ear_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL;
	int c;

	(void)opts;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'k')
			return ATTEST_EXIT_USAGE;
		key = optarg;
	}
	if (optind != argc - 2 || strcmp(argv[optind], "verify") != 0 || !key) {
		fprintf(stderr, "attest ear: needs verify TOKEN --key PUB.pem\n");
		return ATTEST_EXIT_USAGE;
	}
	if (ear_verify(argv[optind + 1], key) < 0) {
		fprintf(stderr, "attest ear verify: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}
