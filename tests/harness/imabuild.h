/* SPDX-License-Identifier: MIT */
/*
 * Builds IMA binary measurement lists the way the kernel writes them
 * (ima_measurements_show), for tests.  The template hash is computed here
 * from the kernel's rules; the library's own code is not used for it.
 */
#ifndef MEASURED_IMABUILD_H
#define MEASURED_IMABUILD_H

#include <stddef.h>
#include <stdint.h>

struct imabuf {
	uint8_t *data;
	size_t len;
};

/* ima-ng / ima-sig / ima-buf entry: d-ng "alg:\0digest", n-ng "name\0", [extra field]. */
void imabuild_ng(struct imabuf *b, const char *template_name, const char *alg,
		 const uint8_t *digest, size_t digest_len, const char *name, const uint8_t *extra,
		 size_t extra_len, int with_extra);
/* Original 'ima' template: sha1 digest, name padded to 256 bytes in the hash. */
void imabuild_ima(struct imabuf *b, const uint8_t sha1[20], const char *name);
/* Appends the entry of ima-ng but with an all-zero template hash (a violation). */
void imabuild_violation(struct imabuf *b, const char *name);
/* An entry of any template: @n length-prefixed fields, SHA-1 template hash. */
void imabuild_fields(struct imabuf *b, const char *template_name, const uint8_t *const *field,
		     const size_t *len, unsigned n);
/*
 * The per-bank list the kernel writes beside @in (binary_runtime_measurements_ALG):
 * each entry's template hash recomputed in @alg (OpenSSL name) from its data;
 * violations stay all zeros.
 */
void imabuild_rehash(const struct imabuf *in, const char *alg, struct imabuf *out);
/* The template data of an ima-ng entry (for checking published vectors). */
size_t imabuild_ng_template_data(uint8_t *out, const char *alg, const uint8_t *digest,
				 size_t digest_len, const char *name);

#endif
