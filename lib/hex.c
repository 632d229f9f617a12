// SPDX-License-Identifier: MIT
/* Lowercase hex encoding and strict decoding. */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "hex.h"

void hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *str, uint8_t *out, size_t max, size_t *ret_len)
{
	size_t n;

	if (!str) /* json_object_get_string of a JSON null */
		return err_set(-EINVAL, "no hex string (null)");
	if (str[0] == '0' && (str[1] == 'x' || str[1] == 'X'))
		str += 2;
	n = strlen(str);
	if (n % 2)
		return err_set(-EINVAL, "hex string has an odd number of digits (%zu)", n);
	if (n / 2 > max)
		return err_set(-ENOSPC, "hex string of %zu bytes is longer than %zu", n / 2, max);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_nibble(str[2 * i]), lo = hex_nibble(str[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return err_set(-EINVAL, "bad hex digit at position %zu",
				       2 * i + (hi < 0 ? 0 : 1));
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret_len = n / 2;
	return 0;
}
