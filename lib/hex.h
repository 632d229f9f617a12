/* SPDX-License-Identifier: MIT */
/* Lowercase hex encoding and strict decoding. */
#ifndef MEASURED_HEX_H
#define MEASURED_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to @out (size >= 2*len+1). */
void hex_encode(const uint8_t *data, size_t len, char *out);
/*
 * Decodes @str (optional "0x" prefix, even length, hex digits only) into @out.
 * Returns 0 and the byte count in *ret_len, -EINVAL on a bad digit or odd
 * length, -ENOSPC when it does not fit @max.
 */
int hex_decode(const char *str, uint8_t *out, size_t max, size_t *ret_len);

#endif
