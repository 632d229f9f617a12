/* SPDX-License-Identifier: MIT */
/* The verifier's connection to attestd: one request, one response. */
#ifndef MEASURED_ATTEST_CLIENT_H
#define MEASURED_ATTEST_CLIENT_H

#include <stdbool.h>
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

/*
 * Evidence file: CBOR {0: 1, 1: nonce, 2: response body, 3: asked selection}.
 * The nonce and the selection are what the verifier sent: nothing the device
 * says overrides them.
 */
struct evidence {
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
	struct pcr_selection asked; /* the PCRs the verifier asked to be quoted */
	bool has_asked;		    /* false in files written before key 3 existed */
	uint8_t *body;		    /* the response frame's body, as received */
	size_t body_len;
};

int evidence_write(const char *path, const struct evidence *ev);
/* Fills *ret (its body malloc'd: evidence_free) or fails naming the file and field. */
int evidence_read(const char *path, struct evidence *ret);
void evidence_free(struct evidence *ev);

#endif
