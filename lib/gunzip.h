/* SPDX-License-Identifier: MIT */
/* gzip decompression into memory, bounded (zlib). */
#ifndef MEASURED_GUNZIP_H
#define MEASURED_GUNZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool is_gzip(const uint8_t *buf, size_t len);
/*
 * Decompresses the gzip stream(s) in @buf into a malloc'd buffer of at most
 * @max bytes.  Concatenated members are all decompressed, as gunzip does.
 */
int gunzip_buf(const uint8_t *buf, size_t len, size_t max, uint8_t **ret, size_t *ret_len);

#endif
