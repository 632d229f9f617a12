/* SPDX-License-Identifier: MIT */
/* The verifier's connection to attestd: one request, one response. */
#ifndef MEASURED_ATTEST_CLIENT_H
#define MEASURED_ATTEST_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "attest_proto.h"

/*
 * Connects to @where ("HOST[:PORT]", "[v6]:PORT" or "unix:PATH"), sends
 * @req and reads the response frame into *ret_body (malloc'd), within
 * @timeout_ms.  The body is what a verifier keeps as evidence.
 */
int attest_call(const char *where, const struct attest_request *req, int timeout_ms,
		uint8_t **ret_body, size_t *ret_len);

/*
 * TLS for every later attest_call to a TCP address: the device's certificate
 * must chain to @ca and name the host; @cert/@key (may be NULL) identify
 * this verifier to a daemon that asks for client certificates.
 */
int attest_client_tls(const char *ca, const char *cert, const char *key);

/* Evidence file: CBOR {0: 1, 1: nonce, 2: response body}. */
int evidence_write(const char *path, const uint8_t *nonce, size_t nonce_len, const uint8_t *body,
		   size_t body_len);
int evidence_read(const char *path, uint8_t *nonce, size_t *nonce_len, uint8_t **ret_body,
		  size_t *ret_len);

#endif
