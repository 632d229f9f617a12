// SPDX-License-Identifier: MIT
/* libFuzzer: EAR JWTs from elsewhere (attest ear verify): JWS split and decode, the claims check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "ear.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *key;
	char *token = malloc(size + 1), *payload = NULL;
	struct json_object *claims;

	if (!key)
		key = EVP_EC_gen("P-256");
	if (!token)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	/* the signature cannot verify: the decoding up to it is what is fuzzed */
	(void)ear_jwt_verify(token, key, &payload);
	free(payload);
	/* and the claims check on the bytes as JSON */
	claims = json_tokener_parse(token);
	if (claims)
		(void)ear_claims_check(claims);
	json_object_put(claims);
	free(token);
	return 0;
}
