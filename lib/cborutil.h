/* SPDX-License-Identifier: MIT */
/*
 * Small helpers over libcbor for the maps-with-integer-keys shape that all
 * our CBOR formats use.  Getters check the item's type and definiteness and
 * fail with -EBADMSG naming @field.
 */
#ifndef MEASURED_CBORUTIL_H
#define MEASURED_CBORUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#define CBU_MAX_DEPTH 16

/*
 * Checks that @buf starts with one well-formed CBOR item whose every declared
 * length and count fits in the bytes that follow, nested at most
 * CBU_MAX_DEPTH deep, with no indefinite lengths; *ret_len gets its size.
 * libcbor allocates by the declared count before reading, so untrusted bytes
 * go through this first.
 */
int cbu_check(const uint8_t *buf, size_t len, size_t *ret_len);
/*
 * Whether @buf (not empty) is an item cut short: every check passes until
 * the bytes end (a torn append), as opposed to bytes that are wrong.
 */
bool cbu_is_prefix(const uint8_t *buf, size_t len);
/* cbu_check(), then cbor_load() of that one item; *ret_len gets its size. */
int cbu_load(const uint8_t *buf, size_t len, cbor_item_t **ret, size_t *ret_len);

/* The value under unsigned integer @key in @map, or NULL (no reference taken). */
cbor_item_t *cbu_map_get(const cbor_item_t *map, uint64_t key);
int cbu_get_uint(const cbor_item_t *item, const char *field, uint64_t *ret);
/* Points into the item; valid while the item lives. */
int cbu_get_bytes(const cbor_item_t *item, const char *field, const uint8_t **ret, size_t *ret_len);
int cbu_get_text(const cbor_item_t *item, const char *field, const char **ret, size_t *ret_len);

/*
 * cbor_is_null/cbor_is_bool of libcbor 0.8 assert on a float item: these
 * check the width first, so hostile input cannot abort us.
 */
bool cbu_is_null(const cbor_item_t *item);
bool cbu_is_bool(const cbor_item_t *item);

/* An unsigned integer item in its shortest encoding (RFC 8949 preferred serialisation). */
cbor_item_t *cbu_build_uint(uint64_t value);

/* Adds key -> value to @map, taking ownership of @value (freed on failure too). */
bool cbu_map_put(cbor_item_t *map, uint64_t key, cbor_item_t *value);

/* Serialises @item into a malloc'd buffer. */
int cbu_serialize(const cbor_item_t *item, uint8_t **ret_buf, size_t *ret_len);

struct json_object;
/*
 * The same data as a CBOR item: objects become maps with text keys, arrays
 * arrays, strings text, integers integers, booleans and null the simple
 * values.  NULL when out of memory or for a value CBOR cannot hold (a double).
 */
cbor_item_t *cbu_from_json(struct json_object *obj);

/* Frees the item behind a cleanup attribute. */
static inline void cbu_decrefp(cbor_item_t **item)
{
	if (*item)
		cbor_decref(item);
}
#define _cleanup_cbor_ __attribute__((cleanup(cbu_decrefp)))

#endif
