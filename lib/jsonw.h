/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for --json output: it tracks commas and
 * escapes strings (bytes outside printable ASCII become \u00XX, so output is
 * valid JSON whatever an untrusted log holds).
 */
#ifndef MEASURED_JSONW_H
#define MEASURED_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 32

struct jw {
	FILE *out;
	unsigned depth;
	bool has_items[JW_MAX_DEPTH];
	bool after_key;
};

void jw_init(struct jw *j, FILE *out);
void jw_object_begin(struct jw *j);
void jw_object_end(struct jw *j);
void jw_array_begin(struct jw *j);
void jw_array_end(struct jw *j);
void jw_key(struct jw *j, const char *key);
void jw_string(struct jw *j, const char *s);
void jw_string_n(struct jw *j, const char *s, size_t n);
void jw_hex(struct jw *j, const uint8_t *data, size_t n);
void jw_uint(struct jw *j, uint64_t v);
void jw_int(struct jw *j, int64_t v);
void jw_double(struct jw *j, double v);
void jw_bool(struct jw *j, bool v);
void jw_null(struct jw *j);
/* Ends the document with a newline. */
void jw_finish(struct jw *j);

#endif
