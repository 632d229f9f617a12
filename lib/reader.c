// SPDX-License-Identifier: MIT
/* Bounds-checked reads from untrusted buffers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "reader.h"

int reader_fail(const struct reader *r, size_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(-EBADMSG, "%s: offset %zu: %s", r->what, off, msg);
}

int reader_bytes(struct reader *r, const char *field, size_t n, const uint8_t **ret)
{
	if (n > reader_left(r))
		return reader_fail(r, r->off, "truncated %s: needs %zu bytes, %zu left", field, n,
				   reader_left(r));
	*ret = r->data + r->off;
	r->off += n;
	return 0;
}

int reader_copy(struct reader *r, const char *field, size_t n, void *out)
{
	const uint8_t *p = NULL;
	int rc = reader_bytes(r, field, n, &p);

	if (rc == 0 && n)
		memcpy(out, p, n);
	return rc;
}

int reader_u8(struct reader *r, const char *field, uint8_t *ret)
{
	return reader_copy(r, field, 1, ret);
}

#define READER_INT(name, type, bytes, big)                                              \
	int name(struct reader *r, const char *field, type *ret)                        \
	{                                                                               \
		const uint8_t *p = NULL;                                                \
		type v = 0;                                                             \
		int rc = reader_bytes(r, field, bytes, &p);                             \
		if (rc < 0)                                                             \
			return rc;                                                      \
		for (int i = 0; i < bytes; i++)                                         \
			v |= (type)p[big ? i : bytes - 1 - i] << (8 * (bytes - 1 - i)); \
		*ret = v;                                                               \
		return 0;                                                               \
	}

READER_INT(reader_le16, uint16_t, 2, 0)
READER_INT(reader_le32, uint32_t, 4, 0)
READER_INT(reader_be16, uint16_t, 2, 1)
READER_INT(reader_be32, uint32_t, 4, 1)
READER_INT(reader_be64, uint64_t, 8, 1)
