/* SPDX-License-Identifier: MIT */
/* cm_vclient: the root parent's calls to the verify process, and its check of each answer. */
#ifndef CM_VCLIENT_H
#define CM_VCLIENT_H

#include "cmld.h"

/*
 * @text (a config in protobuf text format, @desc a ContainerConfig or
 * GuestOSConfig), parsed by the verify process; with @trust and a signature,
 * verified first (@sig_what prefixes its refusal; CM_VREQ_SIG_OPTIONAL in
 * @flags: a signature that fails is logged and *@ret_verified false).  The
 * answer is the packed config, unpacked here only when the digest it
 * came with is @text's, and then re-checked (enum values known).  @source
 * names the input in errors.  0 or a negative code with the reason.
 */
int cm_verify_config(struct cmld *d, const ProtobufCMessageDescriptor *desc, enum cm_vtrust trust,
		     unsigned flags, const char *source, const char *sig_what, const uint8_t *text,
		     size_t len, const uint8_t *sig, size_t sig_len, const uint8_t *cert,
		     size_t cert_len, ProtobufCMessage **ret, bool *ret_verified);
/* A PEM CA certificate's SHA-256 (tokens/ca/<hex>.pem), when it is one. */
int cm_verify_ca(struct cmld *d, const uint8_t *pem, size_t len, uint8_t ret_digest[32]);
/* The SHA-256 of the public key (SubjectPublicKeyInfo) of @pem, chaining to a registered CA. */
int cm_verify_cert(struct cmld *d, const uint8_t *pem, size_t len, uint8_t ret_key_digest[32]);
/* A new softtoken for @uuid (PIN "trustme"), DER in locked pages (secret_free, @ret_len). */
int cm_verify_token_new(struct cmld *d, const char *uuid, uint8_t **ret, size_t *ret_len);
/* 0 when @pin opens the token file @path holding @der; -EACCES when not. */
int cm_verify_token_check(struct cmld *d, const char *path, const uint8_t *der, size_t len,
			  const char *pin);
/* The token re-encrypted under @newpin, as cm_verify_token_new returns it. */
int cm_verify_token_repin(struct cmld *d, const char *path, const uint8_t *der, size_t len,
			  const char *pin, const char *newpin, uint8_t **ret, size_t *ret_len);
/* Starts the verify process unless it runs (each call starts it when it does not). */
int cm_verify_start(struct cmld *d);
/* Ends the verify process (a CA was registered: the next call loads the CAs again). */
void cm_verify_stop(struct cmld *d);
/* SIGCHLD: whether @pid was the verify process (then forgotten). */
bool cm_verify_reaped(struct cmld *d, pid_t pid, int status);

#endif
