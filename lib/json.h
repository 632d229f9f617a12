/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for --json output: it tracks commas and
 * escapes strings (bytes outside printable ASCII become \u00XX, so output is
 * valid JSON whatever an untrusted log holds).
 */
#ifndef MEASURED_JSON_H
#define MEASURED_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *out;
	unsigned depth;
	bool has_items[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_string_n(struct json *j, const char *s, size_t n);
void json_hex(struct json *j, const uint8_t *data, size_t n);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif
