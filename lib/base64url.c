// SPDX-License-Identifier: MIT
/* base64url without padding. */
#include <errno.h>
#include <stdlib.h>

#include "base64url.h"
#include "err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64url_len(size_t len)
{
	return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

void base64url_encode(const uint8_t *data, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (n > 2)
			v |= data[i + 2];
		for (size_t k = 0; k <= n; k++)
			out[o++] = alphabet[(v >> (18 - 6 * k)) & 0x3f];
	}
	out[o] = '\0';
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int base64url_decode(const char *text, size_t len, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (len % 4 == 1)
		return err_set(-EINVAL, "base64url of %zu characters is truncated", len);
	out = malloc(len / 4 * 3 + 3);
	if (!out)
		return err_set(-ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		int s = sextet(text[i]);

		if (s < 0) {
			free(out);
			return err_set(-EINVAL, "bad base64url character at position %zu", i);
		}
		acc = acc << 6 | (uint32_t)s;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*ret = out;
	*ret_len = o;
	return 0;
}
