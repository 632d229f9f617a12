/* SPDX-License-Identifier: MIT */
/* base64url without padding (RFC 4648 section 5), as JWS and EAT use it. */
#ifndef MEASURED_BASE64URL_H
#define MEASURED_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length of @len bytes, without the NUL. */
size_t base64url_len(size_t len);
/* Writes base64url_len(@len) characters and a NUL to @out. */
void base64url_encode(const uint8_t *data, size_t len, char *out);
/*
 * Decodes @len characters of @text (no padding, no whitespace) into a
 * malloc'd buffer; -EINVAL naming the position of a bad character.
 */
int base64url_decode(const char *text, size_t len, uint8_t **ret, size_t *ret_len);

#endif
