// SPDX-License-Identifier: MIT
/* Typed access to libcbor items. */
#include <errno.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "cborutil.h"
#include "err.h"

/* Set when a check failed only because the bytes ended (cbu_is_prefix). */
static _Thread_local bool ran_out;

/* Reads an item head: major type, argument; fails on reserved or indefinite lengths. */
static int head(const uint8_t *buf, size_t len, size_t *off, unsigned *ret_major, uint64_t *ret_arg)
{
	uint8_t ib, ai;
	size_t n;
	uint64_t v = 0;

	if (*off >= len) {
		ran_out = true;
		return err_set(-EBADMSG, "CBOR: truncated at byte %zu", *off);
	}
	ib = buf[(*off)++];
	ai = ib & 0x1f;
	*ret_major = ib >> 5;
	if (ai < 24) {
		*ret_arg = ai;
		return 0;
	}
	if (ai > 27)
		return err_set(-EBADMSG, "CBOR: %s at byte %zu",
			       ai == 31 ? "indefinite length not accepted" : "reserved encoding",
			       *off - 1);
	n = (size_t)1 << (ai - 24);
	if (len - *off < n) {
		ran_out = true;
		return err_set(-EBADMSG, "CBOR: truncated at byte %zu", *off);
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | buf[(*off)++];
	*ret_arg = v;
	return 0;
}

static int check_item(const uint8_t *buf, size_t len, size_t *off, unsigned depth)
{
	unsigned major = 0;
	uint64_t arg = 0, items;
	int rc;

	if (depth > CBU_MAX_DEPTH)
		return err_set(-EBADMSG, "CBOR: nested deeper than %d at byte %zu", CBU_MAX_DEPTH,
			       *off);
	if ((rc = head(buf, len, off, &major, &arg)) < 0)
		return rc;
	switch (major) {
	case 2: /* byte string */
	case 3: /* text string */
		ran_out = arg > len - *off;
		if (arg > len - *off)
			return err_set(-EBADMSG, "CBOR: string of %llu bytes at byte %zu, %zu left",
				       (unsigned long long)arg, *off, len - *off);
		*off += (size_t)arg;
		return 0;
	case 4: /* array */
	case 5: /* map */
		items = major == 5 ? arg * 2 : arg;
		ran_out = arg > len - *off || items > len - *off;
		if (ran_out)
			return err_set(-EBADMSG, "CBOR: %llu entries at byte %zu, %zu bytes left",
				       (unsigned long long)arg, *off, len - *off);
		for (uint64_t i = 0; i < items; i++)
			if ((rc = check_item(buf, len, off, depth + 1)) < 0)
				return rc;
		return 0;
	case 6: /* tag: one item follows */
		return check_item(buf, len, off, depth + 1);
	default: /* integers, simple values, floats: the head is all */
		return 0;
	}
}

int cbu_check(const uint8_t *buf, size_t len, size_t *ret_len)
{
	size_t off = 0;
	int rc = check_item(buf, len, &off, 0);

	if (rc == 0)
		*ret_len = off;
	return rc;
}

bool cbu_is_prefix(const uint8_t *buf, size_t len)
{
	size_t off = 0;

	ran_out = false;
	if (len == 0 || check_item(buf, len, &off, 0) == 0)
		return false;
	err_clear();
	return ran_out;
}

int cbu_load(const uint8_t *buf, size_t len, cbor_item_t **ret, size_t *ret_len)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	size_t n = 0;
	int rc = cbu_check(buf, len, &n);

	if (rc < 0)
		return rc;
	item = cbor_load(buf, n, &res);
	if (!item)
		return err_set(-EBADMSG, "CBOR: not decodable (libcbor error %d at byte %zu)",
			       res.error.code, res.error.position);
	*ret = item;
	*ret_len = n;
	return 0;
}

cbor_item_t *cbu_map_get(const cbor_item_t *map, uint64_t key)
{
	struct cbor_pair *pairs;
	size_t n;

	if (!cbor_isa_map(map))
		return NULL;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++)
		if (cbor_isa_uint(pairs[i].key) && cbor_get_int(pairs[i].key) == key)
			return pairs[i].value;
	return NULL;
}

int cbu_get_uint(const cbor_item_t *item, const char *field, uint64_t *ret)
{
	if (!item)
		return err_set(-EBADMSG, "%s is missing", field);
	if (!cbor_isa_uint(item))
		return err_set(-EBADMSG, "%s is not an unsigned integer", field);
	*ret = cbor_get_int(item);
	return 0;
}

int cbu_get_bytes(const cbor_item_t *item, const char *field, const uint8_t **ret, size_t *ret_len)
{
	if (!item)
		return err_set(-EBADMSG, "%s is missing", field);
	if (!cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
		return err_set(-EBADMSG, "%s is not a definite byte string", field);
	*ret = cbor_bytestring_handle(item);
	*ret_len = cbor_bytestring_length(item);
	return 0;
}

int cbu_get_text(const cbor_item_t *item, const char *field, const char **ret, size_t *ret_len)
{
	if (!item)
		return err_set(-EBADMSG, "%s is missing", field);
	if (!cbor_isa_string(item) || !cbor_string_is_definite(item))
		return err_set(-EBADMSG, "%s is not a definite text string", field);
	*ret = (const char *)cbor_string_handle(item);
	*ret_len = cbor_string_length(item);
	return 0;
}

static bool is_ctrl(const cbor_item_t *item)
{
	return item && cbor_isa_float_ctrl(item) && cbor_float_get_width(item) == CBOR_FLOAT_0;
}

bool cbu_is_null(const cbor_item_t *item)
{
	return is_ctrl(item) && cbor_ctrl_value(item) == CBOR_CTRL_NULL;
}

bool cbu_is_bool(const cbor_item_t *item)
{
	return is_ctrl(item) && (cbor_ctrl_value(item) == CBOR_CTRL_TRUE ||
				 cbor_ctrl_value(item) == CBOR_CTRL_FALSE);
}

cbor_item_t *cbu_build_uint(uint64_t value)
{
	if (value <= UINT8_MAX)
		return cbor_build_uint8((uint8_t)value);
	if (value <= UINT16_MAX)
		return cbor_build_uint16((uint16_t)value);
	if (value <= UINT32_MAX)
		return cbor_build_uint32((uint32_t)value);
	return cbor_build_uint64(value);
}

bool cbu_map_put(cbor_item_t *map, uint64_t key, cbor_item_t *value)
{
	cbor_item_t *k;
	bool ok;

	if (!value)
		return false;
	k = cbu_build_uint(key);
	if (!k) {
		cbor_decref(&value);
		return false;
	}
	ok = cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
	cbor_decref(&k);
	cbor_decref(&value);
	return ok;
}

int cbu_serialize(const cbor_item_t *item, uint8_t **ret_buf, size_t *ret_len)
{
	unsigned char *buf = NULL;
	size_t cap = 0, len = cbor_serialize_alloc(item, &buf, &cap);

	if (len == 0) {
		free(buf);
		return err_set(-ENOMEM, "CBOR serialisation failed");
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

cbor_item_t *cbu_from_json(struct json_object *obj)
{
	cbor_item_t *item = NULL;

	switch (json_object_get_type(obj)) {
	case json_type_null:
		return cbor_new_null();
	case json_type_boolean:
		return cbor_build_bool(json_object_get_boolean(obj));
	case json_type_int: {
		int64_t v = json_object_get_int64(obj);

		if (v >= 0)
			return cbu_build_uint((uint64_t)v);
		item = cbu_build_uint((uint64_t)(-(v + 1)));
		if (item)
			cbor_mark_negint(item);
		return item;
	}
	case json_type_string:
		return cbor_build_stringn(json_object_get_string(obj),
					  (size_t)json_object_get_string_len(obj));
	case json_type_array: {
		size_t n = json_object_array_length(obj);

		item = cbor_new_definite_array(n);
		for (size_t i = 0; item && i < n; i++) {
			cbor_item_t *v = cbu_from_json(json_object_array_get_idx(obj, i));
			bool ok = v && cbor_array_push(item, v);

			if (v)
				cbor_decref(&v);
			if (!ok)
				cbor_decref(&item);
		}
		return item;
	}
	case json_type_object: {
		item = cbor_new_definite_map((size_t)json_object_object_length(obj));
		json_object_object_foreach(obj, key, val)
		{
			cbor_item_t *k, *v;
			bool ok;

			if (!item)
				break;
			k = cbor_build_string(key);
			v = cbu_from_json(val);
			ok = k && v && cbor_map_add(item, (struct cbor_pair){.key = k, .value = v});
			if (k)
				cbor_decref(&k);
			if (v)
				cbor_decref(&v);
			if (!ok)
				cbor_decref(&item);
		}
		return item;
	}
	default:
		return NULL;
	}
}
