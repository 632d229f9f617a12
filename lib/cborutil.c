// SPDX-License-Identifier: MIT
/* Typed access to libcbor items. */
#include <errno.h>
#include <stdlib.h>

#include "cborutil.h"
#include "err.h"

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
