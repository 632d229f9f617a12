/* SPDX-License-Identifier: MIT */
/*
 * The attestd protocol (docs/PROTOCOL.md): frames of a 4-byte big-endian
 * length and one CBOR map with small integer keys.  Decoders treat the
 * bytes as hostile: every size is checked, types are exact.
 */
#ifndef MEASURED_ATTEST_PROTO_H
#define MEASURED_ATTEST_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "nonce_tree.h"
#include "pcr.h"

#define ATTEST_PORT	     9505
#define ATTEST_PROTO_VERSION 1
#define ATTEST_REQUEST_MAX   4096	  /* a request frame */
#define ATTEST_RESPONSE_MAX  (256u << 20) /* a response frame (logs can be large) */
#define ATTEST_NONCE_MIN     16
#define ATTEST_NONCE_MAX     64

enum attest_type { ATTEST_QUOTE = 1, ATTEST_KEYS = 2, ATTEST_ACTIVATE = 3 };

#define ATTEST_CRED_MAX 512 /* a marshalled TPM2B_ID_OBJECT or TPM2B_ENCRYPTED_SECRET */
/* EK certificates by NV slot: 0x01c00002 (RSA 2048), 0x01c0000a (ECC P-256) */
enum attest_ek_cert { ATTEST_EK_CERT_RSA = 0, ATTEST_EK_CERT_ECC = 1, ATTEST_EK_CERTS = 2 };
/*
 * The DRTM log (Intel TXT, from the TXT heap) came after version 1's first
 * three logs: a request that does not ask for it carries 3 offsets and a
 * response without it a logs array of 3, as before, so older devices and
 * verifiers keep working (docs/PROTOCOL.md "Compatibility").
 */
enum attest_log {
	ATTEST_LOG_TCG = 0,
	ATTEST_LOG_IMA = 1,
	ATTEST_LOG_CEL = 2,
	ATTEST_LOG_DRTM = 3,
	ATTEST_LOGS = 4
};
#define ATTEST_LOGS_V1 3 /* logs an older peer knows */

struct attest_request {
	uint32_t type;
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
	struct pcr_selection sel;
	unsigned logs;		      /* bit (1 << enum attest_log) */
	uint64_t offset[ATTEST_LOGS]; /* bytes of each log the verifier already has */
	/* activate: what MakeCredential produced for the AK's name under the EK */
	uint8_t blob[ATTEST_CRED_MAX], secret[ATTEST_CRED_MAX];
	size_t blob_len, secret_len;
};

struct attest_response {
	uint32_t status; /* 0, or an errno value */
	char error[256];
	/* quote */
	uint8_t *attest, *sig;
	size_t attest_len, sig_len;
	struct pcr_selection sel;
	struct pcr_banks pcrs;
	struct nonce_path path;
	uint8_t *log[ATTEST_LOGS];
	size_t log_len[ATTEST_LOGS];
	uint64_t log_offset[ATTEST_LOGS]; /* where log[i] starts in the device's log */
	bool has_log[ATTEST_LOGS];
	/* keys */
	uint8_t *ek_public, *ak_public, *ak_name;
	size_t ek_public_len, ak_public_len, ak_name_len;
	uint8_t *ek_cert[ATTEST_EK_CERTS]; /* DER, from the TCG NV slots that hold one */
	size_t ek_cert_len[ATTEST_EK_CERTS];
	/* activate */
	uint8_t credential[64];
	size_t credential_len;
};

int attest_request_encode(const struct attest_request *req, uint8_t **ret, size_t *ret_len);
int attest_request_decode(const uint8_t *buf, size_t len, struct attest_request *ret);
int attest_response_encode(const struct attest_response *resp, uint8_t **ret, size_t *ret_len);
/*
 * The whole frame of @resp (length and body) as pieces to write in order:
 * the logs' bytes by reference into @resp->log[], everything else in
 * *@ret_own (the caller frees it once the frame is written).  attestd's
 * replies of one batch share one copy of the logs this way.
 */
#define ATTEST_RESPONSE_IOV (1 + 2 * ATTEST_LOGS)
int attest_response_frame(const struct attest_response *resp, uint8_t **ret_own,
			  struct iovec iov[ATTEST_RESPONSE_IOV], unsigned *ret_n);
/* The response owns malloc'd copies of every byte string: attest_response_free(). */
int attest_response_decode(const uint8_t *buf, size_t len, struct attest_response *ret);
void attest_response_free(struct attest_response *resp);

/* Frames: the 4-byte big-endian length, then the body (lib/frame.h). */

#endif
